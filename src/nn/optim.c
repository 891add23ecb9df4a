/* Adam / AdamW, global gradient-norm clipping and an EMA of the parameters.
 * Moments and EMA shadows are persistent (heap) tensors, one per parameter in the params'
 * order. Every update is element-wise, so the OpenMP loops give the same bits for any thread
 * count; the gradient norm is summed in double in one fixed order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "nn/internal.h"

/* ---- moment tensors (heap, no gradient) ---- */
static void moment_free(sdg_tensor *t) {
    if (!t) return;
    free(t->data);
    free((char *)t->name);
    free(t);
}

static sdg_tensor *moment_new(const sdg_tensor *like) {
    sdg_tensor *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->ndim = like->ndim;
    memcpy(t->shape, like->shape, sizeof t->shape);
    t->size = like->size;
    t->data = calloc((size_t)like->size, sizeof(float));
    t->name = strdup(like->name);
    if (!t->data || !t->name) {
        moment_free(t);
        return NULL;
    }
    return t;
}

/* ---- Adam ---- */
struct sdg_adam {
    sdg_adam_params hp;
    sdg_params     *p;
    size_t          n;        /* parameters when built */
    sdg_tensor    **m, **v;   /* n each                 */
    int64_t         steps;
    float           lr;       /* current (decayed) rate */
};

sdg_adam_params sdg_adam_default_params(void) {
    return (sdg_adam_params){.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                             .weight_decay = 0.0f, .decoupled = false, .lr_decay = 1.0f};
}

static sdg_status adam_check(const sdg_adam_params *hp) {
    if (!(hp->lr >= 0.0f) || !isfinite(hp->lr))
        return SDG_ERROR(SDG_ERR_INVALID, "adam: learning rate %g is not a finite number >= 0",
                         (double)hp->lr);
    if (!(hp->beta1 >= 0.0f && hp->beta1 < 1.0f) || !(hp->beta2 >= 0.0f && hp->beta2 < 1.0f))
        return SDG_ERROR(SDG_ERR_INVALID, "adam: betas (%g, %g) must lie in [0, 1)",
                         (double)hp->beta1, (double)hp->beta2);
    if (!(hp->eps >= 0.0f) || !isfinite(hp->eps))
        return SDG_ERROR(SDG_ERR_INVALID, "adam: eps %g is not a finite number >= 0", (double)hp->eps);
    if (!(hp->weight_decay >= 0.0f) || !isfinite(hp->weight_decay))
        return SDG_ERROR(SDG_ERR_INVALID, "adam: weight decay %g is not a finite number >= 0",
                         (double)hp->weight_decay);
    if (!(hp->lr_decay > 0.0f) || !isfinite(hp->lr_decay))
        return SDG_ERROR(SDG_ERR_INVALID, "adam: lr_decay %g is not a finite number > 0",
                         (double)hp->lr_decay);
    return SDG_OK;
}

sdg_status sdg_adam_new(const sdg_adam_params *hp, sdg_params *p, sdg_adam **out) {
    sdg_status st = SDG_OK;
    sdg_adam *opt = NULL;
    *out = NULL;
    if (!hp || !p) SDG_FAIL(SDG_ERR_INVALID, "adam: hyper-parameters and parameters are required");
    SDG_TRY(adam_check(hp));
    opt = calloc(1, sizeof *opt);
    if (!opt) SDG_FAIL(SDG_ERR_NOMEM, "adam: out of memory");
    opt->hp = *hp;
    opt->p = p;
    opt->lr = hp->lr;
    opt->n = sdg_params_count(p);
    opt->m = calloc(opt->n ? opt->n : 1, sizeof *opt->m);
    opt->v = calloc(opt->n ? opt->n : 1, sizeof *opt->v);
    if (!opt->m || !opt->v) SDG_FAIL(SDG_ERR_NOMEM, "adam: out of memory");
    for (size_t i = 0; i < opt->n; i++) {
        const sdg_tensor *w = sdg_params_at(p, i);
        opt->m[i] = moment_new(w);
        opt->v[i] = moment_new(w);
        if (!opt->m[i] || !opt->v[i])
            SDG_FAIL(SDG_ERR_NOMEM, "adam: out of memory for the moments of '%s'", w->name);
    }
    *out = opt;
    opt = NULL;
cleanup:
    sdg_adam_free(opt);
    return st;
}

void sdg_adam_free(sdg_adam *opt) {
    if (!opt) return;
    for (size_t i = 0; i < opt->n; i++) {
        if (opt->m) moment_free(opt->m[i]);
        if (opt->v) moment_free(opt->v[i]);
    }
    free(opt->m);
    free(opt->v);
    free(opt);
}

/* One parameter tensor. w, g: (size); m, v: (size).
 * ref: torch.optim.Adam / torch.optim.AdamW (single-tensor path, amsgrad=False) */
static void adam_update(float *restrict w, const float *restrict g, float *restrict m,
                        float *restrict v, int64_t size, float b1, float b2, float eps, float l2,
                        float shrink, float step_size, float bc2_sqrt) {
    const float c1 = 1.0f - b1, c2 = 1.0f - b2;
#pragma omp parallel for schedule(static) if (size >= SDG_PAR_MIN)
    for (int64_t k = 0; k < size; k++) {
        float gk = g[k] + l2 * w[k];                 /* Adam: L2 added to the gradient   */
        float wk = w[k] * shrink;                    /* AdamW: p <- p (1 - lr wd)         */
        float mk = m[k] + c1 * (gk - m[k]);          /* m.lerp_(g, 1 - beta1)            */
        float vk = v[k] * b2 + c2 * gk * gk;         /* v.mul_(beta2).addcmul_(g, g, 1-b2) */
        m[k] = mk;
        v[k] = vk;
        w[k] = wk - step_size * (mk / (sqrtf(vk) / bc2_sqrt + eps));
    }
}

sdg_status sdg_adam_step(sdg_adam *opt) {
    if (!opt) return SDG_ERROR(SDG_ERR_INVALID, "adam: no optimiser");
    size_t n = sdg_params_count(opt->p);
    if (n != opt->n)
        return SDG_ERROR(SDG_ERR_INVALID,
                         "adam: the model has %zu parameters but the optimiser was built for %zu",
                         n, opt->n);
    for (size_t i = 0; i < n; i++) {
        const sdg_tensor *w = sdg_params_at(opt->p, i);
        if (w->size != opt->m[i]->size || !w->grad)
            return SDG_ERROR(SDG_ERR_SHAPE, "adam: parameter '%s' changed since the optimiser was built",
                             w->name);
    }
    const sdg_adam_params *hp = &opt->hp;
    opt->steps++;
    double t = (double)opt->steps;
    double bc1 = 1.0 - pow((double)hp->beta1, t);
    double bc2 = 1.0 - pow((double)hp->beta2, t);
    float step_size = (float)((double)opt->lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    float l2 = (!hp->decoupled) ? hp->weight_decay : 0.0f;
    float shrink = hp->decoupled ? (float)(1.0 - (double)opt->lr * (double)hp->weight_decay) : 1.0f;
    for (size_t i = 0; i < n; i++) {
        sdg_tensor *w = sdg_params_at(opt->p, i);
        adam_update(w->data, w->grad, opt->m[i]->data, opt->v[i]->data, w->size, hp->beta1,
                    hp->beta2, hp->eps, l2, shrink, step_size, bc2_sqrt);
    }
    return SDG_OK;
}

void    sdg_adam_decay_lr(sdg_adam *opt) { opt->lr *= opt->hp.lr_decay; }
float   sdg_adam_lr(const sdg_adam *opt) { return opt->lr; }
int64_t sdg_adam_steps(const sdg_adam *opt) { return opt->steps; }

sdg_tensor *sdg_adam_moment(sdg_adam *opt, size_t i, int which) {
    if (!opt || i >= opt->n || (which != 0 && which != 1)) return NULL;
    return which == 0 ? opt->m[i] : opt->v[i];
}

void sdg_adam_set_state(sdg_adam *opt, int64_t steps, float lr) {
    opt->steps = steps;
    opt->lr = lr;
}

/* ---- global gradient-norm clipping ---- */
/* ref: torch.nn.utils.clip_grad_norm_ (norm_type 2): coef = max_norm / (norm + 1e-6), applied
 * when below 1 (that is, when norm > max_norm up to the 1e-6). A non-finite norm leaves the
 * gradients untouched and returns SDG_ERR_NUMERIC, so that the caller can skip the step. */
sdg_status sdg_params_clip_grad_norm(sdg_params *p, float max_norm, float *norm) {
    if (norm) *norm = 0.0f;
    if (!(max_norm > 0.0f))
        return SDG_ERROR(SDG_ERR_INVALID, "clip_grad_norm: max_norm %g must be > 0", (double)max_norm);
    double ss = 0.0;
    size_t n = sdg_params_count(p);
    for (size_t i = 0; i < n; i++) {
        const sdg_tensor *t = sdg_params_at(p, i);
        for (int64_t k = 0; k < t->size; k++) ss += (double)t->grad[k] * (double)t->grad[k];
    }
    double total = sqrt(ss);
    if (norm) *norm = (float)total;
    if (!isfinite(total))
        return SDG_ERROR(SDG_ERR_NUMERIC, "clip_grad_norm: the gradient norm is %g", total);
    float coef = (float)((double)max_norm / (total + 1e-6));
    if (coef >= 1.0f) return SDG_OK;
    for (size_t i = 0; i < n; i++) {
        sdg_tensor *t = sdg_params_at(p, i);
        float *g = t->grad;
        int64_t size = t->size;
#pragma omp parallel for schedule(static) if (size >= SDG_PAR_MIN)
        for (int64_t k = 0; k < size; k++) g[k] *= coef;
    }
    return SDG_OK;
}

/* ---- EMA ---- */
struct sdg_ema {
    sdg_params *model;
    sdg_params *shadow;
    float       decay;
};

sdg_status sdg_ema_new(sdg_params *p, float decay, sdg_ema **out) {
    sdg_status st = SDG_OK;
    sdg_ema *e = NULL;
    *out = NULL;
    if (!p) SDG_FAIL(SDG_ERR_INVALID, "ema: no parameters");
    if (!(decay >= 0.0f && decay <= 1.0f))
        SDG_FAIL(SDG_ERR_INVALID, "ema: decay %g must lie in [0, 1]", (double)decay);
    e = calloc(1, sizeof *e);
    if (!e) SDG_FAIL(SDG_ERR_NOMEM, "ema: out of memory");
    e->model = p;
    e->decay = decay;
    SDG_TRY(sdg_params_new(&e->shadow));
    for (size_t i = 0; i < sdg_params_count(p); i++) {
        const sdg_tensor *t = sdg_params_at(p, i);
        SDG_TRY(sdg_params_add(e->shadow, t->name, t->ndim, t->shape, NULL));
    }
    SDG_TRY(sdg_params_copy(e->shadow, p));
    *out = e;
    e = NULL;
cleanup:
    sdg_ema_free(e);
    return st;
}

void sdg_ema_free(sdg_ema *e) {
    if (!e) return;
    sdg_params_free(e->shadow);
    free(e);
}

/* shadow <- d shadow + (1 - d) param, written as shadow += (1 - d)(param - shadow), which is
 * the same number in exact arithmetic and leaves shadow == param exactly fixed.
 * ref: score_sde models/ema.py ExponentialMovingAverage.update (without num_updates) */
void sdg_ema_update(sdg_ema *e) {
    const float c = 1.0f - e->decay;
    size_t n = sdg_params_count(e->shadow), nm = sdg_params_count(e->model);
    if (nm < n) n = nm;
    for (size_t i = 0; i < n; i++) {
        sdg_tensor *s = sdg_params_at(e->shadow, i);
        const sdg_tensor *w = sdg_params_at(e->model, i);
        if (s->size != w->size) continue;   /* not the parameter this shadow was built for */
        float *sd = s->data;
        const float *wd = w->data;
        int64_t size = s->size;
#pragma omp parallel for schedule(static) if (size >= SDG_PAR_MIN)
        for (int64_t k = 0; k < size; k++) sd[k] += c * (wd[k] - sd[k]);
    }
}

sdg_params *sdg_ema_shadow(sdg_ema *e) { return e->shadow; }
float       sdg_ema_decay(const sdg_ema *e) { return e->decay; }
