/* Reductions (sum, mean, norm_last): values, shapes, finite-difference gradients over every
 * axis (negative too) and keepdim, accumulation into .grad, errors, and bit-identical results for 1 and 2 threads
 * (this file also holds the determinism test of softmax and layer_norm). */
#include "nn/accum_check.h"

typedef struct { bool mean; int axis; bool keepdim; } red_ud;

static sdg_tensor *f_reduce(sdg_ctx *c, sdg_tensor **in, void *u) {
    const red_ud *r = u;
    return r->mean ? sdg_mean(c, in[0], r->axis, r->keepdim) : sdg_sum(c, in[0], r->axis, r->keepdim);
}
static sdg_tensor *f_norm(sdg_ctx *c, sdg_tensor **in, void *u) {
    return sdg_norm_last(c, in[0], *(const float *)u);
}

static const int64_t shapes[][5] = {{1, 6}, {2, 3, 5}, {3, 2, 3, 4}, {4, 2, 3, 1, 4}};

static void check_reduce(bool mean) {
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int nd = (int)shapes[s][0];
        for (int axis = -nd; axis <= nd; axis++) {   /* axis == nd stands for SDG_AXIS_ALL */
            for (int kd = 0; kd < 2; kd++) {
                red_ud u = {mean, axis == nd ? SDG_AXIS_ALL : axis, kd};
                gc_spec sp = {.n_in = 1};
                sp.ndim[0] = nd;
                for (int d = 0; d < nd; d++) sp.shape[0][d] = shapes[s][d + 1];
                char label[80];
                snprintf(label, sizeof label, "%s shape #%zu axis %d keepdim %d",
                         mean ? "mean" : "sum", s, u.axis, kd);
                CU_ASSERT_EQUAL(sdg_gradcheck(label, f_reduce, &u, &sp, 500 + 20 * s + 2 * axis + kd), 0);
                CU_ASSERT_EQUAL(sdg_accumcheck(label, f_reduce, &u, &sp, 1), 0);
            }
        }
    }
}
static void test_grad_sum(void) { check_reduce(false); }
static void test_grad_mean(void) { check_reduce(true); }

static void test_grad_norm_last(void) {
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (int e = 0; e < 2; e++) {
            float eps = e ? 1e-2f : 0.0f;
            gc_spec sp = {.n_in = 1, .lo = -1, .hi = 1};
            sp.ndim[0] = (int)shapes[s][0];
            for (int d = 0; d < sp.ndim[0]; d++) sp.shape[0][d] = shapes[s][d + 1];
            char label[64];
            snprintf(label, sizeof label, "norm_last shape #%zu eps %g", s, (double)eps);
            CU_ASSERT_EQUAL(sdg_gradcheck(label, f_norm, &eps, &sp, 600 + 2 * s + e), 0);
            CU_ASSERT_EQUAL(sdg_accumcheck(label, f_norm, &eps, &sp, 2), 0);
        }
    }
}

/* x = 0..23 as (2, 3, 4): sums over each axis by hand. */
static void test_values_sum(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    float v[24];
    for (int i = 0; i < 24; i++) v[i] = (float)i;
    sdg_tensor *x = sdg_tensor_from(ctx, 3, (int64_t[]){2, 3, 4}, v);
    sdg_tensor *s0 = sdg_sum(ctx, x, 0, false);   /* x[0] + x[1]: 12 + 2k */
    sdg_tensor *s1 = sdg_sum(ctx, x, 1, true);    /* (2, 1, 4): 3*(12a + k) + 12 */
    sdg_tensor *s2 = sdg_sum(ctx, x, -1, false);  /* (2, 3): 4*4r + 6 */
    sdg_tensor *sa = sdg_sum(ctx, x, SDG_AXIS_ALL, false);
    sdg_tensor *m1 = sdg_mean(ctx, x, -2, false);
    sdg_tensor *ma = sdg_mean(ctx, x, SDG_AXIS_ALL, true);
    CU_ASSERT_FATAL(s0 && s1 && s2 && sa && m1 && ma);
    CU_ASSERT(s0->ndim == 2 && s0->shape[0] == 3 && s0->shape[1] == 4);
    CU_ASSERT(s1->ndim == 3 && s1->shape[0] == 2 && s1->shape[1] == 1 && s1->shape[2] == 4);
    CU_ASSERT(s2->ndim == 2 && s2->shape[0] == 2 && s2->shape[1] == 3);
    CU_ASSERT(sa->ndim == 1 && sa->shape[0] == 1);
    CU_ASSERT(ma->ndim == 3 && ma->size == 1);
    for (int k = 0; k < 12; k++) CU_ASSERT_EQUAL(s0->data[k], 12.0f + 2.0f * k);
    for (int a = 0; a < 2; a++)
        for (int k = 0; k < 4; k++) {
            CU_ASSERT_EQUAL(s1->data[a * 4 + k], 3.0f * (12 * a + k) + 12.0f);
            CU_ASSERT_DOUBLE_EQUAL(m1->data[a * 4 + k], 12.0 * a + k + 4.0, 1e-6);
        }
    for (int r = 0; r < 6; r++) CU_ASSERT_EQUAL(s2->data[r], 16.0f * r + 6.0f);
    CU_ASSERT_EQUAL(sa->data[0], 276.0f);
    CU_ASSERT_DOUBLE_EQUAL(ma->data[0], 11.5, 1e-6);
    /* 1-D without keepdim gives a [1] tensor */
    sdg_tensor *one = sdg_sum(ctx, sdg_tensor_from(ctx, 1, (int64_t[]){3}, v + 1), 0, false);
    CU_ASSERT_FATAL(one != NULL);
    CU_ASSERT(one->ndim == 1 && one->shape[0] == 1 && one->data[0] == 6.0f);
    sdg_ctx_free(ctx);
}

static void test_values_norm(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    const float v[6] = {3, 4, 0, 1, 2, 2};   /* (2, 3) */
    sdg_tensor *y = sdg_norm_last(ctx, sdg_tensor_from(ctx, 2, (int64_t[]){2, 3}, v), 0.0f);
    CU_ASSERT_FATAL(y != NULL);
    CU_ASSERT(y->ndim == 2 && y->shape[0] == 2 && y->shape[1] == 1);
    CU_ASSERT_EQUAL(y->data[0], 5.0f);
    CU_ASSERT_EQUAL(y->data[1], 3.0f);
    sdg_tensor *z = sdg_norm_last(ctx, sdg_tensor_zeros(ctx, 1, (int64_t[]){4}), 0.25f);
    CU_ASSERT_FATAL(z != NULL);
    CU_ASSERT_EQUAL(z->data[0], 0.5f);   /* sqrt(0 + eps) */
    sdg_ctx_free(ctx);
}

static void test_errors(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *x = sdg_tensor_zeros(ctx, 2, (int64_t[]){2, 3});
    CU_ASSERT_PTR_NULL(sdg_sum(ctx, x, 2, false));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_SHAPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "sum"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "[2,3]"));
    sdg_ctx_reset(ctx);
    x = sdg_tensor_zeros(ctx, 2, (int64_t[]){2, 3});
    CU_ASSERT_PTR_NULL(sdg_mean(ctx, x, -3, true));
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "mean"));
    sdg_ctx_reset(ctx);
    x = sdg_tensor_zeros(ctx, 2, (int64_t[]){2, 3});
    CU_ASSERT_PTR_NULL(sdg_norm_last(ctx, x, -1.0f));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_INVALID);
    sdg_ctx_reset(ctx);
    x = sdg_tensor_zeros(ctx, 2, (int64_t[]){2, 3});
    sdg_ctx_flops_clear(ctx);
    sdg_sum(ctx, x, 0, false);
    sdg_norm_last(ctx, x, 0.0f);
    CU_ASSERT_DOUBLE_EQUAL(sdg_ctx_flops(ctx, SDG_OP_SUM), 6.0, 0);
    CU_ASSERT(sdg_ctx_flops(ctx, SDG_OP_NORM) > 0);
    sdg_ctx_free(ctx);
}

/* ---- determinism: 1 and 2 threads give the same bits, forward and backward ---- */
enum { DET_SUM0, DET_SUM1, DET_SUMALL, DET_MEAN, DET_SOFTMAX, DET_LNORM, DET_COUNT };
static sdg_tensor *det_op(sdg_ctx *ctx, int which, sdg_tensor *x, sdg_tensor *w) {
    switch (which) {
    case DET_SUM0:    return sdg_sum(ctx, x, 0, false);
    case DET_SUM1:    return sdg_sum(ctx, x, 1, true);
    case DET_SUMALL:  return sdg_sum(ctx, x, SDG_AXIS_ALL, false);
    case DET_MEAN:    return sdg_mean(ctx, x, -1, false);
    case DET_SOFTMAX: return sdg_softmax(ctx, x, -1, NULL);
    default:          return sdg_layer_norm(ctx, x, w, w, 1e-5f);
    }
}

/* Runs op `which` on a (R, D) tensor of fixed random data; copies y and x.grad, w.grad out. */
static void det_run(int which, int threads, float *y_out, float *gx_out, float *gw_out) {
    enum { R = 300, D = 257 };   /* 77100 elements > SDG_PAR_MIN, odd sizes */
    sdg_set_num_threads(threads);
    sdg_ctx *ctx = NULL;
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK && sdg_rng_new(9, &rng) == SDG_OK);
    sdg_tensor *x = sdg_tensor_new(ctx, 2, (int64_t[]){R, D});
    sdg_tensor *w = sdg_tensor_new(ctx, 1, (int64_t[]){D});
    sdg_rng_fill_uniform(rng, x->data, (size_t)x->size, -3.0f, 3.0f);
    sdg_rng_fill_uniform(rng, w->data, (size_t)w->size, 0.5f, 1.5f);
    sdg_tensor_requires_grad(ctx, x);
    sdg_tensor_requires_grad(ctx, w);
    sdg_tensor *y = det_op(ctx, which, x, w);
    CU_ASSERT_FATAL(y != NULL && y->grad != NULL);
    sdg_rng_fill_uniform(rng, y->grad, (size_t)y->size, -1.0f, 1.0f);
    if (y->size == 1) y->grad[0] -= 1.0f;
    CU_ASSERT_FATAL(sdg_backward(ctx, y) == SDG_OK);
    memcpy(y_out, y->data, (size_t)y->size * sizeof(float));
    memcpy(gx_out, x->grad, (size_t)x->size * sizeof(float));
    memcpy(gw_out, w->grad, (size_t)w->size * sizeof(float));
    sdg_rng_free(rng);
    sdg_ctx_free(ctx);
}

static void test_determinism(void) {
    size_t n = 300 * 257;
    float *buf[6];
    for (int i = 0; i < 6; i++) buf[i] = calloc(n, sizeof(float));
    for (int which = 0; which < DET_COUNT; which++) {
        for (int i = 0; i < 6; i++) memset(buf[i], 0, n * sizeof(float));
        det_run(which, 1, buf[0], buf[1], buf[2]);
        det_run(which, 2, buf[3], buf[4], buf[5]);
        CU_ASSERT(memcmp(buf[0], buf[3], n * sizeof(float)) == 0);
        CU_ASSERT(memcmp(buf[1], buf[4], n * sizeof(float)) == 0);
        CU_ASSERT(memcmp(buf[2], buf[5], n * sizeof(float)) == 0);
    }
    sdg_set_num_threads(2);
    for (int i = 0; i < 6; i++) free(buf[i]);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"sum gradient, every axis and keepdim", test_grad_sum},
        {"mean gradient, every axis and keepdim", test_grad_mean},
        {"norm_last gradient", test_grad_norm_last},
        {"sum/mean values over each axis of a 3-D tensor", test_values_sum},
        {"norm_last values", test_values_norm},
        {"errors and FLOPs", test_errors},
        {"1 and 2 threads give identical bits (sum, mean, softmax, layer_norm)", test_determinism},
        {NULL, NULL},
    };
    return sdg_test_main("nn/reduce", cases);
}
