/**
 * Template matching of one spike snippet against the templates near its peak channel — the
 * "calibrate offline, match online" practice (science.md §4.4), and the assignment step of the
 * online clusterer.
 *
 * For each candidate template and each time shift s ∈ −maxShift…+maxShift (in half samples with
 * `halfSampleShifts`: narrow spikes caught at different sub-sample phases differ by more than the
 * noise, and without it they seed templates of their own), over the snippet's rows
 * and the window around the peak, with each channel weighted by 1/σ² (its noise):
 *   X = Σ x²,  D = Σ x·τ (rows the template has),  T = Σ τ² (all the template's rows: energy the
 *   template puts on channels the snippet lacks counts against it),
 *   a = D / T (the best amplitude scale, clamped to [minScale, maxScale]),
 *   R = X − 2aD + a²T  (the residual energy, in units of noise variance).
 * The best (template, shift) is the one with the smallest R. It is accepted when
 *   R ≤ N · (1 + 1/n) + maxExcessSigma · √(2N) + maxTemplateError · a²T,
 * N the samples compared, n the spikes the template is made of: for white noise R of the right
 * template is χ² with N degrees of freedom (mean N, SD √(2N)), a young template adds its own noise
 * (N/n), and a small fraction of the template's energy is allowed for drift and amplitude changes.
 * A spike of another unit leaves that unit's difference in R and is refused once the difference is
 * a few SDs of the noise. Otherwise the spike matches nothing. Nothing is allocated per spike.
 */
import type { SnippetBatch } from '../../core/spikes.js';
import { valueAtHalf } from './half-sample.js';
import type { TemplateBank } from './template-bank.js';

export interface MatchOptions {
  readonly maxShift: number;
  /** Bounds of the fitted amplitude scale (Kilosort templates have arbitrary units: use 0…∞). */
  readonly minScale: number;
  readonly maxScale: number;
  /** Allowed residual above the noise's mean, in SDs of a χ² with N degrees of freedom (√(2N)). */
  readonly maxExcessSigma: number;
  /** Allowed residual as a fraction of the fitted template's energy. */
  readonly maxTemplateError: number;
  /** Also try the shifts half-way between samples (cubic interpolation of the template). */
  readonly halfSampleShifts?: boolean;
}

/**
 * The residual a fit of `scale` × a template (`energy` weighted, over `samples` weighted samples,
 * the template made of `spikeCount` spikes) may leave and still be accepted: the noise's χ² mean
 * (plus the template's own estimation noise, 1/n), `maxExcessSigma` SDs of it, and
 * `maxTemplateError` of the fitted energy. The overlap peeler judges its peeled spikes by the same rule.
 */
export function acceptanceBound(samples: number, spikeCount: number, scale: number, energy: number, o: MatchOptions): number {
  return samples * (1 + 1 / Math.max(1, spikeCount)) + o.maxExcessSigma * Math.sqrt(2 * samples) + o.maxTemplateError * scale * scale * energy;
}

export interface MatchResult {
  /** Best template slot, −1 when no candidate. */
  template: number;
  /** Samples the snippet sits later than the template: an integer, or an integer + ½ with halfSampleShifts. */
  shift: number;
  scale: number;
  /** Residual R and its acceptance bound. */
  residual: number;
  bound: number;
  /** Samples compared (N). */
  samples: number;
  accepted: boolean;
}

/** A matching window other than the bank's, in samples around the trough (early identification: a shorter one). */
export interface MatchWindow {
  readonly before: number;
  readonly after: number;
}

export class TemplateMatcher {
  readonly windowBefore: number;
  readonly windowAfter: number;
  /** Each template row's energy over this matcher's window (the bank keeps them up to date). */
  private readonly rowEnergy: Float32Array | Float64Array;
  /** Row of each channel in the current snippet, −1 elsewhere. */
  private readonly snippetRowOf: Int32Array;
  private readonly weightOfRow: Float64Array;
  private xxByShift: Float64Array;
  /** Σ x·τ per whole-sample shift of the current candidate. */
  private dotByShift: Float64Array;
  /** The weighted energy of the rows halfShiftDot() interpolated. */
  private halfCovered = 0;
  readonly result: MatchResult = { template: -1, shift: 0, scale: 0, residual: 0, bound: 0, samples: 0, accepted: false };

  constructor(
    private readonly bank: TemplateBank,
    channelCount: number,
    maxSnippetRows: number,
    private options: MatchOptions,
    window?: MatchWindow,
  ) {
    this.windowBefore = window?.before ?? bank.windowBefore;
    this.windowAfter = window?.after ?? bank.windowAfter;
    if (!(this.windowBefore >= 0 && this.windowAfter >= 0 && this.windowBefore <= bank.alignIndex && bank.alignIndex + this.windowAfter < bank.length)) {
      throw new RangeError(`TemplateMatcher: the window ${-this.windowBefore}…+${this.windowAfter} around index ${bank.alignIndex} must lie inside the templates' ${bank.length} samples`);
    }
    this.rowEnergy = bank.windowEnergies(this.windowBefore, this.windowAfter);
    this.snippetRowOf = new Int32Array(channelCount).fill(-1);
    this.weightOfRow = new Float64Array(maxSnippetRows);
    this.xxByShift = new Float64Array(2 * options.maxShift + 1);
    this.dotByShift = new Float64Array(2 * options.maxShift + 1);
  }

  /** Replaces the acceptance options (e.g. on a config reload); takes effect with the next spike. */
  setOptions(options: MatchOptions): void {
    this.options = options;
    this.xxByShift = new Float64Array(2 * options.maxShift + 1);
    this.dotByShift = new Float64Array(2 * options.maxShift + 1);
  }

  /**
   * Matches snippet k of `batch` against the templates `candidates[from … from + count)`.
   * `noiseUv` is σ per channel (a channel not yet measured, NaN, weighs as σ = 1 µV).
   * Fills and returns `this.result`. `extraAllowance` (noise variances) is added to the acceptance
   * bound: the error allowance of templates already subtracted from the snippet (overlap-peeler.ts).
   */
  match(batch: SnippetBatch, k: number, noiseUv: Float32Array, candidates: Int32Array, from: number, count: number, extraAllowance = 0): MatchResult {
    const bank = this.bank;
    const o = this.options;
    const rows = batch.neighbourCapacity;
    const L = batch.snippetLength;
    const rowBase = k * rows;
    const wf = batch.waveformsUv;
    const before = this.windowBefore;
    const after = this.windowAfter;
    const width = before + after + 1;
    const rowEnergy = this.rowEnergy;
    const result = this.result;
    result.template = -1;
    result.accepted = false;
    result.residual = Infinity;
    // Snippet rows, their weights, and X per shift.
    let usedRows = 0;
    for (let r = 0; r < rows; r++) {
      const ch = batch.channels[rowBase + r];
      if (ch < 0) continue;
      this.snippetRowOf[ch] = r;
      const sigma = noiseUv[ch];
      this.weightOfRow[r] = sigma > 0 ? 1 / (sigma * sigma) : 1;
      usedRows++;
    }
    const maxShift = o.maxShift;
    // A row at a time, every shift: the same sums, in the same order, as a shift at a time.
    const xxByShift = this.xxByShift;
    xxByShift.fill(0);
    for (let r = 0; r < rows; r++) {
      if (batch.channels[rowBase + r] < 0) continue;
      const w = this.weightOfRow[r];
      const xRow = (rowBase + r) * L + batch.samplesBefore - before;
      for (let s = -maxShift; s <= maxShift; s++) {
        const base = xRow + s;
        let e = 0;
        for (let t = 0; t < width; t++) {
          const x = wf[base + t];
          e += x * x;
        }
        xxByShift[s + maxShift] += e * w;
      }
    }
    const samples = usedRows * width;
    const halfMax = 2 * maxShift;
    const step = o.halfSampleShifts ? 1 : 2;
    const dotByShift = this.dotByShift;
    for (let c = from; c < from + count; c++) {
      const tk = candidates[c];
      if (!bank.active[tk]) continue;
      const tRows = bank.rowCount[tk];
      const tRow0 = tk * bank.maxRows;
      let tt = 0;
      // Energy on template rows the snippet lacks (same for every shift); σ from the channel's noise.
      for (let r = 0; r < tRows; r++) {
        if (bank.rowWeight[tRow0 + r] <= 0) continue;
        const ch = bank.channels[tRow0 + r];
        if (this.snippetRowOf[ch] >= 0) continue;
        const sigma = noiseUv[ch];
        tt += rowEnergy[tRow0 + r] * (sigma > 0 ? 1 / (sigma * sigma) : 1);
      }
      // Whole-sample shifts, a row at a time: its lookups once for all shifts. Each shift's sums
      // run over the rows and samples in the same order as one shift at a time would, so the
      // figures (and ties) are the same to the bit.
      dotByShift.fill(0);
      let covered = 0;
      for (let r = 0; r < tRows; r++) {
        if (bank.rowWeight[tRow0 + r] <= 0) continue;
        const sr = this.snippetRowOf[bank.channels[tRow0 + r]];
        if (sr < 0) continue;
        const w = this.weightOfRow[sr];
        const xRow = (rowBase + sr) * L + batch.samplesBefore - before;
        const tBase = (tRow0 + r) * bank.length + bank.alignIndex - before;
        if (maxShift === 1) {
          // The default: the three shifts in one pass over the template row.
          let dm = 0;
          let d0 = 0;
          let dp = 0;
          for (let t = 0; t < width; t++) {
            const v = bank.data[tBase + t];
            dm += wf[xRow - 1 + t] * v;
            d0 += wf[xRow + t] * v;
            dp += wf[xRow + 1 + t] * v;
          }
          dotByShift[0] += dm * w;
          dotByShift[1] += d0 * w;
          dotByShift[2] += dp * w;
        } else {
          for (let s = -maxShift; s <= maxShift; s++) {
            const xBase = xRow + s;
            let d = 0;
            for (let t = 0; t < width; t++) d += wf[xBase + t] * bank.data[tBase + t];
            dotByShift[s + maxShift] += d * w;
          }
        }
        covered += rowEnergy[tRow0 + r] * w;
      }
      for (let h = -halfMax; h <= halfMax; h += step) {
        // Shift h / 2 samples; an odd h compares the snippet at shift ⌊h/2⌋ with the template
        // interpolated half a sample earlier (its energy then taken on the interpolated values).
        const s = h >> 1;
        const half = (h & 1) !== 0;
        const dot = half ? this.halfShiftDot(batch, k, tk, s) : dotByShift[s + maxShift];
        const total = tt + (half ? this.halfCovered : covered);
        if (!(total > 0)) continue;
        let a = dot / total;
        if (a < o.minScale) a = o.minScale;
        else if (a > o.maxScale) a = o.maxScale;
        const residual = this.xxByShift[s + maxShift] - 2 * a * dot + a * a * total;
        if (residual < result.residual) {
          result.template = tk;
          result.shift = h / 2;
          result.scale = a;
          result.residual = residual;
          result.bound = acceptanceBound(samples, bank.spikeCount[tk], a, total, o) + extraAllowance;
        }
      }
    }
    // Reset the lookup for the next spike.
    for (let r = 0; r < rows; r++) {
      const ch = batch.channels[rowBase + r];
      if (ch >= 0) this.snippetRowOf[ch] = -1;
    }
    result.samples = samples;
    result.accepted = result.template >= 0 && result.residual <= result.bound && result.scale > 0;
    return result;
  }

  /**
   * Σ x·τ over the rows for template `tk` interpolated half a sample earlier, the snippet at whole
   * shift `s` (each row weighted by 1/σ²); the interpolated rows' weighted energy is left in
   * `halfCovered`.
   */
  private halfShiftDot(batch: SnippetBatch, k: number, tk: number, s: number): number {
    const bank = this.bank;
    const L = batch.snippetLength;
    const wf = batch.waveformsUv;
    const rowBase = k * batch.neighbourCapacity;
    const before = this.windowBefore;
    const width = before + this.windowAfter + 1;
    const tRows = bank.rowCount[tk];
    const tRow0 = tk * bank.maxRows;
    const start = batch.samplesBefore - before + s;
    let dot = 0;
    let covered = 0;
    for (let r = 0; r < tRows; r++) {
      if (bank.rowWeight[tRow0 + r] <= 0) continue;
      const sr = this.snippetRowOf[bank.channels[tRow0 + r]];
      if (sr < 0) continue;
      const xBase = (rowBase + sr) * L + start;
      const rowStart = (tRow0 + r) * bank.length;
      const tBase = rowStart + bank.alignIndex - before;
      const w = this.weightOfRow[sr];
      let d = 0;
      let e = 0;
      for (let t = 0; t < width; t++) {
        const v = valueAtHalf(bank.data, rowStart, rowStart + bank.length, tBase + t - 1);
        d += wf[xBase + t] * v;
        e += v * v;
      }
      covered += e * w;
      dot += d * w;
    }
    this.halfCovered = covered;
    return dot;
  }
}
