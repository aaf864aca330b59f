/* Forwards to libdrainprof's own drainprof_ext.h, so that this directory holds every
 * header a dependent addon includes (require('drainprof/native').include_dir). */
#include "../../../vendor/libdrainprof/include/drainprof_ext.h"
