import { OptoloopError } from '../../core/errors.js';
import type { SnippetBatch } from '../../core/spikes.js';
import type { PipelineOptions } from '../../pipeline/options.js';

/** What happened to units during maintenance, for the feature tracker to follow. */
export type UnitEvent =
  | { readonly kind: 'created'; readonly unitId: number; readonly streamTimeS: number }
  | { readonly kind: 'merged'; readonly survivor: number; readonly absorbed: number; readonly streamTimeS: number }
  | { readonly kind: 'split'; readonly parent: number; readonly unitId: number; readonly streamTimeS: number }
  | { readonly kind: 'retired'; readonly unitId: number; readonly streamTimeS: number };

/**
 * Where the detector cannot report a second spike next to one it reported (pipeline.detect, and the
 * snippet rows): after a spike on channel c at sample t, no other peak within radiusUm of c is
 * reported from t − peakWindowMs (the larger one wins) to t + refractoryMs.
 */
export interface DetectionGeometry {
  readonly refractoryMs: number;
  readonly peakWindowMs: number;
  readonly radiusUm: number;
  /** The detector's threshold: thresholdUv (negative) when set, else −thresholdSigma × the channel's σ. */
  readonly thresholdSigma: number;
  readonly thresholdUv: number | null;
  /** pipeline.snippets.radiusUm: a snippet's rows are the channels within it of its peak channel. */
  readonly snippetRadiusUm: number;
}

/** The detector's blind zone as the pipeline's options set it. */
export function detectionGeometryOf(pipeline: Pick<PipelineOptions, 'detect' | 'snippets'>): DetectionGeometry {
  const d = pipeline.detect;
  return { refractoryMs: d.refractoryMs, peakWindowMs: d.peakWindowMs, radiusUm: d.radiusUm, thresholdSigma: d.thresholdSigma, thresholdUv: d.thresholdUv, snippetRadiusUm: pipeline.snippets.radiusUm };
}

/**
 * Gives each detected spike a unit id, synchronously, within the block that delivered it:
 * template matching against a Kilosort folder, or online clustering from a cold start.
 */
export interface UnitAssigner {
  readonly kind: 'templates' | 'online';
  /** Writes `batch.unitId[k]` for every snippet (−1: matches no unit). Allocates nothing. */
  assign(batch: SnippetBatch, noiseUv: Float32Array): void;
  /**
   * Early identification (early-identifier.ts): writes `batch.unitId[k]` for every short snippet
   * of a result's `early` batch, from the templates as they stand, changing nothing. Allocates
   * nothing per spike.
   */
  identifyEarly(batch: SnippetBatch, noiseUv: Float32Array): void;
  /**
   * Optional second pass over the same batch, after the stimulation path: work assign() left
   * because the rules must not wait for it (overlap resolution); it may set unit ids assign() left
   * at −1 and, if it recovers spikes the detector dropped (setDetectionGeometry), append them after
   * the detected ones while the batch's arrays have room: then `batch.count` grows, and the
   * appended spikes may be up to refractoryMs out of time order with the detected ones. Call it
   * after every assign() of an assigner that has it.
   */
  resolveDeferred?(batch: SnippetBatch, noiseUv: Float32Array): void;
  /** Tells the assigner the detector's blind zone, so that it can recover spikes hidden in it (optional). */
  setDetectionGeometry?(geometry: DetectionGeometry): void;
  /** Slow bookkeeping (merges, splits, re-centring) over every unit at once; returns what changed. */
  maintain(streamTimeS: number): readonly UnitEvent[];
  /**
   * The same bookkeeping in slices, for the live path: `slots` of the assigner's `slotCount` slots
   * per call, from a cursor that cycles, and at most `splitIterations` power iterations of split
   * testing (a test runs over as many calls as it needs). Called every block, it spreads a full
   * pass over many blocks so that no block waits behind it.
   */
  maintainSlice?(streamTimeS: number, slots: number, splitIterations: number): readonly UnitEvent[];
  /** How many slots a full pass of maintainSlice covers. */
  readonly slotCount?: number;
  /**
   * Refuses snippets too short for the matching window, so that a daemon can refuse its config at
   * start-up rather than fail every block (the first batch is checked the same way).
   */
  checkSnippetGeometry(samplesBefore: number, samplesAfter: number, sampleRateHz: number, earlySamplesAfter?: number): void;
  /** Units currently alive. */
  unitIds(): number[];
  /** Where a unit lives: its peak channel, or −1. */
  peakChannelOf(unitId: number): number;
}

/** The refusal both assigners give for snippets shorter than their matching window plus its shifts. */
export function checkSnippetWindow(stage: string, samplesBefore: number, samplesAfter: number, windowBefore: number, windowAfter: number, maxShiftSamples: number): void {
  if (samplesBefore >= windowBefore + maxShiftSamples && samplesAfter >= windowAfter + maxShiftSamples) return;
  throw new OptoloopError(
    'E_OPTIONS_INVALID',
    `${stage}: snippets of ${samplesBefore} + ${samplesAfter} samples around the peak are too short for a matching window of ${windowBefore} + ${windowAfter} samples with shifts of ±${maxShiftSamples}; expected pipeline.snippets samplesBefore ≥ ${windowBefore + maxShiftSamples} and samplesAfter ≥ ${windowAfter + maxShiftSamples}`,
    { stage },
  );
}

/**
 * The refusal for short snippets (early identification) too short to match on: the window needs
 * the templates' samples before the trough and at least one sample after it, each with the shifts.
 */
export function checkEarlyWindow(stage: string, samplesBefore: number, earlySamplesAfter: number, windowBefore: number, maxShiftSamples: number): void {
  if (samplesBefore >= windowBefore + maxShiftSamples && earlySamplesAfter >= 1 + maxShiftSamples) return;
  throw new OptoloopError(
    'E_OPTIONS_INVALID',
    `${stage}: early identification needs short snippets of at least ${windowBefore + maxShiftSamples} + ${1 + maxShiftSamples} samples around the peak (the matching window's ${windowBefore} before and 1 after, with shifts of ±${maxShiftSamples}); expected pipeline.snippets.earlySamplesAfter ≥ ${1 + maxShiftSamples} (or 0: off), got ${earlySamplesAfter}`,
    { stage },
  );
}
