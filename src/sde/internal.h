/* Private helpers of the sde module (no other module includes this). */
#ifndef SDEGEN_SDE_INTERNAL_H
#define SDEGEN_SDE_INTERNAL_H
#include "sdegen/sde.h"

/* OpenMP regions only above these sizes: a barrier costs microseconds (milliseconds on a
 * loaded machine), more than a small loop. Results never depend on the split. */
#define SDE_PAR_MIN     65536   /* element-wise float work      */
#define SDE_PAR_MIN_RNG 65536   /* Gaussian draws (per element)  */

/* torch-style float32 linspace value i of n points from a to b. */
float sde_linspace_f32(float a, float b, int n, int i);
/* GDSS's discrete index k(t) = trunc(t (N - 1)) in float32, clamped to [0, N-1]. */
int sde_discrete_index(const sdg_sde *sde, double t);
/* Marginal with derivatives. */
void sde_marginal4(const sdg_sde *sde, double t, double *s, double *sigma, double *ds, double *dsigma);
/* Affine map x0_hat = alpha * out + beta * x of a parameterisation at one time. */
void sde_param_affine(sdg_param_kind k, double s, double sg, double ds, double dsg, double *alpha,
                      double *beta);
/* Free (unmasked, independent) dimensions of sample i of component c. */
double sde_component_free_dims(const sdg_component *c, size_t i);

/* ODE right-hand side in double over a flat vector y of size dim; returns a status. */
typedef sdg_status (*sde_ode_rhs)(double t, const double *y, double *dydt, void *ctx);
/* Integrates y from t0 to t1 with the given method (fixed: n_steps equal steps). */
sdg_status sde_ode_integrate(const sdg_ode_type *m, sde_ode_rhs f, void *ctx, double *y, size_t dim,
                             double t0, double t1, int n_steps, double atol, double rtol,
                             long *steps);

struct sdg_ode_type {
    const char *name;
    int         order;   /* 0 = adaptive */
};
#endif
