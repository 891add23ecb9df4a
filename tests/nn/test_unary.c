/* Element-wise unary functions: hand-computed values, PyTorch edge cases, finite-difference
 * gradients and accumulation for every function over 1-D to 4-D shapes, FLOP counting
 * and errors. */
#include "nn/accum_check.h"

static sdg_tensor *f_unary(sdg_ctx *c, sdg_tensor **in, void *u) {
    return sdg_unary_apply(c, *(const sdg_unary *)u, in[0]);
}

/* Domain and kink for each function: log/sqrt on positive inputs, kinks skipped at 0. */
typedef struct { sdg_unary fn; float lo, hi; bool kink; } unary_case;
static const unary_case cases_all[] = {
    {SDG_UNARY_TANH, -2, 2, false},    {SDG_UNARY_SIGMOID, -3, 3, false},
    {SDG_UNARY_RELU, -1, 1, true},     {SDG_UNARY_SILU, -3, 3, false},
    {SDG_UNARY_SOFTPLUS, -3, 3, false}, {SDG_UNARY_ELU, -2, 2, true},
    {SDG_UNARY_EXP, -1.5f, 1.5f, false}, {SDG_UNARY_LOG, 0.3f, 3, false},
    {SDG_UNARY_SQRT, 0.3f, 3, false},  {SDG_UNARY_SQUARE, -2, 2, false},
    {SDG_UNARY_SIN, -3, 3, false},     {SDG_UNARY_COS, -3, 3, false},
    {SDG_UNARY_NEG, -1, 1, false},     {SDG_UNARY_ABS, -1, 1, true},
};

static const int64_t shapes[][5] = {   /* ndim, dims */
    {1, 7}, {2, 3, 5}, {3, 2, 3, 4}, {4, 2, 1, 3, 4},
};

static void test_grad_all(void) {
    CU_ASSERT_EQUAL(sizeof cases_all / sizeof cases_all[0], SDG_UNARY_COUNT);
    for (size_t c = 0; c < sizeof cases_all / sizeof cases_all[0]; c++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const unary_case *u = &cases_all[c];
            gc_spec sp = {.n_in = 1, .lo = u->lo, .hi = u->hi, .kink = 0, .has_kink = u->kink};
            sp.ndim[0] = (int)shapes[s][0];
            for (int d = 0; d < sp.ndim[0]; d++) sp.shape[0][d] = shapes[s][d + 1];
            char label[64];
            snprintf(label, sizeof label, "%s shape #%zu", sdg_unary_name(u->fn), s);
            CU_ASSERT_EQUAL(sdg_gradcheck(label, f_unary, (void *)&u->fn, &sp, 300 + 10 * c + s), 0);
            CU_ASSERT_EQUAL(sdg_accumcheck(label, f_unary, (void *)&u->fn, &sp, 300 + 10 * c + s), 0);
        }
}

/* softplus above its threshold (linear, slope 1) and in the far negative tail. */
static void test_grad_softplus_regions(void) {
    sdg_unary fn = SDG_UNARY_SOFTPLUS;
    gc_spec hi = {.n_in = 1, .lo = 22, .hi = 30};
    GC_SHAPE(hi, 0, 1, 6);
    CU_ASSERT_EQUAL(sdg_gradcheck("softplus x > 20", f_unary, &fn, &hi, 41), 0);
    gc_spec lo = {.n_in = 1, .lo = -12, .hi = -6};
    GC_SHAPE(lo, 0, 2, 2, 3);
    CU_ASSERT_EQUAL(sdg_gradcheck("softplus x << 0", f_unary, &fn, &lo, 42), 0);
}

static void test_values(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    const float x[5] = {-1.0f, 0.0f, 0.5f, 2.0f, 30.0f};
    sdg_tensor *t = sdg_tensor_from(ctx, 1, (int64_t[]){5}, x);
    /* expected values, computed by hand (double) */
    struct { sdg_unary fn; double want[5]; } v[] = {
        {SDG_UNARY_TANH, {tanh(-1.0), 0, tanh(0.5), tanh(2.0), 1}},
        {SDG_UNARY_SIGMOID, {1 / (1 + exp(1.0)), 0.5, 1 / (1 + exp(-0.5)), 1 / (1 + exp(-2.0)), 1}},
        {SDG_UNARY_RELU, {0, 0, 0.5, 2, 30}},
        {SDG_UNARY_SILU, {-1 / (1 + exp(1.0)), 0, 0.5 / (1 + exp(-0.5)), 2 / (1 + exp(-2.0)), 30}},
        {SDG_UNARY_SOFTPLUS, {log1p(exp(-1.0)), log(2.0), log1p(exp(0.5)), log1p(exp(2.0)), 30}},
        {SDG_UNARY_ELU, {exp(-1.0) - 1, 0, 0.5, 2, 30}},
        {SDG_UNARY_SQUARE, {1, 0, 0.25, 4, 900}},
        {SDG_UNARY_SIN, {sin(-1.0), 0, sin(0.5), sin(2.0), sin(30.0)}},
        {SDG_UNARY_COS, {cos(-1.0), 1, cos(0.5), cos(2.0), cos(30.0)}},
        {SDG_UNARY_NEG, {1, 0, -0.5, -2, -30}},
        {SDG_UNARY_ABS, {1, 0, 0.5, 2, 30}},
    };
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        sdg_tensor *y = sdg_unary_apply(ctx, v[k].fn, t);
        CU_ASSERT_FATAL(y != NULL);
        for (int i = 0; i < 5; i++)
            CU_ASSERT_DOUBLE_EQUAL(y->data[i], v[k].want[i], 1e-6 * fmax(1.0, fabs(v[k].want[i])));
    }
    CU_ASSERT_EQUAL(sdg_softplus(ctx, t)->data[4], 30.0f);   /* exactly linear above 20 */
    const float p[3] = {0.25f, 1.0f, 4.0f};
    sdg_tensor *tp = sdg_tensor_from(ctx, 1, (int64_t[]){3}, p);
    sdg_tensor *ye = sdg_exp(ctx, tp), *yl = sdg_log(ctx, tp), *ys = sdg_sqrt(ctx, tp);
    CU_ASSERT_FATAL(ye && yl && ys);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_DOUBLE_EQUAL(ye->data[i], exp(p[i]), 1e-6 * exp(p[i]));
        CU_ASSERT_DOUBLE_EQUAL(yl->data[i], log(p[i]), 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(ys->data[i], sqrt(p[i]), 1e-7);
    }
    /* sigmoid stays finite and exact at the extremes */
    const float big[2] = {-100.0f, 100.0f};
    sdg_tensor *yb = sdg_sigmoid(ctx, sdg_tensor_from(ctx, 1, (int64_t[]){2}, big));
    CU_ASSERT_FATAL(yb != NULL);
    CU_ASSERT_EQUAL(yb->data[1], 1.0f);
    CU_ASSERT(yb->data[0] >= 0.0f && yb->data[0] < 1e-40f);
    sdg_ctx_free(ctx);
}

/* Derivatives at the kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0, elu'(0) = 1. */
static void test_kink_gradients(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    const sdg_unary fn[3] = {SDG_UNARY_RELU, SDG_UNARY_ABS, SDG_UNARY_ELU};
    const float want[3] = {0.0f, 0.0f, 1.0f};
    for (int k = 0; k < 3; k++) {
        sdg_ctx_reset(ctx);
        sdg_tensor *x = sdg_tensor_zeros(ctx, 1, (int64_t[]){1});
        sdg_tensor_requires_grad(ctx, x);
        sdg_tensor *y = sdg_unary_apply(ctx, fn[k], x);
        CU_ASSERT_FATAL(y != NULL);
        CU_ASSERT_EQUAL(sdg_backward(ctx, y), SDG_OK);
        CU_ASSERT_EQUAL(x->grad[0], want[k]);
    }
    sdg_ctx_free(ctx);
}

/* Backward accumulates: using x twice (y = tanh(x) + tanh(x)) doubles the gradient. */
static void test_accumulates(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *x = sdg_tensor_zeros(ctx, 1, (int64_t[]){1});
    x->data[0] = 0.3f;
    sdg_tensor_requires_grad(ctx, x);
    x->grad[0] = 5.0f;   /* an earlier gradient must be kept */
    sdg_tensor *y = sdg_add(ctx, sdg_tanh(ctx, x), sdg_tanh(ctx, x));
    CU_ASSERT_EQUAL(sdg_backward(ctx, y), SDG_OK);
    double d = 1.0 - tanh(0.3) * tanh(0.3);
    CU_ASSERT_DOUBLE_EQUAL(x->grad[0], 5.0 + 2.0 * d, 1e-6);
    sdg_ctx_free(ctx);
}

static void test_names_flops_errors(void) {
    CU_ASSERT_STRING_EQUAL(sdg_unary_name(SDG_UNARY_SOFTPLUS), "softplus");
    CU_ASSERT_STRING_EQUAL(sdg_unary_name(SDG_UNARY_ABS), "abs");
    CU_ASSERT_STRING_EQUAL(sdg_unary_name(SDG_UNARY_COUNT), "?");
    for (int f = 0; f < SDG_UNARY_COUNT; f++) CU_ASSERT(strcmp(sdg_unary_name((sdg_unary)f), "?") != 0);
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *x = sdg_tensor_zeros(ctx, 2, (int64_t[]){3, 4});
    sdg_ctx_flops_clear(ctx);
    sdg_relu(ctx, x);
    CU_ASSERT_DOUBLE_EQUAL(sdg_ctx_flops(ctx, SDG_OP_UNARY), 12.0, 0);
    sdg_exp(ctx, x);
    CU_ASSERT_DOUBLE_EQUAL(sdg_ctx_flops(ctx, SDG_OP_UNARY), 24.0, 0);   /* 1 per element, any f */
    CU_ASSERT_PTR_NULL(sdg_unary_apply(ctx, SDG_UNARY_COUNT, x));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "unary"));
    CU_ASSERT_PTR_NULL(sdg_tanh(ctx, x));   /* sticky */
    sdg_ctx_reset(ctx);
    CU_ASSERT_PTR_NULL(sdg_tanh(ctx, NULL));
    sdg_ctx_free(ctx);
}

/* sdg_unary_run (the raw kernel of fused sampling paths) against the op, bit for bit, and SiLU
 * and sigmoid against double within 3e-7 relative (floor 1e-20) over [-100, 100], in place, on
 * a length that leaves a vector tail. ctest runs this file on every kernel path (AVX-512, AVX2,
 * plain), so the copies are held to the same numbers. */
static void test_run_kernel(void) {
    enum { N = 4001 };
    static float x[N], y[N];
    for (int i = 0; i < N; i++) x[i] = (float)(i - N / 2) / 20.0f;
    x[7] = -87.0f, x[8] = -88.0f, x[9] = -87.33f, x[10] = NAN;
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *xt = sdg_tensor_from(ctx, 1, (int64_t[]){N}, x);
    const sdg_unary fns[6] = {SDG_UNARY_SILU, SDG_UNARY_SIGMOID, SDG_UNARY_TANH, SDG_UNARY_EXP, SDG_UNARY_ELU,
                              SDG_UNARY_SOFTPLUS};
    for (int f = 0; f < 6; f++) {
        memcpy(y, x, sizeof x);
        sdg_unary_run(fns[f], y, y, N);
        sdg_tensor *op = sdg_unary_apply(ctx, fns[f], xt);
        CU_ASSERT_FATAL(op != NULL);
        CU_ASSERT(memcmp(y, op->data, sizeof y) == 0);
        if (f > 1) continue;
        double worst = 0;
        for (int i = 0; i < N; i++) {
            if (i == 10) continue;
            double v = x[i], s = 1.0 / (1.0 + exp(-v)), ref = f == 0 ? v * s : s;
            worst = fmax(worst, fabs(y[i] - ref) / fmax(fabs(ref), 1e-20));   /* 0 below x = -87.33 */
        }
        printf("\n  %s: %.1e relative to double", sdg_unary_name(fns[f]), worst);
        CU_ASSERT(worst < 3e-7);
        CU_ASSERT(isnan(y[10]));
    }
    sdg_ctx_free(ctx);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"gradient of every function, 1-D to 4-D", test_grad_all},
        {"softplus gradient in both tails", test_grad_softplus_regions},
        {"values against hand-computed numbers", test_values},
        {"gradients at the kinks (PyTorch)", test_kink_gradients},
        {"backward accumulates", test_accumulates},
        {"names, FLOPs and errors", test_names_flops_errors},
        {"sdg_unary_run = the op; SiLU and sigmoid against double", test_run_kernel},
        {NULL, NULL},
    };
    return sdg_test_main("nn/unary", cases);
}
