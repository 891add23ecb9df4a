/* eval: 1-D EMD against hand-computed values; graph MMD^2 against hand-computed values on
 * tiny lists; MMD(X, X) = 0; MMD >= 0 on random lists; grids vs trees >> grids vs grids;
 * isolated nodes of generated graphs dropped; protocol strings. No shared data needed. */
#include <stdint.h>
#include "test_util.h"

static void test_emd(void) {
    double out = -1;
    const double a[] = {1, 0, 0}, b[] = {0, 0, 1}, c[] = {0.5, 0.5}, d[] = {0.25, 0.25, 0.25, 0.25};
    CU_ASSERT(sdg_emd_1d(a, 3, b, 3, 1.0, &out) == SDG_OK);
    CU_ASSERT_DOUBLE_EQUAL(out, 2.0, 1e-15);              /* all mass moves 2 bins */
    CU_ASSERT(sdg_emd_1d(a, 3, b, 3, 0.01, &out) == SDG_OK);
    CU_ASSERT_DOUBLE_EQUAL(out, 0.02, 1e-15);             /* ground distance |i-j|/100 */
    CU_ASSERT(sdg_emd_1d(a, 3, a, 3, 1.0, &out) == SDG_OK);
    CU_ASSERT_DOUBLE_EQUAL(out, 0.0, 0);
    /* zero padding: (0.5, 0.5) vs (.25 x 4): CDF diffs .25, .5, .25 -> 1.0 */
    CU_ASSERT(sdg_emd_1d(c, 2, d, 4, 1.0, &out) == SDG_OK);
    CU_ASSERT_DOUBLE_EQUAL(out, 1.0, 1e-15);
    CU_ASSERT(sdg_emd_1d(d, 4, c, 2, 1.0, &out) == SDG_OK);   /* symmetric */
    CU_ASSERT_DOUBLE_EQUAL(out, 1.0, 1e-15);
    /* (0, 1) vs (0, 2/3, 1/3): 1/3 of the mass moves one bin */
    const double k2[] = {0, 1}, p3[] = {0, 2.0 / 3, 1.0 / 3};
    CU_ASSERT(sdg_emd_1d(k2, 2, p3, 3, 1.0, &out) == SDG_OK);
    CU_ASSERT_DOUBLE_EQUAL(out, 1.0 / 3, 1e-15);
    CU_ASSERT_EQUAL(sdg_emd_1d(a, 3, b, 3, 0.0, &out), SDG_ERR_INVALID);
    CU_ASSERT_EQUAL(sdg_emd_1d(NULL, 3, b, 3, 1.0, &out), SDG_ERR_INVALID);
}

static void set_graph(sdg_graph_list *gl, size_t i, int64_t n, const int64_t *e, int64_t m) {
    sdg_graph g = {.n = n, .m = m, .label = -1, .edges = (int64_t *)e};
    CU_ASSERT_FATAL(sdg_graph_list_set(gl, i, &g) == SDG_OK);
}

static double mmd(const sdg_graph_list *r, const sdg_graph_list *g, sdg_graph_stat s, const sdg_graph_mmd_params *p) {
    sdg_metric_result res;
    sdg_status        st = sdg_graph_mmd(r, g, s, p, &res);
    if (st != SDG_OK) printf("\n  mmd failed: %s\n", sdg_errmsg());
    CU_ASSERT_EQUAL_FATAL(st, SDG_OK);
    return res.value;
}

/* R = {K2}, G = {P3}: every MMD^2 is 2 - 2 k(K2, P3), with k worked out by hand. */
static void test_mmd_hand(void) {
    sdg_graph_list *r = NULL, *g = NULL, *t = NULL;
    CU_ASSERT_FATAL(sdg_graph_list_new(1, &r) == SDG_OK);
    CU_ASSERT_FATAL(sdg_graph_list_new(1, &g) == SDG_OK);
    CU_ASSERT_FATAL(sdg_graph_list_new(1, &t) == SDG_OK);
    const int64_t e1[] = {0, 1}, e2[] = {0, 1, 1, 2}, e3[] = {0, 1, 1, 2, 0, 2};
    set_graph(r, 0, 2, e1, 1);
    set_graph(g, 0, 3, e2, 2);
    set_graph(t, 0, 3, e3, 3);
    /* degree: pmf (0,1) vs (0,2/3,1/3): EMD 1/3, sigma 1 */
    CU_ASSERT_DOUBLE_EQUAL(mmd(r, g, SDG_GRAPH_STAT_DEGREE, NULL), 2 - 2 * exp(-1.0 / 18), 1e-12);
    /* orbit: K2 -> (1, 0, ...); P3 -> (4/3, 2/3, 1/3, 0, ...): |d|^2 = 2/3, sigma 30 */
    CU_ASSERT_DOUBLE_EQUAL(mmd(r, g, SDG_GRAPH_STAT_ORBIT, NULL), 2 - 2 * exp(-(2.0 / 3) / 1800), 1e-12);
    /* clustering: triangle (all in bin 99) vs P3 (all in bin 0): EMD 0.99, sigma 0.1 */
    CU_ASSERT_DOUBLE_EQUAL(mmd(t, g, SDG_GRAPH_STAT_CLUSTERING, NULL), 2 - 2 * exp(-0.99 * 0.99 / 0.02), 1e-12);
    /* spectral: K2 eigenvalues {0, 2} -> bins 0, 199; P3 {0, 1, 2} -> bins 0, 100, 199:
     * |CDF diff| = 1/6 on bins 0..198 -> EMD 199/6, sigma 1 */
    CU_ASSERT_DOUBLE_EQUAL(mmd(r, g, SDG_GRAPH_STAT_SPECTRAL, NULL), 2 - 2 * exp(-(199.0 / 6) * (199.0 / 6) / 2), 1e-12);
    /* sigma is honoured: degree with sigma 2 */
    sdg_graph_mmd_params p = sdg_graph_mmd_default_params();
    p.sigma[SDG_GRAPH_STAT_DEGREE] = 2.0;
    CU_ASSERT_DOUBLE_EQUAL(mmd(r, g, SDG_GRAPH_STAT_DEGREE, &p), 2 - 2 * exp(-1.0 / 72), 1e-12);
    /* protocol string names counts, reference, kernel and sigma */
    sdg_metric_result res;
    p = sdg_graph_mmd_default_params();
    p.reference_name = "toy test split";
    CU_ASSERT_FATAL(sdg_graph_mmd(r, g, SDG_GRAPH_STAT_CLUSTERING, &p, &res) == SDG_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(res.protocol, "clustering MMD^2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(res.protocol, "1 generated vs 1 reference graphs (toy test split)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(res.protocol, "100-bin"));
    CU_ASSERT_PTR_NOT_NULL(strstr(res.protocol, "sigma=0.1"));
    printf("\n  %s", res.protocol);
    CU_ASSERT_FATAL(sdg_graph_mmd(r, g, SDG_GRAPH_STAT_ORBIT, NULL, &res) == SDG_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(res.protocol, "sigma=30"));
    printf("\n  %s", res.protocol);
    /* errors */
    sdg_graph_list *empty = NULL;
    CU_ASSERT_FATAL(sdg_graph_list_new(0, &empty) == SDG_OK);
    CU_ASSERT_EQUAL(sdg_graph_mmd(r, empty, SDG_GRAPH_STAT_DEGREE, NULL, &res), SDG_ERR_INVALID);
    CU_ASSERT_EQUAL(sdg_graph_mmd(r, g, SDG_GRAPH_STAT_COUNT, NULL, &res), SDG_ERR_INVALID);
    p = sdg_graph_mmd_default_params();
    p.sigma[SDG_GRAPH_STAT_ORBIT] = 0;
    CU_ASSERT_EQUAL(sdg_graph_mmd(r, g, SDG_GRAPH_STAT_ORBIT, &p, &res), SDG_ERR_INVALID);
    CU_ASSERT_STRING_EQUAL(sdg_graph_stat_name(SDG_GRAPH_STAT_SPECTRAL), "spectral");
    sdg_graph_list_free(empty);
    sdg_graph_list_free(r);
    sdg_graph_list_free(g);
    sdg_graph_list_free(t);
}

/* ---- synthetic families ---- */
static void grid_graph(sdg_graph_list *gl, size_t i, int rows, int cols) {
    int64_t *e = malloc((size_t)(4 * rows * cols) * sizeof *e), m = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            int64_t v = r * cols + c;
            if (c + 1 < cols) { e[2 * m] = v; e[2 * m + 1] = v + 1; m++; }
            if (r + 1 < rows) { e[2 * m] = v; e[2 * m + 1] = v + cols; m++; }
        }
    set_graph(gl, i, rows * cols, e, m);
    free(e);
}

static void tree_graph(sdg_graph_list *gl, size_t i, int n, sdg_rng *rng) {
    int64_t *e = malloc((size_t)(2 * n) * sizeof *e);
    for (int v = 1; v < n; v++) {
        e[2 * (v - 1)] = (int64_t)sdg_rng_uint(rng, (uint64_t)v);
        e[2 * (v - 1) + 1] = v;
    }
    set_graph(gl, i, n, e, n - 1);
    free(e);
}

static void gnp_graph(sdg_graph_list *gl, size_t i, int n, double p, sdg_rng *rng) {
    int64_t *e = malloc((size_t)(n * n + 1) * sizeof *e), m = 0;
    for (int u = 0; u < n; u++)
        for (int v = u + 1; v < n; v++)
            if (sdg_rng_uniform(rng) < p) { e[2 * m] = u; e[2 * m + 1] = v; m++; }
    set_graph(gl, i, n, e, m);
    free(e);
}

static void test_mmd_properties(void) {
    sdg_rng        *rng = NULL;
    sdg_graph_list *g1 = NULL, *g2 = NULL, *tr = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(11, &rng) == SDG_OK);
    enum { K = 12 };
    CU_ASSERT_FATAL(sdg_graph_list_new(K, &g1) == SDG_OK);
    CU_ASSERT_FATAL(sdg_graph_list_new(K, &g2) == SDG_OK);
    CU_ASSERT_FATAL(sdg_graph_list_new(K, &tr) == SDG_OK);
    for (int i = 0; i < K; i++) {
        grid_graph(g1, (size_t)i, 4 + i % 4, 5 + i / 4);          /* 20-56 nodes */
        grid_graph(g2, (size_t)i, 4 + (i + 1) % 4, 5 + (K - 1 - i) / 4);
        tree_graph(tr, (size_t)i, g1->graphs[i].n, rng);          /* trees of the same sizes */
    }
    sdg_graph_mmd_params p = sdg_graph_mmd_default_params();
    p.drop_isolated = false;
    for (int s = 0; s < SDG_GRAPH_STAT_COUNT; s++) {
        double xx = mmd(g1, g1, (sdg_graph_stat)s, &p);
        double gg = mmd(g1, g2, (sdg_graph_stat)s, &p);
        double gt = mmd(g1, tr, (sdg_graph_stat)s, &p);
        printf("\n  %-10s MMD(grids, same grids) = %.2e, grids vs other grids %.2e, grids vs trees %.4f",
               sdg_graph_stat_name((sdg_graph_stat)s), xx, gg, gt);
        CU_ASSERT(fabs(xx) < 1e-12);                   /* MMD(X, X) = 0 exactly up to rounding */
        CU_ASSERT(gg >= -1e-12);
        /* grids and trees differ in degrees, orbits and spectra (both have clustering 0) */
        if (s != SDG_GRAPH_STAT_CLUSTERING) {
            CU_ASSERT(gt > 0.05);
            CU_ASSERT(gt > 10 * gg);
        } else {
            CU_ASSERT(fabs(gt) < 1e-12);
        }
    }
    /* MMD >= 0 on random G(n, p) lists of mixed sizes and densities (Gaussian-EMD kernels are
     * not proven positive definite, so this is checked, not assumed) */
    double minv = 1e9;
    for (int t = 0; t < 20; t++) {
        for (int i = 0; i < K; i++) {
            gnp_graph(g1, (size_t)i, 3 + (int)sdg_rng_uint(rng, 25), 0.1 + 0.6 * sdg_rng_uniform(rng), rng);
            gnp_graph(g2, (size_t)i, 3 + (int)sdg_rng_uint(rng, 25), 0.1 + 0.6 * sdg_rng_uniform(rng), rng);
        }
        for (int s = 0; s < SDG_GRAPH_STAT_COUNT; s++) {
            double v = mmd(g1, g2, (sdg_graph_stat)s, NULL);
            if (v < minv) minv = v;
            CU_ASSERT(v >= -1e-12);
            CU_ASSERT(v <= 2.0 + 1e-12);   /* kernels lie in (0, 1] */
        }
    }
    printf("\n  smallest MMD^2 over 80 random comparisons: %.3e", minv);
    sdg_graph_list_free(g1);
    sdg_graph_list_free(g2);
    sdg_graph_list_free(tr);
    sdg_rng_free(rng);
}

/* Generated graphs lose isolated nodes first: a graph with extra isolated nodes scores 0
 * against its cleaned self, and 4 isolated nodes count as one node. */
static void test_mmd_cleaning(void) {
    sdg_graph_list *r = NULL, *g = NULL;
    CU_ASSERT_FATAL(sdg_graph_list_new(2, &r) == SDG_OK);
    CU_ASSERT_FATAL(sdg_graph_list_new(2, &g) == SDG_OK);
    const int64_t tri[] = {0, 1, 0, 2, 1, 2}, tri_iso[] = {1, 3, 1, 5, 3, 5};
    set_graph(r, 0, 3, tri, 3);
    set_graph(g, 0, 7, tri_iso, 3);
    set_graph(r, 1, 1, NULL, 0);
    set_graph(g, 1, 4, NULL, 0);
    for (int s = 0; s < SDG_GRAPH_STAT_COUNT; s++)
        CU_ASSERT(fabs(mmd(r, g, (sdg_graph_stat)s, NULL)) < 1e-12);
    sdg_graph_mmd_params p = sdg_graph_mmd_default_params();
    p.drop_isolated = false;
    CU_ASSERT(mmd(r, g, SDG_GRAPH_STAT_DEGREE, &p) > 0.01);
    sdg_graph_list_free(r);
    sdg_graph_list_free(g);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"1-D EMD: hand-computed values, padding, errors", test_emd},
        {"graph MMD^2: hand-computed K2 vs P3 for each statistic; protocol", test_mmd_hand},
        {"graph MMD^2: X vs X = 0, >= 0, grids vs trees", test_mmd_properties},
        {"graph MMD^2: generated graphs lose isolated nodes", test_mmd_cleaning},
        {NULL, NULL},
    };
    return sdg_test_main("eval-mmd", cases);
}
