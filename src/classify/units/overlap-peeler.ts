/**
 * Overlap resolution for a snippet that matched no unit template: neighbouring cells firing within a
 * millisecond of each other (above all the near-synchronous light-evoked spikes of opsin cells:
 * on the simulated cortex most such snippets hold three or more spikes within 1.5 ms and 120 µm)
 * leave snippets that are the SUM of several templates, which fail the single-template match
 * (template-matcher.ts) of every cell involved.
 *
 * Peeling snippet k (its detected trough at offset 0), a greedy matching pursuit:
 *  1. the main spike's first guess: the matcher's best template for the snippet (refused, or taken
 *     only by a provisional template) — or, when that is a provisional template (an overlap
 *     shape itself, seeded by earlier overlaps at the same offset), the best unit template;
 *  2. up to `maxOthers` times: in the snippet minus the main guess and the other spikes found so
 *     far, the unit template (≥ minUnitSpikes spikes, listed near any of the snippet's channels)
 *     and offset δ (minOffset ≤ |δ| ≤ maxOffset samples, its matching window inside the snippet)
 *     whose best-scaled fit removes the most energy, over the template's first `searchRows` rows
 *     and its matching window, each channel weighted by 1/σ²; after each, the snippet minus the
 *     other spikes found is matched again against the unit templates near the peak channel, with
 *     the ordinary bound plus maxTemplateError of the energy subtracted in the matching window
 *     (each subtracted template may be off by as much as the matched one);
 *  3. accepted when that match accepts a unit (not one of the others) AND every other spike is
 *     explained: on its rows and window, the snippet minus all the fits is within the same kind of
 *     bound (N + maxExcessSigma·√(2N) + maxTemplateError·energy).
 *
 * The caller gives snippet k the main template's unit. Nothing is allocated per spike: residuals,
 * a one-snippet batch view, the template pools and the channel lookup are allocated once.
 */
import type { SnippetBatch } from '../../core/spikes.js';
import type { TemplateBank } from './template-bank.js';
import { acceptanceBound, type MatchOptions, type TemplateMatcher } from './template-matcher.js';

export interface OverlapOptions {
  /** The other spike is searched this far (samples) before and after the detected trough. */
  readonly maxOffsetSamples: number;
  /** Closer than this the two spikes are one shape to the matcher: not separated. */
  readonly minOffsetSamples: number;
  /** Template rows (the channels nearest its peak) compared in the search. */
  readonly searchRows: number;
  /** Templates with at least this many spikes may explain the other spike (units, not young provisional ones). */
  readonly minUnitSpikes: number;
  /** Other spikes peeled at most (a cluster of opsin cells answers the light together: often three or more within a millisecond). */
  readonly maxOthers: number;
}

/** Where the templates near each channel are listed (candidate-index.ts). */
export interface CandidateLists {
  readonly lists: Int32Array;
  readonly counts: Int32Array;
  offset(channel: number): number;
}

export interface PeelResult {
  /** Template of the detected spike, −1 when the snippet is not explained as two spikes. */
  main: number;
  /** Template of the other spike and its offset from the detected trough (samples, + = later). */
  other: number;
  otherOffset: number;
  otherScale: number;
  /** Other spikes peeled (the first one is reported in other / otherOffset / otherScale). */
  others: number;
}

type ScratchBatch = { -readonly [K in keyof SnippetBatch]: SnippetBatch[K] };

export class OverlapPeeler {
  readonly result: PeelResult = { main: -1, other: -1, otherOffset: 0, otherScale: 0, others: 0 };
  private readonly rowOf: Int32Array;
  private readonly weight: Float64Array;
  /** The snippet minus the main fit and the others so far (where the next other is searched). */
  private readonly search: Float32Array;
  /** The snippet minus the others so far (matched again; `view` shows it as a one-snippet batch). */
  private readonly residual: Float32Array;
  /** The snippet minus every fit. */
  private readonly final: Float32Array;
  private readonly otherTemplate: Int32Array;
  private readonly otherOffset: Int32Array;
  private readonly otherScale: Float64Array;
  /** searchOther()'s Σ search·τ per offset of the current template (index: offset − the lowest). */
  private readonly dotByOffset: Float64Array;
  /** Templates pooled for the search, deduplicated by stamp. */
  private readonly pool: Int32Array;
  /** The unit templates among the main spike's candidates. */
  private readonly units: Int32Array;
  private poolCount = 0;
  private readonly stamp: Int32Array;
  private stampNow = 0;
  private readonly view: ScratchBatch;

  constructor(
    private readonly bank: TemplateBank,
    private readonly matcher: TemplateMatcher,
    channelCount: number,
    private readonly rows: number,
    private readonly length: number,
    samplesBefore: number,
    samplesAfter: number,
    sampleRateHz: number,
    private matchOptions: MatchOptions,
    private readonly options: OverlapOptions,
  ) {
    this.rowOf = new Int32Array(channelCount).fill(-1);
    this.weight = new Float64Array(rows);
    this.residual = new Float32Array(rows * length);
    this.search = new Float32Array(rows * length);
    this.final = new Float32Array(rows * length);
    this.otherTemplate = new Int32Array(Math.max(1, options.maxOthers));
    this.otherOffset = new Int32Array(Math.max(1, options.maxOthers));
    this.otherScale = new Float64Array(Math.max(1, options.maxOthers));
    this.dotByOffset = new Float64Array(2 * options.maxOffsetSamples + 1);
    this.pool = new Int32Array(bank.capacity);
    this.units = new Int32Array(bank.capacity);
    this.stamp = new Int32Array(bank.capacity);
    this.view = {
      streamId: 'overlap',
      sampleRateHz,
      count: 1,
      peakSampleIndex: new Float64Array(1),
      peakChannel: new Int32Array(1),
      amplitudeUv: new Float32Array(1),
      unitId: new Int32Array(1).fill(-1),
      sourceReceiveTimeNs: 0,
      samplesBefore,
      samplesAfter,
      snippetLength: length,
      neighbourCapacity: rows,
      channels: new Int32Array(rows).fill(-1),
      waveformsUv: this.residual,
    };
  }

  setMatchOptions(options: MatchOptions): void {
    this.matchOptions = options;
  }

  /**
   * Tries to explain snippet k as its own spike plus up to `maxOthers` overlapping ones (see the
   * header). `candidates[from … from + count)` are the templates near its peak channel, as for the
   * matcher; the other spikes are searched among the templates near any of the snippet's channels
   * (`index`). `firstTemplate`, `firstShift` and `firstScale` are the matcher's best fit of this
   * snippet (refused, or taken only by a provisional template): the main spike's first guess,
   * passed as values because the matcher's result object is rewritten by every match.
   */
  resolve(
    batch: SnippetBatch,
    k: number,
    noiseUv: Float32Array,
    firstTemplate: number,
    firstShift: number,
    firstScale: number,
    candidates: Int32Array,
    from: number,
    count: number,
    index: CandidateLists,
  ): PeelResult {
    const out = this.result;
    out.main = -1;
    out.other = -1;
    out.others = 0;
    if (firstTemplate < 0) return out;
    const bank = this.bank;
    const rows = this.rows;
    const L = this.length;
    const wf = batch.waveformsUv;
    const base = k * rows * L;
    for (let r = 0; r < rows; r++) {
      const ch = batch.channels[k * rows + r];
      this.view.channels[r] = ch;
      if (ch < 0) continue;
      this.rowOf[ch] = r;
      const sigma = noiseUv[ch];
      this.weight[r] = sigma > 0 ? 1 / (sigma * sigma) : 1;
    }
    // The main spike is one of the units near the peak channel (a provisional template may be an
    // overlap shape itself); the others are units near any of the snippet's channels.
    let units = 0;
    for (let i = from; i < from + count; i++) {
      const t = candidates[i];
      if (bank.active[t] && bank.unitOf[t] >= 0) this.units[units++] = t;
    }
    if (units === 0) return this.reset(batch, k);
    let main = firstTemplate;
    let mainShift = firstShift;
    let mainScale = firstScale;
    if (bank.unitOf[main] < 0) {
      const m = this.matcher.match(batch, k, noiseUv, this.units, 0, units);
      if (m.template < 0) return this.reset(batch, k);
      main = m.template;
      mainShift = m.shift;
      mainScale = m.scale;
    }
    this.gatherPool(batch, k, index, main);
    // Greedy pursuit: each other spike is searched in the snippet minus the main fit and the others so far.
    // Copied by hand: a subarray() view is an allocation per peeled spike.
    for (let i = 0; i < rows * L; i++) this.search[i] = this.residual[i] = wf[base + i];
    this.subtract(this.search, main, Math.floor(mainShift), mainScale);
    // Each subtracted template may be off by maxTemplateError of its energy, like the main one.
    let allowance = 0;
    for (let n = 0; n < this.options.maxOthers && out.main < 0; n++) {
      if (!this.searchOther()) break;
      const t = this.otherTemplate[n];
      this.subtract(this.search, t, this.otherOffset[n], this.otherScale[n]);
      allowance += this.matchOptions.maxTemplateError * this.subtract(this.residual, t, this.otherOffset[n], this.otherScale[n]);
      out.others = n + 1;
      // The snippet minus the other spikes so far, matched as usual against the units.
      const m = this.matcher.match(this.view, 0, noiseUv, this.units, 0, units, allowance);
      if (!m.accepted || this.isOther(m.template, n + 1)) continue;
      // Every other spike must be explained too: the snippet minus all fits, on its rows and window.
      this.final.set(this.residual);
      this.subtract(this.final, m.template, Math.floor(m.shift), m.scale);
      let explained = true;
      for (let q = 0; q <= n && explained; q++) explained = this.otherExplained(this.otherTemplate[q], this.otherOffset[q], this.otherScale[q]);
      if (!explained) break;
      out.main = m.template;
      out.other = this.otherTemplate[0];
      out.otherOffset = this.otherOffset[0];
      out.otherScale = this.otherScale[0];
    }
    return this.reset(batch, k);
  }

  /** Clears the channel lookup for the next snippet; returns the result. */
  private reset(batch: SnippetBatch, k: number): PeelResult {
    const rows = this.rows;
    for (let r = 0; r < rows; r++) {
      const ch = batch.channels[k * rows + r];
      if (ch >= 0) this.rowOf[ch] = -1;
    }
    return this.result;
  }

  /** Other spike q of the last accepted resolution (q < result.others): template, offset (samples), scale. */
  otherTemplateAt(q: number): number {
    return this.otherTemplate[q];
  }
  otherOffsetAt(q: number): number {
    return this.otherOffset[q];
  }
  otherScaleAt(q: number): number {
    return this.otherScale[q];
  }

  /**
   * The waveform of other spike q of the last accepted resolution on `channel`, its trough at
   * `samplesBefore`, into out[outBase …): what the snippet holds of it (the snippet minus every
   * other fit), and its fitted template where the snippet has no data (samples beyond the
   * snippet's window, a channel the snippet lacks); 0 where neither is known. Call before the next
   * resolve().
   */
  writeOtherRow(q: number, channel: number, snippetChannels: Int32Array, snippetRow0: number, out: Float32Array, outBase: number): void {
    const bank = this.bank;
    const L = this.length;
    const t = this.otherTemplate[q];
    const d = this.otherOffset[q];
    const a = this.otherScale[q];
    const tr = bank.rowOf(t, channel);
    const tBase = tr >= 0 && bank.rowWeight[t * bank.maxRows + tr] > 0 ? (t * bank.maxRows + tr) * bank.length : -1;
    let sr = -1;
    for (let r = 0; r < this.rows; r++) {
      if (snippetChannels[snippetRow0 + r] === channel) {
        sr = r;
        break;
      }
    }
    for (let i = 0; i < L; i++) {
      const fit = tBase >= 0 ? a * bank.data[tBase + i] : 0;
      const j = i + d;
      out[outBase + i] = sr >= 0 && j >= 0 && j < L ? this.final[sr * L + j] + fit : fit;
    }
  }

  private isOther(t: number, n: number): boolean {
    for (let q = 0; q < n; q++) if (this.otherTemplate[q] === t) return true;
    return false;
  }

  /** pool ← unit templates (≥ minUnitSpikes) listed near any of snippet k's channels, except the main one; each once (stamped). */
  private gatherPool(batch: SnippetBatch, k: number, index: CandidateLists, main: number): void {
    const bank = this.bank;
    this.stampNow++;
    this.poolCount = 0;
    for (let r = 0; r < this.rows; r++) {
      const ch = batch.channels[k * this.rows + r];
      if (ch < 0) continue;
      const from = index.offset(ch);
      for (let i = from; i < from + index.counts[ch]; i++) {
        const t = index.lists[i];
        if (this.stamp[t] === this.stampNow) continue;
        this.stamp[t] = this.stampNow;
        if (t === main || !bank.active[t] || bank.unitOf[t] < 0 || bank.spikeCount[t] < this.options.minUnitSpikes) continue;
        if (this.poolCount < this.pool.length) this.pool[this.poolCount++] = t;
      }
    }
  }

  /** residual −= scale × template t placed `shift` samples later, on every row the snippet has (whole template length, clipped). */
  private subtract(buffer: Float32Array, t: number, shift: number, scale: number): number {
    const bank = this.bank;
    const L = this.length;
    // The matcher's window around the trough, with its shifts: where the subtracted energy counts.
    const m0 = bank.alignIndex - bank.windowBefore - this.matchOptions.maxShift;
    const m1 = bank.alignIndex + bank.windowAfter + this.matchOptions.maxShift;
    let energy = 0;
    for (let r = 0; r < bank.rowCount[t]; r++) {
      const row = t * bank.maxRows + r;
      if (bank.rowWeight[row] <= 0) continue;
      const sr = this.rowOf[bank.channels[row]];
      if (sr < 0) continue;
      const tBase = row * bank.length;
      const xBase = sr * L;
      const lo = Math.max(0, -shift);
      const hi = Math.min(bank.length, L - shift);
      let e = 0;
      for (let i = lo; i < hi; i++) {
        const v = scale * bank.data[tBase + i];
        buffer[xBase + i + shift] -= v;
        const j = i + shift;
        if (j >= m0 && j <= m1) e += v * v;
      }
      energy += e * this.weight[sr];
    }
    return energy;
  }

  /** The next other spike in `search`: the pooled template and offset whose best-scaled fit removes the most energy; false if none does. */
  private searchOther(): boolean {
    const bank = this.bank;
    const o = this.options;
    const mo = this.matchOptions;
    const L = this.length;
    const n = this.result.others;
    const before = bank.windowBefore;
    const after = bank.windowAfter;
    const w0 = bank.alignIndex - before;
    const w1 = bank.alignIndex + after;
    // The other spike's window must lie inside the snippet.
    const lowest = Math.max(-o.maxOffsetSamples, -w0);
    const highest = Math.min(o.maxOffsetSamples, L - 1 - w1);
    let bestGain = 0;
    let found = false;
    for (let c = 0; c < this.poolCount; c++) {
      const t = this.pool[c];
      if (this.isOther(t, n)) continue;
      const tRow0 = t * bank.maxRows;
      const nRows = Math.min(bank.rowCount[t], o.searchRows);
      let energy = 0;
      let compared = 0;
      for (let r = 0; r < nRows; r++) {
        if (bank.rowWeight[tRow0 + r] <= 0) continue;
        const sr = this.rowOf[bank.channels[tRow0 + r]];
        if (sr < 0) continue;
        energy += bank.rowEnergy[tRow0 + r] * this.weight[sr];
        compared += w1 - w0 + 1;
      }
      // A spike whose energy on these rows, at the largest scale, is within the matcher's allowance
      // for noise could not have made the snippet fail: not worth the offsets.
      if (!(mo.maxScale * mo.maxScale * energy > mo.maxExcessSigma * Math.sqrt(2 * compared))) continue;
      // Σ search·τ for every offset, a row at a time (its lookups once) and four offsets per pass
      // over the template row (each template value loaded once for the four): every offset's sum
      // runs over the rows and samples in the order one offset at a time would, so the gains (and
      // ties) are the same to the bit.
      const dotByOffset = this.dotByOffset;
      dotByOffset.fill(0, 0, highest - lowest + 1);
      for (let r = 0; r < nRows; r++) {
        const row = tRow0 + r;
        if (bank.rowWeight[row] <= 0) continue;
        const sr = this.rowOf[bank.channels[row]];
        if (sr < 0) continue;
        const w = this.weight[sr];
        const tBase = row * bank.length;
        const xRow = sr * L;
        // The offsets either side of the gap where the two spikes are one shape (|d| < minOffset).
        const belowEnd = Math.min(highest, -o.minOffsetSamples);
        this.addRowDots(xRow, tBase, w, w0, w1, lowest, belowEnd, lowest);
        this.addRowDots(xRow, tBase, w, w0, w1, Math.max(lowest, o.minOffsetSamples, belowEnd + 1), highest, lowest);
      }
      for (let d = lowest; d <= highest; d++) {
        if (d > -o.minOffsetSamples && d < o.minOffsetSamples) continue;
        const dot = dotByOffset[d - lowest];
        let a = dot / energy;
        if (a < mo.minScale) a = mo.minScale;
        else if (a > mo.maxScale) a = mo.maxScale;
        const gain = 2 * a * dot - a * a * energy;
        if (gain > bestGain) {
          bestGain = gain;
          found = true;
          this.otherTemplate[n] = t;
          this.otherOffset[n] = d;
          this.otherScale[n] = a;
        }
      }
    }
    return found;
  }

  /**
   * dotByOffset[d − origin] += w · Σ_{i=w0…w1} search[xRow + d + i] · data[tBase + i] for the
   * offsets d = from … to (none when to < from).
   */
  private addRowDots(xRow: number, tBase: number, w: number, w0: number, w1: number, from: number, to: number, origin: number): void {
    const search = this.search;
    const data = this.bank.data;
    const dots = this.dotByOffset;
    let d = from;
    for (; d + 3 <= to; d += 4) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      const x = xRow + d;
      for (let i = w0; i <= w1; i++) {
        const v = data[tBase + i];
        s0 += search[x + i] * v;
        s1 += search[x + i + 1] * v;
        s2 += search[x + i + 2] * v;
        s3 += search[x + i + 3] * v;
      }
      dots[d - origin] += s0 * w;
      dots[d + 1 - origin] += s1 * w;
      dots[d + 2 - origin] += s2 * w;
      dots[d + 3 - origin] += s3 * w;
    }
    for (; d <= to; d++) {
      let s = 0;
      const x = xRow + d;
      for (let i = w0; i <= w1; i++) s += search[x + i] * data[tBase + i];
      dots[d - origin] += s * w;
    }
  }

  /** Whether the residual (snippet minus both spikes) on the other template's search rows and window is noise-like. */
  private otherExplained(t: number, offset: number, scale: number): boolean {
    const bank = this.bank;
    const o = this.options;
    const L = this.length;
    const tRow0 = t * bank.maxRows;
    const nRows = Math.min(bank.rowCount[t], o.searchRows);
    const w0 = bank.alignIndex - bank.windowBefore;
    const w1 = bank.alignIndex + bank.windowAfter;
    let residual = 0;
    let energy = 0;
    let samples = 0;
    for (let r = 0; r < nRows; r++) {
      if (bank.rowWeight[tRow0 + r] <= 0) continue;
      const sr = this.rowOf[bank.channels[tRow0 + r]];
      if (sr < 0) continue;
      const w = this.weight[sr];
      let e = 0;
      for (let i = w0; i <= w1; i++) {
        const x = this.final[sr * L + i + offset];
        e += x * x;
      }
      residual += e * w;
      energy += bank.rowEnergy[tRow0 + r] * w;
      samples += w1 - w0 + 1;
    }
    if (samples === 0) return false;
    return residual <= acceptanceBound(samples, bank.spikeCount[t], scale, energy, this.matchOptions);
  }
}
