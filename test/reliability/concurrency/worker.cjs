// A worker_thread actor of the concurrency test: a view of the main thread's
// profiler (Profiler.fromShared) running actor.cjs's phases.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { Profiler } = require(workerData.drainprof);
const threads = require(workerData.addon);
const { runActor } = require('./actor.cjs');

(async () => {
  try {
    const p = Profiler.fromShared(workerData.token);
    parentPort.postMessage({ ready: true });
    const result = await runActor(p, workerData.plan, workerData.actor, workerData.site, threads.rendezvous);
    // One worker ends its view with destroy(), the other leaves it to the worker's end.
    if (workerData.destroy) p.destroy();
    parentPort.postMessage({ result });
  } catch (err) {
    threads.abort(); // nobody waits for this actor at a rendezvous
    parentPort.postMessage({ error: String(err && err.stack) });
  }
})();
