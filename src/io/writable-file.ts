/**
 * A file created for writing and written synchronously at explicit positions, with our error codes
 * (E_FILE_WRITE naming the file and what failed): the file-handle part of the append writers
 * (ChunkedFileWriter, NpyAppendWriter), which differ only in how they buffer.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { OptoloopError } from '../core/errors.js';
import { fileWriteFailed, IO_STAGE } from './file-errors.js';
import { writeFully } from './fs-sync.js';

export class WritableFile {
  private fd: number | null;

  /** Creates (or truncates) `path`. */
  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'w');
    } catch (cause) {
      throw fileWriteFailed(path, cause, 'create');
    }
  }

  get closed(): boolean {
    return this.fd === null;
  }

  /** Throws E_FILE_WRITE once the file is closed. */
  assertOpen(): void {
    this.openFd();
  }

  /** Writes all of `source[offset … offset + length)` at byte `position`. */
  writeAt(source: Uint8Array, offset: number, length: number, position: number): void {
    writeFully(this.openFd(), this.path, source, offset, length, position);
  }

  sync(): void {
    const fd = this.openFd();
    try {
      fsyncSync(fd);
    } catch (cause) {
      throw fileWriteFailed(this.path, cause, 'fsync');
    }
  }

  /** Closes the file; a second close does nothing. */
  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      closeSync(fd);
    } catch (cause) {
      throw fileWriteFailed(this.path, cause, 'close');
    }
  }

  private openFd(): number {
    if (this.fd === null) {
      throw new OptoloopError('E_FILE_WRITE', `${this.path}: write after close`, { stage: IO_STAGE, details: { file: this.path } });
    }
    return this.fd;
  }
}
