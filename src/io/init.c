/* HDF5 is confined to this module; sdg_init() calls this hook to stop it printing. */
#include <hdf5.h>
#include "core/hooks.h"

void sdg_io_init_hook(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
