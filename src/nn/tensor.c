/* The ctx (arena + tape + sticky status + FLOP counter), step tensors and backward. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "nn/internal.h"

sdg_status sdg_ctx_new(size_t arena_bytes, sdg_ctx **out) {
    *out = NULL;
    sdg_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return SDG_ERROR(SDG_ERR_NOMEM, "nn: out of memory for a ctx");
    sdg_status st = sdg_arena_new(arena_bytes ? arena_bytes : ((size_t)64 << 20), 0, &ctx->arena);
    if (st != SDG_OK) {
        free(ctx);
        return st;
    }
    ctx->grad_enabled = true;
    *out = ctx;
    return SDG_OK;
}

void sdg_ctx_free(sdg_ctx *ctx) {
    if (!ctx) return;
    sdg_arena_free(ctx->arena);
    free(ctx);
}

void sdg_ctx_reset(sdg_ctx *ctx) {
    sdg_arena_reset(ctx->arena);
    ctx->tape = NULL;
    ctx->status = SDG_OK;
}

sdg_status sdg_ctx_status(const sdg_ctx *ctx) { return ctx->status; }
bool sdg_ctx_grad_enabled(const sdg_ctx *ctx) { return ctx->grad_enabled; }

sdg_ctx_pos sdg_ctx_mark(const sdg_ctx *ctx) {
    return (sdg_ctx_pos){.arena = sdg_arena_mark(ctx->arena), .tape = ctx->tape};
}

bool sdg_ctx_release(sdg_ctx *ctx, sdg_ctx_pos pos) {
    if (ctx->tape != pos.tape) return false;   /* the tape holds tensors made since the mark */
    sdg_arena_rewind(ctx->arena, pos.arena);
    return true;
}
sdg_arena *sdg_ctx_arena(sdg_ctx *ctx) { return ctx->arena; }

bool sdg_ctx_set_grad(sdg_ctx *ctx, bool enabled) {
    bool old = ctx->grad_enabled;
    ctx->grad_enabled = enabled;
    return old;
}

sdg_tensor *sdg_ctx_fail(sdg_ctx *ctx, sdg_status code) {
    if (ctx->status == SDG_OK) ctx->status = code;
    return NULL;
}

sdg_tensor *nn_fail(sdg_ctx *ctx, sdg_status code, const char *fmt, ...) {
    if (ctx->status == SDG_OK) {   /* keep the first reason: later ones are consequences */
        char msg[768];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        sdg_error_set(code, "src/nn", 0, "%s", msg);
        ctx->status = code;
    }
    return NULL;
}

/* ---- FLOP counter ---- */
static const char *const op_names[SDG_OP_COUNT] = {
    "add", "sub", "mul", "div", "scale", "unary", "sum", "mean", "concat", "slice", "reshape",
    "permute", "gather", "scatter_add", "softmax", "layer_norm", "group_norm", "conv1d",
    "matmul", "bmm", "linear", "norm", "mask",
};
const char *sdg_op_name(sdg_op op) { return (unsigned)op < SDG_OP_COUNT ? op_names[op] : "?"; }
double sdg_ctx_flops(const sdg_ctx *ctx, sdg_op op) {
    return (unsigned)op < SDG_OP_COUNT ? ctx->flops[op] : 0.0;
}
double sdg_ctx_flops_total(const sdg_ctx *ctx) {
    double s = 0;
    for (int i = 0; i < SDG_OP_COUNT; i++) s += ctx->flops[i];
    return s;
}
void sdg_ctx_flops_clear(sdg_ctx *ctx) { memset(ctx->flops, 0, sizeof ctx->flops); }
void sdg_ctx_add_flops(sdg_ctx *ctx, sdg_op op, double flops) {
    if ((unsigned)op < SDG_OP_COUNT) ctx->flops[op] += flops;
}

/* ---- helpers for ops ---- */
bool nn_ok(sdg_ctx *ctx, int n, ...) {
    if (ctx->status != SDG_OK) return false;
    va_list ap;
    va_start(ap, n);
    bool ok = true;
    for (int i = 0; i < n; i++) {
        const sdg_tensor *t = va_arg(ap, const sdg_tensor *);
        if (!t || !t->data) ok = false;
    }
    va_end(ap);
    return ok;
}

static bool wants_grad_va(sdg_ctx *ctx, int n, va_list ap) {
    bool want = false;
    for (int i = 0; i < n; i++) {
        const sdg_tensor *t = va_arg(ap, const sdg_tensor *);
        if (t && t->grad) want = true;
    }
    return want && ctx->grad_enabled;
}

bool nn_wants_grad(sdg_ctx *ctx, int n, ...) {
    va_list ap;
    va_start(ap, n);
    bool w = wants_grad_va(ctx, n, ap);
    va_end(ap);
    return w;
}

void *nn_alloc(sdg_ctx *ctx, size_t bytes) {
    void *p = sdg_arena_alloc(ctx->arena, bytes);
    if (!p) sdg_ctx_fail(ctx, SDG_ERR_NOMEM);
    return p;
}

int64_t nn_numel(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return n;
}

/* data NULL: allocate it; otherwise the tensor points at data (a view, nn_view). */
static sdg_tensor *tensor_make(sdg_ctx *ctx, int ndim, const int64_t *shape, bool grad,
                               float *data) {
    if (ndim < 1 || ndim > SDG_MAX_DIMS)
        return nn_fail(ctx, SDG_ERR_SHAPE, "tensor: %d dimensions (1 to %d allowed)", ndim,
                       SDG_MAX_DIMS);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0) return nn_fail(ctx, SDG_ERR_SHAPE, "tensor: negative dimension");
    sdg_tensor *t = nn_alloc(ctx, sizeof *t);
    if (!t) return NULL;
    memset(t, 0, sizeof *t);
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->size = nn_numel(ndim, shape);
    t->data = data ? data : nn_alloc(ctx, (size_t)t->size * sizeof(float));
    if (!t->data) return NULL;
    if (grad) {
        t->grad = nn_alloc(ctx, (size_t)t->size * sizeof(float));
        if (!t->grad) return NULL;
        memset(t->grad, 0, (size_t)t->size * sizeof(float));
    }
    return t;
}

static sdg_tensor *tensor_alloc(sdg_ctx *ctx, int ndim, const int64_t *shape, bool grad) {
    return tensor_make(ctx, ndim, shape, grad, NULL);
}

sdg_tensor *nn_view(sdg_ctx *ctx, int ndim, const int64_t *shape, float *data, sdg_tensor *x) {
    sdg_tensor *t = tensor_make(ctx, ndim, shape, false, data);
    /* the whole of an op's output: its gradient buffer too (nothing to copy back). Not for a
     * leaf, whose .grad may already hold gradients that a seed written into t must not touch. */
    if (t && nn_wants_grad(ctx, 1, x) && x->node && data == x->data && nn_numel(ndim, shape) == x->size)
        t->grad = x->grad;
    else if (t && nn_wants_grad(ctx, 1, x))
        return tensor_make(ctx, ndim, shape, true, data);
    return t;
}

sdg_tensor *nn_out(sdg_ctx *ctx, int ndim, const int64_t *shape, int n, ...) {
    va_list ap;
    va_start(ap, n);
    bool grad = wants_grad_va(ctx, n, ap);
    va_end(ap);
    return tensor_alloc(ctx, ndim, shape, grad);
}

sdg_node *nn_record(sdg_ctx *ctx, sdg_op op, sdg_backward_fn bw, sdg_tensor *out, int n_in, ...) {
    if (!out->grad) return NULL;
    if (n_in > SDG_NODE_MAX_IN) {
        nn_fail(ctx, SDG_ERR_INVALID, "nn_record: %d inputs (at most %d)", n_in, SDG_NODE_MAX_IN);
        return NULL;
    }
    sdg_node *n = nn_alloc(ctx, sizeof *n);
    if (!n) return NULL;
    memset(n, 0, sizeof *n);
    n->op = op;
    n->backward = bw;
    n->out = out;
    va_list ap;
    va_start(ap, n_in);
    for (int i = 0; i < n_in; i++) n->in[i] = va_arg(ap, sdg_tensor *);
    n->n_in = n_in;
    va_end(ap);
    n->prev = ctx->tape;
    ctx->tape = n;
    out->node = n;
    return n;
}

int nn_axis(const sdg_tensor *x, int axis) {
    if (axis < 0) axis += x->ndim;
    return (axis >= 0 && axis < x->ndim) ? axis : -1;
}

/* ---- public tensor functions ---- */
sdg_tensor *sdg_tensor_new(sdg_ctx *ctx, int ndim, const int64_t *shape) {
    if (ctx->status != SDG_OK) return NULL;
    return tensor_alloc(ctx, ndim, shape, false);
}

sdg_tensor *sdg_tensor_zeros(sdg_ctx *ctx, int ndim, const int64_t *shape) {
    sdg_tensor *t = sdg_tensor_new(ctx, ndim, shape);
    if (t) memset(t->data, 0, (size_t)t->size * sizeof(float));
    return t;
}

sdg_tensor *sdg_tensor_newv(sdg_ctx *ctx, int ndim, ...) {
    int64_t shape[SDG_MAX_DIMS] = {0};
    if (ndim < 1 || ndim > SDG_MAX_DIMS)
        return nn_fail(ctx, SDG_ERR_SHAPE, "tensor: %d dimensions (1 to %d allowed)", ndim,
                       SDG_MAX_DIMS);
    va_list ap;
    va_start(ap, ndim);
    for (int i = 0; i < ndim; i++) shape[i] = va_arg(ap, int64_t);
    va_end(ap);
    return sdg_tensor_new(ctx, ndim, shape);
}

sdg_tensor *sdg_tensor_from(sdg_ctx *ctx, int ndim, const int64_t *shape, const float *src) {
    sdg_tensor *t = sdg_tensor_new(ctx, ndim, shape);
    if (t) memcpy(t->data, src, (size_t)t->size * sizeof(float));
    return t;
}

sdg_tensor *sdg_tensor_requires_grad(sdg_ctx *ctx, sdg_tensor *t) {
    if (!t || ctx->status != SDG_OK) return NULL;
    if (!t->grad) {
        t->grad = nn_alloc(ctx, (size_t)t->size * sizeof(float));
        if (!t->grad) return NULL;
        memset(t->grad, 0, (size_t)t->size * sizeof(float));
    }
    return t;
}

bool sdg_tensor_same_shape(const sdg_tensor *a, const sdg_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

char *sdg_tensor_shape_str(const sdg_tensor *t, char *buf, size_t cap) {
    size_t k = 0;
    if (cap == 0) return buf;
    buf[0] = '\0';
    k += (size_t)snprintf(buf + k, cap - k, "[");
    for (int i = 0; i < t->ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, i ? ",%lld" : "%lld", (long long)t->shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
    return buf;
}

sdg_status sdg_backward(sdg_ctx *ctx, sdg_tensor *y) {
    if (ctx->status != SDG_OK)
        return SDG_ERROR(ctx->status, "backward: the forward pass failed: %s", sdg_errmsg());
    if (!y || !y->grad)
        return SDG_ERROR(SDG_ERR_INVALID, "backward: the output does not depend on any "
                                          "tensor that requires a gradient");
    if (y->size == 1) y->grad[0] += 1.0f;
    /* Every node recorded after y's producer cannot feed y; start there. */
    for (sdg_node *n = y->node; n; n = n->prev) {
        n->backward(ctx, n);
        if (ctx->status != SDG_OK) return SDG_ERROR(ctx->status, "backward: %s", sdg_errmsg());
    }
    return SDG_OK;
}

/* ---- broadcasting ---- */
void nn_bcast_strides(const sdg_tensor *t, const int64_t n4[4], int64_t s[4]) {
    int64_t shp[4] = {1, 1, 1, 1};
    for (int i = 0; i < t->ndim; i++) shp[4 - t->ndim + i] = t->shape[i];
    int64_t stride = 1;
    for (int d = 3; d >= 0; d--) {
        s[d] = (shp[d] == 1 && n4[d] != 1) ? 0 : stride;
        stride *= shp[d];
    }
}

bool nn_broadcast(const sdg_tensor *a, const sdg_tensor *b, nn_bcast *bc) {
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    int64_t sa[4] = {1, 1, 1, 1}, sb[4] = {1, 1, 1, 1};
    for (int i = 0; i < a->ndim; i++) sa[4 - a->ndim + i] = a->shape[i];
    for (int i = 0; i < b->ndim; i++) sb[4 - b->ndim + i] = b->shape[i];
    for (int d = 0; d < 4; d++) {
        if (sa[d] != sb[d] && sa[d] != 1 && sb[d] != 1) return false;
        bc->n4[d] = sa[d] == 1 ? sb[d] : sa[d];
    }
    bc->ndim = nd;
    for (int i = 0; i < nd; i++) bc->shape[i] = bc->n4[4 - nd + i];
    nn_bcast_strides(a, bc->n4, bc->sa);
    nn_bcast_strides(b, bc->n4, bc->sb);
    return true;
}

void nn_reduce_broadcast(const float *gout, const int64_t n4[4], const int64_t s[4], float *gin,
                         int64_t gin_size) {
    int64_t total = n4[0] * n4[1] * n4[2] * n4[3];
    if (total == gin_size) {   /* no broadcast: plain accumulate */
        #pragma omp parallel for if (total > SDG_PAR_MIN) schedule(static)
        for (int64_t k = 0; k < total; k++) gin[k] += gout[k];
        return;
    }
    /* Serial over the output in a fixed order: deterministic whatever the thread count. */
    int64_t k = 0;
    for (int64_t i0 = 0; i0 < n4[0]; i0++)
        for (int64_t i1 = 0; i1 < n4[1]; i1++)
            for (int64_t i2 = 0; i2 < n4[2]; i2++) {
                float *g = gin + i0 * s[0] + i1 * s[1] + i2 * s[2];
                if (s[3] == 0) {
                    float acc = 0.0f;
                    for (int64_t i3 = 0; i3 < n4[3]; i3++) acc += gout[k + i3];
                    g[0] += acc;
                } else {
                    for (int64_t i3 = 0; i3 < n4[3]; i3++) g[i3] += gout[k + i3];
                }
                k += n4[3];
            }
}
