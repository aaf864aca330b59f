// foreign_slots.cc - the memory granule handles count in without crossing.
//
// lib/ allocates each slab as a Float64Array over a SharedArrayBuffer and the
// view adopts it here: a reference keeps the buffer alive, and a
// SharedArrayBuffer can be neither detached (transfer, structuredClone) nor
// shrunk, so the slots stay valid memory whatever JS does with its objects.
// Native code never makes an external ArrayBuffer (Electron forbids them).
// The references are dropped only after every slot of the view is detached
// (DetachSlabs), so the C core never reads a slab that may be freed.
//
// A slot is 32 bytes (drainprof_ext_foreign_slot): a float64 token, then
// uint64 registers, deregisters and reserved. lib/ reads the token through a
// Float64Array and counts into the low 32 bits of each count through an
// Int32Array over the same buffer: integer increments, because a float64
// read-modify-write of the same word is a ~3.5 ns dependency chain here while
// an integer one is nearly free; it folds (fold()) before a word would reach
// 2^31. Tokens come from a counter per environment, so a handle of an older
// attachment of the same slot never matches.
#include <cstddef>
#include <cstring>

#include "addon.h"
#include "convert.h"

namespace drainprof_node {

namespace {

constexpr size_t kSlotDoubles = sizeof(drainprof_ext_foreign_slot) / sizeof(double);
static_assert(sizeof(drainprof_ext_foreign_slot) == 32 && offsetof(drainprof_ext_foreign_slot, registers) == 8 &&
                  offsetof(drainprof_ext_foreign_slot, deregisters) == 16,
              "lib/granule.ts assumes this layout");

// adoptSlab(handle, f64) -> slab number | -reason
Napi::Value AdoptSlab(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  Napi::Value arg = info[1];
  if (!arg.IsTypedArray() || arg.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    throw Napi::TypeError::New(env, "a slab must be a Float64Array over a SharedArrayBuffer");
  }
  Napi::Float64Array array = arg.As<Napi::Float64Array>();
  bool plain = false;
  NAPI_THROW_IF_FAILED(env, napi_is_arraybuffer(env, array.ArrayBuffer(), &plain), Napi::Value());
  if (plain || array.ElementLength() < kSlotDoubles) {
    throw Napi::TypeError::New(env, "a slab must be a Float64Array over a SharedArrayBuffer");
  }
  if (wrap->prof == nullptr) return Napi::Number::New(env, -kGlueErrorDestroyed);
  Slab slab;
  slab.slots = reinterpret_cast<drainprof_ext_foreign_slot*>(array.Data());
  slab.count = static_cast<uint32_t>(array.ElementLength() / kSlotDoubles);
  // Attach writes every field; start from a clean slab all the same.
  std::memset(static_cast<void*>(slab.slots), 0, slab.count * sizeof(drainprof_ext_foreign_slot));
  NAPI_THROW_IF_FAILED(env, napi_create_reference(env, array, 1, &slab.ref), Napi::Value());
  wrap->slabs.push_back(slab);
  return Napi::Number::New(env, static_cast<double>(wrap->slabs.size() - 1));
}

drainprof_ext_foreign_slot* SlotArg(const Napi::CallbackInfo& info, ProfilerWrap* wrap) {
  uint32_t slab, slot;
  if (!ToUint32(info.Env(), info[1], &slab) || !ToUint32(info.Env(), info[2], &slot) ||
      slab >= wrap->slabs.size() || slot >= wrap->slabs[slab].count) {
    throw Napi::TypeError::New(info.Env(), "no such slot");
  }
  return &wrap->slabs[slab].slots[slot];
}

// attach(handle, slab, slot, granuleId) -> token (> 0) | -reason
Napi::Value Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  if (wrap->prof == nullptr) return Napi::Number::New(env, -kGlueErrorDestroyed);
  drainprof_ext_foreign_slot* slot = SlotArg(info, wrap);
  uint64_t id;
  if (!ToUint64(env, info[3], &id)) throw Napi::TypeError::New(env, "granule id must be a uint64");
  AddonData* addon = wrap->addon;
  double token = addon->next_token;
  if (drainprof_ext_foreign_attach(wrap->prof, id, slot, token) != 0) {
    return Napi::Number::New(env, -LastCoreError());
  }
  addon->next_token = token + 1;  // 2^53 attachments away from repeating
  return Napi::Number::New(env, token);
}

// fold(handle, slab, slot) -> 1 folded, 0 not attached | -reason: the owner's
// counts join the core now and restart from 0.
Napi::Value Fold(const Napi::CallbackInfo& info) {
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  if (wrap->prof == nullptr) return Napi::Number::New(info.Env(), -kGlueErrorDestroyed);
  return Napi::Number::New(info.Env(), drainprof_ext_foreign_fold(wrap->prof, SlotArg(info, wrap)));
}

// detach(handle, slab, slot) -> 1 detached (counts folded), 0 not attached | -reason
Napi::Value Detach(const Napi::CallbackInfo& info) {
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  if (wrap->prof == nullptr) return Napi::Number::New(info.Env(), -kGlueErrorDestroyed);
  return Napi::Number::New(info.Env(), drainprof_ext_foreign_detach(wrap->prof, SlotArg(info, wrap)));
}

// refused(handle, deregister) -> -reason: counts a handle call that found its
// slot released as the same call into a closed granule counts.
Napi::Value Refused(const Napi::CallbackInfo& info) {
  ProfilerWrap* wrap = UnwrapHandle(info[0]);
  if (wrap->prof == nullptr) return Napi::Number::New(info.Env(), -kGlueErrorDestroyed);
  drainprof_ext_foreign_refused(wrap->prof, info[1].ToBoolean().Value());
  return Napi::Number::New(info.Env(), -LastCoreError());
}

}  // namespace

void DetachSlabs(ProfilerWrap* wrap, bool unref) {
  for (Slab& slab : wrap->slabs) {
    if (wrap->prof != nullptr) {
      // Every slot, whatever its token says: the token is memory JS could
      // write, and the reference must not go while the core knows a slot.
      for (uint32_t i = 0; i < slab.count; i++) drainprof_ext_foreign_detach(wrap->prof, &slab.slots[i]);
    }
    if (unref && slab.ref != nullptr && wrap->addon != nullptr) {
      napi_delete_reference(wrap->addon->env, slab.ref);
    }
    slab.ref = nullptr;
    slab.slots = nullptr;
    slab.count = 0;
  }
  wrap->slabs.clear();
}

void InitForeignSlots(Napi::Env env, Napi::Object exports) {
  exports["adoptSlab"] = Napi::Function::New(env, AdoptSlab, "adoptSlab");
  exports["attach"] = Napi::Function::New(env, Attach, "attach");
  exports["detach"] = Napi::Function::New(env, Detach, "detach");
  exports["fold"] = Napi::Function::New(env, Fold, "fold");
  exports["refused"] = Napi::Function::New(env, Refused, "refused");
}

}  // namespace drainprof_node
