/* Model checkpoints: the kind probe of every model file, and the meta keys shared by the two EGNN checkpoints (mol3d_flow and prop3d_regressor,
 * docs/file-formats.md): the network's shape and the training parameters of an exact --resume. */
#include <stdio.h>
#include <string.h>
#include "io/internal.h"

static sdg_status get_int(const sdg_meta *m, const char *k, int *v) {
    int64_t x = 0;
    sdg_status st = sdg_meta_get_int(m, k, &x);
    *v = (int)x;
    return st;
}

sdg_status io_meta_get_float(const sdg_meta *m, const char *k, float *v) {
    double x = 0;
    sdg_status st = sdg_meta_get_double(m, k, &x);
    if (st == SDG_OK) *v = (float)x;
    return st;
}

sdg_status io_meta_optional(sdg_status st, bool *present) {
    if (present) *present = st == SDG_OK;
    if (st != SDG_ERR_NOTFOUND) return st;
    sdg_error_clear();
    return SDG_OK;
}

sdg_status io_egnn_meta_write(sdg_meta *meta, const sdg_egnn_params *np) {
    sdg_status st = SDG_OK;
    SDG_TRY(sdg_meta_set_int(meta, "net.n_types", np->n_types));
    SDG_TRY(sdg_meta_set_int(meta, "net.n_charges", np->n_charges));
    SDG_TRY(sdg_meta_set_int(meta, "net.n_bonds", np->n_bonds));
    SDG_TRY(sdg_meta_set_int(meta, "net.hidden", np->hidden));
    SDG_TRY(sdg_meta_set_int(meta, "net.edge_hidden", np->edge_hidden));
    SDG_TRY(sdg_meta_set_int(meta, "net.message", np->message));
    SDG_TRY(sdg_meta_set_int(meta, "net.layers", np->layers));
    SDG_TRY(sdg_meta_set_int(meta, "net.rbf", np->rbf));
    SDG_TRY(sdg_meta_set_double(meta, "net.rbf_max", np->rbf_max));
    SDG_TRY(sdg_meta_set_double(meta, "net.coord_range", np->coord_range));
    SDG_TRY(sdg_meta_set_int(meta, "net.conditional", np->conditional));
    SDG_TRY(sdg_meta_set_int(meta, "net.prop_gauss", np->prop_gauss));
    SDG_TRY(sdg_meta_set_int(meta, "net.combine", (int64_t)np->combine));
    SDG_TRY(sdg_meta_set_int(meta, "net.seed", (int64_t)np->seed));
    SDG_TRY(sdg_meta_set_int(meta, "net.pos_velocity", np->pos_velocity));
cleanup:
    return st;
}

sdg_status io_egnn_meta_read(const sdg_meta *meta, sdg_egnn_params *np) {
    sdg_status st = SDG_OK;
    int64_t v = 0;
    SDG_TRY(get_int(meta, "net.n_types", &np->n_types));
    SDG_TRY(get_int(meta, "net.n_charges", &np->n_charges));
    SDG_TRY(get_int(meta, "net.n_bonds", &np->n_bonds));
    SDG_TRY(get_int(meta, "net.hidden", &np->hidden));
    SDG_TRY(get_int(meta, "net.edge_hidden", &np->edge_hidden));
    SDG_TRY(get_int(meta, "net.message", &np->message));
    SDG_TRY(get_int(meta, "net.layers", &np->layers));
    SDG_TRY(get_int(meta, "net.rbf", &np->rbf));
    SDG_TRY(io_meta_get_float(meta, "net.rbf_max", &np->rbf_max));
    SDG_TRY(io_meta_get_float(meta, "net.coord_range", &np->coord_range));
    SDG_TRY(sdg_meta_get_int(meta, "net.conditional", &v));
    np->conditional = v != 0;
    SDG_TRY(get_int(meta, "net.prop_gauss", &np->prop_gauss));
    SDG_TRY(sdg_meta_get_int(meta, "net.combine", &v));
    np->combine = (sdg_prop_combine)v;
    SDG_TRY(sdg_meta_get_int(meta, "net.seed", &v));
    np->seed = (uint64_t)v;
    v = 0;   /* files written before the option: the x0 head */
    SDG_TRY(io_meta_optional(sdg_meta_get_int(meta, "net.pos_velocity", &v), NULL));
    np->pos_velocity = v != 0;
cleanup:
    return st;
}

sdg_status io_train_meta_write(sdg_meta *meta, const io_train_meta *t) {
    sdg_status st = SDG_OK;
    SDG_TRY(sdg_meta_set_int(meta, "train.batch", t->batch));
    SDG_TRY(sdg_meta_set_double(meta, "train.lr", t->lr));
    SDG_TRY(sdg_meta_set_double(meta, "train.grad_clip", t->grad_clip));
    SDG_TRY(sdg_meta_set_double(meta, "train.ema_decay", t->ema_decay));
    SDG_TRY(sdg_meta_set_int(meta, "train.seed", (int64_t)t->seed));
    SDG_TRY(sdg_meta_set_int(meta, "train.threads", sdg_num_threads()));
    SDG_TRY(sdg_meta_set_int(meta, "train.molecules", t->molecules));
cleanup:
    return st;
}

sdg_status io_train_meta_read(const char *path, const sdg_meta *meta, io_train_meta *t) {
    sdg_status st = SDG_OK;
    double d = 0;
    int64_t v = 0;
    const char *w = NULL;
    if (sdg_meta_get_int(meta, "train.batch", &t->batch) != SDG_OK) {
        if (sdg_meta_get_string(meta, "weights_only", &w) == SDG_OK)
            SDG_FAIL(SDG_ERR_FORMAT, "%s: a weights-only export (%s weights, no optimiser or training state; sdegen "
                     "export): it cannot be resumed; resume the training checkpoint it was exported from", path, w);
        SDG_FAIL(SDG_ERR_FORMAT, "%s: not a training checkpoint (no train.batch)", path);
    }
    SDG_TRY(sdg_meta_get_double(meta, "train.lr", &d));
    t->lr = (float)d;
    SDG_TRY(sdg_meta_get_double(meta, "train.grad_clip", &d));
    t->grad_clip = (float)d;
    SDG_TRY(sdg_meta_get_double(meta, "train.ema_decay", &d));
    t->ema_decay = (float)d;
    SDG_TRY(sdg_meta_get_int(meta, "train.seed", &v));
    t->seed = (uint64_t)v;
    SDG_TRY(sdg_meta_get_int(meta, "train.molecules", &t->molecules));
    SDG_TRY(sdg_meta_get_int(meta, "train.epoch", &t->epoch));
cleanup:
    return st;
}

sdg_status io_conformers_meta_write(sdg_meta *meta, const sdg_extra_conformers *c) {
    sdg_status st = SDG_OK;
    const char *base = strrchr(c->path, '/');
    SDG_TRY(sdg_meta_set_string(meta, "conformers.path", c->path));
    SDG_TRY(sdg_meta_set_string(meta, "conformers.file", base ? base + 1 : c->path));
    SDG_TRY(sdg_meta_set_int(meta, "conformers.records", c->records));
    SDG_TRY(sdg_meta_set_int(meta, "conformers.train", c->train));
cleanup:
    return st;
}

sdg_status io_conformers_meta_read(const sdg_meta *meta, sdg_extra_conformers *c) {
    sdg_status st = SDG_OK;
    const char *s = NULL;
    bool present = false;
    memset(c, 0, sizeof *c);
    SDG_TRY(io_meta_optional(sdg_meta_get_string(meta, "conformers.path", &s), &present));
    if (!present) return SDG_OK;   /* written before the keys existed */
    snprintf(c->path, sizeof c->path, "%s", s);
    SDG_TRY(sdg_meta_get_int(meta, "conformers.records", &c->records));
    SDG_TRY(sdg_meta_get_int(meta, "conformers.train", &c->train));
cleanup:
    return st;
}

bool io_checkpoint_is(const char *path, const char *kind) {
    sdg_meta *meta = NULL;
    const char *k = NULL;
    bool yes = path && sdg_meta_new(&meta) == SDG_OK && sdg_checkpoint_read_meta(path, meta) == SDG_OK &&
               sdg_meta_get_string(meta, "model", &k) == SDG_OK && strcmp(k, kind) == 0;
    sdg_meta_free(meta);
    sdg_error_clear();
    return yes;
}
