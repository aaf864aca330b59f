/**
 * A throwaway "user project" with drainprof installed: node_modules/drainprof maps the package's
 * entry points (as package.json "exports" names them) onto this checkout's dist/, and
 * node_modules/.bin/drainprof is the CLI. HOME is a fresh directory and npm is offline, so
 * `npx drainprof` can only run this checkout's CLI.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

export const ROOT = path.resolve(__dirname, '../..');

/** The package's public entry points. */
export const ENTRY_POINTS: Record<string, { require: string; import?: string }> = {
  '.': { require: 'dist/index.js', import: 'dist/index.mjs' },
  './prometheus': { require: 'dist/integrations/prometheus.js' },
  './opentelemetry': { require: 'dist/integrations/opentelemetry.js' },
  './report': { require: 'dist/integrations/report.js' },
  './native': { require: 'dist/native.js', import: 'dist/native.mjs' },
};

/** Optional peer dependencies samples import, linked from this checkout's node_modules. */
export const PEERS = ['prom-client', '@opentelemetry/api'];

export interface UserProject {
  dir: string;
  home: string;
  env: NodeJS.ProcessEnv;
  remove(): void;
}

export function makeUserProject(prefix: string): UserProject {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const dir = path.join(base, 'project');
  const home = path.join(base, 'home');
  fs.mkdirSync(home, { recursive: true });
  const pkgDir = path.join(dir, 'node_modules', 'drainprof');
  fs.mkdirSync(path.join(pkgDir, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'user-project', private: true, dependencies: { drainprof: '*' } }));
  const exportsMap: Record<string, unknown> = {};
  for (const [subpath, target] of Object.entries(ENTRY_POINTS)) {
    const stem = subpath === '.' ? 'index' : subpath.slice(2);
    fs.writeFileSync(path.join(pkgDir, `${stem}.cjs`), `module.exports = require(${JSON.stringify(path.join(ROOT, target.require))});\n`);
    if (target.import !== undefined) {
      fs.writeFileSync(path.join(pkgDir, `${stem}.mjs`), `export * from ${JSON.stringify(pathToFileURL(path.join(ROOT, target.import)).href)};\n`);
      exportsMap[subpath] = { import: `./${stem}.mjs`, require: `./${stem}.cjs` };
    } else {
      exportsMap[subpath] = `./${stem}.cjs`;
    }
  }
  fs.writeFileSync(path.join(pkgDir, 'bin', 'drainprof.js'), `#!/usr/bin/env node\nrequire(${JSON.stringify(path.join(ROOT, 'bin', 'drainprof.js'))});\n`, { mode: 0o755 });
  const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  fs.writeFileSync(path.join(pkgDir, 'package.json'), JSON.stringify({ name: 'drainprof', version, exports: exportsMap, bin: { drainprof: 'bin/drainprof.js' } }));
  fs.mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true });
  fs.symlinkSync(path.join(pkgDir, 'bin', 'drainprof.js'), path.join(dir, 'node_modules', '.bin', 'drainprof'));
  for (const peer of PEERS) {
    const from = path.join(ROOT, 'node_modules', peer);
    if (!fs.existsSync(from)) continue; // whatever needs it fails and says so
    const to = path.join(dir, 'node_modules', peer);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.symlinkSync(from, to, 'dir');
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    PATH: `${path.join(dir, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}`,
    npm_config_offline: 'true',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
  };
  return { dir, home, env, remove: () => fs.rmSync(base, { recursive: true, force: true }) };
}
