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
#endif
