/* Probability-flow likelihood with Hutchinson's estimator against the closed-form density of a
 * correlated Gaussian, whose perturbed marginal N(s mu, s^2 Sigma + sigma^2 I) has an exact score. */
#include "mixture.h"

typedef struct gauss2 { double mu[2], S[2][2]; } gauss2;
static const gauss2 G = {{0.5, -1.0}, {{1.0, 0.6}, {0.6, 0.5}}};

static void cov_at(const sdg_sde *sde, double t, double C[2][2], double *s) {
    double sg;
    sdg_sde_marginal(sde, t, s, &sg);
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) C[a][b] = *s * *s * G.S[a][b] + (a == b ? sg * sg : 0);
}

static sdg_status gauss_fn(const sdg_model_call *call, void *params) {
    (void)params;
    const sdg_component *k = &call->state->comp[0];
    for (size_t i = 0; i < call->state->n; i++) {
        double C[2][2], s;
        cov_at(&k->sde, call->t[i], C, &s);
        double det = C[0][0] * C[1][1] - C[0][1] * C[1][0];
        double e0 = k->x[2 * i] - s * G.mu[0], e1 = k->x[2 * i + 1] - s * G.mu[1];
        call->out[0][2 * i] = (float)(-(C[1][1] * e0 - C[0][1] * e1) / det);
        call->out[0][2 * i + 1] = (float)(-(-C[1][0] * e0 + C[0][0] * e1) / det);
    }
    return SDG_OK;
}

/* exact JVP of the score: -C^{-1} v */
static sdg_status gauss_jvp(const sdg_model_call *call, const float *const *v, void *params) {
    (void)params;
    const sdg_component *k = &call->state->comp[0];
    for (size_t i = 0; i < call->state->n; i++) {
        double C[2][2], s;
        cov_at(&k->sde, call->t[i], C, &s);
        double det = C[0][0] * C[1][1] - C[0][1] * C[1][0], a = v[0][2 * i], b = v[0][2 * i + 1];
        call->out[0][2 * i] = (float)(-(C[1][1] * a - C[0][1] * b) / det);
        call->out[0][2 * i + 1] = (float)(-(-C[1][0] * a + C[0][0] * b) / det);
    }
    return SDG_OK;
}

static double exact_nll(const sdg_sde *sde, double t, const float *x) {
    double C[2][2], s;
    cov_at(sde, t, C, &s);
    double det = C[0][0] * C[1][1] - C[0][1] * C[1][0];
    double e0 = x[0] - s * G.mu[0], e1 = x[1] - s * G.mu[1];
    double q = (C[1][1] * e0 * e0 - 2 * C[0][1] * e0 * e1 + C[0][0] * e1 * e1) / det;
    return 0.5 * q + 0.5 * log(det) + log(2 * 3.14159265358979323846);
}

#define NL 4000
static double last_est;
static void run(const char *label, sdg_sde sde, sdg_probe_kind probe, bool jvp) {
    static float x[2 * NL];
    static double nll[NL], bpd[NL], dif[NL];
    sdg_rng *r = NULL;
    sdg_rng_new(77, &r);
    double l00 = sqrt(G.S[0][0]), l10 = G.S[1][0] / l00, l11 = sqrt(G.S[1][1] - l10 * l10);
    for (size_t i = 0; i < NL; i++) {
        double a = sdg_rng_gaussian(r), b = sdg_rng_gaussian(r);
        x[2 * i] = (float)(G.mu[0] + l00 * a);
        x[2 * i + 1] = (float)(G.mu[1] + l10 * a + l11 * b);
    }
    sdg_rng_free(r);
    sdg_state st = mix_state(&MIX2, NL, x, sde, SDG_PARAM_KIND_SCORE);
    sdg_model m = {.fn = gauss_fn, .jvp = jvp ? gauss_jvp : NULL};
    sdg_likelihood_params p = sdg_likelihood_default_params();
    p.probe = probe;
    p.n_probes = 16;   /* one probe: per-sample sd ~1.2 nats here, SE 1.5 % of the mean at n = 2000 */
    p.seed = 4;
    sdg_sampler_stats ss;
    CU_ASSERT_EQUAL_FATAL(sdg_likelihood(&p, &m, &st, nll, bpd, &ss), SDG_OK);
    double est = 0, ref = 0, bad_bpd = 0;
    for (size_t i = 0; i < NL; i++) {
        est += nll[i] / NL;
        dif[i] = exact_nll(&sde, p.eps, x + 2 * i);
        ref += dif[i] / NL;
        dif[i] = nll[i] - dif[i];
        bad_bpd = fmax(bad_bpd, fabs(bpd[i] - nll[i] / (2 * log(2.0))));
    }
    double sd = 0;
    for (size_t i = 0; i < NL; i++) sd += (dif[i] - (est - ref)) * (dif[i] - (est - ref)) / (NL - 1);
    printf("  %s: mean NLL %.5f nats, closed form %.5f (rel %.2g; Hutchinson SE %.2g), bpd %.4f, nfe %ld\n",
           label, est, ref, fabs(est - ref) / fabs(ref), sqrt(sd / NL), est / (2 * log(2.0)), ss.nfe);
    CU_ASSERT(fabs(est - ref) <= 0.01 * fabs(ref));
    CU_ASSERT(bad_bpd < 1e-9);
    last_est = est;
}

static void test_nll_vp(void) { run("VP rademacher", mk_sde(sdg_sde_vp, 0.1, 20, 1000), SDG_PROBE_KIND_RADEMACHER, false); }
static void test_nll_ve(void) { run("VE rademacher", mk_sde(sdg_sde_ve, 0.01, 50, 1000), SDG_PROBE_KIND_RADEMACHER, false); }
static void test_nll_subvp_gauss(void) {
    run("subVP gaussian", mk_sde(sdg_sde_subvp, 0.1, 20, 1000), SDG_PROBE_KIND_GAUSSIAN, false);
}
static void test_nll_jvp(void) {
    /* same probes as the finite-difference run: the two estimates agree to 1e-4 relative */
    run("VP rademacher, finite differences", mk_sde(sdg_sde_vp, 0.1, 20, 1000), SDG_PROBE_KIND_RADEMACHER, false);
    double fd = last_est;
    run("VP rademacher, exact JVP", mk_sde(sdg_sde_vp, 0.1, 20, 1000), SDG_PROBE_KIND_RADEMACHER, true);
    CU_ASSERT(fabs(last_est - fd) <= 1e-4 * fabs(fd));
}

/* In 1-D a Rademacher probe makes the estimator exact: every sample within 1 % (relative to
 * max(|nll|, 0.1)). The residual (~0.5 %) is the prior mismatch at t = 1: VP(0.1, 20) leaves
 * s(1) mu = 0.005 in the marginal's mean, which log N(x_1; 0, 1) ignores, as in Song et al. */
static void test_nll_1d_per_sample(void) {
    mixture g = {1, 1, {1.0}, {{0.7}}, {{0.36}}};
    float x[200];
    double nll[200];
    for (int i = 0; i < 200; i++) x[i] = (float)(0.7 + 0.6 * (-2.5 + 5.0 * i / 199));
    sdg_sde vp = mk_sde(sdg_sde_vp, 0.1, 20, 1000);
    oracle o = {&g, 1.0, 0};
    sdg_model m = {.fn = oracle_fn, .params = &o};
    sdg_state st = mix_state(&g, 200, x, vp, SDG_PARAM_KIND_EPS);
    sdg_likelihood_params p = sdg_likelihood_default_params();
    CU_ASSERT_EQUAL_FATAL(sdg_likelihood(&p, &m, &st, nll, NULL, NULL), SDG_OK);
    double s, sg, worst = 0;
    sdg_sde_marginal(&vp, p.eps, &s, &sg);
    for (int i = 0; i < 200; i++) {
        double v = s * s * 0.36 + sg * sg, e = x[i] - s * 0.7;
        double ref = 0.5 * e * e / v + 0.5 * log(2 * 3.14159265358979323846 * v);
        worst = fmax(worst, fabs(nll[i] - ref) / fmax(fabs(ref), 0.1));
    }
    printf("  1-D per-sample: worst relative error %.2g\n", worst);
    CU_ASSERT(worst < 0.01);
    p.eps = 1.0f;
    CU_ASSERT_EQUAL(sdg_likelihood(&p, &m, &st, nll, NULL, NULL), SDG_ERR_INVALID);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"NLL VP (rademacher)", test_nll_vp},
        {"NLL VE (rademacher)", test_nll_ve},
        {"NLL sub-VP (gaussian probes)", test_nll_subvp_gauss},
        {"NLL with a JVP callback", test_nll_jvp},
        {"NLL 1-D per sample", test_nll_1d_per_sample},
        {NULL, NULL},
    };
    return sdg_test_main("sde_likelihood", cases);
}
