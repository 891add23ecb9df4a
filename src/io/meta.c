/* sdg_meta: a small ordered key/value store (int64, double, string). Keys keep their first
 * insertion position; setting an existing key replaces its value and type. Linear search:
 * a checkpoint carries tens of keys, not thousands. */
#include <stdlib.h>
#include <string.h>
#include "io/internal.h"

typedef struct meta_entry {
    char        *key;
    io_meta_type type;
    int64_t      i;
    double       d;
    char        *s;
} meta_entry;

struct sdg_meta {
    meta_entry *items;
    size_t      n, cap;
};

static const char *const type_names[] = {"an integer", "a double", "a string"};

sdg_status sdg_meta_new(sdg_meta **out) {
    *out = calloc(1, sizeof **out);
    return *out ? SDG_OK : SDG_ERROR(SDG_ERR_NOMEM, "meta: out of memory");
}

void sdg_meta_free(sdg_meta *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->items[i].key);
        free(m->items[i].s);
    }
    free(m->items);
    free(m);
}

static meta_entry *meta_find(const sdg_meta *m, const char *key) {
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->items[i].key, key) == 0) return &m->items[i];
    return NULL;
}

/* The entry for key, created (int 0) when absent. */
static sdg_status meta_slot(sdg_meta *m, const char *key, meta_entry **out) {
    *out = NULL;
    if (!m || !key || !*key) return SDG_ERROR(SDG_ERR_INVALID, "meta: a key must be a non-empty string");
    meta_entry *e = meta_find(m, key);
    if (!e) {
        if (m->n == m->cap) {
            size_t cap = m->cap ? 2 * m->cap : 8;
            meta_entry *items = realloc(m->items, cap * sizeof *items);
            if (!items) return SDG_ERROR(SDG_ERR_NOMEM, "meta: out of memory");
            m->items = items;
            m->cap = cap;
        }
        char *k = strdup(key);
        if (!k) return SDG_ERROR(SDG_ERR_NOMEM, "meta: out of memory");
        e = &m->items[m->n++];
        memset(e, 0, sizeof *e);
        e->key = k;
        e->type = IO_META_INT;
    }
    *out = e;
    return SDG_OK;
}

sdg_status sdg_meta_set_int(sdg_meta *m, const char *key, int64_t v) {
    meta_entry *e;
    sdg_status st = meta_slot(m, key, &e);
    if (st != SDG_OK) return st;
    free(e->s);
    e->s = NULL;
    e->type = IO_META_INT;
    e->i = v;
    return SDG_OK;
}

sdg_status sdg_meta_set_double(sdg_meta *m, const char *key, double v) {
    meta_entry *e;
    sdg_status st = meta_slot(m, key, &e);
    if (st != SDG_OK) return st;
    free(e->s);
    e->s = NULL;
    e->type = IO_META_DOUBLE;
    e->d = v;
    return SDG_OK;
}

sdg_status sdg_meta_set_string(sdg_meta *m, const char *key, const char *v) {
    if (!v) return SDG_ERROR(SDG_ERR_INVALID, "meta: NULL string for key '%s'", key ? key : "");
    char *copy = strdup(v);   /* before the slot: v may be the entry's own string */
    if (!copy) return SDG_ERROR(SDG_ERR_NOMEM, "meta: out of memory");
    meta_entry *e;
    sdg_status st = meta_slot(m, key, &e);
    if (st != SDG_OK) {
        free(copy);
        return st;
    }
    free(e->s);
    e->s = copy;
    e->type = IO_META_STRING;
    return SDG_OK;
}

static sdg_status meta_get(const sdg_meta *m, const char *key, io_meta_type want,
                           const meta_entry **out) {
    *out = NULL;
    if (!m || !key) return SDG_ERROR(SDG_ERR_INVALID, "meta: no store or no key");
    const meta_entry *e = meta_find(m, key);
    if (!e) return SDG_ERROR(SDG_ERR_NOTFOUND, "meta: no key '%s'", key);
    if (e->type != want)
        return SDG_ERROR(SDG_ERR_FORMAT, "meta: '%s' is %s, not %s", key, type_names[e->type],
                         type_names[want]);
    *out = e;
    return SDG_OK;
}

sdg_status sdg_meta_get_int(const sdg_meta *m, const char *key, int64_t *v) {
    const meta_entry *e;
    sdg_status st = meta_get(m, key, IO_META_INT, &e);
    if (st == SDG_OK) *v = e->i;
    return st;
}

sdg_status sdg_meta_get_double(const sdg_meta *m, const char *key, double *v) {
    const meta_entry *e;
    sdg_status st = meta_get(m, key, IO_META_DOUBLE, &e);
    if (st == SDG_OK) *v = e->d;
    return st;
}

sdg_status sdg_meta_get_string(const sdg_meta *m, const char *key, const char **v) {
    const meta_entry *e;
    sdg_status st = meta_get(m, key, IO_META_STRING, &e);
    if (st == SDG_OK) *v = e->s;
    return st;
}

size_t      sdg_meta_count(const sdg_meta *m) { return m ? m->n : 0; }
const char *sdg_meta_key(const sdg_meta *m, size_t i) { return m && i < m->n ? m->items[i].key : NULL; }

io_meta_type io_meta_type_at(const sdg_meta *m, size_t i) { return m->items[i].type; }

void io_meta_swap(sdg_meta *a, sdg_meta *b) {
    sdg_meta t = *a;
    *a = *b;
    *b = t;
}
