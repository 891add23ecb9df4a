/* sdegen convert IN OUT: graph files between .txt, .graphml and .h5 (formats by extension). */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"

int cli_convert(int argc, char **argv) {
    if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-') {
        fprintf(stderr, "usage: sdegen convert IN OUT   (graph files: .txt, .graphml or .h5, by extension)\n");
        return 2;
    }
    sdg_graph_list   *gl = NULL;
    sdg_graph_writer *w  = NULL;
    if (sdg_graph_file_read(argv[1], &gl) != SDG_OK || sdg_graph_writer_open(argv[2], gl->count, &w) != SDG_OK ||
        sdg_graph_writer_append(w, gl) != SDG_OK) {
        fprintf(stderr, "sdegen convert: %s\n", sdg_errmsg());
        sdg_graph_writer_free(w);
        sdg_graph_list_free(gl);
        return 1;
    }
    sdg_status st = sdg_graph_writer_close(w);
    if (st != SDG_OK) fprintf(stderr, "sdegen convert: %s\n", sdg_errmsg());
    else printf("%s: %zu graphs\n", argv[2], gl->count);
    sdg_graph_list_free(gl);
    return st == SDG_OK ? 0 : 1;
}
