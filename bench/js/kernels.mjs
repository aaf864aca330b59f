// The measured loops of `npm run bench` (bench/js/run.mjs), shared by the main
// thread and the worker_threads. Each kernel makes `n` operations and is its
// own function, so V8 sees one call site per kernel (as an application's loop
// would); each takes its objects as arguments, so they live in registers, not
// in module variables re-read on every iteration.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const { Profiler } = require('../../dist/index.js');
export const { binding, nativeHandleOf } = require('../../dist/internal.js');

const SITE = 'bench/js/kernels.mjs:20:5';

/** Granule ids: the shared one, one per thread for open+close. */
export const SHARED = 1;

// ---------------------------------------------------------------- kernels

function emptyCall(k, n) {
  const empty = k.empty;
  for (let i = 0; i < n; i++) empty(1, i, 64);
}

function plainRegister(k, n) {
  const p = k.p, g = k.g;
  for (let i = 0; i < n; i++) p.allocRegister(g, i, 64);
}

function plainDeregister(k, n) {
  const p = k.p, g = k.g;
  for (let i = 0; i < n; i++) p.allocDeregister(g, i);
}

function plainOpenClose(k, n) {
  const p = k.p, g = k.spare;
  for (let i = 0; i < n; i++) {
    p.granuleOpen(g);
    p.granuleClose(g);
  }
}

function batchRegister(k, n) {
  const b = k.b, g = k.g;
  for (let i = 0; i < n; i++) {
    b.allocRegister(g, i, 64);
    if ((i & 1023) === 1023) b.commit();
  }
  b.commit();
}

function batchDeregister(k, n) {
  const b = k.b, g = k.g;
  for (let i = 0; i < n; i++) {
    b.allocDeregister(g, i);
    if ((i & 1023) === 1023) b.commit();
  }
  b.commit();
}

function batchOpenClose(k, n) {
  const b = k.b, g = k.spare;
  for (let i = 0; i < n; i++) {
    b.granuleOpen(g);
    b.granuleClose(g);
    if ((i & 511) === 511) b.commit();
  }
  b.commit();
}

function handleRegister(k, n) {
  const h = k.h;
  for (let i = 0; i < n; i++) h.register();
}

/** Four calls per iteration: the handle's fields stay in registers between them. */
function handleRegister4(k, n) {
  const h = k.h;
  for (let i = 0; i < n; i += 4) {
    h.register();
    h.register();
    h.register();
    h.register();
  }
}

function handleDeregister(k, n) {
  const h = k.h;
  for (let i = 0; i < n; i++) h.deregister();
}

/** A granule's whole life through a handle: open, granule() (attaches a slot), close. */
function handleOpenClose(k, n) {
  const p = k.p, g = k.spare;
  for (let i = 0; i < n; i++) {
    p.granuleOpen(g);
    p.granule(g).close();
  }
}

// Diagnostic mode: register + deregister pairs (registrations alone would
// pile up records), each with an explicit site (an automatic one costs a V8
// stack capture, see the separate row).

function plainPair(k, n) {
  const p = k.p, g = k.g;
  for (let i = 0; i < n; i++) {
    p.allocRegister(g, i, 64, SITE);
    p.allocDeregister(g, i);
  }
}

function plainPairCapturedSite(k, n) {
  const p = k.p, g = k.g;
  for (let i = 0; i < n; i++) {
    p.allocRegister(g, i, 64);
    p.allocDeregister(g, i);
  }
}

function batchPair(k, n) {
  const b = k.b, g = k.g;
  for (let i = 0; i < n; i++) {
    b.allocRegister(g, i, 64, SITE);
    b.allocDeregister(g, i);
    if ((i & 511) === 511) b.commit();
  }
  b.commit();
}

function handlePair(k, n) {
  const h = k.h;
  for (let i = 0; i < n; i++) {
    h.register(i, 64, SITE);
    h.deregister(i);
  }
}

// The C core's own loop of the same operations, on this thread.
const cLoop = (op) => (k, n) => binding.testHooks.cLoop(k.handle, op, op === 2 ? k.cSpare : k.g, n);

/**
 * Each kernel: what it measures, how many operations a repetition makes, the
 * C loop of the same operation, and whether it returns its own time (C loops).
 * `per`: operations per loop iteration that the row's "op" counts as one.
 */
export const KERNELS = {
  empty: { fn: emptyCall, n: 2_000_000 },
  plainRegister: { fn: plainRegister, n: 1_000_000, c: 'cRegister' },
  plainDeregister: { fn: plainDeregister, n: 1_000_000, c: 'cDeregister' },
  plainOpenClose: { fn: plainOpenClose, n: 100_000, c: 'cOpenClose' },
  batchRegister: { fn: batchRegister, n: 2_000_000, c: 'cRegister' },
  batchDeregister: { fn: batchDeregister, n: 2_000_000, c: 'cDeregister' },
  batchOpenClose: { fn: batchOpenClose, n: 200_000, c: 'cOpenClose' },
  handleRegister: { fn: handleRegister, n: 4_000_000, c: 'cRegister' },
  handleRegister4: { fn: handleRegister4, n: 4_000_000, c: 'cRegister' },
  handleDeregister: { fn: handleDeregister, n: 4_000_000, c: 'cDeregister' },
  handleOpenClose: { fn: handleOpenClose, n: 50_000, c: 'cOpenClose' },
  plainPair: { fn: plainPair, n: 200_000, c: 'cPair' },
  plainPairCapturedSite: { fn: plainPairCapturedSite, n: 5_000, c: 'cPair' },
  batchPair: { fn: batchPair, n: 200_000, c: 'cPair' },
  handlePair: { fn: handlePair, n: 200_000, c: 'cPair' },
  cRegister: { fn: cLoop(0), n: 4_000_000, timed: true },
  cDeregister: { fn: cLoop(1), n: 4_000_000, timed: true },
  cOpenClose: { fn: cLoop(2), n: 300_000, timed: true },
  cPair: { fn: cLoop(3), n: 500_000, timed: true },
};

/**
 * Objects the kernels use, on this thread: a view of the shared profiler (or
 * the profiler itself), granule `g` (opened by the caller), a handle on it,
 * a batch, spare granule ids for open+close.
 */
export function context(p, g, spare) {
  return {
    p, g, spare, cSpare: spare + 1_000_000,
    h: p.granule(g), b: p.batch(4096), handle: nativeHandleOf(p), empty: binding.testHooks.empty,
  };
}

/** ns per operation of one repetition of kernel `name`. */
function once(name, k) {
  const { fn, n, timed } = KERNELS[name];
  const t0 = process.hrtime.bigint();
  const own = fn(k, n);
  return (timed ? own : Number(process.hrtime.bigint() - t0)) / n;
}

/**
 * Best-of-`reps` ns per operation of each kernel in `names`, interleaved:
 * every repetition runs each kernel once, so all of them sample the same
 * moments of a noisy machine and their ratios hold. Two warm-up rounds first.
 */
export function measureAll(names, k, reps) {
  const best = Object.fromEntries(names.map((name) => [name, Infinity]));
  for (let r = 0; r < reps + 2; r++) {
    for (const name of names) {
      const ns = once(name, k);
      if (r >= 2) best[name] = Math.min(best[name], ns);
    }
  }
  return best;
}
