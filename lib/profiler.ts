/**
 * The Profiler class: argument checks, then one native call, then plain
 * objects built here.
 *
 * @packageDocumentation
 */
import { binding, type Handle, type HotPath } from './binding.js';
import { coreError, describe, destroyedError, invalidThisError, makeError, wrongModeError, type CallContext } from './errors.js';
import { checkId } from './ids.js';
import { buildLifetimeRecords, buildReports, buildSummary, deliverPinning, type DeliveryState } from './reports.js';
import { callerOf, SiteTable } from './site.js';
import { exportNativeHandle, type NativeHandle } from './native-handle.js';
import { buildSnapshot, SNAPSHOT_LENGTH } from './snapshot.js';
import type {
  AllocSite, DiagnosticSummary, Id, LifetimeRecord, MetricsOptions, Mode, PinningReport, ProfilerOptions,
  SharedProfiler, Size, Snapshot, Storage,
} from './types.js';
import { checkSite, checkSize, optionalCount, resolveMetricsOptions, resolveOptions, U32_MAX } from './validate.js';

const MODE_VALUE: Readonly<Record<Mode, number>> = { production: 0, diagnostic: 1 };
const STORAGE_VALUE: Readonly<Record<Storage, number>> = { 'slot-array': 0, 'hash-map': 1 };
const MODES: readonly Mode[] = ['production', 'diagnostic'];
const STORAGES: readonly Storage[] = ['slot-array', 'hash-map'];

/** The `kind` of every {@link SharedProfiler} token. */
const SHARED_KIND = 'drainprof.SharedProfiler';

/** Reused by snapshot()/sweep(): filled and read synchronously. */
const scratch = new Float64Array(SNAPSHOT_LENGTH);

/**
 * This environment's view of a native profiler: its handle, its bound
 * hot-path functions, its view number (for the hot path's call area), its file
 * table (diagnostic mode).
 */
interface Native extends HotPath {
  readonly handle: Handle;
  readonly view: number;
  readonly sites: SiteTable | null;
}

/** What createProfiler/openShared return: a view and the core's configuration. */
type CreatedView = Exclude<ReturnType<typeof binding.createProfiler>, number>;

/** The failure of a native call that returns a string or data, else minus a reason. */
function check<T>(result: T | number, ctx: CallContext): T {
  if (typeof result === 'number') throw coreError(-result, ctx);
  return result;
}

/** For internal tests: the native handle of a profiler (null once destroyed). */
export let nativeHandleOf: (profiler: Profiler) => Handle | null;

/**
 * A drainability profiler: counts how many granule closes (of slabs, arenas,
 * epochs, regions, pools) found no live allocation. In diagnostic mode it also
 * records every allocation's site and reports what pinned each pinned close.
 *
 * Every method checks its arguments before doing anything: a call rejected
 * with a TypeError or RangeError changes no counter. After {@link destroy},
 * every method throws ERR_PROFILER_DESTROYED before looking at its arguments.
 *
 * @example
 * ```ts
 * const profiler = new Profiler();
 * profiler.granuleOpen(1);
 * profiler.allocRegister(1, 100, 64);
 * profiler.allocDeregister(1, 100);
 * profiler.granuleClose(1); // true: drainable
 * console.log(profiler.snapshot().dsr); // 1
 * ```
 */
export class Profiler implements Disposable {
  #native: Native | null;
  readonly #mode: Mode;
  readonly #storage: Storage;
  readonly #slotCapacity: number;
  /** Keeps the onPinning delivery state alive: the native queue holds it weakly. */
  readonly #delivery: DeliveryState | undefined;

  static {
    nativeHandleOf = (profiler) => profiler.#native?.handle ?? null;
  }

  /**
   * Creates a profiler.
   *
   * @throws TypeError ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE, RangeError
   *   ERR_OUT_OF_RANGE for bad options; Error ERR_OUT_OF_MEMORY when the slot
   *   array (allocated up front) does not fit in memory.
   */
  constructor(options?: ProfilerOptions) {
    const shared = Profiler.#opening;
    if (shared !== null) {
      // Profiler.fromShared(): a view of a profiler another environment made.
      Profiler.#opening = null;
      this.#native = Profiler.#nativeOf(shared, MODES[shared[7]] === 'diagnostic');
      this.#mode = MODES[shared[7]]!;
      this.#storage = STORAGES[shared[8]]!;
      this.#slotCapacity = shared[9];
      this.#delivery = undefined;
      return;
    }
    const o = resolveOptions(options);
    const diagnostic = o.mode === 'diagnostic';
    const delivery = diagnostic && o.onPinning !== undefined
      ? { files: [] as string[], onPinning: o.onPinning, onError: o.onError }
      : undefined;
    const created = check(binding.createProfiler(MODE_VALUE[o.mode], STORAGE_VALUE[o.storage], o.slotCapacity,
      o.bucketCount, o.logInterval, o.maxBufferedReports, o.verbose, o.lifetimeLimit,
      delivery === undefined ? undefined : deliverPinning, delivery), { call: 'new Profiler' });
    this.#native = Profiler.#nativeOf(created, diagnostic, delivery?.files);
    this.#mode = o.mode;
    this.#storage = o.storage;
    this.#slotCapacity = o.slotCapacity;
    this.#delivery = delivery;
  }

  /** Set by fromShared() for the constructor to pick up. */
  static #opening: CreatedView | null = null;

  static #nativeOf(created: CreatedView, diagnostic: boolean, files?: string[]): Native {
    const [handle, granuleOpen, granuleClose, allocRegister, allocRegisterSite, allocDeregister, view] = created;
    const sites = diagnostic ? new SiteTable(files) : null;
    return { handle, view, sites, granuleOpen, granuleClose, allocRegister, allocRegisterSite, allocDeregister };
  }

  /**
   * A token naming this profiler, to pass to a worker_thread (postMessage,
   * workerData: it is structured-clonable) where {@link Profiler.fromShared}
   * turns it into a Profiler of its own over the same counters. Granules,
   * counters, reports and sites are shared; each thread's calls count into
   * the one native profiler, exactly.
   *
   * The token does not keep the profiler alive: keep this Profiler (or
   * another view) alive until the receiver has called fromShared().
   */
  share(): SharedProfiler {
    const native = Profiler.#live(this, 'share');
    const key = binding.shareKey(native.handle);
    if (typeof key === 'number') throw coreError(-key, { call: 'share' });
    return Object.freeze({ kind: SHARED_KIND, key });
  }

  /**
   * A view, in this environment (main thread or worker), of the profiler a
   * {@link Profiler.share} token names. Views are equal peers: every method
   * works on each; `destroy()` (or garbage collection, or the environment's
   * end) ends only that view, and the native profiler is freed when its last
   * view (or native holder) is gone. Foreign-slot counts of a view that ends
   * are folded into the profiler first, never lost. `onPinning` is delivered
   * to the creating Profiler's thread while that Profiler lives; after it
   * ends, callback reports are dropped. Buffered reports can be drained from
   * any view.
   *
   * @throws TypeError ERR_INVALID_ARG_TYPE when `token` is not a share() token.
   * @throws Error ERR_PROFILER_DESTROYED when every view of the profiler has
   *   already ended, so it no longer exists.
   */
  static fromShared(token: SharedProfiler): Profiler {
    if (typeof token !== 'object' || token === null || (token as { kind?: unknown }).kind !== SHARED_KIND ||
      typeof (token as { key?: unknown }).key !== 'bigint') {
      throw makeError('ERR_INVALID_ARG_TYPE',
        `Profiler.fromShared(): token must be what profiler.share() returned; received ${describe(token)}`);
    }
    const opened = check(binding.openShared(token.key), { call: 'Profiler.fromShared' });
    Profiler.#opening = opened;
    try {
      return new Profiler();
    } finally {
      Profiler.#opening = null;
    }
  }

  /** The native profiler behind `receiver`, or the error a call on it deserves. */
  static #live(receiver: unknown, call: string): Native {
    if (typeof receiver !== 'object' || receiver === null || !(#native in receiver)) {
      throw invalidThisError(call, receiver);
    }
    const native = (receiver as Profiler).#native;
    if (native === null) throw destroyedError(call);
    return native;
  }

  /** `'production'` or `'diagnostic'`, as created. Readable after destroy(). */
  get mode(): Mode {
    if (typeof this !== 'object' || this === null || !(#native in this)) throw invalidThisError('mode', this);
    return this.#mode;
  }

  /** `'slot-array'` or `'hash-map'`, as created. Readable after destroy(). */
  get storage(): Storage {
    if (typeof this !== 'object' || this === null || !(#native in this)) throw invalidThisError('storage', this);
    return this.#storage;
  }

  /** Whether destroy() was called. */
  get destroyed(): boolean {
    if (typeof this !== 'object' || this === null || !(#native in this)) throw invalidThisError('destroyed', this);
    return this.#native === null;
  }

  /**
   * Opens granule `id`. Ids may be reused once closed.
   *
   * @throws Error ERR_GRANULE_ALREADY_OPEN when `id` is open (no counter moves);
   *   ERR_CAPACITY_FULL when slot-array storage holds slotCapacity open granules.
   */
  granuleOpen(id: Id): void {
    const native = Profiler.#live(this, 'granuleOpen');
    checkId(id, 'id', 'granuleOpen');
    const result = native.granuleOpen(id);
    if (result < 0) throw coreError(-result, { call: 'granuleOpen', granuleId: id, slotCapacity: this.#slotCapacity });
  }

  /**
   * Closes granule `id`.
   *
   * @returns true when the granule was drainable (no live allocation), false when pinned.
   *   In diagnostic mode a pinned close produces a report (buffered, or passed to onPinning).
   * @throws Error ERR_GRANULE_NOT_OPEN when `id` is not open; ERR_UNBALANCED_CLOSE
   *   when it saw more deregisters than registers (it is released, no close is counted).
   */
  granuleClose(id: Id): boolean {
    const native = Profiler.#live(this, 'granuleClose');
    checkId(id, 'id', 'granuleClose');
    const result = native.granuleClose(id);
    if (result < 0) throw coreError(-result, { call: 'granuleClose', granuleId: id });
    return result === 1;
  }

  /**
   * Registers allocation `allocId` of `size` bytes in open granule `granuleId`.
   * In diagnostic mode the allocation's site is recorded: `site` when given,
   * otherwise the caller's file:line:column (the line that called allocRegister).
   * Production mode stores nothing per allocation and ignores `site`.
   *
   * @param site `"file:line:column"`, `"file:line"`, a file name alone, or an {@link AllocSite}.
   *   Capturing the caller's site costs a V8 stack capture (microseconds); an explicit
   *   site costs about as much as a production call, so pass one on hot paths.
   * @throws Error ERR_GRANULE_NOT_OPEN when the granule is not open (the call
   *   still counts in totalAllocs, as in the C library).
   */
  allocRegister(granuleId: Id, allocId: Id, size: Size, site?: string | AllocSite): void {
    const native = Profiler.#live(this, 'allocRegister');
    checkId(granuleId, 'granuleId', 'allocRegister');
    checkId(allocId, 'allocId', 'allocRegister');
    checkSize(size, 'size', 'allocRegister');
    let result: number;
    const sites = native.sites;
    if (sites === null) {
      if (site !== undefined) checkSite(site, 'allocRegister');
      result = native.allocRegister(granuleId, allocId, size);
    } else if (site === undefined) {
      const caller = callerOf(kAllocRegister);
      const resolved = caller === undefined ? null : sites.resolveCaptured(native.handle, caller);
      result = resolved === null
        ? native.allocRegister(granuleId, allocId, size)
        : native.allocRegisterSite(granuleId, allocId, size, resolved.file, resolved.line, resolved.column);
    } else if (typeof site === 'string') {
      const resolved = sites.resolveString(native.handle, site, 'allocRegister');
      result = native.allocRegisterSite(granuleId, allocId, size, resolved.file, resolved.line, resolved.column);
    } else {
      const explicit = checkSite(site, 'allocRegister');
      result = native.allocRegisterSite(granuleId, allocId, size, sites.intern(native.handle, explicit.file),
        explicit.line, explicit.column);
    }
    if (result < 0) throw coreError(-result, { call: 'allocRegister', granuleId, allocId });
  }

  /**
   * Deregisters allocation `allocId` from granule `granuleId`. In diagnostic
   * mode this frees the oldest live registration of `allocId`, and also
   * accepts the free of an allocation that pinned an already closed granule
   * (recording its lifetime delta).
   *
   * @throws Error ERR_GRANULE_NOT_OPEN when the granule is not open;
   *   ERR_ALLOC_NOT_LIVE (diagnostic) when `allocId` has no live registration there.
   */
  allocDeregister(granuleId: Id, allocId: Id): void {
    const native = Profiler.#live(this, 'allocDeregister');
    checkId(granuleId, 'granuleId', 'allocDeregister');
    checkId(allocId, 'allocId', 'allocDeregister');
    const result = native.allocDeregister(granuleId, allocId);
    if (result < 0) throw coreError(-result, { call: 'allocDeregister', granuleId, allocId });
  }

  /** The cumulative counters now. Lock-free in the core; cheap enough to poll. */
  snapshot(): Snapshot {
    const native = Profiler.#live(this, 'snapshot');
    const result = binding.snapshot(native.handle, scratch);
    if (result < 0) throw coreError(-result, { call: 'snapshot' });
    return buildSnapshot(scratch);
  }

  /**
   * The view over the granules open now: drainableCloses = open granules with
   * no live allocation, pinnedCloses = the rest, totalCloses their sum. Other
   * fields as in {@link snapshot}. Changes nothing.
   */
  sweep(): Snapshot {
    const native = Profiler.#live(this, 'sweep');
    const result = binding.sweep(native.handle, scratch);
    if (result < 0) throw coreError(-result, { call: 'sweep' });
    return buildSnapshot(scratch);
  }

  /** Clears every counter (peak included) and all state: open granules are forgotten, buffered reports and lifetime data dropped. */
  reset(): void {
    const native = Profiler.#live(this, 'reset');
    const result = binding.reset(native.handle);
    if (result < 0) throw coreError(-result, { call: 'reset' });
  }

  /**
   * Takes up to `max` buffered pinning reports, oldest first (diagnostic mode
   * without onPinning; with onPinning nothing is buffered and this returns []).
   *
   * @param max 0..2^32-1, default all.
   * @throws Error ERR_WRONG_MODE on a production profiler.
   */
  drainReports(max?: number): PinningReport[] {
    const native = Profiler.#live(this, 'drainReports');
    const count = optionalCount(max, 'max', 'drainReports()', 0, U32_MAX, U32_MAX);
    const sites = this.#diagnosticSites(native, 'drainReports');
    return buildReports(check(binding.drainReports(native.handle, count), { call: 'drainReports' }), sites.files);
  }

  /**
   * Groups the pinning allocations of the buffered reports by site, with the
   * violation classes of those freed since (lifetime records). Does not
   * consume reports. With onPinning there are no buffered reports, so the
   * sites come from lifetime records only.
   *
   * @throws Error ERR_WRONG_MODE on a production profiler.
   */
  diagnosticSummary(): DiagnosticSummary {
    const native = Profiler.#live(this, 'diagnosticSummary');
    const sites = this.#diagnosticSites(native, 'diagnosticSummary');
    return buildSummary(check(binding.diagnosticSummary(native.handle), { call: 'diagnosticSummary' }), sites.files);
  }

  /**
   * The lifetime deltas recorded so far (pinning allocations freed after their
   * granule closed), oldest first, up to `max`. Does not consume them.
   *
   * @param max 0..2^32-1, default all (at most lifetimeLimit are kept).
   * @throws Error ERR_WRONG_MODE on a production profiler.
   */
  lifetimeRecords(max?: number): LifetimeRecord[] {
    const native = Profiler.#live(this, 'lifetimeRecords');
    const count = optionalCount(max, 'max', 'lifetimeRecords()', 0, U32_MAX, U32_MAX);
    const sites = this.#diagnosticSites(native, 'lifetimeRecords');
    return buildLifetimeRecords(check(binding.lifetimeRecords(native.handle, count), { call: 'lifetimeRecords' }),
      sites.files);
  }

  /**
   * A human-readable report: the DSR line, totals, then up to `maxSites` top
   * pinning sites with their class and bytes (0 = all, the default). Works in
   * every mode; production shows the counters only.
   */
  textReport(maxSites?: number): string {
    const native = Profiler.#live(this, 'textReport');
    const count = optionalCount(maxSites, 'maxSites', 'textReport()', 0, U32_MAX, 0);
    return check(binding.textReport(native.handle, count), { call: 'textReport' });
  }

  /**
   * The counters in the Prometheus text format 0.0.4, or OpenMetrics 1.0.0
   * with `openMetrics: true`: closes by outcome, open and peak granules,
   * allocations, deallocations, the ratio, unbalanced closes, dropped reports.
   *
   * @throws TypeError ERR_INVALID_ARG_VALUE when the prefix or a label name is not a valid name.
   */
  metrics(options?: MetricsOptions): string {
    const native = Profiler.#live(this, 'metrics');
    const o = resolveMetricsOptions(options);
    return check(binding.metrics(native.handle, o.prefix, o.labelNames, o.labelValues, o.openMetrics), {
      call: 'metrics',
      invalid: 'options.prefix must be a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) and each label name a label name ' +
        '([a-zA-Z_][a-zA-Z0-9_]*)',
    });
  }

  /**
   * A handle that gives this profiler to another native addon (one built with
   * `drainprof/native`), whose C code then counts into it through drainprof.h,
   * from any thread. The addon's acquire keeps the C profiler alive until it
   * releases it, even after destroy(). See {@link NativeHandle}.
   */
  nativeHandle(): NativeHandle {
    const native = Profiler.#live(this, 'nativeHandle');
    return exportNativeHandle(native.handle);
  }

  /**
   * Frees the native profiler: state of open granules, buffered reports,
   * interned site names. Idempotent. Reports already queued for onPinning are
   * still delivered. Every other method throws ERR_PROFILER_DESTROYED after it.
   * A profiler that is dropped without destroy() is freed by the garbage collector.
   */
  destroy(): void {
    Profiler.#destroy(this, 'destroy');
  }

  /** destroy(), so that `using profiler = new Profiler()` frees it at the end of the scope. */
  [Symbol.dispose](): void {
    Profiler.#destroy(this, 'Symbol.dispose');
  }

  static #destroy(receiver: unknown, call: string): void {
    if (typeof receiver !== 'object' || receiver === null || !(#native in receiver)) {
      throw invalidThisError(call, receiver);
    }
    const profiler = receiver as Profiler;
    const native = profiler.#native;
    if (native === null) return;
    profiler.#native = null;
    binding.destroy(native.handle);
  }

  #diagnosticSites(native: Native, call: string): SiteTable {
    if (native.sites === null) throw wrongModeError(call);
    return native.sites;
  }
}

/** The frame above this function is the allocRegister caller's. */
const kAllocRegister: Function = Profiler.prototype.allocRegister;
