/* Checks that an op's backward ACCUMULATES into .grad (the finite-difference check starts
 * from zero gradients and so cannot tell "+=" from "="): runs f's backward twice, once with
 * zeroed input gradients and once with every gradient pre-set to 0.5, and requires the
 * second to equal the first plus 0.5. Uses the gc_spec of test_util.h. */
#ifndef SDG_TEST_ACCUM_CHECK_H
#define SDG_TEST_ACCUM_CHECK_H
#include "test_util.h"

/* Returns the number of mismatching elements (0 = pass); prints the first few. */
static inline int sdg_accumcheck(const char *label, gc_fn f, void *ud, const gc_spec *sp,
                                 uint64_t seed) {
    sdg_ctx *ctx = NULL;
    sdg_rng *rng = NULL;
    float *buf[GC_MAX_IN] = {0}, *g0[GC_MAX_IN] = {0};
    int bad = 0;
    float lo = sp->lo, hi = sp->hi;
    if (lo == 0 && hi == 0) lo = -1.0f, hi = 1.0f;
    if (sdg_ctx_new(1 << 20, &ctx) != SDG_OK || sdg_rng_new(seed, &rng) != SDG_OK) return 1;
    for (int i = 0; i < sp->n_in; i++) {
        int64_t n = 1;
        for (int d = 0; d < sp->ndim[i]; d++) n *= sp->shape[i][d];
        buf[i] = malloc((size_t)n * sizeof(float));
        g0[i] = calloc((size_t)n, sizeof(float));
        if (sp->init[i]) memcpy(buf[i], sp->init[i], (size_t)n * sizeof(float));
        else sdg_rng_fill_uniform(rng, buf[i], (size_t)n, lo, hi);
    }
    for (int pass = 0; pass < 2 && !bad; pass++) {
        sdg_ctx_reset(ctx);
        sdg_tensor *in[GC_MAX_IN] = {0};
        for (int i = 0; i < sp->n_in; i++) {
            in[i] = sdg_tensor_from(ctx, sp->ndim[i], sp->shape[i], buf[i]);
            if (sp->no_grad[i]) continue;
            sdg_tensor_requires_grad(ctx, in[i]);
            for (int64_t k = 0; pass && k < in[i]->size; k++) in[i]->grad[k] = 0.5f;
        }
        sdg_tensor *y = f(ctx, in, ud);
        if (!y || !y->grad) { printf("%s: forward failed\n", label); bad = 1; break; }
        for (int64_t k = 0; k < y->size; k++) y->grad[k] = (float)((k % 7) - 3) * 0.25f;
        if (y->size == 1) y->grad[0] -= 1.0f;
        if (sdg_backward(ctx, y) != SDG_OK) { printf("%s: backward failed\n", label); bad = 1; break; }
        for (int i = 0; i < sp->n_in; i++) {
            if (sp->no_grad[i]) continue;
            for (int64_t k = 0; k < in[i]->size; k++) {
                if (pass == 0) { g0[i][k] = in[i]->grad[k]; continue; }
                double want = (double)g0[i][k] + 0.5;
                if (fabs(in[i]->grad[k] - want) > 1e-5 * fmax(1.0, fabs(want))) {
                    if (bad < 3)
                        printf("%s: input %d element %lld: %g after a 0.5 start, %g from 0\n",
                               label, i, (long long)k, in[i]->grad[k], g0[i][k]);
                    bad++;
                }
            }
        }
    }
    for (int i = 0; i < GC_MAX_IN; i++) { free(buf[i]); free(g0[i]); }
    sdg_rng_free(rng);
    sdg_ctx_free(ctx);
    return bad;
}
#endif
