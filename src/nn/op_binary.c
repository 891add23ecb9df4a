/* Element-wise add, sub, mul, div with NumPy broadcasting, and scale (alpha x + beta).
 * ref: torch.add / torch.sub / torch.mul / torch.div (broadcasting semantics) */
#include <string.h>
#include "nn/internal.h"

typedef enum { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV } bin_kind;
static const sdg_op bin_op[] = {SDG_OP_ADD, SDG_OP_SUB, SDG_OP_MUL, SDG_OP_DIV};

static inline float bin_apply(bin_kind k, float a, float b) {
    switch (k) {
    case BIN_ADD: return a + b;
    case BIN_SUB: return a - b;
    case BIN_MUL: return a * b;
    default:      return a / b;
    }
}

/* One row with both operands contiguous: a loop per kind, so that it vectorises. */
static void bin_row_contig(bin_kind k, const float *restrict a, const float *restrict b,
                           float *restrict y, int64_t n) {
    switch (k) {
    case BIN_ADD: for (int64_t i = 0; i < n; i++) y[i] = a[i] + b[i]; break;
    case BIN_SUB: for (int64_t i = 0; i < n; i++) y[i] = a[i] - b[i]; break;
    case BIN_MUL: for (int64_t i = 0; i < n; i++) y[i] = a[i] * b[i]; break;
    default:      for (int64_t i = 0; i < n; i++) y[i] = a[i] / b[i]; break;
    }
}

/* Visits the broadcast result row by row: rows of length n4[3], a and b at their strides. */
static void bin_forward_kernel(bin_kind k, const nn_bcast *bc, const float *a, const float *b,
                               float *y) {
    const int64_t *n = bc->n4;
    int64_t rows = n[0] * n[1] * n[2];
    #pragma omp parallel for if (rows * n[3] > SDG_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t i0 = r / (n[1] * n[2]), i1 = (r / n[2]) % n[1], i2 = r % n[2];
        const float *pa = a + i0 * bc->sa[0] + i1 * bc->sa[1] + i2 * bc->sa[2];
        const float *pb = b + i0 * bc->sb[0] + i1 * bc->sb[1] + i2 * bc->sb[2];
        float *py = y + r * n[3];
        int64_t ta = bc->sa[3], tb = bc->sb[3];
        if (ta == 1 && tb == 1) bin_row_contig(k, pa, pb, py, n[3]);
        else for (int64_t i = 0; i < n[3]; i++) py[i] = bin_apply(k, pa[i * ta], pb[i * tb]);
    }
}

/* d(a op b)/da and /db, evaluated at the broadcast positions, times gout, into tmp. */
static void bin_partial(bin_kind k, int side, const nn_bcast *bc, const float *a, const float *b,
                        const float *gout, float *tmp) {
    const int64_t *n = bc->n4;
    int64_t rows = n[0] * n[1] * n[2];
    #pragma omp parallel for if (rows * n[3] > SDG_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t i0 = r / (n[1] * n[2]), i1 = (r / n[2]) % n[1], i2 = r % n[2];
        const float *pa = a + i0 * bc->sa[0] + i1 * bc->sa[1] + i2 * bc->sa[2];
        const float *pb = b + i0 * bc->sb[0] + i1 * bc->sb[1] + i2 * bc->sb[2];
        const float *g = gout + r * n[3];
        float *t = tmp + r * n[3];
        int64_t ta = bc->sa[3], tb = bc->sb[3];
        for (int64_t i = 0; i < n[3]; i++) {
            float va = pa[i * ta], vb = pb[i * tb], d;
            switch (k) {
            case BIN_ADD: d = 1.0f; break;
            case BIN_SUB: d = side ? -1.0f : 1.0f; break;
            case BIN_MUL: d = side ? va : vb; break;
            default:      d = side ? -va / (vb * vb) : 1.0f / vb; break;
            }
            t[i] = g[i] * d;
        }
    }
}

static void bin_backward(sdg_ctx *ctx, sdg_node *nd) {
    bin_kind k = (bin_kind)nd->i[0];
    sdg_tensor *a = nd->in[0], *b = nd->in[1], *y = nd->out;
    nn_bcast bc;
    nn_broadcast(a, b, &bc);
    float *tmp = NULL;
    if (k != BIN_ADD) {
        tmp = nn_alloc(ctx, (size_t)y->size * sizeof(float));
        if (!tmp) return;
    }
    for (int side = 0; side < 2; side++) {
        sdg_tensor *t = side ? b : a;
        if (!t->grad) continue;
        const float *g = y->grad;
        if (tmp) {
            bin_partial(k, side, &bc, a->data, b->data, y->grad, tmp);
            g = tmp;
        }
        nn_reduce_broadcast(g, bc.n4, side ? bc.sb : bc.sa, t->grad, t->size);
    }
    sdg_ctx_add_flops(ctx, bin_op[k], (k == BIN_DIV ? 4.0 : 2.0) * (double)y->size);
}

static sdg_tensor *bin_forward(sdg_ctx *ctx, bin_kind k, sdg_tensor *a, sdg_tensor *b) {
    if (!nn_ok(ctx, 2, a, b)) return NULL;
    nn_bcast bc;
    if (!nn_broadcast(a, b, &bc)) {
        char sa[64], sb[64];
        return nn_fail(ctx, SDG_ERR_SHAPE, "%s: shapes %s and %s do not broadcast",
                       sdg_op_name(bin_op[k]), sdg_tensor_shape_str(a, sa, sizeof sa),
                       sdg_tensor_shape_str(b, sb, sizeof sb));
    }
    sdg_tensor *y = nn_out(ctx, bc.ndim, bc.shape, 2, a, b);
    if (!y) return NULL;
    bin_forward_kernel(k, &bc, a->data, b->data, y->data);
    sdg_ctx_add_flops(ctx, bin_op[k], (double)y->size);
    sdg_node *n = nn_record(ctx, bin_op[k], bin_backward, y, 2, a, b);
    if (n) n->i[0] = k;
    return y;
}

sdg_tensor *sdg_add(sdg_ctx *ctx, sdg_tensor *a, sdg_tensor *b) { return bin_forward(ctx, BIN_ADD, a, b); }
sdg_tensor *sdg_sub(sdg_ctx *ctx, sdg_tensor *a, sdg_tensor *b) { return bin_forward(ctx, BIN_SUB, a, b); }
sdg_tensor *sdg_mul(sdg_ctx *ctx, sdg_tensor *a, sdg_tensor *b) { return bin_forward(ctx, BIN_MUL, a, b); }
sdg_tensor *sdg_div(sdg_ctx *ctx, sdg_tensor *a, sdg_tensor *b) { return bin_forward(ctx, BIN_DIV, a, b); }

/* ---- scale: y = alpha x + beta ---- */
static void scale_backward(sdg_ctx *ctx, sdg_node *n) {
    sdg_tensor *x = n->in[0];
    float alpha = n->f[0];
    if (!x->grad) return;
    #pragma omp parallel for if (x->size > SDG_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < x->size; i++) x->grad[i] += alpha * n->out->grad[i];
    sdg_ctx_add_flops(ctx, SDG_OP_SCALE, 2.0 * (double)x->size);
}

sdg_tensor *sdg_scale(sdg_ctx *ctx, sdg_tensor *x, float alpha, float beta) {
    if (!nn_ok(ctx, 1, x)) return NULL;
    sdg_tensor *y = nn_out(ctx, x->ndim, x->shape, 1, x);
    if (!y) return NULL;
    #pragma omp parallel for if (x->size > SDG_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < x->size; i++) y->data[i] = alpha * x->data[i] + beta;
    sdg_ctx_add_flops(ctx, SDG_OP_SCALE, 2.0 * (double)x->size);
    sdg_node *n = nn_record(ctx, SDG_OP_SCALE, scale_backward, y, 1, x);
    if (n) n->f[0] = alpha;
    return y;
}
