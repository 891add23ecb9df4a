/* sdegen export: a weights-only copy of a trained 3-D model for shipping (docs/molecules3d.md
 * "Shipping a model: sdegen export"). The model is loaded with the chosen weights (EMA by
 * default, the ones sampling and evaluation use) and saved without a trainer, so that /params and
 * /ema both hold those weights, every setting sampling and evaluation read is kept (the model's
 * own save writes them all, and meta weights_only says which weights these are), and the Adam
 * moments and train.* state are dropped: about half the size, and it cannot be resumed. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "cli/cli.h"

#define CMD   "sdegen export"
#define KINDS "mol3d_flow (3-D flow) and prop3d_regressor (3-D property regressor) models"

static const char usage[] =
    "usage: sdegen export MODEL.h5 -o OUT.h5 [--weights ema|raw] [--sde-noise ETA] [--sde-tmax T]\n"
    "                     [--pos-sde-noise ETA] [--pos-sde-tmax T]\n"
    "  writes a weights-only copy of a 3-D flow model (mol3d_flow) or a 3-D property regressor\n"
    "  (prop3d_regressor) for shipping: the chosen weights (default ema, the ones sample and eval use)\n"
    "  as both /params and /ema, every setting sampling and evaluation need, and no Adam moments or\n"
    "  training state: about half the size (Adam m and v gone), and it cannot be resumed\n"
    "  --sde-noise ETA  (flow models) the SDE-mode noise `sdegen sample` uses by default with --ode euler\n"
    "                   (meta sample.sde_noise; 0 = the ODE; without the option the model's own setting)\n"
    "  --sde-tmax T     (flow models) with it, the noise acts only from t <= T on (meta sample.sde_tmax, 1 = all)\n"
    "  --pos-sde-noise ETA, --pos-sde-tmax T  (flow models) the positions' own eta and t_max (meta\n"
    "                   sample.sde_noise_pos, sample.sde_tmax_pos); the other given, the missing one is\n"
    "                   the model's --sde-noise or --sde-tmax\n";

/* True when a and b name the same file: the same string, or both exist with one inode. */
static bool same_file(const char *a, const char *b) {
    struct stat sa, sb;
    if (strcmp(a, b) == 0) return true;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The one-line error for a file that is neither kind: the checkpoint reader's reason (missing,
 * not HDF5, not an sdegen checkpoint: it names the file), or the kind of model it is. */
static void not_exportable(const char *path) {
    sdg_meta *meta = NULL;
    const char *kind = NULL;
    if (sdg_meta_new(&meta) != SDG_OK || sdg_checkpoint_read_meta(path, meta) != SDG_OK)
        fprintf(stderr, CMD ": %s\n", sdg_errmsg());
    else if (sdg_meta_get_string(meta, "model", &kind) != SDG_OK)
        fprintf(stderr, CMD ": %s: an sdegen checkpoint without a meta model; export writes " KINDS " only\n", path);
    else
        fprintf(stderr, CMD ": %s: a '%s' model; export writes " KINDS " only\n", path, kind);
    sdg_meta_free(meta);
}

int cli_export(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *weights = "ema";
    double sde_noise = -1, sde_tmax = -1, pos_noise = -1, pos_tmax = -1;   /* not given: keep the model's */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (a[0] != '-' || !a[1]) {
            if (in) {
                fprintf(stderr, CMD ": unexpected argument '%s' (see " CMD " --help)\n", a);
                return 2;
            }
            in = a;
            continue;
        }
        bool known = strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 || strcmp(a, "--weights") == 0 ||
                     strcmp(a, "--sde-noise") == 0 || strcmp(a, "--sde-tmax") == 0 ||
                     strcmp(a, "--pos-sde-noise") == 0 || strcmp(a, "--pos-sde-tmax") == 0;
        if (!known || !v) {
            fprintf(stderr, CMD ": %s option '%s' (see " CMD " --help)\n", known ? "incomplete" : "unknown", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--weights") == 0) weights = v;
        else if (strcmp(a, "--sde-noise") == 0) { if (cli_parse_double(v, a, 0, 100, &sde_noise)) return 2; }
        else if (strcmp(a, "--sde-tmax") == 0) { if (cli_parse_double(v, a, 1e-6, 1, &sde_tmax)) return 2; }
        else if (strcmp(a, "--pos-sde-noise") == 0) { if (cli_parse_double(v, a, 0, 100, &pos_noise)) return 2; }
        else if (strcmp(a, "--pos-sde-tmax") == 0) { if (cli_parse_double(v, a, 1e-6, 1, &pos_tmax)) return 2; }
        else out = v;
    }
    if (!in || !out) {
        fprintf(stderr, CMD ": %s is required (see " CMD " --help)\n", in ? "-o OUT.h5" : "MODEL.h5");
        return 2;
    }
    if (strcmp(weights, "ema") && strcmp(weights, "raw")) {
        fprintf(stderr, CMD ": option --weights: '%s' is not ema or raw\n", weights);
        return 2;
    }
    if (same_file(in, out)) {
        fprintf(stderr, CMD ": -o %s is the model itself; write the export to another file\n", out);
        return 2;
    }
    bool ema = strcmp(weights, "ema") == 0;
    sdg_mol3d_model *flow = NULL;
    sdg_prop3d_model *reg = NULL;
    const char *kind = NULL;
    int64_t epochs = 0, n_params = 0;
    sdg_status st = SDG_OK;
    int rc = 1;
    if (sdg_mol3d_model_probe(in)) {
        kind = "mol3d_flow";
        if ((st = sdg_mol3d_model_load(in, ema, &flow)) == SDG_OK) {
            if (sde_noise >= 0) flow->sample_sde_noise = (float)sde_noise;
            if (sde_tmax > 0) flow->sample_sde_tmax = (float)sde_tmax;
            if (pos_noise >= 0 || pos_tmax > 0) {
                if (!flow->sample_sde_pos)   /* from the model's common setting */
                    flow->sample_sde_noise_pos = flow->sample_sde_noise, flow->sample_sde_tmax_pos = flow->sample_sde_tmax;
                flow->sample_sde_pos = true;
                if (pos_noise >= 0) flow->sample_sde_noise_pos = (float)pos_noise;
                if (pos_tmax > 0) flow->sample_sde_tmax_pos = (float)pos_tmax;
            }
            st = sdg_mol3d_model_save(out, flow, NULL);
        }
        if (st == SDG_OK) epochs = flow->epochs, n_params = sdg_params_numel(sdg_egnn_params_store(flow->net));
    } else if (sdg_prop3d_model_probe(in)) {
        kind = "prop3d_regressor";
        if (sde_noise >= 0 || sde_tmax > 0 || pos_noise >= 0 || pos_tmax > 0) {
            fprintf(stderr, CMD ": --sde-noise, --sde-tmax, --pos-sde-noise and --pos-sde-tmax are sampler settings; %s "
                    "is a property regressor\n", in);
            return 2;
        }
        if ((st = sdg_prop3d_model_load(in, ema, &reg)) == SDG_OK) st = sdg_prop3d_model_save(out, reg, NULL);
        if (st == SDG_OK) epochs = reg->epochs, n_params = sdg_params_numel(sdg_prop3d_params_store(reg->net));
    } else {
        not_exportable(in);
        goto cleanup;
    }
    if (st != SDG_OK) {
        fprintf(stderr, CMD ": %s\n", sdg_errmsg());
        goto cleanup;
    }
    struct stat sb;
    if (stat(out, &sb) != 0) {
        fprintf(stderr, CMD ": %s: written, but cannot be read back\n", out);
        goto cleanup;
    }
    printf("%s: %s, epoch %lld, %s weights, %lld parameters, %lld bytes (training state dropped: cannot --resume)\n",
           out, kind, (long long)epochs, weights, (long long)n_params, (long long)sb.st_size);
    bool sde = flow && (flow->sample_sde_noise > 0 || (flow->sample_sde_pos && flow->sample_sde_noise_pos > 0));
    if (flow) printf("sampler default: %s\n", sde ? "the SDE mode" : "the ODE");
    if (sde && flow->sample_sde_pos)
        printf("  --sde-noise %g --sde-tmax %g --pos-sde-noise %g --pos-sde-tmax %g with --ode euler\n",
               (double)flow->sample_sde_noise, (double)flow->sample_sde_tmax, (double)flow->sample_sde_noise_pos,
               (double)flow->sample_sde_tmax_pos);
    else if (sde)
        printf("  --sde-noise %g --sde-tmax %g with --ode euler\n", (double)flow->sample_sde_noise, (double)flow->sample_sde_tmax);
    rc = 0;
cleanup:
    sdg_mol3d_model_free(flow);
    sdg_prop3d_model_free(reg);
    return rc;
}
