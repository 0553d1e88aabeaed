/**
 * What the emulated Cyton's electrodes see: a voltage per channel per ADS1299 sample (250 Hz).
 */

export interface CytonSignal {
  /** Writes the input of ADS sample `sampleIndex` (since `b`) for 16 channels, µV, into `outUv`. */
  fill(sampleIndex: number, outUv: Float64Array): void;
}

/** A 32-bit integer hash (splitmix/murmur finaliser): the same inputs give the same bits forever. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

function uniform(seed: number, n: number, c: number, k: number): number {
  const h = mix32(mix32(mix32(seed ^ 0x9e3779b9) ^ (n >>> 0)) ^ Math.imul(c + 1, 0x85ebca6b) ^ Math.imul(k + 1, 0xc2b2ae35));
  return (h + 0.5) / 4294967296;
}

/**
 * A seeded EEG-like test signal: per channel a sinusoid (alpha-band frequency and amplitude that
 * differ per channel) plus Gaussian noise. A pure function of (seed, sample, channel), so a test
 * can regenerate any sample without replaying the stream.
 */
export class SeededCytonSignal implements CytonSignal {
  constructor(
    private readonly seed: number,
    private readonly amplitudeUv = 40,
    private readonly noiseUv = 8,
  ) {}

  fill(sampleIndex: number, outUv: Float64Array): void {
    for (let c = 0; c < 16; c++) outUv[c] = this.valueUv(sampleIndex, c);
  }

  valueUv(sampleIndex: number, channel: number): number {
    const frequencyHz = 8 + ((channel * 7) % 6) + uniform(this.seed, 0, channel, 9);
    const amplitude = this.amplitudeUv * (0.5 + uniform(this.seed, 0, channel, 8));
    const u1 = uniform(this.seed, sampleIndex, channel, 0);
    const u2 = uniform(this.seed, sampleIndex, channel, 1);
    const gaussian = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    return amplitude * Math.sin((2 * Math.PI * frequencyHz * sampleIndex) / 250) + this.noiseUv * gaussian;
  }
}

/**
 * A recorded or simulated signal played to the emulated electrodes: frames of µV, frame-major
 * (`framesUv[f × channelCount + c]`) at 250 Hz, looped. Channels beyond `channelCount` read 0.
 */
export class FramesCytonSignal implements CytonSignal {
  private readonly frameCount: number;

  constructor(
    private readonly framesUv: Float32Array,
    private readonly channelCount: number,
  ) {
    if (!(Number.isInteger(channelCount) && channelCount >= 1 && channelCount <= 16) || framesUv.length < channelCount) {
      throw new RangeError(`FramesCytonSignal: expected 1–16 channels and at least one frame, got ${channelCount} channels and ${framesUv.length} values`);
    }
    this.frameCount = Math.floor(framesUv.length / channelCount);
  }

  fill(sampleIndex: number, outUv: Float64Array): void {
    const base = (sampleIndex % this.frameCount) * this.channelCount;
    for (let c = 0; c < 16; c++) outUv[c] = c < this.channelCount ? this.framesUv[base + c] : 0;
  }
}
