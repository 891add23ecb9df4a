/* sdegen eval molecules3d FILE: stability of 3-D molecules under EDM's bond-length rule and
 * under the charge-aware rule on the file's own bonds, validity and uniqueness; every number
 * printed beside the rule that produced it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"

static const char *usage3d =
    "usage: sdegen eval molecules3d FILE [--no-validity] [--max N] [--regressor REG.h5 [--weights ema|raw]]\n"
    "  FILE  3-D molecules with explicit hydrogens: .sdf/.sd/.mol (V2000; bonds and charges as written)\n"
    "        or .xyz (multi-frame, no bonds: the charge-aware rule and own-bond validity do not apply)\n"
    "  --no-validity  skip validity and uniqueness (Open Babel), stability only\n"
    "  --max N        evaluate the first N records only\n"
    "  --regressor REG.h5  property_mae: mean |target - prediction| over the records carrying the\n"
    "                 <PROP>_target field of a conditioned sdegen sample run, PROP the regressor's\n";

static void line(const char *name, const sdg_mol3d_value *v, const char *why_absent) {
    if (isnan(v->value)) printf("%-22s %-9s %s\n", name, "-", why_absent);
    else printf("%-22s %7.2f %%  %s\n", name, 100.0 * v->value, v->protocol);
}

/* Atoms the regressor can featurise: H C N O F with charges -1..+1 (sdg_mol3d_batch_init). */
static bool featurisable(const sdg_mol *m) {
    if (m->n_atoms < 1 || m->dim != 3) return false;
    for (int64_t i = 0; i < m->n_atoms; i++) {
        bool ok = false;
        for (int k = 0; k < 5; k++) ok = ok || m->atoms[i].z == sdg_mol3d_qm9_types[k];
        if (!ok || m->atoms[i].charge < -1 || m->atoms[i].charge > 1) return false;
    }
    return true;
}

/* The property_mae line: |<prop>_target - regressor prediction| over the first n records that
 * carry the regressor's target field and that it can featurise. 0, or 1 after a one-line error. */
static int property_mae(const char *path, const char *reg_path, const char *weights, sdg_mol **mols, size_t n) {
    const char *E = "sdegen eval molecules3d";
    char names[SDG_QM9_PROP_COUNT][32];
    const char *np[SDG_QM9_PROP_COUNT];
    for (int k = 0; k < SDG_QM9_PROP_COUNT; k++) {
        snprintf(names[k], sizeof names[k], "%s_target", sdg_qm9_prop_name((sdg_qm9_prop)k));
        np[k] = names[k];
    }
    sdg_prop3d_model *m = NULL;
    double *v = NULL, *pred = NULL;
    sdg_mol **sel = NULL;
    float *y = NULL;
    size_t count = 0, k = 0, with[SDG_QM9_PROP_COUNT] = {0};
    int rc = 1;
    sdg_qm9_prop kp;
    if (sdg_prop3d_model_load(reg_path, strcmp(weights, "ema") == 0, &m) != SDG_OK) {
        fprintf(stderr, "%s: %s\n", E, sdg_errmsg());
        goto cleanup;
    }
    if (sdg_qm9_prop_find(m->prop, &kp) != SDG_OK) {
        fprintf(stderr, "%s: %s: %s\n", E, reg_path, sdg_errmsg());
        goto cleanup;
    }
    if (sdg_mol_list_read_sdf_fields(path, np, SDG_QM9_PROP_COUNT, &v, &count) != SDG_OK) {
        fprintf(stderr, "%s: %s\n", E, sdg_errmsg());
        goto cleanup;
    }
    if (count < n) {
        fprintf(stderr, "%s: %s: %zu records with data fields, %zu molecules read\n", E, path, count, n);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        for (int q = 0; q < SDG_QM9_PROP_COUNT; q++) with[q] += !isnan(v[i * SDG_QM9_PROP_COUNT + q]);
    if (with[kp] == 0) {
        for (int q = 0; q < SDG_QM9_PROP_COUNT; q++)
            if (with[q]) {
                fprintf(stderr, "%s: %s: the records carry %s, but the regressor %s predicts %s\n", E, path, names[q],
                        reg_path, m->prop);
                goto cleanup;
            }
        printf("%-22s %-9s not available: no record carries a <%s> field (not a run conditioned on %s)\n",
               "property_mae", "-", names[kp], m->prop);
        rc = 0;
        goto cleanup;
    }
    sel = malloc(n * sizeof *sel);
    y = malloc(n * sizeof *y);
    pred = malloc(n * sizeof *pred);
    if (!sel || !y || !pred) {
        fprintf(stderr, "%s: out of memory\n", E);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i * SDG_QM9_PROP_COUNT + kp]) && featurisable(mols[i])) {
            pred[k] = v[i * SDG_QM9_PROP_COUNT + kp];   /* the target, for now */
            sel[k++] = mols[i];
        }
    if (k && sdg_prop3d_predict(m->net, sel, k, 64, y) != SDG_OK) {
        fprintf(stderr, "%s: %s: %s\n", E, path, sdg_errmsg());
        goto cleanup;
    }
    double s = 0;
    for (size_t i = 0; i < k; i++) s += fabs(pred[i] - ((double)y[i] * m->std + m->mean));
    bool ev = kp == SDG_QM9_PROP_GAP || kp == SDG_QM9_PROP_HOMO || kp == SDG_QM9_PROP_LUMO;
    char val[48], own[96];
    double mae = k ? s / (double)k : NAN;
    if (ev) {
        snprintf(val, sizeof val, "%.1f meV", mae * 27211.4);
        snprintf(own, sizeof own, "%.1f meV (atom-count baseline %.1f meV)", m->test_mae * 27211.4,
                 m->test_mae_natoms * 27211.4);
    } else {
        snprintf(val, sizeof val, "%.4g %s", mae, m->unit);
        snprintf(own, sizeof own, "%.4g %s (atom-count baseline %.4g)", m->test_mae, m->unit, m->test_mae_natoms);
    }
    printf("%-22s %-9s rule: mean |%s - regressor prediction| over the %zu of %zu records with a <%s> field whose "
           "atoms are H C N O F with charges -1..+1 (%zu excluded), MAE %.6g %s; regressor %s (%s weights, %lld "
           "epochs), its own test MAE %s on %lld molecules\n",
           "property_mae", k ? val : "-", names[kp], k, with[kp], names[kp], with[kp] - k, mae, m->unit, reg_path, weights, (long long)m->epochs, own, (long long)m->n_test);
    rc = 0;
cleanup:
    sdg_prop3d_model_free(m);
    free(v);
    free(sel);
    free(y);
    free(pred);
    return rc;
}

int cli_eval_molecules3d(int argc, char **argv) {
    const char *path = NULL;
    const char *reg_path = NULL, *weights = "ema";
    bool validity = true;
    long max = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--no-validity") == 0) validity = false;
        else if (strcmp(a, "--max") == 0 && i + 1 < argc) {
            if (cli_parse_long(argv[++i], "--max", 1, 1000000000L, &max)) return 2;
        } else if (strcmp(a, "--regressor") == 0 && i + 1 < argc) {
            reg_path = argv[++i];
        } else if (strcmp(a, "--weights") == 0 && i + 1 < argc) {
            weights = argv[++i];
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage3d, stdout);
            return 0;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "sdegen eval molecules3d: unknown or incomplete option '%s' (see sdegen eval molecules3d --help)\n", a);
            return 2;
        } else if (!path) path = a;
        else {
            fprintf(stderr, "sdegen eval molecules3d: unexpected argument '%s'\n", a);
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "sdegen eval molecules3d: no file given (see sdegen eval molecules3d --help)\n");
        return 2;
    }
    bool xyz = cli_has_ext(path, ".xyz");
    if (!xyz && !cli_has_ext(path, ".sdf") && !cli_has_ext(path, ".sd") && !cli_has_ext(path, ".mol")) {
        fprintf(stderr, "sdegen eval molecules3d: %s: unknown extension (.sdf, .sd, .mol or .xyz)\n", path);
        return 2;
    }
    if (strcmp(weights, "ema") && strcmp(weights, "raw")) {
        fprintf(stderr, "sdegen eval molecules3d: option --weights: '%s' is not raw or ema\n", weights);
        return 2;
    }
    if (reg_path && xyz) {
        fprintf(stderr, "sdegen eval molecules3d: %s: --regressor needs an SDF with <PROP>_target fields, not XYZ\n", path);
        return 2;
    }
    double t0 = cli_now();
    sdg_mol_list *l = NULL;
    sdg_status st = xyz ? sdg_mol_list_read_xyz(path, &l) : sdg_mol_list_read_sdf(path, &l);
    if (st != SDG_OK) {
        fprintf(stderr, "sdegen eval molecules3d: %s\n", sdg_errmsg());
        return 1;
    }
    size_t n = l->count;
    if (max && (size_t)max < n) n = (size_t)max;
    if (n == 0) {
        fprintf(stderr, "sdegen eval molecules3d: %s: no records\n", path);
        sdg_mol_list_free(l);
        return 1;
    }
    for (size_t k = 0; k < n; k++)
        if (l->mols[k]->dim != 3) {
            fprintf(stderr, "sdegen eval molecules3d: %s: record %zu ('%s') has no 3-D coordinates (all z = 0)\n",
                    path, k + 1, l->mols[k]->name ? l->mols[k]->name : "");
            sdg_mol_list_free(l);
            return 1;
        }
    sdg_mol3d_metrics_params p = {.validity = validity && !xyz, .validity_edm = validity};
    sdg_mol3d_metrics m;
    if (sdg_mol3d_metrics_compute(l->mols, n, &p, &m) != SDG_OK) {
        fprintf(stderr, "sdegen eval molecules3d: %s: %s\n", path, sdg_errmsg());
        sdg_mol_list_free(l);
        return 1;
    }
    printf("# sdegen eval molecules3d (sdegen %s)\n", sdg_version());
    printf("# file: %s, %s, %zu records%s, %lld atoms, %lld bonds\n", path, xyz ? "XYZ" : "SDF", n,
           n < l->count ? " (--max)" : "", (long long)m.n_atoms, (long long)m.n_bonds);
    printf("# metric                value     rule\n");
    line("atom_stability_edm", &m.atom_stability_edm, "");
    line("mol_stability_edm", &m.mol_stability_edm, "");
    const char *nob = xyz ? "not applicable: an XYZ file has no bonds" : "not applicable: no record has bonds";
    line("atom_stability_charged", &m.atom_stability_charged, nob);
    line("mol_stability_charged", &m.mol_stability_charged, nob);
    const char *noval = !validity ? "not computed (--no-validity)" : "not applicable: an XYZ file has no bonds";
    line("validity", &m.validity, noval);
    line("uniqueness", &m.uniqueness, !validity || xyz ? noval : "no valid record");
    line("validity_edm", &m.validity_edm, "not computed (--no-validity)");
    line("uniqueness_edm", &m.uniqueness_edm, validity ? "no valid record" : "not computed (--no-validity)");
    if (!reg_path) printf("%-22s %-9s %s\n", "property_mae", "-", "not computed: give --regressor REG.h5");
    else if (property_mae(path, reg_path, weights, l->mols, n)) {
        sdg_mol_list_free(l);
        return 1;
    }
    printf("# counts: edm stable atoms %lld / %lld, molecules %zu / %zu; charge-aware %lld / %lld, %zu / %zu; "
           "valid %zu (unique %zu), edm-protocol valid %zu (unique %zu)\n",
           (long long)m.edm_stable_atoms, (long long)m.n_atoms, m.edm_stable_mols, n,
           (long long)m.charged_stable_atoms, (long long)m.n_atoms, m.charged_stable_mols, n, m.n_valid, m.n_unique,
           m.n_valid_edm, m.n_unique_edm);
    printf("# wall time: %.2f s\n", cli_now() - t0);
    sdg_mol_list_free(l);
    return 0;
}
