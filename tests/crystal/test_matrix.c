/* The unified crystal matrix: layout, exact encode/decode on every crystal of every
 * available split (with and without scaling), fit counts per (E_max, N_max), and decoding of
 * noisy or corrupted matrices (a crystal or a reason, never a crash; run under ASan too); all of
 * it with the element rows Z 1..94 and with an element vocabulary. */
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

/* Vocabulary rows: R = n_vocab + 2 + 2 N_max, the element block has one row per vocabulary
 * element, an element outside it fails encoding by name, a malformed vocabulary is refused, and
 * the vocabulary 1..94 is the layout with all rows. */
static void test_layout_vocab(void) {
    sdg_crystal_matrix_params p = {.e_max = 3, .n_max = 20, .n_vocab = 4, .vocab = {8, 20, 22, 26}};
    int64_t                   R = 0, W = 0;
    CU_ASSERT(sdg_crystal_matrix_shape(&p, &R, &W) == SDG_OK && R == 4 + 2 + 40 && W == 3);
    sdg_crystal *c = perovskite(), *x = NULL;
    double       M[46 * 3], A[136 * 3], B[136 * 3];
    char         why[256];
    CU_ASSERT_FATAL(sdg_crystal_matrix_encode(&p, c, M, 46 * 3) == SDG_OK);
    CU_ASSERT(M[0 * 3 + 0] == 1 && M[1 * 3 + 1] == 1 && M[2 * 3 + 2] == 1);   /* O, Ca, Ti rows 0..2 */
    double s = 0;
    for (int k = 0; k < 4 * 3; k++) s += M[k];
    CU_ASSERT(s == 3);
    CU_ASSERT(M[4 * 3 + 0] == 3.9 && M[5 * 3 + 1] == 90);
    CU_ASSERT(M[6 * 3 + 0] == 0.5 && M[8 * 3 + 2] == 0.75);
    CU_ASSERT(M[26 * 3 + 2] == 1 && M[27 * 3 + 1] == 1 && M[28 * 3 + 0] == 1);   /* Ti, Ca, O */
    CU_ASSERT(sdg_crystal_matrix_encode(&p, c, M, 45 * 3) == SDG_ERR_INVALID);
    CU_ASSERT(sdg_crystal_matrix_decode(&p, M, &x, why, sizeof why) == SDG_OK && x && same_crystal(c, x, 0));
    sdg_crystal_free(x);
    /* Ca outside the vocabulary */
    sdg_crystal_matrix_params q = {.e_max = 3, .n_max = 20, .n_vocab = 3, .vocab = {8, 22, 26}};
    CU_ASSERT(sdg_crystal_matrix_encode(&q, c, M, 46 * 3) == SDG_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "element Ca (Z = 20) is not in the 3-element vocabulary"));
    sdg_error_clear();
    /* malformed vocabularies */
    const sdg_crystal_matrix_params bad[] = {
        {.e_max = 3, .n_max = 20, .n_vocab = 2, .vocab = {8, 8}},
        {.e_max = 3, .n_max = 20, .n_vocab = 2, .vocab = {22, 8}},
        {.e_max = 3, .n_max = 20, .n_vocab = 1, .vocab = {0}},
        {.e_max = 3, .n_max = 20, .n_vocab = 1, .vocab = {95}},
        {.e_max = 3, .n_max = 20, .n_vocab = -1},
        {.e_max = 3, .n_max = 20, .n_vocab = 95},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        CU_ASSERT(sdg_crystal_matrix_shape(&bad[k], &R, &W) == SDG_ERR_INVALID);
        CU_ASSERT(sdg_crystal_matrix_encode(&bad[k], c, M, 46 * 3) == SDG_ERR_INVALID);
        sdg_error_clear();
    }
    /* all of Z 1..94 as a vocabulary: the same matrix as all rows */
    sdg_crystal_matrix_params full = sdg_crystal_matrix_default_params(), dflt = full;
    full.n_vocab = 94;
    for (int k = 0; k < 94; k++) full.vocab[k] = k + 1;
    CU_ASSERT(sdg_crystal_matrix_encode(&full, c, A, 136 * 3) == SDG_OK);
    CU_ASSERT(sdg_crystal_matrix_encode(&dflt, c, B, 136 * 3) == SDG_OK);
    CU_ASSERT(memcmp(A, B, sizeof A) == 0);
    /* the vocabulary of a set of crystals: the elements of those that fit, ascending */
    sdg_crystal *d = NULL;
    CU_ASSERT_FATAL(sdg_crystal_copy(c, &d) == SDG_OK);
    sdg_crystal_add_site(d, 3, (double[3]){0.1, 0.1, 0.1});   /* Li: 4 elements, does not fit E_max 3 */
    const sdg_crystal *set[2] = {d, c};
    sdg_crystal_matrix_params v = sdg_crystal_matrix_default_params();
    CU_ASSERT(sdg_crystal_matrix_vocab_fit(set, 2, &v) == SDG_OK);
    CU_ASSERT(v.n_vocab == 3 && v.vocab[0] == 8 && v.vocab[1] == 20 && v.vocab[2] == 22);
    v = sdg_crystal_matrix_default_params();
    CU_ASSERT(sdg_crystal_matrix_vocab_fit(set, 1, &v) == SDG_ERR_INVALID && v.n_vocab == 0);
    sdg_error_clear();
    sdg_crystal_free(d);
    sdg_crystal_free(c);
}

static void roundtrip_split(const char *ds, const char *split, const sdg_crystal_matrix_params *pp, size_t *n_fit,
                            size_t *n_elems, size_t *n_sites, size_t *n_foreign, size_t *n_total) {
    sdg_crystal_matrix_params p = *pp;
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
            if (strstr(sdg_errmsg(), "vocabulary")) (*n_foreign)++;
            else if (strstr(sdg_errmsg(), "elements")) (*n_elems)++;
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
            double x = all[k * sz + (R - 2 - 2 * p.n_max) * W];   /* lattice a */
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
    size_t fit = 0, ne = 0, ns = 0, nf = 0, tot = 0;
    for (const char *const *s = splits; *s; s++) roundtrip_split(ds, *s, &p, &fit, &ne, &ns, &nf, &tot);
    printf("\n  %s E_max %lld N_max %lld: %zu / %zu fit (%zu too many elements, %zu too many sites) ", ds,
           (long long)p.e_max, (long long)p.n_max, fit, tot, ne, ns);
    CU_ASSERT(fit + ne + ns == tot && nf == 0);
    if (all_must_fit) CU_ASSERT(fit == tot);
}

/* Vocabulary rows fitted on the training split (sdg_crystal_matrix_vocab_fit): n_vocab elements;
 * every training crystal fits and round-trips exactly; crystals of the other splits fit or hold
 * an element outside the vocabulary. */
static void vocab_report(const char *ds, const char *train, const char *const *others, sdg_crystal_matrix_params p,
                         int64_t n_vocab) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/crystals/%s", data_dir, ds);
    sdg_crystal_dataset *d = NULL;
    CU_ASSERT_FATAL(sdg_crystal_dataset_load(dir, train, NULL, &d) == SDG_OK);
    CU_ASSERT_FATAL(sdg_crystal_matrix_vocab_fit((const sdg_crystal *const *)d->crystals, d->count, &p) == SDG_OK);
    CU_ASSERT(p.n_vocab == n_vocab);
    for (int64_t k = 0; k < p.n_vocab; k++) CU_ASSERT(p.vocab[k] >= 1 && p.vocab[k] <= 94);
    int64_t R = 0, W = 0;
    CU_ASSERT(sdg_crystal_matrix_shape(&p, &R, &W) == SDG_OK && R == p.n_vocab + 2 + 2 * p.n_max);
    size_t fit = 0, ne = 0, ns = 0, nf = 0, tot = 0;
    roundtrip_split(ds, train, &p, &fit, &ne, &ns, &nf, &tot);
    CU_ASSERT(fit == d->count && fit == tot);
    size_t ofit = 0, otot = 0;
    for (const char *const *s = others; *s; s++) roundtrip_split(ds, *s, &p, &ofit, &ne, &ns, &nf, &otot);
    CU_ASSERT(ofit + nf == otot && ne == 0 && ns == 0);
    printf("\n  %s E_max %lld N_max %lld, %lld vocabulary rows from %s (%lld x %lld): %zu / %zu %s fit, other splits "
           "%zu / %zu (%zu with an element outside the vocabulary) ", ds, (long long)p.e_max, (long long)p.n_max,
           (long long)p.n_vocab, train, (long long)R, (long long)W, fit, tot, train, ofit, otot, nf);
    sdg_crystal_dataset_free(d);
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
    fit_report("perov_5", vt, (sdg_crystal_matrix_params){.e_max = 5, .n_max = 5}, true);
    fit_report("carbon_24", vt, (sdg_crystal_matrix_params){.e_max = 1, .n_max = 24}, true);
    fit_report("mp_20_subset", tvt, (sdg_crystal_matrix_params){.e_max = 7, .n_max = 20}, true);
    /* vocabulary rows from the training split (perov_5, carbon_24: val here; mp_20: train) */
    const char *const test[] = {"test", NULL}, *const vt2[] = {"val", "test", NULL};
    vocab_report("perov_5", "val", test, (sdg_crystal_matrix_params){.e_max = 5, .n_max = 5}, 56);
    vocab_report("carbon_24", "val", test, (sdg_crystal_matrix_params){.e_max = 1, .n_max = 24}, 1);
    vocab_report("mp_20_subset", "train", vt2, (sdg_crystal_matrix_params){.e_max = 7, .n_max = 20}, 85);
}

/* Z is an element of p's rows (1..94, or the vocabulary's). */
static int in_rows(int z, const sdg_crystal_matrix_params *p) {
    if (!p->n_vocab) return z >= 1 && z <= 94;
    for (int64_t k = 0; k < p->n_vocab; k++)
        if (p->vocab[k] == z) return 1;
    return 0;
}

/* Element row of Z in p's layout, -1 when it has none. */
static int64_t row_of(int z, const sdg_crystal_matrix_params *p) {
    if (!p->n_vocab) return z - 1;
    for (int64_t k = 0; k < p->n_vocab; k++)
        if (p->vocab[k] == z) return k;
    return -1;
}

/* Well-formed: at least one site, at most n_max; Z in 1..94 and in the element rows; at most
 * e_max elements; coordinates in [0, 1); a finite lattice with positive volume. */
static int well_formed(const sdg_crystal *c, const sdg_crystal_matrix_params *p) {
    if (c->n_atoms < 1 || c->n_atoms > p->n_max) return 0;
    int32_t zs[119];
    int64_t cn[119];
    size_t  ne = 0;
    if (sdg_crystal_composition(c, zs, cn, 119, &ne) != SDG_OK || (int64_t)ne > p->e_max) return 0;
    for (int64_t i = 0; i < c->n_atoms; i++) {
        if (!in_rows(c->z[i], p)) return 0;
        for (int d = 0; d < 3; d++)
            if (!(c->frac[3 * i + d] >= 0 && c->frac[3 * i + d] < 1)) return 0;
    }
    double v = sdg_crystal_volume(c);
    for (int k = 0; k < 9; k++)
        if (!isfinite(c->lattice[k])) return 0;
    return isfinite(v) && v > 0;
}

static void noisy_decode(sdg_crystal_matrix_params p) {
    int64_t R, W;
    sdg_crystal_matrix_shape(&p, &R, &W);
    const int64_t lat = R - 2 - 2 * p.n_max, occ = lat + 2 + p.n_max;   /* first lattice / occupancy row */
    size_t       sz = (size_t)(R * W);
    sdg_crystal *c  = perovskite();
    double      *M0 = malloc(sz * sizeof *M0), *M = malloc(sz * sizeof *M);
    CU_ASSERT_FATAL(sdg_crystal_matrix_encode(&p, c, M0, sz) == SDG_OK);
    /* a scaler from a handful of jittered copies, so that noise is added in model space */
    sdg_crystal_scaler s;
    double            *set = malloc(8 * sz * sizeof *set);
    for (int k = 0; k < 8; k++) {
        memcpy(set + k * sz, M0, sz * sizeof *M0);
        set[k * sz + lat * W] += 0.1 * k;
        set[k * sz + (lat + 1) * W + 2] += 2.0 * k;
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
        {(size_t)(lat * W), INFINITY, "not finite"},
        {(size_t)(lat * W), -3, "lattice"},
        {(size_t)(lat * W), 1e300, "lattice"},
        {(size_t)((lat + 1) * W), 200, "lattice"},
        {(size_t)((lat + 1) * W), 0, "lattice"},
        {(size_t)(row_of(8, &p) * W + 0), 0.2, "holds no element"},   /* O's column emptied: O sites orphaned */
    };
    for (size_t k = 0; k < sizeof corrupt / sizeof corrupt[0]; k++) {
        memcpy(M, M0, sz * sizeof *M);
        M[corrupt[k].at] = corrupt[k].v;
        if (k == 3) M[lat * W + 1] = M[lat * W + 2] = 1e300;   /* volume overflows */
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
        for (int64_t j = 0; j < W; j++) M[(occ + i) * W + j] = 0.1;
    CU_ASSERT(sdg_crystal_matrix_decode(&p, M, &x, why, sizeof why) == SDG_OK && !x && strstr(why, "no occupied site"));
    /* padding columns (W > 3 for the lattice and coordinates) are ignored */
    memcpy(M, M0, sz * sizeof *M);
    M[lat * W + 3] = NAN;
    M[(lat + 2) * W + 3] = 1e308;
    CU_ASSERT(sdg_crystal_matrix_decode(&p, M, &x, why, sizeof why) == SDG_OK && x && same_crystal(c, x, 0));
    sdg_crystal_free(x);
    /* random matrices (every entry U(-1, 2), the lattice kept): a crystal of the rows' elements
     * or a reason */
    int ok = 0;
    for (int it = 0; it < 2000; it++) {
        for (size_t k = 0; k < sz; k++) M[k] = -1 + 3 * sdg_rng_uniform(r);
        memcpy(M + lat * W, M0 + lat * W, (size_t)(2 * W) * sizeof *M);
        x = NULL;
        CU_ASSERT(sdg_crystal_matrix_decode(&p, M, &x, why, sizeof why) == SDG_OK);
        CU_ASSERT(x ? well_formed(x, &p) && !why[0] : why[0] != '\0');
        ok += x != NULL;
        sdg_crystal_free(x);
    }
    printf("\n  random matrices: %d of 2000 decoded ", ok);
    CU_ASSERT(ok > 0);
    sdg_rng_free(r);
    free(set);
    free(M);
    free(M0);
    sdg_crystal_free(c);
}

static void test_noisy_decode(void) {
    noisy_decode((sdg_crystal_matrix_params){.e_max = 4, .n_max = 8});
    /* vocabulary rows O, K, Ca, Ti, Sr (K and Sr absent from the crystal) */
    noisy_decode((sdg_crystal_matrix_params){.e_max = 4, .n_max = 8, .n_vocab = 5, .vocab = {8, 19, 20, 22, 38}});
}

/* sdg_crystal_matrix_decode_with: the vocabulary picks the best allowed row of an element
 * column, reassignment moves a site off an empty column; the plain rule does neither. */
static void test_decode_rule(void) {
    sdg_crystal_matrix_params p = {.e_max = 4, .n_max = 8};
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

/* With vocabulary rows the rule's vocabulary is read over the rows: covering them it is a no-op,
 * a subset still picks the best allowed row, and one without a row is an error. */
static void test_decode_rule_vocab(void) {
    sdg_crystal_matrix_params p = {.e_max = 4, .n_max = 8, .n_vocab = 5, .vocab = {8, 19, 20, 22, 38}};
    int64_t                   R, W;
    sdg_crystal_matrix_shape(&p, &R, &W);
    size_t       sz = (size_t)(R * W);
    sdg_crystal *c  = perovskite(), *x = NULL;   /* rows: 0 O, 1 K, 2 Ca, 3 Ti, 4 Sr */
    double      *M  = malloc(sz * sizeof *M);
    char         why[256];
    int          changes = -1;
    CU_ASSERT_FATAL(sdg_crystal_matrix_encode(&p, c, M, sz) == SDG_OK);
    /* Ca's spike moved to K with 0.3 left on Ca: plain decodes K */
    M[2 * W + 1] = 0.3;
    M[1 * W + 1] = 0.9;
    CU_ASSERT(sdg_crystal_matrix_decode(&p, M, &x, why, sizeof why) == SDG_OK && x && x->z[1] == 19);
    sdg_crystal_free(x);
    uint8_t vocab[94] = {0};
    vocab[8 - 1] = vocab[19 - 1] = vocab[20 - 1] = vocab[22 - 1] = vocab[38 - 1] = vocab[1 - 1] = 1;
    sdg_crystal_decode_rule rule = {.elements = vocab, .reassign_sites = false};
    CU_ASSERT(sdg_crystal_matrix_decode_with(&p, &rule, M, &x, &changes, why, sizeof why) == SDG_OK && x);
    CU_ASSERT(x && x->z[1] == 19 && changes == 0);   /* covers the rows: nothing changes */
    sdg_crystal_free(x);
    vocab[19 - 1] = 0;   /* without K: Ca */
    CU_ASSERT(sdg_crystal_matrix_decode_with(&p, &rule, M, &x, &changes, why, sizeof why) == SDG_OK && x);
    CU_ASSERT(x && x->z[1] == 20 && changes == 1 && same_crystal(c, x, 0));
    sdg_crystal_free(x);
    memset(vocab, 0, sizeof vocab);
    vocab[1 - 1] = 1;   /* H alone: no row */
    CU_ASSERT(sdg_crystal_matrix_decode_with(&p, &rule, M, &x, &changes, why, sizeof why) == SDG_ERR_INVALID && !x);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "no element of the vocabulary has an element row"));
    sdg_error_clear();
    free(M);
    sdg_crystal_free(c);
}

int main(void) {
    data_dir = sdg_test_data_dir("crystals/perov_5/test.csv");
    const sdg_test_case cases[] = {{"layout", test_layout},
                                   {"layout_vocab", test_layout_vocab},
                                   {"datasets_exact", test_datasets_exact},
                                   {"noisy_decode", test_noisy_decode},
                                   {"decode_rule", test_decode_rule},
                                   {"decode_rule_vocab", test_decode_rule_vocab},
                                   {NULL, NULL}};
    return sdg_test_main("crystal_matrix", cases);
}
