/**
 * Granule and allocation ids: `number` or `bigint`, one range, one check.
 *
 * @packageDocumentation
 */
import { describe, makeError } from './errors.js';
import type { Id } from './types.js';

/** The largest id: 2^64 - 1. */
export const MAX_ID = 0xffff_ffff_ffff_ffffn;

/**
 * Checks an id argument: a non-negative safe-integer number or a bigint in
 * [0, 2^64-1]. Numbers and bigints are handed to the native layer as they are
 * (a number crosses as a double, cheaper than a bigint).
 *
 * @throws TypeError ERR_INVALID_ARG_TYPE for any other type.
 * @throws RangeError ERR_OUT_OF_RANGE for a number that is negative, fractional,
 *   non-finite or above 2^53-1, or a bigint outside [0, 2^64-1].
 */
export function checkId(value: unknown, name: string, call: string): asserts value is Id {
  // The common case inline, in a few instructions: a number that is its own
  // uint32 (V8 does not reduce Number.isSafeInteger to inline code; it costs
  // ~1 ns a call on the hot paths). Everything else below.
  if (typeof value === 'number' && value >>> 0 === value) return;
  checkIdSlow(value, name, call);
}

function checkIdSlow(value: unknown, name: string, call: string): void {
  if (typeof value === 'number') {
    if (value >= 0 && Number.isSafeInteger(value)) return;
    throw makeError('ERR_OUT_OF_RANGE',
      `${call}(): ${name} must be a non-negative safe integer (0..2^53-1) or a bigint up to 2^64-1; received ${describe(value)}`);
  }
  if (typeof value === 'bigint') {
    if (value >= 0n && value <= MAX_ID) return;
    throw makeError('ERR_OUT_OF_RANGE', `${call}(): ${name} must be in [0, 2^64-1]; received ${describe(value)}`);
  }
  throw makeError('ERR_INVALID_ARG_TYPE', `${call}(): ${name} must be a number or a bigint; received ${describe(value)}`);
}
