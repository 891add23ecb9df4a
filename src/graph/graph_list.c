/* Graph lists: allocation, validated copies, selection, isolate removal, dense -> graphs. */
#include <stdlib.h>
#include <string.h>
#include "graph/internal.h"

sdg_status sdg_graph_list_new(size_t count, sdg_graph_list **out) {
    sdg_status      st = SDG_OK;
    sdg_graph_list *gl = NULL;
    if (!out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_graph_list_new: out is NULL");
    *out = NULL;
    gl = calloc(1, sizeof *gl);
    if (!gl) SDG_FAIL(SDG_ERR_NOMEM, "graph list: out of memory");
    gl->count  = count;
    gl->graphs = calloc(count ? count : 1, sizeof *gl->graphs);
    if (!gl->graphs) SDG_FAIL(SDG_ERR_NOMEM, "graph list of %zu graphs: out of memory", count);
    for (size_t i = 0; i < count; i++) gl->graphs[i].label = -1;
    *out = gl;
    gl   = NULL;
cleanup:
    sdg_graph_list_free(gl);
    return st;
}

void sdg_graph_list_free(sdg_graph_list *gl) {
    if (!gl) return;
    for (size_t i = 0; gl->graphs && i < gl->count; i++) {
        free(gl->graphs[i].edges);
        free(gl->graphs[i].node_labels);
    }
    free(gl->graphs);
    free(gl);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

sdg_status sdg_graph_list_set(sdg_graph_list *gl, size_t i, const sdg_graph *g) {
    sdg_status st     = SDG_OK;
    int64_t   *edges  = NULL, *labels = NULL, *keys = NULL;
    if (!gl || !g) SDG_FAIL(SDG_ERR_INVALID, "sdg_graph_list_set: NULL argument");
    if (i >= gl->count) SDG_FAIL(SDG_ERR_INVALID, "graph index %zu out of range (%zu graphs)", i, gl->count);
    if (g->n < 0 || g->m < 0) SDG_FAIL(SDG_ERR_INVALID, "graph %zu: negative node or edge count", i);
    if (g->m > 0 && !g->edges) SDG_FAIL(SDG_ERR_INVALID, "graph %zu: %lld edges but no edge array", i, (long long)g->m);
    edges  = malloc((size_t)(2 * g->m + 1) * sizeof *edges);
    labels = calloc((size_t)g->n + 1, sizeof *labels);
    keys   = malloc((size_t)g->m * sizeof *keys + 1);
    if (!edges || !labels || !keys) SDG_FAIL(SDG_ERR_NOMEM, "graph %zu: out of memory", i);
    for (int64_t e = 0; e < g->m; e++) {
        int64_t u = g->edges[2 * e], v = g->edges[2 * e + 1];
        if (u < 0 || v < 0 || u >= g->n || v >= g->n)
            SDG_FAIL(SDG_ERR_INVALID, "graph %zu: edge %lld (%lld, %lld) out of range for %lld nodes", i,
                     (long long)e, (long long)u, (long long)v, (long long)g->n);
        if (u == v) SDG_FAIL(SDG_ERR_INVALID, "graph %zu: edge %lld is a self-loop on node %lld", i, (long long)e, (long long)u);
        if (u > v) SDG_FAIL(SDG_ERR_INVALID, "graph %zu: edge %lld (%lld, %lld) has u > v", i, (long long)e, (long long)u, (long long)v);
        edges[2 * e] = u;
        edges[2 * e + 1] = v;
        keys[e] = u * g->n + v;
    }
    qsort(keys, (size_t)g->m, sizeof *keys, cmp_i64);
    for (int64_t e = 1; e < g->m; e++)
        if (keys[e] == keys[e - 1])
            SDG_FAIL(SDG_ERR_INVALID, "graph %zu: duplicate edge (%lld, %lld)", i, (long long)(keys[e] / g->n),
                     (long long)(keys[e] % g->n));
    if (g->node_labels) memcpy(labels, g->node_labels, (size_t)g->n * sizeof *labels);
    sdg_graph *dst = &gl->graphs[i];
    free(dst->edges);
    free(dst->node_labels);
    dst->n = g->n;
    dst->m = g->m;
    dst->label = g->label;
    dst->edges = edges;
    dst->node_labels = labels;
    edges = labels = NULL;
cleanup:
    free(edges);
    free(labels);
    free(keys);
    return st;
}

sdg_status sdg_graph_list_select(const sdg_graph_list *gl, const size_t *idx, size_t k,
                                 sdg_graph_list **out) {
    sdg_status      st  = SDG_OK;
    sdg_graph_list *res = NULL;
    if (!gl || !out || (k && !idx)) return SDG_ERROR(SDG_ERR_INVALID, "sdg_graph_list_select: NULL argument");
    *out = NULL;
    SDG_TRY(sdg_graph_list_new(k, &res));
    for (size_t j = 0; j < k; j++) {
        if (idx[j] >= gl->count) SDG_FAIL(SDG_ERR_INVALID, "select: index %zu out of range (%zu graphs)", idx[j], gl->count);
        SDG_TRY(sdg_graph_list_set(res, j, &gl->graphs[idx[j]]));
    }
    *out = res;
    res  = NULL;
cleanup:
    sdg_graph_list_free(res);
    return st;
}

/* Copies g into slot i of dst without its isolated nodes (an empty result becomes one node). */
static sdg_status drop_isolated_one(const sdg_graph *g, sdg_graph_list *dst, size_t i) {
    sdg_status st  = SDG_OK;
    int64_t   *map = NULL, *labels = NULL, *edges = NULL;
    map    = malloc(((size_t)g->n + 1) * sizeof *map);
    labels = calloc((size_t)g->n + 1, sizeof *labels);
    edges  = malloc(((size_t)g->m * 2 + 1) * sizeof *edges);
    if (!map || !labels || !edges) SDG_FAIL(SDG_ERR_NOMEM, "drop isolated nodes: out of memory");
    for (int64_t v = 0; v < g->n; v++) map[v] = -1;
    for (int64_t e = 0; e < 2 * g->m; e++) map[g->edges[e]] = 0;
    int64_t n = 0;
    for (int64_t v = 0; v < g->n; v++)
        if (map[v] == 0) {
            labels[n] = g->node_labels ? g->node_labels[v] : 0;
            map[v] = n++;
        }
    for (int64_t e = 0; e < 2 * g->m; e++) edges[e] = map[g->edges[e]];
    sdg_graph h = {.n = n ? n : 1, .m = g->m, .label = g->label, .edges = edges, .node_labels = labels};
    SDG_TRY(sdg_graph_list_set(dst, i, &h));
cleanup:
    free(map);
    free(labels);
    free(edges);
    return st;
}

sdg_status sdg_graph_list_drop_isolated(const sdg_graph_list *gl, sdg_graph_list **out) {
    sdg_status      st  = SDG_OK;
    sdg_graph_list *res = NULL;
    if (!gl || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_graph_list_drop_isolated: NULL argument");
    *out = NULL;
    SDG_TRY(sdg_graph_list_new(gl->count, &res));
    for (size_t i = 0; i < gl->count; i++) SDG_TRY(drop_isolated_one(&gl->graphs[i], res, i));
    *out = res;
    res  = NULL;
cleanup:
    sdg_graph_list_free(res);
    return st;
}

sdg_status sdg_graph_list_from_dense(const float *A, const float *flags, int64_t B, int64_t N,
                                     sdg_graph_list **out) {
    sdg_status      st    = SDG_OK;
    sdg_graph_list *raw   = NULL, *res = NULL;
    int64_t        *edges = NULL;
    if (!A || !out || B < 0 || N < 0) return SDG_ERROR(SDG_ERR_INVALID, "sdg_graph_list_from_dense: bad argument");
    *out = NULL;
    edges = malloc((size_t)(N * (N - 1) + 1) * sizeof *edges);
    if (!edges) SDG_FAIL(SDG_ERR_NOMEM, "from dense: out of memory for N = %lld", (long long)N);
    SDG_TRY(sdg_graph_list_new((size_t)B, &raw));
    for (int64_t b = 0; b < B; b++) {
        const float *a = A + b * N * N, *f = flags ? flags + b * N : NULL;
        int64_t      m = 0;
        for (int64_t i = 0; i < N; i++)
            for (int64_t j = i + 1; j < N; j++) {
                float aij = a[i * N + j], aji = a[j * N + i];
                if (f) {   /* GDSS's mask_adjs: A * flags[:, None] * flags[None, :] */
                    aij = aij * f[i] * f[j];
                    aji = aji * f[j] * f[i];
                }
                if (aij >= 0.5f || aji >= 0.5f) {
                    edges[2 * m] = i;
                    edges[2 * m + 1] = j;
                    m++;
                }
            }
        sdg_graph g = {.n = N, .m = m, .label = -1, .edges = edges, .node_labels = NULL};
        SDG_TRY(sdg_graph_list_set(raw, (size_t)b, &g));
    }
    SDG_TRY(sdg_graph_list_drop_isolated(raw, &res));
    *out = res;
    res  = NULL;
cleanup:
    free(edges);
    sdg_graph_list_free(raw);
    sdg_graph_list_free(res);
    return st;
}

/* ---- CSR ---- */
sdg_status sdg_csr_init(sdg_csr *c, const sdg_graph *g) {
    sdg_status st = SDG_OK;
    memset(c, 0, sizeof *c);
    c->n   = g->n;
    c->off = calloc((size_t)g->n + 1, sizeof *c->off);
    c->adj = malloc(((size_t)g->m * 2 + 1) * sizeof *c->adj);
    if (!c->off || !c->adj) SDG_FAIL(SDG_ERR_NOMEM, "adjacency of %lld nodes: out of memory", (long long)g->n);
    for (int64_t e = 0; e < 2 * g->m; e++) c->off[g->edges[e] + 1]++;
    for (int64_t v = 0; v < g->n; v++) c->off[v + 1] += c->off[v];
    for (int64_t e = 0; e < g->m; e++) {   /* fill using off[v] as a cursor, then shift back */
        int64_t u = g->edges[2 * e], v = g->edges[2 * e + 1];
        c->adj[c->off[u]++] = v;
        c->adj[c->off[v]++] = u;
    }
    for (int64_t v = g->n; v > 0; v--) c->off[v] = c->off[v - 1];
    c->off[0] = 0;
    for (int64_t v = 0; v < g->n; v++)
        qsort(c->adj + c->off[v], (size_t)(c->off[v + 1] - c->off[v]), sizeof *c->adj, cmp_i64);
cleanup:
    if (st != SDG_OK) sdg_csr_destroy(c);
    return st;
}

void sdg_csr_destroy(sdg_csr *c) {
    if (!c) return;
    free(c->off);
    free(c->adj);
    c->off = c->adj = NULL;
}

bool sdg_csr_has_edge(const sdg_csr *c, int64_t u, int64_t v) {
    int64_t lo = c->off[u], hi = c->off[u + 1];
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (c->adj[mid] < v) lo = mid + 1;
        else if (c->adj[mid] > v) hi = mid;
        else return true;
    }
    return false;
}

/* ---- dense batches ---- */
sdg_status sdg_graph_list_dense(const sdg_graph_list *gl, const size_t *idx, size_t k, int64_t N,
                                int64_t F, float *A, float *X, float *flags) {
    sdg_status st  = SDG_OK;
    int64_t   *deg = NULL;
    if (!gl || (k && !idx) || N < 1 || (X && F < 1))
        return SDG_ERROR(SDG_ERR_INVALID, "sdg_graph_list_dense: bad argument");
    deg = malloc((size_t)N * sizeof *deg);
    if (!deg) SDG_FAIL(SDG_ERR_NOMEM, "dense batch: out of memory for N = %lld", (long long)N);
    for (size_t b = 0; b < k; b++) {
        if (idx[b] >= gl->count)
            SDG_FAIL(SDG_ERR_INVALID, "dense batch: graph index %zu out of range (%zu graphs)", idx[b], gl->count);
        const sdg_graph *g = &gl->graphs[idx[b]];
        if (g->n > N)
            SDG_FAIL(SDG_ERR_INVALID, "graph %zu has %lld nodes, more than the maximum %lld", idx[b],
                     (long long)g->n, (long long)N);
        memset(deg, 0, (size_t)N * sizeof *deg);
        float *a = A ? A + (int64_t)b * N * N : NULL;
        if (a) memset(a, 0, (size_t)(N * N) * sizeof *a);
        for (int64_t e = 0; e < g->m; e++) {
            int64_t u = g->edges[2 * e], v = g->edges[2 * e + 1];
            deg[u]++;
            deg[v]++;
            if (a) a[u * N + v] = a[v * N + u] = 1.0f;
        }
        if (flags)
            for (int64_t i = 0; i < N; i++) flags[(int64_t)b * N + i] = deg[i] > 0 ? 1.0f : 0.0f;
        if (X) {
            float *x = X + (int64_t)b * N * F;
            memset(x, 0, (size_t)(N * F) * sizeof *x);
            for (int64_t i = 0; i < N; i++) {
                if (deg[i] >= F)
                    SDG_FAIL(SDG_ERR_INVALID, "graph %zu: node %lld has degree %lld, the features hold degrees below %lld",
                             idx[b], (long long)i, (long long)deg[i], (long long)F);
                if (deg[i] > 0) x[i * F + deg[i]] = 1.0f;
            }
        }
    }
cleanup:
    free(deg);
    return st;
}
