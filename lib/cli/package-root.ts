import * as fs from 'node:fs';
import * as path from 'node:path';

/** The directory of drainprof's package.json, found upwards from `from` (this file's directory). */
export function packageRoot(from: string = __dirname): string | null {
  let dir = path.resolve(from);
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    try {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string };
      if (pkg.name === 'drainprof') return dir;
    } catch {
      // no package.json here, or not JSON: keep looking
    }
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

export function packageJson(): { name: string; version: string; scripts?: Record<string, string> } | null {
  const root = packageRoot();
  if (root === null) return null;
  return JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
}
