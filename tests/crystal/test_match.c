/* Structure matching (crystal.h: sdg_crystal_match, docs/crystals.md "Evaluation"): a crystal
 * matches itself after an origin shift, a permutation of its sites, a rotation, another basis of
 * its lattice, a supercell, and noise or strain below the tolerances; it does not match a
 * different composition, a lattice strained beyond ltol or a site displaced beyond stol. Also
 * the Niggli conditions, primitive cells, densities, the match index and Wasserstein-1 against
 * hand-computed values. */
#include "test_util.h"

static sdg_element_table *table;
static sdg_rng           *rng;

static double unif(void) {
    float x = 0;
    sdg_rng_fill_uniform(rng, &x, 1, 0.0f, 1.0f);
    return (double)x;
}

static sdg_crystal *from_params(const double p[6]) {
    double       m[9];
    sdg_crystal *c = NULL;
    CU_ASSERT_FATAL(sdg_lattice_from_params(p, m) == SDG_OK);
    CU_ASSERT_FATAL(sdg_crystal_new(m, &c) == SDG_OK);
    return c;
}

static void add(sdg_crystal *c, int z, double x, double y, double w) {
    CU_ASSERT_FATAL(sdg_crystal_add_site(c, z, (double[3]){x, y, w}) == SDG_OK);
}

/* Cubic perovskite CaTiO3, a = 3.9. */
static sdg_crystal *perovskite(void) {
    sdg_crystal *c = from_params((double[6]){3.9, 3.9, 3.9, 90, 90, 90});
    add(c, 20, 0, 0, 0);
    add(c, 22, 0.5, 0.5, 0.5);
    add(c, 8, 0.5, 0.5, 0);
    add(c, 8, 0.5, 0, 0.5);
    add(c, 8, 0, 0.5, 0.5);
    return c;
}

/* Rock salt in its conventional cell (8 sites; the primitive cell has 2). */
static sdg_crystal *rocksalt(void) {
    sdg_crystal *c = from_params((double[6]){5.64, 5.64, 5.64, 90, 90, 90});
    const double f[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    for (int k = 0; k < 4; k++) {
        add(c, 11, f[k][0], f[k][1], f[k][2]);
        add(c, 17, f[k][0] + 0.5, f[k][1], f[k][2]);
    }
    sdg_crystal_wrap(c);
    return c;
}

/* A triclinic A2B4 crystal with sites far apart (no symmetry but the identity). */
static sdg_crystal *triclinic(void) {
    sdg_crystal *c = from_params((double[6]){4.1, 5.3, 6.2, 78, 85, 97});
    const double f[6][3] = {{0.02, 0.05, 0.11}, {0.51, 0.38, 0.62}, {0.27, 0.71, 0.33},
                            {0.83, 0.14, 0.41}, {0.66, 0.89, 0.87}, {0.12, 0.42, 0.79}};
    for (int k = 0; k < 6; k++) add(c, k < 2 ? 12 : 8, f[k][0], f[k][1], f[k][2]);
    return c;
}

static bool matches(const sdg_crystal *a, const sdg_crystal *b) {
    sdg_match_result r;
    CU_ASSERT_FATAL(sdg_crystal_match(a, b, NULL, &r) == SDG_OK);
    return r.match;
}

/* A copy with the origin shifted by a random vector and the sites in a random order. */
static sdg_crystal *shuffled(const sdg_crystal *c) {
    double       t[3] = {unif(), unif(), unif()};
    int64_t      n = c->n_atoms, perm[64];
    sdg_crystal *r = NULL;
    CU_ASSERT_FATAL(n <= 64);
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(unif() * (double)(i + 1)) % (i + 1), x = perm[i];
        perm[i] = perm[j], perm[j] = x;
    }
    CU_ASSERT_FATAL(sdg_crystal_new(c->lattice, &r) == SDG_OK);
    for (int64_t i = 0; i < n; i++) {
        const double *f = c->frac + 3 * perm[i];
        add(r, c->z[perm[i]], f[0] + t[0], f[1] + t[1], f[2] + t[2]);
    }
    sdg_crystal_wrap(r);
    return r;
}

/* The same crystal in the basis T m (T integer, det 1): positions f T^-1. */
static sdg_crystal *rebased(const sdg_crystal *c, const int T[9]) {
    double m[9] = {0}, Td[9], Ti[9];
    for (int k = 0; k < 9; k++) Td[k] = T[k];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++) m[3 * i + j] += Td[3 * i + k] * c->lattice[3 * k + j];
    /* inverse of Td by cofactors */
    double det = Td[0] * (Td[4] * Td[8] - Td[5] * Td[7]) - Td[1] * (Td[3] * Td[8] - Td[5] * Td[6]) +
                 Td[2] * (Td[3] * Td[7] - Td[4] * Td[6]);
    CU_ASSERT_FATAL(fabs(fabs(det) - 1) < 1e-12);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            int    r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
            Ti[3 * i + j] = (Td[3 * r0 + c0] * Td[3 * r1 + c1] - Td[3 * r0 + c1] * Td[3 * r1 + c0]) / det;
        }
    sdg_crystal *r = NULL;
    CU_ASSERT_FATAL(sdg_crystal_new(m, &r) == SDG_OK);
    for (int64_t a = 0; a < c->n_atoms; a++) {
        double f[3] = {0, 0, 0};
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++) f[j] += c->frac[3 * a + k] * Ti[3 * k + j];
        add(r, c->z[a], f[0], f[1], f[2]);
    }
    sdg_crystal_wrap(r);
    return r;
}

/* An n1 x n2 x n3 supercell. */
static sdg_crystal *supercell(const sdg_crystal *c, int n1, int n2, int n3) {
    double m[9];
    for (int k = 0; k < 3; k++) m[k] = c->lattice[k] * n1, m[3 + k] = c->lattice[3 + k] * n2, m[6 + k] = c->lattice[6 + k] * n3;
    sdg_crystal *r = NULL;
    CU_ASSERT_FATAL(sdg_crystal_new(m, &r) == SDG_OK);
    for (int i = 0; i < n1; i++)
        for (int j = 0; j < n2; j++)
            for (int k = 0; k < n3; k++)
                for (int64_t a = 0; a < c->n_atoms; a++) {
                    const double *f = c->frac + 3 * a;
                    add(r, c->z[a], (f[0] + i) / n1, (f[1] + j) / n2, (f[2] + k) / n3);
                }
    return r;
}

/* Every site moved by a random Cartesian vector of length d (Angstrom); site `only` alone when >= 0. */
static sdg_crystal *displaced(const sdg_crystal *c, double d, int64_t only) {
    sdg_crystal *r = NULL;
    double       inv[9], det;
    CU_ASSERT_FATAL(sdg_crystal_copy(c, &r) == SDG_OK);
    det = sdg_lattice_volume(c->lattice);
    CU_ASSERT_FATAL(det > 0);
    for (int64_t a = 0; a < c->n_atoms; a++) {
        if (only >= 0 && a != only) continue;
        double v[3] = {unif() - 0.5, unif() - 0.5, unif() - 0.5}, x[3], f[3];
        double s = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
        sdg_lattice_frac_to_cart(c->lattice, c->frac + 3 * a, x);
        for (int k = 0; k < 3; k++) x[k] += d * v[k] / s;
        CU_ASSERT_FATAL(sdg_lattice_cart_to_frac(c->lattice, x, f) == SDG_OK);
        memcpy(r->frac + 3 * a, f, sizeof f);
    }
    (void)inv;
    sdg_crystal_wrap(r);
    return r;
}

/* The lattice with row k scaled by s (positions kept fractional). */
static sdg_crystal *strained(const sdg_crystal *c, int k, double s) {
    sdg_crystal *r = NULL;
    CU_ASSERT_FATAL(sdg_crystal_copy(c, &r) == SDG_OK);
    for (int j = 0; j < 3; j++) r->lattice[3 * k + j] *= s;
    return r;
}

/* Rotated about z by 30 degrees and mirrored through x = 0: same crystal, other Cartesian frame. */
static sdg_crystal *rotated(const sdg_crystal *c) {
    sdg_crystal *r = NULL;
    CU_ASSERT_FATAL(sdg_crystal_copy(c, &r) == SDG_OK);
    double cs = sqrt(3.0) / 2, sn = 0.5;   /* 30 degrees */
    for (int i = 0; i < 3; i++) {
        const double *v = c->lattice + 3 * i;
        r->lattice[3 * i] = -(cs * v[0] - sn * v[1]);
        r->lattice[3 * i + 1] = sn * v[0] + cs * v[1];
        r->lattice[3 * i + 2] = v[2];
    }
    return r;
}

static double stol_length(const sdg_crystal *c) { return cbrt(sdg_crystal_volume(c) / (double)c->n_atoms); }

typedef sdg_crystal *(*maker)(void);
static const maker makers[] = {perovskite, rocksalt, triclinic};
static const char *const maker_names[] = {"perovskite", "rocksalt", "triclinic"};

static void test_equal_variants(void) {
    for (size_t m = 0; m < sizeof makers / sizeof *makers; m++) {
        sdg_crystal *c = makers[m]();
        printf("\n  %s:", maker_names[m]);
        CU_ASSERT(matches(c, c));
        for (int rep = 0; rep < 5; rep++) {
            sdg_crystal *s = shuffled(c);
            CU_ASSERT(matches(s, c));
            CU_ASSERT(matches(c, s));
            sdg_crystal_free(s);
        }
        sdg_crystal *x = rotated(c);
        CU_ASSERT(matches(x, c));
        sdg_crystal_free(x);
        const int T1[9] = {1, 1, 0, 0, 1, 0, 1, 0, 1}, T2[9] = {2, 1, 1, 1, 1, 1, 1, 1, 2}, T3[9] = {0, 1, 0, 1, 0, 0, 0, 0, -1};
        const int *Ts[3] = {T1, T2, T3};
        for (int k = 0; k < 3; k++) {
            x = rebased(c, Ts[k]);
            sdg_crystal *y = shuffled(x);
            CU_ASSERT(matches(y, c));
            CU_ASSERT(matches(c, y));
            sdg_crystal_free(x), sdg_crystal_free(y);
        }
        x = supercell(c, 2, 1, 1);
        sdg_crystal *y = shuffled(x);
        CU_ASSERT(matches(y, c));
        CU_ASSERT(matches(c, y));
        sdg_crystal_free(x), sdg_crystal_free(y);
        x = supercell(c, 1, 2, 2);
        CU_ASSERT(matches(x, c));
        sdg_crystal_free(x);
        /* noise: every site by 0.02 (V/N)^(1/3) (0.06 A for rock salt), well below stol 0.3;
         * sites of a supercell must also stay within 0.25 A of each other's images for the
         * primitive reduction, so larger noise is tried on the primitive cells only */
        for (int rep = 0; rep < 5; rep++) {
            x = displaced(c, (m == 1 ? 0.02 : 0.08) * stol_length(c), -1);
            y = shuffled(x);
            sdg_match_result r;
            CU_ASSERT(sdg_crystal_match(y, c, NULL, &r) == SDG_OK);
            CU_ASSERT(r.match);
            /* the first trial under stol ends the search; a tighter stol finds the right one */
            sdg_match_params p = sdg_match_default_params();
            p.stol = 0.15;
            CU_ASSERT(sdg_crystal_match(y, c, &p, &r) == SDG_OK);
            CU_ASSERT(r.match);
            printf(" noise max %.3f rms %.3f;", r.max_dist, r.rms_dist);
            sdg_crystal_free(x), sdg_crystal_free(y);
        }
        /* a strain of 5 % along a and a uniform scaling (volumes are scaled away) */
        x = strained(c, 0, 1.05);
        CU_ASSERT(matches(x, c));
        sdg_crystal_free(x);
        x = strained(c, 0, 1.3);
        y = strained(x, 1, 1.3);
        sdg_crystal_free(x);
        x = strained(y, 2, 1.3);
        CU_ASSERT(matches(x, c));
        sdg_crystal_free(x), sdg_crystal_free(y);
        sdg_crystal_free(c);
    }
}

static void test_different(void) {
    for (size_t m = 0; m < sizeof makers / sizeof *makers; m++) {
        sdg_crystal *c = makers[m]();
        printf("\n  %s:", maker_names[m]);
        /* another composition: one site changes species */
        sdg_crystal *x = NULL;
        CU_ASSERT_FATAL(sdg_crystal_copy(c, &x) == SDG_OK);
        x->z[0] = 3;
        CU_ASSERT(!matches(x, c));
        CU_ASSERT(!matches(c, x));
        sdg_crystal_free(x);
        /* a lattice stretched by 1.6 along a: after volume scaling a is 1.6^(2/3) = 1.37 times
         * too long and the other two 0.85 times: beyond ltol = 0.2 in every basis */
        x = strained(c, 0, 1.6);
        sdg_match_result r;
        CU_ASSERT(sdg_crystal_match(x, c, NULL, &r) == SDG_OK);
        CU_ASSERT(!r.match);
        printf(" strained 1.6: %d bases;", r.n_bases);
        sdg_crystal_free(x);
        /* one site displaced by 0.6 (V/N)^(1/3): its displacement after the mean shift stays
         * above stol. Rock salt in its primitive cell (a displaced site would only break the
         * primitive reduction of the 8-site cell): with two sites each moves half the way, so
         * 0.75 (V/N)^(1/3), and the nearest other Na-Cl vector is 1.41 (V/N)^(1/3) away */
        if (m == 1) {
            sdg_crystal *pc = NULL;
            CU_ASSERT_FATAL(sdg_crystal_primitive(c, 0.25, &pc) == SDG_OK);
            CU_ASSERT_FATAL(pc->n_atoms == 2);
            sdg_crystal_free(c);
            c = pc;
        }
        for (int rep = 0; rep < 5; rep++) {
            x = displaced(c, (m == 1 ? 0.75 : 0.6) * stol_length(c), 0);
            CU_ASSERT(sdg_crystal_match(x, c, NULL, &r) == SDG_OK);
            CU_ASSERT(!r.match);
            printf(" one site moved: max %.3f;", r.max_dist);
            sdg_crystal_free(x);
        }
        /* and every site by 0.8 (V/N)^(1/3) in random directions (with 5 sites or more: two
         * sites moved alike differ by a translation only) */
        if (c->n_atoms >= 5) {
            x = displaced(c, 0.8 * stol_length(c), -1);
            CU_ASSERT(!matches(x, c));
            sdg_crystal_free(x);
        }
        sdg_crystal_free(c);
    }
    /* rock salt is not cesium chloride, though both are AB and cubic */
    sdg_crystal *a = rocksalt(), *b = from_params((double[6]){4.1, 4.1, 4.1, 90, 90, 90});
    add(b, 11, 0, 0, 0);
    add(b, 17, 0.5, 0.5, 0.5);
    CU_ASSERT(!matches(a, b));
    CU_ASSERT(!matches(b, a));
    sdg_crystal_free(a), sdg_crystal_free(b);
}

static void test_tolerances(void) {
    /* stol is a threshold on the largest normalised displacement: a tighter stol rejects what
     * the default accepts */
    sdg_crystal     *c = triclinic(), *x = displaced(c, 0.1 * stol_length(c), -1);
    sdg_match_params p = sdg_match_default_params();
    sdg_match_result r;
    CU_ASSERT(sdg_crystal_match(x, c, &p, &r) == SDG_OK && r.match);
    p.stol = 0.01;
    CU_ASSERT(sdg_crystal_match(x, c, &p, &r) == SDG_OK && !r.match);
    p = sdg_match_default_params();
    p.ltol = 2;
    CU_ASSERT(sdg_crystal_match(x, c, &p, &r) == SDG_ERR_INVALID);
    sdg_crystal *e = NULL;
    CU_ASSERT_FATAL(sdg_crystal_new(c->lattice, &e) == SDG_OK);
    CU_ASSERT(sdg_crystal_match(e, c, NULL, &r) == SDG_ERR_INVALID);
    sdg_crystal_free(e), sdg_crystal_free(x), sdg_crystal_free(c);
}

static void test_niggli(void) {
    for (int rep = 0; rep < 300; rep++) {
        double m[9], out[9];
        int32_t T[9];
        for (int k = 0; k < 9; k++) m[k] = 6 * (unif() - 0.5);
        for (int k = 0; k < 3; k++) m[4 * k] += 4;   /* mostly well-conditioned, some skewed */
        double vol = sdg_lattice_volume(m);
        if (vol < 1) continue;
        CU_ASSERT_FATAL(sdg_lattice_niggli_reduce(m, 1e-5, out, T) == SDG_OK);
        /* out = T m exactly up to rounding, det T = 1 */
        double err = 0;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                double s = 0;
                for (int k = 0; k < 3; k++) s += T[3 * i + k] * m[3 * k + j];
                err = fmax(err, fabs(s - out[3 * i + j]));
            }
        CU_ASSERT(err < 1e-9);
        int64_t det = (int64_t)T[0] * (T[4] * T[8] - T[5] * T[7]) - (int64_t)T[1] * (T[3] * T[8] - T[5] * T[6]) +
                      (int64_t)T[2] * (T[3] * T[7] - T[4] * T[6]);
        CU_ASSERT(det == 1);
        /* Niggli conditions with a small tolerance */
        double A = 0, B = 0, C = 0, X = 0, E = 0, Z = 0;
        for (int k = 0; k < 3; k++) {
            A += out[k] * out[k], B += out[3 + k] * out[3 + k], C += out[6 + k] * out[6 + k];
            X += 2 * out[3 + k] * out[6 + k], E += 2 * out[k] * out[6 + k], Z += 2 * out[k] * out[3 + k];
        }
        double e = 1e-6 * cbrt(vol) * cbrt(vol);
        CU_ASSERT(A <= B + e && B <= C + e);
        CU_ASSERT(fabs(X) <= B + e && fabs(E) <= A + e && fabs(Z) <= A + e);
        CU_ASSERT((X > 0 && E > 0 && Z > 0) || (X <= e && E <= e && Z <= e));
        /* reducing again changes nothing */
        double again[9];
        CU_ASSERT(sdg_lattice_niggli_reduce(out, 1e-5, again, NULL) == SDG_OK);
        double lo = 0, la = 0;
        for (int k = 0; k < 9; k += 3) {
            lo += sqrt(out[k] * out[k] + out[k + 1] * out[k + 1] + out[k + 2] * out[k + 2]);
            la += sqrt(again[k] * again[k] + again[k + 1] * again[k + 1] + again[k + 2] * again[k + 2]);
        }
        CU_ASSERT(fabs(lo - la) < 1e-9);
    }
    double bad[9] = {1, 0, 0, 2, 0, 0, 0, 0, 1}, out[9];
    CU_ASSERT(sdg_lattice_niggli_reduce(bad, 1e-5, out, NULL) == SDG_ERR_NUMERIC);
}

static void test_primitive(void) {
    sdg_crystal *c = rocksalt(), *p = NULL;
    CU_ASSERT_FATAL(sdg_crystal_primitive(c, 0.25, &p) == SDG_OK);
    CU_ASSERT(p->n_atoms == 2);
    CU_ASSERT(fabs(sdg_crystal_volume(p) - sdg_crystal_volume(c) / 4) < 1e-9);
    sdg_crystal_free(p);
    sdg_crystal *s = supercell(c, 1, 3, 1);   /* 24 sites */
    CU_ASSERT_FATAL(sdg_crystal_primitive(s, 0.25, &p) == SDG_OK);
    CU_ASSERT(p->n_atoms == 2);
    sdg_crystal_free(p), sdg_crystal_free(s);
    sdg_crystal *t = triclinic();
    CU_ASSERT_FATAL(sdg_crystal_primitive(t, 0.25, &p) == SDG_OK);
    CU_ASSERT(p->n_atoms == 6);
    sdg_crystal_free(p), sdg_crystal_free(t), sdg_crystal_free(c);
}

static void test_density(void) {
    /* NaCl: 4 (22.98976928 + 35.453) g/mol in 5.64^3 A^3 = 2.1637 g/cm^3 (1 u = 1.66053906660e-24 g) */
    sdg_crystal *c = rocksalt();
    double       rho = 0, want = 4 * (22.98976928 + 35.453) * 1.66053906660 / (5.64 * 5.64 * 5.64);
    CU_ASSERT_FATAL(sdg_crystal_density(c, table, &rho) == SDG_OK);
    CU_ASSERT(fabs(rho - want) < 1e-12);
    CU_ASSERT(fabs(rho - 2.1637) < 1e-4);
    double m = 0;
    CU_ASSERT(sdg_element_table_mass(table, 6, &m) == SDG_OK && m == 12.0107);
    CU_ASSERT(sdg_element_table_mass(table, 104, &m) == SDG_ERR_NOTFOUND);
    c->z[0] = 110;
    CU_ASSERT(sdg_crystal_density(c, table, &rho) == SDG_ERR_NOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "Ds"));
    sdg_crystal_free(c);
}

static void test_index(void) {
    sdg_match_index *x = NULL;
    CU_ASSERT_FATAL(sdg_match_index_new(NULL, &x) == SDG_OK);
    sdg_crystal *a = perovskite(), *b = rocksalt(), *c = triclinic();
    sdg_crystal *a2 = shuffled(a), *b2 = supercell(b, 1, 1, 2), *c2 = displaced(c, 0.05 * stol_length(c), -1);
    bool   found = true;
    size_t id = 99;
    CU_ASSERT(sdg_match_index_find(x, a, &found, &id) == SDG_OK && !found);
    const sdg_crystal *seq[6] = {a, b, a2, c, b2, c2};
    const bool         dup[6] = {false, false, true, false, true, true};
    const size_t       ids[6] = {0, 1, 0, 2, 1, 2};
    for (int k = 0; k < 6; k++) {
        CU_ASSERT(sdg_match_index_find_or_add(x, seq[k], &found, &id) == SDG_OK);
        CU_ASSERT(found == dup[k]);
        CU_ASSERT(id == ids[k]);
    }
    CU_ASSERT(sdg_match_index_count(x) == 3);
    sdg_match_index_free(x);
    sdg_match_index_free(NULL);
    sdg_crystal_free(a), sdg_crystal_free(b), sdg_crystal_free(c);
    sdg_crystal_free(a2), sdg_crystal_free(b2), sdg_crystal_free(c2);
}

static void test_wasserstein(void) {
    /* worked by hand as the area between the two step CDFs */
    double w = -1;
    CU_ASSERT(sdg_wasserstein1((double[]){0, 1, 3}, 3, (double[]){5, 6, 8}, 3, &w) == SDG_OK);
    CU_ASSERT(fabs(w - 5) < 1e-12);   /* a shift by 5 */
    CU_ASSERT(sdg_wasserstein1((double[]){0}, 1, (double[]){1, 2}, 2, &w) == SDG_OK);
    CU_ASSERT(fabs(w - 1.5) < 1e-12);   /* E|X - 0| for X uniform on {1, 2} */
    CU_ASSERT(sdg_wasserstein1((double[]){0, 0, 1}, 3, (double[]){0, 1, 1}, 3, &w) == SDG_OK);
    CU_ASSERT(fabs(w - 1.0 / 3) < 1e-12);   /* |2/3 - 1/3| on [0, 1) */
    CU_ASSERT(sdg_wasserstein1((double[]){0, 2}, 2, (double[]){1}, 1, &w) == SDG_OK);
    CU_ASSERT(fabs(w - 1) < 1e-12);
    CU_ASSERT(sdg_wasserstein1((double[]){3, 1, 2}, 3, (double[]){2, 3, 1}, 3, &w) == SDG_OK);
    CU_ASSERT(w == 0);
    /* numbers of elements {3, 3, 4, 5} vs {3, 4, 4, 4, 5, 5}: F = 1/2, 3/4 on [3, 4), [4, 5)
     * against 1/6, 2/3: |1/2 - 1/6| + |3/4 - 2/3| = 1/3 + 1/12 = 5/12 */
    CU_ASSERT(sdg_wasserstein1((double[]){3, 3, 4, 5}, 4, (double[]){3, 4, 4, 4, 5, 5}, 6, &w) == SDG_OK);
    CU_ASSERT(fabs(w - 5.0 / 12) < 1e-12);
    /* symmetric */
    double w2 = -1;
    CU_ASSERT(sdg_wasserstein1((double[]){3, 4, 4, 4, 5, 5}, 6, (double[]){3, 3, 4, 5}, 4, &w2) == SDG_OK);
    CU_ASSERT(fabs(w - w2) < 1e-15);
    CU_ASSERT(sdg_wasserstein1((double[]){1}, 1, NULL, 0, &w) == SDG_ERR_INVALID);
    CU_ASSERT(sdg_wasserstein1((double[]){1, NAN}, 2, (double[]){1}, 1, &w) == SDG_ERR_NUMERIC);
}

int main(void) {
    if (sdg_element_table_load(NULL, &table) != SDG_OK) {
        printf("element table: %s\n", sdg_errmsg());
        return 1;
    }
    if (sdg_rng_new(20240611, &rng) != SDG_OK) return 1;
    const sdg_test_case cases[] = {
        {"a crystal matches itself shifted, permuted, rotated, rebased, in supercells, with noise", test_equal_variants},
        {"no match: other composition, strain beyond ltol, sites beyond stol, NaCl vs CsCl", test_different},
        {"tolerances are thresholds; bad tolerances and empty crystals are refused", test_tolerances},
        {"Niggli reduction: T m, det T = 1, the Niggli conditions, idempotent", test_niggli},
        {"primitive cells of rock salt and its supercell; a triclinic cell stays", test_primitive},
        {"density of NaCl by hand; elements without a mass", test_density},
        {"index: find, find_or_add over duplicates", test_index},
        {"Wasserstein-1 against hand-computed cases", test_wasserstein},
        {NULL, NULL},
    };
    int rc = sdg_test_main("crystal_match", cases);
    sdg_rng_free(rng);
    sdg_element_table_free(table);
    return rc;
}
