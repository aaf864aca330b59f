// hot_path.cc - granuleOpen/Close and allocRegister/Deregister, one call each
// or many in one batch.
//
// The call-area functions (hotOpen, hotClose, hotRegister, hotDeregister)
// are what lib/ calls for number ids: an empty N-API call costs ~8 ns here,
// napi_get_cb_info ~3 ns more and each napi_get_value_double ~4 ns, so they
// take no arguments at all. lib/ writes the view number and the id into the
// environment's call area (a Float64Array over a SharedArrayBuffer, see
// AddonData) and calls; the function finds the environment's AddonData
// through a thread-local cache, reads the two doubles, checks them (lib/ has
// checked them already; a direct caller must not make us read garbage) and
// calls the core. Success returns undefined without creating a value;
// failures and close outcomes go back through the call area.
//
// The bound functions are created once per view with the ProfilerWrap as
// their data pointer: the general form with arguments, for bigint ids and
// diagnostic registers (which carry an alloc id, a size and a site). They
// return a small integer (>= 0 the core's result, < 0 minus the reason) and
// let lib/ build the error, so no JS object is created on any path.
#include <cmath>

#include "addon.h"
#include "convert.h"

namespace drainprof_node {

namespace {

inline napi_value Result(napi_env env, int32_t value) {
  napi_value out;
  napi_create_int32(env, value, &out);
  return out;
}

inline int32_t Outcome(int core_result) {
  return core_result >= 0 ? core_result : -LastCoreError();
}

template <size_t N>
inline ProfilerWrap* Args(napi_env env, napi_callback_info info, napi_value (&argv)[N]) {
  size_t argc = N;
  void* data = nullptr;
  napi_get_cb_info(env, info, &argc, argv, nullptr, &data);
  return static_cast<ProfilerWrap*>(data);
}

}  // namespace

napi_value HotGranuleOpen(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  ProfilerWrap* wrap = Args(env, info, argv);
  uint64_t id;
  if (!ToUint64(env, argv[0], &id)) return ThrowBadArgument(env, "granule id must be a uint64");
  if (wrap->prof == nullptr) return Result(env, -kGlueErrorDestroyed);
  return Result(env, Outcome(drainprof_granule_open(wrap->prof, id)));
}

napi_value HotGranuleClose(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  ProfilerWrap* wrap = Args(env, info, argv);
  uint64_t id;
  if (!ToUint64(env, argv[0], &id)) return ThrowBadArgument(env, "granule id must be a uint64");
  if (wrap->prof == nullptr) return Result(env, -kGlueErrorDestroyed);
  return Result(env, Outcome(drainprof_granule_close(wrap->prof, id)));
}

napi_value HotAllocRegister(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  ProfilerWrap* wrap = Args(env, info, argv);
  uint64_t granule, alloc;
  size_t size;
  if (!ToUint64(env, argv[0], &granule) || !ToUint64(env, argv[1], &alloc) ||
      !ToSize(env, argv[2], &size)) {
    return ThrowBadArgument(env, "allocRegister(granule, alloc, size) takes uint64 values");
  }
  if (wrap->prof == nullptr) return Result(env, -kGlueErrorDestroyed);
  return Result(env, Outcome(drainprof_alloc_register(wrap->prof, granule, alloc, size)));
}

// (granule, alloc, size, fileIndex, line, column): fileIndex names a file
// interned with intern(); line and column are 1-based, 0 = unknown.
napi_value HotAllocRegisterSite(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  ProfilerWrap* wrap = Args(env, info, argv);
  uint64_t granule, alloc;
  size_t size;
  uint32_t file, line, column;
  if (!ToUint64(env, argv[0], &granule) || !ToUint64(env, argv[1], &alloc) ||
      !ToSize(env, argv[2], &size) || !ToUint32(env, argv[3], &file) ||
      !ToUint32(env, argv[4], &line) || !ToUint32(env, argv[5], &column)) {
    return ThrowBadArgument(env, "allocRegisterSite takes uint64 ids and uint32 site fields");
  }
  if (wrap->prof == nullptr) return Result(env, -kGlueErrorDestroyed);
  if (file >= wrap->files.size()) return ThrowBadArgument(env, "file index was not interned");
  drainprof_alloc_site site{wrap->files[file], line, column};
  return Result(env, Outcome(drainprof_ext_alloc_register_site(wrap->prof, granule, alloc, size, &site)));
}

napi_value HotAllocDeregister(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  ProfilerWrap* wrap = Args(env, info, argv);
  uint64_t granule, alloc;
  if (!ToUint64(env, argv[0], &granule) || !ToUint64(env, argv[1], &alloc)) {
    return ThrowBadArgument(env, "allocDeregister(granule, alloc) takes uint64 values");
  }
  if (wrap->prof == nullptr) return Result(env, -kGlueErrorDestroyed);
  return Result(env, Outcome(drainprof_alloc_deregister(wrap->prof, granule, alloc)));
}

// ------------------------------------------------------------ call area

namespace {

// A view number and a number id from the call area, or nullptr after
// throwing for a caller that did not go through lib/.
inline ProfilerWrap* CallArgs(napi_env env, AddonData* addon, uint64_t* id) {
  if (addon == nullptr || addon->call == nullptr) {
    ThrowBadArgument(env, "the call area was not adopted");
    return nullptr;
  }
  const double view = addon->call[kCallView];
  const double number = addon->call[kCallId];
  ProfilerWrap* wrap = view >= 0 && view < static_cast<double>(addon->views.size())
                           ? addon->views[static_cast<size_t>(view)]
                           : nullptr;
  if (wrap == nullptr || !(number >= 0 && number < kTwoTo64)) {
    ThrowBadArgument(env, "the call area does not name a view and a uint64 id");
    return nullptr;
  }
  *id = static_cast<uint64_t>(number);
  return wrap;
}

// Stores minus the reason; returns null, which lib/ tells from undefined.
inline napi_value CallFailed(napi_env env, AddonData* addon, int reason) {
  addon->call[kCallResult] = -reason;
  napi_value out;
  napi_get_null(env, &out);
  return out;
}

napi_value HotOpen(napi_env env, napi_callback_info) {
  AddonData* addon = AddonOf(env);
  uint64_t id;
  ProfilerWrap* wrap = CallArgs(env, addon, &id);
  if (wrap == nullptr) return nullptr;
  if (wrap->prof == nullptr) return CallFailed(env, addon, kGlueErrorDestroyed);
  if (drainprof_granule_open(wrap->prof, id) == 0) return nullptr;
  return CallFailed(env, addon, LastCoreError());
}

// Always answers through the call area: 1 drainable, 0 pinned, < 0 -reason.
napi_value HotClose(napi_env env, napi_callback_info) {
  AddonData* addon = AddonOf(env);
  uint64_t id;
  ProfilerWrap* wrap = CallArgs(env, addon, &id);
  if (wrap == nullptr) return nullptr;
  if (wrap->prof == nullptr) {
    addon->call[kCallResult] = -kGlueErrorDestroyed;
    return nullptr;
  }
  addon->call[kCallResult] = Outcome(drainprof_granule_close(wrap->prof, id));
  return nullptr;
}

inline bool CallUint64(const double* call, int at, uint64_t* out) {
  const double v = call[at];
  if (!(v >= 0 && v < kTwoTo64)) return false;
  *out = static_cast<uint64_t>(v);
  return true;
}

inline bool CallUint32(const double* call, int at, uint32_t* out) {
  const double v = call[at];
  if (!(v >= 0 && v <= 4294967295.0)) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

// Production: the core ignores the alloc id and size, so only the granule
// id is read. Diagnostic deregister: the alloc id too, from [3].
template <bool kRegister>
napi_value HotCount(napi_env env, napi_callback_info) {
  AddonData* addon = AddonOf(env);
  uint64_t id;
  ProfilerWrap* wrap = CallArgs(env, addon, &id);
  if (wrap == nullptr) return nullptr;
  if (wrap->prof == nullptr) return CallFailed(env, addon, kGlueErrorDestroyed);
  int result;
  if (__builtin_expect(!wrap->diagnostic, 1)) {
    result = kRegister ? drainprof_alloc_register(wrap->prof, id, 0, 0)
                       : drainprof_alloc_deregister(wrap->prof, id, 0);
  } else {
    uint64_t alloc;
    if (kRegister || !CallUint64(addon->call, kCallAlloc, &alloc)) {
      return ThrowBadArgument(env, "diagnostic registrations need an alloc id, a size and a site");
    }
    result = drainprof_alloc_deregister(wrap->prof, id, alloc);
  }
  if (__builtin_expect(result == 0, 1)) return nullptr;
  return CallFailed(env, addon, LastCoreError());
}

// Diagnostic allocRegister with [3] alloc id, [4] size, [5] file index of
// this view (-1: no site), [6] line, [7] column.
napi_value HotRegisterSite(napi_env env, napi_callback_info) {
  AddonData* addon = AddonOf(env);
  uint64_t id, alloc, size;
  uint32_t line, column;
  ProfilerWrap* wrap = CallArgs(env, addon, &id);
  if (wrap == nullptr) return nullptr;
  const double* call = addon->call;
  const double file = call[kCallFile];
  if (!CallUint64(call, kCallAlloc, &alloc) || !CallUint64(call, kCallSize, &size) || size > SIZE_MAX ||
      !CallUint32(call, kCallLine, &line) || !CallUint32(call, kCallColumn, &column) ||
      !(file == -1 || (file >= 0 && file < static_cast<double>(wrap->files.size())))) {
    return ThrowBadArgument(env, "the call area does not hold an alloc id, a size and a site");
  }
  if (wrap->prof == nullptr) return CallFailed(env, addon, kGlueErrorDestroyed);
  drainprof_alloc_site site{file < 0 ? nullptr : wrap->files[static_cast<size_t>(file)], line, column};
  int result = drainprof_ext_alloc_register_site(wrap->prof, id, alloc, static_cast<size_t>(size),
                                                 file < 0 ? nullptr : &site);
  if (result == 0) return nullptr;
  return CallFailed(env, addon, LastCoreError());
}

// adoptCallArea(f64) -> the environment's call area: `f64` when it is the
// first, else the one adopted before (two copies of lib/ in one environment
// share the addon's state, so they must share the area too).
Napi::Value AdoptCallArea(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData* addon = env.GetInstanceData<AddonData>();
  if (addon->call_ref != nullptr) {
    napi_value existing;
    NAPI_THROW_IF_FAILED(env, napi_get_reference_value(env, addon->call_ref, &existing), Napi::Value());
    return Napi::Value(env, existing);
  }
  Napi::Value arg = info[0];
  if (!arg.IsTypedArray() || arg.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw Napi::TypeError::New(env, "the call area must be a Float64Array over a SharedArrayBuffer");
  }
  Napi::Float64Array area = arg.As<Napi::Float64Array>();
  // A SharedArrayBuffer cannot be detached: the memory stays where it is for
  // as long as the reference below keeps it alive.
  bool plain = false;
  NAPI_THROW_IF_FAILED(env, napi_is_arraybuffer(env, area.ArrayBuffer(), &plain), Napi::Value());
  if (plain || area.ElementLength() < kCallLength) {
    throw Napi::TypeError::New(env, "the call area must be a Float64Array over a SharedArrayBuffer");
  }
  NAPI_THROW_IF_FAILED(env, napi_create_reference(env, area, 1, &addon->call_ref), Napi::Value());
  addon->call = area.Data();
  return area;
}

// ------------------------------------------------------------------ batch

// Event layouts (uint32 words), lib/batch.ts writes the same:
//   production, kBatchStrideProduction words per run:
//     op, granule lo, granule hi, registers, deregisters
//     (op kOpCount: that many registers and deregisters, in one bulk count;
//     lib/ keeps a flag of its own in the op word's bits 8..15)
//   diagnostic, kBatchStrideDiagnostic words per event:
//     op, granule lo, granule hi, alloc lo, alloc hi, size lo, size hi,
//     file index (kNoFile: none), line, column
constexpr uint32_t kOpOpen = 1, kOpClose = 2, kOpCount = 3, kOpRegister = 4, kOpDeregister = 5;
constexpr uint32_t kBatchStrideProduction = 5;
constexpr uint32_t kBatchStrideDiagnostic = 10;
constexpr uint32_t kNoFile = 0xffffffffu;
constexpr uint32_t kOpFlags = 0xff00u;

inline uint64_t Wide(const uint32_t* e, int at) {
  return static_cast<uint64_t>(e[at]) | static_cast<uint64_t>(e[at + 1]) << 32;
}

// commitBatch(handle, events: Uint32Array, runs, results: Int32Array)
//   -> runs that failed | -kGlueErrorDestroyed
// Runs every event in order, whatever fails; results[i] gets run i's outcome
// (>= 0 the core's result, < 0 minus the reason). Throws (running nothing)
// when the arrays are malformed.
Napi::Value CommitBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
      !info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(env, "commitBatch(handle, Uint32Array, runs, Int32Array)");
  }
  uint32_t runs;
  if (!ToUint32(env, info[2], &runs)) throw Napi::TypeError::New(env, "runs must be a uint32");
  if (wrap->prof == nullptr) return Napi::Number::New(env, -kGlueErrorDestroyed);
  Napi::Uint32Array events = info[1].As<Napi::Uint32Array>();
  Napi::Int32Array results = info[3].As<Napi::Int32Array>();
  const bool diagnostic = wrap->diagnostic;
  const uint32_t stride = diagnostic ? kBatchStrideDiagnostic : kBatchStrideProduction;
  if (static_cast<uint64_t>(runs) * stride > events.ElementLength() || runs > results.ElementLength()) {
    throw Napi::TypeError::New(env, "the batch arrays are shorter than its runs");
  }
  const uint32_t* e = events.Data();
  int32_t* out = results.Data();
  // Check every event before running any, so a malformed batch changes nothing.
  for (uint32_t i = 0; i < runs; i++) {
    const uint32_t* ev = e + static_cast<size_t>(i) * stride;
    bool ok = diagnostic
                  ? (ev[0] == kOpOpen || ev[0] == kOpClose || ev[0] == kOpDeregister ||
                     (ev[0] == kOpRegister && (ev[7] == kNoFile || ev[7] < wrap->files.size())))
                  : (ev[0] == kOpOpen || ev[0] == kOpClose || (ev[0] & ~kOpFlags) == kOpCount);
    if (!ok) throw Napi::TypeError::New(env, "the batch holds an event lib/ does not write");
  }
  drainprof* prof = wrap->prof;
  uint32_t failed = 0;
  for (uint32_t i = 0; i < runs; i++) {
    const uint32_t* ev = e + static_cast<size_t>(i) * stride;
    const uint64_t granule = Wide(ev, 1);
    int r;
    switch (ev[0] & ~kOpFlags) {
      case kOpOpen:
        r = drainprof_granule_open(prof, granule);
        break;
      case kOpClose:
        r = drainprof_granule_close(prof, granule);
        break;
      case kOpCount:
        r = drainprof_ext_alloc_count(prof, granule, ev[3], ev[4]);
        break;
      case kOpRegister: {
        drainprof_alloc_site site{ev[7] == kNoFile ? nullptr : wrap->files[ev[7]], ev[8], ev[9]};
        r = drainprof_ext_alloc_register_site(prof, granule, Wide(ev, 3), static_cast<size_t>(Wide(ev, 5)),
                                              ev[7] == kNoFile ? nullptr : &site);
        break;
      }
      default:  // kOpDeregister
        r = drainprof_alloc_deregister(prof, granule, Wide(ev, 3));
        break;
    }
    out[i] = Outcome(r);
    failed += r < 0;
  }
  return Napi::Number::New(env, failed);
}

}  // namespace

void InitHotPath(Napi::Env env, Napi::Object exports) {
  auto raw = [&](const char* name, napi_callback cb) {
    napi_value fn;
    NAPI_THROW_IF_FAILED_VOID(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn));
    exports.Set(name, Napi::Value(env, fn));
  };
  raw("hotOpen", HotOpen);
  raw("hotClose", HotClose);
  raw("hotRegister", HotCount<true>);
  raw("hotDeregister", HotCount<false>);
  raw("hotRegisterSite", HotRegisterSite);
  exports["adoptCallArea"] = Napi::Function::New(env, AdoptCallArea, "adoptCallArea");
  exports["commitBatch"] = Napi::Function::New(env, CommitBatch, "commitBatch");
}

}  // namespace drainprof_node
