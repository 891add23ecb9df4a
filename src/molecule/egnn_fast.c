/* The EGNN's forward pass without a tape (sampling): sdg_egnn_forward runs this when the grad
 * mode is off. The same network as the op graph in egnn.c, term for term up to float rounding
 * (tests/molecule/test_egnn_fast.c holds them equal to 1e-5 relative on random weights), on
 * raw arrays:
 * - Molecules are independent, so OpenMP takes them one at a time (dynamic), each thread with
 *   its own scratch from the ctx arena, sized for the batch's largest molecule; a molecule is
 *   computed the same way on any thread, so the results do not depend on the thread count.
 *   Nothing is allocated per molecule, and per call only the arena grows (reset per step).
 * - Every linear map is one sdg_gemm_run over the molecule's atoms, pairs or directed edges
 *   (the register-blocked kernel on the calling thread), onto weights transposed per call
 *   (nothing is cached, so a changed weight is always seen; 0.3 M floats against 2 GFLOP for
 *   64 QM9 molecules).
 * - Exact rewrites of the op graph (equal up to rounding):
 *   - the first message layer W_s h_i + W_d h_j + W_e [rbf(d_ij), e_ij] takes W_s h and W_d h
 *     per atom (one product with [W_s | W_d]), the radial part per unordered pair (d_ij = d_ji,
 *     so both directions share it) and only W_e e_ij per directed edge;
 *   - the bond head's first layer on [e_ij + e_ji, 2 (h_i + h_j)] is W e_sum + 2 (W_h h_i +
 *     W_h h_j) with W_h h per atom;
 *   - geometry (differences, distances, radial basis) per pair: the reverse edge has -diff;
 *   - a conditioned molecule's property embedding is one row, added to (or multiplied into,
 *     or concatenated with) each of its atoms.
 * - SiLU, tanh and exp through sdg_unary_run (the op's vectorised kernels, the same bits).
 *   Layer norm: two-pass statistics in double, as the op.
 * - FLOPs: this path's own arithmetic (products 2 M N K, plus about 1 per element-wise
 *   operation), added to the ctx counter as SDG_OP_LINEAR. The rewrites make it about 10 %
 *   less than the op graph counts for QM9-sized molecules. */
#include <math.h>
#include <omp.h>
#include <string.h>
#include "molecule/internal.h"

typedef struct fx_layer {
    float *sd, *sd_b;   /* (H, 2M) [W_s | W_d]^T and its bias (2M): [b_s, 0] */
    float *wr, *we;     /* (R, M) and (He, M): W_e^T split into its radial and edge rows */
    float *m2, *eu;     /* (M, M), (M, He) */
    float *h1, *h2;     /* (H + M, H), (H, H) */
} fx_layer;

typedef struct fx_net {
    const sdg_egnn *m;
    int64_t   H, He, M, R, G, F;   /* F: input features n_types + n_charges + time */
    float    *in, *prop, *cat;     /* (F, H), (G, H), (2H, H) */
    float    *edge, *type, *charge;
    float    *b1e, *b1h, *b2;      /* bond head: (He, He), (H, He), (He, n_bonds) */
    fx_layer *layers;
    float    *mu, gamma;           /* (R) radial basis centres and their width */
} fx_net;

/* A thread's buffers for molecules of up to N atoms (fx_layout). */
typedef struct fx_bufs {
    float *x, *xacc;     /* (N, 3) positions, coordinate update          */
    float *hc;           /* (N, H + M): [h, mean message] (node MLP input) */
    float *sd;           /* (N, 2M) W_s h + b_s, W_d h                    */
    float *t1, *t2;      /* node MLP (N, H), W_h h of the bond head (N, He); input features (N, F) */
    float *row;          /* (3H + G) property features and embedding     */
    float *u;            /* (P, 3) diff / (d + 1) of edge i -> j          */
    float *rbf, *rq;     /* (P, R), (P, M) radial basis, its projection   */
    float *e;            /* (E, He) edge features                         */
    float *pre, *msg;    /* (E, M)                                        */
    float *w;            /* (E) coordinate weights                        */
    float *esum, *b1;    /* (P, He) bond head                             */
} fx_bufs;

/* Floats a thread needs for molecules of up to N atoms; with base, points b's buffers into it. */
static size_t fx_layout(const fx_net *f, int64_t N, float *base, fx_bufs *b) {
    int64_t P = N * (N - 1) / 2, E = 2 * P, H = f->H, M = f->M, He = f->He;
    size_t o = 0;
#define CARVE(field, count) (b->field = base ? base + o : NULL, o += ((size_t)(count) + 15) & ~(size_t)15)
    CARVE(x, 3 * N), CARVE(xacc, 3 * N), CARVE(hc, N * (H + M)), CARVE(sd, 2 * N * M);
    CARVE(t1, N * (H > He ? H : He)), CARVE(t2, N * (H > f->F ? H : f->F)), CARVE(row, 3 * H + f->G);
    CARVE(u, 3 * P), CARVE(rbf, P * f->R), CARVE(rq, P * M), CARVE(e, E * He);
    CARVE(pre, E * M), CARVE(msg, E * M), CARVE(w, E), CARVE(esum, P * He), CARVE(b1, P * He);
#undef CARVE
    return o;
}

/* dst[c ldd + o] = W[o, c0 + c] for c < k: columns c0..c0+k of W (out, in), transposed. */
static void fx_transpose(const sdg_linear *l, int64_t c0, int64_t k, float *dst, int64_t ldd) {
    for (int64_t o = 0; o < l->out; o++)
        for (int64_t c = 0; c < k; c++) dst[c * ldd + o] = l->weight->data[o * l->in + c0 + c];
}

/* The whole weight of l transposed into the arena: (in, out). */
static float *fx_weight(sdg_ctx *ctx, const sdg_linear *l) {
    float *t = sdg_arena_alloc(sdg_ctx_arena(ctx), (size_t)(l->in * l->out) * sizeof(float));
    if (t) fx_transpose(l, 0, l->in, t, l->out);
    return t;
}

static bool fx_prep(sdg_ctx *ctx, const sdg_egnn *m, fx_net *f) {
    const sdg_egnn_params *p = &m->p;
    sdg_arena *ar = sdg_ctx_arena(ctx);
    int64_t H = p->hidden, He = p->edge_hidden, M = p->message, R = p->rbf;
    *f = (fx_net){.m = m, .H = H, .He = He, .M = M, .R = R, .G = p->prop_gauss ? p->prop_gauss : 1,
                  .F = p->n_types + p->n_charges + SDG_EGNN_TIME_FEATS};
    f->mu = sdg_arena_alloc(ar, (size_t)R * sizeof(float));
    if (!f->mu) return false;
    for (int64_t k = 0; k < R; k++) f->mu[k] = p->rbf_max * (float)k / (float)(R - 1);
    f->gamma = 0.5f * (float)((R - 1) * (R - 1)) / (p->rbf_max * p->rbf_max);
    f->in = fx_weight(ctx, &m->in);
    f->edge = fx_weight(ctx, &m->edge_in);
    f->type = fx_weight(ctx, &m->type_out);
    f->charge = fx_weight(ctx, &m->charge_out);
    f->b2 = fx_weight(ctx, &m->bond2);
    f->b1e = sdg_arena_alloc(ar, (size_t)(He * He) * sizeof(float));
    f->b1h = sdg_arena_alloc(ar, (size_t)(H * He) * sizeof(float));
    f->layers = sdg_arena_alloc(ar, (size_t)p->layers * sizeof *f->layers);
    if (!f->in || !f->edge || !f->type || !f->charge || !f->b2 || !f->b1e || !f->b1h || !f->layers) return false;
    fx_transpose(&m->bond1, 0, He, f->b1e, He);
    fx_transpose(&m->bond1, He, H, f->b1h, He);
    if (p->conditional) {
        f->prop = fx_weight(ctx, &m->prop);
        if (!f->prop) return false;
        if (p->combine == SDG_PROP_COMBINE_CONCAT && !(f->cat = fx_weight(ctx, &m->cat))) return false;
    }
    for (int l = 0; l < p->layers; l++) {
        const sdg_egnn_layer *L = &m->layers[l];
        fx_layer *fl = &f->layers[l];
        fl->sd = sdg_arena_alloc(ar, (size_t)(2 * H * M) * sizeof(float));
        fl->sd_b = sdg_arena_alloc(ar, (size_t)(2 * M) * sizeof(float));
        fl->wr = sdg_arena_alloc(ar, (size_t)(R * M) * sizeof(float));
        fl->we = sdg_arena_alloc(ar, (size_t)(He * M) * sizeof(float));
        fl->m2 = fx_weight(ctx, &L->m2);
        fl->eu = fx_weight(ctx, &L->eu);
        fl->h1 = fx_weight(ctx, &L->h1);
        fl->h2 = fx_weight(ctx, &L->h2);
        if (!fl->sd || !fl->sd_b || !fl->wr || !fl->we || !fl->m2 || !fl->eu || !fl->h1 || !fl->h2) return false;
        fx_transpose(&L->s, 0, H, fl->sd, 2 * M);
        fx_transpose(&L->d, 0, H, fl->sd + M, 2 * M);
        memcpy(fl->sd_b, L->s.bias->data, (size_t)M * sizeof(float));
        memset(fl->sd_b + M, 0, (size_t)M * sizeof(float));
        fx_transpose(&L->e, 0, R, fl->wr, M);
        fx_transpose(&L->e, R, He, fl->we, M);
    }
    return true;
}

/* C (rows, N) (+)= A (rows, K) @ B (K, N) (+ bias (N)); B packed (ldb = N). */
static void fx_gemm(int64_t rows, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, const float *bias,
                    float *C, int64_t ldc, sdg_gemm_acc acc, double *fl) {
    sdg_gemm_desc d = {.M = rows, .N = N, .K = K, .A = A, .lda = lda, .B = B, .ldb = N, .C = C, .ldc = ldc,
                       .alpha = 1.0f, .bias = bias, .act = SDG_UNARY_NONE, .acc = acc};
    (void)sdg_gemm_run(&d);   /* a valid descriptor by construction */
    *fl += (2.0 * (double)K + (bias ? 1.0 : 0.0) + (acc != SDG_GEMM_ACC_NONE ? 1.0 : 0.0)) * (double)(rows * N);
}

/* ---- vector helpers (compiled for the baseline ISA and for AVX2, picked at load time) ---- */
#define FX_CLONES __attribute__((target_clones("avx2", "default")))

/* y += (a + b) + c over n floats. */
FX_CLONES static void fx_add3(float *restrict y, const float *restrict a, const float *restrict b,
                              const float *restrict c, int64_t n) {
    for (int64_t k = 0; k < n; k++) y[k] += (a[k] + b[k]) + c[k];
}

/* y += a over n floats. */
FX_CLONES static void fx_acc(float *restrict y, const float *restrict a, int64_t n) {
    for (int64_t k = 0; k < n; k++) y[k] += a[k];
}

/* w[r] = x[r, :] . v for rows r < rows of x (rows, K): eight partial sums per row. */
FX_CLONES static void fx_dots(const float *restrict x, int64_t rows, int64_t K, const float *restrict v,
                              float *restrict w) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * K;
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        int64_t c = 0;
        for (; c + 8 <= K; c += 8)
            for (int l = 0; l < 8; l++) acc[l] += xr[c + l] * v[c + l];
        for (; c < K; c++) acc[0] += xr[c] * v[c];
        w[r] = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    }
}

/* x (n, 3) minus its mean (float sums in atom order, as sdg_mol3d_center). */
static void fx_center(const float *x, int64_t n, float inv_n, float *y) {
    float s[3] = {0, 0, 0};
    for (int64_t i = 0; i < n; i++)
        for (int d = 0; d < 3; d++) s[d] += x[3 * i + d];
    for (int d = 0; d < 3; d++) s[d] *= inv_n;
    for (int64_t i = 0; i < n; i++)
        for (int d = 0; d < 3; d++) y[3 * i + d] = x[3 * i + d] - s[d];
}

/* The atom features of molecule b: h (n, H) into hc (ldc H + M), with its property embedding. */
static void fx_embed(const fx_net *f, const sdg_egnn_input *in, int64_t b, int64_t a0, int64_t n, fx_bufs *s,
                     double *fl) {
    const sdg_egnn *m = f->m;
    const sdg_egnn_params *p = &m->p;
    int64_t H = f->H, HM = H + f->M, F = f->F, NT = p->n_types, NC = p->n_charges;
    float tf[SDG_EGNN_TIME_FEATS];
    sdg_egnn_time_features(in->t[b], in->g->inv_n[b], tf);
    for (int64_t i = 0; i < n; i++) {
        float *r = s->t2 + i * F;
        memcpy(r, in->types->data + (a0 + i) * NT, (size_t)NT * sizeof(float));
        memcpy(r + NT, in->charges->data + (a0 + i) * NC, (size_t)NC * sizeof(float));
        memcpy(r + NT + NC, tf, sizeof tf);
    }
    fx_gemm(n, H, F, s->t2, F, f->in, m->in.bias->data, s->hc, HM, SDG_GEMM_ACC_NONE, fl);
    if (!p->conditional || !in->prop) return;
    float *pf = s->row, *pe = s->row + f->G, *cr = pe + H;
    sdg_egnn_prop_features(p, in->prop[b], in->prop_mask ? in->prop_mask[b] : 1.0f, pf);
    fx_gemm(1, H, f->G, pf, f->G, f->prop, m->prop.bias->data, pe, H, SDG_GEMM_ACC_NONE, fl);
    if (p->combine == SDG_PROP_COMBINE_CONCAT) {   /* Linear([h, pe]) = h W_h^T + (pe W_p^T + b) */
        fx_gemm(1, H, H, pe, H, f->cat + H * H, m->cat.bias->data, cr, H, SDG_GEMM_ACC_NONE, fl);
        fx_gemm(n, H, H, s->hc, HM, f->cat, cr, s->t1, H, SDG_GEMM_ACC_NONE, fl);
        for (int64_t i = 0; i < n; i++) memcpy(s->hc + i * HM, s->t1 + i * H, (size_t)H * sizeof(float));
        return;
    }
    const bool mul = p->combine == SDG_PROP_COMBINE_MULTIPLY;
    for (int64_t i = 0; i < n; i++) {
        float *h = s->hc + i * HM;
        if (mul)
            for (int64_t k = 0; k < H; k++) h[k] *= pe[k] * 1.0f + 1.0f;
        else
            for (int64_t k = 0; k < H; k++) h[k] += pe[k];
    }
    *fl += (mul ? 2.0 : 1.0) * (double)(n * H);
}

/* h <- LayerNorm(h + dh) row by row (h in hc, ldc H + M): two-pass statistics in double. */
static void fx_residual_norm(const sdg_norm_layer *ln, float *hc, int64_t ld, const float *dh, int64_t n, int64_t H,
                             double *fl) {
    const float *w = ln->weight->data, *bias = ln->bias->data;
    for (int64_t i = 0; i < n; i++) {
        float *h = hc + i * ld;
        double s = 0, v = 0;
        for (int64_t k = 0; k < H; k++) s += h[k] += dh[i * H + k];
        double mean = s / (double)H;
        for (int64_t k = 0; k < H; k++) v += ((double)h[k] - mean) * ((double)h[k] - mean);
        double rstd = 1.0 / sqrt(v / (double)H + (double)ln->eps);
        for (int64_t k = 0; k < H; k++) h[k] = (float)(((double)h[k] - mean) * rstd) * w[k] + bias[k];
    }
    *fl += 9.0 * (double)(n * H);
}

/* One message-passing layer on molecule (a0, n atoms, pairs from p0). */
static void fx_layer_run(const fx_net *f, const sdg_egnn_layer *L, const fx_layer *fl, const sdg_mol3d_graph *g,
                         int64_t a0, int64_t n, int64_t p0, fx_bufs *s, double *flops) {
    const sdg_egnn_params *p = &f->m->p;
    int64_t H = f->H, HM = H + f->M, M = f->M, He = f->He, R = f->R, P = n * (n - 1) / 2, E = 2 * P;
    const float inv_deg = n > 1 ? 1.0f / (float)(n - 1) : 0.0f;   /* g->inv_deg of every atom */
    /* geometry per pair (edge i -> j; j -> i has -diff): diff / (d + 1) and the radial basis */
    for (int64_t q = 0; q < P; q++) {
        int64_t i = g->pair_i[p0 + q] - a0, j = g->pair_j[p0 + q] - a0;
        float df[3];
        double acc = 0;
        for (int d = 0; d < 3; d++) {
            df[d] = s->x[3 * i + d] - s->x[3 * j + d];
            acc += (double)df[d] * df[d];
        }
        float dist = (float)sqrt(acc + (double)1e-8f), den = dist * 1.0f + 1.0f;
        for (int d = 0; d < 3; d++) s->u[3 * q + d] = df[d] / den;
        for (int64_t k = 0; k < R; k++) {
            float a = dist - f->mu[k];
            s->rbf[q * R + k] = -f->gamma * (a * a) + 0.0f;
        }
    }
    sdg_unary_run(SDG_UNARY_EXP, s->rbf, s->rbf, P * R);
    *flops += (double)P * (14.0 + 4.0 * (double)R);
    fx_gemm(P, M, R, s->rbf, R, fl->wr, NULL, s->rq, M, SDG_GEMM_ACC_NONE, flops);
    fx_gemm(n, 2 * M, H, s->hc, HM, fl->sd, fl->sd_b, s->sd, 2 * M, SDG_GEMM_ACC_NONE, flops);
    fx_gemm(E, M, He, s->e, He, fl->we, NULL, s->pre, M, SDG_GEMM_ACC_NONE, flops);
    /* pre_ij = silu(W_s h_i + b_s + W_d h_j + W_r rbf_q + W_e e_ij); edge 2q is i -> j */
    for (int64_t q = 0; q < P; q++) {
        int64_t i = g->pair_i[p0 + q] - a0, j = g->pair_j[p0 + q] - a0;
        const float *si = s->sd + i * 2 * M, *sj = s->sd + j * 2 * M, *r = s->rq + q * M;
        fx_add3(s->pre + 2 * q * M, si, sj + M, r, M);
        fx_add3(s->pre + (2 * q + 1) * M, sj, si + M, r, M);
    }
    sdg_unary_run(SDG_UNARY_SILU, s->pre, s->pre, E * M);
    fx_gemm(E, M, M, s->pre, M, fl->m2, L->m2.bias->data, s->msg, M, SDG_GEMM_ACC_NONE, flops);
    sdg_unary_run(SDG_UNARY_SILU, s->msg, s->msg, E * M);
    *flops += 5.0 * (double)(E * M);
    /* x_i += 1/(n-1) sum_j (x_i - x_j) / (d_ij + 1) coord_range tanh(w . m_ij) */
    const float *wx = L->x.weight->data;
    fx_dots(s->msg, E, M, wx, s->w);
    sdg_unary_run(SDG_UNARY_TANH, s->w, s->w, E);
    memset(s->xacc, 0, (size_t)(3 * n) * sizeof(float));
    float *agg = s->hc + H;   /* mean message, columns H.. of hc */
    for (int64_t i = 0; i < n; i++) memset(agg + i * HM, 0, (size_t)M * sizeof(float));
    for (int64_t q = 0; q < P; q++) {   /* edges in order, each summed into its source */
        int64_t i = g->pair_i[p0 + q] - a0, j = g->pair_j[p0 + q] - a0;
        float w0 = p->coord_range * s->w[2 * q] + 0.0f, w1 = p->coord_range * s->w[2 * q + 1] + 0.0f;
        for (int d = 0; d < 3; d++) {
            s->xacc[3 * i + d] += s->u[3 * q + d] * w0;
            s->xacc[3 * j + d] += -s->u[3 * q + d] * w1;
        }
        fx_acc(agg + i * HM, s->msg + 2 * q * M, M);
        fx_acc(agg + j * HM, s->msg + (2 * q + 1) * M, M);
    }
    for (int64_t i = 0; i < n; i++) {
        for (int d = 0; d < 3; d++) s->x[3 * i + d] += s->xacc[3 * i + d] * inv_deg;
        for (int64_t c = 0; c < M; c++) agg[i * HM + c] *= inv_deg;
    }
    *flops += (double)E * (2.0 * (double)M + 10.0 + (double)M) + (double)n * (6.0 + (double)M);
    /* e_ij += W m_ij + b; h = LayerNorm(h + MLP([h, mean_j m_ij])) */
    fx_gemm(E, He, M, s->msg, M, fl->eu, L->eu.bias->data, s->e, He, SDG_GEMM_ACC_INNER, flops);
    fx_gemm(n, H, HM, s->hc, HM, fl->h1, L->h1.bias->data, s->t1, H, SDG_GEMM_ACC_NONE, flops);
    sdg_unary_run(SDG_UNARY_SILU, s->t1, s->t1, n * H);
    fx_gemm(n, H, H, s->t1, H, fl->h2, L->h2.bias->data, s->t2, H, SDG_GEMM_ACC_NONE, flops);
    fx_residual_norm(&L->ln, s->hc, HM, s->t2, n, H, flops);
    *flops += (double)(n * H);
}

/* Molecule b (atoms a0.., pairs p0..): its rows of the four outputs. */
static void fx_molecule(const fx_net *f, const sdg_egnn_input *in, int64_t b, int64_t p0, fx_bufs *s,
                        sdg_egnn_output *out, double *flops) {
    const sdg_egnn *m = f->m;
    const sdg_egnn_params *p = &m->p;
    const sdg_mol3d_graph *g = in->g;
    int64_t a0 = g->atom_off[b], n = g->atom_off[b + 1] - a0, P = n * (n - 1) / 2;
    int64_t H = f->H, HM = H + f->M, He = f->He, NB = p->n_bonds;
    fx_embed(f, in, b, a0, n, s, flops);
    /* edge features from the pair's bond state: both directions start equal */
    fx_gemm(P, He, NB, in->bonds->data + p0 * NB, NB, f->edge, m->edge_in.bias->data, s->e, 2 * He,
            SDG_GEMM_ACC_NONE, flops);
    for (int64_t q = 0; q < P; q++) memcpy(s->e + (2 * q + 1) * He, s->e + 2 * q * He, (size_t)He * sizeof(float));
    fx_center(in->x->data + 3 * a0, n, g->inv_n[b], s->x);
    for (int l = 0; l < p->layers; l++) fx_layer_run(f, &m->layers[l], &f->layers[l], g, a0, n, p0, s, flops);
    if (p->pos_velocity) {   /* x0_hat = x_in + t (x_L - x_in), x_in (centred) rebuilt in the output rows */
        float *xi = out->x0->data + 3 * a0, tb = in->t[b];
        fx_center(in->x->data + 3 * a0, n, g->inv_n[b], xi);
        for (int64_t i = 0; i < 3 * n; i++) s->x[i] = xi[i] + (s->x[i] - xi[i]) * tb;
        *flops += 9.0 * (double)n;
    }
    fx_center(s->x, n, g->inv_n[b], out->x0->data + 3 * a0);
    for (int64_t i = 0; i < n; i++) memcpy(out->h->data + (a0 + i) * H, s->hc + i * HM, (size_t)H * sizeof(float));
    *flops += 12.0 * (double)n;
    fx_gemm(n, p->n_types, H, s->hc, HM, f->type, m->type_out.bias->data, out->type_logits->data + a0 * p->n_types,
            p->n_types, SDG_GEMM_ACC_NONE, flops);
    fx_gemm(n, p->n_charges, H, s->hc, HM, f->charge, m->charge_out.bias->data,
            out->charge_logits->data + a0 * p->n_charges, p->n_charges, SDG_GEMM_ACC_NONE, flops);
    /* bonds: silu(W_e (e_ij + e_ji) + 2 (W_h h_i + W_h h_j) + b), then the last layer */
    fx_gemm(n, He, H, s->hc, HM, f->b1h, NULL, s->t1, He, SDG_GEMM_ACC_NONE, flops);
    for (int64_t q = 0; q < P; q++)
        for (int64_t c = 0; c < He; c++) s->esum[q * He + c] = s->e[2 * q * He + c] + s->e[(2 * q + 1) * He + c];
    fx_gemm(P, He, He, s->esum, He, f->b1e, m->bond1.bias->data, s->b1, He, SDG_GEMM_ACC_NONE, flops);
    for (int64_t q = 0; q < P; q++) {
        int64_t i = g->pair_i[p0 + q] - a0, j = g->pair_j[p0 + q] - a0;
        for (int64_t c = 0; c < He; c++) s->b1[q * He + c] += 2.0f * (s->t1[i * He + c] + s->t1[j * He + c]);
    }
    sdg_unary_run(SDG_UNARY_SILU, s->b1, s->b1, P * He);
    *flops += 5.0 * (double)(P * He);
    fx_gemm(P, NB, He, s->b1, He, f->b2, m->bond2.bias->data, out->bond_logits->data + p0 * NB, NB,
            SDG_GEMM_ACC_NONE, flops);
}

sdg_status sdg_egnn_forward_fast(sdg_ctx *ctx, const sdg_egnn *m, const sdg_egnn_input *in, sdg_egnn_output *out) {
    const sdg_egnn_params *p = &m->p;
    const sdg_mol3d_graph *g = in->g;
    int64_t A = g->A, P = g->P, B = g->B;
    sdg_status st = sdg_ctx_status(ctx);
    if (st != SDG_OK) return st;
    sdg_arena *ar = sdg_ctx_arena(ctx);
    out->x0 = sdg_tensor_newv(ctx, 2, A, (int64_t)3);
    out->type_logits = sdg_tensor_newv(ctx, 2, A, (int64_t)p->n_types);
    out->charge_logits = sdg_tensor_newv(ctx, 2, A, (int64_t)p->n_charges);
    out->bond_logits = sdg_tensor_newv(ctx, 2, P, (int64_t)p->n_bonds);
    out->h = sdg_tensor_newv(ctx, 2, A, (int64_t)p->hidden);
    fx_net f;
    int64_t *p0 = sdg_arena_alloc(ar, (size_t)(B + 1) * sizeof *p0), N = 1;
    if (!out->x0 || !out->type_logits || !out->charge_logits || !out->bond_logits || !out->h || !p0 || !fx_prep(ctx, m, &f)) {
        sdg_ctx_fail(ctx, SDG_ERROR(SDG_ERR_NOMEM, "sdg_egnn_forward: out of arena memory"));
        return SDG_ERR_NOMEM;
    }
    p0[0] = 0;
    for (int64_t b = 0; b < B; b++) {
        int64_t n = g->atom_off[b + 1] - g->atom_off[b];
        p0[b + 1] = p0[b] + n * (n - 1) / 2;
        N = n > N ? n : N;
    }
    const int nt = omp_get_max_threads() < B ? omp_get_max_threads() : (int)(B > 0 ? B : 1);
    fx_bufs none;
    size_t per = fx_layout(&f, N, NULL, &none);
    float *scratch = sdg_arena_alloc(ar, (size_t)nt * per * sizeof(float));
    double *fl = sdg_arena_alloc(ar, (size_t)nt * sizeof *fl);
    if (!scratch || !fl) {
        sdg_ctx_fail(ctx, SDG_ERROR(SDG_ERR_NOMEM, "sdg_egnn_forward: out of arena memory"));
        return SDG_ERR_NOMEM;
    }
    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int t = omp_get_thread_num();
        fx_bufs s;
        fx_layout(&f, N, scratch + (size_t)t * per, &s);
        fl[t] = 0;
        #pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < B; b++) fx_molecule(&f, in, b, p0[b], &s, out, &fl[t]);
    }
    double tot = 0;
    for (int t = 0; t < nt; t++) tot += fl[t];
    sdg_ctx_add_flops(ctx, SDG_OP_LINEAR, tot);
    return SDG_OK;
}
