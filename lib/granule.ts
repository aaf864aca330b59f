/**
 * Granule handles: `profiler.granule(id)`, whose register/deregister count
 * without crossing into native code.
 *
 * Each environment's view keeps slabs of foreign counter slots (see
 * drainprof_ext.h): SharedArrayBuffers that native code adopted and the C
 * core reads. A slot is 32 bytes: a float64 token, then uint64 registers,
 * deregisters and reserved. A production handle holds an Int32Array over its
 * slot and the two words of its attachment's token; register() checks that
 * the token is still there (the core writes 0 when the granule closes, from
 * whatever thread) and adds 1 to the low word of registers: three loads, two
 * compares and a store, no call.
 *
 * Why integers: incrementing the same float64 in memory again and again is a
 * dependency chain through the FPU (~3.5 ns per increment on the machine the
 * bench names) while an integer one costs next to nothing. A low word reaching
 * 2^31 - 1 is folded into the core (one native call per 2^31 counts) and
 * restarts from 0, so the Int32Array never overflows and the high word stays 0.
 *
 * Why symbol-keyed fields on a frozen object rather than #private ones: V8
 * reads #private fields here ~1 ns slower per call; frozen, the handle cannot
 * be tampered with either way.
 *
 * @packageDocumentation
 */
import { binding } from './binding.js';
import { coreError, destroyedError, invalidThisError } from './errors.js';
import { checkId } from './ids.js';
import type { AllocSite, Id, Size } from './types.js';
import { checkSize } from './validate.js';
import { closeIn, deregisterIn, fail, registerSiteIn, type View } from './view.js';

/** Doubles per slot: token, registers, deregisters, reserved. */
const SLOT = 4;
/** Whether a count's low int32 word comes first in memory. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** A low word is folded into the core when it reaches this. */
const FOLD_AT = 0x7fff_ffff;
const FIRST_SLAB_SLOTS = 64;
const MAX_SLAB_SLOTS = 65536;

/**
 * A handle on one open life of a granule (see {@link Profiler.granule}).
 * Stale once that life ends: it never counts into a later one.
 */
export interface Granule {
  /** The granule id, as given to `granule()`. */
  readonly id: Id;
  /**
   * Whether the life this handle names is still open, as far as this thread
   * can tell (false once it closed here, or a close on another thread reached
   * this thread's memory; false after destroy()).
   */
  readonly open: boolean;
  /**
   * Counts one allocation into the granule. Production mode: no native call,
   * the arguments are not looked at (the core keeps no per-allocation state
   * there). Diagnostic mode: `allocId` and `size` are required and checked as
   * allocRegister's, `site` as allocRegister's (default: the line that called
   * register()).
   *
   * @throws Error ERR_GRANULE_NOT_OPEN when the granule closed since the handle
   *   was made (counted as a failed register, as allocRegister would);
   *   ERR_PROFILER_DESTROYED after destroy().
   */
  register(allocId?: Id, size?: Size, site?: string | AllocSite): void;
  /** Counts one free: as {@link register}; diagnostic mode needs `allocId`. */
  deregister(allocId?: Id): void;
  /** `profiler.granuleClose(id)`: true drainable, false pinned. The handle is stale afterwards. */
  close(): boolean;
}

/** Slots of one view. JS thread only, like the view. */
export class SlotTable {
  readonly #view: View;
  readonly slabs: Float64Array[] = [];
  /** The same slabs as Int32Arrays (tests read the counts through them). */
  readonly counts: Int32Array[] = [];
  /** Per slab and slot, the cache key its last handle was stored under. */
  readonly #keys: (number | bigint | undefined)[][] = [];
  /** Open granule -> this thread's handle on it, for granule(id) again. */
  readonly handles = new Map<number | bigint, Granule>();
  #slab = 0;
  #slot = 0;

  constructor(view: View) {
    this.#view = view;
  }

  /**
   * A free slot: one whose token reads 0 (never attached, or released by a
   * close, a detach or reset). Scans on from where the last one was found;
   * adds a slab (twice the last, adopted by native code) when all are taken.
   */
  take(): [slab: number, slot: number] {
    const slabs = this.slabs;
    // Every slot once, from the cursor on: the rest of its slab, the other
    // slabs, then the start of its slab.
    for (let n = 0; n <= slabs.length; n++) {
      const s = (this.#slab + n) % Math.max(slabs.length, 1);
      const f = slabs[s];
      if (f === undefined) break;
      const from = n === 0 ? this.#slot : 0;
      const to = n === slabs.length ? this.#slot : f.length / SLOT;
      for (let i = from; i < to; i++) {
        if (f[i * SLOT] === 0) {
          this.#slab = s;
          this.#slot = i + 1;
          this.#forget(s, i);
          return [s, i];
        }
      }
    }
    const last = slabs[slabs.length - 1];
    const slots = last === undefined ? FIRST_SLAB_SLOTS : Math.min((last.length / SLOT) * 2, MAX_SLAB_SLOTS);
    const slab = new Float64Array(new SharedArrayBuffer(slots * SLOT * 8));
    const index = binding.adoptSlab(this.#view.handle, slab);
    if (index < 0) throw coreError(-index, { call: 'granule' });
    slabs.push(slab);
    this.counts.push(new Int32Array(slab.buffer));
    this.#keys.push([]);
    this.#slab = index;
    this.#slot = 1;
    return [index, 0];
  }

  /** Remembers which cache entry the handle in (slab, slot) is under. */
  keep(slab: number, slot: number, key: number | bigint, handle: Granule): void {
    this.#keys[slab]![slot] = key;
    this.handles.set(key, handle);
  }

  #forget(slab: number, slot: number): void {
    const key = this.#keys[slab]![slot];
    if (key === undefined) return;
    this.#keys[slab]![slot] = undefined;
    const cached = this.handles.get(key) as ProductionGranule | DiagnosticGranule | undefined;
    if (cached !== undefined && cached[kSlab] === slab && cached[kBase] === slot * SLOT) this.handles.delete(key);
  }
}

/** The cache key of an id: 5 and 5n are one granule. */
function keyOf(id: Id): number | bigint {
  return typeof id === 'bigint' && id <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(id) : id;
}

/** A handle's refused call: counted as the same call into a closed granule, then thrown. */
function refuse(view: View, id: Id, deregister: boolean, call: string): never {
  if (!view.live) throw destroyedError(call);
  const reason = binding.refused(view.handle, deregister);
  throw coreError(-reason, { call, granuleId: id });
}

/** ERR_INVALID_ARG_TYPE for a handle method called (or getter read) on something that is not a handle. */
function notAHandle(call: string, receiver: unknown, getter = false): never {
  throw invalidThisError(call, receiver, getter, 'Granule', 'granule');
}

/** Refuses a receiver that is not a production handle (its symbol fields are module-private). */
function checkProduction(receiver: unknown, call: string, getter = false): void {
  if (typeof receiver !== 'object' || receiver === null || !Object.hasOwn(receiver, kWords)) {
    notAHandle(call, receiver, getter);
  }
}

const kView = Symbol('view');
const kWords = Symbol('words');
const kSlab = Symbol('slab');
const kBase = Symbol('base');
const kTokenLow = Symbol('tokenLow');
const kTokenHigh = Symbol('tokenHigh');

/** The two int32 words of a float64 token, as they lie in memory. */
const tokenScratch = new Float64Array(1);
const tokenWords = new Int32Array(tokenScratch.buffer);

/** The count at word `i` of g's slot reached FOLD_AT: the counts join the core, this call counts from 0. */
function foldAndCount(g: ProductionGranule, i: number, deregister: boolean): void {
  const view = g[kView];
  const folded = binding.fold(view.handle, g[kSlab], g[kBase] / SLOT);
  if (folded !== 1) refuse(view, g.id, deregister, deregister ? 'Granule.deregister' : 'Granule.register');
  g[kWords][i] = 1;
}

function refuseRegister(g: ProductionGranule): never {
  refuse(g[kView], g.id, false, 'Granule.register');
}

function refuseDeregister(g: ProductionGranule): never {
  refuse(g[kView], g.id, true, 'Granule.deregister');
}

/**
 * Production: register/deregister write this thread's slot, nothing else.
 * They do not check their receiver: called on something that is not a handle
 * they throw JavaScript's own TypeError (no `.code`), as any guard measurably
 * slowed the ~1 ns call (a try/catch ~10%, a `w === undefined` test ~3%).
 * The getter and close() check it (ERR_INVALID_ARG_TYPE).
 * The handle holds an Int32Array over its own slot (8 words: the token's two,
 * then the counts'), so every index is a constant and V8 checks one small
 * array; measured faster than indexing the whole slab, with one handle or many
 * at one call site.
 */
class ProductionGranule implements Granule {
  readonly [kView]: View;
  readonly [kWords]: Int32Array;
  readonly [kSlab]: number;
  /** The slot's float64 index in its slab. */
  readonly [kBase]: number;
  readonly [kTokenLow]: number;
  readonly [kTokenHigh]: number;
  readonly id: Id;

  constructor(view: View, slab: Float64Array, slabIndex: number, base: number, token: number, id: Id) {
    this[kView] = view;
    this[kWords] = new Int32Array(slab.buffer, base * 8, SLOT * 2);
    this[kSlab] = slabIndex;
    this[kBase] = base;
    tokenScratch[0] = token;
    this[kTokenLow] = tokenWords[0]!;
    this[kTokenHigh] = tokenWords[1]!;
    this.id = id;
    Object.freeze(this);
  }

  get open(): boolean {
    checkProduction(this, 'open', true);
    const w = this[kWords];
    return w[0] === this[kTokenLow] && w[1] === this[kTokenHigh];
  }

  // The low words' indices are literals (2 and 4, little-endian; see
  // BigEndianGranule): V8 does not fold a module constant into the index,
  // and a literal makes the bounds check and the address constant.
  register(_allocId?: Id, _size?: Size, _site?: string | AllocSite): void {
    const w = this[kWords];
    if (w[0] !== this[kTokenLow] || w[1] !== this[kTokenHigh]) refuseRegister(this);
    const v = w[2]!;
    if (v === FOLD_AT) foldAndCount(this, 2, false);
    else w[2] = v + 1;
  }

  deregister(_allocId?: Id): void {
    const w = this[kWords];
    if (w[0] !== this[kTokenLow] || w[1] !== this[kTokenHigh]) refuseDeregister(this);
    const v = w[4]!;
    if (v === FOLD_AT) foldAndCount(this, 4, true);
    else w[4] = v + 1;
  }

  close(): boolean {
    checkProduction(this, 'close');
    return closeHandle(this[kView], this.id);
  }
}

/** The same on big-endian targets (s390x), where a count's low word comes second. */
class BigEndianGranule extends ProductionGranule {
  override register(_allocId?: Id, _size?: Size, _site?: string | AllocSite): void {
    const w = this[kWords];
    if (w[0] !== this[kTokenLow] || w[1] !== this[kTokenHigh]) refuseRegister(this);
    const v = w[3]!;
    if (v === FOLD_AT) foldAndCount(this, 3, false);
    else w[3] = v + 1;
  }

  override deregister(_allocId?: Id): void {
    const w = this[kWords];
    if (w[0] !== this[kTokenLow] || w[1] !== this[kTokenHigh]) refuseDeregister(this);
    const v = w[5]!;
    if (v === FOLD_AT) foldAndCount(this, 5, true);
    else w[5] = v + 1;
  }
}

const Production = LITTLE_ENDIAN ? ProductionGranule : BigEndianGranule;

/**
 * Diagnostic: the slot only marks the granule's life (its counts are
 * ignored); register/deregister make the usual native calls after the check.
 */
class DiagnosticGranule implements Granule {
  readonly #f: Float64Array;
  readonly #base: number;
  readonly #token: number;
  readonly #view: View;
  readonly id: Id;
  readonly [kSlab]: number;
  readonly [kBase]: number;

  constructor(view: View, f: Float64Array, slab: number, base: number, token: number, id: Id) {
    this.#view = view;
    this.#f = f;
    this[kSlab] = slab;
    this[kBase] = this.#base = base;
    this.#token = token;
    this.id = id;
    Object.freeze(this);
  }

  get open(): boolean {
    if (typeof this !== 'object' || this === null || !(#f in this)) notAHandle('open', this, true);
    return this.#f[this.#base] === this.#token;
  }

  register(allocId?: Id, size?: Size, site?: string | AllocSite): void {
    if (typeof this !== 'object' || this === null || !(#view in this)) notAHandle('register', this);
    const view = this.#view;
    if (!view.live) throw destroyedError('Granule.register');
    checkId(allocId, 'allocId', 'Granule.register');
    checkSize(size, 'size', 'Granule.register');
    if (this.#f[this.#base] !== this.#token) refuse(view, this.id, false, 'Granule.register');
    const result = registerSiteIn(view, view.sites!, this.id, allocId, size, site, kRegister, 'Granule.register');
    if (result < 0) fail(result, 'Granule.register', this.id, allocId);
  }

  deregister(allocId?: Id): void {
    if (typeof this !== 'object' || this === null || !(#view in this)) notAHandle('deregister', this);
    const view = this.#view;
    if (!view.live) throw destroyedError('Granule.deregister');
    checkId(allocId, 'allocId', 'Granule.deregister');
    if (this.#f[this.#base] !== this.#token) refuse(view, this.id, true, 'Granule.deregister');
    const result = deregisterIn(view, this.id, allocId);
    if (result < 0) fail(result, 'Granule.deregister', this.id, allocId);
  }

  close(): boolean {
    if (typeof this !== 'object' || this === null || !(#view in this)) notAHandle('close', this);
    return closeHandle(this.#view, this.id);
  }
}

/** The frame above this function is the register() caller's. */
const kRegister: Function = DiagnosticGranule.prototype.register;

function closeHandle(view: View, id: Id): boolean {
  if (!view.live) throw destroyedError('Granule.close');
  const result = closeIn(view, id);
  if (result < 0) fail(result, 'Granule.close', id);
  return result === 1;
}

/** profiler.granule(id), arguments checked. */
export function makeGranule(view: View, id: Id): Granule {
  const table = view.slots ??= new SlotTable(view);
  const key = keyOf(id);
  const cached = table.handles.get(key);
  if (cached !== undefined && cached.open) return cached;
  const [slab, slot] = table.take();
  const token = binding.attach(view.handle, slab, slot, id);
  if (token < 0) fail(token, 'granule', id);
  const f = table.slabs[slab]!;
  const handle = view.sites === null
    ? new Production(view, f, slab, slot * SLOT, token, id)
    : new DiagnosticGranule(view, f, slab, slot * SLOT, token, id);
  table.keep(slab, slot, key, handle);
  return handle;
}
