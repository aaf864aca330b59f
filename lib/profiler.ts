/**
 * The Profiler class: argument checks, then one native call, then plain
 * objects built here. Its batch() and granule() make the other two ways to
 * report allocations (batch.ts, granule.ts).
 *
 * @packageDocumentation
 */
import { Batch } from './batch.js';
import { binding, type Handle } from './binding.js';
import { coreError, describe, destroyedError, invalidThisError, makeError, wrongModeError, type CallContext } from './errors.js';
import { checkId } from './ids.js';
import { buildLifetimeRecords, buildReports, buildSummary, deliverPinning, type DeliveryState } from './reports.js';
import { makeGranule, type Granule } from './granule.js';
import { SiteTable } from './site.js';
import { exportNativeHandle, type NativeHandle } from './native-handle.js';
import { buildSnapshot, SNAPSHOT_LENGTH } from './snapshot.js';
import type {
  AllocSite, DiagnosticSummary, Id, LifetimeRecord, MetricsOptions, Mode, PinningReport, ProfilerOptions,
  SharedProfiler, Size, Snapshot, Storage,
} from './types.js';
import { checkSite, checkSize, optionalCount, resolveMetricsOptions, resolveOptions, U32_MAX } from './validate.js';
import { closeIn, deregisterIn, fail, openIn, registerIn, registerSiteIn, type View } from './view.js';

const MODE_VALUE: Readonly<Record<Mode, number>> = { production: 0, diagnostic: 1 };
const STORAGE_VALUE: Readonly<Record<Storage, number>> = { 'slot-array': 0, 'hash-map': 1 };
const MODES: readonly Mode[] = ['production', 'diagnostic'];
const STORAGES: readonly Storage[] = ['slot-array', 'hash-map'];

/** The `kind` of every {@link SharedProfiler} token. */
const SHARED_KIND = 'drainprof.SharedProfiler';

/** Reused by snapshot()/sweep(): filled and read synchronously. */
const scratch = new Float64Array(SNAPSHOT_LENGTH);

/** This environment's view of the native profiler (see view.ts). */
type Native = View;

/** What createProfiler/openShared return: a view and the core's configuration. */
type CreatedView = Exclude<ReturnType<typeof binding.createProfiler>, number>;

/** The failure of a native call that returns a string or data, else minus a reason. */
function check<T>(result: T | number, ctx: CallContext): T {
  if (typeof result === 'number') throw coreError(-result, ctx);
  return result;
}

/** For internal tests: the native handle of a profiler (null once destroyed). */
export let nativeHandleOf: (profiler: Profiler) => Handle | null;

/** For internal tests: a profiler's view (null once destroyed). */
export let viewOf: (profiler: Profiler) => View | null;

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
    viewOf = (profiler) => profiler.#native;
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
      this.#native = Profiler.#nativeOf(shared, MODES[shared[7]] === 'diagnostic', shared[9]);
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
    this.#native = Profiler.#nativeOf(created, diagnostic, o.slotCapacity, delivery?.files);
    this.#mode = o.mode;
    this.#storage = o.storage;
    this.#slotCapacity = o.slotCapacity;
    this.#delivery = delivery;
  }

  /** Set by fromShared() for the constructor to pick up. */
  static #opening: CreatedView | null = null;

  static #nativeOf(created: CreatedView, diagnostic: boolean, slotCapacity: number, files?: string[]): Native {
    const [handle, granuleOpen, granuleClose, allocRegister, allocRegisterSite, allocDeregister, view] = created;
    const sites = diagnostic ? new SiteTable(files) : null;
    return {
      handle, view, sites, slotCapacity, live: true, slots: null,
      granuleOpen, granuleClose, allocRegister, allocRegisterSite, allocDeregister,
    };
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

  /**
   * #live for the hot methods: reading #native off something that is not a
   * Profiler throws a TypeError by itself, so the brand check costs nothing
   * when the receiver is one (V8 checks the map it expects anyway).
   */
  static #hot(receiver: Profiler, call: string): Native {
    let native: Native | null;
    try {
      native = receiver.#native;
    } catch {
      throw invalidThisError(call, receiver);
    }
    if (native === null) throw destroyedError(call);
    return native;
  }

  /** `'production'` or `'diagnostic'`, as created. Readable after destroy(). */
  get mode(): Mode {
    if (typeof this !== 'object' || this === null || !(#native in this)) throw invalidThisError('mode', this, true);
    return this.#mode;
  }

  /** `'slot-array'` or `'hash-map'`, as created. Readable after destroy(). */
  get storage(): Storage {
    if (typeof this !== 'object' || this === null || !(#native in this)) throw invalidThisError('storage', this, true);
    return this.#storage;
  }

  /** Whether destroy() was called. */
  get destroyed(): boolean {
    if (typeof this !== 'object' || this === null || !(#native in this)) throw invalidThisError('destroyed', this, true);
    return this.#native === null;
  }

  /**
   * Opens granule `id`. Ids may be reused once closed.
   *
   * @throws Error ERR_GRANULE_ALREADY_OPEN when `id` is open (no counter moves);
   *   ERR_CAPACITY_FULL when slot-array storage holds slotCapacity open granules.
   */
  granuleOpen(id: Id): void {
    const native = Profiler.#hot(this, 'granuleOpen');
    checkId(id, 'id', 'granuleOpen');
    const result = openIn(native, id);
    if (result < 0) fail(result, 'granuleOpen', id, undefined, native.slotCapacity);
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
    const native = Profiler.#hot(this, 'granuleClose');
    checkId(id, 'id', 'granuleClose');
    const result = closeIn(native, id);
    if (result < 0) fail(result, 'granuleClose', id);
    return result === 1;
  }

  /**
   * Registers allocation `allocId` of `size` bytes in open granule `granuleId`.
   * In diagnostic mode the allocation's site is recorded: `site` when given,
   * otherwise the caller's file:line:column (the line that called allocRegister).
   * Production mode stores nothing per allocation and ignores `site`.
   *
   * One native call: in production mode with a number granule id about as
   * much as an empty N-API call. For less, see {@link granule} (no call at
   * all) and {@link batch} (one call for many events).
   *
   * @param site `"file:line:column"`, `"file:line"`, a file name alone, or an {@link AllocSite}.
   *   Capturing the caller's site costs a V8 stack capture (microseconds); an explicit
   *   site costs about as much as a production call, so pass one on hot paths.
   * @throws Error ERR_GRANULE_NOT_OPEN when the granule is not open (the call
   *   still counts in totalAllocs, as in the C library).
   */
  allocRegister(granuleId: Id, allocId: Id, size: Size, site?: string | AllocSite): void {
    const native = Profiler.#hot(this, 'allocRegister');
    checkId(granuleId, 'granuleId', 'allocRegister');
    checkId(allocId, 'allocId', 'allocRegister');
    checkSize(size, 'size', 'allocRegister');
    const sites = native.sites;
    let result: number;
    if (sites === null) {
      if (site !== undefined) checkSite(site, 'allocRegister');
      result = registerIn(native, granuleId, allocId, size);
    } else {
      result = registerSiteIn(native, sites, granuleId, allocId, size, site, kAllocRegister, 'allocRegister');
    }
    if (result < 0) fail(result, 'allocRegister', granuleId, allocId);
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
    const native = Profiler.#hot(this, 'allocDeregister');
    checkId(granuleId, 'granuleId', 'allocDeregister');
    checkId(allocId, 'allocId', 'allocDeregister');
    const result = deregisterIn(native, granuleId, allocId);
    if (result < 0) fail(result, 'allocDeregister', granuleId, allocId);
  }

  /**
   * A handle on open granule `id` whose `register()` and `deregister()` count
   * without any native call (production mode): they write this thread's own
   * counters in memory the native profiler reads (a SharedArrayBuffer slot),
   * about 1 ns each. Counts are exact: they join the granule at its close (from
   * any thread), show in snapshots and sweeps while it is open, and are folded
   * into the profiler when this Profiler (or its thread) ends.
   *
   * Use it from the thread that made it (each worker makes its own through its
   * own {@link Profiler.fromShared} view). Calling `granule(id)` again for the
   * same open granule returns the same handle. Once the granule closes (here or
   * on any thread) the handle is stale: register/deregister throw
   * ERR_GRANULE_NOT_OPEN and count as failed calls, as allocRegister into a
   * closed granule does; a stale handle never counts into a later life of the
   * id. As for every register, none may be in flight on another thread while
   * the granule closes.
   *
   * In diagnostic mode every allocation needs a record, so the handle's
   * `register(allocId, size, site?)` and `deregister(allocId)` make the same
   * native calls as allocRegister/allocDeregister (same cost, sites recorded;
   * the automatic site is the line that called `register`), with the handle's
   * staleness check in front.
   *
   * @throws Error ERR_GRANULE_NOT_OPEN when `id` is not open (no counter moves).
   */
  granule(id: Id): Granule {
    const native = Profiler.#live(this, 'granule');
    checkId(id, 'id', 'granule');
    return makeGranule(native, id);
  }

  /**
   * A batch: records granuleOpen/Close and allocRegister/Deregister calls in
   * typed arrays and runs them all in one native call at `commit()`; about 2
   * ns per recorded call in production mode. See {@link Batch}.
   *
   * @param capacity events to make room for up front, at most 65 536 (it grows
   *   as needed, so a larger hint only caps there); 0..2^32-1.
   */
  batch(capacity?: number): Batch {
    const native = Profiler.#live(this, 'batch');
    const initial = optionalCount(capacity, 'capacity', 'batch()', 0, U32_MAX, 64);
    return new Batch(native, initial);
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
   * Ends this Profiler: the counts its granule handles hold are folded into
   * the native profiler, its handles and batches throw ERR_PROFILER_DESTROYED
   * from then on, and so does every other method. When no other view
   * ({@link Profiler.fromShared} in a worker) and no native holder
   * ({@link nativeHandle}) is left, the native profiler is freed: state of
   * open granules, buffered reports, interned site names. Idempotent. Reports
   * already queued for onPinning are still delivered. A Profiler that is
   * dropped without destroy() is ended by the garbage collector (once its
   * handles and batches are unreachable too), or when its thread ends.
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
    native.live = false;
    binding.destroy(native.handle);
  }

  #diagnosticSites(native: Native, call: string): SiteTable {
    if (native.sites === null) throw wrongModeError(call);
    return native.sites;
  }
}

/** The frame above this function is the allocRegister caller's. */
const kAllocRegister: Function = Profiler.prototype.allocRegister;
