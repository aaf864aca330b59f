// test_hooks.cc - helpers for the test suite and the bench only; lib/ never
// exposes them.
#include <time.h>

#include <thread>
#include <vector>

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

// countOnThreads(handle, granuleId, threads, registers, deregisters) -> calls
// that failed: each of `threads` fresh native threads (all alive at once)
// makes `registers` allocRegister then `deregisters` allocDeregister calls on
// the granule, with distinct alloc ids; joined before returning.
Napi::Value CountOnThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  uint64_t id, threads, registers, deregisters;
  if (!ToUint64(env, info[1], &id) || !ToUint64(env, info[2], &threads) || !ToUint64(env, info[3], &registers) ||
      !ToUint64(env, info[4], &deregisters) || threads > 256) {
    throw Napi::TypeError::New(env, "countOnThreads(handle, granuleId, threads, registers, deregisters)");
  }
  if (wrap->prof == nullptr) return Napi::Number::New(env, -kGlueErrorDestroyed);
  drainprof* prof = wrap->prof;
  std::vector<uint64_t> failed(threads, 0);
  std::vector<std::thread> pool;
  for (uint64_t t = 0; t < threads; t++) {
    pool.emplace_back([=, &failed] {
      uint64_t base = t << 40;
      for (uint64_t i = 0; i < registers; i++) failed[t] += drainprof_alloc_register(prof, id, base + i, 8) != 0;
      for (uint64_t i = 0; i < deregisters; i++) failed[t] += drainprof_alloc_deregister(prof, id, base + i) != 0;
    });
  }
  uint64_t total = 0;
  for (uint64_t t = 0; t < threads; t++) {
    pool[t].join();
    total += failed[t];
  }
  return Napi::Number::New(env, static_cast<double>(total));
}

uint64_t NowNs() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000000000u + static_cast<uint64_t>(t.tv_nsec);
}

// cLoop(handle, op, granuleId, n) -> ns the C loop took, on this thread:
//   op 0: n drainprof_alloc_register calls     op 1: n deregister calls
//   op 2: n granule_open + granule_close pairs  op 3: n register + deregister pairs
// The bench's reference for the same operations made from JS.
Napi::Value CLoop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  uint64_t op, id, n;
  if (!ToUint64(env, info[1], &op) || !ToUint64(env, info[2], &id) || !ToUint64(env, info[3], &n) || op > 3) {
    throw Napi::TypeError::New(env, "cLoop(handle, op, granuleId, n)");
  }
  if (wrap->prof == nullptr) return Napi::Number::New(env, -kGlueErrorDestroyed);
  drainprof* prof = wrap->prof;
  int failed = 0;
  uint64_t t0 = NowNs();
  switch (op) {
    case 0:
      for (uint64_t i = 0; i < n; i++) failed |= drainprof_alloc_register(prof, id, i, 64);
      break;
    case 1:
      for (uint64_t i = 0; i < n; i++) failed |= drainprof_alloc_deregister(prof, id, i);
      break;
    case 2:
      for (uint64_t i = 0; i < n; i++) {
        failed |= drainprof_granule_open(prof, id);
        failed |= drainprof_granule_close(prof, id) < 0;
      }
      break;
    default:
      for (uint64_t i = 0; i < n; i++) {
        failed |= drainprof_alloc_register(prof, id, i, 64);
        failed |= drainprof_alloc_deregister(prof, id, i);
      }
      break;
  }
  uint64_t t1 = NowNs();
  if (failed) throw Napi::Error::New(env, "cLoop: a core call failed (is the granule open?)");
  return Napi::Number::New(env, static_cast<double>(t1 - t0));
}

// An N-API function that does nothing: the floor of a crossing, for the bench.
napi_value Empty(napi_env, napi_callback_info) { return nullptr; }

}  // namespace

void InitTestHooks(Napi::Env env, Napi::Object exports) {
  Napi::Object hooks = Napi::Object::New(env);
  hooks["closeOnThread"] = Napi::Function::New(env, CloseOnThread, "closeOnThread");
  hooks["liveProfilers"] = Napi::Function::New(env, LiveProfilers, "liveProfilers");
  hooks["liveCores"] = Napi::Function::New(env, LiveCores, "liveCores");
  hooks["countOnThreads"] = Napi::Function::New(env, CountOnThreads, "countOnThreads");
  hooks["cLoop"] = Napi::Function::New(env, CLoop, "cLoop");
  napi_value empty;
  NAPI_THROW_IF_FAILED_VOID(env, napi_create_function(env, "empty", NAPI_AUTO_LENGTH, Empty, nullptr, &empty));
  hooks["empty"] = Napi::Value(env, empty);
  exports["testHooks"] = hooks;
}

}  // namespace drainprof_node
