// Second-order sections (transposed direct form II) over frame-major float32 blocks.
//
// Data: `in` and `out` hold `frames` frames of `channels` samples each (frame-major), so four
// adjacent channels are four adjacent lanes of an f32x4: each group of four channels is filtered
// with its state held in registers across all the block's frames. Channels beyond the last
// multiple of four go through a scalar loop that performs the very same float32 operations in the
// same order, so a channel's output does not depend on whether it sat in a vector lane or in the
// tail. Nothing reads or writes past a frame.
//
// Coefficients: per section [b0, a1, a2] as f32 (b1 = 0 and b2 = −b0 for the band-pass sections of
// butterworth.ts). State: per section, `stride` floats of s1 then `stride` floats of s2
// (stride = channels rounded up to a multiple of 4).
//
// Each section's input gets DENORMAL_GUARD added: a constant far below any signal's resolution
// (x + 1e-20 == x for |x| > 1e-12), which the sections' zero at DC removes again, but which keeps
// the recursive state out of the subnormal range when a channel is exactly silent (subnormal
// arithmetic is up to 100× slower on x86, and WebAssembly cannot flush them to zero).

const DENORMAL_GUARD: f32 = 1e-20;

@inline
function section1(src: usize, dst: usize, frames: i32, channels: i32, coef: usize, state: usize, stride: i32): void {
  const b0s = load<f32>(coef);
  const a1s = load<f32>(coef, 4);
  const a2s = load<f32>(coef, 8);
  const b0 = f32x4.splat(b0s);
  const a1 = f32x4.splat(a1s);
  const a2 = f32x4.splat(a2s);
  const guard = f32x4.splat(DENORMAL_GUARD);
  const frameBytes = <usize>channels << 2;
  const strideBytes = <usize>stride << 2;
  const vectorChannels = channels & ~3;
  const pairedChannels = channels & ~7;
  let c = 0;
  // Two groups at once: their recursions are independent, so one group's multiply-add latency
  // hides behind the other's.
  for (; c < pairedChannels; c += 8) {
    const sp = state + (<usize>c << 2);
    let s1 = v128.load(sp);
    let s2 = v128.load(sp + strideBytes);
    let u1 = v128.load(sp, 16);
    let u2 = v128.load(sp + strideBytes, 16);
    let p = src + (<usize>c << 2);
    let q = dst + (<usize>c << 2);
    for (let f = 0; f < frames; f++) {
      const bx = f32x4.mul(b0, f32x4.add(v128.load(p), guard));
      const cx = f32x4.mul(b0, f32x4.add(v128.load(p, 16), guard));
      const y = f32x4.add(bx, s1);
      const z = f32x4.add(cx, u1);
      s1 = f32x4.sub(s2, f32x4.mul(a1, y));
      u1 = f32x4.sub(u2, f32x4.mul(a1, z));
      s2 = f32x4.neg(f32x4.add(bx, f32x4.mul(a2, y)));
      u2 = f32x4.neg(f32x4.add(cx, f32x4.mul(a2, z)));
      v128.store(q, y);
      v128.store(q, z, 16);
      p += frameBytes;
      q += frameBytes;
    }
    v128.store(sp, s1);
    v128.store(sp + strideBytes, s2);
    v128.store(sp, u1, 16);
    v128.store(sp + strideBytes, u2, 16);
  }
  for (; c < vectorChannels; c += 4) {
    const sp1 = state + (<usize>c << 2);
    const sp2 = sp1 + strideBytes;
    let s1 = v128.load(sp1);
    let s2 = v128.load(sp2);
    let p = src + (<usize>c << 2);
    let q = dst + (<usize>c << 2);
    for (let f = 0; f < frames; f++) {
      const bx = f32x4.mul(b0, f32x4.add(v128.load(p), guard));
      const y = f32x4.add(bx, s1);
      s1 = f32x4.sub(s2, f32x4.mul(a1, y));
      s2 = f32x4.neg(f32x4.add(bx, f32x4.mul(a2, y)));
      v128.store(q, y);
      p += frameBytes;
      q += frameBytes;
    }
    v128.store(sp1, s1);
    v128.store(sp2, s2);
  }
  for (c = vectorChannels; c < channels; c++) {
    const sp1 = state + (<usize>c << 2);
    const sp2 = sp1 + strideBytes;
    let s1 = load<f32>(sp1);
    let s2 = load<f32>(sp2);
    let p = src + (<usize>c << 2);
    let q = dst + (<usize>c << 2);
    for (let f = 0; f < frames; f++) {
      const bx: f32 = b0s * (load<f32>(p) + DENORMAL_GUARD);
      const y: f32 = bx + s1;
      s1 = s2 - a1s * y;
      s2 = -(bx + a2s * y);
      store<f32>(q, y);
      p += frameBytes;
      q += frameBytes;
    }
    store<f32>(sp1, s1);
    store<f32>(sp2, s2);
  }
}

// Two sections fused in one pass over the frames: half the memory traffic of two single passes,
// with identical arithmetic per section.
@inline
function section2(src: usize, dst: usize, frames: i32, channels: i32, coef: usize, state: usize, stride: i32): void {
  const b0s = load<f32>(coef);
  const a1s = load<f32>(coef, 4);
  const a2s = load<f32>(coef, 8);
  const c0s = load<f32>(coef, 12);
  const c1s = load<f32>(coef, 16);
  const c2s = load<f32>(coef, 20);
  const b0 = f32x4.splat(b0s);
  const a1 = f32x4.splat(a1s);
  const a2 = f32x4.splat(a2s);
  const c0 = f32x4.splat(c0s);
  const c1 = f32x4.splat(c1s);
  const c2 = f32x4.splat(c2s);
  const guard = f32x4.splat(DENORMAL_GUARD);
  const frameBytes = <usize>channels << 2;
  const strideBytes = <usize>stride << 2;
  const vectorChannels = channels & ~3;
  const pairedChannels = channels & ~7;
  let c = 0;
  for (; c < pairedChannels; c += 8) {
    const sp = state + (<usize>c << 2);
    let s1 = v128.load(sp);
    let s2 = v128.load(sp + strideBytes);
    let t1 = v128.load(sp + 2 * strideBytes);
    let t2 = v128.load(sp + 3 * strideBytes);
    let u1 = v128.load(sp, 16);
    let u2 = v128.load(sp + strideBytes, 16);
    let w1 = v128.load(sp + 2 * strideBytes, 16);
    let w2 = v128.load(sp + 3 * strideBytes, 16);
    let p = src + (<usize>c << 2);
    let q = dst + (<usize>c << 2);
    for (let f = 0; f < frames; f++) {
      const bx = f32x4.mul(b0, f32x4.add(v128.load(p), guard));
      const bx2 = f32x4.mul(b0, f32x4.add(v128.load(p, 16), guard));
      const y = f32x4.add(bx, s1);
      const y2 = f32x4.add(bx2, u1);
      s1 = f32x4.sub(s2, f32x4.mul(a1, y));
      u1 = f32x4.sub(u2, f32x4.mul(a1, y2));
      s2 = f32x4.neg(f32x4.add(bx, f32x4.mul(a2, y)));
      u2 = f32x4.neg(f32x4.add(bx2, f32x4.mul(a2, y2)));
      const cx = f32x4.mul(c0, f32x4.add(y, guard));
      const cx2 = f32x4.mul(c0, f32x4.add(y2, guard));
      const z = f32x4.add(cx, t1);
      const z2 = f32x4.add(cx2, w1);
      t1 = f32x4.sub(t2, f32x4.mul(c1, z));
      w1 = f32x4.sub(w2, f32x4.mul(c1, z2));
      t2 = f32x4.neg(f32x4.add(cx, f32x4.mul(c2, z)));
      w2 = f32x4.neg(f32x4.add(cx2, f32x4.mul(c2, z2)));
      v128.store(q, z);
      v128.store(q, z2, 16);
      p += frameBytes;
      q += frameBytes;
    }
    v128.store(sp, s1);
    v128.store(sp + strideBytes, s2);
    v128.store(sp + 2 * strideBytes, t1);
    v128.store(sp + 3 * strideBytes, t2);
    v128.store(sp, u1, 16);
    v128.store(sp + strideBytes, u2, 16);
    v128.store(sp + 2 * strideBytes, w1, 16);
    v128.store(sp + 3 * strideBytes, w2, 16);
  }
  for (; c < vectorChannels; c += 4) {
    const sp = state + (<usize>c << 2);
    let s1 = v128.load(sp);
    let s2 = v128.load(sp + strideBytes);
    let t1 = v128.load(sp + 2 * strideBytes);
    let t2 = v128.load(sp + 3 * strideBytes);
    let p = src + (<usize>c << 2);
    let q = dst + (<usize>c << 2);
    for (let f = 0; f < frames; f++) {
      const bx = f32x4.mul(b0, f32x4.add(v128.load(p), guard));
      const y = f32x4.add(bx, s1);
      s1 = f32x4.sub(s2, f32x4.mul(a1, y));
      s2 = f32x4.neg(f32x4.add(bx, f32x4.mul(a2, y)));
      const cx = f32x4.mul(c0, f32x4.add(y, guard));
      const z = f32x4.add(cx, t1);
      t1 = f32x4.sub(t2, f32x4.mul(c1, z));
      t2 = f32x4.neg(f32x4.add(cx, f32x4.mul(c2, z)));
      v128.store(q, z);
      p += frameBytes;
      q += frameBytes;
    }
    v128.store(sp, s1);
    v128.store(sp + strideBytes, s2);
    v128.store(sp + 2 * strideBytes, t1);
    v128.store(sp + 3 * strideBytes, t2);
  }
  for (c = vectorChannels; c < channels; c++) {
    const sp = state + (<usize>c << 2);
    let s1 = load<f32>(sp);
    let s2 = load<f32>(sp + strideBytes);
    let t1 = load<f32>(sp + 2 * strideBytes);
    let t2 = load<f32>(sp + 3 * strideBytes);
    let p = src + (<usize>c << 2);
    let q = dst + (<usize>c << 2);
    for (let f = 0; f < frames; f++) {
      const bx: f32 = b0s * (load<f32>(p) + DENORMAL_GUARD);
      const y: f32 = bx + s1;
      s1 = s2 - a1s * y;
      s2 = -(bx + a2s * y);
      const cx: f32 = c0s * (y + DENORMAL_GUARD);
      const z: f32 = cx + t1;
      t1 = t2 - c1s * z;
      t2 = -(cx + c2s * z);
      store<f32>(q, z);
      p += frameBytes;
      q += frameBytes;
    }
    store<f32>(sp, s1);
    store<f32>(sp + strideBytes, s2);
    store<f32>(sp + 2 * strideBytes, t1);
    store<f32>(sp + 3 * strideBytes, t2);
  }
}

/**
 * Frames per tile. A block is filtered a few frames at a time (every section, every channel group,
 * then the next tile; the state goes through memory in between, so the arithmetic is unchanged).
 * Without tiles, a group's pass down a block touches one cache line per frame, all in the same L1
 * set when a frame is a multiple of 4 KiB (1024, 2048, 3072 … channels), and those lines evict
 * each other.
 */
const TILE_FRAMES: i32 = 4; // measured: 384 ch 10.8 → 8.4 µs, 3072 ch 240 → 61 µs per 30-frame block

/** Filters `frames` frames from `src` into `dst` (which may be the same buffer) through `sections` sections. */
export function filter(src: usize, dst: usize, frames: i32, channels: i32, sections: i32, coef: usize, state: usize): void {
  const stride = (channels + 3) & ~3;
  const sectionStateBytes = <usize>stride << 3;
  const frameBytes = <usize>channels << 2;
  for (let f0 = 0; f0 < frames; f0 += TILE_FRAMES) {
    const n = min(TILE_FRAMES, frames - f0);
    const tileSrc = src + <usize>f0 * frameBytes;
    const tileDst = dst + <usize>f0 * frameBytes;
    let from = tileSrc;
    let s = 0;
    for (; s + 1 < sections; s += 2) {
      section2(from, tileDst, n, channels, coef + <usize>s * 12, state + <usize>s * sectionStateBytes, stride);
      from = tileDst;
    }
    if (s < sections) section1(from, tileDst, n, channels, coef + <usize>s * 12, state + <usize>s * sectionStateBytes, stride);
  }
}

/**
 * Sets the state so that a constant input equal to the first frame gives zero output at once (the
 * band-pass's steady state for DC): without it, a channel's DC offset would ring through the
 * high-pass edge at the start of every stream. For a section g(1 − z⁻²)/(1 + a1 z⁻¹ + a2 z⁻²) fed a
 * constant x, y = 0 and s1 = s2 = −g·x; later sections then see zero input and start at rest.
 */
export function primeState(src: usize, channels: i32, sections: i32, coef: usize, state: usize): void {
  const stride = (channels + 3) & ~3;
  memory.fill(state, 0, <usize>stride * 8 * <usize>sections);
  const b0 = load<f32>(coef);
  for (let c = 0; c < channels; c++) {
    const s: f32 = -b0 * (load<f32>(src + (<usize>c << 2)) + DENORMAL_GUARD);
    store<f32>(state + (<usize>c << 2), s);
    store<f32>(state + (<usize>(stride + c) << 2), s);
  }
}
