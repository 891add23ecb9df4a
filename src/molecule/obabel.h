/* Private to src/molecule: the C interface of the Open Babel shim (obabel_shim.cpp, the only
 * C++ file of the project). Every function catches every C++ exception and turns it into a
 * status with a message; Open Babel's own messages are captured, never printed. Calls are
 * serialised by one mutex (Open Babel keeps global state). */
#ifndef SDG_MOLECULE_OBABEL_H
#define SDG_MOLECULE_OBABEL_H
#include <stdbool.h>
#include "sdegen/molecule.h"
#ifdef __cplusplus
extern "C" {
#endif

/* SMILES -> molecule (Kekule, implicit H, charges; stereo dropped). SDG_ERR_FORMAT. */
sdg_status sdg_ob_read_smiles(const char *smiles, sdg_mol **out);
/* Molecule -> SMILES ("smi") or canonical SMILES ("can", no stereo/isotopes), malloc'ed. */
sdg_status sdg_ob_write_smiles(const sdg_mol *m, bool canonical, char **out);
/* Parse, write canonical, re-parse (MoFlow's preprocessing) in one locked call. */
sdg_status sdg_ob_canonicalise(const char *smiles, sdg_mol **out, char **canonical);
/* 2-D coordinates in place (dim = 2). */
sdg_status sdg_ob_coords_2d(sdg_mol *m);
/* New molecule with explicit H and 3-D coordinates. */
sdg_status sdg_ob_embed_3d(const sdg_mol *m, const sdg_embed_params *p, sdg_rng *rng,
                           sdg_mol **out);
/* Assigns Kekule orders to the bonds flagged aromatic (their order is ignored). */
sdg_status sdg_ob_kekulize(sdg_mol *m);

#ifdef __cplusplus
}
#endif
#endif
