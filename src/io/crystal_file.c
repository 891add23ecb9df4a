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
