// npm run bench [filter …]: runs every test/bench/*.bench.ts in its own Node process, one after the
// other (benchmarks must not share the two cores), and fails if any of them fails. Each benchmark
// prints its own table: p50 / p99 / p99.9 / max with the channel count.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { cpus } from 'node:os';
import { packageRoot } from '../../src/core/package-root.js';

const root = packageRoot();
const dir = join(root, 'test', 'bench');
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.bench.ts'))
  // Filters match the file name, not the path (a checkout's folder may contain any word).
  .filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)))
  .sort()
  .map((name) => join(dir, name));
if (files.length === 0) {
  console.error(`bench: no benchmark matches ${filters.join(' ') || '(all)'}`);
  process.exit(1);
}
console.log(`bench: Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}`);
const failed: string[] = [];
for (const file of files) {
  console.log(`\n=== ${relative(root, file)}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) failed.push(relative(root, file));
}
if (failed.length) {
  console.error(`\nbench: failed: ${failed.join(', ')}`);
  process.exit(1);
}
