/**
 * Argument and option checks other than ids (see ids.ts): sizes, counts,
 * sites, profiler options, metrics options. Each throws through the one
 * error factory, before anything reaches the native layer.
 *
 * @packageDocumentation
 */
import { describe, makeError } from './errors.js';
import type { AllocSite, MetricsOptions, Mode, ProfilerOptions, Size, Storage } from './types.js';

/** 2^32 - 1, the largest value of the C core's uint32 fields. */
export const U32_MAX = 0xffff_ffff;

const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Checks a size: a non-negative integer up to 2^53-1, as a number or a bigint.
 *
 * @throws TypeError ERR_INVALID_ARG_TYPE, RangeError ERR_OUT_OF_RANGE
 */
export function checkSize(value: unknown, name: string, call: string): asserts value is Size {
  if (typeof value === 'number' && value >>> 0 === value) return; // the common case, inline (see checkId)
  checkSizeSlow(value, name, call);
}

function checkSizeSlow(value: unknown, name: string, call: string): void {
  if (typeof value === 'number') {
    if (value >= 0 && Number.isSafeInteger(value)) return;
  } else if (typeof value === 'bigint') {
    if (value >= 0n && value <= MAX_SAFE_BIGINT) return;
  } else {
    throw makeError('ERR_INVALID_ARG_TYPE', `${call}(): ${name} must be a number or a bigint; received ${describe(value)}`);
  }
  throw makeError('ERR_OUT_OF_RANGE',
    `${call}(): ${name} must be a non-negative integer up to 2^53-1; received ${describe(value)}`);
}

/**
 * Checks an integer count: a `number` in [min, max].
 *
 * @throws TypeError ERR_INVALID_ARG_TYPE, RangeError ERR_OUT_OF_RANGE
 */
export function checkCount(value: unknown, name: string, call: string, min: number, max: number): number {
  if (typeof value !== 'number') {
    throw makeError('ERR_INVALID_ARG_TYPE', `${call}: ${name} must be a number; received ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw makeError('ERR_OUT_OF_RANGE', `${call}: ${name} must be an integer from ${min} to ${max}; received ${describe(value)}`);
  }
  return value;
}

/** An optional count: `undefined` gives `fallback`. */
export function optionalCount(value: unknown, name: string, call: string, min: number, max: number, fallback: number): number {
  return value === undefined ? fallback : checkCount(value, name, call, min, max);
}

const SITE_STRING = /^(.*?):(\d+)(?::(\d+))?$/;

/**
 * Checks an explicit allocation site: an {@link AllocSite}-like object
 * (`file` string, `line` and optional `column` uint32), or a string
 * `"file:line:column"` / `"file:line"`; a string without a trailing `:line`
 * names the file alone (line and column 0).
 *
 * @throws TypeError ERR_INVALID_ARG_TYPE, RangeError ERR_OUT_OF_RANGE
 */
export function checkSite(value: unknown, call: string): AllocSite {
  if (typeof value === 'string') {
    const m = SITE_STRING.exec(value);
    if (m === null) return { file: value, line: 0, column: 0 };
    const line = Number(m[2]);
    const column = m[3] === undefined ? 0 : Number(m[3]);
    if (line > U32_MAX || column > U32_MAX) {
      throw makeError('ERR_OUT_OF_RANGE', `${call}(): the line and column of site must be at most 2^32-1; received ${describe(value)}`);
    }
    return { file: m[1]!, line, column };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw makeError('ERR_INVALID_ARG_TYPE',
      `${call}(): site must be a string "file:line:column" or an object { file, line, column }; received ${describe(value)}`);
  }
  const site = value as Record<string, unknown>;
  if (typeof site.file !== 'string') {
    throw makeError('ERR_INVALID_ARG_TYPE', `${call}(): site.file must be a string; received ${describe(site.file)}`);
  }
  const line = checkCount(site.line, 'site.line', `${call}()`, 0, U32_MAX);
  const column = optionalCount(site.column, 'site.column', `${call}()`, 0, U32_MAX, 0);
  return { file: site.file, line, column };
}

/** Profiler options with every default filled in. */
export interface ResolvedOptions {
  readonly mode: Mode;
  readonly storage: Storage;
  readonly slotCapacity: number;
  readonly bucketCount: number;
  readonly logInterval: number;
  readonly maxBufferedReports: number;
  readonly verbose: boolean;
  readonly lifetimeLimit: number;
  readonly onPinning: ProfilerOptions['onPinning'];
  readonly onError: ProfilerOptions['onError'];
}

const OPTION_KEYS: ReadonlySet<string> = new Set([
  'mode', 'storage', 'slotCapacity', 'bucketCount', 'logInterval', 'maxBufferedReports',
  'verbose', 'lifetimeLimit', 'onPinning', 'onError',
]);

function checkChoice<T extends string>(value: unknown, name: string, call: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string') {
    throw makeError('ERR_INVALID_ARG_TYPE', `${call}: ${name} must be a string; received ${describe(value)}`);
  }
  if (!(choices as readonly string[]).includes(value)) {
    throw makeError('ERR_INVALID_ARG_VALUE',
      `${call}: ${name} must be ${choices.map((c) => `'${c}'`).join(' or ')}; received ${describe(value)}`);
  }
  return value as T;
}

function checkOptionalFunction<F>(value: unknown, name: string, call: string): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') {
    throw makeError('ERR_INVALID_ARG_TYPE', `${call}: ${name} must be a function; received ${describe(value)}`);
  }
  return value as F;
}

/**
 * Checks an options object and returns its own enumerable properties (each
 * read once) in a null-prototype object: the same keys the unknown-option
 * check looks at, so an option inherited from a prototype is ignored, never
 * honoured unchecked.
 */
function checkOptionsObject(options: unknown, call: string, keys: ReadonlySet<string>): Record<string, unknown> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw makeError('ERR_INVALID_ARG_TYPE', `${call}: options must be an object; received ${describe(options)}`);
  }
  const own = Object.keys(options);
  for (const key of own) {
    if (!keys.has(key)) {
      throw makeError('ERR_INVALID_ARG_VALUE',
        `${call}: unknown option '${key}'; known options are ${[...keys].join(', ')}`);
    }
  }
  const values: Record<string, unknown> = Object.create(null);
  for (const key of own) values[key] = (options as Record<string, unknown>)[key];
  return values;
}

/**
 * Checks the options of `new Profiler()` and fills in the defaults.
 *
 * @throws TypeError ERR_INVALID_ARG_TYPE, TypeError ERR_INVALID_ARG_VALUE, RangeError ERR_OUT_OF_RANGE
 */
export function resolveOptions(options: unknown): ResolvedOptions {
  const call = 'new Profiler()';
  const o: Record<string, unknown> = options === undefined ? Object.create(null) : checkOptionsObject(options, call, OPTION_KEYS);
  let verbose = false;
  if (o.verbose !== undefined) {
    if (typeof o.verbose !== 'boolean') {
      throw makeError('ERR_INVALID_ARG_TYPE', `${call}: options.verbose must be a boolean; received ${describe(o.verbose)}`);
    }
    verbose = o.verbose;
  }
  return {
    mode: checkChoice(o.mode, 'options.mode', call, ['production', 'diagnostic'] as const, 'production'),
    storage: checkChoice(o.storage, 'options.storage', call, ['slot-array', 'hash-map'] as const, 'slot-array'),
    slotCapacity: optionalCount(o.slotCapacity, 'options.slotCapacity', call, 1, U32_MAX, 1024),
    bucketCount: optionalCount(o.bucketCount, 'options.bucketCount', call, 0, U32_MAX, 64),
    logInterval: optionalCount(o.logInterval, 'options.logInterval', call, 0, Number.MAX_SAFE_INTEGER, 0),
    maxBufferedReports: optionalCount(o.maxBufferedReports, 'options.maxBufferedReports', call, 0, U32_MAX, 1000),
    verbose,
    lifetimeLimit: optionalCount(o.lifetimeLimit, 'options.lifetimeLimit', call, 0, U32_MAX, 4096),
    onPinning: checkOptionalFunction(o.onPinning, 'options.onPinning', call),
    onError: checkOptionalFunction(o.onError, 'options.onError', call),
  };
}

const METRICS_KEYS: ReadonlySet<string> = new Set(['prefix', 'labels', 'openMetrics']);

/** Metrics options as the native layer takes them. */
export interface ResolvedMetricsOptions {
  readonly prefix: string | null;
  readonly labelNames: string[];
  readonly labelValues: string[];
  readonly openMetrics: boolean;
}

/**
 * Checks the types of metrics() options. Whether the prefix and label names
 * are valid metric/label names is the C core's decision (ERR_INVALID_ARG_VALUE).
 *
 * @throws TypeError ERR_INVALID_ARG_TYPE, TypeError ERR_INVALID_ARG_VALUE
 */
export function resolveMetricsOptions(options: unknown): ResolvedMetricsOptions {
  const call = 'metrics()';
  const o: Record<string, unknown> = options === undefined ? Object.create(null) : checkOptionsObject(options, call, METRICS_KEYS);
  if (o.prefix !== undefined && typeof o.prefix !== 'string') {
    throw makeError('ERR_INVALID_ARG_TYPE', `${call}: options.prefix must be a string; received ${describe(o.prefix)}`);
  }
  if (o.openMetrics !== undefined && typeof o.openMetrics !== 'boolean') {
    throw makeError('ERR_INVALID_ARG_TYPE', `${call}: options.openMetrics must be a boolean; received ${describe(o.openMetrics)}`);
  }
  const labelNames: string[] = [];
  const labelValues: string[] = [];
  if (o.labels !== undefined) {
    if (typeof o.labels !== 'object' || o.labels === null || Array.isArray(o.labels)) {
      throw makeError('ERR_INVALID_ARG_TYPE', `${call}: options.labels must be an object; received ${describe(o.labels)}`);
    }
    for (const [name, value] of Object.entries(o.labels)) {
      if (typeof value !== 'string') {
        throw makeError('ERR_INVALID_ARG_TYPE', `${call}: label ${name} must be a string; received ${describe(value)}`);
      }
      labelNames.push(name);
      labelValues.push(value);
    }
  }
  return {
    prefix: (o.prefix as string | undefined) ?? null,
    labelNames,
    labelValues,
    openMetrics: (o.openMetrics as boolean | undefined) ?? false,
  };
}
