/* Molecule files written by `sdegen sample` (io.h: sdg_mol_writer): the "sdegen-molecules"
 * HDF5 file reads back what was written (SMILES, atoms, bonds, flags, indices, run metadata);
 * .smi/.sdf appear only when complete; a sampling run stopped after k chunks leaves exactly
 * those chunks, and resuming it gives the same content as a run that never stopped (also after
 * a half-written chunk); resuming refuses other settings and foreign or damaged files. */
#include <hdf5.h>
#include <unistd.h>
#include "test_util.h"

static char dir[64];

static void tpath(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", dir, name); }

static bool exists(const char *p) { return access(p, F_OK) == 0; }

static sdg_mol_run test_run(int64_t requested, int64_t batch, uint64_t seed) {
    sdg_mol_run r = {.model = "tiny.h5", .dataset = "QM9", .sampler = "pc, 3 steps", .seed = seed,
                     .batch = batch, .threads = 2, .requested = requested};
    return r;
}

/* Records from SMILES (NULL = dropped), index i, valid_wo_correction = i % 2. */
static const char *const smiles_in[] = {"CCO", "c1ccccc1", "C[N+](C)(C)C", "FC(F)F", NULL, "O=C=O", "CC(=O)[O-]"};
enum { NREC = 7 };

static void make_records(sdg_mol_sample_record *recs) {
    for (int i = 0; i < NREC; i++) {
        recs[i] = (sdg_mol_sample_record){.index = i, .valid_wo_correction = i % 2};
        if (!smiles_in[i]) continue;
        sdg_mol *m = NULL;
        CU_ASSERT_FATAL(sdg_mol_from_smiles(smiles_in[i], &m) == SDG_OK);
        CU_ASSERT_FATAL(sdg_mol_finish(m, &recs[i].mol, &recs[i].smiles) == SDG_OK);
        sdg_mol_free(m);
    }
}

static void free_records(sdg_mol_sample_record *recs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        sdg_mol_free(recs[i].mol);
        free(recs[i].smiles);
    }
}

static int same_mol(const sdg_mol *a, const sdg_mol *b) {
    if (!a || !b) return a == b;
    if (a->n_atoms != b->n_atoms || a->n_bonds != b->n_bonds) return 0;
    for (int64_t i = 0; i < a->n_atoms; i++)
        if (a->atoms[i].z != b->atoms[i].z || a->atoms[i].charge != b->atoms[i].charge) return 0;
    for (int64_t k = 0; k < a->n_bonds; k++)
        if (a->bonds[k].i != b->bonds[k].i || a->bonds[k].j != b->bonds[k].j || a->bonds[k].order != b->bonds[k].order)
            return 0;
    return 1;
}

static void test_h5_round_trip(void) {
    char p[128];
    sdg_mol_sample_record recs[NREC];
    make_records(recs);
    tpath(p, sizeof p, "rt.h5");
    sdg_mol_run run = test_run(NREC, 3, 42);
    sdg_mol_writer *w = NULL;
    CU_ASSERT_FATAL(sdg_mol_writer_open(p, &run, &w) == SDG_OK);
    CU_ASSERT(sdg_mol_writer_append(w, recs, 3) == SDG_OK);
    CU_ASSERT(sdg_mol_writer_append(w, recs + 3, 3) == SDG_OK);
    CU_ASSERT(sdg_mol_writer_append(w, recs + 6, 1) == SDG_OK);
    CU_ASSERT(sdg_mol_writer_append(w, recs, 1) == SDG_ERR_INVALID);   /* more than requested */
    CU_ASSERT_FATAL(sdg_mol_writer_close(w) == SDG_OK);
    sdg_mol_file *f = NULL;
    CU_ASSERT_FATAL(sdg_mol_file_read(p, &f) == SDG_OK);
    CU_ASSERT_EQUAL(f->count, NREC);
    CU_ASSERT(f->complete);
    CU_ASSERT_STRING_EQUAL(f->model, "tiny.h5");
    CU_ASSERT_STRING_EQUAL(f->dataset, "QM9");
    CU_ASSERT_STRING_EQUAL(f->sampler, "pc, 3 steps");
    CU_ASSERT_STRING_EQUAL(f->version, sdg_version());
    CU_ASSERT(f->seed == 42 && f->batch == 3 && f->threads == 2 && f->requested == NREC);
    for (size_t i = 0; i < f->count; i++) {
        CU_ASSERT_EQUAL(f->index[i], (int64_t)i);
        CU_ASSERT_EQUAL(f->valid[i], recs[i].mol != NULL);
        CU_ASSERT_EQUAL(f->valid_wo_correction[i], (int)(i % 2));
        CU_ASSERT_STRING_EQUAL(f->smiles[i], recs[i].smiles ? recs[i].smiles : "");
        CU_ASSERT(same_mol(f->mols[i], recs[i].mol));
    }
    CU_ASSERT_EQUAL(f->mols[2]->atoms[1].charge, 1);   /* the N+ survived */
    sdg_mol_file_free(f);
    /* eval reads it: 7 records, 6 valid, the stored flags, the dataset */
    sdg_mol_samples *s = NULL;
    CU_ASSERT_FATAL(sdg_mol_samples_read(p, &s) == SDG_OK);
    CU_ASSERT(s->h5 && s->count == NREC && s->n_valid == NREC - 1 && s->requested == NREC);
    CU_ASSERT_STRING_EQUAL(s->dataset, "QM9");
    for (size_t i = 0; i < s->count; i++) CU_ASSERT_EQUAL(s->wo_correction[i], (int)(i % 2));
    sdg_mol_samples_free(s);
    unlink(p);
    free_records(recs, NREC);
}

static void test_text_files(void) {
    char p[128], part[140];
    sdg_mol_sample_record recs[NREC];
    make_records(recs);
    sdg_mol_run run = test_run(NREC, 4, 1);
    const char *names[] = {"t.smi", "t.sdf"};
    for (int k = 0; k < 2; k++) {
        tpath(p, sizeof p, names[k]);
        snprintf(part, sizeof part, "%s.part", p);
        sdg_mol_writer *w = NULL;
        CU_ASSERT_FATAL(sdg_mol_writer_open(p, &run, &w) == SDG_OK);
        CU_ASSERT(sdg_mol_writer_append(w, recs, 4) == SDG_OK);
        CU_ASSERT(exists(part) && !exists(p));
        CU_ASSERT(sdg_mol_writer_close(w) == SDG_ERR_INVALID);   /* 4 of 7: stays .part */
        CU_ASSERT(exists(part) && !exists(p));
        CU_ASSERT_FATAL(sdg_mol_writer_open(p, &run, &w) == SDG_OK);
        CU_ASSERT(sdg_mol_writer_append(w, recs, NREC) == SDG_OK);
        CU_ASSERT_FATAL(sdg_mol_writer_close(w) == SDG_OK);
        CU_ASSERT(!exists(part) && exists(p));
    }
    /* .smi: exactly "SMILES<TAB>index" per finished molecule */
    tpath(p, sizeof p, "t.smi");
    FILE *fp = fopen(p, "r");
    CU_ASSERT_FATAL(fp != NULL);
    char line[256];
    int k = 0;
    for (int i = 0; i < NREC; i++) {
        if (!recs[i].mol) continue;
        char want[256];
        snprintf(want, sizeof want, "%s\t%d\n", recs[i].smiles, i);
        CU_ASSERT(fgets(line, sizeof line, fp) && strcmp(line, want) == 0);
        k++;
    }
    CU_ASSERT(!fgets(line, sizeof line, fp));
    fclose(fp);
    unlink(p);
    /* .sdf: the finished molecules, in order, and the fields eval reads */
    tpath(p, sizeof p, "t.sdf");
    sdg_mol_list *l = NULL;
    CU_ASSERT_FATAL(sdg_mol_list_read_sdf(p, &l) == SDG_OK);
    CU_ASSERT_EQUAL(l->count, (size_t)k);
    for (size_t i = 0, j = 0; i < NREC; i++)
        if (recs[i].mol) CU_ASSERT(same_mol(l->mols[j++], recs[i].mol));
    sdg_mol_list_free(l);
    sdg_mol_samples *s = NULL;
    CU_ASSERT_FATAL(sdg_mol_samples_read(p, &s) == SDG_OK);
    CU_ASSERT_STRING_EQUAL(s->dataset, "QM9");
    CU_ASSERT_EQUAL(s->count, 6);               /* index 4 was dropped: records 4, 5 are 5, 6 */
    CU_ASSERT(s->wo_correction[2] == 0 && s->wo_correction[3] == 1 && s->wo_correction[4] == 1 &&
              s->wo_correction[5] == 0);
    sdg_mol_samples_free(s);
    unlink(p);
    /* an unknown extension, an unwritable path */
    CU_ASSERT(sdg_mol_writer_open("x.mol2", &run, &(sdg_mol_writer *){NULL}) == SDG_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "x.mol2: unknown molecule file extension"));
    CU_ASSERT(sdg_mol_writer_open("/nonexistent/dir/x.h5", &run, &(sdg_mol_writer *){NULL}) == SDG_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "/nonexistent/dir/x.h5"));
    free_records(recs, NREC);
}

/* ---- sampling, interrupted and resumed ---- */
typedef struct sink {
    sdg_mol_writer *w;
    int chunks, stop_after;
} sink;

static sdg_status to_file(sdg_mol_sample_record *recs, size_t count, void *ud) {
    sink *k = ud;
    if (k->stop_after && k->chunks == k->stop_after) return SDG_ERROR(SDG_ERR_INTERRUPTED, "stopped by the test");
    k->chunks++;
    return sdg_mol_writer_append(k->w, recs, count);
}

static sdg_gdss_model *tiny_model(sdg_gdss_flags *tab) {
    sdg_gdss_params hx, ha;
    sdg_gdss_settings st;
    sdg_gdss_model *m = NULL;
    sdg_rng *r = NULL;
    CU_ASSERT_FATAL(sdg_gdss_preset("qm9", &hx, &ha, &st, NULL) == SDG_OK);
    CU_ASSERT_FATAL(sdg_rng_new(7, &r) == SDG_OK);
    CU_ASSERT_FATAL(sdg_gdss_model_new(&hx, &ha, &st, r, &m) == SDG_OK);
    sdg_rng_free(r);
    float rows[2 * 9] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
    int64_t wt[2] = {3, 1};
    CU_ASSERT_FATAL(sdg_gdss_flags_init(tab, 9, 2, rows, wt) == SDG_OK);
    return m;
}

static void same_files(const char *a, const char *b) {
    sdg_mol_file *x = NULL, *y = NULL;
    CU_ASSERT_FATAL(sdg_mol_file_read(a, &x) == SDG_OK && sdg_mol_file_read(b, &y) == SDG_OK);
    CU_ASSERT_EQUAL(x->count, y->count);
    CU_ASSERT(x->complete && y->complete);
    size_t valid = 0;
    for (size_t i = 0; i < x->count && i < y->count; i++) {
        CU_ASSERT_EQUAL(x->index[i], y->index[i]);
        CU_ASSERT_EQUAL(x->valid[i], y->valid[i]);
        CU_ASSERT_EQUAL(x->valid_wo_correction[i], y->valid_wo_correction[i]);
        CU_ASSERT_STRING_EQUAL(x->smiles[i], y->smiles[i]);
        CU_ASSERT(same_mol(x->mols[i], y->mols[i]));
        valid += x->valid[i];
    }
    CU_ASSERT(valid > 0);   /* the comparison saw molecules */
    sdg_mol_file_free(x);
    sdg_mol_file_free(y);
}

static void test_interrupt_resume(void) {
    char full[128], cut[128];
    sdg_gdss_flags tab = {0};
    sdg_gdss_model *m = tiny_model(&tab);
    sdg_gdss_sample_params p = sdg_gdss_sample_default_params();
    p.n_steps = 3;
    p.batch = 2;
    p.seed = 5;
    p.flags = &tab;
    const size_t n = 7;
    sdg_mol_run run = test_run((int64_t)n, 2, 5);
    tpath(full, sizeof full, "full.h5");
    tpath(cut, sizeof cut, "cut.h5");
    /* uninterrupted */
    sink k = {0};
    CU_ASSERT_FATAL(sdg_mol_writer_open(full, &run, &k.w) == SDG_OK);
    CU_ASSERT_FATAL(sdg_mol_sample(m, &sdg_mol_vocab_qm9, &p, n, 0, to_file, &k, NULL) == SDG_OK);
    CU_ASSERT_EQUAL(k.chunks, 4);
    CU_ASSERT_FATAL(sdg_mol_writer_close(k.w) == SDG_OK);
    /* stopped after 2 chunks: a readable file with exactly 4 records, not complete */
    sink c = {.stop_after = 2};
    CU_ASSERT_FATAL(sdg_mol_writer_open(cut, &run, &c.w) == SDG_OK);
    CU_ASSERT(sdg_mol_sample(m, &sdg_mol_vocab_qm9, &p, n, 0, to_file, &c, NULL) == SDG_ERR_INTERRUPTED);
    sdg_mol_writer_free(c.w);
    sdg_mol_file *f = NULL;
    CU_ASSERT_FATAL(sdg_mol_file_read(cut, &f) == SDG_OK);
    CU_ASSERT_EQUAL(f->count, 4);
    CU_ASSERT(!f->complete);
    for (size_t i = 0; i < f->count; i++) CU_ASSERT_EQUAL(f->index[i], (int64_t)i);
    sdg_mol_file_free(f);
    /* a half-written third chunk (rows past count, as a kill mid-chunk leaves) */
    hid_t h = H5Fopen(cut, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = H5Dopen2(h, "/index", H5P_DEFAULT);
    hsize_t ext = 5;
    CU_ASSERT(h >= 0 && d >= 0 && H5Dset_extent(d, &ext) >= 0);
    H5Dclose(d);
    H5Fclose(h);
    /* other settings are refused, naming what differs */
    sdg_mol_writer *w = NULL;
    size_t done = 99;
    sdg_mol_run other = test_run((int64_t)n, 2, 6);
    CU_ASSERT(sdg_mol_writer_resume(cut, &other, &w, &done) == SDG_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "seed is 5, this run's 6"));
    other = test_run((int64_t)n, 3, 5);
    CU_ASSERT(sdg_mol_writer_resume(cut, &other, &w, &done) == SDG_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "batch is 2, this run's 3"));
    other = test_run((int64_t)n, 2, 5);
    other.sampler = "s4";
    CU_ASSERT(sdg_mol_writer_resume(cut, &other, &w, &done) == SDG_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "sampler"));
    /* resumed: the rest, then the same content as the uninterrupted run */
    sink r = {0};
    CU_ASSERT_FATAL(sdg_mol_writer_resume(cut, &run, &r.w, &done) == SDG_OK);
    CU_ASSERT_EQUAL(done, 4);
    CU_ASSERT_FATAL(sdg_mol_sample(m, &sdg_mol_vocab_qm9, &p, n, done, to_file, &r, NULL) == SDG_OK);
    CU_ASSERT_EQUAL(r.chunks, 2);
    CU_ASSERT_FATAL(sdg_mol_writer_close(r.w) == SDG_OK);
    same_files(full, cut);
    /* a resumed run that is already complete adds nothing */
    CU_ASSERT_FATAL(sdg_mol_writer_resume(cut, &run, &w, &done) == SDG_OK);
    CU_ASSERT_EQUAL(done, n);
    CU_ASSERT_FATAL(sdg_mol_writer_close(w) == SDG_OK);
    same_files(full, cut);
    unlink(full);
    unlink(cut);
    sdg_gdss_flags_destroy(&tab);
    sdg_gdss_model_free(m);
}

static void test_bad_resume(void) {
    char p[128];
    sdg_mol_writer *w = NULL;
    size_t done = 0;
    sdg_mol_run run = test_run(4, 2, 0);
    tpath(p, sizeof p, "text.h5");   /* not HDF5 */
    FILE *f = fopen(p, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("CCO\t0\n", f);
    fclose(f);
    CU_ASSERT(sdg_mol_writer_resume(p, &run, &w, &done) == SDG_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "text.h5: not an HDF5 file"));
    CU_ASSERT(sdg_mol_file_read(p, &(sdg_mol_file *){NULL}) == SDG_ERR_FORMAT);
    unlink(p);
    tpath(p, sizeof p, "graphs.h5");   /* another sdegen format */
    sdg_graph_writer *gw = NULL;
    sdg_graph_list *gl = NULL;
    CU_ASSERT_FATAL(sdg_graph_list_new(1, &gl) == SDG_OK && sdg_graph_writer_open(p, 1, &gw) == SDG_OK);
    CU_ASSERT_FATAL(sdg_graph_writer_append(gw, gl) == SDG_OK && sdg_graph_writer_close(gw) == SDG_OK);
    sdg_graph_list_free(gl);
    CU_ASSERT(sdg_mol_writer_resume(p, &run, &w, &done) == SDG_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "sdegen_format is 'sdegen-graphs', expected 'sdegen-molecules'"));
    unlink(p);
    tpath(p, sizeof p, "none.h5");
    CU_ASSERT(sdg_mol_writer_resume(p, &run, &w, &done) == SDG_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "none.h5: cannot open"));
    tpath(p, sizeof p, "x.sdf");
    CU_ASSERT(sdg_mol_writer_resume(p, &run, &w, &done) == SDG_ERR_INVALID);
    CU_ASSERT_PTR_NULL(w);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/sdegen-mf-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    const sdg_test_case cases[] = {
        {"HDF5: round trip of SMILES, atoms, bonds, flags and metadata", test_h5_round_trip},
        {"SMILES and SDF: published only when complete, read back", test_text_files},
        {"sampling stopped after 2 chunks, then resumed = uninterrupted", test_interrupt_resume},
        {"resume refuses foreign, damaged and missing files", test_bad_resume},
        {NULL, NULL},
    };
    int rc = sdg_test_main("io-mol-files", cases);
    rmdir(dir);
    return rc;
}
