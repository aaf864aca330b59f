/**
 * `profiler.nativeHandle()`: hands a live profiler to another native addon,
 * whose C code then calls libdrainprof (drainprof.h) on the very profiler
 * this JavaScript reads. The addon side is in native/consumer/include/drainprof_node.h.
 *
 * @packageDocumentation
 */
import { binding, type Handle } from './binding.js';
import { coreError } from './errors.js';

/**
 * An opaque, frozen object to pass to a native addon built against
 * `drainprof/native`. In C, `drainprof_node_acquire(env, value)` turns it into
 * the `drainprof *` behind the profiler and takes a reference: the C profiler
 * then stays alive while the addon holds it (until `drainprof_node_release`),
 * even after `destroy()` ends this JavaScript view. An addon refuses (with a
 * TypeError) anything else, a handle whose profiler was destroyed before it
 * acquired it, and a handle from a drainprof of another ABI version.
 */
export interface NativeHandle {
  readonly [Symbol.toStringTag]: 'DrainprofNativeHandle';
}

/** A new native handle on the profiler behind `handle`. */
export function exportNativeHandle(handle: Handle): NativeHandle {
  const result = binding.exportHandle(handle);
  if (typeof result === 'number') throw coreError(-result, { call: 'nativeHandle' });
  Object.defineProperty(result, Symbol.toStringTag, { value: 'DrainprofNativeHandle' });
  return Object.freeze(result) as NativeHandle;
}
