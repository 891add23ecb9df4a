/* Private to src/nn: the matrix-product engine behind matmul, bmm, linear and conv1d.
 * (A header of its own rather than internal.h, so that the op families written in parallel
 * do not collide on that file; only op_matmul.c, op_linear.c and op_conv1d.c include it.)
 *
 * All matrices are row-major; lda, ldb and ldc are the row strides of A, B and C AS STORED;
 * op(X) is X or its transpose by the flag; beta is 0 (overwrite) or 1 (accumulate).
 *
 * Threads: OpenMP only (sdg_num_threads()); OpenBLAS always runs single-threaded, because
 * its spinning pthreads and libgomp's fight over the cores (measured: 10-30x slower). A large
 * product is cut into up to 8 row (or column) blocks, one sgemm each; a batch of small
 * products runs a register-blocked kernel per item; other batches run one sgemm per item and
 * block. OpenMP takes items or blocks dynamically.
 *
 * Determinism: results do not depend on the thread count. Every output element is reduced
 * over the whole K by one call (kernel or sgemm), and the path and the blocks are functions of
 * the shapes only (OpenBLAS's bits do depend on the block shape, so the blocks must not
 * follow the thread count). tests/nn (test_matmul, test_linear) check 1 vs 2 threads bit for
 * bit. The kernel uses FMA where the CPU has AVX2 + FMA, so bits differ between machines.
 *
 * Kernel paths, picked once per process from the CPU: AVX-512F + VL, AVX2 + FMA, or plain C.
 * The environment variable SDEGEN_GEMM_PATH=avx2 or =plain caps the choice (read once, at the
 * first batched product; it caps op_unary.c's element-wise kernels too); ctest uses it to run
 * the matmul, conv1d and unary tests on every path. The path changes the bits of products
 * (summation order), never those of the element-wise kernels, nor the thread-count independence. */
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

/* Per-item products go to the register-blocked kernel when M*N*K <= NN_GEMM_KERNEL_MAX_WORK,
 * otherwise to one single-threaded sgemm per item. Measured on this machine (AMD EPYC, 2 cores,
 * OpenBLAS 0.3.21 Cooperlake kernels, bmm forward + backward): on one thread per-item sgemm
 * ties or wins from 9x9x32 up, but concurrent sgemm calls from two threads scale badly
 * (1024 items of 9x9x72: 194 us on one thread, 346 us on two), while the kernel scales 2x;
 * with 2 threads the kernel wins up to about 38x38x64 and sgemm from 64^3 (112 vs 99 GF/s). */
#ifndef NN_GEMM_KERNEL_MAX_WORK
#define NN_GEMM_KERNEL_MAX_WORK 131072
#endif

#endif
