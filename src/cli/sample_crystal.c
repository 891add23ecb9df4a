/* sdegen sample with a crystal model (docs/crystals.md "Sampling"): matrices sampled in chunks
 * (EDM Heun by default, or VE PC / probability-flow ODE on the same denoiser), unscaled and
 * decoded, space group by spglib, structural/compositional validity, written as one CIF per
 * crystal plus summary.tsv (-o DIR/), one multi-block CIF (-o FILE.cif) or an sdegen-crystals
 * .h5 (resumable), then a summary. Crystal i draws only from stream (seed, i). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli/cli.h"

#define CUSAGE "usage: sdegen sample MODEL.h5|perov5|carbon24 -n N -o DIR/|FILE.cif|FILE.h5 [--seed S] " \
               "[--sampler edm|pc|ode] [--steps K] [--batch B] [--symprec X] [--symmetrize] " \
               "[--cond PROP=VALUE --guidance W] [--weights raw|ema] [--churn S] [--vocab-decode] [--resume]"

typedef enum { OUT_DIR, OUT_CIF, OUT_H5 } out_kind;

bool cli_sample_takes_value(const char *a) {
    static const char *const v[] = {"-n", "-o", "--seed", "--steps", "--weights", "--batch", "--snr", "--scale-eps",
                                    "--data", "--sampler", "--ode", "--predictor", "--corrector", "--symprec",
                                    "--cond", "--guidance", "--threads", "--churn", "--sde-noise", "--sde-tmax",
                                    "--pos-sde-noise", "--pos-sde-tmax", NULL};
    for (int k = 0; v[k]; k++)
        if (strcmp(a, v[k]) == 0) return true;
    return false;
}

const char *cli_sample_model_arg(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            if (cli_sample_takes_value(argv[i])) i++;
            continue;
        }
        return argv[i];
    }
    return NULL;
}

typedef struct tally {
    size_t n, undecodable, projected, foreign, structural, compositional, valid, sg_none;
    int64_t sg[231];
    char    first_reason[256];
} tally;

/* order[0..k) = the k most frequent space groups (ties: lower number first). */
static void top_groups(const int64_t sg[231], int *order, int k) {
    bool used[231] = {false};
    for (int j = 0; j < k; j++) {
        int best = 1;
        while (best <= 230 && used[best]) best++;
        for (int g = 1; g <= 230; g++)
            if (!used[g] && sg[g] > sg[best]) best = g;
        order[j] = best;
        used[best] = true;
    }
}

int cli_sample_crystal(int argc, char **argv, const char *model_path) {
    const char *out = NULL, *cond_arg = NULL, *weights = "ema", *sampler = "edm";
    long n = -1, seed = 0, steps = 0, batch = 100, threads = 0;
    double symprec = 0.1, guidance = -1, churn = 40;
    bool symmetrize = false, resume = false, vocab_decode = false, churn_set = false;
    int rc = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (strcmp(a, "-n") == 0 && has) { if (cli_parse_long(argv[++i], "-n", 1, 1000000000L, &n)) return 2; }
        else if (strcmp(a, "-o") == 0 && has) out = argv[++i];
        else if (strcmp(a, "--seed") == 0 && has) { if (cli_parse_long(argv[++i], a, 0, 9223372036854775807L, &seed)) return 2; }
        else if (strcmp(a, "--steps") == 0 && has) { if (cli_parse_long(argv[++i], a, 1, 100000, &steps)) return 2; }
        else if (strcmp(a, "--batch") == 0 && has) { if (cli_parse_long(argv[++i], a, 1, 100000, &batch)) return 2; }
        else if (strcmp(a, "--threads") == 0 && has) { if (cli_parse_long(argv[++i], a, 1, 4096, &threads)) return 2; }
        else if (strcmp(a, "--symprec") == 0 && has) { if (cli_parse_double(argv[++i], a, 1e-6, 10, &symprec)) return 2; }
        else if (strcmp(a, "--churn") == 0 && has) {
            if (cli_parse_double(argv[++i], a, 0, 1000, &churn)) return 2;
            churn_set = true;
        }
        else if (strcmp(a, "--guidance") == 0 && has) { if (cli_parse_double(argv[++i], a, 0, 100, &guidance)) return 2; }
        else if (strcmp(a, "--cond") == 0 && has) cond_arg = argv[++i];
        else if (strcmp(a, "--weights") == 0 && has) weights = argv[++i];
        else if (strcmp(a, "--sampler") == 0 && has) sampler = argv[++i];
        else if (strcmp(a, "--symmetrize") == 0) symmetrize = true;
        else if (strcmp(a, "--vocab-decode") == 0) vocab_decode = true;
        else if (strcmp(a, "--resume") == 0) resume = true;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "sdegen sample: unknown or incomplete option '%s' for a crystal model (%s)\n", a, CUSAGE);
            return 2;
        }
    }
    if (n < 0 || !out) {
        fprintf(stderr, "sdegen sample: missing option %s (%s)\n", n < 0 ? "-n N" : "-o DIR/|FILE.cif|FILE.h5", CUSAGE);
        return 2;
    }
    if (strcmp(weights, "ema") && strcmp(weights, "raw")) {
        fprintf(stderr, "sdegen sample: option --weights: '%s' is not raw or ema\n", weights);
        return 2;
    }
    if (churn_set && strcmp(sampler, "edm")) {
        fprintf(stderr, "sdegen sample: option --churn: only the edm sampler has churn (not %s)\n", sampler);
        return 2;
    }
    if (strcmp(sampler, "edm") && strcmp(sampler, "pc") && strcmp(sampler, "ode")) {
        fprintf(stderr, "sdegen sample: option --sampler: unknown value '%s' for a crystal model (edm, pc or ode)\n", sampler);
        return 2;
    }
    size_t ol = strlen(out);
    out_kind kind = cli_has_ext(out, ".h5") ? OUT_H5 : cli_has_ext(out, ".cif") ? OUT_CIF : OUT_DIR;
    if (kind == OUT_DIR && ol && out[ol - 1] != '/') {
        struct stat sb;
        if (stat(out, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "sdegen sample: -o %s: give a directory (ending in /), a .cif or a .h5 file\n", out);
            return 2;
        }
    }
    if (resume && kind != OUT_H5) {
        fprintf(stderr, "sdegen sample: --resume continues an .h5 crystal file only\n");
        return 2;
    }
    if (threads > 0) sdg_set_num_threads((int)threads);

    sdg_crystal_model *m = NULL;
    sdg_element_table *et = NULL;
    sdg_crystal_writer *w = NULL;
    sdg_sampler *smp = NULL;
    sdg_ctx *ctx = NULL;
    FILE *cif = NULL, *tsv = NULL;
    float *x = NULL, *condv = NULL;
    double *M = NULL;
    sdg_crystal **cs = NULL;
    sdg_crystal_record *recs = NULL;
    char **reasons = NULL;
    sdg_spacegroup *sgs = NULL;
    tally t;
    memset(&t, 0, sizeof t);
    if (sdg_crystal_model_load(model_path, strcmp(weights, "ema") == 0, &m) != SDG_OK) {
        fprintf(stderr, "sdegen sample: %s\n", sdg_errmsg());
        return 1;
    }
    double cond_value = NAN;
    char cond_desc[160] = "";
    if (cond_arg) {
        const char *eq = strchr(cond_arg, '=');
        if (!m->cond[0]) {
            fprintf(stderr, "sdegen sample: --cond: %s is an unconditioned model (train with --cond PROP)\n", model_path);
            goto cleanup;
        }
        if (!eq || (size_t)(eq - cond_arg) != strlen(m->cond) || strncmp(cond_arg, m->cond, strlen(m->cond)) != 0 ||
            cli_parse_double(eq + 1, "--cond", -1e9, 1e9, &cond_value)) {
            fprintf(stderr, "sdegen sample: --cond: expected %s=VALUE (the model's property)\n", m->cond);
            goto cleanup;
        }
        if (guidance < 0) guidance = 1.0;
        snprintf(cond_desc, sizeof cond_desc, "%s=%g (guidance %g)", m->cond, cond_value, guidance);
    } else if (guidance >= 0) {
        fprintf(stderr, "sdegen sample: --guidance needs --cond PROP=VALUE%s\n",
                m->cond[0] ? "" : " and a conditioned model");
        goto cleanup;
    }
    if (sdg_element_table_load(NULL, &et) != SDG_OK) {
        fprintf(stderr, "sdegen sample: %s\n", sdg_errmsg());
        goto cleanup;
    }
    const sdg_crystal_unet_params *np = sdg_crystal_unet_get_params(m->net);
    size_t D = (size_t)(np->width * np->rows), B = (size_t)batch < (size_t)n ? (size_t)batch : (size_t)n;
    sdg_sampler_params sp = sdg_sampler_default_params();
    sdg_sde sde;
    char desc[256];
    if (strcmp(sampler, "edm") == 0) {
        sp.type = sdg_sampler_edm;
        sp.n_steps = steps ? (int)steps : 100;
        sdg_sde_init(&sde, sdg_sde_edm, 0.002, 80, 1);
        sp.s_churn = (float)churn;
        snprintf(desc, sizeof desc, "edm (Heun), %d steps, sigma 0.002..80, rho 7, churn %g", sp.n_steps, churn);
    } else {   /* VE with sigma(t) = 0.002 (80/0.002)^t: the same marginals as EDM */
        sp.type = strcmp(sampler, "pc") == 0 ? sdg_sampler_pc : sdg_sampler_ode;
        sp.n_steps = steps ? (int)steps : (sp.type == sdg_sampler_pc ? 1000 : 100);
        sp.eps = 1e-5f;
        if (sp.type == sdg_sampler_ode) sp.ode = sdg_ode_heun;
        sp.predictor = sdg_predictor_reverse;
        sp.corrector = sdg_corrector_langevin;
        sp.snr = 0.16f;
        sdg_sde_init(&sde, sdg_sde_ve, 0.002, 80, sp.n_steps);
        if (sp.type == sdg_sampler_pc)
            snprintf(desc, sizeof desc, "pc (VE, reverse + langevin snr 0.16), %d steps", sp.n_steps);
        else
            snprintf(desc, sizeof desc, "ode (VE probability flow, heun), %d steps", sp.n_steps);
    }
    sp.seed = (uint64_t)seed;
    /* decoding (docs/crystals.md "Crystal matrix"): the plain rule, or with --vocab-decode the
     * model's element vocabulary and site reassignment (a model whose element rows are its
     * vocabulary decodes only vocabulary elements anyway: there only the reassignment acts) */
    int nvocab = 0;
    for (int z = 0; z < SDG_CRYSTAL_ZMAX; z++) nvocab += m->elements[z];
    if (vocab_decode && !nvocab) {
        fprintf(stderr, "sdegen sample: --vocab-decode: %s stores no element vocabulary (written before it was kept; "
                "`sdegen train crystal --resume` with the same --epochs adds it)\n", model_path);
        goto cleanup;
    }
    sdg_crystal_decode_rule rule = {.elements = vocab_decode && !m->mp.n_vocab ? m->elements : NULL,
                                    .reassign_sites = vocab_decode};
    size_t dl = strlen(desc);
    snprintf(desc + dl, sizeof desc - dl, "; %s",
             !vocab_decode     ? "plain decoding"
             : m->mp.n_vocab ? "vocabulary decoding (vocabulary element rows: site reassignment only)"
                             : "vocabulary decoding");
    x = malloc(B * D * sizeof *x);
    condv = malloc(B * sizeof *condv);
    M = malloc(D * sizeof *M);
    cs = calloc(B, sizeof *cs);
    recs = calloc(B, sizeof *recs);
    reasons = calloc(B, sizeof *reasons);
    sgs = calloc(B, sizeof *sgs);
    if (!x || !condv || !M || !cs || !recs || !reasons || !sgs || sdg_ctx_new(0, &ctx) != SDG_OK) {
        fprintf(stderr, "sdegen sample: out of memory\n");
        goto cleanup;
    }
    for (size_t i = 0; i < B; i++) condv[i] = (float)((cond_value - m->cond_mean) / m->cond_std);
    sdg_crystal_denoiser dn = {.net = m->net, .ctx = ctx, .sigma_data = (float)m->sigma_data,
                               .cond = cond_arg ? condv : NULL, .guidance = (float)(guidance < 0 ? 0 : guidance)};
    sdg_model model = {.fn = sdg_crystal_denoiser_fn, .params = &dn};
    sdg_state state = {.n = B, .n_comp = 1};
    state.comp[0] = (sdg_component){.name = "crystal", .dim = D, .noise = SDG_NOISE_KIND_DENSE,
                                    .param = SDG_PARAM_KIND_DENOISER, .sde = sde, .x = x};
    size_t done = 0;
    char seed_s[32];
    snprintf(seed_s, sizeof seed_s, "%ld", seed);
    sdg_crystal_run run = {.model = model_path, .dataset = m->dataset, .sampler = desc, .cond = cond_desc,
                           .seed = (uint64_t)seed, .batch = (int64_t)B, .threads = sdg_num_threads(),
                           .requested = n, .symprec = symprec};
    if (kind == OUT_H5) {
        sdg_status ws = resume ? sdg_crystal_writer_resume(out, &run, &w, &done) : sdg_crystal_writer_open(out, &run, &w);
        if (ws != SDG_OK) {
            fprintf(stderr, "sdegen sample: -o: %s\n", sdg_errmsg());
            goto cleanup;
        }
    } else if (kind == OUT_CIF) {
        if (!(cif = fopen(out, "w"))) {
            fprintf(stderr, "sdegen sample: -o %s: cannot open for writing: %s\n", out, strerror(errno));
            goto cleanup;
        }
    } else {
        if (mkdir(out, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "sdegen sample: -o %s: cannot create the directory: %s\n", out, strerror(errno));
            goto cleanup;
        }
        char p[1200];
        snprintf(p, sizeof p, "%s/summary.tsv", out);
        if (!(tsv = fopen(p, "w"))) {
            fprintf(stderr, "sdegen sample: -o %s: cannot write summary.tsv: %s\n", out, strerror(errno));
            goto cleanup;
        }
        fprintf(tsv, "id\tformula\tspacegroup_number\tspacegroup_symbol\tdecoded\tstructural\tcompositional\tvalid\treason\n");
    }
    sdg_cif_params cp = sdg_cif_default_params();
    cp.symmetrize = symmetrize;
    cp.symprec = symprec;
    sdg_validity_params vp = sdg_validity_default_params();
    double t0 = cli_now();
    size_t start = done;
    long nfe = 0;
    while (done < (size_t)n) {
        size_t b = (size_t)n - done < B ? (size_t)n - done : B;
        state.n = b;
        sp.stream_offset = done;
        sdg_sampler_stats ss = {0};
        sdg_sampler_free(smp);
        smp = NULL;
        if (sdg_sampler_new(&sp, &state, &smp) != SDG_OK || sdg_sampler_run(smp, &model, &state, &ss) != SDG_OK) {
            cli_progress_end();
            fprintf(stderr, "sdegen sample: %s (%zu of %ld crystals written)\n", sdg_errmsg(), done, n);
            goto cleanup;
        }
        nfe += ss.nfe;
        for (size_t i = 0; i < b; i++) {
            sdg_crystal_record *r = &recs[i];
            memset(r, 0, sizeof *r);
            r->index = (int64_t)(done + i);
            r->prop = cond_arg ? cond_value : NAN;
            for (size_t j = 0; j < D; j++) M[j] = x[i * D + j];
            sdg_crystal_scaler_invert(&m->mp, &m->scaler, M, 1);
            char why[200] = "";
            sdg_crystal_free(cs[i]);
            cs[i] = NULL;
            free(reasons[i]);
            reasons[i] = NULL;
            t.n++;
            int changes = 0;
            if (sdg_crystal_matrix_decode_with(&m->mp, &rule, M, &cs[i], &changes, why, sizeof why) != SDG_OK ||
                !cs[i]) {
                sdg_error_clear();
                t.undecodable++;
                reasons[i] = strdup(why[0] ? why : "undecodable");
                r->reason = reasons[i];
                if (!t.first_reason[0]) snprintf(t.first_reason, sizeof t.first_reason, "%zu: %s", done + i, why);
                t.sg_none++;
            } else {
                char nm[32];
                snprintf(nm, sizeof nm, "%06zu", done + i);
                t.projected += changes > 0;
                bool foreign = false;
                for (int64_t a = 0; nvocab && a < cs[i]->n_atoms; a++)
                    foreign = foreign || !m->elements[cs[i]->z[a] - 1];
                t.foreign += foreign;
                sdg_crystal_set_name(cs[i], nm);
                r->crystal = cs[i];
                sdg_crystal_validity v;
                if (sdg_crystal_check_validity(cs[i], et, &vp, &v) == SDG_OK) {
                    r->structural = v.structural, r->compositional = v.compositional, r->valid = v.valid;
                }
                sdg_error_clear();
                if (sdg_crystal_spacegroup(cs[i], symprec, &sgs[i]) == SDG_OK) {
                    r->spacegroup = sgs[i].number;
                    r->sg_symbol = sgs[i].symbol;
                    t.sg[sgs[i].number]++;
                } else {
                    sdg_error_clear();
                    t.sg_none++;
                }
                t.structural += r->structural, t.compositional += r->compositional, t.valid += r->valid;
            }
            if (kind == OUT_DIR) {
                char *formula = NULL;
                if (r->crystal) {
                    char p[1200];
                    snprintf(p, sizeof p, "%s/%06zu.cif", out, done + i);
                    FILE *f = fopen(p, "w");
                    sdg_status cs_ = f ? sdg_crystal_write_cif(f, r->crystal, &cp) : SDG_ERR_IO;
                    if (f && fclose(f) != 0) cs_ = SDG_ERR_IO;
                    if (cs_ != SDG_OK) {
                        fprintf(stderr, "sdegen sample: %s: %s\n", p, f ? sdg_errmsg() : strerror(errno));
                        goto cleanup;
                    }
                    sdg_crystal_formula(r->crystal, &formula);
                }
                fprintf(tsv, "%06zu\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t%s\n", done + i, formula ? formula : "", r->spacegroup,
                        r->sg_symbol ? r->sg_symbol : "", r->crystal != NULL, r->structural, r->compositional, r->valid,
                        r->reason ? r->reason : "");
                free(formula);
            } else if (kind == OUT_CIF && r->crystal) {
                if (sdg_crystal_write_cif(cif, r->crystal, &cp) != SDG_OK) {
                    fprintf(stderr, "sdegen sample: %s: %s\n", out, sdg_errmsg());
                    goto cleanup;
                }
            }
        }
        if (w && sdg_crystal_writer_append(w, recs, b) != SDG_OK) {
            fprintf(stderr, "sdegen sample: %s\n", sdg_errmsg());
            goto cleanup;
        }
        if (tsv) fflush(tsv);
        done += b;
        double el = cli_now() - t0;
        cli_progress("sample: %zu / %ld crystals, %.2f crystals/s", done, n, el > 0 ? (double)(done - start) / el : 0.0);
    }
    cli_progress_end();
    if (w) {
        sdg_status cst = sdg_crystal_writer_close(w);
        w = NULL;
        if (cst != SDG_OK) {
            fprintf(stderr, "sdegen sample: %s\n", sdg_errmsg());
            goto cleanup;
        }
    }
    if (cif && fclose(cif) != 0) {
        cif = NULL;
        fprintf(stderr, "sdegen sample: %s: write error: %s\n", out, strerror(errno));
        goto cleanup;
    }
    cif = NULL;
    double wall = cli_now() - t0;
    size_t made = done - start;
    printf("wrote %ld crystals to %s%s\n", n, out, kind == OUT_DIR ? " (NNNNNN.cif + summary.tsv)" : "");
    if (start) printf("resumed: %zu crystals were already in the file; the counts below are this run's %zu\n", start, made);
    printf("model: %s (%s/%s, %lld epochs, %s weights)%s%s\n", model_path, m->dataset, m->split, (long long)m->epochs,
           m->weights_ema ? "EMA" : "raw", cond_desc[0] ? ", conditioned on " : "", cond_desc);
    printf("sampler: %s, batch %zu, seed %ld, %d threads\n", desc, B, seed, sdg_num_threads());
    printf("undecodable: %zu of %zu%s%s%s\n", t.undecodable, t.n, t.first_reason[0] ? " (first, crystal " : "",
           t.first_reason[0] ? t.first_reason : "", t.first_reason[0] ? ")" : "");
    if (vocab_decode && m->mp.n_vocab)
        printf("vocabulary decoding: %zu of %zu decoded crystals needed it (a site moved off an empty element column; "
               "the model's %lld element rows are its training vocabulary, so no element had to move)\n", t.projected,
               t.n - t.undecodable, (long long)m->mp.n_vocab);
    else if (vocab_decode)
        printf("vocabulary decoding: %zu of %zu decoded crystals needed it (an element moved into the model's "
               "%d-element training vocabulary, or a site moved off an empty element column)\n", t.projected,
               t.n - t.undecodable, nvocab);
    else if (nvocab)
        printf("outside the training vocabulary: %zu of %zu decoded crystals hold an element that no training crystal "
               "has (the model's %d elements)\n", t.foreign, t.n - t.undecodable, nvocab);
    double N = t.n ? (double)t.n : 1;
    printf("validity (of all %zu; rules: structural = every periodic distance >= 0.5 A and volume >= 0.1 A^3, "
           "compositional = SMACT charge neutrality + Pauling electronegativity, metals allowed):\n", t.n);
    printf("  structural %.2f %%  compositional %.2f %%  overall %.2f %%\n", 100 * t.structural / N,
           100 * t.compositional / N, 100 * t.valid / N);
    int order[5];
    top_groups(t.sg, order, 5);
    printf("space groups (symprec %g): ", symprec);
    for (int k = 0; k < 5 && t.sg[order[k]] > 0; k++)
        printf("%s%d %.1f %%", k ? ", " : "", order[k], 100.0 * (double)t.sg[order[k]] / N);
    printf("%s; none %zu\n", t.sg[order[0]] ? "" : "-", t.sg_none);
    printf("wall: %.2f s\n", wall);
    printf("speed: %.2f crystals/s, %.1f s per 1000 crystals (%ld network evaluations, %.1f GFLOP)\n",
           wall > 0 ? (double)made / wall : 0.0, made ? wall * 1000.0 / (double)made : 0.0, nfe, dn.flops * 1e-9);
    rc = 0;
cleanup:
    cli_progress_end();
    if (cif) fclose(cif);
    if (tsv) fclose(tsv);
    sdg_crystal_writer_free(w);
    sdg_sampler_free(smp);
    sdg_ctx_free(ctx);
    for (size_t i = 0; cs && i < B; i++) sdg_crystal_free(cs[i]);
    for (size_t i = 0; reasons && i < B; i++) free(reasons[i]);
    free(cs), free(reasons), free(recs), free(sgs), free(x), free(condv), free(M);
    sdg_element_table_free(et);
    sdg_crystal_model_free(m);
    return rc;
}
