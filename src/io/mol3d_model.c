/* 3-D molecule flow models (io.h "3-D molecule flow models"; docs/file-formats.md
 * "sdegen-checkpoint: mol3d_flow"): the EGNN's parameters, EMA and Adam in an sdegen checkpoint,
 * with everything needed to rebuild and sample it in /meta (network sizes, flow settings, the
 * conditioning property and its scaling, the training parameters and epoch count for an exact
 * --resume) and the training set's (atom count, property) table in /buffers, from which
 * sampling draws molecule sizes (and property targets) jointly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/internal.h"

#define MODEL_KIND "mol3d_flow"

void sdg_mol3d_model_free(sdg_mol3d_model *m) {
    if (!m) return;
    sdg_egnn_free(m->net);
    free(m->table_n);
    free(m->table_prop);
    free(m);
}

sdg_status sdg_mol3d_model_set_table(sdg_mol3d_model *m, const int64_t *n_atoms, const float *prop, size_t count) {
    sdg_status st = SDG_OK;
    if (!m || !n_atoms || count == 0) return SDG_ERROR(SDG_ERR_INVALID, "mol3d model: empty (atoms, property) table");
    int64_t *tn = malloc(count * sizeof *tn);
    float *tp = prop ? malloc(count * sizeof *tp) : NULL;
    if (!tn || (prop && !tp)) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    memcpy(tn, n_atoms, count * sizeof *tn);
    if (prop) memcpy(tp, prop, count * sizeof *tp);
    for (size_t i = 0; i < count; i++)
        if (tn[i] < 1 || tn[i] > 999) SDG_FAIL(SDG_ERR_INVALID, "mol3d model: table row %zu has %lld atoms", i, (long long)tn[i]);
    free(m->table_n);
    free(m->table_prop);
    m->table_n = tn;
    m->table_prop = tp;
    m->n_table = count;
    m->prop_min = INFINITY, m->prop_max = -INFINITY;
    m->n_table_prop = 0;
    for (size_t i = 0; prop && i < count; i++)
        if (!isnan(tp[i])) {
            m->prop_min = fmin(m->prop_min, tp[i]), m->prop_max = fmax(m->prop_max, tp[i]);
            m->n_table_prop++;
        }
    tn = NULL, tp = NULL;
cleanup:
    free(tn);
    free(tp);
    return st;
}

sdg_status sdg_mol3d_model_save(const char *path, const sdg_mol3d_model *m, sdg_flow3d_trainer *tr) {
    sdg_status st = SDG_OK;
    sdg_meta *meta = NULL;
    sdg_params *buf = NULL;
    sdg_ema *tmp_ema = NULL;
    sdg_tensor *t = NULL;
    if (!path || !m || !m->net || !m->table_n) return SDG_ERROR(SDG_ERR_INVALID, "mol3d model save: missing argument");
    const sdg_egnn_params *np = sdg_egnn_get_params(m->net);
    SDG_TRY(sdg_meta_new(&meta));
    SDG_TRY(sdg_meta_set_string(meta, "model", MODEL_KIND));
    SDG_TRY(sdg_meta_set_int(meta, "model.version", SDG_MOL3D_MODEL_VERSION));
    SDG_TRY(sdg_meta_set_string(meta, "dataset", m->dataset));
    SDG_TRY(sdg_meta_set_string(meta, "split", m->split));
    SDG_TRY(io_egnn_meta_write(meta, np));
    SDG_TRY(sdg_meta_set_double(meta, "flow.prior_std", m->flow.prior_std));
    SDG_TRY(sdg_meta_set_double(meta, "flow.w_x", m->flow.w_x));
    SDG_TRY(sdg_meta_set_double(meta, "flow.w_type", m->flow.w_type));
    SDG_TRY(sdg_meta_set_double(meta, "flow.w_charge", m->flow.w_charge));
    SDG_TRY(sdg_meta_set_double(meta, "flow.w_bond", m->flow.w_bond));
    SDG_TRY(sdg_meta_set_double(meta, "flow.p_uncond", m->flow.p_uncond));
    SDG_TRY(sdg_meta_set_int(meta, "flow.ot_rotation", m->flow.ot_rotation));
    SDG_TRY(sdg_meta_set_double(meta, "flow.time_skew", m->flow.time_skew));
    SDG_TRY(sdg_meta_set_double(meta, "flow.pos_loss_tmin", m->flow.pos_loss_tmin));
    SDG_TRY(sdg_meta_set_string(meta, "cond.name", m->cond));
    SDG_TRY(sdg_meta_set_double(meta, "cond.mean", m->cond_mean));
    SDG_TRY(sdg_meta_set_double(meta, "cond.std", m->cond_std));
    SDG_TRY(sdg_meta_set_int(meta, "table.count", (int64_t)m->n_table));
    SDG_TRY(sdg_params_new(&buf));
    SDG_TRY(sdg_params_add(buf, "table.n_atoms", 1, (int64_t[]){(int64_t)m->n_table}, &t));
    for (size_t i = 0; i < m->n_table; i++) t->data[i] = (float)m->table_n[i];
    if (m->table_prop) {
        SDG_TRY(sdg_params_add(buf, "table.prop", 1, (int64_t[]){(int64_t)m->n_table}, &t));
        memcpy(t->data, m->table_prop, m->n_table * sizeof *t->data);
    }
    sdg_ema *ema = NULL;
    sdg_adam *adam = NULL;
    int64_t epochs = m->epochs;
    if (tr) {
        const sdg_flow3d_train_params *tp = sdg_flow3d_trainer_params(tr);
        epochs = sdg_flow3d_trainer_epochs(tr);
        ema = sdg_flow3d_trainer_ema(tr);
        adam = sdg_flow3d_trainer_adam(tr);
        io_train_meta tm = {.batch = tp->batch, .lr = tp->lr, .grad_clip = tp->grad_clip, .ema_decay = tp->ema_decay,
                            .seed = tp->seed, .molecules = (int64_t)m->n_table};
        SDG_TRY(io_train_meta_write(meta, &tm));
    } else {   /* weights only: the parameters double as the EMA so that sampling finds /ema */
        SDG_TRY(sdg_ema_new(sdg_egnn_params_store(m->net), 0.0f, &tmp_ema));
        ema = tmp_ema;
        SDG_TRY(sdg_meta_set_string(meta, "weights_only", m->weights_ema ? "ema" : "raw"));
    }
    SDG_TRY(sdg_meta_set_int(meta, "train.epoch", epochs));
    SDG_TRY(sdg_meta_set_double(meta, "sample.sde_noise", m->sample_sde_noise));
    SDG_TRY(sdg_meta_set_double(meta, "sample.sde_tmax", m->sample_sde_tmax > 0 ? m->sample_sde_tmax : 1.0));
    if (m->sample_sde_pos) {
        SDG_TRY(sdg_meta_set_double(meta, "sample.sde_noise_pos", m->sample_sde_noise_pos));
        SDG_TRY(sdg_meta_set_double(meta, "sample.sde_tmax_pos", m->sample_sde_tmax_pos));
    }
    SDG_TRY(io_conformers_meta_write(meta, &m->conformers));
    SDG_TRY(sdg_checkpoint_save(path, &(sdg_checkpoint){.params = sdg_egnn_params_store(m->net), .ema = ema,
                                                         .adam = adam, .meta = meta, .buffers = buf}));
cleanup:
    sdg_ema_free(tmp_ema);
    sdg_params_free(buf);
    sdg_meta_free(meta);
    return st;
}

bool sdg_mol3d_model_probe(const char *path) {
    return io_checkpoint_is(path, MODEL_KIND);
}

static sdg_status model_from_file(const char *path, const sdg_meta *meta, sdg_mol3d_model *m) {
    sdg_status st = SDG_OK;
    const char *s = NULL;
    int64_t v = 0;
    sdg_h5_file *f = NULL;
    float *tn = NULL, *tp = NULL;
    int64_t *n64 = NULL;
    sdg_egnn_params np = sdg_egnn_default_params();
    if (sdg_meta_get_string(meta, "model", &s) != SDG_OK || strcmp(s, MODEL_KIND) != 0)
        SDG_FAIL(SDG_ERR_FORMAT, "%s: not a 3-D molecule flow model (no meta model = \"" MODEL_KIND "\")", path);
    SDG_TRY(sdg_meta_get_int(meta, "model.version", &v));
    if (v != SDG_MOL3D_MODEL_VERSION)
        SDG_FAIL(SDG_ERR_VERSION, "%s: " MODEL_KIND " model version %lld, this sdegen reads version %d", path, (long long)v,
                 SDG_MOL3D_MODEL_VERSION);
    SDG_TRY(io_egnn_meta_read(meta, &np));
    m->flow = sdg_flow3d_default_params();
    SDG_TRY(io_meta_get_float(meta, "flow.prior_std", &m->flow.prior_std));
    SDG_TRY(io_meta_get_float(meta, "flow.w_x", &m->flow.w_x));
    SDG_TRY(io_meta_get_float(meta, "flow.w_type", &m->flow.w_type));
    SDG_TRY(io_meta_get_float(meta, "flow.w_charge", &m->flow.w_charge));
    SDG_TRY(io_meta_get_float(meta, "flow.w_bond", &m->flow.w_bond));
    SDG_TRY(io_meta_get_float(meta, "flow.p_uncond", &m->flow.p_uncond));
    SDG_TRY(sdg_meta_get_int(meta, "flow.ot_rotation", &v)); m->flow.ot_rotation = v != 0;
    m->flow.time_skew = 1.0f;   /* files written before the option: uniform times */
    SDG_TRY(io_meta_optional(io_meta_get_float(meta, "flow.time_skew", &m->flow.time_skew), NULL));
    m->flow.pos_loss_tmin = 0.0f;   /* files written before the option: the x0 loss */
    SDG_TRY(io_meta_optional(io_meta_get_float(meta, "flow.pos_loss_tmin", &m->flow.pos_loss_tmin), NULL));
    SDG_TRY(sdg_meta_get_string(meta, "dataset", &s));
    snprintf(m->dataset, sizeof m->dataset, "%s", s);
    SDG_TRY(sdg_meta_get_string(meta, "split", &s));
    snprintf(m->split, sizeof m->split, "%s", s);
    SDG_TRY(sdg_meta_get_string(meta, "cond.name", &s));
    snprintf(m->cond, sizeof m->cond, "%s", s);
    SDG_TRY(sdg_meta_get_double(meta, "cond.mean", &m->cond_mean));
    SDG_TRY(sdg_meta_get_double(meta, "cond.std", &m->cond_std));
    SDG_TRY(sdg_meta_get_int(meta, "train.epoch", &m->epochs));
    m->sample_sde_noise = 0.0f;   /* files written before the setting: the ODE */
    SDG_TRY(io_meta_optional(io_meta_get_float(meta, "sample.sde_noise", &m->sample_sde_noise), NULL));
    m->sample_sde_tmax = 1.0f;
    SDG_TRY(io_meta_optional(io_meta_get_float(meta, "sample.sde_tmax", &m->sample_sde_tmax), NULL));
    if (!(m->sample_sde_noise >= 0 && m->sample_sde_noise <= 100) || !(m->sample_sde_tmax > 0 && m->sample_sde_tmax <= 1))
        SDG_FAIL(SDG_ERR_FORMAT, "%s: sample.sde_noise = %g or sample.sde_tmax = %g is outside [0, 100] or (0, 1]", path,
                 (double)m->sample_sde_noise, (double)m->sample_sde_tmax);
    bool has_pos = false;
    SDG_TRY(io_meta_optional(io_meta_get_float(meta, "sample.sde_noise_pos", &m->sample_sde_noise_pos), &has_pos));
    m->sample_sde_pos = has_pos;
    if (has_pos) {
        SDG_TRY(io_meta_get_float(meta, "sample.sde_tmax_pos", &m->sample_sde_tmax_pos));
        if (!(m->sample_sde_noise_pos >= 0 && m->sample_sde_noise_pos <= 100) ||
            !(m->sample_sde_tmax_pos > 0 && m->sample_sde_tmax_pos <= 1))
            SDG_FAIL(SDG_ERR_FORMAT, "%s: sample.sde_noise_pos = %g or sample.sde_tmax_pos = %g is outside [0, 100] or "
                     "(0, 1]", path, (double)m->sample_sde_noise_pos, (double)m->sample_sde_tmax_pos);
    }
    SDG_TRY(io_conformers_meta_read(meta, &m->conformers));
    if (np.conditional != (m->cond[0] != 0))
        SDG_FAIL(SDG_ERR_FORMAT, "%s: net.conditional = %d but cond.name = '%s'", path, np.conditional, m->cond);
    /* the (atoms, property) table */
    int nd = 0;
    int64_t shape[SDG_MAX_DIMS];
    SDG_TRY(sdg_h5_open(path, &f));
    SDG_TRY(sdg_h5_read_floats(f, "/buffers/table.n_atoms", &nd, shape, &tn));
    size_t count = nd == 1 ? (size_t)shape[0] : 0;
    if (count == 0) SDG_FAIL(SDG_ERR_FORMAT, "%s: /buffers/table.n_atoms is empty or not 1-D", path);
    if (np.conditional) {
        SDG_TRY(sdg_h5_read_floats(f, "/buffers/table.prop", &nd, shape, &tp));
        if (nd != 1 || (size_t)shape[0] != count)
            SDG_FAIL(SDG_ERR_FORMAT, "%s: /buffers/table.prop does not match table.n_atoms (%zu rows)", path, count);
    }
    n64 = malloc(count * sizeof *n64);
    if (!n64) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) n64[i] = (int64_t)tn[i];
    if ((st = sdg_mol3d_model_set_table(m, n64, tp, count)) != SDG_OK) {
        sdg_error_prefix("%s", path);
        goto cleanup;
    }
    SDG_TRY(sdg_egnn_new(&np, &m->net));
cleanup:
    free(n64);
    free(tn);
    free(tp);
    sdg_h5_close(f);
    return st;
}

sdg_status sdg_mol3d_model_load(const char *path, bool ema, sdg_mol3d_model **out) {
    sdg_status st = SDG_OK;
    sdg_meta *meta = NULL;
    sdg_mol3d_model *m = NULL;
    if (!path || !out) return SDG_ERROR(SDG_ERR_INVALID, "mol3d model load: missing argument");
    *out = NULL;
    m = calloc(1, sizeof *m);
    if (!m) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    SDG_TRY(sdg_meta_new(&meta));
    SDG_TRY(sdg_checkpoint_read_meta(path, meta));
    SDG_TRY(model_from_file(path, meta, m));
    sdg_params *P = sdg_egnn_params_store(m->net);
    SDG_TRY(io_load_weights(path, P, ema));
    m->weights_ema = ema;
    *out = m;
    m = NULL;
cleanup:
    sdg_meta_free(meta);
    sdg_mol3d_model_free(m);
    return st;
}

sdg_status sdg_flow3d_trainer_resume(const char *path, sdg_mol3d_model *m, sdg_mol *const *mols, const float *prop,
                                     size_t n, sdg_flow3d_trainer **out) {
    sdg_status st = SDG_OK;
    sdg_meta *meta = NULL;
    sdg_flow3d_trainer *tr = NULL;
    if (!path || !m || !m->net || !out) return SDG_ERROR(SDG_ERR_INVALID, "mol3d resume: missing argument");
    *out = NULL;
    sdg_flow3d_train_params tp = sdg_flow3d_train_default_params();
    io_train_meta tm;
    SDG_TRY(sdg_meta_new(&meta));
    SDG_TRY(sdg_checkpoint_read_meta(path, meta));
    SDG_TRY(io_train_meta_read(path, meta, &tm));
    tp.batch = tm.batch, tp.lr = tm.lr, tp.grad_clip = tm.grad_clip, tp.ema_decay = tm.ema_decay, tp.seed = tm.seed;
    tp.loss = m->flow;
    SDG_TRY(sdg_flow3d_trainer_new(m->net, mols, prop, n, &tp, &tr));
    SDG_TRY(sdg_checkpoint_load(path, &(sdg_checkpoint){.params = sdg_egnn_params_store(m->net),
                                                         .ema = sdg_flow3d_trainer_ema(tr),
                                                         .adam = sdg_flow3d_trainer_adam(tr)}));
    sdg_flow3d_trainer_set_epochs(tr, tm.epoch);
    m->weights_ema = false;
    *out = tr;
    tr = NULL;
cleanup:
    sdg_flow3d_trainer_free(tr);
    sdg_meta_free(meta);
    return st;
}

/* Rows of the table ordered by |prop - target| (ties by row), for the conditioned size draw. */
typedef struct near_row { double d; size_t i; } near_row;
static int near_cmp(const void *a, const void *b) {
    const near_row *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

sdg_status sdg_mol3d_model_draw(const sdg_mol3d_model *m, uint64_t seed, size_t n, const double *target,
                                int64_t *n_atoms, float *prop) {
    sdg_status st = SDG_OK;
    sdg_rng *rng = NULL;
    size_t *rows = NULL, nr = 0;
    near_row *near = NULL;
    if (!m || !m->table_n || (n && !n_atoms)) return SDG_ERROR(SDG_ERR_INVALID, "mol3d model draw: missing argument");
    bool cond = m->cond[0] != 0;
    if (target && !cond)
        return SDG_ERROR(SDG_ERR_INVALID, "a property target was given, but the model was trained without conditioning");
    rows = malloc(m->n_table * sizeof *rows);
    if (!rows) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    if (!cond || (!target && !prop)) {   /* unconditioned, or a conditioned model's null branch */
        for (size_t i = 0; i < m->n_table; i++) rows[nr++] = i;
    } else if (!target) {   /* joint draw over the rows that have a value */
        for (size_t i = 0; i < m->n_table; i++)
            if (!isnan(m->table_prop[i])) rows[nr++] = i;
    } else {                /* sizes of the K rows nearest the target: K = max(32, 5 %) */
        near = malloc(m->n_table * sizeof *near);
        if (!near) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
        size_t c = 0;
        for (size_t i = 0; i < m->n_table; i++)
            if (!isnan(m->table_prop[i])) near[c++] = (near_row){fabs((double)m->table_prop[i] - *target), i};
        qsort(near, c, sizeof *near, near_cmp);
        size_t K = c / 20 > 32 ? c / 20 : 32;
        if (K > c) K = c;
        for (size_t k = 0; k < K; k++) rows[nr++] = near[k].i;
    }
    if (nr == 0) SDG_FAIL(SDG_ERR_INVALID, "mol3d model draw: the model's table has no row with a property value");
    SDG_TRY(sdg_rng_new(seed, &rng));
    for (size_t i = 0; i < n; i++) {
        sdg_rng_reset(rng, seed, SDG_MOL3D_DRAW_STREAM + i);
        size_t r = rows[sdg_rng_uint(rng, nr)];
        n_atoms[i] = m->table_n[r];
        if (prop && cond) {
            double v = target ? *target : (double)m->table_prop[r];
            prop[i] = (float)((v - m->cond_mean) / m->cond_std);
        }
    }
cleanup:
    sdg_rng_free(rng);
    free(rows);
    free(near);
    return st;
}
