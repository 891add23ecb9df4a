/* 3-D evaluation: EDM's bond rule on hand-made geometries, the charge-aware rule, validity,
 * the XYZ reader's errors, and the measured QM9 figures of the data README (DFT subset 99.6 /
 * 96.9 %, force-field conformers 98.0 / 87.1 %, measured there with EDM's own code). */
#include "test_util.h"

static sdg_mol *mol_with(int n, const int *z, const double (*x)[3]) {
    sdg_mol *m = NULL;
    if (sdg_mol_new(&m) != SDG_OK) return NULL;
    m->coords = calloc(3 * (size_t)(n ? n : 1), sizeof *m->coords);
    m->dim = 3;
    for (int i = 0; i < n; i++) {
        int64_t k;
        sdg_mol_add_atom(m, z[i], 0, &k);
        memcpy(m->coords + 3 * k, x[i], sizeof x[i]);
    }
    return m;
}

static void test_bond_order(void) {
    CU_ASSERT_EQUAL(sdg_mol_edm_bond_order(6, 6, 1.54), 1);   /* 154 < 164 */
    CU_ASSERT_EQUAL(sdg_mol_edm_bond_order(6, 6, 1.639), 1);
    CU_ASSERT_EQUAL(sdg_mol_edm_bond_order(6, 6, 1.64), 0);   /* strict < */
    CU_ASSERT_EQUAL(sdg_mol_edm_bond_order(6, 6, 1.38), 2);   /* < 134 + 5 */
    CU_ASSERT_EQUAL(sdg_mol_edm_bond_order(6, 6, 1.20), 3);   /* < 120 + 3 */
    CU_ASSERT_EQUAL(sdg_mol_edm_bond_order(6, 7, 1.16), 3);
    CU_ASSERT_EQUAL(sdg_mol_edm_bond_order(8, 6, 1.22), 2);
    CU_ASSERT_EQUAL(sdg_mol_edm_bond_order(1, 6, 1.09), 1);
    CU_ASSERT_EQUAL(sdg_mol_edm_bond_order(1, 1, 0.85), 0);   /* 74 + 10 */
    CU_ASSERT_EQUAL(sdg_mol_edm_bond_order(9, 9, 1.50), 1);
    /* EDM's bonds2 has C-S but not S-C: the order of the lookup matters, as in EDM */
    CU_ASSERT_EQUAL(sdg_mol_edm_bond_order(6, 16, 1.60), 2);
    CU_ASSERT_EQUAL(sdg_mol_edm_bond_order(16, 6, 1.60), 1);
    CU_ASSERT_EQUAL(sdg_mol_edm_bond_order(6, 26, 1.0), 0);   /* no table entry */
}

static void test_stability(void) {
    /* methane, tetrahedral C-H 1.09 A */
    const double a = 1.09 / sqrt(3.0);
    const int z[] = {6, 1, 1, 1, 1};
    double x[5][3] = {{0, 0, 0}, {a, a, a}, {a, -a, -a}, {-a, a, -a}, {-a, -a, a}};
    sdg_mol *m = mol_with(5, z, (const double (*)[3])x);
    int64_t ok;
    bool st;
    CU_ASSERT_EQUAL(sdg_mol_stability_edm(m, &ok, &st), SDG_OK);
    CU_ASSERT_EQUAL(ok, 5);
    CU_ASSERT_TRUE(st);
    m->coords[3 * 4] = 5;   /* one H far away: C and that H unstable */
    CU_ASSERT_EQUAL(sdg_mol_stability_edm(m, &ok, &st), SDG_OK);
    CU_ASSERT_EQUAL(ok, 3);
    CU_ASSERT_FALSE(st);
    /* inferred bonds */
    sdg_mol *b = NULL;
    CU_ASSERT_EQUAL(sdg_mol_bonds_from_distances(m, &b), SDG_OK);
    CU_ASSERT_EQUAL(b->n_bonds, 3);
    /* charge-aware rule on own bonds: CH3 + stray H: C 3 is allowed by PropMolFlow's table,
     * the lone H (valence 0, charge 0) is not */
    CU_ASSERT_EQUAL(sdg_mol_stability_charged(b, &ok, &st), SDG_OK);
    CU_ASSERT_EQUAL(ok, 4);
    CU_ASSERT_FALSE(st);
    b->atoms[4].charge = 1;   /* H+ has valence 0 */
    CU_ASSERT_EQUAL(sdg_mol_stability_charged(b, &ok, &st), SDG_OK);
    CU_ASSERT_TRUE(st);
    /* validity: two fragments -> invalid; the largest fragment (CH3 + implicit H) -> "C" */
    bool v;
    char *s = NULL;
    b->atoms[4].charge = 0;
    CU_ASSERT_EQUAL(sdg_mol_validate_3d(b, false, &v, &s), SDG_OK);
    CU_ASSERT_FALSE(v);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_EQUAL(sdg_mol_validate_3d(b, true, &v, &s), SDG_OK);
    CU_ASSERT_TRUE(v);
    CU_ASSERT_STRING_EQUAL(s ? s : "", "C");
    free(s);
    sdg_mol_free(b);
    /* no coordinates: an error, not a verdict */
    free(m->coords);
    m->coords = NULL;
    m->dim = 0;
    CU_ASSERT_EQUAL(sdg_mol_stability_edm(m, &ok, &st), SDG_ERR_INVALID);
    sdg_mol_free(m);
}

static void test_charged_rule(void) {
    /* NH4+: N+ with 4 bonds stable; neutral N with 4 bonds not */
    sdg_mol *m = NULL;
    CU_ASSERT_EQUAL_FATAL(sdg_mol_new(&m), SDG_OK);
    sdg_mol_add_atom(m, 7, 1, NULL);
    for (int k = 1; k <= 4; k++) {
        sdg_mol_add_atom(m, 1, 0, NULL);
        sdg_mol_add_bond(m, 0, k, 1);
    }
    int64_t ok;
    bool st;
    CU_ASSERT_EQUAL(sdg_mol_stability_charged(m, &ok, &st), SDG_OK);
    CU_ASSERT_TRUE(st);
    m->atoms[0].charge = 0;
    CU_ASSERT_EQUAL(sdg_mol_stability_charged(m, &ok, &st), SDG_OK);
    CU_ASSERT_EQUAL(ok, 4);
    CU_ASSERT_FALSE(st);
    sdg_mol_free(m);
}

static void test_xyz_errors(void) {
    char path[] = "/tmp/sdg_test_xyz_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("2\nmol_id=gdb_7 x\nC 0 0 0\nO 0 0 1.2\n3\nsecond\nC 0 0 0\nXx 1 1 1\nH 0 0 1\n", f);
    fclose(f);
    sdg_mol_list *l = NULL;
    CU_ASSERT_EQUAL(sdg_mol_list_read_xyz(path, &l), SDG_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "frame 2 (line 8)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "'Xx'"));
    f = fopen(path, "w");
    fputs("2\nmol_id=gdb_7 x\nC 0 0 0\nO 0 0 1.2\n\n1\nsecond\n8 0 0 0\n", f);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(sdg_mol_list_read_xyz(path, &l), SDG_OK);
    CU_ASSERT_EQUAL(l->count, 2);
    CU_ASSERT_STRING_EQUAL(l->mols[0]->name, "gdb_7");
    CU_ASSERT_STRING_EQUAL(l->mols[1]->name, "second");
    CU_ASSERT_EQUAL(l->mols[1]->atoms[0].z, 8);
    CU_ASSERT_DOUBLE_EQUAL(l->mols[0]->coords[5], 1.2, 1e-12);
    sdg_mol_list_free(l);
    remove(path);
}

/* The README's figures: |ours - EDM's| <= 0.3 points. */
static void check_file(const char *rel, bool xyz, double atom_pct, double mol_pct) {
    const char *dir = getenv("SDEGEN_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    sdg_mol_list *l = NULL;
    CU_ASSERT_EQUAL_FATAL(xyz ? sdg_mol_list_read_xyz(path, &l) : sdg_mol_list_read_sdf(path, &l), SDG_OK);
    sdg_mol3d_metrics_params p = {.validity = false, .validity_edm = false};
    sdg_mol3d_metrics r;
    CU_ASSERT_EQUAL_FATAL(sdg_mol3d_metrics_compute(l->mols, l->count, &p, &r), SDG_OK);
    printf("\n%s: %zu molecules, EDM rule atom %.2f %% (README %.1f), molecule %.2f %% (README %.1f)\n", rel,
           l->count, 100 * r.atom_stability_edm.value, atom_pct, 100 * r.mol_stability_edm.value, mol_pct);
    CU_ASSERT(fabs(100 * r.atom_stability_edm.value - atom_pct) <= 0.3);
    CU_ASSERT(fabs(100 * r.mol_stability_edm.value - mol_pct) <= 0.3);
    if (!xyz) {   /* every conformer is valence-correct as written (README 1a) */
        CU_ASSERT_EQUAL(r.charged_stable_mols, l->count);
    }
    sdg_mol_list_free(l);
}
static void test_qm9_dft(void) { check_file("qm9/qm9_3d_subset.xyz", true, 99.6, 96.9); }
static void test_qm9_conformers(void) { check_file("qm9/qm9_3d_conformers.sdf", false, 98.0, 87.1); }

static void test_dataset(void) {
    const char *dir = getenv("SDEGEN_DATA");
    sdg_mol3d_dataset *d = NULL;
    CU_ASSERT_EQUAL_FATAL(sdg_mol3d_dataset_load(dir, "qm9_dft", NULL, &d), SDG_OK);
    CU_ASSERT_EQUAL(d->count, 3000);
    CU_ASSERT_EQUAL(d->n_with_props, 3000);   /* the subset's own CSV covers it */
    CU_ASSERT_EQUAL(d->gdb[0], 1);
    CU_ASSERT(d->max_atoms >= 20 && d->max_atoms <= 29);
    /* gdb_1 is methane: gap 0.5048 Ha */
    CU_ASSERT_DOUBLE_EQUAL(d->props[SDG_QM9_PROP_GAP], 0.5048, 1e-6);
    CU_ASSERT_EQUAL(d->n_split[0] + d->n_split[1] + d->n_split[2], 3000);
    CU_ASSERT(d->n_split[2] > 150 && d->n_split[2] < 450);   /* ~10 % test rows */
    printf("\nqm9_dft: train %zu val %zu test %zu\n", d->n_split[0], d->n_split[1], d->n_split[2]);
    sdg_mol3d_dataset_free(d);
    CU_ASSERT_EQUAL_FATAL(sdg_mol3d_dataset_load(dir, "qm9_conformers", NULL, &d), SDG_OK);
    CU_ASSERT_EQUAL(d->count, 14000);
    CU_ASSERT(d->n_with_props > 1500 && d->n_with_props < 2500);
    CU_ASSERT(d->mols[0]->n_bonds > 0);
    printf("qm9_conformers: train %zu val %zu test %zu, %zu with properties, max %zu atoms\n", d->n_split[0],
           d->n_split[1], d->n_split[2], d->n_with_props, d->max_atoms);
    sdg_mol3d_dataset_free(d);
    CU_ASSERT_EQUAL(sdg_mol3d_dataset_load(dir, "qm9_nope", NULL, &d), SDG_ERR_NOTFOUND);
}

int main(void) {
    static const sdg_test_case base[] = {{"EDM bond order", test_bond_order},
                                         {"stability and validity", test_stability},
                                         {"charge-aware rule", test_charged_rule},
                                         {"XYZ reader", test_xyz_errors},
                                         {NULL, NULL}};
    static const sdg_test_case all[] = {{"EDM bond order", test_bond_order},
                                        {"stability and validity", test_stability},
                                        {"charge-aware rule", test_charged_rule},
                                        {"XYZ reader", test_xyz_errors},
                                        {"QM9 DFT subset vs README", test_qm9_dft},
                                        {"QM9 conformers vs README", test_qm9_conformers},
                                        {"3-D dataset loader", test_dataset},
                                        {NULL, NULL}};
    if (!sdg_test_data_dir("qm9/qm9_3d_subset.xyz")) {
        int rc = sdg_test_main("mol3d_eval", base);
        return rc ? rc : 77;
    }
    return sdg_test_main("mol3d_eval", all);
}
