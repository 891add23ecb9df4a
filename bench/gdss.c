/* bench_gdss: one GDSS network call (ScoreNetworkX + ScoreNetworkA with the published weights
 * of any of the six checkpoints, grad mode off, as sampling uses them) against a 1024^3 sgemm
 * measured in the same run; for QM9 also the SDE engine's own work per model call.
 *   bench_gdss GDSS_H5 [batch] [reps]      batch 0 or absent: the dataset's sampling batch
 * (README section 7: community_small 128, ego_small 128, ENZYMES 64, grid 8; QM9 1000 and
 * ZINC250k 1024 instead of 10000). Inputs: graph b has its first n_b nodes active, n_b spread
 * over [max(2, N/4), N] in 8 steps (like the /fixture batches); x and adj are N(0, 1), masked,
 * adj symmetric with a zero diagonal.
 * Prints medians over reps: network X, A and X+A forward ms, GFLOP (ctx FLOP counter), GFLOP/s,
 * arena peak MiB, the process CPU time per X+A call (all threads), the same-run sgemm GFLOP/s (the faster of one run before and one after the
 * network calls: sdg_matmul with grad mode off, as bench_nn) and the ratio. For QM9 also the
 * targets: one X+A call at batch 1000 in <= 20 ms, i.e. 1000 molecules with the full
 * 1000-step predictor-corrector sampler (2000 calls of each network) in <= 40 s.
 * BENCH_GDSS_NO_ENGINE=1 skips the engine measurement (for profiling the networks alone). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "bench_util.h"
#include "sdegen/sdegen.h"

static double now(void) { return bench_clock(CLOCK_MONOTONIC); }
static double cpu_now(void) { return bench_clock(CLOCK_PROCESS_CPUTIME_ID); }

/* The cheapest possible model: score = -x. What remains is the engine's own work. */
static sdg_status free_model(const sdg_model_call *call, void *params) {
    (void)params;
    for (int c = 0; c < call->state->n_comp; c++) {
        const sdg_component *k = &call->state->comp[c];
        for (size_t i = 0; i < call->state->n * k->dim; i++) call->out[c][i] = -k->x[i];
    }
    return SDG_OK;
}

static double engine_ms_per_call(const sdg_sampler_type *type, int64_t B, int64_t N, int64_t F,
                                 float *x, float *a, const float *flags) {
    enum { STEPS = 40 };
    sdg_state st = {.n = (size_t)B, .n_comp = 2};
    st.comp[0] = (sdg_component){"X", (size_t)(N * F), (size_t)N, SDG_NOISE_KIND_DENSE,
                                 SDG_PARAM_KIND_SCORE, {0}, x, flags, false};
    st.comp[1] = (sdg_component){"A", (size_t)(N * N), (size_t)N, SDG_NOISE_KIND_SYMMETRIC,
                                 SDG_PARAM_KIND_SCORE, {0}, a, flags, false};
    sdg_sde_init(&st.comp[0].sde, sdg_sde_ve, 0.1, 1.0, STEPS);
    sdg_sde_init(&st.comp[1].sde, sdg_sde_ve, 0.1, 1.0, STEPS);
    sdg_sampler_params p = sdg_sampler_default_params();
    p.type = type;
    p.n_steps = STEPS;
    p.snr = 0.2f;
    p.scale_eps = 0.7f;
    sdg_sampler *s = NULL;
    sdg_sampler_stats stats = {0};
    sdg_model m = {.fn = free_model};
    if (sdg_sampler_new(&p, &st, &s) != SDG_OK) return -1;
    double t0 = now();
    sdg_status rc = sdg_sampler_run(s, &m, &st, &stats);
    double dt = now() - t0;
    sdg_sampler_free(s);
    return rc == SDG_OK && stats.nfe > 0 ? 1e3 * dt / (double)stats.nfe : -1;
}

/* GFLOP/s of a 1024^3 sdg_matmul (grad off), median of reps. */
static double sgemm_gflops(sdg_ctx *ctx, sdg_rng *rng, int reps) {
    double t[100];
    for (int r = -2; r < reps; r++) {
        sdg_ctx_reset(ctx);
        sdg_tensor *a = sdg_tensor_newv(ctx, 2, (int64_t)1024, (int64_t)1024);
        sdg_tensor *b = sdg_tensor_newv(ctx, 2, (int64_t)1024, (int64_t)1024);
        if (!a || !b) return -1;
        sdg_rng_fill_uniform(rng, a->data, (size_t)a->size, -1, 1);
        sdg_rng_fill_uniform(rng, b->data, (size_t)b->size, -1, 1);
        double t0 = now();
        sdg_tensor *y = sdg_matmul(ctx, a, b, false, false);
        double dt = now() - t0;
        if (!y) return -1;
        if (r >= 0) t[r] = dt;
    }
    sdg_ctx_reset(ctx);
    return 2.0 * 1024 * 1024 * 1024 / bench_median(t, reps) * 1e-9;
}

/* Sampling batch of README section 7 (QM9: 1000, the batch of the 40 s target below;
 * ZINC250k 1024; instead of one batch of 10000). */
static int64_t default_batch(const char *dataset) {
    static const struct { const char *name; int64_t batch; } table[] = {
        {"community_small", 128}, {"ego_small", 128}, {"ENZYMES", 64},
        {"grid", 8},              {"QM9", 1000},      {"ZINC250k", 1024},
    };
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strcasecmp(table[i].name, dataset) == 0) return table[i].batch;
    return 64;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_gdss GDSS_H5 [batch] [reps]\n");
        return 2;
    }
    int64_t B = argc > 2 ? atol(argv[2]) : 0;
    int reps = argc > 3 ? atoi(argv[3]) : 9;
    if (B < 0 || reps < 1 || reps > 100) return 2;
    sdg_init();
    sdg_gdss_model *m = NULL;
    sdg_ctx *ctx = NULL, *ref = NULL;
    sdg_rng *rng = NULL;
    if (sdg_gdss_model_read_reference(argv[1], &m) || sdg_ctx_new(0, &ctx) ||
        sdg_ctx_new(0, &ref) || sdg_rng_new(5, &rng)) {
        fprintf(stderr, "bench_gdss: %s\n", sdg_errmsg());
        return 1;
    }
    const char *ds = m->settings.dataset;
    const int64_t N = sdg_gdss_net_hparams(m->net_x)->N, F = sdg_gdss_net_hparams(m->net_x)->F;
    if (B == 0) B = default_batch(ds);
    sdg_ctx_set_grad(ref, false);
    double gemm0 = sgemm_gflops(ref, rng, 5);

    float *x = malloc((size_t)(B * N * F) * 4), *adj = malloc((size_t)(B * N * N) * 4);
    float *fl = malloc((size_t)(B * N) * 4);
    const int64_t lo = N / 4 > 2 ? N / 4 : 2;
    for (int64_t b = 0; b < B; b++) {   /* graphs of lo..N nodes (QM9: 2..9) */
        int64_t n = lo + (N - lo) * (b % 8) / 7;
        for (int64_t i = 0; i < N; i++) {
            fl[b * N + i] = i < n ? 1.0f : 0.0f;
            for (int64_t f = 0; f < F; f++)
                x[(b * N + i) * F + f] = fl[b * N + i] * (float)sdg_rng_gaussian(rng);
        }
        for (int64_t i = 0; i < N; i++)
            for (int64_t j = 0; j <= i; j++) {
                float v = i == j ? 0.0f : (float)sdg_rng_gaussian(rng) * fl[b * N + i] * fl[b * N + j];
                adj[(b * N + i) * N + j] = adj[(b * N + j) * N + i] = v;
            }
    }
    sdg_ctx_set_grad(ctx, false);
    double tx[100], ta[100], net[100], cpu[100], fx = 0, fa = 0;
    size_t peak_x = 0, peak_a = 0;
    for (int r = -1; r < reps; r++) {   /* r = -1: warm-up (the arena reaches its peak) */
        sdg_tensor *o[2] = {NULL, NULL};
        double dt[2], fl_net[2], c0 = cpu_now();
        for (int k = 0; k < 2; k++) {
            sdg_ctx_reset(ctx);
            sdg_ctx_flops_clear(ctx);
            double t0 = now();
            sdg_tensor *tx_ = sdg_tensor_from(ctx, 3, (int64_t[]){B, N, F}, x);
            sdg_tensor *ta_ = sdg_tensor_from(ctx, 3, (int64_t[]){B, N, N}, adj);
            sdg_tensor *tf_ = sdg_tensor_from(ctx, 2, (int64_t[]){B, N}, fl);
            o[k] = sdg_gdss_net_forward(ctx, k ? m->net_adj : m->net_x, tx_, ta_, tf_);
            dt[k] = now() - t0;
            fl_net[k] = sdg_ctx_flops_total(ctx);
            size_t used = sdg_arena_used(sdg_ctx_arena(ctx));
            if (k == 0 && used > peak_x) peak_x = used;
            if (k == 1 && used > peak_a) peak_a = used;
            if (!o[k]) {
                fprintf(stderr, "bench_gdss: %s\n", sdg_errmsg());
                return 1;
            }
        }
        fx = fl_net[0];
        fa = fl_net[1];
        if (r < 0) continue;
        cpu[r] = 1e3 * (cpu_now() - c0);
        tx[r] = 1e3 * dt[0];
        ta[r] = 1e3 * dt[1];
        net[r] = tx[r] + ta[r];
    }
    double gemm1 = sgemm_gflops(ref, rng, 5), gemm = gemm0 > gemm1 ? gemm0 : gemm1;
    double mx = bench_median(tx, reps), ma = bench_median(ta, reps), mn = bench_median(net, reps), f = fx + fa;
    double peak = (double)sdg_arena_peak(sdg_ctx_arena(ctx)) / (1 << 20), gfs = f * 1e-9 / (mn * 1e-3);
    printf("# bench_gdss: %s weights (N %lld, F %lld), batch %lld, %d reps (medians), %d threads\n",
           ds, (long long)N, (long long)F, (long long)B, reps, sdg_num_threads());
    printf("network X forward        %9.2f ms  %.3f GFLOP  %.1f GFLOP/s  arena end %.1f MiB\n", mx,
           fx * 1e-9, fx * 1e-9 / (mx * 1e-3), (double)peak_x / (1 << 20));
    printf("network A forward        %9.2f ms  %.3f GFLOP  %.1f GFLOP/s  arena end %.1f MiB\n", ma,
           fa * 1e-9, fa * 1e-9 / (ma * 1e-3), (double)peak_a / (1 << 20));
    printf("network X+A forward      %9.2f ms  %.3f GFLOP  %.1f GFLOP/s  arena peak %.1f MiB\n", mn,
           f * 1e-9, gfs, peak);
    printf("network X+A CPU time     %9.2f ms  (all threads; the work, whatever the load)\n",
           bench_median(cpu, reps));
    printf("sgemm 1024^3 same run    %9.1f GFLOP/s (before %.1f, after %.1f)\n", gemm, gemm0, gemm1);
    printf("ratio network / sgemm    %9.3f\n", gfs / gemm);
    printf("TSV\t%s\t%lld\t%.2f\t%.3f\t%.1f\t%.1f\t%.3f\t%.1f\n", ds, (long long)B, mn, f * 1e-9, gfs,
           gemm, gfs / gemm, peak);
    if (strcasecmp(ds, "QM9") == 0) {
        printf("QM9 target, batch %lld    %9.2f ms per X+A call (<= 20 ms at batch 1000: %s); 2000 calls "
               "= %.1f s (<= 40 s)\n", (long long)B, mn, B == 1000 ? (mn <= 20.0 ? "met" : "NOT met") : "n/a",
               2000.0 * mn * 1e-3);
        printf("TSV_QM9\t%lld\t%.2f\t%.1f\t%s\n", (long long)B, mn, 2000.0 * mn * 1e-3,
               B == 1000 && mn <= 20.0 ? "met" : "not_met");
    }
    if (strcasecmp(ds, "QM9") == 0 && !getenv("BENCH_GDSS_NO_ENGINE")) {   /* the SDE engine's own work next to a network call */
        double pc[100], s4[100];
        float *xs = malloc((size_t)(B * N * F) * 4), *as = malloc((size_t)(B * N * N) * 4);
        for (int r = 0; r < reps; r++) {
            pc[r] = engine_ms_per_call(sdg_sampler_pc, B, N, F, xs, as, fl);
            s4[r] = engine_ms_per_call(sdg_sampler_s4, B, N, F, xs, as, fl);
        }
        free(xs);
        free(as);
        double mpc = bench_median(pc, reps), ms4 = bench_median(s4, reps);
        printf("engine per call, PC      %9.3f ms  = %.2f %% of a network call\n", mpc, 100 * mpc / mn);
        printf("engine per call, S4      %9.3f ms  = %.2f %% of a network call\n", ms4, 100 * ms4 / mn);
    }
    free(x);
    free(adj);
    free(fl);
    sdg_rng_free(rng);
    sdg_ctx_free(ctx);
    sdg_ctx_free(ref);
    sdg_gdss_model_free(m);
    return 0;
}
