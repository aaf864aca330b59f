// onPinning: delivered on the JS thread, asynchronously, also from a native thread;
// errors reach onError or a process warning; re-entrancy is safe.
import { describe, expect, it } from 'vitest';
import { Profiler, expectCleanExit, expectError, internal, runNode, tick, type Profiler as P } from './helpers.js';
import type { PinningReport } from '../dist/index.js';

function pin(p: P, gid: number | bigint, aid = 1): boolean {
  p.granuleOpen(gid);
  p.allocRegister(gid, aid, 16, 'pin.js:1:1');
  return p.granuleClose(gid);
}

function warnings(): { list: Error[]; stop(): void } {
  const list: Error[] = [];
  const onWarning = (w: Error) => list.push(w);
  process.on('warning', onWarning);
  return { list, stop: () => process.off('warning', onWarning) };
}

describe('onPinning', () => {
  it('delivers asynchronously, after granuleClose returned, in close order', async () => {
    const seen: bigint[] = [];
    const p = new Profiler({ mode: 'diagnostic', onPinning: (r) => seen.push(r.granuleId) });
    expect(pin(p, 1)).toBe(false);
    expect(pin(p, 2n)).toBe(false);
    p.granuleOpen(3);
    expect(p.granuleClose(3)).toBe(true); // drainable: no report
    expect(pin(p, 4)).toBe(false);
    expect(seen).toEqual([]); // never synchronously inside granuleClose
    await tick();
    expect(seen).toEqual([1n, 2n, 4n]);
    expect(p.drainReports()).toEqual([]); // nothing is buffered in callback mode
    p.destroy();
  });

  it('passes a frozen PinningReport whose counters include the close', async () => {
    let report: PinningReport | undefined;
    let closesSeen = -1;
    const p: P = new Profiler({
      mode: 'diagnostic',
      onPinning: (r) => {
        report = r;
        closesSeen = p.snapshot().pinnedCloses;
      },
    });
    p.granuleOpen(9);
    p.allocRegister(9, 1, 10, { file: 'x.js', line: 2, column: 3 });
    p.allocRegister(9, 2, 20);
    p.allocDeregister(9, 2);
    p.granuleClose(9);
    await tick();
    expect(Object.isFrozen(report)).toBe(true);
    expect(report).toMatchObject({ granuleId: 9n, pinningCount: 1, totalAllocs: 2, drainedAllocs: 1 });
    expect(report!.pinningAllocs[0]).toMatchObject({ allocId: 1n, size: 10, site: { file: 'x.js', line: 2, column: 3 } });
    expect(closesSeen).toBe(1);
    p.destroy();
  });

  it('runs on the JS thread when the close happened on a native thread', async () => {
    const seen: bigint[] = [];
    const p = new Profiler({ mode: 'diagnostic', onPinning: (r) => seen.push(r.granuleId) });
    const handle = internal.nativeHandleOf(p)!;
    for (let g = 1; g <= 5; g++) {
      p.granuleOpen(g);
      p.allocRegister(g, g, 8);
      expect(internal.binding.testHooks.closeOnThread(handle, g)).toBe(0); // 0 = pinned
    }
    p.granuleOpen(6);
    expect(internal.binding.testHooks.closeOnThread(handle, 6)).toBe(1); // drainable
    expect(internal.binding.testHooks.closeOnThread(handle, 77)).toBe(-5); // not open
    await tick();
    expect(seen).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect(p.snapshot()).toMatchObject({ pinnedCloses: 5, drainableCloses: 1 });
    p.destroy();
  });

  it('hands what onPinning throws to onError', async () => {
    const errors: unknown[] = [];
    const boom = new Error('boom');
    const p = new Profiler({ mode: 'diagnostic', onPinning: () => { throw boom; }, onError: (e) => errors.push(e) });
    pin(p, 1);
    pin(p, 2);
    await tick();
    expect(errors).toEqual([boom, boom]);
    p.destroy();
  });

  it('emits what onPinning throws as a process warning without onError', async () => {
    const w = warnings();
    const p = new Profiler({ mode: 'diagnostic', onPinning: () => { throw new Error('callback failed'); } });
    pin(p, 1);
    await tick();
    w.stop();
    const mine = w.list.filter((x) => x.name === 'DrainprofWarning');
    expect(mine).toHaveLength(1);
    expect((mine[0] as Error & { code: string }).code).toBe('DRAINPROF_CALLBACK_ERROR');
    expect((mine[0] as Error & { detail: string }).detail).toMatch(/callback failed/);
    p.destroy();
  });

  it('emits a warning when onError throws too, and keeps delivering', async () => {
    const w = warnings();
    let calls = 0;
    const p = new Profiler({
      mode: 'diagnostic',
      onPinning: () => { calls++; throw new Error('first'); },
      onError: () => { throw new Error('second'); },
    });
    pin(p, 1);
    pin(p, 2);
    await tick();
    w.stop();
    expect(calls).toBe(2);
    const details = w.list.filter((x) => x.name === 'DrainprofWarning').map((x) => (x as Error & { detail: string }).detail);
    expect(details).toHaveLength(2);
    expect(details[0]).toMatch(/second/);
    p.destroy();
  });

  it('allows destroy() and granule calls from inside the callback', async () => {
    const seen: bigint[] = [];
    let errorInside: unknown;
    const p: P = new Profiler({
      mode: 'diagnostic',
      onPinning: (r) => {
        seen.push(r.granuleId);
        if (r.granuleId === 1n) {
          pin(p, 100); // a close from inside the callback: delivered later, not re-entrantly
        } else if (r.granuleId === 100n) {
          p.destroy();
          p.destroy();
          try {
            p.granuleOpen(5);
          } catch (e) {
            errorInside = e;
          }
        }
      },
    });
    pin(p, 1);
    pin(p, 2);
    await tick();
    await tick();
    expect(seen).toEqual([1n, 2n, 100n]);
    expect((errorInside as { code?: string }).code).toBe('ERR_PROFILER_DESTROYED');
    expectError(() => p.snapshot(), Error, 'ERR_PROFILER_DESTROYED');
  });

  it('still delivers reports queued before destroy()', async () => {
    const seen: bigint[] = [];
    const p = new Profiler({ mode: 'diagnostic', onPinning: (r) => seen.push(r.granuleId) });
    pin(p, 1);
    pin(p, 2);
    p.destroy();
    await tick();
    expect(seen).toEqual([1n, 2n]);
  });

  it('is ignored in production mode', async () => {
    let calls = 0;
    const p = new Profiler({ onPinning: () => calls++ });
    expect(pin(p, 1)).toBe(false);
    await tick();
    expect(calls).toBe(0);
    p.destroy();
  });

  it('does not keep the process alive', () => {
    const result = runNode(['-e', `
      const { Profiler } = require('./dist/index.js');
      const p = new Profiler({ mode: 'diagnostic', onPinning: () => console.log('delivered') });
      p.granuleOpen(1); p.allocRegister(1, 1, 1); p.granuleClose(1);
      setTimeout(() => console.log('timer'), 50);
    `]);
    expectCleanExit(result);
    expect(result.stdout).toBe('delivered\ntimer\n'); // delivered, then exited with nothing left to do
  });
});
