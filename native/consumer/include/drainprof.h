/* Forwards to libdrainprof's own drainprof.h, so that this directory holds every
 * header a dependent addon includes (require('drainprof/native').include_dir). */
#include "../../../vendor/libdrainprof/include/drainprof.h"
