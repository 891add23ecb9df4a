/* GDSS sampling: the two networks as one engine callback, the (X, A) state with GDSS's score
 * parameterisation, and a chunked driver that decodes graphs as they come.
 * ref: /work/shared/gdss/README.md sections 8 (score = -out/sigma for VP, out for VE),
 * 10 (samplers), 11 (node flags from training graphs), 12 (decoding). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "graph/internal.h"

#define FLAG_STREAM (UINT64_C(1) << 63)   /* graph i's flags: stream (seed, 2^63 + i) */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- the model callback ---- */
sdg_status sdg_gdss_model_fn(const sdg_model_call *call, void *params) {
    sdg_status st = SDG_OK;
    const sdg_gdss_eval *ev = params;
    if (!call || !ev || !ev->model || !ev->ctx || !call->state || call->state->n_comp != 2)
        return SDG_ERROR(SDG_ERR_INVALID, "gdss model: needs an sdg_gdss_eval and a 2-component state");
    const sdg_gdss_model *m = ev->model;
    const sdg_gdss_params *hp = sdg_gdss_net_hparams(m->net_adj);
    const sdg_component *cx = &call->state->comp[0], *ca = &call->state->comp[1];
    const int64_t B = (int64_t)call->state->n, N = hp->N, F = hp->F;
    if (cx->dim != (size_t)(N * F) || ca->dim != (size_t)(N * N) || !ca->mask)
        return SDG_ERROR(SDG_ERR_SHAPE, "gdss model: state is not (X %lld x %lld, A %lld x %lld) with flags",
                         (long long)N, (long long)F, (long long)N, (long long)N);
    /* one network at a time, the ctx reset in between: peak memory is the larger pass's */
    sdg_ctx *ctx = ev->ctx;
    bool grad = sdg_ctx_set_grad(ctx, false);
    for (int c = 0; c < 2 && st == SDG_OK; c++) {
        if (!(call->which & (1u << c))) continue;
        sdg_ctx_reset(ctx);
        sdg_tensor *x = sdg_tensor_from(ctx, 3, (int64_t[]){B, N, F}, cx->x);
        sdg_tensor *a = sdg_tensor_from(ctx, 3, (int64_t[]){B, N, N}, ca->x);
        sdg_tensor *f = sdg_tensor_from(ctx, 2, (int64_t[]){B, N}, ca->mask);
        sdg_tensor *o = sdg_gdss_net_forward(ctx, c == 0 ? m->net_x : m->net_adj, x, a, f);
        if ((st = sdg_ctx_status(ctx)) != SDG_OK) break;
        if (!o) st = SDG_ERROR(SDG_ERR_INVALID, "gdss model: network %s returned no output", c ? "A" : "X");
        else memcpy(call->out[c], o->data, (size_t)o->size * sizeof(float));
    }
    sdg_ctx_set_grad(ctx, grad);
    return st;
}

static sdg_status component_sde(const sdg_gdss_sde *g, int n_steps, sdg_sde *out, sdg_param_kind *kind) {
    bool vp = g->kind == SDG_GDSS_SDE_KIND_VP;
    sdg_status st = sdg_sde_gdss(out, vp ? "VP" : "VE", g->lo, g->hi);
    if (st != SDG_OK) return st;
    out->N = n_steps;
    *kind = vp ? SDG_PARAM_KIND_EPS : SDG_PARAM_KIND_SCORE;
    return SDG_OK;
}

sdg_status sdg_gdss_state_init(const sdg_gdss_model *m, int n_steps, size_t n, float *x, float *adj,
                               const float *flags, sdg_state *out) {
    sdg_status st = SDG_OK;
    if (!m || !m->net_adj || !out || !x || !adj || !flags)
        return SDG_ERROR(SDG_ERR_INVALID, "gdss state: missing argument");
    if (n_steps < 1) return SDG_ERROR(SDG_ERR_INVALID, "gdss state: n_steps = %d must be >= 1", n_steps);
    const sdg_gdss_params *hp = sdg_gdss_net_hparams(m->net_adj);
    const size_t N = (size_t)hp->N, F = (size_t)hp->F;
    sdg_state s;
    memset(&s, 0, sizeof s);
    s.n = n;
    s.n_comp = 2;
    s.comp[0] = (sdg_component){.name = "X", .dim = N * F, .rows = N, .noise = SDG_NOISE_KIND_DENSE,
                                .x = x, .mask = flags};
    s.comp[1] = (sdg_component){.name = "A", .dim = N * N, .rows = N, .noise = SDG_NOISE_KIND_SYMMETRIC,
                                .x = adj, .mask = flags};
    SDG_TRY(component_sde(&m->settings.sde_x, n_steps, &s.comp[0].sde, &s.comp[0].param));
    SDG_TRY(component_sde(&m->settings.sde_adj, n_steps, &s.comp[1].sde, &s.comp[1].param));
    *out = s;
cleanup:
    return st;
}

/* ---- settings ---- */
sdg_gdss_sample_params sdg_gdss_sample_default_params(void) {
    sdg_gdss_sample_params p;
    memset(&p, 0, sizeof p);
    p.snr = -1;
    p.scale_eps = -1;
    return p;
}

sdg_status sdg_gdss_sampler_params(const sdg_gdss_model *m, const sdg_gdss_sample_params *p, size_t n,
                                   sdg_sampler_params *out, size_t *batch) {
    if (!m || !p || !out) return SDG_ERROR(SDG_ERR_INVALID, "gdss sampler: missing argument");
    const sdg_gdss_settings *s = &m->settings;
    sdg_sampler_params q = sdg_sampler_default_params();
    bool s4 = strcasecmp(s->predictor, "S4") == 0;
    if (strcasecmp(s->predictor, "Reverse") == 0 || s4) q.predictor = sdg_predictor_reverse;
    else if (strcasecmp(s->predictor, "Euler") == 0) q.predictor = sdg_predictor_euler;
    else return SDG_ERROR(SDG_ERR_INVALID, "gdss sampler: unknown predictor '%s' in the settings", s->predictor);
    if (strcasecmp(s->corrector, "Langevin") == 0) q.corrector = sdg_corrector_langevin;
    else if (strcasecmp(s->corrector, "None") == 0) q.corrector = sdg_corrector_none;
    else return SDG_ERROR(SDG_ERR_INVALID, "gdss sampler: unknown corrector '%s' in the settings", s->corrector);
    q.type = p->sampler ? p->sampler : s4 ? sdg_sampler_s4 : sdg_sampler_pc;
    if (p->predictor) q.predictor = p->predictor;
    if (p->corrector) q.corrector = p->corrector;
    if (p->ode) q.ode = p->ode;
    if (q.type == sdg_sampler_s4) {   /* S4 has no predictor/corrector choice: report none */
        q.predictor = sdg_predictor_none;
        q.corrector = sdg_corrector_none;
    }
    if (q.type == sdg_sampler_ode) {
        q.predictor = sdg_predictor_none;
        q.corrector = sdg_corrector_none;
    }
    if (q.type == sdg_sampler_edm) return SDG_ERROR(SDG_ERR_INVALID, "gdss sampler: edm needs the EDM family");
    q.n_steps = p->n_steps > 0 ? p->n_steps : s->sde_adj.n_steps;
    if (q.n_steps < 1) return SDG_ERROR(SDG_ERR_INVALID, "gdss sampler: steps = %d must be >= 1", q.n_steps);
    q.n_corrector = 1;
    q.snr = (float)(p->snr >= 0 ? p->snr : s->snr);
    q.scale_eps = (float)(p->scale_eps >= 0 ? p->scale_eps : s->scale_eps);
    q.eps = (float)(p->eps > 0 ? p->eps : s->eps > 0 ? s->eps : 1e-4);
    q.seed = p->seed;
    q.hook = p->hook;
    q.hook_params = p->hook_params;
    q.denoise = true;   /* GDSS noise_removal: the last step's mean */
    if (batch) {
        size_t b = p->batch ? p->batch : s->batch > 0 ? (size_t)s->batch : 1;
        if (n > 0 && b > n) b = n;
        *batch = b;
    }
    *out = q;
    return SDG_OK;
}

/* ---- one chunk ---- */
static const sdg_gdss_flags *flag_table(const sdg_gdss_model *m, const sdg_gdss_sample_params *p) {
    return p->flags ? p->flags : &m->flags;
}

sdg_status sdg_gdss_sample_dense(const sdg_gdss_model *m, const sdg_gdss_sample_params *p, size_t first,
                                 size_t count, float *x, float *adj, float *flags,
                                 sdg_gdss_sample_stats *stats) {
    sdg_status st = SDG_OK;
    sdg_ctx *ctx = NULL;
    sdg_rng *rng = NULL;
    sdg_sampler *smp = NULL;
    sdg_sampler_params q;
    sdg_sampler_stats ss = {0};
    sdg_state state;
    if (!m || !m->net_x || !m->net_adj || !p || !x || !adj || !flags || count == 0)
        return SDG_ERROR(SDG_ERR_INVALID, "gdss sample: missing argument or no graphs");
    const sdg_gdss_flags *tab = flag_table(m, p);
    const int64_t N = sdg_gdss_net_hparams(m->net_adj)->N;
    if (tab->count == 0 || tab->total < 1)
        return SDG_ERROR(SDG_ERR_INVALID, "gdss sample: no node-flag table (import the model with the "
                         "training data, or pass one)");
    if (tab->N != N)
        return SDG_ERROR(SDG_ERR_SHAPE, "gdss sample: flag rows have %lld nodes, the model %lld",
                         (long long)tab->N, (long long)N);
    SDG_TRY(sdg_gdss_sampler_params(m, p, count, &q, NULL));
    q.stream_offset = first;
    SDG_TRY(sdg_rng_stream(p->seed, FLAG_STREAM + first, &rng));
    for (size_t i = 0; i < count; i++) {   /* README 11: a training graph's flags per sample */
        sdg_rng_reset(rng, p->seed, FLAG_STREAM + first + i);
        sdg_gdss_flags_draw(tab, rng, flags + i * (size_t)N);
    }
    SDG_TRY(sdg_gdss_state_init(m, q.n_steps, count, x, adj, flags, &state));
    SDG_TRY(sdg_ctx_new(0, &ctx));
    SDG_TRY(sdg_sampler_new(&q, &state, &smp));
    sdg_gdss_eval ev = {.model = m, .ctx = ctx};
    sdg_model model = {.fn = sdg_gdss_model_fn, .params = &ev};
    st = sdg_sampler_run(smp, &model, &state, &ss);
    if (stats) {
        stats->sampler = q;
        stats->nfe += ss.nfe;
        stats->flops += sdg_ctx_flops_total(ctx);
        size_t peak = sdg_arena_peak(sdg_ctx_arena(ctx));
        if (peak > stats->peak_bytes) stats->peak_bytes = peak;
        stats->sampled += count;
        stats->weights_ema = m->weights_ema;
    }
cleanup:
    sdg_sampler_free(smp);
    sdg_ctx_free(ctx);
    sdg_rng_free(rng);
    return st;
}

/* ---- the chunked driver ---- */
sdg_status sdg_gdss_sample_chunks(const sdg_gdss_model *m, const sdg_gdss_sample_params *p, size_t n,
                                  size_t start, sdg_gdss_dense_fn on_dense, void *ud,
                                  sdg_gdss_sample_stats *stats) {
    sdg_status st = SDG_OK;
    float *x = NULL, *adj = NULL, *flags = NULL;
    sdg_gdss_sample_stats acc;
    size_t b = 0;
    double t0 = now_s();
    memset(&acc, 0, sizeof acc);
    if (!m || !m->net_adj || !p || !on_dense) return SDG_ERROR(SDG_ERR_INVALID, "gdss sample: missing argument");
    if (n == 0) return SDG_ERROR(SDG_ERR_INVALID, "gdss sample: n = 0 graphs");
    SDG_TRY(sdg_gdss_sampler_params(m, p, n, &acc.sampler, &b));
    acc.batch = b;
    acc.weights_ema = m->weights_ema;
    if (start > n || (start % b != 0 && start != n))
        SDG_FAIL(SDG_ERR_INVALID, "gdss sample: start %zu is not a multiple of the batch %zu (or n)", start, b);
    const sdg_gdss_params *hp = sdg_gdss_net_hparams(m->net_adj);
    const size_t N = (size_t)hp->N, F = (size_t)hp->F;
    x = malloc(b * N * F * sizeof *x);
    adj = malloc(b * N * N * sizeof *adj);
    flags = malloc(b * N * sizeof *flags);
    if (!x || !adj || !flags) SDG_FAIL(SDG_ERR_NOMEM, "gdss sample: out of memory for a chunk of %zu graphs", b);
    for (size_t first = start; first < n; first += b) {
        size_t keep = n - first < b ? n - first : b;   /* the last chunk is sampled in full */
        SDG_TRY(sdg_gdss_sample_dense(m, p, first, b, x, adj, flags, &acc));
        SDG_TRY(on_dense(x, adj, flags, first, keep, ud));
        acc.graphs += keep;
    }
cleanup:
    acc.seconds = now_s() - t0;
    acc.gflops_per_s = acc.seconds > 0 ? acc.flops / acc.seconds * 1e-9 : 0.0;
    if (stats) *stats = acc;
    free(x);
    free(adj);
    free(flags);
    return st;
}

/* Decodes a chunk into graphs for sdg_gdss_sample's callback. */
typedef struct graph_chunk {
    sdg_gdss_chunk_fn on_chunk;
    void             *ud;
    int64_t           N;
} graph_chunk;

static sdg_status graph_chunk_fn(const float *x, const float *adj, const float *flags, size_t first,
                                 size_t count, void *ud) {
    sdg_status st = SDG_OK;
    const graph_chunk *gc = ud;
    sdg_graph_list *gl = NULL;
    (void)x;
    SDG_TRY(sdg_graph_list_from_dense(adj, flags, (int64_t)count, gc->N, &gl));
    SDG_TRY(gc->on_chunk(gl, first, gc->ud));
cleanup:
    sdg_graph_list_free(gl);
    return st;
}

sdg_status sdg_gdss_sample(const sdg_gdss_model *m, const sdg_gdss_sample_params *p, size_t n,
                           sdg_gdss_chunk_fn on_chunk, void *ud, sdg_gdss_sample_stats *stats) {
    if (!m || !m->net_adj || !p || !on_chunk) return SDG_ERROR(SDG_ERR_INVALID, "gdss sample: missing argument");
    graph_chunk gc = {.on_chunk = on_chunk, .ud = ud, .N = sdg_gdss_net_hparams(m->net_adj)->N};
    return sdg_gdss_sample_chunks(m, p, n, 0, graph_chunk_fn, &gc, stats);
}
