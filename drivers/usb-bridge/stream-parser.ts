import { crc16 } from '../firmware-bridge/crc16.js';
import { STREAM_HEADER_BYTES, STREAM_MAGIC0, STREAM_MAGIC1, STREAM_PACKET_MAX_BYTES, STREAM_VERSION } from '../firmware-bridge/protocol.js';

export interface StreamParserCounters {
  bytes: number;
  packets: number;
  crcErrors: number;
  /** Headers that cannot be right (version, header length, channel count, size). */
  headerErrors: number;
  /** Runs of bytes thrown away before the next good packet. */
  resyncs: number;
  discardedBytes: number;
}

const MAX_CHANNELS = 32;

/**
 * Finds firmware-bridge stream packets (PROTOCOL.md §9) in a byte stream split any way by USB
 * transfers. Fed and drained over one buffer allocated at construction: `feed()` copies input in
 * and stops as soon as a checked packet is ready (its fields below, its samples in `buffer` at
 * `samplesOffset`, valid until the next feed); it returns how much input it took. A bad packet
 * (CRC, impossible header) costs a resynchronisation: the search for the next magic starts one
 * byte after the bad packet's start.
 */
export class StreamPacketParser {
  readonly buffer = new Uint8Array(2 * STREAM_PACKET_MAX_BYTES);
  readonly counters: StreamParserCounters = { bytes: 0, packets: 0, crcErrors: 0, headerErrors: 0, resyncs: 0, discardedBytes: 0 };
  /** True when feed() returned with a packet. */
  ready = false;
  channelCount = 0;
  frameCount = 0;
  packetSeq = 0;
  firstFrameIndex = 0;
  deviceTimeUs = 0;
  samplesOffset = 0;
  private readonly view = new DataView(this.buffer.buffer);
  private start = 0;
  private end = 0;
  /** Length of the packet handed out last time, dropped at the next feed. */
  private handedOut = 0;
  private discarding = false;

  feed(data: Uint8Array, from: number, to: number): number {
    this.ready = false;
    this.start += this.handedOut;
    this.handedOut = 0;
    let at = from;
    for (;;) {
      if (this.parse()) return at;
      if (at >= to) return at;
      if (this.start > 0) {
        this.buffer.copyWithin(0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
      }
      const take = Math.min(to - at, this.buffer.length - this.end);
      this.buffer.set(data.subarray(at, at + take), this.end);
      this.end += take;
      this.counters.bytes += take;
      at += take;
    }
  }

  /** Forgets buffered bytes (a new stream). */
  reset(): void {
    this.start = this.end = this.handedOut = 0;
    this.ready = false;
    this.discarding = false;
  }

  private parse(): boolean {
    const b = this.buffer;
    for (;;) {
      // Find the magic.
      while (this.end - this.start >= 2 && !(b[this.start] === STREAM_MAGIC0 && b[this.start + 1] === STREAM_MAGIC1)) this.skip(1);
      if (this.end - this.start < STREAM_HEADER_BYTES) return false;
      const s = this.start;
      const channels = b[s + 3];
      const frames = this.view.getUint16(s + 4, true);
      const headerLength = this.view.getUint16(s + 6, true);
      const size = STREAM_HEADER_BYTES + frames * channels * 2 + 2;
      if (b[s + 2] !== STREAM_VERSION || headerLength !== STREAM_HEADER_BYTES || channels === 0 || channels > MAX_CHANNELS || frames === 0 || size > STREAM_PACKET_MAX_BYTES) {
        this.counters.headerErrors++;
        this.skip(1);
        continue;
      }
      if (this.end - s < size) return false;
      if (crc16(b, s, s + size - 2) !== this.view.getUint16(s + size - 2, true)) {
        this.counters.crcErrors++;
        this.skip(1);
        continue;
      }
      this.discarding = false;
      this.counters.packets++;
      this.channelCount = channels;
      this.frameCount = frames;
      this.packetSeq = this.view.getUint32(s + 8, true);
      this.firstFrameIndex = this.view.getUint32(s + 12, true) + this.view.getUint32(s + 16, true) * 0x1_0000_0000;
      this.deviceTimeUs = this.view.getUint32(s + 20, true) + this.view.getUint32(s + 24, true) * 0x1_0000_0000;
      this.samplesOffset = s + STREAM_HEADER_BYTES;
      this.handedOut = size;
      this.ready = true;
      return true;
    }
  }

  private skip(n: number): void {
    if (!this.discarding) {
      this.discarding = true;
      this.counters.resyncs++;
    }
    this.start += n;
    this.counters.discardedBytes += n;
  }
}
