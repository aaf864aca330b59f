/**
 * Reference model of drainprof: the C contract (shared/spec/libdrainprof.md) seen through the
 * JS API contract (docs/js-api-contract.md).
 *
 * It is written to be obviously correct rather than fast: plain arrays and maps, linear scans,
 * no concurrency. Times are not modelled: every field that holds an instant or a duration is
 * left out of the model's objects, and the differential fuzzer compares everything else.
 * Where the spec leaves a choice open, the choice made here is marked `SPEC-OPEN` so a
 * divergence on it can be judged instead of silently "fixed".
 */

export const U64_LIMIT = 1n << 64n; // ids are in [0, 2^64)
export const U32_MAX = 0xffff_ffff;

export type Mode = 'production' | 'diagnostic';
export type Storage = 'slot-array' | 'hash-map';
export type ViolationClass = 'unresolved' | 'near_miss' | 'moderate' | 'fundamental_mismatch';

export type ErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_GRANULE_ALREADY_OPEN'
  | 'ERR_GRANULE_NOT_OPEN'
  | 'ERR_CAPACITY_FULL'
  | 'ERR_UNBALANCED_CLOSE'
  | 'ERR_ALLOC_NOT_LIVE'
  | 'ERR_WRONG_MODE'
  | 'ERR_PROFILER_DESTROYED'
  | 'ERR_OUT_OF_MEMORY';

/** The error class each code is thrown with (contract's error table). */
export const ERROR_CLASS: Record<ErrorCode, 'TypeError' | 'RangeError' | 'Error'> = {
  ERR_INVALID_ARG_TYPE: 'TypeError',
  ERR_INVALID_ARG_VALUE: 'TypeError',
  ERR_OUT_OF_RANGE: 'RangeError',
  ERR_GRANULE_ALREADY_OPEN: 'Error',
  ERR_GRANULE_NOT_OPEN: 'Error',
  ERR_CAPACITY_FULL: 'Error',
  ERR_UNBALANCED_CLOSE: 'Error',
  ERR_ALLOC_NOT_LIVE: 'Error',
  ERR_WRONG_MODE: 'Error',
  ERR_PROFILER_DESTROYED: 'Error',
  ERR_OUT_OF_MEMORY: 'Error',
};

export function modelError(code: ErrorCode, message: string): Error & { code: ErrorCode } {
  const cls = ERROR_CLASS[code];
  const err = (cls === 'TypeError'
    ? new TypeError(message)
    : cls === 'RangeError'
      ? new RangeError(message)
      : new Error(message)) as Error & { code: ErrorCode };
  err.code = code;
  return err;
}

// ---------------------------------------------------------------------------------------------
// Argument validation (one helper per kind of value, as lib/ is asked to do)
// ---------------------------------------------------------------------------------------------

/** An id: non-negative safe integer number, or bigint in [0, 2^64). */
export function checkId(value: unknown, name: string): bigint {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > Number.MAX_SAFE_INTEGER) {
      throw modelError('ERR_OUT_OF_RANGE', `${name} out of range`);
    }
    return BigInt(value);
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value >= U64_LIMIT) throw modelError('ERR_OUT_OF_RANGE', `${name} out of range`);
    return value;
  }
  throw modelError('ERR_INVALID_ARG_TYPE', `${name} must be a number or bigint`);
}

/** A size: as an id, capped at 2^53-1 for bigint too. Returned as a number. */
export function checkSize(value: unknown, name: string): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > Number.MAX_SAFE_INTEGER) {
      throw modelError('ERR_OUT_OF_RANGE', `${name} out of range`);
    }
    return value;
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw modelError('ERR_OUT_OF_RANGE', `${name} out of range`);
    }
    return Number(value);
  }
  throw modelError('ERR_INVALID_ARG_TYPE', `${name} must be a number or bigint`);
}

/** An integer count option/argument: number in [min, max]. */
export function checkUint(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw modelError('ERR_INVALID_ARG_TYPE', `${name} must be a number`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw modelError('ERR_OUT_OF_RANGE', `${name} out of range`);
  }
  return value;
}

export interface AllocSite {
  file: string;
  line: number;
  column: number;
}

/** The `site` argument of allocRegister: a string (file only) or an AllocSite. */
export function checkSite(value: unknown, name: string): AllocSite {
  // SPEC-OPEN: the contract gives the type `string | AllocSite` only. lib/ reads a string as
  // "file:line:column" or "file:line", and as a file alone (line and column 0) otherwise; an
  // object needs a string file and uint32 line/column (column optional, 0).
  if (typeof value === 'string') {
    const m = /^(.*?):(\d+)(?::(\d+))?$/.exec(value);
    if (m === null) return { file: value, line: 0, column: 0 };
    const line = Number(m[2]);
    const column = m[3] === undefined ? 0 : Number(m[3]);
    if (line > U32_MAX || column > U32_MAX) throw modelError('ERR_OUT_OF_RANGE', `${name} line/column out of range`);
    return { file: m[1]!, line, column };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw modelError('ERR_INVALID_ARG_TYPE', `${name} must be a string or an AllocSite`);
  }
  const s = value as Record<string, unknown>;
  if (typeof s.file !== 'string') throw modelError('ERR_INVALID_ARG_TYPE', `${name}.file must be a string`);
  const line = checkUint(s.line, `${name}.line`, 0, U32_MAX);
  const column = s.column === undefined ? 0 : checkUint(s.column, `${name}.column`, 0, U32_MAX);
  return { file: s.file, line, column };
}

export interface ProfilerOptions {
  mode?: Mode;
  storage?: Storage;
  slotCapacity?: number;
  bucketCount?: number;
  logInterval?: number;
  maxBufferedReports?: number;
  verbose?: boolean;
  lifetimeLimit?: number;
  onPinning?: (report: ModelReport) => void;
  onError?: (err: unknown) => void;
}

export interface ResolvedOptions {
  mode: Mode;
  storage: Storage;
  slotCapacity: number;
  bucketCount: number;
  logInterval: number;
  maxBufferedReports: number;
  verbose: boolean;
  lifetimeLimit: number;
  onPinning: ((report: ModelReport) => void) | undefined;
  onError: ((err: unknown) => void) | undefined;
}

const OPTION_KEYS = new Set([
  'mode', 'storage', 'slotCapacity', 'bucketCount', 'logInterval', 'maxBufferedReports',
  'verbose', 'lifetimeLimit', 'onPinning', 'onError',
]);

function checkEnum<T extends string>(value: unknown, name: string, allowed: readonly T[]): T {
  if (typeof value !== 'string') throw modelError('ERR_INVALID_ARG_TYPE', `${name} must be a string`);
  if (!(allowed as readonly string[]).includes(value)) {
    throw modelError('ERR_INVALID_ARG_VALUE', `${name} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** Validates Profiler options; an undefined value means "default". */
export function resolveOptions(options: unknown): ResolvedOptions {
  const r: ResolvedOptions = {
    mode: 'production',
    storage: 'slot-array',
    slotCapacity: 1024,
    bucketCount: 64,
    logInterval: 0,
    maxBufferedReports: 1000,
    verbose: false,
    lifetimeLimit: 4096,
    onPinning: undefined,
    onError: undefined,
  };
  if (options === undefined) return r;
  // SPEC-OPEN: null and non-objects are a wrong type for the options argument.
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw modelError('ERR_INVALID_ARG_TYPE', 'options must be an object');
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!OPTION_KEYS.has(key)) throw modelError('ERR_INVALID_ARG_VALUE', `unknown option ${key}`);
  }
  if (o.mode !== undefined) r.mode = checkEnum(o.mode, 'options.mode', ['production', 'diagnostic'] as const);
  if (o.storage !== undefined) r.storage = checkEnum(o.storage, 'options.storage', ['slot-array', 'hash-map'] as const);
  if (o.slotCapacity !== undefined) r.slotCapacity = checkUint(o.slotCapacity, 'options.slotCapacity', 1, U32_MAX);
  if (o.bucketCount !== undefined) r.bucketCount = checkUint(o.bucketCount, 'options.bucketCount', 0, U32_MAX);
  if (o.logInterval !== undefined) r.logInterval = checkUint(o.logInterval, 'options.logInterval', 0, Number.MAX_SAFE_INTEGER);
  if (o.maxBufferedReports !== undefined) {
    r.maxBufferedReports = checkUint(o.maxBufferedReports, 'options.maxBufferedReports', 0, U32_MAX);
  }
  if (o.verbose !== undefined) {
    if (typeof o.verbose !== 'boolean') throw modelError('ERR_INVALID_ARG_TYPE', 'options.verbose must be a boolean');
    r.verbose = o.verbose;
  }
  if (o.lifetimeLimit !== undefined) r.lifetimeLimit = checkUint(o.lifetimeLimit, 'options.lifetimeLimit', 0, U32_MAX);
  if (o.onPinning !== undefined) {
    if (typeof o.onPinning !== 'function') throw modelError('ERR_INVALID_ARG_TYPE', 'options.onPinning must be a function');
    r.onPinning = o.onPinning as (report: ModelReport) => void;
  }
  if (o.onError !== undefined) {
    if (typeof o.onError !== 'function') throw modelError('ERR_INVALID_ARG_TYPE', 'options.onError must be a function');
    r.onError = o.onError as (err: unknown) => void;
  }
  return r;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Options of metrics(): prefix and label names must be valid Prometheus names. */
export function checkMetricsOptions(options: unknown): { prefix: string; labels: Record<string, string>; openMetrics: boolean } {
  const r = { prefix: 'drainability', labels: {} as Record<string, string>, openMetrics: false };
  if (options === undefined) return r;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw modelError('ERR_INVALID_ARG_TYPE', 'options must be an object');
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!['prefix', 'labels', 'openMetrics'].includes(key)) throw modelError('ERR_INVALID_ARG_VALUE', `unknown option ${key}`);
  }
  if (o.prefix !== undefined) {
    if (typeof o.prefix !== 'string') throw modelError('ERR_INVALID_ARG_TYPE', 'options.prefix must be a string');
    if (!METRIC_NAME.test(o.prefix)) throw modelError('ERR_INVALID_ARG_VALUE', 'options.prefix is not a metric name');
    r.prefix = o.prefix;
  }
  if (o.labels !== undefined) {
    if (typeof o.labels !== 'object' || o.labels === null || Array.isArray(o.labels)) throw modelError('ERR_INVALID_ARG_TYPE', 'options.labels must be an object');
    for (const [k, v] of Object.entries(o.labels)) {
      if (typeof v !== 'string') throw modelError('ERR_INVALID_ARG_TYPE', `label ${k} must be a string`);
      if (!LABEL_NAME.test(k)) throw modelError('ERR_INVALID_ARG_VALUE', `${k} is not a label name`);
    }
    r.labels = o.labels as Record<string, string>;
  }
  if (o.openMetrics !== undefined) {
    if (typeof o.openMetrics !== 'boolean') throw modelError('ERR_INVALID_ARG_TYPE', 'options.openMetrics must be a boolean');
    r.openMetrics = o.openMetrics;
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Classification (§7): ratio = lifetime delta / granule lifetime
// ---------------------------------------------------------------------------------------------

export function classify(deltaSec: number, granuleLifetimeSec: number): ViolationClass {
  if (deltaSec < 0) return 'unresolved';
  if (granuleLifetimeSec <= 0) return deltaSec > 0 ? 'fundamental_mismatch' : 'near_miss';
  const ratio = deltaSec / granuleLifetimeSec;
  if (ratio < 0.1) return 'near_miss';
  if (ratio <= 10) return 'moderate';
  return 'fundamental_mismatch';
}

const CLASS_SEVERITY: Record<ViolationClass, number> = {
  unresolved: 0, near_miss: 1, moderate: 2, fundamental_mismatch: 3,
};

/** Most frequent resolved class, the more severe on a tie; 'unresolved' when none. */
export function dominantClass(counts: ClassCounts): ViolationClass {
  const order: [ViolationClass, number][] = [
    ['near_miss', counts.nearMiss], ['moderate', counts.moderate], ['fundamental_mismatch', counts.fundamentalMismatch],
  ];
  let best: ViolationClass = 'unresolved';
  let bestCount = 0;
  for (const [cls, n] of order) {
    if (n > 0 && (n > bestCount || (n === bestCount && CLASS_SEVERITY[cls] > CLASS_SEVERITY[best]))) {
      best = cls;
      bestCount = n;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Text on stderr (§6): byte-exact lines
// ---------------------------------------------------------------------------------------------

/** printf("%.1f", x) for finite non-negative x: round half to even on the exact binary value. */
export function printfOneDecimal(x: number): string {
  // x * 10 may round in binary; work with the exact value instead: a double is m * 2^e exactly.
  const [num, den] = exactRatio(x);
  const scaled = num * 10n;
  let q = scaled / den;
  const r = scaled % den;
  if (2n * r > den || (2n * r === den && q % 2n === 1n)) q += 1n;
  const s = q.toString().padStart(2, '0');
  return `${s.slice(0, -1)}.${s.slice(-1)}`;
}

function exactRatio(x: number): [bigint, bigint] {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const bits = buf.getBigUint64(0);
  const expBits = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let exp: number;
  if (expBits === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = expBits - 1075;
  }
  return exp >= 0 ? [mant << BigInt(exp), 1n] : [mant, 1n << BigInt(-exp)];
}

export function dsrLine(pinned: number, total: number): string {
  const dsr = total === 0 ? 0 : (total - pinned) / total;
  return `drainprof: DSR=${printfOneDecimal(dsr * 100)}% (${pinned} pinned / ${total} total)`;
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/** The model's report: a PinningReport without the times. */
export interface ModelPinningAlloc {
  allocId: bigint;
  site: AllocSite | null;
  size: number;
  lifetimeDeltaSec: number; // -1: live at report time
}
export interface ModelReport {
  granuleId: bigint;
  pinningCount: number;
  totalAllocs: number;
  drainedAllocs: number;
  pinningAllocs: ModelPinningAlloc[];
}

export interface ModelSnapshot {
  totalCloses: number;
  drainableCloses: number;
  pinnedCloses: number;
  dsr: number;
  openGranules: number;
  peakOpenGranules: number;
  totalAllocs: number;
  totalDeallocs: number;
  droppedReports: number;
  unbalancedCloses: number;
  failedOpens: number;
  failedCloses: number;
  failedRegisters: number;
  failedDeregisters: number;
  lifetimeRecords: number;
  droppedLifetimeRecords: number;
}

export interface ClassCounts {
  unresolved: number;
  nearMiss: number;
  moderate: number;
  fundamentalMismatch: number;
}

/**
 * A site of the summary without the class split, which depends on time: `resolved` is the
 * number of recorded deltas of the site (nearMiss + moderate + fundamentalMismatch).
 */
export interface ModelSiteSummary {
  site: AllocSite | null;
  pinningCount: number;
  totalAllocs: number;
  totalBytes: number;
  unresolved: number;
  resolved: number;
}
export interface ModelSummary {
  /** In the model's order; the sort leaves ties open, see `summarySortKey`. */
  sites: ModelSiteSummary[];
  totalPinningAllocs: number;
  reportsAnalyzed: number;
  lifetimeRecordsAnalyzed: number;
}

/** A lifetime record without granuleLifetimeSec, lifetimeDeltaSec and violationClass. */
export interface ModelLifetimeRecord {
  granuleId: bigint;
  allocId: bigint;
  site: AllocSite | null;
  size: number;
}

interface LiveAlloc {
  allocId: bigint;
  site: AllocSite | null;
  size: number;
}

interface Granule {
  id: bigint;
  net: number; // production: registers - deregisters
  live: LiveAlloc[]; // diagnostic: live registrations, oldest first
  registrations: number; // diagnostic: successful registers while open
}

/** A pinning allocation of a closed granule, waiting for its late free. */
interface Pin extends LiveAlloc {
  granuleId: bigint;
  /** The buffered report entry it came from, so the summary can tell resolved from not. */
  origin: ModelPinningAlloc | null;
}

/** Key of a site for grouping: file string contents and line (§5); NULL file is its own key. */
export function siteKey(site: AllocSite | null): string {
  return site === null ? 'null' : JSON.stringify([site.file, site.line]);
}

/** Which sites the sort leaves in an unspecified order among themselves. */
export function summarySortKey(s: ModelSiteSummary, fromReports: boolean): string {
  return fromReports ? `r:${s.pinningCount}:${s.totalBytes}` : `d:${s.resolved}`;
}

export class ModelProfiler {
  readonly options: ResolvedOptions;
  /** The site recorded when allocRegister gets no `site` (the JS caller's location). */
  callerSite: AllocSite | null = null;
  /** Lines the C core would print on stderr (§6). */
  readonly stderr: string[] = [];

  private isDestroyed = false;
  private granules = new Map<bigint, Granule>();
  private reports: ModelReport[] = [];
  private pins: Pin[] = [];
  private records: (ModelLifetimeRecord & { origin: ModelPinningAlloc | null })[] = [];
  private c = zeroCounters();

  constructor(options?: ProfilerOptions) {
    this.options = resolveOptions(options);
  }

  get mode(): Mode { return this.options.mode; }
  get storage(): Storage { return this.options.storage; }
  get destroyed(): boolean { return this.isDestroyed; }

  private get callbackMode(): boolean {
    return this.options.mode === 'diagnostic' && this.options.onPinning !== undefined;
  }

  private alive(): void {
    if (this.isDestroyed) throw modelError('ERR_PROFILER_DESTROYED', 'profiler destroyed');
  }

  granuleOpen(id: unknown): void {
    this.alive();
    const gid = checkId(id, 'id');
    if (this.granules.has(gid)) {
      this.c.failedOpens++;
      throw modelError('ERR_GRANULE_ALREADY_OPEN', `granule ${gid} is already open`);
    }
    if (this.options.storage === 'slot-array' && this.granules.size >= this.options.slotCapacity) {
      this.c.failedOpens++;
      throw modelError('ERR_CAPACITY_FULL', 'slot array full');
    }
    this.granules.set(gid, { id: gid, net: 0, live: [], registrations: 0 });
    this.c.openGranules++;
    this.c.peakOpenGranules = Math.max(this.c.peakOpenGranules, this.c.openGranules);
  }

  granuleClose(id: unknown): boolean {
    this.alive();
    const gid = checkId(id, 'id');
    const g = this.granules.get(gid);
    if (g === undefined) {
      this.c.failedCloses++;
      throw modelError('ERR_GRANULE_NOT_OPEN', `granule ${gid} is not open`);
    }
    this.granules.delete(gid);
    this.c.openGranules--;
    const live = this.options.mode === 'production' ? g.net : g.live.length;
    if (live < 0) {
      this.c.unbalancedCloses++;
      this.c.failedCloses++;
      throw modelError('ERR_UNBALANCED_CLOSE', `granule ${gid}: more deregisters than registers`);
    }
    this.c.totalCloses++;
    const drainable = live === 0;
    if (drainable) this.c.drainableCloses++;
    else this.c.pinnedCloses++;
    if (!drainable && this.options.verbose) this.stderr.push(`drainprof: Granule ${gid} pinned by ${live} allocations`);
    if (this.options.logInterval > 0 && this.c.totalCloses % this.options.logInterval === 0) {
      this.stderr.push(dsrLine(this.c.pinnedCloses, this.c.totalCloses));
    }
    if (!drainable && this.options.mode === 'diagnostic') this.pinnedClose(g);
    return drainable;
  }

  private pinnedClose(g: Granule): void {
    const report: ModelReport = {
      granuleId: g.id,
      pinningCount: g.live.length,
      totalAllocs: g.registrations,
      drainedAllocs: g.registrations - g.live.length,
      pinningAllocs: g.live.map((a) => ({ allocId: a.allocId, site: a.site, size: a.size, lifetimeDeltaSec: -1 })),
    };
    const buffered = !this.callbackMode && this.options.maxBufferedReports > 0;
    for (let i = 0; i < g.live.length; i++) {
      this.addPin({ ...g.live[i]!, granuleId: g.id, origin: buffered ? report.pinningAllocs[i]! : null });
    }
    if (this.callbackMode) {
      try {
        this.options.onPinning!(report);
      } catch (err) {
        this.options.onError?.(err);
      }
      return;
    }
    if (!buffered) {
      this.c.droppedReports++;
      return;
    }
    if (this.reports.length >= this.options.maxBufferedReports) {
      this.reports.shift();
      this.c.droppedReports++;
    }
    this.reports.push(report);
  }

  private addPin(pin: Pin): void {
    // SPEC-OPEN: with limit 0 (tracking disabled) nothing is kept, and nothing is counted dropped.
    if (this.options.lifetimeLimit === 0) return;
    if (this.pins.length >= this.options.lifetimeLimit) {
      this.pins.shift();
      this.c.droppedLifetimeRecords++;
    }
    this.pins.push(pin);
  }

  allocRegister(granuleId: unknown, allocId: unknown, size: unknown, ...rest: unknown[]): void {
    this.alive();
    const gid = checkId(granuleId, 'granuleId');
    const aid = checkId(allocId, 'allocId');
    const bytes = checkSize(size, 'size');
    const site = rest.length > 0 && rest[0] !== undefined ? checkSite(rest[0], 'site') : this.callerSite;
    this.registerChecked(gid, aid, bytes, site);
  }

  /** The C call of a register whose arguments were checked. */
  registerChecked(gid: bigint, aid: bigint, bytes: number, site: AllocSite | null): void {
    this.c.totalAllocs++;
    const g = this.granules.get(gid);
    if (g === undefined) {
      this.c.failedRegisters++;
      throw modelError('ERR_GRANULE_NOT_OPEN', `granule ${gid} is not open`);
    }
    if (this.options.mode === 'production') {
      g.net++;
    } else {
      g.live.push({ allocId: aid, site, size: bytes });
      g.registrations++;
    }
  }

  allocDeregister(granuleId: unknown, allocId: unknown): void {
    this.alive();
    const gid = checkId(granuleId, 'granuleId');
    const aid = checkId(allocId, 'allocId');
    this.deregisterChecked(gid, aid);
  }

  /** The C call of a deregister whose arguments were checked. */
  deregisterChecked(gid: bigint, aid: bigint): void {
    this.c.totalDeallocs++;
    const g = this.granules.get(gid);
    if (this.options.mode === 'production') {
      if (g === undefined) {
        this.c.failedDeregisters++;
        throw modelError('ERR_GRANULE_NOT_OPEN', `granule ${gid} is not open`);
      }
      g.net--;
      return;
    }
    if (g !== undefined) {
      const i = g.live.findIndex((a) => a.allocId === aid);
      if (i >= 0) {
        g.live.splice(i, 1);
        return;
      }
    }
    // A late free of an allocation that pinned an earlier, closed incarnation of the granule.
    // SPEC-OPEN: with several pins of the same (gid, aid) the oldest is resolved first.
    const p = this.pins.findIndex((pin) => pin.granuleId === gid && pin.allocId === aid);
    if (p >= 0) {
      const [pin] = this.pins.splice(p, 1);
      this.recordLifetime(pin!);
      return;
    }
    this.c.failedDeregisters++;
    if (g === undefined) throw modelError('ERR_GRANULE_NOT_OPEN', `granule ${gid} is not open`);
    throw modelError('ERR_ALLOC_NOT_LIVE', `allocation ${aid} is not live in granule ${gid}`);
  }

  /** A register or deregister refused before the C call: counted as one into a closed granule. */
  refused(deregister: boolean): never {
    if (deregister) {
      this.c.totalDeallocs++;
      this.c.failedDeregisters++;
    } else {
      this.c.totalAllocs++;
      this.c.failedRegisters++;
    }
    throw modelError('ERR_GRANULE_NOT_OPEN', 'the granule closed since the handle was made');
  }

  /** Site recorded by a granule handle's register() without a site (the line calling it). */
  handleCallerSite: AllocSite | null = null;
  /** Site recorded by a batch's allocRegister() without a site (the line calling it). */
  batchCallerSite: AllocSite | null = null;

  /**
   * profiler.granule(id) (lib/granule.ts; not yet in the contract): a handle on the granule's
   * current open life. Not open: ERR_GRANULE_NOT_OPEN, no counter moves.
   */
  granule(id: unknown): ModelGranule {
    this.alive();
    const gid = checkId(id, 'id');
    const g = this.granules.get(gid);
    if (g === undefined) throw modelError('ERR_GRANULE_NOT_OPEN', `granule ${gid} is not open`);
    return new ModelGranule(this, id, gid, g);
  }

  /** Whether `g` is still the open life of `gid` (a handle is stale once it is not). */
  isOpenLife(gid: bigint, g: unknown): boolean {
    return !this.isDestroyed && this.granules.get(gid) === g;
  }

  /** Throws ERR_PROFILER_DESTROYED after destroy(). */
  checkAlive(): void {
    this.alive();
  }

  /** profiler.batch() (lib/batch.ts; not yet in the contract). */
  batch(capacity?: unknown): ModelBatch {
    this.alive();
    if (capacity !== undefined) checkUint(capacity, 'capacity', 0, U32_MAX);
    return new ModelBatch(this);
  }

  private recordLifetime(pin: Pin): void {
    this.c.lifetimeRecords++;
    if (this.records.length >= this.options.lifetimeLimit) {
      // The freed allocation stays resolved in its report although its record goes.
      this.records.shift();
      this.c.droppedLifetimeRecords++;
    }
    this.records.push({ granuleId: pin.granuleId, allocId: pin.allocId, site: pin.site, size: pin.size, origin: pin.origin });
    if (pin.origin !== null) resolvedOrigins.add(pin.origin);
  }

  snapshot(): ModelSnapshot {
    this.alive();
    return this.counters();
  }

  private counters(): ModelSnapshot {
    const c = { ...this.c };
    c.dsr = c.totalCloses === 0 ? 0 : c.drainableCloses / c.totalCloses;
    return c;
  }

  sweep(): ModelSnapshot {
    this.alive();
    const s = this.counters();
    let drainable = 0;
    let pinned = 0;
    for (const g of this.granules.values()) {
      const live = this.options.mode === 'production' ? g.net : g.live.length;
      if (live === 0) drainable++;
      else pinned++; // "pinned = the rest": a negative net count is not drainable
    }
    s.drainableCloses = drainable;
    s.pinnedCloses = pinned;
    s.totalCloses = drainable + pinned;
    s.dsr = s.totalCloses === 0 ? 0 : drainable / s.totalCloses;
    return s;
  }

  reset(): void {
    this.alive();
    this.granules.clear();
    this.reports = [];
    this.pins = [];
    this.records = [];
    this.c = zeroCounters();
  }

  private diagnosticOnly(): void {
    this.alive();
    if (this.options.mode !== 'diagnostic') throw modelError('ERR_WRONG_MODE', 'needs a diagnostic profiler');
  }

  drainReports(max?: unknown): ModelReport[] {
    this.alive();
    const n = max === undefined ? U32_MAX : checkUint(max, 'max', 0, U32_MAX);
    this.diagnosticOnly();
    return this.reports.splice(0, n);
  }

  /** Reports still buffered (not consumed), for tests. */
  bufferedReports(): readonly ModelReport[] {
    return this.reports;
  }

  diagnosticSummary(): ModelSummary {
    this.diagnosticOnly();
    const sites = new Map<string, ModelSiteSummary>();
    const order: ModelSiteSummary[] = [];
    const get = (site: AllocSite | null): ModelSiteSummary => {
      const key = siteKey(site);
      let s = sites.get(key);
      if (s === undefined) {
        s = { site, pinningCount: 0, totalAllocs: 0, totalBytes: 0, unresolved: 0, resolved: 0 };
        sites.set(key, s);
        order.push(s);
      }
      return s;
    };
    const bytes = new Map<ModelSiteSummary, bigint>();
    for (const r of this.reports) {
      const seen = new Set<string>();
      for (const a of r.pinningAllocs) {
        const s = get(a.site);
        s.totalAllocs++;
        // Summed exactly (size_t in C), rounded to a double once, at the end.
        bytes.set(s, (bytes.get(s) ?? 0n) + BigInt(a.size));
        s.totalBytes = Number(bytes.get(s));
        if (!resolvedOrigins.has(a)) s.unresolved++;
        const key = siteKey(a.site);
        if (!seen.has(key)) {
          seen.add(key);
          s.pinningCount++;
        }
      }
    }
    const fromReports = new Set(order);
    for (const rec of this.records) get(rec.site).resolved++;
    const byReports = order.filter((s) => fromReports.has(s))
      .sort((a, b) => b.pinningCount - a.pinningCount || b.totalBytes - a.totalBytes);
    const byDeltas = order.filter((s) => !fromReports.has(s)).sort((a, b) => b.resolved - a.resolved);
    return {
      sites: [...byReports, ...byDeltas],
      totalPinningAllocs: byReports.reduce((n, s) => n + s.totalAllocs, 0),
      reportsAnalyzed: this.reports.length,
      lifetimeRecordsAnalyzed: this.records.length,
    };
  }

  lifetimeRecords(max?: unknown): ModelLifetimeRecord[] {
    this.alive();
    const n = max === undefined ? U32_MAX : checkUint(max, 'max', 0, U32_MAX);
    this.diagnosticOnly();
    return this.records.slice(0, n).map(({ origin: _origin, ...rec }) => rec);
  }

  /**
   * textReport(maxSites?): the text itself is implementation-defined (drainprof_ext_format_report);
   * the model checks the argument and returns the numbers the text must agree with.
   */
  textReport(maxSites?: unknown): ModelSnapshot {
    this.alive();
    if (maxSites !== undefined) checkUint(maxSites, 'maxSites', 0, U32_MAX);
    return this.counters();
  }

  /** metrics(options?): as textReport, the model validates and returns the counters. */
  metrics(options?: unknown): { prefix: string; labels: Record<string, string>; openMetrics: boolean; snapshot: ModelSnapshot } {
    this.alive();
    const o = checkMetricsOptions(options);
    return { ...o, snapshot: this.counters() };
  }

  /** The pins still awaiting their free (for tests). */
  pendingPins(): number {
    return this.pins.length;
  }

  destroy(): void {
    this.isDestroyed = true;
    this.granules.clear();
    this.reports = [];
    this.pins = [];
    this.records = [];
  }
}

/**
 * A granule handle: production register/deregister look at no argument and count into the
 * life the handle names; diagnostic ones check allocId/size, then staleness, then make the
 * usual call. A stale handle's call is refused and counted as one into a closed granule.
 * close() is profiler.granuleClose(id), whatever life is open then.
 */
export class ModelGranule {
  constructor(private readonly p: ModelProfiler, readonly id: unknown, private readonly gid: bigint,
    private readonly life: unknown) {}

  get open(): boolean {
    return this.p.isOpenLife(this.gid, this.life);
  }

  register(allocId?: unknown, size?: unknown, site?: unknown): void {
    this.p.checkAlive();
    if (this.p.mode === 'production') {
      if (!this.open) this.p.refused(false);
      this.p.registerChecked(this.gid, 0n, 0, null);
      return;
    }
    const aid = checkId(allocId, 'allocId');
    const bytes = checkSize(size, 'size');
    if (!this.open) this.p.refused(false);
    const s = site === undefined ? this.p.handleCallerSite : checkSite(site, 'site');
    this.p.registerChecked(this.gid, aid, bytes, s);
  }

  deregister(allocId?: unknown): void {
    this.p.checkAlive();
    if (this.p.mode === 'production') {
      if (!this.open) this.p.refused(true);
      this.p.deregisterChecked(this.gid, 0n);
      return;
    }
    const aid = checkId(allocId, 'allocId');
    if (!this.open) this.p.refused(true);
    this.p.deregisterChecked(this.gid, aid);
  }

  close(): boolean {
    this.p.checkAlive();
    return this.p.granuleClose(this.id);
  }
}

type BatchCall = 'granuleOpen' | 'granuleClose' | 'allocRegister' | 'allocDeregister';

interface BatchEntry {
  call: BatchCall;
  raw: unknown; // the granule id as given: production runs join on ===
  gid: bigint;
  aid: bigint;
  size: number;
  site: AllocSite | null;
}

export interface ModelBatchFailure {
  index: number;
  count: number;
  call: BatchCall;
  granuleId: bigint;
  code: ErrorCode;
}
export interface ModelBatchResult {
  calls: number;
  failed: number;
  closes: number[];
  failures: ModelBatchFailure[];
  firstError: string | null; // 'Class:CODE'
}

/**
 * A batch (lib/batch.ts): calls checked when recorded, run in order at commit() whatever fails.
 * In production consecutive register/deregister calls on the same granule value (===) form a
 * run that fails as one failure entry.
 */
export class ModelBatch {
  private entries: BatchEntry[] = [];
  constructor(private readonly p: ModelProfiler) {}

  get size(): number {
    return this.entries.length;
  }

  granuleOpen(id: unknown): void {
    this.p.checkAlive();
    this.entries.push({ call: 'granuleOpen', raw: id, gid: checkId(id, 'id'), aid: 0n, size: 0, site: null });
  }

  granuleClose(id: unknown): void {
    this.p.checkAlive();
    this.entries.push({ call: 'granuleClose', raw: id, gid: checkId(id, 'id'), aid: 0n, size: 0, site: null });
  }

  allocRegister(granuleId: unknown, allocId: unknown, size: unknown, site?: unknown): void {
    this.p.checkAlive();
    const gid = checkId(granuleId, 'granuleId');
    const aid = checkId(allocId, 'allocId');
    const bytes = checkSize(size, 'size');
    const s = site === undefined ? this.p.batchCallerSite : checkSite(site, 'site');
    this.entries.push({ call: 'allocRegister', raw: granuleId, gid, aid, size: bytes, site: this.p.mode === 'production' ? null : s });
  }

  allocDeregister(granuleId: unknown, allocId: unknown): void {
    this.p.checkAlive();
    const gid = checkId(granuleId, 'granuleId');
    const aid = checkId(allocId, 'allocId');
    this.entries.push({ call: 'allocDeregister', raw: granuleId, gid, aid, size: 0, site: null });
  }

  clear(): void {
    this.entries = [];
  }

  commit(): ModelBatchResult {
    this.p.checkAlive();
    const production = this.p.mode === 'production';
    const closes: number[] = [];
    const failures: ModelBatchFailure[] = [];
    let failed = 0;
    let firstError: string | null = null;
    let run: { index: number; raw: unknown; failure: ModelBatchFailure | null; ok: boolean } | null = null;
    this.entries.forEach((e, index) => {
      let code: ErrorCode | null = null;
      let result: boolean | undefined;
      try {
        if (e.call === 'granuleOpen') this.p.granuleOpen(e.gid);
        else if (e.call === 'granuleClose') result = this.p.granuleClose(e.gid);
        else if (e.call === 'allocRegister') this.p.registerChecked(e.gid, e.aid, e.size, e.site);
        else this.p.deregisterChecked(e.gid, e.aid);
      } catch (err) {
        code = (err as { code: ErrorCode }).code;
      }
      if (e.call === 'granuleClose') closes.push(code !== null ? -1 : result ? 1 : 0);
      const counted = e.call === 'allocRegister' || e.call === 'allocDeregister';
      if (production && counted && run !== null && run.raw === e.raw) {
        if ((code === null) !== run.ok) throw new Error('model: a production count run neither all failed nor all succeeded');
        if (run.failure !== null) {
          run.failure.count++;
          failed++;
        }
        return;
      }
      run = production && counted ? { index, raw: e.raw, failure: null, ok: code === null } : null;
      if (code !== null) {
        const f: ModelBatchFailure = { index, count: 1, call: e.call, granuleId: e.gid, code };
        failures.push(f);
        failed++;
        if (run !== null) run.failure = f;
        firstError ??= `${ERROR_CLASS[code]}:${code}`;
      }
    });
    const calls = this.entries.length;
    this.entries = [];
    return { calls, failed, closes, failures, firstError };
  }
}

/** Report entries whose pin has been freed; weak so drained reports cost nothing. */
const resolvedOrigins = new WeakSet<ModelPinningAlloc>();

function zeroCounters(): ModelSnapshot {
  return {
    totalCloses: 0,
    drainableCloses: 0,
    pinnedCloses: 0,
    dsr: 0,
    openGranules: 0,
    peakOpenGranules: 0,
    totalAllocs: 0,
    totalDeallocs: 0,
    droppedReports: 0,
    unbalancedCloses: 0,
    failedOpens: 0,
    failedCloses: 0,
    failedRegisters: 0,
    failedDeregisters: 0,
    lifetimeRecords: 0,
    droppedLifetimeRecords: 0,
  };
}
