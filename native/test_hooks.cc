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

}  // namespace

void InitTestHooks(Napi::Env env, Napi::Object exports) {
  Napi::Object hooks = Napi::Object::New(env);
  hooks["closeOnThread"] = Napi::Function::New(env, CloseOnThread, "closeOnThread");
  exports["testHooks"] = hooks;
}

}  // namespace drainprof_node
