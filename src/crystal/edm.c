/* EDM training of the crystal U-Net and the preconditioned denoiser used by every sampler
 * (docs/crystals.md "Model"). The loss is the engine's (sde.h, SDG_LOSS_KIND_EDM): ln sigma ~
 * N(P_mean, P_std^2), x_t = x_0 + sigma z, network input c_in x_t and c_noise = ln(sigma)/4,
 * target (x_0 - c_skip x_t)/c_out with weight 2, so that the loss equals
 * lambda(sigma) ||D(x_t) - x_0||^2 averaged over entries. ref: Karras et al. 2022, table 1 and
 * eq. 8. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "sdegen/crystal.h"

struct sdg_crystal_trainer {
    sdg_crystal_train_params p;
    sdg_crystal_unet *net;
    sdg_params       *params;
    sdg_adam         *adam;
    sdg_ema          *ema;
    sdg_ctx          *ctx;
    sdg_rng          *rng;
    const float      *X, *cond;
    size_t            n, dim;
    int64_t           epochs, W, R;
    int64_t          *order;
    float            *x0, *c, *keep, *t, *t_in, *z, *x_in, *x_t, *target, *weight, *out, *grad;
};

sdg_crystal_train_params sdg_crystal_train_default_params(void) {
    return (sdg_crystal_train_params){.batch = 64, .lr = 5e-4f, .grad_clip = 1.0f, .ema_decay = 0.999f,
                                      .p_uncond = 0.1f, .p_mean = -1.2f, .p_std = 1.2f, .sigma_data = 1.0f,
                                      .seed = 1};
}

void sdg_crystal_trainer_free(sdg_crystal_trainer *t) {
    if (!t) return;
    sdg_adam_free(t->adam);
    sdg_ema_free(t->ema);
    sdg_ctx_free(t->ctx);
    sdg_rng_free(t->rng);
    free(t->order);
    float *bufs[] = {t->x0, t->c, t->keep, t->t, t->t_in, t->z, t->x_in, t->x_t, t->target, t->weight, t->out, t->grad};
    for (size_t k = 0; k < sizeof bufs / sizeof *bufs; k++) free(bufs[k]);
    free(t);
}

int64_t sdg_crystal_trainer_epochs(const sdg_crystal_trainer *t) { return t ? t->epochs : 0; }
void    sdg_crystal_trainer_set_epochs(sdg_crystal_trainer *t, int64_t e) { if (t) t->epochs = e; }
sdg_adam *sdg_crystal_trainer_adam(sdg_crystal_trainer *t) { return t ? t->adam : NULL; }
sdg_ema  *sdg_crystal_trainer_ema(sdg_crystal_trainer *t) { return t ? t->ema : NULL; }
const sdg_crystal_train_params *sdg_crystal_trainer_params(const sdg_crystal_trainer *t) { return t ? &t->p : NULL; }

static sdg_loss_params loss_params(const sdg_crystal_train_params *p) {
    sdg_loss_params lp = sdg_loss_default_params();
    lp.kind = SDG_LOSS_KIND_EDM;
    lp.reduce = SDG_LOSS_REDUCE_MEAN;
    lp.p_mean = p->p_mean;
    lp.p_std = p->p_std;
    lp.sigma_data = p->sigma_data;
    return lp;
}

sdg_status sdg_crystal_trainer_new(sdg_crystal_unet *net, const float *X, const float *cond, size_t n,
                                   const sdg_crystal_train_params *params, sdg_crystal_trainer **out) {
    sdg_status st = SDG_OK;
    sdg_crystal_trainer *t = NULL;
    if (!net || !X || !out || n == 0) return SDG_ERROR(SDG_ERR_INVALID, "crystal trainer: NULL argument or no data");
    *out = NULL;
    sdg_crystal_train_params p = params ? *params : sdg_crystal_train_default_params();
    const sdg_crystal_unet_params *np = sdg_crystal_unet_get_params(net);
    if (p.batch < 1 || !(p.lr > 0) || !(p.grad_clip >= 0) || !(p.ema_decay >= 0 && p.ema_decay < 1) ||
        !(p.p_uncond >= 0 && p.p_uncond <= 1) || !(p.p_std > 0) || !(p.sigma_data > 0))
        return SDG_ERROR(SDG_ERR_INVALID, "crystal trainer: bad options (batch >= 1, lr > 0, grad_clip >= 0, "
                         "ema_decay in [0, 1), p_uncond in [0, 1], p_std > 0, sigma_data > 0)");
    if (np->n_cond && !cond)
        return SDG_ERROR(SDG_ERR_INVALID, "crystal trainer: the network is conditioned but no property values were given");
    t = calloc(1, sizeof *t);
    if (!t) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    t->p = p;
    t->net = net;
    t->params = sdg_crystal_unet_params_store(net);
    t->X = X;
    t->cond = np->n_cond ? cond : NULL;
    t->n = n;
    t->W = np->width;
    t->R = np->rows;
    t->dim = (size_t)(t->W * t->R);
    sdg_adam_params ap = sdg_adam_default_params();
    ap.lr = p.lr;
    SDG_TRY(sdg_adam_new(&ap, t->params, &t->adam));
    SDG_TRY(sdg_ema_new(t->params, p.ema_decay, &t->ema));
    SDG_TRY(sdg_ctx_new(0, &t->ctx));
    SDG_TRY(sdg_rng_new(p.seed, &t->rng));
    size_t B = (size_t)p.batch, D = t->dim;
    t->order = malloc(n * sizeof *t->order);
    float **vec[] = {&t->c, &t->keep, &t->t, &t->t_in, &t->weight};
    for (size_t k = 0; k < sizeof vec / sizeof *vec; k++)
        if (!(*vec[k] = malloc(B * sizeof(float)))) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    float **mat[] = {&t->x0, &t->z, &t->x_in, &t->x_t, &t->target, &t->out, &t->grad};
    for (size_t k = 0; k < sizeof mat / sizeof *mat; k++)
        if (!(*mat[k] = malloc(B * D * sizeof(float)))) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    if (!t->order) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    *out = t;
    t = NULL;
cleanup:
    sdg_crystal_trainer_free(t);
    return st;
}

/* (B, R, W) row-major matrices <-> (B, W, R) network layout. */
static void to_net(const float *m, int64_t B, int64_t R, int64_t W, float *x) {
    for (int64_t b = 0; b < B; b++)
        for (int64_t r = 0; r < R; r++)
            for (int64_t w = 0; w < W; w++) x[(b * W + w) * R + r] = m[(b * R + r) * W + w];
}
static void from_net(const float *x, int64_t B, int64_t R, int64_t W, float *m) {
    for (int64_t b = 0; b < B; b++)
        for (int64_t r = 0; r < R; r++)
            for (int64_t w = 0; w < W; w++) m[(b * R + r) * W + w] = x[(b * W + w) * R + r];
}

/* One optimiser step on the rows order[0..B). */
static sdg_status train_step(sdg_crystal_trainer *t, const int64_t *rows, size_t B, double *loss) {
    sdg_status st = SDG_OK;
    sdg_loss_params lp = loss_params(&t->p);
    size_t D = t->dim;
    sdg_sde sde;
    SDG_TRY(sdg_sde_init(&sde, sdg_sde_edm, 0.002, 80.0, 1));
    for (size_t i = 0; i < B; i++) {
        memcpy(t->x0 + i * D, t->X + (size_t)rows[i] * D, D * sizeof(float));
        if (t->cond) {   /* classifier-free dropout; a missing value always takes the null embedding */
            float v = t->cond[rows[i]];
            bool drop = sdg_rng_uniform(t->rng) < t->p.p_uncond || isnan(v);
            t->keep[i] = drop ? 0.0f : 1.0f;
            t->c[i] = drop ? 0.0f : v;
        }
    }
    sdg_component comp = {.name = "crystal", .dim = D, .rows = 0, .noise = SDG_NOISE_KIND_DENSE,
                          .param = SDG_PARAM_KIND_DENOISER, .sde = sde, .x = t->x0, .mask = NULL};
    sdg_train_batch tb = {.t = t->t, .t_in = t->t_in, .z = t->z, .x_in = t->x_in, .x_t = t->x_t,
                          .target = t->target, .weight = t->weight};
    SDG_TRY(sdg_train_sample_time(&lp, &comp, B, t->rng, &tb));
    SDG_TRY(sdg_train_prepare(&lp, &comp, B, t->rng, &tb));
    sdg_ctx_reset(t->ctx);
    sdg_tensor *x = sdg_tensor_new(t->ctx, 3, (int64_t[]){(int64_t)B, t->W, t->R});
    if (!x) SDG_FAIL(SDG_ERR_NOMEM, "%s", sdg_errmsg());
    to_net(t->x_in, (int64_t)B, t->R, t->W, x->data);
    sdg_tensor *y = sdg_crystal_unet_forward(t->ctx, t->net, x, t->t_in, t->cond ? t->c : NULL, t->cond ? t->keep : NULL);
    if (!y || sdg_ctx_status(t->ctx) != SDG_OK) {
        st = sdg_ctx_status(t->ctx) != SDG_OK ? sdg_ctx_status(t->ctx) : SDG_ERR_INVALID;
        goto cleanup;
    }
    from_net(y->data, (int64_t)B, t->R, t->W, t->out);
    SDG_TRY(sdg_train_loss(&lp, &comp, B, &tb, t->out, loss, NULL, t->grad));
    if (!y->grad && !sdg_tensor_requires_grad(t->ctx, y)) SDG_FAIL(SDG_ERR_NOMEM, "%s", sdg_errmsg());
    to_net(t->grad, (int64_t)B, t->R, t->W, y->grad);
    sdg_params_zero_grad(t->params);
    SDG_TRY(sdg_backward(t->ctx, y));
    if (t->p.grad_clip > 0) SDG_TRY(sdg_params_clip_grad_norm(t->params, t->p.grad_clip, NULL));
    SDG_TRY(sdg_adam_step(t->adam));
    sdg_ema_update(t->ema);
cleanup:
    return st;
}

sdg_status sdg_crystal_trainer_epoch(sdg_crystal_trainer *t, double *loss) {
    sdg_status st = SDG_OK;
    if (!t) return SDG_ERROR(SDG_ERR_INVALID, "crystal trainer: NULL trainer");
    sdg_rng_reset(t->rng, t->p.seed, (uint64_t)(1 + t->epochs));
    for (size_t i = 0; i < t->n; i++) t->order[i] = (int64_t)i;
    sdg_rng_shuffle(t->rng, t->order, t->n);
    double sum = 0;
    size_t steps = 0, B = (size_t)t->p.batch;
    for (size_t s = 0; s < t->n; s += B) {
        size_t b = t->n - s < B ? t->n - s : B;
        double l = 0;
        SDG_TRY(train_step(t, t->order + s, b, &l));
        sum += l;
        steps++;
    }
    t->epochs++;
    if (loss) *loss = steps ? sum / (double)steps : 0;
cleanup:
    return st;
}

/* ---- the denoiser for sampling ---- */
static sdg_status denoise_pass(sdg_crystal_denoiser *d, const float *x, size_t n, const float *sig, const float *cond,
                               const float *keep, float *out) {
    sdg_status st = SDG_OK;
    const sdg_crystal_unet_params *np = sdg_crystal_unet_get_params(d->net);
    int64_t W = np->width, R = np->rows, D = W * R;
    sdg_ctx_pos pos = sdg_ctx_mark(d->ctx);
    bool old = sdg_ctx_set_grad(d->ctx, false);
    float *cn = sdg_arena_alloc(sdg_ctx_arena(d->ctx), n * sizeof *cn);   /* released with pos */
    sdg_tensor *xt = sdg_tensor_new(d->ctx, 3, (int64_t[]){(int64_t)n, W, R});
    if (!cn || !xt) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    to_net(x, (int64_t)n, R, W, xt->data);
    for (size_t i = 0; i < n; i++) {
        double cs, co, ci, cnoise;
        sdg_edm_precond(sig[i], d->sigma_data, &cs, &co, &ci, &cnoise);
        cn[i] = (float)cnoise;
        for (int64_t j = 0; j < D; j++) xt->data[(int64_t)i * D + j] *= (float)ci;
    }
    double f0 = sdg_ctx_flops_total(d->ctx);
    sdg_tensor *y = sdg_crystal_unet_forward(d->ctx, d->net, xt, cn, cond, keep);
    if (!y || sdg_ctx_status(d->ctx) != SDG_OK) {
        st = sdg_ctx_status(d->ctx) != SDG_OK ? sdg_ctx_status(d->ctx) : SDG_ERR_INVALID;
        goto cleanup;
    }
    d->flops += sdg_ctx_flops_total(d->ctx) - f0;
    from_net(y->data, (int64_t)n, R, W, out);
    for (size_t i = 0; i < n; i++) {
        double cs, co, ci, cnoise;
        sdg_edm_precond(sig[i], d->sigma_data, &cs, &co, &ci, &cnoise);
        for (int64_t j = 0; j < D; j++) {
            size_t k = i * (size_t)D + (size_t)j;
            out[k] = (float)(cs * x[k] + co * out[k]);
        }
    }
cleanup:
    sdg_ctx_set_grad(d->ctx, old);
    sdg_ctx_release(d->ctx, pos);
    if (st != SDG_OK) sdg_ctx_reset(d->ctx);
    return st;
}

sdg_status sdg_crystal_denoiser_fn(const sdg_model_call *call, void *params) {
    sdg_status st = SDG_OK;
    sdg_crystal_denoiser *d = params;
    float *sig = NULL, *keep = NULL, *un = NULL;
    if (!call || !d || !d->net || !d->ctx || call->state->n_comp != 1)
        return SDG_ERROR(SDG_ERR_INVALID, "crystal denoiser: bad call (one component expected)");
    const sdg_component *c = &call->state->comp[0];
    const sdg_crystal_unet_params *np = sdg_crystal_unet_get_params(d->net);
    size_t n = call->state->n, D = (size_t)(np->width * np->rows);
    if (c->dim != D) return SDG_ERROR(SDG_ERR_SHAPE, "crystal denoiser: component of %zu floats, the net takes %zu", c->dim, D);
    if (!(call->which & 1u)) return SDG_OK;
    sig = malloc(n * sizeof *sig);
    if (!sig) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        double s = call->t[i];
        if (c->sde.type != sdg_sde_edm) sdg_sde_marginal(&c->sde, call->t[i], NULL, &s);
        sig[i] = (float)s;
    }
    bool guided = np->n_cond && d->cond;
    SDG_TRY(denoise_pass(d, c->x, n, sig, guided ? d->cond : NULL, NULL, call->out[0]));
    if (guided && d->guidance != 0) {   /* (1 + w) D(x | c) - w D(x | null) */
        keep = calloc(n, sizeof *keep);
        un = malloc(n * D * sizeof *un);
        if (!keep || !un) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
        SDG_TRY(denoise_pass(d, c->x, n, sig, d->cond, keep, un));
        float w = d->guidance;
        for (size_t k = 0; k < n * D; k++) call->out[0][k] = (1 + w) * call->out[0][k] - w * un[k];
    }
cleanup:
    free(sig);
    free(keep);
    free(un);
    return st;
}
