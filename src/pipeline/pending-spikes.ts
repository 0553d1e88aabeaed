/**
 * Detected spikes waiting for the samples their snippet needs, oldest first: a FIFO ring in
 * parallel typed arrays (trough sample, peak channel, amplitude) that doubles when full, so that
 * queueing a spike allocates nothing once the ring has grown to a stream's burst size.
 */
export class PendingSpikes {
  sampleIndex = new Float64Array(0);
  channel = new Int32Array(0);
  amplitudeUv = new Float32Array(0);
  /** Ring position of the oldest spike. */
  head = 0;
  count = 0;

  push(sampleIndex: number, channel: number, amplitudeUv: number): void {
    if (this.count === this.sampleIndex.length) this.grow(Math.max(64, this.sampleIndex.length * 2));
    const q = (this.head + this.count) % this.sampleIndex.length;
    this.sampleIndex[q] = sampleIndex;
    this.channel[q] = channel;
    this.amplitudeUv[q] = amplitudeUv;
    this.count++;
  }

  /** Drops the oldest spike. */
  shift(): void {
    this.head = (this.head + 1) % this.sampleIndex.length;
    this.count--;
  }

  private grow(capacity: number): void {
    const index = new Float64Array(capacity);
    const channels = new Int32Array(capacity);
    const amplitudes = new Float32Array(capacity);
    for (let i = 0; i < this.count; i++) {
      const q = (this.head + i) % this.sampleIndex.length;
      index[i] = this.sampleIndex[q];
      channels[i] = this.channel[q];
      amplitudes[i] = this.amplitudeUv[q];
    }
    this.sampleIndex = index;
    this.channel = channels;
    this.amplitudeUv = amplitudes;
    this.head = 0;
  }
}
