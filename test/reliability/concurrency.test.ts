// Concurrency: two native threads (a dependent addon counting through profiler.nativeHandle()),
// the JavaScript main thread and two worker_threads (Profiler.fromShared views) work on one
// profiler at once: opens, registers, deregisters (also late frees of pins), closes, snapshots,
// sweeps, drains, summaries, text reports, metrics, and onPinning deliveries on the main thread.
// The JS actors count in all three ways (plain calls, granule handles, batches), and count into
// the shared granules partly through handles whose counts reach the profiler when the main thread
// closes those granules, after one worker destroyed its view and the other exited.
// Each actor has granules of its own and registers into shared ones, so every counter is
// predictable: the test checks them exactly at a checkpoint after every phase (all actors meet at
// a rendezvous, nobody counts while the main thread reads) and at the end.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { internal, Profiler, root, tick, type Profiler as ProfilerType } from '../helpers.js';
import { nodeGypRebuild, stage, type Built } from '../native-consumer/build.js';

const require = createRequire(import.meta.url);
const DIR = path.join(root, 'test', 'reliability', 'concurrency');
const { ownGranule, sharedAlloc, isPinned, isKept } = require('./concurrency/actor.cjs');
const { runActor } = require('./concurrency/actor.cjs');

interface ActorResult {
  actor: number;
  failed: number;
  firstFailure: string;
  broken: number;
  queries: number;
  overlapped: number;
  drained: number;
  drainedSum: bigint;
  rendezvousFailed: boolean;
}

interface Threads {
  acquire(handle: unknown): void;
  release(): void;
  rendezvousInit(parties: number, timeoutMs: number): void;
  rendezvous(): boolean;
  abort(): void;
  start(threads: number, firstActor: number, plan: Plan): void;
  join(): ActorResult[];
  snapshot(): number[];
}

interface Plan {
  phases: number;
  granules: number; // own granules per phase
  allocs: number; // per own granule; a pinned one keeps its last
  pinEvery: number; // own granule j is pinned when (j + 1) % pinEvery === 0
  window: number; // own granules open at once, minus one
  sharedIds: number[];
  sharedRegisters: number; // per phase, into sharedIds round robin
  sharedDelay: number; // steps between a shared register and its deregister
  queryEvery: number;
  yieldEvery: number;
  cPauseMicros: number; // a C thread sleeps this long after each step, so that its phase lasts as long as a JS one
  diagnostic: boolean;
  buffered: boolean;
}

// Actors 0 and 1 are native threads, 2 the main thread, 3 and 4 workers.
const C_THREADS = 2;
const MAIN = 2;
const WORKERS = [3, 4];
const ACTORS = C_THREADS + 1 + WORKERS.length;
const SHARED_IDS = [1, 2, 3, 4, 5, 6]; // actor a keeps one allocation in SHARED_IDS[a % 6]: five of six pinned

function planFor(diagnostic: boolean, buffered: boolean): Plan {
  return {
    phases: 10, granules: 400, allocs: 4, pinEvery: 5, window: 4, sharedIds: SHARED_IDS, sharedRegisters: 120,
    sharedDelay: 10, queryEvery: 16, yieldEvery: 32, cPauseMicros: 20, diagnostic, buffered,
  };
}

/** The counters after `phases` phases of every actor, from the plan alone. */
function expectedAfter(plan: Plan, phases: number) {
  let closes = 0;
  let pinned = 0;
  let allocs = 0;
  let deallocs = 0;
  let lifetimeRecords = 0;
  const pinsIn = (from: number) => {
    let n = 0;
    for (let j = from; j < from + plan.granules; j++) n += isPinned(plan, j) ? 1 : 0;
    return n;
  };
  for (let a = 0; a < ACTORS; a++) {
    for (let phase = 0; phase < phases; phase++) {
      const pins = pinsIn(phase * plan.granules);
      let kept = 0;
      for (let i = phase * plan.sharedRegisters; i < (phase + 1) * plan.sharedRegisters; i++) kept += isKept(a, i) ? 1 : 0;
      closes += plan.granules;
      pinned += pins;
      allocs += plan.granules * plan.allocs + plan.sharedRegisters;
      deallocs += plan.granules * plan.allocs - pins + plan.sharedRegisters - kept;
      if (plan.diagnostic && phase > 0) {
        const late = pinsIn((phase - 1) * plan.granules);
        deallocs += late;
        lifetimeRecords += late;
      }
    }
  }
  return { totalCloses: closes, pinnedCloses: pinned, drainableCloses: closes - pinned, totalAllocs: allocs,
    totalDeallocs: deallocs, lifetimeRecords };
}

/** Every granule that closes pinned: each actor's pinned own granules, then the shared ones that keep an allocation. */
function expectedPinnedIds(plan: Plan): bigint[] {
  const ids: bigint[] = [];
  for (let a = 0; a < ACTORS; a++) {
    for (let j = 0; j < plan.phases * plan.granules; j++) if (isPinned(plan, j)) ids.push(BigInt(ownGranule(a, j)));
  }
  const keptIn = new Set(Array.from({ length: ACTORS }, (_, a) => plan.sharedIds[a % plan.sharedIds.length]));
  for (const id of plan.sharedIds) if (keptIn.has(id)) ids.push(BigInt(id));
  return ids;
}

const sum64 = (ids: bigint[]) => ids.reduce((s, id) => (s + id) & 0xffff_ffff_ffff_ffffn, 0n);

/** The 1-based line of threads.c that contains `text`. */
function lineOf(text: string): number {
  const lines = fs.readFileSync(path.join(DIR, 'threads.c'), 'utf8').split('\n');
  const index = lines.findIndex((l) => l.includes(text));
  expect(index, `threads.c contains ${text}`).toBeGreaterThanOrEqual(0);
  return index + 1;
}

const siteOf = (actor: number) => (actor === MAIN ? 'main.js:11:5' : `worker-${actor}.js:33:3`);

let built: Built;
let addonPath: string;
let threads: Threads;

beforeAll(() => {
  built = stage('reliability-', DIR, ['binding.gyp', 'threads.c']);
  nodeGypRebuild(built.dir);
  addonPath = path.join(built.dir, 'build', 'Release', 'threads.node');
  threads = require(addonPath) as Threads;
}, 240_000);

afterAll(() => built?.remove());

interface Received {
  granuleId: bigint;
  allocId: bigint;
  site: string;
  pinningCount: number;
}

const CONFIGS = [
  { mode: 'production', storage: 'slot-array', delivery: 'none' },
  { mode: 'production', storage: 'hash-map', delivery: 'none' },
  { mode: 'diagnostic', storage: 'slot-array', delivery: 'onPinning' },
  { mode: 'diagnostic', storage: 'hash-map', delivery: 'buffered' },
] as const;

describe('one profiler, five threads of three kinds', () => {
  for (const config of CONFIGS) {
    it(`${config.mode} / ${config.storage} / reports: ${config.delivery}`, async () => {
      const diagnostic = config.mode === 'diagnostic';
      const plan = planFor(diagnostic, config.delivery === 'buffered');
      const received: Received[] = [];
      const inCallback: string[] = [];
      const baseCores = internal.binding.testHooks.liveCores();
      const p: ProfilerType = new Profiler({
        mode: config.mode, storage: config.storage, slotCapacity: SHARED_IDS.length + ACTORS * (plan.window + 1),
        bucketCount: 2, maxBufferedReports: 1_000_000, lifetimeLimit: 1_000_000,
        onPinning: config.delivery === 'onPinning' ? (r) => {
          received.push({ granuleId: r.granuleId, allocId: r.pinningAllocs[0]!.allocId, pinningCount: r.pinningCount,
            site: `${r.pinningAllocs[0]!.site?.file}:${r.pinningAllocs[0]!.site?.line}` });
          // Calls inside onPinning see the close already counted, while the other threads go on.
          const s = p.snapshot();
          if (s.pinnedCloses < received.length || s.totalCloses !== s.drainableCloses + s.pinnedCloses) {
            inCallback.push(`report ${received.length}: ${JSON.stringify(s)}`);
          }
        } : undefined,
      });
      for (const id of plan.sharedIds) p.granuleOpen(id);
      threads.acquire(p.nativeHandle());
      threads.rendezvousInit(ACTORS, 30_000);
      try {
        const token = p.share();
        const workers = WORKERS.map((actor, n) => {
          const w = new Worker(path.join(DIR, 'worker.cjs'), {
            workerData: { drainprof: path.join(root, 'dist', 'index.js'), addon: addonPath, token, plan, actor,
              site: siteOf(actor), destroy: n === 0 },
          });
          const ready = new Promise<void>((resolve, reject) => {
            w.on('message', (m) => (m.ready ? resolve() : m.error ? reject(new Error(m.error)) : undefined));
            w.once('error', reject);
          });
          const result = new Promise<ActorResult>((resolve, reject) => {
            w.on('message', (m) => (m.result ? resolve(m.result) : m.error ? reject(new Error(m.error)) : undefined));
            w.once('error', reject);
          });
          const exit = new Promise<number>((resolve) => w.once('exit', resolve));
          return { ready, result, exit };
        });
        await Promise.all(workers.map((w) => w.ready));

        const checkpoints: { js: ReturnType<ProfilerType['snapshot']>; sweep: ReturnType<ProfilerType['snapshot']>; c: number[] }[] = [];
        let cResults: ActorResult[] = [];
        let mainResult: ActorResult;
        threads.start(C_THREADS, 0, plan);
        try {
          mainResult = await runActor(p, plan, MAIN, siteOf(MAIN), threads.rendezvous,
            () => checkpoints.push({ js: p.snapshot(), sweep: p.sweep(), c: threads.snapshot() }));
        } finally {
          if (checkpoints.length < plan.phases) threads.abort();
          cResults = threads.join();
        }
        const workerResults = await Promise.all(workers.map((w) => w.result));
        expect(await Promise.all(workers.map((w) => w.exit))).toEqual([0, 0]);

        // Every actor made every call as planned, and saw consistent snapshots and sweeps.
        const results = [...cResults, mainResult, ...workerResults].sort((a, b) => a.actor - b.actor);
        expect(results.map((r) => r.actor)).toEqual([0, 1, 2, 3, 4]);
        for (const r of results) {
          expect({ actor: r.actor, failed: r.failed, firstFailure: r.firstFailure, broken: r.broken,
            rendezvousFailed: r.rendezvousFailed }).toEqual({ actor: r.actor, failed: 0, firstFailure: '', broken: 0,
            rendezvousFailed: false });
          expect(r.queries).toBe(plan.phases * Math.ceil((plan.granules + plan.window) / plan.queryEvery));
        }
        // The precondition of the test rather than its claim: the actors did run at the same time (a query saw
        // another actor's registers arrive since the same actor's previous query, within a phase).
        expect(results.reduce((n, r) => n + r.overlapped, 0)).toBeGreaterThan(0);

        // Exact counters at each checkpoint, in JavaScript's and in C's reading.
        expect(checkpoints).toHaveLength(plan.phases);
        checkpoints.forEach(({ js, sweep, c }, phase) => {
          const want = expectedAfter(plan, phase + 1);
          expect({ phase, ...pick(js) }).toEqual({ phase, ...want, openGranules: plan.sharedIds.length,
            failedOpens: 0, failedCloses: 0, failedRegisters: 0, failedDeregisters: 0, unbalancedCloses: 0,
            droppedReports: 0, droppedLifetimeRecords: 0 });
          expect(c).toEqual([want.totalCloses, want.drainableCloses, want.pinnedCloses, plan.sharedIds.length,
            want.totalAllocs, want.totalDeallocs, 0, 0, want.lifetimeRecords]);
          // Only the shared granules are open, five of them holding the one allocation an actor keeps.
          expect([sweep.totalCloses, sweep.pinnedCloses, sweep.drainableCloses]).toEqual([6, 5, 1]);
        });

        // The end: the main thread closes the shared granules; five of them keep an allocation.
        const pinnedShared = plan.sharedIds.map((id) => p.granuleClose(id)).filter((drainable) => !drainable).length;
        expect(pinnedShared).toBe(5);
        const final = p.snapshot();
        const want = expectedAfter(plan, plan.phases);
        expect(pick(final)).toEqual({
          totalCloses: want.totalCloses + 6, pinnedCloses: want.pinnedCloses + 5, drainableCloses: want.drainableCloses + 1,
          totalAllocs: want.totalAllocs, totalDeallocs: want.totalDeallocs, lifetimeRecords: want.lifetimeRecords,
          openGranules: 0, failedOpens: 0, failedCloses: 0, failedRegisters: 0, failedDeregisters: 0, unbalancedCloses: 0,
          droppedReports: 0, droppedLifetimeRecords: 0,
        });
        expect(final.peakOpenGranules).toBeGreaterThanOrEqual(plan.sharedIds.length + plan.window + 1);
        expect(final.peakOpenGranules).toBeLessThanOrEqual(plan.sharedIds.length + ACTORS * (plan.window + 1));

        // Reports: one per pinned close, whichever thread closed it.
        const pinnedIds = expectedPinnedIds(plan);
        expect(pinnedIds).toHaveLength(final.pinnedCloses);
        if (config.delivery === 'onPinning') {
          for (let i = 0; i < 400 && received.length < pinnedIds.length; i++) await tick(5);
          expect(received).toHaveLength(pinnedIds.length);
          expect(inCallback).toEqual([]);
          expect(received.map((r) => r.granuleId).sort(byValue)).toEqual([...pinnedIds].sort(byValue));
          // Each actor's reports arrive in its close order, naming its allocation site.
          const cOwn = `threads.c:${lineOf('DRAINPROF_ALLOC_REGISTER(prof, g, k, 16)')}`;
          const cShared = `threads.c:${lineOf('DRAINPROF_ALLOC_REGISTER(prof, g, shared_alloc(a, i), 8)')}`;
          for (let a = 0; a < ACTORS; a++) {
            const own = received.filter((r) => r.granuleId >> 32n === BigInt(a + 1));
            expect(own.map((r) => r.granuleId)).toEqual([...own.map((r) => r.granuleId)].sort(byValue));
            expect(own).toHaveLength(plan.phases * plan.granules / plan.pinEvery);
            const site = a < C_THREADS ? cOwn : siteOf(a).replace(/:\d+$/, '');
            expect(new Set(own.map((r) => `${r.site}|${r.allocId}|${r.pinningCount}`))).toEqual(new Set([`${site}|${plan.allocs}|1`]));
            const shared = received.find((r) => r.granuleId === BigInt(plan.sharedIds[a % plan.sharedIds.length]!))!;
            expect(shared).toMatchObject({ allocId: BigInt(sharedAlloc(a, a)), pinningCount: 1,
              site: a < C_THREADS ? cShared : siteOf(a).replace(/:\d+$/, '') });
          }
          expect(p.drainReports()).toEqual([]);
        } else if (config.delivery === 'buffered') {
          const rest = p.drainReports();
          const drained = results.reduce((n, r) => n + r.drained, 0);
          expect(drained + rest.length).toBe(pinnedIds.length);
          expect(drained).toBeGreaterThan(0);
          const sum = (results.reduce((s, r) => s + BigInt(r.drainedSum), 0n) + sum64(rest.map((r) => r.granuleId)))
            & 0xffff_ffff_ffff_ffffn;
          expect(sum).toBe(sum64(pinnedIds));
        } else {
          expect(received).toEqual([]);
        }

        // The views and the native hold end; the C profiler with the last of them.
        expect(internal.binding.testHooks.liveCores()).toBe(baseCores + 1);
        threads.release();
        expect(internal.binding.testHooks.liveCores()).toBe(baseCores + 1);
        p.destroy();
        expect(internal.binding.testHooks.liveCores()).toBe(baseCores);
      } catch (err) {
        threads.release(); // the hold of a failed run, so the next one can acquire
        p.destroy();
        throw err;
      }
    });
  }
});

const byValue = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

/** The counters of a snapshot the test predicts (not the time, dsr or peak). */
function pick(s: ReturnType<ProfilerType['snapshot']>) {
  return {
    totalCloses: s.totalCloses, pinnedCloses: s.pinnedCloses, drainableCloses: s.drainableCloses,
    totalAllocs: s.totalAllocs, totalDeallocs: s.totalDeallocs, lifetimeRecords: s.lifetimeRecords,
    openGranules: s.openGranules, failedOpens: s.failedOpens, failedCloses: s.failedCloses,
    failedRegisters: s.failedRegisters, failedDeregisters: s.failedDeregisters, unbalancedCloses: s.unbalancedCloses,
    droppedReports: s.droppedReports, droppedLifetimeRecords: s.droppedLifetimeRecords,
  };
}
