import { metrics } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { Profiler } from '../../lib/index.js';
import { registerOpenTelemetryInstruments, type OtelMeter } from '../../lib/integrations/opentelemetry.js';
import { EXPECTED, codeOf, knownWorkload } from './workload';

/** A Meter that records what is created and lets the test run a collection. */
class RecordingMeter implements OtelMeter {
  readonly instruments: { kind: string; name: string; unit?: string; description?: string }[] = [];
  readonly callbacks: { cb: (r: { observe(o: object, v: number, a?: Record<string, string>): void }) => void; observables: object[] }[] = [];

  private create(kind: string, name: string, options?: { unit?: string; description?: string }): object {
    const instrument = { kind, name };
    this.instruments.push({ kind, name, unit: options?.unit, description: options?.description });
    return instrument;
  }
  createObservableCounter(name: string, options?: { unit?: string; description?: string }): object {
    return this.create('counter', name, options);
  }
  createObservableUpDownCounter(name: string, options?: { unit?: string; description?: string }): object {
    return this.create('updown', name, options);
  }
  createObservableGauge(name: string, options?: { unit?: string; description?: string }): object {
    return this.create('gauge', name, options);
  }
  addBatchObservableCallback(cb: RecordingMeter['callbacks'][number]['cb'], observables: object[]): void {
    this.callbacks.push({ cb, observables });
  }
  removeBatchObservableCallback(cb: RecordingMeter['callbacks'][number]['cb']): void {
    const i = this.callbacks.findIndex((c) => c.cb === cb);
    if (i !== -1) this.callbacks.splice(i, 1);
  }
  /** One collection: "name{k=v,...}" -> value, refusing observations of unregistered instruments. */
  collect(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { cb, observables } of this.callbacks) {
      cb({
        observe(o, v, attrs = {}) {
          if (!observables.includes(o)) throw new Error('observed an instrument not passed to addBatchObservableCallback');
          const labels = Object.entries(attrs).map(([k, x]) => `${k}=${x}`).join(',');
          out[`${(o as { name: string }).name}${labels ? `{${labels}}` : ''}`] = v;
        },
      });
    }
    return out;
  }
}

describe('drainprof/opentelemetry', () => {
  const profilers: Profiler[] = [];
  afterEach(() => {
    for (const p of profilers.splice(0)) p.destroy();
  });

  it('observes one snapshot per collection through a batch callback', () => {
    const profiler = new Profiler();
    profilers.push(profiler);
    const meter = new RecordingMeter();
    const handle = registerOpenTelemetryInstruments(profiler, meter, { attributes: { allocator: 'epoch' } });
    expect(meter.instruments.map((i) => `${i.kind} ${i.name}`)).toEqual([
      'counter drainability.granule_closes',
      'updown drainability.open_granules',
      'gauge drainability.peak_open_granules',
      'counter drainability.allocations',
      'counter drainability.deallocations',
      'gauge drainability.satisfaction_ratio',
      'counter drainability.unbalanced_closes',
      'counter drainability.dropped_reports',
    ]);
    expect(meter.instruments.find((i) => i.name.endsWith('satisfaction_ratio'))?.unit).toBe('1');
    expect(handle.instrumentNames).toHaveLength(8);
    knownWorkload(profiler);
    expect(meter.collect()).toEqual({
      'drainability.granule_closes{allocator=epoch,outcome=drainable}': EXPECTED.drainableCloses,
      'drainability.granule_closes{allocator=epoch,outcome=pinned}': EXPECTED.pinnedCloses,
      'drainability.open_granules{allocator=epoch}': EXPECTED.openGranules,
      'drainability.peak_open_granules{allocator=epoch}': EXPECTED.peakOpenGranules,
      'drainability.allocations{allocator=epoch}': EXPECTED.totalAllocs,
      'drainability.deallocations{allocator=epoch}': EXPECTED.totalDeallocs,
      'drainability.satisfaction_ratio{allocator=epoch}': EXPECTED.dsr,
      'drainability.unbalanced_closes{allocator=epoch}': 0,
      'drainability.dropped_reports{allocator=epoch}': 0,
    });
    handle.shutdown();
    handle.shutdown();
    expect(meter.callbacks).toHaveLength(0);
    expect(meter.collect()).toEqual({});
  });

  it('works with the api package\'s meter (a no-op without an SDK)', () => {
    const profiler = new Profiler();
    profilers.push(profiler);
    const meter = metrics.getMeter('drainprof-test');
    const handle = registerOpenTelemetryInstruments(profiler, meter, { prefix: 'svc.drain' });
    expect(handle.instrumentNames[0]).toBe('svc.drain.granule_closes');
    handle.shutdown();
  });

  it('validates its arguments with coded errors', () => {
    const profiler = new Profiler();
    profilers.push(profiler);
    const meter = new RecordingMeter();
    expect(codeOf(() => registerOpenTelemetryInstruments(profiler, {} as OtelMeter))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => registerOpenTelemetryInstruments({} as Profiler, meter))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => registerOpenTelemetryInstruments(profiler, meter, { prefix: '' }))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => registerOpenTelemetryInstruments(profiler, meter, { attributes: { a: 2 as unknown as string } }))).toBe('ERR_INVALID_ARG_TYPE');
    expect(meter.callbacks).toHaveLength(0);
  });
});
