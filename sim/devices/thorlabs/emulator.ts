/**
 * An emulated Thorlabs DC4104 on the device end of a pty pair: the ASCII command set of
 * protocols.md §9.1 as a state machine (name, serial, firmware, selection mode, operating mode,
 * per-channel on/off, constant current, brightness, limits, LED head data, the `r?` status word),
 * a last-error register read and cleared by `e?`, and status bits a test can set (VCC failure,
 * over-temperature, LED missing or open; "at limit" follows from a current set above the limit).
 *
 * The `e?` reply reads `ERROR <code>: <description>` — the real wording is not documented (only a
 * parser of it is), and the codes below are this emulator's own: 0 no error, 1 unknown command,
 * 2 parameter out of range, 3 channel not available, 4 not in multi-selection mode.
 *
 * Output changes are published on `events$` with their time, so the simulator can shine the LED
 * and tests can check the host-timed pulses.
 */
import { Observable, Subject } from 'rxjs';
import { systemTimers, type Timers } from '../../../drivers/binding/timers.js';
import { EmulatorLink, type LinkFaults } from '../emulator-link.js';

export interface EmulatedLed {
  on: boolean;
  constantCurrentMa: number;
  brightnessPercent: number;
  limitMa: number;
  readonly maxLimitMa: number;
  readonly wavelengthNm: number;
  readonly forwardBiasV: number;
  readonly headSerial: string;
  present: boolean;
  open: boolean;
}

export type ThorlabsEvent =
  | { readonly type: 'command'; readonly line: string; readonly timeNs: number }
  | {
      readonly type: 'output';
      /** 0-based channel. */
      readonly channel: number;
      readonly on: boolean;
      /** What flows when on: the set current (mode 0, clipped at the limit), or brightness × limit (mode 1). */
      readonly currentMa: number;
      readonly timeNs: number;
    };

export interface ThorlabsEmulatorOptions {
  readonly path: string;
  readonly model?: 'DC4100' | 'DC4104' | 'LEDD4';
  readonly timers?: Timers;
  readonly faults?: Partial<LinkFaults>;
  readonly seed?: number;
}

export const EMULATOR_ERRORS = {
  none: [0, 'No error'],
  unknown: [1, 'Unknown command'],
  range: [2, 'Parameter out of range'],
  channel: [3, 'Channel not available'],
  selection: [4, 'Not in multi selection mode'],
} as const;

type ErrorKey = keyof typeof EMULATOR_ERRORS;

export class ThorlabsEmulator {
  readonly link: EmulatorLink;
  readonly events$: Observable<ThorlabsEvent>;
  readonly leds: EmulatedLed[];
  /** What `n?` answers (a test may set another device's name). */
  model: string;
  serialNumber = 'M00412345';
  firmware = '1.0.7';
  selectionMode = 1;
  /** 0 constant current, 1 brightness, 2 external control. */
  mode = 0;
  vccFail = false;
  overTemperature = false;

  private readonly events = new Subject<ThorlabsEvent>();
  private readonly timers: Timers;
  private readonly line: number[] = [];
  private lastError: ErrorKey = 'none';
  private receiveTimeNs = 0;

  constructor(options: ThorlabsEmulatorOptions) {
    this.model = options.model ?? 'DC4104';
    this.timers = options.timers ?? systemTimers;
    this.events$ = this.events.asObservable();
    this.leds = [455, 470, 530, 590].map((wavelengthNm, i) => ({
      on: false,
      constantCurrentMa: 0,
      brightnessPercent: 0,
      limitMa: 1000,
      maxLimitMa: 1000,
      wavelengthNm,
      forwardBiasV: 3.1,
      headSerial: `H0000${i + 1}`,
      present: true,
      open: false,
    }));
    this.link = new EmulatorLink({
      path: options.path,
      faults: options.faults,
      seed: options.seed,
      timers: this.timers,
      // Noise stays out of printable ASCII and line ends, so that it never forges a reply.
      garbageExcludes: Array.from({ length: 0x5f }, (_, i) => i + 0x20).concat([0x0a, 0x0d]),
      onBytes: (bytes, offset, length, timeNs) => this.receive(bytes, offset, length, timeNs),
    });
  }

  async start(): Promise<void> {
    await this.link.attach();
  }

  async close(): Promise<void> {
    await this.link.close();
    this.events.complete();
  }

  /** The `r?` status word. */
  statusWord(): number {
    let word = 0;
    if (this.vccFail) word |= 0x2;
    if (this.overTemperature) word |= 0x8;
    this.leds.forEach((led, i) => {
      if (!led.present) word |= 0x20 << (2 * i);
      else if (led.open) word |= 0x2000 << (2 * i);
      if (led.on && this.mode === 0 && led.constantCurrentMa > led.limitMa) word |= 0x200000 << (2 * i);
    });
    return word;
  }

  private receive(bytes: Uint8Array, offset: number, length: number, timeNs: number): void {
    this.receiveTimeNs = timeNs;
    for (let i = offset; i < offset + length; i++) {
      const b = bytes[i];
      if (b === 0x0a) {
        const text = String.fromCharCode(...this.line).replace(/\r$/, '');
        this.line.length = 0;
        if (text.length > 0) this.execute(text.trim());
      } else if (this.line.length < 256) this.line.push(b);
    }
  }

  private reply(text: string): void {
    this.link.send(new TextEncoder().encode(`${text}\r\n`));
  }

  private fail(key: ErrorKey): void {
    this.lastError = key;
  }

  private channels(arg: string | undefined): number[] | null {
    const ch = Number(arg);
    if (!Number.isInteger(ch) || ch < -1 || ch > 3) {
      this.fail('channel');
      return null;
    }
    if (ch === -1) {
      if (this.selectionMode !== 0) {
        this.fail('selection');
        return null;
      }
      return [0, 1, 2, 3];
    }
    return [ch];
  }

  private number(arg: string | undefined, min: number, max: number): number | null {
    const v = Number(arg);
    if (arg === undefined || !Number.isFinite(v) || v < min || v > max) {
      this.fail('range');
      return null;
    }
    return v;
  }

  private setOutput(channel: number, on: boolean): void {
    const led = this.leds[channel];
    if (led.on === on) return;
    led.on = on;
    const currentMa = this.mode === 1 ? (led.brightnessPercent / 100) * led.limitMa : Math.min(led.constantCurrentMa, led.limitMa);
    this.events.next({ type: 'output', channel, on, currentMa: on && led.present && !led.open && !this.overTemperature ? currentMa : 0, timeNs: this.receiveTimeNs });
  }

  private execute(text: string): void {
    this.events.next({ type: 'command', line: text, timeNs: this.receiveTimeNs });
    const [cmd, a, b] = text.split(/\s+/);
    switch (cmd) {
      case 'e?': {
        const [code, description] = EMULATOR_ERRORS[this.lastError];
        this.reply(`ERROR ${code}: ${description}`);
        this.lastError = 'none';
        return;
      }
      case 'n?':
        this.reply(`Thorlabs ${this.model}`);
        return;
      case 's?':
        this.reply(this.serialNumber);
        return;
      case 'v?':
        this.reply(this.firmware);
        return;
      case 'sm?':
        this.reply(String(this.selectionMode));
        return;
      case 'sm': {
        const v = this.number(a, 0, 1);
        if (v !== null) this.selectionMode = v;
        return;
      }
      case 'm?':
        this.reply(String(this.mode));
        return;
      case 'm': {
        const v = this.number(a, 0, 2);
        if (v !== null) {
          for (let c = 0; c < 4; c++) this.setOutput(c, false); // a mode change switches the LEDs off
          this.mode = v;
        }
        return;
      }
      case 'r?':
        this.reply(String(this.statusWord()));
        return;
      case 'o': {
        const chs = this.channels(a);
        const v = this.number(b, 0, 1);
        if (chs && v !== null) for (const c of chs) this.setOutput(c, v === 1);
        return;
      }
      case 'cc':
      case 'bp':
      case 'l': {
        const chs = this.channels(a);
        if (!chs) return;
        // A current above the limit is accepted (the output then runs at its limit, status "at limit").
        const max = cmd === 'bp' ? 100 : Math.min(...chs.map((c) => this.leds[c].maxLimitMa));
        const v = this.number(b, 0, max);
        if (v === null) return;
        for (const c of chs) {
          if (cmd === 'cc') this.leds[c].constantCurrentMa = v;
          else if (cmd === 'bp') this.leds[c].brightnessPercent = v;
          else this.leds[c].limitMa = v;
        }
        return;
      }
      case 'o?':
      case 'cc?':
      case 'bp?':
      case 'l?':
      case 'ml?':
      case 'wl?':
      case 'fb?':
      case 'hs?': {
        const ch = Number(a);
        if (!Number.isInteger(ch) || ch < 0 || ch > 3) {
          this.fail('channel');
          this.reply('0');
          return;
        }
        const led = this.leds[ch];
        const value = {
          'o?': led.on ? 1 : 0,
          'cc?': led.constantCurrentMa,
          'bp?': led.brightnessPercent,
          'l?': led.limitMa,
          'ml?': led.maxLimitMa,
          'wl?': led.wavelengthNm,
          'fb?': led.forwardBiasV,
          'hs?': led.headSerial,
        }[cmd];
        this.reply(String(value));
        return;
      }
      default:
        this.fail('unknown');
    }
  }
}
