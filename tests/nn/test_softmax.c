/* Softmax: values, stability, masks (broadcast, partly and fully excluded slices),
 * finite-difference gradients over every axis of 1-D to 4-D shapes, accumulation into
 * .grad, and errors. */
#include "nn/accum_check.h"

typedef struct { int axis; bool masked; } sm_ud;

/* in[0] = x; in[1] = mask (a constant) when masked. */
static sdg_tensor *f_softmax(sdg_ctx *c, sdg_tensor **in, void *u) {
    const sm_ud *s = u;
    return sdg_softmax(c, in[0], s->axis, s->masked ? in[1] : NULL);
}

static const int64_t shapes[][5] = {{1, 5}, {2, 3, 4}, {3, 2, 3, 4}, {4, 2, 3, 2, 3}};

static void test_grad_unmasked(void) {
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int nd = (int)shapes[s][0];
        for (int axis = -nd; axis < nd; axis++) {
            sm_ud u = {axis, false};
            gc_spec sp = {.n_in = 1, .lo = -2, .hi = 2};
            sp.ndim[0] = nd;
            for (int d = 0; d < nd; d++) sp.shape[0][d] = shapes[s][d + 1];
            char label[64];
            snprintf(label, sizeof label, "softmax shape #%zu axis %d", s, axis);
            CU_ASSERT_EQUAL(sdg_gradcheck(label, f_softmax, &u, &sp, 700 + 10 * s + axis + nd), 0);
            CU_ASSERT_EQUAL(sdg_accumcheck(label, f_softmax, &u, &sp, 3), 0);
        }
    }
}

/* x (2, 3, 4) with a full-shape mask: row (0,1) fully excluded, others partly. */
static void test_grad_masked_full(void) {
    float m[24];
    for (int i = 0; i < 24; i++) m[i] = (i % 3 == 0) ? 0.0f : 1.0f;
    for (int k = 4; k < 8; k++) m[k] = 0.0f;   /* slice x[0, 1, :] has nothing included */
    for (int axis = -3; axis < 3; axis++) {
        sm_ud u = {axis, true};
        gc_spec sp = {.n_in = 2, .lo = -2, .hi = 2, .no_grad = {false, true}, .init = {NULL, m}};
        GC_SHAPE(sp, 0, 3, 2, 3, 4);
        GC_SHAPE(sp, 1, 3, 2, 3, 4);
        char label[64];
        snprintf(label, sizeof label, "masked softmax axis %d", axis);
        CU_ASSERT_EQUAL(sdg_gradcheck(label, f_softmax, &u, &sp, 800 + axis + 3), 0);
        CU_ASSERT_EQUAL(sdg_accumcheck(label, f_softmax, &u, &sp, 4), 0);
    }
}

/* Broadcast masks: key mask (B, 1, N) for attention scores (B, N, N), and a 4-D (B,1,1,N). */
static void test_grad_masked_broadcast(void) {
    const float km[6] = {1, 1, 0, 1, 0, 0};   /* batch 1 keeps one key only */
    sm_ud u = {-1, true};
    gc_spec sp = {.n_in = 2, .no_grad = {false, true}, .init = {NULL, km}};
    GC_SHAPE(sp, 0, 3, 2, 3, 3);
    GC_SHAPE(sp, 1, 3, 2, 1, 3);
    CU_ASSERT_EQUAL(sdg_gradcheck("softmax key mask (B,1,N)", f_softmax, &u, &sp, 901), 0);
    const float m4[8] = {1, 0, 1, 1, 0, 0, 0, 0};   /* batch 1 fully excluded */
    gc_spec s4 = {.n_in = 2, .no_grad = {false, true}, .init = {NULL, m4}};
    GC_SHAPE(s4, 0, 4, 2, 2, 3, 4);
    GC_SHAPE(s4, 1, 4, 2, 1, 1, 4);
    CU_ASSERT_EQUAL(sdg_gradcheck("softmax mask (B,1,1,N)", f_softmax, &u, &s4, 902), 0);
    sm_ud u1 = {1, true};   /* mask (N, 1) over axis 1 of (B, N, F): trailing broadcast */
    const float m2[3] = {1, 0, 1};
    gc_spec s2 = {.n_in = 2, .no_grad = {false, true}, .init = {NULL, m2}};
    GC_SHAPE(s2, 0, 3, 2, 3, 4);
    GC_SHAPE(s2, 1, 2, 3, 1);
    CU_ASSERT_EQUAL(sdg_gradcheck("softmax mask (N,1) axis 1", f_softmax, &u1, &s2, 903), 0);
}

static void test_values(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    const float v[3] = {1, 2, 3};
    sdg_tensor *y = sdg_softmax(ctx, sdg_tensor_from(ctx, 1, (int64_t[]){3}, v), 0, NULL);
    CU_ASSERT_FATAL(y != NULL);
    double z = exp(1.0) + exp(2.0) + exp(3.0);
    for (int i = 0; i < 3; i++) CU_ASSERT_DOUBLE_EQUAL(y->data[i], exp(v[i]) / z, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(y->data[0], 0.09003057, 1e-7);
    /* stable for large inputs */
    const float big[3] = {1000, 1001, 1002};
    y = sdg_softmax(ctx, sdg_tensor_from(ctx, 1, (int64_t[]){3}, big), -1, NULL);
    CU_ASSERT_FATAL(y != NULL);
    CU_ASSERT_DOUBLE_EQUAL(y->data[2], exp(3.0) / z, 1e-6);
    /* mask: middle excluded -> exactly 0, others renormalised; second row fully excluded */
    const float x2[6] = {1, 2, 3, 5, 6, 7}, m2[6] = {1, 0, 1, 0, 0, 0};
    sdg_tensor *mk = sdg_tensor_from(ctx, 2, (int64_t[]){2, 3}, m2);
    y = sdg_softmax(ctx, sdg_tensor_from(ctx, 2, (int64_t[]){2, 3}, x2), 1, mk);
    CU_ASSERT_FATAL(y != NULL);
    CU_ASSERT_EQUAL(y->data[1], 0.0f);
    CU_ASSERT_DOUBLE_EQUAL(y->data[0], exp(1.0) / (exp(1.0) + exp(3.0)), 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(y->data[2], exp(3.0) / (exp(1.0) + exp(3.0)), 1e-7);
    for (int i = 3; i < 6; i++) CU_ASSERT_EQUAL(y->data[i], 0.0f);
    /* over axis 0 of (2, 3): each column sums to 1 */
    y = sdg_softmax(ctx, sdg_tensor_from(ctx, 2, (int64_t[]){2, 3}, x2), 0, NULL);
    CU_ASSERT_FATAL(y != NULL);
    for (int j = 0; j < 3; j++) {
        CU_ASSERT_DOUBLE_EQUAL(y->data[j] + y->data[3 + j], 1.0, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(y->data[j], 1.0 / (1.0 + exp(4.0)), 1e-7);
    }
    sdg_ctx_free(ctx);
}

/* Gradient of a fully excluded row is exactly 0, and excluded entries get exactly 0. */
static void test_masked_gradient_zero(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    const float x2[6] = {1, 2, 3, 5, 6, 7}, m2[6] = {1, 0, 1, 0, 0, 0};
    sdg_tensor *x = sdg_tensor_requires_grad(ctx, sdg_tensor_from(ctx, 2, (int64_t[]){2, 3}, x2));
    sdg_tensor *mk = sdg_tensor_from(ctx, 2, (int64_t[]){2, 3}, m2);
    sdg_tensor *y = sdg_softmax(ctx, x, -1, mk);
    CU_ASSERT_FATAL(y != NULL && y->grad != NULL);
    for (int i = 0; i < 6; i++) y->grad[i] = (float)(i + 1);
    CU_ASSERT_EQUAL(sdg_backward(ctx, y), SDG_OK);
    CU_ASSERT_EQUAL(x->grad[1], 0.0f);
    for (int i = 3; i < 6; i++) CU_ASSERT_EQUAL(x->grad[i], 0.0f);
    CU_ASSERT(x->grad[0] != 0.0f);
    CU_ASSERT_DOUBLE_EQUAL(x->grad[0] + x->grad[2], 0.0, 1e-6);   /* softmax grads sum to 0 */
    sdg_ctx_free(ctx);
}

static void test_errors(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *x = sdg_tensor_zeros(ctx, 2, (int64_t[]){2, 3});
    CU_ASSERT_PTR_NULL(sdg_softmax(ctx, x, 2, NULL));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_SHAPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "softmax"));
    sdg_ctx_reset(ctx);
    x = sdg_tensor_zeros(ctx, 2, (int64_t[]){2, 3});
    sdg_tensor *m = sdg_tensor_zeros(ctx, 1, (int64_t[]){2});
    CU_ASSERT_PTR_NULL(sdg_softmax(ctx, x, -1, m));
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "[2,3]"));
    sdg_ctx_reset(ctx);
    /* a mask that would stretch x is refused too */
    x = sdg_tensor_zeros(ctx, 2, (int64_t[]){1, 3});
    m = sdg_tensor_zeros(ctx, 2, (int64_t[]){2, 3});
    CU_ASSERT_PTR_NULL(sdg_softmax(ctx, x, -1, m));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_SHAPE);
    sdg_ctx_reset(ctx);
    x = sdg_tensor_zeros(ctx, 2, (int64_t[]){2, 3});
    sdg_ctx_flops_clear(ctx);
    sdg_softmax(ctx, x, 0, NULL);
    CU_ASSERT(sdg_ctx_flops(ctx, SDG_OP_SOFTMAX) > 0);
    sdg_ctx_free(ctx);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"gradient over every axis, 1-D to 4-D", test_grad_unmasked},
        {"gradient with a full mask and an empty slice", test_grad_masked_full},
        {"gradient with broadcast masks", test_grad_masked_broadcast},
        {"values: [1,2,3], large inputs, masks, axis 0", test_values},
        {"excluded entries and empty slices get zero gradient", test_masked_gradient_zero},
        {"errors and FLOPs", test_errors},
        {NULL, NULL},
    };
    return sdg_test_main("nn/softmax", cases);
}
