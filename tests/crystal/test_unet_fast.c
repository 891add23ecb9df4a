/* The crystal U-Net's fused no-grad path (sampling) against its op path (grad mode on, as in
 * training), on random inputs and random weights (every parameter perturbed, so that norm
 * weights, biases and the null embedding are not at their initial values): levels 1 to 4,
 * with and without attention, with and without conditioning (values, keep = 0 and the null
 * embedding), 1 and 2 blocks, lengths that need padding. Also: the same bits on 1 and 2 threads,
 * and the FLOP count of the fused path within 1 % of the op path's (it counts as the ops do). */
#include "test_util.h"

typedef struct fast_case {
    int64_t width, rows, base, emb, B;
    int     levels, blocks, groups, n_cond, cond_mode;   /* cond_mode: 0 values, 1 mixed keep, 2 NULL */
    bool    attention;
} fast_case;

static double max_abs(const float *x, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs((double)x[i]));
    return m;
}

static void check_case(const fast_case *fc, uint64_t seed) {
    sdg_crystal_unet_params p = sdg_crystal_unet_default_params();
    p.width = fc->width;
    p.rows = fc->rows;
    p.base = fc->base;
    p.emb = fc->emb;
    p.levels = fc->levels;
    p.blocks = fc->blocks;
    p.groups = fc->groups;
    p.n_cond = fc->n_cond;
    p.attention = fc->attention;
    p.seed = seed;
    sdg_crystal_unet *u = NULL;
    sdg_ctx *ctx = NULL;
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_crystal_unet_new(&p, &u) == SDG_OK);
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    CU_ASSERT_FATAL(sdg_rng_new(seed + 100, &rng) == SDG_OK);
    sdg_params *P = sdg_crystal_unet_params_store(u);
    for (size_t i = 0; i < sdg_params_count(P); i++) {
        sdg_tensor *t = sdg_params_at(P, i);
        for (int64_t k = 0; k < t->size; k++) t->data[k] += (float)(0.6 * sdg_rng_uniform(rng) - 0.3);
    }
    int64_t B = fc->B, n = B * p.width * p.rows;
    float *x = malloc((size_t)n * sizeof(float)), *cn = malloc((size_t)B * sizeof(float));
    float *cond = malloc((size_t)B * sizeof(float)), *keep = malloc((size_t)B * sizeof(float));
    CU_ASSERT_FATAL(x && cn && cond && keep);
    sdg_rng_fill_uniform(rng, x, (size_t)n, -2.0f, 2.0f);
    sdg_rng_fill_uniform(rng, cn, (size_t)B, -2.0f, 1.5f);
    sdg_rng_fill_uniform(rng, cond, (size_t)B, -1.5f, 1.5f);
    for (int64_t b = 0; b < B; b++) keep[b] = b % 3 == 1 ? 0.0f : 1.0f;
    if (fc->cond_mode == 1) cond[1 % B] = NAN;   /* keep 0 there: a missing value never enters */
    const float *cv = fc->cond_mode == 2 ? NULL : cond, *kp = fc->cond_mode == 1 ? keep : NULL;
    sdg_tensor *ref = NULL, *fast = NULL, *one = NULL;
    double fl_ref = 0, fl_fast = 0;
    int64_t shape[3] = {B, p.width, p.rows};
    for (int pass = 0; pass < 3; pass++) {   /* op path, fused on 2 threads, fused on 1 */
        int threads = sdg_num_threads();
        if (pass == 2) sdg_set_num_threads(1);
        sdg_ctx_set_grad(ctx, pass == 0);
        sdg_ctx_flops_clear(ctx);
        sdg_tensor *y = sdg_crystal_unet_forward(ctx, u, sdg_tensor_from(ctx, 3, shape, x), cn, cv, kp);
        sdg_set_num_threads(threads);
        if (pass == 0) ref = y, fl_ref = sdg_ctx_flops_total(ctx);
        else if (pass == 1) fast = y, fl_fast = sdg_ctx_flops_total(ctx);
        else one = y;
    }
    CU_ASSERT_FATAL(ref && fast && one && sdg_ctx_status(ctx) == SDG_OK);
    CU_ASSERT_FATAL(ref->size == n && fast->size == n && one->size == n);
    CU_ASSERT(ref->node != NULL);   /* the op path did record a tape */
    double err = 0, mag = max_abs(ref->data, n);
    for (int64_t k = 0; k < n; k++) err = fmax(err, fabs((double)ref->data[k] - fast->data[k]));
    printf("\n  W %lld R %3lld base %2lld levels %d blocks %d attn %d cond %d/%d B %lld: max |fast - op| / max |op| "
           "%.2e (max |op| %.2f), FLOPs %.4g of %.4g",
           (long long)p.width, (long long)p.rows, (long long)p.base, p.levels, p.blocks, (int)p.attention, p.n_cond,
           fc->cond_mode, (long long)B, err / mag, mag, fl_fast, fl_ref);
    CU_ASSERT(mag > 1e-2);
    CU_ASSERT(err <= 1e-5 * mag);
    CU_ASSERT(memcmp(fast->data, one->data, (size_t)n * sizeof(float)) == 0);
    CU_ASSERT(fabs(fl_fast - fl_ref) <= 0.01 * fl_ref);
    free(x);
    free(cn);
    free(cond);
    free(keep);
    sdg_rng_free(rng);
    sdg_ctx_free(ctx);
    sdg_crystal_unet_free(u);
}

static void test_fast_vs_ops(void) {
    const fast_case cases[] = {
        /* W   R  base emb B  lev blk grp cond mode attn */
        {5, 106, 16, 32, 5, 2, 1, 8, 0, 0, true},     /* perov_5 at base 16 */
        {5, 106, 32, 64, 3, 2, 1, 8, 1, 0, true},     /* perov_5 at base 32, conditioned */
        {3, 13, 8, 8, 3, 1, 1, 2, 1, 1, false},       /* one level, keep mixed, a NaN dropped */
        {3, 13, 8, 8, 4, 3, 2, 4, 1, 2, true},        /* padded to 16, 2 blocks, null embedding */
        {3, 29, 12, 16, 7, 3, 1, 3, 0, 0, false},     /* padded to 32, no attention */
        {4, 9, 8, 8, 2, 4, 1, 2, 1, 0, true},         /* 4 levels: bottleneck of 2 rows, 1 real */
        {6, 1, 4, 4, 1, 1, 2, 2, 0, 0, true},         /* one row, width above the channels */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_case(&cases[i], 11 + i);
    printf("\n");
}

/* The fused path with the grad mode off inside a sampling-like scope: a release after the
 * call frees what it took, and an error already on the ctx is kept (no output). */
static void test_fast_scope(void) {
    sdg_crystal_unet_params p = sdg_crystal_unet_default_params();
    p.width = 3, p.rows = 10, p.base = 8, p.groups = 2, p.emb = 8;
    sdg_crystal_unet *u = NULL;
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_crystal_unet_new(&p, &u) == SDG_OK);
    CU_ASSERT_FATAL(sdg_ctx_new(1 << 20, &ctx) == SDG_OK);
    sdg_ctx_set_grad(ctx, false);
    float x[2 * 30], cn[2] = {0.1f, -0.2f};
    sdg_test_fill(x, 60, 3);
    sdg_tensor *keep = sdg_tensor_new(ctx, 3, (int64_t[]){2, 3, 10});
    CU_ASSERT_FATAL(keep != NULL);
    size_t used0 = sdg_arena_used(sdg_ctx_arena(ctx));
    sdg_ctx_pos pos = sdg_ctx_mark(ctx);
    sdg_tensor *y = sdg_crystal_unet_forward(ctx, u, sdg_tensor_from(ctx, 3, (int64_t[]){2, 3, 10}, x), cn, NULL, NULL);
    CU_ASSERT_FATAL(y != NULL);
    memcpy(keep->data, y->data, 60 * sizeof(float));
    CU_ASSERT(sdg_ctx_release(ctx, pos));
    CU_ASSERT(sdg_arena_used(sdg_ctx_arena(ctx)) == used0);
    sdg_ctx_fail(ctx, SDG_ERROR(SDG_ERR_INVALID, "an earlier failure"));
    CU_ASSERT(sdg_crystal_unet_forward(ctx, u, keep, cn, NULL, NULL) == NULL);
    CU_ASSERT(sdg_ctx_status(ctx) == SDG_ERR_INVALID);
    sdg_ctx_free(ctx);
    sdg_crystal_unet_free(u);
}

int main(void) {
    static const sdg_test_case cases[] = {
        {"fused no-grad path = op path (random weights, 7 configurations)", test_fast_vs_ops},
        {"fused path: scoped release, sticky error", test_fast_scope},
        {NULL, NULL}};
    return sdg_test_main("crystal unet fast path", cases);
}
