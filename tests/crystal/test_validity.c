/* Structural validity (periodic minimum distance, volume) and SMACT's compositional rule on
 * hand-checked formulas; validity rates of the real test splits as a sanity check. */
#include <ctype.h>
#include "test_util.h"

static sdg_element_table *table;

/* "Fe2O3" -> distinct elements and counts (reduced by the library). */
static bool formula_valid(const char *f, const sdg_validity_params *p) {
    int32_t zs[16];
    int64_t n[16];
    size_t  k = 0;
    for (const char *s = f; *s;) {
        char sym[3] = {*s++, 0, 0};
        if (islower((unsigned char)*s)) sym[1] = *s++;
        long c = 1;
        if (isdigit((unsigned char)*s)) c = strtol(s, (char **)&s, 10);
        int z = 0;
        CU_ASSERT_FATAL(sdg_crystal_element_number(sym, &z) == SDG_OK);
        zs[k] = z;
        n[k++] = c;
    }
    bool v = false;
    CU_ASSERT_FATAL(sdg_composition_smact_valid(table, zs, n, k, p, &v) == SDG_OK);
    return v;
}

typedef struct formula_case {
    const char *formula;
    bool        valid;
    const char *why;
} formula_case;

static void test_smact_formulas(void) {
    /* Each verdict was worked out by hand from data/elements.tsv (SMACT's default oxidation
     * states and Pauling electronegativities). */
    const formula_case cases[] = {
        {"NaCl", true, "Na+ Cl-; chi(Na) 0.93 < chi(Cl) 3.16"},
        {"NaCl2", false, "Na is only +1/-1: +1 + 2x = 0 and -1 + 2x = 0 have no integer x"},
        {"Fe2O3", true, "Fe3+ O2-"},
        {"CaTiO3", true, "Ca2+ Ti4+ O2- (the perovskite)"},
        {"TiO3", true, "Ti3+ with O- (peroxide-like O-1 is in SMACT's list): 3 - 3 = 0"},
        {"Fe3O4", false, "mixed valence: 3x = 8 has no integer x; SMACT's known blind spot"},
        {"AlCl4", false, "Al is +1..+3 and Cl- gives 4 x -1: Al would need +4"},
        {"K2F", false, "K+ twice and F only -1; K- would need F2+, which F lacks"},
        {"Na2Cl", false, "balanced only as 2 Na- + Cl2+, and the Pauling test rejects an anion (Na, 0.93) less electronegative than the cation (Cl, 3.16)"},
        {"LiFePO4", true, "Li+ Fe2+ P5+ O2-"},
        {"C", true, "one element"},
        {"FeNi3", true, "all metals: an alloy (include_alloys)"},
        {"CuZn", true, "all metals: an alloy"},
        {"ArCl", false, "Ar has no oxidation state"},
        {"SiC", true, "Si4+ C4-; chi(Si) 1.90 < chi(C) 2.55"},
        {"H2O", true, "H+ O2-"},
    };
    sdg_validity_params p = sdg_validity_default_params();
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        bool v = formula_valid(cases[k].formula, &p);
        if (v != cases[k].valid) printf("%s: got %d, want %d (%s)\n", cases[k].formula, v, cases[k].valid, cases[k].why);
        CU_ASSERT(v == cases[k].valid);
    }
    /* the options: without the Pauling test Na2Cl balances; without the alloy rule CuZn has no
     * charge-neutral assignment whose anion is the more electronegative one */
    p.pauling_test = false;
    CU_ASSERT(formula_valid("Na2Cl", &p) == true);
    CU_ASSERT(formula_valid("NaCl2", &p) == false);
    p = sdg_validity_default_params();
    p.include_alloys = false;
    CU_ASSERT(formula_valid("CuZn", &p) == false);
    CU_ASSERT(formula_valid("NaCl", &p) == true);
    /* a counted composition reduces: Na4Cl4 is NaCl */
    bool v = false;
    CU_ASSERT(sdg_composition_smact_valid(table, (int32_t[]){11, 17}, (int64_t[]){4, 4}, 2, NULL, &v) == SDG_OK && v);
    /* beyond the table (Z = 110) nothing is valid, except alone */
    CU_ASSERT(sdg_composition_smact_valid(table, (int32_t[]){8, 110}, (int64_t[]){1, 1}, 2, NULL, &v) == SDG_OK && !v);
    CU_ASSERT(sdg_composition_smact_valid(table, (int32_t[]){110}, (int64_t[]){1}, 1, NULL, &v) == SDG_OK && v);
    CU_ASSERT(sdg_composition_smact_valid(NULL, (int32_t[]){8}, (int64_t[]){1}, 1, NULL, &v) == SDG_ERR_INVALID);
}

static void test_table_errors(void) {
    sdg_element_table *t = NULL;
    CU_ASSERT(sdg_element_table_load("/nonexistent/elements.tsv", &t) == SDG_ERR_IO);
    char path[] = "/tmp/sdegen-el-XXXXXX";
    int  fd     = mkstemp(path);
    FILE *f     = fdopen(fd, "w");
    fprintf(f, "# header\n1\tH\t2.20\t0\t-1,1\n2\tXx\t-\t0\t-\n");
    fclose(f);
    CU_ASSERT(sdg_element_table_load(path, &t) == SDG_ERR_FORMAT);
    CU_ASSERT(strstr(sdg_errmsg(), "line 3") != NULL);
    remove(path);
    sdg_element_table_free(NULL);
}

static void test_structural(void) {
    double               m[9];
    sdg_crystal         *c = NULL;
    sdg_crystal_validity v;
    /* NaCl rock salt: 2.82 A nearest neighbours; valid */
    CU_ASSERT_FATAL(sdg_lattice_from_params((double[6]){5.64, 5.64, 5.64, 90, 90, 90}, m) == SDG_OK);
    CU_ASSERT_FATAL(sdg_crystal_new(m, &c) == SDG_OK);
    const double fcc[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    for (int k = 0; k < 4; k++) sdg_crystal_add_site(c, 11, fcc[k]);
    for (int k = 0; k < 4; k++) sdg_crystal_add_site(c, 17, (double[3]){fcc[k][0] + 0.5, fcc[k][1], fcc[k][2]});
    CU_ASSERT(sdg_crystal_check_validity(c, table, NULL, &v) == SDG_OK);
    CU_ASSERT(v.structural && v.compositional && v.valid);
    CU_ASSERT(fabs(v.min_distance - 2.82) < 1e-9 && fabs(v.volume - 5.64 * 5.64 * 5.64) < 1e-9);
    sdg_crystal_free(c);
    /* two atoms 9.6 A apart inside the cell but 0.4 A apart through the boundary: invalid
     * (a check without periodic images would pass it) */
    CU_ASSERT_FATAL(sdg_lattice_from_params((double[6]){10, 10, 10, 90, 90, 90}, m) == SDG_OK);
    CU_ASSERT_FATAL(sdg_crystal_new(m, &c) == SDG_OK);
    sdg_crystal_add_site(c, 11, (double[3]){0.02, 0.5, 0.5});
    sdg_crystal_add_site(c, 17, (double[3]){0.98, 0.5, 0.5});
    CU_ASSERT(sdg_crystal_check_validity(c, table, NULL, &v) == SDG_OK);
    CU_ASSERT(!v.structural && v.compositional && !v.valid && fabs(v.min_distance - 0.4) < 1e-9);
    /* a single atom whose own image is 0.45 A away along a short axis: invalid */
    sdg_crystal_free(c);
    CU_ASSERT_FATAL(sdg_lattice_from_params((double[6]){0.45, 5, 5, 90, 90, 90}, m) == SDG_OK);
    CU_ASSERT_FATAL(sdg_crystal_new(m, &c) == SDG_OK);
    sdg_crystal_add_site(c, 6, (double[3]){0, 0, 0});
    CU_ASSERT(sdg_crystal_check_validity(c, table, NULL, &v) == SDG_OK && !v.structural && v.compositional);
    sdg_crystal_free(c);
    /* volume below 0.1 A^3 */
    CU_ASSERT_FATAL(sdg_lattice_from_params((double[6]){0.6, 0.6, 0.25, 90, 90, 90}, m) == SDG_OK);
    CU_ASSERT_FATAL(sdg_crystal_new(m, &c) == SDG_OK);
    sdg_crystal_add_site(c, 6, (double[3]){0, 0, 0});
    CU_ASSERT(sdg_crystal_check_validity(c, table, NULL, &v) == SDG_OK && !v.structural && v.volume < 0.1);
    /* the thresholds are parameters */
    sdg_validity_params p = sdg_validity_default_params();
    p.min_volume = 0.05;
    p.min_distance = 0.2;
    CU_ASSERT(sdg_crystal_check_validity(c, table, &p, &v) == SDG_OK && v.structural);
    sdg_crystal_free(c);
}

/* Validity rates of real crystals: they should be (nearly) all valid. */
static void rates(const char *dir, const char *split, double min_struct, double min_comp, double max_comp) {
    char path[1024];
    snprintf(path, sizeof path, "%s/crystals/%s", getenv("SDEGEN_DATA"), dir);
    sdg_crystal_dataset *d = NULL;
    CU_ASSERT_FATAL(sdg_crystal_dataset_load(path, split, NULL, &d) == SDG_OK);
    size_t ns = 0, nc = 0, nv = 0;
    for (size_t k = 0; k < d->count; k++) {
        sdg_crystal_validity v;
        CU_ASSERT(sdg_crystal_check_validity(d->crystals[k], table, NULL, &v) == SDG_OK);
        ns += v.structural;
        nc += v.compositional;
        nv += v.valid;
    }
    double fs = (double)ns / (double)d->count, fc = (double)nc / (double)d->count;
    printf("\n  %s/%s: %zu crystals, structural %.2f %%, compositional %.2f %%, both %.2f %% ", dir, split, d->count,
           100 * fs, 100 * fc, 100.0 * (double)nv / (double)d->count);
    CU_ASSERT(fs >= min_struct && fc >= min_comp && fc <= max_comp);
    sdg_crystal_dataset_free(d);
}

static void test_dataset_rates(void) {
    if (!sdg_test_data_dir("crystals/perov_5/test.csv")) return;
    /* CDVAE reports 100 % and 98.6 % on perov_5 data, ~91 % compositional on MP-20; the
     * upper bounds catch a checker that passes everything */
    rates("perov_5", "test", 0.999, 0.98, 0.99);
    rates("carbon_24", "test", 0.999, 1.0, 1.0);   /* one element: always valid */
    rates("mp_20_subset", "test", 0.999, 0.85, 0.95);
}

int main(void) {
    if (sdg_init() != SDG_OK || sdg_element_table_load(NULL, &table) != SDG_OK) {
        printf("element table: %s\n", sdg_errmsg());
        return 1;
    }
    const sdg_test_case cases[] = {{"smact_formulas", test_smact_formulas},
                                   {"table_errors", test_table_errors},
                                   {"structural", test_structural},
                                   {"dataset_rates", test_dataset_rates},
                                   {NULL, NULL}};
    int r = sdg_test_main("crystal_validity", cases);
    sdg_element_table_free(table);
    return r;
}
