// core.h - the one place the glue includes the C core's headers.
#pragma once

#include "drainprof.h"
#include "drainprof_ext.h"

namespace drainprof_node {

// Codes the glue returns to lib/ alongside drainprof_ext_error values (1..9).
// lib/errors.ts maps both to JS error codes; keep them in step.
constexpr int kGlueErrorDestroyed = 100;  // the profiler was destroyed
constexpr int kGlueErrorNoReason = 101;   // the core returned -1 without a reason

// The reason for the calling thread's last failed core call, as lib/ expects it.
inline int LastCoreError() {
  int reason = static_cast<int>(drainprof_ext_last_error());
  return reason == DRAINPROF_EXT_OK ? kGlueErrorNoReason : reason;
}

}  // namespace drainprof_node
