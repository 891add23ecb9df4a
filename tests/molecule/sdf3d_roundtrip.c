/* Open Babel round trip of an SDF written by `sdegen sample MODEL.h5 -o FILE.sdf` with a 3-D
 * molecule model (run by tests/cli/molecules3d.sh): the molecules are generated again through
 * the library with the same settings, the file is read through Open Babel's own SDF reader
 * (sdg_mol_list_read_sdf_obabel), and every record must have the same atoms (element, formal
 * charge, coordinates to the file's 1e-4 A), the same bonds (pair and order) and the title.
 * usage: sdf3d_roundtrip MODEL.h5 FILE.sdf SEED STEPS N BATCH ema|raw [ODE [SDE_NOISE]]
 * Exit 0 when every record matches, 1 naming the first difference, 2 on bad usage. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sdegen/sdegen.h"

static int fail(const char *what) {
    fprintf(stderr, "sdf3d_roundtrip: %s: %s\n", what, sdg_errmsg());
    return 1;
}

/* Bond order between atoms i and j of m, 0 when none. */
static int order_of(const sdg_mol *m, int64_t i, int64_t j) {
    int64_t k = -1;
    if (sdg_mol_find_bond(m, i, j, &k) != SDG_OK || k < 0) return 0;
    return m->bonds[k].order;
}

int main(int argc, char **argv) {
    if (argc < 8) {
        fprintf(stderr, "usage: sdf3d_roundtrip MODEL.h5 FILE.sdf SEED STEPS N BATCH ema|raw [euler|heun|rk4 [ETA]]\n");
        return 2;
    }
    const char *model = argv[1], *sdf = argv[2];
    uint64_t seed = strtoull(argv[3], NULL, 10);
    int steps = atoi(argv[4]);
    size_t n = strtoul(argv[5], NULL, 10), batch = strtoul(argv[6], NULL, 10);
    bool ema = strcmp(argv[7], "ema") == 0;
    const char *ode = argc > 8 ? argv[8] : "euler";
    if (sdg_init() != SDG_OK) return fail("init");
    sdg_set_num_threads(1);
    sdg_mol3d_model *m = NULL;
    sdg_mol_list *l = NULL;
    if (sdg_mol3d_model_load(model, ema, &m) != SDG_OK) return fail(model);
    int64_t *na = malloc(n * sizeof *na);
    float *prop = malloc(n * sizeof *prop);
    sdg_mol **gen = calloc(n, sizeof *gen);
    if (!na || !prop || !gen) return 1;
    bool cond = m->cond[0] != 0;
    if (sdg_mol3d_model_draw(m, seed, n, NULL, na, cond ? prop : NULL) != SDG_OK) return fail("draw");
    sdg_flow3d_sample_params sp = sdg_flow3d_sample_default_params();
    sp.n_steps = steps;
    sp.seed = seed;
    sp.chunk = batch;
    sp.prior_std = m->flow.prior_std;
    sp.ode = strcmp(ode, "heun") == 0 ? sdg_ode_heun : strcmp(ode, "rk4") == 0 ? sdg_ode_rk4 : sdg_ode_euler;
    sp.sde_noise = argc > 9 ? strtof(argv[9], NULL) : 0.0f;
    for (size_t i0 = 0; i0 < n; i0 += batch) {   /* the CLI's chunks */
        size_t B = n - i0 < batch ? n - i0 : batch;
        sp.stream_offset = i0;
        if (sdg_flow3d_sample(m->net, na + i0, B, cond ? prop + i0 : NULL, &sp, gen + i0) != SDG_OK) return fail("sample");
    }
    if (sdg_mol_list_read_sdf_obabel(sdf, &l) != SDG_OK) return fail(sdf);
    int rc = 0;
    size_t charged = 0, bonds = 0;
    if (l->count != n) {
        fprintf(stderr, "sdf3d_roundtrip: %s: Open Babel reads %zu records, %zu were generated\n", sdf, l->count, n);
        rc = 1;
    }
    for (size_t r = 0; r < l->count && r < n && rc == 0; r++) {
        const sdg_mol *a = gen[r], *b = l->mols[r];
        char title[64];
        snprintf(title, sizeof title, "sdegen sample %zu", r);
        if (!b->name || strcmp(b->name, title) != 0) {
            fprintf(stderr, "record %zu: title '%s', want '%s'\n", r, b->name ? b->name : "", title);
            rc = 1;
            break;
        }
        if (a->n_atoms != b->n_atoms || a->n_bonds != b->n_bonds) {
            fprintf(stderr, "record %zu: %lld atoms / %lld bonds in Open Babel, %lld / %lld generated\n", r,
                    (long long)b->n_atoms, (long long)b->n_bonds, (long long)a->n_atoms, (long long)a->n_bonds);
            rc = 1;
            break;
        }
        for (int64_t i = 0; i < a->n_atoms && rc == 0; i++) {
            if (a->atoms[i].z != b->atoms[i].z || a->atoms[i].charge != b->atoms[i].charge) {
                fprintf(stderr, "record %zu atom %lld: %s%+d in Open Babel, %s%+d generated\n", r, (long long)i + 1,
                        sdg_element_symbol(b->atoms[i].z), b->atoms[i].charge, sdg_element_symbol(a->atoms[i].z),
                        a->atoms[i].charge);
                rc = 1;
            }
            for (int c = 0; c < 3 && rc == 0; c++)
                if (!(fabs(a->coords[3 * i + c] - b->coords[3 * i + c]) <= 0.6e-4)) {
                    fprintf(stderr, "record %zu atom %lld: coordinate %d is %.5f in Open Babel, %.5f generated\n", r,
                            (long long)i + 1, c, b->coords[3 * i + c], a->coords[3 * i + c]);
                    rc = 1;
                }
            charged += a->atoms[i].charge != 0;
        }
        for (int64_t k = 0; k < a->n_bonds && rc == 0; k++) {
            const sdg_bond *e = &a->bonds[k];
            int o = order_of(b, e->i, e->j);
            if (o != e->order) {
                fprintf(stderr, "record %zu: bond %d-%d has order %d in Open Babel, %d generated\n", r, e->i + 1,
                        e->j + 1, o, e->order);
                rc = 1;
            }
        }
        bonds += (size_t)a->n_bonds;
    }
    if (rc == 0)
        printf("Open Babel reads all %zu records as generated: atoms, %zu formal charges, %zu bonds with their orders, "
               "coordinates\n", n, charged, bonds);
    for (size_t i = 0; i < n; i++) sdg_mol_free(gen[i]);
    free(gen);
    free(na);
    free(prop);
    sdg_mol_list_free(l);
    sdg_mol3d_model_free(m);
    return rc;
}
