// addon.h - the state the glue keeps per Node environment and per profiler.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core.h"

namespace drainprof_node {

struct ProfilerWrap;

// Plain data crossing to JS in one go: ids and instants as uint64, the rest as
// doubles, and file names the glue did not intern itself (see SiteFileIndex).
struct Packed {
  std::vector<uint64_t> u64;
  std::vector<double> f64;
  std::vector<std::string> extra_files;
  // onPinning only: the report was queued on the JS thread, which took a
  // strong reference to lib/'s delivery state for it (see OnPinning).
  bool holds_state_ref = false;
};

void DeliverPinning(Napi::Env env, Napi::Function deliver, ProfilerWrap* wrap, Packed* packed);
using PinQueue = Napi::TypedThreadSafeFunction<ProfilerWrap, Packed, DeliverPinning>;

// Per-environment state (main thread and every worker has its own). Owned by
// the environment through napi_set_instance_data; its destructor runs at
// environment teardown and frees the C state of every profiler still alive,
// whichever of it and the profilers' GC finalizers comes first.
struct AddonData {
  std::unordered_set<ProfilerWrap*> live;
  ~AddonData();
};

// One profiler. Reachable from JS through a type-tagged handle object and the
// hot-path functions bound to it; freed when all of them are collected and the
// pinning queue has finished (the queue may outlive a destroyed profiler to
// deliver reports it already holds).
struct ProfilerWrap {
  AddonData* addon = nullptr;       // null once the environment is torn down
  drainprof* prof = nullptr;        // null once destroyed
  bool diagnostic = false;
  uint32_t lifetime_limit = 0;

  // Interned file names: the core borrows `const char*` sites, so they must
  // outlive the C profiler. Written and read on the JS thread only.
  std::vector<std::unique_ptr<char[]>> files;
  // Pointer -> index, for turning sites in reports back into lib/'s indices.
  // Read from whatever thread closes a granule, hence the mutex.
  std::mutex file_index_mutex;
  std::unordered_map<const char*, int32_t> file_index;

  // onPinning delivery (diagnostic mode with a callback only).
  PinQueue queue;
  bool queue_open = false;          // not yet released
  bool queue_alive = false;         // not yet finalized
  Napi::ObjectReference state;      // lib/'s per-profiler delivery state, weak while in use
  std::thread::id js_thread;        // the thread of the environment that created it

  uint32_t js_refs = 0;             // the handle + each bound function
};

// Frees the C profiler and its interned files, releases the pinning queue.
// Idempotent. `keep_state`: hold lib/'s delivery state until the queue has
// delivered what it holds (explicit destroy); not possible from a GC finalizer.
void DestroyCore(ProfilerWrap* wrap, bool keep_state);

// Drops one JS reference (handle or bound function); frees the wrap at zero.
void ReleaseJsRef(ProfilerWrap* wrap);

// Frees the wrap when nothing refers to it any more.
void MaybeDeleteWrap(ProfilerWrap* wrap);

// Resolves a handle argument, refusing anything that is not one of ours.
ProfilerWrap* UnwrapHandle(const Napi::Value& value);

// Index of a site's file for lib/: >= 0 interned by lib/, -1 no site,
// <= -2 the name is in packed.extra_files[-2 - index].
double SiteFileIndex(ProfilerWrap* wrap, const char* file, Packed& packed);

void PackReport(ProfilerWrap* wrap, const drainprof_pinning_report& report, Packed& packed);
Napi::Value PackedToJs(Napi::Env env, Packed& packed);

void InitProfilerWrap(Napi::Env env, Napi::Object exports);
void InitTestHooks(Napi::Env env, Napi::Object exports);
void OnPinning(const drainprof_pinning_report* report, void* user_data);

// Bound hot-path functions (raw N-API, see hot_path.cc).
napi_value HotGranuleOpen(napi_env env, napi_callback_info info);
napi_value HotGranuleClose(napi_env env, napi_callback_info info);
napi_value HotAllocRegister(napi_env env, napi_callback_info info);
napi_value HotAllocRegisterSite(napi_env env, napi_callback_info info);
napi_value HotAllocDeregister(napi_env env, napi_callback_info info);

}  // namespace drainprof_node
