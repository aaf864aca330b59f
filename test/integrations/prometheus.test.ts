import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import * as promClient from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { Profiler } from '../../lib/index.js';
import { registerPrometheusMetrics } from '../../lib/integrations/prometheus.js';
import { EXPECTED, codeOf, knownWorkload } from './workload';

/** Parses exposition text into "name{labels}" -> value, and the TYPE lines. */
function parse(text: string): { samples: Map<string, number>; types: Map<string, string> } {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) types.set(t[1], t[2]);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+?(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable line: ${line}`);
    samples.set(m[1], Number(m[2]));
  }
  return { samples, types };
}

describe('drainprof/prometheus on a real prom-client registry', () => {
  const profilers: Profiler[] = [];
  const newProfiler = (): Profiler => {
    const p = new Profiler();
    profilers.push(p);
    return p;
  };
  afterEach(() => {
    for (const p of profilers.splice(0)) p.destroy();
  });

  it('scrapes the counters of a known workload', async () => {
    const profiler = newProfiler();
    const registry = new Registry();
    registerPrometheusMetrics(profiler, { registry });
    knownWorkload(profiler);
    const { samples, types } = parse(await registry.metrics());
    expect(Object.fromEntries(samples)).toEqual({
      'drainability_granule_closes_total{outcome="drainable"}': EXPECTED.drainableCloses,
      'drainability_granule_closes_total{outcome="pinned"}': EXPECTED.pinnedCloses,
      drainability_open_granules: EXPECTED.openGranules,
      drainability_peak_open_granules: EXPECTED.peakOpenGranules,
      drainability_allocations_total: EXPECTED.totalAllocs,
      drainability_deallocations_total: EXPECTED.totalDeallocs,
      drainability_satisfaction_ratio: EXPECTED.dsr,
      drainability_unbalanced_closes_total: 0,
      drainability_dropped_reports_total: 0,
    });
    expect(types.get('drainability_granule_closes_total')).toBe('counter');
    expect(types.get('drainability_open_granules')).toBe('gauge');
    expect(types.get('drainability_satisfaction_ratio')).toBe('gauge');
    expect(types.get('drainability_allocations_total')).toBe('counter');
  });

  it('gives the same samples as the profiler\'s own exposition text (profiler.metrics())', async () => {
    const profiler = newProfiler();
    const registry = new Registry();
    const labels = { service: 'checkout', region: 'eu' };
    registerPrometheusMetrics(profiler, { registry, prefix: 'shop_slab', labels });
    knownWorkload(profiler);
    const viaPromClient = parse(await registry.metrics());
    const viaCore = parse(profiler.metrics({ prefix: 'shop_slab', labels }));
    expect(Object.fromEntries(viaPromClient.samples)).toEqual(Object.fromEntries(viaCore.samples));
    expect(Object.fromEntries(viaPromClient.types)).toEqual(Object.fromEntries(viaCore.types));
  });

  it('reads fresh values at every scrape', async () => {
    const profiler = newProfiler();
    const registry = new Registry();
    registerPrometheusMetrics(profiler, { registry });
    let s = parse(await registry.metrics()).samples;
    expect(s.get('drainability_satisfaction_ratio')).toBe(0);
    expect(s.get('drainability_granule_closes_total{outcome="pinned"}')).toBe(0);
    profiler.granuleOpen(1);
    profiler.allocRegister(1, 1, 8);
    profiler.granuleClose(1);
    s = parse(await registry.metrics()).samples;
    expect(s.get('drainability_granule_closes_total{outcome="pinned"}')).toBe(1);
    expect(s.get('drainability_granule_closes_total{outcome="drainable"}')).toBe(0);
    expect(s.get('drainability_satisfaction_ratio')).toBe(0);
    profiler.granuleOpen(2);
    profiler.granuleClose(2);
    s = parse(await registry.metrics()).samples;
    expect(s.get('drainability_granule_closes_total{outcome="drainable"}')).toBe(1);
    expect(s.get('drainability_satisfaction_ratio')).toBe(0.5);
  });

  it('uses the caller prefix and constant labels, and no per-granule or per-site label', async () => {
    const a = newProfiler();
    const b = newProfiler();
    const registry = new Registry();
    registerPrometheusMetrics(a, { registry, prefix: 'myapp_slab', labels: { allocator: 'slab-64', zone: 'eu' } });
    registerPrometheusMetrics(b, { registry, prefix: 'myapp_arena' });
    knownWorkload(a);
    const text = await registry.metrics();
    const { samples } = parse(text);
    expect(samples.get('myapp_slab_granule_closes_total{allocator="slab-64",zone="eu",outcome="pinned"}')).toBe(3);
    expect(samples.get('myapp_slab_satisfaction_ratio{allocator="slab-64",zone="eu"}')).toBe(0.7);
    expect(samples.get('myapp_arena_allocations_total')).toBe(0);
    expect(samples.size).toBe(18);
    const labelNames = new Set([...samples.keys()].flatMap((k) => [...k.matchAll(/(\w+)="/g)].map((m) => m[1])));
    expect([...labelNames].sort()).toEqual(['allocator', 'outcome', 'zone']);
  });

  it('speaks OpenMetrics when the registry does', async () => {
    const profiler = newProfiler();
    const registry = new Registry(Registry.OPENMETRICS_CONTENT_TYPE);
    registerPrometheusMetrics(profiler, { registry });
    knownWorkload(profiler);
    const text = await registry.metrics();
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(text).toContain('# TYPE drainability_granule_closes counter');
    expect(text).toContain('drainability_granule_closes_total{outcome="pinned"} 3');
  });

  it('uses prom-client\'s global registry by default and unregisters', async () => {
    const profiler = newProfiler();
    const collector = registerPrometheusMetrics(profiler, { prefix: 'drainprof_test_global' });
    try {
      expect(await promClient.register.metrics()).toContain('drainprof_test_global_open_granules 0');
      expect(collector.metricNames).toContain('drainprof_test_global_satisfaction_ratio');
    } finally {
      collector.unregister();
      collector.unregister();
    }
    expect(await promClient.register.metrics()).not.toContain('drainprof_test_global');
  });

  it('refuses a second collector with the same names, leaving the first intact', async () => {
    const registry = new Registry();
    registerPrometheusMetrics(newProfiler(), { registry });
    expect(() => registerPrometheusMetrics(newProfiler(), { registry })).toThrow(/already been registered/);
    expect(parse(await registry.metrics()).samples.size).toBe(9);
  });

  it('validates its arguments with coded errors', () => {
    const registry = new Registry();
    const p = newProfiler();
    expect(codeOf(() => registerPrometheusMetrics({} as Profiler, { registry }))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => registerPrometheusMetrics(p, { registry, prefix: '1bad' }))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => registerPrometheusMetrics(p, { registry, labels: { outcome: 'x' } }))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => registerPrometheusMetrics(p, { registry, labels: { 'a-b': 'x' } }))).toBe('ERR_INVALID_ARG_VALUE');
    expect(codeOf(() => registerPrometheusMetrics(p, { registry, labels: { a: 1 as unknown as string } }))).toBe('ERR_INVALID_ARG_TYPE');
  });

  it('accepts an injected prom-client module', async () => {
    const registry = new promClient.Registry();
    registerPrometheusMetrics(newProfiler(), { registry, promClient });
    expect(await registry.metrics()).toContain('drainability_open_granules 0');
  });

  it('says what to install when prom-client is missing, and only when it is used', () => {
    // The compiled module, in a node where resolving prom-client fails as it does without it.
    const dist = path.resolve(__dirname, '../../dist/integrations/prometheus.js');
    const script = `
      const Module = require('node:module');
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        if (request === 'prom-client') {
          const err = new Error("Cannot find module 'prom-client'");
          err.code = 'MODULE_NOT_FOUND';
          throw err;
        }
        return resolve.call(this, request, ...rest);
      };
      const prom = require(${JSON.stringify(dist)}); // loading alone must not need prom-client
      try {
        prom.registerPrometheusMetrics({ snapshot() { return {}; } });
      } catch (err) {
        console.log(err.code + ': ' + err.message);
      }
    `;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ERR_MISSING_PEER_DEPENDENCY: drainprof/prometheus needs the prom-client package: npm install prom-client');
  });
});
