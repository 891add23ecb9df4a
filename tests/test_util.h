/* Shared test helpers: a CUnit main, and the finite-difference gradient check for nn ops.
 * Included by one test file per executable, so everything here is static. */
#ifndef SDG_TEST_UTIL_H
#define SDG_TEST_UTIL_H
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sdegen/sdegen.h"

/* ---- CUnit main: register (name, fn) pairs, run, exit status = verdict ---- */
typedef struct { const char *name; void (*fn)(void); } sdg_test_case;

static inline int sdg_test_main(const char *suite, const sdg_test_case *cases) {
    if (sdg_init() != SDG_OK) return 1;
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite(suite, NULL, NULL);
    for (const sdg_test_case *c = cases; c->name; c++) CU_add_test(s, c->name, c->fn);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return fails != 0;
}

/* Directory of the shared data (../shared), or NULL when absent: tests then exit 77. */
static inline const char *sdg_test_shared_dir(void) {
    const char *d = getenv("SDEGEN_SHARED");
    return (d && *d) ? d : NULL;
}

/* Data directory ($SDEGEN_DATA) holding the relative file probe, or NULL (the caller exits 77). */
static inline const char *sdg_test_data_dir(const char *probe_rel) {
    const char *d = getenv("SDEGEN_DATA");
    if (!d || !*d) {
        printf("SDEGEN_DATA not set: skipped\n");
        return NULL;
    }
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/%s", d, probe_rel);
    FILE *f = fopen(probe, "r");
    if (!f) {
        printf("%s absent: skipped\n", probe);
        return NULL;
    }
    fclose(f);
    return d;
}

/* x[0..n) <- U(-1, 1) from the stream of seed. */
static inline void sdg_test_fill(float *x, int64_t n, uint64_t seed) {
    sdg_rng *r = NULL;
    if (sdg_rng_new(seed, &r) != SDG_OK) return;
    sdg_rng_fill_uniform(r, x, (size_t)n, -1.0f, 1.0f);
    sdg_rng_free(r);
}

/* max |got - want| / max(max |want|, 1e-6): the error relative to the reference's scale. */
static inline double sdg_test_rel_err(const float *got, const double *want, int64_t n) {
    double e = 0, m = 1e-6;
    for (int64_t i = 0; i < n; i++) {
        e = fmax(e, fabs((double)got[i] - want[i]));
        m = fmax(m, fabs(want[i]));
    }
    return e / m;
}

/* ---- finite-difference gradient check ----
 * f builds y from the inputs in a ctx. The check compares, for L = sum(r * y) with a fixed
 * random r, the tape's dL/dx with a 4-point central difference
 *   (-L(x+2h) + 8 L(x+h) - 8 L(x-h) + L(x-2h)) / 12h
 * accumulated in double, on every element (or max_checks random ones) of each input.
 * Metric: |analytic - numeric| / max(|analytic|, |numeric|, floor) <= tol. A wrong sign or
 * a missing term gives errors of order 1; float32 rounding stays near 1e-3. */
#define GC_MAX_IN 4
typedef sdg_tensor *(*gc_fn)(sdg_ctx *ctx, sdg_tensor **in, void *ud);

typedef struct gc_spec {
    int          n_in;
    int          ndim[GC_MAX_IN];
    int64_t      shape[GC_MAX_IN][SDG_MAX_DIMS];
    bool         no_grad[GC_MAX_IN];   /* inputs that are constants (masks, flags)        */
    const float *init[GC_MAX_IN];      /* fixed data; NULL: uniform in [lo, hi]           */
    float        lo, hi;
    double       h, tol, floor;        /* 0: defaults 1e-2, 2e-2, 1e-2                     */
    float        kink;                 /* skip elements within 2h of this point if set    */
    bool         has_kink;
    int          max_checks;           /* per input; 0 = all elements                     */
} gc_spec;

static inline double gc_loss(sdg_ctx *ctx, gc_fn f, void *ud, const gc_spec *sp, float **buf,
                      const float *r, int64_t *ysize) {
    sdg_ctx_reset(ctx);
    bool old = sdg_ctx_set_grad(ctx, false);
    sdg_tensor *in[GC_MAX_IN] = {0};
    for (int i = 0; i < sp->n_in; i++) in[i] = sdg_tensor_from(ctx, sp->ndim[i], sp->shape[i], buf[i]);
    sdg_tensor *y = f(ctx, in, ud);
    sdg_ctx_set_grad(ctx, old);
    if (!y) return NAN;
    if (ysize) *ysize = y->size;
    double L = 0;
    if (r)
        for (int64_t k = 0; k < y->size; k++) L += (double)r[k] * (double)y->data[k];
    return L;
}

/* Returns the number of mismatching elements (0 = pass); prints the first few. */
static inline int sdg_gradcheck(const char *label, gc_fn f, void *ud, const gc_spec *spec, uint64_t seed) {
    gc_spec sp = *spec;
    if (sp.h == 0) sp.h = 1e-2;
    if (sp.tol == 0) sp.tol = 2e-2;
    if (sp.floor == 0) sp.floor = 1e-2;
    if (sp.lo == 0 && sp.hi == 0) { sp.lo = -1.0f; sp.hi = 1.0f; }
    sdg_ctx *ctx = NULL;
    sdg_rng *rng = NULL;
    float *buf[GC_MAX_IN] = {0}, *ana[GC_MAX_IN] = {0}, *r = NULL;
    int bad = 0, checked = 0;
    if (sdg_ctx_new(1 << 20, &ctx) != SDG_OK || sdg_rng_new(seed, &rng) != SDG_OK) {
        printf("%s: setup failed: %s\n", label, sdg_errmsg());
        bad = 1;
        goto done;
    }
    for (int i = 0; i < sp.n_in; i++) {
        int64_t n = 1;
        for (int d = 0; d < sp.ndim[i]; d++) n *= sp.shape[i][d];
        buf[i] = malloc((size_t)n * sizeof(float));
        ana[i] = calloc((size_t)n, sizeof(float));
        if (sp.init[i]) memcpy(buf[i], sp.init[i], (size_t)n * sizeof(float));
        else sdg_rng_fill_uniform(rng, buf[i], (size_t)n, sp.lo, sp.hi);
    }
    /* analytic gradients */
    int64_t ysize = 0;
    sdg_ctx_reset(ctx);
    sdg_tensor *in[GC_MAX_IN] = {0};
    for (int i = 0; i < sp.n_in; i++) {
        in[i] = sdg_tensor_from(ctx, sp.ndim[i], sp.shape[i], buf[i]);
        if (!sp.no_grad[i]) sdg_tensor_requires_grad(ctx, in[i]);
    }
    sdg_tensor *y = f(ctx, in, ud);
    if (!y || sdg_ctx_status(ctx) != SDG_OK) {
        printf("%s: forward failed: %s\n", label, sdg_errmsg());
        bad = 1;
        goto done;
    }
    ysize = y->size;
    r = malloc((size_t)ysize * sizeof(float));
    sdg_rng_fill_uniform(rng, r, (size_t)ysize, -1.0f, 1.0f);
    if (!y->grad) {
        printf("%s: output carries no gradient\n", label);
        bad = 1;
        goto done;
    }
    memcpy(y->grad, r, (size_t)ysize * sizeof(float));
    if (ysize == 1) y->grad[0] -= 1.0f;  /* sdg_backward adds the scalar seed 1 itself */
    if (sdg_backward(ctx, y) != SDG_OK) {
        printf("%s: backward failed: %s\n", label, sdg_errmsg());
        bad = 1;
        goto done;
    }
    for (int i = 0; i < sp.n_in; i++)
        if (!sp.no_grad[i]) memcpy(ana[i], in[i]->grad, (size_t)in[i]->size * sizeof(float));
    /* numeric gradients */
    for (int i = 0; i < sp.n_in; i++) {
        if (sp.no_grad[i]) continue;
        int64_t n = 1;
        for (int d = 0; d < sp.ndim[i]; d++) n *= sp.shape[i][d];
        int64_t m = (sp.max_checks && sp.max_checks < n) ? sp.max_checks : n;
        for (int64_t c = 0; c < m; c++) {
            int64_t k = (m == n) ? c : (int64_t)sdg_rng_uint(rng, (uint64_t)n);
            float x0 = buf[i][k];
            if (sp.has_kink && fabsf(x0 - sp.kink) < 2.5f * (float)sp.h) continue;
            double L[4];
            const double off[4] = {2, 1, -1, -2};
            for (int s = 0; s < 4; s++) {
                buf[i][k] = x0 + (float)(off[s] * sp.h);
                L[s] = gc_loss(ctx, f, ud, &sp, buf, r, NULL);
            }
            buf[i][k] = x0;
            double num = (-L[0] + 8 * L[1] - 8 * L[2] + L[3]) / (12 * sp.h);
            double a = ana[i][k];
            double den = fmax(fmax(fabs(a), fabs(num)), sp.floor);
            checked++;
            if (!(fabs(a - num) / den <= sp.tol)) {
                if (bad < 5)
                    printf("%s: input %d element %lld: analytic %.6g numeric %.6g\n", label, i,
                           (long long)k, a, num);
                bad++;
            }
        }
    }
    if (checked == 0) {
        printf("%s: no element was checked\n", label);
        bad++;
    }
done:
    for (int i = 0; i < GC_MAX_IN; i++) {
        free(buf[i]);
        free(ana[i]);
    }
    free(r);
    sdg_rng_free(rng);
    sdg_ctx_free(ctx);
    return bad;
}

/* Shape helper for specs: GC_SHAPE(spec, input, ndim, d0, d1, ...) */
#define GC_SHAPE(sp, i, nd, ...)                                                              \
    do {                                                                                      \
        const int64_t _s[] = {__VA_ARGS__};                                                   \
        (sp).ndim[i] = (nd);                                                                  \
        for (int _d = 0; _d < (nd); _d++) (sp).shape[i][_d] = _s[_d];                         \
    } while (0)

/* A molecule from SMILES with explicit H and 3-D coordinates (Open Babel, embedding seed). */
static inline sdg_mol *sdg_test_mol_3d(const char *smiles, uint64_t seed) {
    sdg_mol *m = NULL, *e = NULL;
    sdg_rng *r = NULL;
    sdg_rng_new(seed, &r);
    if (sdg_mol_from_smiles(smiles, &m) != SDG_OK || sdg_mol_embed_3d(m, NULL, r, &e) != SDG_OK) e = NULL;
    sdg_mol_free(m);
    sdg_rng_free(r);
    return e;
}

#endif
