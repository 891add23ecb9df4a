/* HDF5 helpers shared by the io module: closing any id, errors that carry HDF5's innermost
 * description, creation-ordered groups, scalar attributes, and opening a file of a named
 * sdegen format after checking its format name and version; the run header, growable datasets
 * and create / resume / finish steps of the resumable record files (mol_file.c, crystal_file.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "io/internal.h"

/* ---- HDF5 helpers ---- */
void h5_close(hid_t id) {
    if (id < 0) return;
    switch (H5Iget_type(id)) {
    case H5I_FILE: H5Fclose(id); break;
    case H5I_GROUP: H5Gclose(id); break;
    case H5I_DATASET: H5Dclose(id); break;
    case H5I_DATASPACE: H5Sclose(id); break;
    case H5I_DATATYPE: H5Tclose(id); break;
    case H5I_ATTR: H5Aclose(id); break;
    case H5I_GENPROP_LST: H5Pclose(id); break;
    default: break;
    }
}

static herr_t innermost_cb(unsigned n, const H5E_error2_t *e, void *ud) {
    if (n == 0 && e->desc) snprintf(ud, 256, "%s", e->desc);
    return 0;
}

/* Records fmt plus HDF5's innermost error description (if any) and returns code. Call it
 * right after the failing HDF5 call: the next HDF5 call clears the error stack. */
sdg_status h5_error(sdg_status code, int line, const char *fmt, ...) {
    char reason[256] = "", msg[768];
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_cb, reason);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (reason[0]) return sdg_error_set(code, __FILE__, line, "%s (HDF5: %s)", msg, reason);
    return sdg_error_set(code, __FILE__, line, "%s", msg);
}

/* A group that tracks the creation order of its links and attributes. */
sdg_status group_create(hid_t loc, const char *name, hid_t *out) {
    sdg_status st = SDG_OK;
    hid_t gcpl = H5_NONE;
    *out = H5_NONE;
    gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (gcpl < 0 || H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0 ||
        H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) < 0)
        H5_FAIL(SDG_ERR_DEPENDENCY, "cannot set up group '%s'", name);
    *out = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (*out < 0) H5_FAIL(SDG_ERR_IO, "cannot create group '%s'", name);
cleanup:
    h5_close(gcpl);
    return st;
}

/* True when loc holds a link called name (one path component). */
sdg_status link_exists(hid_t loc, const char *name, bool *out) {
    htri_t ex = H5Lexists(loc, name, H5P_DEFAULT);
    *out = ex > 0;
    return ex < 0 ? h5_error(SDG_ERR_FORMAT, __LINE__, "cannot look up '%s'", name) : SDG_OK;
}

/* ---- attributes ---- */
sdg_status attr_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *buf) {
    sdg_status st = SDG_OK;
    hid_t space = H5_NONE, a = H5_NONE;
    space = H5Screate(H5S_SCALAR);
    if (space < 0) H5_FAIL(SDG_ERR_DEPENDENCY, "cannot create a dataspace for attribute '%s'", name);
    a = H5Acreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) H5_FAIL(SDG_ERR_IO, "cannot create attribute '%s'", name);
    if (H5Awrite(a, mtype, buf) < 0) H5_FAIL(SDG_ERR_IO, "cannot write attribute '%s'", name);
cleanup:
    h5_close(a);
    h5_close(space);
    return st;
}

sdg_status attr_write_i64(hid_t loc, const char *name, int64_t v) {
    return attr_write(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}

sdg_status attr_write_f64(hid_t loc, const char *name, double v) {
    return attr_write(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

sdg_status attr_write_str(hid_t loc, const char *name, const char *v) {
    sdg_status st = SDG_OK;
    hid_t type = H5Tcopy(H5T_C_S1);
    if (type < 0 || H5Tset_size(type, H5T_VARIABLE) < 0 || H5Tset_cset(type, H5T_CSET_UTF8) < 0)
        H5_FAIL(SDG_ERR_DEPENDENCY, "cannot make a string type for attribute '%s'", name);
    SDG_TRY(attr_write(loc, name, type, type, &v));
cleanup:
    h5_close(type);
    return st;
}

/* Opens attribute name of loc and checks that it holds one value of class want. */
static sdg_status attr_open(hid_t loc, const char *name, H5T_class_t want, const char *what,
                            hid_t *a, hid_t *type) {
    sdg_status st = SDG_OK;
    hid_t space = H5_NONE;
    *type = H5_NONE;
    *a = H5Aopen(loc, name, H5P_DEFAULT);
    if (*a < 0) H5_FAIL(SDG_ERR_FORMAT, "cannot open attribute '%s'", name);
    *type = H5Aget_type(*a);
    space = H5Aget_space(*a);
    if (*type < 0 || space < 0) H5_FAIL(SDG_ERR_FORMAT, "cannot inspect attribute '%s'", name);
    if (H5Tget_class(*type) != want) SDG_FAIL(SDG_ERR_FORMAT, "attribute '%s' is not %s", name, what);
    if (H5Sget_simple_extent_npoints(space) != 1)
        SDG_FAIL(SDG_ERR_FORMAT, "attribute '%s' holds more than one value", name);
cleanup:
    h5_close(space);
    if (st != SDG_OK) {
        h5_close(*type);
        h5_close(*a);
        *a = *type = H5_NONE;
    }
    return st;
}

/* A scalar attribute of HDF5 class cls, read as the native type (what names it in messages). */
sdg_status attr_read_scalar(hid_t loc, const char *name, H5T_class_t cls, const char *what,
                                   hid_t native, void *v) {
    sdg_status st = SDG_OK;
    hid_t a = H5_NONE, type = H5_NONE;
    SDG_TRY(attr_open(loc, name, cls, what, &a, &type));
    if (H5Aread(a, native, v) < 0) H5_FAIL(SDG_ERR_FORMAT, "cannot read attribute '%s'", name);
cleanup:
    h5_close(type);
    h5_close(a);
    return st;
}

sdg_status attr_read_i64(hid_t loc, const char *name, int64_t *v) {
    return attr_read_scalar(loc, name, H5T_INTEGER, "an integer", H5T_NATIVE_INT64, v);
}

sdg_status attr_read_f64(hid_t loc, const char *name, double *v) {
    return attr_read_scalar(loc, name, H5T_FLOAT, "a floating-point number", H5T_NATIVE_DOUBLE, v);
}

/* Variable- or fixed-length string; *out is malloc'ed. */
sdg_status attr_read_str(hid_t loc, const char *name, char **out) {
    sdg_status st = SDG_OK;
    hid_t a = H5_NONE, type = H5_NONE, mtype = H5_NONE;
    char *vs = NULL, *s = NULL;
    *out = NULL;
    SDG_TRY(attr_open(loc, name, H5T_STRING, "a string", &a, &type));
    mtype = H5Tcopy(type);   /* same size, padding and character set: no conversion */
    if (mtype < 0) H5_FAIL(SDG_ERR_DEPENDENCY, "cannot copy the type of attribute '%s'", name);
    if (H5Tis_variable_str(type) > 0) {
        if (H5Aread(a, mtype, &vs) < 0) H5_FAIL(SDG_ERR_FORMAT, "cannot read attribute '%s'", name);
        s = strdup(vs ? vs : "");
    } else {
        size_t n = H5Tget_size(type);
        s = calloc(n + 1, 1);
        if (s && H5Aread(a, mtype, s) < 0) H5_FAIL(SDG_ERR_FORMAT, "cannot read attribute '%s'", name);
        if (s && H5Tget_strpad(type) == H5T_STR_SPACEPAD)
            for (size_t k = n; k > 0 && s[k - 1] == ' '; k--) s[k - 1] = '\0';
    }
    if (!s) SDG_FAIL(SDG_ERR_NOMEM, "out of memory reading attribute '%s'", name);
    *out = s;
    s = NULL;
cleanup:
    if (vs) H5free_memory(vs);
    free(s);
    h5_close(mtype);
    h5_close(type);
    h5_close(a);
    return st;
}

/* Opens path read-only after checking its format name and version. */
sdg_status h5_open_format(const char *path, const char *format, int64_t version_want, const char *what,
                          hid_t *out) {
    sdg_status st = SDG_OK;
    hid_t file = H5_NONE;
    char *fmt = NULL;
    struct stat sb;
    *out = H5_NONE;
    if (stat(path, &sb) != 0) SDG_FAIL(SDG_ERR_IO, "cannot open: %s", strerror(errno));
    if (S_ISDIR(sb.st_mode)) SDG_FAIL(SDG_ERR_IO, "is a directory, not an %s", what);
    htri_t is = H5Fis_hdf5(path);
    if (is < 0) H5_FAIL(SDG_ERR_IO, "cannot read");
    if (is == 0) SDG_FAIL(SDG_ERR_FORMAT, "not an HDF5 file, so not an %s", what);
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) H5_FAIL(SDG_ERR_FORMAT, "damaged or truncated HDF5 file, cannot open it");

    htri_t ex = H5Aexists(file, "sdegen_format");
    if (ex < 0) H5_FAIL(SDG_ERR_FORMAT, "cannot read the root attributes");
    if (ex == 0) SDG_FAIL(SDG_ERR_FORMAT, "not an %s (no sdegen_format attribute)", what);
    SDG_TRY(attr_read_str(file, "sdegen_format", &fmt));
    if (strcmp(fmt, format) != 0)
        SDG_FAIL(SDG_ERR_FORMAT, "not an %s (sdegen_format is '%.100s', expected '%s')", what, fmt, format);
    ex = H5Aexists(file, "sdegen_format_version");
    if (ex < 0) H5_FAIL(SDG_ERR_FORMAT, "cannot read the root attributes");
    if (ex == 0)
        SDG_FAIL(SDG_ERR_FORMAT, "not an %s (no sdegen_format_version attribute)", what);
    int64_t version = 0;
    SDG_TRY(attr_read_i64(file, "sdegen_format_version", &version));
    if (version != version_want)
        SDG_FAIL(SDG_ERR_VERSION, "format version %lld, this sdegen reads %lld", (long long)version,
                 (long long)version_want);
    *out = file;
    file = H5_NONE;
cleanup:
    free(fmt);
    h5_close(file);
    return st;
}


/* ---- datasets grown along the first dimension ---- */
sdg_status h5_grow_create(hid_t loc, const char *name, hid_t ftype, int cols, hsize_t chunk_rows, hid_t *out) {
    sdg_status st = SDG_OK;
    hid_t      space = H5_NONE, dcpl = H5_NONE;
    hsize_t    dims[2] = {0, (hsize_t)cols}, maxd[2] = {H5S_UNLIMITED, (hsize_t)cols},
               chunk[2] = {chunk_rows, (hsize_t)cols};
    int        nd = cols >= 2 ? 2 : 1;
    *out = H5_NONE;
    space = H5Screate_simple(nd, dims, maxd);
    dcpl  = H5Pcreate(H5P_DATASET_CREATE);
    if (space < 0 || dcpl < 0 || H5Pset_chunk(dcpl, nd, chunk) < 0 || H5Pset_deflate(dcpl, 4) < 0)
        H5_FAIL(SDG_ERR_DEPENDENCY, "cannot set up dataset /%s", name);
    *out = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (*out < 0) H5_FAIL(SDG_ERR_IO, "cannot create dataset /%s", name);
cleanup:
    h5_close(space);
    h5_close(dcpl);
    return st;
}

sdg_status h5_grow_append(hid_t d, const char *name, hid_t mtype, int cols, hsize_t *have, const void *v,
                          hsize_t rows) {
    sdg_status st = SDG_OK;
    hid_t      fs = H5_NONE, ms = H5_NONE;
    int        nd = cols >= 2 ? 2 : 1;
    hsize_t    ext[2] = {*have + rows, (hsize_t)cols}, start[2] = {*have, 0}, cnt[2] = {rows, (hsize_t)cols};
    if (rows == 0) return SDG_OK;
    if (H5Dset_extent(d, ext) < 0) H5_FAIL(SDG_ERR_IO, "cannot extend dataset /%s", name);
    fs = H5Dget_space(d);
    ms = H5Screate_simple(nd, cnt, NULL);
    if (fs < 0 || ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL) < 0)
        H5_FAIL(SDG_ERR_DEPENDENCY, "cannot select rows of /%s", name);
    if (H5Dwrite(d, mtype, ms, fs, H5P_DEFAULT, v) < 0) H5_FAIL(SDG_ERR_IO, "cannot write /%s", name);
    *have += rows;
cleanup:
    h5_close(fs);
    h5_close(ms);
    return st;
}

sdg_status h5_grow_open(hid_t loc, const char *name, int cols, hsize_t *rows, hid_t *out) {
    sdg_status st = SDG_OK;
    hid_t      sp = H5_NONE;
    hsize_t    dims[2] = {0, 0}, maxd[2] = {0, 0};
    bool       ex = false;
    *out = H5_NONE;
    SDG_TRY(link_exists(loc, name, &ex));
    if (!ex) SDG_FAIL(SDG_ERR_FORMAT, "no dataset /%s", name);
    *out = H5Dopen2(loc, name, H5P_DEFAULT);
    sp   = *out < 0 ? H5_NONE : H5Dget_space(*out);
    if (sp < 0) H5_FAIL(SDG_ERR_FORMAT, "cannot open dataset /%s", name);
    int nd = H5Sget_simple_extent_ndims(sp);
    if (nd != (cols >= 2 ? 2 : 1) || H5Sget_simple_extent_dims(sp, dims, maxd) < 0 || (cols >= 2 && dims[1] != (hsize_t)cols))
        SDG_FAIL(SDG_ERR_FORMAT, "dataset /%s has the wrong shape (want %s%d)", name, cols >= 2 ? "(rows, " : "1-D", cols);
    if (maxd[0] != H5S_UNLIMITED) SDG_FAIL(SDG_ERR_FORMAT, "dataset /%s cannot grow", name);
    *rows = dims[0];
cleanup:
    h5_close(sp);
    if (st != SDG_OK) {
        h5_close(*out);
        *out = H5_NONE;
    }
    return st;
}

/* A whole dataset of `cols` columns (1-D when cols < 2) with at least `need` rows, read as
 * `native` (elements of `size` bytes) into *out (malloc'ed); `what` names the kind in errors. */
static sdg_status read_whole(hid_t file, const char *name, int cols, hsize_t need, hid_t native, size_t size,
                             const char *what, hsize_t *rows, void **out) {
    sdg_status st = SDG_OK;
    hid_t      d = H5_NONE, sp = H5_NONE;
    hsize_t    dims[2] = {0, 0};
    *out = NULL;
    bool ex = false;
    SDG_TRY(link_exists(file, name, &ex));
    if (!ex) SDG_FAIL(SDG_ERR_FORMAT, "no dataset /%s", name);
    d  = H5Dopen2(file, name, H5P_DEFAULT);
    sp = d < 0 ? H5_NONE : H5Dget_space(d);
    if (sp < 0) H5_FAIL(SDG_ERR_FORMAT, "cannot open dataset /%s", name);
    int nd = H5Sget_simple_extent_ndims(sp);
    if (nd != (cols >= 2 ? 2 : 1) || H5Sget_simple_extent_dims(sp, dims, NULL) < 0 || (cols >= 2 && dims[1] != (hsize_t)cols))
        SDG_FAIL(SDG_ERR_FORMAT, "dataset /%s has the wrong shape (want %s)", name, cols >= 2 ? "(rows, cols)" : "1-D");
    if (dims[0] < need)
        SDG_FAIL(SDG_ERR_FORMAT, "dataset /%s has %llu rows, %llu needed", name, (unsigned long long)dims[0],
                 (unsigned long long)need);
    *rows = dims[0];
    *out  = malloc((size_t)(dims[0] * (hsize_t)(cols >= 2 ? cols : 1) + 1) * size);
    if (!*out) SDG_FAIL(SDG_ERR_NOMEM, "out of memory for /%s", name);
    if (dims[0] && H5Dread(d, native, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0)
        H5_FAIL(SDG_ERR_FORMAT, "cannot read /%s as %s", name, what);
cleanup:
    if (st != SDG_OK) {
        free(*out);
        *out = NULL;
    }
    h5_close(sp);
    h5_close(d);
    return st;
}

sdg_status h5_read_i64(hid_t file, const char *name, int cols, hsize_t *rows, int64_t **out) {
    return read_whole(file, name, cols, 0, H5T_NATIVE_INT64, sizeof **out, "integers", rows, (void **)out);
}

sdg_status h5_read_f64(hid_t file, const char *name, int cols, hsize_t need, hsize_t *rows, double **out) {
    return read_whole(file, name, cols, need, H5T_NATIVE_DOUBLE, sizeof **out, "numbers", rows, (void **)out);
}

/* ---- helpers of the resumable record files (mol_file.c, crystal_file.c) ---- */
sdg_status h5_strtype(hid_t *out) {
    sdg_status st = SDG_OK;
    *out = H5Tcopy(H5T_C_S1);
    if (*out < 0 || H5Tset_size(*out, H5T_VARIABLE) < 0 || H5Tset_cset(*out, H5T_CSET_UTF8) < 0)
        H5_FAIL(SDG_ERR_DEPENDENCY, "cannot make a string type");
cleanup:
    return st;
}

sdg_status h5_set_count(hid_t file, int64_t count, int64_t complete) {
    sdg_status st = SDG_OK;
    const char *names[2] = {"count", "complete"};
    int64_t v[2] = {count, complete};
    for (int k = 0; k < 2; k++) {
        hid_t a = H5Aopen(file, names[k], H5P_DEFAULT);
        if (a < 0) H5_FAIL(SDG_ERR_IO, "cannot open attribute '%s'", names[k]);
        herr_t rc = H5Awrite(a, H5T_NATIVE_INT64, &v[k]);
        h5_close(a);
        if (rc < 0) H5_FAIL(SDG_ERR_IO, "cannot update attribute '%s'", names[k]);
    }
    if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0) H5_FAIL(SDG_ERR_IO, "cannot flush");
cleanup:
    return st;
}

sdg_status h5_check_str(hid_t file, const char *name, const char *want) {
    sdg_status st = SDG_OK;
    char *v = NULL;
    SDG_TRY(attr_read_str(file, name, &v));
    if (strcmp(v, want) != 0)
        SDG_FAIL(SDG_ERR_INVALID, "the file's %s is '%.200s', this run's '%.200s'", name, v, want);
cleanup:
    free(v);
    return st;
}

sdg_status h5_check_i64(hid_t file, const char *name, int64_t want) {
    int64_t v = 0;
    sdg_status st = attr_read_i64(file, name, &v);
    if (st == SDG_OK && v != want)
        st = SDG_ERROR(SDG_ERR_INVALID, "the file's %s is %lld, this run's %lld", name, (long long)v, (long long)want);
    return st;
}

/* ---- the run header and datasets of the resumable record files ---- */
sdg_status h5_run_write(hid_t file, const h5_run *run) {
    sdg_status st = SDG_OK;
    SDG_TRY(attr_write_str(file, "sdegen_format", run->format));
    SDG_TRY(attr_write_i64(file, "sdegen_format_version", run->version));
    SDG_TRY(attr_write_str(file, "sdegen_version", sdg_version()));
    SDG_TRY(attr_write_str(file, "model", run->model));
    SDG_TRY(attr_write_str(file, "dataset", run->dataset));
    SDG_TRY(attr_write_str(file, "sampler", run->sampler));
    if (run->cond) SDG_TRY(attr_write_str(file, "cond", run->cond));
    SDG_TRY(attr_write(file, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, &run->seed));
    SDG_TRY(attr_write_i64(file, "batch", run->batch));
    SDG_TRY(attr_write_i64(file, "threads", run->threads));
    SDG_TRY(attr_write_i64(file, "requested", run->requested));
    if (run->has_symprec) SDG_TRY(attr_write_f64(file, "symprec", run->symprec));
    SDG_TRY(attr_write_i64(file, "count", 0));
    SDG_TRY(attr_write_i64(file, "complete", 0));
cleanup:
    return st;
}

sdg_status h5_run_check(hid_t file, const h5_run *run, int64_t *count) {
    sdg_status st = SDG_OK;
    uint64_t seed = 0;
    *count = 0;
    SDG_TRY(h5_check_str(file, "model", run->model));
    SDG_TRY(h5_check_str(file, "dataset", run->dataset));
    SDG_TRY(h5_check_str(file, "sampler", run->sampler));
    if (run->cond) SDG_TRY(h5_check_str(file, "cond", run->cond));
    SDG_TRY(attr_read_scalar(file, "seed", H5T_INTEGER, "an integer", H5T_NATIVE_UINT64, &seed));
    if (seed != run->seed)
        SDG_FAIL(SDG_ERR_INVALID, "the file's seed is %llu, this run's %llu", (unsigned long long)seed,
                 (unsigned long long)run->seed);
    SDG_TRY(h5_check_i64(file, "batch", run->batch));
    SDG_TRY(h5_check_i64(file, "requested", run->requested));
    SDG_TRY(attr_read_i64(file, "count", count));
    if (*count < 0 || *count > run->requested || (*count % run->batch != 0 && *count != run->requested))
        SDG_FAIL(SDG_ERR_FORMAT, "count %lld is not a whole number of chunks of %lld (of %lld)", (long long)*count,
                 (long long)run->batch, (long long)run->requested);
cleanup:
    return st;
}

void h5_recfile_init(h5_recfile *h) {
    memset(h, 0, sizeof *h);
    h->file = h->strtype = H5_NONE;
    for (int k = 0; k < H5_RECORDS_MAX; k++) h->d[k] = H5_NONE;
}

void h5_recfile_close(h5_recfile *h) {
    for (int k = 0; k < H5_RECORDS_MAX; k++) h5_close(h->d[k]);
    h5_close(h->strtype);
    h5_close(h->file);
    h5_recfile_init(h);
}

sdg_status h5_records_create(const char *path, const h5_run *run, const h5_records *r, h5_recfile *h) {
    sdg_status st = SDG_OK;
    h->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (h->file < 0) H5_FAIL(SDG_ERR_IO, "cannot create");
    SDG_TRY(h5_strtype(&h->strtype));
    SDG_TRY(h5_run_write(h->file, run));
    for (int k = 0; k < r->n; k++)
        SDG_TRY(h5_grow_create(h->file, r->names[k], r->ftype(k, h->strtype), r->cols[k], r->chunk_rows, &h->d[k]));
    int64_t zero = 0;
    for (int k = 0; k < r->n; k++)
        if (r->rows_of[k] == H5_ROWS_OFFSETS)
            SDG_TRY(h5_grow_append(h->d[k], r->names[k], H5T_NATIVE_INT64, 1, &h->rows[k], &zero, 1));
    SDG_TRY(h5_set_count(h->file, 0, 0));
cleanup:
    return st;
}

sdg_status h5_records_reopen(const char *path, const h5_run *run, const h5_records *r, h5_recfile *h,
                             int64_t *count) {
    sdg_status st = SDG_OK;
    hid_t probe = H5_NONE;
    int64_t *off[H5_RECORDS_MAX] = {0}, items[H5_RECORDS_MAX] = {0};
    hsize_t n_off[H5_RECORDS_MAX] = {0};
    int n_offsets = 0, short_k = -1;
    *count = 0;
    SDG_TRY(h5_open_format(path, run->format, run->version, run->what, &probe));
    h5_close(probe);
    probe = H5_NONE;
    h->file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (h->file < 0) H5_FAIL(SDG_ERR_IO, "cannot open for writing");
    SDG_TRY(h5_strtype(&h->strtype));
    SDG_TRY(h5_run_check(h->file, run, count));
    for (int k = 0; k < r->n; k++)   /* the items committed, from each offsets dataset */
        if (r->rows_of[k] == H5_ROWS_OFFSETS) {
            SDG_TRY(h5_read_i64(h->file, r->names[k], 1, &n_off[k], &off[k]));
            n_offsets++;
            if (n_off[k] < (hsize_t)*count + 1 && short_k < 0) short_k = k;
        }
    if (short_k >= 0 && n_offsets == 1)
        SDG_FAIL(SDG_ERR_FORMAT, "/%s is shorter than count %lld + 1", r->names[short_k], (long long)*count);
    if (short_k >= 0) SDG_FAIL(SDG_ERR_FORMAT, "the offsets are shorter than count %lld + 1", (long long)*count);
    for (int k = 0; k < r->n; k++)
        if (off[k]) items[k] = off[k][*count];
    for (int k = 0; k < r->n; k++) {
        hsize_t have = 0, keep = (hsize_t)*count;
        if (r->rows_of[k] == H5_ROWS_OFFSETS) keep = (hsize_t)*count + 1;
        else if (r->rows_of[k] >= 0) keep = (hsize_t)items[r->rows_of[k]];
        SDG_TRY(h5_grow_open(h->file, r->names[k], r->cols[k], &have, &h->d[k]));
        if (have < keep)
            SDG_FAIL(SDG_ERR_FORMAT, "dataset /%s has %llu rows, fewer than the %llu committed", r->names[k],
                     (unsigned long long)have, (unsigned long long)keep);
        hsize_t ext[2] = {keep, (hsize_t)r->cols[k]};   /* drop the rows of an unfinished chunk */
        if (have > keep && H5Dset_extent(h->d[k], ext) < 0) H5_FAIL(SDG_ERR_IO, "cannot truncate /%s", r->names[k]);
        h->rows[k] = keep;
    }
    SDG_TRY(h5_set_count(h->file, *count, 0));
cleanup:
    h5_close(probe);
    for (int k = 0; k < r->n; k++) free(off[k]);
    return st;
}

sdg_status h5_records_finish(h5_recfile *h, const h5_records *r, int64_t count) {
    sdg_status st = SDG_OK;
    SDG_TRY(h5_set_count(h->file, count, 1));
    for (int k = 0; k < r->n; k++) {
        h5_close(h->d[k]);
        h->d[k] = H5_NONE;
    }
    herr_t rc = H5Fclose(h->file);
    h->file = H5_NONE;
    if (rc < 0) H5_FAIL(SDG_ERR_IO, "cannot finish writing");
cleanup:
    return st;
}
