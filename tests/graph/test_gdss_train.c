/* GDSS training (README section 9) on tiny models and a tiny synthetic graph set (no data
 * needed; one case also trains briefly on community_small when $SDEGEN_DATA has it):
 * - presets: the README section 7 rows and the released training settings;
 * - loss: sdg_gdss_loss equals an independent evaluation of the section 9 formulas (VP and
 *   VE), and its gradients equal finite differences of L_x (x.*) and L_adj (adj.*);
 * - optimiser: Adam's weight decay is L2 added to the gradient (not AdamW), clipping acts on
 *   each network separately, the EMA follows min(decay, (1 + n) / (10 + n));
 * - training lowers the loss at fixed noise; E1 epochs + save + resume + E2 epochs gives the
 *   same bits as E1 + E2 epochs; the training file loads as a GDSS model (EMA weights when
 *   use_ema) and a non-training checkpoint is refused for resuming. */
#include <unistd.h>
#include "test_util.h"

/* ---- tiny model and graph set ---- */
enum { TN = 6, TF = 4 };

static sdg_gdss_model *tiny_model(bool ve_adj, uint64_t seed) {
    sdg_gdss_params hx = sdg_gdss_default_params(SDG_GDSS_NET_KIND_X);
    sdg_gdss_params ha = sdg_gdss_default_params(SDG_GDSS_NET_KIND_A);
    hx.F = ha.F = TF;
    hx.N = ha.N = TN;
    hx.depth = 2;
    hx.nhid = 8;
    ha.nhid = 8;
    ha.adim = 8;
    ha.heads = 2;
    ha.c_init = 2;
    ha.c_hid = 3;
    ha.c_final = 2;
    ha.num_layers = 2;
    ha.num_linears = 2;
    sdg_gdss_settings s;
    CU_ASSERT_FATAL(sdg_gdss_preset("community_small", NULL, NULL, &s, NULL) == SDG_OK);
    if (ve_adj) s.sde_adj = (sdg_gdss_sde){SDG_GDSS_SDE_KIND_VE, 0.2, 1.0, 1000};
    sdg_rng *r = NULL;
    sdg_gdss_model *m = NULL;
    CU_ASSERT_FATAL(sdg_rng_stream(seed, 0, &r) == SDG_OK);
    CU_ASSERT_FATAL(sdg_gdss_model_new(&hx, &ha, &s, r, &m) == SDG_OK);
    sdg_rng_free(r);
    return m;
}

/* 14 graphs with at most 6 nodes and degrees <= 3: paths, cycles, stars, a triangle with a tail. */
static sdg_graph_list *tiny_graphs(void) {
    sdg_graph_list *gl = NULL;
    CU_ASSERT_FATAL(sdg_graph_list_new(14, &gl) == SDG_OK);
    int64_t e[16];
    size_t g = 0;
    for (int n = 2; n <= 6; n++) {   /* paths P2..P6 */
        for (int i = 0; i < n - 1; i++) e[2 * i] = i, e[2 * i + 1] = i + 1;
        CU_ASSERT_FATAL(sdg_graph_list_set(gl, g++, &(sdg_graph){n, n - 1, -1, e, NULL}) == SDG_OK);
    }
    for (int n = 3; n <= 6; n++) {   /* cycles C3..C6 */
        for (int i = 0; i < n - 1; i++) e[2 * i] = i, e[2 * i + 1] = i + 1;
        e[2 * (n - 1)] = 0, e[2 * (n - 1) + 1] = n - 1;
        CU_ASSERT_FATAL(sdg_graph_list_set(gl, g++, &(sdg_graph){n, n, -1, e, NULL}) == SDG_OK);
    }
    for (int k = 2; k <= 3; k++) {   /* stars with k leaves */
        for (int i = 0; i < k; i++) e[2 * i] = 0, e[2 * i + 1] = i + 1;
        CU_ASSERT_FATAL(sdg_graph_list_set(gl, g++, &(sdg_graph){k + 1, k, -1, e, NULL}) == SDG_OK);
    }
    int64_t paw[] = {0, 1, 0, 2, 1, 2, 2, 3};
    CU_ASSERT_FATAL(sdg_graph_list_set(gl, g++, &(sdg_graph){4, 4, -1, paw, NULL}) == SDG_OK);
    int64_t two[] = {0, 1, 2, 3, 4, 5};   /* three disjoint edges */
    CU_ASSERT_FATAL(sdg_graph_list_set(gl, g++, &(sdg_graph){6, 3, -1, two, NULL}) == SDG_OK);
    int64_t c4t[] = {0, 1, 1, 2, 2, 3, 0, 3, 3, 4};   /* C4 with a tail */
    CU_ASSERT_FATAL(sdg_graph_list_set(gl, g++, &(sdg_graph){5, 5, -1, c4t, NULL}) == SDG_OK);
    CU_ASSERT_FATAL(g == 14);
    return gl;
}

/* A fixed batch of all graphs of gl: clean (X, A, flags), t and masked noise from seed. */
typedef struct fixed_batch {
    int64_t B;
    float  *X, *A, *fl, *t, *zx, *za;
} fixed_batch;

static fixed_batch fixed_batch_new(const sdg_graph_list *gl, uint64_t seed) {
    fixed_batch fb = {(int64_t)gl->count, NULL, NULL, NULL, NULL, NULL, NULL};
    int64_t B = fb.B;
    fb.X = calloc((size_t)(B * TN * TF), sizeof(float));
    fb.A = calloc((size_t)(B * TN * TN), sizeof(float));
    fb.fl = calloc((size_t)(B * TN), sizeof(float));
    fb.t = calloc((size_t)B, sizeof(float));
    fb.zx = calloc((size_t)(B * TN * TF), sizeof(float));
    fb.za = calloc((size_t)(B * TN * TN), sizeof(float));
    size_t *idx = calloc((size_t)B, sizeof *idx);
    for (int64_t i = 0; i < B; i++) idx[i] = (size_t)i;
    CU_ASSERT_FATAL(sdg_graph_list_dense(gl, idx, (size_t)B, TN, TF, fb.A, fb.X, fb.fl) == SDG_OK);
    free(idx);
    sdg_rng *r = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(seed, &r) == SDG_OK);
    for (int64_t b = 0; b < B; b++) {
        fb.t[b] = (float)(1e-5 + (1 - 1e-5) * sdg_rng_uniform(r));
        const float *m = fb.fl + b * TN;
        for (int i = 0; i < TN; i++) {
            for (int f = 0; f < TF; f++) fb.zx[(b * TN + i) * TF + f] = m[i] * (float)sdg_rng_gaussian(r);
            for (int j = i + 1; j < TN; j++) {
                float z = m[i] * m[j] * (float)sdg_rng_gaussian(r);
                fb.za[(b * TN + i) * TN + j] = fb.za[(b * TN + j) * TN + i] = z;
            }
        }
    }
    sdg_rng_free(r);
    return fb;
}

static void fixed_batch_free(fixed_batch *fb) {
    free(fb->X), free(fb->A), free(fb->fl), free(fb->t), free(fb->zx), free(fb->za);
}

static sdg_gdss_batch as_batch(const fixed_batch *fb) {
    return (sdg_gdss_batch){fb->B, fb->X, fb->A, fb->fl, fb->t, fb->zx, fb->za};
}

static void eval_loss(sdg_ctx *ctx, const sdg_gdss_model *m, const fixed_batch *fb, double *lx, double *la) {
    sdg_ctx_reset(ctx);
    bool old = sdg_ctx_set_grad(ctx, false);
    sdg_gdss_batch b = as_batch(fb);
    CU_ASSERT(sdg_gdss_loss(ctx, m, &b, lx, la) == SDG_OK);
    sdg_ctx_set_grad(ctx, old);
}

/* ---- presets ---- */
static void test_presets(void) {
    sdg_gdss_params hx, ha;
    sdg_gdss_settings s;
    sdg_gdss_train_params tp;
    CU_ASSERT_FATAL(sdg_gdss_preset("community_small", &hx, &ha, &s, &tp) == SDG_OK);
    CU_ASSERT(hx.kind == SDG_GDSS_NET_KIND_X && hx.F == 10 && hx.depth == 3 && hx.nhid == 32);
    CU_ASSERT(ha.kind == SDG_GDSS_NET_KIND_A && ha.F == 10 && ha.N == 20 && ha.num_layers == 5 &&
              ha.num_linears == 2 && ha.nhid == 32 && ha.adim == 32 && ha.heads == 4 && ha.c_init == 2 &&
              ha.c_hid == 8 && ha.c_final == 4);
    CU_ASSERT(s.sde_x.kind == SDG_GDSS_SDE_KIND_VP && s.sde_x.lo == 0.1 && s.sde_x.hi == 1.0);
    CU_ASSERT(s.sde_adj.kind == SDG_GDSS_SDE_KIND_VP && s.sde_adj.lo == 0.1 && s.sde_adj.hi == 1.0);
    CU_ASSERT_STRING_EQUAL(s.predictor, "Euler");
    CU_ASSERT_STRING_EQUAL(s.corrector, "Langevin");
    CU_ASSERT(s.snr == 0.05 && s.scale_eps == 0.7 && s.eps == 1e-4 && s.batch == 128 && !s.use_ema);
    CU_ASSERT(tp.batch == 128 && tp.lr == 0.01 && tp.weight_decay == 1e-4 && tp.lr_decay == 0.999 &&
              tp.grad_clip == 1.0 && tp.ema_decay == 0.999 && tp.eps == 1e-5);
    CU_ASSERT_FATAL(sdg_gdss_preset("ego_small", &hx, &ha, &s, &tp) == SDG_OK);
    CU_ASSERT(hx.F == 17 && ha.N == 18 && hx.depth == 2 && ha.num_layers == 5);
    CU_ASSERT_STRING_EQUAL(s.corrector, "None");
    CU_ASSERT_FATAL(sdg_gdss_preset("enzymes", &hx, &ha, &s, &tp) == SDG_OK);
    CU_ASSERT(hx.F == 10 && ha.N == 125 && hx.depth == 5 && ha.num_layers == 7 && tp.batch == 64);
    CU_ASSERT(s.sde_adj.kind == SDG_GDSS_SDE_KIND_VE && s.sde_adj.lo == 0.2 && s.use_ema);
    CU_ASSERT_STRING_EQUAL(s.dataset, "ENZYMES");
    CU_ASSERT_STRING_EQUAL(s.predictor, "S4");
    CU_ASSERT_FATAL(sdg_gdss_preset("grid", &hx, &ha, &s, &tp) == SDG_OK);
    CU_ASSERT(hx.F == 5 && ha.N == 361 && tp.batch == 8 && s.sde_adj.lo == 0.2 && s.sde_adj.hi == 0.8);
    CU_ASSERT_FATAL(sdg_gdss_preset("qm9", &hx, &ha, &s, &tp) == SDG_OK);   /* README 7 */
    CU_ASSERT(hx.F == 4 && ha.N == 9 && hx.depth == 2 && hx.nhid == 16 && ha.num_layers == 3 &&
              ha.num_linears == 3 && tp.batch == 1024 && tp.lr == 0.005);
    CU_ASSERT(sdg_gdss_preset("qm10", &hx, &ha, &s, &tp) == SDG_ERR_NOTFOUND);
    CU_ASSERT(strstr(sdg_errmsg(), "qm10") != NULL);
}

/* ---- the loss against an independent evaluation of README section 9 ---- */
static double ref_loss(const sdg_gdss_model *m, const fixed_batch *fb, bool adj) {
    const sdg_gdss_sde *sde = adj ? &m->settings.sde_adj : &m->settings.sde_x;
    const int64_t B = fb->B, D = adj ? TN * TN : TN * TF;
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    sdg_ctx_set_grad(ctx, false);
    sdg_tensor *x = sdg_tensor_new(ctx, 3, (int64_t[]){B, TN, TF});
    sdg_tensor *a = sdg_tensor_new(ctx, 3, (int64_t[]){B, TN, TN});
    sdg_tensor *fl = sdg_tensor_from(ctx, 2, (int64_t[]){B, TN}, fb->fl);
    double *sig = calloc((size_t)B, sizeof *sig);
    for (int64_t b = 0; b < B; b++) {
        /* step 5 with each component's own SDE (float32, README section 8) */
        for (int c = 0; c < 2; c++) {
            const sdg_gdss_sde *sd = c ? &m->settings.sde_adj : &m->settings.sde_x;
            float t = fb->t[b], mean, std;
            if (sd->kind == SDG_GDSS_SDE_KIND_VP) {
                float lmc = -0.25f * t * t * (float)(sd->hi - sd->lo) - 0.5f * t * (float)sd->lo;
                mean = expf(lmc);
                std = sqrtf(1.0f - expf(2.0f * lmc));
            } else {
                mean = 1.0f;
                std = (float)(sd->lo * pow(sd->hi / sd->lo, (double)t));
            }
            if ((c == 1) == adj) sig[b] = std;
            const float *m_ = fb->fl + b * TN;
            for (int i = 0; i < TN; i++) {
                if (c == 0)
                    for (int f = 0; f < TF; f++) {
                        int64_t k = (b * TN + i) * TF + f;
                        x->data[k] = (mean * fb->X[k] + std * fb->zx[k]) * m_[i];
                    }
                else
                    for (int j = 0; j < TN; j++) {
                        int64_t k = (b * TN + i) * TN + j;
                        a->data[k] = (mean * fb->A[k] + std * fb->za[k]) * m_[i] * m_[j];
                    }
            }
        }
    }
    sdg_tensor *out = sdg_gdss_net_forward(ctx, adj ? m->net_adj : m->net_x, x, a, fl);
    CU_ASSERT_FATAL(out != NULL);
    double L = 0;
    for (int64_t b = 0; b < B; b++) {
        double s = 0;
        for (int64_t k = 0; k < D; k++) {
            double o = out->data[b * D + k], z = (adj ? fb->za : fb->zx)[b * D + k];
            double score = sde->kind == SDG_GDSS_SDE_KIND_VP ? -o / sig[b] : o;
            s += (score * sig[b] + z) * (score * sig[b] + z);
        }
        L += 0.5 * s;
    }
    free(sig);
    sdg_ctx_free(ctx);
    return L / (double)B;
}

static void test_loss_reference(void) {
    sdg_graph_list *gl = tiny_graphs();
    fixed_batch fb = fixed_batch_new(gl, 5);
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    for (int ve = 0; ve < 2; ve++) {
        sdg_gdss_model *m = tiny_model(ve, 11);
        double lx = 0, la = 0;
        eval_loss(ctx, m, &fb, &lx, &la);
        double rx = ref_loss(m, &fb, false), ra = ref_loss(m, &fb, true);
        printf("\n  %s adj: loss_x %.6f (ref %.6f), loss_adj %.6f (ref %.6f)", ve ? "VE" : "VP", lx, rx, la, ra);
        CU_ASSERT(fabs(lx - rx) <= 1e-5 * fabs(rx));
        CU_ASSERT(fabs(la - ra) <= 1e-5 * fabs(ra));
        CU_ASSERT(lx > 1 && la > 1);
        /* gradients: dL_x/d(x.*) and dL_adj/d(adj.*) by central differences (double-sided,
         * h = 1e-2 on float32 networks; relative error with a floor) */
        sdg_params_zero_grad(m->params);
        sdg_ctx_reset(ctx);
        sdg_ctx_set_grad(ctx, true);
        sdg_gdss_batch b = as_batch(&fb);
        CU_ASSERT_FATAL(sdg_gdss_loss(ctx, m, &b, &lx, &la) == SDG_OK);
        int checked = 0, bad = 0;
        for (size_t i = 0; i < sdg_params_count(m->params); i++) {
            sdg_tensor *w = sdg_params_at(m->params, i);
            bool is_x = strncmp(w->name, "x.", 2) == 0;
            for (int rep = 0; rep < 2; rep++) {
                int64_t k = (int64_t)((i * 7919 + (size_t)rep * 104729) % (size_t)w->size);
                float g = w->grad[k], w0 = w->data[k];
                const float h = 1e-2f;
                double p[2];
                for (int s = 0; s < 2; s++) {
                    w->data[k] = w0 + (s ? -h : h);
                    double a1, a2;
                    eval_loss(ctx, m, &fb, &a1, &a2);
                    p[s] = is_x ? a1 : a2;
                }
                w->data[k] = w0;
                double fd = (p[0] - p[1]) / (2.0 * h);
                double err = fabs(fd - g) / fmax(fabs(fd), 5e-2);
                checked++;
                if (err > 5e-2) {
                    bad++;
                    printf("\n  %s[%lld]: grad %g, finite difference %g", w->name, (long long)k, g, fd);
                }
            }
        }
        CU_ASSERT(checked > 10);
        CU_ASSERT(bad <= checked / 20);   /* float32 noise may spoil an odd entry, not more */
        sdg_ctx_reset(ctx);
        sdg_gdss_model_free(m);
    }
    /* bad input */
    sdg_gdss_model *m = tiny_model(false, 1);
    sdg_gdss_batch b = as_batch(&fb);
    b.t = (float[14]){0};
    sdg_ctx_reset(ctx);
    CU_ASSERT(sdg_gdss_loss(ctx, m, &b, NULL, NULL) == SDG_ERR_INVALID);
    b = as_batch(&fb);
    b.B = 0;
    CU_ASSERT(sdg_gdss_loss(ctx, m, &b, NULL, NULL) == SDG_ERR_SHAPE);
    sdg_gdss_model_free(m);
    sdg_ctx_free(ctx);
    fixed_batch_free(&fb);
    sdg_graph_list_free(gl);
}

/* ---- optimiser details ---- */
static double grad_norm(const sdg_params *p, const char *prefix) {
    double ss = 0;
    for (size_t i = 0; i < sdg_params_count(p); i++) {
        const sdg_tensor *t = sdg_params_at(p, i);
        if (strncmp(t->name, prefix, strlen(prefix)) != 0) continue;
        for (int64_t k = 0; k < t->size; k++) ss += (double)t->grad[k] * t->grad[k];
    }
    return sqrt(ss);
}

static float *params_copy(const sdg_params *p) {
    float *out = malloc((size_t)sdg_params_numel(p) * sizeof *out), *o = out;
    for (size_t i = 0; i < sdg_params_count(p); i++) {
        const sdg_tensor *t = sdg_params_at(p, i);
        memcpy(o, t->data, (size_t)t->size * sizeof *o);
        o += t->size;
    }
    return out;
}

static void test_optimiser(void) {
    sdg_graph_list *gl = tiny_graphs();
    size_t idx[8] = {0, 3, 5, 7, 9, 11, 12, 13};
    /* clipping: each network's gradient norm is brought to the bound separately */
    sdg_gdss_model *m = tiny_model(false, 3);
    sdg_gdss_train_params tp = sdg_gdss_train_default_params();
    tp.grad_clip = 0.01;
    sdg_gdss_trainer *tr = NULL;
    CU_ASSERT_FATAL(sdg_gdss_trainer_new(m, gl, &tp, &tr) == SDG_OK);
    float *w0 = params_copy(m->params);
    CU_ASSERT_FATAL(sdg_gdss_trainer_step(tr, idx, 8, NULL, NULL) == SDG_OK);
    double nx = grad_norm(m->params, "x."), na = grad_norm(m->params, "adj.");
    printf("\n  clipped gradient norms: x %.6g, adj %.6g", nx, na);
    CU_ASSERT(fabs(nx - 0.01) < 1e-5 && fabs(na - 0.01) < 1e-5);
    /* EMA after one and two updates: d1 = 2/11, d2 = 3/12 (GDSS's warm-up) */
    float *w1 = params_copy(m->params);
    {
        sdg_params *sh = sdg_ema_shadow(sdg_gdss_trainer_ema(tr));
        float *s = params_copy(sh);
        int64_t n = sdg_params_numel(m->params), bad = 0;
        float c = (float)(1.0 - 2.0 / 11.0);
        for (int64_t k = 0; k < n; k++)
            if (s[k] != w0[k] - c * (w0[k] - w1[k])) bad++;
        CU_ASSERT(bad == 0);
        CU_ASSERT_FATAL(sdg_gdss_trainer_step(tr, idx, 8, NULL, NULL) == SDG_OK);
        float *w2 = params_copy(m->params), *s2 = params_copy(sh);
        c = (float)(1.0 - 3.0 / 12.0);
        bad = 0;
        for (int64_t k = 0; k < n; k++)
            if (s2[k] != s[k] - c * (s[k] - w2[k])) bad++;
        CU_ASSERT(bad == 0);
        free(w2), free(s2), free(s);
    }
    sdg_gdss_trainer_free(tr);
    sdg_gdss_model_free(m);
    free(w0), free(w1);

    /* weight decay is L2 added to the gradient (torch.optim.Adam): on Adam's first step the
     * update is lr g' / (|g'| + eps) with g' = g + wd w; AdamW would shrink w by lr wd w */
    m = tiny_model(false, 4);
    tp = sdg_gdss_train_default_params();
    tp.weight_decay = 100;
    tp.lr = 1e-3;
    tp.grad_clip = 1e9;
    CU_ASSERT_FATAL(sdg_gdss_trainer_new(m, gl, &tp, &tr) == SDG_OK);
    w0 = params_copy(m->params);
    CU_ASSERT_FATAL(sdg_gdss_trainer_step(tr, idx, 8, NULL, NULL) == SDG_OK);
    int64_t bad = 0, moved = 0, o = 0;
    for (size_t i = 0; i < sdg_params_count(m->params); i++) {
        const sdg_tensor *t = sdg_params_at(m->params, i);
        for (int64_t k = 0; k < t->size; k++, o++) {
            double g = (double)t->grad[k] + 100.0 * w0[o];
            double want = w0[o] - 1e-3 * g / (fabs(g) + 1e-8);
            if (fabs(t->data[k] - want) > 1e-6) bad++;
            if (t->data[k] != w0[o]) moved++;
        }
    }
    printf("\n  weight decay: %lld of %lld entries off the L2 prediction", (long long)bad, (long long)o);
    CU_ASSERT(bad == 0 && moved > o / 2);
    free(w0);
    sdg_gdss_trainer_free(tr);
    sdg_gdss_model_free(m);

    /* bad parameters */
    m = tiny_model(false, 5);
    tp = sdg_gdss_train_default_params();
    tp.batch = 0;
    CU_ASSERT(sdg_gdss_trainer_new(m, gl, &tp, &tr) == SDG_ERR_INVALID && tr == NULL);
    tp = sdg_gdss_train_default_params();
    tp.lr_decay = 1.5;
    CU_ASSERT(sdg_gdss_trainer_new(m, gl, &tp, &tr) == SDG_ERR_INVALID);
    sdg_gdss_model_free(m);
    sdg_graph_list_free(gl);
}

/* ---- training lowers the loss ---- */
static void test_training_reduces_loss(void) {
    sdg_graph_list *gl = tiny_graphs();
    fixed_batch fb = fixed_batch_new(gl, 77);
    sdg_gdss_model *m = tiny_model(false, 6);
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    double lx0, la0, lx1, la1;
    eval_loss(ctx, m, &fb, &lx0, &la0);
    sdg_gdss_train_params tp = sdg_gdss_train_default_params();
    tp.batch = 7;   /* 2 steps per epoch */
    tp.seed = 9;
    sdg_gdss_trainer *tr = NULL;
    CU_ASSERT_FATAL(sdg_gdss_trainer_new(m, gl, &tp, &tr) == SDG_OK);
    sdg_gdss_epoch_stats s = {0};
    for (int e = 0; e < 100; e++) CU_ASSERT_FATAL(sdg_gdss_trainer_epoch(tr, &s) == SDG_OK);
    CU_ASSERT(s.steps == 2 && s.graphs == 14 && sdg_gdss_trainer_epochs(tr) == 100);
    CU_ASSERT(fabs(s.lr / (0.01 * pow(0.999, 99)) - 1) < 1e-5);
    CU_ASSERT(fabs(sdg_adam_lr(sdg_gdss_trainer_adam(tr)) / (0.01 * pow(0.999, 100)) - 1) < 1e-5);
    eval_loss(ctx, m, &fb, &lx1, &la1);
    printf("\n  200 steps at fixed noise: loss_x %.3f -> %.3f, loss_adj %.3f -> %.3f", lx0, lx1, la0, la1);
    CU_ASSERT(lx1 < 0.6 * lx0);
    CU_ASSERT(la1 < 0.8 * la0);
    sdg_gdss_trainer_free(tr);
    sdg_gdss_model_free(m);
    sdg_ctx_free(ctx);
    fixed_batch_free(&fb);
    sdg_graph_list_free(gl);
}

/* community_small itself, a few epochs with the real preset (skipped without the data) */
static void test_community_small(void) {
    const char *dir = sdg_test_data_dir("graphs/community_small.txt");
    if (!dir) return;
    sdg_graph_list *train = NULL;
    CU_ASSERT_FATAL(sdg_graph_dataset_load(dir, "community_small", &train, NULL) == SDG_OK);
    CU_ASSERT(train->count == 80);
    sdg_gdss_params hx, ha;
    sdg_gdss_settings st;
    sdg_gdss_train_params tp;
    CU_ASSERT_FATAL(sdg_gdss_preset("community_small", &hx, &ha, &st, &tp) == SDG_OK);
    sdg_rng *r = NULL;
    sdg_gdss_model *m = NULL;
    sdg_gdss_trainer *tr = NULL;
    CU_ASSERT_FATAL(sdg_rng_stream(1, 0, &r) == SDG_OK);
    CU_ASSERT_FATAL(sdg_gdss_model_new(&hx, &ha, &st, r, &m) == SDG_OK);
    CU_ASSERT_FATAL(sdg_gdss_trainer_new(m, train, &tp, &tr) == SDG_OK);
    sdg_gdss_epoch_stats s0, s;
    CU_ASSERT_FATAL(sdg_gdss_trainer_epoch(tr, &s0) == SDG_OK);
    CU_ASSERT(s0.steps == 1 && s0.graphs == 80);
    double lx = 0, la = 0;
    for (int e = 0; e < 14; e++) {
        CU_ASSERT_FATAL(sdg_gdss_trainer_epoch(tr, &s) == SDG_OK);
        if (e >= 9) lx += s.loss_x / 5, la += s.loss_adj / 5;
    }
    printf("\n  community_small: epoch 1 loss_x %.2f loss_adj %.2f; epochs 11-15 %.2f %.2f", s0.loss_x, s0.loss_adj,
           lx, la);
    CU_ASSERT(lx < 0.7 * s0.loss_x && la < 0.8 * s0.loss_adj);
    sdg_gdss_trainer_free(tr);
    sdg_gdss_model_free(m);
    sdg_rng_free(r);
    sdg_graph_list_free(train);
}

/* ---- resume ---- */
static bool same_params(const sdg_params *a, const sdg_params *b) {
    if (sdg_params_count(a) != sdg_params_count(b)) return false;
    for (size_t i = 0; i < sdg_params_count(a); i++) {
        const sdg_tensor *x = sdg_params_at(a, i), *y = sdg_params_at(b, i);
        if (x->size != y->size || memcmp(x->data, y->data, (size_t)x->size * sizeof(float)) != 0) return false;
    }
    return true;
}

static bool same_adam(sdg_adam *a, sdg_adam *b, size_t n) {
    if (sdg_adam_steps(a) != sdg_adam_steps(b) || sdg_adam_lr(a) != sdg_adam_lr(b)) return false;
    for (size_t i = 0; i < n; i++)
        for (int w = 0; w < 2; w++) {
            const sdg_tensor *x = sdg_adam_moment(a, i, w), *y = sdg_adam_moment(b, i, w);
            if (memcmp(x->data, y->data, (size_t)x->size * sizeof(float)) != 0) return false;
        }
    return true;
}

static void test_resume(void) {
    sdg_graph_list *gl = tiny_graphs();
    char path[256], plain[256];
    snprintf(path, sizeof path, "/tmp/sdegen-test-train-%d.h5", (int)getpid());
    snprintf(plain, sizeof plain, "/tmp/sdegen-test-train-plain-%d.h5", (int)getpid());
    sdg_gdss_train_params tp = sdg_gdss_train_default_params();
    tp.batch = 5;   /* 3 steps per epoch, the last one smaller */
    tp.seed = 21;
    /* straight: 5 epochs */
    sdg_gdss_model *ma = tiny_model(false, 8);
    sdg_gdss_trainer *ta = NULL;
    CU_ASSERT_FATAL(sdg_gdss_trainer_new(ma, gl, &tp, &ta) == SDG_OK);
    for (int e = 0; e < 5; e++) CU_ASSERT_FATAL(sdg_gdss_trainer_epoch(ta, NULL) == SDG_OK);
    /* 3 epochs, save, drop everything, resume, 2 more */
    sdg_gdss_model *mb = tiny_model(false, 8);
    sdg_gdss_trainer *tb = NULL;
    CU_ASSERT_FATAL(sdg_gdss_flags_from_graphs(gl, TN, &mb->flags) == SDG_OK);
    CU_ASSERT_FATAL(sdg_gdss_trainer_new(mb, gl, &tp, &tb) == SDG_OK);
    for (int e = 0; e < 3; e++) CU_ASSERT_FATAL(sdg_gdss_trainer_epoch(tb, NULL) == SDG_OK);
    CU_ASSERT_FATAL(sdg_gdss_train_save(path, tb, "tiny") == SDG_OK);
    /* one more epoch that the resumed run must not see */
    CU_ASSERT_FATAL(sdg_gdss_trainer_epoch(tb, NULL) == SDG_OK);
    sdg_gdss_trainer_free(tb);
    sdg_gdss_model_free(mb);
    mb = NULL;
    tb = NULL;
    CU_ASSERT_FATAL(sdg_gdss_train_resume(path, gl, &mb, &tb) == SDG_OK);
    CU_ASSERT(sdg_gdss_trainer_epochs(tb) == 3);
    CU_ASSERT(sdg_gdss_trainer_params(tb)->batch == 5 && sdg_gdss_trainer_params(tb)->seed == 21);
    CU_ASSERT(mb->flags.count > 0);
    for (int e = 0; e < 2; e++) CU_ASSERT_FATAL(sdg_gdss_trainer_epoch(tb, NULL) == SDG_OK);
    CU_ASSERT(sdg_gdss_trainer_epochs(tb) == 5);
    CU_ASSERT(same_params(ma->params, mb->params));
    CU_ASSERT(same_params(sdg_ema_shadow(sdg_gdss_trainer_ema(ta)), sdg_ema_shadow(sdg_gdss_trainer_ema(tb))));
    CU_ASSERT(same_adam(sdg_gdss_trainer_adam(ta), sdg_gdss_trainer_adam(tb), sdg_params_count(ma->params)));
    /* and without the resume the runs differ (the comparison can fail) */
    CU_ASSERT_FATAL(sdg_gdss_trainer_epoch(tb, NULL) == SDG_OK);
    CU_ASSERT(!same_params(ma->params, mb->params));

    /* the training file is a GDSS model file: weights, or EMA weights when use_ema */
    CU_ASSERT_FATAL(sdg_gdss_train_save(path, ta, "tiny") == SDG_OK);
    sdg_gdss_model *ml = NULL;
    CU_ASSERT_FATAL(sdg_gdss_model_load(path, &ml) == SDG_OK);
    CU_ASSERT(!ml->weights_ema && same_params(ml->params, ma->params));
    sdg_gdss_model_free(ml);
    ma->settings.use_ema = true;
    CU_ASSERT_FATAL(sdg_gdss_train_save(path, ta, "tiny") == SDG_OK);
    CU_ASSERT_FATAL(sdg_gdss_model_load(path, &ml) == SDG_OK);
    CU_ASSERT(ml->weights_ema && same_params(ml->params, sdg_ema_shadow(sdg_gdss_trainer_ema(ta))));
    sdg_gdss_model_free(ml);

    /* a plain model file cannot be resumed; a missing file names itself */
    CU_ASSERT_FATAL(sdg_gdss_model_save(ma, plain) == SDG_OK);
    sdg_gdss_model *mr = NULL;
    sdg_gdss_trainer *tr = NULL;
    CU_ASSERT(sdg_gdss_train_resume(plain, gl, &mr, &tr) == SDG_ERR_FORMAT && mr == NULL && tr == NULL);
    CU_ASSERT(strstr(sdg_errmsg(), "not a GDSS training checkpoint") != NULL);
    CU_ASSERT(sdg_gdss_train_resume("/nonexistent/x.h5", gl, &mr, &tr) != SDG_OK);
    CU_ASSERT(strstr(sdg_errmsg(), "/nonexistent/x.h5") != NULL);
    remove(path);
    remove(plain);
    sdg_gdss_trainer_free(ta);
    sdg_gdss_trainer_free(tb);
    sdg_gdss_model_free(ma);
    sdg_gdss_model_free(mb);
    sdg_graph_list_free(gl);
}

int main(void) {
    return sdg_test_main("graph/gdss_train", (sdg_test_case[]){
        {"presets of the generic datasets", test_presets},
        {"loss = README section 9 (VP, VE) and its gradients", test_loss_reference},
        {"clipping per network, EMA warm-up, L2 weight decay", test_optimiser},
        {"training lowers the loss at fixed noise", test_training_reduces_loss},
        {"community_small: loss falls in 15 epochs", test_community_small},
        {"resume is bit-identical; the file is a GDSS model", test_resume},
        {NULL, NULL}});
}
