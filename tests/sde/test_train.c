/* Training losses against closed forms: with the exact model output each loss equals its known
 * minimum (the floor) within Monte-Carlo error, a perturbed output is measurably worse, the
 * value does not depend on the parameterisation, and the gradient matches finite differences. */
#include "mixture.h"

#define NT 20000

typedef struct batch_buf {
    float *x0, *t, *t_in, *z, *x_in, *x_t, *target, *weight, *out;
    double *per;
    sdg_train_batch b;
} batch_buf;

static void bb_alloc(batch_buf *B, size_t n, size_t d) {
    B->x0 = malloc(n * d * sizeof(float));
    B->z = malloc(n * d * sizeof(float));
    B->x_in = malloc(n * d * sizeof(float));
    B->x_t = malloc(n * d * sizeof(float));
    B->target = malloc(n * d * sizeof(float));
    B->out = malloc(n * d * sizeof(float));
    B->t = malloc(n * sizeof(float));
    B->t_in = malloc(n * sizeof(float));
    B->weight = malloc(n * sizeof(float));
    B->per = malloc(n * sizeof(double));
    B->b = (sdg_train_batch){B->t, B->t_in, B->z, B->x_in, B->x_t, B->target, B->weight};
}
static void bb_free(batch_buf *B) {
    free(B->x0), free(B->z), free(B->x_in), free(B->x_t), free(B->target), free(B->out);
    free(B->t), free(B->t_in), free(B->weight), free(B->per);
}

/* data from a one-component "mixture" (a diagonal Gaussian) */
static void draw_data(const mixture *m, size_t n, float *x, uint64_t seed) {
    sdg_rng *r = NULL;
    sdg_rng_new(seed, &r);
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < m->D; d++) x[i * m->D + d] = (float)(m->mu[0][d] + sqrt(m->var[0][d]) * sdg_rng_gaussian(r));
    sdg_rng_free(r);
}

/* Prepares a batch for component kind `param`, evaluates the oracle (scaled score) at (x_t, t)
 * and returns the loss; per-sample losses in B->per. */
static double run_loss(const sdg_loss_params *lp, const mixture *m, sdg_sde sde, sdg_param_kind param,
                       double scale, batch_buf *B, size_t n, uint64_t seed) {
    sdg_state st = mix_state(m, n, B->x0, sde, param);
    sdg_rng *r = NULL;
    sdg_rng_new(seed, &r);
    double loss = NAN;
    if (sdg_train_sample_time(lp, &st.comp[0], n, r, &B->b) != SDG_OK ||
        sdg_train_prepare(lp, &st.comp[0], n, r, &B->b) != SDG_OK) {
        printf("  prepare: %s\n", sdg_errmsg());
        goto done;
    }
    /* the "network": exact answer at the perturbed point, in the component's parameterisation */
    sdg_state at = mix_state(m, n, B->x_t, sde, param);
    oracle o = {m, scale, 0};
    sdg_model_call call = {&at, B->t, 1u, {B->out}};
    oracle_fn(&call, &o);
    if (lp->kind == SDG_LOSS_KIND_EDM) {   /* raw F = (D - c_skip x_t) / c_out */
        for (size_t i = 0; i < n; i++) {
            double cs, co;
            sdg_edm_precond(B->t[i], lp->sigma_data, &cs, &co, NULL, NULL);
            for (int d = 0; d < m->D; d++) {
                size_t j = i * m->D + d;
                B->out[j] = (float)((B->out[j] - cs * B->x_t[j]) / co);
            }
        }
    }
    if (sdg_train_loss(lp, &st.comp[0], n, &B->b, B->out, &loss, B->per, NULL) != SDG_OK)
        printf("  loss: %s\n", sdg_errmsg());
done:
    sdg_rng_free(r);
    return loss;
}

static double sd_of(const double *v, size_t n) {
    double m = 0, s = 0;
    for (size_t i = 0; i < n; i++) m += v[i] / n;
    for (size_t i = 0; i < n; i++) s += (v[i] - m) * (v[i] - m) / (n - 1);
    return sqrt(s);
}

/* Simpson's rule for f on [a, b] */
static double simpson(double (*f)(double, const void *), const void *u, double a, double b, int K) {
    double h = (b - a) / K, acc = f(a, u) + f(b, u);
    for (int k = 1; k < K; k++) acc += (k % 2 ? 4 : 2) * f(a + k * h, u);
    return acc * h / 3;
}

typedef struct floor_ctx { const sdg_sde *sde; double v; } floor_ctx;
/* DSM: E||sigma score + z||^2 / 2 per dim at t = (1 - s^2 v / (s^2 v + sigma^2)) ... minimum:
 * E 1/2 ||z + sigma grad log p_t||^2 = 1/2 (1 - sigma^2 / (s^2 v + sigma^2)) per dim. */
static double dsm_floor_t(double t, const void *u) {
    const floor_ctx *c = u;
    double s, sg;
    sdg_sde_marginal(c->sde, t, &s, &sg);
    return 0.5 * s * s * c->v / (s * s * c->v + sg * sg);
}
/* FM (linear interpolant): E ||(z - x0) - v*||^2 per dim = Var(x0 | x_t) / t^2 */
static double fm_floor_t(double t, const void *u) {
    const floor_ctx *c = u;
    return c->v / ((1 - t) * (1 - t) * c->v + t * t);
}

static void check_floor(const char *label, double loss, double floor, const double *per, size_t n) {
    double se = sd_of(per, n) / sqrt((double)n);
    printf("  %s: loss %.5f floor %.5f (|diff| = %.2f SE)\n", label, loss, floor, fabs(loss - floor) / se);
    CU_ASSERT(fabs(loss - floor) <= 4 * se);
}

static void test_dsm_floor(void) {
    mixture g = {1, 4, {1.0}, {{0.5, -1.0, 0.0, 2.0}}, {{0.8, 0.8, 0.8, 0.8}}};
    const sdg_sde sdes[2] = {mk_sde(sdg_sde_vp, 0.1, 20, 1000), mk_sde(sdg_sde_ve, 0.01, 50, 1000)};
    sdg_loss_params lp = sdg_loss_default_params();
    batch_buf B, C;
    bb_alloc(&B, NT, 4);
    bb_alloc(&C, NT, 4);
    for (int q = 0; q < 2; q++) {
        draw_data(&g, NT, B.x0, 1 + q);
        memcpy(C.x0, B.x0, NT * 4 * sizeof(float));
        floor_ctx fc = {&sdes[q], 0.8};
        double floor = 4 * simpson(dsm_floor_t, &fc, lp.eps, 1.0, 20000) / (1 - lp.eps);
        double L = run_loss(&lp, &g, sdes[q], SDG_PARAM_KIND_EPS, 1.0, &B, NT, 100 + q);
        check_floor(sdg_sde_name(&sdes[q]), L, floor, B.per, NT);
        /* the same noise and times with other parameterisations give the same loss */
        const sdg_param_kind kinds[2] = {SDG_PARAM_KIND_SCORE, SDG_PARAM_KIND_DENOISER};
        for (int k = 0; k < 2; k++) {
            double L2 = run_loss(&lp, &g, sdes[q], kinds[k], 1.0, &C, NT, 100 + q);
            double worst = 0;
            for (size_t i = 0; i < NT; i++) worst = fmax(worst, fabs(C.per[i] - B.per[i]) / (1e-2 + B.per[i]));
            printf("  %s kind %d: loss %.5f, worst per-sample relative difference %.2g\n", sdg_sde_name(&sdes[q]),
                   (int)kinds[k], L2, worst);
            CU_ASSERT(worst < 2e-2);
        }
        /* a wrong score (0.8 x) is worse: paired difference > 4 SE above 0 */
        double L3 = run_loss(&lp, &g, sdes[q], SDG_PARAM_KIND_EPS, 0.8, &C, NT, 100 + q);
        for (size_t i = 0; i < NT; i++) C.per[i] -= B.per[i];
        double se = sd_of(C.per, NT) / sqrt((double)NT);
        printf("  %s wrong score: loss %.5f (+%.1f SE)\n", sdg_sde_name(&sdes[q]), L3, (L3 - L) / se);
        CU_ASSERT(L3 - L > 4 * se);
    }
    bb_free(&B);
    bb_free(&C);
}

static void test_edm_floor(void) {
    /* data std = sigma_data: then lambda(sigma) Var(x0 | x_sigma) = 1 per dim and the floor is D */
    mixture g = {1, 2, {1.0}, {{0.3, -0.2}}, {{0.25, 0.25}}};
    sdg_loss_params lp = sdg_loss_default_params();
    lp.kind = SDG_LOSS_KIND_EDM;
    sdg_sde edm = mk_sde(sdg_sde_edm, 0.002, 80, 1000);
    batch_buf B;
    bb_alloc(&B, NT, 2);
    draw_data(&g, NT, B.x0, 5);
    double L = run_loss(&lp, &g, edm, SDG_PARAM_KIND_DENOISER, 1.0, &B, NT, 6);
    check_floor("edm", L, 2.0, B.per, NT);
    double worst = 0;   /* c_skip x_t + c_out target = x0, network input c_in x_t, c_noise */
    for (size_t i = 0; i < NT; i++) {
        double cs, co, ci, cn;
        sdg_edm_precond(B.t[i], 0.5, &cs, &co, &ci, &cn);
        CU_ASSERT(fabs(B.t_in[i] - cn) < 1e-6);
        for (int d = 0; d < 2; d++) {
            size_t j = 2 * i + d;
            worst = fmax(worst, fabs(cs * B.x_t[j] + co * B.target[j] - B.x0[j]) / (1 + fabs(B.x_t[j]) * cs));
            worst = fmax(worst, fabs(B.x_in[j] - ci * B.x_t[j]) / (1 + fabs(B.x_in[j])));
        }
    }
    CU_ASSERT(worst < 1e-5);
    bb_free(&B);
}

static void test_fm_floor(void) {
    mixture g = {1, 2, {1.0}, {{0.5, -1.0}}, {{0.5, 0.5}}};
    sdg_loss_params lp = sdg_loss_default_params();
    lp.kind = SDG_LOSS_KIND_FM;
    lp.eps = 1e-3f;
    sdg_sde lin = mk_sde(sdg_sde_linear, 0, 1, 1000);
    batch_buf B;
    bb_alloc(&B, NT, 2);
    draw_data(&g, NT, B.x0, 8);
    floor_ctx fc = {&lin, 0.5};
    double floor = 2 * simpson(fm_floor_t, &fc, lp.eps, 1.0, 20000) / (1 - lp.eps);
    double L = run_loss(&lp, &g, lin, SDG_PARAM_KIND_VELOCITY, 1.0, &B, NT, 9);
    check_floor("flow matching", L, floor, B.per, NT);
    double worst = 0;
    for (size_t j = 0; j < 2 * NT; j++) worst = fmax(worst, fabs(B.target[j] - (B.z[j] - B.x0[j])));
    CU_ASSERT(worst < 1e-5);
    /* FM needs a velocity output; EDM needs the EDM family */
    sdg_state st = mix_state(&g, NT, B.x0, lin, SDG_PARAM_KIND_EPS);
    sdg_rng *r = NULL;
    sdg_rng_new(1, &r);
    CU_ASSERT_EQUAL(sdg_train_prepare(&lp, &st.comp[0], NT, r, &B.b), SDG_ERR_INVALID);
    lp.kind = SDG_LOSS_KIND_EDM;
    CU_ASSERT_EQUAL(sdg_train_prepare(&lp, &st.comp[0], NT, r, &B.b), SDG_ERR_INVALID);
    sdg_rng_free(r);
    bb_free(&B);
}

/* dL/dout against central differences, on a masked symmetric component, SUM and MEAN */
static void test_loss_gradient(void) {
    const size_t n = 3, R = 4, d = R * R;
    float x0[3 * 16], t[3], tin[3], z[3 * 16], xin[3 * 16], xt[3 * 16], tg[3 * 16], w[3], out[3 * 16], g[3 * 16];
    float mask[3 * 4] = {1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1};
    sdg_rng *r = NULL;
    sdg_rng_new(3, &r);
    sdg_rng_fill_gaussian(r, x0, n * d);
    sdg_rng_fill_gaussian(r, out, n * d);
    for (size_t i = 0; i < n; i++)   /* data adjacency: symmetric */
        for (size_t a = 0; a < R; a++)
            for (size_t bb = 0; bb < a; bb++) x0[i * d + bb * R + a] = x0[i * d + a * R + bb];
    sdg_component c = {"A", d, R, SDG_NOISE_KIND_SYMMETRIC, SDG_PARAM_KIND_EPS, mk_sde(sdg_sde_vp, 0.1, 20, 1000), x0, mask, false};
    sdg_train_batch b = {t, tin, z, xin, xt, tg, w};
    for (int red = 0; red < 2; red++) {
        sdg_loss_params lp = sdg_loss_default_params();
        lp.reduce = red ? SDG_LOSS_REDUCE_MEAN : SDG_LOSS_REDUCE_SUM;
        CU_ASSERT_EQUAL_FATAL(sdg_train_sample_time(&lp, &c, n, r, &b), SDG_OK);
        CU_ASSERT_EQUAL_FATAL(sdg_train_prepare(&lp, &c, n, r, &b), SDG_OK);
        double L;
        CU_ASSERT_EQUAL_FATAL(sdg_train_loss(&lp, &c, n, &b, out, &L, NULL, g), SDG_OK);
        int bad = 0;
        for (size_t j = 0; j < n * d; j++) {
            float o = out[j], h = 1e-2f;
            double Lp, Lm;
            out[j] = o + h;
            sdg_train_loss(&lp, &c, n, &b, out, &Lp, NULL, NULL);
            out[j] = o - h;
            sdg_train_loss(&lp, &c, n, &b, out, &Lm, NULL, NULL);
            out[j] = o;
            double num = (Lp - Lm) / (2 * (double)h);
            if (fabs(num - g[j]) > 1e-3 * fmax(1e-2, fabs(num))) bad++;
        }
        CU_ASSERT_EQUAL(bad, 0);
        /* perturbed input is symmetric with a zero diagonal and masked */
        for (size_t i = 0; i < n; i++)
            for (size_t a = 0; a < R; a++)
                for (size_t bb = 0; bb < R; bb++) {
                    float v = xt[i * d + a * R + bb];
                    CU_ASSERT(v == xt[i * d + bb * R + a]);
                    if (a == bb || mask[i * R + a] * mask[i * R + bb] == 0) CU_ASSERT(v == 0.0f);
                }
    }
    sdg_rng_free(r);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"DSM loss floor (VP, VE), kinds, wrong score", test_dsm_floor},
        {"EDM loss floor and preconditioning", test_edm_floor},
        {"flow-matching loss floor", test_fm_floor},
        {"loss gradient and structured noise", test_loss_gradient},
        {NULL, NULL},
    };
    return sdg_test_main("sde_train", cases);
}
