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

/* ---- a minimal JSON reader for GDSS's constructor and config strings (gdss_json.c) ----
 * gj_valid: the whole text is one well-formed JSON value.
 * gj_find: value of a dotted key path ("sde.x.type") in an object; 1 found (*val points at
 * its first character), 0 absent, -1 malformed. Keys with escapes are not matched. */
bool gj_valid(const char *json);
int  gj_find(const char *json, const char *path, const char **val);
/* Typed look-ups: 1 found and converted, 0 absent, -1 wrong type or malformed. */
int  gj_number(const char *json, const char *path, double *v);
int  gj_string(const char *json, const char *path, char *buf, size_t cap);
#endif
