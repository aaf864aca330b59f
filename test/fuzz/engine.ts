/**
 * Differential fuzzing engine: seeded random operation sequences run against the native
 * Profiler and the reference model (test/model/model.ts), comparing every return value or
 * thrown error (class and code), every snapshot (without the timestamp), every report,
 * summary and lifetime record (without times, whose consistency is checked instead).
 *
 * An episode is plain data (options + ops whose arguments are value specs), so it can be
 * replayed from its seed, shrunk by delta debugging and printed as a reproduction.
 */
import {
  ModelBatch, ModelGranule, ModelProfiler, classify, dominantClass, summarySortKey,
  type AllocSite, type ModelReport, type ModelSnapshot, type ModelSummary,
} from '../model/model.js';

// ---------------------------------------------------------------------------------------------
// PRNG: a 32-bit splitmix-like generator; seeds are printed as plain integers
// ---------------------------------------------------------------------------------------------
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }
  int(n: number): number {
    return this.next() % n;
  }
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  }
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Values as data
// ---------------------------------------------------------------------------------------------
export type V =
  | { k: 'num'; v: number }
  | { k: 'big'; v: string }
  | { k: 'str'; v: string }
  | { k: 'undef' }
  | { k: 'null' }
  | { k: 'bool'; v: boolean }
  | { k: 'obj' }
  | { k: 'arr' }
  | { k: 'sym' }
  | { k: 'fn' }
  | { k: 'boxed'; v: number }
  | { k: 'site'; file: V; line: V; column?: V }
  | { k: 'rec'; entries: [string, V][] };

export function build(v: V): unknown {
  switch (v.k) {
    case 'num': return v.v;
    case 'big': return BigInt(v.v);
    case 'str': return v.v;
    case 'undef': return undefined;
    case 'null': return null;
    case 'bool': return v.v;
    case 'obj': return { valueOf: () => 1 };
    case 'arr': return [1];
    case 'sym': return Symbol('x');
    case 'fn': return () => 1;
    case 'boxed': return Object(v.v);
    case 'site': {
      const s: Record<string, unknown> = { file: build(v.file), line: build(v.line) };
      if (v.column !== undefined) s.column = build(v.column);
      return s;
    }
    case 'rec': return Object.fromEntries(v.entries.map(([k, x]) => [k, build(x)]));
  }
}

export function show(v: V): string {
  switch (v.k) {
    case 'num': return Object.is(v.v, -0) ? '-0' : String(v.v);
    case 'big': return `${v.v}n`;
    case 'str': return JSON.stringify(v.v);
    case 'undef': return 'undefined';
    case 'null': return 'null';
    case 'bool': return String(v.v);
    case 'obj': return '{ valueOf: () => 1 }';
    case 'arr': return '[1]';
    case 'sym': return "Symbol('x')";
    case 'fn': return '() => 1';
    case 'boxed': return `Object(${v.v})`;
    case 'site':
      return `{ file: ${show(v.file)}, line: ${show(v.line)}${v.column === undefined ? '' : `, column: ${show(v.column)}`} }`;
    case 'rec': return `{ ${v.entries.map(([k, x]) => `${JSON.stringify(k)}: ${show(x)}`).join(', ')} }`;
  }
}

const num = (v: number): V => ({ k: 'num', v });
const big = (v: bigint): V => ({ k: 'big', v: v.toString() });
const str = (v: string): V => ({ k: 'str', v });

/** Values a caller should never pass where an id, size or count goes. */
export const HOSTILE: readonly V[] = [
  num(NaN), num(-1), num(1.5), num(2 ** 53), num(2 ** 53 + 2), num(2 ** 64), num(Infinity), num(-Infinity),
  num(-0.5), big(-1n), big(2n ** 64n), big(2n ** 64n + 5n), big(-(2n ** 64n)), str('5'), str(''),
  { k: 'obj' }, { k: 'arr' }, { k: 'undef' }, { k: 'null' }, { k: 'bool', v: true }, { k: 'sym' }, { k: 'fn' },
  { k: 'boxed', v: 5 },
];

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------
export type OpName =
  | 'open' | 'close' | 'register' | 'deregister' | 'snapshot' | 'sweep' | 'reset' | 'drain'
  | 'summary' | 'lifetime' | 'text' | 'metrics' | 'getters' | 'destroy' | 'recreate' | 'construct'
  // granule handles (profiler.granule) and batches (profiler.batch); the first arg picks one
  | 'handle' | 'hreg' | 'hdereg' | 'hclose' | 'hopen' | 'batch' | 'brec' | 'bcommit' | 'bclear';

export interface Op {
  op: OpName;
  args: V[];
}

export interface Config {
  mode: 'production' | 'diagnostic';
  storage: 'slot-array' | 'hash-map';
}

export interface Episode {
  config: Config;
  seed: number;
  /** Options as value specs; `callback` makes a diagnostic profiler report through onPinning. */
  options: Record<string, V>;
  callback: boolean;
  throwInCallback: boolean;
  ops: Op[];
}

const CAPACITIES = [1, 2, 3, 4, 8, 16, 1024];

export function generateEpisode(config: Config, seed: number, length: number): Episode {
  const rng = new Rng(seed);
  const options: Record<string, V> = { mode: str(config.mode), storage: str(config.storage) };
  const cap = rng.pick(CAPACITIES);
  if (config.storage === 'slot-array' || rng.chance(0.3)) options.slotCapacity = num(cap);
  if (config.storage === 'hash-map') options.bucketCount = num(rng.pick([0, 1, 2, 64]));
  if (rng.chance(0.7)) options.maxBufferedReports = num(rng.pick([0, 1, 3, 1000]));
  if (rng.chance(0.7)) options.lifetimeLimit = num(rng.pick([0, 1, 3, 4096]));
  const callback = config.mode === 'diagnostic' && rng.chance(0.35);
  const throwInCallback = callback && rng.chance(0.3);

  // Id pools: small, so ids collide; both number and bigint spellings of the same id; ids that
  // share a slot under `id % capacity`; the extremes of uint64.
  const gidValues: bigint[] = [0n, 1n, 2n, 3n, BigInt(cap), BigInt(2 * cap), 4096n, 2n ** 32n, 2n ** 53n - 1n,
    2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, 0x7f0000001000n, 0x7f0000002000n];
  const gids = gidValues.slice(0, 4 + rng.int(gidValues.length - 3));
  const aids: bigint[] = [0n, 1n, 2n, 7n, 2n ** 40n, 2n ** 64n - 1n].slice(0, 2 + rng.int(5));
  const idSpec = (id: bigint): V => (id <= BigInt(Number.MAX_SAFE_INTEGER) && rng.chance(0.6) ? num(Number(id)) : big(id));
  const hostile = (): V => rng.pick(HOSTILE);
  const maybeHostile = (good: () => V, p = 0.03): V => (rng.chance(p) ? hostile() : good());
  const gid = () => maybeHostile(() => idSpec(rng.pick(gids)));
  const aid = () => maybeHostile(() => idSpec(rng.pick(aids)));
  const size = () => maybeHostile(() => {
    const r = rng.int(10);
    if (r < 6) return num(rng.int(256));
    if (r < 8) return num(rng.int(1 << 20));
    if (r < 9) return big(BigInt(rng.int(4096)));
    return num(Number.MAX_SAFE_INTEGER - rng.int(3));
  });
  const files = ['a.js', 'b.js', 'src/deep/c.ts', ''];
  const site = (): V | undefined => {
    const r = rng.int(20);
    if (r < 6) return undefined; // the caller's site
    if (r < 8) return str(rng.pick(files));
    if (r === 8) return rng.pick([{ k: 'null' }, num(3), { k: 'obj' }] as V[]);
    if (r === 9) {
      // a malformed AllocSite
      return rng.pick<V>([
        { k: 'site', file: num(1), line: num(1) },
        { k: 'site', file: str('a.js'), line: num(-1) },
        { k: 'site', file: str('a.js'), line: num(1.5) },
        { k: 'site', file: str('a.js'), line: str('1') },
        { k: 'site', file: str('a.js'), line: num(1), column: num(-1) },
        { k: 'site', file: str('a.js'), line: num(2 ** 32) },
      ]);
    }
    const file = rng.pick(files);
    const line = rng.int(3);
    // Usually one column per (file, line), sometimes another column at the same site.
    const column = rng.chance(0.9) ? (file.length + line) % 4 : 9;
    return { k: 'site', file: str(file), line: num(line), column: num(column) };
  };
  const count = (): V | undefined => {
    const r = rng.int(10);
    if (r < 4) return undefined;
    if (r < 8) return num(rng.int(5));
    if (r < 9) return num(2 ** 32 - 1);
    return hostile();
  };

  // Granule handles and batches. A batch's count calls often repeat its last granule value,
  // so production runs (joined on ===) form.
  let lastBatchGid: V | null = null;
  const pickIndex = (): V => num(rng.int(8));
  const handleOrBatchOp = (): Op => {
    const r = rng.int(100);
    if (r < 20) return { op: 'handle', args: [gid()] };
    if (r < 40) {
      const args: V[] = [pickIndex()];
      if (config.mode === 'diagnostic' || rng.chance(0.3)) args.push(aid(), size());
      const st = rng.chance(0.5) ? site() : undefined;
      if (st !== undefined) args.push(...(args.length === 1 ? [aid(), size()] : []), st);
      return { op: 'hreg', args };
    }
    if (r < 58) return { op: 'hdereg', args: config.mode === 'diagnostic' || rng.chance(0.3) ? [pickIndex(), aid()] : [pickIndex()] };
    if (r < 64) return { op: 'hclose', args: [pickIndex()] };
    if (r < 67) return { op: 'hopen', args: [pickIndex()] };
    if (r < 70) {
      // Capacities from 0 to the top of the range (a hint, reserved up to a cap) and hostile values.
      const cap = rng.pick<V | undefined>([undefined, undefined, num(0), num(4096), num(2 ** 32 - 1), rng.pick(HOSTILE)]);
      return { op: 'batch', args: cap === undefined ? [] : [cap] };
    }
    if (r < 92) {
      const kind = rng.pick(['open', 'close', 'register', 'register', 'deregister', 'deregister'] as const);
      const g = lastBatchGid !== null && rng.chance(0.6) ? lastBatchGid : gid();
      lastBatchGid = g;
      const args: V[] = [pickIndex(), str(kind), g];
      if (kind === 'register') {
        args.push(aid(), size());
        const st = rng.chance(0.4) ? site() : undefined;
        if (st !== undefined) args.push(st);
      } else if (kind === 'deregister') args.push(aid());
      return { op: 'brec', args };
    }
    if (r < 99) return { op: 'bcommit', args: [pickIndex()] };
    return { op: 'bclear', args: [pickIndex()] };
  };

  const ops: Op[] = [];
  let destroyed = false;
  for (let i = 0; i < length; i++) {
    if (destroyed && rng.chance(0.2)) {
      ops.push({ op: 'recreate', args: [] });
      destroyed = false;
      continue;
    }
    if (rng.chance(0.12)) {
      ops.push(handleOrBatchOp());
      continue;
    }
    const r = rng.int(1000);
    let op: Op;
    if (r < 200) op = { op: 'open', args: [gid()] };
    else if (r < 360) op = { op: 'close', args: [gid()] };
    else if (r < 610) {
      const args = [gid(), aid(), size()];
      const s = site();
      if (s !== undefined) args.push(s);
      op = { op: 'register', args };
    } else if (r < 830) op = { op: 'deregister', args: [gid(), aid()] };
    else if (r < 870) op = { op: 'snapshot', args: [] };
    else if (r < 900) op = { op: 'sweep', args: [] };
    else if (r < 930) {
      const c = count();
      op = { op: 'drain', args: c === undefined ? [] : [c] };
    } else if (r < 950) op = { op: 'summary', args: [] };
    else if (r < 965) {
      const c = count();
      op = { op: 'lifetime', args: c === undefined ? [] : [c] };
    } else if (r < 972) {
      const c = count();
      op = { op: 'text', args: c === undefined ? [] : [c] };
    } else if (r < 979) op = { op: 'metrics', args: metricsArgs(rng) };
    else if (r < 986) op = { op: 'getters', args: [] };
    else if (r < 989) op = { op: 'reset', args: [] };
    else if (r < 990) op = { op: 'construct', args: [badOptions(rng, config)] };
    else if (r < 992) {
      op = { op: 'destroy', args: [] };
      destroyed = true;
    } else {
      // missing arguments
      const which = rng.pick(['open', 'close', 'register', 'deregister'] as const);
      const full = which === 'register' ? [gid(), aid(), size()] : which === 'deregister' ? [gid(), aid()] : [gid()];
      op = { op: which, args: full.slice(0, rng.int(full.length)) };
    }
    // Runs of the same granule make pinned/drainable closes and late frees likelier.
    ops.push(op);
  }
  return { config, seed, options, callback, throwInCallback, ops };
}

/** Options for new Profiler() with exactly one thing wrong (or, rarely, nothing). */
function badOptions(rng: Rng, config: Config): V {
  const entries: [string, V][] = [['mode', str(config.mode)], ['storage', str(config.storage)]];
  const bad: [string, V][] = [
    ['mode', str('fast')], ['mode', num(1)], ['storage', str('tree')], ['storage', { k: 'null' }],
    ['slotCapacity', num(0)], ['slotCapacity', num(2 ** 32)], ['slotCapacity', num(1.5)], ['slotCapacity', str('8')],
    ['slotCapacity', big(8n)], ['bucketCount', num(-1)], ['logInterval', num(2 ** 53)], ['maxBufferedReports', num(-1)],
    ['maxBufferedReports', num(NaN)], ['lifetimeLimit', num(2 ** 32)], ['lifetimeLimit', str('1')],
    ['verbose', num(1)], ['onPinning', str('f')], ['onError', num(1)], ['colour', str('red')],
    ['slotCapacity', num(1)], ['lifetimeLimit', num(0)], ['verbose', { k: 'bool', v: false }],
  ];
  const r = rng.int(bad.length + 4);
  if (r === bad.length) return str('diagnostic');
  if (r === bad.length + 1) return { k: 'null' };
  if (r === bad.length + 2) return { k: 'arr' };
  if (r === bad.length + 3) return { k: 'undef' };
  entries.push(bad[r]!);
  return { k: 'rec', entries };
}

/** Arguments of metrics(): mostly valid options, sometimes one wrong thing. */
function metricsArgs(rng: Rng): V[] {
  const r = rng.int(14);
  const labels = (entries: [string, V][]): V => ({ k: 'rec', entries });
  switch (r) {
    case 0: return [];
    case 1: return [{ k: 'rec', entries: [] }];
    case 2: return [{ k: 'rec', entries: [['prefix', str('app_mem')]] }];
    case 3: return [{ k: 'rec', entries: [['prefix', str('ns:sub')], ['openMetrics', { k: 'bool', v: true }]] }];
    case 4: return [{ k: 'rec', entries: [['labels', labels([['service', str('api')], ['zone', str('a"b\\c\nd')]])]] }];
    case 5: return [{ k: 'rec', entries: [['prefix', str('1bad')]] }];
    case 6: return [{ k: 'rec', entries: [['prefix', str('bad-name')]] }];
    case 7: return [{ k: 'rec', entries: [['prefix', str('')]] }];
    case 8: return [{ k: 'rec', entries: [['labels', labels([['bad-label', str('x')]])]] }];
    case 9: return [{ k: 'rec', entries: [['labels', labels([['ok', num(1)]])]] }];
    case 10: return [{ k: 'rec', entries: [['prefix', num(1)]] }];
    case 11: return [{ k: 'rec', entries: [['openMetrics', str('yes')]] }];
    case 12: return [{ k: 'rec', entries: [['colour', str('red')]] }];
    default: return [rng.pick<V>([{ k: 'null' }, str('x'), { k: 'arr' }])];
  }
}

// ---------------------------------------------------------------------------------------------
// Running one episode on both sides
// ---------------------------------------------------------------------------------------------
export interface ProfilerLike {
  granuleOpen(id: unknown): void;
  granuleClose(id: unknown): boolean;
  allocRegister(...args: unknown[]): void;
  allocDeregister(...args: unknown[]): void;
  snapshot(): unknown;
  sweep(): unknown;
  reset(): void;
  drainReports(max?: unknown): unknown;
  diagnosticSummary(): unknown;
  lifetimeRecords(max?: unknown): unknown;
  textReport(maxSites?: unknown): unknown;
  metrics(options?: unknown): unknown;
  destroy(): void;
  readonly destroyed: boolean;
  readonly mode: string;
  readonly storage: string;
}
export type ProfilerCtor = new (options?: unknown) => ProfilerLike;

export class Divergence extends Error {
  constructor(readonly opIndex: number, readonly op: Op | null, message: string) {
    super(message);
  }
}

type Outcome = { ok: unknown } | { err: string };

function errorOf(e: unknown): string {
  if (e instanceof Divergence) throw e;
  const err = e as { code?: unknown; constructor?: { name?: string } };
  const cls = e instanceof RangeError ? 'RangeError' : e instanceof TypeError ? 'TypeError' : e instanceof Error ? 'Error' : typeof e;
  return `${cls}:${String(err?.code)}`;
}

/**
 * The one place the native profiler is called. allocRegister is called from this line in
 * every case, so the caller site it records without a `site` argument is the same each time.
 */
export function invoke(p: ProfilerLike, op: OpName, args: unknown[]): unknown {
  switch (op) {
    case 'open': return (p.granuleOpen as (...a: unknown[]) => unknown)(...args);
    case 'close': return (p.granuleClose as (...a: unknown[]) => unknown)(...args);
    case 'register': return p.allocRegister(...args);
    case 'deregister': return p.allocDeregister(...args);
    case 'snapshot': return p.snapshot();
    case 'sweep': return p.sweep();
    case 'reset': return p.reset();
    case 'drain': return (p.drainReports as (...a: unknown[]) => unknown)(...args);
    case 'summary': return p.diagnosticSummary();
    case 'lifetime': return (p.lifetimeRecords as (...a: unknown[]) => unknown)(...args);
    case 'text': return (p.textReport as (...a: unknown[]) => unknown)(...args);
    case 'metrics': return (p.metrics as (...a: unknown[]) => unknown)(...args);
    case 'getters': return [p.mode, p.storage, p.destroyed];
    case 'destroy': return p.destroy();
    case 'recreate':
    case 'construct':
      throw new Error(`${op} is handled by the runner`);
  }
}

export interface HandleLike {
  readonly open: boolean;
  register(...args: unknown[]): void;
  deregister(...args: unknown[]): void;
  close(): boolean;
}
export interface BatchLike {
  readonly size: number;
  granuleOpen(id: unknown): void;
  granuleClose(id: unknown): void;
  allocRegister(...args: unknown[]): void;
  allocDeregister(...args: unknown[]): void;
  commit(): unknown;
  clear(): void;
}

/** The one place granule handles are called (register's automatic site is this line's). */
export function invokeHandle(h: HandleLike, op: 'hreg' | 'hdereg' | 'hclose' | 'hopen', args: unknown[]): unknown {
  switch (op) {
    case 'hreg': return h.register(...args);
    case 'hdereg': return h.deregister(...args);
    case 'hclose': return h.close();
    case 'hopen': return h.open;
  }
}

/** The one place batches record calls (allocRegister's automatic site is this line's). */
export function invokeBatch(b: BatchLike, kind: unknown, args: unknown[]): unknown {
  switch (kind) {
    case 'open': return (b.granuleOpen as (...a: unknown[]) => void)(...args);
    case 'close': return (b.granuleClose as (...a: unknown[]) => void)(...args);
    case 'register': return b.allocRegister(...args);
    default: return b.allocDeregister(...args);
  }
}

export interface CallerSites {
  register: AllocSite | null;
  handle: AllocSite | null;
  batch: AllocSite | null;
}

/** Sites the native side records without a site argument, for each way of registering. */
export function calibrateCallerSite(Profiler: ProfilerCtor): CallerSites {
  const p = new Profiler({ mode: 'diagnostic' }) as ProfilerLike & {
    granule(id: unknown): HandleLike;
    batch(): BatchLike;
  };
  try {
    invoke(p, 'open', [1]);
    invoke(p, 'register', [1, 1, 1]);
    invokeHandle(p.granule(1), 'hreg', [2, 1]);
    const b = p.batch();
    invokeBatch(b, 'register', [1, 3, 1]);
    b.commit();
    invoke(p, 'close', [1]);
    const [r] = p.drainReports() as { pinningAllocs: { site: AllocSite | null }[] }[];
    const site = (i: number) => {
      const s = r!.pinningAllocs[i]!.site;
      return s === null ? null : { file: s.file, line: s.line, column: s.column };
    };
    return { register: site(0), handle: site(1), batch: site(2) };
  } finally {
    p.destroy();
  }
}

// ---- normalisation of native values to the model's shapes -----------------------------------

function fail(msg: string): never {
  throw new Divergence(-1, null, msg);
}

function expectFrozen(x: unknown, what: string): void {
  if (typeof x !== 'object' || x === null) fail(`${what} is not an object: ${fmt(x)}`);
  if (!Object.isFrozen(x)) fail(`${what} is not frozen`);
}

const SNAPSHOT_KEYS = ['timestampNs', 'totalCloses', 'drainableCloses', 'pinnedCloses', 'dsr', 'openGranules',
  'peakOpenGranules', 'totalAllocs', 'totalDeallocs', 'droppedReports', 'unbalancedCloses', 'failedOpens',
  'failedCloses', 'failedRegisters', 'failedDeregisters', 'lifetimeRecords', 'droppedLifetimeRecords'];

function normSnapshot(x: unknown, what: string): ModelSnapshot {
  expectFrozen(x, what);
  const s = x as Record<string, unknown>;
  const keys = Object.keys(s).sort().join(',');
  if (keys !== [...SNAPSHOT_KEYS].sort().join(',')) fail(`${what} keys: ${keys}`);
  if (typeof s.timestampNs !== 'bigint') fail(`${what}.timestampNs is ${typeof s.timestampNs}`);
  const { timestampNs: _t, ...rest } = s;
  for (const [k, v] of Object.entries(rest)) if (typeof v !== 'number') fail(`${what}.${k} is ${typeof v}`);
  return rest as unknown as ModelSnapshot;
}

function normSite(x: unknown, what: string): AllocSite | null {
  if (x === null) return null;
  expectFrozen(x, what);
  const s = x as Record<string, unknown>;
  if (typeof s.file !== 'string' || typeof s.line !== 'number' || typeof s.column !== 'number') fail(`${what}: ${fmt(x)}`);
  return { file: s.file, line: s.line, column: s.column };
}

function normReport(x: unknown, what: string): ModelReport {
  expectFrozen(x, what);
  const r = x as Record<string, unknown>;
  for (const k of ['granuleId', 'openTimeNs', 'closeTimeNs']) if (typeof r[k] !== 'bigint') fail(`${what}.${k} is ${typeof r[k]}`);
  const open = r.openTimeNs as bigint;
  const close = r.closeTimeNs as bigint;
  if (open > close) fail(`${what}: openTimeNs ${open} > closeTimeNs ${close}`);
  expectFrozen(r.pinningAllocs, `${what}.pinningAllocs`);
  const allocs = (r.pinningAllocs as unknown[]).map((a, i) => {
    const w = `${what}.pinningAllocs[${i}]`;
    expectFrozen(a, w);
    const p = a as Record<string, unknown>;
    if (typeof p.allocId !== 'bigint' || typeof p.allocTimeNs !== 'bigint') fail(`${w}: id/time types`);
    if ((p.allocTimeNs as bigint) < open || (p.allocTimeNs as bigint) > close) fail(`${w}: allocTimeNs outside the granule`);
    return { allocId: p.allocId as bigint, site: normSite(p.site, `${w}.site`), size: p.size as number, lifetimeDeltaSec: p.lifetimeDeltaSec as number };
  });
  return {
    granuleId: r.granuleId as bigint,
    pinningCount: r.pinningCount as number,
    totalAllocs: r.totalAllocs as number,
    drainedAllocs: r.drainedAllocs as number,
    pinningAllocs: allocs,
  };
}

function normSummary(x: unknown, what: string): ModelSummary {
  expectFrozen(x, what);
  const s = x as Record<string, unknown>;
  expectFrozen(s.sites, `${what}.sites`);
  const sites = (s.sites as unknown[]).map((e, i) => {
    const w = `${what}.sites[${i}]`;
    expectFrozen(e, w);
    const t = e as Record<string, unknown>;
    const cc = t.classCounts as { unresolved: number; nearMiss: number; moderate: number; fundamentalMismatch: number };
    expectFrozen(cc, `${w}.classCounts`);
    if (t.violationClass !== dominantClass(cc)) fail(`${w}.violationClass ${String(t.violationClass)} but classCounts ${fmt(cc)}`);
    return {
      site: normSite(t.site, `${w}.site`),
      pinningCount: t.pinningCount as number,
      totalAllocs: t.totalAllocs as number,
      totalBytes: t.totalBytes as number,
      unresolved: cc.unresolved,
      resolved: cc.nearMiss + cc.moderate + cc.fundamentalMismatch,
    };
  });
  return {
    sites,
    totalPinningAllocs: s.totalPinningAllocs as number,
    reportsAnalyzed: s.reportsAnalyzed as number,
    lifetimeRecordsAnalyzed: s.lifetimeRecordsAnalyzed as number,
  };
}

function normRecords(x: unknown, what: string): unknown[] {
  if (!Array.isArray(x)) fail(`${what} is not an array`);
  return x.map((e, i) => {
    const w = `${what}[${i}]`;
    expectFrozen(e, w);
    const r = e as Record<string, unknown>;
    const life = r.granuleLifetimeSec as number;
    const delta = r.lifetimeDeltaSec as number;
    if (!(life >= 0) || !(delta >= 0)) fail(`${w}: granuleLifetimeSec ${life}, lifetimeDeltaSec ${delta}`);
    if (r.violationClass !== classify(delta, life)) fail(`${w}: class ${String(r.violationClass)} for delta ${delta} / lifetime ${life}`);
    return { granuleId: r.granuleId, allocId: r.allocId, site: normSite(r.site, `${w}.site`), size: r.size };
  });
}

/** Parses the samples of a Prometheus/OpenMetrics exposition: name, labels (unescaped), value. */
export function parseSamples(text: string): { name: string; labels: Record<string, string>; value: string }[] {
  const out: { name: string; labels: Record<string, string>; value: string }[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) fail(`metrics: malformed sample line ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/gy;
    let pos = 0;
    while (pos < body.length) {
      re.lastIndex = pos;
      const l = re.exec(body);
      if (l === null) fail(`metrics: malformed labels in ${JSON.stringify(line)}`);
      labels[l[1]!] = l[2]!.replace(/\\([\\"n])/g, (_x, c: string) => (c === 'n' ? '\n' : c));
      pos = re.lastIndex;
    }
    out.push({ name: m[1]!, labels, value: m[3]! });
  }
  return out;
}

/** Checks a metrics exposition against the model's counters and the constant labels. */
function checkMetrics(text: unknown, prefix: string, labels: Record<string, string>, openMetrics: boolean, s: ModelSnapshot): void {
  if (typeof text !== 'string') fail(`metrics() returned ${typeof text}`);
  const short = text.length > 1500 ? `${text.slice(0, 1500)}...` : text;
  if (openMetrics !== text.endsWith('# EOF\n')) fail(`metrics: openMetrics ${openMetrics} but the text ends ${JSON.stringify(text.slice(-12))}`);
  const samples = parseSamples(text);
  const want: [string, Record<string, string>, number][] = [
    [`${prefix}_granule_closes_total`, { outcome: 'drainable' }, s.drainableCloses],
    [`${prefix}_granule_closes_total`, { outcome: 'pinned' }, s.pinnedCloses],
    [`${prefix}_open_granules`, {}, s.openGranules],
    [`${prefix}_peak_open_granules`, {}, s.peakOpenGranules],
    [`${prefix}_allocations_total`, {}, s.totalAllocs],
    [`${prefix}_deallocations_total`, {}, s.totalDeallocs],
    [`${prefix}_unbalanced_closes_total`, {}, s.unbalancedCloses],
    [`${prefix}_dropped_reports_total`, {}, s.droppedReports],
  ];
  for (const [name, extra, value] of want) {
    const lbl = fmt({ ...labels, ...extra });
    const hit = samples.filter((x) => x.name === name && fmt(x.labels) === lbl);
    if (hit.length !== 1 || Number(hit[0]!.value) !== value) {
      fail(`metrics: want one sample ${name}${lbl} ${value}, found ${fmt(hit)} in\n${short}`);
    }
  }
  const ratio = samples.filter((x) => x.name === `${prefix}_satisfaction_ratio`);
  if (ratio.length !== 1 || Math.abs(Number(ratio[0]!.value) - s.dsr) > 1e-12) fail(`metrics: satisfaction_ratio ${fmt(ratio)}, dsr ${s.dsr}`);
  for (const x of samples) {
    for (const [k, v] of Object.entries(labels)) {
      if (x.labels[k] !== v) fail(`metrics: sample ${x.name} lacks label ${k}=${JSON.stringify(v)}`);
    }
  }
}

/** Compares sites allowing any order among sites with equal sort keys. */
function compareSummary(a: ModelSummary, m: ModelSummary): string | null {
  const head = (s: ModelSummary) => ({ ...s, sites: s.sites.length });
  if (fmt(head(a)) !== fmt(head(m))) return `summary totals ${fmt(head(a))} != model ${fmt(head(m))}`;
  let i = 0;
  while (i < m.sites.length) {
    const fromReports = m.sites[i]!.totalAllocs > 0;
    const key = summarySortKey(m.sites[i]!, fromReports);
    let j = i;
    while (j < m.sites.length && summarySortKey(m.sites[j]!, m.sites[j]!.totalAllocs > 0) === key) j++;
    const norm = (xs: unknown[]) => xs.map((x) => fmt(x)).sort().join('\n');
    if (norm(a.sites.slice(i, j)) !== norm(m.sites.slice(i, j))) {
      return `summary sites [${i}, ${j}) differ:\n  native ${fmt(a.sites.slice(i, j))}\n  model  ${fmt(m.sites.slice(i, j))}`;
    }
    i = j;
  }
  return null;
}

/** Canonical text of a value: sorted keys, bigints with an n, non-finite numbers by name. */
export function fmt(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
    }
    return v;
  });
}

// ---------------------------------------------------------------------------------------------

export interface RunResult {
  ops: number;
  divergence: Divergence | null;
}

function buildOptions(ep: Episode, native: boolean, sink: CallbackSink): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ep.options)) o[k] = build(v);
  if (ep.callback) {
    o.onPinning = (r: unknown) => sink.report(native, r);
    o.onError = (e: unknown) => sink.error(native, e);
  }
  return o;
}

/**
 * Collects what each side's onPinning saw. The native side delivers reports asynchronously
 * (through a thread-safe function, after granuleClose returned, in close order), so the two
 * lists are compared at sync points after the event loop has had a chance to deliver.
 */
class CallbackSink {
  native: string[] = [];
  model: string[] = [];
  throwing = false;
  report(native: boolean, r: unknown): void {
    if (native) this.native.push(fmt(normReport(r, 'onPinning report')));
    else this.model.push(fmt(r));
    if (this.throwing) throw new Error('thrown by onPinning');
  }
  error(native: boolean, e: unknown): void {
    (native ? this.native : this.model).push(`onError:${(e as Error)?.message}`);
  }
  /** Waits until the native side caught up (bounded), then compares and clears both lists. */
  async sync(): Promise<string | null> {
    for (let i = 0; i < 50 && this.native.length < this.model.length; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      if (i > 10) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const a = this.native.splice(0);
    const b = this.model.splice(0);
    if (fmt(a) === fmt(b)) return null;
    return `onPinning/onError calls differ:\n  native ${a.join('\n         ')}\n  model  ${b.join('\n         ')}`;
  }
}

/**
 * Runs an episode (or the ops of it selected by `keep`) on a fresh native profiler and a fresh
 * model. Returns the first divergence, with the index of the op in the episode.
 */
export async function runEpisode(Profiler: ProfilerCtor, ep: Episode, callerSite: CallerSites,
  keep?: readonly number[]): Promise<RunResult> {
  const sink = new CallbackSink();
  sink.throwing = ep.throwInCallback;
  const create = (): [ProfilerLike, ModelProfiler] => {
    const n = new Profiler(buildOptions(ep, true, sink));
    const m = new ModelProfiler(buildOptions(ep, false, sink));
    m.callerSite = callerSite.register;
    m.handleCallerSite = callerSite.handle;
    m.batchCallerSite = callerSite.batch;
    return [n, m];
  };
  let [n, m] = create();
  // Handles and batches made so far, native and model side by side (they outlive 'recreate').
  const extras: Extras = { handles: [], batches: [] };
  const indices = keep ?? ep.ops.map((_, i) => i);
  let count = 0;
  const check = (i: number, op: Op, f: () => string | null): Divergence | null => {
    try {
      const d = f();
      return d === null ? null : new Divergence(i, op, d);
    } catch (e) {
      if (e instanceof Divergence) return new Divergence(i, op, e.message);
      throw e;
    }
  };
  try {
    for (const i of indices) {
      const op = ep.ops[i]!;
      count++;
      // Not before 'destroy': reports queued before destroy() must still be delivered after it.
      if (ep.callback && (op.op === 'recreate' || count % 64 === 0)) {
        const d = await sink.sync();
        if (d !== null) return { ops: count, divergence: new Divergence(i, op, `before this op: ${d}`) };
      }
      if (op.op === 'recreate') {
        n.destroy();
        [n, m] = create();
        continue;
      }
      if (op.op === 'construct') {
        const d = check(i, op, () => construct(Profiler, op.args[0]!));
        if (d !== null) return { ops: count, divergence: d };
        continue;
      }
      const d = check(i, op, () => step(n, m, op, extras));
      if (d !== null) return { ops: count, divergence: d };
    }
    // At the end: everything observable once more.
    for (const name of ['snapshot', 'sweep', 'summary', 'lifetime', 'drain', 'snapshot'] as const) {
      const op: Op = { op: name, args: [] };
      const d = check(ep.ops.length, op, () => step(n, m, op, extras));
      if (d !== null) return { ops: count, divergence: d };
    }
    if (ep.callback) {
      const d = await sink.sync();
      if (d !== null) return { ops: count, divergence: new Divergence(ep.ops.length, null, `at the end: ${d}`) };
    }
    return { ops: count, divergence: null };
  } finally {
    n.destroy();
  }
}

/** new Profiler(options) on both sides: same error, or both succeed. */
function construct(Profiler: ProfilerCtor, options: V): string | null {
  const outcome = (f: () => { destroy(): void }): string => {
    try {
      f().destroy();
      return 'ok';
    } catch (e) {
      return errorOf(e);
    }
  };
  const a = outcome(() => new Profiler(build(options)));
  const b = outcome(() => new ModelProfiler(build(options) as never));
  return a === b ? null : `new Profiler(${show(options)}): native ${a}, model ${b}`;
}

interface Extras {
  handles: [HandleLike, ModelGranule][];
  batches: [BatchLike, ModelBatch][];
}

type Target =
  | { kind: 'profiler' }
  | { kind: 'handle'; pair: [HandleLike, ModelGranule] }
  | { kind: 'batch'; pair: [BatchLike, ModelBatch] };

/** Runs op on one side; `side` 0 native, 1 model. */
function call(side: 0 | 1, p: ProfilerLike, op: Op, args: unknown[], t: Target): unknown {
  switch (op.op) {
    case 'handle': return (p as unknown as { granule(id: unknown): unknown }).granule(args[0]);
    case 'batch': return (p as unknown as { batch(...a: unknown[]): unknown }).batch(...args);
    case 'hreg':
    case 'hdereg':
    case 'hclose':
    case 'hopen': {
      const h = (t as { pair: [HandleLike, ModelGranule] }).pair[side] as HandleLike;
      return invokeHandle(h, op.op, args.slice(1));
    }
    case 'brec': {
      const b = (t as { pair: [BatchLike, ModelBatch] }).pair[side] as BatchLike;
      return invokeBatch(b, args[1], args.slice(2));
    }
    case 'bcommit': return ((t as { pair: [BatchLike, ModelBatch] }).pair[side] as BatchLike).commit();
    case 'bclear': return ((t as { pair: [BatchLike, ModelBatch] }).pair[side] as BatchLike).clear();
    default: return invoke(p, op.op, args);
  }
}

function normBatchResult(x: unknown): unknown {
  expectFrozen(x, 'commit()');
  const r = x as { calls: number; failed: number; closes: Int8Array; failures: readonly Record<string, unknown>[]; firstError: unknown };
  if (!(r.closes instanceof Int8Array)) fail(`commit().closes is not an Int8Array`);
  expectFrozen(r.failures, 'commit().failures');
  return {
    calls: r.calls,
    failed: r.failed,
    closes: Array.from(r.closes),
    failures: r.failures.map((f, i) => {
      expectFrozen(f, `commit().failures[${i}]`);
      return { index: f.index, count: f.count, call: f.call, granuleId: f.granuleId, code: f.code };
    }),
    firstError: r.firstError === null ? null : errorOf(r.firstError),
  };
}

function step(n: ProfilerLike, m: ModelProfiler, op: Op, extras: Extras): string | null {
  const nArgs = op.args.map(build);
  const mArgs = op.args.map(build);
  let target: Target = { kind: 'profiler' };
  if (op.op === 'hreg' || op.op === 'hdereg' || op.op === 'hclose' || op.op === 'hopen') {
    if (extras.handles.length === 0) return null;
    target = { kind: 'handle', pair: extras.handles[(nArgs[0] as number) % extras.handles.length]! };
  } else if (op.op === 'brec' || op.op === 'bcommit' || op.op === 'bclear') {
    if (extras.batches.length === 0) return null;
    target = { kind: 'batch', pair: extras.batches[(nArgs[0] as number) % extras.batches.length]! };
  }
  let a: Outcome;
  let b: Outcome;
  try {
    a = { ok: call(0, n, op, nArgs, target) };
  } catch (e) {
    a = { err: errorOf(e) };
  }
  try {
    b = { ok: call(1, m as unknown as ProfilerLike, op, mArgs, target) };
  } catch (e) {
    b = { err: errorOf(e) };
  }
  if (op.op === 'handle' && 'ok' in a && 'ok' in b) extras.handles.push([a.ok as HandleLike, b.ok as ModelGranule]);
  if (op.op === 'batch' && 'ok' in a && 'ok' in b) extras.batches.push([a.ok as BatchLike, b.ok as ModelBatch]);
  if ('err' in a || 'err' in b) {
    const made = op.op === 'handle' || op.op === 'batch';
    const ea = 'err' in a ? a.err : made ? 'returned an object' : `returned ${fmt(a.ok)}`;
    const eb = 'err' in b ? b.err : made ? 'returned an object' : `returned ${fmt(b.ok)}`;
    return ea === eb ? null : `native ${ea}, model ${eb}`;
  }
  const x = a.ok;
  const y = b.ok;
  let nx: unknown;
  switch (op.op) {
    case 'snapshot':
    case 'sweep':
      nx = normSnapshot(x, op.op);
      break;
    case 'drain':
      if (!Array.isArray(x)) return `drainReports returned ${fmt(x)}`;
      nx = x.map((r, i) => normReport(r, `drainReports()[${i}]`));
      break;
    case 'summary': {
      const d = compareSummary(normSummary(x, 'diagnosticSummary()'), y as ModelSummary);
      return d;
    }
    case 'lifetime':
      nx = normRecords(x, 'lifetimeRecords()');
      break;
    case 'text':
      if (typeof x !== 'string' || x.length === 0) return `textReport returned ${fmt(x)}`;
      return null;
    case 'metrics': {
      const r = y as { prefix: string; labels: Record<string, string>; openMetrics: boolean; snapshot: ModelSnapshot };
      checkMetrics(x, r.prefix, r.labels, r.openMetrics, r.snapshot);
      return null;
    }
    case 'handle':
    case 'batch':
      return null; // the objects themselves; what they do is compared op by op
    case 'bcommit':
      nx = normBatchResult(x);
      break;
    default:
      nx = x;
  }
  const fa = fmt(nx);
  const fb = fmt(y);
  return fa === fb ? null : `native ${fa}\n  model  ${fb}`;
}

// ---------------------------------------------------------------------------------------------
// Shrinking: delta debugging over the op list
// ---------------------------------------------------------------------------------------------
export async function shrink(Profiler: ProfilerCtor, ep: Episode, callerSite: CallerSites,
  failingLength: number): Promise<number[]> {
  const fails = async (idx: number[]) => (await runEpisode(Profiler, ep, callerSite, idx)).divergence !== null;
  let cur = Array.from({ length: Math.min(failingLength, ep.ops.length) }, (_, i) => i);
  if (!(await fails(cur))) cur = ep.ops.map((_, i) => i);
  let n = 2;
  while (cur.length >= 2) {
    const chunk = Math.ceil(cur.length / n);
    let reduced = false;
    for (let i = 0; i < n && !reduced; i++) {
      const complement = cur.filter((_, j) => j < i * chunk || j >= (i + 1) * chunk);
      if (complement.length > 0 && (await fails(complement))) {
        cur = complement;
        n = Math.max(n - 1, 2);
        reduced = true;
      }
    }
    if (!reduced) {
      if (n >= cur.length) break;
      n = Math.min(cur.length, n * 2);
    }
  }
  // Final pass: drop single ops until none can go.
  for (let i = cur.length - 1; i >= 0; i--) {
    const without = cur.filter((_, j) => j !== i);
    if (without.length > 0 && (await fails(without))) cur = without;
  }
  return cur;
}

const METHOD: Record<OpName, string> = {
  open: 'granuleOpen', close: 'granuleClose', register: 'allocRegister', deregister: 'allocDeregister',
  snapshot: 'snapshot', sweep: 'sweep', reset: 'reset', drain: 'drainReports', summary: 'diagnosticSummary',
  lifetime: 'lifetimeRecords', text: 'textReport', metrics: 'metrics', getters: '(mode, storage, destroyed)',
  destroy: 'destroy', recreate: '(destroy and create again)', construct: '(new Profiler)',
  handle: 'granule', hreg: '(handle #a0).register', hdereg: '(handle #a0).deregister', hclose: '(handle #a0).close',
  hopen: '(handle #a0).open', batch: 'batch', brec: '(batch #a0).record', bcommit: '(batch #a0).commit',
  bclear: '(batch #a0).clear',
};

export function showEpisode(ep: Episode, indices?: readonly number[]): string {
  const opts = Object.entries(ep.options).map(([k, v]) => `${k}: ${show(v)}`);
  if (ep.callback) opts.push(`onPinning: (r) => {${ep.throwInCallback ? ' throw ...' : ''}}`, 'onError: (e) => {}');
  const lines = [`const p = new Profiler({ ${opts.join(', ')} });`];
  for (const i of indices ?? ep.ops.map((_, j) => j)) {
    const op = ep.ops[i]!;
    lines.push(`p.${METHOD[op.op]}(${op.args.map(show).join(', ')});   // op #${i}`);
  }
  return lines.join('\n');
}

export const CONFIGS: readonly Config[] = [
  { mode: 'production', storage: 'slot-array' },
  { mode: 'production', storage: 'hash-map' },
  { mode: 'diagnostic', storage: 'slot-array' },
  { mode: 'diagnostic', storage: 'hash-map' },
];

export interface CampaignResult {
  config: Config;
  ops: number;
  episodes: number;
  divergences: { seed: number; message: string; repro: string }[];
}

/**
 * Runs episodes until `totalOps` ops ran for one configuration. Each divergence is shrunk and
 * kept (up to `maxDivergences`, then the campaign stops early).
 */
export async function campaign(Profiler: ProfilerCtor, config: Config, baseSeed: number, totalOps: number,
  opts: { episodeLength?: number; maxDivergences?: number; log?: (s: string) => void } = {}): Promise<CampaignResult> {
  const callerSite = calibrateCallerSite(Profiler);
  const res: CampaignResult = { config, ops: 0, episodes: 0, divergences: [] };
  const configIndex = CONFIGS.findIndex((c) => c.mode === config.mode && c.storage === config.storage);
  while (res.ops < totalOps) {
    const seed = mixSeed(baseSeed, configIndex, res.episodes);
    const len = opts.episodeLength ?? 200 + (seed % 1800);
    const ep = generateEpisode(config, seed, Math.min(len, totalOps - res.ops));
    res.episodes++;
    const r = await runEpisode(Profiler, ep, callerSite);
    res.ops += r.ops;
    if (r.divergence) {
      const d = r.divergence;
      const minimal = await shrink(Profiler, ep, callerSite, d.opIndex + 1);
      const again = (await runEpisode(Profiler, ep, callerSite, minimal)).divergence;
      const message = `${config.mode}/${config.storage} seed ${seed}: op #${d.opIndex} ${d.op ? `${METHOD[d.op.op]}(${d.op.args.map(show).join(', ')})` : ''}: ${d.message}`;
      const repro = `${showEpisode(ep, minimal)}\n// diverges at the last op: ${again?.message ?? '(no longer reproduces)'}`;
      res.divergences.push({ seed, message, repro });
      opts.log?.(`DIVERGENCE ${message}\n--- minimal reproduction (${minimal.length} ops) ---\n${repro}\n`);
      if (res.divergences.length >= (opts.maxDivergences ?? 5)) break;
    }
  }
  return res;
}
