/* Random streams: GSL's MT19937, with its whole 624-word state filled from a SplitMix64
 * sequence keyed by (seed, index), so that 10^6 streams never collide the way 32-bit seeds do. */
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include "sdegen/core.h"

struct sdg_rng {
    gsl_rng *r;
};

/* Mirror of GSL's mt_state_t (gsl/rng/mt.c); its size is checked against gsl_rng_size(). */
typedef struct {
    unsigned long mt[624];
    int           mti;
} mt_state_mirror;

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void sdg_rng_reset(sdg_rng *r, uint64_t seed, uint64_t index) {
    uint64_t key = seed;
    uint64_t k2 = splitmix64(&key) ^ (index * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull);
    if (gsl_rng_size(r->r) == sizeof(mt_state_mirror)) {
        mt_state_mirror *s = gsl_rng_state(r->r);
        for (int i = 0; i < 624; i++) s->mt[i] = (unsigned long)(splitmix64(&k2) & 0xffffffffu);
        s->mt[0] |= 0x80000000ul;   /* never the all-zero state */
        s->mti = 624;
    } else {
        gsl_rng_set(r->r, (unsigned long)(splitmix64(&k2) & 0xffffffffu));
    }
}

sdg_status sdg_rng_stream(uint64_t seed, uint64_t index, sdg_rng **out) {
    *out = NULL;
    sdg_rng *r = malloc(sizeof *r);
    if (!r) return SDG_ERROR(SDG_ERR_NOMEM, "rng: out of memory");
    r->r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r->r) {
        free(r);
        return SDG_ERROR(SDG_ERR_NOMEM, "rng: gsl_rng_alloc failed");
    }
    sdg_rng_reset(r, seed, index);
    *out = r;
    return SDG_OK;
}

sdg_status sdg_rng_new(uint64_t seed, sdg_rng **out) { return sdg_rng_stream(seed, 0, out); }

void sdg_rng_free(sdg_rng *r) {
    if (!r) return;
    gsl_rng_free(r->r);
    free(r);
}

double   sdg_rng_uniform(sdg_rng *r) { return gsl_rng_uniform(r->r); }
double   sdg_rng_uniform_pos(sdg_rng *r) { return gsl_rng_uniform_pos(r->r); }
double   sdg_rng_gaussian(sdg_rng *r) { return gsl_ran_gaussian_ziggurat(r->r, 1.0); }

uint64_t sdg_rng_uint(sdg_rng *r, uint64_t n) {
    if (n == 0) return 0;
    if (n <= 0xffffffffull) return gsl_rng_uniform_int(r->r, (unsigned long)n);
    /* 64-bit range: rejection on two 32-bit draws */
    uint64_t lim = UINT64_MAX - UINT64_MAX % n, v;
    do {
        v = ((uint64_t)gsl_rng_get(r->r) << 32) | (uint64_t)gsl_rng_get(r->r);
    } while (v >= lim);
    return v % n;
}

void sdg_rng_fill_gaussian(sdg_rng *r, float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = (float)gsl_ran_gaussian_ziggurat(r->r, 1.0);
}

void sdg_rng_fill_uniform(sdg_rng *r, float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)gsl_rng_uniform(r->r);
}

void sdg_rng_shuffle(sdg_rng *r, int64_t *idx, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)sdg_rng_uint(r, i);
        int64_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

sdg_status sdg_rng_state_save(const sdg_rng *r, void *buf, size_t cap, size_t *needed) {
    size_t n = gsl_rng_size(r->r);
    *needed = n;
    if (cap < n) return SDG_ERROR(SDG_ERR_INVALID, "rng: state needs %zu bytes, buffer has %zu", n, cap);
    memcpy(buf, gsl_rng_state(r->r), n);
    return SDG_OK;
}

sdg_status sdg_rng_state_load(sdg_rng *r, const void *buf, size_t size) {
    size_t n = gsl_rng_size(r->r);
    if (size != n)
        return SDG_ERROR(SDG_ERR_FORMAT, "rng: state of %zu bytes, expected %zu", size, n);
    memcpy(gsl_rng_state(r->r), buf, n);
    return SDG_OK;
}
