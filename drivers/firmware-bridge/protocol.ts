/**
 * Constants of the firmware-bridge protocol, restated from firmware-bridge/PROTOCOL.md (the
 * specification) and kept equal to the firmware's ob_protocol.h by the conformance test.
 */

export const PROTOCOL_MAJOR = 1;
export const PROTOCOL_MINOR = 0;

export const FRAME_HEADER_BYTES = 3;
export const FRAME_CRC_BYTES = 2;
export const FRAME_MIN_BYTES = FRAME_HEADER_BYTES + FRAME_CRC_BYTES;
export const FRAME_MAX_BYTES = 254;
export const FRAME_ENCODED_MAX_BYTES = FRAME_MAX_BYTES + 2;
export const REPLY_BIT = 0x80;

export const Op = {
  HELLO: 0x01,
  PROGRAM: 0x02,
  TRIGGER: 0x03,
  ABORT: 0x04,
  STATUS: 0x05,
  SET_LIMITS: 0x06,
  GET_LIMITS: 0x07,
  STREAM_START: 0x08,
  STREAM_STOP: 0x09,
  GET_CLOCK: 0x0a,
  TRAIN_DONE: 0xc1,
  ERROR: 0xff,
} as const;
export type OpName = keyof typeof Op;
export type RequestOpName = Exclude<OpName, 'TRAIN_DONE' | 'ERROR'>;

/** Exact request payload lengths (PROTOCOL.md §5). */
export const REQUEST_PAYLOAD_BYTES: Readonly<Record<RequestOpName, number>> = {
  HELLO: 2,
  PROGRAM: 17,
  TRIGGER: 2,
  ABORT: 0,
  STATUS: 0,
  SET_LIMITS: 21,
  GET_LIMITS: 1,
  STREAM_START: 7,
  STREAM_STOP: 0,
  GET_CLOCK: 0,
};

/** Minimum reply payload lengths; later minor versions may append fields. */
export const REPLY_PAYLOAD_MIN_BYTES: Readonly<Record<RequestOpName | 'TRAIN_DONE' | 'ERROR', number>> = {
  HELLO: 49,
  PROGRAM: 9,
  TRIGGER: 10,
  ABORT: 10,
  STATUS: 48,
  SET_LIMITS: 21,
  GET_LIMITS: 21,
  STREAM_START: 15,
  STREAM_STOP: 24,
  GET_CLOCK: 8,
  TRAIN_DONE: 12,
  ERROR: 16,
};

export const ErrorCode = {
  BAD_CRC: 0x01,
  BAD_FRAME: 0x02,
  UNKNOWN_OP: 0x03,
  BAD_LENGTH: 0x04,
  OUT_OF_RANGE: 0x05,
  LIMIT_EXCEEDED: 0x06,
  BUSY: 0x07,
  UNSUPPORTED_VERSION: 0x08,
  NOT_READY: 0x09,
  NOT_PROGRAMMED: 0x0a,
  UNSUPPORTED: 0x0b,
} as const;
export type DeviceErrorName = keyof typeof ErrorCode;

export const ERROR_FLAG_SEQ_UNVERIFIED = 0x01;
export const PARAM_NONE = 0xff;
export const CHANNEL_NONE = 0xff;
export const CHANNEL_ALL = 0xff;

export const Capability = { LEVEL: 0x0001, STREAM: 0x0002, STREAM_BULK: 0x0004, EVENTS: 0x0008 } as const;

/** LIMIT_EXCEEDED's `param`: which limit (PROTOCOL.md §7). */
export const LIMIT_NAMES = ['pulse width', 'duty cycle', 'pulse rate'] as const;
export const LIMIT_FIELDS = ['maxWidthUs', 'dutyWindowUs', 'maxDutyPpm', 'rateWindowUs', 'maxPulsesPerWindow'] as const;

export const TrainDoneReason = { COMPLETED: 0, ABORTED: 1 } as const;

/** Request fields by index, for naming OUT_OF_RANGE's `param` in messages. */
export const REQUEST_FIELDS: Readonly<Partial<Record<RequestOpName, readonly string[]>>> = {
  HELLO: ['host_major', 'host_minor'],
  PROGRAM: ['channel', 'level', 'delay_us', 'width_us', 'interval_us', 'count'],
  TRIGGER: ['mask'],
  SET_LIMITS: ['channel', 'max_width_us', 'duty_window_us', 'max_duty_ppm', 'rate_window_us', 'max_pulses_per_window'],
  GET_LIMITS: ['channel'],
  STREAM_START: ['sample_rate_hz', 'frames_per_packet', 'channel_count'],
};

const OP_NAMES = new Map<number, OpName>(Object.entries(Op).map(([name, op]) => [op, name as OpName]));
const ERROR_NAMES = new Map<number, DeviceErrorName>(Object.entries(ErrorCode).map(([name, code]) => [code, name as DeviceErrorName]));

export function opName(op: number): string {
  const base = op !== Op.ERROR && op !== Op.TRAIN_DONE && op & REPLY_BIT ? op & ~REPLY_BIT : op;
  const name = OP_NAMES.get(base);
  if (!name) return `op 0x${op.toString(16).padStart(2, '0')}`;
  return base === op ? name : `${name} reply`;
}

export function deviceErrorName(code: number): string {
  return ERROR_NAMES.get(code) ?? `error 0x${code.toString(16).padStart(2, '0')}`;
}

/** Streaming packets (PROTOCOL.md §9). */
export const STREAM_MAGIC0 = 0x4f;
export const STREAM_MAGIC1 = 0x4c;
export const STREAM_VERSION = 1;
export const STREAM_HEADER_BYTES = 28;
export const STREAM_PACKET_MAX_BYTES = 4096;
