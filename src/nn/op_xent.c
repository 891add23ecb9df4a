/* Cross-entropy of logits against class indices, averaged over the rows with a target.
 * ref: torch.nn.functional.cross_entropy(x, target, ignore_index=-1, reduction="mean")
 * x: (R, K), target: R entries in [0, K) or -1 (row ignored); y: (1) = mean over kept rows
 * of logsumexp(x_r) - x_r[target_r] (0 when no row is kept). Stable (max subtracted).
 * The target array is BORROWED until backward has run (node->cptr). FLOPs are counted under
 * SDG_OP_SOFTMAX (3 per element forward, 2 backward). */
#include <math.h>
#include "nn/internal.h"

/* gx[r] += gy / n_kept * (softmax(x_r) - onehot(target_r)); the softmax is recomputed. */
static void xent_backward(sdg_ctx *ctx, sdg_node *n) {
    sdg_tensor *x = n->in[0];
    if (!x->grad || n->i[0] == 0) return;
    const int64_t *tg = n->cptr;
    int64_t R = x->shape[0], K = x->shape[1];
    float g = n->out->grad[0] / (float)n->i[0];
    for (int64_t r = 0; r < R; r++) {
        if (tg[r] < 0) continue;
        const float *xr = x->data + r * K;
        float *gr = x->grad + r * K, mx = -INFINITY;
        for (int64_t k = 0; k < K; k++) mx = xr[k] > mx ? xr[k] : mx;
        double s = 0;
        for (int64_t k = 0; k < K; k++) s += exp((double)(xr[k] - mx));
        for (int64_t k = 0; k < K; k++) gr[k] += g * (float)(exp((double)(xr[k] - mx)) / s);
        gr[tg[r]] -= g;
    }
    sdg_ctx_add_flops(ctx, SDG_OP_SOFTMAX, 2.0 * (double)x->size);
}

sdg_tensor *sdg_cross_entropy(sdg_ctx *ctx, sdg_tensor *x, const int64_t *target) {
    if (!nn_ok(ctx, 1, x)) return NULL;
    char sx[64];
    if (x->ndim != 2 || !target)
        return nn_fail(ctx, SDG_ERR_SHAPE, "cross_entropy: x must be (R, K) with R targets, got %s%s",
                       sdg_tensor_shape_str(x, sx, sizeof sx), target ? "" : " and no targets");
    int64_t R = x->shape[0], K = x->shape[1], kept = 0;
    for (int64_t r = 0; r < R; r++)
        if (target[r] < -1 || target[r] >= K)
            return nn_fail(ctx, SDG_ERR_INVALID, "cross_entropy: target[%lld] = %lld outside [-1, %lld)",
                           (long long)r, (long long)target[r], (long long)K);
    sdg_tensor *y = nn_out(ctx, 1, (int64_t[]){1}, 1, x);
    if (!y) return NULL;
    double L = 0;
    for (int64_t r = 0; r < R; r++) {
        if (target[r] < 0) continue;
        const float *xr = x->data + r * K;
        float mx = -INFINITY;
        for (int64_t k = 0; k < K; k++) mx = xr[k] > mx ? xr[k] : mx;
        double s = 0;
        for (int64_t k = 0; k < K; k++) s += exp((double)(xr[k] - mx));
        L += log(s) + mx - xr[target[r]];
        kept++;
    }
    y->data[0] = kept ? (float)(L / (double)kept) : 0.0f;
    sdg_ctx_add_flops(ctx, SDG_OP_SOFTMAX, 3.0 * (double)x->size);
    sdg_node *n = nn_record(ctx, SDG_OP_SOFTMAX, xent_backward, y, 1, x);
    if (n) {
        n->cptr = target;   /* borrowed: see the top of this file */
        n->i[0] = kept;
    }
    return y;
}
