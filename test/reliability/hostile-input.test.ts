// README.md's "Hostile input" table, executed: each row's call runs against the real package on
// fresh fixtures, and must end as the row says (error class and code, acceptance, a warning).
// A row that throws TypeError or RangeError must also leave every counter of the fixtures as it
// was. The table is read from the README, so the documentation cannot drift from the behaviour.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Profiler, root, type Profiler as ProfilerType } from '../helpers.js';
import { nodeGypRebuild, stage, type Built } from '../native-consumer/build.js';

const require = createRequire(import.meta.url);

interface Row {
  line: number;
  code: string;
  what: string;
  result: string;
}

type Expected =
  | { kind: 'throws'; cls: 'TypeError' | 'RangeError' | 'Error'; code: string | undefined }
  | { kind: 'accepted'; returns?: string }
  | { kind: 'warning'; type: string; code: string };

/** The rows of the table in README.md's "Hostile input" section. */
function tableRows(): Row[] {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Hostile input\n');
  expect(start, 'README.md has a "Hostile input" section').toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  const firstLine = readme.slice(0, start).split('\n').length + 1;
  const rows: Row[] = [];
  readme.slice(start + 1, end).split('\n').forEach((text, i) => {
    if (!text.startsWith('| `')) return;
    const cells = text.slice(1, -1).split(' | ').map((c) => c.trim());
    expect(cells, `README.md:${firstLine + i}: three cells`).toHaveLength(3);
    const code = /^`([^`]+)`$/.exec(cells[0]!);
    expect(code, `README.md:${firstLine + i}: the call is one code span`).not.toBeNull();
    rows.push({ line: firstLine + i, code: code![1]!, what: cells[1]!, result: cells[2]! });
  });
  return rows;
}

function expected(row: Row): Expected {
  const r = row.result;
  let m = /^`(TypeError|RangeError|Error)`(?: `(ERR_[A-Z_]+)`)?/.exec(r);
  if (m) {
    if (m[2] === undefined) expect(r, `README.md:${row.line}: a result without a code says so`).toMatch(/no `\.code`/);
    return { kind: 'throws', cls: m[1] as 'TypeError', code: m[2] };
  }
  m = /^warning `(\w+)` `(\w+)`$/.exec(r);
  if (m) return { kind: 'warning', type: m[1]!, code: m[2]! };
  m = /^accepted(?:, returns `([^`]+)`)?/.exec(r);
  if (m) return { kind: 'accepted', returns: m[1] };
  throw new Error(`README.md:${row.line}: unknown result "${r}"`);
}

/** Counters a rejected argument must not move (the snapshot without its time). */
function counters(p: ProfilerType): Record<string, number> | null {
  if (p.destroyed) return null;
  const { timestampNs: _, ...rest } = p.snapshot();
  return rest;
}

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<unknown>;

/** Where the last top-level statement of `code` starts (after the last `;` outside brackets and strings). */
function lastStatement(code: string): number {
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    if (quote !== '') {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === "'" || c === '"' || c === '`') quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (c === ';' && depth === 0) start = i + 1;
  }
  return start;
}

/** The row's code as a function of the fixtures, returning the value of its last statement. */
function compile(code: string, names: string[]): (...a: unknown[]) => Promise<unknown> {
  const at = lastStatement(code);
  return new AsyncFunction(...names, `${code.slice(0, at)}\nreturn (${code.slice(at).trim()});`);
}

let built: Built;
let addon: { acquire(handle: unknown): void; release(): void };

beforeAll(() => {
  // attach(): drainprof_node_acquire() in a dependent addon (the concurrency test's).
  built = stage('hostile-', path.join(root, 'test', 'reliability', 'concurrency'), ['binding.gyp', 'threads.c']);
  nodeGypRebuild(built.dir);
  addon = require(path.join(built.dir, 'build', 'Release', 'threads.node'));
}, 240_000);

afterAll(() => built?.remove());

/** Fresh fixtures for one row, as the README describes them. */
function fixtures() {
  const p = new Profiler();
  const d = new Profiler({ mode: 'diagnostic' });
  for (const q of [p, d]) {
    q.granuleOpen(1);
    q.allocRegister(1, 1, 8);
  }
  const gone = new Profiler();
  gone.destroy();
  const attach = (handle: unknown) => {
    addon.acquire(handle);
    addon.release();
  };
  // A callback is asynchronous and does not keep the process alive: the interval does, meanwhile.
  const waiting = <T>(run: (resolve: (v: T) => void, reject: (e: unknown) => void) => void) => {
    const alive = setInterval(() => {}, 1000);
    return new Promise<T>(run).finally(() => clearInterval(alive));
  };
  const inOnPinning = (fn: (q: ProfilerType) => unknown) => waiting((resolve, reject) => {
    const q: ProfilerType = new Profiler({ mode: 'diagnostic', onPinning: () => resolve(fn(q)), onError: reject });
    q.granuleOpen(1);
    q.allocRegister(1, 1, 8);
    q.granuleClose(1);
  });
  const pinnedClose = (options: { onPinning: (...a: unknown[]) => unknown; onError?: (e: unknown) => unknown }) =>
    waiting<void>((resolve) => {
      const q = new Profiler({
        mode: 'diagnostic',
        ...options,
        onPinning: (...a: unknown[]) => {
          setImmediate(resolve); // after the callbacks, and what they throw, were handled
          return options.onPinning(...a);
        },
      });
      q.granuleOpen(1);
      q.allocRegister(1, 1, 8);
      q.granuleClose(1);
    });
  return { p, d, gone, attach, inOnPinning, pinnedClose, Profiler };
}

const ROWS = tableRows();

describe("README.md's hostile input table", () => {
  it('has a row for every kind of hostile input the issue names', () => {
    const calls = ROWS.map((r) => r.code).join('\n');
    for (const needle of ['NaN', '(-1)', '1.5', '2 ** 53 + 1', '2 ** 64', '-1n', '2n ** 64n)', "'2'", '{}', 'granuleOpen()',
      '.call({})', 'fromShared(', 'attach(', 'modes:', "mode: 'fast'", 'gone.', 'inOnPinning(', 'pinnedClose(']) {
      expect(calls, needle).toContain(needle);
    }
    const codes = new Set(ROWS.map((r) => expected(r)).flatMap((e) => (e.kind === 'throws' && e.code ? [e.code] : [])));
    for (const code of ['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_OUT_OF_RANGE', 'ERR_GRANULE_ALREADY_OPEN',
      'ERR_GRANULE_NOT_OPEN', 'ERR_CAPACITY_FULL', 'ERR_UNBALANCED_CLOSE', 'ERR_ALLOC_NOT_LIVE', 'ERR_WRONG_MODE',
      'ERR_PROFILER_DESTROYED']) {
      expect(codes, code).toContain(code);
    }
  });

  for (const row of ROWS) {
    it(`README.md:${row.line}: ${row.code}`, async () => {
      const want = expected(row);
      const f = fixtures();
      const names = Object.keys(f);
      const fn = compile(row.code, names);
      const before = [counters(f.p), counters(f.d)];
      const warnings: { name: string; code?: string }[] = [];
      const onWarning = (w: Error & { code?: string }) => warnings.push({ name: w.name, code: w.code });
      process.on('warning', onWarning);
      let outcome: { threw: false; value: unknown } | { threw: true; error: unknown };
      try {
        outcome = { threw: false, value: await fn(...Object.values(f)) };
      } catch (error) {
        outcome = { threw: true, error };
      } finally {
        await new Promise((resolve) => setImmediate(resolve)); // process warnings are emitted on a later tick
        process.off('warning', onWarning);
      }
      if (want.kind === 'throws') {
        expect(outcome.threw, `${row.code} throws`).toBe(true);
        const error = (outcome as { error: Error & { code?: string } }).error;
        expect(error.constructor.name, String(error)).toBe(want.cls);
        expect(error.code, String(error)).toBe(want.code);
        expect(error.message.length).toBeGreaterThan(0);
        if (want.cls !== 'Error') {
          expect([counters(f.p), counters(f.d)].map((c, i) => c ?? before[i]), 'no counter moved').toEqual(before);
        }
      } else {
        if (outcome.threw) throw (outcome as { error: unknown }).error;
        if (want.kind === 'accepted' && want.returns !== undefined) {
          expect((outcome as { value: unknown }).value).toEqual(await compile(want.returns, [])());
        }
        if (want.kind === 'warning') expect(warnings).toContainEqual({ name: want.type, code: want.code });
        else expect(warnings).toEqual([]);
      }
      for (const q of [f.p, f.d]) q.destroy();
    });
  }
});
