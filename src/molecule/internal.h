/* Private to src/molecule: helpers shared by the module's files. */
#ifndef SDG_MOLECULE_INTERNAL_H
#define SDG_MOLECULE_INTERNAL_H
#include "sdegen/molecule.h"

/* Default valences of element z (RDKit's table), ascending; returns how many (0 = none). */
int sdg_mol_default_valences(int z, const int **list);
/* RDKit's sanitisation valence rule: SDG_ERR_FORMAT (naming the atom) when an atom's bond
 * orders plus its hydrogens exceed sdg_mol_max_valence. */
sdg_status sdg_mol_check_sane(const sdg_mol *m);
/* Appends m to l (capacity *cap, doubled as needed; l takes m only on success). */
sdg_status sdg_mol_list_push(sdg_mol_list *l, size_t *cap, sdg_mol *m);

/* ---- the EGNN's layers (egnn.c builds them; egnn_fast.c reads them) ---- */
#define SDG_EGNN_TIME_FEATS 10   /* t, sin(k pi t), cos(k pi t) for k = 1..4, and n / 10 (atom count) */
typedef struct sdg_egnn_layer {
    sdg_linear     s, d, e, m2, x, eu, h1, h2;
    sdg_norm_layer ln;
} sdg_egnn_layer;

struct sdg_egnn {
    sdg_egnn_params p;
    sdg_params     *params;
    sdg_linear      in, prop, cat, edge_in, type_out, charge_out, bond1, bond2;
    sdg_egnn_layer *layers;
};

/* Time features of one molecule (inv_n = 1 / its atom count) at time t: SDG_EGNN_TIME_FEATS
 * floats into r. */
void sdg_egnn_time_features(float t, float inv_n, float *r);
/* Property features of one molecule: G = max(prop_gauss, 1) floats into r (keep 0: zeros). */
void sdg_egnn_prop_features(const sdg_egnn_params *p, float v, float keep, float *r);
/* sdg_egnn_forward with the grad mode off: the same network, fused, on raw arrays
 * (egnn_fast.c); arguments already checked. */
sdg_status sdg_egnn_forward_fast(sdg_ctx *ctx, const sdg_egnn *m, const sdg_egnn_input *in, sdg_egnn_output *out);
/* ---- the training loop of the 3-D trainers (fit3d.c): flow matching and the property regressor ----
 * Epoch e shuffles the n molecules with sdg_rng_stream(seed, 1 + e), then per batch: packed
 * batch (sdg_mol3d_batch_init with the rows' prop values, NULL when prop is NULL), ctx reset,
 * loss(ctx, batch, rng, self), zero grads, backward, global clipping, Adam, EMA, on_step. */
typedef sdg_status (*sdg_mol3d_loss_fn)(sdg_ctx *ctx, const sdg_mol3d_batch *b, sdg_rng *rng, void *self,
                                        sdg_tensor **loss, float *parts);
typedef struct sdg_mol3d_fit_params {
    const char        *name;        /* for messages ("flow3d trainer")          */
    int64_t            batch;
    float              lr, grad_clip, ema_decay;
    uint64_t           seed;
    sdg_mol3d_loss_fn  loss;
    void              *self;
    sdg_flow3d_step_fn on_step;
    void              *on_step_params;
    int                n_parts;     /* floats the loss writes into parts (<= 8) */
} sdg_mol3d_fit_params;
typedef struct sdg_mol3d_fit {
    sdg_mol3d_fit_params p;
    sdg_params     *params;         /* borrowed                                 */
    sdg_adam       *adam;
    sdg_ema        *ema;
    sdg_ctx        *ctx;
    sdg_rng        *rng;
    sdg_mol *const *mols;           /* (n) borrowed                             */
    const float    *prop;           /* (n) borrowed, or NULL                    */
    size_t          n;
    int64_t         epochs, *order;
    sdg_mol       **bm;             /* (batch) molecules of the current step    */
    float          *bp;             /* (batch) their values                     */
    sdg_flow3d_step_fn on_step;
    void           *on_step_params;
} sdg_mol3d_fit;
sdg_status sdg_mol3d_fit_init(sdg_mol3d_fit *f, const sdg_mol3d_fit_params *p, sdg_params *params,
                              sdg_mol *const *mols, const float *prop, size_t n);
void       sdg_mol3d_fit_destroy(sdg_mol3d_fit *f);   /* NULL is a no-op */
/* One epoch; *loss = mean step loss, parts (n_parts, may be NULL) the mean parts. */
sdg_status sdg_mol3d_fit_epoch(sdg_mol3d_fit *f, double *loss, float *parts);
/* ---- QM9 files (mol3d_data.c), shared with the conformer builder (conformers.c) ---- */
#define SDG_QM9_ROWS 133885   /* molecules of QM9: gdb_1 .. gdb_133885 */
/* k of a "gdb_k" string, or -1. */
int64_t    sdg_qm9_gdb_index(const char *s);
/* Reads the properties of one CSV into props (count, SDG_QM9_PROP_COUNT), rows matched through
 * pos (gdb k -> record index + 1, 0 = absent). A missing file is an error; rows not in the set
 * are skipped; SDG_ERR_FORMAT naming the file and line for a bad header or value. */
sdg_status sdg_qm9_read_props(const char *path, const int64_t *pos, int64_t kmax, float *props);
/* Marks in flag[k] (k = gdb index, 1-based) the rows listed by a file of 0-based integers
 * (digit runs: the JSON list of quoted strings and the one-per-line text both fit). */
sdg_status sdg_qm9_read_index_file(const char *path, int64_t kmax, bool *flag, size_t *count);
#endif
