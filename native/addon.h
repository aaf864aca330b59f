// addon.h - the state the glue keeps: one SharedCore per C profiler (shared by
// every environment that uses it), one ProfilerWrap per environment using it
// (a "view"), and one AddonData per environment.
//
//   SharedCore    the drainprof*, its interned site strings and the onPinning
//                 target. Refcounted and thread-safe: each live view holds a
//                 reference, so does every native consumer (native/
//                 export_handle.cc) that Retain()s it; the last Release()
//                 destroys the C profiler.
//   ProfilerWrap  what one JS environment (main thread or a worker) holds: the
//                 reference, the environment's file indices, its foreign
//                 counter slabs, the pinning queue when it created the core.
//                 JS thread only, except where a field says otherwise.
//   AddonData     per environment: its views, the call area the hot path reads
//                 its arguments from, the foreign-slot token counter.
#pragma once

#include <napi.h>

#include <atomic>
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
struct SharedCore;

// ---------------------------------------------------------------------------
// The C++ API for glue that hands a profiler to other code (issue 6's native
// handles build on it). All of it is thread-safe unless it says otherwise.
//
//   SharedCore* core = CoreOf(UnwrapHandle(value));  // JS thread, live view
//   Retain(core);                                    // now it is ours
//   drainprof* prof = Profiler(core);                // any thread, while retained
//   ...
//   Release(core);                                   // any thread; the last one frees
// ---------------------------------------------------------------------------

// Adds a reference to `core` and returns it. The caller must already hold a
// reference (its own, or the view's it got through CoreOf on the JS thread).
SharedCore* Retain(SharedCore* core);

// Drops one reference. The last one destroys the C profiler
// (drainprof_destroy): no call on it may be in flight then, and none may follow
// through this reference. Never throws, never calls into JS.
void Release(SharedCore* core);

// The C profiler; valid while the caller holds a reference.
drainprof* Profiler(SharedCore* core);

// The core a live view refers to, or nullptr once the view was destroyed
// (destroy(), GC or environment teardown). JS thread of the view only; the
// view's own reference lasts until it is destroyed, so Retain() it to keep it.
SharedCore* CoreOf(ProfilerWrap* view);

// The core whose C profiler is `prof`, or nullptr when no core of this addon
// has it. Meaningful only while the caller holds a reference to that core.
SharedCore* FindCore(const drainprof* prof);

// Resolves a handle argument (a type-tagged object createProfiler/openShared
// made), refusing anything else with a TypeError (Napi::Error thrown).
ProfilerWrap* UnwrapHandle(const Napi::Value& value);

// ---------------------------------------------------------------------------

// Plain data crossing to JS in one go: ids and instants as uint64, the rest as
// doubles, and file names the view did not intern itself (see SiteFileIndex).
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

struct SharedCore {
  std::atomic<uint32_t> refs{1};
  drainprof* prof = nullptr;        // set once at creation, destroyed with the last reference
  uint64_t key = 0;                 // in the process-wide registry (share())
  drainprof_config config{};
  uint32_t lifetime_limit = 0;

  // Interned file names: the core borrows `const char*` sites, so they live as
  // long as the C profiler. One copy per distinct name, whichever view asked.
  std::mutex files_mutex;
  std::unordered_map<std::string, std::unique_ptr<char[]>> files;

  // onPinning goes to the view that created the core, while it lives.
  std::mutex pin_mutex;
  ProfilerWrap* pin_view = nullptr;

  bool diagnostic() const { return config.mode == DRAINPROF_DIAGNOSTIC; }
};

// Creates a core (one reference, the caller's) registered for share().
// nullptr with the core's reason in *reason when the C profiler cannot be made.
SharedCore* CreateCore(const drainprof_config& config, uint32_t lifetime_limit, int* reason);

// Takes a reference to the core registered under `key`, or nullptr when it is
// gone (its last reference was released) or never existed.
SharedCore* RetainByKey(uint64_t key);

// Live cores in the process (tests).
uint32_t LiveCoreCount();

struct AddonData;

// A slab of foreign counter slots: a Float64Array over a SharedArrayBuffer that
// lib/ allocated and the view adopted. The reference keeps the buffer alive
// (a SharedArrayBuffer can be neither detached nor shrunk) until every slot of
// it is detached.
struct Slab {
  napi_ref ref = nullptr;
  drainprof_ext_foreign_slot* slots = nullptr;
  uint32_t count = 0;
};

// One environment's view of a core. Reachable from JS through a type-tagged
// handle object and the functions bound to it; freed when all of them are
// collected and the pinning queue has finished (the queue may outlive a
// destroyed view to deliver reports it already holds).
struct ProfilerWrap {
  AddonData* addon = nullptr;       // null once the environment is torn down
  SharedCore* core = nullptr;       // null once destroyed (reference released)
  drainprof* prof = nullptr;        // core->prof for the hot path; null once destroyed
  bool diagnostic = false;
  uint32_t index = 0;               // in addon->views: the hot path's view number

  // This view's file indices (lib/'s SiteTable numbers) -> interned names.
  std::vector<const char*> files;
  // Name -> index, for turning sites in reports back into lib/'s indices.
  // Read from whatever thread closes a granule (onPinning), hence the mutex.
  std::mutex file_index_mutex;
  std::unordered_map<const char*, int32_t> file_index;

  // Foreign counter slots of this environment (granule handles).
  std::vector<Slab> slabs;

  // onPinning delivery (the creating view of a callback-mode core only).
  PinQueue queue;
  bool queue_open = false;          // not yet released
  bool queue_alive = false;         // not yet finalized
  Napi::ObjectReference state;      // lib/'s per-profiler delivery state, weak while in use
  std::thread::id js_thread;        // the thread of the environment that created it

  uint32_t js_refs = 0;             // the handle + each bound function
};

// Per-environment state (main thread and every worker has its own). Owned by
// the environment through napi_set_instance_data. An environment cleanup hook
// ends every view still alive (detaching its foreign slots, releasing its core
// reference) before the environment's references and buffers go; the wraps
// stay allocated for their GC finalizers.
struct AddonData {
  napi_env env = nullptr;
  std::unordered_set<ProfilerWrap*> live;
  std::vector<ProfilerWrap*> views;  // index -> view (nullptr: free index)
  std::vector<uint32_t> free_views;
  bool torn_down = false;

  // The call area: a Float64Array over a SharedArrayBuffer lib/ allocated.
  // The hot path reads its arguments from it and writes failures to it, so a
  // call needs no napi_get_cb_info and no value conversion.
  //   [0] view index  [1] granule id (a number)  [2] result
  //   diagnostic registrations also: [3] alloc id  [4] size  [5] file index
  //   (-1: no site)  [6] line  [7] column
  napi_ref call_ref = nullptr;
  double* call = nullptr;

  // Tokens of foreign slot attachments: unique in this environment.
  double next_token = 1;

  ~AddonData();
};

// Indices into the call area.
constexpr int kCallView = 0;
constexpr int kCallId = 1;
constexpr int kCallResult = 2;
constexpr int kCallAlloc = 3;
constexpr int kCallSize = 4;
constexpr int kCallFile = 5;
constexpr int kCallLine = 6;
constexpr int kCallColumn = 7;
constexpr size_t kCallLength = 8;

// Ends a view: detaches its foreign slots (their counts are folded into the
// core), stops onPinning delivery to it, releases its core reference. The pin
// queue is released too; `keep_state`: hold lib/'s delivery state until the
// queue has delivered what it holds (explicit destroy), not possible from a GC
// finalizer or at teardown. Idempotent.
void DestroyView(ProfilerWrap* wrap, bool keep_state);

// Detaches every foreign slot of the view (foreign_slots.cc), folding their
// counts into the core. `unref`: also drop the slab references (not at
// environment teardown, where the environment drops them itself).
void DetachSlabs(ProfilerWrap* wrap, bool unref);

// Drops one JS reference (handle or bound function); frees the wrap at zero.
void ReleaseJsRef(ProfilerWrap* wrap);

// Frees the wrap when nothing refers to it any more.
void MaybeDeleteWrap(ProfilerWrap* wrap);

// Index of a site's file for lib/: >= 0 interned by this view, -1 no site,
// <= -2 the name is in packed.extra_files[-2 - index].
double SiteFileIndex(ProfilerWrap* wrap, const char* file, Packed& packed);

void PackReport(ProfilerWrap* wrap, const drainprof_pinning_report& report, Packed& packed);
Napi::Value PackedToJs(Napi::Env env, Packed& packed);

// Registers the environment cleanup hook (TeardownEnvironment).
void InitAddonData(Napi::Env env, AddonData* addon);
void InitProfilerWrap(Napi::Env env, Napi::Object exports);
void InitHotPath(Napi::Env env, Napi::Object exports);
void InitForeignSlots(Napi::Env env, Napi::Object exports);
void InitTestHooks(Napi::Env env, Napi::Object exports);
void OnPinning(const drainprof_pinning_report* report, void* user_data);

// The environment's AddonData, cached per thread: one TLS compare instead of a
// napi_get_instance_data call on the hot path.
AddonData* AddonOf(napi_env env);
// Forgets the cache when `env` goes away.
void ForgetAddon(napi_env env);

// Bound hot-path functions (raw N-API, see hot_path.cc): the general forms,
// with arguments; lib/ uses them for bigint ids and diagnostic registers.
napi_value HotGranuleOpen(napi_env env, napi_callback_info info);
napi_value HotGranuleClose(napi_env env, napi_callback_info info);
napi_value HotAllocRegister(napi_env env, napi_callback_info info);
napi_value HotAllocRegisterSite(napi_env env, napi_callback_info info);
napi_value HotAllocDeregister(napi_env env, napi_callback_info info);

}  // namespace drainprof_node
