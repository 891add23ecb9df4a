/* sdegen train crystal: EDM training of the crystal U-Net (docs/crystals.md "Training") on a
 * CDVAE dataset split, with the per-block scaler fitted on the training matrices, a TSV log,
 * periodic atomic checkpoints, a time limit and exact --resume. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"


static const char usage[] =
    "usage: sdegen train crystal --dataset perov_5|carbon_24|mp_20 -o MODEL.h5 [--data DIR] [--split val|train]\n"
    "                            [--epochs E] [--batch B] [--lr X] [--seed S] [--ckpt-every N] [--resume]\n"
    "                            [--time-limit SECONDS] [--threads T] [--emax E] [--nmax N] [--cond PROP]\n"
    "                            [--base C] [--levels L] [--max-rows R] [--element-rows all|vocab] [--log FILE]\n"
    "  --data DIR      the data directory (holding crystals/<dataset>/) or the dataset directory itself;\n"
    "                  default $SDEGEN_DATA\n"
    "  --split S       perov_5 and carbon_24 have only val and test here: val is the default (the\n"
    "                  test split stays for evaluation); mp_20 (the 1,112-structure subset) trains on train\n"
    "  --emax/--nmax   matrix size (defaults: perov_5 5/5, carbon_24 1/24, mp_20 7/20: every crystal fits)\n"
    "  --cond PROP     condition on a property column (e.g. heat_ref, formation_energy_per_atom, band_gap)\n"
    "                  with classifier-free dropout 0.1\n"
    "  --base/--levels U-Net width (64) and resolutions (2)\n"
    "  --element-rows  rows of the matrix's element block: all = one per Z 1..94 (DiffCrysGen, the\n"
    "                  default), vocab = one per element of the training crystals that fit (e.g. 56 for\n"
    "                  perov_5): fewer FLOPs, and sampling can only produce training elements\n"
    "                  (--vocab-decode then only reassigns sites); stored in the model, kept by --resume\n";

/* Network FLOPs for one matrix (forward), measured on the ctx's counter. */
double cli_crystal_flops(const sdg_crystal_unet *net) {
    const sdg_crystal_unet_params *np = sdg_crystal_unet_get_params(net);
    sdg_ctx *ctx = NULL;
    double f = 0;
    if (sdg_ctx_new(0, &ctx) != SDG_OK) return 0;
    sdg_ctx_set_grad(ctx, false);
    float cn = 0;
    sdg_tensor *x = sdg_tensor_zeros(ctx, 3, (int64_t[]){1, np->width, np->rows});
    if (x && sdg_crystal_unet_forward(ctx, net, x, &cn, NULL, NULL)) f = sdg_ctx_flops_total(ctx);
    sdg_ctx_free(ctx);
    sdg_error_clear();
    return f;
}

int cli_train_crystal(int argc, char **argv) {
    const char *dataset = NULL, *data_opt = NULL, *out = NULL, *split = NULL, *cond = NULL, *log_path = NULL,
               *rows = NULL;
    long epochs = 1000, batch = -1, seed = -1, ckpt_every = 10, threads = 0, emax = 0, nmax = 0, base = 0, levels = 0,
         max_rows = 0;
    double lr = -1, time_limit = 0;
    bool resume = false;
    int rc = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--resume") == 0) { resume = true; continue; }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { fputs(usage, stdout); return 0; }
        if (!v) {
            fprintf(stderr, "sdegen train crystal: unknown or incomplete option '%s' (see sdegen train crystal --help)\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--dataset") == 0) dataset = v;
        else if (strcmp(a, "--data") == 0) data_opt = v;
        else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) out = v;
        else if (strcmp(a, "--split") == 0) split = v;
        else if (strcmp(a, "--cond") == 0) cond = v;
        else if (strcmp(a, "--log") == 0) log_path = v;
        else if (strcmp(a, "--element-rows") == 0) rows = v;
        else if (strcmp(a, "--epochs") == 0) { if (cli_parse_long(v, a, 0, 100000000L, &epochs)) return 2; }
        else if (strcmp(a, "--batch") == 0) { if (cli_parse_long(v, a, 1, 100000, &batch)) return 2; }
        else if (strcmp(a, "--seed") == 0) { if (cli_parse_long(v, a, 0, 2147483647L, &seed)) return 2; }
        else if (strcmp(a, "--ckpt-every") == 0) { if (cli_parse_long(v, a, 0, 100000000L, &ckpt_every)) return 2; }
        else if (strcmp(a, "--threads") == 0) { if (cli_parse_long(v, a, 1, 4096, &threads)) return 2; }
        else if (strcmp(a, "--emax") == 0) { if (cli_parse_long(v, a, 1, 94, &emax)) return 2; }
        else if (strcmp(a, "--nmax") == 0) { if (cli_parse_long(v, a, 1, 1000, &nmax)) return 2; }
        else if (strcmp(a, "--base") == 0) { if (cli_parse_long(v, a, 8, 1024, &base)) return 2; }
        else if (strcmp(a, "--levels") == 0) { if (cli_parse_long(v, a, 1, 4, &levels)) return 2; }
        else if (strcmp(a, "--max-rows") == 0) { if (cli_parse_long(v, a, 1, 100000000L, &max_rows)) return 2; }
        else if (strcmp(a, "--lr") == 0) { if (cli_parse_double(v, a, 1e-8, 10, &lr)) return 2; }
        else if (strcmp(a, "--time-limit") == 0) { if (cli_parse_double(v, a, 0, 1e9, &time_limit)) return 2; }
        else {
            fprintf(stderr, "sdegen train crystal: unknown option '%s' (see sdegen train crystal --help)\n", a);
            return 2;
        }
    }
    if (!dataset || !out) {
        fprintf(stderr, "sdegen train crystal: %s is required (see sdegen train crystal --help)\n",
                out ? "--dataset perov_5|carbon_24|mp_20" : "-o MODEL.h5");
        return 2;
    }
    const cli_crystal_ds *ds = cli_crystal_ds_find(dataset);
    if (!ds) {
        fprintf(stderr, "sdegen train crystal: --dataset: unknown dataset '%s' (%s)\n", dataset, cli_crystal_ds_names);
        return 2;
    }
    if (resume && (batch > 0 || lr > 0 || seed >= 0 || emax || nmax || cond || base || levels || split || rows)) {
        fprintf(stderr, "sdegen train crystal: --resume continues with the checkpoint's settings; --batch, --lr, --seed, "
                        "--emax, --nmax, --cond, --base, --levels, --split and --element-rows cannot be given with it\n");
        return 2;
    }
    if (rows && strcmp(rows, "all") && strcmp(rows, "vocab")) {
        fprintf(stderr, "sdegen train crystal: --element-rows: '%s' is not all or vocab\n", rows);
        return 2;
    }
    if (split && strcmp(split, "train") && strcmp(split, "val") && strcmp(split, "test")) {
        fprintf(stderr, "sdegen train crystal: --split: '%s' is not train, val or test\n", split);
        return 2;
    }
    if (threads > 0) sdg_set_num_threads((int)threads);
    const char *data = cli_data_dir(data_opt);
    if (!data) {
        fprintf(stderr, "sdegen train crystal: no data directory (give --data DIR or set SDEGEN_DATA)\n");
        return 2;
    }

    sdg_crystal_model *m = NULL, mm;
    sdg_crystal_dataset *d = NULL;
    sdg_crystal_trainer *tr = NULL;
    double *M = NULL;
    float *X = NULL, *C = NULL;
    FILE *log = NULL;
    memset(&mm, 0, sizeof mm);
    if (resume) {
        if (sdg_crystal_model_load(out, false, &m) != SDG_OK) {
            fprintf(stderr, "sdegen train crystal: --resume: %s\n", sdg_errmsg());
            goto cleanup;
        }
        if (strcmp(m->dataset, ds->name) != 0) {
            fprintf(stderr, "sdegen train crystal: --resume: %s was trained on '%s', not '%s'\n", out, m->dataset, ds->name);
            goto cleanup;
        }
        split = m->split;
        cond = m->cond[0] ? m->cond : NULL;
    } else {
        m = calloc(1, sizeof *m);
        if (!m) goto cleanup;
        m->mp.e_max = emax ? emax : ds->emax;
        m->mp.n_max = nmax ? nmax : ds->nmax;
        snprintf(m->dataset, sizeof m->dataset, "%s", ds->name);
        snprintf(m->split, sizeof m->split, "%s", split ? split : ds->train_split);
        snprintf(m->cond, sizeof m->cond, "%s", cond ? cond : "");
        split = m->split;
    }
    char dir[1200];
    if (cli_crystal_ds_dir(data, ds, split, dir, sizeof dir)) {
        cli_crystal_ds_missing("train crystal", data, ds, split);
        goto cleanup;
    }
    sdg_crystal_dataset_params dp = sdg_crystal_dataset_default_params();
    dp.max_rows = (size_t)max_rows;
    double t0 = cli_now();
    if (sdg_crystal_dataset_load(dir, split, &dp, &d) != SDG_OK) {
        fprintf(stderr, "sdegen train crystal: %s\n", sdg_errmsg());
        goto cleanup;
    }
    size_t kcond = 0;
    if (cond && sdg_crystal_dataset_prop(d, cond, &kcond) != SDG_OK) {
        fprintf(stderr, "sdegen train crystal: --cond: %s has no property '%s' (", ds->name, cond);
        for (size_t k = 0; k < d->n_props; k++) fprintf(stderr, "%s%s", k ? ", " : "", d->prop_names[k]);
        fprintf(stderr, ")\n");
        goto cleanup;
    }
    /* vocabulary rows: the elements of the training split's crystals that fit (never val/test
     * when training on train) */
    if (rows && strcmp(rows, "vocab") == 0 &&
        sdg_crystal_matrix_vocab_fit((const sdg_crystal *const *)d->crystals, d->count, &m->mp) != SDG_OK) {
        fprintf(stderr, "sdegen train crystal: %s/%s: %s\n", ds->name, split, sdg_errmsg());
        goto cleanup;
    }
    int64_t R = 0, W = 0;
    if (sdg_crystal_matrix_shape(&m->mp, &R, &W) != SDG_OK) {
        fprintf(stderr, "sdegen train crystal: %s\n", sdg_errmsg());
        goto cleanup;
    }
    size_t D = (size_t)(R * W), n = 0, skipped = 0;
    char first_skip[256] = "";
    M = malloc((d->count ? d->count : 1) * D * sizeof *M);
    C = malloc((d->count ? d->count : 1) * sizeof *C);
    if (!M || !C) {
        fprintf(stderr, "sdegen train crystal: out of memory for %zu matrices\n", d->count);
        goto cleanup;
    }
    uint8_t vocab[SDG_CRYSTAL_ZMAX] = {0};   /* the elements of the crystals that fit: the decoder's vocabulary */
    int     nvocab = 0;
    for (size_t i = 0; i < d->count; i++) {
        if (sdg_crystal_matrix_encode(&m->mp, d->crystals[i], M + n * D, D) != SDG_OK) {
            if (!skipped) snprintf(first_skip, sizeof first_skip, "%s: %s", d->ids[i], sdg_errmsg());
            sdg_error_clear();
            skipped++;
            continue;
        }
        C[n] = cond ? (float)d->props[i * d->n_props + kcond] : NAN;
        for (int64_t a = 0; a < d->crystals[i]->n_atoms; a++) {
            nvocab += !vocab[d->crystals[i]->z[a] - 1];
            vocab[d->crystals[i]->z[a] - 1] = 1;
        }
        n++;
    }
    const char *why = strcmp(split, "val") == 0 && strcmp(ds->name, "mp_20") != 0
                          ? " (the train split of this dataset is not available here; val is the training set, test stays for evaluation)"
                          : "";
    printf("%s/%s: %zu crystals read in %.1f s (%zu malformed rows skipped)%s\n", ds->name, split, d->count,
           cli_now() - t0, d->n_skipped, why);
    char erows[64];
    if (m->mp.n_vocab)
        snprintf(erows, sizeof erows, "%lld, the training vocabulary", (long long)m->mp.n_vocab);
    else
        snprintf(erows, sizeof erows, "%d, Z 1..%d", SDG_CRYSTAL_ZMAX, SDG_CRYSTAL_ZMAX);
    printf("matrix %lld x %lld (E_max %lld, N_max %lld, element rows %s); training vocabulary %d elements; %zu crystals "
           "fit, %zu skipped%s%s\n", (long long)R, (long long)W, (long long)m->mp.e_max, (long long)m->mp.n_max, erows,
           nvocab, n, skipped, skipped ? ", first: " : "", first_skip);
    if (n == 0) {
        fprintf(stderr, "sdegen train crystal: no crystal of %s/%s fits E_max %lld, N_max %lld\n", ds->name, split,
                (long long)m->mp.e_max, (long long)m->mp.n_max);
        goto cleanup;
    }
    memcpy(m->elements, vocab, sizeof vocab);   /* also fills it in when resuming an older file */
    if (!resume) {
        if (sdg_crystal_scaler_fit(&m->mp, M, n, &m->scaler) != SDG_OK) {
            fprintf(stderr, "sdegen train crystal: %s\n", sdg_errmsg());
            goto cleanup;
        }
    }
    sdg_crystal_scaler_apply(&m->mp, &m->scaler, M, n);
    X = malloc(n * D * sizeof *X);
    if (!X) goto cleanup;
    double ss = 0;
    for (size_t k = 0; k < n * D; k++) {
        X[k] = (float)M[k];
        ss += M[k] * M[k];
    }
    free(M);
    M = NULL;
    if (cond) {
        if (!resume) {   /* scaling of the property over the values present */
            double s = 0, s2 = 0;
            size_t c = 0;
            for (size_t i = 0; i < n; i++)
                if (!isnan(C[i])) s += C[i], s2 += (double)C[i] * C[i], c++;
            if (c < 2) {
                fprintf(stderr, "sdegen train crystal: --cond %s: fewer than 2 crystals have a value\n", cond);
                goto cleanup;
            }
            m->cond_mean = s / (double)c;
            m->cond_std = sqrt(fmax(s2 / (double)c - m->cond_mean * m->cond_mean, 1e-12));
        }
        for (size_t i = 0; i < n; i++) C[i] = (float)((C[i] - m->cond_mean) / m->cond_std);
    }
    if (resume) {
        if (sdg_crystal_trainer_resume(out, m, X, cond ? C : NULL, n, &tr) != SDG_OK) {
            fprintf(stderr, "sdegen train crystal: --resume: %s\n", sdg_errmsg());
            goto cleanup;
        }
    } else {
        m->sigma_data = sqrt(ss / (double)(n * D));   /* RMS of the scaled matrices, every entry */
        sdg_crystal_unet_params np = sdg_crystal_unet_default_params();
        np.width = W;
        np.rows = R;
        if (base) np.base = base;
        if (levels) np.levels = (int)levels;
        np.n_cond = cond ? 1 : 0;
        sdg_crystal_train_params tp = sdg_crystal_train_default_params();
        if (batch > 0) tp.batch = batch;
        if (lr > 0) tp.lr = (float)lr;
        if (seed >= 0) tp.seed = (uint64_t)seed;
        np.seed = tp.seed;
        tp.sigma_data = (float)m->sigma_data;
        if (sdg_crystal_unet_new(&np, &m->net) != SDG_OK ||
            sdg_crystal_trainer_new(m->net, X, cond ? C : NULL, n, &tp, &tr) != SDG_OK) {
            fprintf(stderr, "sdegen train crystal: %s\n", sdg_errmsg());
            goto cleanup;
        }
    }
    const sdg_crystal_train_params *tp = sdg_crystal_trainer_params(tr);
    const sdg_crystal_unet_params *np = sdg_crystal_unet_get_params(m->net);
    printf("network: 1-D U-Net, base %lld, %d levels, %lld parameters, %.1f MFLOP per matrix (forward); sigma_data %.4f%s%s\n",
           (long long)np->base, np->levels, (long long)sdg_params_numel(sdg_crystal_unet_params_store(m->net)),
           cli_crystal_flops(m->net) * 1e-6, m->sigma_data, cond ? "; conditioned on " : "", cond ? cond : "");
    char lbuf[1100];
    log = cli_train_log_open("train crystal", out, log_path, resume, "epoch\tloss\tseconds\tcrystals_per_s", lbuf,
                             sizeof lbuf, &log_path);
    if (!log) goto cleanup;
    cli_train_catch_signals();
    int64_t e0 = sdg_crystal_trainer_epochs(tr);
    printf("training on %zu crystals: %ld epochs (from %lld), batch %lld, lr %g, seed %llu, %d threads -> %s\n", n, epochs,
           (long long)e0, (long long)tp->batch, (double)tp->lr, (unsigned long long)tp->seed, sdg_num_threads(), out);
    fflush(stdout);
    double ts = cli_now();
    bool timed_out = false;
    for (int64_t e = e0; e < epochs && !cli_train_stop; e++) {
        if (cli_train_time_up(ts, e, e0, time_limit)) {
            timed_out = true;
            break;
        }
        double te = cli_now(), loss = 0;
        if (sdg_crystal_trainer_epoch(tr, &loss) != SDG_OK) {
            cli_progress_end();
            fprintf(stderr, "sdegen train crystal: %s\n", sdg_errmsg());
            goto cleanup;
        }
        double dt = cli_now() - te;
        fprintf(log, "%lld\t%.6g\t%.4f\t%.1f\n", (long long)e + 1, loss, dt, (double)n / (dt > 0 ? dt : 1e-9));
        fflush(log);
        cli_progress("epoch %lld/%ld  loss %.4f  %.1f s/epoch", (long long)e + 1, epochs, loss, dt);
        if (ckpt_every > 0 && (e + 1) % ckpt_every == 0 && e + 1 < epochs) {
            if (sdg_crystal_model_save(out, m, tr) != SDG_OK) {
                cli_progress_end();
                fprintf(stderr, "sdegen train crystal: %s\n", sdg_errmsg());
                goto cleanup;
            }
            if (!cli_progress_enabled()) {
                printf("epoch %lld/%ld loss %.4f %.2f s/epoch (checkpoint saved)\n", (long long)e + 1, epochs, loss, dt);
                fflush(stdout);
            }
        }
    }
    cli_progress_end();
    if (sdg_crystal_model_save(out, m, tr) != SDG_OK) {
        fprintf(stderr, "sdegen train crystal: %s\n", sdg_errmsg());
        goto cleanup;
    }
    if (cli_train_stop) {
        fprintf(stderr, "sdegen train crystal: interrupted after epoch %lld; checkpoint saved to %s (continue with --resume)\n",
                (long long)sdg_crystal_trainer_epochs(tr), out);
        goto cleanup;
    }
    if (timed_out)
        printf("time limit of %g s reached: stopped after epoch %lld of %ld (continue with --resume)\n", time_limit,
               (long long)sdg_crystal_trainer_epochs(tr), epochs);
    double el = cli_now() - ts;
    int64_t done = sdg_crystal_trainer_epochs(tr) - e0;
    printf("done: %lld epochs in %.1f s (%.2f s per epoch); model written to %s, log %s\n",
           (long long)sdg_crystal_trainer_epochs(tr), el, done > 0 ? el / (double)done : 0.0, out, log_path);
    rc = 0;
cleanup:
    if (log) fclose(log);
    sdg_crystal_trainer_free(tr);
    sdg_crystal_model_free(m);
    sdg_crystal_dataset_free(d);
    free(M);
    free(X);
    free(C);
    return rc;
}
