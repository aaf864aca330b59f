// profiler_wrap.cc - creating, querying and destroying one profiler.
//
// Everything here takes the profiler's handle (a type-tagged object) as its
// first argument and returns plain data; lib/ shapes the public objects.
// Failures the core reports come back as negative numbers (minus the reason)
// for lib/errors.ts to turn into errors; a malformed call throws a TypeError.
#include <cstring>
#include <vector>

#include "addon.h"
#include "convert.h"

namespace drainprof_node {

namespace {

// Random, fixed: marks handle objects made by this addon (any environment).
constexpr napi_type_tag kProfilerTag = {0x6b1f0e2cd7a94c31ULL, 0x92d4a8f1305be77aULL};

Napi::Value Failure(Napi::Env env, int reason) { return Napi::Number::New(env, -reason); }

uint32_t Uint32Arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  uint32_t out;
  if (!ToUint32(info.Env(), info[i], &out)) throw Napi::TypeError::New(info.Env(), what);
  return out;
}

void AddJsRef(Napi::Env env, ProfilerWrap* wrap, Napi::Object holder) {
  holder.AddFinalizer([](Napi::Env, ProfilerWrap* w) { ReleaseJsRef(w); }, wrap);
  wrap->js_refs++;
}

Napi::Function Bind(Napi::Env env, ProfilerWrap* wrap, const char* name, napi_callback cb) {
  napi_value fn;
  NAPI_THROW_IF_FAILED(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, wrap, &fn),
                       Napi::Function());
  Napi::Function function(env, fn);
  AddJsRef(env, wrap, function);
  return function;
}

void SnapshotToArray(const drainprof_ext_snapshot_t& s, Napi::Float64Array out) {
  const drainprof_snapshot_t& b = s.base;
  const double values[] = {
      static_cast<double>(b.timestamp.tv_sec), static_cast<double>(b.timestamp.tv_nsec),
      static_cast<double>(b.total_closes), static_cast<double>(b.drainable_closes),
      static_cast<double>(b.pinned_closes), b.dsr,
      static_cast<double>(b.open_granules), static_cast<double>(b.peak_open_granules),
      static_cast<double>(b.total_allocs), static_cast<double>(b.total_deallocs),
      static_cast<double>(s.dropped_reports), static_cast<double>(s.unbalanced_closes),
      static_cast<double>(s.failed_opens), static_cast<double>(s.failed_closes),
      static_cast<double>(s.failed_registers), static_cast<double>(s.failed_deregisters),
      static_cast<double>(s.lifetime_records), static_cast<double>(s.dropped_lifetime_records)};
  constexpr size_t kCount = sizeof(values) / sizeof(values[0]);
  if (out.ElementLength() < kCount) {
    throw Napi::TypeError::New(out.Env(), "snapshot needs a Float64Array of 18 elements");
  }
  std::memcpy(out.Data(), values, sizeof(values));
}

Napi::Float64Array Float64ArrayArg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw Napi::TypeError::New(info.Env(), "expected a Float64Array");
  }
  return info[i].As<Napi::Float64Array>();
}

// A new view of `core` in this environment, owning the caller's reference.
// -> [handle, granuleOpen, granuleClose, allocRegister, allocRegisterSite,
//     allocDeregister, viewIndex, mode, storage, slotCapacity]
Napi::Value MakeView(Napi::Env env, SharedCore* core, const Napi::CallbackInfo* pin_info) {
  AddonData* addon = env.GetInstanceData<AddonData>();
  auto wrap = std::make_unique<ProfilerWrap>();
  wrap->core = core;
  wrap->prof = core->prof;
  wrap->diagnostic = core->diagnostic();
  if (pin_info != nullptr) {
    const Napi::CallbackInfo& info = *pin_info;
    // Unref'd: pending reports never keep the process alive. Unbounded queue:
    // the closing thread never blocks on JS.
    wrap->queue = PinQueue::New(env, info[8].As<Napi::Function>(), "drainprof:onPinning", 0, 1,
                                wrap.get(), [](Napi::Env, void*, ProfilerWrap* w) {
                                  // From now on the queue is gone: no close on any
                                  // thread may reach it.
                                  if (w->core != nullptr) {
                                    std::lock_guard<std::mutex> lock(w->core->pin_mutex);
                                    if (w->core->pin_view == w) w->core->pin_view = nullptr;
                                  }
                                  w->state.Reset();
                                  w->queue_alive = false;
                                  MaybeDeleteWrap(w);
                                });
    wrap->queue.Unref(env);
    wrap->queue_open = wrap->queue_alive = true;
    wrap->state = Napi::Weak(info[9].As<Napi::Object>());
    wrap->js_thread = std::this_thread::get_id();
    std::lock_guard<std::mutex> lock(core->pin_mutex);
    core->pin_view = wrap.get();
  }

  ProfilerWrap* w = wrap.release();
  w->addon = addon;
  addon->live.insert(w);
  if (addon->free_views.empty()) {
    w->index = static_cast<uint32_t>(addon->views.size());
    addon->views.push_back(w);
  } else {
    w->index = addon->free_views.back();
    addon->free_views.pop_back();
    addon->views[w->index] = w;
  }

  Napi::Object handle = Napi::Object::New(env);
  handle.TypeTag(&kProfilerTag);
  NAPI_THROW_IF_FAILED(env, napi_wrap(env, handle, w, nullptr, nullptr, nullptr), Napi::Value());
  AddJsRef(env, w, handle);

  Napi::Array out = Napi::Array::New(env, 10);
  out[0u] = handle;
  out[1u] = Bind(env, w, "granuleOpen", HotGranuleOpen);
  out[2u] = Bind(env, w, "granuleClose", HotGranuleClose);
  out[3u] = Bind(env, w, "allocRegister", HotAllocRegister);
  out[4u] = Bind(env, w, "allocRegisterSite", HotAllocRegisterSite);
  out[5u] = Bind(env, w, "allocDeregister", HotAllocDeregister);
  out[6u] = Napi::Number::New(env, w->index);
  out[7u] = Napi::Number::New(env, static_cast<double>(core->config.mode));
  out[8u] = Napi::Number::New(env, static_cast<double>(core->config.storage));
  out[9u] = Napi::Number::New(env, static_cast<double>(core->config.slot_capacity));
  return out;
}

// createProfiler(mode, storage, slotCapacity, bucketCount, logInterval,
//                maxBufferedReports, verbose, lifetimeLimit, deliver?, state?)
// -> a view (see MakeView) or -reason when the core refuses to create it.
Napi::Value CreateProfiler(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  drainprof_config config;
  drainprof_config_default(&config);
  config.mode = static_cast<drainprof_mode>(Uint32Arg(info, 0, "mode must be 0 or 1"));
  config.storage = static_cast<drainprof_storage>(Uint32Arg(info, 1, "storage must be 0 or 1"));
  config.slot_capacity = Uint32Arg(info, 2, "slotCapacity must be a uint32");
  config.bucket_count = Uint32Arg(info, 3, "bucketCount must be a uint32");
  if (!ToUint64(env, info[4], &config.log_interval)) {
    throw Napi::TypeError::New(env, "logInterval must be a uint64");
  }
  config.max_buffered_reports = Uint32Arg(info, 5, "maxBufferedReports must be a uint32");
  if (!info[6].IsBoolean()) throw Napi::TypeError::New(env, "verbose must be a boolean");
  config.verbose = info[6].As<Napi::Boolean>().Value();
  uint32_t lifetime_limit = Uint32Arg(info, 7, "lifetimeLimit must be a uint32");
  bool with_callback = info[8].IsFunction();
  if (with_callback && !info[9].IsObject()) {
    throw Napi::TypeError::New(env, "a deliver function needs a state object");
  }
  bool pinning = with_callback && config.mode == DRAINPROF_DIAGNOSTIC;
  if (pinning) config.on_pinning = OnPinning;  // user data: the core (CreateCore)

  int reason = 0;
  SharedCore* core = CreateCore(config, lifetime_limit, &reason);
  if (core == nullptr) return Failure(env, reason);
  try {
    return MakeView(env, core, pinning ? &info : nullptr);
  } catch (...) {
    Release(core);
    throw;
  }
}

// shareKey(handle) -> bigint key of the view's core | -reason
Napi::Value ShareKey(const Napi::CallbackInfo& info) {
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  if (wrap->core == nullptr) return Failure(info.Env(), kGlueErrorDestroyed);
  return Napi::BigInt::New(info.Env(), wrap->core->key);
}

// openShared(key: bigint) -> a view (see MakeView) of the core registered under
// key | -kGlueErrorDestroyed when its last reference is gone.
Napi::Value OpenShared(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBigInt()) throw Napi::TypeError::New(env, "key must be a bigint");
  bool lossless = false;
  uint64_t key = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
  SharedCore* core = lossless ? RetainByKey(key) : nullptr;
  if (core == nullptr) return Failure(env, kGlueErrorDestroyed);
  try {
    return MakeView(env, core, nullptr);
  } catch (...) {
    Release(core);
    throw;
  }
}

// intern(handle, file) -> this view's index of the file name for allocRegisterSite.
Napi::Value Intern(const Napi::CallbackInfo& info) {
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  if (!info[1].IsString()) throw Napi::TypeError::New(info.Env(), "file must be a string");
  if (wrap->prof == nullptr) return Failure(info.Env(), kGlueErrorDestroyed);
  std::string file = info[1].As<Napi::String>().Utf8Value();
  const char* interned;
  {
    std::lock_guard<std::mutex> lock(wrap->core->files_mutex);
    auto& slot = wrap->core->files[file];
    if (!slot) {
      slot = std::make_unique<char[]>(file.size() + 1);
      std::memcpy(slot.get(), file.c_str(), file.size() + 1);
    }
    interned = slot.get();
  }
  int32_t index = static_cast<int32_t>(wrap->files.size());
  wrap->files.push_back(interned);
  {
    std::lock_guard<std::mutex> lock(wrap->file_index_mutex);
    wrap->file_index.emplace(interned, index);
  }
  return Napi::Number::New(info.Env(), index);
}

// snapshot(handle, out: Float64Array(18)) / sweep(handle, out) -> 0 | -reason
Napi::Value Snapshot(const Napi::CallbackInfo& info) {
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  Napi::Float64Array out = Float64ArrayArg(info, 1);
  if (wrap->prof == nullptr) return Failure(info.Env(), kGlueErrorDestroyed);
  drainprof_ext_snapshot_t snapshot;
  drainprof_ext_snapshot(wrap->prof, &snapshot);
  SnapshotToArray(snapshot, out);
  return Napi::Number::New(info.Env(), 0);
}

Napi::Value Sweep(const Napi::CallbackInfo& info) {
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  Napi::Float64Array out = Float64ArrayArg(info, 1);
  if (wrap->prof == nullptr) return Failure(info.Env(), kGlueErrorDestroyed);
  // The extended counters of a snapshot, with the 0.1 fields of the sweep.
  drainprof_ext_snapshot_t snapshot;
  drainprof_ext_snapshot(wrap->prof, &snapshot);
  drainprof_sweep(wrap->prof, &snapshot.base);
  SnapshotToArray(snapshot, out);
  return Napi::Number::New(info.Env(), 0);
}

Napi::Value Reset(const Napi::CallbackInfo& info) {
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  if (wrap->prof == nullptr) return Failure(info.Env(), kGlueErrorDestroyed);
  drainprof_reset(wrap->prof);
  return Napi::Number::New(info.Env(), 0);
}

// drainReports(handle, max) -> packed reports (see PackedToJs) | -reason
Napi::Value DrainReports(const Napi::CallbackInfo& info) {
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  uint32_t max = Uint32Arg(info, 1, "max must be a uint32");
  if (wrap->prof == nullptr) return Failure(info.Env(), kGlueErrorDestroyed);
  Packed packed;
  std::vector<drainprof_pinning_report*> batch;
  constexpr uint32_t kBatch = 256;
  uint32_t remaining = max;
  while (remaining > 0) {
    uint32_t want = remaining < kBatch ? remaining : kBatch;
    batch.assign(want, nullptr);
    uint32_t got = drainprof_drain_reports(wrap->prof, batch.data(), want);
    for (uint32_t i = 0; i < got; i++) {
      try {
        PackReport(wrap, *batch[i], packed);
      } catch (...) {
        for (uint32_t j = i; j < got; j++) drainprof_pinning_report_free(batch[j]);
        throw;
      }
      drainprof_pinning_report_free(batch[i]);
    }
    remaining -= got;
    if (got < want) break;
  }
  return PackedToJs(info.Env(), packed);
}

// diagnosticSummary(handle) -> [f64, extraFiles] | -reason
//   f64: siteCount, totalPinningAllocs, reportsAnalyzed, lifetimeRecordsAnalyzed,
//        then per site: file, line, column, pinningCount, totalAllocs, totalBytes,
//        classCounts[0..3], dominantClass
Napi::Value DiagnosticSummary(const Napi::CallbackInfo& info) {
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  if (wrap->prof == nullptr) return Failure(info.Env(), kGlueErrorDestroyed);
  drainprof_ext_summary* summary = drainprof_ext_summary_compute(wrap->prof);
  if (summary == nullptr) return Failure(info.Env(), LastCoreError());
  Packed packed;
  try {
    packed.f64 = {static_cast<double>(summary->site_count),
                  static_cast<double>(summary->total_pinning_allocs),
                  static_cast<double>(summary->reports_analyzed),
                  static_cast<double>(summary->lifetime_records_analyzed)};
    for (uint32_t i = 0; i < summary->site_count; i++) {
      const drainprof_ext_site_entry& e = summary->sites[i];
      packed.f64.push_back(SiteFileIndex(wrap, e.base.site.file, packed));
      packed.f64.insert(packed.f64.end(),
                        {static_cast<double>(e.base.site.line), static_cast<double>(e.base.site.column),
                         static_cast<double>(e.base.pinning_count), static_cast<double>(e.base.total_allocs),
                         static_cast<double>(e.base.total_bytes), static_cast<double>(e.class_counts[0]),
                         static_cast<double>(e.class_counts[1]), static_cast<double>(e.class_counts[2]),
                         static_cast<double>(e.class_counts[3]), static_cast<double>(e.dominant_class)});
    }
  } catch (...) {
    drainprof_ext_summary_free(summary);
    throw;
  }
  drainprof_ext_summary_free(summary);
  return PackedToJs(info.Env(), packed);
}

// lifetimeRecords(handle, max) -> packed records | -reason
//   u64 per record: granuleId, allocId
//   f64 per record: file, line, column, size, granuleLifetimeSec, lifetimeDeltaSec, class
Napi::Value LifetimeRecords(const Napi::CallbackInfo& info) {
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  uint32_t max = Uint32Arg(info, 1, "max must be a uint32");
  if (wrap->prof == nullptr) return Failure(info.Env(), kGlueErrorDestroyed);
  uint32_t limit = wrap->core->lifetime_limit;
  uint32_t capacity = max < limit ? max : limit;
  std::vector<drainprof_ext_lifetime_record> records(capacity);
  uint32_t got = capacity == 0 ? 0 : drainprof_ext_lifetime_records(wrap->prof, records.data(), capacity);
  Packed packed;
  for (uint32_t i = 0; i < got; i++) {
    const drainprof_ext_lifetime_record& r = records[i];
    packed.u64.insert(packed.u64.end(), {r.granule_id, r.alloc_id});
    packed.f64.push_back(SiteFileIndex(wrap, r.alloc_site.file, packed));
    packed.f64.insert(packed.f64.end(),
                      {static_cast<double>(r.alloc_site.line), static_cast<double>(r.alloc_site.column),
                       static_cast<double>(r.size), r.granule_lifetime_sec, r.lifetime_delta_sec,
                       static_cast<double>(r.violation_class)});
  }
  return PackedToJs(info.Env(), packed);
}

// Runs an snprintf-like formatter until the whole text fits.
template <typename Format>
Napi::Value FormatText(Napi::Env env, Format format) {
  std::vector<char> buffer(4096);
  for (int attempt = 0; attempt < 8; attempt++) {
    int64_t length = format(buffer.data(), buffer.size());
    if (length < 0) return Failure(env, LastCoreError());
    if (static_cast<uint64_t>(length) < buffer.size()) {
      return Napi::String::New(env, buffer.data(), static_cast<size_t>(length));
    }
    buffer.resize(static_cast<size_t>(length) + 1024);  // counters may grow meanwhile
  }
  return Failure(env, DRAINPROF_EXT_ERR_NO_MEMORY);
}

// textReport(handle, maxSites) -> string | -reason
Napi::Value TextReport(const Napi::CallbackInfo& info) {
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  uint32_t max_sites = Uint32Arg(info, 1, "maxSites must be a uint32");
  if (wrap->prof == nullptr) return Failure(info.Env(), kGlueErrorDestroyed);
  return FormatText(info.Env(), [&](char* buf, size_t size) {
    return drainprof_ext_format_report(wrap->prof, max_sites, buf, size);
  });
}

// metrics(handle, prefix | null, labelNames[], labelValues[], openMetrics) -> string | -reason
Napi::Value Metrics(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  if (!(info[1].IsNull() || info[1].IsString()) || !info[2].IsArray() || !info[3].IsArray() ||
      !info[4].IsBoolean()) {
    throw Napi::TypeError::New(env, "metrics(handle, prefix, names, values, openMetrics)");
  }
  Napi::Array names = info[2].As<Napi::Array>();
  Napi::Array values = info[3].As<Napi::Array>();
  if (names.Length() != values.Length()) throw Napi::TypeError::New(env, "label arrays differ in length");
  std::string prefix = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : std::string();
  std::vector<std::string> strings;
  strings.reserve(2 * names.Length());
  for (uint32_t i = 0; i < names.Length(); i++) {
    Napi::Value name = names[i], value = values[i];
    if (!name.IsString() || !value.IsString()) throw Napi::TypeError::New(env, "labels must be strings");
    strings.push_back(name.As<Napi::String>().Utf8Value());
    strings.push_back(value.As<Napi::String>().Utf8Value());
  }
  if (wrap->prof == nullptr) return Failure(env, kGlueErrorDestroyed);
  std::vector<const char*> name_ptrs, value_ptrs;
  for (size_t i = 0; i < strings.size(); i += 2) {
    name_ptrs.push_back(strings[i].c_str());
    value_ptrs.push_back(strings[i + 1].c_str());
  }
  drainprof_ext_metrics_options options{};
  options.prefix = info[1].IsString() ? prefix.c_str() : nullptr;
  options.label_names = name_ptrs.data();
  options.label_values = value_ptrs.data();
  options.label_count = name_ptrs.size();
  options.openmetrics = info[4].As<Napi::Boolean>().Value();
  return FormatText(env, [&](char* buf, size_t size) {
    return drainprof_ext_format_metrics(wrap->prof, &options, buf, size);
  });
}

Napi::Value Destroy(const Napi::CallbackInfo& info) {
  DestroyView(UnwrapHandle(info[0]), true);
  return info.Env().Undefined();
}

}  // namespace

ProfilerWrap* UnwrapHandle(const Napi::Value& value) {
  Napi::Env env = value.Env();
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&kProfilerTag)) {
    throw Napi::TypeError::New(env, "expected a drainprof profiler handle");
  }
  void* data = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_unwrap(env, value, &data), nullptr);
  return static_cast<ProfilerWrap*>(data);
}

void DestroyView(ProfilerWrap* wrap, bool keep_state) {
  SharedCore* core = wrap->core;
  if (core != nullptr) {
    // Counts this environment kept in foreign slots join the core now: other
    // views and native holders may go on using it.
    DetachSlabs(wrap, true);
    {
      // After this no close on any thread queues a report for this view.
      std::lock_guard<std::mutex> lock(core->pin_mutex);
      if (core->pin_view == wrap) core->pin_view = nullptr;
    }
    wrap->core = nullptr;
    wrap->prof = nullptr;
    {
      std::lock_guard<std::mutex> lock(wrap->file_index_mutex);
      wrap->file_index.clear();
    }
    wrap->files.clear();
  }
  if (wrap->queue_open) {
    wrap->queue_open = false;
    if (wrap->queue_alive) {
      if (keep_state && !wrap->state.IsEmpty()) wrap->state.Ref();
      wrap->queue.Release();  // delivers what is queued, then finalizes
    }
  }
  // Last: the last reference destroys the C profiler, after which no callback
  // runs; reports already queued are plain data and still get delivered.
  if (core != nullptr) Release(core);
}

void ReleaseJsRef(ProfilerWrap* wrap) {
  if (--wrap->js_refs == 0) {
    DestroyView(wrap, false);
    MaybeDeleteWrap(wrap);
  }
}

void MaybeDeleteWrap(ProfilerWrap* wrap) {
  if (wrap->js_refs != 0 || wrap->queue_alive) return;
  AddonData* addon = wrap->addon;
  if (addon != nullptr) {
    addon->live.erase(wrap);
    if (wrap->index < addon->views.size() && addon->views[wrap->index] == wrap) {
      addon->views[wrap->index] = nullptr;
      addon->free_views.push_back(wrap->index);
    }
  }
  delete wrap;
}

// Environment teardown (a cleanup hook, run before the environment's own
// references and buffers go): end every view still alive. The wraps stay
// allocated for their GC finalizers, which may still run after this.
static void TeardownEnvironment(void* arg) {
  AddonData* addon = static_cast<AddonData*>(arg);
  addon->torn_down = true;
  // The call area's strong reference is ours to delete: without this every
  // environment (each worker that loads drainprof) leaked it.
  if (addon->call_ref != nullptr) {
    napi_delete_reference(addon->env, addon->call_ref);
    addon->call_ref = nullptr;
    addon->call = nullptr;
  }
  for (ProfilerWrap* wrap : addon->live) {
    SharedCore* core = wrap->core;
    if (core == nullptr) continue;
    // Before the environment drops our slab references: the buffers are
    // alive for as long as this hook runs.
    DetachSlabs(wrap, false);
    {
      std::lock_guard<std::mutex> lock(core->pin_mutex);
      if (core->pin_view == wrap) core->pin_view = nullptr;
    }
    wrap->core = nullptr;
    wrap->prof = nullptr;
    Release(core);
  }
}

AddonData::~AddonData() {
  if (!torn_down) TeardownEnvironment(this);
  for (ProfilerWrap* wrap : live) wrap->addon = nullptr;
  ForgetAddon(env);
}

void InitAddonData(Napi::Env env, AddonData* addon) {
  addon->env = env;
  NAPI_THROW_IF_FAILED_VOID(env, napi_add_env_cleanup_hook(env, TeardownEnvironment, addon));
}

void InitProfilerWrap(Napi::Env env, Napi::Object exports) {
  exports["createProfiler"] = Napi::Function::New(env, CreateProfiler, "createProfiler");
  exports["shareKey"] = Napi::Function::New(env, ShareKey, "shareKey");
  exports["openShared"] = Napi::Function::New(env, OpenShared, "openShared");
  exports["intern"] = Napi::Function::New(env, Intern, "intern");
  exports["snapshot"] = Napi::Function::New(env, Snapshot, "snapshot");
  exports["sweep"] = Napi::Function::New(env, Sweep, "sweep");
  exports["reset"] = Napi::Function::New(env, Reset, "reset");
  exports["drainReports"] = Napi::Function::New(env, DrainReports, "drainReports");
  exports["diagnosticSummary"] = Napi::Function::New(env, DiagnosticSummary, "diagnosticSummary");
  exports["lifetimeRecords"] = Napi::Function::New(env, LifetimeRecords, "lifetimeRecords");
  exports["textReport"] = Napi::Function::New(env, TextReport, "textReport");
  exports["metrics"] = Napi::Function::New(env, Metrics, "metrics");
  exports["destroy"] = Napi::Function::New(env, Destroy, "destroy");
}

}  // namespace drainprof_node
