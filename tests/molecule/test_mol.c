/* The molecule type, the element table and the default-valence model (no Open Babel). */
#include "test_util.h"

static void test_elements(void) {
    static const struct { int z; const char *s; } t[] = {
        {1, "H"}, {5, "B"}, {6, "C"}, {7, "N"}, {8, "O"}, {9, "F"}, {15, "P"}, {16, "S"},
        {17, "Cl"}, {26, "Fe"}, {35, "Br"}, {53, "I"}, {118, "Og"}};
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        CU_ASSERT_STRING_EQUAL(sdg_element_symbol(t[k].z), t[k].s);
        int z = 0;
        CU_ASSERT_EQUAL(sdg_element_number(t[k].s, &z), SDG_OK);
        CU_ASSERT_EQUAL(z, t[k].z);
    }
    /* every symbol maps back to its own number */
    for (int z = 1; z <= 118; z++) {
        int w = 0;
        CU_ASSERT_EQUAL(sdg_element_number(sdg_element_symbol(z), &w), SDG_OK);
        CU_ASSERT_EQUAL(w, z);
    }
    int z;
    CU_ASSERT_PTR_NULL(sdg_element_symbol(0));
    CU_ASSERT_PTR_NULL(sdg_element_symbol(119));
    CU_ASSERT_EQUAL(sdg_element_number("CL", &z), SDG_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(sdg_element_number("Xx", &z), SDG_ERR_NOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "Xx"));
}

/* ethanol-like chain C-C-O plus a double bond somewhere */
static void test_build_copy_remove(void) {
    sdg_mol *m = NULL, *c = NULL;
    CU_ASSERT_EQUAL_FATAL(sdg_mol_new(&m), SDG_OK);
    int64_t idx = -1;
    for (int k = 0; k < 40; k++) {   /* beyond the first growth */
        CU_ASSERT_EQUAL(sdg_mol_add_atom(m, 6, 0, &idx), SDG_OK);
        CU_ASSERT_EQUAL(idx, k);
        if (k) CU_ASSERT_EQUAL(sdg_mol_add_bond(m, k - 1, k, 1 + k % 2), SDG_OK);
    }
    CU_ASSERT_EQUAL(m->n_atoms, 40);
    CU_ASSERT_EQUAL(m->n_bonds, 39);
    CU_ASSERT_EQUAL(m->atoms[5].hcount, -1);
    /* errors */
    CU_ASSERT_EQUAL(sdg_mol_add_atom(m, 0, 0, NULL), SDG_ERR_INVALID);
    CU_ASSERT_EQUAL(sdg_mol_add_atom(m, 119, 0, NULL), SDG_ERR_INVALID);
    CU_ASSERT_EQUAL(sdg_mol_add_bond(m, 0, 0, 1), SDG_ERR_INVALID);
    CU_ASSERT_EQUAL(sdg_mol_add_bond(m, 0, 40, 1), SDG_ERR_INVALID);
    CU_ASSERT_EQUAL(sdg_mol_add_bond(m, 1, 0, 1), SDG_ERR_INVALID);   /* exists as (0, 1) */
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "already exists"));
    CU_ASSERT_EQUAL(sdg_mol_add_bond(m, 0, 2, 4), SDG_ERR_INVALID);
    CU_ASSERT_EQUAL(sdg_mol_add_bond(m, 0, 2, 0), SDG_ERR_INVALID);
    CU_ASSERT_EQUAL(m->n_bonds, 39);
    int64_t k;
    CU_ASSERT_EQUAL(sdg_mol_find_bond(m, 3, 2, &k), SDG_OK);
    CU_ASSERT_EQUAL(k, 2);
    CU_ASSERT_EQUAL(sdg_mol_find_bond(m, 0, 2, &k), SDG_OK);
    CU_ASSERT_EQUAL(k, -1);
    /* copy is deep */
    CU_ASSERT_EQUAL(sdg_mol_set_name(m, "chain"), SDG_OK);
    CU_ASSERT_EQUAL_FATAL(sdg_mol_copy(m, &c), SDG_OK);
    CU_ASSERT_EQUAL(c->n_atoms, 40);
    CU_ASSERT_EQUAL(c->n_bonds, 39);
    CU_ASSERT_STRING_EQUAL(c->name, "chain");
    CU_ASSERT_PTR_NOT_EQUAL(c->atoms, m->atoms);
    CU_ASSERT_EQUAL(memcmp(c->bonds, m->bonds, 39 * sizeof(sdg_bond)), 0);
    /* removing keeps the age order of the others */
    CU_ASSERT_EQUAL(sdg_mol_remove_bond(c, 0), SDG_OK);
    CU_ASSERT_EQUAL(c->n_bonds, 38);
    CU_ASSERT_EQUAL(c->bonds[0].i, 1);
    CU_ASSERT_EQUAL(c->bonds[0].j, 2);
    CU_ASSERT_EQUAL(c->bonds[37].j, 39);
    CU_ASSERT_EQUAL(m->n_bonds, 39);
    CU_ASSERT_EQUAL(sdg_mol_remove_bond(c, 38), SDG_ERR_INVALID);
    CU_ASSERT_EQUAL(sdg_mol_add_bond(c, 0, 1, 3), SDG_OK);   /* re-added: now the newest */
    CU_ASSERT_EQUAL(c->bonds[38].i, 0);
    CU_ASSERT_EQUAL(c->bonds[38].order, 3);
    sdg_mol_free(c);
    sdg_mol_free(m);
    sdg_mol_free(NULL);
}

/* Implicit H and maximum valence: RDKit's model, shifted by the charge. */
static void test_valence_model(void) {
    static const struct { int z, charge, nbonds, order, h, vmax; } t[] = {
        {6, 0, 1, 1, 3, 4},   /* CH3-     */
        {6, 0, 2, 2, 0, 4},   /* =C=      */
        {7, 0, 1, 1, 2, 3},   /* NH2-     */
        {7, 1, 1, 1, 3, 4},   /* NH3+     */
        {7, 1, 4, 1, 0, 4},   /* N+ quaternary */
        {8, 0, 1, 1, 1, 2},   /* OH       */
        {8, 1, 1, 2, 1, 3},   /* =OH+     */
        {8, -1, 1, 1, 0, 1},  /* O-       */
        {9, 0, 1, 1, 0, 1},
        {15, 0, 1, 1, 2, 7},  /* PH2-     */
        {15, 0, 2, 2, 1, 7},  /* v 4 -> 5 */
        {16, 0, 1, 1, 1, 6},
        {16, 0, 3, 1, 1, 6},  /* v 3 -> 4 */
        {16, 1, 3, 1, 0, 7},  /* S+ ~ P   */
        {17, 0, 1, 1, 0, 1},
        {35, 0, 1, 1, 0, 1},
        {53, 0, 2, 1, 1, 5},  /* v 2 -> 3 */
        {6, 0, 5, 1, 0, 4},   /* over the limit: no H */
        {26, 0, 1, 1, 0, -1}, /* no default valence  */
    };
    for (size_t c = 0; c < sizeof t / sizeof t[0]; c++) {
        sdg_mol *m = NULL;
        CU_ASSERT_EQUAL_FATAL(sdg_mol_new(&m), SDG_OK);
        sdg_mol_add_atom(m, t[c].z, t[c].charge, NULL);
        for (int b = 0; b < t[c].nbonds; b++) {
            sdg_mol_add_atom(m, 6, 0, NULL);
            sdg_mol_add_bond(m, 0, b + 1, t[c].order);
        }
        int h = -9, vmax = -9, v = -9;
        CU_ASSERT_EQUAL(sdg_mol_valence(m, 0, &v), SDG_OK);
        CU_ASSERT_EQUAL(v, t[c].nbonds * t[c].order);
        CU_ASSERT_EQUAL(sdg_mol_hcount(m, 0, &h), SDG_OK);
        CU_ASSERT_EQUAL(sdg_mol_max_valence(m, 0, &vmax), SDG_OK);
        if (h != t[c].h || vmax != t[c].vmax)
            printf("case %zu (z %d charge %d): h %d (want %d) vmax %d (want %d)\n", c, t[c].z,
                   t[c].charge, h, t[c].h, vmax, t[c].vmax);
        CU_ASSERT_EQUAL(h, t[c].h);
        CU_ASSERT_EQUAL(vmax, t[c].vmax);
        m->atoms[0].hcount = 2;   /* a set count wins */
        CU_ASSERT_EQUAL(sdg_mol_hcount(m, 0, &h), SDG_OK);
        CU_ASSERT_EQUAL(h, 2);
        CU_ASSERT_EQUAL(sdg_mol_hcount(m, 99, &h), SDG_ERR_INVALID);
        sdg_mol_free(m);
    }
}

int main(void) {
    static const sdg_test_case cases[] = {
        {"elements", test_elements},
        {"build_copy_remove", test_build_copy_remove},
        {"valence_model", test_valence_model},
        {NULL, NULL}};
    return sdg_test_main("molecule/mol", cases);
}
