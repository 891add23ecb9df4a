/* The property regressor (sdg_prop3d): finite-difference gradients of the readout and the L1
 * loss through the network, invariance of the prediction under rotation, translation and atom
 * permutation (op graph and fused path, <= 1e-4), a constant readout predicting its bias, the
 * checkpoint round trip, and a tiny training run that lowers the loss. */
#include <unistd.h>
#include "test_util.h"

static sdg_prop3d *small_reg(void) {
    sdg_egnn_params p = sdg_egnn_default_params();
    p.hidden = 16, p.edge_hidden = 8, p.message = 16, p.layers = 2, p.seed = 3;
    sdg_prop3d *r = NULL;
    CU_ASSERT_EQUAL(sdg_prop3d_new(&p, &r), SDG_OK);
    return r;
}

static sdg_mol *from_smiles(const char *s, uint64_t seed) {
    sdg_mol *e = sdg_test_mol_3d(s, seed);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    return e;
}

/* Loss of the batch: L1 against targets far from the predictions (no kink), or sum c_b y_b. */
static double loss_at(sdg_ctx *ctx, const sdg_prop3d *r, const sdg_mol3d_batch *b, bool l1) {
    sdg_ctx_reset(ctx);
    sdg_tensor *L = NULL, *y = NULL;
    if (l1) return sdg_prop3d_loss(ctx, r, b, &L) == SDG_OK ? (double)L->data[0] : NAN;
    if (sdg_prop3d_forward(ctx, r, b, &y) != SDG_OK) return NAN;
    sdg_tensor *c = sdg_tensor_newv(ctx, 2, b->g.B, (int64_t)1);
    for (int64_t k = 0; k < b->g.B; k++) c->data[k] = 1.0f + 0.5f * (float)k;
    L = sdg_sum(ctx, sdg_mul(ctx, y, c), SDG_AXIS_ALL, false);
    return sdg_ctx_status(ctx) == SDG_OK ? (double)L->data[0] : NAN;
}

static void check_grads(bool l1) {
    sdg_prop3d *r = small_reg();
    const char *smi[] = {"C=O", "CC#N", "OCC"};
    sdg_mol *mols[3];
    for (int k = 0; k < 3; k++) mols[k] = from_smiles(smi[k], 40 + k);
    float prop[3] = {5.0f, -5.0f, 6.0f};
    sdg_mol3d_batch b;
    CU_ASSERT_FATAL(sdg_mol3d_batch_init(&b, mols, 3, prop) == SDG_OK);
    sdg_ctx *ctx = NULL;
    sdg_ctx_new(0, &ctx);
    sdg_params *ps = sdg_prop3d_params_store(r);
    sdg_params_zero_grad(ps);
    sdg_ctx_reset(ctx);
    sdg_tensor *L = NULL, *y = NULL;
    if (l1) {
        CU_ASSERT_FATAL(sdg_prop3d_loss(ctx, r, &b, &L) == SDG_OK);
    } else {
        CU_ASSERT_FATAL(sdg_prop3d_forward(ctx, r, &b, &y) == SDG_OK);
        CU_ASSERT_EQUAL(y->size, 3);
        sdg_tensor *c = sdg_tensor_newv(ctx, 2, (int64_t)3, (int64_t)1);
        for (int k = 0; k < 3; k++) c->data[k] = 1.0f + 0.5f * (float)k;
        L = sdg_sum(ctx, sdg_mul(ctx, y, c), SDG_AXIS_ALL, false);
    }
    CU_ASSERT_FATAL(sdg_backward(ctx, L) == SDG_OK);
    const char *names[] = {"readout.atom1.weight", "readout.atom2.bias", "readout.mol1.weight", "readout.mol2.weight",
                           "readout.mol2.bias", "layer1.node1.weight", "layer0.msg_src.weight", "in.weight"};
    int bad = 0, checked = 0;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        sdg_tensor *t = sdg_params_find(ps, names[k]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        for (int c = 0; c < 3; c++) {
            int64_t e = (c * 7919 + 13) % t->size;
            float v0 = t->data[e];
            double h = 1e-2, Lp, Lm, Lp2, Lm2;
            t->data[e] = v0 + (float)h, Lp = loss_at(ctx, r, &b, l1);
            t->data[e] = v0 - (float)h, Lm = loss_at(ctx, r, &b, l1);
            t->data[e] = v0 + 2 * (float)h, Lp2 = loss_at(ctx, r, &b, l1);
            t->data[e] = v0 - 2 * (float)h, Lm2 = loss_at(ctx, r, &b, l1);
            t->data[e] = v0;
            double num = (-Lp2 + 8 * Lp - 8 * Lm + Lm2) / (12 * h), ana = t->grad[e];
            double err = fabs(num - ana) / fmax(fmax(fabs(num), fabs(ana)), 1e-2);
            checked++;
            if (err > 3e-2) {
                bad++;
                printf("\n%s %s[%lld]: analytic %.6g numeric %.6g\n", l1 ? "L1" : "readout", names[k], (long long)e, ana, num);
            }
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(checked, 24);
    /* the check can fail: a gradient scaled by 1.1 is caught */
    sdg_tensor *t = sdg_params_find(ps, "readout.mol2.bias");
    double Lp, Lm;
    float v0 = t->data[0];
    t->data[0] = v0 + 1e-2f, Lp = loss_at(ctx, r, &b, l1);
    t->data[0] = v0 - 1e-2f, Lm = loss_at(ctx, r, &b, l1);
    t->data[0] = v0;
    double g = (Lp - Lm) / 2e-2;
    CU_ASSERT(fabs(g * 1.1 - t->grad[0]) / fmax(fabs(g), 1e-2) > 3e-2);
    sdg_ctx_free(ctx);
    sdg_mol3d_batch_destroy(&b);
    for (int k = 0; k < 3; k++) sdg_mol_free(mols[k]);
    sdg_prop3d_free(r);
}
static void test_readout_gradients(void) { check_grads(false); }
static void test_l1_gradients(void) { check_grads(true); }

/* A copy of m with atoms in order perm, rotated by R about the origin and shifted. */
static sdg_mol *moved(const sdg_mol *m, const int64_t *perm, const double R[9], const double *shift) {
    sdg_mol *c = NULL;
    sdg_mol_new(&c);
    int64_t inv[64];
    for (int64_t i = 0; i < m->n_atoms; i++) {
        sdg_mol_add_atom(c, m->atoms[perm[i]].z, m->atoms[perm[i]].charge, NULL);
        inv[perm[i]] = i;
    }
    for (int64_t k = 0; k < m->n_bonds; k++) sdg_mol_add_bond(c, inv[m->bonds[k].i], inv[m->bonds[k].j], m->bonds[k].order);
    c->coords = calloc(3 * (size_t)m->n_atoms, sizeof *c->coords);
    c->dim = 3;
    for (int64_t i = 0; i < m->n_atoms; i++)
        for (int a = 0; a < 3; a++) {
            const double *x = m->coords + 3 * perm[i];
            c->coords[3 * i + a] = R[3 * a] * x[0] + R[3 * a + 1] * x[1] + R[3 * a + 2] * x[2] + shift[a];
        }
    return c;
}

static void test_invariance(void) {
    sdg_prop3d *r = small_reg();
    const char *smi[] = {"CC(=O)N", "c1ccccc1O", "FC(F)C#N"};
    sdg_mol *mols[3], *mv[3];
    double R[9], s = 1 / sqrt(3.0), th = 1.1, c = cos(th), sn = sin(th), shift[3] = {3.5, -7.25, 1.0};
    /* rotation by th about the axis (1, 1, 1) / sqrt(3) (Rodrigues) */
    double k[3] = {s, s, s};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double cross = (i == j) ? 0 : ((j == (i + 1) % 3) ? -k[(i + 2) % 3] : k[(i + 1) % 3]);
            R[3 * i + j] = (i == j ? c : 0) + (1 - c) * k[i] * k[j] + sn * cross;
        }
    for (int q = 0; q < 3; q++) {
        mols[q] = from_smiles(smi[q], 7 + q);
        int64_t n = mols[q]->n_atoms, perm[64];
        for (int64_t i = 0; i < n; i++) perm[i] = (i * 5 + 3) % n;   /* n is not a multiple of 5 here */
        CU_ASSERT_FATAL(n % 5 != 0);
        mv[q] = moved(mols[q], perm, R, shift);
    }
    float y0[3], y1[3], y2[3];
    CU_ASSERT_EQUAL(sdg_prop3d_predict(r, mols, 3, 2, y0), SDG_OK);
    CU_ASSERT_EQUAL(sdg_prop3d_predict(r, mv, 3, 3, y1), SDG_OK);
    /* the op graph (grad mode on) gives the same numbers */
    sdg_ctx *ctx = NULL;
    sdg_ctx_new(0, &ctx);
    sdg_mol3d_batch b;
    CU_ASSERT_FATAL(sdg_mol3d_batch_init(&b, mv, 3, NULL) == SDG_OK);
    sdg_tensor *y = NULL;
    CU_ASSERT_FATAL(sdg_prop3d_forward(ctx, r, &b, &y) == SDG_OK);
    memcpy(y2, y->data, sizeof y2);
    double worst = 0, spread = 0;
    for (int q = 0; q < 3; q++) {
        worst = fmax(worst, fmax(fabs(y0[q] - y1[q]), fabs(y0[q] - y2[q])));
        spread = fmax(spread, fabs(y0[q] - y0[0]));
    }
    printf("\ninvariance: max |dy| %.2g (predictions spread %.2g) ", worst, spread);
    fflush(stdout);
    CU_ASSERT(worst < 1e-4);
    CU_ASSERT(spread > 1e-3);   /* the molecules are told apart, so the test could fail */
    /* a distorted molecule changes the prediction */
    mv[0]->coords[0] += 1.5;
    CU_ASSERT_EQUAL(sdg_prop3d_predict(r, mv, 1, 1, y1), SDG_OK);
    printf("distorted: |dy| %.2g ", fabs(y1[0] - y0[0]));
    CU_ASSERT(fabs(y1[0] - y0[0]) > 1e-5);   /* 100x the invariance error */
    sdg_mol3d_batch_destroy(&b);
    sdg_ctx_free(ctx);
    for (int q = 0; q < 3; q++) sdg_mol_free(mols[q]), sdg_mol_free(mv[q]);
    sdg_prop3d_free(r);
}

static void test_constant_and_file(void) {
    sdg_prop3d_model m = {0}, *back = NULL;
    m.net = small_reg();
    snprintf(m.prop, sizeof m.prop, "gap");
    snprintf(m.unit, sizeof m.unit, "Hartree");
    m.mean = 0.25, m.std = 0.05, m.test_mae = 0.01, m.test_mae_natoms = 0.03, m.n_test = 7;
    snprintf(m.split, sizeof m.split, "test fixture");
    sdg_params *ps = sdg_prop3d_params_store(m.net);
    sdg_tensor *w = sdg_params_find(ps, "readout.mol2.weight"), *bias = sdg_params_find(ps, "readout.mol2.bias");
    memset(w->data, 0, (size_t)w->size * sizeof(float));
    bias->data[0] = 0.7f;
    sdg_mol *mols[2] = {from_smiles("CO", 1), from_smiles("CCC=O", 2)};
    float y[2];
    CU_ASSERT_EQUAL(sdg_prop3d_predict(m.net, mols, 2, 1, y), SDG_OK);
    CU_ASSERT_DOUBLE_EQUAL(y[0], 0.7, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(y[1], 0.7, 1e-6);
    char path[] = "/tmp/sdegen-prop3d-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    CU_ASSERT_EQUAL(sdg_prop3d_model_save(path, &m, NULL), SDG_OK);
    CU_ASSERT(sdg_prop3d_model_probe(path));
    CU_ASSERT(!sdg_mol3d_model_probe(path));
    sdg_mol3d_model *fm = NULL;
    CU_ASSERT_EQUAL(sdg_mol3d_model_load(path, true, &fm), SDG_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), path));
    CU_ASSERT_EQUAL_FATAL(sdg_prop3d_model_load(path, true, &back), SDG_OK);
    CU_ASSERT_STRING_EQUAL(back->prop, "gap");
    CU_ASSERT_DOUBLE_EQUAL(back->std, 0.05, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(back->test_mae, 0.01, 1e-12);
    CU_ASSERT_EQUAL(back->n_test, 7);
    float y2[2];
    CU_ASSERT_EQUAL(sdg_prop3d_predict(back->net, mols, 2, 2, y2), SDG_OK);
    CU_ASSERT_EQUAL(memcmp(y, y2, sizeof y), 0);
    remove(path);
    sdg_prop3d_model_free(back);
    sdg_prop3d_free(m.net);
    sdg_mol_free(mols[0]), sdg_mol_free(mols[1]);
    /* bad input */
    sdg_egnn_params p = sdg_egnn_default_params();
    p.conditional = true;
    sdg_prop3d *r = NULL;
    CU_ASSERT_EQUAL(sdg_prop3d_new(&p, &r), SDG_ERR_INVALID);
    sdg_prop3d_free(NULL);
    sdg_prop3d_model_free(NULL);
    sdg_prop3d_trainer_free(NULL);
}

static void test_training(void) {
    sdg_prop3d *r = small_reg();
    const char *smi[] = {"C=O", "CC#N", "OCC", "CC(C)O", "NC=O", "C1CC1"};
    sdg_mol *mols[6];
    float y[6] = {-1.0f, 0.5f, 1.5f, -0.3f, 0.8f, -1.2f};
    for (int k = 0; k < 6; k++) mols[k] = from_smiles(smi[k], 60 + k);
    sdg_prop3d_train_params tp = sdg_prop3d_train_default_params();
    tp.batch = 3, tp.lr = 3e-3f, tp.seed = 4;
    sdg_prop3d_trainer *t = NULL;
    CU_ASSERT_FATAL(sdg_prop3d_trainer_new(r, mols, y, 6, &tp, &t) == SDG_OK);
    double first = 0, last = 0;
    for (int e = 0; e < 150; e++) {
        double l = 0;
        CU_ASSERT_FATAL(sdg_prop3d_trainer_epoch(t, &l) == SDG_OK);
        if (e == 0) first = l;
        last = l;
    }
    printf("\nL1 loss %.4f -> %.4f after 150 epochs ", first, last);
    CU_ASSERT(last < 0.5 * first);
    CU_ASSERT_EQUAL(sdg_prop3d_trainer_epochs(t), 150);
    float bad[6] = {0, 0, NAN, 0, 0, 0};
    sdg_prop3d_trainer *t2 = NULL;
    CU_ASSERT_EQUAL(sdg_prop3d_trainer_new(r, mols, bad, 6, &tp, &t2), SDG_ERR_INVALID);
    sdg_prop3d_trainer_free(t);
    for (int k = 0; k < 6; k++) sdg_mol_free(mols[k]);
    sdg_prop3d_free(r);
}

int main(void) {
    static const sdg_test_case cases[] = {
        {"readout gradients (finite differences)", test_readout_gradients},
        {"L1 loss gradients (finite differences)", test_l1_gradients},
        {"rotation, translation, permutation invariance", test_invariance},
        {"constant readout, checkpoint round trip", test_constant_and_file},
        {"tiny training run lowers the loss", test_training},
        {NULL, NULL}};
    return sdg_test_main("prop3d", cases);
}
