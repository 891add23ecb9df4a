/* sdegen sample MODEL.h5 -n N -o FILE [options]: generates N graphs with a GDSS checkpoint
 * and streams them into a graph file (.txt, .graphml, .h5) chunk by chunk; a molecule model
 * (QM9, ZINC250k) writes molecules instead (sample_mol.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "cli/cli.h"

#define USAGE "usage: sdegen sample MODEL.h5|qm9|zinc250k|perov5|carbon24 -n N -o FILE [--seed S] [--sampler pc|s4|ode] " \
              "[--steps K] [--snr X] [--scale-eps X] [--batch B] [--predictor reverse|euler] " \
              "[--corrector langevin|none] [--ode euler|heun|rk4|rk45] [--weights raw|ema] [--data DIR] " \
              "[--3d] [--resume]"

void cli_rate_show(cli_rate *r, double frac_chunk) {
    double now = cli_now();
    if (now - r->last < 0.25 && frac_chunk < 1.0) return;
    r->last = now;
    size_t chunk = r->n - r->done < r->batch ? r->n - r->done : r->batch;
    double done = (double)r->done + frac_chunk * (double)chunk, el = now - r->t0;
    double rate = el > 0 ? (done - (double)r->start) / el : 0;
    if (rate > 0)
        cli_progress("sample: %.0f / %zu %s, %.2f %s/s, ETA %.0f s", done, r->n, r->noun, rate, r->noun,
                     ((double)r->n - done) / rate);
    else
        cli_progress("sample: %zu / %zu %s", r->done, r->n, r->noun);
}

sdg_status cli_rate_hook(sdg_state *st, double t, sdg_rng *const *rngs, void *params) {
    (void)st;
    (void)rngs;
    cli_rate *r = params;
    double f = (1.0 - t) / (1.0 - r->eps);
    cli_rate_show(r, f < 0 ? 0 : f > 1 ? 1 : f);
    return SDG_OK;
}

typedef struct run {
    cli_rate          rate;
    sdg_graph_writer *w;
} run;

static sdg_status on_chunk(const sdg_graph_list *gl, size_t first, void *ud) {
    run *r = ud;
    (void)first;
    sdg_status st = sdg_graph_writer_append(r->w, gl);
    if (st != SDG_OK) return st;
    r->rate.done += gl->count;
    r->rate.last = 0;
    cli_rate_show(&r->rate, 0);
    return SDG_OK;
}

/* A shipped model name ("qm9") that is not a file: $SDEGEN_MODELS, the installed share
 * directory, then the source tree's data/models. 0 with the path in buf, 1 when arg is a path
 * (or a file), 2 after a one-line error (none when quiet). */
int cli_resolve_model(const char *arg, char *buf, size_t cap, bool quiet) {
    struct stat sb;
    if (stat(arg, &sb) == 0 || strchr(arg, '/') || strchr(arg, '.') || !*arg) return 1;
    const char *env = getenv("SDEGEN_MODELS");
    const char *dirs[3] = {env && *env ? env : NULL, SDEGEN_MODELS_INSTALL_DIR, SDEGEN_MODELS_SOURCE_DIR};
    char looked[1200] = "";
    size_t used = 0;
    for (int k = 0; k < 3; k++) {
        if (!dirs[k]) continue;
        snprintf(buf, cap, "%s/%s.h5", dirs[k], arg);
        if (stat(buf, &sb) == 0 && S_ISREG(sb.st_mode)) return 0;
        int w = snprintf(looked + used, sizeof looked - used, "%s%s", used ? ", " : "", buf);
        if (w > 0 && (size_t)w < sizeof looked - used) used += (size_t)w;
    }
    if (!quiet)
        fprintf(stderr, "sdegen sample: '%s' is neither a file nor a shipped model (looked for %s%s)\n", arg, looked,
                env && *env ? "" : "; SDEGEN_MODELS is not set");
    return 2;
}

static int bad_choice(const char *opt, const char *v, const char *choices) {
    fprintf(stderr, "sdegen sample: option %s: unknown value '%s' (%s)\n", opt, v, choices);
    return 2;
}

void cli_sampler_describe(const sdg_sampler_params *u, char *buf, size_t cap) {
    if (u->type == sdg_sampler_pc)
        snprintf(buf, cap, "pc, predictor %s, corrector %s, %d steps, snr %g, scale_eps %g, eps %g",
                 sdg_predictor_type_name(u->predictor), sdg_corrector_type_name(u->corrector), u->n_steps,
                 (double)u->snr, (double)u->scale_eps, (double)u->eps);
    else if (u->type == sdg_sampler_s4)
        snprintf(buf, cap, "s4, %d steps, snr %g, scale_eps %g, eps %g", u->n_steps, (double)u->snr,
                 (double)u->scale_eps, (double)u->eps);
    else if (u->ode == sdg_ode_rk45)
        snprintf(buf, cap, "ode (rk45, adaptive, atol %g, rtol %g), eps %g", u->atol, u->rtol, (double)u->eps);
    else
        snprintf(buf, cap, "ode (%s), %d steps, eps %g", sdg_ode_type_name(u->ode), u->n_steps, (double)u->eps);
}

int cli_sample(int argc, char **argv) {
    const char *model_path = NULL, *out = NULL, *data_opt = NULL;
    long n = -1, seed = 0, steps = 0, batch = 0;
    sdg_gdss_weights weights = SDG_GDSS_WEIGHTS_DEFAULT;
    double snr = -1, scale_eps = -1;
    bool coords_3d = false, resume = false;
    sdg_gdss_sample_params p = sdg_gdss_sample_default_params();
    /* the model argument, a shipped name resolved once for every family: crystal and 3-D flow
     * models go to their own samplers; a name that is neither a file nor a shipped model is said
     * so before any option complaint */
    const char *marg = cli_sample_model_arg(argc, argv);
    char found[1100];
    int found_rc = marg ? cli_resolve_model(marg, found, sizeof found, true) : 1;
    const char *mpath = found_rc == 0 ? found : marg;
    if (mpath && sdg_crystal_model_probe(mpath)) return cli_sample_crystal(argc, argv, mpath);
    if (mpath && sdg_mol3d_model_probe(mpath)) return cli_sample_mol3d(argc, argv, mpath);
    if (found_rc == 2) return cli_resolve_model(marg, found, sizeof found, false);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "-n") == 0 && has) {
            if (cli_parse_long(argv[++i], "-n", 1, 1000000000L, &n)) return 2;
        } else if (strcmp(a, "-o") == 0 && has) {
            out = argv[++i];
        } else if (strcmp(a, "--seed") == 0 && has) {
            if (cli_parse_long(argv[++i], "--seed", 0, 9223372036854775807L, &seed)) return 2;
        } else if (strcmp(a, "--steps") == 0 && has) {
            if (cli_parse_long(argv[++i], "--steps", 1, 1000000, &steps)) return 2;
        } else if (strcmp(a, "--weights") == 0 && has) {
            const char *w = argv[++i];
            if (strcmp(w, "raw") == 0) weights = SDG_GDSS_WEIGHTS_RAW;
            else if (strcmp(w, "ema") == 0) weights = SDG_GDSS_WEIGHTS_EMA;
            else {
                fprintf(stderr, "sdegen sample: option --weights: '%s' is not raw or ema\n", w);
                return 2;
            }
        } else if (strcmp(a, "--batch") == 0 && has) {
            if (cli_parse_long(argv[++i], "--batch", 1, 1000000, &batch)) return 2;
        } else if (strcmp(a, "--snr") == 0 && has) {
            if (cli_parse_double(argv[++i], "--snr", 0, 1e3, &snr)) return 2;
        } else if (strcmp(a, "--scale-eps") == 0 && has) {
            if (cli_parse_double(argv[++i], "--scale-eps", 0, 1e3, &scale_eps)) return 2;
        } else if (strcmp(a, "--data") == 0 && has) {
            data_opt = argv[++i];
        } else if (strcmp(a, "--3d") == 0) {
            coords_3d = true;
        } else if (strcmp(a, "--resume") == 0) {
            resume = true;
        } else if (strcmp(a, "--sampler") == 0 && has) {
            const char *v = argv[++i];
            if (strcmp(v, "pc") == 0) p.sampler = sdg_sampler_pc;
            else if (strcmp(v, "s4") == 0) p.sampler = sdg_sampler_s4;
            else if (strcmp(v, "ode") == 0) p.sampler = sdg_sampler_ode;
            else return bad_choice(a, v, "pc, s4 or ode");
        } else if (strcmp(a, "--ode") == 0 && has) {
            const char *v = argv[++i];
            if (strcmp(v, "euler") == 0) p.ode = sdg_ode_euler;
            else if (strcmp(v, "heun") == 0) p.ode = sdg_ode_heun;
            else if (strcmp(v, "rk4") == 0) p.ode = sdg_ode_rk4;
            else if (strcmp(v, "rk45") == 0) p.ode = sdg_ode_rk45;
            else return bad_choice(a, v, "euler, heun, rk4 or rk45");
        } else if (strcmp(a, "--predictor") == 0 && has) {
            const char *v = argv[++i];
            if (strcmp(v, "reverse") == 0) p.predictor = sdg_predictor_reverse;
            else if (strcmp(v, "euler") == 0) p.predictor = sdg_predictor_euler;
            else return bad_choice(a, v, "reverse or euler");
        } else if (strcmp(a, "--corrector") == 0 && has) {
            const char *v = argv[++i];
            if (strcmp(v, "langevin") == 0) p.corrector = sdg_corrector_langevin;
            else if (strcmp(v, "none") == 0) p.corrector = sdg_corrector_none;
            else return bad_choice(a, v, "langevin or none");
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "sdegen sample: unknown or incomplete option '%s' (%s)\n", a, USAGE);
            return 2;
        } else if (!model_path) {
            model_path = a;
        } else {
            fprintf(stderr, "sdegen sample: unexpected argument '%s' (one model file expected)\n", a);
            return 2;
        }
    }
    if (!model_path) {
        fprintf(stderr, "sdegen sample: missing the model file (%s)\n", USAGE);
        return 2;
    }
    if (n < 0) {
        fprintf(stderr, "sdegen sample: missing option -n N (number of graphs or molecules)\n");
        return 2;
    }
    if (!out) {
        fprintf(stderr, "sdegen sample: missing option -o FILE (graphs: .txt, .graphml or .h5; molecules: .sdf, "
                ".smi or .h5)\n");
        return 2;
    }
    p.seed = (uint64_t)seed;
    p.n_steps = (int)steps;
    p.batch = (size_t)batch;
    p.snr = snr;
    p.scale_eps = scale_eps;

    int rc = 1;
    sdg_gdss_model *m = NULL;
    sdg_gdss_flags flags = {0};
    run r = {0};
    sdg_gdss_sample_stats stats;
    sdg_sampler_params q;
    const char *flag_src = "the model file";
    size_t n_train = 0;
    memset(&stats, 0, sizeof stats);
    char shipped[1100];
    int res = cli_resolve_model(model_path, shipped, sizeof shipped, false);
    if (res == 2) return 2;
    if (res == 0) model_path = shipped;
    if (sdg_gdss_model_load_weights(model_path, weights, &m) != SDG_OK) {
        fprintf(stderr, "sdegen sample: %s\n", sdg_errmsg());
        goto done;
    }
    const sdg_mol_vocab *vocab = NULL;
    if (sdg_mol_vocab_find(m->settings.dataset, &vocab) == SDG_OK) {
        sdg_error_clear();
        cli_sample_args sa = {.model_path = model_path, .out = out, .data_opt = data_opt, .n = n, .seed = seed,
                              .coords_3d = coords_3d, .resume = resume, .p = p};
        rc = cli_sample_molecules(&sa, m, vocab);
        goto done;
    }
    sdg_error_clear();
    if (cli_has_ext(out, ".sdf") || cli_has_ext(out, ".smi") || coords_3d || resume) {
        fprintf(stderr, "sdegen sample: %s: %s is a graph model (GDSS %s), not a molecule model (QM9, ZINC250k); "
                "it writes .txt, .graphml or .h5 graphs%s\n", out, model_path, m->settings.dataset,
                coords_3d || resume ? " (--3d and --resume are for molecules)" : "");
        rc = 2;
        goto done;
    }
    if (m->flags.count == 0) {   /* README 11: flags of the training graphs */
        const char *data = cli_data_dir(data_opt);
        if (!cli_gdss_dataset(m->settings.dataset)) {
            fprintf(stderr, "sdegen sample: %s has no node-flag table and dataset '%s' has no graph list here\n",
                    model_path, m->settings.dataset);
            goto done;
        }
        if (!data) {
            fprintf(stderr, "sdegen sample: %s has no node-flag table; give --data DIR (or set SDEGEN_DATA) for "
                    "the training graphs of '%s'\n", model_path, m->settings.dataset);
            rc = 2;
            goto done;
        }
        if (cli_gdss_flags_from_data("sample", m, data, &flags, &n_train) != 0) goto done;
        p.flags = &flags;
        flag_src = "the training split in the data directory";
    }
    if (sdg_gdss_sampler_params(m, &p, (size_t)n, &q, &r.rate.batch) != SDG_OK) {
        fprintf(stderr, "sdegen sample: %s\n", sdg_errmsg());
        rc = 2;
        goto done;
    }
    sdg_status ws = sdg_graph_writer_open(out, (size_t)n, &r.w);
    if (ws != SDG_OK) {
        fprintf(stderr, "sdegen sample: option -o: %s\n", sdg_errmsg());
        rc = ws == SDG_ERR_INVALID ? 2 : 1;
        goto done;
    }
    {   /* provenance in the file itself (style rule 19) */
        char desc[256], num[64];
        cli_sampler_describe(&q, desc, sizeof desc);
        const char *keys[] = {"model", "sampler", "seed", "batch", "threads", "command"};
        char seed_s[32], batch_s[32], thr_s[32];
        snprintf(seed_s, sizeof seed_s, "%ld", seed);
        snprintf(batch_s, sizeof batch_s, "%zu", r.rate.batch);
        snprintf(thr_s, sizeof thr_s, "%d", sdg_num_threads());
        snprintf(num, sizeof num, "sdegen sample, %ld graphs", n);
        const char *vals[] = {model_path, desc, seed_s, batch_s, thr_s, num};
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
            if (sdg_graph_writer_note(r.w, keys[k], vals[k]) != SDG_OK) {
                fprintf(stderr, "sdegen sample: %s\n", sdg_errmsg());
                goto done;
            }
    }
    r.rate.noun = "graphs";
    r.rate.n = (size_t)n;
    r.rate.eps = q.eps;
    r.rate.t0 = cli_now();
    p.hook = cli_rate_hook;
    p.hook_params = &r.rate;
    cli_rate_show(&r.rate, 0);
    sdg_status st = sdg_gdss_sample(m, &p, (size_t)n, on_chunk, &r, &stats);
    cli_progress_end();
    if (st != SDG_OK) {
        fprintf(stderr, "sdegen sample: %s (%zu of %ld graphs written to %s.part)\n", sdg_errmsg(), r.rate.done, n, out);
        goto done;
    }
    st = sdg_graph_writer_close(r.w);
    r.w = NULL;
    if (st != SDG_OK) {
        fprintf(stderr, "sdegen sample: %s\n", sdg_errmsg());
        goto done;
    }
    char desc[256];
    cli_sampler_describe(&stats.sampler, desc, sizeof desc);
    printf("wrote %zu graphs to %s\n", stats.graphs, out);
    printf("model: %s (GDSS %s), node flags from %s", model_path, m->settings.dataset, flag_src);
    if (n_train) printf(" (%zu graphs)", n_train);
    printf("\n");
    printf("sampler: %s, batch %zu (%zu graphs sampled), seed %ld, %d threads\n", desc, stats.batch, stats.sampled,
           seed, sdg_num_threads());
    if (stats.weights_ema) printf("weights: EMA\n");
    else if (m->settings.use_ema && weights == SDG_GDSS_WEIGHTS_DEFAULT) printf("weights: raw (the settings ask for EMA; the file has none)\n");
    else printf("weights: raw\n");
    /* bench/graphs.sh reads "wall: S", "speed: S s per 1000 graphs" and "... X GFLOP/s" at a line end */
    printf("wall: %.2f s\n", stats.seconds);
    printf("speed: %.2f s per 1000 graphs\n", stats.graphs ? stats.seconds * 1000.0 / (double)stats.graphs : 0.0);
    printf("network: %ld evaluations (NFE), %.2f GFLOP, %.2f GFLOP/s\n", stats.nfe, stats.flops * 1e-9,
           stats.gflops_per_s);
    printf("memory: %.0f MiB per network pass (batch %zu)\n", (double)stats.peak_bytes / 1048576.0, stats.batch);
    rc = 0;
done:
    sdg_graph_writer_free(r.w);
    sdg_gdss_flags_destroy(&flags);
    sdg_gdss_model_free(m);
    return rc;
}
