/* The ctx's scoped release (sdg_ctx_mark / sdg_ctx_release) and the arena rewind under it:
 * a release without a tape gives the memory back and keeps what was made before the mark;
 * with a tape it does nothing; a rewind across chained blocks reuses them; a stale mark after
 * a reset is ignored. Also the vectorised unary kernels against libm on a dense grid. */
#include "test_util.h"

static void test_release_no_tape(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(1 << 16, &ctx) == SDG_OK);
    sdg_ctx_set_grad(ctx, false);
    CU_ASSERT_FALSE(sdg_ctx_grad_enabled(ctx));
    sdg_arena *ar = sdg_ctx_arena(ctx);
    sdg_tensor *keep = sdg_tensor_zeros(ctx, 1, (int64_t[]){100});
    CU_ASSERT_FATAL(keep != NULL);
    size_t used0 = sdg_arena_used(ar);
    sdg_ctx_pos pos = sdg_ctx_mark(ctx);
    /* far more than the first block: the arena chains blocks */
    for (int i = 0; i < 8; i++) {
        sdg_tensor *t = sdg_tanh(ctx, sdg_tensor_zeros(ctx, 1, (int64_t[]){20000}));
        CU_ASSERT_FATAL(t != NULL);
        keep->data[i] = t->data[0] + (float)i;
    }
    CU_ASSERT(sdg_arena_used(ar) > used0 + 8 * 20000 * sizeof(float));
    CU_ASSERT_TRUE(sdg_ctx_release(ctx, pos));
    CU_ASSERT_EQUAL(sdg_arena_used(ar), used0);
    for (int i = 0; i < 8; i++) CU_ASSERT_EQUAL(keep->data[i], (float)i);
    /* the freed blocks serve the next allocations; the peak does not grow */
    size_t peak = sdg_arena_peak(ar), cap = sdg_arena_capacity(ar);
    for (int i = 0; i < 8; i++) CU_ASSERT(sdg_tensor_new(ctx, 1, (int64_t[]){20000}) != NULL);
    CU_ASSERT_EQUAL(sdg_arena_peak(ar), peak);
    CU_ASSERT_EQUAL(sdg_arena_capacity(ar), cap);
    /* after a reset the arena is one block of the peak size; a stale mark is ignored */
    sdg_ctx_reset(ctx);
    CU_ASSERT(sdg_arena_capacity(ar) >= peak);
    CU_ASSERT(sdg_tensor_new(ctx, 1, (int64_t[]){10}) != NULL);
    size_t used1 = sdg_arena_used(ar);
    sdg_ctx_release(ctx, pos);
    CU_ASSERT_EQUAL(sdg_arena_used(ar), used1);
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_OK);
    sdg_ctx_free(ctx);
}

static void test_release_keeps_tape(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    CU_ASSERT_TRUE(sdg_ctx_grad_enabled(ctx));
    sdg_tensor *x = sdg_tensor_requires_grad(ctx, sdg_tensor_zeros(ctx, 1, (int64_t[]){4}));
    CU_ASSERT_FATAL(x != NULL);
    sdg_ctx_pos pos = sdg_ctx_mark(ctx);
    sdg_tensor *y = sdg_sum(ctx, sdg_tanh(ctx, x), SDG_AXIS_ALL, false);
    CU_ASSERT_FATAL(y != NULL);
    size_t used = sdg_arena_used(sdg_ctx_arena(ctx));
    CU_ASSERT_FALSE(sdg_ctx_release(ctx, pos));   /* backward still needs them */
    CU_ASSERT_EQUAL(sdg_arena_used(sdg_ctx_arena(ctx)), used);
    CU_ASSERT_EQUAL(sdg_backward(ctx, y), SDG_OK);
    for (int i = 0; i < 4; i++) CU_ASSERT_DOUBLE_EQUAL(x->grad[i], 1.0, 1e-6);
    /* with a tape but nothing recorded since the mark, a release is allowed */
    pos = sdg_ctx_mark(ctx);
    CU_ASSERT(sdg_tensor_new(ctx, 1, (int64_t[]){1000}) != NULL);
    CU_ASSERT_TRUE(sdg_ctx_release(ctx, pos));
    CU_ASSERT_EQUAL(sdg_arena_used(sdg_ctx_arena(ctx)), used);
    sdg_ctx_free(ctx);
}

/* tanh, ELU and exp use float approximations: compare with double libm on a dense grid. */
static void test_unary_accuracy(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    const int64_t n = 200001;
    sdg_tensor *x = sdg_tensor_new(ctx, 1, (int64_t[]){n});
    CU_ASSERT_FATAL(x != NULL);
    for (int64_t i = 0; i < n; i++) x->data[i] = -20.0f + 40.0f * (float)i / (float)(n - 1);
    sdg_tensor *t = sdg_tanh(ctx, x), *e = sdg_elu(ctx, x), *p = sdg_exp(ctx, x);
    CU_ASSERT_FATAL(t && e && p);
    double et = 0, ee = 0, ep = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = x->data[i];
        et = fmax(et, fabs(t->data[i] - tanh(v)));
        ee = fmax(ee, fabs(e->data[i] - (v > 0 ? v : expm1(v))) / fmax(1.0, fabs(v)));
        ep = fmax(ep, fabs(p->data[i] - exp(v)) / exp(v));
    }
    CU_ASSERT(et < 5e-7);
    CU_ASSERT(ee < 3e-7);
    CU_ASSERT(ep < 3e-7);
    const float ext[4] = {-200.0f, -88.0f, 88.7f, 100.0f};
    sdg_tensor *q = sdg_exp(ctx, sdg_tensor_from(ctx, 1, (int64_t[]){4}, ext));
    CU_ASSERT_FATAL(q != NULL);
    CU_ASSERT_EQUAL(q->data[0], 0.0f);
    CU_ASSERT(q->data[1] >= 0.0f && q->data[1] < 1.2e-38f);
    CU_ASSERT_DOUBLE_EQUAL(q->data[2] / exp((double)ext[2]), 1.0, 1e-6);
    CU_ASSERT(isinf(q->data[3]));
    sdg_ctx_free(ctx);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"release without a tape", test_release_no_tape},
        {"release keeps what the tape needs", test_release_keeps_tape},
        {"tanh, ELU, exp accuracy", test_unary_accuracy},
        {NULL, NULL},
    };
    return sdg_test_main("nn/ctx", cases);
}
