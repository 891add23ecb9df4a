/* Joint flow matching for 3-D molecules (docs/molecules3d.md "Flow matching"): centred Gaussian
 * prior for positions rotated onto each molecule (Kabsch), continuous one-hot interpolants with
 * Gaussian priors for atom types, charges and bond orders, a denoiser (x0 / logits) network,
 * and Euler sampling of the velocity (x_t - x0_hat) / t. Time: t = 0 data, t = 1 prior. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "molecule/internal.h"

#define NT 5
#define NC 3
#define NB 4
const int32_t sdg_mol3d_qm9_types[NT] = {1, 6, 7, 8, 9};

sdg_flow3d_params sdg_flow3d_default_params(void) {
    return (sdg_flow3d_params){.w_x = 3.0f, .w_type = 0.4f, .w_charge = 1.0f, .w_bond = 2.0f, .ot_rotation = true,
                               .p_uncond = 0.1f, .prior_std = 1.0f};
}
sdg_flow3d_sample_params sdg_flow3d_sample_default_params(void) {
    return (sdg_flow3d_sample_params){.n_steps = 100, .seed = 0, .chunk = 64, .prior_std = 1.0f};
}

void sdg_mol3d_batch_destroy(sdg_mol3d_batch *b) {
    if (!b) return;
    sdg_mol3d_graph_destroy(&b->g);
    free(b->x0);
    free(b->type);
    free(b->charge);
    free(b->bond);
    free(b->prop);
    memset(b, 0, sizeof *b);
}

static int type_index(int z) {
    for (int k = 0; k < NT; k++)
        if (sdg_mol3d_qm9_types[k] == z) return k;
    return -1;
}

sdg_status sdg_mol3d_batch_init(sdg_mol3d_batch *b, sdg_mol *const *mols, size_t B, const float *prop) {
    sdg_status st = SDG_OK;
    int64_t *n = NULL;
    if (!b || (!mols && B)) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol3d_batch_init: NULL argument");
    memset(b, 0, sizeof *b);
    n = malloc((B ? B : 1) * sizeof *n);
    if (!n) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < B; k++) {
        n[k] = mols[k]->n_atoms;
        if (!mols[k]->coords || mols[k]->dim != 3)
            SDG_FAIL(SDG_ERR_INVALID, "molecule %zu ('%s') has no 3-D coordinates", k, mols[k]->name ? mols[k]->name : "");
    }
    SDG_TRY(sdg_mol3d_graph_init(&b->g, n, (int64_t)B));
    const sdg_mol3d_graph *g = &b->g;
    b->x0 = malloc((size_t)(g->A ? g->A : 1) * 3 * sizeof *b->x0);
    b->type = malloc((size_t)(g->A ? g->A : 1) * sizeof *b->type);
    b->charge = malloc((size_t)(g->A ? g->A : 1) * sizeof *b->charge);
    b->bond = calloc((size_t)(g->P ? g->P : 1), sizeof *b->bond);
    if (prop) b->prop = malloc((B ? B : 1) * sizeof *b->prop);
    if (!b->x0 || !b->type || !b->charge || !b->bond || (prop && !b->prop)) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    int64_t p0 = 0;
    for (size_t k = 0; k < B; k++) {
        const sdg_mol *m = mols[k];
        int64_t o = g->atom_off[k], na = m->n_atoms;
        double c[3] = {0, 0, 0};
        for (int64_t i = 0; i < na; i++)
            for (int d = 0; d < 3; d++) c[d] += m->coords[3 * i + d] / (double)na;
        for (int64_t i = 0; i < na; i++) {
            int ti = type_index(m->atoms[i].z), q = m->atoms[i].charge;
            if (ti < 0 || q < -1 || q > 1)
                SDG_FAIL(SDG_ERR_INVALID, "molecule %zu ('%s') atom %lld: %s%+d is outside the QM9 vocabulary "
                         "(H C N O F, charges -1..+1)", k, m->name ? m->name : "", (long long)i + 1,
                         sdg_element_symbol(m->atoms[i].z), q);
            b->type[o + i] = ti;
            b->charge[o + i] = q + 1;
            for (int d = 0; d < 3; d++) b->x0[3 * (o + i) + d] = (float)(m->coords[3 * i + d] - c[d]);
        }
        for (int64_t e = 0; e < m->n_bonds; e++) {
            int64_t i = m->bonds[e].i, j = m->bonds[e].j;
            if (i > j) { int64_t s = i; i = j; j = s; }
            /* pair (i, j), i < j, of a molecule of na atoms: rows before i hold sum (na-1-r) */
            int64_t p = p0 + i * (2 * na - i - 1) / 2 + (j - i - 1);
            b->bond[p] = m->bonds[e].order;
        }
        p0 += na * (na - 1) / 2;
        if (prop) b->prop[k] = prop[k];
    }
cleanup:
    free(n);
    if (st != SDG_OK) sdg_mol3d_batch_destroy(b);
    return st;
}

/* ---- Kabsch through Horn's quaternion ---- */
/* Eigenvector of the largest eigenvalue of symmetric 4x4 a (destroyed), cyclic Jacobi. */
static void top_eigvec4(double a[4][4], double q[4]) {
    double v[4][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
    for (int sweep = 0; sweep < 50; sweep++) {
        double off = 0;
        for (int i = 0; i < 4; i++)
            for (int j = i + 1; j < 4; j++) off += a[i][j] * a[i][j];
        if (off < 1e-22) break;
        for (int p = 0; p < 4; p++)
            for (int r = p + 1; r < 4; r++) {
                if (fabs(a[p][r]) < 1e-300) continue;
                double th = (a[r][r] - a[p][p]) / (2 * a[p][r]);
                double t = (th >= 0 ? 1 : -1) / (fabs(th) + sqrt(th * th + 1)), c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < 4; k++) {   /* a <- J^T a J */
                    double akp = a[k][p], akr = a[k][r];
                    a[k][p] = c * akp - s * akr;
                    a[k][r] = s * akp + c * akr;
                }
                for (int k = 0; k < 4; k++) {
                    double apk = a[p][k], ark = a[r][k];
                    a[p][k] = c * apk - s * ark;
                    a[r][k] = s * apk + c * ark;
                }
                for (int k = 0; k < 4; k++) {
                    double vkp = v[k][p], vkr = v[k][r];
                    v[k][p] = c * vkp - s * vkr;
                    v[k][r] = s * vkp + c * vkr;
                }
            }
    }
    int best = 0;
    for (int k = 1; k < 4; k++)
        if (a[k][k] > a[best][best]) best = k;
    for (int k = 0; k < 4; k++) q[k] = v[k][best];
}

void sdg_kabsch_rotation(const float *z, const float *x, int64_t n, double R[9]) {
    double S[3][3] = {{0}};
    for (int64_t i = 0; i < n; i++)
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) S[a][b] += (double)z[3 * i + a] * (double)x[3 * i + b];
    double N[4][4] = {
        {S[0][0] + S[1][1] + S[2][2], S[1][2] - S[2][1], S[2][0] - S[0][2], S[0][1] - S[1][0]},
        {S[1][2] - S[2][1], S[0][0] - S[1][1] - S[2][2], S[0][1] + S[1][0], S[2][0] + S[0][2]},
        {S[2][0] - S[0][2], S[0][1] + S[1][0], -S[0][0] + S[1][1] - S[2][2], S[1][2] + S[2][1]},
        {S[0][1] - S[1][0], S[2][0] + S[0][2], S[1][2] + S[2][1], -S[0][0] - S[1][1] + S[2][2]}};
    double q[4];
    top_eigvec4(N, q);
    double w = q[0], a = q[1], b = q[2], c = q[3];
    double r[9] = {w * w + a * a - b * b - c * c, 2 * (a * b - w * c), 2 * (a * c + w * b),
                   2 * (a * b + w * c), w * w - a * a + b * b - c * c, 2 * (b * c - w * a),
                   2 * (a * c - w * b), 2 * (b * c + w * a), w * w - a * a - b * b + c * c};
    memcpy(R, r, sizeof r);
}

/* Centred Gaussian positions (n, 3) * std for one molecule. */
static void centred_gaussian(sdg_rng *rng, float *z, int64_t n, float std) {
    double c[3] = {0, 0, 0};
    for (int64_t i = 0; i < 3 * n; i++) {
        z[i] = std * (float)sdg_rng_gaussian(rng);
        c[i % 3] += z[i] / (double)n;
    }
    for (int64_t i = 0; i < 3 * n; i++) z[i] -= (float)c[i % 3];
}

/* y (rows, K) <- (1 - t) onehot(cls) + t N(0, 1); t per row from tr. */
static void interp_onehot(sdg_rng *rng, const int64_t *cls, int64_t rows, int64_t K, const float *tr, float *y) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t k = 0; k < K; k++)
            y[r * K + k] = (1 - tr[r]) * (float)(cls[r] == k) + tr[r] * (float)sdg_rng_gaussian(rng);
}

sdg_status sdg_flow3d_loss(sdg_ctx *ctx, const sdg_egnn *m, const sdg_mol3d_batch *b, const sdg_flow3d_params *p,
                           sdg_rng *rng, sdg_tensor **loss, float parts[4]) {
    if (!ctx || !m || !b || !rng || !loss) return SDG_ERROR(SDG_ERR_INVALID, "sdg_flow3d_loss: NULL argument");
    sdg_flow3d_params fp = p ? *p : sdg_flow3d_default_params();
    const sdg_egnn_params *mp = sdg_egnn_get_params(m);
    if (mp->n_types != NT || mp->n_charges != NC || mp->n_bonds != NB)
        return SDG_ERROR(SDG_ERR_INVALID, "sdg_flow3d_loss: the model's vocabularies (%d, %d, %d) are not QM9's (5, 3, 4)",
                         mp->n_types, mp->n_charges, mp->n_bonds);
    const sdg_mol3d_graph *g = &b->g;
    int64_t A = g->A, P = g->P, B = g->B;
    sdg_arena *ar = sdg_ctx_arena(ctx);
    float *t = sdg_arena_alloc(ar, (size_t)(B + 1) * sizeof *t), *ta = sdg_arena_alloc(ar, (size_t)(A + 1) * sizeof *ta),
          *tp = sdg_arena_alloc(ar, (size_t)(P + 1) * sizeof *tp), *mask = sdg_arena_alloc(ar, (size_t)(B + 1) * sizeof *mask);
    sdg_tensor *x = sdg_tensor_newv(ctx, 2, A, (int64_t)3), *ty = sdg_tensor_newv(ctx, 2, A, (int64_t)NT),
               *ch = sdg_tensor_newv(ctx, 2, A, (int64_t)NC), *bo = sdg_tensor_newv(ctx, 2, P, (int64_t)NB),
               *x0 = sdg_tensor_from(ctx, 2, (int64_t[]){A, 3}, b->x0);
    if (!t || !ta || !tp || !mask || !x || !ty || !ch || !bo || !x0) return sdg_ctx_status(ctx) ? sdg_ctx_status(ctx) : SDG_ERR_NOMEM;
    for (int64_t k = 0; k < B; k++) {
        t[k] = (float)sdg_rng_uniform(rng);
        mask[k] = sdg_rng_uniform(rng) < fp.p_uncond ? 0.0f : 1.0f;
        int64_t o = g->atom_off[k], n = g->atom_off[k + 1] - o;
        float *z = x->data + 3 * o;
        centred_gaussian(rng, z, n, fp.prior_std);
        if (fp.ot_rotation) {
            double R[9];
            sdg_kabsch_rotation(z, b->x0 + 3 * o, n, R);
            for (int64_t i = 0; i < n; i++) {
                float v[3];
                for (int a = 0; a < 3; a++) v[a] = (float)(R[3 * a] * z[3 * i] + R[3 * a + 1] * z[3 * i + 1] + R[3 * a + 2] * z[3 * i + 2]);
                memcpy(z + 3 * i, v, sizeof v);
            }
        }
        for (int64_t i = 0; i < 3 * n; i++) z[i] = (1 - t[k]) * b->x0[3 * o + i] + t[k] * z[i];
    }
    for (int64_t a = 0; a < A; a++) ta[a] = t[g->mol_of[a]];
    for (int64_t q = 0; q < P; q++) tp[q] = t[g->mol_of[g->pair_i[q]]];
    interp_onehot(rng, b->type, A, NT, ta, ty->data);
    interp_onehot(rng, b->charge, A, NC, ta, ch->data);
    interp_onehot(rng, b->bond, P, NB, tp, bo->data);
    sdg_egnn_input in = {.g = g, .x = x, .types = ty, .charges = ch, .bonds = bo, .t = t,
                         .prop = mp->conditional ? b->prop : NULL, .prop_mask = mask};
    sdg_egnn_output o;
    sdg_status st = sdg_egnn_forward(ctx, m, &in, &o);
    if (st != SDG_OK) return st;
    sdg_tensor *lx = sdg_scale(ctx, sdg_mean(ctx, sdg_square(ctx, sdg_sub(ctx, o.x0, x0)), SDG_AXIS_ALL, false), 3.0f, 0.0f);
    sdg_tensor *lt = sdg_cross_entropy(ctx, o.type_logits, b->type);
    sdg_tensor *lc = sdg_cross_entropy(ctx, o.charge_logits, b->charge);
    sdg_tensor *lb = sdg_cross_entropy(ctx, o.bond_logits, b->bond);
    sdg_tensor *L = sdg_add(ctx, sdg_add(ctx, sdg_scale(ctx, lx, fp.w_x, 0), sdg_scale(ctx, lt, fp.w_type, 0)),
                            sdg_add(ctx, sdg_scale(ctx, lc, fp.w_charge, 0), sdg_scale(ctx, lb, fp.w_bond, 0)));
    if ((st = sdg_ctx_status(ctx)) != SDG_OK) return st;
    if (parts) parts[0] = lx->data[0], parts[1] = lt->data[0], parts[2] = lc->data[0], parts[3] = lb->data[0];
    *loss = L;
    return SDG_OK;
}

/* ---- sampling ---- */
/* Row-wise softmax of logits (rows, K) into y. */
static void softmax_rows(const float *x, int64_t rows, int64_t K, float *y) {
    for (int64_t r = 0; r < rows; r++) {
        float mx = -INFINITY;
        double s = 0;
        for (int64_t k = 0; k < K; k++) mx = fmaxf(mx, x[r * K + k]);
        for (int64_t k = 0; k < K; k++) s += y[r * K + k] = expf(x[r * K + k] - mx);
        for (int64_t k = 0; k < K; k++) y[r * K + k] = (float)(y[r * K + k] / s);
    }
}

static int64_t argmax(const float *v, int64_t K) {
    int64_t b = 0;
    for (int64_t k = 1; k < K; k++)
        if (v[k] > v[b]) b = k;
    return b;
}

/* Euler step of state s (n floats) towards the denoised d at time t: s -= dt (s - d) / t. */
static void euler(float *s, const float *d, int64_t n, float t, float dt) {
    for (int64_t i = 0; i < n; i++) s[i] -= dt * (s[i] - d[i]) / t;
}

static sdg_status sample_chunk(const sdg_egnn *m, sdg_ctx *ctx, const int64_t *n_atoms, size_t i0, size_t B,
                               const float *prop, const sdg_flow3d_sample_params *p, sdg_mol **out) {
    sdg_status st = SDG_OK;
    sdg_mol3d_graph g = {0};
    sdg_rng *rng = NULL;
    float *buf = NULL;
    SDG_TRY(sdg_mol3d_graph_init(&g, n_atoms + i0, (int64_t)B));
    int64_t A = g.A, P = g.P, nx = 3 * A, nt = NT * A, nc = NC * A, nb = NB * P;
    int64_t ns = nx + nt + nc + nb;
    buf = malloc((size_t)(2 * ns + (int64_t)B + 1) * sizeof *buf);
    if (!buf) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    float *s = buf, *d = buf + ns, *tb = buf + 2 * ns;
    /* priors, molecule by molecule from its own stream */
    SDG_TRY(sdg_rng_new(0, &rng));
    for (size_t k = 0; k < B; k++) {
        sdg_rng_reset(rng, p->seed, i0 + k);
        int64_t o = g.atom_off[k], n = g.atom_off[k + 1] - o, po = 0;
        for (size_t q = 0; q < k; q++) po += (g.atom_off[q + 1] - g.atom_off[q]) * (g.atom_off[q + 1] - g.atom_off[q] - 1) / 2;
        centred_gaussian(rng, s + 3 * o, n, p->prior_std);
        sdg_rng_fill_gaussian(rng, s + nx + NT * o, (size_t)(NT * n));
        sdg_rng_fill_gaussian(rng, s + nx + nt + NC * o, (size_t)(NC * n));
        sdg_rng_fill_gaussian(rng, s + nx + nt + nc + NB * po, (size_t)(NB * n * (n - 1) / 2));
    }
    bool old = sdg_ctx_set_grad(ctx, false);
    for (int step = 0; step < p->n_steps; step++) {
        float t = 1.0f - (float)step / (float)p->n_steps, dt = 1.0f / (float)p->n_steps;
        for (size_t k = 0; k < B; k++) tb[k] = t;
        sdg_ctx_reset(ctx);
        sdg_egnn_input in = {.g = &g, .t = tb, .prop = prop ? prop + i0 : NULL};
        in.x = sdg_tensor_from(ctx, 2, (int64_t[]){A, 3}, s);
        in.types = sdg_tensor_from(ctx, 2, (int64_t[]){A, NT}, s + nx);
        in.charges = sdg_tensor_from(ctx, 2, (int64_t[]){A, NC}, s + nx + nt);
        in.bonds = sdg_tensor_from(ctx, 2, (int64_t[]){P, NB}, s + nx + nt + nc);
        sdg_egnn_output o;
        if ((st = sdg_egnn_forward(ctx, m, &in, &o)) != SDG_OK) break;
        memcpy(d, o.x0->data, (size_t)nx * sizeof *d);
        softmax_rows(o.type_logits->data, A, NT, d + nx);
        softmax_rows(o.charge_logits->data, A, NC, d + nx + nt);
        softmax_rows(o.bond_logits->data, P, NB, d + nx + nt + nc);
        /* the positions are re-centred by the network; the state stays centred */
        euler(s, d, ns, t, dt);
    }
    sdg_ctx_set_grad(ctx, old);
    if (st != SDG_OK) goto cleanup;
    for (size_t k = 0; k < B; k++) {
        int64_t o = g.atom_off[k], n = g.atom_off[k + 1] - o;
        sdg_mol *mol = NULL;
        SDG_TRY(sdg_mol_new(&mol));
        out[i0 + k] = mol;
        mol->coords = calloc(3 * (size_t)n, sizeof *mol->coords);
        if (!mol->coords) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
        mol->dim = 3;
        for (int64_t i = 0; i < n; i++) {
            int64_t a = o + i;
            SDG_TRY(sdg_mol_add_atom(mol, sdg_mol3d_qm9_types[argmax(s + nx + NT * a, NT)],
                                     (int)argmax(s + nx + nt + NC * a, NC) - 1, NULL));
            for (int c = 0; c < 3; c++) mol->coords[3 * i + c] = s[3 * a + c];
        }
    }
    for (int64_t q = 0; q < P; q++) {
        int64_t ord = argmax(s + nx + nt + nc + NB * q, NB), k = g.mol_of[g.pair_i[q]];
        if (ord > 0) SDG_TRY(sdg_mol_add_bond(out[i0 + k], g.pair_i[q] - g.atom_off[k], g.pair_j[q] - g.atom_off[k], (int)ord));
    }
cleanup:
    sdg_rng_free(rng);
    free(buf);
    sdg_mol3d_graph_destroy(&g);
    return st;
}

sdg_status sdg_flow3d_sample(const sdg_egnn *m, const int64_t *n_atoms, size_t n, const float *prop,
                             const sdg_flow3d_sample_params *params, sdg_mol **out) {
    sdg_status st = SDG_OK;
    sdg_ctx *ctx = NULL;
    if (!m || (n && (!n_atoms || !out))) return SDG_ERROR(SDG_ERR_INVALID, "sdg_flow3d_sample: NULL argument");
    sdg_flow3d_sample_params p = params ? *params : sdg_flow3d_sample_default_params();
    if (p.n_steps < 1 || p.chunk < 1) return SDG_ERROR(SDG_ERR_INVALID, "sdg_flow3d_sample: n_steps and chunk must be >= 1");
    if (prop && !sdg_egnn_get_params(m)->conditional)
        return SDG_ERROR(SDG_ERR_INVALID, "a property was given, but the model was trained without conditioning");
    for (size_t i = 0; i < n; i++) out[i] = NULL;
    SDG_TRY(sdg_ctx_new(0, &ctx));
    for (size_t i0 = 0; i0 < n; i0 += p.chunk)
        SDG_TRY(sample_chunk(m, ctx, n_atoms, i0, n - i0 < p.chunk ? n - i0 : p.chunk, prop, &p, out));
cleanup:
    if (st != SDG_OK)
        for (size_t i = 0; i < n; i++) sdg_mol_free(out[i]), out[i] = NULL;
    sdg_ctx_free(ctx);
    return st;
}
