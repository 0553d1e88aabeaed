import { spawnSync } from 'node:child_process';

/**
 * Runs a Python script with Debian's /usr/bin/python3 (which has numpy and python-neo 0.11.1: the
 * independent readers our files are checked against) and returns its stdout parsed as JSON.
 */
export function runSystemPython(script: string, args: readonly string[] = []): unknown {
  const result = spawnSync('/usr/bin/python3', ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`/usr/bin/python3 exited with ${result.status}:\n${result.stderr}`);
  }
  try {
    return JSON.parse(result.stdout);
  } catch {
    throw new Error(`/usr/bin/python3 printed no JSON:\n${result.stdout}\n${result.stderr}`);
  }
}
