/* sdegen/crystal.h: periodic crystals, CIF, symmetry (spglib), validity, CDVAE datasets and
 * DiffCrysGen's unified crystal matrix (docs/crystals.md).
 * Units: Angstrom and degrees. A crystal has A sites with atomic numbers z (1..118) and
 * fractional coordinates frac (A, 3) row-major. The lattice is a 3x3 row-major matrix whose
 * ROWS are the vectors a, b, c in Cartesian Angstrom: x_cart = f_a a + f_b b + f_c c.
 * Lattice parameters (a, b, c, alpha, beta, gamma) map to the standard crystallographic
 * orientation: a along +x, b in the xy plane (b_y > 0), c with c_z > 0 (right-handed).
 * spglib is used inside this module only; no spglib type appears here. Strings returned
 * through char ** are malloc'ed: release them with free(). */
#ifndef SDEGEN_CRYSTAL_H
#define SDEGEN_CRYSTAL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "sdegen/core.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct sdg_crystal {
    int64_t  n_atoms;      /* A                                              */
    double   lattice[9];   /* rows a, b, c (Cartesian, Angstrom)             */
    int32_t *z;            /* (A) atomic numbers                             */
    double  *frac;         /* (A, 3) fractional coordinates                  */
    char    *name;         /* CIF data block name or material id, or NULL    */
    size_t   cap;          /* private: allocated sites                       */
} sdg_crystal;

/* ---- elements (this module's own table, Z 1..118; docs/crystals.md says why) ---- */
SDG_API const char *sdg_crystal_element_symbol(int z);         /* NULL outside 1..118 */
/* Atomic number of "Fe", "FE", "fe", or of a CIF type symbol with a charge ("Fe3+", "O2-").
 * SDG_ERR_NOTFOUND for anything else. */
SDG_API sdg_status  sdg_crystal_element_number(const char *symbol, int *z);

/* ---- lattices ---- */
/* p = (a, b, c, alpha, beta, gamma) -> rows a, b, c in the orientation above. SDG_ERR_INVALID
 * for non-finite or non-positive lengths, angles outside (0, 180) or a metric that is not
 * positive definite (e.g. alpha + beta + gamma >= 360). */
SDG_API sdg_status sdg_lattice_from_params(const double p[6], double m[9]);
SDG_API void       sdg_lattice_to_params(const double m[9], double p[6]);
SDG_API double     sdg_lattice_volume(const double m[9]);      /* |det m|, Angstrom^3 */
SDG_API void       sdg_lattice_frac_to_cart(const double m[9], const double f[3], double x[3]);
/* SDG_ERR_NUMERIC for a singular lattice. */
SDG_API sdg_status sdg_lattice_cart_to_frac(const double m[9], const double x[3], double f[3]);

/* ---- the crystal type ---- */
/* Empty crystal (no sites) with the lattice m (NULL: zero matrix). SDG_ERR_NOMEM. */
SDG_API sdg_status sdg_crystal_new(const double m[9], sdg_crystal **out);
SDG_API void       sdg_crystal_free(sdg_crystal *c);            /* NULL is a no-op */
SDG_API sdg_status sdg_crystal_copy(const sdg_crystal *c, sdg_crystal **out);
/* Appends a site. SDG_ERR_INVALID for z outside 1..118 or non-finite coordinates. */
SDG_API sdg_status sdg_crystal_add_site(sdg_crystal *c, int z, const double f[3]);
SDG_API sdg_status sdg_crystal_set_name(sdg_crystal *c, const char *name);   /* NULL clears */
SDG_API double     sdg_crystal_volume(const sdg_crystal *c);
/* Wraps every fractional coordinate into [0, 1) (f - floor(f); 1 - eps rounding to 1 -> 0). */
SDG_API void       sdg_crystal_wrap(sdg_crystal *c);
/* Reduced formula counts: distinct z ascending into zs, their counts divided by their gcd
 * into counts; both of capacity cap; *n = number of distinct elements (needed size). */
SDG_API sdg_status sdg_crystal_composition(const sdg_crystal *c, int32_t *zs, int64_t *counts,
                                           size_t cap, size_t *n);
/* Hill-order formula of the cell content into a new string: C, then H, then the rest
 * alphabetically when carbon is present, else all alphabetically ("C8", "CaO3Ti"). */
SDG_API sdg_status sdg_crystal_formula(const sdg_crystal *c, char **out);

typedef struct sdg_crystal_list {
    size_t        count;
    sdg_crystal **items;                                        /* (count) */
} sdg_crystal_list;
SDG_API void sdg_crystal_list_free(sdg_crystal_list *l);        /* NULL is a no-op */

/* ---- CIF (docs/crystals.md, "CIF support") ---- */
/* Every data block of a CIF 1.1 text: cell, _atom_site loop (type symbol or label, fract
 * x/y/z, occupancy), symmetry operations expanded (duplicate images within 0.01 Angstrom
 * merged), "5.431(2)" uncertainties dropped. Blocks without cell and atoms are skipped.
 * SDG_ERR_FORMAT "source: block B (line L): reason" for malformed input, occupancy != 1,
 * unknown elements, Cartesian-only sites; source names the text in messages. */
SDG_API sdg_status sdg_crystal_read_cif_string(const char *text, const char *source,
                                               sdg_crystal_list **out);
SDG_API sdg_status sdg_crystal_read_cif_file(const char *path, sdg_crystal_list **out);

typedef struct sdg_cif_params {
    bool   symmetrize;  /* spglib's conventional standard cell, ops loop, Wyckoff letters */
    double symprec;     /* Angstrom, for symmetrize (default 0.1)                         */
} sdg_cif_params;
SDG_API sdg_cif_params sdg_cif_default_params(void);
/* Writes one CIF 1.1 data block (name: c->name or the formula) to f: P1 with every site, or
 * with symmetrize the independent sites of the standard cell. SDG_ERR_IO, SDG_ERR_DEPENDENCY. */
SDG_API sdg_status sdg_crystal_write_cif(FILE *f, const sdg_crystal *c, const sdg_cif_params *p);

/* ---- symmetry (spglib 2.0) ---- */
typedef struct sdg_spacegroup {
    int  number;         /* 1..230                                  */
    char symbol[16];     /* international short symbol, "Fm-3m"     */
    char hm_full[32];    /* H-M with spaces, "F m -3 m" (for CIF)   */
} sdg_spacegroup;
/* Space group of c at symprec (Angstrom; 0.1 is the usual choice). SDG_ERR_DEPENDENCY with
 * spglib's reason when it finds none (e.g. atoms too close). O(A^2) to O(A^3). */
SDG_API sdg_status sdg_crystal_spacegroup(const sdg_crystal *c, double symprec, sdg_spacegroup *out);
/* spglib's standardised conventional cell (spg_standardize_cell: conventional, idealised,
 * in spglib's standard orientation), named like c. SDG_ERR_DEPENDENCY with spglib's reason. */
SDG_API sdg_status sdg_crystal_standardize(const sdg_crystal *c, double symprec, sdg_crystal **out);
/* counts[k] += number of crystals in group k (1..230); counts[0] += those spglib rejects. */
SDG_API sdg_status sdg_spacegroup_histogram(const sdg_crystal *const *cs, size_t n, double symprec,
                                            int64_t counts[231]);

/* ---- validity (docs/crystals.md, "Validity") ---- */
typedef struct sdg_element_table sdg_element_table;   /* opaque: data/elements.tsv */
/* Loads the element table from path, or when path is NULL from $SDEGEN_TABLES/elements.tsv,
 * then the source tree's data/, then the installed share/sdegen/. SDG_ERR_IO, SDG_ERR_FORMAT. */
SDG_API sdg_status sdg_element_table_load(const char *path, sdg_element_table **out);
SDG_API void       sdg_element_table_free(sdg_element_table *t);      /* NULL is a no-op */

typedef struct sdg_validity_params {
    double min_distance;    /* Angstrom, 0.5                                  */
    double min_volume;      /* Angstrom^3, 0.1                                */
    bool   pauling_test;    /* SMACT's electronegativity test (true)          */
    bool   include_alloys;  /* all-metal compositions are valid (true)        */
} sdg_validity_params;
SDG_API sdg_validity_params sdg_validity_default_params(void);

typedef struct sdg_crystal_validity {
    bool   structural;      /* min_distance and volume rules                  */
    bool   compositional;   /* SMACT rule                                     */
    bool   valid;           /* both                                           */
    double min_distance;    /* Angstrom, over all pairs and periodic images   */
    double volume;          /* Angstrom^3                                     */
} sdg_crystal_validity;
/* Shortest distance between two sites, periodic images included (an atom and its own image
 * too); exact for any cell (images enumerated up to the bound set by the perpendicular
 * heights). +INFINITY for an empty crystal. SDG_ERR_NUMERIC for a singular lattice. */
SDG_API sdg_status sdg_crystal_min_distance(const sdg_crystal *c, double *d);
/* SMACT's rule on reduced counts: valid if one element, or all metals (include_alloys), or
 * some oxidation-state assignment is charge-neutral and passes the Pauling test. */
SDG_API sdg_status sdg_composition_smact_valid(const sdg_element_table *t, const int32_t *zs,
                                               const int64_t *counts, size_t n,
                                               const sdg_validity_params *p, bool *valid);
SDG_API sdg_status sdg_crystal_check_validity(const sdg_crystal *c, const sdg_element_table *t,
                                              const sdg_validity_params *p, sdg_crystal_validity *out);

/* Atomic mass of z in g/mol (the table's mass column) into *mass. SDG_ERR_NOTFOUND when the
 * table has no mass for z. */
SDG_API sdg_status sdg_element_table_mass(const sdg_element_table *t, int z, double *mass);
/* Density of the cell content in g/cm^3 (sum of masses / volume). SDG_ERR_NOTFOUND naming an
 * element without a mass, SDG_ERR_NUMERIC for a zero volume. */
SDG_API sdg_status sdg_crystal_density(const sdg_crystal *c, const sdg_element_table *t, double *rho);

/* ---- structure matching (docs/crystals.md "Evaluation"; after pymatgen's StructureMatcher) ----
 * a matches b when: same reduced composition; same number of sites after primitive reduction;
 * after Niggli reduction and scaling both to the volume sqrt(Va Vb), some basis of a's lattice
 * (|det| = 1 change of basis) has lengths within a factor (1 + ltol) and angles within angle_tol
 * of b's reduced basis; and for some translation, the optimal species-preserving assignment
 * of sites has every displacement (mean removed) below stol * (V / N)^(1/3) on the average
 * lattice. Not symmetric in a and b, as pymatgen's fit(a, b) is not. */
typedef struct sdg_match_params {
    double ltol;            /* fractional length tolerance (0.2)                   */
    double stol;            /* site tolerance, in units of (V / N)^(1/3) (0.3)     */
    double angle_tol;       /* degrees (5)                                         */
    bool   primitive_cell;  /* reduce both to primitive cells first (true)         */
    bool   scale;           /* scale both to the same volume (true)                */
    double primitive_tol;   /* Angstrom per coordinate, primitive search (0.25)    */
} sdg_match_params;
SDG_API sdg_match_params sdg_match_default_params(void);
typedef struct sdg_match_result {
    bool   match;
    double max_dist;        /* largest normalised displacement of the best trial (INFINITY: none) */
    double rms_dist;        /* its rms displacement (normalised alike)                            */
    int    n_bases;         /* candidate bases of a's lattice that were tried                     */
} sdg_match_result;
/* Niggli-reduced basis of the rows of m (Krivy-Gruber with relative tolerance tol, 1e-5
 * usual): out = T m with T integer, det T = +1 (T may be NULL). SDG_ERR_NUMERIC for a
 * singular or non-finite lattice or no convergence. */
SDG_API sdg_status sdg_lattice_niggli_reduce(const double m[9], double tol, double out[9], int32_t T[9]);
/* c in its Niggli-reduced cell (coordinates wrapped), a new crystal. */
SDG_API sdg_status sdg_crystal_niggli_reduce(const sdg_crystal *c, sdg_crystal **out);
/* A primitive cell of c (new crystal, sites sorted by z): in the Niggli cell, the largest
 * group of pure translations mapping every site onto a site of its species (within 2 tol
 * Angstrom per axis; images folded within tol, 0.25 usual) gives a smaller cell whose sites
 * average their images; c in its Niggli cell when there is none. O(A^3). */
SDG_API sdg_status sdg_crystal_primitive(const sdg_crystal *c, double tol, sdg_crystal **out);
/* Compares a with b (p NULL: defaults). SDG_ERR_INVALID for empty crystals or tolerances out
 * of range. O(bases x translations x A^3) after the reductions. */
SDG_API sdg_status sdg_crystal_match(const sdg_crystal *a, const sdg_crystal *b, const sdg_match_params *p,
                                     sdg_match_result *out);
/* A set of prepared (reduced) crystals bucketed by reduced composition and primitive site
 * count, for uniqueness and novelty. find compares c (as a) with each entry of its bucket
 * whose reduced lengths pass a necessary bound, in insertion order; *id = the first match.
 * An index holds scratch memory: one thread at a time. */
typedef struct sdg_match_index sdg_match_index;
SDG_API sdg_status sdg_match_index_new(const sdg_match_params *p, sdg_match_index **out);
SDG_API void       sdg_match_index_free(sdg_match_index *x);                  /* NULL is a no-op */
SDG_API sdg_status sdg_match_index_add(sdg_match_index *x, const sdg_crystal *c, size_t *id);
SDG_API sdg_status sdg_match_index_find(sdg_match_index *x, const sdg_crystal *c, bool *found, size_t *id);
/* find, and add c when it matches nothing (*id: the match, or the new entry). */
SDG_API sdg_status sdg_match_index_find_or_add(sdg_match_index *x, const sdg_crystal *c, bool *found, size_t *id);
SDG_API size_t     sdg_match_index_count(const sdg_match_index *x);
SDG_API size_t     sdg_match_index_comparisons(const sdg_match_index *x);   /* full comparisons run */
/* Exact Wasserstein-1 distance between the empirical distributions of u (nu values) and v
 * (nv values), as scipy.stats.wasserstein_distance: the integral of |F_u - F_v|. SDG_ERR_INVALID
 * for an empty sample, SDG_ERR_NUMERIC for a non-finite value. O((nu + nv) log). */
SDG_API sdg_status sdg_wasserstein1(const double *u, size_t nu, const double *v, size_t nv, double *out);

/* ---- property by dataset neighbour (docs/crystals.md "Property by dataset neighbour") ----
 * A crystal's property predicted as the mean value of its k nearest reference crystals under
 * the L1 distance between fractional compositions (x_Z = atoms of Z / atoms, Z 1..118; range
 * 0..2, 0 exactly when the reduced compositions are equal). Distances are exact rationals;
 * ties go to the earlier reference crystal. A proxy for the property, not a calculation. */
typedef struct sdg_crystal_knn_params {
    size_t k;               /* neighbours averaged (5)                                   */
} sdg_crystal_knn_params;
SDG_API sdg_crystal_knn_params sdg_crystal_knn_default_params(void);
typedef struct sdg_crystal_knn_result {
    double value;           /* mean value of the k nearest reference crystals            */
    size_t k;               /* neighbours averaged: min(k, reference crystals)           */
    double nearest;         /* L1 distance to the nearest one                            */
    double farthest;        /* L1 distance to the k-th                                   */
    size_t nearest_id;      /* its index in the arrays given to sdg_crystal_knn_new      */
    size_t n_exact;         /* reference crystals with the same reduced composition      */
    bool   exact;           /* n_exact > 0                                               */
} sdg_crystal_knn_result;
typedef struct sdg_crystal_knn sdg_crystal_knn;   /* opaque; scratch inside: one thread at a time */
/* Reference set of n crystals ref with their values; crystals whose value is not finite are
 * left out (sdg_crystal_knn_skipped). SDG_ERR_INVALID for k = 0, a crystal without sites or
 * more than 2^20 atoms in its reduced formula, or no finite value. O(n A). */
SDG_API sdg_status sdg_crystal_knn_new(const sdg_crystal *const *ref, const double *values, size_t n,
                                       const sdg_crystal_knn_params *p, sdg_crystal_knn **out);
SDG_API void       sdg_crystal_knn_free(sdg_crystal_knn *x);                  /* NULL is a no-op */
SDG_API size_t     sdg_crystal_knn_count(const sdg_crystal_knn *x);     /* reference crystals kept */
SDG_API size_t     sdg_crystal_knn_skipped(const sdg_crystal_knn *x);   /* left out (no value)      */
/* Predicts c's property into *out; ids (capacity cap, may be NULL with cap 0) gets the
 * neighbours' indices, nearest first. SDG_ERR_INVALID for a crystal without sites.
 * O(n (elements + k)) for n reference crystals. */
SDG_API sdg_status sdg_crystal_knn_predict(sdg_crystal_knn *x, const sdg_crystal *c, size_t *ids, size_t cap,
                                           sdg_crystal_knn_result *out);

/* ---- CDVAE datasets (DIR/{train,val,test}.csv with a cif column) ---- */
typedef struct sdg_crystal_dataset {
    size_t        count;
    sdg_crystal **crystals;      /* (count), coordinates wrapped into [0, 1)               */
    char        **ids;           /* (count) material_id column, or the row number            */
    size_t        n_props;
    char        **prop_names;    /* (n_props) every column but the index, material_id, cif */
    double       *props;         /* (count, n_props); NaN where missing or not a number     */
    size_t        n_rows;        /* data rows read                                          */
    size_t        n_skipped;     /* malformed rows skipped                                  */
    char         *skip_reasons[4];   /* first reasons ("row R (line L): ..."), NULL-padded  */
} sdg_crystal_dataset;
typedef struct sdg_crystal_dataset_params {
    size_t max_rows;             /* 0 = all                                                 */
} sdg_crystal_dataset_params;
SDG_API sdg_crystal_dataset_params sdg_crystal_dataset_default_params(void);
/* A CDVAE CSV (RFC 4180: quoted multi-line fields, doubled quotes). SDG_ERR_IO; SDG_ERR_FORMAT
 * when the header has no cif column or a quote is unterminated; bad rows are skipped. */
SDG_API sdg_status sdg_crystal_dataset_read_csv(const char *path, const sdg_crystal_dataset_params *p,
                                                sdg_crystal_dataset **out);
/* DIR/SPLIT.csv (split "train", "val" or "test"). */
SDG_API sdg_status sdg_crystal_dataset_load(const char *dir, const char *split,
                                            const sdg_crystal_dataset_params *p,
                                            sdg_crystal_dataset **out);
SDG_API void       sdg_crystal_dataset_free(sdg_crystal_dataset *d);  /* NULL is a no-op */
/* Column index of a property by name into *k. SDG_ERR_NOTFOUND. */
SDG_API sdg_status sdg_crystal_dataset_prop(const sdg_crystal_dataset *d, const char *name, size_t *k);

/* ---- DiffCrysGen's unified crystal matrix (docs/crystals.md, "Crystal matrix") ----
 * R = Z_rows + 2 + 2 N_max rows by W = max(E_max, 3) columns, row-major doubles: element block
 * (Z_rows, E_max) one-hot row per distinct element (columns in ascending Z); lattice (2, 3):
 * a b c / alpha beta gamma; coordinates (N_max, 3); occupancy (N_max, E_max) one-hot element
 * column per site (sites in crystal order); unused entries 0. The element rows are Z = 1..94
 * (Z_rows = 94, DiffCrysGen's layout) or an element vocabulary, one row per element in
 * ascending Z (Z_rows = n_vocab). E_max = 3, N_max = 20 with all rows gives 136 x 3. */
#define SDG_CRYSTAL_ZMAX 94   /* elements a crystal matrix can hold: Z = 1..94 */
typedef struct sdg_crystal_matrix_params {
    int64_t e_max;                    /* distinct elements per crystal (DiffCrysGen: 3)     */
    int64_t n_max;                    /* sites per cell (DiffCrysGen: 20)                   */
    int64_t n_vocab;                  /* element rows: 0 = all of Z 1..94, else vocab's     */
    int32_t vocab[SDG_CRYSTAL_ZMAX];  /* (n_vocab) Z of the element rows, ascending, 1..94  */
} sdg_crystal_matrix_params;
SDG_API sdg_crystal_matrix_params sdg_crystal_matrix_default_params(void);   /* 3, 20, all rows */
/* Rows and columns of the matrix. SDG_ERR_INVALID for e_max or n_max < 1, n_vocab outside
 * 0..94 or a vocabulary that is not ascending in 1..94. */
SDG_API sdg_status sdg_crystal_matrix_shape(const sdg_crystal_matrix_params *p, int64_t *rows,
                                            int64_t *cols);
/* Encodes c (coordinates wrapped) into M (capacity cap doubles). SDG_ERR_INVALID naming why
 * when c does not fit: more than e_max elements, more than n_max sites, z > 94, an element
 * outside the vocabulary (named). */
SDG_API sdg_status sdg_crystal_matrix_encode(const sdg_crystal_matrix_params *p, const sdg_crystal *c,
                                             double *M, size_t cap);
/* Sets p's element rows to the vocabulary of the n crystals cs: the elements, ascending, of
 * those that fit p's E_max and N_max with all rows. SDG_ERR_INVALID (p unchanged) when none
 * fits. O(n A). */
SDG_API sdg_status sdg_crystal_matrix_vocab_fit(const sdg_crystal *const *cs, size_t n,
                                                sdg_crystal_matrix_params *p);
/* Decodes an unscaled matrix (thresholds in docs). *out = a well-formed crystal, or NULL with
 * a reason in why (capacity why_cap) when the matrix is undecodable; SDG_OK either way. With a
 * vocabulary, every decoded element is one of it. */
SDG_API sdg_status sdg_crystal_matrix_decode(const sdg_crystal_matrix_params *p, const double *M,
                                             sdg_crystal **out, char *why, size_t why_cap);
/* How a sampled matrix is read (docs/crystals.md "Crystal matrix", decoding). elements: 94 flags
 * (elements[Z - 1] = 1: Z may be decoded), NULL = all: an element column still holds an element
 * when its largest entry is >= 0.5, but its element is the largest entry among the allowed rows
 * (with vocabulary rows only these rows count: a no-op when elements covers the vocabulary).
 * reassign_sites: a site whose largest occupancy entry points to a column without element takes
 * its largest entry among the columns with one (without it, such a matrix is undecodable). */
typedef struct sdg_crystal_decode_rule {
    const uint8_t *elements;
    bool           reassign_sites;
} sdg_crystal_decode_rule;
/* sdg_crystal_matrix_decode under rule (NULL: the plain rule above); *changes (may be NULL) =
 * element columns whose element the vocabulary changed + sites reassigned, for a decoded crystal.
 * SDG_ERR_INVALID for an empty vocabulary or one without an element row of the matrix. */
SDG_API sdg_status sdg_crystal_matrix_decode_with(const sdg_crystal_matrix_params *p,
                                                  const sdg_crystal_decode_rule *rule, const double *M,
                                                  sdg_crystal **out, int *changes, char *why, size_t why_cap);

/* Per-block affine scaling to zero mean, unit variance: one (mean, std) for the element
 * block (Z_rows x E_max), for each of the six lattice entries, for the coordinates and for the
 * occupancy (statistics over the block's used columns; extra columns of W stay 0). 18 doubles. */
typedef struct sdg_crystal_scaler {
    double elem_mean, elem_std;
    double lat_mean[6], lat_std[6];
    double coord_mean, coord_std;
    double occ_mean, occ_std;
} sdg_crystal_scaler;
/* Fits on n encoded matrices M (n, R, W). SDG_ERR_INVALID for n = 0. */
SDG_API sdg_status sdg_crystal_scaler_fit(const sdg_crystal_matrix_params *p, const double *M, size_t n,
                                          sdg_crystal_scaler *s);
/* In place on n matrices: x <- (x - mean) / std, and the inverse. */
SDG_API void sdg_crystal_scaler_apply(const sdg_crystal_matrix_params *p, const sdg_crystal_scaler *s,
                                      double *M, size_t n);
SDG_API void sdg_crystal_scaler_invert(const sdg_crystal_matrix_params *p, const sdg_crystal_scaler *s,
                                       double *M, size_t n);


/* ---- the denoiser: a 1-D U-Net over the matrix rows (docs/crystals.md "Model") ----
 * Input and output (B, W, R): channels = matrix columns, length = matrix rows (the transpose of
 * the (R, W) matrix). The length is padded internally to a multiple of 2^(levels-1) and masked.
 * Channels per level: base * 2^l. Weight-standardised 3-tap convolutions, group norm, SiLU,
 * residual blocks with the noise embedding, self-attention at the bottleneck. */
#include "sdegen/nn.h"
#include "sdegen/sde.h"
typedef struct sdg_crystal_unet_params {
    int64_t  width;      /* W, matrix columns                                     */
    int64_t  rows;       /* R, matrix rows                                        */
    int64_t  base;       /* channels at full resolution (64; a multiple of groups)*/
    int      levels;     /* resolutions, 1..4 (2)                                 */
    int      blocks;     /* residual blocks per level on the way down, 1..4 (1)   */
    int      groups;     /* group-norm groups (8)                                 */
    int64_t  emb;        /* noise/property embedding width (128)                  */
    bool     attention;  /* self-attention at the bottleneck (true)               */
    int      n_cond;     /* conditioning scalars: 0, or 1 (embedding + null)      */
    uint64_t seed;       /* initialisation                                        */
} sdg_crystal_unet_params;
typedef struct sdg_crystal_unet sdg_crystal_unet;
SDG_API sdg_crystal_unet_params sdg_crystal_unet_default_params(void);
/* Builds the network with PyTorch-default initialisation from seed. SDG_ERR_INVALID naming
 * the bad size. */
SDG_API sdg_status sdg_crystal_unet_new(const sdg_crystal_unet_params *p, sdg_crystal_unet **out);
SDG_API void       sdg_crystal_unet_free(sdg_crystal_unet *u);                     /* NULL is a no-op */
SDG_API sdg_params *sdg_crystal_unet_params_store(const sdg_crystal_unet *u);
SDG_API const sdg_crystal_unet_params *sdg_crystal_unet_get_params(const sdg_crystal_unet *u);
/* R rounded up to a multiple of 2^(levels-1). */
SDG_API int64_t    sdg_crystal_unet_padded_rows(const sdg_crystal_unet_params *p);
/* F(x; c_noise, cond): x (B, W, R), c_noise (B) (EDM: ln(sigma)/4), cond (B, n_cond) scaled
 * property values or NULL, keep (B): 1 = use cond, 0 = the null embedding (classifier-free
 * dropout / unconditional pass); keep NULL = all 1. A conditioned net given cond NULL uses the
 * null embedding. Returns (B, W, R), or NULL with the ctx failed (sticky errors). With grad
 * mode off, a fused tape-free path computes the same function (docs/crystals.md). */
SDG_API sdg_tensor *sdg_crystal_unet_forward(sdg_ctx *ctx, const sdg_crystal_unet *u, sdg_tensor *x,
                                             const float *c_noise, const float *cond, const float *keep);

/* ---- EDM training and the preconditioned denoiser (Karras et al. 2022) ---- */
typedef struct sdg_crystal_train_params {
    int64_t  batch;        /* 64                                                          */
    float    lr;           /* Adam learning rate (5e-4)                                   */
    float    grad_clip;    /* global L2 norm; 0 = none (1)                                */
    float    ema_decay;    /* 0.999                                                       */
    float    p_uncond;     /* probability of the null embedding when conditioned (0.1)    */
    float    p_mean, p_std;/* ln sigma ~ N(p_mean, p_std^2) (-1.2, 1.2)                   */
    float    sigma_data;   /* EDM sigma_data of the scaled matrices (1; the CLI measures) */
    uint64_t seed;         /* epoch e draws from sdg_rng_stream(seed, 1 + e)             */
} sdg_crystal_train_params;
SDG_API sdg_crystal_train_params sdg_crystal_train_default_params(void);
typedef struct sdg_crystal_trainer sdg_crystal_trainer;
/* Trainer for net on n scaled matrices X (n, R*W) row-major (R, W), and for a conditioned net
 * cond (n) scaled property values (NaN = missing: the null embedding). X and cond are borrowed.
 * Adam on every parameter, EMA shadow, EDM loss of the engine (sde.h SDG_LOSS_KIND_EDM,
 * reduce MEAN). SDG_ERR_INVALID for a bad option or shape. */
SDG_API sdg_status sdg_crystal_trainer_new(sdg_crystal_unet *net, const float *X, const float *cond, size_t n,
                                           const sdg_crystal_train_params *p, sdg_crystal_trainer **out);
SDG_API void       sdg_crystal_trainer_free(sdg_crystal_trainer *t);               /* NULL is a no-op */
/* One pass over the data in a shuffled order (the last partial batch included); *loss = the
 * mean batch loss. Bit-identical for equal (params, epoch count, Adam, EMA) and one thread. */
SDG_API sdg_status sdg_crystal_trainer_epoch(sdg_crystal_trainer *t, double *loss);
SDG_API int64_t    sdg_crystal_trainer_epochs(const sdg_crystal_trainer *t);
SDG_API void       sdg_crystal_trainer_set_epochs(sdg_crystal_trainer *t, int64_t epochs);
SDG_API sdg_adam  *sdg_crystal_trainer_adam(sdg_crystal_trainer *t);
SDG_API sdg_ema   *sdg_crystal_trainer_ema(sdg_crystal_trainer *t);
SDG_API const sdg_crystal_train_params *sdg_crystal_trainer_params(const sdg_crystal_trainer *t);

/* The preconditioned denoiser as an engine model (sdg_model.fn, kind SDG_PARAM_KIND_DENOISER):
 * D(x; sigma) = c_skip x + c_out F(c_in x; c_noise) with sigma = the component's sde sigma(t)
 * (EDM: t itself; VE: sigma_min (sigma_max/sigma_min)^t), so that the EDM Heun sampler and the
 * VE PC / probability-flow samplers share one network. With cond set and guidance w:
 * D = (1 + w) D(x | cond) - w D(x | null). One component of dim R*W. */
typedef struct sdg_crystal_denoiser {
    const sdg_crystal_unet *net;
    sdg_ctx     *ctx;          /* scratch (no tape is recorded)                      */
    float        sigma_data;
    const float *cond;         /* (n) scaled property target per sample, or NULL     */
    float        guidance;     /* w >= 0                                             */
    double       flops;        /* accumulated network FLOPs                          */
} sdg_crystal_denoiser;
SDG_API sdg_status sdg_crystal_denoiser_fn(const sdg_model_call *call, void *params /* sdg_crystal_denoiser */);

#ifdef __cplusplus
}
#endif
#endif /* SDEGEN_CRYSTAL_H */
