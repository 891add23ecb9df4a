/* GCN adjacency normalisation with the diagonal REPLACED by 1 and the degree clamped at 1:
 *   At = A with At[i,i] = 1;  d_i = max(sum_j At[i,j], 1);  s_i = d_i^(-1/2);
 *   y[i,j] = (s_i * At[i,j]) * s_j
 * for every (N, N) matrix of a (..., N, N) tensor.
 * ref: GDSS layers.DenseGCNConv (adj[:, idx, idx] = 1; deg_inv_sqrt = adj.sum(-1).clamp(min=1)
 *      .pow(-0.5); adj = deg_inv_sqrt.unsqueeze(-1) * adj * deg_inv_sqrt.unsqueeze(-2))
 * The clamp passes the gradient where sum >= 1 (torch.clamp's convention); the diagonal of
 * A gets no gradient (it is overwritten). FLOPs are counted under SDG_OP_MASK (graph ops). */
#include <math.h>
#include "nn/internal.h"

/* aux: s (M, N) followed by the clamp flags pass (M, N) as 0/1 floats. i[0] = M, i[1] = N. */
static void gcn_norm_backward(sdg_ctx *ctx, sdg_node *n) {
    sdg_tensor *a = n->in[0], *y = n->out;
    if (!a->grad) return;
    int64_t M = n->i[0], N = n->i[1];
    const float *s_all = n->aux, *pass_all = s_all + M * N;
    float *gs_all = nn_alloc(ctx, (size_t)(M * N) * sizeof(float));
    if (!gs_all) return;
    #pragma omp parallel for if (M * N * N > SDG_PAR_MIN) schedule(static)
    for (int64_t m = 0; m < M; m++) {
        const float *A = a->data + m * N * N, *G = y->grad + m * N * N;
        const float *s = s_all + m * N, *pass = pass_all + m * N;
        float *gA = a->grad + m * N * N, *gs = gs_all + m * N;
        for (int64_t i = 0; i < N; i++) gs[i] = 0.0f;
        /* gs_i = sum_j G_ij At_ij s_j + sum_k G_ki s_k At_ki */
        for (int64_t i = 0; i < N; i++)
            for (int64_t j = 0; j < N; j++) {
                float at = i == j ? 1.0f : A[i * N + j];
                float g = G[i * N + j] * at;
                gs[i] += g * s[j];
                gs[j] += g * s[i];
            }
        /* gd_i = gs_i * (-1/2) s_i^3 where the clamp passes */
        for (int64_t i = 0; i < N; i++) gs[i] = pass[i] * gs[i] * -0.5f * s[i] * s[i] * s[i];
        for (int64_t i = 0; i < N; i++)
            for (int64_t j = 0; j < N; j++)
                if (i != j) gA[i * N + j] += G[i * N + j] * s[i] * s[j] + gs[i];
    }
    sdg_ctx_add_flops(ctx, SDG_OP_MASK, 10.0 * (double)a->size);
}

/* a: (..., N, N) -> y: same shape. */
sdg_tensor *sdg_gcn_norm(sdg_ctx *ctx, sdg_tensor *a) {
    if (!nn_ok(ctx, 1, a)) return NULL;
    char sa[64];
    int nd = a->ndim;
    if (nd < 2 || a->shape[nd - 1] != a->shape[nd - 2])
        return nn_fail(ctx, SDG_ERR_SHAPE, "gcn_norm: a %s is not (..., N, N)",
                       sdg_tensor_shape_str(a, sa, sizeof sa));
    sdg_tensor *y = nn_out(ctx, nd, a->shape, 1, a);
    if (!y) return NULL;
    int64_t N = a->shape[nd - 1], M = N ? a->size / (N * N) : 0;
    float *aux = nn_alloc(ctx, (size_t)(2 * M * N + 1) * sizeof(float));
    if (!aux) return NULL;
    #pragma omp parallel for if (a->size > SDG_PAR_MIN) schedule(static)
    for (int64_t m = 0; m < M; m++) {
        const float *A = a->data + m * N * N;
        float *Y = y->data + m * N * N, *s = aux + m * N, *pass = aux + M * N + m * N;
        for (int64_t i = 0; i < N; i++) {
            float d = 0.0f;
            for (int64_t j = 0; j < N; j++) d += i == j ? 1.0f : A[i * N + j];
            pass[i] = d >= 1.0f ? 1.0f : 0.0f;
            s[i] = 1.0f / sqrtf(d >= 1.0f ? d : 1.0f);
        }
        for (int64_t i = 0; i < N; i++)
            for (int64_t j = 0; j < N; j++)
                Y[i * N + j] = (s[i] * (i == j ? 1.0f : A[i * N + j])) * s[j];
    }
    sdg_ctx_add_flops(ctx, SDG_OP_MASK, 3.0 * (double)a->size);
    sdg_node *n = nn_record(ctx, SDG_OP_MASK, gcn_norm_backward, y, 1, a);
    if (n) {
        n->aux = aux;
        n->i[0] = M;
        n->i[1] = N;
    }
    return y;
}
