// Every error path: its class, its code, and that a rejected argument moves no counter.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { MATRIX, Profiler, expectError, expectCleanExit, internal, root } from './helpers.js';

const BAD_TYPES: unknown[] = ['5', '', undefined, null, true, {}, [], Symbol('x'), () => 5, new Number(5)];
const OUT_OF_RANGE: unknown[] = [-1, -0.5, 1.5, NaN, Infinity, -Infinity, 2 ** 53, Number.MAX_VALUE, -1n, 2n ** 64n, 2n ** 70n];

describe('id and size arguments', () => {
  it.each(BAD_TYPES.map((v) => [String(typeof v === 'symbol' ? 'symbol' : JSON.stringify(v) ?? typeof v), v]))(
    'refuses id %s with TypeError ERR_INVALID_ARG_TYPE and moves no counter', (_name, value) => {
      const p = new Profiler({ mode: 'diagnostic' });
      p.granuleOpen(1);
      const before = p.snapshot();
      expectError(() => p.granuleOpen(value as number), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectError(() => p.granuleClose(value as number), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectError(() => p.allocRegister(value as number, 1, 1), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectError(() => p.allocRegister(1, value as number, 1), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectError(() => p.allocRegister(1, 1, value as number), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectError(() => p.allocDeregister(value as number, 1), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectError(() => p.allocDeregister(1, value as number), TypeError, 'ERR_INVALID_ARG_TYPE');
      const after = p.snapshot();
      expect({ ...after, timestampNs: 0n }).toEqual({ ...before, timestampNs: 0n });
      p.destroy();
    });

  it.each(OUT_OF_RANGE.map((v) => [typeof v === 'bigint' ? `${v}n` : String(v), v]))(
    'refuses id %s with RangeError ERR_OUT_OF_RANGE and moves no counter', (_name, value) => {
      const p = new Profiler();
      p.granuleOpen(1);
      expectError(() => p.granuleOpen(value as number), RangeError, 'ERR_OUT_OF_RANGE');
      expectError(() => p.granuleClose(value as number), RangeError, 'ERR_OUT_OF_RANGE');
      expectError(() => p.allocRegister(value as number, 1, 1), RangeError, 'ERR_OUT_OF_RANGE');
      expectError(() => p.allocRegister(1, value as number, 1), RangeError, 'ERR_OUT_OF_RANGE');
      expectError(() => p.allocDeregister(1, value as number), RangeError, 'ERR_OUT_OF_RANGE');
      expect(p.snapshot()).toMatchObject({ totalAllocs: 0, totalDeallocs: 0, failedOpens: 0, failedCloses: 0 });
      p.destroy();
    });

  it('caps a bigint size at 2^53-1', () => {
    const p = new Profiler();
    p.granuleOpen(1);
    expectError(() => p.allocRegister(1, 1, 2n ** 53n), RangeError, 'ERR_OUT_OF_RANGE');
    expectError(() => p.allocRegister(1, 1, -1), RangeError, 'ERR_OUT_OF_RANGE');
    expect(p.snapshot().totalAllocs).toBe(0);
    p.destroy();
  });

  it('counts a call that reaches the core and fails there, then throws', () => {
    const p = new Profiler();
    expectError(() => p.allocRegister(9, 1, 1), Error, 'ERR_GRANULE_NOT_OPEN');
    expectError(() => p.allocDeregister(9, 1), Error, 'ERR_GRANULE_NOT_OPEN');
    expect(p.snapshot()).toMatchObject({ totalAllocs: 1, failedRegisters: 1, totalDeallocs: 1, failedDeregisters: 1 });
    p.destroy();
  });
});

describe.each(MATRIX)('state errors in $mode / $storage', ({ mode, storage }) => {
  it('ERR_GRANULE_ALREADY_OPEN, ERR_GRANULE_NOT_OPEN', () => {
    const p = new Profiler({ mode, storage });
    p.granuleOpen(1);
    const e = expectError(() => p.granuleOpen(1), Error, 'ERR_GRANULE_ALREADY_OPEN');
    expect(e.message).toMatch(/granuleClose/);
    expect(p.snapshot()).toMatchObject({ openGranules: 1, failedOpens: 1 });
    expectError(() => p.granuleClose(2), Error, 'ERR_GRANULE_NOT_OPEN');
    p.granuleClose(1);
    expectError(() => p.granuleClose(1), Error, 'ERR_GRANULE_NOT_OPEN');
    expect(p.snapshot().failedCloses).toBe(2);
    p.destroy();
  });

  it('ERR_UNBALANCED_CLOSE releases the granule without counting a close', () => {
    const p = new Profiler({ mode, storage });
    p.granuleOpen(1);
    if (mode === 'production') {
      p.allocDeregister(1, 1);
      expectError(() => p.granuleClose(1), Error, 'ERR_UNBALANCED_CLOSE');
      expect(p.snapshot()).toMatchObject({ totalCloses: 0, openGranules: 0, unbalancedCloses: 1 });
      p.granuleOpen(1); // released
    } else {
      // Diagnostic mode refuses the deregister instead: nothing is live.
      expectError(() => p.allocDeregister(1, 1), Error, 'ERR_ALLOC_NOT_LIVE');
      expect(p.granuleClose(1)).toBe(true);
    }
    p.destroy();
  });

  it('ERR_CAPACITY_FULL names the way out', () => {
    const p = new Profiler({ mode, storage, slotCapacity: 1 });
    p.granuleOpen(1);
    if (storage === 'slot-array') {
      const e = expectError(() => p.granuleOpen(2), Error, 'ERR_CAPACITY_FULL');
      expect(e.message).toMatch(/slotCapacity \(1\)/);
      expect(e.message).toMatch(/hash-map/);
    } else {
      p.granuleOpen(2);
    }
    p.destroy();
  });

  it('ERR_WRONG_MODE for diagnostic-only calls on a production profiler', () => {
    const p = new Profiler({ mode, storage });
    if (mode === 'production') {
      expectError(() => p.drainReports(), Error, 'ERR_WRONG_MODE');
      expectError(() => p.diagnosticSummary(), Error, 'ERR_WRONG_MODE');
      expectError(() => p.lifetimeRecords(), Error, 'ERR_WRONG_MODE');
    } else {
      expect(p.drainReports()).toEqual([]);
      expect(p.diagnosticSummary().sites).toEqual([]);
      expect(p.lifetimeRecords()).toEqual([]);
    }
    p.destroy();
  });

  it('ERR_PROFILER_DESTROYED from every method after destroy(), before argument checks', () => {
    const p = new Profiler({ mode, storage });
    p.destroy();
    const calls: [string, () => unknown][] = [
      ['granuleOpen', () => p.granuleOpen(1)],
      ['granuleClose', () => p.granuleClose('bad' as never)],
      ['allocRegister', () => p.allocRegister(1, 1, 1)],
      ['allocDeregister', () => p.allocDeregister(1, 1)],
      ['snapshot', () => p.snapshot()],
      ['sweep', () => p.sweep()],
      ['reset', () => p.reset()],
      ['drainReports', () => p.drainReports(-1)],
      ['diagnosticSummary', () => p.diagnosticSummary()],
      ['lifetimeRecords', () => p.lifetimeRecords()],
      ['textReport', () => p.textReport()],
      ['metrics', () => p.metrics()],
    ];
    for (const [name, call] of calls) {
      const e = expectError(call, Error, 'ERR_PROFILER_DESTROYED');
      expect(e.message).toContain(name);
    }
  });
});

describe('options', () => {
  const typeErrors: [string, unknown][] = [
    ['options null', null], ['options string', 'diagnostic'], ['options array', []],
    ['mode number', { mode: 1 }], ['storage boolean', { storage: true }],
    ['slotCapacity string', { slotCapacity: '10' }], ['bucketCount bigint', { bucketCount: 10n }],
    ['logInterval string', { logInterval: '1' }], ['maxBufferedReports null', { maxBufferedReports: null }],
    ['verbose number', { verbose: 1 }], ['lifetimeLimit object', { lifetimeLimit: {} }],
    ['onPinning string', { onPinning: 'f' }], ['onError number', { onError: 1 }],
  ];
  it.each(typeErrors)('%s -> TypeError ERR_INVALID_ARG_TYPE', (_name, options) => {
    expectError(() => new Profiler(options as never), TypeError, 'ERR_INVALID_ARG_TYPE');
  });

  const valueErrors: [string, unknown][] = [
    ['mode fast', { mode: 'fast' }], ['storage tree', { storage: 'tree' }], ['unknown key', { slots: 4 }],
  ];
  it.each(valueErrors)('%s -> TypeError ERR_INVALID_ARG_VALUE', (_name, options) => {
    expectError(() => new Profiler(options as never), TypeError, 'ERR_INVALID_ARG_VALUE');
  });

  const rangeErrors: [string, unknown][] = [
    ['slotCapacity 0', { slotCapacity: 0 }], ['slotCapacity 2^32', { slotCapacity: 2 ** 32 }],
    ['slotCapacity 1.5', { slotCapacity: 1.5 }], ['bucketCount -1', { bucketCount: -1 }],
    ['maxBufferedReports NaN', { maxBufferedReports: NaN }], ['lifetimeLimit Infinity', { lifetimeLimit: Infinity }],
    ['logInterval 2^53', { logInterval: 2 ** 53 }],
  ];
  it.each(rangeErrors)('%s -> RangeError ERR_OUT_OF_RANGE', (_name, options) => {
    expectError(() => new Profiler(options as never), RangeError, 'ERR_OUT_OF_RANGE');
  });

  it('accepts every option at its bounds', () => {
    const p = new Profiler({
      mode: 'diagnostic', storage: 'hash-map', slotCapacity: 2 ** 32 - 1, bucketCount: 0, logInterval: 0,
      maxBufferedReports: 0, verbose: false, lifetimeLimit: 0, onPinning: undefined, onError: () => {},
    });
    p.destroy();
    new Profiler({ mode: undefined, maxBufferedReports: 2 ** 32 - 1, lifetimeLimit: 2 ** 32 - 1 }).destroy();
    new Profiler({ onPinning: () => {} }).destroy(); // ignored in production mode
  });

  it('treats a huge slotCapacity as a bound, not an allocation', () => {
    // Under an address-space limit, a core that allocated the whole slot array
    // at create would fail with ERR_OUT_OF_MEMORY here (and without the limit,
    // have the OOM killer end the process); it must grow with use instead.
    const code = `
      const { Profiler } = require('./dist/index.js');
      const p = new Profiler({ slotCapacity: 2 ** 32 - 1 });
      for (let i = 0; i < 3000; i++) p.granuleOpen(i * 4096);
      let drainable = 0;
      for (let i = 0; i < 3000; i++) drainable += p.granuleClose(i * 4096) ? 1 : 0;
      console.log(drainable, p.snapshot().peakOpenGranules);
      p.destroy();
    `;
    const limited = spawnSync('sh', ['-c', 'ulimit -v 4000000 && exec "$0" -e "$1"', process.execPath, code], {
      cwd: root, encoding: 'utf8', timeout: 60_000,
    });
    expectCleanExit(limited);
    expect(limited.stdout).toBe('3000 3000\n');
  });
});

describe('other arguments', () => {
  it('checks max, maxSites and metrics options', () => {
    const p = new Profiler({ mode: 'diagnostic' });
    expectError(() => p.drainReports('1' as never), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(() => p.drainReports(-1), RangeError, 'ERR_OUT_OF_RANGE');
    expectError(() => p.drainReports(2 ** 32), RangeError, 'ERR_OUT_OF_RANGE');
    expectError(() => p.lifetimeRecords(1.5), RangeError, 'ERR_OUT_OF_RANGE');
    expectError(() => p.textReport(1n as never), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(() => p.metrics(null as never), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(() => p.metrics({ prefix: 5 } as never), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(() => p.metrics({ labels: { a: 1 } } as never), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(() => p.metrics({ labels: 'a=b' } as never), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(() => p.metrics({ openMetrics: 'yes' } as never), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(() => p.metrics({ format: 'x' } as never), TypeError, 'ERR_INVALID_ARG_VALUE');
    expectError(() => p.metrics({ prefix: 'bad-prefix' }), TypeError, 'ERR_INVALID_ARG_VALUE');
    expectError(() => p.metrics({ prefix: '' }), TypeError, 'ERR_INVALID_ARG_VALUE');
    expectError(() => p.metrics({ labels: { 'bad name': 'x' } }), TypeError, 'ERR_INVALID_ARG_VALUE');
    expect(p.metrics({ labels: { ok: 'quote " and \\ and \n' } })).toMatch(/ok="quote \\" and \\\\ and \\n"/);
    p.destroy();
  });

  it('checks explicit sites', () => {
    const p = new Profiler({ mode: 'diagnostic' });
    p.granuleOpen(1);
    expectError(() => p.allocRegister(1, 1, 1, 5 as never), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(() => p.allocRegister(1, 1, 1, null as never), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(() => p.allocRegister(1, 1, 1, { line: 1 } as never), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectError(() => p.allocRegister(1, 1, 1, { file: 'a', line: -1 }), RangeError, 'ERR_OUT_OF_RANGE');
    expectError(() => p.allocRegister(1, 1, 1, { file: 'a', line: 1, column: 2 ** 32 }), RangeError, 'ERR_OUT_OF_RANGE');
    expectError(() => p.allocRegister(1, 1, 1, 'a.js:99999999999:1'), RangeError, 'ERR_OUT_OF_RANGE');
    expect(p.snapshot().totalAllocs).toBe(0);
    p.destroy();
  });
});

describe('nothing a caller passes crashes the process', () => {
  it('refuses a wrong `this` with TypeError ERR_INVALID_ARG_TYPE', () => {
    const p = new Profiler();
    const proto = Profiler.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const name of ['granuleOpen', 'granuleClose', 'allocRegister', 'allocDeregister', 'snapshot', 'sweep',
      'reset', 'drainReports', 'diagnosticSummary', 'lifetimeRecords', 'textReport', 'metrics', 'destroy']) {
      for (const receiver of [undefined, null, 5, {}, Object.create(Profiler.prototype), new Map()]) {
        expectError(() => proto[name]!.call(receiver, 1, 1, 1), TypeError, 'ERR_INVALID_ARG_TYPE');
      }
    }
    for (const getter of ['mode', 'storage', 'destroyed']) {
      const get = Object.getOwnPropertyDescriptor(Profiler.prototype, getter)!.get!;
      expectError(() => get.call({}), TypeError, 'ERR_INVALID_ARG_TYPE');
    }
    expectError(() => proto[Symbol.dispose as unknown as string]!.call({}), TypeError, 'ERR_INVALID_ARG_TYPE');
    p.destroy();
  });

  it('refuses foreign objects passed to the native binding', () => {
    const { binding, nativeHandleOf } = internal;
    const foreign = [{}, [], new Map(), Object.create(null), new Profiler()];
    for (const handle of foreign) {
      expect(() => binding.snapshot(handle as never, new Float64Array(18))).toThrow(TypeError);
      expect(() => binding.destroy(handle as never)).toThrow(TypeError);
      expect(() => binding.intern(handle as never, 'x')).toThrow(TypeError);
      expect(() => binding.testHooks.closeOnThread(handle as never, 1)).toThrow(TypeError);
    }
    for (const junk of [undefined, null, 1, 'x', 1n, Symbol('h')]) {
      expect(() => binding.reset(junk as never)).toThrow(TypeError);
    }
    const p = new Profiler();
    const handle = nativeHandleOf(p)!;
    expect(() => binding.snapshot(handle, new Float64Array(2))).toThrow(TypeError);
    expect(() => binding.snapshot(handle, new Uint8Array(200) as never)).toThrow(TypeError);
    expect(() => binding.drainReports(handle, -1)).toThrow(TypeError);
    expect(() => binding.metrics(handle, 5 as never, [], [], false)).toThrow(TypeError);
    expect(() => binding.metrics(handle, null, ['a'], [], false)).toThrow(TypeError);
    expect(() => binding.createProfiler('x' as never, 0, 1, 1, 0, 1, false, 1, undefined, undefined)).toThrow(TypeError);
    expect(binding.createProfiler(7, 0, 1, 1, 0, 1, false, 1, undefined, undefined)).toBeLessThan(0); // core refuses mode 7
    p.destroy();
  });

  it('refuses garbage in the bound hot-path functions', () => {
    const { binding } = internal;
    const created = binding.createProfiler(1, 1, 16, 16, 0, 10, false, 16, undefined, undefined);
    if (typeof created === 'number') throw new Error('create failed');
    const [handle, open, close, register, registerSite, deregister] = created;
    for (const junk of [undefined, -1, NaN, 2 ** 64, Infinity, 'x', {}, -1n, 2n ** 64n]) {
      expect(() => open(junk as never)).toThrow(TypeError);
      expect(() => close(junk as never)).toThrow(TypeError);
      expect(() => register(1, junk as never, 1)).toThrow(TypeError);
      expect(() => deregister(junk as never, 1)).toThrow(TypeError);
    }
    expect(open(1)).toBe(0);
    expect(() => registerSite(1, 1, 1, 0, 1, 1)).toThrow(TypeError); // file 0 was never interned
    expect(binding.intern(handle, 'f.js')).toBe(0);
    expect(registerSite(1, 1, 1, 0, 1, 1)).toBe(0);
    expect(close(1)).toBe(0);
    binding.destroy(handle);
    binding.destroy(handle);
    expect(open(1)).toBeLessThan(0); // destroyed: a result, never a use after free
    expect(register(1, 1, 1)).toBeLessThan(0);
    expect(binding.snapshot(handle, new Float64Array(18))).toBeLessThan(0);
  });
});

describe('receivers and inherited options', () => {
  it('refuses a foreign `this` on Batch methods and getters with ERR_INVALID_ARG_TYPE', () => {
    for (const mode of ['production', 'diagnostic'] as const) {
      const p = new Profiler({ mode });
      const b = p.batch();
      const proto = Object.getPrototypeOf(b) as Record<string, (...a: unknown[]) => unknown>;
      for (const name of ['granuleOpen', 'granuleClose', 'allocRegister', 'allocDeregister', 'clear', 'commit', 'commitOrThrow']) {
        for (const receiver of [{}, undefined, null, 5, Object.create(b), p]) {
          const err = expectError(() => proto[name]!.call(receiver, 1, 1, 8), TypeError, 'ERR_INVALID_ARG_TYPE');
          expect(err.message).toContain(`call it as batch.${name}(...)`);
        }
      }
      const size = Object.getOwnPropertyDescriptor(proto, 'size')!.get!;
      const err = expectError(() => size.call({}), TypeError, 'ERR_INVALID_ARG_TYPE');
      expect(err.message).toContain('read it as batch.size');
      expect(b.size).toBe(0);
      p.destroy();
    }
  });

  it('refuses a foreign `this` on granule handles (but the production register/deregister) with ERR_INVALID_ARG_TYPE', () => {
    for (const mode of ['production', 'diagnostic'] as const) {
      const p = new Profiler({ mode });
      p.granuleOpen(1);
      const h = p.granule(1);
      const proto = Object.getPrototypeOf(h) as Record<string, (...a: unknown[]) => unknown>;
      const names = mode === 'diagnostic' ? ['register', 'deregister', 'close'] : ['close'];
      for (const name of names) {
        for (const receiver of [{}, undefined, null, 5, Object.create(h), p]) {
          const err = expectError(() => proto[name]!.call(receiver, 2, 8), TypeError, 'ERR_INVALID_ARG_TYPE');
          expect(err.message).toContain(`call it as granule.${name}(...)`);
        }
      }
      const open = Object.getOwnPropertyDescriptor(proto, 'open')!.get!;
      const err = expectError(() => open.call({}), TypeError, 'ERR_INVALID_ARG_TYPE');
      expect(err.message).toContain('read it as granule.open');
      expect(h.open).toBe(true);
      expect(p.snapshot().totalAllocs).toBe(0);
      p.destroy();
    }
  });

  it('words getter messages as reads', () => {
    for (const name of ['mode', 'storage', 'destroyed']) {
      const get = Object.getOwnPropertyDescriptor(Profiler.prototype, name)!.get!;
      const err = expectError(() => get.call({}), TypeError, 'ERR_INVALID_ARG_TYPE');
      expect(err.message).toContain(`read it as profiler.${name}`);
      expect(err.message).not.toContain('call it as');
    }
  });

  it('reads only own option properties, as the unknown-option check does', () => {
    const q = new Profiler(Object.create({ mode: 'diagnostic', slotCapacity: 0, bogus: 1 }));
    expect(q.mode).toBe('production');
    q.destroy();
    const polluted = Object.prototype as Record<string, unknown>;
    polluted.mode = 'diagnostic';
    try {
      const r = new Profiler();
      expect(r.mode).toBe('production');
      expect(r.metrics().startsWith('# TYPE drainability_')).toBe(true);
      r.destroy();
    } finally {
      delete polluted.mode;
    }
    const p = new Profiler();
    expect(p.metrics(Object.create({ prefix: 'inherited', openMetrics: 'no' }))).toContain('drainability_');
    expect(p.metrics(Object.create({ prefix: 'inherited' }))).not.toContain('inherited');
    // Each own option (a getter included) is read once.
    let reads = 0;
    const s = new Profiler({ get slotCapacity() { reads++; return 8; } });
    expect(reads).toBe(1);
    s.destroy();
    p.destroy();
  });
});
