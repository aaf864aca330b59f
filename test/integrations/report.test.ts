import { afterEach, describe, expect, it } from 'vitest';
import { Profiler } from '../../lib/index.js';
import {
  REPORT_FORMAT,
  REPORT_VERSION,
  buildDiagnosticReport,
  formatBytes,
  formatDiagnosticReport,
  parseDiagnosticReport,
  toFoldedStacks,
} from '../../lib/integrations/report.js';
import { EXPECTED, SITE_REQUEST, SITE_SESSION, knownWorkload } from './workload';

describe('diagnostic reports built from a profiler', () => {
  const profilers: Profiler[] = [];
  const make = (mode: 'production' | 'diagnostic'): Profiler => {
    const p = new Profiler({ mode });
    profilers.push(p);
    return p;
  };
  afterEach(() => {
    for (const p of profilers.splice(0)) p.destroy();
  });

  it('holds the snapshot and the summary sites, JSON-serialisable and versioned', () => {
    const profiler = make('diagnostic');
    knownWorkload(profiler);
    const report = buildDiagnosticReport(profiler, { labels: { service: 'test' } });
    expect(report.format).toBe(REPORT_FORMAT);
    expect(report.version).toBe(REPORT_VERSION);
    expect(report.mode).toBe('diagnostic');
    expect(report.labels).toEqual({ service: 'test' });
    expect(Number.isNaN(Date.parse(report.createdAt))).toBe(false);
    expect(report.snapshot).toMatchObject(EXPECTED);
    expect(report.snapshot.timestampNs).toMatch(/^\d+$/);
    expect(report.summary).toEqual({
      totalPinningAllocs: 3,
      reportsAnalyzed: 3,
      lifetimeRecordsAnalyzed: 0,
      omittedSites: 0,
      sites: [
        {
          site: SITE_SESSION,
          pinningCount: 3,
          totalAllocs: 3,
          totalBytes: 300,
          classCounts: { unresolved: 3, nearMiss: 0, moderate: 0, fundamentalMismatch: 0 },
          violationClass: 'unresolved',
        },
      ],
    });
    // Plain data: survives JSON and reads back identical.
    const text = JSON.stringify(report);
    expect(parseDiagnosticReport(text)).toEqual(report);
    expect(parseDiagnosticReport(JSON.parse(text))).toEqual(report);
    // Building a report consumes nothing.
    expect(profiler.drainReports()).toHaveLength(3);
  });

  it('classifies a pinning allocation once it is freed after its granule closed', () => {
    const profiler = make('diagnostic');
    knownWorkload(profiler);
    profiler.allocDeregister(8, 24); // granule 8's third allocation: 3 * 8
    const site = buildDiagnosticReport(profiler).summary!.sites[0];
    expect(site.site).toEqual(SITE_SESSION);
    expect(site.classCounts.unresolved).toBe(2);
    expect(site.classCounts.nearMiss + site.classCounts.moderate + site.classCounts.fundamentalMismatch).toBe(1);
    expect(site.violationClass).not.toBe('unresolved');
  });

  it('has no summary for a production profiler, and says why in text', () => {
    const profiler = make('production');
    knownWorkload(profiler);
    const report = buildDiagnosticReport(profiler);
    expect(report.mode).toBe('production');
    expect(report.summary).toBeNull();
    expect(report.snapshot).toMatchObject(EXPECTED);
    const text = formatDiagnosticReport(report);
    expect(text).toContain('DSR 70.0%: 7 drainable + 3 pinned = 10 closes');
    expect(text).toContain('production mode (counters only)');
    expect(toFoldedStacks(report)).toBe('');
  });

  it('renders text with top sites, bytes and class, and folded stacks', () => {
    const profiler = make('diagnostic');
    knownWorkload(profiler);
    // A second pinning site so the order shows.
    profiler.granuleOpen(100);
    profiler.allocRegister(100, 1000, 4096, SITE_REQUEST);
    profiler.granuleClose(100);
    const report = buildDiagnosticReport(profiler);
    const text = formatDiagnosticReport(report);
    expect(text).toMatch(/^\s+1\s+\/app\/session\.js:12:5\s+3\s+3\s+300 B\s+unresolved$/m);
    expect(text).toMatch(/^\s+2\s+\/app\/request\.js:30:9\s+1\s+1\s+4\.0 KiB\s+unresolved$/m);
    expect(toFoldedStacks(report)).toBe('/app/session.js:12:5 300\n/app/request.js:30:9 4096\n');
    expect(toFoldedStacks(report, { weight: 'reports', relativeTo: '/app' })).toBe('session.js:12:5 3\nrequest.js:30:9 1\n');
    const one = buildDiagnosticReport(profiler, { maxSites: 1 });
    expect(one.summary!.sites).toHaveLength(1);
    expect(one.summary!.omittedSites).toBe(1);
    expect(formatDiagnosticReport(one)).toContain('Top pinning sites (1 of 2;');
  });

  it('rejects bad options with coded errors', () => {
    const profiler = make('diagnostic');
    expect(() => buildDiagnosticReport(profiler, { maxSites: -1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => buildDiagnosticReport(profiler, { labels: { a: 1 as unknown as string } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });

  it('formats bytes with binary units', () => {
    expect([0, 512, 1023, 1024, 1536, 1048576, 5 * 2 ** 30].map(formatBytes)).toEqual([
      '0 B', '512 B', '1023 B', '1.0 KiB', '1.5 KiB', '1.0 MiB', '5.0 GiB',
    ]);
  });
});
