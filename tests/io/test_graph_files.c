/* Graph files (.txt, .graphml, .h5): random graph lists written in chunks read back equal
 * (labels where the format keeps them); the file appears only when complete; bad files fail
 * with one message naming the file and the problem. */
#include <hdf5.h>
#include <unistd.h>
#include "test_util.h"

static char dir[64];

static void tpath(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", dir, name); }

/* G random graphs: sizes 0..12, edge probability 0.3, random labels; graph 0 is empty. */
static sdg_graph_list *random_list(size_t G, uint64_t seed) {
    sdg_graph_list *gl = NULL;
    sdg_rng        *r  = NULL;
    CU_ASSERT_FATAL(sdg_graph_list_new(G, &gl) == SDG_OK && sdg_rng_new(seed, &r) == SDG_OK);
    int64_t edges[2 * 66], labels[12];
    for (size_t i = 0; i < G; i++) {
        int64_t n = i == 0 ? 0 : (int64_t)sdg_rng_uint(r, 13), m = 0;
        for (int64_t u = 0; u < n; u++) {
            labels[u] = (int64_t)sdg_rng_uint(r, 4);
            for (int64_t v = u + 1; v < n; v++)
                if (sdg_rng_uniform(r) < 0.3) {
                    edges[2 * m] = u;
                    edges[2 * m + 1] = v;
                    m++;
                }
        }
        sdg_graph g = {.n = n, .m = m, .label = (int64_t)i % 3 - 1, .edges = edges, .node_labels = labels};
        CU_ASSERT_FATAL(sdg_graph_list_set(gl, i, &g) == SDG_OK);
    }
    sdg_rng_free(r);
    return gl;
}

static int same(const sdg_graph_list *a, const sdg_graph_list *b, bool labels) {
    if (a->count != b->count) return 0;
    for (size_t i = 0; i < a->count; i++) {
        const sdg_graph *x = &a->graphs[i], *y = &b->graphs[i];
        if (x->n != y->n || x->m != y->m) return 0;
        /* edge sets: the reader may reorder edges (GraphML through igraph) */
        for (int64_t e = 0; e < x->m; e++) {
            bool found = false;
            for (int64_t f = 0; f < y->m && !found; f++)
                found = x->edges[2 * e] == y->edges[2 * f] && x->edges[2 * e + 1] == y->edges[2 * f + 1];
            if (!found) return 0;
        }
        if (labels) {
            if (x->label != y->label) return 0;
            for (int64_t v = 0; v < x->n; v++)
                if (x->node_labels[v] != y->node_labels[v]) return 0;
        }
    }
    return 1;
}

static void round_trip(const char *name, bool labels) {
    char path[128], part[140];
    tpath(path, sizeof path, name);
    snprintf(part, sizeof part, "%s.part", path);
    sdg_graph_list *gl = random_list(37, 5), *back = NULL, *chunk = NULL;
    sdg_graph_writer *w = NULL;
    CU_ASSERT_FATAL(sdg_graph_writer_open(path, gl->count, &w) == SDG_OK);
    CU_ASSERT(sdg_graph_writer_note(w, "seed", "17") == SDG_OK);
    CU_ASSERT(sdg_graph_writer_note(w, "sampler", "pc, reverse + langevin, 1000 steps") == SDG_OK);
    CU_ASSERT(sdg_graph_writer_note(w, "bad key", "x") == SDG_ERR_INVALID);
    CU_ASSERT(sdg_graph_writer_note(w, "sdegen_format", "x") == SDG_ERR_INVALID);
    CU_ASSERT(sdg_graph_writer_note(w, "k", "two\nlines") == SDG_ERR_INVALID);
    for (size_t at = 0; at < gl->count; at += 10) {   /* chunks of 10, 10, 10, 7 */
        size_t k = gl->count - at < 10 ? gl->count - at : 10, idx[10];
        for (size_t j = 0; j < k; j++) idx[j] = at + j;
        CU_ASSERT_FATAL(sdg_graph_list_select(gl, idx, k, &chunk) == SDG_OK);
        CU_ASSERT_FATAL(sdg_graph_writer_append(w, chunk) == SDG_OK);
        sdg_graph_list_free(chunk);
        CU_ASSERT(access(path, F_OK) != 0);   /* not published before close */
        CU_ASSERT(access(part, F_OK) == 0);
    }
    sdg_status st = sdg_graph_writer_close(w);
    if (st) printf("\n  %s", sdg_errmsg());
    CU_ASSERT_FATAL(st == SDG_OK);
    CU_ASSERT(access(part, F_OK) != 0);
    if (strstr(name, ".h5")) {   /* notes are root attributes */
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        CU_ASSERT(H5Aexists(f, "seed") > 0 && H5Aexists(f, "sampler") > 0);
        H5Fclose(f);
    } else {                     /* comment lines */
        FILE *f = fopen(path, "r");
        char  line[256];
        int   seen = 0;
        while (f && fgets(line, sizeof line, f))
            seen += strstr(line, "seed: 17") != NULL || strstr(line, "sampler: pc, reverse + langevin") != NULL;
        if (f) fclose(f);
        CU_ASSERT_EQUAL(seen, 2);
    }
    st = sdg_graph_file_read(path, &back);
    if (st) printf("\n  %s", sdg_errmsg());
    CU_ASSERT_FATAL(st == SDG_OK);
    CU_ASSERT(same(gl, back, labels));
    sdg_graph_list_free(back);
    /* an incomplete run stays under .part and is refused on close */
    CU_ASSERT_FATAL(sdg_graph_writer_open(path, gl->count + 1, &w) == SDG_OK);
    CU_ASSERT_FATAL(sdg_graph_writer_append(w, gl) == SDG_OK);
    CU_ASSERT(sdg_graph_writer_note(w, "late", "x") == SDG_ERR_INVALID);
    CU_ASSERT(sdg_graph_writer_close(w) == SDG_ERR_INVALID);
    CU_ASSERT(strstr(sdg_errmsg(), "37 of 38 graphs written") != NULL);
    CU_ASSERT(access(part, F_OK) == 0);
    CU_ASSERT(sdg_graph_file_read(path, &back) == SDG_OK);   /* the old complete file is intact */
    CU_ASSERT(same(gl, back, labels));
    sdg_graph_list_free(back);
    /* more than announced */
    CU_ASSERT_FATAL(sdg_graph_writer_open(path, 3, &w) == SDG_OK);
    CU_ASSERT(sdg_graph_writer_append(w, gl) == SDG_ERR_INVALID);
    sdg_graph_writer_free(w);
    unlink(part);
    unlink(path);
    sdg_graph_list_free(gl);
}

static void test_text(void) { round_trip("g.txt", true); }
static void test_graphml(void) { round_trip("g.graphml", false); }
static void test_h5(void) { round_trip("g.h5", true); }

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void expect_error(const char *path, sdg_status code, const char *needle) {
    sdg_graph_list *gl = NULL;
    sdg_status      st = sdg_graph_file_read(path, &gl);
    CU_ASSERT_EQUAL(st, code);
    CU_ASSERT(gl == NULL);
    if (!strstr(sdg_errmsg(), needle) || !strstr(sdg_errmsg(), path))
        printf("\n  want '%s' in: %s", needle, sdg_errmsg());
    CU_ASSERT(strstr(sdg_errmsg(), needle) != NULL);
    CU_ASSERT(strstr(sdg_errmsg(), path) != NULL);
    CU_ASSERT(strchr(sdg_errmsg(), '\n') == NULL);
}

static const char *graphml_head =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n";

static void test_bad_files(void) {
    char p[128], txt[1024];
    tpath(p, sizeof p, "x.csv");
    expect_error(p, SDG_ERR_INVALID, "unknown graph file extension");
    tpath(p, sizeof p, "missing.txt");
    expect_error(p, SDG_ERR_IO, "cannot");
    tpath(p, sizeof p, "range.txt");
    write_text(p, "1\n3 1 -1\n0 0 0\n0 5\n");
    expect_error(p, SDG_ERR_FORMAT, "line 4");
    tpath(p, sizeof p, "loop.graphml");
    snprintf(txt, sizeof txt, "%s<graph id=\"a\" edgedefault=\"undirected\"><node id=\"x\"/><node id=\"y\"/>"
             "<edge source=\"x\" target=\"y\"/></graph>\n<graph id=\"b\" edgedefault=\"undirected\">"
             "<node id=\"x\"/><edge source=\"x\" target=\"x\"/></graph></graphml>\n", graphml_head);
    write_text(p, txt);
    expect_error(p, SDG_ERR_FORMAT, "graph 1: edge 0 is a self-loop");
    tpath(p, sizeof p, "broken.graphml");
    snprintf(txt, sizeof txt, "%s<graph id=\"a\" edgedefault=\"undirected\"><node id=\"x\"><edge></graph></graphml>\n",
             graphml_head);
    write_text(p, txt);
    expect_error(p, SDG_ERR_FORMAT, "graph 0: not valid GraphML");
    tpath(p, sizeof p, "none.graphml");
    write_text(p, "hello\n");
    expect_error(p, SDG_ERR_FORMAT, "not GraphML");
    /* a directed graph with a reciprocal pair reads as one undirected edge */
    tpath(p, sizeof p, "directed.graphml");
    snprintf(txt, sizeof txt, "%s<graph id=\"a\" edgedefault=\"directed\"><node id=\"x\"/><node id=\"y\"/>"
             "<node id=\"z\"/><edge source=\"x\" target=\"y\"/><edge source=\"y\" target=\"x\"/>"
             "<edge source=\"z\" target=\"y\"/></graph></graphml>\n", graphml_head);
    write_text(p, txt);
    sdg_graph_list *gl = NULL;
    CU_ASSERT_FATAL(sdg_graph_file_read(p, &gl) == SDG_OK);
    CU_ASSERT(gl->count == 1 && gl->graphs[0].n == 3 && gl->graphs[0].m == 2);
    sdg_graph_list_free(gl);
    /* HDF5: not ours, and offsets out of range */
    tpath(p, sizeof p, "foreign.h5");
    hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    expect_error(p, SDG_ERR_FORMAT, "not an sdegen graph file");
    tpath(p, sizeof p, "offsets.h5");
    sdg_graph_list *two = random_list(2, 9);
    sdg_graph_writer *w = NULL;
    CU_ASSERT_FATAL(sdg_graph_writer_open(p, 2, &w) == SDG_OK && sdg_graph_writer_append(w, two) == SDG_OK &&
                    sdg_graph_writer_close(w) == SDG_OK);
    f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = H5Dopen2(f, "edge_offsets", H5P_DEFAULT);
    int64_t bad[3] = {0, 1000, 1001};
    CU_ASSERT(H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, bad) >= 0);
    H5Dclose(d);
    H5Fclose(f);
    expect_error(p, SDG_ERR_FORMAT, "graph 0: edge offsets 0..1000 out of range");
    sdg_graph_list_free(two);
    const char *names[] = {"range.txt", "loop.graphml", "broken.graphml", "none.graphml", "directed.graphml",
                           "foreign.h5", "offsets.h5"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        tpath(p, sizeof p, names[i]);
        unlink(p);
    }
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/sdegen-gf-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    const sdg_test_case cases[] = {
        {"text: chunked round trip, published only when complete", test_text},
        {"GraphML: chunked round trip through igraph", test_graphml},
        {"HDF5: chunked round trip of ragged arrays", test_h5},
        {"bad files: one message naming file and problem", test_bad_files},
        {NULL, NULL},
    };
    int rc = sdg_test_main("io-graph-files", cases);
    rmdir(dir);
    return rc;
}
