/* core: error messages, arena behaviour, random streams. */
#include <stdint.h>
#include "test_util.h"

static void test_errors(void) {
    sdg_error_clear();
    CU_ASSERT_STRING_EQUAL(sdg_errmsg(), "");
    sdg_status st = SDG_ERROR(SDG_ERR_FORMAT, "line %d: bad token '%s'", 12, "xyz");
    CU_ASSERT_EQUAL(st, SDG_ERR_FORMAT);
    CU_ASSERT_STRING_EQUAL(sdg_errmsg(), "line 12: bad token 'xyz'");
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errsrc(), "test_core.c:"));
    sdg_error_prefix("mols.sdf");
    CU_ASSERT_STRING_EQUAL(sdg_errmsg(), "mols.sdf: line 12: bad token 'xyz'");
    /* a very long prefix is cut, never overflows */
    char big[4000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sdg_error_prefix("%s", big);
    CU_ASSERT(strlen(sdg_errmsg()) < 1024);
    for (int c = 0; c < SDG_STATUS_COUNT; c++) CU_ASSERT(strlen(sdg_strerror((sdg_status)c)) > 0);
    CU_ASSERT_STRING_EQUAL(sdg_strerror((sdg_status)999), "unknown status");
    CU_ASSERT_STRING_EQUAL(sdg_version(), SDG_VERSION_STRING);
}

static void test_arena(void) {
    sdg_arena *a = NULL;
    CU_ASSERT_FATAL(sdg_arena_new(4096, 0, &a) == SDG_OK);
    /* alignment and no overlap */
    unsigned char *p = sdg_arena_alloc(a, 10), *q = sdg_arena_alloc(a, 100);
    CU_ASSERT(((uintptr_t)p % 64) == 0 && ((uintptr_t)q % 64) == 0);
    CU_ASSERT(q >= p + 10);
    memset(p, 1, 10);
    memset(q, 2, 100);
    CU_ASSERT_EQUAL(p[9], 1);
    /* growth past the first block, then coalescing to one block of the peak size */
    for (int i = 0; i < 50; i++) CU_ASSERT_PTR_NOT_NULL(sdg_arena_alloc(a, 1000));
    size_t peak = sdg_arena_peak(a);
    CU_ASSERT(peak >= 50 * 1000);
    CU_ASSERT(sdg_arena_capacity(a) >= peak);
    sdg_arena_reset(a);
    CU_ASSERT_EQUAL(sdg_arena_used(a), 0);
    size_t cap1 = sdg_arena_capacity(a);
    CU_ASSERT(cap1 >= peak);
    /* the same step again needs no further memory: constant capacity from step 2 on */
    for (int step = 0; step < 5; step++) {
        sdg_arena_alloc(a, 10);
        sdg_arena_alloc(a, 100);
        for (int i = 0; i < 50; i++) sdg_arena_alloc(a, 1000);
        sdg_arena_reset(a);
        CU_ASSERT_EQUAL(sdg_arena_capacity(a), cap1);
        CU_ASSERT_EQUAL(sdg_arena_peak(a), peak);
    }
    sdg_arena_free(a);
    /* a cap makes allocation fail with a message instead of growing */
    CU_ASSERT_FATAL(sdg_arena_new(4096, 8192, &a) == SDG_OK);
    CU_ASSERT_PTR_NOT_NULL(sdg_arena_alloc(a, 4000));
    CU_ASSERT_PTR_NULL(sdg_arena_alloc(a, 100000));
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "cap"));
    sdg_arena_free(a);
    sdg_arena_free(NULL);
}

static void test_rng_streams(void) {
    sdg_rng *a = NULL, *b = NULL, *c = NULL;
    CU_ASSERT_FATAL(sdg_rng_stream(42, 7, &a) == SDG_OK);
    CU_ASSERT_FATAL(sdg_rng_stream(42, 7, &b) == SDG_OK);
    CU_ASSERT_FATAL(sdg_rng_stream(42, 8, &c) == SDG_OK);
    int same_ab = 1, same_ac = 0;
    for (int i = 0; i < 1000; i++) {
        double x = sdg_rng_uniform(a), y = sdg_rng_uniform(b), z = sdg_rng_uniform(c);
        if (x != y) same_ab = 0;
        if (x == z) same_ac++;
    }
    CU_ASSERT(same_ab);
    CU_ASSERT(same_ac < 3);
    /* re-keying in place restarts the same stream */
    sdg_rng_reset(a, 42, 8);
    sdg_rng_reset(c, 42, 8);
    CU_ASSERT_EQUAL(sdg_rng_uniform(a), sdg_rng_uniform(c));
    /* state save/restore resumes exactly */
    unsigned char buf[8192];
    size_t need = 0;
    CU_ASSERT_EQUAL(sdg_rng_state_save(a, buf, 4, &need), SDG_ERR_INVALID);
    CU_ASSERT_FATAL(sdg_rng_state_save(a, buf, sizeof buf, &need) == SDG_OK);
    double want[10];
    for (int i = 0; i < 10; i++) want[i] = sdg_rng_gaussian(a);
    CU_ASSERT_FATAL(sdg_rng_state_load(b, buf, need) == SDG_OK);
    for (int i = 0; i < 10; i++) CU_ASSERT_EQUAL(sdg_rng_gaussian(b), want[i]);
    CU_ASSERT_EQUAL(sdg_rng_state_load(b, buf, need - 1), SDG_ERR_FORMAT);
    sdg_rng_free(a);
    sdg_rng_free(b);
    sdg_rng_free(c);
    sdg_rng_free(NULL);
}

/* 10^5 streams keyed by index: first draws are all distinct (32-bit seeding would collide). */
static int cmp_u64(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}
static void test_rng_no_collisions(void) {
    enum { M = 100000 };
    uint64_t *v = malloc(M * sizeof *v);
    sdg_rng *r = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(1, &r) == SDG_OK);
    for (uint64_t i = 0; i < M; i++) {
        sdg_rng_reset(r, 1, i);
        v[i] = sdg_rng_uint(r, UINT64_MAX);
    }
    qsort(v, M, sizeof *v, cmp_u64);
    int dup = 0;
    for (int i = 1; i < M; i++) dup += v[i] == v[i - 1];
    CU_ASSERT_EQUAL(dup, 0);
    free(v);
    sdg_rng_free(r);
}

static void test_rng_distributions(void) {
    sdg_rng *r = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(3, &r) == SDG_OK);
    enum { M = 200000 };
    double s = 0, s2 = 0, u = 0;
    for (int i = 0; i < M; i++) {
        double g = sdg_rng_gaussian(r);
        s += g;
        s2 += g * g;
        u += sdg_rng_uniform(r);
    }
    /* 5-sigma bounds: mean sd 1/sqrt(M) = 0.0022, var sd sqrt(2/M) = 0.0032, uniform sd 0.00065 */
    CU_ASSERT(fabs(s / M) < 0.012);
    CU_ASSERT(fabs(s2 / M - 1.0) < 0.016);
    CU_ASSERT(fabs(u / M - 0.5) < 0.0033);
    int64_t counts[5] = {0};
    for (int i = 0; i < 50000; i++) {
        uint64_t k = sdg_rng_uint(r, 5);
        CU_ASSERT_FATAL(k < 5);
        counts[k]++;
    }
    for (int k = 0; k < 5; k++) CU_ASSERT(labs((long)(counts[k] - 10000)) < 500);
    int64_t idx[100];
    for (int i = 0; i < 100; i++) idx[i] = i;
    sdg_rng_shuffle(r, idx, 100);
    int64_t sum = 0, moved = 0;
    for (int i = 0; i < 100; i++) {
        sum += idx[i];
        moved += idx[i] != i;
    }
    CU_ASSERT_EQUAL(sum, 4950);
    CU_ASSERT(moved > 80);
    sdg_rng_free(r);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"error messages", test_errors},
        {"arena", test_arena},
        {"rng streams and state", test_rng_streams},
        {"rng: 1e5 streams without collision", test_rng_no_collisions},
        {"rng distributions", test_rng_distributions},
        {NULL, NULL},
    };
    return sdg_test_main("core", cases);
}
