/* sdegen/io.h: files sdegen reads and writes. HDF5 is confined to this module.
 * Every file sdegen writes carries root attributes sdegen_format (a name, e.g.
 * "sdegen-checkpoint") and sdegen_format_version (an integer) plus sdegen_version; readers
 * check them first and fail naming the file, the expected and the found version.
 * Checkpoints: one float32 dataset per parameter under /params/<name>, optional /ema/<name>
 * and /adam/{m,v}/<name>, and scalar or string attributes on /meta for hyper-parameters
 * and training state. */
#ifndef SDEGEN_IO_H
#define SDEGEN_IO_H
#include "sdegen/core.h"
#include "sdegen/nn.h"
#include "sdegen/graph.h"
#include "sdegen/molecule.h"
#ifdef __cplusplus
extern "C" {
#endif

#define SDG_CHECKPOINT_FORMAT         "sdegen-checkpoint"
#define SDG_CHECKPOINT_FORMAT_VERSION 1

/* Key/value metadata stored with a checkpoint (hyper-parameters, training state). */
typedef struct sdg_meta sdg_meta;
SDG_API sdg_status  sdg_meta_new(sdg_meta **out);
SDG_API void        sdg_meta_free(sdg_meta *m);                    /* NULL is a no-op */
SDG_API sdg_status  sdg_meta_set_int(sdg_meta *m, const char *key, int64_t v);
SDG_API sdg_status  sdg_meta_set_double(sdg_meta *m, const char *key, double v);
SDG_API sdg_status  sdg_meta_set_string(sdg_meta *m, const char *key, const char *v);
/* Getters fail with SDG_ERR_NOTFOUND (message names the key) or SDG_ERR_FORMAT (wrong type). */
SDG_API sdg_status  sdg_meta_get_int(const sdg_meta *m, const char *key, int64_t *v);
SDG_API sdg_status  sdg_meta_get_double(const sdg_meta *m, const char *key, double *v);
SDG_API sdg_status  sdg_meta_get_string(const sdg_meta *m, const char *key, const char **v);
SDG_API size_t      sdg_meta_count(const sdg_meta *m);
SDG_API const char *sdg_meta_key(const sdg_meta *m, size_t i);

/* What a checkpoint holds besides the parameters; any pointer may be NULL. */
typedef struct sdg_checkpoint {
    sdg_params *params;   /* required                                     */
    sdg_ema    *ema;      /* shadow weights under /ema                    */
    sdg_adam   *adam;     /* moments under /adam/{m,v}, steps and lr      */
    sdg_rng    *rng;      /* generator state, for exact resumption        */
    sdg_meta   *meta;     /* attributes on /meta                          */
    const sdg_params *buffers; /* save only: non-trained tensors under /buffers
                                  (read them back with sdg_h5_read_floats)    */
} sdg_checkpoint;

/* Writes atomically (to path.tmp, then rename): an interrupted save never leaves a
 * half-written checkpoint under path. */
SDG_API sdg_status sdg_checkpoint_save(const char *path, const sdg_checkpoint *ck);
/* Loads into already-built objects: every parameter of ck->params must be present with the
 * same shape, and the file may hold no others; errors name the file and the parameter. On
 * load, ck->meta (if given) is filled with the file's metadata. */
SDG_API sdg_status sdg_checkpoint_load(const char *path, sdg_checkpoint *ck);
/* Reads only the metadata (to build the model before loading its weights). */
SDG_API sdg_status sdg_checkpoint_read_meta(const char *path, sdg_meta *meta);

/* ---- reading foreign HDF5 files (e.g. the GDSS reference weights) ---- */
typedef struct sdg_h5_file sdg_h5_file;
/* Opens an existing HDF5 file read-only. SDG_ERR_IO naming the file. */
SDG_API sdg_status sdg_h5_open(const char *path, sdg_h5_file **out);
SDG_API void       sdg_h5_close(sdg_h5_file *f);                    /* NULL is a no-op */
/* True when the dataset or group at path (e.g. "/x/layers.0.weight") exists. */
SDG_API bool       sdg_h5_exists(sdg_h5_file *f, const char *path);
/* Number of links in the group at path. SDG_ERR_NOTFOUND. */
SDG_API sdg_status sdg_h5_group_size(sdg_h5_file *f, const char *path, size_t *count);
/* Reads a float dataset (any float type, converted to float32) of at most SDG_MAX_DIMS dims:
 * *ndim, shape[0..ndim) and *data (malloc'ed; free() it). SDG_ERR_NOTFOUND, SDG_ERR_FORMAT
 * (not a float dataset, too many dims); messages name the file and the dataset. */
SDG_API sdg_status sdg_h5_read_floats(sdg_h5_file *f, const char *path, int *ndim,
                                      int64_t shape[SDG_MAX_DIMS], float **data);
/* Reads a string attribute attr of the object at obj_path ("/" for the root); *out malloc'ed. */
SDG_API sdg_status sdg_h5_read_attr_string(sdg_h5_file *f, const char *obj_path, const char *attr,
                                           char **out);

/* ---- graph files: the format follows the extension ----
 * .txt      sdegen graph-list text (graph.h, docs/file-formats.md)
 * .graphml  GraphML, one <graph> element per graph (written through igraph)
 * .h5       HDF5 "sdegen-graphs": ragged edge arrays with offsets (docs/file-formats.md)
 * A writer streams: graphs are appended chunk by chunk (memory stays flat) into path.part,
 * renamed to path by sdg_graph_writer_close once all `total` graphs are in. A run that stops
 * early leaves path.part, never a short file under path. */
typedef struct sdg_graph_writer sdg_graph_writer;
/* SDG_ERR_INVALID (unknown extension: the message lists the known ones), SDG_ERR_IO. */
SDG_API sdg_status sdg_graph_writer_open(const char *path, size_t total, sdg_graph_writer **out);
/* Records provenance (model, sampler, seed, threads, ...) in the file before any graph is
 * appended: an HDF5 root string attribute `key`, a "# key: value" comment line in text, an
 * XML comment in GraphML. SDG_ERR_INVALID after the first append or for a key that is not
 * [A-Za-z0-9_.]+ or a value holding a newline (or "--" in GraphML). */
SDG_API sdg_status sdg_graph_writer_note(sdg_graph_writer *w, const char *key, const char *value);
SDG_API sdg_status sdg_graph_writer_append(sdg_graph_writer *w, const sdg_graph_list *gl);
/* Finishes the file: SDG_ERR_INVALID if the graphs appended differ from total. Frees w. */
SDG_API sdg_status sdg_graph_writer_close(sdg_graph_writer *w);
/* Abandons the file (path.part stays with what was appended); NULL is a no-op. */
SDG_API void       sdg_graph_writer_free(sdg_graph_writer *w);
/* Reads a graph file of any of the three formats. Errors name the file and the place. */
SDG_API sdg_status sdg_graph_file_read(const char *path, sdg_graph_list **out);

/* ---- molecule files written by `sdegen sample` (docs/file-formats.md) ----
 * .sdf  one V2000 record per finished molecule (coordinates as the caller set them) with data
 *       fields SMILES, valid_wo_correction, index, sampler, seed, batch, threads, model, dataset
 * .smi  "SMILES<TAB>index" lines, nothing else
 * .h5   HDF5 "sdegen-molecules" v1: every record (dropped ones too, valid = 0), the run in root
 *       attributes; chunked, compressed datasets appended and flushed chunk by chunk, with the
 *       root attribute count naming the records committed, so a killed run leaves a readable
 *       file of whole chunks that sdg_mol_writer_resume continues (complete = 1 at the end).
 * SDF and SMILES go to path.part, renamed to path by sdg_mol_writer_close when all are in. */
#define SDG_MOLECULES_FORMAT         "sdegen-molecules"
#define SDG_MOLECULES_FORMAT_VERSION 1

typedef struct sdg_mol_run {     /* provenance, written into every file */
    const char *model;           /* model file                                */
    const char *dataset;         /* GDSS dataset name ("QM9", "ZINC250k")     */
    const char *sampler;         /* one line: the sampler and its settings    */
    uint64_t    seed;
    int64_t     batch;           /* molecules per chunk                       */
    int64_t     threads;
    int64_t     requested;       /* molecules in the whole run (n)            */
} sdg_mol_run;

typedef struct sdg_mol_writer sdg_mol_writer;
/* A new file for run->requested molecules (an existing one is replaced). SDG_ERR_INVALID
 * (unknown extension: the message lists .sdf, .smi, .h5), SDG_ERR_IO naming the file. */
SDG_API sdg_status sdg_mol_writer_open(const char *path, const sdg_mol_run *run, sdg_mol_writer **out);
/* Continues an .h5 file of an interrupted run: checks its format, then that model, dataset,
 * sampler, seed, batch and requested equal run's (SDG_ERR_INVALID naming the first that
 * differs), drops rows past the committed count; *done = records already in (a multiple of the
 * batch). SDG_ERR_FORMAT / SDG_ERR_VERSION / SDG_ERR_IO naming the file. */
SDG_API sdg_status sdg_mol_writer_resume(const char *path, const sdg_mol_run *run, sdg_mol_writer **out,
                                         size_t *done);
/* Appends count records (in index order; dropped ones only count in .sdf/.smi). SDG_ERR_IO. */
SDG_API sdg_status sdg_mol_writer_append(sdg_mol_writer *w, const sdg_mol_sample_record *recs, size_t count);
/* Finishes: SDG_ERR_INVALID if fewer than requested were appended; else renames path.part
 * (text) or sets complete = 1 (.h5). Frees w. */
SDG_API sdg_status sdg_mol_writer_close(sdg_mol_writer *w);
/* Abandons the file (path.part, or the .h5 with its committed chunks, stays); NULL no-op. */
SDG_API void       sdg_mol_writer_free(sdg_mol_writer *w);

/* An "sdegen-molecules" file read back (its committed records only). */
typedef struct sdg_mol_file {
    size_t    count;                /* records committed                              */
    int64_t  *index;                /* (count) position in the run                    */
    int8_t   *valid;                /* (count) 1 = finished molecule, 0 = dropped     */
    int8_t   *valid_wo_correction;  /* (count)                                        */
    char    **smiles;               /* (count) canonical SMILES, "" when dropped      */
    sdg_mol **mols;                 /* (count) heavy atoms and bonds, NULL if dropped */
    char     *model, *dataset, *sampler, *version;
    uint64_t  seed;
    int64_t   batch, threads, requested;
    bool      complete;             /* the run finished                               */
} sdg_mol_file;
/* SDG_ERR_FORMAT / SDG_ERR_VERSION / SDG_ERR_IO naming the file and the dataset or record. */
SDG_API sdg_status sdg_mol_file_read(const char *path, sdg_mol_file **out);
SDG_API void       sdg_mol_file_free(sdg_mol_file *f);               /* NULL is a no-op */

/* ---- GDSS models (README of the GDSS reference files; graph.h: sdg_gdss_model) ---- */
/* Reads a GDSS reference file (root attributes params_x, params_adj, model_config; tensors
 * /x/<name>, /adj/<name>) into a new model: both networks built from the JSON, every tensor
 * copied with a shape check. SDG_ERR_NOTFOUND / SDG_ERR_SHAPE / SDG_ERR_FORMAT name the file
 * and the tensor (also for a tensor in the file that the network does not have). */
SDG_API sdg_status sdg_gdss_model_read_reference(const char *gdss_h5, sdg_gdss_model **out);
/* Saves a model as an sdegen checkpoint: /params/x.<name>, /params/adj.<name>, and meta keys
 * model = "gdss", dataset, {x,adj}.<GDSS constructor key> (model_type, max_feat_num,
 * max_node_num, depth, nhid, adim, num_heads, c_init, c_hid, c_final, num_layers, num_linears),
 * sde_{x,adj}.{type, beta_min/beta_max (VP) or sigma_min/sigma_max (VE), num_scales},
 * sampler.{predictor, corrector, snr, scale_eps, eps, batch, use_ema}, max_node_num,
 * max_feat_num; the flag table (when count > 0) as /buffers/flags.rows (count, N) and
 * /buffers/flags.weight (count). */
SDG_API sdg_status sdg_gdss_model_save(const sdg_gdss_model *m, const char *path);
/* Rebuilds a model from a checkpoint written by sdg_gdss_model_save and loads its weights:
 * the EMA weights (/ema) when sampler.use_ema is set and the file has them (then
 * m->weights_ema is true), else /params; and the flag table when present. */
SDG_API sdg_status sdg_gdss_model_load(const char *path, sdg_gdss_model **out);
/* The same with the weights chosen: DEFAULT as above, RAW = /params, EMA = /ema
 * (SDG_ERR_NOTFOUND naming the file when it has none). */
typedef enum sdg_gdss_weights {
    SDG_GDSS_WEIGHTS_DEFAULT = 0,
    SDG_GDSS_WEIGHTS_RAW,
    SDG_GDSS_WEIGHTS_EMA
} sdg_gdss_weights;
SDG_API sdg_status sdg_gdss_model_load_weights(const char *path, sdg_gdss_weights which, sdg_gdss_model **out);
/* sdg_gdss_model_read_reference + sdg_gdss_model_save (the `sdegen import-gdss` command). */
SDG_API sdg_status sdg_gdss_import(const char *gdss_h5, const char *out_checkpoint);


/* ---- training checkpoints (GDSS; graph.h: sdg_gdss_trainer) ---- */
/* Saves tr's state atomically to path: everything sdg_gdss_model_save writes (so that
 * sdg_gdss_model_load reads the file and samples with the EMA weights when the settings ask
 * for them) plus /ema, /adam, /rng and meta train.epoch, train.dataset (the sdegen dataset
 * name), train.{batch, lr, weight_decay, lr_decay, grad_clip, ema_decay, eps, seed, threads}.
 * SDG_ERR_IO (the message names the file). */
SDG_API sdg_status sdg_gdss_train_save(const char *path, sdg_gdss_trainer *tr, const char *dataset);
/* Resumes from a file of sdg_gdss_train_save: rebuilds the model (its trained weights, not
 * the EMA), a trainer on train with the file's training parameters, and restores Adam, EMA,
 * generator and epoch count, so that continuing gives the same bits as a run that never
 * stopped. SDG_ERR_FORMAT naming the file when it is not a GDSS training checkpoint. */
SDG_API sdg_status sdg_gdss_train_resume(const char *path, const sdg_graph_list *train,
                                         sdg_gdss_model **model, sdg_gdss_trainer **tr);
/* The same on a dense training set (graph.h: sdg_gdss_trainer_new_dense; borrowed). */
SDG_API sdg_status sdg_gdss_train_resume_dense(const char *path, const sdg_gdss_data *train,
                                               sdg_gdss_model **model, sdg_gdss_trainer **tr);


/* ---- crystal models (crystal.h: sdg_crystal_unet; docs/crystals.md "Model") ---- */
#include "sdegen/crystal.h"
typedef struct sdg_crystal_model {
    sdg_crystal_unet          *net;
    sdg_crystal_matrix_params  mp;          /* E_max, N_max, element rows                    */
    sdg_crystal_scaler         scaler;      /* fitted on the training matrices               */
    double                     sigma_data;  /* EDM sigma_data of the scaled matrices         */
    char     dataset[32];                   /* perov_5, carbon_24, mp_20                     */
    char     split[16];                     /* the split it was trained on                   */
    char     cond[64];                      /* conditioning property, "" when none           */
    double   cond_mean, cond_std;           /* its scaling (value - mean) / std              */
    int64_t  epochs;                        /* training epochs done                          */
    bool     weights_ema;                   /* loaded weights are the EMA shadow             */
    uint8_t  elements[SDG_CRYSTAL_ZMAX];    /* training vocabulary: elements[Z - 1] = 1 when Z
                                               occurs in a training crystal; all 0 (files
                                               from before it): no restriction               */
} sdg_crystal_model;
SDG_API void       sdg_crystal_model_free(sdg_crystal_model *m);                /* NULL is a no-op */
/* Saves m (and, with tr, Adam, EMA and the training parameters for --resume) atomically:
 * /params, /ema, /adam, meta model = "crystal_unet", net.*, matrix.{e_max, n_max}, scaler.*
 * (18 doubles), edm.sigma_data, dataset, split, cond.*, train.*, decode.elements (the vocabulary
 * as space-separated Z, "" for none), matrix.element_rows (mp's vocab likewise, "" = Z 1..94;
 * absent on loading: Z 1..94); /buffers/scaler (18 floats, a readable copy). Without tr the
 * parameters are also stored as /ema. SDG_ERR_IO. */
SDG_API sdg_status sdg_crystal_model_save(const char *path, const sdg_crystal_model *m, sdg_crystal_trainer *tr);
/* Rebuilds the model of a file of sdg_crystal_model_save: EMA weights when ema is true (the
 * sampling default), else the trained ones. SDG_ERR_FORMAT naming the file when it is not a
 * crystal model. */
SDG_API sdg_status sdg_crystal_model_load(const char *path, bool ema, sdg_crystal_model **out);
/* True when path is an sdegen checkpoint with meta model = "crystal_unet" (no error set). */
SDG_API bool       sdg_crystal_model_probe(const char *path);
/* A trainer for m->net (loaded with ema = false) on X/cond (as sdg_crystal_trainer_new) with the
 * file's training parameters, Adam, EMA and epoch count: continuing is bit-identical. */
SDG_API sdg_status sdg_crystal_trainer_resume(const char *path, sdg_crystal_model *m, const float *X,
                                              const float *cond, size_t n, sdg_crystal_trainer **out);


/* ---- 3-D molecule flow models (molecule.h: sdg_egnn, sdg_flow3d_*; docs/molecules3d.md) ---- */
/* The extra conformer file a 3-D model trained with (sdegen prepare conformers; the dataset's
 * extra_sdf): meta conformers.path, conformers.file (its basename), conformers.records,
 * conformers.train. Files without these keys read as none. */
typedef struct sdg_extra_conformers {
    char    path[1024];      /* absolute path, "" = none                                   */
    int64_t records;         /* records read from it                                       */
    int64_t train;           /* of those, in the model's training set                      */
} sdg_extra_conformers;
#define SDG_MOL3D_MODEL_VERSION 1
#define SDG_MOL3D_DRAW_STREAM   (1ull << 62)   /* size draw of molecule i: stream (seed, this + i) */
typedef struct sdg_mol3d_model {
    sdg_egnn          *net;
    sdg_flow3d_params  flow;        /* loss weights, prior_std (sampling needs it)             */
    char     dataset[32];           /* "qm9_conformers"                                        */
    char     split[16];             /* "train"                                                 */
    char     cond[16];              /* conditioning property ("mu", ..., "cv"), "" when none   */
    double   cond_mean, cond_std;   /* its scaling (value - mean) / std                        */
    size_t   n_table;               /* training molecules                                      */
    int64_t *table_n;               /* (n_table) their atom counts (H included)                */
    float   *table_prop;            /* (n_table) their property values, NaN = none; NULL when unconditioned */
    size_t   n_table_prop;          /* rows with a value                                       */
    double   prop_min, prop_max;    /* range of the values (+inf, -inf when none)              */
    int64_t  epochs;                /* training epochs done                                    */
    bool     weights_ema;           /* loaded weights are the EMA shadow                       */
    sdg_extra_conformers conformers;
    float    sample_sde_noise;      /* the sampler setting shipped with the model (meta
                                       sample.sde_noise; sdegen export --sde-noise): `sample`'s
                                       default eta with --ode euler; 0 (files without it) = ODE */
    float    sample_sde_tmax;       /* its sde_tmax (meta sample.sde_tmax; files without it: 1;
                                       0, as in a zeroed struct, is saved as 1) */
    bool     sample_sde_pos;        /* the positions have their own setting (false in a zeroed
                                       struct and in files without sample.sde_noise_pos):     */
    float    sample_sde_noise_pos;  /* their eta (sample.sde_noise_pos, in [0, 100]) and      */
    float    sample_sde_tmax_pos;   /* t_max (sample.sde_tmax_pos, in (0, 1]); sdegen export
                                       --pos-sde-noise / --pos-sde-tmax                        */
} sdg_mol3d_model;
SDG_API void       sdg_mol3d_model_free(sdg_mol3d_model *m);     /* NULL is a no-op */
/* Copies the (atoms, property) table into m (prop NULL for an unconditioned model) and sets
 * n_table_prop, prop_min/max. SDG_ERR_INVALID for count 0 or an atom count outside 1..999. */
SDG_API sdg_status sdg_mol3d_model_set_table(sdg_mol3d_model *m, const int64_t *n_atoms, const float *prop, size_t count);
/* Saves m (with tr: Adam, EMA and train.* for --resume) atomically as an sdegen checkpoint:
 * meta model = "mol3d_flow", model.version, net.*, flow.*, cond.*, dataset, split, train.*,
 * table.count; /buffers/table.n_atoms and table.prop. Without tr the parameters are also /ema and
 * meta weights_only = "ema" or "raw" (m->weights_ema) marks a file --resume refuses. */
SDG_API sdg_status sdg_mol3d_model_save(const char *path, const sdg_mol3d_model *m, sdg_flow3d_trainer *tr);
/* Rebuilds the model of a file of sdg_mol3d_model_save: EMA weights when ema is true (the
 * sampling default). SDG_ERR_FORMAT (not such a model), SDG_ERR_VERSION, naming the file. */
SDG_API sdg_status sdg_mol3d_model_load(const char *path, bool ema, sdg_mol3d_model **out);
/* True when path is an sdegen checkpoint with meta model = "mol3d_flow" (no error set). */
SDG_API bool       sdg_mol3d_model_probe(const char *path);
/* A trainer for m->net (loaded with ema = false) on n molecules (as sdg_flow3d_trainer_new)
 * with the file's training parameters, Adam, EMA and epoch count: on the same molecules,
 * continuing is bit-identical. n may differ from the file's (the training set grew): every
 * epoch draws its order anew over the n molecules, so the run continues on the new set. */
SDG_API sdg_status sdg_flow3d_trainer_resume(const char *path, sdg_mol3d_model *m, sdg_mol *const *mols,
                                             const float *prop, size_t n, sdg_flow3d_trainer **out);
/* Sizes (and, for a conditioned model, standardised property targets; prop may be NULL) of
 * molecules 0..n-1: molecule i draws a table row from stream (seed, SDG_MOL3D_DRAW_STREAM + i):
 * uniformly among all rows (unconditioned, or a conditioned model with neither target nor
 * prop: sizes for its unconditional branch), among rows with a value (joint (n, property)
 * draw; prop = that row's value), or, with target (raw units), among the max(32, 5 %) rows
 * whose value is nearest it (prop = target). SDG_ERR_INVALID for a target to an unconditioned model. */
SDG_API sdg_status sdg_mol3d_model_draw(const sdg_mol3d_model *m, uint64_t seed, size_t n, const double *target,
                                        int64_t *n_atoms, float *prop);

/* ---- 3-D property regressors (molecule.h: sdg_prop3d; docs/molecules3d.md "Property regressor") ---- */
#define SDG_PROP3D_MODEL_VERSION 1
typedef struct sdg_prop3d_model {
    sdg_prop3d *net;
    char     prop[16];              /* QM9 property ("gap", ...)                               */
    char     unit[24];              /* its CSV unit ("Hartree")                                */
    double   mean, std;             /* standardisation (value - mean) / std, training set      */
    char     split[512];            /* which molecules it trained / validated / tested on      */
    int64_t  n_train, n_val, n_test;/* records of each part                                    */
    double   test_mae;              /* its own test MAE (property unit), NaN until measured    */
    double   test_mae_natoms;       /* the atom-count baseline on the same test part           */
    int64_t  epochs;                /* training epochs done                                    */
    bool     weights_ema;           /* loaded weights are the EMA shadow                       */
    sdg_extra_conformers conformers;
} sdg_prop3d_model;
SDG_API void       sdg_prop3d_model_free(sdg_prop3d_model *m);   /* NULL is a no-op */
/* Saves m (with tr: Adam, EMA and train.* for --resume) atomically as an sdegen checkpoint:
 * meta model = "prop3d_regressor", model.version, net.*, prop.*, split.*, test.*, train.*.
 * Without tr the parameters are also /ema, and meta weights_only as in sdg_mol3d_model_save. */
SDG_API sdg_status sdg_prop3d_model_save(const char *path, const sdg_prop3d_model *m, sdg_prop3d_trainer *tr);
/* Rebuilds the regressor of a file of sdg_prop3d_model_save: EMA weights when ema is true (the
 * default for predictions). SDG_ERR_FORMAT (not a regressor), SDG_ERR_VERSION, naming the file. */
SDG_API sdg_status sdg_prop3d_model_load(const char *path, bool ema, sdg_prop3d_model **out);
/* True when path is an sdegen checkpoint with meta model = "prop3d_regressor" (no error set). */
SDG_API bool       sdg_prop3d_model_probe(const char *path);
/* A trainer for m->net (loaded with ema = false) on n molecules with the file's training
 * parameters, Adam, EMA and epoch count: on the same molecules, continuing is bit-identical.
 * n may differ from the file's (the training set grew): every epoch draws its order anew over
 * the n molecules (fit3d.c), so the run continues from the next epoch on the new set. */
SDG_API sdg_status sdg_prop3d_trainer_resume(const char *path, sdg_prop3d_model *m, sdg_mol *const *mols,
                                             const float *y, size_t n, sdg_prop3d_trainer **out);

/* ---- crystal files written by `sdegen sample` (docs/file-formats.md "sdegen-crystals") ----
 * HDF5 "sdegen-crystals" v1: every generated crystal (undecodable ones too, decoded = 0) with
 * its lattice, ragged sites, space group, validity flags and conditioning value; the run in
 * root attributes; chunked, compressed datasets appended and flushed chunk by chunk, root
 * attribute count = records committed, complete = 1 at the end; a killed run is continued by
 * sdg_crystal_writer_resume without duplicates. */
#define SDG_CRYSTALS_FORMAT         "sdegen-crystals"
#define SDG_CRYSTALS_FORMAT_VERSION 1
typedef struct sdg_crystal_run {   /* provenance, written into the file */
    const char *model, *dataset, *sampler, *cond;   /* cond: "name=value (guidance w)" or "" */
    uint64_t    seed;
    int64_t     batch, threads, requested;
    double      symprec;
} sdg_crystal_run;
typedef struct sdg_crystal_record {
    int64_t            index;         /* position in the run                            */
    const sdg_crystal *crystal;       /* NULL when undecodable                          */
    const char        *reason;        /* why undecodable (or NULL)                      */
    int                spacegroup;    /* 1..230, 0 = none (undecodable or spglib failed)*/
    const char        *sg_symbol;     /* "Pm-3m", or NULL                               */
    bool               structural, compositional, valid;
    double             prop;          /* conditioning target, NaN when unconditioned    */
} sdg_crystal_record;
typedef struct sdg_crystal_writer sdg_crystal_writer;
/* A new .h5 file (an existing one is replaced). SDG_ERR_INVALID (not .h5), SDG_ERR_IO. */
SDG_API sdg_status sdg_crystal_writer_open(const char *path, const sdg_crystal_run *run, sdg_crystal_writer **out);
/* Continues a file of an interrupted run: model, dataset, sampler, cond, seed, batch and
 * requested must equal run's (SDG_ERR_INVALID naming the first that differs); rows past count
 * are dropped; *done = records already in. SDG_ERR_FORMAT / SDG_ERR_VERSION / SDG_ERR_IO. */
SDG_API sdg_status sdg_crystal_writer_resume(const char *path, const sdg_crystal_run *run,
                                             sdg_crystal_writer **out, size_t *done);
SDG_API sdg_status sdg_crystal_writer_append(sdg_crystal_writer *w, const sdg_crystal_record *recs, size_t count);
/* complete = 1 once all requested are in (else SDG_ERR_INVALID); frees w. */
SDG_API sdg_status sdg_crystal_writer_close(sdg_crystal_writer *w);
SDG_API void       sdg_crystal_writer_free(sdg_crystal_writer *w);   /* abandons; NULL no-op */

/* An "sdegen-crystals" file read back (its committed records only; rows past count are
 * ignored, as a resumed run drops them). Crystals are named by their run index. */
typedef struct sdg_crystal_file {
    size_t        count;            /* records committed                             */
    int64_t      *index;            /* (count) position in the run                   */
    uint8_t      *decoded;          /* (count) 1 = a crystal                         */
    sdg_crystal **crystals;         /* (count) NULL when undecodable                 */
    char        **reason;           /* (count) why undecodable, "" when decoded      */
    int32_t      *spacegroup;       /* (count) 1..230 at symprec, 0 = none           */
    char        **sg_symbol;        /* (count) "" for none                           */
    uint8_t      *structural, *compositional, *valid;   /* (count) as written        */
    double       *property;         /* (count) conditioning target, NaN when none    */
    char         *model, *dataset, *sampler, *cond, *version;
    uint64_t      seed;
    int64_t       batch, threads, requested;
    double        symprec;
    bool          complete;         /* the run finished                              */
} sdg_crystal_file;
/* Checks sdegen_format and sdegen_format_version first (SDG_ERR_FORMAT / SDG_ERR_VERSION),
 * then every dataset's shape and length and each record (offsets, atomic numbers, a cell of
 * positive volume): SDG_ERR_FORMAT "PATH: record K: reason" on malformed input, SDG_ERR_IO. */
SDG_API sdg_status sdg_crystal_file_read(const char *path, sdg_crystal_file **out);
SDG_API void       sdg_crystal_file_free(sdg_crystal_file *f);       /* NULL is a no-op */

#ifdef __cplusplus
}
#endif
#endif /* SDEGEN_IO_H */
