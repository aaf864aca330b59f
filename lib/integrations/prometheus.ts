/**
 * `drainprof/prometheus`: exposes a profiler's counters on a prom-client registry.
 *
 * Values are read from one profiler snapshot per scrape (prom-client calls each metric's
 * `collect` in the same synchronous pass; the first one takes the snapshot and the rest reuse it),
 * so `drainable + pinned == total` and the ratio agree within one scrape. There are no per-granule
 * or per-site labels: the series count is fixed, whatever the allocator does.
 *
 * prom-client is an optional peer dependency, loaded the first time this is called.
 */
import type { Snapshot } from '../index.js';

/** Anything with a snapshot(): a Profiler, or a wrapper around one. */
export interface SnapshotSource {
  snapshot(): Snapshot;
}

/** The parts of prom-client's metric classes this module uses. */
interface PromMetric {
  reset(): void;
}
interface PromCounter extends PromMetric {
  inc(labels: Record<string, string>, value: number): void;
}
interface PromGauge extends PromMetric {
  set(labels: Record<string, string>, value: number): void;
}
interface PromMetricConfig {
  name: string;
  help: string;
  labelNames: string[];
  registers: PromRegistry[];
  collect(this: PromMetric): void;
}
/** The subset of a prom-client `Registry` used here. */
export interface PromRegistry {
  removeSingleMetric(name: string): void;
  getSingleMetric(name: string): unknown;
}
/** The subset of the prom-client module used here. */
export interface PromClientModule {
  Counter: new (config: PromMetricConfig) => PromCounter;
  Gauge: new (config: PromMetricConfig) => PromGauge;
  register: PromRegistry;
}

export interface PrometheusOptions {
  /** Registry to register on (default: prom-client's global `register`). */
  registry?: PromRegistry;
  /** Metric name prefix (default "drainability"). Must match [a-zA-Z_:][a-zA-Z0-9_:]*. */
  prefix?: string;
  /** Constant labels on every sample, e.g. { allocator: 'slab-64' } to tell profilers apart. */
  labels?: Record<string, string>;
  /** The prom-client module to use (default: `require('prom-client')`); pass it when your
   * application's copy is not the one drainprof would resolve. */
  promClient?: PromClientModule;
}

export interface PrometheusCollector {
  /** Names of the registered metrics. */
  readonly metricNames: readonly string[];
  /** Removes the metrics from the registry. Idempotent. */
  unregister(): void;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function codeError<E extends Error>(err: E, code: string): E & { code: string } {
  return Object.assign(err, { code });
}

/** Loads prom-client lazily, with an error that says what to install. */
export function loadPromClient(): PromClientModule {
  try {
    // A plain require keeps prom-client out of the load path of users who never call this.
    return require('prom-client') as PromClientModule;
  } catch (err) {
    if ((err as { code?: string }).code === 'MODULE_NOT_FOUND') {
      throw codeError(
        new Error('drainprof/prometheus needs the prom-client package: npm install prom-client'),
        'ERR_MISSING_PEER_DEPENDENCY',
      );
    }
    throw err;
  }
}

/**
 * Registers the profiler's metrics on a prom-client registry:
 *
 * | metric | type | |
 * |---|---|---|
 * | `<prefix>_granule_closes_total{outcome="drainable"\|"pinned"}` | counter | granule closes by outcome |
 * | `<prefix>_open_granules` | gauge | granules open now |
 * | `<prefix>_peak_open_granules` | gauge | most granules open at once |
 * | `<prefix>_allocations_total` | counter | allocRegister calls |
 * | `<prefix>_deallocations_total` | counter | allocDeregister calls |
 * | `<prefix>_satisfaction_ratio` | gauge | DSR = drainable / total closes (0 before the first close) |
 * | `<prefix>_unbalanced_closes_total` | counter | closes refused: more deregisters than registers |
 * | `<prefix>_dropped_reports_total` | counter | pinning reports dropped (diagnostic buffer full) |
 *
 * Throws (code ERR_INVALID_ARG_VALUE) on a bad prefix or label name, and prom-client's own error
 * when a metric of the same name is already registered (use another prefix, or one registry per
 * profiler). Alert on the closes counter: `rate(<prefix>_granule_closes_total{outcome="pinned"}[1h]) > 0`
 * means retention grows with uptime.
 */
export function registerPrometheusMetrics(profiler: SnapshotSource, options: PrometheusOptions = {}): PrometheusCollector {
  if (profiler === null || typeof profiler !== 'object' || typeof profiler.snapshot !== 'function') {
    throw codeError(new TypeError('profiler must have a snapshot() method (a drainprof Profiler)'), 'ERR_INVALID_ARG_TYPE');
  }
  const prefix = options.prefix ?? 'drainability';
  if (typeof prefix !== 'string' || !METRIC_NAME.test(prefix)) {
    throw codeError(new TypeError(`options.prefix must match ${METRIC_NAME}, got ${JSON.stringify(prefix)}`), 'ERR_INVALID_ARG_VALUE');
  }
  const constLabels: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.labels ?? {})) {
    if (!LABEL_NAME.test(name) || name.startsWith('__') || name === 'outcome') {
      throw codeError(new TypeError(`options.labels: ${JSON.stringify(name)} is not a usable label name`), 'ERR_INVALID_ARG_VALUE');
    }
    if (typeof value !== 'string') {
      throw codeError(new TypeError(`options.labels.${name} must be a string, got ${typeof value}`), 'ERR_INVALID_ARG_TYPE');
    }
    constLabels[name] = value;
  }
  const prom = options.promClient ?? loadPromClient();
  const registry = options.registry ?? prom.register;
  const labelNames = Object.keys(constLabels);

  // One snapshot per scrape: cleared after the synchronous pass in which prom-client collects.
  let cached: Snapshot | null = null;
  const current = (): Snapshot => {
    if (cached === null) {
      cached = profiler.snapshot();
      queueMicrotask(() => {
        cached = null;
      });
    }
    return cached;
  };

  const names: string[] = [];
  const counter = (name: string, help: string, extraLabels: string[], values: (s: Snapshot) => [Record<string, string>, number][]): void => {
    const full = `${prefix}_${name}`;
    new prom.Counter({
      name: full,
      help,
      labelNames: [...labelNames, ...extraLabels],
      registers: [registry],
      collect(this: PromMetric) {
        const s = current();
        this.reset();
        for (const [labels, v] of values(s)) (this as PromCounter).inc({ ...constLabels, ...labels }, v);
      },
    });
    names.push(full);
  };
  const gauge = (name: string, help: string, value: (s: Snapshot) => number): void => {
    const full = `${prefix}_${name}`;
    new prom.Gauge({
      name: full,
      help,
      labelNames,
      registers: [registry],
      collect(this: PromMetric) {
        (this as PromGauge).set({ ...constLabels }, value(current()));
      },
    });
    names.push(full);
  };

  try {
    counter('granule_closes_total', 'Granule closes by outcome: drainable (no live allocation) or pinned.', ['outcome'], (s) => [
      [{ outcome: 'drainable' }, s.drainableCloses],
      [{ outcome: 'pinned' }, s.pinnedCloses],
    ]);
    gauge('open_granules', 'Granules open now.', (s) => s.openGranules);
    gauge('peak_open_granules', 'Most granules open at once since start or reset.', (s) => s.peakOpenGranules);
    counter('allocations_total', 'Allocation registrations (failed ones included).', [], (s) => [[{}, s.totalAllocs]]);
    counter('deallocations_total', 'Allocation deregistrations (failed ones included).', [], (s) => [[{}, s.totalDeallocs]]);
    gauge('satisfaction_ratio', 'Drainability satisfaction rate: drainable closes / total closes (0 before the first close).', (s) => s.dsr);
    counter('unbalanced_closes_total', 'Closes refused because a granule had more deregistrations than registrations.', [], (s) => [[{}, s.unbalancedCloses]]);
    counter('dropped_reports_total', 'Pinning reports dropped because the diagnostic buffer was full.', [], (s) => [[{}, s.droppedReports]]);
  } catch (err) {
    for (const n of names) registry.removeSingleMetric(n);
    throw err;
  }

  let registered = true;
  return {
    metricNames: Object.freeze([...names]),
    unregister(): void {
      if (!registered) return;
      registered = false;
      for (const n of names) registry.removeSingleMetric(n);
    },
  };
}
