import { cobsDecode } from './cobs.js';
import { crc16 } from './crc16.js';
import { FRAME_CRC_BYTES, FRAME_ENCODED_MAX_BYTES, FRAME_MAX_BYTES, FRAME_MIN_BYTES } from './protocol.js';

export interface FrameParserCounters {
  bytes: number;
  frames: number;
  crcErrors: number;
  /** Undecodable COBS, too short or too long. */
  framingErrors: number;
  /** Bytes thrown away with bad frames. */
  discardedBytes: number;
  /** Times the parser threw bytes away and started again at the next delimiter. */
  resyncs: number;
}

/**
 * Splits a byte stream into checked frames (PROTOCOL.md §2–3). Fed and drained over buffers it
 * allocated once: `feed()` consumes bytes until a valid frame is complete (then `frame` holds it,
 * `frameLength` long, valid until the next feed) or the input ends. Any split of the input — one
 * byte at a time included — gives the same frames. Damaged frames are dropped at the next
 * delimiter and counted, never delivered.
 *
 * ```ts
 * let at = start;
 * while (at < end) { at = parser.feed(data, at, end); if (parser.frameLength) handle(parser.frame); }
 * ```
 */
export class FrameParser {
  readonly frame = new Uint8Array(FRAME_MAX_BYTES);
  /** Length of the frame just completed, 0 when feed() returned without one. */
  frameLength = 0;
  readonly counters: FrameParserCounters = { bytes: 0, frames: 0, crcErrors: 0, framingErrors: 0, discardedBytes: 0, resyncs: 0 };
  private readonly encoded = new Uint8Array(FRAME_ENCODED_MAX_BYTES);
  private encodedLength = 0;
  private overflowBytes = 0;

  feed(data: Uint8Array, start: number, end: number): number {
    this.frameLength = 0;
    let i = start;
    while (i < end) {
      const byte = data[i++];
      this.counters.bytes++;
      if (byte !== 0) {
        if (this.encodedLength < FRAME_ENCODED_MAX_BYTES) this.encoded[this.encodedLength++] = byte;
        else this.overflowBytes++;
        continue;
      }
      if (this.complete()) return i;
    }
    return i;
  }

  /** Forgets a partial frame (after a reconnect). */
  reset(): void {
    this.encodedLength = 0;
    this.overflowBytes = 0;
    this.frameLength = 0;
  }

  private complete(): boolean {
    const length = this.encodedLength;
    const overflow = this.overflowBytes;
    this.encodedLength = 0;
    this.overflowBytes = 0;
    if (length === 0) return false;
    if (overflow > 0) return this.reject(length + overflow, false);
    const n = cobsDecode(this.encoded, 0, length, this.frame);
    if (n < FRAME_MIN_BYTES) return this.reject(length, false);
    const expected = this.frame[n - 2] | (this.frame[n - 1] << 8);
    if (crc16(this.frame, 0, n - FRAME_CRC_BYTES) !== expected) return this.reject(length, true);
    this.counters.frames++;
    this.frameLength = n;
    return true;
  }

  private reject(bytes: number, crc: boolean): false {
    if (crc) this.counters.crcErrors++;
    else this.counters.framingErrors++;
    this.counters.discardedBytes += bytes + 1;
    this.counters.resyncs++;
    return false;
  }
}
