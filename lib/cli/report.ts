/**
 * `drainprof report FILE`: renders a saved diagnostic report (see integrations/report.ts for the
 * format) as text, as folded stacks for flame-graph viewers, or as normalised JSON.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  formatDiagnosticReport,
  parseDiagnosticReport,
  REPORT_FORMAT,
  REPORT_VERSION,
  toFoldedStacks,
  type FoldedWeight,
} from '../integrations/report.js';
import { EXIT_FAILURE, EXIT_OK, HELP_OPTION, UsageError, formatOptions, parseArgs, type Command, type Io, type OptionSpecs } from './args.js';

const FORMATS = ['text', 'folded', 'json'] as const;
const WEIGHTS: readonly FoldedWeight[] = ['bytes', 'allocs', 'reports'];

const OPTIONS: OptionSpecs = {
  format: { type: 'string', short: 'f', value: 'FMT', description: 'text (default), folded (flamegraph.pl, speedscope) or json' },
  weight: { type: 'string', value: 'W', description: 'folded: what a stack counts, bytes (default), allocs or reports' },
  'by-class': { type: 'boolean', description: 'folded: put the violation class above each site' },
  'max-sites': { type: 'integer', value: 'N', description: 'text: show at most N sites (default 10, 0 = all)' },
  output: { type: 'string', short: 'o', value: 'FILE', description: 'write to FILE instead of stdout' },
  ...HELP_OPTION,
};

export const reportCommand: Command = {
  name: 'report',
  summary: 'render a saved diagnostic report as text, folded stacks or JSON',
  help: () => `Usage: drainprof report FILE [--format text|folded|json] [options]

Reads a diagnostic report (JSON with "format": "${REPORT_FORMAT}", "version": ${REPORT_VERSION}, as written by
buildDiagnosticReport() or by 'drainprof demo' into report.json; a demo.json works too; FILE - reads
stdin) and prints it:
  text    DSR, totals and the top pinning sites with bytes and violation class
  folded  one "site value" line per site, for flamegraph.pl or https://www.speedscope.app
  json    the report, checked and normalised

Options:
${formatOptions(OPTIONS)}

Exit status: 0 done, 1 the file is missing or not a valid report, 2 usage error.
`,
  async run(argv: readonly string[], io: Io): Promise<number> {
    const { options, positionals } = parseArgs(argv, OPTIONS, 'report');
    if (options.help) {
      io.stdout.write(this.help());
      return EXIT_OK;
    }
    if (positionals.length !== 1) {
      throw new UsageError(positionals.length === 0 ? 'missing FILE' : `expected one FILE, got ${positionals.length}`, 'report');
    }
    const format = (options.format ?? 'text') as string;
    if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`, 'report');
    const weight = (options.weight ?? 'bytes') as FoldedWeight;
    if (!WEIGHTS.includes(weight)) throw new UsageError(`--weight must be one of ${WEIGHTS.join(', ')}`, 'report');

    const file = positionals[0];
    let text: string;
    try {
      text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(path.resolve(io.cwd, file), 'utf8');
    } catch (err) {
      io.stderr.write(`drainprof report: cannot read ${file}: ${(err as Error).message}\n`);
      return EXIT_FAILURE;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      io.stderr.write(`drainprof report: ${file} is not JSON: ${(err as Error).message}\n`);
      return EXIT_FAILURE;
    }
    // A demo.json holds its report under diagnostic.report.
    const demo = json as { format?: unknown; diagnostic?: { report?: unknown } };
    if (demo !== null && typeof demo === 'object' && demo.format === 'drainprof-demo') json = demo.diagnostic?.report;
    let report;
    try {
      report = parseDiagnosticReport(json);
    } catch (err) {
      io.stderr.write(`drainprof report: ${file} is not a drainprof report: ${(err as Error).message}\n`);
      return EXIT_FAILURE;
    }
    let output: string;
    if (format === 'json') output = `${JSON.stringify(report, null, 2)}\n`;
    else if (format === 'folded') output = toFoldedStacks(report, { weight, byClass: options['by-class'] === true, relativeTo: io.cwd });
    else output = formatDiagnosticReport(report, { maxSites: (options['max-sites'] as number | undefined) ?? 10, relativeTo: io.cwd });

    if (typeof options.output === 'string') {
      fs.writeFileSync(path.resolve(io.cwd, options.output), output);
    } else {
      io.stdout.write(output);
    }
    return EXIT_OK;
  },
};
