/* Arena: bump allocation from chained blocks, coalesced to one block of the peak size on reset. */
#include <stdlib.h>
#include <string.h>
#include "sdegen/core.h"

#define SDG_ARENA_ALIGN 64

typedef struct sdg_block {
    struct sdg_block *next;
    size_t            size, used;
    unsigned char    *mem;
} sdg_block;

struct sdg_arena {
    sdg_block *head;      /* current block (newest first) */
    sdg_block *spare;     /* blocks given back by sdg_arena_rewind, reused before new ones */
    size_t     used;      /* bytes handed out since reset (with alignment padding) */
    size_t     peak;
    size_t     capacity;  /* bytes held in all blocks */
    size_t     cap;       /* 0 = unlimited */
};

static sdg_block *block_new(size_t size) {
    sdg_block *b = malloc(sizeof *b);
    if (!b) return NULL;
    size = (size + SDG_ARENA_ALIGN - 1) / SDG_ARENA_ALIGN * SDG_ARENA_ALIGN;
    b->mem = aligned_alloc(SDG_ARENA_ALIGN, size);
    if (!b->mem) { free(b); return NULL; }
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

static void blocks_free(sdg_block *b) {
    while (b) {
        sdg_block *n = b->next;
        free(b->mem);
        free(b);
        b = n;
    }
}

sdg_status sdg_arena_new(size_t initial_bytes, size_t cap_bytes, sdg_arena **out) {
    *out = NULL;
    sdg_arena *a = calloc(1, sizeof *a);
    if (!a) return SDG_ERROR(SDG_ERR_NOMEM, "arena: out of memory");
    if (initial_bytes < 4096) initial_bytes = 4096;
    a->head = block_new(initial_bytes);
    if (!a->head) {
        free(a);
        return SDG_ERROR(SDG_ERR_NOMEM, "arena: cannot allocate %zu bytes", initial_bytes);
    }
    a->capacity = a->head->size;
    a->cap = cap_bytes;
    *out = a;
    return SDG_OK;
}

void sdg_arena_free(sdg_arena *a) {
    if (!a) return;
    blocks_free(a->head);
    blocks_free(a->spare);
    free(a);
}

void *sdg_arena_alloc(sdg_arena *a, size_t bytes) {
    size_t need = (bytes + SDG_ARENA_ALIGN - 1) / SDG_ARENA_ALIGN * SDG_ARENA_ALIGN;
    if (need == 0) need = SDG_ARENA_ALIGN;
    sdg_block *b = a->head;
    if (b->size - b->used < need) {
        if (a->cap && a->capacity + need > a->cap) {
            SDG_ERROR(SDG_ERR_NOMEM, "arena: cap of %zu bytes reached (asked %zu more)", a->cap, need);
            return NULL;
        }
        sdg_block *nb = a->spare;
        if (nb && nb->size >= need) {   /* a block given back by a rewind */
            a->spare = nb->next;
            nb->used = 0;
        } else {
            size_t size = b->size * 2 > need ? b->size * 2 : need;
            nb = block_new(size);
            if (!nb) {
                SDG_ERROR(SDG_ERR_NOMEM, "arena: cannot allocate a block of %zu bytes", size);
                return NULL;
            }
            a->capacity += nb->size;
        }
        nb->next = b;
        a->head = b = nb;
    }
    void *p = b->mem + b->used;
    b->used += need;
    a->used += need;
    if (a->used > a->peak) a->peak = a->used;
    return p;
}

sdg_arena_pos sdg_arena_mark(const sdg_arena *a) {
    return (sdg_arena_pos){.block = a->head, .offset = a->head->used, .used = a->used};
}

void sdg_arena_rewind(sdg_arena *a, sdg_arena_pos pos) {
    if (!a || !pos.block) return;
    sdg_block *b = a->head;
    while (b && b != pos.block) b = b->next;
    if (!b || pos.offset > b->used || pos.used > a->used) return;   /* not a live position */
    while (a->head != b) {         /* newer blocks become spares, kept for the next growth */
        sdg_block *n = a->head;
        a->head = n->next;
        n->next = a->spare;
        a->spare = n;
    }
    b->used = pos.offset;
    a->used = pos.used;
}

void sdg_arena_reset(sdg_arena *a) {
    if (!a) return;
    if (a->head->next || a->spare) {   /* several blocks: replace them by one of the peak size */
        sdg_block *one = block_new(a->peak);
        if (one) {
            blocks_free(a->head);
            blocks_free(a->spare);
            a->head = one;
            a->spare = NULL;
            a->capacity = one->size;
        } else {                   /* keep the chain; it still works, just not coalesced */
            for (sdg_block *b = a->head; b; b = b->next) b->used = 0;
        }
    }
    a->head->used = 0;
    a->used = 0;
}

size_t sdg_arena_used(const sdg_arena *a) { return a->used; }
size_t sdg_arena_peak(const sdg_arena *a) { return a->peak; }
size_t sdg_arena_capacity(const sdg_arena *a) { return a->capacity; }
