import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/core/package-root.js';

/** The read-only shared data folder beside the repository (`../shared/data`). */
export function sharedData(...parts: string[]): string {
  const candidates = [
    join(packageRoot(), '..', 'shared', 'data'),
    // A worktree under /work/wt/<branch> sits one level deeper than the main checkout.
    join(packageRoot(), '..', '..', 'shared', 'data'),
    process.env.OPTOLOOP_SHARED_DATA ?? '',
  ];
  const found = candidates.find((c) => c && existsSync(c));
  if (!found) throw new Error(`shared data not found: looked in ${candidates.filter(Boolean).join(', ')}`);
  return join(found, ...parts);
}

/** A fresh folder for one test's outputs under test-artifacts/ (git-ignored). */
export function artifactDir(name: string): string {
  const dir = join(packageRoot(), 'test-artifacts', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
