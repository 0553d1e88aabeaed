/**
 * Pulse Pal → host bytes. The device never streams (protocols.md §2.6): every byte it sends is a
 * reply to one of our ops — 'K' + u32 LE firmware version to the handshake, 0x01 to the ops that
 * confirm. The parser is told what to expect; anything else is garbage, skipped and counted (one
 * resync per run of unexpected bytes).
 *
 * Limitation of the protocol: a stray 0x01 while a confirmation is pending is indistinguishable
 * from the confirmation.
 */
import type { ByteParser, LinkCounters } from '../binding/device-connection.js';
import { ACK, HANDSHAKE_REPLY } from './protocol.js';

export interface PulsePalReplyHandler {
  onHandshake(firmwareVersion: number, hostReceiveTimeNs: number): void;
  onAck(hostReceiveTimeNs: number): void;
}

export class PulsePalReplyParser implements ByteParser {
  /** Confirmations (0x01) we are waiting for. */
  pendingAcks = 0;
  /** Set while a handshake reply is awaited. */
  awaitingHandshake = false;
  /** Bytes skipped as garbage since creation. */
  garbageBytes = 0;

  private versionBytesSeen = -1; // −1: not inside a handshake reply
  private version = 0;
  private inGarbage = false;

  constructor(
    private readonly counters: LinkCounters,
    private readonly handler: PulsePalReplyHandler,
  ) {}

  feed(bytes: Uint8Array, offset: number, length: number, hostReceiveTimeNs: number): void {
    const end = offset + length;
    for (let i = offset; i < end; i++) {
      const b = bytes[i];
      if (this.versionBytesSeen >= 0) {
        // u32 little-endian, least significant byte first.
        this.version += b * 2 ** (8 * this.versionBytesSeen);
        this.versionBytesSeen++;
        if (this.versionBytesSeen === 4) {
          this.versionBytesSeen = -1;
          this.awaitingHandshake = false;
          this.counters.blocks++;
          this.handler.onHandshake(this.version, hostReceiveTimeNs);
        }
        continue;
      }
      if (this.awaitingHandshake && b === HANDSHAKE_REPLY) {
        this.inGarbage = false;
        this.versionBytesSeen = 0;
        this.version = 0;
        continue;
      }
      if (!this.awaitingHandshake && this.pendingAcks > 0 && b === ACK) {
        this.inGarbage = false;
        this.pendingAcks--;
        this.counters.blocks++;
        this.handler.onAck(hostReceiveTimeNs);
        continue;
      }
      this.garbageBytes++;
      if (!this.inGarbage) {
        this.inGarbage = true;
        this.counters.resyncs++;
      }
    }
  }

  reset(): void {
    this.pendingAcks = 0;
    this.awaitingHandshake = false;
    this.versionBytesSeen = -1;
    this.inGarbage = false;
  }
}
