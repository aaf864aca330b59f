// hot_path.cc - granuleOpen/Close and allocRegister/Deregister.
//
// Each function is created once per profiler with the ProfilerWrap as its
// data pointer, so a call needs no unwrap or type-tag lookup: one
// napi_get_cb_info, one conversion per argument, one core call. They return a
// small integer (>= 0 the core's result, < 0 minus the failure reason) and let
// lib/ build the error, so no JS object is created on any path.
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

}  // namespace drainprof_node
