/* The unified crystal matrix: layout, exact encode/decode on every crystal of every
 * available split (with and without scaling), fit counts per (E_max, N_max), and decoding of
 * noisy or corrupted matrices (a crystal or a reason, never a crash; run under ASan too). */
#include "test_util.h"

static const char *data_dir;

static sdg_crystal *perovskite(void) {
    double       m[9];
    sdg_crystal *c = NULL;
    sdg_lattice_from_params((double[6]){3.9, 3.9, 3.9, 90, 90, 90}, m);
    sdg_crystal_new(m, &c);
    sdg_crystal_add_site(c, 22, (double[3]){0.5, 0.5, 0.5});   /* Ti, site 0 */
    sdg_crystal_add_site(c, 20, (double[3]){0, 0, 0});         /* Ca, site 1 */
    sdg_crystal_add_site(c, 8, (double[3]){0.5, 0.5, -0.25});  /* O, wrapped to 0.75 */
    sdg_crystal_add_site(c, 8, (double[3]){0.5, 0, 0.5});
    sdg_crystal_add_site(c, 8, (double[3]){0, 0.5, 0.5});
    return c;
}

static void test_layout(void) {
    sdg_crystal_matrix_params p = sdg_crystal_matrix_default_params();
    int64_t                   R = 0, W = 0;
    CU_ASSERT(sdg_crystal_matrix_shape(&p, &R, &W) == SDG_OK && R == 136 && W == 3);   /* DiffCrysGen */
    p.e_max = 5;
    p.n_max = 24;
    CU_ASSERT(sdg_crystal_matrix_shape(&p, &R, &W) == SDG_OK && R == 94 + 2 + 48 && W == 5);
    p.e_max = 0;
    CU_ASSERT(sdg_crystal_matrix_shape(&p, &R, &W) == SDG_ERR_INVALID);
    /* CaTiO3 with E_max 3: columns O (Z 8), Ca (20), Ti (22) in ascending Z */
    p = sdg_crystal_matrix_default_params();
    sdg_crystal *c = perovskite();
    double       M[136 * 3];
    CU_ASSERT_FATAL(sdg_crystal_matrix_encode(&p, c, M, 136 * 3) == SDG_OK);
    CU_ASSERT(M[7 * 3 + 0] == 1 && M[19 * 3 + 1] == 1 && M[21 * 3 + 2] == 1);
    double s = 0;
    for (int k = 0; k < 94 * 3; k++) s += M[k];
    CU_ASSERT(s == 3);
    CU_ASSERT(M[94 * 3 + 0] == 3.9 && M[95 * 3 + 1] == 90);
    CU_ASSERT(M[96 * 3 + 0] == 0.5 && M[98 * 3 + 2] == 0.75);    /* site 2 wrapped  */
    CU_ASSERT(M[116 * 3 + 2] == 1 && M[117 * 3 + 1] == 1 && M[118 * 3 + 0] == 1);   /* Ti, Ca, O */
    for (int k = 121 * 3; k < 136 * 3; k++) CU_ASSERT(M[k] == 0);  /* empty sites */
    CU_ASSERT(sdg_crystal_matrix_encode(&p, c, M, 100) == SDG_ERR_INVALID);
    /* too many elements / sites */
    sdg_crystal_add_site(c, 7, (double[3]){0.1, 0.1, 0.1});
    CU_ASSERT(sdg_crystal_matrix_encode(&p, c, M, 136 * 3) == SDG_ERR_INVALID);
    CU_ASSERT(strstr(sdg_errmsg(), "4 distinct elements exceed E_max = 3") != NULL);
    p.n_max = 5;
    p.e_max = 4;
    double M2[(96 + 10) * 4];
    CU_ASSERT(sdg_crystal_matrix_encode(&p, c, M2, sizeof M2 / sizeof M2[0]) == SDG_ERR_INVALID);
    CU_ASSERT(strstr(sdg_errmsg(), "6 sites exceed N_max = 5") != NULL);
    sdg_crystal_free(c);
}

/* decode(encode(c)) == c: same sites in the same order, same Z, same wrapped coordinates,
 * same lattice parameters. tol 0 = bitwise on coordinates. */
static int same_crystal(const sdg_crystal *a, const sdg_crystal *b, double tol) {
    if (!b || a->n_atoms != b->n_atoms) return 0;
    double pa[6], pb[6];
    sdg_lattice_to_params(a->lattice, pa);
    sdg_lattice_to_params(b->lattice, pb);
    for (int k = 0; k < 6; k++)
        if (fabs(pa[k] - pb[k]) > 1e-9 * fabs(pa[k])) return 0;
    for (int64_t i = 0; i < a->n_atoms; i++) {
        if (a->z[i] != b->z[i]) return 0;
        for (int d = 0; d < 3; d++) {
            double w = a->frac[3 * i + d] - floor(a->frac[3 * i + d]);
            if (w >= 1) w = 0;
            if (fabs(w - b->frac[3 * i + d]) > tol) return 0;
        }
    }
    return 1;
}

static void roundtrip_split(const char *ds, const char *split, sdg_crystal_matrix_params p, size_t *n_fit,
                            size_t *n_elems, size_t *n_sites, size_t *n_total) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/crystals/%s", data_dir, ds);
    sdg_crystal_dataset *d = NULL;
    CU_ASSERT_FATAL(sdg_crystal_dataset_load(dir, split, NULL, &d) == SDG_OK);
    int64_t R, W;
    sdg_crystal_matrix_shape(&p, &R, &W);
    size_t  sz = (size_t)(R * W);
    double *all = malloc(d->count * sz * sizeof *all);
    size_t *idx = malloc(d->count * sizeof *idx);
    size_t  fit = 0, bad = 0;
    char    why[256];
    for (size_t k = 0; k < d->count; k++) {
        if (sdg_crystal_matrix_encode(&p, d->crystals[k], all + fit * sz, sz) != SDG_OK) {
            if (strstr(sdg_errmsg(), "elements")) (*n_elems)++;
            else if (strstr(sdg_errmsg(), "sites")) (*n_sites)++;
            else CU_FAIL("unexpected encode failure");
            continue;
        }
        sdg_crystal *c = NULL;
        CU_ASSERT(sdg_crystal_matrix_decode(&p, all + fit * sz, &c, why, sizeof why) == SDG_OK);
        if (!same_crystal(d->crystals[k], c, 0)) {
            if (bad++ < 3) printf("%s/%s %s: decode(encode) differs (%s)\n", ds, split, d->ids[k], why);
        }
        sdg_crystal_free(c);
        idx[fit++] = k;
    }
    CU_ASSERT(bad == 0);
    /* scaled and back: equal to 1e-12 in coordinates */
    if (fit > 0) {
        sdg_crystal_scaler s;
        CU_ASSERT_FATAL(sdg_crystal_scaler_fit(&p, all, fit, &s) == SDG_OK);
        sdg_crystal_scaler_apply(&p, &s, all, fit);
        /* each block has zero mean and unit variance over the fitted set */
        double m0 = 0, v0 = 0;
        for (size_t k = 0; k < fit; k++) {
            double x = all[k * sz + 94 * W];   /* lattice a */
            m0 += x;
            v0 += x * x;
        }
        m0 /= (double)fit;
        v0 = v0 / (double)fit - m0 * m0;
        CU_ASSERT(fabs(m0) < 1e-9 && (fabs(v0 - 1) < 1e-9 || s.lat_std[0] == 1.0));
        sdg_crystal_scaler_invert(&p, &s, all, fit);
        size_t bad2 = 0;
        for (size_t j = 0; j < fit; j++) {
            sdg_crystal *c = NULL;
            sdg_crystal_matrix_decode(&p, all + j * sz, &c, why, sizeof why);
            bad2 += !same_crystal(d->crystals[idx[j]], c, 1e-12);
            sdg_crystal_free(c);
        }
        CU_ASSERT(bad2 == 0);
    }
    *n_fit += fit;
    *n_total += d->count;
    free(all);
    free(idx);
    sdg_crystal_dataset_free(d);
}

static void fit_report(const char *ds, const char *const *splits, sdg_crystal_matrix_params p, bool all_must_fit) {
    size_t fit = 0, ne = 0, ns = 0, tot = 0;
    for (const char *const *s = splits; *s; s++) roundtrip_split(ds, *s, p, &fit, &ne, &ns, &tot);
    printf("\n  %s E_max %lld N_max %lld: %zu / %zu fit (%zu too many elements, %zu too many sites) ", ds,
           (long long)p.e_max, (long long)p.n_max, fit, tot, ne, ns);
    CU_ASSERT(fit + ne + ns == tot);
    if (all_must_fit) CU_ASSERT(fit == tot);
}

static void test_datasets_exact(void) {
    if (!data_dir) return;
    const char *const vt[] = {"val", "test", NULL}, *const tvt[] = {"train", "val", "test", NULL};
    sdg_crystal_matrix_params dcg = sdg_crystal_matrix_default_params();   /* 3, 20 */
    fit_report("perov_5", vt, dcg, false);
    fit_report("carbon_24", vt, dcg, false);
    fit_report("mp_20_subset", tvt, dcg, false);
    /* large enough for everything here: perov_5 has up to 5 elements, carbon_24 24 sites,
     * MP-20 up to 20 sites and (in this subset) up to 7 elements */
    fit_report("perov_5", vt, (sdg_crystal_matrix_params){5, 5}, true);
    fit_report("carbon_24", vt, (sdg_crystal_matrix_params){1, 24}, true);
    fit_report("mp_20_subset", tvt, (sdg_crystal_matrix_params){7, 20}, true);
}

/* Well-formed: at least one site, at most n_max; Z in 1..94; at most e_max elements;
 * coordinates in [0, 1); a finite lattice with positive volume. */
static int well_formed(const sdg_crystal *c, const sdg_crystal_matrix_params *p) {
    if (c->n_atoms < 1 || c->n_atoms > p->n_max) return 0;
    int32_t zs[119];
    int64_t cn[119];
    size_t  ne = 0;
    if (sdg_crystal_composition(c, zs, cn, 119, &ne) != SDG_OK || (int64_t)ne > p->e_max) return 0;
    for (int64_t i = 0; i < c->n_atoms; i++) {
        if (c->z[i] < 1 || c->z[i] > 94) return 0;
        for (int d = 0; d < 3; d++)
            if (!(c->frac[3 * i + d] >= 0 && c->frac[3 * i + d] < 1)) return 0;
    }
    double v = sdg_crystal_volume(c);
    for (int k = 0; k < 9; k++)
        if (!isfinite(c->lattice[k])) return 0;
    return isfinite(v) && v > 0;
}

static void test_noisy_decode(void) {
    sdg_crystal_matrix_params p = {4, 8};
    int64_t                   R, W;
    sdg_crystal_matrix_shape(&p, &R, &W);
    size_t       sz = (size_t)(R * W);
    sdg_crystal *c  = perovskite();
    double      *M0 = malloc(sz * sizeof *M0), *M = malloc(sz * sizeof *M);
    CU_ASSERT_FATAL(sdg_crystal_matrix_encode(&p, c, M0, sz) == SDG_OK);
    /* a scaler from a handful of jittered copies, so that noise is added in model space */
    sdg_crystal_scaler s;
    double            *set = malloc(8 * sz * sizeof *set);
    for (int k = 0; k < 8; k++) {
        memcpy(set + k * sz, M0, sz * sizeof *M0);
        set[k * sz + 94 * W] += 0.1 * k;
        set[k * sz + 95 * W + 2] += 2.0 * k;
    }
    CU_ASSERT_FATAL(sdg_crystal_scaler_fit(&p, set, 8, &s) == SDG_OK);
    sdg_rng *r = NULL;
    sdg_rng_new(11, &r);
    const double scales[] = {0.01, 0.1, 0.3, 1, 3, 10, 1e3};
    char         why[256];
    for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++) {
        int  ok = 0, undec = 0;
        char example[256] = "-";
        for (int it = 0; it < 1000; it++) {
            memcpy(M, M0, sz * sizeof *M);
            sdg_crystal_scaler_apply(&p, &s, M, 1);
            for (size_t k = 0; k < sz; k++) M[k] += scales[si] * sdg_rng_gaussian(r);
            sdg_crystal_scaler_invert(&p, &s, M, 1);
            sdg_crystal *x = NULL;
            CU_ASSERT(sdg_crystal_matrix_decode(&p, M, &x, why, sizeof why) == SDG_OK);
            if (x) {
                CU_ASSERT(well_formed(x, &p));
                CU_ASSERT(why[0] == '\0');
                ok++;
            } else {
                CU_ASSERT(why[0] != '\0');
                if (undec++ == 0) snprintf(example, sizeof example, "%s", why);
            }
            sdg_crystal_free(x);
        }
        printf("\n  noise %g: %d decoded, %d undecodable (e.g. %s) ", scales[si], ok, undec, example);
        if (scales[si] <= 0.01) CU_ASSERT(ok == 1000);   /* small noise changes nothing discrete */
    }
    /* small noise keeps the crystal: same species, coordinates within the noise */
    memcpy(M, M0, sz * sizeof *M);
    for (size_t k = 0; k < sz; k++) M[k] += 1e-3 * sdg_rng_gaussian(r);
    sdg_crystal *x = NULL;
    CU_ASSERT(sdg_crystal_matrix_decode(&p, M, &x, why, sizeof why) == SDG_OK && x && x->n_atoms == 5);
    if (x) CU_ASSERT(x->z[0] == 22 && x->z[1] == 20 && x->z[4] == 8);
    sdg_crystal_free(x);
    /* corrupted entries: NaN, Inf, huge, absent element column, no site, bad angles */
    struct {
        size_t      at;
        double      v;
        const char *want;
    } corrupt[] = {
        {5, NAN, "not finite"},
        {(size_t)(94 * W), INFINITY, "not finite"},
        {(size_t)(94 * W), -3, "lattice"},
        {(size_t)(94 * W), 1e300, "lattice"},
        {(size_t)(95 * W), 200, "lattice"},
        {(size_t)(95 * W), 0, "lattice"},
        {(size_t)(7 * W + 0), 0.2, "holds no element"},   /* O's column emptied: O sites orphaned */
    };
    for (size_t k = 0; k < sizeof corrupt / sizeof corrupt[0]; k++) {
        memcpy(M, M0, sz * sizeof *M);
        M[corrupt[k].at] = corrupt[k].v;
        if (k == 3) M[94 * W + 1] = M[94 * W + 2] = 1e300;   /* volume overflows */
        x = NULL;
        CU_ASSERT(sdg_crystal_matrix_decode(&p, M, &x, why, sizeof why) == SDG_OK);
        CU_ASSERT(x == NULL);
        if (!strstr(why, corrupt[k].want)) printf("corruption %zu: reason '%s'\n", k, why);
        CU_ASSERT(strstr(why, corrupt[k].want) != NULL);
        sdg_crystal_free(x);
    }
    memset(M, 0, sz * sizeof *M);
    CU_ASSERT(sdg_crystal_matrix_decode(&p, M, &x, why, sizeof why) == SDG_OK && !x && strstr(why, "lattice"));
    memcpy(M, M0, sz * sizeof *M);
    for (int64_t i = 0; i < p.n_max; i++)
        for (int64_t j = 0; j < W; j++) M[(96 + p.n_max + i) * W + j] = 0.1;
    CU_ASSERT(sdg_crystal_matrix_decode(&p, M, &x, why, sizeof why) == SDG_OK && !x && strstr(why, "no occupied site"));
    /* padding columns (W > 3 for the lattice and coordinates) are ignored */
    memcpy(M, M0, sz * sizeof *M);
    M[94 * W + 3] = NAN;
    M[96 * W + 3] = 1e308;
    CU_ASSERT(sdg_crystal_matrix_decode(&p, M, &x, why, sizeof why) == SDG_OK && x && same_crystal(c, x, 0));
    sdg_crystal_free(x);
    sdg_rng_free(r);
    free(set);
    free(M);
    free(M0);
    sdg_crystal_free(c);
}

/* sdg_crystal_matrix_decode_with: the vocabulary picks the best allowed row of an element
 * column, reassignment moves a site off an empty column; the plain rule does neither. */
static void test_decode_rule(void) {
    sdg_crystal_matrix_params p = {4, 8};
    int64_t                   R, W;
    sdg_crystal_matrix_shape(&p, &R, &W);
    size_t       sz = (size_t)(R * W);
    sdg_crystal *c  = perovskite();   /* columns: 0 = O (Z 8), 1 = Ca (20), 2 = Ti (22) */
    double      *M  = malloc(sz * sizeof *M);
    CU_ASSERT_FATAL(sdg_crystal_matrix_encode(&p, c, M, sz) == SDG_OK);
    uint8_t vocab[94] = {0};
    vocab[8 - 1] = vocab[20 - 1] = vocab[22 - 1] = 1;
    sdg_crystal_decode_rule rule = {.elements = vocab, .reassign_sites = true};
    sdg_crystal            *x = NULL;
    char                    why[256];
    int                     changes = -1;
    /* untouched: both rules give the crystal back, no change */
    CU_ASSERT(sdg_crystal_matrix_decode_with(&p, &rule, M, &x, &changes, why, sizeof why) == SDG_OK && x);
    CU_ASSERT(x && same_crystal(c, x, 0) && changes == 0);
    sdg_crystal_free(x);
    /* Ca's spike moved to K (19, not in the vocabulary) with 0.3 left on Ca: plain decodes K,
     * the vocabulary Ca (one change) */
    M[19 * W + 1] = 0.3;
    M[18 * W + 1] = 0.9;
    CU_ASSERT(sdg_crystal_matrix_decode(&p, M, &x, why, sizeof why) == SDG_OK && x && x->z[1] == 19);
    sdg_crystal_free(x);
    CU_ASSERT(sdg_crystal_matrix_decode_with(&p, &rule, M, &x, &changes, why, sizeof why) == SDG_OK && x);
    CU_ASSERT(x && x->z[1] == 20 && changes == 1 && same_crystal(c, x, 0));
    sdg_crystal_free(x);
    /* the column still needs a largest entry >= 0.5 overall to hold an element at all */
    M[18 * W + 1] = 0.4;
    sdg_crystal_decode_rule vonly = {.elements = vocab, .reassign_sites = false};
    CU_ASSERT(sdg_crystal_matrix_decode_with(&p, &vonly, M, &x, &changes, why, sizeof why) == SDG_OK);
    CU_ASSERT(!x && strstr(why, "holds no element"));
    sdg_crystal_free(x);
    /* a NULL vocabulary: reassignment only; site 1 (Ca) points to empty column 3 with 0.9 and to
     * Ti's column with 0.6: plain undecodable, reassigned to Ti (one change) */
    M[18 * W + 1] = 0.0;
    M[19 * W + 1] = 1.0;
    double *o = M + (96 + p.n_max + 1) * W;
    o[1] = 0.2;
    o[2] = 0.6;
    o[3] = 0.9;
    CU_ASSERT(sdg_crystal_matrix_decode(&p, M, &x, why, sizeof why) == SDG_OK && !x && strstr(why, "site 1"));
    sdg_crystal_free(x);
    sdg_crystal_decode_rule sites = {.elements = NULL, .reassign_sites = true};
    CU_ASSERT(sdg_crystal_matrix_decode_with(&p, &sites, M, &x, &changes, why, sizeof why) == SDG_OK && x);
    CU_ASSERT(x && x->n_atoms == 5 && x->z[1] == 22 && changes == 1);
    sdg_crystal_free(x);
    /* an empty vocabulary is an error, not a silent plain decode */
    memset(vocab, 0, sizeof vocab);
    CU_ASSERT(sdg_crystal_matrix_decode_with(&p, &rule, M, &x, &changes, why, sizeof why) == SDG_ERR_INVALID && !x);
    sdg_error_clear();
    free(M);
    sdg_crystal_free(c);
}

int main(void) {
    data_dir = sdg_test_data_dir("crystals/perov_5/test.csv");
    const sdg_test_case cases[] = {{"layout", test_layout},
                                   {"datasets_exact", test_datasets_exact},
                                   {"noisy_decode", test_noisy_decode},
                                   {"decode_rule", test_decode_rule},
                                   {NULL, NULL}};
    return sdg_test_main("crystal_matrix", cases);
}
