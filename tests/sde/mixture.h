/* Closed-form test oracle: a diagonal Gaussian mixture in D dims. Under x_t = s x0 + sigma z
 * the marginal is the mixture of N(s mu_k, s^2 var_k + sigma^2), so its score and posterior
 * mean E[x0 | x_t] are exact; the oracle answers in any parameterisation. */
#ifndef SDG_TEST_MIXTURE_H
#define SDG_TEST_MIXTURE_H
#include <math.h>
#include <stdlib.h>
#include "test_util.h"

#define MIX_MAXK 4
#define MIX_MAXD 8
typedef struct mixture {
    int    K, D;
    double w[MIX_MAXK], mu[MIX_MAXK][MIX_MAXD], var[MIX_MAXK][MIX_MAXD];
} mixture;

typedef struct oracle {
    const mixture *mix;
    double         score_scale;  /* 1 = exact; 0.8 = the deliberately wrong score */
    long           calls;
} oracle;

/* Per-time constants of the perturbed mixture, so that a point costs K exps. */
typedef struct mix_pre {
    double lw[MIX_MAXK], m[MIX_MAXK][MIX_MAXD], iv[MIX_MAXK][MIX_MAXD], g[MIX_MAXK][MIX_MAXD];
} mix_pre;

static inline void mix_prepare(const mixture *m, double s, double sg, mix_pre *P) {
    for (int k = 0; k < m->K; k++) {
        P->lw[k] = log(m->w[k]);
        for (int d = 0; d < m->D; d++) {
            double v = s * s * m->var[k][d] + sg * sg;
            P->lw[k] -= 0.5 * log(v);
            P->m[k][d] = s * m->mu[k][d];
            P->iv[k][d] = 1 / v;
            P->g[k][d] = s * m->var[k][d] / v;
        }
    }
}

/* score and posterior mean E[x0 | x_t] at one point */
static inline void mix_point(const mixture *m, const mix_pre *P, const float *x, double *score, double *x0) {
    double lr[MIX_MAXK], mx = -INFINITY, z = 0;
    for (int k = 0; k < m->K; k++) {
        double l = P->lw[k];
        for (int d = 0; d < m->D; d++) {
            double e = x[d] - P->m[k][d];
            l -= 0.5 * e * e * P->iv[k][d];
        }
        lr[k] = l;
        if (l > mx) mx = l;
    }
    for (int k = 0; k < m->K; k++) z += (lr[k] = exp(lr[k] - mx));
    for (int d = 0; d < m->D; d++) score[d] = x0[d] = 0;
    for (int k = 0; k < m->K; k++) {
        double r = lr[k] / z;
        for (int d = 0; d < m->D; d++) {
            double e = x[d] - P->m[k][d];
            score[d] -= r * e * P->iv[k][d];
            x0[d] += r * (m->mu[k][d] + P->g[k][d] * e);
        }
    }
}

/* Prepares P for time t under sde unless *tp already is t (a call's samples share their times in
 * runs), and records t in *tp. */
static inline void mix_prepare_at(const mixture *m, const sdg_sde *sde, float t, float *tp, mix_pre *P) {
    if (t == *tp) return;
    double s, sg;
    *tp = t;
    sdg_sde_marginal(sde, t, &s, &sg);
    mix_prepare(m, s, sg, P);
}

/* sdg_model_fn: every component is a D-dim copy of the mixture problem */
static inline sdg_status oracle_fn(const sdg_model_call *call, void *params) {
    oracle *o = params;
    const sdg_state *st = call->state;
    o->calls++;
    for (int c = 0; c < st->n_comp; c++) {
        if (!(call->which & (1u << c))) continue;
        const sdg_component *k = &st->comp[c];
        int D = (int)k->dim;
        bool via_score = k->param == SDG_PARAM_KIND_SCORE || o->score_scale != 1.0;
        mix_pre P;
        float tp = NAN;
        for (size_t i = 0; i < st->n; i++) {
            double sc[MIX_MAXD], x0[MIX_MAXD];
            mix_prepare_at(o->mix, &k->sde, call->t[i], &tp, &P);
            mix_point(o->mix, &P, k->x + i * D, sc, x0);
            for (int d = 0; d < D; d++)
                call->out[c][i * D + d] = (float)(via_score ? o->score_scale * sc[d] : x0[d]);
        }
        sdg_param_convert(via_score ? SDG_PARAM_KIND_SCORE : SDG_PARAM_KIND_DENOISER, k->param, &k->sde,
                          call->t, st->n, k->dim, k->x, call->out[c], call->out[c]);
    }
    return SDG_OK;
}

/* Soft-assignment moments under the true mixture: E[r_k] = w_k, E[r_k x]/E[r_k] = mu_k, ... are
 * unbiased targets, so their errors are purely statistical plus the sampler's bias. */
typedef struct mix_fit {
    double w[MIX_MAXK], mu[MIX_MAXK][MIX_MAXD], var[MIX_MAXK][MIX_MAXD];
} mix_fit;

static inline void mix_moments(const mixture *m, const float *x, size_t n, mix_fit *f) {
    double R[MIX_MAXK] = {0}, S1[MIX_MAXK][MIX_MAXD] = {{0}}, S2[MIX_MAXK][MIX_MAXD] = {{0}};
    for (size_t i = 0; i < n; i++) {
        double lr[MIX_MAXK], mx = -INFINITY, z = 0;
        for (int k = 0; k < m->K; k++) {
            double l = log(m->w[k]);
            for (int d = 0; d < m->D; d++) {
                double e = x[i * m->D + d] - m->mu[k][d];
                l -= 0.5 * (e * e / m->var[k][d] + log(m->var[k][d]));
            }
            lr[k] = l;
            if (l > mx) mx = l;
        }
        for (int k = 0; k < m->K; k++) z += (lr[k] = exp(lr[k] - mx));
        for (int k = 0; k < m->K; k++) {
            double r = lr[k] / z;
            R[k] += r;
            for (int d = 0; d < m->D; d++) {
                S1[k][d] += r * x[i * m->D + d];
                S2[k][d] += r * x[i * m->D + d] * x[i * m->D + d];
            }
        }
    }
    for (int k = 0; k < m->K; k++) {
        f->w[k] = R[k] / (double)n;
        for (int d = 0; d < m->D; d++) {
            f->mu[k][d] = S1[k][d] / R[k];
            f->var[k][d] = S2[k][d] / R[k] - f->mu[k][d] * f->mu[k][d];
        }
    }
}

/* Checks the fit against the truth: |error| <= z * SE + bias allowance, where SE is the
 * sampling standard error for n samples (weights: sqrt(w(1-w)/n); means: sqrt(var/(n w));
 * variances: var sqrt(2/(n w))), z = 5 (a false failure per check has probability < 1e-6) and
 * the allowance covers discretisation bias: 0.01 on weights, 0.03 sd on means, 6 % on variances.
 * Returns the number of failures and prints each. */
static inline int mix_check(const char *label, const mixture *m, const float *x, size_t n) {
    mix_fit f;
    mix_moments(m, x, n, &f);
    int bad = 0;
    double worst = 0;
    for (int k = 0; k < m->K; k++) {
        double w = m->w[k], se = sqrt(w * (1 - w) / (double)n), err = fabs(f.w[k] - w);
        double tol = 5 * se + 0.01;
        worst = fmax(worst, err / tol);
        if (!(err <= tol)) {
            printf("  %s: weight %d: %.4f vs %.4f (tol %.4f)\n", label, k, f.w[k], w, tol);
            bad++;
        }
        for (int d = 0; d < m->D; d++) {
            double v = m->var[k][d], sd = sqrt(v);
            double se_m = sqrt(v / ((double)n * w)), se_v = v * sqrt(2.0 / ((double)n * w));
            double em = fabs(f.mu[k][d] - m->mu[k][d]), tm = 5 * se_m + 0.03 * sd;
            double ev = fabs(f.var[k][d] - v), tv = 5 * se_v + 0.06 * v;
            worst = fmax(worst, fmax(em / tm, ev / tv));
            if (!(em <= tm)) {
                printf("  %s: mean %d.%d: %.4f vs %.4f (tol %.4f)\n", label, k, d, f.mu[k][d], m->mu[k][d], tm);
                bad++;
            }
            if (!(ev <= tv)) {
                printf("  %s: var %d.%d: %.4f vs %.4f (tol %.4f)\n", label, k, d, f.var[k][d], v, tv);
                bad++;
            }
        }
    }
    printf("  %s: worst error / tolerance = %.2f%s\n", label, worst, bad ? " FAIL" : "");
    return bad;
}

static const mixture MIX1 = {2, 1, {0.3, 0.7}, {{-2.0}, {1.5}}, {{0.25}, {0.5}}};
static const mixture MIX2 = {3, 2, {0.5, 0.3, 0.2},
                             {{-2.0, 0.0}, {2.0, 1.0}, {0.0, -2.5}},
                             {{0.3, 0.1}, {0.2, 0.4}, {0.5, 0.2}}};

/* A one-component state of n samples of the mixture's D dims. */
static inline sdg_state mix_state(const mixture *m, size_t n, float *x, sdg_sde sde, sdg_param_kind param) {
    sdg_state st;
    memset(&st, 0, sizeof st);
    st.n = n;
    st.n_comp = 1;
    st.comp[0].name = "x";
    st.comp[0].dim = (size_t)m->D;
    st.comp[0].noise = SDG_NOISE_KIND_DENSE;
    st.comp[0].param = param;
    st.comp[0].sde = sde;
    st.comp[0].x = x;
    return st;
}

static inline sdg_sde mk_sde(const sdg_sde_type *t, double a, double b, int N) {
    sdg_sde s;
    if (sdg_sde_init(&s, t, a, b, N) != SDG_OK) printf("sde init failed: %s\n", sdg_errmsg());
    return s;
}

/* Runs sampler p on n samples of m and returns mix_check's failure count (-1 on error). */
static inline int mix_run(const char *label, const mixture *m, size_t n, sdg_sde sde, sdg_param_kind param,
                          const sdg_sampler_params *p, double scale, sdg_sampler_stats *stats) {
    float *x = malloc(n * (size_t)m->D * sizeof(float));
    oracle o = {m, scale, 0};
    sdg_model model = {.fn = oracle_fn, .params = &o};
    sdg_state st = mix_state(m, n, x, sde, param);
    sdg_sampler *s = NULL;
    sdg_sampler_stats sst;
    int r = -1;
    if (sdg_sampler_new(p, &st, &s) != SDG_OK || sdg_sampler_run(s, &model, &st, &sst) != SDG_OK) {
        printf("  %s: %s\n", label, sdg_errmsg());
        goto done;
    }
    printf("  %s: nfe %ld steps %ld\n", label, sst.nfe, sst.steps);
    if (stats) *stats = sst;
    r = mix_check(label, m, x, n);
done:
    sdg_sampler_free(s);
    free(x);
    return r;
}
#endif
