// Native handles: another addon, built against `drainprof/native` and written against drainprof.h,
// counts into the profiler JavaScript created (test/native-consumer/ is that addon).
// C programs outside Node (`make -C vendor/libdrainprof install PREFIX=...`, then a plain 0.1
// program built against the prefix, shared and static) are tested by the C suite's check-install
// target, which `npm test` runs (test:c -> make check).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCleanExit, expectError, internal, Profiler, root, tick } from './helpers.js';
import { nodeGypRebuild, stage, type Built } from './native-consumer/build.js';

const require = createRequire(import.meta.url);
const SOURCES = path.join(root, 'test', 'native-consumer');

interface Consumer {
  acquire(handle: unknown): number;
  release(slot: number): void;
  count(slot: number, firstGranule: number, granules: number, allocs: number, pinEvery: number): [number, number, number];
  startThread(slot: number, firstGranule: number, granules: number, allocs: number, pinEvery: number, pauseMicros: number): void;
  threadDone(): boolean;
  joinThread(): [number, number, number];
  /** [total, drainable, pinned, dsr, open, peak, allocs, deallocs, failedRegisters, failedDeregisters] */
  snapshot(slot: number): number[];
  closeMissing(slot: number): [number, string];
  destroyShared(slot: number): void;
  summaryTop(slot: number): string | null;
  standalone(): [number, number];
  unacquired(): [number, number, number, string, number];
  forge(kind: string, real?: unknown): object;
  cppRegister(slot: number, granule: number, alloc: number): number;
  tableGaps(handle: unknown): [number, number];
}

/** The 1-based line of `source` that contains `text`. */
function lineOf(file: string, text: string): number {
  const lines = fs.readFileSync(path.join(SOURCES, file), 'utf8').split('\n');
  const index = lines.findIndex((l) => l.includes(text));
  expect(index, `${file} contains ${text}`).toBeGreaterThanOrEqual(0);
  return index + 1;
}

/** C's view of a snapshot, in JS snapshot field names. */
function fromC(c: number[]): Record<string, number> {
  const [totalCloses, drainableCloses, pinnedCloses, dsr, openGranules, peakOpenGranules, totalAllocs, totalDeallocs,
    failedRegisters, failedDeregisters] = c;
  return { totalCloses, drainableCloses, pinnedCloses, dsr, openGranules, peakOpenGranules, totalAllocs, totalDeallocs,
    failedRegisters, failedDeregisters };
}

function fromJs(p: Profiler): Record<string, number> {
  const s = p.snapshot();
  return { totalCloses: s.totalCloses, drainableCloses: s.drainableCloses, pinnedCloses: s.pinnedCloses, dsr: s.dsr,
    openGranules: s.openGranules, peakOpenGranules: s.peakOpenGranules, totalAllocs: s.totalAllocs,
    totalDeallocs: s.totalDeallocs, failedRegisters: s.failedRegisters, failedDeregisters: s.failedDeregisters };
}

let built: Built;
let addonPath: string;
let consumer: Consumer;

/** Runs `code` (CommonJS) in a child node with `consumer` and `drainprof` loaded. */
function child(code: string, flags: string[] = []): ReturnType<typeof spawnSync> & { stdout: string; stderr: string } {
  const prelude = `const consumer = require(${JSON.stringify(addonPath)});
    const { Profiler } = require(${JSON.stringify(path.join(root, 'dist', 'index.js'))});
    const { binding } = require(${JSON.stringify(path.join(root, 'dist', 'internal.js'))});\n`;
  return spawnSync(process.execPath, [...flags, '-e', prelude + code], { cwd: built.dir, encoding: 'utf8', timeout: 120_000 });
}

beforeAll(() => {
  built = stage('consumer-', SOURCES, ['binding.gyp', 'consumer.c', 'consumer_cc.cc']);
  nodeGypRebuild(built.dir);
  addonPath = path.join(built.dir, 'build', 'Release', 'consumer.node');
  consumer = require(addonPath) as Consumer;
}, 240_000);

afterAll(() => built?.remove());

describe('drainprof/native', () => {
  it('names the headers, the gyp target and the shim, without loading the binary', () => {
    const code = `const native = require('drainprof/native');
      const loaded = Object.keys(require.cache).filter((f) => f.endsWith('.node') || /binding|index\\.js$/.test(f));
      console.log(JSON.stringify({ native, loaded }));`;
    const r = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8' }); // resolves by self-reference
    expect(r.stderr).toBe('');
    const { native, loaded } = JSON.parse(r.stdout);
    expect(loaded).toEqual([]);
    for (const header of ['drainprof.h', 'drainprof_ext.h', 'drainprof_node.h']) {
      expect(fs.existsSync(path.join(native.include_dir, header)), header).toBe(true);
    }
    const [gypFile, target] = native.gyp.split(/:(?=[^:]+$)/);
    expect(target).toBe('drainprof_node');
    expect(fs.readFileSync(gypFile, 'utf8')).toMatch(/"target_name": "drainprof_node",\s*"type": "static_library"/);
    expect(native.sources).toEqual(['native/consumer/drainprof_node_shim.c']); // relative to the working directory
    const header = fs.readFileSync(path.join(native.include_dir, 'drainprof_node.h'), 'utf8');
    expect(Number(/#define DRAINPROF_NODE_ABI_VERSION (\d+)/.exec(header)?.[1])).toBe(native.abi_version);
  });

  it('is the same from ES modules and in package.json "exports"', async () => {
    const esm = await import(path.join(root, 'dist', 'native.mjs'));
    const cjs = require(path.join(root, 'dist', 'native.js'));
    expect(esm.gyp).toBe(cjs.gyp);
    expect(esm.default.include_dir).toBe(cjs.include_dir);
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(pkg.exports['./native']).toEqual({
      import: { types: './dist/native.d.mts', default: './dist/native.mjs' },
      require: { types: './dist/native.d.ts', default: './dist/native.js' },
    });
    for (const shipped of ['native/consumer/include/drainprof_node.h', 'native/consumer/drainprof_node_shim.c',
      'native/consumer/drainprof_node.gyp', 'vendor/libdrainprof/include/drainprof.h']) {
      expect(pkg.files.some((f: string) => shipped.startsWith(f)), shipped).toBe(true);
    }
  });

  it('defines every function of drainprof.h and drainprof_ext.h in the shim, through a full table', () => {
    const read = (f: string): string => fs.readFileSync(path.join(root, f), 'utf8');
    const declared = (text: string): string[] =>
      [...text.matchAll(/^(?!typedef|static|#)[a-z_][\w *]*?\b(drainprof_\w+)\s*\(/gm)].map((m) => m[1]);
    const api = [...declared(read('vendor/libdrainprof/include/drainprof.h')),
      ...declared(read('vendor/libdrainprof/include/drainprof_ext.h'))].sort();
    expect(api.length).toBeGreaterThanOrEqual(30);
    const shim = declared(read('native/consumer/drainprof_node_shim.c')).filter((f) => !f.startsWith('drainprof_node_'));
    expect(shim.sort()).toEqual(api);
    const header = read('native/consumer/include/drainprof_node.h');
    const table = header.slice(header.indexOf('typedef struct drainprof_node_api {'), header.indexOf('} drainprof_node_api;'));
    const fields = [...table.matchAll(/\(\*(\w+)\)\(/g)].map((m) => m[1]);
    expect(fields.slice(0, 2)).toEqual(['acquire', 'release']);
    expect(fields.slice(2).map((f) => `drainprof_${f}`).sort()).toEqual(api);
    const provider = read('native/export_handle.cc');
    for (const f of fields) expect(provider, f).toMatch(new RegExp(`\\bt\\.${f} = `));
    const p = new Profiler();
    expect(consumer.tableGaps(p.nativeHandle())).toEqual([fields.length, 0]); // as built, no NULL entry
    p.destroy();
  });

  it('builds a shim that exports nothing from the dependent addon', () => {
    const nm = spawnSync('nm', ['-D', '--defined-only', addonPath], { encoding: 'utf8' });
    if (nm.error) return; // no binutils here: nothing to inspect
    expect(nm.stdout).not.toMatch(/drainprof/);
    expect(nm.stdout).toMatch(/napi_register_module_v1/);
  });
});

describe('before the first acquire', () => {
  it('answers as for a NULL profiler, never through a null pointer', () => {
    const r = child('console.log(JSON.stringify(consumer.unacquired()));');
    expectCleanExit(r);
    // create() NULL, open -1, last error DRAINPROF_EXT_ERR_NULL, names "UNKNOWN", config untouched
    expect(JSON.parse(r.stdout)).toEqual([1, -1, 1, 'UNKNOWN', 1]);
  });
});

describe('one profiler for JavaScript and C', () => {
  it('lands C calls in the profiler JavaScript reads, with the C sites', () => {
    const p = new Profiler({ mode: 'diagnostic' });
    const slot = consumer.acquire(p.nativeHandle());
    try {
      expect(consumer.count(slot, 1, 10, 3, 5)).toEqual([8, 2, 0]);
      expect(fromJs(p)).toEqual(fromC(consumer.snapshot(slot)));
      expect(p.snapshot()).toMatchObject({ totalCloses: 10, pinnedCloses: 2, dsr: 0.8, totalAllocs: 30, totalDeallocs: 28 });
      const registerLine = lineOf('consumer.c', 'DRAINPROF_ALLOC_REGISTER(w->prof');
      expect(p.diagnosticSummary().sites[0].site).toEqual({ file: 'consumer.c', line: registerLine, column: 0 });
      expect(consumer.summaryTop(slot)).toBe(`consumer.c:${registerLine}`);
      const reports = p.drainReports();
      expect(reports.map((r) => r.granuleId)).toEqual([5n, 10n]);
      for (const r of reports) expect(r.pinningAllocs[0].site).toEqual({ file: 'consumer.c', line: registerLine, column: 0 });

      // A granule JavaScript opens, an allocation C++ registers (DRAINPROF_ALLOC_REGISTER), a close from JavaScript.
      p.granuleOpen(1000);
      expect(consumer.cppRegister(slot, 1000, 1)).toBe(0);
      expect(p.granuleClose(1000)).toBe(false);
      const [cpp] = p.drainReports();
      expect(cpp.pinningAllocs[0].site).toEqual({ file: 'consumer_cc.cc', line: lineOf('consumer_cc.cc', 'return DRAINPROF_ALLOC_REGISTER'), column: 0 });
      expect(cpp.pinningAllocs[0].size).toBe(32);

      // The reason of a failed call is the core's, per thread, read through the shim.
      expect(consumer.closeMissing(slot)).toEqual([-1, 'NOT_OPEN']);
    } finally {
      consumer.release(slot);
      p.destroy();
    }
  });

  it('counts exactly when a native thread and JavaScript count at the same time', () => {
    const p = new Profiler({ slotCapacity: 64 });
    const slot = consumer.acquire(p.nativeHandle());
    // C: 4000 granules of 250 allocations (1 000 000 registers), every 7th pinned.
    consumer.startThread(slot, 1_000_000, 4000, 250, 7, 0);
    let jsPinned = 0;
    let reads = 0;
    for (let g = 1; g <= 2000; g++) {
      p.granuleOpen(g);
      for (let a = 1; a <= 50; a++) p.allocRegister(g, a, 16);
      for (let a = 1; a <= (g % 3 === 0 ? 49 : 50); a++) p.allocDeregister(g, a);
      if (!p.granuleClose(g)) jsPinned++;
      const s = p.snapshot();
      expect(s.totalCloses).toBe(s.drainableCloses + s.pinnedCloses);
      reads++;
    }
    const [cDrainable, cPinned, cFailed] = consumer.joinThread();
    expect(cFailed).toBe(0);
    expect(cPinned).toBe(Math.floor(4000 / 7));
    expect(jsPinned).toBe(666);
    const s = p.snapshot();
    expect(s.totalCloses).toBe(6000);
    expect(s.pinnedCloses).toBe(cPinned + jsPinned);
    expect(s.drainableCloses).toBe(cDrainable + 2000 - jsPinned);
    expect(s.totalAllocs).toBe(4000 * 250 + 2000 * 50);
    expect(s.totalDeallocs).toBe(4000 * 250 - cPinned + 2000 * 50 - jsPinned);
    expect(s.openGranules).toBe(0);
    expect(fromC(consumer.snapshot(slot))).toEqual(fromJs(p));
    expect(reads).toBe(2000);
    consumer.release(slot);
    p.destroy();
  });

  it('delivers onPinning reports for closes on a native thread while JavaScript reads snapshots', async () => {
    const reports: { granuleId: bigint; line: number; file: string }[] = [];
    const p = new Profiler({
      mode: 'diagnostic',
      slotCapacity: 64,
      onPinning: (r) => reports.push({ granuleId: r.granuleId, file: r.pinningAllocs[0].site!.file, line: r.pinningAllocs[0].site!.line }),
    });
    const slot = consumer.acquire(p.nativeHandle());
    consumer.startThread(slot, 1, 3000, 20, 10, 100); // >= 0.3 s
    const seen: number[] = [];
    let deliveredWhileRunning = 0;
    while (!consumer.threadDone()) {
      const s = p.snapshot(); // lock-free, while the thread opens, registers and closes
      expect(s.totalCloses).toBe(s.drainableCloses + s.pinnedCloses);
      seen.push(s.totalCloses);
      await tick(2); // lets the queued reports in
      if (!consumer.threadDone()) deliveredWhileRunning = reports.length;
    }
    expect(consumer.joinThread()).toEqual([2700, 300, 0]);
    await tick(50);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen); // counters only grow
    expect(reports).toHaveLength(300);
    expect(reports.map((r) => r.granuleId)).toEqual(Array.from({ length: 300 }, (_, i) => BigInt(10 * (i + 1)))); // close order
    const registerLine = lineOf('consumer.c', 'DRAINPROF_ALLOC_REGISTER(w->prof');
    expect(new Set(reports.map((r) => `${r.file}:${r.line}`))).toEqual(new Set([`consumer.c:${registerLine}`]));
    expect(p.snapshot()).toMatchObject({ totalCloses: 3000, pinnedCloses: 300 });
    // The thread pauses 100 us per granule: JavaScript read it mid-run, and got reports meanwhile.
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.some((closes) => closes > 0 && closes < 3000)).toBe(true);
    expect(deliveredWhileRunning).toBeGreaterThan(0);
    consumer.release(slot);
    p.destroy();
  });

  it('lets the addon create profilers of its own through the shim', () => {
    expect(consumer.standalone()).toEqual([0.8, 10]);
  });
});

describe('refusing what is not a live handle', () => {
  it('refuses foreign values with TypeError ERR_INVALID_ARG_TYPE', () => {
    const p = new Profiler();
    const foreign: unknown[] = [undefined, null, 0, 1.5, 'handle', 1n, Symbol('h'), {}, [], () => 0, new Map(), p,
      Object.create(null), internal.nativeHandleOf(p), consumer.forge('bare'), consumer.forge('magic', p.nativeHandle())];
    for (const value of foreign) expectError(() => consumer.acquire(value), TypeError, 'ERR_INVALID_ARG_TYPE');
    // A native handle is no profiler handle for drainprof's own binding either.
    expect(() => internal.binding.snapshot(p.nativeHandle() as never, new Float64Array(18))).toThrow(TypeError);
    expect(p.snapshot().totalCloses).toBe(0);
    p.destroy();
  });

  it('refuses handles of another ABI, or of another copy of drainprof, with ERR_INVALID_ARG_VALUE', () => {
    const p = new Profiler();
    const handle = p.nativeHandle();
    const slot = consumer.acquire(handle); // installs this drainprof's table in the addon
    for (const kind of ['abi', 'ext', 'size']) {
      const err = expectError(() => consumer.acquire(consumer.forge(kind, handle)), TypeError, 'ERR_INVALID_ARG_VALUE');
      expect(err.message).toMatch(/another ABI/);
    }
    const err = expectError(() => consumer.acquire(consumer.forge('other-copy', handle)), TypeError, 'ERR_INVALID_ARG_VALUE');
    expect(err.message).toMatch(/another copy of drainprof/);
    consumer.release(slot);
    p.destroy();
  });

  it('refuses a handle whose profiler was destroyed before the acquire', () => {
    const p = new Profiler();
    const handle = p.nativeHandle();
    expect(Object.isFrozen(handle)).toBe(true);
    expect(Object.prototype.toString.call(handle)).toBe('[object DrainprofNativeHandle]');
    p.destroy();
    const err = expectError(() => consumer.acquire(handle), TypeError, 'ERR_INVALID_ARG_VALUE');
    expect(err.message).toMatch(/destroyed/);
    expectError(() => p.nativeHandle(), Error, 'ERR_PROFILER_DESTROYED');
    const nativeHandle = Profiler.prototype.nativeHandle;
    for (const receiver of [undefined, null, {}, 5]) expectError(() => nativeHandle.call(receiver), TypeError, 'ERR_INVALID_ARG_TYPE');
  });
});

describe('ownership: the addon keeps what it acquired', () => {
  it('keeps counting into, and reading, the profiler after JavaScript destroy()s it', () => {
    const liveCores = (): number => internal.binding.testHooks.liveCores();
    const before = liveCores();
    const p = new Profiler({ mode: 'diagnostic' });
    p.granuleOpen(1);
    p.allocRegister(1, 1, 8, 'js.js:1');
    expect(p.granuleClose(1)).toBe(false);
    const slot = consumer.acquire(p.nativeHandle());
    const second = consumer.acquire(p.nativeHandle()); // references add up
    p.destroy();
    expectError(() => p.snapshot(), Error, 'ERR_PROFILER_DESTROYED');
    expect(liveCores()).toBe(before + 1);
    expect(consumer.count(slot, 10, 5, 2, 1)).toEqual([0, 5, 0]);
    expect(fromC(consumer.snapshot(slot))).toMatchObject({ totalCloses: 6, pinnedCloses: 6, totalAllocs: 11 });
    expect(consumer.summaryTop(second)).toMatch(/^consumer\.c:\d+$/); // JS's interned site strings live on too
    consumer.destroyShared(slot); // refused: the profiler is shared
    consumer.release(slot);
    expect(liveCores()).toBe(before + 1);
    expect(fromC(consumer.snapshot(second)).totalCloses).toBe(6);
    consumer.release(second); // the last reference frees it
    expect(liveCores()).toBe(before);
  });

  it('refuses drainprof_destroy() on a shared profiler', () => {
    const p = new Profiler();
    const slot = consumer.acquire(p.nativeHandle());
    consumer.destroyShared(slot);
    p.granuleOpen(1);
    expect(p.granuleClose(1)).toBe(true);
    expect(fromC(consumer.snapshot(slot)).totalCloses).toBe(1);
    consumer.release(slot);
    p.destroy();
  });

  it('keeps the profiler of a garbage-collected Profiler and of a terminated worker', () => {
    const r = child(`
      const { Worker } = require('node:worker_threads');
      const liveCores = () => binding.testHooks.liveCores();
      const base = liveCores();
      const out = { collected: false };
      const collected = new FinalizationRegistry(() => { out.collected = true; });
      (function () { // a Profiler dropped without destroy()
        const p = new Profiler();
        collected.register(p, 0);
        out.gcSlot = consumer.acquire(p.nativeHandle());
      })();
      const worker = \`
        const { parentPort, workerData } = require('node:worker_threads');
        const consumer = require(workerData.addon);
        const { Profiler } = require(workerData.drainprof);
        const p = new Profiler();
        p.granuleOpen(1); p.granuleClose(1);
        parentPort.postMessage(consumer.acquire(p.nativeHandle()));\`;
      (async () => {
        for (let i = 0; i < 5; i++) { global.gc(); await new Promise((r) => setImmediate(r)); }
        out.afterGc = liveCores() - base;
        out.gcCount = consumer.count(out.gcSlot, 1, 4, 2, 2);
        // A worker's Profiler, acquired by the worker's instance of the addon; then the worker ends.
        const w = new Worker(worker, { eval: true, workerData: { addon: ${JSON.stringify(addonPath)},
          drainprof: ${JSON.stringify(path.join(root, 'dist', 'index.js'))} } });
        const workerSlot = await new Promise((resolve) => w.once('message', resolve));
        await new Promise((resolve) => w.once('exit', resolve));
        out.afterWorker = liveCores() - base;
        out.workerCount = consumer.count(workerSlot, 5, 3, 1, 1);
        out.workerSnapshot = consumer.snapshot(workerSlot).slice(0, 3);
        consumer.release(workerSlot);
        consumer.release(out.gcSlot);
        out.afterRelease = liveCores() - base;
        console.log(JSON.stringify(out));
      })();`, ['--expose-gc']);
    expectCleanExit(r);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      collected: true,
      gcSlot: expect.any(Number),
      afterGc: 1,
      gcCount: [2, 2, 0],
      afterWorker: 2,
      workerCount: [0, 3, 0],
      workerSnapshot: [4, 1, 3],
      afterRelease: 0,
    });
  });

  for (const how of ['process.exit(0)', 'the loop running dry']) {
    it(`exits cleanly with ${how} while a native thread counts into a held profiler`, () => {
      const r = child(`
        const p = new Profiler({ mode: 'diagnostic', onPinning: () => {} });
        const slot = consumer.acquire(p.nativeHandle());
        consumer.startThread(slot, 1, 1e9, 4, 3, 0);
        setTimeout(() => { ${how === 'process.exit(0)' ? 'process.exit(0);' : 'p.destroy();'} }, 30);`);
      expectCleanExit(r);
      expect(r.stderr).not.toMatch(/Assertion|Segmentation|Abort|FATAL/);
    });
  }
});
