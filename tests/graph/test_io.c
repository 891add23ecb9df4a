/* graph: graph-list files (strict reader, writer round trip), validation, isolate removal,
 * dense samples -> graphs (GDSS rule). No shared data needed. */
#include <stdint.h>
#include <unistd.h>
#include "test_util.h"

static char tmpdir[256];

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

/* A bad file must fail with `code`, and the message must name the file, the line and the
 * problem (substring). */
static void expect_bad(const char *name, const char *text, sdg_status code, int line, const char *problem) {
    char path[512], want_line[32];
    snprintf(path, sizeof path, "%s/%s.txt", tmpdir, name);
    write_file(path, text);
    sdg_graph_list *gl = NULL;
    sdg_status      st = sdg_graph_list_read(path, &gl);
    CU_ASSERT_EQUAL(st, code);
    CU_ASSERT_PTR_NULL(gl);
    const char *msg = sdg_errmsg();
    snprintf(want_line, sizeof want_line, "line %d:", line);
    bool ok = strstr(msg, path) && strstr(msg, want_line) && strstr(msg, problem);
    if (!ok) printf("\n  %s: got '%s' (want %s / %s)\n", name, msg, want_line, problem);
    CU_ASSERT(ok);
    sdg_graph_list_free(gl);
    unlink(path);
}

static void test_malformed(void) {
    /* header comment + 1 graph of 3 nodes: the good file, for reference */
    const char *good = "# c\n1\n3 2 -1\n0 0 0\n0 1\n1 2\n";
    char path[512];
    snprintf(path, sizeof path, "%s/good.txt", tmpdir);
    write_file(path, good);
    sdg_graph_list *gl = NULL;
    CU_ASSERT_FATAL(sdg_graph_list_read(path, &gl) == SDG_OK);
    CU_ASSERT_EQUAL(gl->count, 1);
    CU_ASSERT_EQUAL(gl->graphs[0].n, 3);
    CU_ASSERT_EQUAL(gl->graphs[0].m, 2);
    sdg_graph_list_free(gl);
    unlink(path);

    expect_bad("empty", "# only a comment\n", SDG_ERR_FORMAT, 2, "empty file");
    expect_bad("neg_g", "-2\n", SDG_ERR_FORMAT, 1, "bad number of graphs");
    expect_bad("nonnum_g", "two\n", SDG_ERR_FORMAT, 1, "non-numeric token 'two'");
    expect_bad("bad_m", "1\n3 4 -1\n0 0 0\n0 1\n0 2\n1 2\n0 1\n", SDG_ERR_FORMAT, 2, "edge count 4 impossible");
    expect_bad("neg_n", "1\n-3 0 -1\n", SDG_ERR_FORMAT, 2, "negative node count");
    expect_bad("short_nmy", "1\n3 2\n0 0 0\n0 1\n1 2\n", SDG_ERR_FORMAT, 2, "missing graph label");
    expect_bad("range", "1\n3 2 -1\n0 0 0\n0 1\n1 3\n", SDG_ERR_FORMAT, 5, "outside 0..2");
    expect_bad("negid", "1\n3 2 -1\n0 0 0\n0 1\n-1 2\n", SDG_ERR_FORMAT, 5, "outside 0..2");
    expect_bad("order", "1\n3 2 -1\n0 0 0\n0 1\n2 1\n", SDG_ERR_FORMAT, 5, "u >= v");
    expect_bad("loop", "1\n3 2 -1\n0 0 0\n0 1\n1 1\n", SDG_ERR_FORMAT, 5, "self-loop");
    expect_bad("dup", "1\n3 3 -1\n0 0 0\n0 1\n1 2\n0 1\n", SDG_ERR_FORMAT, 6, "duplicate edge (0, 1), first given on line 4");
    expect_bad("trunc_edges", "1\n3 2 -1\n0 0 0\n0 1\n", SDG_ERR_FORMAT, 5, "truncated file");
    expect_bad("trunc_graphs", "2\n2 1 -1\n0 0\n0 1\n", SDG_ERR_FORMAT, 5, "truncated file");
    expect_bad("trunc_labels", "1\n3 0 -1\n", SDG_ERR_FORMAT, 3, "node-label line");
    expect_bad("few_labels", "1\n3 0 -1\n0 0\n", SDG_ERR_FORMAT, 3, "missing label of node 2");
    expect_bad("many_labels", "1\n3 0 -1\n0 0 0 0\n", SDG_ERR_FORMAT, 3, "extra tokens");
    expect_bad("nonnum_edge", "1\n3 1 -1\n0 0 0\n0 x1\n", SDG_ERR_FORMAT, 4, "non-numeric token 'x1'");
    expect_bad("trailing_junk", "1\n3 1 -1\n0 0 0\n0 1z\n", SDG_ERR_FORMAT, 4, "non-numeric token '1z'");
    expect_bad("extra_tokens", "1\n3 1 -1\n0 0 0\n0 1 2\n", SDG_ERR_FORMAT, 4, "extra tokens");
    expect_bad("extra_graph", "1\n2 1 -1\n0 0\n0 1\n2 0 -1\n", SDG_ERR_FORMAT, 5, "extra content");
    expect_bad("huge", "1\n99999999999999999999 0 -1\n", SDG_ERR_FORMAT, 2, "out of range");
    /* a missing file is an I/O error naming the file */
    char missing[512];
    snprintf(missing, sizeof missing, "%s/none.txt", tmpdir);
    CU_ASSERT_EQUAL(sdg_graph_list_read(missing, &gl), SDG_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), missing));
}

static void test_roundtrip(void) {
    sdg_graph_list *gl = NULL, *back = NULL;
    CU_ASSERT_FATAL(sdg_graph_list_new(3, &gl) == SDG_OK);
    int64_t e0[] = {0, 1, 1, 2, 0, 3}, l0[] = {1, 2, 3, 1};
    int64_t e2[] = {0, 4};
    sdg_graph g0 = {.n = 4, .m = 3, .label = 5, .edges = e0, .node_labels = l0};
    sdg_graph g2 = {.n = 5, .m = 1, .label = -1, .edges = e2, .node_labels = NULL};
    CU_ASSERT(sdg_graph_list_set(gl, 0, &g0) == SDG_OK);
    CU_ASSERT(sdg_graph_list_set(gl, 2, &g2) == SDG_OK);   /* slot 1 stays the empty graph */
    char path[512];
    snprintf(path, sizeof path, "%s/rt.txt", tmpdir);
    CU_ASSERT_FATAL(sdg_graph_list_write(path, gl) == SDG_OK);
    CU_ASSERT_FATAL(sdg_graph_list_read(path, &back) == SDG_OK);
    CU_ASSERT_EQUAL_FATAL(back->count, 3);
    for (size_t i = 0; i < 3; i++) {
        const sdg_graph *a = &gl->graphs[i], *b = &back->graphs[i];
        CU_ASSERT_EQUAL(a->n, b->n);
        CU_ASSERT_EQUAL(a->m, b->m);
        CU_ASSERT_EQUAL(a->label, b->label);
        if (a->m) CU_ASSERT(memcmp(a->edges, b->edges, (size_t)a->m * 2 * sizeof(int64_t)) == 0);
        if (a->n) CU_ASSERT(memcmp(a->node_labels, b->node_labels, (size_t)a->n * sizeof(int64_t)) == 0);
    }
    unlink(path);
    /* write to an unwritable place */
    CU_ASSERT_EQUAL(sdg_graph_list_write("/nonexistent-dir/x.txt", gl), SDG_ERR_IO);
    sdg_graph_list_free(back);
    sdg_graph_list_free(gl);
    sdg_graph_list_free(NULL);
}

static void test_set_validation(void) {
    sdg_graph_list *gl = NULL;
    CU_ASSERT_FATAL(sdg_graph_list_new(1, &gl) == SDG_OK);
    int64_t loop[] = {1, 1}, rev[] = {2, 1}, out[] = {0, 3}, dup[] = {0, 1, 0, 1};
    sdg_graph g = {.n = 3, .m = 1, .label = -1, .edges = loop};
    CU_ASSERT_EQUAL(sdg_graph_list_set(gl, 0, &g), SDG_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "self-loop"));
    g.edges = rev;
    CU_ASSERT_EQUAL(sdg_graph_list_set(gl, 0, &g), SDG_ERR_INVALID);
    g.edges = out;
    CU_ASSERT_EQUAL(sdg_graph_list_set(gl, 0, &g), SDG_ERR_INVALID);
    g.edges = dup;
    g.m     = 2;
    CU_ASSERT_EQUAL(sdg_graph_list_set(gl, 0, &g), SDG_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "duplicate edge (0, 1)"));
    CU_ASSERT_EQUAL(sdg_graph_list_set(gl, 1, &g), SDG_ERR_INVALID);
    CU_ASSERT_EQUAL(gl->graphs[0].n, 0);   /* failures leave the slot untouched */
    sdg_graph_list_free(gl);
}

static void test_drop_isolated_and_dense(void) {
    /* 6 nodes: edges (1,3), (3,5); nodes 0, 2, 4 isolated -> 3 nodes 0-1-2 */
    sdg_graph_list *gl = NULL, *c = NULL;
    CU_ASSERT_FATAL(sdg_graph_list_new(2, &gl) == SDG_OK);
    int64_t e[] = {1, 3, 3, 5}, lab[] = {9, 8, 7, 6, 5, 4};
    sdg_graph g = {.n = 6, .m = 2, .label = 2, .edges = e, .node_labels = lab};
    CU_ASSERT(sdg_graph_list_set(gl, 0, &g) == SDG_OK);
    sdg_graph empty = {.n = 4, .m = 0, .label = -1};
    CU_ASSERT(sdg_graph_list_set(gl, 1, &empty) == SDG_OK);
    CU_ASSERT_FATAL(sdg_graph_list_drop_isolated(gl, &c) == SDG_OK);
    CU_ASSERT_EQUAL(c->graphs[0].n, 3);
    CU_ASSERT_EQUAL(c->graphs[0].m, 2);
    CU_ASSERT_EQUAL(c->graphs[0].label, 2);
    int64_t want_e[] = {0, 1, 1, 2}, want_l[] = {8, 6, 4};
    CU_ASSERT(memcmp(c->graphs[0].edges, want_e, sizeof want_e) == 0);
    CU_ASSERT(memcmp(c->graphs[0].node_labels, want_l, sizeof want_l) == 0);
    CU_ASSERT_EQUAL(c->graphs[1].n, 1);    /* empty graph -> one node */
    CU_ASSERT_EQUAL(c->graphs[1].m, 0);
    sdg_graph_list_free(c);
    sdg_graph_list_free(gl);

    /* dense (B=3, N=4): threshold 0.5 inclusive, self-loops ignored, asymmetric entries OR-ed,
     * flags mask nodes, isolated nodes dropped, empty -> one node */
    float A[3 * 16] = {0};
    float *a0 = A, *a1 = A + 16, *a2 = A + 32;
    a0[0 * 4 + 0] = 1.0f;                           /* self-loop: dropped            */
    a0[0 * 4 + 2] = a0[2 * 4 + 0] = 0.5f;           /* edge (0,2): exactly 0.5       */
    a0[1 * 4 + 3] = a0[3 * 4 + 1] = 0.4999f;        /* no edge                       */
    a0[2 * 4 + 3] = 0.7f;                           /* one entry only: edge (2,3)    */
    a1[0 * 4 + 1] = a1[1 * 4 + 0] = 0.9f;           /* edge (0,1) but node 1 flagged off */
    a1[2 * 4 + 3] = a1[3 * 4 + 2] = 1.0f;           /* edge (2,3)                    */
    a2[1 * 4 + 1] = 2.0f;                           /* only a self-loop: empty graph */
    float flags[12] = {1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1};
    sdg_graph_list *d = NULL;
    CU_ASSERT_FATAL(sdg_graph_list_from_dense(A, flags, 3, 4, &d) == SDG_OK);
    CU_ASSERT_EQUAL_FATAL(d->count, 3);
    /* graph 0: nodes 0, 2, 3 remain (1 isolated): edges (0,1), (1,2) after re-indexing */
    CU_ASSERT_EQUAL(d->graphs[0].n, 3);
    CU_ASSERT_EQUAL(d->graphs[0].m, 2);
    int64_t w0[] = {0, 1, 1, 2};
    CU_ASSERT(memcmp(d->graphs[0].edges, w0, sizeof w0) == 0);
    CU_ASSERT_EQUAL(d->graphs[1].n, 2);
    CU_ASSERT_EQUAL(d->graphs[1].m, 1);
    CU_ASSERT_EQUAL(d->graphs[2].n, 1);
    CU_ASSERT_EQUAL(d->graphs[2].m, 0);
    sdg_graph_list_free(d);
    /* without flags node 1 of graph 1 is present */
    CU_ASSERT_FATAL(sdg_graph_list_from_dense(A, NULL, 3, 4, &d) == SDG_OK);
    CU_ASSERT_EQUAL(d->graphs[1].n, 4);
    CU_ASSERT_EQUAL(d->graphs[1].m, 2);
    sdg_graph_list_free(d);
}

static void test_select(void) {
    sdg_graph_list *gl = NULL, *s = NULL;
    CU_ASSERT_FATAL(sdg_graph_list_new(3, &gl) == SDG_OK);
    for (int i = 0; i < 3; i++) {
        sdg_graph g = {.n = i + 1, .m = 0, .label = i};
        CU_ASSERT(sdg_graph_list_set(gl, (size_t)i, &g) == SDG_OK);
    }
    size_t idx[] = {2, 0, 2};
    CU_ASSERT_FATAL(sdg_graph_list_select(gl, idx, 3, &s) == SDG_OK);
    CU_ASSERT_EQUAL(s->graphs[0].n, 3);
    CU_ASSERT_EQUAL(s->graphs[1].label, 0);
    CU_ASSERT_EQUAL(s->graphs[2].label, 2);
    sdg_graph_list_free(s);
    size_t bad[] = {3};
    CU_ASSERT_EQUAL(sdg_graph_list_select(gl, bad, 1, &s), SDG_ERR_INVALID);
    CU_ASSERT_PTR_NULL(s);
    sdg_graph_list_free(gl);
    CU_ASSERT_PTR_NULL(sdg_graph_dataset_file("nope"));
    CU_ASSERT_STRING_EQUAL(sdg_graph_dataset_file("enzymes"), "graphs/enzymes_gdss.txt");
    sdg_graph_list *tr = NULL;
    CU_ASSERT_EQUAL(sdg_graph_dataset_load("/tmp", "nope", &tr, NULL), SDG_ERR_NOTFOUND);
}

/* Mutation robustness (a poor man's fuzzer, meaningful under ASan): 1500 random corruptions
 * of a valid file (byte replaced, deleted, duplicated, file truncated) must each either read
 * correctly-formed graphs or fail with SDG_ERR_FORMAT naming the file; never crash or leak. */
static void test_mutations(void) {
    const char *base = "# x\n3\n4 3 2\n1 2 3 1\n0 1\n1 2\n2 3\n1 0 -1\n0\n3 3 -1\n0 0 0\n0 1\n0 2\n1 2\n";
    const char  alphabet[] = "0123456789 -\n#x+";
    size_t      len = strlen(base);
    char        buf[256], path[512];
    snprintf(path, sizeof path, "%s/mut.txt", tmpdir);
    sdg_rng *r = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(5, &r) == SDG_OK);
    int ok = 0, fmt = 0, other = 0, invalid = 0;
    for (int t = 0; t < 1500; t++) {
        memcpy(buf, base, len + 1);
        size_t n = len;
        int    edits = 1 + (int)sdg_rng_uint(r, 3);
        for (int k = 0; k < edits && n > 1; k++) {
            size_t at = (size_t)sdg_rng_uint(r, n);
            switch (sdg_rng_uint(r, 4)) {
            case 0: buf[at] = alphabet[sdg_rng_uint(r, sizeof alphabet - 1)]; break;
            case 1: memmove(buf + at, buf + at + 1, n - at); n--; break;
            case 2: if (n + 1 < sizeof buf) { memmove(buf + at + 1, buf + at, n - at + 1); n++; } break;
            default: buf[at] = '\0'; n = at; break;
            }
        }
        write_file(path, buf);
        sdg_graph_list *gl = NULL;
        sdg_status      st = sdg_graph_list_read(path, &gl);
        if (st == SDG_OK) {
            ok++;
            for (size_t i = 0; i < gl->count; i++)
                for (int64_t e = 0; e < gl->graphs[i].m; e++)
                    invalid += !(gl->graphs[i].edges[2 * e] < gl->graphs[i].edges[2 * e + 1] &&
                                 gl->graphs[i].edges[2 * e + 1] < gl->graphs[i].n);
        } else if (st == SDG_ERR_FORMAT && strstr(sdg_errmsg(), path) && strstr(sdg_errmsg(), ": line ")) {
            fmt++;
        } else {
            other++;
            if (other < 3) printf("\n  unexpected status %d: %s", (int)st, sdg_errmsg());
        }
        sdg_graph_list_free(gl);
    }
    printf("\n  1500 mutated files: %d read, %d rejected with file and line", ok, fmt);
    CU_ASSERT_EQUAL(other, 0);
    CU_ASSERT_EQUAL(invalid, 0);
    CU_ASSERT(fmt > 1000);
    unlink(path);
    sdg_rng_free(r);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sdg-graph-io-XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    const sdg_test_case cases[] = {
        {"malformed files: one message naming file, line, problem", test_malformed},
        {"write/read round trip", test_roundtrip},
        {"sdg_graph_list_set validation", test_set_validation},
        {"drop isolated nodes; dense -> graphs (GDSS rule)", test_drop_isolated_and_dense},
        {"select; dataset names", test_select},
        {"1500 mutated files: OK or a FORMAT error, never a crash", test_mutations},
        {NULL, NULL},
    };
    int rc = sdg_test_main("graph-io", cases);
    rmdir(tmpdir);
    return rc;
}
