/* Molecule metrics as GDSS reports them (README section 15, MOSES's definitions): validity
 * (with and without correction), uniqueness, novelty, NSPDK MMD against the test split, and
 * the atom- and bond-type distributions. Canonical SMILES are Open Babel's (molecule module). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "sdegen/eval.h"
#include "sdegen/io.h"

/* ---- the samples list ---- */
static sdg_status samples_reserve(sdg_mol_samples *s, size_t *cap) {
    if (s->count < *cap) return SDG_OK;
    size_t c = *cap ? 2 * *cap : 256;
    sdg_mol **m = realloc(s->mols, c * sizeof *m);
    if (m) s->mols = m;
    char **sm = realloc(s->smiles, c * sizeof *sm);
    if (sm) s->smiles = sm;
    int8_t *f = realloc(s->wo_correction, c * sizeof *f);
    if (f) s->wo_correction = f;
    int64_t *l = realloc(s->line, c * sizeof *l);
    if (l) s->line = l;
    if (!m || !sm || !f || !l) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory for %zu molecules", c);
    *cap = c;
    return SDG_OK;
}

static sdg_status samples_new(sdg_mol_samples **out) {
    *out = calloc(1, sizeof **out);
    return *out ? SDG_OK : SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
}

void sdg_mol_samples_free(sdg_mol_samples *s) {
    if (!s) return;
    for (size_t i = 0; i < s->count; i++) {
        sdg_mol_free(s->mols[i]);
        free(s->smiles[i]);
    }
    free(s->mols);
    free(s->smiles);
    free(s->wo_correction);
    free(s->line);
    free(s);
}

static void note_invalid(sdg_mol_samples *s, int64_t line, const char *why) {
    if (s->first_invalid_line) return;
    s->first_invalid_line = line;
    snprintf(s->first_invalid_reason, sizeof s->first_invalid_reason, "%s", why);
}

/* Canonical SMILES of m and the molecule re-parsed from it; both NULL (and the reason noted)
 * when m is not valid. Only SDG_ERR_NOMEM-like failures are returned. */
static sdg_status canonicalise(sdg_mol_samples *s, const sdg_mol *m, int64_t line, sdg_mol **mol, char **smi) {
    *mol = NULL;
    *smi = NULL;
    int64_t bad = -1;
    int v = 0;
    if (sdg_mol_valence_check(m, &bad, &v) != SDG_OK) return SDG_ERR_INVALID;
    if (bad >= 0) {
        char why[96];
        snprintf(why, sizeof why, "atom %lld (%s) has valence %d", (long long)bad + 1,
                 sdg_element_symbol(m->atoms[bad].z) ? sdg_element_symbol(m->atoms[bad].z) : "?", v);
        note_invalid(s, line, why);
        return SDG_OK;
    }
    char *c = NULL;
    if (sdg_mol_to_canonical_smiles(m, &c) != SDG_OK) {
        note_invalid(s, line, sdg_errmsg());
        return SDG_OK;
    }
    if (sdg_mol_from_smiles(c, mol) != SDG_OK) {
        note_invalid(s, line, sdg_errmsg());
        free(c);
        return SDG_OK;
    }
    *smi = c;
    return SDG_OK;
}

/* Appends an invalid record at line (no molecule, flag not recorded); the caller fills it. */
static sdg_status samples_push(sdg_mol_samples *s, size_t *cap, int64_t line) {
    sdg_status st = samples_reserve(s, cap);
    if (st != SDG_OK) return st;
    size_t k = s->count++;
    s->mols[k] = NULL;
    s->smiles[k] = NULL;
    s->wo_correction[k] = -1;
    s->line[k] = line;
    return SDG_OK;
}

/* Appends one record from a SMILES string. */
static sdg_status add_smiles(sdg_mol_samples *s, size_t *cap, const char *smiles, int64_t line) {
    sdg_status st = SDG_OK;
    sdg_mol *m = NULL;
    SDG_TRY(samples_push(s, cap, line));
    size_t k = s->count - 1;
    if (sdg_mol_from_smiles(smiles, &m) != SDG_OK) {
        note_invalid(s, line, sdg_errmsg());
        goto cleanup;
    }
    SDG_TRY(canonicalise(s, m, line, &s->mols[k], &s->smiles[k]));
    s->n_valid += s->mols[k] != NULL;
cleanup:
    sdg_mol_free(m);
    return st;
}

sdg_status sdg_mol_samples_from_smiles(const char *const *smiles, size_t n, sdg_mol_samples **out) {
    sdg_status st = SDG_OK;
    sdg_mol_samples *s = NULL;
    size_t cap = 0;
    if (!out || (n && !smiles)) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_samples_from_smiles: NULL argument");
    *out = NULL;
    SDG_TRY(samples_new(&s));
    for (size_t i = 0; i < n; i++) SDG_TRY(add_smiles(s, &cap, smiles[i] ? smiles[i] : "", (int64_t)i + 1));
    *out = s;
    s = NULL;
cleanup:
    sdg_mol_samples_free(s);
    return st;
}

/* 1 / 0 for a flag value, -1 for anything else. */
static int parse_flag(const char *v) {
    if (!strcmp(v, "1") || !strcasecmp(v, "true")) return 1;
    if (!strcmp(v, "0") || !strcasecmp(v, "false")) return 0;
    return -1;
}

static bool is_delim(char c) { return c == ',' || c == '\t' || c == ' '; }

/* Splits line in place into up to cap fields (runs of delimiters separate fields). */
static size_t split_fields(char *line, char **f, size_t cap) {
    size_t n = 0;
    char *p = line;
    while (*p && n < cap) {
        while (*p && is_delim(*p)) p++;
        if (!*p) break;
        f[n++] = p;
        while (*p && !is_delim(*p)) p++;
        if (*p) *p++ = '\0';
    }
    return n;
}

static bool is_word(const char *s) {
    if (!isalpha((unsigned char)*s) && *s != '_') return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_') return false;
    return true;
}

static sdg_status read_smiles_file(const char *path, sdg_mol_samples *s) {
    sdg_status st = SDG_OK;
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t bufcap = 0, cap = 0;
    int8_t *second = NULL;   /* second-column flag per record, -2 = absent */
    size_t second_cap = 0;
    int flag_col = -1;       /* header column of valid_wo_correction */
    bool first = true;
    if (!f) return SDG_ERROR(SDG_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    int64_t lineno = 0;
    ssize_t len;
    while ((len = getline(&buf, &bufcap, f)) >= 0) {
        lineno++;
        for (ssize_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)buf[i];
            if (c == 0 || (c < 32 && c != '\t' && c != '\n' && c != '\r') || c == 127)
                SDG_FAIL(SDG_ERR_FORMAT, "%s: line %lld: binary data (byte 0x%02x): not a SMILES file",
                         path, (long long)lineno, c);
        }
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = '\0';
        char *fld[64];
        size_t nf = split_fields(buf, fld, 64);
        if (nf == 0) {
            s->n_blank++;
            continue;
        }
        if (first) {
            first = false;
            sdg_mol *probe = NULL;
            if (is_word(fld[0]) && sdg_mol_from_smiles(fld[0], &probe) != SDG_OK) {
                s->header = true;
                for (size_t k = 1; k < nf; k++)
                    if (!strcmp(fld[k], "valid_wo_correction")) flag_col = (int)k;
                continue;
            }
            sdg_mol_free(probe);
        }
        SDG_TRY(add_smiles(s, &cap, fld[0], lineno));
        if (s->count > second_cap) {
            second_cap = cap;
            int8_t *q = realloc(second, second_cap);
            if (!q) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
            second = q;
        }
        int8_t v = -2;
        if (flag_col > 0) {
            if ((size_t)flag_col >= nf || (v = (int8_t)parse_flag(fld[flag_col])) < 0)
                SDG_FAIL(SDG_ERR_FORMAT, "%s: line %lld: column valid_wo_correction is '%s', not 0/1",
                         path, (long long)lineno, (size_t)flag_col < nf ? fld[flag_col] : "");
        } else if (!s->header && nf >= 2) {
            v = (int8_t)parse_flag(fld[1]);
        }
        second[s->count - 1] = v;
    }
    if (ferror(f)) SDG_FAIL(SDG_ERR_IO, "%s: read error: %s", path, strerror(errno));
    /* the second column counts as the flag only when every record has a 0/1 there and the
     * column does not increase strictly (then it is an index: "0 1" of sdegen's .smi) */
    bool all = s->count > 0, increasing = flag_col < 0;
    for (size_t i = 0; i < s->count && all; i++) all = second[i] >= 0;
    for (size_t i = 1; i < s->count && increasing; i++) increasing = second[i] > second[i - 1];
    if (increasing && s->count > 0) all = false;
    if (all)
        for (size_t i = 0; i < s->count; i++) s->wo_correction[i] = second[i];
cleanup:
    free(second);
    free(buf);
    fclose(f);
    return st;
}

/* Line numbers of the SDF records and their <valid_wo_correction> fields. */
static sdg_status scan_sdf(const char *path, sdg_mol_samples *s) {
    sdg_status st = SDG_OK;
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t bufcap = 0, rec = 0;
    bool at_start = true, want_value = false, want_dataset = false;
    if (!f) return SDG_ERROR(SDG_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    int64_t lineno = 0;
    ssize_t len;
    while ((len = getline(&buf, &bufcap, f)) >= 0 && rec < s->count) {
        lineno++;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = '\0';
        if (at_start) {
            s->line[rec] = lineno;
            at_start = false;
        }
        if (want_value) {
            want_value = false;
            int v = parse_flag(buf);
            if (v < 0)
                SDG_FAIL(SDG_ERR_FORMAT, "%s: line %lld: field <valid_wo_correction> is '%s', not 0/1",
                         path, (long long)lineno, buf);
            s->wo_correction[rec] = (int8_t)v;
        } else if (want_dataset) {
            want_dataset = false;
            if (rec == 0) snprintf(s->dataset, sizeof s->dataset, "%s", buf);
        } else if (buf[0] == '>' && strstr(buf, "<valid_wo_correction>")) {
            want_value = true;
        } else if (buf[0] == '>' && strstr(buf, "<dataset>")) {
            want_dataset = true;
        } else if (!strncmp(buf, "$$$$", 4)) {
            rec++;
            at_start = true;
        }
    }
cleanup:
    free(buf);
    fclose(f);
    return st;
}

static sdg_status read_sdf_file(const char *path, sdg_mol_samples *s) {
    sdg_status st = SDG_OK;
    sdg_mol_list *l = NULL;
    size_t cap = 0;
    SDG_TRY(sdg_mol_list_read_sdf(path, &l));
    s->sdf = true;
    for (size_t r = 0; r < l->count; r++) {
        SDG_TRY(samples_push(s, &cap, (int64_t)r + 1));
        size_t k = s->count - 1;
        SDG_TRY(canonicalise(s, l->mols[r], (int64_t)r + 1, &s->mols[k], &s->smiles[k]));
        s->n_valid += s->mols[k] != NULL;
    }
    /* the reason above named the record number; scan_sdf turns records into lines */
    int64_t first_rec = s->first_invalid_line;
    SDG_TRY(scan_sdf(path, s));
    if (first_rec > 0) s->first_invalid_line = s->line[first_rec - 1];
cleanup:
    sdg_mol_list_free(l);
    return st;
}

/* An "sdegen-molecules" file: every record, the stored flags, the model's dataset. */
static sdg_status read_h5_file(const char *path, sdg_mol_samples *s) {
    sdg_status st = SDG_OK;
    sdg_mol_file *f = NULL;
    size_t cap = 0;
    SDG_TRY(sdg_mol_file_read(path, &f));
    s->h5 = true;
    s->requested = (size_t)f->requested;
    snprintf(s->dataset, sizeof s->dataset, "%s", f->dataset);
    for (size_t k = 0; k < f->count; k++) {
        if (f->valid[k]) {
            SDG_TRY(add_smiles(s, &cap, f->smiles[k], (int64_t)k + 1));
        } else {
            SDG_TRY(samples_push(s, &cap, (int64_t)k + 1));
            note_invalid(s, (int64_t)k + 1, "dropped by the sampler (the largest fragment did not parse)");
        }
        s->wo_correction[s->count - 1] = f->valid_wo_correction[k];
    }
cleanup:
    sdg_mol_file_free(f);
    return st;
}

static bool has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), e = strlen(ext);
    return n > e && strcasecmp(path + n - e, ext) == 0;
}

sdg_status sdg_mol_samples_read(const char *path, sdg_mol_samples **out) {
    sdg_status st = SDG_OK;
    sdg_mol_samples *s = NULL;
    if (!path || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_samples_read: NULL argument");
    *out = NULL;
    bool sdf = has_ext(path, ".sdf") || has_ext(path, ".sd") || has_ext(path, ".mol");
    bool smi = has_ext(path, ".smi") || has_ext(path, ".smiles") || has_ext(path, ".txt") ||
               has_ext(path, ".csv");
    bool h5 = has_ext(path, ".h5");
    if (!sdf && !smi && !h5)
        return SDG_ERROR(SDG_ERR_FORMAT, "%s: not a SMILES, SDF or sdegen molecule file (extensions: .smi "
                         ".smiles .txt .csv, .sdf .sd .mol, or .h5)", path);
    SDG_TRY(samples_new(&s));
    SDG_TRY(sdf ? read_sdf_file(path, s) : h5 ? read_h5_file(path, s) : read_smiles_file(path, s));
    *out = s;
    s = NULL;
cleanup:
    sdg_mol_samples_free(s);
    return st;
}

/* ---- metrics ---- */
static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void type_counts(const sdg_mol *m, double *atoms, double *bonds) {
    for (int64_t i = 0; i < m->n_atoms; i++)
        if (m->atoms[i].z > 1 && m->atoms[i].z <= 118) atoms[m->atoms[i].z] += 1;
    for (int64_t k = 0; k < m->n_bonds; k++) {
        const sdg_bond *b = &m->bonds[k];
        if (m->atoms[b->i].z == 1 || m->atoms[b->j].z == 1) continue;
        bonds[b->aromatic ? 3 : (b->order >= 1 && b->order <= 3 ? b->order - 1 : 0)] += 1;
    }
}

static double normalise_tv(double *p, double *q, size_t n) {
    double sp = 0, sq = 0, tv = 0;
    for (size_t i = 0; i < n; i++) {
        sp += p[i];
        sq += q[i];
    }
    for (size_t i = 0; i < n; i++) {
        p[i] = sp > 0 ? p[i] / sp : 0;
        q[i] = sq > 0 ? q[i] / sq : 0;
        tv += fabs(p[i] - q[i]);
    }
    return 0.5 * tv;
}

sdg_status sdg_mol_metrics_compute(const sdg_mol_samples *samples, const sdg_mol_reference *ref,
                                   const sdg_nspdk_params *nspdk, sdg_mol_metrics *out) {
    sdg_status st = SDG_OK;
    const char **gen = NULL, **train = NULL;
    sdg_nspdk *kr = NULL, *kg = NULL;
    if (!samples || !ref || !out || (ref->n_train && !ref->train_smiles) || (ref->n_test && !ref->test_mols))
        return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_metrics_compute: NULL argument");
    memset(out, 0, sizeof *out);
    const char *trname = ref->train_name ? ref->train_name : "training set";
    const char *rname  = ref->test_name ? ref->test_name : "test set";
    size_t n = samples->count, nv = samples->n_valid;
    if (nv == 0) SDG_FAIL(SDG_ERR_INVALID, "no valid molecule among %zu records", n);
    if (ref->n_test == 0) SDG_FAIL(SDG_ERR_INVALID, "%s: no molecule", rname);
    out->n_records = n;
    out->n_valid   = nv;
    /* validity without correction: the flags the file recorded */
    size_t nrec = 0, nok = 0;
    for (size_t i = 0; i < n; i++)
        if (samples->wo_correction[i] >= 0) {
            nrec++;
            nok += samples->wo_correction[i] == 1;
        }
    sdg_metric_result *r = &out->validity_wo_correction;
    if (nrec == 0) {
        r->value = NAN;
        snprintf(r->protocol, sizeof r->protocol, "not recorded (the file has no valid_wo_correction %s)",
                 samples->sdf ? "data field" : "column");
    } else {
        r->value = (double)nok / (double)nrec;
        snprintf(r->protocol, sizeof r->protocol,
                 "%zu of %zu records flagged valid before GDSS's valence correction (%s, as recorded by the sampler)",
                 nok, nrec, samples->sdf ? "SDF field <valid_wo_correction>"
                 : samples->h5 ? "dataset /valid_wo_correction" : "valid_wo_correction column");
    }
    r = &out->validity;
    r->value = (double)nv / (double)n;
    snprintf(r->protocol, sizeof r->protocol,
             "%zu of %zu records parse (Open Babel) with every atom within RDKit's maximum valence "
             "(bonds + H; C4 N3 N+4 O2 O+3 S6 P7...) and re-parse from canonical SMILES", nv, n);
    /* uniqueness and novelty over canonical SMILES */
    gen = malloc(nv * sizeof *gen);
    if (!gen) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (samples->smiles[i]) gen[k++] = samples->smiles[i];
    qsort(gen, nv, sizeof *gen, cmp_str);
    size_t nu = 0;
    for (size_t i = 0; i < nv; i++)
        if (i == 0 || strcmp(gen[i], gen[i - 1]) != 0) gen[nu++] = gen[i];
    out->n_unique = nu;
    r = &out->uniqueness;
    r->value = (double)nu / (double)nv;
    snprintf(r->protocol, sizeof r->protocol,
             "%zu distinct canonical SMILES (Open Babel \"can\": no stereo or isotopes, charges kept) "
             "among %zu valid (MOSES unique@%zu)", nu, nv, nv);
    r = &out->novelty;
    if (ref->n_train == 0) {
        r->value = NAN;
        snprintf(r->protocol, sizeof r->protocol, "not computed (no training set)");
    } else {
        train = malloc(ref->n_train * sizeof *train);
        if (!train) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
        memcpy(train, ref->train_smiles, ref->n_train * sizeof *train);
        qsort(train, ref->n_train, sizeof *train, cmp_str);
        size_t nn = 0;
        for (size_t i = 0; i < nu; i++)
            nn += bsearch(&gen[i], train, ref->n_train, sizeof *train, cmp_str) == NULL;
        out->n_novel = nn;
        r->value = (double)nn / (double)nu;
        snprintf(r->protocol, sizeof r->protocol,
                 "%zu of %zu unique valid canonical SMILES not among the %zu SMILES of %s, "
                 "written by the same canonicaliser (MOSES novelty: denominator = unique valid)",
                 nn, nu, ref->n_train, trname);
    }
    /* NSPDK and type distributions: valid samples (duplicates kept) against the test set */
    SDG_TRY(sdg_nspdk_new(nspdk, &kr));
    SDG_TRY(sdg_nspdk_new(nspdk, &kg));
    for (size_t i = 0; i < ref->n_test; i++) {
        SDG_TRY(sdg_nspdk_add_mol(kr, ref->test_mols[i]));
        type_counts(ref->test_mols[i], out->atom_test, out->bond_test);
    }
    for (size_t i = 0; i < n; i++)
        if (samples->mols[i]) {
            SDG_TRY(sdg_nspdk_add_mol(kg, samples->mols[i]));
            type_counts(samples->mols[i], out->atom_gen, out->bond_gen);
        }
    if (sdg_nspdk_count(kr) == 0) SDG_FAIL(SDG_ERR_INVALID, "%s: no test molecule has a heavy atom", rname);
    if (sdg_nspdk_count(kg) == 0) SDG_FAIL(SDG_ERR_INVALID, "no valid sample has a heavy atom");
    SDG_TRY(sdg_nspdk_mmd(kr, kg, &out->nspdk));
    size_t used = strlen(out->nspdk.protocol);
    snprintf(out->nspdk.protocol + used, sizeof out->nspdk.protocol - used, "; reference = %s", rname);
    r = &out->atom_tv;
    r->value = normalise_tv(out->atom_gen, out->atom_test, 119);
    snprintf(r->protocol, sizeof r->protocol,
             "total variation 1/2 sum |p - q| of heavy-atom element fractions, %zu valid samples vs %zu molecules of %s",
             nv, ref->n_test, rname);
    r = &out->bond_tv;
    r->value = normalise_tv(out->bond_gen, out->bond_test, SDG_MOL_BOND_TYPES);
    snprintf(r->protocol, sizeof r->protocol,
             "total variation of bond-type fractions (single, double, triple, aromatic as perceived by "
             "Open Babel), %zu valid samples vs %zu molecules of %s", nv, ref->n_test, rname);
cleanup:
    free(gen);
    free(train);
    sdg_nspdk_free(kr);
    sdg_nspdk_free(kg);
    return st;
}
