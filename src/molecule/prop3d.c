/* Property regressor on the EGNN (docs/molecules3d.md "Property regressor"): the generator's
 * network, unconditioned, on positions and elements (charges neutral, no bonds, t = 0), with an
 * invariant readout: per-atom MLP on the final atom features, sum over the molecule's atoms
 * (the EGNN property head of Satorras et al. pools by sum, which suits extensive properties
 * such as alpha and Cv; the atom count is also an input feature), molecule MLP to one scalar,
 * the standardised property. Trained with an L1 loss (the reported metric is the MAE, and
 * EDM's property classifiers train on L1 as well) through the shared 3-D training loop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "molecule/internal.h"

struct sdg_prop3d {
    sdg_egnn  *net;
    sdg_linear a1, a2, m1, m2;   /* readout: atom MLP (H, H), (H, H); molecule MLP (H, H), (H, 1) */
};

void sdg_prop3d_free(sdg_prop3d *r) {
    if (!r) return;
    sdg_egnn_free(r->net);
    free(r);
}
sdg_params *sdg_prop3d_params_store(const sdg_prop3d *r) { return r ? sdg_egnn_params_store(r->net) : NULL; }
const sdg_egnn_params *sdg_prop3d_get_params(const sdg_prop3d *r) { return r ? sdg_egnn_get_params(r->net) : NULL; }

sdg_status sdg_prop3d_new(const sdg_egnn_params *net, sdg_prop3d **out) {
    sdg_status st = SDG_OK;
    sdg_prop3d *r = NULL;
    sdg_rng *rng = NULL;
    if (!out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_prop3d_new: NULL out");
    *out = NULL;
    sdg_egnn_params np = net ? *net : sdg_egnn_default_params();
    if (np.conditional) return SDG_ERROR(SDG_ERR_INVALID, "sdg_prop3d_new: the regressor's network is unconditioned");
    if (np.n_charges < 2 || np.n_bonds < 1)
        return SDG_ERROR(SDG_ERR_INVALID, "sdg_prop3d_new: needs n_charges >= 2 (neutral is class 1) and n_bonds >= 1");
    r = calloc(1, sizeof *r);
    if (!r) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    SDG_TRY(sdg_egnn_new(&np, &r->net));
    SDG_TRY(sdg_rng_stream(np.seed, 1, &rng));
    sdg_params *ps = sdg_egnn_params_store(r->net);
    int64_t H = np.hidden;
    SDG_TRY(sdg_linear_init(&r->a1, ps, "readout.atom1", H, H, true, rng));
    SDG_TRY(sdg_linear_init(&r->a2, ps, "readout.atom2", H, H, true, rng));
    SDG_TRY(sdg_linear_init(&r->m1, ps, "readout.mol1", H, H, true, rng));
    SDG_TRY(sdg_linear_init(&r->m2, ps, "readout.mol2", H, 1, true, rng));
    *out = r;
    r = NULL;
cleanup:
    sdg_rng_free(rng);
    sdg_prop3d_free(r);
    return st;
}

/* One-hot rows (rows, K) of class cls[r], or of class c for every row when cls is NULL. */
static sdg_tensor *onehot(sdg_ctx *ctx, const int64_t *cls, int64_t c, int64_t rows, int64_t K) {
    int64_t shape[2] = {rows, K};
    sdg_tensor *t = sdg_tensor_zeros(ctx, 2, shape);
    if (t)
        for (int64_t r = 0; r < rows; r++) t->data[r * K + (cls ? cls[r] : c)] = 1.0f;
    return t;
}

sdg_status sdg_prop3d_forward(sdg_ctx *ctx, const sdg_prop3d *r, const sdg_mol3d_batch *b, sdg_tensor **y) {
    if (!ctx || !r || !b || !y) return SDG_ERROR(SDG_ERR_INVALID, "sdg_prop3d_forward: NULL argument");
    const sdg_egnn_params *p = sdg_egnn_get_params(r->net);
    const sdg_mol3d_graph *g = &b->g;
    for (int64_t a = 0; a < g->A; a++)
        if (b->type[a] < 0 || b->type[a] >= p->n_types)
            return SDG_ERROR(SDG_ERR_INVALID, "sdg_prop3d_forward: atom %lld has type %lld (the network has %d)",
                             (long long)a, (long long)b->type[a], p->n_types);
    float *t = sdg_arena_alloc(sdg_ctx_arena(ctx), (size_t)(g->B + 1) * sizeof *t);
    sdg_tensor *x = sdg_tensor_from(ctx, 2, (int64_t[]){g->A, 3}, b->x0);
    sdg_tensor *ty = onehot(ctx, b->type, 0, g->A, p->n_types), *ch = onehot(ctx, NULL, 1, g->A, p->n_charges);
    sdg_tensor *bo = onehot(ctx, NULL, 0, g->P, p->n_bonds);
    if (!t || !x || !ty || !ch || !bo) return sdg_ctx_status(ctx) ? sdg_ctx_status(ctx) : SDG_ERR_NOMEM;
    memset(t, 0, (size_t)(g->B + 1) * sizeof *t);
    sdg_egnn_input in = {.g = g, .x = x, .types = ty, .charges = ch, .bonds = bo, .t = t};
    sdg_egnn_output o;
    sdg_status st = sdg_egnn_forward(ctx, r->net, &in, &o);
    if (st != SDG_OK) return st;
    /* z: (A, H); s: (B, H) sum over each molecule's atoms; y: (B, 1) */
    sdg_tensor *z = sdg_linear_forward(ctx, &r->a2, sdg_silu(ctx, sdg_linear_forward(ctx, &r->a1, o.h)));
    sdg_tensor *s = sdg_scatter_add(ctx, z, g->mol_of, g->B);
    *y = sdg_linear_forward(ctx, &r->m2, sdg_silu(ctx, sdg_linear_forward(ctx, &r->m1, s)));
    return sdg_ctx_status(ctx);
}

sdg_status sdg_prop3d_loss(sdg_ctx *ctx, const sdg_prop3d *r, const sdg_mol3d_batch *b, sdg_tensor **loss) {
    if (!ctx || !r || !b || !loss) return SDG_ERROR(SDG_ERR_INVALID, "sdg_prop3d_loss: NULL argument");
    if (!b->prop) return SDG_ERROR(SDG_ERR_INVALID, "sdg_prop3d_loss: the batch has no property values");
    sdg_tensor *y = NULL;
    sdg_status st = sdg_prop3d_forward(ctx, r, b, &y);
    if (st != SDG_OK) return st;
    sdg_tensor *target = sdg_tensor_from(ctx, 2, (int64_t[]){b->g.B, 1}, b->prop);
    *loss = sdg_mean(ctx, sdg_abs(ctx, sdg_sub(ctx, y, target)), SDG_AXIS_ALL, false);
    return sdg_ctx_status(ctx);
}

sdg_status sdg_prop3d_predict(const sdg_prop3d *r, sdg_mol *const *mols, size_t n, size_t chunk, float *y) {
    sdg_status st = SDG_OK;
    sdg_ctx *ctx = NULL;
    sdg_mol3d_batch b;
    memset(&b, 0, sizeof b);
    if (!r || (n && (!mols || !y)) || chunk < 1) return SDG_ERROR(SDG_ERR_INVALID, "sdg_prop3d_predict: bad argument");
    SDG_TRY(sdg_ctx_new(0, &ctx));
    sdg_ctx_set_grad(ctx, false);
    for (size_t i0 = 0; i0 < n; i0 += chunk) {
        size_t B = n - i0 < chunk ? n - i0 : chunk;
        if ((st = sdg_mol3d_batch_init(&b, mols + i0, B, NULL)) != SDG_OK) {
            sdg_error_prefix("molecules %zu..%zu", i0, i0 + B - 1);
            goto cleanup;
        }
        sdg_ctx_reset(ctx);
        sdg_tensor *out = NULL;
        SDG_TRY(sdg_prop3d_forward(ctx, r, &b, &out));
        memcpy(y + i0, out->data, B * sizeof *y);
        sdg_mol3d_batch_destroy(&b);
    }
cleanup:
    sdg_mol3d_batch_destroy(&b);
    sdg_ctx_free(ctx);
    return st;
}

sdg_status sdg_prop3d_split(const sdg_mol3d_dataset *d, uint64_t seed, uint8_t *split) {
    sdg_status st = SDG_OK;
    sdg_rng *rng = NULL;
    if (!d || (d->count && !split)) return SDG_ERROR(SDG_ERR_INVALID, "sdg_prop3d_split: NULL argument");
    SDG_TRY(sdg_rng_new(seed, &rng));
    for (size_t i = 0; i < d->count; i++) {
        sdg_rng_reset(rng, seed, (uint64_t)d->gdb[i]);
        double u = sdg_rng_uniform(rng);
        split[i] = d->split[i] == SDG_MOL3D_SPLIT_TEST ? SDG_MOL3D_SPLIT_TEST
                   : u < 0.1                           ? SDG_MOL3D_SPLIT_VAL
                                                       : SDG_MOL3D_SPLIT_TRAIN;
    }
cleanup:
    sdg_rng_free(rng);
    return st;
}

/* ---- training ---- */
sdg_prop3d_train_params sdg_prop3d_train_default_params(void) {
    return (sdg_prop3d_train_params){.batch = 64, .lr = 5e-4f, .grad_clip = 10.0f, .ema_decay = 0.999f, .seed = 1};
}

struct sdg_prop3d_trainer {
    sdg_prop3d_train_params p;
    sdg_prop3d   *r;
    sdg_mol3d_fit fit;
};

void sdg_prop3d_trainer_free(sdg_prop3d_trainer *t) {
    if (!t) return;
    sdg_mol3d_fit_destroy(&t->fit);
    free(t);
}
int64_t   sdg_prop3d_trainer_epochs(const sdg_prop3d_trainer *t) { return t ? t->fit.epochs : 0; }
void      sdg_prop3d_trainer_set_epochs(sdg_prop3d_trainer *t, int64_t e) { if (t) t->fit.epochs = e; }
sdg_adam *sdg_prop3d_trainer_adam(sdg_prop3d_trainer *t) { return t ? t->fit.adam : NULL; }
sdg_ema  *sdg_prop3d_trainer_ema(sdg_prop3d_trainer *t) { return t ? t->fit.ema : NULL; }
const sdg_prop3d_train_params *sdg_prop3d_trainer_params(const sdg_prop3d_trainer *t) { return t ? &t->p : NULL; }
void sdg_prop3d_trainer_set_on_step(sdg_prop3d_trainer *t, sdg_flow3d_step_fn fn, void *params) {
    if (t) t->p.on_step = fn, t->p.on_step_params = params, t->fit.on_step = fn, t->fit.on_step_params = params;
}

static sdg_status reg_loss(sdg_ctx *ctx, const sdg_mol3d_batch *b, sdg_rng *rng, void *self, sdg_tensor **loss,
                           float *parts) {
    (void)rng, (void)parts;
    const sdg_prop3d_trainer *t = self;
    return sdg_prop3d_loss(ctx, t->r, b, loss);
}

sdg_status sdg_prop3d_trainer_new(sdg_prop3d *r, sdg_mol *const *mols, const float *y, size_t n,
                                  const sdg_prop3d_train_params *params, sdg_prop3d_trainer **out) {
    sdg_status st = SDG_OK;
    sdg_prop3d_trainer *t = NULL;
    if (!r || !mols || !y || !out || n == 0) return SDG_ERROR(SDG_ERR_INVALID, "prop3d trainer: NULL argument or no data");
    *out = NULL;
    sdg_prop3d_train_params p = params ? *params : sdg_prop3d_train_default_params();
    if (p.batch < 1 || !(p.lr > 0) || !(p.grad_clip >= 0) || !(p.ema_decay >= 0 && p.ema_decay < 1))
        return SDG_ERROR(SDG_ERR_INVALID, "prop3d trainer: bad options (batch >= 1, lr > 0, grad_clip >= 0, "
                         "ema_decay in [0, 1))");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(y[i])) return SDG_ERROR(SDG_ERR_INVALID, "prop3d trainer: target %zu is not finite", i);
    t = calloc(1, sizeof *t);
    if (!t) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    t->p = p;
    t->r = r;
    sdg_mol3d_fit_params fp = {.name = "prop3d trainer", .batch = p.batch, .lr = p.lr, .grad_clip = p.grad_clip,
                               .ema_decay = p.ema_decay, .seed = p.seed, .loss = reg_loss, .self = t,
                               .on_step = p.on_step, .on_step_params = p.on_step_params, .n_parts = 0};
    SDG_TRY(sdg_mol3d_fit_init(&t->fit, &fp, sdg_prop3d_params_store(r), mols, y, n));
    *out = t;
    t = NULL;
cleanup:
    sdg_prop3d_trainer_free(t);
    return st;
}

sdg_status sdg_prop3d_trainer_epoch(sdg_prop3d_trainer *t, double *loss) {
    if (!t) return SDG_ERROR(SDG_ERR_INVALID, "prop3d trainer: NULL trainer");
    return sdg_mol3d_fit_epoch(&t->fit, loss, NULL);
}
