/* 3-D flow sampling through the engine, the trainer, the model file and the SDF round trip:
 * the engine's Euler (eps 0) equals a hand-written Euler of the denoiser's velocity (the
 * reference runs the network's op graph, the engine its fused no-grad path, so this also holds
 * the two equal through the padded sampling state); Heun and RK4 run and keep molecules
 * centred; molecule i depends only on (seed, i) (chunking and stream_offset); CFG; a
 * conditioned model's null branch; bad options; the trainer is deterministic and resumes bit
 * for bit from a mol3d_flow file; the (atoms, property) draw and the null branch's size draw;
 * charged molecules written as SDF read back through Open Babel with their charges and bonds. */
#include <unistd.h>
#include "test_util.h"

static sdg_egnn *small_model(bool cond, uint64_t seed) {
    sdg_egnn_params p = sdg_egnn_default_params();
    p.hidden = 32, p.edge_hidden = 16, p.message = 32, p.layers = 2, p.seed = seed, p.conditional = cond;
    sdg_egnn *m = NULL;
    CU_ASSERT_FATAL(sdg_egnn_new(&p, &m) == SDG_OK);
    return m;
}

static sdg_mol *from_smiles(const char *s, uint64_t seed) {
    sdg_mol *m = NULL, *e = NULL;
    sdg_rng *r = NULL;
    sdg_rng_new(seed, &r);
    CU_ASSERT_FATAL(sdg_mol_from_smiles(s, &m) == SDG_OK);
    CU_ASSERT_FATAL(sdg_mol_embed_3d(m, NULL, r, &e) == SDG_OK);
    sdg_mol_free(m);
    sdg_rng_free(r);
    return e;
}

static void free_mols(sdg_mol **m, size_t n) {
    for (size_t i = 0; i < n; i++) sdg_mol_free(m[i]), m[i] = NULL;
}

/* max coordinate difference of two lists, or INFINITY when atoms or bonds differ */
static double mol_diff(sdg_mol *const *a, sdg_mol *const *b, size_t n) {
    double d = 0;
    for (size_t k = 0; k < n; k++) {
        if (a[k]->n_atoms != b[k]->n_atoms || a[k]->n_bonds != b[k]->n_bonds) return INFINITY;
        for (int64_t i = 0; i < a[k]->n_atoms; i++) {
            if (a[k]->atoms[i].z != b[k]->atoms[i].z || a[k]->atoms[i].charge != b[k]->atoms[i].charge) return INFINITY;
            for (int c = 0; c < 3; c++) d = fmax(d, fabs(a[k]->coords[3 * i + c] - b[k]->coords[3 * i + c]));
        }
        for (int64_t e = 0; e < a[k]->n_bonds; e++)
            if (a[k]->bonds[e].i != b[k]->bonds[e].i || a[k]->bonds[e].j != b[k]->bonds[e].j ||
                a[k]->bonds[e].order != b[k]->bonds[e].order)
                return INFINITY;
    }
    return d;
}

/* ---- a hand-written Euler sampler (the one the engine route replaced), for comparison ---- */
static void softmax_rows(const float *x, int64_t rows, int64_t K, float *y) {
    for (int64_t r = 0; r < rows; r++) {
        float mx = -INFINITY;
        double s = 0;
        for (int64_t k = 0; k < K; k++) mx = fmaxf(mx, x[r * K + k]);
        for (int64_t k = 0; k < K; k++) s += y[r * K + k] = expf(x[r * K + k] - mx);
        for (int64_t k = 0; k < K; k++) y[r * K + k] = (float)(y[r * K + k] / s);
    }
}

/* Positions of molecules 0..B-1 after Euler from t = 1 down to 1/steps (the last step lands on
 * the denoiser's output), priors drawn as sdg_flow3d_sample draws them. x: (A, 3). */
static void reference_euler(const sdg_egnn *m, const int64_t *na, int64_t B, int steps, uint64_t seed, float *xout) {
    sdg_mol3d_graph g;
    CU_ASSERT_FATAL(sdg_mol3d_graph_init(&g, na, B) == SDG_OK);
    int64_t A = g.A, P = g.P, ns = 3 * A + 5 * A + 3 * A + 4 * P;
    float *s = calloc((size_t)ns, sizeof *s), *d = calloc((size_t)ns, sizeof *d), *tb = calloc((size_t)B, sizeof *tb);
    float *x = s, *ty = s + 3 * A, *ch = ty + 5 * A, *bo = ch + 3 * A;
    sdg_rng *r = NULL;
    sdg_rng_new(0, &r);
    int64_t p0 = 0;
    for (int64_t k = 0; k < B; k++) {
        int64_t o = g.atom_off[k], n = na[k];
        sdg_rng_reset(r, seed, (uint64_t)k);
        double c[3] = {0, 0, 0};
        for (int64_t i = 0; i < 3 * n; i++) {
            x[3 * o + i] = (float)sdg_rng_gaussian(r);
            c[i % 3] += x[3 * o + i] / (double)n;
        }
        for (int64_t i = 0; i < 3 * n; i++) x[3 * o + i] -= (float)c[i % 3];
        sdg_rng_fill_gaussian(r, ty + 5 * o, (size_t)(5 * n));
        sdg_rng_fill_gaussian(r, ch + 3 * o, (size_t)(3 * n));
        sdg_rng_fill_gaussian(r, bo + 4 * p0, (size_t)(4 * n * (n - 1) / 2));
        p0 += n * (n - 1) / 2;
    }
    sdg_ctx *ctx = NULL;
    sdg_ctx_new(0, &ctx);
    /* grad mode on: the op graph, while the engine route runs the fused no-grad path */
    sdg_ctx_set_grad(ctx, true);
    for (int st = 0; st < steps; st++) {
        float t = 1.0f - (float)st / (float)steps, dt = 1.0f / (float)steps;
        for (int64_t k = 0; k < B; k++) tb[k] = t;
        sdg_ctx_reset(ctx);
        sdg_egnn_input in = {.g = &g, .t = tb};
        in.x = sdg_tensor_from(ctx, 2, (int64_t[]){A, 3}, x);
        in.types = sdg_tensor_from(ctx, 2, (int64_t[]){A, 5}, ty);
        in.charges = sdg_tensor_from(ctx, 2, (int64_t[]){A, 3}, ch);
        in.bonds = sdg_tensor_from(ctx, 2, (int64_t[]){P, 4}, bo);
        sdg_egnn_output o;
        CU_ASSERT_FATAL(sdg_egnn_forward(ctx, m, &in, &o) == SDG_OK);
        memcpy(d, o.x0->data, (size_t)(3 * A) * sizeof *d);
        softmax_rows(o.type_logits->data, A, 5, d + 3 * A);
        softmax_rows(o.charge_logits->data, A, 3, d + 8 * A);
        softmax_rows(o.bond_logits->data, P, 4, d + 11 * A);
        for (int64_t i = 0; i < ns; i++) s[i] -= dt * (s[i] - d[i]) / t;
    }
    memcpy(xout, x, (size_t)(3 * A) * sizeof *x);
    sdg_ctx_free(ctx);
    sdg_rng_free(r);
    free(s);
    free(d);
    free(tb);
    sdg_mol3d_graph_destroy(&g);
}

static const int64_t NA[8] = {5, 9, 3, 12, 7, 4, 10, 6};

static void test_engine_euler(void) {
    sdg_egnn *m = small_model(false, 21);
    sdg_flow3d_sample_params sp = sdg_flow3d_sample_default_params();
    sp.n_steps = 12, sp.seed = 4, sp.eps = 0;   /* eps 0: no final denoiser step, as the reference */
    sdg_mol *out[8] = {0};
    CU_ASSERT_FATAL(sdg_flow3d_sample(m, NA, 8, NULL, &sp, out) == SDG_OK);
    int64_t A = 0;
    for (int k = 0; k < 8; k++) A += NA[k];
    float *ref = malloc((size_t)(3 * A) * sizeof *ref);
    reference_euler(m, NA, 8, 12, 4, ref);
    double err = 0;
    for (int k = 0, o = 0; k < 8; o += (int)NA[k], k++)
        for (int64_t i = 0; i < 3 * NA[k]; i++) err = fmax(err, fabs(out[k]->coords[i] - ref[3 * o + i]));
    printf("\nengine Euler vs hand-written Euler: max |dx| = %.2e A\n", err);
    CU_ASSERT(err < 1e-3);   /* the engine integrates in double, the reference in float */
    free(ref);
    free_mols(out, 8);
    sdg_egnn_free(m);
}

static void test_methods_and_streams(void) {
    sdg_egnn *m = small_model(false, 22);
    sdg_flow3d_sample_params sp = sdg_flow3d_sample_default_params();
    sp.n_steps = 10, sp.seed = 9, sp.chunk = 8;
    sdg_mol *a[8] = {0}, *b[8] = {0}, *c[3] = {0}, *h[8] = {0};
    CU_ASSERT_FATAL(sdg_flow3d_sample(m, NA, 8, NULL, &sp, a) == SDG_OK);
    sp.chunk = 3;
    CU_ASSERT_FATAL(sdg_flow3d_sample(m, NA, 8, NULL, &sp, b) == SDG_OK);
    double dchunk = mol_diff(a, b, 8);
    sp.chunk = 8, sp.stream_offset = 5;
    CU_ASSERT_FATAL(sdg_flow3d_sample(m, NA + 5, 3, NULL, &sp, c) == SDG_OK);
    double doff = mol_diff(a + 5, c, 3);
    printf("\nchunk 8 vs 3: max |dx| %.2e; molecules 5..7 alone (stream_offset 5): %.2e\n", dchunk, doff);
    CU_ASSERT(dchunk < 1e-4);   /* float rounding of the batched kernels only */
    CU_ASSERT(doff < 1e-4);
    sp.stream_offset = 0;
    const sdg_ode_type *methods[2] = {sdg_ode_heun, sdg_ode_rk4};
    for (int q = 0; q < 2; q++) {
        sp.ode = methods[q];
        CU_ASSERT_FATAL(sdg_flow3d_sample(m, NA, 8, NULL, &sp, h) == SDG_OK);
        double dmax = 0, cmax = 0;
        for (int k = 0; k < 8; k++) {
            double cen[3] = {0, 0, 0};
            for (int64_t i = 0; i < NA[k]; i++)
                for (int d = 0; d < 3; d++) {
                    CU_ASSERT(isfinite(h[k]->coords[3 * i + d]));
                    cen[d] += h[k]->coords[3 * i + d] / (double)NA[k];
                    dmax = fmax(dmax, fabs(h[k]->coords[3 * i + d] - a[k]->coords[3 * i + d]));
                }
            for (int d = 0; d < 3; d++) cmax = fmax(cmax, fabs(cen[d]));
        }
        printf("%s: centre within %.1e A, differs from Euler by up to %.2f A\n", sdg_ode_type_name(methods[q]), cmax, dmax);
        CU_ASSERT(cmax < 1e-4);
        CU_ASSERT(dmax > 1e-4);   /* a different integrator really ran */
        free_mols(h, 8);
    }
    /* the SDE mode: centred, independent of chunking and of the batch it runs in, different
     * from the ODE and from another seed's noise; Heun with it is refused */
    sp.ode = sdg_ode_euler, sp.sde_noise = 4.0f, sp.chunk = 8;
    sdg_mol *e[8] = {0}, *f[8] = {0}, *g[3] = {0};
    CU_ASSERT_FATAL(sdg_flow3d_sample(m, NA, 8, NULL, &sp, e) == SDG_OK);
    sp.chunk = 3;
    CU_ASSERT_FATAL(sdg_flow3d_sample(m, NA, 8, NULL, &sp, f) == SDG_OK);
    sp.chunk = 8, sp.stream_offset = 5;
    CU_ASSERT_FATAL(sdg_flow3d_sample(m, NA + 5, 3, NULL, &sp, g) == SDG_OK);
    double sd_chunk = mol_diff(e, f, 8), sd_off = mol_diff(e + 5, g, 3), sd_ode = 0, cmax = 0;
    for (int k = 0; k < 8; k++) {
        double cen[3] = {0, 0, 0};
        for (int64_t i = 0; i < NA[k]; i++)
            for (int d = 0; d < 3; d++) {
                cen[d] += e[k]->coords[3 * i + d] / (double)NA[k];
                sd_ode = fmax(sd_ode, fabs(e[k]->coords[3 * i + d] - a[k]->coords[3 * i + d]));
            }
        for (int d = 0; d < 3; d++) cmax = fmax(cmax, fabs(cen[d]));
    }
    printf("sde mode (eta 4): chunk 8 vs 3 %.2e, offset 5 %.2e, centre within %.1e A, differs from the ODE by up to "
           "%.2f A\n", sd_chunk, sd_off, cmax, sd_ode);
    CU_ASSERT(sd_chunk < 1e-4);
    CU_ASSERT(sd_off < 1e-4);
    CU_ASSERT(cmax < 1e-4);
    CU_ASSERT(sd_ode > 1e-2);
    free_mols(f, 8);
    sp.stream_offset = 0, sp.seed = 10;   /* another seed: other priors and other noise */
    CU_ASSERT_FATAL(sdg_flow3d_sample(m, NA, 8, NULL, &sp, f) == SDG_OK);
    CU_ASSERT(mol_diff(e, f, 8) > 1e-2);
    sp.ode = sdg_ode_heun;
    CU_ASSERT_EQUAL(sdg_flow3d_sample(m, NA, 8, NULL, &sp, h), SDG_ERR_INVALID);
    free_mols(e, 8);
    free_mols(f, 8);
    free_mols(g, 3);
    free_mols(a, 8);
    free_mols(b, 8);
    free_mols(c, 3);
    sdg_egnn_free(m);
}

static void test_guidance_and_errors(void) {
    sdg_egnn *m = small_model(true, 23), *u = small_model(false, 23);
    float prop[8] = {1, -1, 0.5f, 0, 2, -2, 0.3f, 1};
    sdg_flow3d_sample_params sp = sdg_flow3d_sample_default_params();
    sp.n_steps = 6, sp.seed = 2;
    sdg_mol *a[8] = {0}, *b[8] = {0}, *x[1] = {0};
    CU_ASSERT_FATAL(sdg_flow3d_sample(m, NA, 8, prop, &sp, a) == SDG_OK);
    sp.guidance = 2;
    CU_ASSERT_FATAL(sdg_flow3d_sample(m, NA, 8, prop, &sp, b) == SDG_OK);
    CU_ASSERT(mol_diff(a, b, 8) > 1e-4);   /* the unconditional pass changes the result */
    free_mols(a, 8);
    free_mols(b, 8);
    CU_ASSERT_EQUAL(sdg_flow3d_sample(m, NA, 1, NULL, &sp, x), SDG_ERR_INVALID);   /* guidance without property */
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "needs a property"));
    sp.guidance = 0;
    CU_ASSERT_EQUAL(sdg_flow3d_sample(u, NA, 1, prop, &sp, x), SDG_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "without conditioning"));
    sp.ode = sdg_ode_heun, sp.eps = 0;
    CU_ASSERT_EQUAL(sdg_flow3d_sample(u, NA, 1, NULL, &sp, x), SDG_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "undefined at t = 0"));
    sp.ode = sdg_ode_rk45, sp.eps = 1e-3f;
    CU_ASSERT_EQUAL(sdg_flow3d_sample(u, NA, 1, NULL, &sp, x), SDG_ERR_INVALID);
    CU_ASSERT_PTR_NULL(x[0]);
    sdg_egnn_free(m);
    sdg_egnn_free(u);
}

/* A conditioned network without a property samples its unconditional branch: the null
 * embedding (the property linear's bias, as for training's unvalued molecules), not the
 * network without any property term. With the property weights zeroed, every value embeds to
 * that same bias, so sampling with any property must equal sampling with none. */
static void test_null_branch(void) {
    sdg_egnn *m = small_model(true, 29);
    sdg_tensor *w = sdg_params_find(sdg_egnn_params_store(m), "prop.weight"),
               *b = sdg_params_find(sdg_egnn_params_store(m), "prop.bias");
    CU_ASSERT_FATAL(w && b);
    for (int64_t k = 0; k < w->size; k++) w->data[k] = 0;
    for (int64_t k = 0; k < b->size; k++) b->data[k] = 0.5f * (float)((k % 5) - 2);   /* a clearly nonzero bias */
    float prop[8] = {1.5f, -1, 0.5f, 0, 2, -2, 0.3f, 1};
    sdg_flow3d_sample_params sp = sdg_flow3d_sample_default_params();
    sp.n_steps = 6, sp.seed = 4;
    sdg_mol *a[8] = {0}, *c[8] = {0};
    CU_ASSERT_FATAL(sdg_flow3d_sample(m, NA, 8, NULL, &sp, a) == SDG_OK);
    CU_ASSERT_FATAL(sdg_flow3d_sample(m, NA, 8, prop, &sp, c) == SDG_OK);
    CU_ASSERT(mol_diff(a, c, 8) < 1e-5);
    free_mols(c, 8);
    for (int64_t k = 0; k < b->size; k++) b->data[k] = 0;   /* the bias matters: without it the samples move */
    CU_ASSERT_FATAL(sdg_flow3d_sample(m, NA, 8, NULL, &sp, c) == SDG_OK);
    CU_ASSERT(mol_diff(a, c, 8) > 1e-4);
    free_mols(a, 8);
    free_mols(c, 8);
    sdg_egnn_free(m);
}

static void test_trainer_resume(void) {
    const char *smi[] = {"C#N", "C=O", "C", "C=C", "CO", "N", "CC", "O=C=O", "C[N+](=O)[O-]"};
    enum { NM = 9 };
    sdg_mol *mols[NM];
    int64_t na[NM];
    float prop[NM];
    for (int k = 0; k < NM; k++) mols[k] = from_smiles(smi[k], 70 + k), na[k] = mols[k]->n_atoms, prop[k] = k % 3 ? 0.1f * k : NAN;
    sdg_flow3d_train_params tp = sdg_flow3d_train_default_params();
    tp.batch = 4, tp.seed = 3;
    tp.loss.time_skew = 2;   /* a non-default time law and positions loss must survive the file */
    tp.loss.pos_loss_tmin = 0.01f;
    double loss[3][3] = {{0}};
    char path[] = "/tmp/sdegen-test-flow3d-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    for (int run = 0; run < 3; run++) {   /* 0, 1: uninterrupted; 2: one epoch, save, load, resume */
        sdg_egnn *net = small_model(true, 5);
        sdg_flow3d_trainer *tr = NULL;
        CU_ASSERT_FATAL(sdg_flow3d_trainer_new(net, mols, prop, NM, &tp, &tr) == SDG_OK);
        for (int e = 0; e < 3; e++) {
            if (run == 2 && e == 1) {
                sdg_mol3d_model mm;
                memset(&mm, 0, sizeof mm);
                mm.net = net, mm.flow = tp.loss;
                snprintf(mm.cond, sizeof mm.cond, "mu");
                mm.cond_std = 1;
                CU_ASSERT_FATAL(sdg_mol3d_model_set_table(&mm, na, prop, NM) == SDG_OK);
                CU_ASSERT_FATAL(sdg_mol3d_model_save(path, &mm, tr) == SDG_OK);
                free(mm.table_n);
                free(mm.table_prop);
                sdg_flow3d_trainer_free(tr);
                sdg_egnn_free(net);
                tr = NULL;
                sdg_mol3d_model *lm = NULL;
                CU_ASSERT_FATAL(sdg_mol3d_model_load(path, false, &lm) == SDG_OK);
                CU_ASSERT_EQUAL(lm->n_table, NM);
                CU_ASSERT_EQUAL(lm->n_table_prop, 6);
                CU_ASSERT_STRING_EQUAL(lm->cond, "mu");
                CU_ASSERT_EQUAL(lm->flow.time_skew, 2.0f);
                CU_ASSERT_EQUAL(lm->flow.pos_loss_tmin, 0.01f);
                /* a changed training set (more conformers) resumes too: the epoch order is drawn anew */
                CU_ASSERT_FATAL(sdg_flow3d_trainer_resume(path, lm, mols, prop, NM - 1, &tr) == SDG_OK);
                CU_ASSERT_EQUAL(sdg_flow3d_trainer_epochs(tr), 1);
                double l1 = NAN;
                CU_ASSERT(sdg_flow3d_trainer_epoch(tr, &l1, NULL) == SDG_OK && isfinite(l1));
                sdg_flow3d_trainer_free(tr);
                tr = NULL;
                sdg_mol3d_model_free(lm);
                CU_ASSERT_FATAL(sdg_mol3d_model_load(path, false, &lm) == SDG_OK);
                CU_ASSERT_FATAL(sdg_flow3d_trainer_resume(path, lm, mols, prop, NM, &tr) == SDG_OK);
                CU_ASSERT_EQUAL(sdg_flow3d_trainer_epochs(tr), 1);
                net = lm->net, lm->net = NULL;
                sdg_mol3d_model_free(lm);
            }
            CU_ASSERT_FATAL(sdg_flow3d_trainer_epoch(tr, &loss[run][e], NULL) == SDG_OK);
            CU_ASSERT(isfinite(loss[run][e]));
        }
        sdg_flow3d_trainer_free(tr);
        sdg_egnn_free(net);
    }
    printf("\nlosses %.6f %.6f %.6f; resumed %.6f %.6f %.6f\n", loss[0][0], loss[0][1], loss[0][2], loss[2][0], loss[2][1],
           loss[2][2]);
    CU_ASSERT(memcmp(loss[0], loss[1], sizeof loss[0]) == 0);
    CU_ASSERT(memcmp(loss[0], loss[2], sizeof loss[0]) == 0);
    CU_ASSERT(sdg_mol3d_model_probe(path));
    CU_ASSERT(!sdg_mol3d_model_probe("/nonexistent.h5"));
    unlink(path);
    free_mols(mols, NM);
}

static void test_draw(void) {
    enum { N = 100 };
    int64_t na[N];
    float pv[N];
    for (int i = 0; i < N; i++) na[i] = 3 + i % 20, pv[i] = i % 4 == 0 ? NAN : (float)i;
    sdg_mol3d_model m;
    memset(&m, 0, sizeof m);
    snprintf(m.cond, sizeof m.cond, "gap");
    m.cond_mean = 50, m.cond_std = 10;
    CU_ASSERT_FATAL(sdg_mol3d_model_set_table(&m, na, pv, N) == SDG_OK);
    CU_ASSERT_EQUAL(m.n_table_prop, 75);
    CU_ASSERT_DOUBLE_EQUAL(m.prop_min, 1, 0);
    CU_ASSERT_DOUBLE_EQUAL(m.prop_max, 99, 0);
    int64_t n1[50], n2[20];
    float p1[50], p2[20];
    CU_ASSERT_FATAL(sdg_mol3d_model_draw(&m, 7, 50, NULL, n1, p1) == SDG_OK);
    CU_ASSERT_FATAL(sdg_mol3d_model_draw(&m, 7, 20, NULL, n2, p2) == SDG_OK);
    CU_ASSERT(memcmp(n1, n2, sizeof n2) == 0);   /* molecule i depends only on (seed, i) */
    for (int i = 0; i < 50; i++) {   /* joint: the row's own value, standardised; never a NaN row */
        double v = p1[i] * 10.0 + 50;
        int row = (int)lround(v);
        CU_ASSERT(fabs(v - row) < 1e-3 && row % 4 != 0 && na[row] == n1[i]);
    }
    double target = 10;   /* the 32 rows nearest 10 are values 1..43 (not multiples of 4) */
    CU_ASSERT_FATAL(sdg_mol3d_model_draw(&m, 8, 50, &target, n1, p1) == SDG_OK);
    for (int i = 0; i < 50; i++) CU_ASSERT_DOUBLE_EQUAL(p1[i], -4.0, 1e-6);
    /* neither target nor prop: the null branch's sizes, from every row. Sizes 3, 7, 11, 15, 19
     * belong only to the unvalued rows (i % 4 == 0), which the joint draw never picks. */
    int unvalued_sizes = 0;
    CU_ASSERT_FATAL(sdg_mol3d_model_draw(&m, 9, 50, NULL, n1, NULL) == SDG_OK);
    for (int i = 0; i < 50; i++) unvalued_sizes += (n1[i] - 3) % 4 == 0;
    CU_ASSERT(unvalued_sizes >= 3);   /* expected 12.5 of 50; P(< 3) < 1e-3 */
    CU_ASSERT_FATAL(sdg_mol3d_model_draw(&m, 9, 50, NULL, n1, p1) == SDG_OK);
    for (int i = 0; i < 50; i++) CU_ASSERT((n1[i] - 3) % 4 != 0);
    m.cond[0] = 0;
    CU_ASSERT_EQUAL(sdg_mol3d_model_draw(&m, 8, 5, &target, n1, NULL), SDG_ERR_INVALID);
    CU_ASSERT_FATAL(sdg_mol3d_model_draw(&m, 8, 50, NULL, n1, NULL) == SDG_OK);
    for (int i = 0; i < 50; i++) CU_ASSERT(n1[i] >= 3 && n1[i] <= 22);
    free(m.table_n);
    free(m.table_prop);
}

/* Beta(1, k) times: k = 1 is the uniform draw itself; k = 2 has mean 1/3 and P(t <= 1/2) = 3/4
 * (a draw of U or of 1 - sqrt(U) has mean 1/2 or 2/3, P = 1/2 or 1/4); a trainer refuses k < 1. */
static void test_time_skew(void) {
    sdg_rng *a = NULL, *b = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(11, &a) == SDG_OK && sdg_rng_new(11, &b) == SDG_OK);
    for (int i = 0; i < 100; i++) CU_ASSERT_EQUAL(sdg_flow3d_draw_time(a, 1.0f), (float)sdg_rng_uniform(b));
    enum { N = 200000 };
    double sum = 0;
    int below = 0;
    for (int i = 0; i < N; i++) {
        float t = sdg_flow3d_draw_time(a, 2.0f);
        CU_ASSERT(t >= 0 && t < 1);
        sum += t, below += t <= 0.5f;
    }
    printf("\nBeta(1, 2): mean %.5f (1/3), P(t <= 1/2) %.5f (3/4)\n", sum / N, below / (double)N);
    CU_ASSERT_DOUBLE_EQUAL(sum / N, 1.0 / 3, 0.003);   /* sd of the mean 5.3e-4 */
    CU_ASSERT_DOUBLE_EQUAL(below / (double)N, 0.75, 0.005);   /* sd 9.7e-4 */
    sdg_rng_free(a);
    sdg_rng_free(b);
    sdg_mol *mols[1] = {from_smiles("CO", 3)};
    sdg_egnn *net = small_model(false, 1);
    sdg_flow3d_train_params tp = sdg_flow3d_train_default_params();
    tp.loss.time_skew = 0.5f;
    sdg_flow3d_trainer *tr = NULL;
    CU_ASSERT_EQUAL(sdg_flow3d_trainer_new(net, mols, NULL, 1, &tp, &tr), SDG_ERR_INVALID);
    CU_ASSERT_PTR_NULL(tr);
    sdg_egnn_free(net);
    free_mols(mols, 1);
}

/* The velocity loss: with one molecule per batch and the same random numbers, its positions
 * term is the x0 term divided by max(t, tmin)^2, t being the batch's first draw; the other three
 * terms are unchanged; a trainer refuses tmin outside [0, 1]. */
static void test_velocity_loss(void) {
    sdg_mol *mols[1] = {from_smiles("CC(=O)N", 31)};
    sdg_mol3d_batch b;
    CU_ASSERT_FATAL(sdg_mol3d_batch_init(&b, mols, 1, NULL) == SDG_OK);
    sdg_egnn *net = small_model(false, 2);
    sdg_ctx *ctx = NULL;
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
    int small = 0, large = 0;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        const float tmins[3] = {0.0f, 1e-6f, 0.3f};
        float parts[3][4];
        for (int k = 0; k < 3; k++) {
            sdg_flow3d_params fp = sdg_flow3d_default_params();
            fp.pos_loss_tmin = tmins[k];
            sdg_rng *r = NULL;
            sdg_tensor *L = NULL;
            CU_ASSERT_FATAL(sdg_rng_new(seed, &r) == SDG_OK);
            CU_ASSERT_FATAL(sdg_flow3d_loss(ctx, net, &b, &fp, r, &L, parts[k]) == SDG_OK);
            sdg_rng_free(r);
            sdg_ctx_reset(ctx);
        }
        sdg_rng *r = NULL;
        CU_ASSERT_FATAL(sdg_rng_new(seed, &r) == SDG_OK);
        double t = sdg_flow3d_draw_time(r, 1.0f);
        sdg_rng_free(r);
        double m = t > 0.3 ? t : 0.3;
        CU_ASSERT(parts[0][0] > 0);
        CU_ASSERT_DOUBLE_EQUAL(parts[1][0], parts[0][0] / (t * t), 1e-4 * parts[1][0]);
        CU_ASSERT_DOUBLE_EQUAL(parts[2][0], parts[0][0] / (m * m), 1e-4 * parts[2][0]);
        for (int c = 1; c < 4; c++) CU_ASSERT(parts[1][c] == parts[0][c] && parts[2][c] == parts[0][c]);
        small += t < 0.3, large += t >= 0.3;
    }
    CU_ASSERT(small > 0 && large > 0);   /* both sides of the clip were exercised */
    sdg_ctx_free(ctx);
    sdg_flow3d_train_params tp = sdg_flow3d_train_default_params();
    sdg_flow3d_trainer *tr = NULL;
    tp.loss.pos_loss_tmin = -0.1f;
    CU_ASSERT_EQUAL(sdg_flow3d_trainer_new(net, mols, NULL, 1, &tp, &tr), SDG_ERR_INVALID);
    tp.loss.pos_loss_tmin = 1.5f;
    CU_ASSERT_EQUAL(sdg_flow3d_trainer_new(net, mols, NULL, 1, &tp, &tr), SDG_ERR_INVALID);
    CU_ASSERT_PTR_NULL(tr);
    sdg_egnn_free(net);
    sdg_mol3d_batch_destroy(&b);
    free_mols(mols, 1);
}

/* sdg_flow3d_trainer_set_lr reaches Adam (the next step's size) and the file: a resumed trainer
 * continues at the new rate. */
static void test_set_lr(void) {
    sdg_mol *mols[2] = {from_smiles("CCO", 41), from_smiles("C=O", 42)};
    sdg_egnn *net = small_model(false, 3);
    sdg_flow3d_train_params tp = sdg_flow3d_train_default_params();
    tp.batch = 2;
    sdg_flow3d_trainer *tr = NULL;
    CU_ASSERT_FATAL(sdg_flow3d_trainer_new(net, mols, NULL, 2, &tp, &tr) == SDG_OK);
    double l = NAN;
    CU_ASSERT_FATAL(sdg_flow3d_trainer_epoch(tr, &l, NULL) == SDG_OK);
    sdg_flow3d_trainer_set_lr(tr, 1e-4f);
    sdg_flow3d_trainer_set_lr(tr, -1.0f);   /* ignored */
    CU_ASSERT_EQUAL(sdg_flow3d_trainer_params(tr)->lr, 1e-4f);
    CU_ASSERT_EQUAL(sdg_adam_lr(sdg_flow3d_trainer_adam(tr)), 1e-4f);
    CU_ASSERT_EQUAL(sdg_adam_steps(sdg_flow3d_trainer_adam(tr)), 1);   /* the step count is kept */
    char path[] = "/tmp/sdegen-test-flow3d-lr-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    sdg_mol3d_model mm;
    memset(&mm, 0, sizeof mm);
    mm.net = net, mm.flow = tp.loss;
    int64_t na[2] = {mols[0]->n_atoms, mols[1]->n_atoms};
    CU_ASSERT_FATAL(sdg_mol3d_model_set_table(&mm, na, NULL, 2) == SDG_OK);
    CU_ASSERT_FATAL(sdg_mol3d_model_save(path, &mm, tr) == SDG_OK);
    free(mm.table_n);
    free(mm.table_prop);
    sdg_flow3d_trainer_free(tr);
    sdg_egnn_free(net);
    sdg_mol3d_model *lm = NULL;
    tr = NULL;
    CU_ASSERT_FATAL(sdg_mol3d_model_load(path, false, &lm) == SDG_OK);
    CU_ASSERT_FATAL(sdg_flow3d_trainer_resume(path, lm, mols, NULL, 2, &tr) == SDG_OK);
    CU_ASSERT_EQUAL(sdg_flow3d_trainer_params(tr)->lr, 1e-4f);
    CU_ASSERT_EQUAL(sdg_adam_lr(sdg_flow3d_trainer_adam(tr)), 1e-4f);
    sdg_flow3d_trainer_free(tr);
    sdg_mol3d_model_free(lm);
    unlink(path);
    free_mols(mols, 2);
}

static void test_sdf_charges_obabel(void) {
    /* charged molecules through the SDF writer the sample command uses, read by Open Babel */
    const char *smi[] = {"C[N+](=O)[O-]", "[NH4+]", "CC(=O)[O-]", "C#C[NH3+]"};
    sdg_mol *mols[4];
    for (int k = 0; k < 4; k++) mols[k] = from_smiles(smi[k], 90 + k);
    char path[] = "/tmp/sdegen-test-sdf3d-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    sdg_mol_field fields[2] = {{"index", "0"}, {"sampler", "ode euler"}};
    for (int k = 0; k < 4; k++) CU_ASSERT_FATAL(sdg_mol_write_sdf(f, mols[k], fields, 2) == SDG_OK);
    fclose(f);
    sdg_mol_list *l = NULL;
    CU_ASSERT_FATAL(sdg_mol_list_read_sdf_obabel(path, &l) == SDG_OK);
    CU_ASSERT_EQUAL_FATAL(l->count, 4);
    int charged = 0;
    for (int k = 0; k < 4; k++) {
        const sdg_mol *a = mols[k], *b = l->mols[k];
        CU_ASSERT_EQUAL_FATAL(a->n_atoms, b->n_atoms);
        CU_ASSERT_EQUAL_FATAL(a->n_bonds, b->n_bonds);
        for (int64_t i = 0; i < a->n_atoms; i++) {
            CU_ASSERT_EQUAL(a->atoms[i].z, b->atoms[i].z);
            CU_ASSERT_EQUAL(a->atoms[i].charge, b->atoms[i].charge);
            charged += a->atoms[i].charge != 0;
            CU_ASSERT_DOUBLE_EQUAL(a->coords[3 * i], b->coords[3 * i], 1e-4);
        }
        for (int64_t e = 0; e < a->n_bonds; e++) {
            int64_t q = -1;
            CU_ASSERT(sdg_mol_find_bond(b, a->bonds[e].i, a->bonds[e].j, &q) == SDG_OK && q >= 0 &&
                      b->bonds[q].order == a->bonds[e].order);
        }
    }
    CU_ASSERT_EQUAL(charged, 5);   /* N+ O- of the nitro group, N+, O-, N+ */
    sdg_mol_list_free(l);
    CU_ASSERT_EQUAL(sdg_mol_list_read_sdf_obabel("/nonexistent.sdf", &l), SDG_ERR_IO);
    unlink(path);
    free_mols(mols, 4);
}

int main(void) {
    static const sdg_test_case cases[] = {{"engine Euler = hand-written Euler", test_engine_euler},
                                          {"Heun, RK4, chunking, stream offset", test_methods_and_streams},
                                          {"guidance and errors", test_guidance_and_errors},
                                          {"null branch of a conditioned model", test_null_branch},
                                          {"trainer determinism and resume from a file", test_trainer_resume},
                                          {"(atoms, property) draw", test_draw},
                                          {"training time law Beta(1, k)", test_time_skew},
                                          {"velocity loss", test_velocity_loss},
                                          {"learning rate change through the file", test_set_lr},
                                          {"charged SDF records through Open Babel", test_sdf_charges_obabel},
                                          {NULL, NULL}};
    return sdg_test_main("flow3d", cases);
}
