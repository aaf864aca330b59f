/**
 * Batches: `profiler.batch()` records granuleOpen/Close and
 * allocRegister/Deregister calls in typed arrays, and `commit()` runs them all
 * in one native call.
 *
 * Ids are split into two uint32 halves as they are recorded, so number ids
 * need no BigInt. In production mode consecutive allocRegister/allocDeregister
 * calls on the same granule are kept as one run (how many registers, how many
 * deregisters) that the core counts in one step (drainprof_ext_alloc_count);
 * the counters move exactly as the separate calls would move them, and all of
 * the run succeeds or fails together (none of its calls can change whether the
 * granule is open). In diagnostic mode every call is its own event, with its
 * alloc id, size and interned site.
 *
 * @packageDocumentation
 */
import { binding } from './binding.js';
import { coreError, destroyedError, invalidThisError, reasonCode, type DrainprofError, type ErrorCode } from './errors.js';
import { checkId } from './ids.js';
import { callerOf } from './site.js';
import type { AllocSite, Id, Size } from './types.js';
import { checkSite, checkSize } from './validate.js';
import type { View } from './view.js';

/** Event ops and layouts: native/hot_path.cc reads the same. */
const OP_OPEN = 1;
const OP_CLOSE = 2;
const OP_COUNT = 3;
const OP_REGISTER = 4;
const OP_DEREGISTER = 5;
/** Production: op, granule lo, granule hi, registers, deregisters. */
const STRIDE_PRODUCTION = 5;
/** Diagnostic: op, granule lo, granule hi, alloc lo, alloc hi, size lo, size hi, file, line, column. */
const STRIDE_DIAGNOSTIC = 10;
/** Set in a count run's op word when its first call was a deregister (native masks it off). */
const FIRST_DEREGISTER = 0x100;
const NO_FILE = 0xffff_ffff;
/** Most calls one count run holds (each of registers, deregisters): a small integer to V8. */
const RUN_LIMIT = 0x7fff_ffff;
const TWO_32 = 4294967296;

/** The calls a batch records. */
export type BatchCall = 'granuleOpen' | 'granuleClose' | 'allocRegister' | 'allocDeregister';

/** Calls of a batch that failed. */
export interface BatchFailure {
  /** The first failed call's position among the batch's calls (0-based, recording order). */
  readonly index: number;
  /**
   * How many consecutive calls from `index` failed together: 1, or in
   * production mode a run of allocRegister/allocDeregister calls on one
   * granule, which succeed or fail as one.
   */
  readonly count: number;
  /** The call at `index`. */
  readonly call: BatchCall;
  readonly granuleId: bigint;
  /** The code the same call made alone would have thrown. */
  readonly code: ErrorCode;
}

/** What {@link Batch.commit} did. */
export interface BatchResult {
  /** Calls committed. */
  readonly calls: number;
  /** Calls that failed: the failures' counts summed. */
  readonly failed: number;
  /**
   * One entry per granuleClose call, in recording order: 1 drainable, 0
   * pinned, -1 failed (its error is among the failures).
   */
  readonly closes: Int8Array;
  /** Failed calls in recording order; empty when all succeeded. */
  readonly failures: readonly BatchFailure[];
  /** The error the first failed call would have thrown alone, or null. */
  readonly firstError: DrainprofError | null;
}

const CALL_OF_OP: Readonly<Record<number, BatchCall>> = {
  [OP_OPEN]: 'granuleOpen',
  [OP_CLOSE]: 'granuleClose',
  [OP_REGISTER]: 'allocRegister',
  [OP_DEREGISTER]: 'allocDeregister',
};

function low(id: number | bigint): number {
  return typeof id === 'number' ? id >>> 0 : Number(id & 0xffff_ffffn);
}

function high(id: number | bigint): number {
  return typeof id === 'number' ? (id - (id >>> 0)) / TWO_32 : Number(id >> 32n);
}

/**
 * Calls recorded now, run later in one native call: `commit()` runs every
 * recorded call in order, whatever fails, and returns what each did. A batch
 * is reusable: commit() (and clear()) empty it. Arguments are checked as the
 * Profiler's methods check them, when the call is recorded: a rejected call
 * throws at once and is not recorded. A batch belongs to the thread that made
 * it (like its Profiler).
 *
 * When to use it: many calls that can wait until a known point (the end of a
 * request, a tick): about 2 ns per call in production mode, against one
 * native call each (~10 ns) for the Profiler's methods. In diagnostic mode
 * every call still makes its core call, but all in one crossing; sites are
 * resolved when the call is recorded (an explicit site is parsed and interned
 * once; the automatic site costs a stack capture per call).
 *
 * Errors: commit() throws only ERR_PROFILER_DESTROYED (nothing runs then).
 * Failed calls do not stop the others; each failure is in the result with
 * the code the call alone would have thrown, and `firstError` is that error
 * for the first; `commitOrThrow()` commits and then throws it.
 */
/** The most events a batch reserves room for up front; it grows past it as needed. */
const MAX_RESERVED = 1 << 16;

export class Batch {
  readonly #view: View;
  readonly #stride: number;
  #events: Uint32Array;
  #results: Int32Array;
  #runs = 0;
  /** Calls recorded, but for those the open count run holds beyond its first. */
  #calls = 0;
  #closes = 0;
  /**
   * The granule id of the last run when it is a production count run: a
   * number id in #countNumber (-1: none), a bigint one in #countBigint (-1n:
   * none). Two fields of one type each, so the hot compare is a plain number
   * compare (a field that may hold either makes V8 call its generic ===).
   */
  #countNumber = -1;
  #countBigint = -1n;
  /** Index of that run's registers word (its deregisters word follows). */
  #countAt = 0;
  /**
   * That run's counts, kept in fields while it grows and written to its words
   * when the next event starts or at commit: a field increment is cheaper
   * than a typed-array read-modify-write chain.
   */
  #registers = 0;
  #deregisters = 0;

  /** @internal Made by {@link Profiler.batch}. */
  constructor(view: View, capacity: number) {
    this.#view = view;
    this.#stride = view.sites === null ? STRIDE_PRODUCTION : STRIDE_DIAGNOSTIC;
    // The capacity is a hint: the arrays grow as needed, so reserving more
    // than MAX_RESERVED events up front would only risk a huge typed array
    // (V8 throws an uncoded RangeError past its length limit).
    this.#events = new Uint32Array(Math.min(Math.max(capacity, 8), MAX_RESERVED) * this.#stride);
    this.#results = new Int32Array(0);
  }

  /**
   * The view behind `receiver`, or ERR_INVALID_ARG_TYPE when it is not a
   * Batch. Reading #view off something else throws a TypeError by itself, so
   * the check costs nothing on a Batch (as Profiler's #hot).
   */
  static #viewOf(receiver: Batch, call: string, getter = false): View {
    try {
      return receiver.#view;
    } catch {
      throw invalidThisError(call, receiver, getter, 'Batch', 'batch');
    }
  }

  /** Calls recorded since the last commit or clear. */
  get size(): number {
    Batch.#viewOf(this, 'size', true);
    return this.#callCount();
  }

  /** Records granuleOpen(id). */
  granuleOpen(id: Id): void {
    if (Batch.#viewOf(this, 'granuleOpen').live === false) throw destroyedError('Batch.granuleOpen');
    checkId(id, 'id', 'Batch.granuleOpen');
    this.#event(OP_OPEN, id);
  }

  /** Records granuleClose(id); its outcome is in the result's `closes`. */
  granuleClose(id: Id): void {
    if (Batch.#viewOf(this, 'granuleClose').live === false) throw destroyedError('Batch.granuleClose');
    checkId(id, 'id', 'Batch.granuleClose');
    this.#event(OP_CLOSE, id);
    this.#closes++;
  }

  /**
   * Records allocRegister(granuleId, allocId, size, site?). In diagnostic
   * mode the site is resolved now: `site`, or the line that called this.
   */
  allocRegister(granuleId: Id, allocId: Id, size: Size, site?: string | AllocSite): void {
    let view: View;
    try {
      view = this.#view;
    } catch {
      throw invalidThisError('allocRegister', this, false, 'Batch', 'batch');
    }
    if (view.live === false) throw destroyedError('Batch.allocRegister');
    checkId(granuleId, 'granuleId', 'Batch.allocRegister');
    checkId(allocId, 'allocId', 'Batch.allocRegister');
    checkSize(size, 'size', 'Batch.allocRegister');
    if (view.sites !== null) {
      this.#siteEvent(view, granuleId, allocId, size, site);
      return;
    }
    if (site !== undefined) checkSite(site, 'Batch.allocRegister');
    // Production: join the last run when it counts the same granule.
    if ((typeof granuleId === 'number' ? granuleId === this.#countNumber : granuleId === this.#countBigint) &&
      this.#registers < RUN_LIMIT) {
      this.#registers++;
      return;
    }
    this.#countRun(granuleId, 1, 0);
  }

  /** Records allocDeregister(granuleId, allocId). */
  allocDeregister(granuleId: Id, allocId: Id): void {
    let view: View;
    try {
      view = this.#view;
    } catch {
      throw invalidThisError('allocDeregister', this, false, 'Batch', 'batch');
    }
    if (view.live === false) throw destroyedError('Batch.allocDeregister');
    checkId(granuleId, 'granuleId', 'Batch.allocDeregister');
    checkId(allocId, 'allocId', 'Batch.allocDeregister');
    if (view.sites !== null) {
      const e = this.#event(OP_DEREGISTER, granuleId);
      this.#events[e + 3] = low(allocId);
      this.#events[e + 4] = high(allocId);
      return;
    }
    if ((typeof granuleId === 'number' ? granuleId === this.#countNumber : granuleId === this.#countBigint) &&
      this.#deregisters < RUN_LIMIT) {
      this.#deregisters++;
      return;
    }
    this.#countRun(granuleId, 0, 1);
  }

  /** Forgets the recorded calls without running them. */
  clear(): void {
    Batch.#viewOf(this, 'clear');
    this.#runs = 0;
    this.#calls = 0;
    this.#closes = 0;
    this.#countNumber = -1;
    this.#countBigint = -1n;
    this.#registers = 0;
    this.#deregisters = 0;
  }

  /**
   * Runs every recorded call in order, in one native call, and empties the
   * batch. Failed calls do not stop the rest.
   *
   * @throws Error ERR_PROFILER_DESTROYED after destroy() (nothing runs; the
   *   batch keeps its calls).
   */
  commit(): BatchResult {
    const view = Batch.#viewOf(this, 'commit');
    if (view.live === false) throw destroyedError('Batch.commit');
    const calls = this.#callCount();
    this.#endCountRun();
    const runs = this.#runs;
    if (this.#results.length < runs) this.#results = new Int32Array(Math.max(runs, this.#results.length * 2));
    const results = this.#results;
    const failedRuns = runs === 0 ? 0 : binding.commitBatch(view.handle, this.#events, runs, results);
    if (failedRuns < 0) throw coreError(-failedRuns, { call: 'Batch.commit' });
    const result = this.#closes === 0 && failedRuns === 0
      ? Object.freeze({ calls, failed: 0, closes: NO_CLOSES, failures: NO_FAILURES, firstError: null })
      : buildResult(this.#events, this.#stride, runs, results, calls, this.#closes);
    this.clear();
    return result;
  }

  /**
   * commit(), then throws the first failed call's error (with the whole
   * result as its `batchResult` property) when any failed.
   */
  commitOrThrow(): BatchResult {
    Batch.#viewOf(this, 'commitOrThrow');
    const result = this.commit();
    if (result.firstError !== null) {
      Object.defineProperty(result.firstError, 'batchResult', { value: result, configurable: true, writable: true });
      throw result.firstError;
    }
    return result;
  }

  /** Writes the open count run's counts to its words; no count run is open afterwards. */
  #endCountRun(): void {
    if (!this.#countRunOpen()) return;
    const events = this.#events;
    events[this.#countAt] = this.#registers;
    events[this.#countAt + 1] = this.#deregisters;
    this.#calls += this.#registers + this.#deregisters - 1;
    this.#countNumber = -1;
    this.#countBigint = -1n;
  }

  #countRunOpen(): boolean {
    return this.#countNumber !== -1 || this.#countBigint !== -1n;
  }

  /** Calls recorded, in O(1). */
  #callCount(): number {
    return this.#countRunOpen() ? this.#calls + this.#registers + this.#deregisters - 1 : this.#calls;
  }

  /** Room for one more event; returns its offset, with op and granule written. */
  #event(op: number, granuleId: Id): number {
    this.#endCountRun();
    const stride = this.#stride;
    let events = this.#events;
    const e = this.#runs * stride;
    if (e + stride > events.length) events = this.#grow();
    events[e] = op;
    events[e + 1] = low(granuleId);
    events[e + 2] = high(granuleId);
    this.#runs++;
    this.#calls++;
    return e;
  }

  #grow(): Uint32Array {
    const grown = new Uint32Array(this.#events.length * 2);
    grown.set(this.#events);
    return this.#events = grown;
  }

  /** A new production run counting `registers` and `deregisters` on `granuleId`. */
  #countRun(granuleId: Id, registers: number, deregisters: number): void {
    const e = this.#event(registers !== 0 ? OP_COUNT : OP_COUNT | FIRST_DEREGISTER, granuleId);
    if (typeof granuleId === 'number') this.#countNumber = granuleId;
    else this.#countBigint = granuleId;
    this.#countAt = e + 3;
    this.#registers = registers;
    this.#deregisters = deregisters;
  }

  /** A diagnostic register event, its site resolved now. */
  #siteEvent(view: View, granuleId: Id, allocId: Id, size: Size, site: string | AllocSite | undefined): void {
    const sites = view.sites!;
    let file = NO_FILE;
    let line = 0;
    let column = 0;
    if (site === undefined) {
      const caller = callerOf(kAllocRegister);
      const resolved = caller === undefined ? null : sites.resolveCaptured(view.handle, caller);
      if (resolved !== null) ({ file, line, column } = resolved);
    } else if (typeof site === 'string') {
      ({ file, line, column } = sites.resolveString(view.handle, site, 'Batch.allocRegister'));
    } else {
      const explicit = checkSite(site, 'Batch.allocRegister');
      file = sites.intern(view.handle, explicit.file);
      line = explicit.line;
      column = explicit.column;
    }
    const e = this.#event(OP_REGISTER, granuleId);
    const events = this.#events;
    events[e + 3] = low(allocId);
    events[e + 4] = high(allocId);
    events[e + 5] = low(size);
    events[e + 6] = high(size);
    events[e + 7] = file;
    events[e + 8] = line;
    events[e + 9] = column;
  }
}

const NO_CLOSES = new Int8Array(0);
const NO_FAILURES: readonly BatchFailure[] = Object.freeze([]);

/** The result of a commit with closes or failures: walks the runs once. */
function buildResult(events: Uint32Array, stride: number, runs: number, results: Int32Array, calls: number,
  closeCount: number): BatchResult {
  const closes = new Int8Array(closeCount);
  const failures: BatchFailure[] = [];
  let failed = 0;
  let call = 0;
  let close = 0;
  let firstReason = 0;
  for (let r = 0; r < runs; r++) {
    const e = r * stride;
    const word = events[e]!;
    const op = word & 0xff;
    const outcome = results[r]!;
    const n = op === OP_COUNT ? events[e + 3]! + events[e + 4]! : 1;
    if (op === OP_CLOSE) closes[close++] = outcome < 0 ? -1 : outcome;
    if (outcome < 0) {
      const name = op === OP_COUNT
        ? ((word & FIRST_DEREGISTER) === 0 ? 'allocRegister' : 'allocDeregister')
        : CALL_OF_OP[op]!;
      const granuleId = BigInt(events[e + 1]!) | (BigInt(events[e + 2]!) << 32n);
      failures.push(Object.freeze({ index: call, count: n, call: name, granuleId, code: reasonCode(-outcome) }));
      if (firstReason === 0) firstReason = -outcome;
      failed += n;
    }
    call += n;
  }
  const first = failures[0];
  const firstError = first === undefined ? null : coreError(firstReason, { call: first.call, granuleId: first.granuleId });
  return Object.freeze({ calls, failed, closes, failures: Object.freeze(failures), firstError });
}

/** The frame above this function is the Batch.allocRegister caller's. */
const kAllocRegister: Function = Batch.prototype.allocRegister;
