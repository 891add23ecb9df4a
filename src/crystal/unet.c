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
