/* GDSS score networks: ScoreNetworkX, ScoreNetworkX_GMH and ScoreNetworkA, built from nn ops
 * so that the whole forward pass is differentiable (spec: /work/shared/gdss/README.md 2-7).
 *
 * Batching: every GCN is one shared-weight bmm over B N rows (X W) plus one batched
 * (N, N) @ (N, d) product per graph and channel; the q/k/v GCNs of all channels of an
 * attention layer share one X [Wq_0|Wk_0|Wv_0|Wq_1|...] product and one normalised adjacency
 * stack; the heads of all channels are one bmm over B C H items; the edge MLPs run over the
 * B N N rows of the channel-last E tensor. That op path runs with grad mode on (training);
 * with grad mode off (sampling) a fused path on raw arrays computes the same network
 * (forward_fast below; tests/graph/test_gdss_nets.c keeps the two equal). */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "graph/internal.h"

#define KEY_CAP 256

typedef struct gcn {
    sdg_tensor *w;    /* (in, out) */
    sdg_tensor *b;    /* (out)     */
} gcn;

typedef struct mlp {
    int         n;
    sdg_linear *lin;  /* (n) */
} mlp;

typedef struct attn_layer {
    int  din, attn_dim, cin, cout;
    gcn *q, *k, *v;   /* (cin) each */
    mlp  multi_channel, edge;
} attn_layer;

struct sdg_gdss_net {
    sdg_gdss_params hp;
    sdg_params     *store;
    bool            own_store;
    gcn            *gcns;     /* X: (depth) */
    int             n_gcn;
    attn_layer     *layers;   /* A, X_GMH */
    int             n_layers;
    mlp             final;
};

/* ---- parameters ---- */
sdg_gdss_params sdg_gdss_default_params(sdg_gdss_net_kind kind) {
    return (sdg_gdss_params){.kind = kind, .F = 4, .N = 9, .depth = 2, .nhid = 16, .adim = 16,
                             .heads = 4, .c_init = 2, .c_hid = 8, .c_final = 4,
                             .num_layers = 3, .num_linears = 3};
}

const char *sdg_gdss_net_kind_name(sdg_gdss_net_kind kind) {
    switch (kind) {
    case SDG_GDSS_NET_KIND_X: return "ScoreNetworkX";
    case SDG_GDSS_NET_KIND_X_GMH: return "ScoreNetworkX_GMH";
    case SDG_GDSS_NET_KIND_A: return "ScoreNetworkA";
    }
    return "?";
}

sdg_status sdg_gdss_params_check(const sdg_gdss_params *hp) {
    if (!hp) return SDG_ERROR(SDG_ERR_INVALID, "gdss: no parameters");
    if (hp->kind != SDG_GDSS_NET_KIND_X && hp->kind != SDG_GDSS_NET_KIND_X_GMH &&
        hp->kind != SDG_GDSS_NET_KIND_A)
        return SDG_ERROR(SDG_ERR_INVALID, "gdss: unknown network kind %d", (int)hp->kind);
    if (hp->F < 1) return SDG_ERROR(SDG_ERR_INVALID, "gdss: max_feat_num %lld < 1", (long long)hp->F);
    if (hp->N < 1) return SDG_ERROR(SDG_ERR_INVALID, "gdss: max_node_num %lld < 1", (long long)hp->N);
    if (hp->nhid < 1) return SDG_ERROR(SDG_ERR_INVALID, "gdss: nhid %d < 1", hp->nhid);
    if (hp->kind != SDG_GDSS_NET_KIND_A && hp->depth < 1)
        return SDG_ERROR(SDG_ERR_INVALID, "gdss: depth %d < 1", hp->depth);
    if (hp->kind == SDG_GDSS_NET_KIND_X) return SDG_OK;
    if (hp->kind == SDG_GDSS_NET_KIND_X_GMH && hp->depth < 2)
        return SDG_ERROR(SDG_ERR_INVALID, "gdss: ScoreNetworkX_GMH needs depth >= 2, not %d", hp->depth);
    if (hp->kind == SDG_GDSS_NET_KIND_A && hp->num_layers < 2)
        return SDG_ERROR(SDG_ERR_INVALID, "gdss: num_layers %d < 2", hp->num_layers);
    if (hp->heads < 1 || hp->adim < 1 || hp->adim % hp->heads || hp->nhid % hp->heads)
        return SDG_ERROR(SDG_ERR_INVALID, "gdss: adim %d and nhid %d must be positive multiples "
                         "of heads %d", hp->adim, hp->nhid, hp->heads);
    if (hp->c_init < 1 || hp->c_hid < 1 || hp->c_final < 1)
        return SDG_ERROR(SDG_ERR_INVALID, "gdss: channels c_init %d, c_hid %d, c_final %d must "
                         "be >= 1", hp->c_init, hp->c_hid, hp->c_final);
    if (hp->num_linears < 2)
        return SDG_ERROR(SDG_ERR_INVALID, "gdss: num_linears %d < 2", hp->num_linears);
    return SDG_OK;
}

static sdg_status json_int(const char *json, const char *key, int64_t *v) {
    double d = 0;
    int r = gj_number(json, key, &d);
    if (r < 0) return SDG_ERROR(SDG_ERR_FORMAT, "gdss: key '%s' is not a number", key);
    if (r == 1) {
        if (d != floor(d) || fabs(d) > 1e9)
            return SDG_ERROR(SDG_ERR_FORMAT, "gdss: key '%s' = %g is not an integer", key, d);
        *v = (int64_t)d;
    }
    return SDG_OK;
}

static sdg_status json_int32(const char *json, const char *key, int *v) {
    int64_t t = *v;
    sdg_status st = json_int(json, key, &t);
    *v = (int)t;
    return st;
}

sdg_status sdg_gdss_params_from_json(const char *json, sdg_gdss_params *out) {
    sdg_status st = SDG_OK;
    char type[64] = "", conv[16] = "GCN";
    if (!json || !gj_valid(json)) SDG_FAIL(SDG_ERR_FORMAT, "gdss: constructor arguments are not valid JSON");
    if (gj_string(json, "model_type", type, sizeof type) != 1)
        SDG_FAIL(SDG_ERR_FORMAT, "gdss: constructor arguments have no string 'model_type'");
    sdg_gdss_params hp;
    if (strcmp(type, "ScoreNetworkX") == 0) hp = sdg_gdss_default_params(SDG_GDSS_NET_KIND_X);
    else if (strcmp(type, "ScoreNetworkX_GMH") == 0) hp = sdg_gdss_default_params(SDG_GDSS_NET_KIND_X_GMH);
    else if (strcmp(type, "ScoreNetworkA") == 0) hp = sdg_gdss_default_params(SDG_GDSS_NET_KIND_A);
    else SDG_FAIL(SDG_ERR_FORMAT, "gdss: unknown model_type '%s'", type);
    SDG_TRY(json_int(json, "max_feat_num", &hp.F));
    SDG_TRY(json_int(json, "max_node_num", &hp.N));
    SDG_TRY(json_int32(json, "depth", &hp.depth));
    SDG_TRY(json_int32(json, "nhid", &hp.nhid));
    SDG_TRY(json_int32(json, "adim", &hp.adim));
    SDG_TRY(json_int32(json, "num_heads", &hp.heads));
    SDG_TRY(json_int32(json, "c_init", &hp.c_init));
    SDG_TRY(json_int32(json, "c_hid", &hp.c_hid));
    SDG_TRY(json_int32(json, "c_final", &hp.c_final));
    SDG_TRY(json_int32(json, "num_layers", &hp.num_layers));
    SDG_TRY(json_int32(json, "num_linears", &hp.num_linears));
    if (gj_string(json, "conv", conv, sizeof conv) < 0 || strcmp(conv, "GCN") != 0)
        SDG_FAIL(SDG_ERR_FORMAT, "gdss: only conv = \"GCN\" is supported");
    SDG_TRY(sdg_gdss_params_check(&hp));
    *out = hp;
cleanup:
    return st;
}

/* ---- settings (README section 7) ---- */
typedef struct sampler_row {
    const char *dataset, *predictor, *corrector;
    double      snr, scale_eps;
    int         batch;
    bool        ema;
} sampler_row;

static const sampler_row sampler_table[] = {
    {"community_small", "Euler", "Langevin", 0.05, 0.7, 128, false},
    {"ego_small", "Euler", "None", 0.0, 0.0, 128, false},
    {"ENZYMES", "S4", "None", 0.15, 0.7, 64, true},
    {"grid", "Reverse", "Langevin", 0.1, 0.7, 8, true},
    {"QM9", "Reverse", "Langevin", 0.2, 0.7, 10000, false},
    {"ZINC250k", "Reverse", "Langevin", 0.2, 0.9, 10000, false},
};

static sdg_status sde_from_json(const char *json, const char *which, sdg_gdss_sde *sde) {
    sdg_status st = SDG_OK;
    char key[64], type[16];
    double lo = 0, hi = 0, n = 1000;
    snprintf(key, sizeof key, "sde.%s.type", which);
    if (gj_string(json, key, type, sizeof type) != 1) SDG_FAIL(SDG_ERR_FORMAT, "gdss: config has no string '%s'", key);
    if (strcmp(type, "VP") == 0) sde->kind = SDG_GDSS_SDE_KIND_VP;
    else if (strcmp(type, "VE") == 0) sde->kind = SDG_GDSS_SDE_KIND_VE;
    else SDG_FAIL(SDG_ERR_FORMAT, "gdss: '%s' is '%s' (VP or VE supported)", key, type);
    snprintf(key, sizeof key, "sde.%s.beta_min", which);
    if (gj_number(json, key, &lo) != 1) SDG_FAIL(SDG_ERR_FORMAT, "gdss: config has no number '%s'", key);
    snprintf(key, sizeof key, "sde.%s.beta_max", which);
    if (gj_number(json, key, &hi) != 1) SDG_FAIL(SDG_ERR_FORMAT, "gdss: config has no number '%s'", key);
    snprintf(key, sizeof key, "sde.%s.num_scales", which);
    if (gj_number(json, key, &n) < 0 || n < 2 || n != floor(n))
        SDG_FAIL(SDG_ERR_FORMAT, "gdss: '%s' is not an integer >= 2", key);
    sde->lo = lo;   /* VE: sigma_min = beta_min, sigma_max = beta_max (README 7) */
    sde->hi = hi;
    sde->n_steps = (int)n;
cleanup:
    return st;
}

sdg_status sdg_gdss_settings_from_json(const char *json, sdg_gdss_settings *out) {
    sdg_status st = SDG_OK;
    sdg_gdss_settings s;
    memset(&s, 0, sizeof s);
    if (!json || !gj_valid(json)) SDG_FAIL(SDG_ERR_FORMAT, "gdss: model_config is not valid JSON");
    if (gj_string(json, "data.data", s.dataset, sizeof s.dataset) != 1)
        SDG_FAIL(SDG_ERR_FORMAT, "gdss: model_config has no string 'data.data'");
    SDG_TRY(sde_from_json(json, "x", &s.sde_x));
    SDG_TRY(sde_from_json(json, "adj", &s.sde_adj));
    const sampler_row *row = NULL;
    for (size_t i = 0; i < sizeof sampler_table / sizeof *sampler_table; i++)
        if (strcasecmp(sampler_table[i].dataset, s.dataset) == 0) row = &sampler_table[i];
    if (!row) SDG_FAIL(SDG_ERR_NOTFOUND, "gdss: no sampler settings known for dataset '%s'", s.dataset);
    snprintf(s.predictor, sizeof s.predictor, "%s", row->predictor);
    snprintf(s.corrector, sizeof s.corrector, "%s", row->corrector);
    s.snr = row->snr;
    s.scale_eps = row->scale_eps;
    s.eps = 1e-4;
    s.batch = row->batch;
    s.use_ema = row->ema;
    *out = s;
cleanup:
    return st;
}

/* ---- building ---- */
static sdg_status add_param(sdg_params *p, const char *prefix, const char *name, int ndim,
                            const int64_t *shape, sdg_tensor **out) {
    char key[KEY_CAP];
    if (snprintf(key, sizeof key, "%s%s", prefix, name) >= (int)sizeof key)
        return SDG_ERROR(SDG_ERR_INVALID, "gdss: parameter name '%s%s' too long", prefix, name);
    return sdg_params_add(p, key, ndim, shape, out);
}

/* GCN weight (in, out) Glorot-uniform, bias zero; name "<base>.weight" / "<base>.bias". */
static sdg_status gcn_init(gcn *g, sdg_params *p, const char *prefix, const char *base, int64_t in,
                           int64_t out, sdg_rng *rng) {
    sdg_status st = SDG_OK;
    char key[KEY_CAP];
    snprintf(key, sizeof key, "%s.weight", base);
    SDG_TRY(add_param(p, prefix, key, 2, (int64_t[]){in, out}, &g->w));
    if (rng) sdg_param_init_uniform(g->w, (float)sqrt(6.0 / (double)(in + out)), rng);
    snprintf(key, sizeof key, "%s.bias", base);
    SDG_TRY(add_param(p, prefix, key, 1, (int64_t[]){out}, &g->b));
cleanup:
    return st;
}

/* MLP(n, in, hid, out): "<base>.linears.k", torch.nn.Linear init (zeros without an rng). */
static sdg_status mlp_init(mlp *m, sdg_params *p, const char *prefix, const char *base, int n,
                           int64_t in, int64_t hid, int64_t out, sdg_rng *rng) {
    sdg_status st = SDG_OK;
    char key[2 * KEY_CAP];
    m->n = n;
    m->lin = calloc((size_t)n, sizeof *m->lin);
    if (!m->lin) SDG_FAIL(SDG_ERR_NOMEM, "gdss: out of memory");
    for (int k = 0; k < n; k++) {
        int64_t a = k == 0 ? in : hid, b = k == n - 1 ? out : hid;
        snprintf(key, sizeof key, "%s%s.linears.%d", prefix, base, k);
        if (rng) {
            SDG_TRY(sdg_linear_init(&m->lin[k], p, key, a, b, true, rng));
        } else {
            /* sdg_linear_init needs a generator; a fixed one, then zeroed */
            sdg_rng *tmp = NULL;
            SDG_TRY(sdg_rng_new(0, &tmp));
            st = sdg_linear_init(&m->lin[k], p, key, a, b, true, tmp);
            sdg_rng_free(tmp);
            if (st != SDG_OK) goto cleanup;
            memset(m->lin[k].weight->data, 0, (size_t)m->lin[k].weight->size * sizeof(float));
            memset(m->lin[k].bias->data, 0, (size_t)m->lin[k].bias->size * sizeof(float));
        }
    }
cleanup:
    return st;
}

static sdg_status attn_layer_init(attn_layer *L, sdg_params *p, const char *prefix, int l,
                                  const sdg_gdss_params *hp, int din, int attn_dim, int cin,
                                  int cout, sdg_rng *rng) {
    sdg_status st = SDG_OK;
    char base[KEY_CAP];
    L->din = din;
    L->attn_dim = attn_dim;
    L->cin = cin;
    L->cout = cout;
    L->q = calloc((size_t)cin, sizeof *L->q);
    L->k = calloc((size_t)cin, sizeof *L->k);
    L->v = calloc((size_t)cin, sizeof *L->v);
    if (!L->q || !L->k || !L->v) SDG_FAIL(SDG_ERR_NOMEM, "gdss: out of memory");
    for (int c = 0; c < cin; c++) {
        snprintf(base, sizeof base, "layers.%d.attn.%d.gnn_q", l, c);
        SDG_TRY(gcn_init(&L->q[c], p, prefix, base, din, attn_dim, rng));
        snprintf(base, sizeof base, "layers.%d.attn.%d.gnn_k", l, c);
        SDG_TRY(gcn_init(&L->k[c], p, prefix, base, din, attn_dim, rng));
        snprintf(base, sizeof base, "layers.%d.attn.%d.gnn_v", l, c);
        SDG_TRY(gcn_init(&L->v[c], p, prefix, base, din, hp->nhid, rng));
    }
    int hid = 2 * (cin > cout ? cin : cout);
    snprintf(base, sizeof base, "layers.%d.multi_channel", l);
    SDG_TRY(mlp_init(&L->multi_channel, p, prefix, base, 2, (int64_t)cin * hp->nhid, hid, hp->nhid, rng));
    snprintf(base, sizeof base, "layers.%d.mlp", l);
    SDG_TRY(mlp_init(&L->edge, p, prefix, base, hp->num_linears, 2 * cin, hid, cout, rng));
cleanup:
    return st;
}

static void attn_layer_destroy(attn_layer *L) {
    free(L->q);
    free(L->k);
    free(L->v);
    free(L->multi_channel.lin);
    free(L->edge.lin);
}

void sdg_gdss_net_free(sdg_gdss_net *net) {
    if (!net) return;
    for (int l = 0; l < net->n_layers; l++) attn_layer_destroy(&net->layers[l]);
    free(net->layers);
    free(net->gcns);
    free(net->final.lin);
    if (net->own_store) sdg_params_free(net->store);
    free(net);
}

sdg_status sdg_gdss_net_new(const sdg_gdss_params *hp, const char *prefix, sdg_params *store,
                            sdg_rng *rng, sdg_gdss_net **out) {
    sdg_status st = SDG_OK;
    sdg_gdss_net *net = NULL;
    char base[KEY_CAP];
    if (!out) return SDG_ERROR(SDG_ERR_INVALID, "gdss: no output pointer");
    *out = NULL;
    SDG_TRY(sdg_gdss_params_check(hp));
    if (!prefix) prefix = "";
    net = calloc(1, sizeof *net);
    if (!net) SDG_FAIL(SDG_ERR_NOMEM, "gdss: out of memory");
    net->hp = *hp;
    if (store) {
        net->store = store;
    } else {
        SDG_TRY(sdg_params_new(&net->store));
        net->own_store = true;
    }
    sdg_params *p = net->store;
    int64_t F = hp->F, nh = hp->nhid;
    if (hp->kind == SDG_GDSS_NET_KIND_X) {
        net->gcns = calloc((size_t)hp->depth, sizeof *net->gcns);
        if (!net->gcns) SDG_FAIL(SDG_ERR_NOMEM, "gdss: out of memory");
        net->n_gcn = hp->depth;
        for (int l = 0; l < hp->depth; l++) {
            snprintf(base, sizeof base, "layers.%d", l);
            SDG_TRY(gcn_init(&net->gcns[l], p, prefix, base, l == 0 ? F : nh, nh, rng));
        }
    } else {
        int n = hp->kind == SDG_GDSS_NET_KIND_A ? hp->num_layers : hp->depth;
        net->layers = calloc((size_t)n, sizeof *net->layers);
        if (!net->layers) SDG_FAIL(SDG_ERR_NOMEM, "gdss: out of memory");
        for (int l = 0; l < n; l++) {
            int din = l == 0 ? (int)F : hp->nhid, adim = l == 0 ? hp->nhid : hp->adim;
            int cin = l == 0 ? hp->c_init : hp->c_hid, cout = l == n - 1 ? hp->c_final : hp->c_hid;
            net->n_layers = l + 1;
            SDG_TRY(attn_layer_init(&net->layers[l], p, prefix, l, hp, din, adim, cin, cout, rng));
        }
    }
    if (hp->kind == SDG_GDSS_NET_KIND_A) {
        int64_t f = hp->c_init + (int64_t)(hp->num_layers - 1) * hp->c_hid + hp->c_final;
        SDG_TRY(mlp_init(&net->final, p, prefix, "final", 3, f, 2 * f, 1, rng));
    } else {
        int64_t f = F + (int64_t)hp->depth * nh;
        SDG_TRY(mlp_init(&net->final, p, prefix, "final", 3, f, 2 * f, F, rng));
    }
    *out = net;
    net = NULL;
cleanup:
    sdg_gdss_net_free(net);
    return st;
}

sdg_params *sdg_gdss_net_params(const sdg_gdss_net *net) { return net ? net->store : NULL; }
const sdg_gdss_params *sdg_gdss_net_hparams(const sdg_gdss_net *net) { return net ? &net->hp : NULL; }

/* ---- forward ---- */
static sdg_tensor *reshape(sdg_ctx *ctx, sdg_tensor *x, int nd, int64_t d0, int64_t d1, int64_t d2,
                           int64_t d3) {
    return sdg_reshape(ctx, x, nd, (int64_t[]){d0, d1, d2, d3});
}

static sdg_tensor *permute(sdg_ctx *ctx, sdg_tensor *x, int p0, int p1, int p2, int p3) {
    return sdg_permute(ctx, x, (int[]){p0, p1, p2, p3});
}

/* ELU after every linear except the last. x (..., in) -> (..., out) */
static sdg_tensor *mlp_forward(sdg_ctx *ctx, const mlp *m, sdg_tensor *x) {
    for (int k = 0; k < m->n; k++) {
        x = sdg_linear_forward(ctx, &m->lin[k], x);
        if (k < m->n - 1) x = sdg_elu(ctx, x);
    }
    return x;
}

/* Â (h W) + b: ahat (B, N, N), h (B, N, in) -> (B, N, out) */
static sdg_tensor *gcn_forward(sdg_ctx *ctx, const gcn *g, sdg_tensor *ahat, sdg_tensor *h) {
    return sdg_add(ctx, sdg_bmm(ctx, ahat, sdg_bmm(ctx, h, g->w)), g->b);
}

/* (A, A^2, ..., A^c): adj (B, N, N) -> (B, c, N, N), A^{k+1} = A^k A */
static sdg_tensor *adj_powers(sdg_ctx *ctx, sdg_tensor *adj, int c) {
    if (!adj) return NULL;
    int64_t B = adj->shape[0], N = adj->shape[1];
    sdg_tensor *pw[64];
    if (c > 64) return sdg_ctx_fail(ctx, SDG_ERROR(SDG_ERR_INVALID, "gdss: c_init %d > 64", c));
    sdg_tensor *cur = adj;
    for (int k = 0; k < c; k++) {
        if (k > 0) cur = sdg_bmm(ctx, cur, adj);
        pw[k] = reshape(ctx, cur, 4, B, 1, N, N);
        if (!pw[k]) return NULL;
    }
    return c == 1 ? pw[0] : sdg_concat(ctx, pw, c, 1);
}

/* The upper-triangle edge path of the op path (training). When the adjacency is exactly
 * symmetric and needs no gradient (training's perturbed adjacencies are: A and z_A both
 * symmetric), every edge feature is exactly symmetric, so an edge MLP gives Y_ij = Y_ji and
 * the network is the same function of the parameters when the edge and final MLPs run on the
 * N (N + 1) / 2 edges i <= j only (sdg_edges_pack) and their outputs are mirrored
 * (sdg_edges_unpack): Y + Y^T = 2 Y. Parameter gradients are those of that function, with
 * about half the MLP work and no permutes. With an input gradient on adj, or an asymmetric
 * adj, the full path runs (its partial derivatives with respect to single entries of adj
 * differ). */
static bool block_symmetric(const float *adj, int64_t G, int64_t N);

static bool edges_symmetric(const sdg_tensor *adj) {
    return !adj->grad && block_symmetric(adj->data, adj->shape[0], adj->shape[1]);
}

/* An edge MLP over the channels of e (B, f, N, N) -> (B, out, N, N): on all N^2 edges
 * (channel-last rows), or (sym) on the upper triangle, mirrored. */
static sdg_tensor *edge_mlp(sdg_ctx *ctx, const mlp *m, sdg_tensor *e, int64_t B, int64_t N,
                            int64_t f, bool sym) {
    const int64_t out = m->lin[m->n - 1].out;
    if (sym) return sdg_edges_unpack(ctx, mlp_forward(ctx, m, sdg_edges_pack(ctx, e)), N);
    e = reshape(ctx, permute(ctx, e, 0, 2, 3, 1), 2, B * N * N, f, 0, 0);
    return permute(ctx, reshape(ctx, mlp_forward(ctx, m, e), 4, B, N, N, out), 0, 3, 1, 2);
}

/* One AttentionLayer (README 4): x (B, N, din), ac (B, Cin, N, N) -> *x_out (B, N, nhid),
 * returns ac' (B, Cout, N, N); sym: the upper-triangle edge path. */
static sdg_tensor *attn_layer_forward(sdg_ctx *ctx, const sdg_gdss_params *hp, const attn_layer *L,
                                      sdg_tensor *x, sdg_tensor *ac, const sdg_tensor *flags,
                                      bool sym, sdg_tensor **x_out) {
    *x_out = NULL;
    if (!x || !ac) return NULL;
    const int64_t B = x->shape[0], N = x->shape[1], C = L->cin, a = L->attn_dim, nh = hp->nhid;
    const int64_t H = hp->heads, s = a / H, D = 2 * a + nh;
    sdg_tensor *ws[3 * 64], *bs[3 * 64];
    if (C > 64) return sdg_ctx_fail(ctx, SDG_ERROR(SDG_ERR_INVALID, "gdss: more than 64 channels"));
    for (int64_t c = 0; c < C; c++) {
        ws[3 * c] = L->q[c].w, ws[3 * c + 1] = L->k[c].w, ws[3 * c + 2] = L->v[c].w;
        bs[3 * c] = L->q[c].b, bs[3 * c + 1] = L->k[c].b, bs[3 * c + 2] = L->v[c].b;
    }
    /* all q/k/v GCNs of all channels: one X W, then Â_c (X W)_c + b_c */
    sdg_tensor *w = sdg_concat(ctx, ws, (int)(3 * C), 1);                 /* (din, C D) */
    sdg_tensor *b = reshape(ctx, sdg_concat(ctx, bs, (int)(3 * C), 0), 3, C, 1, D, 0);
    sdg_tensor *xw = sdg_bmm(ctx, x, w);                                 /* (B, N, C D) */
    if (C > 1) xw = permute(ctx, reshape(ctx, xw, 4, B, N, C, D), 0, 2, 1, 3);
    else xw = reshape(ctx, xw, 4, B, 1, N, D);                            /* (B, C, N, D) */
    sdg_tensor *ahat = sdg_gcn_norm(ctx, ac);                            /* (B, C, N, N) */
    sdg_tensor *qkv = sdg_add(ctx, sdg_bmm(ctx, ahat, xw), b);           /* (B, C, N, D) */
    /* scores: S_c = (1/H) sum_h tanh(Q_h K_h^T / sqrt(nhid)), symmetrised */
    sdg_tensor *q = sdg_slice(ctx, qkv, 3, 0, a), *k = sdg_slice(ctx, qkv, 3, a, a);
    sdg_tensor *v = sdg_slice(ctx, qkv, 3, 2 * a, nh);                   /* (B, C, N, nhid) */
    /* the 1/sqrt(nhid) goes on Q (N a elements per graph and channel, not H N^2); the 1/H of
     * the head mean and the 1/2 of the symmetrisation are one scale at the end */
    q = sdg_scale(ctx, q, 1.0f / sqrtf((float)nh), 0.0f);
    q = permute(ctx, reshape(ctx, q, 4, B * C, N, H, s), 0, 2, 1, 3);    /* (BC, H, N, s) */
    k = permute(ctx, reshape(ctx, k, 4, B * C, N, H, s), 0, 2, 3, 1);    /* (BC, H, s, N) */
    sdg_tensor *sc = sdg_sum(ctx, sdg_tanh(ctx, sdg_bmm(ctx, q, k)), 1, false);   /* (BC, N, N) */
    sc = sdg_scale(ctx, sdg_add(ctx, sc, sdg_transpose(ctx, sc, 1, 2)), 0.5f / (float)H, 0.0f);
    /* node features: tanh(mask(multi_channel([V_0 | ... | V_{C-1}]))) */
    sdg_tensor *vcat = C > 1 ? permute(ctx, v, 0, 2, 1, 3) : v;          /* (B, N, C, nhid) */
    vcat = reshape(ctx, vcat, 3, B, N, C * nh, 0);
    *x_out = sdg_tanh(ctx, sdg_mask_nodes(ctx, mlp_forward(ctx, &L->multi_channel, vcat), flags));
    /* edges: E = (S_0..S_{C-1}, Ac_0..Ac_{C-1}) channel-last -> mlp -> Y + Y^T, masked */
    sdg_tensor *parts[2] = {reshape(ctx, sc, 4, B, C, N, N), ac};
    sdg_tensor *e = sdg_concat(ctx, parts, 2, 1);                               /* (B, 2C, N, N) */
    sdg_tensor *y = edge_mlp(ctx, &L->edge, e, B, N, 2 * C, sym);               /* (B, Cout, N, N) */
    if (sym) return sdg_mask_adj(ctx, sdg_scale(ctx, y, 2.0f, 0.0f), flags);    /* Y + Y^T = 2 Y */
    return sdg_mask_adj(ctx, sdg_add(ctx, y, sdg_transpose(ctx, y, 2, 3)), flags);
}

static sdg_tensor *forward_x(sdg_ctx *ctx, const sdg_gdss_net *net, sdg_tensor *x, sdg_tensor *adj,
                             const sdg_tensor *flags) {
    const sdg_gdss_params *hp = &net->hp;
    sdg_tensor *hs[65];
    int n = hp->kind == SDG_GDSS_NET_KIND_X ? net->n_gcn : net->n_layers;
    if (n > 64) return sdg_ctx_fail(ctx, SDG_ERROR(SDG_ERR_INVALID, "gdss: depth %d > 64", n));
    hs[0] = x;
    if (hp->kind == SDG_GDSS_NET_KIND_X) {
        sdg_tensor *ahat = sdg_gcn_norm(ctx, adj), *h = x;
        for (int l = 0; l < n; l++) hs[l + 1] = h = sdg_tanh(ctx, gcn_forward(ctx, &net->gcns[l], ahat, h));
    } else {
        sdg_tensor *ac = adj_powers(ctx, adj, hp->c_init), *h = x;
        const bool sym = edges_symmetric(adj);
        for (int l = 0; l < n; l++) {
            ac = attn_layer_forward(ctx, hp, &net->layers[l], h, ac, flags, sym, &h);
            hs[l + 1] = sdg_tanh(ctx, h);
        }
    }
    for (int l = 0; l <= n; l++)
        if (!hs[l]) return NULL;
    return sdg_mask_nodes(ctx, mlp_forward(ctx, &net->final, sdg_concat(ctx, hs, n + 1, 2)), flags);
}

static sdg_tensor *forward_adj(sdg_ctx *ctx, const sdg_gdss_net *net, sdg_tensor *x, sdg_tensor *adj,
                               const sdg_tensor *flags) {
    const sdg_gdss_params *hp = &net->hp;
    const int64_t B = adj->shape[0], N = adj->shape[1];
    sdg_tensor *acs[65];
    int n = net->n_layers;
    if (n > 64) return sdg_ctx_fail(ctx, SDG_ERROR(SDG_ERR_INVALID, "gdss: num_layers %d > 64", n));
    acs[0] = adj_powers(ctx, adj, hp->c_init);
    const bool sym = edges_symmetric(adj);
    sdg_tensor *h = x;
    for (int l = 0; l < n; l++) acs[l + 1] = attn_layer_forward(ctx, hp, &net->layers[l], h, acs[l], flags, sym, &h);
    for (int l = 0; l <= n; l++)
        if (!acs[l]) return NULL;
    const int64_t f = net->final.lin[0].in;
    sdg_tensor *e = sdg_concat(ctx, acs, n + 1, 1);                               /* (B, f, N, N) */
    sdg_tensor *s = reshape(ctx, edge_mlp(ctx, &net->final, e, B, N, f, sym), 3, B, N, N, 0);
    sdg_tensor *offdiag = sdg_tensor_new(ctx, 2, (int64_t[]){N, N});
    if (!offdiag) return NULL;
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < N; j++) offdiag->data[i * N + j] = i == j ? 0.0f : 1.0f;
    return sdg_mask_adj(ctx, sdg_mul(ctx, s, offdiag), flags);
}

/* ---- forward without a tape: fused kernels over blocks of graphs ----
 * The same network as above, computed with sdg_gemm_run on raw arrays instead of ops, for
 * sampling (grad mode off). Graphs are independent, so the batch is cut into blocks of G
 * graphs, one block per OpenMP task, each with its own scratch; G is chosen so that a block
 * has about FAST_COLS edges (QM9: 26 graphs of 81 edges; ENZYMES and grid: one graph).
 * Edge tensors are kept channel-first, (channel, G N^2) with channel stride CS = G N^2, so
 * that every edge MLP is a linear over the channel axis (W (out, in) @ E (in, columns)) run in
 * tiles of FAST_TILE columns that stay in L1/L2, with bias and ELU applied as each tile is
 * stored: no permutes and no full-size hidden tensors. An A network writes every layer's
 * output channels straight into one (f, CS) buffer, which is the final MLP's input (no
 * concat). Per graph and channel: Â (GCN norm), Â (X W)_c + b_c, the heads' tanh(Q_h K_h^T /
 * sqrt(nhid)) summed as they are stored, and the symmetrisation. Work whose result is unused
 * (the last layer's node features in ScoreNetworkA, the last layer's edges in
 * ScoreNetworkX_GMH) is skipped and not counted. Each output element is reduced in the same
 * order whatever the block, so results do not depend on the thread count.
 * FLOPs: 2 M N K per product (real operands only), 1 per element for bias, activation, mask
 * and symmetrisation, 3 per element for the GCN normalisation (as the ops count them). */
#define FAST_COLS 2048
#define FAST_TILE 256
#define FAST_BD_MAX 64

typedef struct fast_flops {
    double mm, lin, act, misc;
} fast_flops;

/* Per-call weight layouts: B operands (in, out) for the row-major node linears; the GCN
 * weights of all channels of a layer side by side. */
typedef struct fast_layer {
    float *wcat, *bcat;   /* (din, C D), (C D): [Wq_0 | Wk_0 | Wv_0 | Wq_1 | ...] */
    float *mc_wt[2];      /* multi_channel linears transposed: (C nhid, hid), (hid, nhid) */
} fast_layer;

typedef struct fast_net {
    const sdg_gdss_net *net;
    int64_t             N, F, G, NN, CS;
    int                 n_layers;
    fast_layer          layers[64];
    float              *final_wt[3];   /* X, X_GMH: final linears transposed (in, out) */
    int64_t             f_edge;        /* channels of the edge buffer */
    int64_t             f_node;        /* columns of the node concat buffer (X, X_GMH) */
    size_t              scratch;       /* floats per block */
    bool                lanes;         /* blocks of LANES graphs across vector lanes (lane_block) */
    int64_t             lane_hid;      /* widest hidden layer of any MLP (lane path scratch) */
} fast_net;

static float *transpose_alloc(sdg_ctx *ctx, const float *w, int64_t rows, int64_t cols) {
    float *t = sdg_arena_alloc(sdg_ctx_arena(ctx), (size_t)(rows * cols) * sizeof(float));
    if (!t) return NULL;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c];
    return t;
}

static sdg_gemm_desc gemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                          const float *B, int64_t ldb, float *C, int64_t ldc) {
    return (sdg_gemm_desc){.M = M, .N = N, .K = K, .A = A, .lda = lda, .B = B, .ldb = ldb,
                           .C = C, .ldc = ldc, .alpha = 1.0f, .act = SDG_UNARY_NONE};
}

/* Â of one graph: a (N, N) -> y (N, N), as sdg_gcn_norm. Row sums in 8 partial sums (so
 * that the compiler vectorises them; the order differs from the op's by rounding only). */
static void fast_gcn_norm(const float *a, int64_t N, float *y, float *s) {
    for (int64_t i = 0; i < N; i++) {   /* the diagonal left out, not subtracted (A^2's is large) */
        const float *r = a + i * N;
        float part[8] = {0}, d = 1.0f;
        int64_t j = 0;
        for (; j + 8 <= N; j += 8)
            for (int64_t q = 0; q < 8; q++) part[q] += j + q == i ? 0.0f : r[j + q];
        for (; j < N; j++) d += j == i ? 0.0f : r[j];
        for (int q = 0; q < 8; q++) d += part[q];
        s[i] = 1.0f / sqrtf(d >= 1.0f ? d : 1.0f);
    }
    for (int64_t i = 0; i < N; i++) {
        const float si = s[i];
        for (int64_t j = 0; j < N; j++) y[i * N + j] = (si * a[i * N + j]) * s[j];
        y[i * N + i] = si * s[i];
    }
}

/* rows x cols floats from src (row stride lds; 0 repeats one row) to dst (stride ldd): an
 * inline loop, not a memcpy call per short row. */
static void copy_rows(int64_t rows, int64_t cols, const float *src, int64_t lds, float *dst,
                      int64_t ldd) {
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) dst[i * ldd + j] = src[i * lds + j];
}

/* Edge columns of one graph into an MLP input row: all N^2 (sym false), or the upper triangle
 * i <= j in row order (sym true: the edge features are exactly symmetric, see fast_block). */
static void pack_edges(const float *src, int64_t N, bool sym, float *dst) {
    if (!sym) {
        memcpy(dst, src, (size_t)(N * N) * sizeof(float));
        return;
    }
    for (int64_t i = 0, k = 0; i < N; i++)
        for (int64_t j = i; j < N; j++) dst[k++] = src[i * N + j];
}

/* Node MLP over rows: x (R, in) at row stride ldx -> y (R, out) at stride ldy, ELU between
 * linears, last_act after the last; h0, h1 (R, hid) scratch. */
static void fast_mlp_rows(const mlp *m, float *const *wt, const float *x, int64_t ldx, int64_t R,
                          float *y, int64_t ldy, sdg_unary last_act, float *h0, float *h1,
                          fast_flops *fl) {
    const float *in = x;
    int64_t ldin = ldx;
    for (int k = 0; k < m->n; k++) {
        const sdg_linear *L = &m->lin[k];
        bool last = k == m->n - 1;
        float *out = last ? y : (k % 2 ? h1 : h0);
        int64_t ldo = last ? ldy : L->out;
        sdg_gemm_desc g = gemm(R, L->out, L->in, in, ldin, wt[k], L->out, out, ldo);
        g.bias = L->bias->data;
        g.act = last ? last_act : SDG_UNARY_ELU;
        sdg_gemm_run(&g);
        fl->lin += (2.0 * (double)L->in + 1.0) * (double)(R * L->out);
        if (g.act != SDG_UNARY_NONE) fl->act += (double)(R * L->out);
        in = out;
        ldin = ldo;
    }
}

/* MLP over columns: x (in, cols) at row stride ldx -> y (out, cols) at stride ldy, in tiles
 * of FAST_TILE columns, ELU between linears, last_act after the last; h0, h1 (hid, FAST_TILE)
 * scratch. */
static void fast_mlp_cols(const mlp *m, const float *x, int64_t ldx, int64_t cols, float *y,
                          int64_t ldy, sdg_unary last_act, float *h0, float *h1, fast_flops *fl) {
    for (int64_t t0 = 0; t0 < cols; t0 += FAST_TILE) {
        const int64_t tc = cols - t0 < FAST_TILE ? cols - t0 : FAST_TILE;
        const float *in = x + t0;
        int64_t ldin = ldx;
        for (int k = 0; k < m->n; k++) {
            const sdg_linear *L = &m->lin[k];
            bool last = k == m->n - 1;
            float *out = last ? y + t0 : (k % 2 ? h1 : h0);
            int64_t ldo = last ? ldy : FAST_TILE;
            sdg_gemm_desc g = gemm(L->out, tc, L->in, L->weight->data, L->in, in, ldin, out, ldo);
            g.bias = L->bias->data;
            g.bias_rows = true;
            g.act = last ? last_act : SDG_UNARY_ELU;
            sdg_gemm_run(&g);
            in = out;
            ldin = ldo;
        }
    }
    for (int k = 0; k < m->n; k++) {
        const sdg_linear *L = &m->lin[k];
        fl->lin += (2.0 * (double)L->in + 1.0) * (double)(cols * L->out);
        if (k < m->n - 1 || last_act != SDG_UNARY_NONE) fl->act += (double)(cols * L->out);
    }
}

/* Per-block scratch, carved in order from one region. */
typedef struct fast_scratch {
    float *p;
} fast_scratch;

static float *take(fast_scratch *s, size_t n) {
    float *r = s->p;
    s->p += (n + 15) & ~(size_t)15;   /* keep 64-byte alignment */
    return r;
}

/* One AttentionLayer (README 4) for the G graphs of a block.
 * x (G N, din) at stride ldx; ac_in: channel c of graph g at ac_in + c CS + g NN.
 * xo (G N, nhid) at stride ldxo, or NULL (not needed); ac_out likewise, or NULL. */
static void fast_attn(const fast_net *fn, int l, int64_t G, bool sym_in, const float *x,
                      int64_t ldx, const float *ac_in, float *xo, int64_t ldxo, float *ac_out,
                      const float *flags, fast_scratch sc, fast_flops *fl) {
    const sdg_gdss_params *hp = &fn->net->hp;
    const attn_layer *L = &fn->net->layers[l];
    const fast_layer *W = &fn->layers[l];
    const int64_t N = fn->N, NN = fn->NN, CS = fn->CS, C = L->cin, a = L->attn_dim;
    const int64_t nh = hp->nhid, H = hp->heads, s = a / H, D = 2 * a + nh, GN = G * N;
    const int64_t hid = L->multi_channel.lin[0].out;
    float *xw = take(&sc, (size_t)(GN * C * D)), *ahat = take(&sc, (size_t)NN);
    float *dinv = take(&sc, (size_t)N), *qkv = take(&sc, (size_t)(N * D));
    /* small graphs: the heads as one block-diagonal product (zeros not counted), so that a
     * row of scores fills vectors (QM9: 36 columns instead of 4 products of 9) */
    const bool bd = N * H <= FAST_BD_MAX;
    float *kt = take(&sc, (size_t)(bd ? a * H * N : a * N)), *tt = take(&sc, (size_t)(N * H * N));
    float *vcat = take(&sc, (size_t)(GN * C * nh));
    if (bd) memset(kt, 0, (size_t)(a * H * N) * sizeof(float));
    /* edge MLP columns per graph: N^2, or N (N + 1) / 2 when the input is symmetric */
    const int64_t CP = sym_in ? N * (N + 1) / 2 : NN, PS = G * CP;
    float *ein = take(&sc, (size_t)(2 * C * CS)), *sfull = take(&sc, (size_t)NN);
    float *y = take(&sc, (size_t)(L->cout * CS));
    int64_t hmax = 2 * (C > L->cout ? C : L->cout);
    if (hid > hmax) hmax = hid;
    float *h0 = take(&sc, (size_t)(hmax * (GN > FAST_TILE ? GN : FAST_TILE)));
    float *h1 = take(&sc, (size_t)(hmax * (GN > FAST_TILE ? GN : FAST_TILE)));
    /* all q/k/v GCNs of all channels: X [Wq_0|Wk_0|Wv_0|...] once for the block */
    sdg_gemm_desc g = gemm(GN, C * D, L->din, x, ldx, W->wcat, C * D, xw, C * D);
    sdg_gemm_run(&g);
    fl->mm += 2.0 * (double)(GN * C * D * L->din);
    const float alpha = 1.0f / sqrtf((float)nh), sym = 0.5f / (float)H;
    for (int64_t b = 0; b < G; b++)
        for (int64_t c = 0; c < C; c++) {
            const float *A = ac_in + c * CS + b * NN;
            fast_gcn_norm(A, N, ahat, dinv);
            if (!ac_out) {   /* only V is needed */
                g = gemm(N, nh, N, ahat, N, xw + b * N * C * D + c * D + 2 * a, C * D,
                         qkv + 2 * a, D);
                g.bias = W->bcat + c * D + 2 * a;
                sdg_gemm_run(&g);
                copy_rows(N, nh, qkv + 2 * a, D, vcat + b * N * C * nh + c * nh, C * nh);
                continue;
            }
            copy_rows(N, D, W->bcat + c * D, 0, qkv, D);   /* rows start as the bias */
            g = gemm(N, D, N, ahat, N, xw + b * N * C * D + c * D, C * D, qkv, D);
            g.acc = SDG_GEMM_ACC_INNER;
            sdg_gemm_run(&g);
            float *S = sfull;
            bool packed = false;   /* scores already in ein */
            if (bd) {   /* all heads in one product: T (N, H N) = Q [K_0^T 0 ..; 0 K_1^T ..] */
                for (int64_t h = 0; h < H; h++)   /* K_h^T into its diagonal block */
                    for (int64_t j = 0; j < N; j++) {
                        const float *kr = qkv + j * D + a + h * s;
                        float *o = kt + h * s * H * N + h * N + j;
                        for (int64_t k = 0; k < s; k++) o[k * H * N] = kr[k];
                    }
                g = gemm(N, H * N, a, qkv, D, kt, H * N, tt, H * N);
                g.alpha = alpha;
                g.act = SDG_UNARY_TANH;
                sdg_gemm_run(&g);
                if (sym_in) {   /* head sums, symmetrisation and packing in one pass */
                    float *P = ein + c * PS + b * CP;
                    for (int64_t i = 0, k = 0; i < N; i++)
                        for (int64_t j = i; j < N; j++, k++) {
                            const float *u = tt + i * H * N + j, *w = tt + j * H * N + i;
                            float x0 = u[0], x1 = w[0];
                            for (int64_t h = 1; h < H; h++) {
                                x0 += u[h * N];
                                x1 += w[h * N];
                            }
                            P[k] = (x0 + x1) * sym;
                        }
                    packed = true;
                } else {
                    for (int64_t i = 0; i < N; i++) {   /* head sum, contiguous inner loops */
                        const float *t = tt + i * H * N;
                        float *Si = S + i * N;
                        for (int64_t j = 0; j < N; j++) Si[j] = t[j];
                        for (int64_t h = 1; h < H; h++)
                            for (int64_t j = 0; j < N; j++) Si[j] += t[h * N + j];
                    }
                }
            } else {
                for (int64_t k = 0; k < a; k++)
                    for (int64_t j = 0; j < N; j++) kt[k * N + j] = qkv[j * D + a + k];
                for (int64_t h = 0; h < H; h++) {   /* S (+)= tanh(alpha Q_h K_h^T) */
                    g = gemm(N, N, s, qkv + h * s, D, kt + h * s * N, N, S, N);
                    g.alpha = alpha;
                    g.act = SDG_UNARY_TANH;
                    g.acc = h ? SDG_GEMM_ACC_OUTER : SDG_GEMM_ACC_NONE;
                    sdg_gemm_run(&g);
                }
            }
            if (!packed) {
                for (int64_t i = 0; i < N; i++)
                    for (int64_t j = 0; j <= i; j++) {
                        float v = (S[i * N + j] + S[j * N + i]) * sym;
                        S[i * N + j] = S[j * N + i] = v;
                    }
                pack_edges(S, N, sym_in, ein + c * PS + b * CP);
            }
            if (xo)
                copy_rows(N, nh, qkv + 2 * a, D, vcat + b * N * C * nh + c * nh, C * nh);
            pack_edges(A, N, sym_in, ein + (C + c) * PS + b * CP);
        }
    fl->misc += 3.0 * (double)(G * C * NN);                          /* GCN norm */
    if (ac_out) {
        fl->mm += 2.0 * (double)(G * C) * (double)(NN * D + NN * a); /* Â (XW), Q K^T */
        fl->lin += (double)(G * C * N * D);                          /* GCN bias */
        fl->act += (double)(G * C * H * NN);                         /* tanh */
        fl->misc += (double)(G * C) * (double)(H + 1) * (double)NN;  /* head sum, sym */
    } else {
        fl->mm += 2.0 * (double)(G * C) * (double)(NN * nh);
        fl->lin += (double)(G * C * N * nh);
    }
    if (xo) {   /* tanh(mask(multi_channel(vcat))) */
        fast_mlp_rows(&L->multi_channel, W->mc_wt, vcat, C * nh, GN, xo, ldxo, SDG_UNARY_TANH,
                      h0, h1, fl);
        for (int64_t r = 0; r < GN; r++)
            for (int64_t k = 0; k < nh; k++) xo[r * ldxo + k] *= flags[r];
        fl->misc += (double)(GN * nh);
    }
    if (ac_out) {   /* Ac' = mask_adj(Y + Y^T), Y = mlp(S_0.., Ac_0..) over the channel axis */
        fast_mlp_cols(&L->edge, ein, PS, PS, y, PS, SDG_UNARY_NONE, h0, h1, fl);
        for (int64_t co = 0; co < L->cout; co++)
            for (int64_t b = 0; b < G; b++) {
                const float *Y = y + co * PS + b * CP, *m = flags + b * N;
                float *O = ac_out + co * CS + b * NN;
                if (sym_in) {   /* Y_ij = Y_ji bit for bit: Y_ij + Y_ji = Y_ij + Y_ij */
                    for (int64_t i = 0, k = 0; i < N; i++)
                        for (int64_t j = i; j < N; j++, k++)
                            O[i * N + j] = O[j * N + i] = (Y[k] + Y[k]) * (m[i] * m[j]);
                    continue;
                }
                for (int64_t i = 0; i < N; i++)   /* symmetric: each pair once */
                    for (int64_t j = 0; j <= i; j++)
                        O[i * N + j] = O[j * N + i] = (Y[i * N + j] + Y[j * N + i]) * (m[i] * m[j]);
            }
        fl->misc += 3.0 * (double)(L->cout * PS);
    }
}

/* Floats of scratch one fast_attn call takes (as carved above). */
static size_t fast_attn_scratch(const fast_net *fn, int l, int64_t G) {
    const sdg_gdss_params *hp = &fn->net->hp;
    const attn_layer *L = &fn->net->layers[l];
    const int64_t N = fn->N, C = L->cin, a = L->attn_dim, nh = hp->nhid, D = 2 * a + nh;
    const int64_t GN = G * N, hid = L->multi_channel.lin[0].out;
    int64_t hmax = 2 * (C > L->cout ? C : L->cout);
    if (hid > hmax) hmax = hid;
    const int64_t kt = N * hp->heads <= FAST_BD_MAX ? a * hp->heads * N : a * N;
    const int64_t parts[] = {GN * C * D, fn->NN, N, N * D, kt, N * hp->heads * N, GN * C * nh, 2 * C * fn->CS, fn->NN,
                             L->cout * fn->CS, hmax * (GN > FAST_TILE ? GN : FAST_TILE),
                             hmax * (GN > FAST_TILE ? GN : FAST_TILE)};
    size_t n = 0;
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) n += ((size_t)parts[i] + 15) & ~(size_t)15;
    return n;
}

/* (A, A^2, ..., A^c) of the block's graphs into channels 0..c-1 of e. */
static void fast_powers(const fast_net *fn, int64_t G, const float *adj, int c, float *e,
                        fast_flops *fl) {
    const int64_t N = fn->N, NN = fn->NN, CS = fn->CS;
    for (int64_t b = 0; b < G; b++) {
        memcpy(e + b * NN, adj + b * NN, (size_t)NN * sizeof(float));
        for (int k = 1; k < c; k++) {
            sdg_gemm_desc g = gemm(N, N, N, e + (k - 1) * CS + b * NN, N, adj + b * NN, N,
                                   e + k * CS + b * NN, N);
            sdg_gemm_run(&g);
        }
    }
    fl->mm += 2.0 * (double)(G * (c - 1)) * (double)(NN * N);
}

/* True when every adjacency of the block equals its transpose bit for bit (sampling's always
 * do). Then every edge feature is exactly symmetric: A^2 (the same products in the same
 * order), the symmetrised scores, each layer's Y + Y^T; and an edge MLP computes each column
 * alone in the same instruction sequence, so its outputs for (i, j) and (j, i) are equal bit
 * for bit. The edge and final MLPs then run on the upper triangle only, with the same results
 * as on all N^2 edges (about half their work, which is not counted). */
static bool block_symmetric(const float *adj, int64_t G, int64_t N) {
    for (int64_t b = 0; b < G; b++)
        for (int64_t i = 0; i < N; i++)
            for (int64_t j = i + 1; j < N; j++) {
                uint32_t u, v;
                memcpy(&u, adj + (b * N + i) * N + j, sizeof u);
                memcpy(&v, adj + (b * N + j) * N + i, sizeof v);
                if (u != v) return false;
            }
    return true;
}

/* ---- small graphs (QM9): one graph per vector lane ----
 * ScoreNetworkA on graphs of at most LANE_N_MAX nodes, when the whole batch is exactly
 * symmetric (sampling's always is) and c_init <= 2: blocks of LANES graphs stored lane-minor.
 * A node tensor is (feature, N LANES) with graph g's node n in column n LANES + g; an edge
 * tensor is (channel, P LANES) over the P = N (N + 1) / 2 upper-triangle edges (i <= j, row
 * order), edge k of graph g in column k LANES + g (every edge feature is then exactly
 * symmetric: see block_symmetric). The per-graph work (GCN normalisation, Â X, the heads'
 * Q K^T, head sums, symmetrisation, masks) is element-wise across lanes, one full vector per
 * operation however small N is, and every linear is one product over all the block's columns,
 * W (out, in) @ (in, columns), by sdg_gemm_run with bias and activation fused. The GCN is
 * computed as (Â X) W + b: the same maths as Â (X W) + b, other rounding, fewer flops
 * (din < 2 attn_dim + nhid). Each lane runs its graph through the same instruction sequence,
 * so results do not depend on the block, the lane or the thread count. Padding lanes (a last,
 * partial block) hold zeros; their work is not counted. */
#define LANES 16
#define LANE_N_MAX 16
typedef float lane_v __attribute__((vector_size(LANES * sizeof(float))));
typedef int32_t lane_i __attribute__((vector_size(LANES * sizeof(int32_t))));
#define LV(p) (*(lane_v *)(p))   /* p 64-byte aligned: take() and offsets of LANES floats */
#define LANE_FN __attribute__((target_clones("avx512f", "avx2", "default")))

/* tanh x as a rational function of x (Eigen's ptanh_float: odd degree 13 over even degree
 * 6 on |x| <= 7.9053, where tanh rounds to +-1), with +, *, / only: max abs error 4e-7
 * against tanh in double on [-10, 10], about the vectorised tanh's; NaN stays NaN. In place
 * on one vector (by pointer: vectors passed by value change the ABI without AVX-512). */
static inline __attribute__((always_inline)) void lane_tanh(float *v) {
    lane_v x = LV(v);
    const lane_v hi = (lane_v){0} + 7.90531110763549805f, lo = -hi;
    lane_i up = x > hi, dn = x < lo;   /* -1 where true */
    x = (lane_v)((up & (lane_i)hi) | (~up & (lane_i)x));
    x = (lane_v)((dn & (lane_i)lo) | (~dn & (lane_i)x));
    const lane_v x2 = x * x;
    lane_v p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    lane_v q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    LV(v) = x * p / q;
}

/* A block of nv <= LANES graphs into lanes (padding lanes zero): flags -> mn (N LANES),
 * x (nv N, F) -> xl (F, N LANES), adj (nv N, N) -> af (N N, LANES). */
static inline __attribute__((always_inline)) void
lane_load(int64_t nv, int64_t N, int64_t F, const float *x, const float *adj, const float *flags,
          float *mn, float *xl, float *af) {
    const int64_t NL = N * LANES, NN = N * N;
    for (int64_t g = 0; g < LANES; g++) {
        const bool in = g < nv;
        for (int64_t n = 0; n < N; n++) {
            mn[n * LANES + g] = in ? flags[g * N + n] : 0.0f;
            for (int64_t f = 0; f < F; f++) xl[f * NL + n * LANES + g] = in ? x[(g * N + n) * F + f] : 0.0f;
        }
        for (int64_t k = 0; k < NN; k++) af[k * LANES + g] = in ? adj[g * NN + k] : 0.0f;
    }
}

/* A block's counts (made for all LANES lanes) added for its nv real graphs. */
static void lane_flops_add(fast_flops *to, const fast_flops *fl, int64_t nv) {
    const double w = (double)nv / LANES;
    to->mm += w * fl->mm;
    to->lin += w * fl->lin;
    to->act += w * fl->act;
    to->misc += w * fl->misc;
}

/* Â of one channel: a (entry (i, j) at row kidx[i N + j] of LANES floats: the packed upper
 * triangle or the full matrix) -> ahat (N N, LANES), as fast_gcn_norm. */
static inline __attribute__((always_inline)) void
lane_gcn_norm(const float *a, int64_t N, const int *kidx, float *ahat) {
    float s[LANE_N_MAX * LANES] __attribute__((aligned(64)));
    for (int64_t i = 0; i < N; i++) {   /* d_i = 1 + sum_{j != i} a_ij, clamped below at 1 */
        lane_v d = {0};
        d += 1.0f;
        for (int64_t j = 0; j < N; j++)
            if (j != i) d += LV(a + kidx[i * N + j] * LANES);
        for (int g = 0; g < LANES; g++) s[i * LANES + g] = 1.0f / sqrtf(d[g] >= 1.0f ? d[g] : 1.0f);
    }
    for (int64_t i = 0; i < N; i++) {
        const lane_v si = LV(s + i * LANES);
        for (int64_t j = 0; j < N; j++)
            LV(ahat + (i * N + j) * LANES) =
                i == j ? si * si : (si * LV(a + kidx[i * N + j] * LANES)) * LV(s + j * LANES);
    }
}

/* ax (din, N LANES) = Â x for x (din, N LANES): four features at a time (independent sums). */
static inline __attribute__((always_inline)) void
lane_ahat_x(const float *ahat, const float *x, int64_t din, int64_t N, float *ax) {
    const int64_t NL = N * LANES;
    for (int64_t i = 0; i < N; i++) {
        int64_t d = 0;
        for (; d + 4 <= din; d += 4) {
            lane_v a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
            for (int64_t j = 0; j < N; j++) {
                const lane_v w = LV(ahat + (i * N + j) * LANES);
                const float *xj = x + d * NL + j * LANES;
                a0 += w * LV(xj);
                a1 += w * LV(xj + NL);
                a2 += w * LV(xj + 2 * NL);
                a3 += w * LV(xj + 3 * NL);
            }
            LV(ax + d * NL + i * LANES) = a0;
            LV(ax + (d + 1) * NL + i * LANES) = a1;
            LV(ax + (d + 2) * NL + i * LANES) = a2;
            LV(ax + (d + 3) * NL + i * LANES) = a3;
        }
        for (; d < din; d++) {
            lane_v acc = {0};
            for (int64_t j = 0; j < N; j++)
                acc += LV(ahat + (i * N + j) * LANES) * LV(x + d * NL + j * LANES);
            LV(ax + d * NL + i * LANES) = acc;
        }
    }
}

/* One AttentionLayer (README 4) on a block: x (din, N LANES) at row stride NL; ac_in (C, PL)
 * -> xo (nhid, NL) or NULL (unused), ac_out (cout, PL). */
static inline __attribute__((always_inline)) void
lane_attn(const fast_net *fn, int l, const int *kidx, const float *x, int64_t din,
          const float *ac_in, float *xo, float *ac_out, const float *mn, const float *maske,
          fast_scratch sc, fast_flops *fl) {
    const sdg_gdss_params *hp = &fn->net->hp;
    const attn_layer *L = &fn->net->layers[l];
    const fast_layer *W = &fn->layers[l];
    const int64_t N = fn->N, NN = fn->NN, P = N * (N + 1) / 2, PL = P * LANES, NL = N * LANES;
    const int64_t C = L->cin, a = L->attn_dim, nh = hp->nhid, H = hp->heads, s = a / H;
    const int64_t D = 2 * a + nh;
    float *ahat = take(&sc, (size_t)(NN * LANES)), *ax = take(&sc, (size_t)(din * NL));
    float *qk = take(&sc, (size_t)(2 * a * NL)), *tt = take(&sc, (size_t)(H * NN * LANES));
    float *vcat = take(&sc, (size_t)(C * nh * NL)), *ein = take(&sc, (size_t)(2 * C * PL));
    float *h0 = take(&sc, (size_t)(fn->lane_hid * FAST_TILE)), *h1 = take(&sc, (size_t)(fn->lane_hid * FAST_TILE));
    const float alpha = 1.0f / sqrtf((float)nh), sym = 0.5f / (float)H;
    for (int64_t c = 0; c < C; c++) {
        lane_gcn_norm(ac_in + c * PL, N, kidx, ahat);
        lane_ahat_x(ahat, x, din, N, ax);
        /* [Q | K]^T (2a, NL) = W_qk^T (Â X)^T + b, V^T likewise into its rows of vcat */
        sdg_gemm_desc g = gemm(2 * a, NL, din, W->wcat + c * D, C * D, ax, NL, qk, NL);
        g.ta = true;
        g.bias = W->bcat + c * D;
        g.bias_rows = true;
        sdg_gemm_run(&g);
        if (xo) {
            g = gemm(nh, NL, din, W->wcat + c * D + 2 * a, C * D, ax, NL, vcat + c * nh * NL, NL);
            g.ta = true;
            g.bias = W->bcat + c * D + 2 * a;
            g.bias_rows = true;
            sdg_gemm_run(&g);
        }
        for (int64_t h = 0; h < H; h++)   /* T_h = tanh(alpha Q_h K_h^T) */
            for (int64_t i = 0; i < N; i++)
                for (int64_t j = 0; j < N; j++) {
                    lane_v acc = {0};
                    for (int64_t k = h * s; k < (h + 1) * s; k++)
                        acc += LV(qk + k * NL + i * LANES) * LV(qk + (a + k) * NL + j * LANES);
                    float *t = tt + ((h * N + i) * N + j) * LANES;
                    LV(t) = alpha * acc;
                    lane_tanh(t);
                }
        for (int64_t i = 0; i < N; i++)   /* head sums and symmetrisation, packed */
            for (int64_t j = i; j < N; j++) {
                lane_v x0 = LV(tt + (i * N + j) * LANES), x1 = LV(tt + (j * N + i) * LANES);
                for (int64_t h = 1; h < H; h++) {
                    x0 += LV(tt + ((h * N + i) * N + j) * LANES);
                    x1 += LV(tt + ((h * N + j) * N + i) * LANES);
                }
                LV(ein + c * PL + kidx[i * N + j] * LANES) = (x0 + x1) * sym;
            }
        memcpy(ein + (C + c) * PL, ac_in + c * PL, (size_t)PL * sizeof(float));
    }
    /* counts for all LANES graphs, like fast_mlp_cols's; the caller scales them */
    fl->misc += (3.0 * (double)(C * NN) + (double)C * (double)(H + 1) * (double)NN) * LANES;
    fl->mm += 2.0 * (double)C * (double)(NN * din + N * din * 2 * a + NN * a) * LANES;
    fl->lin += (double)(C * N * 2 * a) * LANES;
    fl->act += (double)(C * H * NN) * LANES;
    if (xo) {   /* tanh(mask(multi_channel([V_0 | ...]))) */
        fl->mm += 2.0 * (double)(C * N * din * nh) * LANES;
        fl->lin += (double)(C * N * nh) * LANES;
        fast_mlp_cols(&L->multi_channel, vcat, NL, NL, xo, NL, SDG_UNARY_TANH, h0, h1, fl);
        for (int64_t d = 0; d < nh; d++)
            for (int64_t n = 0; n < N; n++) LV(xo + d * NL + n * LANES) *= LV(mn + n * LANES);
        fl->misc += (double)(N * nh) * LANES;
    }
    /* Ac' = mask_adj(Y + Y^T) = 2 Y masked (Y exactly symmetric), Y = mlp(S_0.., Ac_0..) */
    fast_mlp_cols(&L->edge, ein, PL, PL, ac_out, PL, SDG_UNARY_NONE, h0, h1, fl);
    for (int64_t co = 0; co < L->cout; co++)
        for (int64_t k = 0; k < P; k++) {
            lane_v y = LV(ac_out + co * PL + k * LANES);
            LV(ac_out + co * PL + k * LANES) = (y + y) * LV(maske + k * LANES);
        }
    fl->misc += 3.0 * (double)(L->cout * P) * LANES;
}

/* Floats of scratch one lane block takes (as carved in lane_block and lane_attn). */
static size_t lane_block_scratch(const fast_net *fn) {
    const sdg_gdss_params *hp = &fn->net->hp;
    const int64_t N = fn->N, NN = fn->NN, PL = N * (N + 1) / 2 * LANES, NL = N * LANES;
    const int64_t nh = hp->nhid, hid = fn->lane_hid * FAST_TILE;
    size_t n = (size_t)(fn->f_edge * PL + PL + NL + fn->F * NL + 2 * nh * NL + NN * LANES +
                        2 * hid + PL), attn = 0;
    for (int l = 0; l < fn->n_layers; l++) {
        const attn_layer *L = &fn->net->layers[l];
        const int64_t din = L->din, a = L->attn_dim, C = L->cin;
        size_t t = (size_t)(NN * LANES + din * NL + 2 * a * NL + hp->heads * NN * LANES +
                            C * nh * NL + 2 * C * PL + 2 * hid);
        if (t > attn) attn = t;
    }
    return n + attn + 16 * 16;   /* + alignment of each part, at most 15 floats per take */
}

/* True when the lane path applies: small graphs, and ScoreNetworkX, or ScoreNetworkA with A
 * and A^2 as its powers on an exactly symmetric batch. */
static bool lane_ok(const sdg_gdss_net *net, const float *adj, int64_t B, int64_t N) {
    if (N > LANE_N_MAX) return false;
    if (net->hp.kind == SDG_GDSS_NET_KIND_X) return true;
    return net->hp.kind == SDG_GDSS_NET_KIND_A && net->hp.c_init <= 2 && block_symmetric(adj, B, N);
}

/* One block of nv <= LANES graphs: x (nv N, F), adj (nv N, N), flags (nv N) -> out (nv N, N). */
LANE_FN static void lane_block(const fast_net *fn, int64_t nv, const float *x, const float *adj,
                               const float *flags, float *out, float *scratch, fast_flops *flo) {
    const sdg_gdss_net *net = fn->net;
    const int64_t N = fn->N, F = fn->F, NN = fn->NN, P = N * (N + 1) / 2, PL = P * LANES;
    const int64_t NL = N * LANES, nh = net->hp.nhid;
    fast_scratch sc = {scratch};
    fast_flops fl = {0};
    int kidx[LANE_N_MAX * LANE_N_MAX];
    for (int64_t i = 0, k = 0; i < N; i++)
        for (int64_t j = i; j < N; j++, k++) kidx[i * N + j] = kidx[j * N + i] = (int)k;
    float *e = take(&sc, (size_t)(fn->f_edge * PL)), *maske = take(&sc, (size_t)PL);
    float *mn = take(&sc, (size_t)NL), *x0 = take(&sc, (size_t)(F * NL));
    float *xa = take(&sc, (size_t)(nh * NL)), *xb = take(&sc, (size_t)(nh * NL));
    float *af = take(&sc, (size_t)(NN * LANES)), *sv = take(&sc, (size_t)PL);
    float *h0 = take(&sc, (size_t)(fn->lane_hid * FAST_TILE)), *h1 = take(&sc, (size_t)(fn->lane_hid * FAST_TILE));
    lane_load(nv, N, F, x, adj, flags, mn, x0, af);
    for (int64_t i = 0; i < N; i++)   /* edge masks, A, A^2 = A A (exactly symmetric) */
        for (int64_t j = i; j < N; j++) {
            const int64_t k = kidx[i * N + j];
            LV(maske + k * LANES) = LV(mn + i * LANES) * LV(mn + j * LANES);
            LV(e + k * LANES) = LV(af + (i * N + j) * LANES);
            if (net->hp.c_init < 2) continue;
            lane_v acc = {0};
            for (int64_t m = 0; m < N; m++)
                acc += LV(af + (i * N + m) * LANES) * LV(af + (m * N + j) * LANES);
            LV(e + PL + k * LANES) = acc;
        }
    if (net->hp.c_init == 2) fl.mm += 2.0 * (double)(NN * N) * LANES;
    const float *xin = x0;
    int64_t din = F, off = 0;
    for (int l = 0; l < net->n_layers; l++) {
        const attn_layer *L = &net->layers[l];
        float *xo = l == net->n_layers - 1 ? NULL : l % 2 ? xb : xa;
        lane_attn(fn, l, kidx, xin, din, e + off * PL, xo, e + (off + L->cin) * PL, mn, maske, sc, &fl);
        xin = xo;
        din = nh;
        off += L->cin;
    }
    fast_mlp_cols(&net->final, e, PL, PL, sv, PL, SDG_UNARY_NONE, h0, h1, &fl);
    for (int64_t g = 0; g < nv; g++) {   /* s (1 - I), masked, out of the lanes */
        float *O = out + g * NN;
        for (int64_t i = 0; i < N; i++)
            for (int64_t j = 0; j < N; j++) {
                const int64_t k = kidx[i * N + j] * LANES + g;
                O[i * N + j] = i == j ? 0.0f : sv[k] * maske[k];
            }
    }
    fl.misc += 3.0 * (double)NN * LANES;
    lane_flops_add(flo, &fl, nv);
}

/* Floats of scratch one ScoreNetworkX lane block takes (as carved in lane_block_x). */
static size_t lane_x_scratch(const fast_net *fn) {
    const int64_t N = fn->N, NL = N * LANES, nh = fn->net->hp.nhid;
    const int64_t din = fn->F > nh ? fn->F : nh;
    return (size_t)(2 * N * NL + NL + fn->f_node * NL + din * NL + fn->F * NL +
                    2 * fn->lane_hid * FAST_TILE) + 16 * 8;
}

/* ScoreNetworkX (README 3) on a block of nv <= LANES graphs: x (nv N, F), adj (nv N, N),
 * flags (nv N) -> out (nv N, F). Â from the full adjacency (no symmetry needed); the GCNs as
 * tanh((Â h) W + b), the final MLP over the block's columns of [X | h_1 | ...]. */
LANE_FN static void lane_block_x(const fast_net *fn, int64_t nv, const float *x, const float *adj,
                                 const float *flags, float *out, float *scratch, fast_flops *flo) {
    const sdg_gdss_net *net = fn->net;
    const int64_t N = fn->N, F = fn->F, NN = fn->NN, NL = N * LANES, nh = net->hp.nhid;
    fast_scratch sc = {scratch};
    fast_flops fl = {0};
    int kidx[LANE_N_MAX * LANE_N_MAX];
    for (int k = 0; k < NN; k++) kidx[k] = k;   /* the full matrix, row-major */
    float *af = take(&sc, (size_t)(NN * LANES)), *ahat = take(&sc, (size_t)(NN * LANES));
    float *mn = take(&sc, (size_t)NL), *cat = take(&sc, (size_t)(fn->f_node * NL));
    float *ax = take(&sc, (size_t)((F > nh ? F : nh) * NL)), *y = take(&sc, (size_t)(F * NL));
    float *h0 = take(&sc, (size_t)(fn->lane_hid * FAST_TILE)), *h1 = take(&sc, (size_t)(fn->lane_hid * FAST_TILE));
    lane_load(nv, N, F, x, adj, flags, mn, cat, af);
    lane_gcn_norm(af, N, kidx, ahat);
    fl.misc += 3.0 * (double)NN * LANES;
    for (int l = 0; l < net->n_gcn; l++) {   /* h_l = tanh((Â h_{l-1}) W + b) into cat */
        const int64_t din = l == 0 ? F : nh;
        const float *h = cat + (l == 0 ? 0 : F + (l - 1) * nh) * NL;
        lane_ahat_x(ahat, h, din, N, ax);
        sdg_gemm_desc g = gemm(nh, NL, din, net->gcns[l].w->data, nh, ax, NL, cat + (F + l * nh) * NL, NL);
        g.ta = true;
        g.bias = net->gcns[l].b->data;
        g.bias_rows = true;
        g.act = SDG_UNARY_TANH;
        sdg_gemm_run(&g);
        fl.mm += 2.0 * (double)(NN * din + N * din * nh) * LANES;
        fl.lin += (double)(N * nh) * LANES;
        fl.act += (double)(N * nh) * LANES;
    }
    fast_mlp_cols(&net->final, cat, NL, NL, y, NL, SDG_UNARY_NONE, h0, h1, &fl);
    for (int64_t g = 0; g < nv; g++)   /* mask_x, out of the lanes */
        for (int64_t n = 0; n < N; n++)
            for (int64_t f = 0; f < F; f++)
                out[(g * N + n) * F + f] = y[f * NL + n * LANES + g] * mn[n * LANES + g];
    fl.misc += (double)(N * F) * LANES;
    lane_flops_add(flo, &fl, nv);
}

/* One block of G graphs: x (G N, F), adj (G N, N), flags (G N) -> out (G N, F or N). */
static void fast_block(const fast_net *fn, int64_t G, const float *x, const float *adj,
                       const float *flags, float *out, float *scratch, fast_flops *fl) {
    const sdg_gdss_net *net = fn->net;
    const sdg_gdss_params *hp = &net->hp;
    const int64_t N = fn->N, F = fn->F, NN = fn->NN, CS = fn->CS, GN = G * N, nh = hp->nhid;
    fast_scratch sc = {scratch};
    if (hp->kind == SDG_GDSS_NET_KIND_X) {   /* README 3 */
        const int64_t f = fn->f_node;
        float *ahat = take(&sc, (size_t)(G * NN)), *dinv = take(&sc, (size_t)N);
        float *cat = take(&sc, (size_t)(GN * f)), *hw = take(&sc, (size_t)(GN * nh));
        float *h0 = take(&sc, (size_t)(GN * 2 * f)), *h1 = take(&sc, (size_t)(GN * 2 * f));
        for (int64_t b = 0; b < G; b++) fast_gcn_norm(adj + b * NN, N, ahat + b * NN, dinv);
        fl->misc += 3.0 * (double)(G * NN);
        for (int64_t r = 0; r < GN; r++) memcpy(cat + r * f, x + r * F, (size_t)F * sizeof(float));
        for (int l = 0; l < net->n_gcn; l++) {
            const int64_t din = l == 0 ? F : nh, c_in = l == 0 ? 0 : F + (l - 1) * nh;
            sdg_gemm_desc g = gemm(GN, nh, din, cat + c_in, f, net->gcns[l].w->data, nh, hw, nh);
            sdg_gemm_run(&g);
            for (int64_t b = 0; b < G; b++) {
                g = gemm(N, nh, N, ahat + b * NN, N, hw + b * N * nh, nh,
                         cat + b * N * f + F + l * nh, f);
                g.bias = net->gcns[l].b->data;
                g.act = SDG_UNARY_TANH;
                sdg_gemm_run(&g);
            }
            fl->mm += 2.0 * (double)(GN * nh) * (double)(din + N);
            fl->lin += (double)(GN * nh);
            fl->act += (double)(GN * nh);
        }
        fast_mlp_rows(&net->final, fn->final_wt, cat, f, GN, out, F, SDG_UNARY_NONE, h0, h1, fl);
    } else if (hp->kind == SDG_GDSS_NET_KIND_X_GMH) {   /* README 6 */
        const int64_t f = fn->f_node;
        float *e = take(&sc, (size_t)(fn->f_edge * CS)), *cat = take(&sc, (size_t)(GN * f));
        const bool sym = block_symmetric(adj, G, N);
        float *xa = take(&sc, (size_t)(GN * nh)), *xb = take(&sc, (size_t)(GN * nh));
        float *h0 = take(&sc, (size_t)(GN * 2 * f)), *h1 = take(&sc, (size_t)(GN * 2 * f));
        fast_powers(fn, G, adj, hp->c_init, e, fl);
        for (int64_t r = 0; r < GN; r++) memcpy(cat + r * f, x + r * F, (size_t)F * sizeof(float));
        const float *xin = x;
        int64_t ldx = F, off = 0;
        for (int l = 0; l < net->n_layers; l++) {
            const attn_layer *L = &net->layers[l];
            float *xo = l % 2 ? xb : xa;
            bool last = l == net->n_layers - 1;
            fast_attn(fn, l, G, sym, xin, ldx, e + off * CS, xo, nh,
                      last ? NULL : e + (off + L->cin) * CS, flags, sc, fl);
            for (int64_t r = 0; r < GN; r++)
                sdg_unary_run(SDG_UNARY_TANH, xo + r * nh, cat + r * f + F + l * nh, nh);
            fl->act += (double)(GN * nh);
            xin = xo;
            ldx = nh;
            off += L->cin;
        }
        fast_mlp_rows(&net->final, fn->final_wt, cat, f, GN, out, F, SDG_UNARY_NONE, h0, h1, fl);
    } else {   /* README 5 */
        float *e = take(&sc, (size_t)(fn->f_edge * CS));
        float *xa = take(&sc, (size_t)(GN * nh)), *xb = take(&sc, (size_t)(GN * nh));
        const int64_t f = fn->f_edge;
        float *h0 = take(&sc, (size_t)(2 * f * FAST_TILE)), *h1 = take(&sc, (size_t)(2 * f * FAST_TILE));
        float *sv = take(&sc, (size_t)CS), *ep = take(&sc, (size_t)(f * CS));
        const bool sym = block_symmetric(adj, G, N);
        const int64_t CP = sym ? N * (N + 1) / 2 : NN, PS = G * CP;
        fast_powers(fn, G, adj, hp->c_init, e, fl);
        const float *xin = x;
        int64_t ldx = F, off = 0;
        for (int l = 0; l < net->n_layers; l++) {
            const attn_layer *L = &net->layers[l];
            float *xo = l % 2 ? xb : xa;
            bool last = l == net->n_layers - 1;
            fast_attn(fn, l, G, sym, xin, ldx, e + off * CS, last ? NULL : xo, nh,
                      e + (off + L->cin) * CS, flags, sc, fl);
            xin = xo;
            ldx = nh;
            off += L->cin;
        }
        for (int64_t k = 0; k < f; k++)
            for (int64_t b = 0; b < G; b++) pack_edges(e + k * CS + b * NN, N, sym, ep + k * PS + b * CP);
        fast_mlp_cols(&net->final, ep, PS, PS, sv, PS, SDG_UNARY_NONE, h0, h1, fl);
        for (int64_t b = 0; b < G; b++) {   /* s (1 - I), masked */
            const float *m = flags + b * N, *S = sv + b * CP;
            float *O = out + b * NN;
            if (sym) {
                for (int64_t i = 0, k = 0; i < N; i++)
                    for (int64_t j = i; j < N; j++, k++)
                        O[i * N + j] = O[j * N + i] = i == j ? 0.0f : S[k] * (m[i] * m[j]);
                continue;
            }
            for (int64_t i = 0; i < N; i++)
                for (int64_t j = 0; j < N; j++)
                    O[i * N + j] = i == j ? 0.0f : S[i * N + j] * (m[i] * m[j]);
        }
        fl->misc += 3.0 * (double)(G * NN);
        return;
    }
    for (int64_t r = 0; r < GN; r++)   /* X, X_GMH: mask_x */
        for (int64_t k = 0; k < F; k++) out[r * F + k] *= flags[r];
    fl->misc += (double)(GN * F);
}

/* Floats of scratch one block of G graphs takes. */
static size_t fast_block_scratch(const fast_net *fn, int64_t G) {
    const sdg_gdss_params *hp = &fn->net->hp;
    const int64_t N = fn->N, NN = fn->NN, GN = G * N, nh = hp->nhid;
    size_t n = 0, attn = 0;
#define FAST_ADD(x) n += ((size_t)(x) + 15) & ~(size_t)15
    if (hp->kind == SDG_GDSS_NET_KIND_X) {
        FAST_ADD(G * NN); FAST_ADD(N); FAST_ADD(GN * fn->f_node); FAST_ADD(GN * nh);
        FAST_ADD(GN * 2 * fn->f_node); FAST_ADD(GN * 2 * fn->f_node);
        return n;
    }
    FAST_ADD(fn->f_edge * fn->CS);
    if (hp->kind == SDG_GDSS_NET_KIND_X_GMH) {
        FAST_ADD(GN * fn->f_node); FAST_ADD(GN * nh); FAST_ADD(GN * nh);
        FAST_ADD(GN * 2 * fn->f_node); FAST_ADD(GN * 2 * fn->f_node);
    } else {
        FAST_ADD(GN * nh); FAST_ADD(GN * nh);
        FAST_ADD(2 * fn->f_edge * FAST_TILE); FAST_ADD(2 * fn->f_edge * FAST_TILE); FAST_ADD(fn->CS);
        FAST_ADD(fn->f_edge * fn->CS);
    }
#undef FAST_ADD
    for (int l = 0; l < fn->n_layers; l++) {
        size_t t = fast_attn_scratch(fn, l, G);
        if (t > attn) attn = t;
    }
    return n + attn;
}

static int64_t mlp_hidden(const mlp *m) {
    int64_t w = 0;
    for (int k = 0; k + 1 < m->n; k++)
        if (m->lin[k].out > w) w = m->lin[k].out;
    return w;
}

static bool fast_prepare(sdg_ctx *ctx, const sdg_gdss_net *net, int64_t B, int64_t N, bool lanes,
                         fast_net *fn) {
    const sdg_gdss_params *hp = &net->hp;
    memset(fn, 0, sizeof *fn);
    fn->net = net;
    fn->N = N;
    fn->F = hp->F;
    fn->NN = N * N;
    int nt = omp_get_max_threads();
    int64_t G = (FAST_COLS + fn->NN - 1) / fn->NN, per = (B + nt - 1) / nt;
    if (G > per) G = per;
    if (G < 1) G = 1;
    fn->G = G;
    fn->CS = G * fn->NN;
    fn->n_layers = net->n_layers;
    if (net->n_layers > 64) return false;
    if (hp->kind != SDG_GDSS_NET_KIND_A) {
        fn->f_node = hp->F + (int64_t)hp->depth * hp->nhid;
        for (int k = 0; k < 3; k++) {
            const sdg_linear *L = &net->final.lin[k];
            if (!(fn->final_wt[k] = transpose_alloc(ctx, L->weight->data, L->out, L->in))) return false;
        }
    }
    if (hp->kind != SDG_GDSS_NET_KIND_X) {
        fn->f_edge = hp->c_init;
        for (int l = 0; l < net->n_layers; l++) fn->f_edge += net->layers[l].cout;
    }
    sdg_arena *ar = sdg_ctx_arena(ctx);
    for (int l = 0; l < net->n_layers; l++) {
        const attn_layer *L = &net->layers[l];
        fast_layer *W = &fn->layers[l];
        const int64_t C = L->cin, a = L->attn_dim, nh = hp->nhid, D = 2 * a + nh, din = L->din;
        W->wcat = sdg_arena_alloc(ar, (size_t)(din * C * D) * sizeof(float));
        W->bcat = sdg_arena_alloc(ar, (size_t)(C * D) * sizeof(float));
        if (!W->wcat || !W->bcat) return false;
        for (int64_t c = 0; c < C; c++) {
            const gcn *parts[3] = {&L->q[c], &L->k[c], &L->v[c]};
            int64_t col = c * D;
            for (int p = 0; p < 3; p++) {
                int64_t w = parts[p]->w->shape[1];
                for (int64_t i = 0; i < din; i++)
                    memcpy(W->wcat + i * C * D + col, parts[p]->w->data + i * w, (size_t)w * sizeof(float));
                memcpy(W->bcat + col, parts[p]->b->data, (size_t)w * sizeof(float));
                col += w;
            }
        }
        for (int k = 0; k < 2; k++) {
            const sdg_linear *M = &L->multi_channel.lin[k];
            if (!(W->mc_wt[k] = transpose_alloc(ctx, M->weight->data, M->out, M->in))) return false;
        }
    }
    fn->lanes = lanes;
    if (lanes) {
        fn->G = LANES;
        fn->lane_hid = mlp_hidden(&net->final);
        for (int l = 0; l < net->n_layers; l++) {
            int64_t w = mlp_hidden(&net->layers[l].edge), v = mlp_hidden(&net->layers[l].multi_channel);
            if (w > fn->lane_hid) fn->lane_hid = w;
            if (v > fn->lane_hid) fn->lane_hid = v;
        }
        fn->scratch = hp->kind == SDG_GDSS_NET_KIND_X ? lane_x_scratch(fn) : lane_block_scratch(fn);
        return true;
    }
    fn->scratch = fast_block_scratch(fn, G);
    return true;
}

/* The whole batch: blocks of fn.G graphs over the OpenMP threads. */
static sdg_tensor *forward_fast(sdg_ctx *ctx, const sdg_gdss_net *net, sdg_tensor *x,
                                sdg_tensor *adj, const sdg_tensor *flags) {
    const int64_t B = x->shape[0], N = x->shape[1], F = x->shape[2];
    const bool is_a = net->hp.kind == SDG_GDSS_NET_KIND_A;
    const int64_t each = is_a ? N * N : N * F;
    fast_net *fn = sdg_arena_alloc(sdg_ctx_arena(ctx), sizeof *fn);
    sdg_tensor *out = sdg_tensor_new(ctx, 3, (int64_t[]){B, N, is_a ? N : F});
    if (!fn || !out) return sdg_ctx_fail(ctx, SDG_ERR_NOMEM);
    if (B == 0) return out;
    if (!fast_prepare(ctx, net, B, N, lane_ok(net, adj->data, B, N), fn))
        return sdg_ctx_fail(ctx, SDG_ERR_NOMEM);
    const int64_t G = fn->G, blocks = (B + G - 1) / G;
    const int nt = omp_get_max_threads() < blocks ? omp_get_max_threads() : (int)blocks;
    float *scratch = sdg_arena_alloc(sdg_ctx_arena(ctx), (size_t)nt * fn->scratch * sizeof(float));
    fast_flops *fls = sdg_arena_alloc(sdg_ctx_arena(ctx), (size_t)nt * sizeof *fls);
    if (!scratch || !fls) return sdg_ctx_fail(ctx, SDG_ERR_NOMEM);
    memset(fls, 0, (size_t)nt * sizeof *fls);
    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int t = omp_get_thread_num();
        float *mine = scratch + (size_t)t * fn->scratch;
        #pragma omp for schedule(dynamic, 1)
        for (int64_t k = 0; k < blocks; k++) {
            const int64_t b0 = k * G, nb = B - b0 < G ? B - b0 : G;
            if (fn->lanes && net->hp.kind == SDG_GDSS_NET_KIND_X)
                lane_block_x(fn, nb, x->data + b0 * N * F, adj->data + b0 * N * N, flags->data + b0 * N,
                             out->data + b0 * each, mine, &fls[t]);
            else if (fn->lanes)
                lane_block(fn, nb, x->data + b0 * N * F, adj->data + b0 * N * N, flags->data + b0 * N,
                           out->data + b0 * each, mine, &fls[t]);
            else
                fast_block(fn, nb, x->data + b0 * N * F, adj->data + b0 * N * N, flags->data + b0 * N,
                           out->data + b0 * each, mine, &fls[t]);
        }
    }
    fast_flops tot = {0};
    for (int t = 0; t < nt; t++) {
        tot.mm += fls[t].mm;
        tot.lin += fls[t].lin;
        tot.act += fls[t].act;
        tot.misc += fls[t].misc;
    }
    sdg_ctx_add_flops(ctx, SDG_OP_BMM, tot.mm);
    sdg_ctx_add_flops(ctx, SDG_OP_LINEAR, tot.lin);
    sdg_ctx_add_flops(ctx, SDG_OP_UNARY, tot.act);
    sdg_ctx_add_flops(ctx, SDG_OP_MASK, tot.misc);
    return out;
}

sdg_tensor *sdg_gdss_net_forward(sdg_ctx *ctx, const sdg_gdss_net *net, sdg_tensor *x,
                                 sdg_tensor *adj, const sdg_tensor *flags) {
    if (!ctx || sdg_ctx_status(ctx) != SDG_OK || !x || !adj || !flags) return NULL;
    char sx[64], sa[64], sf[64];
    if (!net) return sdg_ctx_fail(ctx, SDG_ERROR(SDG_ERR_INVALID, "gdss: no network"));
    const sdg_gdss_params *hp = &net->hp;
    if (x->ndim != 3 || adj->ndim != 3 || flags->ndim != 2 || x->shape[2] != hp->F ||
        adj->shape[0] != x->shape[0] || adj->shape[1] != x->shape[1] ||
        adj->shape[2] != x->shape[1] || flags->shape[0] != x->shape[0] ||
        flags->shape[1] != x->shape[1])
        return sdg_ctx_fail(ctx, SDG_ERROR(SDG_ERR_SHAPE, "gdss %s: x %s, adj %s, flags %s are not "
                                           "(B, N, %lld), (B, N, N), (B, N)",
                                           sdg_gdss_net_kind_name(hp->kind),
                                           sdg_tensor_shape_str(x, sx, sizeof sx),
                                           sdg_tensor_shape_str(adj, sa, sizeof sa),
                                           sdg_tensor_shape_str(flags, sf, sizeof sf),
                                           (long long)hp->F));
    if (!sdg_ctx_grad_enabled(ctx)) return forward_fast(ctx, net, x, adj, flags);
    if (hp->kind == SDG_GDSS_NET_KIND_A) return forward_adj(ctx, net, x, adj, flags);
    return forward_x(ctx, net, x, adj, flags);
}

/* ---- a model: both networks in one store ---- */
void sdg_gdss_model_free(sdg_gdss_model *m) {
    if (!m) return;
    sdg_gdss_net_free(m->net_x);
    sdg_gdss_net_free(m->net_adj);
    sdg_params_free(m->params);
    sdg_gdss_flags_destroy(&m->flags);
    free(m);
}

sdg_status sdg_gdss_model_new(const sdg_gdss_params *hp_x, const sdg_gdss_params *hp_adj,
                              const sdg_gdss_settings *settings, sdg_rng *rng,
                              sdg_gdss_model **out) {
    sdg_status st = SDG_OK;
    sdg_gdss_model *m = NULL;
    if (!out || !hp_x || !hp_adj) return SDG_ERROR(SDG_ERR_INVALID, "gdss: missing argument");
    *out = NULL;
    if (hp_x->kind == SDG_GDSS_NET_KIND_A || hp_adj->kind != SDG_GDSS_NET_KIND_A)
        SDG_FAIL(SDG_ERR_INVALID, "gdss: the x network must be ScoreNetworkX(_GMH) and the adj "
                 "network ScoreNetworkA");
    if (hp_x->F != hp_adj->F)
        SDG_FAIL(SDG_ERR_INVALID, "gdss: max_feat_num differs (x %lld, adj %lld)",
                 (long long)hp_x->F, (long long)hp_adj->F);
    m = calloc(1, sizeof *m);
    if (!m) SDG_FAIL(SDG_ERR_NOMEM, "gdss: out of memory");
    if (settings) m->settings = *settings;
    SDG_TRY(sdg_params_new(&m->params));
    SDG_TRY(sdg_gdss_net_new(hp_x, "x.", m->params, rng, &m->net_x));
    SDG_TRY(sdg_gdss_net_new(hp_adj, "adj.", m->params, rng, &m->net_adj));
    *out = m;
    m = NULL;
cleanup:
    sdg_gdss_model_free(m);
    return st;
}
