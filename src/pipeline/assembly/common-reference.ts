// Common reference over frame-major float32 blocks in µV: per frame, the median or mean of a group
// of channels (all channels, or one shank) is subtracted from each member.
//
// The median reference is not taken over the raw values: wideband headstages deliver channels with
// DC offsets of hundreds of µV, far larger than the common signal, and a per-frame median of raw
// values would then always be the channel with the middle offset — its noise and spikes would be
// subtracted from every channel. Each channel c keeps a slow baseline b_c (an exponential average,
// weight `alpha` per frame), and the reference is
//     r = median_c(x_c − b_c) + mean_c(b_c):
// the median of the deviations carries the fast common signal (robustly: a spike on a few
// channels barely moves it), the mean of the baselines the slow common signal, offsets included
// (a constant, which the band-pass removes). A spike moves its channel's baseline by a few µV,
// and the mean over the group by a fraction of that.
//
// Groups are given as compressed rows: the members of group g are
// members[offsets[g] … offsets[g + 1] − 1] (i32 channel indices), and groupOf[c] names channel c's
// group. `global` = 1 says there is one group holding every channel in order, which allows whole-row
// vector operations instead of gathers.

/** dst[i] = src[i] × scale[channel of i] for int16 input, vectorised four channels at a time. */
export function int16ToMicrovolts(src: usize, dst: usize, frames: i32, channels: i32, scale: usize): void {
  const vectorChannels = channels & ~3;
  for (let f = 0; f < frames; f++) {
    const inRow = src + ((<usize>f * <usize>channels) << 1);
    const outRow = dst + ((<usize>f * <usize>channels) << 2);
    for (let c = 0; c < vectorChannels; c += 4) {
      const counts = f32x4.convert_i32x4_s(v128.load16x4_s(inRow + (<usize>c << 1)));
      v128.store(outRow + (<usize>c << 2), f32x4.mul(counts, v128.load(scale + (<usize>c << 2))));
    }
    for (let c = vectorChannels; c < channels; c++) {
      store<f32>(outRow + (<usize>c << 2), <f32>load<i16>(inRow + (<usize>c << 1)) * load<f32>(scale + (<usize>c << 2)));
    }
  }
}

@inline
function at(base: usize, i: i32): f32 {
  return load<f32>(base + (<usize>i << 2));
}

@inline
function put(base: usize, i: i32, v: f32): void {
  store<f32>(base + (<usize>i << 2), v);
}

/**
 * Rearranges a[0 … n−1] so that a[k] holds the value it would hold if sorted (Hoare's selection
 * with a median-of-three pivot) and returns it. Scalar and branchy: used only on a handful of
 * values, where mispredicted branches cost little. Bounded scans: NaNs (bad float input) stop the
 * scans early but cannot make them run away.
 */
function select(a: usize, n: i32, k: i32): f32 {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const mid = lo + ((hi - lo) >> 1);
    let x = at(a, lo);
    let y = at(a, mid);
    let z = at(a, hi);
    if (y < x) { const t = x; x = y; y = t; }
    if (z < y) { y = z; if (y < x) y = x; }
    const pivot = y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (i <= hi && at(a, i) < pivot) i++;
      while (j >= lo && at(a, j) > pivot) j--;
      if (i <= j) {
        const t = at(a, i);
        put(a, i, at(a, j));
        put(a, j, t);
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return at(a, k);
  }
  return at(a, k);
}

// Byte shuffles for i8x16.swizzle, indexed by a 4-bit lane mask: LEFT_PACK moves the selected
// f32 lanes, in order, to the bottom of the vector; RIGHT_PACK to the top (index 128 gives 0).
const LEFT_PACK = memory.data<u8>([
  128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  4, 5, 6, 7, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 128, 128, 128, 128, 128, 128, 128, 128,
  8, 9, 10, 11, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 8, 9, 10, 11, 128, 128, 128, 128, 128, 128, 128, 128,
  4, 5, 6, 7, 8, 9, 10, 11, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 128, 128, 128, 128,
  12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128,
  4, 5, 6, 7, 12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 128, 128, 128, 128,
  8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128,
  4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
], 16);
const RIGHT_PACK = memory.data<u8>([
  128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 0, 1, 2, 3,
  128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 4, 5, 6, 7,
  128, 128, 128, 128, 128, 128, 128, 128, 0, 1, 2, 3, 4, 5, 6, 7,
  128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 8, 9, 10, 11,
  128, 128, 128, 128, 128, 128, 128, 128, 0, 1, 2, 3, 8, 9, 10, 11,
  128, 128, 128, 128, 128, 128, 128, 128, 4, 5, 6, 7, 8, 9, 10, 11,
  128, 128, 128, 128, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
  128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 12, 13, 14, 15,
  128, 128, 128, 128, 128, 128, 128, 128, 0, 1, 2, 3, 12, 13, 14, 15,
  128, 128, 128, 128, 128, 128, 128, 128, 4, 5, 6, 7, 12, 13, 14, 15,
  128, 128, 128, 128, 0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15,
  128, 128, 128, 128, 128, 128, 128, 128, 8, 9, 10, 11, 12, 13, 14, 15,
  128, 128, 128, 128, 0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15,
  128, 128, 128, 128, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
], 16);

/** Slots a partition buffer needs for n values: the two packed ends may each write 3 lanes past their values. */
@inline
function partitionSlots(n: i32): i32 {
  return n + 8;
}

/**
 * The k-th smallest of src[0 … n−1] (src is left untouched), by quickselect with branch-free vector
 * partitions: each pass compares four values at a time with the pivot and packs those below it to
 * the bottom of the other buffer and those above it to the top (i8x16.swizzle with the tables
 * above), so the cost does not depend on how well branches are predicted — which, on fresh data,
 * is what makes a scalar quickselect slow. `bufA` and `bufB` hold partitionSlots(n) floats each.
 */
function vectorSelect(src: usize, n: i32, k: i32, bufA: usize, bufB: usize): f32 {
  let from = src;
  let len = n;
  let into = bufA;
  while (len > 8) { // then the scalar selection: a few values, a few mispredicted branches
    let x = at(from, 0);
    let y = at(from, len >> 1);
    let z = at(from, len - 1);
    if (y < x) { const t = x; x = y; y = t; }
    if (z < y) { y = z; if (y < x) y = x; }
    const pivot = y;
    const p = f32x4.splat(pivot);
    let low = 0;
    let top = partitionSlots(len);
    const vectorLen = len & ~3;
    let i = 0;
    for (; i < vectorLen; i += 4) {
      const d = v128.load(from + (<usize>i << 2));
      const lowBits = i32x4.bitmask(f32x4.lt(d, p));
      const highBits = i32x4.bitmask(f32x4.gt(d, p));
      v128.store(into + (<usize>low << 2), v128.swizzle(d, v128.load(LEFT_PACK + (<usize>lowBits << 4))));
      low += popcnt(lowBits);
      v128.store(into + (<usize>(top - 4) << 2), v128.swizzle(d, v128.load(RIGHT_PACK + (<usize>highBits << 4))));
      top -= popcnt(highBits);
    }
    for (; i < len; i++) {
      const d = at(from, i);
      if (d < pivot) put(into, low++, d);
      else if (d > pivot) put(into, --top, d);
    }
    const high = partitionSlots(len) - top;
    const equal = len - low - high;
    if (k < low) {
      from = into;
      len = low;
    } else if (k < low + equal) {
      return pivot;
    } else {
      k -= low + equal;
      from = into + (<usize>top << 2);
      len = high;
    }
    into = into == bufA ? bufB : bufA;
  }
  if (from == src) {
    memory.copy(into, src, <usize>len << 2);
    from = into;
  }
  return select(from, len, k);
}

/**
 * The (k−1)-th smallest of values[0 … n−1] (k ≥ 1), given u, the k-th: u itself when fewer than k
 * values lie below u (another value equals it), else the largest value below u. One vector pass.
 */
function belowUpper(values: usize, n: i32, k: i32, upper: f32): f32 {
  const u = f32x4.splat(upper);
  const negInf = f32x4.splat(-Infinity);
  let below = i32x4.splat(0);
  let largest = negInf;
  const vectorLen = n & ~3;
  let i = 0;
  for (; i < vectorLen; i += 4) {
    const d = v128.load(values + (<usize>i << 2));
    const isBelow = f32x4.lt(d, u);
    below = i32x4.sub(below, isBelow);
    largest = f32x4.max(largest, v128.bitselect(d, negInf, isBelow));
  }
  let countBelow = i32x4.extract_lane(below, 0) + i32x4.extract_lane(below, 1) + i32x4.extract_lane(below, 2) + i32x4.extract_lane(below, 3);
  let lower = max(max(f32x4.extract_lane(largest, 0), f32x4.extract_lane(largest, 1)), max(f32x4.extract_lane(largest, 2), f32x4.extract_lane(largest, 3)));
  for (; i < n; i++) {
    const d = at(values, i);
    if (d < upper) {
      countBelow++;
      lower = max(lower, d);
    }
  }
  return countBelow < k ? upper : lower;
}

// Band selection: the spread of the channels' deviations changes slowly, and their median sits at
// a nearly constant offset ("skew") from their mean. So one vector pass counts the values below a
// band [centre − halfWidth, centre + halfWidth], centre = this frame's mean + the last skew, and
// packs the few inside it (branch-free) into a buffer; the median is then selected among those
// alone. When it falls outside the band, the selection runs over all values instead. Either way
// the result is the exact median; only the time differs. The half-width adapts so that the band
// holds about a sixteenth of the values.
const BAND_STATE_FLOATS = 2; // per group: skew, halfWidth

/** Median of values[0 … n−1] (untouched), whose mean is `mean`. Each buffer: partitionSlots(n) floats. */
function bandMedian(values: usize, n: i32, mean: f32, bandBuffer: usize, bufA: usize, bufB: usize, band: usize): f32 {
  const skew = load<f32>(band);
  const halfWidth = load<f32>(band, 4);
  const k = n >> 1;
  let upper: f32 = 0;
  let lowerMiddle: f32 = 0;
  let found = false;
  let inBandCount = 0;
  if (halfWidth > 0) {
    const centre = mean + skew;
    const loV = f32x4.splat(centre - halfWidth);
    const hiV = f32x4.splat(centre + halfWidth);
    let below = i32x4.splat(0);
    const vectorLen = n & ~3;
    let i = 0;
    for (; i < vectorLen; i += 4) {
      const d = v128.load(values + (<usize>i << 2));
      const isBelow = f32x4.lt(d, loV);
      below = i32x4.sub(below, isBelow);
      const bits = i32x4.bitmask(v128.andnot(f32x4.le(d, hiV), isBelow));
      v128.store(bandBuffer + (<usize>inBandCount << 2), v128.swizzle(d, v128.load(LEFT_PACK + (<usize>bits << 4))));
      inBandCount += popcnt(bits);
    }
    let countBelow = i32x4.extract_lane(below, 0) + i32x4.extract_lane(below, 1) + i32x4.extract_lane(below, 2) + i32x4.extract_lane(below, 3);
    const lo = centre - halfWidth;
    const hi = centre + halfWidth;
    for (; i < n; i++) {
      const d = at(values, i);
      if (d < lo) countBelow++;
      else if (d <= hi) put(bandBuffer, inBandCount++, d);
    }
    const kk = k - countBelow;
    if (kk >= 0 && kk < inBandCount) {
      upper = vectorSelect(bandBuffer, inBandCount, kk, bufA, bufB);
      found = true;
      // For an even count, the lower middle: inside the band too unless the upper one is its lowest.
      if ((n & 1) == 0) lowerMiddle = kk > 0 ? belowUpper(bandBuffer, inBandCount, kk, upper) : belowUpper(values, n, k, upper);
    }
  }
  if (!found) {
    upper = vectorSelect(values, n, k, bufA, bufB);
    if ((n & 1) == 0) lowerMiddle = belowUpper(values, n, k, upper);
  }
  const result = n & 1 ? upper : (lowerMiddle + upper) * 0.5;
  // Aim for about n / 16 values in the band; widen it after a miss (or on the first frame).
  const target = <f32>n * 0.0625;
  let nextHalfWidth = halfWidth;
  if (!found) nextHalfWidth = halfWidth > 0 ? halfWidth * 2 : 1;
  else if (<f32>inBandCount > 2 * target) nextHalfWidth = halfWidth * 0.75;
  else if (<f32>inBandCount < 0.5 * target) nextHalfWidth = halfWidth * 1.25;
  if (!(nextHalfWidth < 1e30)) nextHalfWidth = 1; // NaN or runaway input: start again
  store<f32>(band, result - mean);
  store<f32>(band, nextHalfWidth, 4);
  return result;
}

/** Sum of the deviations of the last `deviations` call (a second result). */
let deviationSum: f32 = 0;

/** dev[c] = row[c] − baseline[c], vectorised; returns the sum of the baselines and sets deviationSum. */
@inline
function deviations(row: usize, baseline: usize, dev: usize, channels: i32): f32 {
  const vectorChannels = channels & ~3;
  let accB = f32x4.splat(0);
  let accD = f32x4.splat(0);
  for (let c = 0; c < vectorChannels; c += 4) {
    const o = <usize>c << 2;
    const b = v128.load(baseline + o);
    const d = f32x4.sub(v128.load(row + o), b);
    v128.store(dev + o, d);
    accB = f32x4.add(accB, b);
    accD = f32x4.add(accD, d);
  }
  let sum: f32 = (f32x4.extract_lane(accB, 0) + f32x4.extract_lane(accB, 1)) + (f32x4.extract_lane(accB, 2) + f32x4.extract_lane(accB, 3));
  let sumD: f32 = (f32x4.extract_lane(accD, 0) + f32x4.extract_lane(accD, 1)) + (f32x4.extract_lane(accD, 2) + f32x4.extract_lane(accD, 3));
  for (let c = vectorChannels; c < channels; c++) {
    const b = at(baseline, c);
    const d: f32 = at(row, c) - b;
    put(dev, c, d);
    sum += b;
    sumD += d;
  }
  deviationSum = sumD;
  return sum;
}

/** baseline[c] += alpha × dev[c], vectorised. */
@inline
function followBaseline(baseline: usize, dev: usize, channels: i32, alpha: f32): void {
  const a = f32x4.splat(alpha);
  const vectorChannels = channels & ~3;
  for (let c = 0; c < vectorChannels; c += 4) {
    const o = <usize>c << 2;
    v128.store(baseline + o, f32x4.add(v128.load(baseline + o), f32x4.mul(a, v128.load(dev + o))));
  }
  for (let c = vectorChannels; c < channels; c++) put(baseline, c, at(baseline, c) + alpha * at(dev, c));
}

/** Starts each channel's baseline at its value in the first frame. */
export function initBaseline(data: usize, channels: i32, baseline: usize): void {
  memory.copy(baseline, data, <usize>channels << 2);
}

/** baseline[c] += alpha × dev[c] and row[c] −= value, in one vectorised pass. */
@inline
function followAndSubtract(baseline: usize, dev: usize, row: usize, channels: i32, alpha: f32, value: f32): void {
  const a = f32x4.splat(alpha);
  const v = f32x4.splat(value);
  const vectorChannels = channels & ~3;
  for (let c = 0; c < vectorChannels; c += 4) {
    const o = <usize>c << 2;
    v128.store(baseline + o, f32x4.add(v128.load(baseline + o), f32x4.mul(a, v128.load(dev + o))));
    v128.store(row + o, f32x4.sub(v128.load(row + o), v));
  }
  for (let c = vectorChannels; c < channels; c++) {
    put(baseline, c, at(baseline, c) + alpha * at(dev, c));
    put(row, c, at(row, c) - value);
  }
}

/** row[c] −= value for every channel, vectorised. */
@inline
function subtractAll(row: usize, channels: i32, value: f32): void {
  const v = f32x4.splat(value);
  const vectorChannels = channels & ~3;
  for (let c = 0; c < vectorChannels; c += 4) {
    const p = row + (<usize>c << 2);
    v128.store(p, f32x4.sub(v128.load(p), v));
  }
  for (let c = vectorChannels; c < channels; c++) put(row, c, at(row, c) - value);
}

/** Floats of scratch space subtractMedian needs for `channels` channels: three partition buffers. */
export function medianScratchFloats(channels: i32): i32 {
  return 3 * partitionSlots(channels);
}

/**
 * Subtracts each group's per-frame median reference (see above), in place. `dev` holds
 * 2 × `channels` floats, `scratch` medianScratchFloats(channels); `band` 2 floats per group
 * (zeroed at the start: see bandMedian); `refs` one float per group (the last frame's references
 * are left there).
 */
export function subtractMedian(
  data: usize,
  frames: i32,
  channels: i32,
  groups: i32,
  offsets: usize,
  members: usize,
  groupOf: usize,
  global: i32,
  baseline: usize,
  alpha: f32,
  dev: usize,
  scratch: usize,
  band: usize,
  refs: usize,
): void {
  const slots = <usize>partitionSlots(channels) << 2;
  const bandBuffer = scratch;
  const bufA = scratch + slots;
  const bufB = bufA + slots;
  for (let f = 0; f < frames; f++) {
    const row = data + ((<usize>f * <usize>channels) << 2);
    const baselineSum = deviations(row, baseline, dev, channels);
    if (global) {
      const m: f32 = bandMedian(dev, channels, deviationSum / <f32>channels, bandBuffer, bufA, bufB, band) + baselineSum / <f32>channels;
      put(refs, 0, m);
      followAndSubtract(baseline, dev, row, channels, alpha, m);
      continue;
    }
    for (let g = 0; g < groups; g++) {
      const start = load<i32>(offsets + (<usize>g << 2));
      const end = load<i32>(offsets + (<usize>(g + 1) << 2));
      let groupBaseline: f32 = 0;
      let groupDeviation: f32 = 0;
      // Gather the group's deviations next to each other (after the global part of `dev`'s buffer).
      const gathered = dev + (<usize>channels << 2);
      for (let i = start; i < end; i++) {
        const c = load<i32>(members + (<usize>i << 2));
        const d = at(dev, c);
        put(gathered, i - start, d);
        groupDeviation += d;
        groupBaseline += at(baseline, c);
      }
      const n = end - start;
      const groupBand = band + (<usize>g * BAND_STATE_FLOATS << 2);
      put(refs, g, bandMedian(gathered, n, groupDeviation / <f32>n, bandBuffer, bufA, bufB, groupBand) + groupBaseline / <f32>n);
    }
    followBaseline(baseline, dev, channels, alpha);
    for (let c = 0; c < channels; c++) put(row, c, at(row, c) - at(refs, load<i32>(groupOf + (<usize>c << 2))));
  }
}

/**
 * Subtracts each group's per-frame mean, in place. (The mean is linear: channel offsets only add a
 * constant to it, which the band-pass removes, so it needs no baseline.) `refs` holds one float per group.
 */
export function subtractMean(
  data: usize,
  frames: i32,
  channels: i32,
  groups: i32,
  offsets: usize,
  members: usize,
  groupOf: usize,
  global: i32,
  refs: usize,
): void {
  const vectorChannels = channels & ~3;
  for (let f = 0; f < frames; f++) {
    const row = data + ((<usize>f * <usize>channels) << 2);
    if (global) {
      let acc = f32x4.splat(0);
      for (let c = 0; c < vectorChannels; c += 4) acc = f32x4.add(acc, v128.load(row + (<usize>c << 2)));
      let sum: f32 = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
      for (let c = vectorChannels; c < channels; c++) sum += at(row, c);
      const m: f32 = sum / <f32>channels;
      put(refs, 0, m);
      subtractAll(row, channels, m);
      continue;
    }
    for (let g = 0; g < groups; g++) {
      const start = load<i32>(offsets + (<usize>g << 2));
      const end = load<i32>(offsets + (<usize>(g + 1) << 2));
      let sum: f32 = 0;
      for (let i = start; i < end; i++) sum += at(row, load<i32>(members + (<usize>i << 2)));
      put(refs, g, sum / <f32>(end - start));
    }
    for (let c = 0; c < channels; c++) put(row, c, at(row, c) - at(refs, load<i32>(groupOf + (<usize>c << 2))));
  }
}
