/* Structure matching in the spirit of pymatgen's StructureMatcher (docs/crystals.md,
 * "Evaluation"), written from its published description: reduced composition, primitive cell,
 * Niggli reduction, volumes scaled to each other, every basis of one lattice that fits the
 * other's reduced basis within ltol / angle_tol, every translation that lays a site of the
 * rarest species on one of its partners, then the optimal site assignment and the largest
 * displacement normalised by (V / N)^(1/3). Also: an index of prepared crystals bucketed by
 * composition for uniqueness and novelty, and the exact 1-D Wasserstein-1 distance. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "crystal/internal.h"

#define SDG_PI 3.14159265358979323846

sdg_match_params sdg_match_default_params(void) {
    return (sdg_match_params){.ltol = 0.2, .stol = 0.3, .angle_tol = 5.0, .primitive_cell = true, .scale = true,
                              .primitive_tol = 0.25};
}

/* ---- small 3x3 helpers (rows are vectors) ---- */
static double dot3(const double *a, const double *b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
static double det3(const double m[9]) {
    return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
}
/* x (row) times m: x_j = sum_i v_i m[i][j]. */
static void vecmat(const double v[3], const double m[9], double x[3]) {
    for (int j = 0; j < 3; j++) x[j] = v[0] * m[j] + v[1] * m[3 + j] + v[2] * m[6 + j];
}
static double wrap_half(double x) { return x - nearbyint(x); }   /* into [-0.5, 0.5] */

/* ---- Niggli reduction (Krivy & Gruber 1976 with the tolerances of Grosse-Kunstleve, Sauter
 * and Adams 2004), applied to the basis vectors themselves so that the result is an exact
 * integer change of basis of the input: out = T m, det T = +1. ---- */
static void apply_cols(double b[9], int32_t T[9], const int M[9]) {
    /* new vector i = sum_j M[j][i] old_j (the columns of M), as G' = M^T G M */
    double  nb[9];
    int32_t nT[9];
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) {
            double  s = 0;
            int32_t t = 0;
            for (int j = 0; j < 3; j++) {
                s += M[3 * j + i] * b[3 * j + k];
                t += M[3 * j + i] * T[3 * j + k];
            }
            nb[3 * i + k] = s;
            nT[3 * i + k] = t;
        }
    memcpy(b, nb, sizeof nb);
    memcpy(T, nT, sizeof nT);
}

static int sgn_eps(double x, double e) { return fabs(x) <= e ? 0 : (x > 0 ? 1 : -1); }

sdg_status sdg_lattice_niggli_reduce(const double m[9], double tol, double out[9], int32_t T[9]) {
    if (!m || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_lattice_niggli_reduce: NULL argument");
    for (int k = 0; k < 9; k++)
        if (!isfinite(m[k])) return SDG_ERROR(SDG_ERR_NUMERIC, "niggli: lattice entry %d is not finite", k);
    double vol = fabs(det3(m));
    if (!(vol > 0)) return SDG_ERROR(SDG_ERR_NUMERIC, "niggli: singular lattice");
    double  b[9];
    int32_t t[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    memcpy(b, m, sizeof b);
    const double e = tol * cbrt(vol);
    int iter;
    for (iter = 0; iter < 10000; iter++) {
        double A = dot3(b, b), B = dot3(b + 3, b + 3), C = dot3(b + 6, b + 6);
        double X = 2 * dot3(b + 3, b + 6), E = 2 * dot3(b, b + 6), Z = 2 * dot3(b, b + 3);
        /* N1: A <= B, with |xi| <= |eta| on ties */
        if (A > B + e || (fabs(A - B) <= e && fabs(X) > fabs(E) + e)) {
            apply_cols(b, t, (const int[9]){0, -1, 0, -1, 0, 0, 0, 0, -1});
            continue;
        }
        /* N2: B <= C, with |eta| <= |zeta| on ties */
        if (B > C + e || (fabs(B - C) <= e && fabs(E) > fabs(Z) + e)) {
            apply_cols(b, t, (const int[9]){-1, 0, 0, 0, 0, -1, 0, -1, 0});
            continue;
        }
        /* N3 / N4: all three products positive, or all non-positive */
        int l = sgn_eps(X, e), mm = sgn_eps(E, e), n = sgn_eps(Z, e);
        if (l * mm * n == 1) {
            int i = l == -1 ? -1 : 1, j = mm == -1 ? -1 : 1, k = n == -1 ? -1 : 1;
            apply_cols(b, t, (const int[9]){i, 0, 0, 0, j, 0, 0, 0, k});
        } else {
            int i = l == 1 ? -1 : 1, j = mm == 1 ? -1 : 1, k = n == 1 ? -1 : 1;
            if (i * j * k == -1) {
                if (n == 0) k = -1;
                else if (mm == 0) j = -1;
                else if (l == 0) i = -1;
            }
            if (i * j * k == 1) apply_cols(b, t, (const int[9]){i, 0, 0, 0, j, 0, 0, 0, k});
        }
        A = dot3(b, b), B = dot3(b + 3, b + 3), C = dot3(b + 6, b + 6);
        X = 2 * dot3(b + 3, b + 6), E = 2 * dot3(b, b + 6), Z = 2 * dot3(b, b + 3);
        /* N5: c -= sign(xi) b */
        if (fabs(X) > B + e || (fabs(X - B) <= e && 2 * E < Z - e) || (fabs(X + B) <= e && Z < -e)) {
            int s = X > 0 ? 1 : -1;
            apply_cols(b, t, (const int[9]){1, 0, 0, 0, 1, -s, 0, 0, 1});
            continue;
        }
        /* N6: c -= sign(eta) a */
        if (fabs(E) > A + e || (fabs(A - E) <= e && 2 * X < Z - e) || (fabs(A + E) <= e && Z < -e)) {
            int s = E > 0 ? 1 : -1;
            apply_cols(b, t, (const int[9]){1, 0, -s, 0, 1, 0, 0, 0, 1});
            continue;
        }
        /* N7: b -= sign(zeta) a */
        if (fabs(Z) > A + e || (fabs(A - Z) <= e && 2 * X < E - e) || (fabs(A + Z) <= e && E < -e)) {
            int s = Z > 0 ? 1 : -1;
            apply_cols(b, t, (const int[9]){1, -s, 0, 0, 1, 0, 0, 0, 1});
            continue;
        }
        /* N8: c += a + b */
        double s8 = X + E + Z + A + B;
        if (s8 < -e || (fabs(s8) <= e && 2 * (A + E) + Z > e)) {
            apply_cols(b, t, (const int[9]){1, 0, 1, 0, 1, 1, 0, 0, 1});
            continue;
        }
        break;
    }
    if (iter == 10000) return SDG_ERROR(SDG_ERR_NUMERIC, "niggli: no convergence in 10000 steps");
    if (det3(b) * det3(m) < 0) {   /* keep the handedness: the steps above all have det +1 */
        for (int k = 0; k < 9; k++) b[k] = -b[k], t[k] = -t[k];
    }
    memcpy(out, b, sizeof b);
    if (T) memcpy(T, t, sizeof t);
    return SDG_OK;
}

/* c in a new basis: lattice out = T m (T integer, |det T| = 1), f' = f T^-1, wrapped. */
static sdg_status change_basis(const sdg_crystal *c, const double lat[9], sdg_crystal **out) {
    sdg_status   st = SDG_OK;
    sdg_crystal *r = NULL;
    double       inv[9];
    *out = NULL;
    if (sdg_lattice_inverse(lat, inv) != 0) return SDG_ERROR(SDG_ERR_NUMERIC, "singular lattice");
    SDG_TRY(sdg_crystal_new(lat, &r));
    SDG_TRY(sdg_crystal_set_name(r, c->name));
    for (int64_t i = 0; i < c->n_atoms; i++) {
        double x[3], f[3];
        vecmat(c->frac + 3 * i, c->lattice, x);
        vecmat(x, inv, f);
        for (int k = 0; k < 3; k++) f[k] = sdg_wrap01(f[k]);
        SDG_TRY(sdg_crystal_add_site(r, c->z[i], f));
    }
    *out = r;
    r = NULL;
cleanup:
    sdg_crystal_free(r);
    return st;
}

sdg_status sdg_crystal_niggli_reduce(const sdg_crystal *c, sdg_crystal **out) {
    if (!c || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_crystal_niggli_reduce: NULL argument");
    *out = NULL;
    double red[9];
    sdg_status st = sdg_lattice_niggli_reduce(c->lattice, 1e-5, red, NULL);
    if (st != SDG_OK) return st;
    return change_basis(c, red, out);
}

/* ---- primitive cell ---- */
static int64_t gcd64(int64_t a, int64_t b) {
    a = a < 0 ? -a : a, b = b < 0 ? -b : b;
    while (b) {
        int64_t t = a % b;
        a = b, b = t;
    }
    return a;
}

/* Integer row echelon form of rows r (nr x 3) by Euclid; the first 3 rows become a basis
 * (upper triangular) of the lattice the rows span. Returns its |det| (0 if rank < 3). */
static int64_t int_basis(int64_t (*r)[3], int nr) {
    int row = 0;
    for (int col = 0; col < 3 && row < nr; col++) {
        for (;;) {   /* Euclid on column col among rows row..nr-1 */
            int piv = -1;
            for (int i = row; i < nr; i++)
                if (r[i][col] != 0 && (piv < 0 || llabs(r[i][col]) < llabs(r[piv][col]))) piv = i;
            if (piv < 0) break;
            if (piv != row)
                for (int k = 0; k < 3; k++) {
                    int64_t t = r[row][k];
                    r[row][k] = r[piv][k], r[piv][k] = t;
                }
            bool done = true;
            for (int i = row + 1; i < nr; i++) {
                if (r[i][col] == 0) continue;
                int64_t q = r[i][col] / r[row][col];
                for (int k = 0; k < 3; k++) r[i][k] -= q * r[row][k];
                if (r[i][col] != 0) done = false;
            }
            if (done) break;
        }
        if (r[row][col] != 0) row++;
    }
    if (row < 3) return 0;
    return llabs(r[0][0] * r[1][1] * r[2][2]);
}

static int by_z(const void *a, const void *b) {
    const int64_t *x = a, *y = b;   /* pairs (z, index) */
    return x[0] != y[0] ? (x[0] < y[0] ? -1 : 1) : (x[1] < y[1] ? -1 : x[1] > y[1]);
}

/* Sites sorted by z (stable): a copy of c. */
static sdg_status sorted_copy(const sdg_crystal *c, sdg_crystal **out) {
    sdg_status   st = SDG_OK;
    sdg_crystal *r = NULL;
    int64_t     *key = malloc((size_t)(2 * c->n_atoms + 2) * sizeof *key);
    *out = NULL;
    if (!key) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < c->n_atoms; i++) key[2 * i] = c->z[i], key[2 * i + 1] = i;
    qsort(key, (size_t)c->n_atoms, 2 * sizeof *key, by_z);
    SDG_TRY(sdg_crystal_new(c->lattice, &r));
    SDG_TRY(sdg_crystal_set_name(r, c->name));
    for (int64_t i = 0; i < c->n_atoms; i++) {
        int64_t j = key[2 * i + 1];
        double  f[3] = {sdg_wrap01(c->frac[3 * j]), sdg_wrap01(c->frac[3 * j + 1]), sdg_wrap01(c->frac[3 * j + 2])};
        SDG_TRY(sdg_crystal_add_site(r, c->z[j], f));
    }
    *out = r;
    r = NULL;
cleanup:
    free(key);
    sdg_crystal_free(r);
    return st;
}

/* How far translation t (fractional) is from mapping every site onto a site of its species:
 * the largest over sites of the best partner's largest per-axis mismatch in Angstrom (len:
 * the axis lengths); INFINITY when some site has no partner within lim Angstrom per axis. */
static double period_error(const sdg_crystal *c, const double t[3], const double len[3], double lim) {
    double worst = 0;
    for (int64_t i = 0; i < c->n_atoms; i++) {
        double best = INFINITY;
        for (int64_t j = 0; j < c->n_atoms; j++) {
            if (c->z[j] != c->z[i]) continue;
            double e = 0;
            for (int k = 0; k < 3; k++) e = fmax(e, fabs(wrap_half(c->frac[3 * i + k] + t[k] - c->frac[3 * j + k])) * len[k]);
            best = fmin(best, e);
        }
        if (!(best < lim)) return INFINITY;
        worst = fmax(worst, best);
    }
    return worst;
}

/* The cell of s (sites sorted by z) reduced by the nt periods tr (the identity first), or
 * *out = NULL when they do not form a group of order nt whose images fold within tol. */
static sdg_status fold_periods(const sdg_crystal *s, const double *tr, int64_t nt, double tol, sdg_crystal **out) {
    sdg_status   st = SDG_OK;
    sdg_crystal *r = NULL;
    int64_t    (*gen)[3] = NULL, *cnt = NULL;
    double      *acc = NULL;
    int32_t     *mz = NULL;
    const int64_t n = s->n_atoms;
    *out = NULL;
    /* the lattice spanned by Z^3 and the periods, whose coordinates have denominator nt */
    gen = malloc((size_t)(nt + 2) * sizeof *gen);
    if (!gen) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) gen[i][k] = i == k ? nt : 0;
    for (int64_t p = 1; p < nt; p++)
        for (int k = 0; k < 3; k++) {
            double v = tr[3 * p + k] * (double)nt;
            if (fabs(v - nearbyint(v)) > 0.25) goto cleanup;   /* not of order dividing nt */
            gen[2 + p][k] = (int64_t)nearbyint(v);
        }
    if (int_basis(gen, (int)(nt + 2)) != nt * nt) goto cleanup;   /* not a group of order nt */
    double P[9], lat[9], inv[9], plen[3];
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) P[3 * i + k] = (double)gen[i][k] / (double)nt;
    for (int i = 0; i < 3; i++) vecmat(P + 3 * i, s->lattice, lat + 3 * i);
    if (sdg_lattice_inverse(P, inv) != 0) goto cleanup;
    /* the per-axis tolerance is checked in this (echelon) basis, not a reduced one: pymatgen
     * also folds in the basis its supercell matrix gives, and agreement on noisy cells with
     * pymatgen is higher this way (docs/crystals.md "Evaluation") */
    for (int k = 0; k < 3; k++) plen[k] = sqrt(dot3(lat + 3 * k, lat + 3 * k));
    /* fold the sites into the small cell: each new site averages its nt images */
    acc = calloc((size_t)(3 * n), sizeof *acc);
    cnt = calloc((size_t)n, sizeof *cnt);
    mz = malloc((size_t)n * sizeof *mz);
    if (!acc || !cnt || !mz) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        double f[3];
        vecmat(s->frac + 3 * i, inv, f);
        int64_t hit = -1;
        for (int64_t q = 0; q < m && hit < 0; q++) {
            if (mz[q] != s->z[i]) continue;
            bool ok = true;
            for (int k = 0; k < 3 && ok; k++)
                ok = fabs(wrap_half(f[k] - acc[3 * q + k] / (double)cnt[q])) * plen[k] < tol;
            if (ok) hit = q;
        }
        if (hit < 0) {
            hit = m++;
            mz[hit] = s->z[i];
            for (int k = 0; k < 3; k++) acc[3 * hit + k] = sdg_wrap01(f[k]);
        } else {
            for (int k = 0; k < 3; k++) {   /* the image nearest the running mean */
                double mean = acc[3 * hit + k] / (double)cnt[hit];
                acc[3 * hit + k] += mean + wrap_half(f[k] - mean);
            }
        }
        cnt[hit]++;
    }
    if (m * nt != n) goto cleanup;
    for (int64_t q = 0; q < m; q++)
        if (cnt[q] != nt) goto cleanup;
    SDG_TRY(sdg_crystal_new(lat, &r));
    SDG_TRY(sdg_crystal_set_name(r, s->name));
    for (int64_t q = 0; q < m; q++) {
        double f[3];
        for (int k = 0; k < 3; k++) f[k] = sdg_wrap01(acc[3 * q + k] / (double)nt);
        SDG_TRY(sdg_crystal_add_site(r, mz[q], f));
    }
    *out = r;
    r = NULL;
cleanup:
    free(gen), free(cnt), free(acc), free(mz);
    sdg_crystal_free(r);
    return st;
}

/* Closes the set `in` of candidate periods tr (ncand, the identity at 0) under addition, each
 * sum matched to a candidate within lim Angstrom per axis. False when some sum matches none. */
static bool closure(const double *tr, int64_t ncand, const double len[3], double lim, char *in) {
    bool grew = true;
    while (grew) {
        grew = false;
        for (int64_t x = 0; x < ncand; x++)
            for (int64_t y = x; y < ncand; y++) {
                if (!in[x] || !in[y]) continue;
                int64_t hit = -1;
                for (int64_t z = 0; z < ncand && hit < 0; z++) {
                    bool close = true;
                    for (int k = 0; k < 3 && close; k++)
                        close = fabs(wrap_half(tr[3 * x + k] + tr[3 * y + k] - tr[3 * z + k])) * len[k] < lim;
                    if (close) hit = z;
                }
                if (hit < 0) return false;
                if (!in[hit]) in[hit] = 1, grew = true;
            }
    }
    return true;
}

typedef struct period { double t[3], err; } period;
static int by_err(const void *a, const void *b) {
    double x = ((const period *)a)->err, y = ((const period *)b)->err;
    return (x > y) - (x < y);
}

sdg_status sdg_crystal_primitive(const sdg_crystal *c, double tol, sdg_crystal **out) {
    sdg_status   st = SDG_OK;
    sdg_crystal *s = NULL, *r = NULL;
    period      *cand = NULL;
    double      *tr = NULL, *grp = NULL;
    char        *inG = NULL, *trial = NULL;
    int64_t     *hist = NULL;
    if (!c || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_crystal_primitive: NULL argument");
    *out = NULL;
    if (!(tol > 0)) return SDG_ERROR(SDG_ERR_INVALID, "sdg_crystal_primitive: tolerance %g is not positive", tol);
    {   /* work in the Niggli cell, where a box in fractional coordinates is a compact region */
        sdg_crystal *red = NULL;
        SDG_TRY(sdg_crystal_niggli_reduce(c, &red));
        st = sorted_copy(red, &s);
        sdg_crystal_free(red);
        if (st != SDG_OK) goto cleanup;
    }
    const int64_t n = s->n_atoms;
    double        len[3];
    for (int k = 0; k < 3; k++) len[k] = sqrt(dot3(s->lattice + 3 * k, s->lattice + 3 * k));
    /* the rarest species: its sites give the candidate periods; the gcd of the species counts
     * bounds their number */
    int64_t best_start = 0, best_n = n + 1, g = 0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j < n && s->z[j] == s->z[i]) j++;
        if (j - i < best_n) best_n = j - i, best_start = i;
        g = gcd64(g, j - i);
        i = j;
    }
    if (n < 2 || g < 2) goto keep;
    cand = malloc((size_t)best_n * sizeof *cand);
    tr = malloc((size_t)(3 * best_n) * sizeof *tr);
    if (!cand || !tr) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    int64_t nc = 0;
    for (int64_t j = best_start + 1; j < best_start + best_n; j++) {
        period p;
        for (int k = 0; k < 3; k++) p.t[k] = wrap_half(s->frac[3 * j + k] - s->frac[3 * best_start + k]);
        /* both ends of a candidate are approximate: twice the tolerance, as pymatgen */
        p.err = period_error(s, p.t, len, 2 * tol);
        if (isfinite(p.err)) cand[nc++] = p;
    }
    /* Grow a group greedily: the candidates in order of error, each added with the closure it
     * generates when every sum of two members is again a candidate (within the candidates'
     * tolerance) and the group's order divides every species count. Then fold with the
     * largest group, or with the smaller ones met on the way if folding fails. */
    qsort(cand, (size_t)nc, sizeof *cand, by_err);
    tr[0] = tr[1] = tr[2] = 0;
    for (int64_t i = 0; i < nc; i++) memcpy(tr + 3 * (i + 1), cand[i].t, sizeof cand[i].t);
    const int64_t ncand = nc + 1;   /* candidates with the identity at 0 */
    inG = calloc((size_t)ncand, 1);
    trial = calloc((size_t)ncand, 1);
    hist = malloc((size_t)(ncand + 1) * sizeof *hist);
    grp = malloc((size_t)(3 * ncand) * sizeof *grp);
    if (!inG || !trial || !hist || !grp) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    inG[0] = 1;
    int64_t order = 1, nh = 0;
    for (int64_t c0 = 1; c0 < ncand; c0++) {
        if (inG[c0]) continue;
        memcpy(trial, inG, (size_t)ncand);
        trial[c0] = 1;
        bool ok = closure(tr, ncand, len, 2 * tol, trial);
        int64_t cnt = 0;
        for (int64_t z = 0; z < ncand; z++) cnt += trial[z];
        if (!ok || g % cnt != 0) continue;
        memcpy(inG, trial, (size_t)ncand);
        order = cnt;
        hist[nh++] = c0;   /* the group after adding c0 has order `order` */
    }
    /* fold with the final group; on failure retry with the groups before the last additions */
    while (order >= 2) {
        int64_t m = 0;
        for (int64_t z = 0; z < ncand; z++)
            if (inG[z]) memcpy(grp + 3 * m++, tr + 3 * z, 3 * sizeof *tr);
        /* the identity first */
        SDG_TRY(fold_periods(s, grp, m, tol, &r));
        if (r) {
            *out = r;
            r = NULL;
            goto cleanup;
        }
        if (--nh < 0) break;
        /* rebuild the group without the last generator (closure of the earlier ones) */
        memset(inG, 0, (size_t)ncand);
        inG[0] = 1;
        order = 1;
        for (int64_t h = 0; h < nh; h++) {
            memcpy(trial, inG, (size_t)ncand);
            trial[hist[h]] = 1;
            closure(tr, ncand, len, 2 * tol, trial);   /* a subgroup: succeeded before */
            memcpy(inG, trial, (size_t)ncand);
        }
        order = 0;
        for (int64_t z = 0; z < ncand; z++) order += inG[z];
    }
keep:
    *out = s;
    s = NULL;
cleanup:
    free(cand), free(tr), free(grp), free(inG), free(trial), free(hist);
    sdg_crystal_free(s);
    sdg_crystal_free(r);
    return st;
}

/* ---- prepared crystals: primitive, Niggli-reduced, sorted by species ---- */
typedef struct mprep {
    int64_t  n;           /* sites                                      */
    double   lat[9];      /* Niggli-reduced lattice                     */
    double   vol;
    double   mu[3];       /* reduced lengths / V^(1/3), ascending       */
    int32_t *z;           /* (n) ascending                              */
    double  *frac;        /* (n, 3) in [0, 1)                           */
    size_t   ne;          /* distinct elements                          */
    int32_t *zs;          /* (ne) reduced composition                   */
    int64_t *counts;      /* (ne)                                       */
    uint64_t hash;        /* of (zs, counts, n)                         */
} mprep;

static void mprep_destroy(mprep *m) {
    if (!m) return;
    free(m->z), free(m->frac), free(m->zs), free(m->counts);
    memset(m, 0, sizeof *m);
}

static sdg_status mprep_init(mprep *m, const sdg_crystal *c, const sdg_match_params *p) {
    sdg_status   st = SDG_OK;
    sdg_crystal *prim = NULL, *red = NULL, *srt = NULL;
    memset(m, 0, sizeof *m);
    if (c->n_atoms < 1) return SDG_ERROR(SDG_ERR_INVALID, "match: crystal has no sites");
    for (int k = 0; k < 9; k++)
        if (!isfinite(c->lattice[k])) return SDG_ERROR(SDG_ERR_NUMERIC, "match: lattice is not finite");
    if (!(sdg_lattice_volume(c->lattice) > 0)) return SDG_ERROR(SDG_ERR_NUMERIC, "match: singular lattice");
    if (p->primitive_cell) SDG_TRY(sdg_crystal_primitive(c, p->primitive_tol, &prim));
    SDG_TRY(sdg_crystal_niggli_reduce(prim ? prim : c, &red));
    SDG_TRY(sorted_copy(red, &srt));
    m->n = srt->n_atoms;
    memcpy(m->lat, srt->lattice, sizeof m->lat);
    m->vol = sdg_lattice_volume(m->lat);
    double len[3];
    for (int k = 0; k < 3; k++) len[k] = sqrt(dot3(m->lat + 3 * k, m->lat + 3 * k));
    for (int i = 1; i < 3; i++)   /* Niggli gives a <= b <= c up to its tolerance */
        for (int j = i; j > 0 && len[j - 1] > len[j]; j--) {
            double t = len[j];
            len[j] = len[j - 1], len[j - 1] = t;
        }
    for (int k = 0; k < 3; k++) m->mu[k] = len[k] / cbrt(m->vol);
    m->z = malloc((size_t)m->n * sizeof *m->z);
    m->frac = malloc((size_t)(3 * m->n) * sizeof *m->frac);
    m->zs = malloc((size_t)m->n * sizeof *m->zs);
    m->counts = malloc((size_t)m->n * sizeof *m->counts);
    if (!m->z || !m->frac || !m->zs || !m->counts) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    memcpy(m->z, srt->z, (size_t)m->n * sizeof *m->z);
    memcpy(m->frac, srt->frac, (size_t)(3 * m->n) * sizeof *m->frac);
    SDG_TRY(sdg_crystal_composition(srt, m->zs, m->counts, (size_t)m->n, &m->ne));
    uint64_t h = 1469598103934665603ull;   /* FNV-1a over the composition and the site count */
    for (size_t k = 0; k < m->ne; k++) {
        h = (h ^ (uint64_t)m->zs[k]) * 1099511628211ull;
        h = (h ^ (uint64_t)m->counts[k]) * 1099511628211ull;
    }
    m->hash = (h ^ (uint64_t)m->n) * 1099511628211ull;
cleanup:
    if (st != SDG_OK) mprep_destroy(m);
    sdg_crystal_free(prim), sdg_crystal_free(red), sdg_crystal_free(srt);
    return st;
}

static bool same_key(const mprep *a, const mprep *b) {
    if (a->n != b->n || a->ne != b->ne) return false;
    for (size_t k = 0; k < a->ne; k++)
        if (a->zs[k] != b->zs[k] || a->counts[k] != b->counts[k]) return false;
    return true;
}

/* ---- assignment: Hungarian algorithm (potentials, O(n^3)) on an n x n cost block ---- */
static void hungarian(const double *cost, int n, int ld, int *assign, double *u, double *v, int *p, int *way,
                      double *minv, char *used) {
    /* 1-based potentials; p[j] = row matched to column j */
    for (int j = 0; j <= n; j++) u[j] = v[j] = 0, p[j] = 0, way[j] = 0;
    for (int i = 1; i <= n; i++) {
        p[0] = i;
        int j0 = 0;
        for (int j = 0; j <= n; j++) minv[j] = INFINITY, used[j] = 0;
        do {
            used[j0] = 1;
            int i0 = p[j0], j1 = 0;
            double delta = INFINITY;
            for (int j = 1; j <= n; j++)
                if (!used[j]) {
                    double cur = cost[(i0 - 1) * ld + (j - 1)] - u[i0] - v[j];
                    if (cur < minv[j]) minv[j] = cur, way[j] = j0;
                    if (minv[j] < delta) delta = minv[j], j1 = j;
                }
            if (j1 == 0) break;   /* cannot happen with finite costs */
            for (int j = 0; j <= n; j++)
                if (used[j]) u[p[j]] += delta, v[j] -= delta;
                else minv[j] -= delta;
            j0 = j1;
        } while (p[j0] != 0);
        do {
            int j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0);
    }
    for (int j = 1; j <= n; j++)
        if (p[j] > 0) assign[p[j] - 1] = j - 1;
}

/* Workspace of one comparison of n-site crystals. */
typedef struct mwork {
    int64_t n;
    double *cart1, *f1, *vec, *cost, *hu, *hv, *minv;
    int    *assign, *hp, *hway;
    char   *used;
    double *va, *vb, *vc;   /* candidate vectors, 3 each          */
    int32_t *ia, *ib, *ic;  /* their integer coordinates, 3 each  */
    size_t  capa, capb, capc;
} mwork;

static void mwork_destroy(mwork *w) {
    free(w->cart1), free(w->f1), free(w->vec), free(w->cost), free(w->hu), free(w->hv), free(w->minv);
    free(w->assign), free(w->hp), free(w->hway), free(w->used);
    free(w->va), free(w->vb), free(w->vc), free(w->ia), free(w->ib), free(w->ic);
    memset(w, 0, sizeof *w);
}


static sdg_status mwork_reserve(mwork *w, int64_t n) {
    if (w->n >= n) return SDG_OK;
    free(w->cart1), free(w->f1), free(w->vec), free(w->cost), free(w->hu), free(w->hv), free(w->minv);
    free(w->assign), free(w->hp), free(w->hway), free(w->used);
    w->n = 0;
    size_t s = (size_t)n;
    w->cart1 = malloc(3 * s * sizeof(double));
    w->f1 = malloc(3 * s * sizeof(double));
    w->vec = malloc(3 * s * s * sizeof(double));
    w->cost = malloc(s * s * sizeof(double));
    w->hu = malloc((s + 1) * sizeof(double));
    w->hv = malloc((s + 1) * sizeof(double));
    w->minv = malloc((s + 1) * sizeof(double));
    w->assign = malloc(s * sizeof(int));
    w->hp = malloc((s + 1) * sizeof(int));
    w->hway = malloc((s + 1) * sizeof(int));
    w->used = malloc(s + 1);
    if (!w->cart1 || !w->f1 || !w->vec || !w->cost || !w->hu || !w->hv || !w->minv || !w->assign || !w->hp ||
        !w->hway || !w->used) {
        mwork_destroy(w);
        return SDG_ERROR(SDG_ERR_NOMEM, "out of memory for a %lld-site comparison", (long long)n);
    }
    w->n = n;
    return SDG_OK;
}

static sdg_status push_vec(double **v, int32_t **iv, size_t *cnt, size_t *cap, const double x[3], const int32_t c[3]) {
    if (*cnt == *cap) {
        size_t   nc = *cap ? 2 * *cap : 64;
        double  *nv = realloc(*v, 3 * nc * sizeof *nv);
        if (!nv) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
        *v = nv;
        int32_t *ni = realloc(*iv, 3 * nc * sizeof *ni);
        if (!ni) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
        *iv = ni;
        *cap = nc;
    }
    memcpy(*v + 3 * *cnt, x, 3 * sizeof *x);
    memcpy(*iv + 3 * *cnt, c, 3 * sizeof *c);
    (*cnt)++;
    return SDG_OK;
}

static double angle_deg(const double *a, const double *b, double la, double lb) {
    double x = dot3(a, b) / (la * lb);
    x = x > 1 ? 1 : x < -1 ? -1 : x;
    return acos(x) * 180.0 / SDG_PI;
}

/* Sites of s2, translated by t, against s1's f1 in the candidate basis; species blocks aligned.
 * Returns true when every s2 site has an s1 site of its species within ftol per axis. */
static bool subset_ok(const mprep *s1, const double *f1, const mprep *s2, const double t[3], const double ftol[3]) {
    for (int64_t i = 0; i < s2->n; i++) {
        bool hit = false;
        for (int64_t j = 0; j < s1->n && !hit; j++) {
            if (s1->z[j] != s2->z[i]) continue;
            hit = true;
            for (int k = 0; k < 3 && hit; k++)
                if (!(fabs(wrap_half(s2->frac[3 * i + k] + t[k] - f1[3 * j + k])) < ftol[k])) hit = false;
        }
        if (!hit) return false;
    }
    return true;
}

/* The comparison proper: s1's lattice bases against s2's reduced basis. */
static sdg_status match_core(const mprep *s1, const mprep *s2, const sdg_match_params *p, mwork *w,
                             sdg_match_result *r) {
    sdg_status st = SDG_OK;
    r->match = false;
    r->max_dist = r->rms_dist = INFINITY;
    r->n_bases = 0;
    if (!same_key(s1, s2)) return SDG_OK;   /* reduced composition or primitive sites differ */
    const int64_t n = s1->n;
    SDG_TRY(mwork_reserve(w, n));
    double L1[9], L2[9];
    double ratio = p->scale ? pow(s2->vol / s1->vol, 1.0 / 6.0) : 1.0;
    for (int k = 0; k < 9; k++) L1[k] = s1->lat[k] * ratio, L2[k] = s2->lat[k] / ratio;
    double p2[6];
    sdg_lattice_to_params(L2, p2);
    for (int64_t i = 0; i < n; i++) vecmat(s1->frac + 3 * i, L1, w->cart1 + 3 * i);
    /* lattice vectors of L1 within (1 + ltol) of each of s2's lengths */
    double rmax = fmax(p2[0], fmax(p2[1], p2[2])) * (1 + p->ltol), inv1[9];
    if (sdg_lattice_inverse(L1, inv1) != 0) SDG_FAIL(SDG_ERR_NUMERIC, "match: singular lattice");
    int bound[3];
    for (int k = 0; k < 3; k++) {   /* |n_k| <= rmax |b*_k|, b*_k the k-th column of L1^-1 */
        double h = sqrt(inv1[k] * inv1[k] + inv1[3 + k] * inv1[3 + k] + inv1[6 + k] * inv1[6 + k]);
        double b = floor(rmax * h + 1e-9);
        if (b > 200) SDG_FAIL(SDG_ERR_NUMERIC, "match: lattice too skewed to enumerate (bound %g)", b);
        bound[k] = (int)b;
    }
    size_t na = 0, nb = 0, nc = 0;
    for (int a = -bound[0]; a <= bound[0]; a++)
        for (int b = -bound[1]; b <= bound[1]; b++)
            for (int c = -bound[2]; c <= bound[2]; c++) {
                double x[3];
                for (int k = 0; k < 3; k++) x[k] = a * L1[k] + b * L1[3 + k] + c * L1[6 + k];
                double  d = sqrt(dot3(x, x));
                int32_t ic[3] = {a, b, c};
                if (d == 0) continue;
                for (int t = 0; t < 3; t++) {
                    double q = d / p2[t];
                    if (!(q < 1 + p->ltol && q > 1 / (1 + p->ltol))) continue;
                    if (t == 0) SDG_TRY(push_vec(&w->va, &w->ia, &na, &w->capa, x, ic));
                    if (t == 1) SDG_TRY(push_vec(&w->vb, &w->ib, &nb, &w->capb, x, ic));
                    if (t == 2) SDG_TRY(push_vec(&w->vc, &w->ic, &nc, &w->capc, x, ic));
                }
            }
    /* the rarest species of s2 anchors the translations */
    int64_t i0 = 0, best = n + 1;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j < n && s2->z[j] == s2->z[i]) j++;
        if (j - i < best) best = j - i, i0 = i;
        i = j;
    }
    for (size_t ia = 0; ia < na; ia++) {
        const double *A = w->va + 3 * ia;
        double        la = sqrt(dot3(A, A));
        for (size_t ib = 0; ib < nb; ib++) {
            const double *B = w->vb + 3 * ib;
            double        lb = sqrt(dot3(B, B));
            if (!(fabs(angle_deg(A, B, la, lb) - p2[5]) < p->angle_tol)) continue;
            for (size_t ic = 0; ic < nc; ic++) {
                const double *C = w->vc + 3 * ic;
                double        lc = sqrt(dot3(C, C));
                if (!(fabs(angle_deg(B, C, lb, lc) - p2[3]) < p->angle_tol)) continue;
                if (!(fabs(angle_deg(A, C, la, lc) - p2[4]) < p->angle_tol)) continue;
                /* only bases of the same lattice: |det| of the integer matrix = 1 */
                const int32_t *xa = w->ia + 3 * ia, *xb = w->ib + 3 * ib, *xc = w->ic + 3 * ic;
                int64_t det = (int64_t)xa[0] * ((int64_t)xb[1] * xc[2] - (int64_t)xb[2] * xc[1]) -
                              (int64_t)xa[1] * ((int64_t)xb[0] * xc[2] - (int64_t)xb[2] * xc[0]) +
                              (int64_t)xa[2] * ((int64_t)xb[0] * xc[1] - (int64_t)xb[1] * xc[0]);
                if (det != 1 && det != -1) continue;
                r->n_bases++;
                double L[9] = {A[0], A[1], A[2], B[0], B[1], B[2], C[0], C[1], C[2]}, Linv[9];
                if (sdg_lattice_inverse(L, Linv) != 0) continue;
                for (int64_t i = 0; i < n; i++) {
                    vecmat(w->cart1 + 3 * i, Linv, w->f1 + 3 * i);
                    for (int k = 0; k < 3; k++) w->f1[3 * i + k] = sdg_wrap01(w->f1[3 * i + k]);
                }
                /* the average lattice, on which distances are measured */
                double pl[6], pa[6], avg[9], ainv[9];
                sdg_lattice_to_params(L, pl);
                for (int k = 0; k < 6; k++) pa[k] = (pl[k] + p2[k]) / 2;
                if (sdg_lattice_from_params(pa, avg) != SDG_OK) {
                    sdg_error_clear();
                    continue;
                }
                if (sdg_lattice_inverse(avg, ainv) != 0) continue;
                double norm = cbrt((double)n / sdg_lattice_volume(avg)), ftol[3];
                for (int k = 0; k < 3; k++) {
                    double h = sqrt(ainv[k] * ainv[k] + ainv[3 + k] * ainv[3 + k] + ainv[6 + k] * ainv[6 + k]);
                    ftol[k] = 2 * p->stol * h / norm;
                }
                for (int64_t j = 0; j < n; j++) {
                    if (s1->z[j] != s2->z[i0]) continue;
                    double t[3];
                    for (int k = 0; k < 3; k++) t[k] = w->f1[3 * j + k] - s2->frac[3 * i0 + k];
                    if (!subset_ok(s1, w->f1, s2, t, ftol)) continue;
                    /* shortest vectors from s2's sites to s1's, same species only */
                    for (int64_t a = 0; a < n; a++)
                        for (int64_t b = 0; b < n; b++) {
                            double *v = w->vec + 3 * (a * n + b);
                            if (s2->z[a] != s1->z[b]) {
                                w->cost[a * n + b] = 1e30;
                                v[0] = v[1] = v[2] = 0;
                                continue;
                            }
                            double df[3], bestd = INFINITY;
                            for (int k = 0; k < 3; k++)
                                df[k] = wrap_half(w->f1[3 * b + k] - (s2->frac[3 * a + k] + t[k]));
                            for (int u = -1; u <= 1; u++)
                                for (int vv = -1; vv <= 1; vv++)
                                    for (int q = -1; q <= 1; q++) {
                                        double g[3] = {df[0] + u, df[1] + vv, df[2] + q}, x[3];
                                        vecmat(g, avg, x);
                                        double d2 = dot3(x, x);
                                        if (d2 < bestd) bestd = d2, memcpy(v, x, sizeof x);
                                    }
                            w->cost[a * n + b] = bestd;
                        }
                    /* optimal assignment within each species block */
                    for (int64_t s = 0; s < n;) {
                        int64_t e = s;
                        while (e < n && s2->z[e] == s2->z[s]) e++;
                        hungarian(w->cost + s * n + s, (int)(e - s), (int)n, w->assign + s, w->hu, w->hv, w->hp,
                                  w->hway, w->minv, w->used);
                        for (int64_t a = s; a < e; a++) w->assign[a] += (int)s;
                        s = e;
                    }
                    double mean[3] = {0, 0, 0};
                    for (int64_t a = 0; a < n; a++)
                        for (int k = 0; k < 3; k++) mean[k] += w->vec[3 * (a * n + w->assign[a]) + k] / (double)n;
                    double dmax = 0, ss = 0;
                    for (int64_t a = 0; a < n; a++) {
                        const double *v = w->vec + 3 * (a * n + w->assign[a]);
                        double        x[3] = {v[0] - mean[0], v[1] - mean[1], v[2] - mean[2]};
                        double        d = sqrt(dot3(x, x)) * norm;
                        dmax = fmax(dmax, d);
                        ss += d * d;
                    }
                    if (dmax < r->max_dist) r->max_dist = dmax, r->rms_dist = sqrt(ss / (double)n);
                    if (dmax < p->stol) {
                        r->match = true;
                        goto cleanup;
                    }
                }
            }
        }
    }
cleanup:
    return st;
}

static sdg_status check_params(const sdg_match_params *p) {
    if (!(p->ltol > 0 && p->ltol < 1) || !(p->stol > 0 && p->stol < 1) || !(p->angle_tol > 0 && p->angle_tol < 45) ||
        !(p->primitive_tol > 0 && p->primitive_tol < 2))
        return SDG_ERROR(SDG_ERR_INVALID, "match: tolerances out of range (ltol %g, stol %g, angle_tol %g, "
                                          "primitive_tol %g)", p->ltol, p->stol, p->angle_tol, p->primitive_tol);
    return SDG_OK;
}

sdg_status sdg_crystal_match(const sdg_crystal *a, const sdg_crystal *b, const sdg_match_params *p,
                             sdg_match_result *out) {
    sdg_status st = SDG_OK;
    mprep      pa = {0}, pb = {0};
    mwork      w = {0};
    if (!a || !b || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_crystal_match: NULL argument");
    sdg_match_params def = sdg_match_default_params();
    if (!p) p = &def;
    SDG_TRY(check_params(p));
    SDG_TRY(mprep_init(&pa, a, p));
    SDG_TRY(mprep_init(&pb, b, p));
    SDG_TRY(match_core(&pa, &pb, p, &w, out));
cleanup:
    mprep_destroy(&pa), mprep_destroy(&pb);
    mwork_destroy(&w);
    return st;
}

/* ---- the index: prepared crystals bucketed by (reduced composition, primitive sites) ---- */
typedef struct mbucket {
    size_t  first;          /* an entry with the bucket's key */
    size_t *ids;
    size_t  count, cap;
} mbucket;

struct sdg_match_index {
    sdg_match_params p;
    mprep           *e;      /* entries */
    size_t           n, cap;
    mbucket         *b;      /* buckets */
    size_t           nb, capb;
    size_t          *table;  /* open addressing: bucket index + 1, 0 = empty */
    size_t           tsize;
    mwork            w;
    size_t           pairs;  /* comparisons run past the prefilters */
};

sdg_status sdg_match_index_new(const sdg_match_params *p, sdg_match_index **out) {
    if (!out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_match_index_new: NULL argument");
    *out = NULL;
    sdg_match_params def = sdg_match_default_params();
    if (!p) p = &def;
    sdg_status st = check_params(p);
    if (st != SDG_OK) return st;
    sdg_match_index *x = calloc(1, sizeof *x);
    if (!x) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    x->p = *p;
    *out = x;
    return SDG_OK;
}

void sdg_match_index_free(sdg_match_index *x) {
    if (!x) return;
    for (size_t i = 0; i < x->n; i++) mprep_destroy(&x->e[i]);
    for (size_t i = 0; i < x->nb; i++) free(x->b[i].ids);
    free(x->e), free(x->b), free(x->table);
    mwork_destroy(&x->w);
    free(x);
}

size_t sdg_match_index_count(const sdg_match_index *x) { return x ? x->n : 0; }
size_t sdg_match_index_comparisons(const sdg_match_index *x) { return x ? x->pairs : 0; }

/* Bucket of key m, or -1 (slot: where to insert). */
static long bucket_find(const sdg_match_index *x, const mprep *m, size_t *slot) {
    if (!x->tsize) return -1;
    size_t s = (size_t)(m->hash & (x->tsize - 1));
    for (;; s = (s + 1) & (x->tsize - 1)) {
        if (!x->table[s]) {
            if (slot) *slot = s;
            return -1;
        }
        size_t bi = x->table[s] - 1;
        const mprep *r = &x->e[x->b[bi].first];
        if (r->hash == m->hash && same_key(r, m)) return (long)bi;
    }
}

static sdg_status table_grow(sdg_match_index *x) {
    size_t  ns = x->tsize ? 2 * x->tsize : 256;
    size_t *nt = calloc(ns, sizeof *nt);
    if (!nt) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    for (size_t bi = 0; bi < x->nb; bi++) {
        size_t s = (size_t)(x->e[x->b[bi].first].hash & (ns - 1));
        while (nt[s]) s = (s + 1) & (ns - 1);
        nt[s] = bi + 1;
    }
    free(x->table);
    x->table = nt;
    x->tsize = ns;
    return SDG_OK;
}

static sdg_status index_find_prepared(sdg_match_index *x, const mprep *q, bool *found, size_t *id) {
    sdg_status st = SDG_OK;
    *found = false;
    long bi = bucket_find(x, q, NULL);
    if (bi < 0) return SDG_OK;
    const mbucket *b = &x->b[bi];
    const double   lim = (1 + x->p.ltol) * (1 + 1e-9);
    for (size_t k = 0; k < b->count; k++) {
        const mprep *e = &x->e[b->ids[k]];
        /* a basis of q's lattice matching e's reduced lengths within ltol gives three independent
         * vectors no longer than (1 + ltol) times e's successive minima: q's minima are bounded */
        if (x->p.scale) {
            if (q->mu[0] > lim * e->mu[0] || q->mu[1] > lim * e->mu[1] || q->mu[2] > lim * e->mu[2]) continue;
        }
        sdg_match_result r;
        x->pairs++;
        SDG_TRY(match_core(q, e, &x->p, &x->w, &r));
        if (r.match) {
            *found = true;
            if (id) *id = b->ids[k];
            break;
        }
    }
cleanup:
    return st;
}

sdg_status sdg_match_index_find(sdg_match_index *x, const sdg_crystal *c, bool *found, size_t *id) {
    sdg_status st = SDG_OK;
    mprep      q = {0};
    if (!x || !c || !found) return SDG_ERROR(SDG_ERR_INVALID, "sdg_match_index_find: NULL argument");
    *found = false;
    SDG_TRY(mprep_init(&q, c, &x->p));
    SDG_TRY(index_find_prepared(x, &q, found, id));
cleanup:
    mprep_destroy(&q);
    return st;
}

static sdg_status index_add_prepared(sdg_match_index *x, mprep *m, size_t *id) {
    if (x->n == x->cap) {
        size_t nc = x->cap ? 2 * x->cap : 64;
        mprep *ne = realloc(x->e, nc * sizeof *ne);
        if (!ne) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
        x->e = ne;
        x->cap = nc;
    }
    size_t slot = 0;
    long   bi = bucket_find(x, m, &slot);
    if (bi < 0) {
        if (2 * (x->nb + 1) > x->tsize) {
            sdg_status st = table_grow(x);
            if (st != SDG_OK) return st;
            bucket_find(x, m, &slot);
        }
        if (x->nb == x->capb) {
            size_t   nc = x->capb ? 2 * x->capb : 64;
            mbucket *nbk = realloc(x->b, nc * sizeof *nbk);
            if (!nbk) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
            x->b = nbk;
            x->capb = nc;
        }
        x->b[x->nb] = (mbucket){.first = x->n};
        bi = (long)x->nb++;
        x->table[slot] = (size_t)bi + 1;
    }
    mbucket *b = &x->b[bi];
    if (b->count == b->cap) {
        size_t  nc = b->cap ? 2 * b->cap : 8;
        size_t *ni = realloc(b->ids, nc * sizeof *ni);
        if (!ni) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
        b->ids = ni;
        b->cap = nc;
    }
    b->ids[b->count++] = x->n;
    x->e[x->n] = *m;   /* the index takes the arrays */
    memset(m, 0, sizeof *m);
    if (id) *id = x->n;
    x->n++;
    return SDG_OK;
}

sdg_status sdg_match_index_add(sdg_match_index *x, const sdg_crystal *c, size_t *id) {
    sdg_status st = SDG_OK;
    mprep      m = {0};
    if (!x || !c) return SDG_ERROR(SDG_ERR_INVALID, "sdg_match_index_add: NULL argument");
    SDG_TRY(mprep_init(&m, c, &x->p));
    SDG_TRY(index_add_prepared(x, &m, id));
cleanup:
    mprep_destroy(&m);
    return st;
}

sdg_status sdg_match_index_find_or_add(sdg_match_index *x, const sdg_crystal *c, bool *found, size_t *id) {
    sdg_status st = SDG_OK;
    mprep      m = {0};
    if (!x || !c || !found) return SDG_ERROR(SDG_ERR_INVALID, "sdg_match_index_find_or_add: NULL argument");
    *found = false;
    SDG_TRY(mprep_init(&m, c, &x->p));
    SDG_TRY(index_find_prepared(x, &m, found, id));
    if (!*found) SDG_TRY(index_add_prepared(x, &m, id));
cleanup:
    mprep_destroy(&m);
    return st;
}

/* ---- Wasserstein-1 between two empirical distributions on the line ---- */
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

sdg_status sdg_wasserstein1(const double *u, size_t nu, const double *v, size_t nv, double *out) {
    sdg_status st = SDG_OK;
    double    *a = NULL, *b = NULL;
    if ((!u && nu) || (!v && nv) || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_wasserstein1: NULL argument");
    if (nu == 0 || nv == 0) return SDG_ERROR(SDG_ERR_INVALID, "sdg_wasserstein1: empty sample (%zu and %zu values)", nu, nv);
    for (size_t i = 0; i < nu; i++)
        if (!isfinite(u[i])) return SDG_ERROR(SDG_ERR_NUMERIC, "sdg_wasserstein1: value %zu of the first sample is not finite", i);
    for (size_t i = 0; i < nv; i++)
        if (!isfinite(v[i])) return SDG_ERROR(SDG_ERR_NUMERIC, "sdg_wasserstein1: value %zu of the second sample is not finite", i);
    a = malloc(nu * sizeof *a);
    b = malloc(nv * sizeof *b);
    if (!a || !b) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    memcpy(a, u, nu * sizeof *a);
    memcpy(b, v, nv * sizeof *b);
    qsort(a, nu, sizeof *a, cmp_double);
    qsort(b, nv, sizeof *b, cmp_double);
    /* integral of |F_u - F_v| over the merged breakpoints */
    size_t i = 0, j = 0;
    double w = 0, x = fmin(a[0], b[0]);
    while (i < nu || j < nv) {
        double next = (j >= nv || (i < nu && a[i] <= b[j])) ? a[i] : b[j];
        w += fabs((double)i / (double)nu - (double)j / (double)nv) * (next - x);
        x = next;
        while (i < nu && a[i] == x) i++;
        while (j < nv && b[j] == x) j++;
    }
    *out = w;
cleanup:
    free(a), free(b);
    return st;
}
