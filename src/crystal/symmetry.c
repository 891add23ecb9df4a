/* spglib bindings: space groups, standardised cells and the data of the symmetrised CIF.
 * spglib's arrays are column-vector lattices; ours are row vectors (crystal.h). */
#include <spglib.h>
#include <stdlib.h>
#include <string.h>
#include "crystal/internal.h"

typedef struct spg_cell {
    double  lat[3][3];
    double (*pos)[3];
    int    *types;
    int     n;
} spg_cell;

static sdg_status to_spg(const sdg_crystal *c, spg_cell *s) {
    memset(s, 0, sizeof *s);
    if (c->n_atoms < 1) return SDG_ERROR(SDG_ERR_INVALID, "spglib: crystal has no sites");
    if (c->n_atoms > 100000) return SDG_ERROR(SDG_ERR_INVALID, "spglib: %lld sites is too many", (long long)c->n_atoms);
    s->n = (int)c->n_atoms;
    s->pos = malloc((size_t)s->n * sizeof *s->pos);
    s->types = malloc((size_t)s->n * sizeof *s->types);
    if (!s->pos || !s->types) {
        free(s->pos);
        free(s->types);
        return SDG_ERROR(SDG_ERR_NOMEM, "spglib: out of memory");
    }
    for (int v = 0; v < 3; v++)
        for (int d = 0; d < 3; d++) s->lat[d][v] = c->lattice[3 * v + d];
    for (int i = 0; i < s->n; i++) {
        s->types[i] = c->z[i];
        for (int d = 0; d < 3; d++) s->pos[i][d] = c->frac[3 * i + d];
    }
    return SDG_OK;
}

static void spg_cell_destroy(spg_cell *s) {
    free(s->pos);
    free(s->types);
}

static sdg_status dataset_of(const sdg_crystal *c, double symprec, SpglibDataset **out) {
    spg_cell s;
    if (!(symprec > 0)) return SDG_ERROR(SDG_ERR_INVALID, "symprec %g must be positive", symprec);
    sdg_status st = to_spg(c, &s);
    if (st != SDG_OK) return st;
    SpglibDataset *ds = spg_get_dataset(s.lat, s.pos, s.types, s.n, symprec);
    spg_cell_destroy(&s);
    if (!ds || ds->spacegroup_number < 1) {
        SpglibError e = spg_get_error_code();
        if (ds) spg_free_dataset(ds);
        return SDG_ERROR(SDG_ERR_DEPENDENCY, "spglib found no space group at symprec %g: %s", symprec,
                         spg_get_error_message(e));
    }
    *out = ds;
    return SDG_OK;
}

static void fill_sg(const SpglibDataset *ds, sdg_spacegroup *out) {
    memset(out, 0, sizeof *out);
    out->number = ds->spacegroup_number;
    snprintf(out->symbol, sizeof out->symbol, "%s", ds->international_symbol);
    SpglibSpacegroupType t = spg_get_spacegroup_type(ds->hall_number);
    /* "F m -3 m" form: the full symbol with spaces, without a setting suffix */
    snprintf(out->hm_full, sizeof out->hm_full, "%s", t.number ? t.international : ds->international_symbol);
    char *eq = strchr(out->hm_full, '=');
    if (eq) *eq = '\0';
    size_t n = strlen(out->hm_full);
    while (n && out->hm_full[n - 1] == ' ') out->hm_full[--n] = '\0';
}

sdg_status sdg_crystal_spacegroup(const sdg_crystal *c, double symprec, sdg_spacegroup *out) {
    SpglibDataset *ds = NULL;
    sdg_status     st = dataset_of(c, symprec, &ds);
    if (st != SDG_OK) return st;
    fill_sg(ds, out);
    spg_free_dataset(ds);
    return SDG_OK;
}

static sdg_status std_cell(const SpglibDataset *ds, const char *name, sdg_crystal **out) {
    sdg_status   st = SDG_OK;
    sdg_crystal *r  = NULL;
    double       m[9];
    for (int v = 0; v < 3; v++)
        for (int d = 0; d < 3; d++) m[3 * v + d] = ds->std_lattice[d][v];
    SDG_TRY(sdg_crystal_new(m, &r));
    for (int i = 0; i < ds->n_std_atoms; i++) SDG_TRY(sdg_crystal_add_site(r, ds->std_types[i], ds->std_positions[i]));
    sdg_crystal_wrap(r);
    SDG_TRY(sdg_crystal_set_name(r, name));
    *out = r;
    r = NULL;
cleanup:
    sdg_crystal_free(r);
    return st;
}

sdg_status sdg_crystal_standardize(const sdg_crystal *c, double symprec, sdg_crystal **out) {
    SpglibDataset *ds = NULL;
    sdg_status     st = dataset_of(c, symprec, &ds);
    if (st != SDG_OK) return st;
    st = std_cell(ds, c->name, out);
    spg_free_dataset(ds);
    return st;
}

sdg_status sdg_spacegroup_histogram(const sdg_crystal *const *cs, size_t n, double symprec, int64_t counts[231]) {
    if (!(symprec > 0)) return SDG_ERROR(SDG_ERR_INVALID, "symprec %g must be positive", symprec);
    for (size_t k = 0; k < n; k++) {
        sdg_spacegroup sg;
        if (sdg_crystal_spacegroup(cs[k], symprec, &sg) == SDG_OK && sg.number >= 1 && sg.number <= 230)
            counts[sg.number]++;
        else
            counts[0]++;
    }
    sdg_error_clear();
    return SDG_OK;
}

void sdg_sym_cell_destroy(sdg_sym_cell *s) {
    if (!s) return;
    sdg_crystal_free(s->std);
    free(s->rot);
    free(s->trans);
    free(s->orbit);
    free(s->wyckoff);
    memset(s, 0, sizeof *s);
}

/* The standard conventional cell, then spglib again on that cell so that the operations,
 * orbits and Wyckoff letters all refer to the cell that is written. spglib idealises the
 * standard cell's positions, so the second pass uses a tight tolerance: a loose one could
 * find a higher group than the input's by merging near-symmetric idealised sites. */
sdg_status sdg_sym_cell_init(sdg_sym_cell *s, const sdg_crystal *c, double symprec) {
    sdg_status     st  = SDG_OK;
    SpglibDataset *ds  = NULL, *ds2 = NULL;
    memset(s, 0, sizeof *s);
    SDG_TRY(dataset_of(c, symprec, &ds));
    SDG_TRY(std_cell(ds, c->name, &s->std));
    SDG_TRY(dataset_of(s->std, symprec < 1e-4 ? symprec : 1e-4, &ds2));
    if (ds2->spacegroup_number != ds->spacegroup_number) {
        spg_free_dataset(ds2);
        ds2 = NULL;
        SDG_TRY(dataset_of(s->std, symprec, &ds2));
    }
    if (ds2->n_atoms != (int)s->std->n_atoms) SDG_FAIL(SDG_ERR_DEPENDENCY, "spglib: inconsistent standard cell");
    fill_sg(ds2, &s->sg);
    s->n_ops   = ds2->n_operations;
    s->rot     = malloc((size_t)s->n_ops * sizeof *s->rot);
    s->trans   = malloc((size_t)s->n_ops * sizeof *s->trans);
    s->orbit   = malloc((size_t)ds2->n_atoms * sizeof *s->orbit);
    s->wyckoff = malloc((size_t)ds2->n_atoms);
    if (!s->rot || !s->trans || !s->orbit || !s->wyckoff) SDG_FAIL(SDG_ERR_NOMEM, "symmetrise: out of memory");
    memcpy(s->rot, ds2->rotations, (size_t)s->n_ops * sizeof *s->rot);
    memcpy(s->trans, ds2->translations, (size_t)s->n_ops * sizeof *s->trans);
    for (int i = 0; i < ds2->n_atoms; i++) {
        s->orbit[i]   = ds2->crystallographic_orbits[i];
        s->wyckoff[i] = (char)('a' + (ds2->wyckoffs[i] >= 0 && ds2->wyckoffs[i] < 27 ? ds2->wyckoffs[i] : 0));
        if (ds2->wyckoffs[i] == 26) s->wyckoff[i] = 'A';   /* alpha, in groups 47 and 221 */
    }
cleanup:
    if (ds) spg_free_dataset(ds);
    if (ds2) spg_free_dataset(ds2);
    if (st != SDG_OK) sdg_sym_cell_destroy(s);
    return st;
}
