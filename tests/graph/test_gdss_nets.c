/* GDSS score networks on tiny random instances (no data needed):
 * - gradients: 4-point finite differences of L = sum(r * out) w.r.t. 3 random entries of EVERY
 *   parameter tensor of ScoreNetworkX, ScoreNetworkX_GMH and ScoreNetworkA (relative error
 *   <= 2e-2 with floor 1e-2; most checked entries must have a non-negligible gradient), and
 *   w.r.t. the inputs x and adj through sdg_gradcheck;
 * - equivariance: permuting the nodes (x, adj, flags) permutes out_x / out_adj (<= 1e-5), with
 *   negative adjacency entries so that the degree clamp is exercised;
 * - the fused no-grad path (sampling) equals the op path (training) for every kind, within
 *   2e-5 (1 + max |out|), with the same bits on 1 and 2 threads;
 * - names: parameters carry the given prefix plus PyTorch's names; the parameter count
 *   matches GDSS's constructor arithmetic; bad hyper-parameters and input shapes fail cleanly. */
#include "test_util.h"

/* ---- tiny random networks ---- */
static sdg_gdss_params tiny(sdg_gdss_net_kind kind) {
    sdg_gdss_params hp = sdg_gdss_default_params(kind);
    hp.F = 3;
    hp.N = 5;
    hp.depth = 2;
    hp.nhid = 8;
    hp.adim = 8;
    hp.heads = 2;
    hp.c_init = 2;
    hp.c_hid = 3;
    hp.c_final = 2;
    hp.num_layers = 3;
    hp.num_linears = 2;
    return hp;
}

/* x (B, N, F) uniform, adj symmetric in [0, 1) zero diagonal, flags: graph b has N - b nodes;
 * x and adj masked. */
static void tiny_inputs(sdg_rng *rng, int64_t B, int64_t N, int64_t F, float *x, float *adj,
                        float *flags) {
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < N; i++) flags[b * N + i] = i < N - b ? 1.0f : 0.0f;
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < N; i++) {
            for (int64_t f = 0; f < F; f++)
                x[(b * N + i) * F + f] = flags[b * N + i] * (float)(2 * sdg_rng_uniform(rng) - 1);
            for (int64_t j = 0; j <= i; j++) {
                float v = i == j ? 0.0f : (float)sdg_rng_uniform(rng) * flags[b * N + i] * flags[b * N + j];
                adj[(b * N + i) * N + j] = adj[(b * N + j) * N + i] = v;
            }
        }
}

static sdg_tensor *f_net(sdg_ctx *c, sdg_tensor **in, void *ud) {
    return sdg_gdss_net_forward(c, ud, in[0], in[1], in[2]);
}

/* L = sum(r * out) in double, grad mode off. */
static double loss_eval(sdg_ctx *ctx, const sdg_gdss_net *net, const float *x, const float *adj,
                        const float *flags, const float *r, int64_t B, int64_t N, int64_t F) {
    sdg_ctx_reset(ctx);
    bool old = sdg_ctx_set_grad(ctx, false);
    sdg_tensor *tx = sdg_tensor_from(ctx, 3, (int64_t[]){B, N, F}, x);
    sdg_tensor *ta = sdg_tensor_from(ctx, 3, (int64_t[]){B, N, N}, adj);
    sdg_tensor *tf = sdg_tensor_from(ctx, 2, (int64_t[]){B, N}, flags);
    sdg_tensor *y = sdg_gdss_net_forward(ctx, net, tx, ta, tf);
    sdg_ctx_set_grad(ctx, old);
    double L = 0;
    if (!y) return NAN;
    for (int64_t k = 0; k < y->size; k++) L += (double)r[k] * (double)y->data[k];
    return L;
}

static void test_param_gradients(void) {
    const sdg_gdss_net_kind kinds[3] = {SDG_GDSS_NET_KIND_X, SDG_GDSS_NET_KIND_X_GMH, SDG_GDSS_NET_KIND_A};
    for (int kk = 0; kk < 3; kk++) {
        sdg_gdss_params hp = tiny(kinds[kk]);
        const int64_t B = 2, N = hp.N, F = hp.F;
        sdg_rng *rng = NULL;
        sdg_gdss_net *net = NULL;
        sdg_ctx *ctx = NULL;
        CU_ASSERT_FATAL(sdg_rng_new(77 + (uint64_t)kk, &rng) == SDG_OK);
        CU_ASSERT_FATAL(sdg_gdss_net_new(&hp, NULL, NULL, rng, &net) == SDG_OK);
        CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
        sdg_params *p = sdg_gdss_net_params(net);
        /* GCN biases start at zero: give every parameter some spread so that all paths matter */
        for (size_t i = 0; i < sdg_params_count(p); i++) {
            sdg_tensor *t = sdg_params_at(p, i);
            for (int64_t k = 0; k < t->size; k++) t->data[k] += (float)(0.2 * (2 * sdg_rng_uniform(rng) - 1));
        }
        float x[2 * 5 * 3], adj[2 * 5 * 5], flags[2 * 5];
        tiny_inputs(rng, B, N, F, x, adj, flags);
        int64_t ysize = kinds[kk] == SDG_GDSS_NET_KIND_A ? B * N * N : B * N * F;
        float *r = malloc((size_t)ysize * sizeof(float));
        sdg_rng_fill_uniform(rng, r, (size_t)ysize, -1.0f, 1.0f);
        /* analytic */
        sdg_params_zero_grad(p);
        sdg_ctx_reset(ctx);
        sdg_tensor *tx = sdg_tensor_from(ctx, 3, (int64_t[]){B, N, F}, x);
        sdg_tensor *ta = sdg_tensor_from(ctx, 3, (int64_t[]){B, N, N}, adj);
        sdg_tensor *tf = sdg_tensor_from(ctx, 2, (int64_t[]){B, N}, flags);
        sdg_tensor *y = sdg_gdss_net_forward(ctx, net, tx, ta, tf);
        CU_ASSERT_FATAL(y != NULL && y->grad != NULL && y->size == ysize);
        memcpy(y->grad, r, (size_t)ysize * sizeof(float));
        CU_ASSERT_FATAL(sdg_backward(ctx, y) == SDG_OK);
        /* numeric: 3 random entries of every parameter tensor */
        int bad = 0, checked = 0, nonzero = 0;
        const double h = 2e-3;
        for (size_t i = 0; i < sdg_params_count(p); i++) {
            sdg_tensor *t = sdg_params_at(p, i);
            for (int c = 0; c < 3; c++) {
                int64_t k = (int64_t)sdg_rng_uint(rng, (uint64_t)t->size);
                float v0 = t->data[k];
                double L[4];
                const double off[4] = {2, 1, -1, -2};
                for (int s = 0; s < 4; s++) {
                    t->data[k] = v0 + (float)(off[s] * h);
                    L[s] = loss_eval(ctx, net, x, adj, flags, r, B, N, F);
                }
                t->data[k] = v0;
                double num = (-L[0] + 8 * L[1] - 8 * L[2] + L[3]) / (12 * h), ana = t->grad[k];
                double den = fmax(fmax(fabs(ana), fabs(num)), 1e-2);
                checked++;
                nonzero += fabs(ana) > 1e-4;
                if (!(fabs(ana - num) / den <= 2e-2)) {
                    if (bad++ < 5)
                        printf("\n  %s %s[%lld]: analytic %.6g numeric %.6g",
                               sdg_gdss_net_kind_name(kinds[kk]), t->name, (long long)k, ana, num);
                }
            }
        }
        printf("\n  %s: %d parameter entries checked (%d with |grad| > 1e-4), %d mismatches",
               sdg_gdss_net_kind_name(kinds[kk]), checked, nonzero, bad);
        CU_ASSERT_EQUAL(bad, 0);
        CU_ASSERT(nonzero > checked / 2);
        /* inputs x and adj through the shared harness */
        gc_spec sp = {.n_in = 3, .no_grad = {false, false, true}, .init = {x, adj, flags}, .max_checks = 12};
        GC_SHAPE(sp, 0, 3, B, N, F);
        GC_SHAPE(sp, 1, 3, B, N, N);
        GC_SHAPE(sp, 2, 2, B, N);
        CU_ASSERT_EQUAL(sdg_gradcheck(sdg_gdss_net_kind_name(kinds[kk]), f_net, net, &sp, 500 + (uint64_t)kk), 0);
        free(r);
        sdg_ctx_free(ctx);
        sdg_gdss_net_free(net);
        sdg_rng_free(rng);
    }
    printf("\n");
}

static void test_equivariance(void) {
    const sdg_gdss_net_kind kinds[3] = {SDG_GDSS_NET_KIND_X, SDG_GDSS_NET_KIND_X_GMH, SDG_GDSS_NET_KIND_A};
    const int64_t B = 2, N = 5, F = 3;
    const int perm[5] = {3, 0, 4, 1, 2};   /* new node i is old node perm[i] */
    for (int kk = 0; kk < 3; kk++) {
        sdg_gdss_params hp = tiny(kinds[kk]);
        sdg_rng *rng = NULL;
        sdg_gdss_net *net = NULL;
        sdg_ctx *ctx = NULL;
        CU_ASSERT_FATAL(sdg_rng_new(91 + (uint64_t)kk, &rng) == SDG_OK);
        CU_ASSERT_FATAL(sdg_gdss_net_new(&hp, "m.", NULL, rng, &net) == SDG_OK);
        CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
        CU_ASSERT(sdg_params_find(sdg_gdss_net_params(net), "m.final.linears.2.weight") != NULL);
        sdg_ctx_set_grad(ctx, false);
        float x[30], adj[50], flags[10], px[30], padj[50], pflags[10];
        tiny_inputs(rng, B, N, F, x, adj, flags);
        for (int i = 0; i < 50; i++) adj[i] *= 2.0f;   /* some degrees of both signs of the clamp */
        adj[1] = adj[5] = -1.5f;
        for (int64_t b = 0; b < B; b++)
            for (int64_t i = 0; i < N; i++) {
                pflags[b * N + i] = flags[b * N + perm[i]];
                for (int64_t f = 0; f < F; f++) px[(b * N + i) * F + f] = x[(b * N + perm[i]) * F + f];
                for (int64_t j = 0; j < N; j++) padj[(b * N + i) * N + j] = adj[(b * N + perm[i]) * N + perm[j]];
            }
        sdg_tensor *y0 = sdg_gdss_net_forward(ctx, net, sdg_tensor_from(ctx, 3, (int64_t[]){B, N, F}, x),
                                              sdg_tensor_from(ctx, 3, (int64_t[]){B, N, N}, adj),
                                              sdg_tensor_from(ctx, 2, (int64_t[]){B, N}, flags));
        sdg_tensor *y1 = sdg_gdss_net_forward(ctx, net, sdg_tensor_from(ctx, 3, (int64_t[]){B, N, F}, px),
                                              sdg_tensor_from(ctx, 3, (int64_t[]){B, N, N}, padj),
                                              sdg_tensor_from(ctx, 2, (int64_t[]){B, N}, pflags));
        CU_ASSERT_FATAL(y0 && y1 && sdg_ctx_status(ctx) == SDG_OK);
        double err = 0, mag = 0;
        bool is_a = kinds[kk] == SDG_GDSS_NET_KIND_A;
        for (int64_t b = 0; b < B; b++)
            for (int64_t i = 0; i < N; i++) {
                int64_t W = is_a ? N : F;
                for (int64_t j = 0; j < W; j++) {
                    float want = is_a ? y0->data[(b * N + perm[i]) * N + perm[j]] : y0->data[(b * N + perm[i]) * F + j];
                    float got = y1->data[(b * N + i) * W + j];
                    err = fmax(err, fabs((double)want - got));
                    mag = fmax(mag, fabs((double)want));
                }
            }
        printf("\n  %s: max |P out - out(P .)| %.2e (max |out| %.2f)", sdg_gdss_net_kind_name(kinds[kk]), err, mag);
        CU_ASSERT(err <= 1e-5 && mag > 1e-2);
        sdg_ctx_free(ctx);
        sdg_gdss_net_free(net);
        sdg_rng_free(rng);
    }
    printf("\n");
}

static void test_build(void) {
    sdg_gdss_params hp = tiny(SDG_GDSS_NET_KIND_A);
    sdg_gdss_net *net = NULL;
    sdg_params *store = NULL;
    CU_ASSERT_FATAL(sdg_params_new(&store) == SDG_OK);
    CU_ASSERT_FATAL(sdg_gdss_net_new(&hp, "adj.", store, NULL, &net) == SDG_OK);
    CU_ASSERT(sdg_gdss_net_params(net) == store);
    const char *names[] = {"adj.layers.0.attn.0.gnn_q.weight", "adj.layers.0.attn.1.gnn_v.bias",
                           "adj.layers.2.mlp.linears.1.weight", "adj.layers.1.multi_channel.linears.0.weight",
                           "adj.final.linears.2.bias"};
    for (int i = 0; i < 5; i++) CU_ASSERT(sdg_params_find(store, names[i]) != NULL);
    sdg_tensor *w = sdg_params_find(store, "adj.layers.0.attn.0.gnn_q.weight");
    CU_ASSERT(w && w->shape[0] == hp.F && w->shape[1] == hp.nhid);   /* GCN: (in, out) */
    w = sdg_params_find(store, "adj.final.linears.0.weight");
    int64_t f = hp.c_init + (hp.num_layers - 1) * hp.c_hid + hp.c_final;
    CU_ASSERT(w && w->shape[0] == 2 * f && w->shape[1] == f);           /* Linear: (out, in) */
    /* count: per layer C_in (3 GCNs) + multi_channel + mlp, + final */
    int64_t total = 0;
    for (int l = 0; l < hp.num_layers; l++) {
        int64_t din = l ? hp.nhid : hp.F, a = l ? hp.adim : hp.nhid;
        int64_t cin = l ? hp.c_hid : hp.c_init, cout = l == hp.num_layers - 1 ? hp.c_final : hp.c_hid;
        int64_t hid = 2 * (cin > cout ? cin : cout);
        total += cin * (2 * (din * a + a) + din * hp.nhid + hp.nhid);
        total += (cin * hp.nhid * hid + hid) + (hid * hp.nhid + hp.nhid);
        total += (2 * cin * hid + hid) + (hid * cout + cout);   /* num_linears = 2 */
    }
    total += (f * 2 * f + 2 * f) + (2 * f * 2 * f + 2 * f) + (2 * f + 1);
    CU_ASSERT_EQUAL(sdg_params_numel(store), total);
    /* a second net with the same prefix collides */
    sdg_gdss_net *dup = NULL;
    CU_ASSERT(sdg_gdss_net_new(&hp, "adj.", store, NULL, &dup) != SDG_OK && dup == NULL);
    sdg_gdss_net_free(net);
    sdg_params_free(store);
    /* invalid hyper-parameters */
    hp.adim = 7;
    CU_ASSERT(sdg_gdss_net_new(&hp, NULL, NULL, NULL, &net) == SDG_ERR_INVALID && net == NULL);
    hp = tiny(SDG_GDSS_NET_KIND_X);
    hp.depth = 0;
    CU_ASSERT(sdg_gdss_net_new(&hp, NULL, NULL, NULL, &net) == SDG_ERR_INVALID);
    /* JSON */
    sdg_gdss_params pj;
    CU_ASSERT(sdg_gdss_params_from_json("{\"model_type\": \"ScoreNetworkA\", \"max_feat_num\": 9, "
                                        "\"max_node_num\": 38, \"nhid\": 16, \"num_layers\": 6, "
                                        "\"num_linears\": 3, \"c_init\": 2, \"c_hid\": 8, \"c_final\": 4, "
                                        "\"adim\": 16, \"num_heads\": 4, \"conv\": \"GCN\"}", &pj) == SDG_OK);
    CU_ASSERT(pj.kind == SDG_GDSS_NET_KIND_A && pj.F == 9 && pj.N == 38 && pj.num_layers == 6);
    CU_ASSERT(sdg_gdss_params_from_json("{\"model_type\": \"ScoreNetworkX\", \"depth\": 2.5}", &pj) == SDG_ERR_FORMAT);
    CU_ASSERT(sdg_gdss_params_from_json("{\"model_type\": \"Foo\"}", &pj) == SDG_ERR_FORMAT);
    CU_ASSERT(sdg_gdss_params_from_json("{\"model_type\": \"ScoreNetworkX\"", &pj) == SDG_ERR_FORMAT);
    CU_ASSERT(sdg_gdss_params_from_json("{\"model_type\": \"ScoreNetworkA\", \"conv\": \"MLP\"}", &pj) == SDG_ERR_FORMAT);
    sdg_gdss_settings s;
    CU_ASSERT(sdg_gdss_settings_from_json("{\"data\": {\"data\": \"grid\", \"x\": [1, {\"a\": 2}]}, \"sde\": {\"x\": "
                                          "{\"type\": \"VP\", \"beta_min\": 0.1, \"beta_max\": 1.0, \"num_scales\": 1000}, "
                                          "\"adj\": {\"type\": \"VP\", \"beta_min\": 0.2, \"beta_max\": 0.8, "
                                          "\"num_scales\": 1000}}}", &s) == SDG_OK);
    CU_ASSERT(s.sde_adj.lo == 0.2 && s.sde_adj.hi == 0.8 && s.batch == 8 && s.use_ema);
    CU_ASSERT_STRING_EQUAL(s.predictor, "Reverse");
    /* shape errors are sticky ctx errors */
    sdg_ctx *ctx = NULL;
    hp = tiny(SDG_GDSS_NET_KIND_X);
    CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK && sdg_gdss_net_new(&hp, NULL, NULL, NULL, &net) == SDG_OK);
    sdg_tensor *x = sdg_tensor_zeros(ctx, 3, (int64_t[]){2, 5, 4});   /* F 4 != 3 */
    sdg_tensor *a = sdg_tensor_zeros(ctx, 3, (int64_t[]){2, 5, 5});
    sdg_tensor *fl = sdg_tensor_zeros(ctx, 2, (int64_t[]){2, 5});
    CU_ASSERT(sdg_gdss_net_forward(ctx, net, x, a, fl) == NULL);
    CU_ASSERT(sdg_ctx_status(ctx) == SDG_ERR_SHAPE);
    sdg_gdss_net_free(net);
    sdg_ctx_free(ctx);
}


/* The fused no-grad path (sampling) against the op path (grad mode on, as in training) on
 * random inputs, for every network kind and a few shapes: batches that make several blocks
 * of graphs and a short last block, N = 1, adjacencies with negative entries, symmetric
 * (as in sampling: the edge MLPs then run on the upper triangle, and out_adj is exactly
 * symmetric) or not, wide edge MLPs. Also: the same bits on 1 and 2 threads, and a FLOP
 * count that is not above the op path's (it skips unused and duplicate work). */
static void test_fast_path(void) {
    const sdg_gdss_net_kind kinds[3] = {SDG_GDSS_NET_KIND_X, SDG_GDSS_NET_KIND_X_GMH, SDG_GDSS_NET_KIND_A};
    const struct { int64_t B, N, F; int nhid, heads, lin, layers; } shapes[4] = {
        {7, 5, 3, 8, 2, 2, 3}, {61, 9, 4, 16, 4, 3, 3}, {3, 23, 5, 12, 3, 2, 4}, {2, 1, 2, 4, 2, 3, 2}};
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(2024, &rng) == SDG_OK);
    for (int kk = 0; kk < 3; kk++)
        for (int si = 0; si < 4; si++) {
            const int64_t B = shapes[si].B, N = shapes[si].N, F = shapes[si].F;
            sdg_gdss_params hp = tiny(kinds[kk]);
            hp.F = F;
            hp.N = N;
            hp.nhid = hp.adim = shapes[si].nhid;
            hp.heads = shapes[si].heads;
            hp.num_linears = shapes[si].lin;
            hp.num_layers = shapes[si].layers;
            hp.depth = kinds[kk] == SDG_GDSS_NET_KIND_X ? 3 : 2;
            if (si == 2) hp.c_hid = 40;   /* hidden widths 80 (edge MLPs) and 248 (final) */
            sdg_gdss_net *net = NULL;
            sdg_ctx *ctx = NULL;
            CU_ASSERT_FATAL(sdg_gdss_net_new(&hp, "m.", NULL, rng, &net) == SDG_OK);
            CU_ASSERT_FATAL(sdg_ctx_new(0, &ctx) == SDG_OK);
            float *x = malloc((size_t)(B * N * F) * 4), *adj = malloc((size_t)(B * N * N) * 4);
            float *fl = malloc((size_t)(B * N) * 4);
            for (int64_t b = 0; b < B; b++)
                for (int64_t i = 0; i < N; i++) fl[b * N + i] = i < N - b % (N + 1) || i == 0 ? 1.0f : 0.0f;
            sdg_rng_fill_uniform(rng, x, (size_t)(B * N * F), -1.5f, 1.5f);
            sdg_rng_fill_uniform(rng, adj, (size_t)(B * N * N), -0.4f, 1.0f);
            if (si % 2 == 1)   /* symmetric, as in sampling: the upper-triangle edge path */
                for (int64_t b = 0; b < B; b++)
                    for (int64_t i = 0; i < N; i++)
                        for (int64_t j = 0; j < i; j++) adj[(b * N + i) * N + j] = adj[(b * N + j) * N + i];
            sdg_tensor *ref = NULL, *fast = NULL, *one = NULL;
            double fl_ref = 0, fl_fast = 0;
            for (int pass = 0; pass < 3; pass++) {   /* op path, fast on 2 threads, fast on 1 */
                int threads = sdg_num_threads();
                if (pass == 2) sdg_set_num_threads(1);
                sdg_ctx_set_grad(ctx, pass == 0);
                sdg_ctx_flops_clear(ctx);
                sdg_tensor *y = sdg_gdss_net_forward(ctx, net, sdg_tensor_from(ctx, 3, (int64_t[]){B, N, F}, x),
                                                     sdg_tensor_from(ctx, 3, (int64_t[]){B, N, N}, adj),
                                                     sdg_tensor_from(ctx, 2, (int64_t[]){B, N}, fl));
                sdg_set_num_threads(threads);
                if (pass == 0) ref = y, fl_ref = sdg_ctx_flops_total(ctx);
                else if (pass == 1) fast = y, fl_fast = sdg_ctx_flops_total(ctx);
                else one = y;
            }
            CU_ASSERT_FATAL(ref && fast && one && sdg_ctx_status(ctx) == SDG_OK);
            CU_ASSERT_FATAL(ref->size == fast->size);
            double err = 0, mag = 0;
            for (int64_t k = 0; k < ref->size; k++) {
                err = fmax(err, fabs((double)ref->data[k] - fast->data[k]));
                mag = fmax(mag, fabs((double)ref->data[k]));
            }
            CU_ASSERT(memcmp(fast->data, one->data, (size_t)fast->size * 4) == 0);
            if (si % 2 == 1 && kinds[kk] == SDG_GDSS_NET_KIND_A)
                for (int64_t b = 0; b < B; b++)
                    for (int64_t i = 0; i < N; i++)
                        for (int64_t j = 0; j < i; j++)
                            CU_ASSERT_EQUAL(fast->data[(b * N + i) * N + j], fast->data[(b * N + j) * N + i]);
            CU_ASSERT(fl_fast > 0.3 * fl_ref && fl_fast <= fl_ref);
            printf("\n  %-17s B %2lld N %2lld: max |fast - op| %.2e (max |out| %.2f), FLOPs %.3g of %.3g",
                   sdg_gdss_net_kind_name(kinds[kk]), (long long)B, (long long)N, err, mag, fl_fast, fl_ref);
            CU_ASSERT(err <= 2e-5 * (1 + mag));
            CU_ASSERT(N == 1 || mag > 1e-2);
            free(x);
            free(adj);
            free(fl);
            sdg_ctx_free(ctx);
            sdg_gdss_net_free(net);
        }
    sdg_rng_free(rng);
    printf("\n");
}

int main(void) {
    return sdg_test_main("graph/gdss_nets", (sdg_test_case[]){
        {"construction, names, layouts, JSON", test_build},
        {"parameter and input gradients (finite differences)", test_param_gradients},
        {"permutation equivariance", test_equivariance},
        {"fused no-grad path equals the op path", test_fast_path},
        {NULL, NULL}});
}
