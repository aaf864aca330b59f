/**
 * ES module entry of drainprof: the same objects as the CommonJS entry (one
 * module instance, so `instanceof Profiler` holds across both).
 *
 * @packageDocumentation
 */
export { ERROR_CODES, MAX_ID, Profiler } from './index.js';
export type {
  AllocSite, Batch, BatchCall, BatchFailure, BatchResult, ClassCounts, DiagnosticSummary, Granule, DrainprofError, ErrorCode, Id, LifetimeRecord, MetricsOptions, Mode,
  NativeHandle, PinningAllocation, PinningReport, ProfilerOptions, SharedProfiler, SiteSummary, Size, Snapshot, Storage,
  ViolationClass,
} from './index.js';
