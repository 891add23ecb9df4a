/* GDSS's molecule graphs: encoding, the valence check and correction, decoding of continuous
 * samples (/work/shared/gdss/README.md sections 12-13). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "molecule/internal.h"

const sdg_mol_vocab sdg_mol_vocab_qm9 = {"qm9", 9, 4, {6, 7, 8, 9}};
const sdg_mol_vocab sdg_mol_vocab_zinc250k = {"zinc250k", 38, 9, {6, 7, 8, 9, 15, 16, 17, 35, 53}};

sdg_status sdg_mol_vocab_find(const char *name, const sdg_mol_vocab **out) {
    if (!name || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_vocab_find: NULL argument");
    if (strcasecmp(name, "qm9") == 0) *out = &sdg_mol_vocab_qm9;
    else if (strcasecmp(name, "zinc250k") == 0) *out = &sdg_mol_vocab_zinc250k;
    else return SDG_ERROR(SDG_ERR_NOTFOUND, "unknown molecule dataset '%s' (qm9, zinc250k)", name);
    return SDG_OK;
}

static int vocab_type(const sdg_mol_vocab *v, int z) {
    for (int f = 0; f < v->F; f++)
        if (v->z[f] == z) return f;
    return -1;
}

sdg_status sdg_mol_encode(const sdg_mol *m, const sdg_mol_vocab *v, float *X, float *A) {
    if (!m || !v || !X || !A) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_encode: NULL argument");
    const int64_t N = v->N, F = v->F;
    if (m->n_atoms > N)
        return SDG_ERROR(SDG_ERR_INVALID, "%lld atoms exceed %s's N = %lld", (long long)m->n_atoms,
                         v->name, (long long)N);
    for (int64_t i = 0; i < m->n_atoms; i++)
        if (vocab_type(v, m->atoms[i].z) < 0) {
            const char *s = sdg_element_symbol(m->atoms[i].z);
            return SDG_ERROR(SDG_ERR_INVALID, "atom %lld (%s) is not in %s's atom types", (long long)i,
                             s ? s : "?", v->name);
        }
    memset(X, 0, (size_t)(N * F) * sizeof *X);
    memset(A, 0, (size_t)(N * N) * sizeof *A);
    for (int64_t i = 0; i < m->n_atoms; i++) X[i * F + vocab_type(v, m->atoms[i].z)] = 1.0f;
    for (int64_t k = 0; k < m->n_bonds; k++) {
        const sdg_bond *b = &m->bonds[k];
        A[(int64_t)b->i * N + b->j] = A[(int64_t)b->j * N + b->i] = (float)b->order;
    }
    return SDG_OK;
}

/* Valences of all atoms in one pass over the bonds: val (n_atoms). */
static void all_valences(const sdg_mol *m, int *val) {
    memset(val, 0, (size_t)m->n_atoms * sizeof *val);
    for (int64_t k = 0; k < m->n_bonds; k++) {
        val[m->bonds[k].i] += m->bonds[k].order;
        val[m->bonds[k].j] += m->bonds[k].order;
    }
}

static sdg_status check(const sdg_mol *m, int *val, int64_t *atom, int *valence) {
    all_valences(m, val);
    *atom = -1;
    for (int64_t i = 0; i < m->n_atoms; i++) {
        int vmax;
        sdg_status st = sdg_mol_max_valence(m, i, &vmax);
        if (st != SDG_OK) return st;
        if (vmax >= 0 && val[i] > vmax) {
            *atom = i;
            if (valence) *valence = val[i];
            break;
        }
    }
    return SDG_OK;
}

sdg_status sdg_mol_valence_check(const sdg_mol *m, int64_t *atom, int *valence) {
    if (!m || !atom) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_valence_check: NULL argument");
    int *val = malloc((size_t)(m->n_atoms ? m->n_atoms : 1) * sizeof *val);
    if (!val) return SDG_ERROR(SDG_ERR_NOMEM, "sdg_mol_valence_check: out of memory");
    sdg_status st = check(m, val, atom, valence);
    free(val);
    return st;
}

sdg_status sdg_mol_correct(sdg_mol *m, bool *was_valid) {
    sdg_status st = SDG_OK;
    int *val = NULL;
    if (!m) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_correct: NULL molecule");
    val = malloc((size_t)(m->n_atoms ? m->n_atoms : 1) * sizeof *val);
    if (!val) SDG_FAIL(SDG_ERR_NOMEM, "sdg_mol_correct: out of memory");
    for (int round = 0;; round++) {
        int64_t a;
        SDG_TRY(check(m, val, &a, NULL));
        if (round == 0 && was_valid) *was_valid = (a < 0);
        if (a < 0) break;
        /* a's highest-order bond, the oldest on ties (a stable sort by order, descending) */
        int64_t best = -1;
        for (int64_t k = 0; k < m->n_bonds; k++)
            if ((m->bonds[k].i == a || m->bonds[k].j == a) &&
                (best < 0 || m->bonds[k].order > m->bonds[best].order))
                best = k;
        if (best < 0) break;   /* cannot happen: a failing atom has bonds */
        sdg_bond b = m->bonds[best];
        SDG_TRY(sdg_mol_remove_bond(m, best));
        if (b.order - 1 >= 1) SDG_TRY(sdg_mol_add_bond(m, b.i, b.j, b.order - 1));
    }
cleanup:
    free(val);
    return st;
}

sdg_status sdg_mol_decode(const float *x, const float *adj, const sdg_mol_vocab *v, sdg_mol **out,
                          bool *valid_wo_correction) {
    sdg_status st = SDG_OK;
    sdg_mol *m = NULL;
    int64_t *idx = NULL;
    int *val = NULL;
    if (!x || !adj || !v || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_decode: NULL argument");
    const int64_t N = v->N, F = v->F;
    idx = malloc((size_t)N * sizeof *idx);
    val = malloc((size_t)N * sizeof *val);
    if (!idx || !val) SDG_FAIL(SDG_ERR_NOMEM, "sdg_mol_decode: out of memory");
    SDG_TRY(sdg_mol_new(&m));
    /* 1. atoms: the first type with x > 0.5; none -> virtual node, dropped */
    for (int64_t i = 0; i < N; i++) {
        idx[i] = -1;
        for (int64_t f = 0; f < F; f++)
            if (x[i * F + f] > 0.5f) {
                SDG_TRY(sdg_mol_add_atom(m, v->z[f], 0, &idx[i]));
                break;
            }
    }
    /* 2-3. bonds row by row from the lower triangle, with the N+/O+ charge rule */
    for (int64_t i = 0; i < N; i++) {
        if (idx[i] < 0) continue;
        for (int64_t j = 0; j < i; j++) {
            if (idx[j] < 0) continue;
            float a = adj[i * N + j];
            int q = a >= 2.5f ? 3 : a >= 1.5f ? 2 : a >= 0.5f ? 1 : 0;
            if (q == 0) continue;
            SDG_TRY(sdg_mol_add_bond(m, idx[i], idx[j], q));
            int64_t bad;
            int bv = 0;
            SDG_TRY(check(m, val, &bad, &bv));
            if (bad < 0) continue;
            int z = m->atoms[bad].z, base = z == 7 ? 3 : (z == 8 || z == 16) ? 2 : -100;
            if (bv - base == 1) m->atoms[bad].charge = 1;
        }
    }
    /* 4-5. validity before correction, then the correction loop */
    SDG_TRY(sdg_mol_correct(m, valid_wo_correction));
    *out = m;
    m = NULL;
cleanup:
    free(idx);
    free(val);
    sdg_mol_free(m);
    return st;
}

sdg_status sdg_mol_finish(const sdg_mol *m, sdg_mol **out, char **smiles) {
    sdg_status st = SDG_OK;
    char *can = NULL, *frag = NULL;
    sdg_mol *r = NULL;
    if (!m) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_finish: NULL molecule");
    if (out) *out = NULL;
    if (smiles) *smiles = NULL;
    if (m->n_atoms == 0) return SDG_OK;   /* RDKit's empty SMILES does not parse back either */
    SDG_TRY(sdg_mol_to_canonical_smiles(m, &can));
    /* the longest '.'-separated fragment, the first on ties */
    const char *best = can, *p = can;
    size_t best_len = 0;
    for (;;) {
        size_t len = strcspn(p, ".");
        if (len > best_len) {
            best = p;
            best_len = len;
        }
        if (!p[len]) break;
        p += len + 1;
    }
    frag = malloc(best_len + 1);
    if (!frag) SDG_FAIL(SDG_ERR_NOMEM, "sdg_mol_finish: out of memory");
    memcpy(frag, best, best_len);
    frag[best_len] = '\0';
    if (sdg_mol_from_smiles(frag, &r) != SDG_OK) {   /* GDSS drops what does not re-parse */
        sdg_error_clear();
        goto cleanup;
    }
    if (smiles) SDG_TRY(sdg_mol_to_canonical_smiles(r, smiles));
    if (out) {
        *out = r;
        r = NULL;
    }
cleanup:
    free(can);
    free(frag);
    sdg_mol_free(r);
    return st;
}
