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
 * Rearranges a[0 … n−1] so that a[k] holds the value it would hold if sorted, everything before it
 * is ≤ and everything after it ≥ (Hoare's selection with a median-of-three pivot), and returns
 * a[k]. Bounded scans: NaNs (bad float input) stop the scans early but cannot make them run away.
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

/** Median of a[0 … n−1] (destroys the order): the middle value, or the mean of the two middle ones. */
function median(a: usize, n: i32): f32 {
  const k = n >> 1;
  const upper = select(a, n, k);
  if (n & 1) return upper;
  // After selection, a[0 … k−1] hold the k smallest values: the lower middle is their maximum.
  let lower = at(a, 0);
  let i = 1;
  if (k >= 8) {
    let m = f32x4.splat(lower);
    for (; i + 3 < k; i += 4) m = f32x4.max(m, v128.load(a + (<usize>i << 2)));
    lower = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  }
  for (; i < k; i++) lower = max(lower, at(a, i));
  return (lower + upper) * 0.5;
}

/** dev[c] = row[c] − baseline[c], vectorised; returns the sum of the baselines (over all channels). */
@inline
function deviations(row: usize, baseline: usize, dev: usize, channels: i32): f32 {
  const vectorChannels = channels & ~3;
  let acc = f32x4.splat(0);
  for (let c = 0; c < vectorChannels; c += 4) {
    const o = <usize>c << 2;
    const b = v128.load(baseline + o);
    v128.store(dev + o, f32x4.sub(v128.load(row + o), b));
    acc = f32x4.add(acc, b);
  }
  let sum: f32 = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (let c = vectorChannels; c < channels; c++) {
    const b = at(baseline, c);
    put(dev, c, at(row, c) - b);
    sum += b;
  }
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

/**
 * Subtracts each group's per-frame median reference (see above), in place. `dev` and `scratch`
 * hold `channels` floats each; `refs` one float per group (the last frame's references are left
 * there).
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
  refs: usize,
): void {
  for (let f = 0; f < frames; f++) {
    const row = data + ((<usize>f * <usize>channels) << 2);
    const baselineSum = deviations(row, baseline, dev, channels);
    if (global) {
      memory.copy(scratch, dev, <usize>channels << 2);
      const m: f32 = median(scratch, channels) + baselineSum / <f32>channels;
      put(refs, 0, m);
      followBaseline(baseline, dev, channels, alpha);
      subtractAll(row, channels, m);
      continue;
    }
    for (let g = 0; g < groups; g++) {
      const start = load<i32>(offsets + (<usize>g << 2));
      const end = load<i32>(offsets + (<usize>(g + 1) << 2));
      let groupBaseline: f32 = 0;
      for (let i = start; i < end; i++) {
        const c = load<i32>(members + (<usize>i << 2));
        put(scratch, i - start, at(dev, c));
        groupBaseline += at(baseline, c);
      }
      put(refs, g, median(scratch, end - start) + groupBaseline / <f32>(end - start));
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
