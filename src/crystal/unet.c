/* The crystal denoiser (docs/crystals.md "Model"): a 1-D U-Net over the rows of the unified
 * crystal matrix, the matrix columns being the channels. Residual blocks of weight-standardised
 * convolutions with group norm and SiLU take the noise-level embedding (sinusoidal features of
 * c_noise, an MLP, one projection per block) and, for conditioned models, a property embedding
 * whose "null" vector serves classifier-free guidance. Average-pool down, nearest up, skips by
 * concatenation, one self-attention layer at the bottleneck. The length is padded with zeros to
 * a multiple of 2^(levels-1) and every block output is masked, so padded rows never reach the
 * real ones through a convolution. Everything is composed of nn ops, so gradients come from the
 * tape. ref: Ho et al. 2020 (DDPM U-Net), Qiao et al. 2019 (weight standardisation), Karras et
 * al. 2022 (EDM positional embedding of c_noise). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "sdegen/crystal.h"
#include "sdegen/nn.h"

#define UNET_MAX_LEVELS 4
#define UNET_MAX_BLOCKS 4

typedef struct res_block {
    sdg_norm_layer   n1, n2;
    sdg_conv1d_layer c1, c2, skip;   /* skip.weight NULL when cin == cout */
    sdg_linear       emb;
} res_block;

typedef struct attn_block {
    sdg_norm_layer n;
    sdg_linear     qkv, proj;
} attn_block;

struct sdg_crystal_unet {
    sdg_crystal_unet_params p;
    sdg_params *params;
    int64_t     ch[UNET_MAX_LEVELS];
    sdg_conv1d_layer in, out;
    sdg_norm_layer   out_norm;
    sdg_linear       t1, t2, c1, c2;
    sdg_tensor      *null_emb;       /* (emb) learned unconditional embedding */
    res_block        down[UNET_MAX_LEVELS][UNET_MAX_BLOCKS], up[UNET_MAX_LEVELS][UNET_MAX_BLOCKS + 1];
    res_block        mid1, mid2;
    attn_block       attn;
};

sdg_crystal_unet_params sdg_crystal_unet_default_params(void) {
    return (sdg_crystal_unet_params){.width = 3, .rows = 136, .base = 64, .levels = 2, .blocks = 1, .groups = 8,
                                     .emb = 128, .attention = true, .n_cond = 0, .seed = 1};
}

void sdg_crystal_unet_free(sdg_crystal_unet *u) {
    if (!u) return;
    sdg_params_free(u->params);
    free(u);
}

sdg_params *sdg_crystal_unet_params_store(const sdg_crystal_unet *u) { return u ? u->params : NULL; }
const sdg_crystal_unet_params *sdg_crystal_unet_get_params(const sdg_crystal_unet *u) { return u ? &u->p : NULL; }

int64_t sdg_crystal_unet_padded_rows(const sdg_crystal_unet_params *p) {
    int64_t m = (int64_t)1 << (p->levels - 1);
    return (p->rows + m - 1) / m * m;
}

static sdg_status block_init(res_block *b, sdg_params *P, const char *name, int64_t cin, int64_t cout,
                             const sdg_crystal_unet_params *p, sdg_rng *rng) {
    sdg_status st = SDG_OK;
    char key[128];
    memset(b, 0, sizeof *b);
    snprintf(key, sizeof key, "%s.norm1", name);
    SDG_TRY(sdg_group_norm_init(&b->n1, P, key, p->groups, cin, 1e-5f));
    snprintf(key, sizeof key, "%s.conv1", name);
    SDG_TRY(sdg_conv1d_init(&b->c1, P, key, cin, cout, 3, true, rng));
    snprintf(key, sizeof key, "%s.emb", name);
    SDG_TRY(sdg_linear_init(&b->emb, P, key, p->emb, cout, true, rng));
    snprintf(key, sizeof key, "%s.norm2", name);
    SDG_TRY(sdg_group_norm_init(&b->n2, P, key, p->groups, cout, 1e-5f));
    snprintf(key, sizeof key, "%s.conv2", name);
    SDG_TRY(sdg_conv1d_init(&b->c2, P, key, cout, cout, 3, true, rng));
    if (cin != cout) {
        snprintf(key, sizeof key, "%s.skip", name);
        SDG_TRY(sdg_conv1d_init(&b->skip, P, key, cin, cout, 1, true, rng));
    }
cleanup:
    return st;
}

sdg_status sdg_crystal_unet_new(const sdg_crystal_unet_params *params, sdg_crystal_unet **out) {
    sdg_status st = SDG_OK;
    sdg_crystal_unet *u = NULL;
    sdg_rng *rng = NULL;
    char key[64];
    if (!out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_crystal_unet_new: NULL out");
    *out = NULL;
    sdg_crystal_unet_params p = params ? *params : sdg_crystal_unet_default_params();
    if (p.width < 1 || p.rows < 1 || p.levels < 1 || p.levels > UNET_MAX_LEVELS || p.blocks < 1 ||
        p.blocks > UNET_MAX_BLOCKS || p.groups < 1 || p.base < 1 || p.base % p.groups || p.base % 2 || p.emb < 1 ||
        p.n_cond < 0 || p.n_cond > 1)
        return SDG_ERROR(SDG_ERR_INVALID, "crystal unet: bad sizes (width %lld, rows %lld, base %lld, levels %d (1..%d), "
                         "blocks %d (1..%d), groups %d dividing base, emb %lld, n_cond %d (0 or 1))",
                         (long long)p.width, (long long)p.rows, (long long)p.base, p.levels, UNET_MAX_LEVELS, p.blocks,
                         UNET_MAX_BLOCKS, p.groups, (long long)p.emb, p.n_cond);
    u = calloc(1, sizeof *u);
    if (!u) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    u->p = p;
    SDG_TRY(sdg_params_new(&u->params));
    SDG_TRY(sdg_rng_new(p.seed, &rng));
    sdg_params *P = u->params;
    for (int l = 0; l < p.levels; l++) u->ch[l] = p.base << l;
    SDG_TRY(sdg_conv1d_init(&u->in, P, "in", p.width, p.base, 3, true, rng));
    SDG_TRY(sdg_linear_init(&u->t1, P, "temb.0", p.base, p.emb, true, rng));
    SDG_TRY(sdg_linear_init(&u->t2, P, "temb.1", p.emb, p.emb, true, rng));
    if (p.n_cond) {
        SDG_TRY(sdg_linear_init(&u->c1, P, "cemb.0", p.n_cond, p.emb, true, rng));
        SDG_TRY(sdg_linear_init(&u->c2, P, "cemb.1", p.emb, p.emb, true, rng));
        SDG_TRY(sdg_params_add(P, "cemb.null", 1, (int64_t[]){p.emb}, &u->null_emb));
        sdg_param_init_uniform(u->null_emb, 1.0f, rng);
    }
    int64_t c = p.base;
    int64_t skip_ch[UNET_MAX_LEVELS * (UNET_MAX_BLOCKS + 1)];
    int n_skip = 0;
    skip_ch[n_skip++] = c;
    for (int l = 0; l < p.levels; l++) {
        for (int b = 0; b < p.blocks; b++) {
            snprintf(key, sizeof key, "down%d.%d", l, b);
            SDG_TRY(block_init(&u->down[l][b], P, key, c, u->ch[l], &p, rng));
            c = u->ch[l];
            skip_ch[n_skip++] = c;
        }
        if (l + 1 < p.levels) skip_ch[n_skip++] = c;   /* the pooled map */
    }
    SDG_TRY(block_init(&u->mid1, P, "mid.0", c, c, &p, rng));
    if (p.attention) {
        SDG_TRY(sdg_group_norm_init(&u->attn.n, P, "mid.attn.norm", p.groups, c, 1e-5f));
        SDG_TRY(sdg_linear_init(&u->attn.qkv, P, "mid.attn.qkv", c, 3 * c, true, rng));
        SDG_TRY(sdg_linear_init(&u->attn.proj, P, "mid.attn.proj", c, c, true, rng));
    }
    SDG_TRY(block_init(&u->mid2, P, "mid.1", c, c, &p, rng));
    for (int l = p.levels - 1; l >= 0; l--)
        for (int b = 0; b <= p.blocks; b++) {   /* blocks + 1 skips per level (DDPM) */
            snprintf(key, sizeof key, "up%d.%d", l, b);
            SDG_TRY(block_init(&u->up[l][b], P, key, c + skip_ch[--n_skip], u->ch[l], &p, rng));
            c = u->ch[l];
        }
    SDG_TRY(sdg_group_norm_init(&u->out_norm, P, "out.norm", p.groups, c, 1e-5f));
    SDG_TRY(sdg_conv1d_init(&u->out, P, "out", c, p.width, 3, true, rng));
    *out = u;
    u = NULL;
cleanup:
    sdg_rng_free(rng);
    sdg_crystal_unet_free(u);
    return st;
}

/* Weight standardisation of w (Cout, Cin, K): per output channel, zero mean and unit variance
 * over (Cin, K). ref: Qiao et al. 2019, eq. 2 (the biased variance, eps 1e-5 inside the root) */
static sdg_tensor *ws_weight(sdg_ctx *ctx, sdg_tensor *w) {
    int64_t co = w->shape[0], ck = w->shape[1] * w->shape[2];
    sdg_tensor *f = sdg_reshape(ctx, w, 2, (int64_t[]){co, ck});
    sdg_tensor *d = sdg_sub(ctx, f, sdg_mean(ctx, f, 1, true));
    sdg_tensor *s = sdg_sqrt(ctx, sdg_scale(ctx, sdg_mean(ctx, sdg_square(ctx, d), 1, true), 1.0f, 1e-5f));
    return sdg_reshape(ctx, sdg_div(ctx, d, s), 3, w->shape);
}

static sdg_tensor *ws_conv(sdg_ctx *ctx, const sdg_conv1d_layer *l, sdg_tensor *x) {
    return sdg_conv1d(ctx, x, ws_weight(ctx, l->weight), l->bias, l->pad);
}

/* x (B, Cin, L), emb (B, E) already through SiLU, mask (1, 1, L) -> (B, Cout, L) masked. */
static sdg_tensor *block_forward(sdg_ctx *ctx, const res_block *b, sdg_tensor *x, sdg_tensor *emb,
                                 sdg_tensor *mask) {
    sdg_tensor *h = ws_conv(ctx, &b->c1, sdg_silu(ctx, sdg_group_norm_forward(ctx, &b->n1, x)));
    sdg_tensor *e = sdg_linear_forward(ctx, &b->emb, emb);
    if (!h || !e) return NULL;
    h = sdg_add(ctx, h, sdg_reshape(ctx, e, 3, (int64_t[]){e->shape[0], e->shape[1], 1}));
    h = ws_conv(ctx, &b->c2, sdg_silu(ctx, sdg_group_norm_forward(ctx, &b->n2, h)));
    sdg_tensor *s = b->skip.weight ? sdg_conv1d_forward(ctx, &b->skip, x) : x;
    return sdg_mul(ctx, sdg_add(ctx, h, s), mask);
}

/* Single-head self-attention over positions; masked keys get weight 0. x (B, C, L). */
static sdg_tensor *attn_forward(sdg_ctx *ctx, const attn_block *a, sdg_tensor *x, sdg_tensor *mask) {
    int64_t C = x->shape[1];
    sdg_tensor *h = sdg_transpose(ctx, sdg_group_norm_forward(ctx, &a->n, x), 1, 2);   /* (B, L, C) */
    sdg_tensor *qkv = sdg_linear_forward(ctx, &a->qkv, h);                              /* (B, L, 3C) */
    sdg_tensor *q = sdg_slice(ctx, qkv, 2, 0, C), *k = sdg_slice(ctx, qkv, 2, C, C), *v = sdg_slice(ctx, qkv, 2, 2 * C, C);
    sdg_tensor *s = sdg_scale(ctx, sdg_bmm(ctx, q, sdg_transpose(ctx, k, 1, 2)), 1.0f / sqrtf((float)C), 0.0f);
    sdg_tensor *o = sdg_linear_forward(ctx, &a->proj, sdg_bmm(ctx, sdg_softmax(ctx, s, -1, mask), v));
    return sdg_mul(ctx, sdg_add(ctx, x, sdg_transpose(ctx, o, 1, 2)), mask);
}

static sdg_tensor *down2(sdg_ctx *ctx, sdg_tensor *x) {   /* (B, C, L) -> (B, C, L/2), mean of pairs */
    if (!x) return NULL;
    return sdg_mean(ctx, sdg_reshape(ctx, x, 4, (int64_t[]){x->shape[0], x->shape[1], x->shape[2] / 2, 2}), 3, false);
}

static sdg_tensor *up2(sdg_ctx *ctx, sdg_tensor *x) {     /* (B, C, L) -> (B, C, 2L), nearest */
    if (!x) return NULL;
    int64_t B = x->shape[0], C = x->shape[1], L = x->shape[2];
    sdg_tensor *c = sdg_reshape(ctx, x, 4, (int64_t[]){B, C, L, 1});
    sdg_tensor *pair[2] = {c, c};
    return sdg_reshape(ctx, sdg_concat(ctx, pair, 2, 3), 3, (int64_t[]){B, C, 2 * L});
}

static sdg_tensor *forward_ops(sdg_ctx *ctx, const sdg_crystal_unet *u, sdg_tensor *x, const float *c_noise,
                               const float *cond, const float *keep) {
    const sdg_crystal_unet_params *p = &u->p;
    int64_t B = x->shape[0], R = p->rows, Lp = sdg_crystal_unet_padded_rows(p), half = p->base / 2;
    /* masks per level: row j of level l is real iff j 2^l < R */
    sdg_tensor *mask[UNET_MAX_LEVELS];
    for (int l = 0; l < p->levels; l++) {
        int64_t L = Lp >> l;
        mask[l] = sdg_tensor_new(ctx, 3, (int64_t[]){1, 1, L});
        if (!mask[l]) return NULL;
        for (int64_t j = 0; j < L; j++) mask[l]->data[j] = (j << l) < R ? 1.0f : 0.0f;
    }
    /* noise embedding: [cos(c f_k), sin(c f_k)], f_k = 10000^(-k/(half-1)), then an MLP */
    sdg_tensor *pe = sdg_tensor_new(ctx, 2, (int64_t[]){B, p->base});
    if (!pe) return NULL;
    for (int64_t b = 0; b < B; b++)
        for (int64_t k = 0; k < half; k++) {
            double f = pow(1e-4, half > 1 ? (double)k / (double)(half - 1) : 0.0), a = c_noise[b] * f;
            pe->data[b * p->base + k] = (float)cos(a);
            pe->data[b * p->base + half + k] = (float)sin(a);
        }
    sdg_tensor *emb = sdg_linear_forward(ctx, &u->t2, sdg_silu(ctx, sdg_linear_forward(ctx, &u->t1, pe)));
    if (p->n_cond && cond) {   /* keep_b * MLP(cond_b) + (1 - keep_b) * null */
        sdg_tensor *cv = sdg_tensor_from(ctx, 2, (int64_t[]){B, p->n_cond}, cond);
        sdg_tensor *kp = sdg_tensor_new(ctx, 2, (int64_t[]){B, 1}), *nk = sdg_tensor_new(ctx, 2, (int64_t[]){B, 1});
        if (!cv || !kp || !nk) return NULL;
        for (int64_t b = 0; b < B; b++) {
            kp->data[b] = keep ? keep[b] : 1.0f;
            nk->data[b] = 1.0f - kp->data[b];
            if (kp->data[b] == 0.0f) cv->data[b] = 0.0f;   /* a missing (NaN) value never enters */
        }
        sdg_tensor *ce = sdg_linear_forward(ctx, &u->c2, sdg_silu(ctx, sdg_linear_forward(ctx, &u->c1, cv)));
        emb = sdg_add(ctx, emb, sdg_add(ctx, sdg_mul(ctx, ce, kp), sdg_mul(ctx, u->null_emb, nk)));
    } else if (p->n_cond) {
        emb = sdg_add(ctx, emb, u->null_emb);
    }
    emb = sdg_silu(ctx, emb);
    /* pad the length with zeros */
    sdg_tensor *h = x;
    if (Lp > R) {
        sdg_tensor *z = sdg_tensor_zeros(ctx, 3, (int64_t[]){B, p->width, Lp - R});
        sdg_tensor *parts[2] = {x, z};
        h = sdg_concat(ctx, parts, 2, 2);
    }
    h = sdg_mul(ctx, sdg_conv1d_forward(ctx, &u->in, h), mask[0]);
    sdg_tensor *skips[UNET_MAX_LEVELS * (UNET_MAX_BLOCKS + 1)];
    int n_skip = 0;
    skips[n_skip++] = h;
    for (int l = 0; l < p->levels; l++) {
        for (int b = 0; b < p->blocks; b++) {
            h = block_forward(ctx, &u->down[l][b], h, emb, mask[l]);
            skips[n_skip++] = h;
        }
        if (l + 1 < p->levels) {
            h = down2(ctx, h);
            skips[n_skip++] = h;   /* the pooled map doubles as a skip (DDPM's downsample output) */
        }
    }
    /* skips pushed: the input, every block, every pool: 1 + levels*blocks + (levels-1), which is
     * the levels*(blocks+1) the up path takes (DDPM's bookkeeping) */
    int top = p->levels - 1;
    h = block_forward(ctx, &u->mid1, h, emb, mask[top]);
    if (p->attention) h = attn_forward(ctx, &u->attn, h, mask[top]);
    h = block_forward(ctx, &u->mid2, h, emb, mask[top]);
    for (int l = top; l >= 0; l--) {
        for (int b = 0; b <= p->blocks; b++) {
            sdg_tensor *pair[2] = {h, skips[--n_skip]};
            if (!pair[0] || !pair[1]) return NULL;
            h = block_forward(ctx, &u->up[l][b], sdg_concat(ctx, pair, 2, 1), emb, mask[l]);
        }
        if (l > 0) h = up2(ctx, h);
    }
    h = sdg_conv1d_forward(ctx, &u->out, sdg_silu(ctx, sdg_group_norm_forward(ctx, &u->out_norm, h)));
    if (h && Lp > R) h = sdg_slice(ctx, h, 2, 0, R);
    return h;
}

/* ---- forward without a tape: the same network on raw arrays (sampling) ----
 * With grad mode off, sdg_crystal_unet_forward runs this instead of the ops above: the same
 * mathematics, term for term (tests/crystal/test_unet_fast.c holds the two equal to 1e-5
 * relative on random weights). Matrices are independent, so OpenMP takes them one at a time
 * (dynamic), each thread with its own scratch from the ctx arena; each matrix is computed the
 * same way on any thread, so the results do not depend on the thread count.
 * - Layout. Per matrix, a level-l activation is position-major (P, C), P = L + 2: row 1 + j
 *   holds the C channels of position j, rows 0 and L + 1 are zero (the convolutions' padding).
 *   Rows j - 1, j, j + 1 are then K C consecutive floats, so a K-tap convolution is ONE product
 *   with nothing copied: y (L, Cout) = A (L, K Cin) @ W^T (K Cin, Cout), where row j of A
 *   starts at padded row j of x (lda = Cin: the rows overlap). sdg_gemm_run computes it on the
 *   calling thread, onto rows pre-filled with the bias (plus, for a block's first convolution,
 *   the noise-embedding projection, constant along the length). Element-wise work (group
 *   norm statistics, affine, SiLU, pooling, masks) runs along the channels, vectorised.
 * - Per call, before the matrices: the weights re-laid as (K Cin, Cout) and for the blocks'
 *   convolutions standardised (a few flops per weight, about 0.1 % of a batch of 100: nothing
 *   is cached between calls, so a changed weight is always seen); the batch's noise/property
 *   embedding MLP, transposed (emb, B), and each block's projection of it (Cout, B).
 * - SiLU: sdg_unary_run, the op's own vectorised kernel (the same bits as the op path), right
 *   after the group norm's affine map; the per-matrix code is compiled for the baseline ISA
 *   and for AVX2 + FMA, picked at run time.
 * - Attention: qkv (L, 3C) = h W^T, K transposed once (C, L), S = Q K / sqrt(C) (L, L), a row
 *   softmax over the real keys, O = S V (L, C), out = x + O W_proj^T.
 * - FLOPs are counted as the ops count them (products 2 M N K over the real positions, group
 *   norm 8, softmax 14, others 1 per element, weight standardisation 5 per weight). */

typedef struct fast_conv {
    float       *w;         /* (k cin, cout): w[(j cin + c) cout + o] = W[o, c, j] (standardised) */
    const float *b;         /* (cout) */
    int64_t      cin, cout, k;
    const float *src;       /* W (cout, cin, k) */
    bool         ws;        /* standardised */
} fast_conv;

typedef struct fast_block {
    const res_block *rb;
    fast_conv        c1, c2, skip;   /* skip.w NULL: identity */
    float           *e;              /* (cout, B) the block's embedding projection */
} fast_block;

typedef struct fast_flops {
    double conv, norm, unary, bin, bmm, softmax, linear;
} fast_flops;

typedef struct fast_net {
    const sdg_crystal_unet *u;
    int64_t    B, Lp, cmax, lt;        /* lt: length at the bottleneck */
    fast_conv  in, out;
    fast_block down[UNET_MAX_LEVELS][UNET_MAX_BLOCKS], up[UNET_MAX_LEVELS][UNET_MAX_BLOCKS + 1], mid1, mid2;
    float     *qkv_t, *proj_t;         /* attention weights transposed: (C, 3C), (C, C) */
    size_t     scratch;                /* floats per thread */
} fast_net;

/* A thread's scratch: a bump allocator (64-byte steps); callers rewind s->used. */
typedef struct fast_scratch {
    float *base;
    size_t cap, used;
    bool   over;
} fast_scratch;

static float *take(fast_scratch *s, int64_t n) {
    size_t m = ((size_t)n + 15) & ~(size_t)15;
    if (s->used + m > s->cap) {   /* never with the bound of forward_fast; kept as a guard */
        s->over = true;
        return NULL;
    }
    float *p = s->base + s->used;
    s->used += m;
    return p;
}

/* The (K Cin, Cout) buffer of a conv weight (filled by fast_conv_fill). */
static bool fast_conv_prep(sdg_ctx *ctx, const sdg_conv1d_layer *l, bool ws, fast_conv *f, fast_flops *fl) {
    const sdg_tensor *w = l->weight;
    int64_t co = w->shape[0], ci = w->shape[1], k = w->shape[2], n = ci * k;
    *f = (fast_conv){.b = l->bias ? l->bias->data : NULL, .cin = ci, .cout = co, .k = k, .src = w->data, .ws = ws};
    f->w = sdg_arena_alloc(sdg_ctx_arena(ctx), (size_t)(co * n) * sizeof(float));
    if (ws) fl->bin += 5.0 * (double)(co * n) + 3.0 * (double)co;   /* as ws_weight's ops count */
    return f->w != NULL;
}

/* f->w = W re-laid, standardised per output channel when f->ws (as ws_weight: biased
 * variance, eps 1e-5 inside the root; statistics in double). */
static void fast_conv_fill(const fast_conv *f) {
    int64_t co = f->cout, ci = f->cin, k = f->k, n = ci * k;
    const bool ws = f->ws;
    for (int64_t o = 0; o < co; o++) {
        const float *r = f->src + o * n;
        double mean = 0, sd = 1;
        if (ws) {
            double v = 0;
            for (int64_t i = 0; i < n; i++) mean += r[i];
            mean /= (double)n;
            for (int64_t i = 0; i < n; i++) v += ((double)r[i] - mean) * ((double)r[i] - mean);
            sd = sqrt(v / (double)n + 1e-5);
        }
        for (int64_t c = 0; c < ci; c++)
            for (int64_t j = 0; j < k; j++)
                f->w[(j * ci + c) * co + o] = ws ? (float)(((double)r[c * k + j] - mean) / sd) : r[c * k + j];
    }
}

static float *fast_transpose(sdg_ctx *ctx, const sdg_tensor *w) {   /* (out, in) -> (in, out) */
    int64_t o = w->shape[0], i = w->shape[1];
    float *t = sdg_arena_alloc(sdg_ctx_arena(ctx), (size_t)(o * i) * sizeof(float));
    if (!t) return NULL;
    for (int64_t r = 0; r < o; r++)
        for (int64_t c = 0; c < i; c++) t[c * o + r] = w->data[r * i + c];
    return t;
}

/* C (M, N) += A (M, K) @ B (K, N), row strides as stored, on the calling thread. */
static void fast_gemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb,
                      float *C, int64_t ldc, float alpha) {
    sdg_gemm_desc g = {.M = M, .N = N, .K = K, .A = A, .lda = lda, .B = B, .ldb = ldb, .C = C, .ldc = ldc,
                       .alpha = alpha, .act = SDG_UNARY_NONE, .acc = SDG_GEMM_ACC_INNER};
    sdg_gemm_run(&g);
}

/* ---- element-wise kernels: branch-free loops that GCC vectorises; fast_matrix is compiled
 * twice, for the baseline ISA and for AVX2 + FMA (picked at run time), and inlines them.
 * -fno-trapping-math lets GCC if-convert the selects (it changes no value); contraction into
 * FMA is off (ISO C), so both copies give the same bits. Short row copies stay inline loops
 * (no-tree-loop-distribute-patterns: not a memcpy call per row of C floats). */
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math", "no-tree-loop-distribute-patterns")
#define FAST_INLINE static inline __attribute__((always_inline))

/* Real positions of level l: j 2^l < R. */
FAST_INLINE int64_t fast_real(int64_t L, int l, int64_t R) {
    int64_t r = ((R - 1) >> l) + 1;
    return r < L ? r : L;
}

/* Zeroes the pad rows of y (P, C) and the rows of positions real..L-1 (the mask; real = L: none). */
FAST_INLINE void fast_pads(float *y, int64_t C, int64_t L, int64_t real) {
    memset(y, 0, (size_t)C * sizeof(float));
    memset(y + (1 + real) * C, 0, (size_t)((L - real + 1) * C) * sizeof(float));
}

/* y (P, C) = [silu](group_norm(x (P, C))); stats: 2 C floats. Statistics per channel along
 * the positions (vectorised across the channels) in float, per group in double, two-pass. */
FAST_INLINE void fast_norm(const sdg_norm_layer *n, const float *x, int64_t C, int64_t L, bool silu, float *y,
                           float *stats, fast_flops *fl) {
    int64_t G = n->groups, cg = C / G;
    float *acc = stats, *coef = stats + C;   /* sums then a (y = x a + b); group means then b */
    for (int64_t c = 0; c < C; c++) acc[c] = 0.0f;
    for (int64_t j = 1; j <= L; j++)
        for (int64_t c = 0; c < C; c++) acc[c] += x[j * C + c];
    for (int64_t g = 0; g < G; g++) {
        double s = 0;
        for (int64_t c = g * cg; c < (g + 1) * cg; c++) s += acc[c];
        for (int64_t c = g * cg; c < (g + 1) * cg; c++) coef[c] = (float)(s / (double)(cg * L));
    }
    for (int64_t c = 0; c < C; c++) acc[c] = 0.0f;
    for (int64_t j = 1; j <= L; j++)
        for (int64_t c = 0; c < C; c++) {
            float d = x[j * C + c] - coef[c];
            acc[c] += d * d;
        }
    for (int64_t g = 0; g < G; g++) {
        double v = 0;
        for (int64_t c = g * cg; c < (g + 1) * cg; c++) v += acc[c];
        double m = coef[g * cg], rstd = 1.0 / sqrt(v / (double)(cg * L) + (double)n->eps);
        for (int64_t c = g * cg; c < (g + 1) * cg; c++) {
            acc[c] = (float)rstd * n->weight->data[c];
            coef[c] = n->bias->data[c] - (float)m * acc[c];
        }
    }
    for (int64_t j = 1; j <= L; j++)
        for (int64_t c = 0; c < C; c++) y[j * C + c] = x[j * C + c] * acc[c] + coef[c];
    if (silu) sdg_unary_run(SDG_UNARY_SILU, y + C, y + C, L * C);   /* the op's own kernel */
    fast_pads(y, C, L, L);
    fl->norm += 8.0 * (double)(C * L);
    if (silu) fl->unary += (double)(C * L);
}

/* y (P, cout) += conv(x (P, cin)), zero padding (k - 1) / 2, rows 1..L. */
FAST_INLINE void fast_conv_acc(const fast_conv *f, const float *x, int64_t L, float *y, fast_flops *fl) {
    int64_t pad = (f->k - 1) / 2;
    fast_gemm(L, f->cout, f->k * f->cin, x + (1 - pad) * f->cin, f->cin, f->w, f->cout, y + f->cout, f->cout, 1.0f);
    fl->conv += 2.0 * (double)(f->cout * f->k * f->cin * L) + (double)(f->cout * L);
}

/* Rows 1..L of y (P, C) = bias (+ bias2) (+ add[c * stride]); pad rows 0. */
FAST_INLINE void fast_fill(float *y, int64_t C, int64_t L, const float *bias, const float *bias2, const float *add,
                           int64_t stride, float *row) {
    for (int64_t c = 0; c < C; c++) {
        float v = bias ? bias[c] : 0.0f;
        if (bias2) v += bias2[c];
        if (add) v += add[c * stride];
        row[c] = v;
    }
    for (int64_t j = 1; j <= L; j++)
        for (int64_t c = 0; c < C; c++) y[j * C + c] = row[c];
    fast_pads(y, C, L, L);
}

/* One residual block of matrix b at level l: x (P, cin) -> out (P, cout), masked. */
FAST_INLINE void fast_block_run(const fast_net *fn, const fast_block *fb, int l, int64_t b, const float *x,
                                float *out, fast_scratch *s, fast_flops *fl) {
    int64_t L = fn->Lp >> l, P = L + 2, ci = fb->c1.cin, co = fb->c1.cout, cm = ci > co ? ci : co;
    size_t mark = s->used;
    float *t = take(s, cm * P), *h = take(s, co * P), *st = take(s, 2 * cm);
    if (!t || !h || !st) return;
    fast_norm(&fb->rb->n1, x, ci, L, true, t, st, fl);
    fast_fill(h, co, L, fb->c1.b, NULL, fb->e + b, fn->B, st);
    fast_conv_acc(&fb->c1, t, L, h, fl);
    fl->bin += (double)(co * L);   /* + emb, and the emb projection: */
    fl->linear += 2.0 * (double)(fb->rb->emb.in * co) + (double)co;
    fast_norm(&fb->rb->n2, h, co, L, true, t, st, fl);
    fast_fill(out, co, L, fb->c2.b, fb->skip.w ? fb->skip.b : NULL, NULL, 0, st);
    fast_conv_acc(&fb->c2, t, L, out, fl);
    if (fb->skip.w) fast_conv_acc(&fb->skip, x, L, out, fl);
    else for (int64_t i = co; i < (L + 1) * co; i++) out[i] += x[i];
    fast_pads(out, co, L, fast_real(L, l, fn->u->p.rows));
    fl->bin += 2.0 * (double)(co * L);   /* + skip, * mask */
    s->used = mark;
}

/* Bottleneck self-attention of one matrix at level l: x (P, C) -> out (P, C), masked. */
FAST_INLINE void fast_attn(const fast_net *fn, int l, const float *x, float *out, fast_scratch *s, fast_flops *fl) {
    const attn_block *a = &fn->u->attn;
    int64_t C = fn->cmax, L = fn->Lp >> l, P = L + 2, real = fast_real(L, l, fn->u->p.rows);
    size_t mark = s->used;
    float *hn = take(s, C * P), *qkv = take(s, 3 * C * L), *kt = take(s, C * L), *sc = take(s, L * L);
    float *o = take(s, C * L), *st = take(s, 2 * C);
    if (!hn || !qkv || !kt || !sc || !o || !st) return;
    fast_norm(&a->n, x, C, L, false, hn, st, fl);
    for (int64_t j = 0; j < L; j++) memcpy(qkv + j * 3 * C, a->qkv.bias->data, (size_t)(3 * C) * sizeof(float));
    fast_gemm(L, 3 * C, C, hn + C, C, fn->qkv_t, 3 * C, qkv, 3 * C, 1.0f);
    for (int64_t j = 0; j < L; j++)
        for (int64_t c = 0; c < C; c++) kt[c * L + j] = qkv[j * 3 * C + C + c];
    memset(sc, 0, (size_t)(L * L) * sizeof(float));
    fast_gemm(L, L, C, qkv, 3 * C, kt, L, sc, L, 1.0f / sqrtf((float)C));   /* S = Q K^T / sqrt(C) */
    for (int64_t i = 0; i < L; i++) {   /* softmax over the real keys */
        float *r = sc + i * L, mx = r[0], sum = 0.0f;
        for (int64_t j = 1; j < real; j++) mx = r[j] > mx ? r[j] : mx;
        for (int64_t j = 0; j < real; j++) r[j] -= mx;
        sdg_unary_run(SDG_UNARY_EXP, r, r, real);
        for (int64_t j = 0; j < real; j++) sum += r[j];
        float inv = 1.0f / sum;
        for (int64_t j = 0; j < real; j++) r[j] *= inv;
        for (int64_t j = real; j < L; j++) r[j] = 0.0f;
    }
    memset(o, 0, (size_t)(C * L) * sizeof(float));
    fast_gemm(L, C, L, sc, L, qkv + 2 * C, 3 * C, o, C, 1.0f);   /* O = S V */
    for (int64_t j = 1; j <= L; j++)
        for (int64_t c = 0; c < C; c++) out[j * C + c] = x[j * C + c] + a->proj.bias->data[c];
    fast_gemm(L, C, C, o, C, fn->proj_t, C, out + C, C, 1.0f);
    fast_pads(out, C, L, real);
    fl->linear += 2.0 * (double)(L * C * 3 * C) + (double)(L * 3 * C) + 2.0 * (double)(L * C * C) + (double)(L * C);
    fl->bmm += 4.0 * (double)(L * L * C);
    fl->softmax += 14.0 * (double)(L * L);
    fl->bin += 2.0 * (double)(L * L) + 2.0 * (double)(C * L);   /* scale; + x, * mask */
    s->used = mark;
}

/* Matrix b: x (W, R) -> y (W, R). */
FAST_INLINE void fast_matrix_body(const fast_net *fn, int64_t b, const float *x, float *y, fast_scratch *s, fast_flops *fl) {
    const sdg_crystal_unet *u = fn->u;
    const sdg_crystal_unet_params *p = &u->p;
    int64_t W = p->width, R = p->rows, Lp = fn->Lp, P0 = Lp + 2, c = p->base;
    float *xin = take(s, W * P0), *h = take(s, c * P0), *row = take(s, 2 * fn->cmax > W ? 2 * fn->cmax : W);
    if (!xin || !h || !row) return;
    memset(xin, 0, (size_t)(W * P0) * sizeof(float));
    for (int64_t j = 0; j < R; j++)
        for (int64_t w = 0; w < W; w++) xin[(1 + j) * W + w] = x[w * R + j];
    fast_fill(h, c, Lp, fn->in.b, NULL, NULL, 0, row);
    fast_conv_acc(&fn->in, xin, Lp, h, fl);
    fast_pads(h, c, Lp, fast_real(Lp, 0, R));
    fl->bin += (double)(c * Lp);
    float *skips[UNET_MAX_LEVELS * (UNET_MAX_BLOCKS + 1)];
    int64_t skip_c[UNET_MAX_LEVELS * (UNET_MAX_BLOCKS + 1)];
    int n_skip = 0;
    skips[n_skip] = h, skip_c[n_skip++] = c;
    for (int l = 0; l < p->levels; l++) {
        int64_t L = Lp >> l;
        for (int bl = 0; bl < p->blocks; bl++) {
            float *o = take(s, u->ch[l] * (L + 2));
            if (!o) return;
            fast_block_run(fn, &fn->down[l][bl], l, b, h, o, s, fl);
            h = o, c = u->ch[l];
            skips[n_skip] = h, skip_c[n_skip++] = c;
        }
        if (l + 1 < p->levels) {   /* average pool by 2 */
            int64_t L2 = L / 2;
            float *o = take(s, c * (L2 + 2));
            if (!o) return;
            for (int64_t j = 0; j < L2; j++)
                for (int64_t ch = 0; ch < c; ch++)
                    o[(1 + j) * c + ch] = (h[(1 + 2 * j) * c + ch] + h[(2 + 2 * j) * c + ch]) * 0.5f;
            fast_pads(o, c, L2, L2);
            fl->bin += (double)(c * L);
            h = o;
            skips[n_skip] = h, skip_c[n_skip++] = c;
        }
    }
    int top = p->levels - 1;
    int64_t Pt = (Lp >> top) + 2;
    float *m1 = take(s, c * Pt), *m2 = take(s, c * Pt), *m3 = take(s, c * Pt);
    if (!m1 || !m2 || !m3) return;
    fast_block_run(fn, &fn->mid1, top, b, h, m1, s, fl);
    if (p->attention) fast_attn(fn, top, m1, m2, s, fl);
    else memcpy(m2, m1, (size_t)(c * Pt) * sizeof(float));
    fast_block_run(fn, &fn->mid2, top, b, m2, m3, s, fl);
    h = m3;
    for (int l = top; l >= 0; l--) {
        int64_t L = Lp >> l, P = L + 2;
        for (int bl = 0; bl <= p->blocks; bl++) {   /* concatenate [h, skip] along the channels */
            int64_t cs = skip_c[--n_skip], cc = c + cs, co = u->ch[l];
            float *o = take(s, co * P);
            size_t mark = s->used;
            float *cat = take(s, cc * P);
            if (!o || !cat) return;
            const float *sk = skips[n_skip];
            for (int64_t j = 0; j < P; j++) {
                for (int64_t k = 0; k < c; k++) cat[j * cc + k] = h[j * c + k];
                for (int64_t k = 0; k < cs; k++) cat[j * cc + c + k] = sk[j * cs + k];
            }
            fast_block_run(fn, &fn->up[l][bl], l, b, cat, o, s, fl);
            s->used = mark;   /* drop cat, keep o */
            h = o, c = co;
        }
        if (l > 0) {   /* nearest upsampling by 2 */
            float *o = take(s, c * (2 * L + 2));
            if (!o) return;
            for (int64_t j = 0; j < L; j++)
                for (int64_t k = 0; k < c; k++) o[(1 + 2 * j) * c + k] = o[(2 + 2 * j) * c + k] = h[(1 + j) * c + k];
            fast_pads(o, c, 2 * L, 2 * L);
            h = o;
        }
    }
    float *t = take(s, c * P0), *yo = take(s, W * P0);
    if (!t || !yo) return;
    fast_norm(&u->out_norm, h, c, Lp, true, t, row, fl);
    fast_fill(yo, W, Lp, fn->out.b, NULL, NULL, 0, row);
    fast_conv_acc(&fn->out, t, Lp, yo, fl);
    for (int64_t w = 0; w < W; w++)
        for (int64_t j = 0; j < R; j++) y[w * R + j] = yo[(1 + j) * W + w];
}

__attribute__((target("avx2,fma"))) static void fast_matrix_avx2(const fast_net *fn, int64_t b, const float *x,
                                                                 float *y, fast_scratch *s, fast_flops *fl) {
    fast_matrix_body(fn, b, x, y, s, fl);
}

static void fast_matrix_plain(const fast_net *fn, int64_t b, const float *x, float *y, fast_scratch *s,
                              fast_flops *fl) {
    fast_matrix_body(fn, b, x, y, s, fl);
}
#pragma GCC pop_options

/* e (out, B) = W (out, in) @ x (in, B) + bias per row. */
static void fast_linear_t(const sdg_linear *l, const float *x, int64_t B, float *e) {
    for (int64_t o = 0; o < l->out; o++)
        for (int64_t b = 0; b < B; b++) e[o * B + b] = l->bias ? l->bias->data[o] : 0.0f;
    fast_gemm(l->out, B, l->in, l->weight->data, l->in, x, B, e, B, 1.0f);
}

static bool fast_block_prep(sdg_ctx *ctx, const res_block *rb, int64_t B, fast_block *fb, fast_flops *fl) {
    fb->rb = rb;
    fb->skip.w = NULL;
    if (!fast_conv_prep(ctx, &rb->c1, true, &fb->c1, fl) || !fast_conv_prep(ctx, &rb->c2, true, &fb->c2, fl) ||
        (rb->skip.weight && !fast_conv_prep(ctx, &rb->skip, false, &fb->skip, fl)))
        return false;
    fb->e = sdg_arena_alloc(sdg_ctx_arena(ctx), (size_t)(rb->emb.out * B) * sizeof(float));
    return fb->e != NULL;   /* filled by forward_fast */
}

/* The batch's embedding, transposed: (emb, B), through its final SiLU. */
static float *fast_embedding(sdg_ctx *ctx, const sdg_crystal_unet *u, int64_t B, const float *c_noise,
                             const float *cond, const float *keep, fast_flops *fl) {
    const sdg_crystal_unet_params *p = &u->p;
    int64_t E = p->emb, half = p->base / 2;
    sdg_arena *A = sdg_ctx_arena(ctx);
    float *pe = sdg_arena_alloc(A, (size_t)(p->base * B) * sizeof(float));
    float *h1 = sdg_arena_alloc(A, (size_t)(E * B) * sizeof(float)), *emb = sdg_arena_alloc(A, (size_t)(E * B) * sizeof(float));
    if (!pe || !h1 || !emb) return NULL;
    for (int64_t b = 0; b < B; b++)
        for (int64_t k = 0; k < half; k++) {
            double f = pow(1e-4, half > 1 ? (double)k / (double)(half - 1) : 0.0), a = c_noise[b] * f;
            pe[k * B + b] = (float)cos(a);
            pe[(half + k) * B + b] = (float)sin(a);
        }
    fast_linear_t(&u->t1, pe, B, h1);
    sdg_unary_run(SDG_UNARY_SILU, h1, h1, E * B);
    fast_linear_t(&u->t2, h1, B, emb);
    fl->linear += 2.0 * (double)B * (double)(p->base * E + E * E) + 2.0 * (double)(B * E);
    fl->unary += 2.0 * (double)(B * E);
    if (p->n_cond && cond) {   /* keep_b * MLP(cond_b) + (1 - keep_b) * null */
        float *cv = sdg_arena_alloc(A, (size_t)(p->n_cond * B) * sizeof(float));
        float *c1 = sdg_arena_alloc(A, (size_t)(E * B) * sizeof(float)), *c2 = sdg_arena_alloc(A, (size_t)(E * B) * sizeof(float));
        if (!cv || !c1 || !c2) return NULL;
        for (int64_t j = 0; j < p->n_cond; j++)
            for (int64_t b = 0; b < B; b++) {
                float kp = keep ? keep[b] : 1.0f;
                cv[j * B + b] = kp == 0.0f ? 0.0f : cond[b * p->n_cond + j];   /* a missing (NaN) value never enters */
            }
        fast_linear_t(&u->c1, cv, B, c1);
        sdg_unary_run(SDG_UNARY_SILU, c1, c1, E * B);
        fast_linear_t(&u->c2, c1, B, c2);
        for (int64_t e = 0; e < E; e++)
            for (int64_t b = 0; b < B; b++) {
                float kp = keep ? keep[b] : 1.0f;
                emb[e * B + b] += c2[e * B + b] * kp + u->null_emb->data[e] * (1.0f - kp);
            }
        fl->linear += 2.0 * (double)B * (double)(p->n_cond * E + E * E) + 2.0 * (double)(B * E);
        fl->unary += (double)(B * E);
        fl->bin += 5.0 * (double)(B * E);
    } else if (p->n_cond) {
        for (int64_t e = 0; e < E; e++)
            for (int64_t b = 0; b < B; b++) emb[e * B + b] += u->null_emb->data[e];
        fl->bin += (double)(B * E);
    }
    sdg_unary_run(SDG_UNARY_SILU, emb, emb, E * B);
    return emb;
}

static sdg_tensor *forward_fast(sdg_ctx *ctx, const sdg_crystal_unet *u, sdg_tensor *x, const float *c_noise,
                                const float *cond, const float *keep) {
    const sdg_crystal_unet_params *p = &u->p;
    int64_t B = x->shape[0], W = p->width, R = p->rows;
    sdg_tensor *y = sdg_tensor_new(ctx, 3, (int64_t[]){B, W, R});
    fast_net *fn = sdg_arena_alloc(sdg_ctx_arena(ctx), sizeof *fn);
    if (!y || !fn) return sdg_ctx_fail(ctx, SDG_ERR_NOMEM);
    if (B == 0) return y;
    fast_flops tot = {0};
    memset(fn, 0, sizeof *fn);
    fn->u = u;
    fn->B = B;
    fn->Lp = sdg_crystal_unet_padded_rows(p);
    fn->cmax = u->ch[p->levels - 1];
    fn->lt = fn->Lp >> (p->levels - 1);
    float *emb = fast_embedding(ctx, u, B, c_noise, cond, keep, &tot);
    /* the buffers here; their contents below, in parallel */
    enum { MAX_BLOCKS = 2 + UNET_MAX_LEVELS * (2 * UNET_MAX_BLOCKS + 1) };
    fast_block *blocks[MAX_BLOCKS] = {&fn->mid1, &fn->mid2};
    const res_block *rbs[MAX_BLOCKS] = {&u->mid1, &u->mid2};
    int nb = 2;
    for (int l = 0; l < p->levels; l++) {
        for (int b = 0; b < p->blocks; b++) blocks[nb] = &fn->down[l][b], rbs[nb++] = &u->down[l][b];
        for (int b = 0; b <= p->blocks; b++) blocks[nb] = &fn->up[l][b], rbs[nb++] = &u->up[l][b];
    }
    bool ok = emb && fast_conv_prep(ctx, &u->in, false, &fn->in, &tot) &&
              fast_conv_prep(ctx, &u->out, false, &fn->out, &tot);
    fast_conv *convs[3 * MAX_BLOCKS + 2] = {&fn->in, &fn->out};
    int nc = 2;
    for (int i = 0; ok && i < nb; i++) {
        ok = fast_block_prep(ctx, rbs[i], B, blocks[i], &tot);
        convs[nc++] = &blocks[i]->c1, convs[nc++] = &blocks[i]->c2;
        if (blocks[i]->skip.w) convs[nc++] = &blocks[i]->skip;
    }
    if (ok && p->attention) {
        fn->qkv_t = fast_transpose(ctx, u->attn.qkv.weight);
        fn->proj_t = fast_transpose(ctx, u->attn.proj.weight);
        ok = fn->qkv_t && fn->proj_t;
    }
    if (!ok) return sdg_ctx_fail(ctx, SDG_ERROR(SDG_ERR_NOMEM, "crystal unet: out of arena memory"));
    const int nt = omp_get_max_threads() < B ? omp_get_max_threads() : (int)B;
    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        #pragma omp for schedule(dynamic, 1) nowait
        for (int i = 0; i < nc; i++) fast_conv_fill(convs[i]);
        #pragma omp for schedule(dynamic, 1)
        for (int i = 0; i < nb; i++) fast_linear_t(&rbs[i]->emb, emb, B, blocks[i]->e);
    }
    /* Scratch per thread, a bound: every buffer is at most U = 2 cmax (Lp + 2) floats (a
     * concatenation; W (Lp + 2) for the input and output when W is larger), and a matrix holds
     * at most its skips, the bottleneck's three maps, the up path's and a block's or the
     * attention's temporaries at once (plus the (lt, lt) attention scores). */
    int64_t P0 = fn->Lp + 2, U = 2 * fn->cmax * P0 + 16 + (W > fn->cmax ? W * P0 : 0);
    int64_t nbuf = 3 * (int64_t)p->levels * (p->blocks + 2) + 16;
    fn->scratch = (size_t)(nbuf * U + fn->lt * fn->lt + 64);
    float *scratch = sdg_arena_alloc(sdg_ctx_arena(ctx), (size_t)nt * fn->scratch * sizeof(float));
    fast_flops *fls = sdg_arena_alloc(sdg_ctx_arena(ctx), (size_t)nt * sizeof *fls);
    bool *over = sdg_arena_alloc(sdg_ctx_arena(ctx), (size_t)nt * sizeof *over);
    if (!scratch || !fls || !over) return sdg_ctx_fail(ctx, SDG_ERROR(SDG_ERR_NOMEM, "crystal unet: out of arena memory"));
    memset(fls, 0, (size_t)nt * sizeof *fls);
    memset(over, 0, (size_t)nt * sizeof *over);
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int t = omp_get_thread_num();
        fast_scratch s = {.base = scratch + (size_t)t * fn->scratch, .cap = fn->scratch};
        #pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < B; b++) {
            s.used = 0;
            if (avx2) fast_matrix_avx2(fn, b, x->data + b * W * R, y->data + b * W * R, &s, &fls[t]);
            else fast_matrix_plain(fn, b, x->data + b * W * R, y->data + b * W * R, &s, &fls[t]);
        }
        over[t] = s.over;
    }
    for (int t = 0; t < nt; t++) {
        if (over[t]) return sdg_ctx_fail(ctx, SDG_ERROR(SDG_ERR_NOMEM, "crystal unet: scratch bound exceeded"));
        tot.conv += fls[t].conv, tot.norm += fls[t].norm, tot.unary += fls[t].unary, tot.bin += fls[t].bin;
        tot.bmm += fls[t].bmm, tot.softmax += fls[t].softmax, tot.linear += fls[t].linear;
    }
    sdg_ctx_add_flops(ctx, SDG_OP_CONV1D, tot.conv);
    sdg_ctx_add_flops(ctx, SDG_OP_GROUP_NORM, tot.norm);
    sdg_ctx_add_flops(ctx, SDG_OP_UNARY, tot.unary);
    sdg_ctx_add_flops(ctx, SDG_OP_ADD, tot.bin);
    sdg_ctx_add_flops(ctx, SDG_OP_BMM, tot.bmm);
    sdg_ctx_add_flops(ctx, SDG_OP_SOFTMAX, tot.softmax);
    sdg_ctx_add_flops(ctx, SDG_OP_LINEAR, tot.linear);
    return y;
}

sdg_tensor *sdg_crystal_unet_forward(sdg_ctx *ctx, const sdg_crystal_unet *u, sdg_tensor *x, const float *c_noise,
                                     const float *cond, const float *keep) {
    if (!ctx) return NULL;
    if (!u || !x || !c_noise) {
        if (x) sdg_ctx_fail(ctx, SDG_ERROR(SDG_ERR_INVALID, "crystal unet: NULL argument"));
        return NULL;
    }
    const sdg_crystal_unet_params *p = &u->p;
    if (x->ndim != 3 || x->shape[1] != p->width || x->shape[2] != p->rows) {
        char buf[64];
        sdg_error_set(SDG_ERR_SHAPE, __FILE__, __LINE__, "crystal unet: input %s, expected [B,%lld,%lld]",
                      sdg_tensor_shape_str(x, buf, sizeof buf), (long long)p->width, (long long)p->rows);
        return sdg_ctx_fail(ctx, SDG_ERR_SHAPE);
    }
    if (sdg_ctx_status(ctx) != SDG_OK) return NULL;
    if (!sdg_ctx_grad_enabled(ctx)) return forward_fast(ctx, u, x, c_noise, cond, keep);
    return forward_ops(ctx, u, x, c_noise, cond, keep);
}
