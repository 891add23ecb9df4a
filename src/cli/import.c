/* sdegen import-gdss FILE.h5 -o MODEL.h5 [--data DIR]: a published GDSS checkpoint (the .h5
 * export of README section 1) becomes an sdegen checkpoint, with the node-flag table of the
 * dataset's training split (graph list, or QM9/ZINC250k molecules) when the data directory
 * holds it (README section 11). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cli/cli.h"

/* GDSS's dataset names (config data.data) -> sdegen graph-list datasets; NULL: none here. */
const char *cli_gdss_dataset(const char *gdss_name) {
    static const char *const table[][2] = {
        {"community_small", "community_small"},
        {"ego_small", "ego_small"},
        {"ENZYMES", "enzymes"},
        {"grid", "grid"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcasecmp(gdss_name, table[i][0]) == 0) return table[i][1];
    return NULL;
}

int cli_mol_flags(const char *cmd, const sdg_mol_dataset *d, sdg_gdss_flags *out) {
    enum { BLOCK = 512 };
    const int64_t N = d->vocab->N, F = d->vocab->F;
    const size_t G = d->n_train;
    int rc = 1;
    float *X = malloc((size_t)(BLOCK * N * F) * sizeof *X), *A = malloc((size_t)(BLOCK * N * N) * sizeof *A);
    float *flags = malloc((G ? G : 1) * (size_t)N * sizeof *flags);
    if (!X || !A || !flags) {
        fprintf(stderr, "sdegen %s: out of memory for the node flags of %zu molecules\n", cmd, G);
        goto done;
    }
    for (size_t g0 = 0; g0 < G; g0 += BLOCK) {   /* README 11: m_i = [sum_j |A_ij| > 1e-5] */
        size_t k = G - g0 < BLOCK ? G - g0 : BLOCK;
        if (sdg_mol_dataset_dense(d, d->train + g0, k, X, A) != SDG_OK) goto fail;
        for (size_t b = 0; b < k; b++)
            for (int64_t i = 0; i < N; i++) {
                double s = 0;
                for (int64_t j = 0; j < N; j++) s += fabs(A[((int64_t)b * N + i) * N + j]);
                flags[(g0 + b) * (size_t)N + (size_t)i] = s > 1e-5 ? 1.0f : 0.0f;
            }
    }
    if (sdg_gdss_flags_from_dense(flags, G, N, out) != SDG_OK) goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "sdegen %s: node flags of %s: %s\n", cmd, d->vocab->name, sdg_errmsg());
done:
    free(X);
    free(A);
    free(flags);
    return rc;
}

int cli_gdss_flags_from_data(const char *cmd, const sdg_gdss_model *m, const char *data,
                             sdg_gdss_flags *out, size_t *train_graphs) {
    sdg_graph_list *train = NULL;
    const char *ds = cli_gdss_dataset(m->settings.dataset);
    int64_t N = sdg_gdss_net_hparams(m->net_adj)->N;
    const sdg_mol_vocab *v = NULL;
    if (!ds && sdg_mol_vocab_find(m->settings.dataset, &v) == SDG_OK) {   /* QM9, ZINC250k */
        sdg_mol_dataset *d = NULL;
        cli_progress("loading %s from %s ...", v->name, data);
        sdg_status st = sdg_mol_dataset_load(data, v->name, NULL, &d);
        cli_progress_end();
        if (st != SDG_OK) {
            fprintf(stderr, "sdegen %s: training molecules of '%s': %s\n", cmd, m->settings.dataset, sdg_errmsg());
            return 1;
        }
        *train_graphs = d->n_train;
        int rc = cli_mol_flags(cmd, d, out);
        sdg_mol_dataset_free(d);
        return rc;
    }
    sdg_error_clear();
    if (!ds) return -1;
    if (sdg_graph_dataset_load(data, ds, &train, NULL) != SDG_OK) {
        fprintf(stderr, "sdegen %s: training graphs of '%s': %s\n", cmd, m->settings.dataset, sdg_errmsg());
        return 1;
    }
    *train_graphs = train->count;
    sdg_status st = sdg_gdss_flags_from_graphs(train, N, out);
    sdg_graph_list_free(train);
    if (st != SDG_OK) {
        fprintf(stderr, "sdegen %s: node flags of '%s': %s\n", cmd, m->settings.dataset, sdg_errmsg());
        return 1;
    }
    return 0;
}

int cli_import_gdss(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *data_opt = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-o") == 0 && i + 1 < argc) out = argv[++i];
        else if (strcmp(a, "--data") == 0 && i + 1 < argc) data_opt = argv[++i];
        else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "sdegen import-gdss: unknown or incomplete option '%s' (options: -o MODEL.h5, --data DIR)\n", a);
            return 2;
        } else if (!in) in = a;
        else {
            fprintf(stderr, "sdegen import-gdss: unexpected argument '%s' (one GDSS file expected)\n", a);
            return 2;
        }
    }
    if (!in) {
        fprintf(stderr, "sdegen import-gdss: missing the GDSS file (usage: sdegen import-gdss FILE.h5 -o MODEL.h5 [--data DIR])\n");
        return 2;
    }
    if (!out) {
        fprintf(stderr, "sdegen import-gdss: missing option -o MODEL.h5\n");
        return 2;
    }
    sdg_gdss_model *m = NULL;
    if (sdg_gdss_model_read_reference(in, &m) != SDG_OK) {
        fprintf(stderr, "sdegen import-gdss: %s\n", sdg_errmsg());
        return 1;
    }
    int rc = 0;
    size_t n_train = 0;
    const char *data = cli_data_dir(data_opt);
    const sdg_mol_vocab *vocab = NULL;
    const char *ds = cli_gdss_dataset(m->settings.dataset);
    if (!ds && sdg_mol_vocab_find(m->settings.dataset, &vocab) == SDG_OK) ds = vocab->name;
    sdg_error_clear();
    if (!ds) {
        fprintf(stderr, "sdegen import-gdss: note: no dataset for '%s' here; the model is written "
                "without a node-flag table (sampling will need one)\n", m->settings.dataset);
    } else if (!data) {
        fprintf(stderr, "sdegen import-gdss: note: no data directory (--data DIR or SDEGEN_DATA); the model is "
                "written without a node-flag table (sample with --data)\n");
    } else if ((rc = cli_gdss_flags_from_data("import-gdss", m, data, &m->flags, &n_train)) != 0) {
        sdg_gdss_model_free(m);
        return 1;
    }
    const sdg_gdss_params *hx = sdg_gdss_net_hparams(m->net_x), *ha = sdg_gdss_net_hparams(m->net_adj);
    if (sdg_gdss_model_save(m, out) != SDG_OK) {
        fprintf(stderr, "sdegen import-gdss: %s\n", sdg_errmsg());
        sdg_gdss_model_free(m);
        return 1;
    }
    const sdg_gdss_settings *s = &m->settings;
    size_t n_params = 0;
    for (size_t i = 0; i < sdg_params_count(m->params); i++) n_params += (size_t)sdg_params_at(m->params, i)->size;
    printf("imported %s -> %s\n", in, out);
    printf("model: GDSS %s (N %lld, F %lld), %s + %s, %zu parameters (raw weights: the GDSS export has no EMA)\n",
           s->dataset, (long long)ha->N, (long long)ha->F, sdg_gdss_net_kind_name(hx->kind),
           sdg_gdss_net_kind_name(ha->kind), n_params);
    printf("sampler settings: predictor %s, corrector %s, snr %g, scale_eps %g, eps %g, batch %d, use_ema %s\n",
           s->predictor, s->corrector, s->snr, s->scale_eps, s->eps, s->batch, s->use_ema ? "yes" : "no");
    if (m->flags.count)
        printf("node flags: %zu distinct rows from %zu training %s of '%s'\n", m->flags.count, n_train,
               vocab ? "molecules" : "graphs", ds);
    else
        printf("node flags: none stored\n");
    sdg_gdss_model_free(m);
    return 0;
}
