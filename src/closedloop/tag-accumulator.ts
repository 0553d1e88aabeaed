/**
 * Per-unit optotagging statistics, accumulated one pulse (trial) at a time, so that the offline
 * command and the online session compute exactly the same numbers. Definitions:
 * ../shared/docs/science.md §2.
 *
 * - SALT: raw spike times (as CellBase); the onset artefact can be skipped with saltTestStartMs,
 *   and the waveform criterion rejects artefacts (as CellBase does).
 * - Latency, jitter, reliability and the Allen ratio ignore spikes less than `artefactMs` after the
 *   light's onset or offset. The baseline response probability (for the excitation check and the
 *   sequential test) is measured in baseline windows with the same shape and the same holes, so the
 *   comparison stays fair whatever the pulse width.
 * - Latency = centre of the highest PSTH bin (0.5 ms bins, −5…+10 ms) whose centre lies in the
 *   response window; jitter = SD (n − 1) of the first response-window spike per pulse; reliability =
 *   fraction of pulses with ≥ 1 spike in the response window.
 * - Allen ratio = evoked rate / (baseline rate + 1 Hz), rates in Hz over +1…+9 ms and −10…−2 ms,
 *   as the Allen Brain Observatory computes it (mean count per trial / window length).
 */
import type { OptotagAnalysisOptions } from './optotag-options.js';
import { SaltWorkspace, saltFromCounts, saltLatencyBinCount } from './salt.js';

/** What one unit's accumulated pulses say. Nulls where a statistic is undefined (too few spikes). */
export interface TagStats {
  readonly pulses: number;
  readonly saltP: number | null;
  readonly saltI: number | null;
  readonly latencyMs: number | null;
  readonly jitterMs: number | null;
  /** Mean latency of the first response-window spike. */
  readonly firstSpikeLatencyMs: number | null;
  readonly reliability: number | null;
  /** Fraction of baseline windows (response-window shape) holding a spike: reliability without light. */
  readonly baselineReliability: number | null;
  readonly allenRatio: number | null;
  readonly evokedRateHz: number | null;
  readonly baselineRateHz: number | null;
}

/** The window layout derived from the options, with per-trial scratch, shared by every unit's accumulator. */
export class TagLayout {
  readonly saltBinCount: number;
  readonly saltWindowCount: number;
  readonly psthBinCount: number;
  readonly responseWindowMs: number;
  readonly baselineResponseWindowCount: number;
  /** How long before onset / after onset a trial needs spikes. */
  readonly preMs: number;
  readonly postMs: number;
  readonly saltWorkspace: SaltWorkspace;
  // Per-trial scratch (addTrial is synchronous, so units share it).
  readonly trialSaltLatency: Int32Array;
  readonly trialBaselineHit: Uint8Array;

  constructor(readonly options: OptotagAnalysisOptions) {
    this.saltBinCount = saltLatencyBinCount(options.saltWindowMs, options.saltBinMs);
    this.saltWindowCount = Math.floor(options.baselineMs / options.saltWindowMs + 1e-9);
    this.psthBinCount = Math.round((options.psthEndMs - options.psthStartMs) / options.psthBinMs);
    this.responseWindowMs = options.evokedEndMs - options.evokedStartMs;
    this.baselineResponseWindowCount = Math.floor(options.baselineMs / this.responseWindowMs + 1e-9);
    this.preMs = options.baselineMs;
    this.postMs = Math.max(options.saltTestStartMs + options.saltWindowMs, options.evokedEndMs, options.psthEndMs, options.allenEvokedEndMs);
    this.saltWorkspace = new SaltWorkspace(this.saltWindowCount, this.saltBinCount);
    this.trialSaltLatency = new Int32Array(this.saltWindowCount + 1);
    this.trialBaselineHit = new Uint8Array(this.baselineResponseWindowCount);
  }

  /** True when a spike `tMs` after onset falls within `artefactMs` of the light's onset or offset. */
  isArtefact(tMs: number, pulseWidthMs: number): boolean {
    const a = this.options.artefactMs;
    return (tMs >= 0 && tMs < a) || (tMs >= pulseWidthMs && tMs < pulseWidthMs + a);
  }

  /** Length of [from, to) left after removing the artefact zones of a pulse of this width. */
  usableMs(fromMs: number, toMs: number, pulseWidthMs: number): number {
    const a = this.options.artefactMs;
    let length = toMs - fromMs;
    length -= overlap(fromMs, toMs, 0, a);
    // The offset zone may overlap the onset zone for pulses shorter than the artefact time.
    length -= overlap(fromMs, toMs, Math.max(pulseWidthMs, a), pulseWidthMs + a);
    return Math.max(0, length);
  }
}

function overlap(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

/** One unit's accumulated optotagging counts. */
export class TagAccumulator {
  trials = 0;
  readonly saltCounts: Float64Array;
  readonly psthCounts: Float64Array;
  responded = 0;
  private firstSpikeN = 0;
  private firstSpikeMeanMs = 0;
  private firstSpikeM2 = 0;
  baselineWindows = 0;
  baselineWindowsWithSpike = 0;
  allenEvokedSpikes = 0;
  allenEvokedMs = 0;
  allenBaselineSpikes = 0;
  allenBaselineMs = 0;

  constructor(readonly layout: TagLayout) {
    this.saltCounts = new Float64Array((layout.saltWindowCount + 1) * layout.saltBinCount);
    this.psthCounts = new Float64Array(layout.psthBinCount);
  }

  reset(): void {
    this.trials = 0;
    this.saltCounts.fill(0);
    this.psthCounts.fill(0);
    this.responded = 0;
    this.firstSpikeN = 0;
    this.firstSpikeMeanMs = 0;
    this.firstSpikeM2 = 0;
    this.baselineWindows = 0;
    this.baselineWindowsWithSpike = 0;
    this.allenEvokedSpikes = 0;
    this.allenEvokedMs = 0;
    this.allenBaselineSpikes = 0;
    this.allenBaselineMs = 0;
  }

  /**
   * Adds one pulse. `relMs[from … to)` are the unit's spike times relative to the pulse onset, in
   * ms, ascending, covering at least [−layout.preMs, layout.postMs). Returns whether the pulse was
   * followed by a response-window spike. Allocates nothing.
   */
  addTrial(relMs: ArrayLike<number>, from: number, to: number, pulseWidthMs: number): boolean {
    const L = this.layout;
    const o = L.options;
    const wn = o.saltWindowMs;
    const dt = o.saltBinMs;
    const nW = L.saltWindowCount;
    const saltLatency = L.trialSaltLatency;
    saltLatency.fill(0);
    const hits = L.trialBaselineHit;
    hits.fill(0);
    const baselineStart = -o.baselineMs;
    const saltBaselineEnd = baselineStart + nW * wn;
    const testStart = o.saltTestStartMs;
    const rw = L.responseWindowMs;
    const nR = L.baselineResponseWindowCount;
    const responseBaselineEnd = baselineStart + nR * rw;
    let firstResponseMs = NaN;

    for (let k = from; k < to; k++) {
      const t = relMs[k];
      // SALT baseline windows and test window: raw spikes, first one per window.
      if (t >= baselineStart && t < saltBaselineEnd) {
        const r = Math.min(nW - 1, Math.floor((t - baselineStart) / wn));
        if (saltLatency[r] === 0) saltLatency[r] = Math.min(L.saltBinCount - 1, Math.floor((t - (baselineStart + r * wn)) / dt) + 1);
      } else if (t >= testStart && t < testStart + wn && saltLatency[nW] === 0) {
        saltLatency[nW] = Math.min(L.saltBinCount - 1, Math.floor((t - testStart) / dt) + 1);
      }
      // Baseline windows shaped like the response window, with the same artefact holes.
      if (t >= baselineStart && t < responseBaselineEnd) {
        const j = Math.min(nR - 1, Math.floor((t - baselineStart) / rw));
        const u = t - (baselineStart + j * rw) + o.evokedStartMs;
        if (!L.isArtefact(u, pulseWidthMs)) hits[j] = 1;
      }
      if (L.isArtefact(t, pulseWidthMs)) continue;
      if (t >= o.psthStartMs && t < o.psthEndMs) {
        const b = Math.min(L.psthBinCount - 1, Math.floor((t - o.psthStartMs) / o.psthBinMs));
        this.psthCounts[b]++;
      }
      if (t >= o.evokedStartMs && t < o.evokedEndMs && Number.isNaN(firstResponseMs)) firstResponseMs = t;
      if (t >= o.allenEvokedStartMs && t < o.allenEvokedEndMs) this.allenEvokedSpikes++;
      if (t >= o.allenBaselineStartMs && t < o.allenBaselineEndMs) this.allenBaselineSpikes++;
    }

    for (let r = 0; r <= nW; r++) this.saltCounts[r * L.saltBinCount + saltLatency[r]]++;
    let baselineHits = 0;
    for (let j = 0; j < nR; j++) baselineHits += hits[j];
    // Baseline windows whose shape has no usable time (a hole covering it all) are not windows at all.
    if (L.usableMs(o.evokedStartMs, o.evokedEndMs, pulseWidthMs) > 0) {
      this.baselineWindows += nR;
      this.baselineWindowsWithSpike += baselineHits;
    }
    this.allenEvokedMs += L.usableMs(o.allenEvokedStartMs, o.allenEvokedEndMs, pulseWidthMs);
    this.allenBaselineMs += o.allenBaselineEndMs - o.allenBaselineStartMs;
    this.trials++;
    const responded = !Number.isNaN(firstResponseMs);
    if (responded) {
      this.responded++;
      // Welford: a numerically stable running variance.
      this.firstSpikeN++;
      const delta = firstResponseMs - this.firstSpikeMeanMs;
      this.firstSpikeMeanMs += delta / this.firstSpikeN;
      this.firstSpikeM2 += delta * (firstResponseMs - this.firstSpikeMeanMs);
    }
    return responded;
  }

  /** Fraction of baseline response-shaped windows holding a spike (null before any). */
  baselineResponseProbability(): number | null {
    return this.baselineWindows > 0 ? this.baselineWindowsWithSpike / this.baselineWindows : null;
  }

  /** PSTH-peak latency: centre of the highest bin whose centre lies in the response window. */
  psthPeakLatencyMs(): number | null {
    const o = this.layout.options;
    let best = -1;
    let bestCount = 0;
    for (let b = 0; b < this.layout.psthBinCount; b++) {
      const centre = o.psthStartMs + (b + 0.5) * o.psthBinMs;
      if (centre < o.evokedStartMs || centre >= o.evokedEndMs) continue;
      if (this.psthCounts[b] > bestCount) {
        bestCount = this.psthCounts[b];
        best = b;
      }
    }
    return best < 0 ? null : o.psthStartMs + (best + 0.5) * o.psthBinMs;
  }

  /** SALT on the accumulated counts (computes 1 225 distances for 50 windows: call at decision points, not per spike). */
  salt(): { p: number; i: number } {
    return saltFromCounts(this.saltCounts, this.layout.saltWindowCount, this.layout.saltBinCount, this.layout.saltWorkspace);
  }

  /** Every statistic; `withSalt: false` leaves SALT out (null), which is the costly part. */
  stats(withSalt = true): TagStats {
    const n = this.trials;
    const salt = n > 0 && withSalt ? this.salt() : { p: NaN, i: NaN };
    const evokedRateHz = this.allenEvokedMs > 0 ? (this.allenEvokedSpikes / this.allenEvokedMs) * 1000 : null;
    const baselineRateHz = this.allenBaselineMs > 0 ? (this.allenBaselineSpikes / this.allenBaselineMs) * 1000 : null;
    return {
      pulses: n,
      saltP: Number.isNaN(salt.p) ? null : salt.p,
      saltI: Number.isNaN(salt.i) ? null : salt.i,
      latencyMs: this.psthPeakLatencyMs(),
      jitterMs: this.firstSpikeN >= 2 ? Math.sqrt(this.firstSpikeM2 / (this.firstSpikeN - 1)) : null,
      firstSpikeLatencyMs: this.firstSpikeN >= 1 ? this.firstSpikeMeanMs : null,
      reliability: n > 0 ? this.responded / n : null,
      baselineReliability: this.baselineResponseProbability(),
      allenRatio: evokedRateHz !== null && baselineRateHz !== null ? evokedRateHz / (baselineRateHz + 1) : null,
      evokedRateHz,
      baselineRateHz,
    };
  }
}
