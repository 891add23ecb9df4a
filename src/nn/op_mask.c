/* Node and adjacency masking by per-node flags (constants: no gradient flows to them).
 * ref: x * flags[:, :, None, ...] and a * flags[:, None, :, None] * flags[:, None, None, :]
 *      (GDSS mask_x / mask_adjs). The flags tensor is borrowed by the tape node, so it must
 *      stay alive until backward (as every step tensor does until sdg_ctx_reset). */
#include "nn/internal.h"

/* ---- nodes: x (B, N, ...) * flags (B, N) ---- */
/* gx[b, n, :] += gy[b, n, :] * flags[b, n]; i[0] = inner (product of trailing dims). */
static void mask_nodes_backward(sdg_ctx *ctx, sdg_node *n) {
    sdg_tensor *x = n->in[0], *y = n->out;
    const sdg_tensor *flags = n->cptr;
    if (!x->grad) return;
    int64_t inner = n->i[0];
    #pragma omp parallel for if (x->size > SDG_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < flags->size; r++) {
        float f = flags->data[r];
        for (int64_t k = 0; k < inner; k++) x->grad[r * inner + k] += f * y->grad[r * inner + k];
    }
    sdg_ctx_add_flops(ctx, SDG_OP_MASK, 2.0 * (double)x->size);
}

/* x: (B, N, ...), flags: (B, N) -> y: shape of x. */
sdg_tensor *sdg_mask_nodes(sdg_ctx *ctx, sdg_tensor *x, const sdg_tensor *flags) {
    if (!nn_ok(ctx, 2, x, flags)) return NULL;
    char sx[64], sf[64];
    if (x->ndim < 2 || flags->ndim != 2 || flags->shape[0] != x->shape[0] ||
        flags->shape[1] != x->shape[1])
        return nn_fail(ctx, SDG_ERR_SHAPE, "mask_nodes: flags %s do not match x %s (B, N, ...)",
                       sdg_tensor_shape_str(flags, sf, sizeof sf),
                       sdg_tensor_shape_str(x, sx, sizeof sx));
    sdg_tensor *y = nn_out(ctx, x->ndim, x->shape, 1, x);
    if (!y) return NULL;
    int64_t inner = flags->size ? x->size / flags->size : 0;
    #pragma omp parallel for if (x->size > SDG_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < flags->size; r++) {
        float f = flags->data[r];
        for (int64_t k = 0; k < inner; k++) y->data[r * inner + k] = f * x->data[r * inner + k];
    }
    sdg_ctx_add_flops(ctx, SDG_OP_MASK, (double)x->size);
    sdg_node *n = nn_record(ctx, SDG_OP_MASK, mask_nodes_backward, y, 1, x);
    if (n) {
        n->cptr = flags;
        n->i[0] = inner;
    }
    return y;
}

/* ---- adjacency: a (B, [C,] N, N) * flags[b, i] * flags[b, j] ---- */
/* dst[m, i, j] (+)= src[m, i, j] * f[i] * f[j] for the M = B*C matrices, f = flags of m / C. */
static void mask_adj_kernel(const float *src, const float *flags, int64_t M, int64_t C, int64_t N,
                            bool accumulate, float *dst) {
    #pragma omp parallel for if (M * N * N > SDG_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < M * N; r++) {
        int64_t m = r / N, i = r % N;
        const float *f = flags + (m / C) * N;
        const float *s = src + r * N;
        float *d = dst + r * N;
        for (int64_t j = 0; j < N; j++) {
            float v = s[j] * (f[i] * f[j]);
            d[j] = accumulate ? d[j] + v : v;
        }
    }
}

/* i[0] = M, i[1] = C, i[2] = N. */
static void mask_adj_backward(sdg_ctx *ctx, sdg_node *n) {
    sdg_tensor *a = n->in[0], *y = n->out;
    const sdg_tensor *flags = n->cptr;
    if (!a->grad) return;
    mask_adj_kernel(y->grad, flags->data, n->i[0], n->i[1], n->i[2], true, a->grad);
    sdg_ctx_add_flops(ctx, SDG_OP_MASK, 3.0 * (double)a->size);
}

/* a: (B, N, N) or (B, C, N, N), flags: (B, N) -> y: shape of a. */
sdg_tensor *sdg_mask_adj(sdg_ctx *ctx, sdg_tensor *a, const sdg_tensor *flags) {
    if (!nn_ok(ctx, 2, a, flags)) return NULL;
    char sa[64], sf[64];
    int nd = a->ndim;
    if ((nd != 3 && nd != 4) || a->shape[nd - 1] != a->shape[nd - 2] || flags->ndim != 2 ||
        flags->shape[0] != a->shape[0] || flags->shape[1] != a->shape[nd - 1])
        return nn_fail(ctx, SDG_ERR_SHAPE, "mask_adj: flags %s do not match a %s "
                       "(B, [C,] N, N)", sdg_tensor_shape_str(flags, sf, sizeof sf),
                       sdg_tensor_shape_str(a, sa, sizeof sa));
    sdg_tensor *y = nn_out(ctx, nd, a->shape, 1, a);
    if (!y) return NULL;
    int64_t C = nd == 4 ? a->shape[1] : 1, N = a->shape[nd - 1], M = a->shape[0] * C;
    mask_adj_kernel(a->data, flags->data, M, C, N, false, y->data);
    sdg_ctx_add_flops(ctx, SDG_OP_MASK, 2.0 * (double)a->size);
    sdg_node *n = nn_record(ctx, SDG_OP_MASK, mask_adj_backward, y, 1, a);
    if (n) {
        n->cptr = flags;
        n->i[0] = M;
        n->i[1] = C;
        n->i[2] = N;
    }
    return y;
}
