/* Concatenation along an axis and slicing (narrowing) along an axis; both copy.
 * ref: torch.cat / torch.narrow
 * FLOPs: a copy counts 0 (noted under the op with 0); a backward accumulation counts 1 per
 * element added into a gradient. */
#include <string.h>
#include "nn/internal.h"

/* Columns per parallel task in copy_rows: 2 KiB of floats. */
#define ROW_CHUNK 512

/* Views x as (outer, x->shape[axis], inner) around axis. */
static void split_axis(const sdg_tensor *x, int axis, int64_t *outer, int64_t *inner) {
    *outer = nn_numel(axis, x->shape);
    *inner = nn_numel(x->ndim - axis - 1, x->shape + axis + 1);
}

/* dst[o * dld + j] (= or +=) src[o * sld + j] for o < outer, j < w. Parallel over
 * (row, chunk of ROW_CHUNK columns), so a single long row still splits. */
static void copy_rows(float *dst, int64_t dld, const float *src, int64_t sld, int64_t outer,
                      int64_t w, bool acc) {
    int64_t nch = (w + ROW_CHUNK - 1) / ROW_CHUNK, tasks = outer * nch;
    #pragma omp parallel for if (outer * w > SDG_PAR_MIN) schedule(static)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t o = t / nch, j0 = (t % nch) * ROW_CHUNK;
        int64_t m = w - j0 < ROW_CHUNK ? w - j0 : ROW_CHUNK;
        float *d = dst + o * dld + j0;
        const float *s = src + o * sld + j0;
        if (acc) {
            for (int64_t j = 0; j < m; j++) d[j] += s[j];
        } else {
            memcpy(d, s, (size_t)m * sizeof(float));
        }
    }
}

/* ---- concat: y = cat(xs, axis) ---- */
/* xs[k]: (..., L_k, ...) -> y: (..., sum L_k, ...); backward hands each input its block. */
static void concat_backward(sdg_ctx *ctx, sdg_node *nd) {
    sdg_tensor *const *xs = nd->aux;
    int n = (int)nd->i[0], ax = (int)nd->i[1];
    sdg_tensor *y = nd->out;
    int64_t outer, inner;
    split_axis(y, ax, &outer, &inner);
    int64_t ld = y->shape[ax] * inner, off = 0;   /* y viewed as (outer, ld) */
    double flops = 0;
    for (int k = 0; k < n; k++) {
        int64_t w = xs[k]->shape[ax] * inner;
        if (xs[k]->grad) {
            copy_rows(xs[k]->grad, w, y->grad + off, ld, outer, w, true);
            flops += (double)(outer * w);
        }
        off += w;
    }
    sdg_ctx_add_flops(ctx, SDG_OP_CONCAT, flops);
}

sdg_tensor *sdg_concat(sdg_ctx *ctx, sdg_tensor *const *xs, int n, int axis) {
    if (ctx->status != SDG_OK) return NULL;
    if (!xs || n < 1) return nn_fail(ctx, SDG_ERR_INVALID, "concat: %d inputs (at least 1)", n);
    for (int k = 0; k < n; k++)
        if (!nn_ok(ctx, 1, xs[k])) return NULL;
    char s0[64], sk[64];
    int ax = nn_axis(xs[0], axis);
    if (ax < 0)
        return nn_fail(ctx, SDG_ERR_SHAPE, "concat: axis %d out of range for input 0 of shape %s",
                       axis, sdg_tensor_shape_str(xs[0], s0, sizeof s0));
    int64_t shape[SDG_MAX_DIMS];
    memcpy(shape, xs[0]->shape, sizeof shape);
    shape[ax] = 0;
    sdg_tensor *gsrc = xs[0];   /* an input with a gradient, if any: decides y's gradient */
    for (int k = 0; k < n; k++) {
        bool fits = xs[k]->ndim == xs[0]->ndim;
        for (int d = 0; fits && d < xs[0]->ndim; d++)
            if (d != ax && xs[k]->shape[d] != xs[0]->shape[d]) fits = false;
        if (!fits)
            return nn_fail(ctx, SDG_ERR_SHAPE, "concat: input %d has shape %s but input 0 has %s "
                           "(only axis %d may differ)", k, sdg_tensor_shape_str(xs[k], sk, sizeof sk),
                           sdg_tensor_shape_str(xs[0], s0, sizeof s0), ax);
        shape[ax] += xs[k]->shape[ax];
        if (xs[k]->grad && !gsrc->grad) gsrc = xs[k];
    }
    sdg_tensor *y = nn_out(ctx, xs[0]->ndim, shape, 1, gsrc);
    if (!y) return NULL;
    int64_t outer, inner;
    split_axis(y, ax, &outer, &inner);
    int64_t ld = shape[ax] * inner, off = 0;
    for (int k = 0; k < n; k++) {
        int64_t w = xs[k]->shape[ax] * inner;
        copy_rows(y->data + off, ld, xs[k]->data, w, outer, w, false);
        off += w;
    }
    sdg_ctx_add_flops(ctx, SDG_OP_CONCAT, 0);
    /* n->in holds the first 4 inputs (for inspection); the full list is copied to aux. */
    sdg_node *nd = nn_record(ctx, SDG_OP_CONCAT, concat_backward, y, n < 4 ? n : 4, xs[0],
                             n > 1 ? xs[1] : NULL, n > 2 ? xs[2] : NULL, n > 3 ? xs[3] : NULL);
    if (nd) {
        sdg_tensor **saved = nn_alloc(ctx, (size_t)n * sizeof *saved);
        if (!saved) return NULL;
        memcpy(saved, xs, (size_t)n * sizeof *saved);
        nd->aux = saved;
        nd->i[0] = n;
        nd->i[1] = ax;
    }
    return y;
}

/* ---- slice: y = x[..., start : start + len, ...] along axis ---- */
/* x: (outer, D, inner) -> y: (outer, len, inner) */
static void slice_backward(sdg_ctx *ctx, sdg_node *nd) {
    sdg_tensor *x = nd->in[0], *y = nd->out;
    if (!x->grad) return;
    int ax = (int)nd->i[0];
    int64_t start = nd->i[1], outer, inner;
    split_axis(x, ax, &outer, &inner);
    int64_t w = y->shape[ax] * inner;
    copy_rows(x->grad + start * inner, x->shape[ax] * inner, y->grad, w, outer, w, true);
    sdg_ctx_add_flops(ctx, SDG_OP_SLICE, (double)y->size);
}

sdg_tensor *sdg_slice(sdg_ctx *ctx, sdg_tensor *x, int axis, int64_t start, int64_t len) {
    if (!nn_ok(ctx, 1, x)) return NULL;
    char sx[64];
    int ax = nn_axis(x, axis);
    if (ax < 0)
        return nn_fail(ctx, SDG_ERR_SHAPE, "slice: axis %d out of range for x of shape %s", axis,
                       sdg_tensor_shape_str(x, sx, sizeof sx));
    /* as torch.narrow, a negative start counts from the end */
    int64_t dim = x->shape[ax], s = start < 0 ? start + dim : start;
    if (s < 0 || s > dim || len < 0 || len > dim - s)
        return nn_fail(ctx, SDG_ERR_SHAPE, "slice: start %lld, length %lld out of range for axis %d "
                       "(size %lld) of x of shape %s", (long long)start, (long long)len, ax,
                       (long long)dim, sdg_tensor_shape_str(x, sx, sizeof sx));
    int64_t shape[SDG_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[ax] = len;
    sdg_tensor *y = nn_out(ctx, x->ndim, shape, 1, x);
    if (!y) return NULL;
    int64_t outer, inner;
    split_axis(x, ax, &outer, &inner);
    int64_t w = len * inner;
    copy_rows(y->data, w, x->data + s * inner, dim * inner, outer, w, false);
    sdg_ctx_add_flops(ctx, SDG_OP_SLICE, 0);
    sdg_node *nd = nn_record(ctx, SDG_OP_SLICE, slice_backward, y, 1, x);
    if (nd) {
        nd->i[0] = ax;
        nd->i[1] = s;
    }
    return y;
}
