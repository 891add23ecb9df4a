/* Reductions: sum and mean over one axis (or everything), Euclidean norm over the last axis.
 * ref: torch.sum / torch.mean (dim, keepdim); norm_last = torch.sqrt((x**2).sum(-1, keepdim=True) + eps)
 * Determinism: every output element is accumulated in double by one thread in index order;
 * the full reduction (SDG_AXIS_ALL) sums fixed chunks of RED_CHUNK elements, then adds the
 * chunk totals in order, so results are bit-identical for any OpenMP thread count. */
#include <math.h>
#include "nn/internal.h"

#define RED_CHUNK 4096   /* elements per partial sum of the full reduction (fixed) */
#define RED_TILE  64     /* inner columns accumulated together by one thread       */

/* x viewed as (outer, len, inner) -> y (outer, inner), y = scale * sum over len. */
static void reduce_axis_kernel(const float *x, int64_t outer, int64_t len, int64_t inner,
                               double scale, float *y) {
    int64_t tiles = (inner + RED_TILE - 1) / RED_TILE, jobs = outer * tiles;
    #pragma omp parallel for if (outer * len * inner > SDG_PAR_MIN) schedule(static)
    for (int64_t job = 0; job < jobs; job++) {
        int64_t o = job / tiles, i0 = (job % tiles) * RED_TILE;
        int64_t w = inner - i0 < RED_TILE ? inner - i0 : RED_TILE;
        double acc[RED_TILE] = {0};
        const float *p = x + o * len * inner + i0;
        for (int64_t k = 0; k < len; k++, p += inner)
            for (int64_t t = 0; t < w; t++) acc[t] += (double)p[t];
        for (int64_t t = 0; t < w; t++) y[o * inner + i0 + t] = (float)(acc[t] * scale);
    }
}

/* All n elements -> *y = scale * sum, with fixed chunks (partial: scratch of n/RED_CHUNK+1). */
static void reduce_all_kernel(const float *x, int64_t n, double scale, double *partial, float *y) {
    int64_t chunks = (n + RED_CHUNK - 1) / RED_CHUNK;
    #pragma omp parallel for if (n > SDG_PAR_MIN) schedule(static)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t end = (c + 1) * RED_CHUNK < n ? (c + 1) * RED_CHUNK : n;
        double acc = 0.0;
        for (int64_t i = c * RED_CHUNK; i < end; i++) acc += (double)x[i];
        partial[c] = acc;
    }
    double total = 0.0;
    for (int64_t c = 0; c < chunks; c++) total += partial[c];
    *y = (float)(total * scale);
}

/* gx (outer, len, inner) += scale * gy (outer, inner), broadcast over len. */
static void reduce_backward(sdg_ctx *ctx, sdg_node *n) {
    sdg_tensor *x = n->in[0], *y = n->out;
    if (!x->grad) return;
    int64_t outer = n->i[0], len = n->i[1], inner = n->i[2];
    float scale = n->f[0];
    const float *gy = y->grad;
    float *gx = x->grad;
    #pragma omp parallel for if (x->size > SDG_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < outer * len; r++) {
        const float *g = gy + (r / len) * inner;
        float *d = gx + r * inner;
        for (int64_t i = 0; i < inner; i++) d[i] += scale * g[i];
    }
    sdg_ctx_add_flops(ctx, n->op, 2.0 * (double)x->size);
}

/* x: (d0, .., d_axis, .., dk) -> (d0, .., [1,] .., dk); SDG_AXIS_ALL -> [1] (keepdim: all 1s). */
static sdg_tensor *reduce_forward(sdg_ctx *ctx, sdg_op op, sdg_tensor *x, int axis, bool keepdim) {
    if (!nn_ok(ctx, 1, x)) return NULL;
    char sx[64];
    int ax = axis == SDG_AXIS_ALL ? 0 : nn_axis(x, axis);
    if (ax < 0)
        return nn_fail(ctx, SDG_ERR_SHAPE, "%s: axis %d out of range for shape %s",
                       sdg_op_name(op), axis, sdg_tensor_shape_str(x, sx, sizeof sx));
    int64_t shape[SDG_MAX_DIMS] = {1, 1, 1, 1}, outer = 1, len = 1, inner = 1;
    int nd = 0;
    if (axis == SDG_AXIS_ALL) {
        len = x->size;
        nd = keepdim ? x->ndim : 1;
    } else {
        for (int d = 0; d < x->ndim; d++) {
            if (d < ax) outer *= x->shape[d];
            if (d > ax) inner *= x->shape[d];
            if (d != ax) shape[nd++] = x->shape[d];
            else if (keepdim) shape[nd++] = 1;
        }
        len = x->shape[ax];
        if (nd == 0) nd = 1;   /* 1-D input without keepdim: a [1] result */
    }
    sdg_tensor *y = nn_out(ctx, nd, shape, 1, x);
    if (!y) return NULL;
    double scale = op == SDG_OP_MEAN ? 1.0 / (double)len : 1.0;
    if (op == SDG_OP_MEAN && len == 0) scale = NAN;   /* torch: mean of nothing is nan */
    if (axis == SDG_AXIS_ALL) {
        double *partial = nn_alloc(ctx, (size_t)(len / RED_CHUNK + 1) * sizeof(double));
        if (!partial) return NULL;
        reduce_all_kernel(x->data, len, scale, partial, y->data);
    } else {
        reduce_axis_kernel(x->data, outer, len, inner, scale, y->data);
    }
    sdg_ctx_add_flops(ctx, op, (double)x->size);
    sdg_node *n = nn_record(ctx, op, reduce_backward, y, 1, x);
    if (n) {
        n->i[0] = outer;
        n->i[1] = len;
        n->i[2] = inner;
        n->f[0] = (float)scale;
    }
    return y;
}

sdg_tensor *sdg_sum(sdg_ctx *ctx, sdg_tensor *x, int axis, bool keepdim) {
    return reduce_forward(ctx, SDG_OP_SUM, x, axis, keepdim);
}

sdg_tensor *sdg_mean(sdg_ctx *ctx, sdg_tensor *x, int axis, bool keepdim) {
    return reduce_forward(ctx, SDG_OP_MEAN, x, axis, keepdim);
}

/* ---- norm over the last axis ---- */
/* x (R, D), y (R, 1): gx += gy * x / y. */
static void norm_last_backward(sdg_ctx *ctx, sdg_node *n) {
    sdg_tensor *x = n->in[0], *y = n->out;
    if (!x->grad) return;
    int64_t D = x->shape[x->ndim - 1], R = D ? x->size / D : 0;
    #pragma omp parallel for if (x->size > SDG_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < R; r++) {
        float g = y->grad[r] / y->data[r];
        for (int64_t k = 0; k < D; k++) x->grad[r * D + k] += g * x->data[r * D + k];
    }
    sdg_ctx_add_flops(ctx, SDG_OP_NORM, 2.0 * (double)x->size + (double)R);
}

/* x: (..., D) -> y: (..., 1), y = sqrt(sum_k x_k^2 + eps). */
sdg_tensor *sdg_norm_last(sdg_ctx *ctx, sdg_tensor *x, float eps) {
    if (!nn_ok(ctx, 1, x)) return NULL;
    if (!(eps >= 0.0f))
        return nn_fail(ctx, SDG_ERR_INVALID, "norm: eps %g must be >= 0", (double)eps);
    int64_t shape[SDG_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) shape[d] = x->shape[d];
    shape[x->ndim - 1] = 1;
    sdg_tensor *y = nn_out(ctx, x->ndim, shape, 1, x);
    if (!y) return NULL;
    int64_t D = x->shape[x->ndim - 1], R = y->size;
    #pragma omp parallel for if (x->size > SDG_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < R; r++) {
        double acc = 0.0;
        for (int64_t k = 0; k < D; k++) acc += (double)x->data[r * D + k] * x->data[r * D + k];
        y->data[r] = (float)sqrt(acc + (double)eps);
    }
    sdg_ctx_add_flops(ctx, SDG_OP_NORM, 2.0 * (double)x->size + 11.0 * (double)R);
    nn_record(ctx, SDG_OP_NORM, norm_last_backward, y, 1, x);
    return y;
}
