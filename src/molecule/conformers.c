/* More QM9 conformers (molecule.h "more QM9 conformers"; docs/molecules3d.md "Building more
 * conformers"): which valued QM9 molecules lack 3-D coordinates, the build of one of them
 * through the module's own 3-D path, and the resumable cache file the records go to. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "molecule/internal.h"

void sdg_qm9_todo_free(sdg_qm9_todo *t) {
    if (!t) return;
    for (size_t i = 0; t->smiles && i < t->count; i++) free(t->smiles[i]);
    free(t->smiles);
    free(t->gdb);
    free(t->propmolflow_a);
    free(t);
}

/* Marks have[k] for every record title gdb_k of a molecule list read from path. */
static sdg_status mark_titles(const char *path, const sdg_mol_list *l, bool *have) {
    for (size_t r = 0; r < l->count; r++) {
        int64_t g = sdg_qm9_gdb_index(l->mols[r]->name);
        if (g < 1 || g > SDG_QM9_ROWS)
            return SDG_ERROR(SDG_ERR_FORMAT, "%s: record %zu: title '%s' is not gdb_k with k in 1..%d", path, r + 1,
                             l->mols[r]->name ? l->mols[r]->name : "", SDG_QM9_ROWS);
        have[g] = true;
    }
    return SDG_OK;
}

/* SMILES of the rows flagged in want (gdb k -> todo slot + 1) from qm9_smiles.csv. */
static sdg_status read_smiles(const char *path, const int64_t *want, sdg_qm9_todo *t) {
    sdg_status st = SDG_OK;
    char *line = NULL;
    size_t cap = 0, found = 0;
    long lineno = 0;
    FILE *f = fopen(path, "r");
    if (!f) return SDG_ERROR(SDG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (lineno == 1) {
            if (strcmp(line, "smiles") != 0) SDG_FAIL(SDG_ERR_FORMAT, "%s: line 1: header is not 'smiles'", path);
            continue;
        }
        int64_t g = lineno - 1;   /* row g - 1 (0-based) is gdb_g */
        if (g > SDG_QM9_ROWS) SDG_FAIL(SDG_ERR_FORMAT, "%s: line %ld: more than %d rows", path, lineno, SDG_QM9_ROWS);
        if (!want[g]) continue;
        if (!line[0] || strpbrk(line, " \t,"))
            SDG_FAIL(SDG_ERR_FORMAT, "%s: line %ld: '%s' is not one SMILES", path, lineno, line);
        size_t slot = (size_t)want[g] - 1;
        t->smiles[slot] = strdup(line);
        if (!t->smiles[slot]) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
        found++;
    }
    if (found != t->count)
        SDG_FAIL(SDG_ERR_FORMAT, "%s: ends at line %ld, before every needed row (%zu of %zu found)", path, lineno, found,
                 t->count);
cleanup:
    fclose(f);
    free(line);
    return st;
}

/* Marks flag[k] for the molecules listed in qm9_uncharacterized.txt: its table lines begin with
 * the 1-based index k followed by three SMILES and a number; the prose and rule lines do not. */
static sdg_status read_uncharacterized(const char *path, bool *flag) {
    sdg_status st = SDG_OK;
    char *line = NULL;
    size_t cap = 0, n = 0;
    long lineno = 0;
    FILE *f = fopen(path, "r");
    if (!f) return SDG_ERROR(SDG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *p = line, *end = NULL;
        while (*p == ' ' || *p == '\t') p++;
        if (!isdigit((unsigned char)*p)) continue;
        long long k = strtoll(p, &end, 10);
        if (*end != ' ' && *end != '\t') continue;
        if (k < 1 || k > SDG_QM9_ROWS)
            SDG_FAIL(SDG_ERR_FORMAT, "%s: line %ld: index %lld outside 1..%d", path, lineno, k, SDG_QM9_ROWS);
        flag[k] = true;
        n++;
    }
    if (n == 0) SDG_FAIL(SDG_ERR_FORMAT, "%s: no indexed line (not the QM9 uncharacterized list)", path);
cleanup:
    fclose(f);
    free(line);
    return st;
}

/* The SDG_QM9_PART_* of gdb_g, 0 for none: a 3-D record already, or an unvalued row outside
 * train_a, in the test split or uncharacterized (skip). */
static int todo_part(int64_t g, const float *props, const bool *have, const bool *pa, const bool *skip) {
    if (have[g]) return 0;
    if (!isnan(props[(size_t)(g - 1) * SDG_QM9_PROP_COUNT]))
        return pa[g] ? SDG_QM9_PART_GENERATOR : SDG_QM9_PART_REGRESSOR;
    return pa[g] && !skip[g] ? SDG_QM9_PART_UNVALUED : 0;
}

sdg_status sdg_qm9_todo_load(const char *data_dir, int parts, sdg_qm9_todo **out) {
    sdg_status st = SDG_OK;
    sdg_qm9_todo *t = NULL;
    sdg_mol_list *l = NULL;
    int64_t *pos = NULL, *want = NULL;
    float *props = NULL;
    bool *have = NULL, *pa = NULL, *skip = NULL;
    char path[4096];
    const size_t K = (size_t)SDG_QM9_ROWS + 1;
    if (!data_dir || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_qm9_todo_load: NULL argument");
    if (parts < SDG_QM9_PART_GENERATOR || parts > (SDG_QM9_PART_ALL | SDG_QM9_PART_UNVALUED))
        return SDG_ERROR(SDG_ERR_INVALID, "sdg_qm9_todo_load: parts %d is not a SDG_QM9_PART_* value", parts);
    *out = NULL;
    t = calloc(1, sizeof *t);
    pos = malloc(K * sizeof *pos);
    want = calloc(K, sizeof *want);
    props = malloc(K * SDG_QM9_PROP_COUNT * sizeof *props);
    have = calloc(K, sizeof *have);
    pa = calloc(K, sizeof *pa);
    skip = calloc(K, sizeof *skip);
    if (!t || !pos || !want || !props || !have || !pa || !skip) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    /* the valued molecules: both property CSVs, row k of props = gdb_k */
    for (size_t k = 0; k < K; k++) pos[k] = (int64_t)k;
    for (size_t k = 0; k < K * SDG_QM9_PROP_COUNT; k++) props[k] = NAN;
    for (int f = 0; f < 2; f++) {
        snprintf(path, sizeof path, "%s/qm9/%s", data_dir, f ? "qm9_3d_subset_props.csv" : "qm9_props_subset.csv");
        SDG_TRY(sdg_qm9_read_props(path, pos, SDG_QM9_ROWS, props));
    }
    /* the molecules with 3-D coordinates */
    snprintf(path, sizeof path, "%s/qm9/qm9_3d_conformers.sdf", data_dir);
    SDG_TRY(sdg_mol_list_read_sdf(path, &l));
    SDG_TRY(mark_titles(path, l, have));
    sdg_mol_list_free(l);
    l = NULL;
    snprintf(path, sizeof path, "%s/qm9/qm9_3d_subset.xyz", data_dir);
    SDG_TRY(sdg_mol_list_read_xyz(path, &l));
    SDG_TRY(mark_titles(path, l, have));
    snprintf(path, sizeof path, "%s/qm9/propmolflow_train_a_mol_idxs.txt", data_dir);
    SDG_TRY(sdg_qm9_read_index_file(path, SDG_QM9_ROWS, pa, NULL));
    if (parts & SDG_QM9_PART_UNVALUED) {   /* not the test rows, not the uncharacterized */
        snprintf(path, sizeof path, "%s/qm9/valid_idx_qm9.json", data_dir);
        SDG_TRY(sdg_qm9_read_index_file(path, SDG_QM9_ROWS, skip, NULL));
        snprintf(path, sizeof path, "%s/qm9/qm9_uncharacterized.txt", data_dir);
        SDG_TRY(read_uncharacterized(path, skip));
    }
    size_t n = 0;
    for (int64_t g = 1; g <= SDG_QM9_ROWS; g++) {
        if (!isnan(props[(size_t)(g - 1) * SDG_QM9_PROP_COUNT])) {
            t->n_valued++;
            t->n_with_3d += have[g];
        }
        n += (todo_part(g, props, have, pa, skip) & parts) != 0;
    }
    t->gdb = malloc((n ? n : 1) * sizeof *t->gdb);
    t->smiles = calloc(n ? n : 1, sizeof *t->smiles);
    t->propmolflow_a = calloc(n ? n : 1, sizeof *t->propmolflow_a);
    if (!t->gdb || !t->smiles || !t->propmolflow_a) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    static const int order[] = {SDG_QM9_PART_GENERATOR, SDG_QM9_PART_REGRESSOR, SDG_QM9_PART_UNVALUED};
    for (int pass = 0; pass < 3; pass++) {   /* the generator part first, the unvalued last */
        if (!(parts & order[pass])) continue;
        for (int64_t g = 1; g <= SDG_QM9_ROWS; g++) {
            if (todo_part(g, props, have, pa, skip) != order[pass]) continue;
            t->gdb[t->count] = g;
            t->propmolflow_a[t->count] = pa[g];
            want[g] = (int64_t)++t->count;
            t->n_unvalued += order[pass] == SDG_QM9_PART_UNVALUED;
        }
    }
    snprintf(path, sizeof path, "%s/qm9/qm9_smiles.csv", data_dir);
    SDG_TRY(read_smiles(path, want, t));
    *out = t;
    t = NULL;
cleanup:
    sdg_qm9_todo_free(t);
    sdg_mol_list_free(l);
    free(pos);
    free(want);
    free(props);
    free(have);
    free(pa);
    free(skip);
    return st;
}

sdg_status sdg_qm9_conformer_build(const char *smiles, int64_t gdb, uint64_t seed, const sdg_embed_params *params,
                                   sdg_mol **out) {
    sdg_status st = SDG_OK;
    sdg_mol *m = NULL, *e = NULL;
    sdg_rng *rng = NULL;
    char name[32];
    if (!smiles || !out || gdb < 1) return SDG_ERROR(SDG_ERR_INVALID, "sdg_qm9_conformer_build: bad argument");
    *out = NULL;
    SDG_TRY(sdg_mol_from_smiles(smiles, &m));
    SDG_TRY(sdg_rng_stream(seed, (uint64_t)gdb, &rng));
    SDG_TRY(sdg_mol_embed_3d(m, params, rng, &e));
    snprintf(name, sizeof name, "gdb_%lld", (long long)gdb);
    SDG_TRY(sdg_mol_set_name(e, name));
    *out = e;
    e = NULL;
cleanup:
    sdg_mol_free(m);
    sdg_mol_free(e);
    sdg_rng_free(rng);
    return st;
}

sdg_status sdg_qm9_conformer_write(FILE *f, const sdg_mol *m, uint64_t seed, const sdg_embed_params *params) {
    sdg_status st = SDG_OK;
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = NULL;
    if (!f || !m) return SDG_ERROR(SDG_ERR_INVALID, "sdg_qm9_conformer_write: NULL argument");
    sdg_embed_params p = params ? *params : sdg_embed_default_params();
    char ver[16], sd[32], steps[16], jit[32];
    snprintf(ver, sizeof ver, "%d", SDG_CONFORMERS_FORMAT_VERSION);
    snprintf(sd, sizeof sd, "%llu", (unsigned long long)seed);
    snprintf(steps, sizeof steps, "%d", p.steps);
    snprintf(jit, sizeof jit, "%g", p.jitter);
    const sdg_mol_field fields[] = {
        {"sdegen_format", SDG_CONFORMERS_FORMAT}, {"sdegen_format_version", ver}, {"sdegen_version", sdg_version()},
        {"method", SDG_CONFORMERS_METHOD},        {"seed", sd},                   {"steps", steps},
        {"jitter", jit},
    };
    mem = open_memstream(&buf, &len);
    if (!mem) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    st = sdg_mol_write_sdf(mem, m, fields, sizeof fields / sizeof *fields);
    if (fclose(mem) != 0 && st == SDG_OK) st = SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    mem = NULL;
    if (st != SDG_OK) goto cleanup;
    /* the whole record in one write, so that a killed run leaves at most one partial record */
    if (fwrite(buf, 1, len, f) != len || fflush(f) != 0)
        SDG_FAIL(SDG_ERR_IO, "conformer cache: write failed: %s", strerror(errno));
cleanup:
    free(buf);
    return st;
}

void sdg_conformer_cache_free(sdg_conformer_cache *c) {
    if (!c) return;
    free(c->gdb);
    free(c->truncated);
    free(c->failed);
    free(c);
}

/* The whole of path into a new NUL-terminated buffer; *missing when it does not exist. */
static sdg_status slurp(const char *path, char **out, size_t *len, bool *missing) {
    sdg_status st = SDG_OK;
    char *buf = NULL;
    *out = NULL, *len = 0, *missing = false;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) {
            *missing = true;
            return SDG_OK;
        }
        return SDG_ERROR(SDG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    size_t cap = 1 << 16, n = 0;
    buf = malloc(cap + 1);
    if (!buf) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    for (;;) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *b = realloc(buf, 2 * cap + 1);
        if (!b) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
        buf = b, cap *= 2;
    }
    if (ferror(f)) SDG_FAIL(SDG_ERR_IO, "%s: read failed: %s", path, strerror(errno));
    buf[n] = '\0';
    *out = buf, *len = n;
    buf = NULL;
cleanup:
    fclose(f);
    free(buf);
    return st;
}

/* Appends v to the array *a of *n entries (capacity *cap). */
static sdg_status push_i64(int64_t **a, size_t *n, size_t *cap, int64_t v) {
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 256;
        int64_t *b = realloc(*a, c * sizeof *b);
        if (!b) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
        *a = b, *cap = c;
    }
    (*a)[(*n)++] = v;
    return SDG_OK;
}

/* The run fields of one complete record text [r, e): format, version, seed, steps, jitter. */
typedef struct rec_fields {
    bool     format_ok, has_version, has_seed, has_steps, has_jitter;
    long     version;
    uint64_t seed;
    int      steps;
    double   jitter;
} rec_fields;

static void read_fields(const char *r, const char *e, rec_fields *o) {
    memset(o, 0, sizeof *o);
    for (const char *p = r; p < e;) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        if (!nl) break;
        if (p[0] == '>' && nl + 1 < e) {
            const char *lt = memchr(p, '<', (size_t)(nl - p)), *gt = lt ? memchr(lt, '>', (size_t)(nl - lt)) : NULL;
            const char *v = nl + 1;
            if (lt && gt) {
                size_t k = (size_t)(gt - lt - 1);
                const char *name = lt + 1;
                if (k == 13 && !strncmp(name, "sdegen_format", k))
                    o->format_ok = !strncmp(v, SDG_CONFORMERS_FORMAT "\n", strlen(SDG_CONFORMERS_FORMAT) + 1);
                else if (k == 21 && !strncmp(name, "sdegen_format_version", k))
                    o->has_version = true, o->version = strtol(v, NULL, 10);
                else if (k == 4 && !strncmp(name, "seed", k))
                    o->has_seed = true, o->seed = strtoull(v, NULL, 10);
                else if (k == 5 && !strncmp(name, "steps", k))
                    o->has_steps = true, o->steps = (int)strtol(v, NULL, 10);
                else if (k == 6 && !strncmp(name, "jitter", k))
                    o->has_jitter = true, o->jitter = strtod(v, NULL);
            }
        }
        p = nl + 1;
    }
}

static sdg_status scan_records(const char *path, const char *buf, size_t len, sdg_conformer_cache *c) {
    sdg_status st = SDG_OK;
    size_t cap = 0, rec = 0;
    const char *start = buf, *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) break;   /* a last line without its newline: part of an incomplete record */
        bool term = nl - p == 4 && !strncmp(p, "$$$$", 4);
        p = nl + 1;
        if (!term) continue;
        rec++;
        char title[64];
        size_t tl = strcspn(start, "\r\n");
        snprintf(title, sizeof title, "%.*s", (int)(tl < 63 ? tl : 63), start);
        int64_t g = sdg_qm9_gdb_index(title);
        if (g < 1 || g > SDG_QM9_ROWS)
            SDG_FAIL(SDG_ERR_FORMAT, "%s: record %zu: title '%s' is not gdb_k with k in 1..%d", path, rec, title,
                     SDG_QM9_ROWS);
        rec_fields f;
        read_fields(start, p, &f);
        if (!f.format_ok || !f.has_version || !f.has_seed || !f.has_steps || !f.has_jitter)
            SDG_FAIL(SDG_ERR_FORMAT, "%s: record %zu (%s): not an " SDG_CONFORMERS_FORMAT " record (no sdegen_format, "
                     "sdegen_format_version, seed, steps and jitter fields)", path, rec, title);
        if (f.version != SDG_CONFORMERS_FORMAT_VERSION)
            SDG_FAIL(SDG_ERR_VERSION, "%s: record %zu (%s): " SDG_CONFORMERS_FORMAT " version %ld, this sdegen reads "
                     "version %d", path, rec, title, f.version, SDG_CONFORMERS_FORMAT_VERSION);
        if (!c->has_run) {
            c->has_run = true, c->seed = f.seed, c->steps = f.steps, c->jitter = f.jitter;
        } else if (f.seed != c->seed || f.steps != c->steps || f.jitter != c->jitter) {
            SDG_FAIL(SDG_ERR_FORMAT, "%s: record %zu (%s): seed %llu, steps %d, jitter %g, but record 1 has seed %llu, "
                     "steps %d, jitter %g", path, rec, title, (unsigned long long)f.seed, f.steps, f.jitter,
                     (unsigned long long)c->seed, c->steps, c->jitter);
        }
        SDG_TRY(push_i64(&c->gdb, &c->count, &cap, g));
        start = p;
    }
    c->complete_bytes = (long long)(start - buf);
    const char *q = start;
    while (q < end && isspace((unsigned char)*q)) q++;
    if (q < end) {   /* an incomplete last record: its title, or what there is of it */
        size_t tl = strcspn(start, "\r\n");
        c->truncated = malloc(tl + 1);
        if (!c->truncated) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
        memcpy(c->truncated, start, tl);
        c->truncated[tl] = '\0';
    }
cleanup:
    return st;
}

static sdg_status scan_failed(const char *path, const char *buf, size_t len, sdg_conformer_cache *c) {
    sdg_status st = SDG_OK;
    size_t cap = 0;
    long lineno = 0;
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) break;   /* a partial last line: dropped, that molecule is tried again */
        lineno++;
        size_t n = (size_t)(nl - p);
        if (lineno == 1) {
            static const char hdr[] = SDG_CONFORMERS_FAILED_HEADER;
            if (n != sizeof hdr - 1 || strncmp(p, hdr, n) != 0)
                SDG_FAIL(SDG_ERR_FORMAT, "%s: line 1: not '" SDG_CONFORMERS_FAILED_HEADER "'", path);
        } else {
            char id[32];
            size_t k = strcspn(p, "\t\n");
            snprintf(id, sizeof id, "%.*s", (int)(k < 31 ? k : 31), p);
            int64_t g = sdg_qm9_gdb_index(id);
            if (g < 1 || g > SDG_QM9_ROWS || p[k] != '\t')
                SDG_FAIL(SDG_ERR_FORMAT, "%s: line %ld: not 'gdb_k<TAB>reason'", path, lineno);
            SDG_TRY(push_i64(&c->failed, &c->n_failed, &cap, g));
        }
        p = nl + 1;
    }
    c->failed_bytes = (long long)(p - buf);
cleanup:
    return st;
}

sdg_status sdg_conformer_cache_scan(const char *path, const char *failed_path, sdg_conformer_cache **out) {
    sdg_status st = SDG_OK;
    sdg_conformer_cache *c = NULL;
    char *buf = NULL;
    size_t len = 0;
    bool missing = false;
    if (!path || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_conformer_cache_scan: NULL argument");
    *out = NULL;
    c = calloc(1, sizeof *c);
    if (!c) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    SDG_TRY(slurp(path, &buf, &len, &missing));
    if (missing) SDG_FAIL(SDG_ERR_IO, "%s: cannot open: %s", path, strerror(ENOENT));
    SDG_TRY(scan_records(path, buf, len, c));
    free(buf);
    buf = NULL;
    if (failed_path) {
        SDG_TRY(slurp(failed_path, &buf, &len, &missing));
        if (!missing) SDG_TRY(scan_failed(failed_path, buf, len, c));
    }
    *out = c;
    c = NULL;
cleanup:
    free(buf);
    sdg_conformer_cache_free(c);
    return st;
}
