/* Deterministic samplers against the closed-form mixture: probability-flow ODE (Euler, Heun,
 * RK4, adaptive RK45), flow-matching velocity ODE (Euler, Heun) and EDM's Heun sampler. */
#include "mixture.h"

#define NS 20000

static sdg_sampler_params ode(const sdg_ode_type *m, int steps) {
    sdg_sampler_params p = sdg_sampler_default_params();
    p.type = sdg_sampler_ode;
    p.ode = m;
    p.n_steps = steps;
    p.seed = 7;
    return p;
}

static void test_ode_fixed(void) {
    sdg_sampler_params p = ode(sdg_ode_euler, 500);
    CU_ASSERT_EQUAL(mix_run("ode euler VP 1d", &MIX1, NS, mk_sde(sdg_sde_vp, 0.1, 20, 1000),
                            SDG_PARAM_KIND_EPS, &p, 1.0, NULL), 0);
    p = ode(sdg_ode_heun, 100);
    CU_ASSERT_EQUAL(mix_run("ode heun VE 2d", &MIX2, NS, mk_sde(sdg_sde_ve, 0.01, 50, 1000),
                            SDG_PARAM_KIND_SCORE, &p, 1.0, NULL), 0);
    p = ode(sdg_ode_rk4, 50);
    CU_ASSERT_EQUAL(mix_run("ode rk4 subVP 2d", &MIX2, NS, mk_sde(sdg_sde_subvp, 0.1, 20, 1000),
                            SDG_PARAM_KIND_DENOISER, &p, 1.0, NULL), 0);
    /* the other dimension for each method */
    p = ode(sdg_ode_euler, 500);
    CU_ASSERT_EQUAL(mix_run("ode euler VE 2d", &MIX2, NS, mk_sde(sdg_sde_ve, 0.01, 50, 1000),
                            SDG_PARAM_KIND_SCORE, &p, 1.0, NULL), 0);
    p = ode(sdg_ode_heun, 100);
    CU_ASSERT_EQUAL(mix_run("ode heun subVP 1d", &MIX1, NS, mk_sde(sdg_sde_subvp, 0.1, 20, 1000),
                            SDG_PARAM_KIND_EPS, &p, 1.0, NULL), 0);
    p = ode(sdg_ode_rk4, 50);
    CU_ASSERT_EQUAL(mix_run("ode rk4 VP 1d", &MIX1, NS, mk_sde(sdg_sde_vp, 0.1, 20, 1000),
                            SDG_PARAM_KIND_VELOCITY, &p, 1.0, NULL), 0);
}
static void test_ode_rk45(void) {
    sdg_sampler_params p = ode(sdg_ode_rk45, 0);
    p.n_steps = 1;
    CU_ASSERT_EQUAL(mix_run("ode rk45 VP 2d", &MIX2, NS, mk_sde(sdg_sde_vp, 0.1, 20, 1000),
                            SDG_PARAM_KIND_EPS, &p, 1.0, NULL), 0);
    CU_ASSERT_EQUAL(mix_run("ode rk45 VE 1d", &MIX1, NS, mk_sde(sdg_sde_ve, 0.01, 50, 1000),
                            SDG_PARAM_KIND_SCORE, &p, 1.0, NULL), 0);
}
static void test_flow(void) {
    sdg_sampler_params p = ode(sdg_ode_euler, 200);
    p.eps = 0.0f;
    CU_ASSERT_EQUAL(mix_run("flow euler 2d", &MIX2, NS, mk_sde(sdg_sde_linear, 0, 1, 1000),
                            SDG_PARAM_KIND_VELOCITY, &p, 1.0, NULL), 0);
    p = ode(sdg_ode_heun, 50);
    p.eps = 0.0f;
    CU_ASSERT_EQUAL(mix_run("flow heun 1d", &MIX1, NS, mk_sde(sdg_sde_linear, 0, 1, 1000),
                            SDG_PARAM_KIND_VELOCITY, &p, 1.0, NULL), 0);
    CU_ASSERT_EQUAL(mix_run("flow heun 2d", &MIX2, NS, mk_sde(sdg_sde_linear, 0, 1, 1000),
                            SDG_PARAM_KIND_VELOCITY, &p, 1.0, NULL), 0);
    p = ode(sdg_ode_euler, 200);
    p.eps = 0.0f;
    CU_ASSERT_EQUAL(mix_run("flow euler 1d", &MIX1, NS, mk_sde(sdg_sde_linear, 0, 1, 1000),
                            SDG_PARAM_KIND_VELOCITY, &p, 1.0, NULL), 0);
}
static void test_edm(void) {
    sdg_sampler_params p = sdg_sampler_default_params();
    p.type = sdg_sampler_edm;
    p.n_steps = 40;
    p.seed = 3;
    sdg_sampler_stats s;
    CU_ASSERT_EQUAL(mix_run("edm heun 40 steps 2d", &MIX2, NS, mk_sde(sdg_sde_edm, 0.002, 80, 1000),
                            SDG_PARAM_KIND_DENOISER, &p, 1.0, &s), 0);
    CU_ASSERT_EQUAL(s.nfe, 2 * 40 - 1);
    CU_ASSERT_EQUAL(mix_run("edm heun 40 steps 1d", &MIX1, NS, mk_sde(sdg_sde_edm, 0.002, 80, 1000),
                            SDG_PARAM_KIND_EPS, &p, 1.0, NULL), 0);
    p.s_churn = 10.0f;
    p.s_tmin = 0.05f;
    p.s_tmax = 50.0f;
    p.s_noise = 1.003f;
    CU_ASSERT_EQUAL(mix_run("edm heun churn 1d", &MIX1, NS, mk_sde(sdg_sde_edm, 0.002, 80, 1000),
                            SDG_PARAM_KIND_DENOISER, &p, 1.0, NULL), 0);
    CU_ASSERT_EQUAL(mix_run("edm heun churn 2d", &MIX2, NS, mk_sde(sdg_sde_edm, 0.002, 80, 1000),
                            SDG_PARAM_KIND_DENOISER, &p, 1.0, NULL), 0);
}
static void test_wrong_score_fails(void) {
    sdg_sampler_params p = ode(sdg_ode_rk45, 1);
    CU_ASSERT(mix_run("WRONG ode rk45 VP 1d", &MIX1, NS, mk_sde(sdg_sde_vp, 0.1, 20, 1000),
                      SDG_PARAM_KIND_EPS, &p, 0.8, NULL) > 0);
    sdg_sampler_params q = sdg_sampler_default_params();
    q.type = sdg_sampler_edm;
    q.n_steps = 40;
    CU_ASSERT(mix_run("WRONG edm 2d", &MIX2, NS, mk_sde(sdg_sde_edm, 0.002, 80, 1000),
                      SDG_PARAM_KIND_DENOISER, &q, 0.8, NULL) > 0);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"ode fixed-step", test_ode_fixed},
        {"ode rk45", test_ode_rk45},
        {"flow matching ode", test_flow},
        {"edm heun", test_edm},
        {"wrong score fails", test_wrong_score_fails},
        {NULL, NULL},
    };
    return sdg_test_main("sde_ode", cases);
}
