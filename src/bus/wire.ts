/**
 * The bus frame header: 16 bytes in front of every protobuf payload (layout in optoloop.proto and
 * docs/bus.md). Pure functions over Uint8Array/DataView so that the daemon, the Node client and the
 * dashboard page (compiled separately for the browser) share one definition.
 */

export const FRAME_MAGIC_0 = 0x4f; // 'O'
export const FRAME_MAGIC_1 = 0x4c; // 'L'
export const PROTOCOL_VERSION = 1;
export const HEADER_BYTES = 16;

/** Header flag: sequence gaps on this topic mean messages were dropped for this client. */
export const FLAG_DROPPABLE = 0x01;
const KNOWN_FLAGS = FLAG_DROPPABLE;

/** Topic ids (enum Topic in optoloop.proto). */
export const Topic = {
  control: 1,
  error: 2,
  spikes: 16,
  units: 17,
  stimulus: 18,
  bci: 19,
  status: 20,
} as const;

export type TopicName = keyof typeof Topic;
export type TopicId = (typeof Topic)[TopicName];

/** Topics a client may subscribe to (control and error frames reach every client). */
export const DATA_TOPICS = ['spikes', 'units', 'stimulus', 'bci', 'status'] as const;
export type DataTopicName = (typeof DATA_TOPICS)[number];

export function topicName(id: number): TopicName | null {
  for (const name of Object.keys(Topic) as TopicName[]) if (Topic[name] === id) return name;
  return null;
}

export function isDataTopicId(id: number): boolean {
  return id >= Topic.spikes && id <= Topic.status;
}

export interface FrameHeader {
  version: number;
  flags: number;
  topic: number;
  sequence: number;
  payloadBytes: number;
}

/** Writes a header at `offset` of `target` (which must have 16 bytes there). */
export function writeHeader(target: Uint8Array, offset: number, topic: number, flags: number, sequence: number, payloadBytes: number): void {
  target[offset] = FRAME_MAGIC_0;
  target[offset + 1] = FRAME_MAGIC_1;
  target[offset + 2] = PROTOCOL_VERSION;
  target[offset + 3] = flags;
  target[offset + 4] = topic & 0xff;
  target[offset + 5] = (topic >>> 8) & 0xff;
  target[offset + 6] = 0;
  target[offset + 7] = 0;
  writeU32(target, offset + 8, sequence >>> 0);
  writeU32(target, offset + 12, payloadBytes >>> 0);
}

function writeU32(target: Uint8Array, offset: number, value: number): void {
  target[offset] = value & 0xff;
  target[offset + 1] = (value >>> 8) & 0xff;
  target[offset + 2] = (value >>> 16) & 0xff;
  target[offset + 3] = (value >>> 24) & 0xff;
}

function readU32(source: Uint8Array, offset: number): number {
  return (source[offset] | (source[offset + 1] << 8) | (source[offset + 2] << 16) | (source[offset + 3] << 24)) >>> 0;
}

/** Why a frame's header is unacceptable, or null when it is well formed. */
export function checkHeader(frame: Uint8Array): string | null {
  if (frame.length < HEADER_BYTES) return `frame of ${frame.length} bytes is shorter than the ${HEADER_BYTES}-byte header`;
  if (frame[0] !== FRAME_MAGIC_0 || frame[1] !== FRAME_MAGIC_1) {
    return `bad magic 0x${hex(frame[0])}${hex(frame[1])} at byte 0; expected 0x4f4c ("OL")`;
  }
  if (frame[2] !== PROTOCOL_VERSION) return `protocol version ${frame[2]} at byte 2; this server speaks version ${PROTOCOL_VERSION}`;
  if ((frame[3] & ~KNOWN_FLAGS) !== 0) return `unknown flag bits 0x${hex(frame[3] & ~KNOWN_FLAGS)} at byte 3; expected 0`;
  if (frame[6] !== 0 || frame[7] !== 0) return 'reserved bytes 6–7 are not 0';
  const payloadBytes = readU32(frame, 12);
  if (payloadBytes !== frame.length - HEADER_BYTES) {
    return `payload length field (byte 12) says ${payloadBytes} bytes but ${frame.length - HEADER_BYTES} follow the header`;
  }
  return null;
}

/** Reads a header; call {@link checkHeader} first. */
export function readHeader(frame: Uint8Array): FrameHeader {
  return {
    version: frame[2],
    flags: frame[3],
    topic: frame[4] | (frame[5] << 8),
    sequence: readU32(frame, 8),
    payloadBytes: readU32(frame, 12),
  };
}

export function readTopic(frame: Uint8Array): number {
  return frame[4] | (frame[5] << 8);
}

export function readSequence(frame: Uint8Array): number {
  return readU32(frame, 8);
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
