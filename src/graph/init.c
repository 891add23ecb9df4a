/* igraph is confined to this module; sdg_init() calls this hook to stop it aborting. */
#include <igraph.h>
#include "core/hooks.h"

void sdg_graph_init_hook(void) {
    igraph_set_error_handler(igraph_error_handler_ignore);
    igraph_set_warning_handler(igraph_warning_handler_ignore);
}
