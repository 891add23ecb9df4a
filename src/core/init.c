/* sdg_init: disarm every dependency's aborting or printing default; threads; version. */
#include <pthread.h>
#include <gsl/gsl_errno.h>
#include <omp.h>
#include "core/hooks.h"
#include "sdegen/core.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_all(void) {
    gsl_set_error_handler_off();
    sdg_graph_init_hook();
    sdg_io_init_hook();
}

sdg_status sdg_init(void) {
    pthread_once(&init_once, init_all);
    return SDG_OK;
}

const char *sdg_version(void) { return SDG_VERSION_STRING; }

int sdg_num_threads(void) { return omp_get_max_threads(); }

void sdg_set_num_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
}
