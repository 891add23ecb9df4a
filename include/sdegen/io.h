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

#ifdef __cplusplus
}
#endif
#endif /* SDEGEN_IO_H */
