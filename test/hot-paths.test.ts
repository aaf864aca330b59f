// The three ways to report allocations from JS (plain calls, batches, granule
// handles) and native threads: the same workload through each gives the same
// counters; stale handles; batch results and errors; handle folding; misuse of
// the binding's call area.
import { describe, expect, it } from 'vitest';
import { MATRIX, MODES, Profiler, STORAGES, expectError, internal } from './helpers.js';
import type * as Drainprof from '../dist/index.js';

type Snapshot = Drainprof.Snapshot;
type Id = number | bigint;

const { binding, nativeHandleOf, viewOf } = internal;

/** Every counter of a snapshot, without its timestamp. */
function counters(s: Snapshot): Omit<Snapshot, 'timestampNs'> {
  const { timestampNs: _, ...rest } = s;
  return rest;
}

/** What each report says, without times (they differ between runs). */
function reportShapes(p: Drainprof.Profiler) {
  return p.drainReports().map((r) => ({
    granuleId: r.granuleId, pinningCount: r.pinningCount, totalAllocs: r.totalAllocs,
    allocs: r.pinningAllocs.map((a) => ({ allocId: a.allocId, size: a.size, site: a.site })),
  }));
}

// ---- one workload, as data -------------------------------------------------

type Op =
  | { op: 'open'; g: Id }
  | { op: 'close'; g: Id }
  | { op: 'reg'; g: Id; a: Id; size: number }
  | { op: 'dereg'; g: Id; a: Id };

/**
 * Deterministic: granules opened, filled, partly drained, closed (pinned or
 * drainable), reopened; ids as numbers, as bigints, and above 2^32; failing
 * calls of every kind (register/deregister into a closed granule, close of a
 * closed one, open of an open one, an unbalanced close).
 */
function workload(seed: number): Op[] {
  let x = seed >>> 0 || 1;
  const rand = (n: number) => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x % n;
  };
  const ids: Id[] = [1, 2, 3n, 2 ** 32 + 5, 2n ** 63n + 7n, 0];
  const ops: Op[] = [];
  let alloc = 0;
  for (let round = 0; round < 30; round++) {
    const g = ids[round % ids.length]!;
    ops.push({ op: 'open', g });
    if (round % 7 === 0) ops.push({ op: 'open', g }); // already open
    const live: number[] = [];
    const n = 1 + rand(40);
    for (let i = 0; i < n; i++) {
      const a = alloc++;
      ops.push({ op: 'reg', g, a: i % 3 === 0 ? BigInt(a) : a, size: 8 + rand(100) });
      live.push(a);
      if (rand(3) === 0) {
        const freed = live.splice(rand(live.length), 1)[0]!;
        ops.push({ op: 'dereg', g, a: freed });
      }
    }
    const keep = round % 3 === 0 ? 1 : 0; // every third granule stays pinned
    while (live.length > keep) ops.push({ op: 'dereg', g, a: live.shift()! });
    if (round === 11) ops.push({ op: 'dereg', g, a: 999_999 }, { op: 'reg', g, a: 999_999, size: 1 }); // net unchanged
    ops.push({ op: 'close', g });
    ops.push({ op: 'close', g }); // not open any more
    ops.push({ op: 'reg', g, a: 1, size: 1 }); // into a closed granule
    ops.push({ op: 'dereg', g, a: 1 });
  }
  // An unbalanced close: more deregisters than registers (production only:
  // diagnostic refuses the deregister of an allocation that is not live).
  return ops;
}

function unbalanced(): Op[] {
  return [{ op: 'open', g: 77 }, { op: 'reg', g: 77, a: 1, size: 1 }, { op: 'dereg', g: 77, a: 1 },
    { op: 'dereg', g: 77, a: 1 }, { op: 'close', g: 77 }];
}

const SITE = 'workload.ts:10:5';

/** V8's own line of the caller (what drainprof records; vitest's stacks are source-mapped). */
function rawLine(): number {
  const E = Error as unknown as { prepareStackTrace?: unknown; captureStackTrace(o: object, f: Function): void };
  const saved = E.prepareStackTrace;
  E.prepareStackTrace = (_e: unknown, frames: unknown) => frames;
  const holder: { stack?: { getLineNumber(): number }[] } = {};
  E.captureStackTrace(holder, rawLine);
  const frames = holder.stack!; // formatted on first access: before restoring
  E.prepareStackTrace = saved;
  return frames[0]!.getLineNumber();
}

function tryCall(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    return (err as { code: string }).code;
  }
}

/** Through the Profiler's methods; returns each failing call's code in order. */
function runPlain(p: Drainprof.Profiler, ops: Op[]): (string | null)[] {
  return ops.map((o) => tryCall(() => {
    switch (o.op) {
      case 'open': return p.granuleOpen(o.g);
      case 'close': return p.granuleClose(o.g);
      case 'reg': return p.allocRegister(o.g, o.a, o.size, SITE);
      default: return p.allocDeregister(o.g, o.a);
    }
  }));
}

/** Through one batch per `chunk` calls; returns each call's code the same way. */
function runBatch(p: Drainprof.Profiler, ops: Op[], chunk: number): (string | null)[] {
  const codes: (string | null)[] = [];
  const b = p.batch();
  const flush = () => {
    const r = b.commit();
    const mine: (string | null)[] = new Array(r.calls).fill(null);
    for (const f of r.failures) for (let k = 0; k < f.count; k++) mine[f.index + k] = f.code;
    codes.push(...mine);
  };
  for (const o of ops) {
    switch (o.op) {
      case 'open': b.granuleOpen(o.g); break;
      case 'close': b.granuleClose(o.g); break;
      case 'reg': b.allocRegister(o.g, o.a, o.size, SITE); break;
      default: b.allocDeregister(o.g, o.a);
    }
    if (b.size === chunk) flush();
  }
  flush();
  return codes;
}

/**
 * Through granule handles wherever a register/deregister has one: the handle
 * of the granule's current life, or the stale handle of its last life for
 * calls into a closed granule (they throw and count as failed, as the plain
 * calls do). Ids never opened go through the plain calls.
 */
function runHandles(p: Drainprof.Profiler, ops: Op[]): (string | null)[] {
  const handles = new Map<string, Drainprof.Granule>();
  const key = (g: Id) => String(g);
  return ops.map((o) => tryCall(() => {
    switch (o.op) {
      case 'open': {
        p.granuleOpen(o.g);
        handles.set(key(o.g), p.granule(o.g));
        return undefined;
      }
      case 'close': {
        const h = handles.get(key(o.g));
        return h !== undefined && h.open ? h.close() : p.granuleClose(o.g);
      }
      case 'reg': {
        const h = handles.get(key(o.g));
        return h === undefined ? p.allocRegister(o.g, o.a, o.size, SITE) : h.register(o.a, o.size, SITE);
      }
      default: {
        const h = handles.get(key(o.g));
        return h === undefined ? p.allocDeregister(o.g, o.a) : h.deregister(o.a);
      }
    }
  }));
}

describe.each(MATRIX)('the same workload through every path: $mode / $storage', ({ mode, storage }) => {
  const ops = mode === 'production' ? [...workload(42), ...unbalanced()] : workload(42);
  const make = () => new Profiler({ mode, storage, slotCapacity: 8, lifetimeLimit: 0 });

  it('gives identical counters, call results and reports', () => {
    const plain = make();
    const plainCodes = runPlain(plain, ops);
    const expected = counters(plain.snapshot());
    expect(expected.totalCloses).toBeGreaterThan(20);
    expect(expected.failedRegisters).toBeGreaterThan(20);
    expect(plainCodes.filter((c) => c !== null).length).toBeGreaterThan(60);
    if (mode === 'production') expect(expected.unbalancedCloses).toBe(1);
    const expectedReports = mode === 'diagnostic' ? reportShapes(plain) : [];
    plain.destroy();

    for (const chunk of [1, 7, 1_000_000]) {
      const p = make();
      expect(runBatch(p, ops, chunk), `batch of ${chunk}`).toEqual(plainCodes);
      expect(counters(p.snapshot()), `batch of ${chunk}`).toEqual(expected);
      if (mode === 'diagnostic') expect(reportShapes(p)).toEqual(expectedReports);
      p.destroy();
    }

    const h = make();
    expect(runHandles(h, ops)).toEqual(plainCodes);
    expect(counters(h.snapshot())).toEqual(expected);
    if (mode === 'diagnostic') expect(reportShapes(h)).toEqual(expectedReports);
    h.destroy();
  });

  it('counts native threads, handles, batches and plain calls into one granule exactly', () => {
    const p = make();
    p.granuleOpen(5);
    const g = p.granule(5);
    const b = p.batch();
    const threads = binding.testHooks.countOnThreads(nativeHandleOf(p)!, 5, 4, 3000, 2990);
    expect(threads).toBe(0);
    for (let i = 0; i < 1000; i++) {
      g.register(i, 8, SITE);
      p.allocRegister(5, 10_000 + i, 8, SITE);
      b.allocRegister(5, 20_000 + i, 8, SITE);
    }
    for (let i = 0; i < 1000; i++) {
      g.deregister(i);
      p.allocDeregister(5, 10_000 + i);
      if (i !== 0) b.allocDeregister(5, 20_000 + i);
    }
    expect(b.commit().failed).toBe(0);
    const s = p.snapshot();
    expect(s.totalAllocs).toBe(4 * 3000 + 3000);
    expect(s.totalDeallocs).toBe(4 * 2990 + 2999);
    expect(p.sweep()).toMatchObject({ pinnedCloses: 1, drainableCloses: 0 });
    expect(g.close()).toBe(false);
    expect(p.snapshot()).toMatchObject({ totalCloses: 1, pinnedCloses: 1, totalAllocs: 15000, totalDeallocs: 14959 });
    p.destroy();
  });
});

describe('granule handles', () => {
  it.each(MODES)('%s: a stale handle throws, counts as failed and never counts into a later life', (mode) => {
    const p = new Profiler({ mode, slotCapacity: 2 });
    p.granuleOpen(1);
    const old = p.granule(1);
    expect(p.granule(1)).toBe(old); // same open granule: same handle
    expect(p.granule(1n)).toBe(old);
    old.register(1, 8);
    expect(old.open).toBe(true);
    expect(p.granuleClose(1)).toBe(false);
    expect(old.open).toBe(false);
    // Same id again (and, with two records, the same record soon after).
    p.granuleOpen(1);
    const fresh = p.granule(1);
    expect(fresh).not.toBe(old);
    expectError(() => old.register(2, 8), Error, 'ERR_GRANULE_NOT_OPEN');
    expectError(() => old.deregister(1), Error, 'ERR_GRANULE_NOT_OPEN');
    expect(p.sweep()).toMatchObject({ drainableCloses: 1, pinnedCloses: 0 });
    expect(fresh.close()).toBe(true);
    // Another id reusing the freed record.
    p.granuleOpen(2);
    const other = p.granule(2);
    expectError(() => fresh.register(3, 8), Error, 'ERR_GRANULE_NOT_OPEN');
    expectError(() => fresh.close(), Error, 'ERR_GRANULE_NOT_OPEN');
    expect(other.close()).toBe(true);
    expect(p.snapshot()).toMatchObject({
      totalCloses: 3, pinnedCloses: 1, drainableCloses: 2,
      totalAllocs: 3, totalDeallocs: 1, failedRegisters: 2, failedDeregisters: 1, failedCloses: 1,
    });
    p.destroy();
    expectError(() => other.register(1, 1), Error, 'ERR_PROFILER_DESTROYED');
    expectError(() => other.close(), Error, 'ERR_PROFILER_DESTROYED');
  });

  it('cannot be made for a granule that is not open, and moves no counter trying', () => {
    const p = new Profiler();
    expectError(() => p.granule(9), Error, 'ERR_GRANULE_NOT_OPEN');
    expectError(() => p.granule(-1), RangeError, 'ERR_OUT_OF_RANGE');
    expectError(() => p.granule('1' as never), TypeError, 'ERR_INVALID_ARG_TYPE');
    expect(counters(p.snapshot())).toEqual(counters(new Profiler().snapshot()));
    p.destroy();
    expectError(() => p.granule(1), Error, 'ERR_PROFILER_DESTROYED');
  });

  it('is frozen and keeps nothing of the id but the id', () => {
    const p = new Profiler();
    p.granuleOpen(2n ** 64n - 1n);
    const g = p.granule(2n ** 64n - 1n);
    expect(Object.isFrozen(g)).toBe(true);
    expect(g.id).toBe(2n ** 64n - 1n);
    expect(Object.keys(g)).toEqual(['id']);
    g.register();
    expect(p.granuleClose(2n ** 64n - 1n)).toBe(false);
    p.destroy();
  });

  it('production: ignores its arguments, folds its counts into the core before a word overflows', () => {
    const p = new Profiler();
    p.granuleOpen(1);
    const g = p.granule(1);
    g.register('anything' as never, {} as never);
    const view = viewOf(p)!;
    const words = view.slots!.counts[0]!;
    // The slot is the first of the first slab: registers' low word is int32 2
    // (little-endian), deregisters' 4. Pretend 2^31 - 3 more were counted.
    const little = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
    const reg = little ? 2 : 3;
    const dereg = little ? 4 : 5;
    expect(words[reg]).toBe(1);
    words[reg] = 0x7fff_fffe;
    words[dereg] = 0x7fff_fffe;
    for (let i = 0; i < 5; i++) g.register();
    for (let i = 0; i < 4; i++) g.deregister();
    // A fold takes both counts into the core: registers folded at their
    // second call (deregisters with them), the four deregisters came after.
    expect(words[reg]).toBe(4);
    expect(words[dereg]).toBe(4);
    const s = p.snapshot();
    expect(s.totalAllocs).toBe(0x7fff_fffe + 5);
    expect(s.totalDeallocs).toBe(0x7fff_fffe + 4);
    expect(p.granuleClose(1)).toBe(false);
    expect(p.snapshot().totalAllocs).toBe(0x7fff_fffe + 5);
    p.destroy();
  });

  it('diagnostic: records sites, the automatic one at the line that called register()', () => {
    const p = new Profiler({ mode: 'diagnostic' });
    p.granuleOpen(1);
    const g = p.granule(1);
    g.register(1, 16, 'explicit.ts:3:4');
    const line = (g.register(2, 32), rawLine()); // one statement: one line after vitest's transform
    expectError(() => g.register(undefined, 1), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(() => g.register(3, -1), RangeError, 'ERR_OUT_OF_RANGE');
    expectError(() => g.deregister(99), Error, 'ERR_ALLOC_NOT_LIVE');
    expect(g.close()).toBe(false);
    const [report] = p.drainReports();
    expect(report!.pinningAllocs.map((a) => a.site)).toEqual([
      { file: 'explicit.ts', line: 3, column: 4 },
      { file: expect.stringContaining('hot-paths.test.ts'), line, column: expect.any(Number) },
    ]);
    expect(p.snapshot()).toMatchObject({ totalAllocs: 2, totalDeallocs: 1, failedDeregisters: 1 });
    p.destroy();
  });

  it('recycles slots: many granules open and closed, more at once than a slab holds', () => {
    for (const storage of STORAGES) {
      const p = new Profiler({ storage, slotCapacity: 300 });
      for (let round = 0; round < 5; round++) {
        const handles = [];
        for (let g = 0; g < 200; g++) {
          p.granuleOpen(g);
          handles.push(p.granule(g));
        }
        handles.forEach((h, i) => { for (let k = 0; k <= i % 3; k++) h.register(); if (i % 2) h.deregister(); });
        handles.forEach((h) => h.close());
      }
      expect(viewOf(p)!.slots!.slabs.length).toBeLessThanOrEqual(3); // 64 + 128 + 256 slots
      expect(p.snapshot()).toMatchObject({ totalCloses: 1000, totalAllocs: 5 * (67 + 67 * 2 + 66 * 3), totalDeallocs: 500 });
      p.destroy();
    }
  });

  it('reset() releases every handle, like a close that counts nothing', () => {
    const p = new Profiler();
    p.granuleOpen(1);
    const g = p.granule(1);
    g.register();
    p.reset();
    expect(g.open).toBe(false);
    expectError(() => g.register(), Error, 'ERR_GRANULE_NOT_OPEN');
    expect(p.snapshot()).toMatchObject({ totalAllocs: 1, failedRegisters: 1, openGranules: 0 });
    p.destroy();
  });

  it('keeps its memory safe: slabs are SharedArrayBuffers native code holds', () => {
    const p = new Profiler();
    p.granuleOpen(1);
    p.granule(1).register();
    const slab = viewOf(p)!.slots!.slabs[0]!;
    expect(slab.buffer).toBeInstanceOf(SharedArrayBuffer);
    // A SharedArrayBuffer cannot be transferred (detached).
    expect(() => structuredClone(slab.buffer, { transfer: [slab.buffer as never] })).toThrow();
    expect(slab.length).toBeGreaterThan(0);
    // The binding refuses anything else as a slab or a call area.
    const h = nativeHandleOf(p)!;
    expect(() => binding.adoptSlab(h, new Float64Array(8))).toThrow(TypeError);
    expect(() => binding.adoptSlab(h, new Float32Array(new SharedArrayBuffer(64)) as never)).toThrow(TypeError);
    expect(() => binding.attach(h, 99, 0, 1)).toThrow(TypeError);
    expect(() => binding.attach(h, 0, 1e6, 1)).toThrow(TypeError);
    expect(p.granuleClose(1)).toBe(false);
    p.destroy();
  });
});

describe('batches', () => {
  it('reports each close and each failure, with the error the call alone would throw', () => {
    const p = new Profiler();
    const b = p.batch();
    b.granuleOpen(1);
    b.allocRegister(1, 1, 8);
    b.allocRegister(1, 2, 8);
    b.allocDeregister(1, 1);
    b.granuleClose(1);   // pinned
    b.allocRegister(1, 3, 8); // calls 5..6 on a closed granule: one run, fail together
    b.allocDeregister(1, 3);
    b.granuleOpen(2);
    b.granuleOpen(2);    // already open
    b.granuleClose(2);   // drainable
    b.granuleClose(2);   // not open
    expect(b.size).toBe(11);
    const r = b.commit();
    expect(b.size).toBe(0);
    expect(Object.isFrozen(r)).toBe(true);
    expect(r.calls).toBe(11);
    expect(r.failed).toBe(4);
    expect([...r.closes]).toEqual([0, 1, -1]);
    expect(r.failures).toEqual([
      { index: 5, count: 2, call: 'allocRegister', granuleId: 1n, code: 'ERR_GRANULE_NOT_OPEN' },
      { index: 8, count: 1, call: 'granuleOpen', granuleId: 2n, code: 'ERR_GRANULE_ALREADY_OPEN' },
      { index: 10, count: 1, call: 'granuleClose', granuleId: 2n, code: 'ERR_GRANULE_NOT_OPEN' },
    ]);
    expect(r.firstError).toBeInstanceOf(Error);
    expect(r.firstError!.code).toBe('ERR_GRANULE_NOT_OPEN');
    expect(p.snapshot()).toMatchObject({
      totalCloses: 2, pinnedCloses: 1, totalAllocs: 3, totalDeallocs: 2, failedRegisters: 1, failedDeregisters: 1,
      failedOpens: 1, failedCloses: 1,
    });
    // An empty commit, and commitOrThrow.
    expect(b.commit()).toMatchObject({ calls: 0, failed: 0, failures: [], firstError: null });
    b.granuleClose(7);
    const err = expectError(() => b.commitOrThrow(), Error, 'ERR_GRANULE_NOT_OPEN');
    expect((err as unknown as { batchResult: { failed: number } }).batchResult.failed).toBe(1);
    b.granuleOpen(7);
    expect(b.commitOrThrow().failed).toBe(0);
    p.destroy();
  });

  it('splits ids into uint32 halves: numbers above 2^32 and bigints up to 2^64-1', () => {
    for (const mode of MODES) {
      const p = new Profiler({ mode, storage: 'hash-map' });
      const ids: Id[] = [0, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2n ** 64n - 1n, 2n ** 32n + 1n];
      const b = p.batch(1);
      for (const id of ids) {
        b.granuleOpen(id);
        b.allocRegister(id, id, 2 ** 53 - 1);
        b.allocRegister(id, 5, 0);
        b.allocDeregister(id, 5);
      }
      expect(b.commit().failed).toBe(0);
      for (const id of ids) expect(p.granuleClose(id)).toBe(false);
      if (mode === 'diagnostic') {
        const reports = p.drainReports();
        expect(reports.map((r) => r.granuleId)).toEqual(ids.map((id) => BigInt(id)));
        expect(reports.map((r) => r.pinningAllocs[0]!.allocId)).toEqual(ids.map((id) => BigInt(id)));
        expect(reports.every((r) => r.pinningAllocs[0]!.size === 2 ** 53 - 1)).toBe(true);
      }
      p.destroy();
    }
  });

  it('checks arguments when a call is recorded: a rejected call is not recorded', () => {
    const p = new Profiler();
    const b = p.batch();
    expectError(() => b.allocRegister(1, -1, 8), RangeError, 'ERR_OUT_OF_RANGE');
    expectError(() => b.allocRegister(1, 1, 1.5), RangeError, 'ERR_OUT_OF_RANGE');
    expectError(() => b.allocRegister(1, 1, 8, 5 as never), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(() => b.allocDeregister(null as never, 1), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(() => b.granuleOpen(2n ** 64n), RangeError, 'ERR_OUT_OF_RANGE');
    expectError(() => p.batch(-1), RangeError, 'ERR_OUT_OF_RANGE');
    expect(b.size).toBe(0);
    b.granuleOpen(1);
    b.clear();
    expect(b.commit().calls).toBe(0);
    expect(p.snapshot().openGranules).toBe(0);
    p.destroy();
    expectError(() => b.granuleOpen(1), Error, 'ERR_PROFILER_DESTROYED');
    expectError(() => b.commit(), Error, 'ERR_PROFILER_DESTROYED');
    expectError(() => p.batch(), Error, 'ERR_PROFILER_DESTROYED');
  });

  it('diagnostic: keeps sites (explicit strings interned once, objects, the recording line) and fails per call', () => {
    const p = new Profiler({ mode: 'diagnostic', lifetimeLimit: 0 });
    const b = p.batch();
    b.granuleOpen(1);
    for (let i = 0; i < 3; i++) b.allocRegister(1, i, 8, 'batch.ts:7:2');
    b.allocRegister(1, 3, 8, { file: 'obj.ts', line: 9 });
    const line = (b.allocRegister(1, 4, 8), rawLine());
    b.allocDeregister(1, 0);
    b.allocDeregister(1, 0); // not live any more
    b.granuleClose(1);
    const r = b.commit();
    expect(r.failures).toEqual([{ index: 7, count: 1, call: 'allocDeregister', granuleId: 1n, code: 'ERR_ALLOC_NOT_LIVE' }]);
    expect([...r.closes]).toEqual([0]);
    const sites = p.drainReports()[0]!.pinningAllocs.map((a) => a.site);
    expect(sites).toEqual([
      { file: 'batch.ts', line: 7, column: 2 }, { file: 'batch.ts', line: 7, column: 2 },
      { file: 'obj.ts', line: 9, column: 0 },
      { file: expect.stringContaining('hot-paths.test.ts'), line, column: expect.any(Number) },
    ]);
    p.destroy();
  });

  it('production: a long run of one granule is counted in one step, exactly', () => {
    const p = new Profiler();
    p.granuleOpen(1);
    const b = p.batch();
    for (let i = 0; i < 100_000; i++) {
      b.allocRegister(1, i, 8);
      b.allocDeregister(1, i);
    }
    b.allocRegister(1, 0, 8);
    expect(b.size).toBe(200_001);
    expect(b.commit()).toMatchObject({ calls: 200_001, failed: 0 });
    expect(p.snapshot()).toMatchObject({ totalAllocs: 100_001, totalDeallocs: 100_000 });
    expect(p.granuleClose(1)).toBe(false);
    p.destroy();
  });
});

describe('the binding refuses a malformed batch before running any of it', () => {
  it.each(MODES)('%s', (mode) => {
    const p = new Profiler({ mode });
    const h = nativeHandleOf(p)!;
    const stride = mode === 'production' ? 5 : 10;
    const ok = new Uint32Array(stride * 2);
    ok.set([1, 7, 0], 0); // open 7
    const results = new Int32Array(2);
    expect(() => binding.commitBatch(h, ok, 3, results)).toThrow(TypeError);         // more runs than events
    expect(() => binding.commitBatch(h, ok, 2, new Int32Array(1))).toThrow(TypeError); // results too short
    expect(() => binding.commitBatch(h, new Float64Array(4) as never, 1, results)).toThrow(TypeError);
    const bad = ok.slice();
    bad[stride] = 9; // no such op
    expect(() => binding.commitBatch(h, bad, 2, results)).toThrow(TypeError);
    if (mode === 'diagnostic') {
      const site = ok.slice();
      site.set([4, 7, 0, 1, 0, 8, 0, 12345, 1, 1], stride); // register with a file index never interned
      expect(() => binding.commitBatch(h, site, 2, results)).toThrow(TypeError);
    }
    expect(p.snapshot().openGranules).toBe(0); // nothing ran
    expect(binding.commitBatch(h, ok, 1, results)).toBe(0);
    expect(p.snapshot().openGranules).toBe(1);
    p.destroy();
  });
});

describe('plain calls through the call area', () => {
  it('number and bigint ids reach the same granule', () => {
    const p = new Profiler();
    p.granuleOpen(2 ** 40);
    p.allocRegister(2n ** 40n, 1, 1);
    p.allocRegister(2 ** 40, 2, 1);
    p.allocDeregister(2n ** 40n, 2);
    expect(p.sweep().pinnedCloses).toBe(1);
    expect(p.granuleClose(2n ** 40n)).toBe(false);
    expectError(() => p.granuleClose(2 ** 40), Error, 'ERR_GRANULE_NOT_OPEN');
    p.destroy();
  });

  it('refuses a call area that names no view or holds no id (a direct caller of the binding)', () => {
    const p = new Profiler();
    const area = internal.callArea;
    const view = viewOf(p)!.view;
    area[0] = 1e9;
    area[1] = 1;
    expect(() => binding.hotRegister()).toThrow(TypeError);
    area[0] = view;
    area[1] = -1;
    expect(() => binding.hotOpen()).toThrow(TypeError);
    area[1] = NaN;
    expect(() => binding.hotClose()).toThrow(TypeError);
    expect(() => binding.adoptCallArea(new Float64Array(4))).not.toThrow(); // returns the adopted one
    expect(binding.adoptCallArea(new Float64Array(4))).toBe(area);
    const d = new Profiler({ mode: 'diagnostic' });
    area[0] = viewOf(d)!.view;
    area[1] = 1;
    expect(() => binding.hotRegister()).toThrow(TypeError); // diagnostic needs alloc ids
    expect(p.snapshot().totalAllocs).toBe(0);
    p.destroy();
    d.destroy();
  });
});
