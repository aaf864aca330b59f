/**
 * Diagnostic reports as data: a versioned, JSON-serialisable document built from a profiler,
 * rendered as text for people and as folded stacks for flame-graph viewers.
 *
 * The document is what `drainprof report FILE` reads and what `drainprof demo --out DIR` writes
 * (report.json). Its schema is documented in the README ("Diagnostic report format"); readers
 * check `format` and `version` and refuse anything else, so a future version 2 can change fields
 * without being misread.
 */
import type { DiagnosticSummary, Snapshot } from '../index.js';

/** Value of the `format` field: says what the JSON file is. */
export const REPORT_FORMAT = 'drainprof-report';
/** Value of the `version` field this code writes and reads. */
export const REPORT_VERSION = 1;

export type ReportViolationClass = 'unresolved' | 'near_miss' | 'moderate' | 'fundamental_mismatch';
const VIOLATION_CLASSES: readonly ReportViolationClass[] = ['unresolved', 'near_miss', 'moderate', 'fundamental_mismatch'];

export interface ReportSite {
  file: string;
  line: number;
  column: number;
}

export interface ReportSiteEntry {
  /** Where the pinning allocations were registered; null when registered without a site. */
  site: ReportSite | null;
  /** Pinning reports in which this site pinned at least one allocation. */
  pinningCount: number;
  /** Pinning allocations made at this site. */
  totalAllocs: number;
  /** Their sizes summed (bytes as passed to allocRegister). */
  totalBytes: number;
  classCounts: { unresolved: number; nearMiss: number; moderate: number; fundamentalMismatch: number };
  violationClass: ReportViolationClass;
}

/**
 * The counters of a snapshot, derived from {@link Snapshot} so the two cannot
 * drift; `timestampNs` is a decimal string because JSON has no bigint.
 */
export type ReportSnapshot = {
  -readonly [K in Exclude<keyof Snapshot, 'timestampNs'>]: Snapshot[K];
} & { timestampNs: string };

export interface ReportSummary {
  totalPinningAllocs: number;
  reportsAnalyzed: number;
  lifetimeRecordsAnalyzed: number;
  /** Sorted as diagnosticSummary() sorts them: most pinning reports first, then most bytes. */
  sites: ReportSiteEntry[];
  /** Sites left out by `maxSites` (0 when all are present). */
  omittedSites: number;
}

export interface DiagnosticReport {
  format: typeof REPORT_FORMAT;
  version: typeof REPORT_VERSION;
  /** ISO 8601 time the report was built. */
  createdAt: string;
  mode: 'production' | 'diagnostic';
  /** Free-form string labels the caller attached (service name, host, build). */
  labels: Record<string, string>;
  snapshot: ReportSnapshot;
  /** null for a production profiler: it keeps counters only, no sites. */
  summary: ReportSummary | null;
}

/** What buildDiagnosticReport needs from a profiler (a `Profiler` has all of it). */
export interface ReportSource {
  readonly mode: 'production' | 'diagnostic';
  snapshot(): Snapshot;
  diagnosticSummary(): DiagnosticSummary;
}

export interface BuildReportOptions {
  /** Keep at most this many sites (default: all). */
  maxSites?: number;
  labels?: Record<string, string>;
}

const SNAPSHOT_COUNTERS = [
  'totalCloses', 'drainableCloses', 'pinnedCloses', 'dsr', 'openGranules', 'peakOpenGranules',
  'totalAllocs', 'totalDeallocs', 'droppedReports', 'unbalancedCloses', 'failedOpens', 'failedCloses',
  'failedRegisters', 'failedDeregisters', 'lifetimeRecords', 'droppedLifetimeRecords',
] as const;

/**
 * Builds a report from a profiler's current state. Reads a snapshot and, in diagnostic mode, the
 * summary; consumes nothing (buffered pinning reports stay buffered).
 */
export function buildDiagnosticReport(profiler: ReportSource, options: BuildReportOptions = {}): DiagnosticReport {
  const maxSites = options.maxSites ?? Infinity;
  if (typeof maxSites !== 'number' || !(maxSites >= 0)) {
    throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `options.maxSites must be a non-negative number, got ${String(maxSites)}`);
  }
  const labels = checkLabels(options.labels ?? {}, 'options.labels');
  const snap = profiler.snapshot();
  const snapshot = { timestampNs: String(snap.timestampNs) } as ReportSnapshot;
  for (const key of SNAPSHOT_COUNTERS) snapshot[key] = Number(snap[key]);

  let summary: ReportSummary | null = null;
  if (profiler.mode === 'diagnostic') {
    const s = profiler.diagnosticSummary();
    const sites = s.sites.map((e): ReportSiteEntry => ({
      site: e.site === null ? null : { file: e.site.file, line: e.site.line, column: e.site.column },
      pinningCount: e.pinningCount,
      totalAllocs: e.totalAllocs,
      totalBytes: e.totalBytes,
      classCounts: {
        unresolved: e.classCounts.unresolved,
        nearMiss: e.classCounts.nearMiss,
        moderate: e.classCounts.moderate,
        fundamentalMismatch: e.classCounts.fundamentalMismatch,
      },
      violationClass: e.violationClass,
    }));
    const kept = sites.slice(0, Math.min(sites.length, maxSites));
    summary = {
      totalPinningAllocs: s.totalPinningAllocs,
      reportsAnalyzed: s.reportsAnalyzed,
      lifetimeRecordsAnalyzed: s.lifetimeRecordsAnalyzed,
      sites: kept,
      omittedSites: sites.length - kept.length,
    };
  }
  return {
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    createdAt: new Date().toISOString(),
    mode: profiler.mode,
    labels,
    snapshot,
    summary,
  };
}

/** Thrown by parseDiagnosticReport; `.path` names the offending field. */
export class ReportFormatError extends Error {
  readonly code = 'ERR_INVALID_REPORT';
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'ReportFormatError';
  }
}

/**
 * Checks that `value` (parsed JSON, or JSON text) is a version-1 report and returns it typed.
 * Unknown extra fields are ignored; missing or mistyped known fields throw ReportFormatError.
 */
export function parseDiagnosticReport(value: unknown): DiagnosticReport {
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (err) {
      throw new ReportFormatError('$', `not JSON (${(err as Error).message})`);
    }
  }
  const root = expectObject(value, '$');
  if (root.format !== REPORT_FORMAT) {
    throw new ReportFormatError('$.format', `expected "${REPORT_FORMAT}", got ${JSON.stringify(root.format)}`);
  }
  if (root.version !== REPORT_VERSION) {
    throw new ReportFormatError('$.version', `this drainprof reads version ${REPORT_VERSION}, the file has ${JSON.stringify(root.version)}`);
  }
  const createdAt = expectString(root.createdAt, '$.createdAt');
  if (root.mode !== 'production' && root.mode !== 'diagnostic') {
    throw new ReportFormatError('$.mode', `expected "production" or "diagnostic", got ${JSON.stringify(root.mode)}`);
  }
  const labelsIn = root.labels === undefined ? {} : expectObject(root.labels, '$.labels');
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(labelsIn)) labels[k] = expectString(v, `$.labels.${k}`);

  const snapIn = expectObject(root.snapshot, '$.snapshot');
  const timestampNs = expectString(snapIn.timestampNs, '$.snapshot.timestampNs');
  if (!/^\d+$/.test(timestampNs)) throw new ReportFormatError('$.snapshot.timestampNs', 'expected a decimal integer string');
  const snapshot = { timestampNs } as ReportSnapshot;
  for (const key of SNAPSHOT_COUNTERS) {
    snapshot[key] = key === 'dsr' ? expectRatio(snapIn[key], `$.snapshot.${key}`) : expectCount(snapIn[key], `$.snapshot.${key}`);
  }

  let summary: ReportSummary | null = null;
  if (root.summary !== null && root.summary !== undefined) {
    const s = expectObject(root.summary, '$.summary');
    if (!Array.isArray(s.sites)) throw new ReportFormatError('$.summary.sites', 'expected an array');
    summary = {
      totalPinningAllocs: expectCount(s.totalPinningAllocs, '$.summary.totalPinningAllocs'),
      reportsAnalyzed: expectCount(s.reportsAnalyzed, '$.summary.reportsAnalyzed'),
      lifetimeRecordsAnalyzed: expectCount(s.lifetimeRecordsAnalyzed, '$.summary.lifetimeRecordsAnalyzed'),
      sites: s.sites.map((e, i) => parseSiteEntry(e, `$.summary.sites[${i}]`)),
      omittedSites: s.omittedSites === undefined ? 0 : expectCount(s.omittedSites, '$.summary.omittedSites'),
    };
  }
  return { format: REPORT_FORMAT, version: REPORT_VERSION, createdAt, mode: root.mode, labels, snapshot, summary };
}

function parseSiteEntry(value: unknown, path: string): ReportSiteEntry {
  const e = expectObject(value, path);
  let site: ReportSite | null = null;
  if (e.site !== null) {
    const s = expectObject(e.site, `${path}.site`);
    site = {
      file: expectString(s.file, `${path}.site.file`),
      line: expectCount(s.line, `${path}.site.line`),
      column: s.column === undefined ? 0 : expectCount(s.column, `${path}.site.column`),
    };
  }
  const cc = expectObject(e.classCounts, `${path}.classCounts`);
  const vc = e.violationClass;
  if (!VIOLATION_CLASSES.includes(vc as ReportViolationClass)) {
    throw new ReportFormatError(`${path}.violationClass`, `expected one of ${VIOLATION_CLASSES.join(', ')}, got ${JSON.stringify(vc)}`);
  }
  return {
    site,
    pinningCount: expectCount(e.pinningCount, `${path}.pinningCount`),
    totalAllocs: expectCount(e.totalAllocs, `${path}.totalAllocs`),
    totalBytes: expectCount(e.totalBytes, `${path}.totalBytes`),
    classCounts: {
      unresolved: expectCount(cc.unresolved, `${path}.classCounts.unresolved`),
      nearMiss: expectCount(cc.nearMiss, `${path}.classCounts.nearMiss`),
      moderate: expectCount(cc.moderate, `${path}.classCounts.moderate`),
      fundamentalMismatch: expectCount(cc.fundamentalMismatch, `${path}.classCounts.fundamentalMismatch`),
    },
    violationClass: vc as ReportViolationClass,
  };
}

function expectObject(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ReportFormatError(path, `expected an object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value as Record<string, unknown>;
}

function expectString(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new ReportFormatError(path, `expected a string, got ${typeof value}`);
  return value;
}

function expectCount(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ReportFormatError(path, `expected a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function expectRatio(value: unknown, path: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new ReportFormatError(path, `expected a number in [0, 1], got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkLabels(labels: unknown, path: string): Record<string, string> {
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `${path} must be an object of strings`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (typeof v !== 'string') throw argError(TypeError, 'ERR_INVALID_ARG_TYPE', `${path}.${k} must be a string, got ${typeof v}`);
    out[k] = v;
  }
  return out;
}

function argError(Ctor: new (m: string) => Error, code: string, message: string): Error {
  const err = new Ctor(message);
  (err as Error & { code: string }).code = code;
  return err;
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/** Formats a byte count with binary units: 512 B, 1.5 KiB, 12.0 MiB. */
export function formatBytes(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  let v = Math.abs(bytes);
  if (v < 1024) return `${sign}${Math.round(v)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${sign}${v.toFixed(1)} ${units[u]}`;
}

/** "file:line:column", the file made relative to `relativeTo` when it lies under it. */
export function formatSite(site: ReportSite | null, relativeTo?: string): string {
  if (site === null) return '(no site recorded)';
  let file = site.file;
  if (relativeTo !== undefined) {
    const base = relativeTo.endsWith('/') ? relativeTo : `${relativeTo}/`;
    if (file.startsWith(base)) file = file.slice(base.length);
  }
  return site.column > 0 ? `${file}:${site.line}:${site.column}` : `${file}:${site.line}`;
}

const CLASS_MEANING: Record<ReportViolationClass, string> = {
  unresolved: 'not freed yet, so its lifetime is unknown',
  near_miss: 'freed shortly after the granule closed (< 10% of the granule lifetime): a small reordering fixes it',
  moderate: 'freed within 10x the granule lifetime: give it a granule that lives longer',
  fundamental_mismatch: 'outlived the granule by more than 10x: route it to a separate long-lived pool',
};

export interface FormatReportOptions {
  /** Show at most this many sites (default 10, 0 = all). */
  maxSites?: number;
  /** Print files under this directory relative to it (e.g. process.cwd()). */
  relativeTo?: string;
}

/** Renders a report as text: DSR line, totals, then the top pinning sites with bytes and class. */
export function formatDiagnosticReport(report: DiagnosticReport, options: FormatReportOptions = {}): string {
  const maxSites = options.maxSites ?? 10;
  const s = report.snapshot;
  const out: string[] = [];
  const labels = Object.entries(report.labels).map(([k, v]) => `${k}=${v}`).join(' ');
  out.push(`drainprof report (${report.mode} mode, ${report.createdAt}${labels ? `, ${labels}` : ''})`);
  const pct = s.totalCloses === 0 ? 'n/a (no granule closed yet)' : `${(s.dsr * 100).toFixed(1)}%`;
  out.push(`DSR ${pct}: ${s.drainableCloses} drainable + ${s.pinnedCloses} pinned = ${s.totalCloses} closes`);
  out.push(`granules open ${s.openGranules} (peak ${s.peakOpenGranules}); allocations registered ${s.totalAllocs}, deregistered ${s.totalDeallocs}`);
  const anomalies: string[] = [];
  if (s.unbalancedCloses) anomalies.push(`${s.unbalancedCloses} unbalanced closes`);
  if (s.droppedReports) anomalies.push(`${s.droppedReports} pinning reports dropped (buffer full)`);
  if (s.droppedLifetimeRecords) anomalies.push(`${s.droppedLifetimeRecords} lifetime records dropped`);
  const failed = s.failedOpens + s.failedCloses + s.failedRegisters + s.failedDeregisters;
  if (failed) anomalies.push(`${failed} failed calls (open ${s.failedOpens}, close ${s.failedCloses}, register ${s.failedRegisters}, deregister ${s.failedDeregisters})`);
  if (anomalies.length) out.push(`note: ${anomalies.join('; ')}`);
  if (s.totalCloses > 0 && s.pinnedCloses > 0) {
    out.push(`each pinned close keeps one granule of memory until its pinning objects are freed: retention grows by about ${(1 - s.dsr).toFixed(4)} granules per close`);
  }

  if (report.summary === null) {
    out.push('');
    out.push('No pinning sites: the profiler ran in production mode (counters only).');
    out.push("Run it with { mode: 'diagnostic' } to learn which source lines pin granules.");
    return `${out.join('\n')}\n`;
  }
  const sum = report.summary;
  out.push('');
  if (sum.sites.length === 0) {
    out.push(`No pinning sites (${sum.reportsAnalyzed} pinning reports analysed).`);
    return `${out.join('\n')}\n`;
  }
  const total = sum.sites.length + sum.omittedSites;
  const shown = maxSites === 0 ? sum.sites : sum.sites.slice(0, maxSites);
  out.push(`Top pinning sites (${shown.length} of ${total}; ${sum.totalPinningAllocs} pinning allocations in ${sum.reportsAnalyzed} reports, ${sum.lifetimeRecordsAnalyzed} lifetimes measured):`);
  const rows = shown.map((e, i) => [
    String(i + 1),
    formatSite(e.site, options.relativeTo),
    String(e.pinningCount),
    String(e.totalAllocs),
    formatBytes(e.totalBytes),
    e.violationClass,
  ]);
  out.push(...table(['#', 'site', 'reports', 'allocs', 'bytes', 'class'], rows, [false, false, true, true, true, false]).map((l) => `  ${l}`));
  const classes = new Set(shown.map((e) => e.violationClass));
  out.push('');
  for (const c of VIOLATION_CLASSES) if (classes.has(c)) out.push(`${c}: ${CLASS_MEANING[c]}`);
  return `${out.join('\n')}\n`;
}

/** Left/right aligned text columns. */
export function table(header: string[], rows: string[][], rightAlign: boolean[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (rightAlign[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

export type FoldedWeight = 'bytes' | 'allocs' | 'reports';

export interface FoldedOptions {
  /** What each line counts: pinned bytes (default), pinning allocations, or pinning reports. */
  weight?: FoldedWeight;
  relativeTo?: string;
  /** Put the violation class as the root frame, so the flame graph groups by class. */
  byClass?: boolean;
}

/**
 * Folded stacks ("frame;frame value" per line), the input of flamegraph.pl and of speedscope's
 * importer. The profiler records one frame per allocation (its site), so each stack is that frame,
 * under the violation class when `byClass` is set.
 */
export function toFoldedStacks(report: DiagnosticReport, options: FoldedOptions = {}): string {
  const weight = options.weight ?? 'bytes';
  if (report.summary === null) return '';
  const lines: string[] = [];
  for (const e of report.summary.sites) {
    const value = weight === 'bytes' ? e.totalBytes : weight === 'allocs' ? e.totalAllocs : e.pinningCount;
    if (value === 0) continue;
    // ';' separates frames and a line is one stack: keep both out of frame names. (Viewers split
    // the count off at the last space, so spaces inside a path are fine.)
    const frame = formatSite(e.site, options.relativeTo).replace(/;/g, ',').replace(/[\r\n]/g, ' ');
    lines.push(`${options.byClass ? `${e.violationClass};` : ''}${frame} ${value}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
