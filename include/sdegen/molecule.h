/* sdegen/molecule.h: molecules, SMILES and SDF through Open Babel, and GDSS's molecule graphs.
 * A molecule has A atoms 0..A-1 (atomic number z, 1 = explicit H; formal charge; implicit-H
 * count, -1 = derived from the default valences, RDKit's model) and bonds (i, j, order 1/2/3)
 * kept in Kekule form and in insertion order; the aromatic flag only records perception.
 * Hydrogens are implicit after SMILES parsing; only 3-D embedding adds explicit H atoms.
 * Stereo and isotopes are not represented: they are dropped on parsing and never written.
 * Coordinates, when present (dim 2 or 3), are (A, 3) doubles in Angstrom (z = 0 in 2-D).
 * GDSS tensors (docs/molecules.md): X (N, F) one-hot atom type in the vocabulary's order,
 * A (N, N) bond order 0..3, symmetric, zero diagonal; rows past the atom count are zero.
 * Strings returned through char ** are malloc'ed: release them with free().
 * Open Babel is used inside this module only; no Open Babel type appears here. It is not
 * thread-safe, so every call into it is serialised by one lock. */
#ifndef SDEGEN_MOLECULE_H
#define SDEGEN_MOLECULE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "sdegen/core.h"
#include "sdegen/graph.h"   /* sdg_gdss_model, for sdg_mol_sample; nn.h */
#ifdef __cplusplus
extern "C" {
#endif

typedef struct sdg_atom {
    int32_t z;         /* atomic number, 1..118                        */
    int32_t charge;    /* formal charge                                */
    int32_t hcount;    /* implicit hydrogens; -1 = derive (see above)  */
} sdg_atom;

typedef struct sdg_bond {
    int32_t i, j;      /* atom indices, i != j                          */
    int32_t order;     /* 1, 2 or 3 (Kekule)                            */
    bool    aromatic;  /* set by perception; never changes the order    */
} sdg_bond;

typedef struct sdg_mol {
    int64_t   n_atoms;
    int64_t   n_bonds;
    sdg_atom *atoms;      /* (n_atoms)                                     */
    sdg_bond *bonds;      /* (n_bonds), oldest first                       */
    int       dim;        /* 0 = no coordinates, 2 or 3                    */
    double   *coords;     /* (n_atoms, 3) when dim > 0, else NULL          */
    char     *name;       /* title (SDF first line) or NULL                */
    size_t    cap_atoms;  /* private: allocated slots                      */
    size_t    cap_bonds;
} sdg_mol;

/* ---- elements ---- */
/* Symbol of atomic number z ("C", "Cl"), or NULL outside 1..118. */
SDG_API const char *sdg_element_symbol(int z);
/* Atomic number of a symbol (case-sensitive: "Cl", not "CL"). SDG_ERR_NOTFOUND. */
SDG_API sdg_status  sdg_element_number(const char *symbol, int *z);

/* ---- the molecule type ---- */
SDG_API sdg_status sdg_mol_new(sdg_mol **out);                  /* empty; SDG_ERR_NOMEM */
SDG_API void       sdg_mol_free(sdg_mol *m);                     /* NULL is a no-op      */
SDG_API sdg_status sdg_mol_copy(const sdg_mol *m, sdg_mol **out);
/* Appends an atom (hcount -1; coordinates 0) and reports its index (idx may be NULL).
 * SDG_ERR_INVALID for z outside 1..118. */
SDG_API sdg_status sdg_mol_add_atom(sdg_mol *m, int z, int charge, int64_t *idx);
/* Appends bond (i, j) of order 1..3 as the newest bond. SDG_ERR_INVALID for an index out of
 * range, i == j, an existing bond between i and j, or another order. */
SDG_API sdg_status sdg_mol_add_bond(sdg_mol *m, int64_t i, int64_t j, int order);
/* Removes bond k; younger bonds move down one place (their age order is kept). */
SDG_API sdg_status sdg_mol_remove_bond(sdg_mol *m, int64_t k);
/* Index of the bond between i and j in *k, or -1. SDG_ERR_INVALID for bad indices. */
SDG_API sdg_status sdg_mol_find_bond(const sdg_mol *m, int64_t i, int64_t j, int64_t *k);
SDG_API sdg_status sdg_mol_set_name(sdg_mol *m, const char *name);   /* NULL clears */
/* Explicit valence of atom i: the sum of its bond orders (bonds to explicit H included). */
SDG_API sdg_status sdg_mol_valence(const sdg_mol *m, int64_t i, int *v);
/* Implicit hydrogens of atom i: hcount if >= 0, else the smallest default valence of the
 * element isoelectronic with (z - charge) that is >= the explicit valence, minus it (0 when
 * none is, or the element has no default valence). RDKit's model: C 4, N 3, O 2, P 3/5/7... */
SDG_API sdg_status sdg_mol_hcount(const sdg_mol *m, int64_t i, int *h);
/* Largest permitted explicit valence of atom i (RDKit's model, charge-shifted as above:
 * C 4, N 3, N+ 4, O 2, O+ 3, S 6, S+ 7, P 7, I 5 ...); -1 when the element has none. */
SDG_API sdg_status sdg_mol_max_valence(const sdg_mol *m, int64_t i, int *vmax);

/* ---- SMILES and coordinates (Open Babel) ---- */
/* Parses one SMILES: Kekule bond orders, implicit hydrogens (explicit [H] atoms folded into
 * their neighbour's count), charges kept, stereo dropped, RDKit's nitro/azide clean-up.
 * SDG_ERR_FORMAT with Open Babel's reason for input it rejects (it never prints), and for
 * atoms over sdg_mol_max_valence (bonds + H), as RDKit's sanitisation does. */
SDG_API sdg_status sdg_mol_from_smiles(const char *smiles, sdg_mol **out);
/* SMILES of m (Open Babel "smi", aromatic where perceived) into a new string. */
SDG_API sdg_status sdg_mol_to_smiles(const sdg_mol *m, char **out);
/* Canonical SMILES (Open Babel "can", no stereo or isotopes) into a new string. */
SDG_API sdg_status sdg_mol_to_canonical_smiles(const sdg_mol *m, char **out);
/* 2-D depiction coordinates (Open Babel's diagram generator); sets dim = 2. */
SDG_API sdg_status sdg_mol_coords_2d(sdg_mol *m);

typedef struct sdg_embed_params {
    const char *forcefield;  /* "MMFF94" (default) or "UFF"; UFF is tried if it cannot type */
    int         steps;       /* conjugate-gradient steps per minimisation (default 300)   */
    double      jitter;      /* Angstrom: random displacement before a second minimisation,
                                which moves sp centres off the builder's saddle (0.01) */
} sdg_embed_params;
SDG_API sdg_embed_params sdg_embed_default_params(void);
/* New molecule with explicit hydrogens (appended after the heavy atoms, hcount 0) and 3-D
 * coordinates: Open Babel's builder, minimisation, jitter from rng, minimisation again.
 * SDG_ERR_DEPENDENCY when the builder or the force field fails. Tens of ms per small molecule. */
SDG_API sdg_status sdg_mol_embed_3d(const sdg_mol *m, const sdg_embed_params *params,
                                    sdg_rng *rng, sdg_mol **out);

/* ---- SDF (V2000) ---- */
typedef struct sdg_mol_field {
    const char *name;        /* written as "> <name>"       */
    const char *value;       /* one or more lines, no blank */
} sdg_mol_field;
/* V2000 MOL block of m (no "$$$$") into a new string: charges as "M  CHG", coordinates or
 * zeros, line 2 "  sdegen" plus "2D"/"3D" (no timestamp: output is byte-stable).
 * SDG_ERR_INVALID for more than 999 atoms or bonds. */
SDG_API sdg_status sdg_mol_to_molblock(const sdg_mol *m, char **out);
/* Writes one SDF record (MOL block, the n data fields, "$$$$") to f. SDG_ERR_IO. */
SDG_API sdg_status sdg_mol_write_sdf(FILE *f, const sdg_mol *m, const sdg_mol_field *fields,
                                     size_t n);

typedef struct sdg_mol_list {
    size_t    count;
    sdg_mol **mols;          /* (count) */
} sdg_mol_list;
SDG_API void       sdg_mol_list_free(sdg_mol_list *l);           /* NULL is a no-op */
/* Reads every record of a V2000 SDF file (aromatic bond type 4 is kekulised; data fields
 * are skipped). SDG_ERR_IO; SDG_ERR_FORMAT "path: record R (line L): problem" for a
 * truncated record, a bad counts/atom/bond line, V3000 or an unknown element symbol. */
SDG_API sdg_status sdg_mol_list_read_sdf(const char *path, sdg_mol_list **out);
/* The same through Open Babel's own SDF reader (the shim): records until the first one it
 * cannot read, atoms in file order with Open Babel's charges and implicit-H counts, bond
 * orders, coordinates. Checks that files sdegen writes read the same in Open Babel.
 * SDG_ERR_IO, SDG_ERR_FORMAT (e.g. bond order 4+), SDG_ERR_DEPENDENCY. */
SDG_API sdg_status sdg_mol_list_read_sdf_obabel(const char *path, sdg_mol_list **out);
/* Numeric data fields of every record: values (count, k) malloc'ed, values[r k + j] = the
 * first line of record r's "> <names[j]>" item, NaN when absent or not a number; *count =
 * records ($$$$-terminated; text after the last one is ignored). SDG_ERR_IO. */
SDG_API sdg_status sdg_mol_list_read_sdf_fields(const char *path, const char *const *names, size_t k,
                                                double **values, size_t *count);

/* ---- GDSS molecule graphs (/work/shared/gdss/README.md sections 12-13) ---- */
typedef struct sdg_mol_vocab {
    const char *name;        /* "qm9" or "zinc250k"                 */
    int64_t     N;           /* max heavy atoms: 9 / 38             */
    int64_t     F;           /* atom types: 4 / 9                   */
    int32_t     z[9];        /* atomic number of each type, F used  */
} sdg_mol_vocab;
SDG_API extern const sdg_mol_vocab sdg_mol_vocab_qm9;        /* C N O F                    */
SDG_API extern const sdg_mol_vocab sdg_mol_vocab_zinc250k;   /* C N O F P S Cl Br I        */
/* The vocabulary of a dataset name ("qm9", "zinc250k", any case: GDSS's "QM9", "ZINC250k").
 * SDG_ERR_NOTFOUND. */
SDG_API sdg_status sdg_mol_vocab_find(const char *name, const sdg_mol_vocab **out);

/* X (N, F) and A (N, N) of a Kekule molecule in atom order (charges and hydrogens are not
 * encoded). SDG_ERR_INVALID for more than N atoms or an element outside the vocabulary. */
SDG_API sdg_status sdg_mol_encode(const sdg_mol *m, const sdg_mol_vocab *v, float *X, float *A);
/* GDSS's valence check: *atom = the first atom (index order) whose explicit valence exceeds
 * sdg_mol_max_valence, or -1 when all pass; *valence = its valence (may be NULL). */
SDG_API sdg_status sdg_mol_valence_check(const sdg_mol *m, int64_t *atom, int *valence);
/* GDSS's correction loop: while the check fails on atom a, take a's highest-order bond (ties:
 * the oldest), remove it and re-add it (as newest) with order - 1 if that is >= 1.
 * *was_valid (may be NULL) = the check passed before any change. */
SDG_API sdg_status sdg_mol_correct(sdg_mol *m, bool *was_valid);
/* Steps 1-5 of GDSS's decoding: x (N, F) and adj (N, N) continuous samples -> atoms (first
 * type with x > 0.5, else virtual and dropped), bond orders (thresholds 0.5/1.5/2.5 on the
 * lower triangle), bonds added row by row with the N+/O+ charge rule, then the correction.
 * *valid_wo_correction as in sdg_mol_correct. */
SDG_API sdg_status sdg_mol_decode(const float *x, const float *adj, const sdg_mol_vocab *v,
                                  sdg_mol **out, bool *valid_wo_correction);
/* Step 6: canonical SMILES of m, keep the fragment with the longest SMILES (first on ties),
 * re-parse it. *out (may be NULL) gets the molecule and *smiles (may be NULL) its canonical
 * SMILES, or both get NULL when the fragment does not parse (GDSS drops it; status SDG_OK). */
SDG_API sdg_status sdg_mol_finish(const sdg_mol *m, sdg_mol **out, char **smiles);

/* ---- sampling molecules with a GDSS model (docs/molecules.md "Sampling") ---- */
typedef struct sdg_mol_sample_record {
    int64_t  index;                /* position in the run, 0 .. n-1                       */
    bool     valid_wo_correction;  /* step 4 of sdg_mol_decode                            */
    sdg_mol *mol;                  /* finished molecule (step 6), NULL when dropped        */
    char    *smiles;               /* its canonical SMILES, NULL when dropped              */
} sdg_mol_sample_record;
/* Receives count records of consecutive indices (owned by the sampler, freed after the call;
 * the callback may change the molecules, e.g. add coordinates). A status != SDG_OK stops. */
typedef sdg_status (*sdg_mol_chunk_fn)(sdg_mol_sample_record *recs, size_t count, void *ud);
/* Molecules start .. n - 1 of a run of model m (its N and F must be v's): chunks of the
 * resolved batch through sdg_gdss_sample_chunks (start a multiple of it, to resume), each graph
 * decoded (sdg_mol_decode) and finished (sdg_mol_finish). Molecule i depends only on (seed,
 * batch, i). stats (may be NULL) as sdg_gdss_sample. SDG_ERR_INVALID, SDG_ERR_SHAPE. */
SDG_API sdg_status sdg_mol_sample(const sdg_gdss_model *m, const sdg_mol_vocab *v,
                                  const sdg_gdss_sample_params *p, size_t n, size_t start,
                                  sdg_mol_chunk_fn on_chunk, void *ud, sdg_gdss_sample_stats *stats);

/* ---- datasets: QM9 and ZINC250k with GDSS's test split (MoFlow preprocessing) ---- */
typedef struct sdg_mol_dataset_params {
    size_t max_rows;         /* parse only the first max_rows rows; 0 = all (default)  */
} sdg_mol_dataset_params;
SDG_API sdg_mol_dataset_params sdg_mol_dataset_default_params(void);

typedef struct sdg_mol_dataset {
    const sdg_mol_vocab *vocab;
    size_t    count;         /* molecules kept, in file order                            */
    sdg_mol **mols;          /* (count) Kekule, implicit H, atoms in canonical-SMILES order */
    char    **smiles;        /* (count) canonical SMILES (Open Babel "can")              */
    int64_t  *row;           /* (count) 0-based data row in the source file               */
    size_t    n_train, n_test;
    size_t   *train;         /* (n_train) indices into mols                               */
    size_t   *test;          /* (n_test) indices into mols (rows listed in valid_idx)     */
    size_t    n_rows;        /* data rows in the file (all of them, parsed or not)        */
    size_t    n_test_rows;   /* entries of the valid_idx file                             */
    size_t    n_malformed;   /* parsed rows rejected (Open Babel, or valence over the limit) */
    size_t    n_too_large;   /* parsed rows with more than N heavy atoms or foreign atoms */
} sdg_mol_dataset;
/* Loads "qm9" (qm9/qm9_smiles.csv + valid_idx_qm9.json) or "zinc250k" (zinc250k/zinc250k.smi
 * + valid_idx_zinc250k.json) from data_dir: parse, canonical SMILES, re-parse, Kekule form.
 * Bad rows are counted, never fatal. SDG_ERR_NOTFOUND, SDG_ERR_IO, SDG_ERR_FORMAT (index
 * file). About 40 us per QM9 row and 150 us per ZINC row (one core). */
SDG_API sdg_status sdg_mol_dataset_load(const char *data_dir, const char *name,
                                        const sdg_mol_dataset_params *params,
                                        sdg_mol_dataset **out);
SDG_API void       sdg_mol_dataset_free(sdg_mol_dataset *d);      /* NULL is a no-op */
/* X (k, N, F) and A (k, N, N) of molecules idx[0..k-1] (indices into mols). */
SDG_API sdg_status sdg_mol_dataset_dense(const sdg_mol_dataset *d, const size_t *idx, size_t k,
                                         float *X, float *A);
/* hist[n] = training molecules with n flagged nodes (atoms with at least one bond; a
 * one-atom molecule has 0), n = 0..N. SDG_ERR_INVALID if cap < N + 1. */
SDG_API sdg_status sdg_mol_dataset_node_counts(const sdg_mol_dataset *d, int64_t *hist,
                                               size_t cap);
/* GDSS's sampling flags: flags (B, N), row b = node flags of a training molecule drawn
 * uniformly with replacement from rng (1 iff the atom has a bond). */
SDG_API sdg_status sdg_mol_dataset_flags(const sdg_mol_dataset *d, sdg_rng *rng, int64_t B,
                                         float *flags);

/* ---- 3-D molecules: evaluation (docs/molecules3d.md "Evaluation") ----
 * Molecules with explicit hydrogens and 3-D coordinates (dim 3). Distances in Angstrom. */
/* EDM's QM9 bond order (0 none, 1, 2, 3) of atoms z1, z2 at distance dist: single iff
 * 100 dist < bonds1 + 10 pm, then double iff < bonds2 + 5, triple iff < bonds3 + 3 (EDM's
 * get_bond_order, tables looked up as (z1, z2)); 0 for a pair the tables do not hold. O(1). */
SDG_API int        sdg_mol_edm_bond_order(int z1, int z2, double dist);
/* EDM rule: orders inferred for every pair i < j, atom stable iff its summed order equals
 * EDM's allowed valence (H 1, C 4, N 3, O 2, F 1, P 3|5 ...; unknown elements unstable).
 * *stable = all atoms stable. SDG_ERR_INVALID without 3-D coordinates. O(A^2). */
SDG_API sdg_status sdg_mol_stability_edm(const sdg_mol *m, int64_t *stable_atoms, bool *stable);
/* Charge-aware rule on m's own bonds and charges: valence allowed per (element, charge),
 * PropMolFlow/FlowMol's table (N+ 2|3|4, O- 1, C 3|4 ...; docs/molecules3d.md). */
SDG_API sdg_status sdg_mol_stability_charged(const sdg_mol *m, int64_t *stable_atoms, bool *stable);
/* New molecule: m's atoms and coordinates, charges 0, bonds inferred by the EDM rule. */
SDG_API sdg_status sdg_mol_bonds_from_distances(const sdg_mol *m, sdg_mol **out);
/* Validity of m's bonds and charges: RDKit's valence rule (sdg_mol_max_valence, implicit H
 * derived where hcount is -1), one fragment (or, with largest_fragment, the largest one kept,
 * as EDM), Open Babel canonical SMILES (explicit H folded) that re-parses. *smiles (may be
 * NULL) gets the canonical SMILES of a valid molecule, else NULL. Invalid is not an error. */
SDG_API sdg_status sdg_mol_validate_3d(const sdg_mol *m, bool largest_fragment, bool *valid,
                                       char **smiles);

typedef struct sdg_mol3d_value {
    double      value;       /* a fraction in [0, 1]; NaN when not computed / not applicable */
    const char *protocol;    /* static text: the rule used                                  */
} sdg_mol3d_value;
typedef struct sdg_mol3d_metrics_params {
    bool validity;           /* validity + uniqueness on the records' own bonds (Open Babel) */
    bool validity_edm;       /* the same on EDM-inferred bonds, largest fragment (EDM)       */
} sdg_mol3d_metrics_params;
typedef struct sdg_mol3d_metrics {
    size_t  n_mols, n_valid, n_unique, n_valid_edm, n_unique_edm;
    int64_t n_atoms, n_bonds;
    int64_t edm_stable_atoms, charged_stable_atoms;
    size_t  edm_stable_mols, charged_stable_mols;
    sdg_mol3d_value atom_stability_edm, mol_stability_edm;
    sdg_mol3d_value atom_stability_charged, mol_stability_charged;  /* NaN when no record has bonds */
    sdg_mol3d_value validity, uniqueness, validity_edm, uniqueness_edm;
} sdg_mol3d_metrics;
/* All of the above over n molecules (params NULL: everything). SDG_ERR_INVALID naming the
 * record without coordinates. O(sum A^2) plus two Open Babel calls per molecule. */
SDG_API sdg_status sdg_mol3d_metrics_compute(sdg_mol *const *mols, size_t n,
                                             const sdg_mol3d_metrics_params *params,
                                             sdg_mol3d_metrics *out);
/* Reads every frame of a (multi-frame, optionally extended) XYZ file: atoms ("El x y z",
 * symbols or atomic numbers), no bonds, charges 0; the title is the mol_id= value of the
 * comment line, else the line. SDG_ERR_IO; SDG_ERR_FORMAT "path: frame F (line L): ...". */
SDG_API sdg_status sdg_mol_list_read_xyz(const char *path, sdg_mol_list **out);

/* ---- 3-D QM9 data (docs/molecules3d.md "Data") ----
 * Properties in the CSVs' units (DeepChem): mu D, alpha Bohr^3, homo/lumo/gap Hartree, cv
 * cal/(mol K). Split: test = molecules whose gdb row is in valid_idx_qm9.json (the GDSS/MoFlow
 * QM9 test split), val = a seeded val_fraction of the others, train = the rest. */
typedef enum sdg_qm9_prop {
    SDG_QM9_PROP_MU, SDG_QM9_PROP_ALPHA, SDG_QM9_PROP_HOMO, SDG_QM9_PROP_LUMO, SDG_QM9_PROP_GAP,
    SDG_QM9_PROP_CV, SDG_QM9_PROP_COUNT
} sdg_qm9_prop;
SDG_API const char *sdg_qm9_prop_name(sdg_qm9_prop p);   /* CSV column: "mu", ..., "cv" */
SDG_API const char *sdg_qm9_prop_unit(sdg_qm9_prop p);
SDG_API sdg_status  sdg_qm9_prop_find(const char *name, sdg_qm9_prop *out);  /* SDG_ERR_NOTFOUND */

enum { SDG_MOL3D_SPLIT_TRAIN = 0, SDG_MOL3D_SPLIT_VAL = 1, SDG_MOL3D_SPLIT_TEST = 2 };
typedef struct sdg_mol3d_dataset_params {
    size_t   max_records;    /* 0 = all (of the dataset's own file)                       */
    double   val_fraction;   /* of the non-test molecules, default 0.1                    */
    uint64_t seed;           /* validation draw, default 42                               */
    const char *extra_sdf;   /* more conformers (sdegen prepare conformers), NULL = none:
                                appended after the original's records, whose split is
                                unchanged; an extra record's split is its own: test = the
                                valid_idx rows, val = sdg_rng_stream(seed, k) uniform <
                                val_fraction for gdb_k, else train                        */
} sdg_mol3d_dataset_params;
SDG_API sdg_mol3d_dataset_params sdg_mol3d_dataset_default_params(void);
typedef struct sdg_mol3d_dataset {
    size_t    count;
    sdg_mol **mols;          /* (count) explicit H, 3-D; SDF bonds/charges, none for XYZ   */
    int64_t  *gdb;           /* (count) k of the title gdb_k                               */
    float    *props;         /* (count, SDG_QM9_PROP_COUNT), NaN where no CSV holds it     */
    uint8_t  *split;         /* (count) SDG_MOL3D_SPLIT_*                                  */
    bool     *propmolflow_a; /* (count) in PropMolFlow's train_a half (generator half)     */
    size_t    n_split[3];    /* molecules per split                                        */
    size_t    n_with_props;
    size_t    max_atoms;
    size_t    n_extra;       /* records from params->extra_sdf: the last n_extra          */
} sdg_mol3d_dataset;
/* Loads "qm9_conformers" (qm9/qm9_3d_conformers.sdf) or "qm9_dft" (qm9/qm9_3d_subset.xyz)
 * from data_dir with both property CSVs, valid_idx_qm9.json and the PropMolFlow train_a list,
 * plus params->extra_sdf for qm9_conformers. SDG_ERR_NOTFOUND (name), SDG_ERR_IO,
 * SDG_ERR_FORMAT naming file and record (also a gdb_k of the extra file already in the
 * original), SDG_ERR_INVALID (an extra file with qm9_dft). */
SDG_API sdg_status sdg_mol3d_dataset_load(const char *data_dir, const char *name,
                                          const sdg_mol3d_dataset_params *params,
                                          sdg_mol3d_dataset **out);
SDG_API void       sdg_mol3d_dataset_free(sdg_mol3d_dataset *d);   /* NULL is a no-op */

/* ---- more QM9 conformers (docs/molecules3d.md "Building more conformers") ----
 * A conformer cache is a V2000 SDF of sdg_qm9_conformer_write records: title gdb_k, explicit H,
 * Kekule bonds, charges, and the data fields sdegen_format (SDG_CONFORMERS_FORMAT),
 * sdegen_format_version, sdegen_version, method, seed, steps, jitter. Its failures file holds
 * the line SDG_CONFORMERS_FAILED_HEADER, then one "gdb_k<TAB>reason" line per failure. */
#define SDG_CONFORMERS_FORMAT         "sdegen-conformers"
#define SDG_CONFORMERS_FORMAT_VERSION 1
#define SDG_CONFORMERS_METHOD         "sdegen-openbabel-gen3d-mmff94-jitter"
#define SDG_CONFORMERS_FAILED_HEADER  "# sdegen-conformers-failed 1"
enum { SDG_QM9_PART_GENERATOR = 1, SDG_QM9_PART_REGRESSOR = 2, SDG_QM9_PART_ALL = 3, SDG_QM9_PART_UNVALUED = 4 };
typedef struct sdg_qm9_todo {
    size_t   count;
    int64_t *gdb;            /* (count) the generator part, the regressor's, the unvalued; k order in each */
    char   **smiles;         /* (count) qm9_smiles.csv row k - 1                          */
    bool    *propmolflow_a;  /* (count) in PropMolFlow's train_a (generator part)         */
    size_t   n_valued;       /* molecules with property values in either property CSV     */
    size_t   n_with_3d;      /* of those, with a record in qm9_3d_conformers.sdf or the XYZ */
    size_t   n_unvalued;     /* of the count, the SDG_QM9_PART_UNVALUED ones (last)       */
} sdg_qm9_todo;
/* The QM9 molecules under data_dir that have no 3-D record (neither in qm9_3d_conformers.sdf nor
 * in qm9_3d_subset.xyz), of the parts selected (SDG_QM9_PART_* bits):
 *   GENERATOR  property values, in PropMolFlow's train_a (the conditional generator's half);
 *   REGRESSOR  property values, outside train_a (the property regressor's half);
 *   UNVALUED   no property value, in train_a, not a test row (valid_idx_qm9.json) and not one of
 *              the 3,054 of qm9_uncharacterized.txt: more molecules for the generator's
 *              unconditional branch, inside the generator's half.
 * SDG_ERR_IO (missing file), SDG_ERR_FORMAT naming file and line. */
SDG_API sdg_status sdg_qm9_todo_load(const char *data_dir, int parts, sdg_qm9_todo **out);
SDG_API void       sdg_qm9_todo_free(sdg_qm9_todo *t);                /* NULL is a no-op */
/* Conformer of gdb_k from its SMILES: sdg_mol_from_smiles, then sdg_mol_embed_3d (params NULL:
 * defaults) with the jitter drawn from sdg_rng_stream(seed, k); title "gdb_k". Atoms and bonds
 * are reproducible, coordinates are not: Open Babel's builder seeds rand() from the clock for
 * some bond directions. SDG_ERR_FORMAT (SMILES), SDG_ERR_DEPENDENCY (builder, force field). */
SDG_API sdg_status sdg_qm9_conformer_build(const char *smiles, int64_t gdb, uint64_t seed,
                                           const sdg_embed_params *params, sdg_mol **out);
/* Appends m as one cache record (one write, then flushed). SDG_ERR_IO, SDG_ERR_INVALID. */
SDG_API sdg_status sdg_qm9_conformer_write(FILE *f, const sdg_mol *m, uint64_t seed,
                                           const sdg_embed_params *params);
typedef struct sdg_conformer_cache {
    size_t    count;           /* complete records ("$$$$" line written)                  */
    int64_t  *gdb;             /* (count) their k                                         */
    long long complete_bytes;  /* file length up to the end of the last complete record   */
    char     *truncated;       /* title of an incomplete last record, NULL when none      */
    bool      has_run;         /* count > 0: seed, steps, jitter are the records' (all equal) */
    uint64_t  seed;
    int       steps;
    double    jitter;
    size_t    n_failed;
    int64_t  *failed;          /* (n_failed) k of the failures file's complete lines      */
    long long failed_bytes;    /* its length up to the last complete line                 */
} sdg_conformer_cache;
/* Reads a cache (path) and its failures file (failed_path; a missing one is empty).
 * SDG_ERR_IO; SDG_ERR_FORMAT naming the file and record/line: a record without the
 * sdegen-conformers fields, a different format version (expected and found), a title not
 * gdb_k, records of different seeds/steps/jitter, a bad failures line. O(file size). */
SDG_API sdg_status sdg_conformer_cache_scan(const char *path, const char *failed_path,
                                            sdg_conformer_cache **out);
SDG_API void       sdg_conformer_cache_free(sdg_conformer_cache *c);  /* NULL is a no-op */

/* ---- 3-D generation: equivariant network and joint flow matching (docs/molecules3d.md) ----
 * Batches are packed: B molecules, A atoms (concatenated), E = sum n(n-1) directed edges
 * i != j within a molecule, P = E/2 unordered pairs (i < j, row by row per molecule).
 * Positions in Angstrom, centred per molecule. Time: t = 0 data, t = 1 prior (the engine's
 * convention, sdg_sde_linear): x_t = (1 - t) x_0 + t z, velocity dx/dt = (x_t - x_0) / t. */
typedef struct sdg_mol3d_graph {
    int64_t  B, A, E, P;
    int64_t *atom_off;        /* (B + 1) first atom of each molecule                     */
    int64_t *mol_of;          /* (A) molecule of each atom                               */
    int64_t *src, *dst, *pair;/* (E) edge i -> j and its unordered pair                  */
    int64_t *pair_i, *pair_j; /* (P) atoms of each pair, i < j                           */
    float   *inv_deg;         /* (A) 1 / (n - 1), 0 for a lone atom                      */
    float   *inv_n;           /* (B) 1 / n                                               */
} sdg_mol3d_graph;
/* SDG_ERR_INVALID for a molecule with < 1 atom. O(sum n^2) memory. */
SDG_API sdg_status sdg_mol3d_graph_init(sdg_mol3d_graph *g, const int64_t *n_atoms, int64_t B);
SDG_API void       sdg_mol3d_graph_destroy(sdg_mol3d_graph *g);   /* NULL is a no-op */
/* x (A, 3) minus its molecule's mean (differentiable). */
SDG_API sdg_tensor *sdg_mol3d_center(sdg_ctx *ctx, const sdg_mol3d_graph *g, sdg_tensor *x);

typedef enum sdg_prop_combine {
    SDG_PROP_COMBINE_SUM = 0,     /* h + e(prop)                     */
    SDG_PROP_COMBINE_MULTIPLY,    /* h * (1 + e(prop))               */
    SDG_PROP_COMBINE_CONCAT       /* Linear([h, e(prop)])            */
} sdg_prop_combine;
typedef struct sdg_egnn_params {
    int   n_types, n_charges, n_bonds;   /* vocabularies: 5 (H C N O F), 3 (-1 0 +1), 4 (none 1 2 3) */
    int   hidden, edge_hidden, message;  /* atom, edge and message widths: 128, 32, 64              */
    int   layers;                        /* message-passing layers, 4                                */
    int   rbf;                           /* radial basis functions on [0, rbf_max] A: 16, 6          */
    float rbf_max;
    float coord_range;                   /* bound of each coordinate-update weight (tanh): 3        */
    bool  pos_velocity;                  /* false (default): x0_hat = centred x_L, the positions the
                                            layers moved; true: x0_hat = x + t (x_L - x) for the
                                            centred input x, so that the layers' displacement is minus
                                            the velocity and x0_hat's error vanishes as t -> 0         */
    bool  conditional;                   /* property embedding (standardised scalar)                */
    int   prop_gauss;                    /* Gaussian expansion size on [-3, 3]; 0 = raw value: 16     */
    sdg_prop_combine combine;
    uint64_t seed;                       /* initialisation                                           */
} sdg_egnn_params;
SDG_API sdg_egnn_params sdg_egnn_default_params(void);
typedef struct sdg_egnn sdg_egnn;
SDG_API sdg_status  sdg_egnn_new(const sdg_egnn_params *params, sdg_egnn **out);
SDG_API void        sdg_egnn_free(sdg_egnn *m);                   /* NULL is a no-op */
SDG_API sdg_params *sdg_egnn_params_store(const sdg_egnn *m);
SDG_API const sdg_egnn_params *sdg_egnn_get_params(const sdg_egnn *m);
typedef struct sdg_egnn_input {
    const sdg_mol3d_graph *g;
    sdg_tensor  *x;          /* (A, 3) positions at time t (centred inside)          */
    sdg_tensor  *types;      /* (A, n_types) continuous type state                   */
    sdg_tensor  *charges;    /* (A, n_charges)                                       */
    sdg_tensor  *bonds;      /* (P, n_bonds)                                         */
    const float *t;          /* (B) times                                            */
    const float *prop;       /* (B) standardised property, or NULL (unconditional)   */
    const float *prop_mask;  /* (B) 1 = conditioned, 0 = dropped (CFG); NULL = all 1 */
} sdg_egnn_input;
typedef struct sdg_egnn_output {
    sdg_tensor *x0;            /* (A, 3) predicted clean positions, centred: equivariant */
    sdg_tensor *type_logits;   /* (A, n_types)   invariant                              */
    sdg_tensor *charge_logits; /* (A, n_charges) invariant                              */
    sdg_tensor *bond_logits;   /* (P, n_bonds)   invariant, symmetric in (i, j)         */
    sdg_tensor *h;             /* (A, hidden)    final atom features, invariant         */
} sdg_egnn_output;
/* One forward pass in ctx: the op graph, taped, when grad mode is on; a fused path (same
 * results up to float rounding, OpenMP over molecules) when it is off. SDG_ERR_SHAPE for inputs
 * that do not match g; SDG_ERR_INVALID for a property given to an unconditional model.
 * O(E (M + He) M). */
SDG_API sdg_status sdg_egnn_forward(sdg_ctx *ctx, const sdg_egnn *m, const sdg_egnn_input *in,
                                    sdg_egnn_output *out);

/* Training data of B molecules in the QM9-with-H vocabulary (H C N O F; charges -1 0 +1;
 * bond none/1/2/3): packed graph, centred positions, class indices. */
typedef struct sdg_mol3d_batch {
    sdg_mol3d_graph g;
    float   *x0;             /* (A, 3) centred                                      */
    int64_t *type, *charge;  /* (A) class indices                                   */
    int64_t *bond;           /* (P) 0 none, 1..3                                    */
    float   *prop;           /* (B) standardised property or NULL                   */
} sdg_mol3d_batch;
SDG_API extern const int32_t sdg_mol3d_qm9_types[5];   /* 1 6 7 8 9 */
/* SDG_ERR_INVALID naming the molecule for an element or charge outside the vocabulary or
 * missing coordinates. prop (B) may be NULL. */
SDG_API sdg_status sdg_mol3d_batch_init(sdg_mol3d_batch *b, sdg_mol *const *mols, size_t B, const float *prop);
SDG_API void       sdg_mol3d_batch_destroy(sdg_mol3d_batch *b);   /* NULL is a no-op */

typedef struct sdg_flow3d_params {
    float w_x, w_type, w_charge, w_bond;  /* loss weights: 3, 0.4, 1, 2 (FlowMol's)                 */
    bool  ot_rotation;   /* rotate each prior draw onto its molecule (Kabsch), default true       */
    float p_uncond;      /* conditional models: probability of dropping the property (CFG), 0.1  */
    float prior_std;     /* position prior N(0, prior_std^2) centred, default 1 A                 */
    float time_skew;     /* k >= 1: t ~ Beta(1, k), density k (1 - t)^(k - 1), weighting training
                            toward the data end t = 0; 1 (default) = uniform                      */
    float pos_loss_tmin; /* 0 (default): the positions term is the MSE of x0_hat; > 0: the velocity
                            loss, each molecule's x0_hat error divided by max(t, pos_loss_tmin)
                            (the error of the velocity (x_t - x0_hat)/t the sampler integrates)   */
} sdg_flow3d_params;
SDG_API sdg_flow3d_params sdg_flow3d_default_params(void);
/* One training time t ~ Beta(1, skew) by inversion, 1 - (1 - U)^(1/skew) from one uniform draw of
 * rng; skew = 1 returns that uniform draw itself. */
SDG_API float sdg_flow3d_draw_time(sdg_rng *rng, float skew);
/* Joint flow-matching loss of batch b: t ~ Beta(1, time_skew) per molecule (uniform for 1); positions MSE of x0 (mean
 * over atoms of the squared error; with pos_loss_tmin > 0 of the velocity, see above), types/charges/bonds cross-entropy of the logits against
 * the data classes, continuous one-hot interpolants with Gaussian priors. *loss: (1) taped;
 * parts (may be NULL) gets the 4 unweighted terms. */
SDG_API sdg_status sdg_flow3d_loss(sdg_ctx *ctx, const sdg_egnn *m, const sdg_mol3d_batch *b,
                                   const sdg_flow3d_params *p, sdg_rng *rng, sdg_tensor **loss,
                                   float parts[4]);
/* Rotation R (3x3 row-major) minimising sum |R z_i - x_i|^2 for centred z, x (n, 3): Kabsch
 * through Horn's quaternion (4x4 Jacobi). */
SDG_API void       sdg_kabsch_rotation(const float *z, const float *x, int64_t n, double R[9]);

typedef struct sdg_flow3d_sample_params {
    int      n_steps;        /* ODE steps from t = 1 to eps, default 100         */
    uint64_t seed;           /* molecule i's prior: sdg_rng_stream(seed, stream_offset + i) */
    uint64_t stream_offset;  /* default 0; a run written chunk by chunk passes its start */
    size_t   chunk;          /* molecules per forward pass, default 64           */
    float    prior_std;      /* as in training, default 1                       */
    const sdg_ode_type *ode; /* sdg_ode_euler (default), _heun, _rk4 (sde.h)     */
    float    eps;            /* final time, then one denoiser step; default 1e-3 */
    float    guidance;       /* CFG weight w (with prop): (1+w) cond - w uncond  */
    float    sde_noise;      /* 0 (default): the ODE; eta > 0 (euler only; the engine refuses
                                others): the engine's SDE mode, the reverse SDE with g(t)^2 =
                                2 eta t and the ODE's marginals (sdg_sampler_params.sde_noise); its noise for
                                molecule i comes from stream (seed, 2^61 + stream_offset + i),
                                centred per molecule for the positions */
    float    sde_tmax;       /* the noise acts only on steps from t <= sde_tmax; default 1 (all) */
    float    sde_noise_pos;  /* the positions' own eta and t_max (sdg_sampler_params.sde_noise_comp);   */
    float    sde_tmax_pos;   /* < 0 (default -1): sde_noise and sde_tmax, as types, charges and bonds   */
} sdg_flow3d_sample_params;
SDG_API sdg_flow3d_sample_params sdg_flow3d_sample_default_params(void);
/* Generates n molecules of n_atoms[i] atoms (prop (n) standardised, or NULL: for a conditioned
 * network, its unconditional branch, the null embedding of training's unvalued molecules) with the engine's
 * ODE sampler (sdg_sampler_ode: padded 4-component state, DENOISER outputs, own centred priors);
 * out[i] gets a new molecule: argmax types, charges and bond orders (the H atoms are
 * explicit; hcount stays -1, as an SDF read back has it), 3-D coordinates. Molecule i depends only on (seed, i) up to float rounding of the
 * batched kernels. SDG_ERR_INVALID (property for an unconditional model), SDG_ERR_NUMERIC. */
SDG_API sdg_status sdg_flow3d_sample(const sdg_egnn *m, const int64_t *n_atoms, size_t n, const float *prop,
                                     const sdg_flow3d_sample_params *p, sdg_mol **out);

/* ---- training (docs/molecules3d.md "Training") ---- */
/* Called after every optimiser step: step 1..steps of the epoch and its loss; a status != SDG_OK stops. */
typedef sdg_status (*sdg_flow3d_step_fn)(int64_t step, int64_t steps, double loss, void *params);
typedef struct sdg_flow3d_train_params {
    int64_t  batch;           /* molecules per step (64)                                */
    float    lr;              /* Adam learning rate (5e-4)                              */
    float    grad_clip;       /* global L2 norm; 0 = none (1)                           */
    float    ema_decay;       /* 0.999                                                  */
    uint64_t seed;            /* epoch e draws from sdg_rng_stream(seed, 1 + e)         */
    sdg_flow3d_params loss;   /* weights, p_uncond, prior, OT rotation                  */
    sdg_flow3d_step_fn on_step;   /* optional progress callback                         */
    void    *on_step_params;
} sdg_flow3d_train_params;
SDG_API sdg_flow3d_train_params sdg_flow3d_train_default_params(void);
typedef struct sdg_flow3d_trainer sdg_flow3d_trainer;
/* Trainer for net on n molecules (borrowed; QM9 vocabulary, 3-D) and, for a conditioned net,
 * prop (n) standardised values (NaN = missing: always the null embedding). Adam on every
 * parameter, EMA shadow, sdg_flow3d_loss. SDG_ERR_INVALID for a bad option. */
SDG_API sdg_status sdg_flow3d_trainer_new(sdg_egnn *net, sdg_mol *const *mols, const float *prop, size_t n,
                                          const sdg_flow3d_train_params *p, sdg_flow3d_trainer **out);
SDG_API void       sdg_flow3d_trainer_free(sdg_flow3d_trainer *t);   /* NULL is a no-op */
/* One pass in a shuffled order (last partial batch included); *loss = mean step loss, parts
 * (may be NULL) the mean unweighted terms (x, type, charge, bond). Bit-identical for equal
 * (params, epoch count, Adam, EMA) and thread count. SDG_ERR_NUMERIC for a non-finite loss. */
SDG_API sdg_status sdg_flow3d_trainer_epoch(sdg_flow3d_trainer *t, double *loss, float parts[4]);
SDG_API int64_t    sdg_flow3d_trainer_epochs(const sdg_flow3d_trainer *t);
SDG_API void       sdg_flow3d_trainer_set_epochs(sdg_flow3d_trainer *t, int64_t epochs);
SDG_API sdg_adam  *sdg_flow3d_trainer_adam(sdg_flow3d_trainer *t);
SDG_API sdg_ema   *sdg_flow3d_trainer_ema(sdg_flow3d_trainer *t);
SDG_API const sdg_flow3d_train_params *sdg_flow3d_trainer_params(const sdg_flow3d_trainer *t);
/* Adam's learning rate from the next step on (fine-tuning a resumed trainer); saved with it. */
SDG_API void       sdg_flow3d_trainer_set_lr(sdg_flow3d_trainer *t, float lr);
/* Replaces the progress callback (e.g. of a resumed trainer). */
SDG_API void       sdg_flow3d_trainer_set_on_step(sdg_flow3d_trainer *t, sdg_flow3d_step_fn fn, void *params);

/* ---- property regressor on the same network (docs/molecules3d.md "Property regressor") ----
 * sdg_egnn (unconditioned) on positions and elements only: charges are fed as neutral and
 * every pair as "no bond" (the DFT geometries it also trains on have neither), t = 0. Readout:
 * a per-atom MLP (H -> H, SiLU, H -> H) on the final atom features h, summed over each
 * molecule's atoms, then a molecule MLP (H -> H, SiLU, H -> 1): the standardised property
 * (value - mean) / std. Invariant to rotations, translations and atom permutations. */
typedef struct sdg_prop3d sdg_prop3d;
/* net: conditional must be false. The readout's parameters join the network's store
 * ("readout.*"), initialised from stream (net->seed, 1). SDG_ERR_INVALID. */
SDG_API sdg_status sdg_prop3d_new(const sdg_egnn_params *net, sdg_prop3d **out);
SDG_API void       sdg_prop3d_free(sdg_prop3d *r);                 /* NULL is a no-op */
SDG_API sdg_params *sdg_prop3d_params_store(const sdg_prop3d *r);   /* network + readout */
SDG_API const sdg_egnn_params *sdg_prop3d_get_params(const sdg_prop3d *r);
/* y: (B, 1) standardised predictions for batch b (its charges, bonds and prop unused); taped
 * when the grad mode is on, the fused network otherwise. O(E (M + He) M). */
SDG_API sdg_status sdg_prop3d_forward(sdg_ctx *ctx, const sdg_prop3d *r, const sdg_mol3d_batch *b, sdg_tensor **y);
/* L1 loss (1): mean over the batch of |y - b->prop| (b->prop standardised, required). */
SDG_API sdg_status sdg_prop3d_loss(sdg_ctx *ctx, const sdg_prop3d *r, const sdg_mol3d_batch *b, sdg_tensor **loss);
/* Standardised predictions y (n) of n molecules (QM9 vocabulary, 3-D), chunk at a time,
 * grad mode off. SDG_ERR_INVALID naming a molecule outside the vocabulary. */
SDG_API sdg_status sdg_prop3d_predict(const sdg_prop3d *r, sdg_mol *const *mols, size_t n, size_t chunk, float *y);

typedef struct sdg_prop3d_train_params {
    int64_t  batch;           /* molecules per step (64)                                */
    float    lr;              /* Adam learning rate (5e-4)                              */
    float    grad_clip;       /* global L2 norm; 0 = none (10)                          */
    float    ema_decay;       /* 0.999                                                  */
    uint64_t seed;            /* epoch e shuffles with sdg_rng_stream(seed, 1 + e)      */
    sdg_flow3d_step_fn on_step;   /* optional progress callback                         */
    void    *on_step_params;
} sdg_prop3d_train_params;
SDG_API sdg_prop3d_train_params sdg_prop3d_train_default_params(void);
typedef struct sdg_prop3d_trainer sdg_prop3d_trainer;
/* Trainer for r on n molecules (borrowed) with standardised targets y (n, borrowed, finite):
 * Adam, EMA, sdg_prop3d_loss. SDG_ERR_INVALID for a bad option or a non-finite target. */
SDG_API sdg_status sdg_prop3d_trainer_new(sdg_prop3d *r, sdg_mol *const *mols, const float *y, size_t n,
                                          const sdg_prop3d_train_params *p, sdg_prop3d_trainer **out);
SDG_API void       sdg_prop3d_trainer_free(sdg_prop3d_trainer *t);   /* NULL is a no-op */
/* One shuffled pass; *loss = mean step loss (standardised L1). Bit-identical for equal
 * (params, epoch count, Adam, EMA) and thread count. SDG_ERR_NUMERIC. */
SDG_API sdg_status sdg_prop3d_trainer_epoch(sdg_prop3d_trainer *t, double *loss);
SDG_API int64_t    sdg_prop3d_trainer_epochs(const sdg_prop3d_trainer *t);
SDG_API void       sdg_prop3d_trainer_set_epochs(sdg_prop3d_trainer *t, int64_t epochs);
SDG_API sdg_adam  *sdg_prop3d_trainer_adam(sdg_prop3d_trainer *t);
SDG_API sdg_ema   *sdg_prop3d_trainer_ema(sdg_prop3d_trainer *t);
SDG_API const sdg_prop3d_train_params *sdg_prop3d_trainer_params(const sdg_prop3d_trainer *t);
SDG_API void       sdg_prop3d_trainer_set_on_step(sdg_prop3d_trainer *t, sdg_flow3d_step_fn fn, void *params);

/* ---- the generator / regressor split of conditional runs (docs/molecules3d.md) ----
 * PropMolFlow's halves: a molecule (gdb row) belongs to the GENERATOR part when it is in
 * train_a (propmolflow_a), else to the REGRESSOR part. The regressor's own split is by gdb
 * row, the same for both geometries of a molecule: test = rows of valid_idx_qm9.json (the
 * record's SDG_MOL3D_SPLIT_TEST), val = rows k with sdg_rng_stream(seed, k) uniform < 0.1,
 * train = the rest. split (d->count) gets SDG_MOL3D_SPLIT_* of every record. */
SDG_API sdg_status sdg_prop3d_split(const sdg_mol3d_dataset *d, uint64_t seed, uint8_t *split);

#ifdef __cplusplus
}
#endif
#endif /* SDEGEN_MOLECULE_H */
