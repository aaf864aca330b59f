// convert.h - JS value -> C value conversions for the glue.
//
// lib/validate.ts has already checked every argument with precise messages;
// these checks exist only so that a caller reaching the binding directly
// (require('drainprof/build/Release/drainprof.node')) cannot make the glue
// read garbage. They use raw N-API to keep the hot path at one call each.
#pragma once

#include <node_api.h>

#include <cstddef>
#include <cstdint>

namespace drainprof_node {

// 2^64 as a double: the first value a uint64_t cannot hold.
constexpr double kTwoTo64 = 18446744073709551616.0;

// A non-negative integral number below 2^64 or a bigint in [0, 2^64-1].
// Numbers are tried first: they are the common case and cost one call.
inline bool ToUint64(napi_env env, napi_value value, uint64_t* out) {
  double number;
  napi_status status = napi_get_value_double(env, value, &number);
  if (status == napi_ok) {
    if (!(number >= 0.0 && number < kTwoTo64)) return false;
    *out = static_cast<uint64_t>(number);
    return true;
  }
  if (status != napi_number_expected) return false;
  bool lossless = false;
  if (napi_get_value_bigint_uint64(env, value, out, &lossless) != napi_ok) return false;
  return lossless;
}

inline bool ToSize(napi_env env, napi_value value, size_t* out) {
  uint64_t wide;
  if (!ToUint64(env, value, &wide) || wide > SIZE_MAX) return false;
  *out = static_cast<size_t>(wide);
  return true;
}

inline bool ToUint32(napi_env env, napi_value value, uint32_t* out) {
  uint64_t wide;
  if (!ToUint64(env, value, &wide) || wide > UINT32_MAX) return false;
  *out = static_cast<uint32_t>(wide);
  return true;
}

// Throws the TypeError a direct caller of the binding gets for a bad argument.
inline napi_value ThrowBadArgument(napi_env env, const char* what) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
  return nullptr;
}

}  // namespace drainprof_node
