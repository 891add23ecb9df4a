/* The Open Babel shim: SMILES in and out, canonical SMILES, errors without printing (stderr
 * is captured around the calls), 2-D and 3-D coordinates, SDF writing and reading. */
#include <fcntl.h>
#include <unistd.h>
#include "test_util.h"

/* ---- stderr and stdout capture (file descriptors 1 and 2 into a temporary file) ---- */
typedef struct { int saved_out, saved_err; FILE *tmp; } capture;

static void capture_begin(capture *c) {
    fflush(stdout);
    fflush(stderr);
    c->tmp = tmpfile();
    c->saved_out = dup(1);
    c->saved_err = dup(2);
    dup2(fileno(c->tmp), 1);
    dup2(fileno(c->tmp), 2);
}

/* Restores the descriptors; returns the number of bytes written meanwhile. */
static long capture_end(capture *c, char *text, size_t cap) {
    fflush(stdout);
    fflush(stderr);
    dup2(c->saved_out, 1);
    dup2(c->saved_err, 2);
    close(c->saved_out);
    close(c->saved_err);
    long n = ftell(c->tmp);
    if (n < 0) n = (long)lseek(fileno(c->tmp), 0, SEEK_END);
    lseek(fileno(c->tmp), 0, SEEK_SET);
    size_t k = read(fileno(c->tmp), text, cap - 1) > 0 ? (size_t)(n < (long)cap ? n : (long)cap - 1) : 0;
    text[k] = '\0';
    fclose(c->tmp);
    return n;
}

static char *can_of(const char *smi) {
    sdg_mol *m = NULL;
    char *s = NULL;
    if (sdg_mol_from_smiles(smi, &m) == SDG_OK) sdg_mol_to_canonical_smiles(m, &s);
    sdg_mol_free(m);
    return s;
}

static void test_parse(void) {
    sdg_mol *m = NULL;
    /* benzene: Kekule orders, 1 H per atom, aromatic flags from perception */
    CU_ASSERT_EQUAL_FATAL(sdg_mol_from_smiles("c1ccccc1", &m), SDG_OK);
    CU_ASSERT_EQUAL(m->n_atoms, 6);
    CU_ASSERT_EQUAL(m->n_bonds, 6);
    int doubles = 0;
    for (int k = 0; k < 6; k++) {
        doubles += m->bonds[k].order == 2;
        CU_ASSERT(m->bonds[k].order == 1 || m->bonds[k].order == 2);
        CU_ASSERT_TRUE(m->bonds[k].aromatic);
        CU_ASSERT_EQUAL(m->atoms[k].hcount, 1);
        int v;
        sdg_mol_valence(m, k, &v);
        CU_ASSERT_EQUAL(v, 3);
    }
    CU_ASSERT_EQUAL(doubles, 3);
    sdg_mol_free(m);
    /* explicit hydrogens are folded in; charges kept; stereo and isotopes dropped */
    CU_ASSERT_EQUAL_FATAL(sdg_mol_from_smiles("[H]OC([H])([H])[13CH2][NH3+]", &m), SDG_OK);
    CU_ASSERT_EQUAL(m->n_atoms, 4);
    CU_ASSERT_EQUAL(m->atoms[0].z, 8);
    CU_ASSERT_EQUAL(m->atoms[0].hcount, 1);
    CU_ASSERT_EQUAL(m->atoms[1].hcount, 2);
    CU_ASSERT_EQUAL(m->atoms[3].charge, 1);
    CU_ASSERT_EQUAL(m->atoms[3].hcount, 3);
    char *s = NULL;
    CU_ASSERT_EQUAL(sdg_mol_to_smiles(m, &s), SDG_OK);
    CU_ASSERT_STRING_EQUAL(s, "OCC[NH3+]");
    free(s);
    sdg_mol_free(m);
    /* RDKit's clean-up: neutral pentavalent nitro and azide become charge-separated */
    s = can_of("CN(=O)=O");
    CU_ASSERT_STRING_EQUAL(s, "[O-][N+](=O)C");
    free(s);
    s = can_of("CN=N#N");
    CU_ASSERT_STRING_EQUAL(s, "[N-]=[N+]=NC");
    free(s);
    /* canonical SMILES do not depend on the input order or form */
    const char *same[][2] = {{"OCC", "CCO"}, {"C1=CC=CC=C1O", "Oc1ccccc1"},
                             {"C[C@H](N)C(=O)O", "NC(C)C(O)=O"}, {"c1cc[nH]c1", "C1=CNC=C1"}};
    for (size_t k = 0; k < 4; k++) {
        char *a = can_of(same[k][0]), *b = can_of(same[k][1]);
        CU_ASSERT_PTR_NOT_NULL(a);
        CU_ASSERT_PTR_NOT_NULL(b);
        if (a && b) CU_ASSERT_STRING_EQUAL(a, b);
        free(a);
        free(b);
    }
    /* a hand-built molecule: implicit H derived from the default valences */
    sdg_mol_new(&m);
    sdg_mol_add_atom(m, 6, 0, NULL);
    sdg_mol_add_atom(m, 16, 0, NULL);
    sdg_mol_add_atom(m, 8, 0, NULL);
    sdg_mol_add_atom(m, 8, 0, NULL);
    sdg_mol_add_bond(m, 0, 1, 1);
    sdg_mol_add_bond(m, 1, 2, 2);
    sdg_mol_add_bond(m, 1, 3, 1);
    CU_ASSERT_EQUAL(sdg_mol_to_canonical_smiles(m, &s), SDG_OK);   /* S valence 4 -> no H */
    char *w = can_of("CS(=O)O");
    CU_ASSERT_STRING_EQUAL(s, w);
    free(s);
    free(w);
    sdg_mol_free(m);
}

/* Malformed SMILES fail with SDG_ERR_FORMAT and Open Babel's reason, and nothing is printed. */
static void test_malformed_silent(void) {
    char out[4096];
    capture c;
    /* the capture itself works: a write to stderr is seen */
    capture_begin(&c);
    fprintf(stderr, "probe\n");
    CU_ASSERT_EQUAL(capture_end(&c, out, sizeof out), 6);
    const char *bad[] = {"C1CC", "xyz", "C(", "CC)", "[CH3", "C]", "", "   ", "c1cccc", "C%", "*C",
                         "[Xy]", "CC(C)(C)(C)(C)(C)(C)(C)C1CC1%99",
                         /* over RDKit's valence limits */
                         "CC(C)(C)(C)C", "C[N](C)(C)C", "[CH5]", "FC(F)=F"};
    const size_t nbad = sizeof bad / sizeof bad[0];
    sdg_status st[sizeof bad / sizeof bad[0]];
    char msg[sizeof bad / sizeof bad[0]][256];
    capture_begin(&c);
    for (size_t k = 0; k < nbad; k++) {
        sdg_mol *m = NULL;
        st[k] = sdg_mol_from_smiles(bad[k], &m);
        snprintf(msg[k], sizeof msg[k], "%s", sdg_errmsg());
        sdg_mol_free(m);
    }
    /* and a 3-D build of something odd, which makes Open Babel's builder and force field talk */
    sdg_mol *m = NULL, *e = NULL;
    if (sdg_mol_from_smiles("[Fe]C", &m) == SDG_OK) {
        sdg_embed_params p = sdg_embed_default_params();
        p.steps = 20;
        p.jitter = 0;
        sdg_mol_embed_3d(m, &p, NULL, &e);
    }
    sdg_mol_free(m);
    sdg_mol_free(e);
    long n = capture_end(&c, out, sizeof out);
    if (n) printf("\n  printed while silenced: <%s>\n", out);
    CU_ASSERT_EQUAL(n, 0);
    for (size_t k = 0; k < nbad; k++) {
        if (st[k] != SDG_ERR_FORMAT) printf("\n  '%s' -> status %d (%s)\n", bad[k], st[k], msg[k]);
        CU_ASSERT_EQUAL(st[k], SDG_ERR_FORMAT);
        CU_ASSERT(strlen(msg[k]) > 0);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(msg[0], "C1CC"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg[0], "ring"));   /* Open Babel's reason is appended */
    CU_ASSERT_PTR_NOT_NULL(strstr(msg[1], "invalid"));
}

static void test_coords_2d(void) {
    sdg_mol *m = NULL;
    CU_ASSERT_EQUAL_FATAL(sdg_mol_from_smiles("CC(=O)Oc1ccccc1C(=O)O", &m), SDG_OK);
    CU_ASSERT_EQUAL_FATAL(sdg_mol_coords_2d(m), SDG_OK);
    CU_ASSERT_EQUAL(m->dim, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m->coords);
    /* bonded atoms at a drawing bond length, no two atoms on top of each other, z = 0 */
    double lo = 1e9, hi = 0, closest = 1e9;
    for (int64_t k = 0; k < m->n_bonds; k++) {
        const double *a = m->coords + 3 * m->bonds[k].i, *b = m->coords + 3 * m->bonds[k].j;
        double d = hypot(a[0] - b[0], a[1] - b[1]);
        lo = fmin(lo, d);
        hi = fmax(hi, d);
    }
    for (int64_t i = 0; i < m->n_atoms; i++) {
        CU_ASSERT_EQUAL(m->coords[3 * i + 2], 0.0);
        for (int64_t j = 0; j < i; j++)
            closest = fmin(closest, hypot(m->coords[3 * i] - m->coords[3 * j],
                                          m->coords[3 * i + 1] - m->coords[3 * j + 1]));
    }
    CU_ASSERT(lo > 0.5 && hi / lo < 1.3);
    CU_ASSERT(closest > 0.5 * lo);
    sdg_mol_free(m);
}

/* 3-D: hydrogens added, bond lengths physical, the jitter takes C#C off the builder's 1.30 A. */
static void test_embed_3d(void) {
    sdg_mol *m = NULL, *e = NULL;
    sdg_rng *r = NULL;
    sdg_rng_new(3, &r);
    CU_ASSERT_EQUAL_FATAL(sdg_mol_from_smiles("CC#CC(=O)N", &m), SDG_OK);
    sdg_embed_params p = sdg_embed_default_params();
    CU_ASSERT_EQUAL(sdg_mol_embed_3d(m, &p, NULL, &e), SDG_ERR_INVALID);   /* jitter needs rng */
    sdg_status st = sdg_mol_embed_3d(m, &p, r, &e);
    if (st != SDG_OK) printf("\n  embed: %s\n", sdg_errmsg());
    CU_ASSERT_EQUAL_FATAL(st, SDG_OK);
    CU_ASSERT_EQUAL(e->dim, 3);
    CU_ASSERT_EQUAL(e->n_atoms, 6 + 5);   /* C4 N O + 3 + 2 hydrogens */
    for (int64_t i = 0; i < 6; i++) CU_ASSERT_EQUAL(e->atoms[i].z, m->atoms[i].z);
    for (int64_t i = 6; i < e->n_atoms; i++) CU_ASSERT_EQUAL(e->atoms[i].z, 1);
    for (int64_t k = 0; k < e->n_bonds; k++) {
        const sdg_bond *b = &e->bonds[k];
        const double *a = e->coords + 3 * b->i, *c = e->coords + 3 * b->j;
        double d = sqrt((a[0] - c[0]) * (a[0] - c[0]) + (a[1] - c[1]) * (a[1] - c[1]) +
                        (a[2] - c[2]) * (a[2] - c[2]));
        bool h = e->atoms[b->i].z == 1 || e->atoms[b->j].z == 1;
        CU_ASSERT(d > (h ? 0.9 : 1.1) && d < (h ? 1.15 : 1.6));
        if (b->order == 3) {
            printf("\n  C#C after jittered minimisation: %.3f A\n", d);
            CU_ASSERT(d < 1.25);
        }
    }
    /* the heavy-atom graph is unchanged */
    char *a = NULL, *b = NULL;
    sdg_mol_to_canonical_smiles(m, &a);
    sdg_mol_to_canonical_smiles(e, &b);
    CU_ASSERT_STRING_EQUAL(a, b);
    free(a);
    free(b);
    sdg_mol_free(e);
    sdg_mol_free(m);
    sdg_rng_free(r);
}

/* Golden MOL block, written byte for byte. */
static const char *golden =
    "glycine zwitterion\n"
    "  sdegen      2D\n"
    "\n"
    "  5  4  0  0  0  0  0  0  0  0999 V2000\n"
    "    0.0000    0.0000    0.0000 N   0  0  0  0  0  0  0  0  0  0  0  0\n"
    "    1.5000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n"
    "    2.2500    1.2990    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n"
    "    1.5000    2.5981    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0\n"
    "    3.7500    1.2990    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0\n"
    "  1  2  1  0\n"
    "  2  3  1  0\n"
    "  3  4  2  0\n"
    "  3  5  1  0\n"
    "M  CHG  2   1   1   5  -1\n"
    "M  END\n";

static sdg_mol *glycine(void) {
    sdg_mol *m = NULL;
    sdg_mol_new(&m);
    const int z[5] = {7, 6, 6, 8, 8}, q[5] = {1, 0, 0, 0, -1};
    const double xy[5][2] = {{0, 0}, {1.5, 0}, {2.25, 1.299038}, {1.5, 2.598076}, {3.75, 1.299038}};
    for (int i = 0; i < 5; i++) sdg_mol_add_atom(m, z[i], q[i], NULL);
    sdg_mol_add_bond(m, 0, 1, 1);
    sdg_mol_add_bond(m, 1, 2, 1);
    sdg_mol_add_bond(m, 2, 3, 2);
    sdg_mol_add_bond(m, 2, 4, 1);
    m->coords = calloc(15, sizeof(double));
    for (int i = 0; i < 5; i++) {
        m->coords[3 * i] = xy[i][0];
        m->coords[3 * i + 1] = xy[i][1];
    }
    m->dim = 2;
    sdg_mol_set_name(m, "glycine zwitterion");
    return m;
}

static void test_sdf_write_read(void) {
    sdg_mol *m = glycine();
    char *block = NULL;
    CU_ASSERT_EQUAL_FATAL(sdg_mol_to_molblock(m, &block), SDG_OK);
    if (strcmp(block, golden) != 0) printf("\n%s", block);
    CU_ASSERT_STRING_EQUAL(block, golden);
    free(block);
    /* two records with data fields, then read back */
    char path[] = "/tmp/sdg_sdf_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    sdg_mol_field fields[2] = {{"smiles", "[NH3+]CC(=O)[O-]"}, {"note", "line one\nline two\n"}};
    CU_ASSERT_EQUAL(sdg_mol_write_sdf(f, m, fields, 2), SDG_OK);
    sdg_mol *b = NULL;
    sdg_mol_from_smiles("c1ccncc1", &b);
    CU_ASSERT_EQUAL(sdg_mol_write_sdf(f, b, NULL, 0), SDG_OK);
    sdg_mol_field badf = {"a>b", "x"};
    CU_ASSERT_EQUAL(sdg_mol_write_sdf(f, b, &badf, 1), SDG_ERR_INVALID);
    fclose(f);
    sdg_mol_list *l = NULL;
    CU_ASSERT_EQUAL_FATAL(sdg_mol_list_read_sdf(path, &l), SDG_OK);
    CU_ASSERT_EQUAL_FATAL(l->count, 2);
    sdg_mol *r = l->mols[0];
    CU_ASSERT_STRING_EQUAL(r->name, "glycine zwitterion");
    CU_ASSERT_EQUAL(r->n_atoms, 5);
    CU_ASSERT_EQUAL(r->n_bonds, 4);
    CU_ASSERT_EQUAL(r->atoms[0].charge, 1);
    CU_ASSERT_EQUAL(r->atoms[4].charge, -1);
    CU_ASSERT_EQUAL(r->bonds[2].order, 2);
    CU_ASSERT_EQUAL(r->dim, 2);
    CU_ASSERT(fabs(r->coords[3 * 3 + 1] - 2.5981) < 1e-9);
    char *s1 = NULL, *s2 = NULL;
    sdg_mol_to_canonical_smiles(r, &s1);
    sdg_mol_to_canonical_smiles(m, &s2);
    CU_ASSERT_STRING_EQUAL(s1, s2);
    free(s1);
    free(s2);
    CU_ASSERT_EQUAL(l->mols[1]->n_atoms, 6);
    CU_ASSERT_PTR_NULL(l->mols[1]->name);
    sdg_mol_list_free(l);
    unlink(path);
    sdg_mol_free(b);
    sdg_mol_free(m);
}

/* Writes text to a temporary file; returns its path (static buffer). */
static const char *temp_with(const char *text) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/sdg_sdf_XXXXXX");
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_sdf_errors(void) {
    char *block = NULL;
    sdg_mol *m = glycine();
    sdg_mol_to_molblock(m, &block);
    sdg_mol_free(m);
    char text[4096];
    struct { const char *body; const char *want; } cases[] = {
        {"this is\nnot an\nSDF file\nat all\n", "record 1 (line 4): not a V2000 counts line"},
        {"t\n\n\n  1  0  0  0  0  0  0  0  0  0999 V3000\n", "V3000"},
        {"t\n\n\n  2  0  0  0  0  0  0  0  0  0999 V2000\n"
         "    0.0000    0.0000    0.0000 C   0  0\n", "record 1 (line 5): truncated atom block"},
        {"t\n\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n"
         "    0.0000    0.0000    0.0000 Qq  0  0\nM  END\n$$$$\n", "unknown element 'Qq'"},
        {"t\n\n\n  2  1  0  0  0  0  0  0  0  0999 V2000\n"
         "    0.0000    0.0000    0.0000 C   0  0\n    0.0000    0.0000    0.0000 C   0  0\n"
         "  1  3  1  0\nM  END\n$$$$\n", "record 1 (line 7): bond 1: atoms 1-3 out of range"},
        {"t\n\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n"
         "    0.0000    0.0000    0.0000 C   0  0\nM  END\n", "record 1 (line 6): record is not closed"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *path = temp_with(cases[k].body);
        sdg_mol_list *l = NULL;
        CU_ASSERT_EQUAL(sdg_mol_list_read_sdf(path, &l), SDG_ERR_FORMAT);
        CU_ASSERT_PTR_NULL(l);
        if (!strstr(sdg_errmsg(), cases[k].want)) printf("\n  case %zu: %s\n", k, sdg_errmsg());
        CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), cases[k].want));
        CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), path));
        unlink(path);
    }
    /* a good record followed by a broken one: the second is named */
    snprintf(text, sizeof text, "%s$$$$\n%s", block, "x\ny\n");
    const char *path = temp_with(text);
    sdg_mol_list *l = NULL;
    CU_ASSERT_EQUAL(sdg_mol_list_read_sdf(path, &l), SDG_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "record 2 (line 18)"));
    unlink(path);
    CU_ASSERT_EQUAL(sdg_mol_list_read_sdf("/nonexistent/x.sdf", &l), SDG_ERR_IO);
    /* an empty file is an empty list */
    path = temp_with("");
    CU_ASSERT_EQUAL(sdg_mol_list_read_sdf(path, &l), SDG_OK);
    CU_ASSERT_EQUAL(l->count, 0);
    sdg_mol_list_free(l);
    unlink(path);
    free(block);
}

/* Aromatic bond type 4 (pyridine and pyrrole written that way) comes back Kekule. */
static void test_sdf_aromatic(void) {
    const char *pyridine =
        "pyridine\n\n\n  6  6  0  0  0  0  0  0  0  0999 V2000\n"
        "    0.0000    0.0000    0.0000 C   0  0\n    0.0000    0.0000    0.0000 C   0  0\n"
        "    0.0000    0.0000    0.0000 C   0  0\n    0.0000    0.0000    0.0000 N   0  0\n"
        "    0.0000    0.0000    0.0000 C   0  0\n    0.0000    0.0000    0.0000 C   0  0\n"
        "  1  2  4  0\n  2  3  4  0\n  3  4  4  0\n  4  5  4  0\n  5  6  4  0\n  6  1  4  0\n"
        "M  END\n> <x>\n1\n\n$$$$\n";
    const char *path = temp_with(pyridine);
    sdg_mol_list *l = NULL;
    CU_ASSERT_EQUAL_FATAL(sdg_mol_list_read_sdf(path, &l), SDG_OK);
    unlink(path);
    sdg_mol *m = l->mols[0];
    int doubles = 0;
    for (int k = 0; k < 6; k++) doubles += m->bonds[k].order == 2;
    CU_ASSERT_EQUAL(doubles, 3);
    char *s = NULL, *w = can_of("c1ccncc1");
    CU_ASSERT_EQUAL(sdg_mol_to_canonical_smiles(m, &s), SDG_OK);
    CU_ASSERT_STRING_EQUAL(s, w);
    free(s);
    free(w);
    sdg_mol_list_free(l);
}

int main(void) {
    static const sdg_test_case cases[] = {
        {"parse", test_parse},
        {"malformed_silent", test_malformed_silent},
        {"coords_2d", test_coords_2d},
        {"embed_3d", test_embed_3d},
        {"sdf_write_read", test_sdf_write_read},
        {"sdf_errors", test_sdf_errors},
        {"sdf_aromatic", test_sdf_aromatic},
        {NULL, NULL}};
    return sdg_test_main("molecule/obabel", cases);
}
