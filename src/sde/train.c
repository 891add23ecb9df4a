/* Training pieces: time/sigma sampling, perturbation, regression targets and weights, and the
 * weighted squared loss with its gradient w.r.t. the model output.
 * ref: Song et al. 2021 eq. 7 (DSM), GDSS spec §9, Karras et al. 2022 §5 (EDM loss),
 * Lipman et al. 2023 (conditional flow matching). */
#include <math.h>
#include <string.h>
#include "sde/internal.h"

sdg_loss_params sdg_loss_default_params(void) {
    sdg_loss_params p;
    memset(&p, 0, sizeof p);
    p.kind = SDG_LOSS_KIND_DSM;
    p.reduce = SDG_LOSS_REDUCE_SUM;
    p.eps = 1e-5f;
    p.p_mean = -1.2f;
    p.p_std = 1.2f;
    p.sigma_data = 0.5f;
    return p;
}

static sdg_status check(const sdg_loss_params *p, const sdg_component *c, size_t n, const sdg_train_batch *b) {
    if (!p || !c || !b) return SDG_ERROR(SDG_ERR_INVALID, "loss: missing argument");
    if (n == 0 || c->dim == 0) return SDG_ERROR(SDG_ERR_SHAPE, "loss: empty batch");
    if (!c->sde.type) return SDG_ERROR(SDG_ERR_INVALID, "loss: component '%s' has no SDE", c->name ? c->name : "?");
    if (p->kind == SDG_LOSS_KIND_EDM) {
        if (c->sde.type != sdg_sde_edm)
            return SDG_ERROR(SDG_ERR_INVALID, "loss edm: component '%s' must use sdg_sde_edm", c->name ? c->name : "?");
        if (!(p->p_std > 0) || !(p->sigma_data > 0))
            return SDG_ERROR(SDG_ERR_INVALID, "loss edm: p_std and sigma_data must be > 0");
    } else if (p->kind == SDG_LOSS_KIND_DSM || p->kind == SDG_LOSS_KIND_FM) {
        if (!(p->eps >= 0 && p->eps < 1))
            return SDG_ERROR(SDG_ERR_INVALID, "loss: eps = %g must be in [0, 1)", p->eps);
        if (c->sde.type == sdg_sde_edm)
            return SDG_ERROR(SDG_ERR_INVALID, "loss: the EDM family needs SDG_LOSS_KIND_EDM");
        if (p->kind == SDG_LOSS_KIND_FM && c->param != SDG_PARAM_KIND_VELOCITY)
            return SDG_ERROR(SDG_ERR_INVALID, "loss fm: component '%s' must have a velocity output",
                             c->name ? c->name : "?");
    } else {
        return SDG_ERROR(SDG_ERR_INVALID, "loss: unknown kind %d", (int)p->kind);
    }
    return SDG_OK;
}

sdg_status sdg_train_sample_time(const sdg_loss_params *p, const sdg_component *c, size_t n, sdg_rng *rng,
                                 sdg_train_batch *b) {
    sdg_status st = check(p, c, n, b);
    if (st != SDG_OK) return st;
    if (!b->t) return SDG_ERROR(SDG_ERR_INVALID, "loss: batch has no t array");
    for (size_t i = 0; i < n; i++) {
        if (p->kind == SDG_LOSS_KIND_EDM)
            b->t[i] = (float)exp(p->p_mean + p->p_std * sdg_rng_gaussian(rng));
        else
            b->t[i] = (float)(sdg_rng_uniform(rng) * (1.0 - p->eps) + p->eps);
    }
    return SDG_OK;
}

sdg_status sdg_train_prepare(const sdg_loss_params *p, const sdg_component *c, size_t n, sdg_rng *rng,
                             sdg_train_batch *b) {
    sdg_status st = check(p, c, n, b);
    if (st != SDG_OK) return st;
    if (!b->t || !b->t_in || !b->z || !b->x_in || !b->x_t || !b->target || !b->weight || !c->x)
        return SDG_ERROR(SDG_ERR_INVALID, "loss: batch arrays and x0 must all be set");
    size_t d = c->dim;
    for (size_t i = 0; i < n; i++) sdg_component_noise(c, i, rng, b->z + i * d);
    for (size_t i = 0; i < n; i++) {
        double t = b->t[i], s, sg, ds, dsg, w, a_t = 0, b_t = 0, ct = 0, c0 = 0, cz = 0, cin = 1;
        if (!(t > 0) || !isfinite(t))
            return SDG_ERROR(SDG_ERR_INVALID, "loss: t[%zu] = %g must be finite and > 0", i, t);
        sde_marginal4(&c->sde, t, &s, &sg, &ds, &dsg);
        b->t_in[i] = (float)t;
        if (p->kind == SDG_LOSS_KIND_DSM) {
            double al, be;   /* target = (x0 - be x_t) / al, so that al*out + be*x_t = x0 */
            sde_param_affine(c->param, s, sg, ds, dsg, &al, &be);
            ct = -be / al, c0 = 1 / al;
            w = (al * s / sg) * (al * s / sg);
        } else if (p->kind == SDG_LOSS_KIND_FM) {
            c0 = ds, cz = dsg;   /* target = d/dt (s x0 + sigma z) */
            w = 2;
        } else {
            double cskip, cout, cnoise;
            sdg_edm_precond(t, p->sigma_data, &cskip, &cout, &cin, &cnoise);
            b->t_in[i] = (float)cnoise;
            ct = -cskip / cout, c0 = 1 / cout;   /* F target = (x0 - c_skip x_t) / c_out */
            w = 2;   /* 2 lambda(sigma) c_out^2 = 2 */
        }
        a_t = s, b_t = sg;
        b->weight[i] = (float)w;
        const float *x0 = c->x + i * d, *z = b->z + i * d;
        float *xt = b->x_t + i * d, *xin = b->x_in + i * d, *tg = b->target + i * d;
        for (size_t j = 0; j < d; j++) {
            double v = a_t * x0[j] + b_t * z[j];
            xt[j] = (float)v;
            xin[j] = (float)(cin * v);
            tg[j] = (float)(ct * v + c0 * x0[j] + cz * z[j]);
        }
    }
    sdg_component_mask(c, n, b->x_t);
    sdg_component_mask(c, n, b->x_in);
    sdg_component_mask(c, n, b->target);
    return SDG_OK;
}

sdg_status sdg_train_loss(const sdg_loss_params *p, const sdg_component *c, size_t n, const sdg_train_batch *b,
                          const float *out, double *loss, double *per_sample, float *grad) {
    sdg_status st = check(p, c, n, b);
    if (st != SDG_OK) return st;
    if (!out || !b->target || !b->weight) return SDG_ERROR(SDG_ERR_INVALID, "loss: out, target and weight needed");
    size_t d = c->dim, R = c->rows;
    double red = p->reduce == SDG_LOSS_REDUCE_MEAN ? 1.0 / (double)d : 1.0, total = 0;
    for (size_t i = 0; i < n; i++) {
        const float *o = out + i * d, *tg = b->target + i * d;
        const float *m = c->mask ? c->mask + i * R : NULL;
        double acc = 0, w = b->weight[i];
        for (size_t j = 0; j < d; j++) {
            double keep = 1;
            if (c->noise == SDG_NOISE_KIND_SYMMETRIC) {
                size_t ra = j / R, cb = j % R;
                keep = ra == cb ? 0 : (m ? (double)m[ra] * m[cb] : 1);
            } else if (m) {
                keep = m[j / (d / R)];
            }
            double e = keep * ((double)o[j] - tg[j]);
            acc += e * e;
            if (grad) grad[i * d + j] = (float)(w * red * e / (double)n);
        }
        double li = 0.5 * w * red * acc;
        if (per_sample) per_sample[i] = li;
        total += li;
    }
    if (loss) *loss = total / (double)n;
    if (!isfinite(total)) return SDG_ERROR(SDG_ERR_NUMERIC, "loss: value is not finite");
    return SDG_OK;
}
