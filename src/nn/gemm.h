/* Private to src/nn: the matrix-product engine behind matmul, bmm, linear and conv1d.
 * (A header of its own rather than internal.h, so that the op families written in parallel
 * do not collide on that file; only op_matmul.c, op_linear.c and op_conv1d.c include it.)
 *
 * All matrices are row-major; lda, ldb and ldc are the row strides of A, B and C AS STORED;
 * op(X) is X or its transpose by the flag; beta is 0 (overwrite) or 1 (accumulate).
 *
 * Threads: OpenMP only (sdg_num_threads()); OpenBLAS always runs single-threaded, because
 * its spinning pthreads and libgomp's fight over the cores (measured: 10-30x slower). A single
 * product is split into row (or column) blocks, one sgemm per thread. A batch of small
 * products runs a register-blocked kernel, OpenMP over the items; a batch of large ones runs
 * one sgemm per item, OpenMP over the items, or splits each item when there are fewer items
 * than threads.
 *
 * Determinism. Every output element is reduced over the whole K by one thread in one call,
 * and the path depends on the shapes and the thread count only, so results are fixed for a
 * given thread count. The kernel path gives the same bits for any thread count; on the
 * OpenBLAS paths only the split of the output changes with it, and tests/nn (test_matmul,
 * test_linear) check that 1 and 2 threads agree bit for bit. */
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
