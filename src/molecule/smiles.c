/* SMILES, depiction and 3-D embedding: argument checks in C, the work in the Open Babel shim. */
#include <stdlib.h>
#include "molecule/internal.h"
#include "molecule/obabel.h"

sdg_status sdg_mol_from_smiles(const char *smiles, sdg_mol **out) {
    if (!smiles || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_from_smiles: NULL argument");
    *out = NULL;
    sdg_status st = sdg_ob_read_smiles(smiles, out);
    if (st == SDG_OK && (st = sdg_mol_check_sane(*out)) != SDG_OK) {
        sdg_error_prefix("SMILES '%.200s'", smiles);
        sdg_mol_free(*out);
        *out = NULL;
    }
    return st;
}

sdg_status sdg_mol_to_smiles(const sdg_mol *m, char **out) {
    if (!m || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_to_smiles: NULL argument");
    *out = NULL;
    return sdg_ob_write_smiles(m, false, out);
}

sdg_status sdg_mol_to_canonical_smiles(const sdg_mol *m, char **out) {
    if (!m || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_to_canonical_smiles: NULL argument");
    *out = NULL;
    return sdg_ob_write_smiles(m, true, out);
}

sdg_status sdg_mol_coords_2d(sdg_mol *m) {
    if (!m) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_coords_2d: NULL molecule");
    return sdg_ob_coords_2d(m);
}

sdg_embed_params sdg_embed_default_params(void) {
    return (sdg_embed_params){.forcefield = "MMFF94", .steps = 300, .jitter = 0.01};
}

sdg_status sdg_mol_embed_3d(const sdg_mol *m, const sdg_embed_params *params, sdg_rng *rng,
                            sdg_mol **out) {
    if (!m || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_embed_3d: NULL argument");
    sdg_embed_params p = params ? *params : sdg_embed_default_params();
    if (p.steps < 0 || p.jitter < 0)
        return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_embed_3d: steps %d and jitter %g must be >= 0",
                         p.steps, p.jitter);
    if (p.jitter > 0 && !rng)
        return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_embed_3d: jitter %g needs an rng", p.jitter);
    *out = NULL;
    return sdg_ob_embed_3d(m, &p, rng, out);
}
