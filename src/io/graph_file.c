/* Graph files by extension (.txt, .graphml, .h5): a streaming writer that only publishes a
 * complete file, and a reader. The HDF5 layout "sdegen-graphs" version 1:
 *   /                 attributes sdegen_format, sdegen_format_version, sdegen_version
 *   /num_nodes        int64 (G)          nodes of graph g
 *   /edge_offsets     int64 (G + 1)      edges of graph g are rows edge_offsets[g] .. [g+1]-1
 *   /edges            int64 (E, 2)       (u, v) with u < v, node ids local to their graph
 *   /node_labels      int64 (sum n)      node labels of graph g from sum_{h<g} num_nodes[h]
 *   /graph_labels     int64 (G)          -1 = none
 * Datasets are chunked and extendible, so graphs are appended as they come. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/internal.h"

#define SDG_GRAPHS_FORMAT         "sdegen-graphs"
#define SDG_GRAPHS_FORMAT_VERSION 1

typedef enum gf_kind { GF_TEXT, GF_GRAPHML, GF_H5 } gf_kind;

static bool ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcmp(s + n - k, suf) == 0;
}

static sdg_status kind_of(const char *path, gf_kind *k) {
    if (ends_with(path, ".txt")) *k = GF_TEXT;
    else if (ends_with(path, ".graphml")) *k = GF_GRAPHML;
    else if (ends_with(path, ".h5")) *k = GF_H5;
    else return SDG_ERROR(SDG_ERR_INVALID, "%s: unknown graph file extension (use .txt, .graphml or .h5)", path);
    return SDG_OK;
}

/* ---- HDF5 datasets grown along the first dimension (h5util.c) ---- */
enum { H5_NUM_NODES, H5_EDGE_OFFSETS, H5_EDGES, H5_NODE_LABELS, H5_GRAPH_LABELS, H5_NSETS };
static const char *const h5_names[H5_NSETS] = {"num_nodes", "edge_offsets", "edges", "node_labels", "graph_labels"};

static sdg_status h5_create_grow(hid_t file, const char *name, int cols, hid_t *out) {
    return h5_grow_create(file, name, H5T_STD_I64LE, cols, cols == 2 ? 32768 : 65536, out);
}

static sdg_status h5_append(hid_t d, const char *name, int cols, hsize_t *have, const int64_t *v, hsize_t rows) {
    return h5_grow_append(d, name, H5T_NATIVE_INT64, cols, have, v, rows);
}

/* ---- writer ---- */
struct sdg_graph_writer {
    gf_kind kind;
    char   *path, *part;
    size_t  total, done;
    FILE   *f;                     /* text, GraphML */
    hid_t   file, d[H5_NSETS];     /* HDF5 */
    hsize_t rows[H5_NSETS];
    int64_t edges_so_far;
};

static sdg_status writer_h5_open(sdg_graph_writer *w) {
    sdg_status st = SDG_OK;
    w->file = H5Fcreate(w->part, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (w->file < 0) H5_FAIL(SDG_ERR_IO, "cannot create");
    SDG_TRY(attr_write_str(w->file, "sdegen_format", SDG_GRAPHS_FORMAT));
    SDG_TRY(attr_write_i64(w->file, "sdegen_format_version", SDG_GRAPHS_FORMAT_VERSION));
    SDG_TRY(attr_write_str(w->file, "sdegen_version", sdg_version()));
    for (int k = 0; k < H5_NSETS; k++) SDG_TRY(h5_create_grow(w->file, h5_names[k], k == H5_EDGES ? 2 : 1, &w->d[k]));
    int64_t zero = 0;
    SDG_TRY(h5_append(w->d[H5_EDGE_OFFSETS], "edge_offsets", 1, &w->rows[H5_EDGE_OFFSETS], &zero, 1));
cleanup:
    return st;
}

static sdg_status writer_h5_append(sdg_graph_writer *w, const sdg_graph_list *gl) {
    sdg_status st = SDG_OK;
    size_t     G = gl->count, nodes = 0, edges = 0;
    for (size_t i = 0; i < G; i++) {
        nodes += (size_t)gl->graphs[i].n;
        edges += (size_t)gl->graphs[i].m;
    }
    int64_t *nn = malloc((G + 1) * sizeof *nn), *off = malloc((G + 1) * sizeof *off), *gy = malloc((G + 1) * sizeof *gy);
    int64_t *ev = malloc((2 * edges + 1) * sizeof *ev), *nl = malloc((nodes + 1) * sizeof *nl);
    if (!nn || !off || !gy || !ev || !nl) SDG_FAIL(SDG_ERR_NOMEM, "out of memory for %zu graphs", G);
    size_t ke = 0, kn = 0;
    for (size_t i = 0; i < G; i++) {
        const sdg_graph *g = &gl->graphs[i];
        nn[i] = g->n;
        gy[i] = g->label;
        if (g->m > 0) memcpy(ev + 2 * ke, g->edges, (size_t)(2 * g->m) * sizeof *ev);
        ke += (size_t)g->m;
        for (int64_t v = 0; v < g->n; v++) nl[kn++] = g->node_labels ? g->node_labels[v] : 0;
        off[i] = w->edges_so_far + (int64_t)ke;
    }
    SDG_TRY(h5_append(w->d[H5_NUM_NODES], "num_nodes", 1, &w->rows[H5_NUM_NODES], nn, G));
    SDG_TRY(h5_append(w->d[H5_EDGE_OFFSETS], "edge_offsets", 1, &w->rows[H5_EDGE_OFFSETS], off, G));
    SDG_TRY(h5_append(w->d[H5_EDGES], "edges", 2, &w->rows[H5_EDGES], ev, edges));
    SDG_TRY(h5_append(w->d[H5_NODE_LABELS], "node_labels", 1, &w->rows[H5_NODE_LABELS], nl, nodes));
    SDG_TRY(h5_append(w->d[H5_GRAPH_LABELS], "graph_labels", 1, &w->rows[H5_GRAPH_LABELS], gy, G));
    w->edges_so_far += (int64_t)edges;
    if (H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0) H5_FAIL(SDG_ERR_IO, "cannot flush");
cleanup:
    free(nn);
    free(off);
    free(gy);
    free(ev);
    free(nl);
    return st;
}

static void writer_release(sdg_graph_writer *w) {
    if (w->f) fclose(w->f);
    for (int k = 0; k < H5_NSETS; k++) h5_close(w->d[k]);
    h5_close(w->file);
    free(w->path);
    free(w->part);
    free(w);
}

void sdg_graph_writer_free(sdg_graph_writer *w) {
    if (w) writer_release(w);
}

sdg_status sdg_graph_writer_open(const char *path, size_t total, sdg_graph_writer **out) {
    sdg_status        st = SDG_OK;
    sdg_graph_writer *w  = NULL;
    if (!path || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_graph_writer_open: NULL argument");
    *out = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    w = calloc(1, sizeof *w);
    if (!w) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    w->file = H5_NONE;
    for (int k = 0; k < H5_NSETS; k++) w->d[k] = H5_NONE;
    w->total = total;
    SDG_TRY(kind_of(path, &w->kind));
    w->path = strdup(path);
    w->part = malloc(strlen(path) + 6);
    if (!w->path || !w->part) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    sprintf(w->part, "%s.part", path);
    if (w->kind == GF_H5) {
        if ((st = writer_h5_open(w)) != SDG_OK) goto prefixed;
    } else {
        w->f = fopen(w->part, "w");
        if (!w->f) SDG_FAIL(SDG_ERR_IO, "%s: cannot open for writing: %s", w->part, strerror(errno));
        st = w->kind == GF_TEXT ? sdg_graph_text_begin(w->f, total) : sdg_graph_graphml_begin(w->f);
        if (st != SDG_OK) goto prefixed;
    }
    *out = w;
    return SDG_OK;
prefixed:
    sdg_error_prefix("%s", w->part);
cleanup:
    writer_release(w);
    return st;
}

sdg_status sdg_graph_writer_note(sdg_graph_writer *w, const char *key, const char *value) {
    if (!w || !key || !value) return SDG_ERROR(SDG_ERR_INVALID, "sdg_graph_writer_note: NULL argument");
    if (w->done > 0) return SDG_ERROR(SDG_ERR_INVALID, "%s: notes must come before the graphs", w->part);
    bool ok = *key != '\0' && strcmp(key, "sdegen_format") != 0 && strcmp(key, "sdegen_format_version") != 0 &&
              strcmp(key, "sdegen_version") != 0;
    for (const char *c = key; *c; c++)
        ok = ok && ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '.');
    if (!ok) return SDG_ERROR(SDG_ERR_INVALID, "%s: note key '%s' is reserved or not [A-Za-z0-9_.]+", w->part, key);
    if (strchr(value, '\n') || (w->kind == GF_GRAPHML && strstr(value, "--")))
        return SDG_ERROR(SDG_ERR_INVALID, "%s: note '%s' holds a newline%s", w->part, key,
                         w->kind == GF_GRAPHML ? " or \"--\"" : "");
    sdg_status st = SDG_OK;
    if (w->kind == GF_H5) st = attr_write_str(w->file, key, value);
    else if (w->kind == GF_TEXT) fprintf(w->f, "# %s: %s\n", key, value);
    else fprintf(w->f, "<!-- %s: %s -->\n", key, value);
    if (st == SDG_OK && w->f && ferror(w->f)) st = SDG_ERROR(SDG_ERR_IO, "write error");
    if (st != SDG_OK) sdg_error_prefix("%s", w->part);
    return st;
}

sdg_status sdg_graph_writer_append(sdg_graph_writer *w, const sdg_graph_list *gl) {
    sdg_status st = SDG_OK;
    if (!w || !gl) return SDG_ERROR(SDG_ERR_INVALID, "sdg_graph_writer_append: NULL argument");
    if (w->done + gl->count > w->total)
        return SDG_ERROR(SDG_ERR_INVALID, "%s: %zu graphs appended, more than the %zu announced", w->part,
                         w->done + gl->count, w->total);
    if (w->kind == GF_H5) st = writer_h5_append(w, gl);
    else if (w->kind == GF_TEXT) st = sdg_graph_text_append(w->f, gl);
    else st = sdg_graph_graphml_append(w->f, gl, w->done);
    if (st == SDG_OK && w->f && fflush(w->f) != 0) st = SDG_ERROR(SDG_ERR_IO, "write error: %s", strerror(errno));
    if (st != SDG_OK) {
        sdg_error_prefix("%s", w->part);
        return st;
    }
    w->done += gl->count;
    return SDG_OK;
}

sdg_status sdg_graph_writer_close(sdg_graph_writer *w) {
    sdg_status st = SDG_OK;
    if (!w) return SDG_ERROR(SDG_ERR_INVALID, "sdg_graph_writer_close: NULL writer");
    if (w->done != w->total)
        SDG_FAIL(SDG_ERR_INVALID, "%s: %zu of %zu graphs written; the file stays incomplete", w->part, w->done,
                 w->total);
    if (w->kind == GF_GRAPHML && (st = sdg_graph_graphml_end(w->f)) != SDG_OK) {
        sdg_error_prefix("%s", w->part);
        goto cleanup;
    }
    if (w->f) {
        int rc = fclose(w->f);
        w->f   = NULL;
        if (rc != 0) SDG_FAIL(SDG_ERR_IO, "%s: write error on close: %s", w->part, strerror(errno));
    } else {
        for (int k = 0; k < H5_NSETS; k++) {
            h5_close(w->d[k]);
            w->d[k] = H5_NONE;
        }
        herr_t rc = H5Fclose(w->file);
        w->file   = H5_NONE;
        if (rc < 0) H5_FAIL(SDG_ERR_IO, "%s: cannot finish writing", w->part);
    }
    if (rename(w->part, w->path) != 0)
        SDG_FAIL(SDG_ERR_IO, "cannot rename %s to %s: %s", w->part, w->path, strerror(errno));
cleanup:
    writer_release(w);
    return st;
}

/* ---- reading ---- */
static sdg_status read_h5(const char *path, sdg_graph_list **out) {
    sdg_status      st   = SDG_OK;
    hid_t           file = H5_NONE;
    int64_t        *v[H5_NSETS] = {0};
    hsize_t         n[H5_NSETS] = {0};
    sdg_graph_list *gl = NULL;
    SDG_TRY(h5_open_format(path, SDG_GRAPHS_FORMAT, SDG_GRAPHS_FORMAT_VERSION, "sdegen graph file", &file));
    for (int k = 0; k < H5_NSETS; k++) SDG_TRY(h5_read_i64(file, h5_names[k], k == H5_EDGES ? 2 : 1, &n[k], &v[k]));
    hsize_t G = n[H5_NUM_NODES];
    if (n[H5_EDGE_OFFSETS] != G + 1 || n[H5_GRAPH_LABELS] != G)
        SDG_FAIL(SDG_ERR_FORMAT, "/edge_offsets has %llu entries and /graph_labels %llu for %llu graphs",
                 (unsigned long long)n[H5_EDGE_OFFSETS], (unsigned long long)n[H5_GRAPH_LABELS], (unsigned long long)G);
    SDG_TRY(sdg_graph_list_new((size_t)G, &gl));
    int64_t node0 = 0;
    for (hsize_t g = 0; g < G; g++) {
        int64_t nv = v[H5_NUM_NODES][g], e0 = v[H5_EDGE_OFFSETS][g], e1 = v[H5_EDGE_OFFSETS][g + 1];
        if (nv < 0 || node0 + nv > (int64_t)n[H5_NODE_LABELS])
            SDG_FAIL(SDG_ERR_FORMAT, "graph %llu: node count %lld does not fit /node_labels", (unsigned long long)g, (long long)nv);
        if (e0 < 0 || e1 < e0 || e1 > (int64_t)n[H5_EDGES])
            SDG_FAIL(SDG_ERR_FORMAT, "graph %llu: edge offsets %lld..%lld out of range (%llu edges)", (unsigned long long)g,
                     (long long)e0, (long long)e1, (unsigned long long)n[H5_EDGES]);
        sdg_graph gr = {.n = nv, .m = e1 - e0, .label = v[H5_GRAPH_LABELS][g], .edges = v[H5_EDGES] + 2 * e0,
                        .node_labels = v[H5_NODE_LABELS] + node0};
        if (sdg_graph_list_set(gl, (size_t)g, &gr) != SDG_OK) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", sdg_errmsg());
            SDG_FAIL(SDG_ERR_FORMAT, "%s", msg);
        }
        node0 += nv;
    }
    *out = gl;
    gl   = NULL;
cleanup:
    for (int k = 0; k < H5_NSETS; k++) free(v[k]);
    h5_close(file);
    sdg_graph_list_free(gl);
    return st;
}

sdg_status sdg_graph_file_read(const char *path, sdg_graph_list **out) {
    sdg_status st = SDG_OK;
    gf_kind    k;
    if (!path || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_graph_file_read: NULL argument");
    *out = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    SDG_TRY(kind_of(path, &k));
    if (k == GF_TEXT) return sdg_graph_list_read(path, out);
    if (k == GF_GRAPHML) return sdg_graph_list_read_graphml(path, out);
    if ((st = read_h5(path, out)) != SDG_OK) sdg_error_prefix("%s", path);
cleanup:
    return st;
}
