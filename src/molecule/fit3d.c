/* The training loop shared by the 3-D molecule trainers (internal.h "sdg_mol3d_fit"): flow
 * matching (flow3d.c) and the property regressor (prop3d.c). Adam on every parameter, an EMA
 * shadow, global gradient clipping; epoch e draws its order and every random number of its
 * steps from sdg_rng_stream(seed, 1 + e), so the epoch count is the whole generator state and
 * a resumed run continues bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "molecule/internal.h"

void sdg_mol3d_fit_destroy(sdg_mol3d_fit *f) {
    if (!f) return;
    sdg_adam_free(f->adam);
    sdg_ema_free(f->ema);
    sdg_ctx_free(f->ctx);
    sdg_rng_free(f->rng);
    free(f->order);
    free(f->bm);
    free(f->bp);
    memset(f, 0, sizeof *f);
}

sdg_status sdg_mol3d_fit_init(sdg_mol3d_fit *f, const sdg_mol3d_fit_params *p, sdg_params *params,
                              sdg_mol *const *mols, const float *prop, size_t n) {
    sdg_status st = SDG_OK;
    memset(f, 0, sizeof *f);
    if (p->n_parts < 0 || p->n_parts > 8 || !p->loss)
        return SDG_ERROR(SDG_ERR_INVALID, "%s: bad loss description", p->name);
    f->p = *p;
    f->params = params;
    f->mols = mols;
    f->prop = prop;
    f->n = n;
    f->on_step = p->on_step;
    f->on_step_params = p->on_step_params;
    sdg_adam_params ap = sdg_adam_default_params();
    ap.lr = p->lr;
    SDG_TRY(sdg_adam_new(&ap, params, &f->adam));
    SDG_TRY(sdg_ema_new(params, p->ema_decay, &f->ema));
    SDG_TRY(sdg_ctx_new(0, &f->ctx));
    SDG_TRY(sdg_rng_new(p->seed, &f->rng));
    f->order = malloc(n * sizeof *f->order);
    f->bm = malloc((size_t)p->batch * sizeof *f->bm);
    f->bp = malloc((size_t)p->batch * sizeof *f->bp);
    if (!f->order || !f->bm || !f->bp) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
cleanup:
    if (st != SDG_OK) sdg_mol3d_fit_destroy(f);
    return st;
}

/* One optimiser step on the molecules rows[0..B). */
static sdg_status fit_step(sdg_mol3d_fit *f, const int64_t *rows, size_t B, double *loss, float *parts) {
    sdg_status st = SDG_OK;
    sdg_mol3d_batch b;
    memset(&b, 0, sizeof b);
    for (size_t i = 0; i < B; i++) {
        f->bm[i] = f->mols[rows[i]];
        if (f->prop) f->bp[i] = f->prop[rows[i]];
    }
    SDG_TRY(sdg_mol3d_batch_init(&b, f->bm, B, f->prop ? f->bp : NULL));
    sdg_ctx_reset(f->ctx);
    sdg_tensor *L = NULL;
    SDG_TRY(f->p.loss(f->ctx, &b, f->rng, f->p.self, &L, parts));
    sdg_params_zero_grad(f->params);
    SDG_TRY(sdg_backward(f->ctx, L));
    if (f->p.grad_clip > 0) SDG_TRY(sdg_params_clip_grad_norm(f->params, f->p.grad_clip, NULL));
    SDG_TRY(sdg_adam_step(f->adam));
    sdg_ema_update(f->ema);
    *loss = L->data[0];
    if (!isfinite(*loss)) SDG_FAIL(SDG_ERR_NUMERIC, "%s: epoch %lld: the loss is not finite", f->p.name, (long long)f->epochs + 1);
cleanup:
    sdg_mol3d_batch_destroy(&b);
    return st;
}

sdg_status sdg_mol3d_fit_epoch(sdg_mol3d_fit *f, double *loss, float *parts) {
    sdg_status st = SDG_OK;
    sdg_rng_reset(f->rng, f->p.seed, (uint64_t)(1 + f->epochs));
    for (size_t i = 0; i < f->n; i++) f->order[i] = (int64_t)i;
    sdg_rng_shuffle(f->rng, f->order, f->n);
    double sum = 0, psum[8] = {0};
    int np = f->p.n_parts;
    size_t steps = 0, B = (size_t)f->p.batch, total = (f->n + B - 1) / B;
    for (size_t s = 0; s < f->n; s += B) {
        size_t b = f->n - s < B ? f->n - s : B;
        double l = 0;
        float pp[8] = {0};
        SDG_TRY(fit_step(f, f->order + s, b, &l, pp));
        sum += l;
        for (int k = 0; k < np; k++) psum[k] += pp[k];
        steps++;
        if (f->on_step) SDG_TRY(f->on_step((int64_t)steps, (int64_t)total, l, f->on_step_params));
    }
    f->epochs++;
    if (loss) *loss = steps ? sum / (double)steps : 0;
    if (parts)
        for (int k = 0; k < np; k++) parts[k] = steps ? (float)(psum[k] / (double)steps) : 0;
cleanup:
    return st;
}
