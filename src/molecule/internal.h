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
#endif
