/**
 * The `drainprof` command line. bin/drainprof.js calls main(); tests call it in-process with
 * their own streams. Commands load on first use, so `drainprof report` and `--help` work even
 * where the native addon cannot load.
 */
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, type Command, type Io } from './args.js';
import { packageJson } from './package-root.js';

interface CommandEntry {
  summary: string;
  load(): Command;
}

// require() keeps loading lazy and synchronous under the CommonJS build.
const COMMANDS: Record<string, CommandEntry> = {
  demo: {
    summary: 'measure a structural leak at seven violation fractions, plot it, find its source line, fix it',
    load: () => (require('./demo.js') as typeof import('./demo.js')).demoCommand,
  },
  report: {
    summary: 'render a saved diagnostic report as text, folded stacks (flame graphs) or JSON',
    load: () => (require('./report.js') as typeof import('./report.js')).reportCommand,
  },
  bench: {
    summary: "run the project's benchmarks (from a source checkout)",
    load: () => (require('./bench.js') as typeof import('./bench.js')).benchCommand,
  },
};

export function version(): string {
  return packageJson()?.version ?? 'unknown';
}

export function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: drainprof <command> [options]

drainprof finds structural memory leaks in slab, arena, epoch, region and pool allocators: long-lived
objects that pin a whole granule. DSR (drainable closes / total closes) below 1 means retention grows
with uptime.

Commands:
${lines.join('\n')}
  help [COMMAND]  show help for a command

Options:
  -h, --help     show this help
  -v, --version  print the version

Run 'drainprof <command> --help' for a command's options. Start with: npx drainprof demo
Exit status: 0 ok, 1 failure, 2 usage error.
`;
}

export function defaultIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env };
}

/** Runs the CLI and resolves to its exit code; never throws. */
export async function main(argv: readonly string[], io: Io = defaultIo()): Promise<number> {
  let commandName: string | undefined;
  try {
    const [first, ...rest] = argv;
    if (first === undefined || first === '-h' || first === '--help') {
      (first === undefined ? io.stderr : io.stdout).write(mainHelp());
      return first === undefined ? EXIT_USAGE : EXIT_OK;
    }
    if (first === '-v' || first === '--version') {
      io.stdout.write(`${version()}\n`);
      return EXIT_OK;
    }
    if (first === 'help') {
      if (rest.length === 0) {
        io.stdout.write(mainHelp());
        return EXIT_OK;
      }
      const entry = COMMANDS[rest[0]];
      if (entry === undefined) throw new UsageError(`unknown command ${JSON.stringify(rest[0])}`);
      io.stdout.write(entry.load().help());
      return EXIT_OK;
    }
    if (first.startsWith('-')) throw new UsageError(`unknown option ${first} (options go after the command)`);
    const entry = Object.prototype.hasOwnProperty.call(COMMANDS, first) ? COMMANDS[first] : undefined;
    if (entry === undefined) throw new UsageError(`unknown command ${JSON.stringify(first)}`);
    commandName = first;
    return await entry.load().run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      const cmd = err.command ?? commandName;
      io.stderr.write(`drainprof${cmd ? ` ${cmd}` : ''}: ${err.message}\n`);
      io.stderr.write(`Run 'drainprof${cmd ? ` ${cmd}` : ''} --help' for usage.\n`);
      return EXIT_USAGE;
    }
    const e = err as Error & { code?: string };
    io.stderr.write(`drainprof${commandName ? ` ${commandName}` : ''}: error: ${e && e.message ? e.message : String(err)}${e && e.code ? ` (${e.code})` : ''}\n`);
    if (io.env.DRAINPROF_DEBUG && e && e.stack) io.stderr.write(`${e.stack}\n`);
    return EXIT_FAILURE;
  }
}
