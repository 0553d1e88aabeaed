// The simulator's per-sample kernels (AssemblyScript → build/wasm/sim_kernels.wasm): Gaussian
// thermal noise (xoshiro128** + 128-layer ziggurat, the same algorithm as sim/rng.ts) and the
// conversion of µV to ADC counts. The host (sim/wasm-kernels.ts) lays out every buffer in linear
// memory at set-up; nothing here allocates.

/** Tables at `tables`: zigX f64[129], then zigXScaled f64[128], then zigF f64[129]. */
const LAYERS: i32 = 128;
const ZIG_R: f64 = 3.442619855899;
const TWO_POW_M32: f64 = 1.0 / 4294967296.0;

// @ts-ignore: decorator
@inline function zx(tables: usize, i: i32): f64 {
  return load<f64>(tables + (<usize>i << 3));
}
// @ts-ignore: decorator
@inline function zxs(tables: usize, i: i32): f64 {
  return load<f64>(tables + 129 * 8 + (<usize>i << 3));
}
// @ts-ignore: decorator
@inline function zf(tables: usize, i: i32): f64 {
  return load<f64>(tables + (129 + 128) * 8 + (<usize>i << 3));
}

let s0: u32 = 0;
let s1: u32 = 0;
let s2: u32 = 0;
let s3: u32 = 0;

// @ts-ignore: decorator
@inline function next(): u32 {
  const result = rotl<u32>(s1 * 5, 7) * 9;
  const t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = rotl<u32>(s3, 11);
  return result;
}

function uniformOpen(): f64 {
  return (<f64>next() + 1.0) * TWO_POW_M32;
}

/** The rare branch (tail or wedge); NaN asks for a new draw. */
function slow(tables: usize, i: i32, x: f64): f64 {
  if (i == 0) {
    let a: f64;
    let b: f64;
    do {
      a = -Math.log(uniformOpen()) / ZIG_R;
      b = -Math.log(uniformOpen());
    } while (b + b < a * a);
    return x > 0 ? ZIG_R + a : -ZIG_R - a;
  }
  const y = zf(tables, i) + <f64>next() * TWO_POW_M32 * (zf(tables, i + 1) - zf(tables, i));
  return y < Math.exp(-0.5 * x * x) ? x : NaN;
}

/**
 * out[k] = N(0,1) × scale[k % scaleLength] for k in [0, n): the generator state (4 × u32) is read
 * from and written back to `state`.
 */
export function fillGaussian(state: usize, tables: usize, out: usize, n: i32, scale: usize, scaleLength: i32): void {
  s0 = load<u32>(state);
  s1 = load<u32>(state + 4);
  s2 = load<u32>(state + 8);
  s3 = load<u32>(state + 12);
  let c: i32 = 0;
  for (let k: i32 = 0; k < n; k++) {
    let value: f64 = 0;
    while (true) {
      const a = <i32>next();
      const i = a & (LAYERS - 1);
      const x = <f64>(a >> 7) * zxs(tables, i);
      const edge = zx(tables, i + 1);
      if (x < edge && x > -edge) {
        value = x;
        break;
      }
      const r = slow(tables, i, x);
      if (r == r) {
        value = r;
        break;
      }
    }
    store<f32>(out + (<usize>k << 2), <f32>(value * <f64>load<f32>(scale + (<usize>c << 2))));
    if (++c == scaleLength) c = 0;
  }
  store<u32>(state, s0);
  store<u32>(state + 4, s1);
  store<u32>(state + 8, s2);
  store<u32>(state + 12, s3);
}

/**
 * out (i16) = clamp(floor((acc + common[f]) × inv + 0.5), lo, hi) for `frames` frames of
 * `channels`: µV to ADC counts, rounded to nearest, clipped at the ADC range. SIMD, 8 samples at a
 * time, the tail of each frame scalar.
 */
export function quantize(acc: usize, out: usize, frames: i32, channels: i32, common: usize, inv: f32, lo: f32, hi: f32): void {
  const vinv = f32x4.splat(inv);
  const vhalf = f32x4.splat(0.5);
  const vlo = f32x4.splat(lo);
  const vhi = f32x4.splat(hi);
  const vectorEnd = channels & ~7;
  for (let f: i32 = 0; f < frames; f++) {
    const cm = load<f32>(common + (<usize>f << 2));
    const vcm = f32x4.splat(cm);
    const row = <usize>f * <usize>channels;
    let c: i32 = 0;
    for (; c < vectorEnd; c += 8) {
      const p = acc + ((row + <usize>c) << 2);
      let a = f32x4.add(f32x4.mul(f32x4.add(v128.load(p), vcm), vinv), vhalf);
      let b = f32x4.add(f32x4.mul(f32x4.add(v128.load(p, 16), vcm), vinv), vhalf);
      a = f32x4.floor(f32x4.min(f32x4.max(a, vlo), vhi));
      b = f32x4.floor(f32x4.min(f32x4.max(b, vlo), vhi));
      v128.store(out + ((row + <usize>c) << 1), i16x8.narrow_i32x4_s(i32x4.trunc_sat_f32x4_s(a), i32x4.trunc_sat_f32x4_s(b)));
    }
    for (; c < channels; c++) {
      const i = row + <usize>c;
      let v = (load<f32>(acc + (i << 2)) + cm) * inv + <f32>0.5;
      v = v < lo ? lo : v > hi ? hi : v;
      store<i16>(out + (i << 1), <i16>(<i32>Mathf.floor(v)));
    }
  }
}

/**
 * Adds `frames` frames of a unit's template into acc, for a footprint that is a contiguous channel
 * range of `width` channels: acc[(f, c0 + k)] += gains[k] × template[(tOffset + f) × width + k].
 * `accOffset` is the index of (first frame, c0) in acc. SIMD over channels, 4 at a time.
 */
export function addDense(acc: usize, channels: i32, accOffset: i32, template: usize, tOffset: i32, frames: i32, width: i32, gains: usize): void {
  const vectorEnd = width & ~3;
  for (let f: i32 = 0; f < frames; f++) {
    const row = acc + (<usize>(accOffset + f * channels) << 2);
    const tp = template + (<usize>((tOffset + f) * width) << 2);
    let k: i32 = 0;
    for (; k < vectorEnd; k += 4) {
      const o = <usize>k << 2;
      v128.store(row + o, f32x4.add(v128.load(row + o), f32x4.mul(v128.load(gains + o), v128.load(tp + o))));
    }
    for (; k < width; k++) {
      const o = <usize>k << 2;
      store<f32>(row + o, load<f32>(row + o) + load<f32>(gains + o) * load<f32>(tp + o));
    }
  }
}
