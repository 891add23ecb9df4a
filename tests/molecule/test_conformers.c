/* More QM9 conformers (molecule.h "more QM9 conformers") and the 3-D dataset's extra SDF:
 * built records read back with the SMILES's atoms, hydrogens and bonds; a truncated cache is
 * scanned to its last complete record and rebuilding the rest gives the same records (titles,
 * the same atoms, bonds and fields: Open Babel's builder seeds rand() from the clock, so the
 * coordinates are not reproducible); the original records' splits are the same with an extra file;
 * a gdb_k of the extra file already in the original is an error naming both. Needs
 * $SDEGEN_DATA (the shared data); exit 77 without it. */
#include <unistd.h>
#include "test_util.h"

#define N_BUILD 5
#define SEED    7

static const char *data_dir;
static char dir[64], cache[128];
static sdg_qm9_todo *todo;

static int write_records(const char *path, const char *mode, size_t from, size_t to) {
    FILE *f = fopen(path, mode);
    if (!f) return 1;
    int bad = 0;
    sdg_embed_params ep = sdg_embed_default_params();
    for (size_t i = from; i < to && !bad; i++) {
        sdg_mol *m = NULL;
        bad = sdg_qm9_conformer_build(todo->smiles[i], todo->gdb[i], SEED, &ep, &m) != SDG_OK ||
              sdg_qm9_conformer_write(f, m, SEED, &ep) != SDG_OK;
        sdg_mol_free(m);
    }
    fclose(f);
    return bad;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); b = NULL; }
    if (b) b[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* The same records up to coordinates: titles, atoms, charges, bonds and orders. */
static bool same_records(const char *a, const char *b) {
    sdg_mol_list *la = NULL, *lb = NULL;
    bool same = sdg_mol_list_read_sdf(a, &la) == SDG_OK && sdg_mol_list_read_sdf(b, &lb) == SDG_OK &&
                la->count == lb->count;
    for (size_t r = 0; same && r < la->count; r++) {
        const sdg_mol *x = la->mols[r], *y = lb->mols[r];
        same = strcmp(x->name, y->name) == 0 && x->n_atoms == y->n_atoms && x->n_bonds == y->n_bonds;
        for (int64_t i = 0; same && i < x->n_atoms; i++)
            same = x->atoms[i].z == y->atoms[i].z && x->atoms[i].charge == y->atoms[i].charge;
        for (int64_t k = 0; same && k < x->n_bonds; k++)
            same = x->bonds[k].i == y->bonds[k].i && x->bonds[k].j == y->bonds[k].j &&
                   x->bonds[k].order == y->bonds[k].order;
    }
    sdg_mol_list_free(la);
    sdg_mol_list_free(lb);
    return same;
}

static void test_todo(void) {
    CU_ASSERT_FATAL(todo != NULL);
    CU_ASSERT(todo->n_valued == 17386);   /* data README section 1: the union of the two CSVs */
    CU_ASSERT(todo->count > 4000);
    for (size_t i = 0; i < todo->count; i++) {
        CU_ASSERT(todo->propmolflow_a[i]);   /* the generator part only */
        if (i) CU_ASSERT(todo->gdb[i] > todo->gdb[i - 1]);
    }
    sdg_qm9_todo *all = NULL;
    CU_ASSERT_FATAL(sdg_qm9_todo_load(data_dir, SDG_QM9_PART_ALL, &all) == SDG_OK);
    CU_ASSERT(all->count > todo->count);
    for (size_t i = 0; i < todo->count; i++) CU_ASSERT(all->gdb[i] == todo->gdb[i]);   /* generator part first */
    for (size_t i = todo->count; i < all->count; i++) CU_ASSERT(!all->propmolflow_a[i]);
    sdg_qm9_todo_free(all);
    CU_ASSERT(sdg_qm9_todo_load(data_dir, 0, &all) == SDG_ERR_INVALID);
    CU_ASSERT(sdg_qm9_todo_load("/nonexistent", SDG_QM9_PART_ALL, &all) == SDG_ERR_IO);
}

/* The unvalued part: 34,258 molecules, counted independently (Python over the same files):
 * rows of train_a with no value in either property CSV, no 3-D record, not a test row and not in
 * qm9_uncharacterized.txt. With the valued parts they come last, after the regressor's part. */
static void test_todo_unvalued(void) {
    sdg_qm9_todo *u = NULL, *all = NULL, *valued = NULL;
    CU_ASSERT_FATAL(sdg_qm9_todo_load(data_dir, SDG_QM9_PART_UNVALUED, &u) == SDG_OK);
    CU_ASSERT(u->count == 34258);
    CU_ASSERT(u->n_unvalued == u->count);
    for (size_t i = 0; i < u->count; i++) {
        CU_ASSERT(u->propmolflow_a[i]);
        if (i) CU_ASSERT(u->gdb[i] > u->gdb[i - 1]);
    }
    CU_ASSERT(u->gdb[0] == 4);   /* gdb_1..3 (CH4, NH3, H2O) have values or are test rows */
    CU_ASSERT(strcmp(u->smiles[0], "C#C") == 0);
    CU_ASSERT_FATAL(sdg_qm9_todo_load(data_dir, SDG_QM9_PART_ALL | SDG_QM9_PART_UNVALUED, &all) == SDG_OK);
    CU_ASSERT_FATAL(sdg_qm9_todo_load(data_dir, SDG_QM9_PART_ALL, &valued) == SDG_OK);
    CU_ASSERT(valued->n_unvalued == 0);
    CU_ASSERT_FATAL(all->count == valued->count + u->count);   /* generator, regressor, then unvalued */
    for (size_t i = 0; i < valued->count; i++) CU_ASSERT(all->gdb[i] == valued->gdb[i]);
    for (size_t i = 0; i < u->count; i++) CU_ASSERT(all->gdb[valued->count + i] == u->gdb[i]);
    CU_ASSERT(all->n_unvalued == u->count);
    sdg_qm9_todo_free(u);
    sdg_qm9_todo_free(all);
    sdg_qm9_todo_free(valued);
    CU_ASSERT(sdg_qm9_todo_load(data_dir, 8, &all) == SDG_ERR_INVALID);
}

/* Records read back: heavy atoms in SMILES order with their H count as explicit H, the
 * SMILES's heavy-atom bonds (pairs), each heavy atom's valence, the run's data fields. */
static void test_build_read_back(void) {
    CU_ASSERT_FATAL(write_records(cache, "w", 0, N_BUILD) == 0);
    sdg_mol_list *l = NULL;
    CU_ASSERT_FATAL(sdg_mol_list_read_sdf(cache, &l) == SDG_OK);
    CU_ASSERT_FATAL(l->count == N_BUILD);
    for (size_t r = 0; r < N_BUILD; r++) {
        sdg_mol *s = NULL, *m = l->mols[r];
        CU_ASSERT_FATAL(sdg_mol_from_smiles(todo->smiles[r], &s) == SDG_OK);
        char title[32];
        snprintf(title, sizeof title, "gdb_%lld", (long long)todo->gdb[r]);
        CU_ASSERT_STRING_EQUAL(m->name, title);
        CU_ASSERT(m->dim == 3);
        int64_t nh = 0;
        for (int64_t i = 0; i < s->n_atoms; i++) {
            int h = 0;
            sdg_mol_hcount(s, i, &h);
            nh += h;
        }
        CU_ASSERT(m->n_atoms == s->n_atoms + nh);
        CU_ASSERT(m->n_bonds == s->n_bonds + nh);
        for (int64_t i = 0; i < s->n_atoms && i < m->n_atoms; i++) {
            CU_ASSERT(m->atoms[i].z == s->atoms[i].z);
            CU_ASSERT(m->atoms[i].charge == s->atoms[i].charge);
            int vs = 0, vm = 0, h = 0;
            sdg_mol_valence(s, i, &vs);
            sdg_mol_hcount(s, i, &h);
            sdg_mol_valence(m, i, &vm);
            CU_ASSERT(vm == vs + h);
        }
        for (int64_t i = s->n_atoms; i < m->n_atoms; i++) CU_ASSERT(m->atoms[i].z == 1);
        for (int64_t k = 0; k < s->n_bonds; k++) {
            int64_t b = -1;
            sdg_mol_find_bond(m, s->bonds[k].i, s->bonds[k].j, &b);
            CU_ASSERT(b >= 0);
        }
        sdg_mol_free(s);
    }
    sdg_mol_list_free(l);
    const char *names[] = {"seed", "steps", "sdegen_format_version"};
    double *v = NULL;
    size_t count = 0;
    CU_ASSERT_FATAL(sdg_mol_list_read_sdf_fields(cache, names, 3, &v, &count) == SDG_OK);
    CU_ASSERT(count == N_BUILD);
    for (size_t r = 0; r < count; r++) {
        CU_ASSERT(v[3 * r] == SEED);
        CU_ASSERT(v[3 * r + 1] == sdg_embed_default_params().steps);
        CU_ASSERT(v[3 * r + 2] == SDG_CONFORMERS_FORMAT_VERSION);
    }
    free(v);
}

/* Cut the cache in the middle of record 4: the scan keeps 3 and names record 4; appending
 * records 4..5 after the cut gives the same records (up to coordinates: see the top). */
static void test_truncate_resume(void) {
    size_t len = 0, len2 = 0;
    char *a = slurp(cache, &len);
    CU_ASSERT_FATAL(a != NULL);
    const char *p = a;
    for (int k = 0; k < 3; k++) p = strstr(p, "$$$$\n") + 5;
    size_t cut = (size_t)(p - a) + 200;
    char path[160];
    snprintf(path, sizeof path, "%s/cut.sdf", dir);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f && fwrite(a, 1, cut, f) == cut);
    fclose(f);
    sdg_conformer_cache *c = NULL;
    CU_ASSERT_FATAL(sdg_conformer_cache_scan(path, NULL, &c) == SDG_OK);
    CU_ASSERT(c->count == 3);
    CU_ASSERT(c->complete_bytes == (long long)(p - a));
    char title[32];
    snprintf(title, sizeof title, "gdb_%lld", (long long)todo->gdb[3]);
    CU_ASSERT(c->truncated && strcmp(c->truncated, title) == 0);
    CU_ASSERT(c->has_run && c->seed == SEED && c->jitter == sdg_embed_default_params().jitter);
    for (size_t i = 0; i < 3; i++) CU_ASSERT(c->gdb[i] == todo->gdb[i]);
    CU_ASSERT(truncate(path, (off_t)c->complete_bytes) == 0);
    sdg_conformer_cache_free(c);
    CU_ASSERT_FATAL(write_records(path, "ab", 3, N_BUILD) == 0);
    char *b = slurp(path, &len2);
    CU_ASSERT_FATAL(b != NULL);
    CU_ASSERT(memcmp(a, b, (size_t)(p - a)) == 0);   /* the kept part is untouched */
    CU_ASSERT(same_records(cache, path));
    free(b);
    /* a record of another format version, a failures file with a bad line */
    char *v = strstr(a, "> <sdegen_format_version>\n1\n");
    CU_ASSERT_FATAL(v != NULL);
    v[strlen("> <sdegen_format_version>\n")] = '2';
    f = fopen(path, "wb");
    fwrite(a, 1, len, f);
    fclose(f);
    CU_ASSERT(sdg_conformer_cache_scan(path, NULL, &c) == SDG_ERR_VERSION);
    CU_ASSERT(strstr(sdg_errmsg(), "version 2") != NULL);
    char failed[200];
    snprintf(failed, sizeof failed, "%s.failed", cache);
    f = fopen(failed, "w");
    fprintf(f, "%s\ngdb_12\tbuilder failed\nnot an id\n", SDG_CONFORMERS_FAILED_HEADER);
    fclose(f);
    CU_ASSERT(sdg_conformer_cache_scan(cache, failed, &c) == SDG_ERR_FORMAT);
    CU_ASSERT(strstr(sdg_errmsg(), "line 3") != NULL);
    f = fopen(failed, "w");
    fprintf(f, "%s\ngdb_12\tbuilder failed\ngdb_1", SDG_CONFORMERS_FAILED_HEADER);   /* partial last line */
    fclose(f);
    CU_ASSERT_FATAL(sdg_conformer_cache_scan(cache, failed, &c) == SDG_OK);
    CU_ASSERT(c->count == N_BUILD && c->n_failed == 1 && c->failed[0] == 12 && !c->truncated);
    sdg_conformer_cache_free(c);
    unlink(failed);
    free(a);
}

/* The original's records keep gdb, split and properties; the extra records follow with their
 * own split rule, properties and train_a flags; the regressor's split of the originals too. */
static void test_split_unchanged(void) {
    sdg_mol3d_dataset *d0 = NULL, *d1 = NULL;
    sdg_mol3d_dataset_params p = sdg_mol3d_dataset_default_params();
    CU_ASSERT_FATAL(sdg_mol3d_dataset_load(data_dir, "qm9_conformers", &p, &d0) == SDG_OK);
    p.extra_sdf = cache;
    CU_ASSERT_FATAL(sdg_mol3d_dataset_load(data_dir, "qm9_conformers", &p, &d1) == SDG_OK);
    CU_ASSERT_FATAL(d1->count == d0->count + N_BUILD && d1->n_extra == N_BUILD && d0->n_extra == 0);
    uint8_t *s0 = malloc(d0->count), *s1 = malloc(d1->count);
    CU_ASSERT_FATAL(sdg_prop3d_split(d0, 42, s0) == SDG_OK && sdg_prop3d_split(d1, 42, s1) == SDG_OK);
    size_t same = 0;
    for (size_t i = 0; i < d0->count; i++)
        same += d0->gdb[i] == d1->gdb[i] && d0->split[i] == d1->split[i] && s0[i] == s1[i] &&
                d0->propmolflow_a[i] == d1->propmolflow_a[i] && d0->mols[i]->n_atoms == d1->mols[i]->n_atoms;
    CU_ASSERT(same == d0->count);
    for (int k = 0; k < 3; k++) CU_ASSERT(d1->n_split[k] >= d0->n_split[k]);
    sdg_rng *rng = NULL;
    sdg_rng_new(1, &rng);
    for (size_t r = 0; r < N_BUILD; r++) {
        size_t i = d0->count + r;
        CU_ASSERT(d1->gdb[i] == todo->gdb[r]);
        CU_ASSERT(d1->propmolflow_a[i]);
        CU_ASSERT(!isnan(d1->props[i * SDG_QM9_PROP_COUNT + SDG_QM9_PROP_GAP]));
        sdg_rng_reset(rng, p.seed, (uint64_t)d1->gdb[i]);
        int want = d1->split[i] == SDG_MOL3D_SPLIT_TEST ? SDG_MOL3D_SPLIT_TEST
                   : sdg_rng_uniform(rng) < p.val_fraction ? SDG_MOL3D_SPLIT_VAL
                                                           : SDG_MOL3D_SPLIT_TRAIN;
        CU_ASSERT(d1->split[i] == want);
    }
    sdg_rng_free(rng);
    free(s0);
    free(s1);
    sdg_mol3d_dataset_free(d0);
    sdg_mol3d_dataset_free(d1);
}

/* An extra record titled like a record of the shipped file, and one repeated inside the extra
 * file: SDG_ERR_FORMAT naming the file and record (and the original's record). */
static void test_duplicate(void) {
    char path[160], orig[1024];
    snprintf(path, sizeof path, "%s/dup.sdf", dir);
    snprintf(orig, sizeof orig, "%s/qm9/qm9_3d_conformers.sdf", data_dir);
    size_t la = 0, lo = 0;
    char *a = slurp(cache, &la), *o = slurp(orig, &lo);
    CU_ASSERT_FATAL(a && o);
    char *end = strstr(o, "$$$$\n") + 5;   /* the shipped file's record 1 */
    FILE *f = fopen(path, "wb");
    fwrite(a, 1, la, f);
    fwrite(o, 1, (size_t)(end - o), f);
    fclose(f);
    sdg_mol3d_dataset *d = NULL;
    sdg_mol3d_dataset_params p = sdg_mol3d_dataset_default_params();
    p.extra_sdf = path;
    CU_ASSERT(sdg_mol3d_dataset_load(data_dir, "qm9_conformers", &p, &d) == SDG_ERR_FORMAT);
    char want[64];
    snprintf(want, sizeof want, "record %d: gdb_", N_BUILD + 1);
    CU_ASSERT(strstr(sdg_errmsg(), "dup.sdf") && strstr(sdg_errmsg(), want) &&
              strstr(sdg_errmsg(), "already record 1 of") && strstr(sdg_errmsg(), "qm9_3d_conformers.sdf"));
    p.max_records = 100;   /* the original's records past max_records count too */
    CU_ASSERT(sdg_mol3d_dataset_load(data_dir, "qm9_conformers", &p, &d) == SDG_ERR_FORMAT);
    f = fopen(path, "wb");
    fwrite(a, 1, la, f);
    fwrite(a, 1, la, f);
    fclose(f);
    CU_ASSERT(sdg_mol3d_dataset_load(data_dir, "qm9_conformers", &p, &d) == SDG_ERR_FORMAT);
    CU_ASSERT(strstr(sdg_errmsg(), "appears twice") != NULL);
    CU_ASSERT(sdg_mol3d_dataset_load(data_dir, "qm9_dft", &p, &d) == SDG_ERR_INVALID);
    CU_ASSERT(d == NULL);
    free(a);
    free(o);
}

int main(void) {
    data_dir = sdg_test_data_dir("qm9/qm9_3d_conformers.sdf");
    if (!data_dir) return 77;
    snprintf(dir, sizeof dir, "/tmp/sdegen-conf-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    snprintf(cache, sizeof cache, "%s/c.sdf", dir);
    if (sdg_init() != SDG_OK || sdg_qm9_todo_load(data_dir, SDG_QM9_PART_GENERATOR, &todo) != SDG_OK) {
        printf("todo: %s\n", sdg_errmsg());
        return 1;
    }
    static const sdg_test_case cases[] = {
        {"valued molecules without 3-D records", test_todo},
        {"unvalued train_a molecules without 3-D records", test_todo_unvalued},
        {"built records read back as their SMILES", test_build_read_back},
        {"truncated cache: scan, resume, same records", test_truncate_resume},
        {"original splits unchanged with an extra SDF", test_split_unchanged},
        {"duplicate gdb id in the extra SDF", test_duplicate},
        {NULL, NULL}};
    int rc = sdg_test_main("conformers", cases);
    sdg_qm9_todo_free(todo);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "%s %s", getenv("KEEP") ? "echo" : "rm -rf", dir);
    if (system(cmd) != 0) rc = 1;
    return rc;
}
