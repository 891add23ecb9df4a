/* SDF (V2000) writing and reading, in C: the output is byte-stable (no timestamp) and read
 * errors name the record and the line. Aromatic bonds read as type 4 are kekulised by the shim. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "molecule/internal.h"
#include "molecule/obabel.h"

/* ---- a growing string ---- */
typedef struct sbuf { char *s; size_t n, cap; bool oom; } sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) { b->oom = true; return; }
        if (b->s && b->n + (size_t)k < b->cap) { b->n += (size_t)k; return; }
        size_t cap = b->cap ? 2 * b->cap : 1024;
        while (cap < b->n + (size_t)k + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) { b->oom = true; return; }
        b->s = s;
        b->cap = cap;
    }
}

sdg_status sdg_mol_to_molblock(const sdg_mol *m, char **out) {
    if (!m || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_to_molblock: NULL argument");
    if (m->n_atoms > 999 || m->n_bonds > 999)
        return SDG_ERROR(SDG_ERR_INVALID, "%lld atoms / %lld bonds: V2000 holds at most 999 of each",
                         (long long)m->n_atoms, (long long)m->n_bonds);
    sbuf b = {0};
    int dim = m->coords ? m->dim : 0;
    /* header: title (one line), program line, comment */
    const char *name = m->name ? m->name : "";
    size_t nl = strcspn(name, "\r\n");
    sb_printf(&b, "%.*s\n  sdegen      %s\n\n", (int)(nl > 80 ? 80 : nl), name, dim == 3 ? "3D" : "2D");
    sb_printf(&b, "%3lld%3lld  0  0  0  0  0  0  0  0999 V2000\n", (long long)m->n_atoms,
              (long long)m->n_bonds);
    for (int64_t i = 0; i < m->n_atoms; i++) {
        double x = dim ? m->coords[3 * i] : 0, y = dim ? m->coords[3 * i + 1] : 0,
               z = dim ? m->coords[3 * i + 2] : 0;
        const char *s = sdg_element_symbol(m->atoms[i].z);
        sb_printf(&b, "%10.4f%10.4f%10.4f %-3s 0  0  0  0  0  0  0  0  0  0  0  0\n", x, y, z,
                  s ? s : "*");
    }
    for (int64_t k = 0; k < m->n_bonds; k++)
        sb_printf(&b, "%3d%3d%3d  0\n", m->bonds[k].i + 1, m->bonds[k].j + 1, m->bonds[k].order);
    /* charges: "M  CHG" lines of up to 8 entries */
    int64_t nc = 0;
    for (int64_t i = 0; i < m->n_atoms; i++) nc += m->atoms[i].charge != 0;
    for (int64_t i = 0, done = 0; done < nc; done += 8) {
        int64_t k = nc - done < 8 ? nc - done : 8;
        sb_printf(&b, "M  CHG%3lld", (long long)k);
        for (int64_t w = 0; w < k; i++)
            if (m->atoms[i].charge != 0) {
                sb_printf(&b, " %3lld %3d", (long long)i + 1, m->atoms[i].charge);
                w++;
            }
        sb_printf(&b, "\n");
    }
    sb_printf(&b, "M  END\n");
    if (b.oom) {
        free(b.s);
        return SDG_ERROR(SDG_ERR_NOMEM, "sdg_mol_to_molblock: out of memory");
    }
    *out = b.s;
    return SDG_OK;
}

sdg_status sdg_mol_write_sdf(FILE *f, const sdg_mol *m, const sdg_mol_field *fields, size_t n) {
    sdg_status st = SDG_OK;
    char *block = NULL;
    if (!f || !m || (n && !fields)) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_write_sdf: NULL argument");
    for (size_t k = 0; k < n; k++)
        if (!fields[k].name || !fields[k].value || strpbrk(fields[k].name, "<>\r\n"))
            return SDG_ERROR(SDG_ERR_INVALID, "data field %zu: missing name or value, or a name "
                                              "holding '<', '>' or a newline", k);
    SDG_TRY(sdg_mol_to_molblock(m, &block));
    if (fputs(block, f) == EOF) SDG_FAIL(SDG_ERR_IO, "SDF write failed: %s", strerror(errno));
    for (size_t k = 0; k < n; k++) {
        const char *v = fields[k].value;
        size_t len = strlen(v);
        while (len && (v[len - 1] == '\n' || v[len - 1] == '\r')) len--;
        if (fprintf(f, "> <%s>\n%.*s\n\n", fields[k].name, (int)len, v) < 0)
            SDG_FAIL(SDG_ERR_IO, "SDF write failed: %s", strerror(errno));
    }
    if (fputs("$$$$\n", f) == EOF) SDG_FAIL(SDG_ERR_IO, "SDF write failed: %s", strerror(errno));
cleanup:
    free(block);
    return st;
}

void sdg_mol_list_free(sdg_mol_list *l) {
    if (!l) return;
    for (size_t k = 0; k < l->count; k++) sdg_mol_free(l->mols[k]);
    free(l->mols);
    free(l);
}

sdg_status sdg_mol_list_push(sdg_mol_list *l, size_t *cap, sdg_mol *m) {
    if (l->count == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        sdg_mol **p = realloc(l->mols, c * sizeof *p);
        if (!p) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
        l->mols = p;
        *cap = c;
    }
    l->mols[l->count++] = m;
    return SDG_OK;
}

/* ---- reading ---- */
typedef struct reader {
    FILE  *f;
    char  *line;
    size_t cap;
    long   lineno;
} reader;

/* Next line without its end-of-line; false at end of file. */
static bool next_line(reader *r) {
    ssize_t k = getline(&r->line, &r->cap, r->f);
    if (k < 0) return false;
    while (k > 0 && (r->line[k - 1] == '\n' || r->line[k - 1] == '\r')) r->line[--k] = '\0';
    r->lineno++;
    return true;
}

/* Integer in columns [a, a + w) (0-based) of a fixed-width line; blank = 0. */
static bool field_int(const char *s, size_t a, size_t w, long *v) {
    size_t len = strlen(s);
    char buf[16] = {0};
    if (a >= len) { *v = 0; return true; }
    size_t k = len - a < w ? len - a : w;
    memcpy(buf, s + a, k);
    char *p = buf;
    while (*p == ' ') p++;
    if (!*p) { *v = 0; return true; }
    char *end;
    *v = strtol(p, &end, 10);
    while (*end == ' ') end++;
    return *end == '\0';
}

static bool field_double(const char *s, size_t a, size_t w, double *v) {
    char buf[32] = {0};
    if (strlen(s) < a + w) return false;
    memcpy(buf, s + a, w);
    char *end;
    *v = strtod(buf, &end);
    while (*end == ' ') end++;
    return end != buf && *end == '\0';
}

#define RFAIL(...)                                                                            \
    do {                                                                                      \
        st = SDG_ERROR(SDG_ERR_FORMAT, __VA_ARGS__);                                          \
        sdg_error_prefix("%s: record %zu (line %ld)", path, rec, r.lineno);                  \
        goto cleanup;                                                                         \
    } while (0)

sdg_status sdg_mol_list_read_sdf(const char *path, sdg_mol_list **out) {
    sdg_status st = SDG_OK;
    reader r = {0};
    sdg_mol_list *l = NULL;
    sdg_mol *m = NULL;
    size_t rec = 0, cap = 0;
    if (!path || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_list_read_sdf: NULL argument");
    r.f = fopen(path, "r");
    if (!r.f) return SDG_ERROR(SDG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    l = calloc(1, sizeof *l);
    if (!l) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    while (next_line(&r)) {
        rec++;
        /* header: the title line just read, program line, comment line */
        SDG_TRY(sdg_mol_new(&m));
        if (r.line[0]) SDG_TRY(sdg_mol_set_name(m, r.line));
        for (int k = 0; k < 2; k++)
            if (!next_line(&r)) RFAIL("truncated header (3 lines expected)");
        if (!next_line(&r)) RFAIL("missing counts line");
        long na, nb;
        if (strstr(r.line, "V3000")) RFAIL("V3000 molfiles are not supported (V2000 only)");
        if (!field_int(r.line, 0, 3, &na) || !field_int(r.line, 3, 3, &nb) || na < 0 || nb < 0 ||
            !strstr(r.line, "V2000"))
            RFAIL("not a V2000 counts line: '%.60s'", r.line);
        bool aromatic = false;
        int hdim = 0;
        m->coords = calloc(na ? 3 * (size_t)na : 3, sizeof *m->coords);
        if (!m->coords) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
        m->dim = 3;
        for (long i = 0; i < na; i++) {
            if (!next_line(&r)) RFAIL("truncated atom block (%ld of %ld atoms)", i, na);
            double x, y, z;
            if (!field_double(r.line, 0, 10, &x) || !field_double(r.line, 10, 10, &y) ||
                !field_double(r.line, 20, 10, &z))
                RFAIL("bad atom line (coordinates): '%.60s'", r.line);
            char sym[4] = {0};
            size_t len = strlen(r.line);
            if (len > 31) memcpy(sym, r.line + 31, len - 31 < 3 ? len - 31 : 3);
            for (int k = 2; k >= 0 && (sym[k] == ' ' || sym[k] == '\0'); k--) sym[k] = '\0';
            int Z;
            if (sdg_element_number(sym, &Z) != SDG_OK) {
                if (strcmp(sym, "D") == 0 || strcmp(sym, "T") == 0) Z = 1;
                else RFAIL("atom %ld: unknown element '%s'", i + 1, sym);
            }
            long ccode = 0;
            if (len > 36 && !field_int(r.line, 36, 3, &ccode)) RFAIL("atom %ld: bad charge field", i + 1);
            int charge = (ccode >= 1 && ccode <= 7 && ccode != 4) ? (int)(4 - ccode) : 0;
            int64_t idx;
            SDG_TRY(sdg_mol_add_atom(m, Z, charge, &idx));
            m->coords[3 * idx] = x;
            m->coords[3 * idx + 1] = y;
            m->coords[3 * idx + 2] = z;
            if (z != 0) hdim = 3;
        }
        for (long k = 0; k < nb; k++) {
            if (!next_line(&r)) RFAIL("truncated bond block (%ld of %ld bonds)", k, nb);
            long i, j, t;
            if (!field_int(r.line, 0, 3, &i) || !field_int(r.line, 3, 3, &j) ||
                !field_int(r.line, 6, 3, &t))
                RFAIL("bad bond line: '%.60s'", r.line);
            if (i < 1 || j < 1 || i > na || j > na || i == j)
                RFAIL("bond %ld: atoms %ld-%ld out of range 1..%ld", k + 1, i, j, na);
            if (t < 1 || t > 4) RFAIL("bond %ld: type %ld not supported (1, 2, 3, 4)", k + 1, t);
            if (sdg_mol_add_bond(m, i - 1, j - 1, t == 4 ? 1 : (int)t) != SDG_OK)
                RFAIL("bond %ld: %s", k + 1, sdg_errmsg());
            if (t == 4) {
                m->bonds[m->n_bonds - 1].aromatic = true;
                aromatic = true;
            }
        }
        /* properties up to M  END (M  CHG replaces the atom-block charges) */
        bool chg_seen = false, ended = false;
        while (next_line(&r)) {
            if (strncmp(r.line, "M  END", 6) == 0) { ended = true; break; }
            if (strncmp(r.line, "$$$$", 4) == 0) break;
            if (strncmp(r.line, "M  CHG", 6) == 0) {
                if (!chg_seen)
                    for (int64_t i = 0; i < m->n_atoms; i++) m->atoms[i].charge = 0;
                chg_seen = true;
                long cnt;
                if (!field_int(r.line, 6, 3, &cnt) || cnt < 1 || cnt > 8) RFAIL("bad M  CHG line");
                for (long e = 0; e < cnt; e++) {
                    long a, c;
                    if (!field_int(r.line, 9 + 8 * e, 4, &a) || !field_int(r.line, 13 + 8 * e, 4, &c) ||
                        a < 1 || a > na)
                        RFAIL("bad M  CHG entry %ld", e + 1);
                    m->atoms[a - 1].charge = (int32_t)c;
                }
            }
        }
        if (!ended) RFAIL("record has no 'M  END' line");
        /* data items up to $$$$ */
        bool closed = false;
        while (next_line(&r))
            if (strncmp(r.line, "$$$$", 4) == 0) { closed = true; break; }
        if (!closed) RFAIL("record is not closed by '$$$$'");
        m->dim = hdim ? 3 : 2;
        if (aromatic) {
            /* implicit H of atoms in aromatic bonds: one of their aromatic bonds is double */
            for (int64_t i = 0; i < m->n_atoms; i++) {
                int v = 0, narom = 0;
                for (int64_t k = 0; k < m->n_bonds; k++)
                    if (m->bonds[k].i == i || m->bonds[k].j == i) {
                        if (m->bonds[k].aromatic) narom++;
                        else v += m->bonds[k].order;
                    }
                if (!narom) continue;
                m->atoms[i].hcount = 0;
                const int *list;
                int nl = sdg_mol_default_valences(m->atoms[i].z - m->atoms[i].charge, &list);
                for (int q = 0; q < nl; q++)
                    if (list[q] >= v + narom + 1) { m->atoms[i].hcount = list[q] - (v + narom + 1); break; }
            }
            if (sdg_ob_kekulize(m) != SDG_OK) RFAIL("%s", sdg_errmsg());
        }
        SDG_TRY(sdg_mol_list_push(l, &cap, m));
        m = NULL;
    }
    if (ferror(r.f)) SDG_FAIL(SDG_ERR_IO, "%s: read error", path);
    *out = l;
    l = NULL;
cleanup:
    if (r.f) fclose(r.f);
    free(r.line);
    sdg_mol_free(m);
    sdg_mol_list_free(l);
    return st;
}

sdg_status sdg_mol_list_read_sdf_fields(const char *path, const char *const *names, size_t k, double **values,
                                        size_t *count) {
    sdg_status st = SDG_OK;
    reader r = {0};
    double *v = NULL;
    size_t n = 0, cap = 0;
    int want = -1;   /* field whose value the next line holds */
    bool open = false;
    if (!path || (k && !names) || !values || !count)
        return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_list_read_sdf_fields: NULL argument");
    *values = NULL, *count = 0;
    r.f = fopen(path, "r");
    if (!r.f) return SDG_ERROR(SDG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    while (next_line(&r)) {
        if (!open) {   /* a record starts: one more row of NaN */
            if (n == cap) {
                size_t nc = cap ? 2 * cap : 64;
                double *nv = realloc(v, nc * (k ? k : 1) * sizeof *v);
                if (!nv) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
                v = nv, cap = nc;
            }
            for (size_t j = 0; j < k; j++) v[n * k + j] = NAN;
            n++, open = true;
        }
        if (strncmp(r.line, "$$$$", 4) == 0) { open = false, want = -1; continue; }
        if (want >= 0) {
            char *end;
            double x = strtod(r.line, &end);
            while (*end == ' ') end++;
            if (end != r.line && *end == '\0') v[(n - 1) * k + (size_t)want] = x;
            want = -1;
            continue;
        }
        if (r.line[0] != '>') continue;
        for (size_t j = 0; j < k; j++) {   /* "> <name>", "> 12 <name>", ">  <name> (3)" */
            const char *lt = strchr(r.line, '<'), *gt = lt ? strchr(lt, '>') : NULL;
            if (gt && (size_t)(gt - lt - 1) == strlen(names[j]) && strncmp(lt + 1, names[j], strlen(names[j])) == 0)
                want = (int)j;
        }
    }
    if (ferror(r.f)) SDG_FAIL(SDG_ERR_IO, "%s: read error", path);
    if (open) n--;   /* text after the last $$$$ is not a record */
    *values = v, *count = n;
    v = NULL;
cleanup:
    fclose(r.f);
    free(r.line);
    free(v);
    return st;
}
