import { parseArgs, type ParseArgsConfig } from 'node:util';
import { OptoloopError } from '../core/errors.js';

/** Where a command writes: injectable so that tests capture output instead of spawning processes. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** True when stderr is a terminal (progress bars are drawn only then). */
  readonly isTty: boolean;
  /** Resolves when the user asks to stop (SIGINT / SIGTERM). */
  readonly interrupted: Promise<void>;
}

export interface Command {
  readonly name: string;
  /** One line for `optoloop --help`. */
  readonly summary: string;
  /** The whole `--help` text; `npm run docs` turns it into docs/cli/<name>.md. */
  readonly help: string;
  /** Returns the process exit code. Throws OptoloopError for anything the user should read. */
  run(argv: readonly string[], io: CliIo): Promise<number>;
}


/** util.parseArgs (strict) with its errors turned into E_CLI_USAGE naming the command. */
export function parseCommandArgs<T extends ParseArgsConfig>(command: string, config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (cause) {
    throw new OptoloopError('E_CLI_USAGE', `optoloop ${command}: ${(cause as Error).message.replace(/\. To specify.*$/s, '')}; see optoloop ${command} --help`, {
      stage: 'cli',
      cause,
    });
  }
}

export function usageError(command: string, message: string): OptoloopError {
  return new OptoloopError('E_CLI_USAGE', `optoloop ${command}: ${message}; see optoloop ${command} --help`, { stage: 'cli' });
}

/** Parses `--speed N|max` into a replay pace. */
export function parseSpeed(command: string, text: string | undefined): { realTime: boolean; speed: number } {
  if (text === undefined) return { realTime: true, speed: 1 };
  if (text === 'max') return { realTime: false, speed: 1 };
  const speed = Number(text);
  if (!Number.isFinite(speed) || speed <= 0) throw usageError(command, `--speed: expected a positive number or "max", got ${JSON.stringify(text)}`);
  return { realTime: true, speed };
}
