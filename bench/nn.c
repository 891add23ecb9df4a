/* bench_nn: forward + backward time of the matrix-product ops at GDSS-QM9 shapes (1024 graphs
 * of 9 nodes), against a 1024^3 sgemm measured in the same run.
 *   bench_nn [reps] [threads]      defaults: 15 repetitions, 2 threads
 * Cases: linear layers, bmm adj @ h with gradients to both operands, the same with a constant
 * adj (gradient to h only, as ScoreNetworkX's GCN on the input adjacency), and the GCN composite.
 * Prints one tab-separated line per case: name, median ms (forward + backward), GFLOP/s (from
 * the ctx FLOP counter, forward + backward), ratio to the same-run sgemm GFLOP/s.
 * The sgemm reference is sdg_matmul on 1024 x 1024 matrices with grad mode off: a single
 * cblas_sgemm with OpenBLAS on `threads` threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sdegen/sdegen.h"

#define QM9_B 1024
#define QM9_N 9

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One case: inputs made fresh in the ctx each repetition (not timed), then forward, the
 * output's seed gradient (not timed), backward. */
typedef enum { CASE_LINEAR, CASE_BMM, CASE_BMM_CONST, CASE_GCN, CASE_SGEMM } case_kind;
typedef struct bench_case {
    case_kind kind;
    int64_t   fin, fout;   /* linear / gcn: features in and out; bmm: F in fout */
} bench_case;

static void fill(sdg_rng *rng, sdg_tensor *t) { sdg_rng_fill_uniform(rng, t->data, (size_t)t->size, -1, 1); }

static sdg_tensor *leaf(sdg_ctx *ctx, sdg_rng *rng, bool grad, int ndim, int64_t d0, int64_t d1,
                        int64_t d2) {
    sdg_tensor *t = ndim == 2 ? sdg_tensor_newv(ctx, 2, d0, d1) : sdg_tensor_newv(ctx, 3, d0, d1, d2);
    if (!t) return NULL;
    fill(rng, t);
    return grad ? sdg_tensor_requires_grad(ctx, t) : t;
}

/* Returns the median seconds; *flops gets the counted FLOPs of one repetition. */
static double run_case(sdg_ctx *ctx, sdg_rng *rng, const bench_case *c, int reps, double *flops) {
    double *times = malloc((size_t)reps * sizeof(double));
    int warm = 3;
    for (int r = -warm; r < reps; r++) {
        sdg_ctx_reset(ctx);
        sdg_ctx_flops_clear(ctx);
        sdg_tensor *y = NULL, *in0 = NULL, *in1 = NULL, *in2 = NULL;
        double t0, t_fwd, t_bwd;
        switch (c->kind) {
        case CASE_LINEAR:   /* x (B N, fin) -> (B N, fout), weight and bias */
            in0 = leaf(ctx, rng, true, 2, QM9_B * QM9_N, c->fin, 0);
            in1 = leaf(ctx, rng, true, 2, c->fout, c->fin, 0);
            in2 = sdg_tensor_requires_grad(ctx, sdg_tensor_newv(ctx, 1, c->fout));
            fill(rng, in2);
            t0 = now();
            y = sdg_linear_op(ctx, in0, in1, in2);
            break;
        case CASE_BMM:      /* adj (B, N, N) @ h (B, N, F), both with gradients */
            in0 = leaf(ctx, rng, true, 3, QM9_B, QM9_N, QM9_N);
            in1 = leaf(ctx, rng, true, 3, QM9_B, QM9_N, c->fout);
            t0 = now();
            y = sdg_bmm(ctx, in0, in1);
            break;
        case CASE_BMM_CONST:   /* constant adj (B, N, N) @ h (B, N, F), gradient to h only:
                                * ScoreNetworkX's GCN layers on the input adjacency */
            in0 = leaf(ctx, rng, false, 3, QM9_B, QM9_N, QM9_N);
            in1 = leaf(ctx, rng, true, 3, QM9_B, QM9_N, c->fout);
            t0 = now();
            y = sdg_bmm(ctx, in0, in1);
            break;
        case CASE_GCN:      /* adj @ (x W^T): DenseGCNConv without its bias */
            in0 = leaf(ctx, rng, true, 3, QM9_B, QM9_N, QM9_N);
            in1 = leaf(ctx, rng, true, 3, QM9_B, QM9_N, c->fin);
            in2 = leaf(ctx, rng, true, 2, c->fout, c->fin, 0);
            t0 = now();
            y = sdg_bmm(ctx, in0, sdg_linear_op(ctx, in1, in2, NULL));
            break;
        default:            /* 1024^3 sgemm, forward only */
            in0 = leaf(ctx, rng, false, 2, 1024, 1024, 0);
            in1 = leaf(ctx, rng, false, 2, 1024, 1024, 0);
            t0 = now();
            y = sdg_matmul(ctx, in0, in1, false, false);
            break;
        }
        t_fwd = now() - t0;
        t_bwd = 0;
        if (!y) {
            fprintf(stderr, "bench_nn: %s\n", sdg_errmsg());
            exit(1);
        }
        if (c->kind != CASE_SGEMM) {
            for (int64_t i = 0; i < y->size; i++) y->grad[i] = 1.0f / (float)(1 + (i & 7));
            t0 = now();
            if (sdg_backward(ctx, y) != SDG_OK) {
                fprintf(stderr, "bench_nn: %s\n", sdg_errmsg());
                exit(1);
            }
            t_bwd = now() - t0;
        }
        if (r >= 0) times[r] = t_fwd + t_bwd;
        *flops = c->kind == CASE_SGEMM ? 2.0 * 1024 * 1024 * 1024 : sdg_ctx_flops_total(ctx);
    }
    double m = median(times, reps);
    free(times);
    return m;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 15;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    if (reps < 1) reps = 1;
    if (sdg_init() != SDG_OK) return 1;
    sdg_set_num_threads(threads);
    sdg_ctx *ctx = NULL;
    sdg_rng *rng = NULL;
    if (sdg_ctx_new((size_t)256 << 20, &ctx) != SDG_OK || sdg_rng_new(1, &rng) != SDG_OK) {
        fprintf(stderr, "bench_nn: %s\n", sdg_errmsg());
        return 1;
    }
    /* The sgemm reference is measured before and after the cases; ratios use the faster of
     * the two (the conservative choice on a shared machine). */
    const bench_case ref = {CASE_SGEMM, 1024, 1024};
    const bench_case cases[] = {
        {CASE_LINEAR, 16, 16}, {CASE_LINEAR, 16, 32}, {CASE_LINEAR, 32, 32},
        {CASE_LINEAR, 32, 72}, {CASE_LINEAR, 72, 72}, {CASE_LINEAR, 72, 16},
        {CASE_BMM, 0, 16},     {CASE_BMM, 0, 32},     {CASE_BMM, 0, 72},
        {CASE_BMM_CONST, 0, 16}, {CASE_BMM_CONST, 0, 32}, {CASE_BMM_CONST, 0, 72},
        {CASE_GCN, 16, 32},    {CASE_GCN, 32, 32},    {CASE_GCN, 72, 72},
    };
    enum { NC = sizeof cases / sizeof *cases };
    double t_case[NC], gf_case[NC], fl = 0;
    double t_ref0 = run_case(ctx, rng, &ref, reps, &fl);
    for (int i = 0; i < NC; i++) {
        t_case[i] = run_case(ctx, rng, &cases[i], reps, &fl);
        gf_case[i] = fl / t_case[i] * 1e-9;
    }
    double t_ref1 = run_case(ctx, rng, &ref, reps, &fl);
    double gf0 = fl / t_ref0 * 1e-9, gf1 = fl / t_ref1 * 1e-9, ref_gf = gf0 > gf1 ? gf0 : gf1;
    printf("# threads %d, reps %d (median of forward + backward); ratio to the faster sgemm\n",
           sdg_num_threads(), reps);
    printf("# case\tms\tGFLOP/s\tratio_to_sgemm\n");
    printf("sgemm_1024^3_before\t%.3f\t%.1f\t%.3f\n", t_ref0 * 1e3, gf0, gf0 / ref_gf);
    printf("sgemm_1024^3_after\t%.3f\t%.1f\t%.3f\n", t_ref1 * 1e3, gf1, gf1 / ref_gf);
    for (int i = 0; i < NC; i++) {
        const bench_case *c = &cases[i];
        char name[64];
        if (c->kind == CASE_LINEAR)
            snprintf(name, sizeof name, "linear_%dx%d_%d->%d", QM9_B, QM9_N, (int)c->fin, (int)c->fout);
        else if (c->kind == CASE_BMM)
            snprintf(name, sizeof name, "bmm_%dx%dx%d@F%d", QM9_B, QM9_N, QM9_N, (int)c->fout);
        else if (c->kind == CASE_BMM_CONST)
            snprintf(name, sizeof name, "bmm_const_adj_%dx%dx%d@F%d", QM9_B, QM9_N, QM9_N,
                     (int)c->fout);
        else
            snprintf(name, sizeof name, "gcn_%dx%d_%d->%d", QM9_B, QM9_N, (int)c->fin, (int)c->fout);
        printf("%s\t%.3f\t%.1f\t%.3f\n", name, t_case[i] * 1e3, gf_case[i], gf_case[i] / ref_gf);
    }
    sdg_rng_free(rng);
    sdg_ctx_free(ctx);
    return 0;
}
