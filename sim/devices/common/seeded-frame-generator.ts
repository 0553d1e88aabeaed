import type { FrameProvider } from './frame-provider.js';

/**
 * Deterministic test signal for emulated devices: each sample is a hash of (seed, frame, channel),
 * so any frame can be regenerated on its own (`valueAt`) — a test rebuilds what the emulator sent
 * without replaying it, and a gap skips frames for free. Samples are noise of about ±1000 counts
 * around a per-channel offset, and every channel hits full scale (−32768 and 32767) now and then,
 * so that sign, offset and byte-order mistakes cannot hide.
 */
export class SeededFrameGenerator implements FrameProvider {
  /** Frame index of the next `read()`. */
  frameIndex = 0;

  constructor(
    readonly channelCount: number,
    readonly seed = 1,
  ) {
    if (!Number.isInteger(channelCount) || channelCount < 1) throw new RangeError(`SeededFrameGenerator: channelCount must be a positive integer, got ${channelCount}`);
  }

  valueAt(frame: number, channel: number): number {
    return seededSample(this.seed, frame, channel);
  }

  read(target: Int16Array, maxFrames: number): number {
    const n = this.channelCount;
    const seed = this.seed;
    let i = 0;
    for (let f = 0; f < maxFrames; f++) {
      const frame = this.frameIndex + f;
      for (let c = 0; c < n; c++) target[i++] = seededSample(seed, frame, c);
    }
    this.frameIndex += maxFrames;
    return maxFrames;
  }
}

/** The generator's sample (frame, channel) for a seed, as int16. */
export function seededSample(seed: number, frame: number, channel: number): number {
  // Frames beyond 2^32 fold their high part into the hash so that long runs never repeat.
  const lo = frame >>> 0;
  const hi = Math.floor(frame / 4294967296) >>> 0;
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(lo, 0xc2b2ae35) ^ Math.imul(channel + 1, 0x27d4eb2f) ^ Math.imul(hi, 0x165667b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  if ((h & 0xfff) === 0) return h & 0x1000 ? 32767 : -32768;
  const noise = ((h >>> 16) & 0x3ff) - 512 + (((h >>> 4) & 0x3ff) - 512);
  return noise + ((channel * 37) % 200) - 100;
}
