/**
 * Unit assignment from a cold start: online clustering of spike snippets by template.
 *
 * Each cluster is a template (a running mean of its spikes' snippets on the channels around its
 * peak). A spike is matched against the templates near its peak channel (template-matcher.ts); if
 * one accepts it, the spike joins it and updates it; if none does, it seeds a *provisional*
 * template. A provisional template becomes a unit — and gets the next unit id — once
 * `promoteSpikes` spikes have joined it; spikes before that, and spikes of provisional templates
 * that never grow (noise crossings, overlaps), are assigned −1. A provisional template expires when
 * nothing has joined it for `provisionalLifetimeS`; when the pool is full, single-spike ones are
 * recycled first, least recently matched first.
 *
 * Maintenance (a few times a second, never per spike):
 *  - retirement: a unit that gained fewer than `retireBelowSpikes` spikes in the `retireAfterS`
 *    after it became a unit (a passing coincidence of overlaps or noise, not a neuron) is dropped;
 *    its id is not reused;
 *  - re-centring: a template whose largest row is no longer its peak channel (drift) moves its
 *    rows to the new peak channel's neighbourhood;
 *  - merges: two units whose peaks are close and whose templates are closer than `mergeMaxChi2`
 *    (the noise-corrected χ² distance of templateDistance: about how well single spikes could be
 *    told apart) plus `mergeMaxRelative` of the smaller template's energy (tapering to nothing at
 *    `mergeRadiusUm`) become one. The χ² alone never merges a large unit's pieces: one neuron's
 *    spikes vary by far more than the noise (burst amplitude states, overlaps, drift), so it seeds
 *    templates that differ by hundreds of noise variances yet by a few % of their energy. The
 *    merged unit keeps the OLDER id and the newer id resolves to it from then on;
 *  - splits: every `splitEveryS` each unit's most recent `splitSpikes` snippets (its top rows over
 *    the matching window) are tested for two groups (split-test.ts); a split gives the smaller
 *    group a NEW id, the parent keeps its own.
 *
 * Memory is fixed at construction: `maxUnits` units plus `maxProvisional` provisional templates
 * (templates of `maxRows` rows × the snippet length), and per unit a ring of `splitSpikes` feature
 * vectors (`splitRows` rows × the matching window). When `maxUnits` units exist, no provisional
 * template is promoted any more (counted in `counters.promotionsRefused`).
 */
import { OptoloopError } from '../../core/errors.js';
import type { SnippetBatch } from '../../core/spikes.js';
import type { ChannelLayout } from '../../probe/channel-layout.js';
import { CandidateIndex } from './candidate-index.js';
import { valueAt, valueAtHalf } from './half-sample.js';
import { SplitTest, warmUpSplitTest } from './split-test.js';
import { TemplateBank } from './template-bank.js';
import { TemplateMatcher, type MatchOptions } from './template-matcher.js';
import { OverlapPeeler } from './overlap-peeler.js';
import { EarlyIdentifier } from './early-identifier.js';
import { checkEarlyWindow, checkSnippetWindow, type DetectionGeometry, type UnitAssigner, type UnitEvent } from './unit-assigner.js';
import { neighbourhoodsByRadius, type Neighbourhoods } from '../../probe/neighbourhoods.js';

export interface OnlineClusterOptions {
  readonly maxUnits: number;
  readonly maxProvisional: number;
  readonly maxRows: number;
  readonly candidateRadiusUm: number;
  readonly windowBeforeMs: number;
  readonly windowAfterMs: number;
  readonly maxShiftSamples: number;
  readonly minScale: number;
  readonly maxScale: number;
  readonly maxExcessSigma: number;
  readonly maxTemplateError: number;
  /**
   * Match at half-sample shifts too (template-matcher.ts). Off by default: on the cerebellum preset
   * (seed 1, 120 s) it changed neither the splitting nor the accuracy measurably, and it costs ⅔
   * more work per spike and candidate.
   */
  readonly halfSampleShifts: boolean;
  readonly promoteSpikes: number;
  readonly provisionalLifetimeS: number;
  /** The running mean weighs the newest spike at least 1/templateMemorySpikes (follows drift). */
  readonly templateMemorySpikes: number;
  readonly mergeRadiusUm: number;
  readonly mergeMaxChi2: number;
  /** Merge also when the templates' distance is below this fraction of the smaller one's energy (χ² units, over the compared rows). */
  readonly mergeMaxRelative: number;
  /** Alignments tried when comparing two templates for a merge (a unit whose trough the detector places a few samples apart at times leaves shifted copies). */
  readonly mergeMaxShiftSamples: number;
  /** A unit that gained fewer than retireBelowSpikes spikes in the retireAfterS after it became a unit is retired (its id is not reused). */
  readonly retireAfterS: number;
  readonly retireBelowSpikes: number;
  readonly splitEveryS: number;
  readonly splitSpikes: number;
  readonly splitRows: number;
  readonly splitMinDprime: number;
  readonly splitMinFraction: number;
  /** Explain a snippet that matches no template as two overlapping spikes (overlap-peeler.ts). */
  readonly resolveOverlaps: boolean;
  /** How far (ms) from the detected trough the other spike of an overlap is searched. */
  readonly overlapMaxOffsetMs: number;
  /** Overlap resolutions tried per batch at most (each costs about a candidate-list pass per offset): bounded work per block. */
  readonly overlapMaxPerBatch: number;
  /**
   * Report the peeled spikes of a resolved overlap that lie in the detector's blind zone (see
   * DetectionGeometry; only once setDetectionGeometry was called): the detector dropped them.
   */
  readonly recoverOverlaps: boolean;
}

export const DEFAULT_ONLINE_CLUSTER_OPTIONS: OnlineClusterOptions = {
  maxUnits: 2048,
  maxProvisional: 512,
  maxRows: 12,
  candidateRadiusUm: 60,
  windowBeforeMs: 1 / 3,
  windowAfterMs: 0.8,
  maxShiftSamples: 1,
  minScale: 0.6,
  maxScale: 1.6,
  maxExcessSigma: 6,
  maxTemplateError: 0.03,
  halfSampleShifts: false,
  promoteSpikes: 40,
  provisionalLifetimeS: 10,
  templateMemorySpikes: 300,
  mergeRadiusUm: 50,
  mergeMaxChi2: 6,
  mergeMaxRelative: 0.2,
  mergeMaxShiftSamples: 4,
  retireAfterS: 120,
  retireBelowSpikes: 40,
  splitEveryS: 10,
  splitSpikes: 100,
  splitRows: 3,
  splitMinDprime: 5,
  splitMinFraction: 0.15,
  resolveOverlaps: true,
  overlapMaxOffsetMs: 1,
  overlapMaxPerBatch: 64,
  recoverOverlaps: true,
};

export interface OnlineClusterCounters {
  spikes: number;
  assigned: number;
  provisionalCreated: number;
  provisionalExpired: number;
  promotions: number;
  promotionsRefused: number;
  merges: number;
  splits: number;
  retired: number;
  recentred: number;
  /** Refused snippets tried as two overlapping spikes / explained so (assigned to the main spike's unit). */
  overlapsTried: number;
  overlapsResolved: number;
  /** Peeled spikes in the detector's blind zone appended to the batch / not appended (the batch was full). */
  recovered: number;
  recoveredDropped: number;
}

const STAGE = 'classify.cluster';
/** Returned when maintenance changed nothing (most slices): no array per block. */
const NO_EVENTS: readonly UnitEvent[] = Object.freeze([]);

export class OnlineClusterer implements UnitAssigner {
  readonly kind = 'online' as const;
  readonly counters: OnlineClusterCounters = { spikes: 0, assigned: 0, provisionalCreated: 0, provisionalExpired: 0, promotions: 0, promotionsRefused: 0, merges: 0, splits: 0, retired: 0, recentred: 0, overlapsTried: 0, overlapsResolved: 0, recovered: 0, recoveredDropped: 0 };
  private bank: TemplateBank | null = null;
  private matcher: TemplateMatcher | null = null;
  private peeler: OverlapPeeler | null = null;
  private early: EarlyIdentifier | null = null;
  private geometry: DetectionGeometry | null = null;
  /** Snippet rows of each channel (pipeline.snippets.radiusUm), for the spikes recovered. */
  private snippetHoods: Neighbourhoods | null = null;
  private blindBeforeSamples = 0;
  private blindAfterSamples = 0;
  /** Recently recovered spikes (sample, unit), so that two detected spikes do not both report one hidden spike. */
  private readonly recoveredSample = new Float64Array(64);
  private readonly recoveredUnit = new Int32Array(64).fill(-1);
  private recoveredHead = 0;
  /** templateDistance()'s Σ a·b and Σ b·b per half-sample shift, and template b's row interpolated half a sample later. */
  private distanceAb = new Float64Array(0);
  private distanceBb = new Float64Array(0);
  private halfRowB = new Float64Array(0);
  /** Snippets assign() left for resolveDeferred(): their index in the batch. */
  private readonly deferredK: Int32Array;
  private deferredCount = 0;
  private readonly index: CandidateIndex;
  /** Per template slot: creation stream time (s), and its split ring. */
  private createdAtS = new Float64Array(0);
  private lastHitS = new Float64Array(0);
  private promotedAtS = new Float64Array(0);
  private spikesAtPromotion = new Float64Array(0);
  private ringCount = new Int32Array(0);
  private ringHead = new Int32Array(0);
  private ring = new Float32Array(0);
  private ringSlotOf = new Int32Array(0);
  private freeRings: number[] = [];
  private ringWidth = 0;
  private splitTest: SplitTest | null = null;
  /** The slot whose split test is in progress (−1: none), and the unit it held then. */
  private splitSlotInTest = -1;
  private splitUnitInTest = -1;
  /** The groups' means of a finished split test (splitRows rows × the window), reused. */
  private splitMean0 = new Float64Array(0);
  private splitMean1 = new Float64Array(0);
  private lastSplitCheckS = new Float64Array(0);
  /** Where the next maintenance slice starts. */
  private maintenanceCursor = 0;
  private nextUnitId = 0;
  private units = 0;
  private provisional = 0;
  /** Unit id → template slot (−1 when merged away); merged ids → their survivor. */
  private readonly slotOfUnit = new Map<number, number>();
  private readonly mergedInto = new Map<number, number>();
  private readonly events: UnitEvent[] = [];
  private streamTimeS = 0;
  private sampleRateHz = 0;
  private noiseUv: Float32Array;

  constructor(
    private readonly layout: ChannelLayout,
    private options: OnlineClusterOptions = DEFAULT_ONLINE_CLUSTER_OPTIONS,
  ) {
    const capacity = options.maxUnits + options.maxProvisional;
    this.index = new CandidateIndex(layout, options.candidateRadiusUm, Math.min(capacity, 128));
    this.noiseUv = new Float32Array(layout.channelCount).fill(1);
    warmUpSplitTest();
    const maxDeferred = options.resolveOverlaps ? options.overlapMaxPerBatch : 0;
    this.deferredK = new Int32Array(maxDeferred);
  }

  checkSnippetGeometry(samplesBefore: number, samplesAfter: number, sampleRateHz: number, earlySamplesAfter = 0): void {
    const o = this.options;
    const before = Math.round((o.windowBeforeMs * sampleRateHz) / 1000);
    const after = Math.round((o.windowAfterMs * sampleRateHz) / 1000);
    checkSnippetWindow(STAGE, samplesBefore, samplesAfter, before, after, o.maxShiftSamples);
    if (earlySamplesAfter > 0) checkEarlyWindow(STAGE, samplesBefore, earlySamplesAfter, before, o.maxShiftSamples);
  }

  private setUp(batch: SnippetBatch): void {
    const o = this.options;
    const rate = batch.sampleRateHz;
    this.checkSnippetGeometry(batch.samplesBefore, batch.samplesAfter, rate);
    const before = Math.round((o.windowBeforeMs * rate) / 1000);
    const after = Math.round((o.windowAfterMs * rate) / 1000);
    const capacity = o.maxUnits + o.maxProvisional;
    this.sampleRateHz = rate;
    this.bank = new TemplateBank(capacity, o.maxRows, batch.snippetLength, batch.samplesBefore, before, after);
    this.matcher = new TemplateMatcher(this.bank, this.layout.channelCount, Math.max(batch.neighbourCapacity, o.maxRows), this.matchOptions());
    this.peeler = new OverlapPeeler(this.bank, this.matcher, this.layout.channelCount, batch.neighbourCapacity, batch.snippetLength, batch.samplesBefore, batch.samplesAfter, rate, this.matchOptions(), {
      maxOffsetSamples: Math.round((o.overlapMaxOffsetMs * rate) / 1000),
      // Two troughs closer than the matcher's shifts are one shape to it.
      minOffsetSamples: o.maxShiftSamples + 1,
      searchRows: Math.min(o.maxRows, 4),
      minUnitSpikes: o.promoteSpikes,
      maxOthers: 3,
    });
    this.early = new EarlyIdentifier(STAGE, this.bank, this.index, this.layout.channelCount, Math.max(batch.neighbourCapacity, o.maxRows), this.matchOptions());
    this.createdAtS = new Float64Array(capacity);
    this.lastHitS = new Float64Array(capacity);
    this.promotedAtS = new Float64Array(capacity);
    this.spikesAtPromotion = new Float64Array(capacity);
    this.lastSplitCheckS = new Float64Array(capacity);
    this.ringWidth = o.splitRows * (before + after + 1);
    this.ring = new Float32Array(o.maxUnits * o.splitSpikes * this.ringWidth);
    this.ringCount = new Int32Array(o.maxUnits);
    this.ringHead = new Int32Array(o.maxUnits);
    this.ringSlotOf = new Int32Array(capacity).fill(-1);
    this.freeRings = Array.from({ length: o.maxUnits }, (_, i) => o.maxUnits - 1 - i);
    this.splitTest = new SplitTest(this.ringWidth, o.splitSpikes);
    this.splitMean0 = new Float64Array(this.ringWidth);
    this.splitMean1 = new Float64Array(this.ringWidth);
    if (this.geometry) this.planBlindZone();
  }

  setDetectionGeometry(geometry: DetectionGeometry): void {
    this.geometry = geometry;
    this.snippetHoods = neighbourhoodsByRadius(this.layout, geometry.snippetRadiusUm);
    if (this.sampleRateHz > 0) this.planBlindZone();
  }

  private planBlindZone(): void {
    const g = this.geometry!;
    // Two samples inside each edge: a peeled trough is placed to a sample or so, and a spike just
    // outside the blind zone was reported by the detector (recovering it would count it twice).
    this.blindBeforeSamples = Math.round((g.peakWindowMs * this.sampleRateHz) / 1000) - 2;
    this.blindAfterSamples = Math.round((g.refractoryMs * this.sampleRateHz) / 1000) - 2;
  }

  /** Changes how strictly spikes are accepted (maxExcessSigma, maxTemplateError, scale bounds) from the next spike on. */
  setAcceptance(acceptance: Partial<Pick<OnlineClusterOptions, 'maxExcessSigma' | 'maxTemplateError' | 'minScale' | 'maxScale'>>): void {
    this.options = { ...this.options, ...acceptance };
    this.matcher?.setOptions(this.matchOptions());
    this.peeler?.setMatchOptions(this.matchOptions());
    this.early?.setOptions(this.matchOptions());
  }

  private matchOptions(): MatchOptions {
    const o = this.options;
    return { maxShift: o.maxShiftSamples, minScale: o.minScale, maxScale: o.maxScale, maxExcessSigma: o.maxExcessSigma, maxTemplateError: o.maxTemplateError, halfSampleShifts: o.halfSampleShifts };
  }

  /**
   * The fast pass: every snippet matched against the templates near its peak. A snippet that needs
   * overlap resolution (refused by every template, or taken only by a provisional one — overlaps of
   * two cells at a recurring offset, light-evoked spikes at their latencies, seed provisional
   * templates of the sum that then catch the next such overlaps) keeps unit −1 here and is queued
   * for resolveDeferred(), which the daemon runs after the block's stimulation path: peeling costs
   * tens of µs a spike, up to overlapMaxPerBatch of them, and the rules must not wait for it.
   */
  assign(batch: SnippetBatch, noiseUv: Float32Array): void {
    this.deferredCount = 0;
    if (batch.count === 0) return;
    if (!this.bank) this.setUp(batch);
    this.noiseUv = noiseUv;
    const bank = this.bank!;
    const matcher = this.matcher!;
    const index = this.index;
    const overlapBudget = this.options.resolveOverlaps ? Math.min(this.options.overlapMaxPerBatch, this.deferredK.length) : 0;
    for (let k = 0; k < batch.count; k++) {
      this.counters.spikes++;
      const timeS = batch.peakSampleIndex[k] / batch.sampleRateHz;
      this.streamTimeS = timeS;
      const ch = batch.peakChannel[k];
      const m = matcher.match(batch, k, noiseUv, index.lists, index.offset(ch), index.counts[ch]);
      if ((!m.accepted || bank.unitOf[m.template] < 0) && m.template >= 0 && this.deferredCount < overlapBudget) {
        this.deferredK[this.deferredCount++] = k;
        batch.unitId[k] = -1;
        continue;
      }
      this.take(batch, k, timeS, m.accepted, m.template, m.shift);
    }
  }

  /** Early identification (early-identifier.ts); before the first full snippet there are no templates: every spike −1. */
  identifyEarly(batch: SnippetBatch, noiseUv: Float32Array): void {
    if (this.early) this.early.identify(batch, noiseUv);
    else batch.unitId.fill(-1, 0, batch.count);
  }

  /**
   * The deferred pass over the snippets assign() queued: each is tried as overlapping unit spikes
   * (overlap-peeler.ts); if that explains it, it gets the main spike's unit (neither template
   * learns from the overlapped snippet, none is seeded from it) and the peeled spikes the detector
   * could not have reported are appended to the batch; otherwise it takes its ordinary match.
   */
  resolveDeferred(batch: SnippetBatch, noiseUv: Float32Array): void {
    const n = this.deferredCount;
    this.deferredCount = 0;
    if (n === 0) return;
    const bank = this.bank!;
    const index = this.index;
    for (let d = 0; d < n; d++) {
      const k = this.deferredK[d];
      const timeS = batch.peakSampleIndex[k] / batch.sampleRateHz;
      const ch = batch.peakChannel[k];
      // Matched again, not taken from the fast pass: the templates changed since — a template seeded
      // from an earlier spike of this batch (the same new cell) may take it now, and a provisional
      // slot may have been recycled. Copied out: the peeler's own matches rewrite the result.
      const m = this.matcher!.match(batch, k, noiseUv, index.lists, index.offset(ch), index.counts[ch]);
      const accepted = m.accepted;
      const template = m.template;
      const shift = m.shift;
      const scale = m.scale;
      if (template < 0 || (accepted && bank.unitOf[template] >= 0)) {
        this.take(batch, k, timeS, accepted, template, shift);
        continue;
      }
      this.counters.overlapsTried++;
      const p = this.peeler!.resolve(batch, k, noiseUv, template, shift, scale, index.lists, index.offset(ch), index.counts[ch], index);
      if (p.main >= 0) {
        this.lastHitS[p.main] = timeS;
        batch.unitId[k] = bank.unitOf[p.main];
        this.counters.overlapsResolved++;
        this.counters.assigned++;
        if (this.geometry && this.options.recoverOverlaps) this.recover(batch, k);
        continue;
      }
      this.take(batch, k, timeS, accepted, template, shift);
    }
  }

  /** The ordinary outcome of a match: the template learns and gives its unit, or a provisional template is seeded. */
  private take(batch: SnippetBatch, k: number, timeS: number, accepted: boolean, t: number, shift: number): void {
    const bank = this.bank!;
    if (accepted) {
      this.lastHitS[t] = timeS;
      this.update(t, batch, k, shift);
      if (bank.unitOf[t] < 0 && bank.spikeCount[t] >= this.options.promoteSpikes) this.promote(t, timeS);
      const unit = bank.unitOf[t];
      batch.unitId[k] = unit;
      if (unit >= 0) {
        this.counters.assigned++;
        this.remember(t, batch, k, shift);
      }
    } else {
      batch.unitId[k] = -1;
      this.seed(batch, k, timeS);
    }
  }

  /**
   * Appends the peeled spikes of snippet k's resolved overlap that the detector could not have
   * reported (in its blind zone: within radiusUm of the detected peak channel, from peakWindowMs
   * before to refractoryMs after the detected trough), each with its unit, trough sample, peak
   * channel and amplitude, and a snippet on its own peak channel's rows (writeOtherRow).
   */
  private recover(batch: SnippetBatch, k: number): void {
    const peeler = this.peeler!;
    const bank = this.bank!;
    const g = this.geometry!;
    const hoods = this.snippetHoods!;
    const { xUm, yUm } = this.layout;
    const rows = batch.neighbourCapacity;
    const L = batch.snippetLength;
    const ch = batch.peakChannel[k];
    const r2 = g.radiusUm * g.radiusUm;
    for (let q = 0; q < peeler.result.others; q++) {
      const t = peeler.otherTemplateAt(q);
      const d = peeler.otherOffsetAt(q);
      const unit = bank.unitOf[t];
      const pc = bank.peakChannel[t];
      if (unit < 0 || d < -this.blindBeforeSamples || d > this.blindAfterSamples) continue;
      if ((xUm[pc] - xUm[ch]) ** 2 + (yUm[pc] - yUm[ch]) ** 2 > r2) continue;
      const sample = batch.peakSampleIndex[k] + d;
      if (this.recentlyRecovered(sample, unit)) continue;
      const n = batch.count;
      const hood = hoods.offsets[pc + 1] - hoods.offsets[pc];
      if (n >= batch.peakSampleIndex.length || n >= batch.unitId.length || (n + 1) * rows > batch.channels.length || (n + 1) * rows * L > batch.waveformsUv.length || hood > rows) {
        this.counters.recoveredDropped++;
        continue;
      }
      // Only a spike the detector would have reported on its own: its fitted trough crosses the threshold.
      const peakRow = bank.rowOf(t, pc);
      const amplitudeUv = peakRow >= 0 ? peeler.otherScaleAt(q) * bank.data[(t * bank.maxRows + peakRow) * bank.length + bank.alignIndex] : 0;
      const thresholdUv = g.thresholdUv ?? -g.thresholdSigma * this.noiseUv[pc];
      if (!(amplitudeUv <= thresholdUv)) continue;
      batch.peakSampleIndex[n] = sample;
      batch.peakChannel[n] = pc;
      batch.amplitudeUv[n] = amplitudeUv;
      batch.unitId[n] = unit;
      for (let r = 0; r < rows; r++) {
        const base = (n * rows + r) * L;
        if (r >= hood) {
          batch.channels[n * rows + r] = -1;
          batch.waveformsUv.fill(0, base, base + L);
          continue;
        }
        const c = hoods.indices[hoods.offsets[pc] + r];
        batch.channels[n * rows + r] = c;
        peeler.writeOtherRow(q, c, batch.channels, k * rows, batch.waveformsUv, base);
      }
      batch.count = n + 1;
      this.lastHitS[t] = sample / batch.sampleRateHz;
      this.recoveredSample[this.recoveredHead] = sample;
      this.recoveredUnit[this.recoveredHead] = unit;
      this.recoveredHead = (this.recoveredHead + 1) % this.recoveredUnit.length;
      this.counters.recovered++;
    }
  }

  private recentlyRecovered(sample: number, unit: number): boolean {
    const window = this.blindAfterSamples + this.blindBeforeSamples;
    for (let i = 0; i < this.recoveredUnit.length; i++) if (this.recoveredUnit[i] === unit && Math.abs(this.recoveredSample[i] - sample) <= window) return true;
    return false;
  }

  /** Running-mean update of template t with snippet k at the matched shift (a half-sample shift reads the snippet interpolated). */
  private update(t: number, batch: SnippetBatch, k: number, shift: number): void {
    const bank = this.bank!;
    const rows = batch.neighbourCapacity;
    const L = batch.snippetLength;
    const n = bank.spikeCount[t] + 1;
    bank.spikeCount[t] = n;
    const memory = this.options.templateMemorySpikes;
    for (let r = 0; r < bank.rowCount[t]; r++) {
      const ch = bank.channels[t * bank.maxRows + r];
      let sr = -1;
      for (let q = 0; q < rows; q++) {
        if (batch.channels[k * rows + q] === ch) {
          sr = q;
          break;
        }
      }
      if (sr < 0) continue;
      const row = t * bank.maxRows + r;
      const weight = bank.rowWeight[row] + 1;
      bank.rowWeight[row] = weight;
      const alpha = 1 / Math.min(weight, memory);
      const tBase = row * bank.length;
      const xBase = (k * rows + sr) * L;
      const whole = Math.floor(shift);
      const half = whole !== shift;
      for (let i = 0; i < bank.length; i++) {
        const j = i + whole;
        if (j < 0 || j >= L) continue;
        const x = half ? valueAtHalf(batch.waveformsUv, xBase, xBase + L, xBase + j) : batch.waveformsUv[xBase + j];
        bank.data[tBase + i] += alpha * (x - bank.data[tBase + i]);
      }
      bank.refreshRowEnergy(t, r);
    }
  }

  /** A new provisional template from snippet k (its first maxRows rows). */
  private seed(batch: SnippetBatch, k: number, timeS: number): void {
    const bank = this.bank!;
    const ch = batch.peakChannel[k];
    let slot = this.provisional < this.options.maxProvisional ? bank.freeSlot() : -1;
    if (slot < 0) slot = this.oldestProvisional();
    if (slot < 0) return;
    if (bank.active[slot]) this.removeTemplate(slot);
    if (this.index.isFull(ch)) return;
    const rows = batch.neighbourCapacity;
    const L = batch.snippetLength;
    bank.active[slot] = 1;
    bank.unitOf[slot] = -1;
    bank.spikeCount[slot] = 1;
    bank.peakChannel[slot] = ch;
    let r = 0;
    for (let q = 0; q < rows && r < bank.maxRows; q++) {
      const c = batch.channels[k * rows + q];
      if (c < 0) continue;
      const row = slot * bank.maxRows + r;
      bank.channels[row] = c;
      bank.rowWeight[row] = 1;
      // Copied by hand: a subarray() view per row would allocate for every seeded spike.
      const from = (k * rows + q) * L;
      const to = row * bank.length;
      for (let i = 0; i < L; i++) bank.data[to + i] = batch.waveformsUv[from + i];
      r++;
    }
    bank.rowCount[slot] = r;
    for (let i = 0; i < r; i++) bank.refreshRowEnergy(slot, i);
    this.createdAtS[slot] = timeS;
    this.lastHitS[slot] = timeS;
    this.index.add(slot, ch);
    this.provisional++;
    this.counters.provisionalCreated++;
  }

  /**
   * The provisional template to recycle: among those still made of one spike (most are noise
   * crossings and overlaps), the least recently matched; only when none is left, the least recently
   * matched of the others. A rare unit (a Purkinje cell's ~1 Hz complex spikes) thus keeps its young
   * template while junk churns through the single-spike ones.
   */
  private oldestProvisional(): number {
    const bank = this.bank!;
    let best = -1;
    let bestSingle = false;
    for (let k = 0; k < bank.capacity; k++) {
      if (!bank.active[k] || bank.unitOf[k] >= 0) continue;
      const single = bank.spikeCount[k] <= 1;
      if (best < 0 || (single && !bestSingle) || (single === bestSingle && this.lastHitS[k] < this.lastHitS[best])) {
        best = k;
        bestSingle = single;
      }
    }
    return best;
  }

  private removeTemplate(slot: number): void {
    const bank = this.bank!;
    if (bank.unitOf[slot] < 0) this.provisional--;
    this.index.remove(slot, bank.peakChannel[slot]);
    const ring = this.ringSlotOf[slot];
    if (ring >= 0) {
      this.freeRings.push(ring);
      this.ringSlotOf[slot] = -1;
    }
    bank.clear(slot);
  }

  private promote(slot: number, timeS: number): void {
    if (this.units >= this.options.maxUnits || this.freeRings.length === 0) {
      this.counters.promotionsRefused++;
      return;
    }
    const id = this.nextUnitId++;
    this.bank!.unitOf[slot] = id;
    this.provisional--;
    this.slotOfUnit.set(id, slot);
    const ring = this.freeRings.pop()!;
    this.ringSlotOf[slot] = ring;
    this.ringCount[ring] = 0;
    this.ringHead[ring] = 0;
    this.lastSplitCheckS[slot] = timeS;
    this.promotedAtS[slot] = timeS;
    this.spikesAtPromotion[slot] = this.bank!.spikeCount[slot];
    this.units++;
    this.counters.promotions++;
    this.events.push({ kind: 'created', unitId: id, streamTimeS: timeS });
  }

  /** Stores snippet k's split features (the template's first splitRows rows over the window). */
  private remember(slot: number, batch: SnippetBatch, k: number, shift: number): void {
    const ring = this.ringSlotOf[slot];
    if (ring < 0) return;
    const bank = this.bank!;
    const o = this.options;
    const rows = batch.neighbourCapacity;
    const L = batch.snippetLength;
    const width = bank.windowBefore + bank.windowAfter + 1;
    const position = this.ringHead[ring];
    const base = (ring * o.splitSpikes + position) * this.ringWidth;
    for (let r = 0; r < o.splitRows; r++) {
      const out = base + r * width;
      const ch = r < bank.rowCount[slot] ? bank.channels[slot * bank.maxRows + r] : -1;
      let sr = -1;
      for (let q = 0; q < rows && ch >= 0; q++) {
        if (batch.channels[k * rows + q] === ch) {
          sr = q;
          break;
        }
      }
      if (sr < 0) {
        // The row is not in this snippet: take the template's value (a neutral feature).
        const tBase = (slot * bank.maxRows + r) * bank.length + bank.alignIndex - bank.windowBefore;
        for (let t = 0; t < width; t++) this.ring[out + t] = ch >= 0 ? bank.data[tBase + t] : 0;
        continue;
      }
      const sigma = this.noiseUv[ch] > 0 ? this.noiseUv[ch] : 1;
      const rowStart = (k * rows + sr) * L;
      const xBase = rowStart + batch.samplesBefore - bank.windowBefore;
      for (let t = 0; t < width; t++) this.ring[out + t] = valueAt(batch.waveformsUv, rowStart, rowStart + L, xBase + t + shift) / sigma;
    }
    this.ringHead[ring] = (position + 1) % o.splitSpikes;
    if (this.ringCount[ring] < o.splitSpikes) this.ringCount[ring]++;
  }

  /** Maintenance over every slot, split tests run whole; returns the events since the previous call (promotions during assign() included). */
  maintain(streamTimeS: number): readonly UnitEvent[] {
    const bank = this.bank;
    if (!bank) return NO_EVENTS;
    return this.maintainSlots(streamTimeS, 0, bank.capacity, Number.POSITIVE_INFINITY);
  }

  get slotCount(): number {
    return this.options.maxUnits + this.options.maxProvisional;
  }

  /** See UnitAssigner.maintainSlice: `slots` slots from the cycling cursor, ≤ splitIterations power iterations of split testing. */
  maintainSlice(streamTimeS: number, slots: number, splitIterations: number): readonly UnitEvent[] {
    const bank = this.bank;
    if (!bank) return NO_EVENTS;
    const count = Math.min(bank.capacity, Math.max(1, Math.ceil(slots)));
    const start = this.maintenanceCursor;
    this.maintenanceCursor = (start + count) % bank.capacity;
    return this.maintainSlots(streamTimeS, start, count, splitIterations);
  }

  /**
   * Upkeep, then merges, then splits, over `count` slots from `start` (wrapping), as one pass does.
   * Split tests run one at a time and advance by at most `splitIterations` power iterations per
   * call; with an infinite budget (a full pass) each due slot's test runs whole.
   */
  private maintainSlots(streamTimeS: number, start: number, count: number, splitIterations: number): readonly UnitEvent[] {
    const capacity = this.bank!.capacity;
    this.streamTimeS = Math.max(this.streamTimeS, streamTimeS);
    const now = this.streamTimeS;
    for (let j = 0; j < count; j++) this.upkeepSlot((start + j) % capacity, now);
    for (let j = 0; j < count; j++) this.mergeFrom((start + j) % capacity, now);
    this.advanceSplitTest(now, splitIterations);
    for (let j = 0; j < count; j++) {
      if (this.splitSlotInTest >= 0) break;
      if (this.beginSplitTest((start + j) % capacity, now)) this.advanceSplitTest(now, splitIterations);
    }
    if (this.events.length === 0) return NO_EVENTS;
    const events = this.events.slice();
    this.events.length = 0;
    return events;
  }

  /** Drops expired provisional templates and units that never took off; re-centres the others. */
  private upkeepSlot(k: number, now: number): void {
    const bank = this.bank!;
    if (!bank.active[k]) return;
    if (bank.unitOf[k] < 0) {
      if (now - this.lastHitS[k] > this.options.provisionalLifetimeS) {
        this.removeTemplate(k);
        this.counters.provisionalExpired++;
      }
      return;
    }
    if (now - this.promotedAtS[k] >= this.options.retireAfterS && now - this.promotedAtS[k] < this.options.retireAfterS + 60 && bank.spikeCount[k] - this.spikesAtPromotion[k] < this.options.retireBelowSpikes) {
      const id = bank.unitOf[k];
      this.removeTemplate(k);
      this.slotOfUnit.delete(id);
      this.units--;
      this.counters.retired++;
      this.events.push({ kind: 'retired', unitId: id, streamTimeS: now });
      return;
    }
    this.recentre(k);
  }

  /** Moves template k to the neighbourhood of its largest row, when that is not its peak channel. */
  private recentre(k: number): void {
    const bank = this.bank!;
    let bestRow = -1;
    let bestDepth = 0;
    for (let r = 0; r < bank.rowCount[k]; r++) {
      const row = k * bank.maxRows + r;
      if (bank.rowWeight[row] < 5) continue;
      const depth = -bank.data[row * bank.length + bank.alignIndex];
      if (depth > bestDepth) {
        bestDepth = depth;
        bestRow = r;
      }
    }
    if (bestRow < 0) return;
    const newPeak = bank.channels[k * bank.maxRows + bestRow];
    if (newPeak === bank.peakChannel[k]) return;
    const current = bank.data[(k * bank.maxRows + bank.rowOf(k, bank.peakChannel[k])) * bank.length + bank.alignIndex];
    // Hysteresis: move only when the new channel is clearly larger (10 %), not on noise.
    if (!(bestDepth > 1.1 * -current)) return;
    const neighbours = this.index.neighbours(newPeak);
    const rows = Math.min(bank.maxRows, neighbours.length);
    // Rebuild the rows in place: keep the data of channels both neighbourhoods share.
    const keepChannels = new Int32Array(rows);
    const keepWeight = new Float32Array(rows);
    const keepData = new Float32Array(rows * bank.length);
    for (let r = 0; r < rows; r++) {
      const ch = neighbours[r];
      keepChannels[r] = ch;
      const old = bank.rowOf(k, ch);
      if (old >= 0) {
        keepWeight[r] = bank.rowWeight[k * bank.maxRows + old];
        keepData.set(bank.data.subarray((k * bank.maxRows + old) * bank.length, (k * bank.maxRows + old + 1) * bank.length), r * bank.length);
      }
    }
    this.index.remove(k, bank.peakChannel[k]);
    const r0 = k * bank.maxRows;
    bank.channels.fill(-1, r0, r0 + bank.maxRows);
    bank.rowWeight.fill(0, r0, r0 + bank.maxRows);
    bank.data.fill(0, r0 * bank.length, (r0 + bank.maxRows) * bank.length);
    for (let r = 0; r < rows; r++) {
      bank.channels[r0 + r] = keepChannels[r];
      bank.rowWeight[r0 + r] = keepWeight[r];
      bank.data.set(keepData.subarray(r * bank.length, (r + 1) * bank.length), (r0 + r) * bank.length);
      bank.refreshRowEnergy(k, r);
    }
    bank.rowCount[k] = rows;
    bank.peakChannel[k] = newPeak;
    this.index.add(k, newPeak);
    // The split features were taken on the old rows.
    const ring = this.ringSlotOf[k];
    if (ring >= 0) this.ringCount[ring] = this.ringHead[ring] = 0;
    this.counters.recentred++;
  }

  /**
   * How distinguishable two templates are: Σ (a − c·b)² / σ² over their shared rows and the
   * matching window, at the best shift in half samples (b interpolated) and the best common scale c
   * in [0.8, 1.25] (one unit's spikes can end up split between templates by amplitude or sub-sample
   * timing), minus what the templates' own noise contributes (σ²/n per sample for a mean of n
   * spikes, n capped by the template memory). For two units, a spike is confused with the other
   * about Φ(−√D / 2) of the time: D = 6 is ≈ 11 %, D = 25 is 0.6 %. Infinity when the shared rows
   * do not include both peak channels.
   */
  templateDistance(a: number, b: number, relative = 0): number {
    const bank = this.bank!;
    const before = bank.windowBefore;
    const width = before + bank.windowAfter + 1;
    // Stay inside the template: the window plus the shift (and the half-sample neighbour).
    const room = Math.min(bank.alignIndex - before, bank.length - 2 - bank.alignIndex - bank.windowAfter);
    const maxHalfShift = 2 * Math.max(0, Math.min(this.options.mergeMaxShiftSamples, room));
    const memory = this.options.templateMemorySpikes;
    const shifts = 2 * maxHalfShift + 1;
    if (this.distanceAb.length < shifts) {
      this.distanceAb = new Float64Array(shifts);
      this.distanceBb = new Float64Array(shifts);
    }
    if (this.halfRowB.length < bank.length) this.halfRowB = new Float64Array(bank.length);
    // A row at a time, every shift (the row lookups and b's half-sample interpolation once per
    // row): each sum runs over the rows and samples in the order a shift at a time would, so the
    // distance is the same to the bit.
    const ab = this.distanceAb;
    const bb = this.distanceBb;
    const halfB = this.halfRowB;
    ab.fill(0, 0, shifts);
    bb.fill(0, 0, shifts);
    let aa = 0;
    let noise = 0;
    let peakA = false;
    let peakB = false;
    for (let r = 0; r < bank.rowCount[a]; r++) {
      const rowA = a * bank.maxRows + r;
      const wa = bank.rowWeight[rowA];
      if (wa <= 0) continue;
      const ch = bank.channels[rowA];
      const rb = bank.rowOf(b, ch);
      if (rb < 0) continue;
      const wb = bank.rowWeight[b * bank.maxRows + rb];
      if (wb <= 0) continue;
      if (ch === bank.peakChannel[a]) peakA = true;
      if (ch === bank.peakChannel[b]) peakB = true;
      const sigma = this.noiseUv[ch] > 0 ? this.noiseUv[ch] : 1;
      const w = 1 / (sigma * sigma);
      const baseA = rowA * bank.length + bank.alignIndex - before;
      const rowStartB = (b * bank.maxRows + rb) * bank.length;
      for (let t = 0; t < width; t++) {
        const x = bank.data[baseA + t];
        aa += x * x * w;
      }
      if (maxHalfShift > 0) for (let i = 0; i < bank.length; i++) halfB[i] = valueAtHalf(bank.data, rowStartB, rowStartB + bank.length, rowStartB + i);
      for (let h = -maxHalfShift; h <= maxHalfShift; h++) {
        const whole = Math.floor(h / 2);
        const half = h % 2 !== 0;
        const offsetB = bank.alignIndex - before + whole;
        let sab = ab[h + maxHalfShift];
        let sbb = bb[h + maxHalfShift];
        for (let t = 0; t < width; t++) {
          const x = bank.data[baseA + t];
          const y = half ? halfB[offsetB + t] : bank.data[rowStartB + offsetB + t];
          sab += x * y * w;
          sbb += y * y * w;
        }
        ab[h + maxHalfShift] = sab;
        bb[h + maxHalfShift] = sbb;
      }
      noise += width * (1 / Math.min(wa, memory) + 1 / Math.min(wb, memory));
    }
    if (!peakA || !peakB) return Infinity;
    let best = Infinity;
    for (let h = -maxHalfShift; h <= maxHalfShift; h++) {
      const sab = ab[h + maxHalfShift];
      const sbb = bb[h + maxHalfShift];
      if (!(sbb > 0)) continue;
      const c = Math.min(1.25, Math.max(0.8, sab / sbb));
      best = Math.min(best, aa - 2 * c * sab + c * c * sbb - noise - relative * Math.min(aa, c * c * sbb));
    }
    return best;
  }


  /**
   * Tests each pair of units whose peaks are within mergeRadiusUm. The candidates of a unit are
   * read from the candidate index (templates whose peak is within candidateRadiusUm of its peak),
   * so the cost grows with units × neighbours, not units²; a merge radius larger than the
   * candidate radius falls back to every pair.
   */
  /** Merges into unit slot a every younger unit near it whose template matches a's. */
  private mergeFrom(a: number, now: number): void {
    const bank = this.bank!;
    const o = this.options;
    if (!bank.active[a] || bank.unitOf[a] < 0) return;
    const r2 = o.mergeRadiusUm * o.mergeRadiusUm;
    const { xUm, yUm } = this.layout;
    const useIndex = o.mergeRadiusUm <= o.candidateRadiusUm;
    const pa = bank.peakChannel[a];
    const from = useIndex ? this.index.offset(pa) : 0;
    for (let i = 0; i < (useIndex ? this.index.counts[pa] : bank.capacity); i++) {
      const b = useIndex ? this.index.lists[from + i] : i;
      if (b === a || !bank.active[b] || bank.unitOf[b] < 0 || bank.unitOf[b] < bank.unitOf[a]) continue;
      const pb = bank.peakChannel[b];
      const d2 = (xUm[pa] - xUm[pb]) ** 2 + (yUm[pa] - yUm[pb]) ** 2;
      if (d2 > r2) continue;
      // The relative allowance is full for templates on one peak channel and falls to none at the
      // merge radius: on seed 1 of the cerebellum preset, pairs of one neuron's templates within
      // 10 % of each other's energy were one neuron 20 : 1 when on one peak channel, but only 5 : 1
      // when 26–40 µm apart.
      const relative = o.mergeRadiusUm > 0 ? o.mergeMaxRelative * Math.max(0, 1 - Math.sqrt(d2) / o.mergeRadiusUm) : 0;
      if (this.templateDistance(a, b, relative) > o.mergeMaxChi2) continue;
      this.merge(a, b, now);
      if (!bank.active[a]) return;
      // The list of channel pa changed (b left it): stay at the same position.
      if (useIndex) i--;
    }
  }

  /** Merges unit slot b into unit slot a (a holds the older id). */
  private merge(a: number, b: number, now: number): void {
    const bank = this.bank!;
    const survivor = bank.unitOf[a];
    const absorbed = bank.unitOf[b];
    const na = bank.spikeCount[a];
    const nb = bank.spikeCount[b];
    for (let r = 0; r < bank.rowCount[a]; r++) {
      const rowA = a * bank.maxRows + r;
      const rb = bank.rowOf(b, bank.channels[rowA]);
      if (rb < 0) continue;
      const rowB = b * bank.maxRows + rb;
      const wa = bank.rowWeight[rowA];
      const wb = bank.rowWeight[rowB];
      if (wa + wb <= 0) continue;
      for (let i = 0; i < bank.length; i++) bank.data[rowA * bank.length + i] = (wa * bank.data[rowA * bank.length + i] + wb * bank.data[rowB * bank.length + i]) / (wa + wb);
      bank.rowWeight[rowA] = wa + wb;
      bank.refreshRowEnergy(a, r);
    }
    bank.spikeCount[a] = na + nb;
    this.removeTemplate(b);
    this.slotOfUnit.delete(absorbed);
    this.mergedInto.set(absorbed, survivor);
    this.units--;
    this.counters.merges++;
    this.events.push({ kind: 'merged', survivor, absorbed, streamTimeS: now });
  }

  /** Begins slot k's split test when it is due (a unit with a full ring, not tested for splitEveryS); returns whether it did. */
  private beginSplitTest(k: number, now: number): boolean {
    const bank = this.bank!;
    const o = this.options;
    if (!bank.active[k] || bank.unitOf[k] < 0) return false;
    if (now - this.lastSplitCheckS[k] < o.splitEveryS) return false;
    const ring = this.ringSlotOf[k];
    if (ring < 0 || this.ringCount[ring] < o.splitSpikes) return false;
    this.lastSplitCheckS[k] = now;
    const data = this.ring.subarray(ring * o.splitSpikes * this.ringWidth, (ring + 1) * o.splitSpikes * this.ringWidth);
    this.splitTest!.begin(data, o.splitSpikes, o.splitMinDprime, o.splitMinFraction);
    this.splitSlotInTest = k;
    this.splitUnitInTest = bank.unitOf[k];
    return true;
  }

  /** Advances the split test in progress by ≤ `iterations` power iterations; once it is over, splits its unit if it found two groups. */
  private advanceSplitTest(now: number, iterations: number): void {
    const k = this.splitSlotInTest;
    if (k < 0 || !this.splitTest!.step(iterations)) return;
    this.splitSlotInTest = -1;
    // The unit may have been merged away or retired while the test ran over several slices.
    if (!this.bank!.active[k] || this.bank!.unitOf[k] !== this.splitUnitInTest) return;
    this.split(k, now);
  }

  /** Splits slot k's unit in two after its finished split test, when the groups differ like distinct units. */
  private split(k: number, now: number): void {
    const bank = this.bank!;
    const o = this.options;
    const test = this.splitTest!;
    const result = test.result;
    if (!result.split) return;
    if (this.units >= o.maxUnits || this.freeRings.length === 0) {
      this.counters.promotionsRefused++;
      return;
    }
    // The groups' means must differ like distinct units, or the split would be merged back.
    const width = bank.windowBefore + bank.windowAfter + 1;
    const mean0 = this.splitMean0;
    const mean1 = this.splitMean1;
    const n1 = test.groupMeans(mean0, mean1);
    const n0 = o.splitSpikes - n1;
    let distance = 0;
    for (let j = 0; j < this.ringWidth; j++) distance += (mean0[j] - mean1[j]) ** 2;
    if (distance <= 2 * o.mergeMaxChi2) return;
    const child = bank.freeSlot() >= 0 ? bank.freeSlot() : this.oldestProvisional();
    if (child < 0) return;
    if (bank.active[child]) this.removeTemplate(child);
    // Child: the parent's template, with its top rows replaced by the minority group's mean.
    bank.active[child] = 1;
    bank.rowCount[child] = bank.rowCount[k];
    bank.peakChannel[child] = bank.peakChannel[k];
    bank.spikeCount[child] = n1;
    bank.channels.set(bank.channels.subarray(k * bank.maxRows, (k + 1) * bank.maxRows), child * bank.maxRows);
    bank.data.set(bank.data.subarray(k * bank.maxRows * bank.length, (k + 1) * bank.maxRows * bank.length), child * bank.maxRows * bank.length);
    for (let r = 0; r < bank.rowCount[k]; r++) {
      bank.rowWeight[child * bank.maxRows + r] = r < o.splitRows ? n1 : 1;
      if (r < o.splitRows) {
        const ch = bank.channels[k * bank.maxRows + r];
        const sigma = this.noiseUv[ch] > 0 ? this.noiseUv[ch] : 1;
        const base = bank.alignIndex - bank.windowBefore;
        for (let t = 0; t < width; t++) {
          bank.data[(child * bank.maxRows + r) * bank.length + base + t] = mean1[r * width + t] * sigma;
          bank.data[(k * bank.maxRows + r) * bank.length + base + t] = mean0[r * width + t] * sigma;
        }
        bank.rowWeight[k * bank.maxRows + r] = n0;
        bank.refreshRowEnergy(k, r);
      }
      bank.refreshRowEnergy(child, r);
    }
    bank.spikeCount[k] = n0;
    this.createdAtS[child] = now;
    this.index.add(child, bank.peakChannel[child]);
    const parentRing = this.ringSlotOf[k];
    this.ringCount[parentRing] = this.ringHead[parentRing] = 0;
    bank.unitOf[child] = -1;
    this.provisional++;
    // Promote at once: the group already has its spikes.
    bank.spikeCount[child] = Math.max(n1, this.options.promoteSpikes);
    this.promote(child, now);
    bank.spikeCount[child] = n1;
    const created = this.events.pop()!;
    this.counters.promotions--;
    this.counters.splits++;
    this.events.push({ kind: 'split', parent: bank.unitOf[k], unitId: created.kind === 'created' ? created.unitId : bank.unitOf[child], streamTimeS: now });
  }

  /** The id a (possibly merged) unit id now goes by. */
  resolve(unitId: number): number {
    let id = unitId;
    for (let hops = 0; hops < 64; hops++) {
      const next = this.mergedInto.get(id);
      if (next === undefined) return id;
      id = next;
    }
    return id;
  }

  unitIds(): number[] {
    return [...this.slotOfUnit.keys()].sort((a, b) => a - b);
  }

  peakChannelOf(unitId: number): number {
    const slot = this.slotOfUnit.get(this.resolve(unitId));
    return slot === undefined ? -1 : this.bank!.peakChannel[slot];
  }

  /** A unit's current template row on its peak channel (µV), for display; null if unknown. */
  templateOf(unitId: number): { channels: Int32Array; waveformsUv: Float32Array; length: number } | null {
    const slot = this.slotOfUnit.get(this.resolve(unitId));
    if (slot === undefined || !this.bank) return null;
    const b = this.bank;
    const rows = b.rowCount[slot];
    return {
      channels: b.channels.slice(slot * b.maxRows, slot * b.maxRows + rows),
      waveformsUv: b.data.slice(slot * b.maxRows * b.length, (slot * b.maxRows + rows) * b.length),
      length: b.length,
    };
  }

  /** Templates in use (units + provisional), for status. */
  templateCount(): number {
    return this.bank ? this.bank.activeCount() : 0;
  }
}
