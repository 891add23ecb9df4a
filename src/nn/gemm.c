/* The matrix-product engine (see gemm.h): OpenBLAS for large products, a register-blocked
 * kernel for batches of small ones (GDSS: 1024 graphs of 9 to 38 nodes).
 * The kernel computes C (M, N) (+)= A (M, K) B (K, N) where A is read element by element at
 * any strides (so a transposed A costs nothing) and B's rows are contiguous (a transposed B is
 * packed first, K*N floats, small next to the 2*M*N*K flops). Tiles of up to 6 rows by 16
 * columns stay in registers for the whole K loop; column tails use masked loads and stores.
 * An AVX2+FMA version is picked at run time when the CPU has it; otherwise a plain C loop. */
#include <cblas.h>
#include <immintrin.h>
#include <omp.h>
#include <string.h>
#include "nn/gemm.h"

/* Below this many flops a batch is not worth an OpenMP fork, nor a single product a split. */
#define NN_GEMM_PAR_FLOPS 65536.0
#define NN_GEMM_PAR_SPLIT 1048576.0
/* Items per OpenMP chunk in the kernel path. Dynamic scheduling: on a shared machine a
 * thread that starts late does not hold the whole batch back (results do not depend on it). */
#define NN_GEMM_CHUNK 16

typedef struct small_job {
    int64_t      M, N, K;
    const float *A;            /* element (i, k) at A[i * ars + k * acs] */
    int64_t      ars, acs;
    const float *B;            /* row k at B + k * ldb, contiguous        */
    int64_t      ldb;
    float       *C;            /* row i at C + i * ldc                    */
    int64_t      ldc;
    bool         acc;          /* C += (beta 1) or C = (beta 0)           */
} small_job;

/* ---- AVX2 + FMA kernel ---- */
#define AVX2_FN __attribute__((target("avx2,fma")))
#define TILE_MR 6

/* Rows [0, mr) by columns [0, 8 nv) of C, the last vector masked when masked. */
AVX2_FN __attribute__((always_inline)) static inline void
tile_avx2(const int mr, const int nv, const bool masked, __m256i mask, const small_job *j,
          const float *A, const float *B, float *C) {
    __m256 c[TILE_MR][2];
    for (int r = 0; r < TILE_MR; r++) c[r][0] = c[r][1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < j->K; k++) {
        const float *b = B + k * j->ldb;
        __m256 b0, b1 = _mm256_setzero_ps();
        if (nv == 1) {
            b0 = masked ? _mm256_maskload_ps(b, mask) : _mm256_loadu_ps(b);
        } else {
            b0 = _mm256_loadu_ps(b);
            b1 = masked ? _mm256_maskload_ps(b + 8, mask) : _mm256_loadu_ps(b + 8);
        }
        const float *a = A + k * j->acs;
        for (int r = 0; r < mr; r++) {
            __m256 ar = _mm256_broadcast_ss(a + r * j->ars);
            c[r][0] = _mm256_fmadd_ps(ar, b0, c[r][0]);
            if (nv == 2) c[r][1] = _mm256_fmadd_ps(ar, b1, c[r][1]);
        }
    }
    for (int r = 0; r < mr; r++) {
        for (int v = 0; v < nv; v++) {
            float *p = C + r * j->ldc + 8 * v;
            bool mv = masked && v == nv - 1;
            __m256 x = c[r][v];
            if (j->acc) x = _mm256_add_ps(x, mv ? _mm256_maskload_ps(p, mask) : _mm256_loadu_ps(p));
            if (mv) _mm256_maskstore_ps(p, mask, x);
            else _mm256_storeu_ps(p, x);
        }
    }
}

/* All column tiles of one block of mr rows starting at row i. */
AVX2_FN __attribute__((always_inline)) static inline void
rows_avx2(const int mr, const small_job *j, int64_t i) {
    const float *A = j->A + i * j->ars;
    float *C = j->C + i * j->ldc;
    const __m256i none = _mm256_setzero_si256();
    int64_t n = 0;
    for (; n + 16 <= j->N; n += 16) tile_avx2(mr, 2, false, none, j, A, j->B + n, C + n);
    int64_t rest = j->N - n;
    if (rest == 0) return;
    /* lanes [0, rest mod 8) on, or all on when rest is 8 or 16 */
    int on = (int)(rest % 8);
    __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(on), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    if (rest > 8) tile_avx2(mr, 2, on != 0, mask, j, A, j->B + n, C + n);
    else tile_avx2(mr, 1, on != 0, mask, j, A, j->B + n, C + n);
}

AVX2_FN static void small_avx2(const small_job *j) {
    int64_t i = 0;
    /* Row blocks: 6 at a time; a 9-row matrix (QM9) goes 6 + 3, an 8-row one 4 + 4. */
    if (j->M % TILE_MR != 0 && j->M % 4 == 0) {
        for (; i < j->M; i += 4) rows_avx2(4, j, i);
        return;
    }
    for (; i + TILE_MR <= j->M; i += TILE_MR) rows_avx2(TILE_MR, j, i);
    switch (j->M - i) {
    case 5: rows_avx2(5, j, i); break;
    case 4: rows_avx2(4, j, i); break;
    case 3: rows_avx2(3, j, i); break;
    case 2: rows_avx2(2, j, i); break;
    case 1: rows_avx2(1, j, i); break;
    default: break;
    }
}

/* C (M, N) (+)= A (M, K) B^T with B stored (N, K): dot products along K, both operands read
 * as contiguous rows (no packing). Tiles of 2 rows x 4 columns keep 8 accumulators; a
 * horizontal-add tree turns them into the tile's 8 sums. Rows and columns past the edge
 * repeat the last one and are not stored. For narrow outputs with long K (bmm's da = dy b^T
 * at GDSS shapes: 9 x 9 outputs, K = F). */
AVX2_FN static void dot_avx2(const small_job *j, const float *B, int64_t ldb) {
    const int64_t M = j->M, N = j->N, K = j->K, kr = K % 8, k8 = K - kr;
    const __m256i kmask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)kr),
                                             _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (int64_t i = 0; i < M; i += 2) {
        const float *a0 = j->A + i * j->ars, *a1 = j->A + (i + 1 < M ? i + 1 : i) * j->ars;
        for (int64_t jb = 0; jb < N; jb += 4) {
            const float *b[4];
            for (int q = 0; q < 4; q++) b[q] = B + (jb + q < N ? jb + q : N - 1) * ldb;
            __m256 c[8];
            for (int q = 0; q < 8; q++) c[q] = _mm256_setzero_ps();
            for (int64_t k = 0; k < k8; k += 8) {
                __m256 x0 = _mm256_loadu_ps(a0 + k), x1 = _mm256_loadu_ps(a1 + k);
                for (int q = 0; q < 4; q++) {
                    __m256 y = _mm256_loadu_ps(b[q] + k);
                    c[q] = _mm256_fmadd_ps(x0, y, c[q]);
                    c[4 + q] = _mm256_fmadd_ps(x1, y, c[4 + q]);
                }
            }
            if (kr) {
                __m256 x0 = _mm256_maskload_ps(a0 + k8, kmask), x1 = _mm256_maskload_ps(a1 + k8, kmask);
                for (int q = 0; q < 4; q++) {
                    __m256 y = _mm256_maskload_ps(b[q] + k8, kmask);
                    c[q] = _mm256_fmadd_ps(x0, y, c[q]);
                    c[4 + q] = _mm256_fmadd_ps(x1, y, c[4 + q]);
                }
            }
            __m256 u0 = _mm256_hadd_ps(_mm256_hadd_ps(c[0], c[1]), _mm256_hadd_ps(c[2], c[3]));
            __m256 u1 = _mm256_hadd_ps(_mm256_hadd_ps(c[4], c[5]), _mm256_hadd_ps(c[6], c[7]));
            __m256 sum = _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
                                       _mm256_permute2f128_ps(u0, u1, 0x31));
            int64_t nc = N - jb < 4 ? N - jb : 4;
            __m128i cmask = _mm_cmpgt_epi32(_mm_set1_epi32((int)nc), _mm_setr_epi32(0, 1, 2, 3));
            for (int r = 0; r < 2 && i + r < M; r++) {
                float *p = j->C + (i + r) * j->ldc + jb;
                __m128 v = r ? _mm256_extractf128_ps(sum, 1) : _mm256_castps256_ps128(sum);
                if (nc == 4) {
                    if (j->acc) v = _mm_add_ps(v, _mm_loadu_ps(p));
                    _mm_storeu_ps(p, v);
                } else {
                    if (j->acc) v = _mm_add_ps(v, _mm_maskload_ps(p, cmask));
                    _mm_maskstore_ps(p, cmask, v);
                }
            }
        }
    }
}

/* ---- portable kernel (vectorised by the compiler for the baseline ISA) ---- */
static void small_plain(const small_job *j) {
    for (int64_t i = 0; i < j->M; i++) {
        float *c = j->C + i * j->ldc;
        if (!j->acc) memset(c, 0, (size_t)j->N * sizeof(float));
        for (int64_t k = 0; k < j->K; k++) {
            float a = j->A[i * j->ars + k * j->acs];
            const float *b = j->B + k * j->ldb;
            for (int64_t n = 0; n < j->N; n++) c[n] += a * b[n];
        }
    }
}

static bool cpu_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/* B (N, K) with row stride ldb -> packed B^T (K, N). */
static void pack_transpose(int64_t N, int64_t K, const float *B, int64_t ldb, float *out) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = 0; k < K; k++) out[k * N + n] = B[n * ldb + k];
}

/* ---- OpenBLAS, always single-threaded: OpenMP does the splitting ----
 * Running OpenBLAS's own pthreads next to OpenMP's costs a factor of 10 to 30 on two cores:
 * each runtime's idle threads spin (OpenBLAS for up to 2^28 cycles, libgomp for its spin
 * count) while the other one works. So every product runs on OpenMP threads only. */
static void blas_single(void) {
    if (!omp_in_parallel() && openblas_get_num_threads() != 1) openblas_set_num_threads(1);
}

static void blas_call(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float *A,
                      int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)M, (int)N, (int)K, 1.0f, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

static void zero_or_keep(int64_t M, int64_t N, float beta, float *C, int64_t ldc) {
    if (beta != 0.0f) return;
    for (int64_t i = 0; i < M; i++) memset(C + i * ldc, 0, (size_t)N * sizeof(float));
}

/* Part p of np of [0, n), boundaries on multiples of 16 (whole kernel tiles). */
static void split_range(int64_t n, int p, int np, int64_t *lo, int64_t *hi) {
    int64_t tiles = (n + 15) / 16;
    *lo = tiles * p / np * 16;
    *hi = tiles * (p + 1) / np * 16;
    if (*lo > n) *lo = n;
    if (*hi > n) *hi = n;
}

/* How many row (or, for a wide C, column) blocks a product is cut into. A function of the
 * shape only: OpenBLAS's bits depend on the block shapes, so the blocks must not depend on
 * the thread count. */
static int gemm_blocks(int64_t M, int64_t N, int64_t K, bool *rows) {
    *rows = M >= N;
    int64_t extent = *rows ? M : N, nb = extent / 32;
    if (2.0 * (double)M * (double)N * (double)K < NN_GEMM_PAR_SPLIT || nb < 1) return 1;
    return nb > 8 ? 8 : (int)nb;
}

/* count products of shape (M, N, K), items sa, sb, sc apart, each cut into gemm_blocks
 * blocks; OpenMP over all (item, block) pairs, taken dynamically. */
static void gemm_tasks(int64_t count, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
                       const float *A, int64_t sa, int64_t lda, const float *B, int64_t sb,
                       int64_t ldb, float beta, float *C, int64_t sc, int64_t ldc) {
    bool rows;
    int nb = gemm_blocks(M, N, K, &rows);
    int64_t tasks = count * nb;
    blas_single();
    bool par = !omp_in_parallel() && omp_get_max_threads() > 1 && tasks > 1;
    #pragma omp parallel for schedule(dynamic, 1) if (par)
    for (int64_t t = 0; t < tasks; t++) {
        const float *a = A + (t / nb) * sa, *b = B + (t / nb) * sb;
        float *c = C + (t / nb) * sc;
        int64_t lo, hi;
        split_range(rows ? M : N, (int)(t % nb), nb, &lo, &hi);
        if (hi > lo && rows)
            blas_call(ta, tb, hi - lo, N, K, ta ? a + lo : a + lo * lda, lda, b, ldb, beta,
                      c + lo * ldc, ldc);
        else if (hi > lo)
            blas_call(ta, tb, M, hi - lo, K, a, lda, tb ? b + lo * ldb : b + lo, ldb, beta,
                      c + lo, ldc);
    }
}

void nn_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
             const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M == 0 || N == 0) return;
    if (K == 0) {
        zero_or_keep(M, N, beta, C, ldc);
        return;
    }
    gemm_tasks(1, ta, tb, M, N, K, A, 0, lda, B, 0, ldb, beta, C, 0, ldc);
}

bool nn_gemm_batched(sdg_ctx *ctx, bool ta, bool tb, int64_t count, int64_t M, int64_t N,
                     int64_t K, const float *A, int64_t sa, const float *B, int64_t sb,
                     float beta, float *C, int64_t sc) {
    if (count == 0 || M == 0 || N == 0) return true;
    int64_t lda = ta ? M : K, ldb = tb ? K : N;
    if (K == 0) {
        for (int64_t b = 0; b < count; b++) zero_or_keep(M, N, beta, C + b * sc, N);
        return true;
    }
    double work = (double)M * (double)N * (double)K;
    int nt = omp_get_max_threads();
    bool avx2 = cpu_has_avx2();
    if (work > NN_GEMM_KERNEL_MAX_WORK) {   /* OpenBLAS per item (and per block of a large item) */
        gemm_tasks(count, ta, tb, M, N, K, A, sa, lda, B, sb, ldb, beta, C, sc, N);
        return true;
    }
    /* Register-blocked kernel, OpenMP over the items. A transposed B is packed per item
     * (once when shared) into per-thread scratch. */
    bool par = (double)count * work * 2.0 > NN_GEMM_PAR_FLOPS && count > 1;
    int slots = par ? nt : 1;
    /* a transposed B with K >= N: dot products instead of packing */
    bool dot = avx2 && tb && K >= N;
    float *packed = NULL;
    if (tb && !dot) {
        packed = nn_alloc(ctx, (size_t)(slots + 1) * (size_t)(K * N) * sizeof(float));
        if (!packed) return false;
        if (sb == 0) pack_transpose(N, K, B, ldb, packed + (size_t)slots * (size_t)(K * N));
    }
    #pragma omp parallel if (par)
    {
        float *mine = packed ? packed + (size_t)omp_get_thread_num() * (size_t)(K * N) : NULL;
        #pragma omp for schedule(dynamic, NN_GEMM_CHUNK)
        for (int64_t b = 0; b < count; b++) {
            small_job j = {.M = M, .N = N, .K = K, .A = A + b * sa, .ars = ta ? 1 : lda,
                           .acs = ta ? lda : 1, .B = B + b * sb, .ldb = N, .C = C + b * sc,
                           .ldc = N, .acc = beta != 0.0f};
            if (dot) {
                dot_avx2(&j, B + b * sb, ldb);
                continue;
            }
            if (tb && sb == 0) {
                j.B = packed + (size_t)slots * (size_t)(K * N);
            } else if (tb) {
                pack_transpose(N, K, B + b * sb, ldb, mine);
                j.B = mine;
            }
            if (avx2) small_avx2(&j);
            else small_plain(&j);
        }
    }
    return true;
}
