/* QM9 in 3-D (docs/molecules3d.md "Data"): the force-field conformers (SDF) or the DFT subset
 * (XYZ), joined on gdb_k with the property CSVs, and the split. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "molecule/internal.h"

static const char *const prop_names[SDG_QM9_PROP_COUNT] = {"mu", "alpha", "homo", "lumo", "gap", "cv"};
static const char *const prop_units[SDG_QM9_PROP_COUNT] = {"D", "Bohr^3", "Hartree", "Hartree",
                                                           "Hartree", "cal/(mol K)"};

const char *sdg_qm9_prop_name(sdg_qm9_prop p) {
    return (unsigned)p < SDG_QM9_PROP_COUNT ? prop_names[p] : NULL;
}
const char *sdg_qm9_prop_unit(sdg_qm9_prop p) {
    return (unsigned)p < SDG_QM9_PROP_COUNT ? prop_units[p] : NULL;
}
sdg_status sdg_qm9_prop_find(const char *name, sdg_qm9_prop *out) {
    if (!name || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_qm9_prop_find: NULL argument");
    for (int k = 0; k < SDG_QM9_PROP_COUNT; k++)
        if (strcasecmp(name, prop_names[k]) == 0 || (k == SDG_QM9_PROP_CV && strcasecmp(name, "Cv") == 0)) {
            *out = (sdg_qm9_prop)k;
            return SDG_OK;
        }
    return SDG_ERROR(SDG_ERR_NOTFOUND, "unknown QM9 property '%s' (mu, alpha, homo, lumo, gap, cv)", name);
}

sdg_mol3d_dataset_params sdg_mol3d_dataset_default_params(void) {
    return (sdg_mol3d_dataset_params){.max_records = 0, .val_fraction = 0.1, .seed = 42};
}

void sdg_mol3d_dataset_free(sdg_mol3d_dataset *d) {
    if (!d) return;
    for (size_t k = 0; k < d->count; k++) sdg_mol_free(d->mols[k]);
    free(d->mols);
    free(d->gdb);
    free(d->props);
    free(d->split);
    free(d->propmolflow_a);
    free(d);
}

int64_t sdg_qm9_gdb_index(const char *s) {
    if (!s || strncmp(s, "gdb_", 4) != 0 || !isdigit((unsigned char)s[4])) return -1;
    return strtoll(s + 4, NULL, 10);
}

sdg_status sdg_qm9_read_props(const char *path, const int64_t *pos, int64_t kmax, float *props) {
    sdg_status st = SDG_OK;
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int col_id = -1, col[SDG_QM9_PROP_COUNT];
    FILE *f = fopen(path, "r");
    if (!f) return SDG_ERROR(SDG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    for (int k = 0; k < SDG_QM9_PROP_COUNT; k++) col[k] = -1;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *fields[64];
        int nf = 0;
        for (char *p = line; nf < 64;) {
            fields[nf++] = p;
            char *c = strchr(p, ',');
            if (!c) break;
            *c = '\0';
            p = c + 1;
        }
        if (lineno == 1) {
            for (int j = 0; j < nf; j++) {
                if (strcmp(fields[j], "mol_id") == 0) col_id = j;
                for (int k = 0; k < SDG_QM9_PROP_COUNT; k++)
                    if (strcmp(fields[j], prop_names[k]) == 0) col[k] = j;
            }
            if (col_id < 0) SDG_FAIL(SDG_ERR_FORMAT, "%s: no mol_id column in the header", path);
            for (int k = 0; k < SDG_QM9_PROP_COUNT; k++)
                if (col[k] < 0) SDG_FAIL(SDG_ERR_FORMAT, "%s: no '%s' column in the header", path, prop_names[k]);
            continue;
        }
        if (nf <= col_id) continue;
        int64_t g = sdg_qm9_gdb_index(fields[col_id]);
        if (g < 1 || g > SDG_QM9_ROWS)
            SDG_FAIL(SDG_ERR_FORMAT, "%s: line %ld: mol_id '%s' is not gdb_k with k in 1..%d", path, lineno,
                     fields[col_id], SDG_QM9_ROWS);
        if (g > kmax || pos[g] == 0) continue;
        float *row = props + (size_t)(pos[g] - 1) * SDG_QM9_PROP_COUNT;
        for (int k = 0; k < SDG_QM9_PROP_COUNT; k++) {
            char *end;
            double v = col[k] < nf ? strtod(fields[col[k]], &end) : NAN;
            if (col[k] >= nf || end == fields[col[k]])
                SDG_FAIL(SDG_ERR_FORMAT, "%s: line %ld: bad '%s' value", path, lineno, prop_names[k]);
            row[k] = (float)v;
        }
    }
cleanup:
    fclose(f);
    free(line);
    return st;
}

sdg_status sdg_qm9_read_index_file(const char *path, int64_t kmax, bool *flag, size_t *count) {
    FILE *f = fopen(path, "r");
    if (!f) return SDG_ERROR(SDG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    int c;
    int64_t v = -1;
    size_t n = 0;
    while ((c = fgetc(f)) != EOF || v >= 0) {
        if (c != EOF && isdigit(c)) {
            v = (v < 0 ? 0 : v * 10) + (c - '0');
            continue;
        }
        if (v >= 0) {
            if (v + 1 <= kmax) flag[v + 1] = true;
            n++;
            v = -1;
        }
        if (c == EOF) break;
    }
    fclose(f);
    if (count) *count = n;
    return SDG_OK;
}

sdg_status sdg_mol3d_dataset_load(const char *data_dir, const char *name, const sdg_mol3d_dataset_params *params,
                                  sdg_mol3d_dataset **out) {
    sdg_status st = SDG_OK;
    sdg_mol3d_dataset *d = NULL;
    sdg_mol_list *l = NULL, *x = NULL;
    int64_t *pos = NULL, *perm = NULL, *orig = NULL;
    bool *test = NULL, *pa = NULL;
    sdg_rng *rng = NULL;
    char path[4096];
    if (!data_dir || !name || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol3d_dataset_load: NULL argument");
    sdg_mol3d_dataset_params p = params ? *params : sdg_mol3d_dataset_default_params();
    if (!(p.val_fraction >= 0 && p.val_fraction < 1))
        return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol3d_dataset_load: val_fraction %g outside [0, 1)", p.val_fraction);
    bool dft = strcmp(name, "qm9_dft") == 0;
    if (!dft && strcmp(name, "qm9_conformers") != 0)
        return SDG_ERROR(SDG_ERR_NOTFOUND, "unknown 3-D dataset '%s' (qm9_conformers, qm9_dft)", name);
    if (p.extra_sdf && dft)
        return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol3d_dataset_load: an extra SDF goes with qm9_conformers, not qm9_dft");
    snprintf(path, sizeof path, "%s/qm9/%s", data_dir, dft ? "qm9_3d_subset.xyz" : "qm9_3d_conformers.sdf");
    SDG_TRY(dft ? sdg_mol_list_read_xyz(path, &l) : sdg_mol_list_read_sdf(path, &l));
    if (p.extra_sdf) SDG_TRY(sdg_mol_list_read_sdf(p.extra_sdf, &x));
    d = calloc(1, sizeof *d);
    if (!d) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    size_t n0 = l->count, nx = x ? x->count : 0;
    if (p.max_records && p.max_records < n0) n0 = p.max_records;
    size_t n = n0 + nx;   /* the original's records first, then the extra file's */
    d->mols = calloc(n ? n : 1, sizeof *d->mols);
    d->gdb = calloc(n ? n : 1, sizeof *d->gdb);
    d->props = malloc((n ? n : 1) * SDG_QM9_PROP_COUNT * sizeof *d->props);
    d->split = calloc(n ? n : 1, sizeof *d->split);
    d->propmolflow_a = calloc(n ? n : 1, sizeof *d->propmolflow_a);
    const int64_t kmax = SDG_QM9_ROWS;
    pos = calloc((size_t)kmax + 1, sizeof *pos);
    test = calloc((size_t)kmax + 1, sizeof *test);
    pa = calloc((size_t)kmax + 1, sizeof *pa);
    perm = malloc((n ? n : 1) * sizeof *perm);
    orig = x ? calloc((size_t)kmax + 1, sizeof *orig) : NULL;
    if (!d->mols || !d->gdb || !d->props || !d->split || !d->propmolflow_a || !pos || !test || !pa || !perm ||
        (x && !orig))
        SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < n * SDG_QM9_PROP_COUNT; k++) d->props[k] = NAN;
    for (size_t j = 0; orig && j < l->count; j++) {   /* every title of the original, kept or not */
        int64_t h = sdg_qm9_gdb_index(l->mols[j]->name);
        if (h >= 1 && h <= kmax && !orig[h]) orig[h] = (int64_t)j + 1;
    }
    for (size_t k = 0; k < n; k++) {
        bool extra = k >= n0;
        size_t r = extra ? k - n0 : k;   /* record index in its own file */
        sdg_mol *m = extra ? x->mols[r] : l->mols[r];
        const char *file = extra ? p.extra_sdf : path;
        int64_t g = sdg_qm9_gdb_index(m->name);
        if (g < 1 || g > kmax)
            SDG_FAIL(SDG_ERR_FORMAT, "%s: record %zu: title '%s' is not gdb_k with k in 1..%lld", file, r + 1,
                     m->name ? m->name : "", (long long)kmax);
        if (extra && orig[g])
            SDG_FAIL(SDG_ERR_FORMAT, "%s: record %zu: gdb_%lld is already record %lld of %s", file, r + 1, (long long)g,
                     (long long)orig[g], path);
        if (pos[g]) SDG_FAIL(SDG_ERR_FORMAT, "%s: record %zu: gdb_%lld appears twice", file, r + 1, (long long)g);
        pos[g] = (int64_t)k + 1;
        d->gdb[k] = g;
        d->mols[k] = m;
        d->count = k + 1;   /* owned by d from here: freed with it on an error below */
        if (extra) x->mols[r] = NULL;
        else l->mols[r] = NULL;
        if ((size_t)m->n_atoms > d->max_atoms) d->max_atoms = (size_t)m->n_atoms;
    }
    d->count = n;
    d->n_extra = nx;
    for (int f = 0; f < 2; f++) {
        snprintf(path, sizeof path, "%s/qm9/%s", data_dir, f ? "qm9_3d_subset_props.csv" : "qm9_props_subset.csv");
        SDG_TRY(sdg_qm9_read_props(path, pos, kmax, d->props));
    }
    for (size_t k = 0; k < n; k++) d->n_with_props += !isnan(d->props[k * SDG_QM9_PROP_COUNT]);
    snprintf(path, sizeof path, "%s/qm9/valid_idx_qm9.json", data_dir);
    SDG_TRY(sdg_qm9_read_index_file(path, kmax, test, NULL));
    snprintf(path, sizeof path, "%s/qm9/propmolflow_train_a_mol_idxs.txt", data_dir);
    SDG_TRY(sdg_qm9_read_index_file(path, kmax, pa, NULL));
    /* split: test = GDSS/MoFlow test rows; val = a seeded val_fraction of the rest */
    size_t nrest = 0;
    for (size_t k = 0; k < n; k++) {
        d->propmolflow_a[k] = pa[d->gdb[k]];
        if (test[d->gdb[k]]) d->split[k] = SDG_MOL3D_SPLIT_TEST;
        else if (k < n0) perm[nrest++] = (int64_t)k;
    }
    SDG_TRY(sdg_rng_new(p.seed, &rng));
    sdg_rng_shuffle(rng, perm, nrest);
    size_t nval = (size_t)floor(p.val_fraction * (double)nrest + 0.5);
    for (size_t r = 0; r < nrest; r++) d->split[perm[r]] = r < nval ? SDG_MOL3D_SPLIT_VAL : SDG_MOL3D_SPLIT_TRAIN;
    /* the extra records: by their own gdb row, independent of the original file and of order */
    for (size_t k = n0; k < n; k++) {
        if (d->split[k] == SDG_MOL3D_SPLIT_TEST) continue;
        sdg_rng_reset(rng, p.seed, (uint64_t)d->gdb[k]);
        d->split[k] = sdg_rng_uniform(rng) < p.val_fraction ? SDG_MOL3D_SPLIT_VAL : SDG_MOL3D_SPLIT_TRAIN;
    }
    for (size_t k = 0; k < n; k++) d->n_split[d->split[k]]++;
    *out = d;
    d = NULL;
cleanup:
    sdg_mol_list_free(l);
    sdg_mol_list_free(x);
    sdg_mol3d_dataset_free(d);
    sdg_rng_free(rng);
    free(pos);
    free(test);
    free(pa);
    free(perm);
    free(orig);
    return st;
}
