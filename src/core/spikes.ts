import type { Float32SampleBlock } from './sample-block.js';

/**
 * Spikes detected in one block, as parallel typed arrays (struct of arrays), so that detecting and
 * forwarding spikes allocates nothing. Like blocks, batches are **borrowed**: valid during the
 * `next()` call that delivered them; copy with {@link cloneSpikeBatch} to keep one.
 *
 * Arrays have a capacity ≥ `count`; only the first `count` entries are meaningful.
 */
export interface SpikeBatch {
  readonly streamId: string;
  readonly sampleRateHz: number;
  count: number;
  /** Absolute sample index of each spike's peak (trough), in the stream's sample clock. */
  peakSampleIndex: Float64Array;
  /** Channel (index among the stream's channels) on which the spike is largest. */
  peakChannel: Int32Array;
  /** Filtered amplitude at the peak, µV (negative for a trough). */
  amplitudeUv: Float32Array;
  /** Unit id assigned by unit assignment, −1 while unassigned. */
  unitId: Int32Array;
  /**
   * Host time (ns, core/clock) at which the block that completed this batch's detection arrived at
   * the source: the start of the latency budget of anything these spikes trigger.
   */
  sourceReceiveTimeNs: number;
}

/**
 * Spikes with multi-channel waveform snippets over each spike's neighbourhood.
 * Snippet k holds `neighbourCapacity` rows (channels, −1 padded) of `snippetLength` samples:
 * `waveformsUv[(k × neighbourCapacity + row) × snippetLength + t]`, the peak at t = samplesBefore.
 */
export interface SnippetBatch extends SpikeBatch {
  readonly samplesBefore: number;
  readonly samplesAfter: number;
  /** samplesBefore + 1 + samplesAfter. */
  readonly snippetLength: number;
  /** Rows per snippet: the size of the largest neighbourhood. */
  readonly neighbourCapacity: number;
  /** Channel of each row, `channels[k × neighbourCapacity + row]`, −1 for padding. */
  channels: Int32Array;
  waveformsUv: Float32Array;
}

/** A filtered block together with the spikes whose detection it completed. */
export interface DetectionResult {
  readonly block: Float32SampleBlock;
  /** Per-channel noise estimate (σ, µV) in force for this block. */
  readonly noiseUv: Float32Array;
  readonly spikes: SpikeBatch;
}

/** A filtered block together with the snippets completed by it. */
export interface SnippetResult {
  readonly block: Float32SampleBlock;
  readonly noiseUv: Float32Array;
  readonly spikes: SnippetBatch;
  /**
   * With early identification (pipeline.snippets.earlySamplesAfter > 0): the short snippets this
   * block completed — the same spikes as `spikes`, in the same order, cut fewer samples after the
   * trough and so (usually) emitted blocks earlier. Absent or null otherwise.
   */
  readonly early?: SnippetBatch | null;
}

export function allocateSpikeBatch(streamId: string, sampleRateHz: number, capacity: number): SpikeBatch {
  return {
    streamId,
    sampleRateHz,
    count: 0,
    peakSampleIndex: new Float64Array(capacity),
    peakChannel: new Int32Array(capacity),
    amplitudeUv: new Float32Array(capacity),
    unitId: new Int32Array(capacity).fill(-1),
    sourceReceiveTimeNs: 0,
  };
}

/** Owned copy of a batch, trimmed to `count`. */
export function cloneSpikeBatch<B extends SpikeBatch>(batch: B): B {
  const n = batch.count;
  const copy: SpikeBatch = {
    ...batch,
    peakSampleIndex: batch.peakSampleIndex.slice(0, n),
    peakChannel: batch.peakChannel.slice(0, n),
    amplitudeUv: batch.amplitudeUv.slice(0, n),
    unitId: batch.unitId.slice(0, n),
  };
  if ('waveformsUv' in batch) {
    const s = batch as unknown as SnippetBatch;
    return {
      ...copy,
      channels: s.channels.slice(0, n * s.neighbourCapacity),
      waveformsUv: s.waveformsUv.slice(0, n * s.neighbourCapacity * s.snippetLength),
    } as unknown as B;
  }
  return copy as B;
}
