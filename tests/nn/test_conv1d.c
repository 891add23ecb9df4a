/* conv1d: finite-difference gradients (K 1 and 3, pad 0 and 1, bias or not), values against
 * a direct loop, the same bits on 1 and 2 threads, shape errors, and the layer's
 * initialisation. */
#include "test_util.h"

typedef struct { int pad; bool bias; } conv_cfg;
static sdg_tensor *f_conv(sdg_ctx *c, sdg_tensor **in, void *u) {
    const conv_cfg *cfg = u;
    return sdg_conv1d(c, in[0], in[1], cfg->bias ? in[2] : NULL, cfg->pad);
}

static void test_grad(void) {
    const int ks[] = {1, 3};
    for (int ki = 0; ki < 2; ki++)
        for (int pad = 0; pad < 2; pad++)
            for (int bias = 0; bias < 2; bias++) {
                conv_cfg cfg = {pad, bias};
                int K = ks[ki];
                gc_spec sp = {.n_in = bias ? 3 : 2};
                GC_SHAPE(sp, 0, 3, 2, 3, 7);
                GC_SHAPE(sp, 1, 3, 4, 3, K);
                if (bias) GC_SHAPE(sp, 2, 1, 4);
                char label[64];
                snprintf(label, sizeof label, "conv1d K=%d pad=%d%s", K, pad, bias ? " + bias" : "");
                CU_ASSERT_EQUAL(sdg_gradcheck(label, f_conv, &cfg, &sp, 50 + ki * 4 + pad * 2 + bias), 0);
            }
    /* a larger one on the OpenBLAS path (per item 48 x 64 outputs, K = 96) */
    conv_cfg cfg = {1, true};
    gc_spec sp = {.n_in = 3, .max_checks = 40};
    GC_SHAPE(sp, 0, 3, 2, 32, 64);
    GC_SHAPE(sp, 1, 3, 48, 32, 3);
    GC_SHAPE(sp, 2, 1, 48);
    CU_ASSERT_EQUAL(sdg_gradcheck("conv1d blas", f_conv, &cfg, &sp, 60), 0);
}

static void check_values(int64_t B, int64_t Cin, int64_t L, int64_t Cout, int64_t K, int pad) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *x = sdg_tensor_requires_grad(ctx, sdg_tensor_newv(ctx, 3, B, Cin, L));
    sdg_tensor *w = sdg_tensor_requires_grad(ctx, sdg_tensor_newv(ctx, 3, Cout, Cin, K));
    sdg_tensor *b = sdg_tensor_requires_grad(ctx, sdg_tensor_newv(ctx, 1, Cout));
    sdg_test_fill(x->data, x->size, 1);
    sdg_test_fill(w->data, w->size, 2);
    sdg_test_fill(b->data, b->size, 3);
    sdg_tensor *y = sdg_conv1d(ctx, x, w, b, pad);
    CU_ASSERT_FATAL(y != NULL);
    int64_t Lo = L + 2 * pad - K + 1;
    CU_ASSERT_FATAL(y->shape[0] == B && y->shape[1] == Cout && y->shape[2] == Lo);
    sdg_test_fill(y->grad, y->size, 4);
    CU_ASSERT_FATAL(sdg_backward(ctx, y) == SDG_OK);
    double *ry = calloc((size_t)y->size, sizeof(double)), *rx = calloc((size_t)x->size, sizeof(double));
    double *rw = calloc((size_t)w->size, sizeof(double)), *rb = calloc((size_t)Cout, sizeof(double));
    for (int64_t n = 0; n < B; n++)
        for (int64_t o = 0; o < Cout; o++)
            for (int64_t t = 0; t < Lo; t++) {
                double g = y->grad[(n * Cout + o) * Lo + t], acc = b->data[o];
                rb[o] += g;
                for (int64_t c = 0; c < Cin; c++)
                    for (int64_t k = 0; k < K; k++) {
                        int64_t s = t + k - pad;
                        if (s < 0 || s >= L) continue;
                        acc += (double)w->data[(o * Cin + c) * K + k] * x->data[(n * Cin + c) * L + s];
                        rx[(n * Cin + c) * L + s] += g * w->data[(o * Cin + c) * K + k];
                        rw[(o * Cin + c) * K + k] += g * x->data[(n * Cin + c) * L + s];
                    }
                ry[(n * Cout + o) * Lo + t] = acc;
            }
    CU_ASSERT(sdg_test_rel_err(y->data, ry, y->size) <= 1e-4);
    CU_ASSERT(sdg_test_rel_err(x->grad, rx, x->size) <= 1e-4);
    CU_ASSERT(sdg_test_rel_err(w->grad, rw, w->size) <= 1e-4);
    CU_ASSERT(sdg_test_rel_err(b->grad, rb, Cout) <= 1e-4);
    free(ry);
    free(rx);
    free(rw);
    free(rb);
    sdg_ctx_free(ctx);
}

static void test_values(void) {
    check_values(3, 5, 11, 4, 1, 0);     /* plain product per item */
    check_values(3, 5, 11, 4, 3, 1);     /* "same" */
    check_values(2, 4, 9, 3, 5, 0);      /* valid, shrinking */
    check_values(2, 4, 6, 3, 3, 3);      /* padding wider than the kernel reach */
    check_values(4, 64, 96, 128, 3, 1);  /* OpenBLAS per item */
    check_values(8, 16, 40, 24, 1, 0);   /* register kernel, many items */
    check_values(16, 32, 53, 64, 3, 1);  /* the crystal U-Net's shapes: one batch-wide product */
    check_values(1, 3, 1, 2, 1, 0);      /* one position */
}

/* Forward and backward of a U-Net-sized convolution on 1 and 2 threads: the same bits. */
static void test_threads(void) {
    float *out[2][4];
    int64_t n[4];
    int threads = sdg_num_threads();
    for (int pass = 0; pass < 2; pass++) {
        sdg_set_num_threads(pass == 0 ? 1 : 2);
        sdg_ctx *ctx = NULL;
        CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
        sdg_tensor *x = sdg_tensor_requires_grad(ctx, sdg_tensor_newv(ctx, 3, (int64_t)24, (int64_t)48, (int64_t)106));
        sdg_tensor *w = sdg_tensor_requires_grad(ctx, sdg_tensor_newv(ctx, 3, (int64_t)64, (int64_t)48, (int64_t)3));
        sdg_tensor *b = sdg_tensor_requires_grad(ctx, sdg_tensor_newv(ctx, 1, (int64_t)64));
        sdg_test_fill(x->data, x->size, 5);
        sdg_test_fill(w->data, w->size, 6);
        sdg_test_fill(b->data, b->size, 7);
        sdg_tensor *y = sdg_conv1d(ctx, x, w, b, 1);
        CU_ASSERT_FATAL(y != NULL);
        sdg_test_fill(y->grad, y->size, 8);
        CU_ASSERT_FATAL(sdg_backward(ctx, y) == SDG_OK);
        const sdg_tensor *t[4] = {y, x, w, b};
        for (int k = 0; k < 4; k++) {
            const float *src = k == 0 ? t[k]->data : t[k]->grad;
            n[k] = t[k]->size;
            out[pass][k] = malloc((size_t)n[k] * sizeof(float));
            memcpy(out[pass][k], src, (size_t)n[k] * sizeof(float));
        }
        sdg_ctx_free(ctx);
    }
    sdg_set_num_threads(threads);
    for (int k = 0; k < 4; k++) {
        CU_ASSERT(memcmp(out[0][k], out[1][k], (size_t)n[k] * sizeof(float)) == 0);
        free(out[0][k]);
        free(out[1][k]);
    }
}

static void test_shape_errors(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *x = sdg_tensor_newv(ctx, 3, (int64_t)2, (int64_t)3, (int64_t)7);
    sdg_tensor *w = sdg_tensor_newv(ctx, 3, (int64_t)4, (int64_t)5, (int64_t)3);
    CU_ASSERT_PTR_NULL(sdg_conv1d(ctx, x, w, NULL, 1));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_SHAPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "[2,3,7]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "[4,5,3]"));
    sdg_ctx_reset(ctx);
    x = sdg_tensor_newv(ctx, 3, (int64_t)2, (int64_t)3, (int64_t)2);
    w = sdg_tensor_newv(ctx, 3, (int64_t)4, (int64_t)3, (int64_t)5);
    CU_ASSERT_PTR_NULL(sdg_conv1d(ctx, x, w, NULL, 0));   /* kernel longer than the input */
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "no output"));
    sdg_ctx_reset(ctx);
    x = sdg_tensor_newv(ctx, 3, (int64_t)2, (int64_t)3, (int64_t)8);
    w = sdg_tensor_newv(ctx, 3, (int64_t)4, (int64_t)3, (int64_t)3);
    sdg_tensor *b = sdg_tensor_newv(ctx, 1, (int64_t)3);
    CU_ASSERT_PTR_NULL(sdg_conv1d(ctx, x, w, b, 1));
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "[3]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "[4,3,3]"));
    sdg_ctx_free(ctx);
}

/* torch.nn.Conv1d: weight and bias U(-1/sqrt(Cin K), +1/sqrt(Cin K)), padding (K-1)/2. */
static void test_init(void) {
    sdg_params *p = NULL;
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_params_new(&p) == SDG_OK && sdg_rng_new(3, &rng) == SDG_OK);
    sdg_conv1d_layer l;
    CU_ASSERT_FATAL(sdg_conv1d_init(&l, p, "unet.conv", 16, 256, 5, true, rng) == SDG_OK);
    CU_ASSERT_PTR_EQUAL(sdg_params_find(p, "unet.conv.weight"), l.weight);
    CU_ASSERT_PTR_EQUAL(sdg_params_find(p, "unet.conv.bias"), l.bias);
    CU_ASSERT_EQUAL(l.pad, 2);
    double bound = 1.0 / sqrt(16.0 * 5), lo = 1, hi = -1, s2 = 0;
    for (int64_t i = 0; i < l.weight->size; i++) {
        lo = fmin(lo, l.weight->data[i]);
        hi = fmax(hi, l.weight->data[i]);
        s2 += (double)l.weight->data[i] * l.weight->data[i];
    }
    CU_ASSERT(lo >= -bound && hi <= bound && lo < -0.99 * bound && hi > 0.99 * bound);
    CU_ASSERT(fabs(sqrt(s2 / (double)l.weight->size) / (bound / sqrt(3.0)) - 1.0) < 0.02);
    for (int64_t i = 0; i < l.bias->size; i++)
        CU_ASSERT(fabs(l.bias->data[i]) <= bound);
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *x = sdg_tensor_newv(ctx, 3, (int64_t)2, (int64_t)16, (int64_t)10);
    sdg_test_fill(x->data, x->size, 4);
    sdg_tensor *y = sdg_conv1d_forward(ctx, &l, x);
    CU_ASSERT_FATAL(y && y->shape[1] == 256 && y->shape[2] == 10);   /* "same" length */
    sdg_ctx_free(ctx);
    sdg_conv1d_layer l2;
    CU_ASSERT(sdg_conv1d_init(&l2, p, "proj", 8, 8, 1, false, rng) == SDG_OK);
    CU_ASSERT(l2.pad == 0 && l2.bias == NULL);
    sdg_rng_free(rng);
    sdg_params_free(p);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"conv1d gradient (K 1/3, pad 0/1, bias or not)", test_grad},
        {"conv1d values (forward and backward)", test_values},
        {"conv1d: the same bits on 1 and 2 threads", test_threads},
        {"shape errors name both shapes", test_shape_errors},
        {"Conv1d layer init like torch.nn.Conv1d", test_init},
        {NULL, NULL},
    };
    return sdg_test_main("nn/conv1d", cases);
}
