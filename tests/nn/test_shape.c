/* Shape ops (concat, slice, reshape, permute, transpose): finite-difference gradients over
 * 1-D to 4-D shapes and every axis, values against hand results and naive loops (including
 * the fast transpose paths at parallel sizes), backward accumulation, and error cases. */
#include "test_util.h"

/* ---- gradcheck wrappers ---- */
typedef struct { int n, axis; } concat_ud;
typedef struct { int axis; int64_t start, len; } slice_ud;
typedef struct { int ndim; int64_t shape[SDG_MAX_DIMS]; } reshape_ud;
typedef struct { int perm[SDG_MAX_DIMS]; } permute_ud;
typedef struct { int a0, a1; } transpose_ud;

static sdg_tensor *f_concat(sdg_ctx *c, sdg_tensor **in, void *u) {
    const concat_ud *p = u;
    return sdg_concat(c, in, p->n, p->axis);
}
static sdg_tensor *f_slice(sdg_ctx *c, sdg_tensor **in, void *u) {
    const slice_ud *p = u;
    return sdg_slice(c, in[0], p->axis, p->start, p->len);
}
static sdg_tensor *f_reshape(sdg_ctx *c, sdg_tensor **in, void *u) {
    const reshape_ud *p = u;
    return sdg_reshape(c, in[0], p->ndim, p->shape);
}
static sdg_tensor *f_permute(sdg_ctx *c, sdg_tensor **in, void *u) {
    const permute_ud *p = u;
    return sdg_permute(c, in[0], p->perm);
}
static sdg_tensor *f_transpose(sdg_ctx *c, sdg_tensor **in, void *u) {
    const transpose_ud *p = u;
    return sdg_transpose(c, in[0], p->a0, p->a1);
}

/* ---- concat ---- */
static void test_grad_concat(void) {
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(11, &rng) == SDG_OK);
    uint64_t seed = 1000;
    for (int nd = 1; nd <= 4; nd++)
        for (int axis = -nd; axis < nd; axis++)
            for (int n = 2; n <= 3; n++) {
                int ax = axis < 0 ? axis + nd : axis;
                gc_spec sp = {.n_in = n};
                int64_t base[SDG_MAX_DIMS];
                for (int d = 0; d < nd; d++) base[d] = 1 + (int64_t)sdg_rng_uint(rng, 3);
                for (int i = 0; i < n; i++) {
                    sp.ndim[i] = nd;
                    for (int d = 0; d < nd; d++) sp.shape[i][d] = base[d];
                    sp.shape[i][ax] = 1 + (int64_t)sdg_rng_uint(rng, 3);
                }
                if (n == 3) sp.no_grad[0] = true;   /* a constant first input */
                concat_ud u = {n, axis};
                char label[64];
                snprintf(label, sizeof label, "concat %d-D axis %d of %d", nd, axis, n);
                CU_ASSERT_EQUAL(sdg_gradcheck(label, f_concat, &u, &sp, seed++), 0);
            }
    sdg_rng_free(rng);
}

static void test_values_concat(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *a = sdg_tensor_from(ctx, 2, (int64_t[]){2, 2}, (float[]){1, 2, 3, 4});
    sdg_tensor *b = sdg_tensor_from(ctx, 2, (int64_t[]){2, 1}, (float[]){5, 6});
    sdg_tensor *c = sdg_tensor_from(ctx, 2, (int64_t[]){1, 2}, (float[]){7, 8});
    sdg_tensor *y = sdg_concat(ctx, (sdg_tensor *[]){a, b}, 2, -1);
    CU_ASSERT_FATAL(y != NULL);
    CU_ASSERT(y->ndim == 2 && y->shape[0] == 2 && y->shape[1] == 3);
    const float w1[6] = {1, 2, 5, 3, 4, 6};
    for (int i = 0; i < 6; i++) CU_ASSERT_EQUAL(y->data[i], w1[i]);
    y = sdg_concat(ctx, (sdg_tensor *[]){a, c, a}, 3, 0);
    CU_ASSERT_FATAL(y != NULL);
    CU_ASSERT(y->shape[0] == 5 && y->shape[1] == 2);
    const float w2[10] = {1, 2, 3, 4, 7, 8, 1, 2, 3, 4};
    for (int i = 0; i < 10; i++) CU_ASSERT_EQUAL(y->data[i], w2[i]);
    /* six inputs (more than a node's 4 input slots): every gradient block arrives */
    sdg_tensor *xs[6];
    for (int k = 0; k < 6; k++) {
        xs[k] = sdg_tensor_requires_grad(ctx, sdg_tensor_from(ctx, 1, (int64_t[]){k + 1},
                                         (float[]){1, 2, 3, 4, 5, 6}));
    }
    y = sdg_concat(ctx, xs, 6, 0);
    CU_ASSERT_FATAL(y != NULL && y->size == 21);
    sdg_tensor_requires_grad(ctx, y);
    for (int64_t i = 0; i < y->size; i++) y->grad[i] = (float)i;
    CU_ASSERT_FATAL(sdg_backward(ctx, y) == SDG_OK);
    for (int k = 0, off = 0; k < 6; off += k + 1, k++)
        for (int i = 0; i <= k; i++) CU_ASSERT_EQUAL(xs[k]->grad[i], (float)(off + i));
    /* a large 3-D concat along the middle axis (parallel path) against a naive loop */
    int64_t B = 40, F = 300, L0 = 7, L1 = 5;
    sdg_tensor *p = sdg_tensor_new(ctx, 3, (int64_t[]){B, L0, F});
    sdg_tensor *q = sdg_tensor_new(ctx, 3, (int64_t[]){B, L1, F});
    for (int64_t i = 0; i < p->size; i++) p->data[i] = (float)i;
    for (int64_t i = 0; i < q->size; i++) q->data[i] = -(float)i;
    y = sdg_concat(ctx, (sdg_tensor *[]){p, q}, 2, 1);
    CU_ASSERT_FATAL(y != NULL);
    int bad = 0;
    for (int64_t b0 = 0; b0 < B; b0++)
        for (int64_t l = 0; l < L0 + L1; l++)
            for (int64_t f = 0; f < F; f++) {
                float want = l < L0 ? p->data[(b0 * L0 + l) * F + f]
                                    : q->data[(b0 * L1 + l - L0) * F + f];
                bad += y->data[(b0 * (L0 + L1) + l) * F + f] != want;
            }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_OK);
    sdg_ctx_free(ctx);
}

/* ---- slice ---- */
static void test_grad_slice(void) {
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(12, &rng) == SDG_OK);
    /* start/middle/end of an axis of size 5, and a negative start (from the end) */
    const int64_t ranges[][2] = {{0, 2}, {1, 3}, {3, 2}, {0, 5}, {4, 1}, {-2, 2}};
    uint64_t seed = 2000;
    for (int nd = 1; nd <= 4; nd++)
        for (int axis = -nd; axis < nd; axis++)
            for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
                int ax = axis < 0 ? axis + nd : axis;
                gc_spec sp = {.n_in = 1};
                sp.ndim[0] = nd;
                for (int d = 0; d < nd; d++) sp.shape[0][d] = 1 + (int64_t)sdg_rng_uint(rng, 3);
                sp.shape[0][ax] = 5;
                slice_ud u = {axis, ranges[r][0], ranges[r][1]};
                char label[64];
                snprintf(label, sizeof label, "slice %d-D axis %d [%lld +%lld]", nd, axis,
                         (long long)u.start, (long long)u.len);
                CU_ASSERT_EQUAL(sdg_gradcheck(label, f_slice, &u, &sp, seed++), 0);
            }
    sdg_rng_free(rng);
}

static void test_values_slice(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *x = sdg_tensor_from(ctx, 2, (int64_t[]){2, 4}, (float[]){0, 1, 2, 3, 4, 5, 6, 7});
    sdg_tensor *y = sdg_slice(ctx, x, 1, 1, 2);
    CU_ASSERT_FATAL(y != NULL);
    CU_ASSERT(y->shape[0] == 2 && y->shape[1] == 2);
    const float w1[4] = {1, 2, 5, 6};
    for (int i = 0; i < 4; i++) CU_ASSERT_EQUAL(y->data[i], w1[i]);
    y = sdg_slice(ctx, x, -2, 1, 1);
    CU_ASSERT_FATAL(y != NULL);
    CU_ASSERT(y->shape[0] == 1 && y->shape[1] == 4 && y->data[0] == 4 && y->data[3] == 7);
    y = sdg_slice(ctx, x, 1, -1, 1);   /* last column */
    CU_ASSERT_FATAL(y != NULL);
    CU_ASSERT(y->size == 2 && y->data[0] == 3 && y->data[1] == 7);
    /* backward accumulates: two slices of one input add up where they overlap */
    sdg_tensor_requires_grad(ctx, x);
    sdg_tensor *s1 = sdg_slice(ctx, x, 1, 0, 3), *s2 = sdg_slice(ctx, x, 1, 2, 2);
    sdg_tensor *all = sdg_concat(ctx, (sdg_tensor *[]){s1, s2}, 2, 1);
    CU_ASSERT_FATAL(all != NULL && all->grad != NULL);
    for (int64_t i = 0; i < all->size; i++) all->grad[i] = 1;
    CU_ASSERT_FATAL(sdg_backward(ctx, all) == SDG_OK);
    const float wg[8] = {1, 1, 2, 1, 1, 1, 2, 1};
    for (int i = 0; i < 8; i++) CU_ASSERT_EQUAL(x->grad[i], wg[i]);
    sdg_ctx_free(ctx);
}

/* ---- reshape ---- */
static void test_grad_reshape(void) {
    const struct { int ndim; int64_t in[4]; reshape_ud out; } cases[] = {
        {2, {3, 4}, {1, {12}}},
        {1, {24}, {4, {2, 3, -1, 2}}},
        {3, {2, 3, 4}, {2, {-1, 4}}},
        {4, {2, 3, 2, 2}, {3, {6, -1, 2}}},
        {2, {5, 2}, {2, {2, 5}}},
        {3, {2, 1, 3}, {4, {1, 3, 1, -1}}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        gc_spec sp = {.n_in = 1};
        sp.ndim[0] = cases[c].ndim;
        memcpy(sp.shape[0], cases[c].in, sizeof cases[c].in);
        char label[64];
        snprintf(label, sizeof label, "reshape case %zu", c);
        CU_ASSERT_EQUAL(sdg_gradcheck(label, f_reshape, (void *)&cases[c].out, &sp, 3000 + c), 0);
    }
}

static void test_values_reshape(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    float v[6] = {1, 2, 3, 4, 5, 6};
    sdg_tensor *x = sdg_tensor_from(ctx, 2, (int64_t[]){2, 3}, v);
    sdg_tensor *y = sdg_reshape(ctx, x, 2, (int64_t[]){3, -1});
    CU_ASSERT_FATAL(y != NULL);
    CU_ASSERT(y->ndim == 2 && y->shape[0] == 3 && y->shape[1] == 2 && y->size == 6);
    CU_ASSERT(y->data == x->data);   /* a view: same elements, no copy */
    for (int i = 0; i < 6; i++) CU_ASSERT_EQUAL(y->data[i], v[i]);
    sdg_ctx_free(ctx);
}

/* ---- permute ---- */
/* Naive reference: y[o] = x[in] with in[perm[i]] = o[i]; acc adds instead. */
static void naive_permute(const float *x, int nd, const int64_t *shape, const int *perm,
                          float *y, bool acc) {
    int64_t n = 1, ys[SDG_MAX_DIMS], xst[SDG_MAX_DIMS];
    for (int d = nd - 1; d >= 0; d--) {
        xst[d] = n;
        n *= shape[d];
    }
    for (int i = 0; i < nd; i++) ys[i] = shape[perm[i]];
    for (int64_t k = 0; k < n; k++) {
        int64_t rem = k, src = 0;
        for (int i = nd - 1; i >= 0; i--) {
            src += (rem % ys[i]) * xst[perm[i]];
            rem /= ys[i];
        }
        if (acc) y[k] += x[src];
        else y[k] = x[src];
    }
}

/* Calls fn on every permutation of 0..n-1 (Heap's algorithm). */
static void each_perm(int n, void (*fn)(const int *perm, void *ud), void *ud) {
    int p[SDG_MAX_DIMS], c[SDG_MAX_DIMS] = {0};
    for (int i = 0; i < n; i++) p[i] = i;
    fn(p, ud);
    for (int i = 1; i < n;) {
        if (c[i] < i) {
            int j = (i % 2) ? c[i] : 0, t = p[j];
            p[j] = p[i];
            p[i] = t;
            fn(p, ud);
            c[i]++;
            i = 1;
        } else {
            c[i++] = 0;
        }
    }
}

typedef struct { int nd; int64_t shape[SDG_MAX_DIMS]; int count; uint64_t seed; } perm_job;

static void gc_one_perm(const int *perm, void *ud) {
    perm_job *j = ud;
    gc_spec sp = {.n_in = 1};
    sp.ndim[0] = j->nd;
    memcpy(sp.shape[0], j->shape, sizeof j->shape);
    permute_ud u;
    char label[80];
    int k = snprintf(label, sizeof label, "permute %d-D (", j->nd);
    for (int i = 0; i < j->nd; i++) {
        u.perm[i] = perm[i];
        k += snprintf(label + k, sizeof label - (size_t)k, i ? ",%d" : "%d", perm[i]);
    }
    snprintf(label + k, sizeof label - (size_t)k, ")");
    CU_ASSERT_EQUAL(sdg_gradcheck(label, f_permute, &u, &sp, j->seed++), 0);
    j->count++;
}

static void test_grad_permute(void) {
    /* every permutation (identity and full reversal included) of 1-D to 4-D shapes, and of
     * shapes with size-1 axes (which the planner drops) */
    const perm_job jobs[] = {
        {1, {5}, 0, 0}, {2, {3, 4}, 0, 0}, {3, {2, 3, 4}, 0, 0}, {4, {2, 3, 4, 5}, 0, 0},
        {4, {3, 1, 4, 2}, 0, 0}, {4, {1, 3, 1, 4}, 0, 0}, {3, {2, 1, 1}, 0, 0},
    };
    const int want[] = {1, 2, 6, 24, 24, 24, 6};
    for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++) {
        perm_job j = jobs[i];
        j.seed = 4000 + 100 * i;
        each_perm(j.nd, gc_one_perm, &j);
        CU_ASSERT_EQUAL(j.count, want[i]);
    }
    /* negative entries count from the end */
    gc_spec sp = {.n_in = 1};
    GC_SHAPE(sp, 0, 3, 2, 3, 4);
    permute_ud u = {{-1, 0, -2}};
    CU_ASSERT_EQUAL(sdg_gradcheck("permute (-1,0,-2)", f_permute, &u, &sp, 4999), 0);
}

static void test_grad_transpose(void) {
    const struct { int nd; int64_t shape[4]; int a0, a1; } cases[] = {
        {2, {3, 4}, 0, 1}, {3, {2, 3, 3}, -1, -2}, {4, {2, 3, 4, 2}, 1, 3},
        {4, {2, 2, 3, 3}, -2, -1}, {3, {2, 3, 4}, 1, 1}, {4, {2, 3, 2, 2}, 0, -1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        gc_spec sp = {.n_in = 1};
        sp.ndim[0] = cases[c].nd;
        memcpy(sp.shape[0], cases[c].shape, sizeof cases[c].shape);
        transpose_ud u = {cases[c].a0, cases[c].a1};
        char label[64];
        snprintf(label, sizeof label, "transpose case %zu", c);
        CU_ASSERT_EQUAL(sdg_gradcheck(label, f_transpose, &u, &sp, 5000 + c), 0);
    }
}

/* Large permutes (the tiled transpose paths and the strided path, above the parallel
 * threshold): forward against the naive loop, and backward accumulating onto a gradient that
 * already holds values. */
static void test_values_permute_large(void) {
    const struct { int nd; int64_t shape[4]; int perm[4]; } cases[] = {
        {3, {8, 67, 67}, {0, 2, 1}},          /* (B, N, N) swap last two           */
        {4, {2, 5, 61, 61}, {0, 1, 3, 2}},    /* (B, C, N, N) swap last two        */
        {4, {2, 40, 40, 17}, {0, 3, 1, 2}},   /* (B, N, N, C) -> (B, C, N, N)      */
        {4, {2, 17, 40, 40}, {0, 2, 3, 1}},   /* (B, C, N, N) -> (B, N, N, C)      */
        {2, {300, 201}, {1, 0}},              /* plain 2-D transpose               */
        {4, {5, 6, 7, 200}, {3, 2, 1, 0}},    /* full reversal (strided path)      */
        {3, {50, 60, 30}, {1, 0, 2}},         /* contiguous inner rows             */
        {4, {1, 200, 1, 300}, {3, 1, 2, 0}},  /* size-1 axes dropped: a transpose  */
        {4, {6, 7, 8, 100}, {0, 1, 2, 3}},    /* identity                          */
    };
    sdg_ctx *ctx = NULL;
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    CU_ASSERT_FATAL(sdg_rng_new(77, &rng) == SDG_OK);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        sdg_ctx_reset(ctx);
        int nd = cases[c].nd;
        const int *perm = cases[c].perm;
        sdg_tensor *x = sdg_tensor_requires_grad(ctx, sdg_tensor_new(ctx, nd, cases[c].shape));
        CU_ASSERT_FATAL(x != NULL);
        CU_ASSERT(x->size > 32768);
        sdg_rng_fill_uniform(rng, x->data, (size_t)x->size, -1, 1);
        sdg_rng_fill_uniform(rng, x->grad, (size_t)x->size, -1, 1);
        sdg_tensor *y = sdg_permute(ctx, x, perm);
        CU_ASSERT_FATAL(y != NULL && y->grad != NULL);
        for (int i = 0; i < nd; i++) CU_ASSERT_EQUAL(y->shape[i], x->shape[perm[i]]);
        sdg_tensor *want = sdg_tensor_new(ctx, nd, y->shape);
        naive_permute(x->data, nd, x->shape, perm, want->data, false);
        CU_ASSERT_EQUAL(memcmp(want->data, y->data, (size_t)y->size * sizeof(float)), 0);
        /* backward: x->grad + inverse permutation of y->grad */
        int inv[4];
        for (int i = 0; i < nd; i++) inv[perm[i]] = i;
        sdg_rng_fill_uniform(rng, y->grad, (size_t)y->size, -1, 1);
        sdg_tensor *gw = sdg_tensor_from(ctx, nd, x->shape, x->grad);
        naive_permute(y->grad, nd, y->shape, inv, gw->data, true);
        CU_ASSERT_FATAL(sdg_backward(ctx, y) == SDG_OK);
        CU_ASSERT_EQUAL(memcmp(gw->data, x->grad, (size_t)x->size * sizeof(float)), 0);
        if (memcmp(want->data, y->data, (size_t)y->size * sizeof(float)) != 0 ||
            memcmp(gw->data, x->grad, (size_t)x->size * sizeof(float)) != 0)
            printf("large permute case %zu differs from the naive loop\n", c);
    }
    sdg_rng_free(rng);
    sdg_ctx_free(ctx);
}

static void test_values_transpose(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *x = sdg_tensor_from(ctx, 2, (int64_t[]){2, 3}, (float[]){1, 2, 3, 4, 5, 6});
    sdg_tensor *y = sdg_transpose(ctx, x, 0, -1);
    CU_ASSERT_FATAL(y != NULL);
    CU_ASSERT(y->shape[0] == 3 && y->shape[1] == 2);
    const float w[6] = {1, 4, 2, 5, 3, 6};
    for (int i = 0; i < 6; i++) CU_ASSERT_EQUAL(y->data[i], w[i]);
    sdg_ctx_free(ctx);
}

/* ---- backward accumulates: a gradient that already holds values is added to ---- */
/* Runs f twice on the same x: once from a zero gradient, once from 100 everywhere; the seed
 * is small integers, so every sum is exact and the second gradient must be 100 + the first. */
static int accum_case(sdg_tensor *(*f)(sdg_ctx *, sdg_tensor *), int nd, const int64_t *shape) {
    sdg_ctx *ctx = NULL;
    if (sdg_ctx_new(0, &ctx) != SDG_OK) return 1;
    float *g0 = NULL;
    int bad = 0;
    for (int pass = 0; pass < 2; pass++) {
        sdg_ctx_reset(ctx);
        sdg_tensor *x = sdg_tensor_requires_grad(ctx, sdg_tensor_new(ctx, nd, shape));
        for (int64_t k = 0; k < x->size; k++) {
            x->data[k] = (float)k;
            x->grad[k] = pass ? 100.0f : 0.0f;
        }
        sdg_tensor *y = f(ctx, x);
        if (!y || !y->grad) {
            bad = 1;
            break;
        }
        for (int64_t k = 0; k < y->size; k++) y->grad[k] = (float)(k % 7 + 1);
        if (y->size == 1) y->grad[0] -= 1;
        if (sdg_backward(ctx, y) != SDG_OK) {
            bad = 1;
            break;
        }
        if (!pass) {
            g0 = malloc((size_t)x->size * sizeof(float));
            memcpy(g0, x->grad, (size_t)x->size * sizeof(float));
        } else {
            for (int64_t k = 0; k < x->size; k++) bad += x->grad[k] != 100.0f + g0[k];
        }
    }
    free(g0);
    sdg_ctx_free(ctx);
    return bad;
}
static sdg_tensor *a_concat(sdg_ctx *c, sdg_tensor *x) {
    return sdg_concat(c, (sdg_tensor *[]){x, x, x}, 3, 1);
}
static sdg_tensor *a_slice(sdg_ctx *c, sdg_tensor *x) { return sdg_slice(c, x, 1, 1, 2); }
static sdg_tensor *a_reshape(sdg_ctx *c, sdg_tensor *x) {
    return sdg_reshape(c, x, 2, (int64_t[]){-1, 2});
}
static sdg_tensor *a_swap(sdg_ctx *c, sdg_tensor *x) { return sdg_transpose(c, x, -1, -2); }
static sdg_tensor *a_strided(sdg_ctx *c, sdg_tensor *x) {
    return sdg_permute(c, x, (int[]){2, 0, 1, 3});
}
static sdg_tensor *a_identity(sdg_ctx *c, sdg_tensor *x) {
    return sdg_permute(c, x, (int[]){0, 1, 2, 3});
}

static void test_accumulate(void) {
    const int64_t s4[4] = {2, 4, 3, 2}, big[4] = {4, 3, 70, 70};
    CU_ASSERT_EQUAL(accum_case(a_concat, 4, s4), 0);
    CU_ASSERT_EQUAL(accum_case(a_slice, 4, s4), 0);
    CU_ASSERT_EQUAL(accum_case(a_reshape, 4, s4), 0);
    CU_ASSERT_EQUAL(accum_case(a_swap, 4, s4), 0);
    CU_ASSERT_EQUAL(accum_case(a_strided, 4, s4), 0);
    CU_ASSERT_EQUAL(accum_case(a_identity, 4, s4), 0);
    CU_ASSERT_EQUAL(accum_case(a_concat, 4, big), 0);
    CU_ASSERT_EQUAL(accum_case(a_reshape, 4, big), 0);
    CU_ASSERT_EQUAL(accum_case(a_identity, 4, big), 0);
}

/* ---- FLOP accounting: copies count 0, backward accumulations 1 per element ---- */
static void test_flops(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *x = sdg_tensor_requires_grad(ctx, sdg_tensor_newv(ctx, 3, (int64_t)2, (int64_t)3,
                                                                  (int64_t)4));
    for (int64_t i = 0; i < x->size; i++) x->data[i] = (float)i;
    sdg_tensor *y = sdg_transpose(ctx, x, 1, 2);
    CU_ASSERT_EQUAL(sdg_ctx_flops(ctx, SDG_OP_PERMUTE), 0);
    y = sdg_slice(ctx, y, 1, 1, 2);                       /* (2, 2, 3) */
    y = sdg_reshape(ctx, y, 1, (int64_t[]){-1});          /* (12)      */
    CU_ASSERT_FATAL(y != NULL);
    CU_ASSERT_EQUAL(sdg_ctx_flops_total(ctx), 0);
    for (int64_t i = 0; i < y->size; i++) y->grad[i] = 1;
    CU_ASSERT_FATAL(sdg_backward(ctx, y) == SDG_OK);
    CU_ASSERT_EQUAL(sdg_ctx_flops(ctx, SDG_OP_RESHAPE), 0);   /* shares the slice's gradient */
    CU_ASSERT_EQUAL(sdg_ctx_flops(ctx, SDG_OP_SLICE), 12);
    CU_ASSERT_EQUAL(sdg_ctx_flops(ctx, SDG_OP_PERMUTE), 24);
    sdg_ctx_free(ctx);
}

/* ---- errors: NULL, a sticky status and a message naming the op ---- */
static void expect_fail(sdg_ctx *ctx, sdg_tensor *y, sdg_status code, const char *what) {
    CU_ASSERT_PTR_NULL(y);
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), code);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), what));
    if (!y && sdg_ctx_status(ctx) == code && !strstr(sdg_errmsg(), what))
        printf("message \"%s\" lacks \"%s\"\n", sdg_errmsg(), what);
    sdg_ctx_reset(ctx);
}

static void test_errors(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
#define MK(...) sdg_tensor_zeros(ctx, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), \
                                 (int64_t[]){__VA_ARGS__})
    /* concat */
    expect_fail(ctx, sdg_concat(ctx, (sdg_tensor *[]){MK(2, 3), MK(2, 3)}, 2, 2), SDG_ERR_SHAPE,
                "concat: axis 2 out of range");
    expect_fail(ctx, sdg_concat(ctx, (sdg_tensor *[]){MK(2, 3), MK(2, 3)}, 2, -3), SDG_ERR_SHAPE,
                "concat: axis -3");
    expect_fail(ctx, sdg_concat(ctx, (sdg_tensor *[]){MK(2, 3), MK(3, 3)}, 2, 1), SDG_ERR_SHAPE,
                "concat: input 1 has shape [3,3] but input 0 has [2,3]");
    expect_fail(ctx, sdg_concat(ctx, (sdg_tensor *[]){MK(2, 3), MK(2, 3, 1)}, 2, 0),
                SDG_ERR_SHAPE, "input 1 has shape [2,3,1]");
    expect_fail(ctx, sdg_concat(ctx, (sdg_tensor *[]){MK(2)}, 0, 0), SDG_ERR_INVALID,
                "concat: 0 inputs");
    /* slice */
    expect_fail(ctx, sdg_slice(ctx, MK(2, 5), 2, 0, 1), SDG_ERR_SHAPE, "slice: axis 2");
    expect_fail(ctx, sdg_slice(ctx, MK(2, 5), 1, 3, 3), SDG_ERR_SHAPE,
                "slice: start 3, length 3 out of range for axis 1 (size 5)");
    expect_fail(ctx, sdg_slice(ctx, MK(2, 5), 1, 6, 0), SDG_ERR_SHAPE, "slice: start 6");
    expect_fail(ctx, sdg_slice(ctx, MK(2, 5), 1, -6, 1), SDG_ERR_SHAPE, "slice: start -6");
    expect_fail(ctx, sdg_slice(ctx, MK(2, 5), 0, 0, -1), SDG_ERR_SHAPE, "length -1");
    expect_fail(ctx, sdg_slice(ctx, MK(2, 5), 1, 1, INT64_MAX), SDG_ERR_SHAPE, "slice: start 1");
    /* reshape */
    expect_fail(ctx, sdg_reshape(ctx, MK(2, 3), 2, (int64_t[]){4, 2}), SDG_ERR_SHAPE,
                "reshape: x of shape [2,3] has 6 elements, the new shape 8");
    expect_fail(ctx, sdg_reshape(ctx, MK(2, 3), 2, (int64_t[]){-1, -1}), SDG_ERR_SHAPE,
                "only one -1");
    expect_fail(ctx, sdg_reshape(ctx, MK(2, 3), 2, (int64_t[]){-2, 3}), SDG_ERR_SHAPE,
                "entry 0 of the new shape is -2");
    expect_fail(ctx, sdg_reshape(ctx, MK(2, 3), 2, (int64_t[]){4, -1}), SDG_ERR_SHAPE,
                "reshape: cannot infer entry 1");
    expect_fail(ctx, sdg_reshape(ctx, MK(2, 3), 5, (int64_t[]){1, 1, 1, 2, 3}), SDG_ERR_INVALID,
                "reshape: 5 dimensions");
    /* permute / transpose */
    expect_fail(ctx, sdg_permute(ctx, MK(2, 3, 4), (int[]){0, 1, 1}), SDG_ERR_INVALID,
                "permute: perm[2] = 1 repeats an axis");
    expect_fail(ctx, sdg_permute(ctx, MK(2, 3, 4), (int[]){0, 3, 1}), SDG_ERR_INVALID,
                "not a permutation of the 3 axes of x of shape [2,3,4]");
    expect_fail(ctx, sdg_permute(ctx, MK(2, 3, 4), (int[]){0, -4, 1}), SDG_ERR_INVALID,
                "perm[1] = -4");
    expect_fail(ctx, sdg_permute(ctx, MK(2, 3), NULL), SDG_ERR_INVALID, "permute: perm is NULL");
    expect_fail(ctx, sdg_transpose(ctx, MK(2, 3), 0, 2), SDG_ERR_SHAPE,
                "transpose: axes (0, 2) out of range for x of shape [2,3]");
#undef MK
    /* ops given NULL return NULL; a failed ctx stays failed */
    CU_ASSERT_PTR_NULL(sdg_slice(ctx, NULL, 0, 0, 1));
    CU_ASSERT_PTR_NULL(sdg_concat(ctx, (sdg_tensor *[]){NULL, NULL}, 2, 0));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_OK);
    sdg_tensor *x = sdg_tensor_newv(ctx, 2, (int64_t)2, (int64_t)3);
    CU_ASSERT_PTR_NULL(sdg_slice(ctx, x, 0, 1, 5));
    CU_ASSERT_PTR_NULL(sdg_reshape(ctx, x, 1, (int64_t[]){6}));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_SHAPE);
    sdg_ctx_free(ctx);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"concat gradient (1-4 D, every axis, 2 and 3 inputs)", test_grad_concat},
        {"concat values (6 inputs, large)", test_values_concat},
        {"slice gradient (1-4 D, every axis, start/middle/end)", test_grad_slice},
        {"slice values and accumulation", test_values_slice},
        {"reshape gradient (with -1)", test_grad_reshape},
        {"reshape values", test_values_reshape},
        {"permute gradient (every permutation, 1-4 D)", test_grad_permute},
        {"transpose gradient", test_grad_transpose},
        {"permute large fast paths vs naive", test_values_permute_large},
        {"transpose values", test_values_transpose},
        {"backward accumulates into existing gradients", test_accumulate},
        {"FLOP accounting", test_flops},
        {"errors", test_errors},
        {NULL, NULL},
    };
    return sdg_test_main("nn/shape", cases);
}
