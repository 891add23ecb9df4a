/* Private to src/graph: compressed adjacency (CSR) of a sdg_graph. */
#ifndef SDG_GRAPH_INTERNAL_H
#define SDG_GRAPH_INTERNAL_H
#include <stdbool.h>
#include "sdegen/graph.h"

/* Neighbours of node i are adj[off[i] .. off[i+1]-1], sorted ascending. */
typedef struct sdg_csr {
    int64_t  n;
    int64_t *off;   /* (n + 1) */
    int64_t *adj;   /* (2 m)   */
} sdg_csr;

sdg_status sdg_csr_init(sdg_csr *c, const sdg_graph *g);
void       sdg_csr_destroy(sdg_csr *c);              /* NULL-safe, idempotent */
bool       sdg_csr_has_edge(const sdg_csr *c, int64_t u, int64_t v);   /* O(log d) */
#endif
