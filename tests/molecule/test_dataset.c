/* QM9 and ZINC250k: row and split counts against data/README.md, bad rows skipped and
 * counted, node-count distribution and flags, and the encode -> decode round trip. */
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define SDG_SLOW_BUILD 1   /* under the sanitizers: a sample of QM9 only */
#else
#define SDG_SLOW_BUILD 0
#endif

static const char *data_dir;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static bool charged(const sdg_mol *m) {
    for (int64_t i = 0; i < m->n_atoms; i++)
        if (m->atoms[i].charge) return true;
    return false;
}

/* Encode -> decode -> finish every training molecule (every stride-th); compares canonical
 * SMILES with the dataset's. Returns the mismatch count; splits it by charged originals. */
static size_t round_trip(const sdg_mol_dataset *d, size_t stride, size_t *tried, size_t *bad_neutral,
                         size_t *n_charged, size_t *bad_charged, size_t *invalid) {
    const sdg_mol_vocab *v = d->vocab;
    float *X = malloc((size_t)(v->N * v->F) * sizeof *X), *A = malloc((size_t)(v->N * v->N) * sizeof *A);
    size_t bad = 0, shown = 0;
    *tried = *bad_neutral = *n_charged = *bad_charged = *invalid = 0;
    for (size_t t = 0; t < d->n_train; t += stride) {
        const sdg_mol *m = d->mols[d->train[t]];
        sdg_mol *dec = NULL;
        char *got = NULL;
        bool valid = false, ch = charged(m);
        (*tried)++;
        *n_charged += ch;
        CU_ASSERT_EQUAL_FATAL(sdg_mol_encode(m, v, X, A), SDG_OK);
        CU_ASSERT_EQUAL_FATAL(sdg_mol_decode(X, A, v, &dec, &valid), SDG_OK);
        *invalid += !valid;
        CU_ASSERT_EQUAL(sdg_mol_finish(dec, NULL, &got), SDG_OK);
        if (!got || strcmp(got, d->smiles[d->train[t]]) != 0) {
            bad++;
            if (ch) (*bad_charged)++;
            else (*bad_neutral)++;
            if (!ch && shown++ < 8)
                printf("  neutral mismatch row %lld: %s -> %s\n", (long long)d->row[d->train[t]],
                       d->smiles[d->train[t]], got ? got : "(dropped)");
        }
        free(got);
        sdg_mol_free(dec);
    }
    free(X);
    free(A);
    return bad;
}

static void test_qm9(void) {
    sdg_mol_dataset_params p = sdg_mol_dataset_default_params();
    if (SDG_SLOW_BUILD) p.max_rows = 4000;
    sdg_mol_dataset *d = NULL;
    double t0 = now();
    CU_ASSERT_EQUAL_FATAL(sdg_mol_dataset_load(data_dir, "qm9", &p, &d), SDG_OK);
    double t1 = now();
    printf("\n  qm9: %zu rows, %zu kept (%zu train, %zu test), %zu malformed, %zu too large; "
           "load %.2f s\n", d->n_rows, d->count, d->n_train, d->n_test, d->n_malformed,
           d->n_too_large, t1 - t0);
    CU_ASSERT_EQUAL(d->n_rows, 133885);
    CU_ASSERT_EQUAL(d->n_test_rows, 13082);
    CU_ASSERT_EQUAL(d->count + d->n_malformed + d->n_too_large, p.max_rows ? p.max_rows : d->n_rows);
    CU_ASSERT_EQUAL(d->n_train + d->n_test, d->count);
    if (!p.max_rows) {
        CU_ASSERT_EQUAL(d->count, 133885);   /* every QM9 row parses and fits */
        CU_ASSERT_EQUAL(d->n_test, 13082);
    }
    CU_ASSERT_STRING_EQUAL(d->smiles[0], "C");   /* gdb_1, methane */
    CU_ASSERT_EQUAL(d->row[0], 0);
    /* node counts of the training set: one-atom molecules have no flagged node */
    int64_t hist[10];
    CU_ASSERT_EQUAL(sdg_mol_dataset_node_counts(d, hist, 9), SDG_ERR_INVALID);
    CU_ASSERT_EQUAL(sdg_mol_dataset_node_counts(d, hist, 10), SDG_OK);
    int64_t sum = 0, one_atom = 0;
    for (int k = 0; k < 10; k++) sum += hist[k];
    for (size_t t = 0; t < d->n_train; t++) one_atom += d->mols[d->train[t]]->n_atoms == 1;
    CU_ASSERT_EQUAL(sum, (int64_t)d->n_train);
    CU_ASSERT_EQUAL(hist[0], one_atom);
    CU_ASSERT_EQUAL(hist[1], 0);
    if (!p.max_rows) CU_ASSERT(hist[9] > 100000);   /* most QM9 molecules have 9 heavy atoms */
    printf("  qm9 train node counts:");
    for (int k = 0; k < 10; k++) printf(" %lld", (long long)hist[k]);
    printf("\n");
    /* flags: prefixes, reproducible from the seed, counts follow the histogram */
    enum { B = 2000 };
    float *f1 = malloc(B * 9 * sizeof *f1), *f2 = malloc(B * 9 * sizeof *f2);
    sdg_rng *r = NULL;
    sdg_rng_new(7, &r);
    CU_ASSERT_EQUAL(sdg_mol_dataset_flags(d, r, B, f1), SDG_OK);
    sdg_rng_reset(r, 7, 0);
    CU_ASSERT_EQUAL(sdg_mol_dataset_flags(d, r, B, f2), SDG_OK);
    CU_ASSERT_EQUAL(memcmp(f1, f2, B * 9 * sizeof *f1), 0);
    int64_t drawn[10] = {0};
    for (int b = 0; b < B; b++) {
        int n = 0;
        for (int i = 0; i < 9; i++) {
            CU_ASSERT(f1[b * 9 + i] == 0.0f || f1[b * 9 + i] == 1.0f);
            if (i && f1[b * 9 + i] > f1[b * 9 + i - 1]) CU_FAIL("flags are not a prefix");
            n += f1[b * 9 + i] != 0.0f;
        }
        drawn[n]++;
    }
    if (!p.max_rows) {   /* 9-atom share within 4 sigma of the histogram's */
        double pw = (double)hist[9] / (double)sum, got = (double)drawn[9] / B;
        CU_ASSERT(fabs(got - pw) < 4 * sqrt(pw * (1 - pw) / B));
    }
    sdg_rng_free(r);
    free(f1);
    free(f2);
    /* dense batch = per-molecule encoding */
    size_t idx[2] = {d->train[5], d->test[0]};
    float X[2 * 9 * 4], A[2 * 9 * 9], x1[9 * 4], a1[9 * 9];
    CU_ASSERT_EQUAL(sdg_mol_dataset_dense(d, idx, 2, X, A), SDG_OK);
    sdg_mol_encode(d->mols[idx[1]], d->vocab, x1, a1);
    CU_ASSERT_EQUAL(memcmp(X + 36, x1, sizeof x1), 0);
    CU_ASSERT_EQUAL(memcmp(A + 81, a1, sizeof a1), 0);
    idx[1] = d->count;
    CU_ASSERT_EQUAL(sdg_mol_dataset_dense(d, idx, 2, X, A), SDG_ERR_INVALID);
    /* the round trip over every training molecule */
    size_t tried, badn, nch, badc, inval;
    t0 = now();
    size_t bad = round_trip(d, 1, &tried, &badn, &nch, &badc, &inval);
    t1 = now();
    printf("  qm9 round trip: %zu of %zu training molecules identical (%.3f %%); %zu valid without "
           "correction (%.3f %%); neutral: %zu of %zu differ; charged: %zu of %zu differ; %.2f s\n",
           tried - bad, tried, 100.0 * (double)(tried - bad) / (double)tried, tried - inval,
           100.0 * (double)(tried - inval) / (double)tried, badn, tried - nch, badc, nch, t1 - t0);
    CU_ASSERT(badn * 1000 <= (tried - nch));                 /* neutral: >= 99.9 %        */
    CU_ASSERT((tried - bad) * 1000 >= 985 * tried);          /* overall: >= 98.5 %        */
    sdg_mol_dataset_free(d);
}

static void test_zinc(void) {
    sdg_mol_dataset_params p = sdg_mol_dataset_default_params();
    p.max_rows = SDG_SLOW_BUILD ? 300 : 3000;
    sdg_mol_dataset *d = NULL;
    double t0 = now();
    CU_ASSERT_EQUAL_FATAL(sdg_mol_dataset_load(data_dir, "zinc250k", &p, &d), SDG_OK);
    double t1 = now();
    printf("\n  zinc250k: %zu rows, %zu test rows; first %zu parsed: %zu kept (%zu train, %zu test), "
           "%zu malformed, %zu too large; %.2f s\n", d->n_rows, d->n_test_rows, p.max_rows,
           d->count, d->n_train, d->n_test, d->n_malformed, d->n_too_large, t1 - t0);
    CU_ASSERT_EQUAL(d->n_rows, 249455);
    CU_ASSERT_EQUAL(d->n_test_rows, 24887);
    CU_ASSERT_EQUAL(d->count, p.max_rows);
    /* rows 2, 10, 21, 27 ... are test rows (valid_idx_zinc250k.json starts so) */
    CU_ASSERT_EQUAL(d->row[d->test[0]], 2);
    CU_ASSERT_EQUAL(d->row[d->test[1]], 10);
    for (size_t k = 0; k < d->count; k++) CU_ASSERT(d->mols[k]->n_atoms <= 38);
    size_t tried, badn, nch, badc, inval;
    t0 = now();
    size_t bad = round_trip(d, 1, &tried, &badn, &nch, &badc, &inval);
    t1 = now();
    printf("  zinc250k round trip: %zu of %zu identical (%.2f %%); neutral: %zu of %zu differ; "
           "charged: %zu of %zu differ; %zu invalid without correction; %.2f s\n", tried - bad, tried,
           100.0 * (double)(tried - bad) / (double)tried, badn, tried - nch, badc, nch, inval, t1 - t0);
    CU_ASSERT(badn * 1000 <= (tried - nch));   /* neutral: >= 99.9 % */
    sdg_mol_dataset_free(d);
}

/* A small data directory with broken rows: they are counted, never fatal. */
static void test_bad_rows(void) {
    char dir[] = "/tmp/sdg_moldata_XXXXXX", path[256];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/qm9", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/qm9/qm9_smiles.csv", dir);
    FILE *f = fopen(path, "w");
    fputs("smiles\nCCO\nC1CC\nxyz(\n\nCCCCCCCCCC\nc1ccccc1Cl\nO=C=O\nC(\n*C\nC(C)(C)(C)(C)C\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/qm9/valid_idx_qm9.json", dir);
    f = fopen(path, "w");
    fputs("{\"valid_idxs\": [\"000006\", \"000000\"]}\n", f);
    fclose(f);
    sdg_mol_dataset *d = NULL;
    CU_ASSERT_EQUAL_FATAL(sdg_mol_dataset_load(dir, "qm9", NULL, &d), SDG_OK);
    CU_ASSERT_EQUAL(d->n_rows, 10);
    CU_ASSERT_EQUAL(d->count, 2);          /* CCO, O=C=O                                  */
    CU_ASSERT_EQUAL(d->n_malformed, 6);    /* C1CC, xyz(, empty, C(, *C, pentavalent C    */
    CU_ASSERT_EQUAL(d->n_too_large, 2);    /* 10 carbons; Cl is not a QM9 type            */
    CU_ASSERT_EQUAL(d->n_test, 2);
    CU_ASSERT_EQUAL(d->n_train, 0);
    CU_ASSERT_EQUAL(d->row[1], 6);
    int64_t hist[10];
    CU_ASSERT_EQUAL(sdg_mol_dataset_node_counts(d, hist, 10), SDG_OK);
    sdg_rng *r = NULL;
    sdg_rng_new(1, &r);
    float fl[9];
    CU_ASSERT_EQUAL(sdg_mol_dataset_flags(d, r, 1, fl), SDG_ERR_INVALID);   /* no training set */
    sdg_rng_free(r);
    sdg_mol_dataset_free(d);
    /* an index past the end of the file is a format error naming the file */
    f = fopen(path, "w");
    fputs("{\"valid_idxs\": [\"000010\"]}\n", f);
    fclose(f);
    d = NULL;
    CU_ASSERT_EQUAL(sdg_mol_dataset_load(dir, "qm9", NULL, &d), SDG_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "valid_idx_qm9.json"));
    CU_ASSERT_PTR_NULL(d);
    CU_ASSERT_EQUAL(sdg_mol_dataset_load(dir, "qm10", NULL, &d), SDG_ERR_NOTFOUND);
    CU_ASSERT_EQUAL(sdg_mol_dataset_load(dir, "zinc250k", NULL, &d), SDG_ERR_IO);
    unlink(path);
    snprintf(path, sizeof path, "%s/qm9/qm9_smiles.csv", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/qm9", dir);
    rmdir(path);
    rmdir(dir);
}

int main(void) {
    data_dir = sdg_test_data_dir("qm9/qm9_smiles.csv");
    if (!data_dir) return 77;
    static const sdg_test_case cases[] = {
        {"bad_rows", test_bad_rows},
        {"qm9", test_qm9},
        {"zinc250k", test_zinc},
        {NULL, NULL}};
    return sdg_test_main("molecule/dataset", cases);
}
