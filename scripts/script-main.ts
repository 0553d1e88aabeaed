// What every script's "run me" guard needs: whether this module is the file node was started with
// (scripts are also imported, by tests and by each other), and --help / -h answered with the
// script's own header comment instead of starting an evaluation that can run for many minutes.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The header comment (the leading `//` lines) of a script: its description and usage. */
export function scriptUsage(moduleUrl: string): string {
  const lines: string[] = [];
  for (const line of readFileSync(fileURLToPath(moduleUrl), 'utf8').split('\n')) {
    if (!line.startsWith('//')) break;
    lines.push(line.replace(/^\/\/ ?/, ''));
  }
  return lines.join('\n');
}

/**
 * True when `moduleUrl` (the caller's import.meta.url) is the script node runs; with --help or -h
 * in its arguments it prints the usage and exits 0 instead.
 */
export function isScriptMain(moduleUrl: string): boolean {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(resolve(process.argv[1])).href) return false;
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${scriptUsage(moduleUrl)}\n`);
    process.exit(0);
  }
  return true;
}
