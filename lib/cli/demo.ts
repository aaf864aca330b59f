/**
 * `drainprof demo`: a structural leak from cause to fix, on real memory, in well under a minute.
 *
 * 1. Seven runs of the leaky service (demo-workload.ts), one per violation fraction p: every
 *    1/p-th epoch creates a session from the epoch's granule. Retained memory is measured after
 *    each sampled epoch; a least-squares line gives its slope and R².
 * 2. The plot of the seven series (SVG).
 * 3. A diagnostic-mode run: diagnosticSummary() names the source line that pins.
 * 4. The fix (sessions from a long-lived pool): DSR 1 and flat memory, measured the same way.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Profiler } from '../index.js';
import { buildDiagnosticReport, formatBytes, formatSite, table, type DiagnosticReport } from '../integrations/report.js';
import { EXIT_OK, HELP_OPTION, UsageError, formatOptions, parseArgs, type Command, type Io, type OptionSpecs } from './args.js';
import {
  EpochArena,
  LongLivedPool,
  REQUESTS_PER_EPOCH,
  SESSION_BYTES,
  serveEpoch,
  serveEpochFixed,
  type Session,
} from './demo-workload.js';
import { linearFit } from './fit.js';
import { forceGcFunction, measureArrayBufferBytes, type ForceGc } from './measure.js';
import { packageRoot } from './package-root.js';
import { Progress } from './progress.js';
import { renderLinePlot } from './svg.js';

/** The violation fractions of the paper's figure. */
export const VIOLATION_FRACTIONS = [0, 0.01, 0.05, 0.1, 0.25, 0.5, 1] as const;

export interface DemoConfig {
  /** Epochs per run; a multiple of 100 makes every DSR exactly 1 − p. */
  epochs: number;
  granuleBytes: number;
  /** Measure retained memory after every this many epochs. */
  sampleEvery: number;
  /** p of the diagnostic run and of the fix. */
  diagnosticP: number;
  diagnosticEpochs: number;
  /** In the diagnostic run, sessions end after this many epochs, so their lifetimes get classified. */
  sessionLifetimeEpochs: number;
}

export const FULL_CONFIG: DemoConfig = {
  epochs: 1000,
  granuleBytes: 256 * 1024,
  sampleEvery: 10,
  diagnosticP: 0.1,
  diagnosticEpochs: 400,
  sessionLifetimeEpochs: 100,
};

export const QUICK_CONFIG: DemoConfig = {
  epochs: 200,
  granuleBytes: 64 * 1024,
  sampleEvery: 4,
  diagnosticP: 0.1,
  diagnosticEpochs: 200,
  sessionLifetimeEpochs: 50,
};

export interface SeriesResult {
  p: number;
  variant: 'leaky' | 'fixed';
  epochs: number;
  totalCloses: number;
  pinnedCloses: number;
  dsr: number;
  /** Least-squares slope of retained bytes over epochs. */
  slopeBytesPerEpoch: number;
  interceptBytes: number;
  /** null for a flat series (no variance to explain). */
  r2: number | null;
  retainedBytesAtEnd: number;
  /** [epoch, retained bytes] as measured. */
  points: [number, number][];
}

export interface DiagnosticResult {
  p: number;
  epochs: number;
  sessionLifetimeEpochs: number;
  dsr: number;
  pinnedCloses: number;
  totalCloses: number;
  /** The site diagnosticSummary() ranks first, with the text of that source line. */
  topSite: null | {
    file: string;
    line: number;
    column: number;
    sourceLine: string | null;
    pinningCount: number;
    totalAllocs: number;
    totalBytes: number;
    violationClass: string;
  };
  report: DiagnosticReport;
}

export interface DemoResult {
  format: 'drainprof-demo';
  version: 1;
  quick: boolean;
  config: DemoConfig & { requestsPerEpoch: number; sessionBytes: number; measuredWith: string };
  series: SeriesResult[];
  diagnostic: DiagnosticResult;
  fix: { before: SeriesResult | null; after: SeriesResult };
  files: { svg: string; report: string; json: string };
}

const MEASURED_WITH = 'process.memoryUsage().arrayBuffers after a full GC, minus the baseline before the run';

/** Runs the service for cfg.epochs epochs at fraction p, measuring retained memory as it goes. */
export function runSeries(p: number, cfg: DemoConfig, variant: 'leaky' | 'fixed', gc: ForceGc, onEpoch?: (epoch: number) => void): SeriesResult {
  const period = p === 0 ? 0 : Math.round(1 / p);
  const profiler = new Profiler({ mode: 'production' });
  try {
    const arena = new EpochArena(profiler, cfg.granuleBytes, false);
    const pool = new LongLivedPool();
    const sessions: Session[] = [];
    const baseline = measureArrayBufferBytes(gc);
    const points: [number, number][] = [[0, 0]];
    for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
      const login = period > 0 && epoch % period === 0;
      if (variant === 'leaky') serveEpoch(arena, epoch, login, sessions);
      else serveEpochFixed(arena, pool, epoch, login, sessions);
      if (epoch % cfg.sampleEvery === 0 || epoch === cfg.epochs) {
        points.push([epoch, measureArrayBufferBytes(gc) - baseline]);
      }
      onEpoch?.(epoch);
    }
    const snap = profiler.snapshot();
    // Sessions end eventually (after the run here): free them through their allocator.
    for (const s of sessions) {
      if (s.block.granule === null) pool.free(s.block);
      else arena.free(s.block);
    }
    const fit = linearFit(points);
    return {
      p,
      variant,
      epochs: cfg.epochs,
      totalCloses: snap.totalCloses,
      pinnedCloses: snap.pinnedCloses,
      dsr: snap.dsr,
      slopeBytesPerEpoch: fit.slope,
      interceptBytes: fit.intercept,
      r2: fit.r2,
      retainedBytesAtEnd: points[points.length - 1][1],
      points,
    };
  } finally {
    profiler.destroy();
  }
}

/** The leaky service at fraction p in diagnostic mode, sessions ending after a while. */
export function runDiagnostic(cfg: DemoConfig, onEpoch?: (epoch: number) => void): DiagnosticResult {
  const p = cfg.diagnosticP;
  const period = Math.round(1 / p);
  const profiler = new Profiler({ mode: 'diagnostic' });
  try {
    const arena = new EpochArena(profiler, cfg.granuleBytes, true);
    const sessions: Session[] = [];
    for (let epoch = 1; epoch <= cfg.diagnosticEpochs; epoch++) {
      serveEpoch(arena, epoch, epoch % period === 0, sessions);
      while (sessions.length > 0 && epoch - sessions[0].epoch >= cfg.sessionLifetimeEpochs) {
        arena.free(sessions.shift()!.block);
      }
      onEpoch?.(epoch);
    }
    const snap = profiler.snapshot();
    const summary = profiler.diagnosticSummary();
    const report = buildDiagnosticReport(profiler, { labels: { program: 'drainprof demo', p: String(p) } });
    for (const s of sessions) arena.free(s.block);
    const top = summary.sites[0];
    return {
      p,
      epochs: cfg.diagnosticEpochs,
      sessionLifetimeEpochs: cfg.sessionLifetimeEpochs,
      dsr: snap.dsr,
      pinnedCloses: snap.pinnedCloses,
      totalCloses: snap.totalCloses,
      topSite:
        top === undefined || top.site === null
          ? null
          : {
              file: top.site.file,
              line: top.site.line,
              column: top.site.column,
              sourceLine: readSourceLine(top.site.file, top.site.line),
              pinningCount: top.pinningCount,
              totalAllocs: top.totalAllocs,
              totalBytes: top.totalBytes,
              violationClass: top.violationClass,
            },
      report,
    };
  } finally {
    profiler.destroy();
  }
}

function readSourceLine(file: string, line: number): string | null {
  try {
    const p = file.startsWith('file://') ? fileURLToPath(file) : file;
    const text = fs.readFileSync(p, 'utf8').split('\n')[line - 1];
    return text === undefined ? null : text.trim();
  } catch {
    return null;
  }
}

const OPTIONS: OptionSpecs = {
  quick: { type: 'boolean', description: `smaller runs (${QUICK_CONFIG.epochs} epochs of ${QUICK_CONFIG.granuleBytes / 1024} KiB granules) that finish in seconds` },
  json: { type: 'boolean', description: 'print the results as JSON on stdout (the text goes away)' },
  out: { type: 'string', value: 'DIR', description: 'write the SVG plot, report.json and demo.json here (created if needed; default: a new directory under the system temp dir)' },
  quiet: { type: 'boolean', short: 'q', description: 'no progress on stderr' },
  ...HELP_OPTION,
};

export const demoCommand: Command = {
  name: 'demo',
  summary: 'measure a structural leak at seven violation fractions, plot it, find its source line, fix it',
  help: () => `Usage: drainprof demo [--quick] [--json] [--out DIR] [--quiet]

Runs a JavaScript epoch allocator whose granules are real ArrayBuffers (${FULL_CONFIG.granuleBytes / 1024} KiB each,
${FULL_CONFIG.epochs} epochs per run), instrumented with drainprof, at violation fractions
p = ${VIOLATION_FRACTIONS.join(', ')}: every 1/p-th epoch routes one long-lived session object into the
epoch's granule. For each p it prints the DSR, the slope of the retained memory (measured with
${MEASURED_WITH}) and the R² of a linear fit, and plots the seven series to an SVG file.
Then it reruns with p = ${FULL_CONFIG.diagnosticP} in diagnostic mode and names the source line that pins, and
runs the fix (sessions from a separate long-lived pool): DSR 1.0, memory flat.

Options:
${formatOptions(OPTIONS)}

Exit status: 0 done, 1 the demo failed, 2 usage error.
`,
  async run(argv: readonly string[], io: Io): Promise<number> {
    const { options, positionals } = parseArgs(argv, OPTIONS, 'demo');
    if (options.help) {
      io.stdout.write(this.help());
      return EXIT_OK;
    }
    if (positionals.length > 0) {
      throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`, 'demo');
    }
    const quick = options.quick === true;
    const cfg = quick ? QUICK_CONFIG : FULL_CONFIG;
    const outDir = typeof options.out === 'string' ? path.resolve(io.cwd, options.out) : fs.mkdtempSync(path.join(os.tmpdir(), 'drainprof-demo-'));
    fs.mkdirSync(outDir, { recursive: true });
    const progress = new Progress(io, options.quiet === true);
    const result = runDemo(cfg, quick, outDir, progress);
    progress.clear();
    if (options.json === true) {
      io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      io.stdout.write(renderDemoText(result, io.cwd));
    }
    return EXIT_OK;
  },
};

export function runDemo(cfg: DemoConfig, quick: boolean, outDir: string, progress: Progress): DemoResult {
  const gc = forceGcFunction();
  const series: SeriesResult[] = [];
  for (const p of VIOLATION_FRACTIONS) {
    progress.stage(`run p = ${p}: ${cfg.epochs} epochs of ${formatBytes(cfg.granuleBytes)} granules`);
    series.push(runSeries(p, cfg, 'leaky', gc, (e) => progress.update(`p = ${p}: epoch ${e}/${cfg.epochs}`)));
  }
  const files = {
    svg: path.join(outDir, 'retained-memory.svg'),
    report: path.join(outDir, 'report.json'),
    json: path.join(outDir, 'demo.json'),
  };
  fs.writeFileSync(files.svg, renderDemoPlot(series, cfg));

  progress.stage(`diagnostic run, p = ${cfg.diagnosticP}: ${cfg.diagnosticEpochs} epochs`);
  const diagnostic = runDiagnostic(cfg, (e) => progress.update(`diagnostic: epoch ${e}/${cfg.diagnosticEpochs}`));
  fs.writeFileSync(files.report, `${JSON.stringify(diagnostic.report, null, 2)}\n`);

  progress.stage(`the fix, p = ${cfg.diagnosticP}: sessions from a long-lived pool`);
  const after = runSeries(cfg.diagnosticP, cfg, 'fixed', gc, (e) => progress.update(`fix: epoch ${e}/${cfg.epochs}`));
  const before = series.find((s) => s.p === cfg.diagnosticP) ?? null;

  const result: DemoResult = {
    format: 'drainprof-demo',
    version: 1,
    quick,
    config: { ...cfg, requestsPerEpoch: REQUESTS_PER_EPOCH, sessionBytes: SESSION_BYTES, measuredWith: MEASURED_WITH },
    series,
    diagnostic,
    fix: { before, after },
    files,
  };
  fs.writeFileSync(files.json, `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

export function renderDemoPlot(series: readonly SeriesResult[], cfg: DemoConfig): string {
  return renderLinePlot({
    title: 'Retained memory of an epoch allocator, by violation fraction p',
    subtitle: `${formatBytes(cfg.granuleBytes)} granules; every 1/p-th epoch routes one long-lived object into its granule; measured after a full GC`,
    xLabel: 'epochs (granule closes)',
    yLabel: 'retained memory (MiB)',
    yScale: 1024 * 1024,
    series: series.map((s) => ({
      label: `p = ${s.p}  (DSR ${s.dsr.toFixed(2)})`,
      points: s.points,
      data: { p: String(s.p), dsr: String(s.dsr) },
    })),
  });
}

function fmtR2(r2: number | null): string {
  return r2 === null ? '—' : r2.toFixed(3);
}

function displayPath(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

export function renderDemoText(r: DemoResult, cwd: string): string {
  const c = r.config;
  const out: string[] = [];
  out.push(`drainprof demo${r.quick ? ' (quick)' : ''}: a structural leak, measured`);
  out.push('');
  out.push(`An epoch allocator: each epoch is one ${formatBytes(c.granuleBytes)} ArrayBuffer granule. ${c.requestsPerEpoch} requests carve`);
  out.push(`${2 * c.requestsPerEpoch} buffers from it and free them before the epoch closes. Every 1/p-th epoch a login also`);
  out.push(`creates a ${c.sessionBytes} B session from the same granule, and sessions outlive the run.`);
  out.push(`Retained memory: ${c.measuredWith}.`);
  out.push('');
  out.push(`${c.epochs} epochs per run:`);
  const rows = r.series.map((s) => [
    s.p.toFixed(2),
    s.dsr.toFixed(4),
    formatBytes(s.retainedBytesAtEnd),
    `${formatBytes(s.slopeBytesPerEpoch)}/epoch`,
    fmtR2(s.r2),
    (s.slopeBytesPerEpoch / c.granuleBytes).toFixed(4),
  ]);
  out.push(
    ...table(['p', 'DSR', 'retained at end', 'slope', 'R²', 'granules/epoch'], rows, [true, true, true, true, true, true]).map((l) => `  ${l}`),
  );
  out.push('');
  out.push('granules/epoch = slope / granule size, which tracks 1 − DSR: retention ≈ (1 − DSR) × closes × granule size.');
  out.push(`Plot of the seven series: ${displayPath(r.files.svg, cwd)}`);
  out.push('');

  const d = r.diagnostic;
  out.push(`Diagnostic mode (p = ${d.p}, ${d.epochs} epochs, sessions end after ${d.sessionLifetimeEpochs} epochs): DSR ${d.dsr.toFixed(4)}, ${d.pinnedCloses} of ${d.totalCloses} closes pinned.`);
  if (d.topSite === null) {
    out.push('  diagnosticSummary() found no pinning site.');
  } else {
    const t = d.topSite;
    const root = packageRoot();
    const where = formatSite({ file: t.file, line: t.line, column: t.column }, root ?? cwd);
    out.push(`  diagnosticSummary() names the line that pins: ${where}`);
    if (t.sourceLine !== null) out.push(`    ${t.line} | ${t.sourceLine}`);
    out.push(`  ${t.totalAllocs} pinning allocations (${formatBytes(t.totalBytes)}) in ${t.pinningCount} reports; violation class ${t.violationClass}`);
  }
  out.push(`  Full report: ${displayPath(r.files.report, cwd)}  (render it with: npx drainprof report ${displayPath(r.files.report, cwd)})`);
  out.push('');

  const a = r.fix.after;
  const b = r.fix.before;
  out.push(`The fix: sessions come from a separate long-lived pool (p = ${a.p}, ${a.epochs} epochs):`);
  const fixRows: string[][] = [];
  if (b !== null) fixRows.push(['before', b.dsr.toFixed(4), formatBytes(b.retainedBytesAtEnd), `${formatBytes(b.slopeBytesPerEpoch)}/epoch`]);
  fixRows.push(['after', a.dsr.toFixed(4), formatBytes(a.retainedBytesAtEnd), `${formatBytes(a.slopeBytesPerEpoch)}/epoch`]);
  out.push(...table(['', 'DSR', 'retained at end', 'slope'], fixRows, [false, true, true, true]).map((l) => `  ${l}`));
  const sessions = Math.round(a.epochs * a.p);
  out.push(
    `  After the fix every granule closes drainable; what remains is the ${sessions} live sessions' own ${formatBytes(sessions * c.sessionBytes)}, not ${formatBytes(sessions * c.granuleBytes)} of pinned granules.`,
  );
  out.push('');
  out.push(`Files: ${displayPath(r.files.svg, cwd)}, ${displayPath(r.files.report, cwd)}, ${displayPath(r.files.json, cwd)}`);
  return `${out.join('\n')}\n`;
}
