/* The crystal datasets the CLI knows (train crystal, eval crystals): one table of name,
 * directory, training split and default matrix size, and the lookup of a split's CSV. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "cli/cli.h"

/* perov_5 and carbon_24 have only val and test in this tree, so their models train on val;
 * mp_20 is CDVAE's MP-20 cut to a 847/123/142 subset. E_max/N_max fit every crystal. */
static const cli_crystal_ds datasets[] = {
    {"perov_5", "perov_5", "val", 5, 5},
    {"carbon_24", "carbon_24", "val", 1, 24},
    {"mp_20", "mp_20_subset", "train", 7, 20},
};

const char cli_crystal_ds_names[] = "perov_5, carbon_24, mp_20";

const cli_crystal_ds *cli_crystal_ds_find(const char *name) {
    for (size_t k = 0; k < sizeof datasets / sizeof *datasets; k++)
        if (strcmp(name, datasets[k].name) == 0) return &datasets[k];
    return NULL;
}

int cli_crystal_ds_dir(const char *data, const cli_crystal_ds *ds, const char *split, char *buf, size_t cap) {
    const char *fmt[3] = {"%s/crystals/%s", "%s/%s", "%s%.0s"};
    for (int k = 0; k < 3; k++) {
        char        csv[4200];
        struct stat sb;
        snprintf(buf, cap, fmt[k], data, ds->dir);
        snprintf(csv, sizeof csv, "%s/%s.csv", buf, split);
        if (stat(csv, &sb) == 0 && S_ISREG(sb.st_mode)) return 0;
    }
    return 1;
}

void cli_crystal_ds_missing(const char *cmd, const char *data, const cli_crystal_ds *ds, const char *split) {
    fprintf(stderr, "sdegen %s: --dataset %s: no %s.csv under %s (looked in %s/crystals/%s, %s/%s and %s)\n", cmd,
            ds->name, split, data, data, ds->dir, data, ds->dir, data);
}
