/* sdegen: the command. Only this directory prints or chooses exit codes:
 * 0 success, 1 failure of the work, 2 bad usage or options. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>
#include "cli/cli.h"

int cli_parse_long(const char *s, const char *opt, long lo, long hi, long *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "sdegen: option %s: '%s' is not a whole number in [%ld, %ld]\n", opt, s, lo, hi);
        return 1;
    }
    *out = v;
    return 0;
}

int cli_parse_double(const char *s, const char *opt, double lo, double hi, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !(v >= lo && v <= hi)) {
        fprintf(stderr, "sdegen: option %s: '%s' is not a number in [%g, %g]\n", opt, s, lo, hi);
        return 1;
    }
    *out = v;
    return 0;
}

const char *cli_data_dir(const char *opt) {
    if (opt && *opt) return opt;
    const char *env = getenv("SDEGEN_DATA");
    return env && *env ? env : NULL;
}

bool cli_progress_enabled(void) {
    static int tty = -1;
    if (tty < 0) tty = isatty(STDERR_FILENO) ? 1 : 0;
    return tty == 1;
}

void cli_progress(const char *fmt, ...) {
    if (!cli_progress_enabled()) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("\r\033[K", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
}

void cli_progress_end(void) {
    if (cli_progress_enabled()) fputs("\r\033[K", stderr);
}

bool cli_has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), e = strlen(ext);
    return n > e && strcasecmp(path + n - e, ext) == 0;
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: sdegen <command> [options]\n"
            "commands:\n"
            "  demo [-n N] [--steps K] [--seed S] [--sampler pc|s4|ode]\n"
            "                     sample a 2-D Gaussian with its exact score through the SDE\n"
            "                     engine and compare the moments with the truth\n"
            "  train graph --dataset NAME -o MODEL.h5 [--data DIR] [--epochs E] [--batch B]\n"
            "        [--lr X] [--weight-decay X] [--seed S] [--ckpt-every N] [--resume]\n"
            "        [--log FILE] [--threads T] [--time-limit SECONDS]\n"
            "                     train GDSS on community_small, ego_small, enzymes or grid\n"
            "  train molecule --dataset qm9|zinc250k -o MODEL.h5 [--data DIR] [options as above]\n"
            "                     train GDSS on QM9 or ZINC250k (GDSS's molecule configs)\n"
            "  train crystal --dataset perov_5|carbon_24|mp_20 -o MODEL.h5 [--data DIR] [...]\n"
            "                     train the crystal-matrix U-Net with EDM (sdegen train crystal --help)\n"
            "  train molecules3d -o MODEL.h5 [--data DIR] [--cond PROP] [...]\n"
            "                     train the 3-D molecule flow model on the QM9 conformers\n"
            "                     (sdegen train molecules3d --help)\n"
            "  train regressor3d --prop PROP -o REG.h5 [--data DIR] [...]\n"
            "                     train the EGNN property regressor of conditional 3-D runs\n"
            "  eval graphs GEN --ref REF [--data DIR] [--stats LIST]\n"
            "                     GDSS's graph MMDs (degree, clustering, orbit) of generated\n"
            "                     graphs against a file or a dataset split, with the protocol\n"
            "  eval molecules FILE (--dataset qm9|zinc250k [--data DIR] | --test FILE [--train FILE])\n"
            "                     validity, uniqueness, novelty, NSPDK MMD and atom/bond types of\n"
            "                     generated molecules (.smi, .sdf or sdegen .h5), each with its protocol\n"
            "  eval molecules3d FILE.sdf|FILE.xyz\n"
            "                     3-D molecules: atom and molecule stability (EDM's bond-length rule\n"
            "                     and the charge-aware rule), validity, uniqueness, each with its rule;\n"
            "                     --regressor REG.h5: MAE of conditioned samples' targets\n"
            "  eval regressor3d REG.h5\n"
            "                     a property regressor's own test MAE beside the atom-count baseline\n"
            "  eval crystals GEN [--ref REF] [--train TRAIN] [--dataset D]\n"
            "                     validity, uniqueness, novelty (structure matching), density and\n"
            "                     element-count W1 and space groups of crystals (CIF, CSV or .h5)\n"
            "  prepare conformers --data DIR -o CACHE.sdf [--part generator|regressor|all]\n"
            "         [--limit N] [--seed S] [--steps K] [--shard K/N] [--resume]\n"
            "                     build 3-D conformers (Open Babel + MMFF94 + jitter) for the QM9\n"
            "                     molecules with property values and no 3-D record, resumable, one\n"
            "                     process per shard (sdegen prepare conformers --help)\n"
            "  convert IN OUT     graph files between .txt, .graphml and .h5\n"
            "  cif IN OUT [--symmetrize] [--symprec X]\n"
            "                     crystals (CIF or CDVAE CSV) to CIF 1.1: P1, or spglib's conventional\n"
            "                     cell with space group, operations and Wyckoff letters\n"
            "  import-gdss FILE.h5 -o MODEL.h5 [--data DIR]\n"
            "                     convert a published GDSS checkpoint (.h5 export) into an sdegen\n"
            "                     model, with the node-flag table of the dataset's training split\n"
            "  sample MODEL.h5|qm9|zinc250k|perov5|carbon24 -n N -o FILE [--seed S]\n"
            "         [--sampler pc|s4|ode] [--steps K] [--snr X] [--scale-eps X] [--batch B]\n"
            "         [--predictor reverse|euler] [--corrector langevin|none]\n"
            "         [--ode euler|heun|rk4|rk45] [--weights raw|ema]\n"
            "         [--data DIR] [--3d] [--resume]\n"
            "                     generate N graphs with a GDSS model into FILE (.txt, .graphml\n"
            "                     or .h5), streamed in batches of B; sampler settings default to\n"
            "                     the model's (GDSS's published configs). A molecule model (QM9,\n"
            "                     ZINC250k; shipped names qm9, zinc250k) writes molecules: .sdf\n"
            "                     (2-D coordinates, --3d embedded with H), .smi (SMILES<TAB>index)\n"
            "                     or .h5 (sdegen-molecules, resumable with --resume), then prints\n"
            "                     validity, uniqueness, novelty (with --data) and speed.\n"
            "                     A crystal model (shipped names perov5, carbon24) writes a directory\n"
            "                     of CIFs, one .cif or an sdegen-crystals .h5; a 3-D molecule flow\n"
            "                     model writes SDF with 3-D coordinates, bonds and charges\n"
            "  export MODEL.h5 -o OUT.h5 [--weights ema|raw]\n"
            "                     a weights-only copy of a 3-D flow model or 3-D property regressor for\n"
            "                     shipping: the chosen weights (default ema), no optimiser or training\n"
            "                     state (about half the size; cannot be resumed)\n"
            "  --version          print the version\n"
            "  --help             this text\n");
}

/* OpenMP threads that spin while waiting slow small parallel regions down by 10x or more when
 * the cores are shared (docs/benchmarks.md). libgomp reads its settings when it is loaded, so
 * unless the user chose a policy, the command re-executes itself once with a passive one. */
static void ensure_passive_openmp(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT") || getenv("SDEGEN_NO_REEXEC")) return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0 || setenv("SDEGEN_NO_REEXEC", "1", 1) != 0) return;
    execv("/proc/self/exe", argv);   /* returns only on failure: then carry on as we are */
}

int main(int argc, char **argv) {
    ensure_passive_openmp(argv);
    if (sdg_init() != SDG_OK) {
        fprintf(stderr, "sdegen: initialisation failed: %s\n", sdg_errmsg());
        return 1;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("sdegen %s\n", sdg_version());
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "demo") == 0) return cli_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "train") == 0) return cli_train(argc - 1, argv + 1);
    if (strcmp(cmd, "eval") == 0) return cli_eval(argc - 1, argv + 1);
    if (strcmp(cmd, "convert") == 0) return cli_convert(argc - 1, argv + 1);
    if (strcmp(cmd, "cif") == 0) return cli_cif(argc - 1, argv + 1);
    if (strcmp(cmd, "sample") == 0) return cli_sample(argc - 1, argv + 1);
    if (strcmp(cmd, "import-gdss") == 0) return cli_import_gdss(argc - 1, argv + 1);
    if (strcmp(cmd, "prepare") == 0) return cli_prepare(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0) return cli_export(argc - 1, argv + 1);
    fprintf(stderr, "sdegen: unknown command '%s' (see sdegen --help)\n", cmd);
    return 2;
}
