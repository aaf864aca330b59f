/**
 * Retained memory, measured from the process: the bytes of ArrayBuffer backing stores alive after
 * a full garbage collection (process.memoryUsage().arrayBuffers). The demo's granules are
 * ArrayBuffers, so this counts exactly the memory the allocator holds, and none of V8's heap noise.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

export type ForceGc = () => void;

let cachedGc: ForceGc | null = null;

/**
 * Returns a function that runs a full, synchronous GC. Uses global.gc when node was started with
 * --expose-gc, else enables it at run time. Also turns off V8's concurrent array-buffer sweeping:
 * with it on, a backing store freed by a GC is released later on a helper thread, and
 * memoryUsage() would lag by a sample or two.
 */
export function forceGcFunction(): ForceGc {
  if (cachedGc !== null) return cachedGc;
  v8.setFlagsFromString('--no-concurrent-array-buffer-sweeping');
  const existing = (globalThis as { gc?: unknown }).gc;
  let gc: ForceGc;
  if (typeof existing === 'function') {
    gc = existing as ForceGc;
  } else {
    v8.setFlagsFromString('--expose-gc');
    // A fresh context created after the flag is set gets the gc function.
    gc = vm.runInNewContext('gc') as ForceGc;
    if (typeof gc !== 'function') {
      throw new Error('cannot force a garbage collection in this node; run it with --expose-gc (node --expose-gc $(which drainprof) demo)');
    }
  }
  cachedGc = gc;
  return gc;
}

/** Bytes of live ArrayBuffer memory after a full GC. */
export function measureArrayBufferBytes(gc: ForceGc): number {
  gc();
  return process.memoryUsage().arrayBuffers;
}
