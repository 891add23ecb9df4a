/* GDSS score networks: ScoreNetworkX, ScoreNetworkX_GMH and ScoreNetworkA, built from nn ops
 * so that the whole forward pass is differentiable (spec: /work/shared/gdss/README.md 2-7).
 *
 * Batching: every GCN is one shared-weight bmm over B N rows (X W) plus one batched
 * (N, N) @ (N, d) product per graph and channel; the q/k/v GCNs of all channels of an
 * attention layer share one X [Wq_0|Wk_0|Wv_0|Wq_1|...] product and one normalised adjacency
 * stack; the heads of all channels are one bmm over B C H items; the edge MLPs run over the
 * B N N rows of the channel-last E tensor. */
#include <math.h>
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

/* One AttentionLayer (README 4): x (B, N, din), ac (B, Cin, N, N) -> *x_out (B, N, nhid),
 * returns ac' (B, Cout, N, N). */
static sdg_tensor *attn_layer_forward(sdg_ctx *ctx, const sdg_gdss_params *hp, const attn_layer *L,
                                      sdg_tensor *x, sdg_tensor *ac, const sdg_tensor *flags,
                                      sdg_tensor **x_out) {
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
    sdg_tensor *e = permute(ctx, sdg_concat(ctx, parts, 2, 1), 0, 2, 3, 1);    /* (B, N, N, 2C) */
    sdg_tensor *y = permute(ctx, mlp_forward(ctx, &L->edge, e), 0, 3, 1, 2);  /* (B, Cout, N, N) */
    return sdg_mask_adj(ctx, sdg_add(ctx, y, sdg_transpose(ctx, y, 2, 3)), flags);
}

/* Without a tape, one attention layer's intermediates are freed as soon as the layer is done:
 * its two results are made before an arena mark and copied into (sdg_ctx_release). With a
 * tape (training) this is the plain call. */
static sdg_tensor *attn_layer_scoped(sdg_ctx *ctx, const sdg_gdss_params *hp, const attn_layer *L,
                                     sdg_tensor *x, sdg_tensor *ac, const sdg_tensor *flags,
                                     sdg_tensor **x_out) {
    if (sdg_ctx_grad_enabled(ctx) || !x || !ac)
        return attn_layer_forward(ctx, hp, L, x, ac, flags, x_out);
    const int64_t B = x->shape[0], N = x->shape[1];
    sdg_tensor *xk = sdg_tensor_new(ctx, 3, (int64_t[]){B, N, hp->nhid});
    sdg_tensor *ak = sdg_tensor_new(ctx, 4, (int64_t[]){B, L->cout, N, N});
    *x_out = NULL;
    if (!xk || !ak) return NULL;
    sdg_ctx_pos pos = sdg_ctx_mark(ctx);
    sdg_tensor *xo = NULL, *ao = attn_layer_forward(ctx, hp, L, x, ac, flags, &xo);
    if (!ao || !xo) return NULL;
    memcpy(xk->data, xo->data, (size_t)xk->size * sizeof(float));
    memcpy(ak->data, ao->data, (size_t)ak->size * sizeof(float));
    sdg_ctx_release(ctx, pos);
    *x_out = xk;
    return ak;
}

/* Rows of the final edge MLP per block without a tape (its hidden width is 2f, f = 54 for
 * the generic datasets: 64 Ki rows make 28 MiB per hidden tensor). */
#define GDSS_FINAL_ROWS 65536

/* final MLP over e (R, f) -> (R, out); without a tape in blocks of rows, each block's
 * intermediates freed before the next. */
static sdg_tensor *final_forward(sdg_ctx *ctx, const mlp *m, sdg_tensor *e) {
    if (!e) return NULL;
    const int64_t f = e->shape[e->ndim - 1], R = e->size / f, out = m->lin[m->n - 1].out;
    if (sdg_ctx_grad_enabled(ctx) || R <= GDSS_FINAL_ROWS) return mlp_forward(ctx, m, e);
    sdg_tensor *y = sdg_tensor_new(ctx, 2, (int64_t[]){R, out});
    if (!y) return NULL;
    for (int64_t r0 = 0; r0 < R; r0 += GDSS_FINAL_ROWS) {
        int64_t n = R - r0 < GDSS_FINAL_ROWS ? R - r0 : GDSS_FINAL_ROWS;
        sdg_tensor rows = {.ndim = 2, .shape = {n, f}, .size = n * f, .data = e->data + r0 * f};
        sdg_ctx_pos pos = sdg_ctx_mark(ctx);
        sdg_tensor *o = mlp_forward(ctx, m, &rows);
        if (!o) return NULL;
        memcpy(y->data + r0 * out, o->data, (size_t)(n * out) * sizeof(float));
        sdg_ctx_release(ctx, pos);
    }
    return y;
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
        for (int l = 0; l < n; l++) {
            ac = attn_layer_scoped(ctx, hp, &net->layers[l], h, ac, flags, &h);
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
    sdg_tensor *h = x;
    for (int l = 0; l < n; l++) acs[l + 1] = attn_layer_scoped(ctx, hp, &net->layers[l], h, acs[l], flags, &h);
    for (int l = 0; l <= n; l++)
        if (!acs[l]) return NULL;
    sdg_tensor *e = permute(ctx, sdg_concat(ctx, acs, n + 1, 1), 0, 2, 3, 1);   /* (B, N, N, f) */
    sdg_tensor *s = reshape(ctx, final_forward(ctx, &net->final, e), 3, B, N, N, 0);
    sdg_tensor *offdiag = sdg_tensor_new(ctx, 2, (int64_t[]){N, N});
    if (!offdiag) return NULL;
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < N; j++) offdiag->data[i * N + j] = i == j ? 0.0f : 1.0f;
    return sdg_mask_adj(ctx, sdg_mul(ctx, s, offdiag), flags);
}

/* Graphs per block without a tape: about GDSS_NOGRAD_ROWS edge rows (B N^2), so that the
 * arena peak of a sampling call is bounded whatever the batch (grid: 1 graph of 361 nodes,
 * ENZYMES 4 of 125, QM9 809 of 9). Measured (ENZYMES, batch 64, 1 thread): 32 Ki, 64 Ki and
 * 256 Ki rows run equally fast within the noise, with arena peaks of 80, 151 and 295 MiB. */
#define GDSS_NOGRAD_ROWS 65536

static sdg_tensor *forward_any(sdg_ctx *ctx, const sdg_gdss_net *net, sdg_tensor *x,
                               sdg_tensor *adj, const sdg_tensor *flags) {
    if (net->hp.kind == SDG_GDSS_NET_KIND_A) return forward_adj(ctx, net, x, adj, flags);
    return forward_x(ctx, net, x, adj, flags);
}

/* Without a tape every graph is independent: the batch goes through in blocks of graphs
 * (views of x, adj and flags), each block's intermediates freed before the next one. */
static sdg_tensor *forward_blocks(sdg_ctx *ctx, const sdg_gdss_net *net, sdg_tensor *x,
                                  sdg_tensor *adj, const sdg_tensor *flags) {
    const int64_t B = x->shape[0], N = x->shape[1], F = x->shape[2];
    const bool is_a = net->hp.kind == SDG_GDSS_NET_KIND_A;
    int64_t per = GDSS_NOGRAD_ROWS / (N * N), each = is_a ? N * N : N * F;
    if (per < 1) per = 1;
    if (per >= B) return forward_any(ctx, net, x, adj, flags);
    sdg_tensor *out = sdg_tensor_new(ctx, 3, (int64_t[]){B, N, is_a ? N : F});
    if (!out) return NULL;
    for (int64_t b0 = 0; b0 < B; b0 += per) {
        int64_t nb = B - b0 < per ? B - b0 : per;
        sdg_tensor xv = {.ndim = 3, .shape = {nb, N, F}, .size = nb * N * F, .data = x->data + b0 * N * F};
        sdg_tensor av = {.ndim = 3, .shape = {nb, N, N}, .size = nb * N * N, .data = adj->data + b0 * N * N};
        sdg_tensor fv = {.ndim = 2, .shape = {nb, N}, .size = nb * N, .data = flags->data + b0 * N};
        sdg_ctx_pos pos = sdg_ctx_mark(ctx);
        sdg_tensor *o = forward_any(ctx, net, &xv, &av, &fv);
        if (!o) return NULL;
        memcpy(out->data + b0 * each, o->data, (size_t)(nb * each) * sizeof(float));
        sdg_ctx_release(ctx, pos);
    }
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
    if (!sdg_ctx_grad_enabled(ctx)) return forward_blocks(ctx, net, x, adj, flags);
    return forward_any(ctx, net, x, adj, flags);
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
