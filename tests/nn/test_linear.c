/* linear: finite-difference gradients (2-D to 4-D x, with and without bias), values against a
 * naive reference, thread-count independence, shape errors, and the layer's initialisation. */
#include "test_util.h"

static sdg_tensor *f_lin(sdg_ctx *c, sdg_tensor **in, void *u) { (void)u; return sdg_linear_op(c, in[0], in[1], in[2]); }
static sdg_tensor *f_lin_nb(sdg_ctx *c, sdg_tensor **in, void *u) { (void)u; return sdg_linear_op(c, in[0], in[1], NULL); }

static void test_grad(void) {
    const int64_t xs[][5] = {{2, 5, 4}, {3, 2, 3, 4}, {4, 2, 2, 3, 4}, {1, 4}};
    for (size_t s = 0; s < sizeof xs / sizeof *xs; s++) {
        for (int bias = 0; bias < 2; bias++) {
            gc_spec sp = {.n_in = bias ? 3 : 2};
            sp.ndim[0] = (int)xs[s][0];
            for (int d = 0; d < sp.ndim[0]; d++) sp.shape[0][d] = xs[s][d + 1];
            GC_SHAPE(sp, 1, 2, 3, 4);
            if (bias) GC_SHAPE(sp, 2, 1, 3);
            char label[64];
            snprintf(label, sizeof label, "linear %dD x%s", sp.ndim[0], bias ? " + bias" : "");
            CU_ASSERT_EQUAL(sdg_gradcheck(label, bias ? f_lin : f_lin_nb, NULL, &sp, 30 + s), 0);
        }
    }
    /* GDSS-sized: (B, N, F_in) with F_in = 16, F_out = 24 */
    gc_spec sp = {.n_in = 3, .max_checks = 60};
    GC_SHAPE(sp, 0, 3, 6, 9, 16);
    GC_SHAPE(sp, 1, 2, 24, 16);
    GC_SHAPE(sp, 2, 1, 24);
    CU_ASSERT_EQUAL(sdg_gradcheck("linear 6x9x16 -> 24", f_lin, NULL, &sp, 40), 0);
}

/* y, dx, dW, db against double loops, for x (R, in) with R rows. */
static void check_values(int64_t R, int64_t in, int64_t out, bool bias) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *x = sdg_tensor_requires_grad(ctx, sdg_tensor_newv(ctx, 2, R, in));
    sdg_tensor *w = sdg_tensor_requires_grad(ctx, sdg_tensor_newv(ctx, 2, out, in));
    sdg_tensor *b = bias ? sdg_tensor_requires_grad(ctx, sdg_tensor_newv(ctx, 1, out)) : NULL;
    sdg_test_fill(x->data, x->size, 1);
    sdg_test_fill(w->data, w->size, 2);
    if (b) sdg_test_fill(b->data, b->size, 3);
    sdg_tensor *y = sdg_linear_op(ctx, x, w, b);
    CU_ASSERT_FATAL(y != NULL);
    sdg_test_fill(y->grad, y->size, 4);
    CU_ASSERT_FATAL(sdg_backward(ctx, y) == SDG_OK);
    double *ry = calloc((size_t)(R * out), sizeof(double)), *rx = calloc((size_t)(R * in), sizeof(double));
    double *rw = calloc((size_t)(out * in), sizeof(double)), *rb = calloc((size_t)out, sizeof(double));
    for (int64_t r = 0; r < R; r++)
        for (int64_t o = 0; o < out; o++) {
            double g = y->grad[r * out + o];
            ry[r * out + o] = b ? b->data[o] : 0.0;
            rb[o] += g;
            for (int64_t i = 0; i < in; i++) {
                ry[r * out + o] += (double)x->data[r * in + i] * w->data[o * in + i];
                rx[r * in + i] += g * w->data[o * in + i];
                rw[o * in + i] += g * x->data[r * in + i];
            }
        }
    CU_ASSERT(sdg_test_rel_err(y->data, ry, R * out) <= 1e-4);
    CU_ASSERT(sdg_test_rel_err(x->grad, rx, R * in) <= 1e-4);
    CU_ASSERT(sdg_test_rel_err(w->grad, rw, out * in) <= 1e-4);
    if (b) CU_ASSERT(sdg_test_rel_err(b->grad, rb, out) <= 1e-4);
    free(ry);
    free(rx);
    free(rw);
    free(rb);
    sdg_ctx_free(ctx);
}

static void test_values(void) {
    check_values(9216, 16, 32, true);    /* GDSS QM9: 1024 graphs x 9 nodes */
    check_values(1000, 72, 72, false);
    check_values(7, 5, 3, true);
}

static void run_lin(int threads, float *out, int64_t R, int64_t in, int64_t o) {
    sdg_set_num_threads(threads);
    sdg_ctx *ctx = NULL;
    sdg_ctx_new(0, &ctx);
    sdg_tensor *x = sdg_tensor_requires_grad(ctx, sdg_tensor_newv(ctx, 2, R, in));
    sdg_tensor *w = sdg_tensor_requires_grad(ctx, sdg_tensor_newv(ctx, 2, o, in));
    sdg_tensor *b = sdg_tensor_requires_grad(ctx, sdg_tensor_newv(ctx, 1, o));
    sdg_test_fill(x->data, x->size, 1);
    sdg_test_fill(w->data, w->size, 2);
    sdg_test_fill(b->data, b->size, 3);
    sdg_tensor *y = sdg_linear_op(ctx, x, w, b);
    sdg_test_fill(y->grad, y->size, 4);
    sdg_backward(ctx, y);
    int64_t k = 0;
    memcpy(out + k, y->data, (size_t)y->size * sizeof(float)), k += y->size;
    memcpy(out + k, x->grad, (size_t)x->size * sizeof(float)), k += x->size;
    memcpy(out + k, w->grad, (size_t)w->size * sizeof(float)), k += w->size;
    memcpy(out + k, b->grad, (size_t)b->size * sizeof(float));
    sdg_ctx_free(ctx);
}

static void test_thread_independent(void) {
    const int64_t R = 9216, in = 72, o = 40;
    int64_t n = R * o + R * in + o * in + o;
    float *o1 = malloc((size_t)n * sizeof(float)), *o2 = malloc((size_t)n * sizeof(float));
    int saved = sdg_num_threads();
    run_lin(1, o1, R, in, o);
    run_lin(2, o2, R, in, o);
    sdg_set_num_threads(saved);
    CU_ASSERT(memcmp(o1, o2, (size_t)n * sizeof(float)) == 0);
    free(o1);
    free(o2);
}

static void test_shape_errors(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *x = sdg_tensor_newv(ctx, 3, (int64_t)2, (int64_t)5, (int64_t)4);
    sdg_tensor *w = sdg_tensor_newv(ctx, 2, (int64_t)3, (int64_t)6);
    CU_ASSERT_PTR_NULL(sdg_linear_op(ctx, x, w, NULL));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_SHAPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "[2,5,4]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "[3,6]"));
    sdg_ctx_reset(ctx);
    x = sdg_tensor_newv(ctx, 2, (int64_t)5, (int64_t)4);
    w = sdg_tensor_newv(ctx, 2, (int64_t)3, (int64_t)4);
    sdg_tensor *b = sdg_tensor_newv(ctx, 1, (int64_t)4);
    CU_ASSERT_PTR_NULL(sdg_linear_op(ctx, x, w, b));
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "[4]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "[3,4]"));
    sdg_ctx_free(ctx);
}

/* torch.nn.Linear: weight and bias U(-1/sqrt(in), 1/sqrt(in)): bounds and std 1/sqrt(3 in). */
static void test_init(void) {
    sdg_params *p = NULL;
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_params_new(&p) == SDG_OK && sdg_rng_new(5, &rng) == SDG_OK);
    sdg_linear l;
    const int64_t in = 64, out = 512;
    CU_ASSERT_FATAL(sdg_linear_init(&l, p, "mlp.linears.0", in, out, true, rng) == SDG_OK);
    CU_ASSERT_PTR_EQUAL(sdg_params_find(p, "mlp.linears.0.weight"), l.weight);
    CU_ASSERT_PTR_EQUAL(sdg_params_find(p, "mlp.linears.0.bias"), l.bias);
    CU_ASSERT(l.weight->shape[0] == out && l.weight->shape[1] == in && l.bias->shape[0] == out);
    CU_ASSERT(l.in == in && l.out == out);
    double bound = 1.0 / sqrt((double)in), lo = 1, hi = -1, s = 0, s2 = 0;
    for (int64_t i = 0; i < l.weight->size; i++) {
        double v = l.weight->data[i];
        lo = fmin(lo, v);
        hi = fmax(hi, v);
        s += v;
        s2 += v * v;
    }
    double n = (double)l.weight->size, mean = s / n, sd = sqrt(s2 / n - mean * mean);
    CU_ASSERT(lo >= -bound && hi <= bound);
    CU_ASSERT(lo < -0.99 * bound && hi > 0.99 * bound);      /* the whole range is used */
    CU_ASSERT(fabs(mean) < 0.01 * bound);
    CU_ASSERT(fabs(sd / (bound / sqrt(3.0)) - 1.0) < 0.02);  /* 32768 draws: sd within ~0.5 % */
    double blo = 1, bhi = -1;
    for (int64_t i = 0; i < out; i++) {
        blo = fmin(blo, l.bias->data[i]);
        bhi = fmax(bhi, l.bias->data[i]);
    }
    CU_ASSERT(blo >= -bound && bhi <= bound && blo < -0.9 * bound && bhi > 0.9 * bound);
    /* without bias; a duplicate name fails */
    sdg_linear l2;
    CU_ASSERT(sdg_linear_init(&l2, p, "head", 8, 4, false, rng) == SDG_OK);
    CU_ASSERT_PTR_NULL(l2.bias);
    CU_ASSERT(sdg_linear_init(&l2, p, "head", 8, 4, false, rng) != SDG_OK);
    /* the layer computes the op */
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *x = sdg_tensor_newv(ctx, 3, (int64_t)2, (int64_t)3, in);
    sdg_test_fill(x->data, x->size, 9);
    sdg_tensor *y1 = sdg_linear_forward(ctx, &l, x), *y2 = sdg_linear_op(ctx, x, l.weight, l.bias);
    CU_ASSERT_FATAL(y1 && y2 && y1->ndim == 3 && y1->shape[2] == out);
    CU_ASSERT(memcmp(y1->data, y2->data, (size_t)y1->size * sizeof(float)) == 0);
    sdg_ctx_free(ctx);
    sdg_rng_free(rng);
    sdg_params_free(p);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"linear gradient (2-D to 4-D, bias or not)", test_grad},
        {"linear values (forward and backward)", test_values},
        {"same bits for 1 and 2 threads", test_thread_independent},
        {"shape errors name both shapes", test_shape_errors},
        {"Linear layer init like torch.nn.Linear", test_init},
        {NULL, NULL},
    };
    return sdg_test_main("nn/linear", cases);
}
