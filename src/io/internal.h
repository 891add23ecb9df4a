/* Private to src/io: what the checkpoint code needs to see of sdg_meta. */
#ifndef SDG_IO_INTERNAL_H
#define SDG_IO_INTERNAL_H
#include "sdegen/io.h"

typedef enum io_meta_type {
    IO_META_INT,
    IO_META_DOUBLE,
    IO_META_STRING,
} io_meta_type;

/* Type of the i-th entry (i < sdg_meta_count(m)). */
io_meta_type io_meta_type_at(const sdg_meta *m, size_t i);
/* Exchanges the contents of a and b (no allocation, cannot fail). */
void         io_meta_swap(sdg_meta *a, sdg_meta *b);

/* ---- HDF5 helpers (h5util.c) ---- */
#include <hdf5.h>
#define H5_NONE ((hid_t)H5I_INVALID_HID)
/* Closes any HDF5 id (file, group, dataset, space, type, attribute, property list); < 0 ignored. */
void       h5_close(hid_t id);
/* Records fmt plus HDF5's innermost error description (if any) and returns code. Call it
 * right after the failing HDF5 call: the next HDF5 call clears the error stack. */
__attribute__((format(printf, 3, 4)))
sdg_status h5_error(sdg_status code, int line, const char *fmt, ...);
#define H5_FAIL(code, ...)                                                                    \
    do { st = h5_error((code), __LINE__, __VA_ARGS__); goto cleanup; } while (0)
sdg_status group_create(hid_t loc, const char *name, hid_t *out);   /* creation-ordered */
sdg_status link_exists(hid_t loc, const char *name, bool *out);
sdg_status attr_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *buf);
sdg_status attr_write_i64(hid_t loc, const char *name, int64_t v);
sdg_status attr_write_f64(hid_t loc, const char *name, double v);
sdg_status attr_write_str(hid_t loc, const char *name, const char *v);
sdg_status attr_read_scalar(hid_t loc, const char *name, H5T_class_t cls, const char *what, hid_t native,
                            void *v);
sdg_status attr_read_i64(hid_t loc, const char *name, int64_t *v);
sdg_status attr_read_f64(hid_t loc, const char *name, double *v);
sdg_status attr_read_str(hid_t loc, const char *name, char **out);   /* *out malloc'ed */
/* Opens path read-only and checks the root attributes sdegen_format == format and
 * sdegen_format_version == version; what names the kind of file in messages
 * ("sdegen checkpoint"). Messages do not name the path (callers prefix it). */
sdg_status h5_open_format(const char *path, const char *format, int64_t version, const char *what,
                          hid_t *out);

/* Datasets grown along the first dimension (chunked, deflate level 4): 1-D when cols == 1,
 * else (rows, cols). h5_grow_append writes rows rows of memory type mtype after the *have
 * already there (and updates *have); h5_grow_open opens one and reports its rows, checking the
 * shape. h5_read_i64 reads a whole integer dataset (any integer type) as int64 (*out malloc'ed). */
sdg_status h5_grow_create(hid_t loc, const char *name, hid_t ftype, int cols, hsize_t chunk_rows, hid_t *out);
sdg_status h5_grow_append(hid_t d, const char *name, hid_t mtype, int cols, hsize_t *have, const void *v,
                          hsize_t rows);
sdg_status h5_grow_open(hid_t loc, const char *name, int cols, hsize_t *rows, hid_t *out);
sdg_status h5_read_i64(hid_t file, const char *name, int cols, hsize_t *rows, int64_t **out);
/* The same as doubles, with at least `need` rows. */
sdg_status h5_read_f64(hid_t file, const char *name, int cols, hsize_t need, hsize_t *rows, double **out);
/* Record files written chunk by chunk (mol_file.c, crystal_file.c): a variable-length UTF-8
 * string type; the root attributes count and complete updated and the file flushed (a chunk
 * counts only after this); a resumed run's string / integer root attribute compared with its
 * own (SDG_ERR_INVALID naming the attribute and both values). */
sdg_status h5_strtype(hid_t *out);
sdg_status h5_set_count(hid_t file, int64_t count, int64_t complete);
sdg_status h5_check_str(hid_t file, const char *name, const char *want);
sdg_status h5_check_i64(hid_t file, const char *name, int64_t want);

/* The run header of a record file, the root attributes in this order: sdegen_format,
 * sdegen_format_version, sdegen_version, model, dataset, sampler, cond (when cond != NULL),
 * seed, batch, threads, requested, symprec (when has_symprec), count, complete.
 * h5_run_write writes them (count = complete = 0). h5_run_check compares a resumed run's
 * model, dataset, sampler, cond, seed, batch and requested with the file's (SDG_ERR_INVALID
 * naming the first that differs) and returns the file's count, checked to be a whole number
 * of batches of requested (SDG_ERR_FORMAT). */
typedef struct h5_run {
    const char *format;       /* "sdegen-molecules"                              */
    int64_t     version;      /* sdegen_format_version                           */
    const char *what;         /* the kind of file in messages ("sdegen molecule file") */
    const char *model, *dataset, *sampler;
    const char *cond;         /* NULL: no cond attribute                         */
    uint64_t    seed;
    int64_t     batch, threads, requested;
    bool        has_symprec;
    double      symprec;
} h5_run;
sdg_status h5_run_write(hid_t file, const h5_run *run);
sdg_status h5_run_check(hid_t file, const h5_run *run, int64_t *count);

/* The growable datasets of a record file, in creation order. rows_of[k] says how many rows
 * dataset k holds: H5_ROWS_RECORD one a record, H5_ROWS_OFFSETS count + 1 (row 0 = 0; row
 * k + 1 = items of records 0..k), or the index j of an offsets dataset: offsets j [count] rows
 * (the atoms, bonds, sites of the records). ftype gives dataset k's file type (strtype: the
 * file's string type). */
#define H5_RECORDS_MAX 16
enum { H5_ROWS_RECORD = -1, H5_ROWS_OFFSETS = -2 };
typedef struct h5_records {
    int                n;             /* datasets, <= H5_RECORDS_MAX */
    const char *const *names;
    const int         *cols;
    const int         *rows_of;
    hsize_t            chunk_rows;
    hid_t            (*ftype)(int k, hid_t strtype);
} h5_records;
/* An open record file: its datasets and their committed rows. */
typedef struct h5_recfile {
    hid_t   file, strtype;
    hid_t   d[H5_RECORDS_MAX];
    hsize_t rows[H5_RECORDS_MAX];
} h5_recfile;
void       h5_recfile_init(h5_recfile *h);    /* every id H5_NONE, no rows */
void       h5_recfile_close(h5_recfile *h);   /* closes what is open (abandons the file) */
/* Creates path (replacing it) with run's header and r's datasets, empty but for the 0 of each
 * offsets dataset, and flushes it. */
sdg_status h5_records_create(const char *path, const h5_run *run, const h5_records *r, h5_recfile *h);
/* Reopens path to continue it: checks its format and version, then run (h5_run_check),
 * truncates every dataset to the rows of the count committed records and sets *count. */
sdg_status h5_records_reopen(const char *path, const h5_run *run, const h5_records *r, h5_recfile *h,
                             int64_t *count);
/* Marks the file complete with count records, flushes and closes it (ids set to H5_NONE).
 * Messages do not name the path (callers prefix it). */
sdg_status h5_records_finish(h5_recfile *h, const h5_records *r, int64_t count);

/* ---- GDSS models (gdss_file.c) ---- */
/* The metadata and buffers sdg_gdss_model_save writes for m (both new; the buffers are NULL
 * when the model has no flag table). Shared with the training checkpoints. */
sdg_status io_gdss_model_meta(const sdg_gdss_model *m, sdg_meta **meta, sdg_params **buffers);

/* ---- model weights (checkpoint.c) ---- */
/* Loads a checkpoint's /params into P, then, when ema, its /ema shadow over them (the weights a
 * sampler uses). Model loaders share it. */
sdg_status io_load_weights(const char *path, sdg_params *P, bool ema);
/* True when path is an sdegen checkpoint whose meta model is kind (no error left set): the
 * _probe of every model file (egnn_meta.c). */
bool       io_checkpoint_is(const char *path, const char *kind);
/* ---- EGNN models (egnn_meta.c): the meta keys shared by mol3d_flow and prop3d_regressor ---- */
/* net.n_types, net.n_charges, ..., net.seed (docs/file-formats.md). */
sdg_status io_egnn_meta_write(sdg_meta *meta, const sdg_egnn_params *np);
sdg_status io_egnn_meta_read(const sdg_meta *meta, sdg_egnn_params *np);
sdg_status io_meta_get_float(const sdg_meta *m, const char *key, float *v);
/* The status of a meta getter for a key that older files lack: SDG_ERR_NOTFOUND (its message
 * cleared) becomes SDG_OK with *present false (present may be NULL); a value of the wrong type
 * or any other failure passes through. */
sdg_status io_meta_optional(sdg_status st, bool *present);
/* train.batch, train.lr, train.grad_clip, train.ema_decay, train.seed, train.threads (the
 * caller's), train.molecules; epoch is train.epoch, written by the caller. */
typedef struct io_train_meta {
    int64_t  batch, molecules, epoch;
    float    lr, grad_clip, ema_decay;
    uint64_t seed;
} io_train_meta;
sdg_status io_train_meta_write(sdg_meta *meta, const io_train_meta *t);
/* Reads them back: SDG_ERR_FORMAT naming path when there is no train.batch (saying so when meta
 * weights_only marks a file saved without a trainer, e.g. by sdegen export). t->molecules is
 * the file's count; a resume on another count is the caller's decision (io.h). */
sdg_status io_train_meta_read(const char *path, const sdg_meta *meta, io_train_meta *t);
/* conformers.path, .file (basename), .records, .train of c (io.h sdg_extra_conformers). */
sdg_status io_conformers_meta_write(sdg_meta *meta, const sdg_extra_conformers *c);
/* Reads them back; a file without them (older sdegen) reads as none. */
sdg_status io_conformers_meta_read(const sdg_meta *meta, sdg_extra_conformers *c);
#endif
