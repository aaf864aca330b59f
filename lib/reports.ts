/**
 * PinningReport, DiagnosticSummary and LifetimeRecord objects from the plain
 * data the native layer packs (see native/pack.cc and profiler_wrap.cc for
 * the layouts), and the delivery of onPinning reports.
 *
 * @packageDocumentation
 */
import type { Packed } from './binding.js';
import type {
  AllocSite, DiagnosticSummary, LifetimeRecord, PinningAllocation, PinningReport, ProfilerOptions, SiteSummary,
  ViolationClass,
} from './types.js';

const CLASSES: readonly ViolationClass[] = ['unresolved', 'near_miss', 'moderate', 'fundamental_mismatch'];

function violationClass(value: number): ViolationClass {
  return CLASSES[value] ?? 'unresolved';
}

/** A site from (file index, line, column): index >= 0 is `files[index]`, -1 is no site, <= -2 is `extra[-2 - index]`. */
function siteOf(file: number, line: number, column: number, files: readonly string[], extra: readonly string[]): AllocSite | null {
  if (file === -1) return null;
  const name = file >= 0 ? files[file] : extra[-2 - file];
  return Object.freeze({ file: name ?? '', line, column });
}

/** Every report in a packed batch, oldest first. */
export function buildReports([u64, f64, extra]: Packed, files: readonly string[]): PinningReport[] {
  const reports: PinningReport[] = [];
  let u = 0;
  let f = 0;
  while (f < f64.length) {
    const granuleId = u64[u++]!;
    const openTimeNs = u64[u++]!;
    const closeTimeNs = u64[u++]!;
    const pinningCount = f64[f++]!;
    const totalAllocs = f64[f++]!;
    const drainedAllocs = f64[f++]!;
    const pinningAllocs: PinningAllocation[] = new Array(pinningCount);
    for (let i = 0; i < pinningCount; i++) {
      const allocId = u64[u++]!;
      const allocTimeNs = u64[u++]!;
      const size = f64[f++]!;
      const lifetimeDeltaSec = f64[f++]!;
      const site = siteOf(f64[f++]!, f64[f++]!, f64[f++]!, files, extra);
      pinningAllocs[i] = Object.freeze({ allocId, site, allocTimeNs, size, lifetimeDeltaSec });
    }
    reports.push(Object.freeze({
      granuleId, openTimeNs, closeTimeNs, pinningCount, totalAllocs, drainedAllocs,
      pinningAllocs: Object.freeze(pinningAllocs),
    }));
  }
  return reports;
}

const SUMMARY_HEADER = 4;
const SUMMARY_SITE = 11;

/** The summary from [siteCount, totalPinningAllocs, reportsAnalyzed, lifetimeRecordsAnalyzed, ...sites]. */
export function buildSummary([, f64, extra]: Packed, files: readonly string[]): DiagnosticSummary {
  const siteCount = f64[0]!;
  const sites: SiteSummary[] = new Array(siteCount);
  for (let i = 0; i < siteCount; i++) {
    const o = SUMMARY_HEADER + i * SUMMARY_SITE;
    sites[i] = Object.freeze({
      site: siteOf(f64[o]!, f64[o + 1]!, f64[o + 2]!, files, extra),
      pinningCount: f64[o + 3]!,
      totalAllocs: f64[o + 4]!,
      totalBytes: f64[o + 5]!,
      classCounts: Object.freeze({
        unresolved: f64[o + 6]!,
        nearMiss: f64[o + 7]!,
        moderate: f64[o + 8]!,
        fundamentalMismatch: f64[o + 9]!,
      }),
      violationClass: violationClass(f64[o + 10]!),
    });
  }
  return Object.freeze({
    sites: Object.freeze(sites),
    totalPinningAllocs: f64[1]!,
    reportsAnalyzed: f64[2]!,
    lifetimeRecordsAnalyzed: f64[3]!,
  });
}

const RECORD_U64 = 2;
const RECORD_F64 = 7;

/** Lifetime records from u64 [granuleId, allocId] and f64 [file, line, column, size, granuleLifetimeSec, deltaSec, class]. */
export function buildLifetimeRecords([u64, f64, extra]: Packed, files: readonly string[]): LifetimeRecord[] {
  const count = u64.length / RECORD_U64;
  const records: LifetimeRecord[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const u = i * RECORD_U64;
    const f = i * RECORD_F64;
    records[i] = Object.freeze({
      granuleId: u64[u]!,
      allocId: u64[u + 1]!,
      site: siteOf(f64[f]!, f64[f + 1]!, f64[f + 2]!, files, extra),
      size: f64[f + 3]!,
      granuleLifetimeSec: f64[f + 4]!,
      lifetimeDeltaSec: f64[f + 5]!,
      violationClass: violationClass(f64[f + 6]!),
    });
  }
  return records;
}

/**
 * What delivering a callback-mode profiler's reports needs. Held strongly by
 * the Profiler and weakly by the native queue, and it must not refer to the
 * Profiler: otherwise a dropped profiler could never be collected.
 */
export interface DeliveryState {
  readonly files: readonly string[];
  readonly onPinning: NonNullable<ProfilerOptions['onPinning']>;
  readonly onError: ProfilerOptions['onError'];
}

function warn(message: string, err: unknown): void {
  const detail = err instanceof Error ? err.stack ?? String(err) : String(err);
  process.emitWarning(message, { type: 'DrainprofWarning', code: 'DRAINPROF_CALLBACK_ERROR', detail });
}

/**
 * Runs on the JS thread for each report the native queue delivers. Whatever
 * the callbacks throw ends in onError or a process warning, never in an
 * uncaught exception.
 */
export function deliverPinning(state: object | undefined, u64: BigUint64Array, f64: Float64Array, extra: string[]): void {
  if (state === undefined) {
    process.emitWarning(
      'drainprof: a pinning report was dropped because its Profiler was garbage-collected before the report ' +
      'could be delivered; call destroy() on profilers with onPinning to receive every report',
      { type: 'DrainprofWarning', code: 'DRAINPROF_REPORT_DROPPED' });
    return;
  }
  const { files, onPinning, onError } = state as DeliveryState;
  for (const report of buildReports([u64, f64, extra], files)) {
    try {
      onPinning(report);
    } catch (err) {
      if (onError === undefined) {
        warn('drainprof: the onPinning callback threw; pass options.onError to handle its errors', err);
        continue;
      }
      try {
        onError(err);
      } catch (err2) {
        warn('drainprof: the onError callback threw', err2);
      }
    }
  }
}
