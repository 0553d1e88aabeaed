import { OptoloopError } from '../core/errors.js';
import type { SampleBlockBase } from '../core/sample-block.js';

/**
 * What a stage learns from a stream's first block and holds every later block to: the channel
 * count, the sample rate and increasing sample indices. A stage's buffers are sized from these, so
 * a block that breaks them is refused (E_BLOCK_MISMATCH) rather than read out of bounds. Gaps (a
 * jump forward in `firstSampleIndex`, i.e. frames lost upstream) are allowed and counted.
 */
export class StreamCheck {
  channelCount = -1;
  sampleRateHz = 0;
  /** Sample index one past the last accepted block; −1 before the first. */
  nextSampleIndex = -1;
  /** Frames missing between accepted blocks (upstream losses). */
  framesSkipped = 0;

  constructor(private readonly stage: string) {}

  get started(): boolean {
    return this.channelCount >= 0;
  }

  /** Returns the error that refuses the block, or null when the block fits (and records it). */
  accept(block: SampleBlockBase & { readonly samples: ArrayLike<number> }): OptoloopError | null {
    const { channelCount, sampleRateHz, frameCount, firstSampleIndex } = block;
    if (!Number.isInteger(channelCount) || channelCount < 1) {
      return this.mismatch('channelCount', 'a positive integer', channelCount, block);
    }
    if (!Number.isInteger(frameCount) || frameCount < 0) return this.mismatch('frameCount', 'an integer ≥ 0', frameCount, block);
    if (!Number.isSafeInteger(firstSampleIndex) || firstSampleIndex < 0) {
      return this.mismatch('firstSampleIndex', 'a safe integer ≥ 0', firstSampleIndex, block);
    }
    if (block.samples.length < frameCount * channelCount) {
      return this.mismatch('samples.length', `at least frameCount × channelCount = ${frameCount * channelCount}`, block.samples.length, block);
    }
    if (this.channelCount < 0) {
      if (!(sampleRateHz > 0) || !Number.isFinite(sampleRateHz)) return this.mismatch('sampleRateHz', 'a positive number', sampleRateHz, block);
      this.channelCount = channelCount;
      this.sampleRateHz = sampleRateHz;
    } else {
      if (channelCount !== this.channelCount) return this.mismatch('channelCount', `${this.channelCount} (as in the stream's first block)`, channelCount, block);
      if (sampleRateHz !== this.sampleRateHz) return this.mismatch('sampleRateHz', `${this.sampleRateHz} (as in the stream's first block)`, sampleRateHz, block);
      if (firstSampleIndex < this.nextSampleIndex) {
        return this.mismatch('firstSampleIndex', `≥ ${this.nextSampleIndex} (samples in order)`, firstSampleIndex, block);
      }
      this.framesSkipped += firstSampleIndex - this.nextSampleIndex;
    }
    this.nextSampleIndex = firstSampleIndex + frameCount;
    return null;
  }

  private mismatch(field: string, expected: string, got: number, block: SampleBlockBase): OptoloopError {
    return new OptoloopError(
      'E_BLOCK_MISMATCH',
      `${this.stage}: block of stream "${block.streamId}" at sample ${block.firstSampleIndex}: ${field}: expected ${expected}, got ${got}`,
      { stage: this.stage, details: { field, expected, got, streamId: block.streamId, firstSampleIndex: block.firstSampleIndex } },
    );
  }
}

/** Capacity to plan for a block of `frames` frames: the next power of two, at least 32. */
export function plannedFrames(frames: number): number {
  let capacity = 32;
  while (capacity < frames) capacity *= 2;
  return capacity;
}
