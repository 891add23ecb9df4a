/* Engine mechanics: SDE closed forms and GDSS presets, conversions, the GDSS Langevin formula
 * step by step, multi-component masked/symmetric states, thread-count independence, hooks
 * (inpainting, classifier-free guidance) and failures on bad options or NaN scores. */
#include "mixture.h"

static float linspace_f32(float a, float b, int n, int i) {   /* torch-style, as GDSS */
    float step = (b - a) / (float)(n - 1);
    return i < n / 2 ? a + step * (float)i : b - step * (float)(n - 1 - i);
}

/* ---- SDE tables: marginals agree with the SDE coefficients ----
 * d s/dt = f s and d sigma^2/dt = 2 f sigma^2 + g^2, integrated by RK4 in double. */
static void check_family(const sdg_sde *sde, double t0, double t1) {
    double s0, g0, s, g, v;
    sdg_sde_marginal(sde, t0, &s0, &g0);
    s = s0, v = g0 * g0;
    int K = 4000;
    double h = (t1 - t0) / K;
    for (int i = 0; i < K; i++) {
        double t = t0 + i * h, f[3], gg[3];
        double tt[3] = {t, t + h / 2, t + h};
        for (int j = 0; j < 3; j++) {
            sde->type->coef(sde, tt[j], &f[j], &gg[j]);
        }
        /* linear ODEs: RK4 with coefficients at t, t + h/2, t + h */
        double k1 = f[0] * s, k2 = f[1] * (s + h / 2 * k1), k3 = f[1] * (s + h / 2 * k2), k4 = f[2] * (s + h * k3);
        double q1 = 2 * f[0] * v + gg[0] * gg[0], q2 = 2 * f[1] * (v + h / 2 * q1) + gg[1] * gg[1];
        double q3 = 2 * f[1] * (v + h / 2 * q2) + gg[1] * gg[1], q4 = 2 * f[2] * (v + h * q3) + gg[2] * gg[2];
        s += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
        v += h / 6 * (q1 + 2 * q2 + 2 * q3 + q4);
    }
    sdg_sde_marginal(sde, t1, &s0, &g);
    if (fabs(s - s0) > 1e-6 * fmax(1, fabs(s0)) || fabs(sqrt(v) - g) > 1e-6 * fmax(1, g))
        printf("  %s: s %.9g vs %.9g, sigma %.9g vs %.9g\n", sdg_sde_name(sde), s, s0, sqrt(v), g);
    CU_ASSERT(fabs(s - s0) <= 1e-6 * fmax(1, fabs(s0)));
    CU_ASSERT(fabs(sqrt(v) - g) <= 1e-6 * fmax(1, g));
}

static void test_sde_closed_forms(void) {
    check_family(&(sdg_sde){sdg_sde_ve, 0.01, 50, 1000, 0, 0}, 0.0, 1.0);
    check_family(&(sdg_sde){sdg_sde_vp, 0.1, 20, 1000, 0, 0}, 0.0, 1.0);
    check_family(&(sdg_sde){sdg_sde_subvp, 0.1, 20, 1000, 0, 0}, 0.0, 1.0);
    check_family(&(sdg_sde){sdg_sde_linear, 0, 1, 1000, 0, 0}, 0.0, 0.9);
    check_family(&(sdg_sde){sdg_sde_edm, 0.002, 80, 1000, 0, 0}, 0.002, 80.0);
    /* priors */
    sdg_sde ve = mk_sde(sdg_sde_ve, 0.01, 50, 1000), vp = mk_sde(sdg_sde_vp, 0.1, 20, 1000);
    CU_ASSERT_DOUBLE_EQUAL(sdg_sde_prior_std(&ve), 50.0, 0);
    CU_ASSERT_DOUBLE_EQUAL(sdg_sde_prior_std(&vp), 1.0, 0);
    /* bad parameters */
    sdg_sde bad;
    CU_ASSERT_EQUAL(sdg_sde_init(&bad, sdg_sde_ve, 1.0, 0.5, 1000), SDG_ERR_INVALID);
    CU_ASSERT_EQUAL(sdg_sde_init(&bad, sdg_sde_vp, 0.1, 20, 0), SDG_ERR_INVALID);
    CU_ASSERT_EQUAL(sdg_sde_gdss(&bad, "XX", 0.1, 1), SDG_ERR_INVALID);
}

static void test_gdss_presets(void) {
    sdg_sde vp, ve;
    CU_ASSERT_EQUAL_FATAL(sdg_sde_gdss(&vp, "VP", 0.1, 1.0), SDG_OK);
    CU_ASSERT_EQUAL_FATAL(sdg_sde_gdss(&ve, "VE", 0.2, 1.0), SDG_OK);
    CU_ASSERT(vp.type == sdg_sde_vp && vp.a == 0.1 && vp.b == 1.0 && vp.N == 1000);
    CU_ASSERT(ve.type == sdg_sde_ve && ve.a == 0.2 && ve.b == 1.0);   /* sigma_min/max = beta_min/max */
    CU_ASSERT_DOUBLE_EQUAL(sdg_sde_prior_std(&ve), 1.0, 0);          /* unscaled N(0, I) prior */
    /* VP 0.1 -> 1.0 is kept: at t = 1 the mean coefficient is exp(-0.275), not ~0 */
    double s, sg;
    sdg_sde_marginal(&vp, 1.0, &s, &sg);
    CU_ASSERT_DOUBLE_EQUAL(s, exp(-0.275), 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(sg, sqrt(1 - exp(-0.55)), 1e-6);
    sdg_sde_marginal(&ve, 0.5, &s, &sg);
    CU_ASSERT_DOUBLE_EQUAL(sg, 0.2 * pow(5.0, 0.5), 1e-6);
    /* discretisations: beta_0 = beta_min / N; VE G_0 = sigma_min; k(t) = trunc(t (N-1)) */
    double fk, Gk;
    vp.type->discrete(&vp, 0.0, &fk, &Gk);
    CU_ASSERT_DOUBLE_EQUAL(Gk * Gk, 1e-4, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(fk, sqrt(1 - 1e-4) - 1, 1e-9);
    ve.type->discrete(&ve, 0.0, &fk, &Gk);
    CU_ASSERT_DOUBLE_EQUAL(Gk, 0.2, 1e-6);
    vp.type->discrete(&vp, 1.0, &fk, &Gk);
    CU_ASSERT_DOUBLE_EQUAL(Gk * Gk, 1e-3, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(vp.type->langevin_alpha(&vp, 1.0), 1 - 1e-3, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(ve.type->langevin_alpha(&ve, 0.3), 1.0, 0);
    /* S4 transition over a negative step (GDSS §8) */
    double ir, sd, t = 0.5, d = -0.0005;
    double c = 0.25 * d * (2 * 0.1 + (2 * t + d) * 0.9);
    sdg_sde_transition(&vp, t, d, &ir, &sd);
    CU_ASSERT_DOUBLE_EQUAL(ir, exp(-c), 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(sd, sqrt(1 - exp(2 * c)), 1e-6);
    sdg_sde_transition(&ve, t, d, &ir, &sd);
    double a0 = 0.2 * pow(5.0, t), a1 = 0.2 * pow(5.0, t + d);
    CU_ASSERT_DOUBLE_EQUAL(ir, 1.0, 0);
    CU_ASSERT_DOUBLE_EQUAL(sd, sqrt(a0 * a0 - a1 * a1), 1e-7);
}

/* ---- conversions: closed forms and round trips (float32: a VE score at sigma ~ 20 goes
 * through x0 = x + sigma^2 score, so round trips lose ~1e-3 relative) ---- */
static void test_conversions(void) {
    const sdg_sde sdes[] = {mk_sde(sdg_sde_ve, 0.01, 50, 1000), mk_sde(sdg_sde_vp, 0.1, 20, 1000),
                            mk_sde(sdg_sde_subvp, 0.1, 20, 1000), mk_sde(sdg_sde_linear, 0, 1, 1000)};
    float t[3] = {0.05f, 0.4f, 0.9f}, x[6] = {0.3f, -1.2f, 2.0f, 0.1f, -0.7f, 1.5f};
    float o[6] = {1.1f, -0.4f, 0.25f, -2.0f, 0.6f, 0.05f}, y[6], w[6];
    for (size_t q = 0; q < 4; q++) {
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) {
                sdg_param_convert(a, b, &sdes[q], t, 3, 2, x, o, y);
                sdg_param_convert(b, a, &sdes[q], t, 3, 2, x, y, w);
                for (int j = 0; j < 6; j++) {
                    if (!(fabsf(w[j] - o[j]) <= 2e-3f * (1 + fabsf(o[j]))))
                        printf("  %s %d->%d: %g vs %g\n", sdg_sde_name(&sdes[q]), a, b, w[j], o[j]);
                    CU_ASSERT(fabsf(w[j] - o[j]) <= 2e-3f * (1 + fabsf(o[j])));
                }
            }
        /* EPS -> SCORE is -eps / sigma; DENOISER -> SCORE is (s D - x) / sigma^2 */
        sdg_param_convert(SDG_PARAM_KIND_EPS, SDG_PARAM_KIND_SCORE, &sdes[q], t, 3, 2, x, o, y);
        sdg_param_convert(SDG_PARAM_KIND_DENOISER, SDG_PARAM_KIND_SCORE, &sdes[q], t, 3, 2, x, o, w);
        for (int i = 0; i < 3; i++) {
            double s, sg;
            sdg_sde_marginal(&sdes[q], t[i], &s, &sg);
            for (int d = 0; d < 2; d++) {
                CU_ASSERT(fabs(y[2 * i + d] + o[2 * i + d] / sg) <= 1e-4 * (1 + fabs(o[2 * i + d] / sg)));
                double ref = (s * o[2 * i + d] - x[2 * i + d]) / (sg * sg);
                CU_ASSERT(fabs(w[2 * i + d] - ref) <= 1e-4 * (1 + fabs(ref)));
            }
        }
    }
    /* EDM preconditioning: c_skip + c_out^2 / sigma_data^2... identities of table 1 */
    double cs, co, ci, cn;
    sdg_edm_precond(2.0, 0.5, &cs, &co, &ci, &cn);
    CU_ASSERT_DOUBLE_EQUAL(cs, 0.25 / 4.25, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(co, 1.0 / sqrt(4.25), 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(ci, 1.0 / sqrt(4.25), 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(cn, 0.25 * log(2.0), 1e-12);
}

/* ---- GDSS Langevin step reproduced by hand from the same streams ---- */
static void test_langevin_formula(void) {
    const size_t n = 64, D = 3;
    float x[64 * 3];
    const sdg_sde sdes[2] = {mk_sde(sdg_sde_ve, 0.2, 1.0, 1000), mk_sde(sdg_sde_vp, 0.1, 1.0, 1000)};
    for (int q = 0; q < 2; q++) {
        mixture m = {1, 3, {1.0}, {{0.5, -0.5, 0.0}}, {{1.0, 2.0, 0.5}}};
        oracle o = {&m, 1.0, 0};
        sdg_model model = {.fn = oracle_fn, .params = &o};
        sdg_state st = mix_state(&m, n, x, sdes[q], SDG_PARAM_KIND_SCORE);
        sdg_sampler_params p = sdg_sampler_default_params();
        p.predictor = sdg_predictor_none;
        p.n_steps = 1;
        p.eps = 1e-4f;
        p.snr = 0.15f;
        p.scale_eps = 0.7f;
        p.denoise = false;
        p.seed = 99;
        sdg_sampler *s = NULL;
        CU_ASSERT_EQUAL_FATAL(sdg_sampler_new(&p, &st, &s), SDG_OK);
        CU_ASSERT_EQUAL_FATAL(sdg_sampler_run(s, &model, &st, NULL), SDG_OK);
        sdg_sampler_free(s);
        /* by hand: prior draw then corrector draw, both from stream (99, i) */
        float x0[64 * 3], z[64 * 3], sc[64 * 3];
        double ps = sdg_sde_prior_std(&sdes[q]), ns = 0, nz = 0;
        for (size_t i = 0; i < n; i++) {
            sdg_rng *r = NULL;
            sdg_rng_stream(99, i, &r);
            for (size_t d = 0; d < D; d++) x0[i * D + d] = (float)(ps * (float)sdg_rng_gaussian(r));
            for (size_t d = 0; d < D; d++) z[i * D + d] = (float)sdg_rng_gaussian(r);
            sdg_rng_free(r);
        }
        double sm, sg;
        sdg_sde_marginal(&sdes[q], 1.0, &sm, &sg);
        mix_pre P;
        mix_prepare(&m, sm, sg, &P);
        for (size_t i = 0; i < n; i++) {
            double a[3], b[3], u = 0, v = 0;
            mix_point(&m, &P, x0 + i * D, a, b);
            for (size_t d = 0; d < D; d++) {
                sc[i * D + d] = (float)a[d];
                u += a[d] * a[d];
                v += (double)z[i * D + d] * z[i * D + d];
            }
            ns += sqrt(u) / n, nz += sqrt(v) / n;
        }
        double alpha = q == 0 ? 1.0 : 1 - linspace_f32(0.1f / 1000, 1.0f / 1000, 1000, 999);
        double e = 2 * alpha * (0.15 * nz / ns) * (0.15 * nz / ns);
        double worst = 0;
        for (size_t j = 0; j < n * D; j++) {
            double ref = x0[j] + e * sc[j] + sqrt(2 * e) * 0.7 * z[j];
            worst = fmax(worst, fabs(ref - x[j]));
        }
        printf("  langevin %s: max |engine - by hand| = %.2g\n", sdg_sde_name(&sdes[q]), worst);
        CU_ASSERT(worst < 1e-5);
    }
}

/* ---- a GDSS-like two-component state: X (N x F, row mask) and A (N x N symmetric) ---- */
#define GN 20   /* n * GN^2 = 80000 entries: above the engine's OpenMP thresholds */
#define GF 3
typedef struct coupled { long calls; int nan_at; } coupled;

/* Gaussian scores for unit data plus a weak coupling: each component sees the other. */
static sdg_status coupled_fn(const sdg_model_call *call, void *params) {
    coupled *cp = params;
    const sdg_state *st = call->state;
    cp->calls++;
    for (int c = 0; c < st->n_comp; c++) {
        if (!(call->which & (1u << c))) continue;
        const sdg_component *k = &st->comp[c], *o = &st->comp[1 - c];
        for (size_t i = 0; i < st->n; i++) {
            double s, sg, other = 0;
            sdg_sde_marginal(&k->sde, call->t[i], &s, &sg);
            for (size_t j = 0; j < o->dim; j++) other += o->x[i * o->dim + j];
            for (size_t j = 0; j < k->dim; j++)
                call->out[c][i * k->dim + j] =
                    (float)(-k->x[i * k->dim + j] / (s * s + sg * sg) + 0.01 * other / (double)o->dim);
        }
    }
    if (cp->nan_at > 0 && cp->calls == cp->nan_at) call->out[0][5] = NAN;
    return SDG_OK;
}

static float g_mask[2][200 * GN];
static sdg_state gdss_state(size_t n, float *X, float *A) {
    sdg_state st;
    memset(&st, 0, sizeof st);
    st.n = n;
    st.n_comp = 2;
    for (size_t i = 0; i < n; i++)
        for (int r = 0; r < GN; r++) g_mask[0][i * GN + r] = r < 5 + (int)(i % 15) ? 1.0f : 0.0f;
    sdg_sde vp, ve;
    sdg_sde_gdss(&vp, "VP", 0.1, 1.0);
    sdg_sde_gdss(&ve, "VE", 0.2, 1.0);
    vp.N = ve.N = 50;
    st.comp[0] = (sdg_component){"X", GN * GF, GN, SDG_NOISE_KIND_DENSE, SDG_PARAM_KIND_SCORE, vp, X, g_mask[0], false};
    st.comp[1] = (sdg_component){"A", GN * GN, GN, SDG_NOISE_KIND_SYMMETRIC, SDG_PARAM_KIND_SCORE, ve, A, g_mask[0], false};
    return st;
}

static sdg_status run_gdss(const sdg_sampler_params *p, int threads, size_t n, float *X, float *A, coupled *cp) {
    sdg_set_num_threads(threads);
    sdg_state st = gdss_state(n, X, A);
    sdg_model m = {.fn = coupled_fn, .params = cp};
    sdg_sampler *s = NULL;
    sdg_status r = sdg_sampler_new(p, &st, &s);
    if (r == SDG_OK) r = sdg_sampler_run(s, &m, &st, NULL);
    sdg_sampler_free(s);
    return r;
}

static void test_threads_and_structure(void) {
    const size_t n = 200;
    static float X1[200 * GN * GF], A1[200 * GN * GN], X2[200 * GN * GF], A2[200 * GN * GN];
    sdg_sampler_params ps[4];
    ps[0] = sdg_sampler_default_params();
    ps[0].n_steps = 50, ps[0].snr = 0.2f, ps[0].scale_eps = 0.7f, ps[0].eps = 1e-4f, ps[0].seed = 5;
    ps[1] = ps[0];
    ps[1].type = sdg_sampler_s4;
    ps[2] = ps[0];
    ps[2].predictor = sdg_predictor_euler;
    ps[3] = ps[0];
    ps[3].type = sdg_sampler_ode;
    ps[3].ode = sdg_ode_rk45;
    for (int q = 0; q < 4; q++) {
        coupled c1 = {0, 0}, c2 = {0, 0};
        CU_ASSERT_EQUAL_FATAL(run_gdss(&ps[q], 1, n, X1, A1, &c1), SDG_OK);
        CU_ASSERT_EQUAL_FATAL(run_gdss(&ps[q], 2, n, X2, A2, &c2), SDG_OK);
        CU_ASSERT(memcmp(X1, X2, sizeof X1) == 0);
        CU_ASSERT(memcmp(A1, A2, sizeof A1) == 0);
        /* structure: masked rows of X are 0; A symmetric, zero diagonal, masked */
        int bad = 0;
        for (size_t i = 0; i < n; i++) {
            const float *m = g_mask[0] + i * GN;
            for (int r = 0; r < GN; r++)
                for (int f = 0; f < GF; f++) bad += m[r] == 0 && X1[(i * GN + r) * GF + f] != 0.0f;
            for (int a = 0; a < GN; a++)
                for (int b = 0; b < GN; b++) {
                    float v = A1[(i * GN + a) * GN + b];
                    bad += v != A1[(i * GN + b) * GN + a];
                    bad += (a == b || m[a] * m[b] == 0) && v != 0.0f;
                    bad += !isfinite(v);
                }
        }
        CU_ASSERT_EQUAL(bad, 0);
    }
    sdg_set_num_threads(2);
}

static void test_failures(void) {
    static float X[200 * GN * GF], A[200 * GN * GN];
    sdg_sampler_params p = sdg_sampler_default_params();
    p.n_steps = 50;
    coupled c = {0, 0};
    p.n_steps = 0;
    CU_ASSERT_EQUAL(run_gdss(&p, 2, 8, X, A, &c), SDG_ERR_INVALID);
    p.n_steps = 50;
    p.eps = 1.0f;
    CU_ASSERT_EQUAL(run_gdss(&p, 2, 8, X, A, &c), SDG_ERR_INVALID);
    p.eps = 1e-3f;
    p.n_steps = 40;   /* reverse diffusion with N = 50 != n_steps */
    CU_ASSERT_EQUAL(run_gdss(&p, 2, 8, X, A, &c), SDG_ERR_INVALID);
    p.n_steps = 50;
    /* a symmetric component whose dim is not rows^2 */
    sdg_state st = gdss_state(8, X, A);
    st.comp[1].dim = GN * GN - 1;
    sdg_sampler *s = NULL;
    CU_ASSERT_EQUAL(sdg_sampler_new(&p, &st, &s), SDG_ERR_SHAPE);
    /* a state that does not match the sampler's layout */
    st = gdss_state(8, X, A);
    CU_ASSERT_EQUAL_FATAL(sdg_sampler_new(&p, &st, &s), SDG_OK);
    sdg_state st2 = gdss_state(8, X, A);
    st2.comp[0].dim = GN * 2;
    sdg_model m = {.fn = coupled_fn, .params = &c};
    CU_ASSERT_EQUAL(sdg_sampler_run(s, &m, &st2, NULL), SDG_ERR_SHAPE);
    /* NaN from the model on the 7th call: PC makes 2 calls per step, so step 3 */
    coupled cn = {0, 7};
    m.params = &cn;
    CU_ASSERT_EQUAL(sdg_sampler_run(s, &m, &st, NULL), SDG_ERR_NUMERIC);
    printf("  NaN message: %s\n", sdg_errmsg());
    CU_ASSERT(strstr(sdg_errmsg(), "step 3") != NULL);
    CU_ASSERT(strstr(sdg_errmsg(), "'X'") != NULL);
    sdg_sampler_free(s);
    sdg_sampler_free(NULL);
}

/* Centred noise: each column sums to zero over the live rows, masked rows stay 0, each live entry
 * has variance (k - 1)/k for k live rows (one degree of freedom per column goes to the mean),
 * and a centred component without rows is refused. */
static void test_centred_noise(void) {
    enum { R = 6, K = 3, NDRAW = 40000 };
    float mask[R] = {1, 1, 1, 1, 0, 0}, z[R * K];
    sdg_component c = {.name = "pos", .dim = R * K, .rows = R, .noise = SDG_NOISE_KIND_CENTRED, .mask = mask};
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(9, &rng) == SDG_OK);
    double var = 0, worst = 0;
    for (int d = 0; d < NDRAW; d++) {
        sdg_component_noise(&c, 0, rng, z);
        for (int k = 0; k < K; k++) {
            double sum = 0;
            for (int a = 0; a < R; a++) sum += z[a * K + k];
            worst = fmax(worst, fabs(sum));
        }
        for (int a = 4; a < R; a++)
            for (int k = 0; k < K; k++) CU_ASSERT(z[a * K + k] == 0.0f);
        var += (double)z[0] * z[0];
    }
    var /= NDRAW;
    printf("  centred noise: largest column sum %.2g, variance of a live entry %.4f (3/4)\n", worst, var);
    CU_ASSERT(worst < 1e-5);
    CU_ASSERT_DOUBLE_EQUAL(var, 0.75, 0.03);   /* sd of the estimate 0.0053 */
    /* live_draws: the live rows' noise does not depend on the padding after them */
    float mask4[4] = {1, 1, 1, 1}, z4[4 * K];
    sdg_component c4 = {.name = "pos", .dim = 4 * K, .rows = 4, .noise = SDG_NOISE_KIND_CENTRED, .mask = mask4,
                        .live_draws = true};
    c.live_draws = true;   /* two draws in a row, as two sampler steps make */
    sdg_rng_reset(rng, 3, 1);
    sdg_component_noise(&c, 0, rng, z);
    sdg_component_noise(&c, 0, rng, z);
    sdg_rng_reset(rng, 3, 1);
    sdg_component_noise(&c4, 0, rng, z4);
    sdg_component_noise(&c4, 0, rng, z4);
    CU_ASSERT(memcmp(z, z4, sizeof z4) == 0);
    for (int j = 4 * K; j < R * K; j++) CU_ASSERT(z[j] == 0.0f);
    c.live_draws = false;   /* without it, the padded rows consume draws: the second draws differ */
    sdg_rng_reset(rng, 3, 1);
    sdg_component_noise(&c, 0, rng, z);
    sdg_component_noise(&c, 0, rng, z);
    CU_ASSERT(memcmp(z, z4, sizeof z4) != 0);
    sdg_rng_free(rng);
    float x[R * K] = {0};
    sdg_state st = {.n = 1, .n_comp = 1};
    st.comp[0] = c;
    st.comp[0].x = x;
    CU_ASSERT_FATAL(sdg_sde_init(&st.comp[0].sde, sdg_sde_linear, 0, 1, 1) == SDG_OK);
    CU_ASSERT_EQUAL(sdg_state_check(&st), SDG_OK);
    st.comp[0].rows = 0, st.comp[0].mask = NULL;
    CU_ASSERT_EQUAL(sdg_state_check(&st), SDG_ERR_SHAPE);
}

/* ---- hooks ---- */
static void test_inpainting(void) {
    const size_t n = 2000;
    float *x = malloc(n * 2 * sizeof(float)), *known = calloc(n * 2, sizeof(float)),
          *km = calloc(n * 2, sizeof(float));
    for (size_t i = 0; i < n; i++) known[2 * i] = 1.25f, km[2 * i] = 1.0f;
    /* independent dims: the unknown dim keeps its marginal N(-0.5, 0.3) */
    mixture m = {1, 2, {1.0}, {{1.0, -0.5}}, {{0.4, 0.3}}};
    oracle o = {&m, 1.0, 0};
    sdg_model model = {.fn = oracle_fn, .params = &o};
    sdg_state st = mix_state(&m, n, x, mk_sde(sdg_sde_vp, 0.1, 20, 200), SDG_PARAM_KIND_SCORE);
    sdg_inpaint ip = {{known}, {km}};
    sdg_sampler_params p = sdg_sampler_default_params();
    p.n_steps = 200;
    p.hook = sdg_inpaint_hook;
    p.hook_params = &ip;
    sdg_sampler *s = NULL;
    CU_ASSERT_EQUAL_FATAL(sdg_sampler_new(&p, &st, &s), SDG_OK);
    CU_ASSERT_EQUAL_FATAL(sdg_sampler_run(s, &model, &st, NULL), SDG_OK);
    double mu = 0, v = 0, worst = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs(x[2 * i] - 1.25));
        mu += x[2 * i + 1] / n;
    }
    for (size_t i = 0; i < n; i++) v += (x[2 * i + 1] - mu) * (x[2 * i + 1] - mu) / n;
    printf("  inpainting: known dim max dev %.2g, free dim mean %.3f var %.3f\n", worst, mu, v);
    CU_ASSERT(worst < 1e-5);
    CU_ASSERT(fabs(mu + 0.5) < 5 * sqrt(0.3 / n) + 0.02);
    CU_ASSERT(fabs(v - 0.3) < 5 * 0.3 * sqrt(2.0 / n) + 0.02);
    sdg_sampler_free(s);
    free(x);
    free(known);
    free(km);
}

static sdg_status zero_fn(const sdg_model_call *call, void *params) {
    (void)params;
    for (int c = 0; c < call->state->n_comp; c++)
        memset(call->out[c], 0, call->state->n * call->state->comp[c].dim * sizeof(float));
    return SDG_OK;
}

static void test_cfg(void) {
    float x[4] = {0.5f, -1.0f, 2.0f, 0.1f}, t[4] = {0.3f, 0.3f, 0.3f, 0.3f}, a[4], b[4];
    oracle o = {&MIX1, 1.0, 0};
    sdg_state st = mix_state(&MIX1, 4, x, mk_sde(sdg_sde_vp, 0.1, 20, 1000), SDG_PARAM_KIND_SCORE);
    sdg_model_call call = {&st, t, 1u, {a}};
    sdg_cfg g = {{.fn = oracle_fn, .params = &o}, {.fn = zero_fn, .params = NULL}, 1.5f};
    CU_ASSERT_EQUAL(oracle_fn(&call, &o), SDG_OK);
    memcpy(b, a, sizeof a);
    CU_ASSERT_EQUAL(sdg_cfg_model_fn(&call, &g), SDG_OK);
    for (int j = 0; j < 4; j++) CU_ASSERT(fabsf(a[j] - 2.5f * b[j]) <= 1e-5f * (1 + fabsf(b[j])));
}

int main(void) {
    const sdg_test_case cases[] = {
        {"SDE marginals agree with coefficients", test_sde_closed_forms},
        {"GDSS presets and discretisations", test_gdss_presets},
        {"parameterisation conversions", test_conversions},
        {"GDSS Langevin step by hand", test_langevin_formula},
        {"thread independence and masked/symmetric structure", test_threads_and_structure},
        {"failures", test_failures},
        {"centred noise", test_centred_noise},
        {"inpainting hook", test_inpainting},
        {"classifier-free guidance", test_cfg},
        {NULL, NULL},
    };
    return sdg_test_main("sde_engine", cases);
}
