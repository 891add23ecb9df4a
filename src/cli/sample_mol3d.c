/* sdegen sample with a 3-D molecule flow model (docs/molecules3d.md "Sampling"): sizes (and,
 * for a conditioned model, property targets) drawn from the training table, molecules
 * integrated by the engine's ODE sampler in chunks, written as V2000 SDF with explicit H, 3-D
 * coordinates, bond orders, formal charges and the run's data fields to FILE.part, renamed
 * when complete; then the stability/validity summary and the speed. Molecule i depends only on
 * (seed, i). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"

#define CMD "sdegen sample"
#define MUSAGE "usage: sdegen sample MODEL.h5 -n N -o FILE.sdf [--seed S] [--steps K] [--ode euler|heun|rk4] " \
               "[--sde-noise ETA [--sde-tmax T] [--pos-sde-noise ETA] [--pos-sde-tmax T]] [--batch B] " \
               "[[--cond VALUE] [--guidance W] | --uncond] [--weights raw|ema] [--threads T]"


/* One summary line: the value in percent, or "-" when it does not apply (NaN). */
static void metric_line(const char *name, double v, const char *note) {
    if (isnan(v)) printf("%-31s %6s     %s\n", name, "-", "(not applicable: no record has bonds / no valid record)");
    else printf("%-31s %6.2f %%   %s\n", name, 100.0 * v, note);
}

int cli_sample_mol3d(int argc, char **argv, const char *model_path) {
    const char *out = NULL, *cond_arg = NULL, *weights = "ema", *ode_name = "euler";
    long n = -1, seed = 0, steps = 100, batch = 64, threads = 0;
    double guidance = -1, sde_noise = -1, sde_tmax = -1;   /* -1: the model's sample.sde_* with euler, else the ODE */
    double pos_noise = -1, pos_tmax = -1;                  /* -1: the model's sample.sde_*_pos, else as the others */
    bool positional = false, uncond = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--uncond") == 0) {   /* a conditioned model's unconditional branch */
            uncond = true;
            continue;
        }
        if (!(a[0] == '-' && a[1])) {
            if (positional) {
                fprintf(stderr, CMD ": unexpected argument '%s' (" MUSAGE ")\n", a);
                return 2;
            }
            positional = true;
            continue;
        }
        if (!v || !cli_sample_takes_value(a)) {
            fprintf(stderr, CMD ": option '%s' %s for a 3-D molecule model (" MUSAGE ")\n", a,
                    cli_sample_takes_value(a) ? "needs a value" : "is unknown");
            return 2;
        }
        i++;
        if (strcmp(a, "-n") == 0) { if (cli_parse_long(v, a, 1, 100000000L, &n)) return 2; }
        else if (strcmp(a, "-o") == 0) out = v;
        else if (strcmp(a, "--seed") == 0) { if (cli_parse_long(v, a, 0, 9223372036854775807L, &seed)) return 2; }
        else if (strcmp(a, "--steps") == 0) { if (cli_parse_long(v, a, 1, 100000, &steps)) return 2; }
        else if (strcmp(a, "--batch") == 0) { if (cli_parse_long(v, a, 1, 100000, &batch)) return 2; }
        else if (strcmp(a, "--threads") == 0) { if (cli_parse_long(v, a, 1, 4096, &threads)) return 2; }
        else if (strcmp(a, "--ode") == 0) ode_name = v;
        else if (strcmp(a, "--cond") == 0) cond_arg = v;
        else if (strcmp(a, "--guidance") == 0) { if (cli_parse_double(v, a, 0, 100, &guidance)) return 2; }
        else if (strcmp(a, "--sde-noise") == 0) { if (cli_parse_double(v, a, 0, 100, &sde_noise)) return 2; }
        else if (strcmp(a, "--sde-tmax") == 0) { if (cli_parse_double(v, a, 1e-6, 1, &sde_tmax)) return 2; }
        else if (strcmp(a, "--pos-sde-noise") == 0) { if (cli_parse_double(v, a, 0, 100, &pos_noise)) return 2; }
        else if (strcmp(a, "--pos-sde-tmax") == 0) { if (cli_parse_double(v, a, 1e-6, 1, &pos_tmax)) return 2; }
        else if (strcmp(a, "--weights") == 0) weights = v;
        else {
            fprintf(stderr, CMD ": option '%s' is not for a 3-D molecule model (" MUSAGE ")\n", a);
            return 2;
        }
    }
    if (n < 0 || !out) {
        fprintf(stderr, CMD ": %s is required (" MUSAGE ")\n", n < 0 ? "-n N" : "-o FILE.sdf");
        return 2;
    }
    if (!cli_has_ext(out, ".sdf")) {
        fprintf(stderr, CMD ": %s: a 3-D molecule model writes .sdf files\n", out);
        return 2;
    }
    const sdg_ode_type *ode = strcmp(ode_name, "euler") == 0 ? sdg_ode_euler
                              : strcmp(ode_name, "heun") == 0 ? sdg_ode_heun
                              : strcmp(ode_name, "rk4") == 0  ? sdg_ode_rk4
                                                              : NULL;
    if (!ode) {
        fprintf(stderr, CMD ": option --ode: '%s' is not euler, heun or rk4\n", ode_name);
        return 2;
    }
    if ((sde_noise > 0 || pos_noise > 0) && ode != sdg_ode_euler) {
        fprintf(stderr, CMD ": --%ssde-noise %g needs --ode euler (the SDE mode steps on the Euler grid), not %s\n",
                sde_noise > 0 ? "" : "pos-", sde_noise > 0 ? sde_noise : pos_noise, ode_name);
        return 2;
    }
    if (strcmp(weights, "ema") && strcmp(weights, "raw")) {
        fprintf(stderr, CMD ": option --weights: '%s' is not raw or ema\n", weights);
        return 2;
    }
    if (threads > 0) sdg_set_num_threads((int)threads);

    int rc = 1;
    sdg_mol3d_model *m = NULL;
    int64_t *na = NULL;
    float *prop = NULL;
    FILE *f = NULL;
    char *part = NULL;
    if (sdg_mol3d_model_load(model_path, strcmp(weights, "ema") == 0, &m) != SDG_OK) {
        fprintf(stderr, CMD ": %s\n", sdg_errmsg());
        return 1;
    }
    bool cond = m->cond[0] != 0;
    if (!cond && (cond_arg || guidance >= 0 || uncond)) {
        fprintf(stderr, CMD ": %s was trained without conditioning; %s cannot be used with it\n", model_path,
                cond_arg ? "--cond" : guidance >= 0 ? "--guidance" : "--uncond (it is unconditional already)");
        rc = 2;
        goto cleanup;
    }
    if (uncond && (cond_arg || guidance >= 0)) {
        fprintf(stderr, CMD ": --uncond samples without a property; it cannot be combined with %s\n",
                cond_arg ? "--cond" : "--guidance");
        rc = 2;
        goto cleanup;
    }
    sdg_qm9_prop kp = SDG_QM9_PROP_MU;
    const char *unit = "";
    if (cond && sdg_qm9_prop_find(m->cond, &kp) == SDG_OK) unit = sdg_qm9_prop_unit(kp);
    if (uncond) cond = false;   /* from here on: no property, sizes from the whole training table */
    sdg_error_clear();
    double target = 0;
    if (cond_arg) {   /* VALUE or PROP=VALUE */
        const char *val = cond_arg, *eq = strchr(cond_arg, '=');
        if (eq) {
            if ((size_t)(eq - cond_arg) != strlen(m->cond) || strncmp(cond_arg, m->cond, strlen(m->cond)) != 0) {
                fprintf(stderr, CMD ": --cond %s: the model is conditioned on %s, not %.*s\n", cond_arg, m->cond,
                        (int)(eq - cond_arg), cond_arg);
                rc = 2;
                goto cleanup;
            }
            val = eq + 1;
        }
        if (cli_parse_double(val, "--cond", -1e30, 1e30, &target)) {
            rc = 2;
            goto cleanup;
        }
        if (target < m->prop_min || target > m->prop_max)
            fprintf(stderr, CMD ": warning: --cond %g is outside the training range [%g, %g] %s of %s; sampling anyway\n",
                    target, m->prop_min, m->prop_max, unit, m->cond);
    }
    na = malloc((size_t)n * sizeof *na);
    prop = cond ? malloc((size_t)n * sizeof *prop) : NULL;
    part = malloc(strlen(out) + 6);
    if (!na || (cond && !prop) || !part) {
        fprintf(stderr, CMD ": out of memory for %ld molecules\n", n);
        goto cleanup;
    }
    if (sdg_mol3d_model_draw(m, (uint64_t)seed, (size_t)n, cond_arg ? &target : NULL, na, prop) != SDG_OK) {
        fprintf(stderr, CMD ": %s\n", sdg_errmsg());
        goto cleanup;
    }
    sprintf(part, "%s.part", out);
    f = fopen(part, "w");
    if (!f) {
        fprintf(stderr, CMD ": %s: cannot open for writing: %s\n", part, strerror(errno));
        goto cleanup;
    }
    sdg_flow3d_sample_params sp = sdg_flow3d_sample_default_params();
    sp.n_steps = (int)steps;
    sp.seed = (uint64_t)seed;
    sp.chunk = (size_t)batch;
    sp.prior_std = m->flow.prior_std;
    sp.ode = ode;
    sp.guidance = guidance > 0 ? (float)guidance : 0.0f;
    bool shipped = sde_noise < 0 && ode == sdg_ode_euler;   /* the model's sampler setting */
    if (sde_noise < 0) sde_noise = shipped ? m->sample_sde_noise : 0.0;
    if (sde_tmax < 0) sde_tmax = m->sample_sde_tmax;
    if (shipped && m->sample_sde_pos) {
        if (pos_noise < 0) pos_noise = m->sample_sde_noise_pos;
        if (pos_tmax < 0) pos_tmax = m->sample_sde_tmax_pos;
    }
    sp.sde_noise = (float)sde_noise;
    sp.sde_tmax = (float)sde_tmax;
    sp.sde_noise_pos = (float)pos_noise;
    sp.sde_tmax_pos = (float)pos_tmax;
    bool sde = sde_noise > 0 || pos_noise > 0;
    double pn = pos_noise >= 0 ? pos_noise : sde_noise, pt = pos_tmax > 0 ? pos_tmax : sde_tmax;
    char sampler[320], sbuf[32], stepbuf[32], ibuf[32], tbuf[64], gbuf[32], thbuf[16];
    if (sde && pn == sde_noise && pt == sde_tmax)
        snprintf(sampler, sizeof sampler, "sde mode, eta %g (g(t)^2 = 2 eta t) for t <= %g, %ld steps from t = 1 to %g, "
                 "then the denoiser (engine sdg_sampler_ode, sde_noise)", sde_noise, sde_tmax, steps, (double)sp.eps);
    else if (sde)
        snprintf(sampler, sizeof sampler, "sde mode (g(t)^2 = 2 eta t), types/charges/bonds eta %g for t <= %g, positions "
                 "eta %g for t <= %g, %ld steps from t = 1 to %g, then the denoiser (engine sdg_sampler_ode, "
                 "sde_noise_comp)", sde_noise, sde_tmax, pn, pt, steps, (double)sp.eps);
    else
        snprintf(sampler, sizeof sampler, "ode %s, %ld steps from t = 1 to %g, then the denoiser (engine sdg_sampler_ode)",
                 ode_name, steps, (double)sp.eps);
    snprintf(sbuf, sizeof sbuf, "%ld", seed);
    snprintf(stepbuf, sizeof stepbuf, "%ld", steps);
    snprintf(gbuf, sizeof gbuf, "%g", sp.guidance);
    snprintf(thbuf, sizeof thbuf, "%d", sdg_num_threads());
    char tname[32];
    snprintf(tname, sizeof tname, "%s_target", m->cond);
    size_t nf0 = 7;
    sdg_mol_field fields[10] = {{"index", ibuf}, {"seed", sbuf}, {"sampler", sampler}, {"steps", stepbuf},
                                {"model", model_path}, {"weights", weights}, {"threads", thbuf}};
    size_t nf = nf0;
    if (cond) {
        fields[nf++] = (sdg_mol_field){tname, tbuf};
        fields[nf++] = (sdg_mol_field){"guidance", gbuf};
    } else if (uncond)
        fields[nf++] = (sdg_mol_field){"conditioning", "none: the unconditional branch (null embedding)"};
    sdg_mol **all = calloc((size_t)n, sizeof *all);
    if (!all) {
        fprintf(stderr, CMD ": out of memory for %ld molecules\n", n);
        goto cleanup;
    }
    double t0 = cli_now();
    cli_rate rate = {.noun = "molecules", .n = (size_t)n, .batch = (size_t)batch, .t0 = t0, .eps = sp.eps};
    for (size_t i0 = 0; i0 < (size_t)n; i0 += (size_t)batch) {
        size_t B = (size_t)n - i0 < (size_t)batch ? (size_t)n - i0 : (size_t)batch;
        sp.stream_offset = i0;
        if (sdg_flow3d_sample(m->net, na + i0, B, cond ? prop + i0 : NULL, &sp, all + i0) != SDG_OK) {
            cli_progress_end();
            fprintf(stderr, CMD ": molecules %zu..%zu: %s\n", i0, i0 + B - 1, sdg_errmsg());
            goto cleanup_all;
        }
        for (size_t k = 0; k < B; k++) {
            size_t i = i0 + k;
            char title[64];
            snprintf(title, sizeof title, "sdegen sample %zu", i);
            snprintf(ibuf, sizeof ibuf, "%zu", i);
            if (cond) snprintf(tbuf, sizeof tbuf, "%.6g", (double)prop[i] * m->cond_std + m->cond_mean);
            if (sdg_mol_set_name(all[i], title) != SDG_OK || sdg_mol_write_sdf(f, all[i], fields, nf) != SDG_OK) {
                cli_progress_end();
                fprintf(stderr, CMD ": %s: %s\n", part, sdg_errmsg());
                goto cleanup_all;
            }
        }
        rate.done = i0 + B;
        cli_rate_show(&rate, 0);
    }
    double gen_s = cli_now() - t0;
    cli_progress_end();
    if (fclose(f) != 0) {
        f = NULL;
        fprintf(stderr, CMD ": %s: write failed: %s\n", part, strerror(errno));
        goto cleanup_all;
    }
    f = NULL;
    if (rename(part, out) != 0) {
        fprintf(stderr, CMD ": cannot rename %s to %s: %s\n", part, out, strerror(errno));
        goto cleanup_all;
    }
    sdg_mol3d_metrics mt;
    if (sdg_mol3d_metrics_compute(all, (size_t)n, NULL, &mt) != SDG_OK) {
        fprintf(stderr, CMD ": %s\n", sdg_errmsg());
        goto cleanup_all;
    }
    printf("%ld molecules written to %s (%s weights, model trained %lld epochs on %s/%s)\n", n, out, weights,
           (long long)m->epochs, m->dataset, m->split);
    metric_line("atom stability (EDM rule):", mt.atom_stability_edm.value, "(training data qm9_conformers: 97.95 %)");
    metric_line("molecule stability (EDM rule):", mt.mol_stability_edm.value, "(training data: 87.14 %)");
    metric_line("molecule stability (charged):", mt.mol_stability_charged.value,
                "(own bonds and charges; training data: 100 %)");
    metric_line("validity:", mt.validity.value, "(own bonds and charges; training data: 100 %)");
    metric_line("uniqueness:", mt.uniqueness.value, "(of the valid)");
    printf("speed: %.1f molecules/s, %.1f s per 1000 molecules (%s, %ld steps, batch %ld, %d threads)\n",
           (double)n / (gen_s > 0 ? gen_s : 1e-9), 1000.0 * gen_s / (double)n, sde ? "sde mode" : ode_name,
           steps, batch, sdg_num_threads());
    if (cond && cond_arg)
        printf("protocol: n %ld, seed %ld, %s, conditioned on %s = %g %s (guidance %g)\n", n, seed, sampler, m->cond,
               target, unit, sp.guidance);
    else if (cond)
        printf("protocol: n %ld, seed %ld, %s, conditioned on %s drawn jointly with the size from the training table "
               "(guidance %g)\n", n, seed, sampler, m->cond, sp.guidance);
    else if (uncond)
        printf("protocol: n %ld, seed %ld, %s; unconditional branch of a model conditioned on %s (null "
               "embedding); sizes drawn from the whole training table\n", n, seed, sampler, m->cond);
    else
        printf("protocol: n %ld, seed %ld, %s; sizes drawn from the training table\n", n, seed, sampler);
    rc = 0;
cleanup_all:
    for (size_t i = 0; i < (size_t)n; i++) sdg_mol_free(all[i]);
    free(all);
cleanup:
    if (f) {
        fclose(f);
        fprintf(stderr, CMD ": the partial output is left in %s\n", part);
    }
    sdg_mol3d_model_free(m);
    free(na);
    free(prop);
    free(part);
    return rc;
}
