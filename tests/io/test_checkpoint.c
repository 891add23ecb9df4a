/* Checkpoints: a bit-exact round trip of everything a training run needs to resume, and one
 * clear error (checked by substring) for each way a file can be wrong. After every call the
 * number of open HDF5 ids is unchanged (see check_no_leak), so no path leaks a file, group, dataset, dataspace,
 * datatype, attribute or property list. This test links HDF5 itself only to forge files
 * (wrong format name or version, foreign string attributes) and to count the ids. */
#include <dirent.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test_util.h"

static char tmpdir[64];

static void tpath(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", tmpdir, name); }

/* ---- HDF5 id accounting ----
 * Objects in files (files, groups, datasets, attributes) are counted by
 * H5Fget_obj_count. Transient dataspaces, datatypes and property lists are not, and
 * H5Inmembers refuses library types, so they are found by bracketing: HDF5 numbers the ids
 * of each type consecutively, so every id of that type created during the call lies between
 * two probes made before and after it, and any still valid there was leaked. (This relies on
 * how HDF5 1.10 numbers ids; the sanity check below fails loudly if that ever changes.) */
#define N_PROBES 3
/* (not H5F_OBJ_DATATYPE: that also counts transient types such as the probe's) */
#define FILE_OBJECTS (H5F_OBJ_FILE | H5F_OBJ_GROUP | H5F_OBJ_DATASET | H5F_OBJ_ATTR)
typedef struct id_probe {
    hid_t id[N_PROBES];
} id_probe;

static id_probe probe_new(void) {
    return (id_probe){{H5Screate(H5S_SCALAR), H5Tcopy(H5T_NATIVE_INT), H5Pcreate(H5P_DATASET_XFER)}};
}

static void probe_close(id_probe *p) {
    H5Sclose(p->id[0]);
    H5Tclose(p->id[1]);
    H5Pclose(p->id[2]);
}

static void check_no_leak(id_probe *before) {
    static const char *const kind[N_PROBES] = {"dataspace", "datatype", "property list"};
    id_probe after = probe_new();
    for (int i = 0; i < N_PROBES; i++) {
        CU_ASSERT(after.id[i] > before->id[i] && after.id[i] - before->id[i] < 1000000);
        for (hid_t id = before->id[i] + 1; id < after.id[i] && id - before->id[i] < 1000000; id++)
            if (H5Iis_valid(id) > 0) {
                printf("\n    leaked HDF5 %s id %lld", kind[i], (long long)id);
                CU_FAIL("leaked HDF5 id");
            }
    }
    probe_close(&after);
    probe_close(before);
    *before = probe_new();   /* ready for the next bracket */
    CU_ASSERT_EQUAL(H5Fget_obj_count((hid_t)H5F_OBJ_ALL, FILE_OBJECTS), 0);
}

/* ---- a small model with every piece of training state ---- */
typedef struct model {
    sdg_params *p;
    sdg_ema    *ema;
    sdg_adam   *adam;
    sdg_rng    *rng;
    sdg_meta   *meta;
} model;

enum { FULL, NO_OUT, BAD_SHAPE, EXTRA };

/* FULL: layers.0.weight (4,4), layers.0.bias (4), out.weight (1,4). NO_OUT lacks out.weight;
 * BAD_SHAPE has layers.0.weight (3,4); EXTRA adds head.bias (2).
 * trained: random weights, 3 Adam steps, 2 LR decays, EMA updates, rng draws, metadata. */
static void model_build(model *m, int variant, bool trained) {
    memset(m, 0, sizeof *m);
    CU_ASSERT_FATAL(sdg_params_new(&m->p) == SDG_OK);
    int64_t rows = variant == BAD_SHAPE ? 3 : 4;
    CU_ASSERT_FATAL(sdg_params_add(m->p, "layers.0.weight", 2, (int64_t[]){rows, 4}, NULL) == SDG_OK);
    CU_ASSERT_FATAL(sdg_params_add(m->p, "layers.0.bias", 1, (int64_t[]){4}, NULL) == SDG_OK);
    if (variant != NO_OUT)
        CU_ASSERT_FATAL(sdg_params_add(m->p, "out.weight", 2, (int64_t[]){1, 4}, NULL) == SDG_OK);
    if (variant == EXTRA)
        CU_ASSERT_FATAL(sdg_params_add(m->p, "head.bias", 1, (int64_t[]){2}, NULL) == SDG_OK);
    CU_ASSERT_FATAL(sdg_rng_new(trained ? 1234 : 99, &m->rng) == SDG_OK);
    CU_ASSERT_FATAL(sdg_meta_new(&m->meta) == SDG_OK);
    sdg_adam_params hp = sdg_adam_default_params();
    hp.lr = 3e-3f;
    hp.lr_decay = 0.97f;
    if (trained)
        for (size_t i = 0; i < sdg_params_count(m->p); i++)
            sdg_param_init_uniform(sdg_params_at(m->p, i), 0.5f, m->rng);
    CU_ASSERT_FATAL(sdg_ema_new(m->p, 0.9f, &m->ema) == SDG_OK);
    CU_ASSERT_FATAL(sdg_adam_new(&hp, m->p, &m->adam) == SDG_OK);
    if (!trained) {
        CU_ASSERT_FATAL(sdg_meta_set_string(m->meta, "stale", "should disappear on load") == SDG_OK);
        return;
    }
    for (int s = 0; s < 3; s++) {
        for (size_t i = 0; i < sdg_params_count(m->p); i++) {
            sdg_tensor *t = sdg_params_at(m->p, i);
            sdg_rng_fill_gaussian(m->rng, t->grad, (size_t)t->size);
        }
        CU_ASSERT_FATAL(sdg_adam_step(m->adam) == SDG_OK);
        sdg_ema_update(m->ema);
    }
    sdg_adam_decay_lr(m->adam);
    sdg_adam_decay_lr(m->adam);
    CU_ASSERT_FATAL(sdg_meta_set_int(m->meta, "seed", 1234) == SDG_OK);
    CU_ASSERT_FATAL(sdg_meta_set_int(m->meta, "threads", 2) == SDG_OK);
    CU_ASSERT_FATAL(sdg_meta_set_double(m->meta, "sigma_max", 0.1) == SDG_OK);
    CU_ASSERT_FATAL(sdg_meta_set_string(m->meta, "sde", "VP") == SDG_OK);
    CU_ASSERT_FATAL(sdg_meta_set_int(m->meta, "big", INT64_MIN + 1) == SDG_OK);
    CU_ASSERT_FATAL(sdg_meta_set_double(m->meta, "tiny", -3.25e-300) == SDG_OK);
    CU_ASSERT_FATAL(sdg_meta_set_string(m->meta, "empty", "") == SDG_OK);
    CU_ASSERT_FATAL(sdg_meta_set_string(m->meta, "utf8", "σ-schedule, Å") == SDG_OK);
    CU_ASSERT_FATAL(sdg_meta_set_string(m->meta, "sde", "VE") == SDG_OK);   /* replaces */
}

static void model_free(model *m) {
    sdg_meta_free(m->meta);
    sdg_rng_free(m->rng);
    sdg_adam_free(m->adam);
    sdg_ema_free(m->ema);
    sdg_params_free(m->p);
}

static sdg_checkpoint model_ck(model *m) {
    return (sdg_checkpoint){.params = m->p, .ema = m->ema, .adam = m->adam, .rng = m->rng, .meta = m->meta};
}

static bool params_equal(const sdg_params *a, const sdg_params *b) {
    if (sdg_params_count(a) != sdg_params_count(b)) return false;
    for (size_t i = 0; i < sdg_params_count(a); i++) {
        const sdg_tensor *x = sdg_params_at(a, i), *y = sdg_params_at(b, i);
        if (strcmp(x->name, y->name) != 0 || !sdg_tensor_same_shape(x, y)) return false;
        if (memcmp(x->data, y->data, (size_t)x->size * sizeof(float)) != 0) return false;
    }
    return true;
}

static bool all_zero(const sdg_params *p) {
    for (size_t i = 0; i < sdg_params_count(p); i++) {
        const sdg_tensor *t = sdg_params_at(p, i);
        for (int64_t k = 0; k < t->size; k++)
            if (t->data[k] != 0.0f) return false;
    }
    return true;
}

static void save_ok(model *m, const char *path) {
    sdg_checkpoint ck = model_ck(m);
    sdg_status st = sdg_checkpoint_save(path, &ck);
    if (st != SDG_OK) printf("\n    save failed: %s", sdg_errmsg());
    CU_ASSERT_EQUAL_FATAL(st, SDG_OK);
}

/* Loads and expects failure code with a message naming path and holding both substrings. */
static void expect_load_error(const char *path, sdg_checkpoint *ck, sdg_status code, const char *sub,
                              const char *sub2) {
    id_probe before = probe_new();
    sdg_status st = sdg_checkpoint_load(path, ck);
    const char *msg = sdg_errmsg();
    printf("\n    -> %s", msg);
    CU_ASSERT_EQUAL(st, code);
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, sub));
    if (sub2) CU_ASSERT_PTR_NOT_NULL(strstr(msg, sub2));
    check_no_leak(&before);
    probe_close(&before);
}

/* ---- forging files with the HDF5 API ---- */
static void put_attr(hid_t loc, const char *name, hid_t type, const void *buf) {
    if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(a >= 0);
    CU_ASSERT(H5Awrite(a, type, buf) >= 0);
    H5Aclose(a);
    H5Sclose(space);
}

static void forge_int(const char *path, const char *obj, const char *name, int64_t v) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    put_attr(o, name, H5T_NATIVE_INT64, &v);
    H5Oclose(o);
    H5Fclose(f);
}

/* A fixed-length ASCII string, as other tools often write them. */
static void forge_fixed_str(const char *path, const char *obj, const char *name, const char *v) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(v));
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    put_attr(o, name, t, v);
    H5Tclose(t);
    H5Oclose(o);
    H5Fclose(f);
}

static void copy_prefix(const char *src, const char *dst, double fraction) {
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    CU_ASSERT_FATAL(in && out);
    fseek(in, 0, SEEK_END);
    long n = ftell(in);
    fseek(in, 0, SEEK_SET);
    long keep = (long)((double)n * fraction);
    char *buf = malloc((size_t)n);
    CU_ASSERT_FATAL(buf && fread(buf, 1, (size_t)n, in) == (size_t)n);
    fwrite(buf, 1, (size_t)keep, out);
    free(buf);
    fclose(in);
    fclose(out);
}

/* ---- tests ---- */
static void test_round_trip(void) {
    model a, b;
    char path[256], tmp[300];
    tpath(path, sizeof path, "ck.h5");
    model_build(&a, FULL, true);
    model_build(&b, FULL, false);
    save_ok(&a, path);   /* first call initialises HDF5's interfaces */
    id_probe before = probe_new();
    save_ok(&a, path);   /* overwrites atomically */
    check_no_leak(&before);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CU_ASSERT_NOT_EQUAL(access(tmp, F_OK), 0);   /* no temporary left behind */

    sdg_checkpoint ck = model_ck(&b);
    sdg_status st = sdg_checkpoint_load(path, &ck);
    if (st != SDG_OK) printf("\n    load failed: %s", sdg_errmsg());
    CU_ASSERT_EQUAL_FATAL(st, SDG_OK);
    check_no_leak(&before);

    CU_ASSERT(params_equal(a.p, b.p));
    CU_ASSERT(params_equal(sdg_ema_shadow(a.ema), sdg_ema_shadow(b.ema)));
    for (size_t i = 0; i < sdg_params_count(a.p); i++)
        for (int w = 0; w < 2; w++) {
            const sdg_tensor *x = sdg_adam_moment(a.adam, i, w), *y = sdg_adam_moment(b.adam, i, w);
            CU_ASSERT_EQUAL(memcmp(x->data, y->data, (size_t)x->size * sizeof(float)), 0);
        }
    CU_ASSERT_EQUAL(sdg_adam_steps(b.adam), 3);
    CU_ASSERT_EQUAL(sdg_adam_lr(b.adam), sdg_adam_lr(a.adam));   /* bit for bit */
    for (int k = 0; k < 10; k++) CU_ASSERT_EQUAL(sdg_rng_uniform(a.rng), sdg_rng_uniform(b.rng));

    /* metadata: same keys in the same order, same values; the stale key is gone */
    CU_ASSERT_EQUAL_FATAL(sdg_meta_count(b.meta), sdg_meta_count(a.meta));
    for (size_t i = 0; i < sdg_meta_count(a.meta); i++)
        CU_ASSERT_STRING_EQUAL(sdg_meta_key(b.meta, i), sdg_meta_key(a.meta, i));
    int64_t iv = 0;
    double dv = 0;
    const char *sv = NULL;
    CU_ASSERT(sdg_meta_get_int(b.meta, "seed", &iv) == SDG_OK && iv == 1234);
    CU_ASSERT(sdg_meta_get_int(b.meta, "big", &iv) == SDG_OK && iv == INT64_MIN + 1);
    CU_ASSERT(sdg_meta_get_double(b.meta, "sigma_max", &dv) == SDG_OK && dv == 0.1);
    CU_ASSERT(sdg_meta_get_double(b.meta, "tiny", &dv) == SDG_OK && dv == -3.25e-300);
    CU_ASSERT(sdg_meta_get_string(b.meta, "sde", &sv) == SDG_OK && strcmp(sv, "VE") == 0);
    CU_ASSERT(sdg_meta_get_string(b.meta, "empty", &sv) == SDG_OK && strcmp(sv, "") == 0);
    CU_ASSERT(sdg_meta_get_string(b.meta, "utf8", &sv) == SDG_OK && strcmp(sv, "σ-schedule, Å") == 0);
    CU_ASSERT_EQUAL(sdg_meta_get_string(b.meta, "stale", &sv), SDG_ERR_NOTFOUND);

    /* resuming: one more identical step on both gives identical weights */
    for (size_t i = 0; i < sdg_params_count(a.p); i++) {
        sdg_tensor *x = sdg_params_at(a.p, i), *y = sdg_params_at(b.p, i);
        for (int64_t k = 0; k < x->size; k++) x->grad[k] = y->grad[k] = 0.1f * (float)k - 0.2f;
    }
    CU_ASSERT(sdg_adam_step(a.adam) == SDG_OK && sdg_adam_step(b.adam) == SDG_OK);
    sdg_ema_update(a.ema);
    sdg_ema_update(b.ema);
    CU_ASSERT(params_equal(a.p, b.p));
    CU_ASSERT(params_equal(sdg_ema_shadow(a.ema), sdg_ema_shadow(b.ema)));

    /* metadata alone, before a model exists */
    sdg_meta *m = NULL;
    CU_ASSERT_FATAL(sdg_meta_new(&m) == SDG_OK);
    CU_ASSERT_EQUAL(sdg_checkpoint_read_meta(path, m), SDG_OK);
    CU_ASSERT_EQUAL(sdg_meta_count(m), sdg_meta_count(a.meta));
    CU_ASSERT(sdg_meta_get_int(m, "threads", &iv) == SDG_OK && iv == 2);
    sdg_meta_free(m);
    check_no_leak(&before);
    probe_close(&before);
    model_free(&a);
    model_free(&b);
}

/* Only the parameters: NULL ema/adam/rng/meta on both sides. */
static void test_params_only(void) {
    model a, b;
    char path[256];
    tpath(path, sizeof path, "params-only.h5");
    model_build(&a, FULL, true);
    model_build(&b, FULL, false);
    sdg_checkpoint ck = {.params = a.p};
    CU_ASSERT_EQUAL_FATAL(sdg_checkpoint_save(path, &ck), SDG_OK);
    sdg_checkpoint ld = {.params = b.p};
    CU_ASSERT_EQUAL(sdg_checkpoint_load(path, &ld), SDG_OK);
    CU_ASSERT(params_equal(a.p, b.p));
    /* asking for what the file does not hold names what is missing */
    ld.ema = b.ema;
    expect_load_error(path, &ld, SDG_ERR_NOTFOUND, "no EMA weights (/ema)", NULL);
    ld.ema = NULL;
    ld.adam = b.adam;
    expect_load_error(path, &ld, SDG_ERR_NOTFOUND, "no optimiser state (/adam)", NULL);
    ld.adam = NULL;
    ld.rng = b.rng;
    expect_load_error(path, &ld, SDG_ERR_NOTFOUND, "no generator state (/rng)", NULL);
    /* an empty /meta reads back as no keys */
    sdg_meta *m = NULL;
    CU_ASSERT_FATAL(sdg_meta_new(&m) == SDG_OK);
    CU_ASSERT_FATAL(sdg_meta_set_int(m, "old", 1) == SDG_OK);
    CU_ASSERT_EQUAL(sdg_checkpoint_read_meta(path, m), SDG_OK);
    CU_ASSERT_EQUAL(sdg_meta_count(m), 0);
    sdg_meta_free(m);
    model_free(&a);
    model_free(&b);
}

static void test_parameter_errors(void) {
    model full, no_out, bad, extra;
    char p_full[256], p_no_out[256], p_bad[256], p_extra[256];
    tpath(p_full, sizeof p_full, "full.h5");
    tpath(p_no_out, sizeof p_no_out, "no-out.h5");
    tpath(p_bad, sizeof p_bad, "bad-shape.h5");
    tpath(p_extra, sizeof p_extra, "extra.h5");
    model_build(&full, FULL, true);
    model_build(&no_out, NO_OUT, true);
    model_build(&bad, BAD_SHAPE, true);
    model_build(&extra, EXTRA, true);
    save_ok(&full, p_full);
    save_ok(&no_out, p_no_out);
    save_ok(&bad, p_bad);
    save_ok(&extra, p_extra);

    model fresh;
    model_build(&fresh, FULL, false);
    sdg_checkpoint ck = model_ck(&fresh);
    expect_load_error(p_no_out, &ck, SDG_ERR_NOTFOUND, "parameter 'out.weight' is missing", NULL);
    /* the two parameters read before the failure were not written into the model */
    CU_ASSERT(all_zero(fresh.p));
    CU_ASSERT_EQUAL(sdg_meta_count(fresh.meta), 1);
    expect_load_error(p_bad, &ck, SDG_ERR_SHAPE,
                      "parameter 'layers.0.weight' has shape [3,4], the model expects [4,4]", NULL);
    expect_load_error(p_extra, &ck, SDG_ERR_FORMAT, "unexpected parameter 'head.bias'", NULL);
    CU_ASSERT(all_zero(fresh.p));
    CU_ASSERT_EQUAL(sdg_adam_steps(fresh.adam), 0);

    /* the other way round: the file has a parameter the smaller model lacks */
    model small;
    model_build(&small, NO_OUT, false);
    sdg_checkpoint cs = {.params = small.p};
    expect_load_error(p_full, &cs, SDG_ERR_FORMAT, "unexpected parameter 'out.weight'", NULL);
    /* an EMA of the wrong shape is named as such */
    model bad_fresh;
    model_build(&bad_fresh, BAD_SHAPE, false);
    sdg_checkpoint cb = {.params = full.p, .ema = bad_fresh.ema};
    expect_load_error(p_full, &cb, SDG_ERR_SHAPE, "EMA parameter 'layers.0.weight' has shape [4,4]",
                      "expects [3,4]");
    model_free(&bad_fresh);
    model_free(&small);
    model_free(&fresh);
    model_free(&full);
    model_free(&no_out);
    model_free(&bad);
    model_free(&extra);
}

static void test_file_errors(void) {
    model a, fresh;
    char good[256], path[256];
    model_build(&a, FULL, true);
    model_build(&fresh, FULL, false);
    sdg_checkpoint ck = model_ck(&fresh);
    tpath(good, sizeof good, "good.h5");
    save_ok(&a, good);

    /* missing file */
    tpath(path, sizeof path, "does-not-exist.h5");
    expect_load_error(path, &ck, SDG_ERR_IO, "No such file", NULL);
    /* a text file */
    tpath(path, sizeof path, "notes.txt");
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("this is not a checkpoint\n", f);
    fclose(f);
    expect_load_error(path, &ck, SDG_ERR_FORMAT, "not an HDF5 file", NULL);
    /* the first half of a valid file */
    tpath(path, sizeof path, "truncated.h5");
    copy_prefix(good, path, 0.5);
    expect_load_error(path, &ck, SDG_ERR_FORMAT, "truncated", NULL);
    /* cut anywhere: always an error naming the file, never a crash or a leak */
    for (int k = 1; k < 50; k++) {
        copy_prefix(good, path, k / 50.0);
        id_probe before = probe_new();
        sdg_status st = sdg_checkpoint_load(path, &ck);
        CU_ASSERT_NOT_EQUAL(st, SDG_OK);
        CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), path));
        check_no_leak(&before);
        probe_close(&before);
    }
    CU_ASSERT(all_zero(fresh.p));
    /* an empty file */
    tpath(path, sizeof path, "empty.h5");
    copy_prefix(good, path, 0.0);
    expect_load_error(path, &ck, SDG_ERR_FORMAT, "not an HDF5 file", NULL);

    /* an HDF5 file of another kind */
    tpath(path, sizeof path, "other-format.h5");
    save_ok(&a, path);
    forge_fixed_str(path, "/", "sdegen_format", "sdegen-dataset");
    expect_load_error(path, &ck, SDG_ERR_FORMAT, "not an sdegen checkpoint", "'sdegen-dataset'");
    {
        sdg_meta *m = NULL;
        CU_ASSERT_FATAL(sdg_meta_new(&m) == SDG_OK);
        CU_ASSERT_EQUAL(sdg_checkpoint_read_meta(path, m), SDG_ERR_FORMAT);
        CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "not an sdegen checkpoint"));
        sdg_meta_free(m);
    }
    /* a plain HDF5 file with no sdegen attributes at all */
    tpath(path, sizeof path, "plain.h5");
    hid_t h = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(h >= 0);
    H5Fclose(h);
    expect_load_error(path, &ck, SDG_ERR_FORMAT, "not an sdegen checkpoint", NULL);

    /* a newer format version */
    tpath(path, sizeof path, "version7.h5");
    save_ok(&a, path);
    forge_int(path, "/", "sdegen_format_version", 7);
    expect_load_error(path, &ck, SDG_ERR_VERSION, "format version 7, this sdegen reads 1", NULL);

    /* a fixed-length sdegen_format and a foreign fixed-length /meta string are read too */
    tpath(path, sizeof path, "fixed-strings.h5");
    save_ok(&a, path);
    forge_fixed_str(path, "/", "sdegen_format", SDG_CHECKPOINT_FORMAT);
    forge_fixed_str(path, "/meta", "note", "added by h5py");
    CU_ASSERT_EQUAL(sdg_checkpoint_load(path, &ck), SDG_OK);
    const char *sv = NULL;
    CU_ASSERT(sdg_meta_get_string(fresh.meta, "note", &sv) == SDG_OK && strcmp(sv, "added by h5py") == 0);
    CU_ASSERT(params_equal(a.p, fresh.p));

    /* nothing of the above left an HDF5 object open */
    CU_ASSERT_EQUAL(H5Fget_obj_count((hid_t)H5F_OBJ_ALL, FILE_OBJECTS), 0);
    model_free(&a);
    model_free(&fresh);
}

static void test_save_errors(void) {
    model a;
    char path[256], tmp[300];
    model_build(&a, FULL, true);
    sdg_checkpoint ck = model_ck(&a);
    id_probe before = probe_new();
    tpath(path, sizeof path, "no-such-dir/ck.h5");
    CU_ASSERT_EQUAL(sdg_checkpoint_save(path, &ck), SDG_ERR_IO);
    printf("\n    -> %s", sdg_errmsg());
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), path));
    check_no_leak(&before);
    CU_ASSERT_EQUAL(sdg_checkpoint_save(path, NULL), SDG_ERR_INVALID);

    /* a name HDF5 would read as a path is refused, and the temporary file is removed */
    sdg_params *p = NULL;
    CU_ASSERT_FATAL(sdg_params_new(&p) == SDG_OK);
    CU_ASSERT_FATAL(sdg_params_add(p, "block/0", 1, (int64_t[]){2}, NULL) == SDG_OK);
    tpath(path, sizeof path, "slash.h5");
    sdg_checkpoint cp = {.params = p};
    CU_ASSERT_EQUAL(sdg_checkpoint_save(path, &cp), SDG_ERR_INVALID);
    printf("\n    -> %s", sdg_errmsg());
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "'block/0'"));
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CU_ASSERT_NOT_EQUAL(access(tmp, F_OK), 0);
    CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
    check_no_leak(&before);
    probe_close(&before);
    sdg_params_free(p);
    model_free(&a);
}

static void test_meta_api(void) {
    sdg_meta *m = NULL;
    int64_t iv = 0;
    double dv = 0;
    const char *sv = NULL;
    CU_ASSERT_FATAL(sdg_meta_new(&m) == SDG_OK);
    CU_ASSERT_EQUAL(sdg_meta_count(m), 0);
    CU_ASSERT_EQUAL(sdg_meta_set_int(m, "epochs", 10), SDG_OK);
    CU_ASSERT_EQUAL(sdg_meta_set_double(m, "lr", 2e-3), SDG_OK);
    CU_ASSERT_EQUAL(sdg_meta_set_string(m, "name", "gdss"), SDG_OK);
    CU_ASSERT_EQUAL(sdg_meta_set_double(m, "epochs", 12.5), SDG_OK);   /* replaces, new type */
    CU_ASSERT_EQUAL(sdg_meta_count(m), 3);
    CU_ASSERT_STRING_EQUAL(sdg_meta_key(m, 0), "epochs");              /* keeps its position */
    CU_ASSERT_PTR_NULL(sdg_meta_key(m, 3));
    CU_ASSERT(sdg_meta_get_double(m, "epochs", &dv) == SDG_OK && dv == 12.5);
    CU_ASSERT_EQUAL(sdg_meta_get_int(m, "epochs", &iv), SDG_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "'epochs' is a double, not an integer"));
    CU_ASSERT_EQUAL(sdg_meta_get_string(m, "missing", &sv), SDG_ERR_NOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "'missing'"));
    CU_ASSERT_EQUAL(sdg_meta_set_int(m, "", 1), SDG_ERR_INVALID);
    CU_ASSERT_EQUAL(sdg_meta_set_string(m, "name", NULL), SDG_ERR_INVALID);
    CU_ASSERT(sdg_meta_get_string(m, "name", &sv) == SDG_OK);
    CU_ASSERT_EQUAL(sdg_meta_set_string(m, "name", sv), SDG_OK);        /* its own value */
    CU_ASSERT(sdg_meta_get_string(m, "name", &sv) == SDG_OK && strcmp(sv, "gdss") == 0);
    sdg_meta_free(m);
    sdg_meta_free(NULL);
}

static void remove_tmpdir(void) {
    DIR *d = opendir(tmpdir);
    if (!d) return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(tmpdir);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sdegen-test-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const sdg_test_case cases[] = {
        {"save/load round trip is bit-exact and resumable", test_round_trip},
        {"parameters only; absent sections named", test_params_only},
        {"missing, extra and mis-shaped parameters", test_parameter_errors},
        {"missing, text, truncated, foreign and newer files", test_file_errors},
        {"save errors leave nothing behind", test_save_errors},
        {"metadata store", test_meta_api},
        {NULL, NULL},
    };
    int rc = sdg_test_main("io/checkpoint", cases);
    remove_tmpdir();
    return rc;
}
