/* GDSS sampling flags: the table keeps each distinct flag row of the training graphs with its
 * count, draws rows with the frequencies of the training set, refuses bad rows, and survives a
 * save/load round trip inside a GDSS checkpoint (with EMA weights chosen when use_ema). */
#include <unistd.h>
#include "test_util.h"

/* four graphs on up to 4 nodes: path 0-1-2 (flags 1110) twice, edge 1-3 (0101), edge 0-1 (1100) */
static sdg_graph_list *toy_list(void) {
    sdg_graph_list *gl = NULL;
    int64_t p3[] = {0, 1, 1, 2}, e13[] = {1, 3}, e01[] = {0, 1};
    CU_ASSERT_FATAL(sdg_graph_list_new(4, &gl) == SDG_OK);
    CU_ASSERT_FATAL(sdg_graph_list_set(gl, 0, &(sdg_graph){.n = 3, .m = 2, .edges = p3}) == SDG_OK);
    CU_ASSERT_FATAL(sdg_graph_list_set(gl, 1, &(sdg_graph){.n = 4, .m = 1, .edges = e13}) == SDG_OK);
    CU_ASSERT_FATAL(sdg_graph_list_set(gl, 2, &(sdg_graph){.n = 4, .m = 2, .edges = p3}) == SDG_OK);
    CU_ASSERT_FATAL(sdg_graph_list_set(gl, 3, &(sdg_graph){.n = 2, .m = 1, .edges = e01}) == SDG_OK);
    return gl;
}

static void test_table(void) {
    sdg_graph_list *gl = toy_list();
    sdg_gdss_flags  f  = {0};
    CU_ASSERT_FATAL(sdg_gdss_flags_from_graphs(gl, 5, &f) == SDG_OK);
    CU_ASSERT_EQUAL(f.count, 3);
    CU_ASSERT_EQUAL(f.total, 4);
    const float want[3][5] = {{1, 1, 1, 0, 0}, {0, 1, 0, 1, 0}, {1, 1, 0, 0, 0}};
    const int64_t wantw[3] = {2, 1, 1};
    for (int r = 0; r < 3; r++) {
        CU_ASSERT_EQUAL(f.weight[r], wantw[r]);
        CU_ASSERT(memcmp(f.rows + r * 5, want[r], sizeof want[r]) == 0);
    }
    /* frequencies: 1/2, 1/4, 1/4 over 40000 draws, each within 5 standard errors */
    sdg_rng *rng = NULL;
    CU_ASSERT_FATAL(sdg_rng_new(11, &rng) == SDG_OK);
    long   hits[3] = {0};
    float  row[5];
    const long n = 40000;
    for (long k = 0; k < n; k++) {
        sdg_gdss_flags_draw(&f, rng, row);
        for (int r = 0; r < 3; r++) hits[r] += memcmp(row, want[r], sizeof row) == 0;
    }
    CU_ASSERT_EQUAL(hits[0] + hits[1] + hits[2], n);
    for (int r = 0; r < 3; r++) {
        double p = (double)wantw[r] / 4.0, se = sqrt(p * (1 - p) / (double)n);
        CU_ASSERT(fabs((double)hits[r] / (double)n - p) < 5 * se);
    }
    CU_ASSERT(sdg_gdss_flags_from_graphs(gl, 3, &(sdg_gdss_flags){0}) == SDG_ERR_INVALID);  /* 4 nodes > 3 */
    float bad[5] = {1, 0.5f, 0, 0, 0};
    CU_ASSERT(sdg_gdss_flags_init(&(sdg_gdss_flags){0}, 5, 1, bad, (int64_t[]){1}) == SDG_ERR_INVALID);
    CU_ASSERT(strstr(sdg_errmsg(), "not 0 or 1") != NULL);
    CU_ASSERT(sdg_gdss_flags_init(&(sdg_gdss_flags){0}, 5, 1, want[0], (int64_t[]){0}) == SDG_ERR_INVALID);
    sdg_gdss_flags_destroy(&f);
    sdg_gdss_flags_destroy(&f);   /* idempotent */
    sdg_gdss_flags_destroy(NULL);
    sdg_rng_free(rng);
    sdg_graph_list_free(gl);
}

static void test_round_trip(void) {
    sdg_gdss_params hx = sdg_gdss_default_params(SDG_GDSS_NET_KIND_X), ha = sdg_gdss_default_params(SDG_GDSS_NET_KIND_A);
    hx.N = ha.N = 5;
    sdg_gdss_settings s = {.dataset = "toy", .predictor = "Reverse", .corrector = "Langevin", .snr = 0.1,
                           .scale_eps = 0.7, .eps = 1e-4, .batch = 4, .use_ema = false};
    s.sde_x = s.sde_adj = (sdg_gdss_sde){SDG_GDSS_SDE_KIND_VP, 0.1, 1.0, 1000};
    sdg_rng *rng = NULL;
    sdg_gdss_model *m = NULL, *back = NULL;
    sdg_graph_list *gl = toy_list();
    CU_ASSERT_FATAL(sdg_rng_new(3, &rng) == SDG_OK);
    CU_ASSERT_FATAL(sdg_gdss_model_new(&hx, &ha, &s, rng, &m) == SDG_OK);
    char path[64];
    snprintf(path, sizeof path, "/tmp/sdegen-flags-%d.h5", (int)getpid());
    /* without a table: loads with count 0 */
    CU_ASSERT_FATAL(sdg_gdss_model_save(m, path) == SDG_OK);
    CU_ASSERT_FATAL(sdg_gdss_model_load(path, &back) == SDG_OK);
    CU_ASSERT_EQUAL(back->flags.count, 0);
    CU_ASSERT(!back->weights_ema);
    sdg_gdss_model_free(back);
    back = NULL;
    /* with a table */
    CU_ASSERT_FATAL(sdg_gdss_flags_from_graphs(gl, 5, &m->flags) == SDG_OK);
    CU_ASSERT_FATAL(sdg_gdss_model_save(m, path) == SDG_OK);
    CU_ASSERT_FATAL(sdg_gdss_model_load(path, &back) == SDG_OK);
    CU_ASSERT_EQUAL(back->flags.count, m->flags.count);
    CU_ASSERT_EQUAL(back->flags.total, m->flags.total);
    CU_ASSERT_EQUAL(back->flags.N, 5);
    CU_ASSERT(memcmp(back->flags.rows, m->flags.rows, m->flags.count * 5 * sizeof(float)) == 0);
    CU_ASSERT(memcmp(back->flags.weight, m->flags.weight, m->flags.count * sizeof(int64_t)) == 0);
    sdg_gdss_model_free(back);
    back = NULL;
    /* use_ema with EMA weights in the file: the loader takes the shadow */
    sdg_ema *ema = NULL;
    m->settings.use_ema = true;
    CU_ASSERT_FATAL(sdg_ema_new(m->params, 0.5f, &ema) == SDG_OK);
    sdg_params *sh = sdg_ema_shadow(ema);
    for (size_t i = 0; i < sdg_params_count(sh); i++) sdg_params_at(sh, i)->data[0] = 42.0f + (float)i;
    CU_ASSERT_FATAL(sdg_gdss_model_save(m, path) == SDG_OK);
    /* sdg_gdss_model_save writes no EMA: the loader keeps /params */
    CU_ASSERT_FATAL(sdg_gdss_model_load(path, &back) == SDG_OK);
    CU_ASSERT(!back->weights_ema);
    sdg_gdss_model_free(back);
    back = NULL;
    sdg_meta *meta = NULL;
    CU_ASSERT_FATAL(sdg_meta_new(&meta) == SDG_OK);
    CU_ASSERT_FATAL(sdg_checkpoint_read_meta(path, meta) == SDG_OK);
    CU_ASSERT_FATAL(sdg_checkpoint_save(path, &(sdg_checkpoint){.params = m->params, .ema = ema, .meta = meta}) == SDG_OK);
    CU_ASSERT_FATAL(sdg_gdss_model_load(path, &back) == SDG_OK);
    CU_ASSERT(back->weights_ema);
    for (size_t i = 0; i < sdg_params_count(back->params); i++)
        CU_ASSERT_EQUAL(sdg_params_at(back->params, i)->data[0], 42.0f + (float)i);
    sdg_gdss_model_free(back);
    sdg_meta_free(meta);
    sdg_ema_free(ema);
    unlink(path);
    sdg_gdss_model_free(m);
    sdg_graph_list_free(gl);
    sdg_rng_free(rng);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"flag table: distinct rows, counts, draw frequencies, bad rows", test_table},
        {"flag table and EMA weights through a GDSS checkpoint", test_round_trip},
        {NULL, NULL},
    };
    return sdg_test_main("io-gdss-flags", cases);
}
