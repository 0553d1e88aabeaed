/**
 * An emulated OpenBCI Cyton behind its USB dongle, on the device end of a pty pair
 * (protocols.md §3; replies worded as the Cyton library prints them):
 *
 *  - text commands: `v` soft reset (banner ending `$$$`, listing the daisy when one is fitted),
 *    `d`/`D` defaults, `c`/`C` 8/16 channels, `x C P G I B S2 S1 X` channel settings (gain tracked:
 *    the ADC counts of a µV input depend on it), `1`–`8`/`q`…`i` off and `!`…`*`/`Q`…`I` on, test
 *    signals, `z…Z` lead-off, `<`/`>` time-stamping, `~` sample rate, `/` board mode, `V`, `?`.
 *    Replies are printed only while not streaming, as the firmware does;
 *  - `b`/`s`: 33-byte packets paced by the (injected) clock at the sample rate, batched per tick;
 *    8-bit sample numbers restart at 0 on `b`; with the daisy, odd packets carry the board's and
 *    even packets the daisy's average of the current and previous ADS sample (integer division,
 *    the first packet invalid), as the firmware sends them over the dongle;
 *  - a board switched off: every command gets the dongle's `Failure: …$$$`.
 *
 * Samples come from a CytonSignal (µV per channel, seeded by default), turned into 24-bit counts
 * with each channel's current gain. Every packet generated — sent or dropped on purpose — is
 * published on `events$` with the counts it carries, so a test compares the host's blocks against
 * exactly what went on the wire. Faults: `dropPackets(n)` (the counter advances, the packets are
 * not sent: a radio loss), and the EmulatorLink's fragmentation, garbage, stalls, mute.
 */
import { Observable, Subject } from 'rxjs';
import { systemTimers, type TimerHandle, type Timers } from '../../../drivers/binding/timers.js';
import { EmulatorLink, type LinkFaults } from '../emulator-link.js';
import { SeededCytonSignal, type CytonSignal } from './signal.js';

const CHANNEL_CHARS = '12345678QWERTYUI';
const OFF_CHARS = '12345678qwertyui';
const ON_CHARS = '!@#$%^&*QWERTYUI';
const GAIN_OF_CODE = [1, 2, 4, 6, 8, 12, 24];
const RATE_OF_CODE = [16000, 8000, 4000, 2000, 1000, 500, 250];
const BOARD_MODES = ['default', 'debug', 'analog', 'digital', 'marker'];
const INPUT_NORMAL = 0;
const INPUT_SHORTED = 1;

export interface EmulatedCytonChannel {
  powerDown: boolean;
  /** Gain code 0–6 (×1 … ×24). */
  gainCode: number;
  input: number;
  bias: boolean;
  srb2: boolean;
  srb1: boolean;
}

function defaultChannel(): EmulatedCytonChannel {
  return { powerDown: false, gainCode: 6, input: INPUT_NORMAL, bias: true, srb2: true, srb1: false };
}

export type CytonEvent =
  | { readonly type: 'command'; readonly command: string; readonly timeNs: number }
  | { readonly type: 'stream-start'; readonly timeNs: number }
  | { readonly type: 'stream-stop'; readonly timeNs: number }
  | {
      readonly type: 'packet';
      /** Packets generated since `b` (the unwrapped sample number). */
      readonly packetIndex: number;
      readonly sampleNumber: number;
      /** The eight counts in the packet, as sent. */
      readonly counts: Int32Array;
      readonly stopByte: number;
      /** Board ms clock in the packet (stop bytes 0xC3/0xC4), else null. */
      readonly boardMs: number | null;
      /** Generated but not sent (`dropPackets`, mute or detach). */
      readonly dropped: boolean;
    };

export interface CytonEmulatorOptions {
  /** Device end of the pty pair. */
  readonly path: string;
  /** The electrode signal; default a SeededCytonSignal with `seed`. */
  readonly signal?: CytonSignal;
  readonly seed?: number;
  /** A daisy module is fitted (16 channels possible). */
  readonly daisyFitted?: boolean;
  /** False plays a dongle whose board is off: every command gets `Failure`. */
  readonly boardPowered?: boolean;
  readonly timers?: Timers;
  /** Packet generation tick (default 4 ms: one packet per tick at 250 Hz). */
  readonly tickMs?: number;
  /** Pace multiplier against the clock (2 = twice as fast). */
  readonly speed?: number;
  readonly faults?: Partial<LinkFaults>;
  readonly firmware?: string;
}

export class CytonEmulator {
  readonly link: EmulatorLink;
  readonly events$: Observable<CytonEvent>;
  readonly channels: EmulatedCytonChannel[] = Array.from({ length: 16 }, defaultChannel);
  daisyFitted: boolean;
  daisyActive: boolean;
  boardPowered: boolean;
  streaming = false;
  timestamping = false;
  sampleRateHz = 250;
  boardMode = 0;
  /** Packets generated since the last `b`. */
  packetsGenerated = 0;

  private readonly events = new Subject<CytonEvent>();
  private readonly timers: Timers;
  private readonly signal: CytonSignal;
  private readonly tickMs: number;
  private readonly speed: number;
  private readonly firmware: string;
  private readonly bootNs: number;
  private receiveTimeNs = 0;
  private multi: { kind: string; bytes: number[]; need: number } | null = null;
  private streamStartNs = 0;
  private tickTimer: TimerHandle | null = null;
  private toDrop = 0;
  private firstAfterTimestampOn = false;
  private readonly uv = new Float64Array(16);
  private readonly current = new Int32Array(16);
  private readonly last = new Int32Array(16);
  private readonly mean = new Int32Array(16);

  constructor(options: CytonEmulatorOptions) {
    this.timers = options.timers ?? systemTimers;
    this.signal = options.signal ?? new SeededCytonSignal(options.seed ?? 1);
    this.daisyFitted = options.daisyFitted ?? false;
    this.daisyActive = this.daisyFitted;
    this.boardPowered = options.boardPowered ?? true;
    this.tickMs = options.tickMs ?? 4;
    this.speed = options.speed ?? 1;
    this.firmware = options.firmware ?? 'v3.1.2';
    this.bootNs = this.timers.clock.nowNs();
    this.events$ = this.events.asObservable();
    this.link = new EmulatorLink({
      path: options.path,
      faults: options.faults,
      seed: options.seed,
      timers: this.timers,
      // Garbage never contains a header or a stop byte, so that it tests resynchronisation and
      // cannot forge a packet by chance.
      garbageExcludes: [0xa0, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0x24],
      onBytes: (bytes, offset, length, timeNs) => this.receive(bytes, offset, length, timeNs),
    });
  }

  async start(): Promise<void> {
    await this.link.attach();
  }

  async close(): Promise<void> {
    this.stopStreaming();
    await this.link.close();
    this.events.complete();
  }

  /** The next `count` packets are generated (the counter advances) but not sent: a radio loss. */
  dropPackets(count: number): void {
    this.toDrop += count;
  }

  /** µV per count of a channel at its current gain. */
  uvPerCount(channel: number): number {
    return (4.5 / GAIN_OF_CODE[this.channels[channel].gainCode] / (2 ** 23 - 1)) * 1e6;
  }

  // ---------------------------------------------------------------------------------------------

  private receive(bytes: Uint8Array, offset: number, length: number, timeNs: number): void {
    this.receiveTimeNs = timeNs;
    for (let i = offset; i < offset + length; i++) this.byte(bytes[i]);
  }

  private text(reply: string): void {
    if (!this.streaming) this.link.send(new TextEncoder().encode(reply + '$$$'));
  }

  private byte(b: number): void {
    const ch = String.fromCharCode(b);
    if (this.multi) {
      this.multi.bytes.push(b);
      if (this.multi.kind === 'x' && ch === 'X' && this.multi.bytes.length < this.multi.need) {
        this.finishMulti(); // a latch too early: the firmware fails it at once
        return;
      }
      if (this.multi.bytes.length === this.multi.need) this.finishMulti();
      return;
    }
    if (!this.boardPowered) {
      // The dongle answers for a board it cannot reach.
      this.link.send(new TextEncoder().encode('Failure: Communications timeout - Device failed to poll Host$$$'));
      return;
    }
    const need: Record<string, number> = { x: 8, z: 4, '~': 1, '/': 1, '`': 1 };
    if (b === 0xf0) {
      this.multi = { kind: 'radio', bytes: [], need: 1 };
      return;
    }
    if (need[ch] !== undefined) {
      this.multi = { kind: ch, bytes: [], need: need[ch] };
      return;
    }
    this.single(ch);
  }

  private command(command: string): void {
    this.events.next({ type: 'command', command, timeNs: this.receiveTimeNs });
  }

  private single(ch: string): void {
    const off = OFF_CHARS.indexOf(ch);
    const on = ON_CHARS.indexOf(ch);
    if (off >= 0 && !(off >= 8 && ch === ch.toUpperCase())) {
      this.channels[off].powerDown = true;
      this.command(ch);
      return;
    }
    if (on >= 0) {
      this.channels[on].powerDown = false;
      this.command(ch);
      return;
    }
    switch (ch) {
      case 'v':
        this.stopStreaming();
        this.reset();
        this.command(ch);
        this.text(
          'OpenBCI V3 8-16 channel\nOn Board ADS1299 Device ID: 0x3E\n' +
            (this.daisyActive ? 'On Daisy ADS1299 Device ID: 0x3E\n' : '') +
            `LIS3DH Device ID: 0x33\nFirmware: ${this.firmware}\n`,
        );
        return;
      case 'd':
        this.command(ch);
        this.text('updating channel settings to default');
        for (let c = 0; c < 16; c++) this.channels[c] = defaultChannel();
        return;
      case 'D':
        this.command(ch);
        this.text('060110');
        return;
      case 'c':
        this.command(ch);
        if (this.daisyActive) {
          this.daisyActive = false;
          this.text('daisy removed');
        } else this.text('no daisy to remove!');
        return;
      case 'C': {
        this.command(ch);
        let said = '';
        if (!this.daisyActive) {
          this.daisyActive = this.daisyFitted;
          said = this.daisyFitted ? 'daisy attached' : 'no daisy to attach!';
        }
        this.text(said + (this.daisyActive ? '16' : '8'));
        return;
      }
      case 'b':
        this.command(ch);
        this.startStreaming();
        return;
      case 's':
        this.command(ch);
        this.stopStreaming();
        return;
      case '<':
        this.command(ch);
        this.text('Time stamp ON');
        this.timestamping = true;
        this.firstAfterTimestampOn = true;
        return;
      case '>':
        this.command(ch);
        this.text('Time stamp OFF');
        this.timestamping = false;
        return;
      case 'V':
        this.command(ch);
        this.text(this.firmware);
        return;
      case '?':
        this.command(ch);
        this.text('Board ADS Registers\nADS_ID, 00, 3E\n(register dump abridged by the emulator)\n');
        return;
      case '0':
      case '-':
      case '=':
      case 'p':
      case '[':
      case ']':
        this.command(ch);
        for (const c of this.channels) c.input = ch === '0' ? INPUT_SHORTED : 5;
        this.text('Success: Configured internal test signal.');
        return;
      default:
        // Unknown characters are ignored by the firmware.
        return;
    }
  }

  private finishMulti(): void {
    const multi = this.multi as { kind: string; bytes: number[]; need: number };
    this.multi = null;
    const chars = String.fromCharCode(...multi.bytes);
    this.command((multi.kind === 'radio' ? '\xf0' : multi.kind) + chars);
    switch (multi.kind) {
      case 'x':
        this.channelSettings(chars);
        return;
      case 'z': {
        const channel = CHANNEL_CHARS.indexOf(chars[0]);
        if (chars.length !== 4 || chars[3] !== 'Z' || channel < 0) this.text('Failure: Err: too few chars');
        else this.text(`Success: Lead off set for ${channel + 1}`);
        return;
      }
      case '~': {
        if (chars === '~') {
          this.text(`Sample rate is ${this.sampleRateHz}Hz`);
          return;
        }
        const code = Number(chars);
        if (!(code >= 0 && code <= 6)) {
          this.text('Failure: invalid sample value');
          return;
        }
        this.sampleRateHz = RATE_OF_CODE[code];
        this.text(`Success: Sample rate is ${this.sampleRateHz}Hz`);
        return;
      }
      case '/': {
        if (chars === '/') {
          this.text(`Board mode is ${BOARD_MODES[this.boardMode]}`);
          return;
        }
        const mode = Number(chars);
        if (mode >= 0 && mode <= 4) {
          this.boardMode = mode;
          this.text(`Success: ${BOARD_MODES[mode]}`);
        } else this.text('Failure: unknown board mode');
        return;
      }
      default:
        // '`' markers and radio (0xF0) commands: nothing to print here.
        return;
    }
  }

  private channelSettings(chars: string): void {
    if (chars.length < 8) {
      this.text('Failure: too few chars');
      return;
    }
    if (chars[7] !== 'X') {
      this.text('Failure: Err: 9th char not X');
      return;
    }
    const channel = CHANNEL_CHARS.indexOf(chars[0]);
    const digits = chars.slice(1, 7).split('').map(Number);
    if (channel < 0 || (channel >= 8 && !this.daisyActive) || digits.some((d) => !Number.isInteger(d)) || digits[1] > 6 || digits[2] > 7) {
      this.text('Failure: Err: invalid channel settings');
      return;
    }
    this.channels[channel] = {
      powerDown: digits[0] === 1,
      gainCode: digits[1],
      input: digits[2],
      bias: digits[3] === 1,
      srb2: digits[4] === 1,
      srb1: digits[5] === 1,
    };
    this.text(`Success: Channel set for ${channel + 1}`);
  }

  private reset(): void {
    for (let c = 0; c < 16; c++) this.channels[c] = defaultChannel();
    this.daisyActive = this.daisyFitted;
    this.timestamping = false;
    this.sampleRateHz = 250;
    this.boardMode = 0;
  }

  private startStreaming(): void {
    if (this.streaming) return;
    this.streaming = true;
    this.packetsGenerated = 0;
    this.mean.fill(0);
    this.last.fill(0);
    this.streamStartNs = this.receiveTimeNs;
    this.events.next({ type: 'stream-start', timeNs: this.receiveTimeNs });
    this.tick();
  }

  private stopStreaming(): void {
    if (!this.streaming) return;
    this.streaming = false;
    if (this.tickTimer) this.timers.clearTimeout(this.tickTimer);
    this.tickTimer = null;
    this.events.next({ type: 'stream-stop', timeNs: this.receiveTimeNs });
  }

  private readonly tick = (): void => {
    this.tickTimer = null;
    if (!this.streaming) return;
    const elapsedNs = this.timers.clock.nowNs() - this.streamStartNs;
    const due = Math.floor((elapsedNs * this.sampleRateHz * this.speed) / 1e9) + 1;
    const count = due - this.packetsGenerated;
    if (count > 0) {
      const batch = new Uint8Array(count * 33);
      let sent = 0;
      for (let k = 0; k < count; k++) if (this.packet(batch, sent * 33)) sent++;
      if (sent > 0) this.link.send(batch.subarray(0, sent * 33));
    }
    this.tickTimer = this.timers.setTimeout(this.tick, this.tickMs);
  };

  /** Generates the next packet into `out` at `offset`; returns false when it is dropped instead. */
  private packet(out: Uint8Array, offset: number): boolean {
    const n = this.packetsGenerated++;
    this.signal.fill(n, this.uv);
    for (let c = 0; c < 16; c++) {
      const channel = this.channels[c];
      const scale = (4.5 / GAIN_OF_CODE[channel.gainCode] / (2 ** 23 - 1)) * 1e6;
      const counts = channel.powerDown || channel.input === INPUT_SHORTED ? 0 : Math.round(this.uv[c] / scale);
      this.last[c] = this.current[c];
      this.current[c] = Math.max(-0x800000, Math.min(0x7fffff, counts));
    }
    const counts = new Int32Array(8);
    if (this.daisyActive) {
      // The firmware averages the previous and current ADS samples (C integer division), except
      // on the first packet, which carries whatever the mean buffers held: zeros here.
      if (n > 0) for (let c = 0; c < 16; c++) this.mean[c] = Math.trunc((this.last[c] + this.current[c]) / 2);
      const base = n % 2 === 1 ? 0 : 8;
      for (let c = 0; c < 8; c++) counts[c] = this.mean[base + c];
    } else {
      for (let c = 0; c < 8; c++) counts[c] = this.current[c];
    }
    const sampleNumber = n & 0xff;
    let stopByte = 0xc0;
    let boardMs: number | null = null;
    const aux = new Uint8Array(6);
    if (this.timestamping) {
      stopByte = this.firstAfterTimestampOn ? 0xc3 : 0xc4;
      this.firstAfterTimestampOn = false;
      const packetNs = this.streamStartNs + (n * 1e9) / (this.sampleRateHz * this.speed);
      boardMs = Math.floor((packetNs - this.bootNs) / 1e6) >>> 0;
      aux[0] = 'XxYyZz'.charCodeAt(n % 6);
      aux[1] = 0;
      aux[2] = (boardMs >>> 24) & 0xff;
      aux[3] = (boardMs >>> 16) & 0xff;
      aux[4] = (boardMs >>> 8) & 0xff;
      aux[5] = boardMs & 0xff;
    } else if (n % 10 === 0) {
      // 25 Hz accelerometer: 1 g on Z (8000 × 0.002 / 16 g).
      aux[4] = 8000 >> 8;
      aux[5] = 8000 & 0xff;
    }
    const dropped = this.toDrop > 0 || !this.link.attached;
    if (this.toDrop > 0) this.toDrop--;
    this.events.next({ type: 'packet', packetIndex: n, sampleNumber, counts, stopByte, boardMs, dropped });
    if (dropped) return false;
    out[offset] = 0xa0;
    out[offset + 1] = sampleNumber;
    for (let c = 0; c < 8; c++) {
      const v = counts[c] & 0xffffff;
      out[offset + 2 + 3 * c] = v >>> 16;
      out[offset + 3 + 3 * c] = (v >>> 8) & 0xff;
      out[offset + 4 + 3 * c] = v & 0xff;
    }
    out.set(aux, offset + 26);
    out[offset + 32] = stopByte;
    return true;
  }
}
