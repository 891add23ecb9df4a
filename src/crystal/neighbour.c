/* Property by dataset neighbour (docs/crystals.md "Property by dataset neighbour"): a
 * crystal's property predicted as the mean over its k nearest reference crystals under the
 * L1 distance between fractional compositions.
 *
 * Distances are kept as exact rationals. For a query of reduced counts a_i (sum Na) and a
 * reference entry b_i (sum Nb), L1 = sum_i |a_i / Na - b_i / Nb| = num / (Na Nb) with the
 * integer num = sum_i |a_i Nb - b_i Na|. Two entries of one query compare by num_b Nc against
 * num_c Nb (Na cancels), so equal distances are equal exactly and ties fall to the reference
 * order, never to rounding. Reduced totals are limited to 2^20 so that the products stay
 * below 2^62. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crystal/internal.h"

#define KNN_MAX_TOTAL (INT64_C(1) << 20)

typedef struct knn_entry {
    size_t  id;       /* index in the arrays given to sdg_crystal_knn_new */
    size_t  off, n;   /* its elements: zs[off..off+n), counts likewise    */
    int64_t total;    /* sum of the reduced counts                        */
    double  value;
} knn_entry;

struct sdg_crystal_knn {
    sdg_crystal_knn_params p;
    size_t                 n, n_skipped;
    knn_entry             *e;        /* (n)                              */
    int32_t               *zs;       /* concatenated reduced compositions */
    int64_t               *counts;
    size_t                *best;     /* (k) scratch: entry indices        */
    int64_t               *best_num; /* (k) scratch: their numerators     */
};

sdg_crystal_knn_params sdg_crystal_knn_default_params(void) {
    return (sdg_crystal_knn_params){.k = 5};
}

/* Reduced composition of c into zs/counts (capacity 118) with its total; what names c in
 * messages ("reference crystal 3", "the crystal"). */
static sdg_status reduced(const sdg_crystal *c, const char *what, int32_t *zs, int64_t *counts, size_t *n,
                          int64_t *total) {
    if (c->n_atoms < 1) return SDG_ERROR(SDG_ERR_INVALID, "%s has no sites", what);
    sdg_status st = sdg_crystal_composition(c, zs, counts, 118, n);
    if (st != SDG_OK) return st;
    *total = 0;
    for (size_t k = 0; k < *n; k++) *total += counts[k];
    if (*total > KNN_MAX_TOTAL)
        return SDG_ERROR(SDG_ERR_INVALID, "%s: %lld atoms in its reduced formula exceed 2^20", what, (long long)*total);
    return SDG_OK;
}

sdg_status sdg_crystal_knn_new(const sdg_crystal *const *ref, const double *values, size_t n,
                               const sdg_crystal_knn_params *p, sdg_crystal_knn **out) {
    sdg_status       st = SDG_OK;
    sdg_crystal_knn *x = NULL;
    size_t           cap = 0;
    *out = NULL;
    if (!ref || !values || !p) SDG_FAIL(SDG_ERR_INVALID, "sdg_crystal_knn_new: NULL argument");
    if (p->k < 1) SDG_FAIL(SDG_ERR_INVALID, "sdg_crystal_knn_new: k = 0 (at least 1 neighbour)");
    x = calloc(1, sizeof *x);
    if (!x) SDG_FAIL(SDG_ERR_NOMEM, "sdg_crystal_knn_new: out of memory");
    x->p = *p;
    x->e = malloc((n + 1) * sizeof *x->e);
    x->best = malloc(p->k * sizeof *x->best);
    x->best_num = malloc(p->k * sizeof *x->best_num);
    if (!x->e || !x->best || !x->best_num) SDG_FAIL(SDG_ERR_NOMEM, "sdg_crystal_knn_new: out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(values[i])) {   /* no value: left out of the reference set */
            x->n_skipped++;
            continue;
        }
        int32_t zs[118];
        int64_t counts[118];
        size_t  ne = 0;
        int64_t total = 0;
        char    what[48];
        snprintf(what, sizeof what, "reference crystal %zu", i);
        SDG_TRY(reduced(ref[i], what, zs, counts, &ne, &total));
        size_t used = x->n ? x->e[x->n - 1].off + x->e[x->n - 1].n : 0;
        if (used + ne > cap) {
            size_t   nc = 2 * (used + ne) + 64;
            int32_t *z2 = realloc(x->zs, nc * sizeof *z2);
            if (z2) x->zs = z2;
            int64_t *c2 = realloc(x->counts, nc * sizeof *c2);
            if (c2) x->counts = c2;
            if (!z2 || !c2) SDG_FAIL(SDG_ERR_NOMEM, "sdg_crystal_knn_new: out of memory");
            cap = nc;
        }
        memcpy(x->zs + used, zs, ne * sizeof *zs);
        memcpy(x->counts + used, counts, ne * sizeof *counts);
        x->e[x->n++] = (knn_entry){.id = i, .off = used, .n = ne, .total = total, .value = values[i]};
    }
    if (x->n == 0) SDG_FAIL(SDG_ERR_INVALID, "sdg_crystal_knn_new: no reference crystal has a finite value (%zu given)", n);
    *out = x;
    x = NULL;
cleanup:
    sdg_crystal_knn_free(x);
    return st;
}

void sdg_crystal_knn_free(sdg_crystal_knn *x) {
    if (!x) return;
    free(x->e);
    free(x->zs);
    free(x->counts);
    free(x->best);
    free(x->best_num);
    free(x);
}

size_t sdg_crystal_knn_count(const sdg_crystal_knn *x) { return x ? x->n : 0; }

size_t sdg_crystal_knn_skipped(const sdg_crystal_knn *x) { return x ? x->n_skipped : 0; }

/* num of the L1 distance between a (na elements, total ta) and entry e (merge over sorted Z). */
static int64_t l1_num(const sdg_crystal_knn *x, const knn_entry *e, const int32_t *za, const int64_t *ca, size_t na,
                      int64_t ta) {
    const int32_t *zb = x->zs + e->off;
    const int64_t *cb = x->counts + e->off;
    int64_t        num = 0;
    size_t         i = 0, j = 0;
    while (i < na || j < e->n) {
        int64_t d;
        if (j == e->n || (i < na && za[i] < zb[j])) d = ca[i++] * e->total;
        else if (i == na || zb[j] < za[i]) d = cb[j++] * ta;
        else d = ca[i++] * e->total - cb[j++] * ta;
        num += d < 0 ? -d : d;
    }
    return num;
}

/* true when entry b (numerator nb) comes before entry c (nc): nearer, or as near and earlier. */
static bool before(const sdg_crystal_knn *x, size_t b, int64_t nb, size_t c, int64_t nc) {
    int64_t lb = nb * x->e[c].total, lc = nc * x->e[b].total;
    return lb != lc ? lb < lc : b < c;
}

sdg_status sdg_crystal_knn_predict(sdg_crystal_knn *x, const sdg_crystal *c, size_t *ids, size_t cap,
                                   sdg_crystal_knn_result *out) {
    if (!x || !c || !out || (cap && !ids)) return SDG_ERROR(SDG_ERR_INVALID, "sdg_crystal_knn_predict: NULL argument");
    int32_t za[118];
    int64_t ca[118];
    size_t  na = 0;
    int64_t ta = 0;
    sdg_status st = reduced(c, "sdg_crystal_knn_predict: the crystal", za, ca, &na, &ta);
    if (st != SDG_OK) return st;
    size_t k = x->p.k < x->n ? x->p.k : x->n, m = 0, n_exact = 0;
    /* the k first entries in (distance, reference order), kept sorted by insertion */
    for (size_t i = 0; i < x->n; i++) {
        int64_t num = l1_num(x, &x->e[i], za, ca, na, ta);
        n_exact += num == 0;
        if (m == k && !before(x, i, num, x->best[m - 1], x->best_num[m - 1])) continue;
        size_t j = m < k ? m++ : m - 1;
        while (j > 0 && before(x, i, num, x->best[j - 1], x->best_num[j - 1])) {
            x->best[j] = x->best[j - 1];
            x->best_num[j] = x->best_num[j - 1];
            j--;
        }
        x->best[j] = i;
        x->best_num[j] = num;
    }
    double sum = 0;
    for (size_t j = 0; j < k; j++) sum += x->e[x->best[j]].value;
    for (size_t j = 0; j < k && j < cap; j++) ids[j] = x->e[x->best[j]].id;
    const knn_entry *first = &x->e[x->best[0]], *last = &x->e[x->best[k - 1]];
    *out = (sdg_crystal_knn_result){
        .value = sum / (double)k,
        .k = k,
        .nearest = (double)x->best_num[0] / ((double)ta * (double)first->total),
        .farthest = (double)x->best_num[k - 1] / ((double)ta * (double)last->total),
        .nearest_id = first->id,
        .n_exact = n_exact,
        .exact = n_exact > 0,
    };
    return SDG_OK;
}
