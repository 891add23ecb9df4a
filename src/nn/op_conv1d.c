/* 1-D convolution, stride 1, zero padding, as ONE matrix product over the whole batch: im2col
 * into arena scratch laid out (Cin*K, B*Lo), so that y = W (Cout, Cin*K) @ col is a single
 * (Cout, B*Lo) product (then scattered to (B, Cout, Lo) with the bias), and the backward is
 * one product for dW (dY col^T, reduced over B*Lo) and one for dcol (W^T dY). A per-item
 * product (Cout x Cin*K x Lo with Lo ~ 100) is far too small for sgemm; the batch-wide one is
 * not. nn_gemm splits it into blocks that are functions of the shapes only, so the bits do not
 * depend on the thread count. The (Cout, B*Lo) product and the backward's dY and dcol are
 * transient: the arena is rewound past them once they are used (only col stays, for the
 * backward). Also the Conv1d layer.
 * ref: torch.nn.functional.conv1d, torch.nn.Conv1d (reset_parameters) */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "nn/gemm.h"

/* col (Cin*K, B*Lo): col[c*K + k, b*Lo + t] = x[b, c, t + k - pad], 0 outside [0, L). */
static void im2col(const float *x, int64_t B, int64_t Cin, int64_t L, int64_t K, int64_t pad,
                   int64_t Lo, float *col) {
    #pragma omp parallel for if (B * Cin * K * Lo > SDG_PAR_MIN) schedule(static)
    for (int64_t ck = 0; ck < Cin * K; ck++) {
        int64_t c = ck / K, k = ck % K;
        for (int64_t b = 0; b < B; b++) {
            const float *xr = x + (b * Cin + c) * L;
            float *cr = col + ck * B * Lo + b * Lo;
            for (int64_t t = 0; t < Lo; t++) {
                int64_t s = t + k - pad;
                cr[t] = (s >= 0 && s < L) ? xr[s] : 0.0f;
            }
        }
    }
}

/* dx[b, c, s] += sum over (k, t) with t + k - pad = s of dcol[c*K + k, b*Lo + t]. */
static void col2im_add(const float *dcol, int64_t B, int64_t Cin, int64_t L, int64_t K,
                       int64_t pad, int64_t Lo, float *dx) {
    #pragma omp parallel for if (B * Cin * K * Lo > SDG_PAR_MIN) schedule(static)
    for (int64_t bc = 0; bc < B * Cin; bc++) {
        int64_t b = bc / Cin, c = bc % Cin;
        float *xr = dx + bc * L;
        for (int64_t k = 0; k < K; k++) {
            const float *cr = dcol + (c * K + k) * B * Lo + b * Lo;
            for (int64_t t = 0; t < Lo; t++) {
                int64_t s = t + k - pad;
                if (s >= 0 && s < L) xr[s] += cr[t];
            }
        }
    }
}

/* x: (B, Cin, L);  w: (Cout, Cin, K);  bias: (Cout) or NULL;  y: (B, Cout, Lo)
 * n->aux: col (Cin*K, B*Lo). */
static void conv1d_backward(sdg_ctx *ctx, sdg_node *n) {
    sdg_tensor *x = n->in[0], *w = n->in[1], *bias = n->in[2], *y = n->out;
    int64_t B = x->shape[0], Cin = x->shape[1], L = x->shape[2], N = B * y->shape[2];
    int64_t Cout = w->shape[0], K = w->shape[2], pad = n->i[0], Lo = y->shape[2], CK = Cin * K;
    const float *col = n->aux;
    double mm = 2.0 * (double)Cout * (double)CK * (double)N;
    sdg_arena_pos mark = sdg_arena_mark(sdg_ctx_arena(ctx));
    float *dy = nn_alloc(ctx, (size_t)(Cout * N) * sizeof(float));   /* dY (Cout, B*Lo) */
    if (!dy) return;
    #pragma omp parallel for if (y->size > SDG_PAR_MIN) schedule(static)
    for (int64_t o = 0; o < Cout; o++)
        for (int64_t b = 0; b < B; b++)
            memcpy(dy + o * N + b * Lo, y->grad + (b * Cout + o) * Lo, (size_t)Lo * sizeof(float));
    if (w->grad) {   /* dW (Cout, CK) += dY col^T */
        nn_gemm(false, true, Cout, CK, N, dy, N, col, N, 1.0f, w->grad, CK);
        sdg_ctx_add_flops(ctx, SDG_OP_CONV1D, mm);
    }
    if (x->grad) {   /* dcol (CK, B*Lo) = W^T dY, scattered back onto dx */
        float *dcol = nn_alloc(ctx, (size_t)(CK * N) * sizeof(float));
        if (!dcol) return;   /* the ctx has failed; its next reset drops dy */
        nn_gemm(true, false, CK, N, Cout, w->data, CK, dy, N, 0.0f, dcol, N);
        col2im_add(dcol, B, Cin, L, K, pad, Lo, x->grad);
        sdg_ctx_add_flops(ctx, SDG_OP_CONV1D, mm);
    }
    if (bias && bias->grad) {   /* dbias[o] += sum of row o of dY, in order */
        #pragma omp parallel for if (y->size > SDG_PAR_MIN) schedule(static)
        for (int64_t o = 0; o < Cout; o++) {
            float s = 0.0f;
            for (int64_t k = 0; k < N; k++) s += dy[o * N + k];
            bias->grad[o] += s;
        }
        sdg_ctx_add_flops(ctx, SDG_OP_CONV1D, (double)B * (double)Cout * (double)Lo);
    }
    sdg_arena_rewind(sdg_ctx_arena(ctx), mark);   /* nothing else was allocated since the mark */
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
    int64_t N = B * Lo;
    float *col = nn_alloc(ctx, (size_t)(CK * N) * sizeof(float));
    if (!col) return NULL;
    sdg_arena_pos mark = sdg_arena_mark(sdg_ctx_arena(ctx));
    float *yp = nn_alloc(ctx, (size_t)(Cout * N) * sizeof(float));   /* (Cout, B*Lo), transient */
    if (!yp) return NULL;
    im2col(x->data, B, Cin, L, K, pad, Lo, col);
    nn_gemm(false, false, Cout, N, CK, w->data, CK, col, N, 0.0f, yp, N);   /* W @ col */
    #pragma omp parallel for if (y->size > SDG_PAR_MIN) schedule(static)
    for (int64_t bo = 0; bo < B * Cout; bo++) {   /* y[b, o, :] = yp[o, b*Lo : (b+1)*Lo] + bias[o] */
        int64_t b = bo / Cout, o = bo % Cout;
        const float *src = yp + o * N + b * Lo;
        float *dst = y->data + bo * Lo, bv = bias ? bias->data[o] : 0.0f;
        for (int64_t t = 0; t < Lo; t++) dst[t] = src[t] + bv;
    }
    sdg_arena_rewind(sdg_ctx_arena(ctx), mark);
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
