import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

/**
 * The folder holding optoloop's package.json, found by walking up from this module: the same
 * answer whether the code runs from `src/` (tests, through tsx) or from `dist/src/` (the built CLI).
 */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        if ((JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string }).name === 'optoloop') return (cached = dir);
      } catch {
        // A package.json we cannot read is not ours; keep walking up.
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('optoloop: cannot find the package root above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}
