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
#include "sdegen/molecule.h"
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

/* ---- molecules (GDSS README section 15; docs/molecules.md "Evaluation") ----
 * NSPDK: a molecule is a labelled graph of its heavy atoms (label = element symbol) and bonds
 * (label = order, aromatic = 1, as RDKit's int(GetBondTypeAsDouble())); features are EDeN's
 * discrete NSPDK as GDSS calls it (vectorize(complexity=4, discrete=True)): radius and distance
 * 0..4 bonds, 2^16 hashed features, each (radius, distance) block and then the whole vector
 * normalised to unit length; kernel linear; MMD^2 = |mean_R - mean_G|^2, which equals GDSS's
 * mean k(R,R) + mean k(G,G) - 2 mean k(R,G). Python's salted hash() is replaced by a fixed one:
 * tuples fold x_i into h = mix(h ^ x_i) from h = mix(0x9E3779B97F4A7C15 + k) (mix = the
 * splitmix64 finaliser), strings are FNV-1a 64, integers are themselves (as in Python). */
typedef struct sdg_nspdk_params {
    int  radius;               /* largest rooted-subgraph radius r, in bonds (4)          */
    int  distance;             /* largest distance d between the two roots, in bonds (4)  */
    int  nbits;                /* 2^nbits feature buckets, 1..20 (16)                     */
    bool inner_normalization;  /* unit norm per (r, d) block first (true)                 */
    bool normalization;        /* then unit norm of the whole vector (true)               */
} sdg_nspdk_params;
SDG_API sdg_nspdk_params sdg_nspdk_default_params(void);

/* The sparse NSPDK vector of m (hydrogen atoms are left out): writes up to cap (index, value)
 * pairs in increasing index order (indices 1..2^nbits, EDeN's) and the count in *nnz, which
 * may exceed cap (then call again with more room). A molecule without heavy atoms has nnz 0.
 * SDG_ERR_INVALID for bad params. Cost O(A * (atoms within 2(r + d) bonds) * r). */
SDG_API sdg_status sdg_nspdk_mol_vector(const sdg_mol *m, const sdg_nspdk_params *params,
                                        int32_t *idx, double *val, size_t cap, size_t *nnz);

/* A set of molecules summarised by its mean NSPDK vector (dense, 2^nbits + 1 doubles). */
typedef struct sdg_nspdk sdg_nspdk;
SDG_API sdg_status sdg_nspdk_new(const sdg_nspdk_params *params, sdg_nspdk **out);  /* NULL = defaults */
SDG_API void       sdg_nspdk_free(sdg_nspdk *s);                                   /* NULL is a no-op */
/* Adds m's vector. A molecule without heavy atoms is skipped and counted (GDSS drops empty
 * graphs). Not thread-safe on one set. */
SDG_API sdg_status sdg_nspdk_add_mol(sdg_nspdk *s, const sdg_mol *m);
SDG_API size_t     sdg_nspdk_count(const sdg_nspdk *s);     /* molecules added          */
SDG_API size_t     sdg_nspdk_skipped(const sdg_nspdk *s);   /* molecules without atoms  */
/* NSPDK MMD^2 between two sets built with the same params (each non-empty); the protocol
 * names the sizes, parameters and hash. SDG_ERR_INVALID otherwise. O(2^nbits). */
SDG_API sdg_status sdg_nspdk_mmd(const sdg_nspdk *ref, const sdg_nspdk *gen,
                                 sdg_metric_result *out);

/* Molecules read for evaluation: one record per non-blank SMILES line or SDF record. Each
 * valid record (parses, passes the valence rules of sdg_mol_from_smiles) is kept as its
 * canonical SMILES (Open Babel "can": no stereo or isotopes, charges kept) and the molecule
 * re-parsed from it (aromaticity perceived, implicit H). wo_correction holds the record's
 * "valid without correction" flag: SDF data field <valid_wo_correction>, or the second column
 * of a SMILES file (0/1, true/false) when every record has one (or a header names the column
 * valid_wo_correction); -1 = not recorded. */
typedef struct sdg_mol_samples {
    size_t    count;          /* records                                                  */
    size_t    n_valid;
    sdg_mol **mols;           /* (count) molecule, NULL when invalid                      */
    char    **smiles;         /* (count) canonical SMILES, NULL when invalid              */
    int8_t   *wo_correction;  /* (count) 1, 0, or -1 (not recorded)                       */
    int64_t  *line;           /* (count) 1-based line (SMILES) or first line (SDF)        */
    bool      sdf;            /* read from an SDF file                                    */
    bool      header;         /* a SMILES file whose first line was a header              */
    size_t    n_blank;        /* blank lines skipped                                      */
    int64_t   first_invalid_line;   /* 0 = every record is valid                         */
    char      first_invalid_reason[160];
    bool      h5;             /* read from an "sdegen-molecules" file                     */
    char      dataset[32];    /* the model's dataset named in the file ("QM9"), or ""      */
    size_t    requested;      /* h5: molecules the run was asked for (count < it: stopped) */
} sdg_mol_samples;
/* Reads path by its extension: .sdf/.sd/.mol as SDF (sdg_mol_list_read_sdf), .smi, .smiles,
 * .txt, .csv as SMILES lines (first field; a comma, tab or space ends it; a first line that
 * does not parse and is a plain word, e.g. "smiles", is a header; a second column that
 * increases strictly, as sdegen's "SMILES<TAB>index", is an index, not flags), .h5 as an
 * "sdegen-molecules" file (io.h; every record, the dropped ones invalid, flags as stored).
 * dataset comes from SDF field <dataset> or the .h5 metadata. Invalid records are counted,
 * never fatal. SDG_ERR_IO; SDG_ERR_FORMAT "path: line L: ..." for another extension, binary
 * bytes, a malformed SDF or a flag column that is not 0/1. Cost ~50 us per record. */
SDG_API sdg_status sdg_mol_samples_read(const char *path, sdg_mol_samples **out);
/* The same from n SMILES strings in memory (line k+1 = smiles[k]; no header, no flags). */
SDG_API sdg_status sdg_mol_samples_from_smiles(const char *const *smiles, size_t n,
                                               sdg_mol_samples **out);
SDG_API void       sdg_mol_samples_free(sdg_mol_samples *s);          /* NULL is a no-op */

/* Reference sets: training canonical SMILES (novelty) and test molecules (NSPDK, atom and
 * bond distributions), both as written by the same canonicaliser as the samples. */
typedef struct sdg_mol_reference {
    const char           *train_name;  /* for the protocols, e.g. "qm9 train split"          */
    const char           *test_name;   /* e.g. "qm9 test split" or a file name               */
    size_t                n_train;
    const char *const    *train_smiles;
    size_t                n_test;
    const sdg_mol *const *test_mols;
} sdg_mol_reference;

enum { SDG_MOL_BOND_TYPES = 4 };       /* single, double, triple, aromatic                  */
typedef struct sdg_mol_metrics {
    sdg_metric_result validity_wo_correction;  /* NAN when no record carries the flag       */
    sdg_metric_result validity;                /* valid / records                            */
    sdg_metric_result uniqueness;              /* unique canonical SMILES / valid            */
    sdg_metric_result novelty;                 /* unique valid not in train / unique valid   */
    sdg_metric_result nspdk;                   /* NSPDK MMD^2, valid samples vs test         */
    sdg_metric_result atom_tv, bond_tv;        /* total variation of the type distributions  */
    double atom_gen[119], atom_test[119];      /* heavy-atom fractions by atomic number      */
    double bond_gen[SDG_MOL_BOND_TYPES], bond_test[SDG_MOL_BOND_TYPES];  /* aromatic first wins */
    size_t n_records, n_valid, n_unique, n_novel;
} sdg_mol_metrics;
/* Every metric above for samples against ref (n_test >= 1; n_train may be 0, then novelty is
 * NAN). SDG_ERR_INVALID when no sample is valid or no test molecule has an atom.
 * Cost: sorting the SMILES plus the NSPDK vectors, ~0.2 ms per QM9 molecule. */
SDG_API sdg_status sdg_mol_metrics_compute(const sdg_mol_samples *samples,
                                           const sdg_mol_reference *ref,
                                           const sdg_nspdk_params *nspdk, sdg_mol_metrics *out);

#ifdef __cplusplus
}
#endif
#endif /* SDEGEN_EVAL_H */
