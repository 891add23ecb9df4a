/* bench_sde: the SDE engine's own cost and its accuracy per model evaluation.
 * Part 1: overhead per sample-step with a free model (score = -x) for 1-D to 1000-D states.
 * Part 2: NFE against accuracy on a 2-D, 3-component Gaussian mixture with the exact score,
 *         for PC, S4, RK45, Heun (probability flow) and EDM Heun.
 * Usage: bench_sde [quick]   (prints a Markdown table per part) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sdegen/sdegen.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* ---- part 1: free model ---- */
static sdg_status free_fn(const sdg_model_call *call, void *params) {
    (void)params;
    for (int c = 0; c < call->state->n_comp; c++) {
        size_t m = call->state->n * call->state->comp[c].dim;
        const float *x = call->state->comp[c].x;
        float *o = call->out[c];
        for (size_t j = 0; j < m; j++) o[j] = -x[j];
    }
    return SDG_OK;
}

static sdg_state one_comp(size_t n, size_t dim, float *x, const sdg_sde *sde) {
    sdg_state st;
    memset(&st, 0, sizeof st);
    st.n = n;
    st.n_comp = 1;
    st.comp[0].name = "x";
    st.comp[0].dim = dim;
    st.comp[0].sde = *sde;
    st.comp[0].x = x;
    return st;
}

/* Best of 3 runs (the machine may be shared), at 1 and at 2 threads. */
static void overhead(bool quick) {
    const size_t dims[] = {1, 10, 100, 1000};
    const char *names[] = {"pc reverse+langevin", "euler-maruyama", "s4", "ode euler"};
    printf("## Engine overhead per sample-step (model: score = -x; best of 3)\n\n");
    printf("| dim | samples | sampler | NFE/step | ns/sample-step, 1 thread | 2 threads | ns/element-step, 2 threads |\n");
    printf("|---|---|---|---|---|---|---|\n");
    for (int q = 0; q < 4; q++) {
        size_t dim = dims[q], n = dim >= 100 ? 2000 : 20000;
        if (quick) n /= 4;
        int steps = 50;
        float *x = malloc(n * dim * sizeof(float));
        sdg_sde vp;
        sdg_sde_init(&vp, sdg_sde_vp, 0.1, 20, steps);
        for (int k = 0; k < 4; k++) {
            sdg_sampler_params p = sdg_sampler_default_params();
            p.n_steps = steps;
            if (k == 1) p.predictor = sdg_predictor_euler, p.corrector = sdg_corrector_none;
            if (k == 2) p.type = sdg_sampler_s4;
            if (k == 3) p.type = sdg_sampler_ode, p.ode = sdg_ode_euler;
            sdg_state st = one_comp(n, dim, x, &vp);
            sdg_model m = {.fn = free_fn, .params = NULL};
            sdg_sampler *s = NULL;
            sdg_sampler_stats ss = {0, 0};
            double best[2] = {INFINITY, INFINITY};
            if (sdg_sampler_new(&p, &st, &s) != SDG_OK) {
                printf("error: %s\n", sdg_errmsg());
                continue;
            }
            for (int th = 0; th < 2; th++) {
                sdg_set_num_threads(th + 1);
                for (int rep = 0; rep < 3; rep++) {
                    double t0 = now();
                    if (sdg_sampler_run(s, &m, &st, &ss) != SDG_OK) printf("error: %s\n", sdg_errmsg());
                    best[th] = fmin(best[th], now() - t0);
                }
            }
            sdg_sampler_free(s);
            double per1 = best[0] / ((double)n * steps) * 1e9, per2 = best[1] / ((double)n * steps) * 1e9;
            printf("| %zu | %zu | %s | %.1f | %.1f | %.1f | %.2f |\n", dim, n, names[k], (double)ss.nfe / steps, per1,
                   per2, per2 / (double)dim);
            fflush(stdout);
        }
        free(x);
    }
    sdg_set_num_threads(2);
    printf("\nTimes include the free model (one negation per element) and, for the stochastic samplers,\n"
           "one GSL MT19937 Gaussian per element per noise draw from the sample's own stream.\n\n");
}

/* ---- part 2: mixture ---- */
#define K 3
static const double W[K] = {0.5, 0.3, 0.2};
static const double MU[K][2] = {{-2.0, 0.0}, {2.0, 1.0}, {0.0, -2.5}};
static const double VAR[K][2] = {{0.3, 0.1}, {0.2, 0.4}, {0.5, 0.2}};

static sdg_status mix_fn(const sdg_model_call *call, void *params) {
    (void)params;
    const sdg_component *k = &call->state->comp[0];
    for (size_t i = 0; i < call->state->n; i++) {
        double s, sg, lr[K], mx = -INFINITY, z = 0, x0[2] = {0, 0};
        sdg_sde_marginal(&k->sde, call->t[i], &s, &sg);
        const float *x = k->x + 2 * i;
        for (int c = 0; c < K; c++) {
            double l = log(W[c]);
            for (int d = 0; d < 2; d++) {
                double v = s * s * VAR[c][d] + sg * sg, e = x[d] - s * MU[c][d];
                l -= 0.5 * (e * e / v + log(v));
            }
            lr[c] = l;
            mx = fmax(mx, l);
        }
        for (int c = 0; c < K; c++) z += (lr[c] = exp(lr[c] - mx));
        for (int c = 0; c < K; c++)
            for (int d = 0; d < 2; d++) {
                double v = s * s * VAR[c][d] + sg * sg, e = x[d] - s * MU[c][d];
                x0[d] += lr[c] / z * (MU[c][d] + s * VAR[c][d] / v * e);
            }
        call->out[0][2 * i] = (float)x0[0];
        call->out[0][2 * i + 1] = (float)x0[1];
    }
    return SDG_OK;   /* component kind is DENOISER */
}

/* worst of |dw|, |dmu| / sd, |dvar| / var over components (soft assignment) */
static double mix_error(const float *x, size_t n) {
    double R[K] = {0}, S1[K][2] = {{0}}, S2[K][2] = {{0}};
    for (size_t i = 0; i < n; i++) {
        double lr[K], mx = -INFINITY, z = 0;
        for (int c = 0; c < K; c++) {
            double l = log(W[c]);
            for (int d = 0; d < 2; d++) {
                double e = x[2 * i + d] - MU[c][d];
                l -= 0.5 * (e * e / VAR[c][d] + log(VAR[c][d]));
            }
            lr[c] = l;
            mx = fmax(mx, l);
        }
        for (int c = 0; c < K; c++) z += (lr[c] = exp(lr[c] - mx));
        for (int c = 0; c < K; c++) {
            double r = lr[c] / z;
            R[c] += r;
            for (int d = 0; d < 2; d++) S1[c][d] += r * x[2 * i + d], S2[c][d] += r * x[2 * i + d] * x[2 * i + d];
        }
    }
    double worst = 0;
    for (int c = 0; c < K; c++) {
        worst = fmax(worst, fabs(R[c] / n - W[c]));
        for (int d = 0; d < 2; d++) {
            double mu = S1[c][d] / R[c], var = S2[c][d] / R[c] - mu * mu;
            worst = fmax(worst, fabs(mu - MU[c][d]) / sqrt(VAR[c][d]));
            worst = fmax(worst, fabs(var - VAR[c][d]) / VAR[c][d]);
        }
    }
    return worst;
}

static void nfe_row(const char *name, const char *setting, sdg_sampler_params *p, const sdg_sde *sde, size_t n) {
    float *x = malloc(n * 2 * sizeof(float));
    sdg_state st = one_comp(n, 2, x, sde);
    st.comp[0].param = SDG_PARAM_KIND_DENOISER;
    sdg_model m = {.fn = mix_fn, .params = NULL};
    sdg_sampler *s = NULL;
    sdg_sampler_stats ss;
    double t0 = now();
    if (sdg_sampler_new(p, &st, &s) != SDG_OK || sdg_sampler_run(s, &m, &st, &ss) != SDG_OK) {
        printf("| %s | %s | error: %s |\n", name, setting, sdg_errmsg());
    } else {
        printf("| %s | %s | %ld | %.4f | %.2f |\n", name, setting, ss.nfe, mix_error(x, n), now() - t0);
    }
    fflush(stdout);
    sdg_sampler_free(s);
    free(x);
}

static void nfe_accuracy(bool quick) {
    size_t n = quick ? 5000 : 20000;
    printf("## NFE against accuracy (2-D 3-component mixture, exact score, %zu samples)\n\n", n);
    printf("error = worst of |w - w*|, |mu - mu*|/sd*, |var - var*|/var* over the 3 components (15 numbers);\n"
           "with exact samples this maximum is itself about %.3f (sampling noise), so values near it mean\n"
           "'converged'.\n\n", 2.5 * sqrt(2.0 / (n * 0.2)));
    printf("| sampler | setting | NFE | error | seconds |\n|---|---|---|---|---|\n");
    sdg_sde vp, edm;
    char buf[64];
    const int pc_steps[] = {50, 100, 200, 500, 1000};
    for (int i = 0; i < 5; i++) {
        sdg_sde_init(&vp, sdg_sde_vp, 0.1, 20, pc_steps[i]);
        sdg_sampler_params p = sdg_sampler_default_params();
        p.n_steps = pc_steps[i];
        p.snr = 0.01f;
        snprintf(buf, sizeof buf, "VP, %d steps, snr 0.01", pc_steps[i]);
        nfe_row("pc reverse+langevin", buf, &p, &vp, n);
    }
    for (int i = 0; i < 5; i++) {
        sdg_sde_init(&vp, sdg_sde_vp, 0.1, 20, 1000);
        sdg_sampler_params p = sdg_sampler_default_params();
        p.type = sdg_sampler_s4;
        p.n_steps = pc_steps[i];
        p.snr = 0.01f;
        snprintf(buf, sizeof buf, "VP, %d steps, snr 0.01", pc_steps[i]);
        nfe_row("s4", buf, &p, &vp, n);
    }
    const double tols[] = {1e-2, 1e-3, 1e-4, 1e-5};
    for (int i = 0; i < 4; i++) {
        sdg_sde_init(&vp, sdg_sde_vp, 0.1, 20, 1000);
        sdg_sampler_params p = sdg_sampler_default_params();
        p.type = sdg_sampler_ode;
        p.ode = sdg_ode_rk45;
        p.atol = p.rtol = tols[i];
        snprintf(buf, sizeof buf, "VP, atol = rtol = %.0e", tols[i]);
        nfe_row("ode rk45", buf, &p, &vp, n);
    }
    const int heun_steps[] = {10, 25, 50, 100};
    for (int i = 0; i < 4; i++) {
        sdg_sde_init(&vp, sdg_sde_vp, 0.1, 20, 1000);
        sdg_sampler_params p = sdg_sampler_default_params();
        p.type = sdg_sampler_ode;
        p.ode = sdg_ode_heun;
        p.n_steps = heun_steps[i];
        snprintf(buf, sizeof buf, "VP, %d steps", heun_steps[i]);
        nfe_row("ode heun", buf, &p, &vp, n);
    }
    const int edm_steps[] = {10, 20, 40};
    for (int i = 0; i < 3; i++) {
        sdg_sde_init(&edm, sdg_sde_edm, 0.002, 80, 1000);
        sdg_sampler_params p = sdg_sampler_default_params();
        p.type = sdg_sampler_edm;
        p.n_steps = edm_steps[i];
        snprintf(buf, sizeof buf, "rho 7, %d steps", edm_steps[i]);
        nfe_row("edm heun", buf, &p, &edm, n);
    }
    printf("\n");
}

int main(int argc, char **argv) {
    bool quick = argc > 1 && strcmp(argv[1], "quick") == 0;
    if (sdg_init() != SDG_OK) return 1;
    overhead(quick);
    nfe_accuracy(quick);
    return 0;
}
