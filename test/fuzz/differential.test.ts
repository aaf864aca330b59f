// Bounded differential fuzzing of the native Profiler against the reference model: at least
// 200 000 operations per configuration (mode x storage), seeded so a failure replays.
//   DRAINPROF_FUZZ_OPS=N      operations per configuration (default 200000)
//   DRAINPROF_FUZZ_SEED=S     base seed (default fixed, so `npm test` is repeatable)
import { describe, expect, it } from 'vitest';
import { Profiler } from '../../lib/index.js';
import { CONFIGS, campaign, type ProfilerCtor } from './engine.js';

const OPS = Number(process.env.DRAINPROF_FUZZ_OPS ?? 200_000);
const SEED = Number(process.env.DRAINPROF_FUZZ_SEED ?? 20_241_124);

describe('differential fuzzing: native Profiler vs reference model', () => {
  for (const config of CONFIGS) {
    it(`${config.mode} / ${config.storage}: ${OPS} ops`, async () => {
      const res = await campaign(Profiler as unknown as ProfilerCtor, config, SEED, OPS, {
        maxDivergences: 3,
        log: (s) => console.error(s),
      });
      console.log(`${config.mode}/${config.storage}: ${res.ops} ops in ${res.episodes} episodes, ` +
        `${res.divergences.length} divergences (base seed ${SEED})`);
      expect(res.divergences.map((d) => `${d.message}\n${d.repro}`)).toEqual([]);
      if (res.divergences.length === 0) expect(res.ops).toBeGreaterThanOrEqual(OPS);
    }, 600_000);
  }
});
