// export_handle.cc - profiler.nativeHandle(): a live profiler for another addon.
//
// The handle is a JS object type-tagged with drainprof_node_handle_tag and
// wrapping a drainprof_node_handle (consumer/include/drainprof_node.h): magic,
// ABI version, our table of libdrainprof's functions, and the profiler's core.
// The other addon turns it into a `drainprof *` with drainprof_node_acquire(),
// which calls AcquireFromHandle() below through the table; its shim then forwards every
// drainprof.h call through the same table, into this addon's one copy of the
// C core.
#include <mutex>
#include <new>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "addon.h"
#include "consumer/include/drainprof_node.h"

namespace drainprof_node {

namespace {

struct ExportedHandle {
  drainprof_node_handle pub;  // first: the address drainprof_node_acquire() unwraps
  ProfilerWrap* wrap;         // the view; kept allocated (a JS reference) while the handle lives
};
static_assert(std::is_standard_layout<ExportedHandle>::value, "pub must sit at offset 0");

// References other addons hold, and profilers they created through the table.
// Process-wide rather than per environment: a dependent addon may release
// from any thread, also after the environment that handed the profiler out
// was torn down. Never destroyed: addon threads may still release while
// static destructors run at exit.
struct Hold {
  SharedCore* core;
  uint64_t references;
};

struct NativeHolds {
  std::mutex mutex;
  std::unordered_map<drainprof*, Hold> held;  // acquired profilers
  std::unordered_set<drainprof*> owned;       // made by drainprof_create*() in an addon
};

NativeHolds& Holds() {
  static NativeHolds* holds = new NativeHolds();
  return *holds;
}

drainprof* AcquireFromHandle(const drainprof_node_handle* handle, const char** why) {
  // Only ever reached through our own table, with a handle whose tag and
  // magic drainprof_node_acquire() checked; so it is an ExportedHandle, and
  // this is the JS thread of its view.
  const ExportedHandle* exported = reinterpret_cast<const ExportedHandle*>(handle);
  SharedCore* core = CoreOf(exported->wrap);
  if (core == nullptr) {
    *why = "the Profiler behind this drainprof native handle was destroyed";
    return nullptr;
  }
  drainprof* prof = Profiler(core);
  {
    NativeHolds& holds = Holds();
    std::lock_guard<std::mutex> lock(holds.mutex);
    try {
      Hold& hold = holds.held.try_emplace(prof, Hold{core, 0}).first->second;
      hold.references++;
    } catch (const std::bad_alloc&) {
      *why = "out of memory";
      return nullptr;
    }
  }
  Retain(core);  // the view holds one meanwhile: safe on its JS thread
  return prof;
}

void ReleaseHold(drainprof* prof) {
  SharedCore* core = nullptr;
  {
    NativeHolds& holds = Holds();
    std::lock_guard<std::mutex> lock(holds.mutex);
    auto it = holds.held.find(prof);
    if (it == holds.held.end()) return;  // not held: ignored, as drainprof_node.h says
    core = it->second.core;
    if (--it->second.references == 0) holds.held.erase(it);
  }
  Release(core);  // the last reference frees the C profiler, on this thread
}

drainprof* Owned(drainprof* prof) {
  if (prof == nullptr) return nullptr;
  NativeHolds& holds = Holds();
  std::lock_guard<std::mutex> lock(holds.mutex);
  try {
    holds.owned.insert(prof);
  } catch (const std::bad_alloc&) {
    drainprof_destroy(prof);
    return nullptr;
  }
  return prof;
}

drainprof* Create() { return Owned(drainprof_create()); }

drainprof* CreateWithConfig(const drainprof_config* config) {
  return Owned(drainprof_create_with_config(config));
}

// Frees only profilers an addon created itself: a shared one is refused, so
// 0.1 code that ends with drainprof_destroy() cannot pull it from under JS.
void Destroy(drainprof* prof) {
  {
    NativeHolds& holds = Holds();
    std::lock_guard<std::mutex> lock(holds.mutex);
    if (holds.owned.erase(prof) == 0) return;
  }
  drainprof_destroy(prof);
}

const drainprof_node_api* Api() {
  static const drainprof_node_api api = [] {
    drainprof_node_api t{};
    t.abi_version = DRAINPROF_NODE_ABI_VERSION;
    t.size = sizeof(drainprof_node_api);
    t.acquire = AcquireFromHandle;
    t.release = ReleaseHold;
    t.config_default = drainprof_config_default;
    t.create = Create;
    t.create_with_config = CreateWithConfig;
    t.destroy = Destroy;
    t.granule_open = drainprof_granule_open;
    t.granule_close = drainprof_granule_close;
    t.alloc_register = drainprof_alloc_register;
    t.alloc_register_located = drainprof_alloc_register_located;
    t.alloc_deregister = drainprof_alloc_deregister;
    t.snapshot = drainprof_snapshot;
    t.reset = drainprof_reset;
    t.sweep = drainprof_sweep;
    t.drain_reports = drainprof_drain_reports;
    t.pinning_report_free = drainprof_pinning_report_free;
    t.diagnostic_summary_compute = drainprof_diagnostic_summary_compute;
    t.diagnostic_summary_free = drainprof_diagnostic_summary_free;
    t.ext_last_error = drainprof_ext_last_error;
    t.ext_error_name = drainprof_ext_error_name;
    t.ext_get_config = drainprof_ext_get_config;
    t.ext_granule_live = drainprof_ext_granule_live;
    t.ext_snapshot = drainprof_ext_snapshot;
    t.ext_alloc_register_site = drainprof_ext_alloc_register_site;
    t.ext_classify = drainprof_ext_classify;
    t.ext_class_name = drainprof_ext_class_name;
    t.ext_set_lifetime_limit = drainprof_ext_set_lifetime_limit;
    t.ext_lifetime_records = drainprof_ext_lifetime_records;
    t.ext_summary_compute = drainprof_ext_summary_compute;
    t.ext_summary_free = drainprof_ext_summary_free;
    t.ext_format_metrics = drainprof_ext_format_metrics;
    t.ext_format_report = drainprof_ext_format_report;
    t.ext_foreign_attach = drainprof_ext_foreign_attach;
    t.ext_foreign_detach = drainprof_ext_foreign_detach;
    t.ext_foreign_refused = drainprof_ext_foreign_refused;
    t.ext_alloc_count = drainprof_ext_alloc_count;
    t.ext_foreign_fold = drainprof_ext_foreign_fold;
    return t;
  }();
  return &api;
}

// exportHandle(handle) -> a native handle object | -reason
Napi::Value ExportHandle(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  SharedCore* core = CoreOf(wrap);
  if (core == nullptr) return Napi::Number::New(env, -kGlueErrorDestroyed);
  auto exported = std::make_unique<ExportedHandle>();
  exported->pub.magic = DRAINPROF_NODE_HANDLE_MAGIC;
  exported->pub.abi_version = DRAINPROF_NODE_ABI_VERSION;
  exported->pub.ext_version = DRAINPROF_EXT_VERSION;
  exported->pub.api = Api();
  exported->pub.core = core;
  exported->wrap = wrap;
  Napi::Object object = Napi::Object::New(env);
  object.TypeTag(&drainprof_node_handle_tag);
  NAPI_THROW_IF_FAILED(env,
                       napi_wrap(env, object, exported.get(),
                                 [](napi_env, void* data, void*) {
                                   auto* e = static_cast<ExportedHandle*>(data);
                                   ProfilerWrap* w = e->wrap;
                                   delete e;
                                   ReleaseJsRef(w);
                                 },
                                 nullptr, nullptr),
                       Napi::Value());
  exported.release();
  wrap->js_refs++;
  return object;
}

}  // namespace

void InitExportHandle(Napi::Env env, Napi::Object exports) {
  exports["exportHandle"] = Napi::Function::New(env, ExportHandle, "exportHandle");
}

}  // namespace drainprof_node
