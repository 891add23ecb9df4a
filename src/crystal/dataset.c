/* CDVAE's CSV datasets: RFC 4180 records with a cif column and numeric property columns. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "crystal/internal.h"

sdg_crystal_dataset_params sdg_crystal_dataset_default_params(void) {
    return (sdg_crystal_dataset_params){.max_rows = 0};
}

void sdg_crystal_dataset_free(sdg_crystal_dataset *d) {
    if (!d) return;
    for (size_t k = 0; k < d->count; k++) {
        sdg_crystal_free(d->crystals[k]);
        free(d->ids[k]);
    }
    for (size_t k = 0; k < d->n_props; k++) free(d->prop_names[k]);
    for (size_t k = 0; k < sizeof d->skip_reasons / sizeof d->skip_reasons[0]; k++) free(d->skip_reasons[k]);
    free(d->crystals);
    free(d->ids);
    free(d->prop_names);
    free(d->props);
    free(d);
}

sdg_status sdg_crystal_dataset_prop(const sdg_crystal_dataset *d, const char *name, size_t *k) {
    for (size_t j = 0; j < d->n_props; j++)
        if (strcmp(d->prop_names[j], name) == 0) {
            *k = j;
            return SDG_OK;
        }
    return SDG_ERROR(SDG_ERR_NOTFOUND, "dataset has no property column '%s'", name);
}

/* ---- RFC 4180 records, parsed in place: fields are NUL-terminated inside buf ---- */
typedef struct csv {
    char  *p;        /* read position                   */
    int    line;     /* line of p                       */
    char **fields;
    int   *lines;    /* line on which each field starts */
    size_t n, cap;
} csv;

/* Next record into c->fields; 0 ok, 1 end of input, -1 unterminated quote. */
static int csv_record(csv *c, int *start_line) {
    c->n = 0;
    if (*c->p == '\0') return 1;
    *start_line = c->line;
    for (;;) {
        if (c->n == c->cap) {
            size_t nc = c->cap ? 2 * c->cap : 16;
            char **f  = realloc(c->fields, nc * sizeof *f);
            if (f) c->fields = f;
            int *ln = realloc(c->lines, nc * sizeof *ln);
            if (ln) c->lines = ln;
            if (!f || !ln) return -2;
            c->cap    = nc;
        }
        char *w = c->p, *field = c->p;
        c->lines[c->n] = c->line;
        if (*c->p == '"') {
            c->p++;
            for (;;) {
                if (*c->p == '\0') return -1;
                if (*c->p == '"') {
                    if (c->p[1] == '"') {
                        *w++ = '"';
                        c->p += 2;
                        continue;
                    }
                    c->p++;
                    break;
                }
                if (*c->p == '\n') c->line++;
                *w++ = *c->p++;
            }
            /* anything up to the separator after a closing quote is kept as is */
            while (*c->p && *c->p != ',' && *c->p != '\n' && *c->p != '\r') *w++ = *c->p++;
        } else {
            while (*c->p && *c->p != ',' && *c->p != '\n' && *c->p != '\r') w++, c->p++;
        }
        char sep = *c->p;
        if (sep == '\r' && c->p[1] == '\n') c->p++, sep = '\n';
        if (sep) c->p++;
        *w = '\0';
        c->fields[c->n++] = field;
        if (sep == '\n') c->line++;
        if (sep != ',') return 0;
    }
}

static sdg_status read_text(const char *path, char **out) {
    FILE *f = fopen(path, "rb");
    if (!f) return SDG_ERROR(SDG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 20, n = 0;
    char  *buf = malloc(cap);
    sdg_status st = SDG_OK;
    if (!buf) SDG_FAIL(SDG_ERR_NOMEM, "%s: out of memory", path);
    for (;;) {
        if (cap - n < 2) {
            char *nb = realloc(buf, 2 * cap);
            if (!nb) SDG_FAIL(SDG_ERR_NOMEM, "%s: out of memory", path);
            buf = nb;
            cap *= 2;
        }
        size_t k = fread(buf + n, 1, cap - n - 1, f);
        n += k;
        if (k == 0) break;
    }
    if (ferror(f)) SDG_FAIL(SDG_ERR_IO, "%s: read error", path);
    buf[n] = '\0';
    if (memchr(buf, '\0', n)) SDG_FAIL(SDG_ERR_FORMAT, "%s: not a text file (NUL byte)", path);
    *out = buf;
    buf  = NULL;
cleanup:
    free(buf);
    fclose(f);
    return st;
}

static void note_skip(sdg_crystal_dataset *d, const char *fmt_reason) {
    size_t cap = sizeof d->skip_reasons / sizeof d->skip_reasons[0];
    if (d->n_skipped < cap) d->skip_reasons[d->n_skipped] = strdup(fmt_reason);
    d->n_skipped++;
}

static sdg_status grow(sdg_crystal_dataset *d, size_t *cap) {
    if (d->count < *cap) return SDG_OK;
    size_t        nc = *cap ? 2 * *cap : 256;
    sdg_crystal **c  = realloc(d->crystals, nc * sizeof *c);
    if (c) d->crystals = c;
    char **ids = realloc(d->ids, nc * sizeof *ids);
    if (ids) d->ids = ids;
    double *pr = realloc(d->props, nc * (d->n_props ? d->n_props : 1) * sizeof *pr);
    if (pr) d->props = pr;
    if (!c || !ids || !pr) return SDG_ERROR(SDG_ERR_NOMEM, "dataset: out of memory");
    *cap = nc;
    return SDG_OK;
}

sdg_status sdg_crystal_dataset_read_csv(const char *path, const sdg_crystal_dataset_params *p,
                                        sdg_crystal_dataset **out) {
    sdg_status                 st = SDG_OK;
    sdg_crystal_dataset_params pp = p ? *p : sdg_crystal_dataset_default_params();
    sdg_crystal_dataset       *d  = calloc(1, sizeof *d);
    char                      *text = NULL;
    csv                        c  = {0};
    size_t                    *prop_col = NULL, cap = 0;
    if (!d) return SDG_ERROR(SDG_ERR_NOMEM, "dataset: out of memory");
    SDG_TRY(read_text(path, &text));
    c.p = text;
    c.line = 1;
    int line = 1, r = csv_record(&c, &line);
    if (r == 1) SDG_FAIL(SDG_ERR_FORMAT, "%s: empty file (no header)", path);
    if (r < 0) SDG_FAIL(SDG_ERR_FORMAT, "%s: line %d: unterminated quoted header field", path, line);
    size_t n_cols = c.n, cif_col = SIZE_MAX, id_col = SIZE_MAX;
    prop_col = malloc(n_cols * sizeof *prop_col);
    d->prop_names = calloc(n_cols, sizeof *d->prop_names);
    if (!prop_col || !d->prop_names) SDG_FAIL(SDG_ERR_NOMEM, "dataset: out of memory");
    for (size_t k = 0; k < n_cols; k++) {
        const char *h = c.fields[k];
        if (strcmp(h, "cif") == 0) cif_col = k;
        else if (strcmp(h, "material_id") == 0) id_col = k;
        else if (k == 0 && h[0] == '\0') continue;   /* pandas' unnamed index column */
        else {
            if (!(d->prop_names[d->n_props] = strdup(h))) SDG_FAIL(SDG_ERR_NOMEM, "dataset: out of memory");
            prop_col[d->n_props++] = k;
        }
    }
    if (cif_col == SIZE_MAX) SDG_FAIL(SDG_ERR_FORMAT, "%s: the header has no 'cif' column", path);
    for (;;) {
        if (pp.max_rows && d->n_rows >= pp.max_rows) break;
        r = csv_record(&c, &line);
        if (r == 1) break;
        if (r == -2) SDG_FAIL(SDG_ERR_NOMEM, "dataset: out of memory");
        if (r == -1) SDG_FAIL(SDG_ERR_FORMAT, "%s: line %d: unterminated quoted field", path, line);
        if (c.n == 1 && c.fields[0][0] == '\0') continue;   /* blank line */
        d->n_rows++;
        char reason[512];
        if (c.n != n_cols) {
            snprintf(reason, sizeof reason, "row %zu (line %d): %zu fields, the header has %zu", d->n_rows, line,
                     c.n, n_cols);
            note_skip(d, reason);
            continue;
        }
        char src[64];
        snprintf(src, sizeof src, "row %zu", d->n_rows);
        sdg_crystal_list *l = NULL;
        if (sdg_cif_read_from_line(c.fields[cif_col], src, c.lines[cif_col], &l) != SDG_OK || l->count != 1) {
            if (l) snprintf(reason, sizeof reason, "%s (line %d): %zu structures in one cif field", src, line, l->count);
            else snprintf(reason, sizeof reason, "%s", sdg_errmsg());
            sdg_crystal_list_free(l);
            note_skip(d, reason);
            continue;
        }
        st = grow(d, &cap);
        if (st != SDG_OK) {
            sdg_crystal_list_free(l);
            goto cleanup;
        }
        sdg_crystal *x = l->items[0];
        l->count = 0;
        sdg_crystal_list_free(l);
        sdg_crystal_wrap(x);
        char rowname[32];
        snprintf(rowname, sizeof rowname, "%zu", d->n_rows);
        char *id = strdup(id_col != SIZE_MAX ? c.fields[id_col] : rowname);
        if (!id) {
            sdg_crystal_free(x);
            SDG_FAIL(SDG_ERR_NOMEM, "dataset: out of memory");
        }
        d->crystals[d->count] = x;
        d->ids[d->count] = id;
        for (size_t k = 0; k < d->n_props; k++) {
            double v = NAN;
            const char *s = c.fields[prop_col[k]];
            char *end = NULL;
            if (*s) {
                v = strtod(s, &end);
                if (*end) v = NAN;
            }
            d->props[d->count * d->n_props + k] = v;
        }
        d->count++;
    }
    sdg_error_clear();
    *out = d;
    d = NULL;
cleanup:
    free(c.fields);
    free(c.lines);
    free(prop_col);
    free(text);
    sdg_crystal_dataset_free(d);
    return st;
}

sdg_status sdg_crystal_dataset_load(const char *dir, const char *split, const sdg_crystal_dataset_params *p,
                                    sdg_crystal_dataset **out) {
    if (!split || (strcmp(split, "train") != 0 && strcmp(split, "val") != 0 && strcmp(split, "test") != 0))
        return SDG_ERROR(SDG_ERR_INVALID, "dataset split '%s' is not train, val or test", split ? split : "(null)");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.csv", dir, split);
    return sdg_crystal_dataset_read_csv(path, p, out);
}
