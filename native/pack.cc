// pack.cc - reports as plain data: typed arrays lib/reports.ts reads back.
#include <cstring>

#include "addon.h"

namespace drainprof_node {

namespace {

uint64_t Nanoseconds(const struct timespec& t) {
  return static_cast<uint64_t>(t.tv_sec) * 1000000000u + static_cast<uint64_t>(t.tv_nsec);
}

}  // namespace

double SiteFileIndex(ProfilerWrap* wrap, const char* file, Packed& packed) {
  if (file == nullptr) return -1;
  {
    std::lock_guard<std::mutex> lock(wrap->file_index_mutex);
    auto found = wrap->file_index.find(file);
    if (found != wrap->file_index.end()) return found->second;
  }
  // Not a pointer the glue handed to the core: pass the text itself.
  packed.extra_files.emplace_back(file);
  return -2 - static_cast<double>(packed.extra_files.size() - 1);
}

// Appends one report.
//   u64: granuleId, openTimeNs, closeTimeNs, then per pinning allocation: allocId, allocTimeNs
//   f64: pinningCount, totalAllocs, drainedAllocs, then per allocation:
//        size, lifetimeDeltaSec, file, line, column
void PackReport(ProfilerWrap* wrap, const drainprof_pinning_report& report, Packed& packed) {
  packed.u64.insert(packed.u64.end(),
                    {report.granule_id, Nanoseconds(report.open_time), Nanoseconds(report.close_time)});
  packed.f64.insert(packed.f64.end(), {static_cast<double>(report.pinning_count),
                                       static_cast<double>(report.total_allocs),
                                       static_cast<double>(report.drained_allocs)});
  for (uint32_t i = 0; i < report.pinning_count; i++) {
    const drainprof_pinning_alloc& a = report.pinning_allocs[i];
    packed.u64.insert(packed.u64.end(), {a.alloc_id, Nanoseconds(a.alloc_time)});
    packed.f64.insert(packed.f64.end(), {static_cast<double>(a.size), a.lifetime_delta_sec});
    packed.f64.push_back(SiteFileIndex(wrap, a.alloc_site.file, packed));
    packed.f64.insert(packed.f64.end(), {static_cast<double>(a.alloc_site.line),
                                         static_cast<double>(a.alloc_site.column)});
  }
}

// -> [BigUint64Array, Float64Array, string[]]
Napi::Value PackedToJs(Napi::Env env, Packed& packed) {
  Napi::BigUint64Array u64 = Napi::BigUint64Array::New(env, packed.u64.size());
  if (!packed.u64.empty()) std::memcpy(u64.Data(), packed.u64.data(), packed.u64.size() * sizeof(uint64_t));
  Napi::Float64Array f64 = Napi::Float64Array::New(env, packed.f64.size());
  if (!packed.f64.empty()) std::memcpy(f64.Data(), packed.f64.data(), packed.f64.size() * sizeof(double));
  Napi::Array extra = Napi::Array::New(env, packed.extra_files.size());
  for (uint32_t i = 0; i < packed.extra_files.size(); i++) extra[i] = packed.extra_files[i];
  Napi::Array out = Napi::Array::New(env, 3);
  out[0u] = u64;
  out[1u] = f64;
  out[2u] = extra;
  return out;
}

}  // namespace drainprof_node
