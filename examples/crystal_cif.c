/* examples/crystal_cif.c: a crystal from lattice parameters, its space group, its shortest
 * periodic distance, and a symmetrised CIF written to a temporary file and read back.
 *   cc crystal_cif.c $(pkg-config --cflags --libs sdegen) -o crystal_cif
 * Prints one line: the space group, the distance and the number of sites read back. */
#include <stdio.h>
#include <sdegen/sdegen.h>

int main(void) {
    sdg_status        st = sdg_init();
    sdg_crystal      *c  = NULL;
    sdg_crystal_list *l  = NULL;
    sdg_spacegroup    sg = {0};
    double            m[9], d = 0;
    /* primitive rock salt: fcc, a = 5.64 A, so the primitive edges are 5.64 / sqrt(2) */
    const double p[6] = {3.988, 3.988, 3.988, 60, 60, 60};
    if (st == SDG_OK) st = sdg_lattice_from_params(p, m);
    if (st == SDG_OK) st = sdg_crystal_new(m, &c);
    if (st == SDG_OK) st = sdg_crystal_add_site(c, 11, (const double[3]){0, 0, 0});
    if (st == SDG_OK) st = sdg_crystal_add_site(c, 17, (const double[3]){0.5, 0.5, 0.5});
    if (st == SDG_OK) st = sdg_crystal_spacegroup(c, 0.1, &sg);
    if (st == SDG_OK) st = sdg_crystal_min_distance(c, &d);
    FILE *f = tmpfile();
    char  buf[8192];
    size_t n = 0;
    sdg_cif_params cp = sdg_cif_default_params();
    cp.symmetrize = true;
    if (st == SDG_OK && !f) st = SDG_ERR_IO;
    if (st == SDG_OK) st = sdg_crystal_write_cif(f, c, &cp);
    if (st == SDG_OK) {
        rewind(f);
        n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        st = sdg_crystal_read_cif_string(buf, "example", &l);
    }
    if (f) fclose(f);
    if (st == SDG_OK)
        printf("NaCl: space group %s (%d), shortest distance %.3f A, %lld sites in the conventional cell\n",
               sg.symbol, sg.number, d, (long long)l->items[0]->n_atoms);
    else
        fprintf(stderr, "crystal_cif: %s\n", sdg_errmsg());
    sdg_crystal_list_free(l);
    sdg_crystal_free(c);
    return st == SDG_OK ? 0 : 1;
}
