import { crc16 } from '../../../drivers/firmware-bridge/crc16.js';

/** The emulator's test pattern (PROTOCOL.md §9.3), written here independently of the C code. */
export function patternSample(frame: number, channel: number): number {
  const v = (Math.imul(frame >>> 0, 0x9e3779b1) + Math.imul(channel + 1, 0x85ebca77)) >>> 0;
  return (v >>> 16) << 16 >> 16;
}

/** One stream packet as PROTOCOL.md §9.1 lays it out. */
export function packet(seq: number, firstFrame: number, frames: number, channels: number, deviceTimeUs: number): Uint8Array {
  const size = 28 + frames * channels * 2 + 2;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  out[0] = 0x4f;
  out[1] = 0x4c;
  out[2] = 1;
  out[3] = channels;
  v.setUint16(4, frames, true);
  v.setUint16(6, 28, true);
  v.setUint32(8, seq, true);
  v.setBigUint64(12, BigInt(firstFrame), true);
  v.setBigUint64(20, BigInt(deviceTimeUs), true);
  for (let f = 0; f < frames; f++) for (let c = 0; c < channels; c++) v.setInt16(28 + (f * channels + c) * 2, patternSample(firstFrame + f, c), true);
  v.setUint16(size - 2, crc16(out, 0, size - 2), true);
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A seeded generator for transfer sizes. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 0x1_0000_0000;
}
