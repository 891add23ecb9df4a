/* Molecule files written by `sdegen sample` (docs/file-formats.md): SDF and SMILES lines
 * streamed into path.part and renamed when complete, and the HDF5 screening dataset
 * "sdegen-molecules" version 1, written in place chunk by chunk and resumable:
 *   /                     attributes sdegen_format, sdegen_format_version, sdegen_version,
 *                         model, dataset, sampler, seed, batch, threads, requested, count,
 *                         complete (count = records committed; rows past it are ignored)
 *   /index                int64 (M)         position of record k in the run
 *   /smiles               vlen UTF-8 (M)    canonical SMILES, "" when dropped
 *   /valid                uint8 (M)         1 = finished (parsed), 0 = dropped
 *   /valid_wo_correction  uint8 (M)
 *   /atom_offsets         int64 (M + 1)     atoms of record k are rows [k] .. [k+1]-1
 *   /atoms                int32 (A, 2)      (atomic number, formal charge), heavy atoms
 *   /bond_offsets         int64 (M + 1)
 *   /bonds                int32 (B, 3)      (i, j, order 1..3), atom indices local to the record */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "io/internal.h"

typedef enum mf_kind { MF_SDF, MF_SMI, MF_H5 } mf_kind;

enum { D_INDEX, D_SMILES, D_VALID, D_VALID_WO, D_ATOM_OFF, D_ATOMS, D_BOND_OFF, D_BONDS, D_NSETS };
static const char *const d_names[D_NSETS] = {"index", "smiles", "valid", "valid_wo_correction",
                                             "atom_offsets", "atoms", "bond_offsets", "bonds"};
static const int d_cols[D_NSETS] = {1, 1, 1, 1, 1, 2, 1, 3};
static const int d_rows_of[D_NSETS] = {H5_ROWS_RECORD, H5_ROWS_RECORD, H5_ROWS_RECORD, H5_ROWS_RECORD,
                                       H5_ROWS_OFFSETS, D_ATOM_OFF,     H5_ROWS_OFFSETS, D_BOND_OFF};

static bool has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), e = strlen(ext);
    return n > e && strcasecmp(path + n - e, ext) == 0;
}

static sdg_status kind_of(const char *path, mf_kind *k) {
    if (has_ext(path, ".sdf")) *k = MF_SDF;
    else if (has_ext(path, ".smi")) *k = MF_SMI;
    else if (has_ext(path, ".h5")) *k = MF_H5;
    else return SDG_ERROR(SDG_ERR_INVALID, "%s: unknown molecule file extension (use .sdf, .smi or .h5)", path);
    return SDG_OK;
}

struct sdg_mol_writer {
    mf_kind kind;
    char   *path, *part;
    size_t  total, done;
    sdg_mol_run run;        /* strings owned (copies)                        */
    char    seed_s[32], batch_s[32], threads_s[32];   /* SDF field values    */
    FILE   *f;              /* SDF, SMILES                                    */
    h5_recfile h;           /* .h5                                            */
    int64_t atoms_so_far, bonds_so_far;
};

static void writer_release(sdg_mol_writer *w) {
    if (!w) return;
    if (w->f) fclose(w->f);
    h5_recfile_close(&w->h);
    free((char *)w->run.model);
    free((char *)w->run.dataset);
    free((char *)w->run.sampler);
    free(w->path);
    free(w->part);
    free(w);
}

void sdg_mol_writer_free(sdg_mol_writer *w) { writer_release(w); }

/* A new writer with copies of path and run (no file opened yet). */
static sdg_status writer_new(const char *path, const sdg_mol_run *run, sdg_mol_writer **out) {
    sdg_status      st = SDG_OK;
    sdg_mol_writer *w  = calloc(1, sizeof *w);
    *out = NULL;
    if (!w) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    h5_recfile_init(&w->h);
    SDG_TRY(kind_of(path, &w->kind));
    for (const char *c = run->model; *c; c++)
        if (*c == '\n') SDG_FAIL(SDG_ERR_INVALID, "%s: the model name holds a newline", path);
    w->run = *run;
    w->total = (size_t)run->requested;
    w->run.model = strdup(run->model);
    w->run.dataset = strdup(run->dataset);
    w->run.sampler = strdup(run->sampler);
    snprintf(w->seed_s, sizeof w->seed_s, "%llu", (unsigned long long)run->seed);
    snprintf(w->batch_s, sizeof w->batch_s, "%lld", (long long)run->batch);
    snprintf(w->threads_s, sizeof w->threads_s, "%lld", (long long)run->threads);
    w->path = strdup(path);
    w->part = malloc(strlen(path) + 6);
    if (!w->run.model || !w->run.dataset || !w->run.sampler || !w->path || !w->part)
        SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
    sprintf(w->part, "%s.part", path);
    *out = w;
    w = NULL;
cleanup:
    writer_release(w);
    return st;
}

static hid_t file_type(int k, hid_t strtype) {
    switch (k) {
    case D_SMILES: return strtype;
    case D_VALID:
    case D_VALID_WO: return H5T_STD_U8LE;
    case D_ATOMS:
    case D_BONDS: return H5T_STD_I32LE;
    default: return H5T_STD_I64LE;
    }
}

static hid_t mem_type(int k, hid_t strtype) {
    switch (k) {
    case D_SMILES: return strtype;
    case D_VALID:
    case D_VALID_WO: return H5T_NATIVE_UINT8;
    case D_ATOMS:
    case D_BONDS: return H5T_NATIVE_INT32;
    default: return H5T_NATIVE_INT64;
    }
}

static const h5_records layout = {D_NSETS, d_names, d_cols, d_rows_of, 4096, file_type};

/* The header of w's run (its strings are w's copies). */
static h5_run h5_run_of(const sdg_mol_writer *w) {
    return (h5_run){SDG_MOLECULES_FORMAT, SDG_MOLECULES_FORMAT_VERSION, "sdegen molecule file", w->run.model,
                    w->run.dataset, w->run.sampler, NULL, w->run.seed, w->run.batch, w->run.threads,
                    w->run.requested, false, 0.0};
}

sdg_status sdg_mol_writer_open(const char *path, const sdg_mol_run *run, sdg_mol_writer **out) {
    sdg_status      st = SDG_OK;
    sdg_mol_writer *w  = NULL;
    if (!path || !run || !run->model || !run->dataset || !run->sampler || !out || run->requested < 1)
        return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_writer_open: NULL argument or no molecules requested");
    *out = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    SDG_TRY(writer_new(path, run, &w));
    if (w->kind == MF_H5) {
        const h5_run hr = h5_run_of(w);
        if ((st = h5_records_create(path, &hr, &layout, &w->h)) != SDG_OK) {
            sdg_error_prefix("%s", path);
            goto cleanup;
        }
    } else {
        w->f = fopen(w->part, "w");
        if (!w->f) SDG_FAIL(SDG_ERR_IO, "%s: cannot open for writing: %s", w->part, strerror(errno));
    }
    *out = w;
    w = NULL;
cleanup:
    writer_release(w);
    return st;
}

/* ---- resuming an .h5 file ---- */
static sdg_status h5_reopen(sdg_mol_writer *w, size_t *done) {
    sdg_status st = SDG_OK;
    int64_t count = 0;
    const h5_run hr = h5_run_of(w);
    SDG_TRY(h5_records_reopen(w->path, &hr, &layout, &w->h, &count));
    w->atoms_so_far = (int64_t)w->h.rows[D_ATOMS];
    w->bonds_so_far = (int64_t)w->h.rows[D_BONDS];
    w->done = (size_t)count;
    *done = (size_t)count;
cleanup:
    return st;
}

sdg_status sdg_mol_writer_resume(const char *path, const sdg_mol_run *run, sdg_mol_writer **out, size_t *done) {
    sdg_status      st = SDG_OK;
    sdg_mol_writer *w  = NULL;
    if (!path || !run || !run->model || !run->dataset || !run->sampler || !out || !done || run->requested < 1 ||
        run->batch < 1)
        return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_writer_resume: NULL argument");
    *out = NULL;
    *done = 0;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    SDG_TRY(writer_new(path, run, &w));
    if (w->kind != MF_H5) SDG_FAIL(SDG_ERR_INVALID, "%s: only .h5 molecule files can be resumed", path);
    if ((st = h5_reopen(w, done)) != SDG_OK) {
        sdg_error_prefix("%s", path);
        goto cleanup;
    }
    *out = w;
    w = NULL;
cleanup:
    writer_release(w);
    return st;
}

/* ---- appending ---- */
static sdg_status h5_append_recs(sdg_mol_writer *w, const sdg_mol_sample_record *recs, size_t n) {
    sdg_status st = SDG_OK;
    size_t na = 0, nb = 0;
    for (size_t i = 0; i < n; i++)
        if (recs[i].mol) {
            for (int64_t a = 0; a < recs[i].mol->n_atoms; a++) na += recs[i].mol->atoms[a].z != 1;
            nb += (size_t)recs[i].mol->n_bonds;
        }
    int64_t *idx = malloc((n + 1) * sizeof *idx), *aoff = malloc((n + 1) * sizeof *aoff),
            *boff = malloc((n + 1) * sizeof *boff);
    uint8_t *valid = malloc(n + 1), *wo = malloc(n + 1);
    const char **smi = malloc((n + 1) * sizeof *smi);
    int32_t *atoms = malloc((2 * na + 1) * sizeof *atoms), *bonds = malloc((3 * nb + 1) * sizeof *bonds);
    int64_t *heavy = NULL;   /* record-local index of each heavy atom */
    size_t ka = 0, kb = 0, maxa = 1;
    for (size_t i = 0; i < n; i++)
        if (recs[i].mol && (size_t)recs[i].mol->n_atoms > maxa) maxa = (size_t)recs[i].mol->n_atoms;
    heavy = malloc(maxa * sizeof *heavy);
    if (!idx || !aoff || !boff || !valid || !wo || !smi || !atoms || !bonds || !heavy)
        SDG_FAIL(SDG_ERR_NOMEM, "out of memory for %zu molecules", n);
    for (size_t i = 0; i < n; i++) {
        const sdg_mol_sample_record *r = &recs[i];
        const sdg_mol *m = r->mol;
        idx[i] = r->index;
        valid[i] = m != NULL;
        wo[i] = r->valid_wo_correction;
        smi[i] = m && r->smiles ? r->smiles : "";
        size_t a0 = ka;
        for (int64_t a = 0; m && a < m->n_atoms; a++) {   /* explicit H (3-D) are not stored */
            heavy[a] = m->atoms[a].z == 1 ? -1 : (int64_t)(ka - a0);
            if (m->atoms[a].z == 1) continue;
            atoms[2 * ka] = m->atoms[a].z;
            atoms[2 * ka++ + 1] = m->atoms[a].charge;
        }
        for (int64_t b = 0; m && b < m->n_bonds; b++) {
            const sdg_bond *bd = &m->bonds[b];
            if (heavy[bd->i] < 0 || heavy[bd->j] < 0) continue;
            bonds[3 * kb] = (int32_t)heavy[bd->i];
            bonds[3 * kb + 1] = (int32_t)heavy[bd->j];
            bonds[3 * kb++ + 2] = bd->order;
        }
        aoff[i] = w->atoms_so_far + (int64_t)ka;
        boff[i] = w->bonds_so_far + (int64_t)kb;
    }
    const void *buf[D_NSETS] = {idx, smi, valid, wo, aoff, atoms, boff, bonds};
    const hsize_t cnt[D_NSETS] = {n, n, n, n, n, ka, n, kb};
    for (int k = 0; k < D_NSETS; k++)
        SDG_TRY(h5_grow_append(w->h.d[k], d_names[k], mem_type(k, w->h.strtype), d_cols[k], &w->h.rows[k], buf[k],
                               cnt[k]));
    w->atoms_so_far += (int64_t)ka;
    w->bonds_so_far += (int64_t)kb;
    /* the chunk counts only once every dataset holds it (a run killed before this keeps the last) */
    SDG_TRY(h5_set_count(w->h.file, (int64_t)(w->done + n), 0));
cleanup:
    free(idx);
    free(aoff);
    free(boff);
    free(valid);
    free(wo);
    free(smi);
    free(atoms);
    free(bonds);
    free(heavy);
    return st;
}

static sdg_status sdf_append(sdg_mol_writer *w, const sdg_mol_sample_record *recs, size_t n) {
    sdg_status st = SDG_OK;
    for (size_t i = 0; i < n; i++) {
        const sdg_mol_sample_record *r = &recs[i];
        if (!r->mol) continue;
        char idx[32];
        snprintf(idx, sizeof idx, "%lld", (long long)r->index);
        sdg_mol_field f[] = {
            {"SMILES", r->smiles ? r->smiles : ""},
            {"valid_wo_correction", r->valid_wo_correction ? "1" : "0"},
            {"index", idx},
            {"sampler", w->run.sampler},
            {"seed", w->seed_s},
            {"batch", w->batch_s},
            {"threads", w->threads_s},
            {"model", w->run.model},
            {"dataset", w->run.dataset},
        };
        SDG_TRY(sdg_mol_write_sdf(w->f, r->mol, f, sizeof f / sizeof *f));
    }
cleanup:
    return st;
}

sdg_status sdg_mol_writer_append(sdg_mol_writer *w, const sdg_mol_sample_record *recs, size_t count) {
    sdg_status st = SDG_OK;
    if (!w || (!recs && count)) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_writer_append: NULL argument");
    if (w->done + count > w->total)
        return SDG_ERROR(SDG_ERR_INVALID, "%s: %zu molecules appended, more than the %zu announced",
                         w->kind == MF_H5 ? w->path : w->part, w->done + count, w->total);
    if (w->kind == MF_H5) st = h5_append_recs(w, recs, count);
    else if (w->kind == MF_SDF) st = sdf_append(w, recs, count);
    else
        for (size_t i = 0; i < count; i++)
            if (recs[i].mol && recs[i].smiles) fprintf(w->f, "%s\t%lld\n", recs[i].smiles, (long long)recs[i].index);
    if (st == SDG_OK && w->f && (ferror(w->f) || fflush(w->f) != 0))
        st = SDG_ERROR(SDG_ERR_IO, "write error: %s", strerror(errno));
    if (st != SDG_OK) {
        sdg_error_prefix("%s", w->kind == MF_H5 ? w->path : w->part);
        return st;
    }
    w->done += count;
    return SDG_OK;
}

sdg_status sdg_mol_writer_close(sdg_mol_writer *w) {
    sdg_status st = SDG_OK;
    if (!w) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_writer_close: NULL writer");
    const char *name = w->kind == MF_H5 ? w->path : w->part;
    if (w->done != w->total)
        SDG_FAIL(SDG_ERR_INVALID, "%s: %zu of %zu molecules written; the file stays incomplete", name, w->done, w->total);
    if (w->f) {
        int rc = fclose(w->f);
        w->f = NULL;
        if (rc != 0) SDG_FAIL(SDG_ERR_IO, "%s: write error on close: %s", name, strerror(errno));
        if (rename(w->part, w->path) != 0)
            SDG_FAIL(SDG_ERR_IO, "cannot rename %s to %s: %s", w->part, w->path, strerror(errno));
    } else {
        if ((st = h5_records_finish(&w->h, &layout, (int64_t)w->done)) != SDG_OK) sdg_error_prefix("%s", name);
    }
cleanup:
    writer_release(w);
    return st;
}

/* ---- reading an .h5 file ---- */
void sdg_mol_file_free(sdg_mol_file *f) {
    if (!f) return;
    for (size_t i = 0; i < f->count; i++) {
        if (f->smiles) free(f->smiles[i]);
        if (f->mols) sdg_mol_free(f->mols[i]);
    }
    free(f->smiles);
    free(f->mols);
    free(f->index);
    free(f->valid);
    free(f->valid_wo_correction);
    free(f->model);
    free(f->dataset);
    free(f->sampler);
    free(f->version);
    free(f);
}

static sdg_status read_smiles(hid_t file, size_t count, char **out) {
    sdg_status st = SDG_OK;
    hid_t d = H5_NONE, sp = H5_NONE, ms = H5_NONE, type = H5_NONE;
    char **buf = NULL;
    hsize_t rows = 0, cnt = count, start = 0;
    SDG_TRY(h5_grow_open(file, "smiles", 1, &rows, &d));
    if (rows < count) SDG_FAIL(SDG_ERR_FORMAT, "dataset /smiles has %llu rows, count is %zu", (unsigned long long)rows, count);
    if (count == 0) goto cleanup;
    type = H5Dget_type(d);
    if (type < 0 || H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) <= 0)
        SDG_FAIL(SDG_ERR_FORMAT, "dataset /smiles is not of variable-length strings");
    h5_close(type);
    SDG_TRY(h5_strtype(&type));
    buf = calloc(count, sizeof *buf);
    sp = H5Dget_space(d);
    ms = H5Screate_simple(1, &cnt, NULL);
    if (!buf) SDG_FAIL(SDG_ERR_NOMEM, "out of memory for %zu SMILES", count);
    if (sp < 0 || ms < 0 || H5Sselect_hyperslab(sp, H5S_SELECT_SET, &start, NULL, &cnt, NULL) < 0)
        H5_FAIL(SDG_ERR_DEPENDENCY, "cannot select rows of /smiles");
    if (H5Dread(d, type, ms, sp, H5P_DEFAULT, buf) < 0) H5_FAIL(SDG_ERR_FORMAT, "cannot read /smiles");
    for (size_t i = 0; i < count; i++)
        if (!(out[i] = strdup(buf[i] ? buf[i] : ""))) SDG_FAIL(SDG_ERR_NOMEM, "out of memory");
cleanup:
    if (buf && ms >= 0 && type >= 0) H5Dvlen_reclaim(type, ms, H5P_DEFAULT, buf);
    free(buf);
    h5_close(type);
    h5_close(ms);
    h5_close(sp);
    h5_close(d);
    return st;
}

/* The molecule of record k from the atom and bond tables (checked against their lengths). */
static sdg_status rebuild(const int64_t *aoff, const int64_t *atoms, hsize_t n_atoms, const int64_t *boff,
                          const int64_t *bonds, hsize_t n_bonds, size_t k, sdg_mol **out) {
    sdg_status st = SDG_OK;
    sdg_mol *m = NULL;
    int64_t a0 = aoff[k], a1 = aoff[k + 1], b0 = boff[k], b1 = boff[k + 1];
    if (a0 < 0 || a1 < a0 || (hsize_t)a1 > n_atoms || b0 < 0 || b1 < b0 || (hsize_t)b1 > n_bonds)
        SDG_FAIL(SDG_ERR_FORMAT, "record %zu: offsets out of range", k);
    SDG_TRY(sdg_mol_new(&m));
    for (int64_t a = a0; a < a1; a++) {
        int64_t idx = 0;
        if (sdg_mol_add_atom(m, (int)atoms[2 * a], (int)atoms[2 * a + 1], &idx) != SDG_OK)
            SDG_FAIL(SDG_ERR_FORMAT, "record %zu: atom %lld has atomic number %lld", k, (long long)(a - a0),
                     (long long)atoms[2 * a]);
    }
    for (int64_t b = b0; b < b1; b++)
        if (sdg_mol_add_bond(m, bonds[3 * b], bonds[3 * b + 1], (int)bonds[3 * b + 2]) != SDG_OK)
            SDG_FAIL(SDG_ERR_FORMAT, "record %zu: bond %lld (%lld, %lld, order %lld) is not valid", k,
                     (long long)(b - b0), (long long)bonds[3 * b], (long long)bonds[3 * b + 1], (long long)bonds[3 * b + 2]);
    *out = m;
    m = NULL;
cleanup:
    sdg_mol_free(m);
    return st;
}

static sdg_status read_h5(const char *path, sdg_mol_file *f) {
    sdg_status st = SDG_OK;
    hid_t file = H5_NONE;
    int64_t *v[D_NSETS] = {0}, count = 0, complete = 0;
    hsize_t n[D_NSETS] = {0};
    SDG_TRY(h5_open_format(path, SDG_MOLECULES_FORMAT, SDG_MOLECULES_FORMAT_VERSION, "sdegen molecule file", &file));
    SDG_TRY(attr_read_str(file, "sdegen_version", &f->version));
    SDG_TRY(attr_read_str(file, "model", &f->model));
    SDG_TRY(attr_read_str(file, "dataset", &f->dataset));
    SDG_TRY(attr_read_str(file, "sampler", &f->sampler));
    SDG_TRY(attr_read_scalar(file, "seed", H5T_INTEGER, "an integer", H5T_NATIVE_UINT64, &f->seed));
    SDG_TRY(attr_read_i64(file, "batch", &f->batch));
    SDG_TRY(attr_read_i64(file, "threads", &f->threads));
    SDG_TRY(attr_read_i64(file, "requested", &f->requested));
    SDG_TRY(attr_read_i64(file, "count", &count));
    SDG_TRY(attr_read_i64(file, "complete", &complete));
    if (count < 0 || count > f->requested)
        SDG_FAIL(SDG_ERR_FORMAT, "count %lld is outside 0..requested (%lld)", (long long)count, (long long)f->requested);
    f->complete = complete != 0;
    for (int k = 0; k < D_NSETS; k++) {
        if (k == D_SMILES) continue;
        SDG_TRY(h5_read_i64(file, d_names[k], d_cols[k], &n[k], &v[k]));
        hsize_t need = (hsize_t)count + (k == D_ATOM_OFF || k == D_BOND_OFF);
        if (k != D_ATOMS && k != D_BONDS && n[k] < need)
            SDG_FAIL(SDG_ERR_FORMAT, "dataset /%s has %llu rows, count is %lld", d_names[k], (unsigned long long)n[k],
                     (long long)count);
    }
    size_t c = (size_t)count;
    f->smiles = calloc(c + 1, sizeof *f->smiles);
    f->mols = calloc(c + 1, sizeof *f->mols);
    f->index = malloc((c + 1) * sizeof *f->index);
    f->valid = malloc(c + 1);
    f->valid_wo_correction = malloc(c + 1);
    if (!f->smiles || !f->mols || !f->index || !f->valid || !f->valid_wo_correction)
        SDG_FAIL(SDG_ERR_NOMEM, "out of memory for %zu records", c);
    f->count = c;
    SDG_TRY(read_smiles(file, c, f->smiles));
    for (size_t k = 0; k < c; k++) {
        f->index[k] = v[D_INDEX][k];
        f->valid[k] = (int8_t)(v[D_VALID][k] != 0);
        f->valid_wo_correction[k] = (int8_t)(v[D_VALID_WO][k] != 0);
        if (f->valid[k])
            SDG_TRY(rebuild(v[D_ATOM_OFF], v[D_ATOMS], n[D_ATOMS], v[D_BOND_OFF], v[D_BONDS], n[D_BONDS], k, &f->mols[k]));
    }
cleanup:
    for (int k = 0; k < D_NSETS; k++) free(v[k]);
    h5_close(file);
    return st;
}

sdg_status sdg_mol_file_read(const char *path, sdg_mol_file **out) {
    sdg_status st = SDG_OK;
    sdg_mol_file *f = NULL;
    if (!path || !out) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_file_read: NULL argument");
    *out = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    f = calloc(1, sizeof *f);
    if (!f) return SDG_ERROR(SDG_ERR_NOMEM, "out of memory");
    if ((st = read_h5(path, f)) != SDG_OK) {
        sdg_error_prefix("%s", path);
        goto cleanup;
    }
    *out = f;
    f = NULL;
cleanup:
    sdg_mol_file_free(f);
    return st;
}
