// Long differential fuzzing run: >= 10 000 000 operations per configuration, each divergence
// printed with its seed and shrunk to a minimal reproduction. Not part of `npm test`; run with
//
//   npx vitest run --config test/fuzz/vitest.long.config.mts
//
// Environment:
//   DRAINPROF_LONG_OPS=N       operations per configuration (default 10000000)
//   DRAINPROF_FUZZ_SEED=S      base seed (default: random, printed first)
//   DRAINPROF_LONG_CONFIGS=a,b only these configurations, e.g. diagnostic/hash-map
//   DRAINPROF_LONG_MAX_DIVERGENCES=N  stop a configuration after N divergences (default 20)
import { expect, it } from 'vitest';
import { Profiler } from '../../lib/index.js';
import { CONFIGS, campaign, type ProfilerCtor } from './engine.js';

const OPS = Number(process.env.DRAINPROF_LONG_OPS ?? 10_000_000);
const SEED = Number(process.env.DRAINPROF_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ONLY = process.env.DRAINPROF_LONG_CONFIGS?.split(',').map((s) => s.trim());
const MAX_DIVERGENCES = Number(process.env.DRAINPROF_LONG_MAX_DIVERGENCES ?? 20);
const CHUNK = 250_000;

const say = (s: string) => process.stdout.write(`${s}\n`);

it(`long differential run: ${OPS} ops per configuration`, async () => {
  say(`drainprof long run: base seed ${SEED}, ${OPS} ops per configuration`);
  const configs = CONFIGS.filter((c) => ONLY === undefined || ONLY.includes(`${c.mode}/${c.storage}`));
  let totalOps = 0;
  let totalDivergences = 0;
  const started = Date.now();
  for (const config of configs) {
    const name = `${config.mode}/${config.storage}`;
    let ops = 0;
    let divergences = 0;
    // Chunks with their own base seeds, so progress shows and any chunk replays on its own.
    for (let chunk = 0; ops < OPS && divergences < MAX_DIVERGENCES; chunk++) {
      const chunkSeed = (SEED + chunk * 7919) >>> 0;
      const res = await campaign(Profiler as unknown as ProfilerCtor, config, chunkSeed, Math.min(CHUNK, OPS - ops), {
        maxDivergences: MAX_DIVERGENCES - divergences,
        log: (s) => say(`[${name} chunk seed ${chunkSeed}] ${s}`),
      });
      ops += res.ops;
      divergences += res.divergences.length;
      if (chunk % 8 === 7) say(`  ${name}: ${ops} ops, ${divergences} divergences, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    say(`${name}: ${ops} ops, ${divergences} divergences`);
    totalOps += ops;
    totalDivergences += divergences;
  }
  say(`TOTAL: ${totalOps} ops over ${configs.length} configurations, ${totalDivergences} divergences, ` +
    `base seed ${SEED}, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  expect(totalDivergences).toBe(0);
}, 0);

// A production granule handle counts in an Int32Array word that lib/ folds into the core at
// 2^31-1: cross it (about 2^31 calls, ~20-30 s) and check every count arrived exactly once.
it('granule handle counts stay exact across the 2^31 fold', () => {
  const p = new Profiler();
  try {
    p.granuleOpen(1);
    const h = p.granule(1);
    const n = 2 ** 31 + 3;
    for (let i = 0; i < n; i++) h.register();
    for (let i = 0; i < 5; i++) h.deregister();
    expect(p.snapshot()).toMatchObject({ totalAllocs: n, totalDeallocs: 5 });
    expect(p.sweep()).toMatchObject({ pinnedCloses: 1, drainableCloses: 0 });
    expect(h.close()).toBe(false);
    expect(p.snapshot()).toMatchObject({ totalAllocs: n, totalDeallocs: 5, pinnedCloses: 1, openGranules: 0 });
    say(`fold check: ${n} handle registers counted exactly`);
  } finally {
    p.destroy();
  }
}, 0);
