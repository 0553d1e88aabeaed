/**
 * What optoloop knows about each unit (a putative neuron), as published to the bus, the dashboard
 * and `units.json`. Produced by unit assignment + features (src/classify) and optotagging
 * (src/closedloop); these are plain owned objects, published at a few Hz, not per spike.
 */

export type TagState = 'untested' | 'testing' | 'tagged' | 'not-tagged';

/** Optotagging statistics of one unit (definitions in ../shared/docs/science.md §2). */
export interface TagSummary {
  readonly state: TagState;
  readonly pulses: number;
  readonly saltP: number | null;
  readonly saltI: number | null;
  readonly latencyMs: number | null;
  readonly jitterMs: number | null;
  /** Fraction of pulses followed by ≥ 1 evoked spike. */
  readonly reliability: number | null;
  /** Evoked / (baseline + 1) spike counts, Allen Brain Observatory windows. */
  readonly allenRatio: number | null;
  /** Correlation of the light-evoked mean waveform with the spontaneous one. */
  readonly waveformCorrelation: number | null;
  /** Peri-stimulus time histogram around pulse onsets, for display; absent or null when not computed. */
  readonly psth?: PsthSummary | null;
}

/** Spikes counted in bins after each pulse onset: counts[i] covers [startMs + i·binMs, startMs + (i+1)·binMs). */
export interface PsthSummary {
  readonly binMs: number;
  /** Start of the first bin relative to pulse onset, ms (negative for a baseline window). */
  readonly startMs: number;
  /** Summed over `pulses` pulses. */
  readonly counts: readonly number[];
}

export interface ClassificationSummary {
  /** The model's classes, in the order of `probabilities`. */
  readonly classNames: readonly string[];
  readonly probabilities: readonly number[];
  /** Top / second probability (C4's confidence ratio). */
  readonly confidenceRatio: number;
  /** The label, or null when the model abstains (confidence ratio below the threshold). */
  readonly label: string | null;
  /** Spikes the unit had when this classification was made. */
  readonly spikeCount: number;
  /** Seconds from the unit's first spike to this label (stream time). */
  readonly timeToLabelS: number | null;
  readonly modelName: string;
}

export interface UnitSummary {
  readonly unitId: number;
  readonly streamId: string;
  readonly peakChannel: number;
  readonly spikeCount: number;
  readonly firingRateHz: number;
  /** Trough-to-peak of the mean peak-channel waveform, ms. */
  readonly troughToPeakMs: number | null;
  /** Mean peak-channel waveform, µV, at the stream's sample rate. */
  readonly meanWaveformUv: readonly number[];
  /** Autocorrelogram counts, 1 ms bins, lags 1 … acg.length ms. */
  readonly acg: readonly number[];
  readonly layer: string | null;
  readonly classification: ClassificationSummary | null;
  readonly tag: TagSummary | null;
}
