import type { SpikeBatch } from '../core/spikes.js';

/**
 * Collects spikes between bus flushes in preallocated parallel arrays, so that the pipeline's
 * publish call copies a few numbers per spike and never allocates or encodes. Spikes that do not
 * fit are counted and reported in the next batch (`spikesOmitted`), never silently lost.
 */
export class SpikeAccumulator {
  readonly peakSampleIndex: Float64Array;
  readonly peakChannel: Int32Array;
  readonly amplitudeUv: Float32Array;
  readonly unitId: Int32Array;
  count = 0;
  omitted = 0;
  streamId = '';
  sampleRateHz = 0;

  constructor(readonly capacity: number) {
    this.peakSampleIndex = new Float64Array(capacity);
    this.peakChannel = new Int32Array(capacity);
    this.amplitudeUv = new Float32Array(capacity);
    this.unitId = new Int32Array(capacity);
  }

  /** Whether a batch of `streamId` can join what is held (one stream per published batch). */
  accepts(streamId: string): boolean {
    return this.count === 0 && this.omitted === 0 ? true : this.streamId === streamId;
  }

  append(batch: SpikeBatch): void {
    if (this.count === 0 && this.omitted === 0) {
      this.streamId = batch.streamId;
      this.sampleRateHz = batch.sampleRateHz;
    }
    const room = this.capacity - this.count;
    const n = batch.count <= room ? batch.count : room;
    const at = this.count;
    for (let i = 0; i < n; i++) {
      this.peakSampleIndex[at + i] = batch.peakSampleIndex[i];
      this.peakChannel[at + i] = batch.peakChannel[i];
      this.amplitudeUv[at + i] = batch.amplitudeUv[i];
      this.unitId[at + i] = batch.unitId[i];
    }
    this.count += n;
    this.omitted += batch.count - n;
  }

  isEmpty(): boolean {
    return this.count === 0 && this.omitted === 0;
  }

  /** The held spikes as a SpikeBatch message (views, valid until the next append). */
  toMessage(): object {
    const n = this.count;
    return {
      streamId: this.streamId,
      sampleRateHz: this.sampleRateHz,
      peakSampleIndex: this.peakSampleIndex.subarray(0, n),
      peakChannel: this.peakChannel.subarray(0, n),
      amplitudeUv: this.amplitudeUv.subarray(0, n),
      unitId: this.unitId.subarray(0, n),
      spikesOmitted: this.omitted,
    };
  }

  clear(): void {
    this.count = 0;
    this.omitted = 0;
  }
}
