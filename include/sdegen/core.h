/* sdegen/core.h: status codes, error messages, arenas, random streams, library init.
 * Every fallible function returns sdg_status (SDG_OK = 0); on failure a one-line reason is
 * left in a thread-local buffer, read with sdg_errmsg(); sdg_errsrc() names the source line
 * that raised it (for bug reports, not for users). The library never prints, exits or aborts.
 * Randomness flows only through an explicit sdg_rng; sdg_rng_stream() derives independent
 * streams from (seed, index) so that results never depend on the number of threads.
 * Arena memory is 64-byte aligned and lives until sdg_arena_reset() or sdg_arena_free(). */
#ifndef SDEGEN_CORE_H
#define SDEGEN_CORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sdegen/version.h"
#ifdef __cplusplus
extern "C" {
#endif

#if defined(SDG_BUILDING_LIBRARY)
#define SDG_API __attribute__((visibility("default")))
#else
#define SDG_API
#endif

typedef enum sdg_status {
    SDG_OK = 0,
    SDG_ERR_NOMEM,      /* allocation failed or an arena cap was reached      */
    SDG_ERR_INVALID,    /* bad argument or option                             */
    SDG_ERR_SHAPE,      /* tensor shapes do not fit                           */
    SDG_ERR_IO,         /* a file could not be opened, read or written        */
    SDG_ERR_FORMAT,     /* malformed input file or record                     */
    SDG_ERR_VERSION,    /* a file written by another format version           */
    SDG_ERR_NUMERIC,    /* NaN/Inf or a numerical routine failed              */
    SDG_ERR_DEPENDENCY, /* GSL, igraph, HDF5, spglib or Open Babel failed     */
    SDG_ERR_NOTFOUND,   /* a named item (parameter, dataset, file) is absent  */
    SDG_ERR_INTERRUPTED,/* stopped by the caller (signal, callback)           */
    SDG_STATUS_COUNT
} sdg_status;

/* Library-wide init: disarms GSL's and igraph's aborting error handlers and HDF5's error
 * printing. Call once before anything else; idempotent and thread-safe. */
SDG_API sdg_status  sdg_init(void);
SDG_API const char *sdg_version(void);                 /* "MAJOR.MINOR.PATCH" */

/* ---- errors ---- */
SDG_API const char *sdg_errmsg(void);                  /* last reason on this thread, "" if none */
SDG_API const char *sdg_errsrc(void);                  /* "src/x.c:123" that raised it           */
SDG_API const char *sdg_strerror(sdg_status code);     /* fixed text for a code                 */
/* Records a reason (printf-style) and returns code. Used through SDG_FAIL / SDG_ERROR. */
SDG_API sdg_status  sdg_error_set(sdg_status code, const char *src, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prepends "prefix: " (printf-style) to the current message, e.g. the file being read. */
SDG_API void        sdg_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
SDG_API void        sdg_error_clear(void);

/* SDG_ERROR(code, fmt, ...): record and evaluate to code.
 * SDG_FAIL(code, fmt, ...): record, set `st`, jump to `cleanup` (needs both in scope).
 * SDG_TRY(expr): evaluate; on failure set `st` and jump to `cleanup`. */
#define SDG_ERROR(code, ...) sdg_error_set((code), __FILE__, __LINE__, __VA_ARGS__)
#define SDG_FAIL(code, ...)                                                                   \
    do { st = sdg_error_set((code), __FILE__, __LINE__, __VA_ARGS__); goto cleanup; } while (0)
#define SDG_TRY(expr)                                                                         \
    do { st = (expr); if (st != SDG_OK) goto cleanup; } while (0)

/* ---- arena: one block per step, reset between steps ----
 * Allocation is a pointer bump; when a step needs more than the block holds a further
 * block is chained, and the next reset replaces the chain by one block of the peak size, so
 * memory is constant from the second step on. cap_bytes = 0 means no cap. */
typedef struct sdg_arena sdg_arena;
SDG_API sdg_status sdg_arena_new(size_t initial_bytes, size_t cap_bytes, sdg_arena **out);
SDG_API void       sdg_arena_free(sdg_arena *a);                 /* NULL is a no-op */
/* 64-byte aligned, uninitialised; NULL (with a message) when the cap is reached. */
SDG_API void      *sdg_arena_alloc(sdg_arena *a, size_t bytes);
SDG_API void       sdg_arena_reset(sdg_arena *a);
SDG_API size_t     sdg_arena_used(const sdg_arena *a);           /* bytes since last reset   */
/* A position in the arena; sdg_arena_rewind(a, pos) frees everything allocated after
 * sdg_arena_mark(a) returned pos (stack discipline: a rewind also drops later marks). A
 * position that is no longer live (an earlier rewind or reset went below it) is ignored. */
typedef struct sdg_arena_pos {
    void  *block;
    size_t offset, used;
} sdg_arena_pos;
SDG_API sdg_arena_pos sdg_arena_mark(const sdg_arena *a);
SDG_API void       sdg_arena_rewind(sdg_arena *a, sdg_arena_pos pos);
SDG_API size_t     sdg_arena_peak(const sdg_arena *a);           /* max bytes in one step    */
SDG_API size_t     sdg_arena_capacity(const sdg_arena *a);       /* bytes held from the OS   */

/* ---- random streams (GSL MT19937 underneath, fully seeded from 64-bit keys) ---- */
typedef struct sdg_rng sdg_rng;
SDG_API sdg_status sdg_rng_new(uint64_t seed, sdg_rng **out);
/* The stream for (seed, index): independent of other indices, of threads and of call order. */
SDG_API sdg_status sdg_rng_stream(uint64_t seed, uint64_t index, sdg_rng **out);
/* Re-keys an existing generator in place to stream (seed, index); no allocation. */
SDG_API void       sdg_rng_reset(sdg_rng *r, uint64_t seed, uint64_t index);
SDG_API void       sdg_rng_free(sdg_rng *r);                     /* NULL is a no-op */
SDG_API double     sdg_rng_uniform(sdg_rng *r);                  /* [0, 1)              */
SDG_API double     sdg_rng_uniform_pos(sdg_rng *r);              /* (0, 1)              */
SDG_API double     sdg_rng_gaussian(sdg_rng *r);                 /* N(0, 1)             */
SDG_API uint64_t   sdg_rng_uint(sdg_rng *r, uint64_t n);         /* uniform in [0, n)   */
SDG_API void       sdg_rng_fill_gaussian(sdg_rng *r, float *x, size_t n);
SDG_API void       sdg_rng_fill_uniform(sdg_rng *r, float *x, size_t n, float lo, float hi);
SDG_API void       sdg_rng_shuffle(sdg_rng *r, int64_t *idx, size_t n);
/* State save/restore (for checkpoints): writes up to cap bytes, reports the size needed. */
SDG_API sdg_status sdg_rng_state_save(const sdg_rng *r, void *buf, size_t cap, size_t *needed);
SDG_API sdg_status sdg_rng_state_load(sdg_rng *r, const void *buf, size_t size);

/* ---- threads ---- */
SDG_API int        sdg_num_threads(void);                        /* OpenMP threads in use */
SDG_API void       sdg_set_num_threads(int n);                   /* n <= 0: all cores     */

#ifdef __cplusplus
}
#endif
#endif /* SDEGEN_CORE_H */
