/* Row gather and row scatter-add by an index array; each is the other's backward.
 * ref: torch.index_select(x, 0, idx) / torch.zeros(n_out, F).index_add_(0, idx, x)
 * The idx array is BORROWED: both ops keep the caller's pointer on the tape (node->cptr), so
 * it must stay alive and unchanged until sdg_backward() has run (or the ctx is reset).
 * Determinism: a scatter sums into each output row in increasing i, whatever the thread
 * count; threads split output rows (and column blocks), never race on one row, no atomics.
 * FLOPs: a copy counts 0 (noted under the op with 0); every float addition counts 1. */
#include <string.h>
#include "nn/internal.h"

#define COL_CHUNK 512   /* columns per parallel scatter task: 2 KiB of floats */

/* Fails naming the first entry of idx outside [0, bound). */
static bool idx_check(sdg_ctx *ctx, const char *op, const int64_t *idx, int64_t n, int64_t bound,
                      const sdg_tensor *x) {
    for (int64_t i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= bound) {
            char sx[64];
            nn_fail(ctx, SDG_ERR_INVALID, "%s: idx[%lld] = %lld is out of range [0, %lld) (x of "
                    "shape %s)", op, (long long)i, (long long)idx[i], (long long)bound,
                    sdg_tensor_shape_str(x, sx, sizeof sx));
            return false;
        }
    }
    return true;
}

/* dst (n_out, F) += src (n, F) rows: dst[idx[i]] += src[i]. Small inputs run the plain loop;
 * large ones group the sources of each output row (counting sort, stable, so still in
 * increasing i) and split (row, column block) tasks over threads. Same result either way. */
static bool scatter_rows(sdg_ctx *ctx, float *dst, int64_t n_out, const float *src,
                         const int64_t *idx, int64_t n, int64_t F) {
    if (n * F <= SDG_PAR_MIN) {
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < F; j++) dst[idx[i] * F + j] += src[i * F + j];
        return true;
    }
    int64_t *start = nn_alloc(ctx, (size_t)(n_out + 1) * sizeof *start);
    int64_t *order = nn_alloc(ctx, (size_t)n * sizeof *order);
    if (!start || !order) return false;
    memset(start, 0, (size_t)(n_out + 1) * sizeof *start);
    for (int64_t i = 0; i < n; i++) start[idx[i] + 1]++;
    for (int64_t r = 0; r < n_out; r++) start[r + 1] += start[r];
    for (int64_t i = 0; i < n; i++) order[start[idx[i]]++] = i;   /* start[r] -> end of row r */
    int64_t nch = (F + COL_CHUNK - 1) / COL_CHUNK, tasks = n_out * nch;
    #pragma omp parallel for schedule(dynamic, 16)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t r = t / nch, j0 = (t % nch) * COL_CHUNK;
        int64_t m = F - j0 < COL_CHUNK ? F - j0 : COL_CHUNK;
        int64_t k0 = r ? start[r - 1] : 0;
        float *d = dst + r * F + j0;
        for (int64_t k = k0; k < start[r]; k++) {
            const float *s = src + order[k] * F + j0;
            for (int64_t j = 0; j < m; j++) d[j] += s[j];
        }
    }
    return true;
}

/* ---- gather: y[i] = x[idx[i]] ---- */
/* x: (R, F), y: (n, F); backward: grad_x[idx[i]] += grad_y[i] (a scatter-add) */
static void gather_backward(sdg_ctx *ctx, sdg_node *nd) {
    sdg_tensor *x = nd->in[0], *y = nd->out;
    if (!x->grad) return;
    if (!scatter_rows(ctx, x->grad, x->shape[0], y->grad, nd->cptr, y->shape[0], x->shape[1]))
        return;
    sdg_ctx_add_flops(ctx, SDG_OP_GATHER, (double)y->size);
}

sdg_tensor *sdg_gather(sdg_ctx *ctx, sdg_tensor *x, const int64_t *idx, int64_t n) {
    if (!nn_ok(ctx, 1, x)) return NULL;
    char sx[64];
    if (x->ndim != 2)
        return nn_fail(ctx, SDG_ERR_SHAPE, "gather: x must be (R, F), got shape %s",
                       sdg_tensor_shape_str(x, sx, sizeof sx));
    if (n < 0 || (n > 0 && !idx))
        return nn_fail(ctx, SDG_ERR_INVALID, "gather: %lld indices at %p", (long long)n,
                       (const void *)idx);
    if (!idx_check(ctx, "gather", idx, n, x->shape[0], x)) return NULL;
    int64_t F = x->shape[1];
    sdg_tensor *y = nn_out(ctx, 2, (int64_t[]){n, F}, 1, x);
    if (!y) return NULL;
    #pragma omp parallel for if (n * F > SDG_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++)
        memcpy(y->data + i * F, x->data + idx[i] * F, (size_t)F * sizeof(float));
    sdg_ctx_add_flops(ctx, SDG_OP_GATHER, 0);
    sdg_node *nd = nn_record(ctx, SDG_OP_GATHER, gather_backward, y, 1, x);
    if (nd) nd->cptr = idx;   /* borrowed: see the top of this file */
    return y;
}

/* ---- scatter-add: y = 0; y[idx[i]] += x[i] ---- */
/* x: (n, F), y: (n_out, F); backward: grad_x[i] += grad_y[idx[i]] (a gather) */
static void scatter_add_backward(sdg_ctx *ctx, sdg_node *nd) {
    sdg_tensor *x = nd->in[0], *y = nd->out;
    if (!x->grad) return;
    const int64_t *idx = nd->cptr;
    int64_t n = x->shape[0], F = x->shape[1];
    #pragma omp parallel for if (x->size > SDG_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float *g = x->grad + i * F;
        const float *s = y->grad + idx[i] * F;
        for (int64_t j = 0; j < F; j++) g[j] += s[j];
    }
    sdg_ctx_add_flops(ctx, SDG_OP_SCATTER_ADD, (double)x->size);
}

sdg_tensor *sdg_scatter_add(sdg_ctx *ctx, sdg_tensor *x, const int64_t *idx, int64_t n_out) {
    if (!nn_ok(ctx, 1, x)) return NULL;
    char sx[64];
    if (x->ndim != 2)
        return nn_fail(ctx, SDG_ERR_SHAPE, "scatter_add: x must be (n, F), got shape %s",
                       sdg_tensor_shape_str(x, sx, sizeof sx));
    int64_t n = x->shape[0], F = x->shape[1];
    if (n_out < 0 || (n > 0 && !idx))
        return nn_fail(ctx, SDG_ERR_INVALID, "scatter_add: n_out %lld, idx %p", (long long)n_out,
                       (const void *)idx);
    if (!idx_check(ctx, "scatter_add", idx, n, n_out, x)) return NULL;
    sdg_tensor *y = nn_out(ctx, 2, (int64_t[]){n_out, F}, 1, x);
    if (!y) return NULL;
    memset(y->data, 0, (size_t)y->size * sizeof(float));
    if (!scatter_rows(ctx, y->data, n_out, x->data, idx, n, F)) return NULL;
    sdg_ctx_add_flops(ctx, SDG_OP_SCATTER_ADD, (double)x->size);
    sdg_node *nd = nn_record(ctx, SDG_OP_SCATTER_ADD, scatter_add_backward, y, 1, x);
    if (nd) nd->cptr = idx;   /* borrowed: see the top of this file */
    return y;
}
