/**
 * Every detected spike of an evaluation run (sample, peak channel, unit id), in growable typed
 * arrays, for matching against the simulator's ground truth afterwards. Evaluation only: it grows
 * without bound, which the live path never may.
 */
import type { SpikeBatch } from '../../core/spikes.js';
import type { DetectedSpikes } from './ground-truth-match.js';

export class SpikeLog {
  count = 0;
  sample = new Float64Array(1 << 16);
  channel = new Int32Array(1 << 16);
  unit = new Int32Array(1 << 16);

  /** Copies the batch's spikes (the batch is borrowed). */
  take(batch: SpikeBatch): void {
    if (this.count + batch.count > this.sample.length) {
      let n = this.sample.length;
      while (n < this.count + batch.count) n *= 2;
      const s = new Float64Array(n);
      s.set(this.sample.subarray(0, this.count));
      const c = new Int32Array(n);
      c.set(this.channel.subarray(0, this.count));
      const u = new Int32Array(n);
      u.set(this.unit.subarray(0, this.count));
      [this.sample, this.channel, this.unit] = [s, c, u];
    }
    this.sample.set(batch.peakSampleIndex.subarray(0, batch.count), this.count);
    this.channel.set(batch.peakChannel.subarray(0, batch.count), this.count);
    this.unit.set(batch.unitId.subarray(0, batch.count), this.count);
    this.count += batch.count;
  }

  /** Views of what was logged (valid until the next take()). */
  detected(): DetectedSpikes {
    return { count: this.count, sample: this.sample.subarray(0, this.count), channel: this.channel.subarray(0, this.count), unit: this.unit.subarray(0, this.count) };
  }
}
