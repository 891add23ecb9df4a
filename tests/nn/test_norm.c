/* Layer norm and group norm: hand-computed values, finite-difference gradients for x, weight
 * and bias (each optional) over 1-D to 4-D shapes, accumulation into .grad, the layer
 * wrappers and errors. */
#include "nn/accum_check.h"

/* in[0] = x, in[1] = weight, in[2] = bias; which of them exist is in the ud. */
typedef struct { int groups; bool w, b; } nm_ud;

static sdg_tensor *f_layer_norm(sdg_ctx *c, sdg_tensor **in, void *u) {
    const nm_ud *s = u;
    return sdg_layer_norm(c, in[0], s->w ? in[1] : NULL, s->b ? in[2] : NULL, 1e-5f);
}
static sdg_tensor *f_group_norm(sdg_ctx *c, sdg_tensor **in, void *u) {
    const nm_ud *s = u;
    return sdg_group_norm(c, in[0], s->groups, s->w ? in[1] : NULL, s->b ? in[2] : NULL, 1e-5f);
}

/* Inputs: x of the given shape; weight and bias of C elements (unused ones are constants). */
static void norm_spec(gc_spec *sp, const nm_ud *u, int nd, const int64_t *shape, int64_t C) {
    *sp = (gc_spec){.n_in = 3, .lo = -2, .hi = 2, .no_grad = {false, !u->w, !u->b}};
    sp->ndim[0] = nd;
    for (int d = 0; d < nd; d++) sp->shape[0][d] = shape[d];
    GC_SHAPE(*sp, 1, 1, C);
    GC_SHAPE(*sp, 2, 1, C);
}

static void test_grad_layer_norm(void) {
    static const int64_t shapes[][5] = {{1, 6}, {2, 3, 5}, {3, 2, 3, 4}, {4, 2, 1, 3, 7}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int aff = 0; aff < 4; aff++) {
            nm_ud u = {0, aff & 1, aff & 2};
            int nd = (int)shapes[s][0];
            gc_spec sp;
            norm_spec(&sp, &u, nd, shapes[s] + 1, shapes[s][nd]);
            char label[64];
            snprintf(label, sizeof label, "layer_norm shape #%zu w %d b %d", s, u.w, u.b);
            CU_ASSERT_EQUAL(sdg_gradcheck(label, f_layer_norm, &u, &sp, 1000 + 4 * s + aff), 0);
            CU_ASSERT_EQUAL(sdg_accumcheck(label, f_layer_norm, &u, &sp, 5), 0);
        }
}

static void test_grad_group_norm(void) {
    static const struct { int groups; int64_t shape[5]; } cs[] = {
        {2, {3, 2, 4, 5}}, {1, {3, 2, 3, 4}}, {3, {3, 1, 6, 2}}, {6, {3, 2, 6, 3}},
        {2, {2, 3, 6}}, {2, {4, 2, 4, 2, 3}},
    };
    for (size_t s = 0; s < sizeof cs / sizeof cs[0]; s++)
        for (int aff = 0; aff < 4; aff++) {
            nm_ud u = {cs[s].groups, aff & 1, aff & 2};
            int nd = (int)cs[s].shape[0];
            gc_spec sp;
            norm_spec(&sp, &u, nd, cs[s].shape + 1, cs[s].shape[2]);
            if (cs[s].groups == 6) sp.lo = -1, sp.hi = 1;   /* 1 channel x 3 per group */
            char label[64];
            snprintf(label, sizeof label, "group_norm case #%zu w %d b %d", s, u.w, u.b);
            CU_ASSERT_EQUAL(sdg_gradcheck(label, f_group_norm, &u, &sp, 1100 + 4 * s + aff), 0);
            CU_ASSERT_EQUAL(sdg_accumcheck(label, f_group_norm, &u, &sp, 6), 0);
        }
}

static void test_values_layer_norm(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    /* [1,2,3,4]: mean 2.5, biased var 1.25 -> (x - 2.5) / sqrt(1.25 + eps) */
    const float v[4] = {1, 2, 3, 4}, w[4] = {1, 2, 1, 0.5f}, b[4] = {0, 1, -1, 0};
    sdg_tensor *x = sdg_tensor_from(ctx, 1, (int64_t[]){4}, v);
    sdg_tensor *y = sdg_layer_norm(ctx, x, NULL, NULL, 1e-5f);
    CU_ASSERT_FATAL(y != NULL);
    double r = 1.0 / sqrt(1.25 + 1e-5);
    for (int i = 0; i < 4; i++) CU_ASSERT_DOUBLE_EQUAL(y->data[i], (v[i] - 2.5) * r, 1e-6);
    sdg_tensor *tw = sdg_tensor_from(ctx, 1, (int64_t[]){4}, w);
    sdg_tensor *tb = sdg_tensor_from(ctx, 1, (int64_t[]){4}, b);
    y = sdg_layer_norm(ctx, x, tw, tb, 1e-5f);
    CU_ASSERT_FATAL(y != NULL);
    for (int i = 0; i < 4; i++) CU_ASSERT_DOUBLE_EQUAL(y->data[i], (v[i] - 2.5) * r * w[i] + b[i], 1e-6);
    /* each row of a (2, 3) tensor is normalised separately; a constant row gives 0 */
    const float v2[6] = {5, 5, 5, 0, 3, 6};
    y = sdg_layer_norm(ctx, sdg_tensor_from(ctx, 2, (int64_t[]){2, 3}, v2), NULL, NULL, 1e-5f);
    CU_ASSERT_FATAL(y != NULL);
    for (int i = 0; i < 3; i++) CU_ASSERT_EQUAL(y->data[i], 0.0f);
    double r2 = 1.0 / sqrt(6.0 + 1e-5);   /* var of {0,3,6} = 6 */
    CU_ASSERT_DOUBLE_EQUAL(y->data[3], -3 * r2, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(y->data[4], 0.0, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(y->data[5], 3 * r2, 1e-6);
    sdg_ctx_free(ctx);
}

/* x (1, 4, 2), 2 groups: group 0 = channels 0-1 = {1,2,3,4}, group 1 = {10,10,10,14}. */
static void test_values_group_norm(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    const float v[8] = {1, 2, 3, 4, 10, 10, 10, 14};
    const float w[4] = {1, 2, 3, 4}, b[4] = {0, 0, 1, 1};
    sdg_tensor *x = sdg_tensor_from(ctx, 3, (int64_t[]){1, 4, 2}, v);
    sdg_tensor *tw = sdg_tensor_from(ctx, 1, (int64_t[]){4}, w);
    sdg_tensor *tb = sdg_tensor_from(ctx, 1, (int64_t[]){4}, b);
    sdg_tensor *y = sdg_group_norm(ctx, x, 2, tw, tb, 1e-5f);
    CU_ASSERT_FATAL(y != NULL);
    double r0 = 1.0 / sqrt(1.25 + 1e-5), r1 = 1.0 / sqrt(3.0 + 1e-5);   /* var {10,10,10,14} = 3 */
    double want[8] = {-1.5 * r0, -0.5 * r0, 0.5 * r0 * 2, 1.5 * r0 * 2,
                      -1 * r1 * 3 + 1, -1 * r1 * 3 + 1, -1 * r1 * 4 + 1, 3 * r1 * 4 + 1};
    for (int i = 0; i < 8; i++) CU_ASSERT_DOUBLE_EQUAL(y->data[i], want[i], 1e-5);
    /* 1 group = layer norm over (C, L); C groups = instance norm */
    sdg_tensor *y1 = sdg_group_norm(ctx, x, 1, NULL, NULL, 0.0f);
    sdg_tensor *ln = sdg_layer_norm(ctx, sdg_tensor_from(ctx, 1, (int64_t[]){8}, v), NULL, NULL, 0.0f);
    CU_ASSERT_FATAL(y1 && ln);
    for (int i = 0; i < 8; i++) CU_ASSERT_DOUBLE_EQUAL(y1->data[i], ln->data[i], 1e-6);
    sdg_tensor *y4 = sdg_group_norm(ctx, x, 4, NULL, NULL, 1e-5f);
    CU_ASSERT_FATAL(y4 != NULL);
    CU_ASSERT_DOUBLE_EQUAL(y4->data[0], -0.5 / sqrt(0.25 + 1e-5), 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(y4->data[7], 2.0 / sqrt(4.0 + 1e-5), 1e-6);
    CU_ASSERT_EQUAL(y4->data[4], 0.0f);   /* constant channel */
    sdg_ctx_free(ctx);
}

static void test_layers(void) {
    sdg_params *p = NULL;
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_params_new(&p) == SDG_OK && sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_norm_layer ln, gn, bad;
    CU_ASSERT_EQUAL(sdg_layer_norm_init(&ln, p, "enc.ln", 3, 1e-5f), SDG_OK);
    CU_ASSERT_EQUAL(sdg_group_norm_init(&gn, p, "dec.gn", 2, 4, 1e-6f), SDG_OK);
    CU_ASSERT_EQUAL(sdg_params_count(p), 4);
    CU_ASSERT_PTR_EQUAL(sdg_params_find(p, "enc.ln.weight"), ln.weight);
    CU_ASSERT_PTR_EQUAL(sdg_params_find(p, "enc.ln.bias"), ln.bias);
    CU_ASSERT_PTR_EQUAL(sdg_params_find(p, "dec.gn.weight"), gn.weight);
    CU_ASSERT_PTR_EQUAL(sdg_params_find(p, "dec.gn.bias"), gn.bias);
    CU_ASSERT(gn.weight->shape[0] == 4 && gn.groups == 2 && gn.eps == 1e-6f);
    for (int i = 0; i < 4; i++) CU_ASSERT(gn.weight->data[i] == 1.0f && gn.bias->data[i] == 0.0f);
    CU_ASSERT_EQUAL(sdg_group_norm_init(&bad, p, "bad", 3, 4, 1e-5f), SDG_ERR_SHAPE);
    CU_ASSERT_EQUAL(sdg_layer_norm_init(&bad, p, "enc.ln", 3, 1e-5f), SDG_ERR_INVALID);   /* duplicate */
    /* forward = functional op; backward reaches the parameters (and accumulates) */
    const float v[6] = {1, 2, 4, -1, 0, 3};
    sdg_tensor *x = sdg_tensor_from(ctx, 2, (int64_t[]){2, 3}, v);
    sdg_tensor *y = sdg_layer_norm_forward(ctx, &ln, x);
    sdg_tensor *z = sdg_layer_norm(ctx, x, NULL, NULL, 1e-5f);
    CU_ASSERT_FATAL(y && z);
    for (int i = 0; i < 6; i++) CU_ASSERT_EQUAL(y->data[i], z->data[i]);
    sdg_tensor *s = sdg_sum(ctx, y, SDG_AXIS_ALL, false);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT_EQUAL(sdg_backward(ctx, s), SDG_OK);
    for (int i = 0; i < 3; i++) CU_ASSERT_DOUBLE_EQUAL(ln.bias->grad[i], 2.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(ln.weight->grad[0], z->data[0] + z->data[3], 1e-6);
    sdg_tensor *xg = sdg_tensor_from(ctx, 3, (int64_t[]){2, 4, 3}, (float[24]){1, 2, 3, 4, 5, 6});
    sdg_tensor *yg = sdg_group_norm_forward(ctx, &gn, xg);
    sdg_tensor *zg = sdg_group_norm(ctx, xg, 2, NULL, NULL, 1e-6f);
    CU_ASSERT_FATAL(yg && zg);
    for (int i = 0; i < 24; i++) CU_ASSERT_EQUAL(yg->data[i], zg->data[i]);
    sdg_ctx_free(ctx);
    sdg_params_free(p);
}

static void test_errors(void) {
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_tensor *x = sdg_tensor_zeros(ctx, 3, (int64_t[]){2, 6, 5});
    sdg_tensor *w5 = sdg_tensor_zeros(ctx, 1, (int64_t[]){5});
    sdg_tensor *w6 = sdg_tensor_zeros(ctx, 1, (int64_t[]){6});
    CU_ASSERT_PTR_NULL(sdg_group_norm(ctx, x, 4, NULL, NULL, 1e-5f));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_SHAPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "group_norm"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "[2,6,5]"));
    sdg_ctx_reset(ctx);
    x = sdg_tensor_zeros(ctx, 3, (int64_t[]){2, 6, 5});
    w5 = sdg_tensor_zeros(ctx, 1, (int64_t[]){5});
    w6 = sdg_tensor_zeros(ctx, 1, (int64_t[]){6});
    CU_ASSERT_PTR_NULL(sdg_group_norm(ctx, x, 3, w5, NULL, 1e-5f));
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "weight"));
    sdg_ctx_reset(ctx);
    x = sdg_tensor_zeros(ctx, 3, (int64_t[]){2, 6, 5});
    w5 = sdg_tensor_zeros(ctx, 1, (int64_t[]){5});
    w6 = sdg_tensor_zeros(ctx, 1, (int64_t[]){6});
    CU_ASSERT_PTR_NULL(sdg_layer_norm(ctx, x, w5, w6, 1e-5f));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_SHAPE);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "layer_norm: bias"));
    sdg_ctx_reset(ctx);
    x = sdg_tensor_zeros(ctx, 1, (int64_t[]){6});
    CU_ASSERT_PTR_NULL(sdg_group_norm(ctx, x, 1, NULL, NULL, 1e-5f));
    CU_ASSERT_EQUAL(sdg_ctx_status(ctx), SDG_ERR_SHAPE);
    sdg_ctx_reset(ctx);
    x = sdg_tensor_zeros(ctx, 2, (int64_t[]){2, 6});
    sdg_ctx_flops_clear(ctx);
    CU_ASSERT_PTR_NOT_NULL(sdg_layer_norm(ctx, x, NULL, NULL, 1e-5f));
    CU_ASSERT_PTR_NOT_NULL(sdg_group_norm(ctx, x, 2, NULL, NULL, 1e-5f));
    CU_ASSERT(sdg_ctx_flops(ctx, SDG_OP_LAYER_NORM) > 0 && sdg_ctx_flops(ctx, SDG_OP_GROUP_NORM) > 0);
    sdg_ctx_free(ctx);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"layer_norm gradient (x, weight, bias), 1-D to 4-D", test_grad_layer_norm},
        {"group_norm gradient (x, weight, bias), 3-D and 4-D", test_grad_group_norm},
        {"layer_norm values", test_values_layer_norm},
        {"group_norm values with 2 groups", test_values_group_norm},
        {"layer wrappers: names, init, forward, parameter gradients", test_layers},
        {"errors and FLOPs", test_errors},
        {NULL, NULL},
    };
    return sdg_test_main("nn/norm", cases);
}
