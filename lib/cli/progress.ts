import type { Io } from './args.js';

/**
 * Progress on stderr: a line that rewrites itself when stderr is a terminal, one plain line per
 * stage otherwise (CI logs stay readable), nothing when quiet.
 */
export class Progress {
  private readonly tty: boolean;
  private lastLength = 0;
  private lastUpdate = 0;

  constructor(private readonly io: Io, private readonly quiet: boolean) {
    this.tty = !quiet && io.stderr.isTTY === true && io.env.TERM !== 'dumb';
  }

  /** A new stage: printed as its own line. */
  stage(message: string): void {
    if (this.quiet) return;
    this.clear();
    this.io.stderr.write(`drainprof: ${message}\n`);
  }

  /** Where the stage is now; shown on terminals only, at most every 100 ms. */
  update(message: string): void {
    if (!this.tty) return;
    const now = Date.now();
    if (now - this.lastUpdate < 100) return;
    this.lastUpdate = now;
    const width = Math.max(20, (this.io.stderr.columns || 80) - 1);
    const text = `drainprof: ${message}`.slice(0, width);
    this.io.stderr.write(`\r${text.padEnd(this.lastLength)}`);
    this.lastLength = text.length;
  }

  clear(): void {
    if (!this.tty || this.lastLength === 0) return;
    this.io.stderr.write(`\r${' '.repeat(this.lastLength)}\r`);
    this.lastLength = 0;
  }
}
