/**
 * Pulse Pal 2 serial protocol (protocols.md §2; byte order checked against the 2.0.1 firmware's
 * op-code switch): every command is 213 (0xD5) + op code + payload, multi-byte fields little-endian,
 * times in 50 µs cycles, voltages as u16 DAC codes over −10…+10 V.
 */
import { OptoloopError } from '../../src/core/errors.js';

export const OP_MENU = 213;
export const OP_HANDSHAKE = 72;
export const OP_PROGRAM_ALL = 73;
export const OP_PROGRAM_PARAM = 74;
export const OP_TRIGGER = 77;
export const OP_ABORT = 80;
export const OP_DISCONNECT = 81;
export const OP_CLIENT_NAME = 89;

export const HANDSHAKE_REPLY = 0x4b; // 'K'
export const ACK = 0x01;
/** Pulse Pal 2 firmware versions start at 20 (v1 is 1–19). */
export const MIN_V2_FIRMWARE = 20;
export const CYCLE_HZ = 20_000;
export const OUTPUT_COUNT = 4;
export const PROGRAM_ALL_BYTES = 178;

/** Op 74 parameter codes (§2.6). */
export const PARAM = {
  isBiphasic: 1,
  phase1Voltage: 2,
  phase2Voltage: 3,
  phase1Duration: 4,
  interPhaseInterval: 5,
  phase2Duration: 6,
  interPulseInterval: 7,
  burstDuration: 8,
  interBurstInterval: 9,
  pulseTrainDuration: 10,
  pulseTrainDelay: 11,
  linkTriggerChannel1: 12,
  linkTriggerChannel2: 13,
  customTrainId: 14,
  customTrainTarget: 15,
  customTrainLoop: 16,
  restingVoltage: 17,
  triggerMode: 128,
} as const;

/** One output's parameters in device units (cycles and DAC codes). */
export interface ChannelParams {
  isBiphasic: number;
  phase1Voltage: number;
  phase2Voltage: number;
  restingVoltage: number;
  phase1Duration: number;
  interPhaseInterval: number;
  phase2Duration: number;
  interPulseInterval: number;
  burstDuration: number;
  interBurstInterval: number;
  pulseTrainDuration: number;
  pulseTrainDelay: number;
  customTrainId: number;
  customTrainTarget: number;
  customTrainLoop: number;
}

/** Everything op 73 sets: four outputs, the trigger-input links and modes. */
export interface DeviceProgram {
  readonly channels: ChannelParams[];
  /** triggerLinks[input][output] = 1 when trigger input (0, 1) starts that output. */
  readonly triggerLinks: number[][];
  /** Per trigger input: 0 normal, 1 toggle, 2 pulse-gated. */
  readonly triggerModes: number[];
}

/** u16 DAC code for a voltage: ceil(((V + 10) / 20) × 65535), §2.3. */
export function voltageCode(volts: number): number {
  if (!(volts >= -10 && volts <= 10)) {
    throw new OptoloopError('E_OPTIONS_INVALID', `Pulse Pal voltage must be within −10…+10 V, got ${volts} V`, { stage: 'drivers/pulsepal' });
  }
  return Math.min(65535, Math.ceil(((volts + 10) / 20) * 65535));
}

/** 50 µs cycles for a duration in ms, rounded to the nearest cycle. */
export function cyclesFromMs(ms: number): number {
  return Math.round((ms * CYCLE_HZ) / 1000);
}

export function encodeHandshake(): Uint8Array {
  return Uint8Array.of(OP_MENU, OP_HANDSHAKE);
}

/** Op 89: a 6-character client name shown on the Pulse Pal's screen (padded / cut to 6 ASCII bytes). */
export function encodeClientName(name: string): Uint8Array {
  const out = new Uint8Array(8);
  out[0] = OP_MENU;
  out[1] = OP_CLIENT_NAME;
  for (let i = 0; i < 6; i++) {
    const c = i < name.length ? name.charCodeAt(i) : 0x20;
    out[2 + i] = c >= 0x20 && c < 0x7f ? c : 0x3f;
  }
  return out;
}

export function encodeTrigger(outputMask: number): Uint8Array {
  return Uint8Array.of(OP_MENU, OP_TRIGGER, outputMask & 0x0f);
}

export function encodeAbort(): Uint8Array {
  return Uint8Array.of(OP_MENU, OP_ABORT);
}

/**
 * Op 73, the whole program. Layout per the firmware's reads: each parameter for the four outputs
 * in turn (parameter-major: Phase1Duration[1..4], then InterPhaseInterval[1..4], …), u32 times,
 * then u16 voltages, then u8 flags, then the 2 × 4 trigger links and the 2 trigger modes.
 */
export function encodeProgramAll(program: DeviceProgram): Uint8Array {
  const out = new Uint8Array(2 + PROGRAM_ALL_BYTES);
  const view = new DataView(out.buffer);
  out[0] = OP_MENU;
  out[1] = OP_PROGRAM_ALL;
  let p = 2;
  const times: Array<keyof ChannelParams> = [
    'phase1Duration',
    'interPhaseInterval',
    'phase2Duration',
    'interPulseInterval',
    'burstDuration',
    'interBurstInterval',
    'pulseTrainDuration',
    'pulseTrainDelay',
  ];
  for (const key of times) {
    for (const ch of program.channels) {
      view.setUint32(p, ch[key], true);
      p += 4;
    }
  }
  for (const key of ['phase1Voltage', 'phase2Voltage', 'restingVoltage'] as const) {
    for (const ch of program.channels) {
      view.setUint16(p, ch[key], true);
      p += 2;
    }
  }
  for (const key of ['isBiphasic', 'customTrainId', 'customTrainTarget', 'customTrainLoop'] as const) {
    for (const ch of program.channels) out[p++] = ch[key];
  }
  for (let input = 0; input < 2; input++) for (let output = 0; output < OUTPUT_COUNT; output++) out[p++] = program.triggerLinks[input][output] ? 1 : 0;
  out[p++] = program.triggerModes[0];
  out[p++] = program.triggerModes[1];
  return out;
}

/** Width in bytes of an op 74 value for a parameter code (v2). */
export function paramValueBytes(code: number): 1 | 2 | 4 {
  if (code === PARAM.phase1Voltage || code === PARAM.phase2Voltage || code === PARAM.restingVoltage) return 2;
  if (code >= PARAM.phase1Duration && code <= PARAM.pulseTrainDelay) return 4;
  return 1;
}

/** Op 74: one parameter of one output (channel 1–4; trigger input 1–2 for code 128). */
export function encodeProgramParam(code: number, channel: number, value: number): Uint8Array {
  const width = paramValueBytes(code);
  const out = new Uint8Array(4 + width);
  const view = new DataView(out.buffer);
  out[0] = OP_MENU;
  out[1] = OP_PROGRAM_PARAM;
  out[2] = code;
  out[3] = channel;
  if (width === 4) view.setUint32(4, value, true);
  else if (width === 2) view.setUint16(4, value, true);
  else out[4] = value;
  return out;
}

/** The op 74 code for each ChannelParams field. */
export const PARAM_CODE_OF: Readonly<Record<keyof ChannelParams, number>> = {
  isBiphasic: PARAM.isBiphasic,
  phase1Voltage: PARAM.phase1Voltage,
  phase2Voltage: PARAM.phase2Voltage,
  restingVoltage: PARAM.restingVoltage,
  phase1Duration: PARAM.phase1Duration,
  interPhaseInterval: PARAM.interPhaseInterval,
  phase2Duration: PARAM.phase2Duration,
  interPulseInterval: PARAM.interPulseInterval,
  burstDuration: PARAM.burstDuration,
  interBurstInterval: PARAM.interBurstInterval,
  pulseTrainDuration: PARAM.pulseTrainDuration,
  pulseTrainDelay: PARAM.pulseTrainDelay,
  customTrainId: PARAM.customTrainId,
  customTrainTarget: PARAM.customTrainTarget,
  customTrainLoop: PARAM.customTrainLoop,
};
