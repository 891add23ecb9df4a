/* Node-flag tables for GDSS sampling (README section 11): distinct flag rows with counts. */
#include <stdlib.h>
#include <string.h>
#include "graph/internal.h"

void sdg_gdss_flags_destroy(sdg_gdss_flags *f) {
    if (!f) return;
    free(f->rows);
    free(f->weight);
    memset(f, 0, sizeof *f);
}

sdg_status sdg_gdss_flags_init(sdg_gdss_flags *out, int64_t N, size_t count, const float *rows,
                               const int64_t *weight) {
    sdg_status     st = SDG_OK;
    sdg_gdss_flags f  = {.N = N, .count = count};
    if (!out || N < 1 || count < 1 || !rows || !weight)
        return SDG_ERROR(SDG_ERR_INVALID, "flag table: needs N >= 1 and at least one row");
    f.rows   = malloc(count * (size_t)N * sizeof *f.rows);
    f.weight = malloc(count * sizeof *f.weight);
    if (!f.rows || !f.weight) SDG_FAIL(SDG_ERR_NOMEM, "flag table of %zu rows: out of memory", count);
    for (size_t r = 0; r < count; r++) {
        if (weight[r] < 1) SDG_FAIL(SDG_ERR_INVALID, "flag table: row %zu has weight %lld < 1", r, (long long)weight[r]);
        for (int64_t i = 0; i < N; i++) {
            float v = rows[r * (size_t)N + (size_t)i];
            if (v != 0.0f && v != 1.0f)
                SDG_FAIL(SDG_ERR_INVALID, "flag table: row %zu, node %lld is %g, not 0 or 1", r, (long long)i, (double)v);
        }
        f.weight[r] = weight[r];
        f.total += weight[r];
    }
    memcpy(f.rows, rows, count * (size_t)N * sizeof *f.rows);
    *out = f;
    return SDG_OK;
cleanup:
    sdg_gdss_flags_destroy(&f);
    return st;
}

/* Adds row cur (N floats) to the table rows[0..*count) with weights wt: a linear search,
 * since the tables hold at most a few hundred distinct rows. */
static void flags_add(float *rows, int64_t *wt, size_t *count, int64_t N, const float *cur) {
    size_t r = 0;
    while (r < *count && memcmp(rows + r * (size_t)N, cur, (size_t)N * sizeof *cur) != 0) r++;
    if (r == *count) memcpy(rows + (*count)++ * (size_t)N, cur, (size_t)N * sizeof *cur);
    wt[r]++;
}

sdg_status sdg_gdss_flags_from_graphs(const sdg_graph_list *gl, int64_t N, sdg_gdss_flags *out) {
    sdg_status st   = SDG_OK;
    float     *rows = NULL, *cur = NULL;
    int64_t   *wt   = NULL;
    size_t     count = 0;
    if (!gl || !out || N < 1) return SDG_ERROR(SDG_ERR_INVALID, "flag table: bad argument");
    if (gl->count == 0) return SDG_ERROR(SDG_ERR_INVALID, "flag table: no training graphs");
    rows = malloc(gl->count * (size_t)N * sizeof *rows);
    cur  = malloc((size_t)N * sizeof *cur);
    wt   = calloc(gl->count, sizeof *wt);
    if (!rows || !wt || !cur) SDG_FAIL(SDG_ERR_NOMEM, "flag table: out of memory");
    for (size_t g = 0; g < gl->count; g++) {
        SDG_TRY(sdg_graph_list_dense(gl, &g, 1, N, 0, NULL, NULL, cur));
        flags_add(rows, wt, &count, N, cur);
    }
    st = sdg_gdss_flags_init(out, N, count, rows, wt);
cleanup:
    free(rows);
    free(cur);
    free(wt);
    return st;
}

sdg_status sdg_gdss_flags_from_dense(const float *flags, size_t G, int64_t N, sdg_gdss_flags *out) {
    sdg_status st   = SDG_OK;
    float     *rows = NULL;
    int64_t   *wt   = NULL;
    size_t     count = 0;
    if (!flags || !out || N < 1) return SDG_ERROR(SDG_ERR_INVALID, "flag table: bad argument");
    if (G == 0) return SDG_ERROR(SDG_ERR_INVALID, "flag table: no training graphs");
    rows = malloc(G * (size_t)N * sizeof *rows);
    wt   = calloc(G, sizeof *wt);
    if (!rows || !wt) SDG_FAIL(SDG_ERR_NOMEM, "flag table: out of memory");
    for (size_t g = 0; g < G; g++) flags_add(rows, wt, &count, N, flags + g * (size_t)N);
    st = sdg_gdss_flags_init(out, N, count, rows, wt);   /* checks the values are 0/1 */
cleanup:
    free(rows);
    free(wt);
    return st;
}

void sdg_gdss_flags_draw(const sdg_gdss_flags *f, sdg_rng *rng, float *row) {
    int64_t k = (int64_t)sdg_rng_uint(rng, (uint64_t)f->total);
    size_t  r = 0;
    while (r + 1 < f->count && k >= f->weight[r]) k -= f->weight[r++];
    memcpy(row, f->rows + r * (size_t)f->N, (size_t)f->N * sizeof *row);
}
