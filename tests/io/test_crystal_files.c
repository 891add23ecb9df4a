/* Crystal files written by `sdegen sample` (io.h: sdg_crystal_writer, sdg_crystal_file_read):
 * the "sdegen-crystals" file reads back what was written (lattices, sites, flags, space
 * groups, reasons, run metadata), an abandoned run reads back its committed records, and
 * foreign, damaged or malformed files fail with one message naming the file and the problem. */
#include <hdf5.h>
#include <unistd.h>
#include "test_util.h"

static char dir[64];

static void tpath(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", dir, name); }

static sdg_crystal_run test_run(int64_t requested) {
    return (sdg_crystal_run){.model = "tiny.h5", .dataset = "perov_5", .sampler = "edm, 3 steps", .cond = "",
                             .seed = 7, .batch = 2, .threads = 1, .requested = requested, .symprec = 0.1};
}

static sdg_crystal *make_crystal(int k) {
    double       p[6] = {3.9 + 0.1 * k, 4.0, 4.1 + 0.2 * k, 90, 95 - k, 90}, m[9];
    sdg_crystal *c = NULL;
    CU_ASSERT_FATAL(sdg_lattice_from_params(p, m) == SDG_OK);
    CU_ASSERT_FATAL(sdg_crystal_new(m, &c) == SDG_OK);
    for (int a = 0; a < 3 + k; a++) {
        double f[3] = {0.1 * a, 0.25 + 0.05 * a, 0.9 - 0.1 * a};
        CU_ASSERT_FATAL(sdg_crystal_add_site(c, a == 0 ? 20 : (a == 1 ? 22 : 8), f) == SDG_OK);
    }
    return c;
}

/* Writes n records (record 1 undecodable) to name; complete when n == requested and close. */
static void write_file(const char *name, int n, int64_t requested, bool close, sdg_crystal **cs) {
    char                p[128];
    sdg_crystal_writer *w = NULL;
    sdg_crystal_run     run = test_run(requested);
    tpath(p, sizeof p, name);
    CU_ASSERT_FATAL(sdg_crystal_writer_open(p, &run, &w) == SDG_OK);
    sdg_crystal_record recs[4];
    for (int i = 0; i < n; i++) {
        recs[i] = (sdg_crystal_record){.index = i, .crystal = i == 1 ? NULL : cs[i], .reason = i == 1 ? "no sites" : NULL,
                                       .spacegroup = i == 1 ? 0 : 221 - i, .sg_symbol = i == 1 ? NULL : "Pm-3m",
                                       .structural = i != 1, .compositional = i == 0, .valid = i == 0, .prop = NAN};
    }
    for (int i = 0; i < n; i += 2) CU_ASSERT_FATAL(sdg_crystal_writer_append(w, recs + i, n - i < 2 ? 1 : 2) == SDG_OK);
    if (close) {
        CU_ASSERT_FATAL(sdg_crystal_writer_close(w) == SDG_OK);
    } else {
        sdg_crystal_writer_free(w);
    }
}

static void test_round_trip(void) {
    sdg_crystal *cs[4] = {make_crystal(0), NULL, make_crystal(2), make_crystal(1)};
    write_file("rt.h5", 4, 4, true, cs);
    char p[128];
    tpath(p, sizeof p, "rt.h5");
    sdg_crystal_file *f = NULL;
    CU_ASSERT_FATAL(sdg_crystal_file_read(p, &f) == SDG_OK);
    CU_ASSERT(f->count == 4 && f->complete);
    CU_ASSERT(strcmp(f->model, "tiny.h5") == 0 && strcmp(f->dataset, "perov_5") == 0);
    CU_ASSERT(strcmp(f->sampler, "edm, 3 steps") == 0 && strcmp(f->cond, "") == 0);
    CU_ASSERT(f->seed == 7 && f->batch == 2 && f->threads == 1 && f->requested == 4 && f->symprec == 0.1);
    for (size_t i = 0; i < f->count; i++) {
        CU_ASSERT(f->index[i] == (int64_t)i);
        CU_ASSERT(f->decoded[i] == (i != 1));
        CU_ASSERT(f->structural[i] == (i != 1) && f->compositional[i] == (i == 0) && f->valid[i] == (i == 0));
        CU_ASSERT(isnan(f->property[i]));
        if (i == 1) {
            CU_ASSERT(f->crystals[i] == NULL);
            CU_ASSERT(strcmp(f->reason[i], "no sites") == 0 && strcmp(f->sg_symbol[i], "") == 0);
            CU_ASSERT(f->spacegroup[i] == 0);
            continue;
        }
        const sdg_crystal *a = cs[i], *b = f->crystals[i];
        CU_ASSERT_FATAL(b != NULL);
        CU_ASSERT(f->spacegroup[i] == 221 - (int)i && strcmp(f->sg_symbol[i], "Pm-3m") == 0);
        CU_ASSERT(strcmp(f->reason[i], "") == 0);
        CU_ASSERT(memcmp(a->lattice, b->lattice, sizeof a->lattice) == 0);
        CU_ASSERT_FATAL(a->n_atoms == b->n_atoms);
        CU_ASSERT(memcmp(a->z, b->z, (size_t)a->n_atoms * sizeof *a->z) == 0);
        CU_ASSERT(memcmp(a->frac, b->frac, (size_t)(3 * a->n_atoms) * sizeof *a->frac) == 0);
    }
    sdg_crystal_file_free(f);
    sdg_crystal_file_free(NULL);
    /* an abandoned run: the committed chunk only, not complete */
    write_file("part.h5", 2, 4, false, cs);
    tpath(p, sizeof p, "part.h5");
    CU_ASSERT_FATAL(sdg_crystal_file_read(p, &f) == SDG_OK);
    CU_ASSERT(f->count == 2 && !f->complete && f->crystals[0] && !f->crystals[1]);
    sdg_crystal_file_free(f);
    for (int k = 0; k < 4; k++) sdg_crystal_free(cs[k]);
}

/* A fresh copy of rt.h5 named name, damaged by fn (NULL: none). */
typedef void (*damage_fn)(hid_t file);
static void damaged_copy(const char *name, damage_fn fn, char *p, size_t cap) {
    char src[128], cmd[400];
    tpath(src, sizeof src, "rt.h5");
    tpath(p, cap, name);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", src, p);
    CU_ASSERT_FATAL(system(cmd) == 0);
    if (!fn) return;
    hid_t h = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    CU_ASSERT_FATAL(h >= 0);
    fn(h);
    CU_ASSERT(H5Fclose(h) >= 0);
}

static void set_i64_attr(hid_t file, const char *name, int64_t v) {
    hid_t a = H5Aopen(file, name, H5P_DEFAULT);
    CU_ASSERT_FATAL(a >= 0);
    CU_ASSERT(H5Awrite(a, H5T_NATIVE_INT64, &v) >= 0);
    H5Aclose(a);
}
static void set_str_attr(hid_t file, const char *name, const char *v) {
    CU_ASSERT(H5Adelete(file, name) >= 0);
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(v) + 1);
    hid_t a = H5Acreate2(file, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(a >= 0 && H5Awrite(a, t, v) >= 0);
    H5Aclose(a), H5Sclose(s), H5Tclose(t);
}
/* Overwrites element idx of an integer dataset / a double of a (rows, cols) dataset. */
static void poke_i64(hid_t file, const char *name, hsize_t idx, int64_t v) {
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT), sp = H5Dget_space(d), ms = H5Screate_simple(1, (hsize_t[]){1}, NULL);
    hsize_t cnt = 1;
    CU_ASSERT(H5Sselect_hyperslab(sp, H5S_SELECT_SET, &idx, NULL, &cnt, NULL) >= 0);
    CU_ASSERT(H5Dwrite(d, H5T_NATIVE_INT64, ms, sp, H5P_DEFAULT, &v) >= 0);
    H5Sclose(ms), H5Sclose(sp), H5Dclose(d);
}
static void poke_f64(hid_t file, const char *name, hsize_t row, hsize_t col, double v) {
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT), sp = H5Dget_space(d), ms = H5Screate_simple(1, (hsize_t[]){1}, NULL);
    hsize_t start[2] = {row, col}, cnt[2] = {1, 1};
    CU_ASSERT(H5Sselect_hyperslab(sp, H5S_SELECT_SET, start, NULL, cnt, NULL) >= 0);
    CU_ASSERT(H5Dwrite(d, H5T_NATIVE_DOUBLE, ms, sp, H5P_DEFAULT, &v) >= 0);
    H5Sclose(ms), H5Sclose(sp), H5Dclose(d);
}

static void d_format(hid_t f) { set_str_attr(f, "sdegen_format", "sdegen-molecules"); }
static void d_version(hid_t f) { set_i64_attr(f, "sdegen_format_version", 2); }
static void d_count(hid_t f) { set_i64_attr(f, "count", 9); }
static void d_nofrac(hid_t f) { CU_ASSERT(H5Ldelete(f, "frac", H5P_DEFAULT) >= 0); }
static void d_species(hid_t f) { poke_i64(f, "species", 1, 0); }
static void d_offsets(hid_t f) { poke_i64(f, "site_offsets", 1, 99); }
static void d_undecodable(hid_t f) { poke_i64(f, "decoded", 0, 0); }
static void d_lattice(hid_t f) { poke_f64(f, "lattice_matrix", 2, 4, NAN); }
static void d_coords(hid_t f) { poke_f64(f, "frac", 0, 1, INFINITY); }
static void d_sg(hid_t f) { poke_i64(f, "spacegroup", 3, 231); }

static void expect_error(const char *name, damage_fn fn, sdg_status code, const char *what) {
    char p[128];
    damaged_copy(name, fn, p, sizeof p);
    sdg_crystal_file *f = (sdg_crystal_file *)1;
    sdg_status        st = sdg_crystal_file_read(p, &f);
    CU_ASSERT(st == code);
    CU_ASSERT(f == NULL);
    const char *msg = sdg_errmsg();
    bool ok = strstr(msg, name) && strstr(msg, what) && !strchr(msg, '\n');
    if (!ok || st != code) printf("\n  %s: status %d, message '%s' (want '%s')", name, (int)st, msg, what);
    CU_ASSERT(ok);
}

static void test_bad_files(void) {
    expect_error("format.h5", d_format, SDG_ERR_FORMAT, "sdegen_format is 'sdegen-molecules', expected 'sdegen-crystals'");
    expect_error("version.h5", d_version, SDG_ERR_VERSION, "format version 2, this sdegen reads 1");
    expect_error("count.h5", d_count, SDG_ERR_FORMAT, "count 9 is outside 0..requested (4)");
    expect_error("nofrac.h5", d_nofrac, SDG_ERR_FORMAT, "no dataset /frac");
    expect_error("species.h5", d_species, SDG_ERR_FORMAT, "record 0: site 1 has atomic number 0");
    expect_error("offsets.h5", d_offsets, SDG_ERR_FORMAT, "record 0: /site_offsets 0..99 out of range");
    expect_error("undecodable.h5", d_undecodable, SDG_ERR_FORMAT, "record 0: undecodable but has 3 sites");
    expect_error("lattice.h5", d_lattice, SDG_ERR_FORMAT, "record 2: /lattice_matrix is not a cell");
    expect_error("coords.h5", d_coords, SDG_ERR_FORMAT, "record 0: site 0 has non-finite coordinates");
    expect_error("sg.h5", d_sg, SDG_ERR_FORMAT, "record 3: space group 231 is outside 0..230");
    /* not HDF5 at all, absent, a directory */
    char p[128];
    tpath(p, sizeof p, "text.h5");
    FILE *t = fopen(p, "w");
    CU_ASSERT_FATAL(t != NULL);
    fputs("data_x\n_cell_length_a 1\n", t);
    fclose(t);
    sdg_crystal_file *f = NULL;
    CU_ASSERT(sdg_crystal_file_read(p, &f) == SDG_ERR_FORMAT && f == NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "text.h5: not an HDF5 file"));
    tpath(p, sizeof p, "none.h5");
    CU_ASSERT(sdg_crystal_file_read(p, &f) == SDG_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "none.h5: cannot open"));
    CU_ASSERT(sdg_crystal_file_read(dir, &f) == SDG_ERR_IO);
    CU_ASSERT(sdg_crystal_file_read(NULL, &f) == SDG_ERR_INVALID);
    /* the undamaged copy still reads */
    damaged_copy("fine.h5", NULL, p, sizeof p);
    CU_ASSERT(sdg_crystal_file_read(p, &f) == SDG_OK);
    sdg_crystal_file_free(f);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/sdegen-cf-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    const sdg_test_case cases[] = {
        {"round trip of lattices, sites, flags, reasons and metadata; abandoned runs", test_round_trip},
        {"foreign, damaged and malformed files: one message naming file and problem", test_bad_files},
        {NULL, NULL},
    };
    int  rc = sdg_test_main("io-crystal-files", cases);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) rc = 1;
    return rc;
}
