/* Samplers: predictor-corrector (Euler-Maruyama, reverse diffusion, ancestral; Langevin) in
 * GDSS's ordering, GDSS's S4 solver, probability-flow / velocity ODEs and EDM's Heun sampler.
 * ref: Song et al. 2021 (PC, reverse diffusion, ancestral), GDSS spec §10 (ordering, batch-
 * averaged Langevin norms, S4), Karras et al. 2022 algorithm 2 (EDM). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sde/internal.h"

struct sdg_sampler {
    sdg_sampler_params p;
    size_t   n;
    int      n_comp;
    size_t   dim[SDG_STATE_MAX_COMP];
    size_t   total;                      /* sum of dims                      */
    sdg_rng **rng;                       /* (n): sample i's stream           */
    float   *tvec;                       /* (n)                              */
    float   *score[SDG_STATE_MAX_COMP];  /* model outputs, converted         */
    float   *score2[SDG_STATE_MAX_COMP]; /* second evaluation (Heun)         */
    float   *z[SDG_STATE_MAX_COMP];
    float   *mean[SDG_STATE_MAX_COMP];
    float   *tmp[SDG_STATE_MAX_COMP];    /* intermediate states              */
    double  *ns, *nz;                    /* (n) per-sample norms             */
    double  *y;                          /* ODE state (n * total)            */
    double   eta[SDG_STATE_MAX_COMP];    /* SDE mode: each component's eta   */
    double   eta_tmax[SDG_STATE_MAX_COMP]; /* and t_max (sde_eta)            */
    bool     sde_mode;                   /* some component's eta > 0         */
    long     nfe, steps;
    const char *phase;
    long     step;
};

typedef sdg_status (*run_fn)(sdg_sampler *s, const sdg_model *m, sdg_state *st);
struct sdg_sampler_type {
    const char *name;
    run_fn      run;
};
struct sdg_predictor_type { const char *name; int id; };
struct sdg_corrector_type { const char *name; int id; };
enum { PRED_NONE, PRED_EULER, PRED_REVERSE, PRED_ANCESTRAL };

static const struct sdg_predictor_type pred_euler = {"euler", PRED_EULER},
                                       pred_reverse = {"reverse", PRED_REVERSE},
                                       pred_ancestral = {"ancestral", PRED_ANCESTRAL},
                                       pred_none = {"none", PRED_NONE};
static const struct sdg_corrector_type corr_langevin = {"langevin", 1}, corr_none = {"none", 0};
const sdg_predictor_type *const sdg_predictor_euler = &pred_euler;
const sdg_predictor_type *const sdg_predictor_reverse = &pred_reverse;
const sdg_predictor_type *const sdg_predictor_ancestral = &pred_ancestral;
const sdg_predictor_type *const sdg_predictor_none = &pred_none;
const sdg_corrector_type *const sdg_corrector_langevin = &corr_langevin;
const sdg_corrector_type *const sdg_corrector_none = &corr_none;

static const struct sdg_ode_type ode_euler = {"euler", 1}, ode_heun = {"heun", 2},
                                 ode_rk4 = {"rk4", 4}, ode_rk45 = {"rk45", 0};
const sdg_ode_type *const sdg_ode_euler = &ode_euler;
const sdg_ode_type *const sdg_ode_heun = &ode_heun;
const sdg_ode_type *const sdg_ode_rk4 = &ode_rk4;
const sdg_ode_type *const sdg_ode_rk45 = &ode_rk45;

sdg_sampler_params sdg_sampler_default_params(void) {
    sdg_sampler_params p;
    memset(&p, 0, sizeof p);
    p.type = sdg_sampler_pc;
    p.predictor = sdg_predictor_reverse;
    p.corrector = sdg_corrector_langevin;
    p.ode = sdg_ode_rk45;
    p.n_steps = 1000;
    p.n_corrector = 1;
    p.snr = 0.1f;
    p.scale_eps = 1.0f;
    p.eps = 1e-3f;
    p.denoise = true;
    p.init_prior = true;
    p.atol = p.rtol = 1e-5;
    p.rho = 7.0f;
    p.s_churn = 0.0f;
    p.s_tmin = 0.0f;
    p.s_tmax = INFINITY;
    p.s_noise = 1.0f;
    p.sde_tmax = INFINITY;
    return p;
}

const char *sdg_sampler_type_name(const sdg_sampler_type *t) { return t ? t->name : "(none)"; }
const char *sdg_predictor_type_name(const sdg_predictor_type *t) { return t ? t->name : "(none)"; }
const char *sdg_corrector_type_name(const sdg_corrector_type *t) { return t ? t->name : "(none)"; }
const char *sdg_ode_type_name(const sdg_ode_type *t) { return t ? t->name : "(none)"; }

/* ---- shared pieces ---- */

/* Sets tmp state = st with x pointers replaced by bufs. */
static sdg_state state_with(const sdg_state *st, float *const *bufs) {
    sdg_state v = *st;
    for (int c = 0; c < st->n_comp; c++) v.comp[c].x = bufs[c];
    return v;
}

/* Evaluates the model at (at, t), checks for NaN/Inf, converts every component to `want`
 * and masks the result into res[c]. */
static sdg_status eval(sdg_sampler *s, const sdg_model *m, const sdg_state *at, double t,
                       sdg_param_kind want, float *const *res) {
    sdg_status st = SDG_OK;
    size_t n = s->n;
    for (size_t i = 0; i < n; i++) s->tvec[i] = (float)t;
    sdg_model_call call;
    memset(&call, 0, sizeof call);
    call.state = at;
    call.t = s->tvec;
    call.which = (1u << at->n_comp) - 1u;
    for (int c = 0; c < at->n_comp; c++) call.out[c] = res[c];
    st = m->fn(&call, m->params);
    if (st == SDG_OK && m->guide) st = m->guide(&call, m->guide_params);
    s->nfe++;
    if (st != SDG_OK) {
        sdg_error_prefix("%s step %ld (t = %g): model", s->phase, s->step, t);
        return st;
    }
    for (int c = 0; c < at->n_comp; c++) {
        const sdg_component *k = &at->comp[c];
        size_t cnt = n * k->dim, bad = 0;
        const float *r = res[c];
        #pragma omp parallel for schedule(static) reduction(+ : bad) if((cnt) >= SDE_PAR_MIN)
        for (size_t j = 0; j < cnt; j++) bad += !isfinite(r[j]);
        if (bad) {
            size_t j = 0;
            while (j < cnt && isfinite(r[j])) j++;
            return SDG_ERROR(SDG_ERR_NUMERIC,
                             "%s step %ld (t = %g): model output for component '%s' is not finite "
                             "(%zu entries, first in sample %zu)",
                             s->phase, s->step, t, k->name ? k->name : "?", bad, j / k->dim);
        }
        sdg_param_convert(k->param, want, &k->sde, s->tvec, n, k->dim, k->x, res[c], res[c]);
        sdg_component_mask(k, n, res[c]);
    }
    return SDG_OK;
}

static void draw_noise(sdg_sampler *s, const sdg_component *k, float *z) {
    #pragma omp parallel for schedule(static) if((s->n) * k->dim >= SDE_PAR_MIN_RNG)
    for (size_t i = 0; i < s->n; i++) sdg_component_noise(k, i, s->rng[i], z + i * k->dim);
}

static sdg_status hook(sdg_sampler *s, sdg_state *st, double t) {
    if (!s->p.hook) return SDG_OK;
    sdg_status r = s->p.hook(st, t, s->rng, s->p.hook_params);
    if (r != SDG_OK) sdg_error_prefix("%s step %ld: hook", s->phase, s->step);
    return r;
}

static void draw_prior(sdg_sampler *s, sdg_state *st) {
    for (int c = 0; c < st->n_comp; c++) {
        sdg_component *k = &st->comp[c];
        float sd = (float)sdg_sde_prior_std(&k->sde);
        draw_noise(s, k, k->x);
        size_t cnt = s->n * k->dim;
        for (size_t j = 0; j < cnt; j++) k->x[j] *= sd;
    }
}

/* GDSS Langevin step for component c with its score s->score[c] already evaluated. */
static void langevin(sdg_sampler *s, sdg_component *k, int c, double t) {
    size_t n = s->n, d = k->dim;
    float *x = k->x, *sc = s->score[c], *z = s->z[c], *mu = s->mean[c];
    draw_noise(s, k, z);
    #pragma omp parallel for schedule(static) if((n) * d >= SDE_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        double a = 0, b = 0;
        for (size_t j = 0; j < d; j++) {
            a += (double)sc[i * d + j] * sc[i * d + j];
            b += (double)z[i * d + j] * z[i * d + j];
        }
        s->ns[i] = sqrt(a);
        s->nz[i] = sqrt(b);
    }
    double ms = 0, mz = 0;   /* sequential sums: independent of the thread count */
    for (size_t i = 0; i < n; i++) ms += s->ns[i], mz += s->nz[i];
    ms /= (double)n, mz /= (double)n;
    double alpha = k->sde.type->langevin_alpha(&k->sde, t);
    double r = ms > 0 ? s->p.snr * mz / ms : 0.0;
    float e = (float)(2 * alpha * r * r), ns = sqrtf(2 * e) * s->p.scale_eps;
    size_t cnt = n * d;
    #pragma omp parallel for schedule(static) if((cnt) >= SDE_PAR_MIN)
    for (size_t j = 0; j < cnt; j++) {
        mu[j] = x[j] + e * sc[j];
        x[j] = mu[j] + ns * z[j];
    }
}

/* One predictor update of component c from t to t_next, score in s->score[c]. */
static void predict(sdg_sampler *s, int id, sdg_component *k, int c, double t, double t_next) {
    size_t cnt = s->n * k->dim;
    float *x = k->x, *sc = s->score[c], *z = s->z[c], *mu = s->mean[c];
    float A, B, G;   /* mean = A x + B score; x = mean + G z */
    if (id == PRED_EULER) {
        double f, g, dt = 1.0 / s->p.n_steps;
        k->sde.type->coef(&k->sde, t, &f, &g);
        A = (float)(1 - dt * f), B = (float)(dt * g * g), G = (float)(g * sqrt(dt));
    } else if (id == PRED_REVERSE) {
        double fk, Gk;
        k->sde.type->discrete(&k->sde, t, &fk, &Gk);
        A = (float)(1 - fk), B = (float)(Gk * Gk), G = (float)Gk;
    } else {   /* ancestral: exact Gaussian posterior q(x_t' | x_t, x0_hat) */
        double s0, g0, s1, g1;
        sdg_sde_marginal(&k->sde, t, &s0, &g0);
        sdg_sde_marginal(&k->sde, t_next, &s1, &g1);
        double a = s0 / s1, b2 = g0 * g0 - a * a * g1 * g1;
        double cx = a * g1 * g1 / (g0 * g0), c0 = s1 * b2 / (g0 * g0);
        /* x0_hat = (x + g0^2 score) / s0 */
        A = (float)(cx + c0 / s0), B = (float)(c0 * g0 * g0 / s0);
        G = (float)sqrt(fmax(b2 * g1 * g1 / (g0 * g0), 0.0));
    }
    draw_noise(s, k, z);
    #pragma omp parallel for schedule(static) if((cnt) >= SDE_PAR_MIN)
    for (size_t j = 0; j < cnt; j++) {
        mu[j] = A * x[j] + B * sc[j];
        x[j] = mu[j] + G * z[j];
    }
}

static double grid_time(const sdg_sampler *s, int i) {
    return sde_linspace_f32(1.0f, s->p.eps, s->p.n_steps, i);
}

static void take_mean(sdg_sampler *s, sdg_state *st) {
    for (int c = 0; c < st->n_comp; c++)
        memcpy(st->comp[c].x, s->mean[c], s->n * st->comp[c].dim * sizeof(float));
}

static sdg_status run_pc(sdg_sampler *s, const sdg_model *m, sdg_state *st) {
    sdg_status r = SDG_OK;
    int pid = s->p.predictor->id, nc = s->p.corrector->id ? s->p.n_corrector : 0;
    bool have_mean = false;
    s->phase = "pc";
    for (int i = 0; i < s->p.n_steps; i++) {
        double t = grid_time(s, i);
        double tn = i + 1 < s->p.n_steps ? grid_time(s, i + 1) : 0.0;
        s->step = i;
        for (int j = 0; j < nc; j++) {
            if ((r = eval(s, m, st, t, SDG_PARAM_KIND_SCORE, s->score)) != SDG_OK) return r;
            for (int c = 0; c < st->n_comp; c++) langevin(s, &st->comp[c], c, t);
            have_mean = true;
        }
        if (pid != PRED_NONE) {
            if ((r = eval(s, m, st, t, SDG_PARAM_KIND_SCORE, s->score)) != SDG_OK) return r;
            for (int c = 0; c < st->n_comp; c++) predict(s, pid, &st->comp[c], c, t, tn);
            have_mean = true;
        }
        s->steps++;
        if (i + 1 < s->p.n_steps && (r = hook(s, st, tn)) != SDG_OK) return r;
    }
    if (s->p.denoise && have_mean) take_mean(s, st);
    return hook(s, st, 0.0);
}

static sdg_status run_s4(sdg_sampler *s, const sdg_model *m, sdg_state *st) {
    sdg_status r = SDG_OK;
    double dt = 1.0 / s->p.n_steps, h = dt / 2;
    s->phase = "s4";
    for (int i = 0; i < s->p.n_steps; i++) {
        double t = grid_time(s, i);
        s->step = i;
        if ((r = eval(s, m, st, t, SDG_PARAM_KIND_SCORE, s->score)) != SDG_OK) return r;
        for (int c = 0; c < st->n_comp; c++) langevin(s, &st->comp[c], c, t);
        for (int c = 0; c < st->n_comp; c++) {   /* first half transition */
            sdg_component *k = &st->comp[c];
            double ir, sd;
            sdg_sde_transition(&k->sde, t, -h, &ir, &sd);
            float a = (float)ir, b = (float)sd, *x = k->x, *z = s->z[c];
            draw_noise(s, k, z);
            size_t cnt = s->n * k->dim;
            #pragma omp parallel for schedule(static) if((cnt) >= SDE_PAR_MIN)
            for (size_t j = 0; j < cnt; j++) x[j] = a * x[j] + b * z[j];
        }
        for (int c = 0; c < st->n_comp; c++) {   /* drift with the step's score, second half */
            sdg_component *k = &st->comp[c];
            double f, g, ir, sd;
            k->sde.type->coef(&k->sde, t, &f, &g);
            sdg_sde_transition(&k->sde, t - h, -h, &ir, &sd);
            float gg = (float)(dt * g * g), a = (float)ir, b = (float)sd;
            float *x = k->x, *z = s->z[c], *mu = s->mean[c], *sc = s->score[c];
            draw_noise(s, k, z);
            size_t cnt = s->n * k->dim;
            #pragma omp parallel for schedule(static) if((cnt) >= SDE_PAR_MIN)
            for (size_t j = 0; j < cnt; j++) {
                float y = x[j] + gg * sc[j];
                mu[j] = a * y;
                x[j] = mu[j] + b * z[j];
            }
        }
        s->steps++;
        if (i + 1 < s->p.n_steps && (r = hook(s, st, grid_time(s, i + 1))) != SDG_OK) return r;
    }
    if (s->p.denoise) take_mean(s, st);
    return hook(s, st, 0.0);
}

/* ---- probability-flow ODE (any parameterisation, converted to a velocity) ---- */
typedef struct ode_ctx {
    sdg_sampler     *s;
    const sdg_model *m;
    sdg_state       *st;
} ode_ctx;

static void unpack(const sdg_sampler *s, const double *y, float *const *bufs) {
    size_t off = 0;
    for (int c = 0; c < s->n_comp; c++) {
        size_t cnt = s->n * s->dim[c];
        float *b = bufs[c];
        const double *yc = y + off;
        #pragma omp parallel for schedule(static) if((cnt) >= SDE_PAR_MIN)
        for (size_t j = 0; j < cnt; j++) b[j] = (float)yc[j];
        off += cnt;
    }
}
static void pack(const sdg_sampler *s, float *const *bufs, double *y) {
    size_t off = 0;
    for (int c = 0; c < s->n_comp; c++) {
        size_t cnt = s->n * s->dim[c];
        const float *b = bufs[c];
        double *yc = y + off;
        #pragma omp parallel for schedule(static) if((cnt) >= SDE_PAR_MIN)
        for (size_t j = 0; j < cnt; j++) yc[j] = b[j];
        off += cnt;
    }
}

static sdg_status ode_rhs(double t, const double *y, double *dydt, void *vctx) {
    ode_ctx *o = vctx;
    sdg_sampler *s = o->s;
    unpack(s, y, s->tmp);
    sdg_state at = state_with(o->st, s->tmp);
    sdg_status r = eval(s, o->m, &at, t, SDG_PARAM_KIND_VELOCITY, s->score);
    if (r != SDG_OK) return r;
    s->step++;
    pack(s, s->score, dydt);
    return SDG_OK;
}

/* The reverse SDE with the ODE's marginals and diffusion g^2 = 2 eta sigma sigma' (see
 * sdg_sampler_params.sde_noise), on the fixed-step ODE's grid from t = 1 to eps. Writing
 * x = s x0_hat + sigma z_hat, the SDE moves x0_hat's share along s and turns z_hat into an
 * Ornstein-Uhlenbeck process in ln sigma with rate eta. Each step holds the model's x0_hat at t
 * and solves that exactly:
 *   x <- s(t') x0_hat + sigma(t') (r^eta z_hat + sqrt(1 - r^(2 eta)) z),  r = sigma(t')/sigma(t),
 * which agrees with Euler-Maruyama to first order in the step (x - h v + (h/2) g^2 score +
 * g sqrt(h) z, v the ODE velocity, score = -z_hat/sigma), stays stable for every eta (EM's
 * contraction h (1 + eta) sigma'/sigma exceeds 2 near t = 0 once eta > 1), and at eta = 0 is
 * the DDIM step, which for the linear family is the Euler step itself. No division by s. */
static sdg_status run_sde_mode(sdg_sampler *s, const sdg_model *m, sdg_state *st) {
    sdg_status r = SDG_OK;
    double h = (1.0 - s->p.eps) / s->p.n_steps;   /* the fixed-step ODE's grid */
    s->phase = "sde";
    for (int i = 0; i < s->p.n_steps; i++) {
        double t = 1.0 - i * h, tn = 1.0 - (i + 1) * h;
        s->step = i;
        if ((r = eval(s, m, st, t, SDG_PARAM_KIND_DENOISER, s->score)) != SDG_OK) return r;
        for (int c = 0; c < st->n_comp; c++) {
            sdg_component *k = &st->comp[c];
            double s0, g0, s1, g1, ds, dg;
            sde_marginal4(&k->sde, t, &s0, &g0, &ds, &dg);
            sde_marginal4(&k->sde, tn, &s1, &g1, &ds, &dg);
            double rk = t <= s->eta_tmax[c] ? pow(g1 / g0, s->eta[c]) : 1.0;   /* r^eta; eta = 0 above t_max */
            float keep = (float)(g1 * rk / g0), a = (float)(s1 - keep * s0), gn = (float)(g1 * sqrt(fmax(1 - rk * rk, 0.0)));
            float *x = k->x, *x0 = s->score[c], *z = s->z[c];
            size_t cnt = s->n * k->dim;
            /* x' = s1 x0 + g1 (rk (x - s0 x0)/g0 + sqrt(1 - rk^2) z) = keep x + (s1 - keep s0) x0 + gn z;
             * x0 and z are masked, so x stays so. Steps above sde_tmax (gn = 0) draw no noise. */
            if (gn > 0) {
                draw_noise(s, k, z);
                #pragma omp parallel for schedule(static) if((cnt) >= SDE_PAR_MIN)
                for (size_t j = 0; j < cnt; j++) x[j] = keep * x[j] + a * x0[j] + gn * z[j];
            } else {
                #pragma omp parallel for schedule(static) if((cnt) >= SDE_PAR_MIN)
                for (size_t j = 0; j < cnt; j++) x[j] = keep * x[j] + a * x0[j];
            }
        }
        s->steps++;
    }
    return SDG_OK;
}

static sdg_status run_ode(sdg_sampler *s, const sdg_model *m, sdg_state *st) {
    sdg_status r = SDG_OK;
    ode_ctx o = {s, m, st};
    float *xs[SDG_STATE_MAX_COMP];
    for (int c = 0; c < st->n_comp; c++) xs[c] = st->comp[c].x;
    if (s->sde_mode) {
        if ((r = run_sde_mode(s, m, st)) != SDG_OK) return r;
    } else {
        s->phase = "ode";
        s->step = 0;
        pack(s, xs, s->y);
        long steps = 0;
        r = sde_ode_integrate(s->p.ode, ode_rhs, &o, s->y, s->n * s->total, 1.0, s->p.eps, s->p.n_steps,
                              s->p.atol, s->p.rtol, &steps);
        s->steps += steps;
        if (r != SDG_OK) return r;
        unpack(s, s->y, xs);
    }
    if (s->p.denoise && s->p.eps > 0) {   /* Tweedie: E[x0 | x_eps] */
        if ((r = eval(s, m, st, s->p.eps, SDG_PARAM_KIND_DENOISER, s->score)) != SDG_OK) return r;
        for (int c = 0; c < st->n_comp; c++)
            memcpy(st->comp[c].x, s->score[c], s->n * st->comp[c].dim * sizeof(float));
    }
    return hook(s, st, s->p.eps);
}

/* ---- EDM (Karras et al. 2022, algorithm 2): x = x0 + sigma n, t = sigma ---- */
static double edm_sigma(const sdg_sampler *s, const sdg_sde *sde, int i) {
    int N = s->p.n_steps;
    if (i >= N) return 0.0;
    double ri = 1.0 / s->p.rho, hi = pow(sde->b, ri), lo = pow(sde->a, ri);
    double f = N > 1 ? (double)i / (N - 1) : 0.0;
    return pow(hi + f * (lo - hi), s->p.rho);
}

static sdg_status run_edm(sdg_sampler *s, const sdg_model *m, sdg_state *st) {
    sdg_status r = SDG_OK;
    int N = s->p.n_steps;
    const sdg_sde *sde = &st->comp[0].sde;
    sdg_state hat = state_with(st, s->tmp);
    s->phase = "edm";
    for (int i = 0; i < N; i++) {
        double si = edm_sigma(s, sde, i), sn = edm_sigma(s, sde, i + 1);
        s->step = i;
        double gam = 0;
        if (s->p.s_churn > 0 && si >= s->p.s_tmin && si <= s->p.s_tmax)
            gam = fmin(s->p.s_churn / N, sqrt(2.0) - 1);
        double sh = si * (1 + gam);
        float add = (float)(sqrt(fmax(sh * sh - si * si, 0.0)) * s->p.s_noise);
        for (int c = 0; c < st->n_comp; c++) {   /* x_hat = x + sqrt(sh^2 - si^2) S_noise z */
            sdg_component *k = &st->comp[c];
            size_t cnt = s->n * k->dim;
            float *xh = s->tmp[c], *x = k->x, *z = s->z[c];
            if (gam > 0) {
                draw_noise(s, k, z);
                for (size_t j = 0; j < cnt; j++) xh[j] = x[j] + add * z[j];
            } else {
                memcpy(xh, x, cnt * sizeof(float));
            }
        }
        if ((r = eval(s, m, &hat, sh, SDG_PARAM_KIND_DENOISER, s->score)) != SDG_OK) return r;
        for (int c = 0; c < st->n_comp; c++) {   /* Euler step; d = (x_hat - D) / sh */
            sdg_component *k = &st->comp[c];
            size_t cnt = s->n * k->dim;
            float *xh = s->tmp[c], *x = k->x, *D = s->score[c], *d1 = s->mean[c];
            float hstep = (float)(sn - sh), inv = (float)(1.0 / sh);
            #pragma omp parallel for schedule(static) if((cnt) >= SDE_PAR_MIN)
            for (size_t j = 0; j < cnt; j++) {
                d1[j] = (xh[j] - D[j]) * inv;
                x[j] = xh[j] + hstep * d1[j];
            }
        }
        if (sn > 0) {   /* Heun correction */
            if ((r = eval(s, m, st, sn, SDG_PARAM_KIND_DENOISER, s->score2)) != SDG_OK) return r;
            for (int c = 0; c < st->n_comp; c++) {
                sdg_component *k = &st->comp[c];
                size_t cnt = s->n * k->dim;
                float *xh = s->tmp[c], *x = k->x, *D = s->score2[c], *d1 = s->mean[c];
                float hstep = (float)(sn - sh), inv = (float)(1.0 / sn);
                #pragma omp parallel for schedule(static) if((cnt) >= SDE_PAR_MIN)
                for (size_t j = 0; j < cnt; j++) {
                    float d2 = (x[j] - D[j]) * inv;
                    x[j] = xh[j] + hstep * 0.5f * (d1[j] + d2);
                }
            }
        }
        s->steps++;
        if ((r = hook(s, st, sn)) != SDG_OK) return r;
    }
    return SDG_OK;
}

static const struct sdg_sampler_type type_pc = {"pc", run_pc}, type_s4 = {"s4", run_s4},
                                     type_ode = {"ode", run_ode}, type_edm = {"edm", run_edm};
const sdg_sampler_type *const sdg_sampler_pc = &type_pc;
const sdg_sampler_type *const sdg_sampler_s4 = &type_s4;
const sdg_sampler_type *const sdg_sampler_ode = &type_ode;
const sdg_sampler_type *const sdg_sampler_edm = &type_edm;

/* ---- lifetime ---- */

void sdg_sampler_free(sdg_sampler *s) {
    if (!s) return;
    if (s->rng)
        for (size_t i = 0; i < s->n; i++) sdg_rng_free(s->rng[i]);
    free(s->rng);
    free(s->tvec);
    for (int c = 0; c < SDG_STATE_MAX_COMP; c++) {
        free(s->score[c]);
        free(s->score2[c]);
        free(s->z[c]);
        free(s->mean[c]);
        free(s->tmp[c]);
    }
    free(s->ns);
    free(s->nz);
    free(s->y);
    free(s);
}

/* Each component's eta and t_max in the SDE mode (sdg_sampler_params.sde_noise_comp), into eta
 * and tmax; true when the mode is on (some eta > 0). */
static bool sde_eta(const sdg_sampler_params *p, int n_comp, double *eta, double *tmax) {
    bool on = false;
    for (int c = 0; c < n_comp; c++) {
        bool own = p->n_sde_noise_comp > 0;
        eta[c] = own ? p->sde_noise_comp[c] : p->sde_noise;
        tmax[c] = own && p->sde_tmax_comp[c] > 0 ? p->sde_tmax_comp[c] : p->sde_tmax;
        on = on || eta[c] > 0;
    }
    return on;
}

static sdg_status check_params(const sdg_sampler_params *p, const sdg_state *st) {
    if (!p->type) return SDG_ERROR(SDG_ERR_INVALID, "sampler: no type");
    const char *nm = p->type->name;
    if (p->n_steps <= 0) return SDG_ERROR(SDG_ERR_INVALID, "sampler %s: n_steps = %d must be > 0", nm, p->n_steps);
    if (p->type == sdg_sampler_edm) {
        if (!(p->rho > 0)) return SDG_ERROR(SDG_ERR_INVALID, "sampler edm: rho = %g must be > 0", p->rho);
        if (p->s_churn < 0 || !(p->s_noise >= 0))
            return SDG_ERROR(SDG_ERR_INVALID, "sampler edm: s_churn and s_noise must be >= 0");
        for (int c = 0; c < st->n_comp; c++)
            if (st->comp[c].sde.type != sdg_sde_edm || st->comp[c].sde.a != st->comp[0].sde.a ||
                st->comp[c].sde.b != st->comp[0].sde.b)
                return SDG_ERROR(SDG_ERR_INVALID,
                                 "sampler edm: component '%s' must use sdg_sde_edm with the same sigmas",
                                 st->comp[c].name ? st->comp[c].name : "?");
        return SDG_OK;
    }
    if (!(p->eps >= 0 && p->eps < 1))
        return SDG_ERROR(SDG_ERR_INVALID, "sampler %s: eps = %g must be in [0, 1)", nm, p->eps);
    for (int c = 0; c < st->n_comp; c++)
        if (st->comp[c].sde.type == sdg_sde_edm)
            return SDG_ERROR(SDG_ERR_INVALID, "sampler %s: the EDM family needs sdg_sampler_edm", nm);
    if (p->type == sdg_sampler_pc || p->type == sdg_sampler_s4) {
        if (p->type == sdg_sampler_pc && (!p->predictor || !p->corrector))
            return SDG_ERROR(SDG_ERR_INVALID, "sampler pc: predictor and corrector must be set (use _none)");
        if (p->corrector && p->corrector->id && p->n_corrector <= 0 && p->type == sdg_sampler_pc)
            return SDG_ERROR(SDG_ERR_INVALID, "sampler pc: n_corrector = %d must be > 0", p->n_corrector);
        if (!(p->snr >= 0) || !(p->scale_eps >= 0))
            return SDG_ERROR(SDG_ERR_INVALID, "sampler %s: snr and scale_eps must be >= 0", nm);
        if (!(p->eps > 0))
            return SDG_ERROR(SDG_ERR_INVALID, "sampler %s: eps must be > 0 for stochastic samplers", nm);
        if (p->type == sdg_sampler_pc && p->predictor == sdg_predictor_reverse)
            for (int c = 0; c < st->n_comp; c++)
                if (st->comp[c].sde.N != p->n_steps)
                    return SDG_ERROR(SDG_ERR_INVALID,
                                     "sampler pc: reverse diffusion needs the SDE's N (%d) = n_steps (%d) "
                                     "for component '%s'",
                                     st->comp[c].sde.N, p->n_steps, st->comp[c].name ? st->comp[c].name : "?");
    }
    if (!(p->sde_noise >= 0))
        return SDG_ERROR(SDG_ERR_INVALID, "sampler %s: sde_noise = %g must be >= 0", nm, p->sde_noise);
    if (p->n_sde_noise_comp != 0 && p->n_sde_noise_comp != st->n_comp)
        return SDG_ERROR(SDG_ERR_INVALID, "sampler %s: n_sde_noise_comp = %d must be 0 or the state's %d components",
                         nm, p->n_sde_noise_comp, st->n_comp);
    for (int c = 0; c < p->n_sde_noise_comp; c++)
        if (!(p->sde_noise_comp[c] >= 0) || !(p->sde_tmax_comp[c] >= 0))
            return SDG_ERROR(SDG_ERR_INVALID, "sampler %s: sde_noise_comp[%d] = %g and sde_tmax_comp[%d] = %g must be "
                             ">= 0 (component '%s')", nm, c, p->sde_noise_comp[c], c, p->sde_tmax_comp[c],
                             st->comp[c].name ? st->comp[c].name : "?");
    double eta[SDG_STATE_MAX_COMP], tmax[SDG_STATE_MAX_COMP];
    if (sde_eta(p, st->n_comp, eta, tmax)) {
        if (p->type != sdg_sampler_ode || p->ode != sdg_ode_euler)
            return SDG_ERROR(SDG_ERR_INVALID, "sampler %s: the SDE mode (sde_noise %g) needs the ode sampler's euler "
                             "method", nm, p->sde_noise);
        for (int c = 0; c < st->n_comp; c++)
            if (!(tmax[c] > 0))
                return SDG_ERROR(SDG_ERR_INVALID, "sampler %s: sde_tmax = %g must be > 0", nm, tmax[c]);
    }
    if (p->type == sdg_sampler_ode) {
        if (!p->ode) return SDG_ERROR(SDG_ERR_INVALID, "sampler ode: no method");
        if (p->ode->order == 0 && !(p->atol > 0 && p->rtol >= 0))
            return SDG_ERROR(SDG_ERR_INVALID, "sampler ode: rk45 needs atol > 0 and rtol >= 0");
    }
    return SDG_OK;
}

sdg_status sdg_sampler_new(const sdg_sampler_params *p, const sdg_state *x, sdg_sampler **out) {
    sdg_status st = SDG_OK;
    sdg_sampler *s = NULL;
    *out = NULL;
    if (!p) SDG_FAIL(SDG_ERR_INVALID, "sampler: no params");
    SDG_TRY(sdg_state_check(x));
    SDG_TRY(check_params(p, x));
    s = calloc(1, sizeof *s);
    if (!s) SDG_FAIL(SDG_ERR_NOMEM, "sampler: out of memory");
    s->p = *p;
    s->n = x->n;
    s->n_comp = x->n_comp;
    s->sde_mode = sde_eta(p, x->n_comp, s->eta, s->eta_tmax);
    for (int c = 0; c < x->n_comp; c++) {
        size_t cnt = x->n * x->comp[c].dim;
        s->dim[c] = x->comp[c].dim;
        s->total += s->dim[c];
        s->score[c] = malloc(cnt * sizeof(float));
        s->score2[c] = malloc(cnt * sizeof(float));
        s->z[c] = malloc(cnt * sizeof(float));
        s->mean[c] = malloc(cnt * sizeof(float));
        s->tmp[c] = malloc(cnt * sizeof(float));
        if (!s->score[c] || !s->score2[c] || !s->z[c] || !s->mean[c] || !s->tmp[c])
            SDG_FAIL(SDG_ERR_NOMEM, "sampler: out of memory for %zu samples", x->n);
    }
    s->rng = calloc(s->n, sizeof *s->rng);
    s->tvec = malloc(s->n * sizeof(float));
    s->ns = malloc(s->n * sizeof(double));
    s->nz = malloc(s->n * sizeof(double));
    if (p->type == sdg_sampler_ode) s->y = malloc(s->n * s->total * sizeof(double));
    if (!s->rng || !s->tvec || !s->ns || !s->nz || (p->type == sdg_sampler_ode && !s->y))
        SDG_FAIL(SDG_ERR_NOMEM, "sampler: out of memory for %zu samples", x->n);
    for (size_t i = 0; i < s->n; i++) SDG_TRY(sdg_rng_stream(p->seed, p->stream_offset + i, &s->rng[i]));
    *out = s;
    s = NULL;
cleanup:
    sdg_sampler_free(s);
    return st;
}

sdg_status sdg_sampler_run(sdg_sampler *s, const sdg_model *m, sdg_state *st, sdg_sampler_stats *stats) {
    sdg_status r = SDG_OK;
    if (!s || !m || !m->fn) return SDG_ERROR(SDG_ERR_INVALID, "sampler: no sampler or model");
    if ((r = sdg_state_check(st)) != SDG_OK) return r;
    if (st->n != s->n || st->n_comp != s->n_comp)
        return SDG_ERROR(SDG_ERR_SHAPE, "sampler: state has %zu samples x %d components, sampler was made "
                         "for %zu x %d", st->n, st->n_comp, s->n, s->n_comp);
    for (int c = 0; c < st->n_comp; c++)
        if (st->comp[c].dim != s->dim[c])
            return SDG_ERROR(SDG_ERR_SHAPE, "sampler: component %d has dim %zu, sampler was made for %zu", c,
                             st->comp[c].dim, s->dim[c]);
    for (size_t i = 0; i < s->n; i++) sdg_rng_reset(s->rng[i], s->p.seed, s->p.stream_offset + i);
    s->nfe = s->steps = 0;
    if (s->p.init_prior) draw_prior(s, st);
    else
        for (int c = 0; c < st->n_comp; c++) sdg_component_mask(&st->comp[c], st->n, st->comp[c].x);
    r = s->p.type->run(s, m, st);
    if (stats) {
        stats->nfe = s->nfe;
        stats->steps = s->steps;
    }
    return r;
}
