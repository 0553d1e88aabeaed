/**
 * Seeded random numbers for the simulator: xoshiro128** (Blackman & Vigna, "Scrambled linear
 * pseudorandom number generators", 2018/2021) for uniform 32-bit words, and a 128-layer ziggurat
 * (Marsaglia & Tsang 2000, with the independent-bits layer choice suggested by Doornik 2005) for
 * Gaussians. Written from the published descriptions.
 *
 * Every stream of randomness in the simulator has its own generator derived from (seed, name), so
 * that adding light, changing the block size or adding a unit never shifts another stream: the
 * same seed and parameters give the same bytes.
 */

const TWO_POW_M24 = 1 / 16777216;
const TWO_POW_M32 = 1 / 4294967296;

/** splitmix32-style finaliser: spreads a 32-bit input over all bits. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

/** FNV-1a over a string: turns a stream name into 32 bits. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

// ---- Ziggurat tables (128 layers of equal area v under f(x) = exp(−x²/2)). ----
const LAYERS = 128;
const ZIG_R = 3.442619855899;
const ZIG_V = 9.91256303526217e-3;
/** Right edge of layer i (layer 0 is the base strip, whose pseudo-width covers the tail's area). */
export const zigX = new Float64Array(LAYERS + 1);
/** f(zigX[i]). */
export const zigF = new Float64Array(LAYERS + 1);
{
  const f = (x: number) => Math.exp(-0.5 * x * x);
  zigX[0] = ZIG_V / f(ZIG_R);
  zigX[1] = ZIG_R;
  for (let i = 1; i < LAYERS - 1; i++) zigX[i + 1] = Math.sqrt(-2 * Math.log(f(zigX[i]) + ZIG_V / zigX[i]));
  zigX[LAYERS] = 0;
  for (let i = 0; i <= LAYERS; i++) zigF[i] = f(zigX[i]);
}
/** Scaled so that a signed 25-bit integer times it lands in [−x_i, x_i). */
export const zigXScaled = Float64Array.from(zigX, (x) => x * TWO_POW_M24);

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** A generator for one named stream of one seed. */
  constructor(seed: number, stream = '') {
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 4294967296) >>> 0;
    const h = hashName(stream);
    let x = mix32(lo ^ mix32(hi ^ mix32(h)));
    this.s0 = x = mix32(x + 0x9e3779b9);
    this.s1 = x = mix32(x + 0x9e3779b9);
    this.s2 = x = mix32(x + 0x9e3779b9);
    this.s3 = mix32(x + 0x9e3779b9);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The generator's state (for a kernel that continues the stream elsewhere). */
  exportState(out: Uint32Array): void {
    out[0] = this.s0;
    out[1] = this.s1;
    out[2] = this.s2;
    out[3] = this.s3;
  }

  /** Uniform 32-bit word as an unsigned number. */
  nextU32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextU32() * TWO_POW_M32;
  }

  /** Uniform in (0, 1]: safe for log(). */
  uniformOpen(): number {
    return (this.nextU32() + 1) * TWO_POW_M32;
  }

  range(min: number, max: number): number {
    return min + (max - min) * this.uniform();
  }

  /** Log-uniform between two positive bounds. */
  logRange(min: number, max: number): number {
    return Math.exp(this.range(Math.log(min), Math.log(max)));
  }

  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /** Standard normal. */
  gaussian(): number {
    for (;;) {
      const a = this.nextU32() | 0;
      const i = a & (LAYERS - 1);
      const x = (a >> 7) * zigXScaled[i];
      if (Math.abs(x) < zigX[i + 1]) return x;
      const r = this.zigguratSlow(i, x);
      if (r === r) return r;
    }
  }

  /** The rare (≈1.2 %) branch: tail or wedge. Returns NaN to ask for a new draw. */
  private zigguratSlow(i: number, x: number): number {
    if (i === 0) {
      let a: number;
      let b: number;
      do {
        a = -Math.log(this.uniformOpen()) / ZIG_R;
        b = -Math.log(this.uniformOpen());
      } while (b + b < a * a);
      return x > 0 ? ZIG_R + a : -ZIG_R - a;
    }
    const y = zigF[i] + this.uniform() * (zigF[i + 1] - zigF[i]);
    return y < Math.exp(-0.5 * x * x) ? x : NaN;
  }

  /**
   * Fills out[offset … offset+count) with N(0,1) × scale[k % scaleLength] (k from 0): the per-sample
   * hot loop of the noise generator, with the generator's state in locals.
   */
  fillGaussianScaled(out: Float32Array, offset: number, count: number, scale: Float32Array, scaleLength: number): void {
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    let c = 0;
    const end = offset + count;
    for (let k = offset; k < end; k++) {
      let value: number;
      for (;;) {
        const a = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
        const t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        const i = a & (LAYERS - 1);
        const x = (a >> 7) * zigXScaled[i];
        if (x < zigX[i + 1] && x > -zigX[i + 1]) {
          value = x;
          break;
        }
        // Rare branch: hand the state back, draw through the method, take it again.
        this.s0 = s0;
        this.s1 = s1;
        this.s2 = s2;
        this.s3 = s3;
        const r = this.zigguratSlow(i, x);
        s0 = this.s0;
        s1 = this.s1;
        s2 = this.s2;
        s3 = this.s3;
        if (r === r) {
          value = r;
          break;
        }
      }
      out[k] = value * scale[c];
      if (++c === scaleLength) c = 0;
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
  }

  /** Gamma(shape, 1) by Marsaglia & Tsang (2000); shape < 1 through the u^(1/shape) boost. */
  gamma(shape: number): number {
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(this.uniformOpen(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.gaussian();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniformOpen();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  exponential(): number {
    return -Math.log(this.uniformOpen());
  }

  /** Geometric count ≥ 0 with success probability p per trial. */
  geometric(p: number): number {
    if (p >= 1) return 0;
    return Math.floor(Math.log(this.uniformOpen()) / Math.log(1 - p));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
