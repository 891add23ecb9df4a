/* Per-graph statistics: degree histogram and local clustering (igraph). */
#include <stdlib.h>
#include <igraph.h>
#include "graph/internal.h"

sdg_status sdg_graph_degree_histogram(const sdg_graph *g, int64_t *hist, size_t cap, size_t *needed) {
    sdg_status st  = SDG_OK;
    int64_t   *deg = NULL;
    if (!g || !needed || (cap && !hist)) return SDG_ERROR(SDG_ERR_INVALID, "sdg_graph_degree_histogram: NULL argument");
    deg = calloc((size_t)g->n + 1, sizeof *deg);
    if (!deg) SDG_FAIL(SDG_ERR_NOMEM, "degree histogram: out of memory");
    for (int64_t e = 0; e < 2 * g->m; e++) deg[g->edges[e]]++;
    int64_t dmax = -1;
    for (int64_t v = 0; v < g->n; v++)
        if (deg[v] > dmax) dmax = deg[v];
    *needed = (size_t)(dmax + 1);
    if (cap < *needed) SDG_FAIL(SDG_ERR_INVALID, "degree histogram: capacity %zu < %zu needed", cap, *needed);
    for (size_t d = 0; d < *needed; d++) hist[d] = 0;
    for (int64_t v = 0; v < g->n; v++) hist[deg[v]]++;
cleanup:
    free(deg);
    return st;
}

sdg_status sdg_graph_clustering(const sdg_graph *g, double *cc, size_t cap) {
    sdg_status          st = SDG_OK;
    igraph_t            ig;
    igraph_vector_int_t ev;
    igraph_vector_t     res;
    bool                have_g = false, have_ev = false, have_res = false;
    igraph_error_t      ie;
    if (!g || (g->n && !cc)) return SDG_ERROR(SDG_ERR_INVALID, "sdg_graph_clustering: NULL argument");
    if (cap < (size_t)g->n) return SDG_ERROR(SDG_ERR_INVALID, "clustering: capacity %zu < %lld nodes", cap, (long long)g->n);
    if (g->n == 0) return SDG_OK;
    if ((ie = igraph_vector_int_init(&ev, 2 * (igraph_integer_t)g->m)) != IGRAPH_SUCCESS)
        SDG_FAIL(SDG_ERR_DEPENDENCY, "clustering: igraph: %s", igraph_strerror(ie));
    have_ev = true;
    for (int64_t e = 0; e < 2 * g->m; e++) VECTOR(ev)[e] = (igraph_integer_t)g->edges[e];
    if ((ie = igraph_create(&ig, &ev, (igraph_integer_t)g->n, IGRAPH_UNDIRECTED)) != IGRAPH_SUCCESS)
        SDG_FAIL(SDG_ERR_DEPENDENCY, "clustering: igraph_create: %s", igraph_strerror(ie));
    have_g = true;
    if ((ie = igraph_vector_init(&res, 0)) != IGRAPH_SUCCESS)
        SDG_FAIL(SDG_ERR_DEPENDENCY, "clustering: igraph: %s", igraph_strerror(ie));
    have_res = true;
    /* ZERO mode: nodes with fewer than two neighbours get 0, as networkx.clustering does */
    if ((ie = igraph_transitivity_local_undirected(&ig, &res, igraph_vss_all(), IGRAPH_TRANSITIVITY_ZERO)) != IGRAPH_SUCCESS)
        SDG_FAIL(SDG_ERR_DEPENDENCY, "clustering: igraph_transitivity_local_undirected: %s", igraph_strerror(ie));
    if (igraph_vector_size(&res) != (igraph_integer_t)g->n)
        SDG_FAIL(SDG_ERR_DEPENDENCY, "clustering: igraph returned %lld values for %lld nodes",
                 (long long)igraph_vector_size(&res), (long long)g->n);
    for (int64_t v = 0; v < g->n; v++) cc[v] = VECTOR(res)[v];
cleanup:
    if (have_res) igraph_vector_destroy(&res);
    if (have_g) igraph_destroy(&ig);
    if (have_ev) igraph_vector_int_destroy(&ev);
    return st;
}
