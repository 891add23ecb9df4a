/* State layout checks, structured noise and masks, parameterisation conversions, EDM
 * preconditioning, classifier-free guidance and the inpainting hook. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sde/internal.h"

sdg_status sdg_state_check(const sdg_state *st) {
    if (!st) return SDG_ERROR(SDG_ERR_INVALID, "sde: state is NULL");
    if (st->n == 0) return SDG_ERROR(SDG_ERR_SHAPE, "sde: state has no samples");
    if (st->n_comp <= 0 || st->n_comp > SDG_STATE_MAX_COMP)
        return SDG_ERROR(SDG_ERR_SHAPE, "sde: state has %d components (1..%d allowed)", st->n_comp,
                         SDG_STATE_MAX_COMP);
    for (int c = 0; c < st->n_comp; c++) {
        const sdg_component *k = &st->comp[c];
        const char *nm = k->name ? k->name : "?";
        if (!k->x) return SDG_ERROR(SDG_ERR_INVALID, "sde: component '%s' has no data", nm);
        if (k->dim == 0) return SDG_ERROR(SDG_ERR_SHAPE, "sde: component '%s' has dim 0", nm);
        if (!k->sde.type || k->sde.N <= 0)
            return SDG_ERROR(SDG_ERR_INVALID, "sde: component '%s' has no SDE (use sdg_sde_init)", nm);
        if (k->noise == SDG_NOISE_KIND_SYMMETRIC) {
            if (k->live_draws)
                return SDG_ERROR(SDG_ERR_INVALID, "sde: symmetric component '%s' cannot use live_draws", nm);
            if (k->rows == 0 || k->rows * k->rows != k->dim)
                return SDG_ERROR(SDG_ERR_SHAPE,
                                 "sde: symmetric component '%s' needs dim = rows^2 (dim %zu, rows %zu)",
                                 nm, k->dim, k->rows);
        } else if (k->noise == SDG_NOISE_KIND_DENSE || k->noise == SDG_NOISE_KIND_CENTRED) {
            if (k->noise == SDG_NOISE_KIND_CENTRED && !k->rows)
                return SDG_ERROR(SDG_ERR_SHAPE, "sde: centred component '%s' needs rows >= 1", nm);
            if (k->rows && k->dim % k->rows)
                return SDG_ERROR(SDG_ERR_SHAPE, "sde: component '%s': dim %zu is not a multiple of rows %zu",
                                 nm, k->dim, k->rows);
            if (k->mask && !k->rows)
                return SDG_ERROR(SDG_ERR_SHAPE, "sde: component '%s' has a mask but rows = 0", nm);
        } else {
            return SDG_ERROR(SDG_ERR_INVALID, "sde: component '%s' has an unknown noise kind", nm);
        }
        if ((unsigned)k->param > SDG_PARAM_KIND_VELOCITY)
            return SDG_ERROR(SDG_ERR_INVALID, "sde: component '%s' has an unknown param kind", nm);
    }
    return SDG_OK;
}

void sdg_component_noise(const sdg_component *c, size_t i, sdg_rng *rng, float *z) {
    if (c->noise == SDG_NOISE_KIND_SYMMETRIC) {
        size_t R = c->rows;
        for (size_t a = 0; a < R; a++) {
            z[a * R + a] = 0.0f;
            for (size_t b = a + 1; b < R; b++) z[a * R + b] = z[b * R + a] = (float)sdg_rng_gaussian(rng);
        }
        if (c->mask) {
            const float *m = c->mask + i * R;
            for (size_t a = 0; a < R; a++)
                for (size_t b = 0; b < R; b++) z[a * R + b] *= m[a] * m[b];
        }
    } else {
        if (c->mask && c->live_draws) {
            const float *m = c->mask + i * c->rows;
            size_t per = c->dim / c->rows;
            for (size_t a = 0; a < c->rows; a++)
                if (m[a] != 0.0f) {
                    sdg_rng_fill_gaussian(rng, z + a * per, per);
                    for (size_t k = 0; k < per; k++) z[a * per + k] *= m[a];
                } else
                    memset(z + a * per, 0, per * sizeof *z);
        } else {
            sdg_rng_fill_gaussian(rng, z, c->dim);
            if (c->mask) {
                const float *m = c->mask + i * c->rows;
                size_t per = c->dim / c->rows;
                for (size_t j = 0; j < c->dim; j++) z[j] *= m[j / per];
            }
        }
        if (c->noise == SDG_NOISE_KIND_CENTRED) {   /* remove each column's mean over the live rows */
            size_t R = c->rows, per = c->dim / R;
            const float *m = c->mask ? c->mask + i * R : NULL;
            double live = 0;
            for (size_t a = 0; a < R; a++) live += !m || m[a] != 0.0f;
            for (size_t k = 0; k < per && live > 0; k++) {
                double mean = 0;
                for (size_t a = 0; a < R; a++) mean += z[a * per + k];   /* masked rows are 0 */
                mean /= live;
                for (size_t a = 0; a < R; a++)
                    if (!m || m[a] != 0.0f) z[a * per + k] -= (float)mean;
            }
        }
    }
}

void sdg_component_mask(const sdg_component *c, size_t n, float *x) {
    if (c->noise == SDG_NOISE_KIND_SYMMETRIC) {
        size_t R = c->rows;
        #pragma omp parallel for schedule(static) if((n) * c->dim >= SDE_PAR_MIN)
        for (size_t i = 0; i < n; i++) {
            float *xi = x + i * c->dim;
            const float *m = c->mask ? c->mask + i * R : NULL;
            for (size_t a = 0; a < R; a++) {
                xi[a * R + a] = 0.0f;
                if (m)
                    for (size_t b = 0; b < R; b++) xi[a * R + b] *= m[a] * m[b];
            }
        }
    } else if (c->mask) {
        size_t per = c->dim / c->rows;
        #pragma omp parallel for schedule(static) if((n) * c->dim >= SDE_PAR_MIN)
        for (size_t i = 0; i < n; i++) {
            float *xi = x + i * c->dim;
            const float *m = c->mask + i * c->rows;
            for (size_t j = 0; j < c->dim; j++) xi[j] *= m[j / per];
        }
    }
}

double sde_component_free_dims(const sdg_component *c, size_t i) {
    if (c->noise == SDG_NOISE_KIND_SYMMETRIC) {
        double k = (double)c->rows;
        if (c->mask) {
            k = 0;
            for (size_t a = 0; a < c->rows; a++) k += c->mask[i * c->rows + a] != 0.0f;
        }
        return k * (k - 1) / 2;
    }
    if (!c->mask) return (double)c->dim;
    double k = 0;
    for (size_t a = 0; a < c->rows; a++) k += c->mask[i * c->rows + a] != 0.0f;
    return k * (double)(c->dim / c->rows);
}

/* x0_hat = alpha * out + beta * x for each parameterisation (s, sigma and derivatives). */
void sde_param_affine(sdg_param_kind k, double s, double sg, double ds, double dsg, double *alpha,
                      double *beta) {
    *alpha = 1, *beta = 0;
    switch (k) {
    case SDG_PARAM_KIND_SCORE: *alpha = sg * sg / s, *beta = 1 / s; break;
    case SDG_PARAM_KIND_EPS: *alpha = -sg / s, *beta = 1 / s; break;
    case SDG_PARAM_KIND_DENOISER: break;
    case SDG_PARAM_KIND_VELOCITY: {
        double den = ds * sg - dsg * s;
        *alpha = sg / den, *beta = -dsg / den;
        break;
    }
    }
}

static void conv_coef(sdg_param_kind from, sdg_param_kind to, const sdg_sde *sde, double t, float *a,
                      float *b) {
    double s, sg, ds, dsg, aF, bF, aT, bT;
    sde_marginal4(sde, t, &s, &sg, &ds, &dsg);
    sde_param_affine(from, s, sg, ds, dsg, &aF, &bF);
    sde_param_affine(to, s, sg, ds, dsg, &aT, &bT);
    *a = (float)(aF / aT);
    *b = (float)((bF - bT) / aT);
}

void sdg_param_convert(sdg_param_kind from, sdg_param_kind to, const sdg_sde *sde, const float *t,
                       size_t n, size_t dim, const float *x, const float *out, float *y) {
    if (from == to) {
        if (y != out) memcpy(y, out, n * dim * sizeof(float));
        return;
    }
    bool same = true;   /* samplers pass one time for all samples: one set of coefficients */
    for (size_t i = 1; i < n && same; i++) same = t[i] == t[0];
    float a0 = 0, b0 = 0;
    if (same) conv_coef(from, to, sde, t[0], &a0, &b0);
    #pragma omp parallel for schedule(static) if((n) * dim >= SDE_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float a = a0, b = b0;
        if (!same) conv_coef(from, to, sde, t[i], &a, &b);
        const float *xi = x + i * dim, *oi = out + i * dim;
        float *yi = y + i * dim;
        for (size_t j = 0; j < dim; j++) yi[j] = a * oi[j] + b * xi[j];
    }
}

void sdg_edm_precond(double sigma, double sigma_data, double *c_skip, double *c_out, double *c_in,
                     double *c_noise) {
    double v = sigma * sigma + sigma_data * sigma_data;
    if (c_skip) *c_skip = sigma_data * sigma_data / v;
    if (c_out) *c_out = sigma * sigma_data / sqrt(v);
    if (c_in) *c_in = 1 / sqrt(v);
    if (c_noise) *c_noise = 0.25 * log(sigma);
}

static sdg_status model_call(const sdg_model *m, const sdg_model_call *call) {
    sdg_status st = m->fn(call, m->params);
    if (st == SDG_OK && m->guide) st = m->guide(call, m->guide_params);
    return st;
}

sdg_status sdg_cfg_model_fn(const sdg_model_call *call, void *params) {
    sdg_status st = SDG_OK;
    const sdg_cfg *g = params;
    const sdg_state *x = call->state;
    sdg_model_call u = *call;
    float *buf = NULL;
    size_t total = 0;
    for (int c = 0; c < x->n_comp; c++)
        if (call->which & (1u << c)) total += x->n * x->comp[c].dim;
    buf = malloc(total * sizeof(float) + 1);
    if (!buf) SDG_FAIL(SDG_ERR_NOMEM, "cfg: out of memory");
    for (int c = 0, off = 0; c < x->n_comp; c++)
        if (call->which & (1u << c)) {
            u.out[c] = buf + off;
            off += (int)(x->n * x->comp[c].dim);
        }
    SDG_TRY(model_call(&g->cond, call));
    SDG_TRY(model_call(&g->uncond, &u));
    for (int c = 0; c < x->n_comp; c++) {
        if (!(call->which & (1u << c))) continue;
        size_t m = x->n * x->comp[c].dim;
        for (size_t j = 0; j < m; j++)
            call->out[c][j] = (1 + g->w) * call->out[c][j] - g->w * u.out[c][j];
    }
cleanup:
    free(buf);
    return st;
}

sdg_status sdg_inpaint_hook(sdg_state *st_, double t, sdg_rng *const *rngs, void *params) {
    sdg_status st = SDG_OK;
    const sdg_inpaint *p = params;
    float *z = NULL;
    for (int c = 0; c < st_->n_comp; c++) {
        const sdg_component *k = &st_->comp[c];
        if (!p->known[c] || !p->known_mask[c]) continue;
        double s, sg;
        sdg_sde_marginal(&k->sde, t, &s, &sg);
        free(z);
        z = malloc(k->dim * sizeof(float));
        if (!z) SDG_FAIL(SDG_ERR_NOMEM, "inpaint: out of memory");
        for (size_t i = 0; i < st_->n; i++) {
            sdg_component_noise(k, i, rngs[i], z);
            float *xi = k->x + i * k->dim;
            const float *kn = p->known[c] + i * k->dim, *km = p->known_mask[c] + i * k->dim;
            for (size_t j = 0; j < k->dim; j++)
                if (km[j] != 0.0f) xi[j] = (float)(s * kn[j] + sg * z[j]);
        }
    }
cleanup:
    free(z);
    return st;
}
