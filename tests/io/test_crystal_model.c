/* Crystal model checkpoints (io.h: sdg_crystal_model_save/load): the settings and the element
 * vocabulary (meta decode.elements) read back as written; a file without the vocabulary (as
 * written before it was kept) loads with none; a malformed list is refused naming the file. The
 * matrix's element rows (meta matrix.element_rows) likewise: a vocabulary reads back, a file
 * without the key loads with all 94 rows. */
#include <hdf5.h>
#include <unistd.h>
#include "test_util.h"

static char dir[64];

/* A tiny carbon-like model: E_max 1, N_max 2, vocabulary {C, O}; element rows Z 1..94 (100 x 3
 * matrices) or, with vocab_rows, C and O (8 x 3). */
static sdg_crystal_model *tiny_model(bool vocab_rows) {
    sdg_crystal_model *m = calloc(1, sizeof *m);
    CU_ASSERT_FATAL(m != NULL);
    m->mp = (sdg_crystal_matrix_params){.e_max = 1, .n_max = 2};
    if (vocab_rows) m->mp = (sdg_crystal_matrix_params){.e_max = 1, .n_max = 2, .n_vocab = 2, .vocab = {6, 8}};
    int64_t R = 0, W = 0;
    CU_ASSERT_FATAL(sdg_crystal_matrix_shape(&m->mp, &R, &W) == SDG_OK);
    sdg_crystal_unet_params np = sdg_crystal_unet_default_params();
    np.width = W, np.rows = R, np.base = 8, np.levels = 1, np.emb = 16, np.seed = 3;
    CU_ASSERT_FATAL(sdg_crystal_unet_new(&np, &m->net) == SDG_OK);
    m->scaler.elem_std = m->scaler.coord_std = m->scaler.occ_std = 1;
    for (int k = 0; k < 6; k++) m->scaler.lat_std[k] = 1;
    m->sigma_data = 0.75;
    snprintf(m->dataset, sizeof m->dataset, "carbon_24");
    snprintf(m->split, sizeof m->split, "val");
    m->epochs = 7;
    m->elements[6 - 1] = m->elements[8 - 1] = 1;
    return m;
}

/* Sets the /meta attribute key of path to v (a variable-length UTF-8 string), or deletes it
 * when v is NULL. */
static void set_attr(const char *path, const char *key, const char *v) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    hid_t g = H5Gopen2(f, "meta", H5P_DEFAULT);
    CU_ASSERT_FATAL(g >= 0);
    if (H5Aexists(g, key) > 0) CU_ASSERT_FATAL(H5Adelete(g, key) >= 0);
    if (v) {
        hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR);
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, H5T_CSET_UTF8);
        hid_t a = H5Acreate2(g, key, t, s, H5P_DEFAULT, H5P_DEFAULT);
        CU_ASSERT_FATAL(a >= 0);
        CU_ASSERT(H5Awrite(a, t, &v) >= 0);
        H5Aclose(a);
        H5Sclose(s);
        H5Tclose(t);
    }
    H5Gclose(g);
    H5Fclose(f);
}

static void test_vocabulary(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/m.h5", dir);
    sdg_crystal_model *m = tiny_model(false), *back = NULL;
    CU_ASSERT_FATAL(sdg_crystal_model_save(path, m, NULL) == SDG_OK);
    CU_ASSERT_FATAL(sdg_crystal_model_load(path, true, &back) == SDG_OK);
    CU_ASSERT(memcmp(back->elements, m->elements, sizeof m->elements) == 0);
    CU_ASSERT(back->elements[5] == 1 && back->elements[7] == 1 && back->elements[6] == 0);
    CU_ASSERT(back->epochs == 7 && back->mp.e_max == 1 && back->mp.n_max == 2 && back->sigma_data == 0.75);
    CU_ASSERT_STRING_EQUAL(back->dataset, "carbon_24");
    sdg_crystal_model_free(back);
    back = NULL;
    /* written before the vocabulary was kept: loads, with none */
    set_attr(path, "decode.elements", NULL);
    CU_ASSERT_FATAL(sdg_crystal_model_load(path, true, &back) == SDG_OK);
    int n = 0;
    for (int z = 0; z < 94; z++) n += back->elements[z];
    CU_ASSERT(n == 0);
    sdg_crystal_model_free(back);
    back = NULL;
    /* an empty list is no vocabulary too; malformed lists are refused, naming the file */
    set_attr(path, "decode.elements", "");
    CU_ASSERT(sdg_crystal_model_load(path, true, &back) == SDG_OK && back && back->elements[5] == 0);
    sdg_crystal_model_free(back);
    back = NULL;
    const char *bad[] = {"8 6", "6 6", "6 95", "0", "6,8", "6 x", "6  8", "-1", " 6", "6 ", "+6"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        set_attr(path, "decode.elements", bad[k]);
        CU_ASSERT(sdg_crystal_model_load(path, true, &back) == SDG_ERR_FORMAT && back == NULL);
        CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "m.h5"));
        CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "decode.elements"));
        if (!strstr(sdg_errmsg(), "decode.elements")) printf("'%s': %s\n", bad[k], sdg_errmsg());
        sdg_error_clear();
    }
    set_attr(path, "decode.elements", "1 6 94");
    CU_ASSERT_FATAL(sdg_crystal_model_load(path, true, &back) == SDG_OK);
    CU_ASSERT(back->elements[0] == 1 && back->elements[5] == 1 && back->elements[93] == 1 && back->elements[7] == 0);
    sdg_crystal_model_free(back);
    sdg_crystal_model_free(m);
}

/* Reads the /meta string attribute key of path into out (cap bytes); "" when absent. */
static void get_attr(const char *path, const char *key, char *out, size_t cap) {
    out[0] = '\0';
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    hid_t g = H5Gopen2(f, "meta", H5P_DEFAULT);
    if (H5Aexists(g, key) > 0) {
        hid_t a = H5Aopen(g, key, H5P_DEFAULT), t = H5Aget_type(a), mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5T_CSET_UTF8);
        char *v = NULL;
        if (H5Tis_variable_str(t) > 0 && H5Aread(a, mt, &v) >= 0 && v) snprintf(out, cap, "%s", v);
        H5free_memory(v);
        H5Tclose(mt);
        H5Tclose(t);
        H5Aclose(a);
    }
    H5Gclose(g);
    H5Fclose(f);
}

static void test_element_rows(void) {
    char path[128], v[512];
    snprintf(path, sizeof path, "%s/rows.h5", dir);
    /* all rows: written as "", and a file without the key (written before it) loads the same */
    sdg_crystal_model *m = tiny_model(false), *back = NULL;
    CU_ASSERT_FATAL(sdg_crystal_model_save(path, m, NULL) == SDG_OK);
    get_attr(path, "matrix.element_rows", v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "");
    set_attr(path, "matrix.element_rows", NULL);
    CU_ASSERT_FATAL(sdg_crystal_model_load(path, true, &back) == SDG_OK);
    CU_ASSERT(back->mp.n_vocab == 0 && sdg_crystal_unet_get_params(back->net)->rows == 100);
    sdg_crystal_model_free(back);
    back = NULL;
    sdg_crystal_model_free(m);
    /* vocabulary rows C, O: kept, and the net is rebuilt for 8 rows */
    m = tiny_model(true);
    CU_ASSERT_FATAL(sdg_crystal_model_save(path, m, NULL) == SDG_OK);
    get_attr(path, "matrix.element_rows", v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "6 8");
    CU_ASSERT_FATAL(sdg_crystal_model_load(path, true, &back) == SDG_OK);
    CU_ASSERT(back->mp.n_vocab == 2 && back->mp.vocab[0] == 6 && back->mp.vocab[1] == 8);
    CU_ASSERT(back->mp.e_max == 1 && back->mp.n_max == 2 && sdg_crystal_unet_get_params(back->net)->rows == 8);
    CU_ASSERT(back->elements[5] == 1 && back->elements[7] == 1);
    sdg_crystal_model_free(back);
    back = NULL;
    /* the rows and the net must agree: a lost or changed vocabulary is refused, naming the file */
    const char *bad_rows[] = {NULL, "6", "6 8 9"};
    for (size_t k = 0; k < sizeof bad_rows / sizeof bad_rows[0]; k++) {
        set_attr(path, "matrix.element_rows", bad_rows[k]);
        CU_ASSERT(sdg_crystal_model_load(path, true, &back) == SDG_ERR_FORMAT && back == NULL);
        CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "rows.h5"));
        CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "element rows"));
        sdg_error_clear();
    }
    const char *bad[] = {"8 6", "6 95", "6,8", " 6"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        set_attr(path, "matrix.element_rows", bad[k]);
        CU_ASSERT(sdg_crystal_model_load(path, true, &back) == SDG_ERR_FORMAT && back == NULL);
        CU_ASSERT_PTR_NOT_NULL(strstr(sdg_errmsg(), "meta matrix.element_rows"));
        sdg_error_clear();
    }
    sdg_crystal_model_free(m);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/sdegen-cm-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    const sdg_test_case cases[] = {
        {"element vocabulary: round trip, absent, malformed", test_vocabulary},
        {"element rows: round trip, absent, malformed", test_element_rows},
        {NULL, NULL},
    };
    int  rc = sdg_test_main("io-crystal-model", cases);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) rc = 1;
    return rc;
}
