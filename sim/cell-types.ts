/**
 * What a simulated cell type is: the ranges its units' parameters are drawn from. Each preset
 * (`presets/cerebellum.ts`, `presets/cortex.ts`) fills these with published values, the source
 * written beside each range.
 */

/** [min, max]; a unit draws uniformly inside unless the field says otherwise. */
export type Range = readonly [number, number];

/**
 * An empirical distribution as five quantiles (min, q25, median, q75, max): a unit draws by
 * piecewise-linear inverse CDF, so a preset can carry a measured distribution rather than a box.
 */
export type Quantiles = readonly [number, number, number, number, number];

export interface WaveformParams {
  /**
   * Trough-to-peak of the peak-channel waveform (ms), as drawn. The measured value after a
   * 300–6000 Hz band-pass differs by a few hundredths of a ms (see the cortex preset test).
   */
  readonly troughToPeakMs: Quantiles;
  /** SD of the Gaussian trough (ms): the depolarisation's width. */
  readonly troughWidthMs: Range;
  /** Repolarisation peak height / trough depth on the peak channel. */
  readonly peakToTroughRatio: Range;
  /** SD of the repolarisation peak (ms). */
  readonly peakWidthMs: Range;
  /**
   * A positive phase before the trough, / trough depth: ~0 for somatic spikes, large for axonal
   * (triphasic) spikes.
   */
  readonly prePeakRatio: Range;
  /** Complex spikes: spikelets after the initial spike. */
  readonly spikelets?: {
    readonly count: Range;
    readonly intervalMs: Range;
    /** Each spikelet's depth / the previous one's. */
    readonly decay: Range;
    /** A slow positive wave under the spikelets (dendritic calcium component), / trough depth. */
    readonly slowWaveRatio: Range;
  };
  /** Intrinsic peak amplitude at the soma-size floor distance (µV), before the SNR placement. */
  readonly somaAmplitudeUv: Range;
  /**
   * Exponent of the far-field decay: 2 for a dipole (somata with dendrites), 3 for axonal
   * terminals whose fields fall off faster. See `spatial.ts`.
   */
  readonly farFieldExponent: number;
}

export interface FiringParams {
  /** Mean rate of the unit, Hz (the unit's own mean is drawn from these quantiles). */
  readonly rateHz: Quantiles;
  /** Absolute refractory period (ms): no ISI is shorter. */
  readonly refractoryMs: Range;
  /**
   * Shape k of the gamma-distributed part of the ISI: k = 1 is Poisson-like (irregular), large k
   * is clock-like (regular). CV of the gamma part = 1/√k.
   */
  readonly gammaShape: Range;
  /**
   * When set, the ISI after the absolute refractory period follows a recovering hazard
   * h(s) = λ(1 − exp(−s/τ)) instead of a gamma: the ACG rises with time constant τ whatever the
   * rate — the τ_rise of CellExplorer's ACG fit (science.md §1), so a preset can take it from
   * measured cells. λ is set so that the mean rate is rateHz.
   */
  readonly recoveryTauMs?: Quantiles;
  /** Probability that a spike starts a burst. */
  readonly burstProbability: Range;
  /** Extra spikes per burst: 1 + geometric with this mean − 1 (≥ 1). */
  readonly burstSpikesMean: Range;
  /** Intra-burst ISI (ms). */
  readonly burstIsiMs: Range;
  /** Amplitude of each burst spike / the previous one (somatic bursts attenuate). */
  readonly burstAmplitudeDecay: Range;
  /** Depth of the slow rate modulation (0 = none), as a fraction of the mean rate. */
  readonly modulationDepth: Range;
  /** Period of the slow modulation (s). */
  readonly modulationPeriodS: Range;
  /**
   * Faster rate fluctuations: the log-rate follows an Ornstein–Uhlenbeck process with this SD
   * (0 = none) and correlation time. Real spike trains are not stationary renewal processes; their
   * ACGs rise faster than a renewal at the mean rate would (the cell spends time at higher rates).
   */
  readonly fluctuationSd?: Range;
  readonly fluctuationTimeConstantS?: Range;
}

export interface LightResponseParams {
  /** First-spike latency from light onset (ms). */
  readonly latencyMs: Range;
  /** SD of the first-spike time (ms). */
  readonly jitterMs: Range;
  /** Probability of ≥ 1 evoked spike per pulse at full light level. */
  readonly reliability: Range;
  /** Rate of further evoked spikes while a long pulse lasts (Hz); 0 = one spike per pulse. */
  readonly sustainedRateHz: Range;
}

export interface CellTypeSpec {
  /** Label written to the ground truth, e.g. `PkC_ss`, `PV`. */
  readonly name: string;
  readonly description: string;
  /** Relative abundance among the preset's units. */
  readonly weight: number;
  readonly waveform: WaveformParams;
  readonly firing: FiringParams;
  readonly light: LightResponseParams;
  /** Which layer it sits in (a C4 input), for the ground truth. */
  readonly layer: string | null;
}

export interface PresetSpec {
  readonly name: string;
  readonly description: string;
  readonly types: readonly CellTypeSpec[];
  /**
   * Purkinje coupling: when set, each unit of `simpleSpikeType` is paired with a unit of
   * `complexSpikeType` at the same position (one Purkinje cell), and every complex spike is
   * followed by a pause in that cell's simple spikes.
   */
  readonly purkinje?: {
    readonly simpleSpikeType: string;
    readonly complexSpikeType: string;
    /** CS onset → next simple spike (ms). */
    readonly pauseMs: Range;
  };
  /** The type whose units express the opsin when the caller names none. */
  readonly defaultOpsinType: string;
}

/** Piecewise-linear inverse CDF through five quantiles. */
export function drawQuantiles(q: Quantiles, u: number): number {
  const x = u * 4;
  const i = Math.min(3, Math.floor(x));
  return q[i] + (q[i + 1] - q[i]) * (x - i);
}
