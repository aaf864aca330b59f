// Compiled by `tsc -p test/types`: the typed API as a CommonJS user sees it.
import drainprof = require('drainprof');

const profiler = new drainprof.Profiler({ mode: 'production', slotCapacity: 64 });
profiler.granuleOpen(5n);
profiler.allocRegister(5, 1, 8);
profiler.allocDeregister(5n, 1n);
const drainable: boolean = profiler.granuleClose(5);
const snapshot: drainprof.Snapshot = profiler.snapshot();
console.log(drainable, snapshot.dsr, snapshot.timestampNs);
profiler.granuleOpen(6);
const handle: drainprof.Granule = profiler.granule(6);
handle.register();
const result: drainprof.BatchResult = profiler.batch().commit();
const shared: drainprof.SharedProfiler = profiler.share();
const native: drainprof.NativeHandle = profiler.nativeHandle();
console.log(handle.close(), result.failures.length, shared.key, native);
profiler.destroy();
