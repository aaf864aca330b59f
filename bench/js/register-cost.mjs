// ns per allocRegister from JS: production vs diagnostic with the caller's site
// captured automatically vs an explicit site. Run: node bench/js/register-cost.mjs
// (after npm install / npm run build). Prints figures; asserts nothing.
// The automatic site is a V8 stack capture (Error.captureStackTrace with a
// structured prepareStackTrace, one frame); everything after it is cached per
// script. Its cost is V8's, so hot paths that need speed pass an explicit site.
import { createRequire } from 'node:module';
import { Profiler } from 'drainprof';

const require = createRequire(import.meta.url);
const { binding } = require('../../dist/internal.js');

const N = 20_000; // registrations per batch (deregistered untimed between batches)
const BATCHES = 60;

function measure(name, setup, register, deregister = (p, i) => p.allocDeregister(1, i)) {
  const p = setup();
  p.granuleOpen(1);
  const samples = [];
  for (let b = 0; b < BATCHES; b++) {
    const t0 = process.hrtime.bigint();
    register(p, N);
    const t1 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) deregister(p, i);
    if (b >= 10) samples.push(Number(t1 - t0) / N); // first batches warm up the JIT
  }
  p.destroy();
  samples.sort((a, b) => a - b);
  const median = samples[samples.length >> 1];
  console.log(`${name.padEnd(52)} ${median.toFixed(1).padStart(8)} ns/call (median of ${samples.length} batches of ${N})`);
}

const production = () => new Profiler();
const diagnostic = () => new Profiler({ mode: 'diagnostic', maxBufferedReports: 0 });
const site = { file: 'bench/js/register-cost.mjs', line: 1, column: 1 };

measure('production, number ids', production, (p, n) => { for (let i = 0; i < n; i++) p.allocRegister(1, i, 64); });
measure('production, bigint ids', production, (p, n) => { for (let i = 0; i < n; i++) p.allocRegister(1n, BigInt(i), 64); });
{
  // The N-API floor: the bound native function alone, without lib/'s checks.
  const [handle, open, , register, , deregister] = binding.createProfiler(0, 0, 16, 16, 0, 0, false, 0, undefined, undefined);
  open(1);
  measure('production, bound native function (no lib/ checks)', production, (_p, n) => {
    for (let i = 0; i < n; i++) register(1, i, 64);
  }, (_p, i) => deregister(1, i));
  binding.destroy(handle);
}
measure('diagnostic, explicit AllocSite object', diagnostic, (p, n) => { for (let i = 0; i < n; i++) p.allocRegister(1, i, 64, site); });
measure('diagnostic, explicit "file:line:col" string', diagnostic, (p, n) => { for (let i = 0; i < n; i++) p.allocRegister(1, i, 64, 'bench.mjs:1:1'); });
measure('diagnostic, automatic caller site', diagnostic, (p, n) => { for (let i = 0; i < n; i++) p.allocRegister(1, i, 64); });
