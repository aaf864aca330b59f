// Lifecycle: GC finalisation, worker_threads, and process exit at each stage.
import { describe, expect, it } from 'vitest';
import { expectCleanExit, runNode } from './helpers.js';

describe('garbage collection', () => {
  it('frees the native state of profilers dropped without destroy()', () => {
    const result = runNode(['--expose-gc', 'test/fixtures/gc.js']);
    expectCleanExit(result);
    expect(JSON.parse(result.stdout)).toEqual({
      created: 100,
      beforeGc: [100, 100],
      afterGc: [0, 0], // [glue states, C profilers] of this environment
      afterDestroy: [1, 0], // destroy() frees the C profiler at once
      delivered: 20, // reports queued on the JS thread survive their profiler's collection
    });
    expect(result.stderr).toBe('');
  });
});

describe('worker_threads', () => {
  it('loads and uses the module in the main thread and many workers at once', () => {
    const result = runNode(['test/fixtures/workers.js']);
    expectCleanExit(result);
    const summary = JSON.parse(result.stdout);
    expect(summary.errors).toEqual([]);
    expect(summary.codes).toEqual([0, 0, 0, 0, 0]);
    expect(summary.finished).toEqual([0, 1, 2, 3, 4]);
    expect(summary.consistent).toBe(true);
    expect(summary.main).toEqual({ pinned: 100, delivered: 100, closes: 300 });
  });
});

describe('process exit', () => {
  const stages = ['created', 'in-use', 'callback-pending', 'destroyed'];
  for (const stage of stages) {
    for (const how of ['exit', 'end']) {
      it(`exits cleanly ${how === 'exit' ? 'with process.exit()' : 'when the loop runs dry'} at stage ${stage}`, () => {
        const result = runNode(['test/fixtures/lifecycle.js', stage, how]);
        expectCleanExit(result);
        expect(result.stderr).not.toMatch(/Assertion|Segmentation|Abort|FATAL/);
      });
    }
  }

  it('exits cleanly when onPinning calls process.exit()', () => {
    expectCleanExit(runNode(['test/fixtures/lifecycle.js', 'exit-in-callback', 'end']));
  });
});
