/**
 * `drainprof/opentelemetry`: observable instruments on an OpenTelemetry `Meter`.
 *
 * Nothing is imported from @opentelemetry/api: the caller passes a Meter (from
 * `metrics.getMeter(...)` of the api package, an optional peer dependency), and this module only
 * calls its methods. One batch callback reads one snapshot per collection, so the values agree
 * with each other. Names use the Prometheus names of `drainprof/prometheus` with a dot after the
 * prefix; an OpenTelemetry Prometheus exporter turns `drainability.granule_closes` (a monotonic
 * counter) back into `drainability_granule_closes_total`.
 */
import type { Snapshot } from '../index.js';

export interface SnapshotSource {
  snapshot(): Snapshot;
}

type Attributes = Record<string, string>;
/** An observable instrument, as the api's Meter returns it (opaque here). */
export type OtelObservable = object;
export interface OtelBatchObservableResult {
  observe(observable: OtelObservable, value: number, attributes?: Attributes): void;
}
type BatchCallback = (result: OtelBatchObservableResult) => void;
/** The subset of @opentelemetry/api's `Meter` used here. */
export interface OtelMeter {
  createObservableCounter(name: string, options?: { description?: string; unit?: string }): OtelObservable;
  createObservableUpDownCounter(name: string, options?: { description?: string; unit?: string }): OtelObservable;
  createObservableGauge(name: string, options?: { description?: string; unit?: string }): OtelObservable;
  addBatchObservableCallback(callback: BatchCallback, observables: OtelObservable[]): void;
  removeBatchObservableCallback(callback: BatchCallback, observables: OtelObservable[]): void;
}

export interface OpenTelemetryOptions {
  /** Instrument name prefix (default "drainability"). */
  prefix?: string;
  /** Constant attributes on every observation. */
  attributes?: Record<string, string>;
}

export interface OpenTelemetryInstruments {
  /** Instrument names, in registration order. */
  readonly instrumentNames: readonly string[];
  /** Removes the callback: the instruments report nothing more. Idempotent. */
  shutdown(): void;
}

const PREFIX = /^[a-zA-Z][a-zA-Z0-9_.-]*$/;

function codeError<E extends Error>(err: E, code: string): E & { code: string } {
  return Object.assign(err, { code });
}

/**
 * Creates the instruments and one batch callback that observes a fresh snapshot:
 * `<prefix>.granule_closes` (counter, attribute outcome = drainable | pinned),
 * `<prefix>.open_granules` (up-down counter), `<prefix>.peak_open_granules` (gauge),
 * `<prefix>.allocations`, `<prefix>.deallocations`, `<prefix>.unbalanced_closes`,
 * `<prefix>.dropped_reports` (counters), `<prefix>.satisfaction_ratio` (gauge, unit 1).
 */
export function registerOpenTelemetryInstruments(
  profiler: SnapshotSource,
  meter: OtelMeter,
  options: OpenTelemetryOptions = {},
): OpenTelemetryInstruments {
  if (profiler === null || typeof profiler !== 'object' || typeof profiler.snapshot !== 'function') {
    throw codeError(new TypeError('profiler must have a snapshot() method (a drainprof Profiler)'), 'ERR_INVALID_ARG_TYPE');
  }
  if (meter === null || typeof meter !== 'object' || typeof meter.addBatchObservableCallback !== 'function') {
    throw codeError(new TypeError('meter must be an OpenTelemetry Meter (metrics.getMeter(name))'), 'ERR_INVALID_ARG_TYPE');
  }
  const prefix = options.prefix ?? 'drainability';
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw codeError(new TypeError(`options.prefix must match ${PREFIX}, got ${JSON.stringify(prefix)}`), 'ERR_INVALID_ARG_VALUE');
  }
  const attrs: Attributes = {};
  for (const [k, v] of Object.entries(options.attributes ?? {})) {
    if (typeof v !== 'string') {
      throw codeError(new TypeError(`options.attributes.${k} must be a string, got ${typeof v}`), 'ERR_INVALID_ARG_TYPE');
    }
    attrs[k] = v;
  }

  const names: string[] = [];
  const make = (kind: 'counter' | 'updown' | 'gauge', name: string, description: string, unit: string): OtelObservable => {
    const full = `${prefix}.${name}`;
    names.push(full);
    const opts = { description, unit };
    if (kind === 'counter') return meter.createObservableCounter(full, opts);
    if (kind === 'updown') return meter.createObservableUpDownCounter(full, opts);
    return meter.createObservableGauge(full, opts);
  };
  const closes = make('counter', 'granule_closes', 'Granule closes by outcome: drainable (no live allocation) or pinned.', '{close}');
  const open = make('updown', 'open_granules', 'Granules open now.', '{granule}');
  const peak = make('gauge', 'peak_open_granules', 'Most granules open at once since start or reset.', '{granule}');
  const allocs = make('counter', 'allocations', 'Allocation registrations (failed ones included).', '{allocation}');
  const deallocs = make('counter', 'deallocations', 'Allocation deregistrations (failed ones included).', '{allocation}');
  const ratio = make('gauge', 'satisfaction_ratio', 'Drainability satisfaction rate: drainable closes / total closes (0 before the first close).', '1');
  const unbalanced = make('counter', 'unbalanced_closes', 'Closes refused because a granule had more deregistrations than registrations.', '{close}');
  const dropped = make('counter', 'dropped_reports', 'Pinning reports dropped because the diagnostic buffer was full.', '{report}');
  const observables = [closes, open, peak, allocs, deallocs, ratio, unbalanced, dropped];

  const callback: BatchCallback = (result) => {
    const s = profiler.snapshot();
    result.observe(closes, s.drainableCloses, { ...attrs, outcome: 'drainable' });
    result.observe(closes, s.pinnedCloses, { ...attrs, outcome: 'pinned' });
    result.observe(open, s.openGranules, { ...attrs });
    result.observe(peak, s.peakOpenGranules, { ...attrs });
    result.observe(allocs, s.totalAllocs, { ...attrs });
    result.observe(deallocs, s.totalDeallocs, { ...attrs });
    result.observe(ratio, s.dsr, { ...attrs });
    result.observe(unbalanced, s.unbalancedCloses, { ...attrs });
    result.observe(dropped, s.droppedReports, { ...attrs });
  };
  meter.addBatchObservableCallback(callback, observables);

  let active = true;
  return {
    instrumentNames: Object.freeze([...names]),
    shutdown(): void {
      if (!active) return;
      active = false;
      meter.removeBatchObservableCallback(callback, observables);
    },
  };
}
