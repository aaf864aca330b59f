// examples/native-slab builds from a copy with `npm install` (its "drainprof": "file:" dependency
// pointing at this checkout, offline; binding.gyp depends on drainprof/native's gyp target) and
// its demo shows what the example's README says.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, internal, Profiler, root } from './helpers.js';
import { nodedir, run } from './native-consumer/build.js';

const require = createRequire(import.meta.url);
const EXAMPLE = path.join(root, 'examples', 'native-slab');
const EPOCHS = 1000;
const SLAB = 64 * 1024;

interface Sample {
  label: string; epochs: number; dsr: number; totalCloses: number; pinnedCloses: number; pinnedSlabs: number;
  mappedBytes: number; rssDelta: number; reportsDelivered: number;
}
interface Phase {
  samples: Sample[];
  final: { mappedBytes: number; pinnedSlabs: number; epochs: number; sessions: number; slabsMapped: number };
  snapshot: { dsr: number; totalCloses: number; pinnedCloses: number; totalAllocs: number; totalDeallocs: number };
  reports: number;
  firstReport: { granuleId: number; pinningCount: number; size: number; site: { file: string; line: number } } | null;
  summaryTop: { site: { file: string; line: number }; violationClass: string; classCounts: Record<string, number> } | null;
  afterLogout: { sessions: number; mappedBytes: number; pinnedSlabs: number };
}

let dir: string;
let demo: { epochs: number; bug: Phase; fix: Phase };

/** The 1-based line of src/service.c holding `text`. */
function serviceLine(text: string): number {
  const lines = fs.readFileSync(path.join(EXAMPLE, 'src', 'service.c'), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(text));
  expect(i).toBeGreaterThanOrEqual(0);
  return i + 1;
}

function node(args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
  return r;
}

beforeAll(() => {
  // In the checkout (git ignores it), so that gyp's files for the linked drainprof stay inside: see
  // stage() in native-consumer/build.ts.
  dir = fs.mkdtempSync(path.join(root, '.native-test-slab-'));
  fs.cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !/[\\/](node_modules|build)$/.test(src) });
  const pkgFile = path.join(dir, 'package.json');
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
  expect(pkg.dependencies.drainprof).toBe('file:../..');
  pkg.dependencies.drainprof = `file:${root}`; // the copy is elsewhere; the same checkout
  fs.writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
  const headers = nodedir();
  const env = {
    ...process.env,
    ...(headers === undefined ? {} : { npm_config_nodedir: headers }),
    npm_config_update_notifier: 'false',
  };
  // Links drainprof without running its scripts (this checkout is built already; its `prepare`
  // would recompile dist/ under the other test files' feet), then the example's own install
  // script: node-gyp rebuild.
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], dir, env);
  run('npm', ['run', 'install'], dir, env);
  expect(fs.lstatSync(path.join(dir, 'node_modules', 'drainprof')).isSymbolicLink()).toBe(true);
  demo = JSON.parse(node(['demo.js', '--json', '--epochs', String(EPOCHS), '--epoch-micros', '300']).stdout);
}, 300_000);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('examples/native-slab demo', () => {
  it('measures DSR < 1 with sessions in the request epoch, and 1.0 after the fix', () => {
    const { bug, fix } = demo;
    expect(bug.snapshot).toMatchObject({ totalCloses: EPOCHS, pinnedCloses: EPOCHS / 10, dsr: 0.9 });
    expect(fix.snapshot).toMatchObject({ pinnedCloses: 0, dsr: 1 });
    expect(fix.snapshot.totalCloses).toBe(EPOCHS); // epoch slabs; the one session slab stays open
    // Every object the C service allocated was registered: 20 requests x 2 objects, plus the sessions.
    expect(bug.snapshot.totalAllocs).toBe(EPOCHS * 40 + EPOCHS / 10);
    expect(bug.snapshot.totalDeallocs).toBe(EPOCHS * 40);
  });

  it('retains memory that grows with the pinned slabs, then stays flat with the fix', () => {
    const { bug, fix } = demo;
    expect(bug.final).toMatchObject({ epochs: EPOCHS, pinnedSlabs: EPOCHS / 10, mappedBytes: (EPOCHS / 10) * SLAB });
    const mapped = bug.samples.map((s) => s.mappedBytes);
    expect([...mapped].sort((a, b) => a - b)).toEqual(mapped);
    for (const s of bug.samples) expect([0, SLAB]).toContain(s.mappedBytes - s.pinnedSlabs * SLAB); // + the open epoch's
    // The pages are touched, so they are resident: RSS grows by (most of) what stays mapped.
    expect(bug.samples.at(-1)!.rssDelta).toBeGreaterThan(0.5 * bug.final.mappedBytes);
    expect(bug.afterLogout).toEqual({ sessions: EPOCHS / 10, mappedBytes: 0, pinnedSlabs: 0 }); // munmap'd
    for (const s of fix.samples) expect(s.mappedBytes).toBeLessThanOrEqual(2 * SLAB);
    expect(fix.final.mappedBytes).toBe(SLAB); // one long-lived slab holds every session
    expect(fix.samples.at(-1)!.rssDelta).toBeLessThan(bug.samples.at(-1)!.rssDelta / 4);
  });

  it('gets onPinning reports for pins on the native thread while JavaScript reads snapshots', () => {
    const { bug, fix } = demo;
    const midRun = bug.samples.filter((s) => s.label !== 'done');
    expect(midRun.length).toBeGreaterThanOrEqual(2); // >= 0.3 s of epochs, sampled every 100 ms
    for (const s of midRun) {
      expect(s.epochs).toBeGreaterThan(0);
      expect(s.epochs).toBeLessThan(EPOCHS);
    }
    expect(midRun.some((s) => s.reportsDelivered > 0)).toBe(true);
    const closes = bug.samples.map((s) => s.totalCloses);
    expect([...closes].sort((a, b) => a - b)).toEqual(closes);
    expect(bug.reports).toBe(EPOCHS / 10);
    expect(fix.reports).toBe(0);
  });

  it('names the C file:line that allocates the session, in the reports and the summary', () => {
    const line = serviceLine('/* the bug: a session in the request epoch */');
    const site = { file: 'src/service.c', line, column: 0 };
    expect(demo.bug.firstReport).toEqual({ granuleId: 10, pinningCount: 1, totalAllocs: 41, size: 256, site });
    expect(demo.bug.summaryTop).toMatchObject({ site, violationClass: 'fundamental_mismatch',
      classCounts: { fundamentalMismatch: EPOCHS / 10, unresolved: 0 } });
    expect(demo.fix.summaryTop).toBeNull();
  });

  it('prints the story its README shows', () => {
    const { stdout } = node(['demo.js', '--epochs', '300', '--epoch-micros', '200']);
    const line = serviceLine('/* the bug');
    expect(stdout).toMatch(/^1\. Sessions allocated from the request epoch$/m);
    expect(stdout).toMatch(/^ {4}done {5}300 {2}0\.900 {12}30 {5}1\.9 MiB {2}\+\d/m);
    expect(stdout).toContain(`256 bytes from src/service.c:${line}\n`);
    expect(stdout).toMatch(new RegExp(`^ {4}src/service\\.c:${line} {2}fundamental_mismatch: 30 objects outlived their slab`, 'm'));
    expect(stdout).toMatch(/^ {4}done {5}300 {2}1\.000 {13}0 {6}64 KiB {2}\+/m);
    expect(stdout).toMatch(/^DSR 0\.900 -> 1\.000; mapped at the end 1\.9 MiB -> 64 KiB\.$/m);
    const readme = fs.readFileSync(path.join(EXAMPLE, 'README.md'), 'utf8');
    expect(readme).toContain(`from src/service.c:${line}\n`);
    expect(readme).toContain(`Line ${line} allocates it from the request epoch (the bug); line ${serviceLine('/* the fix')}`);
    const [header] = stdout.split('\n\n');
    expect(readme).toContain(header.replace(/300 epochs/, '2000 epochs'));
  });
});

describe('examples/native-slab in this process', () => {
  interface Slabs {
    run(o?: object): { epochs: number; mappedBytes: number };
    runOnThread(o?: object): Promise<{ epochs: number }>;
    stats(): { epochs: number };
    logoutAll(): number;
    close(): void;
  }
  let example: { SlabAllocator: new (p: Profiler) => Slabs; NativeSlab: new (handle: unknown, first?: number) => Slabs };

  beforeAll(() => {
    example = require(path.join(dir, 'index.js'));
  });

  it('refuses foreign and stale handles with a TypeError', () => {
    const p = new Profiler();
    for (const value of [undefined, {}, p, internal.nativeHandleOf(p), 'x']) {
      expectError(() => new example.NativeSlab(value), TypeError, 'ERR_INVALID_ARG_TYPE');
    }
    const handle = p.nativeHandle();
    p.destroy();
    expectError(() => new example.NativeSlab(handle), TypeError, 'ERR_INVALID_ARG_VALUE');
    expectError(() => new example.SlabAllocator(p), Error, 'ERR_PROFILER_DESTROYED');
  });

  it('keeps its profiler after JavaScript destroy()s it, until close()', async () => {
    const liveCores = (): number => internal.binding.testHooks.liveCores();
    const before = liveCores();
    const p = new Profiler({ mode: 'diagnostic' });
    const slabs = new example.SlabAllocator(p);
    slabs.run({ epochs: 20 });
    p.destroy();
    expect(liveCores()).toBe(before + 1);
    expect((await slabs.runOnThread({ epochs: 30 })).epochs).toBe(50); // still counting, on another thread
    expect(slabs.logoutAll()).toBe(5);
    slabs.close();
    expect(liveCores()).toBe(before);
    slabs.close(); // idempotent
    expect(() => slabs.run()).toThrow(/closed/);
  });

  it('stops its native thread on close(), and the promise still settles', async () => {
    const p = new Profiler();
    const slabs = new example.SlabAllocator(p);
    const running = slabs.runOnThread({ epochs: 1_000_000, epochMicros: 100 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    slabs.close(); // joins the thread after its current epoch, unmaps every slab, releases p
    const stats = await running;
    expect(stats.epochs).toBeGreaterThan(0);
    expect(stats.epochs).toBeLessThan(1_000_000);
    expect(p.snapshot().totalCloses).toBeGreaterThanOrEqual(stats.epochs);
    p.destroy();
  });

  it('exits cleanly while its native thread runs', () => {
    for (const end of ['process.exit(0)', 'profiler.destroy()']) {
      node(['-e', `const { Profiler } = require('drainprof');
        const { SlabAllocator } = require('./index.js');
        const profiler = new Profiler({ mode: 'diagnostic', onPinning: () => {} });
        const slabs = new SlabAllocator(profiler);
        slabs.runOnThread({ epochs: 1e9, epochMicros: 50 });
        setTimeout(() => { ${end}; ${end.startsWith('process') ? '' : 'setTimeout(() => process.exit(0), 50);'} }, 100);`]);
    }
  });
});
