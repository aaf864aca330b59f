// A service whose slab allocator is instrumented with drainprof, exposing /metrics for Prometheus.
//
//   node examples/js/metrics-server.mjs            serve on http://127.0.0.1:9464/metrics
//   node examples/js/metrics-server.mjs --once     start, scrape itself once, print, exit
//
// Uses prom-client when it is installed (npm install prom-client), and the profiler's own
// exposition text otherwise.
import { createServer } from 'node:http';
import { Profiler } from 'drainprof';

const profiler = new Profiler();

// The allocator: a slab holds 64 objects and is retired (the granule closes) when full. A retired
// slab is reclaimed once its objects are all freed; one object still live keeps it pinned.
const SLOT_BYTES = 256;
const SLOTS = 64;
let slab = null;
let nextSlab = 1;
let nextObject = 1;
function alloc() {
  if (slab === null || slab.used === SLOTS) {
    if (slab !== null) {
      profiler.granuleClose(slab.id);
      slab.retired = true;
    }
    slab = { id: nextSlab++, used: 0, retired: false };
    profiler.granuleOpen(slab.id);
  }
  slab.used++;
  const obj = { slab, id: nextObject++ };
  profiler.allocRegister(slab.id, obj.id, SLOT_BYTES);
  return obj;
}
function free(obj) {
  // A production profiler stops tracking a slab once it is retired: only report earlier frees.
  if (!obj.slab.retired) profiler.allocDeregister(obj.slab.id, obj.id);
}

// The workload: requests allocate and free; one in 500 keeps its object (a cache entry).
const cache = [];
function serveRequests(n) {
  for (let i = 0; i < n; i++) {
    const obj = alloc();
    if (obj.id % 500 === 0) cache.push(obj);
    else free(obj);
  }
}

let promRegistry = null;
try {
  const { Registry } = await import('prom-client');
  const { registerPrometheusMetrics } = await import('drainprof/prometheus');
  promRegistry = new Registry();
  registerPrometheusMetrics(profiler, { registry: promRegistry, labels: { allocator: 'slab-256' } });
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' && err?.code !== 'MODULE_NOT_FOUND') throw err;
}

const server = createServer(async (req, res) => {
  if (req.url !== '/metrics') {
    res.writeHead(404).end();
    return;
  }
  const body = promRegistry ? await promRegistry.metrics() : profiler.metrics({ labels: { allocator: 'slab-256' } });
  res.writeHead(200, { 'content-type': promRegistry ? promRegistry.contentType : 'text/plain; version=0.0.4' }).end(body);
});

const once = process.argv.includes('--once');
server.listen(once ? 0 : 9464, '127.0.0.1', async () => {
  const { port } = server.address();
  if (!once) {
    console.log(`metrics on http://127.0.0.1:${port}/metrics`);
    setInterval(() => serveRequests(1000), 100).unref();
    return;
  }
  serveRequests(64_000); // 1000 slabs
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (/^drainability_(granule_closes_total|satisfaction_ratio)\{/.test(line)) console.log(line);
  }
  server.close();
  profiler.destroy();
});
