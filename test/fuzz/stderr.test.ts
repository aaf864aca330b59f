// The stderr lines of verbose and logInterval (spec §6, byte-exact), differentially: a child
// process runs a seeded op sequence on the built package (dist/) and its stderr must equal,
// byte for byte, the lines the reference model predicts. A child, because the C core writes
// to fd 2 and a process cannot capture its own fd 2 from JS.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ModelProfiler } from '../model/model.js';
import { CONFIGS, Rng, mixSeed } from './engine.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dist = `${root}dist/index.js`;

type StderrOp = [op: 'open' | 'close' | 'register' | 'deregister', gid: string, aid: number];

const CHILD = `
const { Profiler } = require(process.argv[1]);
const { options, ops } = JSON.parse(process.argv[2]);
const p = new Profiler(options);
for (const [op, gid, aid] of ops) {
  const g = BigInt(gid);
  try {
    if (op === 'open') p.granuleOpen(g);
    else if (op === 'close') p.granuleClose(g);
    else if (op === 'register') p.allocRegister(g, aid, 8, 'x.js');
    else p.allocDeregister(g, aid);
  } catch {}
}
p.destroy();
`;

function generate(seed: number, n: number): StderrOp[] {
  const rng = new Rng(seed);
  const gids = ['0', '1', '7', '18446744073709551615', '9007199254740993'];
  const ops: StderrOp[] = [];
  for (let i = 0; i < n; i++) {
    const op = rng.pick(['open', 'open', 'close', 'close', 'register', 'register', 'register', 'deregister', 'deregister'] as const);
    ops.push([op, rng.pick(gids), rng.int(3)]);
  }
  return ops;
}

describe('stderr lines (verbose, logInterval) match the model byte for byte', () => {
  for (const config of CONFIGS) {
    it(`${config.mode} / ${config.storage}`, () => {
      expect(existsSync(dist), `${dist} missing: build with tsc -p tsconfig.json first`).toBe(true);
      const seed = mixSeed(4242, CONFIGS.indexOf(config));
      const rng = new Rng(seed);
      const options = { ...config, verbose: true, logInterval: 1 + rng.int(5), slotCapacity: 3, maxBufferedReports: 2 };
      const ops = generate(seed, 3000);
      const model = new ModelProfiler(options);
      for (const [op, gid, aid] of ops) {
        const g = BigInt(gid);
        try {
          if (op === 'open') model.granuleOpen(g);
          else if (op === 'close') model.granuleClose(g);
          else if (op === 'register') model.allocRegister(g, aid, 8, 'x.js');
          else model.allocDeregister(g, aid);
        } catch {
          // errors are compared by the differential fuzzer; here only the text counts
        }
      }
      const child = spawnSync(process.execPath, ['-e', CHILD, dist, JSON.stringify({ options, ops })], {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
      expect(child.status, child.stderr.slice(0, 2000)).toBe(0);
      expect(child.stdout).toBe(''); // nothing ever goes to stdout
      const lines = child.stderr.split('\n');
      expect(lines.pop()).toBe('');
      expect(model.stderr.length).toBeGreaterThan(100);
      expect(lines.length).toBe(model.stderr.length);
      for (let i = 0; i < lines.length; i++) {
        if (lines[i] !== model.stderr[i]) expect(`line ${i}: ${lines[i]}`).toBe(`line ${i}: ${model.stderr[i]}`);
      }
    }, 60_000);
  }

  it('rounds the DSR as printf %.1f does (6.25 -> 6.2, half to even)', () => {
    expect(existsSync(dist), `${dist} missing: build with tsc -p tsconfig.json first`).toBe(true);
    const ops: StderrOp[] = [];
    for (let i = 0; i < 16; i++) {
      ops.push(['open', String(i), 0]);
      if (i > 0) ops.push(['register', String(i), 0]);
      ops.push(['close', String(i), 0]);
    }
    const options = { logInterval: 16 };
    const child = spawnSync(process.execPath, ['-e', CHILD, dist, JSON.stringify({ options, ops })], { encoding: 'utf8' });
    expect(child.stderr).toBe('drainprof: DSR=6.2% (15 pinned / 16 total)\n');
  });
});
