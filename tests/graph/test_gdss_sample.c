/* GDSS sampling (src/graph/gdss_sample.c):
 * - engine: a stream offset shifts the per-sample streams (sample i of an offset-k run is
 *   sample k + i of a run from 0);
 * - tiny model (random weights, VP for X, VE for A): one Euler step from the prior equals an
 *   independent computation from the networks' raw outputs with score = -out/sigma (VP) and
 *   score = out (VE); flags, prior and masks rebuilt by hand;
 * - QM9 published weights, 20 steps: deterministic per seed, different across seeds and
 *   chunks, identical with 1 and 2 threads, masked entries exactly 0, chunking (n = 10,
 *   batch 4 starts with the graphs of n = 4, batch 4), NFE and FLOP counts;
 * The QM9 part needs $SDEGEN_SHARED/gdss/gdss_qm9.h5: without it the rest runs and the
 * executable exits 77. */
#include <sys/stat.h>
#include "test_util.h"

static char qm9_path[1024];

/* ---- engine: stream offset ---- */
static sdg_status linear_score(const sdg_model_call *call, void *params) {
    (void)params;
    const sdg_component *c = &call->state->comp[0];
    for (size_t j = 0; j < call->state->n * c->dim; j++) call->out[0][j] = -c->x[j];
    return SDG_OK;
}

static void run_offset(size_t n, uint64_t offset, float *x) {
    sdg_sampler_params p = sdg_sampler_default_params();
    p.corrector = sdg_corrector_none;   /* no batch-averaged norms: samples are independent */
    p.n_steps = 10;
    p.seed = 5;
    p.stream_offset = offset;
    sdg_state st = {.n = n, .n_comp = 1};
    st.comp[0] = (sdg_component){.name = "x", .dim = 3, .noise = SDG_NOISE_KIND_DENSE, .x = x};
    CU_ASSERT_EQUAL_FATAL(sdg_sde_init(&st.comp[0].sde, sdg_sde_ve, 0.1, 5.0, 10), SDG_OK);
    sdg_sampler *s = NULL;
    sdg_model m = {.fn = linear_score};
    CU_ASSERT_EQUAL_FATAL(sdg_sampler_new(&p, &st, &s), SDG_OK);
    CU_ASSERT_EQUAL(sdg_sampler_run(s, &m, &st, NULL), SDG_OK);
    sdg_sampler_free(s);
}

static void test_stream_offset(void) {
    float a[4 * 3], b[2 * 3], c[2 * 3];
    run_offset(4, 0, a);
    run_offset(2, 2, b);
    run_offset(2, 0, c);
    CU_ASSERT_EQUAL(memcmp(a + 6, b, sizeof b), 0);   /* offset 2 = samples 2, 3 */
    CU_ASSERT_EQUAL(memcmp(a, c, sizeof c), 0);       /* offset 0 = the old behaviour */
    CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof b), 0);
}

/* ---- tiny model: the parameterisation, checked by hand ---- */
#define TN 5
#define TF 3
static const float tiny_rows[2 * TN] = {1, 1, 1, 0, 0, 1, 1, 1, 1, 1};
static const int64_t tiny_weight[2] = {1, 2};

static sdg_gdss_model *tiny_model(void) {
    sdg_gdss_params hx = sdg_gdss_default_params(SDG_GDSS_NET_KIND_X);
    sdg_gdss_params ha = sdg_gdss_default_params(SDG_GDSS_NET_KIND_A);
    hx.F = ha.F = TF;
    hx.N = ha.N = TN;
    hx.nhid = 8;
    ha.nhid = ha.adim = 8;
    ha.c_hid = 4;
    ha.c_final = 2;
    ha.num_layers = 2;
    ha.num_linears = 2;
    sdg_gdss_settings s;
    memset(&s, 0, sizeof s);
    snprintf(s.dataset, sizeof s.dataset, "tiny");
    s.sde_x = (sdg_gdss_sde){SDG_GDSS_SDE_KIND_VP, 0.1, 1.0, 1000};
    s.sde_adj = (sdg_gdss_sde){SDG_GDSS_SDE_KIND_VE, 0.2, 1.0, 1000};
    snprintf(s.predictor, sizeof s.predictor, "Euler");
    snprintf(s.corrector, sizeof s.corrector, "None");
    s.eps = 1e-4;
    s.batch = 3;
    sdg_rng *rng = NULL;
    sdg_gdss_model *m = NULL;
    if (sdg_rng_new(11, &rng) != SDG_OK) return NULL;
    if (sdg_gdss_model_new(&hx, &ha, &s, rng, &m) != SDG_OK ||
        sdg_gdss_flags_init(&m->flags, TN, 2, tiny_rows, tiny_weight) != SDG_OK) {
        printf("tiny model: %s\n", sdg_errmsg());
        sdg_gdss_model_free(m);
        m = NULL;
    }
    sdg_rng_free(rng);
    return m;
}

static void test_tiny_parameterisation(void) {
    sdg_gdss_model *m = tiny_model();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    enum { B = 3, FIRST = 2 };
    const uint64_t seed = 7;
    float x[B * TN * TF], adj[B * TN * TN], flags[B * TN];
    float rx[B * TN * TF], ra[B * TN * TN], rf[B * TN];
    sdg_gdss_sample_params p = sdg_gdss_sample_default_params();
    p.n_steps = 1;
    p.seed = seed;
    sdg_gdss_sample_stats stats;
    memset(&stats, 0, sizeof stats);
    CU_ASSERT_EQUAL_FATAL(sdg_gdss_sample_dense(m, &p, FIRST, B, x, adj, flags, &stats), SDG_OK);
    CU_ASSERT_EQUAL(stats.nfe, 1);   /* one Euler step, no corrector */
    CU_ASSERT(stats.flops > 0);

    /* reference: flags from stream (seed, 2^63 + i), prior from stream (seed, i), X first */
    sdg_component cx = {.name = "X", .dim = TN * TF, .rows = TN, .noise = SDG_NOISE_KIND_DENSE, .mask = rf};
    sdg_component ca = {.name = "A", .dim = TN * TN, .rows = TN, .noise = SDG_NOISE_KIND_SYMMETRIC, .mask = rf};
    sdg_rng *r = NULL;
    CU_ASSERT_EQUAL_FATAL(sdg_rng_new(0, &r), SDG_OK);
    for (size_t i = 0; i < B; i++) {
        sdg_rng_reset(r, seed, (UINT64_C(1) << 63) + FIRST + i);
        sdg_gdss_flags_draw(&m->flags, r, rf + i * TN);
    }
    for (size_t i = 0; i < B; i++) {
        sdg_rng_reset(r, seed, FIRST + i);
        sdg_component_noise(&cx, i, r, rx + i * TN * TF);
        sdg_component_noise(&ca, i, r, ra + i * TN * TN);
    }
    sdg_rng_free(r);
    CU_ASSERT_EQUAL(memcmp(rf, flags, sizeof rf), 0);
    sdg_ctx *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(sdg_ctx_new(1 << 20, &ctx), SDG_OK);
    sdg_ctx_set_grad(ctx, false);
    sdg_tensor *tx = sdg_tensor_from(ctx, 3, (int64_t[]){B, TN, TF}, rx);
    sdg_tensor *ta = sdg_tensor_from(ctx, 3, (int64_t[]){B, TN, TN}, ra);
    sdg_tensor *tf = sdg_tensor_from(ctx, 2, (int64_t[]){B, TN}, rf);
    sdg_tensor *ox = sdg_gdss_net_forward(ctx, m->net_x, tx, ta, tf);
    sdg_tensor *oa = sdg_gdss_net_forward(ctx, m->net_adj, tx, ta, tf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ox);
    CU_ASSERT_PTR_NOT_NULL_FATAL(oa);
    /* Euler at t = 1 with dt = 1: mean = (1 - f) y + g^2 score.
     * VP(0.1, 1): f = -beta(1)/2 = -0.5, g^2 = 1, sigma(1)^2 = 1 - exp(-0.55) -> score = -out/sigma.
     * VE(0.2, 1): f = 0, g^2 = sigma(1)^2 2 ln(1/0.2) = 2 ln 5 -> score = out. */
    const double sig_x = sqrt(1.0 - exp(-0.55)), g2_a = 2.0 * log(5.0);
    double ex = 0, ea = 0, wrong = 0;
    for (int j = 0; j < B * TN * TF; j++) {
        double want = 1.5 * rx[j] - ox->data[j] / sig_x;
        ex = fmax(ex, fabs(x[j] - want));
        wrong = fmax(wrong, fabs(want - (1.5 * rx[j] + ox->data[j])));   /* VP read as a score */
    }
    for (int j = 0; j < B * TN * TN; j++) ea = fmax(ea, fabs(adj[j] - (ra[j] + g2_a * oa->data[j])));
    printf("\n  tiny: max |err| X %.3g, A %.3g (VP read as a score would be off by %.3g)\n", ex, ea, wrong);
    CU_ASSERT(ex < 1e-4);
    CU_ASSERT(ea < 1e-4);
    CU_ASSERT(wrong > 0.05);
    sdg_ctx_free(ctx);

    /* the state layout and kinds used */
    sdg_state st;
    CU_ASSERT_EQUAL(sdg_gdss_state_init(m, 1000, B, x, adj, flags, &st), SDG_OK);
    CU_ASSERT_EQUAL(st.comp[0].param, SDG_PARAM_KIND_EPS);
    CU_ASSERT_EQUAL(st.comp[1].param, SDG_PARAM_KIND_SCORE);
    CU_ASSERT_EQUAL(st.comp[1].noise, SDG_NOISE_KIND_SYMMETRIC);
    CU_ASSERT_EQUAL(st.comp[0].sde.N, 1000);

    /* no flag table: a clear error */
    sdg_gdss_flags keep = m->flags;
    memset(&m->flags, 0, sizeof m->flags);
    CU_ASSERT_EQUAL(sdg_gdss_sample_dense(m, &p, 0, B, x, adj, flags, NULL), SDG_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "flag"));
    m->flags = keep;
    /* unknown predictor in the settings */
    snprintf(m->settings.predictor, sizeof m->settings.predictor, "Magic");
    sdg_sampler_params q;
    CU_ASSERT_EQUAL(sdg_gdss_sampler_params(m, &p, 4, &q, NULL), SDG_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "Magic"));
    sdg_gdss_model_free(m);
}

/* ---- QM9 published weights ---- */
/* QM9 has no graph-list dataset here: flags are prefixes of 4..9 atoms. */
static sdg_gdss_model *qm9_model(void) {
    sdg_gdss_model *m = NULL;
    if (sdg_gdss_model_read_reference(qm9_path, &m) != SDG_OK) {
        printf("qm9: %s\n", sdg_errmsg());
        return NULL;
    }
    float rows[6 * 9] = {0};
    int64_t w[6];
    for (int r = 0; r < 6; r++) {
        for (int i = 0; i < 4 + r; i++) rows[r * 9 + i] = 1;
        w[r] = 1 + r;
    }
    if (sdg_gdss_flags_init(&m->flags, 9, 6, rows, w) != SDG_OK) {
        sdg_gdss_model_free(m);
        return NULL;
    }
    return m;
}

typedef struct dense_run {
    float x[64 * 9 * 4], adj[64 * 9 * 9], flags[64 * 9];
} dense_run;

static sdg_status run_dense(const sdg_gdss_model *m, uint64_t seed, size_t first, size_t count,
                            dense_run *out, sdg_gdss_sample_stats *stats) {
    sdg_gdss_sample_params p = sdg_gdss_sample_default_params();
    p.n_steps = 20;
    p.seed = seed;
    return sdg_gdss_sample_dense(m, &p, first, count, out->x, out->adj, out->flags, stats);
}

static void test_qm9_determinism_threads(void) {
    sdg_gdss_model *m = qm9_model();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    dense_run *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b), *c = calloc(1, sizeof *c),
              *d = calloc(1, sizeof *d);
    int threads = sdg_num_threads();
    sdg_gdss_sample_stats sa, sb;
    memset(&sa, 0, sizeof sa);
    memset(&sb, 0, sizeof sb);
    sdg_set_num_threads(2);
    CU_ASSERT_EQUAL(run_dense(m, 3, 0, 64, a, &sa), SDG_OK);
    sdg_set_num_threads(1);
    CU_ASSERT_EQUAL(run_dense(m, 3, 0, 64, b, &sb), SDG_OK);
    sdg_set_num_threads(threads);
    CU_ASSERT_EQUAL(run_dense(m, 4, 0, 64, c, NULL), SDG_OK);
    CU_ASSERT_EQUAL(run_dense(m, 3, 64, 64, d, NULL), SDG_OK);
    /* same seed, 2 vs 1 threads: bit for bit */
    CU_ASSERT_EQUAL(memcmp(a, b, sizeof *a), 0);
    /* another seed, another chunk: different flags and values */
    CU_ASSERT_NOT_EQUAL(memcmp(a->adj, c->adj, sizeof a->adj), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a->flags, c->flags, sizeof a->flags), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a->adj, d->adj, sizeof a->adj), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a->flags, d->flags, sizeof a->flags), 0);
    /* reverse + Langevin: 2 evaluations per step; FLOPs counted */
    CU_ASSERT_EQUAL(sa.nfe, 40);
    CU_ASSERT(sa.flops > 0 && sa.flops == sb.flops);
    CU_ASSERT(sa.sampler.type == sdg_sampler_pc && sa.sampler.predictor == sdg_predictor_reverse &&
              sa.sampler.corrector == sdg_corrector_langevin);
    CU_ASSERT(fabsf(sa.sampler.snr - 0.2f) < 1e-6f && fabsf(sa.sampler.scale_eps - 0.7f) < 1e-6f);
    /* masks: rows/columns of absent nodes and the diagonal are exactly 0; A is symmetric */
    long bad = 0, finite_bad = 0, active = 0;
    for (int g = 0; g < 64; g++)
        for (int i = 0; i < 9; i++) {
            float fi = a->flags[g * 9 + i];
            active += fi == 1.0f;
            for (int k = 0; k < 4; k++) {
                float v = a->x[(g * 9 + i) * 4 + k];
                bad += fi == 0.0f && v != 0.0f;
                finite_bad += !isfinite(v);
            }
            for (int j = 0; j < 9; j++) {
                float v = a->adj[(g * 9 + i) * 9 + j];
                bad += (fi == 0.0f || a->flags[g * 9 + j] == 0.0f || i == j) && v != 0.0f;
                bad += v != a->adj[(g * 9 + j) * 9 + i];
                finite_bad += !isfinite(v);
            }
        }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(finite_bad, 0);
    CU_ASSERT(active > 64 * 4 && active < 64 * 9);   /* flags are rows of the table */
    free(a);
    free(b);
    free(c);
    free(d);
    sdg_gdss_model_free(m);
}

typedef struct collect {
    sdg_graph_list *all;
    size_t          firsts[8], counts[8];
    int             calls;
} collect;

static sdg_status on_chunk(const sdg_graph_list *gl, size_t first, void *ud) {
    collect *c = ud;
    if (c->calls < 8) {
        c->firsts[c->calls] = first;
        c->counts[c->calls] = gl->count;
    }
    c->calls++;
    for (size_t i = 0; i < gl->count; i++) {
        sdg_status st = sdg_graph_list_set(c->all, first + i, &gl->graphs[i]);
        if (st != SDG_OK) return st;
    }
    return SDG_OK;
}

static bool same_graph(const sdg_graph *a, const sdg_graph *b) {
    return a->n == b->n && a->m == b->m &&
           (a->m == 0 || memcmp(a->edges, b->edges, (size_t)a->m * 2 * sizeof(int64_t)) == 0);
}

static void test_qm9_chunks(void) {
    sdg_gdss_model *m = qm9_model();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    sdg_gdss_sample_params p = sdg_gdss_sample_default_params();
    p.n_steps = 20;
    p.seed = 9;
    p.batch = 4;
    collect c10 = {0}, c4 = {0};
    sdg_gdss_sample_stats s10, s4;
    CU_ASSERT_EQUAL_FATAL(sdg_graph_list_new(10, &c10.all), SDG_OK);
    CU_ASSERT_EQUAL_FATAL(sdg_graph_list_new(4, &c4.all), SDG_OK);
    CU_ASSERT_EQUAL(sdg_gdss_sample(m, &p, 10, on_chunk, &c10, &s10), SDG_OK);
    CU_ASSERT_EQUAL(sdg_gdss_sample(m, &p, 4, on_chunk, &c4, &s4), SDG_OK);
    CU_ASSERT_EQUAL(c10.calls, 3);
    CU_ASSERT(c10.firsts[0] == 0 && c10.firsts[1] == 4 && c10.firsts[2] == 8);
    CU_ASSERT(c10.counts[0] == 4 && c10.counts[1] == 4 && c10.counts[2] == 2);
    CU_ASSERT_EQUAL(s10.graphs, 10);
    CU_ASSERT_EQUAL(s10.sampled, 12);   /* the last chunk is a full batch */
    CU_ASSERT_EQUAL(s10.batch, 4);
    CU_ASSERT_EQUAL(s10.nfe, 3 * 40);
    CU_ASSERT(s10.seconds > 0 && s10.gflops_per_s > 0);
    int same = 0, edges = 0;
    for (int i = 0; i < 4; i++) {
        same += same_graph(&c10.all->graphs[i], &c4.all->graphs[i]);
        edges += (int)c10.all->graphs[i].m;
    }
    CU_ASSERT_EQUAL(same, 4);
    printf("\n  chunks: %d edges in the first 4 graphs, %.3g s, %.3g GFLOP/s\n", edges, s10.seconds,
           s10.gflops_per_s);
    /* an on_chunk failure stops the run and is returned */
    collect small = {0};
    CU_ASSERT_EQUAL_FATAL(sdg_graph_list_new(2, &small.all), SDG_OK);
    CU_ASSERT_NOT_EQUAL(sdg_gdss_sample(m, &p, 10, on_chunk, &small, NULL), SDG_OK);
    CU_ASSERT_EQUAL(small.calls, 1);
    sdg_graph_list_free(small.all);
    sdg_graph_list_free(c10.all);
    sdg_graph_list_free(c4.all);
    sdg_gdss_model_free(m);
}

int main(void) {
    static const sdg_test_case base[] = {
        {"stream offset", test_stream_offset},
        {"tiny model: VP eps / VE score", test_tiny_parameterisation},
        {NULL, NULL}};
    static const sdg_test_case all[] = {
        {"stream offset", test_stream_offset},
        {"tiny model: VP eps / VE score", test_tiny_parameterisation},
        {"qm9: determinism, threads, masks", test_qm9_determinism_threads},
        {"qm9: chunks", test_qm9_chunks},
        {NULL, NULL}};
    const char *shared = sdg_test_shared_dir();
    struct stat sb;
    bool have = false;
    if (shared) {
        snprintf(qm9_path, sizeof qm9_path, "%s/gdss/gdss_qm9.h5", shared);
        have = stat(qm9_path, &sb) == 0;
    }
    if (!have) {
        printf("gdss_qm9.h5 absent: the QM9 cases are skipped\n");
        int rc = sdg_test_main("gdss_sample", base);
        return rc ? rc : 77;
    }
    return sdg_test_main("gdss_sample", all);
}
