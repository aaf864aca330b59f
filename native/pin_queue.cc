// pin_queue.cc - onPinning: from the closing thread to the JS thread.
//
// The core calls OnPinning synchronously on whichever thread closed the
// granule (the JS thread, a worker sharing the profiler, or a native thread of
// another addon). Reports go to the view that created the profiler, while it
// lives; once it is destroyed (or its environment torn down) they are dropped,
// since no JS thread is left that asked for them. The report is
// valid only during that call, so it is packed into plain data and queued on
// a thread-safe function; DeliverPinning runs later on the JS thread. Closes
// made from JS are delivered the same way, so the callback always runs
// asynchronously, after granuleClose() has returned, in close order.
//
// lib/'s delivery state is referenced weakly so that a dropped profiler can be
// collected even when its onPinning closure refers to it. A report queued by a
// close on the JS thread takes a strong reference until it is delivered, so it
// is never lost to GC; one queued by another thread cannot (N-API references
// are JS-thread only), and if the profiler is collected before delivery lib/
// emits a DRAINPROF_REPORT_DROPPED warning instead.
#include <new>
#include <thread>

#include "addon.h"

namespace drainprof_node {

void OnPinning(const drainprof_pinning_report* report, void* user_data) {
  auto* core = static_cast<SharedCore*>(user_data);
  // Held while the report is packed and queued: the creating view cannot be
  // destroyed, nor its queue finalized, meanwhile (both clear pin_view first).
  std::lock_guard<std::mutex> lock(core->pin_mutex);
  ProfilerWrap* wrap = core->pin_view;
  if (wrap == nullptr) return;  // the creating view is gone: nobody to deliver to
  // No exception may unwind through the C core's frames.
  Packed* packed = new (std::nothrow) Packed();
  if (packed == nullptr) return;
  try {
    PackReport(wrap, *report, *packed);
  } catch (...) {
    delete packed;
    return;
  }
  if (std::this_thread::get_id() == wrap->js_thread && !wrap->state.IsEmpty()) {
    packed->holds_state_ref =
        napi_reference_ref(wrap->state.Env(), static_cast<napi_ref>(wrap->state), nullptr) == napi_ok;
  }
  if (wrap->queue.NonBlockingCall(packed) != napi_ok) {
    if (packed->holds_state_ref) {
      napi_reference_unref(wrap->state.Env(), static_cast<napi_ref>(wrap->state), nullptr);
    }
    delete packed;
  }
}

// deliver(state | undefined, u64, f64, extraFiles): lib/'s dispatcher builds
// the PinningReport and calls onPinning, routing what it throws to onError or
// a process warning. `state` is undefined when the profiler was collected by
// GC before the report could be delivered (lib/ warns about the loss).
void DeliverPinning(Napi::Env env, Napi::Function deliver, ProfilerWrap* wrap, Packed* packed) {
  std::unique_ptr<Packed> owned(packed);
  if (env == nullptr || deliver.IsEmpty()) return;  // environment teardown: drop
  Napi::Value state = env.Undefined();
  if (!wrap->state.IsEmpty()) {
    Napi::Object value = wrap->state.Value();
    if (!value.IsEmpty()) state = value;
  }
  try {
    Napi::Array data = PackedToJs(env, *packed).As<Napi::Array>();
    deliver.Call({state, data.Get(0u), data.Get(1u), data.Get(2u)});
  } catch (const Napi::Error&) {
    // lib/'s dispatcher catches everything the user's callbacks throw; what is
    // left is the environment shutting down mid-call. Nothing to deliver to.
  }
  if (packed->holds_state_ref && !wrap->state.IsEmpty()) {
    napi_reference_unref(env, static_cast<napi_ref>(wrap->state), nullptr);
  }
}

}  // namespace drainprof_node
