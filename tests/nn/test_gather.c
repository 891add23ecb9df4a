/* gather / scatter_add: finite-difference gradients (repeated indices, rows that receive
 * nothing, the large parallel path), values against hand results and naive loops, errors, and
 * bit-identical results for 1 and 2 threads. */
#include "test_util.h"

typedef struct { const int64_t *idx; int64_t n; } idx_ud;
typedef struct { const int64_t *src, *dst; int64_t n_edges, n_nodes; } mp_ud;

static sdg_tensor *f_gather(sdg_ctx *c, sdg_tensor **in, void *u) {
    const idx_ud *p = u;
    return sdg_gather(c, in[0], p->idx, p->n);
}
static sdg_tensor *f_scatter(sdg_ctx *c, sdg_tensor **in, void *u) {
    const idx_ud *p = u;
    return sdg_scatter_add(c, in[0], p->idx, p->n);
}
/* message passing: edge e carries x[src[e]] to node dst[e] */
static sdg_tensor *f_mp(sdg_ctx *c, sdg_tensor **in, void *u) {
    const mp_ud *p = u;
    return sdg_scatter_add(c, sdg_gather(c, in[0], p->src, p->n_edges), p->dst, p->n_nodes);
}

/* Random indices in [0, bound); with every_other, the odd targets are never used. */
static int64_t *rand_idx(sdg_rng *rng, int64_t n, int64_t bound, bool every_other) {
    int64_t *idx = malloc((size_t)n * sizeof *idx);
    for (int64_t i = 0; i < n; i++) {
        idx[i] = (int64_t)sdg_rng_uint(rng, (uint64_t)bound);
        if (every_other) idx[i] &= ~(int64_t)1;
    }
    return idx;
}

static void test_grad_gather(void) {
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(21, &rng) == SDG_OK);
    const int64_t dims[][3] = {{4, 3, 9}, {1, 5, 4}, {6, 1, 20}, {5, 2, 1}, {7, 4, 3}};
    for (size_t c = 0; c < sizeof dims / sizeof dims[0]; c++) {
        int64_t R = dims[c][0], F = dims[c][1], n = dims[c][2];
        int64_t *idx = rand_idx(rng, n, R, false);   /* n > R: repeats certain */
        gc_spec sp = {.n_in = 1};
        GC_SHAPE(sp, 0, 2, R, F);
        idx_ud u = {idx, n};
        char label[64];
        snprintf(label, sizeof label, "gather (%lld, %lld) n %lld", (long long)R, (long long)F,
                 (long long)n);
        CU_ASSERT_EQUAL(sdg_gradcheck(label, f_gather, &u, &sp, 6000 + c), 0);
        free(idx);
    }
    /* the parallel scatter in gather's backward (n * F above the threshold) */
    int64_t *idx = rand_idx(rng, 5000, 700, true);
    gc_spec sp = {.n_in = 1, .max_checks = 48};
    GC_SHAPE(sp, 0, 2, 700, 8);
    idx_ud u = {idx, 5000};
    CU_ASSERT_EQUAL(sdg_gradcheck("gather large", f_gather, &u, &sp, 6100), 0);
    free(idx);
    sdg_rng_free(rng);
}

static void test_grad_scatter(void) {
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(22, &rng) == SDG_OK);
    /* (n, F, n_out); every_other leaves odd output rows empty */
    const int64_t dims[][3] = {{9, 3, 4}, {5, 1, 6}, {12, 2, 3}, {1, 4, 5}, {20, 3, 1}};
    for (size_t c = 0; c < sizeof dims / sizeof dims[0]; c++) {
        int64_t n = dims[c][0], F = dims[c][1], n_out = dims[c][2];
        int64_t *idx = rand_idx(rng, n, n_out, c % 2 == 0);
        gc_spec sp = {.n_in = 1};
        GC_SHAPE(sp, 0, 2, n, F);
        idx_ud u = {idx, n_out};
        char label[64];
        snprintf(label, sizeof label, "scatter_add (%lld, %lld) -> %lld", (long long)n,
                 (long long)F, (long long)n_out);
        CU_ASSERT_EQUAL(sdg_gradcheck(label, f_scatter, &u, &sp, 7000 + c), 0);
        free(idx);
    }
    int64_t *idx = rand_idx(rng, 5000, 300, true);
    gc_spec sp = {.n_in = 1, .max_checks = 48};
    GC_SHAPE(sp, 0, 2, 5000, 8);
    idx_ud u = {idx, 300};
    CU_ASSERT_EQUAL(sdg_gradcheck("scatter_add large", f_scatter, &u, &sp, 7100), 0);
    free(idx);
    sdg_rng_free(rng);
}

static void test_grad_message_passing(void) {
    const int64_t src[] = {0, 1, 1, 2, 3, 3, 3}, dst[] = {1, 0, 2, 2, 0, 4, 0};
    gc_spec sp = {.n_in = 1};
    GC_SHAPE(sp, 0, 2, 5, 3);
    mp_ud u = {src, dst, 7, 5};   /* node 3 receives nothing; node 4 sends nothing */
    CU_ASSERT_EQUAL(sdg_gradcheck("gather then scatter_add", f_mp, &u, &sp, 8000), 0);
}

static void test_values(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    float xv[12];
    for (int i = 0; i < 12; i++) xv[i] = (float)(i + 1);
    sdg_tensor *x = sdg_tensor_requires_grad(ctx, sdg_tensor_from(ctx, 2, (int64_t[]){4, 3}, xv));
    const int64_t gi[5] = {2, 0, 2, 3, 2};
    sdg_tensor *y = sdg_gather(ctx, x, gi, 5);
    CU_ASSERT_FATAL(y != NULL && y->grad != NULL);
    CU_ASSERT(y->ndim == 2 && y->shape[0] == 5 && y->shape[1] == 3);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 3; j++) CU_ASSERT_EQUAL(y->data[i * 3 + j], xv[gi[i] * 3 + j]);
    /* the gradient of a repeated row is the sum of its uses; unused rows get 0 */
    for (int64_t k = 0; k < y->size; k++) y->grad[k] = 1;
    CU_ASSERT_FATAL(sdg_backward(ctx, y) == SDG_OK);
    const float rows[4] = {1, 0, 3, 1};
    for (int r = 0; r < 4; r++)
        for (int j = 0; j < 3; j++) CU_ASSERT_EQUAL(x->grad[r * 3 + j], rows[r]);
    /* scatter_add: rows 2 and 4 receive nothing */
    sdg_ctx_reset(ctx);
    const float sv[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    sdg_tensor *s = sdg_tensor_from(ctx, 2, (int64_t[]){5, 2}, sv);
    const int64_t si[5] = {1, 1, 3, 1, 0};
    sdg_tensor *z = sdg_scatter_add(ctx, s, si, 5);
    CU_ASSERT_FATAL(z != NULL);
    CU_ASSERT(z->shape[0] == 5 && z->shape[1] == 2);
    const float want[10] = {9, 10, 1 + 3 + 7, 2 + 4 + 8, 0, 0, 5, 6, 0, 0};
    for (int i = 0; i < 10; i++) CU_ASSERT_EQUAL(z->data[i], want[i]);
    CU_ASSERT_EQUAL(sdg_ctx_flops(ctx, SDG_OP_SCATTER_ADD), 10);
    /* n = 0: an empty gather and an all-zero scatter */
    y = sdg_gather(ctx, s, NULL, 0);
    CU_ASSERT(y != NULL && y->shape[0] == 0 && y->size == 0);
    z = sdg_scatter_add(ctx, y, NULL, 3);
    CU_ASSERT_FATAL(z != NULL);
    CU_ASSERT(z->size == 6 && z->data[0] == 0 && z->data[5] == 0);
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_OK);
    sdg_ctx_free(ctx);
}

/* Scatter of a large input (and gather's backward, the same kernel) against the naive serial
 * loop, bit for bit, with 1 and with 2 threads. */
static void scatter_case(int64_t n, int64_t F, int64_t n_out, uint64_t seed) {
    sdg_ctx *ctx = NULL;
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    CU_ASSERT_FATAL(sdg_rng_new(seed, &rng) == SDG_OK);
    int64_t *idx = rand_idx(rng, n, n_out, true);
    float *xv = malloc((size_t)(n * F) * sizeof(float));
    float *naive = calloc((size_t)(n_out * F), sizeof(float));
    float *out[2] = {malloc((size_t)(n_out * F) * sizeof(float)),
                     malloc((size_t)(n_out * F) * sizeof(float))};
    float *gout[2] = {malloc((size_t)(n_out * F) * sizeof(float)),
                      malloc((size_t)(n_out * F) * sizeof(float))};
    sdg_rng_fill_uniform(rng, xv, (size_t)(n * F), -1, 1);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < F; j++) naive[idx[i] * F + j] += xv[i * F + j];
    int old = sdg_num_threads();
    for (int t = 0; t < 2; t++) {
        sdg_set_num_threads(t + 1);
        sdg_ctx_reset(ctx);
        sdg_tensor *x = sdg_tensor_from(ctx, 2, (int64_t[]){n, F}, xv);
        sdg_tensor *y = sdg_scatter_add(ctx, x, idx, n_out);
        CU_ASSERT_FATAL(y != NULL);
        memcpy(out[t], y->data, (size_t)(n_out * F) * sizeof(float));
        /* gather's backward: x (n_out, F) gathered by idx, seeded with xv */
        sdg_tensor *w = sdg_tensor_requires_grad(ctx, sdg_tensor_zeros(ctx, 2,
                                                                     (int64_t[]){n_out, F}));
        sdg_tensor *g = sdg_gather(ctx, w, idx, n);
        CU_ASSERT_FATAL(g != NULL && g->grad != NULL);
        memcpy(g->grad, xv, (size_t)(n * F) * sizeof(float));
        CU_ASSERT_FATAL(sdg_backward(ctx, g) == SDG_OK);
        memcpy(gout[t], w->grad, (size_t)(n_out * F) * sizeof(float));
    }
    sdg_set_num_threads(old);
    size_t bytes = (size_t)(n_out * F) * sizeof(float);
    CU_ASSERT_EQUAL(memcmp(out[0], out[1], bytes), 0);
    CU_ASSERT_EQUAL(memcmp(out[0], naive, bytes), 0);
    CU_ASSERT_EQUAL(memcmp(gout[0], gout[1], bytes), 0);
    CU_ASSERT_EQUAL(memcmp(gout[0], naive, bytes), 0);
    /* odd rows never receive anything */
    CU_ASSERT_EQUAL(out[1][1 * F], 0);
    free(idx);
    free(xv);
    free(naive);
    for (int t = 0; t < 2; t++) {
        free(out[t]);
        free(gout[t]);
    }
    sdg_rng_free(rng);
    sdg_ctx_free(ctx);
}

static void test_determinism(void) {
    scatter_case(200000, 16, 1000, 31);   /* many rows, few columns      */
    scatter_case(20000, 700, 3, 32);      /* few rows, split column blocks */
    scatter_case(100000, 1, 50000, 33);   /* one column, sparse targets  */
}

/* Backward accumulates: from a gradient of 100 everywhere the result is 100 + the gradient
 * from zero (integer seeds: exact), for the plain and the parallel kernels. */
static int accum_case(bool scatter, int64_t rows, int64_t F, const int64_t *idx, int64_t n) {
    sdg_ctx *ctx = NULL;
    if (sdg_ctx_new(0, &ctx) != SDG_OK) return 1;
    float *g0 = NULL;
    int bad = 0;
    for (int pass = 0; pass < 2 && !bad; pass++) {
        sdg_ctx_reset(ctx);
        sdg_tensor *x = sdg_tensor_requires_grad(ctx, sdg_tensor_zeros(ctx, 2,
                                                 (int64_t[]){scatter ? n : rows, F}));
        for (int64_t k = 0; k < x->size; k++) x->grad[k] = pass ? 100.0f : 0.0f;
        sdg_tensor *y = scatter ? sdg_scatter_add(ctx, x, idx, rows) : sdg_gather(ctx, x, idx, n);
        if (!y || !y->grad) {
            bad = 1;
            break;
        }
        for (int64_t k = 0; k < y->size; k++) y->grad[k] = (float)(k % 5 + 1);
        if (sdg_backward(ctx, y) != SDG_OK) bad = 1;
        if (!pass) {
            g0 = malloc((size_t)x->size * sizeof(float));
            memcpy(g0, x->grad, (size_t)x->size * sizeof(float));
        } else {
            for (int64_t k = 0; k < x->size; k++) bad += x->grad[k] != 100.0f + g0[k];
        }
    }
    free(g0);
    sdg_ctx_free(ctx);
    return bad;
}

static void test_accumulate(void) {
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(23, &rng) == SDG_OK);
    int64_t *small = rand_idx(rng, 9, 4, false), *large = rand_idx(rng, 6000, 500, false);
    CU_ASSERT_EQUAL(accum_case(false, 4, 3, small, 9), 0);
    CU_ASSERT_EQUAL(accum_case(true, 4, 3, small, 9), 0);
    CU_ASSERT_EQUAL(accum_case(false, 500, 8, large, 6000), 0);
    CU_ASSERT_EQUAL(accum_case(true, 500, 8, large, 6000), 0);
    free(small);
    free(large);
    sdg_rng_free(rng);
}

static void test_errors(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *x = sdg_tensor_zeros(ctx, 2, (int64_t[]){4, 3});
    CU_ASSERT_PTR_NULL(sdg_gather(ctx, x, (int64_t[]){0, 3, 7, 1}, 4));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "gather: idx[2] = 7 is out of range [0, 4)"));
    sdg_ctx_reset(ctx);
    x = sdg_tensor_zeros(ctx, 2, (int64_t[]){4, 3});
    CU_ASSERT_PTR_NULL(sdg_gather(ctx, x, (int64_t[]){-1}, 1));
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "idx[0] = -1"));
    sdg_ctx_reset(ctx);
    x = sdg_tensor_zeros(ctx, 2, (int64_t[]){4, 3});
    CU_ASSERT_PTR_NULL(sdg_gather(ctx, x, (int64_t[]){3, 4}, 2));   /* idx == R */
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "idx[1] = 4 is out of range [0, 4)"));
    sdg_ctx_reset(ctx);
    x = sdg_tensor_zeros(ctx, 2, (int64_t[]){2, 3});
    CU_ASSERT_PTR_NULL(sdg_scatter_add(ctx, x, (int64_t[]){1, 2}, 2));   /* idx == n_out */
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "scatter_add: idx[1] = 2 is out of range [0, 2)"));
    sdg_ctx_reset(ctx);
    x = sdg_tensor_zeros(ctx, 3, (int64_t[]){4, 3, 2});
    CU_ASSERT_PTR_NULL(sdg_gather(ctx, x, (int64_t[]){0}, 1));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_SHAPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "gather: x must be (R, F), got shape [4,3,2]"));
    sdg_ctx_reset(ctx);
    x = sdg_tensor_zeros(ctx, 2, (int64_t[]){4, 3});
    CU_ASSERT_PTR_NULL(sdg_gather(ctx, x, (int64_t[]){0}, -1));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_INVALID);
    sdg_ctx_reset(ctx);
    x = sdg_tensor_zeros(ctx, 2, (int64_t[]){3, 2});
    CU_ASSERT_PTR_NULL(sdg_scatter_add(ctx, x, (int64_t[]){0, 5, 1}, 3));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "scatter_add: idx[1] = 5 is out of range [0, 3)"));
    sdg_ctx_reset(ctx);
    x = sdg_tensor_zeros(ctx, 1, (int64_t[]){3});
    CU_ASSERT_PTR_NULL(sdg_scatter_add(ctx, x, (int64_t[]){0, 0, 0}, 1));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_SHAPE);
    sdg_ctx_reset(ctx);
    x = sdg_tensor_zeros(ctx, 2, (int64_t[]){3, 2});
    CU_ASSERT_PTR_NULL(sdg_scatter_add(ctx, x, NULL, 2));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_INVALID);
    CU_ASSERT_PTR_NULL(sdg_gather(ctx, NULL, (int64_t[]){0}, 1));   /* sticky */
    sdg_ctx_free(ctx);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"gather gradient (repeated indices)", test_grad_gather},
        {"scatter_add gradient (repeated and empty targets)", test_grad_scatter},
        {"gather + scatter_add gradient (message passing)", test_grad_message_passing},
        {"gather / scatter_add values", test_values},
        {"scatter_add determinism, 1 vs 2 threads vs naive", test_determinism},
        {"backward accumulates into existing gradients", test_accumulate},
        {"errors", test_errors},
        {NULL, NULL},
    };
    return sdg_test_main("nn/gather", cases);
}
