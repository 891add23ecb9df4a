/* Joint flow matching for 3-D molecules (docs/molecules3d.md "Flow matching"): centred Gaussian
 * prior for positions rotated onto each molecule (Kabsch), continuous one-hot interpolants with
 * Gaussian priors for atom types, charges and bond orders, a denoiser (x0 / logits) network,
 * sampling of the velocity (x_t - x0_hat) / t through the engine's ODE integrators, and the
 * trainer (Adam, EMA, epochs drawn from their own random streams). Time: t = 0 data, t = 1 prior. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "molecule/internal.h"

#define NT 5
#define NC 3
#define NB 4
#define FLOW3D_SDE_STREAM (UINT64_C(1) << 61)   /* sdg_flow3d_sample_params.sde_noise */
const int32_t sdg_mol3d_qm9_types[NT] = {1, 6, 7, 8, 9};

sdg_flow3d_params sdg_flow3d_default_params(void) {
    return (sdg_flow3d_params){.w_x = 3.0f, .w_type = 0.4f, .w_charge = 1.0f, .w_bond = 2.0f, .ot_rotation = true,
                               .p_uncond = 0.1f, .prior_std = 1.0f, .time_skew = 1.0f,
                               .pos_loss_tmin = 0.0f};
}
sdg_flow3d_sample_params sdg_flow3d_sample_default_params(void) {
    return (sdg_flow3d_sample_params){.n_steps = 100, .seed = 0, .chunk = 64, .prior_std = 1.0f, .ode = sdg_ode_euler,
                                      .eps = 1e-3f, .guidance = 0.0f, .sde_noise = 0.0f,
                                      .sde_tmax = 1.0f, .sde_noise_pos = -1.0f, .sde_tmax_pos = -1.0f};
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

/* t ~ Beta(1, k) by inversion, 1 - (1 - U)^(1/k); k = 1 returns the uniform draw U itself. */
float sdg_flow3d_draw_time(sdg_rng *rng, float k) {
    double u = sdg_rng_uniform(rng);
    return k == 1.0f ? (float)u : (float)(1.0 - pow(1.0 - u, 1.0 / k));
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
        t[k] = sdg_flow3d_draw_time(rng, fp.time_skew);
        mask[k] = sdg_rng_uniform(rng) < fp.p_uncond ? 0.0f : 1.0f;
        if (b->prop && isnan(b->prop[k])) mask[k] = 0.0f;   /* a missing value: the null embedding */
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
    sdg_tensor *dx = sdg_sub(ctx, o.x0, x0);
    if (fp.pos_loss_tmin > 0) {   /* velocity loss: (x0_hat - x0)/t is the velocity's error */
        sdg_tensor *w = sdg_tensor_newv(ctx, 2, A, (int64_t)3);
        if (!w) return sdg_ctx_status(ctx) ? sdg_ctx_status(ctx) : SDG_ERR_NOMEM;
        for (int64_t a = 0; a < A; a++)
            for (int c = 0; c < 3; c++) w->data[3 * a + c] = 1.0f / fmaxf(ta[a], fp.pos_loss_tmin);
        dx = sdg_mul(ctx, dx, w);
    }
    sdg_tensor *lx = sdg_scale(ctx, sdg_mean(ctx, sdg_square(ctx, dx), SDG_AXIS_ALL, false), 3.0f, 0.0f);
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

/* ---- sampling through the engine's ODE integrators (sde.h, sdg_sampler_ode) ----
 * The chunk's molecules are padded to N = its largest atom count: four DENSE components,
 * positions (N, 3), types (N, 5), charges (N, 3) over atom rows and bonds (N(N-1)/2, 4) over
 * pair rows, molecule k's atoms and pairs first (pairs row by row, as in the packed graph),
 * the rest masked. Every component is a DENOISER of the linear interpolant: the engine turns
 * x0_hat (positions) and softmax(logits) (categoricals) into the velocity (x_t - x0_hat) / t. */
typedef struct f3d_call {
    const sdg_egnn        *m;
    sdg_ctx               *ctx;
    const sdg_mol3d_graph *g;
    int64_t                N, Pn;     /* padded atoms and pairs per molecule        */
    const float           *prop;      /* (B) standardised, or NULL                 */
    const float           *mask;      /* (B) prop_mask for this pass (CFG), or NULL */
    float                 *tb;        /* (B)                                        */
} f3d_call;

static sdg_status f3d_model_fn(const sdg_model_call *call, void *params) {
    f3d_call *c = params;
    const sdg_mol3d_graph *g = c->g;
    const sdg_state *x = call->state;
    int64_t A = g->A, P = g->P, B = g->B, N = c->N, Pn = c->Pn;
    if ((int64_t)x->n != B) return SDG_ERROR(SDG_ERR_SHAPE, "flow3d model: %zu samples, graph has %lld", x->n, (long long)B);
    sdg_ctx_reset(c->ctx);
    sdg_tensor *px = sdg_tensor_newv(c->ctx, 2, A, (int64_t)3), *pt = sdg_tensor_newv(c->ctx, 2, A, (int64_t)NT),
               *pc = sdg_tensor_newv(c->ctx, 2, A, (int64_t)NC), *pb = sdg_tensor_newv(c->ctx, 2, P, (int64_t)NB);
    if (!px || !pt || !pc || !pb) return sdg_ctx_status(c->ctx) ? sdg_ctx_status(c->ctx) : SDG_ERR_NOMEM;
    const int64_t K[4] = {3, NT, NC, NB};
    float *packed[4] = {px->data, pt->data, pc->data, pb->data};
    int64_t p0 = 0;
    for (int64_t k = 0; k < B; k++) {   /* padded state -> packed batch */
        int64_t o = g->atom_off[k], n = g->atom_off[k + 1] - o, np = n * (n - 1) / 2;
        c->tb[k] = call->t[k];
        for (int q = 0; q < 4; q++) {
            int64_t rows = q < 3 ? n : np, base = q < 3 ? o : p0, per = q < 3 ? N : Pn;
            memcpy(packed[q] + base * K[q], x->comp[q].x + (size_t)(k * per * K[q]), (size_t)(rows * K[q]) * sizeof(float));
        }
        p0 += np;
    }
    sdg_egnn_input in = {.g = g, .x = px, .types = pt, .charges = pc, .bonds = pb, .t = c->tb, .prop = c->prop,
                         .prop_mask = c->mask};
    sdg_egnn_output o;
    bool old = sdg_ctx_set_grad(c->ctx, false);
    sdg_status st = sdg_egnn_forward(c->ctx, c->m, &in, &o);
    sdg_ctx_set_grad(c->ctx, old);
    if (st != SDG_OK) return st;
    const sdg_tensor *res[4] = {o.x0, o.type_logits, o.charge_logits, o.bond_logits};
    p0 = 0;
    for (int64_t k = 0; k < B; k++) {   /* packed outputs -> padded, softmax for the categoricals */
        int64_t oa = g->atom_off[k], n = g->atom_off[k + 1] - oa, np = n * (n - 1) / 2;
        for (int q = 0; q < 4; q++) {
            int64_t rows = q < 3 ? n : np, base = q < 3 ? oa : p0, per = q < 3 ? N : Pn;
            float *dst = call->out[q] + (size_t)(k * per * K[q]);
            const float *src = res[q]->data + base * K[q];
            if (q == 0) memcpy(dst, src, (size_t)(rows * 3) * sizeof(float));
            else softmax_rows(src, rows, K[q], dst);
            memset(dst + rows * K[q], 0, (size_t)((per - rows) * K[q]) * sizeof(float));
        }
        p0 += np;
    }
    return SDG_OK;
}

static sdg_status sample_chunk(const sdg_egnn *m, sdg_ctx *ctx, const int64_t *n_atoms, size_t i0, size_t B,
                               const float *prop, const sdg_flow3d_sample_params *p, sdg_mol **out) {
    sdg_status st = SDG_OK;
    sdg_mol3d_graph g = {0};
    sdg_rng *rng = NULL;
    sdg_sampler *smp = NULL;
    float *buf = NULL, *zero_mask = NULL;
    SDG_TRY(sdg_mol3d_graph_init(&g, n_atoms + i0, (int64_t)B));
    int64_t N = 1;
    for (size_t k = 0; k < B; k++) N = n_atoms[i0 + k] > N ? n_atoms[i0 + k] : N;
    int64_t Pn = N * (N - 1) / 2 > 0 ? N * (N - 1) / 2 : 1;
    const int64_t K[4] = {3, NT, NC, NB}, rows[4] = {N, N, N, Pn};
    size_t total = 0;
    for (int q = 0; q < 4; q++) total += B * (size_t)(rows[q] * K[q]);
    /* state (total), atom mask (B, N), pair mask (B, Pn), times (B), ones (B) */
    buf = calloc(total + B * (size_t)(N + Pn) + 2 * B, sizeof *buf);
    zero_mask = calloc(B, sizeof *zero_mask);
    if (!buf || !zero_mask) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    float *xs[4], *amask = buf + total, *pmask = amask + B * (size_t)N, *tb = pmask + B * (size_t)Pn, *ones = tb + B;
    xs[0] = buf;
    for (int q = 1; q < 4; q++) xs[q] = xs[q - 1] + B * (size_t)(rows[q - 1] * K[q - 1]);
    /* priors, molecule by molecule from its own stream (seed, i): positions, types, charges, bonds */
    SDG_TRY(sdg_rng_new(0, &rng));
    for (size_t k = 0; k < B; k++) {
        int64_t n = n_atoms[i0 + k], np = n * (n - 1) / 2;
        sdg_rng_reset(rng, p->seed, p->stream_offset + i0 + k);
        centred_gaussian(rng, xs[0] + k * (size_t)(3 * N), n, p->prior_std);
        sdg_rng_fill_gaussian(rng, xs[1] + k * (size_t)(NT * N), (size_t)(NT * n));
        sdg_rng_fill_gaussian(rng, xs[2] + k * (size_t)(NC * N), (size_t)(NC * n));
        sdg_rng_fill_gaussian(rng, xs[3] + k * (size_t)(NB * Pn), (size_t)(NB * np));
        for (int64_t a = 0; a < n; a++) amask[k * (size_t)N + (size_t)a] = 1;
        for (int64_t q = 0; q < np; q++) pmask[k * (size_t)Pn + (size_t)q] = 1;
        ones[k] = 1;
    }
    sdg_sde lin;
    SDG_TRY(sdg_sde_init(&lin, sdg_sde_linear, 0, 1, 1));
    static const char *const names[4] = {"positions", "types", "charges", "bonds"};
    sdg_state state = {.n = B, .n_comp = 4};
    for (int q = 0; q < 4; q++)
        state.comp[q] = (sdg_component){.name = names[q], .dim = (size_t)(rows[q] * K[q]), .rows = (size_t)rows[q],
                                        .noise = q == 0 ? SDG_NOISE_KIND_CENTRED : SDG_NOISE_KIND_DENSE,
                                        .param = SDG_PARAM_KIND_DENOISER, .sde = lin, .live_draws = true,
                                        .x = xs[q], .mask = q < 3 ? amask : pmask};
    sdg_sampler_params sp = sdg_sampler_default_params();
    sp.type = sdg_sampler_ode;
    sp.ode = p->ode;
    sp.n_steps = p->n_steps;
    sp.eps = p->eps;
    sp.denoise = p->eps > 0;
    sp.init_prior = false;
    sp.sde_noise = p->sde_noise;
    sp.sde_tmax = p->sde_tmax;
    if (p->sde_noise_pos >= 0 || p->sde_tmax_pos >= 0) {   /* the positions' own setting */
        sp.n_sde_noise_comp = 4;
        for (int q = 0; q < 4; q++) sp.sde_noise_comp[q] = p->sde_noise, sp.sde_tmax_comp[q] = p->sde_tmax;
        if (p->sde_noise_pos >= 0) sp.sde_noise_comp[0] = p->sde_noise_pos;
        if (p->sde_tmax_pos >= 0) sp.sde_tmax_comp[0] = p->sde_tmax_pos;
    }
    sp.seed = p->seed;   /* the SDE's noise: streams apart from the priors' (seed, stream_offset + i) */
    sp.stream_offset = FLOW3D_SDE_STREAM + p->stream_offset + i0;
    SDG_TRY(sdg_sampler_new(&sp, &state, &smp));
    /* A conditioned network without a property samples its unconditional branch: the null
     * embedding it was trained with on molecules without a value (mask 0; the value is unused). */
    const float *pr = prop ? prop + i0 : sdg_egnn_get_params(m)->conditional ? zero_mask : NULL;
    f3d_call cond = {m, ctx, &g, N, Pn, pr, prop ? ones : zero_mask, tb};
    f3d_call uncond = {m, ctx, &g, N, Pn, pr, zero_mask, tb};   /* CFG: the null embedding */
    sdg_cfg cfg = {.cond = {.fn = f3d_model_fn, .params = &cond}, .uncond = {.fn = f3d_model_fn, .params = &uncond},
                   .w = p->guidance};
    sdg_model model = {.fn = f3d_model_fn, .params = &cond};
    if (prop && p->guidance != 0) model = (sdg_model){.fn = sdg_cfg_model_fn, .params = &cfg};
    SDG_TRY(sdg_sampler_run(smp, &model, &state, NULL));
    int64_t p0 = 0;
    for (size_t k = 0; k < B; k++) {
        int64_t n = n_atoms[i0 + k], np = n * (n - 1) / 2;
        sdg_mol *mol = NULL;
        SDG_TRY(sdg_mol_new(&mol));
        out[i0 + k] = mol;
        mol->coords = calloc(3 * (size_t)n, sizeof *mol->coords);
        if (!mol->coords) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
        mol->dim = 3;
        for (int64_t i = 0; i < n; i++) {
            const float *ty = xs[1] + k * (size_t)(NT * N) + (size_t)(NT * i), *ch = xs[2] + k * (size_t)(NC * N) + (size_t)(NC * i);
            SDG_TRY(sdg_mol_add_atom(mol, sdg_mol3d_qm9_types[argmax(ty, NT)], (int)argmax(ch, NC) - 1, NULL));
            for (int c = 0; c < 3; c++) mol->coords[3 * i + c] = xs[0][k * (size_t)(3 * N) + (size_t)(3 * i + c)];
        }
        for (int64_t q = 0; q < np; q++) {
            int64_t ord = argmax(xs[3] + k * (size_t)(NB * Pn) + (size_t)(NB * q), NB), gq = p0 + q;
            if (ord > 0)
                SDG_TRY(sdg_mol_add_bond(mol, g.pair_i[gq] - g.atom_off[k], g.pair_j[gq] - g.atom_off[k], (int)ord));
        }
        p0 += np;
    }
cleanup:
    sdg_sampler_free(smp);
    sdg_rng_free(rng);
    free(buf);
    free(zero_mask);
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
    if (!p.ode) p.ode = sdg_ode_euler;
    if (p.ode == sdg_ode_rk45)
        return SDG_ERROR(SDG_ERR_INVALID, "sdg_flow3d_sample: rk45 is not offered (its tolerance over every molecule "
                         "of a chunk couples them); use euler, heun or rk4");
    if (!(p.eps >= 0 && p.eps < 1) || (p.eps == 0 && p.ode != sdg_ode_euler))
        return SDG_ERROR(SDG_ERR_INVALID, "sdg_flow3d_sample: eps = %g must be in (0, 1) (Euler: [0, 1)); the velocity "
                         "(x - x0)/t is undefined at t = 0", (double)p.eps);
    if (!(p.guidance >= 0) || (p.guidance > 0 && !prop))
        return SDG_ERROR(SDG_ERR_INVALID, "sdg_flow3d_sample: guidance %g needs a property and must be >= 0", (double)p.guidance);
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

/* ---- training ---- */
sdg_flow3d_train_params sdg_flow3d_train_default_params(void) {
    return (sdg_flow3d_train_params){.batch = 64, .lr = 5e-4f, .grad_clip = 1.0f, .ema_decay = 0.999f, .seed = 1,
                                     .loss = sdg_flow3d_default_params()};
}

struct sdg_flow3d_trainer {
    sdg_flow3d_train_params p;
    sdg_egnn        *net;
    sdg_mol3d_fit    fit;     /* Adam, EMA, the shuffled epochs (fit3d.c) */
};

void sdg_flow3d_trainer_free(sdg_flow3d_trainer *t) {
    if (!t) return;
    sdg_mol3d_fit_destroy(&t->fit);
    free(t);
}

int64_t   sdg_flow3d_trainer_epochs(const sdg_flow3d_trainer *t) { return t ? t->fit.epochs : 0; }
void      sdg_flow3d_trainer_set_epochs(sdg_flow3d_trainer *t, int64_t e) { if (t) t->fit.epochs = e; }
sdg_adam *sdg_flow3d_trainer_adam(sdg_flow3d_trainer *t) { return t ? t->fit.adam : NULL; }
sdg_ema  *sdg_flow3d_trainer_ema(sdg_flow3d_trainer *t) { return t ? t->fit.ema : NULL; }
const sdg_flow3d_train_params *sdg_flow3d_trainer_params(const sdg_flow3d_trainer *t) { return t ? &t->p : NULL; }
void sdg_flow3d_trainer_set_lr(sdg_flow3d_trainer *t, float lr) {
    if (!t || !(lr > 0)) return;
    t->p.lr = lr;
    sdg_adam_set_state(t->fit.adam, sdg_adam_steps(t->fit.adam), lr);
}
void sdg_flow3d_trainer_set_on_step(sdg_flow3d_trainer *t, sdg_flow3d_step_fn fn, void *params) {
    if (t) t->p.on_step = fn, t->p.on_step_params = params, t->fit.on_step = fn, t->fit.on_step_params = params;
}

static sdg_status flow_loss(sdg_ctx *ctx, const sdg_mol3d_batch *b, sdg_rng *rng, void *self, sdg_tensor **loss,
                            float *parts) {
    const sdg_flow3d_trainer *t = self;
    return sdg_flow3d_loss(ctx, t->net, b, &t->p.loss, rng, loss, parts);
}

sdg_status sdg_flow3d_trainer_new(sdg_egnn *net, sdg_mol *const *mols, const float *prop, size_t n,
                                  const sdg_flow3d_train_params *params, sdg_flow3d_trainer **out) {
    sdg_status st = SDG_OK;
    sdg_flow3d_trainer *t = NULL;
    if (!net || !mols || !out || n == 0) return SDG_ERROR(SDG_ERR_INVALID, "flow3d trainer: NULL argument or no data");
    *out = NULL;
    sdg_flow3d_train_params p = params ? *params : sdg_flow3d_train_default_params();
    if (p.batch < 1 || !(p.lr > 0) || !(p.grad_clip >= 0) || !(p.ema_decay >= 0 && p.ema_decay < 1) ||
        !(p.loss.p_uncond >= 0 && p.loss.p_uncond <= 1) || !(p.loss.prior_std > 0) ||
        !(p.loss.time_skew >= 1 && p.loss.time_skew <= 100) || !(p.loss.pos_loss_tmin >= 0 && p.loss.pos_loss_tmin <= 1))
        return SDG_ERROR(SDG_ERR_INVALID, "flow3d trainer: bad options (batch >= 1, lr > 0, grad_clip >= 0, "
                         "ema_decay in [0, 1), p_uncond in [0, 1], prior_std > 0, time_skew in [1, 100], "
                         "pos_loss_tmin in [0, 1])");
    if (sdg_egnn_get_params(net)->conditional && !prop)
        return SDG_ERROR(SDG_ERR_INVALID, "flow3d trainer: the network is conditioned but no property values were given");
    t = calloc(1, sizeof *t);
    if (!t) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    t->p = p;
    t->net = net;
    sdg_mol3d_fit_params fp = {.name = "flow3d trainer", .batch = p.batch, .lr = p.lr, .grad_clip = p.grad_clip,
                               .ema_decay = p.ema_decay, .seed = p.seed, .loss = flow_loss, .self = t,
                               .on_step = p.on_step, .on_step_params = p.on_step_params, .n_parts = 4};
    SDG_TRY(sdg_mol3d_fit_init(&t->fit, &fp, sdg_egnn_params_store(net), mols,
                               sdg_egnn_get_params(net)->conditional ? prop : NULL, n));
    *out = t;
    t = NULL;
cleanup:
    sdg_flow3d_trainer_free(t);
    return st;
}

sdg_status sdg_flow3d_trainer_epoch(sdg_flow3d_trainer *t, double *loss, float parts[4]) {
    if (!t) return SDG_ERROR(SDG_ERR_INVALID, "flow3d trainer: NULL trainer");
    return sdg_mol3d_fit_epoch(&t->fit, loss, parts);
}
