/**
 * Running sums of each unit's light-evoked and spontaneous waveforms (every channel of its
 * neighbourhood), from the snippets of the spike batches, for the waveform-correlation criterion
 * and the library. Only spikes whose peak is on the unit's main channel are averaged, so that the
 * rows always hold the same channels.
 *
 * A spike that arrives while a pulse is triggered but not yet acknowledged cannot be called evoked
 * or spontaneous yet: its snippet waits in a fixed queue until the acknowledgement says when the
 * light came on (if the queue is full the snippet is dropped and counted).
 */
import type { SnippetBatch } from '../core/spikes.js';
import type { MeanWaveform } from './waveform-correlation.js';

export const SPONTANEOUS = 0;
export const EVOKED = 1;
/** Neither: during the light but outside the response window. */
export const EXCLUDED = -1;
/** Not known until a pending pulse is acknowledged. */
export const UNDECIDED = 2;

export class UnitWaveforms {
  /** False until the first snippet batch fixed the layout. */
  active = false;
  snippetLength = 0;
  samplesBefore = 0;
  neighbourCapacity = 0;
  readonly mainChannel: Int32Array;
  private readonly rowChannels: (Int32Array | null)[];
  private readonly spontaneousSum: (Float64Array | null)[];
  private readonly evokedSum: (Float64Array | null)[];
  readonly spontaneousCount: Float64Array;
  readonly evokedCount: Float64Array;
  private queue: Float32Array | null = null;
  private readonly queueSlot: Int32Array;
  private readonly queueSample: Float64Array;
  private queueSize = 0;
  dropped = 0;

  constructor(
    unitCapacity: number,
    private readonly queueCapacity = 256,
  ) {
    this.mainChannel = new Int32Array(unitCapacity).fill(-1);
    this.rowChannels = new Array<Int32Array | null>(unitCapacity).fill(null);
    this.spontaneousSum = new Array<Float64Array | null>(unitCapacity).fill(null);
    this.evokedSum = new Array<Float64Array | null>(unitCapacity).fill(null);
    this.spontaneousCount = new Float64Array(unitCapacity);
    this.evokedCount = new Float64Array(unitCapacity);
    this.queueSlot = new Int32Array(queueCapacity);
    this.queueSample = new Float64Array(queueCapacity);
  }

  /** Takes the snippet layout of the first batch; later batches must match it (else they are ignored). */
  accepts(b: SnippetBatch): boolean {
    if (!this.active) {
      this.active = true;
      this.snippetLength = b.snippetLength;
      this.samplesBefore = b.samplesBefore;
      this.neighbourCapacity = b.neighbourCapacity;
      this.queue = new Float32Array(this.queueCapacity * b.neighbourCapacity * b.snippetLength);
    }
    return b.snippetLength === this.snippetLength && b.samplesBefore === this.samplesBefore && b.neighbourCapacity === this.neighbourCapacity;
  }

  /** Sets a unit's main channel; its sums restart (they were over other rows). */
  setMainChannel(slot: number, channel: number): void {
    if (this.mainChannel[slot] === channel) return;
    this.mainChannel[slot] = channel;
    this.rowChannels[slot] = null;
    this.spontaneousCount[slot] = 0;
    this.evokedCount[slot] = 0;
  }

  /** Adds spike k's snippet to the unit's evoked or spontaneous sum, or queues it (kind UNDECIDED). */
  take(b: SnippetBatch, k: number, slot: number, kind: number): void {
    if (this.mainChannel[slot] < 0) this.mainChannel[slot] = b.peakChannel[k];
    if (b.peakChannel[k] !== this.mainChannel[slot] || kind === EXCLUDED) return;
    const rows = this.neighbourCapacity;
    const len = this.snippetLength;
    if (this.rowChannels[slot] === null) {
      // Once per unit: its neighbourhood's rows and the two sums.
      this.rowChannels[slot] = b.channels.slice(k * rows, (k + 1) * rows);
      this.spontaneousSum[slot] = new Float64Array(rows * len);
      this.evokedSum[slot] = new Float64Array(rows * len);
    }
    if (kind === UNDECIDED) {
      if (this.queueSize === this.queueCapacity) {
        this.dropped++;
        return;
      }
      const q = this.queueSize++;
      this.queueSlot[q] = slot;
      this.queueSample[q] = b.peakSampleIndex[k];
      this.queue!.set(b.waveformsUv.subarray(k * rows * len, (k + 1) * rows * len), q * rows * len);
      return;
    }
    this.add(kind === EVOKED, slot, b.waveformsUv, k * rows * len);
  }

  private add(evoked: boolean, slot: number, source: Float32Array, offset: number): void {
    const sum = evoked ? this.evokedSum[slot]! : this.spontaneousSum[slot]!;
    const n = this.neighbourCapacity * this.snippetLength;
    for (let i = 0; i < n; i++) sum[i] += source[offset + i];
    if (evoked) this.evokedCount[slot]++;
    else this.spontaneousCount[slot]++;
  }

  /** Re-classifies the queued snippets (after an acknowledgement); those still undecided stay queued. */
  drain(classify: (times: Float64Array, index: number) => number): void {
    if (this.queueSize === 0) return;
    let kept = 0;
    const n = this.neighbourCapacity * this.snippetLength;
    for (let q = 0; q < this.queueSize; q++) {
      const kind = classify(this.queueSample, q);
      if (kind === UNDECIDED) {
        if (kept !== q) {
          this.queueSlot[kept] = this.queueSlot[q];
          this.queueSample[kept] = this.queueSample[q];
          this.queue!.copyWithin(kept * n, q * n, (q + 1) * n);
        }
        kept++;
      } else if (kind !== EXCLUDED) {
        this.add(kind === EVOKED, this.queueSlot[q], this.queue!, q * n);
      }
    }
    this.queueSize = kept;
  }

  /** The unit's channels (neighbourhood rows that exist), or null before any snippet. */
  channelsOf(slot: number): number[] | null {
    const rows = this.rowChannels[slot];
    return rows ? [...rows].filter((c) => c >= 0) : null;
  }

  /** The mean evoked or spontaneous waveform (padding rows left out), or null before any. */
  mean(slot: number, evoked: boolean, sampleRateHz: number): MeanWaveform | null {
    const sum = evoked ? this.evokedSum[slot] : this.spontaneousSum[slot];
    const count = evoked ? this.evokedCount[slot] : this.spontaneousCount[slot];
    const channels = this.rowChannels[slot];
    if (!sum || !channels || count === 0) return null;
    let rows = 0;
    for (let r = 0; r < channels.length; r++) if (channels[r] >= 0) rows++;
    const len = this.snippetLength;
    const samplesUv = new Float64Array(rows * len);
    let out = 0;
    for (let r = 0; r < channels.length; r++) {
      if (channels[r] < 0) continue;
      for (let t = 0; t < len; t++) samplesUv[out * len + t] = sum[r * len + t] / count;
      out++;
    }
    return { channelCount: rows, sampleCount: len, sampleRateHz, peakIndex: this.samplesBefore, samplesUv };
  }
}
