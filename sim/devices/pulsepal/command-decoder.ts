/**
 * The Pulse Pal 2 firmware's side of the serial protocol, as a byte-fed state machine: waits for
 * the op-menu byte 213 (any other byte is ignored, as the firmware does to resist port scanners),
 * reads the op code and its payload (fixed or length-prefixed), and hands each complete command on.
 *
 * Written from protocols.md §2.4–2.6 and the 2.0.1 firmware's reads, independently of the host
 * driver's encoder, so that a test of one against the other checks the wire format.
 */

export type PulsePalCommand =
  | { readonly op: 72 }
  | { readonly op: 73; readonly payload: Uint8Array }
  | { readonly op: 74; readonly code: number; readonly channel: number; readonly value: number }
  | { readonly op: 75 | 76; readonly onsetCycles: number[]; readonly voltageCodes: number[] }
  | { readonly op: 77; readonly mask: number }
  | { readonly op: 78; readonly text: Uint8Array }
  | { readonly op: 79; readonly channel: number; readonly code: number }
  | { readonly op: 80 }
  | { readonly op: 81 }
  | { readonly op: 82; readonly state: number; readonly channel: number }
  | { readonly op: 85 }
  | { readonly op: 86; readonly pin: number; readonly level: number }
  | { readonly op: 87; readonly pin: number }
  | { readonly op: 89; readonly name: string }
  | { readonly op: 90; readonly fileOp: number; readonly fileName: string }
  | { readonly op: 91; readonly code: number; readonly values: number[] }
  | { readonly op: 92 }
  | { readonly op: 94; readonly enable: number }
  | { readonly op: 'unknown'; readonly code: number };

export const OP_MENU_BYTE = 213;
/** Custom train arrays hold at most this many pulses in the v2 firmware. */
export const MAX_CUSTOM_PULSES = 5000;

/** Bytes of an op 74 / op 91 value for a parameter code (v2: u16 voltages, u32 times, u8 others). */
export function valueWidth(code: number): number {
  if (code === 2 || code === 3 || code === 17) return 2;
  if (code >= 4 && code <= 11) return 4;
  return 1;
}

function u16(b: Uint8Array, p: number): number {
  return b[p] | (b[p + 1] << 8);
}

function u32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) + b[p + 3] * 0x1000000;
}

function readValue(b: Uint8Array, p: number, width: number): number {
  return width === 4 ? u32(b, p) : width === 2 ? u16(b, p) : b[p];
}

export class CommandDecoder {
  /** Bytes skipped while waiting for 213. */
  ignoredBytes = 0;

  private phase: 'idle' | 'op' | 'body' = 'idle';
  private op = 0;
  /** Payload so far; sized for the largest command (op 75 with 5000 pulses). */
  private readonly body = new Uint8Array(4 + MAX_CUSTOM_PULSES * 6 + 16);
  private have = 0;
  private need = 0;
  /** 0 while reading a length prefix (or a fixed payload), 1 after it was read. */
  private step = 0;
  /** Payload bytes read and discarded (an op 75/76 train longer than the firmware's arrays). */
  private skip = 0;

  constructor(private readonly onCommand: (command: PulsePalCommand, truncated: boolean) => void) {}

  /** True while a command is partly received (the firmware's per-byte timeout applies). */
  get inCommand(): boolean {
    return this.phase !== 'idle';
  }

  feed(bytes: Uint8Array, offset: number, length: number): void {
    for (let i = offset; i < offset + length; i++) this.push(bytes[i], false);
  }

  /**
   * The firmware's 500 ms read timeout fired mid-command: like the firmware, every further byte of
   * this command reads as 0, and the command executes with those zeros.
   */
  timeout(): void {
    if (this.phase === 'op') {
      this.push(0, true);
      return;
    }
    if (this.phase === 'body' && this.skip > 0) {
      this.skip = 0;
      this.complete(true);
      return;
    }
    while (this.phase === 'body') this.push(0, true);
  }

  private push(b: number, truncated: boolean): void {
    if (this.phase === 'idle') {
      if (b === OP_MENU_BYTE) this.phase = 'op';
      else this.ignoredBytes++;
      return;
    }
    if (this.phase === 'op') {
      this.op = b;
      this.have = 0;
      this.step = 0;
      this.skip = 0;
      this.need = this.initialNeed(b);
      if (this.need === 0) this.complete(truncated);
      else this.phase = 'body';
      return;
    }
    if (this.skip > 0) {
      if (--this.skip === 0) this.complete(truncated);
      return;
    }
    this.body[this.have++] = b;
    if (this.have < this.need) return;
    if (this.step === 0) {
      this.step = 1;
      this.need += this.moreAfterPrefix();
      if (this.have < this.need || this.skip > 0) return;
    }
    if (this.skip > 0) return;
    this.complete(truncated);
  }

  private initialNeed(op: number): number {
    switch (op) {
      case 73:
        return 178;
      case 74:
        return 2; // code, channel; then the value
      case 75:
      case 76:
        return 4; // n; then n onsets and n voltages
      case 77:
        return 1;
      case 78:
        return 1; // length; then the text
      case 79:
        return 3;
      case 82:
        return 2;
      case 86:
        return 2;
      case 87:
        return 1;
      case 89:
        return 6;
      case 90:
        return 2; // file op, name length; then the name
      case 91:
        return 1; // code; then four values
      case 94:
        return 1;
      default:
        return 0; // 72, 80, 81, 85, 92 and unknown ops carry nothing
    }
  }

  /** After the prefix of a variable-length op: how many more payload bytes it announces. */
  private moreAfterPrefix(): number {
    switch (this.op) {
      case 74:
        return valueWidth(this.body[0]);
      case 75:
      case 76: {
        // More pulses than the firmware's arrays hold overruns its memory; we cannot emulate that,
        // so such a train is read to its end and stored empty.
        const n = u32(this.body, 0);
        if (n > MAX_CUSTOM_PULSES) {
          this.skip = n * 6;
          return 0;
        }
        return n * 6;
      }
      case 78:
        return this.body[0];
      case 90:
        return this.body[1];
      case 91: {
        const code = this.body[0];
        if (code === 128) return 2;
        return 4 * (code === 12 || code === 13 ? 1 : valueWidth(code));
      }
      default:
        return 0;
    }
  }

  private complete(truncated: boolean): void {
    const body = this.body;
    const op = this.op;
    this.phase = 'idle';
    let command: PulsePalCommand;
    switch (op) {
      case 72:
      case 80:
      case 81:
      case 85:
      case 92:
        command = { op } as PulsePalCommand;
        break;
      case 73:
        command = { op, payload: body.slice(0, 178) };
        break;
      case 74:
        command = { op, code: body[0], channel: body[1], value: readValue(body, 2, valueWidth(body[0])) };
        break;
      case 75:
      case 76: {
        const announced = u32(body, 0);
        const n = announced > MAX_CUSTOM_PULSES ? 0 : announced;
        const onsetCycles: number[] = [];
        const voltageCodes: number[] = [];
        for (let k = 0; k < n; k++) onsetCycles.push(u32(body, 4 + 4 * k));
        for (let k = 0; k < n; k++) voltageCodes.push(u16(body, 4 + 4 * n + 2 * k));
        command = { op, onsetCycles, voltageCodes };
        break;
      }
      case 77:
        command = { op, mask: body[0] };
        break;
      case 78:
        command = { op, text: body.slice(1, 1 + body[0]) };
        break;
      case 79:
        command = { op, channel: body[0], code: u16(body, 1) };
        break;
      case 82:
        // The 2.0.1 firmware reads the state first, then the (0-based) channel.
        command = { op, state: body[0], channel: body[1] };
        break;
      case 86:
        command = { op, pin: body[0], level: body[1] };
        break;
      case 87:
        command = { op, pin: body[0] };
        break;
      case 89:
        command = { op, name: String.fromCharCode(...body.subarray(0, 6)) };
        break;
      case 90:
        command = { op, fileOp: body[0], fileName: String.fromCharCode(...body.subarray(2, 2 + body[1])) };
        break;
      case 91: {
        const code = body[0];
        const values: number[] = [];
        if (code === 128) values.push(body[1], body[2]);
        else {
          const width = code === 12 || code === 13 ? 1 : valueWidth(code);
          for (let k = 0; k < 4; k++) values.push(readValue(body, 1 + k * width, width));
        }
        command = { op, code, values };
        break;
      }
      case 94:
        command = { op, enable: body[0] };
        break;
      default:
        command = { op: 'unknown', code: op };
    }
    this.onCommand(command, truncated);
  }
}
