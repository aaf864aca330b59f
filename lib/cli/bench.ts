/**
 * `drainprof bench`: runs the project's benchmarks (npm run bench, else npm run bench:c) from the
 * package directory, or says how when this install has none (the npm package ships no bench/).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXIT_FAILURE, EXIT_OK, HELP_OPTION, UsageError, formatOptions, parseArgs, type Command, type Io, type OptionSpecs } from './args.js';
import { packageRoot } from './package-root.js';

const OPTIONS: OptionSpecs = {
  c: { type: 'boolean', description: 'run only the C benchmark (npm run bench:c)' },
  'dry-run': { type: 'boolean', short: 'n', description: 'print the command instead of running it' },
  ...HELP_OPTION,
};

export const benchCommand: Command = {
  name: 'bench',
  summary: "run the project's benchmarks (from a source checkout)",
  help: () => `Usage: drainprof bench [--c] [--dry-run] [-- ARGS...]

Runs 'npm run bench' in the drainprof package directory (or 'npm run bench:c' with --c, or when
there is no 'bench' script), passing ARGS after --. Benchmarks live in the source repository;
an installed package has none, and then this says where to get them.

Options:
${formatOptions(OPTIONS)}

Exit status: 0 the benchmark ran, 1 it failed or is not available here, 2 usage error.
`,
  async run(argv: readonly string[], io: Io): Promise<number> {
    const dashdash = argv.indexOf('--');
    const own = dashdash === -1 ? argv : argv.slice(0, dashdash);
    const extra = dashdash === -1 ? [] : argv.slice(dashdash + 1);
    const { options, positionals } = parseArgs(own, OPTIONS, 'bench');
    if (options.help) {
      io.stdout.write(this.help());
      return EXIT_OK;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])} (pass script arguments after --)`, 'bench');
    const root = packageRoot();
    const scripts = root === null ? {} : ((JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts ?? {}) as Record<string, string>);
    const script = options.c === true ? 'bench:c' : 'bench' in scripts ? 'bench' : 'bench:c';
    const hasBenchDir = root !== null && fs.existsSync(path.join(root, 'bench'));
    if (!(script in scripts) || !hasBenchDir) {
      io.stderr.write(
        `drainprof bench: no '${script}' benchmark in ${root ?? 'this installation'}.\n` +
          'Benchmarks are in the source repository: clone it, then run `npm install && npm run bench`\n' +
          '(`npm run bench:c` for the C core alone).\n',
      );
      return EXIT_FAILURE;
    }
    const args = ['run', script, ...(extra.length ? ['--', ...extra] : [])];
    if (options['dry-run'] === true) {
      io.stdout.write(`(cd ${root} && npm ${args.join(' ')})\n`);
      return EXIT_OK;
    }
    io.stderr.write(`drainprof bench: npm ${args.join(' ')} (in ${root})\n`);
    const code = await new Promise<number>((resolve) => {
      const child = spawn('npm', args, { cwd: root!, stdio: ['ignore', 'inherit', 'inherit'], env: io.env });
      child.on('error', (err) => {
        io.stderr.write(`drainprof bench: cannot run npm: ${err.message}\n`);
        resolve(EXIT_FAILURE);
      });
      child.on('exit', (status, signal) => resolve(status === 0 && signal === null ? EXIT_OK : EXIT_FAILURE));
    });
    return code;
  },
};
