/* sdegen: the command. Only this directory prints or chooses exit codes. */
#include <stdio.h>
#include <string.h>
#include "sdegen/sdegen.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: sdegen <command> [options]\n"
            "commands:\n"
            "  --version          print the version\n"
            "  --help             this text\n");
}

int main(int argc, char **argv) {
    if (sdg_init() != SDG_OK) {
        fprintf(stderr, "sdegen: initialisation failed: %s\n", sdg_errmsg());
        return 1;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("sdegen %s\n", sdg_version());
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "sdegen: unknown command '%s' (see sdegen --help)\n", argv[1]);
    return 2;
}
