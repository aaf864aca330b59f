// addon.cc - module entry: per-environment state and the exports lib/binding.ts loads.
#include "addon.h"
#include "export_handle.h"

namespace drainprof_node {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Freed at environment teardown (main thread or worker); a cleanup hook
  // ends every view left alive before that (see TeardownEnvironment).
  AddonData* addon = new AddonData();
  env.SetInstanceData(addon);
  InitAddonData(env, addon);
  InitProfilerWrap(env, exports);
  InitHotPath(env, exports);
  InitForeignSlots(env, exports);
  InitTestHooks(env, exports);
  InitExportHandle(env, exports);
  exports["napiVersion"] = Napi::Number::New(env, NAPI_VERSION);
  return exports;
}

}  // namespace drainprof_node

static Napi::Object InitDrainprof(Napi::Env env, Napi::Object exports) {
  return drainprof_node::Init(env, exports);
}

NODE_API_MODULE(drainprof, InitDrainprof)
