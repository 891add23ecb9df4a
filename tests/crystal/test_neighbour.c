/* Property by dataset neighbour (crystal.h: sdg_crystal_knn_*, docs/crystals.md): on hand-made
 * crystals whose L1 composition distances are known, the mean over k neighbours, the exact
 * composition flag, ties (exact, by reference order, including a tie that double arithmetic
 * would break), reference crystals without a value, and the refused inputs. */
#include "test_util.h"

/* A cubic cell (a = 5) holding the given sites, each at its own position. */
static sdg_crystal *make(const int *z, int n) {
    double       p[6] = {5, 5, 5, 90, 90, 90}, m[9];
    sdg_crystal *c = NULL;
    CU_ASSERT_FATAL(sdg_lattice_from_params(p, m) == SDG_OK);
    CU_ASSERT_FATAL(sdg_crystal_new(m, &c) == SDG_OK);
    for (int i = 0; i < n; i++)
        CU_ASSERT_FATAL(sdg_crystal_add_site(c, z[i], (double[3]){0.9 * i / n, 0.5 * i / n, 0.1}) == SDG_OK);
    return c;
}

enum { LI = 3, NA = 11, CL = 17, K = 19, FE = 26, BR = 35 };

static sdg_crystal_knn *knn_of(sdg_crystal **ref, const double *v, size_t n, size_t k) {
    sdg_crystal_knn_params p = sdg_crystal_knn_default_params();
    sdg_crystal_knn       *x = NULL;
    p.k = k;
    CU_ASSERT_FATAL(sdg_crystal_knn_new((const sdg_crystal *const *)ref, v, n, &p, &x) == SDG_OK);
    return x;
}

static void free_all(sdg_crystal **c, size_t n) {
    for (size_t i = 0; i < n; i++) sdg_crystal_free(c[i]);
}

/* Reference NaCl = -2, KCl = -2.2, Fe = 0; the query is NaCl in an 8-site cell.
 * L1 distances: NaCl 0, KCl |1/2 - 0| (Na) + |0 - 1/2| (K) = 1, Fe 1/2 + 1/2 + 1 = 2. */
static void test_nacl(void) {
    CU_ASSERT_EQUAL(sdg_crystal_knn_default_params().k, 5);
    sdg_crystal *ref[3] = {make((int[]){NA, CL}, 2), make((int[]){K, CL}, 2), make((int[]){FE}, 1)};
    double       v[3] = {-2.0, -2.2, 0.0};
    sdg_crystal *q = make((int[]){NA, CL, NA, CL, CL, NA, NA, CL}, 8);
    size_t       ids[4] = {9, 9, 9, 9};
    const double want_mean[4] = {0, -2.0, -2.1, (-2.0 - 2.2 + 0.0) / 3};
    const double want_far[4] = {0, 0, 1, 2};
    for (size_t k = 1; k <= 3; k++) {
        sdg_crystal_knn       *x = knn_of(ref, v, 3, k);
        sdg_crystal_knn_result r;
        CU_ASSERT_EQUAL(sdg_crystal_knn_count(x), 3);
        CU_ASSERT_FATAL(sdg_crystal_knn_predict(x, q, ids, 4, &r) == SDG_OK);
        CU_ASSERT_EQUAL(r.k, k);
        CU_ASSERT(fabs(r.value - want_mean[k]) < 1e-12);
        CU_ASSERT(r.exact);
        CU_ASSERT_EQUAL(r.n_exact, 1);
        CU_ASSERT_EQUAL(r.nearest_id, 0);
        CU_ASSERT_EQUAL(r.nearest, 0.0);
        CU_ASSERT_EQUAL(r.farthest, want_far[k]);
        for (size_t j = 0; j < k; j++) CU_ASSERT_EQUAL(ids[j], j);   /* NaCl, KCl, Fe */
        CU_ASSERT_EQUAL(ids[3], 9);                                  /* beyond k: untouched */
        sdg_crystal_knn_free(x);
    }
    /* k beyond the reference size averages all of it */
    sdg_crystal_knn       *x = knn_of(ref, v, 3, 5);
    sdg_crystal_knn_result r;
    CU_ASSERT_FATAL(sdg_crystal_knn_predict(x, q, NULL, 0, &r) == SDG_OK);
    CU_ASSERT_EQUAL(r.k, 3);
    CU_ASSERT(fabs(r.value - want_mean[3]) < 1e-12);
    /* KBr has no exact match: nearest KCl (1/2: Br against Cl), then NaCl (1), then Fe (2) */
    sdg_crystal *kbr = make((int[]){K, BR}, 2);
    CU_ASSERT_FATAL(sdg_crystal_knn_predict(x, kbr, ids, 3, &r) == SDG_OK);
    CU_ASSERT(!r.exact);
    CU_ASSERT_EQUAL(r.n_exact, 0);
    CU_ASSERT_EQUAL(r.nearest_id, 1);
    CU_ASSERT_EQUAL(r.nearest, 1.0);
    CU_ASSERT(ids[0] == 1 && ids[1] == 0 && ids[2] == 2);
    sdg_crystal_knn_free(x);
    x = knn_of(ref, v, 3, 1);
    CU_ASSERT_FATAL(sdg_crystal_knn_predict(x, kbr, NULL, 0, &r) == SDG_OK);
    CU_ASSERT_EQUAL(r.value, -2.2);
    sdg_crystal_knn_free(x);
    sdg_crystal_free(kbr);
    sdg_crystal_free(q);
    free_all(ref, 3);
}

/* Equal distances go to the earlier reference crystal, in either order. */
static void test_ties(void) {
    /* NaCl against KCl (1) and NaBr (1), KBr (2) */
    sdg_crystal *kcl = make((int[]){K, CL}, 2), *nabr = make((int[]){NA, BR}, 2), *kbr = make((int[]){K, BR}, 2);
    sdg_crystal *q = make((int[]){NA, CL}, 2);
    sdg_crystal *order1[3] = {kbr, kcl, nabr}, *order2[3] = {kbr, nabr, kcl};
    double       v1[3] = {-1, -2.2, -3}, v2[3] = {-1, -3, -2.2};
    size_t       ids[3];
    sdg_crystal_knn_result r;
    sdg_crystal_knn       *x = knn_of(order1, v1, 3, 1);
    CU_ASSERT_FATAL(sdg_crystal_knn_predict(x, q, ids, 1, &r) == SDG_OK);
    CU_ASSERT_EQUAL(r.nearest_id, 1);   /* KCl: earlier than NaBr */
    CU_ASSERT_EQUAL(r.value, -2.2);
    sdg_crystal_knn_free(x);
    x = knn_of(order2, v2, 3, 1);
    CU_ASSERT_FATAL(sdg_crystal_knn_predict(x, q, ids, 1, &r) == SDG_OK);
    CU_ASSERT_EQUAL(r.nearest_id, 1);   /* now NaBr comes first */
    CU_ASSERT_EQUAL(r.value, -3);
    sdg_crystal_knn_free(x);
    x = knn_of(order2, v2, 3, 3);
    CU_ASSERT_FATAL(sdg_crystal_knn_predict(x, q, ids, 3, &r) == SDG_OK);
    CU_ASSERT(ids[0] == 1 && ids[1] == 2 && ids[2] == 0);
    sdg_crystal_knn_free(x);
    /* LiNaK against LiK5 and Li5K: both at L1 = 1 exactly, but in doubles
     * |1/3 - 5/6| + 1/3 + |1/3 - 1/6| rounds to 0.9999999999999999 and the other to 1.0, so a
     * distance in floating point would always pick Li5K. The exact distance picks the first. */
    sdg_crystal *lik5 = make((int[]){LI, K, K, K, K, K}, 6), *li5k = make((int[]){LI, LI, LI, LI, LI, K}, 6);
    sdg_crystal *link = make((int[]){LI, NA, K}, 3);
    sdg_crystal *r1[2] = {lik5, li5k};
    x = knn_of(r1, (double[]){10, 20}, 2, 1);
    CU_ASSERT_FATAL(sdg_crystal_knn_predict(x, link, NULL, 0, &r) == SDG_OK);
    CU_ASSERT_EQUAL(r.nearest_id, 0);
    CU_ASSERT_EQUAL(r.value, 10);
    CU_ASSERT_EQUAL(r.nearest, 1.0);
    sdg_crystal_knn_free(x);
    sdg_crystal_free(lik5), sdg_crystal_free(li5k), sdg_crystal_free(link);
    sdg_crystal_free(kcl), sdg_crystal_free(nabr), sdg_crystal_free(kbr), sdg_crystal_free(q);
}

/* Reference crystals without a value are left out; ids still index the given arrays. */
static void test_missing_values(void) {
    sdg_crystal *ref[3] = {make((int[]){NA, CL}, 2), make((int[]){NA, CL}, 2), make((int[]){K, CL}, 2)};
    double       v[3] = {NAN, -2.0, INFINITY};
    sdg_crystal *q = make((int[]){NA, CL}, 2);
    sdg_crystal_knn       *x = knn_of(ref, v, 3, 5);
    sdg_crystal_knn_result r;
    size_t                 ids[2] = {9, 9};
    CU_ASSERT_EQUAL(sdg_crystal_knn_count(x), 1);
    CU_ASSERT_EQUAL(sdg_crystal_knn_skipped(x), 2);
    CU_ASSERT_FATAL(sdg_crystal_knn_predict(x, q, ids, 2, &r) == SDG_OK);
    CU_ASSERT_EQUAL(r.k, 1);
    CU_ASSERT_EQUAL(r.value, -2.0);
    CU_ASSERT_EQUAL(r.nearest_id, 1);
    CU_ASSERT_EQUAL(r.n_exact, 1);
    CU_ASSERT(ids[0] == 1 && ids[1] == 9);
    sdg_crystal_knn_free(x);
    sdg_crystal_free(q);
    free_all(ref, 3);
}

static void test_refused(void) {
    sdg_crystal           *ref[1] = {make((int[]){NA, CL}, 2)}, *empty = make(NULL, 0);
    sdg_crystal_knn_params p = sdg_crystal_knn_default_params();
    sdg_crystal_knn       *x = (sdg_crystal_knn *)&p;   /* must be reset to NULL on failure */
    sdg_crystal_knn_result r;
    p.k = 0;
    CU_ASSERT(sdg_crystal_knn_new((const sdg_crystal *const *)ref, (double[]){1}, 1, &p, &x) == SDG_ERR_INVALID);
    CU_ASSERT(x == NULL);
    p.k = 5;
    CU_ASSERT(sdg_crystal_knn_new((const sdg_crystal *const *)ref, (double[]){NAN}, 1, &p, &x) == SDG_ERR_INVALID);
    CU_ASSERT(strstr(sdg_errmsg(), "no reference crystal has a finite value") != NULL);
    CU_ASSERT(sdg_crystal_knn_new((const sdg_crystal *const *)&empty, (double[]){1}, 1, &p, &x) == SDG_ERR_INVALID);
    CU_ASSERT(strstr(sdg_errmsg(), "has no sites") != NULL);
    CU_ASSERT_FATAL(sdg_crystal_knn_new((const sdg_crystal *const *)ref, (double[]){1}, 1, &p, &x) == SDG_OK);
    CU_ASSERT(sdg_crystal_knn_predict(x, empty, NULL, 0, &r) == SDG_ERR_INVALID);
    CU_ASSERT(sdg_crystal_knn_predict(x, ref[0], NULL, 1, &r) == SDG_ERR_INVALID);   /* cap without ids */
    sdg_crystal_knn_free(x);
    sdg_crystal_knn_free(NULL);
    CU_ASSERT_EQUAL(sdg_crystal_knn_count(NULL), 0);
    sdg_crystal_free(empty);
    free_all(ref, 1);
}

/* On the MP-20 subset, the test split's formation energies predicted from train + val: the
 * proxy must beat predicting the mean by a wide margin and correlate with the truth (the
 * figures are in docs/crystals.md). */
static void test_mp20(void) {
    const char *data = sdg_test_data_dir("crystals/mp_20_subset/test.csv");
    if (!data) return;
    char                 dir[1024];
    sdg_crystal_dataset *d[3] = {NULL, NULL, NULL};
    const char          *splits[3] = {"train", "val", "test"};
    size_t               col[3];
    snprintf(dir, sizeof dir, "%s/crystals/mp_20_subset", data);
    for (int s = 0; s < 3; s++) {
        CU_ASSERT_FATAL(sdg_crystal_dataset_load(dir, splits[s], NULL, &d[s]) == SDG_OK);
        CU_ASSERT_FATAL(sdg_crystal_dataset_prop(d[s], "formation_energy_per_atom", &col[s]) == SDG_OK);
    }
    size_t              n = d[0]->count + d[1]->count, m = 0;
    const sdg_crystal **ref = malloc(n * sizeof *ref);
    double             *v = malloc(n * sizeof *v), mean = 0;
    CU_ASSERT_FATAL(ref && v);
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < d[s]->count; i++) {
            ref[m] = d[s]->crystals[i];
            v[m] = d[s]->props[i * d[s]->n_props + col[s]];
            mean += v[m++] / (double)n;
        }
    for (size_t k = 1; k <= 5; k += 4) {
        sdg_crystal_knn_params p = {.k = k};
        sdg_crystal_knn       *x = NULL;
        CU_ASSERT_FATAL(sdg_crystal_knn_new(ref, v, n, &p, &x) == SDG_OK);
        const sdg_crystal_dataset *t = d[2];
        double mae = 0, mae0 = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
        size_t exact = 0;
        for (size_t i = 0; i < t->count; i++) {
            sdg_crystal_knn_result r;
            CU_ASSERT_FATAL(sdg_crystal_knn_predict(x, t->crystals[i], NULL, 0, &r) == SDG_OK);
            double y = t->props[i * t->n_props + col[2]];
            mae += fabs(r.value - y), mae0 += fabs(mean - y), exact += r.exact;
            sx += r.value, sy += y, sxx += r.value * r.value, syy += y * y, sxy += r.value * y;
        }
        double c = (double)t->count, corr = (sxy - sx * sy / c) / sqrt((sxx - sx * sx / c) * (syy - sy * sy / c));
        printf("\n  mp_20 test from train+val, k %zu: MAE %.4f (mean predictor %.4f), Pearson r %.3f, exact %zu of %zu\n",
               k, mae / c, mae0 / c, corr, exact, t->count);
        CU_ASSERT(mae < 0.5 * mae0);
        CU_ASSERT(corr > 0.8);
        sdg_crystal_knn_free(x);
    }
    free(ref), free(v);
    for (int s = 0; s < 3; s++) sdg_crystal_dataset_free(d[s]);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"NaCl against NaCl, KCl, Fe: exact match, means over k = 1..3 and beyond", test_nacl},
        {"ties go to the earlier reference crystal, exactly (not by rounding)", test_ties},
        {"reference crystals without a value are left out", test_missing_values},
        {"k = 0, no finite value and crystals without sites are refused", test_refused},
        {"MP-20 subset: test formation energies from train + val beat the mean", test_mp20},
        {NULL, NULL},
    };
    return sdg_test_main("crystal_neighbour", cases);
}
