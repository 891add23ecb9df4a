/* GDSS training checkpoints: a GDSS model file (gdss_file.c) plus the optimiser, EMA and
 * generator state and the training parameters, so that a run resumes bit for bit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/internal.h"

sdg_status sdg_gdss_train_save(const char *path, sdg_gdss_trainer *tr, const char *dataset) {
    sdg_status st = SDG_OK;
    sdg_meta *meta = NULL;
    sdg_params *buffers = NULL;
    if (!path || !tr) return SDG_ERROR(SDG_ERR_INVALID, "gdss train save: missing argument");
    const sdg_gdss_model *m = sdg_gdss_trainer_model(tr);
    const sdg_gdss_train_params *tp = sdg_gdss_trainer_params(tr);
    SDG_TRY(io_gdss_model_meta(m, &meta, &buffers));
    SDG_TRY(sdg_meta_set_int(meta, "train.epoch", sdg_gdss_trainer_epochs(tr)));
    SDG_TRY(sdg_meta_set_string(meta, "train.dataset", dataset ? dataset : m->settings.dataset));
    SDG_TRY(sdg_meta_set_int(meta, "train.batch", tp->batch));
    SDG_TRY(sdg_meta_set_double(meta, "train.lr", tp->lr));
    SDG_TRY(sdg_meta_set_double(meta, "train.weight_decay", tp->weight_decay));
    SDG_TRY(sdg_meta_set_double(meta, "train.lr_decay", tp->lr_decay));
    SDG_TRY(sdg_meta_set_double(meta, "train.grad_clip", tp->grad_clip));
    SDG_TRY(sdg_meta_set_double(meta, "train.ema_decay", tp->ema_decay));
    SDG_TRY(sdg_meta_set_double(meta, "train.eps", tp->eps));
    SDG_TRY(sdg_meta_set_int(meta, "train.seed", (int64_t)tp->seed));
    SDG_TRY(sdg_meta_set_int(meta, "train.threads", sdg_num_threads()));
    SDG_TRY(sdg_checkpoint_save(path, &(sdg_checkpoint){.params = m->params, .ema = sdg_gdss_trainer_ema(tr),
                                                         .adam = sdg_gdss_trainer_adam(tr),
                                                         .rng = sdg_gdss_trainer_rng(tr), .meta = meta,
                                                         .buffers = buffers}));
cleanup:
    sdg_params_free(buffers);
    sdg_meta_free(meta);
    return st;
}

/* The trainer on whichever training set the caller has: a graph list or dense arrays. */
typedef struct resume_data {
    const sdg_graph_list *list;
    const sdg_gdss_data  *dense;
} resume_data;

static sdg_status resume(const char *path, resume_data data, sdg_gdss_model **model, sdg_gdss_trainer **out) {
    sdg_status st = SDG_OK;
    sdg_meta *meta = NULL;
    sdg_gdss_model *m = NULL;
    sdg_gdss_trainer *tr = NULL;
    sdg_gdss_train_params tp = sdg_gdss_train_default_params();
    const char *str = NULL;
    int64_t epoch = 0, v = 0;
    if (!path || (!data.list && !data.dense) || !model || !out)
        return SDG_ERROR(SDG_ERR_INVALID, "gdss resume: missing argument");
    *model = NULL;
    *out = NULL;
    SDG_TRY(sdg_meta_new(&meta));
    SDG_TRY(sdg_checkpoint_read_meta(path, meta));
    if (sdg_meta_get_string(meta, "model", &str) != SDG_OK || strcmp(str, "gdss") != 0 ||
        sdg_meta_get_int(meta, "train.epoch", &epoch) != SDG_OK)
        SDG_FAIL(SDG_ERR_FORMAT, "%s: not a GDSS training checkpoint (no meta model = \"gdss\" with train.epoch)",
                 path);
#define GET_D(key, field)                                                                     \
    do { if ((st = sdg_meta_get_double(meta, key, &tp.field)) != SDG_OK) goto prefixed; } while (0)
    if ((st = sdg_meta_get_int(meta, "train.batch", &v)) != SDG_OK) goto prefixed;
    tp.batch = (int)v;
    GET_D("train.lr", lr);
    GET_D("train.weight_decay", weight_decay);
    GET_D("train.lr_decay", lr_decay);
    GET_D("train.grad_clip", grad_clip);
    GET_D("train.ema_decay", ema_decay);
    GET_D("train.eps", eps);
#undef GET_D
    if ((st = sdg_meta_get_int(meta, "train.seed", &v)) != SDG_OK) goto prefixed;
    tp.seed = (uint64_t)v;
    SDG_TRY(sdg_gdss_model_load(path, &m));
    if (data.list) SDG_TRY(sdg_gdss_trainer_new(m, data.list, &tp, &tr));
    else SDG_TRY(sdg_gdss_trainer_new_dense(m, data.dense, &tp, &tr));
    /* the trained weights (the loader may have put the EMA weights in place), the EMA,
     * the optimiser and the generator */
    SDG_TRY(sdg_checkpoint_load(path, &(sdg_checkpoint){.params = m->params, .ema = sdg_gdss_trainer_ema(tr),
                                                         .adam = sdg_gdss_trainer_adam(tr),
                                                         .rng = sdg_gdss_trainer_rng(tr)}));
    m->weights_ema = false;
    sdg_gdss_trainer_set_epochs(tr, epoch);
    *model = m;
    *out = tr;
    m = NULL;
    tr = NULL;
    goto cleanup;
prefixed:
    sdg_error_prefix("%s", path);
cleanup:
    sdg_gdss_trainer_free(tr);
    sdg_gdss_model_free(m);
    sdg_meta_free(meta);
    return st;
}

sdg_status sdg_gdss_train_resume(const char *path, const sdg_graph_list *train, sdg_gdss_model **model,
                                 sdg_gdss_trainer **out) {
    return resume(path, (resume_data){.list = train}, model, out);
}

sdg_status sdg_gdss_train_resume_dense(const char *path, const sdg_gdss_data *train, sdg_gdss_model **model,
                                       sdg_gdss_trainer **out) {
    return resume(path, (resume_data){.dense = train}, model, out);
}
