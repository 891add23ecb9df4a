/* Element-wise binary ops with broadcasting: values and finite-difference gradients. */
#include "test_util.h"

static sdg_tensor *f_add(sdg_ctx *c, sdg_tensor **in, void *u) { (void)u; return sdg_add(c, in[0], in[1]); }
static sdg_tensor *f_sub(sdg_ctx *c, sdg_tensor **in, void *u) { (void)u; return sdg_sub(c, in[0], in[1]); }
static sdg_tensor *f_mul(sdg_ctx *c, sdg_tensor **in, void *u) { (void)u; return sdg_mul(c, in[0], in[1]); }
static sdg_tensor *f_div(sdg_ctx *c, sdg_tensor **in, void *u) { (void)u; return sdg_div(c, in[0], in[1]); }
static sdg_tensor *f_scale(sdg_ctx *c, sdg_tensor **in, void *u) { (void)u; return sdg_scale(c, in[0], -1.7f, 0.3f); }

/* Shape pairs: equal, bias-like, column, scalar, both broadcast, 4-D. */
static const int64_t shapes[][2][5] = {
    {{3, 2, 3, 4}, {3, 2, 3, 4}},
    {{3, 2, 3, 4}, {1, 4}},
    {{3, 2, 3, 4}, {3, 2, 3, 1}},
    {{2, 5, 3}, {1, 1}},
    {{3, 2, 1, 4}, {2, 5, 1}},
    {{4, 2, 1, 3, 2}, {2, 3, 1}},
};

static void check_all(const char *name, gc_fn f, float lo, float hi) {
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        gc_spec sp = {.n_in = 2, .lo = lo, .hi = hi};
        for (int i = 0; i < 2; i++) {
            sp.ndim[i] = (int)shapes[s][i][0];
            for (int d = 0; d < sp.ndim[i]; d++) sp.shape[i][d] = shapes[s][i][d + 1];
        }
        char label[64];
        snprintf(label, sizeof label, "%s shapes #%zu", name, s);
        CU_ASSERT_EQUAL(sdg_gradcheck(label, f, NULL, &sp, 100 + s), 0);
    }
}

static void test_grad_add(void) { check_all("add", f_add, -1, 1); }
static void test_grad_sub(void) { check_all("sub", f_sub, -1, 1); }
static void test_grad_mul(void) { check_all("mul", f_mul, -1, 1); }
static void test_grad_div(void) { check_all("div", f_div, 0.5f, 2.0f); }
static void test_grad_scale(void) {
    gc_spec sp = {.n_in = 1};
    GC_SHAPE(sp, 0, 3, 2, 3, 5);
    CU_ASSERT_EQUAL(sdg_gradcheck("scale", f_scale, NULL, &sp, 7), 0);
}

static void test_values_broadcast(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    const float a[6] = {1, 2, 3, 4, 5, 6};   /* (2,3) */
    const float b[3] = {10, 20, 30};         /* (3)   */
    sdg_tensor *ta = sdg_tensor_from(ctx, 2, (int64_t[]){2, 3}, a);
    sdg_tensor *tb = sdg_tensor_from(ctx, 1, (int64_t[]){3}, b);
    sdg_tensor *y = sdg_sub(ctx, ta, tb);
    CU_ASSERT_FATAL(y != NULL);
    CU_ASSERT_EQUAL(y->ndim, 2);
    const float want[6] = {-9, -18, -27, -6, -15, -24};
    for (int i = 0; i < 6; i++) CU_ASSERT_DOUBLE_EQUAL(y->data[i], want[i], 0);
    /* a mismatch fails with a message, and the error is sticky */
    sdg_tensor *tc = sdg_tensor_newv(ctx, 1, (int64_t)4);
    CU_ASSERT_PTR_NULL(sdg_add(ctx, ta, tc));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_SHAPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "do not broadcast"));
    CU_ASSERT_PTR_NULL(sdg_add(ctx, ta, tb));
    sdg_ctx_reset(ctx);
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_OK);
    sdg_ctx_free(ctx);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"add gradient (broadcast shapes)", test_grad_add},
        {"sub gradient (broadcast shapes)", test_grad_sub},
        {"mul gradient (broadcast shapes)", test_grad_mul},
        {"div gradient (broadcast shapes)", test_grad_div},
        {"scale gradient", test_grad_scale},
        {"broadcast values and sticky errors", test_values_broadcast},
        {NULL, NULL},
    };
    return sdg_test_main("nn/binary", cases);
}
