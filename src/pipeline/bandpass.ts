import type { OperatorFunction } from 'rxjs';
import { OptoloopError } from '../core/errors.js';
import type { Float32SampleBlock, MutableFloat32Block } from '../core/sample-block.js';
import { WasmArena } from '../wasm/kernel.js';
import { designButterworthBandpass } from './butterworth.js';
import { bandpassOptionsSchema, validateOptions, type BandpassOptions } from './options.js';
import { stageOperator } from './stage-operator.js';
import { StreamCheck, plannedFrames } from './stream-check.js';
import { copyPrefix } from './typed-copy.js';

const STAGE = 'pipeline.bandpass';

interface SosKernel {
  filter(src: number, dst: number, frames: number, channels: number, sections: number, coef: number, state: number): void;
  primeState(src: number, channels: number, sections: number, coef: number, state: number): void;
}

/**
 * Butterworth band-pass (design in `butterworth.ts`: `order` sections, each edge of that order),
 * run as float32 second-order sections in WebAssembly SIMD. Each channel's filter state is carried
 * from block to block, and the arithmetic per sample does not depend on where blocks begin or end,
 * so the output is bit-identical whatever the block sizes. The state starts at the steady state
 * of the first frame (see `primeState`), so channel DC offsets do not ring at stream start.
 *
 * The filter is designed when the first block gives the sample rate; corners at or above Nyquist
 * then error with E_OPTIONS_INVALID naming the field. Emits a **borrowed** float32 block.
 */
export function bandpass(options?: Partial<BandpassOptions>): OperatorFunction<Float32SampleBlock, Float32SampleBlock> {
  const opts = validateOptions(bandpassOptionsSchema, options, STAGE);
  return stageOperator(() => new BandpassState(opts));
}

/** The float32 coefficients [b0, a1, a2] per section, after checking the corners against Nyquist. */
export function bandpassCoefficients(opts: BandpassOptions, sampleRateHz: number): Float32Array {
  const nyquistHz = sampleRateHz / 2;
  const problems: string[] = [];
  for (const field of ['lowHz', 'highHz'] as const) {
    if (opts[field] >= nyquistHz) {
      problems.push(`${STAGE}.${field}: expected a number below Nyquist (${nyquistHz} Hz at ${sampleRateHz} Hz sampling), got ${opts[field]}`);
    }
  }
  if (problems.length) {
    throw new OptoloopError('E_OPTIONS_INVALID', problems.join('\n'), { stage: STAGE, details: { sampleRateHz, nyquistHz } });
  }
  const design = designButterworthBandpass(opts.lowHz, opts.highHz, sampleRateHz, opts.order);
  const coef = new Float32Array(design.sections.length * 3);
  design.sections.forEach((s, k) => coef.set([s.b0, s.a1, s.a2], k * 3));
  return coef;
}

class BandpassState {
  private readonly check = new StreamCheck(STAGE);
  private arena: WasmArena<SosKernel> | null = null;
  private sections = 0;
  private channels = 0;
  private capacityFrames = 0;
  private coefPtr = 0;
  private statePtr = 0;
  private dataPtr = 0;
  private primed = false;
  private generation = -1;
  private dataView: Float32Array = new Float32Array(0);
  private emittedView: Float32Array = new Float32Array(0);
  private readonly out: MutableFloat32Block = {
    format: 'float32',
    streamId: '',
    firstSampleIndex: 0,
    sampleRateHz: 0,
    channelCount: 0,
    frameCount: 0,
    samples: new Float32Array(0),
    deviceTimestamp: null,
    hostReceiveTimeNs: 0,
  };

  constructor(private readonly opts: BandpassOptions) {}

  process(block: Float32SampleBlock): Float32SampleBlock {
    const error = this.check.accept(block);
    if (error) throw error;
    if ((block as { format: string }).format !== 'float32') {
      throw new OptoloopError('E_BLOCK_MISMATCH', `${STAGE}: expected float32 µV blocks (put commonReference first), got ${(block as { format: string }).format}`, { stage: STAGE });
    }
    const channels = block.channelCount;
    const frames = block.frameCount;
    if (!this.arena) this.setUp(channels, block.sampleRateHz);
    if (frames > this.capacityFrames) this.plan(frames);
    const arena = this.arena!;
    copyPrefix(this.dataView, block.samples, frames * channels);
    if (!this.primed && frames > 0) {
      arena.exports.primeState(this.dataPtr, channels, this.sections, this.coefPtr, this.statePtr);
      this.primed = true;
    }
    arena.exports.filter(this.dataPtr, this.dataPtr, frames, channels, this.sections, this.coefPtr, this.statePtr);
    const count = frames * channels;
    if (this.emittedView.length !== count || this.generation !== arena.generation) {
      this.emittedView = arena.f32(this.dataPtr, count);
      this.generation = arena.generation;
    }
    const out = this.out;
    out.streamId = block.streamId;
    out.firstSampleIndex = block.firstSampleIndex;
    out.sampleRateHz = block.sampleRateHz;
    out.channelCount = channels;
    out.frameCount = frames;
    out.samples = this.emittedView;
    out.deviceTimestamp = block.deviceTimestamp;
    out.hostReceiveTimeNs = block.hostReceiveTimeNs;
    return out;
  }

  private setUp(channels: number, sampleRateHz: number): void {
    const coef = bandpassCoefficients(this.opts, sampleRateHz);
    this.sections = coef.length / 3;
    this.channels = channels;
    const arena = new WasmArena<SosKernel>('sos-filter');
    this.coefPtr = arena.alloc(coef.length * 4);
    arena.f32(this.coefPtr, coef.length).set(coef);
    const stride = (channels + 3) & ~3;
    this.statePtr = arena.alloc(this.sections * 2 * stride * 4);
    this.arena = arena;
  }

  /** A data buffer for blocks of up to `frames` frames. A larger block later allocates a new one above it (the state stays put). */
  private plan(frames: number): void {
    this.capacityFrames = plannedFrames(frames);
    this.dataPtr = this.arena!.alloc(this.capacityFrames * this.channels * 4);
    this.dataView = this.arena!.f32(this.dataPtr, this.capacityFrames * this.channels);
    this.generation = -1;
  }
}
