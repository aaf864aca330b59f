/**
 * The programs in examples/js run, from a user project with drainprof installed, and show what
 * their header comments promise.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, makeUserProject, type UserProject } from './user-project';

const EXAMPLES = path.join(ROOT, 'examples', 'js');

describe('examples/js', () => {
  let user: UserProject;

  beforeAll(() => {
    user = makeUserProject('drainprof-examples-');
    for (const f of fs.readdirSync(EXAMPLES)) fs.copyFileSync(path.join(EXAMPLES, f), path.join(user.dir, f));
  });

  afterAll(() => user?.remove());

  const runExample = (file: string, args: string[] = []): string => {
    const r = spawnSync(process.execPath, [file, ...args], { cwd: user.dir, env: user.env, encoding: 'utf8', timeout: 120_000 });
    if (r.error) throw r.error;
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    return r.stdout;
  };

  it('every example has a usage header and is run by this test', () => {
    const files = fs.readdirSync(EXAMPLES).sort();
    expect(files).toEqual(['metrics-server.mjs', 'slab-diagnose.cjs']);
    for (const f of files) expect(fs.readFileSync(path.join(EXAMPLES, f), 'utf8')).toMatch(new RegExp(`^//.*\\n(//.*\\n)*//\\s+node examples/js/${f.replace('.', '\\.')}`));
  });

  it('slab-diagnose.cjs names the line that allocates cache entries, and the fix reaches DSR 1', () => {
    const out = runExample('slab-diagnose.cjs');
    const m = /^\s+1\s+slab-diagnose\.cjs:(\d+):\d+\s+(\d+)\s+(\d+)\s/m.exec(out);
    expect(m, out).not.toBeNull();
    const line = fs.readFileSync(path.join(EXAMPLES, 'slab-diagnose.cjs'), 'utf8').split('\n')[Number(m![1]) - 1];
    expect(line).toContain('// the cache entry');
    expect(out).toMatch(/^Top pinning sites \(1 of 1;/m);
    expect(out).toMatch(/With their own storage for cache entries: DSR 1 over \d+ slabs\.$/m);
  });

  it('metrics-server.mjs --once serves the drainability metrics', () => {
    const out = runExample('metrics-server.mjs', ['--once']);
    const value = (re: RegExp): number => Number(re.exec(out)?.[1]);
    const drainable = value(/^drainability_granule_closes_total\{allocator="slab-256",outcome="drainable"\} (\d+)$/m);
    const pinned = value(/^drainability_granule_closes_total\{allocator="slab-256",outcome="pinned"\} (\d+)$/m);
    const ratio = value(/^drainability_satisfaction_ratio\{allocator="slab-256"\} ([\d.]+)$/m);
    // 64 000 objects in slabs of 64: 999 retired; one object in 500 is cached.
    expect(drainable + pinned).toBe(999);
    expect(pinned).toBeGreaterThan(0);
    expect(ratio).toBeCloseTo(drainable / (drainable + pinned), 12);
  });
});
