/* Linear: y = x W^T + b over all leading dimensions as one sgemm, and the Linear layer.
 * ref: torch.nn.functional.linear, torch.nn.Linear (reset_parameters) */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "nn/gemm.h"

/* Rows of dy summed in fixed chunks, the chunks then added in order: the same bits for any
 * thread count. */
#define LINEAR_BIAS_CHUNK 256

/* db (F) += sum over the R rows of dy (R, F). */
static bool bias_grad(sdg_ctx *ctx, const float *dy, int64_t R, int64_t F, float *db) {
    int64_t nc = (R + LINEAR_BIAS_CHUNK - 1) / LINEAR_BIAS_CHUNK;
    float *part = nn_alloc(ctx, (size_t)(nc * F) * sizeof(float));
    if (!part) return false;
    #pragma omp parallel for if (R * F > SDG_PAR_MIN) schedule(static)
    for (int64_t c = 0; c < nc; c++) {
        float *p = part + c * F;
        memset(p, 0, (size_t)F * sizeof(float));
        int64_t r1 = (c + 1) * LINEAR_BIAS_CHUNK < R ? (c + 1) * LINEAR_BIAS_CHUNK : R;
        for (int64_t r = c * LINEAR_BIAS_CHUNK; r < r1; r++)
            for (int64_t f = 0; f < F; f++) p[f] += dy[r * F + f];
    }
    for (int64_t c = 0; c < nc; c++)
        for (int64_t f = 0; f < F; f++) db[f] += part[c * F + f];
    return true;
}

/* x: (..., in) viewed as (R, in);  w: (out, in);  b: (out) or NULL;  y: (..., out) */
static void linear_backward(sdg_ctx *ctx, sdg_node *n) {
    sdg_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2], *y = n->out;
    int64_t R = n->i[0], in = w->shape[1], out = w->shape[0];
    double mm = 2.0 * (double)R * (double)in * (double)out;
    if (x->grad) {   /* dx += dy W */
        nn_gemm(false, false, R, in, out, y->grad, out, w->data, in, 1.0f, x->grad, in);
        sdg_ctx_add_flops(ctx, SDG_OP_LINEAR, mm);
    }
    if (w->grad) {   /* dW += dy^T x */
        nn_gemm(true, false, out, in, R, y->grad, out, x->data, in, 1.0f, w->grad, in);
        sdg_ctx_add_flops(ctx, SDG_OP_LINEAR, mm);
    }
    if (b && b->grad) {   /* db += sum over rows of dy */
        if (!bias_grad(ctx, y->grad, R, out, b->grad)) return;
        sdg_ctx_add_flops(ctx, SDG_OP_LINEAR, (double)R * (double)out);
    }
}

sdg_tensor *sdg_linear_op(sdg_ctx *ctx, sdg_tensor *x, sdg_tensor *w, sdg_tensor *b) {
    if (!nn_ok(ctx, 2, x, w)) return NULL;
    char sx[64], sw[64], sb[64];
    if (w->ndim != 2 || x->shape[x->ndim - 1] != w->shape[1])
        return nn_fail(ctx, SDG_ERR_SHAPE, "linear: input %s does not fit weight %s (want (..., in) "
                       "and (out, in))", sdg_tensor_shape_str(x, sx, sizeof sx),
                       sdg_tensor_shape_str(w, sw, sizeof sw));
    int64_t in = w->shape[1], out = w->shape[0], R = x->size / (in ? in : 1);
    if (b && (b->ndim != 1 || b->shape[0] != out))
        return nn_fail(ctx, SDG_ERR_SHAPE, "linear: bias %s does not fit weight %s (want (out))",
                       sdg_tensor_shape_str(b, sb, sizeof sb), sdg_tensor_shape_str(w, sw, sizeof sw));
    if (in == 0) R = nn_numel(x->ndim - 1, x->shape);
    int64_t shape[SDG_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[x->ndim - 1] = out;
    sdg_tensor *y = nn_out(ctx, x->ndim, shape, 3, x, w, b);
    if (!y) return NULL;
    if (b) {   /* rows start as the bias, then the product accumulates onto them */
        #pragma omp parallel for if (y->size > SDG_PAR_MIN) schedule(static)
        for (int64_t r = 0; r < R; r++) memcpy(y->data + r * out, b->data, (size_t)out * sizeof(float));
    }
    nn_gemm(false, true, R, out, in, x->data, in, w->data, in, b ? 1.0f : 0.0f, y->data, out);
    sdg_ctx_add_flops(ctx, SDG_OP_LINEAR, 2.0 * (double)R * (double)in * (double)out +
                                              (b ? (double)R * (double)out : 0.0));
    sdg_node *n = nn_record(ctx, SDG_OP_LINEAR, linear_backward, y, 3, x, w, b);
    if (n) n->i[0] = R;
    return y;
}

/* ---- the layer ---- */
sdg_status sdg_linear_init(sdg_linear *l, sdg_params *p, const char *name, int64_t in,
                           int64_t out, bool bias, sdg_rng *rng) {
    sdg_status st = SDG_OK;
    char key[256];
    memset(l, 0, sizeof *l);
    if (in <= 0 || out <= 0) SDG_FAIL(SDG_ERR_INVALID, "linear '%s': sizes in %lld, out %lld must be "
                                      "positive", name ? name : "", (long long)in, (long long)out);
    if (!name || snprintf(key, sizeof key, "%s.weight", name) >= (int)sizeof key)
        SDG_FAIL(SDG_ERR_INVALID, "linear: missing or too long a name");
    SDG_TRY(sdg_params_add(p, key, 2, (int64_t[]){out, in}, &l->weight));
    /* kaiming_uniform(a = sqrt 5) on fan_in = in gives bound 1/sqrt(in); the bias uses the same */
    float bound = (float)(1.0 / sqrt((double)in));
    sdg_param_init_uniform(l->weight, bound, rng);
    if (bias) {
        snprintf(key, sizeof key, "%s.bias", name);
        SDG_TRY(sdg_params_add(p, key, 1, (int64_t[]){out}, &l->bias));
        sdg_param_init_uniform(l->bias, bound, rng);
    }
    l->in = in;
    l->out = out;
cleanup:
    return st;
}

sdg_tensor *sdg_linear_forward(sdg_ctx *ctx, const sdg_linear *l, sdg_tensor *x) {
    if (!l || !l->weight) return nn_fail(ctx, SDG_ERR_INVALID, "linear: layer not initialised");
    return sdg_linear_op(ctx, x, l->weight, l->bias);
}
