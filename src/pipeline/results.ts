import type { Float32SampleBlock } from '../core/sample-block.js';
import type { DetectionResult, SnippetResult } from '../core/spikes.js';

/**
 * A filtered block with the per-channel noise σ in force for each of its frames (what
 * `estimateNoise` emits and `detectSpikes` takes). Borrowed, like the block: valid during the
 * `next()` call only.
 *
 * The estimate changes only at the end of a measurement window, at an absolute sample index, so
 * it may change inside a block: segment k covers frames `segmentStartFrame[k]` up to the next
 * segment's start (or the block's end) with σ `segmentNoiseUv[k × channelCount + c]`. Segment 0
 * always starts at frame 0. σ is NaN on a channel until its first window has been measured.
 */
export interface NoiseBlock {
  readonly block: Float32SampleBlock;
  /** σ per channel (µV) in force at the block's last frame: what a display shows. */
  readonly noiseUv: Float32Array;
  readonly segmentCount: number;
  readonly segmentStartFrame: Int32Array;
  readonly segmentNoiseUv: Float32Array;
}

/** What the pipeline emits per block: spikes with snippets, or spikes only (peak-only mode). */
export type SpikeResult = DetectionResult | SnippetResult;

/** Whether a result carries waveform snippets (snippet mode) or only peaks (peak-only mode). */
export function hasSnippets(result: SpikeResult): result is SnippetResult {
  return 'waveformsUv' in result.spikes;
}
