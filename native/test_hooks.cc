// test_hooks.cc - helpers for the test suite only; lib/ never exposes them.
#include <thread>

#include "addon.h"
#include "convert.h"

namespace drainprof_node {

namespace {

// closeOnThread(handle, granuleId) -> what granuleClose returns, but the close
// runs on a fresh native thread (joined before returning), so onPinning fires
// from a thread that is not the JS thread.
Napi::Value CloseOnThread(const Napi::CallbackInfo& info) {
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  uint64_t id;
  if (!ToUint64(info.Env(), info[1], &id)) throw Napi::TypeError::New(info.Env(), "granule id");
  if (wrap->prof == nullptr) return Napi::Number::New(info.Env(), -kGlueErrorDestroyed);
  int result = 0;
  std::thread closer([&] {
    int r = drainprof_granule_close(wrap->prof, id);
    result = r >= 0 ? r : -LastCoreError();
  });
  closer.join();
  return Napi::Number::New(info.Env(), result);
}

// liveProfilers() -> [wraps, views]: views of this environment whose glue
// state is still allocated, and those not destroyed yet.
Napi::Value LiveProfilers(const Napi::CallbackInfo& info) {
  AddonData* addon = info.Env().GetInstanceData<AddonData>();
  uint32_t cores = 0;
  for (ProfilerWrap* wrap : addon->live) cores += wrap->prof != nullptr;
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out[0u] = Napi::Number::New(info.Env(), static_cast<double>(addon->live.size()));
  out[1u] = Napi::Number::New(info.Env(), cores);
  return out;
}

// liveCores() -> C profilers alive in the process (all environments).
Napi::Value LiveCores(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), LiveCoreCount());
}

}  // namespace

void InitTestHooks(Napi::Env env, Napi::Object exports) {
  Napi::Object hooks = Napi::Object::New(env);
  hooks["closeOnThread"] = Napi::Function::New(env, CloseOnThread, "closeOnThread");
  hooks["liveProfilers"] = Napi::Function::New(env, LiveProfilers, "liveProfilers");
  hooks["liveCores"] = Napi::Function::New(env, LiveCores, "liveCores");
  exports["testHooks"] = hooks;
}

}  // namespace drainprof_node
