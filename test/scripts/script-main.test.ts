// Every script answers --help with its header comment and exits, rather than starting an
// evaluation or a model build that runs for many minutes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../src/core/package-root.js';
import { scriptUsage } from '../../scripts/script-main.js';
import { pathToFileURL } from 'node:url';

const run = promisify(execFile);
const scriptsDir = join(packageRoot(), 'scripts');
const guarded = readdirSync(scriptsDir).filter((f) => f.endsWith('.ts') && f !== 'script-main.ts' && f !== 'gen-docs.ts');

test('each script with --help prints its usage and exits 0 without doing its work', async () => {
  assert.ok(guarded.length >= 7, guarded.join(', '));
  for (const file of guarded) {
    const path = join(scriptsDir, file);
    const usage = scriptUsage(pathToFileURL(path).href);
    assert.ok(usage.length > 40, `${file} has a header comment`);
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', path, '--help'], { cwd: packageRoot(), timeout: 60_000 });
    assert.is(stdout, `${usage}\n`, file);
    assert.is(stderr, '', `${file} wrote nothing else (no progress of a started run)`);
  }
});

test('the usage is the leading comment only, without the comment markers', () => {
  const usage = scriptUsage(pathToFileURL(join(scriptsDir, 'evaluate-cerebellum.ts')).href);
  assert.match(usage, /^The live path on a simulated cerebellum recording/);
  assert.match(usage, /node --import tsx scripts\/evaluate-cerebellum\.ts \[--duration 600\]/);
  assert.not.match(usage, /^\/\//m);
  assert.not.match(usage, /^import /m);
});

test.run();
