// Compiled by `tsc -p test/types`: the typed API as a CommonJS user sees it.
import drainprof = require('drainprof');

const profiler = new drainprof.Profiler({ mode: 'production', slotCapacity: 64 });
profiler.granuleOpen(5n);
profiler.allocRegister(5, 1, 8);
profiler.allocDeregister(5n, 1n);
const drainable: boolean = profiler.granuleClose(5);
const snapshot: drainprof.Snapshot = profiler.snapshot();
console.log(drainable, snapshot.dsr, snapshot.timestampNs);
profiler.destroy();
