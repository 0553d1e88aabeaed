// Runs every test file (test/**/*.test.ts) in its own Node process, two at a time (the machines
// have two cores), through tsx so that tests import the TypeScript source, never built output.
// Isolation per file: a test that leaks a handle or crashes cannot take the others with it.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);
const PER_FILE_TIMEOUT_MS = Number(process.env.OPTOLOOP_TEST_TIMEOUT_MS ?? 600_000);

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) {
      if (name !== 'bench' && name !== 'fixtures') out.push(...find(full));
    } else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

const files = find(join(root, 'test')).filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error(`run-tests: no test files match ${filters.join(' ') || '(all)'}`);
  process.exit(1);
}
const parallel = Math.max(1, Math.min(Number(process.env.OPTOLOOP_TEST_JOBS ?? availableParallelism()), 4));
const results = [];
let next = 0;

function runOne(file) {
  return new Promise((resolvePromise) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0', OPTOLOOP_TEST: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\nrun-tests: killed after ${PER_FILE_TIMEOUT_MS} ms`;
      child.kill('SIGKILL');
    }, PER_FILE_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const summary = output.match(/Total:\s+(\d+)[\s\S]*?Passed:\s+(\d+)/);
      // uvu cannot format an error whose `details` is not a string (OptoloopError's is an object): it
      // then prints no FAIL and may exit 0, so a file passes only when every test it counted passed.
      const passed = code === 0 && /Passed:\s+\d+/.test(output) && !/FAIL/.test(output) && summary !== null && summary[1] === summary[2];
      const counts = summary ? `${summary[2]}/${summary[1]}` : '?';
      console.log(`${passed ? 'ok  ' : 'FAIL'} ${relative(root, file)} (${counts} tests, ${seconds} s)`);
      if (!passed) console.log(output.split('\n').map((l) => `     ${l}`).join('\n') + (signal ? `\n     signal ${signal}` : ''));
      results.push({ file, passed, output, total: summary ? Number(summary[1]) : 0 });
      resolvePromise();
    });
  });
}

async function worker() {
  while (next < files.length) await runOne(files[next++]);
}
await Promise.all(Array.from({ length: parallel }, worker));
const failed = results.filter((r) => !r.passed);
const tests = results.reduce((n, r) => n + r.total, 0);
console.log(`\n${results.length - failed.length}/${results.length} files passed, ${tests} tests`);
if (failed.length) {
  console.log(`failed: ${failed.map((r) => relative(root, r.file)).join(', ')}`);
  process.exit(1);
}
