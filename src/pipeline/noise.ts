import type { OperatorFunction } from 'rxjs';
import { OptoloopError } from '../core/errors.js';
import type { Float32SampleBlock } from '../core/sample-block.js';
import { noiseOptionsSchema, validateOptions, type NoiseOptions } from './options.js';
import type { NoiseBlock } from './results.js';
import { stageOperator } from './stage-operator.js';
import { StreamCheck, plannedFrames } from './stream-check.js';
import { copyPrefix } from './typed-copy.js';
import { WasmArena } from '../wasm/kernel.js';

interface HistogramKernel {
  accumulate(data: number, channels: number, firstFrame: number, untilFrame: number, step: number, histogram: number): void;
  medianBins(histogram: number, channels: number, counted: number, medianBin: number, belowBin: number, cumulative: number): void;
}

const STAGE = 'pipeline.noise';

/** Φ⁻¹(0.75): the median of |x| for Gaussian noise of σ = 1. */
const MAD_PER_SIGMA = 0.6744897501960817;

// Histogram of |x| (counted by the noise-histogram kernel): bins equally spaced in log2, 16 per
// octave (4.4 % wide), from 0.125 µV to 8192 µV, read straight off a float32's bits (exponent and
// top 4 mantissa bits); u16 counts, bin-major (bin × channels + channel).
const BINS = 256;
const BIN_SHIFT = 19; // 23 mantissa bits − 4 (the kernel has the same)
const LOWEST_BIN_BITS = 0x3e000000 >> BIN_SHIFT; // 0.125 µV
const MAX_WINDOW_SAMPLES = 65535; // Uint16 counts

const bitsScratch = new Float32Array(1);
const bitsScratchInt = new Int32Array(bitsScratch.buffer);
/** The lower edge (µV) of histogram bin b. */
function binLowerUv(b: number): number {
  if (b <= 0) return 0;
  bitsScratchInt[0] = (b + LOWEST_BIN_BITS) << BIN_SHIFT;
  return bitsScratch[0];
}

/**
 * Per-channel noise σ of a filtered (zero-median) signal: σ = median(|x|) / 0.6745, the robust
 * estimator of Quiroga et al. (2004) — spikes, being rare, barely move a median, where they would
 * inflate a standard deviation. For a band-passed signal (no DC, median 0) median(|x|) is the
 * median absolute deviation.
 *
 * - **Windows aligned to absolute sample indices**: window k covers samples [k·W, (k+1)·W),
 *   W = windowMs at the stream's rate, and only samples whose index is a multiple of
 *   `decimation` are counted. Where blocks begin or end changes nothing, so the estimate — and the
 *   detection that uses it — is the same whatever the block sizes.
 * - **Cheap**: each counted sample increments one bin of a per-channel log-spaced histogram (16
 *   bins per octave, 0.125 µV … 8 mV, the bin read off the float's bits, in WebAssembly SIMD);
 *   the median is read from the histogram, interpolated within its bin, when a window ends.
 * - **Adapting slowly**: each new window's σ is blended in with weight α = 1 − exp(−W / τ)
 *   (τ = timeConstantS; 0 takes each window as it is).
 * - **Start-up**: σ is NaN on every channel until the first window has ended, and a threshold of
 *   k·σ then matches nothing, so σ-relative detection starts at the end of the stream's first
 *   window (after at most windowMs, less when the stream starts mid-window); the first window's σ
 *   is taken as is. A window counts only if at least half of its samples arrived (a stream
 *   starting late in a window, or a gap, leaves it out).
 *
 * A new estimate takes effect at the first sample after its window, which may fall inside a block:
 * the emitted {@link NoiseBlock} lists the segments of the block with their σ. Emits the input
 * block unchanged (borrowed) inside a borrowed NoiseBlock.
 */
export function estimateNoise(options?: Partial<NoiseOptions>): OperatorFunction<Float32SampleBlock, NoiseBlock> {
  const opts = validateOptions(noiseOptionsSchema, options, STAGE);
  return stageOperator(() => new NoiseState(opts));
}

interface MutableNoiseBlock {
  block: Float32SampleBlock;
  noiseUv: Float32Array;
  segmentCount: number;
  segmentStartFrame: Int32Array;
  segmentNoiseUv: Float32Array;
}

class NoiseState {
  private readonly check = new StreamCheck(STAGE);
  private channels = 0;
  private windowFrames = 0;
  private alpha = 1;
  private minSamples = 0;
  private arena: WasmArena<HistogramKernel> | null = null;
  private histogramPtr = 0;
  private dataPtr = 0;
  private capacityFrames = 0;
  private generation = -1;
  private histogram: Uint16Array = new Uint16Array(0);
  private dataView: Float32Array = new Float32Array(0);
  private windowMedianUv = new Float64Array(0);
  private medianBinPtr = 0;
  private belowBinPtr = 0;
  private cumulativePtr = 0;
  private medianBin: Int32Array = new Int32Array(0);
  private belowBin: Int32Array = new Int32Array(0);
  /** Samples counted in the current window (per channel: every channel counts the same frames). */
  private counted = 0;
  /** Index of the window being filled, −1 when none. */
  private window = -1;
  private sigmaUv = new Float32Array(0);
  private segmentCapacity = 0;
  private readonly out: MutableNoiseBlock = {
    block: null as unknown as Float32SampleBlock,
    noiseUv: new Float32Array(0),
    segmentCount: 0,
    segmentStartFrame: new Int32Array(0),
    segmentNoiseUv: new Float32Array(0),
  };

  constructor(private readonly opts: NoiseOptions) {}

  process(block: Float32SampleBlock): NoiseBlock {
    const error = this.check.accept(block);
    if (error) throw error;
    if (this.windowFrames === 0) this.setUp(block.channelCount, block.sampleRateHz);
    const frames = block.frameCount;
    const C = this.channels;
    const W = this.windowFrames;
    const first = block.firstSampleIndex;
    if (Math.floor(frames / W) + 2 > this.segmentCapacity) this.planSegments(frames);
    if (frames > this.capacityFrames) this.planData(frames);
    const arena = this.arena!;
    if (this.generation !== arena.generation) this.takeViews();
    copyPrefix(this.dataView, block.samples, frames * C);
    const out = this.out;
    out.block = block;
    out.segmentStartFrame[0] = 0;
    out.segmentNoiseUv.set(this.sigmaUv);
    out.segmentCount = 1;

    let f = 0;
    while (f < frames) {
      const abs = first + f;
      const window = Math.floor(abs / W);
      if (window !== this.window) {
        // A gap (or the stream's start) took us into a later window: close what was being filled.
        if (this.window >= 0) this.finishWindow(f, frames);
        this.window = window;
      }
      const windowEnd = (window + 1) * W;
      const until = Math.min(frames, windowEnd - first);
      this.accumulate(f, until, first);
      f = until;
      if (first + f === windowEnd) {
        this.finishWindow(f, frames);
        this.window = -1;
      }
    }
    const last = (out.segmentCount - 1) * C;
    for (let c = 0; c < C; c++) out.noiseUv[c] = out.segmentNoiseUv[last + c];
    return out;
  }

  /** Counts the decimated samples of frames [from, until) into the histogram. */
  private accumulate(from: number, until: number, first: number): void {
    const D = this.opts.decimation;
    // First frame ≥ from whose absolute index is a multiple of D.
    const f = from + ((D - ((first + from) % D)) % D);
    if (f >= until) return;
    this.arena!.exports.accumulate(this.dataPtr, this.channels, f, until, D, this.histogramPtr);
    this.counted += Math.ceil((until - f) / D);
  }

  /** Ends the window being filled: its σ takes effect at frame `atFrame` of the current block. */
  private finishWindow(atFrame: number, frames: number): void {
    const C = this.channels;
    if (this.counted >= this.minSamples) {
      const half = this.counted / 2;
      const arena = this.arena!;
      // The bin holding each channel's median, and the count below it, found in the kernel.
      arena.exports.medianBins(this.histogramPtr, C, this.counted, this.medianBinPtr, this.belowBinPtr, this.cumulativePtr);
      const histogram = this.histogram;
      const medianBin = this.medianBin;
      const belowBin = this.belowBin;
      const medianUv = this.windowMedianUv;
      for (let c = 0; c < C; c++) {
        // Interpolated within the bin, as if its samples were spread evenly across it.
        const b = medianBin[c];
        const lower = binLowerUv(b);
        const upper = b === BINS - 1 ? lower * 1.0442737824274138 : binLowerUv(b + 1);
        const inBin = histogram[b * C + c];
        medianUv[c] = inBin > 0 ? lower + ((upper - lower) * (half - belowBin[c])) / inBin : lower;
      }
      for (let c = 0; c < C; c++) {
        const windowSigma = medianUv[c] / MAD_PER_SIGMA;
        const previous = this.sigmaUv[c];
        this.sigmaUv[c] = Number.isNaN(previous) ? windowSigma : previous + this.alpha * (windowSigma - previous);
      }
      if (atFrame < frames) {
        const out = this.out;
        const k = out.segmentCount;
        if (out.segmentStartFrame[k - 1] === atFrame) {
          out.segmentNoiseUv.set(this.sigmaUv, (k - 1) * C);
        } else {
          out.segmentStartFrame[k] = atFrame;
          out.segmentNoiseUv.set(this.sigmaUv, k * C);
          out.segmentCount = k + 1;
        }
      }
    }
    this.histogram.fill(0);
    this.counted = 0;
  }

  private setUp(channels: number, sampleRateHz: number): void {
    const { windowMs, decimation, timeConstantS } = this.opts;
    this.channels = channels;
    this.windowFrames = Math.max(1, Math.round((windowMs * sampleRateHz) / 1000));
    const perWindow = Math.ceil(this.windowFrames / decimation);
    if (perWindow > MAX_WINDOW_SAMPLES) {
      const maxMs = Math.floor((MAX_WINDOW_SAMPLES * decimation * 1000) / sampleRateHz);
      throw new OptoloopError(
        'E_OPTIONS_INVALID',
        `${STAGE}.windowMs: expected at most ${maxMs} ms at ${sampleRateHz} Hz with decimation ${decimation} (${MAX_WINDOW_SAMPLES} samples per window), got ${windowMs}`,
        { stage: STAGE, details: { field: 'windowMs' } },
      );
    }
    this.minSamples = Math.max(1, Math.ceil(perWindow / 2));
    const windowS = this.windowFrames / sampleRateHz;
    this.alpha = timeConstantS > 0 ? 1 - Math.exp(-windowS / timeConstantS) : 1;
    const arena = new WasmArena<HistogramKernel>('noise-histogram');
    this.histogramPtr = arena.alloc(channels * BINS * 2);
    this.medianBinPtr = arena.alloc(channels * 4);
    this.belowBinPtr = arena.alloc(channels * 4);
    this.cumulativePtr = arena.alloc(channels * 4);
    this.arena = arena;
    this.windowMedianUv = new Float64Array(channels);
    this.sigmaUv = new Float32Array(channels).fill(Number.NaN);
    this.out.noiseUv = new Float32Array(channels);
  }

  /** A data buffer for blocks of up to `frames` frames (a larger block later gets one above it). */
  private planData(frames: number): void {
    this.capacityFrames = plannedFrames(frames);
    this.dataPtr = this.arena!.alloc(this.capacityFrames * this.channels * 4);
    this.generation = -1;
  }

  /** Views last: an allocation may have grown (and so detached) the memory. */
  private takeViews(): void {
    const arena = this.arena!;
    this.histogram = arena.u16(this.histogramPtr, this.channels * BINS);
    this.medianBin = arena.i32(this.medianBinPtr, this.channels);
    this.belowBin = arena.i32(this.belowBinPtr, this.channels);
    this.dataView = arena.f32(this.dataPtr, this.capacityFrames * this.channels);
    this.generation = arena.generation;
  }

  private planSegments(frames: number): void {
    this.segmentCapacity = Math.floor(frames / this.windowFrames) + 2;
    this.out.segmentStartFrame = new Int32Array(this.segmentCapacity);
    this.out.segmentNoiseUv = new Float32Array(this.segmentCapacity * this.channels);
  }
}
