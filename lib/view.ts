/**
 * This environment's view of a native profiler, and the calls Profiler and
 * granule handles share: one crossing each, through the call area when every
 * id is a number (see native/hot_path.cc), through the bound functions (with
 * arguments) when one is a bigint.
 *
 * @packageDocumentation
 * @internal
 */
import { binding, callArea, type Handle, type HotPath } from './binding.js';
import { coreError } from './errors.js';
import { callerOf, type SiteTable } from './site.js';
import type { AllocSite, Id, Size } from './types.js';
import { checkSite } from './validate.js';
import type { SlotTable } from './granule.js';

/**
 * One view: its handle, bound functions, view number, file table (diagnostic
 * mode), foreign slots (once a granule handle was made). `live` turns false at
 * destroy(), for the objects (batches, handles) that outlive the call that
 * made them.
 */
export interface View extends HotPath {
  readonly handle: Handle;
  readonly view: number;
  readonly sites: SiteTable | null;
  readonly slotCapacity: number;
  live: boolean;
  slots: SlotTable | null;
}

const area = callArea;
const { hotOpen, hotClose, hotRegister, hotDeregister, hotRegisterSite } = binding;

/** granuleOpen: 0 or minus a reason. */
export function openIn(v: View, id: Id): number {
  if (typeof id === 'number') {
    area[0] = v.view;
    area[1] = id;
    return hotOpen() === undefined ? 0 : area[2]!;
  }
  return v.granuleOpen(id);
}

/** granuleClose: 1 drainable, 0 pinned, or minus a reason. */
export function closeIn(v: View, id: Id): number {
  if (typeof id === 'number') {
    area[0] = v.view;
    area[1] = id;
    hotClose();
    return area[2]!;
  }
  return v.granuleClose(id);
}

/** Production allocRegister (arguments checked): 0 or minus a reason. */
export function registerIn(v: View, granuleId: Id, allocId: Id, size: Size): number {
  if (typeof granuleId === 'number') {
    area[0] = v.view;
    area[1] = granuleId;
    return hotRegister() === undefined ? 0 : area[2]!;
  }
  return v.allocRegister(granuleId, allocId, size);
}

/** allocDeregister (arguments checked): 0 or minus a reason. */
export function deregisterIn(v: View, granuleId: Id, allocId: Id): number {
  if (typeof granuleId === 'number' && typeof allocId === 'number') {
    area[0] = v.view;
    area[1] = granuleId;
    area[3] = allocId;
    return hotDeregister() === undefined ? 0 : area[2]!;
  }
  return v.allocDeregister(granuleId, allocId);
}

/** Diagnostic allocRegister with a resolved site (file -1: none): 0 or minus a reason. */
function registerResolvedIn(v: View, granuleId: Id, allocId: Id, size: Size, file: number, line: number,
  column: number): number {
  if (typeof granuleId === 'number' && typeof allocId === 'number' && typeof size === 'number') {
    area[0] = v.view;
    area[1] = granuleId;
    area[3] = allocId;
    area[4] = size;
    area[5] = file;
    area[6] = line;
    area[7] = column;
    return hotRegisterSite() === undefined ? 0 : area[2]!;
  }
  return file < 0 ? v.allocRegister(granuleId, allocId, size)
    : v.allocRegisterSite(granuleId, allocId, size, file, line, column);
}

/**
 * Diagnostic allocRegister (arguments checked, `site` not yet): records
 * `site`, or the site of the frame that called `frame` when it is undefined.
 * 0 or minus a reason.
 */
export function registerSiteIn(v: View, sites: SiteTable, granuleId: Id, allocId: Id, size: Size,
  site: string | AllocSite | undefined, frame: Function, call: string): number {
  if (typeof site === 'string') {
    const resolved = sites.resolveString(v.handle, site, call);
    return registerResolvedIn(v, granuleId, allocId, size, resolved.file, resolved.line, resolved.column);
  }
  if (site === undefined) {
    const caller = callerOf(frame);
    const resolved = caller === undefined ? null : sites.resolveCaptured(v.handle, caller);
    return resolved === null
      ? registerResolvedIn(v, granuleId, allocId, size, -1, 0, 0)
      : registerResolvedIn(v, granuleId, allocId, size, resolved.file, resolved.line, resolved.column);
  }
  const explicit = checkSite(site, call);
  return registerResolvedIn(v, granuleId, allocId, size, sites.intern(v.handle, explicit.file), explicit.line,
    explicit.column);
}

/** Throws the error a failed call deserves. */
export function fail(reason: number, call: string, granuleId: Id, allocId?: Id, slotCapacity?: number): never {
  throw coreError(-reason, { call, granuleId, allocId, slotCapacity });
}
