import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Runs Python code with Debian's /usr/bin/python3 (which has numpy and python-neo 0.11.1: the
 * independent readers our files are checked against) and returns its stdout parsed as JSON.
 */
export function runSystemPython(script: string, args: readonly string[] = []): unknown {
  return run(['-c', script, ...args]);
}

/** Runs a script from test/fixtures (e.g. `neo_read.py`) the same way. */
export function runSystemPythonFixture(name: string, args: readonly string[] = []): unknown {
  return run([fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), ...args]);
}

function run(argv: readonly string[]): unknown {
  const result = spawnSync('/usr/bin/python3', argv, { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`/usr/bin/python3 exited with ${result.status}:\n${result.stderr}`);
  }
  try {
    return JSON.parse(result.stdout);
  } catch {
    throw new Error(`/usr/bin/python3 printed no JSON:\n${result.stdout.slice(0, 2000)}\n${result.stderr}`);
  }
}
