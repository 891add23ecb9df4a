/* The matrix-product engine (see gemm.h): OpenBLAS for large products, a register-blocked
 * kernel for batches of small ones (GDSS: 1024 graphs of 9 to 38 nodes).
 * The kernel computes C (M, N) (+)= A (M, K) B (K, N) where A is read element by element at
 * any strides (so a transposed A costs nothing) and B's rows are contiguous (a transposed B is
 * packed first, K*N floats, small next to the 2*M*N*K flops). Tiles of up to 6 rows by 16
 * columns (AVX2) or 12 rows by 32 columns (AVX-512) stay in registers for the whole K loop;
 * column tails use masked loads and stores. A transposed B with 8 or 9 columns (bmm's
 * da = dy b^T at QM9 shapes) is transposed in registers instead of packed. The AVX-512F or
 * AVX2+FMA version is picked at run time from the CPU (SDEGEN_GEMM_PATH caps it, gemm.h);
 * otherwise a plain C loop. */
#include <cblas.h>
#include <immintrin.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "nn/gemm.h"

/* Below this many flops a batch is not worth an OpenMP fork, nor a single product a split. */
#define NN_GEMM_PAR_FLOPS 65536.0
#define NN_GEMM_PAR_SPLIT 1048576.0
/* Items per OpenMP chunk in the kernel path. Dynamic scheduling: on a shared machine a
 * thread that starts late does not hold the whole batch back (results do not depend on it). */
#define NN_GEMM_CHUNK 16
/* Floats of transposed B packed ahead per thread (a group of up to NN_GEMM_CHUNK items). */
#define NN_GEMM_PACK_FLOATS 8192

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

/* In-register 8 x 8 transpose (unpack, shuffle, lane permute): on entry r[q] holds row q, on
 * return it holds column q. Inlined into the AVX2 and the AVX-512 kernels alike. */
AVX2_FN __attribute__((always_inline)) static inline void transpose8x8_avx2(__m256 r[8]) {
    __m256 t[8], u[8];
#pragma GCC unroll 8
    for (int q = 0; q < 8; q += 2) {
        t[q] = _mm256_unpacklo_ps(r[q], r[q + 1]);
        t[q + 1] = _mm256_unpackhi_ps(r[q], r[q + 1]);
    }
#pragma GCC unroll 8
    for (int q = 0; q < 8; q += 4) {
        u[q] = _mm256_shuffle_ps(t[q], t[q + 2], 0x44);
        u[q + 1] = _mm256_shuffle_ps(t[q], t[q + 2], 0xee);
        u[q + 2] = _mm256_shuffle_ps(t[q + 1], t[q + 3], 0x44);
        u[q + 3] = _mm256_shuffle_ps(t[q + 1], t[q + 3], 0xee);
    }
#pragma GCC unroll 8
    for (int q = 0; q < 4; q++) {
        r[q] = _mm256_permute2f128_ps(u[q], u[q + 4], 0x20);
        r[q + 4] = _mm256_permute2f128_ps(u[q], u[q + 4], 0x31);
    }
}

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

/* ---- AVX-512F kernel ----
 * The same scheme with 16-lane vectors and 32 registers: tiles of up to 12 rows by 32 columns
 * (24 accumulators), A broadcast per element, column tails through AVX-512 masks (cheap, unlike
 * AVX2's vmaskmov stores). A 9-row matrix (QM9) is one row block, so each row of B is loaded
 * once per k for all 9 rows. Row blocks are balanced (38 rows: 10 + 10 + 9 + 9). */
#define AVX512_FN __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define TILE512_MR 12

/* Rows [0, mr) by columns [0, 16 nv) of C; lanes of the last vector per mask. */
AVX512_FN __attribute__((always_inline)) static inline void
tile_avx512(const int mr, const int nv, const __mmask16 mask, const small_job *j,
            const float *A, const float *B, float *C) {
    __m512 c[TILE512_MR][2];
    for (int r = 0; r < TILE512_MR; r++) c[r][0] = c[r][1] = _mm512_setzero_ps();
    const __mmask16 m0 = nv == 1 ? mask : (__mmask16)0xffff;
    for (int64_t k = 0; k < j->K; k++) {
        const float *b = B + k * j->ldb;
        __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_setzero_ps();
        if (nv == 2) b1 = _mm512_maskz_loadu_ps(mask, b + 16);
        const float *a = A + k * j->acs;
        for (int r = 0; r < mr; r++) {
            __m512 ar = _mm512_set1_ps(a[r * j->ars]);
            c[r][0] = _mm512_fmadd_ps(ar, b0, c[r][0]);
            if (nv == 2) c[r][1] = _mm512_fmadd_ps(ar, b1, c[r][1]);
        }
    }
    for (int r = 0; r < mr; r++) {
        float *p = C + r * j->ldc;
        __m512 x0 = c[r][0], x1 = c[r][1];
        if (j->acc) {
            x0 = _mm512_add_ps(x0, _mm512_maskz_loadu_ps(m0, p));
            if (nv == 2) x1 = _mm512_add_ps(x1, _mm512_maskz_loadu_ps(mask, p + 16));
        }
        _mm512_mask_storeu_ps(p, m0, x0);
        if (nv == 2) _mm512_mask_storeu_ps(p + 16, mask, x1);
    }
}

/* Rows [0, mr) by the (up to 8) columns in mask of C: 256-bit vectors, as fast per lane as
 * 512-bit ones on this CPU, so an 8-column tail does not cost a 16-column one. */
AVX512_FN __attribute__((always_inline)) static inline void
tile8_avx512(const int mr, const __mmask8 mask, const small_job *j, const float *A,
             const float *B, float *C) {
    __m256 c[TILE512_MR];
    for (int r = 0; r < TILE512_MR; r++) c[r] = _mm256_setzero_ps();
    for (int64_t k = 0; k < j->K; k++) {
        __m256 b0 = _mm256_maskz_loadu_ps(mask, B + k * j->ldb);
        const float *a = A + k * j->acs;
        for (int r = 0; r < mr; r++)
            c[r] = _mm256_fmadd_ps(_mm256_set1_ps(a[r * j->ars]), b0, c[r]);
    }
    for (int r = 0; r < mr; r++) {
        float *p = C + r * j->ldc;
        __m256 x = c[r];
        if (j->acc) x = _mm256_add_ps(x, _mm256_maskz_loadu_ps(mask, p));
        _mm256_mask_storeu_ps(p, mask, x);
    }
}

/* All column tiles of the mr rows starting at row i. */
AVX512_FN __attribute__((always_inline)) static inline void
rows_avx512(const int mr, const small_job *j, int64_t i) {
    const float *A = j->A + i * j->ars;
    float *C = j->C + i * j->ldc;
    int64_t n = 0;
    for (; n + 32 <= j->N; n += 32) tile_avx512(mr, 2, 0xffff, j, A, j->B + n, C + n);
    int64_t rest = j->N - n;
    if (rest == 0) return;
    int on = (int)(rest > 16 ? rest - 16 : rest);
    __mmask16 mask = (__mmask16)((1u << on) - 1u);
    if (rest > 16) tile_avx512(mr, 2, mask, j, A, j->B + n, C + n);
    else if (rest > 8) tile_avx512(mr, 1, mask, j, A, j->B + n, C + n);
    else tile8_avx512(mr, (__mmask8)mask, j, A, j->B + n, C + n);
}

AVX512_FN static void small_avx512(const small_job *j) {
    int64_t blocks = (j->M + TILE512_MR - 1) / TILE512_MR;
    for (int64_t blk = 0, i = 0; blk < blocks; blk++) {
        int64_t hi = j->M * (blk + 1) / blocks;
        switch (hi - i) {
        case 12: rows_avx512(12, j, i); break;
        case 11: rows_avx512(11, j, i); break;
        case 10: rows_avx512(10, j, i); break;
        case 9: rows_avx512(9, j, i); break;
        case 8: rows_avx512(8, j, i); break;
        case 7: rows_avx512(7, j, i); break;
        case 6: rows_avx512(6, j, i); break;
        case 5: rows_avx512(5, j, i); break;
        case 4: rows_avx512(4, j, i); break;
        case 3: rows_avx512(3, j, i); break;
        case 2: rows_avx512(2, j, i); break;
        default: rows_avx512(1, j, i); break;
        }
        i = hi;
    }
}

/* Columns [n0, N) of C (M, N) (+)= A (M, K) B^T, B stored (N, K) at row stride ldb, as dot
 * products along K: A's rows are read at stride 1 (acs 1). For the last 1 or 2 columns of a
 * transposed-B product (a 9-column output goes 8 by outer products + 1 by dot products). */
AVX512_FN static void dotcols_avx512(const small_job *j, int64_t n0, const float *B, int64_t ldb) {
    const int64_t K = j->K, k16 = K - K % 16;
    const __mmask16 kmask = (__mmask16)((1u << (K % 16)) - 1u);
    for (int64_t i = 0; i < j->M; i++) {
        const float *a = j->A + i * j->ars;
        for (int64_t n = n0; n < j->N; n++) {
            const float *b = B + n * ldb;
            __m512 s = _mm512_setzero_ps();
            for (int64_t k = 0; k < k16; k += 16)
                s = _mm512_fmadd_ps(_mm512_loadu_ps(a + k), _mm512_loadu_ps(b + k), s);
            if (kmask)
                s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(kmask, a + k16),
                                    _mm512_maskz_loadu_ps(kmask, b + k16), s);
            float v = _mm512_reduce_add_ps(s);
            float *c = j->C + i * j->ldc + n;
            *c = j->acc ? *c + v : v;
        }
    }
}

/* C (mr, N) (+)= A (mr, K) B^T for N = 8 or 9, B stored (N, K) at row stride ldb and A's rows
 * at stride 1, with nothing packed (bmm's da = dy b^T at QM9 shapes: 9 x 9 outputs, K = F).
 * Per block of 8 k, B's first 8 rows are transposed in registers into 8 vectors of 8 columns,
 * each multiplied by the broadcast A(i, k) into one accumulator per row (outer products);
 * column 8 is one dot product per row along k, its 8-lane sums reduced at the end. Every
 * accumulator stays in a register: mr + mr (column 8) + 8 (the transposed block) <= 32. */
AVX512_FN __attribute__((always_inline)) static inline void
n9_tile_avx512(const int mr, const bool has9, const small_job *j, const float *B, int64_t ldb) {
    const int64_t K = j->K, ars = j->ars;
    const float *A = j->A;
    __m256 c[TILE512_MR], d[TILE512_MR];
#pragma GCC unroll 12
    for (int r = 0; r < TILE512_MR; r++) c[r] = d[r] = _mm256_setzero_ps();
    for (int64_t k = 0; k < K; k += 8) {
        const int kr = K - k < 8 ? (int)(K - k) : 8;
        const __mmask8 km = (__mmask8)((1u << kr) - 1u);
        __m256 x[8];
#pragma GCC unroll 12
        for (int q = 0; q < 8; q++) x[q] = _mm256_maskz_loadu_ps(km, B + q * ldb + k);
        transpose8x8_avx2(x);   /* x[q]: B(0..7, k + q) */
#pragma GCC unroll 8
        for (int q = 0; q < 8; q++) {
            if (q < kr) {
#pragma GCC unroll 12
                for (int r = 0; r < mr; r++)
                    c[r] = _mm256_fmadd_ps(_mm256_set1_ps(A[r * ars + k + q]), x[q], c[r]);
            }
        }
        if (has9) {
            __m256 b8 = _mm256_maskz_loadu_ps(km, B + 8 * ldb + k);
#pragma GCC unroll 12
            for (int r = 0; r < mr; r++)
                d[r] = _mm256_fmadd_ps(_mm256_maskz_loadu_ps(km, A + r * ars + k), b8, d[r]);
        }
    }
    float col8[TILE512_MR];
    if (has9) {   /* lane sums of d[r], the same order for every r */
#pragma GCC unroll 12
        for (int r = 0; r < mr; r++) {
            __m128 h = _mm_add_ps(_mm256_castps256_ps128(d[r]), _mm256_extractf128_ps(d[r], 1));
            h = _mm_add_ps(h, _mm_movehl_ps(h, h));
            h = _mm_add_ss(h, _mm_movehdup_ps(h));
            col8[r] = _mm_cvtss_f32(h);
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++) {
        float *p = j->C + r * j->ldc;
        __m256 v = c[r];
        if (j->acc) v = _mm256_add_ps(v, _mm256_loadu_ps(p));
        _mm256_storeu_ps(p, v);
        if (has9) p[8] = j->acc ? p[8] + col8[r] : col8[r];
    }
}

AVX512_FN static void n9_avx512(const small_job *j, const float *B, int64_t ldb) {
    const bool has9 = j->N == 9;
    switch (j->M) {
#define N9_CASE(m)                                                                           \
    case m:                                                                                  \
        if (has9) n9_tile_avx512(m, true, j, B, ldb);                                        \
        else n9_tile_avx512(m, false, j, B, ldb);                                            \
        break;
    N9_CASE(12) N9_CASE(11) N9_CASE(10) N9_CASE(9) N9_CASE(8) N9_CASE(7)
    N9_CASE(6) N9_CASE(5) N9_CASE(4) N9_CASE(3) N9_CASE(2) N9_CASE(1)
#undef N9_CASE
    default: break;
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

/* Kernel level: the best the CPU has, capped by SDEGEN_GEMM_PATH (see gemm.h); found once. */
enum { PATH_PLAIN = 1, PATH_AVX2, PATH_AVX512 };
static int gemm_path(void) {
    static int cached;   /* 0 until found; every thread finds the same value */
    int p = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (p) return p;
    __builtin_cpu_init();
    p = PATH_PLAIN;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        p = PATH_AVX2;
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"))
            p = PATH_AVX512;
    }
    const char *cap = getenv("SDEGEN_GEMM_PATH");
    if (cap && strcmp(cap, "plain") == 0) p = PATH_PLAIN;
    else if (cap && strcmp(cap, "avx2") == 0 && p > PATH_AVX2) p = PATH_AVX2;
    __atomic_store_n(&cached, p, __ATOMIC_RELAXED);
    return p;
}

/* B (N, K) with row stride ldb -> packed B^T (K, N). */
static void pack_transpose(int64_t N, int64_t K, const float *B, int64_t ldb, float *out) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = 0; k < K; k++) out[k * N + n] = B[n * ldb + k];
}

/* The same with 8 x 8 blocks transposed in AVX registers (unpack, shuffle, lane permute); the
 * edges go element by element. Four times fewer stores than the loop above. */
AVX2_FN static void pack_transpose_avx2(int64_t N, int64_t K, const float *B, int64_t ldb,
                                        float *out) {
    int64_t n8 = N - N % 8, k8 = K - K % 8;
    for (int64_t n = 0; n < n8; n += 8) {
        for (int64_t k = 0; k < k8; k += 8) {
            const float *b = B + n * ldb + k;
            __m256 r[8];
#pragma GCC unroll 8
            for (int q = 0; q < 8; q++) r[q] = _mm256_loadu_ps(b + q * ldb);
            transpose8x8_avx2(r);
            float *o = out + k * N + n;
#pragma GCC unroll 8
            for (int q = 0; q < 8; q++) _mm256_storeu_ps(o + q * N, r[q]);
        }
        for (int64_t k = k8; k < K; k++)
            for (int64_t q = n; q < n + 8; q++) out[k * N + q] = B[q * ldb + k];
    }
    for (int64_t n = n8; n < N; n++)
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

/* Tall, skinny products go to the register kernel instead of OpenBLAS, which packs all of
 * the long operand for a short inner dimension (its copy routines were about 10 % of a QM9
 * training step): (1) M large, N and K small (linear layers over the B N^2 edge rows of GDSS,
 * dx = dy W), in fixed blocks of SKINNY_ROWS rows, B (a transposed B packed once) re-read
 * from L1/L2; (2) op(A) = A^T with M and N small and K large (dW = dy^T x), in SKINNY_PARTS
 * fixed slices of K whose partial products are added in order. Blocks and slices are
 * functions of the shape and each element is reduced in a fixed order: the same bits for any
 * thread count. Not on the plain path (BLAS). */
#define SKINNY_ROWS 192
#define SKINNY_KN 8192
#define SKINNY_PARTS 4
static bool gemm_skinny(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float *A,
                        int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    const int path = gemm_path();
    const bool par = !omp_in_parallel() && omp_get_max_threads() > 1;
    if (path == PATH_PLAIN || N > 512) return false;
    if (ta && !tb && M * N <= SKINNY_KN && K >= SKINNY_PARTS * 1024) {   /* (2) */
        float part[SKINNY_PARTS][SKINNY_KN] __attribute__((aligned(64)));
        #pragma omp parallel for schedule(static, 1) if (par)
        for (int p = 0; p < SKINNY_PARTS; p++) {
            const int64_t k0 = K * p / SKINNY_PARTS, k1 = K * (p + 1) / SKINNY_PARTS;
            small_job j = {.M = M, .N = N, .K = k1 - k0, .A = A + k0 * lda, .ars = 1, .acs = lda,
                           .B = B + k0 * ldb, .ldb = ldb, .C = part[p], .ldc = N, .acc = false};
            if (path == PATH_AVX512) small_avx512(&j);
            else small_avx2(&j);
        }
        for (int64_t i = 0; i < M; i++)
            for (int64_t n = 0; n < N; n++) {
                float v = beta != 0.0f ? C[i * ldc + n] : 0.0f;
                for (int p = 0; p < SKINNY_PARTS; p++) v += part[p][i * N + n];
                C[i * ldc + n] = v;
            }
        return true;
    }
    if (ta || M < 4 * SKINNY_ROWS || K > 512 || K * N > SKINNY_KN) return false;   /* (1) */
    float packed[SKINNY_KN] __attribute__((aligned(64)));
    if (tb) pack_transpose(N, K, B, ldb, packed);
    const int64_t blocks = (M + SKINNY_ROWS - 1) / SKINNY_ROWS;
    #pragma omp parallel for schedule(dynamic, 4) if (par)
    for (int64_t blk = 0; blk < blocks; blk++) {
        const int64_t lo = blk * SKINNY_ROWS, rows = M - lo < SKINNY_ROWS ? M - lo : SKINNY_ROWS;
        small_job j = {.M = rows, .N = N, .K = K, .A = A + lo * lda, .ars = lda, .acs = 1,
                       .B = tb ? packed : B, .ldb = tb ? N : ldb, .C = C + lo * ldc, .ldc = ldc,
                       .acc = beta != 0.0f};
        if (path == PATH_AVX512) small_avx512(&j);
        else small_avx2(&j);
    }
    return true;
}

void nn_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
             const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M == 0 || N == 0) return;
    if (K == 0) {
        zero_or_keep(M, N, beta, C, ldc);
        return;
    }
    if (gemm_skinny(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc)) return;
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
    int path = gemm_path();
    if (work > NN_GEMM_KERNEL_MAX_WORK) {   /* OpenBLAS per item (and per block of a large item) */
        gemm_tasks(count, ta, tb, M, N, K, A, sa, lda, B, sb, ldb, beta, C, sc, N);
        return true;
    }
    /* Register-blocked kernel, OpenMP over groups of items. A transposed B is packed (once
     * when shared) into per-thread scratch, a whole group of items ahead of their products,
     * so that the product's row loads do not wait on the pack's fresh stores (measured: about
     * 10% at 9 x 9 x 16, within the noise at 9 x 9 x 72). The grouping is a function of the
     * shapes only. */
    bool par = (double)count * work * 2.0 > NN_GEMM_PAR_FLOPS && count > 1;
    int slots = par ? nt : 1;
    /* AVX2, a transposed B with K >= N: dot products instead of packing */
    bool dot = path == PATH_AVX2 && tb && K >= N;
    /* AVX-512, transposed B, 8 or 9 columns and at most 12 rows: nothing packed */
    bool n9 = path == PATH_AVX512 && tb && !ta && (N == 8 || N == 9) && M <= TILE512_MR;
    bool pack = tb && !dot && !n9 && sb != 0;
    /* AVX-512, transposed B: the last N % 8 columns by dot products when there are 1 or 2;
     * per-item packing then leaves them out (a 9-column output packs 8 columns). */
    int64_t tail = path == PATH_AVX512 && tb && !ta && N % 8 <= 2 ? N % 8 : 0;
    int64_t pn = pack ? N - tail : N, kn = K * N, group = pack ? NN_GEMM_PACK_FLOATS / kn : 1;
    group = group < 1 ? 1 : group > NN_GEMM_CHUNK ? NN_GEMM_CHUNK : group;
    int64_t groups = (count + group - 1) / group, chunk = (NN_GEMM_CHUNK + group - 1) / group;
    float *packed = NULL;
    if (tb && !dot && !n9) {
        size_t per = (size_t)(sb == 0 ? 1 : slots) * (size_t)(group * kn);
        packed = nn_alloc(ctx, per * sizeof(float));
        if (!packed) return false;
        if (sb == 0) pack_transpose(N, K, B, ldb, packed);
    }
    #pragma omp parallel if (par)
    {
        float *mine = pack ? packed + (size_t)omp_get_thread_num() * (size_t)(group * kn) : NULL;
        #pragma omp for schedule(dynamic, chunk)
        for (int64_t g = 0; g < groups; g++) {
            int64_t lo = g * group, hi = lo + group < count ? lo + group : count;
            if (pack)
                for (int64_t b = lo; b < hi; b++) {
                    float *out = mine + (b - lo) * kn;
                    if (path >= PATH_AVX2) pack_transpose_avx2(pn, K, B + b * sb, ldb, out);
                    else pack_transpose(pn, K, B + b * sb, ldb, out);
                }
            for (int64_t b = lo; b < hi; b++) {
                small_job j = {.M = M, .N = N, .K = K, .A = A + b * sa, .ars = ta ? 1 : lda,
                               .acs = ta ? lda : 1, .B = B + b * sb, .ldb = N, .C = C + b * sc,
                               .ldc = N, .acc = beta != 0.0f};
                if (dot) {
                    dot_avx2(&j, B + b * sb, ldb);
                    continue;
                }
                if (n9) {
                    n9_avx512(&j, B + b * sb, ldb);
                    continue;
                }
                if (pack) {
                    j.B = mine + (b - lo) * kn;
                    j.ldb = pn;
                }
                else if (tb) j.B = packed;
                if (path == PATH_AVX512 && tail) {
                    j.N = N - tail;
                    if (j.N > 0) small_avx512(&j);
                    j.N = N;
                    dotcols_avx512(&j, N - tail, B + b * sb, ldb);
                } else if (path == PATH_AVX512) small_avx512(&j);
                else if (path == PATH_AVX2) small_avx2(&j);
                else small_plain(&j);
            }
        }
    }
    return true;
}

/* ---- AVX-512 epilogue: bias, activation and accumulation in one pass over a panel row ----
 * The activations with FMA and 16 lanes: ELU below 0 as e^x - 1 = 2^n (1 + t) - 1 with
 * t = e^r - 1 by op_unary.c's Cephes polynomial (2^n by vscalefps; t alone where n = 0, so no
 * cancellation near 0); tanh from the same e^{2x} - 1. */
/* e^x - 1 for x <= 88.7: e^x = 2^n e^r, |r| <= ln2/2, e^r - 1 = r + r^2 P(r) (Cephes), so
 * that where n = 0 (|x| < 0.35) the result has no cancellation. */
AVX512_FN static inline __m512 expm1_512(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.33f)), _mm512_set1_ps(88.7228f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    __m512 t = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);   /* e^r - 1 */
    __m512 e = _mm512_sub_ps(_mm512_scalef_ps(_mm512_add_ps(t, _mm512_set1_ps(1.0f)), n),
                             _mm512_set1_ps(1.0f));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_EQ_OQ), e, t);
}

/* tanh x = m / (m + 2) with m = e^{2x} - 1 (relative error ~2e-7, also near 0); |x| is
 * clamped at 9, where tanh rounds to +-1. */
AVX512_FN static inline __m512 tanh512(__m512 x) {
    const __m512 c = _mm512_set1_ps(9.0f);
    __m512 xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_sub_ps(_mm512_setzero_ps(), c)), c);
    __m512 m = expm1_512(_mm512_add_ps(xc, xc));
    __m512 d = _mm512_add_ps(m, _mm512_set1_ps(2.0f)), r = _mm512_rcp14_ps(d);
    r = _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(2.0f)));   /* Newton: ~1e-8 */
    return _mm512_mul_ps(m, r);
}

/* One vector of the epilogue; act and acc are constants in each caller below. */
AVX512_FN __attribute__((always_inline)) static inline void
epi_vec512(const sdg_unary act, const int acc, const __mmask16 m, const float *p, __m512 va,
           __m512 bias, float *c) {
    __m512 v = _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, p), bias);
    if (acc == SDG_GEMM_ACC_INNER) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, c));
    if (act == SDG_UNARY_TANH) v = tanh512(v);
    else if (act == SDG_UNARY_ELU)
        v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ),
                                 expm1_512(v), v);
    else if (act == SDG_UNARY_RELU) v = _mm512_max_ps(v, _mm512_setzero_ps());
    if (acc == SDG_GEMM_ACC_OUTER) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, c));
    _mm512_mask_storeu_ps(c, m, v);
}

/* A whole panel (mr rows of nc <= NN_EPI_MAX, row stride nc) into C: two vectors per step,
 * so that the activations' dependency chains overlap. bias: per column (bcol, nc) or per row
 * (brow, mr), either NULL. */
AVX512_FN __attribute__((always_inline)) static inline void
epi_panel512(const sdg_unary act, const int acc, const float *panel, int64_t mr, int64_t nc,
             float alpha, const float *bcol, const float *brow, float *C, int64_t ldc) {
    const __m512 va = _mm512_set1_ps(alpha);
    if (ldc == nc && !brow) {   /* C rows contiguous: one flat row (fewer partial vectors) */
        if (!bcol || mr == 1) {
            nc *= mr;
            mr = 1;
        }
    }
    for (int64_t r = 0; r < mr; r++) {
        const float *p = panel + r * nc;
        float *c = C + r * ldc;
        const __m512 vb = _mm512_set1_ps(brow ? brow[r] : 0.0f);
        int64_t i = 0;
        for (; i + 32 <= nc; i += 32) {
            epi_vec512(act, acc, 0xffff, p + i, va, bcol ? _mm512_loadu_ps(bcol + i) : vb, c + i);
            epi_vec512(act, acc, 0xffff, p + i + 16, va,
                       bcol ? _mm512_loadu_ps(bcol + i + 16) : vb, c + i + 16);
        }
        for (; i < nc; i += 16) {
            const __mmask16 m = nc - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (nc - i)) - 1u);
            epi_vec512(act, acc, m, p + i, va, bcol ? _mm512_maskz_loadu_ps(m, bcol + i) : vb, c + i);
        }
    }
}

AVX512_FN static void epi_avx512(const float *panel, int64_t mr, int64_t nc, float alpha,
                                 const float *bcol, const float *brow, sdg_unary act, int acc,
                                 float *C, int64_t ldc) {
#define EPI_ACT(a)                                                                            \
    switch (acc) {                                                                            \
    case SDG_GEMM_ACC_INNER: epi_panel512(a, SDG_GEMM_ACC_INNER, panel, mr, nc, alpha, bcol, brow, C, ldc); break; \
    case SDG_GEMM_ACC_OUTER: epi_panel512(a, SDG_GEMM_ACC_OUTER, panel, mr, nc, alpha, bcol, brow, C, ldc); break; \
    default: epi_panel512(a, SDG_GEMM_ACC_NONE, panel, mr, nc, alpha, bcol, brow, C, ldc); break; \
    }
    switch (act) {
    case SDG_UNARY_TANH: EPI_ACT(SDG_UNARY_TANH) break;
    case SDG_UNARY_ELU: EPI_ACT(SDG_UNARY_ELU) break;
    case SDG_UNARY_RELU: EPI_ACT(SDG_UNARY_RELU) break;
    default: EPI_ACT(SDG_UNARY_NONE) break;
    }
#undef EPI_ACT
}

/* ---- sdg_gemm_run: one product with an epilogue, on the calling thread ----
 * Without an epilogue (alpha 1, no bias, no activation, acc NONE or INNER) the kernel writes C
 * directly. Otherwise it writes panels of up to 12 rows by NN_EPI_MAX columns into a stack
 * buffer (L1), and nn_epilogue turns each panel row into its C row. */
static void small_run(int path, const small_job *j) {
    if (path == PATH_AVX512) small_avx512(j);
    else if (path == PATH_AVX2) small_avx2(j);
    else small_plain(j);
}

sdg_status sdg_gemm_run(const sdg_gemm_desc *g) {
    if (!g || g->M < 0 || g->N < 0 || g->K < 0 || (unsigned)g->act > SDG_UNARY_COUNT ||
        (unsigned)g->acc > SDG_GEMM_ACC_OUTER)
        return SDG_ERROR(SDG_ERR_INVALID, "gemm: bad descriptor");
    if (g->M == 0 || g->N == 0) return SDG_OK;
    if (!g->C || (g->K > 0 && (!g->A || !g->B)))
        return SDG_ERROR(SDG_ERR_INVALID, "gemm: missing operand");
    if (g->act != SDG_UNARY_NONE && g->act != SDG_UNARY_TANH && g->act != SDG_UNARY_ELU &&
        g->act != SDG_UNARY_RELU)
        return SDG_ERROR(SDG_ERR_INVALID, "gemm: activation %s not supported", sdg_unary_name(g->act));
    const int path = gemm_path();
    const int64_t ars = g->ta ? 1 : g->lda, acs = g->ta ? g->lda : 1;
    const bool epi = g->alpha != 1.0f || g->bias || g->act != SDG_UNARY_NONE ||
                     g->acc == SDG_GEMM_ACC_OUTER;
    if (!epi) {
        small_job j = {.M = g->M, .N = g->N, .K = g->K, .A = g->A, .ars = ars, .acs = acs,
                       .B = g->B, .ldb = g->ldb, .C = g->C, .ldc = g->ldc,
                       .acc = g->acc == SDG_GEMM_ACC_INNER};
        small_run(path, &j);
        return SDG_OK;
    }
    float panel[TILE512_MR * NN_EPI_MAX] __attribute__((aligned(64)));
    /* row panels balanced like small_avx512's blocks (16 rows: 8 + 8, not 12 + 4) */
    const int64_t panels = (g->M + TILE512_MR - 1) / TILE512_MR;
    for (int64_t p = 0; p < panels; p++) {
        const int64_t i0 = g->M * p / panels, mr = g->M * (p + 1) / panels - i0;
        for (int64_t n0 = 0; n0 < g->N; n0 += NN_EPI_MAX) {
            const int64_t nc = g->N - n0 < NN_EPI_MAX ? g->N - n0 : NN_EPI_MAX;
            small_job j = {.M = mr, .N = nc, .K = g->K, .A = g->A + i0 * ars, .ars = ars,
                           .acs = acs, .B = g->B + n0, .ldb = g->ldb, .C = panel, .ldc = nc,
                           .acc = false};
            small_run(path, &j);
            if (path == PATH_AVX512) {
                epi_avx512(panel, mr, nc, g->alpha, g->bias && !g->bias_rows ? g->bias + n0 : NULL,
                           g->bias && g->bias_rows ? g->bias + i0 : NULL, g->act, (int)g->acc,
                           g->C + i0 * g->ldc + n0, g->ldc);
                continue;
            }
            for (int64_t r = 0; r < mr; r++) {
                const float *bcol = g->bias && !g->bias_rows ? g->bias + n0 : NULL;
                float brow = g->bias && g->bias_rows ? g->bias[i0 + r] : 0.0f;
                nn_epilogue(panel + r * nc, nc, g->alpha, bcol, brow, g->act, (int)g->acc,
                            g->C + (i0 + r) * g->ldc + n0);
            }
        }
    }
    return SDG_OK;
}
