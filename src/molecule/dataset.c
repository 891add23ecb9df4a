/* QM9 and ZINC250k with GDSS's test split and MoFlow's preprocessing (README section 13). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "molecule/internal.h"
#include "molecule/obabel.h"

sdg_mol_dataset_params sdg_mol_dataset_default_params(void) {
    return (sdg_mol_dataset_params){.max_rows = 0};
}

void sdg_mol_dataset_free(sdg_mol_dataset *d) {
    if (!d) return;
    for (size_t k = 0; k < d->count; k++) {
        sdg_mol_free(d->mols[k]);
        free(d->smiles[k]);
    }
    free(d->mols);
    free(d->smiles);
    free(d->row);
    free(d->train);
    free(d->test);
    free(d);
}

/* Every run of digits in the index file is one 0-based row (QM9 writes them as strings). */
static sdg_status read_index(const char *path, size_t n_rows, bool *is_test, size_t *count) {
    sdg_status st = SDG_OK;
    FILE *f = fopen(path, "r");
    if (!f) return SDG_ERROR(SDG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t n = 0;
    int c;
    bool in_num = false, seen_bracket = false;
    unsigned long long v = 0;
    while ((c = fgetc(f)) != EOF) {
        if (c == '[') seen_bracket = true;
        if (isdigit(c)) {
            if (!seen_bracket) SDG_FAIL(SDG_ERR_FORMAT, "%s: a number before the list '['", path);
            v = in_num ? v * 10 + (unsigned)(c - '0') : (unsigned)(c - '0');
            in_num = true;
            if (v > (1ull << 40)) SDG_FAIL(SDG_ERR_FORMAT, "%s: index too large", path);
            continue;
        }
        if (in_num) {
            if (v >= n_rows)
                SDG_FAIL(SDG_ERR_FORMAT, "%s: index %llu outside the %zu data rows", path, v, n_rows);
            if (!is_test[v]) n++;
            is_test[v] = true;
            in_num = false;
        }
    }
    if (in_num || !seen_bracket) SDG_FAIL(SDG_ERR_FORMAT, "%s: not a JSON list of indices", path);
    *count = n;
cleanup:
    fclose(f);
    return st;
}

/* All SMILES rows of the file (header skipped, first comma-separated column). */
static sdg_status read_rows(const char *path, bool header, char ***rows, size_t *n_rows) {
    sdg_status st = SDG_OK;
    char *line = NULL;
    size_t cap_line = 0, n = 0, cap = 0;
    char **r = NULL;
    FILE *f = fopen(path, "r");
    if (!f) return SDG_ERROR(SDG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    ssize_t k;
    bool first = true;
    while ((k = getline(&line, &cap_line, f)) >= 0) {
        if (first && header) {
            first = false;
            continue;
        }
        first = false;
        line[strcspn(line, ",\r\n")] = '\0';
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        s[strcspn(s, " \t")] = '\0';
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            char **p = realloc(r, cap * sizeof *p);
            if (!p) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
            r = p;
        }
        r[n] = malloc(strlen(s) + 1);
        if (!r[n]) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
        strcpy(r[n++], s);
    }
    if (ferror(f)) SDG_FAIL(SDG_ERR_IO, "%s: read error", path);
    *rows = r;
    *n_rows = n;
    r = NULL;
cleanup:
    if (r)
        for (size_t i = 0; i < n; i++) free(r[i]);
    free(r);
    free(line);
    fclose(f);
    return st;
}

static bool fits(const sdg_mol *m, const sdg_mol_vocab *v) {
    if (m->n_atoms > v->N) return false;
    for (int64_t i = 0; i < m->n_atoms; i++) {
        bool ok = false;
        for (int64_t f = 0; f < v->F; f++) ok |= v->z[f] == m->atoms[i].z;
        if (!ok) return false;
    }
    return true;
}

sdg_status sdg_mol_dataset_load(const char *data_dir, const char *name,
                                const sdg_mol_dataset_params *params, sdg_mol_dataset **out) {
    sdg_status st = SDG_OK;
    sdg_mol_dataset *d = NULL;
    char **rows = NULL;
    size_t n_rows = 0;
    bool *is_test = NULL;
    char path[4096], ipath[4096];
    const sdg_mol_vocab *v;
    if (!data_dir || !name || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_dataset_load: NULL argument");
    SDG_TRY(sdg_mol_vocab_find(name, &v));
    sdg_mol_dataset_params p = params ? *params : sdg_mol_dataset_default_params();
    bool qm9 = v == &sdg_mol_vocab_qm9;
    snprintf(path, sizeof path, "%s/%s", data_dir, qm9 ? "qm9/qm9_smiles.csv" : "zinc250k/zinc250k.smi");
    snprintf(ipath, sizeof ipath, "%s/%s", data_dir,
             qm9 ? "qm9/valid_idx_qm9.json" : "zinc250k/valid_idx_zinc250k.json");
    SDG_TRY(read_rows(path, qm9, &rows, &n_rows));
    d = calloc(1, sizeof *d);
    is_test = calloc(n_rows ? n_rows : 1, sizeof *is_test);
    if (!d || !is_test) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    d->vocab = v;
    d->n_rows = n_rows;
    SDG_TRY(read_index(ipath, n_rows, is_test, &d->n_test_rows));
    size_t n_parse = (p.max_rows && p.max_rows < n_rows) ? p.max_rows : n_rows;
    size_t cap = n_parse ? n_parse : 1;
    d->mols = calloc(cap, sizeof *d->mols);
    d->smiles = calloc(cap, sizeof *d->smiles);
    d->row = calloc(cap, sizeof *d->row);
    d->train = calloc(cap, sizeof *d->train);
    d->test = calloc(cap, sizeof *d->test);
    if (!d->mols || !d->smiles || !d->row || !d->train || !d->test)
        SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    for (size_t r = 0; r < n_parse; r++) {
        sdg_mol *m = NULL;
        char *can = NULL;
        sdg_status s = sdg_ob_canonicalise(rows[r], &m, &can);
        if (s == SDG_ERR_NOMEM) SDG_FAIL(s, "out of memory");
        if (s == SDG_OK && (s = sdg_mol_check_sane(m)) != SDG_OK) {   /* RDKit would reject it */
            sdg_mol_free(m);
            free(can);
        }
        if (s != SDG_OK) {
            d->n_malformed++;
            continue;
        }
        if (!fits(m, v)) {
            d->n_too_large++;
            sdg_mol_free(m);
            free(can);
            continue;
        }
        size_t k = d->count++;
        d->mols[k] = m;
        d->smiles[k] = can;
        d->row[k] = (int64_t)r;
        if (is_test[r]) d->test[d->n_test++] = k;
        else d->train[d->n_train++] = k;
    }
    sdg_error_clear();
    *out = d;
    d = NULL;
cleanup:
    if (rows)
        for (size_t i = 0; i < n_rows; i++) free(rows[i]);
    free(rows);
    free(is_test);
    sdg_mol_dataset_free(d);
    return st;
}

sdg_status sdg_mol_dataset_dense(const sdg_mol_dataset *d, const size_t *idx, size_t k, float *X,
                                 float *A) {
    if (!d || (k && (!idx || !X || !A))) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_dataset_dense: NULL argument");
    const int64_t N = d->vocab->N, F = d->vocab->F;
    for (size_t b = 0; b < k; b++) {
        if (idx[b] >= d->count)
            return SDG_ERROR(SDG_ERR_INVALID, "molecule index %zu out of range 0..%zu", idx[b], d->count - 1);
        sdg_status st = sdg_mol_encode(d->mols[idx[b]], d->vocab, X + (int64_t)b * N * F, A + (int64_t)b * N * N);
        if (st != SDG_OK) return st;
    }
    return SDG_OK;
}

/* Flagged nodes of m: flags[i] = 1 iff atom i has a bond (GDSS: sum_j |A_ij| > 1e-5). */
static int64_t mol_flags(const sdg_mol *m, int64_t N, float *flags) {
    int64_t n = 0;
    for (int64_t i = 0; i < N; i++) flags[i] = 0.0f;
    for (int64_t k = 0; k < m->n_bonds; k++) flags[m->bonds[k].i] = flags[m->bonds[k].j] = 1.0f;
    for (int64_t i = 0; i < N; i++) n += flags[i] != 0.0f;
    return n;
}

sdg_status sdg_mol_dataset_node_counts(const sdg_mol_dataset *d, int64_t *hist, size_t cap) {
    if (!d || !hist) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_dataset_node_counts: NULL argument");
    const int64_t N = d->vocab->N;
    if (cap < (size_t)N + 1)
        return SDG_ERROR(SDG_ERR_INVALID, "node-count histogram needs %lld entries, got %zu", (long long)N + 1, cap);
    float flags[64];
    memset(hist, 0, ((size_t)N + 1) * sizeof *hist);
    for (size_t t = 0; t < d->n_train; t++) hist[mol_flags(d->mols[d->train[t]], N, flags)]++;
    return SDG_OK;
}

sdg_status sdg_mol_dataset_flags(const sdg_mol_dataset *d, sdg_rng *rng, int64_t B, float *flags) {
    if (!d || !rng || (B > 0 && !flags)) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_dataset_flags: NULL argument");
    if (d->n_train == 0) return SDG_ERROR(SDG_ERR_INVALID, "dataset %s has no training molecules", d->vocab->name);
    const int64_t N = d->vocab->N;
    for (int64_t b = 0; b < B; b++) {
        size_t t = (size_t)sdg_rng_uint(rng, d->n_train);
        mol_flags(d->mols[d->train[t]], N, flags + b * N);
    }
    return SDG_OK;
}
