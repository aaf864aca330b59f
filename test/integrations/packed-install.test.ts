/**
 * The published package installs and works on a machine without a compiler.
 *
 * 1. Stage a copy of the package (so building prebuilds never touches the build/ that other test
 *    files are loading the addon from), and fill prebuilds/ with `npm run prebuild` (prebuildify
 *    --napi --strip) unless this platform's prebuild is already there.
 * 2. `npm pack` it and check what the tarball holds: what users need, nothing else.
 * 3. Install the tarball into an empty project with PATH holding only node/npm and shims that fail
 *    for cc, gcc, g++, make and python: any attempt to compile fails the install.
 * 4. Load it (CommonJS, ES module, the integrations) and run `npx drainprof demo --quick`.
 *
 * Needs package.json: "bin", "files" including bin/ and prebuilds/, "exports" for the integrations,
 * and a prebuild script. Dependencies come from the npm registry (or npm's cache).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  scripts?: Record<string, string>;
};
const PREBUILD_SCRIPT = ['prebuild', 'prebuildify'].find((s) => PKG.scripts?.[s] !== undefined);
const PLATFORM_DIR = `${process.platform}-${process.arch}`;
const COMPILERS = ['cc', 'gcc', 'g++', 'c++', 'clang', 'clang++', 'make', 'python', 'python3'];

function run(cmd: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    encoding: 'utf8',
    timeout: options.timeout ?? 300_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return r;
}

function which(name: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const found = r.stdout.trim();
  if (r.status !== 0 || found === '') throw new Error(`${name} not found on PATH`);
  return fs.realpathSync(found);
}

describe('the packed tarball installs without a compiler', () => {
  let tmp: string;
  let tarball: string;
  let project: string;
  let noCompilerEnv: NodeJS.ProcessEnv;
  let packedFiles: string[];

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'drainprof-pack-'));
    const stage = path.join(tmp, 'stage');
    // The sources as git sees them (tracked, or new and not ignored), plus the build outputs
    // that the package ships although git ignores them.
    const listed = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT });
    if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
    for (const rel of listed.stdout.split('\0').filter(Boolean)) {
      const src = path.join(ROOT, rel);
      const st = fs.lstatSync(src, { throwIfNoEntry: false });
      if (st === undefined || !st.isFile()) continue; // deleted in the working tree, or a link
      fs.mkdirSync(path.dirname(path.join(stage, rel)), { recursive: true });
      fs.copyFileSync(src, path.join(stage, rel));
    }
    for (const dir of ['dist', 'prebuilds']) {
      if (fs.existsSync(path.join(ROOT, dir))) fs.cpSync(path.join(ROOT, dir), path.join(stage, dir), { recursive: true });
    }
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'), 'dir');

    const prebuilds = path.join(stage, 'prebuilds', PLATFORM_DIR);
    const hasPrebuild = fs.existsSync(prebuilds) && fs.readdirSync(prebuilds).some((f) => f.endsWith('.node'));
    if (!hasPrebuild) {
      if (PREBUILD_SCRIPT === undefined) throw new Error('package.json has no "prebuild" script (prebuildify --napi --strip)');
      const r = run('npm', ['run', PREBUILD_SCRIPT], { cwd: stage, timeout: 600_000 });
      if (r.status !== 0) throw new Error(`npm run ${PREBUILD_SCRIPT} failed:\n${r.stdout}\n${r.stderr}`);
    }

    // dist/ is already built (test:js compiles before vitest), so no lifecycle scripts here.
    const packDir = path.join(tmp, 'pack');
    fs.mkdirSync(packDir);
    const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], { cwd: stage });
    if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`);
    const info = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(packDir, path.basename(info[0].filename));
    packedFiles = info[0].files.map((f) => f.path);

    // A PATH with node and npm, and shims that make every compiler fail loudly.
    const shims = path.join(tmp, 'shims');
    fs.mkdirSync(shims);
    for (const c of COMPILERS) {
      fs.writeFileSync(path.join(shims, c), `#!/bin/sh\necho "packed-install test: no compiler here ($0 $*)" >&2\nexit 127\n`, { mode: 0o755 });
    }
    const dirs = [shims, path.dirname(process.execPath), path.dirname(which('npm'))];
    noCompilerEnv = {
      HOME: process.env.HOME,
      PATH: [...new Set(dirs)].join(path.delimiter),
      npm_config_cache: process.env.npm_config_cache,
      npm_config_prefer_offline: 'true',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
      CC: path.join(shims, 'cc'),
      CXX: path.join(shims, 'c++'),
    };
    for (const [k, v] of Object.entries(noCompilerEnv)) if (v === undefined) delete noCompilerEnv[k];

    project = path.join(tmp, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'empty-project', version: '1.0.0', private: true }));
  }, 900_000);

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, 120_000);

  it('holds what users need and nothing else', () => {
    const has = (p: string): boolean => packedFiles.includes(p);
    expect(has('package.json')).toBe(true);
    expect(has('README.md')).toBe(true);
    expect(has('bin/drainprof.js')).toBe(true);
    expect(has('dist/index.js')).toBe(true);
    expect(has('dist/index.mjs')).toBe(true);
    expect(has('dist/cli/index.js')).toBe(true);
    expect(has('dist/integrations/prometheus.js')).toBe(true);
    expect(packedFiles.some((f) => f.startsWith(`prebuilds/${PLATFORM_DIR}/`) && f.endsWith('.node'))).toBe(true);
    const unwanted = packedFiles.filter((f) => /^(test|bench|node_modules|build|lib|\.ci|\.git)\//.test(f) || f.endsWith('.tgz'));
    expect(unwanted).toEqual([]);
  });

  it('installs with every compiler failing', () => {
    const r = run('npm', ['install', '--no-save', tarball], { cwd: project, env: noCompilerEnv, timeout: 600_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toContain('no compiler here');
    expect(fs.existsSync(path.join(project, 'node_modules', 'drainprof', 'build'))).toBe(false);
  }, 600_000);

  it('loads from CommonJS and ES modules, with the integration entry points', () => {
    const cjs = `
      const { Profiler } = require('drainprof');
      const { registerPrometheusMetrics } = require('drainprof/prometheus');
      const { registerOpenTelemetryInstruments } = require('drainprof/opentelemetry');
      const { buildDiagnosticReport } = require('drainprof/report');
      const p = new Profiler();
      p.granuleOpen(1); p.allocRegister(1, 1, 8); p.granuleClose(1);
      p.granuleOpen(2); p.granuleClose(2);
      console.log(p.snapshot().dsr, typeof registerPrometheusMetrics, typeof registerOpenTelemetryInstruments,
        buildDiagnosticReport(p).snapshot.pinnedCloses);
      p.destroy();`;
    const a = run(process.execPath, ['-e', cjs], { cwd: project, env: noCompilerEnv });
    expect(a.stderr).toBe('');
    expect(a.stdout).toBe('0.5 function function 1\n');
    const esm = `
      import { Profiler } from 'drainprof';
      const p = new Profiler({ mode: 'diagnostic' });
      p.granuleOpen(7n); p.allocRegister(7n, 1, 64); p.granuleClose(7n);
      console.log(p.diagnosticSummary().sites[0].totalBytes);
      p.destroy();`;
    const b = run(process.execPath, ['--input-type=module', '-e', esm], { cwd: project, env: noCompilerEnv });
    expect(b.stderr).toBe('');
    expect(b.stdout).toBe('64\n');
  });

  it('runs `npx drainprof demo --quick`', () => {
    const out = path.join(tmp, 'demo-out');
    const r = run('npx', ['drainprof', 'demo', '--quick', '--out', out], { cwd: project, env: noCompilerEnv, timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\s+1\.00\s+0\.0000\s/m);
    expect(r.stdout).toContain('names the line that pins');
    expect(fs.existsSync(path.join(out, 'retained-memory.svg'))).toBe(true);
    const version = run('npx', ['drainprof', '--version'], { cwd: project, env: noCompilerEnv });
    expect(version.stdout).toBe(`${PKG.version}\n`);
  }, 300_000);
});
