/* Matrix products: matmul (2-D, either side transposed) and bmm (batched, or with a 2-D
 * right operand shared by the whole batch). The work goes to nn_gemm / nn_gemm_batched
 * (gemm.h), which also states the threading and determinism guarantees.
 * ref: torch.matmul (2-D and equal-batch cases), torch.bmm */
#include "nn/gemm.h"

static sdg_tensor *shape_fail(sdg_ctx *ctx, const char *op, const sdg_tensor *a,
                              const sdg_tensor *b, const char *why) {
    char sa[64], sb[64];
    return nn_fail(ctx, SDG_ERR_SHAPE, "%s: shapes %s and %s %s", op,
                   sdg_tensor_shape_str(a, sa, sizeof sa), sdg_tensor_shape_str(b, sb, sizeof sb),
                   why);
}

/* ---- matmul: y (M, N) = op(a) op(b) ---- */
/* a: (M, K), or (K, M) when ta;  b: (K, N), or (N, K) when tb;  y: (M, N) */
static void matmul_backward(sdg_ctx *ctx, sdg_node *n) {
    sdg_tensor *a = n->in[0], *b = n->in[1], *y = n->out;
    bool ta = n->i[0], tb = n->i[1];
    int64_t M = y->shape[0], N = y->shape[1], K = n->i[2];
    int64_t lda = a->shape[1], ldb = b->shape[1];
    if (a->grad) {   /* d op(a) = dy op(b)^T */
        if (!ta) nn_gemm(false, !tb, M, K, N, y->grad, N, b->data, ldb, 1.0f, a->grad, lda);
        else nn_gemm(tb, true, K, M, N, b->data, ldb, y->grad, N, 1.0f, a->grad, lda);
        sdg_ctx_add_flops(ctx, SDG_OP_MATMUL, 2.0 * (double)(M * N * K));
    }
    if (b->grad) {   /* d op(b) = op(a)^T dy */
        if (!tb) nn_gemm(!ta, false, K, N, M, a->data, lda, y->grad, N, 1.0f, b->grad, ldb);
        else nn_gemm(true, ta, N, K, M, y->grad, N, a->data, lda, 1.0f, b->grad, ldb);
        sdg_ctx_add_flops(ctx, SDG_OP_MATMUL, 2.0 * (double)(M * N * K));
    }
}

sdg_tensor *sdg_matmul(sdg_ctx *ctx, sdg_tensor *a, sdg_tensor *b, bool ta, bool tb) {
    if (!nn_ok(ctx, 2, a, b)) return NULL;
    if (a->ndim != 2 || b->ndim != 2) return shape_fail(ctx, "matmul", a, b, "are not both 2-D");
    int64_t M = a->shape[ta ? 1 : 0], K = a->shape[ta ? 0 : 1];
    int64_t Kb = b->shape[tb ? 1 : 0], N = b->shape[tb ? 0 : 1];
    if (K != Kb) return shape_fail(ctx, "matmul", a, b, "do not match (inner dimensions)");
    sdg_tensor *y = nn_out(ctx, 2, (int64_t[]){M, N}, 2, a, b);
    if (!y) return NULL;
    nn_gemm(ta, tb, M, N, K, a->data, a->shape[1], b->data, b->shape[1], 0.0f, y->data, N);
    sdg_ctx_add_flops(ctx, SDG_OP_MATMUL, 2.0 * (double)(M * N * K));
    sdg_node *n = nn_record(ctx, SDG_OP_MATMUL, matmul_backward, y, 2, a, b);
    if (n) {
        n->i[0] = ta;
        n->i[1] = tb;
        n->i[2] = K;
    }
    return y;
}

/* ---- bmm: y (..., M, N) = a (..., M, K) @ b (..., K, N), or b (K, N) shared ---- */
/* i[0] count (product of leading dims), i[1] M, i[2] K, i[3] N, i[4] shared */
static void bmm_backward(sdg_ctx *ctx, sdg_node *n) {
    sdg_tensor *a = n->in[0], *b = n->in[1], *y = n->out;
    int64_t cnt = n->i[0], M = n->i[1], K = n->i[2], N = n->i[3];
    bool shared = n->i[4];
    double flops = 2.0 * (double)cnt * (double)(M * N * K);
    if (a->grad) {   /* da_i += dy_i b_i^T  (shared: one (cnt M, N) x (N, K) product) */
        if (shared) nn_gemm(false, true, cnt * M, K, N, y->grad, N, b->data, N, 1.0f, a->grad, K);
        else if (!nn_gemm_batched(ctx, false, true, cnt, M, K, N, y->grad, M * N, b->data, K * N,
                                  1.0f, a->grad, M * K))
            return;
        sdg_ctx_add_flops(ctx, SDG_OP_BMM, flops);
    }
    if (b->grad) {   /* db_i += a_i^T dy_i  (shared: sum over the batch, one product) */
        if (shared) nn_gemm(true, false, K, N, cnt * M, a->data, K, y->grad, N, 1.0f, b->grad, N);
        else if (!nn_gemm_batched(ctx, true, false, cnt, K, N, M, a->data, M * K, y->grad, M * N,
                                  1.0f, b->grad, K * N))
            return;
        sdg_ctx_add_flops(ctx, SDG_OP_BMM, flops);
    }
}

sdg_tensor *sdg_bmm(sdg_ctx *ctx, sdg_tensor *a, sdg_tensor *b) {
    if (!nn_ok(ctx, 2, a, b)) return NULL;
    if (a->ndim < 2 || b->ndim < 2) return shape_fail(ctx, "bmm", a, b, "need at least 2 dimensions");
    bool shared = b->ndim == 2 && a->ndim > 2;
    if (!shared && a->ndim != b->ndim)
        return shape_fail(ctx, "bmm", a, b, "differ in rank (b must match a's rank or be 2-D)");
    int64_t cnt = 1;
    for (int d = 0; d < a->ndim - 2; d++) {
        if (!shared && a->shape[d] != b->shape[d])
            return shape_fail(ctx, "bmm", a, b, "have different batch dimensions");
        cnt *= a->shape[d];
    }
    int64_t M = a->shape[a->ndim - 2], K = a->shape[a->ndim - 1];
    int64_t Kb = b->shape[b->ndim - 2], N = b->shape[b->ndim - 1];
    if (K != Kb) return shape_fail(ctx, "bmm", a, b, "do not match (inner dimensions)");
    int64_t shape[SDG_MAX_DIMS];
    for (int d = 0; d < a->ndim; d++) shape[d] = a->shape[d];
    shape[a->ndim - 1] = N;
    sdg_tensor *y = nn_out(ctx, a->ndim, shape, 2, a, b);
    if (!y) return NULL;
    if (shared) nn_gemm(false, false, cnt * M, N, K, a->data, K, b->data, N, 0.0f, y->data, N);
    else if (!nn_gemm_batched(ctx, false, false, cnt, M, N, K, a->data, M * K, b->data, K * N,
                              0.0f, y->data, M * N))
        return NULL;
    sdg_ctx_add_flops(ctx, SDG_OP_BMM, 2.0 * (double)cnt * (double)(M * N * K));
    sdg_node *n = nn_record(ctx, SDG_OP_BMM, bmm_backward, y, 2, a, b);
    if (n) {
        n->i[0] = cnt;
        n->i[1] = M;
        n->i[2] = K;
        n->i[3] = N;
        n->i[4] = shared;
    }
    return y;
}
