/* sdegen import-gdss FILE.h5 -o MODEL.h5 [--data DIR]: a published GDSS checkpoint (the .h5
 * export of README section 1) becomes an sdegen checkpoint, with the node-flag table of the
 * dataset's training split when the data directory holds it (README section 11). */
#include <stdio.h>
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

int cli_gdss_flags_from_data(const char *cmd, const sdg_gdss_model *m, const char *data,
                             sdg_gdss_flags *out, size_t *train_graphs) {
    sdg_graph_list *train = NULL;
    const char *ds = cli_gdss_dataset(m->settings.dataset);
    int64_t N = sdg_gdss_net_hparams(m->net_adj)->N;
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
    const char *ds = cli_gdss_dataset(m->settings.dataset);
    if (!ds) {
        fprintf(stderr, "sdegen import-gdss: note: no graph-list dataset for '%s' yet; the model is written "
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
        printf("node flags: %zu distinct rows from %zu training graphs of '%s'\n", m->flags.count, n_train, ds);
    else
        printf("node flags: none stored\n");
    sdg_gdss_model_free(m);
    return 0;
}
