/* ODE integration (fixed-step Euler/Heun/RK4, adaptive RK45 through GSL odeiv2) and the
 * probability-flow likelihood with Hutchinson's trace estimator.
 * ref: Song et al. 2021 appendix D.2 (likelihood), Grathwohl et al. 2019 (Hutchinson). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>
#include "sde/internal.h"

typedef struct gsl_wrap {
    sde_ode_rhs f;
    void       *ctx;
    sdg_status  st;
} gsl_wrap;

static int gsl_rhs(double t, const double y[], double dydt[], void *params) {
    gsl_wrap *w = params;
    w->st = w->f(t, y, dydt, w->ctx);
    return w->st == SDG_OK ? GSL_SUCCESS : GSL_EBADFUNC;
}

static sdg_status integrate_rk45(sde_ode_rhs f, void *ctx, double *y, size_t dim, double t0, double t1,
                                 double atol, double rtol, long *steps) {
    sdg_status st = SDG_OK;
    gsl_wrap w = {f, ctx, SDG_OK};
    gsl_odeiv2_system sys = {gsl_rhs, NULL, dim, &w};
    gsl_odeiv2_step *step = gsl_odeiv2_step_alloc(gsl_odeiv2_step_rkf45, dim);
    gsl_odeiv2_control *con = gsl_odeiv2_control_y_new(atol, rtol);
    gsl_odeiv2_evolve *evo = gsl_odeiv2_evolve_alloc(dim);
    if (!step || !con || !evo) SDG_FAIL(SDG_ERR_NOMEM, "ode rk45: GSL allocation failed (dim %zu)", dim);
    double t = t0, h = (t1 - t0) * 1e-2;
    const long max_steps = 100000;
    while ((t1 < t0) ? (t > t1) : (t < t1)) {
        int g = gsl_odeiv2_evolve_apply(evo, con, step, &sys, &t, t1, &h, y);
        if (w.st != SDG_OK) {
            st = w.st;
            goto cleanup;
        }
        if (g != GSL_SUCCESS)
            SDG_FAIL(SDG_ERR_DEPENDENCY, "ode rk45: GSL failed at t = %g: %s", t, gsl_strerror(g));
        if (++*steps > max_steps)
            SDG_FAIL(SDG_ERR_NUMERIC, "ode rk45: more than %ld steps at t = %g (h = %g)", max_steps, t, h);
    }
cleanup:
    if (evo) gsl_odeiv2_evolve_free(evo);
    if (con) gsl_odeiv2_control_free(con);
    if (step) gsl_odeiv2_step_free(step);
    return st;
}

sdg_status sde_ode_integrate(const sdg_ode_type *m, sde_ode_rhs f, void *ctx, double *y, size_t dim,
                             double t0, double t1, int n_steps, double atol, double rtol, long *steps) {
    sdg_status st = SDG_OK;
    double *k1 = NULL, *k2 = NULL, *k3 = NULL, *k4 = NULL, *yt = NULL;
    *steps = 0;
    if (m->order == 0) return integrate_rk45(f, ctx, y, dim, t0, t1, atol, rtol, steps);
    if (n_steps <= 0) return SDG_ERROR(SDG_ERR_INVALID, "ode %s: n_steps = %d must be > 0", m->name, n_steps);
    k1 = malloc(dim * sizeof(double));
    k2 = malloc(dim * sizeof(double));
    k3 = m->order >= 4 ? malloc(dim * sizeof(double)) : NULL;
    k4 = m->order >= 4 ? malloc(dim * sizeof(double)) : NULL;
    yt = malloc(dim * sizeof(double));
    if (!k1 || !k2 || !yt || (m->order >= 4 && (!k3 || !k4)))
        SDG_FAIL(SDG_ERR_NOMEM, "ode %s: out of memory (dim %zu)", m->name, dim);
    double h = (t1 - t0) / n_steps;
    for (int i = 0; i < n_steps; i++) {
        double t = t0 + i * h;
        SDG_TRY(f(t, y, k1, ctx));
        if (m->order == 1) {
            #pragma omp parallel for schedule(static) if((dim) >= SDE_PAR_MIN)
            for (size_t j = 0; j < dim; j++) y[j] += h * k1[j];
        } else if (m->order == 2) {
            #pragma omp parallel for schedule(static) if((dim) >= SDE_PAR_MIN)
            for (size_t j = 0; j < dim; j++) yt[j] = y[j] + h * k1[j];
            SDG_TRY(f(t + h, yt, k2, ctx));
            #pragma omp parallel for schedule(static) if((dim) >= SDE_PAR_MIN)
            for (size_t j = 0; j < dim; j++) y[j] += 0.5 * h * (k1[j] + k2[j]);
        } else {
            #pragma omp parallel for schedule(static) if((dim) >= SDE_PAR_MIN)
            for (size_t j = 0; j < dim; j++) yt[j] = y[j] + 0.5 * h * k1[j];
            SDG_TRY(f(t + 0.5 * h, yt, k2, ctx));
            #pragma omp parallel for schedule(static) if((dim) >= SDE_PAR_MIN)
            for (size_t j = 0; j < dim; j++) yt[j] = y[j] + 0.5 * h * k2[j];
            SDG_TRY(f(t + 0.5 * h, yt, k3, ctx));
            #pragma omp parallel for schedule(static) if((dim) >= SDE_PAR_MIN)
            for (size_t j = 0; j < dim; j++) yt[j] = y[j] + h * k3[j];
            SDG_TRY(f(t + h, yt, k4, ctx));
            #pragma omp parallel for schedule(static) if((dim) >= SDE_PAR_MIN)
            for (size_t j = 0; j < dim; j++) y[j] += h / 6 * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]);
        }
        ++*steps;
    }
cleanup:
    free(k1);
    free(k2);
    free(k3);
    free(k4);
    free(yt);
    return st;
}

/* ---- likelihood ---- */

sdg_likelihood_params sdg_likelihood_default_params(void) {
    sdg_likelihood_params p;
    memset(&p, 0, sizeof p);
    p.probe = SDG_PROBE_KIND_RADEMACHER;
    p.ode = sdg_ode_rk45;
    p.n_steps = 200;
    p.atol = p.rtol = 1e-5;
    p.eps = 1e-5f;
    p.fd_h = 1e-3f;
    p.n_probes = 1;
    return p;
}

typedef struct lik_ctx {
    const sdg_likelihood_params *p;
    const sdg_model *m;
    const sdg_state *st;
    size_t n, total;
    float *probe[SDG_STATE_MAX_COMP], *xp[SDG_STATE_MAX_COMP], *xm[SDG_STATE_MAX_COMP];
    float *vp[SDG_STATE_MAX_COMP], *vm[SDG_STATE_MAX_COMP];
    float *tvec;
    long   nfe, evals;
} lik_ctx;

/* Model at xs (probe == NULL) or its JVP along probe (model->jvp), converted to a velocity
 * (resp. the velocity's JVP: a J v + b v for velocity = a out + b x) and masked. */
static sdg_status lik_call(lik_ctx *L, float *const *xs, double t, float *const *probe, float *const *res) {
    sdg_state at = *L->st;
    for (int c = 0; c < at.n_comp; c++) at.comp[c].x = xs[c];
    for (size_t i = 0; i < L->n; i++) L->tvec[i] = (float)t;
    sdg_model_call call;
    memset(&call, 0, sizeof call);
    call.state = &at;
    call.t = L->tvec;
    call.which = (1u << at.n_comp) - 1u;
    for (int c = 0; c < at.n_comp; c++) call.out[c] = res[c];
    sdg_status st;
    if (probe) {
        st = L->m->jvp(&call, (const float *const *)probe, L->m->jvp_params);
    } else {
        st = L->m->fn(&call, L->m->params);
        if (st == SDG_OK && L->m->guide) st = L->m->guide(&call, L->m->guide_params);
    }
    L->nfe++;
    if (st != SDG_OK) {
        sdg_error_prefix("likelihood evaluation %ld (t = %g): model", L->evals, t);
        return st;
    }
    for (int c = 0; c < at.n_comp; c++) {
        const sdg_component *k = &at.comp[c];
        size_t cnt = L->n * k->dim;
        for (size_t j = 0; j < cnt; j++)
            if (!isfinite(res[c][j]))
                return SDG_ERROR(SDG_ERR_NUMERIC,
                                 "likelihood evaluation %ld (t = %g): model output for '%s' is not finite "
                                 "(sample %zu)", L->evals, t, k->name ? k->name : "?", j / k->dim);
        sdg_param_convert(k->param, SDG_PARAM_KIND_VELOCITY, &k->sde, L->tvec, L->n, k->dim,
                          probe ? probe[c] : xs[c], res[c], res[c]);
        sdg_component_mask(k, L->n, res[c]);
    }
    return SDG_OK;
}

/* y = [x of every component (n * total), delta log p (n)]; K probes, each two model calls */
static sdg_status lik_rhs(double t, const double *y, double *dydt, void *vctx) {
    lik_ctx *L = vctx;
    const sdg_state *st = L->st;
    float h = L->p->fd_h;
    int K = L->p->n_probes;
    double *div = dydt + L->n * L->total;
    for (size_t i = 0; i < L->n; i++) div[i] = 0;
    for (size_t j = 0; j < L->n * L->total; j++) dydt[j] = 0;
    for (int q = 0; q < K; q++) {
        size_t off = 0;
        for (int c = 0; c < st->n_comp; c++) {
            size_t cnt = L->n * st->comp[c].dim;
            const double *yc = y + off;
            float *xp = L->xp[c], *xm = L->xm[c], *v = L->probe[c] + (size_t)q * cnt;
            #pragma omp parallel for schedule(static) if((cnt) >= SDE_PAR_MIN)
            for (size_t j = 0; j < cnt; j++) {
                xp[j] = (float)yc[j] + h * v[j];
                xm[j] = (float)yc[j] - h * v[j];
            }
            off += cnt;
        }
        sdg_status r;
        if ((r = lik_call(L, L->xp, t, NULL, L->vp)) != SDG_OK) return r;
        if ((r = lik_call(L, L->xm, t, NULL, L->vm)) != SDG_OK) return r;
        off = 0;
        for (int c = 0; c < st->n_comp; c++) {
            const sdg_component *k = &st->comp[c];
            size_t d = k->dim;
            double fac = (k->noise == SDG_NOISE_KIND_SYMMETRIC ? 0.5 : 1.0) / (2.0 * h * K);
            const float *vp = L->vp[c], *vm = L->vm[c], *pr = L->probe[c] + (size_t)q * L->n * d;
            double *dc = dydt + off;
            #pragma omp parallel for schedule(static) if((L->n) * d >= SDE_PAR_MIN)
            for (size_t i = 0; i < L->n; i++) {
                double acc = 0;
                for (size_t j = i * d; j < (i + 1) * d; j++) {
                    dc[j] += 0.5 * ((double)vp[j] + vm[j]) / K;   /* v(x) to O(h^2) */
                    acc += (double)pr[j] * ((double)vp[j] - vm[j]);
                }
                div[i] += fac * acc;
            }
            off += L->n * d;
        }
    }
    L->evals++;
    return SDG_OK;
}

/* The same with model->jvp: v(x) once, then J v exactly per probe (1 + K calls). */
static sdg_status lik_rhs_jvp(double t, const double *y, double *dydt, void *vctx) {
    lik_ctx *L = vctx;
    const sdg_state *st = L->st;
    int K = L->p->n_probes;
    double *div = dydt + L->n * L->total;
    size_t off = 0;
    for (int c = 0; c < st->n_comp; c++) {
        size_t cnt = L->n * st->comp[c].dim;
        const double *yc = y + off;
        float *xp = L->xp[c];
        #pragma omp parallel for schedule(static) if((cnt) >= SDE_PAR_MIN)
        for (size_t j = 0; j < cnt; j++) xp[j] = (float)yc[j];
        off += cnt;
    }
    sdg_status r;
    if ((r = lik_call(L, L->xp, t, NULL, L->vp)) != SDG_OK) return r;
    off = 0;
    for (int c = 0; c < st->n_comp; c++) {
        size_t cnt = L->n * st->comp[c].dim;
        for (size_t j = 0; j < cnt; j++) dydt[off + j] = L->vp[c][j];
        off += cnt;
    }
    for (size_t i = 0; i < L->n; i++) div[i] = 0;
    for (int q = 0; q < K; q++) {
        float *pq[SDG_STATE_MAX_COMP] = {0};
        for (int c = 0; c < st->n_comp; c++) pq[c] = L->probe[c] + (size_t)q * L->n * st->comp[c].dim;
        if ((r = lik_call(L, L->xp, t, pq, L->vm)) != SDG_OK) return r;
        for (int c = 0; c < st->n_comp; c++) {
            const sdg_component *k = &st->comp[c];
            size_t d = k->dim;
            double fac = (k->noise == SDG_NOISE_KIND_SYMMETRIC ? 0.5 : 1.0) / K;
            const float *jv = L->vm[c], *pr = pq[c];
            #pragma omp parallel for schedule(static) if((L->n) * d >= SDE_PAR_MIN)
            for (size_t i = 0; i < L->n; i++) {
                double acc = 0;
                for (size_t j = i * d; j < (i + 1) * d; j++) acc += (double)pr[j] * jv[j];
                div[i] += fac * acc;
            }
        }
    }
    L->evals++;
    return SDG_OK;
}

sdg_status sdg_likelihood(const sdg_likelihood_params *p, const sdg_model *m, const sdg_state *x,
                          double *nll, double *bpd, sdg_sampler_stats *stats) {
    sdg_status st = SDG_OK;
    lik_ctx L;
    double *y = NULL;
    sdg_rng *rng = NULL;
    memset(&L, 0, sizeof L);
    if (!p || !m || !m->fn || !nll) SDG_FAIL(SDG_ERR_INVALID, "likelihood: missing argument");
    SDG_TRY(sdg_state_check(x));
    if (!(p->eps > 0 && p->eps < 1)) SDG_FAIL(SDG_ERR_INVALID, "likelihood: eps = %g must be in (0, 1)", p->eps);
    if (!(p->fd_h > 0)) SDG_FAIL(SDG_ERR_INVALID, "likelihood: fd_h must be > 0");
    if (p->n_probes <= 0) SDG_FAIL(SDG_ERR_INVALID, "likelihood: n_probes = %d must be > 0", p->n_probes);
    if (!p->ode) SDG_FAIL(SDG_ERR_INVALID, "likelihood: no ODE method");
    for (int c = 0; c < x->n_comp; c++)
        if (x->comp[c].sde.type == sdg_sde_edm || x->comp[c].sde.type == sdg_sde_linear)
            SDG_FAIL(SDG_ERR_INVALID, "likelihood: component '%s' needs a VE, VP or sub-VP SDE",
                     x->comp[c].name ? x->comp[c].name : "?");
    L.p = p, L.m = m, L.st = x, L.n = x->n;
    L.tvec = malloc(L.n * sizeof(float));
    if (!L.tvec) SDG_FAIL(SDG_ERR_NOMEM, "likelihood: out of memory");
    for (int c = 0; c < x->n_comp; c++) {
        size_t cnt = L.n * x->comp[c].dim;
        L.total += x->comp[c].dim;
        L.probe[c] = malloc((size_t)p->n_probes * cnt * sizeof(float));
        L.xp[c] = malloc(cnt * sizeof(float));
        L.xm[c] = malloc(cnt * sizeof(float));
        L.vp[c] = malloc(cnt * sizeof(float));
        L.vm[c] = malloc(cnt * sizeof(float));
        if (!L.probe[c] || !L.xp[c] || !L.xm[c] || !L.vp[c] || !L.vm[c])
            SDG_FAIL(SDG_ERR_NOMEM, "likelihood: out of memory");
    }
    /* probes: sample i from stream (seed, i), structured like the component's noise */
    SDG_TRY(sdg_rng_stream(p->seed, 0, &rng));
    for (size_t i = 0; i < L.n; i++) {
        sdg_rng_reset(rng, p->seed, i);
        for (int q = 0; q < p->n_probes; q++)
            for (int c = 0; c < x->n_comp; c++) {
                const sdg_component *k = &x->comp[c];
                float *v = L.probe[c] + ((size_t)q * L.n + i) * k->dim;
                sdg_component_noise(k, i, rng, v);
                if (p->probe == SDG_PROBE_KIND_RADEMACHER)
                    for (size_t j = 0; j < k->dim; j++) v[j] = v[j] > 0 ? 1.0f : v[j] < 0 ? -1.0f : 0.0f;
            }
    }
    y = calloc(L.n * (L.total + 1), sizeof(double));
    if (!y) SDG_FAIL(SDG_ERR_NOMEM, "likelihood: out of memory");
    size_t off = 0;
    for (int c = 0; c < x->n_comp; c++) {
        size_t cnt = L.n * x->comp[c].dim;
        for (size_t j = 0; j < cnt; j++) y[off + j] = x->comp[c].x[j];
        off += cnt;
    }
    long steps = 0;
    SDG_TRY(sde_ode_integrate(p->ode, m->jvp ? lik_rhs_jvp : lik_rhs, &L, y, L.n * (L.total + 1), p->eps, 1.0, p->n_steps, p->atol,
                              p->rtol, &steps));
    /* log p_eps(x) = log prior(x_1) + integral of div; prior over free entries only */
    for (size_t i = 0; i < L.n; i++) {
        double lp = y[L.n * L.total + i], D = 0;
        off = 0;
        for (int c = 0; c < x->n_comp; c++) {
            const sdg_component *k = &x->comp[c];
            double ps = sdg_sde_prior_std(&k->sde), q = 0, dc = sde_component_free_dims(k, i);
            const double *yi = y + off + i * k->dim;
            for (size_t j = 0; j < k->dim; j++) q += yi[j] * yi[j];
            if (k->noise == SDG_NOISE_KIND_SYMMETRIC) q *= 0.5;   /* each free entry counted twice */
            lp += -0.5 * q / (ps * ps) - 0.5 * dc * log(2 * 3.14159265358979323846 * ps * ps);
            D += dc;
            off += L.n * k->dim;
        }
        nll[i] = -lp;
        if (bpd) bpd[i] = D > 0 ? -lp / (D * 0.69314718055994530942) : NAN;
    }
    if (stats) stats->nfe = L.nfe, stats->steps = steps;
cleanup:
    for (int c = 0; c < SDG_STATE_MAX_COMP; c++) {
        free(L.probe[c]);
        free(L.xp[c]);
        free(L.xm[c]);
        free(L.vp[c]);
        free(L.vm[c]);
    }
    free(L.tvec);
    free(y);
    sdg_rng_free(rng);
    return st;
}
