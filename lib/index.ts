/**
 * drainprof: find structural memory leaks in coarse-grained allocators (slab,
 * arena, epoch, region, pool) by measuring the drainability satisfaction rate
 * (DSR) of granule closes.
 *
 * @example
 * ```ts
 * import { Profiler } from 'drainprof';
 * const profiler = new Profiler();
 * profiler.granuleOpen(1);
 * profiler.allocRegister(1, 100, 64);
 * profiler.allocDeregister(1, 100);
 * profiler.granuleClose(1);
 * profiler.snapshot().dsr; // 1
 * ```
 *
 * @packageDocumentation
 */
export { Profiler } from './profiler.js';
export type { Batch, BatchCall, BatchFailure, BatchResult } from './batch.js';
export type { Granule } from './granule.js';
export { ERROR_CODES, type DrainprofError, type ErrorCode } from './errors.js';
export { MAX_ID } from './ids.js';
export type { NativeHandle } from './native-handle.js';
export type {
  AllocSite, ClassCounts, DiagnosticSummary, Id, LifetimeRecord, MetricsOptions, Mode, PinningAllocation,
  PinningReport, ProfilerOptions, SharedProfiler, SiteSummary, Size, Snapshot, Storage, ViolationClass,
} from './types.js';
