/* Private to src/nn: the tape, helpers for writing an op, broadcasting, parallel loops.
 *
 * Writing an op (one file per op family, forward and backward side by side):
 *   sdg_tensor *sdg_foo(sdg_ctx *ctx, sdg_tensor *x) {
 *       if (!nn_ok(ctx, 1, x)) return NULL;             // NULL input or failed ctx
 *       sdg_tensor *y = nn_out(ctx, ndim, shape, 1, x);  // grad buffer if x needs one
 *       if (!y) return NULL;
 *       ...compute y->data...;   sdg_ctx_add_flops(ctx, SDG_OP_FOO, flops);
 *       sdg_node *n = nn_record(ctx, SDG_OP_FOO, foo_backward, y, 1, x);
 *       if (n) { n->i[0] = ...; }          // saved scalars; n->aux = nn_alloc(...) for arrays
 *       return y;
 *   }
 *   static void foo_backward(sdg_ctx *ctx, sdg_node *n) {   // n->out->grad is complete
 *       if (n->in[0]->grad) ... n->in[0]->grad[k] += ...;     // ACCUMULATE, never overwrite
 *   }
 * The helpers take an explicit count of tensors; optional inputs (a NULL bias) may be NULL in
 * nn_out/nn_wants_grad/nn_record, and keep their slot in n->in so backward knows which is which.
 * nn_record returns NULL (and records nothing) when no gradient is needed. Kernels never call
 * malloc: scratch comes from nn_alloc (the ctx arena). */
#ifndef SDG_NN_INTERNAL_H
#define SDG_NN_INTERNAL_H
#include <stdarg.h>
#include "sdegen/nn.h"

typedef void (*sdg_backward_fn)(sdg_ctx *ctx, sdg_node *n);

#define SDG_NODE_MAX_IN 4
struct sdg_node {
    sdg_node       *prev;                 /* tape order: newest first */
    sdg_backward_fn backward;
    sdg_op          op;
    sdg_tensor     *out;
    sdg_tensor     *in[SDG_NODE_MAX_IN];
    int             n_in;
    void           *aux;                  /* op-specific saved arrays (arena) */
    const void     *cptr;                 /* op-specific borrowed pointer (e.g. a mask, indices) */
    int64_t         i[8];                 /* op-specific saved integers */
    float           f[4];                 /* op-specific saved scalars  */
};

struct sdg_ctx {
    sdg_arena *arena;
    sdg_node  *tape;                      /* newest node */
    sdg_status status;                    /* sticky: first failure since reset */
    bool       grad_enabled;
    double     flops[SDG_OP_COUNT];
};

/* Minimum element count before a loop goes parallel (OpenMP fork costs a few microseconds). */
#define SDG_PAR_MIN 32768

/* True when the ctx has not failed and each of the n tensors is non-NULL. */
bool        nn_ok(sdg_ctx *ctx, int n, ...);
/* True when grad mode is on and any of the n tensors (NULLs skipped) carries a gradient. */
bool        nn_wants_grad(sdg_ctx *ctx, int n, ...);
/* Output tensor; gets a zeroed .grad when nn_wants_grad over the n inputs. */
sdg_tensor *nn_out(sdg_ctx *ctx, int ndim, const int64_t *shape, int n, ...);
/* A tensor over existing data (a view of x's elements, e.g. reshape): no copy. When x needs a
 * gradient, a view of all of an op's output x shares x's .grad buffer (its gradient
 * accumulates straight into x's, same element order); a view of a leaf or of part of x gets a
 * zeroed .grad of its own. */
sdg_tensor *nn_view(sdg_ctx *ctx, int ndim, const int64_t *shape, float *data, sdg_tensor *x);
/* Records a tape node with the n inputs in n->in[0..n-1] (NULLs kept) when out has a grad. */
sdg_node   *nn_record(sdg_ctx *ctx, sdg_op op, sdg_backward_fn bw, sdg_tensor *out, int n, ...);
/* Arena scratch; on failure marks the ctx failed and returns NULL. */
void       *nn_alloc(sdg_ctx *ctx, size_t bytes);
/* Marks the ctx failed with a formatted reason; returns NULL. */
sdg_tensor *nn_fail(sdg_ctx *ctx, sdg_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Normalises a possibly negative axis; -1 if out of range. */
int         nn_axis(const sdg_tensor *x, int axis);
int64_t     nn_numel(int ndim, const int64_t *shape);

/* Broadcasting of a and b to a common 4-D shape (leading 1s prepended). */
typedef struct nn_bcast {
    int     ndim;                         /* of the result */
    int64_t shape[SDG_MAX_DIMS];          /* result shape (ndim entries) */
    int64_t n4[4];                        /* result shape padded to 4-D */
    int64_t sa[4], sb[4];                 /* element strides of a and b in 4-D, 0 where broadcast */
} nn_bcast;
/* Fails (returns false) when the shapes do not broadcast. */
bool        nn_broadcast(const sdg_tensor *a, const sdg_tensor *b, nn_bcast *bc);
/* Strides of a tensor padded to 4-D, with 0 where its size-1 dim is broadcast to n4. */
void        nn_bcast_strides(const sdg_tensor *t, const int64_t n4[4], int64_t s[4]);
/* grad_in[...] += sum of grad_out over the broadcast axes (s: strides of the input in the
 * 4-D result, as from nn_bcast_strides). Deterministic for any thread count. */
void        nn_reduce_broadcast(const float *gout, const int64_t n4[4], const int64_t s[4],
                                float *gin, int64_t gin_size);

/* Epilogue of one product row for sdg_gemm_run (op_unary.c): c[i] = act(alpha p[i] + b_i)
 * (acc INNER: act(c[i] + alpha p[i] + b_i); OUTER: c[i] + act(...)), b_i = bcol[i] or brow;
 * n <= NN_EPI_MAX. */
#define NN_EPI_MAX 256
void        nn_epilogue(const float *p, int64_t n, float alpha, const float *bcol, float brow,
                        sdg_unary act, int acc, float *c);

#endif
