/* Adam / AdamW against closed-form updates, an MLP fit, clipping, EMA, LR decay, determinism.
 * The MLP's forward and backward are plain loops here, so this file depends only on
 * sdg_params and the optimisers, not on the nn ops. */
#include "test_util.h"

/* ---- Adam against the closed-form recursion (double precision reference) ---- */
/* Quadratic loss L = sum_k 0.5 a_k (w_k - c_k)^2, so g_k = a_k (w_k - c_k). */
#define QN 6
static const double qa[QN] = {1.0, 2.5, 0.3, 4.0, 0.01, 1.7};
static const double qc[QN] = {0.5, -1.0, 2.0, 0.0, 3.0, -0.25};
static const double qw0[QN] = {-0.3, 0.7, 1.1, -2.0, 0.4, 0.05};

static void quad_grad(sdg_tensor *w) {
    for (int k = 0; k < QN; k++) w->grad[k] = (float)(qa[k] * ((double)w->data[k] - qc[k]));
}

static void check_adam(bool decoupled, float wd) {
    sdg_params *p = NULL;
    sdg_adam *opt = NULL;
    sdg_tensor *w = NULL;
    CU_ASSERT_FATAL(sdg_params_new(&p) == SDG_OK);
    CU_ASSERT_FATAL(sdg_params_add(p, "w", 2, (int64_t[]){2, 3}, &w) == SDG_OK);
    for (int k = 0; k < QN; k++) w->data[k] = (float)qw0[k];
    sdg_adam_params hp = sdg_adam_default_params();
    hp.lr = 0.1f;
    hp.beta1 = 0.8f;
    hp.beta2 = 0.99f;
    hp.eps = 1e-3f;   /* large enough to matter in the comparison */
    hp.weight_decay = wd;
    hp.decoupled = decoupled;
    CU_ASSERT_FATAL(sdg_adam_new(&hp, p, &opt) == SDG_OK);

    double rw[QN], m[QN] = {0}, v[QN] = {0};
    const double lr = hp.lr, b1 = hp.beta1, b2 = hp.beta2, eps = hp.eps, lam = wd;
    for (int k = 0; k < QN; k++) rw[k] = (double)(float)qw0[k];
    for (int t = 1; t <= 2; t++) {
        /* gradients from the optimiser's own current weights (both stay within 1e-6) */
        quad_grad(w);
        for (int k = 0; k < QN; k++) {
            double g = w->grad[k];
            double x = rw[k];
            if (decoupled) x *= 1.0 - lr * lam;   /* AdamW: decay the weight   */
            else g += lam * rw[k];                /* Adam: L2 in the gradient  */
            m[k] = b1 * m[k] + (1 - b1) * g;
            v[k] = b2 * v[k] + (1 - b2) * g * g;
            double mhat = m[k] / (1 - pow(b1, t)), vhat = v[k] / (1 - pow(b2, t));
            rw[k] = x - lr * mhat / (sqrt(vhat) + eps);
        }
        CU_ASSERT_EQUAL_FATAL(sdg_adam_step(opt), SDG_OK);
        CU_ASSERT_EQUAL(sdg_adam_steps(opt), t);
        const sdg_tensor *tm = sdg_adam_moment(opt, 0, 0), *tv = sdg_adam_moment(opt, 0, 1);
        for (int k = 0; k < QN; k++) {
            CU_ASSERT_DOUBLE_EQUAL(w->data[k], rw[k], 1e-6 * (1 + fabs(rw[k])));
            CU_ASSERT_DOUBLE_EQUAL(tm->data[k], m[k], 1e-6 * (1 + fabs(m[k])));
            CU_ASSERT_DOUBLE_EQUAL(tv->data[k], v[k], 1e-6 * (1 + fabs(v[k])));
        }
        if (t == 1 && wd == 0.0f) {
            /* first step without decay: w1 = w0 - lr g / (|g| + eps) */
            for (int k = 0; k < QN; k++) {
                double g = qa[k] * ((double)(float)qw0[k] - qc[k]);
                CU_ASSERT_DOUBLE_EQUAL(w->data[k], (double)(float)qw0[k] - lr * g / (fabs(g) + eps), 1e-6);
            }
        }
    }
    CU_ASSERT_PTR_NULL(sdg_adam_moment(opt, 1, 0));
    CU_ASSERT_PTR_NULL(sdg_adam_moment(opt, 0, 2));
    sdg_adam_free(opt);
    sdg_params_free(p);
}

static void test_adam_closed_form(void) { check_adam(false, 0.0f); }
static void test_adam_l2(void) { check_adam(false, 0.3f); }
static void test_adamw(void) { check_adam(true, 0.3f); }

static void test_adam_defaults_and_errors(void) {
    sdg_adam_params hp = sdg_adam_default_params();
    CU_ASSERT_EQUAL(hp.lr, 1e-3f);
    CU_ASSERT_EQUAL(hp.beta1, 0.9f);
    CU_ASSERT_EQUAL(hp.beta2, 0.999f);
    CU_ASSERT_EQUAL(hp.eps, 1e-8f);
    CU_ASSERT_EQUAL(hp.weight_decay, 0.0f);
    CU_ASSERT_FALSE(hp.decoupled);
    CU_ASSERT_EQUAL(hp.lr_decay, 1.0f);

    sdg_params *p = NULL;
    sdg_adam *opt = NULL;
    CU_ASSERT_FATAL(sdg_params_new(&p) == SDG_OK);
    CU_ASSERT_FATAL(sdg_params_add(p, "a", 1, (int64_t[]){3}, NULL) == SDG_OK);
    sdg_adam_params bad = hp;
    bad.beta1 = 1.0f;
    CU_ASSERT_EQUAL(sdg_adam_new(&bad, p, &opt), SDG_ERR_INVALID);
    CU_ASSERT_PTR_NULL(opt);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "betas"));
    bad = hp;
    bad.lr = -1.0f;
    CU_ASSERT_EQUAL(sdg_adam_new(&bad, p, &opt), SDG_ERR_INVALID);
    /* a parameter added after the optimiser was built is refused, not ignored */
    CU_ASSERT_FATAL(sdg_adam_new(&hp, p, &opt) == SDG_OK);
    CU_ASSERT_FATAL(sdg_params_add(p, "b", 1, (int64_t[]){2}, NULL) == SDG_OK);
    CU_ASSERT_EQUAL(sdg_adam_step(opt), SDG_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "built for 1"));
    sdg_adam_free(opt);
    sdg_adam_free(NULL);
    sdg_params_free(p);
}

static void test_lr_decay(void) {
    sdg_params *p = NULL;
    sdg_adam *opt = NULL;
    CU_ASSERT_FATAL(sdg_params_new(&p) == SDG_OK);
    CU_ASSERT_FATAL(sdg_params_add(p, "a", 1, (int64_t[]){3}, NULL) == SDG_OK);
    sdg_adam_params hp = sdg_adam_default_params();
    hp.lr = 2e-3f;
    hp.lr_decay = 0.9f;
    CU_ASSERT_FATAL(sdg_adam_new(&hp, p, &opt) == SDG_OK);
    CU_ASSERT_EQUAL(sdg_adam_lr(opt), 2e-3f);
    for (int k = 1; k <= 20; k++) {
        sdg_adam_decay_lr(opt);
        double want = 2e-3 * pow(0.9, k);
        CU_ASSERT_DOUBLE_EQUAL(sdg_adam_lr(opt), want, 1e-6 * want);
    }
    sdg_adam_set_state(opt, 42, 5e-4f);
    CU_ASSERT_EQUAL(sdg_adam_steps(opt), 42);
    CU_ASSERT_EQUAL(sdg_adam_lr(opt), 5e-4f);
    sdg_adam_free(opt);
    sdg_params_free(p);
}

/* ---- clipping ---- */
static void test_clip(void) {
    sdg_params *p = NULL;
    sdg_tensor *a = NULL, *b = NULL;
    CU_ASSERT_FATAL(sdg_params_new(&p) == SDG_OK);
    CU_ASSERT_FATAL(sdg_params_add(p, "a", 2, (int64_t[]){2, 2}, &a) == SDG_OK);
    CU_ASSERT_FATAL(sdg_params_add(p, "b", 1, (int64_t[]){3}, &b) == SDG_OK);
    const float ga[4] = {3, -4, 1, 2}, gb[3] = {-2, 0.5f, 6};
    double ss = 0;
    for (int k = 0; k < 4; k++) ss += (double)ga[k] * ga[k];
    for (int k = 0; k < 3; k++) ss += (double)gb[k] * gb[k];
    const double norm = sqrt(ss);

    /* below the threshold: reported, untouched (bit for bit) */
    memcpy(a->grad, ga, sizeof ga);
    memcpy(b->grad, gb, sizeof gb);
    float got = -1;
    CU_ASSERT_EQUAL(sdg_params_clip_grad_norm(p, (float)(2 * norm), &got), SDG_OK);
    CU_ASSERT_DOUBLE_EQUAL(got, norm, 1e-6 * norm);
    CU_ASSERT_EQUAL(memcmp(a->grad, ga, sizeof ga), 0);
    CU_ASSERT_EQUAL(memcmp(b->grad, gb, sizeof gb), 0);

    /* above: scaled by max_norm / (norm + 1e-6), so the new norm is max_norm */
    const float max_norm = 1.5f;
    CU_ASSERT_EQUAL(sdg_params_clip_grad_norm(p, max_norm, &got), SDG_OK);
    CU_ASSERT_DOUBLE_EQUAL(got, norm, 1e-6 * norm);
    const float coef = (float)(max_norm / (norm + 1e-6));
    double ss2 = 0;
    for (int k = 0; k < 4; k++) {
        CU_ASSERT_EQUAL(a->grad[k], ga[k] * coef);
        ss2 += (double)a->grad[k] * a->grad[k];
    }
    for (int k = 0; k < 3; k++) {
        CU_ASSERT_EQUAL(b->grad[k], gb[k] * coef);
        ss2 += (double)b->grad[k] * b->grad[k];
    }
    CU_ASSERT_DOUBLE_EQUAL(sqrt(ss2), max_norm, 1e-5);

    /* NULL norm is allowed; bad max_norm and non-finite gradients are reported */
    CU_ASSERT_EQUAL(sdg_params_clip_grad_norm(p, 100.0f, NULL), SDG_OK);
    CU_ASSERT_EQUAL(sdg_params_clip_grad_norm(p, 0.0f, NULL), SDG_ERR_INVALID);
    b->grad[1] = NAN;
    float before = a->grad[0];
    CU_ASSERT_EQUAL(sdg_params_clip_grad_norm(p, 1.0f, &got), SDG_ERR_NUMERIC);
    CU_ASSERT(isnan(got));
    CU_ASSERT_EQUAL(a->grad[0], before);
    sdg_params_free(p);
}

/* ---- EMA ---- */
static void test_ema(void) {
    sdg_params *p = NULL;
    sdg_ema *e = NULL;
    sdg_tensor *w = NULL, *u = NULL;
    CU_ASSERT_FATAL(sdg_params_new(&p) == SDG_OK);
    CU_ASSERT_FATAL(sdg_params_add(p, "layer.w", 2, (int64_t[]){3, 2}, &w) == SDG_OK);
    CU_ASSERT_FATAL(sdg_params_add(p, "layer.u", 1, (int64_t[]){4}, &u) == SDG_OK);
    float s0w[6], s0u[4];
    for (int k = 0; k < 6; k++) s0w[k] = w->data[k] = 0.3f * (float)k - 1.0f;
    for (int k = 0; k < 4; k++) s0u[k] = u->data[k] = 2.0f - 0.7f * (float)k;

    CU_ASSERT_EQUAL(sdg_ema_new(p, 1.5f, &e), SDG_ERR_INVALID);
    CU_ASSERT_PTR_NULL(e);
    const float d = 0.9f;
    CU_ASSERT_FATAL(sdg_ema_new(p, d, &e) == SDG_OK);
    CU_ASSERT_EQUAL(sdg_ema_decay(e), d);
    sdg_params *sh = sdg_ema_shadow(e);
    CU_ASSERT_EQUAL_FATAL(sdg_params_count(sh), 2);
    CU_ASSERT_STRING_EQUAL(sdg_params_at(sh, 0)->name, "layer.w");
    CU_ASSERT_STRING_EQUAL(sdg_params_at(sh, 1)->name, "layer.u");
    CU_ASSERT(sdg_tensor_same_shape(sdg_params_at(sh, 0), w));
    CU_ASSERT_EQUAL(memcmp(sdg_params_at(sh, 0)->data, s0w, sizeof s0w), 0);   /* a copy */

    /* constant params p: after k updates, shadow = p + d^k (s0 - p) */
    float pw[6], pu[4];
    for (int k = 0; k < 6; k++) pw[k] = w->data[k] = 1.0f + 0.5f * (float)k;
    for (int k = 0; k < 4; k++) pu[k] = u->data[k] = -0.25f * (float)k;
    const int steps = 25;
    for (int s = 0; s < steps; s++) sdg_ema_update(e);
    double dk = pow((double)d, steps);
    for (int k = 0; k < 6; k++)
        CU_ASSERT_DOUBLE_EQUAL(sdg_params_at(sh, 0)->data[k], pw[k] + dk * (s0w[k] - pw[k]), 2e-6);
    for (int k = 0; k < 4; k++)
        CU_ASSERT_DOUBLE_EQUAL(sdg_params_at(sh, 1)->data[k], pu[k] + dk * (s0u[k] - pu[k]), 2e-6);
    /* the model itself is untouched */
    CU_ASSERT_EQUAL(memcmp(w->data, pw, sizeof pw), 0);
    sdg_ema_free(e);
    sdg_ema_free(NULL);
    sdg_params_free(p);
}

/* ---- a 2 -> H -> H -> 1 tanh MLP with hand-written forward and backward ---- */
#define NPTS 256
#define HID 32

typedef struct mlp {
    sdg_params *p;
    sdg_tensor *w1, *b1, *w2, *b2, *w3, *b3;
} mlp;

static void mlp_init(mlp *m, uint64_t seed) {
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(seed, &rng) == SDG_OK);
    CU_ASSERT_FATAL(sdg_params_new(&m->p) == SDG_OK);
    CU_ASSERT_FATAL(sdg_params_add(m->p, "l1.weight", 2, (int64_t[]){HID, 2}, &m->w1) == SDG_OK);
    CU_ASSERT_FATAL(sdg_params_add(m->p, "l1.bias", 1, (int64_t[]){HID}, &m->b1) == SDG_OK);
    CU_ASSERT_FATAL(sdg_params_add(m->p, "l2.weight", 2, (int64_t[]){HID, HID}, &m->w2) == SDG_OK);
    CU_ASSERT_FATAL(sdg_params_add(m->p, "l2.bias", 1, (int64_t[]){HID}, &m->b2) == SDG_OK);
    CU_ASSERT_FATAL(sdg_params_add(m->p, "l3.weight", 2, (int64_t[]){1, HID}, &m->w3) == SDG_OK);
    CU_ASSERT_FATAL(sdg_params_add(m->p, "l3.bias", 1, (int64_t[]){1}, &m->b3) == SDG_OK);
    const float s2 = 1.0f / sqrtf(2.0f), sh = 1.0f / sqrtf((float)HID);
    sdg_param_init_uniform(m->w1, s2, rng);
    sdg_param_init_uniform(m->b1, s2, rng);
    sdg_param_init_uniform(m->w2, sh, rng);
    sdg_param_init_uniform(m->b2, sh, rng);
    sdg_param_init_uniform(m->w3, sh, rng);
    sdg_param_init_uniform(m->b3, sh, rng);
    sdg_rng_free(rng);
}

/* MSE over the n points (x: (n, 2), y: (n)); adds d(MSE)/d(params) to the grads if grad. */
static double mlp_loss(mlp *m, const float *x, const float *y, int n, bool grad) {
    double loss = 0;
    for (int i = 0; i < n; i++) {
        float h1[HID], h2[HID], d2[HID], d1[HID];
        for (int j = 0; j < HID; j++) {
            float z = m->b1->data[j];
            for (int k = 0; k < 2; k++) z += m->w1->data[j * 2 + k] * x[i * 2 + k];
            h1[j] = tanhf(z);
        }
        for (int j = 0; j < HID; j++) {
            float z = m->b2->data[j];
            for (int k = 0; k < HID; k++) z += m->w2->data[j * HID + k] * h1[k];
            h2[j] = tanhf(z);
        }
        float out = m->b3->data[0];
        for (int k = 0; k < HID; k++) out += m->w3->data[k] * h2[k];
        float r = out - y[i];
        loss += (double)r * r;
        if (!grad) continue;
        float dout = 2.0f * r / (float)n;
        m->b3->grad[0] += dout;
        for (int k = 0; k < HID; k++) {
            m->w3->grad[k] += dout * h2[k];
            d2[k] = dout * m->w3->data[k] * (1 - h2[k] * h2[k]);
        }
        for (int k = 0; k < HID; k++) d1[k] = 0;
        for (int j = 0; j < HID; j++) {
            m->b2->grad[j] += d2[j];
            for (int k = 0; k < HID; k++) {
                m->w2->grad[j * HID + k] += d2[j] * h1[k];
                d1[k] += d2[j] * m->w2->data[j * HID + k];
            }
        }
        for (int j = 0; j < HID; j++) {
            float dz = d1[j] * (1 - h1[j] * h1[j]);
            m->b1->grad[j] += dz;
            for (int k = 0; k < 2; k++) m->w1->grad[j * 2 + k] += dz * x[i * 2 + k];
        }
    }
    return loss / n;
}

static void make_data(float *x, float *y, uint64_t seed) {
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(seed, &rng) == SDG_OK);
    sdg_rng_fill_uniform(rng, x, 2 * NPTS, -1.5f, 1.5f);
    for (int i = 0; i < NPTS; i++) y[i] = sinf(2 * x[2 * i]) * cosf(x[2 * i + 1]);
    sdg_rng_free(rng);
}

/* Full-batch training; returns the final MSE and leaves the model in *m (caller frees m->p).
 * With ema_out, also runs clipping and an EMA in the loop (for the determinism test). */
static double mlp_train(mlp *m, int steps, float lr, double *first, bool extras, float **ema_out) {
    float x[2 * NPTS], y[NPTS];
    make_data(x, y, 11);
    mlp_init(m, 5);
    sdg_adam *opt = NULL;
    sdg_ema *ema = NULL;
    sdg_adam_params hp = sdg_adam_default_params();
    hp.lr = lr;
    CU_ASSERT_FATAL(sdg_adam_new(&hp, m->p, &opt) == SDG_OK);
    if (extras) CU_ASSERT_FATAL(sdg_ema_new(m->p, 0.99f, &ema) == SDG_OK);
    double loss = 0;
    for (int s = 0; s < steps; s++) {
        sdg_params_zero_grad(m->p);
        loss = mlp_loss(m, x, y, NPTS, true);
        if (s == 0 && first) *first = loss;
        if (extras) CU_ASSERT_EQUAL(sdg_params_clip_grad_norm(m->p, 0.5f, NULL), SDG_OK);
        CU_ASSERT_EQUAL_FATAL(sdg_adam_step(opt), SDG_OK);
        if (extras) sdg_ema_update(ema);
    }
    loss = mlp_loss(m, x, y, NPTS, false);
    if (ema_out) {
        sdg_params *sh = sdg_ema_shadow(ema);
        int64_t n = sdg_params_numel(sh), off = 0;
        *ema_out = malloc((size_t)n * sizeof(float));
        for (size_t i = 0; i < sdg_params_count(sh); i++) {
            const sdg_tensor *t = sdg_params_at(sh, i);
            memcpy(*ema_out + off, t->data, (size_t)t->size * sizeof(float));
            off += t->size;
        }
    }
    sdg_ema_free(ema);
    sdg_adam_free(opt);
    return loss;
}

/* y = sin(2 x1) cos(x2) on 256 points of [-1.5, 1.5]^2: 1500 full-batch Adam steps at
 * lr 1e-2 bring the MSE from 0.49 to 1.1e-5 (measured). The bar, 1e-4, is out of reach of
 * plain gradient descent with the same steps at its best rate (measured: 2.6e-3 at lr 0.1,
 * 6.6e-2 at lr 1e-2, divergence at 0.5), so a broken update rule does not pass. */
static void test_adam_fits_mlp(void) {
    mlp m = {0};
    double first = 0;
    double final = mlp_train(&m, 1500, 1e-2f, &first, false, NULL);
    printf("\n    MLP fit: MSE %.3g -> %.3g ", first, final);
    CU_ASSERT(first > 0.1);
    CU_ASSERT(final < 1e-4);
    CU_ASSERT(final * 10 < first);
    sdg_params_free(m.p);
}

/* Two identical runs (with clipping and EMA) give bit-identical weights and shadows. */
static void test_determinism(void) {
    mlp a = {0}, b = {0};
    float *ea = NULL, *eb = NULL;
    mlp_train(&a, 60, 1e-2f, NULL, true, &ea);
    mlp_train(&b, 60, 1e-2f, NULL, true, &eb);
    for (size_t i = 0; i < sdg_params_count(a.p); i++) {
        const sdg_tensor *ta = sdg_params_at(a.p, i), *tb = sdg_params_at(b.p, i);
        CU_ASSERT_EQUAL(memcmp(ta->data, tb->data, (size_t)ta->size * sizeof(float)), 0);
    }
    CU_ASSERT_EQUAL(memcmp(ea, eb, (size_t)sdg_params_numel(a.p) * sizeof(float)), 0);
    free(ea);
    free(eb);
    sdg_params_free(a.p);
    sdg_params_free(b.p);
}

/* A tensor large enough for the OpenMP loops: 1 and 2 threads give the same bits. */
static void big_run(int threads, float *out, int64_t n) {
    sdg_params *p = NULL;
    sdg_tensor *w = NULL;
    sdg_adam *opt = NULL;
    sdg_ema *ema = NULL;
    sdg_set_num_threads(threads);
    CU_ASSERT_FATAL(sdg_params_new(&p) == SDG_OK);
    CU_ASSERT_FATAL(sdg_params_add(p, "w", 1, &n, &w) == SDG_OK);
    for (int64_t k = 0; k < n; k++) w->data[k] = sinf((float)k * 0.001f);
    sdg_adam_params hp = sdg_adam_default_params();
    hp.weight_decay = 0.01f;
    hp.decoupled = true;
    CU_ASSERT_FATAL(sdg_adam_new(&hp, p, &opt) == SDG_OK);
    CU_ASSERT_FATAL(sdg_ema_new(p, 0.999f, &ema) == SDG_OK);
    for (int s = 0; s < 5; s++) {
        for (int64_t k = 0; k < n; k++) w->grad[k] = w->data[k] - cosf((float)k * 0.002f);
        CU_ASSERT_EQUAL(sdg_params_clip_grad_norm(p, 10.0f, NULL), SDG_OK);
        CU_ASSERT_EQUAL(sdg_adam_step(opt), SDG_OK);
        sdg_ema_update(ema);
    }
    memcpy(out, w->data, (size_t)n * sizeof(float));
    memcpy(out + n, sdg_params_at(sdg_ema_shadow(ema), 0)->data, (size_t)n * sizeof(float));
    sdg_ema_free(ema);
    sdg_adam_free(opt);
    sdg_params_free(p);
}

static void test_threads(void) {
    const int64_t n = 200000;
    float *a = malloc(2 * (size_t)n * sizeof(float)), *b = malloc(2 * (size_t)n * sizeof(float));
    CU_ASSERT_FATAL(a && b);
    int old = sdg_num_threads();
    big_run(1, a, n);
    big_run(2, b, n);
    sdg_set_num_threads(old);
    CU_ASSERT_EQUAL(memcmp(a, b, 2 * (size_t)n * sizeof(float)), 0);
    free(a);
    free(b);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"Adam: two steps match the closed form", test_adam_closed_form},
        {"Adam with L2 weight decay: two steps", test_adam_l2},
        {"AdamW (decoupled decay): two steps", test_adamw},
        {"Adam defaults and argument errors", test_adam_defaults_and_errors},
        {"exponential LR decay and set_state", test_lr_decay},
        {"global gradient-norm clipping", test_clip},
        {"EMA: shadow = p + d^k (s0 - p)", test_ema},
        {"Adam fits a 2-32-32-1 tanh MLP", test_adam_fits_mlp},
        {"determinism: identical runs, identical bits", test_determinism},
        {"1 and 2 OpenMP threads give the same bits", test_threads},
        {NULL, NULL},
    };
    return sdg_test_main("nn/optim", cases);
}
