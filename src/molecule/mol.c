/* The molecule type, the element table and RDKit's default-valence model. */
#include <stdlib.h>
#include <string.h>
#include "molecule/internal.h"

static const char *const symbols[119] = {
    NULL, "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S",
    "Cl", "Ar", "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge",
    "As", "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd",
    "In", "Sn", "Sb", "Te", "I", "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd",
    "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg",
    "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U", "Np", "Pu", "Am", "Cm",
    "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn",
    "Nh", "Fl", "Mc", "Lv", "Ts", "Og"};

const char *sdg_element_symbol(int z) { return (z >= 1 && z <= 118) ? symbols[z] : NULL; }

sdg_status sdg_element_number(const char *symbol, int *z) {
    if (!symbol || !z) return SDG_ERROR(SDG_ERR_INVALID, "sdg_element_number: NULL argument");
    for (int k = 1; k <= 118; k++)
        if (strcmp(symbols[k], symbol) == 0) {
            *z = k;
            return SDG_OK;
        }
    return SDG_ERROR(SDG_ERR_NOTFOUND, "unknown element symbol '%s'", symbol);
}

/* RDKit's periodic-table valence lists (atomic_data.cpp) for the main-group elements; the
 * others have none (no implicit hydrogens, no valence limit). */
int sdg_mol_default_valences(int z, const int **list) {
    static const int v1[] = {1}, v2[] = {2}, v3[] = {3}, v4[] = {4}, v246[] = {2, 4, 6},
                     v357[] = {3, 5, 7}, v135[] = {1, 3, 5}, v0[] = {0};
    const int *l = NULL;
    int n = 1;
    switch (z) {
    case 1: case 9: case 17: case 35: case 3: case 11: case 19: l = v1; break;
    case 53: l = v135; n = 3; break;
    case 2: case 10: case 18: case 36: case 54: l = v0; break;
    case 4: case 12: case 20: l = v2; break;
    case 5: case 13: l = v3; break;
    case 6: case 14: case 32: l = v4; break;
    case 7: l = v3; break;
    case 8: l = v2; break;
    case 15: case 33: l = v357; n = 3; break;
    case 16: case 34: case 52: l = v246; n = 3; break;
    default: n = 0;
    }
    *list = l;
    return n;
}

sdg_status sdg_mol_new(sdg_mol **out) {
    if (!out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_new: NULL out");
    *out = calloc(1, sizeof **out);
    return *out ? SDG_OK : SDG_ERROR(SDG_ERR_NOMEM, "sdg_mol_new: out of memory");
}

void sdg_mol_free(sdg_mol *m) {
    if (!m) return;
    free(m->atoms);
    free(m->bonds);
    free(m->coords);
    free(m->name);
    free(m);
}

sdg_status sdg_mol_copy(const sdg_mol *m, sdg_mol **out) {
    sdg_status st = SDG_OK;
    sdg_mol *c = NULL;
    if (!m || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_copy: NULL argument");
    SDG_TRY(sdg_mol_new(&c));
    size_t na = (size_t)m->n_atoms, nb = (size_t)m->n_bonds;
    c->atoms = malloc((na ? na : 1) * sizeof *c->atoms);
    c->bonds = malloc((nb ? nb : 1) * sizeof *c->bonds);
    if (!c->atoms || !c->bonds) SDG_FAIL(SDG_ERR_NOMEM, "sdg_mol_copy: out of memory");
    if (na) memcpy(c->atoms, m->atoms, na * sizeof *c->atoms);
    if (nb) memcpy(c->bonds, m->bonds, nb * sizeof *c->bonds);
    c->cap_atoms = na ? na : 1;
    c->cap_bonds = nb ? nb : 1;
    c->n_atoms = m->n_atoms;
    c->n_bonds = m->n_bonds;
    if (m->coords) {
        c->coords = malloc((na ? na : 1) * 3 * sizeof *c->coords);
        if (!c->coords) SDG_FAIL(SDG_ERR_NOMEM, "sdg_mol_copy: out of memory");
        if (na) memcpy(c->coords, m->coords, na * 3 * sizeof *c->coords);
    }
    c->dim = m->coords ? m->dim : 0;
    SDG_TRY(sdg_mol_set_name(c, m->name));
    *out = c;
    c = NULL;
cleanup:
    sdg_mol_free(c);
    return st;
}

sdg_status sdg_mol_add_atom(sdg_mol *m, int z, int charge, int64_t *idx) {
    if (!m) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_add_atom: NULL molecule");
    if (z < 1 || z > 118) return SDG_ERROR(SDG_ERR_INVALID, "atomic number %d outside 1..118", z);
    if ((size_t)m->n_atoms == m->cap_atoms) {
        size_t cap = m->cap_atoms ? 2 * m->cap_atoms : 16;
        sdg_atom *a = realloc(m->atoms, cap * sizeof *a);
        if (!a) return SDG_ERROR(SDG_ERR_NOMEM, "sdg_mol_add_atom: out of memory");
        m->atoms = a;
        if (m->coords) {
            double *x = realloc(m->coords, cap * 3 * sizeof *x);
            if (!x) return SDG_ERROR(SDG_ERR_NOMEM, "sdg_mol_add_atom: out of memory");
            m->coords = x;
        }
        m->cap_atoms = cap;
    }
    m->atoms[m->n_atoms] = (sdg_atom){.z = z, .charge = charge, .hcount = -1};
    if (m->coords) memset(m->coords + 3 * m->n_atoms, 0, 3 * sizeof *m->coords);
    if (idx) *idx = m->n_atoms;
    m->n_atoms++;
    return SDG_OK;
}

sdg_status sdg_mol_find_bond(const sdg_mol *m, int64_t i, int64_t j, int64_t *k) {
    if (!m || !k) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_find_bond: NULL argument");
    if (i < 0 || j < 0 || i >= m->n_atoms || j >= m->n_atoms)
        return SDG_ERROR(SDG_ERR_INVALID, "bond (%lld, %lld): atom index out of range 0..%lld",
                         (long long)i, (long long)j, (long long)m->n_atoms - 1);
    *k = -1;
    for (int64_t b = 0; b < m->n_bonds; b++)
        if ((m->bonds[b].i == i && m->bonds[b].j == j) || (m->bonds[b].i == j && m->bonds[b].j == i)) {
            *k = b;
            break;
        }
    return SDG_OK;
}

sdg_status sdg_mol_add_bond(sdg_mol *m, int64_t i, int64_t j, int order) {
    int64_t k;
    sdg_status st = sdg_mol_find_bond(m, i, j, &k);
    if (st != SDG_OK) return st;
    if (i == j) return SDG_ERROR(SDG_ERR_INVALID, "bond (%lld, %lld) is a self-loop", (long long)i, (long long)j);
    if (order < 1 || order > 3)
        return SDG_ERROR(SDG_ERR_INVALID, "bond (%lld, %lld): order %d outside 1..3", (long long)i,
                         (long long)j, order);
    if (k >= 0)
        return SDG_ERROR(SDG_ERR_INVALID, "bond (%lld, %lld) already exists", (long long)i, (long long)j);
    if ((size_t)m->n_bonds == m->cap_bonds) {
        size_t cap = m->cap_bonds ? 2 * m->cap_bonds : 16;
        sdg_bond *b = realloc(m->bonds, cap * sizeof *b);
        if (!b) return SDG_ERROR(SDG_ERR_NOMEM, "sdg_mol_add_bond: out of memory");
        m->bonds = b;
        m->cap_bonds = cap;
    }
    m->bonds[m->n_bonds++] = (sdg_bond){.i = (int32_t)i, .j = (int32_t)j, .order = order, .aromatic = false};
    return SDG_OK;
}

sdg_status sdg_mol_remove_bond(sdg_mol *m, int64_t k) {
    if (!m) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_remove_bond: NULL molecule");
    if (k < 0 || k >= m->n_bonds)
        return SDG_ERROR(SDG_ERR_INVALID, "bond %lld out of range 0..%lld", (long long)k,
                         (long long)m->n_bonds - 1);
    memmove(m->bonds + k, m->bonds + k + 1, (size_t)(m->n_bonds - k - 1) * sizeof *m->bonds);
    m->n_bonds--;
    return SDG_OK;
}

sdg_status sdg_mol_set_name(sdg_mol *m, const char *name) {
    if (!m) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_set_name: NULL molecule");
    char *c = NULL;
    if (name) {
        size_t n = strlen(name);
        c = malloc(n + 1);
        if (!c) return SDG_ERROR(SDG_ERR_NOMEM, "sdg_mol_set_name: out of memory");
        memcpy(c, name, n + 1);
    }
    free(m->name);
    m->name = c;
    return SDG_OK;
}

static sdg_status check_atom(const sdg_mol *m, int64_t i, const void *out) {
    if (!m || !out) return SDG_ERROR(SDG_ERR_INVALID, "NULL argument");
    if (i < 0 || i >= m->n_atoms)
        return SDG_ERROR(SDG_ERR_INVALID, "atom %lld out of range 0..%lld", (long long)i,
                         (long long)m->n_atoms - 1);
    return SDG_OK;
}

sdg_status sdg_mol_valence(const sdg_mol *m, int64_t i, int *v) {
    sdg_status st = check_atom(m, i, v);
    if (st != SDG_OK) return st;
    int s = 0;
    for (int64_t b = 0; b < m->n_bonds; b++)
        if (m->bonds[b].i == i || m->bonds[b].j == i) s += m->bonds[b].order;
    *v = s;
    return SDG_OK;
}

/* Valence list of the element isoelectronic with atom i (z - charge), RDKit's rule. */
static int shifted_valences(const sdg_atom *a, const int **list) {
    int z = a->z - a->charge;
    if (z < 1 || z > 118) return 0;
    return sdg_mol_default_valences(z, list);
}

sdg_status sdg_mol_hcount(const sdg_mol *m, int64_t i, int *h) {
    int v;
    sdg_status st = sdg_mol_valence(m, i, &v);
    if (st != SDG_OK) return st;
    const sdg_atom *a = &m->atoms[i];
    if (a->hcount >= 0) {
        *h = a->hcount;
        return SDG_OK;
    }
    const int *l;
    int n = shifted_valences(a, &l);
    *h = 0;
    for (int k = 0; k < n; k++)
        if (l[k] >= v) {
            *h = l[k] - v;
            break;
        }
    return SDG_OK;
}

sdg_status sdg_mol_max_valence(const sdg_mol *m, int64_t i, int *vmax) {
    sdg_status st = check_atom(m, i, vmax);
    if (st != SDG_OK) return st;
    const int *l;
    int n = shifted_valences(&m->atoms[i], &l);
    *vmax = n > 0 ? l[n - 1] : -1;
    return SDG_OK;
}

sdg_status sdg_mol_check_sane(const sdg_mol *m) {
    for (int64_t i = 0; i < m->n_atoms; i++) {
        int v, h, vmax;
        sdg_status st = sdg_mol_valence(m, i, &v);
        if (st == SDG_OK) st = sdg_mol_hcount(m, i, &h);
        if (st == SDG_OK) st = sdg_mol_max_valence(m, i, &vmax);
        if (st != SDG_OK) return st;
        if (vmax >= 0 && v + h > vmax)
            return SDG_ERROR(SDG_ERR_FORMAT, "atom %lld (%s%+d) has valence %d, more than the %d permitted",
                             (long long)i, sdg_element_symbol(m->atoms[i].z), m->atoms[i].charge, v + h, vmax);
    }
    return SDG_OK;
}
