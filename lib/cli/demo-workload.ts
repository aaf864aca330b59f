/**
 * The demo's allocator and the toy service that uses it.
 *
 * EpochArena is a coarse-grained allocator whose granules hold real memory: each epoch's granule
 * is one ArrayBuffer, and every object of the epoch is a view carved from it. When an epoch closes
 * with no live object, the arena drops the buffer and the garbage collector reclaims it. When one
 * object is still live, that object's view keeps the whole buffer reachable: the granule is pinned,
 * and its memory stays until the object is freed. That is the structural leak the demo measures.
 *
 * The arena reports every step to a drainprof Profiler (the four calls), and in diagnostic mode
 * passes the site of *its caller* with each registration, the way C allocators pass
 * __FILE__/__LINE__ through DRAINPROF_ALLOC_REGISTER: the site worth naming is the line that asked
 * for the object, not the arena's own code.
 */
import type { AllocSite, Profiler } from '../index.js';

/** Bytes of a session object: small, but it outlives every request. (Exported separately so the
 * compiled line that uses it reads as written here.) */
const SESSION_BYTES = 512;
export { SESSION_BYTES };
/** Requests served per epoch; each takes two buffers of granuleBytes / 32. */
export const REQUESTS_PER_EPOCH = 15;

/** The profiler calls the arena makes (a Profiler has them all). */
export type ArenaProfiler = Pick<Profiler, 'granuleOpen' | 'granuleClose' | 'allocRegister' | 'allocDeregister'>;

interface Granule {
  id: number;
  buffer: ArrayBuffer | null;
  used: number;
  live: number;
  closed: boolean;
}

/** An object handed out by an allocator: its bytes and where it came from. */
export interface Block {
  readonly bytes: Uint8Array;
  readonly granule: Granule | null;
  readonly allocId: number;
}

export class EpochArena {
  private current: Granule | null = null;
  private nextAllocId = 1;
  /** Granules that closed pinned, kept until their last object is freed. */
  private readonly retained = new Map<number, Granule>();

  constructor(
    private readonly profiler: ArenaProfiler,
    readonly granuleBytes: number,
    /** The profiler is in diagnostic mode: pass each caller's source site, report late frees. */
    private readonly diagnostic: boolean,
  ) {}

  openEpoch(epoch: number): void {
    if (this.current !== null) throw new Error('EpochArena: the previous epoch is still open');
    this.profiler.granuleOpen(epoch);
    this.current = { id: epoch, buffer: new ArrayBuffer(this.granuleBytes), used: 0, live: 0, closed: false };
  }

  alloc(size: number): Block {
    const g = this.current;
    if (g === null || g.buffer === null) throw new Error('EpochArena: no epoch is open');
    if (g.used + size > this.granuleBytes) throw new Error('EpochArena: granule full');
    const bytes = new Uint8Array(g.buffer, g.used, size);
    g.used += size;
    g.live++;
    const allocId = this.nextAllocId++;
    if (this.diagnostic) {
      this.profiler.allocRegister(g.id, allocId, size, callerSite(this.alloc));
    } else {
      this.profiler.allocRegister(g.id, allocId, size);
    }
    return { bytes, granule: g, allocId };
  }

  free(block: Block): void {
    const g = block.granule;
    if (g === null) throw new Error('EpochArena: block does not come from an arena');
    // A free after its granule closed pinned is news only to a diagnostic profiler (it measures
    // how long the object outlived its granule); in production the granule is gone from the
    // profiler's books and deregistering would fail with ERR_GRANULE_NOT_OPEN.
    if (!g.closed || this.diagnostic) this.profiler.allocDeregister(g.id, block.allocId);
    g.live--;
    if (g.closed && g.live === 0) this.retained.delete(g.id); // the pinned granule is reclaimable at last
  }

  /** Closes the open epoch; true when it was drainable and its memory went back. */
  closeEpoch(): boolean {
    const g = this.current;
    if (g === null) throw new Error('EpochArena: no epoch is open');
    this.current = null;
    g.closed = true;
    const drainable = this.profiler.granuleClose(g.id);
    // The arena lets go of the buffer either way; a pinned granule's buffer stays reachable
    // through its live views, exactly as a pinned slab stays mapped in a native allocator.
    g.buffer = null;
    if (!drainable) this.retained.set(g.id, g);
    return drainable;
  }

  /** Granules closed pinned whose objects are not all freed yet. */
  get retainedGranules(): number {
    return this.retained.size;
  }
}

/**
 * The fix's allocator for long-lived objects: each object gets its own buffer, so its memory goes
 * back with it and never holds anyone else's. (A slab pool whose objects all live long would do
 * as well: what matters is that lifetimes inside one granule match.)
 */
export class LongLivedPool {
  private nextAllocId = 1;

  alloc(size: number): Block {
    return { bytes: new Uint8Array(size), granule: null, allocId: this.nextAllocId++ };
  }

  free(_block: Block): void {
    // Dropping the last reference is enough: the block's buffer is its own.
  }
}

/** The site of whoever called `fn` (V8 stack API). */
export function callerSite(fn: Function): AllocSite | undefined {
  const holder: { stack?: NodeJS.CallSite[] } = {};
  const prepare = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  try {
    Error.prepareStackTrace = (_err, frames) => frames;
    Error.stackTraceLimit = 1;
    Error.captureStackTrace(holder, fn);
    const frame = holder.stack?.[0];
    const file = frame?.getFileName();
    if (frame === undefined || !file) return undefined;
    return { file, line: frame.getLineNumber() ?? 0, column: frame.getColumnNumber() ?? 0 };
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
}

export interface Session {
  readonly block: Block;
  readonly epoch: number;
}

function serveRequests(arena: EpochArena, epoch: number): Block[] {
  const scratch: Block[] = [];
  const bufferBytes = arena.granuleBytes / 32;
  for (let r = 0; r < REQUESTS_PER_EPOCH; r++) {
    const request = arena.alloc(bufferBytes);
    const response = arena.alloc(bufferBytes);
    request.bytes.fill((epoch + r) & 0xff);
    response.bytes.set(request.bytes.subarray(0, 64));
    scratch.push(request, response);
  }
  return scratch;
}

/**
 * One epoch of the leaky service: serve the requests from the epoch's arena and, when a client
 * logs in, create its session. Returns whether the epoch's granule closed drainable.
 */
export function serveEpoch(arena: EpochArena, epoch: number, login: boolean, sessions: Session[]): boolean {
  arena.openEpoch(epoch);
  const scratch = serveRequests(arena, epoch);
  if (login) {
    // The structural leak: the session outlives every request, yet comes from the request epoch.
    sessions.push({ block: arena.alloc(SESSION_BYTES), epoch });
  }
  for (const block of scratch) arena.free(block);
  return arena.closeEpoch();
}

/** The same epoch with the fix: sessions come from the long-lived pool. */
export function serveEpochFixed(arena: EpochArena, pool: LongLivedPool, epoch: number, login: boolean, sessions: Session[]): boolean {
  arena.openEpoch(epoch);
  const scratch = serveRequests(arena, epoch);
  if (login) {
    sessions.push({ block: pool.alloc(SESSION_BYTES), epoch });
  }
  for (const block of scratch) arena.free(block);
  return arena.closeEpoch();
}

/** The text a test looks for on the line the diagnostic names. */
export const PINNING_CALL = 'arena.alloc(SESSION_BYTES)';
