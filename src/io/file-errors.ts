/**
 * The errors every file reader and writer raises, with one message shape so that an operator can
 * act on them: the file, where in it (byte offset, field, line), what was expected, what was found.
 */
import { OptoloopError, type ErrorCode } from '../core/errors.js';

export const IO_STAGE = 'io';

export interface FileErrorFacts {
  readonly file: string;
  /** Byte offset where the problem starts, when there is one. */
  readonly offset?: number;
  /** The header field, meta key or JSON path concerned. */
  readonly field?: string;
  readonly expected?: string;
  readonly actual?: string;
}

function where(facts: FileErrorFacts): string {
  const parts: string[] = [];
  if (facts.field !== undefined) parts.push(facts.field);
  if (facts.offset !== undefined) parts.push(`at byte ${facts.offset}`);
  return parts.length ? ` ${parts.join(' ')}` : '';
}

function make(code: ErrorCode, facts: FileErrorFacts, problem: string, cause?: unknown): OptoloopError {
  const expected = facts.expected !== undefined ? `: expected ${facts.expected}` : '';
  const actual = facts.actual !== undefined ? `, got ${facts.actual}` : '';
  return new OptoloopError(code, `${facts.file}:${where(facts)}${problem ? ` ${problem}` : ''}${expected}${actual}`, {
    stage: IO_STAGE,
    details: { ...facts },
    cause,
  });
}

/** Content that contradicts the format (wrong magic, impossible value, not a whole number of frames). */
export function fileMalformed(facts: FileErrorFacts, problem = ''): OptoloopError {
  return make('E_FILE_MALFORMED', facts, problem);
}

/** The file ends before its header or data says it should. */
export function fileTruncated(facts: FileErrorFacts, problem = 'file ends early'): OptoloopError {
  return make('E_FILE_TRUNCATED', facts, problem);
}

/** A valid file in a variant we do not read. */
export function fileUnsupported(facts: FileErrorFacts, problem = ''): OptoloopError {
  return make('E_FILE_UNSUPPORTED', facts, problem);
}

export function fileNotFound(file: string, cause: unknown, what = 'file'): OptoloopError {
  const reason = (cause as NodeJS.ErrnoException | undefined)?.code ?? (cause as Error | undefined)?.message ?? 'unknown error';
  return new OptoloopError('E_FILE_NOT_FOUND', `${file}: cannot open ${what} (${reason})`, {
    stage: IO_STAGE,
    details: { file },
    cause,
  });
}

export function fileWriteFailed(file: string, cause: unknown, what = 'write'): OptoloopError {
  const reason = (cause as NodeJS.ErrnoException | undefined)?.code ?? (cause as Error | undefined)?.message ?? 'unknown error';
  return new OptoloopError('E_FILE_WRITE', `${file}: ${what} failed (${reason})`, {
    stage: IO_STAGE,
    details: { file },
    cause,
  });
}
