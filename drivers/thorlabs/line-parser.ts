/**
 * DC4100 → host bytes: CR LF-terminated ASCII lines. Bytes outside printable ASCII (other than CR
 * and LF) cannot belong to a reply: they are skipped, one resync per run; a line longer than any
 * reply is noise and is dropped whole. One string per complete line; nothing per byte.
 */
import type { ByteParser, LinkCounters } from '../binding/device-connection.js';

const MAX_LINE = 256;
const CR = 0x0d;
const LF = 0x0a;

export class LineParser implements ByteParser {
  garbageBytes = 0;
  private readonly line = new Uint8Array(MAX_LINE);
  private length = 0;
  private overflowed = false;
  private inGarbage = false;

  constructor(
    private readonly counters: LinkCounters,
    private readonly onLine: (line: string, hostReceiveTimeNs: number) => void,
  ) {}

  feed(bytes: Uint8Array, offset: number, length: number, hostReceiveTimeNs: number): void {
    const end = offset + length;
    for (let i = offset; i < end; i++) {
      const b = bytes[i];
      if (b === LF) {
        if (!this.overflowed && this.length > 0) {
          const text = String.fromCharCode(...this.line.subarray(0, this.length));
          this.length = 0;
          this.counters.blocks++;
          this.onLine(text, hostReceiveTimeNs);
        }
        this.length = 0;
        this.overflowed = false;
        this.inGarbage = false;
        continue;
      }
      if (b === CR) continue;
      if (b < 0x20 || b > 0x7e) {
        this.garbageBytes++;
        if (!this.inGarbage) {
          this.inGarbage = true;
          this.counters.resyncs++;
        }
        continue;
      }
      this.inGarbage = false;
      if (this.length === MAX_LINE) {
        if (!this.overflowed) this.counters.resyncs++;
        this.overflowed = true;
        continue;
      }
      this.line[this.length++] = b;
    }
  }

  reset(): void {
    this.length = 0;
    this.overflowed = false;
    this.inGarbage = false;
  }
}
