/* sdegen eval graphs GEN --ref REF: GDSS's graph MMDs (degree, clustering, orbit; spectral on
 * request) between a generated graph file and a reference (a graph file, or a dataset split
 * NAME[:test|:train] read from the data directory), each printed with its protocol. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"

static const char *eval_usage =
    "usage: sdegen eval graphs GEN --ref REF [--data DIR] [--stats LIST] [--keep-isolated]\n"
    "  GEN   generated graphs (.txt, .graphml or .h5)\n"
    "  REF   a graph file, or a dataset split NAME[:test|:train] (default split: test) with NAME one of\n"
    "        community_small, ego_small, grid, enzymes, read from --data DIR or $SDEGEN_DATA\n"
    "  LIST  comma-separated statistics among degree,clustering,orbit,spectral\n"
    "        (default degree,clustering,orbit: GDSS's tables)\n";

/* Loads REF; *what describes it for the protocol line. Returns an exit code (0 ok). */
static int load_ref(const char *ref, const char *data_opt, sdg_graph_list **out, char *what, size_t cap) {
    if (access(ref, F_OK) == 0 || strchr(ref, '/') || strchr(ref, '.')) {
        if (sdg_graph_file_read(ref, out) != SDG_OK) {
            fprintf(stderr, "sdegen eval: %s\n", sdg_errmsg());
            return 1;
        }
        snprintf(what, cap, "file %s", ref);
        return 0;
    }
    char name[64];
    snprintf(name, sizeof name, "%s", ref);
    char *colon = strchr(name, ':');
    const char *split = "test";
    if (colon) {
        *colon = '\0';
        split  = colon + 1;
    }
    if (strcmp(split, "test") != 0 && strcmp(split, "train") != 0) {
        fprintf(stderr, "sdegen eval: --ref %s: unknown split '%s' (use :test or :train)\n", ref, split);
        return 2;
    }
    if (!sdg_graph_dataset_file(name)) {
        fprintf(stderr, "sdegen eval: --ref %s: no such file, and '%s' is not a dataset name "
                "(community_small, ego_small, grid, enzymes)\n", ref, name);
        return 2;
    }
    const char *dir = cli_data_dir(data_opt);
    if (!dir) {
        fprintf(stderr, "sdegen eval: --ref %s names a dataset: give --data DIR or set SDEGEN_DATA\n", ref);
        return 2;
    }
    sdg_graph_list *tr = NULL, *te = NULL;
    if (sdg_graph_dataset_load(dir, name, &tr, &te) != SDG_OK) {
        fprintf(stderr, "sdegen eval: %s\n", sdg_errmsg());
        return 1;
    }
    bool test = strcmp(split, "test") == 0;
    *out = test ? te : tr;
    sdg_graph_list_free(test ? tr : te);
    snprintf(what, cap, "%s %s split, GDSS's (test = first 20%% in file order) of %s/%s", name, split, dir,
             sdg_graph_dataset_file(name));
    return 0;
}

static int eval_graphs(int argc, char **argv) {
    const char *gen_path = NULL, *ref = NULL, *data = NULL, *stats = "degree,clustering,orbit";
    bool keep_isolated = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--ref") == 0 && i + 1 < argc) ref = argv[++i];
        else if (strcmp(a, "--data") == 0 && i + 1 < argc) data = argv[++i];
        else if (strcmp(a, "--stats") == 0 && i + 1 < argc) stats = argv[++i];
        else if (strcmp(a, "--keep-isolated") == 0) keep_isolated = true;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(eval_usage, stdout);
            return 0;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "sdegen eval graphs: unknown or incomplete option '%s' (see sdegen eval --help)\n", a);
            return 2;
        } else if (!gen_path) gen_path = a;
        else {
            fprintf(stderr, "sdegen eval graphs: unexpected argument '%s' (see sdegen eval --help)\n", a);
            return 2;
        }
    }
    if (!gen_path || !ref) {
        fprintf(stderr, "sdegen eval graphs: %s (see sdegen eval --help)\n", !gen_path ? "no generated file given" : "no --ref given");
        return 2;
    }
    bool want[SDG_GRAPH_STAT_COUNT] = {false};
    char list[128];
    snprintf(list, sizeof list, "%s", stats);
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int k = 0;
        while (k < SDG_GRAPH_STAT_COUNT && strcmp(tok, sdg_graph_stat_name((sdg_graph_stat)k)) != 0) k++;
        if (k == SDG_GRAPH_STAT_COUNT) {
            fprintf(stderr, "sdegen eval graphs: --stats: unknown statistic '%s' (degree, clustering, orbit, spectral)\n", tok);
            return 2;
        }
        want[k] = true;
    }
    sdg_graph_list *gen = NULL, *rl = NULL;
    char what[512];
    int rc = load_ref(ref, data, &rl, what, sizeof what);
    if (rc) return rc;
    if (sdg_graph_file_read(gen_path, &gen) != SDG_OK) {
        fprintf(stderr, "sdegen eval: %s\n", sdg_errmsg());
        sdg_graph_list_free(rl);
        return 1;
    }
    sdg_graph_mmd_params p = sdg_graph_mmd_default_params();
    p.drop_isolated        = !keep_isolated;
    p.reference_name       = NULL;
    printf("# sdegen eval graphs (sdegen %s)\n", sdg_version());
    printf("# generated: %s, %zu graphs%s\n", gen_path, gen->count,
           keep_isolated ? "" : "; isolated nodes dropped first, an empty graph counts as one node (GDSS)");
    printf("# reference: %s, %zu graphs\n", what, rl->count);
    printf("# statistic  MMD^2   protocol\n");
    rc = 0;
    for (int k = 0; k < SDG_GRAPH_STAT_COUNT && rc == 0; k++) {
        if (!want[k]) continue;
        sdg_metric_result r;
        if (sdg_graph_mmd(rl, gen, (sdg_graph_stat)k, &p, &r) != SDG_OK) {
            fprintf(stderr, "sdegen eval: %s: %s\n", gen_path, sdg_errmsg());
            rc = 1;
            break;
        }
        printf("%-11s %.6f  %s\n", sdg_graph_stat_name((sdg_graph_stat)k), r.value, r.protocol);
    }
    sdg_graph_list_free(gen);
    sdg_graph_list_free(rl);
    return rc;
}

int cli_eval(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(eval_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "graphs") == 0) return eval_graphs(argc - 1, argv + 1);
    fprintf(stderr, "sdegen eval: unknown kind '%s' (known: graphs)\n", argv[1]);
    return 2;
}
