/**
 * Online rate bins for the BCI decoder: counts each input unit's spikes in fixed bins of the stream's
 * sample clock (bin b = samples [b·w, (b+1)·w)), and closes a bin once the stream has passed its
 * end by `closeDelayMs` (spikes are detected a little after their peak). Spikes of a bin already
 * closed are counted as late and dropped. No allocation per spike or per bin.
 */
export class RateBinner {
  private readonly inputOfUnit: Int32Array;
  /** Counts of the open bins, a ring of `openBins` rows. */
  private readonly counts: Float64Array;
  private readonly openBins: number;
  private binSamples = 0;
  private closeDelaySamples = 0;
  private sampleRateHz = 0;
  /** Index of the next bin to close (−1 before the first spike or advance). */
  nextBin = -1;
  lateSpikes = 0;
  /** Rates (Hz) of the bin just closed, in input order; borrowed until the next close. */
  readonly ratesHz: Float64Array;

  constructor(
    readonly unitIds: readonly number[],
    readonly binMs: number,
    readonly closeDelayMs: number,
  ) {
    const maxId = Math.max(...unitIds);
    this.inputOfUnit = new Int32Array(maxId + 1).fill(-1);
    unitIds.forEach((u, i) => (this.inputOfUnit[u] = i));
    // Enough open bins to cover the close delay plus the bin being filled.
    this.openBins = Math.ceil(closeDelayMs / binMs) + 2;
    this.counts = new Float64Array(this.openBins * unitIds.length);
    this.ratesHz = new Float64Array(unitIds.length);
  }

  private setRate(sampleRateHz: number): void {
    this.sampleRateHz = sampleRateHz;
    this.binSamples = (this.binMs * sampleRateHz) / 1000;
    this.closeDelaySamples = (this.closeDelayMs * sampleRateHz) / 1000;
  }

  /** Counts spike k of a batch's arrays (ignored when its unit is not an input). Times are read by index (no boxed doubles). */
  add(unitIds: Int32Array, sampleIndices: Float64Array, k: number, sampleRateHz: number): void {
    const unitId = unitIds[k];
    const sampleIndex = sampleIndices[k];
    if (sampleRateHz !== this.sampleRateHz) this.setRate(sampleRateHz);
    if (unitId < 0 || unitId >= this.inputOfUnit.length) return;
    const input = this.inputOfUnit[unitId];
    if (input < 0) return;
    const bin = Math.floor(sampleIndex / this.binSamples);
    if (this.nextBin < 0) this.nextBin = bin;
    if (bin < this.nextBin) {
      this.lateSpikes++;
      return;
    }
    if (bin >= this.nextBin + this.openBins) return; // far ahead of the clock: cannot happen with ordered input
    this.counts[(bin % this.openBins) * this.unitIds.length + input]++;
  }

  /** The stream position for {@link close}: set now[0] to the sample index reached. */
  readonly now = new Float64Array(1);

  /**
   * Tells the binner the stream has reached now[0]. Returns the index of a bin it closed (its rates
   * are in `ratesHz`), or −1 when none is due; call again until it returns −1.
   */
  close(sampleRateHz: number): number {
    const sampleIndex = this.now[0];
    if (sampleRateHz !== this.sampleRateHz) this.setRate(sampleRateHz);
    if (this.nextBin < 0) this.nextBin = Math.floor(sampleIndex / this.binSamples);
    const bin = this.nextBin;
    if (sampleIndex < (bin + 1) * this.binSamples + this.closeDelaySamples) return -1;
    const n = this.unitIds.length;
    const row = (bin % this.openBins) * n;
    const perSecond = 1000 / this.binMs;
    for (let i = 0; i < n; i++) {
      this.ratesHz[i] = this.counts[row + i] * perSecond;
      this.counts[row + i] = 0;
    }
    this.nextBin = bin + 1;
    return bin;
  }
}
