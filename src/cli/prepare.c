/* sdegen prepare conformers: builds 3-D conformers for the QM9 molecules that have no 3-D record
 * (those with property values or, for the generator's unconditional branch, those without; see
 * docs/molecules3d.md "Building more conformers"), through the molecule module's own path
 * (SMILES -> Open Babel builder -> MMFF94 -> jitter -> MMFF94), into a resumable cache SDF
 * outside the repository. One process: Open Babel is not thread-safe (every call into it holds
 * one lock), so parallel runs are separate processes (--shard K/N). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli/cli.h"

#define CMD "sdegen prepare conformers"
#define SHIPPED_ATOM_STABILITY 98.0   /* qm9_3d_conformers.sdf under EDM's rule (data README 1a) */
#define SHIPPED_MOL_STABILITY  87.1

static const char usage[] =
    "usage: sdegen prepare conformers --data DIR -o CACHE.sdf [--part generator|regressor|all|unvalued]\n"
    "                                 [--limit N] [--seed S] [--steps K] [--shard K/N] [--resume]\n"
    "  builds 3-D conformers (explicit H, Kekule bonds, charges) for the QM9 molecules under DIR (default\n"
    "  $SDEGEN_DATA) that have property values (qm9_props_subset.csv, qm9_3d_subset_props.csv; with\n"
    "  --part unvalued: that have none) but no record in qm9_3d_conformers.sdf nor in qm9_3d_subset.xyz:\n"
    "  SMILES (qm9_smiles.csv) -> Open Babel's builder -> MMFF94 conjugate gradients -> every atom\n"
    "  displaced by N(0, 0.01 A) -> MMFF94 again (the jitter moves sp centres off the builder's saddle;\n"
    "  random stream (seed, gdb index)). Atoms and bonds are reproducible, coordinates are not: Open\n"
    "  Babel's builder seeds rand() from the clock for some bond directions. Force-field geometries,\n"
    "  not DFT.\n"
    "  Records are appended one at a time (title gdb_k, data fields sdegen_format, method, seed...);\n"
    "  failures go to CACHE.sdf.failed (gdb_k<TAB>reason) and are not retried. Keep CACHE.sdf outside\n"
    "  the repository; train with --conformers CACHE.sdf.\n"
    "  --part P      of the valued molecules, generator: in PropMolFlow's train_a; regressor: the others;\n"
    "                all (default): both, the generator part first. unvalued: the molecules of train_a\n"
    "                without property values, outside the test split (valid_idx_qm9.json) and outside\n"
    "                qm9_uncharacterized.txt: more data for the generator's unconditional branch\n"
    "  --limit N     build at most N molecules in this run (attempts, failures included)\n"
    "  --seed S      jitter seed (default 1); --steps K  conjugate-gradient steps per minimisation (300)\n"
    "  --shard K/N   only the molecules gdb_k with k mod N = K - 1: Open Babel is not thread-safe, so\n"
    "                run N processes (K = 1..N), each into its own CACHE file (one process per core)\n"
    "  --resume      continue CACHE.sdf: skip the molecules it holds or that failed, drop a truncated\n"
    "                last record (a killed run); without it an existing CACHE.sdf is an error\n";

static double cpu_seconds(void) {
    struct rusage u;
    if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
    return (double)u.ru_utime.tv_sec + 1e-6 * (double)u.ru_utime.tv_usec + (double)u.ru_stime.tv_sec +
           1e-6 * (double)u.ru_stime.tv_usec;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static bool in_sorted(const int64_t *a, size_t n, int64_t v) {
    return n && bsearch(&v, a, n, sizeof *a, cmp_i64) != NULL;
}

/* One line of the failures file: the reason with tabs and newlines made spaces. */
static int write_failure(FILE *f, int64_t gdb, const char *reason) {
    fprintf(f, "gdb_%lld\t", (long long)gdb);
    for (const char *p = reason; *p; p++) fputc(*p == '\t' || *p == '\n' || *p == '\r' ? ' ' : *p, f);
    fputc('\n', f);
    return fflush(f) == 0 ? 0 : -1;
}

static int prepare_conformers(int argc, char **argv) {
    const char *data_opt = NULL, *out = NULL, *part = "all";
    long limit = -1, seed = -1, steps = -1, shard_k = 1, shard_n = 1;
    bool resume = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { fputs(usage, stdout); return 0; }
        if (strcmp(a, "--resume") == 0) { resume = true; continue; }
        if (!v) { fprintf(stderr, CMD ": unknown or incomplete option '%s' (see " CMD " --help)\n", a); return 2; }
        i++;
        if (strcmp(a, "--data") == 0) data_opt = v;
        else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) out = v;
        else if (strcmp(a, "--part") == 0) part = v;
        else if (strcmp(a, "--limit") == 0) { if (cli_parse_long(v, a, 0, 100000000L, &limit)) return 2; }
        else if (strcmp(a, "--seed") == 0) { if (cli_parse_long(v, a, 0, 2147483647L, &seed)) return 2; }
        else if (strcmp(a, "--steps") == 0) { if (cli_parse_long(v, a, 1, 1000000L, &steps)) return 2; }
        else if (strcmp(a, "--shard") == 0) {
            char *sl = NULL;
            shard_k = strtol(v, &sl, 10);
            shard_n = sl && *sl == '/' ? strtol(sl + 1, &sl, 10) : 0;
            if (!sl || *sl || shard_n < 1 || shard_n > 4096 || shard_k < 1 || shard_k > shard_n) {
                fprintf(stderr, CMD ": option --shard: '%s' is not K/N with 1 <= K <= N <= 4096\n", v);
                return 2;
            }
        } else { fprintf(stderr, CMD ": unknown option '%s' (see " CMD " --help)\n", a); return 2; }
    }
    int parts = strcmp(part, "generator") == 0   ? SDG_QM9_PART_GENERATOR
                : strcmp(part, "regressor") == 0 ? SDG_QM9_PART_REGRESSOR
                : strcmp(part, "all") == 0       ? SDG_QM9_PART_ALL
                : strcmp(part, "unvalued") == 0  ? SDG_QM9_PART_UNVALUED
                                                 : 0;
    if (!parts) {
        fprintf(stderr, CMD ": option --part: '%s' is not generator, regressor, all or unvalued\n", part);
        return 2;
    }
    if (!out) { fprintf(stderr, CMD ": -o CACHE.sdf is required (see " CMD " --help)\n"); return 2; }
    if (!cli_has_ext(out, ".sdf")) { fprintf(stderr, CMD ": -o %s: the cache is an .sdf file\n", out); return 2; }
    const char *data = cli_data_dir(data_opt);
    if (!data) { fprintf(stderr, CMD ": no data directory (give --data DIR or set SDEGEN_DATA)\n"); return 2; }
    char failed_path[4200];
    snprintf(failed_path, sizeof failed_path, "%s.failed", out);
    struct stat sb;
    bool exists = stat(out, &sb) == 0;
    if (exists && !resume) {
        fprintf(stderr, CMD ": %s exists (continue it with --resume, or choose another -o)\n", out);
        return 2;
    }
    if (!exists && stat(failed_path, &sb) == 0) {
        fprintf(stderr, CMD ": %s exists without %s (continue with --resume, or remove it)\n", failed_path, out);
        return 2;
    }

    int rc = 1;
    sdg_qm9_todo *todo = NULL;
    sdg_conformer_cache *cache = NULL;
    FILE *f = NULL, *ff = NULL;
    int64_t *have = NULL;
    sdg_embed_params ep = sdg_embed_default_params();
    ep.jitter = 0.01;
    double t0 = cli_now();
    if (sdg_qm9_todo_load(data, parts, &todo) != SDG_OK) {
        fprintf(stderr, CMD ": %s\n", sdg_errmsg());
        goto cleanup;
    }
    if (exists && resume) {
        if (sdg_conformer_cache_scan(out, failed_path, &cache) != SDG_OK) {
            fprintf(stderr, CMD ": --resume: %s\n", sdg_errmsg());
            goto cleanup;
        }
        if (cache->has_run) {
            if ((seed >= 0 && (uint64_t)seed != cache->seed) || (steps > 0 && steps != cache->steps) ||
                cache->jitter != ep.jitter) {
                fprintf(stderr, CMD ": --resume: %s was built with seed %llu, steps %d, jitter %g; give the same or none\n",
                        out, (unsigned long long)cache->seed, cache->steps, cache->jitter);
                goto cleanup;
            }
            seed = (long)cache->seed;
            steps = cache->steps;
        }
        if (cache->truncated) {
            if (truncate(out, (off_t)cache->complete_bytes) != 0) {
                fprintf(stderr, CMD ": --resume: %s: cannot drop the truncated last record: %s\n", out, strerror(errno));
                goto cleanup;
            }
            fprintf(stderr, CMD ": %s: dropped the truncated last record (%s); it is built again\n", out,
                    cache->truncated[0] ? cache->truncated : "untitled");
        }
        if (access(failed_path, F_OK) == 0 && truncate(failed_path, (off_t)cache->failed_bytes) != 0) {
            fprintf(stderr, CMD ": --resume: %s: %s\n", failed_path, strerror(errno));
            goto cleanup;
        }
    }
    if (seed < 0) seed = 1;
    if (steps > 0) ep.steps = (int)steps;
    size_t nh = cache ? cache->count + cache->n_failed : 0;
    have = malloc((nh ? nh : 1) * sizeof *have);
    if (!have) { fprintf(stderr, CMD ": out of memory\n"); goto cleanup; }
    if (cache && cache->count) memcpy(have, cache->gdb, cache->count * sizeof *have);
    if (cache && cache->n_failed) memcpy(have + cache->count, cache->failed, cache->n_failed * sizeof *have);
    if (nh) qsort(have, nh, sizeof *have, cmp_i64);
    f = fopen(out, "ab");
    bool new_failed = access(failed_path, F_OK) != 0 || (cache && cache->failed_bytes == 0);
    ff = f ? fopen(failed_path, "a") : NULL;
    if (!f || !ff) {
        fprintf(stderr, CMD ": %s: cannot open for appending: %s\n", f ? failed_path : out, strerror(errno));
        goto cleanup;
    }
    if (new_failed && (fprintf(ff, "%s\n", SDG_CONFORMERS_FAILED_HEADER) < 0 || fflush(ff) != 0)) {
        fprintf(stderr, CMD ": %s: write failed: %s\n", failed_path, strerror(errno));
        goto cleanup;
    }
    size_t n_gen = 0, todo_here = 0, skipped = 0;
    for (size_t i = 0; i < todo->count; i++) {
        n_gen += todo->propmolflow_a[i];
        if (todo->gdb[i] % shard_n != shard_k - 1) continue;
        if (in_sorted(have, nh, todo->gdb[i])) skipped++;
        else todo_here++;
    }
    size_t goal = limit >= 0 && (size_t)limit < todo_here ? (size_t)limit : todo_here;
    if (parts == SDG_QM9_PART_UNVALUED)
        printf("%zu molecules of PropMolFlow's train_a have no property value and no 3-D record (test split and "
               "uncharacterized left out); read in %.1f s\n", todo->n_unvalued, cli_now() - t0);
    else
        printf("%zu QM9 molecules have property values, %zu of them 3-D records; %zu without (%s part%s: %zu generator, "
               "%zu regressor); read in %.1f s\n", todo->n_valued, todo->n_with_3d, todo->count, part,
               parts == SDG_QM9_PART_ALL ? "s" : "", n_gen, todo->count - n_gen, cli_now() - t0);
    printf("shard %ld/%ld: %zu already in %s or failed before, %zu to build; building %zu (seed %ld, %d steps, jitter "
           "%g A, one process: Open Babel is not thread-safe) -> %s\n", shard_k, shard_n, skipped, out, todo_here, goal,
           seed, ep.steps, ep.jitter, out);
    fflush(stdout);
    double ts = cli_now(), c0 = cpu_seconds();
    size_t built = 0, failed = 0, stable_mols = 0;
    int64_t atoms = 0, stable_atoms = 0;
    for (size_t i = 0; i < todo->count && built + failed < goal; i++) {
        int64_t g = todo->gdb[i];
        if (g % shard_n != shard_k - 1 || in_sorted(have, nh, g)) continue;
        sdg_mol *m = NULL;
        sdg_status st = sdg_qm9_conformer_build(todo->smiles[i], g, (uint64_t)seed, &ep, &m);
        if (st != SDG_OK) {
            failed++;
            if (write_failure(ff, g, sdg_errmsg()) != 0) {
                cli_progress_end();
                fprintf(stderr, CMD ": %s: write failed: %s\n", failed_path, strerror(errno));
                goto cleanup;
            }
            sdg_error_clear();
        } else {
            int64_t sa = 0;
            bool ok = false;
            st = sdg_qm9_conformer_write(f, m, (uint64_t)seed, &ep);
            if (st == SDG_OK) st = sdg_mol_stability_edm(m, &sa, &ok);
            atoms += m->n_atoms;
            sdg_mol_free(m);
            if (st != SDG_OK) {
                cli_progress_end();
                fprintf(stderr, CMD ": %s: %s\n", out, sdg_errmsg());
                goto cleanup;
            }
            built++;
            stable_atoms += sa;
            stable_mols += ok;
        }
        double el = cli_now() - ts;
        cli_progress("built %zu of %zu, %zu failed  %.2f s per molecule  gdb_%lld", built + failed, goal, failed,
                     el / (double)(built + failed), (long long)g);
    }
    cli_progress_end();
    double el = cli_now() - ts, cpu = cpu_seconds() - c0;
    size_t tried = built + failed;
    printf("built %zu, failed %zu (listed in %s), skipped %zu; %.1f s, %.3f CPU-s per molecule\n", built, failed,
           failed_path, skipped, el, tried ? cpu / (double)tried : 0.0);
    if (built)
        printf("EDM rule (bond orders from distances, valence must match) on the %zu records built: atom stability "
               "%.1f %%, molecule stability %.1f %% (qm9_3d_conformers.sdf: %.1f / %.1f %%)\n", built,
               100.0 * (double)stable_atoms / (double)atoms, 100.0 * (double)stable_mols / (double)built,
               SHIPPED_ATOM_STABILITY, SHIPPED_MOL_STABILITY);
    size_t left = todo_here - tried;
    if (left) printf("%zu molecules left: continue with --resume\n", left);
    rc = 0;
cleanup:
    if (f && fclose(f) != 0 && rc == 0) {
        fprintf(stderr, CMD ": %s: %s\n", out, strerror(errno));
        rc = 1;
    }
    if (ff) fclose(ff);
    free(have);
    sdg_qm9_todo_free(todo);
    sdg_conformer_cache_free(cache);
    return rc;
}

int cli_prepare(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "conformers") == 0) return prepare_conformers(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    fprintf(stderr, "sdegen prepare: unknown or missing target '%s' (conformers)\n", argc >= 2 ? argv[1] : "");
    return 2;
}
