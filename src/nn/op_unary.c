/* Element-wise unary functions: a constant table of {name, f(x), f'(x, y)} for the scalar
 * definitions, and loop kernels per function for the hot ones.
 * ref: torch.tanh / sigmoid / relu / nn.functional.silu / softplus (beta=1, threshold=20) /
 *      elu (alpha=1) / exp / log / sqrt / square / sin / cos / neg / abs
 * Derivatives at kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0, elu'(0) = 1 (the x <= 0
 * branch, exp(0)).
 * Speed: tanh, ELU and exp (GDSS's activations; they dominate its edge MLPs) and sigmoid and
 * SiLU (the U-Net's and the EGNN's) use branch-free float approximations (exp: Cephes range
 * reduction + degree-6 polynomial, < 1e-7 relative on [-87.3, 88.7], 0 below; sigmoid from
 * e^-|x|; tanh: Eigen's 13/6 rational function, < 4e-7 absolute) written
 * as plain loops that GCC vectorises; each loop is compiled three times, for the baseline ISA,
 * AVX2 + FMA and AVX-512, and the widest copy the CPU has is picked at run time (SDEGEN_GEMM_PATH
 * caps it, as for the matrix kernels). Contraction into FMA is off (ISO C mode), so every copy
 * gives the same bits. The other functions call
 * libm, one loop per function (no per-element function pointer).
 * FLOPs: 1 per element forward for every function (transcendentals are not weighted, so that
 * GFLOP/s stays comparable with matrix products); backward 3 per element (derivative,
 * multiply by the output gradient, accumulate). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "nn/internal.h"

typedef float (*unary_f)(float x);
typedef float (*unary_df)(float x, float y);   /* dy/dx given x and y = f(x) */

typedef struct unary_type {
    const char *name;
    unary_f     f;
    unary_df    df;
} unary_type;

/* ---- branch-free approximations (vectorisable) ----
 * -fno-trapping-math from here to the kernels: with it GCC if-converts the selects of v_exp,
 * v_tanh and v_elu (otherwise it keeps them as branches and the loops stay scalar). It changes
 * no value, only whether floating-point exception flags may be raised speculatively. */
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math")
/* e^r for x = n ln2 + r, |r| <= ln2/2 (Cephes' expf polynomial); n into *n. x already clamped. */
static inline float v_exp_reduced(float x, float *n) {
    float k = x * 1.44269504088896341f + 12582912.0f;   /* round to nearest via 1.5 * 2^23 */
    k -= 12582912.0f;
    float r = x - k * 0.693359375f;
    r = r - k * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    *n = k;
    return p * (r * r) + r + 1.0f;
}

/* e^x: e^r 2^n with 2^n as two factors so that n = 128 does not overflow the exponent field.
 * 0 below -87.33 (e^x < FLT_MIN), inf above ln(FLT_MAX), NaN for NaN. The clamp sends NaN to
 * -87.33 so that n is always a small integer (no undefined float-to-int conversion). */
static inline float v_exp(float x) {
    float xc = x > -87.33f ? (x < 88.7228f ? x : 88.7228f) : -87.33f, n;
    float p = v_exp_reduced(xc, &n);
    int32_t ni = (int32_t)n, n1 = ni >> 1;
    int32_t e1 = (n1 + 127) * (1 << 23), e2 = (ni - n1 + 127) * (1 << 23);
    float s1, s2;
    memcpy(&s1, &e1, sizeof s1);
    memcpy(&s2, &e2, sizeof s2);
    float y = p * s1 * s2;
    return x < -87.33f ? 0.0f : (x > 88.7228f ? INFINITY : (x == x ? y : x));
}

/* e^x for x <= 0 (or NaN): 2^n as one factor (n >= -126 after the clamp, a normal number);
 * the same bits as v_exp there (both round p 2^n once), with fewer operations. */
static inline float v_exp_neg(float x) {
    float n, p = v_exp_reduced(x > -87.33f ? x : -87.33f, &n);   /* NaN: n stays in range */
    int32_t bits = ((int32_t)n + 127) * (1 << 23);
    float sc;
    memcpy(&sc, &bits, sizeof sc);
    return x < -87.33f ? 0.0f : (x == x ? p * sc : x);
}

/* tanh: Eigen's rational approximation (odd degree 13 over even degree 6), clamped where it
 * reaches +-1; tanh(x) = x below 4e-4. */
static inline float v_tanh(float x) {
    const float c = 7.90531110763549805f;
    float xc = x < -c ? -c : (x > c ? c : x);
    float x2 = xc * xc;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * xc;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    float y = p / q;
    return fabsf(x) < 0.0004f ? x : y;
}

/* ELU (alpha 1): x > 0 ? x : e^x - 1, with e^x - 1 as the Taylor series to x^7 for
 * -0.25 <= x <= 0 (no cancellation; truncation < 1e-9). */
static inline float v_elu(float x) {
    float t = 1.0f / 5040;
    t = t * x + 1.0f / 720;
    t = t * x + 1.0f / 120;
    t = t * x + 1.0f / 24;
    t = t * x + 1.0f / 6;
    t = t * x + 0.5f;
    t = t * x + 1.0f;
    t = t * x;
    float e = v_exp(x) - 1.0f;
    return x > 0.0f ? x : (x < -0.25f ? e : t);
}

/* sigmoid from e = e^-|x| (never overflows): 1 / (1 + e) for x >= 0, e / (1 + e) below. */
static inline float v_sigmoid(float x) {
    float e = v_exp_neg(-fabsf(x));
    float s = 1.0f / (1.0f + e);
    return x >= 0.0f ? s : e * s;
}

static float f_tanh(float x) { return v_tanh(x); }
static float d_tanh(float x, float y) { (void)x; return 1.0f - y * y; }
static float f_sigmoid(float x) { return v_sigmoid(x); }
static float d_sigmoid(float x, float y) { (void)x; return y * (1.0f - y); }
static float f_relu(float x) { return x > 0.0f ? x : 0.0f; }
static float d_relu(float x, float y) { (void)y; return x > 0.0f ? 1.0f : 0.0f; }
static float f_silu(float x) { return x * v_sigmoid(x); }
static float d_silu(float x, float y) {
    (void)y;
    float s = v_sigmoid(x);
    return s * (1.0f + x * (1.0f - s));
}
static float f_softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }
static float d_softplus(float x, float y) { (void)y; return x > 20.0f ? 1.0f : v_sigmoid(x); }
static float f_elu(float x) { return v_elu(x); }
static float d_elu(float x, float y) { return x > 0.0f ? 1.0f : y + 1.0f; }
static float f_exp(float x) { return v_exp(x); }
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
    [SDG_UNARY_TANH]     = {"tanh", f_tanh, d_tanh},
    [SDG_UNARY_SIGMOID]  = {"sigmoid", f_sigmoid, d_sigmoid},
    [SDG_UNARY_RELU]     = {"relu", f_relu, d_relu},
    [SDG_UNARY_SILU]     = {"silu", f_silu, d_silu},
    [SDG_UNARY_SOFTPLUS] = {"softplus", f_softplus, d_softplus},
    [SDG_UNARY_ELU]      = {"elu", f_elu, d_elu},
    [SDG_UNARY_EXP]      = {"exp", f_exp, d_exp},
    [SDG_UNARY_LOG]      = {"log", f_log, d_log},
    [SDG_UNARY_SQRT]     = {"sqrt", f_sqrt, d_sqrt},
    [SDG_UNARY_SQUARE]   = {"square", f_square, d_square},
    [SDG_UNARY_SIN]      = {"sin", f_sin, d_sin},
    [SDG_UNARY_COS]      = {"cos", f_cos, d_cos},
    [SDG_UNARY_NEG]      = {"neg", f_neg, d_neg},
    [SDG_UNARY_ABS]      = {"abs", f_abs, d_abs},
};

const char *sdg_unary_name(sdg_unary fn) {
    return (unsigned)fn < SDG_UNARY_COUNT ? unary_types[fn].name : "?";
}

/* ---- loop kernels: y = f(x) and gx += gy f'(x, y) over n elements ---- */
#define UNARY_LOOP(expr) for (int64_t i = 0; i < n; i++) y[i] = (expr)
#define UNARY_BLOOP(expr) for (int64_t i = 0; i < n; i++) gx[i] += gy[i] * (expr)
#define UNARY_KERNELS(sfx, attr)                                                              \
    attr static void fwd_##sfx(sdg_unary fn, const float *restrict x, float *restrict y,     \
                               int64_t n) {                                                  \
        switch (fn) {                                                                         \
        case SDG_UNARY_TANH: UNARY_LOOP(v_tanh(x[i])); break;                                 \
        case SDG_UNARY_ELU: UNARY_LOOP(v_elu(x[i])); break;                                   \
        case SDG_UNARY_EXP: UNARY_LOOP(v_exp(x[i])); break;                                   \
        case SDG_UNARY_SIGMOID: UNARY_LOOP(v_sigmoid(x[i])); break;                           \
        case SDG_UNARY_SILU: UNARY_LOOP(x[i] * v_sigmoid(x[i])); break;                       \
        case SDG_UNARY_RELU: UNARY_LOOP(x[i] > 0.0f ? x[i] : 0.0f); break;                     \
        case SDG_UNARY_SQUARE: UNARY_LOOP(x[i] * x[i]); break;                                 \
        case SDG_UNARY_NEG: UNARY_LOOP(-x[i]); break;                                         \
        case SDG_UNARY_ABS: UNARY_LOOP(fabsf(x[i])); break;                                   \
        case SDG_UNARY_SQRT: UNARY_LOOP(sqrtf(x[i])); break;                                  \
        default: {                                                                            \
            const unary_f f = unary_types[fn].f;                                              \
            UNARY_LOOP(f(x[i]));                                                              \
        }                                                                                     \
        }                                                                                     \
    }                                                                                         \
    attr static void bwd_##sfx(sdg_unary fn, const float *restrict x, const float *restrict y,\
                               const float *restrict gy, float *restrict gx, int64_t n) {    \
        switch (fn) {                                                                         \
        case SDG_UNARY_TANH: UNARY_BLOOP(1.0f - y[i] * y[i]); break;                          \
        case SDG_UNARY_ELU: UNARY_BLOOP(x[i] > 0.0f ? 1.0f : y[i] + 1.0f); break;              \
        case SDG_UNARY_EXP: UNARY_BLOOP(y[i]); break;                                         \
        case SDG_UNARY_SIGMOID: UNARY_BLOOP(y[i] * (1.0f - y[i])); break;                     \
        case SDG_UNARY_SILU: UNARY_BLOOP(d_silu(x[i], y[i])); break;                          \
        case SDG_UNARY_RELU: UNARY_BLOOP(x[i] > 0.0f ? 1.0f : 0.0f); break;                    \
        default: {                                                                            \
            const unary_df df = unary_types[fn].df;                                           \
            UNARY_BLOOP(df(x[i], y[i]));                                                      \
        }                                                                                     \
        }                                                                                     \
    }

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"   /* v[0, n) is written before use */
/* Epilogue of a product row (sdg_gemm_run): c = c (+) act(alpha p + bias (+ c)), n <= 256. */
#define EPI_KERNEL(sfx, attr)                                                                 \
    attr static void epi_##sfx(const float *restrict p, int64_t n, float alpha,               \
                               const float *restrict bcol, float brow, sdg_unary act, int acc,\
                               float *restrict c) {                                           \
        float v[NN_EPI_MAX], w[NN_EPI_MAX];                                                   \
        if (bcol) for (int64_t i = 0; i < n; i++) v[i] = alpha * p[i] + bcol[i];              \
        else for (int64_t i = 0; i < n; i++) v[i] = alpha * p[i] + brow;                      \
        if (acc == SDG_GEMM_ACC_INNER) for (int64_t i = 0; i < n; i++) v[i] += c[i];          \
        const float *r = v;                                                                   \
        if (act != SDG_UNARY_NONE) {                                                          \
            fwd_##sfx(act, v, w, n);                                                          \
            r = w;                                                                            \
        }                                                                                     \
        if (acc == SDG_GEMM_ACC_OUTER) for (int64_t i = 0; i < n; i++) c[i] += r[i];          \
        else for (int64_t i = 0; i < n; i++) c[i] = r[i];                                     \
    }

UNARY_KERNELS(plain, )
UNARY_KERNELS(avx2, __attribute__((target("avx2,fma"))))
UNARY_KERNELS(avx512, __attribute__((target("avx512f,avx512vl,avx2,fma"))))
EPI_KERNEL(plain, )
EPI_KERNEL(avx2, __attribute__((target("avx2,fma"))))
#pragma GCC diagnostic pop
#pragma GCC pop_options

/* Elements per parallel task. */
#define UNARY_CHUNK 8192

/* 1 baseline, 2 AVX2 + FMA, 3 also AVX-512F + VL; found once (every thread finds the same
 * value) and capped by SDEGEN_GEMM_PATH=avx2 or =plain, as the matrix kernels are (gemm.h). */
static int isa_level(void) {
    static int cached;
    int c = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (!c) {
        __builtin_cpu_init();
        c = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 2 : 1;
        if (c == 2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) c = 3;
        const char *cap = getenv("SDEGEN_GEMM_PATH");
        if (cap && strcmp(cap, "plain") == 0) c = 1;
        else if (cap && strcmp(cap, "avx2") == 0 && c > 2) c = 2;
        __atomic_store_n(&cached, c, __ATOMIC_RELAXED);
    }
    return c;
}

static bool use_avx2(void) { return isa_level() >= 2; }

static void unary_fwd(int isa, sdg_unary fn, const float *x, float *y, int64_t n) {
    if (isa == 3) fwd_avx512(fn, x, y, n);
    else if (isa == 2) fwd_avx2(fn, x, y, n);
    else fwd_plain(fn, x, y, n);
}

void nn_epilogue(const float *p, int64_t n, float alpha, const float *bcol, float brow,
                 sdg_unary act, int acc, float *c) {
    if (use_avx2()) epi_avx2(p, n, alpha, bcol, brow, act, acc, c);
    else epi_plain(p, n, alpha, bcol, brow, act, acc, c);
}

void sdg_unary_run(sdg_unary fn, const float *x, float *y, int64_t n) {
    if ((unsigned)fn >= SDG_UNARY_COUNT) {
        if (x != y) memmove(y, x, (size_t)n * sizeof(float));
        return;
    }
    const int isa = isa_level();
    float tmp[UNARY_CHUNK / 8];
    for (int64_t lo = 0; lo < n; lo += UNARY_CHUNK / 8) {   /* via tmp: x and y may alias */
        int64_t len = n - lo < UNARY_CHUNK / 8 ? n - lo : UNARY_CHUNK / 8;
        unary_fwd(isa, fn, x + lo, tmp, len);
        memcpy(y + lo, tmp, (size_t)len * sizeof(float));
    }
}

/* x, y: any shape (same); x->grad += y->grad * f'(x, y). */
static void unary_backward(sdg_ctx *ctx, sdg_node *nd) {
    sdg_unary fn = (sdg_unary)nd->i[0];
    sdg_tensor *x = nd->in[0], *y = nd->out;
    if (!x->grad) return;
    const int isa = isa_level();
    const int64_t n = x->size, tasks = (n + UNARY_CHUNK - 1) / UNARY_CHUNK;
    #pragma omp parallel for if (n > SDG_PAR_MIN) schedule(static)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t lo = t * UNARY_CHUNK, len = n - lo < UNARY_CHUNK ? n - lo : UNARY_CHUNK;
        const float *xs = x->data + lo, *ys = y->data + lo, *gy = y->grad + lo;
        if (isa == 3) bwd_avx512(fn, xs, ys, gy, x->grad + lo, len);
        else if (isa == 2) bwd_avx2(fn, xs, ys, gy, x->grad + lo, len);
        else bwd_plain(fn, xs, ys, gy, x->grad + lo, len);
    }
    sdg_ctx_add_flops(ctx, SDG_OP_UNARY, 3.0 * (double)n);
}

/* x: any shape -> y: same shape, y = f(x). */
sdg_tensor *sdg_unary_apply(sdg_ctx *ctx, sdg_unary fn, sdg_tensor *x) {
    if (!nn_ok(ctx, 1, x)) return NULL;
    if ((unsigned)fn >= SDG_UNARY_COUNT)
        return nn_fail(ctx, SDG_ERR_INVALID, "unary: unknown function %d", (int)fn);
    sdg_tensor *y = nn_out(ctx, x->ndim, x->shape, 1, x);
    if (!y) return NULL;
    const int isa = isa_level();
    const int64_t n = x->size, tasks = (n + UNARY_CHUNK - 1) / UNARY_CHUNK;
    #pragma omp parallel for if (n > SDG_PAR_MIN) schedule(static)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t lo = t * UNARY_CHUNK, len = n - lo < UNARY_CHUNK ? n - lo : UNARY_CHUNK;
        unary_fwd(isa, fn, x->data + lo, y->data + lo, len);
    }
    sdg_ctx_add_flops(ctx, SDG_OP_UNARY, (double)n);
    sdg_node *nd = nn_record(ctx, SDG_OP_UNARY, unary_backward, y, 1, x);
    if (nd) nd->i[0] = fn;
    return y;
}
