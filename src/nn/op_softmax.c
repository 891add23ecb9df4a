/* Softmax over one axis with an optional 0/1 mask broadcastable to x.
 * ref: torch.softmax(x.masked_fill(mask == 0, -inf), dim), except that a slice with nothing
 *      included gives 0 (not nan) and a zero gradient.
 * Stable: the maximum over the included entries is subtracted before exp. Excluded entries
 * get probability exactly 0; since backward only uses y, they (and empty slices) get
 * gradient 0 with no need to keep the mask. Each slice is handled by one thread in index
 * order, so results do not depend on the thread count. */
#include <math.h>
#include "nn/internal.h"

/* keep[e] = (mask at x's element e) != 0, for mask broadcast to x's 4-D shape n4. */
static void softmax_expand_mask(const sdg_tensor *mask, const int64_t n4[4], unsigned char *keep) {
    int64_t s[4];
    nn_bcast_strides(mask, n4, s);
    int64_t rows = n4[0] * n4[1] * n4[2];
    #pragma omp parallel for if (rows * n4[3] > SDG_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t i0 = r / (n4[1] * n4[2]), i1 = (r / n4[2]) % n4[1], i2 = r % n4[2];
        const float *m = mask->data + i0 * s[0] + i1 * s[1] + i2 * s[2];
        for (int64_t i = 0; i < n4[3]; i++) keep[r * n4[3] + i] = m[i * s[3]] != 0.0f;
    }
}

/* True when mask broadcasts to x without stretching x (bc: the broadcast of x with mask). */
static bool mask_fits(const sdg_tensor *x, const sdg_tensor *mask, nn_bcast *bc) {
    if (mask->ndim > x->ndim || !nn_broadcast(x, mask, bc)) return false;
    for (int d = 0; d < x->ndim; d++)
        if (bc->shape[d] != x->shape[d]) return false;
    return true;
}

/* x, y viewed as (outer, len, inner): softmax over len for each (outer, inner) slice. */
static void softmax_kernel(const float *x, const unsigned char *keep, int64_t outer, int64_t len,
                           int64_t inner, float *y) {
    #pragma omp parallel for if (outer * len * inner > SDG_PAR_MIN) schedule(static)
    for (int64_t sl = 0; sl < outer * inner; sl++) {
        int64_t base = (sl / inner) * len * inner + sl % inner;
        float mx = -INFINITY;
        for (int64_t k = 0; k < len; k++) {
            int64_t e = base + k * inner;
            if ((!keep || keep[e]) && x[e] > mx) mx = x[e];
        }
        double sum = 0.0;
        for (int64_t k = 0; k < len; k++) {
            int64_t e = base + k * inner;
            y[e] = (!keep || keep[e]) && mx > -INFINITY ? expf(x[e] - mx) : 0.0f;
            sum += y[e];
        }
        float inv = sum > 0.0 ? (float)(1.0 / sum) : 0.0f;
        for (int64_t k = 0; k < len; k++) y[base + k * inner] *= inv;
    }
}

/* gx += y * (gy - sum_k y_k gy_k) along the axis. */
static void softmax_backward(sdg_ctx *ctx, sdg_node *n) {
    sdg_tensor *x = n->in[0], *y = n->out;
    if (!x->grad) return;
    int64_t outer = n->i[0], len = n->i[1], inner = n->i[2];
    const float *yd = y->data, *gy = y->grad;
    float *gx = x->grad;
    #pragma omp parallel for if (x->size > SDG_PAR_MIN) schedule(static)
    for (int64_t sl = 0; sl < outer * inner; sl++) {
        int64_t base = (sl / inner) * len * inner + sl % inner;
        double dot = 0.0;
        for (int64_t k = 0; k < len; k++) dot += (double)yd[base + k * inner] * gy[base + k * inner];
        for (int64_t k = 0; k < len; k++) {
            int64_t e = base + k * inner;
            gx[e] += yd[e] * (gy[e] - (float)dot);
        }
    }
    sdg_ctx_add_flops(ctx, SDG_OP_SOFTMAX, 5.0 * (double)x->size);
}

/* x: any shape; mask: broadcastable to x (or NULL) -> y: shape of x. */
sdg_tensor *sdg_softmax(sdg_ctx *ctx, sdg_tensor *x, int axis, const sdg_tensor *mask) {
    if (!nn_ok(ctx, 1, x)) return NULL;
    char sx[64], sm[64];
    int ax = nn_axis(x, axis);
    if (ax < 0)
        return nn_fail(ctx, SDG_ERR_SHAPE, "softmax: axis %d out of range for shape %s", axis,
                       sdg_tensor_shape_str(x, sx, sizeof sx));
    nn_bcast bc;
    unsigned char *keep = NULL;
    if (mask) {
        if (!mask->data) return nn_fail(ctx, SDG_ERR_INVALID, "softmax: mask has no data");
        if (!mask_fits(x, mask, &bc))
            return nn_fail(ctx, SDG_ERR_SHAPE, "softmax: mask %s does not broadcast to x %s",
                           sdg_tensor_shape_str(mask, sm, sizeof sm),
                           sdg_tensor_shape_str(x, sx, sizeof sx));
        keep = nn_alloc(ctx, (size_t)x->size);
        if (!keep) return NULL;
        softmax_expand_mask(mask, bc.n4, keep);
    }
    sdg_tensor *y = nn_out(ctx, x->ndim, x->shape, 1, x);
    if (!y) return NULL;
    int64_t outer = 1, inner = 1, len = x->shape[ax];
    for (int d = 0; d < ax; d++) outer *= x->shape[d];
    for (int d = ax + 1; d < x->ndim; d++) inner *= x->shape[d];
    softmax_kernel(x->data, keep, outer, len, inner, y->data);
    sdg_ctx_add_flops(ctx, SDG_OP_SOFTMAX, 14.0 * (double)x->size);   /* max, exp (10), sum, scale */
    sdg_node *n = nn_record(ctx, SDG_OP_SOFTMAX, softmax_backward, y, 1, x);
    if (n) {
        n->i[0] = outer;
        n->i[1] = len;
        n->i[2] = inner;
    }
    return y;
}
