/* Inputs for measuring `sdegen eval molecules` on a perfect sampler: draws K training molecules
 * of a dataset (uniformly, without replacement, from sdg_rng seed S) and writes
 *   PREFIX.copy.smi   their canonical SMILES, as the dataset holds them;
 *   PREFIX.graph.smi  the same molecules after GDSS's graph round trip (encode to X/A, decode
 *                     with the valence correction, keep the largest fragment), with a second
 *                     column valid_wo_correction 0/1, as a GDSS sampler would write them.
 * Usage: bench_moleval DATA_DIR qm9|zinc250k K SEED PREFIX   (bench/moleval.sh runs it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sdegen/sdegen.h"

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: bench_moleval DATA_DIR qm9|zinc250k K SEED PREFIX\n");
        return 2;
    }
    if (sdg_init() != SDG_OK) return 1;
    size_t K = (size_t)strtoull(argv[3], NULL, 10);
    uint64_t seed = strtoull(argv[4], NULL, 10);
    sdg_mol_dataset *d = NULL;
    sdg_rng *rng = NULL;
    int64_t *perm = NULL;
    float *X = NULL, *A = NULL;
    FILE *fc = NULL, *fg = NULL;
    int rc = 1;
    char path[4096];
    if (sdg_mol_dataset_load(argv[1], argv[2], NULL, &d) != SDG_OK || sdg_rng_new(seed, &rng) != SDG_OK) {
        fprintf(stderr, "bench_moleval: %s\n", sdg_errmsg());
        goto done;
    }
    if (K > d->n_train) K = d->n_train;
    perm = malloc(d->n_train * sizeof *perm);
    X = malloc((size_t)(d->vocab->N * d->vocab->F) * sizeof *X);
    A = malloc((size_t)(d->vocab->N * d->vocab->N) * sizeof *A);
    snprintf(path, sizeof path, "%s.copy.smi", argv[5]);
    fc = fopen(path, "w");
    snprintf(path, sizeof path, "%s.graph.smi", argv[5]);
    fg = fopen(path, "w");
    if (!perm || !X || !A || !fc || !fg) {
        fprintf(stderr, "bench_moleval: cannot allocate or open %s.*.smi\n", argv[5]);
        goto done;
    }
    for (size_t i = 0; i < d->n_train; i++) perm[i] = (int64_t)i;
    sdg_rng_shuffle(rng, perm, d->n_train);
    fprintf(fg, "smiles valid_wo_correction\n");
    size_t dropped = 0;
    for (size_t k = 0; k < K; k++) {
        const sdg_mol *m = d->mols[d->train[perm[k]]];
        fprintf(fc, "%s\n", d->smiles[d->train[perm[k]]]);
        sdg_mol *dec = NULL;
        char *smi = NULL;
        bool ok = false;
        if (sdg_mol_encode(m, d->vocab, X, A) != SDG_OK || sdg_mol_decode(X, A, d->vocab, &dec, &ok) != SDG_OK ||
            sdg_mol_finish(dec, NULL, &smi) != SDG_OK) {
            fprintf(stderr, "bench_moleval: %s\n", sdg_errmsg());
            sdg_mol_free(dec);
            goto done;
        }
        if (smi) fprintf(fg, "%s %d\n", smi, ok ? 1 : 0);
        else dropped++;   /* GDSS drops a fragment that does not parse */
        free(smi);
        sdg_mol_free(dec);
    }
    fprintf(stderr, "bench_moleval: %zu %s training molecules (seed %llu) -> %s.copy.smi, %s.graph.smi (%zu dropped)\n",
            K, argv[2], (unsigned long long)seed, argv[5], argv[5], dropped);
    rc = 0;
done:
    if (fc) fclose(fc);
    if (fg) fclose(fg);
    free(perm);
    free(X);
    free(A);
    sdg_rng_free(rng);
    sdg_mol_dataset_free(d);
    return rc;
}
