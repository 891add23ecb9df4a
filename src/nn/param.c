/* Named parameter store: persistent tensors (heap) with persistent gradients. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "nn/internal.h"

struct sdg_params {
    sdg_tensor **items;
    size_t       n, cap;
};

sdg_status sdg_params_new(sdg_params **out) {
    *out = calloc(1, sizeof **out);
    return *out ? SDG_OK : SDG_ERROR(SDG_ERR_NOMEM, "params: out of memory");
}

static void param_free(sdg_tensor *t) {
    if (!t) return;
    free(t->data);
    free(t->grad);
    free((char *)t->name);
    free(t);
}

void sdg_params_free(sdg_params *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) param_free(p->items[i]);
    free(p->items);
    free(p);
}

sdg_status sdg_params_add(sdg_params *p, const char *name, int ndim, const int64_t *shape,
                          sdg_tensor **out) {
    sdg_status st = SDG_OK;
    sdg_tensor *t = NULL;
    if (out) *out = NULL;
    if (!name || !*name) SDG_FAIL(SDG_ERR_INVALID, "params: a parameter needs a name");
    if (ndim < 1 || ndim > SDG_MAX_DIMS)
        SDG_FAIL(SDG_ERR_SHAPE, "params: '%s' has %d dimensions (1 to %d allowed)", name, ndim,
                 SDG_MAX_DIMS);
    if (sdg_params_find(p, name)) SDG_FAIL(SDG_ERR_INVALID, "params: '%s' added twice", name);
    t = calloc(1, sizeof *t);
    if (!t) SDG_FAIL(SDG_ERR_NOMEM, "params: out of memory");
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->size = nn_numel(ndim, shape);
    if (t->size <= 0) SDG_FAIL(SDG_ERR_SHAPE, "params: '%s' has no elements", name);
    t->data = calloc((size_t)t->size, sizeof(float));
    t->grad = calloc((size_t)t->size, sizeof(float));
    t->name = strdup(name);
    if (!t->data || !t->grad || !t->name) SDG_FAIL(SDG_ERR_NOMEM, "params: out of memory for '%s'", name);
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        sdg_tensor **items = realloc(p->items, cap * sizeof *items);
        if (!items) SDG_FAIL(SDG_ERR_NOMEM, "params: out of memory");
        p->items = items;
        p->cap = cap;
    }
    p->items[p->n++] = t;
    if (out) *out = t;
    t = NULL;
cleanup:
    param_free(t);
    return st;
}

size_t      sdg_params_count(const sdg_params *p) { return p->n; }
sdg_tensor *sdg_params_at(const sdg_params *p, size_t i) { return i < p->n ? p->items[i] : NULL; }

sdg_tensor *sdg_params_find(const sdg_params *p, const char *name) {
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->items[i]->name, name) == 0) return p->items[i];
    return NULL;
}

int64_t sdg_params_numel(const sdg_params *p) {
    int64_t n = 0;
    for (size_t i = 0; i < p->n; i++) n += p->items[i]->size;
    return n;
}

void sdg_params_zero_grad(sdg_params *p) {
    for (size_t i = 0; i < p->n; i++)
        memset(p->items[i]->grad, 0, (size_t)p->items[i]->size * sizeof(float));
}

sdg_status sdg_params_copy(sdg_params *dst, const sdg_params *src) {
    if (dst->n != src->n)
        return SDG_ERROR(SDG_ERR_SHAPE, "params: copy between stores of %zu and %zu parameters",
                         dst->n, src->n);
    for (size_t i = 0; i < src->n; i++) {
        sdg_tensor *d = dst->items[i];
        const sdg_tensor *s = src->items[i];
        if (strcmp(d->name, s->name) != 0 || !sdg_tensor_same_shape(d, s))
            return SDG_ERROR(SDG_ERR_SHAPE, "params: copy: '%s' does not match '%s'", d->name, s->name);
    }
    for (size_t i = 0; i < src->n; i++)
        memcpy(dst->items[i]->data, src->items[i]->data, (size_t)src->items[i]->size * sizeof(float));
    return SDG_OK;
}

void sdg_param_init_uniform(sdg_tensor *t, float bound, sdg_rng *rng) {
    sdg_rng_fill_uniform(rng, t->data, (size_t)t->size, -bound, bound);
}
