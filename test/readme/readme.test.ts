/**
 * Every code sample of README.md runs, in order, as a user would run it:
 *
 * - in a fresh "user project" directory where drainprof is installed (node_modules/drainprof maps
 *   the package's entry points onto this checkout's dist/, node_modules/.bin/drainprof is the CLI),
 *   with HOME set to a fresh directory and npm offline, so `npx drainprof` can only mean this one;
 * - ```ts blocks are type-checked against lib/ and run as ES modules (transpiled by typescript),
 *   ```js blocks run as they are (.mjs when they use import/export, .cjs otherwise), ```sh blocks
 *   run with bash -e, ```c blocks are saved under their `file:` name for the sh blocks that build them;
 * - a following <!-- expected-output --> ```text block must equal the run's stdout exactly.
 *
 * Markers are described in markdown.ts. Needs the compiled package (dist/) and a C compiler.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { ERROR_CODES, Profiler } from '../../lib/index.js';
import { registerPrometheusMetrics } from '../../lib/integrations/prometheus.js';
import { parseDiagnosticReport } from '../../lib/integrations/report.js';
import { codeBlocks, type CodeBlock } from './markdown';
import { ROOT, makeUserProject, type UserProject } from './user-project';

const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const BLOCKS = codeBlocks(README);
const RUNNABLE = new Set(['ts', 'js', 'sh']);

/** The same entry points for the type checker. */
const TYPE_PATHS: Record<string, string[]> = {
  drainprof: [path.join(ROOT, 'lib/index.ts')],
  'drainprof/prometheus': [path.join(ROOT, 'lib/integrations/prometheus.ts')],
  'drainprof/opentelemetry': [path.join(ROOT, 'lib/integrations/opentelemetry.ts')],
  'drainprof/report': [path.join(ROOT, 'lib/integrations/report.ts')],
};

interface Step {
  block: CodeBlock;
  expected: string | null;
  fileName: string;
}

function steps(): Step[] {
  const out: Step[] = [];
  let counter = 0;
  for (let i = 0; i < BLOCKS.length; i++) {
    const block = BLOCKS[i];
    if (!RUNNABLE.has(block.lang) && block.lang !== 'c') continue;
    if ('not-run' in block.markers) continue;
    const next = BLOCKS[i + 1];
    const expected = next !== undefined && 'expected-output' in next.markers ? next.code : null;
    const ext = block.lang === 'ts' ? 'ts' : block.lang === 'js' ? (/^\s*(import|export)\s/m.test(block.code) ? 'mjs' : 'cjs') : block.lang;
    out.push({ block, expected, fileName: block.markers.file ?? `sample-${++counter}.${ext}` });
  }
  return out;
}

describe('README.md', () => {
  let user: UserProject;
  let project: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    user = makeUserProject('drainprof-readme-');
    project = user.dir;
    env = user.env;
  });

  afterAll(() => user?.remove());

  it('marks every skipped block with a reason, and sparingly', () => {
    const skipped = BLOCKS.filter((b) => 'not-run' in b.markers);
    for (const b of skipped) expect(b.markers['not-run'], `README line ${b.line}`).not.toBe('');
    expect(skipped.length).toBeLessThanOrEqual(2);
    const runnable = BLOCKS.filter((b) => RUNNABLE.has(b.lang));
    expect(runnable.length).toBeGreaterThanOrEqual(10);
    expect(BLOCKS.every((b) => ['ts', 'js', 'sh', 'c', 'text', 'json'].includes(b.lang))).toBe(true);
  });

  it('starts with the command that installs and runs the demo, and npm test', () => {
    const first = BLOCKS[0];
    expect(first.line).toBeLessThanOrEqual(5);
    expect(first.code).toMatch(/^npm install && npx drainprof demo\b/m);
    expect(first.code).toMatch(/^npm test\b/m);
  });

  it('type-checks the TypeScript samples against lib/', () => {
    const dir = fs.mkdtempSync(path.join(project, 'typecheck-')); // resolves the peers from project/node_modules
    const files = BLOCKS.filter((b) => b.lang === 'ts').map((b, i) => {
      const file = path.join(dir, b.markers.file ?? `sample-${i}.ts`);
      fs.writeFileSync(file, b.code);
      return file;
    });
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ES2022,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules', '@types')],
      baseUrl: dir,
      paths: TYPE_PATHS,
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(diagnostics).toEqual([]);
  });

  it('names only metrics the Prometheus collector and the profiler expose', async () => {
    const mentioned = new Set(README.match(/\bdrainability_[a-z_]+/g));
    expect(mentioned.size).toBeGreaterThanOrEqual(8);
    const profiler = new Profiler();
    try {
      const registry = new Registry();
      registerPrometheusMetrics(profiler, { registry });
      const exposed = (text: string): Set<string> => new Set(text.match(/^drainability_[a-z_]+/gm));
      const viaPromClient = exposed(await registry.metrics());
      const viaCore = exposed(profiler.metrics());
      for (const name of mentioned) {
        expect(viaPromClient, name).toContain(name);
        expect(viaCore, name).toContain(name);
      }
    } finally {
      profiler.destroy();
    }
  });

  it('validates the report example against the format', () => {
    const examples = BLOCKS.filter((b) => b.markers.check === 'report');
    expect(examples).toHaveLength(1);
    const json = JSON.parse(examples[0].code);
    expect(parseDiagnosticReport(json)).toEqual(json);
  });

  it('shows the error code table of the library', () => {
    const section = README.slice(README.indexOf('## Error codes'), README.indexOf('## Hostile input'));
    const rows = [...section.matchAll(/^\| `(ERR_[A-Z_]+)` \| (\w+) \| (.+) \|$/gm)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(Object.entries(ERROR_CODES).map(([code, e]) => [code, e.class])));
  });

  describe.each(steps().map((s) => [`${s.block.lang} block at README line ${s.block.line}`, s] as const))('%s', (_name, step) => {
    it(step.block.lang === 'c' ? 'is saved for the build that follows' : 'runs and prints what the README says', () => {
      const { block, fileName } = step;
      if (block.lang === 'c') {
        expect(block.markers.file, 'a C block needs <!-- file: NAME.c -->').toMatch(/\.c$/);
        fs.writeFileSync(path.join(project, fileName), block.code);
        const later = BLOCKS.filter((b) => b.lang === 'sh' && b.line > block.line);
        expect(later.some((b) => b.code.includes(fileName)), `no sh block builds ${fileName}`).toBe(true);
        return;
      }
      let command: string[];
      const cwd = block.markers.cwd === 'checkout' ? ROOT : project;
      if (block.lang === 'sh') {
        command = ['bash', '-eo', 'pipefail', '-c', block.code];
      } else {
        let file = path.join(project, fileName);
        fs.writeFileSync(file, block.code);
        if (block.lang === 'ts') {
          const js = ts.transpileModule(block.code, {
            compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
            fileName,
          }).outputText;
          file = file.replace(/\.ts$/, '.mjs');
          fs.writeFileSync(file, js);
        }
        command = [process.execPath, file];
      }
      const r = spawnSync(command[0], command.slice(1), { cwd, env, encoding: 'utf8', timeout: 240_000, maxBuffer: 64 * 1024 * 1024 });
      if (r.error) throw r.error;
      expect(r.status, `exit status of README line ${block.line}\n${r.stderr}`).toBe(0);
      if (step.expected !== null) expect(r.stdout).toBe(step.expected);
    }, 300_000);
  });
});
