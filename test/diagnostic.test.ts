// Diagnostic mode from JS: automatic and explicit sites, reports, summaries, lifetime records.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Profiler, STORAGES, expectCleanExit, root, runNode } from './helpers.js';

const thisFile = fileURLToPath(import.meta.url);

describe.each(STORAGES)('diagnostic / %s', (storage) => {
  const make = (extra: object = {}) => new Profiler({ mode: 'diagnostic', storage, ...extra });

  it('records the caller\'s file automatically, never a file of lib/', () => {
    // Exact lines and columns are checked in test/fixtures/sites.mjs, which
    // runs untransformed; vitest rewrites this file, so only the file is stable here.
    const p = make();
    const register = p.allocRegister.bind(p);
    const helper = (id: number) => p.allocRegister(1, id, 1);
    p.granuleOpen(1);
    p.allocRegister(1, 1, 32);
    register(1, 2, 1);
    helper(3);
    p.granuleClose(1);
    const sites = p.drainReports()[0]!.pinningAllocs.map((a) => a.site!);
    expect(sites.map((s) => s.file)).toEqual([thisFile, thisFile, thisFile]);
    expect(new Set(sites.map((s) => s.line)).size).toBe(3);
    for (const site of sites) {
      expect(site.line).toBeGreaterThan(0);
      expect(site.column).toBeGreaterThan(0);
      expect(Object.isFrozen(site)).toBe(true);
    }
    p.destroy();
  });

  it('takes explicit sites as strings and objects', () => {
    const p = make();
    p.granuleOpen(1);
    p.allocRegister(1, 1, 1, 'src/pool.js:12:5');
    p.allocRegister(1, 2, 1, 'src/pool.js:13');
    p.allocRegister(1, 3, 1, 'just-a-name');
    p.allocRegister(1, 4, 1, 'C:\\dir\\f.js:1:2');
    p.allocRegister(1, 5, 1, { file: 'obj.js', line: 9, column: 3 });
    p.allocRegister(1, 6, 1, { file: 'obj.js', line: 10 });
    p.granuleClose(1);
    expect(p.drainReports()[0]!.pinningAllocs.map((a) => a.site)).toEqual([
      { file: 'src/pool.js', line: 12, column: 5 },
      { file: 'src/pool.js', line: 13, column: 0 },
      { file: 'just-a-name', line: 0, column: 0 },
      { file: 'C:\\dir\\f.js', line: 1, column: 2 },
      { file: 'obj.js', line: 9, column: 3 },
      { file: 'obj.js', line: 10, column: 0 },
    ]);
    p.destroy();
  });

  it('parses each site string once, and stays right past the parse cache size', () => {
    const p = make();
    p.granuleOpen(1);
    for (let i = 0; i < 5000; i++) p.allocRegister(1, i, 1, `f${i % 4500}.js:${i}:${i % 7}`);
    for (let i = 0; i < 3; i++) p.allocRegister(1, 9000 + i, 1, 'same.js:1:2');
    p.granuleClose(1);
    const sites = p.drainReports()[0]!.pinningAllocs.map((a) => a.site);
    expect(sites).toHaveLength(5003);
    sites.slice(0, 5000).forEach((site, i) => expect(site).toEqual({ file: `f${i % 4500}.js`, line: i, column: i % 7 }));
    expect(sites.slice(5000)).toEqual(Array(3).fill({ file: 'same.js', line: 1, column: 2 }));
    p.destroy();
  });

  it('builds frozen pinning reports with bigint ids and instants', () => {
    const p = make();
    const t0 = process.hrtime.bigint();
    p.granuleOpen(2n ** 64n - 1n);
    p.allocRegister(2n ** 64n - 1n, 10, 100, 'a.js:1:1');
    p.allocRegister(2n ** 64n - 1n, 11, 200, 'a.js:2:1');
    p.allocRegister(2n ** 64n - 1n, 12, 300, 'b.js:1:1');
    p.allocDeregister(2n ** 64n - 1n, 11);
    expect(p.granuleClose(2n ** 64n - 1n)).toBe(false);
    const t1 = process.hrtime.bigint();
    const reports = p.drainReports();
    expect(reports).toHaveLength(1);
    const r = reports[0]!;
    expect(Object.isFrozen(r) && Object.isFrozen(r.pinningAllocs) && Object.isFrozen(r.pinningAllocs[0])).toBe(true);
    expect(r).toMatchObject({ granuleId: 2n ** 64n - 1n, pinningCount: 2, totalAllocs: 3, drainedAllocs: 1 });
    expect(t0 <= r.openTimeNs && r.openTimeNs <= r.closeTimeNs && r.closeTimeNs <= t1).toBe(true);
    expect(r.pinningAllocs.map((a) => [a.allocId, a.size, a.lifetimeDeltaSec])).toEqual([[10n, 100, -1], [12n, 300, -1]]);
    for (const a of r.pinningAllocs) expect(r.openTimeNs <= a.allocTimeNs && a.allocTimeNs <= r.closeTimeNs).toBe(true);
    expect(p.drainReports()).toEqual([]); // consumed
    p.destroy();
  });

  it('drains up to max, oldest first, and drops the oldest past maxBufferedReports', () => {
    const p = make({ maxBufferedReports: 3 });
    for (let g = 1; g <= 5; g++) {
      p.granuleOpen(g);
      p.allocRegister(g, g, 1);
      p.granuleClose(g);
    }
    expect(p.snapshot().droppedReports).toBe(2);
    expect(p.drainReports(0)).toEqual([]);
    expect(p.drainReports(2).map((r) => r.granuleId)).toEqual([3n, 4n]);
    expect(p.drainReports().map((r) => r.granuleId)).toEqual([5n]);
    p.destroy();
    const none = make({ maxBufferedReports: 0 });
    none.granuleOpen(1);
    none.allocRegister(1, 1, 1);
    none.granuleClose(1);
    expect(none.drainReports()).toEqual([]);
    expect(none.snapshot().droppedReports).toBe(1);
    none.destroy();
  });

  it('runs the diagnostic-summary example: sites ranked by pinning', () => {
    const p = make();
    for (let g = 1; g <= 3; g++) {
      p.granuleOpen(g);
      p.allocRegister(g, 1, 64, 'cache.js:10:3'); // leaks in every granule
      if (g === 1) p.allocRegister(g, 2, 4096, 'session.js:20:7'); // leaks once, big
      p.allocRegister(g, 3, 8, 'tmp.js:5:1');
      p.allocDeregister(g, 3);
      p.granuleClose(g);
    }
    const summary = p.diagnosticSummary();
    expect(Object.isFrozen(summary) && Object.isFrozen(summary.sites)).toBe(true);
    expect(summary).toMatchObject({ totalPinningAllocs: 4, reportsAnalyzed: 3, lifetimeRecordsAnalyzed: 0 });
    expect(summary.sites.map((s) => [s.site, s.pinningCount, s.totalAllocs, s.totalBytes, s.violationClass])).toEqual([
      [{ file: 'cache.js', line: 10, column: 3 }, 3, 3, 192, 'unresolved'],
      [{ file: 'session.js', line: 20, column: 7 }, 1, 1, 4096, 'unresolved'],
    ]);
    expect(summary.sites[0]!.classCounts).toEqual({ unresolved: 3, nearMiss: 0, moderate: 0, fundamentalMismatch: 0 });
    expect(p.textReport()).toMatch(/cache\.js:10:3/);
    expect(p.drainReports()).toHaveLength(3); // the summary consumed nothing
    p.destroy();
  });

  it('records lifetime deltas of pins freed after close and classifies them', async () => {
    const p = make({ lifetimeLimit: 8 });
    p.granuleOpen(1);
    p.allocRegister(1, 5, 50, 'late.js:1:1');
    await new Promise((r) => setTimeout(r, 5));
    p.granuleClose(1); // pinned by alloc 5
    p.allocDeregister(1, 5); // freed right after the close: a near miss of a 5 ms granule
    const records = p.lifetimeRecords();
    expect(records).toHaveLength(1);
    const rec = records[0]!;
    expect(Object.isFrozen(rec)).toBe(true);
    expect(rec).toMatchObject({ granuleId: 1n, allocId: 5n, size: 50, site: { file: 'late.js', line: 1, column: 1 } });
    expect(rec.granuleLifetimeSec).toBeGreaterThan(0);
    expect(rec.lifetimeDeltaSec).toBeGreaterThanOrEqual(0);
    expect(['near_miss', 'moderate', 'fundamental_mismatch']).toContain(rec.violationClass);
    expect(p.lifetimeRecords(0)).toEqual([]);
    expect(p.snapshot().lifetimeRecords).toBe(1);
    const site = p.diagnosticSummary().sites.find((s) => s.site?.file === 'late.js')!;
    expect(site.violationClass).toBe(rec.violationClass);
    p.destroy();
  });

  it('keeps interned file names valid after reset and across many files', () => {
    const p = make();
    p.granuleOpen(1);
    for (let i = 0; i < 500; i++) p.allocRegister(1, i, 1, `file${i}.js:${i + 1}:1`);
    p.reset();
    p.granuleOpen(1);
    p.allocRegister(1, 1, 1, 'file7.js:8:1');
    p.granuleClose(1);
    expect(p.drainReports()[0]!.pinningAllocs[0]!.site).toEqual({ file: 'file7.js', line: 8, column: 1 });
    p.destroy();
  });
});

describe('site capture in module formats', () => {
  it('gives a path for ES modules and CommonJS files', () => {
    const result = runNode(['test/fixtures/sites.mjs']);
    expectCleanExit(result);
    const sites = JSON.parse(result.stdout) as { file: string; line: number; column: number }[];
    const mjs = expect.stringMatching(/^\/.*test\/fixtures\/sites\.mjs$/);
    expect(sites).toEqual([
      { file: mjs, line: 8, column: 1 },
      { file: mjs, line: 9, column: 5 },
      { file: mjs, line: 6, column: 26 },
      { file: expect.stringMatching(/^\/.*test\/fixtures\/sites-cjs\.cjs$/), line: 4, column: 7 },
    ]);
  });

  it('maps captured positions through source maps when Node has them enabled', () => {
    const ts = createRequire(import.meta.url)('typescript') as typeof import('typescript');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drainprof-sourcemap-'));
    try {
      const source = [
        'interface Alloc { id: number }', // type-only lines vanish from the output
        'declare const require: (s: string) => any;',
        `const { Profiler } = require(${JSON.stringify(root)});`,
        'const p = new Profiler({ mode: "diagnostic" });',
        'p.granuleOpen(1);',
        'const a: Alloc = { id: 1 };',
        '    p.allocRegister(1, a.id, 8);', // line 7, the called name at column 7
        'p.granuleClose(1);',
        'console.log(JSON.stringify(p.drainReports()[0].pinningAllocs[0].site));',
      ].join('\n');
      const out = ts.transpileModule(source, {
        fileName: 'pool.ts',
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, inlineSourceMap: true },
      });
      fs.writeFileSync(path.join(dir, 'pool.js'), out.outputText);
      const mapped = runNode(['--enable-source-maps', path.join(dir, 'pool.js')]);
      expectCleanExit(mapped);
      expect(JSON.parse(mapped.stdout)).toEqual({ file: path.join(dir, 'pool.ts'), line: 7, column: 7 });
      const raw = runNode([path.join(dir, 'pool.js')]);
      expectCleanExit(raw);
      expect(JSON.parse(raw.stdout)).toMatchObject({ file: path.join(dir, 'pool.js') });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
