// Self-test of the differential engine, without the addon: a stand-in "native" profiler built
// on the model (shaped like the contract: frozen objects, bigint times, async onPinning) must
// show no divergence, and a stand-in with one planted bug must be caught and shrunk.
import { describe, expect, it } from 'vitest';
import { ModelProfiler, type ModelReport, type ModelSnapshot, type ModelSummary } from '../model/model.js';
import { CONFIGS, campaign, generateEpisode, runEpisode, shrink, type ProfilerCtor } from './engine.js';

const deepFreeze = <T>(x: T): T => {
  if (typeof x === 'object' && x !== null) {
    for (const v of Object.values(x)) deepFreeze(v);
    Object.freeze(x);
  }
  return x;
};

const SITES = {
  register: { file: 'caller.js', line: 1, column: 2 },
  handle: { file: 'caller.js', line: 3, column: 4 },
  batch: { file: 'caller.js', line: 5, column: 6 },
};

type Bug = 'none' | 'double-open-not-counted' | 'drain-newest-first' | 'late-free-refused' | 'handle-register-lost'
  | 'batch-run-counted-once';

function standIn(bug: Bug): ProfilerCtor {
  return class StandIn {
    private m: ModelProfiler;
    constructor(options?: Record<string, unknown>) {
      if (typeof options?.onPinning !== 'function') {
        this.m = new ModelProfiler(options as never);
        StandIn.sites(this.m);
        return;
      }
      const o = { ...options };
      const onPinning = o.onPinning as ((r: unknown) => void) | undefined;
      const onError = o.onError as ((e: unknown) => void) | undefined;
      if (typeof onPinning === 'function') {
        o.onPinning = (r: ModelReport) => {
          const shaped = StandIn.report(r);
          setImmediate(() => {
            try {
              onPinning(shaped);
            } catch (e) {
              onError?.(e);
            }
          });
        };
        delete o.onError;
      }
      this.m = new ModelProfiler(o);
      StandIn.sites(this.m);
    }
    static sites(m: ModelProfiler) {
      m.callerSite = { file: 'caller.js', line: 1, column: 2 };
      m.handleCallerSite = { file: 'caller.js', line: 3, column: 4 };
      m.batchCallerSite = { file: 'caller.js', line: 5, column: 6 };
    }
    granule(id: unknown) {
      const h = this.m.granule(id);
      if (bug !== 'handle-register-lost') return h;
      return {
        get open() { return h.open; },
        register: (...a: unknown[]) => (h.open ? undefined : h.register(...a)),
        deregister: (...a: unknown[]) => h.deregister(...a),
        close: () => h.close(),
      };
    }
    batch(capacity?: unknown) {
      const b = this.m.batch(capacity);
      return {
        get size() { return b.size; },
        granuleOpen: (id: unknown) => b.granuleOpen(id),
        granuleClose: (id: unknown) => b.granuleClose(id),
        allocRegister: (...a: unknown[]) => (b.allocRegister as (...x: unknown[]) => void)(...a),
        allocDeregister: (...a: unknown[]) => (b.allocDeregister as (...x: unknown[]) => void)(...a),
        clear: () => b.clear(),
        commit: () => {
          const r = b.commit();
          const [cls, code] = r.firstError?.split(':') ?? [];
          const err = cls === undefined ? null
            : Object.assign(cls === 'TypeError' ? new TypeError('x') : cls === 'RangeError' ? new RangeError('x') : new Error('x'), { code });
          const failures = r.failures.map((f) => ({ ...f, count: bug === 'batch-run-counted-once' ? 1 : f.count }));
          return Object.freeze({ ...r, closes: Int8Array.from(r.closes), failures: deepFreeze(failures), firstError: err });
        },
      };
    }
    static report(r: ModelReport) {
      return deepFreeze({
        ...r, openTimeNs: 1n, closeTimeNs: 3n,
        pinningAllocs: r.pinningAllocs.map((a) => ({ ...a, allocTimeNs: 2n })),
      });
    }
    static snap(s: ModelSnapshot) {
      return deepFreeze({ ...s, timestampNs: 5n });
    }
    get mode() { return this.m.mode; }
    get storage() { return this.m.storage; }
    get destroyed() { return this.m.destroyed; }
    granuleOpen(id: unknown) {
      if (bug === 'double-open-not-counted') {
        const before = this.m.snapshot().failedOpens;
        try {
          return this.m.granuleOpen(id);
        } catch (e) {
          if ((e as { code?: string }).code === 'ERR_GRANULE_ALREADY_OPEN' && this.m.snapshot().failedOpens > before) {
            (this.m as unknown as { c: ModelSnapshot }).c.failedOpens--;
          }
          throw e;
        }
      }
      return this.m.granuleOpen(id);
    }
    granuleClose(id: unknown) { return this.m.granuleClose(id); }
    allocRegister(...a: unknown[]) { return (this.m.allocRegister as (...x: unknown[]) => void)(...a); }
    allocDeregister(...a: unknown[]) {
      if (bug === 'late-free-refused' && this.m.mode === 'diagnostic') {
        const before = this.m.snapshot().lifetimeRecords;
        (this.m.allocDeregister as (...x: unknown[]) => void)(...a);
        if (this.m.snapshot().lifetimeRecords > before) throw Object.assign(new Error('x'), { code: 'ERR_GRANULE_NOT_OPEN' });
        return;
      }
      return (this.m.allocDeregister as (...x: unknown[]) => void)(...a);
    }
    snapshot() { return StandIn.snap(this.m.snapshot()); }
    sweep() { return StandIn.snap(this.m.sweep()); }
    reset() { return this.m.reset(); }
    drainReports(max?: unknown) {
      const rs = this.m.drainReports(max).map((r) => StandIn.report(r));
      if (bug === 'drain-newest-first') rs.reverse();
      return Object.freeze(rs);
    }
    diagnosticSummary() {
      const s: ModelSummary = this.m.diagnosticSummary();
      return deepFreeze({
        ...s,
        sites: s.sites.map(({ unresolved, resolved, ...site }) => ({
          ...site,
          classCounts: { unresolved, nearMiss: resolved, moderate: 0, fundamentalMismatch: 0 },
          violationClass: resolved > 0 ? 'near_miss' : 'unresolved',
        })),
      });
    }
    lifetimeRecords(max?: unknown) {
      return Object.freeze(this.m.lifetimeRecords(max).map((r) => deepFreeze({
        ...r, granuleLifetimeSec: 1, lifetimeDeltaSec: 0, violationClass: 'near_miss',
      })));
    }
    textReport(maxSites?: unknown) {
      this.m.textReport(maxSites);
      return 'drainprof: DSR=0.0%\n';
    }
    metrics(options?: unknown) {
      const { prefix, labels, openMetrics, snapshot: s } = this.m.metrics(options);
      const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
      const l = (extra: Record<string, string> = {}) => {
        const all = Object.entries({ ...labels, ...extra });
        return all.length === 0 ? '' : `{${all.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`;
      };
      return [
        `# TYPE ${prefix}_granule_closes_total counter`,
        `${prefix}_granule_closes_total${l({ outcome: 'drainable' })} ${s.drainableCloses}`,
        `${prefix}_granule_closes_total${l({ outcome: 'pinned' })} ${s.pinnedCloses}`,
        `${prefix}_open_granules${l()} ${s.openGranules}`,
        `${prefix}_peak_open_granules${l()} ${s.peakOpenGranules}`,
        `${prefix}_allocations_total${l()} ${s.totalAllocs}`,
        `${prefix}_deallocations_total${l()} ${s.totalDeallocs}`,
        `${prefix}_satisfaction_ratio${l()} ${s.dsr}`,
        `${prefix}_unbalanced_closes_total${l()} ${s.unbalancedCloses}`,
        `${prefix}_dropped_reports_total${l()} ${s.droppedReports}`,
        ...(openMetrics ? ['# EOF'] : []),
        '',
      ].join('\n');
    }
    destroy() { this.m.destroy(); }
  } as unknown as ProfilerCtor;
}

describe('differential engine self-test', () => {
  it('episodes are a pure function of the seed', () => {
    const a = generateEpisode(CONFIGS[2]!, 42, 500);
    const b = generateEpisode(CONFIGS[2]!, 42, 500);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(generateEpisode(CONFIGS[2]!, 43, 500))).not.toBe(JSON.stringify(a));
  });

  for (const config of CONFIGS) {
    it(`finds no divergence between the model and a faithful stand-in (${config.mode}/${config.storage})`, async () => {
      const res = await campaign(standIn('none'), config, 7, 20_000, { maxDivergences: 1, log: (s) => console.error(s) });
      expect(res.divergences).toEqual([]);
      expect(res.ops).toBe(20_000);
    }, 60_000);
  }

  const planted: [Bug, number][] = [
    ['double-open-not-counted', 0],
    ['drain-newest-first', 2],
    ['late-free-refused', 3],
    ['handle-register-lost', 0],
    ['batch-run-counted-once', 1],
  ];
  for (const [bug, configIndex] of planted) {
    it(`catches and shrinks a planted bug: ${bug}`, async () => {
      const Ctor = standIn(bug);
      const config = CONFIGS[configIndex]!;
      let found = null;
      for (let seed = 1; seed < 200 && found === null; seed++) {
        const ep = generateEpisode(config, seed, 1500);
        const r = await runEpisode(Ctor, ep, SITES);
        if (r.divergence) found = { ep, d: r.divergence };
      }
      expect(found).not.toBeNull();
      const minimal = await shrink(Ctor, found!.ep, SITES, found!.d.opIndex + 1);
      expect(minimal.length).toBeLessThanOrEqual(12);
      expect((await runEpisode(Ctor, found!.ep, SITES, minimal)).divergence).not.toBeNull();
    }, 60_000);
  }
});
