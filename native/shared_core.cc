// shared_core.cc - the refcounted core behind every view, and the process-wide
// registry share() hands out keys of.
//
// Why a process-wide table: a core is shared by several environments (main
// thread, workers) by nature, so no per-environment state can name it. A
// token that carried the core's address would let a forged or late token
// reach freed memory; a key never reused (a 64-bit counter) is looked up under
// the registry mutex instead, and a core whose last reference is gone is no
// longer found. The registry holds no reference: a token does not keep a
// profiler alive, a view does.
#include <cstring>

#include "addon.h"

namespace drainprof_node {

namespace {

struct Registry {
  std::mutex mutex;
  std::unordered_map<uint64_t, SharedCore*> by_key;
  std::unordered_map<const drainprof*, SharedCore*> by_prof;
  uint64_t next_key = 1;
};

// Never destroyed: cores may be released from any thread, also while the
// process exits and static destructors run.
Registry& registry() {
  static Registry* r = new Registry();
  return *r;
}

void FreeCore(SharedCore* core) {
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.by_key.erase(core->key);
    r.by_prof.erase(core->prof);
  }
  // No view refers to it and no consumer holds it: no call is in flight and
  // no callback can run after this returns.
  drainprof_destroy(core->prof);
  delete core;
}

}  // namespace

SharedCore* CreateCore(const drainprof_config& config, uint32_t lifetime_limit, int* reason) {
  auto core = std::make_unique<SharedCore>();
  core->config = config;
  if (config.on_pinning != nullptr) core->config.callback_user_data = core.get();
  drainprof* prof = drainprof_create_with_config(&core->config);
  if (prof == nullptr) {
    *reason = LastCoreError();
    return nullptr;
  }
  if (drainprof_ext_set_lifetime_limit(prof, lifetime_limit) != 0) {
    *reason = LastCoreError();
    drainprof_destroy(prof);
    return nullptr;
  }
  core->prof = prof;
  core->lifetime_limit = lifetime_limit;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  core->key = r.next_key++;
  r.by_key.emplace(core->key, core.get());
  r.by_prof.emplace(prof, core.get());
  return core.release();
}

SharedCore* Retain(SharedCore* core) {
  core->refs.fetch_add(1, std::memory_order_relaxed);
  return core;
}

void Release(SharedCore* core) {
  // acq_rel: everything done through other references happens before the free.
  if (core->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) FreeCore(core);
}

drainprof* Profiler(SharedCore* core) { return core->prof; }

SharedCore* CoreOf(ProfilerWrap* view) { return view->core; }

SharedCore* FindCore(const drainprof* prof) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto found = r.by_prof.find(prof);
  return found == r.by_prof.end() ? nullptr : found->second;
}

SharedCore* RetainByKey(uint64_t key) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto found = r.by_key.find(key);
  if (found == r.by_key.end()) return nullptr;
  SharedCore* core = found->second;
  // A core whose count reached zero is being freed (FreeCore waits for this
  // mutex to unregister it): it must not come back to life.
  uint32_t refs = core->refs.load(std::memory_order_relaxed);
  do {
    if (refs == 0) return nullptr;
  } while (!core->refs.compare_exchange_weak(refs, refs + 1, std::memory_order_relaxed));
  return core;
}

uint32_t LiveCoreCount() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return static_cast<uint32_t>(r.by_key.size());
}

// ---------------------------------------------------------------- AddonOf

namespace {

// initial-exec: a plain %fs-relative load (the C core's thread slots do the
// same); the addon is loaded with dlopen, where the default model would call
// __tls_get_addr.
thread_local napi_env tl_env __attribute__((tls_model("initial-exec"))) = nullptr;
thread_local AddonData* tl_addon __attribute__((tls_model("initial-exec"))) = nullptr;

}  // namespace

AddonData* AddonOf(napi_env env) {
  if (__builtin_expect(env == tl_env, 1)) return tl_addon;
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok) return nullptr;
  tl_env = env;
  tl_addon = static_cast<AddonData*>(data);
  return tl_addon;
}

void ForgetAddon(napi_env env) {
  if (tl_env == env) {
    tl_env = nullptr;
    tl_addon = nullptr;
  }
}

}  // namespace drainprof_node
