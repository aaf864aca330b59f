// Compiled by `tsc -p test/types` (npm run test:js): the typed API as an ES module user sees it.
import {
  ERROR_CODES, MAX_ID, Profiler, type AllocSite, type DiagnosticSummary, type DrainprofError, type ErrorCode,
  type LifetimeRecord, type PinningReport, type Snapshot, type ViolationClass, type Batch, type BatchCall,
  type BatchFailure, type BatchResult, type Granule, type Id, type NativeHandle, type SharedProfiler,
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

// Granule handles: no native call per register/deregister in production mode.
profiler.granuleOpen(7);
const handle: Granule = profiler.granule(7);
const handleId: Id = handle.id;
const handleOpen: boolean = handle.open;
handle.register();
handle.register(1, 64, 'pool.ts:3:1');
handle.register(2n, 64n, { file: 'pool.ts', line: 3, column: 1 });
handle.deregister(1);
const handleDrainable: boolean = handle.close();
console.log(handleId, handleOpen, handleDrainable);

// Batches: recorded now, run in one native call at commit().
const batch: Batch = profiler.batch(128);
batch.granuleOpen(8);
batch.allocRegister(8, 1, 64);
batch.allocRegister(8n, 2n, 32n, 'cache.ts:10:5');
batch.allocDeregister(8, 1);
batch.granuleClose(8);
const recorded: number = batch.size;
const result: BatchResult = batch.commit();
const calls: number = result.calls;
const failed: number = result.failed;
const closes: Int8Array = result.closes;
const failures: readonly BatchFailure[] = result.failures;
const firstError: DrainprofError | null = result.firstError;
for (const f of failures) {
  const index: number = f.index;
  const count: number = f.count;
  const call: BatchCall = f.call;
  const failedGranule: bigint = f.granuleId;
  const failedCode: ErrorCode = f.code;
  console.log(index, count, call, failedGranule, failedCode);
}
batch.clear();
const thrown: BatchResult = batch.commitOrThrow();
console.log(recorded, calls, failed, closes[0], firstError?.code, thrown.calls);

// Views in other threads, and handing the profiler to a native addon.
const token: SharedProfiler = profiler.share();
const tokenKind: 'drainprof.SharedProfiler' = token.kind;
const tokenKey: bigint = token.key;
const view: Profiler = Profiler.fromShared(token);
view.destroy();
const native: NativeHandle = profiler.nativeHandle();
const nativeTag: 'DrainprofNativeHandle' = native[Symbol.toStringTag];
console.log(tokenKind, tokenKey, nativeTag);
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
// @ts-expect-error a handle's id is read-only
handle.id = 2;
// @ts-expect-error batch results are read-only
result.calls = 0;
// @ts-expect-error fromShared takes a share() token
Profiler.fromShared({ kind: 'other', key: 1n });
// @ts-expect-error Batch is a type only: batches come from profiler.batch()
new Batch();
