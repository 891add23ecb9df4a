/* Private: the per-module init hooks that sdg_init() calls. This is the one place where core
 * names functions of other modules; each hook disarms the dependency confined to its module. */
#ifndef SDG_CORE_HOOKS_H
#define SDG_CORE_HOOKS_H
void sdg_graph_init_hook(void);   /* igraph: error handler that returns instead of aborting */
void sdg_io_init_hook(void);      /* HDF5: no automatic printing of the error stack         */
#endif
