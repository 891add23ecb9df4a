/* sdegen sample with a molecule model (GDSS QM9 / ZINC250k): molecules sampled in chunks,
 * decoded and finished as GDSS does (README section 12), written to .sdf, .smi or .h5
 * (io.h: sdg_mol_writer), then a one-screen summary (docs/molecules.md "Sampling"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cli/cli.h"

#define EMBED_STREAM (UINT64_C(3) << 62)   /* --3d jitter of molecule i: stream (seed, 3*2^62 + i) */
#define SHOW_DROPPED 8

/* What the summary counts, over every record of the file (earlier runs included on resume). */
typedef struct tally {
    size_t   n, valid, wo, n_dropped, coords_failed;
    int64_t  dropped[SHOW_DROPPED];
    char   **smiles;          /* valid canonical SMILES, for uniqueness and novelty */
    size_t   n_smiles, cap;
    int64_t  atoms[119];      /* heavy atoms of the valid molecules by atomic number  */
} tally;

static int tally_add(tally *t, int64_t index, bool wo, const sdg_mol *mol, const char *smiles) {
    t->n++;
    t->wo += wo;
    if (!mol || !smiles) {
        if (t->n_dropped < SHOW_DROPPED) t->dropped[t->n_dropped] = index;
        t->n_dropped++;
        return 0;
    }
    t->valid++;
    for (int64_t a = 0; a < mol->n_atoms; a++)
        if (mol->atoms[a].z > 1 && mol->atoms[a].z < 119) t->atoms[mol->atoms[a].z]++;
    if (t->n_smiles == t->cap) {
        size_t c = t->cap ? 2 * t->cap : 1024;
        char **s = realloc(t->smiles, c * sizeof *s);
        if (!s) return -1;
        t->smiles = s;
        t->cap = c;
    }
    if (!(t->smiles[t->n_smiles] = strdup(smiles))) return -1;
    t->n_smiles++;
    return 0;
}

static void tally_destroy(tally *t) {
    for (size_t i = 0; i < t->n_smiles; i++) free(t->smiles[i]);
    free(t->smiles);
}

typedef struct mol_run {
    cli_rate        rate;
    sdg_mol_writer *w;
    tally           t;
    bool            sdf, coords_3d;
    uint64_t        seed;
} mol_run;

/* SDF coordinates: a 2-D depiction, or --3d an embedding with explicit H (on failure the
 * 2-D depiction, counted). */
static sdg_status add_coords(mol_run *r, sdg_mol_sample_record *rec) {
    sdg_status st = SDG_OK;
    sdg_rng *rng = NULL;
    if (r->coords_3d) {
        sdg_embed_params ep = sdg_embed_default_params();
        sdg_mol *e = NULL;
        SDG_TRY(sdg_rng_stream(r->seed, EMBED_STREAM + (uint64_t)rec->index, &rng));
        if (sdg_mol_embed_3d(rec->mol, &ep, rng, &e) == SDG_OK) {
            sdg_mol_free(rec->mol);
            rec->mol = e;
            goto cleanup;
        }
        sdg_error_clear();
        r->t.coords_failed++;
    }
    if (sdg_mol_coords_2d(rec->mol) != SDG_OK) {   /* zeros are written then */
        sdg_error_clear();
        if (!r->coords_3d) r->t.coords_failed++;
    }
cleanup:
    sdg_rng_free(rng);
    return st;
}

static sdg_status on_chunk(sdg_mol_sample_record *recs, size_t count, void *ud) {
    mol_run *r = ud;
    for (size_t i = 0; i < count; i++) {
        if (tally_add(&r->t, recs[i].index, recs[i].valid_wo_correction, recs[i].mol, recs[i].smiles) != 0)
            return SDG_ERROR(SDG_ERR_NOMEM, "out of memory for the summary");
        if (r->sdf && recs[i].mol) {
            char title[64];
            snprintf(title, sizeof title, "sdegen sample %lld", (long long)recs[i].index);
            sdg_status st = add_coords(r, &recs[i]);
            if (st == SDG_OK) st = sdg_mol_set_name(recs[i].mol, title);
            if (st != SDG_OK) return st;
        }
    }
    sdg_status st = sdg_mol_writer_append(r->w, recs, count);
    if (st != SDG_OK) return st;
    r->rate.done += count;
    r->rate.last = 0;
    cli_rate_show(&r->rate, 0);
    return SDG_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts the valid SMILES and counts the distinct ones, and those not in train (sorted). */
static void unique_novel(tally *t, const char **train, size_t n_train, size_t *unique, size_t *novel) {
    qsort(t->smiles, t->n_smiles, sizeof *t->smiles, cmp_str);
    *unique = *novel = 0;
    for (size_t i = 0; i < t->n_smiles; i++) {
        if (i > 0 && strcmp(t->smiles[i], t->smiles[i - 1]) == 0) continue;
        (*unique)++;
        if (train && !bsearch(&t->smiles[i], train, n_train, sizeof *train, cmp_str)) (*novel)++;
    }
}

/* Records already in the file being resumed, into the tally. 0, or 1 after an error line. */
static int tally_file(const char *path, tally *t) {
    sdg_mol_file *f = NULL;
    if (sdg_mol_file_read(path, &f) != SDG_OK) {
        fprintf(stderr, "sdegen sample: --resume: %s\n", sdg_errmsg());
        return 1;
    }
    int rc = 0;
    for (size_t k = 0; k < f->count && rc == 0; k++)
        if (tally_add(t, f->index[k], f->valid_wo_correction[k], f->mols[k], f->valid[k] ? f->smiles[k] : NULL)) {
            fprintf(stderr, "sdegen sample: out of memory\n");
            rc = 1;
        }
    sdg_mol_file_free(f);
    return rc;
}

static double pct(size_t a, size_t b) { return b ? 100.0 * (double)a / (double)b : 0.0; }

int cli_sample_molecules(const cli_sample_args *a, const sdg_gdss_model *m, const sdg_mol_vocab *v) {
    int rc = 1;
    sdg_gdss_sample_params p = a->p;
    sdg_gdss_sample_stats stats;
    sdg_sampler_params q;
    sdg_gdss_flags flags = {0};
    sdg_mol_dataset *d = NULL;
    const char **train = NULL;
    mol_run r = {0};
    char desc[256], nodata[600] = "";
    size_t done = 0;
    const char *out = a->out;
    memset(&stats, 0, sizeof stats);
    r.sdf = cli_has_ext(out, ".sdf");
    bool smi = cli_has_ext(out, ".smi"), h5 = cli_has_ext(out, ".h5");
    if (!r.sdf && !smi && !h5) {
        fprintf(stderr, "sdegen sample: option -o: %s: unknown extension for molecules from %s (GDSS %s): use .sdf, "
                ".smi or .h5\n", out, a->model_path, m->settings.dataset);
        return 2;
    }
    if (a->coords_3d && !r.sdf) {
        fprintf(stderr, "sdegen sample: --3d: %s: coordinates are written to .sdf only\n", out);
        return 2;
    }
    if (a->resume && !h5) {
        fprintf(stderr, "sdegen sample: --resume: %s: only .h5 molecule files can be resumed (.sdf and .smi are "
                "written to %s.part and renamed when complete)\n", out, out);
        return 2;
    }
    const char *data = cli_data_dir(a->data_opt);
    if (m->flags.count == 0 && !data) {
        fprintf(stderr, "sdegen sample: %s has no node-flag table; give --data DIR (or set SDEGEN_DATA) for the "
                "training molecules of '%s'\n", a->model_path, m->settings.dataset);
        return 2;
    }
    if (sdg_gdss_sampler_params(m, &p, (size_t)a->n, &q, &r.rate.batch) != SDG_OK) {
        fprintf(stderr, "sdegen sample: %s\n", sdg_errmsg());
        return 2;
    }
    cli_sampler_describe(&q, desc, sizeof desc);
    sdg_mol_run run = {.model = a->model_path, .dataset = m->settings.dataset, .sampler = desc,
                       .seed = (uint64_t)a->seed, .batch = (int64_t)r.rate.batch,
                       .threads = sdg_num_threads(), .requested = a->n};
    /* the output first: an unwritable path or a foreign file fails before any sampling */
    if (a->resume) {
        if (tally_file(out, &r.t)) return 1;
        if (sdg_mol_writer_resume(out, &run, &r.w, &done) != SDG_OK) {
            fprintf(stderr, "sdegen sample: --resume: %s\n", sdg_errmsg());
            rc = 2;
            goto cleanup;
        }
    } else if (sdg_mol_writer_open(out, &run, &r.w) != SDG_OK) {
        fprintf(stderr, "sdegen sample: option -o: %s\n", sdg_errmsg());
        goto cleanup;
    }
    if (data) {   /* the training split: flags (when the model has none) and novelty */
        cli_progress("loading %s from %s ...", v->name, data);
        sdg_status st = sdg_mol_dataset_load(data, v->name, NULL, &d);
        cli_progress_end();
        if (st != SDG_OK && m->flags.count == 0) {
            fprintf(stderr, "sdegen sample: training molecules of '%s': %s\n", m->settings.dataset, sdg_errmsg());
            goto cleanup;
        }
        if (st != SDG_OK) snprintf(nodata, sizeof nodata, "not computed (%s)", sdg_errmsg());
    } else {
        snprintf(nodata, sizeof nodata, "needs --data DIR (or SDEGEN_DATA) for the %s training split", v->name);
    }
    if (m->flags.count == 0) {
        if (cli_mol_flags("sample", d, &flags)) goto cleanup;
        p.flags = &flags;
    }
    r.coords_3d = a->coords_3d;
    r.seed = (uint64_t)a->seed;
    r.rate.noun = "molecules";
    r.rate.n = (size_t)a->n;
    r.rate.done = r.rate.start = done;
    r.rate.eps = q.eps;
    r.rate.t0 = cli_now();
    p.hook = cli_rate_hook;
    p.hook_params = &r.rate;
    cli_rate_show(&r.rate, 0);
    sdg_status st = done < (size_t)a->n ? sdg_mol_sample(m, v, &p, (size_t)a->n, done, on_chunk, &r, &stats) : SDG_OK;
    cli_progress_end();
    if (st != SDG_OK) {
        fprintf(stderr, "sdegen sample: %s (%zu of %ld molecules in %s%s)\n", sdg_errmsg(), r.rate.done, a->n, out,
                h5 ? ", complete chunks only: continue with --resume" : ".part");
        goto cleanup;
    }
    st = sdg_mol_writer_close(r.w);
    r.w = NULL;
    if (st != SDG_OK) {
        fprintf(stderr, "sdegen sample: %s\n", sdg_errmsg());
        goto cleanup;
    }

    /* ---- the summary ---- */
    tally *t = &r.t;
    size_t unique = 0, novel = 0, n_train = d ? d->n_train : 0;
    if (d) {
        train = malloc((n_train + 1) * sizeof *train);
        if (!train) {
            fprintf(stderr, "sdegen sample: out of memory\n");
            goto cleanup;
        }
        for (size_t i = 0; i < n_train; i++) train[i] = d->smiles[d->train[i]];
        qsort(train, n_train, sizeof *train, cmp_str);
    }
    unique_novel(t, train, n_train, &unique, &novel);
    size_t written = h5 ? t->n : t->valid;
    printf("wrote %zu molecules to %s", written, out);
    if (h5 && t->n_dropped) printf(" (%zu records marked valid = 0)", t->n_dropped);
    if (done) printf(" (resumed after %zu)", done);
    printf("\n");
    if (t->n_dropped) {
        printf("dropped: %zu of %zu (largest fragment did not parse back; indices kept: ", t->n_dropped, t->n);
        for (size_t i = 0; i < t->n_dropped && i < SHOW_DROPPED; i++) printf("%s%lld", i ? ", " : "", (long long)t->dropped[i]);
        printf("%s)\n", t->n_dropped > SHOW_DROPPED ? ", ..." : "");
    }
    printf("model: %s (GDSS %s), node flags from %s\n", a->model_path, m->settings.dataset,
           m->flags.count ? "the model file" : "the training split in the data directory");
    printf("protocol: n %ld, seed %ld, sampler %s, batch %zu, %d threads, weights %s\n", a->n, a->seed, desc,
           r.rate.batch, sdg_num_threads(), m->weights_ema ? "EMA" : "raw");
    printf("validity w/o correction: %6.2f %% (%zu of %zu sampled graphs pass the valence check before "
           "correction)\n", pct(t->wo, t->n), t->wo, t->n);
    printf("validity:                %6.2f %% (%zu of %zu molecules parse and finish after the correction)\n",
           pct(t->valid, t->n), t->valid, t->n);
    printf("uniqueness:              %6.2f %% (%zu distinct canonical SMILES among %zu valid)\n",
           pct(unique, t->valid), unique, t->valid);
    if (d)
        printf("novelty:                 %6.2f %% (%zu of the %zu distinct valid SMILES are not in the %s training "
               "split of %zu molecules; Open Babel canonical SMILES compared as strings)\n",
               pct(novel, unique), novel, unique, v->name, n_train);
    else
        printf("novelty:                 - (%s)\n", nodata);
    printf("atom types:");
    int64_t heavy = 0;
    for (int z = 2; z < 119; z++) heavy += t->atoms[z];
    for (int f = 0; f < v->F; f++)
        printf(" %s %lld (%.1f %%)", sdg_element_symbol(v->z[f]), (long long)t->atoms[v->z[f]],
               heavy ? 100.0 * (double)t->atoms[v->z[f]] / (double)heavy : 0.0);
    printf("\n");
    if (t->coords_failed)
        printf("coordinates: %zu molecules could not be %s; written with %s\n", t->coords_failed,
               a->coords_3d ? "embedded in 3-D" : "depicted", a->coords_3d ? "2-D depiction coordinates" : "zero coordinates");
    size_t fresh = stats.graphs;
    printf("wall: %.2f s, %.2f molecules/s (%zu sampled in this run)\n", stats.seconds,
           stats.seconds > 0 ? (double)fresh / stats.seconds : 0.0, fresh);
    printf("network: %ld evaluations (NFE), %.2f GFLOP, %.2f GFLOP/s\n", stats.nfe, stats.flops * 1e-9,
           stats.gflops_per_s);
    rc = 0;
cleanup:
    sdg_mol_writer_free(r.w);
    tally_destroy(&r.t);
    free(train);
    sdg_mol_dataset_free(d);
    sdg_gdss_flags_destroy(&flags);
    return rc;
}
