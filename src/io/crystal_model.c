/* Crystal model checkpoints (io.h "crystal models"): the U-Net's parameters, EMA and Adam in an
 * sdegen checkpoint, with everything needed to rebuild and use it in /meta: the net's sizes,
 * E_max/N_max and the element rows, the per-block scaler, sigma_data, the conditioning property
 * and its scaling, and the training parameters and epoch count for an exact --resume. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/internal.h"

#define MODEL_KIND "crystal_unet"

void sdg_crystal_model_free(sdg_crystal_model *m) {
    if (!m) return;
    sdg_crystal_unet_free(m->net);
    free(m);
}

static const char *const scaler_keys[18] = {
    "scaler.elem_mean", "scaler.elem_std", "scaler.lat_mean.0", "scaler.lat_mean.1", "scaler.lat_mean.2",
    "scaler.lat_mean.3", "scaler.lat_mean.4", "scaler.lat_mean.5", "scaler.lat_std.0", "scaler.lat_std.1",
    "scaler.lat_std.2", "scaler.lat_std.3", "scaler.lat_std.4", "scaler.lat_std.5", "scaler.coord_mean",
    "scaler.coord_std", "scaler.occ_mean", "scaler.occ_std"};

static void scaler_flat(const sdg_crystal_scaler *s, double v[18]) {
    v[0] = s->elem_mean, v[1] = s->elem_std;
    for (int k = 0; k < 6; k++) v[2 + k] = s->lat_mean[k], v[8 + k] = s->lat_std[k];
    v[14] = s->coord_mean, v[15] = s->coord_std, v[16] = s->occ_mean, v[17] = s->occ_std;
}
static void scaler_unflat(const double v[18], sdg_crystal_scaler *s) {
    s->elem_mean = v[0], s->elem_std = v[1];
    for (int k = 0; k < 6; k++) s->lat_mean[k] = v[2 + k], s->lat_std[k] = v[8 + k];
    s->coord_mean = v[14], s->coord_std = v[15], s->occ_mean = v[16], s->occ_std = v[17];
}

/* zs[0..n) as "Z Z Z" (ascending Z, single spaces; "" for none) into out. */
static void format_z(const int32_t *zs, int64_t n, char *out, size_t cap) {
    size_t o = 0;
    out[0] = '\0';
    for (int64_t k = 0; k < n && o < cap; k++)
        o += (size_t)snprintf(out + o, cap - o, "%s%d", k ? " " : "", (int)zs[k]);
}

sdg_status sdg_crystal_model_save(const char *path, const sdg_crystal_model *m, sdg_crystal_trainer *tr) {
    sdg_status st = SDG_OK;
    sdg_meta *meta = NULL;
    sdg_params *buf = NULL;
    sdg_ema *tmp_ema = NULL;
    sdg_tensor *t = NULL;
    if (!path || !m || !m->net) return SDG_ERROR(SDG_ERR_INVALID, "crystal model save: missing argument");
    const sdg_crystal_unet_params *np = sdg_crystal_unet_get_params(m->net);
    double v[18];
    SDG_TRY(sdg_meta_new(&meta));
    SDG_TRY(sdg_meta_set_string(meta, "model", MODEL_KIND));
    SDG_TRY(sdg_meta_set_string(meta, "dataset", m->dataset));
    SDG_TRY(sdg_meta_set_string(meta, "split", m->split));
    SDG_TRY(sdg_meta_set_int(meta, "net.width", np->width));
    SDG_TRY(sdg_meta_set_int(meta, "net.rows", np->rows));
    SDG_TRY(sdg_meta_set_int(meta, "net.base", np->base));
    SDG_TRY(sdg_meta_set_int(meta, "net.levels", np->levels));
    SDG_TRY(sdg_meta_set_int(meta, "net.blocks", np->blocks));
    SDG_TRY(sdg_meta_set_int(meta, "net.groups", np->groups));
    SDG_TRY(sdg_meta_set_int(meta, "net.emb", np->emb));
    SDG_TRY(sdg_meta_set_int(meta, "net.attention", np->attention));
    SDG_TRY(sdg_meta_set_int(meta, "net.n_cond", np->n_cond));
    SDG_TRY(sdg_meta_set_int(meta, "net.seed", (int64_t)np->seed));
    SDG_TRY(sdg_meta_set_int(meta, "matrix.e_max", m->mp.e_max));
    SDG_TRY(sdg_meta_set_int(meta, "matrix.n_max", m->mp.n_max));
    scaler_flat(&m->scaler, v);
    for (int k = 0; k < 18; k++) SDG_TRY(sdg_meta_set_double(meta, scaler_keys[k], v[k]));
    SDG_TRY(sdg_meta_set_double(meta, "edm.sigma_data", m->sigma_data));
    SDG_TRY(sdg_meta_set_string(meta, "cond.name", m->cond));
    SDG_TRY(sdg_meta_set_double(meta, "cond.mean", m->cond_mean));
    SDG_TRY(sdg_meta_set_double(meta, "cond.std", m->cond_std));
    int32_t dz[SDG_CRYSTAL_ZMAX];
    int64_t nd = 0;
    char    zs[SDG_CRYSTAL_ZMAX * 3 + 1];
    for (int z = 1; z <= SDG_CRYSTAL_ZMAX; z++)
        if (m->elements[z - 1]) dz[nd++] = z;
    format_z(dz, nd, zs, sizeof zs);
    SDG_TRY(sdg_meta_set_string(meta, "decode.elements", zs));
    format_z(m->mp.vocab, m->mp.n_vocab, zs, sizeof zs);   /* "": all of Z 1..94 */
    SDG_TRY(sdg_meta_set_string(meta, "matrix.element_rows", zs));
    SDG_TRY(sdg_params_new(&buf));
    SDG_TRY(sdg_params_add(buf, "scaler", 1, (int64_t[]){18}, &t));
    for (int k = 0; k < 18; k++) t->data[k] = (float)v[k];
    sdg_ema *ema = NULL;
    sdg_adam *adam = NULL;
    int64_t epochs = m->epochs;
    if (tr) {
        const sdg_crystal_train_params *tp = sdg_crystal_trainer_params(tr);
        epochs = sdg_crystal_trainer_epochs(tr);
        ema = sdg_crystal_trainer_ema(tr);
        adam = sdg_crystal_trainer_adam(tr);
        SDG_TRY(sdg_meta_set_int(meta, "train.batch", tp->batch));
        SDG_TRY(sdg_meta_set_double(meta, "train.lr", tp->lr));
        SDG_TRY(sdg_meta_set_double(meta, "train.grad_clip", tp->grad_clip));
        SDG_TRY(sdg_meta_set_double(meta, "train.ema_decay", tp->ema_decay));
        SDG_TRY(sdg_meta_set_double(meta, "train.p_uncond", tp->p_uncond));
        SDG_TRY(sdg_meta_set_double(meta, "train.p_mean", tp->p_mean));
        SDG_TRY(sdg_meta_set_double(meta, "train.p_std", tp->p_std));
        SDG_TRY(sdg_meta_set_int(meta, "train.seed", (int64_t)tp->seed));
        SDG_TRY(sdg_meta_set_int(meta, "train.threads", sdg_num_threads()));
    } else {   /* weights only: the parameters double as the EMA so that sampling finds /ema */
        SDG_TRY(sdg_ema_new(sdg_crystal_unet_params_store(m->net), 0.0f, &tmp_ema));
        ema = tmp_ema;
    }
    SDG_TRY(sdg_meta_set_int(meta, "train.epoch", epochs));
    SDG_TRY(sdg_checkpoint_save(path, &(sdg_checkpoint){.params = sdg_crystal_unet_params_store(m->net), .ema = ema,
                                                         .adam = adam, .meta = meta, .buffers = buf}));
cleanup:
    sdg_ema_free(tmp_ema);
    sdg_params_free(buf);
    sdg_meta_free(meta);
    return st;
}

bool sdg_crystal_model_probe(const char *path) {
    return io_checkpoint_is(path, MODEL_KIND);
}

static sdg_status get_i(const sdg_meta *m, const char *k, int64_t *v) { return sdg_meta_get_int(m, k, v); }

/* A list of meta key (decode.elements, matrix.element_rows): Z in 1..94, ascending, separated
 * by single spaces, or "", into zs (capacity 94), *n of them. */
static sdg_status parse_z(const char *path, const char *key, const char *s, int32_t zs[SDG_CRYSTAL_ZMAX], int64_t *n) {
    const char *all = s;
    int prev = 0;
    *n = 0;
    while (*s) {
        char *end = NULL;
        long z = isdigit((unsigned char)*s) ? strtol(s, &end, 10) : 0;
        if (!end || z <= prev || z > SDG_CRYSTAL_ZMAX || (*end && (*end != ' ' || !end[1])))
            return SDG_ERROR(SDG_ERR_FORMAT, "%s: meta %s: '%s' is not an ascending list of Z in 1..94", path, key, all);
        zs[(*n)++] = (int32_t)z;
        prev = (int)z;
        s = *end ? end + 1 : end;
    }
    return SDG_OK;
}

/* An optional list key of parse_z: absent (files written before it existed) gives none. */
static sdg_status get_z(const char *path, const sdg_meta *meta, const char *key, int32_t zs[SDG_CRYSTAL_ZMAX],
                        int64_t *n) {
    const char *s = NULL;
    bool present = false;
    *n = 0;
    sdg_status st = io_meta_optional(sdg_meta_get_string(meta, key, &s), &present);
    return st != SDG_OK || !present ? st : parse_z(path, key, s, zs, n);
}

static sdg_status model_from_meta(const char *path, const sdg_meta *meta, sdg_crystal_model *m) {
    sdg_status st = SDG_OK;
    const char *s = NULL;
    int64_t v = 0;
    double d[18];
    sdg_crystal_unet_params np = sdg_crystal_unet_default_params();
    if (sdg_meta_get_string(meta, "model", &s) != SDG_OK || strcmp(s, MODEL_KIND) != 0)
        SDG_FAIL(SDG_ERR_FORMAT, "%s: not a crystal model (no meta model = \"" MODEL_KIND "\")", path);
    SDG_TRY(get_i(meta, "net.width", &np.width));
    SDG_TRY(get_i(meta, "net.rows", &np.rows));
    SDG_TRY(get_i(meta, "net.base", &np.base));
    SDG_TRY(get_i(meta, "net.levels", &v)); np.levels = (int)v;
    SDG_TRY(get_i(meta, "net.blocks", &v)); np.blocks = (int)v;
    SDG_TRY(get_i(meta, "net.groups", &v)); np.groups = (int)v;
    SDG_TRY(get_i(meta, "net.emb", &np.emb));
    SDG_TRY(get_i(meta, "net.attention", &v)); np.attention = v != 0;
    SDG_TRY(get_i(meta, "net.n_cond", &v)); np.n_cond = (int)v;
    SDG_TRY(get_i(meta, "net.seed", &v)); np.seed = (uint64_t)v;
    SDG_TRY(get_i(meta, "matrix.e_max", &m->mp.e_max));
    SDG_TRY(get_i(meta, "matrix.n_max", &m->mp.n_max));
    for (int k = 0; k < 18; k++) SDG_TRY(sdg_meta_get_double(meta, scaler_keys[k], &d[k]));
    scaler_unflat(d, &m->scaler);
    SDG_TRY(sdg_meta_get_double(meta, "edm.sigma_data", &m->sigma_data));
    SDG_TRY(sdg_meta_get_string(meta, "dataset", &s));
    snprintf(m->dataset, sizeof m->dataset, "%s", s);
    SDG_TRY(sdg_meta_get_string(meta, "split", &s));
    snprintf(m->split, sizeof m->split, "%s", s);
    SDG_TRY(sdg_meta_get_string(meta, "cond.name", &s));
    snprintf(m->cond, sizeof m->cond, "%s", s);
    SDG_TRY(sdg_meta_get_double(meta, "cond.mean", &m->cond_mean));
    SDG_TRY(sdg_meta_get_double(meta, "cond.std", &m->cond_std));
    SDG_TRY(get_i(meta, "train.epoch", &m->epochs));
    int32_t dz[SDG_CRYSTAL_ZMAX];
    int64_t nd = 0;
    SDG_TRY(get_z(path, meta, "decode.elements", dz, &nd));   /* absent: no vocabulary */
    memset(m->elements, 0, sizeof m->elements);
    for (int64_t k = 0; k < nd; k++) m->elements[dz[k] - 1] = 1;
    SDG_TRY(get_z(path, meta, "matrix.element_rows", m->mp.vocab, &m->mp.n_vocab));   /* absent: Z 1..94 */
    int64_t R = 0, W = 0;
    SDG_TRY(sdg_crystal_matrix_shape(&m->mp, &R, &W));
    if (R != np.rows || W != np.width)
        SDG_FAIL(SDG_ERR_FORMAT, "%s: the net takes %lld x %lld matrices, E_max %lld / N_max %lld / %lld element rows "
                 "give %lld x %lld", path, (long long)np.rows, (long long)np.width, (long long)m->mp.e_max,
                 (long long)m->mp.n_max, (long long)(m->mp.n_vocab ? m->mp.n_vocab : SDG_CRYSTAL_ZMAX), (long long)R,
                 (long long)W);
    SDG_TRY(sdg_crystal_unet_new(&np, &m->net));
cleanup:
    if (st != SDG_OK && st != SDG_ERR_FORMAT) sdg_error_prefix("%s", path);
    return st;
}

sdg_status sdg_crystal_model_load(const char *path, bool ema, sdg_crystal_model **out) {
    sdg_status st = SDG_OK;
    sdg_meta *meta = NULL;
    sdg_crystal_model *m = NULL;
    if (!path || !out) return SDG_ERROR(SDG_ERR_INVALID, "crystal model load: missing argument");
    *out = NULL;
    m = calloc(1, sizeof *m);
    if (!m) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    SDG_TRY(sdg_meta_new(&meta));
    SDG_TRY(sdg_checkpoint_read_meta(path, meta));
    SDG_TRY(model_from_meta(path, meta, m));
    sdg_params *P = sdg_crystal_unet_params_store(m->net);
    SDG_TRY(io_load_weights(path, P, ema));
    m->weights_ema = ema;
    *out = m;
    m = NULL;
cleanup:
    sdg_meta_free(meta);
    sdg_crystal_model_free(m);
    return st;
}

sdg_status sdg_crystal_trainer_resume(const char *path, sdg_crystal_model *m, const float *X, const float *cond,
                                      size_t n, sdg_crystal_trainer **out) {
    sdg_status st = SDG_OK;
    sdg_meta *meta = NULL;
    sdg_crystal_trainer *tr = NULL;
    if (!path || !m || !m->net || !out) return SDG_ERROR(SDG_ERR_INVALID, "crystal resume: missing argument");
    *out = NULL;
    sdg_crystal_train_params tp = sdg_crystal_train_default_params();
    double d = 0;
    int64_t v = 0;
    SDG_TRY(sdg_meta_new(&meta));
    SDG_TRY(sdg_checkpoint_read_meta(path, meta));
    if (sdg_meta_get_int(meta, "train.batch", &tp.batch) != SDG_OK)
        SDG_FAIL(SDG_ERR_FORMAT, "%s: not a crystal training checkpoint (no train.batch)", path);
    SDG_TRY(sdg_meta_get_double(meta, "train.lr", &d)); tp.lr = (float)d;
    SDG_TRY(sdg_meta_get_double(meta, "train.grad_clip", &d)); tp.grad_clip = (float)d;
    SDG_TRY(sdg_meta_get_double(meta, "train.ema_decay", &d)); tp.ema_decay = (float)d;
    SDG_TRY(sdg_meta_get_double(meta, "train.p_uncond", &d)); tp.p_uncond = (float)d;
    SDG_TRY(sdg_meta_get_double(meta, "train.p_mean", &d)); tp.p_mean = (float)d;
    SDG_TRY(sdg_meta_get_double(meta, "train.p_std", &d)); tp.p_std = (float)d;
    SDG_TRY(sdg_meta_get_int(meta, "train.seed", &v)); tp.seed = (uint64_t)v;
    SDG_TRY(sdg_meta_get_int(meta, "train.epoch", &v));
    tp.sigma_data = (float)m->sigma_data;
    SDG_TRY(sdg_crystal_trainer_new(m->net, X, cond, n, &tp, &tr));
    SDG_TRY(sdg_checkpoint_load(path, &(sdg_checkpoint){.params = sdg_crystal_unet_params_store(m->net),
                                                         .ema = sdg_crystal_trainer_ema(tr),
                                                         .adam = sdg_crystal_trainer_adam(tr)}));
    sdg_crystal_trainer_set_epochs(tr, v);
    m->weights_ema = false;
    *out = tr;
    tr = NULL;
cleanup:
    sdg_crystal_trainer_free(tr);
    sdg_meta_free(meta);
    return st;
}
