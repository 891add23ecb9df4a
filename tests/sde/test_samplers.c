/* Stochastic samplers against the closed-form mixture: PC (reverse diffusion, Euler-Maruyama,
 * ancestral; Langevin) and S4 on VE, VP and sub-VP, the ode sampler's SDE mode (sde_noise) on
 * the linear interpolant, VE and VP, plus the deliberately wrong score. */
#include "mixture.h"

#define NS 20000
#define STEPS 500

static sdg_sampler_params pc(const sdg_predictor_type *pr, const sdg_corrector_type *co, float snr) {
    sdg_sampler_params p = sdg_sampler_default_params();
    p.predictor = pr;
    p.corrector = co;
    p.snr = snr;
    p.n_steps = STEPS;
    p.seed = 42;
    return p;
}

static void test_pc_reverse_langevin_ve(void) {
    sdg_sampler_params p = pc(sdg_predictor_reverse, sdg_corrector_langevin, 0.16f);
    CU_ASSERT_EQUAL(mix_run("pc reverse+langevin VE 1d", &MIX1, NS, mk_sde(sdg_sde_ve, 0.01, 50, STEPS),
                            SDG_PARAM_KIND_SCORE, &p, 1.0, NULL), 0);
}
static void test_pc_reverse_langevin_vp(void) {
    sdg_sampler_params p = pc(sdg_predictor_reverse, sdg_corrector_langevin, 0.01f);
    CU_ASSERT_EQUAL(mix_run("pc reverse+langevin VP 2d", &MIX2, NS, mk_sde(sdg_sde_vp, 0.1, 20, STEPS),
                            SDG_PARAM_KIND_EPS, &p, 1.0, NULL), 0);
}
static void test_pc_reverse_subvp(void) {
    sdg_sampler_params p = pc(sdg_predictor_reverse, sdg_corrector_none, 0.0f);
    CU_ASSERT_EQUAL(mix_run("pc reverse subVP 1d", &MIX1, NS, mk_sde(sdg_sde_subvp, 0.1, 20, STEPS),
                            SDG_PARAM_KIND_SCORE, &p, 1.0, NULL), 0);
    CU_ASSERT_EQUAL(mix_run("pc reverse VE 2d", &MIX2, NS, mk_sde(sdg_sde_ve, 0.01, 50, STEPS),
                            SDG_PARAM_KIND_SCORE, &p, 1.0, NULL), 0);
}
static void test_pc_euler_vp(void) {
    sdg_sampler_params p = pc(sdg_predictor_euler, sdg_corrector_none, 0.0f);
    CU_ASSERT_EQUAL(mix_run("euler-maruyama VP 1d", &MIX1, NS, mk_sde(sdg_sde_vp, 0.1, 20, STEPS),
                            SDG_PARAM_KIND_DENOISER, &p, 1.0, NULL), 0);
}
static void test_pc_euler_ve(void) {
    sdg_sampler_params p = pc(sdg_predictor_euler, sdg_corrector_none, 0.0f);
    CU_ASSERT_EQUAL(mix_run("euler-maruyama VE 2d", &MIX2, NS, mk_sde(sdg_sde_ve, 0.01, 50, STEPS),
                            SDG_PARAM_KIND_SCORE, &p, 1.0, NULL), 0);
}
static void test_ancestral(void) {
    sdg_sampler_params p = pc(sdg_predictor_ancestral, sdg_corrector_none, 0.0f);
    CU_ASSERT_EQUAL(mix_run("ancestral VE 2d", &MIX2, NS, mk_sde(sdg_sde_ve, 0.01, 50, STEPS),
                            SDG_PARAM_KIND_SCORE, &p, 1.0, NULL), 0);
    CU_ASSERT_EQUAL(mix_run("ancestral VP 1d", &MIX1, NS, mk_sde(sdg_sde_vp, 0.1, 20, STEPS),
                            SDG_PARAM_KIND_EPS, &p, 1.0, NULL), 0);
}
static void test_s4(void) {
    sdg_sampler_params p = pc(sdg_predictor_none, sdg_corrector_none, 0.15f);
    p.type = sdg_sampler_s4;
    CU_ASSERT_EQUAL(mix_run("s4 VP 2d", &MIX2, NS, mk_sde(sdg_sde_vp, 0.1, 20, STEPS),
                            SDG_PARAM_KIND_EPS, &p, 1.0, NULL), 0);
    CU_ASSERT_EQUAL(mix_run("s4 VE 1d", &MIX1, NS, mk_sde(sdg_sde_ve, 0.01, 50, STEPS),
                            SDG_PARAM_KIND_SCORE, &p, 1.0, NULL), 0);
}
/* negative: the same samplers with 0.8 x the exact score must fail the same check */
static void test_wrong_score_fails(void) {
    sdg_sampler_params p = pc(sdg_predictor_reverse, sdg_corrector_langevin, 0.16f);
    CU_ASSERT(mix_run("WRONG pc VE 1d", &MIX1, NS, mk_sde(sdg_sde_ve, 0.01, 50, STEPS),
                      SDG_PARAM_KIND_SCORE, &p, 0.8, NULL) > 0);
    sdg_sampler_params q = pc(sdg_predictor_none, sdg_corrector_none, 0.15f);
    q.type = sdg_sampler_s4;
    CU_ASSERT(mix_run("WRONG s4 VP 2d", &MIX2, NS, mk_sde(sdg_sde_vp, 0.1, 20, STEPS),
                      SDG_PARAM_KIND_EPS, &q, 0.8, NULL) > 0);
}

/* The ode sampler's SDE mode (sde_noise = eta > 0): the same marginals as the ODE for every eta,
 * so the mixture must come out for the flow-matching interpolant (eta 1 and 3), VE at
 * eta = 1 (the reverse diffusion) and VP; eta -> 0 is the Euler ODE sample for sample; bad
 * combinations are refused. */
static sdg_sampler_params sde_mode(float eta, int steps) {
    sdg_sampler_params p = pc(sdg_predictor_none, sdg_corrector_none, 0.0f);
    p.type = sdg_sampler_ode, p.ode = sdg_ode_euler, p.n_steps = steps, p.sde_noise = eta;
    return p;
}
static void test_ode_sde_mode(void) {
    sdg_sampler_params p = sde_mode(1.0f, 200);
    p.eps = 0.0f;
    sdg_sampler_stats s;
    CU_ASSERT_EQUAL(mix_run("sde mode eta 1, flow 1d", &MIX1, NS, mk_sde(sdg_sde_linear, 0, 1, 1000),
                            SDG_PARAM_KIND_DENOISER, &p, 1.0, &s), 0);
    CU_ASSERT_EQUAL(s.nfe, 200);   /* one model call per step, none for the final denoiser at eps = 0 */
    CU_ASSERT_EQUAL(mix_run("sde mode eta 1, flow 2d", &MIX2, NS, mk_sde(sdg_sde_linear, 0, 1, 1000),
                            SDG_PARAM_KIND_VELOCITY, &p, 1.0, NULL), 0);
    p.sde_noise = 3.0f;
    CU_ASSERT_EQUAL(mix_run("sde mode eta 3, flow 2d", &MIX2, NS, mk_sde(sdg_sde_linear, 0, 1, 1000),
                            SDG_PARAM_KIND_DENOISER, &p, 1.0, NULL), 0);
    p.sde_tmax = 0.3f;   /* noise only on the last 30 % of the way */
    CU_ASSERT_EQUAL(mix_run("sde mode eta 3, t <= 0.3, flow 1d", &MIX1, NS, mk_sde(sdg_sde_linear, 0, 1, 1000),
                            SDG_PARAM_KIND_DENOISER, &p, 1.0, NULL), 0);
    p = sde_mode(1.0f, 500);
    CU_ASSERT_EQUAL(mix_run("sde mode eta 1, VE 2d", &MIX2, NS, mk_sde(sdg_sde_ve, 0.01, 50, 1000),
                            SDG_PARAM_KIND_SCORE, &p, 1.0, NULL), 0);
    p.sde_noise = 0.5f;
    CU_ASSERT_EQUAL(mix_run("sde mode eta 0.5, VP 1d", &MIX1, NS, mk_sde(sdg_sde_vp, 0.1, 20, 1000),
                            SDG_PARAM_KIND_EPS, &p, 1.0, NULL), 0);
    p = sde_mode(1.0f, 500);   /* (the scaled score has no finite denoiser at the flow's t = 1) */
    CU_ASSERT(mix_run("WRONG sde mode eta 1, VE 1d", &MIX1, NS, mk_sde(sdg_sde_ve, 0.01, 50, 1000),
                      SDG_PARAM_KIND_SCORE, &p, 0.8, NULL) > 0);

    /* eta -> 0, and eta 5 with sde_tmax below every grid time: the Euler ODE sample for sample
     * (for the linear family the step is Euler's) */
    enum { N0 = 500 };
    float xo[N0 * 2], xs[N0 * 2], xt[N0 * 2];
    oracle o = {&MIX2, 1.0, 0};
    sdg_model model = {.fn = oracle_fn, .params = &o};
    float *xx[3] = {xo, xs, xt};
    for (int k = 0; k < 3; k++) {
        sdg_sampler_params q = sde_mode(k == 1 ? 1e-12f : k == 2 ? 5.0f : 0.0f, 50);
        if (k == 2) q.sde_tmax = 1e-4f;
        sdg_state st = mix_state(&MIX2, N0, xx[k], mk_sde(sdg_sde_linear, 0, 1, 1000), SDG_PARAM_KIND_DENOISER);
        sdg_sampler *smp = NULL;
        CU_ASSERT_FATAL(sdg_sampler_new(&q, &st, &smp) == SDG_OK);
        CU_ASSERT_FATAL(sdg_sampler_run(smp, &model, &st, NULL) == SDG_OK);
        sdg_sampler_free(smp);
    }
    double md = 0, mt = 0;
    for (int j = 0; j < N0 * 2; j++) md = fmax(md, fabs((double)xo[j] - xs[j])), mt = fmax(mt, fabs((double)xo[j] - xt[j]));
    printf("  against the Euler ODE: eta 1e-12 max difference %.3g; eta 5 with t_max 1e-4 %.3g\n", md, mt);
    CU_ASSERT(md < 1e-4);
    CU_ASSERT(mt < 1e-4);

    /* refused: Heun, the pc sampler, negative eta */
    sdg_state st = mix_state(&MIX1, 4, xo, mk_sde(sdg_sde_linear, 0, 1, 1000), SDG_PARAM_KIND_DENOISER);
    sdg_sampler *smp = NULL;
    sdg_sampler_params q = sde_mode(1.0f, 10);
    q.ode = sdg_ode_heun;
    CU_ASSERT_EQUAL(sdg_sampler_new(&q, &st, &smp), SDG_ERR_INVALID);
    q = pc(sdg_predictor_reverse, sdg_corrector_none, 0.0f);
    q.sde_noise = 1.0f;
    CU_ASSERT_EQUAL(sdg_sampler_new(&q, &st, &smp), SDG_ERR_INVALID);
    q = sde_mode(-1.0f, 10);
    CU_ASSERT_EQUAL(sdg_sampler_new(&q, &st, &smp), SDG_ERR_INVALID);
    q = sde_mode(1.0f, 10);
    q.sde_tmax = 0.0f;
    CU_ASSERT_EQUAL(sdg_sampler_new(&q, &st, &smp), SDG_ERR_INVALID);
    CU_ASSERT_PTR_NULL(smp);
}

/* Per-component eta and t_max (sde_noise_comp, sde_tmax_comp): MIX2 split over two 1-D
 * components that the oracle denoises jointly. Langevin noise with a block-diagonal
 * preconditioner keeps the marginals, so eta (3, 0), (0, 3) and (3 from t <= 0.3 on, 2) must give
 * the mixture; (eta, eta) is the global eta sample for sample, and (0, 0) or t_max below every
 * grid time the Euler ODE; a count other than n_comp or a negative eta is refused. */
static sdg_status split_fn(const sdg_model_call *call, void *params) {
    (void)params;
    const sdg_state *st = call->state;
    mix_pre P;
    float tp = NAN;
    for (size_t i = 0; i < st->n; i++) {
        double sc[MIX_MAXD], x0[MIX_MAXD];
        mix_prepare_at(&MIX2, &st->comp[0].sde, call->t[i], &tp, &P);
        float x[2] = {st->comp[0].x[i], st->comp[1].x[i]};
        mix_point(&MIX2, &P, x, sc, x0);
        for (int c = 0; c < 2; c++)
            if (call->which & (1u << c)) call->out[c][i] = (float)x0[c];
    }
    return SDG_OK;
}
static sdg_status split_run(const sdg_sampler_params *p, size_t n, float *xy) {
    sdg_status r = SDG_ERR_NOMEM;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    sdg_state st;
    memset(&st, 0, sizeof st);
    st.n = n, st.n_comp = 2;
    for (int c = 0; c < 2; c++)
        st.comp[c] = (sdg_component){.name = c ? "y" : "x", .dim = 1, .noise = SDG_NOISE_KIND_DENSE,
                                     .param = SDG_PARAM_KIND_DENOISER, .sde = mk_sde(sdg_sde_linear, 0, 1, 1000),
                                     .x = c ? b : a};
    sdg_model model = {.fn = split_fn};
    sdg_sampler *smp = NULL;
    if (a && b && (r = sdg_sampler_new(p, &st, &smp)) == SDG_OK && (r = sdg_sampler_run(smp, &model, &st, NULL)) == SDG_OK)
        for (size_t i = 0; i < n; i++) xy[2 * i] = a[i], xy[2 * i + 1] = b[i];
    sdg_sampler_free(smp);
    free(a);
    free(b);
    return r;
}
static void test_sde_mode_per_component(void) {
    float *xy = malloc(NS * 2 * sizeof *xy), *ref = malloc(NS * 2 * sizeof *ref);
    CU_ASSERT_FATAL(xy && ref);
    static const float etas[3][2] = {{3.0f, 0.0f}, {0.0f, 3.0f}, {3.0f, 2.0f}}, tmaxs[3][2] = {{0}, {0}, {0.3f, 0}};
    static const char *const labels[3] = {"sde mode eta (3, 0), flow, split 2d", "sde mode eta (0, 3), flow, split 2d",
                                          "sde mode eta (3 for t <= 0.3, 2), flow, split 2d"};
    for (int k = 0; k < 3; k++) {
        sdg_sampler_params p = sde_mode(1.0f, 200);
        p.n_sde_noise_comp = 2;
        for (int c = 0; c < 2; c++) p.sde_noise_comp[c] = etas[k][c], p.sde_tmax_comp[c] = tmaxs[k][c];
        CU_ASSERT_FATAL(split_run(&p, NS, xy) == SDG_OK);
        CU_ASSERT_EQUAL(mix_check(labels[k], &MIX2, xy, NS), 0);
    }
    enum { N0 = 500 };
    sdg_sampler_params g = sde_mode(2.0f, 50), q = g;
    q.n_sde_noise_comp = 2, q.sde_noise_comp[0] = q.sde_noise_comp[1] = 2.0f;
    CU_ASSERT_FATAL(split_run(&g, N0, ref) == SDG_OK && split_run(&q, N0, xy) == SDG_OK);
    double dg = 0, d0 = 0;
    for (int j = 0; j < N0 * 2; j++) dg = fmax(dg, fabs((double)ref[j] - xy[j]));
    sdg_sampler_params o = sde_mode(0.0f, 50);
    q.sde_noise_comp[0] = q.sde_noise_comp[1] = 0.0f;
    CU_ASSERT_FATAL(split_run(&o, N0, ref) == SDG_OK && split_run(&q, N0, xy) == SDG_OK);
    for (int j = 0; j < N0 * 2; j++) d0 = fmax(d0, fabs((double)ref[j] - xy[j]));
    /* eta 5 on both with t_max 1e-4 below every grid time: the ODE again */
    q.sde_noise_comp[0] = q.sde_noise_comp[1] = 5.0f, q.sde_tmax_comp[0] = q.sde_tmax_comp[1] = 1e-4f;
    double dt = 0;
    CU_ASSERT_FATAL(split_run(&q, N0, xy) == SDG_OK);
    for (int j = 0; j < N0 * 2; j++) dt = fmax(dt, fabs((double)ref[j] - xy[j]));
    printf("  per-component (2, 2) against global eta 2: max difference %.3g; (0, 0) against the ODE %.3g; (5, 5) "
           "with t_max 1e-4 against the ODE %.3g\n", dg, d0, dt);
    CU_ASSERT(dg == 0);
    CU_ASSERT(d0 < 1e-4);
    CU_ASSERT(dt < 1e-4);
    q.sde_tmax_comp[0] = 0;
    q.n_sde_noise_comp = 1;
    CU_ASSERT_EQUAL(split_run(&q, 4, xy), SDG_ERR_INVALID);
    q.n_sde_noise_comp = 2, q.sde_noise_comp[1] = -1.0f;
    CU_ASSERT_EQUAL(split_run(&q, 4, xy), SDG_ERR_INVALID);
    free(xy);
    free(ref);
}

/* Classifier guidance through the model's guide hook: with the exact classifier p(y = k | x_t)
 * = r_k(x_t), score + grad log r_k is the score of component k alone, so the guided sampler
 * must produce N(mu_k, var_k). */
typedef struct guide_params { const mixture *m; int k; } guide_params;
static sdg_status guide_fn(const sdg_model_call *call, void *params) {
    const guide_params *g = params;
    const sdg_component *c = &call->state->comp[0];
    double s, sg, sc[MIX_MAXD], x0[MIX_MAXD];
    mix_pre P;
    sdg_sde_marginal(&c->sde, call->t[0], &s, &sg);
    mix_prepare(g->m, s, sg, &P);
    for (size_t i = 0; i < call->state->n; i++) {
        const float *x = c->x + i * c->dim;
        mix_point(g->m, &P, x, sc, x0);
        for (size_t d = 0; d < c->dim; d++) {
            double own = -(x[d] - P.m[g->k][d]) * P.iv[g->k][d];
            call->out[0][i * c->dim + d] += (float)(own - sc[d]);
        }
    }
    return SDG_OK;
}
static void test_classifier_guidance(void) {
    float *x = malloc(NS * sizeof(float));
    oracle o = {&MIX1, 1.0, 0};
    guide_params gp = {&MIX1, 1};
    sdg_model m = {.fn = oracle_fn, .params = &o, .guide = guide_fn, .guide_params = &gp};
    sdg_state st = mix_state(&MIX1, NS, x, mk_sde(sdg_sde_vp, 0.1, 20, STEPS), SDG_PARAM_KIND_SCORE);
    sdg_sampler_params p = pc(sdg_predictor_reverse, sdg_corrector_none, 0.0f);
    sdg_sampler *s = NULL;
    CU_ASSERT_EQUAL_FATAL(sdg_sampler_new(&p, &st, &s), SDG_OK);
    CU_ASSERT_EQUAL_FATAL(sdg_sampler_run(s, &m, &st, NULL), SDG_OK);
    const mixture one = {1, 1, {1.0}, {{1.5}}, {{0.5}}};
    CU_ASSERT_EQUAL(mix_check("classifier guidance to component 1", &one, x, NS), 0);
    sdg_sampler_free(s);
    free(x);
}

/* GDSS's system of SDEs: two components (X under VP, A under VE), jointly Gaussian data with
 * correlation 0.8 between them. The joint marginal is N(S mu, S Sigma S + diag(sigma^2)), so
 * each component's exact score depends on both; the samplers must recover the joint law,
 * cross-covariance included (5 SE + 3 % allowance on each moment). */
static const double JMU[2] = {1.0, -0.5}, JS[2][2] = {{0.5, 0.8 * 0.70710678 * 0.8}, {0.8 * 0.70710678 * 0.8, 0.64}};
static sdg_status joint_fn(const sdg_model_call *call, void *params) {
    const bool *independent = params;   /* wrong model: each score sees only its component */
    const sdg_state *st = call->state;
    double s[2], sg[2];
    for (int c = 0; c < 2; c++) sdg_sde_marginal(&st->comp[c].sde, call->t[0], &s[c], &sg[c]);
    double C[2][2];
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            C[a][b] = (a != b && independent && *independent) ? 0 : s[a] * s[b] * JS[a][b] + (a == b ? sg[a] * sg[a] : 0);
    double det = C[0][0] * C[1][1] - C[0][1] * C[1][0];
    for (size_t i = 0; i < st->n; i++) {
        double e0 = st->comp[0].x[i] - s[0] * JMU[0], e1 = st->comp[1].x[i] - s[1] * JMU[1];
        double g0 = -(C[1][1] * e0 - C[0][1] * e1) / det, g1 = -(-C[1][0] * e0 + C[0][0] * e1) / det;
        if (call->which & 1u) call->out[0][i] = (float)(-g0 * sg[0]);   /* X: EPS, as GDSS's VP */
        if (call->which & 2u) call->out[1][i] = (float)g1;             /* A: SCORE, as GDSS's VE */
    }
    return SDG_OK;
}
static int joint_run(const char *label, const sdg_sampler_params *p, bool independent) {
    float *X = malloc(NS * sizeof(float)), *A = malloc(NS * sizeof(float));
    sdg_state st;
    memset(&st, 0, sizeof st);
    st.n = NS;
    st.n_comp = 2;
    st.comp[0] = (sdg_component){"X", 1, 0, SDG_NOISE_KIND_DENSE, SDG_PARAM_KIND_EPS, mk_sde(sdg_sde_vp, 0.1, 20, STEPS), X, NULL, false};
    st.comp[1] = (sdg_component){"A", 1, 0, SDG_NOISE_KIND_DENSE, SDG_PARAM_KIND_SCORE, mk_sde(sdg_sde_ve, 0.01, 50, STEPS), A, NULL, false};
    sdg_model m = {.fn = joint_fn, .params = &independent};
    sdg_sampler *s = NULL;
    int bad = -1;
    if (sdg_sampler_new(p, &st, &s) != SDG_OK || sdg_sampler_run(s, &m, &st, NULL) != SDG_OK) {
        printf("  %s: %s\n", label, sdg_errmsg());
        goto done;
    }
    double m0 = 0, m1 = 0, c00 = 0, c11 = 0, c01 = 0;
    for (size_t i = 0; i < NS; i++) m0 += X[i] / NS, m1 += A[i] / NS;
    for (size_t i = 0; i < NS; i++) {
        c00 += (X[i] - m0) * (X[i] - m0) / NS;
        c11 += (A[i] - m1) * (A[i] - m1) / NS;
        c01 += (X[i] - m0) * (A[i] - m1) / NS;
    }
    double se_c01 = sqrt((JS[0][0] * JS[1][1] + JS[0][1] * JS[0][1]) / NS);
    bad = 0;
    bad += !(fabs(m0 - JMU[0]) <= 5 * sqrt(JS[0][0] / NS) + 0.03 * sqrt(JS[0][0]));
    bad += !(fabs(m1 - JMU[1]) <= 5 * sqrt(JS[1][1] / NS) + 0.03 * sqrt(JS[1][1]));
    bad += !(fabs(c00 - JS[0][0]) <= 5 * JS[0][0] * sqrt(2.0 / NS) + 0.03 * JS[0][0]);
    bad += !(fabs(c11 - JS[1][1]) <= 5 * JS[1][1] * sqrt(2.0 / NS) + 0.03 * JS[1][1]);
    bad += !(fabs(c01 - JS[0][1]) <= 5 * se_c01 + 0.03 * JS[0][1]);
    printf("  %s: mean (%.3f, %.3f) var (%.3f, %.3f) cov %.4f vs (%.3f, %.3f) (%.3f, %.3f) %.4f%s\n", label, m0, m1,
           c00, c11, c01, JMU[0], JMU[1], JS[0][0], JS[1][1], JS[0][1], bad ? " FAIL" : "");
done:
    sdg_sampler_free(s);
    free(X);
    free(A);
    return bad;
}
static void test_joint_system(void) {
    sdg_sampler_params p = pc(sdg_predictor_reverse, sdg_corrector_langevin, 0.05f);
    CU_ASSERT_EQUAL(joint_run("system of SDEs, pc reverse+langevin", &p, false), 0);
    CU_ASSERT(joint_run("WRONG system of SDEs without coupling, pc", &p, true) > 0);
    p.type = sdg_sampler_s4;
    CU_ASSERT_EQUAL(joint_run("system of SDEs, s4", &p, false), 0);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"pc reverse+langevin VE", test_pc_reverse_langevin_ve},
        {"pc reverse+langevin VP", test_pc_reverse_langevin_vp},
        {"pc reverse (sub-VP, VE)", test_pc_reverse_subvp},
        {"euler-maruyama VP", test_pc_euler_vp},
        {"euler-maruyama VE", test_pc_euler_ve},
        {"ancestral", test_ancestral},
        {"s4", test_s4},
        {"wrong score fails", test_wrong_score_fails},
        {"ode sampler's SDE mode (sde_noise)", test_ode_sde_mode},
        {"SDE mode with per-component eta", test_sde_mode_per_component},
        {"classifier guidance hook", test_classifier_guidance},
        {"system of SDEs (VP X, VE A, correlated)", test_joint_system},
        {NULL, NULL},
    };
    return sdg_test_main("sde_samplers", cases);
}
