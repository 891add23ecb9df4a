/* 3-D property regressors (io.h "3-D property regressors"; docs/file-formats.md
 * "sdegen-checkpoint: prop3d_regressor"): the EGNN + readout parameters, EMA and Adam in an
 * sdegen checkpoint, with the property, its standardisation, the network shape, the split it
 * was trained on, its own test MAE and the training parameters for an exact --resume in /meta. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/internal.h"

#define MODEL_KIND "prop3d_regressor"

void sdg_prop3d_model_free(sdg_prop3d_model *m) {
    if (!m) return;
    sdg_prop3d_free(m->net);
    free(m);
}

sdg_status sdg_prop3d_model_save(const char *path, const sdg_prop3d_model *m, sdg_prop3d_trainer *tr) {
    sdg_status st = SDG_OK;
    sdg_meta *meta = NULL;
    sdg_ema *tmp_ema = NULL;
    if (!path || !m || !m->net) return SDG_ERROR(SDG_ERR_INVALID, "prop3d model save: missing argument");
    SDG_TRY(sdg_meta_new(&meta));
    SDG_TRY(sdg_meta_set_string(meta, "model", MODEL_KIND));
    SDG_TRY(sdg_meta_set_int(meta, "model.version", SDG_PROP3D_MODEL_VERSION));
    SDG_TRY(sdg_meta_set_string(meta, "prop.name", m->prop));
    SDG_TRY(sdg_meta_set_string(meta, "prop.unit", m->unit));
    SDG_TRY(sdg_meta_set_double(meta, "prop.mean", m->mean));
    SDG_TRY(sdg_meta_set_double(meta, "prop.std", m->std));
    SDG_TRY(sdg_meta_set_string(meta, "readout", "sum over atoms of MLP(h), then MLP to 1 (standardised)"));
    SDG_TRY(io_egnn_meta_write(meta, sdg_prop3d_get_params(m->net)));
    SDG_TRY(sdg_meta_set_string(meta, "split", m->split));
    SDG_TRY(sdg_meta_set_int(meta, "split.train", m->n_train));
    SDG_TRY(sdg_meta_set_int(meta, "split.val", m->n_val));
    SDG_TRY(sdg_meta_set_int(meta, "split.test", m->n_test));
    SDG_TRY(sdg_meta_set_double(meta, "test.mae", m->test_mae));
    SDG_TRY(sdg_meta_set_double(meta, "test.mae_natoms", m->test_mae_natoms));
    sdg_ema *ema = NULL;
    sdg_adam *adam = NULL;
    int64_t epochs = m->epochs;
    if (tr) {
        const sdg_prop3d_train_params *tp = sdg_prop3d_trainer_params(tr);
        epochs = sdg_prop3d_trainer_epochs(tr);
        ema = sdg_prop3d_trainer_ema(tr);
        adam = sdg_prop3d_trainer_adam(tr);
        io_train_meta tm = {.batch = tp->batch, .lr = tp->lr, .grad_clip = tp->grad_clip, .ema_decay = tp->ema_decay,
                            .seed = tp->seed, .molecules = m->n_train};
        SDG_TRY(io_train_meta_write(meta, &tm));
    } else {   /* weights only: the parameters double as the EMA */
        SDG_TRY(sdg_ema_new(sdg_prop3d_params_store(m->net), 0.0f, &tmp_ema));
        ema = tmp_ema;
        SDG_TRY(sdg_meta_set_string(meta, "weights_only", m->weights_ema ? "ema" : "raw"));
    }
    SDG_TRY(sdg_meta_set_int(meta, "train.epoch", epochs));
    SDG_TRY(io_conformers_meta_write(meta, &m->conformers));
    SDG_TRY(sdg_checkpoint_save(path, &(sdg_checkpoint){.params = sdg_prop3d_params_store(m->net), .ema = ema,
                                                         .adam = adam, .meta = meta}));
cleanup:
    sdg_ema_free(tmp_ema);
    sdg_meta_free(meta);
    return st;
}

bool sdg_prop3d_model_probe(const char *path) {
    return io_checkpoint_is(path, MODEL_KIND);
}

static sdg_status model_from_meta(const char *path, const sdg_meta *meta, sdg_prop3d_model *m) {
    sdg_status st = SDG_OK;
    const char *s = NULL;
    int64_t v = 0;
    sdg_egnn_params np = sdg_egnn_default_params();
    if (sdg_meta_get_string(meta, "model", &s) != SDG_OK || strcmp(s, MODEL_KIND) != 0)
        SDG_FAIL(SDG_ERR_FORMAT, "%s: not a 3-D property regressor (meta model is '%s', not \"" MODEL_KIND "\")", path,
                 s ? s : "absent");
    SDG_TRY(sdg_meta_get_int(meta, "model.version", &v));
    if (v != SDG_PROP3D_MODEL_VERSION)
        SDG_FAIL(SDG_ERR_VERSION, "%s: " MODEL_KIND " version %lld, this sdegen reads version %d", path, (long long)v,
                 SDG_PROP3D_MODEL_VERSION);
    SDG_TRY(sdg_meta_get_string(meta, "prop.name", &s));
    snprintf(m->prop, sizeof m->prop, "%s", s);
    SDG_TRY(sdg_meta_get_string(meta, "prop.unit", &s));
    snprintf(m->unit, sizeof m->unit, "%s", s);
    SDG_TRY(sdg_meta_get_double(meta, "prop.mean", &m->mean));
    SDG_TRY(sdg_meta_get_double(meta, "prop.std", &m->std));
    SDG_TRY(sdg_meta_get_string(meta, "split", &s));
    snprintf(m->split, sizeof m->split, "%s", s);
    SDG_TRY(sdg_meta_get_int(meta, "split.train", &m->n_train));
    SDG_TRY(sdg_meta_get_int(meta, "split.val", &m->n_val));
    SDG_TRY(sdg_meta_get_int(meta, "split.test", &m->n_test));
    SDG_TRY(sdg_meta_get_double(meta, "test.mae", &m->test_mae));
    SDG_TRY(sdg_meta_get_double(meta, "test.mae_natoms", &m->test_mae_natoms));
    SDG_TRY(sdg_meta_get_int(meta, "train.epoch", &m->epochs));
    SDG_TRY(io_conformers_meta_read(meta, &m->conformers));
    SDG_TRY(io_egnn_meta_read(meta, &np));
    if (!(m->std > 0)) SDG_FAIL(SDG_ERR_FORMAT, "%s: prop.std = %g is not positive", path, m->std);
    SDG_TRY(sdg_prop3d_new(&np, &m->net));
cleanup:
    if (st != SDG_OK && st != SDG_ERR_FORMAT && st != SDG_ERR_VERSION) sdg_error_prefix("%s", path);
    return st;
}

sdg_status sdg_prop3d_model_load(const char *path, bool ema, sdg_prop3d_model **out) {
    sdg_status st = SDG_OK;
    sdg_meta *meta = NULL;
    sdg_prop3d_model *m = NULL;
    if (!path || !out) return SDG_ERROR(SDG_ERR_INVALID, "prop3d model load: missing argument");
    *out = NULL;
    m = calloc(1, sizeof *m);
    if (!m) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    SDG_TRY(sdg_meta_new(&meta));
    SDG_TRY(sdg_checkpoint_read_meta(path, meta));
    SDG_TRY(model_from_meta(path, meta, m));
    SDG_TRY(io_load_weights(path, sdg_prop3d_params_store(m->net), ema));
    m->weights_ema = ema;
    *out = m;
    m = NULL;
cleanup:
    sdg_meta_free(meta);
    sdg_prop3d_model_free(m);
    return st;
}

sdg_status sdg_prop3d_trainer_resume(const char *path, sdg_prop3d_model *m, sdg_mol *const *mols, const float *y,
                                     size_t n, sdg_prop3d_trainer **out) {
    sdg_status st = SDG_OK;
    sdg_meta *meta = NULL;
    sdg_prop3d_trainer *tr = NULL;
    if (!path || !m || !m->net || !out) return SDG_ERROR(SDG_ERR_INVALID, "prop3d resume: missing argument");
    *out = NULL;
    io_train_meta tm;
    SDG_TRY(sdg_meta_new(&meta));
    SDG_TRY(sdg_checkpoint_read_meta(path, meta));
    SDG_TRY(io_train_meta_read(path, meta, &tm));
    sdg_prop3d_train_params tp = sdg_prop3d_train_default_params();
    tp.batch = tm.batch, tp.lr = tm.lr, tp.grad_clip = tm.grad_clip, tp.ema_decay = tm.ema_decay, tp.seed = tm.seed;
    SDG_TRY(sdg_prop3d_trainer_new(m->net, mols, y, n, &tp, &tr));
    SDG_TRY(sdg_checkpoint_load(path, &(sdg_checkpoint){.params = sdg_prop3d_params_store(m->net),
                                                         .ema = sdg_prop3d_trainer_ema(tr),
                                                         .adam = sdg_prop3d_trainer_adam(tr)}));
    sdg_prop3d_trainer_set_epochs(tr, tm.epoch);
    m->weights_ema = false;
    *out = tr;
    tr = NULL;
cleanup:
    sdg_prop3d_trainer_free(tr);
    sdg_meta_free(meta);
    return st;
}
