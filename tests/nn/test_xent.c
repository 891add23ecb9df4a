/* cross_entropy: finite-difference gradients (ignored rows, one class, large logits), the
 * value against a double-precision reference, accumulation, errors. */
#include "accum_check.h"

typedef struct { const int64_t *t; } xe_ud;
static sdg_tensor *f_xent(sdg_ctx *c, sdg_tensor **in, void *u) {
    return sdg_cross_entropy(c, in[0], ((const xe_ud *)u)->t);
}

static void test_grad(void) {
    const int64_t shapes[][2] = {{5, 4}, {1, 1}, {7, 3}, {3, 9}};
    const int64_t targets[][9] = {{0, 3, -1, 2, 1}, {0}, {2, 2, 0, -1, -1, 1, 0}, {8, 0, 4}};
    for (size_t c = 0; c < 4; c++) {
        gc_spec sp = {.n_in = 1, .lo = -3, .hi = 3};
        GC_SHAPE(sp, 0, 2, shapes[c][0], shapes[c][1]);
        xe_ud u = {targets[c]};
        CU_ASSERT_EQUAL(sdg_gradcheck("cross_entropy", f_xent, &u, &sp, 900 + c), 0);
        CU_ASSERT_EQUAL(sdg_accumcheck("cross_entropy accum", f_xent, &u, &sp, 950 + c), 0);
    }
}

static void test_value(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    const float x[] = {100, 0, -100, 1, 2, 3, 5, 5, 5};
    const int64_t t[] = {1, 2, -1};
    sdg_tensor *X = sdg_tensor_from(ctx, 2, (int64_t[]){3, 3}, x);
    sdg_tensor *y = sdg_cross_entropy(ctx, X, t);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    double l0 = 100 + log(1 + exp(-100.0) + exp(-200.0));
    double l1 = 3 + log(exp(-2.0) + exp(-1.0) + 1) - 3;
    CU_ASSERT_DOUBLE_EQUAL(y->data[0], (l0 + l1) / 2, 1e-4);
    const int64_t none[] = {-1, -1, -1}, bad[] = {0, 3, 0};
    CU_ASSERT_DOUBLE_EQUAL(sdg_cross_entropy(ctx, X, none)->data[0], 0.0, 0);
    CU_ASSERT_PTR_NULL(sdg_cross_entropy(ctx, X, bad));
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "target[1] = 3"));
    sdg_ctx_free(ctx);
}

int main(void) {
    static const sdg_test_case cases[] = {{"gradients", test_grad}, {"values and errors", test_value}, {NULL, NULL}};
    return sdg_test_main("xent", cases);
}
