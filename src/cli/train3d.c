/* sdegen train molecules3d: joint flow matching of the EGNN on the QM9 3-D conformers
 * (docs/molecules3d.md "Training"): the training split of qm9_3d_conformers.sdf, optional
 * conditioning on one QM9 property, Adam + EMA, a TSV log, periodic atomic checkpoints with the
 * (atoms, property) table, a time limit and bit-exact --resume. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"

#define CMD "sdegen train molecules3d"
/* --pos-loss velocity: the x0_hat error is divided by max(t, 0.01); 0.01 is the default sampler's
 * step, so every time the 100-step ODE evaluates is weighted in full (the last, at t = 0.001, is
 * the denoiser, which returns x0_hat itself). */
#define SDG_CLI_VELOCITY_LOSS_TMIN 0.01f

static const char usage[] =
    "usage: sdegen train molecules3d -o MODEL.h5 [--data DIR] [--epochs E] [--batch B] [--lr X] [--seed S]\n"
    "                                [--ckpt-every N] [--resume] [--time-limit SECONDS] [--threads T]\n"
    "                                [--cond PROP] [--max-rows R] [--hidden H] [--layers L] [--log FILE]\n"
    "                                [--conformers CACHE.sdf] [--time-skew K] [--pos-output x0|velocity]\n"
    "                                [--pos-loss x0|velocity]\n"
    "  trains the EGNN flow model on the training split of qm9/qm9_3d_conformers.sdf under DIR\n"
    "  (default $SDEGEN_DATA): every conformer whose QM9 row is not in valid_idx_qm9.json (the test\n"
    "  split) nor in the seeded 10 % validation draw, 11,412 molecules (Open Babel / RDKit force-field\n"
    "  geometries with explicit H, not DFT)\n"
    "  --cond PROP     condition on mu, alpha, homo, lumo, gap or cv (classifier-free dropout 0.1;\n"
    "                  molecules without a value train the unconditional branch)\n"
    "  --max-rows R    read only the first R records of the SDF (quick runs, tests)\n"
    "  --conformers F  also the records of F (sdegen prepare conformers), each split by its own gdb row\n"
    "                  (test = valid_idx, val = a seeded 10 %); the split of the shipped file is unchanged.\n"
    "                  Recorded in the checkpoint: --resume reads the same file unless given again\n"
    "  --hidden/--layers  network width (128) and message-passing layers (4)\n"
    "  --time-skew K   draw each molecule's time t from Beta(1, K) (density K (1-t)^(K-1)), weighting training\n"
    "                  toward the data end t = 0 where the fine geometry is learned; 1 (default) = uniform.\n"
    "                  Allowed with --resume (fine-tuning): the change and its first epoch are printed\n"
    "  --pos-output M  x0 (default): the positions the layers moved are x0_hat; velocity: x0_hat =\n"
    "                  x_t + t (x_L - x_t), the layers' displacement is minus the velocity and x0_hat's\n"
    "                  error vanishes as t -> 0 (new runs only)\n"
    "  --pos-loss L    x0 (default): the positions term is the MSE of x0_hat; velocity: the MSE of the\n"
    "                  velocity (x_t - x0_hat)/t that the sampler integrates, i.e. each molecule's x0_hat\n"
    "                  error divided by max(t, 0.01). Allowed with --resume (the change is printed)\n"
    "  --lr X          Adam's learning rate (5e-4); with --resume, fine-tuning at X from the next epoch on\n"
    "  defaults: 100 epochs, batch 64, lr 5e-4, seed 1, checkpoint every epoch, EMA 0.999\n";

sdg_status cli_step3d_show(int64_t step, int64_t steps, double loss, void *params) {
    cli_step3d *c = params;
    double el = cli_now() - c->t0;
    cli_progress("epoch %lld/%lld  step %lld/%lld  loss %.4f  %.2f s/step%s", (long long)c->epoch, (long long)c->epochs,
                 (long long)step, (long long)steps, loss, el / (double)step,
                 cli_train_stop ? "  (stopping at the end of the epoch)" : "");
    return SDG_OK;
}

int cli_conformers_resolve(const char *cmd, const char *opt, const sdg_extra_conformers *rec,
                           sdg_extra_conformers *c) {
    memset(c, 0, sizeof *c);
    const char *p = opt ? opt : rec && rec->path[0] ? rec->path : NULL;
    if (!p) return 0;
    char cwd[PATH_MAX];
    if (access(p, R_OK) != 0 || (p[0] != '/' && !getcwd(cwd, sizeof cwd))) {
        if (opt) fprintf(stderr, "%s: --conformers %s: %s\n", cmd, p, strerror(errno));
        else fprintf(stderr, "%s: --resume: the checkpoint's conformer file %s: %s (give --conformers FILE)\n", cmd, p,
                     strerror(errno));
        return 1;
    }
    int w = p[0] == '/' ? snprintf(c->path, sizeof c->path, "%s", p) : snprintf(c->path, sizeof c->path, "%s/%s", cwd, p);
    if (w < 0 || (size_t)w >= sizeof c->path) {
        fprintf(stderr, "%s: --conformers %s: path too long\n", cmd, p);
        return 1;
    }
    return 0;
}

int cli_resume_size(const char *cmd, const char *out, size_t n0, size_t n, const sdg_extra_conformers *was,
                    const sdg_extra_conformers *now) {
    if (n == n0) return 0;
    if (strcmp(was->path, now->path) != 0 || was->records != now->records) {
        printf("the training set changed on resume: %zu -> %zu molecules (conformer file %s, %lld records -> %s, %lld "
               "records); each epoch's order is drawn anew over the new set\n", n0, n,
               was->path[0] ? was->path : "none", (long long)was->records, now->path[0] ? now->path : "none",
               (long long)now->records);
        return 0;
    }
    fprintf(stderr, "%s: --resume: %s was trained on %zu molecules, %zu given (same data, --max-rows and --conformers "
                    "needed)\n", cmd, out, n0, n);
    return 1;
}

int cli_train3d_parse(const char *cmd, const char *help, const char *extra, int argc, char **argv,
                      cli_train3d_opts *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--resume") == 0) { o->resume = true; continue; }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { fputs(help, stdout); return 0; }
        if (!v) {
            fprintf(stderr, "%s: unknown or incomplete option '%s' (see %s --help)\n", cmd, a, cmd);
            return 2;
        }
        i++;
        if (strcmp(a, "--data") == 0) o->data = v;
        else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) o->out = v;
        else if (extra && strcmp(a, extra) == 0) o->extra = v;
        else if (strcmp(a, "--conformers") == 0) o->conformers = v;
        else if (strcmp(a, "--log") == 0) o->log = v;
        else if (strcmp(a, "--epochs") == 0) { if (cli_parse_long(v, a, 0, 100000000L, &o->epochs)) return 2; }
        else if (strcmp(a, "--batch") == 0) { if (cli_parse_long(v, a, 1, 100000, &o->batch)) return 2; }
        else if (strcmp(a, "--seed") == 0) { if (cli_parse_long(v, a, 0, 2147483647L, &o->seed)) return 2; }
        else if (strcmp(a, "--ckpt-every") == 0) { if (cli_parse_long(v, a, 0, 100000000L, &o->ckpt_every)) return 2; }
        else if (strcmp(a, "--threads") == 0) { if (cli_parse_long(v, a, 1, 4096, &o->threads)) return 2; }
        else if (strcmp(a, "--max-rows") == 0) { if (cli_parse_long(v, a, 1, 100000000L, &o->max_rows)) return 2; }
        else if (strcmp(a, "--hidden") == 0) { if (cli_parse_long(v, a, 4, 4096, &o->hidden)) return 2; }
        else if (strcmp(a, "--layers") == 0) { if (cli_parse_long(v, a, 1, 64, &o->layers)) return 2; }
        else if (strcmp(a, "--lr") == 0) { if (cli_parse_double(v, a, 1e-8, 10, &o->lr)) return 2; }
        else if (strcmp(a, "--time-limit") == 0) { if (cli_parse_double(v, a, 0, 1e9, &o->time_limit)) return 2; }
        else if (strcmp(a, "--time-skew") == 0 && extra && strcmp(extra, "--cond") == 0) {
            if (cli_parse_double(v, a, 1, 100, &o->time_skew)) return 2;
        } else if (strcmp(a, "--pos-output") == 0 && extra && strcmp(extra, "--cond") == 0) {
            if (strcmp(v, "x0") != 0 && strcmp(v, "velocity") != 0) {
                fprintf(stderr, "%s: --pos-output: unknown value '%s' (x0 or velocity)\n", cmd, v);
                return 2;
            }
            o->pos_output = v;
        } else if (strcmp(a, "--pos-loss") == 0 && extra && strcmp(extra, "--cond") == 0) {
            if (strcmp(v, "x0") != 0 && strcmp(v, "velocity") != 0) {
                fprintf(stderr, "%s: --pos-loss: unknown value '%s' (x0 or velocity)\n", cmd, v);
                return 2;
            }
            o->pos_loss = v;
        }
        else {
            fprintf(stderr, "%s: unknown option '%s' (see %s --help)\n", cmd, a, cmd);
            return 2;
        }
    }
    if (!o->out) {
        fprintf(stderr, "%s: -o MODEL.h5 is required (see %s --help)\n", cmd, cmd);
        return 2;
    }
    return -1;
}

int cli_train_molecules3d(int argc, char **argv) {
    cli_train3d_opts o = {.epochs = 100, .batch = -1, .seed = -1, .ckpt_every = 1, .lr = -1};
    int prc = cli_train3d_parse(CMD, usage, "--cond", argc, argv, &o);
    if (prc >= 0) return prc;
    const char *data_opt = o.data, *out = o.out, *cond = o.extra, *log_path = o.log;
    long epochs = o.epochs, batch = o.batch, seed = o.seed, ckpt_every = o.ckpt_every, threads = o.threads,
         max_rows = o.max_rows, hidden = o.hidden, layers = o.layers;
    double lr = o.lr, time_limit = o.time_limit;
    bool resume = o.resume;
    int rc = 1;
    if (resume && (batch > 0 || seed >= 0 || cond || hidden || layers || o.pos_output)) {
        fprintf(stderr, CMD ": --resume continues with the checkpoint's settings; --batch, --seed, --cond, "
                        "--hidden, --layers and --pos-output cannot be given with it\n");
        return 2;
    }
    sdg_qm9_prop kprop = SDG_QM9_PROP_MU;
    if (cond && sdg_qm9_prop_find(cond, &kprop) != SDG_OK) {
        sdg_error_clear();
        fprintf(stderr, CMD ": --cond: unknown property '%s' (mu, alpha, homo, lumo, gap, cv)\n", cond);
        return 2;
    }
    if (threads > 0) sdg_set_num_threads((int)threads);
    const char *data = cli_data_dir(data_opt);
    if (!data) {
        fprintf(stderr, CMD ": no data directory (give --data DIR or set SDEGEN_DATA)\n");
        return 2;
    }

    sdg_mol3d_model *m = NULL;
    sdg_mol3d_dataset *d = NULL;
    sdg_flow3d_trainer *tr = NULL;
    sdg_mol **mols = NULL;
    float *P = NULL;
    int64_t *na = NULL;
    FILE *log = NULL;
    if (resume) {
        if (sdg_mol3d_model_load(out, false, &m) != SDG_OK) {
            fprintf(stderr, CMD ": --resume: %s\n", sdg_errmsg());
            goto cleanup;
        }
        cond = m->cond[0] ? m->cond : NULL;
        if (cond && sdg_qm9_prop_find(cond, &kprop) != SDG_OK) {
            fprintf(stderr, CMD ": --resume: %s: %s\n", out, sdg_errmsg());
            goto cleanup;
        }
    } else {
        m = calloc(1, sizeof *m);
        if (!m) goto cleanup;
        snprintf(m->dataset, sizeof m->dataset, "qm9_conformers");
        snprintf(m->split, sizeof m->split, "train");
        snprintf(m->cond, sizeof m->cond, "%s", cond ? sdg_qm9_prop_name(kprop) : "");
        m->flow = sdg_flow3d_default_params();
    }
    if (o.time_skew > 0) {
        if (resume && (float)o.time_skew != m->flow.time_skew)
            printf("time skew %g -> %g from epoch %lld on: t ~ Beta(1, %g)\n", (double)m->flow.time_skew, o.time_skew,
                   (long long)m->epochs + 1, o.time_skew);
        m->flow.time_skew = (float)o.time_skew;
    }
    if (o.pos_loss) {
        float tmin = strcmp(o.pos_loss, "velocity") == 0 ? SDG_CLI_VELOCITY_LOSS_TMIN : 0.0f;
        if (resume && tmin != m->flow.pos_loss_tmin)
            printf("positions loss %s -> %s from epoch %lld on\n", m->flow.pos_loss_tmin > 0 ? "velocity" : "x0",
                   o.pos_loss, (long long)m->epochs + 1);
        m->flow.pos_loss_tmin = tmin;
    }
    double t0 = cli_now();
    sdg_extra_conformers was = m->conformers, xc;
    if (cli_conformers_resolve(CMD, o.conformers, resume ? &was : NULL, &xc)) goto cleanup;
    sdg_mol3d_dataset_params dp = sdg_mol3d_dataset_default_params();
    dp.max_records = (size_t)max_rows;
    dp.extra_sdf = xc.path[0] ? xc.path : NULL;
    if (sdg_mol3d_dataset_load(data, "qm9_conformers", &dp, &d) != SDG_OK) {
        fprintf(stderr, CMD ": %s\n", sdg_errmsg());
        goto cleanup;
    }
    size_t n = 0, with = 0, n_reg = 0, first_extra = d->count - d->n_extra;
    xc.records = (int64_t)d->n_extra;
    mols = malloc((d->count ? d->count : 1) * sizeof *mols);
    P = malloc((d->count ? d->count : 1) * sizeof *P);
    na = malloc((d->count ? d->count : 1) * sizeof *na);
    if (!mols || !P || !na) {
        fprintf(stderr, CMD ": out of memory for %zu molecules\n", d->count);
        goto cleanup;
    }
    for (size_t i = 0; i < d->count; i++) {
        if (d->split[i] != SDG_MOL3D_SPLIT_TRAIN) continue;
        float v = cond ? d->props[i * SDG_QM9_PROP_COUNT + kprop] : NAN;
        if (!isnan(v) && !d->propmolflow_a[i]) {   /* the regressor's part (train regressor3d): never seen here */
            n_reg++;
            continue;
        }
        mols[n] = d->mols[i];
        na[n] = d->mols[i]->n_atoms;
        P[n] = v;
        with += !isnan(P[n]);
        xc.train += i >= first_extra;
        n++;
    }
    printf("qm9_conformers: %zu molecules read in %.1f s (train %zu, val %zu, test %zu); training on the %zu of the "
           "train split (force-field geometries, not DFT)\n",
           d->count, cli_now() - t0, d->n_split[0], d->n_split[1], d->n_split[2], n);
    if (xc.path[0])
        printf("extra conformers: %s, %zu records (after the shipped file's %zu), %lld of them in the training set\n",
               xc.path, d->n_extra, first_extra, (long long)xc.train);
    if (resume && cli_resume_size(CMD, out, m->n_table, n, &was, &xc)) goto cleanup;
    bool new_table = !resume || n != m->n_table;
    m->conformers = xc;
    if (n == 0) {
        fprintf(stderr, CMD ": no training molecules (--max-rows %ld too small?)\n", max_rows);
        goto cleanup;
    }
    if (cond) {
        if (!resume) {
            double s = 0, s2 = 0;
            for (size_t i = 0; i < n; i++)
                if (!isnan(P[i])) s += P[i], s2 += (double)P[i] * P[i];
            if (with < 2) {
                fprintf(stderr, CMD ": --cond %s: fewer than 2 training molecules have a value\n", cond);
                goto cleanup;
            }
            m->cond_mean = s / (double)with;
            m->cond_std = sqrt(fmax(s2 / (double)with - m->cond_mean * m->cond_mean, 1e-12));
        }
        printf("conditioning on %s (%s): %zu of %zu training molecules have a value, mean %.4g, std %.4g; the others "
               "train the unconditional branch\n",
               m->cond, sdg_qm9_prop_unit(kprop), with, n, m->cond_mean, m->cond_std);
        printf("generator part: the %zu valued molecules are in PropMolFlow's train_a; the %zu train-split conformers "
               "with a %s value outside train_a (the property regressor's part) are left out entirely\n",
               with, n_reg, m->cond);
    }
    if (new_table && sdg_mol3d_model_set_table(m, na, cond ? P : NULL, n) != SDG_OK) {
        fprintf(stderr, CMD ": %s\n", sdg_errmsg());
        goto cleanup;
    }
    if (cond)
        for (size_t i = 0; i < n; i++) P[i] = (float)((P[i] - m->cond_mean) / m->cond_std);   /* NaN stays NaN */
    if (resume) {
        if (sdg_flow3d_trainer_resume(out, m, mols, cond ? P : NULL, n, &tr) != SDG_OK) {
            fprintf(stderr, CMD ": --resume: %s\n", sdg_errmsg());
            goto cleanup;
        }
        float lr0 = sdg_flow3d_trainer_params(tr)->lr;
        if (lr > 0 && (float)lr != lr0) {   /* fine-tuning at another learning rate */
            printf("learning rate %g -> %g from epoch %lld on\n", (double)lr0, lr,
                   (long long)sdg_flow3d_trainer_epochs(tr) + 1);
            sdg_flow3d_trainer_set_lr(tr, (float)lr);
        }
    } else {
        sdg_egnn_params np = sdg_egnn_default_params();
        if (hidden) np.hidden = (int)hidden;
        if (layers) np.layers = (int)layers;
        np.pos_velocity = o.pos_output && strcmp(o.pos_output, "velocity") == 0;
        np.conditional = cond != NULL;
        sdg_flow3d_train_params tp = sdg_flow3d_train_default_params();
        if (batch > 0) tp.batch = batch;
        if (lr > 0) tp.lr = (float)lr;
        if (seed >= 0) tp.seed = (uint64_t)seed;
        np.seed = tp.seed;
        tp.loss = m->flow;
        if (sdg_egnn_new(&np, &m->net) != SDG_OK ||
            sdg_flow3d_trainer_new(m->net, mols, cond ? P : NULL, n, &tp, &tr) != SDG_OK) {
            fprintf(stderr, CMD ": %s\n", sdg_errmsg());
            goto cleanup;
        }
    }
    const sdg_egnn_params *np = sdg_egnn_get_params(m->net);
    printf("network: EGNN, hidden %d, edge %d, message %d, %d layers, %lld parameters, position output %s%s%s\n",
           np->hidden, np->edge_hidden, np->message, np->layers,
           (long long)sdg_params_numel(sdg_egnn_params_store(m->net)), np->pos_velocity ? "velocity" : "x0",
           cond ? "; conditioned on " : "", cond ? m->cond : "");
    char lbuf[1100];
    log = cli_train_log_open("train molecules3d", out, log_path, resume,
                             "epoch\tloss\tloss_x\tloss_type\tloss_charge\tloss_bond\tseconds\tmolecules_per_s", lbuf,
                             sizeof lbuf, &log_path);
    if (!log) goto cleanup;
    cli_train_catch_signals();
    int64_t e0 = sdg_flow3d_trainer_epochs(tr);
    const sdg_flow3d_train_params *tp = sdg_flow3d_trainer_params(tr);
    cli_step3d sc = {0, epochs, 0};
    sdg_flow3d_trainer_set_on_step(tr, cli_step3d_show, &sc);
    char tdist[48] = "U(0, 1)";
    if (tp->loss.time_skew != 1) snprintf(tdist, sizeof tdist, "Beta(1, %g)", (double)tp->loss.time_skew);
    printf("training on %zu molecules: %ld epochs (from %lld), batch %lld, lr %g, seed %llu, t ~ %s, positions loss %s, "
           "%d threads -> %s\n",
           n, epochs, (long long)e0, (long long)tp->batch, (double)tp->lr, (unsigned long long)tp->seed, tdist,
           tp->loss.pos_loss_tmin > 0 ? "velocity" : "x0",
           sdg_num_threads(), out);
    fflush(stdout);
    double ts = cli_now();
    bool timed_out = false;
    int64_t steps_per_epoch = (int64_t)((n + (size_t)tp->batch - 1) / (size_t)tp->batch);
    for (int64_t e = e0; e < epochs && !cli_train_stop; e++) {
        if (cli_train_time_up(ts, e, e0, time_limit)) {
            timed_out = true;
            break;
        }
        double te = cli_now(), loss = 0;
        float parts[4];
        sc.epoch = e + 1;
        sc.t0 = te;
        if (sdg_flow3d_trainer_epoch(tr, &loss, parts) != SDG_OK) {
            cli_progress_end();
            fprintf(stderr, CMD ": %s\n", sdg_errmsg());
            goto cleanup;
        }
        double dt = cli_now() - te;
        fprintf(log, "%lld\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\t%.4f\t%.1f\n", (long long)e + 1, loss, parts[0], parts[1],
                parts[2], parts[3], dt, (double)n / (dt > 0 ? dt : 1e-9));
        fflush(log);
        bool ck = ckpt_every > 0 && (e + 1) % ckpt_every == 0 && e + 1 < epochs;
        if (ck && sdg_mol3d_model_save(out, m, tr) != SDG_OK) {
            cli_progress_end();
            fprintf(stderr, CMD ": %s\n", sdg_errmsg());
            goto cleanup;
        }
        if (!cli_progress_enabled()) {
            printf("epoch %lld/%ld loss %.4f (x %.4f, type %.4f, charge %.4f, bond %.4f) %.2f s/step%s\n", (long long)e + 1,
                   epochs, loss, parts[0], parts[1], parts[2], parts[3], dt / (double)steps_per_epoch,
                   ck ? " (checkpoint saved)" : "");
            fflush(stdout);
        }
    }
    cli_progress_end();
    if (sdg_mol3d_model_save(out, m, tr) != SDG_OK) {
        fprintf(stderr, CMD ": %s\n", sdg_errmsg());
        goto cleanup;
    }
    if (cli_train_stop) {
        fprintf(stderr, CMD ": interrupted after epoch %lld; checkpoint saved to %s (continue with --resume)\n",
                (long long)sdg_flow3d_trainer_epochs(tr), out);
        goto cleanup;
    }
    if (timed_out)
        printf("time limit of %g s reached: stopped after epoch %lld of %ld (continue with --resume)\n", time_limit,
               (long long)sdg_flow3d_trainer_epochs(tr), epochs);
    double el = cli_now() - ts;
    int64_t done = sdg_flow3d_trainer_epochs(tr) - e0;
    printf("done: %lld epochs in %.1f s (%.3f s per step); model written to %s, log %s\n",
           (long long)sdg_flow3d_trainer_epochs(tr), el, done > 0 ? el / (double)(done * steps_per_epoch) : 0.0, out,
           log_path);
    rc = 0;
cleanup:
    if (log) fclose(log);
    sdg_flow3d_trainer_free(tr);
    sdg_mol3d_model_free(m);
    sdg_mol3d_dataset_free(d);
    free(mols);
    free(P);
    free(na);
    return rc;
}
