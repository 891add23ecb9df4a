/* Private to src/nn: the matrix-product engine behind matmul, bmm, linear and conv1d.
 * (A header of its own rather than internal.h, so that the op families written in parallel
 * do not collide on that file; only op_matmul.c, op_linear.c and op_conv1d.c include it.)
 *
 * All matrices are row-major; lda, ldb and ldc are the row strides of A, B and C AS STORED;
 * op(X) is X or its transpose by the flag; beta is 0 (overwrite) or 1 (accumulate).
 *
 * Threads. A single product is one cblas_sgemm with OpenBLAS running sdg_num_threads()
 * threads (set on each call from outside an OpenMP region; left alone inside one). A batch
 * of small products runs a register-blocked kernel, OpenMP over the items; a batch of large
 * ones runs one single-threaded sgemm per item, OpenMP over the items, or one multi-threaded
 * sgemm per item when there are fewer items than threads.
 *
 * Determinism. Each output element is reduced in a fixed order by one thread, and the kernel
 * choice depends on the shapes only, so the small-kernel path gives the same bits for any
 * thread count. On the OpenBLAS paths the bits are fixed for a given thread count; OpenBLAS
 * splits only M and N between threads, and tests/nn/test_matmul.c checks that 1 and 2 threads
 * agree bit for bit on this machine. */
#ifndef SDG_NN_GEMM_H
#define SDG_NN_GEMM_H
#include "nn/internal.h"

/* C (M, N) = op(A) op(B) + beta C, in one call. */
void nn_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
             const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

/* count products C_i = op(A_i) op(B_i) + beta C_i of packed matrices (lda = ta ? M : K,
 * ldb = tb ? K : N, ldc = N), items sa, sb, sc floats apart; sa or sb 0 shares that operand.
 * Scratch comes from the ctx arena; returns false (ctx failed) when it is exhausted. */
bool nn_gemm_batched(sdg_ctx *ctx, bool ta, bool tb, int64_t count, int64_t M, int64_t N,
                     int64_t K, const float *A, int64_t sa, const float *B, int64_t sb,
                     float beta, float *C, int64_t sc);

/* Per-item M*N*K up to which batches use the register-blocked kernel (measured with
 * bench/nn.c: up to about 64^3 it beats a per-item single-threaded sgemm). */
#define NN_GEMM_SMALL_MAX (64 * 64 * 64)

#endif
