/* Axis permutation (and transpose), which copies, and reshape, which is a view: the output
 * shares x's data (every tensor is contiguous, so the element order is the same) and, when x
 * is an op's output, its gradient buffer, so that its backward has nothing left to do (a
 * reshaped leaf gets a gradient buffer of its own, copied back).
 * ref: torch.permute / torch.transpose / torch.reshape
 * FLOPs: a copy counts 0 (noted under the op with 0); a backward accumulation counts 1 per
 * element added into a gradient.
 *
 * A permutation is first reduced: size-1 axes are dropped and output axes that read adjacent
 * input axes in order are merged. The common cases then become one batched 2-D transpose
 * (P, R, C) -> (P, C, R): swapping the last two axes of (B, N, N) or (B, C, N, N) gives
 * (B or B*C, N, N), and moving channels (B, N, N, C) -> (B, C, N, N) gives (B, N*N, C).
 * Everything else goes through a strided 4-D loop whose innermost axis is the output's. */
#include <string.h>
#include "nn/internal.h"

#define TILE 32   /* transpose tile: 32 x 32 floats = 4 KiB, fits L1 */

typedef struct perm_plan {
    int     nd;                  /* 0: a plain copy */
    int64_t shape[SDG_MAX_DIMS]; /* reduced input shape */
    int     perm[SDG_MAX_DIMS];  /* reduced permutation */
} perm_plan;

static void perm_plan_make(int ndim, const int64_t *shape, const int *perm, perm_plan *p) {
    int map[SDG_MAX_DIMS], p1[SDG_MAX_DIMS], m = 0, k = 0;
    int64_t s1[SDG_MAX_DIMS];
    for (int a = 0; a < ndim; a++) {   /* drop size-1 axes */
        map[a] = shape[a] == 1 ? -1 : k;
        if (shape[a] != 1) s1[k++] = shape[a];
    }
    for (int i = 0; i < ndim; i++)
        if (map[perm[i]] >= 0) p1[m++] = map[perm[i]];
    int gfirst[SDG_MAX_DIMS], glen[SDG_MAX_DIMS], ng = 0;   /* runs of adjacent input axes */
    for (int i = 0; i < m; i++) {
        if (i > 0 && p1[i] == p1[i - 1] + 1) {
            glen[ng - 1]++;
        } else {
            gfirst[ng] = p1[i];
            glen[ng++] = 1;
        }
    }
    p->nd = ng;
    for (int g = 0; g < ng; g++) {   /* the runs, ordered by first input axis, are the new axes */
        int rank = 0;
        for (int h = 0; h < ng; h++) rank += gfirst[h] < gfirst[g];
        p->perm[g] = rank;
        p->shape[rank] = nn_numel(glen[g], s1 + gfirst[g]);
    }
}

/* dst (P, C, R) (= or +=) transpose of src (P, R, C), tile by tile. */
static void transpose_kernel(const float *src, int64_t P, int64_t R, int64_t C, float *dst,
                             bool acc) {
    int64_t tr = (R + TILE - 1) / TILE, tc = (C + TILE - 1) / TILE, tasks = P * tr * tc;
    #pragma omp parallel for if (P * R * C > SDG_PAR_MIN) schedule(static)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t p = t / (tr * tc), r0 = (t / tc) % tr * TILE, c0 = t % tc * TILE;
        int64_t r1 = r0 + TILE < R ? r0 + TILE : R, c1 = c0 + TILE < C ? c0 + TILE : C;
        const float *s = src + p * R * C;
        float *d = dst + p * R * C;
        for (int64_t c = c0; c < c1; c++) {
            if (acc) {
                for (int64_t r = r0; r < r1; r++) d[c * R + r] += s[r * C + c];
            } else {
                for (int64_t r = r0; r < r1; r++) d[c * R + r] = s[r * C + c];
            }
        }
    }
}

/* dst (the permuted layout, contiguous) (= or +=) src read through strides. */
static void strided_kernel(const float *src, const perm_plan *pl, float *dst, bool acc) {
    int64_t in_st[SDG_MAX_DIMS], n[4] = {1, 1, 1, 1}, st[4] = {0, 0, 0, 0}, stride = 1;
    for (int a = pl->nd - 1; a >= 0; a--) {
        in_st[a] = stride;
        stride *= pl->shape[a];
    }
    for (int i = 0; i < pl->nd; i++) {   /* output axes, right-aligned in 4-D */
        n[4 - pl->nd + i] = pl->shape[pl->perm[i]];
        st[4 - pl->nd + i] = in_st[pl->perm[i]];
    }
    int64_t rows = n[0] * n[1] * n[2];
    #pragma omp parallel for if (rows * n[3] > SDG_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int64_t i0 = r / (n[1] * n[2]), i1 = (r / n[2]) % n[1], i2 = r % n[2];
        const float *s = src + i0 * st[0] + i1 * st[1] + i2 * st[2];
        float *d = dst + r * n[3];
        if (acc) {
            for (int64_t i = 0; i < n[3]; i++) d[i] += s[i * st[3]];
        } else {
            for (int64_t i = 0; i < n[3]; i++) d[i] = s[i * st[3]];
        }
    }
}

/* dst (= or +=) src (size elements); parallel when large. */
static void copy_flat(const float *src, int64_t size, float *dst, bool acc) {
    if (!acc) {
        memcpy(dst, src, (size_t)size * sizeof(float));
        return;
    }
    #pragma omp parallel for if (size > SDG_PAR_MIN) schedule(static)
    for (int64_t k = 0; k < size; k++) dst[k] += src[k];
}

/* src of shape (ndim, shape) permuted by perm into dst (= or +=). */
static void permute_run(const float *src, int ndim, const int64_t *shape, const int *perm,
                        float *dst, bool acc) {
    perm_plan pl;
    perm_plan_make(ndim, shape, perm, &pl);
    const int *q = pl.perm;
    if (pl.nd <= 1)
        copy_flat(src, nn_numel(ndim, shape), dst, acc);
    else if (pl.nd == 2)   /* necessarily (1, 0) */
        transpose_kernel(src, 1, pl.shape[0], pl.shape[1], dst, acc);
    else if (pl.nd == 3 && q[0] == 0 && q[1] == 2 && q[2] == 1)
        transpose_kernel(src, pl.shape[0], pl.shape[1], pl.shape[2], dst, acc);
    else
        strided_kernel(src, &pl, dst, acc);
}

/* ---- permute: y.shape[i] = x.shape[perm[i]] ---- */
/* backward: grad_x += grad_y permuted by the inverse permutation */
static void permute_backward(sdg_ctx *ctx, sdg_node *nd) {
    sdg_tensor *x = nd->in[0], *y = nd->out;
    if (!x->grad) return;
    int inv[SDG_MAX_DIMS];
    for (int i = 0; i < y->ndim; i++) inv[nd->i[i]] = i;
    permute_run(y->grad, y->ndim, y->shape, inv, x->grad, true);
    sdg_ctx_add_flops(ctx, SDG_OP_PERMUTE, (double)x->size);
}

sdg_tensor *sdg_permute(sdg_ctx *ctx, sdg_tensor *x, const int *perm) {
    if (!nn_ok(ctx, 1, x)) return NULL;
    char sx[64];
    if (!perm) return nn_fail(ctx, SDG_ERR_INVALID, "permute: perm is NULL");
    int p[SDG_MAX_DIMS];
    unsigned seen = 0;
    int64_t shape[SDG_MAX_DIMS];
    /* as in torch.permute, a negative entry counts from the end */
    for (int i = 0; i < x->ndim; i++) {
        p[i] = perm[i] < 0 ? perm[i] + x->ndim : perm[i];
        if (p[i] < 0 || p[i] >= x->ndim || (seen >> p[i] & 1u))
            return nn_fail(ctx, SDG_ERR_INVALID, "permute: perm[%d] = %d repeats an axis or is out "
                           "of range: not a permutation of the %d axes of x of shape %s", i,
                           perm[i], x->ndim, sdg_tensor_shape_str(x, sx, sizeof sx));
        seen |= 1u << p[i];
        shape[i] = x->shape[p[i]];
    }
    sdg_tensor *y = nn_out(ctx, x->ndim, shape, 1, x);
    if (!y) return NULL;
    permute_run(x->data, x->ndim, x->shape, p, y->data, false);
    sdg_ctx_add_flops(ctx, SDG_OP_PERMUTE, 0);
    sdg_node *nd = nn_record(ctx, SDG_OP_PERMUTE, permute_backward, y, 1, x);
    if (nd)
        for (int i = 0; i < x->ndim; i++) nd->i[i] = p[i];
    return y;
}

sdg_tensor *sdg_transpose(sdg_ctx *ctx, sdg_tensor *x, int axis0, int axis1) {
    if (!nn_ok(ctx, 1, x)) return NULL;
    int a0 = nn_axis(x, axis0), a1 = nn_axis(x, axis1);
    if (a0 < 0 || a1 < 0) {
        char sx[64];
        return nn_fail(ctx, SDG_ERR_SHAPE, "transpose: axes (%d, %d) out of range for x of shape %s",
                       axis0, axis1, sdg_tensor_shape_str(x, sx, sizeof sx));
    }
    int p[SDG_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) p[i] = i;
    p[a0] = a1;
    p[a1] = a0;
    return sdg_permute(ctx, x, p);
}

/* ---- reshape: same elements in the same order, new shape ---- */
static void reshape_backward(sdg_ctx *ctx, sdg_node *nd) {
    sdg_tensor *x = nd->in[0];
    if (!x->grad || nd->out->grad == x->grad) return;   /* shared buffer: already in x's */
    copy_flat(nd->out->grad, x->size, x->grad, true);
    sdg_ctx_add_flops(ctx, SDG_OP_RESHAPE, (double)x->size);
}

sdg_tensor *sdg_reshape(sdg_ctx *ctx, sdg_tensor *x, int ndim, const int64_t *shape) {
    if (!nn_ok(ctx, 1, x)) return NULL;
    char sx[64];
    if (ndim < 1 || ndim > SDG_MAX_DIMS || !shape)
        return nn_fail(ctx, SDG_ERR_INVALID, "reshape: %d dimensions (1 to %d allowed)", ndim,
                       SDG_MAX_DIMS);
    int64_t s[SDG_MAX_DIMS], known = 1;
    int infer = -1;
    for (int i = 0; i < ndim; i++) {
        s[i] = shape[i];
        if (s[i] == -1 && infer < 0) {
            infer = i;
        } else if (s[i] < 0) {
            return nn_fail(ctx, SDG_ERR_SHAPE, "reshape: entry %d of the new shape is %lld (only one "
                           "-1 is allowed)", i, (long long)s[i]);
        } else {
            known *= s[i];
        }
    }
    if (infer >= 0) {
        if (known == 0 || x->size % known != 0)
            return nn_fail(ctx, SDG_ERR_SHAPE, "reshape: cannot infer entry %d: %lld elements of x "
                           "of shape %s do not split into blocks of %lld", infer,
                           (long long)x->size, sdg_tensor_shape_str(x, sx, sizeof sx),
                           (long long)known);
        s[infer] = x->size / known;
    } else if (known != x->size) {
        return nn_fail(ctx, SDG_ERR_SHAPE, "reshape: x of shape %s has %lld elements, the new shape "
                       "%lld", sdg_tensor_shape_str(x, sx, sizeof sx), (long long)x->size,
                       (long long)known);
    }
    sdg_tensor *y = nn_view(ctx, ndim, s, x->data, x);
    if (!y) return NULL;
    sdg_ctx_add_flops(ctx, SDG_OP_RESHAPE, 0);
    nn_record(ctx, SDG_OP_RESHAPE, reshape_backward, y, 1, x);
    return y;
}
