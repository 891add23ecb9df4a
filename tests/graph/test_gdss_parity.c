/* GDSS score networks (README of $SDEGEN_SHARED/gdss):
 * - parity: for the six published checkpoints, ScoreNetworkX and ScoreNetworkA on the /fixture
 *   batch reproduce PyTorch's out_x and out_adj to max |err| <= 1e-4 (errors printed);
 * - import: sdg_gdss_import -> sdg_gdss_model_load reproduces the same outputs bit for bit and
 *   keeps the SDE/sampler settings of README section 7 in the checkpoint meta;
 * - errors: a reference file with a missing or a mis-shaped tensor fails naming the file and
 *   the tensor;
 * Exits 77 when $SDEGEN_SHARED/gdss is absent. (Gradients, equivariance: test_gdss_nets.c.) */
#include <hdf5.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "test_util.h"

static const char *const files[] = {"community_small", "ego_small", "enzymes", "grid", "qm9",
                                    "zinc250k"};
#define NFILES 6

static char gdss_dir[1024];

static void ref_path(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "%s/gdss_%s.h5", gdss_dir, name);
}

typedef struct fixture {
    int64_t B, N, F;
    float  *x, *adj, *flags, *out_x, *out_adj;
} fixture;

static void fixture_free(fixture *f) {
    free(f->x);
    free(f->adj);
    free(f->flags);
    free(f->out_x);
    free(f->out_adj);
}

static int fixture_read(const char *path, fixture *fx) {
    memset(fx, 0, sizeof *fx);
    sdg_h5_file *f = NULL;
    int nd = 0;
    int64_t s[SDG_MAX_DIMS];
    if (sdg_h5_open(path, &f) != SDG_OK) return -1;
    int rc = sdg_h5_read_floats(f, "/fixture/x", &nd, s, &fx->x) ||
             sdg_h5_read_floats(f, "/fixture/adj", &nd, s, &fx->adj) ||
             sdg_h5_read_floats(f, "/fixture/flags", &nd, s, &fx->flags) ||
             sdg_h5_read_floats(f, "/fixture/out_adj", &nd, s, &fx->out_adj) ||
             sdg_h5_read_floats(f, "/fixture/out_x", &nd, s, &fx->out_x);
    fx->B = s[0];
    fx->N = s[1];
    fx->F = s[2];
    sdg_h5_close(f);
    return rc ? -1 : 0;
}

static double max_abs_diff(const float *a, const float *b, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) m = d;   /* NaN propagates */
    }
    return m;
}

/* Runs both nets of m on the fixture; writes the max errors. Returns 0 on success. */
static int run_fixture(const sdg_gdss_model *m, const fixture *fx, double *ex, double *ea,
                       float *keep_x, float *keep_adj) {
    sdg_ctx *ctx = NULL;
    if (sdg_ctx_new(0, &ctx) != SDG_OK) return -1;
    sdg_ctx_set_grad(ctx, false);
    sdg_tensor *x = sdg_tensor_from(ctx, 3, (int64_t[]){fx->B, fx->N, fx->F}, fx->x);
    sdg_tensor *a = sdg_tensor_from(ctx, 3, (int64_t[]){fx->B, fx->N, fx->N}, fx->adj);
    sdg_tensor *fl = sdg_tensor_from(ctx, 2, (int64_t[]){fx->B, fx->N}, fx->flags);
    sdg_tensor *ox = sdg_gdss_net_forward(ctx, m->net_x, x, a, fl);
    sdg_tensor *oa = sdg_gdss_net_forward(ctx, m->net_adj, x, a, fl);
    int rc = -1;
    if (sdg_ctx_status(ctx) == SDG_OK && ox && oa && ox->size == fx->B * fx->N * fx->F &&
        oa->size == fx->B * fx->N * fx->N) {
        *ex = max_abs_diff(ox->data, fx->out_x, ox->size);
        *ea = max_abs_diff(oa->data, fx->out_adj, oa->size);
        if (keep_x) memcpy(keep_x, ox->data, (size_t)ox->size * sizeof(float));
        if (keep_adj) memcpy(keep_adj, oa->data, (size_t)oa->size * sizeof(float));
        rc = 0;
    } else {
        printf("forward failed: %s\n", sdg_errmsg());
    }
    sdg_ctx_free(ctx);
    return rc;
}

static void test_parity(void) {
    char path[1200];
    for (int i = 0; i < NFILES; i++) {
        ref_path(path, sizeof path, files[i]);
        sdg_gdss_model *m = NULL;
        fixture fx;
        sdg_status st = sdg_gdss_model_read_reference(path, &m);
        if (st != SDG_OK) printf("%s: %s\n", files[i], sdg_errmsg());
        CU_ASSERT_FATAL(st == SDG_OK);
        CU_ASSERT_FATAL(fixture_read(path, &fx) == 0);
        double ex = -1, ea = -1;
        clock_t t0 = clock();
        CU_ASSERT(run_fixture(m, &fx, &ex, &ea, NULL, NULL) == 0);
        printf("\n  %-16s max|err| out_x %.2e  out_adj %.2e  (B %lld N %lld F %lld, %.0f ms cpu)",
               files[i], ex, ea, (long long)fx.B, (long long)fx.N, (long long)fx.F,
               1e3 * (double)(clock() - t0) / CLOCKS_PER_SEC);
        CU_ASSERT(ex >= 0 && ex <= 1e-4);
        CU_ASSERT(ea >= 0 && ea <= 1e-4);
        fixture_free(&fx);
        sdg_gdss_model_free(m);
    }
    printf("\n");
}

static void test_import_roundtrip(void) {
    char path[1200], out[256];
    snprintf(out, sizeof out, "/tmp/sdegen_gdss_import_%d.h5", (int)getpid());
    for (int i = 0; i < NFILES; i++) {
        ref_path(path, sizeof path, files[i]);
        sdg_gdss_model *ref = NULL, *m = NULL;
        fixture fx;
        CU_ASSERT_FATAL(fixture_read(path, &fx) == 0);
        CU_ASSERT_FATAL(sdg_gdss_model_read_reference(path, &ref) == SDG_OK);
        sdg_status st = sdg_gdss_import(path, out);
        if (st == SDG_OK) st = sdg_gdss_model_load(out, &m);
        if (st != SDG_OK) printf("%s: %s\n", files[i], sdg_errmsg());
        CU_ASSERT_FATAL(st == SDG_OK);
        size_t nx = (size_t)(fx.B * fx.N * fx.F), na = (size_t)(fx.B * fx.N * fx.N);
        float *x0 = malloc(nx * 4), *a0 = malloc(na * 4), *x1 = malloc(nx * 4), *a1 = malloc(na * 4);
        double ex = -1, ea = -1;
        CU_ASSERT(run_fixture(ref, &fx, &ex, &ea, x0, a0) == 0);
        CU_ASSERT(run_fixture(m, &fx, &ex, &ea, x1, a1) == 0);
        CU_ASSERT(ex <= 1e-4 && ea <= 1e-4);
        CU_ASSERT(memcmp(x0, x1, nx * 4) == 0 && memcmp(a0, a1, na * 4) == 0);
        /* settings and hyper-parameters survive */
        CU_ASSERT_STRING_EQUAL(m->settings.dataset, ref->settings.dataset);
        CU_ASSERT_STRING_EQUAL(m->settings.predictor, ref->settings.predictor);
        CU_ASSERT_STRING_EQUAL(m->settings.corrector, ref->settings.corrector);
        CU_ASSERT(m->settings.sde_x.kind == ref->settings.sde_x.kind);
        CU_ASSERT(m->settings.sde_adj.kind == ref->settings.sde_adj.kind);
        CU_ASSERT(m->settings.sde_adj.lo == ref->settings.sde_adj.lo);
        CU_ASSERT(m->settings.sde_adj.hi == ref->settings.sde_adj.hi);
        CU_ASSERT(m->settings.sde_x.n_steps == 1000);
        CU_ASSERT(m->settings.snr == ref->settings.snr && m->settings.scale_eps == ref->settings.scale_eps);
        CU_ASSERT(m->settings.eps == 1e-4);
        for (int w = 0; w < 2; w++) {
            const sdg_gdss_params *p = sdg_gdss_net_hparams(w ? m->net_adj : m->net_x);
            const sdg_gdss_params *q = sdg_gdss_net_hparams(w ? ref->net_adj : ref->net_x);
            CU_ASSERT(p->kind == q->kind && p->F == q->F && p->N == q->N && p->depth == q->depth &&
                      p->nhid == q->nhid && p->adim == q->adim && p->heads == q->heads &&
                      p->c_init == q->c_init && p->c_hid == q->c_hid && p->c_final == q->c_final &&
                      p->num_layers == q->num_layers && p->num_linears == q->num_linears);
        }
        free(x0);
        free(a0);
        free(x1);
        free(a1);
        fixture_free(&fx);
        sdg_gdss_model_free(m);
        sdg_gdss_model_free(ref);
    }
    /* spot checks of section 7 on QM9 and ENZYMES */
    sdg_gdss_model *m = NULL;
    ref_path(path, sizeof path, "qm9");
    CU_ASSERT_FATAL(sdg_gdss_model_read_reference(path, &m) == SDG_OK);
    CU_ASSERT_STRING_EQUAL(m->settings.dataset, "QM9");
    CU_ASSERT(m->settings.sde_x.kind == SDG_GDSS_SDE_KIND_VE && m->settings.sde_x.lo == 0.1);
    CU_ASSERT_STRING_EQUAL(m->settings.predictor, "Reverse");
    CU_ASSERT(m->settings.snr == 0.2 && m->settings.scale_eps == 0.7 && m->settings.batch == 10000);
    sdg_gdss_model_free(m);
    m = NULL;
    ref_path(path, sizeof path, "enzymes");
    CU_ASSERT_FATAL(sdg_gdss_model_read_reference(path, &m) == SDG_OK);
    CU_ASSERT(m->settings.sde_x.kind == SDG_GDSS_SDE_KIND_VP && m->settings.sde_adj.kind == SDG_GDSS_SDE_KIND_VE);
    CU_ASSERT(m->settings.sde_adj.lo == 0.2 && m->settings.use_ema);
    CU_ASSERT_STRING_EQUAL(m->settings.predictor, "S4");
    sdg_gdss_model_free(m);
    remove(out);
}

/* Copies the QM9 reference file and damages one tensor: delete it, or replace it by one of
 * another shape; reading must fail naming the file and the tensor. */
static void test_errors(void) {
    char path[1200], tmp[256], cmd[2000];
    ref_path(path, sizeof path, "qm9");
    snprintf(tmp, sizeof tmp, "/tmp/sdegen_gdss_bad_%d.h5", (int)getpid());
    for (int mode = 0; mode < 3; mode++) {
        snprintf(cmd, sizeof cmd, "cp '%s' '%s' && chmod u+w '%s'", path, tmp, tmp);
        CU_ASSERT_FATAL(system(cmd) == 0);
        hid_t f = H5Fopen(tmp, H5F_ACC_RDWR, H5P_DEFAULT);
        CU_ASSERT_FATAL(f >= 0);
        const char *victim = mode == 2 ? "/x/extra.weight" : "/adj/layers.1.attn.3.gnn_k.weight";
        if (mode < 2) CU_ASSERT(H5Ldelete(f, victim, H5P_DEFAULT) >= 0);
        if (mode >= 1) {
            hsize_t dims[2] = {3, 5};
            hid_t sp = H5Screate_simple(2, dims, NULL);
            hid_t d = H5Dcreate2(f, victim, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            float z[15] = {0};
            CU_ASSERT(d >= 0 && H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, z) >= 0);
            H5Dclose(d);
            H5Sclose(sp);
        }
        H5Fclose(f);
        sdg_gdss_model *m = NULL;
        sdg_status st = sdg_gdss_model_read_reference(tmp, &m);
        const sdg_status want[3] = {SDG_ERR_NOTFOUND, SDG_ERR_SHAPE, SDG_ERR_FORMAT};
        CU_ASSERT(st == want[mode]);
        CU_ASSERT(m == NULL);
        CU_ASSERT(strstr(sdg_errmsg(), tmp) != NULL);
        if (mode < 2) CU_ASSERT(strstr(sdg_errmsg(), victim) != NULL);
        printf("\n  mode %d: %s", mode, sdg_errmsg());
    }
    printf("\n");
    remove(tmp);
}

int main(void) {
    const char *shared = sdg_test_shared_dir();
    struct stat sb;
    char probe[1200];
    if (!shared) return 77;
    snprintf(gdss_dir, sizeof gdss_dir, "%s/gdss", shared);
    ref_path(probe, sizeof probe, "qm9");
    if (stat(probe, &sb) != 0) return 77;
    return sdg_test_main("graph/gdss_parity", (sdg_test_case[]){
        {"fixture parity, six checkpoints", test_parity},
        {"import -> checkpoint -> load", test_import_roundtrip},
        {"damaged reference files", test_errors},
        {NULL, NULL}});
}
