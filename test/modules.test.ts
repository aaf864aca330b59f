// CommonJS and ES module entry points, through the package's exports map.
import { describe, expect, it } from 'vitest';
import { expectCleanExit, runNode } from './helpers.js';

const EXPORTS = ['ERROR_CODES', 'MAX_ID', 'Profiler'];

describe('module formats', () => {
  it('require("drainprof") works', () => {
    const result = runNode(['test/fixtures/cjs.cjs']);
    expectCleanExit(result);
    expect(JSON.parse(result.stdout)).toEqual({ exports: EXPORTS, closed: true });
  });

  it('import "drainprof" works and shares one module instance with require', () => {
    const result = runNode(['test/fixtures/esm.mjs']);
    expectCleanExit(result);
    expect(JSON.parse(result.stdout)).toEqual({ exports: EXPORTS, sameClass: true, instanceOfCjs: true, closed: true });
  });

  it('does not expose internals through the exports map', () => {
    const result = runNode(['-e', `
      for (const spec of ['drainprof/dist/internal.js', 'drainprof/dist/binding.js', 'drainprof/build/Release/drainprof.node']) {
        try { require(spec); console.log('loaded', spec); } catch (e) { console.log(e.code); }
      }
    `]);
    expectCleanExit(result);
    expect(result.stdout).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED\n'.repeat(3));
  });
});
