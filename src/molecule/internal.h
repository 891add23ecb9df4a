/* Private to src/molecule: helpers shared by the module's files. */
#ifndef SDG_MOLECULE_INTERNAL_H
#define SDG_MOLECULE_INTERNAL_H
#include "sdegen/molecule.h"

/* Default valences of element z (RDKit's table), ascending; returns how many (0 = none). */
int sdg_mol_default_valences(int z, const int **list);
#endif
