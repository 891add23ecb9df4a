/* SDE families (VE, VP, sub-VP, linear interpolant, EDM) as constant tables.
 * ref: Song et al. 2021 (sde_lib.py definitions, re-derived); GDSS spec ../shared/gdss §8. */
#include <math.h>
#include <string.h>
#include "sde/internal.h"

float sde_linspace_f32(float a, float b, int n, int i) {
    if (n <= 1) return a;
    float step = (b - a) / (float)(n - 1);
    if (i < n / 2) return a + step * (float)i;
    return b - step * (float)(n - 1 - i);
}

int sde_discrete_index(const sdg_sde *sde, double t) {
    int k = (int)((float)t * (float)(sde->N - 1));
    if (k < 0) k = 0;
    if (k > sde->N - 1) k = sde->N - 1;
    return k;
}

/* generic Euler discretisation: f_k = f dt, G_k = g sqrt(dt), dt = 1/N */
static void discrete_generic(const sdg_sde *p, double t, double *fk, double *Gk) {
    double f, g, dt = 1.0 / p->N;
    p->type->coef(p, t, &f, &g);
    *fk = f * dt;
    *Gk = g * sqrt(dt);
}
static double alpha_one(const sdg_sde *p, double t) { (void)p; (void)t; return 1.0; }
static double prior_one(const sdg_sde *p) { (void)p; return 1.0; }
static double prior_b(const sdg_sde *p) { return p->b; }

/* ---- VE: sigma(t) = a (b/a)^t ---- */
static void ve_coef(const sdg_sde *p, double t, double *f, double *g) {
    double lr = log(p->b / p->a);
    *f = 0;
    *g = p->a * exp(t * lr) * sqrt(2 * lr);
}
static void ve_marginal(const sdg_sde *p, double t, double *s, double *sg, double *ds, double *dsg) {
    double lr = log(p->b / p->a), v = p->a * exp(t * lr);
    *s = 1, *ds = 0, *sg = v, *dsg = v * lr;
}
static void ve_discrete(const sdg_sde *p, double t, double *fk, double *Gk) {
    int k = sde_discrete_index(p, t);
    float la = logf((float)p->a), lb = logf((float)p->b);
    double sk = expf(sde_linspace_f32(la, lb, p->N, k));
    double sp = k > 0 ? expf(sde_linspace_f32(la, lb, p->N, k - 1)) : 0.0;
    *fk = 0;
    *Gk = sqrt(sk * sk - sp * sp);
}
static const sdg_sde_type ve_type = {"VE", ve_coef, ve_marginal, ve_discrete, alpha_one, prior_b};

/* ---- VP: beta(t) = a + t (b - a), log s = c(t) = -t^2 (b-a)/4 - t a/2 ---- */
static void vp_coef(const sdg_sde *p, double t, double *f, double *g) {
    double beta = p->a + t * (p->b - p->a);
    *f = -0.5 * beta;
    *g = sqrt(beta);
}
static void vp_marginal(const sdg_sde *p, double t, double *s, double *sg, double *ds, double *dsg) {
    double beta = p->a + t * (p->b - p->a);
    if (p->flags & SDG_SDE_FLAG_FLOAT32) {
        float tf = (float)t, c = -0.25f * tf * tf * (float)(p->b - p->a) - 0.5f * tf * (float)p->a;
        float ef = expf(c);
        *s = ef;
        *sg = sqrtf(1.0f - expf(2.0f * c));
    } else {
        double c = -0.25 * t * t * (p->b - p->a) - 0.5 * t * p->a;
        *s = exp(c);
        *sg = sqrt(-expm1(2 * c));
    }
    *ds = -0.5 * beta * *s;
    *dsg = *sg > 0 ? 0.5 * beta * (*s) * (*s) / *sg : INFINITY;
}
static double vp_beta_k(const sdg_sde *p, int k) {
    return sde_linspace_f32((float)(p->a / p->N), (float)(p->b / p->N), p->N, k);
}
static void vp_discrete(const sdg_sde *p, double t, double *fk, double *Gk) {
    double bk = vp_beta_k(p, sde_discrete_index(p, t));
    *fk = sqrt(1 - bk) - 1;
    *Gk = sqrt(bk);
}
static double vp_alpha(const sdg_sde *p, double t) { return 1 - vp_beta_k(p, sde_discrete_index(p, t)); }
static const sdg_sde_type vp_type = {"VP", vp_coef, vp_marginal, vp_discrete, vp_alpha, prior_one};

/* ---- sub-VP: same drift, g^2 = beta (1 - e^{4c}); s = e^c, sigma = 1 - e^{2c} ---- */
static void subvp_coef(const sdg_sde *p, double t, double *f, double *g) {
    double beta = p->a + t * (p->b - p->a);
    double c = -0.25 * t * t * (p->b - p->a) - 0.5 * t * p->a;
    *f = -0.5 * beta;
    *g = sqrt(beta * -expm1(4 * c));
}
static void subvp_marginal(const sdg_sde *p, double t, double *s, double *sg, double *ds, double *dsg) {
    double beta = p->a + t * (p->b - p->a);
    double c = -0.25 * t * t * (p->b - p->a) - 0.5 * t * p->a;
    *s = exp(c);
    *sg = -expm1(2 * c);
    *ds = -0.5 * beta * *s;
    *dsg = beta * exp(2 * c);
}
static const sdg_sde_type subvp_type = {"subVP", subvp_coef, subvp_marginal, discrete_generic,
                                        vp_alpha, prior_one};

/* ---- linear interpolant (rectified flow / CFM): x_t = (1 - t) x0 + t z ---- */
static void lin_coef(const sdg_sde *p, double t, double *f, double *g) {
    (void)p;
    *f = -1.0 / (1.0 - t);
    *g = sqrt(2.0 * t / (1.0 - t));
}
static void lin_marginal(const sdg_sde *p, double t, double *s, double *sg, double *ds, double *dsg) {
    (void)p;
    *s = 1 - t, *sg = t, *ds = -1, *dsg = 1;
}
static const sdg_sde_type lin_type = {"linear", lin_coef, lin_marginal, discrete_generic, alpha_one,
                                      prior_one};

/* ---- EDM (Karras et al. 2022): t = sigma, x = x0 + sigma z, dx = sqrt(2 t) dW ---- */
static void edm_coef(const sdg_sde *p, double t, double *f, double *g) {
    (void)p;
    *f = 0;
    *g = sqrt(2.0 * t);
}
static void edm_marginal(const sdg_sde *p, double t, double *s, double *sg, double *ds, double *dsg) {
    (void)p;
    *s = 1, *sg = t, *ds = 0, *dsg = 1;
}
static const sdg_sde_type edm_type = {"EDM", edm_coef, edm_marginal, discrete_generic, alpha_one,
                                      prior_b};

const sdg_sde_type *const sdg_sde_ve = &ve_type;
const sdg_sde_type *const sdg_sde_vp = &vp_type;
const sdg_sde_type *const sdg_sde_subvp = &subvp_type;
const sdg_sde_type *const sdg_sde_linear = &lin_type;
const sdg_sde_type *const sdg_sde_edm = &edm_type;

sdg_status sdg_sde_init(sdg_sde *out, const sdg_sde_type *type, double a, double b, int N) {
    memset(out, 0, sizeof *out);
    if (!type) return SDG_ERROR(SDG_ERR_INVALID, "sde: no family given");
    if (N <= 0) return SDG_ERROR(SDG_ERR_INVALID, "sde %s: N = %d must be > 0", type->name, N);
    if (!(isfinite(a) && isfinite(b)))
        return SDG_ERROR(SDG_ERR_INVALID, "sde %s: parameters must be finite", type->name);
    if ((type == sdg_sde_ve || type == sdg_sde_edm) && !(a > 0 && b > a))
        return SDG_ERROR(SDG_ERR_INVALID, "sde %s: need 0 < sigma_min (%g) < sigma_max (%g)",
                         type->name, a, b);
    if ((type == sdg_sde_vp || type == sdg_sde_subvp) && !(a > 0 && b >= a))
        return SDG_ERROR(SDG_ERR_INVALID, "sde %s: need 0 < beta_min (%g) <= beta_max (%g)",
                         type->name, a, b);
    out->type = type;
    out->a = a;
    out->b = b;
    out->N = N;
    return SDG_OK;
}

sdg_status sdg_sde_gdss(sdg_sde *out, const char *kind, double beta_min, double beta_max) {
    sdg_status st;
    if (kind && strcmp(kind, "VP") == 0) st = sdg_sde_init(out, sdg_sde_vp, beta_min, beta_max, 1000);
    else if (kind && strcmp(kind, "VE") == 0)
        st = sdg_sde_init(out, sdg_sde_ve, beta_min, beta_max, 1000);
    else return SDG_ERROR(SDG_ERR_INVALID, "sde: GDSS kind '%s' is not VP or VE", kind ? kind : "(null)");
    if (st != SDG_OK) return st;
    out->prior_std = 1.0;
    out->flags = SDG_SDE_FLAG_FLOAT32;
    return SDG_OK;
}

const char *sdg_sde_name(const sdg_sde *sde) { return sde && sde->type ? sde->type->name : "(none)"; }

void sde_marginal4(const sdg_sde *sde, double t, double *s, double *sigma, double *ds, double *dsigma) {
    sde->type->marginal(sde, t, s, sigma, ds, dsigma);
}

void sdg_sde_marginal(const sdg_sde *sde, double t, double *s, double *sigma) {
    double a, b, c, d;
    sde->type->marginal(sde, t, &a, &b, &c, &d);
    if (s) *s = a;
    if (sigma) *sigma = b;
}

double sdg_sde_prior_std(const sdg_sde *sde) {
    return sde->prior_std > 0 ? sde->prior_std : sde->type->default_prior_std(sde);
}

void sdg_sde_transition(const sdg_sde *sde, double t, double dt, double *inv_r, double *std) {
    double s0, g0, s1, g1;
    sdg_sde_marginal(sde, t, &s0, &g0);
    sdg_sde_marginal(sde, t + dt, &s1, &g1);
    double r = s0 / s1, v;
    if (sde->type == sdg_sde_vp) {
        /* 1 - r^2 with r = exp(c(t) - c(t + dt)), without cancellation */
        double c0 = -0.25 * t * t * (sde->b - sde->a) - 0.5 * t * sde->a;
        double t1 = t + dt, c1 = -0.25 * t1 * t1 * (sde->b - sde->a) - 0.5 * t1 * sde->a;
        v = -expm1(2 * (c0 - c1));
    } else {
        v = g0 * g0 - r * r * g1 * g1;
    }
    *inv_r = 1.0 / r;
    *std = sqrt(fabs(v));
}
