/* Node and adjacency masks: values, finite-difference gradients and accumulation into
 * .grad (flags with zeros, fractional flags), no gradient to the flags, shape errors. */
#include "nn/accum_check.h"

static sdg_tensor *f_nodes(sdg_ctx *c, sdg_tensor **in, void *u) { (void)u; return sdg_mask_nodes(c, in[0], in[1]); }
static sdg_tensor *f_adj(sdg_ctx *c, sdg_tensor **in, void *u) { (void)u; return sdg_mask_adj(c, in[0], in[1]); }

/* flags (2, 4): graph 0 has 3 nodes, graph 1 has 2, plus a fractional variant. */
static const float flags01[8] = {1, 1, 1, 0, 1, 1, 0, 0};
static const float flagsfr[8] = {1, 0.5f, 0, -2, 0.25f, 1, 3, 0};

static void test_grad_nodes(void) {
    static const int64_t xs[][5] = {{2, 2, 4}, {3, 2, 4, 3}, {4, 2, 4, 2, 3}};
    for (size_t s = 0; s < sizeof xs / sizeof xs[0]; s++)
        for (int f = 0; f < 2; f++) {
            gc_spec sp = {.n_in = 2, .no_grad = {false, true}, .init = {NULL, f ? flagsfr : flags01}};
            sp.ndim[0] = (int)xs[s][0];
            for (int d = 0; d < sp.ndim[0]; d++) sp.shape[0][d] = xs[s][d + 1];
            GC_SHAPE(sp, 1, 2, 2, 4);
            char label[64];
            snprintf(label, sizeof label, "mask_nodes shape #%zu flags %d", s, f);
            CU_ASSERT_EQUAL(sdg_gradcheck(label, f_nodes, NULL, &sp, 1200 + 2 * s + f), 0);
            CU_ASSERT_EQUAL(sdg_accumcheck(label, f_nodes, NULL, &sp, 7), 0);
        }
}

static void test_grad_adj(void) {
    for (int nd = 3; nd <= 4; nd++)
        for (int f = 0; f < 2; f++) {
            gc_spec sp = {.n_in = 2, .no_grad = {false, true}, .init = {NULL, f ? flagsfr : flags01}};
            if (nd == 3) GC_SHAPE(sp, 0, 3, 2, 4, 4);
            else GC_SHAPE(sp, 0, 4, 2, 3, 4, 4);
            GC_SHAPE(sp, 1, 2, 2, 4);
            char label[64];
            snprintf(label, sizeof label, "mask_adj %d-D flags %d", nd, f);
            CU_ASSERT_EQUAL(sdg_gradcheck(label, f_adj, NULL, &sp, 1300 + 2 * nd + f), 0);
            CU_ASSERT_EQUAL(sdg_accumcheck(label, f_adj, NULL, &sp, 8), 0);
        }
}

static void test_values(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *fl = sdg_tensor_from(ctx, 2, (int64_t[]){2, 4}, flags01);
    float v[64];
    for (int i = 0; i < 64; i++) v[i] = (float)(i + 1);
    /* nodes: x (2, 4, 2) */
    sdg_tensor *x = sdg_tensor_from(ctx, 3, (int64_t[]){2, 4, 2}, v);
    sdg_tensor *y = sdg_mask_nodes(ctx, x, fl);
    CU_ASSERT_FATAL(y != NULL);
    for (int b = 0; b < 2; b++)
        for (int n = 0; n < 4; n++)
            for (int f = 0; f < 2; f++) {
                int k = (b * 4 + n) * 2 + f;
                CU_ASSERT_EQUAL(y->data[k], flags01[b * 4 + n] ? v[k] : 0.0f);
            }
    /* adjacency: a (2, 4, 4) and (2, 2, 4, 4) */
    for (int nd = 3; nd <= 4; nd++) {
        int C = nd == 4 ? 2 : 1;
        sdg_tensor *a = nd == 3 ? sdg_tensor_from(ctx, 3, (int64_t[]){2, 4, 4}, v)
                                : sdg_tensor_from(ctx, 4, (int64_t[]){2, 2, 4, 4}, v);
        sdg_tensor *ya = sdg_mask_adj(ctx, a, fl);
        CU_ASSERT_FATAL(ya != NULL);
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < C; c++)
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) {
                        int k = ((b * C + c) * 4 + i) * 4 + j;
                        bool keep = flags01[b * 4 + i] != 0 && flags01[b * 4 + j] != 0;
                        CU_ASSERT_EQUAL(ya->data[k], keep ? v[k] : 0.0f);
                    }
    }
    sdg_ctx_free(ctx);
}

/* Flags that carry a gradient buffer are treated as constants: it stays zero. */
static void test_flags_constant(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *fl = sdg_tensor_requires_grad(ctx, sdg_tensor_from(ctx, 2, (int64_t[]){2, 4}, flagsfr));
    sdg_tensor *a = sdg_tensor_requires_grad(ctx, sdg_tensor_zeros(ctx, 3, (int64_t[]){2, 4, 4}));
    for (int i = 0; i < 32; i++) a->data[i] = 1.0f;
    sdg_tensor *s = sdg_sum(ctx, sdg_mask_adj(ctx, a, fl), SDG_AXIS_ALL, false);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT_EQUAL(sdg_backward(ctx, s), SDG_OK);
    for (int i = 0; i < 8; i++) CU_ASSERT_EQUAL(fl->grad[i], 0.0f);
    CU_ASSERT_EQUAL(a->grad[1], flagsfr[0] * flagsfr[1]);
    CU_ASSERT_EQUAL(a->grad[16 + 5], flagsfr[5] * flagsfr[5]);
    sdg_ctx_flops_clear(ctx);
    sdg_mask_nodes(ctx, a, fl);
    CU_ASSERT_DOUBLE_EQUAL(sdg_ctx_flops(ctx, SDG_OP_MASK), 32.0, 0);
    sdg_ctx_free(ctx);
}

static void test_errors(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    const struct { int nd; int64_t shape[4]; bool adj; } bad[] = {
        {3, {2, 5, 3}, false},     /* N differs */
        {3, {3, 4, 3}, false},     /* B differs */
        {1, {2}, false},           /* too few dims */
        {3, {2, 4, 5}, true},      /* not square */
        {2, {2, 4}, true},         /* too few dims */
        {4, {2, 3, 5, 5}, true},   /* N differs */
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        sdg_ctx_reset(ctx);
        sdg_tensor *fl = sdg_tensor_zeros(ctx, 2, (int64_t[]){2, 4});
        sdg_tensor *x = sdg_tensor_zeros(ctx, bad[k].nd, bad[k].shape);
        sdg_tensor *y = bad[k].adj ? sdg_mask_adj(ctx, x, fl) : sdg_mask_nodes(ctx, x, fl);
        CU_ASSERT_PTR_NULL(y);
        CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_SHAPE);
        CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), bad[k].adj ? "mask_adj" : "mask_nodes"));
        CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "[2,4]"));
    }
    sdg_ctx_reset(ctx);
    sdg_tensor *x = sdg_tensor_zeros(ctx, 3, (int64_t[]){2, 4, 3});
    CU_ASSERT_PTR_NULL(sdg_mask_nodes(ctx, x, NULL));
    sdg_ctx_free(ctx);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"mask_nodes gradient, 2-D to 4-D x", test_grad_nodes},
        {"mask_adj gradient, 3-D and 4-D", test_grad_adj},
        {"values with 0/1 flags", test_values},
        {"flags get no gradient; FLOPs", test_flags_constant},
        {"shape errors", test_errors},
        {NULL, NULL},
    };
    return sdg_test_main("nn/mask", cases);
}
