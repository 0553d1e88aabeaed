// Spike detection over a buffer of filtered frames: negative threshold crossings, confirmed as
// space-time extremes once `peakWindow` frames after them have arrived, with a refractory lockout
// per channel neighbourhood.
//
// Buffer: frames are appended at `count` into a linear buffer (frame-major, `channels` floats per
// frame) with, per frame, a bitmap of the channels below threshold (`words` u32 per frame) and the
// frame's absolute sample index (f64). Frame positions are buffer positions; when the buffer is
// full the frames still needed (from evalPos − peakWindow on) move to its start and every position
// held (evalPos, count, lockUntil) moves with them.
//
// All state lives in this instance's globals and in memory the host allocated: one instance per
// subscription.

let channels: i32 = 0;
let words: i32 = 0;
let capacity: i32 = 0;
let peakWindow: i32 = 1;
let refractory: i32 = 0;
let ring: usize = 0;
let bits: usize = 0;
let absIndex: usize = 0;
let thresholds: usize = 0;
let lockUntil: usize = 0;
let hoodOffsets: usize = 0;
let hoodIndices: usize = 0;
let outIndex: usize = 0;
let outChannel: usize = 0;
let outAmplitude: usize = 0;
let outCapacity: i32 = 0;
let count: i32 = 0;
let evalPos: i32 = 0;
let overflowed: i32 = 0;

const NEVER: i32 = -0x40000000;

export function configure(
  channelCount: i32,
  peakWindowFrames: i32,
  refractoryFrames: i32,
  thresholdsPtr: usize,
  lockUntilPtr: usize,
  hoodOffsetsPtr: usize,
  hoodIndicesPtr: usize,
): void {
  channels = channelCount;
  words = (channelCount + 31) >> 5;
  peakWindow = peakWindowFrames;
  refractory = refractoryFrames;
  thresholds = thresholdsPtr;
  lockUntil = lockUntilPtr;
  hoodOffsets = hoodOffsetsPtr;
  hoodIndices = hoodIndicesPtr;
  for (let c = 0; c < channels; c++) store<i32>(lockUntil + (<usize>c << 2), NEVER);
  count = 0;
  evalPos = 0;
}

/**
 * Points the kernel at (new) frame buffers and output arrays. Frames held in the old buffers, from
 * `keepFrom` on, are copied to the start of the new ones first (the host passes the old ones when
 * it only grows the outputs).
 */
export function useBuffers(
  ringPtr: usize,
  bitsPtr: usize,
  absIndexPtr: usize,
  capacityFrames: i32,
  outIndexPtr: usize,
  outChannelPtr: usize,
  outAmplitudePtr: usize,
  outCapacityValue: i32,
): void {
  const keepFrom = keepFromPosition();
  const kept = count - keepFrom;
  if (ring != 0 && kept > 0) {
    memory.copy(ringPtr, ring + ((<usize>keepFrom * <usize>channels) << 2), (<usize>kept * <usize>channels) << 2);
    memory.copy(bitsPtr, bits + ((<usize>keepFrom * <usize>words) << 2), (<usize>kept * <usize>words) << 2);
    memory.copy(absIndexPtr, absIndex + (<usize>keepFrom << 3), <usize>kept << 3);
  }
  shiftPositions(keepFrom);
  ring = ringPtr;
  bits = bitsPtr;
  absIndex = absIndexPtr;
  capacity = capacityFrames;
  outIndex = outIndexPtr;
  outChannel = outChannelPtr;
  outAmplitude = outAmplitudePtr;
  outCapacity = outCapacityValue;
}

@inline
function keepFromPosition(): i32 {
  const k = evalPos - peakWindow;
  return k > 0 ? k : 0;
}

function shiftPositions(by: i32): void {
  if (by == 0) return;
  count -= by;
  evalPos -= by;
  for (let c = 0; c < channels; c++) {
    const p = lockUntil + (<usize>c << 2);
    const v = load<i32>(p);
    store<i32>(p, v == NEVER ? NEVER : max(v - by, NEVER));
  }
}

/**
 * Makes room for `frames` more frames and returns the position at which the host writes them,
 * or −1 when even after compaction they do not fit (the host then provides larger buffers).
 */
export function reserve(frames: i32): i32 {
  if (count + frames <= capacity) return count;
  const keepFrom = keepFromPosition();
  if (keepFrom > 0) {
    const kept = count - keepFrom;
    memory.copy(ring, ring + ((<usize>keepFrom * <usize>channels) << 2), (<usize>kept * <usize>channels) << 2);
    memory.copy(bits, bits + ((<usize>keepFrom * <usize>words) << 2), (<usize>kept * <usize>words) << 2);
    memory.copy(absIndex, absIndex + (<usize>keepFrom << 3), <usize>kept << 3);
    shiftPositions(keepFrom);
  }
  return count + frames <= capacity ? count : -1;
}

/**
 * Marks the threshold crossings of the `frames` frames written at `position` (which must be
 * `count`), using the current thresholds, records their absolute sample indices, and appends them.
 */
export function scan(position: i32, frames: i32, firstSampleIndex: f64): void {
  const vectorChannels = channels & ~3;
  for (let f = 0; f < frames; f++) {
    const t = position + f;
    const row = ring + ((<usize>t * <usize>channels) << 2);
    const bitRow = bits + ((<usize>t * <usize>words) << 2);
    memory.fill(bitRow, 0, <usize>words << 2);
    let c = 0;
    for (; c < vectorChannels; c += 4) {
      const below = f32x4.lt(v128.load(row + (<usize>c << 2)), v128.load(thresholds + (<usize>c << 2)));
      const mask = <u32>i32x4.bitmask(below);
      if (mask != 0) {
        const wp = bitRow + (<usize>(c >> 5) << 2);
        store<u32>(wp, load<u32>(wp) | (mask << (<u32>c & 31)));
      }
    }
    for (; c < channels; c++) {
      if (load<f32>(row + (<usize>c << 2)) < load<f32>(thresholds + (<usize>c << 2))) {
        const wp = bitRow + (<usize>(c >> 5) << 2);
        store<u32>(wp, load<u32>(wp) | (<u32>1 << (<u32>c & 31)));
      }
    }
    store<f64>(absIndex + (<usize>t << 3), firstSampleIndex + <f64>f);
  }
  count = position + frames;
}

/** Whether (t, c) with value v is the first most negative sample within ±peakWindow and its neighbourhood. */
function isExtreme(t: i32, c: i32, v: f32): bool {
  const from = t - peakWindow > 0 ? t - peakWindow : 0;
  const to = t + peakWindow;
  const rowStart = load<i32>(hoodOffsets + (<usize>c << 2));
  const rowEnd = load<i32>(hoodOffsets + (<usize>(c + 1) << 2));
  const frameBytes = <usize>channels << 2;
  for (let i = rowStart; i < rowEnd; i++) {
    const n = load<i32>(hoodIndices + (<usize>i << 2));
    let p = ring + ((<usize>from * <usize>channels + <usize>n) << 2);
    for (let tt = from; tt <= to; tt++) {
      const x = load<f32>(p);
      p += frameBytes;
      if (x < v) return false;
      // Ties go to the earliest sample, then the lowest channel, so exactly one sample wins.
      if (x == v && (tt < t || (tt == t && n < c))) return false;
    }
  }
  return true;
}

/**
 * Confirms every frame whose future window is complete (t + peakWindow < count), in time order
 * then channel order, and writes the accepted spikes to the outputs. Returns how many.
 */
export function evaluate(): i32 {
  let spikes = 0;
  const last = count - 1 - peakWindow;
  let t = evalPos;
  for (; t <= last; t++) {
    const bitRow = bits + ((<usize>t * <usize>words) << 2);
    for (let w = 0; w < words; w++) {
      let mask = load<u32>(bitRow + (<usize>w << 2));
      while (mask != 0) {
        const c = (w << 5) + <i32>ctz(mask);
        mask &= mask - 1;
        if (load<i32>(lockUntil + (<usize>c << 2)) >= t) continue;
        const v = load<f32>(ring + ((<usize>t * <usize>channels + <usize>c) << 2));
        if (!isExtreme(t, c, v)) continue;
        if (spikes >= outCapacity) {
          overflowed++;
          continue;
        }
        store<f64>(outIndex + (<usize>spikes << 3), load<f64>(absIndex + (<usize>t << 3)));
        store<i32>(outChannel + (<usize>spikes << 2), c);
        store<f32>(outAmplitude + (<usize>spikes << 2), v);
        spikes++;
        const rowStart = load<i32>(hoodOffsets + (<usize>c << 2));
        const rowEnd = load<i32>(hoodOffsets + (<usize>(c + 1) << 2));
        const until = t + refractory;
        for (let i = rowStart; i < rowEnd; i++) {
          const lp = lockUntil + (<usize>load<i32>(hoodIndices + (<usize>i << 2)) << 2);
          if (load<i32>(lp) < until) store<i32>(lp, until);
        }
      }
    }
  }
  evalPos = t;
  return spikes;
}

/** Spikes that did not fit the outputs since the start (should stay 0: the host sizes them from a proven bound). */
export function overflowCount(): i32 {
  return overflowed;
}

export function framesHeld(): i32 {
  return count;
}
