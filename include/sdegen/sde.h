/* sdegen/sde.h: forward SDEs, score parameterisations, training losses, samplers, likelihood.
 * State: an sdg_state holds n samples of up to SDG_STATE_MAX_COMP components; component c is
 * n * dim_c floats, row-major (n, dim_c). Its optional mask is (n, rows_c) floats in {0,1}:
 * a DENSE component is (rows, dim/rows) per sample and entry (r, f) is kept iff m[r]; a
 * SYMMETRIC component is a (rows, rows) matrix, entry (i, j) kept iff m[i] m[j] and i != j,
 * and its noise is symmetric with a zero diagonal. Masked entries of noise and scores are 0.
 * Time runs from t = 0 (data) to t = 1 (noise); samplers integrate from 1 down to eps. The
 * EDM family (sdg_sde_edm) is the exception: t is sigma itself, from sigma_max down to 0.
 * Marginal: x_t = s(t) x_0 + sigma(t) z. Model: one callback evaluates every component for
 * the whole batch at once; its raw output is read per component as a score, noise, denoiser
 * or velocity (sdg_param_kind) and converted here, in one place.
 * Randomness: sample i draws only from sdg_rng_stream(seed, stream_offset + i), so results do
 * not depend on the number of threads. Every status != SDG_OK leaves a message in sdg_errmsg(). */
#ifndef SDEGEN_SDE_H
#define SDEGEN_SDE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sdegen/core.h"
#ifdef __cplusplus
extern "C" {
#endif

#define SDG_STATE_MAX_COMP 4

/* ---- SDE families: constant tables; an instance is a family plus its parameters ---- */
typedef struct sdg_sde sdg_sde;
typedef struct sdg_sde_type {
    const char *name;
    /* forward SDE dx = f(t) x dt + g(t) dW (all families here have linear drift) */
    void (*coef)(const sdg_sde *p, double t, double *f, double *g);
    /* marginal s(t), sigma(t) and their time derivatives */
    void (*marginal)(const sdg_sde *p, double t, double *s, double *sigma, double *ds,
                     double *dsigma);
    /* reverse-diffusion discretisation at grid time t: f_k(x) = fk * x, G_k */
    void (*discrete)(const sdg_sde *p, double t, double *fk, double *Gk);
    double (*langevin_alpha)(const sdg_sde *p, double t);  /* alpha_k (VP) or 1 */
    double (*default_prior_std)(const sdg_sde *p);
} sdg_sde_type;

SDG_API extern const sdg_sde_type *const sdg_sde_ve;     /* a = sigma_min, b = sigma_max   */
SDG_API extern const sdg_sde_type *const sdg_sde_vp;     /* a = beta_min,  b = beta_max    */
SDG_API extern const sdg_sde_type *const sdg_sde_subvp;  /* a = beta_min,  b = beta_max    */
SDG_API extern const sdg_sde_type *const sdg_sde_linear; /* flow matching: s = 1-t, sigma = t */
SDG_API extern const sdg_sde_type *const sdg_sde_edm;    /* t = sigma in [a, b]; s = 1     */

#define SDG_SDE_FLAG_FLOAT32 1u /* evaluate VP marginals in float32, as GDSS/PyTorch do */

struct sdg_sde {
    const sdg_sde_type *type;
    double   a, b;      /* family parameters, see above                                   */
    int      N;         /* discrete schedule length (reverse predictor, Langevin alpha)   */
    double   prior_std; /* 0: family default (VE, EDM: b; VP, sub-VP, linear: 1)          */
    unsigned flags;     /* SDG_SDE_FLAG_*                                                 */
};

/* Fills *out with family `type`, parameters (a, b) and N; prior and flags at defaults.
 * SDG_ERR_INVALID when a, b or N are out of range (e.g. a >= b for VE, N <= 0). */
SDG_API sdg_status sdg_sde_init(sdg_sde *out, const sdg_sde_type *type, double a, double b, int N);
/* GDSS config presets: kind "VP" or "VE" with the config's beta_min/beta_max (for VE these are
 * sigma_min/sigma_max), N = 1000, prior N(0, I) unscaled, float32 marginals. VP with
 * beta_max = 1 does not reach N(0, I) at t = 1 and is kept as is. */
SDG_API sdg_status sdg_sde_gdss(sdg_sde *out, const char *kind, double beta_min, double beta_max);
SDG_API const char *sdg_sde_name(const sdg_sde *sde);
/* Marginal x_t = s x_0 + sigma z at time t (either output may be NULL). */
SDG_API void   sdg_sde_marginal(const sdg_sde *sde, double t, double *s, double *sigma);
SDG_API double sdg_sde_prior_std(const sdg_sde *sde);
/* Exact Gaussian transition from t to t + dt (dt < 0 allowed): mean = x / r, std, as in
 * GDSS's S4 solver. r = s(t) / s(t + dt). */
SDG_API void   sdg_sde_transition(const sdg_sde *sde, double t, double dt, double *inv_r,
                                  double *std);

/* ---- state ---- */
typedef enum sdg_noise_kind {
    SDG_NOISE_KIND_DENSE = 0,   /* i.i.d. N(0,1) per entry, masked by rows         */
    SDG_NOISE_KIND_SYMMETRIC,   /* symmetric (rows, rows), zero diagonal, masked   */
    SDG_NOISE_KIND_CENTRED      /* dense over (rows, dim/rows), masked, then each column's mean
                                   over the unmasked rows removed: centre-of-mass-free
                                   positions (rows >= 1 required)                  */
} sdg_noise_kind;

typedef enum sdg_param_kind {
    SDG_PARAM_KIND_SCORE = 0,   /* output = grad log p_t(x)                        */
    SDG_PARAM_KIND_EPS,         /* output = noise z; score = -z / sigma            */
    SDG_PARAM_KIND_DENOISER,    /* output = D(x) ~ E[x_0 | x_t]                    */
    SDG_PARAM_KIND_VELOCITY     /* output = dx/dt of the probability-flow ODE      */
} sdg_param_kind;

typedef struct sdg_component {
    const char    *name;   /* used in error messages ("X", "A")                       */
    size_t         dim;    /* floats per sample                                       */
    size_t         rows;   /* mask entries per sample; 0 = no mask (DENSE only)      */
    sdg_noise_kind noise;
    sdg_param_kind param;  /* how the model's output for this component is read      */
    sdg_sde        sde;
    float         *x;      /* (n, dim), owned by the caller                           */
    const float   *mask;   /* (n, rows) or NULL                                       */
    /* DENSE and CENTRED with a mask: draw only the live rows' entries, in row order, so that
     * a sample's noise stream does not depend on how many padded rows follow (batches padded
     * to their largest member); false (default) draws every entry and zeroes the masked.   */
    bool           live_draws;
} sdg_component;

typedef struct sdg_state {
    size_t        n;       /* samples */
    int           n_comp;
    sdg_component comp[SDG_STATE_MAX_COMP];
} sdg_state;

/* Checks layouts (dims, rows, symmetric shapes, SDE parameters); SDG_ERR_SHAPE/INVALID. */
SDG_API sdg_status sdg_state_check(const sdg_state *st);
/* Draws structured noise for sample i of component c into z (dim floats) from rng. */
SDG_API void sdg_component_noise(const sdg_component *c, size_t i, sdg_rng *rng, float *z);
/* Zeroes masked entries (and a symmetric diagonal) of x (n, dim) in place. */
SDG_API void sdg_component_mask(const sdg_component *c, size_t n, float *x);

/* ---- models: the engine sees networks only through this callback ---- */
typedef struct sdg_model_call {
    const sdg_state *state; /* x of every component at which to evaluate          */
    const float     *t;     /* (n) time of each sample (EDM: sigma)                 */
    unsigned         which; /* bit c set: out[c] must be written (samplers: all)    */
    float           *out[SDG_STATE_MAX_COMP]; /* out[c]: (n, dim_c), raw output     */
} sdg_model_call;
typedef sdg_status (*sdg_model_fn)(const sdg_model_call *call, void *params);

/* Optional Jacobian-vector product of the raw output: writes call->out[c] = sum over c' of
 * d out[c] / d x[c'] . v[c'] at (call->state, call->t); v[c] is (n, dim_c). */
typedef sdg_status (*sdg_model_jvp_fn)(const sdg_model_call *call, const float *const *v, void *params);

typedef struct sdg_model {
    sdg_model_fn fn;           /* required                                               */
    void        *params;
    /* Optional conditioning hook, run after fn on the same call: may edit call->out in place
     * (classifier guidance, ...). Outputs are still in each component's sdg_param_kind. */
    sdg_model_fn guide;
    void        *guide_params;
    /* Optional, used only by sdg_likelihood (else finite differences); guide is not
     * differentiated through it. */
    sdg_model_jvp_fn jvp;
    void            *jvp_params;
} sdg_model;

/* Converts outputs between parameterisations for n samples of dim floats at times t (n),
 * using sde's s(t), sigma(t) and their derivatives: y = a(t) out + b(t) x, through the affine
 * map x0 = alpha*out + beta*x of each kind. In place (y == out) allowed. */
SDG_API void sdg_param_convert(sdg_param_kind from, sdg_param_kind to, const sdg_sde *sde,
                               const float *t, size_t n, size_t dim, const float *x,
                               const float *out, float *y);
/* EDM preconditioning (Karras et al. 2022, table 1) for noise level sigma. */
SDG_API void sdg_edm_precond(double sigma, double sigma_data, double *c_skip, double *c_out,
                             double *c_in, double *c_noise);

/* Classifier-free guidance as a model: out = (1 + w) cond - w uncond, per component. */
typedef struct sdg_cfg {
    sdg_model cond, uncond;
    float     w;
} sdg_cfg;
SDG_API sdg_status sdg_cfg_model_fn(const sdg_model_call *call, void *params /* sdg_cfg */);

/* ---- samplers ---- */
typedef struct sdg_sampler_type   sdg_sampler_type;   /* opaque constant tables */
typedef struct sdg_predictor_type sdg_predictor_type;
typedef struct sdg_corrector_type sdg_corrector_type;
typedef struct sdg_ode_type       sdg_ode_type;
typedef struct sdg_sampler        sdg_sampler;        /* owns its scratch memory */

SDG_API extern const sdg_sampler_type *const sdg_sampler_pc;    /* predictor-corrector (GDSS order) */
SDG_API extern const sdg_sampler_type *const sdg_sampler_s4;    /* GDSS S4 solver                   */
SDG_API extern const sdg_sampler_type *const sdg_sampler_ode;   /* probability flow / velocity ODE  */
SDG_API extern const sdg_sampler_type *const sdg_sampler_edm;   /* Karras Heun, rho schedule, churn */
SDG_API extern const sdg_predictor_type *const sdg_predictor_euler;     /* Euler-Maruyama     */
SDG_API extern const sdg_predictor_type *const sdg_predictor_reverse;   /* reverse diffusion  */
SDG_API extern const sdg_predictor_type *const sdg_predictor_ancestral; /* exact posterior    */
SDG_API extern const sdg_predictor_type *const sdg_predictor_none;
SDG_API extern const sdg_corrector_type *const sdg_corrector_langevin;
SDG_API extern const sdg_corrector_type *const sdg_corrector_none;
SDG_API extern const sdg_ode_type *const sdg_ode_euler;
SDG_API extern const sdg_ode_type *const sdg_ode_heun;
SDG_API extern const sdg_ode_type *const sdg_ode_rk4;
SDG_API extern const sdg_ode_type *const sdg_ode_rk45;          /* adaptive, GSL odeiv2 rkf45 */

/* Called after every step with the new state and its time (inpainting, projections). */
typedef sdg_status (*sdg_step_hook_fn)(sdg_state *st, double t, sdg_rng *const *rngs, void *params);

typedef struct sdg_sampler_params {
    const sdg_sampler_type   *type;       /* default sdg_sampler_pc                          */
    const sdg_predictor_type *predictor;  /* pc: default reverse                             */
    const sdg_corrector_type *corrector;  /* pc: default langevin                            */
    const sdg_ode_type       *ode;        /* ode: default rk45                               */
    int      n_steps;      /* grid points (pc, s4, ode fixed-step), EDM steps; default 1000  */
    int      n_corrector;  /* Langevin steps per predictor step, default 1                  */
    float    snr;          /* Langevin signal-to-noise ratio, default 0.1                   */
    float    scale_eps;    /* Langevin noise scale, default 1                               */
    float    eps;          /* final time, default 1e-3 (EDM: ignored)                       */
    bool     denoise;      /* return the last step's mean / a final Tweedie step (default on) */
    bool     init_prior;   /* draw x from the prior (default); false: start from given x   */
    double   atol, rtol;   /* rk45 tolerances, default 1e-5                                 */
    float    rho;          /* EDM schedule exponent, default 7                              */
    float    s_churn, s_tmin, s_tmax, s_noise;  /* EDM churn, default 0, 0, inf, 1         */
    /* ode with sdg_ode_euler only: eta >= 0 (default 0, the probability-flow ODE). eta > 0
     * integrates instead, on the same grid and with one model call per step, the reverse-time
     * SDE with the ODE's marginals and diffusion g(t)^2 = 2 eta sigma(t) sigma'(t): with x0_hat
     * held over a step from t to t', x <- s(t') x0_hat + sigma(t') (r^eta z_hat +
     * sqrt(1 - r^(2 eta)) z), r = sigma(t')/sigma(t), z_hat = (x - s(t) x0_hat)/sigma(t) and z
     * the component's structured noise (Euler-Maruyama to first order, stable for every eta).
     * For VE, eta = 1 is the reverse diffusion; for the linear interpolant g^2 = 2 eta t.
     * sde_tmax (default inf): the noise acts only on steps that start at t <= sde_tmax; the
     * others are eta = 0 steps (as EDM's S_tmax limits its churn). */
    float    sde_noise, sde_tmax;
    /* per-component settings: n_sde_noise_comp = 0 (default) gives every component sde_noise
     * and sde_tmax; otherwise it must equal the state's n_comp, and component c uses eta
     * sde_noise_comp[c] >= 0 instead of sde_noise (0: that component takes the deterministic
     * DDIM step) from t <= sde_tmax_comp[c] on (0: sde_tmax). The SDE mode is on when some
     * component's eta is > 0. Langevin noise with a block-diagonal preconditioner keeps the
     * marginals, so any mix is exact in the step -> 0 limit. */
    int      n_sde_noise_comp;
    float    sde_noise_comp[SDG_STATE_MAX_COMP], sde_tmax_comp[SDG_STATE_MAX_COMP];
    uint64_t seed;         /* sample i uses sdg_rng_stream(seed, stream_offset + i)         */
    uint64_t stream_offset;/* default 0; a run split into chunks gives chunk c its offset   */
    sdg_step_hook_fn hook; /* optional */
    void    *hook_params;
} sdg_sampler_params;

typedef struct sdg_sampler_stats {
    long nfe;   /* model evaluations (batched calls of model->fn) */
    long steps; /* accepted steps                                  */
} sdg_sampler_stats;

SDG_API sdg_sampler_params sdg_sampler_default_params(void);
SDG_API const char *sdg_sampler_type_name(const sdg_sampler_type *t);
SDG_API const char *sdg_predictor_type_name(const sdg_predictor_type *t);   /* "reverse", ... */
SDG_API const char *sdg_corrector_type_name(const sdg_corrector_type *t);   /* "langevin", ... */
SDG_API const char *sdg_ode_type_name(const sdg_ode_type *t);               /* "rk45", ...    */
/* Validates params against the layout of st (n, components) and allocates all scratch:
 * per-sample rngs and buffers. SDG_ERR_INVALID on bad options, SDG_ERR_NOMEM. */
SDG_API sdg_status sdg_sampler_new(const sdg_sampler_params *p, const sdg_state *st,
                                   sdg_sampler **out);
/* Generates st->n samples into every st->comp[c].x (same layout as at _new). Returns
 * SDG_ERR_NUMERIC naming the step when the model produces NaN/Inf. stats may be NULL.
 * Cost: n_steps * (NFE per step) model calls + O(n * dim) engine work per call. */
SDG_API sdg_status sdg_sampler_run(sdg_sampler *s, const sdg_model *m, sdg_state *st,
                                   sdg_sampler_stats *stats);
SDG_API void       sdg_sampler_free(sdg_sampler *s);   /* NULL is a no-op */

/* Inpainting hook: entries with known_mask[c] = 1 are replaced at each step by
 * s(t) known[c] + sigma(t) z (z from the sample's stream); known/known_mask are (n, dim_c). */
typedef struct sdg_inpaint {
    const float *known[SDG_STATE_MAX_COMP];
    const float *known_mask[SDG_STATE_MAX_COMP];
} sdg_inpaint;
SDG_API sdg_status sdg_inpaint_hook(sdg_state *st, double t, sdg_rng *const *rngs, void *params);

/* ---- training: the pieces a trainer calls around its own network ----
 * Every loss is   L = mean_i  w_i * 1/2 * sum_j m_ij (out_ij - target_ij)^2   (SUM), or the
 * inner sum divided by dim (MEAN). DSM: w, target such that this equals
 * 1/2 ||sigma score + z||^2 (GDSS/Song, no likelihood weighting); EDM and flow matching use
 * w = 2 so that L equals lambda(sigma) ||D - x_0||^2 and ||v - (dx/dt)||^2 respectively. */
typedef enum sdg_loss_kind {
    SDG_LOSS_KIND_DSM = 0,  /* t ~ U(eps, 1)                                           */
    SDG_LOSS_KIND_EDM,      /* ln sigma ~ N(p_mean, p_std^2); sde must be sdg_sde_edm  */
    SDG_LOSS_KIND_FM        /* conditional flow matching, t ~ U(eps, 1), any family   */
} sdg_loss_kind;
typedef enum sdg_loss_reduce { SDG_LOSS_REDUCE_SUM = 0, SDG_LOSS_REDUCE_MEAN } sdg_loss_reduce;

typedef struct sdg_loss_params {
    sdg_loss_kind   kind;
    sdg_loss_reduce reduce;   /* default SUM (GDSS reduce_mean = false)                */
    float eps;                /* DSM/FM: t ~ U(eps, 1), default 1e-5                   */
    float p_mean, p_std;      /* EDM: default -1.2, 1.2                                */
    float sigma_data;         /* EDM: default 0.5                                      */
} sdg_loss_params;
SDG_API sdg_loss_params sdg_loss_default_params(void);

/* One component's training batch (caller-allocated arrays, n and n * dim floats). */
typedef struct sdg_train_batch {
    float *t;       /* (n) time (EDM: sigma), shared by the components of a sample        */
    float *t_in;    /* (n) time input for the network: t, or EDM c_noise = ln(sigma)/4    */
    float *z;       /* (n, dim) structured noise                                          */
    float *x_in;    /* (n, dim) network input: x_t (EDM: c_in x_t)                        */
    float *x_t;     /* (n, dim) perturbed sample (EDM: x_0 + sigma z)                     */
    float *target;  /* (n, dim) regression target for the raw output                      */
    float *weight;  /* (n) per-sample weight w_i                                          */
} sdg_train_batch;

/* Draws the per-sample times (or EDM sigmas) into b->t from rng, in sample order. */
SDG_API sdg_status sdg_train_sample_time(const sdg_loss_params *p, const sdg_component *c,
                                         size_t n, sdg_rng *rng, sdg_train_batch *b);
/* Given x0 = c->x (n, dim) and b->t, draws noise and fills z, x_t, x_in, t_in, target and
 * weight for component c (its param kind decides the target). Call per component. */
SDG_API sdg_status sdg_train_prepare(const sdg_loss_params *p, const sdg_component *c, size_t n,
                                     sdg_rng *rng, sdg_train_batch *b);
/* Loss value (and per-sample losses, grad = dL/dout, each optional) for model output out. */
SDG_API sdg_status sdg_train_loss(const sdg_loss_params *p, const sdg_component *c, size_t n,
                                  const sdg_train_batch *b, const float *out, double *loss,
                                  double *per_sample, float *grad);

/* ---- likelihood through the probability-flow ODE with Hutchinson's trace estimator ---- */
typedef enum sdg_probe_kind { SDG_PROBE_KIND_RADEMACHER = 0, SDG_PROBE_KIND_GAUSSIAN } sdg_probe_kind;
typedef struct sdg_likelihood_params {
    sdg_probe_kind probe;
    const sdg_ode_type *ode;  /* default rk45 */
    int      n_steps;         /* fixed-step methods, default 200 */
    double   atol, rtol;      /* default 1e-5 */
    float    eps;             /* start time, default 1e-5 */
    float    fd_h;            /* finite-difference step along the probe, default 1e-3 */
    int      n_probes;        /* probes averaged per sample (2 model calls each), default 1 */
    uint64_t seed;            /* probes of sample i from sdg_rng_stream(seed, i) */
} sdg_likelihood_params;
SDG_API sdg_likelihood_params sdg_likelihood_default_params(void);
/* -log p_eps(x) in nats (nll, n) and bits per dimension (bpd, n; may be NULL) for data x =
 * st->comp[c].x (left unchanged). div of the velocity = E v^T J v over probes v; J v comes
 * from m->jvp when set (1 + n_probes calls per ODE evaluation), else from central finite
 * differences of m->fn along v (2 n_probes calls). Dimension = unmasked free entries. */
SDG_API sdg_status sdg_likelihood(const sdg_likelihood_params *p, const sdg_model *m,
                                  const sdg_state *st, double *nll, double *bpd,
                                  sdg_sampler_stats *stats);

#ifdef __cplusplus
}
#endif
#endif /* SDEGEN_SDE_H */
