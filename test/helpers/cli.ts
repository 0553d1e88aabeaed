import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliIo } from '../../src/cli/command.js';
import { main } from '../../src/cli/main.js';

/** Runs `optoloop <args>` in-process (not a TTY, never interrupted); returns the exit code and what it printed. */
export async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => (out += t), err: (t) => (err += t), isTty: false, interrupted: new Promise(() => {}) };
  const code = await main(args, io);
  return { code, out, err };
}

/** Writes a test's input file `name` into `dir` and returns its path. */
export function writeInput(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
