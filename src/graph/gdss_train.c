/* GDSS training: presets of the generic datasets, the loss of README section 9 with its
 * backward pass, and a trainer (Adam with L2 weight decay, gradient-norm clipping per
 * network, EMA with GDSS's warm-up, ExponentialLR per epoch).
 * ref: GDSS trainer.py (Trainer.train), losses.py (get_sde_loss_fn, continuous,
 * reduce_mean = False), utils/ema.py (ExponentialMovingAverage, use_num_updates). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/internal.h"
#include "sdegen/sde.h"

/* ---- presets (README section 7; the released configs) ---- */
typedef struct preset_row {
    const char *name;         /* sdegen dataset name (sdg_graph_dataset_file)  */
    const char *gdss_name;    /* GDSS's data.data                              */
    int64_t     F, N;
    int         x_depth, a_layers, a_linears, nhid;
    const char *sde_x, *sde_adj;
    double      x_lo, x_hi, a_lo, a_hi;
    int         batch;
    double      lr;
} preset_row;

/* GDSS config/<ds>.yaml: the molecule models are smaller (nhid 16, three linears per MLP)
 * and train with batch 1024 and lr 0.005. */
static const preset_row presets[] = {
    {"community_small", "community_small", 10, 20, 3, 5, 2, 32, "VP", "VP", 0.1, 1.0, 0.1, 1.0, 128, 0.01},
    {"ego_small", "ego_small", 17, 18, 2, 5, 2, 32, "VP", "VP", 0.1, 1.0, 0.1, 1.0, 128, 0.01},
    {"enzymes", "ENZYMES", 10, 125, 5, 7, 2, 32, "VP", "VE", 0.1, 1.0, 0.2, 1.0, 64, 0.01},
    {"grid", "grid", 5, 361, 5, 7, 2, 32, "VP", "VP", 0.1, 1.0, 0.2, 0.8, 8, 0.01},
    {"qm9", "QM9", 4, 9, 2, 3, 3, 16, "VE", "VE", 0.1, 1.0, 0.1, 1.0, 1024, 0.005},
    {"zinc250k", "ZINC250k", 9, 38, 2, 6, 3, 16, "VP", "VE", 0.1, 1.0, 0.2, 1.0, 1024, 0.005},
};

sdg_gdss_train_params sdg_gdss_train_default_params(void) {
    return (sdg_gdss_train_params){.batch = 128, .lr = 0.01, .weight_decay = 1e-4,
                                   .lr_decay = 0.999, .grad_clip = 1.0, .ema_decay = 0.999,
                                   .eps = 1e-5, .seed = 0};
}

sdg_status sdg_gdss_preset(const char *dataset, sdg_gdss_params *hp_x, sdg_gdss_params *hp_adj,
                           sdg_gdss_settings *settings, sdg_gdss_train_params *train) {
    sdg_status st = SDG_OK;
    const preset_row *r = NULL;
    for (size_t i = 0; dataset && i < sizeof presets / sizeof *presets; i++)
        if (strcmp(presets[i].name, dataset) == 0) r = &presets[i];
    if (!r)
        return SDG_ERROR(SDG_ERR_NOTFOUND, "gdss: no training preset for dataset '%s' "
                         "(community_small, ego_small, enzymes, grid, qm9, zinc250k)", dataset ? dataset : "(null)");
    if (hp_x) {
        *hp_x = sdg_gdss_default_params(SDG_GDSS_NET_KIND_X);
        hp_x->F = r->F;
        hp_x->N = r->N;
        hp_x->depth = r->x_depth;
        hp_x->nhid = r->nhid;
        hp_x->adim = r->nhid;
    }
    if (hp_adj) {
        *hp_adj = sdg_gdss_default_params(SDG_GDSS_NET_KIND_A);
        hp_adj->F = r->F;
        hp_adj->N = r->N;
        hp_adj->nhid = r->nhid;
        hp_adj->adim = r->nhid;   /* README 7: adim = nhid, heads 4, channels 2/8/4 */
        hp_adj->heads = 4;
        hp_adj->c_init = 2;
        hp_adj->c_hid = 8;
        hp_adj->c_final = 4;
        hp_adj->num_layers = r->a_layers;
        hp_adj->num_linears = r->a_linears;
    }
    if (settings) {   /* through the config reader, so the sampler table has one home */
        char json[512];
        snprintf(json, sizeof json,
                 "{\"data\": {\"data\": \"%s\"}, \"sde\": {"
                 "\"x\": {\"type\": \"%s\", \"beta_min\": %.17g, \"beta_max\": %.17g, \"num_scales\": 1000}, "
                 "\"adj\": {\"type\": \"%s\", \"beta_min\": %.17g, \"beta_max\": %.17g, \"num_scales\": 1000}}}",
                 r->gdss_name, r->sde_x, r->x_lo, r->x_hi, r->sde_adj, r->a_lo, r->a_hi);
        SDG_TRY(sdg_gdss_settings_from_json(json, settings));
    }
    if (train) {
        *train = sdg_gdss_train_default_params();
        train->batch = r->batch;
        train->lr = r->lr;
    }
cleanup:
    return st;
}

/* ---- the loss ---- */
static sdg_status sde_of(const sdg_gdss_sde *g, sdg_sde *out) {
    return sdg_sde_gdss(out, g->kind == SDG_GDSS_SDE_KIND_VP ? "VP" : "VE", g->lo, g->hi);
}

/* x_in = mask(s x0 + sigma z) for one graph's dense block of rows R, each of `per` entries;
 * sym: (R, R) masked by m_i m_j. float32 arithmetic, as GDSS's perturbation. */
static void perturb(const float *x0, const float *z, const float *m, int64_t R, int64_t per, bool sym,
                    float s, float sg, float *out) {
    for (int64_t i = 0; i < R; i++)
        for (int64_t j = 0; j < per; j++) {
            float keep = sym ? m[i] * m[j] : m[i];
            out[i * per + j] = (s * x0[i * per + j] + sg * z[i * per + j]) * keep;
        }
}

/* e = sigma * score + z with score = -out / sigma (VP: e = z - out) or out (VE: e = sigma out
 * + z); returns 1/2 sum e^2 and writes dL/dout = (VP: -e, VE: sigma e) / B into g (or not). */
static double loss_one(const float *out, const float *z, int64_t d, bool vp, float sg, double inv_b, float *g) {
    double acc = 0;
    for (int64_t j = 0; j < d; j++) {
        float e = vp ? z[j] - out[j] : sg * out[j] + z[j];
        acc += (double)e * (double)e;
        if (g) g[j] = (float)((vp ? -(double)e : (double)sg * e) * inv_b);
    }
    return 0.5 * acc;
}

sdg_status sdg_gdss_loss(sdg_ctx *ctx, const sdg_gdss_model *m, const sdg_gdss_batch *b,
                         double *loss_x, double *loss_adj) {
    sdg_status st = SDG_OK;
    sdg_sde sx, sa;
    double *lx = NULL, *la = NULL;
    if (!ctx || !m || !m->net_x || !m->net_adj || !b || !b->X || !b->A || !b->flags || !b->t || !b->z_x ||
        !b->z_adj)
        return SDG_ERROR(SDG_ERR_INVALID, "gdss loss: missing argument");
    if (b->B < 1) return SDG_ERROR(SDG_ERR_SHAPE, "gdss loss: empty batch");
    const sdg_gdss_params *ha = sdg_gdss_net_hparams(m->net_adj);
    const int64_t B = b->B, N = ha->N, F = ha->F, NF = N * F, NN = N * N;
    SDG_TRY(sde_of(&m->settings.sde_x, &sx));
    SDG_TRY(sde_of(&m->settings.sde_adj, &sa));
    const bool vpx = m->settings.sde_x.kind == SDG_GDSS_SDE_KIND_VP;
    const bool vpa = m->settings.sde_adj.kind == SDG_GDSS_SDE_KIND_VP;
    sdg_tensor *x = sdg_tensor_new(ctx, 3, (int64_t[]){B, N, F});
    sdg_tensor *a = sdg_tensor_new(ctx, 3, (int64_t[]){B, N, N});
    sdg_tensor *fl = sdg_tensor_from(ctx, 2, (int64_t[]){B, N}, b->flags);
    float *sgx = sdg_arena_alloc(sdg_ctx_arena(ctx), 2 * (size_t)B * sizeof(float));
    lx = sdg_arena_alloc(sdg_ctx_arena(ctx), 2 * (size_t)B * sizeof(double));
    if (!x || !a || !fl || !sgx || !lx) SDG_FAIL(SDG_ERR_NOMEM, "gdss loss: out of memory: %s", sdg_errmsg());
    float *sga = sgx + B;
    la = lx + B;
    for (int64_t i = 0; i < B; i++) {
        double t = b->t[i], s1, g1, s2, g2;
        if (!(t > 0 && t <= 1)) SDG_FAIL(SDG_ERR_INVALID, "gdss loss: t[%lld] = %g is not in (0, 1]", (long long)i, t);
        sdg_sde_marginal(&sx, t, &s1, &g1);
        sdg_sde_marginal(&sa, t, &s2, &g2);
        sgx[i] = (float)g1;
        sga[i] = (float)g2;
        const float *mi = b->flags + i * N;
        perturb(b->X + i * NF, b->z_x + i * NF, mi, N, F, false, (float)s1, (float)g1, x->data + i * NF);
        perturb(b->A + i * NN, b->z_adj + i * NN, mi, N, N, true, (float)s2, (float)g2, a->data + i * NN);
    }
    /* both networks on the same perturbed pair (README 9 step 6); GDSS's nets take no t */
    sdg_tensor *ox = sdg_gdss_net_forward(ctx, m->net_x, x, a, fl);
    sdg_tensor *oa = sdg_gdss_net_forward(ctx, m->net_adj, x, a, fl);
    if (sdg_ctx_status(ctx) != SDG_OK || !ox || !oa)
        SDG_FAIL(sdg_ctx_status(ctx) != SDG_OK ? sdg_ctx_status(ctx) : SDG_ERR_INVALID, "gdss loss: %s", sdg_errmsg());
    const bool grad = ox->grad && oa->grad;
    const double inv_b = 1.0 / (double)B;
#pragma omp parallel for schedule(static) if (B * NN >= 16384)
    for (int64_t i = 0; i < B; i++) {
        lx[i] = loss_one(ox->data + i * NF, b->z_x + i * NF, NF, vpx, sgx[i], inv_b, grad ? ox->grad + i * NF : NULL);
        la[i] = loss_one(oa->data + i * NN, b->z_adj + i * NN, NN, vpa, sga[i], inv_b, grad ? oa->grad + i * NN : NULL);
    }
    double sx_ = 0, sa_ = 0;   /* fixed order: the same bits for any thread count */
    for (int64_t i = 0; i < B; i++) sx_ += lx[i], sa_ += la[i];
    sx_ *= inv_b;
    sa_ *= inv_b;
    if (loss_x) *loss_x = sx_;
    if (loss_adj) *loss_adj = sa_;
    if (!isfinite(sx_) || !isfinite(sa_))
        SDG_FAIL(SDG_ERR_NUMERIC, "gdss loss: not finite (loss_x %g, loss_adj %g)", sx_, sa_);
    /* one walk of the tape from the later output carries both seeds: the parameter sets are
     * disjoint and the inputs need no gradient, so this is the two separate backward passes */
    if (grad) SDG_TRY(sdg_backward(ctx, oa));
cleanup:
    return st;
}

/* ---- trainer ---- */
struct sdg_gdss_trainer {
    sdg_gdss_model       *m;
    sdg_gdss_train_params tp;
    int64_t               G, N, F;
    const float          *A, *X;           /* (G, N, N), (G, N, F): dense training set     */
    float                *own_A, *own_X;   /* set when the trainer densified them itself   */
    float                *flags;           /* (G, N), owned                                */
    int64_t              *order;           /* (G) */
    size_t               *idx;             /* (batch) */
    size_t                n_x;             /* parameters [0, n_x) are x.*, the rest adj.*  */
    sdg_adam             *adam;
    sdg_ema              *ema;
    sdg_rng              *rng;
    sdg_ctx              *ctx;
    int64_t               epochs;
};

static sdg_status params_check(const sdg_gdss_train_params *tp) {
    if (tp->batch < 1) return SDG_ERROR(SDG_ERR_INVALID, "gdss train: batch %d < 1", tp->batch);
    if (!(tp->lr >= 0) || !isfinite(tp->lr)) return SDG_ERROR(SDG_ERR_INVALID, "gdss train: lr %g", tp->lr);
    if (!(tp->weight_decay >= 0) || !isfinite(tp->weight_decay))
        return SDG_ERROR(SDG_ERR_INVALID, "gdss train: weight decay %g", tp->weight_decay);
    if (!(tp->lr_decay > 0 && tp->lr_decay <= 1))
        return SDG_ERROR(SDG_ERR_INVALID, "gdss train: lr decay %g is not in (0, 1]", tp->lr_decay);
    if (!(tp->ema_decay >= 0 && tp->ema_decay <= 1))
        return SDG_ERROR(SDG_ERR_INVALID, "gdss train: ema decay %g is not in [0, 1]", tp->ema_decay);
    if (!(tp->eps > 0 && tp->eps < 1)) return SDG_ERROR(SDG_ERR_INVALID, "gdss train: eps %g is not in (0, 1)", tp->eps);
    if (isnan(tp->grad_clip)) return SDG_ERROR(SDG_ERR_INVALID, "gdss train: grad clip is NaN");
    return SDG_OK;
}

/* The trainer shell: sizes, buffers and parameter split; the data comes from the callers. */
static sdg_status trainer_alloc(sdg_gdss_model *m, int64_t G, const sdg_gdss_train_params *tp,
                                sdg_gdss_trainer **out) {
    sdg_status st = SDG_OK;
    sdg_gdss_trainer *tr = NULL;
    if (!m || !m->net_x || !m->net_adj || !tp) return SDG_ERROR(SDG_ERR_INVALID, "gdss train: missing argument");
    SDG_TRY(params_check(tp));
    if (G < 1) SDG_FAIL(SDG_ERR_INVALID, "gdss train: no training graphs");
    tr = calloc(1, sizeof *tr);
    if (!tr) SDG_FAIL(SDG_ERR_NOMEM, "gdss train: out of memory");
    tr->m = m;
    tr->tp = *tp;
    const sdg_gdss_params *ha = sdg_gdss_net_hparams(m->net_adj);
    tr->G = G;
    tr->N = ha->N;
    tr->F = ha->F;
    tr->flags = malloc((size_t)(tr->G * tr->N) * sizeof(float));
    tr->order = malloc((size_t)tr->G * sizeof *tr->order);
    tr->idx = malloc((size_t)tp->batch * sizeof *tr->idx);
    if (!tr->flags || !tr->order || !tr->idx)
        SDG_FAIL(SDG_ERR_NOMEM, "gdss train: out of memory for %lld graphs of %lld nodes", (long long)tr->G,
                 (long long)tr->N);
    /* the x network's parameters come first in the store (sdg_gdss_model_new) */
    size_t np = sdg_params_count(m->params);
    while (tr->n_x < np && strncmp(sdg_params_at(m->params, tr->n_x)->name, "x.", 2) == 0) tr->n_x++;
    for (size_t i = tr->n_x; i < np; i++)
        if (strncmp(sdg_params_at(m->params, i)->name, "adj.", 4) != 0)
            SDG_FAIL(SDG_ERR_INVALID, "gdss train: parameter '%s' is neither x.* after the x network nor adj.*",
                     sdg_params_at(m->params, i)->name);
    sdg_adam_params ap = sdg_adam_default_params();
    ap.lr = (float)tp->lr;
    ap.weight_decay = (float)tp->weight_decay;
    ap.decoupled = false;   /* torch.optim.Adam: L2 added to the gradient */
    ap.lr_decay = (float)tp->lr_decay;
    SDG_TRY(sdg_adam_new(&ap, m->params, &tr->adam));
    SDG_TRY(sdg_ema_new(m->params, (float)tp->ema_decay, &tr->ema));
    SDG_TRY(sdg_rng_stream(tp->seed, 1, &tr->rng));
    SDG_TRY(sdg_ctx_new(0, &tr->ctx));
    *out = tr;
    tr = NULL;
cleanup:
    sdg_gdss_trainer_free(tr);
    return st;
}

/* The graph-list trainer is the dense one on arrays it densifies and then owns. */
sdg_status sdg_gdss_trainer_new(sdg_gdss_model *m, const sdg_graph_list *train,
                                const sdg_gdss_train_params *tp, sdg_gdss_trainer **out) {
    sdg_status st = SDG_OK;
    float *A = NULL, *X = NULL, *fl = NULL;
    size_t *all = NULL;
    if (!out) return SDG_ERROR(SDG_ERR_INVALID, "gdss train: no output pointer");
    *out = NULL;
    if (!m || !m->net_adj || !train) return SDG_ERROR(SDG_ERR_INVALID, "gdss train: missing argument");
    if (train->count == 0) return SDG_ERROR(SDG_ERR_INVALID, "gdss train: no training graphs");
    const sdg_gdss_params *ha = sdg_gdss_net_hparams(m->net_adj);
    const size_t G = train->count, N = (size_t)ha->N, F = (size_t)ha->F;
    A = malloc(G * N * N * sizeof *A);
    X = malloc(G * N * F * sizeof *X);
    fl = malloc(G * N * sizeof *fl);
    all = malloc(G * sizeof *all);
    if (!A || !X || !fl || !all)
        SDG_FAIL(SDG_ERR_NOMEM, "gdss train: out of memory for %zu graphs of %zu nodes", G, N);
    for (size_t i = 0; i < G; i++) all[i] = i;
    SDG_TRY(sdg_graph_list_dense(train, all, G, ha->N, ha->F, A, X, fl));
    SDG_TRY(sdg_gdss_trainer_new_dense(m, &(sdg_gdss_data){(int64_t)G, X, A, fl}, tp, out));
    (*out)->own_A = A;
    (*out)->own_X = X;
    A = X = NULL;
cleanup:
    free(A);
    free(X);
    free(fl);
    free(all);
    return st;
}

sdg_status sdg_gdss_trainer_new_dense(sdg_gdss_model *m, const sdg_gdss_data *train,
                                      const sdg_gdss_train_params *tp, sdg_gdss_trainer **out) {
    sdg_status st = SDG_OK;
    sdg_gdss_trainer *tr = NULL;
    if (!out) return SDG_ERROR(SDG_ERR_INVALID, "gdss train: no output pointer");
    *out = NULL;
    if (!train || !train->X || !train->A) return SDG_ERROR(SDG_ERR_INVALID, "gdss train: missing training arrays");
    SDG_TRY(trainer_alloc(m, train->G, tp, &tr));
    tr->A = train->A;
    tr->X = train->X;
    const int64_t N = tr->N;
    for (int64_t g = 0; g < tr->G; g++)
        for (int64_t i = 0; i < N; i++) {
            float v;
            if (train->flags) v = train->flags[g * N + i];
            else {   /* README 9: a node needs an edge */
                const float *row = tr->A + (g * N + i) * N;
                float s = 0;
                for (int64_t j = 0; j < N; j++) s += fabsf(row[j]);
                v = s > 1e-5f ? 1.0f : 0.0f;
            }
            tr->flags[g * N + i] = v;
        }
    *out = tr;
    tr = NULL;
cleanup:
    sdg_gdss_trainer_free(tr);
    return st;
}

void sdg_gdss_trainer_free(sdg_gdss_trainer *tr) {
    if (!tr) return;
    free(tr->own_A);
    free(tr->own_X);
    free(tr->flags);
    free(tr->order);
    free(tr->idx);
    sdg_adam_free(tr->adam);
    sdg_ema_free(tr->ema);
    sdg_rng_free(tr->rng);
    sdg_ctx_free(tr->ctx);
    free(tr);
}

/* ref: torch.nn.utils.clip_grad_norm_ over parameters [lo, hi): coef = max / (norm + 1e-6),
 * applied when below 1. The norm is summed in double in parameter order. */
static sdg_status clip(sdg_params *p, size_t lo, size_t hi, double max_norm, const char *which) {
    double ss = 0;
    for (size_t i = lo; i < hi; i++) {
        const sdg_tensor *t = sdg_params_at(p, i);
        for (int64_t k = 0; k < t->size; k++) ss += (double)t->grad[k] * (double)t->grad[k];
    }
    double norm = sqrt(ss);
    if (!isfinite(norm)) return SDG_ERROR(SDG_ERR_NUMERIC, "gdss train: the %s gradient norm is %g", which, norm);
    if (!(max_norm > 0)) return SDG_OK;
    float coef = (float)(max_norm / (norm + 1e-6));
    if (coef >= 1.0f) return SDG_OK;
    for (size_t i = lo; i < hi; i++) {
        sdg_tensor *t = sdg_params_at(p, i);
        for (int64_t k = 0; k < t->size; k++) t->grad[k] *= coef;
    }
    return SDG_OK;
}

/* ref: GDSS utils/ema.py: n += 1; decay = min(decay, (1 + n) / (10 + n));
 * shadow -= (1 - decay) (shadow - param). */
static void ema_update(sdg_gdss_trainer *tr) {
    double n = (double)sdg_adam_steps(tr->adam);
    double d = fmin(tr->tp.ema_decay, (1.0 + n) / (10.0 + n));
    float c = (float)(1.0 - d);
    sdg_params *sh = sdg_ema_shadow(tr->ema), *p = tr->m->params;
    for (size_t i = 0; i < sdg_params_count(p); i++) {
        float *s = sdg_params_at(sh, i)->data;
        const float *w = sdg_params_at(p, i)->data;
        int64_t size = sdg_params_at(p, i)->size;
        for (int64_t k = 0; k < size; k++) s[k] -= c * (s[k] - w[k]);
    }
}

sdg_status sdg_gdss_trainer_step(sdg_gdss_trainer *tr, const size_t *idx, size_t k, double *loss_x,
                                 double *loss_adj) {
    sdg_status st = SDG_OK;
    if (!tr || !idx || k == 0) return SDG_ERROR(SDG_ERR_INVALID, "gdss train: empty step");
    const int64_t N = tr->N, F = tr->F, NF = N * F, NN = N * N, B = (int64_t)k;
    sdg_ctx *ctx = tr->ctx;
    sdg_ctx_reset(ctx);
    sdg_arena *ar = sdg_ctx_arena(ctx);
    float *X = sdg_arena_alloc(ar, (size_t)(B * NF) * sizeof(float));
    float *A = sdg_arena_alloc(ar, (size_t)(B * NN) * sizeof(float));
    float *fl = sdg_arena_alloc(ar, (size_t)(B * N) * sizeof(float));
    float *t = sdg_arena_alloc(ar, (size_t)B * sizeof(float));
    float *zx = sdg_arena_alloc(ar, (size_t)(B * NF) * sizeof(float));
    float *za = sdg_arena_alloc(ar, (size_t)(B * NN) * sizeof(float));
    if (!X || !A || !fl || !t || !zx || !za) SDG_FAIL(SDG_ERR_NOMEM, "gdss train: %s", sdg_errmsg());
    for (int64_t i = 0; i < B; i++) {
        if (idx[i] >= (size_t)tr->G) SDG_FAIL(SDG_ERR_INVALID, "gdss train: graph index %zu out of range", idx[i]);
        memcpy(X + i * NF, tr->X + (int64_t)idx[i] * NF, (size_t)NF * sizeof(float));
        memcpy(A + i * NN, tr->A + (int64_t)idx[i] * NN, (size_t)NN * sizeof(float));
        memcpy(fl + i * N, tr->flags + (int64_t)idx[i] * N, (size_t)N * sizeof(float));
    }
    /* draws in a fixed order: times, then X noise, then A noise, graph by graph */
    for (int64_t i = 0; i < B; i++) t[i] = (float)(sdg_rng_uniform(tr->rng) * (1.0 - tr->tp.eps) + tr->tp.eps);
    sdg_component cx = {"X", (size_t)NF, (size_t)N, SDG_NOISE_KIND_DENSE, SDG_PARAM_KIND_EPS, {0}, X, fl, false};
    sdg_component ca = {"A", (size_t)NN, (size_t)N, SDG_NOISE_KIND_SYMMETRIC, SDG_PARAM_KIND_EPS, {0}, A, fl, false};
    for (int64_t i = 0; i < B; i++) sdg_component_noise(&cx, (size_t)i, tr->rng, zx + i * NF);
    for (int64_t i = 0; i < B; i++) sdg_component_noise(&ca, (size_t)i, tr->rng, za + i * NN);
    sdg_params_zero_grad(tr->m->params);
    sdg_ctx_set_grad(ctx, true);
    sdg_gdss_batch b = {B, X, A, fl, t, zx, za};
    SDG_TRY(sdg_gdss_loss(ctx, tr->m, &b, loss_x, loss_adj));
    size_t np = sdg_params_count(tr->m->params);
    SDG_TRY(clip(tr->m->params, 0, tr->n_x, tr->tp.grad_clip, "x network"));
    SDG_TRY(clip(tr->m->params, tr->n_x, np, tr->tp.grad_clip, "adj network"));
    SDG_TRY(sdg_adam_step(tr->adam));
    ema_update(tr);
cleanup:
    return st;
}

sdg_status sdg_gdss_trainer_epoch(sdg_gdss_trainer *tr, sdg_gdss_epoch_stats *stats) {
    sdg_status st = SDG_OK;
    double sx = 0, sa = 0;
    int64_t steps = 0;
    if (!tr) return SDG_ERROR(SDG_ERR_INVALID, "gdss train: no trainer");
    float lr = sdg_adam_lr(tr->adam);
    for (int64_t i = 0; i < tr->G; i++) tr->order[i] = i;
    sdg_rng_shuffle(tr->rng, tr->order, (size_t)tr->G);
    for (int64_t s = 0; s < tr->G; s += tr->tp.batch) {
        int64_t k = tr->G - s < tr->tp.batch ? tr->G - s : tr->tp.batch;
        double lx = 0, la = 0;
        for (int64_t j = 0; j < k; j++) tr->idx[j] = (size_t)tr->order[s + j];
        st = sdg_gdss_trainer_step(tr, tr->idx, (size_t)k, &lx, &la);
        if (st != SDG_OK) {
            sdg_error_prefix("epoch %lld, step %lld", (long long)tr->epochs + 1, (long long)steps + 1);
            goto cleanup;
        }
        sx += lx;
        sa += la;
        steps++;
    }
    sdg_adam_decay_lr(tr->adam);
    tr->epochs++;
    if (stats) {
        stats->loss_x = sx / (double)steps;
        stats->loss_adj = sa / (double)steps;
        stats->lr = lr;
        stats->steps = steps;
        stats->graphs = tr->G;
    }
cleanup:
    return st;
}

const sdg_gdss_train_params *sdg_gdss_trainer_params(const sdg_gdss_trainer *tr) { return &tr->tp; }
sdg_gdss_model *sdg_gdss_trainer_model(sdg_gdss_trainer *tr) { return tr->m; }
sdg_adam       *sdg_gdss_trainer_adam(sdg_gdss_trainer *tr) { return tr->adam; }
sdg_ema        *sdg_gdss_trainer_ema(sdg_gdss_trainer *tr) { return tr->ema; }
sdg_rng        *sdg_gdss_trainer_rng(sdg_gdss_trainer *tr) { return tr->rng; }
int64_t         sdg_gdss_trainer_epochs(const sdg_gdss_trainer *tr) { return tr->epochs; }
void            sdg_gdss_trainer_set_epochs(sdg_gdss_trainer *tr, int64_t epochs) { tr->epochs = epochs; }
const float *sdg_gdss_trainer_flags(const sdg_gdss_trainer *tr, int64_t *G, int64_t *N) {
    if (G) *G = tr->G;
    if (N) *N = tr->N;
    return tr->flags;
}
