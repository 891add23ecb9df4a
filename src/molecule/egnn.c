/* The SE(3)-equivariant network of 3-D molecule generation (docs/molecules3d.md "Network"):
 * EGNN-style message passing (Satorras et al. 2021) over the fully connected graph of each
 * molecule, with edge features (bond-order state, radial basis of distances) updated per
 * layer for the bond predictions. Molecules are packed (atoms concatenated, directed edges
 * i != j within a molecule), so every linear map is one GEMM over the whole batch.
 * Invariants (h, e) only ever see distances; positions are updated along normalised
 * differences x_i - x_j, so rotations and translations commute with the network. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "molecule/internal.h"

sdg_egnn_params sdg_egnn_default_params(void) {
    return (sdg_egnn_params){.n_types = 5, .n_charges = 3, .n_bonds = 4, .hidden = 128, .edge_hidden = 32,
                             .message = 64, .layers = 4, .rbf = 16, .rbf_max = 6.0f, .coord_range = 3.0f,
                             .conditional = false, .prop_gauss = 16, .combine = SDG_PROP_COMBINE_SUM, .seed = 1};
}

void sdg_egnn_free(sdg_egnn *m) {
    if (!m) return;
    sdg_params_free(m->params);
    free(m->layers);
    free(m);
}

sdg_params *sdg_egnn_params_store(const sdg_egnn *m) { return m ? m->params : NULL; }
const sdg_egnn_params *sdg_egnn_get_params(const sdg_egnn *m) { return m ? &m->p : NULL; }

sdg_status sdg_egnn_new(const sdg_egnn_params *params, sdg_egnn **out) {
    sdg_status st = SDG_OK;
    sdg_egnn *m = NULL;
    sdg_rng *rng = NULL;
    if (!out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_egnn_new: NULL out");
    sdg_egnn_params p = params ? *params : sdg_egnn_default_params();
    if (p.n_types < 1 || p.n_charges < 1 || p.n_bonds < 2 || p.hidden < 1 || p.edge_hidden < 1 || p.message < 1 ||
        p.layers < 1 || p.rbf < 2 || !(p.rbf_max > 0) || p.prop_gauss < 0 || (unsigned)p.combine > SDG_PROP_COMBINE_CONCAT)
        return SDG_ERROR(SDG_ERR_INVALID, "sdg_egnn_new: bad parameters (sizes must be positive, rbf >= 2, n_bonds >= 2)");
    m = calloc(1, sizeof *m);
    if (!m) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    m->p = p;
    m->layers = calloc((size_t)p.layers, sizeof *m->layers);
    if (!m->layers) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    SDG_TRY(sdg_params_new(&m->params));
    SDG_TRY(sdg_rng_new(p.seed, &rng));
    int64_t H = p.hidden, He = p.edge_hidden, M = p.message, P = p.prop_gauss ? p.prop_gauss : 1;
    sdg_params *ps = m->params;
    SDG_TRY(sdg_linear_init(&m->in, ps, "in", p.n_types + p.n_charges + SDG_EGNN_TIME_FEATS, H, true, rng));
    if (p.conditional) {
        SDG_TRY(sdg_linear_init(&m->prop, ps, "prop", P, H, true, rng));
        if (p.combine == SDG_PROP_COMBINE_CONCAT) SDG_TRY(sdg_linear_init(&m->cat, ps, "prop_cat", 2 * H, H, true, rng));
    }
    SDG_TRY(sdg_linear_init(&m->edge_in, ps, "edge_in", p.n_bonds, He, true, rng));
    for (int l = 0; l < p.layers; l++) {
        sdg_egnn_layer *L = &m->layers[l];
        char nm[64];
#define LIN(f, name, i, o, b)                                                                  \
        snprintf(nm, sizeof nm, "layer%d.%s", l, name);                                        \
        SDG_TRY(sdg_linear_init(&L->f, ps, nm, i, o, b, rng))
        LIN(s, "msg_src", H, M, true);
        LIN(d, "msg_dst", H, M, false);
        LIN(e, "msg_edge", p.rbf + He, M, false);
        LIN(m2, "msg2", M, M, true);
        LIN(x, "coord", M, 1, false);
        LIN(eu, "edge_upd", M, He, true);
        LIN(h1, "node1", H + M, H, true);
        LIN(h2, "node2", H, H, true);
#undef LIN
        snprintf(nm, sizeof nm, "layer%d.norm", l);
        SDG_TRY(sdg_layer_norm_init(&L->ln, ps, nm, H, 1e-5f));
        /* small coordinate steps at initialisation (EGNN's xavier gain 0.001 on this layer) */
        sdg_param_init_uniform(L->x.weight, 1e-3f, rng);
    }
    SDG_TRY(sdg_linear_init(&m->type_out, ps, "type_out", H, p.n_types, true, rng));
    SDG_TRY(sdg_linear_init(&m->charge_out, ps, "charge_out", H, p.n_charges, true, rng));
    SDG_TRY(sdg_linear_init(&m->bond1, ps, "bond1", He + H, He, true, rng));
    SDG_TRY(sdg_linear_init(&m->bond2, ps, "bond2", He, p.n_bonds, true, rng));
    *out = m;
    m = NULL;
cleanup:
    sdg_rng_free(rng);
    sdg_egnn_free(m);
    return st;
}

/* ---- packed graphs ---- */
void sdg_mol3d_graph_destroy(sdg_mol3d_graph *g) {
    if (!g) return;
    free(g->atom_off);
    free(g->mol_of);
    free(g->src);
    free(g->dst);
    free(g->pair);
    free(g->pair_i);
    free(g->pair_j);
    free(g->inv_deg);
    free(g->inv_n);
    memset(g, 0, sizeof *g);
}

sdg_status sdg_mol3d_graph_init(sdg_mol3d_graph *g, const int64_t *n_atoms, int64_t B) {
    if (!g || (!n_atoms && B) || B < 0) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol3d_graph_init: bad argument");
    memset(g, 0, sizeof *g);
    int64_t A = 0, E = 0;
    for (int64_t b = 0; b < B; b++) {
        if (n_atoms[b] < 1) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol3d_graph_init: molecule %lld has %lld atoms",
                                             (long long)b, (long long)n_atoms[b]);
        A += n_atoms[b];
        E += n_atoms[b] * (n_atoms[b] - 1);
    }
    g->B = B, g->A = A, g->E = E, g->P = E / 2;
    g->atom_off = malloc((size_t)(B + 1) * sizeof *g->atom_off);
    g->mol_of = malloc((size_t)(A ? A : 1) * sizeof *g->mol_of);
    g->src = malloc((size_t)(E ? E : 1) * sizeof *g->src);
    g->dst = malloc((size_t)(E ? E : 1) * sizeof *g->dst);
    g->pair = malloc((size_t)(E ? E : 1) * sizeof *g->pair);
    g->pair_i = malloc((size_t)(E ? E : 1) * sizeof *g->pair_i);
    g->pair_j = malloc((size_t)(E ? E : 1) * sizeof *g->pair_j);
    g->inv_deg = malloc((size_t)(A ? A : 1) * sizeof *g->inv_deg);
    g->inv_n = malloc((size_t)(B ? B : 1) * sizeof *g->inv_n);
    if (!g->atom_off || !g->mol_of || !g->src || !g->dst || !g->pair || !g->pair_i || !g->pair_j || !g->inv_deg ||
        !g->inv_n) {
        sdg_mol3d_graph_destroy(g);
        return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    }
    int64_t a = 0, e = 0, p = 0;
    for (int64_t b = 0; b < B; b++) {
        int64_t n = n_atoms[b], o = a;
        g->atom_off[b] = o;
        g->inv_n[b] = 1.0f / (float)n;
        for (int64_t i = 0; i < n; i++, a++) {
            g->mol_of[a] = b;
            g->inv_deg[a] = n > 1 ? 1.0f / (float)(n - 1) : 0.0f;
        }
        /* pairs i < j row by row; edge (i -> j) and (j -> i) share pair p */
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = i + 1; j < n; j++, p++) {
                g->pair_i[p] = o + i;
                g->pair_j[p] = o + j;
                g->src[e] = o + i, g->dst[e] = o + j, g->pair[e++] = p;
                g->src[e] = o + j, g->dst[e] = o + i, g->pair[e++] = p;
            }
    }
    g->atom_off[B] = A;
    return SDG_OK;
}

/* ---- forward ---- */
void sdg_egnn_time_features(float t, float inv_n, float *r) {
    r[0] = t;
    r[9] = 0.1f / inv_n;   /* the size is otherwise invisible to mean aggregation */
    for (int k = 1; k <= 4; k++) {
        r[2 * k - 1] = sinf(3.14159265358979f * (float)k * t);
        r[2 * k] = cosf(3.14159265358979f * (float)k * t);
    }
}

void sdg_egnn_prop_features(const sdg_egnn_params *p, float v, float keep, float *r) {
    int64_t G = p->prop_gauss ? p->prop_gauss : 1;
    for (int64_t k = 0; k < G; k++) {
        /* Gaussian expansion on [-3, 3] (standardised property), or the raw value */
        float c = G > 1 ? -3.0f + 6.0f * (float)k / (float)(G - 1) : 0, w = G > 1 ? 6.0f / (float)(G - 1) : 1;
        /* keep 0 gives exactly 0, also for a missing (NaN) value */
        r[k] = keep == 0 ? 0.0f : keep * (G > 1 ? expf(-0.5f * (v - c) * (v - c) / (w * w)) : v);
    }
}

/* (rows, k) constant tensor from a callback-free fill: per-atom copies of per-molecule data. */
static sdg_tensor *per_atom(sdg_ctx *ctx, const sdg_mol3d_graph *g, const float *per_mol, int64_t k) {
    sdg_tensor *t = sdg_tensor_newv(ctx, 2, g->A, k);
    if (!t) return NULL;
    for (int64_t a = 0; a < g->A; a++) memcpy(t->data + a * k, per_mol + g->mol_of[a] * k, (size_t)k * sizeof(float));
    return t;
}

/* x (A, 3) minus the mean of its molecule. */
sdg_tensor *sdg_mol3d_center(sdg_ctx *ctx, const sdg_mol3d_graph *g, sdg_tensor *x) {
    sdg_tensor *s = sdg_scatter_add(ctx, x, g->mol_of, g->B);
    sdg_tensor *w = sdg_tensor_newv(ctx, 2, g->B, (int64_t)1);
    if (!s || !w) return NULL;
    memcpy(w->data, g->inv_n, (size_t)g->B * sizeof(float));
    return sdg_sub(ctx, x, sdg_gather(ctx, sdg_mul(ctx, s, w), g->mol_of, g->A));
}

sdg_status sdg_egnn_forward(sdg_ctx *ctx, const sdg_egnn *m, const sdg_egnn_input *in, sdg_egnn_output *out) {
    if (!ctx || !m || !in || !in->g || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_egnn_forward: NULL argument");
    const sdg_egnn_params *p = &m->p;
    const sdg_mol3d_graph *g = in->g;
    int64_t A = g->A, E = g->E, R = p->rbf;
    if (!in->x || !in->types || !in->charges || !in->bonds || !in->t)
        return SDG_ERROR(SDG_ERR_INVALID, "sdg_egnn_forward: missing input");
    if (in->x->size != A * 3 || in->types->size != A * p->n_types || in->charges->size != A * p->n_charges ||
        in->bonds->size != g->P * p->n_bonds)
        return SDG_ERROR(SDG_ERR_SHAPE, "sdg_egnn_forward: inputs do not match the graph (A %lld, P %lld)",
                         (long long)A, (long long)g->P);
    if (in->prop && !p->conditional)
        return SDG_ERROR(SDG_ERR_INVALID, "sdg_egnn_forward: a property was given to a model trained without conditioning");
    if (!sdg_ctx_grad_enabled(ctx)) return sdg_egnn_forward_fast(ctx, m, in, out);
    /* time features per molecule, then per atom */
    float *tf = sdg_arena_alloc(sdg_ctx_arena(ctx), (size_t)(g->B ? g->B : 1) * SDG_EGNN_TIME_FEATS * sizeof(float));
    if (!tf) { sdg_ctx_fail(ctx, SDG_ERR_NOMEM); return SDG_ERR_NOMEM; }
    for (int64_t b = 0; b < g->B; b++)
        sdg_egnn_time_features(in->t[b], g->inv_n[b], tf + b * SDG_EGNN_TIME_FEATS);
    sdg_tensor *xs[3] = {in->types, in->charges, per_atom(ctx, g, tf, SDG_EGNN_TIME_FEATS)};
    sdg_tensor *h = sdg_linear_forward(ctx, &m->in, sdg_concat(ctx, xs, 3, 1));
    if (p->conditional && in->prop) {
        int64_t G = p->prop_gauss ? p->prop_gauss : 1;
        float *pf = sdg_arena_alloc(sdg_ctx_arena(ctx), (size_t)(g->B ? g->B : 1) * G * sizeof(float));
        if (!pf) { sdg_ctx_fail(ctx, SDG_ERR_NOMEM); return SDG_ERR_NOMEM; }
        for (int64_t b = 0; b < g->B; b++)
            sdg_egnn_prop_features(p, in->prop[b], in->prop_mask ? in->prop_mask[b] : 1.0f, pf + b * G);
        sdg_tensor *pe = sdg_linear_forward(ctx, &m->prop, per_atom(ctx, g, pf, G));
        if (p->combine == SDG_PROP_COMBINE_SUM) h = sdg_add(ctx, h, pe);
        else if (p->combine == SDG_PROP_COMBINE_MULTIPLY) h = sdg_mul(ctx, h, sdg_scale(ctx, pe, 1.0f, 1.0f));
        else h = sdg_linear_forward(ctx, &m->cat, sdg_concat(ctx, (sdg_tensor *[]){h, pe}, 2, 1));
    }
    /* edges: bond state of the pair, radial basis centres */
    sdg_tensor *e = sdg_linear_forward(ctx, &m->edge_in, sdg_gather(ctx, in->bonds, g->pair, E));
    sdg_tensor *mu = sdg_tensor_newv(ctx, 2, (int64_t)1, R), *invdeg = sdg_tensor_newv(ctx, 2, A, (int64_t)1);
    if (!mu || !invdeg) return sdg_ctx_status(ctx);
    for (int64_t k = 0; k < R; k++) mu->data[k] = p->rbf_max * (float)k / (float)(R - 1);
    memcpy(invdeg->data, g->inv_deg, (size_t)A * sizeof(float));
    float gamma = 0.5f * (float)((R - 1) * (R - 1)) / (p->rbf_max * p->rbf_max);
    sdg_tensor *x = sdg_mol3d_center(ctx, g, in->x), *x_in = x;
    for (int l = 0; l < p->layers; l++) {
        const sdg_egnn_layer *L = &m->layers[l];
        sdg_tensor *diff = sdg_sub(ctx, sdg_gather(ctx, x, g->src, E), sdg_gather(ctx, x, g->dst, E)); /* (E,3) */
        sdg_tensor *d = sdg_norm_last(ctx, diff, 1e-8f);                                                 /* (E,1) */
        sdg_tensor *rbf = sdg_exp(ctx, sdg_scale(ctx, sdg_square(ctx, sdg_sub(ctx, d, mu)), -gamma, 0.0f));
        sdg_tensor *pre = sdg_add(ctx, sdg_add(ctx, sdg_gather(ctx, sdg_linear_forward(ctx, &L->s, h), g->src, E),
                                               sdg_gather(ctx, sdg_linear_forward(ctx, &L->d, h), g->dst, E)),
                                  sdg_linear_forward(ctx, &L->e, sdg_concat(ctx, (sdg_tensor *[]){rbf, e}, 2, 1)));
        sdg_tensor *msg = sdg_silu(ctx, sdg_linear_forward(ctx, &L->m2, sdg_silu(ctx, pre)));          /* (E,M) */
        /* coordinates: x_i += 1/(n-1) sum_j (x_i - x_j) / (d_ij + 1) * coord_range tanh(phi_x(m_ij)) */
        sdg_tensor *w = sdg_scale(ctx, sdg_tanh(ctx, sdg_linear_forward(ctx, &L->x, msg)), p->coord_range, 0.0f);
        sdg_tensor *upd = sdg_mul(ctx, sdg_div(ctx, diff, sdg_scale(ctx, d, 1.0f, 1.0f)), w);
        x = sdg_add(ctx, x, sdg_mul(ctx, sdg_scatter_add(ctx, upd, g->src, A), invdeg));
        /* edges and nodes */
        e = sdg_add(ctx, e, sdg_linear_forward(ctx, &L->eu, msg));
        sdg_tensor *agg = sdg_mul(ctx, sdg_scatter_add(ctx, msg, g->src, A), invdeg);
        sdg_tensor *dh = sdg_linear_forward(ctx, &L->h2, sdg_silu(ctx, sdg_linear_forward(ctx, &L->h1,
                                                          sdg_concat(ctx, (sdg_tensor *[]){h, agg}, 2, 1))));
        h = sdg_layer_norm_forward(ctx, &L->ln, sdg_add(ctx, h, dh));
    }
    if (p->pos_velocity) {   /* x0_hat = x_in + t (x_L - x_in): the displacement is a velocity */
        sdg_tensor *ta = per_atom(ctx, g, in->t, 1);
        if (!ta) return sdg_ctx_status(ctx);
        x = sdg_add(ctx, x_in, sdg_mul(ctx, sdg_sub(ctx, x, x_in), ta));
    }
    out->x0 = sdg_mol3d_center(ctx, g, x);
    out->h = h;
    out->type_logits = sdg_linear_forward(ctx, &m->type_out, h);
    out->charge_logits = sdg_linear_forward(ctx, &m->charge_out, h);
    /* bonds: symmetric in (i, j): both directions' edge features plus h_i + h_j, summed per pair */
    sdg_tensor *hb = sdg_add(ctx, sdg_gather(ctx, h, g->src, E), sdg_gather(ctx, h, g->dst, E));
    sdg_tensor *pe = sdg_scatter_add(ctx, sdg_concat(ctx, (sdg_tensor *[]){e, hb}, 2, 1), g->pair, g->P);
    out->bond_logits = sdg_linear_forward(ctx, &m->bond2, sdg_silu(ctx, sdg_linear_forward(ctx, &m->bond1, pe)));
    return sdg_ctx_status(ctx);
}
