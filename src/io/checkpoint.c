/* Checkpoints in HDF5: parameters, EMA shadows, Adam moments, generator state, metadata.
 *
 * Layout (format "sdegen-checkpoint", version 1):
 *   /                 attributes sdegen_format, sdegen_format_version (int64), sdegen_version
 *   /params/<name>    float32 dataset with the parameter's shape, one per parameter
 *   /ema/<name>       EMA shadow weights (optional)
 *   /adam/m/<name>    Adam first and second moments (optional); /adam has attributes
 *   /adam/v/<name>    steps (int64) and lr (double)
 *   /rng              uint8 dataset: the raw generator state of sdg_rng_state_save (optional;
 *                     GSL's in-memory layout, so it resumes on machines of the same ABI)
 *   /meta             attributes: int64, double or variable-length UTF-8 strings
 * Groups track link and attribute creation order, so that tools list parameters in model
 * order and metadata reads back in insertion order.
 *
 * Every HDF5 id is closed on every path. Loading reads the whole file into staging buffers
 * first and only then writes into the caller's objects, so a failed load changes nothing.
 * Messages name the file (prefixed at the public entry points) and end with HDF5's innermost
 * error description when HDF5 was the one to fail. Serial HDF5 is not thread-safe: do not
 * save or load from two threads at once. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <hdf5.h>
#include "io/internal.h"

/* ---- tensor lists: a params store, or one of Adam's moment lists ---- */
typedef struct tsrc {
    const sdg_params *p;      /* either this ...      */
    sdg_adam         *adam;   /* ... or these moments */
    int               which;
} tsrc;

static sdg_tensor *tsrc_at(const tsrc *s, size_t i) {
    if (s->p) return i < sdg_params_count(s->p) ? sdg_params_at(s->p, i) : NULL;
    return sdg_adam_moment(s->adam, i, s->which);
}

static sdg_status check_name(const char *what, const char *name) {
    if (!name || !*name) return SDG_ERROR(SDG_ERR_INVALID, "a %s has no name", what);
    if (strchr(name, '/') || strcmp(name, ".") == 0)
        return SDG_ERROR(SDG_ERR_INVALID, "%s name '%s' cannot be an HDF5 link name", what, name);
    return SDG_OK;
}

static char *dims_str(int nd, const hsize_t *dims, char *buf, size_t cap) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < nd && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, i ? ",%llu" : "%llu", (unsigned long long)dims[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
    return buf;
}

/* ---- save ---- */
static sdg_status tensors_write(hid_t loc, const char *group, const char *what, const tsrc *src) {
    sdg_status st = SDG_OK;
    hid_t g = H5_NONE, space = H5_NONE, d = H5_NONE;
    SDG_TRY(group_create(loc, group, &g));
    for (size_t i = 0;; i++) {
        const sdg_tensor *t = tsrc_at(src, i);
        if (!t) break;
        SDG_TRY(check_name(what, t->name));
        hsize_t dims[SDG_MAX_DIMS];
        for (int k = 0; k < t->ndim; k++) dims[k] = (hsize_t)t->shape[k];
        space = H5Screate_simple(t->ndim, dims, NULL);
        if (space < 0) H5_FAIL(SDG_ERR_DEPENDENCY, "cannot create a dataspace for '%s'", t->name);
        d = H5Dcreate2(g, t->name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (d < 0) H5_FAIL(SDG_ERR_IO, "cannot create dataset %s/%s", group, t->name);
        if (H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->data) < 0)
            H5_FAIL(SDG_ERR_IO, "cannot write dataset %s/%s", group, t->name);
        h5_close(d);
        h5_close(space);
        d = space = H5_NONE;
    }
cleanup:
    h5_close(d);
    h5_close(space);
    h5_close(g);
    return st;
}

static sdg_status rng_write(hid_t file, const sdg_rng *rng) {
    sdg_status st = SDG_OK;
    hid_t space = H5_NONE, d = H5_NONE;
    size_t cap = 8192, need = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) SDG_FAIL(SDG_ERR_NOMEM, "out of memory for the generator state");
    if (sdg_rng_state_save(rng, buf, cap, &need) != SDG_OK) {
        if (need <= cap) SDG_FAIL(SDG_ERR_INVALID, "cannot save the generator state: %s", sdg_errmsg());
        unsigned char *nb = realloc(buf, need);
        if (!nb) SDG_FAIL(SDG_ERR_NOMEM, "out of memory for the generator state");
        buf = nb;
        SDG_TRY(sdg_rng_state_save(rng, buf, need, &need));
    }
    hsize_t n = need;
    space = H5Screate_simple(1, &n, NULL);
    if (space < 0) H5_FAIL(SDG_ERR_DEPENDENCY, "cannot create a dataspace for /rng");
    d = H5Dcreate2(file, "rng", H5T_STD_U8LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0) H5_FAIL(SDG_ERR_IO, "cannot create dataset /rng");
    if (H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        H5_FAIL(SDG_ERR_IO, "cannot write dataset /rng");
cleanup:
    h5_close(d);
    h5_close(space);
    free(buf);
    return st;
}

static sdg_status meta_write(hid_t file, const sdg_meta *meta) {
    sdg_status st = SDG_OK;
    hid_t g = H5_NONE;
    SDG_TRY(group_create(file, "meta", &g));
    for (size_t i = 0; i < sdg_meta_count(meta); i++) {
        const char *key = sdg_meta_key(meta, i);
        switch (io_meta_type_at(meta, i)) {
        case IO_META_INT: {
            int64_t v = 0;
            SDG_TRY(sdg_meta_get_int(meta, key, &v));
            SDG_TRY(attr_write_i64(g, key, v));
            break;
        }
        case IO_META_DOUBLE: {
            double v = 0;
            SDG_TRY(sdg_meta_get_double(meta, key, &v));
            SDG_TRY(attr_write_f64(g, key, v));
            break;
        }
        case IO_META_STRING: {
            const char *v = NULL;
            SDG_TRY(sdg_meta_get_string(meta, key, &v));
            SDG_TRY(attr_write_str(g, key, v));
            break;
        }
        }
    }
cleanup:
    h5_close(g);
    return st;
}

static sdg_status file_sync(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return SDG_ERROR(SDG_ERR_IO, "cannot reopen %s: %s", path, strerror(errno));
    int rc = fsync(fd), err = errno;
    close(fd);
    return rc == 0 ? SDG_OK : SDG_ERROR(SDG_ERR_IO, "cannot sync %s: %s", path, strerror(err));
}

sdg_status sdg_checkpoint_save(const char *path, const sdg_checkpoint *ck) {
    sdg_status st = SDG_OK;
    hid_t file = H5_NONE, g = H5_NONE;
    char *tmp = NULL;
    bool made_tmp = false;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (!path || !*path) return SDG_ERROR(SDG_ERR_INVALID, "checkpoint: no path");
    if (!ck || !ck->params) SDG_FAIL(SDG_ERR_INVALID, "checkpoint: no parameters to save");
    tmp = malloc(strlen(path) + 5);
    if (!tmp) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    sprintf(tmp, "%s.tmp", path);

    file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) H5_FAIL(SDG_ERR_IO, "cannot create %s", tmp);
    made_tmp = true;
    SDG_TRY(attr_write_str(file, "sdegen_format", SDG_CHECKPOINT_FORMAT));
    SDG_TRY(attr_write_i64(file, "sdegen_format_version", SDG_CHECKPOINT_FORMAT_VERSION));
    SDG_TRY(attr_write_str(file, "sdegen_version", sdg_version()));

    SDG_TRY(tensors_write(file, "params", "parameter", &(tsrc){.p = ck->params}));
    if (ck->ema) SDG_TRY(tensors_write(file, "ema", "EMA parameter", &(tsrc){.p = sdg_ema_shadow(ck->ema)}));
    if (ck->adam) {
        SDG_TRY(group_create(file, "adam", &g));
        SDG_TRY(attr_write_i64(g, "steps", sdg_adam_steps(ck->adam)));
        SDG_TRY(attr_write_f64(g, "lr", (double)sdg_adam_lr(ck->adam)));
        SDG_TRY(tensors_write(g, "m", "Adam moment", &(tsrc){.adam = ck->adam, .which = 0}));
        SDG_TRY(tensors_write(g, "v", "Adam moment", &(tsrc){.adam = ck->adam, .which = 1}));
        h5_close(g);
        g = H5_NONE;
    }
    if (ck->buffers) SDG_TRY(tensors_write(file, "buffers", "buffer", &(tsrc){.p = ck->buffers}));
    if (ck->rng) SDG_TRY(rng_write(file, ck->rng));
    SDG_TRY(meta_write(file, ck->meta));

    herr_t rc = H5Fclose(file);
    file = H5_NONE;
    if (rc < 0) H5_FAIL(SDG_ERR_IO, "cannot finish writing %s", tmp);
    SDG_TRY(file_sync(tmp));
    if (rename(tmp, path) != 0)
        SDG_FAIL(SDG_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    made_tmp = false;
cleanup:
    h5_close(g);
    h5_close(file);
    if (made_tmp) remove(tmp);
    if (st != SDG_OK) sdg_error_prefix("%s", path);
    free(tmp);
    return st;
}

/* ---- load ---- */
/* Data read from the file, held until every check has passed. */
typedef struct stage {
    struct { float *buf; sdg_tensor *dst; } *items;
    size_t         n, cap;
    unsigned char *rng;
    size_t         rng_size;
    int64_t        steps;
    double         lr;
    sdg_meta      *meta;
} stage;

static void stage_destroy(stage *s) {
    for (size_t i = 0; i < s->n; i++) free(s->items[i].buf);
    free(s->items);
    free(s->rng);
    sdg_meta_free(s->meta);
}

static float *stage_push(stage *s, sdg_tensor *dst) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 32;
        void *items = realloc(s->items, cap * sizeof *s->items);
        if (!items) return NULL;
        s->items = items;
        s->cap = cap;
    }
    float *buf = malloc((size_t)dst->size * sizeof(float));
    if (!buf) return NULL;
    s->items[s->n].buf = buf;
    s->items[s->n].dst = dst;
    s->n++;
    return buf;
}

typedef struct extra_ctx {
    const tsrc *src;
    char        name[256];
} extra_ctx;

static herr_t extra_cb(hid_t g, const char *name, const H5L_info_t *info, void *ud) {
    (void)g;
    (void)info;
    extra_ctx *c = ud;
    for (size_t i = 0;; i++) {
        const sdg_tensor *t = tsrc_at(c->src, i);
        if (!t) break;
        if (strcmp(t->name, name) == 0) return 0;
    }
    snprintf(c->name, sizeof c->name, "%s", name);
    return 1;
}

/* Checks group (in loc) against the tensors of src, and reads them into the stage.
 * label names the group in messages ("/ema"); what names one tensor ("EMA parameter"). */
static sdg_status tensors_read(hid_t loc, const char *group, const char *label, const char *what,
                               const tsrc *src, stage *stg) {
    sdg_status st = SDG_OK;
    hid_t g = H5_NONE, d = H5_NONE, type = H5_NONE, space = H5_NONE;
    bool ex = false;
    SDG_TRY(link_exists(loc, group, &ex));
    if (!ex) SDG_FAIL(SDG_ERR_FORMAT, "no %s group", label);
    g = H5Gopen2(loc, group, H5P_DEFAULT);
    if (g < 0) H5_FAIL(SDG_ERR_FORMAT, "%s is not a group", label);
    for (size_t i = 0;; i++) {
        sdg_tensor *t = tsrc_at(src, i);
        if (!t) break;
        SDG_TRY(check_name(what, t->name));
        SDG_TRY(link_exists(g, t->name, &ex));
        if (!ex) SDG_FAIL(SDG_ERR_NOTFOUND, "%s '%s' is missing", what, t->name);
        d = H5Dopen2(g, t->name, H5P_DEFAULT);
        if (d < 0) H5_FAIL(SDG_ERR_FORMAT, "%s '%s' is not a dataset", what, t->name);
        type = H5Dget_type(d);
        space = H5Dget_space(d);
        if (type < 0 || space < 0) H5_FAIL(SDG_ERR_FORMAT, "cannot inspect %s '%s'", what, t->name);
        if (H5Tget_class(type) != H5T_FLOAT)
            SDG_FAIL(SDG_ERR_FORMAT, "%s '%s' is not floating-point", what, t->name);
        hsize_t dims[H5S_MAX_RANK];
        int nd = H5Sget_simple_extent_dims(space, dims, NULL);
        if (nd < 0) H5_FAIL(SDG_ERR_FORMAT, "cannot read the shape of %s '%s'", what, t->name);
        bool same = nd == t->ndim;
        for (int k = 0; same && k < nd; k++) same = dims[k] == (hsize_t)t->shape[k];
        if (!same) {
            char fs[160], ms[160];
            SDG_FAIL(SDG_ERR_SHAPE, "%s '%s' has shape %s, the model expects %s", what, t->name,
                     dims_str(nd, dims, fs, sizeof fs), sdg_tensor_shape_str(t, ms, sizeof ms));
        }
        float *buf = stage_push(stg, t);
        if (!buf) SDG_FAIL(SDG_ERR_NOMEM, "out of memory reading %s '%s'", what, t->name);
        if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
            H5_FAIL(SDG_ERR_FORMAT, "cannot read %s '%s'", what, t->name);
        h5_close(space);
        h5_close(type);
        h5_close(d);
        d = type = space = H5_NONE;
    }
    extra_ctx ec = {.src = src};
    herr_t rc = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, NULL, extra_cb, &ec);
    if (rc < 0) H5_FAIL(SDG_ERR_FORMAT, "cannot list %s", label);
    if (rc > 0) SDG_FAIL(SDG_ERR_FORMAT, "unexpected %s '%s'", what, ec.name);
cleanup:
    h5_close(space);
    h5_close(type);
    h5_close(d);
    h5_close(g);
    return st;
}

static sdg_status rng_read(hid_t file, stage *stg) {
    sdg_status st = SDG_OK;
    hid_t d = H5_NONE, type = H5_NONE, space = H5_NONE;
    d = H5Dopen2(file, "rng", H5P_DEFAULT);
    if (d < 0) H5_FAIL(SDG_ERR_FORMAT, "/rng is not a dataset");
    type = H5Dget_type(d);
    space = H5Dget_space(d);
    if (type < 0 || space < 0) H5_FAIL(SDG_ERR_FORMAT, "cannot inspect /rng");
    if (H5Tget_class(type) != H5T_INTEGER || H5Tget_size(type) != 1 ||
        H5Sget_simple_extent_ndims(space) != 1)
        SDG_FAIL(SDG_ERR_FORMAT, "/rng is not a 1-D byte array");
    hssize_t n = H5Sget_simple_extent_npoints(space);
    if (n <= 0) SDG_FAIL(SDG_ERR_FORMAT, "/rng is empty");
    stg->rng = malloc((size_t)n);
    if (!stg->rng) SDG_FAIL(SDG_ERR_NOMEM, "out of memory for the generator state");
    stg->rng_size = (size_t)n;
    if (H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, stg->rng) < 0)
        H5_FAIL(SDG_ERR_FORMAT, "cannot read /rng");
cleanup:
    h5_close(space);
    h5_close(type);
    h5_close(d);
    return st;
}

typedef struct meta_ctx {
    sdg_meta  *meta;
    sdg_status st;
} meta_ctx;

static herr_t meta_cb(hid_t loc, const char *name, const H5A_info_t *info, void *ud) {
    (void)info;
    meta_ctx *c = ud;
    sdg_status st = SDG_OK;
    hid_t a = H5_NONE, type = H5_NONE;
    char *s = NULL;
    a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) H5_FAIL(SDG_ERR_FORMAT, "cannot open /meta attribute '%s'", name);
    type = H5Aget_type(a);
    if (type < 0) H5_FAIL(SDG_ERR_FORMAT, "cannot inspect /meta attribute '%s'", name);
    H5T_class_t cls = H5Tget_class(type);
    if (cls == H5T_INTEGER) {
        int64_t v = 0;
        SDG_TRY(attr_read_i64(loc, name, &v));
        SDG_TRY(sdg_meta_set_int(c->meta, name, v));
    } else if (cls == H5T_FLOAT) {
        double v = 0;
        SDG_TRY(attr_read_f64(loc, name, &v));
        SDG_TRY(sdg_meta_set_double(c->meta, name, v));
    } else if (cls == H5T_STRING) {
        SDG_TRY(attr_read_str(loc, name, &s));
        SDG_TRY(sdg_meta_set_string(c->meta, name, s));
    } else {
        SDG_FAIL(SDG_ERR_FORMAT, "/meta attribute '%s' is not an integer, a number or a string", name);
    }
cleanup:
    free(s);
    h5_close(type);
    h5_close(a);
    c->st = st;
    return st == SDG_OK ? 0 : -1;
}

/* Fills meta with the attributes of /meta (none when the group is absent). */
static sdg_status meta_read(hid_t file, sdg_meta *meta) {
    sdg_status st = SDG_OK;
    hid_t g = H5_NONE, gcpl = H5_NONE;
    bool ex = false;
    SDG_TRY(link_exists(file, "meta", &ex));
    if (!ex) goto cleanup;
    g = H5Gopen2(file, "meta", H5P_DEFAULT);
    if (g < 0) H5_FAIL(SDG_ERR_FORMAT, "/meta is not a group");
    gcpl = H5Gget_create_plist(g);
    unsigned flags = 0;
    if (gcpl < 0 || H5Pget_attr_creation_order(gcpl, &flags) < 0)
        H5_FAIL(SDG_ERR_FORMAT, "cannot inspect /meta");
    H5_index_t idx = (flags & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
    meta_ctx mc = {.meta = meta, .st = SDG_OK};
    if (H5Aiterate2(g, idx, H5_ITER_INC, NULL, meta_cb, &mc) < 0) {
        st = mc.st;   /* the callback's own message stands */
        if (st != SDG_OK) goto cleanup;
        H5_FAIL(SDG_ERR_FORMAT, "cannot list the attributes of /meta");
    }
cleanup:
    h5_close(gcpl);
    h5_close(g);
    return st;
}

/* Opens path read-only after checking that it is an sdegen checkpoint of our version. */
static sdg_status checkpoint_open(const char *path, hid_t *out) {
    return h5_open_format(path, SDG_CHECKPOINT_FORMAT, SDG_CHECKPOINT_FORMAT_VERSION, "sdegen checkpoint", out);
}

sdg_status sdg_checkpoint_load(const char *path, sdg_checkpoint *ck) {
    sdg_status st = SDG_OK;
    hid_t file = H5_NONE, adam = H5_NONE;
    stage stg = {0};
    bool ex = false;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (!path || !*path) return SDG_ERROR(SDG_ERR_INVALID, "checkpoint: no path");
    if (!ck || !ck->params) SDG_FAIL(SDG_ERR_INVALID, "checkpoint: no parameters to load into");
    SDG_TRY(checkpoint_open(path, &file));

    SDG_TRY(tensors_read(file, "params", "/params", "parameter", &(tsrc){.p = ck->params}, &stg));
    if (ck->ema) {
        SDG_TRY(link_exists(file, "ema", &ex));
        if (!ex) SDG_FAIL(SDG_ERR_NOTFOUND, "no EMA weights (/ema), but an EMA was given to load");
        SDG_TRY(tensors_read(file, "ema", "/ema", "EMA parameter",
                             &(tsrc){.p = sdg_ema_shadow(ck->ema)}, &stg));
    }
    if (ck->adam) {
        SDG_TRY(link_exists(file, "adam", &ex));
        if (!ex) SDG_FAIL(SDG_ERR_NOTFOUND, "no optimiser state (/adam), but an optimiser was given to load");
        adam = H5Gopen2(file, "adam", H5P_DEFAULT);
        if (adam < 0) H5_FAIL(SDG_ERR_FORMAT, "/adam is not a group");
        SDG_TRY(attr_read_i64(adam, "steps", &stg.steps));
        SDG_TRY(attr_read_f64(adam, "lr", &stg.lr));
        if (stg.steps < 0) SDG_FAIL(SDG_ERR_FORMAT, "/adam has %lld steps", (long long)stg.steps);
        SDG_TRY(tensors_read(adam, "m", "/adam/m", "Adam first moment",
                             &(tsrc){.adam = ck->adam, .which = 0}, &stg));
        SDG_TRY(tensors_read(adam, "v", "/adam/v", "Adam second moment",
                             &(tsrc){.adam = ck->adam, .which = 1}, &stg));
    }
    if (ck->rng) {
        SDG_TRY(link_exists(file, "rng", &ex));
        if (!ex) SDG_FAIL(SDG_ERR_NOTFOUND, "no generator state (/rng), but a generator was given to load");
        SDG_TRY(rng_read(file, &stg));
    }
    if (ck->meta) {
        SDG_TRY(sdg_meta_new(&stg.meta));
        SDG_TRY(meta_read(file, stg.meta));
    }

    /* commit: the generator first, as the only step that can still refuse */
    if (ck->rng) SDG_TRY(sdg_rng_state_load(ck->rng, stg.rng, stg.rng_size));
    for (size_t i = 0; i < stg.n; i++)
        memcpy(stg.items[i].dst->data, stg.items[i].buf, (size_t)stg.items[i].dst->size * sizeof(float));
    if (ck->adam) sdg_adam_set_state(ck->adam, stg.steps, (float)stg.lr);
    if (ck->meta) io_meta_swap(ck->meta, stg.meta);
cleanup:
    h5_close(adam);
    h5_close(file);
    stage_destroy(&stg);
    if (st != SDG_OK) sdg_error_prefix("%s", path);
    return st;
}

sdg_status sdg_checkpoint_read_meta(const char *path, sdg_meta *meta) {
    sdg_status st = SDG_OK;
    hid_t file = H5_NONE;
    sdg_meta *tmp = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (!path || !*path) return SDG_ERROR(SDG_ERR_INVALID, "checkpoint: no path");
    if (!meta) SDG_FAIL(SDG_ERR_INVALID, "checkpoint: no metadata store to fill");
    SDG_TRY(checkpoint_open(path, &file));
    SDG_TRY(sdg_meta_new(&tmp));
    SDG_TRY(meta_read(file, tmp));
    io_meta_swap(meta, tmp);
cleanup:
    sdg_meta_free(tmp);
    h5_close(file);
    if (st != SDG_OK) sdg_error_prefix("%s", path);
    return st;
}

sdg_status io_load_weights(const char *path, sdg_params *P, bool ema) {
    sdg_status st = SDG_OK;
    sdg_ema *e = NULL;
    if (!ema) return sdg_checkpoint_load(path, &(sdg_checkpoint){.params = P});
    SDG_TRY(sdg_ema_new(P, 0.999f, &e));
    SDG_TRY(sdg_checkpoint_load(path, &(sdg_checkpoint){.params = P, .ema = e}));
    SDG_TRY(sdg_params_copy(P, sdg_ema_shadow(e)));
cleanup:
    sdg_ema_free(e);
    return st;
}
