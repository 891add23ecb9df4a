/* sdg_init disarms the dependencies: GSL and igraph return errors instead of aborting, and HDF5
 * prints nothing to stderr. Without sdg_init each of these calls would abort or print. */
#include <fcntl.h>
#include <unistd.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_log.h>
#include <hdf5.h>
#include <igraph.h>
#include "test_util.h"

static void test_gsl_does_not_abort(void) {
    gsl_sf_result res;
    int rc = gsl_sf_log_e(-1.0, &res);   /* domain error: aborts under GSL's default handler */
    CU_ASSERT_EQUAL(rc, GSL_EDOM);
}

static void test_igraph_does_not_abort(void) {
    igraph_t g;
    /* probability 2: an error, which aborts under igraph's default handler */
    igraph_error_t rc = igraph_erdos_renyi_game_gnp(&g, 10, 2.0, IGRAPH_UNDIRECTED, IGRAPH_NO_LOOPS);
    CU_ASSERT_EQUAL(rc, IGRAPH_EINVAL);
    if (rc == IGRAPH_SUCCESS) igraph_destroy(&g);
}

static void test_hdf5_is_silent(void) {
    char path[] = "/tmp/sdegen-stderr-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    hid_t f = H5Fopen("/nonexistent/sdegen-test.h5", H5F_ACC_RDONLY, H5P_DEFAULT);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    CU_ASSERT(f < 0);
    off_t size = lseek(fd, 0, SEEK_END);
    CU_ASSERT_EQUAL(size, 0);             /* HDF5 printed nothing */
    close(fd);
    unlink(path);
}

int main(void) {
    const sdg_test_case cases[] = {
        {"GSL error handler is off", test_gsl_does_not_abort},
        {"igraph error handler does not abort", test_igraph_does_not_abort},
        {"HDF5 prints no error stack", test_hdf5_is_silent},
        {NULL, NULL},
    };
    return sdg_test_main("core/init", cases);
}
