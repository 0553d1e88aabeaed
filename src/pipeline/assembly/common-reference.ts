// Common reference over frame-major float32 blocks in µV: per frame, the median or mean of a group
// of channels (all channels, or one shank) is subtracted from each member.
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
 * Subtracts each group's per-frame median, in place. `scratch` holds `channels` floats; `refs`
 * holds one float per group (the last frame's references are left there).
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
  scratch: usize,
  refs: usize,
): void {
  for (let f = 0; f < frames; f++) {
    const row = data + ((<usize>f * <usize>channels) << 2);
    if (global) {
      memory.copy(scratch, row, <usize>channels << 2);
      const m = median(scratch, channels);
      put(refs, 0, m);
      subtractAll(row, channels, m);
      continue;
    }
    for (let g = 0; g < groups; g++) {
      const start = load<i32>(offsets + (<usize>g << 2));
      const end = load<i32>(offsets + (<usize>(g + 1) << 2));
      for (let i = start; i < end; i++) put(scratch, i - start, at(row, load<i32>(members + (<usize>i << 2))));
      put(refs, g, median(scratch, end - start));
    }
    for (let c = 0; c < channels; c++) put(row, c, at(row, c) - at(refs, load<i32>(groupOf + (<usize>c << 2))));
  }
}

/** Subtracts each group's per-frame mean, in place. `refs` holds one float per group. */
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
