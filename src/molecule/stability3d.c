/* Stability and validity of 3-D molecules (docs/molecules3d.md "Evaluation").
 * EDM rule: bond orders inferred from interatomic distances with the bond-length tables of
 * ehoogeboom/e3_diffusion_for_molecules qm9/bond_analyze.py (bonds1/2/3 in pm, margins 10/5/3
 * pm, lookups in the order (atom i, atom j) with i < j, as EDM's check_stability does: the
 * tables are symmetric except bonds2 C-S, which EDM only finds from the C side), and the
 * allowed valences of its allowed_bonds. The numbers were re-typed from that file.
 * Charge-aware rule: the molecule's own bonds and formal charges against the allowed-valence
 * table of PropMolFlow / FlowMol (propmolflow/analysis/metrics.py allowed_bonds), per (element,
 * charge) with the charge-0 entry as fallback. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "molecule/internal.h"

/* ---- EDM's bond-length tables: (row element, column element, length in pm) ---- */
typedef struct bond_len { unsigned char a, b; short pm; } bond_len;

enum { H = 1, B = 5, C = 6, N = 7, O = 8, F = 9, AL = 13, SI = 14, P = 15, S = 16, CL = 17,
       AS = 33, SE = 34, BR = 35, I = 53, HG = 80, BI = 83 };

static const bond_len bonds1[] = {
    {H, H, 74}, {H, C, 109}, {H, N, 101}, {H, O, 96}, {H, F, 92}, {H, B, 119}, {H, SI, 148},
    {H, P, 144}, {H, AS, 152}, {H, S, 134}, {H, CL, 127}, {H, BR, 141}, {H, I, 161},
    {C, H, 109}, {C, C, 154}, {C, N, 147}, {C, O, 143}, {C, F, 135}, {C, SI, 185}, {C, P, 184},
    {C, S, 182}, {C, CL, 177}, {C, BR, 194}, {C, I, 214},
    {N, H, 101}, {N, C, 147}, {N, N, 145}, {N, O, 140}, {N, F, 136}, {N, CL, 175}, {N, BR, 214},
    {N, S, 168}, {N, I, 222}, {N, P, 177},
    {O, H, 96}, {O, C, 143}, {O, N, 140}, {O, O, 148}, {O, F, 142}, {O, BR, 172}, {O, S, 151},
    {O, P, 163}, {O, SI, 163}, {O, CL, 164}, {O, I, 194},
    {F, H, 92}, {F, C, 135}, {F, N, 136}, {F, O, 142}, {F, F, 142}, {F, S, 158}, {F, SI, 160},
    {F, CL, 166}, {F, BR, 178}, {F, P, 156}, {F, I, 187},
    {B, H, 119}, {B, CL, 175},
    {SI, SI, 233}, {SI, H, 148}, {SI, C, 185}, {SI, O, 163}, {SI, S, 200}, {SI, F, 160},
    {SI, CL, 202}, {SI, BR, 215}, {SI, I, 243},
    {CL, CL, 199}, {CL, H, 127}, {CL, C, 177}, {CL, N, 175}, {CL, O, 164}, {CL, P, 203},
    {CL, S, 207}, {CL, B, 175}, {CL, SI, 202}, {CL, F, 166}, {CL, BR, 214},
    {S, H, 134}, {S, C, 182}, {S, N, 168}, {S, O, 151}, {S, S, 204}, {S, F, 158}, {S, CL, 207},
    {S, BR, 225}, {S, SI, 200}, {S, P, 210}, {S, I, 234},
    {BR, BR, 228}, {BR, H, 141}, {BR, C, 194}, {BR, O, 172}, {BR, N, 214}, {BR, SI, 215},
    {BR, S, 225}, {BR, F, 178}, {BR, CL, 214}, {BR, P, 222},
    {P, P, 221}, {P, H, 144}, {P, C, 184}, {P, O, 163}, {P, CL, 203}, {P, S, 210}, {P, F, 156},
    {P, N, 177}, {P, BR, 222},
    {I, H, 161}, {I, C, 214}, {I, SI, 243}, {I, N, 222}, {I, O, 194}, {I, S, 234}, {I, F, 187},
    {I, I, 266},
    {AS, H, 152}};
static const bond_len bonds2[] = {
    {C, C, 134}, {C, N, 129}, {C, O, 120}, {C, S, 160}, {N, C, 129}, {N, N, 125}, {N, O, 121},
    {O, C, 120}, {O, N, 121}, {O, O, 121}, {O, P, 150}, {P, O, 150}, {P, S, 186}, {S, P, 186}};
static const bond_len bonds3[] = {
    {C, C, 120}, {C, N, 116}, {C, O, 113}, {N, C, 116}, {N, N, 110}, {O, C, 113}};
enum { MARGIN1 = 10, MARGIN2 = 5, MARGIN3 = 3 };

/* Table length for (a, b), or -1 when the table has no entry. */
static int lookup(const bond_len *t, size_t n, int a, int b) {
    for (size_t k = 0; k < n; k++)
        if (t[k].a == a && t[k].b == b) return t[k].pm;
    return -1;
}
#define LOOKUP(t, a, b) lookup((t), sizeof(t) / sizeof((t)[0]), (a), (b))

int sdg_mol_edm_bond_order(int z1, int z2, double dist) {
    double d = 100.0 * dist;   /* Angstrom -> pm, as EDM */
    int l1 = LOOKUP(bonds1, z1, z2);
    if (l1 < 0 || !(d < l1 + MARGIN1)) return 0;
    int l2 = LOOKUP(bonds2, z1, z2);
    if (l2 < 0 || !(d < l2 + MARGIN2)) return 1;
    int l3 = LOOKUP(bonds3, z1, z2);
    if (l3 < 0 || !(d < l3 + MARGIN3)) return 2;
    return 3;
}

/* EDM's allowed_bonds as a bit mask of valences (0 = element not in the table). */
static unsigned edm_allowed(int z) {
    switch (z) {
    case H: case F: case CL: case BR: case I: return 1u << 1;
    case C: case SI: case S: return 1u << 4;
    case N: case B: case AL: case AS: return 1u << 3;
    case O: return 1u << 2;
    case P: case BI: return (1u << 3) | (1u << 5);
    case HG: return (1u << 1) | (1u << 2);
    default: return 0;
    }
}

/* PropMolFlow's allowed_bonds: mask for (z, charge); the charge-0 entry when the charge has
 * none; elements with one entry for every charge ignore it. 0 = not in the table. */
static unsigned charged_allowed(int z, int q) {
#define V(k) (1u << (k))
    switch (z) {
    case H: return q == 1 || q == -1 ? V(0) : V(1);
    case C: return q == 1 || q == -1 ? V(3) : V(3) | V(4);
    case N: return q == 1 ? V(2) | V(3) | V(4) : q == -1 ? V(2) : V(2) | V(3);
    case O: return q == 1 ? V(3) : q == -1 ? V(1) : V(2);
    case F: return q == -1 ? V(0) : V(1);
    case B: case AL: case AS: return V(3);
    case SI: return V(4);
    case P: return q == 1 ? V(4) : V(3) | V(5);
    case S: return q == 1 ? V(2) | V(3) : q == 2 ? V(4) : q == 3 ? V(5) : q == -1 ? V(3)
                                                                       : V(2) | V(6);
    case CL: case I: return V(1);
    case BR: return q == 1 ? V(2) : V(1);
    case HG: return V(1) | V(2);
    case BI: return V(3) | V(5);
    case SE: return V(2) | V(4) | V(6);
    default: return 0;
    }
#undef V
}

static bool allowed(unsigned mask, int v) { return v >= 0 && v < 32 && (mask >> v) & 1u; }

static sdg_status need_coords(const sdg_mol *m, const char *fn) {
    if (!m) return SDG_ERROR(SDG_ERR_INVALID, "%s: NULL molecule", fn);
    if (m->n_atoms > 0 && (!m->coords || m->dim != 3))
        return SDG_ERROR(SDG_ERR_INVALID, "%s: molecule '%s' has no 3-D coordinates", fn,
                         m->name ? m->name : "");
    return SDG_OK;
}

static double dist(const sdg_mol *m, int64_t i, int64_t j) {
    const double *a = m->coords + 3 * i, *b = m->coords + 3 * j;
    double dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
    return sqrt(dx * dx + dy * dy + dz * dz);
}

sdg_status sdg_mol_stability_edm(const sdg_mol *m, int64_t *stable_atoms, bool *stable) {
    sdg_status st = need_coords(m, "sdg_mol_stability_edm");
    if (st != SDG_OK) return st;
    if (!stable_atoms || !stable) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_stability_edm: NULL out");
    int64_t n = m->n_atoms, ok = 0;
    int *v = calloc(n ? (size_t)n : 1, sizeof *v);
    if (!v) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++) {
            int o = sdg_mol_edm_bond_order(m->atoms[i].z, m->atoms[j].z, dist(m, i, j));
            v[i] += o;
            v[j] += o;
        }
    for (int64_t i = 0; i < n; i++) ok += allowed(edm_allowed(m->atoms[i].z), v[i]);
    free(v);
    *stable_atoms = ok;
    *stable = ok == n;
    return SDG_OK;
}

sdg_status sdg_mol_stability_charged(const sdg_mol *m, int64_t *stable_atoms, bool *stable) {
    if (!m || !stable_atoms || !stable)
        return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_stability_charged: NULL argument");
    int64_t ok = 0;
    for (int64_t i = 0; i < m->n_atoms; i++) {
        int v;
        sdg_status st = sdg_mol_valence(m, i, &v);
        if (st != SDG_OK) return st;
        ok += allowed(charged_allowed(m->atoms[i].z, m->atoms[i].charge), v);
    }
    *stable_atoms = ok;
    *stable = ok == m->n_atoms;
    return SDG_OK;
}

sdg_status sdg_mol_bonds_from_distances(const sdg_mol *m, sdg_mol **out) {
    sdg_status st = need_coords(m, "sdg_mol_bonds_from_distances");
    sdg_mol *c = NULL;
    if (st != SDG_OK) return st;
    if (!out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_bonds_from_distances: NULL out");
    SDG_TRY(sdg_mol_copy(m, &c));
    c->n_bonds = 0;
    for (int64_t i = 0; i < c->n_atoms; i++) c->atoms[i].charge = 0, c->atoms[i].hcount = -1;
    for (int64_t i = 0; i < c->n_atoms; i++)
        for (int64_t j = i + 1; j < c->n_atoms; j++) {
            int o = sdg_mol_edm_bond_order(c->atoms[i].z, c->atoms[j].z, dist(c, i, j));
            if (o) SDG_TRY(sdg_mol_add_bond(c, i, j, o));
        }
    *out = c;
    c = NULL;
cleanup:
    sdg_mol_free(c);
    return st;
}

/* ---- validity ---- */
static int64_t uf_find(int64_t *p, int64_t a) {
    while (p[a] != a) a = p[a] = p[p[a]];
    return a;
}

/* Connected components of m's bond graph: label[i] in 0..*n_comp-1 (union-find; p scratch). */
static void components(const sdg_mol *m, int64_t *label, int64_t *p, int64_t *n_comp) {
    int64_t n = m->n_atoms, c = 0;
    for (int64_t i = 0; i < n; i++) p[i] = i;
    for (int64_t k = 0; k < m->n_bonds; k++) {
        int64_t a = uf_find(p, m->bonds[k].i), b = uf_find(p, m->bonds[k].j);
        if (a != b) p[a > b ? a : b] = a < b ? a : b;
    }
    for (int64_t i = 0; i < n; i++) label[i] = -1;
    for (int64_t i = 0; i < n; i++) {
        int64_t r = uf_find(p, i);
        if (label[r] < 0) label[r] = c++;
        label[i] = label[r];
    }
    *n_comp = c;
}

/* The atoms of component keep (all when keep < 0) with each hydrogen whose only bond is a
 * single bond to a heavy atom folded into that atom's hcount (its implicit hydrogens kept). */
static sdg_status heavy_copy(const sdg_mol *m, const int64_t *label, int64_t keep, sdg_mol **out) {
    sdg_status st = SDG_OK;
    sdg_mol *c = NULL;
    int64_t n = m->n_atoms;
    int64_t *host = malloc((n ? (size_t)n : 1) * sizeof *host), *map = malloc((n ? (size_t)n : 1) * sizeof *map);
    int *hc = calloc(n ? (size_t)n : 1, sizeof *hc);
    if (!host || !map || !hc) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    SDG_TRY(sdg_mol_new(&c));
    for (int64_t i = 0; i < n; i++) host[i] = map[i] = -1;
    for (int64_t k = 0; k < m->n_bonds; k++) {
        const sdg_bond *b = &m->bonds[k];
        for (int s = 0; s < 2; s++) {
            int64_t h = s ? b->j : b->i, o = s ? b->i : b->j;
            int v;
            SDG_TRY(sdg_mol_valence(m, h, &v));
            if (m->atoms[h].z == 1 && m->atoms[h].charge == 0 && m->atoms[o].z != 1 && b->order == 1 && v == 1)
                host[h] = o;
        }
    }
    for (int64_t i = 0; i < n; i++)
        if (host[i] >= 0 && (keep < 0 || label[i] == keep)) hc[host[i]]++;
    for (int64_t i = 0; i < n; i++) {
        if ((keep >= 0 && label[i] != keep) || host[i] >= 0) continue;
        int h;
        SDG_TRY(sdg_mol_hcount(m, i, &h));
        SDG_TRY(sdg_mol_add_atom(c, m->atoms[i].z, m->atoms[i].charge, &map[i]));
        c->atoms[map[i]].hcount = h + hc[i];
    }
    for (int64_t k = 0; k < m->n_bonds; k++) {
        const sdg_bond *b = &m->bonds[k];
        if (map[b->i] >= 0 && map[b->j] >= 0) SDG_TRY(sdg_mol_add_bond(c, map[b->i], map[b->j], b->order));
    }
    *out = c;
    c = NULL;
cleanup:
    free(host);
    free(map);
    free(hc);
    sdg_mol_free(c);
    return st;
}

sdg_status sdg_mol_validate_3d(const sdg_mol *m, bool largest_fragment, bool *valid, char **smiles) {
    sdg_status st = SDG_OK;
    sdg_mol *h = NULL, *re = NULL;
    char *can = NULL;
    int64_t *label = NULL, n_comp = 0;
    if (!m || !valid) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_validate_3d: NULL argument");
    *valid = false;
    if (smiles) *smiles = NULL;
    if (m->n_atoms == 0) return SDG_OK;
    if (sdg_mol_check_sane(m) != SDG_OK) goto cleanup;   /* invalid, not an error */
    label = malloc(2 * (size_t)m->n_atoms * sizeof *label);
    if (!label) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    components(m, label, label + m->n_atoms, &n_comp);
    int64_t keep = -1;
    if (n_comp > 1) {
        if (!largest_fragment) goto cleanup;
        int64_t best = 0, *cnt = calloc((size_t)n_comp, sizeof *cnt);
        if (!cnt) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
        for (int64_t i = 0; i < m->n_atoms; i++) cnt[label[i]]++;
        for (int64_t c = 1; c < n_comp; c++)
            if (cnt[c] > cnt[best]) best = c;
        free(cnt);
        keep = best;
    }
    SDG_TRY(heavy_copy(m, label, keep, &h));
    if (sdg_mol_to_canonical_smiles(h, &can) != SDG_OK) goto cleanup;
    if (sdg_mol_from_smiles(can, &re) != SDG_OK) goto cleanup;
    *valid = true;
    if (smiles) {
        *smiles = can;
        can = NULL;
    }
cleanup:
    if (st == SDG_OK) sdg_error_clear();
    free(label);
    free(can);
    sdg_mol_free(h);
    sdg_mol_free(re);
    return st;
}

/* ---- a list of molecules ---- */
static const char *const proto_edm_atom =
    "EDM rule: bond orders from distances (EDM qm9/bond_analyze.py tables, margins 10/5/3 pm), "
    "atom stable iff its summed order equals EDM's allowed valence (H1 C4 N3 O2 F1 ...); over all atoms";
static const char *const proto_edm_mol =
    "EDM rule as above; molecule stable iff all its atoms are; over all records";
static const char *const proto_chg_atom =
    "charge-aware rule: the file's own bonds and formal charges, valence allowed per (element, charge) "
    "as PropMolFlow/FlowMol (C 3|4, C+- 3, N 2|3, N+ 2|3|4, N- 2, O 2, O+ 3, O- 1, H 1, F 1 ...); over all atoms";
static const char *const proto_chg_mol =
    "charge-aware rule as above; molecule stable iff all its atoms are; over all records";
static const char *const proto_valid =
    "the file's bonds and charges: RDKit valence rule (sdg_mol_max_valence) + single fragment + "
    "Open Babel canonical SMILES that re-parses; over all records";
static const char *const proto_unique =
    "distinct Open Babel canonical SMILES (no stereo) among valid records / valid records";
static const char *const proto_valid_edm =
    "EDM's protocol: bonds inferred by the EDM rule, no charges, valence rule, largest fragment kept, "
    "canonical SMILES that re-parses; over all records";
static const char *const proto_unique_edm =
    "distinct canonical SMILES of the EDM-protocol valid molecules / EDM-protocol valid";

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t count_distinct(char **s, size_t n) {
    qsort(s, n, sizeof *s, cmp_str);
    size_t u = 0;
    for (size_t k = 0; k < n; k++) u += k == 0 || strcmp(s[k], s[k - 1]) != 0;
    return u;
}

sdg_status sdg_mol3d_metrics_compute(sdg_mol *const *mols, size_t n, const sdg_mol3d_metrics_params *p,
                                     sdg_mol3d_metrics *out) {
    sdg_status st = SDG_OK;
    char **smi = NULL, **smi_edm = NULL;
    sdg_mol *inf = NULL;
    if ((!mols && n) || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol3d_metrics_compute: NULL argument");
    sdg_mol3d_metrics_params def = {.validity = true, .validity_edm = true};
    if (!p) p = &def;
    sdg_mol3d_metrics r = {.n_mols = n};
    r.atom_stability_edm.protocol = proto_edm_atom;
    r.mol_stability_edm.protocol = proto_edm_mol;
    r.atom_stability_charged.protocol = proto_chg_atom;
    r.mol_stability_charged.protocol = proto_chg_mol;
    r.validity.protocol = proto_valid;
    r.uniqueness.protocol = proto_unique;
    r.validity_edm.protocol = proto_valid_edm;
    r.uniqueness_edm.protocol = proto_unique_edm;
    smi = calloc(n ? n : 1, sizeof *smi);
    smi_edm = calloc(n ? n : 1, sizeof *smi_edm);
    if (!smi || !smi_edm) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    size_t ms_edm = 0, ms_chg = 0, nv = 0, nv_edm = 0;
    int64_t as_edm = 0, as_chg = 0;
    for (size_t k = 0; k < n; k++) {
        const sdg_mol *m = mols[k];
        int64_t a;
        bool s, v;
        r.n_atoms += m->n_atoms;
        r.n_bonds += m->n_bonds;
        st = sdg_mol_stability_edm(m, &a, &s);
        if (st != SDG_OK) {
            sdg_error_prefix("record %zu ('%s')", k + 1, m->name ? m->name : "");
            goto cleanup;
        }
        as_edm += a;
        ms_edm += s;
        SDG_TRY(sdg_mol_stability_charged(m, &a, &s));
        as_chg += a;
        ms_chg += s;
        if (p->validity) {
            SDG_TRY(sdg_mol_validate_3d(m, false, &v, &smi[nv]));
            nv += v;
        }
        if (p->validity_edm) {
            SDG_TRY(sdg_mol_bonds_from_distances(m, &inf));
            SDG_TRY(sdg_mol_validate_3d(inf, true, &v, &smi_edm[nv_edm]));
            nv_edm += v;
            sdg_mol_free(inf);
            inf = NULL;
        }
    }
    r.edm_stable_atoms = as_edm;
    r.edm_stable_mols = ms_edm;
    r.charged_stable_atoms = as_chg;
    r.charged_stable_mols = ms_chg;
    r.n_valid = nv;
    r.n_valid_edm = nv_edm;
    double na = r.n_atoms ? (double)r.n_atoms : NAN, nm = n ? (double)n : NAN;
    r.atom_stability_edm.value = (double)as_edm / na;
    r.mol_stability_edm.value = (double)ms_edm / nm;
    r.atom_stability_charged.value = r.n_bonds ? (double)as_chg / na : NAN;
    r.mol_stability_charged.value = r.n_bonds ? (double)ms_chg / nm : NAN;
    r.validity.value = p->validity ? (double)nv / nm : NAN;
    r.n_unique = p->validity ? count_distinct(smi, nv) : 0;
    r.uniqueness.value = p->validity && nv ? (double)r.n_unique / (double)nv : NAN;
    r.validity_edm.value = p->validity_edm ? (double)nv_edm / nm : NAN;
    r.n_unique_edm = p->validity_edm ? count_distinct(smi_edm, nv_edm) : 0;
    r.uniqueness_edm.value = p->validity_edm && nv_edm ? (double)r.n_unique_edm / (double)nv_edm : NAN;
    *out = r;
cleanup:
    for (size_t k = 0; smi && k < n; k++) free(smi[k]);
    for (size_t k = 0; smi_edm && k < n; k++) free(smi_edm[k]);
    free(smi);
    free(smi_edm);
    sdg_mol_free(inf);
    return st;
}
