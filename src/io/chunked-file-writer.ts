/**
 * An append-only file written synchronously in large chunks from one reused buffer: the writers'
 * answer to backpressure (a synchronous write cannot outrun the disk, and big chunks keep the
 * syscall count low). Nothing is allocated per call.
 */
import { WritableFile } from './writable-file.js';

export class ChunkedFileWriter {
  readonly path: string;
  private readonly file: WritableFile;
  private readonly buffer: Uint8Array;
  private buffered = 0;
  /** Bytes written to the file so far (excluding what is still buffered). */
  bytesOnDisk = 0;

  /**
   * @param afterSpill called after each write of the buffer to disk, e.g. to rewrite a header or a
   * meta file so that it never describes more than the disk holds (crash safety).
   */
  constructor(path: string, bufferBytes: number, private readonly afterSpill: (() => void) | null = null) {
    this.path = path;
    this.buffer = new Uint8Array(Math.max(4096, bufferBytes));
    this.file = new WritableFile(path);
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  get capacityBytes(): number {
    return this.buffer.length;
  }

  /** Appends bytes, writing the buffer out each time it fills. */
  append(bytes: Uint8Array): void {
    this.file.assertOpen();
    let done = 0;
    while (done < bytes.length) {
      if (this.buffered === this.buffer.length) this.spill();
      const n = Math.min(bytes.length - done, this.buffer.length - this.buffered);
      this.buffer.set(bytes.subarray(done, done + n), this.buffered);
      this.buffered += n;
      done += n;
    }
  }

  /** Appends `length` zero bytes (gap filling) without a zero buffer. */
  appendZeros(length: number): void {
    this.file.assertOpen();
    let left = length;
    while (left > 0) {
      if (this.buffered === this.buffer.length) this.spill();
      const n = Math.min(left, this.buffer.length - this.buffered);
      this.buffer.fill(0, this.buffered, this.buffered + n);
      this.buffered += n;
      left -= n;
    }
  }

  /** Writes what is buffered. */
  spill(): void {
    this.file.assertOpen();
    if (this.buffered === 0) return;
    this.file.writeAt(this.buffer, 0, this.buffered, this.bytesOnDisk);
    this.bytesOnDisk += this.buffered;
    this.buffered = 0;
    this.afterSpill?.();
  }

  sync(): void {
    this.file.sync();
  }

  close(): void {
    if (this.file.closed) return;
    this.spill();
    this.file.close();
  }

  get closed(): boolean {
    return this.file.closed;
  }
}
