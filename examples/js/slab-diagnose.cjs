// Find which call site pins slabs, then check the fix, in a CommonJS program.
//
//   node examples/js/slab-diagnose.cjs
//
// Request scratch objects and cache entries share one 128-byte slab class. A slab is retired
// (the granule closes) when it is full; scratch objects are freed at once, cache entries live on.
// The diagnostic profiler names the line that allocates the cache entries; giving them their own
// long-lived storage brings the DSR to 1.
'use strict';
const { Profiler } = require('drainprof');
const { buildDiagnosticReport, formatDiagnosticReport } = require('drainprof/report');

const SLOTS_PER_SLAB = 32;

/** The source site of whoever called `fn`, from V8's structured stack trace. */
function callerSite(fn) {
  const holder = {};
  const { prepareStackTrace, stackTraceLimit } = Error;
  Error.prepareStackTrace = (_err, frames) => frames[0];
  Error.stackTraceLimit = 1;
  try {
    Error.captureStackTrace(holder, fn);
    const frame = holder.stack;
    return { file: frame.getFileName(), line: frame.getLineNumber(), column: frame.getColumnNumber() };
  } finally {
    Error.prepareStackTrace = prepareStackTrace;
    Error.stackTraceLimit = stackTraceLimit;
  }
}

function run(cacheHasOwnStorage) {
  const profiler = new Profiler({ mode: 'diagnostic' });
  let slab = null;
  let nextSlab = 1;
  let nextObject = 1;
  function alloc128() {
    if (slab === null || slab.used === SLOTS_PER_SLAB) {
      if (slab !== null) profiler.granuleClose(slab.id); // retire the full slab
      slab = { id: nextSlab++, used: 0 };
      profiler.granuleOpen(slab.id);
    }
    slab.used++;
    const obj = { slab: slab.id, id: nextObject++, bytes: new Uint8Array(128) };
    // Record who asked for the object, not this helper: that is the line worth fixing.
    profiler.allocRegister(obj.slab, obj.id, 128, callerSite(alloc128));
    return obj;
  }
  function free128(obj) {
    profiler.allocDeregister(obj.slab, obj.id);
  }

  const cache = [];
  for (let request = 1; request <= 3200; request++) {
    const scratch = alloc128();
    free128(scratch);
    if (request % 40 === 0) {
      cache.push(cacheHasOwnStorage ? { bytes: new Uint8Array(128) } : alloc128()); // the cache entry
    }
  }
  const report = buildDiagnosticReport(profiler);
  profiler.destroy();
  return report;
}

const before = run(false);
process.stdout.write(formatDiagnosticReport(before, { maxSites: 3, relativeTo: __dirname }));
const after = run(true);
console.log(`\nWith their own storage for cache entries: DSR ${after.snapshot.dsr} over ${after.snapshot.totalCloses} slabs.`);
