import { OptoloopError } from '../../src/core/errors.js';
import { isReadCancelled, type BindingPort } from '../binding/binding.js';

/**
 * A buffered reader over a `BindingPort` for protocols that mix text lines and binary payloads
 * (SpikeGLX) or have unterminated text replies (Intan RHX). One buffer, allocated once, is
 * compacted in place; binary payloads are read straight into the caller's buffer once the buffered
 * bytes are used up, so nothing is copied twice and nothing is allocated per read.
 *
 * `abort(error)` closes the port and makes the pending and every later read reject with `error`
 * (a timeout, a protocol error) instead of E_READ_CANCELLED.
 */
export class PortReader {
  readonly buffer: Uint8Array;
  /** Unconsumed bytes are buffer[start … end). */
  start = 0;
  end = 0;
  /** Bytes received from the port since creation. */
  bytesReceived = 0;
  /** Called after every read that returned bytes (watchdogs kick here). */
  onBytes: ((count: number) => void) | null = null;
  private abortError: OptoloopError | null = null;

  constructor(
    readonly port: BindingPort,
    capacityBytes = 64 * 1024,
  ) {
    this.buffer = new Uint8Array(capacityBytes);
  }

  get available(): number {
    return this.end - this.start;
  }

  get aborted(): boolean {
    return this.abortError !== null;
  }

  /** Reads at least one more byte into the buffer. */
  async fill(): Promise<number> {
    if (this.start > 0 && (this.end === this.buffer.length || this.start > this.buffer.length / 2)) {
      this.buffer.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.end === this.buffer.length) {
      throw new OptoloopError('E_DEVICE_PROTOCOL', `${this.port.path}: more than ${this.buffer.length} bytes without the expected delimiter`, {
        stage: 'drivers/tcp',
        details: { path: this.port.path, bufferBytes: this.buffer.length },
      });
    }
    const n = await this.readPort(this.buffer, this.end, this.buffer.length - this.end);
    this.end += n;
    return n;
  }

  indexOf(byte: number, from = this.start): number {
    for (let i = from; i < this.end; i++) if (this.buffer[i] === byte) return i;
    return -1;
  }

  consume(count: number): void {
    this.start += count;
    if (this.start === this.end) this.start = this.end = 0;
  }

  /**
   * Waits for a complete `\n`-terminated line; returns its length without the terminator (and a
   * trailing `\r`). The line is `buffer[start … start + length)` until `consume(length + terminator)`:
   * use `consumeLine()`.
   */
  async readLine(): Promise<number> {
    // Bytes already scanned, counted from `start` so that compaction by fill() does not matter.
    let scanned = 0;
    for (;;) {
      const nl = this.indexOf(0x0a, this.start + scanned);
      if (nl >= 0) {
        this.lineTerminatorAt = nl;
        let len = nl - this.start;
        if (len > 0 && this.buffer[nl - 1] === 0x0d) len--;
        return len;
      }
      scanned = this.available;
      await this.fill();
    }
  }

  private lineTerminatorAt = -1;

  /** Consumes the line found by the last `readLine()`, terminator included. */
  consumeLine(): void {
    this.consume(this.lineTerminatorAt + 1 - this.start);
    this.lineTerminatorAt = -1;
  }

  /** The line found by the last `readLine()` as Latin-1 text (allocates: for errors and set-up). */
  lineText(length: number): string {
    return latin1(this.buffer, this.start, this.start + length);
  }

  /** Copies exactly `length` bytes into `target[offset …)`, reading the remainder straight from the port. */
  async readExact(target: Uint8Array, offset: number, length: number): Promise<void> {
    const buffered = Math.min(length, this.available);
    if (buffered > 0) {
      target.set(this.buffer.subarray(this.start, this.start + buffered), offset);
      this.consume(buffered);
    }
    let done = buffered;
    while (done < length) done += await this.readPort(target, offset + done, length - done);
  }

  /** Discards buffered bytes; returns how many. */
  discardBuffered(): number {
    const n = this.available;
    this.start = this.end = 0;
    return n;
  }

  abort(error: OptoloopError): void {
    if (this.abortError) return;
    this.abortError = error;
    void this.port.close().catch(() => undefined);
  }

  private async readPort(target: Uint8Array, offset: number, length: number): Promise<number> {
    if (this.abortError) throw this.abortError;
    try {
      const { bytesRead } = await this.port.read(target, offset, length);
      this.bytesReceived += bytesRead;
      this.onBytes?.(bytesRead);
      return bytesRead;
    } catch (error) {
      if (this.abortError && isReadCancelled(error)) throw this.abortError;
      throw error;
    }
  }
}

export function latin1(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
}
