// A structural leak in a C allocator, found from JavaScript, then fixed.
//
//   node demo.js [--epochs N] [--epoch-micros N] [--json]
//
// The C service (src/service.c) runs on a native thread and allocates from a slab/epoch allocator
// (src/slab.c: 64 KiB slabs from mmap, given back with munmap as soon as they are drainable). The
// allocator reports every slab and object through drainprof.h into the Profiler created here,
// while this thread reads snapshots, the allocator's mapped bytes and the RSS, and receives
// onPinning reports for the slabs the native thread closed pinned.
'use strict';
const { Profiler } = require('drainprof');
const { SlabAllocator } = require('./index.js');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : Number(args[i + 1]);
};
const EPOCHS = option('--epochs', 2000);
const EPOCH_MICROS = option('--epoch-micros', 250);
const JSON_OUT = args.includes('--json');
const REQUESTS_PER_EPOCH = 20;
const LOGIN_EVERY = 10;
const SAMPLE_MS = 100;

const out = JSON_OUT ? () => {} : (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;
const kib = (bytes) => (Math.abs(bytes) < 1048576 ? `${(bytes / 1024).toFixed(0)} KiB` : mib(bytes));
const siteText = (site) => (site === null ? '(no site)' : `${site.file}:${site.line}`);

async function phase(title, sessionsInOwnClass) {
  out(title);
  const reports = [];
  const profiler = new Profiler({ mode: 'diagnostic', onPinning: (report) => reports.push(report) });
  const slabs = new SlabAllocator(profiler);
  const rssBefore = process.memoryUsage.rss();
  const samples = [];
  const row = (label, snapshot, stats) => {
    const rss = process.memoryUsage.rss() - rssBefore;
    samples.push({ label, epochs: stats.epochs, dsr: snapshot.dsr, totalCloses: snapshot.totalCloses,
      pinnedCloses: snapshot.pinnedCloses, pinnedSlabs: stats.pinnedSlabs, mappedBytes: stats.mappedBytes,
      rssDelta: rss, reportsDelivered: reports.length });
    out(`  ${label.padStart(6)} ${String(stats.epochs).padStart(7)}  ${snapshot.dsr.toFixed(3)}` +
      `  ${String(stats.pinnedSlabs).padStart(12)}  ${kib(stats.mappedBytes).padStart(10)}` +
      `  ${(rss >= 0 ? '+' : '') + mib(rss)}`);
  };
  out('      ms  epochs    DSR  pinned slabs      mapped  RSS');

  const started = Date.now();
  let done = false;
  const finished = slabs.runOnThread({ epochs: EPOCHS, requestsPerEpoch: REQUESTS_PER_EPOCH,
    loginEvery: LOGIN_EVERY, sessionsInOwnClass, epochMicros: EPOCH_MICROS })
    .finally(() => { done = true; });
  while (!done) {
    await Promise.race([sleep(SAMPLE_MS), finished]);
    if (!done) row(String(Date.now() - started), profiler.snapshot(), slabs.stats());
  }
  const final = await finished;
  await sleep(10); // reports of the last closes are still on their way to this thread
  const snapshot = profiler.snapshot();
  row('done', snapshot, final);

  const result = { samples, final, snapshot, reports: reports.length, firstReport: null, summaryTop: null,
    afterLogout: null };
  out(`  onPinning: ${reports.length} reports, for slabs the native thread closed pinned` +
    (reports.length === 0 ? '.' : '; the first:'));
  if (reports.length > 0) {
    const [first] = reports;
    const pin = first.pinningAllocs[0];
    result.firstReport = { granuleId: Number(first.granuleId), pinningCount: first.pinningCount,
      totalAllocs: first.totalAllocs, size: pin.size, site: pin.site };
    out(`    slab ${first.granuleId} pinned by ${first.pinningCount} of its ${first.totalAllocs} objects: ` +
      `${pin.size} bytes from ${siteText(pin.site)}`);
  }

  // Sessions end: the slabs they pinned go back to the OS, and the diagnostic profiler learns how
  // long each one outlived its slab.
  const loggedOut = slabs.logoutAll();
  const after = slabs.stats();
  result.afterLogout = { sessions: loggedOut, mappedBytes: after.mappedBytes, pinnedSlabs: after.pinnedSlabs };
  const [top] = profiler.diagnosticSummary().sites;
  if (top !== undefined) {
    const ratios = profiler.lifetimeRecords().filter((r) => siteText(r.site) === siteText(top.site))
      .map((r) => r.lifetimeDeltaSec / r.granuleLifetimeSec).sort((a, b) => a - b);
    const median = ratios[Math.floor(ratios.length / 2)];
    result.summaryTop = { site: top.site, violationClass: top.violationClass, classCounts: top.classCounts,
      medianRatio: median };
    out(`  ${loggedOut} sessions log out: mapped ${kib(final.mappedBytes)} -> ${kib(after.mappedBytes)}. ` +
      'diagnosticSummary() names the line:');
    out(`    ${siteText(top.site)}  ${top.violationClass}: ${top.classCounts.fundamentalMismatch} objects ` +
      `outlived their slab, by ${Math.round(median)}x its lifetime (median)`);
  } else {
    out(`  ${loggedOut} sessions log out: mapped ${kib(final.mappedBytes)} -> ${kib(after.mappedBytes)}.`);
  }
  slabs.close();
  profiler.destroy();
  out();
  return result;
}

async function main() {
  out(`A C slab allocator (64 KiB slabs, mmap/munmap) instrumented through drainprof.h, counting into`);
  out(`the Profiler this JavaScript reads. The service runs on a native thread: ${EPOCHS} epochs of`);
  out(`${REQUESTS_PER_EPOCH} requests (2.5 KiB each, freed in the epoch), a login every ${LOGIN_EVERY}th epoch (a 256-byte session).`);
  out();
  const bug = await phase('1. Sessions allocated from the request epoch', false);
  const fix = await phase('2. The fix: sessions from their own long-lived slab class', true);
  out(`DSR ${bug.snapshot.dsr.toFixed(3)} -> ${fix.snapshot.dsr.toFixed(3)}; mapped at the end ` +
    `${kib(bug.final.mappedBytes)} -> ${kib(fix.final.mappedBytes)}.`);
  const bigints = (_key, value) => (typeof value === 'bigint' ? String(value) : value);
  if (JSON_OUT) process.stdout.write(`${JSON.stringify({ epochs: EPOCHS, bug, fix }, bigints)}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
