/* sdegen/nn.h: float32 tensors, reverse-mode autodiff on a tape, layers, optimisers.
 * Tensors are dense, row-major, contiguous, 1-4 dimensions; shape letters B batch, N nodes,
 * F features. Step tensors live in an sdg_ctx arena until sdg_ctx_reset(); parameters live in
 * an sdg_params store until it is freed. Ops record themselves on the ctx's tape when grad mode
 * is on and an input needs a gradient; sdg_backward() walks the tape in reverse and ACCUMULATES
 * into .grad (parameters keep their gradient across steps until sdg_params_zero_grad()).
 * Errors are sticky (like a stream's error flag, so that model code composes): an op that fails
 * records the reason in sdg_errmsg(), marks the ctx failed and returns NULL; ops given NULL
 * return NULL. Check sdg_ctx_status() after a forward pass. Broadcasting follows NumPy
 * (trailing dimensions aligned; size-1 or missing dimensions stretch). */
#ifndef SDEGEN_NN_H
#define SDEGEN_NN_H
#include "sdegen/core.h"
#ifdef __cplusplus
extern "C" {
#endif

#define SDG_MAX_DIMS 4

typedef struct sdg_node sdg_node;   /* a tape entry; opaque */

typedef struct sdg_tensor {
    int         ndim;
    int64_t     shape[SDG_MAX_DIMS];
    int64_t     size;    /* number of elements                                   */
    float      *data;
    float      *grad;    /* same shape as data; NULL when no gradient is tracked */
    sdg_node   *node;    /* the op that produced it, NULL for leaves             */
    const char *name;    /* parameters only                                      */
} sdg_tensor;

/* ---- context: arena, tape, grad mode, FLOP counter ---- */
typedef struct sdg_ctx sdg_ctx;
/* arena_bytes: first block (grows on demand); 0 picks 64 MiB. */
SDG_API sdg_status sdg_ctx_new(size_t arena_bytes, sdg_ctx **out);
SDG_API void       sdg_ctx_free(sdg_ctx *ctx);                 /* NULL is a no-op */
/* Drops every step tensor and the tape; clears a sticky error. Parameters are untouched. */
SDG_API void       sdg_ctx_reset(sdg_ctx *ctx);
SDG_API sdg_status sdg_ctx_status(const sdg_ctx *ctx);         /* first error since reset */
/* Grad mode on (default) records ops whose inputs need gradients; off records nothing. */
SDG_API bool       sdg_ctx_set_grad(sdg_ctx *ctx, bool enabled);  /* returns previous mode */
SDG_API bool       sdg_ctx_grad_enabled(const sdg_ctx *ctx);
SDG_API sdg_arena *sdg_ctx_arena(sdg_ctx *ctx);
/* Scoped release for forward passes without a tape (sampling): sdg_ctx_release(ctx, pos)
 * frees every step tensor made since pos = sdg_ctx_mark(ctx), provided nothing was recorded
 * on the tape in between, and returns whether it did (it never frees what backward needs).
 * To keep a result, make its tensor before the mark and copy into it. Marks nest; a reset
 * invalidates them (a stale mark is ignored). O(1). */
typedef struct sdg_ctx_pos {
    sdg_arena_pos   arena;
    const sdg_node *tape;
} sdg_ctx_pos;
SDG_API sdg_ctx_pos sdg_ctx_mark(const sdg_ctx *ctx);
SDG_API bool        sdg_ctx_release(sdg_ctx *ctx, sdg_ctx_pos pos);
/* Marks the ctx failed with the current sdg_errmsg(); returns NULL for use in op code. */
SDG_API sdg_tensor *sdg_ctx_fail(sdg_ctx *ctx, sdg_status code);

/* FLOP counter: every op adds its forward and backward floating-point operations. */
typedef enum sdg_op {
    SDG_OP_ADD, SDG_OP_SUB, SDG_OP_MUL, SDG_OP_DIV, SDG_OP_SCALE, SDG_OP_UNARY,
    SDG_OP_SUM, SDG_OP_MEAN, SDG_OP_CONCAT, SDG_OP_SLICE, SDG_OP_RESHAPE, SDG_OP_PERMUTE,
    SDG_OP_GATHER, SDG_OP_SCATTER_ADD, SDG_OP_SOFTMAX, SDG_OP_LAYER_NORM, SDG_OP_GROUP_NORM,
    SDG_OP_CONV1D, SDG_OP_MATMUL, SDG_OP_BMM, SDG_OP_LINEAR, SDG_OP_NORM, SDG_OP_MASK,
    SDG_OP_COUNT
} sdg_op;
SDG_API const char *sdg_op_name(sdg_op op);
SDG_API double      sdg_ctx_flops(const sdg_ctx *ctx, sdg_op op);   /* since last clear */
SDG_API double      sdg_ctx_flops_total(const sdg_ctx *ctx);
SDG_API void        sdg_ctx_flops_clear(sdg_ctx *ctx);
SDG_API void        sdg_ctx_add_flops(sdg_ctx *ctx, sdg_op op, double flops);

/* ---- tensors in the ctx arena ---- */
/* Uninitialised (zeroed: _zeros) tensor of ndim dims; shape has ndim entries. */
SDG_API sdg_tensor *sdg_tensor_new(sdg_ctx *ctx, int ndim, const int64_t *shape);
SDG_API sdg_tensor *sdg_tensor_zeros(sdg_ctx *ctx, int ndim, const int64_t *shape);
/* Shape given inline: sdg_tensor_newv(ctx, 3, B, N, F). */
SDG_API sdg_tensor *sdg_tensor_newv(sdg_ctx *ctx, int ndim, ...);
/* Copies n = prod(shape) floats from src into a new tensor. */
SDG_API sdg_tensor *sdg_tensor_from(sdg_ctx *ctx, int ndim, const int64_t *shape, const float *src);
/* Gives a leaf tensor a zeroed gradient buffer, so that backward fills d(loss)/d(t). */
SDG_API sdg_tensor *sdg_tensor_requires_grad(sdg_ctx *ctx, sdg_tensor *t);
SDG_API bool        sdg_tensor_same_shape(const sdg_tensor *a, const sdg_tensor *b);
/* Writes "[2,3,4]" into buf (cap bytes); returns buf. */
SDG_API char       *sdg_tensor_shape_str(const sdg_tensor *t, char *buf, size_t cap);

/* Backpropagates from y. A scalar y gets seed gradient 1; a non-scalar y must already hold
 * its seed in y->grad (sdg_tensor_requires_grad + fill). Gradients accumulate. */
SDG_API sdg_status  sdg_backward(sdg_ctx *ctx, sdg_tensor *y);

/* ---- ops (each records its backward; NULL on error, see the conventions above) ---- */
/* Element-wise with broadcasting. */
SDG_API sdg_tensor *sdg_add(sdg_ctx *ctx, sdg_tensor *a, sdg_tensor *b);
SDG_API sdg_tensor *sdg_sub(sdg_ctx *ctx, sdg_tensor *a, sdg_tensor *b);
SDG_API sdg_tensor *sdg_mul(sdg_ctx *ctx, sdg_tensor *a, sdg_tensor *b);
SDG_API sdg_tensor *sdg_div(sdg_ctx *ctx, sdg_tensor *a, sdg_tensor *b);
/* y = alpha * x + beta. */
SDG_API sdg_tensor *sdg_scale(sdg_ctx *ctx, sdg_tensor *x, float alpha, float beta);

/* Element-wise unary functions. */
typedef enum sdg_unary {
    SDG_UNARY_TANH, SDG_UNARY_SIGMOID, SDG_UNARY_RELU, SDG_UNARY_SILU, SDG_UNARY_SOFTPLUS,
    SDG_UNARY_ELU, SDG_UNARY_EXP, SDG_UNARY_LOG, SDG_UNARY_SQRT, SDG_UNARY_SQUARE,
    SDG_UNARY_SIN, SDG_UNARY_COS, SDG_UNARY_NEG, SDG_UNARY_ABS,
    SDG_UNARY_COUNT
} sdg_unary;
SDG_API sdg_tensor *sdg_unary_apply(sdg_ctx *ctx, sdg_unary fn, sdg_tensor *x);
SDG_API const char *sdg_unary_name(sdg_unary fn);
#define sdg_tanh(c, x)     sdg_unary_apply((c), SDG_UNARY_TANH, (x))
#define sdg_sigmoid(c, x)  sdg_unary_apply((c), SDG_UNARY_SIGMOID, (x))
#define sdg_relu(c, x)     sdg_unary_apply((c), SDG_UNARY_RELU, (x))
#define sdg_silu(c, x)     sdg_unary_apply((c), SDG_UNARY_SILU, (x))
#define sdg_softplus(c, x) sdg_unary_apply((c), SDG_UNARY_SOFTPLUS, (x))
#define sdg_elu(c, x)      sdg_unary_apply((c), SDG_UNARY_ELU, (x))
#define sdg_exp(c, x)      sdg_unary_apply((c), SDG_UNARY_EXP, (x))
#define sdg_log(c, x)      sdg_unary_apply((c), SDG_UNARY_LOG, (x))
#define sdg_sqrt(c, x)     sdg_unary_apply((c), SDG_UNARY_SQRT, (x))
#define sdg_square(c, x)   sdg_unary_apply((c), SDG_UNARY_SQUARE, (x))
#define sdg_sin(c, x)      sdg_unary_apply((c), SDG_UNARY_SIN, (x))
#define sdg_cos(c, x)      sdg_unary_apply((c), SDG_UNARY_COS, (x))
#define sdg_neg(c, x)      sdg_unary_apply((c), SDG_UNARY_NEG, (x))
#define sdg_abs(c, x)      sdg_unary_apply((c), SDG_UNARY_ABS, (x))

/* Reductions over one axis (negative counts from the end); keepdim keeps it with size 1.
 * axis = SDG_AXIS_ALL reduces everything to shape [1] (keepdim: every dimension 1). */
#define SDG_AXIS_ALL 99
SDG_API sdg_tensor *sdg_sum(sdg_ctx *ctx, sdg_tensor *x, int axis, bool keepdim);
SDG_API sdg_tensor *sdg_mean(sdg_ctx *ctx, sdg_tensor *x, int axis, bool keepdim);
/* Euclidean norm over the last axis: (..., D) -> (..., 1); eps inside the root: sqrt(sum+eps). */
SDG_API sdg_tensor *sdg_norm_last(sdg_ctx *ctx, sdg_tensor *x, float eps);

/* Shape ops (gradients flow back through them). All copy except reshape, whose output shares
 * x's data (a view: do not write into either while the other is in use) and, when x is an
 * op's output, x's .grad buffer too (seed one of the two, or add into both). */
SDG_API sdg_tensor *sdg_concat(sdg_ctx *ctx, sdg_tensor *const *xs, int n, int axis);
/* start < 0 counts from the end (torch.narrow); perm entries < 0 likewise count from the end. */
SDG_API sdg_tensor *sdg_slice(sdg_ctx *ctx, sdg_tensor *x, int axis, int64_t start, int64_t len);
SDG_API sdg_tensor *sdg_reshape(sdg_ctx *ctx, sdg_tensor *x, int ndim, const int64_t *shape);
/* perm[i] = which input axis becomes output axis i. */
SDG_API sdg_tensor *sdg_permute(sdg_ctx *ctx, sdg_tensor *x, const int *perm);
SDG_API sdg_tensor *sdg_transpose(sdg_ctx *ctx, sdg_tensor *x, int axis0, int axis1);

/* Rows by index: x (R, F), idx n entries in [0, R) -> (n, F). idx is borrowed: keep it alive
 * and unchanged until backward has run or the ctx is reset (also for scatter_add). */
SDG_API sdg_tensor *sdg_gather(sdg_ctx *ctx, sdg_tensor *x, const int64_t *idx, int64_t n);
/* out (n_out, F) zero, then out[idx[i]] += x[i] for x (n, F): edge messages to nodes. */
SDG_API sdg_tensor *sdg_scatter_add(sdg_ctx *ctx, sdg_tensor *x, const int64_t *idx, int64_t n_out);

/* The upper triangle i <= j of each (N, N) matrix of a (B, C, N, N) as rows (B P, C),
 * P = N (N + 1) / 2, row b P + k for graph b's k-th pair in row order (pack); and rows
 * (B P, C) back to a symmetric (B, C, N, N), row k to both (i, j) and (j, i) (unpack). For
 * channel MLPs on symmetric edge features; pack gives the lower triangle no gradient. */
SDG_API sdg_tensor *sdg_edges_pack(sdg_ctx *ctx, sdg_tensor *a);
SDG_API sdg_tensor *sdg_edges_unpack(sdg_ctx *ctx, sdg_tensor *rows, int64_t N);

/* Softmax over axis; mask (optional, broadcastable to x, 0 = excluded) gives excluded entries
 * probability 0; a row with nothing included is all 0. */
SDG_API sdg_tensor *sdg_softmax(sdg_ctx *ctx, sdg_tensor *x, int axis, const sdg_tensor *mask);
/* Mean cross-entropy of logits x (R, K) against class indices target (R entries in [0, K),
 * -1 = row ignored) -> (1); 0 when every row is ignored. target is borrowed until backward.
 * ref: torch.nn.functional.cross_entropy(x, target, ignore_index=-1) */
SDG_API sdg_tensor *sdg_cross_entropy(sdg_ctx *ctx, sdg_tensor *x, const int64_t *target);

/* Multiplies x (B, N, ...) by node flags (B, N) broadcast over trailing axes. flags get no
 * gradient and are borrowed: keep them alive until backward has run (also for mask_adj). */
SDG_API sdg_tensor *sdg_mask_nodes(sdg_ctx *ctx, sdg_tensor *x, const sdg_tensor *flags);
/* Multiplies a (B, [C,] N, N) by flags[b,i] * flags[b,j]. */
SDG_API sdg_tensor *sdg_mask_adj(sdg_ctx *ctx, sdg_tensor *a, const sdg_tensor *flags);
/* GCN normalisation of a (..., N, N): diagonal REPLACED by 1, d_i = max(row sum, 1),
 * y = D^-1/2 A D^-1/2. The diagonal of a gets no gradient. ref: GDSS DenseGCNConv */
SDG_API sdg_tensor *sdg_gcn_norm(sdg_ctx *ctx, sdg_tensor *a);

/* Matrix products. matmul: (M, K) @ (K, N); either side transposed by its flag.
 * bmm: (..., M, K) @ (..., K, N) with equal leading dims, or b 2-D (shared by the batch). */
SDG_API sdg_tensor *sdg_matmul(sdg_ctx *ctx, sdg_tensor *a, sdg_tensor *b, bool ta, bool tb);
SDG_API sdg_tensor *sdg_bmm(sdg_ctx *ctx, sdg_tensor *a, sdg_tensor *b);

/* Normalisations (weight/bias optional: NULL). layer norm over the last axis;
 * group norm over (C/G channels x L) for x (B, C, L...) (trailing dims flattened into L).
 * ref: torch.nn.functional.layer_norm / group_norm */
SDG_API sdg_tensor *sdg_layer_norm(sdg_ctx *ctx, sdg_tensor *x, sdg_tensor *weight,
                                   sdg_tensor *bias, float eps);
SDG_API sdg_tensor *sdg_group_norm(sdg_ctx *ctx, sdg_tensor *x, int groups, sdg_tensor *weight,
                                   sdg_tensor *bias, float eps);
/* 1-D convolution, stride 1: x (B, Cin, L), w (Cout, Cin, K), bias (Cout) or NULL,
 * zero padding pad on each side -> (B, Cout, L + 2 pad - K + 1). */
SDG_API sdg_tensor *sdg_conv1d(sdg_ctx *ctx, sdg_tensor *x, sdg_tensor *w, sdg_tensor *bias, int pad);
/* y = x W^T + b for x (..., in), W (out, in), b (out) or NULL. ref: torch.nn.functional.linear */
SDG_API sdg_tensor *sdg_linear_op(sdg_ctx *ctx, sdg_tensor *x, sdg_tensor *w, sdg_tensor *b);

/* ---- raw kernels: no ctx, no tape, no threads of their own (callable inside a parallel
 * loop). Building blocks of fused forward passes without gradients (GDSS sampling). They
 * count no FLOPs: the caller adds its own with sdg_ctx_add_flops. ---- */
#define SDG_UNARY_NONE SDG_UNARY_COUNT   /* identity, for sdg_gemm_desc.act */
typedef enum sdg_gemm_acc {
    SDG_GEMM_ACC_NONE,    /* C = act(v)     */
    SDG_GEMM_ACC_INNER,   /* C = act(C + v) */
    SDG_GEMM_ACC_OUTER    /* C = C + act(v) */
} sdg_gemm_acc;
typedef struct sdg_gemm_desc {
    int64_t      M, N, K;
    const float *A;      int64_t lda;  bool ta;  /* op(A) (M, K): A stored (M, K), or (K, M) if ta */
    const float *B;      int64_t ldb;            /* (K, N), never transposed                      */
    float       *C;      int64_t ldc;            /* (M, N)                                        */
    float        alpha;                          /* v = alpha op(A) B + bias                      */
    const float *bias;   bool bias_rows;         /* (N) one per column, or (M) one per row; NULL  */
    sdg_unary    act;                            /* TANH, ELU, RELU or SDG_UNARY_NONE             */
    sdg_gemm_acc acc;
} sdg_gemm_desc;
/* One product with its epilogue on the calling thread: the register-blocked kernel of the
 * CPU's best path (B is re-read per 12 rows: meant for B up to a few hundred KiB). Row strides
 * are those of the arrays as stored. SDG_ERR_INVALID for a bad descriptor. O(M N K). */
SDG_API sdg_status sdg_gemm_run(const sdg_gemm_desc *g);
/* y = fn(x) over n floats on the calling thread (x == y allowed); vectorised for TANH, ELU,
 * EXP, SIGMOID, SILU and RELU; the same bits as the op. */
SDG_API void       sdg_unary_run(sdg_unary fn, const float *x, float *y, int64_t n);

/* ---- parameters: named, persistent, grouped per model ---- */
typedef struct sdg_params sdg_params;
SDG_API sdg_status  sdg_params_new(sdg_params **out);
SDG_API void        sdg_params_free(sdg_params *p);              /* NULL is a no-op */
/* A zeroed parameter with a zeroed gradient; name is copied and must be unique. */
SDG_API sdg_status  sdg_params_add(sdg_params *p, const char *name, int ndim,
                                   const int64_t *shape, sdg_tensor **out);
SDG_API size_t      sdg_params_count(const sdg_params *p);
SDG_API sdg_tensor *sdg_params_at(const sdg_params *p, size_t i);  /* in insertion order */
SDG_API sdg_tensor *sdg_params_find(const sdg_params *p, const char *name);
SDG_API int64_t     sdg_params_numel(const sdg_params *p);
SDG_API void        sdg_params_zero_grad(sdg_params *p);
/* dst <- src, parameter by parameter (same names and shapes in the same order). */
SDG_API sdg_status  sdg_params_copy(sdg_params *dst, const sdg_params *src);
/* Initialisers (PyTorch defaults): uniform(-bound, bound). */
SDG_API void        sdg_param_init_uniform(sdg_tensor *t, float bound, sdg_rng *rng);

/* ---- layers ---- */
/* Linear (out, in) + bias, Kaiming-uniform like torch.nn.Linear: U(+-1/sqrt(in)) for both. */
typedef struct sdg_linear {
    sdg_tensor *weight, *bias;   /* bias NULL when built without */
    int64_t     in, out;
} sdg_linear;
SDG_API sdg_status  sdg_linear_init(sdg_linear *l, sdg_params *p, const char *name, int64_t in,
                                    int64_t out, bool bias, sdg_rng *rng);
SDG_API sdg_tensor *sdg_linear_forward(sdg_ctx *ctx, const sdg_linear *l, sdg_tensor *x);

/* LayerNorm / GroupNorm with affine parameters (weight 1, bias 0 at init). */
typedef struct sdg_norm_layer {
    sdg_tensor *weight, *bias;
    int         groups;          /* group norm only */
    float       eps;
} sdg_norm_layer;
SDG_API sdg_status  sdg_layer_norm_init(sdg_norm_layer *l, sdg_params *p, const char *name,
                                        int64_t dim, float eps);
SDG_API sdg_status  sdg_group_norm_init(sdg_norm_layer *l, sdg_params *p, const char *name,
                                        int groups, int64_t channels, float eps);
SDG_API sdg_tensor *sdg_layer_norm_forward(sdg_ctx *ctx, const sdg_norm_layer *l, sdg_tensor *x);
SDG_API sdg_tensor *sdg_group_norm_forward(sdg_ctx *ctx, const sdg_norm_layer *l, sdg_tensor *x);

/* Conv1d (Cout, Cin, K) + bias, torch.nn.Conv1d's default init, "same" padding (K-1)/2. */
typedef struct sdg_conv1d_layer {
    sdg_tensor *weight, *bias;
    int         pad;
} sdg_conv1d_layer;
SDG_API sdg_status  sdg_conv1d_init(sdg_conv1d_layer *l, sdg_params *p, const char *name,
                                    int64_t cin, int64_t cout, int k, bool bias, sdg_rng *rng);
SDG_API sdg_tensor *sdg_conv1d_forward(sdg_ctx *ctx, const sdg_conv1d_layer *l, sdg_tensor *x);

/* ---- optimisers ---- */
typedef struct sdg_adam_params {
    float lr, beta1, beta2, eps;
    float weight_decay;   /* 0: none                                                      */
    bool  decoupled;      /* true: AdamW (decay the weights); false: L2 added to gradient */
    float lr_decay;       /* per sdg_adam_decay_lr() call, lr *= lr_decay (1: constant)   */
} sdg_adam_params;
SDG_API sdg_adam_params sdg_adam_default_params(void);   /* lr 1e-3, (0.9, 0.999), 1e-8 */
typedef struct sdg_adam sdg_adam;
SDG_API sdg_status sdg_adam_new(const sdg_adam_params *hp, sdg_params *p, sdg_adam **out);
SDG_API void       sdg_adam_free(sdg_adam *opt);                 /* NULL is a no-op */
SDG_API sdg_status sdg_adam_step(sdg_adam *opt);                 /* uses and keeps .grad */
SDG_API void       sdg_adam_decay_lr(sdg_adam *opt);             /* exponential LR decay */
SDG_API float      sdg_adam_lr(const sdg_adam *opt);
SDG_API int64_t    sdg_adam_steps(const sdg_adam *opt);
/* Moment buffers m and v, one per parameter, for checkpoints (same order as the params). */
SDG_API sdg_tensor *sdg_adam_moment(sdg_adam *opt, size_t i, int which /* 0: m, 1: v */);
SDG_API void        sdg_adam_set_state(sdg_adam *opt, int64_t steps, float lr);

/* Scales all gradients so that their global L2 norm is at most max_norm; the norm before
 * clipping goes to *norm (may be NULL). ref: torch.nn.utils.clip_grad_norm_ */
SDG_API sdg_status sdg_params_clip_grad_norm(sdg_params *p, float max_norm, float *norm);

/* EMA of parameters: shadow <- decay * shadow + (1 - decay) * param. */
typedef struct sdg_ema sdg_ema;
SDG_API sdg_status  sdg_ema_new(sdg_params *p, float decay, sdg_ema **out);
SDG_API void        sdg_ema_free(sdg_ema *e);                    /* NULL is a no-op */
SDG_API void        sdg_ema_update(sdg_ema *e);
SDG_API sdg_params *sdg_ema_shadow(sdg_ema *e);                  /* same names as the model */
SDG_API float       sdg_ema_decay(const sdg_ema *e);

#ifdef __cplusplus
}
#endif
#endif /* SDEGEN_NN_H */
