import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from './helpers';

const P = [0, 0.01, 0.05, 0.1, 0.25, 0.5, 1];

interface Series {
  p: number;
  epochs: number;
  totalCloses: number;
  pinnedCloses: number;
  dsr: number;
  slopeBytesPerEpoch: number;
  r2: number | null;
  retainedBytesAtEnd: number;
  points: [number, number][];
}

describe('drainprof demo --quick', () => {
  let dir: string;
  let json: CliResult;
  let text: CliResult;
  let result: {
    format: string;
    quick: boolean;
    config: { epochs: number; granuleBytes: number; sessionBytes: number };
    series: Series[];
    diagnostic: {
      p: number;
      dsr: number;
      topSite: { file: string; line: number; sourceLine: string; violationClass: string; totalAllocs: number } | null;
    };
    fix: { before: Series; after: Series };
    files: { svg: string; report: string; json: string };
  };

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drainprof-demo-test-'));
    json = runCli(['demo', '--quick', '--json', '--out', path.join(dir, 'json')]);
    text = runCli(['demo', '--quick', '--out', path.join(dir, 'text')]);
    result = JSON.parse(json.stdout);
  }, 120_000);

  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('exits 0; --json prints only JSON on stdout, progress goes to stderr', () => {
    expect(json.code, json.stderr).toBe(0);
    expect(text.code, text.stderr).toBe(0);
    expect(result.format).toBe('drainprof-demo');
    expect(result.quick).toBe(true);
    // stderr is not a TTY here: one plain line per stage.
    expect(json.stderr).toContain('drainprof: run p = 0.25');
    expect(json.stderr).toContain('drainprof: diagnostic run');
    expect(json.stderr).not.toContain('\r');
  });

  it('runs all seven fractions with DSR exactly 1 - p', () => {
    expect(result.series.map((s) => s.p)).toEqual(P);
    for (const s of result.series) {
      expect(s.totalCloses).toBe(result.config.epochs);
      expect(s.pinnedCloses).toBe(Math.round(s.p * s.epochs));
      expect(s.dsr).toBeCloseTo(1 - s.p, 12);
    }
  });

  it('measures flat memory at p = 0 and growth at every p > 0, steeper with p', () => {
    const [zero, ...rest] = result.series;
    expect(zero.points.every(([, bytes]) => bytes === 0)).toBe(true);
    expect(zero.slopeBytesPerEpoch).toBe(0);
    expect(zero.r2).toBeNull();
    let previous = 0;
    for (const s of rest) {
      expect(s.slopeBytesPerEpoch).toBeGreaterThan(previous);
      previous = s.slopeBytesPerEpoch;
      // Each pinned close keeps one granule: what the process holds at the end is that much.
      const pinnedBytes = s.pinnedCloses * result.config.granuleBytes;
      expect(s.retainedBytesAtEnd).toBeGreaterThanOrEqual(pinnedBytes * 0.9);
      expect(s.retainedBytesAtEnd).toBeLessThanOrEqual(pinnedBytes * 1.1 + result.config.granuleBytes);
      expect(s.r2).not.toBeNull();
    }
    // From p = 0.05 up the growth is a near-perfect line of slope p x granule size.
    for (const s of rest.filter((x) => x.p >= 0.05)) {
      expect(s.slopeBytesPerEpoch / result.config.granuleBytes).toBeGreaterThan(s.p * 0.85);
      expect(s.slopeBytesPerEpoch / result.config.granuleBytes).toBeLessThan(s.p * 1.15);
      expect(s.r2!).toBeGreaterThan(0.95);
    }
  });

  it('prints the table: one row per p with DSR, slope and R²', () => {
    const out = text.stdout;
    expect(out).toMatch(/p\s+DSR\s+retained at end\s+slope\s+R²/);
    for (const p of P) {
      const row = new RegExp(`^\\s+${p.toFixed(2).replace('.', '\\.')}\\s+${(1 - p).toFixed(4).replace('.', '\\.')}\\s+\\S+ (B|KiB|MiB)\\s+\\S+ (B|KiB|MiB)/epoch\\s+(—|\\d\\.\\d{3})`, 'm');
      expect(out).toMatch(row);
    }
  });

  it('writes an SVG with seven series, axes and a legend, and prints its path', () => {
    for (const [r, outDir] of [[json, 'json'], [text, 'text']] as const) {
      const svgPath = path.join(dir, outDir, 'retained-memory.svg');
      expect(fs.existsSync(svgPath)).toBe(true);
      const svg = fs.readFileSync(svgPath, 'utf8');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      const series = [...svg.matchAll(/<path class="series" data-p="([^"]+)"/g)].map((m) => Number(m[1]));
      expect([...series].sort((a, b) => a - b)).toEqual(P);
      expect(svg).toContain('class="legend"');
      expect(svg).toContain('class="tick-labels"');
      expect(svg).toContain('retained memory (MiB)');
      if (r === text) expect(r.stdout).toContain(svgPath);
    }
    expect(result.files.svg).toBe(path.join(dir, 'json', 'retained-memory.svg'));
  });

  it('names the source line that routes the long-lived object into the epoch granule', () => {
    const top = result.diagnostic.topSite;
    expect(top).not.toBeNull();
    const lineText = fs.readFileSync(top!.file, 'utf8').split('\n')[top!.line - 1];
    expect(lineText).toMatch(/arena\.alloc\([\w.]*SESSION_BYTES\)/);
    expect(top!.sourceLine).toBe(lineText.trim());
    expect(top!.totalAllocs).toBeGreaterThan(0);
    expect(['unresolved', 'near_miss', 'moderate', 'fundamental_mismatch']).toContain(top!.violationClass);
    expect(result.diagnostic.dsr).toBeCloseTo(1 - result.diagnostic.p, 12);
    expect(text.stdout).toMatch(new RegExp(`names the line that pins: \\S*demo-workload\\.js:${top!.line}:\\d+`));
    expect(text.stdout).toContain(`${top!.line} | ${top!.sourceLine}`);
  });

  it('saves the diagnostic report where `drainprof report` renders it', () => {
    const r = runCli(['report', result.files.report]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/demo-workload\.js:\d+/);
    expect(r.stdout).toContain('DSR 90.0%');
  });

  it('shows the fix: DSR 1 and no more granule retention', () => {
    const { before, after } = result.fix;
    expect(after.p).toBe(before.p);
    expect(after.dsr).toBe(1);
    expect(after.pinnedCloses).toBe(0);
    // What is left is the sessions' own bytes, far below one granule per session.
    const sessions = Math.round(after.p * after.epochs);
    expect(after.retainedBytesAtEnd).toBeLessThanOrEqual(sessions * result.config.sessionBytes * 2);
    expect(after.slopeBytesPerEpoch).toBeLessThan(before.slopeBytesPerEpoch / 50);
    expect(text.stdout).toMatch(/after\s+1\.0000/);
  });
});
