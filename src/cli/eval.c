/* sdegen eval graphs GEN --ref REF: GDSS's graph MMDs (degree, clustering, orbit; spectral on
 * request) between a generated graph file and a reference (a graph file, or a dataset split
 * NAME[:test|:train] read from the data directory), each printed with its protocol.
 * sdegen eval molecules FILE --dataset NAME | --test FILE [--train FILE]: GDSS's molecule
 * metrics (validity, uniqueness, novelty, NSPDK MMD) and type distributions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "cli/cli.h"

static const char *eval_usage =
    "usage: sdegen eval graphs GEN --ref REF [--data DIR] [--stats LIST] [--keep-isolated]\n"
    "  GEN   generated graphs (.txt, .graphml or .h5)\n"
    "  REF   a graph file, or a dataset split NAME[:test|:train] (default split: test) with NAME one of\n"
    "        community_small, ego_small, grid, enzymes, read from --data DIR or $SDEGEN_DATA\n"
    "  LIST  comma-separated statistics among degree,clustering,orbit,spectral\n"
    "        (default degree,clustering,orbit: GDSS's tables)\n"
    "usage: sdegen eval molecules FILE (--dataset qm9|zinc250k [--data DIR] | --test FILE [--train FILE])\n"
    "                             [--max-rows N]\n"
    "  FILE  generated molecules: .smi/.smiles/.txt/.csv (SMILES first on each line; an optional\n"
    "        second column 0/1, or a header column valid_wo_correction, records validity before\n"
    "        correction) or .sdf/.sd/.mol (optional data field <valid_wo_correction>)\n"
    "  --dataset  training and test split of the dataset (GDSS's), from --data DIR or $SDEGEN_DATA\n"
    "  --test, --train  SMILES files (one per line, optional header) instead of a dataset\n"
    "  --max-rows N  read only the first N rows of the dataset (quick checks)\n"
    "usage: sdegen eval molecules3d FILE   (3-D stability, validity; see sdegen eval molecules3d --help)\n"
    "usage: sdegen eval regressor3d REG.h5 (a property regressor's own test MAE; --help there)\n"
    "usage: sdegen eval crystals GEN [--ref REF] [--train TRAIN] [--dataset D [--data DIR]] [--symprec X] ...\n"
    "  GEN   a CIF file, a directory of CIFs, a CDVAE CSV or an sdegen .h5 (see sdegen eval crystals --help)\n";

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

/* ---- molecules ---- */
static void print_types(const char *what, const double *gen, const double *test, size_t n, bool atoms) {
    static const char *const bond_names[SDG_MOL_BOND_TYPES] = {"single", "double", "triple", "aromatic"};
    printf("# %s  generated  test\n", what);
    for (size_t i = 0; i < n; i++) {
        if (gen[i] == 0 && test[i] == 0) continue;
        printf("  %-9s %.6f   %.6f\n", atoms ? sdg_element_symbol((int)i) : bond_names[i], gen[i], test[i]);
    }
}

static void print_metric(const char *name, const sdg_metric_result *r) {
    if (isnan(r->value)) printf("%-24s %-9s %s\n", name, "-", r->protocol);
    else printf("%-24s %.6f  %s\n", name, r->value, r->protocol);
}

static int eval_molecules(int argc, char **argv) {
    const char *gen_path = NULL, *dataset = NULL, *data = NULL, *train_path = NULL, *test_path = NULL;
    long max_rows = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--dataset") == 0 && i + 1 < argc) dataset = argv[++i];
        else if (strcmp(a, "--data") == 0 && i + 1 < argc) data = argv[++i];
        else if (strcmp(a, "--train") == 0 && i + 1 < argc) train_path = argv[++i];
        else if (strcmp(a, "--test") == 0 && i + 1 < argc) test_path = argv[++i];
        else if (strcmp(a, "--max-rows") == 0 && i + 1 < argc) {
            if (cli_parse_long(argv[++i], "--max-rows", 1, 100000000L, &max_rows)) return 2;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(eval_usage, stdout);
            return 0;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "sdegen eval molecules: unknown or incomplete option '%s' (see sdegen eval --help)\n", a);
            return 2;
        } else if (!gen_path) gen_path = a;
        else {
            fprintf(stderr, "sdegen eval molecules: unexpected argument '%s' (see sdegen eval --help)\n", a);
            return 2;
        }
    }
    if (!gen_path) {
        fprintf(stderr, "sdegen eval molecules: no generated file given (see sdegen eval --help)\n");
        return 2;
    }
    if (!dataset == !test_path || (dataset && train_path)) {
        fprintf(stderr, "sdegen eval molecules: give either --dataset NAME or --test FILE [--train FILE]\n");
        return 2;
    }
    if (max_rows && !dataset) {
        fprintf(stderr, "sdegen eval molecules: --max-rows applies to --dataset only\n");
        return 2;
    }
    const sdg_mol_vocab *vocab = NULL;
    const char *dir = NULL;
    if (dataset) {
        if (sdg_mol_vocab_find(dataset, &vocab) != SDG_OK) {
            fprintf(stderr, "sdegen eval molecules: --dataset %s: unknown dataset (qm9, zinc250k)\n", dataset);
            return 2;
        }
        dir = cli_data_dir(data);
        if (!dir) {
            fprintf(stderr, "sdegen eval molecules: --dataset %s: give --data DIR or set SDEGEN_DATA\n", dataset);
            return 2;
        }
    }
    int rc = 1;
    double t0 = cli_now();
    sdg_mol_samples *gen = NULL, *tr = NULL, *te = NULL;
    sdg_mol_dataset *d = NULL;
    const char **train = NULL;
    const sdg_mol **test = NULL;
    sdg_mol_reference ref = {0};
    char trname[600], tename[600], refdesc[1200];
    if (sdg_mol_samples_read(gen_path, &gen) != SDG_OK) {
        fprintf(stderr, "sdegen eval molecules: %s\n", sdg_errmsg());
        goto done;
    }
    if (vocab && gen->dataset[0] && strcasecmp(gen->dataset, vocab->name) != 0) {
        fprintf(stderr, "sdegen eval molecules: %s: a %s checkpoint asked for %s output: the file's metadata says "
                "it came from a %s model (use --dataset %s)\n", gen_path, gen->dataset, dataset, gen->dataset,
                strcasecmp(gen->dataset, "qm9") == 0 ? "qm9" : "zinc250k");
        rc = 2;
        goto done;
    }
    if (gen->n_valid == 0) {
        fprintf(stderr, "sdegen eval molecules: %s: no valid molecule among %zu records%s%lld: %s): is it a SMILES or SDF file?\n",
                gen_path, gen->count, gen->sdf ? " (record at line " : " (line ",
                (long long)gen->first_invalid_line, gen->first_invalid_reason);
        goto done;
    }
    double t_gen = cli_now();
    if (dataset) {
        sdg_mol_dataset_params p = sdg_mol_dataset_default_params();
        p.max_rows = (size_t)max_rows;
        cli_progress("loading %s from %s ...", dataset, dir);
        sdg_status st = sdg_mol_dataset_load(dir, dataset, &p, &d);
        cli_progress_end();
        if (st != SDG_OK) {
            fprintf(stderr, "sdegen eval molecules: %s\n", sdg_errmsg());
            goto done;
        }
        train = malloc((d->n_train + 1) * sizeof *train);
        test  = malloc((d->n_test + 1) * sizeof *test);
        if (!train || !test) {
            fprintf(stderr, "sdegen eval molecules: out of memory\n");
            goto done;
        }
        for (size_t i = 0; i < d->n_train; i++) train[i] = d->smiles[d->train[i]];
        for (size_t i = 0; i < d->n_test; i++) test[i] = d->mols[d->test[i]];
        ref.n_train = d->n_train;
        ref.n_test  = d->n_test;
        snprintf(trname, sizeof trname, "the %s train split", dataset);
        snprintf(tename, sizeof tename, "the %s test split", dataset);
        snprintf(refdesc, sizeof refdesc,
                 "%s from %s (GDSS/MoFlow split: test = rows of valid_idx_%s.json), %zu of %zu rows read%s: "
                 "train %zu, test %zu molecules (%zu rows rejected by the parser, %zu too large)",
                 dataset, dir, dataset, max_rows ? (size_t)max_rows < d->n_rows ? (size_t)max_rows : d->n_rows : d->n_rows,
                 d->n_rows, max_rows ? " (--max-rows)" : "", d->n_train, d->n_test, d->n_malformed, d->n_too_large);
    } else {
        if (sdg_mol_samples_read(test_path, &te) != SDG_OK ||
            (train_path && sdg_mol_samples_read(train_path, &tr) != SDG_OK)) {
            fprintf(stderr, "sdegen eval molecules: %s\n", sdg_errmsg());
            goto done;
        }
        if (te->n_valid == 0) {
            fprintf(stderr, "sdegen eval molecules: --test %s: no valid molecule among %zu records\n", test_path, te->count);
            goto done;
        }
        size_t ntr = tr ? tr->n_valid : 0;
        train = malloc((ntr + 1) * sizeof *train);
        test  = malloc((te->n_valid + 1) * sizeof *test);
        if (!train || !test) {
            fprintf(stderr, "sdegen eval molecules: out of memory\n");
            goto done;
        }
        for (size_t i = 0; tr && i < tr->count; i++)
            if (tr->smiles[i]) train[ref.n_train++] = tr->smiles[i];
        for (size_t i = 0; i < te->count; i++)
            if (te->mols[i]) test[ref.n_test++] = te->mols[i];
        snprintf(trname, sizeof trname, "%s", train_path ? train_path : "-");
        snprintf(tename, sizeof tename, "%s", test_path);
        int w = snprintf(refdesc, sizeof refdesc, "test %s: %zu molecules (%zu invalid lines skipped)", test_path,
                         te->n_valid, te->count - te->n_valid);
        if (tr)
            snprintf(refdesc + w, sizeof refdesc - (size_t)w, "; train %s: %zu molecules (%zu invalid lines skipped)",
                     train_path, tr->n_valid, tr->count - tr->n_valid);
        else
            snprintf(refdesc + w, sizeof refdesc - (size_t)w, "; no training set (novelty not computed)");
    }
    ref.train_name = trname;
    ref.test_name  = tename;
    ref.train_smiles = train;
    ref.test_mols = test;
    double t_ref = cli_now();
    sdg_nspdk_params np = sdg_nspdk_default_params();
    sdg_mol_metrics m;
    if (sdg_mol_metrics_compute(gen, &ref, &np, &m) != SDG_OK) {
        fprintf(stderr, "sdegen eval molecules: %s: %s\n", gen_path, sdg_errmsg());
        goto done;
    }
    double t_end = cli_now();
    if (gen->n_valid < gen->count)
        fprintf(stderr, "sdegen eval molecules: warning: %s: %zu of %zu records are not valid molecules, counted as invalid (first: line %lld: %s)\n",
                gen_path, gen->count - gen->n_valid, gen->count, (long long)gen->first_invalid_line,
                gen->first_invalid_reason);
    printf("# sdegen eval molecules (sdegen %s)\n", sdg_version());
    printf("# generated: %s, %s, %zu records (%zu valid, %zu invalid%s%s; %zu blank lines skipped)\n", gen_path,
           gen->sdf ? "SDF" : gen->h5 ? "sdegen-molecules HDF5" : "SMILES lines", gen->count, gen->n_valid,
           gen->count - gen->n_valid, gen->header ? ", header line skipped" : "", "", gen->n_blank);
    if (gen->h5 && gen->count < gen->requested)
        fprintf(stderr, "sdegen eval molecules: warning: %s holds %zu of the %zu molecules its run was asked for "
                "(an interrupted run: continue it with sdegen sample --resume)\n", gen_path, gen->count, gen->requested);
    printf("# reference: %s\n", refdesc);
    printf("# canonical SMILES: Open Babel \"can\" (no stereo or isotopes; charges kept) on both sides, "
           "molecules re-parsed from it (implicit H, aromaticity perceived by Open Babel)\n");
    printf("# metric                 value     protocol\n");
    print_metric("validity_wo_correction", &m.validity_wo_correction);
    print_metric("validity", &m.validity);
    print_metric("uniqueness", &m.uniqueness);
    print_metric("novelty", &m.novelty);
    print_metric("nspdk_mmd", &m.nspdk);
    printf("%-24s %-9s %s\n", "fcd", "-", "not available: the ChemNet weights FCD needs are absent");
    print_metric("atom_type_tv", &m.atom_tv);
    print_metric("bond_type_tv", &m.bond_tv);
    print_types("atom type", m.atom_gen, m.atom_test, 119, true);
    print_types("bond type", m.bond_gen, m.bond_test, SDG_MOL_BOND_TYPES, false);
    printf("# wall time: %.2f s (generated %.2f s, reference %.2f s, metrics %.2f s)\n", t_end - t0, t_gen - t0,
           t_ref - t_gen, t_end - t_ref);
    rc = 0;
done:
    free(train);
    free(test);
    sdg_mol_dataset_free(d);
    sdg_mol_samples_free(gen);
    sdg_mol_samples_free(tr);
    sdg_mol_samples_free(te);
    return rc;
}

int cli_eval(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(eval_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "graphs") == 0) return eval_graphs(argc - 1, argv + 1);
    if (strcmp(argv[1], "molecules") == 0) return eval_molecules(argc - 1, argv + 1);
    if (strcmp(argv[1], "molecules3d") == 0) return cli_eval_molecules3d(argc - 1, argv + 1);
    if (strcmp(argv[1], "regressor3d") == 0) return cli_eval_regressor3d(argc - 1, argv + 1);
    if (strcmp(argv[1], "crystals") == 0) return cli_eval_crystals(argc - 1, argv + 1);
    fprintf(stderr, "sdegen eval: unknown kind '%s' (known: graphs, molecules, molecules3d, regressor3d, crystals)\n",
            argv[1]);
    return 2;
}
