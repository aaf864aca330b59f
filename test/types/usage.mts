// Compiled by `tsc -p test/types` (npm run test:js): the typed API as an ES module user sees it.
import {
  ERROR_CODES, MAX_ID, Profiler, type AllocSite, type DiagnosticSummary, type DrainprofError, type ErrorCode,
  type LifetimeRecord, type PinningReport, type Snapshot, type ViolationClass,
} from 'drainprof';

// The seed's four-call example.
const profiler = new Profiler();
profiler.granuleOpen(1);
profiler.allocRegister(1, 100, 64);
profiler.allocDeregister(1, 100);
const drainable: boolean = profiler.granuleClose(1);
const dsr: number = profiler.snapshot().dsr;
console.log(drainable, dsr);

// The diagnostic-summary example, with `using` disposal.
{
  using diag = new Profiler({
    mode: 'diagnostic',
    storage: 'hash-map',
    maxBufferedReports: 100,
    onError: (err: unknown) => console.error(err),
  });
  for (let epoch = 0n; epoch < 3n; epoch++) {
    diag.granuleOpen(epoch);
    diag.allocRegister(epoch, 1, 64); // the site is this line
    diag.allocRegister(epoch, 2, 32, 'cache.ts:10:5');
    diag.allocRegister(epoch, 3, 16n, { file: 'pool.ts', line: 3, column: 1 });
    diag.allocDeregister(epoch, 2);
    diag.granuleClose(epoch);
  }
  const summary: DiagnosticSummary = diag.diagnosticSummary();
  for (const entry of summary.sites) {
    const site: AllocSite | null = entry.site;
    const cls: ViolationClass = entry.violationClass;
    console.log(site?.file, site?.line, entry.pinningCount, entry.totalBytes, cls, entry.classCounts.nearMiss);
  }
  const reports: PinningReport[] = diag.drainReports(10);
  const granule: bigint = reports[0]!.granuleId;
  const when: bigint = reports[0]!.closeTimeNs;
  const records: LifetimeRecord[] = diag.lifetimeRecords();
  console.log(granule, when, records.length, diag.textReport(5));
}

const withCallback = new Profiler({ mode: 'diagnostic', onPinning: (r) => console.log(r.pinningAllocs[0]?.allocId) });
withCallback[Symbol.dispose]();

const snap: Snapshot = profiler.sweep();
const stamp: bigint = snap.timestampNs;
const text: string = profiler.metrics({ prefix: 'app', labels: { pool: 'a' }, openMetrics: true });
const max: bigint = MAX_ID;
const code: ErrorCode = 'ERR_GRANULE_NOT_OPEN';
const cls: 'TypeError' | 'RangeError' | 'Error' = ERROR_CODES[code].class;
try {
  profiler.granuleClose(42);
} catch (err) {
  const e = err as DrainprofError;
  if (e.code === 'ERR_GRANULE_NOT_OPEN') console.log(e.message);
}
console.log(stamp, text, max, cls, profiler.mode, profiler.storage, profiler.destroyed);
profiler.destroy();

// What the types refuse.
// @ts-expect-error ids are numbers or bigints
profiler.granuleOpen('1');
// @ts-expect-error no such mode
new Profiler({ mode: 'fast' });
// @ts-expect-error no such option
new Profiler({ slots: 4 });
// @ts-expect-error snapshots are read-only
profiler.snapshot().dsr = 1;
declare const someReport: PinningReport;
// @ts-expect-error reports hold read-only arrays
someReport.pinningAllocs.push(someReport.pinningAllocs[0]!);
// @ts-expect-error mode is read-only
profiler.mode = 'diagnostic';
