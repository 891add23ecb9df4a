/* sdegen train graph: GDSS training on a generic graph dataset (README section 9), with a
 * TSV log, periodic atomic checkpoints and exact resumption. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli/cli.h"

static volatile sig_atomic_t train_stop = 0;
static void on_signal(int sig) {
    (void)sig;
    train_stop = 1;
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
    "  --log FILE      per-epoch TSV log (default MODEL.h5.log; appended to on --resume)\n";

static void fmt_eta(double s, char *buf, size_t cap) {
    if (!(s >= 0) || !isfinite(s)) s = 0;
    long v = (long)(s + 0.5);
    if (v >= 3600) snprintf(buf, cap, "%ldh%02ldm", v / 3600, (v / 60) % 60);
    else snprintf(buf, cap, "%ldm%02lds", v / 60, v % 60);
}

static int train_graph(int argc, char **argv) {
    const char *dataset = NULL, *data_opt = NULL, *out = NULL, *log_path = NULL, *graphs = NULL;
    long epochs = 5000, batch = -1, seed = -1, ckpt_every = 100, threads = 0, max_nodes = 0, features = 0;
    char source[512];
    double lr = -1, wd = -1, time_limit = 0;
    bool resume = false;
    int rc = 1;
    sdg_graph_list *train = NULL;
    sdg_gdss_model *model = NULL;
    sdg_gdss_trainer *tr = NULL;
    sdg_rng *init_rng = NULL;
    sdg_meta *meta = NULL;
    FILE *log = NULL;
    char log_buf[4096];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--resume") == 0) { resume = true; continue; }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { fputs(train_usage, stdout); return 0; }
        if (!v) {
            fprintf(stderr, "sdegen train graph: unknown or incomplete option '%s' (see sdegen train --help)\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--dataset") == 0) dataset = v;
        else if (strcmp(a, "--data") == 0) data_opt = v;
        else if (strcmp(a, "--graphs") == 0) graphs = v;
        else if (strcmp(a, "--max-nodes") == 0) { if (cli_parse_long(v, a, 2, 100000, &max_nodes)) return 2; }
        else if (strcmp(a, "--features") == 0) { if (cli_parse_long(v, a, 2, 100000, &features)) return 2; }
        else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) out = v;
        else if (strcmp(a, "--log") == 0) log_path = v;
        else if (strcmp(a, "--epochs") == 0) { if (cli_parse_long(v, a, 0, 100000000L, &epochs)) return 2; }
        else if (strcmp(a, "--batch") == 0) { if (cli_parse_long(v, a, 1, 1000000L, &batch)) return 2; }
        else if (strcmp(a, "--seed") == 0) { if (cli_parse_long(v, a, 0, 2147483647L, &seed)) return 2; }
        else if (strcmp(a, "--ckpt-every") == 0) { if (cli_parse_long(v, a, 0, 100000000L, &ckpt_every)) return 2; }
        else if (strcmp(a, "--threads") == 0) { if (cli_parse_long(v, a, 1, 4096, &threads)) return 2; }
        else if (strcmp(a, "--lr") == 0) { if (cli_parse_double(v, a, 0, 10, &lr)) return 2; }
        else if (strcmp(a, "--weight-decay") == 0) { if (cli_parse_double(v, a, 0, 10, &wd)) return 2; }
        else if (strcmp(a, "--time-limit") == 0) { if (cli_parse_double(v, a, 0, 1e9, &time_limit)) return 2; }
        else {
            fprintf(stderr, "sdegen train graph: unknown option '%s' (see sdegen train --help)\n", a);
            return 2;
        }
    }
    if ((!dataset && !graphs) || !out) {
        fprintf(stderr, "sdegen train graph: %s is required (see sdegen train --help)\n",
                out ? "--dataset NAME or --graphs FILE" : "-o MODEL.h5");
        return 2;
    }
    sdg_gdss_params hx, ha;
    sdg_gdss_settings settings;
    sdg_gdss_train_params tp;
    if (sdg_gdss_preset(dataset ? dataset : "community_small", &hx, &ha, &settings, &tp) != SDG_OK) {
        fprintf(stderr, "sdegen train graph: --dataset: unknown dataset '%s' (community_small, ego_small, enzymes, grid)\n", dataset);
        return 2;
    }
    if (resume && (batch >= 0 || lr >= 0 || wd >= 0 || seed >= 0 || max_nodes || features)) {
        fprintf(stderr, "sdegen train graph: --resume continues with the checkpoint's settings; "
                        "--batch, --lr, --weight-decay, --seed, --max-nodes and --features cannot be given with it\n");
        return 2;
    }
    if (threads > 0) sdg_set_num_threads((int)threads);
    if (graphs) {   /* the user's own graphs: the whole file trains */
        if (sdg_graph_file_read(graphs, &train) != SDG_OK) {
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
            hx.N = ha.N = max_nodes ? max_nodes : (nmax > 2 ? nmax : 2);
            hx.F = ha.F = features ? features : dmax + 1 > 2 ? dmax + 1 : 2;
        } else {
            if (max_nodes) hx.N = ha.N = max_nodes;
            if (features) hx.F = ha.F = features;
        }
        if (nmax > ha.N) {
            fprintf(stderr, "sdegen train graph: %s: graph %zu has %lld nodes, more than the model's %lld (--max-nodes)\n",
                    graphs, worst_n, (long long)nmax, (long long)ha.N);
            rc = 1;
            goto cleanup;
        }
        if (dmax >= ha.F) {
            fprintf(stderr, "sdegen train graph: %s: graph %zu has a node of degree %lld; the model's %lld degree "
                    "features hold degrees below %lld (--features)\n", graphs, worst_d, (long long)dmax, (long long)ha.F,
                    (long long)ha.F);
            rc = 1;
            goto cleanup;
        }
        snprintf(settings.dataset, sizeof settings.dataset, "custom");
        snprintf(source, sizeof source, "graphs:%s", graphs);
        dataset = source;
    } else {
        const char *data_dir = cli_data_dir(data_opt);
        if (!data_dir) {
            fprintf(stderr, "sdegen train graph: no data directory (give --data DIR or set SDEGEN_DATA)\n");
            return 2;
        }
        struct stat dsb;
        errno = 0;
        if (stat(data_dir, &dsb) != 0 || !S_ISDIR(dsb.st_mode)) {
            fprintf(stderr, "sdegen train graph: data directory %s: %s\n", data_dir,
                    errno ? strerror(errno) : "not a directory");
            return 1;
        }
        if (max_nodes || features) {
            fprintf(stderr, "sdegen train graph: --max-nodes and --features go with --graphs FILE; "
                            "the named datasets use GDSS's sizes\n");
            return 2;
        }
        if (sdg_graph_dataset_load(data_dir, dataset, &train, NULL) != SDG_OK) {
            fprintf(stderr, "sdegen train graph: %s\n", sdg_errmsg());
            goto cleanup;
        }
    }
    if (resume) {
        const char *ds = NULL;
        if (sdg_meta_new(&meta) != SDG_OK || sdg_checkpoint_read_meta(out, meta) != SDG_OK) {
            fprintf(stderr, "sdegen train graph: --resume: %s\n", sdg_errmsg());
            goto cleanup;
        }
        if (sdg_meta_get_string(meta, "train.dataset", &ds) != SDG_OK) {
            fprintf(stderr, "sdegen train graph: --resume: %s is not a GDSS training checkpoint (no train.dataset)\n", out);
            goto cleanup;
        }
        if (strcmp(ds, dataset) != 0) {
            fprintf(stderr, "sdegen train graph: --resume: %s was trained on '%s', not '%s'\n", out, ds, dataset);
            goto cleanup;
        }
        if (sdg_gdss_train_resume(out, train, &model, &tr) != SDG_OK) {
            fprintf(stderr, "sdegen train graph: --resume: %s\n", sdg_errmsg());
            goto cleanup;
        }
    } else {
        if (batch > 0) tp.batch = (int)batch;
        if (lr >= 0) tp.lr = lr;
        if (wd >= 0) tp.weight_decay = wd;
        if (seed >= 0) tp.seed = (uint64_t)seed;
        if (sdg_rng_stream(tp.seed, 0, &init_rng) != SDG_OK ||
            sdg_gdss_model_new(&hx, &ha, &settings, init_rng, &model) != SDG_OK ||
            sdg_gdss_flags_from_graphs(train, ha.N, &model->flags) != SDG_OK ||
            sdg_gdss_trainer_new(model, train, &tp, &tr) != SDG_OK) {
            fprintf(stderr, "sdegen train graph: %s\n", sdg_errmsg());
            goto cleanup;
        }
    }
    tp = *sdg_gdss_trainer_params(tr);

    /* the log: a TSV with a header line; appended to when resuming */
    if (!log_path) {
        snprintf(log_buf, sizeof log_buf, "%s.log", out);
        log_path = log_buf;
    }
    struct stat sb;
    bool fresh = !resume || stat(log_path, &sb) != 0 || sb.st_size == 0;
    log = fopen(log_path, fresh ? "w" : "a");
    if (!log) {
        fprintf(stderr, "sdegen train graph: --log %s: %s\n", log_path, strerror(errno));
        goto cleanup;
    }
    if (fresh) fprintf(log, "epoch\tloss_x\tloss_adj\tlr\tseconds\tsamples_per_s\n");
    fflush(log);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int64_t e0 = sdg_gdss_trainer_epochs(tr);
    printf("training GDSS on %s: %zu graphs, %lld epochs (from %lld), batch %d, lr %g, weight decay %g, "
           "seed %llu, %d threads -> %s\n",
           dataset, train->count, (long long)epochs, (long long)e0, tp.batch, tp.lr, tp.weight_decay,
           (unsigned long long)tp.seed, sdg_num_threads(), out);
    fflush(stdout);
    double t_start = cli_now();
    bool timed_out = false;
    for (int64_t e = e0; e < epochs && !train_stop; e++) {
        sdg_gdss_epoch_stats s;
        if (time_limit > 0 && e > e0) {
            double used = cli_now() - t_start, per = used / (double)(e - e0);
            if (used + per > time_limit) {
                timed_out = true;
                break;
            }
        }
        double t0 = cli_now();
        if (sdg_gdss_trainer_epoch(tr, &s) != SDG_OK) {
            cli_progress_end();
            fprintf(stderr, "sdegen train graph: %s\n", sdg_errmsg());
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
        if (ckpt_every > 0 && (e + 1) % ckpt_every == 0 && !last) {
            if (sdg_gdss_train_save(out, tr, dataset) != SDG_OK) {
                cli_progress_end();
                fprintf(stderr, "sdegen train graph: %s\n", sdg_errmsg());
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
    if (sdg_gdss_train_save(out, tr, dataset) != SDG_OK) {
        fprintf(stderr, "sdegen train graph: %s\n", sdg_errmsg());
        goto cleanup;
    }
    if (train_stop) {
        fprintf(stderr, "sdegen train graph: interrupted after epoch %lld; checkpoint saved to %s (continue with --resume)\n",
                (long long)sdg_gdss_trainer_epochs(tr), out);
        goto cleanup;
    }
    if (timed_out)
        printf("time limit of %g s reached: stopped after epoch %lld of %ld (continue with --resume)\n", time_limit,
               (long long)sdg_gdss_trainer_epochs(tr), epochs);
    printf("done: %lld epochs in %.1f s; model written to %s, log %s\n", (long long)sdg_gdss_trainer_epochs(tr),
           cli_now() - t_start, out, log_path);
    rc = 0;
cleanup:
    if (log) fclose(log);
    sdg_meta_free(meta);
    sdg_rng_free(init_rng);
    sdg_gdss_trainer_free(tr);
    sdg_gdss_model_free(model);
    sdg_graph_list_free(train);
    return rc;
}

int cli_train(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(train_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "graph") == 0) return train_graph(argc - 1, argv + 1);
    fprintf(stderr, "sdegen train: unknown model family '%s' (graph)\n", argv[1]);
    return 2;
}
