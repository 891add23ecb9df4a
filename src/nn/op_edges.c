/* Edge rows: the upper triangle (i <= j) of (B, C, N, N) matrices as rows (B P, C) with
 * P = N (N + 1) / 2, and back. Row b P + k holds the channels of graph b's k-th pair (i, j) in
 * row order. For edge MLPs on exactly symmetric edge features (GDSS training): pack, a linear
 * over the channels on half the edges, unpack to both (i, j) and (j, i), with no permutes.
 * ref: x.permute(0, 2, 3, 1)[:, iu, ju].reshape(-1, C) with iu, ju = torch.triu_indices(N, N)
 * (pack); y = zeros(B, C, N, N); y[:, :, iu, ju] = y[:, :, ju, iu] = rows^T (unpack).
 * Determinism: every output element is written (forward) or accumulated (backward) by one
 * thread in a fixed order. FLOPs: copies count 0 (noted under GATHER); a backward addition
 * counts 1. */
#include "nn/internal.h"

/* dir 0: rows = pack(a); 1: grad_a += pack^T(grad_rows); 2: y = unpack(rows);
 * 3: grad_rows += unpack^T(grad_y) (both mirror entries). a: (B, C, N, N), rows (B P, C). */
static void edges_run(int dir, float *a, int64_t B, int64_t C, int64_t N, float *rows) {
    const int64_t P = N * (N + 1) / 2, NN = N * N;
    #pragma omp parallel for if (B * C * NN > SDG_PAR_MIN) schedule(static)
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++) {
            float *m = a + (b * C + c) * NN, *r = rows + b * P * C + c;
            for (int64_t i = 0, k = 0; i < N; i++)
                for (int64_t j = i; j < N; j++, k++) {
                    float *v = r + k * C;
                    switch (dir) {
                    case 0: *v = m[i * N + j]; break;
                    case 1: m[i * N + j] += *v; break;
                    case 2: m[i * N + j] = m[j * N + i] = *v; break;
                    default: *v += i == j ? m[i * N + j] : m[i * N + j] + m[j * N + i]; break;
                    }
                }
        }
}

/* a: (B, C, N, N) -> rows (B P, C) */
static void pack_backward(sdg_ctx *ctx, sdg_node *n) {
    sdg_tensor *a = n->in[0], *y = n->out;
    if (!a->grad) return;
    edges_run(1, a->grad, a->shape[0], a->shape[1], a->shape[2], y->grad);
    sdg_ctx_add_flops(ctx, SDG_OP_GATHER, (double)y->size);
}

sdg_tensor *sdg_edges_pack(sdg_ctx *ctx, sdg_tensor *a) {
    if (!nn_ok(ctx, 1, a)) return NULL;
    char sa[64];
    if (a->ndim != 4 || a->shape[2] != a->shape[3])
        return nn_fail(ctx, SDG_ERR_SHAPE, "edges_pack: a must be (B, C, N, N), got shape %s",
                       sdg_tensor_shape_str(a, sa, sizeof sa));
    const int64_t B = a->shape[0], C = a->shape[1], N = a->shape[2];
    sdg_tensor *y = nn_out(ctx, 2, (int64_t[]){B * (N * (N + 1) / 2), C}, 1, a);
    if (!y) return NULL;
    edges_run(0, a->data, B, C, N, y->data);
    sdg_ctx_add_flops(ctx, SDG_OP_GATHER, 0);
    nn_record(ctx, SDG_OP_GATHER, pack_backward, y, 1, a);
    return y;
}

/* rows: (B P, C) -> y (B, C, N, N), symmetric */
static void unpack_backward(sdg_ctx *ctx, sdg_node *n) {
    sdg_tensor *r = n->in[0], *y = n->out;
    if (!r->grad) return;
    edges_run(3, y->grad, y->shape[0], y->shape[1], y->shape[2], r->grad);
    sdg_ctx_add_flops(ctx, SDG_OP_GATHER, (double)y->size);
}

sdg_tensor *sdg_edges_unpack(sdg_ctx *ctx, sdg_tensor *rows, int64_t N) {
    if (!nn_ok(ctx, 1, rows)) return NULL;
    char sr[64];
    const int64_t P = N * (N + 1) / 2;
    if (N < 1 || rows->ndim != 2 || rows->shape[0] % P != 0)
        return nn_fail(ctx, SDG_ERR_SHAPE, "edges_unpack: rows %s are not (B %lld, C) for N = %lld",
                       sdg_tensor_shape_str(rows, sr, sizeof sr), (long long)(N > 0 ? P : 0), (long long)N);
    const int64_t B = rows->shape[0] / P, C = rows->shape[1];
    sdg_tensor *y = nn_out(ctx, 4, (int64_t[]){B, C, N, N}, 1, rows);
    if (!y) return NULL;
    edges_run(2, y->data, B, C, N, rows->data);
    sdg_ctx_add_flops(ctx, SDG_OP_GATHER, 0);
    nn_record(ctx, SDG_OP_GATHER, unpack_backward, y, 1, rows);
    return y;
}
