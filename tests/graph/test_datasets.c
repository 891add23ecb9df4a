/* graph: the four GDSS datasets load with the sizes of data/README.md section 4 and GDSS's
 * split; orbit counting runs on every grid graph. Exits 77 when SDEGEN_DATA is absent. */
#include <time.h>
#include "test_util.h"

static const char *data_dir;

typedef struct expect {
    const char *name;
    size_t      G;
    int64_t     nmin, nmax;
    double      nmean;
} expect;

static void check_dataset(const expect *e) {
    sdg_graph_list *tr = NULL, *te = NULL;
    sdg_status      st = sdg_graph_dataset_load(data_dir, e->name, &tr, &te);
    if (st != SDG_OK) printf("\n  %s: %s\n", e->name, sdg_errmsg());
    CU_ASSERT_EQUAL_FATAL(st, SDG_OK);
    size_t n_test = (size_t)(0.2 * (double)e->G);
    CU_ASSERT_EQUAL(te->count, n_test);
    CU_ASSERT_EQUAL(tr->count, e->G - n_test);
    int64_t nmin = INT64_MAX, nmax = 0, sum = 0;
    const sdg_graph_list *parts[2] = {te, tr};
    for (int p = 0; p < 2; p++)
        for (size_t i = 0; i < parts[p]->count; i++) {
            const sdg_graph *g = &parts[p]->graphs[i];
            if (g->n < nmin) nmin = g->n;
            if (g->n > nmax) nmax = g->n;
            sum += g->n;
            for (int64_t k = 0; k < g->m; k++) {   /* the reader's invariants */
                CU_ASSERT(g->edges[2 * k] < g->edges[2 * k + 1]);
                CU_ASSERT(g->edges[2 * k + 1] < g->n);
            }
        }
    CU_ASSERT_EQUAL(nmin, e->nmin);
    CU_ASSERT_EQUAL(nmax, e->nmax);
    double mean = (double)sum / (double)e->G;
    CU_ASSERT(fabs(mean - e->nmean) < 0.005);   /* README gives two decimals */
    printf("\n  %s: %zu graphs (%zu test / %zu train), nodes %lld-%lld mean %.2f", e->name, e->G, te->count,
           tr->count, (long long)nmin, (long long)nmax, mean);
    sdg_graph_list_free(tr);
    sdg_graph_list_free(te);
}

static void test_community(void) { check_dataset(&(expect){"community_small", 100, 12, 20, 15.28}); }
static void test_ego(void) { check_dataset(&(expect){"ego_small", 200, 4, 17, 6.41}); }
static void test_grid(void) { check_dataset(&(expect){"grid", 100, 110, 361, 216.39}); }
static void test_enzymes(void) {
    check_dataset(&(expect){"enzymes", 587, 10, 125, 33.03});
    /* node labels 1-3, graph labels = EC classes 1-6 with counts 99/98/100/100/97/93 */
    sdg_graph_list *tr = NULL, *te = NULL;
    CU_ASSERT_FATAL(sdg_graph_dataset_load(data_dir, "enzymes", &tr, &te) == SDG_OK);
    int cls[7] = {0}, bad = 0;
    const sdg_graph_list *parts[2] = {te, tr};
    for (int p = 0; p < 2; p++)
        for (size_t i = 0; i < parts[p]->count; i++) {
            const sdg_graph *g = &parts[p]->graphs[i];
            if (g->label >= 1 && g->label <= 6) cls[g->label]++;
            else bad++;
            for (int64_t v = 0; v < g->n; v++) bad += g->node_labels[v] < 1 || g->node_labels[v] > 3;
        }
    CU_ASSERT_EQUAL(bad, 0);
    const int want[7] = {0, 99, 98, 100, 100, 97, 93};
    for (int c = 1; c <= 6; c++) CU_ASSERT_EQUAL(cls[c], want[c]);
    /* README: the test split holds only EC classes 5 and 6, the training split no class 6 */
    for (size_t i = 0; i < te->count; i++) CU_ASSERT(te->graphs[i].label == 5 || te->graphs[i].label == 6);
    for (size_t i = 0; i < tr->count; i++) CU_ASSERT(tr->graphs[i].label != 6);
    sdg_graph_list_free(tr);
    sdg_graph_list_free(te);
}

/* Orbit counts on every grid graph: fast enough, and a closed-form check on interior nodes
 * of a grid (degree 4, no triangles: orbit 2 = C(4,2) = 6, orbit 3 = 0, orbit 8 = 4 squares). */
static void test_grid_orbits(void) {
    sdg_graph_list *tr = NULL, *te = NULL;
    CU_ASSERT_FATAL(sdg_graph_dataset_load(data_dir, "grid", &tr, &te) == SDG_OK);
    clock_t t0 = clock();
    int64_t *orb = NULL;
    long     interior = 0, wrong = 0;
    const sdg_graph_list *parts[2] = {te, tr};
    for (int p = 0; p < 2; p++)
        for (size_t i = 0; i < parts[p]->count; i++) {
            const sdg_graph *g = &parts[p]->graphs[i];
            orb = realloc(orb, (size_t)g->n * SDG_GRAPH_ORBITS * sizeof *orb);
            CU_ASSERT_FATAL(sdg_graph_orbit_counts(g, orb, (size_t)g->n * SDG_GRAPH_ORBITS) == SDG_OK);
            for (int64_t v = 0; v < g->n; v++) {
                const int64_t *o = orb + v * SDG_GRAPH_ORBITS;
                if (o[0] != 4) continue;
                interior++;
                wrong += o[2] != 6 || o[3] != 0 || o[14] != 0 || o[12] != 0 || o[9] != 0;
                /* interior nodes whose neighbours are interior too sit on 4 squares */
            }
        }
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("\n  orbit counts of all 100 grid graphs: %.2f s CPU, %ld degree-4 nodes", secs, interior);
    CU_ASSERT(interior > 10000);
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT(secs < 20.0);
    free(orb);
    sdg_graph_list_free(tr);
    sdg_graph_list_free(te);
}

/* Dense batches with GDSS's sizes (README section 7): every graph fits, A is symmetric 0/1,
 * flags mark exactly the non-isolated nodes, X is the one-hot degree on flagged rows; one
 * feature too few is refused naming the graph. */
static void check_dense(const char *name, int64_t N, int64_t F) {
    sdg_graph_list *tr = NULL, *te = NULL;
    CU_ASSERT_FATAL(sdg_graph_dataset_load(data_dir, name, &tr, &te) == SDG_OK);
    size_t  k = tr->count, *idx = malloc(k * sizeof *idx);
    float  *A = malloc((size_t)((int64_t)k * N * N) * 4), *X = malloc((size_t)((int64_t)k * N * F) * 4);
    float  *fl = malloc((size_t)((int64_t)k * N) * 4);
    int64_t maxdeg = 0;
    for (size_t i = 0; i < k; i++) idx[i] = k - 1 - i;   /* reversed: idx is honoured */
    sdg_status st = sdg_graph_list_dense(tr, idx, k, N, F, A, X, fl);
    if (st) printf("\n  %s: %s", name, sdg_errmsg());
    CU_ASSERT_FATAL(st == SDG_OK);
    long bad = 0;
    for (size_t b = 0; b < k; b++) {
        const sdg_graph *g = &tr->graphs[idx[b]];
        const float *a = A + (int64_t)b * N * N, *x = X + (int64_t)b * N * F, *f = fl + (int64_t)b * N;
        double sum = 0;
        for (int64_t i = 0; i < N; i++) {
            int64_t d = 0;
            for (int64_t j = 0; j < N; j++) {
                bad += a[i * N + j] != a[j * N + i] || (a[i * N + j] != 0.0f && a[i * N + j] != 1.0f);
                d += a[i * N + j] == 1.0f;
            }
            sum += (double)d;
            if (d > maxdeg) maxdeg = d;
            bad += (f[i] == 1.0f) != (d > 0) || (i >= g->n && d > 0);
            for (int64_t c = 0; c < F; c++) bad += x[i * F + c] != (d > 0 && c == d ? 1.0f : 0.0f);
        }
        bad += sum != 2.0 * (double)g->m;
    }
    CU_ASSERT_EQUAL(bad, 0);
    printf("\n  %s: %zu training graphs padded to N = %lld, max degree %lld < F = %lld", name, k, (long long)N,
           (long long)maxdeg, (long long)F);
    CU_ASSERT(sdg_graph_list_dense(tr, idx, k, N, maxdeg, NULL, X, NULL) == SDG_ERR_INVALID);
    CU_ASSERT(strstr(sdg_errmsg(), "degree") != NULL);
    CU_ASSERT(sdg_graph_list_dense(tr, idx, k, N, maxdeg, A, NULL, fl) == SDG_OK);   /* X not wanted */
    int64_t nmax = 0;
    for (size_t i = 0; i < k; i++) nmax = tr->graphs[i].n > nmax ? tr->graphs[i].n : nmax;
    CU_ASSERT(sdg_graph_list_dense(tr, idx, k, nmax - 1, F, A, NULL, NULL) == SDG_ERR_INVALID);
    CU_ASSERT(strstr(sdg_errmsg(), "nodes, more than") != NULL);
    free(idx);
    free(A);
    free(X);
    free(fl);
    sdg_graph_list_free(tr);
    sdg_graph_list_free(te);
}
static void test_dense(void) {
    check_dense("community_small", 20, 10);
    check_dense("ego_small", 18, 17);
    check_dense("enzymes", 125, 10);
    check_dense("grid", 361, 5);
}

int main(void) {
    const char *d = sdg_test_data_dir("graphs/grid.txt");
    if (!d) return 77;
    data_dir = d;
    const sdg_test_case cases[] = {
        {"community_small: 100 graphs, 12-20 nodes, mean 15.28", test_community},
        {"ego_small: 200 graphs, 4-17 nodes, mean 6.41", test_ego},
        {"grid: 100 graphs, 110-361 nodes, mean 216.39", test_grid},
        {"enzymes: 587 graphs, 10-125 nodes, mean 33.03, labels", test_enzymes},
        {"orbit counts on all grid graphs", test_grid_orbits},
        {"dense batches with GDSS's N and F", test_dense},
        {NULL, NULL},
    };
    return sdg_test_main("graph-datasets", cases);
}
