// The whole Profiler API in both modes x both storages.
import { describe, expect, it } from 'vitest';
import { MATRIX, Profiler, drainprof, expectError } from './helpers.js';

const SNAPSHOT_KEYS = [
  'timestampNs', 'totalCloses', 'drainableCloses', 'pinnedCloses', 'dsr', 'openGranules', 'peakOpenGranules',
  'totalAllocs', 'totalDeallocs', 'droppedReports', 'unbalancedCloses', 'failedOpens', 'failedCloses',
  'failedRegisters', 'failedDeregisters', 'lifetimeRecords', 'droppedLifetimeRecords',
];

describe.each(MATRIX)('$mode / $storage', ({ mode, storage }) => {
  const make = (extra: object = {}) => new Profiler({ mode, storage, ...extra });

  it('reports mode, storage and destroyed', () => {
    const p = make();
    expect(p.mode).toBe(mode);
    expect(p.storage).toBe(storage);
    expect(p.destroyed).toBe(false);
    p.destroy();
    expect(p.destroyed).toBe(true);
    expect(p.mode).toBe(mode);
  });

  it('runs the four-call example: open, register, deregister, close -> drainable', () => {
    const p = make();
    p.granuleOpen(1);
    p.allocRegister(1, 100, 64);
    p.allocDeregister(1, 100);
    expect(p.granuleClose(1)).toBe(true);
    const s = p.snapshot();
    expect(s.dsr).toBe(1);
    expect(s).toMatchObject({ totalCloses: 1, drainableCloses: 1, pinnedCloses: 0, totalAllocs: 1, totalDeallocs: 1 });
    p.destroy();
  });

  it('counts a pinned close and computes the DSR', () => {
    const p = make();
    for (let g = 0; g < 4; g++) {
      p.granuleOpen(g);
      p.allocRegister(g, 10 + g, 8);
      if (g !== 3) p.allocDeregister(g, 10 + g);
    }
    expect([0, 1, 2, 3].map((g) => p.granuleClose(g))).toEqual([true, true, true, false]);
    const s = p.snapshot();
    expect(s).toMatchObject({ totalCloses: 4, drainableCloses: 3, pinnedCloses: 1, dsr: 0.75, openGranules: 0, peakOpenGranules: 4 });
    p.destroy();
  });

  it('returns a frozen snapshot with every contract field, numbers and a bigint timestamp', () => {
    const p = make();
    const before = process.hrtime.bigint();
    const s = p.snapshot();
    const after = process.hrtime.bigint();
    expect(Object.keys(s).sort()).toEqual([...SNAPSHOT_KEYS].sort());
    expect(Object.isFrozen(s)).toBe(true);
    expect(typeof s.timestampNs).toBe('bigint');
    // Same clock as process.hrtime.bigint() (CLOCK_MONOTONIC).
    expect(s.timestampNs >= before && s.timestampNs <= after).toBe(true);
    for (const key of SNAPSHOT_KEYS.slice(1)) expect(typeof (s as unknown as Record<string, unknown>)[key]).toBe('number');
    expect(s.dsr).toBe(0);
    p.destroy();
  });

  it('treats 5 and 5n as the same granule and accepts 2^64-1', () => {
    const p = make();
    p.granuleOpen(5);
    expectError(() => p.granuleOpen(5n), Error, 'ERR_GRANULE_ALREADY_OPEN');
    p.allocRegister(5n, 7, 1);
    p.allocDeregister(5, 7n);
    expect(p.granuleClose(5n)).toBe(true);
    const max = 2n ** 64n - 1n;
    p.granuleOpen(max);
    p.allocRegister(max, max, 2 ** 53 - 1);
    expect(p.granuleClose(max)).toBe(false);
    p.granuleOpen(Number.MAX_SAFE_INTEGER);
    expect(p.granuleClose(BigInt(Number.MAX_SAFE_INTEGER))).toBe(true);
    p.destroy();
  });

  it('accepts sizes as bigint up to 2^53-1', () => {
    const p = make();
    p.granuleOpen(1);
    p.allocRegister(1, 1, 0n);
    p.allocRegister(1, 2, BigInt(Number.MAX_SAFE_INTEGER));
    expect(p.snapshot().totalAllocs).toBe(2);
    p.destroy();
  });

  it('reuses an id after close', () => {
    const p = make();
    for (let i = 0; i < 3; i++) {
      p.granuleOpen(42);
      expect(p.granuleClose(42)).toBe(true);
    }
    expect(p.snapshot().totalCloses).toBe(3);
    p.destroy();
  });

  it('sweeps the open granules without changing anything', () => {
    const p = make();
    p.granuleOpen(1);
    p.granuleOpen(2);
    p.granuleOpen(3);
    p.allocRegister(2, 1, 8);
    const s = p.sweep();
    expect(s).toMatchObject({ totalCloses: 3, drainableCloses: 2, pinnedCloses: 1, openGranules: 3 });
    expect(s.dsr).toBeCloseTo(2 / 3, 12);
    expect(Object.isFrozen(s)).toBe(true);
    expect(p.snapshot()).toMatchObject({ totalCloses: 0, openGranules: 3 });
    p.destroy();
  });

  it('resets counters and forgets open granules', () => {
    const p = make();
    p.granuleOpen(1);
    p.allocRegister(1, 1, 8);
    p.granuleOpen(2);
    expect(p.granuleClose(2)).toBe(true);
    p.reset();
    expect(p.snapshot()).toMatchObject({ totalCloses: 0, openGranules: 0, peakOpenGranules: 0, totalAllocs: 0 });
    p.granuleOpen(1); // forgotten, so it can be opened again
    expect(p.granuleClose(1)).toBe(true);
    p.destroy();
  });

  it('writes a text report and metrics in both formats', () => {
    const p = make();
    p.granuleOpen(1);
    p.granuleClose(1);
    expect(p.textReport()).toMatch(/DSR/);
    expect(p.textReport(1)).toMatch(/DSR/);
    const prom = p.metrics();
    expect(prom).toMatch(/^drainability_granule_closes_total\{outcome="drainable"\} 1$/m);
    expect(prom).not.toMatch(/# EOF/);
    const om = p.metrics({ prefix: 'app_pool', labels: { pool: 'small', shard: '3' }, openMetrics: true });
    expect(om).toMatch(/^app_pool_open_granules\{.*pool="small".*\} 0$/m);
    expect(om.trimEnd().endsWith('# EOF')).toBe(true);
    p.destroy();
  });

  it('is disposable: [Symbol.dispose] destroys, destroy() is idempotent', () => {
    const p = make();
    p[Symbol.dispose]();
    expect(p.destroyed).toBe(true);
    p.destroy();
    p[Symbol.dispose]();
    expectError(() => p.granuleOpen(1), Error, 'ERR_PROFILER_DESTROYED');
  });

  it('keeps a slot-array bounded and a hash-map growing', () => {
    const p = make({ slotCapacity: 4, bucketCount: 1 });
    for (let g = 0; g < 4; g++) p.granuleOpen(g * 4096); // ids that collide modulo the capacity
    if (storage === 'slot-array') {
      expectError(() => p.granuleOpen(99), Error, 'ERR_CAPACITY_FULL');
      expect(p.snapshot().failedOpens).toBe(1);
    } else {
      for (let g = 4; g < 2000; g++) p.granuleOpen(g * 4096);
      expect(p.snapshot().openGranules).toBe(2000);
    }
    p.destroy();
  });
});

describe('module surface', () => {
  it('exports the Profiler, the error table and MAX_ID', () => {
    expect(typeof drainprof.Profiler).toBe('function');
    expect(drainprof.MAX_ID).toBe(2n ** 64n - 1n);
    expect(Object.isFrozen(drainprof.ERROR_CODES)).toBe(true);
    expect(drainprof.ERROR_CODES.ERR_OUT_OF_RANGE.class).toBe('RangeError');
  });

  it('works with using-style disposal through a helper scope', () => {
    const seen: Profiler[] = [];
    {
      const p = new Profiler();
      seen.push(p);
      try {
        p.granuleOpen(1);
      } finally {
        p[Symbol.dispose]();
      }
    }
    expect(seen[0]!.destroyed).toBe(true);
  });
});
