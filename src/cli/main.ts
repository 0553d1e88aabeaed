import { isOptoloopError } from '../core/errors.js';
import type { CliIo } from './command.js';
import { commands } from './commands/index.js';

const VERSION = '0.1.0';

export function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `optoloop ${VERSION}: real-time closed-loop acquisition and online cell-type classification

Usage: optoloop <command> [options]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run "optoloop <command> --help" for a command's options.`;
}

function processIo(): CliIo {
  let onInterrupt: () => void = () => {};
  const interrupted = new Promise<void>((resolve) => (onInterrupt = resolve));
  const stop = () => onInterrupt();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    isTty: Boolean(process.stderr.isTTY),
    interrupted,
  };
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 usage). */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(`${mainHelp()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    io.out(`${VERSION}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`optoloop: unknown command "${name}"\n\n${mainHelp()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (isOptoloopError(error)) {
      io.err(`optoloop ${name}: ${error.code}: ${error.message}\n`);
      return error.code === 'E_CLI_USAGE' ? 2 : 1;
    }
    io.err(`optoloop ${name}: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}

// Run directly (node --import tsx src/cli/main.ts …) as well as through bin/optoloop.js.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.exitCode = await main(process.argv.slice(2));
}
