/* GCN normalisation: values against a direct double-precision evaluation (diagonal replaced,
 * clamp of small and negative degrees), finite-difference gradients for 3-D and 4-D inputs
 * (entries in [-1, 1] so that both sides of the clamp occur, and in [0, 1]), accumulation
 * into .grad, no gradient to the diagonal, and shape errors. */
#include "nn/accum_check.h"

static sdg_tensor *f_norm(sdg_ctx *c, sdg_tensor **in, void *u) { (void)u; return sdg_gcn_norm(c, in[0]); }

static void test_values(void) {
    sdg_ctx *ctx = NULL;
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK && sdg_rng_new(3, &rng) == SDG_OK);
    const int64_t B = 3, N = 5;
    sdg_tensor *a = sdg_tensor_newv(ctx, 3, B, N, N);
    sdg_rng_fill_uniform(rng, a->data, (size_t)a->size, -1.0f, 2.0f);
    sdg_tensor *y = sdg_gcn_norm(ctx, a);
    CU_ASSERT_FATAL(y != NULL);
    double maxerr = 0;
    for (int64_t b = 0; b < B; b++) {
        const float *A = a->data + b * N * N;
        double s[5];
        for (int64_t i = 0; i < N; i++) {
            double d = 0;
            for (int64_t j = 0; j < N; j++) d += i == j ? 1.0 : A[i * N + j];
            s[i] = 1.0 / sqrt(d < 1 ? 1 : d);
        }
        for (int64_t i = 0; i < N; i++)
            for (int64_t j = 0; j < N; j++) {
                double ref = s[i] * (i == j ? 1.0 : A[i * N + j]) * s[j];
                maxerr = fmax(maxerr, fabs(ref - y->data[b * N * N + i * N + j]));
            }
    }
    CU_ASSERT(maxerr < 1e-6);
    /* shape error */
    sdg_ctx_reset(ctx);
    sdg_tensor *bad = sdg_tensor_newv(ctx, 3, (int64_t)2, (int64_t)3, (int64_t)4);
    CU_ASSERT(sdg_gcn_norm(ctx, bad) == NULL);
    CU_ASSERT(sdg_ctx_status(ctx) == SDG_ERR_SHAPE);
    sdg_rng_free(rng);
    sdg_ctx_free(ctx);
}

static void test_grad(void) {
    for (int nd = 3; nd <= 4; nd++)
        for (int pos = 0; pos < 2; pos++) {
            gc_spec sp = {.n_in = 1, .lo = pos ? 0.0f : -1.0f, .hi = 1.0f, .h = 1e-3, .tol = 2e-2};
            if (nd == 3) GC_SHAPE(sp, 0, 3, 2, 5, 5);
            else GC_SHAPE(sp, 0, 4, 2, 3, 4, 4);
            char label[64];
            snprintf(label, sizeof label, "gcn_norm %d-D lo %d", nd, pos ? 0 : -1);
            CU_ASSERT_EQUAL(sdg_gradcheck(label, f_norm, NULL, &sp, 4100 + 2 * nd + pos), 0);
            CU_ASSERT_EQUAL(sdg_accumcheck(label, f_norm, NULL, &sp, 41), 0);
        }
}

static void test_diag_no_grad(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *a = sdg_tensor_zeros(ctx, 3, (int64_t[]){1, 3, 3});
    for (int k = 0; k < 9; k++) a->data[k] = 0.3f + 0.1f * (float)k;
    sdg_tensor_requires_grad(ctx, a);
    sdg_tensor *L = sdg_sum(ctx, sdg_gcn_norm(ctx, a), SDG_AXIS_ALL, false);
    CU_ASSERT_FATAL(L != NULL && sdg_backward(ctx, L) == SDG_OK);
    for (int i = 0; i < 3; i++) CU_ASSERT_EQUAL(a->grad[i * 4], 0.0f);
    sdg_ctx_free(ctx);
}

int main(void) {
    return sdg_test_main("nn/gcn_norm", (sdg_test_case[]){
        {"values (diagonal replaced, degree clamp)", test_values},
        {"finite-difference gradients", test_grad},
        {"no gradient to the diagonal", test_diag_no_grad},
        {NULL, NULL}});
}
