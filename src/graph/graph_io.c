/* Graph-list files: reader (strict, one message naming file, line and problem), writer,
 * and the four GDSS datasets with GDSS's split. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/internal.h"

typedef struct reader {
    FILE       *f;
    const char *path;
    char       *line;    /* current content line (getline buffer) */
    size_t      cap;
    long        lineno;  /* 1-based number of the current line     */
    char       *cursor;  /* next unread character of the line      */
} reader;

/* Advances to the next line that is neither blank nor a '#' comment. *eof set at the end. */
static sdg_status next_line(reader *r, bool *eof) {
    for (;;) {
        errno = 0;
        ssize_t k = getline(&r->line, &r->cap, r->f);
        if (k < 0) {
            if (ferror(r->f)) return SDG_ERROR(SDG_ERR_IO, "%s: read error after line %ld", r->path, r->lineno);
            r->lineno++;
            *eof = true;
            return SDG_OK;
        }
        r->lineno++;
        char *p = r->line;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
        if (*p == '\0' || *p == '#') continue;
        r->cursor = p;
        *eof      = false;
        return SDG_OK;
    }
}

/* Reads the next integer token of the current line into *v; what names it in messages. */
static sdg_status next_int(reader *r, const char *what, int64_t *v) {
    char *p = r->cursor;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '\0' || *p == '\n' || *p == '\r')
        return SDG_ERROR(SDG_ERR_FORMAT, "%s: line %ld: missing %s", r->path, r->lineno, what);
    char *end = NULL;
    errno     = 0;
    long long x = strtoll(p, &end, 10);
    if (end == p || (*end && *end != ' ' && *end != '\t' && *end != '\n' && *end != '\r')) {
        char tok[32];
        size_t k = strcspn(p, " \t\r\n");
        snprintf(tok, sizeof tok, "%.*s", (int)(k < 24 ? k : 24), p);
        return SDG_ERROR(SDG_ERR_FORMAT, "%s: line %ld: non-numeric token '%s' where %s was expected",
                         r->path, r->lineno, tok, what);
    }
    if (errno == ERANGE)
        return SDG_ERROR(SDG_ERR_FORMAT, "%s: line %ld: %s out of range", r->path, r->lineno, what);
    r->cursor = end;
    *v        = (int64_t)x;
    return SDG_OK;
}

/* Fails if the current line holds more tokens. */
static sdg_status end_of_line(reader *r, const char *expected) {
    char *p = r->cursor;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    if (*p) return SDG_ERROR(SDG_ERR_FORMAT, "%s: line %ld: extra tokens (expected %s)", r->path, r->lineno, expected);
    return SDG_OK;
}

/* Reads the next content line, failing at end of file with a message that says what is missing. */
static sdg_status need_line(reader *r, const char *fmt_what, size_t gi, size_t G) {
    bool       eof = false;
    sdg_status st  = next_line(r, &eof);
    if (st != SDG_OK) return st;
    if (eof)
        return SDG_ERROR(SDG_ERR_FORMAT, "%s: line %ld: truncated file: end of file where %s of graph %zu of %zu was expected",
                         r->path, r->lineno, fmt_what, gi, G);
    return SDG_OK;
}

typedef struct edge_at { int64_t key; long line; } edge_at;

static int cmp_edge_at(const void *a, const void *b) {
    const edge_at *x = a, *y = b;
    if (x->key != y->key) return (x->key > y->key) - (x->key < y->key);
    return (x->line > y->line) - (x->line < y->line);
}

static sdg_status read_graph(reader *r, size_t gi, size_t G, sdg_graph_list *gl) {
    sdg_status st     = SDG_OK;
    int64_t   *edges  = NULL, *labels = NULL;
    edge_at   *at     = NULL;
    int64_t    n = 0, m = 0, y = 0;
    SDG_TRY(need_line(r, "the 'n m y' line", gi, G));
    SDG_TRY(next_int(r, "node count n", &n));
    SDG_TRY(next_int(r, "edge count m", &m));
    SDG_TRY(next_int(r, "graph label y", &y));
    SDG_TRY(end_of_line(r, "'n m y'"));
    if (n < 0) SDG_FAIL(SDG_ERR_FORMAT, "%s: line %ld: negative node count %lld", r->path, r->lineno, (long long)n);
    if (n > (int64_t)1 << 31) SDG_FAIL(SDG_ERR_FORMAT, "%s: line %ld: node count %lld too large", r->path, r->lineno, (long long)n);
    if (m < 0 || m > n * (n - 1) / 2)
        SDG_FAIL(SDG_ERR_FORMAT, "%s: line %ld: edge count %lld impossible for a simple graph on %lld nodes", r->path,
                 r->lineno, (long long)m, (long long)n);
    labels = malloc(((size_t)n + 1) * sizeof *labels);
    edges  = malloc(((size_t)m * 2 + 1) * sizeof *edges);
    at     = malloc(((size_t)m + 1) * sizeof *at);
    if (!labels || !edges || !at) SDG_FAIL(SDG_ERR_NOMEM, "%s: graph %zu: out of memory", r->path, gi);
    if (n > 0) {
        SDG_TRY(need_line(r, "the node-label line", gi, G));
        for (int64_t v = 0; v < n; v++) {
            char what[64];
            snprintf(what, sizeof what, "label of node %lld (of %lld)", (long long)v, (long long)n);
            SDG_TRY(next_int(r, what, &labels[v]));
        }
        SDG_TRY(end_of_line(r, "n node labels"));
    }
    for (int64_t e = 0; e < m; e++) {
        char what[64];
        snprintf(what, sizeof what, "edge %lld of %lld", (long long)e + 1, (long long)m);
        SDG_TRY(need_line(r, what, gi, G));
        int64_t u = 0, v = 0;
        SDG_TRY(next_int(r, "node u", &u));
        SDG_TRY(next_int(r, "node v", &v));
        SDG_TRY(end_of_line(r, "'u v'"));
        if (u < 0 || u >= n || v < 0 || v >= n)
            SDG_FAIL(SDG_ERR_FORMAT, "%s: line %ld: edge (%lld, %lld) has a node id outside 0..%lld", r->path,
                     r->lineno, (long long)u, (long long)v, (long long)n - 1);
        if (u == v) SDG_FAIL(SDG_ERR_FORMAT, "%s: line %ld: self-loop (%lld, %lld)", r->path, r->lineno, (long long)u, (long long)v);
        if (u > v) SDG_FAIL(SDG_ERR_FORMAT, "%s: line %ld: edge (%lld, %lld) has u >= v (edges are written u < v)", r->path,
                            r->lineno, (long long)u, (long long)v);
        edges[2 * e] = u;
        edges[2 * e + 1] = v;
        at[e] = (edge_at){u * n + v, r->lineno};
    }
    qsort(at, (size_t)m, sizeof *at, cmp_edge_at);
    for (int64_t e = 1; e < m; e++)
        if (at[e].key == at[e - 1].key)
            SDG_FAIL(SDG_ERR_FORMAT, "%s: line %ld: duplicate edge (%lld, %lld), first given on line %ld", r->path, at[e].line,
                     (long long)(at[e].key / n), (long long)(at[e].key % n), at[e - 1].line);
    sdg_graph g = {.n = n, .m = m, .label = y, .edges = edges, .node_labels = labels};
    SDG_TRY(sdg_graph_list_set(gl, gi, &g));
cleanup:
    free(edges);
    free(labels);
    free(at);
    return st;
}

sdg_status sdg_graph_list_read(const char *path, sdg_graph_list **out) {
    sdg_status      st = SDG_OK;
    sdg_graph_list *gl = NULL;
    reader          r  = {.path = path};
    bool            eof = false;
    int64_t         G   = 0;
    if (!path || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_graph_list_read: NULL argument");
    *out = NULL;
    r.f  = fopen(path, "r");
    if (!r.f) SDG_FAIL(SDG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    SDG_TRY(next_line(&r, &eof));
    if (eof) SDG_FAIL(SDG_ERR_FORMAT, "%s: line %ld: empty file (expected the number of graphs)", path, r.lineno);
    SDG_TRY(next_int(&r, "number of graphs G", &G));
    SDG_TRY(end_of_line(&r, "one number G"));
    if (G < 0 || G > ((int64_t)1 << 40))
        SDG_FAIL(SDG_ERR_FORMAT, "%s: line %ld: bad number of graphs %lld", path, r.lineno, (long long)G);
    SDG_TRY(sdg_graph_list_new((size_t)G, &gl));
    for (size_t i = 0; i < (size_t)G; i++) SDG_TRY(read_graph(&r, i, (size_t)G, gl));
    SDG_TRY(next_line(&r, &eof));
    if (!eof) SDG_FAIL(SDG_ERR_FORMAT, "%s: line %ld: extra content after the %lld graphs announced", path, r.lineno, (long long)G);
    *out = gl;
    gl   = NULL;
cleanup:
    if (r.f) fclose(r.f);
    free(r.line);
    sdg_graph_list_free(gl);
    return st;
}

sdg_status sdg_graph_text_begin(FILE *f, size_t total) {
    /* The first line names the format and its version (a comment, so any reader of the
     * dataset layout reads these files too). */
    fprintf(f, "# sdegen-graph-list 1 (sdegen %s): G; per graph 'n m y', n node labels, "
               "m lines 'u v' (u < v)\n%zu\n", sdg_version(), total);
    return ferror(f) ? SDG_ERROR(SDG_ERR_IO, "write error") : SDG_OK;
}

sdg_status sdg_graph_text_append(FILE *f, const sdg_graph_list *gl) {
    for (size_t i = 0; i < gl->count; i++) {
        const sdg_graph *g = &gl->graphs[i];
        fprintf(f, "%lld %lld %lld\n", (long long)g->n, (long long)g->m, (long long)g->label);
        for (int64_t v = 0; v < g->n; v++)
            fprintf(f, "%lld%c", (long long)(g->node_labels ? g->node_labels[v] : 0), v + 1 < g->n ? ' ' : '\n');
        for (int64_t e = 0; e < g->m; e++)
            fprintf(f, "%lld %lld\n", (long long)g->edges[2 * e], (long long)g->edges[2 * e + 1]);
    }
    return ferror(f) ? SDG_ERROR(SDG_ERR_IO, "write error") : SDG_OK;
}

sdg_status sdg_graph_list_write(const char *path, const sdg_graph_list *gl) {
    sdg_status st = SDG_OK;
    FILE      *f  = NULL;
    if (!path || !gl) return SDG_ERROR(SDG_ERR_INVALID, "sdg_graph_list_write: NULL argument");
    f = fopen(path, "w");
    if (!f) SDG_FAIL(SDG_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
    if ((st = sdg_graph_text_begin(f, gl->count)) != SDG_OK || (st = sdg_graph_text_append(f, gl)) != SDG_OK)
        sdg_error_prefix("%s", path);
cleanup:
    if (f && fclose(f) != 0 && st == SDG_OK) st = SDG_ERROR(SDG_ERR_IO, "%s: write error on close", path);
    return st;
}

const char *sdg_graph_dataset_file(const char *name) {
    static const char *const table[][2] = {
        {"community_small", "graphs/community_small.txt"},
        {"ego_small", "graphs/ego_small.txt"},
        {"grid", "graphs/grid.txt"},
        {"enzymes", "graphs/enzymes_gdss.txt"},
    };
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(name, table[i][0]) == 0) return table[i][1];
    return NULL;
}

sdg_status sdg_graph_dataset_load(const char *data_dir, const char *name, sdg_graph_list **train,
                                  sdg_graph_list **test) {
    sdg_status      st   = SDG_OK;
    sdg_graph_list *all  = NULL, *tr = NULL, *te = NULL;
    size_t         *idx  = NULL;
    char           *path = NULL;
    if (train) *train = NULL;
    if (test) *test = NULL;
    if (!data_dir || !name) SDG_FAIL(SDG_ERR_INVALID, "sdg_graph_dataset_load: NULL argument");
    const char *file = sdg_graph_dataset_file(name);
    if (!file) SDG_FAIL(SDG_ERR_NOTFOUND, "unknown graph dataset '%s' (known: community_small, ego_small, grid, enzymes)", name);
    size_t len = strlen(data_dir) + strlen(file) + 2;
    path = malloc(len);
    if (!path) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    snprintf(path, len, "%s/%s", data_dir, file);
    SDG_TRY(sdg_graph_list_read(path, &all));
    size_t G = all->count, n_test = (size_t)(0.2 * (double)G);   /* GDSS: int(0.2 * len) */
    idx = malloc((G + 1) * sizeof *idx);
    if (!idx) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < G; i++) idx[i] = i;
    if (test) SDG_TRY(sdg_graph_list_select(all, idx, n_test, &te));
    if (train) SDG_TRY(sdg_graph_list_select(all, idx + n_test, G - n_test, &tr));
    if (train) *train = tr;
    if (test) *test = te;
    tr = te = NULL;
cleanup:
    free(path);
    free(idx);
    sdg_graph_list_free(all);
    sdg_graph_list_free(tr);
    sdg_graph_list_free(te);
    return st;
}
