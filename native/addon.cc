// addon.cc - module entry: per-environment state and the exports lib/binding.ts loads.
#include "addon.h"

namespace drainprof_node {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Freed at environment teardown (main thread or worker), after which
  // ~AddonData frees the C state of every profiler left alive.
  env.SetInstanceData(new AddonData());
  InitProfilerWrap(env, exports);
  InitTestHooks(env, exports);
  exports["napiVersion"] = Napi::Number::New(env, NAPI_VERSION);
  return exports;
}

}  // namespace drainprof_node

static Napi::Object InitDrainprof(Napi::Env env, Napi::Object exports) {
  return drainprof_node::Init(env, exports);
}

NODE_API_MODULE(drainprof, InitDrainprof)
