/**
 * Cyton dongle → host bytes, as a fed-and-drained state machine over buffers allocated once:
 *
 *  - `text` mode (after a command): bytes gather until `$$$`, then the reply goes to `onText`;
 *  - `packets` mode (after `b`): 33-byte packets. A packet starts at 0xA0 and must end with a stop
 *    byte 0xC0–0xC6; bytes before a header are skipped, and a packet whose 33rd byte is not a stop
 *    byte is misframed: the parser slides to the next 0xA0 inside it and carries on. Each run of
 *    skipped bytes counts one resync. Decoded samples go to `onPacket` in a reused Int32Array;
 *  - `discard` mode (after `s`): packets still in flight are dropped quietly.
 *
 * Per byte: no allocation. Per text reply: one string.
 */
import type { ByteParser, LinkCounters } from '../binding/device-connection.js';
import { HEADER, PACKET_BYTES, STOP_MAX, STOP_MIN, int24be } from './protocol.js';

export interface CytonStreamHandler {
  /** `counts` (8 samples) and `packet` (the 33 bytes) are reused: valid during the call only. */
  onPacket(sampleNumber: number, counts: Int32Array, stopByte: number, packet: Uint8Array, hostReceiveTimeNs: number): void;
  /** A text reply, without its `$$$`. */
  onText(text: string, hostReceiveTimeNs: number): void;
  /** Called after every feed, so that what the feed completed can be emitted as one block. */
  onFeedEnd(hostReceiveTimeNs: number): void;
}

export type CytonParserMode = 'text' | 'packets' | 'discard';

const TEXT_CAPACITY = 8192;
const DOLLAR = 0x24;

export class CytonStreamParser implements ByteParser {
  mode: CytonParserMode = 'text';
  /** Bytes skipped to find packet boundaries. */
  garbageBytes = 0;

  private readonly packet = new Uint8Array(PACKET_BYTES);
  private filled = 0;
  private readonly counts = new Int32Array(8);
  private readonly text = new Uint8Array(TEXT_CAPACITY);
  private textLength = 0;
  private inGarbage = false;

  constructor(
    private readonly counters: LinkCounters,
    private readonly handler: CytonStreamHandler,
  ) {}

  setMode(mode: CytonParserMode): void {
    this.mode = mode;
    this.filled = 0;
    this.textLength = 0;
    this.inGarbage = false;
  }

  feed(bytes: Uint8Array, offset: number, length: number, hostReceiveTimeNs: number): void {
    const end = offset + length;
    if (this.mode === 'packets') {
      for (let i = offset; i < end; i++) this.packetByte(bytes[i], hostReceiveTimeNs);
    } else if (this.mode === 'text') {
      for (let i = offset; i < end; i++) this.textByte(bytes[i], hostReceiveTimeNs);
    }
    this.handler.onFeedEnd(hostReceiveTimeNs);
  }

  reset(): void {
    this.filled = 0;
    this.textLength = 0;
    this.inGarbage = false;
  }

  private packetByte(b: number, timeNs: number): void {
    const packet = this.packet;
    if (this.filled === 0) {
      if (b === HEADER) {
        packet[0] = b;
        this.filled = 1;
      } else {
        this.skipped(1);
      }
      return;
    }
    packet[this.filled++] = b;
    if (this.filled < PACKET_BYTES) return;
    const stop = packet[PACKET_BYTES - 1];
    if (stop >= STOP_MIN && stop <= STOP_MAX) {
      this.filled = 0;
      this.inGarbage = false;
      this.counters.blocks++;
      const counts = this.counts;
      for (let c = 0; c < 8; c++) counts[c] = int24be(packet, 2 + 3 * c);
      this.handler.onPacket(packet[1], counts, stop, packet, timeNs);
      return;
    }
    // Misframed: the header we locked on was a data byte. Slide to the next 0xA0 we already hold.
    let k = 1;
    while (k < PACKET_BYTES && packet[k] !== HEADER) k++;
    this.skipped(k);
    packet.copyWithin(0, k, PACKET_BYTES);
    this.filled = PACKET_BYTES - k;
  }

  private skipped(count: number): void {
    this.garbageBytes += count;
    if (!this.inGarbage) {
      this.inGarbage = true;
      this.counters.resyncs++;
    }
  }

  private textByte(b: number, timeNs: number): void {
    if (this.textLength === TEXT_CAPACITY) {
      // A reply this long is noise (a board streaming while we wait for text): keep the tail.
      this.text.copyWithin(0, TEXT_CAPACITY / 2);
      this.textLength = TEXT_CAPACITY / 2;
    }
    this.text[this.textLength++] = b;
    const n = this.textLength;
    if (b === DOLLAR && n >= 3 && this.text[n - 2] === DOLLAR && this.text[n - 3] === DOLLAR) {
      const reply = String.fromCharCode(...this.text.subarray(0, n - 3));
      this.textLength = 0;
      this.counters.blocks++;
      this.handler.onText(reply, timeNs);
    }
  }
}
