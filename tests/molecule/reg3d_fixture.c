/* Writes a property regressor whose prediction is known: a tiny sdg_prop3d whose last readout
 * layer has zero weights and bias 1, so every molecule is predicted mean + std exactly.
 * usage: reg3d_fixture OUT.h5 PROP MEAN STD (tests/cli/regressor3d.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sdegen/sdegen.h"

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: reg3d_fixture OUT.h5 PROP MEAN STD\n");
        return 2;
    }
    sdg_qm9_prop kp;
    if (sdg_init() != SDG_OK || sdg_qm9_prop_find(argv[2], &kp) != SDG_OK) return 2;
    sdg_egnn_params p = sdg_egnn_default_params();
    p.hidden = 8, p.edge_hidden = 4, p.message = 8, p.layers = 1;
    sdg_prop3d_model m;
    memset(&m, 0, sizeof m);
    snprintf(m.prop, sizeof m.prop, "%s", sdg_qm9_prop_name(kp));
    snprintf(m.unit, sizeof m.unit, "%s", sdg_qm9_prop_unit(kp));
    snprintf(m.split, sizeof m.split, "test fixture: constant prediction mean + std");
    m.mean = atof(argv[3]), m.std = atof(argv[4]), m.test_mae = 0.001, m.test_mae_natoms = 0.002, m.n_test = 1;
    if (sdg_prop3d_new(&p, &m.net) != SDG_OK) goto fail;
    sdg_params *ps = sdg_prop3d_params_store(m.net);
    sdg_tensor *w = sdg_params_find(ps, "readout.mol2.weight"), *b = sdg_params_find(ps, "readout.mol2.bias");
    memset(w->data, 0, (size_t)w->size * sizeof(float));
    b->data[0] = 1.0f;
    if (sdg_prop3d_model_save(argv[1], &m, NULL) != SDG_OK) goto fail;
    sdg_prop3d_free(m.net);
    return 0;
fail:
    fprintf(stderr, "reg3d_fixture: %s\n", sdg_errmsg());
    sdg_prop3d_free(m.net);
    return 1;
}
