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
#define CHUNK_ROWS 1024

struct sdg_crystal_writer {
    char   *path;
    size_t  total, done;
    hid_t   file, d[D_NSETS], strtype;
    hsize_t rows[D_NSETS];
    int64_t sites_so_far;
};

static hid_t ftype(int k, hid_t str) {
    switch (k) {
    case D_REASON: case D_SGSYM: return str;
    case D_DECODED: case D_STRUCT: case D_COMP: case D_VALID: return H5T_STD_U8LE;
    case D_SPECIES: case D_SG: return H5T_STD_I32LE;
    case D_LAT: case D_LATM: case D_FRAC: case D_PROP: return H5T_IEEE_F64LE;
    default: return H5T_STD_I64LE;
    }
}
static hid_t mtype(int k, hid_t str) {
    switch (k) {
    case D_REASON: case D_SGSYM: return str;
    case D_DECODED: case D_STRUCT: case D_COMP: case D_VALID: return H5T_NATIVE_UINT8;
    case D_SPECIES: case D_SG: return H5T_NATIVE_INT32;
    case D_LAT: case D_LATM: case D_FRAC: case D_PROP: return H5T_NATIVE_DOUBLE;
    default: return H5T_NATIVE_INT64;
    }
}

void sdg_crystal_writer_free(sdg_crystal_writer *w) {
    if (!w) return;
    for (int k = 0; k < D_NSETS; k++) h5_close(w->d[k]);
    h5_close(w->strtype);
    h5_close(w->file);
    free(w->path);
    free(w);
}

static sdg_status writer_new(const char *path, const sdg_crystal_run *run, sdg_crystal_writer **out) {
    size_t n = strlen(path);
    *out = NULL;
    if (!run->model || !run->dataset || !run->sampler || !run->cond || run->requested < 1 || run->batch < 1)
        return SDG_ERROR(SDG_ERR_INVALID, "crystal writer: incomplete run description");
    if (n < 4 || strcasecmp(path + n - 3, ".h5") != 0)
        return SDG_ERROR(SDG_ERR_INVALID, "%s: crystal datasets are .h5 files", path);
    sdg_crystal_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    }
    w->file = w->strtype = H5_NONE;
    for (int k = 0; k < D_NSETS; k++) w->d[k] = H5_NONE;
    w->total = (size_t)run->requested;
    *out = w;
    return SDG_OK;
}

static sdg_status create_file(sdg_crystal_writer *w, const sdg_crystal_run *run) {
    sdg_status st = SDG_OK;
    w->file = H5Fcreate(w->path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (w->file < 0) H5_FAIL(SDG_ERR_IO, "cannot create");
    SDG_TRY(h5_strtype(&w->strtype));
    SDG_TRY(attr_write_str(w->file, "sdegen_format", SDG_CRYSTALS_FORMAT));
    SDG_TRY(attr_write_i64(w->file, "sdegen_format_version", SDG_CRYSTALS_FORMAT_VERSION));
    SDG_TRY(attr_write_str(w->file, "sdegen_version", sdg_version()));
    SDG_TRY(attr_write_str(w->file, "model", run->model));
    SDG_TRY(attr_write_str(w->file, "dataset", run->dataset));
    SDG_TRY(attr_write_str(w->file, "sampler", run->sampler));
    SDG_TRY(attr_write_str(w->file, "cond", run->cond));
    SDG_TRY(attr_write(w->file, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, &run->seed));
    SDG_TRY(attr_write_i64(w->file, "batch", run->batch));
    SDG_TRY(attr_write_i64(w->file, "threads", run->threads));
    SDG_TRY(attr_write_i64(w->file, "requested", run->requested));
    SDG_TRY(attr_write_f64(w->file, "symprec", run->symprec));
    SDG_TRY(attr_write_i64(w->file, "count", 0));
    SDG_TRY(attr_write_i64(w->file, "complete", 0));
    for (int k = 0; k < D_NSETS; k++)
        SDG_TRY(h5_grow_create(w->file, d_names[k], ftype(k, w->strtype), d_cols[k], CHUNK_ROWS, &w->d[k]));
    int64_t zero = 0;
    SDG_TRY(h5_grow_append(w->d[D_OFF], "site_offsets", H5T_NATIVE_INT64, 1, &w->rows[D_OFF], &zero, 1));
    SDG_TRY(h5_set_count(w->file, 0, 0));
cleanup:
    return st;
}

sdg_status sdg_crystal_writer_open(const char *path, const sdg_crystal_run *run, sdg_crystal_writer **out) {
    sdg_status st = SDG_OK;
    sdg_crystal_writer *w = NULL;
    if (!path || !run || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_crystal_writer_open: NULL argument");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    SDG_TRY(writer_new(path, run, &w));
    if ((st = create_file(w, run)) != SDG_OK) {
        sdg_error_prefix("%s", path);
        goto cleanup;
    }
    *out = w;
    w = NULL;
cleanup:
    sdg_crystal_writer_free(w);
    return st;
}

static sdg_status reopen(sdg_crystal_writer *w, const sdg_crystal_run *run, size_t *done) {
    sdg_status st = SDG_OK;
    hid_t probe = H5_NONE;
    int64_t *off = NULL, count = 0;
    hsize_t n_off = 0;
    uint64_t seed = 0;
    SDG_TRY(h5_open_format(w->path, SDG_CRYSTALS_FORMAT, SDG_CRYSTALS_FORMAT_VERSION, "sdegen crystal file", &probe));
    h5_close(probe);
    probe = H5_NONE;
    w->file = H5Fopen(w->path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (w->file < 0) H5_FAIL(SDG_ERR_IO, "cannot open for writing");
    SDG_TRY(h5_strtype(&w->strtype));
    SDG_TRY(h5_check_str(w->file, "model", run->model));
    SDG_TRY(h5_check_str(w->file, "dataset", run->dataset));
    SDG_TRY(h5_check_str(w->file, "sampler", run->sampler));
    SDG_TRY(h5_check_str(w->file, "cond", run->cond));
    SDG_TRY(attr_read_scalar(w->file, "seed", H5T_INTEGER, "an integer", H5T_NATIVE_UINT64, &seed));
    if (seed != run->seed)
        SDG_FAIL(SDG_ERR_INVALID, "the file's seed is %llu, this run's %llu", (unsigned long long)seed,
                 (unsigned long long)run->seed);
    SDG_TRY(h5_check_i64(w->file, "batch", run->batch));
    SDG_TRY(h5_check_i64(w->file, "requested", run->requested));
    SDG_TRY(attr_read_i64(w->file, "count", &count));
    if (count < 0 || count > run->requested || (count % run->batch != 0 && count != run->requested))
        SDG_FAIL(SDG_ERR_FORMAT, "count %lld is not a whole number of chunks of %lld (of %lld)", (long long)count,
                 (long long)run->batch, (long long)run->requested);
    SDG_TRY(h5_read_i64(w->file, "site_offsets", 1, &n_off, &off));
    if (n_off < (hsize_t)count + 1) SDG_FAIL(SDG_ERR_FORMAT, "/site_offsets is shorter than count %lld + 1", (long long)count);
    w->sites_so_far = off[count];
    for (int k = 0; k < D_NSETS; k++) {
        hsize_t have = 0, keep = (hsize_t)count + (k == D_OFF);
        if (k == D_SPECIES || k == D_FRAC) keep = (hsize_t)w->sites_so_far;
        SDG_TRY(h5_grow_open(w->file, d_names[k], d_cols[k], &have, &w->d[k]));
        if (have < keep)
            SDG_FAIL(SDG_ERR_FORMAT, "dataset /%s has %llu rows, fewer than the %llu committed", d_names[k],
                     (unsigned long long)have, (unsigned long long)keep);
        hsize_t ext[2] = {keep, (hsize_t)d_cols[k]};   /* drop the rows of an unfinished chunk */
        if (have > keep && H5Dset_extent(w->d[k], ext) < 0) H5_FAIL(SDG_ERR_IO, "cannot truncate /%s", d_names[k]);
        w->rows[k] = keep;
    }
    SDG_TRY(h5_set_count(w->file, count, 0));
    w->done = (size_t)count;
    *done = (size_t)count;
cleanup:
    h5_close(probe);
    free(off);
    return st;
}

sdg_status sdg_crystal_writer_resume(const char *path, const sdg_crystal_run *run, sdg_crystal_writer **out,
                                     size_t *done) {
    sdg_status st = SDG_OK;
    sdg_crystal_writer *w = NULL;
    if (!path || !run || !out || !done) return SDG_ERROR(SDG_ERR_INVALID, "sdg_crystal_writer_resume: NULL argument");
    *done = 0;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    SDG_TRY(writer_new(path, run, &w));
    if ((st = reopen(w, run, done)) != SDG_OK) {
        sdg_error_prefix("%s", path);
        goto cleanup;
    }
    *out = w;
    w = NULL;
cleanup:
    sdg_crystal_writer_free(w);
    return st;
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
        SDG_TRY(h5_grow_append(w->d[k], d_names[k], mtype(k, w->strtype), d_cols[k], &w->rows[k], buf[k], cnt));
    }
    w->sites_so_far += (int64_t)ks;
    SDG_TRY(h5_set_count(w->file, (int64_t)(w->done + n), 0));   /* the chunk counts from here on */
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
    if ((st = h5_set_count(w->file, (int64_t)w->done, 1)) != SDG_OK) {
        sdg_error_prefix("%s", w->path);
        goto cleanup;
    }
    for (int k = 0; k < D_NSETS; k++) {
        h5_close(w->d[k]);
        w->d[k] = H5_NONE;
    }
    herr_t rc = H5Fclose(w->file);
    w->file = H5_NONE;
    if (rc < 0) H5_FAIL(SDG_ERR_IO, "%s: cannot finish writing", w->path);
cleanup:
    sdg_crystal_writer_free(w);
    return st;
}
