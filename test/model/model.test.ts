// Unit tests of the reference model itself: each rule of the spec, checked on the model, so a
// differential divergence can be blamed on the implementation with some confidence.
import { describe, expect, it } from 'vitest';
import {
  ModelProfiler, checkId, checkSize, checkSite, classify, dominantClass, dsrLine, printfOneDecimal,
  resolveOptions,
} from './model.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    const e = err as Error & { code?: string };
    return `${e.constructor.name}:${e.code}`;
  }
  return 'ok';
}

const site = (file: string, line: number, column = 0) => ({ file, line, column });

describe('argument validation', () => {
  it('accepts number and bigint ids as the same id', () => {
    expect(checkId(5, 'id')).toBe(5n);
    expect(checkId(5n, 'id')).toBe(5n);
    expect(checkId(0, 'id')).toBe(0n);
    expect(checkId(Number.MAX_SAFE_INTEGER, 'id')).toBe(2n ** 53n - 1n);
    expect(checkId(2n ** 64n - 1n, 'id')).toBe(2n ** 64n - 1n);
  });
  it('rejects out-of-range numbers and bigints with RangeError ERR_OUT_OF_RANGE', () => {
    for (const v of [-1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, 2 ** 53 + 2, 2 ** 64, -1n, 2n ** 64n]) {
      expect(codeOf(() => checkId(v, 'id'))).toBe('RangeError:ERR_OUT_OF_RANGE');
    }
  });
  it('rejects wrong types with TypeError ERR_INVALID_ARG_TYPE', () => {
    for (const v of ['5', {}, [], undefined, null, true, Symbol('x'), () => 1]) {
      expect(codeOf(() => checkId(v, 'id'))).toBe('TypeError:ERR_INVALID_ARG_TYPE');
    }
  });
  it('caps sizes at 2^53-1 for bigint too', () => {
    expect(checkSize(2n ** 53n - 1n, 'size')).toBe(Number.MAX_SAFE_INTEGER);
    expect(codeOf(() => checkSize(2n ** 53n, 'size'))).toBe('RangeError:ERR_OUT_OF_RANGE');
    expect(codeOf(() => checkSize('1', 'size'))).toBe('TypeError:ERR_INVALID_ARG_TYPE');
  });
  it('validates sites', () => {
    expect(checkSite('a.js', 'site')).toEqual(site('a.js', 0));
    expect(checkSite('a.js:12', 'site')).toEqual(site('a.js', 12));
    expect(checkSite('C:/x/a.js:12:7', 'site')).toEqual(site('C:/x/a.js', 12, 7));
    expect(codeOf(() => checkSite('a.js:4294967296', 'site'))).toBe('RangeError:ERR_OUT_OF_RANGE');
    expect(checkSite(site('a.js', 3, 4), 'site')).toEqual(site('a.js', 3, 4));
    expect(codeOf(() => checkSite(null, 'site'))).toBe('TypeError:ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => checkSite({ file: 1, line: 1 }, 'site'))).toBe('TypeError:ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => checkSite({ file: 'a', line: -1 }, 'site'))).toBe('RangeError:ERR_OUT_OF_RANGE');
  });
});

describe('options', () => {
  it('has the spec defaults', () => {
    const o = resolveOptions(undefined);
    expect(o).toMatchObject({
      mode: 'production', storage: 'slot-array', slotCapacity: 1024, bucketCount: 64, logInterval: 0,
      maxBufferedReports: 1000, verbose: false, lifetimeLimit: 4096,
    });
    expect(resolveOptions({})).toEqual(o);
  });
  it('rejects bad options with the contract codes', () => {
    expect(codeOf(() => resolveOptions({ mode: 'fast' }))).toBe('TypeError:ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => resolveOptions({ mode: 1 }))).toBe('TypeError:ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => resolveOptions({ storage: 'tree' }))).toBe('TypeError:ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => resolveOptions({ colour: 'red' }))).toBe('TypeError:ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => resolveOptions({ slotCapacity: 0 }))).toBe('RangeError:ERR_OUT_OF_RANGE');
    expect(codeOf(() => resolveOptions({ slotCapacity: 2 ** 32 }))).toBe('RangeError:ERR_OUT_OF_RANGE');
    expect(codeOf(() => resolveOptions({ slotCapacity: '4' }))).toBe('TypeError:ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => resolveOptions({ maxBufferedReports: -1 }))).toBe('RangeError:ERR_OUT_OF_RANGE');
    expect(codeOf(() => resolveOptions({ verbose: 1 }))).toBe('TypeError:ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => resolveOptions({ onPinning: 'f' }))).toBe('TypeError:ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => resolveOptions('diagnostic'))).toBe('TypeError:ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => resolveOptions({ bucketCount: 0 }))).toBe('ok');
    expect(codeOf(() => resolveOptions({ maxBufferedReports: 0 }))).toBe('ok');
  });
});

describe('granules and counters', () => {
  for (const mode of ['production', 'diagnostic'] as const) {
    for (const storage of ['slot-array', 'hash-map'] as const) {
      it(`${mode}/${storage}: open, close, double open, double close`, () => {
        const p = new ModelProfiler({ mode, storage });
        p.granuleOpen(1);
        expect(codeOf(() => p.granuleOpen(1n))).toBe('Error:ERR_GRANULE_ALREADY_OPEN');
        expect(p.snapshot()).toMatchObject({ openGranules: 1, peakOpenGranules: 1, failedOpens: 1 });
        expect(p.granuleClose(1)).toBe(true);
        expect(codeOf(() => p.granuleClose(1))).toBe('Error:ERR_GRANULE_NOT_OPEN');
        expect(p.snapshot()).toMatchObject({
          totalCloses: 1, drainableCloses: 1, pinnedCloses: 0, dsr: 1, openGranules: 0, failedCloses: 1,
        });
        p.granuleOpen(1); // reuse after close
        expect(p.snapshot().openGranules).toBe(1);
      });

      it(`${mode}/${storage}: counts failed register/deregister calls but not rejected JS values`, () => {
        const p = new ModelProfiler({ mode, storage });
        expect(codeOf(() => p.allocRegister(9, 1, 8))).toBe('Error:ERR_GRANULE_NOT_OPEN');
        expect(codeOf(() => p.allocDeregister(9, 1))).toBe('Error:ERR_GRANULE_NOT_OPEN');
        expect(codeOf(() => p.allocRegister(9, -1, 8))).toBe('RangeError:ERR_OUT_OF_RANGE');
        expect(codeOf(() => p.allocDeregister('9', 1))).toBe('TypeError:ERR_INVALID_ARG_TYPE');
        expect(p.snapshot()).toMatchObject({ totalAllocs: 1, totalDeallocs: 1, failedRegisters: 1, failedDeregisters: 1 });
      });

      it(`${mode}/${storage}: pinned and drainable closes, dsr`, () => {
        const p = new ModelProfiler({ mode, storage });
        p.granuleOpen(1);
        p.granuleOpen(2);
        p.allocRegister(1, 10, 8);
        p.allocRegister(2, 20, 8);
        p.allocDeregister(2, 20);
        expect(p.sweep()).toMatchObject({ totalCloses: 2, drainableCloses: 1, pinnedCloses: 1, dsr: 0.5 });
        expect(p.granuleClose(1)).toBe(false);
        expect(p.granuleClose(2)).toBe(true);
        p.granuleOpen(3);
        p.granuleClose(3);
        const s = p.snapshot();
        expect(s).toMatchObject({ totalCloses: 3, drainableCloses: 2, pinnedCloses: 1, peakOpenGranules: 2 });
        expect(s.dsr).toBe(2 / 3);
        expect(p.sweep()).toMatchObject({ totalCloses: 0, drainableCloses: 0, pinnedCloses: 0, dsr: 0 });
      });
    }
  }

  it('slot array refuses one more granule than its capacity, hash map does not', () => {
    const p = new ModelProfiler({ slotCapacity: 2 });
    p.granuleOpen(0);
    p.granuleOpen(2n ** 64n - 1n);
    expect(codeOf(() => p.granuleOpen(7))).toBe('Error:ERR_CAPACITY_FULL');
    expect(codeOf(() => p.granuleOpen(0))).toBe('Error:ERR_GRANULE_ALREADY_OPEN');
    expect(p.snapshot()).toMatchObject({ openGranules: 2, failedOpens: 2 });
    p.granuleClose(0);
    p.granuleOpen(7);
    const h = new ModelProfiler({ storage: 'hash-map', slotCapacity: 1 });
    for (let i = 0; i < 100; i++) h.granuleOpen(i * 4096);
    expect(h.snapshot().peakOpenGranules).toBe(100);
  });

  it('production: an unbalanced close releases the granule and counts no close', () => {
    const p = new ModelProfiler();
    p.granuleOpen(1);
    p.allocRegister(1, 1, 1);
    p.allocDeregister(1, 1);
    p.allocDeregister(1, 1); // production keeps no per-allocation state: accepted
    expect(p.sweep()).toMatchObject({ drainableCloses: 0, pinnedCloses: 1 });
    expect(codeOf(() => p.granuleClose(1))).toBe('Error:ERR_UNBALANCED_CLOSE');
    expect(p.snapshot()).toMatchObject({
      totalCloses: 0, openGranules: 0, unbalancedCloses: 1, failedCloses: 1, totalDeallocs: 2,
    });
    expect(codeOf(() => p.granuleClose(1))).toBe('Error:ERR_GRANULE_NOT_OPEN');
  });

  it('production has no diagnostic queries', () => {
    const p = new ModelProfiler();
    expect(codeOf(() => p.drainReports())).toBe('Error:ERR_WRONG_MODE');
    expect(codeOf(() => p.diagnosticSummary())).toBe('Error:ERR_WRONG_MODE');
    expect(codeOf(() => p.lifetimeRecords())).toBe('Error:ERR_WRONG_MODE');
  });

  it('reset clears counters (peak included) and state', () => {
    const p = new ModelProfiler({ mode: 'diagnostic' });
    p.granuleOpen(1);
    p.allocRegister(1, 1, 1, site('a', 1));
    p.granuleClose(1);
    p.granuleOpen(2);
    p.reset();
    expect(p.snapshot()).toMatchObject({ totalCloses: 0, openGranules: 0, peakOpenGranules: 0, totalAllocs: 0 });
    expect(p.drainReports()).toEqual([]);
    expect(codeOf(() => p.allocDeregister(1, 1))).toBe('Error:ERR_GRANULE_NOT_OPEN'); // pin forgotten
    p.granuleOpen(2); // forgotten, so it opens again
  });

  it('destroy is idempotent and every later call throws ERR_PROFILER_DESTROYED', () => {
    const p = new ModelProfiler();
    p.destroy();
    p.destroy();
    expect(p.destroyed).toBe(true);
    expect(codeOf(() => p.snapshot())).toBe('Error:ERR_PROFILER_DESTROYED');
    expect(codeOf(() => p.granuleOpen(1))).toBe('Error:ERR_PROFILER_DESTROYED');
  });
});

describe('diagnostic mode', () => {
  it('frees the oldest live registration of an alloc id and refuses non-live ones', () => {
    const p = new ModelProfiler({ mode: 'diagnostic' });
    p.granuleOpen(1);
    p.allocRegister(1, 5, 10, site('a', 1));
    p.allocRegister(1, 6, 20, site('b', 2));
    p.allocRegister(1, 5, 30, site('c', 3));
    p.allocDeregister(1, 5); // frees the size-10 one
    expect(codeOf(() => p.allocDeregister(1, 7))).toBe('Error:ERR_ALLOC_NOT_LIVE');
    expect(p.snapshot()).toMatchObject({ failedDeregisters: 1, totalDeallocs: 2 });
    expect(p.granuleClose(1)).toBe(false);
    const [r] = p.drainReports();
    expect(r).toEqual({
      granuleId: 1n, pinningCount: 2, totalAllocs: 3, drainedAllocs: 1,
      pinningAllocs: [
        { allocId: 6n, site: site('b', 2), size: 20, lifetimeDeltaSec: -1 },
        { allocId: 5n, site: site('c', 3), size: 30, lifetimeDeltaSec: -1 },
      ],
    });
  });

  it('buffers at most maxBufferedReports, dropping the oldest; 0 keeps none', () => {
    for (const max of [0, 1, 2]) {
      const p = new ModelProfiler({ mode: 'diagnostic', maxBufferedReports: max });
      for (let g = 1; g <= 3; g++) {
        p.granuleOpen(g);
        p.allocRegister(g, 1, 1, 'f');
        p.granuleClose(g);
      }
      expect(p.snapshot().droppedReports).toBe(3 - max);
      const kept = p.drainReports(1);
      expect(kept.map((r) => r.granuleId)).toEqual(max === 0 ? [] : [BigInt(4 - max)]);
      expect(p.drainReports().length).toBe(Math.max(0, max - 1));
    }
  });

  it('callback mode hands each report over synchronously and buffers nothing', () => {
    const seen: { id: bigint; closes: number }[] = [];
    const errors: unknown[] = [];
    const p: ModelProfiler = new ModelProfiler({
      mode: 'diagnostic',
      onPinning: (r) => {
        seen.push({ id: r.granuleId, closes: p.snapshot().pinnedCloses });
        throw new Error('boom');
      },
      onError: (e) => errors.push(e),
    });
    p.granuleOpen(1);
    p.allocRegister(1, 1, 1);
    expect(p.granuleClose(1)).toBe(false);
    expect(seen).toEqual([{ id: 1n, closes: 1 }]);
    expect(errors.length).toBe(1);
    expect(p.drainReports()).toEqual([]);
    expect(p.snapshot().droppedReports).toBe(0);
  });

  it('records late frees of pinning allocations, bounded by the lifetime limit', () => {
    const p = new ModelProfiler({ mode: 'diagnostic', lifetimeLimit: 2 });
    p.granuleOpen(1);
    for (let a = 1; a <= 3; a++) p.allocRegister(1, a, a, site('x', a));
    p.granuleClose(1);
    expect(p.pendingPins()).toBe(2); // pin of alloc 1 dropped
    expect(p.snapshot().droppedLifetimeRecords).toBe(1);
    expect(codeOf(() => p.allocDeregister(1, 1))).toBe('Error:ERR_GRANULE_NOT_OPEN');
    p.allocDeregister(1, 3);
    p.granuleOpen(1);
    p.allocRegister(1, 2, 100);
    p.allocDeregister(1, 2); // frees the live one in the open granule
    p.allocDeregister(1, 2); // then the pin
    expect(codeOf(() => p.allocDeregister(1, 2))).toBe('Error:ERR_ALLOC_NOT_LIVE');
    expect(p.lifetimeRecords().map((r) => [r.granuleId, r.allocId, r.size])).toEqual([[1n, 3n, 3], [1n, 2n, 2]]);
    expect(p.snapshot()).toMatchObject({ lifetimeRecords: 2, droppedLifetimeRecords: 1 });
    // a third record pushes the oldest out
    p.allocRegister(1, 9, 9);
    p.granuleClose(1);
    p.allocDeregister(1, 9);
    expect(p.lifetimeRecords().map((r) => r.allocId)).toEqual([2n, 9n]);
    expect(p.snapshot()).toMatchObject({ lifetimeRecords: 3, droppedLifetimeRecords: 2 });
  });

  it('lifetime limit 0 disables lifetime tracking', () => {
    const p = new ModelProfiler({ mode: 'diagnostic', lifetimeLimit: 0 });
    p.granuleOpen(1);
    p.allocRegister(1, 1, 1);
    p.granuleClose(1);
    expect(codeOf(() => p.allocDeregister(1, 1))).toBe('Error:ERR_GRANULE_NOT_OPEN');
    expect(p.snapshot()).toMatchObject({ lifetimeRecords: 0, droppedLifetimeRecords: 0 });
  });

  it('summarises by (file contents, line), sorted by pinning count then bytes', () => {
    const p = new ModelProfiler({ mode: 'diagnostic' });
    const file = (s: string) => [s].join(''); // equal contents, distinct strings
    p.granuleOpen(1);
    p.allocRegister(1, 1, 100, site(file('a.js'), 1, 5));
    p.allocRegister(1, 2, 100, site(file('a.js'), 1, 9)); // same site, other column
    p.allocRegister(1, 3, 1000, site('b.js', 1));
    p.granuleClose(1);
    p.granuleOpen(2);
    p.allocRegister(2, 4, 1, site('a.js', 1));
    p.allocRegister(2, 5, 7, site('a.js', 2));
    p.granuleClose(2);
    const s = p.diagnosticSummary();
    expect(s.reportsAnalyzed).toBe(2);
    expect(s.totalPinningAllocs).toBe(5);
    expect(s.sites.map((x) => [x.site?.file, x.site?.line, x.pinningCount, x.totalAllocs, x.totalBytes])).toEqual([
      ['a.js', 1, 2, 3, 201],
      ['b.js', 1, 1, 1, 1000],
      ['a.js', 2, 1, 1, 7],
    ]);
    expect(p.drainReports().length).toBe(2); // the summary did not consume them
    expect(p.diagnosticSummary().sites).toEqual([]);
  });

  it('summary counts resolved and unresolved pinning allocations per site', () => {
    const p = new ModelProfiler({ mode: 'diagnostic' });
    p.granuleOpen(1);
    p.allocRegister(1, 1, 1, site('a', 1));
    p.allocRegister(1, 2, 1, site('a', 1));
    p.granuleClose(1);
    p.allocDeregister(1, 1);
    let s = p.diagnosticSummary();
    expect(s.sites).toMatchObject([{ unresolved: 1, resolved: 1 }]);
    expect(s.lifetimeRecordsAnalyzed).toBe(1);
    p.drainReports();
    p.allocDeregister(1, 2);
    s = p.diagnosticSummary(); // only deltas now: the site follows, with no report numbers
    expect(s.sites).toMatchObject([{ pinningCount: 0, totalAllocs: 0, totalBytes: 0, unresolved: 0, resolved: 2 }]);
  });
});

describe('classification and text', () => {
  it('classifies by ratio thresholds', () => {
    expect(classify(-1, 1)).toBe('unresolved');
    expect(classify(0.099, 1)).toBe('near_miss');
    expect(classify(0.1, 1)).toBe('moderate');
    expect(classify(10, 1)).toBe('moderate');
    expect(classify(10.001, 1)).toBe('fundamental_mismatch');
    expect(classify(0, 0)).toBe('near_miss');
    expect(classify(1e-9, 0)).toBe('fundamental_mismatch');
  });
  it('picks the most frequent resolved class, the more severe on a tie', () => {
    expect(dominantClass({ unresolved: 9, nearMiss: 0, moderate: 0, fundamentalMismatch: 0 })).toBe('unresolved');
    expect(dominantClass({ unresolved: 0, nearMiss: 2, moderate: 1, fundamentalMismatch: 0 })).toBe('near_miss');
    expect(dominantClass({ unresolved: 0, nearMiss: 2, moderate: 2, fundamentalMismatch: 0 })).toBe('moderate');
    expect(dominantClass({ unresolved: 0, nearMiss: 1, moderate: 0, fundamentalMismatch: 1 })).toBe('fundamental_mismatch');
  });
  it('formats the DSR line as printf %.1f does', () => {
    expect(printfOneDecimal(6.25)).toBe('6.2'); // ties to even, unlike toFixed
    expect(printfOneDecimal(6.75)).toBe('6.8');
    expect(printfOneDecimal(0)).toBe('0.0');
    expect(printfOneDecimal(100)).toBe('100.0');
    expect(printfOneDecimal((2 / 3) * 100)).toBe('66.7');
    expect(dsrLine(1, 3)).toBe('drainprof: DSR=66.7% (1 pinned / 3 total)');
  });
  it('writes the verbose line before the log line', () => {
    const p = new ModelProfiler({ verbose: true, logInterval: 2 });
    p.granuleOpen(1);
    p.granuleClose(1);
    p.granuleOpen(2n ** 64n - 1n);
    p.allocRegister(2n ** 64n - 1n, 0, 0);
    p.granuleClose(2n ** 64n - 1n);
    expect(p.stderr).toEqual([
      'drainprof: Granule 18446744073709551615 pinned by 1 allocations',
      'drainprof: DSR=50.0% (1 pinned / 2 total)',
    ]);
  });
});

describe('summary bytes', () => {
  it('sums sizes exactly and rounds once, as size_t then double', () => {
    const p = new ModelProfiler({ mode: 'diagnostic' });
    p.granuleOpen(1);
    p.allocRegister(1, 1, Number.MAX_SAFE_INTEGER, 'x.js');
    p.allocRegister(1, 2, 14, 'x.js');
    p.allocRegister(1, 3, 241, 'x.js');
    p.granuleClose(1);
    expect(p.diagnosticSummary().sites[0]!.totalBytes).toBe(Number(2n ** 53n - 1n + 14n + 241n));
  });
});

describe('granule handles (lib/granule.ts)', () => {
  it('count into the life they name; a stale handle is refused and counted as a failed call', () => {
    const p = new ModelProfiler();
    expect(codeOf(() => p.granule(1))).toBe('Error:ERR_GRANULE_NOT_OPEN');
    p.granuleOpen(1);
    const h = p.granule(1n);
    h.register();
    h.register();
    h.deregister();
    expect(p.snapshot()).toMatchObject({ totalAllocs: 2, totalDeallocs: 1, failedRegisters: 0 });
    expect(h.close()).toBe(false);
    expect(h.open).toBe(false);
    p.granuleOpen(1); // a new life: the old handle stays stale
    expect(codeOf(() => h.register())).toBe('Error:ERR_GRANULE_NOT_OPEN');
    expect(p.snapshot()).toMatchObject({ totalAllocs: 3, failedRegisters: 1 });
    expect(p.sweep().drainableCloses).toBe(1); // the new life got nothing
    expect(h.close()).toBe(true); // close() is granuleClose(id): it closes the new life
    p.destroy();
    expect(codeOf(() => h.register())).toBe('Error:ERR_PROFILER_DESTROYED');
  });

  it('diagnostic: check allocId and size before staleness, then make the usual calls', () => {
    const p = new ModelProfiler({ mode: 'diagnostic' });
    p.granuleOpen(1);
    const h = p.granule(1);
    expect(codeOf(() => h.register())).toBe('TypeError:ERR_INVALID_ARG_TYPE');
    h.register(5, 10, 'x.js:3');
    expect(codeOf(() => h.deregister(6))).toBe('Error:ERR_ALLOC_NOT_LIVE');
    p.reset();
    expect(codeOf(() => h.register(-1, 1))).toBe('RangeError:ERR_OUT_OF_RANGE');
    expect(codeOf(() => h.register(1, 1))).toBe('Error:ERR_GRANULE_NOT_OPEN');
    expect(p.snapshot()).toMatchObject({ totalAllocs: 1, failedRegisters: 1 });
  });
});

describe('batches (lib/batch.ts)', () => {
  it('production: runs of counts on one granule value fail as one entry', () => {
    const p = new ModelProfiler();
    const b = p.batch();
    b.allocRegister(7, 1, 1);
    b.allocRegister(7, 2, 1);
    b.allocDeregister(7, 1);
    b.allocRegister(7n, 3, 1); // 7n !== 7: a new run
    b.granuleOpen(7);
    b.allocRegister(7, 1, 1);
    b.granuleClose(7);
    b.granuleClose(7);
    expect(codeOf(() => b.allocRegister(7, 1, -1))).toBe('RangeError:ERR_OUT_OF_RANGE'); // not recorded
    expect(b.size).toBe(8);
    const r = b.commit();
    expect(r).toEqual({
      calls: 8, failed: 5, closes: [0, -1],
      failures: [
        { index: 0, count: 3, call: 'allocRegister', granuleId: 7n, code: 'ERR_GRANULE_NOT_OPEN' },
        { index: 3, count: 1, call: 'allocRegister', granuleId: 7n, code: 'ERR_GRANULE_NOT_OPEN' },
        { index: 7, count: 1, call: 'granuleClose', granuleId: 7n, code: 'ERR_GRANULE_NOT_OPEN' },
      ],
      firstError: 'Error:ERR_GRANULE_NOT_OPEN',
    });
    expect(p.snapshot()).toMatchObject({ totalAllocs: 4, failedRegisters: 3, totalDeallocs: 1, failedDeregisters: 1, pinnedCloses: 1 });
    expect(b.size).toBe(0);
  });

  it('diagnostic: each call is its own entry; commit after destroy runs nothing', () => {
    const p = new ModelProfiler({ mode: 'diagnostic' });
    const b = p.batch();
    b.granuleOpen(1);
    b.allocDeregister(1, 9);
    b.allocDeregister(1, 9);
    expect(b.commit()).toMatchObject({ calls: 3, failed: 2, failures: [{ index: 1, count: 1 }, { index: 2, count: 1 }] });
    b.granuleClose(1);
    p.destroy();
    expect(codeOf(() => b.commit())).toBe('Error:ERR_PROFILER_DESTROYED');
    expect(b.size).toBe(1);
  });
});
