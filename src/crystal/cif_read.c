/* CIF 1.1 reader: tokens, data blocks, loops; cell, symmetry operations and atom sites. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "crystal/internal.h"

#define MERGE_TOL 0.01   /* Angstrom: symmetry images closer than this are one site */

typedef enum { TOK_EOF, TOK_DATA, TOK_LOOP, TOK_TAG, TOK_VALUE } tok_kind;

typedef struct lexer {
    const char *p;
    int         line;
    bool        line_start;   /* p is at the first column of a line */
} lexer;

typedef struct token {
    tok_kind    kind;
    const char *s;      /* start (inside the input text)                */
    size_t      len;
    int         line;
    bool        text_field;
} token;

/* One item of a block: a tag with its value(s). Scalars are loops with one row. */
typedef struct item {
    char  *tag;        /* lower case                                     */
    int    loop;       /* loop id, -1 for a scalar                       */
    int    col;        /* column within the loop                         */
} item;

typedef struct block {
    char  *name;
    int    line;
    item  *items;
    size_t n_items, cap_items;
    /* values of all loops: per loop, n_cols and a flat row-major list */
    struct loopv {
        int     n_cols;
        size_t  n_vals, cap_vals;
        char  **vals;
        int    *lines;
    } *loops;
    size_t n_loops, cap_loops;
} block;

static void block_clear(block *b) {
    for (size_t k = 0; k < b->n_items; k++) free(b->items[k].tag);
    for (size_t k = 0; k < b->n_loops; k++) {
        for (size_t v = 0; v < b->loops[k].n_vals; v++) free(b->loops[k].vals[v]);
        free(b->loops[k].vals);
        free(b->loops[k].lines);
    }
    free(b->items);
    free(b->loops);
    free(b->name);
    memset(b, 0, sizeof *b);
}

/* ---- lexer ---- */
static void skip_space(lexer *lx) {
    for (;;) {
        char c = *lx->p;
        if (c == '\n') {
            lx->line++;
            lx->p++;
            lx->line_start = true;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            lx->p++;
            lx->line_start = false;
        } else if (c == '#') {
            while (*lx->p && *lx->p != '\n') lx->p++;
        } else {
            return;
        }
    }
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0'; }

/* Next token; -1 with *err set for an unterminated quote or text field. */
static int lex_next(lexer *lx, token *t, const char **err) {
    skip_space(lx);
    memset(t, 0, sizeof *t);
    t->line = lx->line;
    const char *p = lx->p;
    if (*p == '\0') {
        t->kind = TOK_EOF;
        return 0;
    }
    if (*p == ';' && lx->line_start) {
        /* text field: up to a line that starts with ';' */
        const char *s = p + 1, *q = s;
        int         line = lx->line;
        for (;;) {
            const char *nl = strchr(q, '\n');
            if (!nl) {
                *err = "unterminated ';' text field";
                return -1;
            }
            line++;
            if (nl[1] == ';') {
                t->kind = TOK_VALUE;
                t->s = s;
                t->len = (size_t)(nl - s);
                t->text_field = true;
                lx->p = nl + 2;
                lx->line = line;
                lx->line_start = false;
                return 0;
            }
            q = nl + 1;
        }
    }
    lx->line_start = false;
    if (*p == '\'' || *p == '"') {
        char        qc = *p;
        const char *q  = p + 1;
        for (;; q++) {
            if (*q == '\0' || *q == '\n') {
                *err = "unterminated quoted string";
                return -1;
            }
            if (*q == qc && is_ws(q[1])) break;
        }
        t->kind = TOK_VALUE;
        t->s = p + 1;
        t->len = (size_t)(q - p - 1);
        lx->p = q + 1;
        return 0;
    }
    const char *q = p;
    while (!is_ws(*q)) q++;
    t->s = p;
    t->len = (size_t)(q - p);
    lx->p = q;
    if (*p == '_') t->kind = TOK_TAG;
    else if (t->len >= 5 && strncasecmp(p, "data_", 5) == 0) t->kind = TOK_DATA;
    else if (t->len == 5 && strncasecmp(p, "loop_", 5) == 0) t->kind = TOK_LOOP;
    else if ((t->len >= 5 && strncasecmp(p, "save_", 5) == 0) || (t->len == 7 && strncasecmp(p, "global_", 7) == 0) ||
             (t->len == 5 && strncasecmp(p, "stop_", 5) == 0)) {
        *err = "save frames, global_ and stop_ are not supported (CIF 1.1 data blocks only)";
        return -1;
    } else t->kind = TOK_VALUE;
    return 0;
}

/* ---- block building ---- */
static char *dup_lower(const char *s, size_t n, bool lower) {
    char *r = malloc(n + 1);
    if (!r) return NULL;
    for (size_t k = 0; k < n; k++) r[k] = lower ? (char)tolower((unsigned char)s[k]) : s[k];
    r[n] = '\0';
    return r;
}

static sdg_status add_item(block *b, const token *t, int loop, int col) {
    if (b->n_items == b->cap_items) {
        size_t nc = b->cap_items ? 2 * b->cap_items : 16;
        item  *it = realloc(b->items, nc * sizeof *it);
        if (!it) return SDG_ERROR(SDG_ERR_NOMEM, "CIF: out of memory");
        b->items = it;
        b->cap_items = nc;
    }
    char *tag = dup_lower(t->s, t->len, true);
    if (!tag) return SDG_ERROR(SDG_ERR_NOMEM, "CIF: out of memory");
    b->items[b->n_items++] = (item){tag, loop, col};
    return SDG_OK;
}

static sdg_status new_loop(block *b, int *id) {
    if (b->n_loops == b->cap_loops) {
        size_t        nc = b->cap_loops ? 2 * b->cap_loops : 8;
        struct loopv *l  = realloc(b->loops, nc * sizeof *l);
        if (!l) return SDG_ERROR(SDG_ERR_NOMEM, "CIF: out of memory");
        b->loops = l;
        b->cap_loops = nc;
    }
    memset(&b->loops[b->n_loops], 0, sizeof b->loops[0]);
    *id = (int)b->n_loops++;
    return SDG_OK;
}

static sdg_status add_value(block *b, int loop, const token *t) {
    struct loopv *l = &b->loops[loop];
    if (l->n_vals == l->cap_vals) {
        size_t nc = l->cap_vals ? 2 * l->cap_vals : 16;
        char **v  = realloc(l->vals, nc * sizeof *v);
        int   *ln = realloc(l->lines, nc * sizeof *ln);
        if (v) l->vals = v;
        if (ln) l->lines = ln;
        if (!v || !ln) return SDG_ERROR(SDG_ERR_NOMEM, "CIF: out of memory");
        l->cap_vals = nc;
    }
    char *s = dup_lower(t->s, t->len, false);
    if (!s) return SDG_ERROR(SDG_ERR_NOMEM, "CIF: out of memory");
    l->vals[l->n_vals] = s;
    l->lines[l->n_vals] = t->line;
    l->n_vals++;
    return SDG_OK;
}

static const item *find_item(const block *b, const char *tag) {
    for (size_t k = 0; k < b->n_items; k++)
        if (strcmp(b->items[k].tag, tag) == 0) return &b->items[k];
    return NULL;
}

/* ---- numbers and symmetry operations ---- */
int sdg_cif_number(const char *s, double *v) {
    char buf[64];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, s, n + 1);
    char *par = strchr(buf, '(');
    if (par) {   /* standard uncertainty "(12)" at the end */
        char *q = par + 1;
        while (isdigit((unsigned char)*q)) q++;
        if (q == par + 1 || *q != ')' || q[1] != '\0') return -1;
        *par = '\0';
    }
    char *end = NULL;
    errno = 0;
    double x = strtod(buf, &end);
    if (end == buf || errno) return -1;
    if (*end == '/') {
        char  *e2 = NULL;
        double d  = strtod(end + 1, &e2);
        if (e2 == end + 1 || *e2 != '\0' || d == 0) return -1;
        x /= d;
    } else if (*end != '\0') {
        return -1;
    }
    if (!isfinite(x)) return -1;
    *v = x;
    return 0;
}

/* "x-y+1/2" -> one row of R and t; -1 if malformed. */
static int parse_component(const char *s, size_t n, double r[3], double *t) {
    r[0] = r[1] = r[2] = 0;
    *t = 0;
    size_t k = 0;
    bool any = false;
    while (k < n) {
        while (k < n && s[k] == ' ') k++;
        if (k >= n) break;
        double sign = 1;
        if (s[k] == '+' || s[k] == '-') {
            sign = s[k] == '-' ? -1 : 1;
            k++;
            while (k < n && s[k] == ' ') k++;
        } else if (any) {
            return -1;
        }
        if (k >= n) return -1;
        char c = (char)tolower((unsigned char)s[k]);
        if (c == 'x' || c == 'y' || c == 'z') {
            r[c - 'x'] += sign;
            k++;
        } else if (isdigit((unsigned char)c) || c == '.') {
            char   num[32];
            size_t m = 0;
            while (k < n && m < sizeof num - 1 && (isdigit((unsigned char)s[k]) || s[k] == '.' || s[k] == '/'))
                num[m++] = s[k++];
            num[m] = '\0';
            double v;
            if (sdg_cif_number(num, &v) != 0) return -1;
            if (k < n && s[k] == '*') k++;
            char c2 = k < n ? (char)tolower((unsigned char)s[k]) : '\0';
            if (c2 == 'x' || c2 == 'y' || c2 == 'z') {
                r[c2 - 'x'] += sign * v;
                k++;
            } else {
                *t += sign * v;
            }
        } else {
            return -1;
        }
        any = true;
    }
    return any ? 0 : -1;
}

typedef struct symop {
    double r[9], t[3];
} symop;

static int parse_symop(const char *s, symop *op) {
    const char *p = s;
    for (int d = 0; d < 3; d++) {
        const char *e = strchr(p, ',');
        if ((d < 2) != (e != NULL)) return -1;
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (parse_component(p, n, op->r + 3 * d, &op->t[d]) != 0) return -1;
        p = e ? e + 1 : p + n;
    }
    return 0;
}

/* ---- interpretation of one block ---- */
typedef struct reader {
    const char *source;
    const char *bname;
} reader;

#define BFAIL(line, ...)                                                                      \
    do {                                                                                      \
        st = SDG_ERROR(SDG_ERR_FORMAT, __VA_ARGS__);                                          \
        sdg_error_prefix("%s: block %s (line %d)", rd->source, rd->bname, (line));             \
        goto cleanup;                                                                         \
    } while (0)

static const char *scalar(const block *b, const char *tag, int *line) {
    const item *it = find_item(b, tag);
    if (!it) return NULL;
    const struct loopv *l = &b->loops[it->loop];
    if (l->n_vals == 0) return NULL;
    *line = l->lines[it->col];
    return l->vals[it->col];
}

static sdg_status build_crystal(const reader *rd, const block *b, sdg_crystal **out) {
    sdg_status   st  = SDG_OK;
    sdg_crystal *c   = NULL;
    symop       *ops = NULL;
    size_t       n_ops = 0;
    static const char *const cell_tags[6] = {"_cell_length_a", "_cell_length_b", "_cell_length_c",
                                             "_cell_angle_alpha", "_cell_angle_beta", "_cell_angle_gamma"};
    double p[6], m[9];
    for (int k = 0; k < 6; k++) {
        int         line = b->line;
        const char *v    = scalar(b, cell_tags[k], &line);
        if (!v) BFAIL(b->line, "%s is missing", cell_tags[k]);
        if (sdg_cif_number(v, &p[k]) != 0) BFAIL(line, "%s: '%s' is not a number", cell_tags[k], v);
    }
    if (sdg_lattice_from_params(p, m) != SDG_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", sdg_errmsg());
        BFAIL(b->line, "%s", why);
    }
    SDG_TRY(sdg_crystal_new(m, &c));
    SDG_TRY(sdg_crystal_set_name(c, b->name));

    /* symmetry operations */
    const item *opi = find_item(b, "_symmetry_equiv_pos_as_xyz");
    if (!opi) opi = find_item(b, "_space_group_symop_operation_xyz");
    if (opi) {
        const struct loopv *l = &b->loops[opi->loop];
        size_t rows = l->n_vals / (size_t)l->n_cols;
        ops = calloc(rows ? rows : 1, sizeof *ops);
        if (!ops) SDG_FAIL(SDG_ERR_NOMEM, "CIF: out of memory");
        for (size_t r = 0; r < rows; r++) {
            size_t k = r * (size_t)l->n_cols + (size_t)opi->col;
            if (parse_symop(l->vals[k], &ops[n_ops]) != 0)
                BFAIL(l->lines[k], "symmetry operation '%s' is malformed", l->vals[k]);
            n_ops++;
        }
    } else {
        int         line = b->line;
        const char *hm   = scalar(b, "_symmetry_space_group_name_h-m", &line);
        if (!hm) hm = scalar(b, "_space_group_name_h-m_alt", &line);
        if (hm) {
            char compact[32];
            size_t n = 0;
            for (const char *q = hm; *q && n < sizeof compact - 1; q++)
                if (*q != ' ') compact[n++] = (char)toupper((unsigned char)*q);
            compact[n] = '\0';
            if (strcmp(compact, "P1") != 0)
                BFAIL(line, "space group '%s' is given without a symmetry-operation loop "
                            "(_symmetry_equiv_pos_as_xyz); expand it first", hm);
        }
        ops = calloc(1, sizeof *ops);
        if (!ops) SDG_FAIL(SDG_ERR_NOMEM, "CIF: out of memory");
        ops[0].r[0] = ops[0].r[4] = ops[0].r[8] = 1;
        n_ops = 1;
    }
    bool identity_only = n_ops == 1 && ops[0].r[0] == 1 && ops[0].r[4] == 1 && ops[0].r[8] == 1 &&
                         ops[0].r[1] == 0 && ops[0].r[2] == 0 && ops[0].r[3] == 0 && ops[0].r[5] == 0 &&
                         ops[0].r[6] == 0 && ops[0].r[7] == 0 && ops[0].t[0] == 0 && ops[0].t[1] == 0 &&
                         ops[0].t[2] == 0;

    /* atom sites */
    const item *fx = find_item(b, "_atom_site_fract_x");
    if (!fx) {
        if (find_item(b, "_atom_site_cartn_x"))
            BFAIL(b->line, "only Cartesian coordinates (_atom_site_Cartn_x) given; fractional ones are needed");
        BFAIL(b->line, "no _atom_site_fract_x loop");
    }
    const item *fy = find_item(b, "_atom_site_fract_y"), *fz = find_item(b, "_atom_site_fract_z");
    const item *ty = find_item(b, "_atom_site_type_symbol"), *lb = find_item(b, "_atom_site_label");
    const item *oc = find_item(b, "_atom_site_occupancy");
    if (!fy || !fz || fy->loop != fx->loop || fz->loop != fx->loop)
        BFAIL(b->line, "_atom_site_fract_x/y/z are not in one loop");
    const item *sym = ty && ty->loop == fx->loop ? ty : (lb && lb->loop == fx->loop ? lb : NULL);
    if (!sym) BFAIL(b->line, "the atom-site loop has neither _atom_site_type_symbol nor _atom_site_label");
    if (oc && oc->loop != fx->loop) oc = NULL;
    const struct loopv *l = &b->loops[fx->loop];
    size_t nc = (size_t)l->n_cols, rows = l->n_vals / nc;
    double inv[9];
    (void)sdg_lattice_inverse(m, inv);
    for (size_t r = 0; r < rows; r++) {
        const char *const *v  = (const char *const *)l->vals + r * nc;
        int                ln = l->lines[r * nc];
        int                z;
        if (sdg_crystal_element_number(v[sym->col], &z) != SDG_OK)
            BFAIL(ln, "atom site %zu: unknown element '%s'", r + 1, v[sym->col]);
        double f[3];
        const item *fi[3] = {fx, fy, fz};
        for (int d = 0; d < 3; d++)
            if (sdg_cif_number(v[fi[d]->col], &f[d]) != 0)
                BFAIL(ln, "atom site %zu: fract_%c '%s' is not a number", r + 1, 'x' + d, v[fi[d]->col]);
        if (oc) {
            const char *o = v[oc->col];
            double      occ = 1;
            if (strcmp(o, "?") != 0 && strcmp(o, ".") != 0) {
                if (sdg_cif_number(o, &occ) != 0)
                    BFAIL(ln, "atom site %zu: occupancy '%s' is not a number", r + 1, o);
                if (fabs(occ - 1.0) > 1e-3)
                    BFAIL(ln, "atom site %zu (%s): partial occupancy %s; disordered structures are not supported",
                          r + 1, v[sym->col], o);
            }
        }
        for (size_t k = 0; k < n_ops; k++) {
            double g[3];
            for (int d = 0; d < 3; d++) {
                g[d] = ops[k].r[3 * d] * f[0] + ops[k].r[3 * d + 1] * f[1] + ops[k].r[3 * d + 2] * f[2] + ops[k].t[d];
                if (!identity_only) g[d] = sdg_wrap01(g[d]);
            }
            bool dup = false;
            for (int64_t a = 0; a < c->n_atoms && !dup; a++) {
                double df[3], x[3];
                for (int d = 0; d < 3; d++) {
                    df[d] = g[d] - c->frac[3 * a + d];
                    df[d] -= round(df[d]);
                }
                sdg_lattice_frac_to_cart(m, df, x);
                if (sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]) < MERGE_TOL) {
                    if (c->z[a] != z)
                        BFAIL(ln, "atom site %zu (%s) coincides with a %s site", r + 1, v[sym->col],
                              sdg_crystal_element_symbol(c->z[a]));
                    dup = true;
                }
            }
            if (!dup) SDG_TRY(sdg_crystal_add_site(c, z, g));
        }
    }
    if (c->n_atoms == 0) BFAIL(b->line, "no atom sites");
    *out = c;
    c = NULL;
cleanup:
    free(ops);
    sdg_crystal_free(c);
    return st;
}

static bool block_has_content(const block *b) {
    return find_item(b, "_cell_length_a") || find_item(b, "_atom_site_fract_x") ||
           find_item(b, "_atom_site_cartn_x");
}

sdg_status sdg_crystal_read_cif_string(const char *text, const char *source, sdg_crystal_list **out) {
    return sdg_cif_read_from_line(text, source, 1, out);
}

sdg_status sdg_cif_read_from_line(const char *text, const char *source, int first_line, sdg_crystal_list **out) {
    sdg_status        st = SDG_OK;
    sdg_crystal_list *l  = calloc(1, sizeof *l);
    size_t            cap = 0;
    block             b  = {0};
    bool              in_block = false;
    lexer             lx = {text, first_line, true};
    reader            rd = {source ? source : "CIF", ""};
    if (!l) return SDG_ERROR(SDG_ERR_NOMEM, "CIF: out of memory");
    token t;
    const char *err = NULL;
    int  pending_tag_line = 0;
    bool pending_tag = false;   /* a scalar tag waiting for its value */
    for (;;) {
        if (lex_next(&lx, &t, &err) != 0) {
            st = SDG_ERROR(SDG_ERR_FORMAT, "%s: line %d: %s", rd.source, lx.line, err);
            goto cleanup;
        }
        if (pending_tag && t.kind != TOK_VALUE) {
            st = SDG_ERROR(SDG_ERR_FORMAT, "%s: line %d: tag %s has no value", rd.source, pending_tag_line,
                           b.items[b.n_items - 1].tag);
            goto cleanup;
        }
        if (t.kind == TOK_EOF || t.kind == TOK_DATA) {
            if (in_block && block_has_content(&b)) {
                sdg_crystal *c = NULL;
                rd.bname = b.name;
                SDG_TRY(build_crystal(&rd, &b, &c));
                st = sdg_crystal_list_push(l, c, &cap);
                if (st != SDG_OK) {
                    sdg_crystal_free(c);
                    goto cleanup;
                }
            }
            block_clear(&b);
            if (t.kind == TOK_EOF) break;
            b.name = dup_lower(t.s + 5, t.len - 5, false);
            if (!b.name) SDG_FAIL(SDG_ERR_NOMEM, "CIF: out of memory");
            b.line = t.line;
            in_block = true;
            continue;
        }
        if (!in_block)
            SDG_FAIL(SDG_ERR_FORMAT, "%s: line %d: content before the first data_ block", rd.source, t.line);
        if (t.kind == TOK_TAG) {
            int id = 0;
            SDG_TRY(new_loop(&b, &id));
            b.loops[id].n_cols = 1;
            SDG_TRY(add_item(&b, &t, id, 0));
            pending_tag = true;
            pending_tag_line = t.line;
            continue;
        }
        if (t.kind == TOK_VALUE) {
            if (!pending_tag)
                SDG_FAIL(SDG_ERR_FORMAT, "%s: line %d: value '%.*s' without a tag", rd.source, t.line,
                         (int)(t.len > 40 ? 40 : t.len), t.s);
            SDG_TRY(add_value(&b, b.items[b.n_items - 1].loop, &t));
            pending_tag = false;
            continue;
        }
        /* loop_: tags, then values until the next tag, loop_, data_ or end */
        int id = 0, loop_line = t.line;
        SDG_TRY(new_loop(&b, &id));
        lexer save = lx;
        for (;;) {
            save = lx;
            if (lex_next(&lx, &t, &err) != 0) {
                st = SDG_ERROR(SDG_ERR_FORMAT, "%s: line %d: %s", rd.source, lx.line, err);
                goto cleanup;
            }
            if (t.kind != TOK_TAG) break;
            SDG_TRY(add_item(&b, &t, id, b.loops[id].n_cols++));
        }
        if (b.loops[id].n_cols == 0)
            SDG_FAIL(SDG_ERR_FORMAT, "%s: line %d: loop_ without tags", rd.source, loop_line);
        while (t.kind == TOK_VALUE) {
            SDG_TRY(add_value(&b, id, &t));
            save = lx;
            if (lex_next(&lx, &t, &err) != 0) {
                st = SDG_ERROR(SDG_ERR_FORMAT, "%s: line %d: %s", rd.source, lx.line, err);
                goto cleanup;
            }
        }
        lx = save;   /* the token that ended the loop is read again */
        if (b.loops[id].n_vals % (size_t)b.loops[id].n_cols != 0)
            SDG_FAIL(SDG_ERR_FORMAT, "%s: line %d: loop has %zu values, not a multiple of its %d tags",
                     rd.source, loop_line, b.loops[id].n_vals, b.loops[id].n_cols);
    }
    if (l->count == 0) SDG_FAIL(SDG_ERR_FORMAT, "%s: no data block with a crystal structure", rd.source);
    *out = l;
    l = NULL;
cleanup:
    block_clear(&b);
    sdg_crystal_list_free(l);
    return st;
}

sdg_status sdg_crystal_read_cif_file(const char *path, sdg_crystal_list **out) {
    sdg_status st  = SDG_OK;
    char      *buf = NULL;
    FILE      *f   = fopen(path, "rb");
    if (!f) return SDG_ERROR(SDG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) SDG_FAIL(SDG_ERR_IO, "%s: cannot seek", path);
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) SDG_FAIL(SDG_ERR_IO, "%s: cannot read its size", path);
    buf = malloc((size_t)n + 1);
    if (!buf) SDG_FAIL(SDG_ERR_NOMEM, "%s: out of memory", path);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) SDG_FAIL(SDG_ERR_IO, "%s: read error", path);
    buf[n] = '\0';
    if (memchr(buf, '\0', (size_t)n)) SDG_FAIL(SDG_ERR_FORMAT, "%s: not a text file (NUL byte)", path);
    st = sdg_crystal_read_cif_string(buf, path, out);
cleanup:
    free(buf);
    fclose(f);
    return st;
}
