/**
 * The native addon, loaded once per environment (main thread or worker) with
 * node-gyp-build: prebuilds/ first, then build/Release. Internal: its shape
 * is the glue's, not a public API.
 *
 * @packageDocumentation
 * @internal
 */
import * as path from 'node:path';

/** Negative results are minus a reason (see errors.ts); packed data is [u64, f64, extraFiles]. */
export type Packed = [BigUint64Array, Float64Array, string[]];

/** Hot-path functions bound to one native profiler. */
export interface HotPath {
  granuleOpen(id: number | bigint): number;
  granuleClose(id: number | bigint): number;
  allocRegister(granuleId: number | bigint, allocId: number | bigint, size: number | bigint): number;
  allocRegisterSite(granuleId: number | bigint, allocId: number | bigint, size: number | bigint,
    file: number, line: number, column: number): number;
  allocDeregister(granuleId: number | bigint, allocId: number | bigint): number;
}

/** An opaque, type-tagged handle of a native profiler. */
export type Handle = object & { readonly __drainprofHandle?: never };

/** One environment's view of a native profiler, as createProfiler/openShared return it. */
export type View = [Handle, HotPath['granuleOpen'], HotPath['granuleClose'], HotPath['allocRegister'],
  HotPath['allocRegisterSite'], HotPath['allocDeregister'], view: number, mode: number, storage: number,
  slotCapacity: number];

/** Called on the JS thread with each pinning report of a callback-mode profiler. */
export type Deliver = (state: object | undefined, u64: BigUint64Array, f64: Float64Array, extra: string[]) => void;

export interface NativeBinding {
  /** A view: [handle, bound hot-path functions..., view index, mode, storage, slotCapacity], or -reason. */
  createProfiler(mode: number, storage: number, slotCapacity: number, bucketCount: number, logInterval: number,
    maxBufferedReports: number, verbose: boolean, lifetimeLimit: number,
    deliver: Deliver | undefined, state: object | undefined): View | number;
  /** The process-wide key of the view's profiler (see native/shared_core.cc), or -reason. */
  shareKey(handle: Handle): bigint | number;
  /** A new view in this environment of the profiler registered under `key`, or -reason. */
  openShared(key: bigint): View | number;
  intern(handle: Handle, file: string): number;
  snapshot(handle: Handle, out: Float64Array): number;
  sweep(handle: Handle, out: Float64Array): number;
  reset(handle: Handle): number;
  drainReports(handle: Handle, max: number): Packed | number;
  diagnosticSummary(handle: Handle): Packed | number;
  lifetimeRecords(handle: Handle, max: number): Packed | number;
  textReport(handle: Handle, maxSites: number): string | number;
  metrics(handle: Handle, prefix: string | null, names: string[], values: string[], openMetrics: boolean): string | number;
  destroy(handle: Handle): void;

  /**
   * The call area: the environment's Float64Array over a SharedArrayBuffer that
   * the hot* functions read their arguments from ([0] view, [1] id, and for
   * diagnostic registrations [3] alloc id, [4] size, [5] file, [6] line, [7]
   * column) and write results to ([2]). Returns the area already adopted, if any.
   */
  adoptCallArea(area: Float64Array): Float64Array;
  /** granuleOpen of call area's id: undefined, or null with -reason in [2]. */
  hotOpen(): undefined | null;
  /** granuleClose: always writes [2] = 1 drainable, 0 pinned, < 0 -reason. */
  hotClose(): undefined;
  /** Production allocRegister: undefined, or null with -reason in [2]. */
  hotRegister(): undefined | null;
  /** allocDeregister ([3] alloc id in diagnostic mode): undefined, or null with -reason in [2]. */
  hotDeregister(): undefined | null;
  /** Diagnostic allocRegister, [3] alloc id, [4] size, [5] file index (-1 none), [6] line, [7] column. */
  hotRegisterSite(): undefined | null;
  /** Runs `runs` batch events in order, outcome of each in results; -> failed runs | -reason. */
  commitBatch(handle: Handle, events: Uint32Array, runs: number, results: Int32Array): number;

  /** Adopts a slab of foreign counter slots (Float64Array over a SharedArrayBuffer); -> slab number | -reason. */
  adoptSlab(handle: Handle, slab: Float64Array): number;
  /** Attaches a slot to an open granule; -> its token (> 0) | -reason. */
  attach(handle: Handle, slab: number, slot: number, granuleId: number | bigint): number;
  /** Folds a slot's counts into the core and zeroes them; -> 1, 0 when it is not attached | -reason. */
  fold(handle: Handle, slab: number, slot: number): number;
  /** Detaches a slot, folding its counts; -> 1, 0 when it was not attached | -reason. */
  detach(handle: Handle, slab: number, slot: number): number;
  /** Counts a handle call refused for a released slot; -> -reason (ERR_GRANULE_NOT_OPEN's). */
  refused(handle: Handle, deregister: boolean): number;
  /** A native handle for another addon (see native-handle.ts), or -reason. */
  exportHandle(handle: Handle): object | number;
  readonly napiVersion: number;
  /** For the test suite only. */
  readonly testHooks: {
    closeOnThread(handle: Handle, granuleId: number | bigint): number;
    /** [glue states allocated, views not destroyed] in this environment. */
    liveProfilers(): [number, number];
    /** C profilers alive in the process, all environments. */
    liveCores(): number;
    /** Native threads register then deregister on a granule; -> calls that failed. */
    countOnThreads(handle: Handle, granuleId: number | bigint, threads: number, registers: number,
      deregisters: number): number;
    /** ns a C loop of n operations took (op 0 register, 1 deregister, 2 open+close, 3 register+deregister). */
    cLoop(handle: Handle, op: number, granuleId: number | bigint, n: number): number;
    /** A raw N-API function that does nothing. */
    empty(...args: unknown[]): undefined;
  };
}

const load = require('node-gyp-build') as (dir: string) => unknown;

/** The addon of this environment. */
export const binding = load(path.join(__dirname, '..')) as NativeBinding;

/** This environment's call area (see NativeBinding.adoptCallArea). */
export const callArea: Float64Array = binding.adoptCallArea(new Float64Array(new SharedArrayBuffer(64)));
