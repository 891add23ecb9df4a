/* GraphML through igraph: many graphs in one document (one <graph> element each), streamed.
 * igraph writes and parses one graph per document, so the writer takes the <graph> element of
 * igraph's output for each graph, and the reader cuts the document into one-graph documents
 * (the shared prolog and <key> declarations + one <graph> element) and parses each. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <igraph.h>
#include "graph/internal.h"

/* igraph's GraphML text for g (malloc'ed, NUL-terminated). */
static sdg_status igraph_text(const sdg_graph *g, char **out) {
    sdg_status          st  = SDG_OK;
    igraph_t            ig;
    igraph_vector_int_t ev;
    bool                made = false, vec = false;
    char               *buf = NULL;
    size_t              len = 0;
    FILE               *mf  = NULL;
    *out = NULL;
    if (igraph_vector_int_init(&ev, 2 * g->m)) SDG_FAIL(SDG_ERR_NOMEM, "igraph: out of memory");
    vec = true;
    for (int64_t k = 0; k < 2 * g->m; k++) VECTOR(ev)[k] = (igraph_integer_t)g->edges[k];
    if (igraph_create(&ig, &ev, (igraph_integer_t)g->n, IGRAPH_UNDIRECTED))
        SDG_FAIL(SDG_ERR_DEPENDENCY, "igraph cannot build a graph of %lld nodes", (long long)g->n);
    made = true;
    mf = open_memstream(&buf, &len);
    if (!mf) SDG_FAIL(SDG_ERR_NOMEM, "out of memory for a GraphML buffer");
    igraph_error_t rc = igraph_write_graph_graphml(&ig, mf, false);
    if (fclose(mf) != 0 || rc) SDG_FAIL(SDG_ERR_DEPENDENCY, "igraph cannot write GraphML: %s", igraph_strerror(rc));
    mf   = NULL;
    *out = buf;
    buf  = NULL;
cleanup:
    free(buf);
    if (made) igraph_destroy(&ig);
    if (vec) igraph_vector_int_destroy(&ev);
    return st;
}

/* Start of the first <graph> element at or after s (not <graphml>), or NULL. */
static const char *find_graph_open(const char *s) {
    for (const char *p = strstr(s, "<graph"); p; p = strstr(p + 1, "<graph")) {
        char c = p[6];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '>' || c == '/') return p;
    }
    return NULL;
}

sdg_status sdg_graph_graphml_begin(FILE *f) {
    sdg_status st = SDG_OK;
    char      *txt = NULL;
    SDG_TRY(igraph_text(&(sdg_graph){.n = 0}, &txt));
    const char *g = find_graph_open(txt);
    if (!g) SDG_FAIL(SDG_ERR_DEPENDENCY, "igraph's GraphML output has no <graph> element");
    fwrite(txt, 1, (size_t)(g - txt), f);
    if (ferror(f)) SDG_FAIL(SDG_ERR_IO, "write error");
cleanup:
    free(txt);
    return st;
}

sdg_status sdg_graph_graphml_append(FILE *f, const sdg_graph_list *gl, size_t first_id) {
    sdg_status st  = SDG_OK;
    char      *txt = NULL;
    for (size_t i = 0; i < gl->count; i++) {
        SDG_TRY(igraph_text(&gl->graphs[i], &txt));
        const char *g = find_graph_open(txt), *end = g ? strstr(g, "</graph>") : NULL;
        const char *id = g ? strstr(g, "id=\"G\"") : NULL;
        if (!g || !end || !id || id > end)
            SDG_FAIL(SDG_ERR_DEPENDENCY, "unexpected GraphML from igraph for graph %zu", first_id + i);
        fwrite(g, 1, (size_t)(id - g), f);
        fprintf(f, "id=\"G%zu\"", first_id + i);
        const char *rest = id + strlen("id=\"G\"");
        fwrite(rest, 1, (size_t)(end - rest) + strlen("</graph>"), f);
        fputc('\n', f);
        free(txt);
        txt = NULL;
        if (ferror(f)) SDG_FAIL(SDG_ERR_IO, "write error");
    }
cleanup:
    free(txt);
    return st;
}

sdg_status sdg_graph_graphml_end(FILE *f) {
    fputs("</graphml>\n", f);
    return ferror(f) ? SDG_ERROR(SDG_ERR_IO, "write error") : SDG_OK;
}

/* ---- reading ---- */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char  *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            cap = 2 * cap + 65536 + 1;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    buf[n] = '\0';
    *len   = n;
    return buf;
}

/* Parses one single-graph document doc (len bytes) into slot k of gl. */
static sdg_status parse_one(const char *doc, size_t len, sdg_graph_list *gl, size_t k) {
    sdg_status          st = SDG_OK;
    igraph_t            ig;
    igraph_vector_int_t ev;
    bool                made = false, vec = false;
    int64_t            *edges = NULL;
    FILE               *mf = fmemopen((void *)doc, len, "r");
    if (!mf) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    igraph_error_t rc = igraph_read_graph_graphml(&ig, mf, 0);
    if (rc) SDG_FAIL(SDG_ERR_FORMAT, "graph %zu: not valid GraphML (igraph: %s)", k, igraph_strerror(rc));
    made = true;
    if (igraph_is_directed(&ig) && igraph_to_undirected(&ig, IGRAPH_TO_UNDIRECTED_COLLAPSE, NULL))
        SDG_FAIL(SDG_ERR_DEPENDENCY, "graph %zu: igraph cannot make it undirected", k);
    if (igraph_vector_int_init(&ev, 0) || igraph_get_edgelist(&ig, &ev, false))
        SDG_FAIL(SDG_ERR_NOMEM, "graph %zu: out of memory", k);
    vec = true;
    int64_t m = (int64_t)igraph_ecount(&ig);
    edges = malloc((size_t)(2 * m + 1) * sizeof *edges);
    if (!edges) SDG_FAIL(SDG_ERR_NOMEM, "graph %zu: out of memory", k);
    for (int64_t e = 0; e < m; e++) {
        int64_t u = VECTOR(ev)[2 * e], v = VECTOR(ev)[2 * e + 1];
        edges[2 * e]     = u < v ? u : v;
        edges[2 * e + 1] = u < v ? v : u;
    }
    sdg_graph g = {.n = (int64_t)igraph_vcount(&ig), .m = m, .label = -1, .edges = edges};
    st = sdg_graph_list_set(gl, k, &g);   /* refuses self-loops and repeated edges, naming them */
    if (st != SDG_OK) {   /* a bad graph in a file is a format error */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", sdg_errmsg());
        st = SDG_ERROR(SDG_ERR_FORMAT, "%s", msg);
    }
cleanup:
    fclose(mf);
    free(edges);
    if (vec) igraph_vector_int_destroy(&ev);
    if (made) igraph_destroy(&ig);
    return st;
}

sdg_status sdg_graph_list_read_graphml(const char *path, sdg_graph_list **out) {
    sdg_status      st  = SDG_OK;
    sdg_graph_list *gl  = NULL;
    char           *txt = NULL, *doc = NULL;
    size_t          len = 0, count = 0;
    if (!path || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_graph_list_read_graphml: NULL argument");
    *out = NULL;
    txt  = slurp(path, &len);
    if (!txt) SDG_FAIL(SDG_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    const char *first = find_graph_open(txt);
    if (!first || !strstr(txt, "<graphml")) SDG_FAIL(SDG_ERR_FORMAT, "%s: not GraphML (no <graphml> with a <graph> element)", path);
    for (const char *p = first; p; p = find_graph_open(p + 1)) count++;
    const char *close_tag = "</graphml>\n";
    size_t      prolog    = (size_t)(first - txt);
    doc = malloc(len + strlen(close_tag) + 1);
    if (!doc) SDG_FAIL(SDG_ERR_NOMEM, "%s: out of memory", path);
    memcpy(doc, txt, prolog);
    SDG_TRY(sdg_graph_list_new(count, &gl));
    const char *p = first;
    for (size_t k = 0; k < count; k++) {
        const char *end = strstr(p, "</graph>");
        const char *next = find_graph_open(p + 1);
        if (!end || (next && next < end)) {
            /* an empty element <graph .../> has no closing tag */
            const char *gt = strchr(p, '>');
            if (!gt || gt[-1] != '/') SDG_FAIL(SDG_ERR_FORMAT, "%s: graph %zu has no </graph>", path, k);
            end = gt + 1 - strlen("</graph>");
        }
        size_t glen = (size_t)(end + strlen("</graph>") - p);
        memcpy(doc + prolog, p, glen);
        memcpy(doc + prolog + glen, close_tag, strlen(close_tag) + 1);
        if ((st = parse_one(doc, prolog + glen + strlen(close_tag), gl, k)) != SDG_OK) {
            sdg_error_prefix("%s", path);
            goto cleanup;
        }
        p = next;
    }
    *out = gl;
    gl   = NULL;
cleanup:
    free(txt);
    free(doc);
    sdg_graph_list_free(gl);
    return st;
}
