// npm run bench: ns per operation of every way to report allocations from JS
// (plain calls, batches, granule handles), next to the C core's own loop of
// the same operation measured in the same run, an empty N-API call, and the
// seed's 1.97 ns C figure; on 1 thread and on 2 worker_threads (one shared
// granule, or one granule each); production and diagnostic. Prints one table
// and writes bench/results/latest.json. Asserts nothing.
//
// Every figure is the best of several repetitions (the machine is shared and
// noisy: the best is the least disturbed), each a loop of one call per
// iteration, as an application would make them; the kernels of a scenario run
// interleaved, so the ratios compare figures taken at the same moments.
// Build first (npm install or npm run build). BENCH_REPS=n sets the repetitions.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { KERNELS, Profiler, SHARED, context, measureAll } from './kernels.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPS = Number(process.env.BENCH_REPS ?? 9);
const SEED_C_NS = 1.97;

const PRODUCTION_1 = ['empty', 'cRegister', 'plainRegister', 'batchRegister', 'handleRegister', 'handleRegister4',
  'cDeregister',
  'plainDeregister', 'batchDeregister', 'handleDeregister', 'cOpenClose', 'plainOpenClose', 'batchOpenClose',
  'handleOpenClose'];
const DIAGNOSTIC_1 = ['cPair', 'plainPair', 'plainPairCapturedSite', 'batchPair', 'handlePair', 'cOpenClose',
  'plainOpenClose', 'batchOpenClose', 'handleOpenClose'];
const PRODUCTION_2 = ['cRegister', 'plainRegister', 'batchRegister', 'handleRegister', 'cOpenClose', 'plainOpenClose'];
const DIAGNOSTIC_2 = ['cPair', 'plainPair', 'batchPair', 'handlePair'];

const LABELS = {
  empty: ['empty N-API call, 3 arguments', 'call'],
  cRegister: ['C loop: drainprof_alloc_register', 'register'],
  cDeregister: ['C loop: drainprof_alloc_deregister', 'deregister'],
  cOpenClose: ['C loop: granule_open + granule_close', 'open+close'],
  cPair: ['C loop: register + deregister, with a site', 'reg+dereg'],
  plainRegister: ['plain: profiler.allocRegister', 'register'],
  plainDeregister: ['plain: profiler.allocDeregister', 'deregister'],
  plainOpenClose: ['plain: granuleOpen + granuleClose', 'open+close'],
  plainPair: ['plain: allocRegister(site) + allocDeregister', 'reg+dereg'],
  plainPairCapturedSite: ['plain: same, site captured automatically', 'reg+dereg'],
  batchRegister: ['batch: allocRegister (commit per 1024)', 'register'],
  batchDeregister: ['batch: allocDeregister (commit per 1024)', 'deregister'],
  batchOpenClose: ['batch: granuleOpen + granuleClose', 'open+close'],
  batchPair: ['batch: allocRegister(site) + allocDeregister', 'reg+dereg'],
  handleRegister: ['handle: granule.register()', 'register'],
  handleRegister4: ['handle: same, 4 calls per loop iteration', 'register'],
  handleDeregister: ['handle: granule.deregister()', 'deregister'],
  handleOpenClose: ['handle: open + granule() + close', 'open+close'],
  handlePair: ['handle: register(id, size, site) + deregister', 'reg+dereg'],
};

// ------------------------------------------------------------- workers

const WORKER = `
  import { workerData, parentPort } from 'node:worker_threads';
  import { Profiler, context, measureAll } from ${JSON.stringify(path.join(here, 'kernels.mjs'))};
  const { token, g, spare, gate, index } = workerData;
  const p = Profiler.fromShared(token);
  const k = context(p, g, spare);
  const cells = new Int32Array(gate);
  parentPort.on('message', ({ names, reps }) => {
    // Both workers start together, then run the same interleaved sequence.
    Atomics.add(cells, 0, 1);
    Atomics.notify(cells, 0);
    while (Atomics.load(cells, 0) < 2) Atomics.wait(cells, 0, Atomics.load(cells, 0), 50);
    parentPort.postMessage(measureAll(names, k, reps));
  });
  parentPort.postMessage('ready');
`;

async function withWorkers(mode, sameGranule, names) {
  const p = new Profiler({ mode, storage: 'hash-map' });
  const gate = new SharedArrayBuffer(4);
  const ids = sameGranule ? [SHARED, SHARED] : [10, 11];
  for (const id of new Set(ids)) p.granuleOpen(id);
  const workers = ids.map((g, index) => new Worker(WORKER, {
    eval: true, workerData: { token: p.share(), g, spare: 100 + index, gate, index },
  }));
  const next = (w) => new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
  await Promise.all(workers.map(next));
  const results = workers.map(next);
  workers.forEach((w) => w.postMessage({ names, reps: REPS }));
  const each = await Promise.all(results);
  // Each thread's own cost per operation, averaged over the two.
  const out = Object.fromEntries(names.map((name) => [name, each.reduce((sum, r) => sum + r[name], 0) / each.length]));
  await Promise.all(workers.map((w) => w.terminate()));
  p.destroy();
  return out;
}

function onThisThread(mode, names) {
  const p = new Profiler({ mode, storage: 'hash-map' });
  p.granuleOpen(SHARED);
  const out = measureAll(names, context(p, SHARED, 100), REPS);
  p.destroy();
  return out;
}

// ---------------------------------------------------------------- table

function rows(scenario, mode, threads, results) {
  return Object.entries(results).map(([name, ns]) => {
    const c = KERNELS[name].c;
    const [label, op] = LABELS[name];
    return {
      scenario, mode, threads, name, label, op, ns,
      vsC: c !== undefined && results[c] !== undefined ? ns / results[c] : null,
      vsSeed: ns / SEED_C_NS,
    };
  });
}

function print(all, machine) {
  const head = ['scenario', 'path / operation', 'op', 'ns/op', 'x C loop', 'x 1.97 ns'];
  const lines = all.map((r) => [r.scenario, r.label, r.op, r.ns.toFixed(2), r.vsC === null ? '' : r.vsC.toFixed(2),
    r.vsSeed.toFixed(2)]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  console.log(`drainprof bench: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; best of ${REPS}`);
  console.log(fmt(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  let last = '';
  for (let i = 0; i < lines.length; i++) {
    if (all[i].scenario !== last && last !== '') console.log('');
    last = all[i].scenario;
    console.log(fmt(lines[i]));
  }
}

const started = Date.now();
const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version };
const all = [
  ...rows('production, 1 thread', 'production', 1, onThisThread('production', PRODUCTION_1)),
  ...rows('production, 2 workers, same granule', 'production', 2, await withWorkers('production', true, PRODUCTION_2)),
  ...rows('production, 2 workers, own granules', 'production', 2, await withWorkers('production', false, PRODUCTION_2)),
  ...rows('diagnostic, 1 thread', 'diagnostic', 1, onThisThread('diagnostic', DIAGNOSTIC_1)),
  ...rows('diagnostic, 2 workers, same granule', 'diagnostic', 2, await withWorkers('diagnostic', true, DIAGNOSTIC_2)),
  ...rows('diagnostic, 2 workers, own granules', 'diagnostic', 2, await withWorkers('diagnostic', false, DIAGNOSTIC_2)),
];
print(all, machine);

const byName = (scenario, name) => all.find((r) => r.scenario === scenario && r.name === name)?.ns;
const one = 'production, 1 thread';
const targets = {
  plainVsEmptyCall: byName(one, 'plainRegister') / byName(one, 'empty'),
  batchRegisterNs: byName(one, 'batchRegister'),
  handleRegisterNs: byName(one, 'handleRegister'),
};
console.log('');
console.log(`targets: plain allocRegister / empty call = ${targets.plainVsEmptyCall.toFixed(2)} (<= 1.2); ` +
  `batch register = ${targets.batchRegisterNs.toFixed(2)} ns (<= 2); handle register = ` +
  `${targets.handleRegisterNs.toFixed(2)} ns (<= 1)`);
console.log(`(${((Date.now() - started) / 1000).toFixed(0)} s)`);

const out = path.join(here, '..', 'results');
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, 'latest.json'), JSON.stringify({
  date: new Date().toISOString(), machine, reps: REPS, seedCNs: SEED_C_NS, targets, rows: all,
}, null, 2) + '\n');
