/* The HDF5 crystal dataset written by `sdegen sample` with a crystal model, "sdegen-crystals"
 * version 1 (docs/file-formats.md), written in place chunk by chunk and resumable like the
 * molecule file (mol_file.c):
 *   /                   attributes sdegen_format, sdegen_format_version, sdegen_version, model,
 *                       dataset, sampler, cond, seed, batch, threads, requested, symprec, count,
 *                       complete (count = records committed; rows past it are ignored)
 *   /index              int64 (M)        position of record k in the run
 *   /decoded            uint8 (M)        1 = the matrix decoded into a crystal
 *   /reason             vlen UTF-8 (M)   why it did not, "" when decoded
 *   /lattice            float64 (M, 6)   a, b, c (Angstrom), alpha, beta, gamma (degrees)
 *   /lattice_matrix     float64 (M, 9)   rows a, b, c (Cartesian Angstrom), row-major 3 x 3
 *   /site_offsets       int64 (M + 1)    sites of record k are rows [k] .. [k+1]-1
 *   /species            int32 (S)        atomic numbers
 *   /frac               float64 (S, 3)   fractional coordinates in [0, 1)
 *   /spacegroup         int32 (M)        1..230 at the run's symprec, 0 = none
 *   /spacegroup_symbol  vlen UTF-8 (M)   "Pm-3m", "" for none
 *   /structural, /compositional, /valid  uint8 (M)
 *   /property           float64 (M)      conditioning target, NaN when unconditioned */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "io/internal.h"

enum { D_INDEX, D_DECODED, D_REASON, D_LAT, D_LATM, D_OFF, D_SPECIES, D_FRAC, D_SG, D_SGSYM, D_STRUCT, D_COMP,
       D_VALID, D_PROP, D_NSETS };
static const char *const d_names[D_NSETS] = {"index", "decoded", "reason", "lattice", "lattice_matrix",
                                             "site_offsets", "species", "frac", "spacegroup", "spacegroup_symbol",
                                             "structural", "compositional", "valid", "property"};
static const int d_cols[D_NSETS] = {1, 1, 1, 6, 9, 1, 1, 3, 1, 1, 1, 1, 1, 1};
static const int d_rows_of[D_NSETS] = {
    [D_INDEX] = H5_ROWS_RECORD, [D_DECODED] = H5_ROWS_RECORD, [D_REASON] = H5_ROWS_RECORD,
    [D_LAT] = H5_ROWS_RECORD, [D_LATM] = H5_ROWS_RECORD, [D_OFF] = H5_ROWS_OFFSETS, [D_SPECIES] = D_OFF,
    [D_FRAC] = D_OFF, [D_SG] = H5_ROWS_RECORD, [D_SGSYM] = H5_ROWS_RECORD, [D_STRUCT] = H5_ROWS_RECORD,
    [D_COMP] = H5_ROWS_RECORD, [D_VALID] = H5_ROWS_RECORD, [D_PROP] = H5_ROWS_RECORD};

/* Dataset k's type in the file, or in memory when native. */
static hid_t dtype(int k, hid_t str, bool native) {
    switch (k) {
    case D_REASON: case D_SGSYM: return str;
    case D_DECODED: case D_STRUCT: case D_COMP: case D_VALID: return native ? H5T_NATIVE_UINT8 : H5T_STD_U8LE;
    case D_SPECIES: case D_SG: return native ? H5T_NATIVE_INT32 : H5T_STD_I32LE;
    case D_LAT: case D_LATM: case D_FRAC: case D_PROP: return native ? H5T_NATIVE_DOUBLE : H5T_IEEE_F64LE;
    default: return native ? H5T_NATIVE_INT64 : H5T_STD_I64LE;
    }
}
static hid_t ftype(int k, hid_t str) { return dtype(k, str, false); }

static const h5_records layout = {D_NSETS, d_names, d_cols, d_rows_of, 1024, ftype};

struct sdg_crystal_writer {
    char      *path;
    size_t     total, done;
    h5_recfile h;
    int64_t    sites_so_far;
};

void sdg_crystal_writer_free(sdg_crystal_writer *w) {
    if (!w) return;
    h5_recfile_close(&w->h);
    free(w->path);
    free(w);
}

/* Creates the file (done == NULL) or reopens it to continue (*done = records already in). */
static sdg_status writer_start(const char *path, const sdg_crystal_run *run, size_t *done, sdg_crystal_writer **out) {
    sdg_status st = SDG_OK;
    sdg_crystal_writer *w = NULL;
    size_t n = strlen(path);
    int64_t count = 0;
    if (!run->model || !run->dataset || !run->sampler || !run->cond || run->requested < 1 || run->batch < 1)
        return SDG_ERROR(SDG_ERR_INVALID, "crystal writer: incomplete run description");
    if (n < 4 || strcasecmp(path + n - 3, ".h5") != 0)
        return SDG_ERROR(SDG_ERR_INVALID, "%s: crystal datasets are .h5 files", path);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    }
    h5_recfile_init(&w->h);
    w->total = (size_t)run->requested;
    const h5_run hr = {SDG_CRYSTALS_FORMAT, SDG_CRYSTALS_FORMAT_VERSION, "sdegen crystal file", run->model,
                       run->dataset, run->sampler, run->cond, run->seed, run->batch, run->threads, run->requested,
                       true, run->symprec};
    st = done ? h5_records_reopen(path, &hr, &layout, &w->h, &count) : h5_records_create(path, &hr, &layout, &w->h);
    if (st != SDG_OK) {
        sdg_error_prefix("%s", path);
        goto cleanup;
    }
    w->sites_so_far = (int64_t)w->h.rows[D_SPECIES];
    w->done = (size_t)count;
    if (done) *done = (size_t)count;
    *out = w;
    w = NULL;
cleanup:
    sdg_crystal_writer_free(w);
    return st;
}

sdg_status sdg_crystal_writer_open(const char *path, const sdg_crystal_run *run, sdg_crystal_writer **out) {
    if (!path || !run || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_crystal_writer_open: NULL argument");
    *out = NULL;
    return writer_start(path, run, NULL, out);
}

sdg_status sdg_crystal_writer_resume(const char *path, const sdg_crystal_run *run, sdg_crystal_writer **out,
                                     size_t *done) {
    if (!path || !run || !out || !done) return SDG_ERROR(SDG_ERR_INVALID, "sdg_crystal_writer_resume: NULL argument");
    *out = NULL;
    *done = 0;
    return writer_start(path, run, done, out);
}

sdg_status sdg_crystal_writer_append(sdg_crystal_writer *w, const sdg_crystal_record *recs, size_t n) {
    sdg_status st = SDG_OK;
    if (!w || (!recs && n)) return SDG_ERROR(SDG_ERR_INVALID, "sdg_crystal_writer_append: NULL argument");
    if (w->done + n > w->total)
        return SDG_ERROR(SDG_ERR_INVALID, "%s: %zu crystals appended, more than the %zu announced", w->path, w->done + n,
                         w->total);
    size_t ns = 0;
    for (size_t i = 0; i < n; i++) ns += recs[i].crystal ? (size_t)recs[i].crystal->n_atoms : 0;
    int64_t *idx = malloc((n + 1) * sizeof *idx), *off = malloc((n + 1) * sizeof *off);
    uint8_t *u8[4] = {malloc(n + 1), malloc(n + 1), malloc(n + 1), malloc(n + 1)}, *dec = malloc(n + 1);
    int32_t *sg = malloc((n + 1) * sizeof *sg), *spc = malloc((ns + 1) * sizeof *spc);
    double *lat = calloc(6 * n + 1, sizeof *lat), *latm = calloc(9 * n + 1, sizeof *latm),
           *frac = malloc((3 * ns + 1) * sizeof *frac), *prop = malloc((n + 1) * sizeof *prop);
    const char **why = malloc((n + 1) * sizeof *why), **sym = malloc((n + 1) * sizeof *sym);
    if (!idx || !off || !u8[0] || !u8[1] || !u8[2] || !u8[3] || !dec || !sg || !spc || !lat || !latm || !frac || !prop ||
        !why || !sym)
        SDG_FAIL(SDG_ERR_NOMEM, "out of memory for %zu crystals", n);
    size_t ks = 0;
    for (size_t i = 0; i < n; i++) {
        const sdg_crystal_record *r = &recs[i];
        const sdg_crystal *c = r->crystal;
        idx[i] = r->index;
        dec[i] = c != NULL;
        why[i] = c ? "" : (r->reason ? r->reason : "undecodable");
        sg[i] = r->spacegroup;
        sym[i] = r->sg_symbol ? r->sg_symbol : "";
        u8[0][i] = r->structural, u8[1][i] = r->compositional, u8[2][i] = r->valid;
        prop[i] = r->prop;
        if (c) {
            sdg_lattice_to_params(c->lattice, lat + 6 * i);
            memcpy(latm + 9 * i, c->lattice, 9 * sizeof(double));
            for (int64_t a = 0; a < c->n_atoms; a++, ks++) {
                spc[ks] = c->z[a];
                memcpy(frac + 3 * ks, c->frac + 3 * a, 3 * sizeof(double));
            }
        }
        off[i] = w->sites_so_far + (int64_t)ks;
    }
    const void *buf[D_NSETS] = {idx, dec, why, lat, latm, off, spc, frac, sg, sym, u8[0], u8[1], u8[2], prop};
    for (int k = 0; k < D_NSETS; k++) {
        hsize_t cnt = (k == D_SPECIES || k == D_FRAC) ? ks : n;
        SDG_TRY(h5_grow_append(w->h.d[k], d_names[k], dtype(k, w->h.strtype, true), d_cols[k], &w->h.rows[k], buf[k], cnt));
    }
    w->sites_so_far += (int64_t)ks;
    SDG_TRY(h5_set_count(w->h.file, (int64_t)(w->done + n), 0));   /* the chunk counts from here on */
    w->done += n;
cleanup:
    if (st != SDG_OK) sdg_error_prefix("%s", w->path);
    free(idx), free(off), free(dec), free(sg), free(spc), free(lat), free(latm), free(frac), free(prop);
    free(why), free(sym);
    for (int k = 0; k < 4; k++) free(u8[k]);
    return st;
}

sdg_status sdg_crystal_writer_close(sdg_crystal_writer *w) {
    sdg_status st = SDG_OK;
    if (!w) return SDG_ERROR(SDG_ERR_INVALID, "sdg_crystal_writer_close: NULL writer");
    if (w->done != w->total)
        SDG_FAIL(SDG_ERR_INVALID, "%s: %zu of %zu crystals written; the file stays incomplete", w->path, w->done, w->total);
    if ((st = h5_records_finish(&w->h, &layout, (int64_t)w->done)) != SDG_OK) sdg_error_prefix("%s", w->path);
cleanup:
    sdg_crystal_writer_free(w);
    return st;
}

/* ---- reading a file back ---- */
void sdg_crystal_file_free(sdg_crystal_file *f) {
    if (!f) return;
    for (size_t i = 0; i < f->count; i++) {
        if (f->crystals) sdg_crystal_free(f->crystals[i]);
        if (f->reason) free(f->reason[i]);
        if (f->sg_symbol) free(f->sg_symbol[i]);
    }
    free(f->crystals), free(f->reason), free(f->sg_symbol);
    free(f->index), free(f->decoded), free(f->spacegroup), free(f->structural), free(f->compositional), free(f->valid);
    free(f->property);
    free(f->model), free(f->dataset), free(f->sampler), free(f->cond), free(f->version);
    free(f);
}

/* The first count strings of a 1-D variable-length string dataset, each strdup'ed into out. */
static sdg_status read_strings(hid_t file, const char *name, size_t count, char **out) {
    sdg_status st = SDG_OK;
    hid_t      d = H5_NONE, sp = H5_NONE, ms = H5_NONE, type = H5_NONE;
    char     **buf = NULL;
    hsize_t    rows = 0, cnt = count, start = 0;
    SDG_TRY(h5_grow_open(file, name, 1, &rows, &d));
    if (rows < count)
        SDG_FAIL(SDG_ERR_FORMAT, "dataset /%s has %llu rows, count is %zu", name, (unsigned long long)rows, count);
    type = H5Dget_type(d);
    if (type < 0 || H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) <= 0)
        SDG_FAIL(SDG_ERR_FORMAT, "dataset /%s is not of variable-length strings", name);
    h5_close(type);
    type = H5_NONE;
    if (count == 0) goto cleanup;
    SDG_TRY(h5_strtype(&type));
    buf = calloc(count, sizeof *buf);
    if (!buf) SDG_FAIL(SDG_ERR_NOMEM, "out of memory for %zu strings", count);
    sp = H5Dget_space(d);
    ms = H5Screate_simple(1, &cnt, NULL);
    if (sp < 0 || ms < 0 || H5Sselect_hyperslab(sp, H5S_SELECT_SET, &start, NULL, &cnt, NULL) < 0)
        H5_FAIL(SDG_ERR_DEPENDENCY, "cannot select rows of /%s", name);
    if (H5Dread(d, type, ms, sp, H5P_DEFAULT, buf) < 0) H5_FAIL(SDG_ERR_FORMAT, "cannot read /%s", name);
    for (size_t i = 0; i < count; i++)
        if (!(out[i] = strdup(buf[i] ? buf[i] : ""))) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
cleanup:
    if (buf && ms >= 0 && type >= 0) H5Dvlen_reclaim(type, ms, H5P_DEFAULT, buf);
    free(buf);
    h5_close(type);
    h5_close(ms);
    h5_close(sp);
    h5_close(d);
    return st;
}

static sdg_status read_file(const char *path, sdg_crystal_file *f) {
    sdg_status st = SDG_OK;
    hid_t      file = H5_NONE;
    int64_t   *iv[D_NSETS] = {0}, count = 0, complete = 0;
    double    *latm = NULL, *frac = NULL, *prop = NULL;
    hsize_t    n[D_NSETS] = {0}, nl = 0, nf = 0, np = 0;
    SDG_TRY(h5_open_format(path, SDG_CRYSTALS_FORMAT, SDG_CRYSTALS_FORMAT_VERSION, "sdegen crystal file", &file));
    SDG_TRY(attr_read_str(file, "sdegen_version", &f->version));
    SDG_TRY(attr_read_str(file, "model", &f->model));
    SDG_TRY(attr_read_str(file, "dataset", &f->dataset));
    SDG_TRY(attr_read_str(file, "sampler", &f->sampler));
    SDG_TRY(attr_read_str(file, "cond", &f->cond));
    SDG_TRY(attr_read_scalar(file, "seed", H5T_INTEGER, "an integer", H5T_NATIVE_UINT64, &f->seed));
    SDG_TRY(attr_read_i64(file, "batch", &f->batch));
    SDG_TRY(attr_read_i64(file, "threads", &f->threads));
    SDG_TRY(attr_read_i64(file, "requested", &f->requested));
    SDG_TRY(attr_read_f64(file, "symprec", &f->symprec));
    SDG_TRY(attr_read_i64(file, "count", &count));
    SDG_TRY(attr_read_i64(file, "complete", &complete));
    if (count < 0 || count > f->requested)
        SDG_FAIL(SDG_ERR_FORMAT, "count %lld is outside 0..requested (%lld)", (long long)count, (long long)f->requested);
    f->complete = complete != 0;
    const size_t c = (size_t)count;
    const int int_sets[] = {D_INDEX, D_DECODED, D_OFF, D_SPECIES, D_SG, D_STRUCT, D_COMP, D_VALID};
    for (size_t q = 0; q < sizeof int_sets / sizeof *int_sets; q++) {
        int k = int_sets[q];
        SDG_TRY(h5_read_i64(file, d_names[k], d_cols[k], &n[k], &iv[k]));
        hsize_t need = k == D_SPECIES ? 0 : (hsize_t)c + (k == D_OFF);
        if (n[k] < need)
            SDG_FAIL(SDG_ERR_FORMAT, "dataset /%s has %llu rows, count is %lld", d_names[k], (unsigned long long)n[k],
                     (long long)count);
    }
    SDG_TRY(h5_read_f64(file, d_names[D_LATM], 9, c, &nl, &latm));
    SDG_TRY(h5_read_f64(file, d_names[D_FRAC], 3, 0, &nf, &frac));
    SDG_TRY(h5_read_f64(file, d_names[D_PROP], 1, c, &np, &prop));
    if (n[D_SPECIES] != nf)
        SDG_FAIL(SDG_ERR_FORMAT, "/species has %llu rows but /frac %llu", (unsigned long long)n[D_SPECIES],
                 (unsigned long long)nf);
    f->index = malloc((c + 1) * sizeof *f->index);
    f->decoded = malloc(c + 1), f->structural = malloc(c + 1), f->compositional = malloc(c + 1), f->valid = malloc(c + 1);
    f->spacegroup = malloc((c + 1) * sizeof *f->spacegroup);
    f->property = malloc((c + 1) * sizeof *f->property);
    f->crystals = calloc(c + 1, sizeof *f->crystals);
    f->reason = calloc(c + 1, sizeof *f->reason);
    f->sg_symbol = calloc(c + 1, sizeof *f->sg_symbol);
    if (!f->index || !f->decoded || !f->structural || !f->compositional || !f->valid || !f->spacegroup || !f->property ||
        !f->crystals || !f->reason || !f->sg_symbol)
        SDG_FAIL(SDG_ERR_NOMEM, "out of memory for %zu records", c);
    f->count = c;
    SDG_TRY(read_strings(file, d_names[D_REASON], c, f->reason));
    SDG_TRY(read_strings(file, d_names[D_SGSYM], c, f->sg_symbol));
    const int64_t *off = iv[D_OFF];
    if (off[0] != 0) SDG_FAIL(SDG_ERR_FORMAT, "/site_offsets starts at %lld, not 0", (long long)off[0]);
    for (size_t k = 0; k < c; k++) {
        f->index[k] = iv[D_INDEX][k];
        f->decoded[k] = iv[D_DECODED][k] != 0;
        f->structural[k] = iv[D_STRUCT][k] != 0;
        f->compositional[k] = iv[D_COMP][k] != 0;
        f->valid[k] = iv[D_VALID][k] != 0;
        f->property[k] = prop[k];
        if (iv[D_SG][k] < 0 || iv[D_SG][k] > 230)
            SDG_FAIL(SDG_ERR_FORMAT, "record %zu: space group %lld is outside 0..230", k, (long long)iv[D_SG][k]);
        f->spacegroup[k] = (int32_t)iv[D_SG][k];
        int64_t a0 = off[k], a1 = off[k + 1];
        if (a1 < a0 || (hsize_t)a1 > nf)
            SDG_FAIL(SDG_ERR_FORMAT, "record %zu: /site_offsets %lld..%lld out of range (%llu sites)", k, (long long)a0,
                     (long long)a1, (unsigned long long)nf);
        if (!f->decoded[k]) {
            if (a1 != a0) SDG_FAIL(SDG_ERR_FORMAT, "record %zu: undecodable but has %lld sites", k, (long long)(a1 - a0));
            continue;
        }
        if (a1 == a0) SDG_FAIL(SDG_ERR_FORMAT, "record %zu: decoded but has no sites", k);
        const double *m = latm + 9 * k;
        bool finite = true;
        for (int q = 0; q < 9; q++) finite = finite && isfinite(m[q]);
        if (!finite || !(sdg_lattice_volume(m) > 0))
            SDG_FAIL(SDG_ERR_FORMAT, "record %zu: /lattice_matrix is not a cell (non-finite or zero volume)", k);
        SDG_TRY(sdg_crystal_new(m, &f->crystals[k]));
        for (int64_t a = a0; a < a1; a++) {
            int64_t z = iv[D_SPECIES][a];
            if (z < 1 || z > 118) SDG_FAIL(SDG_ERR_FORMAT, "record %zu: site %lld has atomic number %lld", k, (long long)(a - a0), (long long)z);
            const double *x = frac + 3 * a;
            if (!isfinite(x[0]) || !isfinite(x[1]) || !isfinite(x[2]))
                SDG_FAIL(SDG_ERR_FORMAT, "record %zu: site %lld has non-finite coordinates", k, (long long)(a - a0));
            SDG_TRY(sdg_crystal_add_site(f->crystals[k], (int)z, x));
        }
        char name[32];
        snprintf(name, sizeof name, "%lld", (long long)f->index[k]);
        SDG_TRY(sdg_crystal_set_name(f->crystals[k], name));
    }
cleanup:
    for (int k = 0; k < D_NSETS; k++) free(iv[k]);
    free(latm), free(frac), free(prop);
    h5_close(file);
    return st;
}

sdg_status sdg_crystal_file_read(const char *path, sdg_crystal_file **out) {
    sdg_status        st = SDG_OK;
    sdg_crystal_file *f = NULL;
    if (!path || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_crystal_file_read: NULL argument");
    *out = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    f = calloc(1, sizeof *f);
    if (!f) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    if ((st = read_file(path, f)) != SDG_OK) {
        sdg_error_prefix("%s", path);
        goto cleanup;
    }
    *out = f;
    f = NULL;
cleanup:
    sdg_crystal_file_free(f);
    return st;
}
