/* Sampling molecules with a GDSS model: the chunked dense driver of the graph module, then
 * GDSS's decoding (README section 12, steps 1-6) per graph. */
#include <stdlib.h>
#include <string.h>
#include "sdegen/molecule.h"

typedef struct mol_chunk {
    const sdg_mol_vocab   *v;
    sdg_mol_chunk_fn       on_chunk;
    void                  *ud;
    sdg_mol_sample_record *recs;   /* (batch) */
} mol_chunk;

static sdg_status decode_chunk(const float *x, const float *adj, const float *flags, size_t first,
                               size_t count, void *ud) {
    sdg_status st = SDG_OK;
    mol_chunk *mc = ud;
    const size_t N = (size_t)mc->v->N, F = (size_t)mc->v->F;
    (void)flags;   /* README 12: the flags are not used in decoding */
    memset(mc->recs, 0, count * sizeof *mc->recs);
    for (size_t i = 0; i < count; i++) {
        sdg_mol_sample_record *r = &mc->recs[i];
        sdg_mol *raw = NULL;
        r->index = (int64_t)(first + i);
        st = sdg_mol_decode(x + i * N * F, adj + i * N * N, mc->v, &raw, &r->valid_wo_correction);
        if (st == SDG_OK) st = sdg_mol_finish(raw, &r->mol, &r->smiles);
        sdg_mol_free(raw);
        if (st != SDG_OK) {
            sdg_error_prefix("molecule %zu", first + i);
            goto cleanup;
        }
    }
    st = mc->on_chunk(mc->recs, count, mc->ud);
cleanup:
    for (size_t i = 0; i < count; i++) {
        sdg_mol_free(mc->recs[i].mol);
        free(mc->recs[i].smiles);
    }
    memset(mc->recs, 0, count * sizeof *mc->recs);
    return st;
}

sdg_status sdg_mol_sample(const sdg_gdss_model *m, const sdg_mol_vocab *v, const sdg_gdss_sample_params *p,
                          size_t n, size_t start, sdg_mol_chunk_fn on_chunk, void *ud,
                          sdg_gdss_sample_stats *stats) {
    sdg_status st = SDG_OK;
    sdg_sampler_params q;
    size_t b = 0;
    mol_chunk mc = {.v = v, .on_chunk = on_chunk, .ud = ud};
    if (!m || !m->net_adj || !v || !p || !on_chunk) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_sample: missing argument");
    const sdg_gdss_params *hp = sdg_gdss_net_hparams(m->net_adj);
    if (hp->N != v->N || hp->F != v->F)
        return SDG_ERROR(SDG_ERR_SHAPE, "sdg_mol_sample: the model has N %lld, F %lld; %s molecules need N %lld, F %lld",
                         (long long)hp->N, (long long)hp->F, v->name, (long long)v->N, (long long)v->F);
    if (n == 0) return SDG_ERROR(SDG_ERR_INVALID, "sdg_mol_sample: n = 0 molecules");
    SDG_TRY(sdg_gdss_sampler_params(m, p, n, &q, &b));
    mc.recs = calloc(b, sizeof *mc.recs);
    if (!mc.recs) SDG_FAIL(SDG_ERR_NOMEM, "sdg_mol_sample: out of memory for %zu records", b);
    st = sdg_gdss_sample_chunks(m, p, n, start, decode_chunk, &mc, stats);
cleanup:
    free(mc.recs);
    return st;
}
