/* GDSS's molecule graphs: encoding, the valence check with its charge rule, the correction
 * loop (tie rules), decoding thresholds and the final fragment/re-parse step. */
#include "test_util.h"

#define QN 9
#define QF 4
#define ZN 38
#define ZF 9

/* Continuous QM9-shaped sample with given atom types (-1 = virtual) and lower-triangle bond
 * values; the upper triangle is filled with junk that decoding must ignore. */
typedef struct { int i, j; float a; } tri;
static void make_sample(const sdg_mol_vocab *v, const int *types, int n, const tri *b, int nb,
                        float *x, float *A) {
    const int64_t N = v->N, F = v->F;
    for (int64_t k = 0; k < N * F; k++) x[k] = 0.1f;
    for (int64_t k = 0; k < N * N; k++) A[k] = (k / N < k % N) ? 2.7f : -0.3f;   /* junk above */
    for (int i = 0; i < n; i++)
        if (types[i] >= 0) x[i * F + types[i]] = 0.9f;
    for (int k = 0; k < nb; k++) A[(int64_t)b[k].i * N + b[k].j] = b[k].a;   /* i > j */
}

static sdg_mol *decode(const sdg_mol_vocab *v, const int *types, int n, const tri *b, int nb,
                       bool *valid) {
    float x[ZN * ZF], A[ZN * ZN];
    make_sample(v, types, n, b, nb, x, A);
    sdg_mol *m = NULL;
    CU_ASSERT_EQUAL(sdg_mol_decode(x, A, v, &m, valid), SDG_OK);
    return m;
}

static int order(const sdg_mol *m, int i, int j) {
    int64_t k;
    if (sdg_mol_find_bond(m, i, j, &k) != SDG_OK || k < 0) return 0;
    return m->bonds[k].order;
}

static char *finish_smiles(const sdg_mol *m) {
    char *s = NULL;
    CU_ASSERT_EQUAL(sdg_mol_finish(m, NULL, &s), SDG_OK);
    return s;
}

enum { C = 0, N_ = 1, O = 2, F_ = 3 };

static void test_encode(void) {
    sdg_mol *m = NULL;
    sdg_mol_new(&m);
    sdg_mol_add_atom(m, 6, 0, NULL);
    sdg_mol_add_atom(m, 8, 0, NULL);
    sdg_mol_add_atom(m, 7, 0, NULL);
    sdg_mol_add_bond(m, 0, 1, 2);
    sdg_mol_add_bond(m, 2, 0, 1);
    float X[QN * QF], A[QN * QN];
    CU_ASSERT_EQUAL_FATAL(sdg_mol_encode(m, &sdg_mol_vocab_qm9, X, A), SDG_OK);
    float sx = 0, sa = 0;
    for (int k = 0; k < QN * QF; k++) sx += X[k];
    for (int k = 0; k < QN * QN; k++) sa += A[k];
    CU_ASSERT_EQUAL(sx, 3.0f);
    CU_ASSERT_EQUAL(sa, 6.0f);
    CU_ASSERT_EQUAL(X[0 * QF + 0], 1.0f);
    CU_ASSERT_EQUAL(X[1 * QF + 2], 1.0f);
    CU_ASSERT_EQUAL(X[2 * QF + 1], 1.0f);
    CU_ASSERT_EQUAL(A[0 * QN + 1], 2.0f);
    CU_ASSERT_EQUAL(A[1 * QN + 0], 2.0f);
    CU_ASSERT_EQUAL(A[2 * QN + 0], 1.0f);
    CU_ASSERT_EQUAL(A[0 * QN + 2], 1.0f);
    /* ZINC types: Cl is type 6 */
    sdg_mol_add_atom(m, 17, 0, NULL);
    sdg_mol_add_bond(m, 3, 2, 1);
    float XZ[ZN * ZF], AZ[ZN * ZN];
    CU_ASSERT_EQUAL(sdg_mol_encode(m, &sdg_mol_vocab_zinc250k, XZ, AZ), SDG_OK);
    CU_ASSERT_EQUAL(XZ[3 * ZF + 6], 1.0f);
    /* Cl is not a QM9 type; 10 atoms exceed QM9's N */
    CU_ASSERT_EQUAL(sdg_mol_encode(m, &sdg_mol_vocab_qm9, X, A), SDG_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "Cl"));
    sdg_mol_free(m);
    sdg_mol_new(&m);
    for (int k = 0; k < 10; k++) sdg_mol_add_atom(m, 6, 0, NULL);
    CU_ASSERT_EQUAL(sdg_mol_encode(m, &sdg_mol_vocab_qm9, X, A), SDG_ERR_INVALID);
    sdg_mol_free(m);
    const sdg_mol_vocab *v = NULL;
    CU_ASSERT_EQUAL(sdg_mol_vocab_find("zinc250k", &v), SDG_OK);
    CU_ASSERT_PTR_EQUAL(v, &sdg_mol_vocab_zinc250k);
    CU_ASSERT_EQUAL(sdg_mol_vocab_find("qm7", &v), SDG_ERR_NOTFOUND);
}

/* Thresholds: x > 0.5 strict, first type wins, virtual nodes dropped with order kept; bond
 * orders 0.5 / 1.5 / 2.5 (inclusive), negatives 0, only the lower triangle read. */
static void test_decode_thresholds(void) {
    const sdg_mol_vocab *v = &sdg_mol_vocab_qm9;
    float x[QN * QF], A[QN * QN];
    int types[QN] = {C, -1, O, C, C, C, N_, -1, -1};
    tri b[] = {{2, 0, 0.5f}, {3, 2, 1.49f}, {4, 3, 1.5f}, {5, 4, 0.49f}, {6, 5, 2.5f},
               {5, 3, -4.0f}, {6, 0, 2.49f}};
    make_sample(v, types, QN, b, 7, x, A);
    x[0 * QF + 0] = 0.5f;   /* exactly 0.5 is not > 0.5 ...            */
    x[0 * QF + 3] = 0.51f;  /* ... so atom 0 becomes F (the next one)  */
    x[6 * QF + 0] = 0.6f;   /* both C and N above 0.5: the first (C)  */
    sdg_mol *m = NULL;
    bool valid = false;
    CU_ASSERT_EQUAL_FATAL(sdg_mol_decode(x, A, v, &m, &valid), SDG_OK);
    CU_ASSERT_EQUAL_FATAL(m->n_atoms, 6);
    const int want_z[6] = {9, 8, 6, 6, 6, 6};   /* F, O, C, C, C, C(was N) */
    for (int i = 0; i < 6; i++) CU_ASSERT_EQUAL(m->atoms[i].z, want_z[i]);
    /* re-indexed: 0->0, 2->1, 3->2, 4->3, 5->4, 6->5 */
    CU_ASSERT_EQUAL(order(m, 2, 1), 1);
    CU_ASSERT_EQUAL(order(m, 3, 2), 2);
    CU_ASSERT_EQUAL(order(m, 4, 3), 0);
    CU_ASSERT_EQUAL(order(m, 5, 4), 3);
    CU_ASSERT_EQUAL(order(m, 4, 2), 0);
    /* F-O (single, oldest) and F=C (2.49 -> 2) give F valence 3: the double goes down to a
     * single and is re-added as the newest, so the tie that follows removes F-O. */
    CU_ASSERT_EQUAL(order(m, 5, 0), 1);
    CU_ASSERT_EQUAL(order(m, 1, 0), 0);
    CU_ASSERT_EQUAL(m->n_bonds, 4);
    CU_ASSERT_FALSE(valid);
    sdg_mol_free(m);
    /* all-virtual input: an empty molecule that finishes to nothing */
    for (int k = 0; k < QN * QF; k++) x[k] = 0.0f;
    CU_ASSERT_EQUAL_FATAL(sdg_mol_decode(x, A, v, &m, &valid), SDG_OK);
    CU_ASSERT_EQUAL(m->n_atoms, 0);
    CU_ASSERT_TRUE(valid);
    char *s = (char *)"x";
    sdg_mol *f = (sdg_mol *)1;
    CU_ASSERT_EQUAL(sdg_mol_finish(m, &f, &s), SDG_OK);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NULL(f);
    sdg_mol_free(m);
}

/* N with four bonds becomes N+ and O with three O+, during construction. */
static void test_charge_rule(void) {
    const sdg_mol_vocab *v = &sdg_mol_vocab_qm9;
    bool valid = false;
    int t1[] = {N_, C, C, C, C};
    tri b1[] = {{1, 0, 1}, {2, 0, 1}, {3, 0, 1}, {4, 0, 1}};
    sdg_mol *m = decode(v, t1, 5, b1, 4, &valid);
    CU_ASSERT_TRUE(valid);
    CU_ASSERT_EQUAL(m->atoms[0].charge, 1);
    CU_ASSERT_EQUAL(m->n_bonds, 4);
    char *s = finish_smiles(m);
    CU_ASSERT_STRING_EQUAL(s, "C[N+](C)(C)C");
    free(s);
    sdg_mol_free(m);
    /* O with three single bonds -> O+; with a double bond and a single bond too */
    int t2[] = {C, O, C, C};
    tri b2[] = {{1, 0, 1}, {2, 1, 1}, {3, 1, 1}};
    m = decode(v, t2, 4, b2, 3, &valid);
    CU_ASSERT_TRUE(valid);
    CU_ASSERT_EQUAL(m->atoms[1].charge, 1);
    s = finish_smiles(m);
    CU_ASSERT_STRING_EQUAL(s, "C[O+](C)C");
    free(s);
    sdg_mol_free(m);
    /* N with valence 5 (double + triple) is v - 3 = 2: no charge, corrected instead */
    int t3[] = {C, N_, C};
    tri b3[] = {{1, 0, 2}, {2, 1, 3}};
    m = decode(v, t3, 3, b3, 2, &valid);
    CU_ASSERT_FALSE(valid);
    CU_ASSERT_EQUAL(m->atoms[1].charge, 0);
    /* the triple (highest) goes down to a double (re-added newest); v 4 still fails and the
     * two doubles tie, so the older C0=N1 becomes single */
    CU_ASSERT_EQUAL(order(m, 1, 0), 1);
    CU_ASSERT_EQUAL(order(m, 2, 1), 2);
    sdg_mol_free(m);
    /* S with seven single bonds: v - 2 = 5, never charged (ZINC types) */
    const sdg_mol_vocab *z = &sdg_mol_vocab_zinc250k;
    int t4[] = {5, 0, 0, 0, 0, 0, 0, 0};
    tri b4[] = {{1, 0, 1}, {2, 0, 1}, {3, 0, 1}, {4, 0, 1}, {5, 0, 1}, {6, 0, 1}, {7, 0, 1}};
    m = decode(z, t4, 8, b4, 7, &valid);
    CU_ASSERT_FALSE(valid);
    CU_ASSERT_EQUAL(m->atoms[0].z, 16);
    CU_ASSERT_EQUAL(m->atoms[0].charge, 0);
    CU_ASSERT_EQUAL(m->n_bonds, 6);
    CU_ASSERT_EQUAL(order(m, 1, 0), 0);   /* the oldest single bond went */
    sdg_mol_free(m);
}

/* The first failing atom is reported even when it is older than the new bond's atoms: a
 * C with five bonds masks an N that reaches four, so the N is not charged. */
static void test_first_failing_atom(void) {
    const sdg_mol_vocab *v = &sdg_mol_vocab_zinc250k;
    int t[] = {C, C, C, C, C, C, N_, C, C, C, C};
    tri b[] = {{1, 0, 1}, {2, 0, 1}, {3, 0, 1}, {4, 0, 1}, {5, 0, 1},
               {7, 6, 1}, {8, 6, 1}, {9, 6, 1}, {10, 6, 1}};
    bool valid = true;
    sdg_mol *m = decode(v, t, 11, b, 9, &valid);
    CU_ASSERT_FALSE(valid);
    CU_ASSERT_EQUAL(m->atoms[6].charge, 0);   /* masked: never charged */
    CU_ASSERT_EQUAL(order(m, 1, 0), 0);      /* correction 1: C0's oldest bond */
    CU_ASSERT_EQUAL(order(m, 7, 6), 0);      /* correction 2: N6's oldest bond */
    CU_ASSERT_EQUAL(m->n_bonds, 7);
    int64_t a;
    CU_ASSERT_EQUAL(sdg_mol_valence_check(m, &a, NULL), SDG_OK);
    CU_ASSERT_EQUAL(a, -1);
    /* finish keeps the longest fragment: neopentane's SMILES is longer than the amine's */
    sdg_mol *f = NULL;
    char *s = NULL;
    CU_ASSERT_EQUAL(sdg_mol_finish(m, &f, &s), SDG_OK);
    CU_ASSERT_STRING_EQUAL(s, "CC(C)(C)C");
    CU_ASSERT_EQUAL(f->n_atoms, 5);
    free(s);
    sdg_mol_free(f);
    sdg_mol_free(m);
    /* control: without the masking C the same N is charged */
    int t2[] = {N_, C, C, C, C};
    tri b2[] = {{1, 0, 1}, {2, 0, 1}, {3, 0, 1}, {4, 0, 1}};
    m = decode(v, t2, 5, b2, 4, &valid);
    CU_ASSERT_EQUAL(m->atoms[0].charge, 1);
    sdg_mol_free(m);
}

/* Ties go to the oldest bond; a re-added bond counts as the newest. */
static void test_correction_ties(void) {
    const sdg_mol_vocab *v = &sdg_mol_vocab_qm9;
    bool valid = true;
    /* C0 =C1, =C2, -C3: v 5; the two doubles tie -> the older (0-1) becomes single */
    int t1[] = {C, C, C, C};
    tri b1[] = {{1, 0, 2}, {2, 0, 2}, {3, 0, 1}};
    sdg_mol *m = decode(v, t1, 4, b1, 3, &valid);
    CU_ASSERT_FALSE(valid);
    CU_ASSERT_EQUAL(order(m, 1, 0), 1);
    CU_ASSERT_EQUAL(order(m, 2, 0), 2);
    CU_ASSERT_EQUAL(order(m, 3, 0), 1);
    CU_ASSERT_EQUAL(m->bonds[m->n_bonds - 1].j, 0);   /* 0-1 re-added last */
    CU_ASSERT_EQUAL(m->bonds[m->n_bonds - 1].i, 1);
    sdg_mol_free(m);
    /* C0 #C1, =C2, =C3: v 7. (1) the triple -> double, re-added newest; (2) three doubles
     * tie -> the oldest is now 0-2; (3) 0-3 and 0-1 tie -> 0-3. Had the re-added bond kept
     * its place, step 2 would have taken 0-1 and the result would be 0-1 single, 0-3 double. */
    int t2[] = {C, C, C, C};
    tri b2[] = {{1, 0, 3}, {2, 0, 2}, {3, 0, 2}};
    m = decode(v, t2, 4, b2, 3, &valid);
    CU_ASSERT_FALSE(valid);
    CU_ASSERT_EQUAL(order(m, 1, 0), 2);
    CU_ASSERT_EQUAL(order(m, 2, 0), 1);
    CU_ASSERT_EQUAL(order(m, 3, 0), 1);
    sdg_mol_free(m);
    /* sdg_mol_correct on a hand-built molecule: F with a double bond loses it to single */
    sdg_mol_new(&m);
    sdg_mol_add_atom(m, 9, 0, NULL);
    sdg_mol_add_atom(m, 6, 0, NULL);
    sdg_mol_add_bond(m, 0, 1, 2);
    int64_t a;
    int val = 0;
    CU_ASSERT_EQUAL(sdg_mol_valence_check(m, &a, &val), SDG_OK);
    CU_ASSERT_EQUAL(a, 0);
    CU_ASSERT_EQUAL(val, 2);
    bool was = true;
    CU_ASSERT_EQUAL(sdg_mol_correct(m, &was), SDG_OK);
    CU_ASSERT_FALSE(was);
    CU_ASSERT_EQUAL(order(m, 0, 1), 1);
    CU_ASSERT_EQUAL(sdg_mol_correct(m, &was), SDG_OK);
    CU_ASSERT_TRUE(was);
    sdg_mol_free(m);
}

/* Charged atoms keep their higher limit during correction: N+ with five bonds loses one. */
static void test_charged_limits(void) {
    sdg_mol *m = NULL;
    sdg_mol_new(&m);
    sdg_mol_add_atom(m, 7, 1, NULL);
    for (int k = 1; k <= 5; k++) {
        sdg_mol_add_atom(m, 6, 0, NULL);
        sdg_mol_add_bond(m, 0, k, 1);
    }
    bool was = true;
    CU_ASSERT_EQUAL(sdg_mol_correct(m, &was), SDG_OK);
    CU_ASSERT_FALSE(was);
    CU_ASSERT_EQUAL(m->n_bonds, 4);   /* N+ allows 4, neutral N would have lost two */
    CU_ASSERT_EQUAL(order(m, 0, 1), 0);
    sdg_mol_free(m);
}

/* Encode then decode gives back the molecule (neutral ones) for a few ring systems. */
static void test_round_trip(void) {
    const char *smi[] = {"c1ccccc1", "c1cc[nH]c1", "O=C1NC(=O)C=C1", "C#CC(=O)N", "FC(F)(F)c1ncco1",
                         "CS(=O)(=O)c1ccc(Cl)cc1", "O=P(O)(O)OCc1ccc(Br)cc1I", "C[N+](C)(C)C"};
    for (size_t k = 0; k < sizeof smi / sizeof smi[0]; k++) {
        sdg_mol *m = NULL, *d = NULL;
        char *want = NULL, *got = NULL;
        CU_ASSERT_EQUAL_FATAL(sdg_mol_from_smiles(smi[k], &m), SDG_OK);
        CU_ASSERT_EQUAL(sdg_mol_to_canonical_smiles(m, &want), SDG_OK);
        float X[ZN * ZF], A[ZN * ZN];
        CU_ASSERT_EQUAL_FATAL(sdg_mol_encode(m, &sdg_mol_vocab_zinc250k, X, A), SDG_OK);
        /* blur the sample the way a sampler's output would be */
        for (int q = 0; q < ZN * ZF; q++) X[q] = X[q] * 0.8f + 0.05f;
        for (int q = 0; q < ZN * ZN; q++) A[q] += (q % 3 - 1) * 0.3f;
        bool valid = false;
        CU_ASSERT_EQUAL_FATAL(sdg_mol_decode(X, A, &sdg_mol_vocab_zinc250k, &d, &valid), SDG_OK);
        CU_ASSERT_TRUE(valid);
        CU_ASSERT_EQUAL(sdg_mol_finish(d, NULL, &got), SDG_OK);
        if (!got || strcmp(got, want) != 0) printf("%s: want %s got %s\n", smi[k], want, got ? got : "(dropped)");
        CU_ASSERT_PTR_NOT_NULL(got);
        if (got) CU_ASSERT_STRING_EQUAL(got, want);
        free(want);
        free(got);
        sdg_mol_free(m);
        sdg_mol_free(d);
    }
}

int main(void) {
    static const sdg_test_case cases[] = {
        {"encode", test_encode},
        {"decode_thresholds", test_decode_thresholds},
        {"charge_rule", test_charge_rule},
        {"first_failing_atom", test_first_failing_atom},
        {"correction_ties", test_correction_ties},
        {"charged_limits", test_charged_limits},
        {"round_trip", test_round_trip},
        {NULL, NULL}};
    return sdg_test_main("molecule/gdss", cases);
}
