/**
 * Builds dependent addons the way their users do, in a temp directory (never in the checkout,
 * where concurrent runs would share build/): node_modules/drainprof links to this checkout, as
 * npm links a "file:" dependency, so binding.gyp's `require('drainprof/native')` resolves here.
 * Offline: Node's headers come from next to the node binary when they are there.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

/** `--nodedir` for node-gyp: npm's setting, else the headers installed with this node, else none. */
export function nodedir(): string | undefined {
  const configured = process.env.npm_config_nodedir;
  if (configured !== undefined && configured !== '') return configured;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

export interface Built {
  dir: string;
  remove(): void;
}

/**
 * A fresh directory holding `files` (copied from `from`) and node_modules/drainprof -> this
 * checkout. It sits directly in the checkout (ignored by git): gyp places what it generates for
 * sources and targets of a linked package at their path relative to the project, which from here
 * stays inside the directory (from os.tmpdir() it would lead out of it, into /tmp/work/...).
 */
export function stage(prefix: string, from: string, files: string[]): Built {
  const dir = fs.mkdtempSync(path.join(ROOT, `.native-test-${prefix}`));
  for (const f of files) fs.cpSync(path.join(from, f), path.join(dir, f), { recursive: true });
  fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'drainprof'), 'dir');
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Runs a command to completion; throws with its output when it fails. */
export function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 240_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** `node-gyp rebuild` in `dir` with this checkout's node-gyp. */
export function nodeGypRebuild(dir: string): void {
  const nodeGyp = path.join(ROOT, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const headers = nodedir();
  run(process.execPath, [nodeGyp, 'rebuild', '-j', '2', ...(headers === undefined ? [] : [`--nodedir=${headers}`])], dir);
}
