// consumer_cc.cc - the consumer header and DRAINPROF_ALLOC_REGISTER compile as C++ too.
#include <drainprof_node.h>

extern "C" int consumer_cc_register(drainprof* prof, drainprof_granule_id granule, drainprof_alloc_id alloc) {
  return DRAINPROF_ALLOC_REGISTER(prof, granule, alloc, 32);
}
