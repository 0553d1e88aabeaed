/**
 * Spike templates in flat typed arrays, allocated once for a fixed capacity: each template is a
 * multi-channel waveform on up to `maxRows` channels, `length` samples, aligned so that its trough
 * on its peak channel sits at `alignIndex` (as a snippet's peak sits at samplesBefore). Used both for
 * templates read from a Kilosort folder and for the ones the online clusterer learns.
 *
 * Per row the bank keeps how many spikes the row's mean is made of (`rowWeight`, 0 = the row is
 * unknown and is not compared) and its energy over the matching window (`rowEnergy`), refreshed
 * whenever the row changes — and over any other window a matcher uses (`windowEnergies`: early
 * identification's shorter one), so that no matcher recomputes them per spike.
 */
export class TemplateBank {
  readonly capacity: number;
  readonly maxRows: number;
  readonly length: number;
  readonly alignIndex: number;
  /** Matching window: samples alignIndex − windowBefore … alignIndex + windowAfter. */
  readonly windowBefore: number;
  readonly windowAfter: number;
  /** 1 when the slot holds a template. */
  readonly active: Uint8Array;
  readonly rowCount: Int32Array;
  /** channels[k × maxRows + r]; −1 for an unused row. */
  readonly channels: Int32Array;
  readonly rowWeight: Float32Array;
  readonly rowEnergy: Float32Array;
  /** data[(k × maxRows + r) × length + t], µV (or the Kilosort template's own units). */
  readonly data: Float32Array;
  readonly peakChannel: Int32Array;
  /** The unit each template stands for; −1 for a template that absorbs spikes without a unit (Kilosort noise). */
  readonly unitOf: Int32Array;
  /** Spikes averaged into the template so far (online), or its spike count (Kilosort). */
  readonly spikeCount: Float64Array;
  /** Other matching windows in use, with each row's energy over them (float64, as a matcher sums them). */
  private readonly otherWindows: { readonly before: number; readonly after: number; readonly energy: Float64Array }[] = [];

  constructor(capacity: number, maxRows: number, length: number, alignIndex: number, windowBefore: number, windowAfter: number) {
    if (!(alignIndex - windowBefore >= 0 && alignIndex + windowAfter < length)) {
      throw new RangeError(`TemplateBank: the window ${-windowBefore}…+${windowAfter} around index ${alignIndex} must lie inside ${length} samples`);
    }
    this.capacity = capacity;
    this.maxRows = maxRows;
    this.length = length;
    this.alignIndex = alignIndex;
    this.windowBefore = windowBefore;
    this.windowAfter = windowAfter;
    this.active = new Uint8Array(capacity);
    this.rowCount = new Int32Array(capacity);
    this.channels = new Int32Array(capacity * maxRows).fill(-1);
    this.rowWeight = new Float32Array(capacity * maxRows);
    this.rowEnergy = new Float32Array(capacity * maxRows);
    this.data = new Float32Array(capacity * maxRows * length);
    this.peakChannel = new Int32Array(capacity).fill(-1);
    this.unitOf = new Int32Array(capacity).fill(-1);
    this.spikeCount = new Float64Array(capacity);
  }

  /** A free slot, or −1 when the bank is full. */
  freeSlot(): number {
    for (let k = 0; k < this.capacity; k++) if (!this.active[k]) return k;
    return -1;
  }

  /** Clears a slot (no allocation). */
  clear(k: number): void {
    this.active[k] = 0;
    this.rowCount[k] = 0;
    this.peakChannel[k] = -1;
    this.unitOf[k] = -1;
    this.spikeCount[k] = 0;
    const r0 = k * this.maxRows;
    this.channels.fill(-1, r0, r0 + this.maxRows);
    this.rowWeight.fill(0, r0, r0 + this.maxRows);
    this.rowEnergy.fill(0, r0, r0 + this.maxRows);
    for (const w of this.otherWindows) w.energy.fill(0, r0, r0 + this.maxRows);
    this.data.fill(0, r0 * this.length, (r0 + this.maxRows) * this.length);
  }

  /** Recomputes a row's energy over the matching window (and over every other window in use). */
  refreshRowEnergy(k: number, r: number): void {
    const base = (k * this.maxRows + r) * this.length;
    let e = 0;
    for (let t = this.alignIndex - this.windowBefore; t <= this.alignIndex + this.windowAfter; t++) e += this.data[base + t] * this.data[base + t];
    this.rowEnergy[k * this.maxRows + r] = e;
    for (let w = 0; w < this.otherWindows.length; w++) {
      const window = this.otherWindows[w];
      window.energy[k * this.maxRows + r] = this.energyOver(base, window.before, window.after);
    }
  }

  /**
   * Each row's energy over the window alignIndex − before … alignIndex + after, kept up to date
   * from now on (index: template × maxRows + row): the bank's own `rowEnergy` for its own window.
   */
  windowEnergies(before: number, after: number): Float32Array | Float64Array {
    if (before === this.windowBefore && after === this.windowAfter) return this.rowEnergy;
    if (!(before >= 0 && after >= 0 && this.alignIndex - before >= 0 && this.alignIndex + after < this.length)) {
      throw new RangeError(`TemplateBank: the window ${-before}…+${after} around index ${this.alignIndex} must lie inside ${this.length} samples`);
    }
    let window = this.otherWindows.find((w) => w.before === before && w.after === after);
    if (!window) {
      window = { before, after, energy: new Float64Array(this.capacity * this.maxRows) };
      for (let row = 0; row < this.capacity * this.maxRows; row++) window.energy[row] = this.energyOver(row * this.length, before, after);
      this.otherWindows.push(window);
    }
    return window.energy;
  }

  private energyOver(base: number, before: number, after: number): number {
    const at = base + this.alignIndex;
    let e = 0;
    for (let t = -before; t <= after; t++) e += this.data[at + t] * this.data[at + t];
    return e;
  }

  /** The row of template k recorded on `channel`, or −1. */
  rowOf(k: number, channel: number): number {
    const r0 = k * this.maxRows;
    for (let r = 0; r < this.rowCount[k]; r++) if (this.channels[r0 + r] === channel) return r;
    return -1;
  }

  /** Number of active templates. */
  activeCount(): number {
    let n = 0;
    for (let k = 0; k < this.capacity; k++) n += this.active[k];
    return n;
  }
}
