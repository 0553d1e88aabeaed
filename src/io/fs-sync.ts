/**
 * Synchronous positional file access with our error codes. Readers use synchronous reads of large
 * chunks into buffers they allocated once: a read from the page cache costs microseconds, and a
 * synchronous call keeps the per-block path free of promises and awaits (see CONTRIBUTING, hot paths).
 */
import { closeSync, fstatSync, openSync, readSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { fileNotFound, fileTruncated, fileWriteFailed, fileUnsupported } from './file-errors.js';

/** Typed-array views over file bytes assume the host's byte order is the files' (little-endian). */
export function assertLittleEndianHost(file: string): void {
  if (endianness() !== 'LE') {
    throw fileUnsupported({ file }, 'optoloop reads and writes little-endian files on little-endian hosts only');
  }
}

export function openForReading(file: string, what = 'file'): number {
  try {
    return openSync(file, 'r');
  } catch (cause) {
    throw fileNotFound(file, cause, what);
  }
}

export function fileSizeOf(fd: number): number {
  return fstatSync(fd).size;
}

/**
 * Reads exactly `length` bytes at `position` into `target[offset…]`, or throws E_FILE_TRUNCATED
 * naming what was being read (`what`) and where the file ended.
 */
export function readExactly(
  fd: number,
  file: string,
  target: Uint8Array,
  offset: number,
  length: number,
  position: number,
  what: string,
): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, target, offset + done, length - done, position + done);
    if (n === 0) {
      throw fileTruncated(
        { file, offset: position + done, field: what, expected: `${length} bytes from byte ${position}`, actual: `${done}` },
        'file ends early',
      );
    }
    done += n;
  }
}

/** Writes all of `source[offset…offset+length)` at `position` (null = current position). */
export function writeFully(fd: number, file: string, source: Uint8Array, offset: number, length: number, position: number | null): void {
  let done = 0;
  try {
    while (done < length) {
      const n = writeSync(fd, source, offset + done, length - done, position === null ? null : position + done);
      done += n;
    }
  } catch (cause) {
    throw fileWriteFailed(file, cause);
  }
}

/**
 * Replaces `file` with `data` through a temporary file beside it and a rename, so that a crash
 * leaves the old content or the new one, never half of it (sidecars, .meta, structure.oebin).
 */
export function writeFileAtomically(file: string, data: string | Uint8Array, encoding: BufferEncoding = 'utf8'): void {
  const temporary = `${file}.tmp`;
  try {
    writeFileSync(temporary, data, typeof data === 'string' ? encoding : undefined);
    renameSync(temporary, file);
  } catch (cause) {
    throw fileWriteFailed(file, cause);
  }
}

export function closeQuietly(fd: number | null): void {
  if (fd === null) return;
  try {
    closeSync(fd);
  } catch {
    // Closing a read-only descriptor can only fail if it is already closed: nothing to recover.
  }
}
