/* Element-wise unary functions as one constant table of {name, cost, f(x), f'(x, y)}.
 * ref: torch.tanh / sigmoid / relu / nn.functional.silu / softplus (beta=1, threshold=20) /
 *      elu (alpha=1) / exp / log / sqrt / square / sin / cos / neg / abs
 * Derivatives at kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0, elu'(0) = 1 (the x <= 0
 * branch, exp(0)).
 * FLOP costs per element (forward): 1 for arithmetic-only functions (relu, square, neg, abs),
 * 10 for one transcendental call (exp, log, sqrt, sin, cos), plus 1-2 per extra arithmetic
 * operation around it (sigmoid 12, silu 13, elu 11), 20 for tanh and softplus (exp + log1p).
 * Backward counts the derivative's cost (1 for arithmetic-only, half the forward cost
 * otherwise, as it reuses y) plus 2 (multiply by the output gradient, accumulate). */
#include <math.h>
#include "nn/internal.h"

typedef float (*unary_f)(float x);
typedef float (*unary_df)(float x, float y);   /* dy/dx given x and y = f(x) */

typedef struct unary_type {
    const char *name;
    double      cost;    /* forward FLOPs per element */
    unary_f     f;
    unary_df    df;
} unary_type;

static float sigmoidf(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

static float f_tanh(float x) { return tanhf(x); }
static float d_tanh(float x, float y) { (void)x; return 1.0f - y * y; }
static float f_sigmoid(float x) { return sigmoidf(x); }
static float d_sigmoid(float x, float y) { (void)x; return y * (1.0f - y); }
static float f_relu(float x) { return x > 0.0f ? x : 0.0f; }
static float d_relu(float x, float y) { (void)y; return x > 0.0f ? 1.0f : 0.0f; }
static float f_silu(float x) { return x * sigmoidf(x); }
static float d_silu(float x, float y) {
    (void)y;
    float s = sigmoidf(x);
    return s * (1.0f + x * (1.0f - s));
}
static float f_softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }
static float d_softplus(float x, float y) { (void)y; return x > 20.0f ? 1.0f : sigmoidf(x); }
/* expm1 for x <= 0 at half the cost of libm's expm1f (ELU dominates GDSS's edge MLPs):
 * expf(x) - 1 where the result is at least 0.22 in size (no cancellation), else the Taylor
 * series to x^7 (truncation < 1e-9 for |x| <= 0.25). Max error 1.4e-7 relative (~1 ulp). */
static float expm1_neg(float x) {
    if (x < -0.25f) return expf(x) - 1.0f;
    float p = 1.0f / 5040;
    p = p * x + 1.0f / 720;
    p = p * x + 1.0f / 120;
    p = p * x + 1.0f / 24;
    p = p * x + 1.0f / 6;
    p = p * x + 0.5f;
    p = p * x + 1.0f;
    return p * x;
}
static float f_elu(float x) { return x > 0.0f ? x : expm1_neg(x); }
static float d_elu(float x, float y) { return x > 0.0f ? 1.0f : y + 1.0f; }
static float f_exp(float x) { return expf(x); }
static float d_exp(float x, float y) { (void)x; return y; }
static float f_log(float x) { return logf(x); }
static float d_log(float x, float y) { (void)y; return 1.0f / x; }
static float f_sqrt(float x) { return sqrtf(x); }
static float d_sqrt(float x, float y) { (void)x; return 0.5f / y; }
static float f_square(float x) { return x * x; }
static float d_square(float x, float y) { (void)y; return 2.0f * x; }
static float f_sin(float x) { return sinf(x); }
static float d_sin(float x, float y) { (void)y; return cosf(x); }
static float f_cos(float x) { return cosf(x); }
static float d_cos(float x, float y) { (void)y; return -sinf(x); }
static float f_neg(float x) { return -x; }
static float d_neg(float x, float y) { (void)x; (void)y; return -1.0f; }
static float f_abs(float x) { return fabsf(x); }
static float d_abs(float x, float y) {
    (void)y;
    return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
}

/* Indexed by sdg_unary; the order must follow the enum in nn.h. */
static const unary_type unary_types[SDG_UNARY_COUNT] = {
    [SDG_UNARY_TANH]     = {"tanh", 20, f_tanh, d_tanh},
    [SDG_UNARY_SIGMOID]  = {"sigmoid", 12, f_sigmoid, d_sigmoid},
    [SDG_UNARY_RELU]     = {"relu", 1, f_relu, d_relu},
    [SDG_UNARY_SILU]     = {"silu", 13, f_silu, d_silu},
    [SDG_UNARY_SOFTPLUS] = {"softplus", 20, f_softplus, d_softplus},
    [SDG_UNARY_ELU]      = {"elu", 11, f_elu, d_elu},
    [SDG_UNARY_EXP]      = {"exp", 10, f_exp, d_exp},
    [SDG_UNARY_LOG]      = {"log", 10, f_log, d_log},
    [SDG_UNARY_SQRT]     = {"sqrt", 10, f_sqrt, d_sqrt},
    [SDG_UNARY_SQUARE]   = {"square", 1, f_square, d_square},
    [SDG_UNARY_SIN]      = {"sin", 10, f_sin, d_sin},
    [SDG_UNARY_COS]      = {"cos", 10, f_cos, d_cos},
    [SDG_UNARY_NEG]      = {"neg", 1, f_neg, d_neg},
    [SDG_UNARY_ABS]      = {"abs", 1, f_abs, d_abs},
};

const char *sdg_unary_name(sdg_unary fn) {
    return (unsigned)fn < SDG_UNARY_COUNT ? unary_types[fn].name : "?";
}

static double unary_backward_cost(const unary_type *t) {
    return (t->cost <= 1.0 ? 1.0 : 0.5 * t->cost) + 2.0;
}

/* x, y: any shape (same); x->grad += y->grad * f'(x, y). */
static void unary_backward(sdg_ctx *ctx, sdg_node *n) {
    const unary_type *t = &unary_types[n->i[0]];
    sdg_tensor *x = n->in[0], *y = n->out;
    if (!x->grad) return;
    const float *xd = x->data, *yd = y->data, *gy = y->grad;
    float *gx = x->grad;
    #pragma omp parallel for if (x->size > SDG_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < x->size; i++) gx[i] += gy[i] * t->df(xd[i], yd[i]);
    sdg_ctx_add_flops(ctx, SDG_OP_UNARY, unary_backward_cost(t) * (double)x->size);
}

/* x: any shape -> y: same shape, y = f(x). */
sdg_tensor *sdg_unary_apply(sdg_ctx *ctx, sdg_unary fn, sdg_tensor *x) {
    if (!nn_ok(ctx, 1, x)) return NULL;
    if ((unsigned)fn >= SDG_UNARY_COUNT)
        return nn_fail(ctx, SDG_ERR_INVALID, "unary: unknown function %d", (int)fn);
    const unary_type *t = &unary_types[fn];
    sdg_tensor *y = nn_out(ctx, x->ndim, x->shape, 1, x);
    if (!y) return NULL;
    const float *xd = x->data;
    float *yd = y->data;
    #pragma omp parallel for if (x->size > SDG_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < x->size; i++) yd[i] = t->f(xd[i]);
    sdg_ctx_add_flops(ctx, SDG_OP_UNARY, t->cost * (double)x->size);
    sdg_node *n = nn_record(ctx, SDG_OP_UNARY, unary_backward, y, 1, x);
    if (n) n->i[0] = fn;
    return y;
}
