/* 1-D convolution, stride 1, zero padding: im2col into arena scratch, then one product per
 * batch item (a kernel of 1 without padding multiplies x directly), and the Conv1d layer.
 * ref: torch.nn.functional.conv1d, torch.nn.Conv1d (reset_parameters) */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "nn/gemm.h"

/* col (B, Cin*K, Lo): col[b, c*K + k, t] = x[b, c, t + k - pad], 0 outside [0, L). */
static void im2col(const float *x, int64_t B, int64_t Cin, int64_t L, int64_t K, int64_t pad,
                   int64_t Lo, float *col) {
    #pragma omp parallel for if (B * Cin * K * Lo > SDG_PAR_MIN) schedule(static)
    for (int64_t bc = 0; bc < B * Cin; bc++) {
        const float *xr = x + bc * L;
        for (int64_t k = 0; k < K; k++) {
            float *cr = col + (bc * K + k) * Lo;
            for (int64_t t = 0; t < Lo; t++) {
                int64_t s = t + k - pad;
                cr[t] = (s >= 0 && s < L) ? xr[s] : 0.0f;
            }
        }
    }
}

/* dx[b, c, s] += sum over (k, t) with t + k - pad = s of dcol[b, c*K + k, t]. */
static void col2im_add(const float *dcol, int64_t B, int64_t Cin, int64_t L, int64_t K,
                       int64_t pad, int64_t Lo, float *dx) {
    #pragma omp parallel for if (B * Cin * K * Lo > SDG_PAR_MIN) schedule(static)
    for (int64_t bc = 0; bc < B * Cin; bc++) {
        float *xr = dx + bc * L;
        for (int64_t k = 0; k < K; k++) {
            const float *cr = dcol + (bc * K + k) * Lo;
            for (int64_t t = 0; t < Lo; t++) {
                int64_t s = t + k - pad;
                if (s >= 0 && s < L) xr[s] += cr[t];
            }
        }
    }
}

/* x: (B, Cin, L);  w: (Cout, Cin, K);  bias: (Cout) or NULL;  y: (B, Cout, Lo)
 * n->aux: col (B, Cin*K, Lo), or NULL when col is x itself (K = 1, pad = 0). */
static void conv1d_backward(sdg_ctx *ctx, sdg_node *n) {
    sdg_tensor *x = n->in[0], *w = n->in[1], *bias = n->in[2], *y = n->out;
    int64_t B = x->shape[0], Cin = x->shape[1], L = x->shape[2];
    int64_t Cout = w->shape[0], K = w->shape[2], pad = n->i[0], Lo = y->shape[2], CK = Cin * K;
    const float *col = n->aux ? (const float *)n->aux : x->data;
    double mm = 2.0 * (double)B * (double)Cout * (double)CK * (double)Lo;
    if (w->grad) {   /* dW (Cout, CK) += sum_b dy_b (Cout, Lo) col_b^T; in batch order */
        for (int64_t b = 0; b < B; b++)
            nn_gemm(false, true, Cout, CK, Lo, y->grad + b * Cout * Lo, Lo, col + b * CK * Lo, Lo,
                    1.0f, w->grad, CK);
        sdg_ctx_add_flops(ctx, SDG_OP_CONV1D, mm);
    }
    if (x->grad) {   /* dcol_b = W^T dy_b, then scattered back onto dx */
        if (!n->aux) {
            if (!nn_gemm_batched(ctx, true, false, B, CK, Lo, Cout, w->data, 0, y->grad, Cout * Lo,
                                 1.0f, x->grad, CK * Lo))
                return;
        } else {
            float *dcol = nn_alloc(ctx, (size_t)(B * CK * Lo) * sizeof(float));
            if (!dcol) return;
            if (!nn_gemm_batched(ctx, true, false, B, CK, Lo, Cout, w->data, 0, y->grad, Cout * Lo,
                                 0.0f, dcol, CK * Lo))
                return;
            col2im_add(dcol, B, Cin, L, K, pad, Lo, x->grad);
        }
        sdg_ctx_add_flops(ctx, SDG_OP_CONV1D, mm);
    }
    if (bias && bias->grad) {   /* dbias[o] += sum over b, t of dy[b, o, t] (serial over b) */
        for (int64_t b = 0; b < B; b++)
            for (int64_t o = 0; o < Cout; o++) {
                const float *g = y->grad + (b * Cout + o) * Lo;
                float s = 0.0f;
                for (int64_t t = 0; t < Lo; t++) s += g[t];
                bias->grad[o] += s;
            }
        sdg_ctx_add_flops(ctx, SDG_OP_CONV1D, (double)B * (double)Cout * (double)Lo);
    }
}

sdg_tensor *sdg_conv1d(sdg_ctx *ctx, sdg_tensor *x, sdg_tensor *w, sdg_tensor *bias, int pad) {
    if (!nn_ok(ctx, 2, x, w)) return NULL;
    char sx[64], sw[64], sb[64];
    if (x->ndim != 3 || w->ndim != 3 || x->shape[1] != w->shape[1])
        return nn_fail(ctx, SDG_ERR_SHAPE, "conv1d: input %s does not fit weight %s (want "
                       "(B, Cin, L) and (Cout, Cin, K))", sdg_tensor_shape_str(x, sx, sizeof sx),
                       sdg_tensor_shape_str(w, sw, sizeof sw));
    if (bias && (bias->ndim != 1 || bias->shape[0] != w->shape[0]))
        return nn_fail(ctx, SDG_ERR_SHAPE, "conv1d: bias %s does not fit weight %s (want (Cout))",
                       sdg_tensor_shape_str(bias, sb, sizeof sb), sdg_tensor_shape_str(w, sw, sizeof sw));
    int64_t B = x->shape[0], Cin = x->shape[1], L = x->shape[2];
    int64_t Cout = w->shape[0], K = w->shape[2], CK = Cin * K, Lo = L + 2 * (int64_t)pad - K + 1;
    if (pad < 0 || K < 1 || Lo < 1)
        return nn_fail(ctx, SDG_ERR_SHAPE, "conv1d: input %s, weight %s and padding %d leave no "
                       "output", sdg_tensor_shape_str(x, sx, sizeof sx),
                       sdg_tensor_shape_str(w, sw, sizeof sw), pad);
    sdg_tensor *y = nn_out(ctx, 3, (int64_t[]){B, Cout, Lo}, 3, x, w, bias);
    if (!y) return NULL;
    float *col = NULL;   /* NULL: x is its own col */
    if (K != 1 || pad != 0) {
        col = nn_alloc(ctx, (size_t)(B * CK * Lo) * sizeof(float));
        if (!col) return NULL;
        im2col(x->data, B, Cin, L, K, pad, Lo, col);
    }
    if (bias) {   /* y starts as the bias, the products accumulate onto it */
        #pragma omp parallel for if (y->size > SDG_PAR_MIN) schedule(static)
        for (int64_t bo = 0; bo < B * Cout; bo++)
            for (int64_t t = 0; t < Lo; t++) y->data[bo * Lo + t] = bias->data[bo % Cout];
    }
    /* y_b (Cout, Lo) = W (Cout, CK) col_b (CK, Lo) */
    if (!nn_gemm_batched(ctx, false, false, B, Cout, Lo, CK, w->data, 0, col ? col : x->data,
                         CK * Lo, bias ? 1.0f : 0.0f, y->data, Cout * Lo))
        return NULL;
    sdg_ctx_add_flops(ctx, SDG_OP_CONV1D, 2.0 * (double)B * (double)Cout * (double)CK * (double)Lo +
                                              (bias ? (double)y->size : 0.0));
    sdg_node *n = nn_record(ctx, SDG_OP_CONV1D, conv1d_backward, y, 3, x, w, bias);
    if (n) {
        n->i[0] = pad;
        n->aux = col;
    }
    return y;
}

/* ---- the layer ---- */
sdg_status sdg_conv1d_init(sdg_conv1d_layer *l, sdg_params *p, const char *name, int64_t cin,
                           int64_t cout, int k, bool bias, sdg_rng *rng) {
    sdg_status st = SDG_OK;
    char key[256];
    memset(l, 0, sizeof *l);
    if (cin <= 0 || cout <= 0 || k <= 0)
        SDG_FAIL(SDG_ERR_INVALID, "conv1d '%s': sizes cin %lld, cout %lld, k %d must be positive",
                 name ? name : "", (long long)cin, (long long)cout, k);
    if (!name || snprintf(key, sizeof key, "%s.weight", name) >= (int)sizeof key)
        SDG_FAIL(SDG_ERR_INVALID, "conv1d: missing or too long a name");
    SDG_TRY(sdg_params_add(p, key, 3, (int64_t[]){cout, cin, k}, &l->weight));
    /* kaiming_uniform(a = sqrt 5) on fan_in = cin k gives bound 1/sqrt(cin k), as for the bias */
    float bound = (float)(1.0 / sqrt((double)(cin * k)));
    sdg_param_init_uniform(l->weight, bound, rng);
    if (bias) {
        snprintf(key, sizeof key, "%s.bias", name);
        SDG_TRY(sdg_params_add(p, key, 1, (int64_t[]){cout}, &l->bias));
        sdg_param_init_uniform(l->bias, bound, rng);
    }
    l->pad = (k - 1) / 2;
cleanup:
    return st;
}

sdg_tensor *sdg_conv1d_forward(sdg_ctx *ctx, const sdg_conv1d_layer *l, sdg_tensor *x) {
    if (!l || !l->weight) return nn_fail(ctx, SDG_ERR_INVALID, "conv1d: layer not initialised");
    return sdg_conv1d(ctx, x, l->weight, l->bias, l->pad);
}
