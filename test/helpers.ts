// Shared by drainprof's own tests: the built package, its internals, and small checks.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type * as Drainprof from '../dist/index.js';
import type * as Internal from '../dist/internal.js';

const require = createRequire(import.meta.url);

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const drainprof = require('../dist/index.js') as typeof Drainprof;
export const internal = require('../dist/internal.js') as typeof Internal;
export const { Profiler } = drainprof;
export type Profiler = Drainprof.Profiler;

export const MODES = ['production', 'diagnostic'] as const;
export const STORAGES = ['slot-array', 'hash-map'] as const;
export const MATRIX = MODES.flatMap((mode) => STORAGES.map((storage) => ({ mode, storage })));

type ErrorClass = typeof TypeError | typeof RangeError | typeof Error;

/** Runs `fn`, expecting it to throw an instance of exactly `cls` with `.code === code`. */
export function expectError(fn: () => unknown, cls: ErrorClass, code: string): Error {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected ${code}`).toBeInstanceOf(cls);
  expect((thrown as Error).constructor).toBe(cls);
  expect((thrown as { code?: string }).code).toBe(code);
  expect((thrown as Error).message.length).toBeGreaterThan(20);
  return thrown as Error;
}

/** Runs a script file or inline CommonJS code in a child node process. */
export function runNode(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, args, {
    cwd: root,
    encoding: 'utf8',
    input: options.input,
    env: { ...process.env, ...options.env },
    timeout: 60_000,
  });
}

/** Expects a child to have exited by itself with status 0 and no signal. */
export function expectCleanExit(result: SpawnSyncReturns<string>): void {
  expect(result.error, String(result.error)).toBeUndefined();
  expect({ status: result.status, signal: result.signal, stderr: result.stderr })
    .toEqual({ status: 0, signal: null, stderr: expect.any(String) });
}

/** Resolves after the event loop has had a chance to run queued callbacks. */
export function tick(ms = 20): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
