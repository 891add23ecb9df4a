/* bench_gdss: one GDSS network call (ScoreNetworkX + ScoreNetworkA with the published QM9
 * weights, grad mode off) against the SDE engine's own work per model call at the same batch
 * and state layout (X: 9 x 4 dense, A: 9 x 9 symmetric, masked), measured in the same run.
 *   bench_gdss GDSS_QM9_H5 [batch] [reps]
 * Prints medians: network ms, GFLOP/s (ctx FLOP counter), engine ms per model call for the PC
 * (reverse diffusion + Langevin) and S4 samplers, and engine / network. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "sdegen/sdegen.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The cheapest possible model: score = -x. What remains is the engine's own work. */
static sdg_status free_model(const sdg_model_call *call, void *params) {
    (void)params;
    for (int c = 0; c < call->state->n_comp; c++) {
        const sdg_component *k = &call->state->comp[c];
        for (size_t i = 0; i < call->state->n * k->dim; i++) call->out[c][i] = -k->x[i];
    }
    return SDG_OK;
}

static double engine_ms_per_call(const sdg_sampler_type *type, int64_t B, float *x, float *a,
                                 const float *flags) {
    enum { STEPS = 40 };
    sdg_state st = {.n = (size_t)B, .n_comp = 2};
    st.comp[0] = (sdg_component){"X", 36, 9, SDG_NOISE_KIND_DENSE, SDG_PARAM_KIND_SCORE, {0}, x, flags};
    st.comp[1] = (sdg_component){"A", 81, 9, SDG_NOISE_KIND_SYMMETRIC, SDG_PARAM_KIND_SCORE, {0}, a, flags};
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

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_gdss GDSS_QM9_H5 [batch] [reps]\n");
        return 2;
    }
    int64_t B = argc > 2 ? atol(argv[2]) : 1024;
    int reps = argc > 3 ? atoi(argv[3]) : 9;
    const int64_t N = 9, F = 4;
    if (B < 1 || reps < 1 || reps > 100) return 2;
    sdg_init();
    sdg_gdss_model *m = NULL;
    sdg_ctx *ctx = NULL;
    sdg_rng *rng = NULL;
    if (sdg_gdss_model_read_reference(argv[1], &m) || sdg_ctx_new(0, &ctx) || sdg_rng_new(5, &rng)) {
        fprintf(stderr, "bench_gdss: %s\n", sdg_errmsg());
        return 1;
    }
    float *x = malloc((size_t)(B * N * F) * 4), *adj = malloc((size_t)(B * N * N) * 4);
    float *fl = malloc((size_t)(B * N) * 4);
    for (int64_t b = 0; b < B; b++) {   /* graphs of 2..9 atoms, like QM9 */
        int64_t n = 2 + b % 8;
        for (int64_t i = 0; i < N; i++) {
            fl[b * N + i] = i < n ? 1.0f : 0.0f;
            for (int64_t f = 0; f < F; f++) x[(b * N + i) * F + f] = fl[b * N + i] * (float)sdg_rng_gaussian(rng);
        }
        for (int64_t i = 0; i < N; i++)
            for (int64_t j = 0; j <= i; j++) {
                float v = i == j ? 0.0f : (float)sdg_rng_gaussian(rng) * fl[b * N + i] * fl[b * N + j];
                adj[(b * N + i) * N + j] = adj[(b * N + j) * N + i] = v;
            }
    }
    sdg_ctx_set_grad(ctx, false);
    double net[100], pc[100], s4[100], flops = 0;
    for (int r = 0; r < reps + 1; r++) {
        sdg_ctx_reset(ctx);
        sdg_ctx_flops_clear(ctx);
        double t0 = now();
        sdg_tensor *tx = sdg_tensor_from(ctx, 3, (int64_t[]){B, N, F}, x);
        sdg_tensor *ta = sdg_tensor_from(ctx, 3, (int64_t[]){B, N, N}, adj);
        sdg_tensor *tf = sdg_tensor_from(ctx, 2, (int64_t[]){B, N}, fl);
        sdg_tensor *ox = sdg_gdss_net_forward(ctx, m->net_x, tx, ta, tf);
        sdg_tensor *oa = sdg_gdss_net_forward(ctx, m->net_adj, tx, ta, tf);
        double dt = now() - t0;
        if (!ox || !oa) {
            fprintf(stderr, "bench_gdss: %s\n", sdg_errmsg());
            return 1;
        }
        flops = sdg_ctx_flops_total(ctx);
        if (r == 0) continue;   /* warm-up: the arena reaches its peak */
        net[r - 1] = 1e3 * dt;
        float *xs = malloc((size_t)(B * N * F) * 4), *as = malloc((size_t)(B * N * N) * 4);
        pc[r - 1] = engine_ms_per_call(sdg_sampler_pc, B, xs, as, fl);
        s4[r - 1] = engine_ms_per_call(sdg_sampler_s4, B, xs, as, fl);
        free(xs);
        free(as);
    }
    double mn = median(net, reps), mpc = median(pc, reps), ms4 = median(s4, reps);
    printf("# bench_gdss: QM9 weights, batch %lld, %d reps (medians), %d threads\n", (long long)B, reps,
           sdg_num_threads());
    printf("network X+A forward      %9.2f ms  %.3f GFLOP  %.1f GFLOP/s  arena peak %.0f MiB\n", mn,
           flops * 1e-9, flops * 1e-9 / (mn * 1e-3), (double)sdg_arena_peak(sdg_ctx_arena(ctx)) / (1 << 20));
    printf("engine per call, PC      %9.3f ms  = %.2f %% of a network call\n", mpc, 100 * mpc / mn);
    printf("engine per call, S4      %9.3f ms  = %.2f %% of a network call\n", ms4, 100 * ms4 / mn);
    free(x);
    free(adj);
    free(fl);
    sdg_rng_free(rng);
    sdg_ctx_free(ctx);
    sdg_gdss_model_free(m);
    return 0;
}
