/**
 * A `.npy` file that grows row by row while a recording runs (Open Ephys sample numbers,
 * timestamps, event states), and stays readable if the process dies.
 *
 * Crash safety: the header is written with a fixed size (128 bytes, room for any shape) and
 * rewritten in place after every write of buffered rows to disk, so the shape it states never
 * exceeds the rows on disk. After a SIGKILL the file therefore reads, with NumPy or with
 * {@link readNpy}, as the rows of the last flush (rows written after that header update are ignored
 * by readers that trust the header; ours also accept them, see `readNpyHeader().itemsPresent`).
 * The Open Ephys GUI instead writes the shape only when recording stops. `flush({ sync: true })`
 * also fsyncs, for power loss rather than a killed process.
 *
 * Writes are synchronous, in chunks of `bufferBytes`: the caller is never asked to await, and
 * nothing is allocated per row.
 */
import { OptoloopError } from '../core/errors.js';
import { IO_STAGE } from './file-errors.js';
import { assertLittleEndianHost } from './fs-sync.js';
import { dtypeOfArray, encodeNpyHeader, npyItemBytes, type NpyDtype, type NpyTypedArray } from './npy.js';
import { WritableFile } from './writable-file.js';

/** Header bytes reserved so that the header can be rewritten in place whatever the row count. */
export const NPY_APPEND_HEADER_BYTES = 128;

export interface NpyAppendWriterOptions {
  /** Trailing dimensions of each row: [] (default) for a 1-D array, e.g. [channels, samples] for waveforms. */
  readonly rowShape?: readonly number[];
  /** Bytes buffered in memory before they are written (default 64 KiB). */
  readonly bufferBytes?: number;
}

export class NpyAppendWriter {
  readonly path: string;
  readonly dtype: NpyDtype;
  readonly rowShape: readonly number[];
  private readonly itemBytes: number;
  private readonly rowItems: number;
  private readonly file: WritableFile;
  private readonly buffer: Uint8Array;
  private readonly view: DataView;
  private buffered = 0;
  private rowsOnDisk = 0;
  private bytesOnDisk = 0;

  constructor(path: string, dtype: NpyDtype, options: NpyAppendWriterOptions = {}) {
    assertLittleEndianHost(path);
    this.path = path;
    this.dtype = dtype;
    this.rowShape = [...(options.rowShape ?? [])];
    this.itemBytes = npyItemBytes(dtype);
    this.rowItems = this.rowShape.reduce((a, b) => a * b, 1);
    const rowBytes = this.rowItems * this.itemBytes;
    const capacity = Math.max(options.bufferBytes ?? 65536, rowBytes);
    this.buffer = new Uint8Array(capacity - (capacity % Math.max(1, rowBytes)));
    this.view = new DataView(this.buffer.buffer);
    this.file = new WritableFile(path);
    this.writeHeader();
  }

  /** Rows appended so far, including rows still buffered. */
  get rows(): number {
    return this.rowsOnDisk + this.buffered / (this.rowItems * this.itemBytes);
  }

  /**
   * Appends one item (a whole row when rows are single items). Integers must be safe integers;
   * int64 and uint64 are stored exactly without BigInt.
   */
  appendNumber(value: number): void {
    this.file.assertOpen();
    if (this.buffered + this.itemBytes > this.buffer.length) this.spill();
    const at = this.buffered;
    const v = this.view;
    switch (this.dtype) {
      case 'int8': v.setInt8(at, value); break;
      case 'uint8': v.setUint8(at, value); break;
      case 'int16': v.setInt16(at, value, true); break;
      case 'uint16': v.setUint16(at, value, true); break;
      case 'int32': v.setInt32(at, value, true); break;
      case 'uint32': v.setUint32(at, value, true); break;
      case 'int64':
      case 'uint64': {
        const high = Math.floor(value / 4294967296);
        v.setUint32(at, value - high * 4294967296, true);
        v.setInt32(at + 4, high, true);
        break;
      }
      case 'float32': v.setFloat32(at, value, true); break;
      case 'float64': v.setFloat64(at, value, true); break;
    }
    this.buffered += this.itemBytes;
  }

  /** Appends `count` items of `data` from `start`: whole rows, same dtype as the file. */
  appendItems(data: NpyTypedArray, start = 0, count = data.length - start): void {
    this.file.assertOpen();
    if (dtypeOfArray(data) !== this.dtype) {
      throw new TypeError(`${this.path}: appendItems expects ${this.dtype} data, got ${data.constructor.name}`);
    }
    if (count % this.rowItems !== 0) {
      throw new RangeError(`${this.path}: appendItems expects whole rows of ${this.rowItems} items, got ${count}`);
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset + start * this.itemBytes, count * this.itemBytes);
    let done = 0;
    while (done < bytes.length) {
      if (this.buffered === this.buffer.length) this.spill();
      const n = Math.min(bytes.length - done, this.buffer.length - this.buffered);
      this.buffer.set(bytes.subarray(done, done + n), this.buffered);
      this.buffered += n;
      done += n;
    }
  }

  /** Writes buffered rows and the header that counts them; `sync` also fsyncs. */
  flush(options: { readonly sync?: boolean } = {}): void {
    this.file.assertOpen();
    this.spill();
    if (options.sync) this.file.sync();
  }

  close(): void {
    if (this.file.closed) return;
    this.spill();
    this.file.close();
  }

  get closed(): boolean {
    return this.file.closed;
  }

  private spill(): void {
    const rowBytes = this.rowItems * this.itemBytes;
    // Only whole rows reach the disk, so the header always describes complete data.
    const whole = this.buffered - (this.buffered % rowBytes);
    if (whole > 0) {
      this.file.writeAt(this.buffer, 0, whole, NPY_APPEND_HEADER_BYTES + this.bytesOnDisk);
      this.bytesOnDisk += whole;
      this.rowsOnDisk += whole / rowBytes;
      this.buffer.copyWithin(0, whole, this.buffered);
      this.buffered -= whole;
    }
    this.writeHeader();
  }

  private writeHeader(): void {
    const header = encodeNpyHeader(this.dtype, [this.rowsOnDisk, ...this.rowShape], NPY_APPEND_HEADER_BYTES);
    if (header.length !== NPY_APPEND_HEADER_BYTES) {
      throw new OptoloopError('E_INTERNAL', `${this.path}: .npy header grew beyond ${NPY_APPEND_HEADER_BYTES} bytes`, { stage: IO_STAGE });
    }
    this.file.writeAt(header, 0, header.length, 0);
  }
}
