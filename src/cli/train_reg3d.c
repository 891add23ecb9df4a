/* sdegen train regressor3d / eval regressor3d: the property regressor of conditional 3-D runs
 * (docs/molecules3d.md "Property regressor"). It trains on the molecules that the conditional
 * generator never sees (PropMolFlow's halves: every QM9 molecule with a value of the property and
 * 3-D coordinates, conformer or DFT, that is NOT in train_a), splits them by gdb row into train /
 * val / test, and reports its own test MAE beside the atom-count baseline on the same test part. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"

#define CMD  "sdegen train regressor3d"
#define ECMD "sdegen eval regressor3d"
#define HARTREE_MEV 27211.4
#define SPLIT_SEED 42   /* the regressor's val draw by gdb row (sdg_prop3d_split) */

static const char usage[] =
    "usage: sdegen train regressor3d --prop gap|homo|lumo|mu|alpha|cv -o REG.h5 [--data DIR] [--epochs E]\n"
    "                                [--batch B] [--lr X] [--seed S] [--ckpt-every N] [--resume]\n"
    "                                [--time-limit SECONDS] [--threads T] [--hidden H] [--layers L]\n"
    "                                [--max-rows R] [--log FILE] [--conformers CACHE.sdf]\n"
    "  trains the EGNN property regressor (positions and elements; sum readout; L1 loss on the\n"
    "  standardised property) on the REGRESSOR part: every molecule under DIR (default $SDEGEN_DATA)\n"
    "  with a value of PROP and 3-D coordinates (qm9_3d_conformers.sdf and the DFT qm9_3d_subset.xyz)\n"
    "  that is not in PropMolFlow's train_a (the conditional generator's part). Split by gdb row:\n"
    "  test = valid_idx_qm9.json, val = a seeded 10 %, train = the rest. Prints its own test MAE and\n"
    "  the atom-count baseline at the end (also: sdegen eval regressor3d REG.h5)\n"
    "  --max-rows R    read only the first R records of each geometry file (quick runs, tests)\n"
    "  --conformers F  also the records of F (sdegen prepare conformers), appended to the conformers and\n"
    "                  split by the same gdb-row rule; the split of the other records is unchanged.\n"
    "                  Recorded in the checkpoint: --resume and eval regressor3d read the same file\n"
    "  defaults: 100 epochs, batch 64, lr 5e-4, seed 1, checkpoint every epoch, EMA 0.999,\n"
    "            clipping 10, hidden 128, 4 layers\n";

static const char eusage[] =
    "usage: sdegen eval regressor3d REG.h5 [--data DIR] [--max-rows R] [--weights ema|raw]\n"
    "                               [--conformers CACHE.sdf]\n"
    "  the regressor's MAE on its own held-out test molecules (the regressor part's gdb rows in\n"
    "  valid_idx_qm9.json), in the property's unit (and meV for homo, lumo, gap), beside the\n"
    "  'number of atoms only' baseline on the same molecules; the extra conformer file the regressor\n"
    "  trained with (its checkpoint says which) is read again unless --conformers names another\n";

/* The regressor part of both geometry files, by part (SDG_MOL3D_SPLIT_*). */
typedef struct reg_data {
    sdg_mol3d_dataset *d[2];        /* conformers, DFT                              */
    size_t   n[3], n_src[3][2];     /* records per part (and per source)            */
    sdg_mol **mols[3];
    float   *y[3];                  /* raw values                                    */
    uint8_t *src[3];                /* 0 conformer, 1 DFT                            */
    size_t   n_generator;           /* valued records in train_a: left out           */
    size_t   n_extra_train;         /* training records from the extra conformer file */
} reg_data;

static void reg_data_free(reg_data *r) {
    for (int s = 0; s < 2; s++) sdg_mol3d_dataset_free(r->d[s]);
    for (int k = 0; k < 3; k++) free(r->mols[k]), free(r->y[k]), free(r->src[k]);
}

/* extra: the extra conformer file (appended to the conformers), NULL = none. */
static int reg_data_load(const char *cmd, const char *data, long max_rows, const char *extra, sdg_qm9_prop kp,
                         reg_data *r) {
    static const char *const names[2] = {"qm9_conformers", "qm9_dft"};
    memset(r, 0, sizeof *r);
    sdg_mol3d_dataset_params dp = sdg_mol3d_dataset_default_params();
    dp.max_records = (size_t)max_rows;
    uint8_t *sp[2] = {NULL, NULL};
    int rc = 1;
    for (int s = 0; s < 2; s++) {
        dp.extra_sdf = s == 0 ? extra : NULL;
        if (sdg_mol3d_dataset_load(data, names[s], &dp, &r->d[s]) != SDG_OK) {
            fprintf(stderr, "%s: %s\n", cmd, sdg_errmsg());
            goto cleanup;
        }
        sp[s] = malloc(r->d[s]->count + 1);
        if (!sp[s] || sdg_prop3d_split(r->d[s], SPLIT_SEED, sp[s]) != SDG_OK) {
            fprintf(stderr, "%s: %s\n", cmd, sp[s] ? sdg_errmsg() : "out of memory");
            goto cleanup;
        }
    }
    size_t total = r->d[0]->count + r->d[1]->count + 1;
    for (int k = 0; k < 3; k++) {
        r->mols[k] = malloc(total * sizeof *r->mols[k]);
        r->y[k] = malloc(total * sizeof *r->y[k]);
        r->src[k] = malloc(total);
        if (!r->mols[k] || !r->y[k] || !r->src[k]) {
            fprintf(stderr, "%s: out of memory\n", cmd);
            goto cleanup;
        }
    }
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < r->d[s]->count; i++) {
            float v = r->d[s]->props[i * SDG_QM9_PROP_COUNT + kp];
            if (isnan(v)) continue;
            if (r->d[s]->propmolflow_a[i]) { r->n_generator++; continue; }
            int k = sp[s][i];
            r->mols[k][r->n[k]] = r->d[s]->mols[i];
            r->y[k][r->n[k]] = v;
            r->src[k][r->n[k]++] = (uint8_t)s;
            r->n_src[k][s]++;
            r->n_extra_train += k == SDG_MOL3D_SPLIT_TRAIN && i >= r->d[s]->count - r->d[s]->n_extra;
        }
    printf("regressor part (%s, not in PropMolFlow's train_a; %zu valued records in train_a are the generator's and "
           "left out): train %zu (%zu conformers + %zu DFT), val %zu (%zu + %zu), test %zu (%zu + %zu) records\n",
           sdg_qm9_prop_name(kp), r->n_generator, r->n[0], r->n_src[0][0], r->n_src[0][1], r->n[1], r->n_src[1][0],
           r->n_src[1][1], r->n[2], r->n_src[2][0], r->n_src[2][1]);
    if (extra)
        printf("extra conformers: %s, %zu records, %zu of them in the regressor's training part\n", extra,
               r->d[0]->n_extra, r->n_extra_train);
    rc = 0;
cleanup:
    free(sp[0]);
    free(sp[1]);
    return rc;
}

static void reg_split_text(const reg_data *r, sdg_qm9_prop kp, long max_rows, const char *extra, char *buf,
                           size_t cap) {
    const char *base = extra ? strrchr(extra, '/') : NULL;
    snprintf(buf, cap, "QM9 molecules with a %s value and 3-D coordinates (qm9_3d_conformers.sdf, qm9_3d_subset.xyz%s%s%.64s) "
             "not in PropMolFlow train_a; by gdb row: test = valid_idx_qm9.json, val = stream(%d, row) < 0.1, train = "
             "the rest; %zu / %zu / %zu records", sdg_qm9_prop_name(kp), max_rows ? ", first records only" : "",
             extra ? ", " : "", extra ? (base ? base + 1 : extra) : "", SPLIT_SEED, r->n[0], r->n[1], r->n[2]);
}

/* Predictions (raw units) of m's network, with the trainer's EMA shadow swapped in when tr. */
static int predict(const char *cmd, const sdg_prop3d_model *m, sdg_prop3d_trainer *tr, sdg_mol *const *mols, size_t n,
                   double *out) {
    float *y = malloc((n ? n : 1) * sizeof *y);
    sdg_ema *keep = NULL;
    sdg_params *P = sdg_prop3d_params_store(m->net);
    int rc = 1;
    if (!y) goto cleanup;
    if (tr && (sdg_ema_new(P, 0.0f, &keep) != SDG_OK ||
               sdg_params_copy(P, sdg_ema_shadow(sdg_prop3d_trainer_ema(tr))) != SDG_OK))
        goto cleanup;
    sdg_status st = sdg_prop3d_predict(m->net, mols, n, 64, y);
    if (tr) sdg_params_copy(P, sdg_ema_shadow(keep));
    if (st != SDG_OK) goto cleanup;
    for (size_t i = 0; i < n; i++) out[i] = (double)y[i] * m->std + m->mean;
    rc = 0;
cleanup:
    if (rc) fprintf(stderr, "%s: %s\n", cmd, y ? sdg_errmsg() : "out of memory");
    sdg_ema_free(keep);
    free(y);
    return rc;
}

static double mae_of(const double *pred, const float *y, const uint8_t *src, size_t n, int only, size_t *count) {
    double s = 0;
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (only < 0 || src[i] == only) s += fabs(pred[i] - (double)y[i]), c++;
    if (count) *count = c;
    return c ? s / (double)c : NAN;
}

/* "0.00453 Hartree (123.4 meV)" or "0.31 D". */
static void fmt_value(double v, const char *prop, const char *unit, char *buf, size_t cap) {
    bool ev = strcmp(prop, "gap") == 0 || strcmp(prop, "homo") == 0 || strcmp(prop, "lumo") == 0;
    if (ev) snprintf(buf, cap, "%.5g %s (%.1f meV)", v, unit, v * HARTREE_MEV);
    else snprintf(buf, cap, "%.4g %s", v, unit);
}

/* The test report: the regressor's MAE (all test records, conformers, DFT) and the atom-count
 * baseline (mean training value of the molecules with the same atom count, H included, else
 * the training mean) on the same records. */
static int reg_test(const char *cmd, const sdg_prop3d_model *m, sdg_prop3d_trainer *tr, const reg_data *r,
                    const char *weights, double *mae, double *mae_n) {
    enum { NMAX = 64 };
    double sum[NMAX] = {0}, all = 0;
    size_t cnt[NMAX] = {0};
    size_t nt = r->n[SDG_MOL3D_SPLIT_TEST];
    if (nt == 0 || r->n[SDG_MOL3D_SPLIT_TRAIN] == 0) {
        fprintf(stderr, "%s: no test or no training molecules in the regressor part (--max-rows too small?)\n", cmd);
        return 1;
    }
    double *pred = malloc(nt * sizeof *pred), *base = malloc(nt * sizeof *base);
    if (!pred || !base || predict(cmd, m, tr, r->mols[2], nt, pred)) {
        free(pred), free(base);
        return 1;
    }
    for (size_t i = 0; i < r->n[0]; i++) {
        int64_t a = r->mols[0][i]->n_atoms < NMAX ? r->mols[0][i]->n_atoms : NMAX - 1;
        sum[a] += r->y[0][i], cnt[a]++, all += r->y[0][i];
    }
    all /= (double)r->n[0];
    for (size_t i = 0; i < nt; i++) {
        int64_t a = r->mols[2][i]->n_atoms < NMAX ? r->mols[2][i]->n_atoms : NMAX - 1;
        base[i] = cnt[a] ? sum[a] / (double)cnt[a] : all;
    }
    size_t c[3];
    double v[3] = {mae_of(pred, r->y[2], r->src[2], nt, -1, &c[0]), mae_of(pred, r->y[2], r->src[2], nt, 0, &c[1]),
                   mae_of(pred, r->y[2], r->src[2], nt, 1, &c[2])};
    double b = mae_of(base, r->y[2], r->src[2], nt, -1, NULL);
    char s0[64], s1[64], s2[64], sb[64];
    fmt_value(v[0], m->prop, m->unit, s0, sizeof s0);
    fmt_value(v[1], m->prop, m->unit, s1, sizeof s1);
    fmt_value(v[2], m->prop, m->unit, s2, sizeof s2);
    fmt_value(b, m->prop, m->unit, sb, sizeof sb);
    printf("test_mae %-34s rule: mean |%s - prediction| over the %zu test records of the regressor part (%s weights, "
           "%lld epochs)\n", s0, m->prop, c[0], weights, (long long)m->epochs);
    printf("  conformers %-32s (%zu force-field records)\n", c[1] ? s1 : "-", c[1]);
    printf("  dft        %-32s (%zu DFT records)\n", c[2] ? s2 : "-", c[2]);
    printf("baseline_natoms_mae %-23s rule: predict the mean %s of the %zu training records with the same atom count "
           "(H included; the training mean when none), same test records\n", sb, m->prop, r->n[0]);
    free(pred);
    free(base);
    if (mae) *mae = v[0];
    if (mae_n) *mae_n = b;
    return 0;
}

int cli_train_regressor3d(int argc, char **argv) {
    cli_train3d_opts o = {.epochs = 100, .batch = -1, .seed = -1, .ckpt_every = 1, .lr = -1};
    int prc = cli_train3d_parse(CMD, usage, "--prop", argc, argv, &o);
    if (prc >= 0) return prc;
    if (o.resume && (o.batch > 0 || o.lr > 0 || o.seed >= 0 || o.hidden || o.layers)) {
        fprintf(stderr, CMD ": --resume continues with the checkpoint's settings; --batch, --lr, --seed, --hidden and "
                        "--layers cannot be given with it\n");
        return 2;
    }
    if (!o.resume && !o.extra) {
        fprintf(stderr, CMD ": --prop PROP is required (gap, homo, lumo, mu, alpha, cv)\n");
        return 2;
    }
    sdg_qm9_prop kp = SDG_QM9_PROP_GAP;
    if (o.extra && sdg_qm9_prop_find(o.extra, &kp) != SDG_OK) {
        sdg_error_clear();
        fprintf(stderr, CMD ": --prop: unknown property '%s' (gap, homo, lumo, mu, alpha, cv)\n", o.extra);
        return 2;
    }
    if (o.threads > 0) sdg_set_num_threads((int)o.threads);
    const char *data = cli_data_dir(o.data);
    if (!data) {
        fprintf(stderr, CMD ": no data directory (give --data DIR or set SDEGEN_DATA)\n");
        return 2;
    }
    int rc = 1;
    sdg_prop3d_model *m = NULL;
    sdg_prop3d_trainer *tr = NULL;
    reg_data r;
    memset(&r, 0, sizeof r);
    float *ys = NULL;
    double *pv = NULL;
    FILE *log = NULL;
    if (o.resume) {
        if (sdg_prop3d_model_load(o.out, false, &m) != SDG_OK) {
            fprintf(stderr, CMD ": --resume: %s\n", sdg_errmsg());
            goto cleanup;
        }
        sdg_qm9_prop fk;
        if (sdg_qm9_prop_find(m->prop, &fk) != SDG_OK || (o.extra && fk != kp)) {
            sdg_error_clear();
            fprintf(stderr, CMD ": --resume: %s predicts '%s', not %s\n", o.out, m->prop, o.extra ? o.extra : "a QM9 property");
            goto cleanup;
        }
        kp = fk;
    }
    double t0 = cli_now();
    sdg_extra_conformers was, xc;
    memset(&was, 0, sizeof was);
    if (m) was = m->conformers;
    if (cli_conformers_resolve(CMD, o.conformers, o.resume ? &was : NULL, &xc)) goto cleanup;
    const char *extra = xc.path[0] ? xc.path : NULL;
    if (reg_data_load(CMD, data, o.max_rows, extra, kp, &r)) goto cleanup;
    size_t n = r.n[0], nv = r.n[1];
    xc.records = (int64_t)r.d[0]->n_extra;
    xc.train = (int64_t)r.n_extra_train;
    if (o.resume && cli_resume_size(CMD, o.out, (size_t)m->n_train, n, &was, &xc)) goto cleanup;
    if (n < 2 || nv == 0) {
        fprintf(stderr, CMD ": %zu training and %zu validation molecules: too few (--max-rows %ld too small?)\n", n, nv,
                o.max_rows);
        goto cleanup;
    }
    if (!o.resume) {
        m = calloc(1, sizeof *m);
        if (!m) goto cleanup;
        snprintf(m->prop, sizeof m->prop, "%s", sdg_qm9_prop_name(kp));
        snprintf(m->unit, sizeof m->unit, "%s", sdg_qm9_prop_unit(kp));
        double s = 0, s2 = 0;
        for (size_t i = 0; i < n; i++) s += r.y[0][i], s2 += (double)r.y[0][i] * r.y[0][i];
        m->mean = s / (double)n;
        m->std = sqrt(fmax(s2 / (double)n - m->mean * m->mean, 1e-12));
        m->test_mae = m->test_mae_natoms = NAN;
    }
    reg_split_text(&r, kp, o.max_rows, extra, m->split, sizeof m->split);
    m->conformers = xc;
    m->n_train = (int64_t)n, m->n_val = (int64_t)nv, m->n_test = (int64_t)r.n[2];
    ys = malloc(n * sizeof *ys);
    pv = malloc(nv * sizeof *pv);
    if (!ys || !pv) goto cleanup;
    for (size_t i = 0; i < n; i++) ys[i] = (float)((r.y[0][i] - m->mean) / m->std);
    printf("read in %.1f s; %s (%s): training mean %.5g, std %.5g\n", cli_now() - t0, m->prop, m->unit, m->mean, m->std);
    if (o.resume) {
        if (sdg_prop3d_trainer_resume(o.out, m, r.mols[0], ys, n, &tr) != SDG_OK) {
            fprintf(stderr, CMD ": --resume: %s\n", sdg_errmsg());
            goto cleanup;
        }
    } else {
        sdg_egnn_params np = sdg_egnn_default_params();
        sdg_prop3d_train_params tp = sdg_prop3d_train_default_params();
        if (o.hidden) np.hidden = (int)o.hidden;
        if (o.layers) np.layers = (int)o.layers;
        if (o.batch > 0) tp.batch = o.batch;
        if (o.lr > 0) tp.lr = (float)o.lr;
        if (o.seed >= 0) tp.seed = (uint64_t)o.seed;
        np.seed = tp.seed;
        if (sdg_prop3d_new(&np, &m->net) != SDG_OK || sdg_prop3d_trainer_new(m->net, r.mols[0], ys, n, &tp, &tr) != SDG_OK) {
            fprintf(stderr, CMD ": %s\n", sdg_errmsg());
            goto cleanup;
        }
    }
    const sdg_egnn_params *np = sdg_prop3d_get_params(m->net);
    printf("network: EGNN regressor, hidden %d, edge %d, message %d, %d layers, sum readout, %lld parameters; L1 loss on "
           "the standardised %s\n", np->hidden, np->edge_hidden, np->message, np->layers,
           (long long)sdg_params_numel(sdg_prop3d_params_store(m->net)), m->prop);
    char lbuf[1100];
    const char *log_path = o.log;
    log = cli_train_log_open("train regressor3d", o.out, log_path, o.resume,
                             "epoch\tloss\tval_mae\tval_mae_ema\tseconds\tmolecules_per_s", lbuf, sizeof lbuf, &log_path);
    if (!log) goto cleanup;
    cli_train_catch_signals();
    int64_t e0 = sdg_prop3d_trainer_epochs(tr);
    const sdg_prop3d_train_params *tp = sdg_prop3d_trainer_params(tr);
    cli_step3d sc = {0, o.epochs, 0};
    sdg_prop3d_trainer_set_on_step(tr, cli_step3d_show, &sc);
    printf("training on %zu molecules: %ld epochs (from %lld), batch %lld, lr %g, seed %llu, %d threads -> %s\n", n,
           o.epochs, (long long)e0, (long long)tp->batch, (double)tp->lr, (unsigned long long)tp->seed,
           sdg_num_threads(), o.out);
    fflush(stdout);
    double ts = cli_now();
    bool timed_out = false;
    for (int64_t e = e0; e < o.epochs && !cli_train_stop; e++) {
        if (cli_train_time_up(ts, e, e0, o.time_limit)) {
            timed_out = true;
            break;
        }
        double te = cli_now(), loss = 0;
        sc.epoch = e + 1;
        sc.t0 = te;
        if (sdg_prop3d_trainer_epoch(tr, &loss) != SDG_OK) {
            cli_progress_end();
            fprintf(stderr, CMD ": %s\n", sdg_errmsg());
            goto cleanup;
        }
        double dt = cli_now() - te, vm[2];
        for (int w = 0; w < 2; w++) {
            if (predict(CMD, m, w ? tr : NULL, r.mols[1], nv, pv)) goto cleanup;
            vm[w] = mae_of(pv, r.y[1], r.src[1], nv, -1, NULL);
        }
        fprintf(log, "%lld\t%.6g\t%.6g\t%.6g\t%.4f\t%.1f\n", (long long)e + 1, loss, vm[0], vm[1], dt,
                (double)n / (dt > 0 ? dt : 1e-9));
        fflush(log);
        bool ck = o.ckpt_every > 0 && (e + 1) % o.ckpt_every == 0 && e + 1 < o.epochs;
        if (ck && sdg_prop3d_model_save(o.out, m, tr) != SDG_OK) {
            cli_progress_end();
            fprintf(stderr, CMD ": %s\n", sdg_errmsg());
            goto cleanup;
        }
        if (!cli_progress_enabled()) {
            printf("epoch %lld/%ld loss %.4f val_mae %.5g %s (EMA %.5g)%s\n", (long long)e + 1, o.epochs, loss, vm[0],
                   m->unit, vm[1], ck ? " (checkpoint saved)" : "");
            fflush(stdout);
        }
    }
    cli_progress_end();
    m->epochs = sdg_prop3d_trainer_epochs(tr);
    if (reg_test(CMD, m, tr, &r, "EMA", &m->test_mae, &m->test_mae_natoms)) goto cleanup;
    if (sdg_prop3d_model_save(o.out, m, tr) != SDG_OK) {
        fprintf(stderr, CMD ": %s\n", sdg_errmsg());
        goto cleanup;
    }
    if (cli_train_stop) {
        fprintf(stderr, CMD ": interrupted after epoch %lld; checkpoint saved to %s (continue with --resume)\n",
                (long long)m->epochs, o.out);
        goto cleanup;
    }
    if (timed_out)
        printf("time limit of %g s reached: stopped after epoch %lld of %ld (continue with --resume)\n", o.time_limit,
               (long long)m->epochs, o.epochs);
    printf("done: %lld epochs in %.1f s; regressor written to %s, log %s\n", (long long)m->epochs, cli_now() - ts, o.out,
           log_path);
    rc = 0;
cleanup:
    if (log) fclose(log);
    sdg_prop3d_trainer_free(tr);
    sdg_prop3d_model_free(m);
    reg_data_free(&r);
    free(ys);
    free(pv);
    return rc;
}

int cli_eval_regressor3d(int argc, char **argv) {
    const char *path = NULL, *data_opt = NULL, *weights = "ema", *conf_opt = NULL;
    long max_rows = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { fputs(eusage, stdout); return 0; }
        if (a[0] != '-') {
            if (path) { fprintf(stderr, ECMD ": unexpected argument '%s'\n", a); return 2; }
            path = a;
            continue;
        }
        if (!v) { fprintf(stderr, ECMD ": unknown or incomplete option '%s' (see " ECMD " --help)\n", a); return 2; }
        i++;
        if (strcmp(a, "--data") == 0) data_opt = v;
        else if (strcmp(a, "--weights") == 0) weights = v;
        else if (strcmp(a, "--conformers") == 0) conf_opt = v;
        else if (strcmp(a, "--max-rows") == 0) { if (cli_parse_long(v, a, 1, 100000000L, &max_rows)) return 2; }
        else { fprintf(stderr, ECMD ": unknown option '%s' (see " ECMD " --help)\n", a); return 2; }
    }
    if (!path) { fprintf(stderr, ECMD ": no regressor given (see " ECMD " --help)\n"); return 2; }
    if (strcmp(weights, "ema") && strcmp(weights, "raw")) {
        fprintf(stderr, ECMD ": option --weights: '%s' is not raw or ema\n", weights);
        return 2;
    }
    const char *data = cli_data_dir(data_opt);
    if (!data) { fprintf(stderr, ECMD ": no data directory (give --data DIR or set SDEGEN_DATA)\n"); return 2; }
    sdg_prop3d_model *m = NULL;
    reg_data r;
    memset(&r, 0, sizeof r);
    int rc = 1;
    sdg_qm9_prop kp;
    if (sdg_prop3d_model_load(path, strcmp(weights, "ema") == 0, &m) != SDG_OK) {
        fprintf(stderr, ECMD ": %s\n", sdg_errmsg());
        goto cleanup;
    }
    if (sdg_qm9_prop_find(m->prop, &kp) != SDG_OK) {
        fprintf(stderr, ECMD ": %s: %s\n", path, sdg_errmsg());
        goto cleanup;
    }
    printf("# sdegen eval regressor3d (sdegen %s): %s, predicts %s (%s), trained %lld epochs on %lld records%s%s%s\n",
           sdg_version(), path, m->prop, m->unit, (long long)m->epochs, (long long)m->n_train,
           m->conformers.path[0] ? " (with the extra conformers of " : "", m->conformers.path,
           m->conformers.path[0] ? ")" : "");
    sdg_extra_conformers xc;
    if (cli_conformers_resolve(ECMD, conf_opt, &m->conformers, &xc)) goto cleanup;
    if (reg_data_load(ECMD, data, max_rows, xc.path[0] ? xc.path : NULL, kp, &r) ||
        reg_test(ECMD, m, NULL, &r, weights, NULL, NULL))
        goto cleanup;
    rc = 0;
cleanup:
    sdg_prop3d_model_free(m);
    reg_data_free(&r);
    return rc;
}
