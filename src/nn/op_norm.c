/* Layer norm and group norm, and their affine layers.
 * ref: torch.nn.functional.layer_norm(x, (D,), weight, bias, eps) and
 *      torch.nn.functional.group_norm(x, groups, weight, bias, eps); biased variance.
 * Both are one kernel: x is seen as rows of M = Cg * L elements (a row is one (batch, group)
 * slice; layer norm is G = 1, Cg = D, L = 1), and element k of row r has channel
 * (r % G) * Cg + k / L for the affine weight and bias. Row statistics are computed in double,
 * two-pass; weight/bias gradients are summed per channel by one thread in a fixed order. */
#include <math.h>
#include <stdio.h>
#include "nn/internal.h"

#define NORM_TILE 16   /* channels whose weight/bias gradients one thread accumulates */

typedef struct norm_geom {
    int64_t rows, G, Cg, L;   /* rows = B * G; row length M = Cg * L */
} norm_geom;

/* y = (x - mean_r) * rstd_r * w[ch] + b[ch]; stats: (rows, 2) = (mean, rstd). The element
 * loops run per channel over its L contiguous elements (no division, no branch inside). */
static void norm_forward_kernel(const norm_geom *g, const float *x, const float *w,
                                const float *b, float eps, float *y, float *stats) {
    int64_t M = g->Cg * g->L;
    #pragma omp parallel for if (g->rows * M > SDG_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < g->rows; r++) {
        const float *xr = x + r * M;
        double s = 0.0, v = 0.0;
        for (int64_t k = 0; k < M; k++) s += xr[k];
        double mean = M ? s / (double)M : 0.0;
        for (int64_t k = 0; k < M; k++) v += ((double)xr[k] - mean) * ((double)xr[k] - mean);
        double rstd = 1.0 / sqrt((M ? v / (double)M : 0.0) + (double)eps);
        stats[2 * r] = (float)mean;
        stats[2 * r + 1] = (float)rstd;
        int64_t c0 = (r % g->G) * g->Cg;
        for (int64_t j = 0; j < g->Cg; j++) {
            const float *xc = xr + j * g->L;
            float *yc = y + r * M + j * g->L;
            float wc = w ? w[c0 + j] : 1.0f, bc = b ? b[c0 + j] : 0.0f;
            float fm = (float)mean, fr = (float)rstd;
            for (int64_t l = 0; l < g->L; l++) yc[l] = (xc[l] - fm) * fr * wc + bc;
        }
    }
}

/* gx += rstd * (gh - mean(gh) - xhat * mean(gh * xhat)), gh = gy * w, per row. */
static void norm_backward_x(const norm_geom *g, const float *x, const float *w, const float *stats,
                            const float *gy, float *gx) {
    int64_t M = g->Cg * g->L;
    #pragma omp parallel for if (g->rows * M > SDG_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < g->rows; r++) {
        float mean = stats[2 * r], rstd = stats[2 * r + 1];
        int64_t c0 = (r % g->G) * g->Cg, o = r * M;
        double s1 = 0.0, s2 = 0.0;
        for (int64_t j = 0; j < g->Cg; j++) {
            float wc = w ? w[c0 + j] : 1.0f, a1 = 0.0f, a2 = 0.0f;
            const float *xc = x + o + j * g->L, *gc = gy + o + j * g->L;
            for (int64_t l = 0; l < g->L; l++) {
                a1 += gc[l];
                a2 += gc[l] * ((xc[l] - mean) * rstd);
            }
            s1 += (double)a1 * wc;
            s2 += (double)a2 * wc;
        }
        float m1 = M ? (float)(s1 / (double)M) : 0.0f, m2 = M ? (float)(s2 / (double)M) : 0.0f;
        for (int64_t j = 0; j < g->Cg; j++) {
            float wc = w ? w[c0 + j] : 1.0f;
            const float *xc = x + o + j * g->L, *gc = gy + o + j * g->L;
            float *dc = gx + o + j * g->L;
            for (int64_t l = 0; l < g->L; l++)
                dc[l] += rstd * (gc[l] * wc - m1 - (xc[l] - mean) * rstd * m2);
        }
    }
}

/* gw[c] += sum gy * xhat, gb[c] += sum gy over every (batch, l) of channel c (either may be NULL). */
static void norm_backward_affine(const norm_geom *g, const float *x, const float *stats,
                                 const float *gy, float *gw, float *gb) {
    int64_t C = g->G * g->Cg, M = g->Cg * g->L, B = g->rows / g->G;
    int64_t tiles = (C + NORM_TILE - 1) / NORM_TILE;
    #pragma omp parallel for if (g->rows * M > SDG_PAR_MIN) schedule(static)
    for (int64_t t = 0; t < tiles; t++) {
        double aw[NORM_TILE] = {0}, ab[NORM_TILE] = {0};
        int64_t c0 = t * NORM_TILE, nc = C - c0 < NORM_TILE ? C - c0 : NORM_TILE;
        for (int64_t bi = 0; bi < B; bi++)
            for (int64_t j = 0; j < nc; j++) {
                int64_t c = c0 + j, r = bi * g->G + c / g->Cg, o = r * M + (c % g->Cg) * g->L;
                float mean = stats[2 * r], rstd = stats[2 * r + 1];
                for (int64_t l = 0; l < g->L; l++) {
                    aw[j] += (double)gy[o + l] * ((x[o + l] - mean) * rstd);
                    ab[j] += gy[o + l];
                }
            }
        for (int64_t j = 0; j < nc; j++) {
            if (gw) gw[c0 + j] += (float)aw[j];
            if (gb) gb[c0 + j] += (float)ab[j];
        }
    }
}

static void norm_backward(sdg_ctx *ctx, sdg_node *n) {
    sdg_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2], *y = n->out;
    norm_geom g = {n->i[0], n->i[1], n->i[2], n->i[3]};
    const float *stats = n->aux;
    if (x->grad) norm_backward_x(&g, x->data, w ? w->data : NULL, stats, y->grad, x->grad);
    float *gw = w ? w->grad : NULL, *gb = b ? b->grad : NULL;
    if (gw || gb) norm_backward_affine(&g, x->data, stats, y->grad, gw, gb);
    sdg_ctx_add_flops(ctx, n->op, (x->grad ? 12.0 : 0.0) * (double)x->size +
                                      (gw || gb ? 5.0 : 0.0) * (double)x->size);
}

/* Common forward: validated geometry g, weight/bias (C) or NULL. */
static sdg_tensor *norm_forward(sdg_ctx *ctx, sdg_op op, const norm_geom *g, sdg_tensor *x,
                                sdg_tensor *w, sdg_tensor *b, float eps) {
    sdg_tensor *y = nn_out(ctx, x->ndim, x->shape, 3, x, w, b);
    float *stats = nn_alloc(ctx, (size_t)(2 * g->rows) * sizeof(float));
    if (!y || !stats) return NULL;
    norm_forward_kernel(g, x->data, w ? w->data : NULL, b ? b->data : NULL, eps, y->data, stats);
    sdg_ctx_add_flops(ctx, op, 8.0 * (double)x->size);
    sdg_node *n = nn_record(ctx, op, norm_backward, y, 3, x, w, b);
    if (n) {
        n->aux = stats;
        n->i[0] = g->rows;
        n->i[1] = g->G;
        n->i[2] = g->Cg;
        n->i[3] = g->L;
    }
    return y;
}

/* Fails unless t is NULL or 1-D of size C. */
static bool norm_affine_ok(sdg_ctx *ctx, const char *op, const char *what, const sdg_tensor *t,
                           int64_t C) {
    char st[64];
    if (!t || (t->ndim == 1 && t->shape[0] == C && t->data)) return true;
    nn_fail(ctx, SDG_ERR_SHAPE, "%s: %s has shape %s, expected [%lld]", op, what,
            sdg_tensor_shape_str(t, st, sizeof st), (long long)C);
    return false;
}

/* x: (..., D); weight, bias: (D) or NULL -> y: (..., D). */
sdg_tensor *sdg_layer_norm(sdg_ctx *ctx, sdg_tensor *x, sdg_tensor *weight, sdg_tensor *bias,
                           float eps) {
    if (!nn_ok(ctx, 1, x)) return NULL;
    int64_t D = x->shape[x->ndim - 1];
    if (!(eps >= 0.0f))
        return nn_fail(ctx, SDG_ERR_INVALID, "layer_norm: eps %g must be >= 0", (double)eps);
    if (!norm_affine_ok(ctx, "layer_norm", "weight", weight, D) ||
        !norm_affine_ok(ctx, "layer_norm", "bias", bias, D))
        return NULL;
    norm_geom g = {D ? x->size / D : 0, 1, D, 1};
    return norm_forward(ctx, SDG_OP_LAYER_NORM, &g, x, weight, bias, eps);
}

/* x: (B, C, L) (also (B, C) or (B, C, H, W)); weight, bias: (C) or NULL -> y: shape of x. */
sdg_tensor *sdg_group_norm(sdg_ctx *ctx, sdg_tensor *x, int groups, sdg_tensor *weight,
                           sdg_tensor *bias, float eps) {
    if (!nn_ok(ctx, 1, x)) return NULL;
    char sx[64];
    if (x->ndim < 2)
        return nn_fail(ctx, SDG_ERR_SHAPE, "group_norm: x %s needs (B, C, L)",
                       sdg_tensor_shape_str(x, sx, sizeof sx));
    int64_t B = x->shape[0], C = x->shape[1], L = 1;
    for (int d = 2; d < x->ndim; d++) L *= x->shape[d];
    if (groups <= 0 || C % groups != 0)
        return nn_fail(ctx, SDG_ERR_SHAPE, "group_norm: %d groups do not divide the %lld "
                       "channels of x %s", groups, (long long)C,
                       sdg_tensor_shape_str(x, sx, sizeof sx));
    if (!(eps >= 0.0f))
        return nn_fail(ctx, SDG_ERR_INVALID, "group_norm: eps %g must be >= 0", (double)eps);
    if (!norm_affine_ok(ctx, "group_norm", "weight", weight, C) ||
        !norm_affine_ok(ctx, "group_norm", "bias", bias, C))
        return NULL;
    norm_geom g = {B * groups, groups, C / groups, L};
    return norm_forward(ctx, SDG_OP_GROUP_NORM, &g, x, weight, bias, eps);
}

/* ---- layers: weight 1, bias 0, named <name>.weight and <name>.bias ---- */
static sdg_status norm_layer_params(sdg_norm_layer *l, sdg_params *p, const char *name,
                                    int64_t C) {
    sdg_status st = SDG_OK;
    char wname[256], bname[256];
    if (!name || snprintf(wname, sizeof wname, "%s.weight", name) >= (int)sizeof wname ||
        snprintf(bname, sizeof bname, "%s.bias", name) >= (int)sizeof bname)
        SDG_FAIL(SDG_ERR_INVALID, "norm layer: missing or too long name");
    if (C <= 0) SDG_FAIL(SDG_ERR_SHAPE, "norm layer '%s': %lld channels", name, (long long)C);
    SDG_TRY(sdg_params_add(p, wname, 1, &C, &l->weight));
    SDG_TRY(sdg_params_add(p, bname, 1, &C, &l->bias));
    for (int64_t i = 0; i < C; i++) l->weight->data[i] = 1.0f;
cleanup:
    return st;
}

sdg_status sdg_layer_norm_init(sdg_norm_layer *l, sdg_params *p, const char *name, int64_t dim,
                               float eps) {
    *l = (sdg_norm_layer){.groups = 0, .eps = eps};
    return norm_layer_params(l, p, name, dim);
}

sdg_status sdg_group_norm_init(sdg_norm_layer *l, sdg_params *p, const char *name, int groups,
                               int64_t channels, float eps) {
    *l = (sdg_norm_layer){.groups = groups, .eps = eps};
    if (groups <= 0 || channels % groups != 0)
        return SDG_ERROR(SDG_ERR_SHAPE, "group norm layer '%s': %d groups do not divide %lld "
                         "channels", name ? name : "?", groups, (long long)channels);
    return norm_layer_params(l, p, name, channels);
}

sdg_tensor *sdg_layer_norm_forward(sdg_ctx *ctx, const sdg_norm_layer *l, sdg_tensor *x) {
    if (!l) return nn_fail(ctx, SDG_ERR_INVALID, "layer_norm: NULL layer");
    return sdg_layer_norm(ctx, x, l->weight, l->bias, l->eps);
}

sdg_tensor *sdg_group_norm_forward(sdg_ctx *ctx, const sdg_norm_layer *l, sdg_tensor *x) {
    if (!l) return nn_fail(ctx, SDG_ERR_INVALID, "group_norm: NULL layer");
    return sdg_group_norm(ctx, x, l->groups, l->weight, l->bias, l->eps);
}
