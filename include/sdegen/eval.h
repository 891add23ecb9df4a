/* sdegen/eval.h: evaluation metrics, each returned with its protocol string.
 * Graph MMD follows GDSS (gdss/README.md section 15): MMD^2 is the biased V-statistic
 * mean k(R,R) + mean k(G,G) - 2 mean k(R,G), diagonals included, not square-rooted. R is the
 * reference list (GDSS: the test split), G the generated list; G loses its isolated nodes
 * first (an empty graph becomes one node) unless params say otherwise. Kernels:
 * degree: pmf of degrees, exp(-EMD^2 / 2 sigma^2), ground distance |i-j|, sigma 1;
 * clustering: 100-bin histogram of local clustering on [0,1] (normalised), ground distance
 * |i-j|/100, sigma 0.1; orbit: the 15 orbit counts summed over nodes / n, exp(-|x-y|^2 /
 * 2 sigma^2), sigma 30; spectral: 200-bin histogram of normalised-Laplacian eigenvalues on
 * (-1e-5, 2) (normalised), ground distance |i-j|, sigma 1. Histograms are numpy's (equal
 * bins, right edge closed); eigenvalues in (2, 2 + 1e-9] (round-off) count as 2, where
 * GDSS's LAPACK drops some (on grid its spectral level is 0.0170, here 0.0174).
 * EMD of 1-D histograms = sum |CDF_x - CDF_y| * bin distance. */
#ifndef SDEGEN_EVAL_H
#define SDEGEN_EVAL_H
#include <stdbool.h>
#include <stddef.h>
#include "sdegen/core.h"
#include "sdegen/graph.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef enum sdg_graph_stat {
    SDG_GRAPH_STAT_DEGREE,
    SDG_GRAPH_STAT_CLUSTERING,
    SDG_GRAPH_STAT_ORBIT,
    SDG_GRAPH_STAT_SPECTRAL,
    SDG_GRAPH_STAT_COUNT
} sdg_graph_stat;

typedef struct sdg_graph_mmd_params {
    double      sigma[SDG_GRAPH_STAT_COUNT];  /* 1, 0.1, 30, 1                                  */
    int         clustering_bins;              /* 100                                            */
    int         spectral_bins;                /* 200                                            */
    bool        drop_isolated;                /* true: clean the generated graphs first (GDSS)  */
    const char *reference_name;               /* e.g. "community_small test split"; NULL = none */
} sdg_graph_mmd_params;

#define SDG_PROTOCOL_CAP 320
typedef struct sdg_metric_result {
    double value;                        /* the metric (here MMD^2)                        */
    char   protocol[SDG_PROTOCOL_CAP];   /* how it was computed: counts, reference, kernel */
} sdg_metric_result;

SDG_API sdg_graph_mmd_params sdg_graph_mmd_default_params(void);
SDG_API const char          *sdg_graph_stat_name(sdg_graph_stat stat);  /* "degree", ... */
/* MMD^2 of statistic stat between ref and gen (each non-empty). params NULL = defaults.
 * SDG_ERR_INVALID for empty lists or bad params; SDG_ERR_NUMERIC if an eigen-solve fails.
 * Cost: the statistic per graph (orbit: see sdg_graph_orbit_counts; spectral O(n^3)) plus
 * (|R| + |G|)^2 kernel evaluations. */
SDG_API sdg_status sdg_graph_mmd(const sdg_graph_list *ref, const sdg_graph_list *gen,
                                 sdg_graph_stat stat, const sdg_graph_mmd_params *params,
                                 sdg_metric_result *out);
/* EMD between 1-D histograms x (nx) and y (ny) on bins 0, 1, ... with ground distance
 * |i-j| * bin_distance; the shorter one is zero-padded. Both should have the same mass
 * (the caller normalises). SDG_ERR_INVALID on NULL or bin_distance <= 0. O(nx + ny). */
SDG_API sdg_status sdg_emd_1d(const double *x, size_t nx, const double *y, size_t ny,
                              double bin_distance, double *out);

#ifdef __cplusplus
}
#endif
#endif /* SDEGEN_EVAL_H */
