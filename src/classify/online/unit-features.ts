/**
 * One unit's features, kept incrementally in bounded memory: its spike times (a ring of at most
 * `maxSpikes`, grown in maintenance, never per spike), the mean snippet on the channels of its
 * first spike's neighbourhood, the ISI histogram (1 ms bins to isiMaxMs, plus one overflow bin) and
 * the autocorrelogram (1 ms bins centred on lags 1 … acgMaxLagMs, counted pair by pair as spikes
 * arrive).
 */
export interface FeatureLimits {
  readonly maxSpikes: number;
  readonly initialSpikeCapacity: number;
  readonly acgMaxLagMs: number;
  readonly isiMaxMs: number;
}

export class UnitFeatures {
  spikeCount = 0;
  firstSpikeS = NaN;
  lastSpikeS = NaN;
  /** Ring of spike times (s): the most recent `timesCount`, oldest at `timesHead`. */
  times: Float64Array;
  timesHead = 0;
  timesCount = 0;
  readonly rows: number;
  readonly length: number;
  readonly samplesBefore: number;
  /** Channel of each waveform row (−1 unused). */
  readonly rowChannels: Int32Array;
  /** Σ of the snippets per row, and how many spikes each row has seen. */
  readonly waveformSum: Float64Array;
  readonly rowSpikes: Float64Array;
  readonly isi: Float64Array;
  readonly acg: Float64Array;

  constructor(
    readonly unitId: number,
    readonly streamId: string,
    readonly sampleRateHz: number,
    rowChannels: ArrayLike<number>,
    length: number,
    samplesBefore: number,
    private readonly limits: FeatureLimits,
  ) {
    this.rows = rowChannels.length;
    this.rowChannels = Int32Array.from(rowChannels);
    this.length = length;
    this.samplesBefore = samplesBefore;
    this.waveformSum = new Float64Array(this.rows * length);
    this.rowSpikes = new Float64Array(this.rows);
    this.times = new Float64Array(Math.min(limits.initialSpikeCapacity, limits.maxSpikes));
    this.isi = new Float64Array(Math.ceil(limits.isiMaxMs) + 1);
    this.acg = new Float64Array(Math.ceil(limits.acgMaxLagMs));
  }

  /** The i-th stored spike time, oldest first. */
  timeAt(i: number): number {
    return this.times[(this.timesHead + i) % this.times.length];
  }

  /**
   * Adds a spike's time; counts its ISI and ACG pairs. Allocates nothing. Times come in stream
   * order but for spikes recovered from overlaps, which arrive after a later spike of the same
   * batch: those are inserted in order (`insertLateTime`).
   */
  addTime(timeS: number): void {
    const n = this.timesCount;
    if (n > 0 && timeS < this.timeAt(n - 1)) {
      this.insertLateTime(timeS);
      return;
    }
    if (n > 0) {
      const previous = this.timeAt(n - 1);
      this.countIsi((timeS - previous) * 1000, 1);
      // ACG: pairs with the earlier spikes within the longest lag (each pair counted once, at +lag).
      this.countAcgPairs(timeS, n - 1, -1);
    } else this.firstSpikeS = timeS;
    if (this.timesCount < this.times.length) {
      this.times[(this.timesHead + this.timesCount) % this.times.length] = timeS;
      this.timesCount++;
    } else {
      this.times[this.timesHead] = timeS;
      this.timesHead = (this.timesHead + 1) % this.times.length;
    }
    this.lastSpikeS = timeS;
    this.spikeCount++;
  }

  /**
   * A time earlier than the last stored one: the interval it splits is replaced by its two parts,
   * its ACG pairs are counted with the spikes on both sides, and it is stored in order (behind the
   * few spikes later than it: a recovered spike is at most a refractory period out of order).
   */
  private insertLateTime(timeS: number): void {
    const n = this.timesCount;
    let k = n; // logical position it takes: every stored time before k is ≤ timeS
    while (k > 0 && this.timeAt(k - 1) > timeS) k--;
    const next = this.timeAt(k);
    if (k > 0) {
      const previous = this.timeAt(k - 1);
      this.countIsi((next - previous) * 1000, -1);
      this.countIsi((timeS - previous) * 1000, 1);
    }
    this.countIsi((next - timeS) * 1000, 1);
    this.countAcgPairs(timeS, k - 1, -1);
    this.countAcgPairs(timeS, k, 1);
    const capacity = this.times.length;
    if (n < capacity) {
      for (let i = n; i > k; i--) this.times[(this.timesHead + i) % capacity] = this.timeAt(i - 1);
      this.times[(this.timesHead + k) % capacity] = timeS;
      this.timesCount++;
    } else if (k > 0) {
      // Full: the oldest time goes, the ones before the insertion point move down by one.
      for (let i = 0; i < k - 1; i++) this.times[(this.timesHead + i) % capacity] = this.timeAt(i + 1);
      this.times[(this.timesHead + k - 1) % capacity] = timeS;
    }
    if (!(timeS >= this.firstSpikeS)) this.firstSpikeS = timeS;
    this.spikeCount++;
  }

  /**
   * Counts the ACG pairs of timeS with the stored times from logical index `from` on, walking by
   * `step` (−1: the earlier ones, +1: the later ones) until the lag leaves the ACG.
   */
  private countAcgPairs(timeS: number, from: number, step: number): void {
    const maxLag = this.acg.length + 0.5;
    for (let i = from; i >= 0 && i < this.timesCount; i += step) {
      const lagMs = Math.abs(timeS - this.timeAt(i)) * 1000;
      if (lagMs >= maxLag) break;
      const lag = Math.round(lagMs);
      if (lag >= 1) this.acg[lag - 1]++;
    }
  }

  private countIsi(isiMs: number, delta: number): void {
    const bin = Math.floor(isiMs + 1e-6); // sample-quantised ISIs land on bin edges: do not let rounding drop them a bin
    this.isi[bin < this.isi.length - 1 ? Math.max(0, bin) : this.isi.length - 1] += delta;
  }

  /**
   * Adds snippet rows to the mean waveform: `channels[row0 + q]` and `waveforms[(row0 + q) × L …]`
   * for q < rows of the snippet. Rows of channels this unit does not track are ignored.
   */
  addSnippet(channels: Int32Array, waveforms: Float32Array, row0: number, snippetRows: number, snippetLength: number): void {
    const L = this.length;
    for (let r = 0; r < this.rows; r++) {
      const ch = this.rowChannels[r];
      if (ch < 0) continue;
      for (let q = 0; q < snippetRows; q++) {
        if (channels[row0 + q] !== ch) continue;
        const from = (row0 + q) * snippetLength;
        const n = Math.min(L, snippetLength);
        for (let t = 0; t < n; t++) this.waveformSum[r * L + t] += waveforms[from + t];
        this.rowSpikes[r]++;
        break;
      }
    }
  }

  /** Grows the time ring towards maxSpikes when it is ¾ full (maintenance, not per spike). */
  growIfNeeded(): void {
    const capacity = this.times.length;
    if (capacity >= this.limits.maxSpikes || this.timesCount < 0.75 * capacity) return;
    const next = new Float64Array(Math.min(this.limits.maxSpikes, capacity * 2));
    for (let i = 0; i < this.timesCount; i++) next[i] = this.timeAt(i);
    this.times = next;
    this.timesHead = 0;
  }

  /** The stored spike times, oldest first, as a new array. */
  spikeTimes(): Float64Array {
    const out = new Float64Array(this.timesCount);
    for (let i = 0; i < this.timesCount; i++) out[i] = this.timeAt(i);
    return out;
  }

  /** The mean waveform of row r (µV), or null when that row has no spikes. */
  meanRow(r: number): Float32Array | null {
    const n = this.rowSpikes[r];
    if (!(n > 0)) return null;
    const out = new Float32Array(this.length);
    for (let t = 0; t < this.length; t++) out[t] = this.waveformSum[r * this.length + t] / n;
    return out;
  }

  /** The row whose mean has the deepest value at the peak sample (the unit's peak channel), or −1. */
  peakRow(): number {
    let best = -1;
    let bestValue = Infinity;
    for (let r = 0; r < this.rows; r++) {
      const n = this.rowSpikes[r];
      if (!(n > 0) || this.rowChannels[r] < 0) continue;
      let min = Infinity;
      for (let t = Math.max(0, this.samplesBefore - 3); t <= Math.min(this.length - 1, this.samplesBefore + 3); t++) min = Math.min(min, this.waveformSum[r * this.length + t] / n);
      if (min < bestValue) {
        bestValue = min;
        best = r;
      }
    }
    return best;
  }

  /** Takes in another unit's features (a merge): times merged in order, waveforms by channel, histograms recomputed. */
  absorb(other: UnitFeatures): void {
    const a = this.spikeTimes();
    const b = other.spikeTimes();
    const merged = new Float64Array(a.length + b.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < a.length || j < b.length) merged[k++] = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i++] : b[j++];
    const keep = merged.subarray(Math.max(0, merged.length - this.limits.maxSpikes));
    const count = this.spikeCount + other.spikeCount;
    const first = Math.min(this.firstSpikeS, other.firstSpikeS);
    this.times = new Float64Array(Math.max(keep.length, Math.min(this.limits.maxSpikes, this.times.length)));
    this.timesHead = 0;
    this.timesCount = 0;
    this.isi.fill(0);
    this.acg.fill(0);
    this.spikeCount = 0;
    for (const t of keep) this.addTime(t);
    this.spikeCount = count;
    this.firstSpikeS = first;
    for (let r = 0; r < this.rows; r++) {
      const o = other.rowChannels.indexOf(this.rowChannels[r]);
      if (o < 0 || this.rowChannels[r] < 0) continue;
      for (let t = 0; t < this.length; t++) this.waveformSum[r * this.length + t] += other.waveformSum[o * other.length + t];
      this.rowSpikes[r] += other.rowSpikes[o];
    }
  }
}
