/* CDVAE CSV datasets against the derived .xtal.txt files (data/README.md section 3), on all
 * six available CSVs; RFC 4180 quoting and bad rows on small hand-made files. */
#include <time.h>
#include <unistd.h>
#include "test_util.h"

static const char *data_dir;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Compares d with the xtal file: ids, lattice parameters (1e-6 relative), species, wrapped
 * fractional coordinates (1e-9) and the property values. Returns the mismatches. */
static int compare_xtal(const sdg_crystal_dataset *d, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return 1;
    char line[4096];
    long S = -1;
    while (fgets(line, sizeof line, f))
        if (line[0] != '#') {
            S = strtol(line, NULL, 10);
            break;
        }
    int bad = 0;
    if (S != (long)d->count) {
        printf("%s: %ld structures, loader has %zu\n", path, S, d->count);
        bad++;
    }
    for (long s = 0; s < S && s < (long)d->count && bad < 10; s++) {
        const sdg_crystal *c = d->crystals[s];
        char               id[256];
        long               natoms;
        if (!fgets(line, sizeof line, f) || sscanf(line, "%255s %ld", id, &natoms) != 2) return bad + 1;
        if (strcmp(id, d->ids[s]) != 0 || natoms != c->n_atoms) {
            printf("structure %ld: %s/%ld vs %s/%lld\n", s, id, natoms, d->ids[s], (long long)c->n_atoms);
            bad++;
        }
        double p[6], q[6];
        if (!fgets(line, sizeof line, f) ||
            sscanf(line, "%lf %lf %lf %lf %lf %lf", &p[0], &p[1], &p[2], &p[3], &p[4], &p[5]) != 6)
            return bad + 1;
        sdg_lattice_to_params(c->lattice, q);
        for (int k = 0; k < 6; k++)
            if (fabs(p[k] - q[k]) > 1e-6 * fabs(p[k])) {
                printf("structure %ld (%s): lattice %d %.10g vs %.10g\n", s, id, k, p[k], q[k]);
                bad++;
            }
        for (long a = 0; a < natoms; a++) {
            int    z;
            char   sym[8];
            double f3[3];
            if (!fgets(line, sizeof line, f) || sscanf(line, "%d %7s %lf %lf %lf", &z, sym, &f3[0], &f3[1], &f3[2]) != 5)
                return bad + 1;
            if (a >= c->n_atoms) continue;
            if (z != c->z[a] || strcmp(sym, sdg_crystal_element_symbol(c->z[a])) != 0) {
                printf("structure %ld atom %ld: %d %s vs %d\n", s, a, z, sym, c->z[a]);
                bad++;
            }
            for (int k = 0; k < 3; k++) {
                double w = f3[k] - floor(f3[k]);
                if (w >= 1) w = 0;
                double g = c->frac[3 * a + k];
                if (!(g >= 0 && g < 1) || fabs(w - g) > 1e-9) {
                    printf("structure %ld atom %ld: frac %.10g (wrapped %.10g) vs %.10g\n", s, a, f3[k], w, g);
                    bad++;
                }
            }
        }
    }
    fclose(f);
    return bad;
}

static void check_split(const char *ds, const char *split, size_t want_rows, const char *prop, size_t natoms_max) {
    char dir[1024], xtal[1200];
    snprintf(dir, sizeof dir, "%s/crystals/%s", data_dir, ds);
    snprintf(xtal, sizeof xtal, "%s/%s.xtal.txt", dir, split);
    sdg_crystal_dataset *d  = NULL;
    double               t0 = now();
    sdg_status           st = sdg_crystal_dataset_load(dir, split, NULL, &d);
    double               dt = now() - t0;
    if (st != SDG_OK) printf("%s\n", sdg_errmsg());
    CU_ASSERT_FATAL(st == SDG_OK);
    printf("\n  %s/%s: %zu crystals, %zu skipped, loaded in %.3f s ", ds, split, d->count, d->n_skipped, dt);
    CU_ASSERT(d->count == want_rows && d->n_skipped == 0 && d->n_rows == want_rows);
    size_t k = 0;
    CU_ASSERT(sdg_crystal_dataset_prop(d, prop, &k) == SDG_OK);
    size_t finite = 0;
    int64_t amax = 0;
    for (size_t i = 0; i < d->count; i++) {
        finite += isfinite(d->props[i * d->n_props + k]);
        if (d->crystals[i]->n_atoms > amax) amax = d->crystals[i]->n_atoms;
    }
    CU_ASSERT(finite == d->count);
    CU_ASSERT(amax == (int64_t)natoms_max);
    CU_ASSERT(sdg_crystal_dataset_prop(d, "cif", &k) == SDG_ERR_NOTFOUND);
    CU_ASSERT(compare_xtal(d, xtal) == 0);
    sdg_crystal_dataset_free(d);
}

static void test_perov5(void) {
    check_split("perov_5", "val", 3787, "heat_ref", 5);
    check_split("perov_5", "test", 3785, "heat_ref", 5);
}

static void test_carbon24(void) {
    check_split("carbon_24", "val", 2032, "energy_per_atom", 24);
    check_split("carbon_24", "test", 2030, "energy_per_atom", 24);
}

static void test_mp20_subset(void) {
    check_split("mp_20_subset", "train", 847, "formation_energy_per_atom", 20);
    check_split("mp_20_subset", "val", 123, "band_gap", 20);
    check_split("mp_20_subset", "test", 142, "e_above_hull", 20);
    /* text columns (pretty_formula) are NaN, numeric ones are numbers */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/crystals/mp_20_subset", data_dir);
    sdg_crystal_dataset       *d = NULL;
    sdg_crystal_dataset_params p = sdg_crystal_dataset_default_params();
    p.max_rows = 10;
    CU_ASSERT_FATAL(sdg_crystal_dataset_load(dir, "train", &p, &d) == SDG_OK);
    size_t kf = 0, ks = 0;
    CU_ASSERT(d->count == 10);
    CU_ASSERT(sdg_crystal_dataset_prop(d, "pretty_formula", &kf) == SDG_OK && isnan(d->props[kf]));
    CU_ASSERT(sdg_crystal_dataset_prop(d, "spacegroup.number", &ks) == SDG_OK && d->props[ks] == 139);
    CU_ASSERT_STRING_EQUAL(d->ids[0], "mp-3507");
    sdg_crystal_dataset_free(d);
}

static void test_csv_quoting_and_bad_rows(void) {
    char path[] = "/tmp/sdegen-csv-XXXXXX";
    int  fd     = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    const char *cif = "data_x\n_cell_length_a 4\n_cell_length_b 4\n_cell_length_c 4\n_cell_angle_alpha 90\n"
                      "_cell_angle_beta 90\n_cell_angle_gamma 90\n_note \"\"a 'quoted' note\"\"\nloop_\n"
                      "_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n";
    fprintf(f, ",material_id,cif,energy\r\n");
    fprintf(f, "0,m-1,\"%sNa -0.25 0 0\nCl 0.25 0 0\n\",-1.5\r\n", cif);        /* good, CRLF     */
    fprintf(f, "1,m-2,\"%sNa 0 0 0\nCl 0.5 0.5 0.5\",\n", cif);                /* good, no energy */
    fprintf(f, "2,m-3,\"%sXx 0 0 0\n\",1\n", cif);                              /* unknown element */
    fprintf(f, "3,m-4,not a cif,2\n");                                          /* no block        */
    fprintf(f, "4,m-5,\"%sNa 0 0 0\n\"\n", cif);                                 /* too few fields  */
    fprintf(f, "5,m-6,\"%sFe 0 0 0\n\",x\n", cif);                              /* good, energy NaN */
    fclose(f);
    sdg_crystal_dataset *d = NULL;
    CU_ASSERT_FATAL(sdg_crystal_dataset_read_csv(path, NULL, &d) == SDG_OK);
    CU_ASSERT(d->count == 3 && d->n_rows == 6 && d->n_skipped == 3);
    CU_ASSERT(d->n_props == 1 && strcmp(d->prop_names[0], "energy") == 0);
    if (d->count == 3) {
        CU_ASSERT_STRING_EQUAL(d->ids[0], "m-1");
        CU_ASSERT(d->props[0] == -1.5 && isnan(d->props[1]) && isnan(d->props[2]));
        CU_ASSERT(d->crystals[0]->n_atoms == 2 && d->crystals[0]->frac[0] == 0.75);   /* wrapped */
        CU_ASSERT_STRING_EQUAL(d->ids[2], "m-6");
    }
    CU_ASSERT(d->skip_reasons[0] && strstr(d->skip_reasons[0], "row 3: block x (line 46)") &&
              strstr(d->skip_reasons[0], "unknown element 'Xx'"));
    CU_ASSERT(d->skip_reasons[1] && strstr(d->skip_reasons[1], "row 4"));
    CU_ASSERT(d->skip_reasons[2] && strstr(d->skip_reasons[2], "3 fields, the header has 4"));
    sdg_crystal_dataset_free(d);
    /* an unterminated quote and a missing cif column are file-level errors */
    f = fopen(path, "w");
    fprintf(f, "a,cif\n1,\"data_x\n");
    fclose(f);
    CU_ASSERT(sdg_crystal_dataset_read_csv(path, NULL, &d) == SDG_ERR_FORMAT);
    CU_ASSERT(strstr(sdg_errmsg(), "unterminated") != NULL);
    f = fopen(path, "w");
    fprintf(f, "a,b\n1,2\n");
    fclose(f);
    CU_ASSERT(sdg_crystal_dataset_read_csv(path, NULL, &d) == SDG_ERR_FORMAT);
    CU_ASSERT(strstr(sdg_errmsg(), "no 'cif' column") != NULL);
    CU_ASSERT(sdg_crystal_dataset_load("/tmp", "training", NULL, &d) == SDG_ERR_INVALID);
    CU_ASSERT(sdg_crystal_dataset_load("/nonexistent", "test", NULL, &d) == SDG_ERR_IO);
    remove(path);
}

/* Random damage to a CSV (quotes, commas, newlines, bytes of the CIF) never crashes the
 * loader: each file loads with some rows skipped or fails with a status (ASan run too). */
static void test_csv_damage(void) {
    const char *cif = "data_x\n_cell_length_a 4\n_cell_length_b 4\n_cell_length_c 4\n_cell_angle_alpha 90\n"
                      "_cell_angle_beta 90\n_cell_angle_gamma 90\nloop_\n_atom_site_type_symbol\n"
                      "_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\nNa 0 0 0\nCl 0.5 0.5 0.5\n";
    char  *text = NULL;
    size_t n = 0;
    FILE  *m = open_memstream(&text, &n);
    fprintf(m, ",material_id,cif,e\n");
    for (int r = 0; r < 4; r++) fprintf(m, "%d,id-%d,\"%s\",%d.5\n", r, r, cif, r);
    fclose(m);
    char path[] = "/tmp/sdegen-csvfuzz-XXXXXX";
    int  fd     = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    sdg_rng *rng = NULL;
    sdg_rng_new(5, &rng);
    const char junk[] = "\",\n\r'; _#0-.";
    int loaded = 0, failed = 0;
    char *t = malloc(n + 1);
    for (int it = 0; it < 400; it++) {
        memcpy(t, text, n + 1);
        for (int k = 0; k < 4; k++) t[sdg_rng_uint(rng, n)] = junk[sdg_rng_uint(rng, sizeof junk - 1)];
        FILE *f = fopen(path, "w");
        fwrite(t, 1, n, f);
        fclose(f);
        sdg_crystal_dataset *d = NULL;
        if (sdg_crystal_dataset_read_csv(path, NULL, &d) == SDG_OK) {
            loaded++;
            CU_ASSERT(d->count + d->n_skipped == d->n_rows);
        } else {
            failed++;
        }
        sdg_crystal_dataset_free(d);
    }
    printf("\n  400 damaged CSVs: %d loaded, %d refused ", loaded, failed);
    CU_ASSERT(loaded > 0);
    free(t);
    free(text);
    sdg_rng_free(rng);
    remove(path);
}

int main(void) {
    const sdg_test_case quick[] = {{"csv_quoting_and_bad_rows", test_csv_quoting_and_bad_rows},
                                   {"csv_damage", test_csv_damage},
                                   {NULL, NULL}};
    data_dir = sdg_test_data_dir("crystals/perov_5/test.csv");
    if (!data_dir) {
        int r = sdg_test_main("crystal_dataset", quick);
        return r ? r : 77;
    }
    const sdg_test_case cases[] = {{"csv_quoting_and_bad_rows", test_csv_quoting_and_bad_rows},
                                   {"csv_damage", test_csv_damage},
                                   {"perov5", test_perov5},
                                   {"carbon24", test_carbon24},
                                   {"mp20_subset", test_mp20_subset},
                                   {NULL, NULL}};
    return sdg_test_main("crystal_dataset", cases);
}
