/* sdegen train graph|molecule: GDSS training (README section 9) on a generic graph dataset,
 * the user's own graphs, or QM9 / ZINC250k molecules, with a TSV log, periodic atomic
 * checkpoints and exact resumption. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli/cli.h"

volatile sig_atomic_t cli_train_stop = 0;
static void on_signal(int sig) {
    (void)sig;
    cli_train_stop = 1;
}

bool cli_train_time_up(double t_start, int64_t e, int64_t e0, double limit) {
    if (!(limit > 0) || e <= e0) return false;
    double used = cli_now() - t_start;
    return used + used / (double)(e - e0) > limit;
}

void cli_train_catch_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

FILE *cli_train_log_open(const char *cmd, const char *out, const char *log_path, bool resume, const char *header,
                         char *buf, size_t cap, const char **used) {
    if (!log_path) {
        snprintf(buf, cap, "%s.log", out);
        log_path = buf;
    }
    *used = log_path;
    struct stat sb;
    bool fresh = !resume || stat(log_path, &sb) != 0 || sb.st_size == 0;
    FILE *log = fopen(log_path, fresh ? "w" : "a");
    if (!log) {
        fprintf(stderr, "sdegen %s: --log %s: %s\n", cmd, log_path, strerror(errno));
        return NULL;
    }
    if (fresh) fprintf(log, "%s\n", header);
    fflush(log);
    return log;
}

static const char train_usage[] =
    "usage: sdegen train graph --dataset NAME -o MODEL.h5 [--data DIR] [--epochs E] [--batch B]\n"
    "                          [--lr X] [--weight-decay X] [--seed S] [--ckpt-every N] [--resume]\n"
    "                          [--log FILE] [--threads T] [--time-limit SECONDS]\n"
    "       sdegen train graph --graphs FILE -o MODEL.h5 [--dataset PRESET] [--max-nodes N]\n"
    "                          [--features F] [other options as above]\n"
    "  --graphs FILE   train on every graph of FILE (.txt, .graphml or .h5); the architecture and\n"
    "                  sampler are PRESET's (default community_small's) and, without --dataset,\n"
    "                  N = the largest graph and F = the largest degree + 1 unless given\n"
    "  --epochs E      train until E epochs are done (GDSS: 5000); with --resume, in total\n"
    "  --ckpt-every N  save a checkpoint to the -o file every N epochs (0: only at the end)\n"
    "  --time-limit S  stop before an epoch that would end after S seconds of training,\n"
    "                  save, and exit 0 (continue later with --resume)\n"
    "  --log FILE      per-epoch TSV log (default MODEL.h5.log; appended to on --resume)\n"
    "       sdegen train molecule --dataset qm9|zinc250k -o MODEL.h5 [--data DIR] [--epochs E]\n"
    "                          [--max-rows R] [other options as for graphs]\n"
    "  molecules: GDSS's molecule configs (batch 1024, lr 0.005, 1000 epochs, checkpoint every\n"
    "  10 epochs) on the training split (all molecules not in valid_idx); --max-rows R reads\n"
    "  only the dataset's first R rows (for quick trials)\n"
    "       sdegen train crystal --dataset perov_5|carbon_24|mp_20 -o MODEL.h5 [...]   (--help there)\n"
    "       sdegen train molecules3d -o MODEL.h5 [...]                              (--help there)\n"
    "       sdegen train regressor3d --prop PROP -o REG.h5 [...]                    (--help there)\n";

static void fmt_eta(double s, char *buf, size_t cap) {
    if (!(s >= 0) || !isfinite(s)) s = 0;
    long v = (long)(s + 0.5);
    if (v >= 3600) snprintf(buf, cap, "%ldh%02ldm", v / 3600, (v / 60) % 60);
    else snprintf(buf, cap, "%ldm%02lds", v / 60, v % 60);
}

typedef struct train_opts {
    const char *family;                     /* "graph" or "molecule" */
    const char *dataset, *data_opt, *out, *log_path, *graphs;
    long   epochs, batch, seed, ckpt_every, threads, max_nodes, features, max_rows;
    double lr, wd, time_limit;
    bool   resume;
} train_opts;

/* Options shared by both families; returns 0, or the exit code after a one-line message. */
static int parse_opts(int argc, char **argv, train_opts *o) {
    bool mol = strcmp(o->family, "molecule") == 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--resume") == 0) { o->resume = true; continue; }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { fputs(train_usage, stdout); return -1; }
        if (!v) {
            fprintf(stderr, "sdegen train %s: unknown or incomplete option '%s' (see sdegen train --help)\n", o->family, a);
            return 2;
        }
        i++;
        if (strcmp(a, "--dataset") == 0) o->dataset = v;
        else if (strcmp(a, "--data") == 0) o->data_opt = v;
        else if (!mol && strcmp(a, "--graphs") == 0) o->graphs = v;
        else if (!mol && strcmp(a, "--max-nodes") == 0) { if (cli_parse_long(v, a, 2, 100000, &o->max_nodes)) return 2; }
        else if (!mol && strcmp(a, "--features") == 0) { if (cli_parse_long(v, a, 2, 100000, &o->features)) return 2; }
        else if (mol && strcmp(a, "--max-rows") == 0) { if (cli_parse_long(v, a, 1, 100000000L, &o->max_rows)) return 2; }
        else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) o->out = v;
        else if (strcmp(a, "--log") == 0) o->log_path = v;
        else if (strcmp(a, "--epochs") == 0) { if (cli_parse_long(v, a, 0, 100000000L, &o->epochs)) return 2; }
        else if (strcmp(a, "--batch") == 0) { if (cli_parse_long(v, a, 1, 1000000L, &o->batch)) return 2; }
        else if (strcmp(a, "--seed") == 0) { if (cli_parse_long(v, a, 0, 2147483647L, &o->seed)) return 2; }
        else if (strcmp(a, "--ckpt-every") == 0) { if (cli_parse_long(v, a, 0, 100000000L, &o->ckpt_every)) return 2; }
        else if (strcmp(a, "--threads") == 0) { if (cli_parse_long(v, a, 1, 4096, &o->threads)) return 2; }
        else if (strcmp(a, "--lr") == 0) { if (cli_parse_double(v, a, 0, 10, &o->lr)) return 2; }
        else if (strcmp(a, "--weight-decay") == 0) { if (cli_parse_double(v, a, 0, 10, &o->wd)) return 2; }
        else if (strcmp(a, "--time-limit") == 0) { if (cli_parse_double(v, a, 0, 1e9, &o->time_limit)) return 2; }
        else {
            fprintf(stderr, "sdegen train %s: unknown option '%s' (see sdegen train --help)\n", o->family, a);
            return 2;
        }
    }
    if (o->resume && (o->batch >= 0 || o->lr >= 0 || o->wd >= 0 || o->seed >= 0 || o->max_nodes || o->features)) {
        fprintf(stderr, "sdegen train %s: --resume continues with the checkpoint's settings; --batch, --lr, "
                "--weight-decay, --seed, --max-nodes and --features cannot be given with it\n", o->family);
        return 2;
    }
    if (o->threads > 0) sdg_set_num_threads((int)o->threads);
    return 0;
}

/* The data directory, checked to exist; NULL after a one-line message (*rc set). */
static const char *data_dir_checked(const train_opts *o, int *rc) {
    const char *data_dir = cli_data_dir(o->data_opt);
    if (!data_dir) {
        fprintf(stderr, "sdegen train %s: no data directory (give --data DIR or set SDEGEN_DATA)\n", o->family);
        *rc = 2;
        return NULL;
    }
    struct stat dsb;
    errno = 0;
    if (stat(data_dir, &dsb) != 0 || !S_ISDIR(dsb.st_mode)) {
        fprintf(stderr, "sdegen train %s: data directory %s: %s\n", o->family, data_dir,
                errno ? strerror(errno) : "not a directory");
        *rc = 1;
        return NULL;
    }
    return data_dir;
}

/* --resume: the checkpoint must be a training checkpoint of the same dataset. 0 or 1. */
static int resume_check(const train_opts *o, const char *dataset) {
    sdg_meta *meta = NULL;
    const char *ds = NULL;
    int rc = 1;
    if (sdg_meta_new(&meta) != SDG_OK || sdg_checkpoint_read_meta(o->out, meta) != SDG_OK)
        fprintf(stderr, "sdegen train %s: --resume: %s\n", o->family, sdg_errmsg());
    else if (sdg_meta_get_string(meta, "train.dataset", &ds) != SDG_OK)
        fprintf(stderr, "sdegen train %s: --resume: %s is not a GDSS training checkpoint (no train.dataset)\n",
                o->family, o->out);
    else if (strcmp(ds, dataset) != 0)
        fprintf(stderr, "sdegen train %s: --resume: %s was trained on '%s', not '%s'\n", o->family, o->out, ds, dataset);
    else rc = 0;
    sdg_meta_free(meta);
    return rc;
}

/* The epoch loop shared by both families: log, progress, checkpoints, time limit, signals. */
static int train_loop(const train_opts *o, sdg_gdss_trainer *tr, const char *dataset, size_t n_train,
                      const char *unit) {
    int rc = 1;
    FILE *log = NULL;
    char log_buf[4096];
    const char *log_path = NULL;
    char cmd[64];
    sdg_gdss_train_params tp = *sdg_gdss_trainer_params(tr);
    snprintf(cmd, sizeof cmd, "train %s", o->family);
    log = cli_train_log_open(cmd, o->out, o->log_path, o->resume, "epoch\tloss_x\tloss_adj\tlr\tseconds\tsamples_per_s",
                             log_buf, sizeof log_buf, &log_path);
    if (!log) goto cleanup;
    cli_train_catch_signals();

    int64_t e0 = sdg_gdss_trainer_epochs(tr);
    long epochs = o->epochs;
    printf("training GDSS on %s: %zu %s, %ld epochs (from %lld), batch %d, lr %g, weight decay %g, "
           "seed %llu, %d threads -> %s\n",
           dataset, n_train, unit, epochs, (long long)e0, tp.batch, tp.lr, tp.weight_decay,
           (unsigned long long)tp.seed, sdg_num_threads(), o->out);
    fflush(stdout);
    double t_start = cli_now();
    bool timed_out = false;
    for (int64_t e = e0; e < epochs && !cli_train_stop; e++) {
        sdg_gdss_epoch_stats s;
        if (cli_train_time_up(t_start, e, e0, o->time_limit)) {
            timed_out = true;
            break;
        }
        double t0 = cli_now();
        if (sdg_gdss_trainer_epoch(tr, &s) != SDG_OK) {
            cli_progress_end();
            fprintf(stderr, "sdegen train %s: %s\n", o->family, sdg_errmsg());
            goto cleanup;
        }
        double dt = cli_now() - t0, sps = (double)s.graphs / (dt > 0 ? dt : 1e-9);
        fprintf(log, "%lld\t%.6g\t%.6g\t%.6g\t%.4f\t%.1f\n", (long long)e + 1, s.loss_x, s.loss_adj, s.lr, dt, sps);
        fflush(log);
        double per = (cli_now() - t_start) / (double)(e + 1 - e0);
        char eta[32];
        fmt_eta(per * (double)(epochs - e - 1), eta, sizeof eta);
        cli_progress("epoch %lld/%ld  loss_x %.4f  loss_adj %.4f  %.0f samples/s  ETA %s", (long long)e + 1,
                     epochs, s.loss_x, s.loss_adj, sps, eta);
        bool last = e + 1 == epochs;
        if (o->ckpt_every > 0 && (e + 1) % o->ckpt_every == 0 && !last) {
            if (sdg_gdss_train_save(o->out, tr, dataset) != SDG_OK) {
                cli_progress_end();
                fprintf(stderr, "sdegen train %s: %s\n", o->family, sdg_errmsg());
                goto cleanup;
            }
            if (!cli_progress_enabled()) {
                printf("epoch %lld/%ld loss_x %.4f loss_adj %.4f lr %.3g %.3f s/epoch ETA %s (checkpoint saved)\n",
                       (long long)e + 1, epochs, s.loss_x, s.loss_adj, s.lr, per, eta);
                fflush(stdout);
            }
        }
    }
    cli_progress_end();
    if (sdg_gdss_train_save(o->out, tr, dataset) != SDG_OK) {
        fprintf(stderr, "sdegen train %s: %s\n", o->family, sdg_errmsg());
        goto cleanup;
    }
    if (cli_train_stop) {
        fprintf(stderr, "sdegen train %s: interrupted after epoch %lld; checkpoint saved to %s (continue with --resume)\n",
                o->family, (long long)sdg_gdss_trainer_epochs(tr), o->out);
        goto cleanup;
    }
    if (timed_out)
        printf("time limit of %g s reached: stopped after epoch %lld of %ld (continue with --resume)\n", o->time_limit,
               (long long)sdg_gdss_trainer_epochs(tr), epochs);
    printf("done: %lld epochs in %.1f s; model written to %s, log %s\n", (long long)sdg_gdss_trainer_epochs(tr),
           cli_now() - t_start, o->out, log_path);
    rc = 0;
cleanup:
    if (log) fclose(log);
    return rc;
}

/* Fresh-start settings from the options (those not given keep the preset's). */
static void apply_opts(const train_opts *o, sdg_gdss_train_params *tp) {
    if (o->batch > 0) tp->batch = (int)o->batch;
    if (o->lr >= 0) tp->lr = o->lr;
    if (o->wd >= 0) tp->weight_decay = o->wd;
    if (o->seed >= 0) tp->seed = (uint64_t)o->seed;
}

static int train_graph(int argc, char **argv) {
    train_opts o = {.family = "graph", .epochs = 5000, .batch = -1, .seed = -1, .ckpt_every = 100,
                    .lr = -1, .wd = -1};
    char source[512];
    int rc = 1;
    const char *dataset;
    sdg_graph_list *train = NULL;
    sdg_gdss_model *model = NULL;
    sdg_gdss_trainer *tr = NULL;
    sdg_rng *init_rng = NULL;
    if ((rc = parse_opts(argc, argv, &o)) != 0) return rc < 0 ? 0 : rc;
    rc = 1;
    if ((!o.dataset && !o.graphs) || !o.out) {
        fprintf(stderr, "sdegen train graph: %s is required (see sdegen train --help)\n",
                o.out ? "--dataset NAME or --graphs FILE" : "-o MODEL.h5");
        return 2;
    }
    dataset = o.dataset;
    sdg_gdss_params hx, ha;
    sdg_gdss_settings settings;
    sdg_gdss_train_params tp;
    if (sdg_gdss_preset(dataset ? dataset : "community_small", &hx, &ha, &settings, &tp) != SDG_OK ||
        (dataset && (strcmp(dataset, "qm9") == 0 || strcmp(dataset, "zinc250k") == 0))) {
        fprintf(stderr, "sdegen train graph: --dataset: unknown dataset '%s' (community_small, ego_small, enzymes, "
                "grid; molecules: sdegen train molecule)\n", dataset);
        return 2;
    }
    if (o.graphs) {   /* the user's own graphs: the whole file trains */
        if (sdg_graph_file_read(o.graphs, &train) != SDG_OK) {
            fprintf(stderr, "sdegen train graph: %s\n", sdg_errmsg());
            goto cleanup;
        }
        int64_t nmax = 0, dmax = 0;
        size_t  worst_n = 0, worst_d = 0;
        for (size_t g = 0; g < train->count; g++) {
            const sdg_graph *gr = &train->graphs[g];
            size_t need = 0;   /* max degree + 1: a size query (cap 0), so its status is not an error */
            (void)sdg_graph_degree_histogram(gr, NULL, 0, &need);
            int64_t big = need ? (int64_t)need - 1 : 0;
            if (gr->n > nmax) { nmax = gr->n; worst_n = g; }
            if (big > dmax) { dmax = big; worst_d = g; }
        }
        if (!dataset) {   /* sizes from the data unless given */
            hx.N = ha.N = o.max_nodes ? o.max_nodes : (nmax > 2 ? nmax : 2);
            hx.F = ha.F = o.features ? o.features : dmax + 1 > 2 ? dmax + 1 : 2;
        } else {
            if (o.max_nodes) hx.N = ha.N = o.max_nodes;
            if (o.features) hx.F = ha.F = o.features;
        }
        if (nmax > ha.N) {
            fprintf(stderr, "sdegen train graph: %s: graph %zu has %lld nodes, more than the model's %lld (--max-nodes)\n",
                    o.graphs, worst_n, (long long)nmax, (long long)ha.N);
            goto cleanup;
        }
        if (dmax >= ha.F) {
            fprintf(stderr, "sdegen train graph: %s: graph %zu has a node of degree %lld; the model's %lld degree "
                    "features hold degrees below %lld (--features)\n", o.graphs, worst_d, (long long)dmax, (long long)ha.F,
                    (long long)ha.F);
            goto cleanup;
        }
        snprintf(settings.dataset, sizeof settings.dataset, "custom");
        snprintf(source, sizeof source, "graphs:%s", o.graphs);
        dataset = source;
    } else {
        const char *data_dir = data_dir_checked(&o, &rc);
        if (!data_dir) return rc;
        if (o.max_nodes || o.features) {
            fprintf(stderr, "sdegen train graph: --max-nodes and --features go with --graphs FILE; "
                            "the named datasets use GDSS's sizes\n");
            return 2;
        }
        if (sdg_graph_dataset_load(data_dir, dataset, &train, NULL) != SDG_OK) {
            fprintf(stderr, "sdegen train graph: %s\n", sdg_errmsg());
            goto cleanup;
        }
    }
    if (o.resume) {
        if (resume_check(&o, dataset)) goto cleanup;
        if (sdg_gdss_train_resume(o.out, train, &model, &tr) != SDG_OK) {
            fprintf(stderr, "sdegen train graph: --resume: %s\n", sdg_errmsg());
            goto cleanup;
        }
    } else {
        apply_opts(&o, &tp);
        if (sdg_rng_stream(tp.seed, 0, &init_rng) != SDG_OK ||
            sdg_gdss_model_new(&hx, &ha, &settings, init_rng, &model) != SDG_OK ||
            sdg_gdss_flags_from_graphs(train, ha.N, &model->flags) != SDG_OK ||
            sdg_gdss_trainer_new(model, train, &tp, &tr) != SDG_OK) {
            fprintf(stderr, "sdegen train graph: %s\n", sdg_errmsg());
            goto cleanup;
        }
    }
    rc = train_loop(&o, tr, dataset, train->count, "graphs");
cleanup:
    sdg_rng_free(init_rng);
    sdg_gdss_trainer_free(tr);
    sdg_gdss_model_free(model);
    sdg_graph_list_free(train);
    return rc;
}

static int train_molecule(int argc, char **argv) {
    train_opts o = {.family = "molecule", .epochs = 1000, .batch = -1, .seed = -1, .ckpt_every = 10,
                    .lr = -1, .wd = -1};
    int rc = 1;
    sdg_mol_dataset *ds = NULL;
    float *X = NULL, *A = NULL;
    sdg_gdss_model *model = NULL;
    sdg_gdss_trainer *tr = NULL;
    sdg_rng *init_rng = NULL;
    if ((rc = parse_opts(argc, argv, &o)) != 0) return rc < 0 ? 0 : rc;
    rc = 1;
    if (!o.dataset || !o.out) {
        fprintf(stderr, "sdegen train molecule: %s is required (see sdegen train --help)\n",
                o.out ? "--dataset qm9|zinc250k" : "-o MODEL.h5");
        return 2;
    }
    const sdg_mol_vocab *vocab = NULL;
    sdg_gdss_params hx, ha;
    sdg_gdss_settings settings;
    sdg_gdss_train_params tp;
    if (sdg_mol_vocab_find(o.dataset, &vocab) != SDG_OK ||
        sdg_gdss_preset(o.dataset, &hx, &ha, &settings, &tp) != SDG_OK) {
        fprintf(stderr, "sdegen train molecule: --dataset: unknown dataset '%s' (qm9, zinc250k)\n", o.dataset);
        return 2;
    }
    const char *data_dir = data_dir_checked(&o, &rc);
    if (!data_dir) return rc;
    if (o.resume && resume_check(&o, o.dataset)) goto cleanup;
    sdg_mol_dataset_params dp = sdg_mol_dataset_default_params();
    dp.max_rows = (size_t)(o.max_rows > 0 ? o.max_rows : 0);
    double t0 = cli_now();
    if (sdg_mol_dataset_load(data_dir, o.dataset, &dp, &ds) != SDG_OK) {
        fprintf(stderr, "sdegen train molecule: %s\n", sdg_errmsg());
        goto cleanup;
    }
    printf("%s: %zu rows%s, read in %.1f s: %zu molecules (%zu training, %zu test); %zu rows rejected as "
           "malformed, %zu with more than %lld heavy atoms or atoms outside the vocabulary\n",
           o.dataset, ds->n_rows, dp.max_rows ? " (only the first --max-rows parsed)" : "", cli_now() - t0, ds->count,
           ds->n_train, ds->n_test, ds->n_malformed, ds->n_too_large, (long long)vocab->N);
    if (ds->n_train == 0) {
        fprintf(stderr, "sdegen train molecule: %s: no training molecules\n", o.dataset);
        goto cleanup;
    }
    const int64_t G = (int64_t)ds->n_train, N = vocab->N, F = vocab->F;
    X = malloc((size_t)(G * N * F) * sizeof *X);
    A = malloc((size_t)(G * N * N) * sizeof *A);
    if (!X || !A) {
        fprintf(stderr, "sdegen train molecule: out of memory for %lld molecules\n", (long long)G);
        goto cleanup;
    }
    if (sdg_mol_dataset_dense(ds, ds->train, ds->n_train, X, A) != SDG_OK) {
        fprintf(stderr, "sdegen train molecule: %s\n", sdg_errmsg());
        goto cleanup;
    }
    size_t n_train = ds->n_train;
    sdg_mol_dataset_free(ds);   /* the dense arrays are all training needs */
    ds = NULL;
    sdg_gdss_data data = {.G = G, .X = X, .A = A, .flags = NULL};
    if (o.resume) {
        if (sdg_gdss_train_resume_dense(o.out, &data, &model, &tr) != SDG_OK) {
            fprintf(stderr, "sdegen train molecule: --resume: %s\n", sdg_errmsg());
            goto cleanup;
        }
    } else {
        apply_opts(&o, &tp);
        int64_t g = 0, n = 0;
        const float *flags = NULL;
        if (sdg_rng_stream(tp.seed, 0, &init_rng) != SDG_OK ||
            sdg_gdss_model_new(&hx, &ha, &settings, init_rng, &model) != SDG_OK ||
            sdg_gdss_trainer_new_dense(model, &data, &tp, &tr) != SDG_OK ||
            !(flags = sdg_gdss_trainer_flags(tr, &g, &n)) ||
            sdg_gdss_flags_from_dense(flags, (size_t)g, n, &model->flags) != SDG_OK) {
            fprintf(stderr, "sdegen train molecule: %s\n", sdg_errmsg());
            goto cleanup;
        }
    }
    rc = train_loop(&o, tr, o.dataset, n_train, "training molecules");
cleanup:
    sdg_rng_free(init_rng);
    sdg_gdss_trainer_free(tr);
    sdg_gdss_model_free(model);
    free(X);
    free(A);
    sdg_mol_dataset_free(ds);
    return rc;
}

int cli_train(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(train_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "graph") == 0) return train_graph(argc - 1, argv + 1);
    if (strcmp(argv[1], "molecule") == 0) return train_molecule(argc - 1, argv + 1);
    if (strcmp(argv[1], "crystal") == 0) return cli_train_crystal(argc - 1, argv + 1);
    if (strcmp(argv[1], "molecules3d") == 0) return cli_train_molecules3d(argc - 1, argv + 1);
    if (strcmp(argv[1], "regressor3d") == 0) return cli_train_regressor3d(argc - 1, argv + 1);
    fprintf(stderr, "sdegen train: unknown model family '%s' (graph, molecule, crystal, molecules3d, regressor3d)\n",
            argv[1]);
    return 2;
}
