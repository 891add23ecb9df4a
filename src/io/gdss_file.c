/* Reading foreign HDF5 files (datasets as float32, string attributes), and GDSS models:
 * import of the GDSS reference weights, save and load as sdegen checkpoints.
 * Every HDF5 id is closed on every path; messages name the file and the object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hdf5.h>
#include "io/internal.h"



struct sdg_h5_file {
    hid_t id;
    char *path;
};

sdg_status sdg_h5_open(const char *path, sdg_h5_file **out) {
    sdg_status st = SDG_OK;
    sdg_h5_file *f = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (!out || !path) return SDG_ERROR(SDG_ERR_INVALID, "h5: missing argument");
    *out = NULL;
    f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    f->id = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f->id < 0) SDG_FAIL(SDG_ERR_IO, "%s: cannot open as an HDF5 file", path);
    *out = f;
    f = NULL;
cleanup:
    sdg_h5_close(f);
    return st;
}

void sdg_h5_close(sdg_h5_file *f) {
    if (!f) return;
    if (f->id >= 0) H5Fclose(f->id);
    free(f->path);
    free(f);
}

bool sdg_h5_exists(sdg_h5_file *f, const char *path) {
    if (!f || !path) return false;
    if (strcmp(path, "/") == 0) return true;
    /* every intermediate link must exist too (H5Lexists fails otherwise) */
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return false;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        bool ok = H5Lexists(f->id, buf, H5P_DEFAULT) > 0;
        *p = '/';
        if (!ok) return false;
    }
    return H5Lexists(f->id, buf, H5P_DEFAULT) > 0;
}

sdg_status sdg_h5_group_size(sdg_h5_file *f, const char *path, size_t *count) {
    sdg_status st = SDG_OK;
    hid_t g = H5_NONE;
    H5G_info_t info;
    if (!sdg_h5_exists(f, path)) SDG_FAIL(SDG_ERR_NOTFOUND, "%s: no group %s", f ? f->path : "?", path);
    g = H5Gopen2(f->id, path, H5P_DEFAULT);
    if (g < 0 || H5Gget_info(g, &info) < 0) SDG_FAIL(SDG_ERR_FORMAT, "%s: %s is not a group", f->path, path);
    *count = (size_t)info.nlinks;
cleanup:
    if (g >= 0) H5Gclose(g);
    return st;
}

sdg_status sdg_h5_read_floats(sdg_h5_file *f, const char *path, int *ndim,
                              int64_t shape[SDG_MAX_DIMS], float **data) {
    sdg_status st = SDG_OK;
    hid_t d = H5_NONE, space = H5_NONE, type = H5_NONE;
    float *buf = NULL;
    *data = NULL;
    if (!sdg_h5_exists(f, path)) SDG_FAIL(SDG_ERR_NOTFOUND, "%s: no dataset %s", f ? f->path : "?", path);
    d = H5Dopen2(f->id, path, H5P_DEFAULT);
    if (d < 0) SDG_FAIL(SDG_ERR_FORMAT, "%s: %s is not a dataset", f->path, path);
    type = H5Dget_type(d);
    space = H5Dget_space(d);
    if (type < 0 || space < 0 || H5Tget_class(type) != H5T_FLOAT)
        SDG_FAIL(SDG_ERR_FORMAT, "%s: dataset %s is not floating-point", f->path, path);
    int nd = H5Sget_simple_extent_ndims(space);
    if (nd < 0 || nd > SDG_MAX_DIMS)
        SDG_FAIL(SDG_ERR_FORMAT, "%s: dataset %s has %d dimensions (at most %d)", f->path, path, nd,
                 SDG_MAX_DIMS);
    hsize_t dims[SDG_MAX_DIMS] = {0};
    H5Sget_simple_extent_dims(space, dims, NULL);
    size_t n = 1;
    for (int k = 0; k < nd; k++) {
        shape[k] = (int64_t)dims[k];
        n *= (size_t)dims[k];
    }
    buf = malloc((n ? n : 1) * sizeof(float));
    if (!buf) SDG_FAIL(SDG_ERR_NOMEM, "%s: out of memory reading %s", f->path, path);
    if (n && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        SDG_FAIL(SDG_ERR_IO, "%s: cannot read dataset %s", f->path, path);
    *ndim = nd;
    *data = buf;
    buf = NULL;
cleanup:
    free(buf);
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    if (d >= 0) H5Dclose(d);
    return st;
}

sdg_status sdg_h5_read_attr_string(sdg_h5_file *f, const char *obj_path, const char *attr, char **out) {
    sdg_status st = SDG_OK;
    hid_t a = H5_NONE, type = H5_NONE, mtype = H5_NONE, space = H5_NONE;
    char *vs = NULL, *s = NULL;
    *out = NULL;
    if (!f || !attr) return SDG_ERROR(SDG_ERR_INVALID, "h5: missing argument");
    if (H5Aexists_by_name(f->id, obj_path, attr, H5P_DEFAULT) <= 0)
        SDG_FAIL(SDG_ERR_NOTFOUND, "%s: %s has no attribute '%s'", f->path, obj_path, attr);
    a = H5Aopen_by_name(f->id, obj_path, attr, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) SDG_FAIL(SDG_ERR_FORMAT, "%s: cannot open attribute '%s'", f->path, attr);
    type = H5Aget_type(a);
    space = H5Aget_space(a);
    if (type < 0 || space < 0 || H5Tget_class(type) != H5T_STRING || H5Sget_simple_extent_npoints(space) != 1)
        SDG_FAIL(SDG_ERR_FORMAT, "%s: attribute '%s' is not one string", f->path, attr);
    mtype = H5Tcopy(type);
    if (mtype < 0) SDG_FAIL(SDG_ERR_DEPENDENCY, "%s: cannot copy a string type", f->path);
    if (H5Tis_variable_str(type) > 0) {
        if (H5Aread(a, mtype, &vs) < 0) SDG_FAIL(SDG_ERR_IO, "%s: cannot read attribute '%s'", f->path, attr);
        s = strdup(vs ? vs : "");
    } else {
        size_t n = H5Tget_size(type);
        s = calloc(n + 1, 1);
        if (s && H5Aread(a, mtype, s) < 0) SDG_FAIL(SDG_ERR_IO, "%s: cannot read attribute '%s'", f->path, attr);
    }
    if (!s) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    *out = s;
    s = NULL;
cleanup:
    if (vs) H5free_memory(vs);
    free(s);
    if (mtype >= 0) H5Tclose(mtype);
    if (space >= 0) H5Sclose(space);
    if (type >= 0) H5Tclose(type);
    if (a >= 0) H5Aclose(a);
    return st;
}

/* ---- GDSS reference files ---- */
static bool has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* Copies /<group>/<name> into every parameter of m->params whose name starts with prefix. */
static sdg_status copy_group(sdg_h5_file *f, const sdg_gdss_model *m, const char *group,
                             const char *prefix) {
    sdg_status st = SDG_OK;
    float *data = NULL;
    size_t used = 0, in_file = 0;
    char path[512], want[64], got[64];
    for (size_t i = 0; i < sdg_params_count(m->params); i++) {
        sdg_tensor *t = sdg_params_at(m->params, i);
        if (!has_prefix(t->name, prefix)) continue;
        snprintf(path, sizeof path, "/%s/%s", group, t->name + strlen(prefix));
        int nd = 0;
        int64_t shape[SDG_MAX_DIMS];
        SDG_TRY(sdg_h5_read_floats(f, path, &nd, shape, &data));
        bool same = nd == t->ndim;
        for (int k = 0; same && k < nd; k++) same = shape[k] == t->shape[k];
        if (!same) {
            sdg_tensor file_t = {.ndim = nd};
            for (int k = 0; k < nd; k++) file_t.shape[k] = shape[k];
            SDG_FAIL(SDG_ERR_SHAPE, "%s: tensor %s has shape %s, the network expects %s", f->path,
                     path, sdg_tensor_shape_str(&file_t, got, sizeof got),
                     sdg_tensor_shape_str(t, want, sizeof want));
        }
        memcpy(t->data, data, (size_t)t->size * sizeof(float));
        free(data);
        data = NULL;
        used++;
    }
    snprintf(path, sizeof path, "/%s", group);
    SDG_TRY(sdg_h5_group_size(f, path, &in_file));
    if (in_file != used)
        SDG_FAIL(SDG_ERR_FORMAT, "%s: group %s holds %zu tensors, the network has %zu", f->path,
                 path, in_file, used);
cleanup:
    free(data);
    return st;
}

sdg_status sdg_gdss_model_read_reference(const char *gdss_h5, sdg_gdss_model **out) {
    sdg_status st = SDG_OK;
    sdg_h5_file *f = NULL;
    sdg_gdss_model *m = NULL;
    char *px = NULL, *pa = NULL, *cfg = NULL;
    sdg_gdss_params hx, ha;
    sdg_gdss_settings set;
    if (!out) return SDG_ERROR(SDG_ERR_INVALID, "gdss: no output pointer");
    *out = NULL;
    SDG_TRY(sdg_h5_open(gdss_h5, &f));
    SDG_TRY(sdg_h5_read_attr_string(f, "/", "params_x", &px));
    SDG_TRY(sdg_h5_read_attr_string(f, "/", "params_adj", &pa));
    SDG_TRY(sdg_h5_read_attr_string(f, "/", "model_config", &cfg));
    if ((st = sdg_gdss_params_from_json(px, &hx)) != SDG_OK) {
        sdg_error_prefix("%s: params_x", gdss_h5);
        goto cleanup;
    }
    if ((st = sdg_gdss_params_from_json(pa, &ha)) != SDG_OK) {
        sdg_error_prefix("%s: params_adj", gdss_h5);
        goto cleanup;
    }
    if ((st = sdg_gdss_settings_from_json(cfg, &set)) != SDG_OK) {
        sdg_error_prefix("%s: model_config", gdss_h5);
        goto cleanup;
    }
    hx.N = ha.N;   /* ScoreNetworkX's arguments carry no max_node_num */
    SDG_TRY(sdg_gdss_model_new(&hx, &ha, &set, NULL, &m));
    SDG_TRY(copy_group(f, m, "x", "x."));
    SDG_TRY(copy_group(f, m, "adj", "adj."));
    *out = m;
    m = NULL;
cleanup:
    sdg_gdss_model_free(m);
    free(px);
    free(pa);
    free(cfg);
    sdg_h5_close(f);
    return st;
}

/* ---- checkpoints ---- */
static sdg_status meta_put_net(sdg_meta *meta, const char *pre, const sdg_gdss_params *hp) {
    sdg_status st = SDG_OK;
    char key[64];
#define PUT_INT(name, v)                                                                      \
    do { snprintf(key, sizeof key, "%s.%s", pre, name); SDG_TRY(sdg_meta_set_int(meta, key, v)); } while (0)
    snprintf(key, sizeof key, "%s.model_type", pre);
    SDG_TRY(sdg_meta_set_string(meta, key, sdg_gdss_net_kind_name(hp->kind)));
    PUT_INT("max_feat_num", hp->F);
    PUT_INT("max_node_num", hp->N);
    PUT_INT("depth", hp->depth);
    PUT_INT("nhid", hp->nhid);
    PUT_INT("adim", hp->adim);
    PUT_INT("num_heads", hp->heads);
    PUT_INT("c_init", hp->c_init);
    PUT_INT("c_hid", hp->c_hid);
    PUT_INT("c_final", hp->c_final);
    PUT_INT("num_layers", hp->num_layers);
    PUT_INT("num_linears", hp->num_linears);
#undef PUT_INT
cleanup:
    return st;
}

static sdg_status meta_get_net(const sdg_meta *meta, const char *pre, sdg_gdss_params *hp) {
    sdg_status st = SDG_OK;
    char key[64];
    const char *type = NULL;
    int64_t v = 0;
    snprintf(key, sizeof key, "%s.model_type", pre);
    SDG_TRY(sdg_meta_get_string(meta, key, &type));
    if (strcmp(type, "ScoreNetworkX") == 0) *hp = sdg_gdss_default_params(SDG_GDSS_NET_KIND_X);
    else if (strcmp(type, "ScoreNetworkX_GMH") == 0) *hp = sdg_gdss_default_params(SDG_GDSS_NET_KIND_X_GMH);
    else if (strcmp(type, "ScoreNetworkA") == 0) *hp = sdg_gdss_default_params(SDG_GDSS_NET_KIND_A);
    else SDG_FAIL(SDG_ERR_FORMAT, "meta %s = '%s' is not a GDSS network", key, type);
#define GET_INT(name, field)                                                                  \
    do { snprintf(key, sizeof key, "%s.%s", pre, name); SDG_TRY(sdg_meta_get_int(meta, key, &v)); \
         hp->field = v; } while (0)
    GET_INT("max_feat_num", F);
    GET_INT("max_node_num", N);
    GET_INT("depth", depth);
    GET_INT("nhid", nhid);
    GET_INT("adim", adim);
    GET_INT("num_heads", heads);
    GET_INT("c_init", c_init);
    GET_INT("c_hid", c_hid);
    GET_INT("c_final", c_final);
    GET_INT("num_layers", num_layers);
    GET_INT("num_linears", num_linears);
#undef GET_INT
cleanup:
    return st;
}

static sdg_status meta_put_sde(sdg_meta *meta, const char *pre, const sdg_gdss_sde *sde) {
    sdg_status st = SDG_OK;
    char key[64];
    bool vp = sde->kind == SDG_GDSS_SDE_KIND_VP;
    snprintf(key, sizeof key, "%s.type", pre);
    SDG_TRY(sdg_meta_set_string(meta, key, vp ? "VP" : "VE"));
    snprintf(key, sizeof key, "%s.%s", pre, vp ? "beta_min" : "sigma_min");
    SDG_TRY(sdg_meta_set_double(meta, key, sde->lo));
    snprintf(key, sizeof key, "%s.%s", pre, vp ? "beta_max" : "sigma_max");
    SDG_TRY(sdg_meta_set_double(meta, key, sde->hi));
    snprintf(key, sizeof key, "%s.num_scales", pre);
    SDG_TRY(sdg_meta_set_int(meta, key, sde->n_steps));
cleanup:
    return st;
}

static sdg_status meta_get_sde(const sdg_meta *meta, const char *pre, sdg_gdss_sde *sde) {
    sdg_status st = SDG_OK;
    char key[64];
    const char *type = NULL;
    int64_t n = 0;
    snprintf(key, sizeof key, "%s.type", pre);
    SDG_TRY(sdg_meta_get_string(meta, key, &type));
    if (strcmp(type, "VP") != 0 && strcmp(type, "VE") != 0)
        SDG_FAIL(SDG_ERR_FORMAT, "meta %s = '%s' (VP or VE expected)", key, type);
    bool vp = strcmp(type, "VP") == 0;
    sde->kind = vp ? SDG_GDSS_SDE_KIND_VP : SDG_GDSS_SDE_KIND_VE;
    snprintf(key, sizeof key, "%s.%s", pre, vp ? "beta_min" : "sigma_min");
    SDG_TRY(sdg_meta_get_double(meta, key, &sde->lo));
    snprintf(key, sizeof key, "%s.%s", pre, vp ? "beta_max" : "sigma_max");
    SDG_TRY(sdg_meta_get_double(meta, key, &sde->hi));
    snprintf(key, sizeof key, "%s.num_scales", pre);
    SDG_TRY(sdg_meta_get_int(meta, key, &n));
    sde->n_steps = (int)n;
cleanup:
    return st;
}

/* The flag table as two buffers (weights as float32: exact below 2^24 graphs). */
static sdg_status flags_buffers(const sdg_gdss_flags *f, sdg_params **out) {
    sdg_status  st = SDG_OK;
    sdg_params *b  = NULL;
    sdg_tensor *rows = NULL, *wt = NULL;
    *out = NULL;
    if (f->count == 0) return SDG_OK;
    if (f->total >= (int64_t)1 << 24) return SDG_ERROR(SDG_ERR_INVALID, "flag table of %lld graphs is too large", (long long)f->total);
    SDG_TRY(sdg_params_new(&b));
    SDG_TRY(sdg_params_add(b, "flags.rows", 2, (int64_t[]){(int64_t)f->count, f->N}, &rows));
    SDG_TRY(sdg_params_add(b, "flags.weight", 1, (int64_t[]){(int64_t)f->count}, &wt));
    memcpy(rows->data, f->rows, f->count * (size_t)f->N * sizeof *f->rows);
    for (size_t r = 0; r < f->count; r++) wt->data[r] = (float)f->weight[r];
    *out = b;
    b    = NULL;
cleanup:
    sdg_params_free(b);
    return st;
}

/* Reads /buffers/flags.{rows,weight} when present (a model without them has count 0). */
static sdg_status flags_read(const char *path, int64_t N, sdg_gdss_flags *out) {
    sdg_status   st = SDG_OK;
    sdg_h5_file *f  = NULL;
    float       *rows = NULL, *wt = NULL;
    int64_t     *w = NULL, sr[SDG_MAX_DIMS], sw[SDG_MAX_DIMS];
    int          nr = 0, nw = 0;
    SDG_TRY(sdg_h5_open(path, &f));
    if (!sdg_h5_exists(f, "/buffers/flags.rows")) goto cleanup;
    SDG_TRY(sdg_h5_read_floats(f, "/buffers/flags.rows", &nr, sr, &rows));
    SDG_TRY(sdg_h5_read_floats(f, "/buffers/flags.weight", &nw, sw, &wt));
    if (nr != 2 || nw != 1 || sr[1] != N || sw[0] != sr[0] || sr[0] < 1)
        SDG_FAIL(SDG_ERR_SHAPE, "%s: /buffers/flags.rows and flags.weight do not form a (count, %lld) table", path,
                 (long long)N);
    w = malloc((size_t)sw[0] * sizeof *w);
    if (!w) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    for (int64_t r = 0; r < sw[0]; r++) {
        if (!(wt[r] >= 1.0f && wt[r] < 16777216.0f && wt[r] == (float)(int64_t)wt[r]))
            SDG_FAIL(SDG_ERR_FORMAT, "%s: /buffers/flags.weight[%lld] = %g is not a count", path, (long long)r, (double)wt[r]);
        w[r] = (int64_t)wt[r];
    }
    st = sdg_gdss_flags_init(out, N, (size_t)sr[0], rows, w);
    if (st != SDG_OK) sdg_error_prefix("%s", path);
cleanup:
    free(rows);
    free(wt);
    free(w);
    sdg_h5_close(f);
    return st;
}

sdg_status io_gdss_model_meta(const sdg_gdss_model *m, sdg_meta **meta_out, sdg_params **buffers_out) {
    sdg_status st = SDG_OK;
    sdg_meta *meta = NULL;
    sdg_params *buffers = NULL;
    *meta_out = NULL;
    *buffers_out = NULL;
    if (!m || !m->net_x || !m->net_adj) return SDG_ERROR(SDG_ERR_INVALID, "gdss: no model to save");
    const sdg_gdss_settings *s = &m->settings;
    const sdg_gdss_params *hx = sdg_gdss_net_hparams(m->net_x), *ha = sdg_gdss_net_hparams(m->net_adj);
    SDG_TRY(sdg_meta_new(&meta));
    SDG_TRY(sdg_meta_set_string(meta, "model", "gdss"));
    SDG_TRY(sdg_meta_set_string(meta, "dataset", s->dataset));
    SDG_TRY(sdg_meta_set_int(meta, "max_node_num", ha->N));
    SDG_TRY(sdg_meta_set_int(meta, "max_feat_num", ha->F));
    SDG_TRY(meta_put_net(meta, "x", hx));
    SDG_TRY(meta_put_net(meta, "adj", ha));
    SDG_TRY(meta_put_sde(meta, "sde_x", &s->sde_x));
    SDG_TRY(meta_put_sde(meta, "sde_adj", &s->sde_adj));
    SDG_TRY(sdg_meta_set_string(meta, "sampler.predictor", s->predictor));
    SDG_TRY(sdg_meta_set_string(meta, "sampler.corrector", s->corrector));
    SDG_TRY(sdg_meta_set_double(meta, "sampler.snr", s->snr));
    SDG_TRY(sdg_meta_set_double(meta, "sampler.scale_eps", s->scale_eps));
    SDG_TRY(sdg_meta_set_double(meta, "sampler.eps", s->eps));
    SDG_TRY(sdg_meta_set_int(meta, "sampler.batch", s->batch));
    SDG_TRY(sdg_meta_set_int(meta, "sampler.use_ema", s->use_ema));
    SDG_TRY(flags_buffers(&m->flags, &buffers));
    *meta_out = meta;
    *buffers_out = buffers;
    meta = NULL;
    buffers = NULL;
cleanup:
    sdg_params_free(buffers);
    sdg_meta_free(meta);
    return st;
}

sdg_status sdg_gdss_model_save(const sdg_gdss_model *m, const char *path) {
    sdg_status st = SDG_OK;
    sdg_meta *meta = NULL;
    sdg_params *buffers = NULL;
    SDG_TRY(io_gdss_model_meta(m, &meta, &buffers));
    SDG_TRY(sdg_checkpoint_save(path, &(sdg_checkpoint){.params = m->params, .meta = meta, .buffers = buffers}));
cleanup:
    sdg_params_free(buffers);
    sdg_meta_free(meta);
    return st;
}

sdg_status sdg_gdss_model_load(const char *path, sdg_gdss_model **out) {
    return sdg_gdss_model_load_weights(path, SDG_GDSS_WEIGHTS_DEFAULT, out);
}

sdg_status sdg_gdss_model_load_weights(const char *path, sdg_gdss_weights which, sdg_gdss_model **out) {
    sdg_status st = SDG_OK;
    sdg_meta *meta = NULL;
    sdg_gdss_model *m = NULL;
    sdg_gdss_params hx, ha;
    sdg_gdss_settings s;
    const char *str = NULL;
    int64_t v = 0;
    if (!out) return SDG_ERROR(SDG_ERR_INVALID, "gdss: no output pointer");
    *out = NULL;
    memset(&s, 0, sizeof s);
    SDG_TRY(sdg_meta_new(&meta));
    SDG_TRY(sdg_checkpoint_read_meta(path, meta));
    if (sdg_meta_get_string(meta, "model", &str) != SDG_OK || strcmp(str, "gdss") != 0)
        SDG_FAIL(SDG_ERR_FORMAT, "%s: not a GDSS checkpoint (meta 'model' is not \"gdss\")", path);
    if ((st = meta_get_net(meta, "x", &hx)) != SDG_OK || (st = meta_get_net(meta, "adj", &ha)) != SDG_OK ||
        (st = meta_get_sde(meta, "sde_x", &s.sde_x)) != SDG_OK ||
        (st = meta_get_sde(meta, "sde_adj", &s.sde_adj)) != SDG_OK)
        goto prefixed;
    if ((st = sdg_meta_get_string(meta, "dataset", &str)) != SDG_OK) goto prefixed;
    snprintf(s.dataset, sizeof s.dataset, "%s", str);
    if ((st = sdg_meta_get_string(meta, "sampler.predictor", &str)) != SDG_OK) goto prefixed;
    snprintf(s.predictor, sizeof s.predictor, "%s", str);
    if ((st = sdg_meta_get_string(meta, "sampler.corrector", &str)) != SDG_OK) goto prefixed;
    snprintf(s.corrector, sizeof s.corrector, "%s", str);
    if ((st = sdg_meta_get_double(meta, "sampler.snr", &s.snr)) != SDG_OK ||
        (st = sdg_meta_get_double(meta, "sampler.scale_eps", &s.scale_eps)) != SDG_OK ||
        (st = sdg_meta_get_double(meta, "sampler.eps", &s.eps)) != SDG_OK)
        goto prefixed;
    if ((st = sdg_meta_get_int(meta, "sampler.batch", &v)) != SDG_OK) goto prefixed;
    s.batch = (int)v;
    if ((st = sdg_meta_get_int(meta, "sampler.use_ema", &v)) != SDG_OK) goto prefixed;
    s.use_ema = v != 0;
    if ((st = sdg_gdss_model_new(&hx, &ha, &s, NULL, &m)) != SDG_OK) goto prefixed;
    SDG_TRY(sdg_checkpoint_load(path, &(sdg_checkpoint){.params = m->params}));
    if (which == SDG_GDSS_WEIGHTS_EMA || (which == SDG_GDSS_WEIGHTS_DEFAULT && s.use_ema)) {
        sdg_h5_file *h = NULL;
        bool has_ema = false;
        SDG_TRY(sdg_h5_open(path, &h));
        has_ema = sdg_h5_exists(h, "/ema");
        sdg_h5_close(h);
        if (!has_ema && which == SDG_GDSS_WEIGHTS_EMA)
            SDG_FAIL(SDG_ERR_NOTFOUND, "%s: no EMA weights (/ema) in this model", path);
        if (has_ema) {
            SDG_TRY(io_load_weights(path, m->params, true));
            m->weights_ema = true;
        }
    }
    SDG_TRY(flags_read(path, ha.N, &m->flags));
    *out = m;
    m = NULL;
    goto cleanup;
prefixed:
    sdg_error_prefix("%s", path);
cleanup:
    sdg_gdss_model_free(m);
    sdg_meta_free(meta);
    return st;
}

sdg_status sdg_gdss_import(const char *gdss_h5, const char *out_checkpoint) {
    sdg_status st = SDG_OK;
    sdg_gdss_model *m = NULL;
    SDG_TRY(sdg_gdss_model_read_reference(gdss_h5, &m));
    SDG_TRY(sdg_gdss_model_save(m, out_checkpoint));
cleanup:
    sdg_gdss_model_free(m);
    return st;
}
