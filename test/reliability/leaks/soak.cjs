// Native-memory soak for the addon: `node --expose-gc soak.cjs [rounds] [warmup]`.
//
// Each round creates, uses and ends profilers in every way the package allows: both modes x both
// storages; plain calls, batches and granule handles; reports drained, dropped (full buffer) and left buffered; summaries, lifetime records,
// text, metrics and native handles; onPinning delivered, throwing into onError; reset with
// granules open; failing calls; profilers destroyed and profilers dropped for the GC; share()
// views opened and ended in a long-lived worker, and in a short-lived worker that exits holding
// its view. From round `warmup` on it samples memory after a full GC every 10 rounds and prints
// one JSON line:
//   { rounds, warmup, samples: [{ round, rss, heapTotal, heapUsed, external, arrayBuffers }],
//     liveCores, reports, delivered }
// test/reliability/leaks.test.ts bounds the growth of rss - heapTotal (what is not V8's heap).
// DRAINPROF_DIST points at another build's dist/ (to show that a planted leak is caught).
'use strict';
const path = require('node:path');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

const dist = process.env.DRAINPROF_DIST || path.resolve(__dirname, '../../../dist');
const { Profiler } = require(path.join(dist, 'index.js'));
const { binding } = require(path.join(dist, 'internal.js'));
// Bytes malloc() has out (mallinfo.c), when the test built that addon.
const mallinfo = process.env.DRAINPROF_MALLINFO ? require(process.env.DRAINPROF_MALLINFO) : { inUse: () => 0 };

const MODES = ['production', 'diagnostic'];
const STORAGES = ['slot-array', 'hash-map'];
const GRANULES = 128; // per work(): every other one pinned by 8 of its 12 allocations
const ALLOCS = 12;
const KEPT = 8;
const REPORTS = 256; // pinned closes per round whose reports are drained, and as many delivered to onPinning
const QUERIES = 16; // reads per profiler and round
const VIEWS = 32; // share() views per round on the main thread

const check = (ok, what) => {
  if (!ok) throw new Error(`soak: ${what}`);
};

/** Counts GRANULES granules into `p` (ids from `base`); diagnostic: frees a quarter of the pins late. */
function work(p, r, base = 0) {
  const diagnostic = p.mode === 'diagnostic';
  let pinned = 0;
  for (let g = base; g < base + GRANULES; g++) {
    p.granuleOpen(g);
    for (let a = 0; a < ALLOCS; a++) {
      // The last allocation of each granule captures its site from the stack; the others name one.
      p.allocRegister(g, a, 64 + a, diagnostic && a < ALLOCS - 1 ? `soak-${r % 7}.js:${a + 1}:1` : undefined);
    }
    const keep = g % 2 === 0 ? KEPT : 0;
    for (let a = keep; a < ALLOCS; a++) p.allocDeregister(g, a);
    if (g % 32 === 0) p.snapshot();
    if (!p.granuleClose(g)) pinned++;
  }
  if (diagnostic) for (let g = base; g < base + GRANULES; g += 8) for (let a = 0; a < KEPT; a++) p.allocDeregister(g, a);
  return pinned;
}

/**
 * The two other ways to count: a batch committed in one call (with one call in it that fails),
 * and granule handles (slots in shared memory in production mode), one used after its close.
 */
function fastPaths(p, base) {
  const diagnostic = p.mode === 'diagnostic';
  const batch = p.batch(16);
  for (let g = base; g < base + 16; g++) {
    batch.granuleOpen(g);
    for (let a = 0; a < 4; a++) batch.allocRegister(g, a, 16, diagnostic ? 'batch.js:3:1' : undefined);
    for (let a = g % 2; a < 4; a++) batch.allocDeregister(g, a);
    batch.granuleClose(g);
  }
  batch.granuleClose(base); // closed already
  const result = batch.commit();
  check(result.failed === 1 && result.closes.length === 17, `batch: ${result.failed} failed`);
  let stale = null;
  for (let g = base + 16; g < base + 32; g++) {
    p.granuleOpen(g);
    const h = p.granule(g);
    for (let a = 0; a < 4; a++) h.register(a, 16, diagnostic ? 'handle.js:5:1' : undefined);
    for (let a = g % 2; a < 4; a++) h.deregister(a);
    h.close();
    stale = h;
  }
  try {
    stale.register(9, 16, 'handle.js:6:1'); // ERR_GRANULE_NOT_OPEN
    check(false, 'a stale handle refuses');
  } catch (err) {
    check(err.code === 'ERR_GRANULE_NOT_OPEN', `a stale handle refuses with ${err.code}`);
  }
}

/** REPORTS pinned closes of KEPT allocations each, the cheapest way (explicit sites). */
function pinMany(p, base) {
  for (let g = base; g < base + REPORTS; g++) {
    p.granuleOpen(g);
    for (let a = 0; a < KEPT; a++) p.allocRegister(g, a, 32, 'pins.js:7:3');
    p.granuleClose(g);
  }
}

/** Calls that fail, in the core and before it. */
function failures(p) {
  const attempts = [
    () => p.granuleClose(1e9), // ERR_GRANULE_NOT_OPEN
    () => p.allocRegister(1e9, 1, 8), // counted, then ERR_GRANULE_NOT_OPEN
    () => p.granuleOpen(-1), // RangeError before any native call
    () => p.allocDeregister('x', 1), // TypeError
  ];
  if (p.mode === 'diagnostic') {
    attempts.push(() => {
      p.granuleOpen(1e9);
      try {
        p.allocDeregister(1e9, 77); // ERR_ALLOC_NOT_LIVE
      } finally {
        p.granuleClose(1e9);
      }
    });
  } else {
    attempts.push(() => p.drainReports()); // ERR_WRONG_MODE
  }
  let thrown = 0;
  for (const attempt of attempts) {
    try {
      attempt();
    } catch {
      thrown++;
    }
  }
  check(thrown === attempts.length, `every failing call throws (${thrown} of ${attempts.length})`);
}

/** Every read, QUERIES times over (a leak per call then shows QUERIES times as much). */
function queries(p, drain) {
  for (let i = 0; i < QUERIES; i++) {
    p.snapshot();
    p.sweep();
    p.textReport(5);
    p.metrics({ prefix: 'soak', labels: { pool: 'x' }, openMetrics: drain });
    p.nativeHandle();
    if (p.mode === 'diagnostic') {
      p.diagnosticSummary();
      p.lifetimeRecords();
    }
  }
  if (drain && p.mode === 'diagnostic') {
    check(p.drainReports().every((r) => r.pinningAllocs.length === r.pinningCount && r.pinningCount > 0), 'reports');
  }
}

const totals = { reports: 0, delivered: 0 };

/** One round on the main thread; resolves when its callbacks and worker views are done. */
async function round(r, views) {
  const dropped = []; // profilers left to the garbage collector, never destroyed
  const end = (p) => (r % 2 === 0 ? p.destroy() : dropped.push(p));
  for (const mode of MODES) {
    for (const storage of STORAGES) {
      // A small buffer: most reports are dropped when it is full.
      const p = new Profiler({ mode, storage, slotCapacity: 256, bucketCount: 4, maxBufferedReports: 8 });
      work(p, r);
      fastPaths(p, 2000);
      failures(p);
      queries(p, r % 2 === 0); // odd rounds leave reports buffered, for destroy() or the GC to free
      if (r % 3 === 0) {
        p.granuleOpen(5000);
        p.allocRegister(5000, 1, 8);
        p.reset(); // with a granule open and reports buffered
        work(p, r);
      }
      end(p);
    }
  }

  // Reports drained: every one handed to JavaScript and freed in C.
  const buffered = new Profiler({ mode: 'diagnostic', storage: STORAGES[r % 2], maxBufferedReports: REPORTS });
  pinMany(buffered, 0);
  queries(buffered, false);
  const reports = buffered.drainReports();
  check(reports.length === REPORTS, `drained ${reports.length} reports`);
  totals.reports += reports.length;
  end(buffered);

  // onPinning: every report delivered; some callbacks throw into onError.
  let delivered = 0;
  let errors = 0;
  const cb = new Profiler({
    mode: 'diagnostic', storage: STORAGES[r % 2],
    onPinning: (report) => {
      if (++delivered % 4 === 0) throw new Error(`a callback that throws, for granule ${report.granuleId}`);
    },
    onError: () => errors++,
  });
  pinMany(cb, 0);
  const pinned = REPORTS + work(cb, r, REPORTS);
  cb.diagnosticSummary();
  end(cb); // reports queued before destroy() are still delivered
  for (let i = 0; i < 1000 && delivered < pinned; i++) await new Promise((resolve) => setImmediate(resolve));
  check(delivered === pinned && errors === Math.floor(pinned / 4), `onPinning delivered ${delivered}/${pinned}, onError ${errors}`);
  totals.delivered += delivered;

  // share(): a view in the long-lived worker, ended by destroy() or by the worker's GC.
  const shared = new Profiler({ mode: MODES[r % 2], storage: STORAGES[(r >> 1) % 2] });
  shared.granuleOpen(1);
  const done = await views.request({ token: shared.share(), round: r });
  check(done.pinned === GRANULES / 2, `worker view counted ${done.pinned} pinned`);
  // Every 10th round: a worker that exits holding a view (the environment's cleanup ends it).
  if (r % 10 === 5) {
    await new Promise((resolve, reject) => {
      const w = new Worker(__filename, { workerData: { token: shared.share(), holdAndExit: true } });
      w.once('error', reject);
      w.once('exit', resolve);
    });
  }
  check(shared.snapshot().pinnedCloses >= GRANULES / 2, 'the worker counted into the shared profiler');
  // Views on this thread too, half destroyed, half left to the GC.
  for (let i = 0; i < VIEWS; i++) {
    const view = Profiler.fromShared(shared.share());
    view.granuleOpen(2);
    view.granuleClose(2);
    if (i % 2 === 0) view.destroy();
    else dropped.push(view);
  }
  shared.granuleClose(1);
  end(shared);
  dropped.length = 0;
}

/** A long-lived worker answering view requests. */
function viewServer() {
  const w = new Worker(__filename, { workerData: { serve: true } });
  const pending = [];
  w.on('message', (m) => pending.shift()(m));
  w.on('error', (err) => {
    console.error(err);
    process.exit(3);
  });
  return {
    request: (m) => new Promise((resolve) => {
      pending.push(resolve);
      w.postMessage(m);
    }),
    close: () => w.terminate(),
  };
}

async function collect() {
  for (let i = 0; i < 4; i++) {
    global.gc();
    await new Promise((resolve) => setImmediate(resolve)); // finalizers, then their native cleanup
  }
}

async function main() {
  const rounds = Number(process.argv[2] || 200);
  const warmup = Number(process.argv[3] || 50);
  const baseCores = binding.testHooks.liveCores();
  const views = viewServer();
  const samples = [];
  for (let r = 0; r < rounds; r++) {
    await round(r, views);
    if (r + 1 >= warmup && (r + 1 - warmup) % 10 === 0) {
      await collect();
      // The least of three reads: V8's background compiler holds malloc'd memory for a moment.
      let malloc = Infinity;
      for (let i = 0; i < 3; i++, await new Promise((resolve) => setTimeout(resolve, 1))) malloc = Math.min(malloc, mallinfo.inUse());
      const m = process.memoryUsage();
      samples.push({ round: r + 1, malloc, rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed,
        external: m.external, arrayBuffers: m.arrayBuffers });
    }
  }
  await views.close();
  await collect();
  console.log(JSON.stringify({ rounds, warmup, samples, liveCores: binding.testHooks.liveCores() - baseCores, ...totals }));
}

if (isMainThread) {
  main().catch((err) => {
    console.error(err);
    process.exit(2);
  });
} else if (workerData.holdAndExit) {
  const view = Profiler.fromShared(workerData.token);
  view.granuleOpen(777);
  view.granuleClose(777); // and exits with the view alive
} else {
  /** A view that counts and ends: destroyed, or left for the GC (nothing here keeps it). */
  const useView = (m) => {
    const view = Profiler.fromShared(m.token);
    const pinned = work(view, m.round, 1000);
    fastPaths(view, 3000);
    queries(view, false);
    if (m.round % 2 === 0) view.destroy();
    return pinned;
  };
  parentPort.on('message', async (m) => {
    const pinned = useView(m);
    if (m.round % 2 === 1) await collect();
    parentPort.postMessage({ pinned });
  });
}
