import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers';

const FIXTURE = path.join(__dirname, 'fixtures', 'report.json');

describe('drainprof report', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drainprof-report-test-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('renders text: DSR, totals, top sites with bytes and violation class', () => {
    const r = runCli(['report', FIXTURE]);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toContain('drainprof report (diagnostic mode, 2025-01-15T10:20:30.000Z, service=checkout host=web-3)');
    expect(out).toContain('DSR 94.0%: 940 drainable + 60 pinned = 1000 closes');
    expect(out).toContain('granules open 2 (peak 8); allocations registered 250000, deregistered 249100');
    expect(out).toContain('Top pinning sites (3 of 3; 75 pinning allocations in 60 reports, 41 lifetimes measured):');
    expect(out).toMatch(/^\s+1\s+\/srv\/app\/src\/session-cache\.js:88:17\s+45\s+50\s+200\.0 KiB\s+fundamental_mismatch$/m);
    expect(out).toMatch(/^\s+2\s+\/srv\/app\/src\/request\.js:140:9\s+12\s+20\s+5\.0 KiB\s+near_miss$/m);
    expect(out).toMatch(/^\s+3\s+\(no site recorded\)\s+3\s+5\s+640 B\s+unresolved$/m);
    expect(out).toMatch(/^fundamental_mismatch: .*long-lived pool/m);
  });

  it('limits the sites with --max-sites', () => {
    const r = runCli(['report', FIXTURE, '--max-sites', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Top pinning sites (1 of 3;');
    expect(r.stdout).not.toContain('request.js');
  });

  it('prints files relative to the working directory when they lie under it', () => {
    const r = runCli(['report', FIXTURE], { cwd: os.tmpdir() });
    expect(r.stdout).toContain('/srv/app/src/session-cache.js:88:17'); // not under cwd: absolute
    fs.mkdirSync(path.join(dir, 'app'), { recursive: true });
    const moved = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
    moved.summary.sites[0].site.file = path.join(dir, 'app', 'src', 'session-cache.js');
    fs.writeFileSync(path.join(dir, 'moved.json'), JSON.stringify(moved));
    const rel = runCli(['report', path.join(dir, 'moved.json')], { cwd: path.join(dir, 'app') });
    expect(rel.stdout).toMatch(/^\s+1\s+src\/session-cache\.js:88:17/m);
  });

  it('converts to folded stacks for flamegraph.pl and speedscope', () => {
    const bytes = runCli(['report', FIXTURE, '--format', 'folded']);
    expect(bytes.code).toBe(0);
    expect(bytes.stdout).toBe(
      '/srv/app/src/session-cache.js:88:17 204800\n/srv/app/src/request.js:140:9 5120\n(no site recorded) 640\n',
    );
    const allocs = runCli(['report', FIXTURE, '-f', 'folded', '--weight', 'allocs', '--by-class']);
    expect(allocs.stdout).toBe(
      'fundamental_mismatch;/srv/app/src/session-cache.js:88:17 50\nnear_miss;/srv/app/src/request.js:140:9 20\nunresolved;(no site recorded) 5\n',
    );
    const reports = runCli(['report', FIXTURE, '--format=folded', '--weight=reports']);
    expect(reports.stdout.split('\n')[0]).toBe('/srv/app/src/session-cache.js:88:17 45');
  });

  it('round-trips --format json and reads stdin with -', () => {
    const original = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
    const r = runCli(['report', '-', '--format', 'json'], { input: fs.readFileSync(FIXTURE, 'utf8') });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(original);
  });

  it('writes to --output', () => {
    const out = path.join(dir, 'stacks.folded');
    const r = runCli(['report', FIXTURE, '--format', 'folded', '--output', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(fs.readFileSync(out, 'utf8').split('\n')).toHaveLength(4);
  });

  it('says so for a production-mode report (no sites)', () => {
    const prod = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
    prod.mode = 'production';
    prod.summary = null;
    const file = path.join(dir, 'prod.json');
    fs.writeFileSync(file, JSON.stringify(prod));
    const r = runCli(['report', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('production mode (counters only)');
    expect(runCli(['report', file, '--format', 'folded']).stdout).toBe('');
  });

  it('refuses files that are not version-1 reports, exit 1, naming the field', () => {
    const write = (name: string, content: string): string => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, content);
      return file;
    };
    const base = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
    const cases: [string, string, RegExp][] = [
      ['notjson.json', '{"format":', /is not JSON/],
      ['array.json', '[]', /\$: expected an object, got an array/],
      ['other.json', JSON.stringify({ ...base, format: 'pprof' }), /\$\.format: expected "drainprof-report"/],
      ['v2.json', JSON.stringify({ ...base, version: 2 }), /\$\.version: this drainprof reads version 1, the file has 2/],
      ['dsr.json', JSON.stringify({ ...base, snapshot: { ...base.snapshot, dsr: 1.5 } }), /\$\.snapshot\.dsr: expected a number in \[0, 1\]/],
      [
        'class.json',
        JSON.stringify({ ...base, summary: { ...base.summary, sites: [{ ...base.summary.sites[0], violationClass: 'bad' }] } }),
        /\$\.summary\.sites\[0\]\.violationClass/,
      ],
    ];
    for (const [name, content, message] of cases) {
      const r = runCli(['report', write(name, content)]);
      expect(r.code, name).toBe(1);
      expect(r.stderr, name).toMatch(message);
      expect(r.stdout).toBe('');
    }
  });
});
