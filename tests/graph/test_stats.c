/* graph: statistics. Orbit counts against hand-checked graphs and against a brute-force
 * enumeration of every 3- and 4-node subset of random graphs; clustering and degree
 * histograms against direct computation. */
#include <stdint.h>
#include "test_util.h"

#define MAXN 16

static void make_graph(sdg_graph_list *gl, size_t slot, int n, const int64_t *edges, int m) {
    sdg_graph g = {.n = n, .m = m, .label = -1, .edges = (int64_t *)edges};
    CU_ASSERT_FATAL(sdg_graph_list_set(gl, slot, &g) == SDG_OK);
}

/* ---- brute force: all subsets, connectivity by search, orbit from the sorted degree sequence ---- */
static int orbit_of(int k, const int *deg, int d) {
    int s[4];
    for (int i = 0; i < k; i++) s[i] = deg[i];
    for (int i = 0; i < k; i++)   /* insertion sort */
        for (int j = i; j > 0 && s[j - 1] > s[j]; j--) {
            int t = s[j]; s[j] = s[j - 1]; s[j - 1] = t;
        }
    int code = 0;
    for (int i = 0; i < k; i++) code = code * 10 + s[i];
    switch (code) {
    case 112:  return d == 1 ? 1 : 2;                       /* path P3   */
    case 222:  return 3;                                    /* triangle  */
    case 1122: return d == 1 ? 4 : 5;                       /* path P4   */
    case 1113: return d == 3 ? 7 : 6;                       /* star      */
    case 2222: return 8;                                    /* cycle C4  */
    case 1223: return d == 1 ? 9 : d == 2 ? 10 : 11;        /* paw       */
    case 2233: return d == 2 ? 12 : 13;                     /* diamond   */
    case 3333: return 14;                                   /* K4        */
    default:   return -1;                                   /* disconnected */
    }
}

static bool connected(int k, const int *S, bool adj[MAXN][MAXN]) {
    bool seen[4] = {true, false, false, false};
    int  stack[4] = {0}, top = 1, count = 1;
    while (top) {
        int a = stack[--top];
        for (int b = 0; b < k; b++)
            if (!seen[b] && adj[S[a]][S[b]]) {
                seen[b] = true;
                stack[top++] = b;
                count++;
            }
    }
    return count == k;
}

static void brute_orbits(const sdg_graph *g, int64_t *orb) {
    bool adj[MAXN][MAXN] = {{false}};
    int  n = (int)g->n;
    for (int64_t e = 0; e < g->m; e++) adj[g->edges[2 * e]][g->edges[2 * e + 1]] = adj[g->edges[2 * e + 1]][g->edges[2 * e]] = true;
    memset(orb, 0, (size_t)n * SDG_GRAPH_ORBITS * sizeof *orb);
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++) orb[a * SDG_GRAPH_ORBITS] += adj[a][b];
    for (int k = 3; k <= 4; k++) {
        int S[4];
        for (S[0] = 0; S[0] < n; S[0]++)
            for (S[1] = S[0] + 1; S[1] < n; S[1]++)
                for (S[2] = S[1] + 1; S[2] < n; S[2]++)
                    for (S[3] = (k == 4 ? S[2] + 1 : n); S[3] < (k == 4 ? n : n + 1); S[3]++) {
                        if (!connected(k, S, adj)) continue;
                        int deg[4] = {0};
                        for (int i = 0; i < k; i++)
                            for (int j = 0; j < k; j++) deg[i] += adj[S[i]][S[j]];
                        for (int i = 0; i < k; i++) {
                            int o = orbit_of(k, deg, deg[i]);
                            CU_ASSERT_FATAL(o >= 0);
                            orb[S[i] * SDG_GRAPH_ORBITS + o]++;
                        }
                    }
    }
}

static void check_orbits(const sdg_graph *g, const int64_t want[][SDG_GRAPH_ORBITS], const char *name) {
    int64_t got[MAXN * SDG_GRAPH_ORBITS];
    CU_ASSERT_FATAL(sdg_graph_orbit_counts(g, got, sizeof got / sizeof got[0]) == SDG_OK);
    for (int64_t v = 0; v < g->n; v++)
        for (int o = 0; o < SDG_GRAPH_ORBITS; o++)
            if (got[v * SDG_GRAPH_ORBITS + o] != want[v][o]) {
                printf("\n  %s: node %lld orbit %d: got %lld want %lld", name, (long long)v, o,
                       (long long)got[v * SDG_GRAPH_ORBITS + o], (long long)want[v][o]);
                CU_FAIL("orbit mismatch");
            }
}

static void test_orbits_hand(void) {
    sdg_graph_list *gl = NULL;
    CU_ASSERT_FATAL(sdg_graph_list_new(7, &gl) == SDG_OK);
    /* path 0-1-2-3 */
    const int64_t pe[] = {0, 1, 1, 2, 2, 3};
    make_graph(gl, 0, 4, pe, 3);
    const int64_t pw[4][15] = {{1, 1, 0, 0, 1}, {2, 1, 1, 0, 0, 1}, {2, 1, 1, 0, 0, 1}, {1, 1, 0, 0, 1}};
    check_orbits(&gl->graphs[0], pw, "path");
    /* star: centre 0 */
    const int64_t se[] = {0, 1, 0, 2, 0, 3};
    make_graph(gl, 1, 4, se, 3);
    const int64_t sw[4][15] = {{3, 0, 3, 0, 0, 0, 0, 1}, {1, 2, 0, 0, 0, 0, 1}, {1, 2, 0, 0, 0, 0, 1}, {1, 2, 0, 0, 0, 0, 1}};
    check_orbits(&gl->graphs[1], sw, "star");
    /* cycle 0-1-2-3-0 */
    const int64_t ce[] = {0, 1, 1, 2, 2, 3, 0, 3};
    make_graph(gl, 2, 4, ce, 4);
    int64_t cw[4][15] = {{0}};
    for (int v = 0; v < 4; v++) { cw[v][0] = 2; cw[v][1] = 2; cw[v][2] = 1; cw[v][8] = 1; }
    check_orbits(&gl->graphs[2], (const int64_t(*)[15])cw, "cycle C4");
    /* K4 */
    const int64_t ke[] = {0, 1, 0, 2, 0, 3, 1, 2, 1, 3, 2, 3};
    make_graph(gl, 3, 4, ke, 6);
    int64_t kw[4][15] = {{0}};
    for (int v = 0; v < 4; v++) { kw[v][0] = 3; kw[v][3] = 3; kw[v][14] = 1; }
    check_orbits(&gl->graphs[3], (const int64_t(*)[15])kw, "K4");
    /* paw: triangle 0,1,2 with tail 2-3 */
    const int64_t we[] = {0, 1, 0, 2, 1, 2, 2, 3};
    make_graph(gl, 4, 4, we, 4);
    const int64_t ww[4][15] = {{2, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1}, {2, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1},
                               {3, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 1}, {1, 2, 0, 0, 0, 0, 0, 0, 0, 1}};
    check_orbits(&gl->graphs[4], ww, "paw");
    /* diamond: K4 minus edge (0,3) */
    const int64_t de[] = {0, 1, 0, 2, 1, 2, 1, 3, 2, 3};
    make_graph(gl, 5, 4, de, 5);
    const int64_t dw[4][15] = {{2, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1}, {3, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                               {3, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, {2, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
    check_orbits(&gl->graphs[5], dw, "diamond");
    /* cycle C5: every node ends 2 induced P4s and is inside 2 */
    const int64_t c5e[] = {0, 1, 1, 2, 2, 3, 3, 4, 0, 4};
    make_graph(gl, 6, 5, c5e, 5);
    int64_t c5w[5][15] = {{0}};
    for (int v = 0; v < 5; v++) { c5w[v][0] = 2; c5w[v][1] = 2; c5w[v][2] = 1; c5w[v][4] = 2; c5w[v][5] = 2; }
    check_orbits(&gl->graphs[6], (const int64_t(*)[15])c5w, "cycle C5");
    /* capacity is checked */
    int64_t small[10];
    CU_ASSERT_EQUAL(sdg_graph_orbit_counts(&gl->graphs[0], small, 10), SDG_ERR_INVALID);
    sdg_graph_list_free(gl);
}

static void random_graph(sdg_rng *r, sdg_graph_list *gl, size_t slot, int n, double p) {
    int64_t e[MAXN * MAXN];
    int     m = 0;
    for (int u = 0; u < n; u++)
        for (int v = u + 1; v < n; v++)
            if (sdg_rng_uniform(r) < p) { e[2 * m] = u; e[2 * m + 1] = v; m++; }
    make_graph(gl, slot, n, e, m);
}

static void test_orbits_brute(void) {
    sdg_rng        *r  = NULL;
    sdg_graph_list *gl = NULL;
    enum { T = 200 };
    CU_ASSERT_FATAL(sdg_rng_new(2024, &r) == SDG_OK);
    CU_ASSERT_FATAL(sdg_graph_list_new(T, &gl) == SDG_OK);
    const double ps[] = {0.1, 0.2, 0.35, 0.5, 0.7, 0.9};
    long mismatches = 0, total4 = 0;
    for (int t = 0; t < T; t++) {
        int n = 1 + (int)sdg_rng_uint(r, MAXN);
        random_graph(r, gl, (size_t)t, n, ps[t % 6]);
        const sdg_graph *g = &gl->graphs[t];
        int64_t got[MAXN * SDG_GRAPH_ORBITS], want[MAXN * SDG_GRAPH_ORBITS];
        CU_ASSERT_FATAL(sdg_graph_orbit_counts(g, got, MAXN * SDG_GRAPH_ORBITS) == SDG_OK);
        brute_orbits(g, want);
        for (int i = 0; i < n * SDG_GRAPH_ORBITS; i++) {
            mismatches += got[i] != want[i];
            if (i % SDG_GRAPH_ORBITS >= 4) total4 += want[i];
        }
        /* identity: pairs of neighbours are either a path middle or a triangle */
        for (int v = 0; v < n; v++) {
            int64_t d = got[v * SDG_GRAPH_ORBITS];
            CU_ASSERT_EQUAL(got[v * SDG_GRAPH_ORBITS + 2] + got[v * SDG_GRAPH_ORBITS + 3], d * (d - 1) / 2);
        }
    }
    printf("\n  %d random graphs (1-%d nodes): %ld mismatching counts, %ld 4-node orbit memberships checked",
           T, MAXN, mismatches, total4);
    CU_ASSERT_EQUAL(mismatches, 0);
    CU_ASSERT(total4 > 10000);   /* the test exercised 4-node graphlets in quantity */
    sdg_graph_list_free(gl);
    sdg_rng_free(r);
}

/* Graphs above 8192 nodes use the CSR edge search instead of the bit matrix: 700 disjoint
 * copies of a random 13-node graph (9100 nodes) must give every copy the small graph's counts. */
static void test_orbits_large(void) {
    sdg_rng        *r  = NULL;
    sdg_graph_list *gl = NULL;
    enum { C = 700, N = 13 };
    CU_ASSERT_FATAL(sdg_rng_new(99, &r) == SDG_OK);
    CU_ASSERT_FATAL(sdg_graph_list_new(2, &gl) == SDG_OK);
    random_graph(r, gl, 0, N, 0.4);
    const sdg_graph *g = &gl->graphs[0];
    int64_t *e = malloc((size_t)(2 * g->m * C + 1) * sizeof *e);
    for (int c = 0; c < C; c++)
        for (int64_t k = 0; k < 2 * g->m; k++) e[2 * g->m * c + k] = g->edges[k] + (int64_t)c * N;
    make_graph(gl, 1, N * C, e, (int)(g->m * C));
    int64_t small[N * SDG_GRAPH_ORBITS];
    int64_t *big = malloc((size_t)N * C * SDG_GRAPH_ORBITS * sizeof *big);
    CU_ASSERT_FATAL(sdg_graph_orbit_counts(&gl->graphs[0], small, N * SDG_GRAPH_ORBITS) == SDG_OK);
    CU_ASSERT_FATAL(sdg_graph_orbit_counts(&gl->graphs[1], big, (size_t)N * C * SDG_GRAPH_ORBITS) == SDG_OK);
    long bad = 0;
    for (int c = 0; c < C; c++) bad += memcmp(big + (size_t)c * N * SDG_GRAPH_ORBITS, small, sizeof small) != 0;
    CU_ASSERT_EQUAL(bad, 0);
    free(big);
    free(e);
    sdg_graph_list_free(gl);
    sdg_rng_free(r);
}

static void test_clustering_degree(void) {
    sdg_graph_list *gl = NULL;
    sdg_rng        *r  = NULL;
    CU_ASSERT_FATAL(sdg_graph_list_new(2, &gl) == SDG_OK);
    /* paw plus an isolated node 4 */
    const int64_t we[] = {0, 1, 0, 2, 1, 2, 2, 3};
    make_graph(gl, 0, 5, we, 4);
    double cc[5];
    CU_ASSERT_FATAL(sdg_graph_clustering(&gl->graphs[0], cc, 5) == SDG_OK);
    CU_ASSERT_DOUBLE_EQUAL(cc[0], 1.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(cc[1], 1.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(cc[2], 1.0 / 3.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(cc[3], 0.0, 0);   /* degree 1 -> 0 (networkx), not NaN */
    CU_ASSERT_DOUBLE_EQUAL(cc[4], 0.0, 0);   /* isolated -> 0 */
    CU_ASSERT_EQUAL(sdg_graph_clustering(&gl->graphs[0], cc, 4), SDG_ERR_INVALID);
    int64_t hist[8];
    size_t  need = 0;
    CU_ASSERT_EQUAL(sdg_graph_degree_histogram(&gl->graphs[0], NULL, 0, &need), SDG_ERR_INVALID);
    CU_ASSERT_EQUAL(need, 4);
    CU_ASSERT_FATAL(sdg_graph_degree_histogram(&gl->graphs[0], hist, 8, &need) == SDG_OK);
    const int64_t wh[] = {1, 1, 2, 1};
    CU_ASSERT(memcmp(hist, wh, sizeof wh) == 0);
    /* random graphs: clustering = triangles at v / C(d, 2) */
    CU_ASSERT_FATAL(sdg_rng_new(7, &r) == SDG_OK);
    long bad = 0;
    for (int t = 0; t < 50; t++) {
        int n = 2 + (int)sdg_rng_uint(r, MAXN - 1);
        random_graph(r, gl, 1, n, 0.1 + 0.8 * sdg_rng_uniform(r));
        const sdg_graph *g = &gl->graphs[1];
        bool adj[MAXN][MAXN] = {{false}};
        for (int64_t e = 0; e < g->m; e++) adj[g->edges[2 * e]][g->edges[2 * e + 1]] = adj[g->edges[2 * e + 1]][g->edges[2 * e]] = true;
        double c[MAXN];
        CU_ASSERT_FATAL(sdg_graph_clustering(g, c, MAXN) == SDG_OK);
        for (int v = 0; v < n; v++) {
            int d = 0, tri = 0;
            for (int a = 0; a < n; a++) d += adj[v][a];
            for (int a = 0; a < n; a++)
                for (int b = a + 1; b < n; b++) tri += adj[v][a] && adj[v][b] && adj[a][b];
            double want = d < 2 ? 0.0 : tri / (d * (d - 1) / 2.0);
            bad += fabs(c[v] - want) > 1e-12;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    sdg_rng_free(r);
    sdg_graph_list_free(gl);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"orbits: path, star, C4, K4, paw, diamond, C5 by hand", test_orbits_hand},
        {"orbits: ESU counter == brute force on 200 random graphs", test_orbits_brute},
        {"orbits: graphs above 8192 nodes (CSR path) == small-graph counts", test_orbits_large},
        {"clustering (igraph, networkx semantics) and degree histogram", test_clustering_degree},
        {NULL, NULL},
    };
    return sdg_test_main("graph-stats", cases);
}
