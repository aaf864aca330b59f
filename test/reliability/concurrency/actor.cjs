// The JavaScript side of the concurrency test's workload: one actor's phase on
// a Profiler, on the main thread or in a worker. threads.c's run_phase() makes
// the same calls in C (a JS actor makes them three ways: plain calls, granule
// handles, batches), so concurrency.test.ts predicts the counters of both.
'use strict';

const TWO_32 = 2 ** 32;

/** The actor's own granule number j (never reused) and its allocation ids in shared granules. */
const ownGranule = (actor, j) => (actor + 1) * TWO_32 + j;
const sharedAlloc = (actor, i) => (actor + 1) * TWO_32 + i;
const isPinned = (plan, j) => (j + 1) % plan.pinEvery === 0;
/** Each actor leaves one allocation live in a shared granule: i === actor, in phase 0. */
const isKept = (actor, i) => i === actor;
/** How a JS actor counts into its own granule j: plain calls, a granule handle, or batches. */
const PLAIN = 0;
const HANDLE = 1;
const wayOf = (j) => j % 3;

function newResult(actor) {
  return {
    actor, failed: 0, firstFailure: '', broken: 0, queries: 0, overlapped: 0, drained: 0, drainedSum: 0n,
    rendezvousFailed: false, registers: 0, lastRegisters: 0, lastTotalAllocs: 0,
  };
}

/**
 * Runs `fn`; a throw, or a result other than `want` (when given), counts as a
 * failure. Actors never throw: the main thread checks their results at the end.
 */
function call(result, what, fn, want) {
  try {
    const got = fn();
    if (want !== undefined && got !== want) note(result, `${what} returned ${got}, expected ${want}`);
  } catch (err) {
    note(result, `${what} threw ${err.code}: ${err.message}`);
  }
}

function note(result, text) {
  if (result.failed++ === 0) result.firstFailure = text;
}

function checkView(result, s, isSnapshot) {
  if (s.totalCloses !== s.drainableCloses + s.pinnedCloses) result.broken++;
  if (s.dsr !== (s.totalCloses === 0 ? 0 : s.drainableCloses / s.totalCloses)) result.broken++;
  if (s.openGranules > s.peakOpenGranules) result.broken++;
  if (isSnapshot) {
    if (s.totalCloses < (result.lastCloses ?? 0)) result.broken++;
    result.lastCloses = s.totalCloses;
    // Registers by someone else since this actor's last query in this phase: the actors overlapped.
    if (result.lastTotalAllocs !== 0 && s.totalAllocs - result.lastTotalAllocs > result.registers - result.lastRegisters) {
      result.overlapped++;
    }
    result.lastTotalAllocs = s.totalAllocs;
    result.lastRegisters = result.registers;
  }
}

/**
 * One phase of `actor` on `p`. `site` is the explicit allocation site this
 * actor passes (cheap, and it names the actor in reports). Yields to the event
 * loop every `plan.yieldEvery` steps so queued onPinning reports are delivered
 * while the other threads go on counting.
 */
async function runPhase(p, plan, actor, phase, site, result) {
  const first = phase * plan.granules;
  result.lastTotalAllocs = 0;
  if (plan.diagnostic && phase > 0) { // late frees of the previous phase's pins
    for (let j = first - plan.granules; j < first; j++) {
      if (isPinned(plan, j)) call(result, 'late allocDeregister', () => p.allocDeregister(ownGranule(actor, j), plan.allocs));
    }
  }
  const handles = new Map(); // own granule j -> its granule handle, while open
  for (let s = 0; s < plan.granules + plan.window; s++) {
    const j = first + s;
    if (s < plan.granules) {
      const g = ownGranule(actor, j);
      switch (wayOf(j)) {
        case PLAIN:
          call(result, 'granuleOpen', () => p.granuleOpen(g));
          for (let k = 1; k <= plan.allocs; k++) call(result, 'allocRegister', () => p.allocRegister(g, k, 16, site));
          break;
        case HANDLE:
          call(result, 'granuleOpen', () => p.granuleOpen(g));
          call(result, 'granule', () => handles.set(j, p.granule(g)));
          for (let k = 1; k <= plan.allocs; k++) call(result, 'Granule.register', () => handles.get(j).register(k, 16, site));
          break;
        default:
          call(result, 'Batch.commit (open, registers)', () => {
            const b = p.batch();
            b.granuleOpen(g);
            for (let k = 1; k <= plan.allocs; k++) b.allocRegister(g, k, 16, site);
            return b.commit().failed;
          }, 0);
      }
      result.registers += plan.allocs;
    }
    if (s >= plan.window) {
      const c = j - plan.window;
      const g = ownGranule(actor, c);
      const frees = plan.allocs - (isPinned(plan, c) ? 1 : 0);
      switch (wayOf(c)) {
        case PLAIN:
          for (let k = 1; k <= frees; k++) call(result, 'allocDeregister', () => p.allocDeregister(g, k));
          call(result, `granuleClose(${g})`, () => p.granuleClose(g), !isPinned(plan, c));
          break;
        case HANDLE: {
          const h = handles.get(c);
          handles.delete(c);
          for (let k = 1; k <= frees; k++) call(result, 'Granule.deregister', () => h.deregister(k));
          call(result, `Granule.close(${g})`, () => h.close(), !isPinned(plan, c));
          break;
        }
        default:
          call(result, `Batch.commit (deregisters, close ${g})`, () => {
            const b = p.batch();
            for (let k = 1; k <= frees; k++) b.allocDeregister(g, k);
            b.granuleClose(g);
            const r = b.commit();
            return r.failed === 0 && r.closes[0] === (isPinned(plan, c) ? 0 : 1);
          }, true);
      }
    }
    // Shared granules: odd allocations through this thread's handle on the granule (its counts
    // reach the profiler when the main thread closes it, or when this view ends, whichever first).
    if (s < plan.sharedRegisters) {
      const i = phase * plan.sharedRegisters + s;
      const g = plan.sharedIds[i % plan.sharedIds.length];
      if (i % 2 === 1) call(result, 'shared Granule.register', () => p.granule(g).register(sharedAlloc(actor, i), 8, site));
      else call(result, 'shared allocRegister', () => p.allocRegister(g, sharedAlloc(actor, i), 8, site));
      result.registers++;
    }
    if (s >= plan.sharedDelay && s - plan.sharedDelay < plan.sharedRegisters) {
      const i = phase * plan.sharedRegisters + s - plan.sharedDelay;
      const g = plan.sharedIds[i % plan.sharedIds.length];
      if (isKept(actor, i)) {
        // left live: the granule closes pinned at the end
      } else if (i % 2 === 1) {
        call(result, 'shared Granule.deregister', () => p.granule(g).deregister(sharedAlloc(actor, i)));
      } else {
        call(result, 'shared allocDeregister', () => p.allocDeregister(g, sharedAlloc(actor, i)));
      }
    }
    if (s % plan.queryEvery === 0) {
      call(result, 'snapshot', () => checkView(result, p.snapshot(), true));
      call(result, 'sweep', () => checkView(result, p.sweep(), false));
      result.queries++;
    }
    if (plan.buffered && s % plan.queryEvery === plan.queryEvery >> 1) {
      call(result, 'drainReports', () => {
        for (const r of p.drainReports(16)) {
          result.drained++;
          result.drainedSum = (result.drainedSum + r.granuleId) & 0xffff_ffff_ffff_ffffn;
        }
      });
    }
    if (s % plan.yieldEvery === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  if (plan.diagnostic) { // once a phase: what a reader of the profiler would call
    call(result, 'diagnosticSummary', () => p.diagnosticSummary());
    call(result, 'lifetimeRecords', () => p.lifetimeRecords(8));
    call(result, 'textReport', () => p.textReport(5));
  }
  call(result, 'metrics', () => p.metrics());
}

/**
 * The whole run of one actor: the first rendezvous (everyone ready), then each
 * phase followed by two rendezvous (phase over; checkpoint taken). `between`
 * runs between those two, while every other actor waits (the main thread
 * checks the counters there).
 */
async function runActor(p, plan, actor, site, rendezvous, between = () => {}) {
  const result = newResult(actor);
  if (!rendezvous()) {
    result.rendezvousFailed = true;
    return result;
  }
  for (let phase = 0; phase < plan.phases; phase++) {
    await runPhase(p, plan, actor, phase, site, result);
    if (!rendezvous()) {
      result.rendezvousFailed = true;
      break;
    }
    between(phase);
    if (!rendezvous()) {
      result.rendezvousFailed = true;
      break;
    }
  }
  for (const key of ['lastCloses', 'registers', 'lastRegisters', 'lastTotalAllocs']) delete result[key];
  return result;
}

module.exports = { runActor, ownGranule, sharedAlloc, isPinned, isKept };
