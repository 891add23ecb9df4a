/* edges_pack / edges_unpack: finite-difference gradients (including an asymmetric input, whose
 * lower triangle gets no gradient, and a pack-linear-unpack chain as GDSS training uses it),
 * values against index loops, shape errors, and bit-identical results for 1 and 2 threads. */
#include "test_util.h"

typedef struct { int64_t N; } n_ud;

static sdg_tensor *f_pack(sdg_ctx *c, sdg_tensor **in, void *u) { (void)u; return sdg_edges_pack(c, in[0]); }
static sdg_tensor *f_unpack(sdg_ctx *c, sdg_tensor **in, void *u) {
    return sdg_edges_unpack(c, in[0], ((const n_ud *)u)->N);
}
/* unpack(pack(a) W^T + b): an edge linear on the upper triangle, mirrored */
static sdg_tensor *f_chain(sdg_ctx *c, sdg_tensor **in, void *u) {
    return sdg_edges_unpack(c, sdg_linear_op(c, sdg_edges_pack(c, in[0]), in[1], in[2]), ((const n_ud *)u)->N);
}

static void test_grad(void) {
    const int64_t shapes[][3] = {{2, 3, 4}, {1, 1, 1}, {3, 2, 9}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const int64_t B = shapes[s][0], C = shapes[s][1], N = shapes[s][2], P = N * (N + 1) / 2;
        n_ud u = {N};
        char label[64];
        gc_spec sp = {.n_in = 1, .max_checks = 60};
        GC_SHAPE(sp, 0, 4, B, C, N, N);
        snprintf(label, sizeof label, "edges_pack (%lld, %lld, %lld)", (long long)B, (long long)C, (long long)N);
        CU_ASSERT_EQUAL(sdg_gradcheck(label, f_pack, NULL, &sp, 7000 + s), 0);
        gc_spec su = {.n_in = 1, .max_checks = 60};
        GC_SHAPE(su, 0, 2, B * P, C);
        snprintf(label, sizeof label, "edges_unpack (%lld, %lld) N %lld", (long long)(B * P), (long long)C, (long long)N);
        CU_ASSERT_EQUAL(sdg_gradcheck(label, f_unpack, &u, &su, 7100 + s), 0);
        gc_spec sc = {.n_in = 3, .max_checks = 40};
        GC_SHAPE(sc, 0, 4, B, C, N, N);
        GC_SHAPE(sc, 1, 2, 5, C);
        GC_SHAPE(sc, 2, 1, 5);
        snprintf(label, sizeof label, "edges pack-linear-unpack N %lld", (long long)N);
        CU_ASSERT_EQUAL(sdg_gradcheck(label, f_chain, &u, &sc, 7200 + s), 0);
    }
}

/* pack and unpack against index loops; the gradients of both; 1 vs 2 threads bit for bit. */
static void run(int threads, int64_t B, int64_t C, int64_t N, float *out) {
    sdg_set_num_threads(threads);
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    const int64_t P = N * (N + 1) / 2, NN = N * N, n = B * C * NN;
    sdg_tensor *a = sdg_tensor_requires_grad(ctx, sdg_tensor_newv(ctx, 4, B, C, N, N));
    sdg_test_fill(a->data, a->size, 11);
    sdg_tensor *r = sdg_edges_pack(ctx, a), *y = sdg_edges_unpack(ctx, r, N);
    CU_ASSERT_FATAL(r && y && r->shape[0] == B * P && r->shape[1] == C && y->ndim == 4);
    sdg_test_fill(y->grad, y->size, 12);
    CU_ASSERT_FATAL(sdg_backward(ctx, y) == SDG_OK);
    int bad = 0;
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0, k = 0; i < N; i++)
                for (int64_t j = i; j < N; j++, k++) {
                    const int64_t u = ((b * C + c) * N + i) * N + j, l = ((b * C + c) * N + j) * N + i;
                    float g = i == j ? y->grad[u] : y->grad[u] + y->grad[l];
                    bad += r->data[(b * P + k) * C + c] != a->data[u];
                    bad += y->data[u] != a->data[u] || y->data[l] != a->data[u];
                    bad += r->grad[(b * P + k) * C + c] != g || a->grad[u] != g;
                    bad += i != j && a->grad[l] != 0.0f;
                }
    CU_ASSERT_EQUAL(bad, 0);
    memcpy(out, y->data, (size_t)n * sizeof(float));
    memcpy(out + n, a->grad, (size_t)n * sizeof(float));
    sdg_ctx_free(ctx);
}

static void test_values_threads(void) {
    const int64_t B = 300, C = 8, N = 9, n = B * C * N * N;   /* above the parallel threshold */
    int threads = sdg_num_threads();
    float *one = malloc((size_t)(2 * n) * sizeof(float)), *two = malloc((size_t)(2 * n) * sizeof(float));
    run(1, B, C, N, one);
    run(2, B, C, N, two);
    run(1, 2, 3, 1, one);   /* N = 1: one edge per graph */
    sdg_set_num_threads(threads);
    run(1, B, C, N, one);
    CU_ASSERT(memcmp(one, two, (size_t)(2 * n) * sizeof(float)) == 0);
    free(one);
    free(two);
}

static void test_errors(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    CU_ASSERT(sdg_edges_pack(ctx, sdg_tensor_newv(ctx, 4, (int64_t)2, (int64_t)3, (int64_t)4, (int64_t)5)) == NULL);
    CU_ASSERT(sdg_ctx_status(ctx) == SDG_ERR_SHAPE);
    sdg_ctx_reset(ctx);
    CU_ASSERT(sdg_edges_unpack(ctx, sdg_tensor_newv(ctx, 2, (int64_t)11, (int64_t)3), 4) == NULL);   /* 11 % 10 */
    CU_ASSERT(sdg_ctx_status(ctx) == SDG_ERR_SHAPE);
    sdg_ctx_reset(ctx);
    CU_ASSERT(sdg_edges_unpack(ctx, sdg_tensor_newv(ctx, 2, (int64_t)10, (int64_t)3), 0) == NULL);
    CU_ASSERT(sdg_ctx_status(ctx) == SDG_ERR_SHAPE);
    sdg_ctx_free(ctx);
}

int main(void) {
    return sdg_test_main("nn/edges", (sdg_test_case[]){
        {"finite-difference gradients", test_grad},
        {"values, gradients, 1 and 2 threads", test_values_threads},
        {"shape errors", test_errors},
        {NULL, NULL}});
}
