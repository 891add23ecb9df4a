/* sdegen/graph.h: lists of simple undirected graphs, their files, and graph statistics.
 * A graph has n nodes numbered 0..n-1, m edges stored as (m, 2) int64 pairs with u < v (no
 * self-loops, no duplicates), n node labels (0 = none) and one graph label (-1 = none).
 * Graph-list files (data/README.md section 4): '#' comment lines and blank lines are skipped;
 * first line G; then per graph a line "n m y", a line of n node labels (absent when n = 0)
 * and m lines "u v". GDSS's split: test = the first floor(0.2 G) graphs in file order,
 * train = the rest. Dense samples (B, N, N) become graphs by GDSS's rule (edge iff A >= 0.5,
 * self-loops and isolated nodes dropped, an empty graph becomes one node).
 * Orbit counts are the 15 node orbits of the 2- to 4-node graphlets (ORCA numbering):
 * 0 degree; 1,2 path P3 end/middle; 3 triangle; 4,5 path P4 end/inner; 6,7 star leaf/centre;
 * 8 cycle C4; 9,10,11 paw tail/triangle degree-2/triangle degree-3; 12,13 diamond degree-2/
 * degree-3; 14 clique K4. Each entry counts the induced graphlets touching the node there.
 * igraph is used inside this module only; no igraph type appears here. */
#ifndef SDEGEN_GRAPH_H
#define SDEGEN_GRAPH_H
#include <stddef.h>
#include <stdint.h>
#include "sdegen/core.h"
#ifdef __cplusplus
extern "C" {
#endif

#define SDG_GRAPH_ORBITS 15   /* node orbits of graphlets with 2 to 4 nodes */

typedef struct sdg_graph {
    int64_t  n;            /* nodes                                      */
    int64_t  m;            /* edges                                      */
    int64_t  label;        /* graph label, -1 = none                     */
    int64_t *edges;        /* (m, 2), each pair u < v, owned by the list */
    int64_t *node_labels;  /* (n), 0 = none, owned by the list           */
} sdg_graph;

typedef struct sdg_graph_list {
    size_t     count;      /* G */
    sdg_graph *graphs;     /* (G) */
} sdg_graph_list;

/* A list of count graphs with no nodes (fill them with sdg_graph_list_set). SDG_ERR_NOMEM. */
SDG_API sdg_status sdg_graph_list_new(size_t count, sdg_graph_list **out);
SDG_API void       sdg_graph_list_free(sdg_graph_list *gl);          /* NULL is a no-op */
/* Copies g (edges, node labels; node_labels may be NULL = all 0) into slot i, replacing what
 * was there. Fails with SDG_ERR_INVALID on i >= count, n < 0, an edge out of range, a
 * self-loop, u > v or a duplicate edge (the message names the edge). */
SDG_API sdg_status sdg_graph_list_set(sdg_graph_list *gl, size_t i, const sdg_graph *g);
/* New list of the k graphs idx[0..k-1] of gl (deep copies; repeats allowed). */
SDG_API sdg_status sdg_graph_list_select(const sdg_graph_list *gl, const size_t *idx, size_t k,
                                         sdg_graph_list **out);
/* New list with the isolated nodes of every graph removed (survivors keep their order and
 * labels); a graph left empty becomes one node. This is GDSS's cleaning of generated graphs. */
SDG_API sdg_status sdg_graph_list_drop_isolated(const sdg_graph_list *gl, sdg_graph_list **out);
/* Dense samples to graphs: A (B, N, N) float, flags (B, N) or NULL (all 1). A is masked by
 * A * f_i * f_j; edge {i, j} iff A[i,j] >= 0.5 or A[j,i] >= 0.5, i != j; then isolated nodes
 * are dropped and an empty graph becomes one node. Labels are 0 / -1. O(B N^2). */
SDG_API sdg_status sdg_graph_list_from_dense(const float *A, const float *flags, int64_t B,
                                             int64_t N, sdg_graph_list **out);

/* ---- files ---- */
/* Reads a graph-list file. SDG_ERR_IO if it cannot be opened; SDG_ERR_FORMAT with one message
 * "path: line L: problem" for bad counts, out-of-range ids, u >= v, duplicates, a
 * non-numeric token, extra tokens or a truncated file. */
SDG_API sdg_status sdg_graph_list_read(const char *path, sdg_graph_list **out);
/* Writes gl in the same format (a '#' header line first). SDG_ERR_IO on failure. */
SDG_API sdg_status sdg_graph_list_write(const char *path, const sdg_graph_list *gl);
/* File name (relative to the data directory) of a named dataset, or NULL: "community_small",
 * "ego_small", "grid", "enzymes" -> "graphs/<name>.txt" ("graphs/enzymes_gdss.txt"). */
SDG_API const char *sdg_graph_dataset_file(const char *name);
/* Loads dataset name from data_dir and splits it the GDSS way (test = first floor(0.2 G)).
 * train or test may be NULL when not wanted. SDG_ERR_NOTFOUND for an unknown name, else as
 * sdg_graph_list_read. */
SDG_API sdg_status sdg_graph_dataset_load(const char *data_dir, const char *name,
                                          sdg_graph_list **train, sdg_graph_list **test);

/* ---- statistics ---- */
/* Degree histogram: hist[d] = number of nodes of degree d, d = 0..max degree. Writes up to
 * cap entries and sets *needed = max degree + 1 (0 when n = 0); SDG_ERR_INVALID if cap is
 * too small (hist may be NULL with cap 0 to query the size). O(n + m). */
SDG_API sdg_status sdg_graph_degree_histogram(const sdg_graph *g, int64_t *hist, size_t cap,
                                              size_t *needed);
/* Local clustering coefficients cc (n) (networkx semantics: 0 for degree < 2), via igraph.
 * SDG_ERR_INVALID if cap < n; SDG_ERR_DEPENDENCY (igraph's text appended) if igraph fails. */
SDG_API sdg_status sdg_graph_clustering(const sdg_graph *g, double *cc, size_t cap);
/* Node-orbit counts orbits (n, SDG_GRAPH_ORBITS), row-major, of the induced connected
 * graphlets with 2-4 nodes (numbering in the block above; equal to ORCA's). SDG_ERR_INVALID
 * if cap < 15 n. Time: O(number of connected 4-node induced subgraphs * log d). */
SDG_API sdg_status sdg_graph_orbit_counts(const sdg_graph *g, int64_t *orbits, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* SDEGEN_GRAPH_H */
