/* Diagnostics of the 3-D flow model (docs/molecules3d.md, "Where the samples fail"):
 *   profile MODEL DATA N SEED ema|raw [val|train]  the denoiser at fixed times t: over the first
 *       N molecules of the conformers' val split (or train split: the generalisation gap),
 *       each noised as in training (centred Gaussian prior rotated onto the molecule,
 *       categoricals (1-t) onehot + t N(0,1)), the RMS error per coordinate of x0_hat against x0,
 *       beside that of x_t itself (centred: the identity's error), and the argmax accuracy of the
 *       type and bond logits. Unconditional branch for a conditioned net.
 *   noise DATA N SEED SIGMA...  EDM-rule stability of the first N training-file conformers after
 *       Gaussian noise of SIGMA A on every coordinate: what a given geometric error costs.
 * Usage: bench_mol3d_diag profile MODEL DATA N SEED ema|raw [val|train] | noise DATA N SEED SIGMA... */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sdegen/sdegen.h"

enum { NT = 5, NC = 3, NB = 4 };

static int argmax(const float *v, int k) {
    int b = 0;
    for (int i = 1; i < k; i++)
        if (v[i] > v[b]) b = i;
    return b;
}

/* x (n, 3) <- centred N(0, 1) rotated onto the centred x0 (Kabsch), as the training prior. */
static void prior(sdg_rng *rng, const float *x0, int64_t n, float *x) {
    double c[3] = {0, 0, 0}, R[9];
    for (int64_t i = 0; i < 3 * n; i++) {
        x[i] = (float)sdg_rng_gaussian(rng);
        c[i % 3] += x[i] / (double)n;
    }
    for (int64_t i = 0; i < 3 * n; i++) x[i] -= (float)c[i % 3];
    sdg_kabsch_rotation(x, x0, n, R);
    for (int64_t i = 0; i < n; i++) {
        float v[3];
        for (int a = 0; a < 3; a++)
            v[a] = (float)(R[3 * a] * x[3 * i] + R[3 * a + 1] * x[3 * i + 1] + R[3 * a + 2] * x[3 * i + 2]);
        memcpy(x + 3 * i, v, sizeof v);
    }
}

static void onehot_noised(sdg_rng *rng, const int64_t *cls, int64_t rows, int k, float t, float *y) {
    for (int64_t r = 0; r < rows; r++)
        for (int j = 0; j < k; j++) y[r * k + j] = (1 - t) * (float)(cls[r] == j) + t * (float)sdg_rng_gaussian(rng);
}

/* Errors of one batch at time t, accumulated into acc: se model, se identity, atoms, types right,
 * pairs, bonds right. */
static sdg_status profile_batch(sdg_ctx *ctx, const sdg_egnn *net, sdg_mol *const *mols, size_t B, float t,
                                sdg_rng *rng, double acc[6]) {
    sdg_status st = SDG_OK;
    sdg_mol3d_batch b;
    float *tb = NULL, *zero = NULL;
    SDG_TRY(sdg_mol3d_batch_init(&b, mols, B, NULL));
    const sdg_mol3d_graph *g = &b.g;
    sdg_ctx_reset(ctx);
    sdg_tensor *x = sdg_tensor_newv(ctx, 2, g->A, (int64_t)3), *ty = sdg_tensor_newv(ctx, 2, g->A, (int64_t)NT),
               *ch = sdg_tensor_newv(ctx, 2, g->A, (int64_t)NC), *bo = sdg_tensor_newv(ctx, 2, g->P, (int64_t)NB);
    tb = malloc(B * sizeof *tb);
    zero = calloc(B, sizeof *zero);
    if (!x || !ty || !ch || !bo || !tb || !zero) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < B; k++) {
        int64_t o = g->atom_off[k], n = g->atom_off[k + 1] - o;
        tb[k] = t;
        prior(rng, b.x0 + 3 * o, n, x->data + 3 * o);
        for (int64_t i = 0; i < 3 * n; i++) x->data[3 * o + i] = (1 - t) * b.x0[3 * o + i] + t * x->data[3 * o + i];
    }
    onehot_noised(rng, b.type, g->A, NT, t, ty->data);
    onehot_noised(rng, b.charge, g->A, NC, t, ch->data);
    onehot_noised(rng, b.bond, g->P, NB, t, bo->data);
    bool cond = sdg_egnn_get_params(net)->conditional;
    sdg_egnn_input in = {.g = g, .x = x, .types = ty, .charges = ch, .bonds = bo, .t = tb,
                         .prop = cond ? zero : NULL, .prop_mask = cond ? zero : NULL};
    sdg_egnn_output out;
    SDG_TRY(sdg_egnn_forward(ctx, net, &in, &out));
    for (size_t k = 0; k < B; k++) {   /* x_t is centred already (prior and x0 are) */
        int64_t o = g->atom_off[k], n = g->atom_off[k + 1] - o;
        for (int64_t i = 3 * o; i < 3 * (o + n); i++) {
            double e = out.x0->data[i] - b.x0[i], e0 = x->data[i] - b.x0[i];
            acc[0] += e * e, acc[1] += e0 * e0;
        }
    }
    acc[2] += (double)g->A;
    for (int64_t a = 0; a < g->A; a++) acc[3] += argmax(out.type_logits->data + a * NT, NT) == b.type[a];
    acc[4] += (double)g->P;
    for (int64_t q = 0; q < g->P; q++) acc[5] += argmax(out.bond_logits->data + q * NB, NB) == b.bond[q];
cleanup:
    free(tb);
    free(zero);
    sdg_mol3d_batch_destroy(&b);
    return st;
}

static int profile(const char *model, const char *data, size_t n, uint64_t seed, bool ema, int split) {
    static const float ts[] = {0.005f, 0.01f, 0.02f, 0.05f, 0.1f, 0.2f, 0.4f, 0.7f, 0.95f};
    sdg_mol3d_model *m = NULL;
    sdg_mol3d_dataset *d = NULL;
    sdg_mol **val = NULL;
    sdg_ctx *ctx = NULL;
    sdg_rng *rng = NULL;
    int rc = 1;
    if (sdg_mol3d_model_load(model, ema, &m) != SDG_OK ||
        sdg_mol3d_dataset_load(data, "qm9_conformers", NULL, &d) != SDG_OK || sdg_ctx_new(0, &ctx) != SDG_OK ||
        sdg_rng_new(seed, &rng) != SDG_OK)
        goto done;
    val = malloc((d->count ? d->count : 1) * sizeof *val);
    if (!val) goto done;
    size_t nv = 0;
    for (size_t i = 0; i < d->count && nv < n; i++)
        if (d->split[i] == split) val[nv++] = d->mols[i];
    sdg_ctx_set_grad(ctx, false);
    printf("# %s (%s weights, %lld epochs): %zu %s-split conformers, seed %llu; RMS error per coordinate (A)\n",
           model, ema ? "ema" : "raw", (long long)m->epochs, nv, split == SDG_MOL3D_SPLIT_VAL ? "val" : "train",
           (unsigned long long)seed);
    printf("t\trmse_x0hat\trmse_xt\ttype_acc\tbond_acc\n");
    for (size_t it = 0; it < sizeof ts / sizeof *ts; it++) {
        double acc[6] = {0};
        for (size_t c0 = 0; c0 < nv; c0 += 64)
            if (profile_batch(ctx, m->net, val + c0, nv - c0 < 64 ? nv - c0 : 64, ts[it], rng, acc) != SDG_OK)
                goto done;
        printf("%.3f\t%.4f\t%.4f\t%.4f\t%.5f\n", (double)ts[it], sqrt(acc[0] / (3 * acc[2])), sqrt(acc[1] / (3 * acc[2])),
               acc[3] / acc[2], acc[5] / acc[4]);
    }
    rc = 0;
done:
    if (rc) fprintf(stderr, "bench_mol3d_diag: %s\n", sdg_errmsg());
    free(val);
    sdg_rng_free(rng);
    sdg_ctx_free(ctx);
    sdg_mol3d_dataset_free(d);
    sdg_mol3d_model_free(m);
    return rc;
}

static int noise(const char *data, size_t n, uint64_t seed, int ns, char **sig) {
    sdg_mol3d_dataset *d = NULL;
    sdg_rng *rng = NULL;
    double *keep = NULL;
    int rc = 1;
    if (sdg_mol3d_dataset_load(data, "qm9_conformers", NULL, &d) != SDG_OK || sdg_rng_new(seed, &rng) != SDG_OK) goto done;
    if (n > d->count) n = d->count;
    printf("# EDM-rule stability of the first %zu conformers of qm9_3d_conformers.sdf after N(0, sigma^2) noise on "
           "every coordinate, seed %llu\nsigma_A\tatom_stability\tmol_stability\n", n, (unsigned long long)seed);
    for (int s = 0; s < ns; s++) {
        double sigma = strtod(sig[s], NULL);
        int64_t atoms = 0, stable_atoms = 0, stable_mols = 0;
        for (size_t i = 0; i < n; i++) {
            sdg_mol *mol = d->mols[i];
            size_t k = 3 * (size_t)mol->n_atoms;
            keep = realloc(keep, (k ? k : 1) * sizeof *keep);
            if (!keep) goto done;
            memcpy(keep, mol->coords, k * sizeof *keep);
            for (size_t j = 0; j < k; j++) mol->coords[j] += sigma * sdg_rng_gaussian(rng);
            int64_t sa = 0;
            bool ok = false;
            sdg_status st = sdg_mol_stability_edm(mol, &sa, &ok);
            memcpy(mol->coords, keep, k * sizeof *keep);
            if (st != SDG_OK) goto done;
            atoms += mol->n_atoms, stable_atoms += sa, stable_mols += ok;
        }
        printf("%g\t%.2f %%\t%.2f %%\n", sigma, 100.0 * (double)stable_atoms / (double)atoms,
               100.0 * (double)stable_mols / (double)n);
    }
    rc = 0;
done:
    if (rc) fprintf(stderr, "bench_mol3d_diag: %s\n", sdg_errmsg());
    free(keep);
    sdg_rng_free(rng);
    sdg_mol3d_dataset_free(d);
    return rc;
}

int main(int argc, char **argv) {
    if (sdg_init() != SDG_OK) return 1;
    if ((argc == 7 || (argc == 8 && (!strcmp(argv[7], "val") || !strcmp(argv[7], "train")))) &&
        strcmp(argv[1], "profile") == 0 && (!strcmp(argv[6], "ema") || !strcmp(argv[6], "raw")))
        return profile(argv[2], argv[3], strtoull(argv[4], NULL, 10), strtoull(argv[5], NULL, 10),
                       strcmp(argv[6], "ema") == 0,
                       argc == 8 && !strcmp(argv[7], "train") ? SDG_MOL3D_SPLIT_TRAIN : SDG_MOL3D_SPLIT_VAL);
    if (argc >= 6 && strcmp(argv[1], "noise") == 0)
        return noise(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10), argc - 5, argv + 5);
    fprintf(stderr, "usage: bench_mol3d_diag profile MODEL DATA N SEED ema|raw [val|train]\n"
                    "       bench_mol3d_diag noise DATA N SEED SIGMA...\n");
    return 2;
}
