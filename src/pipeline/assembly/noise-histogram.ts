// Per-channel histograms of |x| for the noise estimate: bins equally spaced in log2, 16 per octave,
// read straight off the float bits (exponent and top 4 mantissa bits), clamped to 0 … 255
// (0.125 µV … 8 mV). Counts are u16, bin-major (bin × channels + channel), so that the few bins in
// use sit side by side for all channels.

const BIN_SHIFT: u32 = 19;
const LOWEST_BIN_BITS: i32 = 0x3e000000 >> 19; // 0.125 µV
const LAST_BIN: i32 = 255;

/** Counts every `step`-th frame from `firstFrame` (inclusive) to `untilFrame` (exclusive). */
export function accumulate(data: usize, channels: i32, firstFrame: i32, untilFrame: i32, step: i32, histogram: usize): void {
  const absMask = i32x4.splat(0x7fffffff);
  const lowest = i32x4.splat(LOWEST_BIN_BITS);
  const zero = i32x4.splat(0);
  const last = i32x4.splat(LAST_BIN);
  const stride = i32x4.splat(channels);
  const vectorChannels = channels & ~3;
  for (let f = firstFrame; f < untilFrame; f += step) {
    const row = data + ((<usize>f * <usize>channels) << 2);
    let lanes = i32x4(0, 1, 2, 3);
    for (let c = 0; c < vectorChannels; c += 4) {
      const bits = v128.and(v128.load(row + (<usize>c << 2)), absMask);
      const bins = i32x4.min_s(i32x4.max_s(i32x4.sub(i32x4.shr_u(bits, BIN_SHIFT), lowest), zero), last);
      const at = i32x4.add(i32x4.mul(bins, stride), lanes);
      lanes = i32x4.add(lanes, i32x4.splat(4));
      const p0 = histogram + (<usize>i32x4.extract_lane(at, 0) << 1);
      const p1 = histogram + (<usize>i32x4.extract_lane(at, 1) << 1);
      const p2 = histogram + (<usize>i32x4.extract_lane(at, 2) << 1);
      const p3 = histogram + (<usize>i32x4.extract_lane(at, 3) << 1);
      store<u16>(p0, load<u16>(p0) + 1);
      store<u16>(p1, load<u16>(p1) + 1);
      store<u16>(p2, load<u16>(p2) + 1);
      store<u16>(p3, load<u16>(p3) + 1);
    }
    for (let c = vectorChannels; c < channels; c++) {
      const bits = load<i32>(row + (<usize>c << 2)) & 0x7fffffff;
      const bin = min(max((bits >>> BIN_SHIFT) - LOWEST_BIN_BITS, 0), LAST_BIN);
      const p = histogram + ((<usize>bin * <usize>channels + <usize>c) << 1);
      store<u16>(p, load<u16>(p) + 1);
    }
  }
}

/**
 * For every channel, the bin in which the cumulative count (from the lowest bin up) first reaches
 * half of `counted` (2 × cumulative ≥ counted), and the count below that bin: written to
 * medianBin[c] and belowBin[c] (i32). Walks the bins upwards, four channels per vector, and stops
 * when every channel has found its bin; a channel that never does gets the last bin.
 */
export function medianBins(histogram: usize, channels: i32, counted: i32, medianBin: usize, belowBin: usize, cumulative: usize): void {
  const vectorChannels = channels & ~3;
  const target = i32x4.splat(counted);
  memory.fill(cumulative, 0, <usize>channels << 2);
  memory.fill(medianBin, 0xff, <usize>channels << 2); // −1: not found yet
  let pending = channels;
  for (let b = 0; b <= LAST_BIN && pending > 0; b++) {
    const row = histogram + ((<usize>b * <usize>channels) << 1);
    const bin = i32x4.splat(b);
    for (let c = 0; c < vectorChannels; c += 4) {
      const o = <usize>c << 2;
      const before = v128.load(cumulative + o);
      const after = i32x4.add(before, v128.load16x4_u(row + (<usize>c << 1)));
      v128.store(cumulative + o, after);
      const found = v128.load(medianBin + o);
      // Newly found: not found before (−1) and 2 × cumulative ≥ counted now.
      const fresh = v128.and(i32x4.eq(found, i32x4.splat(-1)), i32x4.ge_s(i32x4.add(after, after), target));
      if (v128.any_true(fresh)) {
        v128.store(medianBin + o, v128.bitselect(bin, found, fresh));
        v128.store(belowBin + o, v128.bitselect(before, v128.load(belowBin + o), fresh));
        pending -= popcnt(i32x4.bitmask(fresh));
      }
    }
    for (let c = vectorChannels; c < channels; c++) {
      const o = <usize>c << 2;
      const before = load<i32>(cumulative + o);
      const after = before + <i32>load<u16>(row + (<usize>c << 1));
      store<i32>(cumulative + o, after);
      if (load<i32>(medianBin + o) < 0 && 2 * after >= counted) {
        store<i32>(medianBin + o, b);
        store<i32>(belowBin + o, before);
        pending--;
      }
    }
  }
  for (let c = 0; c < channels; c++) {
    const o = <usize>c << 2;
    if (load<i32>(medianBin + o) < 0) {
      store<i32>(medianBin + o, LAST_BIN);
      store<i32>(belowBin + o, load<i32>(cumulative + o) - <i32>load<u16>(histogram + ((<usize>LAST_BIN * <usize>channels + <usize>c) << 1)));
    }
  }
}
