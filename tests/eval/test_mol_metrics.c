/* Molecule metrics: validity, uniqueness and novelty by hand-counted examples, the flag column
 * and SDF field for validity without correction, reader errors, identical sets, and the
 * type distributions. */
#include <math.h>
#include <unistd.h>
#include "test_util.h"

static char tmpdir[64];

static const char *tmp_path(const char *name) {
    static char p[160];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    return p;
}

static void write_file(const char *name, const char *text, size_t len) {
    FILE *f = fopen(tmp_path(name), "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fwrite(text, 1, len, f);
    fclose(f);
}

static void test_counts(void) {
    const char *gen[] = {"CCO", "OCC", "C(C)O", "c1ccccc1", "C1=CC=CC=C1", "CC(", "C(C)(C)(C)(C)C",
                         "xyz", "CCN", "[NH4+]", ""};
    const char *train[] = {"CCO", "c1ccccc1"};
    sdg_mol_samples *s = NULL, *t = NULL;
    CU_ASSERT_EQUAL_FATAL(sdg_mol_samples_from_smiles(gen, 11, &s), SDG_OK);
    CU_ASSERT_EQUAL(s->count, 11);
    CU_ASSERT_EQUAL(s->n_valid, 7);   /* CCO x3, benzene x2, CCN, NH4+ */
    CU_ASSERT_EQUAL(s->first_invalid_line, 6);
    CU_ASSERT_PTR_NULL(s->mols[5]);
    CU_ASSERT_STRING_EQUAL(s->smiles[0], s->smiles[1]);
    CU_ASSERT_STRING_EQUAL(s->smiles[3], s->smiles[4]);
    CU_ASSERT_EQUAL_FATAL(sdg_mol_samples_from_smiles(train, 2, &t), SDG_OK);
    const sdg_mol *test[] = {t->mols[0], t->mols[1]};
    sdg_mol_reference ref = {.train_name = "train", .test_name = "test", .n_train = 2,
                             .train_smiles = (const char *const *)t->smiles, .n_test = 2, .test_mols = test};
    sdg_mol_metrics m;
    CU_ASSERT_EQUAL_FATAL(sdg_mol_metrics_compute(s, &ref, NULL, &m), SDG_OK);
    CU_ASSERT_DOUBLE_EQUAL(m.validity.value, 7.0 / 11, 1e-15);
    CU_ASSERT_EQUAL(m.n_unique, 4);
    CU_ASSERT_DOUBLE_EQUAL(m.uniqueness.value, 4.0 / 7, 1e-15);
    CU_ASSERT_EQUAL(m.n_novel, 2);   /* CCN, NH4+ */
    CU_ASSERT_DOUBLE_EQUAL(m.novelty.value, 0.5, 1e-15);
    CU_ASSERT(isnan(m.validity_wo_correction.value));
    CU_ASSERT_PTR_NOT_NULL(strstr(m.validity_wo_correction.protocol, "not recorded"));
    CU_ASSERT_PTR_NOT_NULL(strstr(m.novelty.protocol, "2 of 4 unique valid"));
    CU_ASSERT(m.nspdk.value > 0);
    /* atom fractions: 3x(C2 O) + 2x C6 + C2 N + N = 6+12+2 C, 3 O, 2 N of 25 */
    CU_ASSERT_DOUBLE_EQUAL(m.atom_gen[6], 20.0 / 25, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(m.atom_gen[7], 2.0 / 25, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(m.atom_test[8], 1.0 / 9, 1e-12);
    /* bonds of the test set: 2 single (ethanol) and 6 aromatic (benzene) */
    CU_ASSERT_DOUBLE_EQUAL(m.bond_test[0], 0.25, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(m.bond_test[3], 0.75, 1e-12);
    /* no training set: novelty NAN */
    ref.n_train = 0;
    CU_ASSERT_EQUAL(sdg_mol_metrics_compute(s, &ref, NULL, &m), SDG_OK);
    CU_ASSERT(isnan(m.novelty.value));
    /* samples equal to the test set: NSPDK and the type distances vanish */
    CU_ASSERT_EQUAL(sdg_mol_metrics_compute(t, &ref, NULL, &m), SDG_OK);
    CU_ASSERT(fabs(m.nspdk.value) < 1e-15);
    CU_ASSERT(fabs(m.atom_tv.value) < 1e-15 && fabs(m.bond_tv.value) < 1e-15);
    /* no valid sample, no test molecule */
    sdg_mol_samples *bad = NULL;
    const char *junk[] = {"CC(", "Q"};
    CU_ASSERT_EQUAL_FATAL(sdg_mol_samples_from_smiles(junk, 2, &bad), SDG_OK);
    CU_ASSERT_EQUAL(bad->n_valid, 0);
    CU_ASSERT_EQUAL(sdg_mol_metrics_compute(bad, &ref, NULL, &m), SDG_ERR_INVALID);
    ref.n_test = 0;
    CU_ASSERT_EQUAL(sdg_mol_metrics_compute(s, &ref, NULL, &m), SDG_ERR_INVALID);
    sdg_mol_samples_free(bad);
    sdg_mol_samples_free(s);
    sdg_mol_samples_free(t);
    sdg_mol_samples_free(NULL);
}

static void test_smiles_files(void) {
    /* header with a flag column, a blank line, CRLF */
    const char a[] = "smiles,valid_wo_correction\r\nCCO,1\r\n\r\nCCN,0\r\nCC(,1\r\n";
    write_file("a.csv", a, sizeof a - 1);
    sdg_mol_samples *s = NULL;
    CU_ASSERT_EQUAL_FATAL(sdg_mol_samples_read(tmp_path("a.csv"), &s), SDG_OK);
    CU_ASSERT(s->header);
    CU_ASSERT_EQUAL(s->count, 3);
    CU_ASSERT_EQUAL(s->n_valid, 2);
    CU_ASSERT_EQUAL(s->n_blank, 1);
    CU_ASSERT_EQUAL(s->wo_correction[0], 1);
    CU_ASSERT_EQUAL(s->wo_correction[1], 0);
    CU_ASSERT_EQUAL(s->line[1], 4);
    CU_ASSERT_EQUAL(s->first_invalid_line, 5);
    sdg_mol_samples_free(s);
    /* a second column of names is not a flag; of 0/1 on every line it is */
    const char b[] = "CCO ethanol\nCCN 1\n";
    write_file("b.smi", b, sizeof b - 1);
    CU_ASSERT_EQUAL_FATAL(sdg_mol_samples_read(tmp_path("b.smi"), &s), SDG_OK);
    CU_ASSERT(!s->header);
    CU_ASSERT_EQUAL(s->wo_correction[0], -1);
    CU_ASSERT_EQUAL(s->wo_correction[1], -1);
    sdg_mol_samples_free(s);
    const char c[] = "CCO\t1\nCCN\tfalse\n";
    write_file("c.smi", c, sizeof c - 1);
    CU_ASSERT_EQUAL_FATAL(sdg_mol_samples_read(tmp_path("c.smi"), &s), SDG_OK);
    CU_ASSERT_EQUAL(s->wo_correction[0], 1);
    CU_ASSERT_EQUAL(s->wo_correction[1], 0);
    sdg_mol_samples_free(s);
    /* errors: a bad flag, binary bytes, an unknown extension, a missing file */
    const char d[] = "smiles valid_wo_correction\nCCO 1\nCCN maybe\n";
    write_file("d.smi", d, sizeof d - 1);
    CU_ASSERT_EQUAL(sdg_mol_samples_read(tmp_path("d.smi"), &s), SDG_ERR_FORMAT);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "d.smi: line 3:"));
    const char e[] = "CCO\nC\0C\n";
    write_file("e.smi", e, sizeof e - 1);
    CU_ASSERT_EQUAL(sdg_mol_samples_read(tmp_path("e.smi"), &s), SDG_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "e.smi: line 2: binary data"));
    write_file("f.xyz", "CCO\n", 4);
    CU_ASSERT_EQUAL(sdg_mol_samples_read(tmp_path("f.xyz"), &s), SDG_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "not a SMILES, SDF or sdegen molecule file"));
    write_file("f.h5", "CCO\n", 4);   /* .h5 that is not HDF5 */
    CU_ASSERT_EQUAL(sdg_mol_samples_read(tmp_path("f.h5"), &s), SDG_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "f.h5: not an HDF5 file"));
    /* sdegen's "SMILES<TAB>index": an increasing second column is an index, never flags */
    const char g[] = "CCO\t0\nCCN\t1\n";
    write_file("g.smi", g, sizeof g - 1);
    CU_ASSERT_EQUAL_FATAL(sdg_mol_samples_read(tmp_path("g.smi"), &s), SDG_OK);
    CU_ASSERT_EQUAL(s->count, 2);
    CU_ASSERT_EQUAL(s->wo_correction[0], -1);
    CU_ASSERT_EQUAL(s->wo_correction[1], -1);
    sdg_mol_samples_free(s);
    s = NULL;
    CU_ASSERT_EQUAL(sdg_mol_samples_read(tmp_path("none.smi"), &s), SDG_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "none.smi: cannot read"));
}

static void test_sdf(void) {
    FILE *f = fopen(tmp_path("g.sdf"), "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    const char *smi[] = {"CCO", "c1ccncc1"};
    const char *flag[] = {"0", "1"};
    for (int i = 0; i < 2; i++) {
        sdg_mol *m = NULL;
        CU_ASSERT_EQUAL_FATAL(sdg_mol_from_smiles(smi[i], &m), SDG_OK);
        sdg_mol_field fl[2] = {{"note", "a\nb"}, {"valid_wo_correction", flag[i]}};
        CU_ASSERT_EQUAL(sdg_mol_write_sdf(f, m, fl, 2), SDG_OK);
        sdg_mol_free(m);
    }
    /* N with five bonds: read, then counted invalid */
    sdg_mol *m = NULL;
    sdg_mol_new(&m);
    int64_t n;
    sdg_mol_add_atom(m, 7, 0, &n);
    for (int k = 0; k < 5; k++) {
        int64_t c;
        sdg_mol_add_atom(m, 6, 0, &c);
        sdg_mol_add_bond(m, n, c, 1);
    }
    CU_ASSERT_EQUAL(sdg_mol_write_sdf(f, m, NULL, 0), SDG_OK);
    sdg_mol_free(m);
    fclose(f);
    sdg_mol_samples *s = NULL;
    CU_ASSERT_EQUAL_FATAL(sdg_mol_samples_read(tmp_path("g.sdf"), &s), SDG_OK);
    CU_ASSERT(s->sdf);
    CU_ASSERT_EQUAL(s->count, 3);
    CU_ASSERT_EQUAL(s->n_valid, 2);
    CU_ASSERT_EQUAL(s->wo_correction[0], 0);
    CU_ASSERT_EQUAL(s->wo_correction[1], 1);
    CU_ASSERT_EQUAL(s->wo_correction[2], -1);
    CU_ASSERT_EQUAL(s->line[0], 1);
    CU_ASSERT_EQUAL(s->first_invalid_line, s->line[2]);
    CU_ASSERT_PTR_NOT_NULL(strstr(s->first_invalid_reason, "valence 5"));
    /* aromaticity is perceived on the re-parsed molecule, even from a Kekule SDF */
    int arom = 0;
    for (int64_t k = 0; k < s->mols[1]->n_bonds; k++) arom += s->mols[1]->bonds[k].aromatic;
    CU_ASSERT_EQUAL(arom, 6);
    const sdg_mol *test[] = {s->mols[0]};
    sdg_mol_reference ref = {.n_test = 1, .test_mols = test};
    sdg_mol_metrics mm;
    CU_ASSERT_EQUAL(sdg_mol_metrics_compute(s, &ref, NULL, &mm), SDG_OK);
    CU_ASSERT_DOUBLE_EQUAL(mm.validity_wo_correction.value, 0.5, 1e-15);
    CU_ASSERT_PTR_NOT_NULL(strstr(mm.validity_wo_correction.protocol, "1 of 2 records"));
    sdg_mol_samples_free(s);
    /* a truncated SDF is an error naming the file */
    write_file("h.sdf", "\n  x\n\n  3  2  0\n", 16);
    CU_ASSERT_EQUAL(sdg_mol_samples_read(tmp_path("h.sdf"), &s), SDG_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "h.sdf"));
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sdegen-molmetrics-XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    static const sdg_test_case cases[] = {
        {"validity, uniqueness, novelty, types by hand", test_counts},
        {"SMILES files: header, flags, errors", test_smiles_files},
        {"SDF: data fields, invalid records, aromaticity", test_sdf},
        {NULL, NULL},
    };
    int rc = sdg_test_main("eval/mol_metrics", cases);
    const char *names[] = {"a.csv", "b.smi", "c.smi", "d.smi", "e.smi", "f.h5", "g.sdf", "h.sdf"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) unlink(tmp_path(names[i]));
    rmdir(tmpdir);
    return rc;
}
