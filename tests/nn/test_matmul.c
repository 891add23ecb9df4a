/* matmul and bmm: finite-difference gradients for every operand, values (forward and
 * backward) against a naive double-precision reference on each code path (register kernel,
 * per-item OpenBLAS, shared right operand), thread-count independence, shape errors. */
#define _GNU_SOURCE   /* dladdr */
#include <dlfcn.h>
#include "test_util.h"

/* ---- gradient checks ---- */
typedef struct { bool ta, tb; } mm_flags;
static sdg_tensor *f_matmul(sdg_ctx *c, sdg_tensor **in, void *u) {
    const mm_flags *f = u;
    return sdg_matmul(c, in[0], in[1], f->ta, f->tb);
}
static sdg_tensor *f_bmm(sdg_ctx *c, sdg_tensor **in, void *u) { (void)u; return sdg_bmm(c, in[0], in[1]); }

static void test_grad_matmul(void) {
    for (int t = 0; t < 4; t++) {
        mm_flags fl = {t & 1, (t >> 1) & 1};
        int64_t M = 3, K = 4, N = 5;
        gc_spec sp = {.n_in = 2};
        if (fl.ta) GC_SHAPE(sp, 0, 2, K, M); else GC_SHAPE(sp, 0, 2, M, K);
        if (fl.tb) GC_SHAPE(sp, 1, 2, N, K); else GC_SHAPE(sp, 1, 2, K, N);
        char label[64];
        snprintf(label, sizeof label, "matmul ta=%d tb=%d", fl.ta, fl.tb);
        CU_ASSERT_EQUAL(sdg_gradcheck(label, f_matmul, &fl, &sp, 10 + t), 0);
    }
}

static void bmm_grad(const char *label, int nda, const int64_t *sa, int ndb, const int64_t *sb,
                     int max_checks, uint64_t seed) {
    gc_spec sp = {.n_in = 2, .max_checks = max_checks};
    sp.ndim[0] = nda;
    sp.ndim[1] = ndb;
    for (int d = 0; d < nda; d++) sp.shape[0][d] = sa[d];
    for (int d = 0; d < ndb; d++) sp.shape[1][d] = sb[d];
    CU_ASSERT_EQUAL(sdg_gradcheck(label, f_bmm, NULL, &sp, seed), 0);
}

static void test_grad_bmm(void) {
    bmm_grad("bmm 3-D", 3, (int64_t[]){2, 3, 4}, 3, (int64_t[]){2, 4, 5}, 0, 21);
    bmm_grad("bmm 4-D", 4, (int64_t[]){2, 2, 3, 4}, 4, (int64_t[]){2, 2, 4, 5}, 0, 22);
    bmm_grad("bmm shared b", 4, (int64_t[]){2, 3, 3, 4}, 2, (int64_t[]){4, 5}, 0, 23);
    bmm_grad("bmm 2-D", 2, (int64_t[]){3, 4}, 2, (int64_t[]){4, 5}, 0, 24);
    /* GDSS QM9 shapes: A (B, 9, 9) @ H (B, 9, 16), register kernel with column tails */
    bmm_grad("bmm kernel 9x9x16", 3, (int64_t[]){3, 9, 9}, 3, (int64_t[]){3, 9, 16}, 60, 25);
    bmm_grad("bmm kernel 4-D 9x9x20", 4, (int64_t[]){2, 2, 9, 9}, 4, (int64_t[]){2, 2, 9, 20}, 60, 26);
    /* per-item products too large for the register kernel: the OpenBLAS path */
    bmm_grad("bmm blas 70x64x70", 3, (int64_t[]){2, 70, 64}, 3, (int64_t[]){2, 64, 70}, 40, 27);
    bmm_grad("bmm shared b blas", 3, (int64_t[]){3, 70, 64}, 2, (int64_t[]){64, 70}, 40, 28);
}

/* ---- values against a naive reference ---- */
/* Checks y = a @ b, da = dy b^T, db = a^T dy (summed over the batch when b is shared) for
 * cnt items of (M, K) @ (K, N), seeding dy at random; returns the worst relative error. */
static double bmm_check(int64_t cnt, int64_t M, int64_t K, int64_t N, bool shared) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    int64_t na = cnt * M * K, nb = (shared ? 1 : cnt) * K * N, ny = cnt * M * N;
    sdg_tensor *a = sdg_tensor_newv(ctx, 3, cnt, M, K);
    sdg_tensor *b = shared ? sdg_tensor_newv(ctx, 2, K, N) : sdg_tensor_newv(ctx, 3, cnt, K, N);
    CU_ASSERT_FATAL(a && b);
    sdg_test_fill(a->data, na, 1);
    sdg_test_fill(b->data, nb, 2);
    sdg_tensor_requires_grad(ctx, a);
    sdg_tensor_requires_grad(ctx, b);
    sdg_tensor *y = sdg_bmm(ctx, a, b);
    CU_ASSERT_FATAL(y != NULL);
    sdg_test_fill(y->grad, ny, 3);
    CU_ASSERT_FATAL(sdg_backward(ctx, y) == SDG_OK);
    double *ry = calloc((size_t)ny, sizeof(double)), *ra = calloc((size_t)na, sizeof(double));
    double *rb = calloc((size_t)nb, sizeof(double));
    for (int64_t c = 0; c < cnt; c++) {
        const float *A = a->data + c * M * K, *B = b->data + (shared ? 0 : c) * K * N;
        const float *G = y->grad + c * M * N;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                for (int64_t k = 0; k < K; k++) {
                    ry[c * M * N + i * N + j] += (double)A[i * K + k] * B[k * N + j];
                    ra[c * M * K + i * K + k] += (double)G[i * N + j] * B[k * N + j];
                    rb[(shared ? 0 : c) * K * N + k * N + j] += (double)A[i * K + k] * G[i * N + j];
                }
    }
    double e = fmax(sdg_test_rel_err(y->data, ry, ny), fmax(sdg_test_rel_err(a->grad, ra, na), sdg_test_rel_err(b->grad, rb, nb)));
    free(ry);
    free(ra);
    free(rb);
    sdg_ctx_free(ctx);
    return e;
}

static void test_values_kernel(void) {
    /* Every row block (AVX2: 1..6, 4 + 4; AVX-512: 1..12, balanced blocks of 13, 24, 25, 38),
     * column tail (AVX2: masked < 8, 8, 16 + masked, 16 + 8; AVX-512: 256-bit <= 8, 512-bit
     * masked 9..16, two vectors 17..32, 32 + tails) and, for da = dy b^T (M x K outputs, K as
     * the product's columns, N as its depth): the unpacked 8 / 9 column kernel (K 8, 9 with
     * M <= 12, depth tails N % 8), packed products with 1 or 2 columns by dot products (K 9
     * with M 13, 10, 17, 18) and without (K 13). ctest runs this file once per kernel path
     * (SDEGEN_GEMM_PATH unset, avx2, plain: tests/CMakeLists.txt). */
    const int64_t Ms[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 24, 25, 38};
    const int64_t Ns[] = {1, 5, 8, 9, 16, 20, 24, 33, 72};
    const int64_t Ks[] = {1, 8, 9, 10, 13, 17, 18};
    for (size_t i = 0; i < sizeof Ms / sizeof *Ms; i++)
        for (size_t j = 0; j < sizeof Ns / sizeof *Ns; j++)
            for (size_t k = 0; k < sizeof Ks / sizeof *Ks; k++) {
                double e = bmm_check(3, Ms[i], Ks[k], Ns[j], false);
                if (e > 1e-4) printf("kernel M %lld K %lld N %lld: %g\n", (long long)Ms[i],
                                     (long long)Ks[k], (long long)Ns[j], e);
                CU_ASSERT(e <= 1e-4);
            }
    /* the GDSS shape in parallel: 64 graphs of 9 nodes, F = 32 */
    CU_ASSERT(bmm_check(64, 9, 9, 32, false) <= 1e-4);
    CU_ASSERT(bmm_check(64, 38, 38, 40, false) <= 1e-4);
    CU_ASSERT(bmm_check(64, 9, 9, 72, false) <= 1e-4);
    CU_ASSERT(bmm_check(40, 9, 17, 16, false) <= 1e-4);
}

static void test_values_blas(void) {
    CU_ASSERT(bmm_check(1, 70, 64, 70, false) <= 1e-4);   /* fewer items than threads */
    CU_ASSERT(bmm_check(4, 70, 64, 70, false) <= 1e-4);   /* single-threaded sgemm per item */
    CU_ASSERT(bmm_check(3, 130, 100, 90, false) <= 1e-4);
}

static void test_values_shared(void) {
    CU_ASSERT(bmm_check(64, 9, 16, 32, true) <= 1e-4);
    CU_ASSERT(bmm_check(5, 70, 64, 70, true) <= 1e-4);
}

static void test_values_matmul(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    const int64_t M = 37, K = 29, N = 41;
    for (int t = 0; t < 4; t++) {
        bool ta = t & 1, tb = t >> 1;
        sdg_tensor *a = ta ? sdg_tensor_newv(ctx, 2, K, M) : sdg_tensor_newv(ctx, 2, M, K);
        sdg_tensor *b = tb ? sdg_tensor_newv(ctx, 2, N, K) : sdg_tensor_newv(ctx, 2, K, N);
        sdg_test_fill(a->data, M * K, 4 + t);
        sdg_test_fill(b->data, K * N, 8 + t);
        sdg_tensor *y = sdg_matmul(ctx, a, b, ta, tb);
        CU_ASSERT_FATAL(y && y->shape[0] == M && y->shape[1] == N);
        double *ref = calloc((size_t)(M * N), sizeof(double));
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                for (int64_t k = 0; k < K; k++)
                    ref[i * N + j] += (double)a->data[ta ? k * M + i : i * K + k] *
                                      b->data[tb ? j * K + k : k * N + j];
        CU_ASSERT(sdg_test_rel_err(y->data, ref, M * N) <= 1e-4);
        free(ref);
    }
    sdg_ctx_free(ctx);
}

/* Backward accumulates: a second pass over the same seed doubles the gradients.
 * Paths: bmm on the kernel, bmm with a shared b, matmul with a transposed a. */
static void test_accumulates(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    for (int path = 0; path < 3; path++) {
        sdg_ctx_reset(ctx);
        sdg_tensor *a = path == 2 ? sdg_tensor_newv(ctx, 2, (int64_t)9, (int64_t)9)
                                  : sdg_tensor_newv(ctx, 3, (int64_t)4, (int64_t)9, (int64_t)9);
        sdg_tensor *b = path == 0 ? sdg_tensor_newv(ctx, 3, (int64_t)4, (int64_t)9, (int64_t)16)
                                  : sdg_tensor_newv(ctx, 2, (int64_t)9, (int64_t)16);
        sdg_test_fill(a->data, a->size, 1);
        sdg_test_fill(b->data, b->size, 2);
        sdg_tensor_requires_grad(ctx, a);
        sdg_tensor_requires_grad(ctx, b);
        sdg_tensor *y = path == 2 ? sdg_matmul(ctx, a, b, true, false) : sdg_bmm(ctx, a, b);
        CU_ASSERT_FATAL(y != NULL);
        sdg_test_fill(y->grad, y->size, 3);
        CU_ASSERT_FATAL(sdg_backward(ctx, y) == SDG_OK);
        float *g1 = malloc((size_t)(a->size + b->size) * sizeof(float));
        memcpy(g1, a->grad, (size_t)a->size * sizeof(float));
        memcpy(g1 + a->size, b->grad, (size_t)b->size * sizeof(float));
        CU_ASSERT_FATAL(sdg_backward(ctx, y) == SDG_OK);
        double e = 0;
        for (int64_t i = 0; i < a->size; i++) e = fmax(e, fabs(a->grad[i] - 2 * g1[i]));
        for (int64_t i = 0; i < b->size; i++) e = fmax(e, fabs(b->grad[i] - 2 * g1[a->size + i]));
        CU_ASSERT(e <= 1e-5);
        free(g1);
    }
    sdg_ctx_free(ctx);
}

/* The same bits with 1 and 2 threads, on the kernel, per-item OpenBLAS and shared paths. */
static void run_bmm(int threads, int64_t cnt, int64_t M, int64_t K, int64_t N, bool shared,
                    float *out) {
    sdg_set_num_threads(threads);
    sdg_ctx *ctx = NULL;
    sdg_ctx_new(0, &ctx);
    sdg_tensor *a = sdg_tensor_newv(ctx, 3, cnt, M, K);
    sdg_tensor *b = shared ? sdg_tensor_newv(ctx, 2, K, N) : sdg_tensor_newv(ctx, 3, cnt, K, N);
    sdg_test_fill(a->data, a->size, 11);
    sdg_test_fill(b->data, b->size, 12);
    sdg_tensor_requires_grad(ctx, a);
    sdg_tensor_requires_grad(ctx, b);
    sdg_tensor *y = sdg_bmm(ctx, a, b);
    sdg_test_fill(y->grad, y->size, 13);
    sdg_backward(ctx, y);
    memcpy(out, y->data, (size_t)y->size * sizeof(float));
    memcpy(out + y->size, a->grad, (size_t)a->size * sizeof(float));
    memcpy(out + y->size + a->size, b->grad, (size_t)b->size * sizeof(float));
    sdg_ctx_free(ctx);
}

static void test_thread_independent(void) {
    const int64_t cases[][5] = {{256, 9, 9, 32, 0}, {4, 100, 90, 80, 0}, {1, 200, 150, 120, 0},
                                {64, 30, 40, 50, 1}, {256, 9, 17, 16, 0}, {96, 38, 38, 40, 0}};
    int saved = sdg_num_threads();
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const int64_t *s = cases[c];
        int64_t n = s[0] * s[1] * s[3] + s[0] * s[1] * s[2] + (s[4] ? 1 : s[0]) * s[2] * s[3];
        float *o1 = malloc((size_t)n * sizeof(float)), *o2 = malloc((size_t)n * sizeof(float));
        run_bmm(1, s[0], s[1], s[2], s[3], s[4], o1);
        run_bmm(2, s[0], s[1], s[2], s[3], s[4], o2);
        CU_ASSERT(memcmp(o1, o2, (size_t)n * sizeof(float)) == 0);
        free(o1);
        free(o2);
    }
    sdg_set_num_threads(saved);
}

static void test_shape_errors(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *a = sdg_tensor_newv(ctx, 2, (int64_t)3, (int64_t)4);
    sdg_tensor *b = sdg_tensor_newv(ctx, 2, (int64_t)5, (int64_t)6);
    CU_ASSERT_PTR_NULL(sdg_matmul(ctx, a, b, false, false));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_SHAPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "[3,4]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "[5,6]"));
    sdg_ctx_reset(ctx);
    /* (3,4)^T with (5,6)^T: K 3 vs 6 */
    a = sdg_tensor_newv(ctx, 2, (int64_t)3, (int64_t)4);
    b = sdg_tensor_newv(ctx, 2, (int64_t)5, (int64_t)6);
    CU_ASSERT_PTR_NULL(sdg_matmul(ctx, a, b, true, true));
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "matmul"));
    sdg_ctx_reset(ctx);
    const int64_t bad[][2][5] = {
        {{3, 2, 3, 4}, {3, 3, 4, 5}},   /* batch dims differ */
        {{3, 2, 3, 4}, {3, 2, 5, 5}},   /* inner dims differ */
        {{4, 2, 2, 3, 4}, {3, 2, 4, 5}},/* rank differs, b not 2-D */
        {{3, 2, 3, 4}, {2, 5, 5}},      /* shared b, inner differs */
        {{3, 2, 3, 4}, {1, 4}},         /* b 1-D */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sdg_tensor *x = sdg_tensor_new(ctx, (int)bad[i][0][0], bad[i][0] + 1);
        sdg_tensor *w = sdg_tensor_new(ctx, (int)bad[i][1][0], bad[i][1] + 1);
        char s1[64], s2[64];
        sdg_tensor_shape_str(x, s1, sizeof s1);
        sdg_tensor_shape_str(w, s2, sizeof s2);
        CU_ASSERT_PTR_NULL(sdg_bmm(ctx, x, w));
        CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_SHAPE);
        CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "bmm"));
        CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), s1));
        CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), s2));
        sdg_ctx_reset(ctx);
    }
    /* NULL in, NULL out; no grad mode records nothing */
    CU_ASSERT_PTR_NULL(sdg_bmm(ctx, NULL, a));
    sdg_ctx_reset(ctx);
    sdg_ctx_free(ctx);
}

/* cblas_sgemm must come from OpenBLAS: gsl.pc also links GSL's reference CBLAS, 20 to 40
 * times slower, and whichever library is loaded first provides the symbol. */
static void test_blas_is_openblas(void) {
    void *f = dlsym(RTLD_DEFAULT, "cblas_sgemm");
    Dl_info info;
    CU_ASSERT_FATAL(f != NULL && dladdr(f, &info) != 0);
    if (!strstr(info.dli_fname, "openblas")) printf("cblas_sgemm comes from %s\n", info.dli_fname);
    CU_ASSERT_PTR_NOT_NULL(strstr(info.dli_fname, "openblas"));
}

static void test_flops(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *a = sdg_tensor_requires_grad(ctx, sdg_tensor_newv(ctx, 3, (int64_t)2, (int64_t)3, (int64_t)4));
    sdg_tensor *b = sdg_tensor_requires_grad(ctx, sdg_tensor_newv(ctx, 3, (int64_t)2, (int64_t)4, (int64_t)5));
    sdg_test_fill(a->data, a->size, 1);
    sdg_test_fill(b->data, b->size, 2);
    sdg_tensor *y = sdg_bmm(ctx, a, b);
    CU_ASSERT_DOUBLE_EQUAL(sdg_ctx_flops(ctx, SDG_OP_BMM), 2.0 * 2 * 3 * 4 * 5, 0);
    sdg_test_fill(y->grad, y->size, 3);
    sdg_backward(ctx, y);
    CU_ASSERT_DOUBLE_EQUAL(sdg_ctx_flops(ctx, SDG_OP_BMM), 3 * 2.0 * 2 * 3 * 4 * 5, 0);
    sdg_ctx_free(ctx);
}


/* ---- sdg_gemm_run: the raw kernel with its epilogue, against a double reference ---- */
static double act_ref(sdg_unary act, double v) {
    if (act == SDG_UNARY_TANH) return tanh(v);
    if (act == SDG_UNARY_ELU) return v > 0 ? v : expm1(v);
    if (act == SDG_UNARY_RELU) return v > 0 ? v : 0;
    return v;
}

static void test_gemm_run(void) {
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(77, &rng) == SDG_OK);
    const sdg_unary acts[4] = {SDG_UNARY_NONE, SDG_UNARY_TANH, SDG_UNARY_ELU, SDG_UNARY_RELU};
    double worst = 0;
    for (int t = 0; t < 120; t++) {
        const int64_t M = 1 + (int64_t)sdg_rng_uint(rng, 30), N = 1 + (int64_t)sdg_rng_uint(rng, t % 5 ? 40 : 300);
        const int64_t K = (int64_t)sdg_rng_uint(rng, 45), pad = (int64_t)sdg_rng_uint(rng, 3);
        const bool ta = sdg_rng_uint(rng, 2);
        const int64_t lda = (ta ? M : K) + pad, ldb = N + pad, ldc = N + pad;
        const int64_t arows = ta ? K : M;
        float *A = malloc((size_t)(arows * lda + 1) * 4), *B = malloc((size_t)(K * ldb + 1) * 4);
        float *C = malloc((size_t)(M * ldc) * 4), *C0 = malloc((size_t)(M * ldc) * 4);
        float *bias = malloc((size_t)(M > N ? M : N) * 4);
        sdg_rng_fill_uniform(rng, A, (size_t)(arows * lda + 1), -1, 1);
        sdg_rng_fill_uniform(rng, B, (size_t)(K * ldb + 1), -1, 1);
        sdg_rng_fill_uniform(rng, C0, (size_t)(M * ldc), -1, 1);
        sdg_rng_fill_uniform(rng, bias, (size_t)(M > N ? M : N), -1, 1);
        memcpy(C, C0, (size_t)(M * ldc) * 4);
        sdg_gemm_desc g = {.M = M, .N = N, .K = K, .A = A, .lda = lda, .ta = ta, .B = B, .ldb = ldb,
                           .C = C, .ldc = ldc, .alpha = t % 3 ? 0.7f : 1.0f,
                           .bias = t % 4 ? bias : NULL, .bias_rows = t % 4 == 2,
                           .act = acts[t % 4 == 3 ? 0 : (t / 4) % 4], .acc = (sdg_gemm_acc)((t / 16) % 3)};
        CU_ASSERT(sdg_gemm_run(&g) == SDG_OK);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double v = 0, mag = 1;
                for (int64_t k = 0; k < K; k++) {
                    double a = ta ? A[k * lda + i] : A[i * lda + k];
                    v += a * B[k * ldb + j];
                    mag += fabs(a * B[k * ldb + j]);
                }
                v = g.alpha * v + (g.bias ? (g.bias_rows ? bias[i] : bias[j]) : 0.0);
                double c0 = C0[i * ldc + j];
                if (g.acc == SDG_GEMM_ACC_INNER) v += c0;
                v = act_ref(g.act, v);
                if (g.acc == SDG_GEMM_ACC_OUTER) v += c0;
                double err = fabs(v - C[i * ldc + j]) / (mag + fabs(c0));
                if (err > worst) worst = err;
            }
        for (int64_t i = 0; i < M; i++)   /* padding untouched */
            for (int64_t j = N; j < ldc; j++) CU_ASSERT(C[i * ldc + j] == C0[i * ldc + j]);
        free(A); free(B); free(C); free(C0); free(bias);
    }
    printf("\n  gemm_run: worst relative error %.2e", worst);
    CU_ASSERT(worst < 2e-6);
    sdg_gemm_desc bad = {.M = 1, .N = 1, .K = 1, .alpha = 1, .act = SDG_UNARY_SIN};
    CU_ASSERT(sdg_gemm_run(&bad) == SDG_ERR_INVALID);
    sdg_rng_free(rng);
    /* sdg_unary_run in place */
    float x[37], y[37];
    for (int i = 0; i < 37; i++) x[i] = y[i] = (float)(i - 18) / 5.0f;
    sdg_unary_run(SDG_UNARY_TANH, y, y, 37);
    for (int i = 0; i < 37; i++) CU_ASSERT(fabs(y[i] - tanh(x[i])) < 1e-6);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"matmul gradient (4 transpose combinations)", test_grad_matmul},
        {"bmm gradient (3-D, 4-D, shared, kernel, blas)", test_grad_bmm},
        {"bmm values: register kernel", test_values_kernel},
        {"bmm values: OpenBLAS per item", test_values_blas},
        {"bmm values: shared b", test_values_shared},
        {"matmul values (4 transpose combinations)", test_values_matmul},
        {"backward accumulates", test_accumulates},
        {"same bits for 1 and 2 threads", test_thread_independent},
        {"shape errors name both shapes", test_shape_errors},
        {"FLOP counter", test_flops},
        {"gemm_run: kernel with bias, activation, accumulation", test_gemm_run},
        {"cblas_sgemm resolves to OpenBLAS", test_blas_is_openblas},
        {NULL, NULL},
    };
    return sdg_test_main("nn/matmul", cases);
}
