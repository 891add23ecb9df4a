/* The crystal type, lattice conversions and the module's element symbols. */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "crystal/internal.h"

#define SDG_PI 3.14159265358979323846

/* Symbols of Z = 1..118, two characters each (space-padded). molecule.h has its own table,
 * but dependencies point crystal <- molecule, so crystal cannot use it and core has none
 * (docs/crystals.md, "Elements"). */
static const char packed_symbols[] =
    "H HeLiBeB C N O F NeNaMgAlSiP S ClArK CaScTiV CrMnFeCoNiCuZnGaGeAsSeBrKrRbSrY ZrNbMoTcRuRh"
    "PdAgCdInSnSbTeI XeCsBaLaCePrNdPmSmEuGdTbDyHoErTmYbLuHfTaW ReOsIrPtAuHgTlPbBiPoAtRnFrRaAcTh"
    "PaU NpPuAmCmBkCfEsFmMdNoLrRfDbSgBhHsMtDsRgCnNhFlMcLvTsOg";
static char           symbol_strings[119][3];
static pthread_once_t symbols_once = PTHREAD_ONCE_INIT;

static void symbols_build(void) {
    for (int z = 1; z <= 118; z++) {
        symbol_strings[z][0] = packed_symbols[2 * (z - 1)];
        char c2 = packed_symbols[2 * (z - 1) + 1];
        symbol_strings[z][1] = c2 == ' ' ? '\0' : c2;
        symbol_strings[z][2] = '\0';
    }
}

static void symbols_init(void) { pthread_once(&symbols_once, symbols_build); }

const char *sdg_crystal_element_symbol(int z) {
    if (z < 1 || z > 118) return NULL;
    symbols_init();
    return symbol_strings[z];
}

sdg_status sdg_crystal_element_number(const char *symbol, int *z) {
    if (!symbol || !z) return SDG_ERROR(SDG_ERR_INVALID, "sdg_crystal_element_number: NULL argument");
    char s[3] = {0};
    const char *p = symbol;
    if (!isalpha((unsigned char)p[0])) goto unknown;
    s[0] = (char)toupper((unsigned char)p[0]);
    p++;
    if (isalpha((unsigned char)*p)) s[1] = (char)tolower((unsigned char)*p++);
    /* the rest may only be a charge such as "3+", "2-", "+" */
    while (isdigit((unsigned char)*p)) p++;
    if (*p == '+' || *p == '-') p++;
    while (isdigit((unsigned char)*p)) p++;
    if (*p != '\0') goto unknown;
    symbols_init();
    for (int k = 1; k <= 118; k++)
        if (strcmp(symbol_strings[k], s) == 0) {
            *z = k;
            return SDG_OK;
        }
unknown:
    return SDG_ERROR(SDG_ERR_NOTFOUND, "unknown element symbol '%s'", symbol);
}

/* ---- lattices ---- */
sdg_status sdg_lattice_from_params(const double p[6], double m[9]) {
    for (int k = 0; k < 6; k++)
        if (!isfinite(p[k])) return SDG_ERROR(SDG_ERR_INVALID, "lattice parameter %d is not finite", k + 1);
    for (int k = 0; k < 3; k++)
        if (!(p[k] > 0)) return SDG_ERROR(SDG_ERR_INVALID, "lattice length %c = %g is not positive", "abc"[k], p[k]);
    for (int k = 3; k < 6; k++)
        if (!(p[k] > 0 && p[k] < 180))
            return SDG_ERROR(SDG_ERR_INVALID, "lattice angle %s = %g is outside (0, 180) degrees",
                             k == 3 ? "alpha" : k == 4 ? "beta" : "gamma", p[k]);
    const double d2r = SDG_PI / 180.0;
    double ca = cos(p[3] * d2r), cb = cos(p[4] * d2r), cg = cos(p[5] * d2r), sg = sin(p[5] * d2r);
    /* exact values for right angles keep orthogonal cells free of 6e-17 noise */
    if (p[3] == 90.0) ca = 0.0;
    if (p[4] == 90.0) cb = 0.0;
    if (p[5] == 90.0) { cg = 0.0; sg = 1.0; }
    double cx = cb, cy = (ca - cb * cg) / sg;
    double cz2 = 1.0 - cx * cx - cy * cy;
    if (!(cz2 > 1e-12))
        return SDG_ERROR(SDG_ERR_INVALID,
                         "lattice angles (%g, %g, %g) do not form a cell (metric not positive definite)",
                         p[3], p[4], p[5]);
    double a = p[0], b = p[1], c = p[2];
    m[0] = a;      m[1] = 0;      m[2] = 0;
    m[3] = b * cg; m[4] = b * sg; m[5] = 0;
    m[6] = c * cx; m[7] = c * cy; m[8] = c * sqrt(cz2);
    return SDG_OK;
}

static double norm3(const double *v) { return sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]); }
static double dot3(const double *u, const double *v) { return u[0] * v[0] + u[1] * v[1] + u[2] * v[2]; }

static double angle_deg(const double *u, const double *v) {
    double c = dot3(u, v) / (norm3(u) * norm3(v));
    if (c > 1) c = 1;
    if (c < -1) c = -1;
    return acos(c) * 180.0 / SDG_PI;
}

void sdg_lattice_to_params(const double m[9], double p[6]) {
    p[0] = norm3(m);
    p[1] = norm3(m + 3);
    p[2] = norm3(m + 6);
    p[3] = angle_deg(m + 3, m + 6);
    p[4] = angle_deg(m, m + 6);
    p[5] = angle_deg(m, m + 3);
}

static double det3(const double *m) {
    return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
           m[2] * (m[3] * m[7] - m[4] * m[6]);
}

double sdg_lattice_volume(const double m[9]) { return fabs(det3(m)); }

void sdg_lattice_frac_to_cart(const double m[9], const double f[3], double x[3]) {
    for (int d = 0; d < 3; d++) x[d] = f[0] * m[d] + f[1] * m[3 + d] + f[2] * m[6 + d];
}

int sdg_lattice_inverse(const double m[9], double inv[9]) {
    double det = det3(m);
    if (!isfinite(det) || fabs(det) < 1e-12) return -1;
    inv[0] = (m[4] * m[8] - m[5] * m[7]) / det;
    inv[1] = (m[2] * m[7] - m[1] * m[8]) / det;
    inv[2] = (m[1] * m[5] - m[2] * m[4]) / det;
    inv[3] = (m[5] * m[6] - m[3] * m[8]) / det;
    inv[4] = (m[0] * m[8] - m[2] * m[6]) / det;
    inv[5] = (m[2] * m[3] - m[0] * m[5]) / det;
    inv[6] = (m[3] * m[7] - m[4] * m[6]) / det;
    inv[7] = (m[1] * m[6] - m[0] * m[7]) / det;
    inv[8] = (m[0] * m[4] - m[1] * m[3]) / det;
    return 0;
}

sdg_status sdg_lattice_cart_to_frac(const double m[9], const double x[3], double f[3]) {
    double inv[9];
    if (sdg_lattice_inverse(m, inv) != 0) return SDG_ERROR(SDG_ERR_NUMERIC, "singular lattice (volume ~ 0)");
    /* x = f^T M  =>  f^T = x^T M^-1 */
    for (int d = 0; d < 3; d++) f[d] = x[0] * inv[d] + x[1] * inv[3 + d] + x[2] * inv[6 + d];
    return SDG_OK;
}

/* ---- the crystal type ---- */
sdg_status sdg_crystal_new(const double m[9], sdg_crystal **out) {
    sdg_crystal *c = calloc(1, sizeof *c);
    if (!c) return SDG_ERROR(SDG_ERR_NOMEM, "sdg_crystal_new: out of memory");
    if (m) memcpy(c->lattice, m, sizeof c->lattice);
    *out = c;
    return SDG_OK;
}

void sdg_crystal_free(sdg_crystal *c) {
    if (!c) return;
    free(c->z);
    free(c->frac);
    free(c->name);
    free(c);
}

static sdg_status reserve(sdg_crystal *c, size_t n) {
    if (n <= c->cap) return SDG_OK;
    size_t cap = c->cap ? c->cap * 2 : 8;
    while (cap < n) cap *= 2;
    int32_t *z = realloc(c->z, cap * sizeof *z);
    if (!z) return SDG_ERROR(SDG_ERR_NOMEM, "crystal: out of memory for %zu sites", n);
    c->z = z;
    double *f = realloc(c->frac, cap * 3 * sizeof *f);
    if (!f) return SDG_ERROR(SDG_ERR_NOMEM, "crystal: out of memory for %zu sites", n);
    c->frac = f;
    c->cap = cap;
    return SDG_OK;
}

sdg_status sdg_crystal_add_site(sdg_crystal *c, int z, const double f[3]) {
    if (z < 1 || z > 118) return SDG_ERROR(SDG_ERR_INVALID, "atomic number %d outside 1..118", z);
    if (!isfinite(f[0]) || !isfinite(f[1]) || !isfinite(f[2]))
        return SDG_ERROR(SDG_ERR_INVALID, "non-finite fractional coordinate");
    sdg_status st = reserve(c, (size_t)c->n_atoms + 1);
    if (st != SDG_OK) return st;
    c->z[c->n_atoms] = z;
    memcpy(c->frac + 3 * c->n_atoms, f, 3 * sizeof(double));
    c->n_atoms++;
    return SDG_OK;
}

sdg_status sdg_crystal_set_name(sdg_crystal *c, const char *name) {
    char *s = NULL;
    if (name && !(s = strdup(name))) return SDG_ERROR(SDG_ERR_NOMEM, "crystal: out of memory");
    free(c->name);
    c->name = s;
    return SDG_OK;
}

sdg_status sdg_crystal_copy(const sdg_crystal *c, sdg_crystal **out) {
    sdg_status   st = SDG_OK;
    sdg_crystal *r  = NULL;
    SDG_TRY(sdg_crystal_new(c->lattice, &r));
    SDG_TRY(reserve(r, (size_t)c->n_atoms));
    if (c->n_atoms) {
        memcpy(r->z, c->z, (size_t)c->n_atoms * sizeof *r->z);
        memcpy(r->frac, c->frac, (size_t)c->n_atoms * 3 * sizeof *r->frac);
    }
    r->n_atoms = c->n_atoms;
    SDG_TRY(sdg_crystal_set_name(r, c->name));
    *out = r;
    r    = NULL;
cleanup:
    sdg_crystal_free(r);
    return st;
}

double sdg_crystal_volume(const sdg_crystal *c) { return sdg_lattice_volume(c->lattice); }

double sdg_wrap01(double x) {
    double w = x - floor(x);
    return w >= 1.0 ? 0.0 : w;   /* x = -1e-18 gives 1.0 after rounding */
}

void sdg_crystal_wrap(sdg_crystal *c) {
    for (int64_t k = 0; k < 3 * c->n_atoms; k++) c->frac[k] = sdg_wrap01(c->frac[k]);
}

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

sdg_status sdg_crystal_composition(const sdg_crystal *c, int32_t *zs, int64_t *counts, size_t cap, size_t *n) {
    int64_t cnt[119] = {0};
    for (int64_t i = 0; i < c->n_atoms; i++)
        if (c->z[i] >= 1 && c->z[i] <= 118) cnt[c->z[i]]++;
    int64_t g = 0;
    size_t  k = 0;
    for (int z = 1; z <= 118; z++)
        if (cnt[z]) {
            g = gcd64(g, cnt[z]);
            k++;
        }
    *n = k;
    if (k > cap) return SDG_ERROR(SDG_ERR_INVALID, "composition: %zu elements exceed capacity %zu", k, cap);
    k = 0;
    for (int z = 1; z <= 118; z++)
        if (cnt[z]) {
            zs[k]     = z;
            counts[k] = cnt[z] / g;
            k++;
        }
    return SDG_OK;
}

sdg_status sdg_crystal_formula(const sdg_crystal *c, char **out) {
    int64_t cnt[119] = {0};
    for (int64_t i = 0; i < c->n_atoms; i++)
        if (c->z[i] >= 1 && c->z[i] <= 118) cnt[c->z[i]]++;
    int order[118], n = 0;
    if (cnt[6]) {
        order[n++] = 6;
        if (cnt[1]) order[n++] = 1;
    }
    /* remaining elements alphabetically by symbol */
    int rest[118], nr = 0;
    for (int z = 1; z <= 118; z++)
        if (cnt[z] && !(cnt[6] && (z == 6 || z == 1))) rest[nr++] = z;
    for (int i = 1; i < nr; i++)
        for (int j = i; j > 0 && strcmp(sdg_crystal_element_symbol(rest[j - 1]),
                                        sdg_crystal_element_symbol(rest[j])) > 0; j--) {
            int t = rest[j];
            rest[j] = rest[j - 1];
            rest[j - 1] = t;
        }
    for (int i = 0; i < nr; i++) order[n++] = rest[i];
    size_t cap = 16 + (size_t)n * 24, len = 0;
    char  *s   = malloc(cap);
    if (!s) return SDG_ERROR(SDG_ERR_NOMEM, "formula: out of memory");
    s[0] = '\0';
    for (int i = 0; i < n; i++) {
        int z = order[i];
        len += (size_t)snprintf(s + len, cap - len, "%s", sdg_crystal_element_symbol(z));
        if (cnt[z] != 1) len += (size_t)snprintf(s + len, cap - len, "%lld", (long long)cnt[z]);
    }
    *out = s;
    return SDG_OK;
}

void sdg_crystal_list_free(sdg_crystal_list *l) {
    if (!l) return;
    for (size_t k = 0; k < l->count; k++) sdg_crystal_free(l->items[k]);
    free(l->items);
    free(l);
}

sdg_status sdg_crystal_list_push(sdg_crystal_list *l, sdg_crystal *c, size_t *cap) {
    if (l->count == *cap) {
        size_t        nc = *cap ? *cap * 2 : 8;
        sdg_crystal **it = realloc(l->items, nc * sizeof *it);
        if (!it) return SDG_ERROR(SDG_ERR_NOMEM, "crystal list: out of memory");
        l->items = it;
        *cap     = nc;
    }
    l->items[l->count++] = c;
    return SDG_OK;
}
