/**
 * Allocation sites from JS: the caller's file:line:column, captured the way
 * DRAINPROF_ALLOC_REGISTER records __FILE__/__LINE__ in C, and the per-profiler
 * table of file names the C core borrows.
 *
 * @packageDocumentation
 */
import { findSourceMap, type SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import { binding, type Handle } from './binding.js';
import { coreError } from './errors.js';
import { checkSite } from './validate.js';

/** The V8 call-site methods used here (NodeJS.CallSite). */
export interface CallSite {
  getFileName(): string | undefined | null;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
}

type PrepareStackTrace = (err: Error, frames: CallSite[]) => unknown;

const takeFirstFrame: PrepareStackTrace = (_err, frames) => frames[0];

const ErrorWithStack = Error as unknown as {
  prepareStackTrace?: PrepareStackTrace;
  stackTraceLimit: number;
  captureStackTrace(target: object, constructorOpt?: Function): void;
};

/**
 * The frame that called `fn`: V8's structured stack trace, limited to that one
 * frame and never formatted as text. The global prepareStackTrace and
 * stackTraceLimit are swapped for the duration of the capture only.
 */
export function callerOf(fn: Function): CallSite | undefined {
  const savedPrepare = ErrorWithStack.prepareStackTrace;
  const savedLimit = ErrorWithStack.stackTraceLimit;
  try {
    ErrorWithStack.prepareStackTrace = takeFirstFrame;
    ErrorWithStack.stackTraceLimit = 1;
    const holder: { stack?: unknown } = {};
    ErrorWithStack.captureStackTrace(holder, fn);
    const frame = holder.stack;
    return typeof frame === 'object' && frame !== null ? frame as CallSite : undefined;
  } catch {
    return undefined; // frozen intrinsics (--frozen-intrinsics): register without a site
  } finally {
    try {
      ErrorWithStack.prepareStackTrace = savedPrepare;
      ErrorWithStack.stackTraceLimit = savedLimit;
    } catch {
      // unchanged, as they could not be changed
    }
  }
}

/** A site as allocRegisterSite takes it: an interned file index, line, column. */
export interface ResolvedSite {
  readonly file: number;
  readonly line: number;
  readonly column: number;
}

const STRING_CACHE_LIMIT = 4096;

function sourceMapsEnabled(): boolean {
  return (process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled === true;
}

function findSourceMapOf(script: string): SourceMap | null {
  try {
    return findSourceMap(script) ?? null;
  } catch {
    return null;
  }
}

function displayName(file: string): string {
  if (file.startsWith('file://')) {
    try {
      return fileURLToPath(file);
    } catch {
      return file;
    }
  }
  return file;
}

/**
 * File names interned in one native profiler. The native side copies each
 * name once and hands the copy to the core, which borrows it until destroy();
 * allocRegister then passes a small index instead of a string. `files[i]` is
 * the name of index i, used to rebuild AllocSite objects from reports.
 */
export class SiteTable {
  /** Index -> file name, shared with the onPinning delivery state. */
  readonly files: string[];
  readonly #byName = new Map<string, number>();
  /** V8 script names (file:// URLs for ES modules) -> index. */
  readonly #byScript = new Map<string, number>();
  /** V8 script names -> their source map (null: none), when Node's source maps are enabled. */
  readonly #sourceMaps = new Map<string, SourceMap | null>();
  /** Explicit site strings already parsed, bounded (sites are few; junk must not grow it). */
  readonly #byString = new Map<string, ResolvedSite>();

  /** `files`: the array to fill (the onPinning delivery state's), or a new one. */
  constructor(files: string[] = []) {
    this.files = files;
  }

  /** Index of `file`, interning it on first use. */
  intern(handle: Handle, file: string): number {
    let index = this.#byName.get(file);
    if (index === undefined) {
      index = binding.intern(handle, file);
      if (index < 0) throw coreError(-index, { call: 'allocRegister' });
      this.#byName.set(file, index);
      this.files.push(file);
    }
    return index;
  }

  /** An explicit site string, parsed and interned once. */
  resolveString(handle: Handle, site: string, call: string): ResolvedSite {
    let resolved = this.#byString.get(site);
    if (resolved === undefined) {
      const parsed = checkSite(site, call);
      resolved = { file: this.intern(handle, parsed.file), line: parsed.line, column: parsed.column };
      if (this.#byString.size >= STRING_CACHE_LIMIT) this.#byString.clear();
      this.#byString.set(site, resolved);
    }
    return resolved;
  }

  /**
   * The site of a captured frame. With Node's source maps enabled
   * (--enable-source-maps), a position in generated code is mapped back to
   * the original source, as Node's own stack traces are. Null when V8 gives
   * no script name (code from eval without a sourceURL).
   */
  resolveCaptured(handle: Handle, frame: CallSite): ResolvedSite | null {
    const script = frame.getFileName();
    if (!script) return null;
    const line = frame.getLineNumber() ?? 0;
    const column = frame.getColumnNumber() ?? 0;
    if (sourceMapsEnabled()) {
      let map = this.#sourceMaps.get(script);
      if (map === undefined) {
        map = findSourceMapOf(script);
        this.#sourceMaps.set(script, map);
      }
      if (map !== null && line > 0 && column > 0) {
        const entry = map.findEntry(line - 1, column - 1) as Partial<{ originalSource: string; originalLine: number; originalColumn: number }>;
        if (typeof entry.originalSource === 'string' && typeof entry.originalLine === 'number') {
          return {
            file: this.internScript(handle, entry.originalSource),
            line: entry.originalLine + 1,
            column: (entry.originalColumn ?? -1) + 1,
          };
        }
      }
    }
    return { file: this.internScript(handle, script), line, column };
  }

  /** Index of a V8 script name, shown as a path when it is a file URL. */
  internScript(handle: Handle, script: string): number {
    let index = this.#byScript.get(script);
    if (index === undefined) {
      index = this.intern(handle, displayName(script));
      this.#byScript.set(script, index);
    }
    return index;
  }
}
