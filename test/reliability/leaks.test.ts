// Leaks: a soak in a child process (leaks/soak.cjs) creates, uses and ends profilers in every way
// the package allows, hundreds of times, and samples memory after a full GC. The measure is the
// C heap (glibc's mallinfo2(), every arena: the addon's and the core's allocations, not V8's
// heap), which grows by about 0.04 MiB over the measured rounds after warm-up; leaks planted in
// the addon grew it by 1.4 to 146 MiB (numbers in the README's "Reliability" section). RSS is
// bounded too, loosely: it also holds V8 and allocator caches that settle only slowly.
//
// The C core on its own is leak-checked by LeakSanitizer in `make check-asan` (npm test) and by
// valgrind in `make check-valgrind` (CI); the addon by valgrind in leaks/valgrind.sh (CI).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectCleanExit, root } from '../helpers.js';
import { nodeGypRebuild, stage, type Built } from '../native-consumer/build.js';

const DIR = path.join(root, 'test', 'reliability', 'leaks');
const ROUNDS = 250;
const WARMUP = 100;
const MiB = 1024 * 1024;

/** Growth bounds over the ROUNDS - WARMUP measured rounds (150). */
const BOUNDS = { malloc: 0.5 * MiB, rss: 24 * MiB, external: 1 * MiB, arrayBuffers: 1 * MiB };

interface Sample {
  round: number;
  malloc: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

let built: Built;
let mallinfo: string;

beforeAll(() => {
  built = stage('leaks-', DIR, ['binding.gyp', 'mallinfo.c']);
  nodeGypRebuild(built.dir);
  mallinfo = path.join(built.dir, 'build', 'Release', 'mallinfo.node');
}, 240_000);

afterAll(() => built?.remove());

describe.skipIf(process.platform !== 'linux')('native memory', () => {
  it(`stays flat over ${ROUNDS - WARMUP} rounds of creating, using and ending profilers`, () => {
    const r = spawnSync(process.execPath, ['--expose-gc', path.join(DIR, 'soak.cjs'), String(ROUNDS), String(WARMUP)], {
      cwd: root, encoding: 'utf8', timeout: 180_000, env: { ...process.env, DRAINPROF_MALLINFO: mallinfo },
    });
    expectCleanExit(r);
    const out = JSON.parse(r.stdout) as { samples: Sample[]; liveCores: number; reports: number; delivered: number };
    // The soak did what it claims: every report drained or delivered, every C profiler gone at the end.
    expect(out.reports).toBe(ROUNDS * 256);
    expect(out.delivered).toBe(ROUNDS * (256 + 64));
    expect(out.liveCores).toBe(0);
    expect(out.samples).toHaveLength((ROUNDS - WARMUP) / 10 + 1);
    expect(out.samples[0]!.malloc).toBeGreaterThan(0);
    // Growth: the least of the last three samples over the least of the first three. A leak grows
    // every sample; a passing spike (a compiler zone, a GC) moves one.
    const least = (samples: Sample[], k: keyof Sample) => Math.min(...samples.map((s) => s[k]));
    const growth = Object.fromEntries(Object.keys(BOUNDS).map((k) => [k,
      least(out.samples.slice(-3), k as keyof Sample) - least(out.samples.slice(0, 3), k as keyof Sample)]));
    const series = (k: keyof Sample) => out.samples.map((s) => (s[k] / MiB).toFixed(2)).join(' ');
    const report = `malloc MiB: ${series('malloc')}\nrss MiB: ${series('rss')}`;
    for (const [k, bound] of Object.entries(BOUNDS)) expect(growth[k], `${k} growth\n${report}`).toBeLessThan(bound);
  }, 180_000);
});
