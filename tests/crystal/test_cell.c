/* The crystal type: lattice parameters <-> matrix, volume, frac <-> Cartesian, wrapping,
 * element symbols, composition and formula, periodic minimum distance. */
#include "test_util.h"

#define M_PI 3.14159265358979323846

static double rnd(sdg_rng *r, double lo, double hi) { return lo + (hi - lo) * sdg_rng_uniform(r); }

static void test_params_roundtrip(void) {
    /* random valid cells: params -> matrix -> params is the identity; the matrix has a along
     * x and b in the xy plane; the volume matches the closed form. */
    sdg_rng *r = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(1, &r) == SDG_OK);
    int tested = 0;
    for (int t = 0; t < 2000; t++) {
        double p[6] = {rnd(r, 1, 30), rnd(r, 1, 30), rnd(r, 1, 30), rnd(r, 30, 150), rnd(r, 30, 150), rnd(r, 30, 150)};
        double m[9], q[6];
        if (sdg_lattice_from_params(p, m) != SDG_OK) continue;
        tested++;
        sdg_lattice_to_params(m, q);
        for (int k = 0; k < 6; k++) CU_ASSERT(fabs(q[k] - p[k]) < 1e-9 * fmax(1, p[k]));
        CU_ASSERT(m[1] == 0 && m[2] == 0 && m[5] == 0 && m[0] > 0 && m[4] > 0 && m[8] > 0);
        double ca = cos(p[3] * M_PI / 180), cb = cos(p[4] * M_PI / 180), cg = cos(p[5] * M_PI / 180);
        double v = p[0] * p[1] * p[2] * sqrt(1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg);
        CU_ASSERT(fabs(sdg_lattice_volume(m) - v) < 1e-9 * v);
        /* frac -> cart -> frac */
        double f[3] = {rnd(r, -1, 2), rnd(r, -1, 2), rnd(r, -1, 2)}, x[3], g[3];
        sdg_lattice_frac_to_cart(m, f, x);
        CU_ASSERT(sdg_lattice_cart_to_frac(m, x, g) == SDG_OK);
        for (int d = 0; d < 3; d++) CU_ASSERT(fabs(g[d] - f[d]) < 1e-10);
    }
    CU_ASSERT(tested > 1000);
    sdg_rng_free(r);
    /* a cubic cell is exactly diagonal */
    double m[9];
    CU_ASSERT(sdg_lattice_from_params((double[6]){4, 4, 4, 90, 90, 90}, m) == SDG_OK);
    CU_ASSERT(m[0] == 4 && m[4] == 4 && m[8] == 4 && m[3] == 0 && m[6] == 0 && m[7] == 0);
}

static void test_params_rejected(void) {
    double m[9];
    CU_ASSERT(sdg_lattice_from_params((double[6]){-1, 4, 4, 90, 90, 90}, m) == SDG_ERR_INVALID);
    CU_ASSERT(sdg_lattice_from_params((double[6]){4, 4, 4, 0, 90, 90}, m) == SDG_ERR_INVALID);
    CU_ASSERT(sdg_lattice_from_params((double[6]){4, 4, 4, 180, 90, 90}, m) == SDG_ERR_INVALID);
    CU_ASSERT(sdg_lattice_from_params((double[6]){4, 4, 4, 120, 120, 120}, m) == SDG_ERR_INVALID); /* sum 360 */
    CU_ASSERT(sdg_lattice_from_params((double[6]){4, 4, 4, 30, 30, 90}, m) == SDG_ERR_INVALID);   /* 90 > 30+30 */
    CU_ASSERT(sdg_lattice_from_params((double[6]){NAN, 4, 4, 90, 90, 90}, m) == SDG_ERR_INVALID);
    CU_ASSERT(strlen(sdg_errmsg()) > 0);
}

static void test_wrap_and_elements(void) {
    sdg_crystal *c = NULL;
    double       m[9];
    CU_ASSERT_FATAL(sdg_lattice_from_params((double[6]){3, 3, 3, 90, 90, 90}, m) == SDG_OK);
    CU_ASSERT_FATAL(sdg_crystal_new(m, &c) == SDG_OK);
    CU_ASSERT(sdg_crystal_add_site(c, 11, (double[3]){-0.25, 1.5, -1e-18}) == SDG_OK);
    CU_ASSERT(sdg_crystal_add_site(c, 17, (double[3]){0.5, 0.5, 0.5}) == SDG_OK);
    CU_ASSERT(sdg_crystal_add_site(c, 0, (double[3]){0, 0, 0}) == SDG_ERR_INVALID);
    CU_ASSERT(sdg_crystal_add_site(c, 8, (double[3]){NAN, 0, 0}) == SDG_ERR_INVALID);
    sdg_crystal_wrap(c);
    CU_ASSERT(c->frac[0] == 0.75 && c->frac[1] == 0.5 && c->frac[2] == 0.0);
    for (int k = 0; k < 6; k++) CU_ASSERT(c->frac[k] >= 0 && c->frac[k] < 1);
    CU_ASSERT(fabs(sdg_crystal_volume(c) - 27) < 1e-12);
    char *f = NULL;
    CU_ASSERT(sdg_crystal_formula(c, &f) == SDG_OK);
    CU_ASSERT_STRING_EQUAL(f, "ClNa");
    free(f);
    sdg_crystal *d = NULL;
    CU_ASSERT(sdg_crystal_copy(c, &d) == SDG_OK);
    CU_ASSERT(d->n_atoms == 2 && d->z[1] == 17 && d->frac[4] == 0.5);
    sdg_crystal_free(d);
    sdg_crystal_free(c);
    sdg_crystal_free(NULL);

    int z = 0;
    CU_ASSERT(sdg_crystal_element_number("Fe", &z) == SDG_OK && z == 26);
    CU_ASSERT(sdg_crystal_element_number("FE", &z) == SDG_OK && z == 26);
    CU_ASSERT(sdg_crystal_element_number("Fe3+", &z) == SDG_OK && z == 26);
    CU_ASSERT(sdg_crystal_element_number("O2-", &z) == SDG_OK && z == 8);
    CU_ASSERT(sdg_crystal_element_number("Og", &z) == SDG_OK && z == 118);
    CU_ASSERT(sdg_crystal_element_number("H", &z) == SDG_OK && z == 1);
    CU_ASSERT(sdg_crystal_element_number("Xx", &z) == SDG_ERR_NOTFOUND);
    CU_ASSERT(sdg_crystal_element_number("Fe3+x", &z) == SDG_ERR_NOTFOUND);
    CU_ASSERT(sdg_crystal_element_number("", &z) == SDG_ERR_NOTFOUND);
    CU_ASSERT_STRING_EQUAL(sdg_crystal_element_symbol(1), "H");
    CU_ASSERT_STRING_EQUAL(sdg_crystal_element_symbol(74), "W");
    CU_ASSERT_STRING_EQUAL(sdg_crystal_element_symbol(94), "Pu");
    CU_ASSERT(sdg_crystal_element_symbol(119) == NULL && sdg_crystal_element_symbol(0) == NULL);
    for (int k = 1; k <= 118; k++) {   /* every symbol maps back to its number */
        CU_ASSERT(sdg_crystal_element_number(sdg_crystal_element_symbol(k), &z) == SDG_OK && z == k);
    }
}

static void test_composition(void) {
    sdg_crystal *c = NULL;
    double       m[9];
    CU_ASSERT_FATAL(sdg_lattice_from_params((double[6]){5, 5, 5, 90, 90, 90}, m) == SDG_OK);
    CU_ASSERT_FATAL(sdg_crystal_new(m, &c) == SDG_OK);
    /* Fe4O6 -> Fe2O3 */
    for (int k = 0; k < 4; k++) sdg_crystal_add_site(c, 26, (double[3]){0.1 * k, 0, 0});
    for (int k = 0; k < 6; k++) sdg_crystal_add_site(c, 8, (double[3]){0.1 * k, 0.5, 0});
    int32_t zs[4];
    int64_t n[4];
    size_t  k = 0;
    CU_ASSERT(sdg_crystal_composition(c, zs, n, 4, &k) == SDG_OK);
    CU_ASSERT(k == 2 && zs[0] == 8 && n[0] == 3 && zs[1] == 26 && n[1] == 2);
    CU_ASSERT(sdg_crystal_composition(c, zs, n, 1, &k) == SDG_ERR_INVALID && k == 2);
    sdg_crystal_free(c);
}

/* Brute force over a wide image range, for the exactness check. */
static double brute_min_distance(const sdg_crystal *c, int R) {
    double best = INFINITY;
    for (int64_t i = 0; i < c->n_atoms; i++)
        for (int64_t j = i; j < c->n_atoms; j++)
            for (int a = -R; a <= R; a++)
                for (int b = -R; b <= R; b++)
                    for (int e = -R; e <= R; e++) {
                        if (i == j && a == 0 && b == 0 && e == 0) continue;
                        double f[3] = {c->frac[3 * j] - c->frac[3 * i] + a, c->frac[3 * j + 1] - c->frac[3 * i + 1] + b,
                                       c->frac[3 * j + 2] - c->frac[3 * i + 2] + e};
                        double x[3];
                        sdg_lattice_frac_to_cart(c->lattice, f, x);
                        best = fmin(best, sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]));
                    }
    return best;
}

static void test_min_distance_images(void) {
    /* Two atoms at x = 0.05 and 0.95 of a 10 A cubic cell are 1 A apart through the boundary,
     * not 9 A: a check without images (DiffCrysGen's) would miss it. */
    sdg_crystal *c = NULL;
    double       m[9], d = 0;
    CU_ASSERT_FATAL(sdg_lattice_from_params((double[6]){10, 10, 10, 90, 90, 90}, m) == SDG_OK);
    CU_ASSERT_FATAL(sdg_crystal_new(m, &c) == SDG_OK);
    sdg_crystal_add_site(c, 6, (double[3]){0.05, 0.5, 0.5});
    sdg_crystal_add_site(c, 6, (double[3]){0.95, 0.5, 0.5});
    CU_ASSERT(sdg_crystal_min_distance(c, &d) == SDG_OK);
    CU_ASSERT(fabs(d - 1.0) < 1e-9);
    sdg_crystal_free(c);
    /* one atom in a 2 x 3 x 4 cell: its own image at 2 A */
    CU_ASSERT_FATAL(sdg_lattice_from_params((double[6]){2, 3, 4, 90, 90, 90}, m) == SDG_OK);
    CU_ASSERT_FATAL(sdg_crystal_new(m, &c) == SDG_OK);
    sdg_crystal_add_site(c, 6, (double[3]){0.3, 0.3, 0.3});
    CU_ASSERT(sdg_crystal_min_distance(c, &d) == SDG_OK && fabs(d - 2.0) < 1e-12);
    sdg_crystal_free(c);
    /* strongly skewed random cells: the reduced-basis search equals a wide brute force */
    sdg_rng *r = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(7, &r) == SDG_OK);
    int checked = 0;
    for (int t = 0; t < 300; t++) {
        double p[6] = {rnd(r, 2, 12), rnd(r, 2, 12), rnd(r, 2, 12), rnd(r, 15, 165), rnd(r, 15, 165), rnd(r, 15, 165)};
        if (sdg_lattice_from_params(p, m) != SDG_OK || sdg_lattice_volume(m) < 5) continue;
        CU_ASSERT_FATAL(sdg_crystal_new(m, &c) == SDG_OK);
        int n = 1 + (int)sdg_rng_uint(r, 4);
        for (int k = 0; k < n; k++) sdg_crystal_add_site(c, 6, (double[3]){rnd(r, -1, 2), rnd(r, 0, 1), rnd(r, 0, 1)});
        CU_ASSERT(sdg_crystal_min_distance(c, &d) == SDG_OK);
        double b = brute_min_distance(c, 6);
        if (fabs(d - b) > 1e-9) printf("cell %d: %g vs brute %g\n", t, d, b);
        CU_ASSERT(fabs(d - b) < 1e-9);
        checked++;
        sdg_crystal_free(c);
    }
    CU_ASSERT(checked > 100);
    sdg_rng_free(r);
}

int main(void) {
    const sdg_test_case cases[] = {{"params_roundtrip", test_params_roundtrip},
                                   {"params_rejected", test_params_rejected},
                                   {"wrap_and_elements", test_wrap_and_elements},
                                   {"composition", test_composition},
                                   {"min_distance_images", test_min_distance_images},
                                   {NULL, NULL}};
    return sdg_test_main("crystal_cell", cases);
}
