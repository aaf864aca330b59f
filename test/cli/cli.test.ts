import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from './helpers';

const COMMANDS = ['demo', 'report', 'bench'];

describe('drainprof CLI: help, version, exit codes', () => {
  it('prints the version of package.json with --version and -v', () => {
    const { version } = JSON.parse(fs.readFileSync(`${ROOT}/package.json`, 'utf8'));
    for (const flag of ['--version', '-v']) {
      const r = runCli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
  });

  it('lists every command in --help, exit 0', () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = runCli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: drainprof <command>/);
      for (const c of COMMANDS) expect(r.stdout).toContain(`  ${c} `);
      expect(r.stderr).toBe('');
    }
  });

  it('with no command prints the help on stderr and exits 2', () => {
    const r = runCli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Usage: drainprof <command>/);
  });

  it.each(COMMANDS)('%s --help, -h and `help %s` print the same usage, exit 0', (cmd) => {
    const a = runCli([cmd, '--help']);
    const b = runCli([cmd, '-h']);
    const c = runCli(['help', cmd]);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(new RegExp(`^Usage: drainprof ${cmd}`));
    expect(a.stdout).toContain('Exit status: 0');
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });

  it('exits 2 with a hint on an unknown command', () => {
    const r = runCli(['dmeo']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "dmeo"');
    expect(r.stderr).toContain("Run 'drainprof --help'");
    expect(runCli(['help', 'nope']).code).toBe(2);
  });

  it('exits 2 on unknown or malformed options, naming the command', () => {
    const cases: [string[], RegExp][] = [
      [['--frobnicate'], /unknown option --frobnicate/],
      [['demo', '--fast'], /drainprof demo: unknown option --fast/],
      [['demo', '--out'], /--out needs a value/],
      [['demo', '--quick=yes'], /--quick takes no value/],
      [['demo', 'extra'], /unexpected argument "extra"/],
      [['report'], /drainprof report: missing FILE/],
      [['report', 'a.json', 'b.json'], /expected one FILE, got 2/],
      [['report', 'x.json', '--format', 'pdf'], /--format must be one of text, folded, json/],
      [['report', 'x.json', '--max-sites', '-1'], /unknown option -1|--max-sites/],
      [['report', 'x.json', '--weight=kg'], /--weight must be one of bytes, allocs, reports/],
      [['bench', 'now'], /unexpected argument "now"/],
    ];
    for (const [args, message] of cases) {
      const r = runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr).toMatch(/--help' for usage/);
    }
  });

  it('exits 1 when the command itself fails', () => {
    const r = runCli(['report', 'does-not-exist.json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot read does-not-exist.json');
  });

  it('bench --dry-run shows the npm script it would run, or exits 1 explaining where benchmarks are', () => {
    const r = runCli(['bench', '--dry-run']);
    const pkg = JSON.parse(fs.readFileSync(`${ROOT}/package.json`, 'utf8'));
    const scripts = pkg.scripts ?? {};
    if (('bench' in scripts || 'bench:c' in scripts) && fs.existsSync(`${ROOT}/bench`)) {
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/npm run bench(:c)?/);
    } else {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('npm run bench');
    }
  });
});
