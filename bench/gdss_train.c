/* bench_gdss_train: GDSS training steps (ScoreNetworkX + ScoreNetworkA, forward + backward,
 * clipping, Adam, EMA: sdg_gdss_trainer_step) at a dataset preset's shapes on random
 * molecule-like graphs, timed by wall clock and by process CPU time (all threads: the work,
 * whatever the load of a shared machine).
 *   bench_gdss_train [dataset] [batch] [steps]     defaults: qm9, the preset's batch (1024), 12
 * Graphs: n_b in [max(2, N/4), N] active nodes (in 8 steps, as bench_gdss), a random tree plus
 * a few extra bonds of order 1-3, one-hot atom types; the first 2 steps are warm-up (the arena
 * reaches its size). Prints medians per step: wall ms, CPU ms, samples/s by wall and by CPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench_util.h"
#include "sdegen/sdegen.h"

int main(int argc, char **argv) {
    const char *ds = argc > 1 ? argv[1] : "qm9";
    int batch = argc > 2 ? atoi(argv[2]) : 0, steps = argc > 3 ? atoi(argv[3]) : 12;
    if (batch < 0 || steps < 1 || steps > 1000) return 2;
    sdg_init();
    sdg_gdss_params hx, ha;
    sdg_gdss_settings set;
    sdg_gdss_train_params tp;
    sdg_gdss_model *m = NULL;
    sdg_gdss_trainer *tr = NULL;
    sdg_rng *rng = NULL;
    if (sdg_gdss_preset(ds, &hx, &ha, &set, &tp) || sdg_rng_new(7, &rng) ||
        sdg_gdss_model_new(&hx, &ha, &set, rng, &m)) {
        fprintf(stderr, "bench_gdss_train: %s\n", sdg_errmsg());
        return 1;
    }
    if (batch) tp.batch = batch;
    const int64_t N = ha.N, F = ha.F, G = 4 * (int64_t)tp.batch, lo = N / 4 > 2 ? N / 4 : 2;
    float *X = calloc((size_t)(G * N * F), sizeof(float)), *A = calloc((size_t)(G * N * N), sizeof(float));
    for (int64_t g = 0; g < G; g++) {
        const int64_t n = lo + (N - lo) * (g % 8) / 7;
        float *a = A + g * N * N;
        for (int64_t i = 0; i < n; i++) {
            X[(g * N + i) * F + sdg_rng_uint(rng, (uint64_t)F)] = 1.0f;
            for (int e = 0; e < (i ? 1 : 0) + (sdg_rng_uint(rng, 4) == 0); e++) {
                int64_t j = (int64_t)sdg_rng_uint(rng, (uint64_t)(i ? i : 1));
                if (j == i) continue;
                a[i * N + j] = a[j * N + i] = (float)(1 + sdg_rng_uint(rng, 3));
            }
        }
    }
    sdg_gdss_data data = {G, X, A, NULL};
    if (sdg_gdss_trainer_new_dense(m, &data, &tp, &tr)) {
        fprintf(stderr, "bench_gdss_train: %s\n", sdg_errmsg());
        return 1;
    }
    size_t *idx = malloc((size_t)tp.batch * sizeof *idx);
    double wall[1000], cpu[1000], lx = 0, la = 0;
    for (int s = -2; s < steps; s++) {
        for (int k = 0; k < tp.batch; k++) idx[k] = (size_t)sdg_rng_uint(rng, (uint64_t)G);
        double w0 = bench_clock(CLOCK_MONOTONIC), c0 = bench_clock(CLOCK_PROCESS_CPUTIME_ID);
        if (sdg_gdss_trainer_step(tr, idx, (size_t)tp.batch, &lx, &la)) {
            fprintf(stderr, "bench_gdss_train: %s\n", sdg_errmsg());
            return 1;
        }
        if (s < 0) continue;
        wall[s] = 1e3 * (bench_clock(CLOCK_MONOTONIC) - w0);
        cpu[s] = 1e3 * (bench_clock(CLOCK_PROCESS_CPUTIME_ID) - c0);
    }
    double mw = bench_median(wall, steps), mc = bench_median(cpu, steps);
    printf("# bench_gdss_train: %s preset (N %lld, F %lld), batch %d, %d steps (medians), %d threads\n",
           ds, (long long)N, (long long)F, tp.batch, steps, sdg_num_threads());
    printf("step wall %9.1f ms  %8.0f samples/s\n", mw, tp.batch / (mw * 1e-3));
    printf("step CPU  %9.1f ms  %8.0f samples per CPU-second (all threads)\n", mc, tp.batch / (mc * 1e-3));
    printf("last losses x %.4f adj %.4f\n", lx, la);
    printf("TSV\t%s\t%d\t%d\t%.1f\t%.1f\t%.0f\t%.0f\n", ds, tp.batch, sdg_num_threads(), mw, mc,
           tp.batch / (mw * 1e-3), tp.batch / (mc * 1e-3));
    free(idx);
    free(X);
    free(A);
    sdg_gdss_trainer_free(tr);
    sdg_gdss_model_free(m);
    sdg_rng_free(rng);
    return 0;
}
