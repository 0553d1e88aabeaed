/**
 * The newest spikes, in a fixed-size ring of parallel typed arrays: the raster reads it at
 * animation-frame rate without allocating, however many spikes arrive.
 */
export class SpikeRing {
  readonly sampleIndex: Float64Array;
  readonly channel: Int32Array;
  readonly unit: Int32Array;
  /** Total spikes ever written; the newest is at (written − 1) % capacity. */
  written = 0;
  maxChannel = 0;
  newestSampleIndex = 0;
  sampleRateHz = 30000;

  constructor(readonly capacity: number) {
    this.sampleIndex = new Float64Array(capacity);
    this.channel = new Int32Array(capacity);
    this.unit = new Int32Array(capacity);
  }

  append(sampleIndex: ArrayLike<number>, channel: ArrayLike<number>, unit: ArrayLike<number>, sampleRateHz: number): void {
    if (sampleRateHz > 0) this.sampleRateHz = sampleRateHz;
    const n = sampleIndex.length;
    for (let i = 0; i < n; i++) {
      const at = this.written % this.capacity;
      const s = sampleIndex[i];
      this.sampleIndex[at] = s;
      this.channel[at] = channel[i];
      this.unit[at] = unit[i];
      if (channel[i] > this.maxChannel) this.maxChannel = channel[i];
      if (s > this.newestSampleIndex) this.newestSampleIndex = s;
      this.written++;
    }
  }

  get size(): number {
    return Math.min(this.written, this.capacity);
  }
}
