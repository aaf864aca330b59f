/**
 * Snapshot objects from the 18 numbers the native layer writes.
 *
 * @packageDocumentation
 */
import type { Snapshot } from './types.js';

/** Length of the Float64Array the native snapshot/sweep fill. */
export const SNAPSHOT_LENGTH = 18;

const NS_PER_SEC = 1_000_000_000n;

/** Builds the frozen Snapshot from [sec, nsec, totalCloses, ...] (native/profiler_wrap.cc order). */
export function buildSnapshot(v: Float64Array): Snapshot {
  return Object.freeze({
    timestampNs: BigInt(v[0]!) * NS_PER_SEC + BigInt(v[1]!),
    totalCloses: v[2]!,
    drainableCloses: v[3]!,
    pinnedCloses: v[4]!,
    dsr: v[5]!,
    openGranules: v[6]!,
    peakOpenGranules: v[7]!,
    totalAllocs: v[8]!,
    totalDeallocs: v[9]!,
    droppedReports: v[10]!,
    unbalancedCloses: v[11]!,
    failedOpens: v[12]!,
    failedCloses: v[13]!,
    failedRegisters: v[14]!,
    failedDeregisters: v[15]!,
    lifetimeRecords: v[16]!,
    droppedLifetimeRecords: v[17]!,
  });
}
