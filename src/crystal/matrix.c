/* DiffCrysGen's unified crystal matrix with E_max, N_max and the element rows as parameters
 * (docs/crystals.md). */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "crystal/internal.h"

#define ZMAX SDG_CRYSTAL_ZMAX   /* elements the matrix can hold: Z = 1..94 */

sdg_crystal_matrix_params sdg_crystal_matrix_default_params(void) {
    return (sdg_crystal_matrix_params){.e_max = 3, .n_max = 20};
}

/* Row offsets of the blocks, the width W, and the element of each element row. */
typedef struct layout {
    int64_t E, N, W, R, Z, lat, coord, occ;   /* Z: element rows (94, or the vocabulary's size) */
    int32_t z_of[ZMAX];                       /* (Z) element of each element row               */
    int     row_of[ZMAX + 1];                 /* element row of Z, -1 when Z has none          */
} layout;

static sdg_status layout_of(const sdg_crystal_matrix_params *p, layout *L) {
    if (!p || p->e_max < 1 || p->n_max < 1 || p->e_max > ZMAX || p->n_max > 1000000)
        return SDG_ERROR(SDG_ERR_INVALID, "crystal matrix: e_max must be in 1..94 and n_max in 1..1e6");
    if (p->n_vocab < 0 || p->n_vocab > ZMAX)
        return SDG_ERROR(SDG_ERR_INVALID, "crystal matrix: n_vocab = %lld is outside 0..94", (long long)p->n_vocab);
    L->Z = p->n_vocab ? p->n_vocab : ZMAX;
    for (int z = 0; z <= ZMAX; z++) L->row_of[z] = -1;
    for (int64_t r = 0; r < L->Z; r++) {
        int32_t z = p->n_vocab ? p->vocab[r] : (int32_t)(r + 1);
        if (z < 1 || z > ZMAX || (r > 0 && z <= L->z_of[r - 1]))
            return SDG_ERROR(SDG_ERR_INVALID, "crystal matrix: vocabulary entry %lld (Z = %d) is not in 1..94 or not "
                             "above the one before", (long long)r, (int)z);
        L->z_of[r] = z;
        L->row_of[z] = (int)r;
    }
    L->E = p->e_max;
    L->N = p->n_max;
    L->W = p->e_max > 3 ? p->e_max : 3;
    L->lat = L->Z;
    L->coord = L->Z + 2;
    L->occ = L->Z + 2 + p->n_max;
    L->R = L->Z + 2 + 2 * p->n_max;
    return SDG_OK;
}

sdg_status sdg_crystal_matrix_shape(const sdg_crystal_matrix_params *p, int64_t *rows, int64_t *cols) {
    layout     L = {0};
    sdg_status st = layout_of(p, &L);
    if (st != SDG_OK) return st;
    *rows = L.R;
    *cols = L.W;
    return SDG_OK;
}

/* Checks that c fits the layout (SDG_ERR_INVALID naming why): col_of[Z] = the element column
 * of Z (-1 when c has no Z), par = the lattice parameters. */
static sdg_status fit_of(const layout *L, const sdg_crystal *c, int col_of[ZMAX + 1], double par[6]) {
    if (c->n_atoms < 1) return SDG_ERROR(SDG_ERR_INVALID, "crystal matrix: the crystal has no sites");
    if (c->n_atoms > L->N)
        return SDG_ERROR(SDG_ERR_INVALID, "crystal matrix: %lld sites exceed N_max = %lld", (long long)c->n_atoms,
                         (long long)L->N);
    for (int z = 0; z <= ZMAX; z++) col_of[z] = -1;
    for (int64_t i = 0; i < c->n_atoms; i++) {
        int z = c->z[i];
        if (z < 1 || z > ZMAX) return SDG_ERROR(SDG_ERR_INVALID, "crystal matrix: element Z = %d is beyond Z = 94", z);
        if (L->row_of[z] < 0)
            return SDG_ERROR(SDG_ERR_INVALID, "crystal matrix: element %s (Z = %d) is not in the %lld-element vocabulary "
                             "of the element rows", sdg_crystal_element_symbol(z), z, (long long)L->Z);
        col_of[z] = 0;
    }
    int64_t n_el = 0;
    for (int z = 1; z <= ZMAX; z++)
        if (col_of[z] == 0) col_of[z] = (int)n_el++;
    if (n_el > L->E)
        return SDG_ERROR(SDG_ERR_INVALID, "crystal matrix: %lld distinct elements exceed E_max = %lld", (long long)n_el,
                         (long long)L->E);
    sdg_lattice_to_params(c->lattice, par);
    for (int k = 0; k < 6; k++)
        if (!isfinite(par[k])) return SDG_ERROR(SDG_ERR_INVALID, "crystal matrix: lattice is not finite");
    return SDG_OK;
}

sdg_status sdg_crystal_matrix_encode(const sdg_crystal_matrix_params *p, const sdg_crystal *c, double *M, size_t cap) {
    layout     L = {0};
    sdg_status st = layout_of(p, &L);
    if (st != SDG_OK) return st;
    if (cap < (size_t)(L.R * L.W))
        return SDG_ERROR(SDG_ERR_INVALID, "crystal matrix: capacity %zu < %lld", cap, (long long)(L.R * L.W));
    int    col_of[ZMAX + 1];
    double par[6];
    st = fit_of(&L, c, col_of, par);
    if (st != SDG_OK) return st;
    memset(M, 0, (size_t)(L.R * L.W) * sizeof *M);
    for (int z = 1; z <= ZMAX; z++)
        if (col_of[z] >= 0) M[L.row_of[z] * L.W + col_of[z]] = 1;
    for (int k = 0; k < 3; k++) {
        M[L.lat * L.W + k] = par[k];
        M[(L.lat + 1) * L.W + k] = par[3 + k];
    }
    for (int64_t i = 0; i < c->n_atoms; i++) {
        for (int d = 0; d < 3; d++) M[(L.coord + i) * L.W + d] = sdg_wrap01(c->frac[3 * i + d]);
        M[(L.occ + i) * L.W + col_of[c->z[i]]] = 1;
    }
    return SDG_OK;
}

sdg_status sdg_crystal_matrix_vocab_fit(const sdg_crystal *const *cs, size_t n, sdg_crystal_matrix_params *p) {
    sdg_crystal_matrix_params all = *p;
    layout                    L = {0};
    all.n_vocab = 0;
    sdg_status st = layout_of(&all, &L);
    if (st != SDG_OK) return st;
    bool   seen[ZMAX + 1] = {false}, any = false;
    int    col_of[ZMAX + 1];
    double par[6];
    for (size_t i = 0; i < n; i++) {
        if (fit_of(&L, cs[i], col_of, par) != SDG_OK) {
            sdg_error_clear();
            continue;
        }
        any = true;
        for (int z = 1; z <= ZMAX; z++) seen[z] = seen[z] || col_of[z] >= 0;
    }
    if (!any)
        return SDG_ERROR(SDG_ERR_INVALID, "crystal matrix: none of the %zu crystals fits E_max = %lld, N_max = %lld", n,
                         (long long)p->e_max, (long long)p->n_max);
    p->n_vocab = 0;
    for (int z = 1; z <= ZMAX; z++)
        if (seen[z]) p->vocab[p->n_vocab++] = z;
    return SDG_OK;
}

static void say(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t cap, const char *fmt, ...) {
    if (!why || cap == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
}

sdg_status sdg_crystal_matrix_decode(const sdg_crystal_matrix_params *p, const double *M, sdg_crystal **out, char *why,
                                     size_t why_cap) {
    return sdg_crystal_matrix_decode_with(p, NULL, M, out, NULL, why, why_cap);
}

/* The largest of the n entries x[0], x[stride], ... whose index passes allow (NULL: all), as
 * its index, or -1 when none passes. */
static int64_t argmax_strided(const double *x, int64_t n, int64_t stride, const uint8_t *allow) {
    int64_t best = -1;
    for (int64_t r = 0; r < n; r++)
        if ((!allow || allow[r]) && (best < 0 || x[r * stride] > x[best * stride])) best = r;
    return best;
}

sdg_status sdg_crystal_matrix_decode_with(const sdg_crystal_matrix_params *p, const sdg_crystal_decode_rule *rule,
                                          const double *M, sdg_crystal **out, int *changes, char *why,
                                          size_t why_cap) {
    layout       L = {0};
    sdg_status   st = layout_of(p, &L);
    sdg_crystal *c  = NULL;
    const uint8_t *allow = NULL;
    uint8_t        allow_row[ZMAX];   /* the rule's vocabulary over the element rows */
    int            nchange = 0;
    *out = NULL;
    if (changes) *changes = 0;
    say(why, why_cap, "%s", "");
    if (st != SDG_OK) return st;
    if (rule && rule->elements) {
        bool any = false, any_row = false;
        for (int z = 0; z < ZMAX; z++) any = any || rule->elements[z];
        if (!any) return SDG_ERROR(SDG_ERR_INVALID, "crystal decode: the element vocabulary is empty");
        for (int64_t r = 0; r < L.Z; r++) {
            allow_row[r] = rule->elements[L.z_of[r] - 1] != 0;
            any_row = any_row || allow_row[r];
        }
        if (!any_row)
            return SDG_ERROR(SDG_ERR_INVALID, "crystal decode: no element of the vocabulary has an element row");
        allow = allow_row;
    }
    /* only the used entries matter; padding columns are ignored */
    for (int64_t r = 0; r < L.R; r++) {
        int64_t w = (r >= L.lat && r < L.occ) ? 3 : L.E;
        for (int64_t k = 0; k < w; k++)
            if (!isfinite(M[r * L.W + k])) {
                say(why, why_cap, "entry (%lld, %lld) is not finite", (long long)r, (long long)k);
                return SDG_OK;
            }
    }
    /* element column j holds an element when its largest entry is >= 0.5; which element: the
     * largest entry among the allowed rows */
    int    zcol[ZMAX];
    for (int64_t j = 0; j < L.E; j++) {
        int64_t top = argmax_strided(M + j, L.Z, L.W, NULL), best = allow ? argmax_strided(M + j, L.Z, L.W, allow) : top;
        zcol[j] = M[top * L.W + j] >= 0.5 ? L.z_of[best] : 0;
        if (zcol[j] && best != top) nchange++;
    }
    double par[6], m[9];
    for (int k = 0; k < 3; k++) {
        par[k] = M[L.lat * L.W + k];
        par[3 + k] = M[(L.lat + 1) * L.W + k];
    }
    if (sdg_lattice_from_params(par, m) != SDG_OK) {
        say(why, why_cap, "lattice: %s", sdg_errmsg());
        sdg_error_clear();
        return SDG_OK;
    }
    double vol = sdg_lattice_volume(m);
    if (!isfinite(vol) || !(vol > 0) || !isfinite(m[3] + m[4] + m[6] + m[7] + m[8])) {
        say(why, why_cap, "lattice: volume %g is not a positive finite number", vol);
        return SDG_OK;
    }
    uint8_t held[ZMAX];
    for (int64_t j = 0; j < L.E; j++) held[j] = zcol[j] != 0;
    SDG_TRY(sdg_crystal_new(m, &c));
    for (int64_t i = 0; i < L.N; i++) {
        const double *o = M + (L.occ + i) * L.W;
        int64_t       j = argmax_strided(o, L.E, 1, NULL);
        if (!(o[j] >= 0.5)) continue;   /* empty site */
        if (zcol[j] == 0 && rule && rule->reassign_sites) {
            int64_t k = argmax_strided(o, L.E, 1, held);
            if (k >= 0) {
                j = k;
                nchange++;
            }
        }
        if (zcol[j] == 0) {
            say(why, why_cap, "site %lld is assigned to element column %lld, which holds no element (max < 0.5)",
                (long long)i, (long long)j);
            goto cleanup;
        }
        double f[3];
        for (int d = 0; d < 3; d++) f[d] = sdg_wrap01(M[(L.coord + i) * L.W + d]);
        SDG_TRY(sdg_crystal_add_site(c, zcol[j], f));
    }
    if (c->n_atoms == 0) {
        say(why, why_cap, "no occupied site (every occupancy row has max < 0.5)");
        goto cleanup;
    }
    *out = c;
    c = NULL;
    if (changes) *changes = nchange;
cleanup:
    sdg_crystal_free(c);
    return st;
}

/* ---- per-block scaling ---- */

/* Calls f on every used entry of every matrix with the (mean, std) of its block; block ids:
 * 0 element, 1..6 lattice entries, 7 coordinates, 8 occupancy. */
static void for_blocks(const layout *L, double *M, size_t n, const double mean[9], const double std[9],
                       void (*f)(double *x, int block, double mean, double std, void *acc), void *acc) {
    for (size_t b = 0; b < n; b++) {
        double *X = M + b * (size_t)(L->R * L->W);
        for (int64_t r = 0; r < L->R; r++) {
            int     blk;
            int64_t w;
            if (r < L->lat) blk = 0, w = L->E;
            else if (r < L->coord) blk = -1, w = 3;
            else if (r < L->occ) blk = 7, w = 3;
            else blk = 8, w = L->E;
            for (int64_t k = 0; k < w; k++) {
                int id = blk >= 0 ? blk : 1 + (int)(3 * (r - L->lat) + k);
                f(&X[r * L->W + k], id, mean ? mean[id] : 0, std ? std[id] : 1, acc);
            }
        }
    }
}

typedef struct moments {
    double s[9], s2[9], n[9];
} moments;

static void acc_moments(double *x, int id, double mean, double std, void *acc) {
    (void)mean;
    (void)std;
    moments *m = acc;
    m->s[id] += *x;
    m->s2[id] += *x * *x;
    m->n[id] += 1;
}
static void do_apply(double *x, int id, double mean, double std, void *acc) {
    (void)id;
    (void)acc;
    *x = (*x - mean) / std;
}
static void do_invert(double *x, int id, double mean, double std, void *acc) {
    (void)id;
    (void)acc;
    *x = *x * std + mean;
}

static void pack(const sdg_crystal_scaler *s, double mean[9], double std[9]) {
    mean[0] = s->elem_mean, std[0] = s->elem_std;
    for (int k = 0; k < 6; k++) mean[1 + k] = s->lat_mean[k], std[1 + k] = s->lat_std[k];
    mean[7] = s->coord_mean, std[7] = s->coord_std;
    mean[8] = s->occ_mean, std[8] = s->occ_std;
}

sdg_status sdg_crystal_scaler_fit(const sdg_crystal_matrix_params *p, const double *M, size_t n, sdg_crystal_scaler *s) {
    layout     L = {0};
    sdg_status st = layout_of(p, &L);
    if (st != SDG_OK) return st;
    if (n == 0) return SDG_ERROR(SDG_ERR_INVALID, "scaler: no matrices to fit on");
    moments m = {0};
    for_blocks(&L, (double *)M, n, NULL, NULL, acc_moments, &m);   /* read only */
    double mean[9], sd[9];
    for (int id = 0; id < 9; id++) {
        mean[id] = m.s[id] / m.n[id];
        double var = m.s2[id] / m.n[id] - mean[id] * mean[id];
        sd[id] = var > 1e-24 ? sqrt(var) : 1.0;   /* a constant block is only shifted */
        if (!isfinite(mean[id]) || !isfinite(sd[id])) return SDG_ERROR(SDG_ERR_NUMERIC, "scaler: non-finite statistics");
    }
    s->elem_mean = mean[0], s->elem_std = sd[0];
    for (int k = 0; k < 6; k++) s->lat_mean[k] = mean[1 + k], s->lat_std[k] = sd[1 + k];
    s->coord_mean = mean[7], s->coord_std = sd[7];
    s->occ_mean = mean[8], s->occ_std = sd[8];
    return SDG_OK;
}

static void scale_all(const sdg_crystal_matrix_params *p, const sdg_crystal_scaler *s, double *M, size_t n,
                      void (*f)(double *x, int block, double mean, double std, void *acc)) {
    layout L = {0};
    if (layout_of(p, &L) != SDG_OK) return;
    double mean[9], sd[9];
    pack(s, mean, sd);
    for_blocks(&L, M, n, mean, sd, f, NULL);
}

void sdg_crystal_scaler_apply(const sdg_crystal_matrix_params *p, const sdg_crystal_scaler *s, double *M, size_t n) {
    scale_all(p, s, M, n, do_apply);
}

void sdg_crystal_scaler_invert(const sdg_crystal_matrix_params *p, const sdg_crystal_scaler *s, double *M, size_t n) {
    scale_all(p, s, M, n, do_invert);
}
