import type { OperatorFunction } from 'rxjs';
import { OptoloopError } from '../core/errors.js';
import type { Float32SampleBlock, MutableFloat32Block, SampleBlock } from '../core/sample-block.js';
import type { ChannelLayout } from '../probe/channel-layout.js';
import { WasmArena } from '../wasm/kernel.js';
import { referenceOptionsSchema, validateOptions, type ReferenceOptions } from './options.js';
import { stageOperator } from './stage-operator.js';
import { StreamCheck, plannedFrames } from './stream-check.js';
import { copyPrefix } from './typed-copy.js';

const STAGE = 'pipeline.reference';

/**
 * Time constant of each channel's baseline (an exponential average) in the median reference:
 * the median is taken over the deviations from it, so that channel DC offsets cannot decide it
 * (see the kernel). The value matters little: the mean of the baselines restores the slow common
 * signal the deviations lack.
 */
export const REFERENCE_BASELINE_MS = 10;

/** The baseline's weight per frame, as the float32 the kernel uses. */
export function referenceBaselineAlpha(sampleRateHz: number): number {
  return Math.fround(1 - Math.exp(-1000 / (REFERENCE_BASELINE_MS * sampleRateHz)));
}

interface ReferenceKernel {
  int16ToMicrovolts(src: number, dst: number, frames: number, channels: number, scale: number): void;
  initBaseline(data: number, channels: number, baseline: number): void;
  medianScratchFloats(channels: number): number;
  subtractMedian(
    data: number, frames: number, channels: number, groups: number, offsets: number, members: number,
    groupOf: number, global: number, baseline: number, alpha: number, dev: number, scratch: number, band: number, refs: number,
  ): void;
  subtractMean(
    data: number, frames: number, channels: number, groups: number, offsets: number, members: number,
    groupOf: number, global: number, refs: number,
  ): void;
}

/**
 * Common reference: converts each block to µV and subtracts, per frame, the median or mean of all
 * channels (`scope: 'global'`) or of each shank's channels (`scope: 'shank'`, from
 * `layout.shank`); `mode: 'none'` only converts to µV. Takes int16 blocks (µV = count ×
 * `uvPerCount[channel]`) or float32 µV blocks, and emits a **borrowed** float32 block in µV,
 * rewritten for every block.
 *
 * The median is the robust choice (Rolston et al. 2009): a spike on a few channels barely moves it,
 * while it shifts the mean of a small shank. Both are computed exactly, per frame, in WebAssembly;
 * for an even count the median is the mean of the two middle values. The median reference is the
 * median of each channel's deviation from its own slow baseline ({@link REFERENCE_BASELINE_MS})
 * plus the mean of the baselines, so that channel DC offsets (hundreds of µV on wideband
 * headstages) cannot make one channel the median at every frame; what is left of the offsets is
 * constant, for the band-pass to remove.
 */
export function commonReference(options?: Partial<ReferenceOptions>, layout?: ChannelLayout): OperatorFunction<SampleBlock, Float32SampleBlock> {
  const opts = validateOptions(referenceOptionsSchema, options, STAGE);
  if (opts.scope === 'shank' && opts.mode !== 'none' && !layout) {
    throw new OptoloopError('E_OPTIONS_INVALID', `${STAGE}.scope: expected "global" when no channel layout is given, got "shank"`, {
      stage: STAGE,
      details: { field: 'scope' },
    });
  }
  return stageOperator(() => new ReferenceState(opts, layout ?? null));
}

/** One subscription's buffers and kernel. */
class ReferenceState {
  private readonly check = new StreamCheck(STAGE);
  private readonly modeCode: number;
  private arena: WasmArena<ReferenceKernel> | null = null;
  private channels = 0;
  private capacityFrames = 0;
  private groups = 1;
  private global = 1;
  private inPtr = 0;
  private dataPtr = 0;
  private scalePtr = 0;
  private scratchPtr = 0;
  private refsPtr = 0;
  private offsetsPtr = 0;
  private membersPtr = 0;
  private groupOfPtr = 0;
  private baselinePtr = 0;
  private devPtr = 0;
  private bandPtr = 0;
  private baselineReady = false;
  private alpha = 0;
  private generation = -1;
  private inView: Int16Array = new Int16Array(0);
  private dataView: Float32Array = new Float32Array(0);
  private scaleView: Float32Array = new Float32Array(0);
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

  constructor(
    private readonly opts: ReferenceOptions,
    private readonly layout: ChannelLayout | null,
  ) {
    this.modeCode = opts.mode === 'median' ? 1 : opts.mode === 'mean' ? 2 : 0;
  }

  process(block: SampleBlock): Float32SampleBlock {
    const error = this.check.accept(block);
    if (error) throw error;
    const channels = block.channelCount;
    const frames = block.frameCount;
    if (!this.arena) this.setUp(channels);
    if (frames > this.capacityFrames) this.plan(frames);
    const kernel = this.arena!.exports;
    const count = frames * channels;
    if (block.format === 'int16') {
      if (block.uvPerCount.length < channels) {
        throw new OptoloopError(
          'E_BLOCK_MISMATCH',
          `${STAGE}: int16 block of stream "${block.streamId}": uvPerCount: expected ${channels} scales (one per channel), got ${block.uvPerCount.length}`,
          { stage: STAGE },
        );
      }
      copyPrefix(this.scaleView, block.uvPerCount, channels);
      copyPrefix(this.inView, block.samples, count);
      kernel.int16ToMicrovolts(this.inPtr, this.dataPtr, frames, channels, this.scalePtr);
    } else {
      copyPrefix(this.dataView, block.samples, count);
    }
    if (this.modeCode === 1 && frames > 0) {
      if (!this.baselineReady) {
        kernel.initBaseline(this.dataPtr, channels, this.baselinePtr);
        this.alpha = referenceBaselineAlpha(block.sampleRateHz);
        this.baselineReady = true;
      }
      kernel.subtractMedian(
        this.dataPtr, frames, channels, this.groups, this.offsetsPtr, this.membersPtr, this.groupOfPtr, this.global,
        this.baselinePtr, this.alpha, this.devPtr, this.scratchPtr, this.bandPtr, this.refsPtr,
      );
    } else if (this.modeCode === 2) {
      kernel.subtractMean(this.dataPtr, frames, channels, this.groups, this.offsetsPtr, this.membersPtr, this.groupOfPtr, this.global, this.refsPtr);
    }
    if (this.emittedView.length !== count || this.generation !== this.arena!.generation) {
      this.emittedView = this.arena!.f32(this.dataPtr, count);
      this.generation = this.arena!.generation;
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

  private setUp(channels: number): void {
    const layout = this.layout;
    if (layout && layout.channelCount !== channels) {
      throw new OptoloopError(
        'E_BLOCK_MISMATCH',
        `${STAGE}: the stream has ${channels} channels but the channel layout (${layout.probeName}) has ${layout.channelCount}`,
        { stage: STAGE, details: { expected: layout.channelCount, got: channels } },
      );
    }
    this.channels = channels;
    const arena = new WasmArena<ReferenceKernel>('common-reference');
    this.arena = arena;
    const groupOf = new Int32Array(channels);
    let members: Int32Array;
    let offsets: Int32Array;
    if (this.opts.scope === 'shank' && layout) {
      const shankCount = layout.shankNames.length;
      offsets = new Int32Array(shankCount + 1);
      for (let c = 0; c < channels; c++) offsets[layout.shank[c] + 1]++;
      for (let g = 0; g < shankCount; g++) offsets[g + 1] += offsets[g];
      members = new Int32Array(channels);
      const fill = offsets.slice(0, shankCount);
      for (let c = 0; c < channels; c++) {
        const g = layout.shank[c];
        members[fill[g]++] = c;
        groupOf[c] = g;
      }
      this.groups = shankCount;
      this.global = shankCount === 1 ? 1 : 0;
    } else {
      offsets = Int32Array.of(0, channels);
      members = Int32Array.from({ length: channels }, (_, c) => c);
      this.groups = 1;
      this.global = 1;
    }
    // Set-up buffers first: a larger block later allocates new data buffers above them, and the
    // baseline (state) stays where it is.
    this.scalePtr = arena.alloc(channels * 4);
    this.scratchPtr = arena.alloc(arena.exports.medianScratchFloats(channels) * 4);
    this.devPtr = arena.alloc(channels * 8);
    this.bandPtr = arena.alloc(this.groups * 8); // zeroed: fresh memory
    this.baselinePtr = arena.alloc(channels * 4);
    this.refsPtr = arena.alloc(this.groups * 4);
    this.offsetsPtr = arena.alloc(offsets.length * 4);
    this.membersPtr = arena.alloc(channels * 4);
    this.groupOfPtr = arena.alloc(channels * 4);
    arena.i32(this.offsetsPtr, offsets.length).set(offsets);
    arena.i32(this.membersPtr, channels).set(members);
    arena.i32(this.groupOfPtr, channels).set(groupOf);
  }

  /** Data buffers for blocks of up to `frames` frames. */
  private plan(frames: number): void {
    const arena = this.arena!;
    const channels = this.channels;
    this.capacityFrames = plannedFrames(frames);
    this.inPtr = arena.alloc(this.capacityFrames * channels * 2);
    this.dataPtr = arena.alloc(this.capacityFrames * channels * 4);
    // Views last: an allocation may have grown (and so detached) the memory.
    this.inView = arena.i16(this.inPtr, this.capacityFrames * channels);
    this.dataView = arena.f32(this.dataPtr, this.capacityFrames * channels);
    this.scaleView = arena.f32(this.scalePtr, channels);
    this.generation = -1;
  }
}
