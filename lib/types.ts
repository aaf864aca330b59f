/**
 * The public value types of drainprof: options, and the frozen plain objects
 * the profiler returns. Ids come back as `bigint` (lossless, one type);
 * instants are `bigint` nanoseconds on CLOCK_MONOTONIC (the clock of
 * `process.hrtime.bigint()` on Linux) in fields ending in `Ns`; durations are
 * `number` seconds in fields ending in `Sec`; counters are `number`.
 *
 * @packageDocumentation
 */

/**
 * A granule or allocation id: a non-negative safe-integer `number`, or a
 * `bigint` in [0, 2^64-1]. `5` and `5n` name the same id.
 */
export type Id = number | bigint;

/** An allocation size in bytes: a non-negative integer up to 2^53-1, as `number` or `bigint`. */
export type Size = number | bigint;

/** `'production'`: counters only, a few ns per call. `'diagnostic'`: per-allocation records, reports and site summaries. */
export type Mode = 'production' | 'diagnostic';

/** `'slot-array'`: fixed capacity of open granules. `'hash-map'`: grows as needed. */
export type Storage = 'slot-array' | 'hash-map';

/**
 * How far a pinning allocation outlived its granule, as the ratio of its
 * lifetime delta (free time - close time) to the granule's lifetime:
 * `'near_miss'` below 0.1, `'moderate'` from 0.1 to 10, `'fundamental_mismatch'`
 * above 10, `'unresolved'` while it has not been freed.
 */
export type ViolationClass = 'unresolved' | 'near_miss' | 'moderate' | 'fundamental_mismatch';

/** Where an allocation was registered. `line` and `column` are 1-based; 0 means unknown. */
export interface AllocSite {
  /** Source file: a path for CommonJS and ES modules, or whatever name the caller gave. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** Options of {@link Profiler}. Every field is optional. */
export interface ProfilerOptions {
  /** Default `'production'`. */
  mode?: Mode;
  /** Default `'slot-array'`. */
  storage?: Storage;
  /** Most granules open at once with `'slot-array'` storage: 1..2^32-1, default 1024. */
  slotCapacity?: number;
  /** Initial size of the `'hash-map'` storage: 0..2^32-1, default 64 (0 = default). */
  bucketCount?: number;
  /** Print a DSR line on stderr every this many closes: 0..2^53-1, default 0 (off). */
  logInterval?: number;
  /** Diagnostic mode: reports kept for {@link Profiler.drainReports}, oldest dropped past it; 0..2^32-1, default 1000. */
  maxBufferedReports?: number;
  /** Print a stderr line for every pinned close. Default false. */
  verbose?: boolean;
  /** Diagnostic mode: pins awaiting their free and lifetime records kept, each; 0..2^32-1, default 4096, 0 = off. */
  lifetimeLimit?: number;
  /**
   * Diagnostic mode: receive each pinning report instead of buffering it
   * (ignored in production mode). Always called asynchronously on the JS
   * thread that created the profiler, after the `granuleClose` that caused it
   * has returned, in close order, also when the close ran on another native
   * thread. Pending calls do not keep the process alive: reports still queued
   * when the process exits are not delivered. Reports queued before
   * `destroy()` are still delivered after it.
   */
  onPinning?: (report: PinningReport) => void;
  /**
   * Receives whatever `onPinning` throws. Without it, the error is emitted as
   * a process warning (`process.on('warning')`, type `'DrainprofWarning'`,
   * code `'DRAINPROF_CALLBACK_ERROR'`), as is anything `onError` throws itself.
   */
  onError?: (err: unknown) => void;
}

/** Cumulative counters (or, from {@link Profiler.sweep}, the view over open granules). */
export interface Snapshot {
  /** When it was taken: ns on CLOCK_MONOTONIC. */
  readonly timestampNs: bigint;
  /** Always `drainableCloses + pinnedCloses`. */
  readonly totalCloses: number;
  readonly drainableCloses: number;
  readonly pinnedCloses: number;
  /** Drainability satisfaction rate: drainable / total closes, 0 when there is no close. */
  readonly dsr: number;
  readonly openGranules: number;
  readonly peakOpenGranules: number;
  /** Every allocRegister call that reached the core, failed ones included. */
  readonly totalAllocs: number;
  /** Every allocDeregister call that reached the core, failed ones included. */
  readonly totalDeallocs: number;
  /** Reports dropped because the buffer was full (or maxBufferedReports is 0). */
  readonly droppedReports: number;
  /** Closes refused because the granule saw more deregisters than registers. */
  readonly unbalancedCloses: number;
  readonly failedOpens: number;
  /** Failed closes, unbalanced ones included. */
  readonly failedCloses: number;
  readonly failedRegisters: number;
  readonly failedDeregisters: number;
  /** Lifetime deltas recorded (frees of pinning allocations after their granule closed). */
  readonly lifetimeRecords: number;
  /** Pins or records dropped by the lifetime limit. */
  readonly droppedLifetimeRecords: number;
}

/** An allocation still live when its granule closed. */
export interface PinningAllocation {
  readonly allocId: bigint;
  /** Where it was registered; null when no site was recorded. */
  readonly site: AllocSite | null;
  /** When it was registered: ns on CLOCK_MONOTONIC. */
  readonly allocTimeNs: bigint;
  readonly size: number;
  /** Free time - close time in seconds; -1 while still live at report time. */
  readonly lifetimeDeltaSec: number;
}

/** What a pinned close looked like (diagnostic mode). */
export interface PinningReport {
  readonly granuleId: bigint;
  readonly openTimeNs: bigint;
  readonly closeTimeNs: bigint;
  /** Allocations live at close. */
  readonly pinningCount: number;
  /** Registrations into the granule while it was open. */
  readonly totalAllocs: number;
  /** `totalAllocs - pinningCount`. */
  readonly drainedAllocs: number;
  /** The live allocations, in registration order. */
  readonly pinningAllocs: readonly PinningAllocation[];
}

/** Lifetime-delta classes of a site's pinning allocations. */
export interface ClassCounts {
  /** Pinning allocations in buffered reports not freed yet. */
  readonly unresolved: number;
  readonly nearMiss: number;
  readonly moderate: number;
  readonly fundamentalMismatch: number;
}

/** One allocation site of a {@link DiagnosticSummary}. */
export interface SiteSummary {
  readonly site: AllocSite | null;
  /** Reports in which the site pinned at least one allocation. */
  readonly pinningCount: number;
  /** Pinning allocations made at the site. */
  readonly totalAllocs: number;
  /** Their sizes summed. */
  readonly totalBytes: number;
  readonly classCounts: ClassCounts;
  /** The most frequent resolved class (the more severe on a tie); `'unresolved'` when none is resolved. */
  readonly violationClass: ViolationClass;
}

/** Pinning allocations grouped by site, most pinning first (diagnostic mode). */
export interface DiagnosticSummary {
  /** Sorted by pinningCount then totalBytes, descending; sites seen only in lifetime records follow. */
  readonly sites: readonly SiteSummary[];
  readonly totalPinningAllocs: number;
  readonly reportsAnalyzed: number;
  readonly lifetimeRecordsAnalyzed: number;
}

/** A pinning allocation freed after its granule closed (diagnostic mode). */
export interface LifetimeRecord {
  readonly granuleId: bigint;
  readonly allocId: bigint;
  readonly site: AllocSite | null;
  readonly size: number;
  /** Close time - open time of the granule, seconds. */
  readonly granuleLifetimeSec: number;
  /** Free time - close time, seconds (>= 0). */
  readonly lifetimeDeltaSec: number;
  readonly violationClass: ViolationClass;
}

/** Options of {@link Profiler.metrics}. */
export interface MetricsOptions {
  /** Metric name prefix, default `'drainability'`. Must be a valid metric name. */
  prefix?: string;
  /** Constant labels on every sample; names must be valid label names, values are escaped. */
  labels?: Record<string, string>;
  /** OpenMetrics 1.0.0 (ends with `# EOF`) instead of the Prometheus text format 0.0.4. Default false. */
  openMetrics?: boolean;
}

/**
 * What {@link Profiler.share} returns: a structured-clonable token naming one
 * native profiler, for {@link Profiler.fromShared} in another worker_thread.
 * It does not keep the profiler alive.
 */
export interface SharedProfiler {
  readonly kind: 'drainprof.SharedProfiler';
  /** The profiler's key in the process (never reused). */
  readonly key: bigint;
}
