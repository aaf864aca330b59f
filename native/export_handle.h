// export_handle.h - profiler.nativeHandle() (export_handle.cc).
#pragma once

#include <napi.h>

namespace drainprof_node {

// Adds exportHandle(handle) to the addon's exports.
void InitExportHandle(Napi::Env env, Napi::Object exports);

}  // namespace drainprof_node
