/**
 * Builds a whole simulation from its options: the probe, per-channel noise, the population and the
 * generator. The one entry point the source, the CLI and the tests share.
 */
import { OptoloopError } from '../src/core/errors.js';
import type { PresetSpec } from './cell-types.js';
import { ProbeDrift } from './drift.js';
import { SimGenerator } from './generator.js';
import { resolveSimOptions, type SimOptions, type SimOptionsInput } from './options.js';
import { buildPopulation, type SimUnit } from './population.js';
import { cerebellumPreset } from './presets/cerebellum.js';
import { cortexPreset } from './presets/cortex.js';
import { simProbe } from './probe.js';
import { Rng } from './rng.js';
import { DEFAULT_DECAY } from './spatial.js';

export const PRESETS: Readonly<Record<SimOptions['preset'], PresetSpec>> = { cortex: cortexPreset, cerebellum: cerebellumPreset };

export interface Simulation {
  readonly options: SimOptions;
  readonly preset: PresetSpec;
  readonly generator: SimGenerator;
  readonly units: readonly SimUnit[];
  /** Thermal noise σ per channel (µV). */
  readonly noiseUv: Float32Array;
  /** µV per count, one entry per channel (all equal). */
  readonly uvPerCount: Float32Array;
  readonly neuropixels1: boolean;
}

export function createSimulation(input: SimOptionsInput = {}): Simulation {
  const options = resolveSimOptions(input);
  const preset = PRESETS[options.preset];
  const { layout, neuropixels1 } = simProbe(options.probe, options.channels);
  const C = layout.channelCount;
  const rng = new Rng(options.seed, 'channels');
  const meanNoise = options.noiseUv ?? (neuropixels1 ? 6 : 4); // jun2017 / intanRhd (presets/sources.ts)
  const noiseUv = new Float32Array(C);
  for (let c = 0; c < C; c++) noiseUv[c] = meanNoise * (0.9 + 0.2 * rng.uniform());
  const uvPerCount = options.uvPerCount ?? (neuropixels1 ? 2.34375 : 0.195);
  // Neuropixels 1.0 digitises with 10 bits: −512 … 511 counts (protocols.md §4.1).
  const [minCount, maxCount] = neuropixels1 && options.uvPerCount === null ? [-512, 511] : [-32768, 32767];
  const opsinTypes = options.opsin ?? [preset.defaultOpsinType];
  for (const t of opsinTypes) {
    if (!preset.types.some((x) => x.name === t)) {
      throw new OptoloopError('E_OPTIONS_INVALID', `sim.opsin: "${t}" is not a cell type of preset ${preset.name}; expected one of ${preset.types.map((x) => x.name).join(', ')}`, { stage: 'sim' });
    }
  }
  const drift = options.driftUm > 0 || options.driftWalkUmPerSqrtS > 0
    ? { amplitudeUm: options.driftUm, periodS: options.driftPeriodS, randomWalkUmPerSqrtS: options.driftWalkUmPerSqrtS }
    : null;
  const units = buildPopulation({
    preset,
    layout,
    sampleRateHz: options.sampleRateHz,
    seed: options.seed,
    unitCount: options.units ?? Math.max(1, Math.round(C / 2)),
    opsinTypes,
    opsinFraction: options.opsinFraction,
    snrRange: [options.snrMin, options.snrMax],
    noiseUv,
    decay: DEFAULT_DECAY,
    backgroundPerChannel: options.backgroundPerChannel,
    backgroundSnrRange: [0.3, 1.5],
    maxDriftUm: ProbeDrift.bound(drift, options.durationHintS),
    footprintFloorSigma: 0.5,
    maxFootprintChannels: 40,
    backgroundFootprintFloorSigma: 0.4,
    backgroundMaxFootprintChannels: 16,
  });
  const generator = new SimGenerator({
    preset,
    layout,
    units,
    sampleRateHz: options.sampleRateHz,
    seed: options.seed,
    noiseUv,
    commonNoiseUv: options.commonNoiseUv,
    uvPerCount,
    minCount,
    maxCount,
    lineNoiseHz: options.lineNoiseHz,
    lineNoiseUv: options.lineNoiseUv,
    drift,
    decay: DEFAULT_DECAY,
    artefactUv: options.artefactUv,
    artefactDecayMs: options.artefactDecayMs,
  });
  return { options, preset, generator, units, noiseUv, uvPerCount: new Float32Array(C).fill(uvPerCount), neuropixels1 };
}
