// One profiler across worker_threads: share()/fromShared() views, exact totals
// from handles, plain calls, batches and native threads on several threads,
// counts folded at a worker's teardown (also terminate()), destroy order,
// onPinning delivery, and views given back to the GC.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Profiler, STORAGES, expectCleanExit, expectError, internal, root, runNode } from './helpers.js';

const dist = JSON.stringify(path.join(root, 'dist'));
const { binding } = internal;

/** A worker running `body` (CommonJS, with Profiler, internal, workerData, parentPort in scope). */
function worker(body: string, workerData: unknown): Worker {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { Profiler } = require(${dist} + '/index.js');
    const internal = require(${dist} + '/internal.js');
    ${body}`;
  return new Worker(code, { eval: true, workerData });
}

function message<T>(w: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
}

function exited(w: Worker): Promise<number> {
  return new Promise((resolve) => w.once('exit', resolve));
}

// Each worker: its own handle on the shared granule 1 and on its own granule,
// plain calls, a batch and native threads, then reports and waits.
const COUNTING_WORKER = `
  const { token, own, n, end } = workerData;
  const p = Profiler.fromShared(token);
  p.granuleOpen(own);
  const shared = p.granule(1);
  const mine = p.granule(own);
  function handles(g, regs, deregs) { for (let i = 0; i < regs; i++) g.register(); for (let i = 0; i < deregs; i++) g.deregister(); }
  handles(shared, n, n - 1);            // leaves 1 live in granule 1
  handles(mine, n, n);                  // own granule: drainable
  for (let i = 0; i < 100000; i++) { p.allocRegister(1, i, 8); p.allocDeregister(1, i); }
  const b = p.batch();
  for (let i = 0; i < 200000; i++) { b.allocRegister(1, i, 8); b.allocDeregister(1, i); if (b.size >= 4096) b.commit(); }
  b.commit();
  const failed = internal.binding.testHooks.countOnThreads(internal.nativeHandleOf(p), own, 2, 50000, 50000);
  parentPort.postMessage({ failed, sweepOwn: p.sweep().drainableCloses });
  parentPort.once('message', () => {
    if (end === 'close') { mine.close(); p.destroy(); }
    if (end === 'destroy') p.destroy();               // own granule left open, counts folded
    // 'exit': nothing: the environment's teardown folds the counts
    parentPort.postMessage('bye');
  });
`;

describe.each(STORAGES)('one profiler, several threads: %s', (storage) => {
  it('adds counts from handles, plain calls, batches and native threads on three threads exactly', async () => {
    const N = 2_000_000;
    const p = new Profiler({ storage, slotCapacity: 16 });
    p.granuleOpen(1);
    const token = p.share();
    const ends = ['close', 'destroy', 'exit'] as const;
    const workers = ends.map((end, i) => worker(COUNTING_WORKER, { token, own: 100 + i, n: N, end }));
    const counted = workers.map((w) => message<{ failed: number; sweepOwn: number }>(w));
    // The main thread counts into granule 1 meanwhile, through its own handle.
    const g = p.granule(1);
    for (let i = 0; i < N; i++) g.register();
    for (let i = 0; i < N; i++) g.deregister();
    const results = await Promise.all(counted);
    expect(results.map((r) => r.failed)).toEqual([0, 0, 0]);

    // Everything is counted while every slot is still attached.
    const perWorker = { allocs: N + N + 100_000 + 200_000 + 100_000, deallocs: N - 1 + N + 100_000 + 200_000 + 100_000 };
    const expectAllocs = N + 3 * perWorker.allocs;
    const expectDeallocs = N + 3 * perWorker.deallocs;
    expect(p.snapshot()).toMatchObject({ totalAllocs: expectAllocs, totalDeallocs: expectDeallocs, openGranules: 4 });
    expect(p.sweep()).toMatchObject({ pinnedCloses: 1, drainableCloses: 3 });

    // Then each worker ends its own way; nothing is lost.
    const byes = workers.map((w) => message<string>(w));
    const exits = workers.map(exited);
    workers.forEach((w) => w.postMessage('end'));
    await Promise.all(byes);
    workers.forEach((w) => void w.terminate());
    await Promise.all(exits);
    expect(p.snapshot()).toMatchObject({
      totalAllocs: expectAllocs, totalDeallocs: expectDeallocs, openGranules: 3, totalCloses: 1, drainableCloses: 1,
    });
    expect(g.close()).toBe(false);
    expect(p.granuleClose(101)).toBe(true);
    expect(p.granuleClose(102)).toBe(true);
    expect(p.snapshot()).toMatchObject({
      totalCloses: 4, pinnedCloses: 1, drainableCloses: 3, openGranules: 0, failedRegisters: 0, failedDeregisters: 0,
    });
    p.destroy();
  }, 120_000);
});

describe('share() and fromShared()', () => {
  it('refuses what is not a token, and a token whose profiler is gone', () => {
    for (const bad of [undefined, null, 1, 'x', {}, { kind: 'drainprof.SharedProfiler', key: 1 }, { kind: 'x', key: 1n }]) {
      expectError(() => Profiler.fromShared(bad as never), TypeError, 'ERR_INVALID_ARG_TYPE');
    }
    const p = new Profiler({ mode: 'diagnostic', storage: 'hash-map', slotCapacity: 7 });
    const token = p.share();
    expect(Object.isFrozen(token)).toBe(true);
    expect(structuredClone(token)).toEqual(token);
    const q = Profiler.fromShared(structuredClone(token));
    expect([q.mode, q.storage]).toEqual(['diagnostic', 'hash-map']);
    p.destroy();
    expectError(() => p.share(), Error, 'ERR_PROFILER_DESTROYED');
    q.granuleOpen(1); // the core lives on through q
    const r = Profiler.fromShared(token);
    expect(r.granuleClose(1)).toBe(true);
    q.destroy();
    r.destroy();
    expectError(() => Profiler.fromShared(token), Error, 'ERR_PROFILER_DESTROYED');
    expectError(() => Profiler.fromShared({ kind: 'drainprof.SharedProfiler', key: 2n ** 64n - 1n }), Error,
      'ERR_PROFILER_DESTROYED');
  });

  it('lets the creator destroy its view while a worker goes on with its own', async () => {
    const before = binding.testHooks.liveCores();
    const p = new Profiler();
    p.granuleOpen(1);
    const w = worker(`
      const q = Profiler.fromShared(workerData);
      const g = q.granule(1);
      g.register();
      parentPort.postMessage('ready');
      parentPort.once('message', () => {
        for (let i = 0; i < 1000; i++) g.register();
        q.granuleOpen(2);
        q.allocRegister(2, 1, 1);
        const s = q.snapshot();
        parentPort.postMessage({ allocs: s.totalAllocs, closed: g.close(), cores: internal.binding.testHooks.liveCores() });
      });
    `, p.share());
    expect(await message(w)).toBe('ready');
    p.destroy();
    expectError(() => p.granuleOpen(3), Error, 'ERR_PROFILER_DESTROYED');
    expect(binding.testHooks.liveCores()).toBe(before + 1);
    w.postMessage('go');
    expect(await message(w)).toEqual({ allocs: 1002, closed: false, cores: before + 1 });
    await exited(w); // the last view ends with the worker: the core goes
    expect(binding.testHooks.liveCores()).toBe(before);
  });

  it('folds the counts of a worker terminated while its handles are attached', async () => {
    const p = new Profiler();
    p.granuleOpen(1);
    const w = worker(`
      const q = Profiler.fromShared(workerData);
      const g = q.granule(1);
      for (let i = 0; i < 300000; i++) g.register();
      for (let i = 0; i < 1000; i++) g.deregister();
      parentPort.postMessage('counted');
      const cell = new Int32Array(new SharedArrayBuffer(4));
      Atomics.wait(cell, 0, 0);                      // blocks until terminated
    `, p.share());
    expect(await message(w)).toBe('counted');
    expect(p.snapshot().totalAllocs).toBe(300_000);
    await w.terminate();
    expect(p.snapshot()).toMatchObject({ totalAllocs: 300_000, totalDeallocs: 1000 });
    expect(p.granuleClose(1)).toBe(false);
    expect(p.snapshot()).toMatchObject({ totalAllocs: 300_000, totalDeallocs: 1000, pinnedCloses: 1 });
    p.destroy();
  });

  it('delivers onPinning to the creating thread for closes a worker makes, with the worker\'s sites', async () => {
    const reports: { granuleId: bigint; file: string | undefined }[] = [];
    const p = new Profiler({
      mode: 'diagnostic',
      onPinning: (r) => reports.push({ granuleId: r.granuleId, file: r.pinningAllocs[0]!.site?.file }),
    });
    const w = worker(`
      const q = Profiler.fromShared(workerData);
      for (let g = 0; g < 5; g++) {
        q.granuleOpen(g);
        const h = q.granule(g);
        h.register(1, 8, 'worker-site.js:' + (g + 1));
        if (g % 2) h.deregister(1);
        h.close();
      }
      q.destroy();
      parentPort.postMessage('done');
    `, p.share());
    expect(await message(w)).toBe('done');
    await exited(w);
    await new Promise((r) => setTimeout(r, 50));
    expect(reports).toEqual([0n, 2n, 4n].map((granuleId) => ({ granuleId, file: 'worker-site.js' })));
    p.destroy();
  });
});

describe('views and the garbage collector', () => {
  it('frees a core when its last view is collected, handles keeping their view alive', () => {
    const result = runNode(['--expose-gc', '-e', `
      const { Profiler } = require(${dist} + '/index.js');
      const { binding } = require(${dist} + '/internal.js');
      const hooks = binding.testHooks;
      const base = hooks.liveCores();
      let p = new Profiler();
      let q = Profiler.fromShared(p.share());
      p.granuleOpen(1);
      let g = q.granule(1);
      g.register();
      p = null; q = null;
      const out = [];
      setImmediate(() => {
        global.gc();
        setImmediate(() => {
          out.push(hooks.liveCores() - base);      // q's view lives on through g
          g.register();
          g = null;
          global.gc();
          setImmediate(() => {
            global.gc();
            setImmediate(() => {
              out.push(hooks.liveCores() - base, hooks.liveProfilers()[1]);
              console.log(JSON.stringify(out));
            });
          });
        });
      });
    `]);
    expectCleanExit(result);
    expect(JSON.parse(result.stdout)).toEqual([1, 0, 0]);
  });
});
