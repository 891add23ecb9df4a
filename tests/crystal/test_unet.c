/* The crystal U-Net: finite-difference gradients of the whole net (input, property and every
 * parameter tensor) on a tiny configuration; shapes, batch independence, the null embedding;
 * the preconditioned denoiser against Karras et al.'s formulas; the EDM loss against
 * lambda(sigma) ||D - x0||^2. */
#include "test_util.h"

static sdg_crystal_unet_params tiny(void) {
    sdg_crystal_unet_params p = sdg_crystal_unet_default_params();
    p.width = 3;
    p.rows = 7;        /* padded to 8 */
    p.base = 8;
    p.groups = 2;
    p.emb = 8;
    p.levels = 2;
    p.n_cond = 1;
    p.seed = 5;
    return p;
}

typedef struct gc_ud { sdg_crystal_unet *u; } gc_ud;

static sdg_tensor *net_fn(sdg_ctx *ctx, sdg_tensor **in, void *ud) {
    gc_ud *g = ud;
    const float cn[2] = {-0.7f, 0.4f}, keep[2] = {1.0f, 0.0f};
    /* in[1] (B, 1) property values: the gradient reaches them through keep = 1 only */
    return sdg_crystal_unet_forward(ctx, g->u, in[0], cn, in[1]->data, keep);
}

static void test_grad_input(void) {
    sdg_crystal_unet_params p = tiny();
    sdg_crystal_unet *u = NULL;
    CU_ASSERT_FATAL(sdg_crystal_unet_new(&p, &u) == SDG_OK);
    gc_ud g = {u};
    gc_spec sp = {.n_in = 2, .ndim = {3, 2}, .shape = {{2, 3, 7}, {2, 1}}, .no_grad = {false, true}, .tol = 3e-2};
    CU_ASSERT(sdg_gradcheck("unet dx", net_fn, &g, &sp, 11) == 0);
    sdg_crystal_unet_free(u);
}

/* Every parameter tensor: up to 3 random entries each, 4-point central differences of
 * L = sum(r * y), against the tape. */
static void test_grad_params(void) {
    sdg_crystal_unet_params p = tiny();
    sdg_crystal_unet *u = NULL;
    sdg_ctx *ctx = NULL;
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_crystal_unet_new(&p, &u) == SDG_OK);
    CU_ASSERT_FATAL(sdg_ctx_new(1 << 20, &ctx) == SDG_OK);
    CU_ASSERT_FATAL(sdg_rng_new(3, &rng) == SDG_OK);
    float x[2 * 3 * 7], r[2 * 3 * 7], cond[2] = {0.3f, -1.1f};
    const float cn[2] = {-0.7f, 0.4f}, keep[2] = {1.0f, 0.0f};
    sdg_rng_fill_uniform(rng, x, 42, -1, 1);
    sdg_rng_fill_uniform(rng, r, 42, -1, 1);
    sdg_params *P = sdg_crystal_unet_params_store(u);
    int64_t shape[3] = {2, 3, 7};
    sdg_tensor *xt = sdg_tensor_from(ctx, 3, shape, x);
    sdg_tensor *y = sdg_crystal_unet_forward(ctx, u, xt, cn, cond, keep);
    CU_ASSERT_FATAL(y != NULL && y->grad != NULL);
    CU_ASSERT(y->shape[0] == 2 && y->shape[1] == 3 && y->shape[2] == 7);
    memcpy(y->grad, r, sizeof r);
    sdg_params_zero_grad(P);
    CU_ASSERT_FATAL(sdg_backward(ctx, y) == SDG_OK);
    size_t np = sdg_params_count(P);
    float **ana = calloc(np, sizeof *ana);
    for (size_t i = 0; i < np; i++) {
        sdg_tensor *t = sdg_params_at(P, i);
        ana[i] = malloc((size_t)t->size * sizeof(float));
        memcpy(ana[i], t->grad, (size_t)t->size * sizeof(float));
    }
    int bad = 0, checked = 0;
    const double h = 1e-2, off[4] = {2, 1, -1, -2};
    for (size_t i = 0; i < np; i++) {
        sdg_tensor *t = sdg_params_at(P, i);
        for (int c = 0; c < 3 && c < t->size; c++) {
            int64_t k = (int64_t)sdg_rng_uint(rng, (uint64_t)t->size);
            float v0 = t->data[k];
            double L[4];
            for (int s = 0; s < 4; s++) {
                t->data[k] = v0 + (float)(off[s] * h);
                sdg_ctx_reset(ctx);
                bool old = sdg_ctx_set_grad(ctx, false);
                sdg_tensor *yy = sdg_crystal_unet_forward(ctx, u, sdg_tensor_from(ctx, 3, shape, x), cn, cond, keep);
                sdg_ctx_set_grad(ctx, old);
                L[s] = 0;
                for (int j = 0; yy && j < 42; j++) L[s] += (double)r[j] * yy->data[j];
            }
            t->data[k] = v0;
            double num = (-L[0] + 8 * L[1] - 8 * L[2] + L[3]) / (12 * h), a = ana[i][k];
            double den = fmax(fmax(fabs(a), fabs(num)), 1e-2);
            checked++;
            if (!(fabs(a - num) / den <= 3e-2)) {
                if (bad < 5) printf("param %s[%lld]: analytic %.6g numeric %.6g\n", t->name, (long long)k, a, num);
                bad++;
            }
        }
    }
    printf("checked %d parameter entries over %zu tensors, %d bad\n", checked, np, bad);
    CU_ASSERT(bad == 0);
    CU_ASSERT(checked > 60);
    for (size_t i = 0; i < np; i++) free(ana[i]);
    free(ana);
    sdg_rng_free(rng);
    sdg_ctx_free(ctx);
    sdg_crystal_unet_free(u);
}

/* Output shape for a length that needs padding at 3 levels; sample b's output depends only on
 * sample b; keep = 0 equals the null embedding (cond NULL); the property changes the output. */
static void test_shape_mask(void) {
    sdg_crystal_unet_params p = tiny();
    p.levels = 3;
    p.rows = 13;   /* padded to 16 */
    sdg_crystal_unet *u = NULL;
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_crystal_unet_new(&p, &u) == SDG_OK);
    CU_ASSERT_FATAL(sdg_ctx_new(1 << 20, &ctx) == SDG_OK);
    CU_ASSERT(sdg_crystal_unet_padded_rows(&p) == 16);
    sdg_ctx_set_grad(ctx, false);
    float x[2 * 3 * 13], cond[2] = {0.5f, -0.5f}, keep0[2] = {0, 0};
    const float cn[2] = {0.1f, -0.3f};
    sdg_test_fill(x, 78, 9);
    sdg_tensor *y = sdg_crystal_unet_forward(ctx, u, sdg_tensor_from(ctx, 3, (int64_t[]){2, 3, 13}, x), cn, cond, NULL);
    CU_ASSERT_FATAL(y != NULL);
    CU_ASSERT(y->ndim == 3 && y->shape[0] == 2 && y->shape[1] == 3 && y->shape[2] == 13);
    sdg_tensor *y1 = sdg_crystal_unet_forward(ctx, u, sdg_tensor_from(ctx, 3, (int64_t[]){1, 3, 13}, x + 39), cn + 1,
                                              cond + 1, NULL);
    CU_ASSERT_FATAL(y1 != NULL);
    double e = 0;
    for (int j = 0; j < 39; j++) e = fmax(e, fabs(y1->data[j] - y->data[39 + j]));
    CU_ASSERT(e < 1e-5);
    sdg_tensor *yn = sdg_crystal_unet_forward(ctx, u, sdg_tensor_from(ctx, 3, (int64_t[]){2, 3, 13}, x), cn, NULL, NULL);
    sdg_tensor *yk = sdg_crystal_unet_forward(ctx, u, sdg_tensor_from(ctx, 3, (int64_t[]){2, 3, 13}, x), cn, cond, keep0);
    CU_ASSERT_FATAL(yn && yk);
    double en = 0, ec = 0;
    for (int j = 0; j < 78; j++) {
        en = fmax(en, fabs(yn->data[j] - yk->data[j]));
        ec = fmax(ec, fabs(yn->data[j] - y->data[j]));
    }
    CU_ASSERT(en < 1e-6);
    CU_ASSERT(ec > 1e-4);
    /* wrong input shape: NULL and a message */
    sdg_ctx_reset(ctx);
    CU_ASSERT(sdg_crystal_unet_forward(ctx, u, sdg_tensor_zeros(ctx, 3, (int64_t[]){1, 3, 12}), cn, NULL, NULL) == NULL);
    CU_ASSERT(strstr(sdg_errmsg(), "[1,3,12]") != NULL);
    p.base = 12;   /* not a multiple of 8 groups... 12 % 2 == 0 but 12 % 8: use groups 8 */
    p.groups = 8;
    sdg_crystal_unet *bad = NULL;
    CU_ASSERT(sdg_crystal_unet_new(&p, &bad) == SDG_ERR_INVALID);
    CU_ASSERT(bad == NULL);
    sdg_ctx_free(ctx);
    sdg_crystal_unet_free(u);
}

/* D(x; sigma) = c_skip x + c_out F(c_in x; ln(sigma)/4) with Karras et al.'s table 1 written out
 * here, and VE time t read as sigma(t). */
static void test_denoiser_precond(void) {
    sdg_crystal_unet_params p = tiny();
    p.n_cond = 0;
    sdg_crystal_unet *u = NULL;
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_crystal_unet_new(&p, &u) == SDG_OK);
    CU_ASSERT_FATAL(sdg_ctx_new(1 << 20, &ctx) == SDG_OK);
    enum { N = 2, R = 7, W = 3, D = R * W };
    float x[N * D], out[N * D], xin[N * D];
    sdg_test_fill(x, N * D, 4);
    const double sd = 0.7, sig[N] = {0.05, 12.0};
    sdg_sde edm;
    CU_ASSERT_FATAL(sdg_sde_init(&edm, sdg_sde_edm, 0.002, 80, 1) == SDG_OK);
    sdg_state s = {.n = N, .n_comp = 1};
    s.comp[0] = (sdg_component){.name = "c", .dim = D, .noise = SDG_NOISE_KIND_DENSE,
                                .param = SDG_PARAM_KIND_DENOISER, .sde = edm, .x = x};
    float t[N] = {(float)sig[0], (float)sig[1]};
    sdg_crystal_denoiser dn = {.net = u, .ctx = ctx, .sigma_data = (float)sd};
    sdg_model_call call = {.state = &s, .t = t, .which = 1, .out = {out}};
    CU_ASSERT_FATAL(sdg_crystal_denoiser_fn(&call, &dn) == SDG_OK);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double sg = t[i], cskip = sd * sd / (sg * sg + sd * sd), cout = sg * sd / sqrt(sg * sg + sd * sd),
               cin = 1 / sqrt(sg * sg + sd * sd);
        float cn = (float)(log(sg) / 4);
        for (int r = 0; r < R; r++)
            for (int w = 0; w < W; w++) xin[(w * R) + r] = (float)(cin * x[i * D + r * W + w]);
        sdg_ctx_reset(ctx);
        sdg_tensor *F = sdg_crystal_unet_forward(ctx, u, sdg_tensor_from(ctx, 3, (int64_t[]){1, W, R}, xin), &cn, NULL, NULL);
        CU_ASSERT_FATAL(F != NULL);
        for (int r = 0; r < R; r++)
            for (int w = 0; w < W; w++) {
                double want = cskip * x[i * D + r * W + w] + cout * F->data[w * R + r];
                worst = fmax(worst, fabs(want - out[i * D + r * W + w]));
            }
    }
    CU_ASSERT(worst < 1e-4);
    /* a VE component: t is mapped through sigma(t) = a (b/a)^t */
    sdg_sde ve;
    CU_ASSERT_FATAL(sdg_sde_init(&ve, sdg_sde_ve, 0.002, 80, 100) == SDG_OK);
    float out2[N * D];
    s.comp[0].sde = ve;
    float tv[N];
    for (int i = 0; i < N; i++) tv[i] = (float)(log(sig[i] / 0.002) / log(80 / 0.002));
    sdg_model_call c2 = {.state = &s, .t = tv, .which = 1, .out = {out2}};
    CU_ASSERT_FATAL(sdg_crystal_denoiser_fn(&c2, &dn) == SDG_OK);
    double e2 = 0;
    for (int k = 0; k < N * D; k++) e2 = fmax(e2, fabs(out2[k] - out[k]));
    CU_ASSERT(e2 < 1e-3);
    sdg_ctx_free(ctx);
    sdg_crystal_unet_free(u);
}

/* The engine's EDM loss as the trainer uses it (weight 2, target (x0 - c_skip x_t)/c_out,
 * reduce MEAN) equals lambda(sigma) ||D - x0||^2 / dim with lambda = 1/c_out^2. */
static void test_edm_loss_formula(void) {
    enum { N = 3, D = 12 };
    float x0[N * D], t[N], tin[N], z[N * D], xin[N * D], xt[N * D], tg[N * D], w[N], F[N * D];
    sdg_test_fill(x0, N * D, 1);
    sdg_test_fill(F, N * D, 2);
    sdg_sde edm;
    CU_ASSERT_FATAL(sdg_sde_init(&edm, sdg_sde_edm, 0.002, 80, 1) == SDG_OK);
    sdg_component c = {.name = "c", .dim = D, .noise = SDG_NOISE_KIND_DENSE, .param = SDG_PARAM_KIND_DENOISER,
                       .sde = edm, .x = x0};
    sdg_loss_params lp = sdg_loss_default_params();
    lp.kind = SDG_LOSS_KIND_EDM;
    lp.reduce = SDG_LOSS_REDUCE_MEAN;
    lp.sigma_data = 0.8f;
    sdg_train_batch b = {.t = t, .t_in = tin, .z = z, .x_in = xin, .x_t = xt, .target = tg, .weight = w};
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(8, &rng) == SDG_OK);
    CU_ASSERT_FATAL(sdg_train_sample_time(&lp, &c, N, rng, &b) == SDG_OK);
    CU_ASSERT_FATAL(sdg_train_prepare(&lp, &c, N, rng, &b) == SDG_OK);
    double loss = 0, want = 0, sd = 0.8;
    CU_ASSERT_FATAL(sdg_train_loss(&lp, &c, N, &b, F, &loss, NULL, NULL) == SDG_OK);
    for (int i = 0; i < N; i++) {
        double sg = t[i], cskip = sd * sd / (sg * sg + sd * sd), cout = sg * sd / sqrt(sg * sg + sd * sd),
               cin = 1 / sqrt(sg * sg + sd * sd), lam = (sg * sg + sd * sd) / (sg * sd) / (sg * sd), acc = 0;
        CU_ASSERT(fabs(tin[i] - log(sg) / 4) < 1e-5);
        for (int j = 0; j < D; j++) {
            double xtj = x0[i * D + j] + sg * z[i * D + j];
            CU_ASSERT(fabs(xin[i * D + j] - cin * xtj) < 1e-4);
            double Dj = cskip * xtj + cout * F[i * D + j];
            acc += (Dj - x0[i * D + j]) * (Dj - x0[i * D + j]);
        }
        want += lam * acc / D;
    }
    want /= N;
    CU_ASSERT(fabs(loss - want) <= 1e-3 * fmax(1, want));
    sdg_rng_free(rng);
}

int main(void) {
    static const sdg_test_case cases[] = {
        {"gradient wrt input (finite differences)", test_grad_input},
        {"gradient wrt every parameter tensor", test_grad_params},
        {"shapes, padding, batch independence, null embedding", test_shape_mask},
        {"preconditioned denoiser = Karras table 1 (EDM and VE time)", test_denoiser_precond},
        {"EDM loss = lambda(sigma) ||D - x0||^2", test_edm_loss_formula},
        {NULL, NULL}};
    return sdg_test_main("crystal unet", cases);
}
