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
/* Record files written chunk by chunk (mol_file.c, crystal_file.c): a variable-length UTF-8
 * string type; the root attributes count and complete updated and the file flushed (a chunk
 * counts only after this); a resumed run's string / integer root attribute compared with its
 * own (SDG_ERR_INVALID naming the attribute and both values). */
sdg_status h5_strtype(hid_t *out);
sdg_status h5_set_count(hid_t file, int64_t count, int64_t complete);
sdg_status h5_check_str(hid_t file, const char *name, const char *want);
sdg_status h5_check_i64(hid_t file, const char *name, int64_t want);

/* ---- GDSS models (gdss_file.c) ---- */
/* The metadata and buffers sdg_gdss_model_save writes for m (both new; the buffers are NULL
 * when the model has no flag table). Shared with the training checkpoints. */
sdg_status io_gdss_model_meta(const sdg_gdss_model *m, sdg_meta **meta, sdg_params **buffers);
#endif
