/* Node-orbit counts of the 2- to 4-node graphlets (ORCA's orbits 0-14).
 * Design: every connected induced subgraph on 3 and 4 nodes is enumerated exactly once with
 * Wernicke's ESU scheme (root = its smallest node; a new node joins the extension set only
 * through the first subgraph node it touches, its "exclusive" neighbourhood), and each one is
 * classified by its edge count and the degrees inside it. Orbit 0 is the degree. Cost is
 * proportional to the number of connected 4-node subgraphs times an O(1) edge test (a bit
 * matrix; O(log d) search above 8192 nodes): a 361-node grid has about 15 per node, a dense
 * 125-node graph C(125, 4) = 9.7e6 in all. */
#include <stdlib.h>
#include <string.h>
#include "graph/internal.h"

typedef struct esu {
    const sdg_csr *c;
    uint64_t      *bits;       /* n x words adjacency bit matrix, or NULL (then CSR search) */
    int64_t        words;
    int64_t       *orb;        /* (n, 15) */
    int64_t       *ext[4];     /* extension sets per depth, each of capacity n */
    int64_t        sub[4];
} esu;

#define SDG_ORBIT_BITSET_MAX_N 8192   /* bit matrix up to 8 MiB; larger graphs use CSR search */

static inline bool adjacent(const esu *s, int64_t u, int64_t v) {
    if (s->bits) return (s->bits[u * s->words + (v >> 6)] >> (v & 63)) & 1u;
    return sdg_csr_has_edge(s->c, u, v);
}

/* Adds the orbit of every node of the induced subgraph sub[0..k-1], k = 3 or 4. */
static void classify(esu *s, int k) {
    int     deg[4] = {0, 0, 0, 0}, e = 0;
    for (int a = 0; a < k; a++)
        for (int b = a + 1; b < k; b++)
            if (adjacent(s, s->sub[a], s->sub[b])) {
                deg[a]++;
                deg[b]++;
                e++;
            }
    for (int a = 0; a < k; a++) {
        int o = -1, d = deg[a];
        if (k == 3) {
            o = (e == 3) ? 3 : (d == 1 ? 1 : 2);
        } else {
            int dmax = deg[0];
            for (int b = 1; b < 4; b++)
                if (deg[b] > dmax) dmax = deg[b];
            switch (e) {
            case 3: o = (dmax == 3) ? (d == 3 ? 7 : 6) : (d == 1 ? 4 : 5); break;    /* star / path */
            case 4: o = (dmax == 3) ? (d == 1 ? 9 : d == 2 ? 10 : 11) : 8; break;   /* paw / cycle */
            case 5: o = (d == 2) ? 12 : 13; break;                                  /* diamond     */
            case 6: o = 14; break;                                                  /* K4          */
            default: break;
            }
        }
        if (o >= 0) s->orb[s->sub[a] * SDG_GRAPH_ORBITS + o]++;
    }
}

/* sub[0..k-1] is connected; ext[k][0..next-1] are the nodes that may still join it. */
static void extend(esu *s, int k, int64_t next) {
    if (k >= 3) classify(s, k);
    if (k == 4) return;
    const sdg_csr *c = s->c;
    int64_t        root = s->sub[0];
    while (next > 0) {
        int64_t w = s->ext[k][--next], cnt = next;
        if (k + 1 < 4) {   /* the last node needs no extension set */
            int64_t *nx = s->ext[k + 1];
            memcpy(nx, s->ext[k], (size_t)next * sizeof *nx);
            for (int64_t p = c->off[w]; p < c->off[w + 1]; p++) {
                int64_t u = c->adj[p];
                if (u <= root) continue;
                bool excl = true;   /* not in sub and not adjacent to it: w is its first contact */
                for (int a = 0; a < k && excl; a++)
                    if (s->sub[a] == u || adjacent(s, s->sub[a], u)) excl = false;
                if (excl) nx[cnt++] = u;
            }
        }
        s->sub[k] = w;
        extend(s, k + 1, cnt);
    }
}

sdg_status sdg_graph_orbit_counts(const sdg_graph *g, int64_t *orbits, size_t cap) {
    sdg_status st = SDG_OK;
    sdg_csr    c  = {0};
    esu        s  = {0};
    if (!g || (g->n && !orbits)) return SDG_ERROR(SDG_ERR_INVALID, "sdg_graph_orbit_counts: NULL argument");
    if (cap < (size_t)g->n * SDG_GRAPH_ORBITS)
        return SDG_ERROR(SDG_ERR_INVALID, "orbit counts: capacity %zu < 15 x %lld nodes", cap, (long long)g->n);
    if (g->n == 0) return SDG_OK;
    SDG_TRY(sdg_csr_init(&c, g));
    memset(orbits, 0, (size_t)g->n * SDG_GRAPH_ORBITS * sizeof *orbits);
    s.c   = &c;
    s.orb = orbits;
    if (g->n <= SDG_ORBIT_BITSET_MAX_N) {
        s.words = (g->n + 63) / 64;
        s.bits  = calloc((size_t)(g->n * s.words), sizeof *s.bits);
        if (!s.bits) SDG_FAIL(SDG_ERR_NOMEM, "orbit counts: out of memory");
        for (int64_t e = 0; e < g->m; e++) {
            int64_t u = g->edges[2 * e], v = g->edges[2 * e + 1];
            s.bits[u * s.words + (v >> 6)] |= (uint64_t)1 << (v & 63);
            s.bits[v * s.words + (u >> 6)] |= (uint64_t)1 << (u & 63);
        }
    }
    for (int d = 1; d < 4; d++) {
        s.ext[d] = malloc((size_t)g->n * sizeof(int64_t));
        if (!s.ext[d]) SDG_FAIL(SDG_ERR_NOMEM, "orbit counts: out of memory");
    }
    for (int64_t v = 0; v < g->n; v++) {
        orbits[v * SDG_GRAPH_ORBITS + 0] = c.off[v + 1] - c.off[v];
        int64_t cnt = 0;
        for (int64_t p = c.off[v]; p < c.off[v + 1]; p++)
            if (c.adj[p] > v) s.ext[1][cnt++] = c.adj[p];
        s.sub[0] = v;
        extend(&s, 1, cnt);
    }
cleanup:
    for (int d = 1; d < 4; d++) free(s.ext[d]);
    free(s.bits);
    sdg_csr_destroy(&c);
    return st;
}
