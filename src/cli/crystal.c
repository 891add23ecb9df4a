/* sdegen eval crystals PATH: structural, compositional and overall validity and the
 * space-group distribution of a set of crystals, each number with its rule.
 * sdegen cif IN OUT [--symmetrize]: CIF (or CDVAE CSV) to CIF 1.1, P1 or symmetrised. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "cli/cli.h"

static const char *eval_crystals_usage =
    "usage: sdegen eval crystals GEN [--ref REF] [--train TRAIN] [--dataset perov_5|carbon_24|mp_20 [--data DIR]]\n"
    "                            [--symprec X] [--ltol X] [--stol X] [--angle-tol DEG] [--tables FILE] [--table OUT]\n"
    "                            [--property PROP [--k K]]\n"
    "  GEN, REF, TRAIN  a CIF file (every data block), a directory of .cif files, a CDVAE CSV (cif\n"
    "                   column) or an sdegen-crystals .h5 (sdegen sample); undecodable .h5 records\n"
    "                   count as invalid generated crystals\n"
    "  --ref REF        reference (test) set: Wasserstein-1 distances of density and of the number of\n"
    "                   elements between the valid generated crystals and every REF crystal\n"
    "  --train TRAIN    training set: novelty of the unique valid generated crystals\n"
    "  --dataset D      REF = D's test.csv and TRAIN = the split sdegen train crystal trains on (val\n"
    "                   for perov_5 and carbon_24 here, train for mp_20), under --data DIR or\n"
    "                   $SDEGEN_DATA (DIR/crystals/<d>, DIR/<d> or DIR); --ref/--train override\n"
    "  --symprec X      spglib distance tolerance in Angstrom (default 0.1)\n"
    "  --ltol, --stol, --angle-tol  structure-matcher tolerances (pymatgen's defaults 0.2, 0.3, 5)\n"
    "  --tables FILE    element table: SMACT rule and masses (default: data/elements.tsv, $SDEGEN_TABLES)\n"
    "  --table OUT      also write one tab-separated line per generated crystal: name, formula, sites,\n"
    "                   space group number and symbol, shortest distance, volume, the three verdicts\n"
    "                   (and with --property the predicted value and the exact-composition flag)\n"
    "                   (- : standard output, before the summary)\n"
    "  --property PROP  with --dataset: PROP of each decoded crystal predicted by dataset neighbour, the\n"
    "                   mean over its K nearest crystals of every split of the dataset present (train,\n"
    "                   val, test) under the L1 distance of fractional compositions; prints the mean,\n"
    "                   median and sd of the predictions, the share with an exact composition match,\n"
    "                   and the dataset's own mean and sd (a proxy, not a calculation)\n"
    "  --k K            neighbours averaged (default 5)\n";

static const char *cif_usage =
    "usage: sdegen cif IN OUT [--symmetrize] [--symprec X]\n"
    "  IN   a CIF file (every data block) or a CDVAE CSV (cif column)\n"
    "  OUT  a .cif file (one data block per crystal), an existing directory (one file each),\n"
    "       or - for standard output\n"
    "  --symmetrize  spglib's standard conventional cell with its space group, symmetry\n"
    "                operations and the independent sites with Wyckoff letters (default: P1)\n"
    "  --symprec X   spglib distance tolerance in Angstrom (default 0.1)\n";

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

static bool is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Appends every crystal of src to dst (taking ownership). */
static int take_all(sdg_crystal_list *dst, sdg_crystal_list *src, size_t *cap) {
    for (size_t k = 0; k < src->count; k++) {
        if (dst->count == *cap) {
            size_t        nc = *cap ? 2 * *cap : 64;
            sdg_crystal **it = realloc(dst->items, nc * sizeof *it);
            if (!it) return 1;
            dst->items = it;
            *cap = nc;
        }
        dst->items[dst->count++] = src->items[k];
    }
    src->count = 0;
    return 0;
}

/* The decoded crystals of an sdegen-crystals .h5 into l; *undecodable = the other records. */
static int load_h5(const char *cmd, const char *path, sdg_crystal_list *l, size_t *undecodable) {
    sdg_crystal_file *f = NULL;
    if (sdg_crystal_file_read(path, &f) != SDG_OK) {
        fprintf(stderr, "sdegen %s: %s\n", cmd, sdg_errmsg());
        return 1;
    }
    if (!f->complete)
        fprintf(stderr, "sdegen %s: %s: unfinished run, %zu of %lld crystals (continue it with sdegen sample --resume)\n",
                cmd, path, f->count, (long long)f->requested);
    l->items = calloc(f->count + 1, sizeof *l->items);
    if (!l->items) {
        sdg_crystal_file_free(f);
        fprintf(stderr, "sdegen %s: out of memory\n", cmd);
        return 1;
    }
    for (size_t k = 0; k < f->count; k++) {
        if (f->crystals[k]) {
            l->items[l->count++] = f->crystals[k];
            f->crystals[k] = NULL;
        } else {
            (*undecodable)++;
        }
    }
    sdg_crystal_file_free(f);
    return 0;
}

/* Reads PATH (CIF, directory of CIFs, CSV or sdegen-crystals .h5) into *out; prints a one-line
 * error and returns an exit code on failure. *skipped = CSV rows skipped, *undecodable = .h5
 * records that hold no crystal (both may be NULL). */
static int load_crystals_ex(const char *cmd, const char *path, sdg_crystal_list **out, size_t *skipped,
                            size_t *undecodable) {
    size_t dummy_skip = 0, dummy_und = 0;
    if (!skipped) skipped = &dummy_skip;
    if (!undecodable) undecodable = &dummy_und;
    *skipped = 0;
    *undecodable = 0;
    sdg_crystal_list *l = calloc(1, sizeof *l);
    size_t            cap = 0;
    if (!l) return 1;
    if (is_dir(path)) {
        DIR *d = opendir(path);
        if (!d) {
            fprintf(stderr, "sdegen %s: %s: cannot open: %s\n", cmd, path, strerror(errno));
            free(l);
            return 1;
        }
        char **names = NULL;
        size_t n = 0, ncap = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!ends_with(e->d_name, ".cif")) continue;
            if (n == ncap) {
                ncap = ncap ? 2 * ncap : 64;
                names = realloc(names, ncap * sizeof *names);
            }
            names[n++] = strdup(e->d_name);
        }
        closedir(d);
        if (n) qsort(names, n, sizeof *names, by_name);
        int rc = 0;
        for (size_t k = 0; k < n && rc == 0; k++) {
            char              file[4096];
            sdg_crystal_list *one = NULL;
            snprintf(file, sizeof file, "%s/%s", path, names[k]);
            if (sdg_crystal_read_cif_file(file, &one) != SDG_OK) {
                fprintf(stderr, "sdegen %s: %s\n", cmd, sdg_errmsg());
                rc = 1;
            } else if (take_all(l, one, &cap) != 0) {
                rc = 1;
            }
            sdg_crystal_list_free(one);
        }
        for (size_t k = 0; k < n; k++) free(names[k]);
        free(names);
        if (rc == 0 && l->count == 0) {
            fprintf(stderr, "sdegen %s: %s: no .cif files\n", cmd, path);
            rc = 1;
        }
        if (rc) {
            sdg_crystal_list_free(l);
            return rc;
        }
    } else if (ends_with(path, ".h5")) {
        int rc = load_h5(cmd, path, l, undecodable);
        if (rc) {
            free(l);
            return rc;
        }
    } else if (ends_with(path, ".csv")) {
        sdg_crystal_dataset *ds = NULL;
        if (sdg_crystal_dataset_read_csv(path, NULL, &ds) != SDG_OK) {
            fprintf(stderr, "sdegen %s: %s\n", cmd, sdg_errmsg());
            free(l);
            return 1;
        }
        l->items = ds->crystals;
        l->count = ds->count;
        for (size_t k = 0; k < ds->count; k++) {
            sdg_crystal_set_name(ds->crystals[k], ds->ids[k]);
            free(ds->ids[k]);
        }
        ds->crystals = NULL;
        ds->count = 0;
        *skipped = ds->n_skipped;
        if (ds->n_skipped)
            fprintf(stderr, "sdegen %s: %s: %zu malformed rows skipped (first: %s)\n", cmd, path, ds->n_skipped,
                    ds->skip_reasons[0] ? ds->skip_reasons[0] : "?");
        sdg_crystal_dataset_free(ds);
    } else {
        sdg_crystal_list *one = NULL;
        if (sdg_crystal_read_cif_file(path, &one) != SDG_OK) {
            fprintf(stderr, "sdegen %s: %s\n", cmd, sdg_errmsg());
            free(l);
            return 1;
        }
        free(l);
        l = one;
    }
    *out = l;
    return 0;
}

static int load_crystals(const char *cmd, const char *path, sdg_crystal_list **out, size_t *skipped) {
    return load_crystals_ex(cmd, path, out, skipped, NULL);
}

typedef struct sg_count {
    int     number;
    char    symbol[16];
    int64_t count;
} sg_count;

static int by_count(const void *a, const void *b) {
    const sg_count *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return x->number - y->number;
}

/* --property: the reference set is every split of the dataset present under data (train, val,
 * test; docs/crystals.md "Property by dataset neighbour"), each crystal with its value of prop. */
typedef struct prop_ref {
    sdg_crystal_dataset *d[3];
    sdg_crystal_knn     *knn;
    char                 splits[32];   /* "train+val+test"                         */
    size_t               n;            /* reference crystals with a value          */
    double               mean, sd;     /* of prop over them (sd with n - 1)        */
} prop_ref;

static void prop_ref_destroy(prop_ref *r) {
    for (int s = 0; s < 3; s++) sdg_crystal_dataset_free(r->d[s]);
    sdg_crystal_knn_free(r->knn);
}

/* Mean and sample standard deviation (n - 1; 0 for n < 2) of x[0..n). */
static void mean_sd(const double *x, size_t n, double *mean, double *sd) {
    double m = 0, ss = 0;
    for (size_t i = 0; i < n; i++) m += x[i];
    m = n ? m / (double)n : NAN;
    for (size_t i = 0; i < n; i++) ss += (x[i] - m) * (x[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
}

/* 0, 1 (work failed) or 2 (unknown property), after a one-line error. */
static int prop_ref_load(const cli_crystal_ds *ds, const char *data, const char *prop, size_t k, prop_ref *r) {
    static const char *const splits[3] = {"train", "val", "test"};
    const sdg_crystal      **cs = NULL;
    double                  *v = NULL, *fin = NULL;
    size_t                   total = 0, nfin = 0;
    int                      rc = 1;
    for (int s = 0; s < 3; s++) {
        char dir[4096];
        if (cli_crystal_ds_dir(data, ds, splits[s], dir, sizeof dir)) continue;
        if (sdg_crystal_dataset_load(dir, splits[s], NULL, &r->d[s]) != SDG_OK) {
            fprintf(stderr, "sdegen eval crystals: --property: %s\n", sdg_errmsg());
            return 1;
        }
        size_t col = 0;
        if (sdg_crystal_dataset_prop(r->d[s], prop, &col) != SDG_OK) {
            const sdg_crystal_dataset *d = r->d[s];
            fprintf(stderr, "sdegen eval crystals: --property: dataset %s (%s/%s.csv) has no property '%s' (", ds->name,
                    dir, splits[s], prop);
            for (size_t j = 0; j < d->n_props; j++) fprintf(stderr, "%s%s", j ? ", " : "", d->prop_names[j]);
            fprintf(stderr, ")\n");
            return 2;
        }
        snprintf(r->splits + strlen(r->splits), sizeof r->splits - strlen(r->splits), "%s%s", *r->splits ? "+" : "",
                 splits[s]);
        total += r->d[s]->count;
    }
    if (!*r->splits) {
        cli_crystal_ds_missing("eval crystals", data, ds, "train|val|test");
        return 1;
    }
    cs = malloc((total + 1) * sizeof *cs);
    v = malloc((total + 1) * sizeof *v);
    fin = malloc((total + 1) * sizeof *fin);
    if (!cs || !v || !fin) {
        fprintf(stderr, "sdegen eval crystals: out of memory\n");
        goto done;
    }
    total = 0;
    for (int s = 0; s < 3; s++) {
        const sdg_crystal_dataset *d = r->d[s];
        size_t                     col = 0;
        if (!d || sdg_crystal_dataset_prop(d, prop, &col) != SDG_OK) continue;
        for (size_t i = 0; i < d->count; i++) {
            cs[total] = d->crystals[i];
            v[total] = d->props[i * d->n_props + col];
            if (isfinite(v[total])) fin[nfin++] = v[total];
            total++;
        }
    }
    if (nfin == 0) {
        fprintf(stderr, "sdegen eval crystals: --property: no crystal of %s (%s) has a numeric value of '%s'\n",
                ds->name, r->splits, prop);
        rc = 2;
        goto done;
    }
    sdg_crystal_knn_params kp = sdg_crystal_knn_default_params();
    kp.k = k;
    if (sdg_crystal_knn_new(cs, v, total, &kp, &r->knn) != SDG_OK) {
        fprintf(stderr, "sdegen eval crystals: --property: %s\n", sdg_errmsg());
        goto done;
    }
    r->n = nfin;
    mean_sd(fin, nfin, &r->mean, &r->sd);
    rc = 0;
done:
    free(cs), free(v), free(fin);
    return rc;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Number of distinct elements of c. */
static double n_elements(const sdg_crystal *c) {
    bool seen[119] = {false};
    int  n = 0;
    for (int64_t i = 0; i < c->n_atoms; i++)
        if (c->z[i] >= 1 && c->z[i] <= 118 && !seen[c->z[i]]) seen[c->z[i]] = true, n++;
    return n;
}

int cli_eval_crystals(int argc, char **argv) {
    const char *path = NULL, *tables = NULL, *table_out = NULL, *ref = NULL, *train = NULL, *dataset = NULL,
               *data_opt = NULL, *prop = NULL;
    double           symprec = 0.1;
    long             knn_k = (long)sdg_crystal_knn_default_params().k;
    sdg_match_params mp = sdg_match_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool        has = i + 1 < argc;
        if (strcmp(a, "--symprec") == 0 && has) {
            if (cli_parse_double(argv[++i], "--symprec", 1e-6, 10, &symprec)) return 2;
        } else if (strcmp(a, "--ltol") == 0 && has) {
            if (cli_parse_double(argv[++i], "--ltol", 1e-3, 0.9, &mp.ltol)) return 2;
        } else if (strcmp(a, "--stol") == 0 && has) {
            if (cli_parse_double(argv[++i], "--stol", 1e-3, 0.9, &mp.stol)) return 2;
        } else if (strcmp(a, "--angle-tol") == 0 && has) {
            if (cli_parse_double(argv[++i], "--angle-tol", 1e-3, 44, &mp.angle_tol)) return 2;
        } else if (strcmp(a, "--tables") == 0 && has) {
            tables = argv[++i];
        } else if (strcmp(a, "--table") == 0 && has) {
            table_out = argv[++i];
        } else if (strcmp(a, "--ref") == 0 && has) {
            ref = argv[++i];
        } else if (strcmp(a, "--train") == 0 && has) {
            train = argv[++i];
        } else if (strcmp(a, "--dataset") == 0 && has) {
            dataset = argv[++i];
        } else if (strcmp(a, "--data") == 0 && has) {
            data_opt = argv[++i];
        } else if (strcmp(a, "--property") == 0 && has) {
            prop = argv[++i];
        } else if (strcmp(a, "--k") == 0 && has) {
            if (cli_parse_long(argv[++i], "--k", 1, 100000, &knn_k)) return 2;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(eval_crystals_usage, stdout);
            return 0;
        } else if (a[0] == '-' || path) {
            fprintf(stderr, "sdegen eval crystals: unexpected argument '%s' (see sdegen eval crystals --help)\n", a);
            return 2;
        } else {
            path = a;
        }
    }
    if (!path) {
        fputs(eval_crystals_usage, stderr);
        return 2;
    }
    if (data_opt && !dataset) {
        fprintf(stderr, "sdegen eval crystals: --data needs --dataset perov_5|carbon_24|mp_20\n");
        return 2;
    }
    if (prop && !dataset) {
        fprintf(stderr, "sdegen eval crystals: --property needs --dataset NAME (%s): the reference set\n",
                cli_crystal_ds_names);
        return 2;
    }
    char ref_buf[4200], train_buf[4200], dir_buf[4096], train_note[160] = "";
    const cli_crystal_ds *ds = NULL;
    const char           *data = NULL;
    if (dataset) {
        if (!(ds = cli_crystal_ds_find(dataset))) {
            fprintf(stderr, "sdegen eval crystals: --dataset: unknown dataset '%s' (%s)\n", dataset, cli_crystal_ds_names);
            return 2;
        }
        if (!(data = cli_data_dir(data_opt))) {
            fprintf(stderr, "sdegen eval crystals: --dataset %s: give --data DIR or set SDEGEN_DATA\n", dataset);
            return 2;
        }
        if (!ref) {
            if (cli_crystal_ds_dir(data, ds, "test", dir_buf, sizeof dir_buf)) {
                cli_crystal_ds_missing("eval crystals", data, ds, "test");
                return 1;
            }
            snprintf(ref_buf, sizeof ref_buf, "%s/test.csv", dir_buf);
            ref = ref_buf;
        }
        if (!train) {
            if (cli_crystal_ds_dir(data, ds, ds->train_split, dir_buf, sizeof dir_buf)) {
                cli_crystal_ds_missing("eval crystals", data, ds, ds->train_split);
                return 1;
            }
            snprintf(train_buf, sizeof train_buf, "%s/%s.csv", dir_buf, ds->train_split);
            train = train_buf;
            snprintf(train_note, sizeof train_note, ", %s's %s split: the one sdegen train crystal trains on%s", ds->name,
                     ds->train_split, strcmp(ds->train_split, "val") == 0 ? " here (no train split)" : "");
        }
    }

    int                 rc = 0;
    sdg_element_table  *t = NULL;
    sdg_crystal_list   *l = NULL, *lref = NULL, *ltrain = NULL;
    sdg_match_index    *uniq = NULL, *tidx = NULL;
    FILE               *tf = NULL;
    double             *rho = NULL, *nel = NULL, *rrho = NULL, *rnel = NULL, *pred = NULL;
    bool               *valid = NULL;
    prop_ref            pr;
    size_t              n_exact = 0;
    memset(&pr, 0, sizeof pr);
    size_t              skipped = 0, undecodable = 0, rskip = 0, rund = 0, tskip = 0, tund = 0;
    bool                table_stdout = table_out && strcmp(table_out, "-") == 0;
    if (sdg_element_table_load(tables, &t) != SDG_OK) {
        fprintf(stderr, "sdegen eval crystals: %s\n", sdg_errmsg());
        return 1;
    }
    if ((rc = load_crystals_ex("eval crystals", path, &l, &skipped, &undecodable))) goto done;
    if (prop && (rc = prop_ref_load(ds, data, prop, (size_t)knn_k, &pr))) goto done;
    if (ref && (rc = load_crystals_ex("eval crystals", ref, &lref, &rskip, &rund))) goto done;
    if (train && (rc = load_crystals_ex("eval crystals", train, &ltrain, &tskip, &tund))) goto done;
    if (table_out) {
        if (table_stdout) tf = stdout;
        else if (!(tf = fopen(table_out, "w"))) {
            fprintf(stderr, "sdegen eval crystals: %s: cannot create: %s\n", table_out, strerror(errno));
            rc = 1;
            goto done;
        }
        fprintf(tf, "name\tformula\tsites\tspacegroup\tsymbol\tmin_distance\tvolume\tstructural\tcompositional\tvalid%s%s%s\n",
                prop ? "\t" : "", prop ? prop : "", prop ? "_by_neighbour\texact_composition" : "");
    }
    sdg_validity_params vp = sdg_validity_default_params();
    size_t              ns = 0, nc = 0, nv = 0, nfail = 0;
    sg_count            sg[231];
    for (int k = 0; k < 231; k++) sg[k] = (sg_count){k, "", 0};
    rho = malloc((l->count + 1) * sizeof *rho);
    nel = malloc((l->count + 1) * sizeof *nel);
    valid = calloc(l->count + 1, sizeof *valid);
    pred = malloc((l->count + 1) * sizeof *pred);
    if (!rho || !nel || !valid || !pred) {
        fprintf(stderr, "sdegen eval crystals: out of memory\n");
        rc = 1;
        goto done;
    }
    for (size_t k = 0; k < l->count; k++) {
        const sdg_crystal   *c = l->items[k];
        sdg_crystal_validity v;
        if (sdg_crystal_check_validity(c, t, &vp, &v) != SDG_OK) {
            fprintf(stderr, "sdegen eval crystals: crystal %zu (%s): %s\n", k + 1, c->name ? c->name : "-", sdg_errmsg());
            rc = 1;
            break;
        }
        ns += v.structural;
        nc += v.compositional;
        if (v.valid) {
            if (sdg_crystal_density(c, t, &rho[nv]) != SDG_OK) {
                fprintf(stderr, "sdegen eval crystals: crystal %zu (%s): %s\n", k + 1, c->name ? c->name : "-", sdg_errmsg());
                rc = 1;
                break;
            }
            nel[nv] = n_elements(c);
            valid[k] = true;
            nv++;
        }
        sdg_crystal_knn_result kr = {.exact = false};
        if (prop) {
            if (sdg_crystal_knn_predict(pr.knn, c, NULL, 0, &kr) != SDG_OK) {
                fprintf(stderr, "sdegen eval crystals: crystal %zu (%s): --property: %s\n", k + 1, c->name ? c->name : "-",
                        sdg_errmsg());
                rc = 1;
                break;
            }
            pred[k] = kr.value;
            n_exact += kr.exact;
        }
        sdg_spacegroup g;
        if (sdg_crystal_spacegroup(c, symprec, &g) == SDG_OK) {
            sg[g.number].count++;
            snprintf(sg[g.number].symbol, sizeof sg[g.number].symbol, "%s", g.symbol);
        } else {
            nfail++;
            g = (sdg_spacegroup){.number = 0, .symbol = "-"};
        }
        if (tf) {
            char *formula = NULL;
            if (sdg_crystal_formula(c, &formula) != SDG_OK) formula = NULL;
            fprintf(tf, "%s\t%s\t%lld\t%d\t%s\t%.4f\t%.4f\t%d\t%d\t%d", c->name ? c->name : "-",
                    formula ? formula : "-", (long long)c->n_atoms, g.number, g.symbol, v.min_distance, v.volume,
                    v.structural, v.compositional, v.valid);
            if (prop) fprintf(tf, "\t%.6g\t%d", kr.value, kr.exact);
            fputc('\n', tf);
            free(formula);
        }
        if (cli_progress_enabled() && k % 100 == 0) cli_progress("eval crystals: validity %zu / %zu", k, l->count);
    }
    cli_progress_end();
    if (tf && (table_stdout ? fflush(tf) : fclose(tf)) != 0 && rc == 0) {
        fprintf(stderr, "sdegen eval crystals: %s: write error\n", table_out);
        rc = 1;
    }
    tf = NULL;
    if (rc) goto done;

    /* uniqueness over the valid crystals: each is compared with the earlier unique ones */
    size_t n_unique = 0, n_novel = 0;
    bool  *unique = calloc(l->count + 1, sizeof *unique);
    if (!unique || sdg_match_index_new(&mp, &uniq) != SDG_OK) {
        free(unique);
        fprintf(stderr, "sdegen eval crystals: %s\n", unique ? sdg_errmsg() : "out of memory");
        rc = 1;
        goto done;
    }
    double t0 = cli_now();
    for (size_t k = 0; k < l->count && rc == 0; k++) {
        if (!valid[k]) continue;
        bool found = false;
        if (sdg_match_index_find_or_add(uniq, l->items[k], &found, NULL) != SDG_OK) {
            fprintf(stderr, "sdegen eval crystals: crystal %zu (%s): matching: %s\n", k + 1,
                    l->items[k]->name ? l->items[k]->name : "-", sdg_errmsg());
            rc = 1;
        }
        unique[k] = !found;
        n_unique += !found;
        if (cli_progress_enabled() && k % 50 == 0) cli_progress("eval crystals: uniqueness %zu / %zu", k, l->count);
    }
    double t_unique = cli_now() - t0;
    /* novelty of the unique valid crystals against every training crystal */
    double t_novel = 0;
    if (rc == 0 && ltrain) {
        t0 = cli_now();
        if (sdg_match_index_new(&mp, &tidx) != SDG_OK) rc = 1;
        for (size_t k = 0; k < ltrain->count && rc == 0; k++)
            if (sdg_match_index_add(tidx, ltrain->items[k], NULL) != SDG_OK) {
                fprintf(stderr, "sdegen eval crystals: %s: crystal %zu (%s): %s\n", train, k + 1,
                        ltrain->items[k]->name ? ltrain->items[k]->name : "-", sdg_errmsg());
                rc = 1;
            }
        for (size_t k = 0; k < l->count && rc == 0; k++) {
            if (!unique[k]) continue;
            bool found = false;
            if (sdg_match_index_find(tidx, l->items[k], &found, NULL) != SDG_OK) {
                fprintf(stderr, "sdegen eval crystals: crystal %zu (%s): matching: %s\n", k + 1,
                        l->items[k]->name ? l->items[k]->name : "-", sdg_errmsg());
                rc = 1;
            }
            n_novel += !found;
            if (cli_progress_enabled() && k % 50 == 0) cli_progress("eval crystals: novelty %zu / %zu", k, l->count);
        }
        t_novel = cli_now() - t0;
    }
    cli_progress_end();
    free(unique);
    if (rc) goto done;
    /* distributions against the reference set */
    double w_rho = NAN, w_nel = NAN;
    if (lref) {
        rrho = malloc((lref->count + 1) * sizeof *rrho);
        rnel = malloc((lref->count + 1) * sizeof *rnel);
        if (!rrho || !rnel) {
            fprintf(stderr, "sdegen eval crystals: out of memory\n");
            rc = 1;
            goto done;
        }
        for (size_t k = 0; k < lref->count; k++) {
            if (sdg_crystal_density(lref->items[k], t, &rrho[k]) != SDG_OK) {
                fprintf(stderr, "sdegen eval crystals: %s: crystal %zu (%s): %s\n", ref, k + 1,
                        lref->items[k]->name ? lref->items[k]->name : "-", sdg_errmsg());
                rc = 1;
                goto done;
            }
            rnel[k] = n_elements(lref->items[k]);
        }
        if (nv > 0 && lref->count > 0) {
            if (sdg_wasserstein1(rho, nv, rrho, lref->count, &w_rho) != SDG_OK ||
                sdg_wasserstein1(nel, nv, rnel, lref->count, &w_nel) != SDG_OK) {
                fprintf(stderr, "sdegen eval crystals: %s\n", sdg_errmsg());
                rc = 1;
                goto done;
            }
        }
    }

    size_t total = l->count + undecodable;
    double n = total ? (double)total : 1;
    if (undecodable)
        printf("crystals: %zu  (%s: %zu records, %zu undecodable, counted invalid)\n", total, path, total, undecodable);
    else
        printf("crystals: %zu  (%s%s)\n", total, path, skipped ? ", malformed rows skipped: see stderr" : "");
    printf("structural validity:    %6.2f %%  (%zu)  rule: shortest interatomic distance >= %.1f A over all pairs "
           "and periodic images, and cell volume >= %.1f A^3\n",
           100.0 * (double)ns / n, ns, vp.min_distance, vp.min_volume);
    printf("compositional validity: %6.2f %%  (%zu)  rule: SMACT (CDVAE's smact_validity): one element, or all "
           "metals, or a charge-neutral assignment of SMACT's default oxidation states passing the Pauling "
           "electronegativity test\n",
           100.0 * (double)nc / n, nc);
    printf("overall validity:       %6.2f %%  (%zu)  rule: structurally and compositionally valid\n",
           100.0 * (double)nv / n, nv);
    printf("uniqueness:             %6.2f %%  (%zu of %zu valid)  rule: valid crystals that match no earlier unique "
           "valid crystal (structure matcher below; denominator: the valid crystals, as CDVAE and DiffCSP)\n",
           nv ? 100.0 * (double)n_unique / (double)nv : 0.0, n_unique, nv);
    if (ltrain)
        printf("novelty:                %6.2f %%  (%zu of %zu unique valid)  rule: unique valid crystals that match no "
               "crystal of the training set (%zu crystals)\n",
               n_unique ? 100.0 * (double)n_novel / (double)n_unique : 0.0, n_novel, n_unique, ltrain->count);
    if (lref) {
        if (nv > 0)
            printf("density W1:             %.4f g/cm^3  rule: exact Wasserstein-1 distance between the empirical "
                   "densities of the %zu valid generated and the %zu reference crystals (as scipy.stats."
                   "wasserstein_distance; masses from the element table)\n",
                   w_rho, nv, lref->count);
        else printf("density W1:             -  (no valid generated crystal)\n");
        if (nv > 0)
            printf("elements W1:            %.4f  rule: the same distance between the numbers of distinct elements "
                   "per crystal\n",
                   w_nel);
        else printf("elements W1:            -  (no valid generated crystal)\n");
    }
    if (prop) {
        double pm = NAN, psd = NAN, pmed = NAN;
        size_t np = l->count;
        if (np) {
            mean_sd(pred, np, &pm, &psd);
            qsort(pred, np, sizeof *pred, by_value);
            pmed = np % 2 ? pred[np / 2] : 0.5 * (pred[np / 2 - 1] + pred[np / 2]);
        }
        printf("property:               %s by dataset neighbour: the mean of the %ld nearest of %zu %s crystals "
               "(%s) under the L1 distance of fractional compositions\n",
               prop, knn_k, pr.n, ds->name, pr.splits);
        printf("property n:             %zu  (every decoded crystal, valid or not%s)\n", np,
               undecodable ? "; undecodable records left out" : "");
        printf("property mean:          %.4f\n", pm);
        printf("property median:        %.4f\n", pmed);
        printf("property sd:            %.4f  (n - 1)\n", psd);
        printf("property exact match:   %6.2f %%  (%zu of %zu)  rule: some reference crystal has the same reduced "
               "composition\n",
               np ? 100.0 * (double)n_exact / (double)np : 0.0, n_exact, np);
        printf("property dataset mean:  %.4f  (%zu %s crystals, %s)\n", pr.mean, pr.n, ds->name, pr.splits);
        printf("property dataset sd:    %.4f  (n - 1)\n", pr.sd);
    }
    qsort(sg + 1, 230, sizeof sg[0], by_count);
    int distinct = 0;
    for (int k = 1; k <= 230; k++) distinct += sg[k].count > 0;
    printf("space groups (spglib, symprec %g A): %d distinct; top 10 by count:\n", symprec, distinct);
    for (int k = 1; k <= 10 && k <= 230 && sg[k].count > 0; k++)
        printf("  %3d  %-12s %8lld  %6.2f %%\n", sg[k].number, sg[k].symbol, (long long)sg[k].count,
               100.0 * (double)sg[k].count / n);
    if (nfail) printf("  no space group found by spglib: %zu\n", nfail);
    printf("protocol: %zu generated crystals (%zu decoded, %zu valid) from %s\n", total, l->count, nv, path);
    if (lref)
        printf("protocol: reference %s: %zu crystals%s\n", ref, lref->count,
               rund ? " (undecodable records left out)" : "");
    if (ltrain) printf("protocol: training set %s: %zu crystals%s\n", train, ltrain->count, train_note);
    if (prop)
        printf("protocol: property %s by dataset neighbour (k %ld; docs/crystals.md): reference = every split of %s "
               "present (%s: %zu crystals with a value%s), all of them available to the model's user; a proxy "
               "for the property, not a calculation\n",
               prop, knn_k, ds->name, pr.splits, pr.n,
               sdg_crystal_knn_skipped(pr.knn) ? ", crystals without one left out" : "");
    printf("protocol: validity and space groups at symprec %g A; structure matcher ltol %g, stol %g, angle_tol %g deg, "
           "primitive cells (%g A), Niggli-reduced, volumes scaled (pymatgen StructureMatcher's defaults; "
           "docs/crystals.md \"Evaluation\"); %zu + %zu full comparisons\n",
           symprec, mp.ltol, mp.stol, mp.angle_tol, mp.primitive_tol, sdg_match_index_comparisons(uniq),
           sdg_match_index_comparisons(tidx));
    fprintf(stderr, "sdegen eval crystals: matching took %.2f s (uniqueness) + %.2f s (novelty)\n", t_unique, t_novel);
done:
    if (tf && !table_stdout) fclose(tf);
    sdg_match_index_free(uniq);
    sdg_match_index_free(tidx);
    free(rho), free(nel), free(rrho), free(rnel), free(valid), free(pred);
    prop_ref_destroy(&pr);
    sdg_crystal_list_free(l);
    sdg_crystal_list_free(lref);
    sdg_crystal_list_free(ltrain);
    sdg_element_table_free(t);
    return rc;
}

int cli_cif(int argc, char **argv) {
    const char    *in = NULL, *out = NULL;
    sdg_cif_params p = sdg_cif_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--symmetrize") == 0) {
            p.symmetrize = true;
        } else if (strcmp(a, "--symprec") == 0 && i + 1 < argc) {
            if (cli_parse_double(argv[++i], "--symprec", 1e-6, 10, &p.symprec)) return 2;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(cif_usage, stdout);
            return 0;
        } else if ((a[0] == '-' && a[1] != '\0') || (in && out)) {
            fprintf(stderr, "sdegen cif: unexpected argument '%s' (see sdegen cif --help)\n", a);
            return 2;
        } else if (!in) {
            in = a;
        } else {
            out = a;
        }
    }
    if (!in || !out) {
        fputs(cif_usage, stderr);
        return 2;
    }
    sdg_crystal_list *l = NULL;
    size_t            skipped = 0;
    int               rc = load_crystals("cif", in, &l, &skipped);
    if (rc) return rc;
    bool  to_stdout = strcmp(out, "-") == 0;
    bool  dir = !to_stdout && is_dir(out);
    FILE *f   = to_stdout ? stdout : NULL;
    if (!dir && !to_stdout && !(f = fopen(out, "w"))) {
        fprintf(stderr, "sdegen cif: %s: cannot create: %s\n", out, strerror(errno));
        sdg_crystal_list_free(l);
        return 1;
    }
    for (size_t k = 0; k < l->count && rc == 0; k++) {
        char file[4096];
        if (dir) {
            const char *name = l->items[k]->name ? l->items[k]->name : "crystal";
            char        safe[80];
            size_t      n = 0;
            for (const char *s = name; *s && n < sizeof safe - 1; s++)
                safe[n++] = (*s == '/' || *s == ' ' || *s == '\\') ? '_' : *s;
            safe[n] = '\0';
            snprintf(file, sizeof file, "%s/%06zu_%s.cif", out, k + 1, safe);
            if (!(f = fopen(file, "w"))) {
                fprintf(stderr, "sdegen cif: %s: cannot create: %s\n", file, strerror(errno));
                rc = 1;
                break;
            }
        }
        if (sdg_crystal_write_cif(f, l->items[k], &p) != SDG_OK) {
            fprintf(stderr, "sdegen cif: crystal %zu (%s): %s\n", k + 1, l->items[k]->name ? l->items[k]->name : "-",
                    sdg_errmsg());
            rc = 1;
        }
        if (dir) {
            if (fclose(f) != 0 && rc == 0) {
                fprintf(stderr, "sdegen cif: %s: write error\n", file);
                rc = 1;
            }
            f = NULL;
        }
    }
    if (f && (to_stdout ? fflush(f) : fclose(f)) != 0 && rc == 0) {
        fprintf(stderr, "sdegen cif: %s: write error\n", out);
        rc = 1;
    }
    if (rc == 0 && !to_stdout) printf("%s: %zu crystals (%s)\n", out, l->count, p.symmetrize ? "symmetrised" : "P1");
    sdg_crystal_list_free(l);
    return rc;
}
