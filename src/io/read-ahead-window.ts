/**
 * A window onto fixed-size records of a file (frames, data blocks, int64 sample numbers), read
 * ahead in large synchronous reads into one buffer allocated once: how the readers stream a file
 * without a promise or an allocation per block. Callers view `buffer` with the typed array that
 * fits their records.
 */
import { readExactly } from './fs-sync.js';
import { READ_AHEAD_BYTES } from './recording-reader.js';

export class ReadAheadWindow {
  readonly buffer: ArrayBuffer;
  /** Records the window holds when full. */
  readonly capacity: number;
  /** First record in the window (−1 before the first read) and how many it holds. */
  start = -1;
  count = 0;
  private readonly bytes: Uint8Array;

  /**
   * @param dataOffset byte offset of record 0 in the file.
   * @param what names the records in a truncation error, e.g. `frames` → "frames 10…20".
   */
  constructor(
    private readonly fd: number,
    private readonly file: string,
    private readonly dataOffset: number,
    private readonly recordBytes: number,
    private readonly totalRecords: number,
    private readonly what: string,
  ) {
    this.capacity = Math.max(1, Math.floor(READ_AHEAD_BYTES / recordBytes));
    this.buffer = new ArrayBuffer(this.capacity * recordBytes);
    this.bytes = new Uint8Array(this.buffer);
  }

  /** Brings `record` into the window (reading from it onwards if it is not there) and returns its place in the window. */
  at(record: number): number {
    if (record < this.start || record >= this.start + this.count) this.fill(record);
    return record - this.start;
  }

  private fill(record: number): void {
    const count = Math.min(this.capacity, this.totalRecords - record);
    const rb = this.recordBytes;
    readExactly(this.fd, this.file, this.bytes, 0, count * rb, this.dataOffset + record * rb, `${this.what} ${record}…${record + count - 1}`);
    this.start = record;
    this.count = count;
  }
}
