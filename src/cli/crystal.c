/* sdegen eval crystals PATH: structural, compositional and overall validity and the
 * space-group distribution of a set of crystals, each number with its rule.
 * sdegen cif IN OUT [--symmetrize]: CIF (or CDVAE CSV) to CIF 1.1, P1 or symmetrised. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "cli/cli.h"

static const char *eval_crystals_usage =
    "usage: sdegen eval crystals PATH [--symprec X] [--tables FILE] [--table OUT.tsv]\n"
    "  PATH  a CIF file (every data block), a directory of .cif files, or a CDVAE CSV (cif column)\n"
    "  --symprec X   spglib distance tolerance in Angstrom (default 0.1)\n"
    "  --tables FILE element table for the SMACT rule (default: data/elements.tsv, $SDEGEN_TABLES)\n"
    "  --table OUT   also write one tab-separated line per crystal: name, formula, sites, space\n"
    "                group number and symbol, shortest distance, volume, the three verdicts\n"
    "                (- : standard output, before the summary)\n";

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

/* Reads PATH (CIF, directory of CIFs or CSV) into *out; prints a one-line error and returns
 * an exit code on failure. *skipped = CSV rows skipped. */
static int load_crystals(const char *cmd, const char *path, sdg_crystal_list **out, size_t *skipped) {
    *skipped = 0;
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

int cli_eval_crystals(int argc, char **argv) {
    const char *path = NULL, *tables = NULL, *table_out = NULL;
    double      symprec = 0.1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--symprec") == 0 && i + 1 < argc) {
            if (cli_parse_double(argv[++i], "--symprec", 1e-6, 10, &symprec)) return 2;
        } else if (strcmp(a, "--tables") == 0 && i + 1 < argc) {
            tables = argv[++i];
        } else if (strcmp(a, "--table") == 0 && i + 1 < argc) {
            table_out = argv[++i];
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
    sdg_element_table *t = NULL;
    if (sdg_element_table_load(tables, &t) != SDG_OK) {
        fprintf(stderr, "sdegen eval crystals: %s\n", sdg_errmsg());
        return 1;
    }
    sdg_crystal_list *l = NULL;
    size_t            skipped = 0;
    int               rc = load_crystals("eval crystals", path, &l, &skipped);
    if (rc) {
        sdg_element_table_free(t);
        return rc;
    }
    FILE *tf = NULL;
    bool table_stdout = table_out && strcmp(table_out, "-") == 0;
    if (table_out) {
        if (table_stdout) tf = stdout;
        else if (!(tf = fopen(table_out, "w"))) {
            fprintf(stderr, "sdegen eval crystals: %s: cannot create: %s\n", table_out, strerror(errno));
            sdg_crystal_list_free(l);
            sdg_element_table_free(t);
            return 1;
        }
        fprintf(tf, "name\tformula\tsites\tspacegroup\tsymbol\tmin_distance\tvolume\tstructural\tcompositional\tvalid\n");
    }
    sdg_validity_params vp = sdg_validity_default_params();
    size_t              ns = 0, nc = 0, nv = 0, nfail = 0;
    sg_count            sg[231];
    for (int k = 0; k < 231; k++) sg[k] = (sg_count){k, "", 0};
    for (size_t k = 0; k < l->count; k++) {
        sdg_crystal_validity v;
        if (sdg_crystal_check_validity(l->items[k], t, &vp, &v) != SDG_OK) {
            fprintf(stderr, "sdegen eval crystals: crystal %zu (%s): %s\n", k + 1,
                    l->items[k]->name ? l->items[k]->name : "-", sdg_errmsg());
            rc = 1;
            break;
        }
        ns += v.structural;
        nc += v.compositional;
        nv += v.valid;
        sdg_spacegroup g;
        if (sdg_crystal_spacegroup(l->items[k], symprec, &g) == SDG_OK) {
            sg[g.number].count++;
            snprintf(sg[g.number].symbol, sizeof sg[g.number].symbol, "%s", g.symbol);
        } else {
            nfail++;
            g = (sdg_spacegroup){.number = 0, .symbol = "-"};
        }
        if (tf) {
            char *formula = NULL;
            if (sdg_crystal_formula(l->items[k], &formula) != SDG_OK) formula = NULL;
            fprintf(tf, "%s\t%s\t%lld\t%d\t%s\t%.4f\t%.4f\t%d\t%d\t%d\n",
                    l->items[k]->name ? l->items[k]->name : "-", formula ? formula : "-",
                    (long long)l->items[k]->n_atoms, g.number, g.symbol, v.min_distance, v.volume, v.structural,
                    v.compositional, v.valid);
            free(formula);
        }
        if (cli_progress_enabled() && k % 100 == 0) cli_progress("eval crystals: %zu / %zu", k, l->count);
    }
    cli_progress_end();
    if (tf && (table_stdout ? fflush(tf) : fclose(tf)) != 0 && rc == 0) {
        fprintf(stderr, "sdegen eval crystals: %s: write error\n", table_out);
        rc = 1;
    }
    if (rc == 0) {
        double n = l->count ? (double)l->count : 1;
        printf("crystals: %zu  (%s%s)\n", l->count, path, skipped ? ", malformed rows skipped: see stderr" : "");
        printf("structural validity:    %6.2f %%  (%zu)  rule: shortest interatomic distance >= %.1f A over all pairs "
               "and periodic images, and cell volume >= %.1f A^3\n",
               100.0 * (double)ns / n, ns, vp.min_distance, vp.min_volume);
        printf("compositional validity: %6.2f %%  (%zu)  rule: SMACT (CDVAE's smact_validity): one element, or all "
               "metals, or a charge-neutral assignment of SMACT's default oxidation states passing the Pauling "
               "electronegativity test\n",
               100.0 * (double)nc / n, nc);
        printf("overall validity:       %6.2f %%  (%zu)  rule: structurally and compositionally valid\n",
               100.0 * (double)nv / n, nv);
        qsort(sg + 1, 230, sizeof sg[0], by_count);
        int distinct = 0;
        for (int k = 1; k <= 230; k++) distinct += sg[k].count > 0;
        printf("space groups (spglib, symprec %g A): %d distinct; top 10 by count:\n", symprec, distinct);
        for (int k = 1; k <= 10 && k <= 230 && sg[k].count > 0; k++)
            printf("  %3d  %-12s %8lld  %6.2f %%\n", sg[k].number, sg[k].symbol, (long long)sg[k].count,
                   100.0 * (double)sg[k].count / n);
        if (nfail) printf("  no space group found by spglib: %zu\n", nfail);
    }
    sdg_crystal_list_free(l);
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
