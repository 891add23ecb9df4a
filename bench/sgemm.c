/* bench_sgemm: the reference every speed figure is compared with, a 1024^3 sgemm through
 * sdg_matmul (grad mode off: one cblas_sgemm with OpenBLAS), on `threads` threads.
 *   bench_sgemm [reps] [threads]      defaults: 9 repetitions, 2 threads
 * Prints one line: "sgemm1024 <median GFLOP/s> <best GFLOP/s>". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "sdegen/sdegen.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 9, threads = argc > 2 ? atoi(argv[2]) : 2;
    if (reps < 1 || reps > 1000 || threads < 1) return 2;
    sdg_ctx *ctx = NULL;
    sdg_rng *rng = NULL;
    if (sdg_init() != SDG_OK || sdg_ctx_new(0, &ctx) != SDG_OK || sdg_rng_new(1, &rng) != SDG_OK) return 1;
    sdg_set_num_threads(threads);
    sdg_ctx_set_grad(ctx, false);
    double *gf = malloc((size_t)reps * sizeof *gf);
    for (int r = 0; r <= reps; r++) {
        sdg_ctx_reset(ctx);
        sdg_tensor *a = sdg_tensor_newv(ctx, 2, 1024, 1024), *b = sdg_tensor_newv(ctx, 2, 1024, 1024);
        if (!a || !b) return 1;
        sdg_rng_fill_gaussian(rng, a->data, (size_t)a->size);
        sdg_rng_fill_gaussian(rng, b->data, (size_t)b->size);
        double t0 = now();
        sdg_tensor *y = sdg_matmul(ctx, a, b, false, false);
        double dt = now() - t0;
        if (!y) {
            fprintf(stderr, "bench_sgemm: %s\n", sdg_errmsg());
            return 1;
        }
        if (r > 0) gf[r - 1] = 2.0 * 1024 * 1024 * 1024 / dt * 1e-9;   /* r = 0 warms up */
    }
    qsort(gf, (size_t)reps, sizeof *gf, cmp_d);
    double med = reps % 2 ? gf[reps / 2] : 0.5 * (gf[reps / 2 - 1] + gf[reps / 2]);
    printf("sgemm1024 %.1f %.1f\n", med, gf[reps - 1]);
    free(gf);
    sdg_rng_free(rng);
    sdg_ctx_free(ctx);
    return 0;
}
