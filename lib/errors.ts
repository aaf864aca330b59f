/**
 * Every error drainprof throws: one table of codes, one factory.
 *
 * @packageDocumentation
 */

/** The `.code` of every error drainprof throws. */
export type ErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_GRANULE_ALREADY_OPEN'
  | 'ERR_GRANULE_NOT_OPEN'
  | 'ERR_CAPACITY_FULL'
  | 'ERR_UNBALANCED_CLOSE'
  | 'ERR_ALLOC_NOT_LIVE'
  | 'ERR_WRONG_MODE'
  | 'ERR_PROFILER_DESTROYED'
  | 'ERR_OUT_OF_MEMORY'
  | 'ERR_INTERNAL';

/** An `Error`, `TypeError` or `RangeError` carrying one of the {@link ErrorCode}s. */
export type DrainprofError = (Error | TypeError | RangeError) & { readonly code: ErrorCode };

/** Each code: the class it is thrown with, and when. The README shows the same table. */
export const ERROR_CODES: Readonly<Record<ErrorCode, { readonly class: 'TypeError' | 'RangeError' | 'Error'; readonly when: string }>> =
  Object.freeze({
    ERR_INVALID_ARG_TYPE: { class: 'TypeError', when: 'wrong JS type for an argument, an option or `this`' },
    ERR_INVALID_ARG_VALUE: { class: 'TypeError', when: 'an option or argument has a value the profiler does not know' },
    ERR_OUT_OF_RANGE: { class: 'RangeError', when: 'a number or bigint outside the accepted range' },
    ERR_GRANULE_ALREADY_OPEN: { class: 'Error', when: 'granuleOpen of an open id' },
    ERR_GRANULE_NOT_OPEN: { class: 'Error', when: 'close, register or deregister of a granule that is not open' },
    ERR_CAPACITY_FULL: { class: 'Error', when: 'slot-array storage already holds slotCapacity open granules' },
    ERR_UNBALANCED_CLOSE: { class: 'Error', when: 'close found more deregisters than registers (granule released, no close counted)' },
    ERR_ALLOC_NOT_LIVE: { class: 'Error', when: 'diagnostic deregister of an alloc id with no live registration' },
    ERR_WRONG_MODE: { class: 'Error', when: 'a diagnostic-only call on a production profiler' },
    ERR_PROFILER_DESTROYED: { class: 'Error', when: 'any call after destroy()' },
    ERR_OUT_OF_MEMORY: { class: 'Error', when: 'the C core ran out of memory' },
    ERR_INTERNAL: { class: 'Error', when: 'the C core failed without a reason: a drainprof bug' },
  });

/** The one factory: an error of the class the table gives `code`, with `code` set. */
export function makeError(code: ErrorCode, message: string): DrainprofError {
  const cls = ERROR_CODES[code].class;
  const err = cls === 'TypeError' ? new TypeError(message) : cls === 'RangeError' ? new RangeError(message) : new Error(message);
  Object.defineProperty(err, 'code', { value: code, enumerable: true, configurable: true, writable: true });
  return err as DrainprofError;
}

/** A short description of a received value for messages. */
export function describe(value: unknown): string {
  switch (typeof value) {
    case 'bigint':
      return `bigint ${value}n`;
    case 'number':
      return `number ${value}`;
    case 'string':
      return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '...' : value)}`;
    case 'undefined':
      return 'undefined';
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a symbol';
    case 'boolean':
      return `boolean ${value}`;
    default:
      return value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object';
  }
}

/** Reasons the native layer returns (drainprof_ext_error, and the glue's own in native/core.h). */
const enum Reason {
  Null = 1,
  Invalid = 2,
  NoMemory = 3,
  AlreadyOpen = 4,
  NotOpen = 5,
  Capacity = 6,
  Unbalanced = 7,
  NotLive = 8,
  WrongMode = 9,
  Destroyed = 100,
  NoReason = 101,
}

/** What the caller was doing when the core failed, for the message. */
export interface CallContext {
  /** The method, e.g. `'granuleClose'`. */
  readonly call: string;
  readonly granuleId?: unknown;
  readonly allocId?: unknown;
  /** For the ERR_CAPACITY_FULL message. */
  readonly slotCapacity?: number;
  /** What the core refuses as invalid, for the ERR_INVALID_ARG_VALUE message. */
  readonly invalid?: string;
}

function idText(id: unknown): string {
  return typeof id === 'bigint' ? `${id}n` : String(id);
}

/** The code of the error coreError(reason) makes, without making it. */
export function reasonCode(reason: number): ErrorCode {
  switch (reason) {
    case Reason.AlreadyOpen: return 'ERR_GRANULE_ALREADY_OPEN';
    case Reason.NotOpen: return 'ERR_GRANULE_NOT_OPEN';
    case Reason.Capacity: return 'ERR_CAPACITY_FULL';
    case Reason.Unbalanced: return 'ERR_UNBALANCED_CLOSE';
    case Reason.NotLive: return 'ERR_ALLOC_NOT_LIVE';
    case Reason.WrongMode: return 'ERR_WRONG_MODE';
    case Reason.NoMemory: return 'ERR_OUT_OF_MEMORY';
    case Reason.Invalid: return 'ERR_INVALID_ARG_VALUE';
    case Reason.Destroyed: return 'ERR_PROFILER_DESTROYED';
    default: return 'ERR_INTERNAL';
  }
}

/** The error for a failure the core (or the glue) reported with `reason`. */
export function coreError(reason: number, ctx: CallContext): DrainprofError {
  const g = idText(ctx.granuleId);
  const a = idText(ctx.allocId);
  switch (reason) {
    case Reason.AlreadyOpen:
      return makeError('ERR_GRANULE_ALREADY_OPEN',
        `${ctx.call}(${g}): granule ${g} is already open; close it with granuleClose() before opening the id again`);
    case Reason.NotOpen:
      return makeError('ERR_GRANULE_NOT_OPEN',
        `${ctx.call}(): granule ${g} is not open; open it with granuleOpen() first (it may never have been opened, or already be closed)`);
    case Reason.Capacity:
      return makeError('ERR_CAPACITY_FULL',
        `${ctx.call}(${g}): the slot array already holds slotCapacity (${ctx.slotCapacity}) open granules; close one first, raise slotCapacity, or use storage: 'hash-map'`);
    case Reason.Unbalanced:
      return makeError('ERR_UNBALANCED_CLOSE',
        `${ctx.call}(${g}): granule ${g} saw more allocDeregister than allocRegister calls, so it was released without counting a close; deregister only allocations you registered in that granule`);
    case Reason.NotLive:
      return makeError('ERR_ALLOC_NOT_LIVE',
        `${ctx.call}(${g}, ${a}): allocation ${a} has no live registration in granule ${g}; register it with allocRegister() first, and deregister it only once`);
    case Reason.WrongMode:
      return wrongModeError(ctx.call);
    case Reason.NoMemory:
      return makeError('ERR_OUT_OF_MEMORY',
        `${ctx.call}(): drainprof ran out of memory; lower slotCapacity, maxBufferedReports or lifetimeLimit, or drain reports more often`);
    case Reason.Invalid:
      return makeError('ERR_INVALID_ARG_VALUE',
        `${ctx.call}(): ${ctx.invalid ?? 'drainprof refused an argument value as invalid'}`);
    case Reason.Destroyed:
      return destroyedError(ctx.call);
    default:
      return makeError('ERR_INTERNAL',
        `${ctx.call}(): the drainprof core failed without giving a reason (${reason}); this is a drainprof bug, please report it`);
  }
}

/** ERR_WRONG_MODE for a diagnostic-only `call` on a production profiler. */
export function wrongModeError(call: string): DrainprofError {
  return makeError('ERR_WRONG_MODE', `${call}() needs a profiler created with { mode: 'diagnostic' }`);
}

/** ERR_PROFILER_DESTROYED for `call`. */
export function destroyedError(call: string): DrainprofError {
  return makeError('ERR_PROFILER_DESTROYED',
    `${call}(): the profiler was destroyed; create a new Profiler to go on profiling`);
}

/**
 * ERR_INVALID_ARG_TYPE for a method called (or a getter read) on something
 * that is not a `cls` (a Profiler, a Batch, a Granule handle): what it was
 * called on, and how to call it instead on `instance`.
 */
export function invalidThisError(call: string, receiver: unknown, getter = false, cls = 'Profiler',
  instance = 'profiler'): DrainprofError {
  const article = /^[AEIOU]/.test(cls) ? 'an' : 'a';
  return makeError('ERR_INVALID_ARG_TYPE', getter
    ? `${cls}.prototype.${call} was read on ${describe(receiver)}, not ${article} ${cls}; read it as ${instance}.${call}`
    : `${cls}.prototype.${call} was called on ${describe(receiver)}, not ${article} ${cls}; call it as ${instance}.${call}(...)`);
}
