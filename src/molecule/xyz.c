/* Multi-frame XYZ reading (plain and extended XYZ): atoms and coordinates, no bonds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "molecule/internal.h"

#define XFAIL(...)                                                                            \
    do {                                                                                      \
        st = SDG_ERROR(SDG_ERR_FORMAT, __VA_ARGS__);                                          \
        sdg_error_prefix("%s: frame %zu (line %ld)", path, frame, lineno);                   \
        goto cleanup;                                                                         \
    } while (0)

/* Title of a frame: the value of a mol_id= tag when there is one, else the whole line. */
static sdg_status set_title(sdg_mol *m, const char *line) {
    const char *t = strstr(line, "mol_id=");
    if (!t) return sdg_mol_set_name(m, line[0] ? line : NULL);
    t += 7;
    char buf[128];
    size_t k = strcspn(t, " \t\"");
    if (k >= sizeof buf) k = sizeof buf - 1;
    memcpy(buf, t, k);
    buf[k] = '\0';
    return sdg_mol_set_name(m, buf);
}

sdg_status sdg_mol_list_read_xyz(const char *path, sdg_mol_list **out) {
    sdg_status st = SDG_OK;
    FILE *f = NULL;
    char *line = NULL;
    size_t lcap = 0, frame = 0, cap = 0;
    long lineno = 0;
    sdg_mol_list *l = NULL;
    sdg_mol *m = NULL;
    if (!path || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_list_read_xyz: NULL argument");
    f = fopen(path, "r");
    if (!f) return SDG_ERROR(SDG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    l = calloc(1, sizeof *l);
    if (!l) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    ssize_t k;
    while ((k = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r')) line[--k] = '\0';
        if (strspn(line, " \t") == (size_t)k) continue;   /* blank lines between frames */
        frame++;
        char *end;
        long na = strtol(line, &end, 10);
        while (*end == ' ' || *end == '\t') end++;
        if (end == line || *end || na < 0 || na > 100000) XFAIL("bad atom-count line '%.60s'", line);
        SDG_TRY(sdg_mol_new(&m));
        m->coords = calloc(na ? 3 * (size_t)na : 3, sizeof *m->coords);
        if (!m->coords) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
        m->dim = 3;
        if ((k = getline(&line, &lcap, f)) < 0) XFAIL("missing comment line");
        lineno++;
        while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r')) line[--k] = '\0';
        SDG_TRY(set_title(m, line));
        for (long i = 0; i < na; i++) {
            if ((k = getline(&line, &lcap, f)) < 0) XFAIL("truncated: %ld of %ld atoms", i, na);
            lineno++;
            char sym[8];
            double x[3];
            int used = 0;
            if (sscanf(line, " %7s %lf %lf %lf%n", sym, &x[0], &x[1], &x[2], &used) != 4)
                XFAIL("atom %ld: expected 'El x y z', got '%.60s'", i + 1, line);
            int z;
            if (sdg_element_number(sym, &z) != SDG_OK) {
                char *e;
                long zz = strtol(sym, &e, 10);   /* atomic numbers are accepted too */
                if (*e || zz < 1 || zz > 118) XFAIL("atom %ld: unknown element '%s'", i + 1, sym);
                z = (int)zz;
            }
            int64_t idx;
            SDG_TRY(sdg_mol_add_atom(m, z, 0, &idx));
            memcpy(m->coords + 3 * idx, x, sizeof x);
        }
        SDG_TRY(sdg_mol_list_push(l, &cap, m));
        m = NULL;
    }
    if (ferror(f)) SDG_FAIL(SDG_ERR_IO, "%s: read error", path);
    *out = l;
    l = NULL;
cleanup:
    if (f) fclose(f);
    free(line);
    sdg_mol_free(m);
    sdg_mol_list_free(l);
    return st;
}
