/* Structural validity (periodic minimum distance, volume) and SMACT's compositional rule. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "crystal/internal.h"

sdg_validity_params sdg_validity_default_params(void) {
    return (sdg_validity_params){.min_distance = 0.5, .min_volume = 0.1, .pauling_test = true,
                                 .include_alloys = true};
}

/* ---- minimum distance under periodic boundary conditions ---- */
static double dot3(const double *u, const double *v) { return u[0] * v[0] + u[1] * v[1] + u[2] * v[2]; }

/* LLL reduction (delta 3/4) of the rows of b, recording the integer change of basis in u
 * (new rows = u * old rows). A reduced basis has perpendicular heights close to its lengths,
 * so that a handful of image shifts suffice in any cell, however skewed the input. */
static void lll_reduce(double b[9], double u[9]) {
    memset(u, 0, 9 * sizeof *u);
    u[0] = u[4] = u[8] = 1;
    int k = 1;
    for (int iter = 0; iter < 10000 && k < 3; iter++) {
        double bs[9], mu[9] = {0}, B[3];
        for (int i = 0; i < 3; i++) {   /* Gram-Schmidt */
            memcpy(bs + 3 * i, b + 3 * i, 3 * sizeof(double));
            for (int j = 0; j < i; j++) {
                mu[3 * i + j] = B[j] > 0 ? dot3(b + 3 * i, bs + 3 * j) / B[j] : 0;
                for (int d = 0; d < 3; d++) bs[3 * i + d] -= mu[3 * i + j] * bs[3 * j + d];
            }
            B[i] = dot3(bs + 3 * i, bs + 3 * i);
        }
        bool changed = false;
        for (int j = k - 1; j >= 0; j--) {
            double q = round(mu[3 * k + j]);
            if (q != 0 && isfinite(q)) {
                for (int d = 0; d < 3; d++) {
                    b[3 * k + d] -= q * b[3 * j + d];
                    u[3 * k + d] -= q * u[3 * j + d];
                }
                changed = true;
            }
        }
        if (changed) continue;   /* recompute Gram-Schmidt */
        if (B[k] >= (0.75 - mu[3 * k + k - 1] * mu[3 * k + k - 1]) * B[k - 1]) {
            k++;
        } else {
            for (int d = 0; d < 3; d++) {
                double t = b[3 * k + d];
                b[3 * k + d] = b[3 * (k - 1) + d];
                b[3 * (k - 1) + d] = t;
                t = u[3 * k + d];
                u[3 * k + d] = u[3 * (k - 1) + d];
                u[3 * (k - 1) + d] = t;
            }
            k = k > 1 ? k - 1 : 1;
        }
    }
}

static void cross3(const double *u, const double *v, double *w) {
    w[0] = u[1] * v[2] - u[2] * v[1];
    w[1] = u[2] * v[0] - u[0] * v[2];
    w[2] = u[0] * v[1] - u[1] * v[0];
}

sdg_status sdg_crystal_min_distance(const sdg_crystal *c, double *dmin) {
    sdg_status st = SDG_OK;
    double    *f  = NULL;
    double     b[9], u[9], inv[9];
    *dmin = INFINITY;
    if (c->n_atoms == 0) return SDG_OK;
    memcpy(b, c->lattice, sizeof b);
    if (sdg_lattice_inverse(b, inv) != 0) return SDG_ERROR(SDG_ERR_NUMERIC, "min distance: singular lattice");
    lll_reduce(b, u);
    if (sdg_lattice_inverse(b, inv) != 0) return SDG_ERROR(SDG_ERR_NUMERIC, "min distance: singular lattice");
    /* fractional coordinates in the reduced basis: f' = (f L) L'^-1 */
    f = malloc((size_t)c->n_atoms * 3 * sizeof *f);
    if (!f) return SDG_ERROR(SDG_ERR_NOMEM, "min distance: out of memory");
    for (int64_t i = 0; i < c->n_atoms; i++) {
        double x[3];
        sdg_lattice_frac_to_cart(c->lattice, c->frac + 3 * i, x);
        for (int d = 0; d < 3; d++) f[3 * i + d] = x[0] * inv[d] + x[1] * inv[3 + d] + x[2] * inv[6 + d];
    }
    double vol = fabs(dot3(b, (double[3]){b[4] * b[8] - b[5] * b[7], b[5] * b[6] - b[3] * b[8], b[3] * b[7] - b[4] * b[6]}));
    double h[3];
    for (int k = 0; k < 3; k++) {
        double w[3];
        cross3(b + 3 * ((k + 1) % 3), b + 3 * ((k + 2) % 3), w);
        h[k] = vol / sqrt(dot3(w, w));
    }
    double best = INFINITY;
    for (int k = 0; k < 3; k++) best = fmin(best, sqrt(dot3(b + 3 * k, b + 3 * k)));   /* self images */
    for (int64_t i = 0; i < c->n_atoms; i++)
        for (int64_t j = i + 1; j < c->n_atoms; j++) {
            double df[3], x[3];
            for (int d = 0; d < 3; d++) {
                df[d] = f[3 * j + d] - f[3 * i + d];
                df[d] -= round(df[d]);
            }
            sdg_lattice_frac_to_cart(b, df, x);
            double r = fmin(best, sqrt(dot3(x, x)));
            /* an image closer than r has |df_k + n_k| <= r / h_k along each axis */
            int lo[3], hi[3];
            for (int k = 0; k < 3; k++) {
                lo[k] = (int)ceil(-r / h[k] - df[k]);
                hi[k] = (int)floor(r / h[k] - df[k]);
            }
            for (int n0 = lo[0]; n0 <= hi[0]; n0++)
                for (int n1 = lo[1]; n1 <= hi[1]; n1++)
                    for (int n2 = lo[2]; n2 <= hi[2]; n2++) {
                        double g[3] = {df[0] + n0, df[1] + n1, df[2] + n2};
                        sdg_lattice_frac_to_cart(b, g, x);
                        r = fmin(r, sqrt(dot3(x, x)));
                    }
            best = fmin(best, r);
        }
    *dmin = best;
    free(f);
    return st;
}

/* ---- the element table ---- */
#define MAX_OX 16
struct sdg_element_table {
    bool   known[119];
    double eneg[119];        /* NaN: none tabulated */
    bool   metal[119];
    int    n_ox[119];
    int    ox[119][MAX_OX];
    double mass[119];        /* g/mol; NaN: none (a table without the mass column) */
};

void sdg_element_table_free(sdg_element_table *t) { free(t); }

static sdg_status table_parse(FILE *f, const char *path, sdg_element_table *t) {
    char line[512];
    int  ln = 0, rows = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        if (line[0] == '#' || line[0] == '\n' || line[0] == '\r') continue;
        char *fields[7] = {0}, *save = NULL;
        int   nf = 0;
        for (char *tok = strtok_r(line, "\t\r\n", &save); tok && nf < 7; tok = strtok_r(NULL, "\t\r\n", &save))
            fields[nf++] = tok;
        if (nf != 5 && nf != 6)
            return SDG_ERROR(SDG_ERR_FORMAT, "%s: line %d: expected 5 or 6 tab-separated fields (the 6th: mass)", path, ln);
        char *end;
        long  z = strtol(fields[0], &end, 10);
        const char *sym = sdg_crystal_element_symbol((int)z);
        if (*end || !sym || strcmp(sym, fields[1]) != 0)
            return SDG_ERROR(SDG_ERR_FORMAT, "%s: line %d: '%s %s' is not an element", path, ln, fields[0], fields[1]);
        t->known[z] = true;
        t->eneg[z]  = NAN;
        t->mass[z]  = NAN;
        if (nf == 6 && strcmp(fields[5], "-") != 0) {
            t->mass[z] = strtod(fields[5], &end);
            if (*end || !(t->mass[z] > 0) || !isfinite(t->mass[z]))
                return SDG_ERROR(SDG_ERR_FORMAT, "%s: line %d: bad mass '%s'", path, ln, fields[5]);
        }
        if (strcmp(fields[2], "-") != 0) {
            t->eneg[z] = strtod(fields[2], &end);
            if (*end || !isfinite(t->eneg[z]))
                return SDG_ERROR(SDG_ERR_FORMAT, "%s: line %d: bad electronegativity '%s'", path, ln, fields[2]);
        }
        if (strcmp(fields[3], "0") != 0 && strcmp(fields[3], "1") != 0)
            return SDG_ERROR(SDG_ERR_FORMAT, "%s: line %d: metal flag must be 0 or 1", path, ln);
        t->metal[z] = fields[3][0] == '1';
        t->n_ox[z]  = 0;
        if (strcmp(fields[4], "-") != 0) {
            char *p = fields[4];
            for (;;) {
                long v = strtol(p, &end, 10);
                if (end == p || t->n_ox[z] == MAX_OX || v < -12 || v > 12)
                    return SDG_ERROR(SDG_ERR_FORMAT, "%s: line %d: bad oxidation states '%s'", path, ln, fields[4]);
                t->ox[z][t->n_ox[z]++] = (int)v;
                if (*end == '\0') break;
                if (*end != ',') return SDG_ERROR(SDG_ERR_FORMAT, "%s: line %d: bad oxidation states", path, ln);
                p = end + 1;
            }
        }
        rows++;
    }
    if (rows == 0) return SDG_ERROR(SDG_ERR_FORMAT, "%s: no element rows", path);
    return SDG_OK;
}

sdg_status sdg_element_table_load(const char *path, sdg_element_table **out) {
    char        buf[4096];
    const char *p = path;
    if (!p) {
        const char *env = getenv("SDEGEN_TABLES");
        const char *dirs[3] = {env && *env ? env : NULL, SDEGEN_SOURCE_DATA_DIR, SDEGEN_INSTALL_DATA_DIR};
        for (int k = 0; k < 3 && !p; k++) {
            if (!dirs[k]) continue;
            snprintf(buf, sizeof buf, "%s/elements.tsv", dirs[k]);
            FILE *f = fopen(buf, "r");
            if (f) {
                fclose(f);
                p = buf;
            } else if (k == 0) {
                return SDG_ERROR(SDG_ERR_IO, "SDEGEN_TABLES=%s: %s: %s", env, buf, strerror(errno));
            }
        }
        if (!p)
            return SDG_ERROR(SDG_ERR_NOTFOUND, "elements.tsv not found in %s or %s (set SDEGEN_TABLES to its directory)",
                             SDEGEN_SOURCE_DATA_DIR, SDEGEN_INSTALL_DATA_DIR);
    }
    FILE *f = fopen(p, "r");
    if (!f) return SDG_ERROR(SDG_ERR_IO, "%s: cannot open: %s", p, strerror(errno));
    sdg_element_table *t = calloc(1, sizeof *t);
    if (!t) {
        fclose(f);
        return SDG_ERROR(SDG_ERR_NOMEM, "element table: out of memory");
    }
    sdg_status st = table_parse(f, p, t);
    fclose(f);
    if (st != SDG_OK) {
        free(t);
        return st;
    }
    *out = t;
    return SDG_OK;
}

/* ---- SMACT's compositional rule ---- */
/* Is 0 a reachable charge when element k (count counts[k]) takes one of its states allowed
 * by side[k] (+1 positive or 0, -1 negative or 0, 2 any)? Subset-sum over charges. */
static sdg_status neutral_reachable(const sdg_element_table *t, const int32_t *zs, const int64_t *counts, size_t n,
                                    const int *side, bool *ok) {
    int64_t span = 0;
    for (size_t k = 0; k < n; k++) {
        int m = 0;
        for (int j = 0; j < t->n_ox[zs[k]]; j++) m = abs(t->ox[zs[k]][j]) > m ? abs(t->ox[zs[k]][j]) : m;
        span += counts[k] * m;
    }
    if (span > 50000000) return SDG_ERROR(SDG_ERR_INVALID, "composition too large for the charge search");
    size_t w = (size_t)(2 * span + 1);
    unsigned char *cur = calloc(w, 1), *nxt = calloc(w, 1);
    if (!cur || !nxt) {
        free(cur);
        free(nxt);
        return SDG_ERROR(SDG_ERR_NOMEM, "charge search: out of memory");
    }
    cur[span] = 1;
    for (size_t k = 0; k < n; k++) {
        memset(nxt, 0, w);
        for (int j = 0; j < t->n_ox[zs[k]]; j++) {
            int o = t->ox[zs[k]][j];
            if ((side[k] == 1 && o < 0) || (side[k] == -1 && o > 0)) continue;
            int64_t sh = counts[k] * o;
            for (int64_t s = 0; s < (int64_t)w; s++)
                if (cur[s] && s + sh >= 0 && s + sh < (int64_t)w) nxt[s + sh] = 1;
        }
        unsigned char *tmp = cur;
        cur = nxt;
        nxt = tmp;
    }
    *ok = cur[span] != 0;
    free(cur);
    free(nxt);
    return SDG_OK;
}

sdg_status sdg_composition_smact_valid(const sdg_element_table *t, const int32_t *zs, const int64_t *counts, size_t n,
                                       const sdg_validity_params *p, bool *valid) {
    sdg_validity_params pp = p ? *p : sdg_validity_default_params();
    *valid = false;
    if (!t) return SDG_ERROR(SDG_ERR_INVALID, "compositional validity needs an element table");
    if (n == 0) return SDG_OK;
    for (size_t k = 0; k < n; k++)
        if (zs[k] < 1 || zs[k] > 118 || counts[k] < 1)
            return SDG_ERROR(SDG_ERR_INVALID, "composition: bad element %d or count %lld", zs[k], (long long)counts[k]);
    bool same = true, metals = true;
    for (size_t k = 0; k < n; k++) {
        same   = same && zs[k] == zs[0];
        metals = metals && t->known[zs[k]] && t->metal[zs[k]];
    }
    if (same || (pp.include_alloys && metals)) {
        *valid = true;
        return SDG_OK;
    }
    for (size_t k = 0; k < n; k++)
        if (!t->known[zs[k]] || t->n_ox[zs[k]] == 0) return SDG_OK;   /* no states: no assignment */
    int *side = malloc(n * sizeof *side);
    if (!side) return SDG_ERROR(SDG_ERR_NOMEM, "composition: out of memory");
    sdg_status st = SDG_OK;
    bool       ok = false;
    if (!pp.pauling_test) {
        for (size_t k = 0; k < n; k++) side[k] = 2;
        st = neutral_reachable(t, zs, counts, n, side, &ok);
    } else {
        /* SMACT fails the Pauling test when an element has no electronegativity. */
        bool have = true;
        for (size_t k = 0; k < n; k++) have = have && !isnan(t->eneg[zs[k]]);
        /* Cations (ox > 0) must all be less electronegative than every anion (ox < 0): the
         * cations are the elements below some threshold. Try each distinct threshold. */
        for (size_t s = 0; have && s <= n && !ok && st == SDG_OK; s++) {
            double thr = s == n ? INFINITY : t->eneg[zs[s]];
            for (size_t k = 0; k < n; k++) side[k] = t->eneg[zs[k]] < thr ? 1 : -1;
            st = neutral_reachable(t, zs, counts, n, side, &ok);
        }
    }
    free(side);
    *valid = ok;
    return st;
}

sdg_status sdg_crystal_check_validity(const sdg_crystal *c, const sdg_element_table *t, const sdg_validity_params *p,
                                      sdg_crystal_validity *out) {
    sdg_validity_params pp = p ? *p : sdg_validity_default_params();
    sdg_status          st = SDG_OK;
    memset(out, 0, sizeof *out);
    out->volume = sdg_crystal_volume(c);
    out->min_distance = 0;
    if (isfinite(out->volume) && out->volume > 1e-9 && c->n_atoms > 0) {
        st = sdg_crystal_min_distance(c, &out->min_distance);
        if (st != SDG_OK) return st;
    }
    out->structural = c->n_atoms > 0 && out->volume >= pp.min_volume && out->min_distance >= pp.min_distance;
    int32_t zs[119];
    int64_t counts[119];
    size_t  n = 0;
    st = sdg_crystal_composition(c, zs, counts, 119, &n);
    if (st != SDG_OK) return st;
    st = sdg_composition_smact_valid(t, zs, counts, n, &pp, &out->compositional);
    out->valid = out->structural && out->compositional;
    return st;
}

/* ---- masses and densities ---- */
sdg_status sdg_element_table_mass(const sdg_element_table *t, int z, double *mass) {
    if (!t || !mass) return SDG_ERROR(SDG_ERR_INVALID, "sdg_element_table_mass: NULL argument");
    if (z < 1 || z > 118 || !t->known[z] || !(t->mass[z] > 0)) {
        const char *sym = sdg_crystal_element_symbol(z);
        return SDG_ERROR(SDG_ERR_NOTFOUND, "no atomic mass for %s (Z = %d) in the element table", sym ? sym : "?", z);
    }
    *mass = t->mass[z];
    return SDG_OK;
}

sdg_status sdg_crystal_density(const sdg_crystal *c, const sdg_element_table *t, double *rho) {
    if (!c || !t || !rho) return SDG_ERROR(SDG_ERR_INVALID, "sdg_crystal_density: NULL argument");
    double m = 0;
    for (int64_t i = 0; i < c->n_atoms; i++) {
        double mi;
        sdg_status st = sdg_element_table_mass(t, c->z[i], &mi);
        if (st != SDG_OK) return st;
        m += mi;
    }
    double v = sdg_crystal_volume(c);
    if (!(v > 0) || !isfinite(v)) return SDG_ERROR(SDG_ERR_NUMERIC, "density: cell volume %g", v);
    /* g/mol per Angstrom^3 -> g/cm^3: 1 u = 1.66053906660e-24 g (CODATA 2018), 1 A^3 = 1e-24 cm^3 */
    *rho = m * 1.66053906660 / v;
    return SDG_OK;
}
