/**
 * Message payloads of PROTOCOL.md §5: writers for requests (into a reused frame buffer) and readers
 * for replies and events (small owned objects: control traffic, not a per-sample path).
 */
import { OptoloopError } from '../../src/core/errors.js';
import { cobsEncode } from './cobs.js';
import { crc16 } from './crc16.js';
import { FRAME_HEADER_BYTES, FRAME_MAX_BYTES, REPLY_PAYLOAD_MIN_BYTES, type RequestOpName } from './protocol.js';

export interface TrainUs {
  /** 0 … 65535 of full scale. */
  readonly level: number;
  readonly delayUs: number;
  readonly widthUs: number;
  readonly intervalUs: number;
  readonly count: number;
}

export interface BridgeLimits {
  readonly maxWidthUs: number;
  readonly dutyWindowUs: number;
  readonly maxDutyPpm: number;
  readonly rateWindowUs: number;
  readonly maxPulsesPerWindow: number;
}

export interface HelloReply {
  readonly protocolMajor: number;
  readonly protocolMinor: number;
  readonly firmwareVersion: string;
  readonly outputCount: number;
  readonly capabilities: number;
  readonly deviceId: number;
  readonly bootNonce: number;
  readonly deviceTimeUs: number;
  readonly hardMaxWidthUs: number;
  readonly hardMaxDutyPpm: number;
  readonly hardMaxPulsesPerWindow: number;
  readonly hardMaxWindowUs: number;
  readonly maxTrainPulses: number;
  readonly streamChannelCount: number;
  readonly streamMaxRateHz: number;
  readonly boardName: string;
}

export interface DeviceStatusReply {
  readonly deviceTimeUs: number;
  readonly programmedMask: number;
  readonly runningMask: number;
  readonly streaming: boolean;
  readonly framesOk: number;
  readonly crcErrors: number;
  readonly frameErrors: number;
  readonly duplicates: number;
  readonly pulsesEmitted: number;
  readonly limitRefusals: number;
  readonly streamPacketsSent: number;
  readonly streamPacketsDropped: number;
}

export interface StreamStartReply {
  readonly sampleRateHz: number;
  readonly framesPerPacket: number;
  readonly channelCount: number;
  readonly deviceTimeUs: number;
}

export interface StreamStopReply {
  readonly packetsSent: number;
  readonly packetsDropped: number;
  readonly framesSent: number;
  readonly deviceTimeUs: number;
}

export interface TrainDoneEvent {
  readonly eventSeq: number;
  readonly channel: number;
  readonly reason: number;
  readonly pulses: number;
  readonly deviceTimeUs: number;
}

export interface DeviceErrorReply {
  readonly code: number;
  readonly refOp: number;
  readonly flags: number;
  readonly param: number;
  readonly channel: number;
  readonly value: number;
  readonly limit: number;
}

/** Builds one request frame at a time in a buffer allocated once. */
export class FrameWriter {
  readonly raw = new Uint8Array(FRAME_MAX_BYTES);
  readonly view = new DataView(this.raw.buffer);
  /** Where the payload starts in `raw`. */
  static readonly PAYLOAD = FRAME_HEADER_BYTES;

  begin(op: number, seq: number): void {
    this.raw[0] = op;
    this.view.setUint16(1, seq & 0xffff, true);
  }

  /**
   * Appends CRC, COBS and the delimiter for a payload of `payloadLength` bytes to `out` at
   * `outOffset`; returns the index one past the delimiter. `corruptCrc` flips the CRC's low bit
   * (for diagnostics and tests of the device's BAD_CRC path).
   */
  finish(payloadLength: number, out: Uint8Array, outOffset: number, corruptCrc = false): number {
    const end = FRAME_HEADER_BYTES + payloadLength;
    const crc = crc16(this.raw, 0, end) ^ (corruptCrc ? 1 : 0);
    this.view.setUint16(end, crc, true);
    const w = cobsEncode(this.raw, 0, end + 2, out, outOffset);
    out[w] = 0;
    return w + 1;
  }

  hello(major: number, minor: number): number {
    this.raw[3] = major;
    this.raw[4] = minor;
    return 2;
  }

  program(channel: number, train: TrainUs): number {
    const v = this.view;
    v.setUint8(3, channel);
    v.setUint16(4, train.level, true);
    v.setUint32(6, train.delayUs, true);
    v.setUint32(10, train.widthUs, true);
    v.setUint32(14, train.intervalUs, true);
    v.setUint16(18, train.count, true);
    return 17;
  }

  trigger(mask: number): number {
    this.view.setUint16(3, mask, true);
    return 2;
  }

  setLimits(channel: number, limits: BridgeLimits): number {
    const v = this.view;
    v.setUint8(3, channel);
    v.setUint32(4, limits.maxWidthUs, true);
    v.setUint32(8, limits.dutyWindowUs, true);
    v.setUint32(12, limits.maxDutyPpm, true);
    v.setUint32(16, limits.rateWindowUs, true);
    v.setUint32(20, limits.maxPulsesPerWindow, true);
    return 21;
  }

  getLimits(channel: number): number {
    this.raw[3] = channel;
    return 1;
  }

  streamStart(sampleRateHz: number, framesPerPacket: number, channelCount: number): number {
    this.view.setUint32(3, sampleRateHz, true);
    this.view.setUint16(7, framesPerPacket, true);
    this.raw[9] = channelCount;
    return 7;
  }
}

/** A reply or event payload inside a received frame. */
export class PayloadReader {
  private readonly view: DataView;
  constructor(
    private readonly bytes: Uint8Array,
    private start: number,
    public length: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  /** Points the reader at another payload in the same buffer (one reader per parser, reused). */
  at(start: number, length: number): this {
    this.start = start;
    this.length = length;
    return this;
  }
  u8(at: number): number {
    return this.bytes[this.start + at];
  }
  u16(at: number): number {
    return this.view.getUint16(this.start + at, true);
  }
  u32(at: number): number {
    return this.view.getUint32(this.start + at, true);
  }
  /** u64 as a number: exact below 2^53 µs (285 years of device uptime). */
  u64(at: number): number {
    return this.u32(at) + this.u32(at + 4) * 0x1_0000_0000;
  }
  ascii(at: number, length: number): string {
    let s = '';
    for (let i = 0; i < length; i++) s += String.fromCharCode(this.bytes[this.start + at + i]);
    return s;
  }
}

export function requireLength(kind: RequestOpName | 'TRAIN_DONE' | 'ERROR', reader: PayloadReader, device: string): void {
  const min = REPLY_PAYLOAD_MIN_BYTES[kind];
  if (reader.length < min) {
    throw new OptoloopError('E_DEVICE_PROTOCOL', `${device}: ${kind} reply of ${reader.length} bytes, expected at least ${min} (PROTOCOL.md §5)`, {
      stage: 'drivers/firmware-bridge',
      details: { kind, length: reader.length, expected: min },
    });
  }
}

export function readHello(r: PayloadReader, device: string): HelloReply {
  requireLength('HELLO', r, device);
  const nameLength = Math.min(r.u8(48), Math.max(0, r.length - 49));
  return {
    protocolMajor: r.u8(0),
    protocolMinor: r.u8(1),
    firmwareVersion: `${r.u8(2)}.${r.u8(3)}.${r.u8(4)}`,
    outputCount: r.u8(5),
    capabilities: r.u16(6),
    deviceId: r.u32(8),
    bootNonce: r.u32(12),
    deviceTimeUs: r.u64(16),
    hardMaxWidthUs: r.u32(24),
    hardMaxDutyPpm: r.u32(28),
    hardMaxPulsesPerWindow: r.u32(32),
    hardMaxWindowUs: r.u32(36),
    maxTrainPulses: r.u16(40),
    streamChannelCount: r.u8(42),
    streamMaxRateHz: r.u32(44),
    boardName: r.ascii(49, nameLength),
  };
}

export function readLimits(r: PayloadReader, device: string, kind: 'SET_LIMITS' | 'GET_LIMITS'): { channel: number; limits: BridgeLimits } {
  requireLength(kind, r, device);
  return {
    channel: r.u8(0),
    limits: { maxWidthUs: r.u32(1), dutyWindowUs: r.u32(5), maxDutyPpm: r.u32(9), rateWindowUs: r.u32(13), maxPulsesPerWindow: r.u32(17) },
  };
}

export function readStatus(r: PayloadReader, device: string): DeviceStatusReply {
  requireLength('STATUS', r, device);
  return {
    deviceTimeUs: r.u64(0),
    programmedMask: r.u16(8),
    runningMask: r.u16(10),
    streaming: r.u8(12) !== 0,
    framesOk: r.u32(16),
    crcErrors: r.u32(20),
    frameErrors: r.u32(24),
    duplicates: r.u32(28),
    pulsesEmitted: r.u32(32),
    limitRefusals: r.u32(36),
    streamPacketsSent: r.u32(40),
    streamPacketsDropped: r.u32(44),
  };
}

export function readStreamStart(r: PayloadReader, device: string): StreamStartReply {
  requireLength('STREAM_START', r, device);
  return { sampleRateHz: r.u32(0), framesPerPacket: r.u16(4), channelCount: r.u8(6), deviceTimeUs: r.u64(7) };
}

export function readStreamStop(r: PayloadReader, device: string): StreamStopReply {
  requireLength('STREAM_STOP', r, device);
  return { packetsSent: r.u32(0), packetsDropped: r.u32(4), framesSent: r.u64(8), deviceTimeUs: r.u64(16) };
}

export function readTrainDone(r: PayloadReader, eventSeq: number, device: string): TrainDoneEvent {
  requireLength('TRAIN_DONE', r, device);
  return { eventSeq, channel: r.u8(0), reason: r.u8(1), pulses: r.u16(2), deviceTimeUs: r.u64(4) };
}

export function readError(r: PayloadReader, device: string): DeviceErrorReply {
  requireLength('ERROR', r, device);
  return { code: r.u8(0), refOp: r.u8(1), flags: r.u8(2), param: r.u8(3), channel: r.u8(4), value: r.u32(8), limit: r.u32(12) };
}
