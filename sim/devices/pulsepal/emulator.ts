/**
 * An emulated Sanworks Pulse Pal 2 on the device end of a pty pair: it parses every op of
 * protocols.md §2.4 (op 73 with the 178-byte layout of §2.5 as the 2.0.1 firmware reads it),
 * ignores bytes that do not start with 213, keeps the parameters it was programmed with, replies
 * exactly where the firmware does (handshake 'K' + u32 version; 0x01 to ops 73, 74, 75, 76, 79,
 * 82, 91; the 178-byte program to op 85 / op 92 / a successful op 90 load), and publishes what it
 * was told on `events$`: triggers with the trains they start (onsets, widths, voltages), aborts,
 * programs — so the simulator can shine the light and a benchmark can time the trigger's arrival.
 *
 * Timing model: a soft trigger starts an output's train unless that output is still running one
 * (the firmware ignores it then); the train occupies delay + train duration. Time is the injected
 * timers' clock.
 */
import { Observable, Subject } from 'rxjs';
import { systemTimers, type TimerHandle, type Timers } from '../../../drivers/binding/timers.js';
import { ACK, CYCLE_HZ, HANDSHAKE_REPLY, OUTPUT_COUNT, PROGRAM_ALL_BYTES, type ChannelParams } from '../../../drivers/pulsepal/protocol.js';
import { EmulatorLink, type EmulatorLinkOptions, type LinkFaults } from '../emulator-link.js';
import { CommandDecoder, type PulsePalCommand } from './command-decoder.js';

/** One output's parameters in device units (cycles and DAC codes): the driver's own type names them. */
export type EmulatedChannel = ChannelParams;

/** The trains an output plays for one trigger, in µs from the trigger's arrival. */
export interface TriggeredOutput {
  /** 0-based output. */
  readonly output: number;
  /** False when the output was still playing a train: the firmware ignores the trigger then. */
  readonly started: boolean;
  readonly params: EmulatedChannel;
  /** Pulse onsets, µs after the trigger; null for burst or custom trains (not modelled). */
  readonly pulseOnsetsUs: number[] | null;
  readonly pulseWidthUs: number;
  /** Phase-1 voltage, V. */
  readonly volts: number;
}

export type PulsePalEvent =
  | { readonly type: 'handshake'; readonly timeNs: number }
  | { readonly type: 'client-name'; readonly name: string; readonly timeNs: number }
  | { readonly type: 'program-all'; readonly channels: EmulatedChannel[]; readonly triggerLinks: number[][]; readonly triggerModes: number[]; readonly timeNs: number }
  | { readonly type: 'program-param'; readonly code: number; readonly channel: number; readonly value: number; readonly timeNs: number }
  | { readonly type: 'program-param-all'; readonly code: number; readonly values: number[]; readonly timeNs: number }
  | { readonly type: 'trigger'; readonly mask: number; readonly outputs: TriggeredOutput[]; readonly timeNs: number }
  | { readonly type: 'abort'; readonly timeNs: number }
  | { readonly type: 'disconnect'; readonly timeNs: number }
  | { readonly type: 'custom-train'; readonly train: 1 | 2; readonly onsetCycles: number[]; readonly voltageCodes: number[]; readonly timeNs: number }
  | { readonly type: 'fixed-voltage'; readonly channel: number; readonly code: number; readonly timeNs: number }
  | { readonly type: 'continuous-loop'; readonly channel: number; readonly state: number; readonly timeNs: number }
  | { readonly type: 'lcd'; readonly text: string; readonly timeNs: number }
  | { readonly type: 'other'; readonly command: PulsePalCommand; readonly timeNs: number }
  | { readonly type: 'truncated'; readonly op: number | 'unknown'; readonly timeNs: number };

export interface PulsePalEmulatorOptions {
  /** Device end of the pty pair. */
  readonly path: string;
  /** Reported by the handshake; < 20 plays a Pulse Pal 1 for refusal tests. Default 21. */
  readonly firmwareVersion?: number;
  readonly faults?: Partial<LinkFaults>;
  readonly seed?: number;
  readonly timers?: Timers;
  /** The firmware's per-byte read timeout (default 500 ms). */
  readonly byteTimeoutMs?: number;
  /** How to open `path` (EmulatorLink's option): e.g. an inherited pty's device end (direct-pty.ts). */
  readonly openPort?: EmulatorLinkOptions['openPort'];
}

const CYCLE_US = 1e6 / CYCLE_HZ;

export function volts(code: number): number {
  return (code / 65535) * 20 - 10;
}

/** Factory defaults of a v2 with no valid SD program (protocols.md §2.6). */
export function factoryChannel(): EmulatedChannel {
  return {
    isBiphasic: 0,
    phase1Voltage: 49152,
    phase2Voltage: 16384,
    restingVoltage: 32768,
    phase1Duration: 2,
    interPhaseInterval: 2,
    phase2Duration: 2,
    interPulseInterval: 20,
    burstDuration: 0,
    interBurstInterval: 0,
    pulseTrainDuration: 20000,
    pulseTrainDelay: 0,
    customTrainId: 0,
    customTrainTarget: 0,
    customTrainLoop: 0,
  };
}

/**
 * The op 73 program block as the 2.0.1 firmware reads it (protocols.md §2.5): each parameter for
 * outputs 1–4 in turn, u32 times, then u16 voltages, then u8 flags, then links and modes. Written
 * here from the spec, not taken from the driver's encoder: decoding op 73 with its own table is
 * what lets a test of the driver against this emulator check the driver's byte order.
 */
const PROGRAM_TIMES = ['phase1Duration', 'interPhaseInterval', 'phase2Duration', 'interPulseInterval', 'burstDuration', 'interBurstInterval', 'pulseTrainDuration', 'pulseTrainDelay'] as const;
const PROGRAM_VOLTAGES = ['phase1Voltage', 'phase2Voltage', 'restingVoltage'] as const;
const PROGRAM_FLAGS = ['isBiphasic', 'customTrainId', 'customTrainTarget', 'customTrainLoop'] as const;

/** Op 74 / 91 code → field (codes 12, 13 and 128 address links and modes instead). */
const FIELD_OF_CODE: Readonly<Record<number, keyof EmulatedChannel>> = {
  1: 'isBiphasic',
  2: 'phase1Voltage',
  3: 'phase2Voltage',
  4: 'phase1Duration',
  5: 'interPhaseInterval',
  6: 'phase2Duration',
  7: 'interPulseInterval',
  8: 'burstDuration',
  9: 'interBurstInterval',
  10: 'pulseTrainDuration',
  11: 'pulseTrainDelay',
  14: 'customTrainId',
  15: 'customTrainTarget',
  16: 'customTrainLoop',
  17: 'restingVoltage',
};

/** Pulse onsets (µs after the trigger) of a plain train, as the firmware's cycle loop plays it. */
export function pulseOnsetsUs(channel: EmulatedChannel, maxPulses = 100_000): number[] | null {
  if (channel.customTrainId !== 0 || (channel.burstDuration !== 0 && channel.interBurstInterval !== 0)) return null;
  const pulseCycles = channel.isBiphasic ? channel.phase1Duration + channel.interPhaseInterval + channel.phase2Duration : channel.phase1Duration;
  const periodCycles = pulseCycles + channel.interPulseInterval;
  const onsets: number[] = [];
  if (periodCycles === 0) return onsets;
  // A pulse due exactly when the train ends is killed on the same cycle: strictly before the end.
  for (let t = 0; t < channel.pulseTrainDuration && onsets.length < maxPulses; t += periodCycles) {
    onsets.push((channel.pulseTrainDelay + t) * CYCLE_US);
  }
  return onsets;
}

export class PulsePalEmulator {
  readonly link: EmulatorLink;
  readonly events$: Observable<PulsePalEvent>;
  readonly channels: EmulatedChannel[] = Array.from({ length: OUTPUT_COUNT }, factoryChannel);
  /** triggerLinks[input][output]. */
  readonly triggerLinks: number[][] = [
    [1, 1, 1, 1],
    [0, 0, 0, 0],
  ];
  readonly triggerModes: number[] = [0, 0];
  clientName = '';
  connectedToApp = false;
  /** Commands executed, by op. */
  readonly commandCounts = new Map<number | 'unknown', number>();

  private readonly events = new Subject<PulsePalEvent>();
  private readonly decoder: CommandDecoder;
  private readonly timers: Timers;
  private readonly firmwareVersion: number;
  private readonly byteTimeoutMs: number;
  private byteTimer: TimerHandle | null = null;
  private receiveTimeNs = 0;
  /** Per output: timers-clock time (ns) until which its current train runs. */
  private readonly busyUntilNs = [0, 0, 0, 0];

  constructor(options: PulsePalEmulatorOptions) {
    this.timers = options.timers ?? systemTimers;
    this.firmwareVersion = options.firmwareVersion ?? 21;
    this.byteTimeoutMs = options.byteTimeoutMs ?? 500;
    this.events$ = this.events.asObservable();
    this.decoder = new CommandDecoder((command, truncated) => this.execute(command, truncated));
    this.link = new EmulatorLink({
      path: options.path,
      faults: options.faults,
      seed: options.seed,
      timers: this.timers,
      openPort: options.openPort,
      // A garbage 'K' or 0x01 could pass for a real reply; keep the noise unambiguous.
      garbageExcludes: [ACK, HANDSHAKE_REPLY],
      onBytes: (bytes, offset, length, timeNs) => this.receive(bytes, offset, length, timeNs),
    });
  }

  /** Bytes ignored for not following 213. */
  get ignoredBytes(): number {
    return this.decoder.ignoredBytes;
  }

  async start(): Promise<void> {
    await this.link.attach();
  }

  async close(): Promise<void> {
    if (this.byteTimer) this.timers.clearTimeout(this.byteTimer);
    this.byteTimer = null;
    await this.link.close();
    this.events.complete();
  }

  private receive(bytes: Uint8Array, offset: number, length: number, timeNs: number): void {
    this.receiveTimeNs = timeNs;
    this.decoder.feed(bytes, offset, length);
    if (this.byteTimer) {
      this.timers.clearTimeout(this.byteTimer);
      this.byteTimer = null;
    }
    if (this.decoder.inCommand) {
      this.byteTimer = this.timers.setTimeout(() => {
        this.byteTimer = null;
        this.receiveTimeNs = this.timers.clock.nowNs();
        this.decoder.timeout();
      }, this.byteTimeoutMs);
    }
  }

  private emit(event: PulsePalEvent): void {
    this.events.next(event);
  }

  private reply(...bytes: number[]): void {
    this.link.send(Uint8Array.from(bytes));
  }

  private execute(command: PulsePalCommand, truncated: boolean): void {
    const timeNs = this.receiveTimeNs;
    this.commandCounts.set(command.op, (this.commandCounts.get(command.op) ?? 0) + 1);
    if (truncated) this.emit({ type: 'truncated', op: command.op, timeNs });
    switch (command.op) {
      case 72: {
        const v = this.firmwareVersion;
        this.reply(HANDSHAKE_REPLY, v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
        this.connectedToApp = true;
        this.emit({ type: 'handshake', timeNs });
        break;
      }
      case 73:
        this.programAll(command.payload);
        this.reply(ACK);
        this.emit({
          type: 'program-all',
          channels: this.channels.map((c) => ({ ...c })),
          triggerLinks: this.triggerLinks.map((r) => [...r]),
          triggerModes: [...this.triggerModes],
          timeNs,
        });
        break;
      case 74:
        this.programParam(command.code, command.channel - 1, command.value);
        this.reply(ACK);
        this.emit({ type: 'program-param', code: command.code, channel: command.channel, value: command.value, timeNs });
        break;
      case 75:
      case 76:
        this.reply(ACK);
        this.emit({ type: 'custom-train', train: command.op === 75 ? 1 : 2, onsetCycles: command.onsetCycles, voltageCodes: command.voltageCodes, timeNs });
        break;
      case 77:
        this.trigger(command.mask, timeNs);
        break;
      case 78:
        this.emit({ type: 'lcd', text: String.fromCharCode(...command.text).replace(/\xfe/g, '\n'), timeNs });
        break;
      case 79:
        this.reply(ACK);
        this.emit({ type: 'fixed-voltage', channel: command.channel, code: command.code, timeNs });
        break;
      case 80:
        this.busyUntilNs.fill(0);
        this.emit({ type: 'abort', timeNs });
        break;
      case 81:
        this.busyUntilNs.fill(0);
        this.connectedToApp = false;
        this.clientName = '';
        this.emit({ type: 'disconnect', timeNs });
        break;
      case 82:
        this.reply(ACK);
        this.emit({ type: 'continuous-loop', channel: command.channel, state: command.state, timeNs });
        break;
      case 85:
      case 92:
        this.link.send(this.encodeProgram());
        this.emit({ type: 'other', command, timeNs });
        break;
      case 87:
        this.reply(0);
        this.emit({ type: 'other', command, timeNs });
        break;
      case 89:
        this.clientName = command.name;
        this.emit({ type: 'client-name', name: command.name, timeNs });
        break;
      case 90:
        // No SD card here: a load fails (the firmware then sends nothing); save and delete are silent.
        this.emit({ type: 'other', command, timeNs });
        break;
      case 91:
        this.programParamAll(command.code, command.values);
        this.reply(ACK);
        this.emit({ type: 'program-param-all', code: command.code, values: command.values, timeNs });
        break;
      default:
        // 86 (drive a pin), 94 (screen saver) and unknown ops: no reply, as in the firmware.
        this.emit({ type: 'other', command, timeNs });
    }
  }

  private programAll(payload: Uint8Array): void {
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    let p = 0;
    for (const key of PROGRAM_TIMES) {
      for (let ch = 0; ch < 4; ch++, p += 4) this.channels[ch][key] = view.getUint32(p, true);
    }
    for (const key of PROGRAM_VOLTAGES) {
      for (let ch = 0; ch < 4; ch++, p += 2) this.channels[ch][key] = view.getUint16(p, true);
    }
    for (const key of PROGRAM_FLAGS) {
      for (let ch = 0; ch < 4; ch++) this.channels[ch][key] = payload[p++];
    }
    for (let input = 0; input < 2; input++) for (let output = 0; output < 4; output++) this.triggerLinks[input][output] = payload[p++];
    this.triggerModes[0] = payload[p++];
    this.triggerModes[1] = payload[p++];
  }

  private programParam(code: number, index: number, value: number): void {
    if (code === 128) {
      if (index >= 0 && index < 2) this.triggerModes[index] = value;
      return;
    }
    if (index < 0 || index > 3) return; // the firmware would write out of bounds; ignore
    if (code === 12 || code === 13) {
      this.triggerLinks[code - 12][index] = value;
      return;
    }
    const field = FIELD_OF_CODE[code];
    if (field) this.channels[index][field] = value;
  }

  private programParamAll(code: number, values: number[]): void {
    if (code === 128) {
      this.triggerModes[0] = values[0];
      this.triggerModes[1] = values[1];
      return;
    }
    for (let ch = 0; ch < 4; ch++) this.programParam(code, ch, values[ch]);
  }

  private trigger(mask: number, timeNs: number): void {
    const outputs: TriggeredOutput[] = [];
    for (let output = 0; output < 4; output++) {
      if (!(mask & (1 << output))) continue;
      const params = { ...this.channels[output] };
      const started = timeNs >= this.busyUntilNs[output];
      if (started) this.busyUntilNs[output] = timeNs + (params.pulseTrainDelay + params.pulseTrainDuration) * CYCLE_US * 1000;
      outputs.push({
        output,
        started,
        params,
        pulseOnsetsUs: pulseOnsetsUs(params),
        pulseWidthUs: params.phase1Duration * CYCLE_US,
        volts: volts(params.phase1Voltage),
      });
    }
    this.emit({ type: 'trigger', mask, outputs, timeNs });
  }

  /** The 178-byte program block (op 73 layout). */
  private encodeProgram(): Uint8Array {
    const out = new Uint8Array(PROGRAM_ALL_BYTES);
    const view = new DataView(out.buffer);
    let p = 0;
    for (const key of PROGRAM_TIMES) {
      for (let ch = 0; ch < 4; ch++, p += 4) view.setUint32(p, this.channels[ch][key], true);
    }
    for (const key of PROGRAM_VOLTAGES) {
      for (let ch = 0; ch < 4; ch++, p += 2) view.setUint16(p, this.channels[ch][key], true);
    }
    for (const key of PROGRAM_FLAGS) {
      for (let ch = 0; ch < 4; ch++) out[p++] = this.channels[ch][key];
    }
    for (let input = 0; input < 2; input++) for (let output = 0; output < 4; output++) out[p++] = this.triggerLinks[input][output];
    out[p++] = this.triggerModes[0];
    out[p++] = this.triggerModes[1];
    return out;
  }
}
