import type { OperatorFunction } from 'rxjs';
import { OptoloopError } from '../core/errors.js';
import { allocateSpikeBatch, type DetectionResult, type SpikeBatch } from '../core/spikes.js';
import type { ChannelLayout } from '../probe/channel-layout.js';
import { neighbourhoodsByRadius } from '../probe/neighbourhoods.js';
import { WasmArena } from '../wasm/kernel.js';
import { detectOptionsSchema, validateOptions, type DetectOptions } from './options.js';
import type { NoiseBlock } from './results.js';
import { stageOperator } from './stage-operator.js';
import { StreamCheck, plannedFrames } from './stream-check.js';
import { copyPrefix } from './typed-copy.js';

const STAGE = 'pipeline.detect';

interface DetectKernel {
  configure(channels: number, peakWindow: number, refractory: number, thresholds: number, lockUntil: number, hoodOffsets: number, hoodIndices: number): void;
  useBuffers(ring: number, bits: number, absIndex: number, capacity: number, outIndex: number, outChannel: number, outAmplitude: number, outCapacity: number): void;
  reserve(frames: number): number;
  scan(position: number, frames: number, firstSampleIndex: number): void;
  evaluate(): number;
  overflowCount(): number;
}

/**
 * Threshold detection with space-time de-duplication.
 *
 * - **Crossing**: a sample below −thresholdSigma × σ of its channel (σ from `estimateNoise`, in
 *   force at that sample), or below `thresholdUv` when that is set. While σ is unknown (NaN, the
 *   noise stage's first window) σ-relative thresholds match nothing.
 * - **Spike**: a crossing sample that is the most negative sample within ±peakWindowMs in time and
 *   over its channel's neighbourhood (channels within radiusUm on the same shank). A spike seen on
 *   ten channels is therefore reported once, on its peak channel, at its trough. Ties go to the
 *   earliest sample, then the lowest channel.
 * - **Refractory**: after a spike at sample t on channel c, every channel of c's neighbourhood
 *   ignores peaks up to t + refractoryMs.
 * - **Delay**: a trough is confirmed only once the samples peakWindowMs after it have arrived, so
 *   each spike is reported with the block that completes its window, up to peakWindowMs (plus the
 *   block's length) after the trough. Detection is the same whatever the block sizes; troughs in
 *   the last peakWindowMs before a stream ends are not reported.
 *
 * Emits one {@link DetectionResult} per block (the input block, borrowed, with the spikes its
 * arrival confirmed) in a spike batch reused for every block; `sourceReceiveTimeNs` is the host
 * receive time of that block. The crossing scan and the extreme search run in WebAssembly SIMD.
 */
export function detectSpikes(options: Partial<DetectOptions> | undefined, layout: ChannelLayout): OperatorFunction<NoiseBlock, DetectionResult> {
  const opts = validateOptions(detectOptionsSchema, options, STAGE);
  if (!layout || !(layout.channelCount > 0)) {
    throw new OptoloopError('E_OPTIONS_INVALID', `${STAGE}: expected a channel layout (the probe geometry sets each channel's neighbourhood)`, { stage: STAGE });
  }
  const hoods = neighbourhoodsByRadius(layout, opts.radiusUm);
  return stageOperator(() => new DetectState(opts, layout, hoods.offsets, hoods.indices));
}

interface MutableDetectionResult {
  block: DetectionResult['block'];
  noiseUv: Float32Array;
  spikes: SpikeBatch;
}

class DetectState {
  private readonly check = new StreamCheck(STAGE);
  private arena: WasmArena<DetectKernel> | null = null;
  private channels = 0;
  private peakWindow = 1;
  private capacityFrames = 0;
  private ringView: Float32Array = new Float32Array(0);
  private thresholdView: Float32Array = new Float32Array(0);
  private thresholdsPtr = 0;
  private batch: SpikeBatch | null = null;
  private streamId = '';
  private sampleRateHz = 0;
  private readonly out: MutableDetectionResult = {
    block: null as unknown as DetectionResult['block'],
    noiseUv: new Float32Array(0),
    spikes: null as unknown as SpikeBatch,
  };

  constructor(
    private readonly opts: DetectOptions,
    private readonly layout: ChannelLayout,
    private readonly hoodOffsets: Int32Array,
    private readonly hoodIndices: Int32Array,
  ) {}

  process(input: NoiseBlock): DetectionResult {
    const block = input.block;
    const error = this.check.accept(block);
    if (error) throw error;
    if (!this.arena) this.setUp(block.channelCount, block.sampleRateHz, block.streamId);
    const frames = block.frameCount;
    const C = this.channels;
    if (frames > this.capacityFrames) this.plan(frames);
    const kernel = this.arena!.exports;
    let position = kernel.reserve(frames);
    if (position < 0) {
      this.plan(frames);
      position = kernel.reserve(frames);
      if (position < 0) throw new OptoloopError('E_INTERNAL', `${STAGE}: no room for a block of ${frames} frames after re-planning`, { stage: STAGE });
    }
    copyPrefix(this.ringView, block.samples, frames * C, position * C);
    const fixed = this.opts.thresholdUv !== null;
    for (let k = 0; k < input.segmentCount; k++) {
      const start = input.segmentStartFrame[k];
      const end = k + 1 < input.segmentCount ? input.segmentStartFrame[k + 1] : frames;
      if (!fixed) {
        const factor = -this.opts.thresholdSigma;
        const sigma = input.segmentNoiseUv;
        const thresholds = this.thresholdView;
        for (let c = 0, i = k * C; c < C; c++, i++) thresholds[c] = factor * sigma[i];
      }
      if (end > start) kernel.scan(position + start, end - start, block.firstSampleIndex + start);
    }
    const batch = this.batch!;
    const count = kernel.evaluate();
    batch.count = count;
    batch.unitId.fill(-1, 0, count);
    batch.sourceReceiveTimeNs = block.hostReceiveTimeNs;
    const out = this.out;
    out.block = block;
    out.noiseUv = input.noiseUv;
    out.spikes = batch;
    return out;
  }

  private setUp(channels: number, sampleRateHz: number, streamId: string): void {
    if (channels !== this.layout.channelCount) {
      throw new OptoloopError(
        'E_BLOCK_MISMATCH',
        `${STAGE}: the stream has ${channels} channels but the channel layout (${this.layout.probeName}) has ${this.layout.channelCount}`,
        { stage: STAGE, details: { expected: this.layout.channelCount, got: channels } },
      );
    }
    this.channels = channels;
    this.peakWindow = Math.max(1, Math.round((this.opts.peakWindowMs * sampleRateHz) / 1000));
    const refractory = Math.round((this.opts.refractoryMs * sampleRateHz) / 1000);
    const arena = new WasmArena<DetectKernel>('spike-detect');
    this.thresholdsPtr = arena.alloc(channels * 4);
    const lockPtr = arena.alloc(channels * 4);
    const offsetsPtr = arena.alloc(this.hoodOffsets.length * 4);
    const indicesPtr = arena.alloc(this.hoodIndices.length * 4);
    arena.i32(offsetsPtr, this.hoodOffsets.length).set(this.hoodOffsets);
    arena.i32(indicesPtr, this.hoodIndices.length).set(this.hoodIndices);
    arena.exports.configure(channels, this.peakWindow, refractory, this.thresholdsPtr, lockPtr, offsetsPtr, indicesPtr);
    this.arena = arena;
    this.streamId = streamId;
    this.sampleRateHz = sampleRateHz;
  }

  /**
   * Buffers for blocks of up to `frames` frames: the frame buffer holds two such blocks plus the
   * 2·peakWindow frames kept between blocks; the outputs hold the most spikes one block can
   * confirm (a channel's spikes are more than peakWindow apart, so ≤ ⌈frames / (peakWindow + 1)⌉
   * per channel). A larger block later gets new buffers above the old ones.
   */
  private plan(frames: number): void {
    const arena = this.arena!;
    const C = this.channels;
    this.capacityFrames = plannedFrames(frames);
    const ringFrames = 2 * this.capacityFrames + 2 * this.peakWindow + 1;
    const words = (C + 31) >> 5;
    const outCapacity = C * (Math.ceil(this.capacityFrames / (this.peakWindow + 1)) + 1);
    const ringPtr = arena.alloc(ringFrames * C * 4);
    const bitsPtr = arena.alloc(ringFrames * words * 4);
    const absPtr = arena.alloc(ringFrames * 8);
    const indexPtr = arena.alloc(outCapacity * 8);
    const channelPtr = arena.alloc(outCapacity * 4);
    const amplitudePtr = arena.alloc(outCapacity * 4);
    arena.exports.useBuffers(ringPtr, bitsPtr, absPtr, ringFrames, indexPtr, channelPtr, amplitudePtr, outCapacity);
    // Views last: an allocation may have grown (and so detached) the memory.
    this.ringView = arena.f32(ringPtr, ringFrames * C);
    this.thresholdView = arena.f32(this.thresholdsPtr, C);
    if (this.opts.thresholdUv !== null) this.thresholdView.fill(this.opts.thresholdUv);
    else if (!this.batch) this.thresholdView.fill(Number.NaN);
    const batch = this.batch ?? allocateSpikeBatch(this.streamId, this.sampleRateHz, 0);
    batch.peakSampleIndex = arena.f64(indexPtr, outCapacity);
    batch.peakChannel = arena.i32(channelPtr, outCapacity);
    batch.amplitudeUv = arena.f32(amplitudePtr, outCapacity);
    batch.unitId = new Int32Array(outCapacity).fill(-1);
    this.batch = batch;
  }
}
