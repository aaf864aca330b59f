/**
 * Code blocks of a Markdown file with the HTML-comment markers the README uses:
 *
 *   <!-- not-run: reason -->   the next block is shown, not executed (the reason is required)
 *   <!-- file: name.ext -->    the next block is saved (and run) under this name
 *   <!-- cwd: checkout -->     the next sh block runs in the repository, not in the sample project
 *   <!-- expected-output -->   the next ```text block is the exact stdout of the last run block
 *   <!-- check: report -->     the next ```json block must be a valid diagnostic report
 *
 * A marker applies to the fence that follows it, blank lines allowed in between.
 */
export interface CodeBlock {
  lang: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
  markers: Record<string, string>;
}

const MARKER = /^<!--\s*([a-z-]+)(?::\s*(.*?))?\s*-->$/;

export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  let markers: Record<string, string> = {};
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const m = MARKER.exec(line.trim());
    if (m) {
      markers[m[1]] = m[2] ?? '';
      continue;
    }
    const fence = /^```(\S*)\s*$/.exec(line);
    if (fence) {
      const start = i;
      const body: string[] = [];
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
      if (i >= lines.length) throw new Error(`README line ${start + 1}: unclosed code fence`);
      blocks.push({ lang: fence[1], code: `${body.join('\n')}\n`, line: start + 1, markers });
      markers = {};
      continue;
    }
    if (line.trim() !== '') markers = {};
  }
  return blocks;
}
