/* Private to src/crystal: helpers shared by the module's files. */
#ifndef SDG_CRYSTAL_INTERNAL_H
#define SDG_CRYSTAL_INTERNAL_H
#include "sdegen/crystal.h"

/* x - floor(x) in [0, 1) (a value that rounds to 1 becomes 0). */
double     sdg_wrap01(double x);
/* inv = m^-1 (row-major); -1 when singular. */
int        sdg_lattice_inverse(const double m[9], double inv[9]);
/* Appends c to l (growing l->items, capacity in *cap); l takes ownership only on success. */
sdg_status sdg_crystal_list_push(sdg_crystal_list *l, sdg_crystal *c, size_t *cap);
/* sdg_crystal_read_cif_string for a text that starts on line first_line of its source (a
 * CIF inside a CSV field), so that messages give the source's line numbers. */
sdg_status sdg_cif_read_from_line(const char *text, const char *source, int first_line, sdg_crystal_list **out);
/* Number in CIF form: "5.431(2)" -> 5.431, "0.5" or "1/2" -> 0.5. -1 when not a number. */
int        sdg_cif_number(const char *s, double *v);

/* spglib's view of a crystal for the symmetrised CIF: the standard conventional cell, its
 * operations (x' = R x + t in that cell's basis), and per site the index of its orbit's
 * representative and its Wyckoff letter. */
typedef struct sdg_sym_cell {
    sdg_crystal   *std;
    sdg_spacegroup sg;
    int            n_ops;
    int          (*rot)[3][3];
    double       (*trans)[3];
    int           *orbit;     /* (std->n_atoms)                        */
    char          *wyckoff;   /* (std->n_atoms) 'a'..'z', 'A' = alpha  */
} sdg_sym_cell;
sdg_status sdg_sym_cell_init(sdg_sym_cell *s, const sdg_crystal *c, double symprec);
void       sdg_sym_cell_destroy(sdg_sym_cell *s);
#endif
