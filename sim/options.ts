/**
 * The simulator's parameters: one schema shared by `optoloop sim`, the rig config's `source: sim`
 * section and the tests, with defaults and the reason for each.
 */
import * as s from '../src/config/schema.js';
import { OptoloopError } from '../src/core/errors.js';
import { validateOptions } from '../src/pipeline/options.js';

/** The fields, also spread into the rig config's `source: {kind: sim}` section (source-config.ts). */
export const simOptionsShape = {
  preset: s.oneOf(['cortex', 'cerebellum'] as const, { default: 'cortex', description: 'Cell types and their published parameter ranges.' }),
  probe: s.string({
    minLength: 1,
    default: 'auto',
    description:
      'NP1000 (Neuropixels 1.0, bank 0), A1x32-Poly3-10mm-50-177, A4x8-5mm-100-200-177 (NeuroNexus), a probeinterface JSON path, or auto: NP1000 up to 384 channels (32 → A1x32), a linear 20 µm layout above.',
  }),
  channels: s.number({ integer: true, min: 1, max: 4096, default: 384 }),
  sampleRateHz: s.number({ above: 0, default: 30000 }),
  seed: s.number({ integer: true, min: 0, default: 1 }),
  units: s.nullable(s.number({ integer: true, min: 0, max: 5000 }), { description: 'Foreground units; null: half the channel count.' }),
  opsin: s.nullable(s.array(s.string({ minLength: 1 })), {
    description: "Cell types that express the opsin; null: the preset's default (cortex PV, cerebellum PkC_ss); [] for none.",
  }),
  opsinFraction: s.number({ min: 0, max: 1, default: 1, description: 'Fraction of the named types’ cells that express it.' }),
  snrMin: s.number({ above: 0, default: 4, description: 'Per-unit SNR = peak amplitude on the peak channel (µV, noise-free) / that channel’s noise σ; drawn log-uniformly in [snrMin, snrMax].' }),
  snrMax: s.number({ above: 0, default: 25 }),
  noiseUv: s.nullable(s.number({ above: 0 }), { description: 'Mean thermal noise σ per channel (µV); null: 6 for Neuropixels, 4 otherwise. Channels vary ±10 %.' }),
  commonNoiseUv: s.number({ min: 0, default: 1, description: 'Noise shared by all channels (reference noise), σ in µV.' }),
  uvPerCount: s.nullable(s.number({ above: 0 }), {
    description: 'µV per int16 count; null: 2.34375 with 10-bit clipping for Neuropixels 1.0 (as its ADC), else 0.195 (Intan RHD).',
  }),
  backgroundPerChannel: s.number({ min: 0, default: 1, description: 'Distant multi-unit background units per channel (SNR 0.3–1.5, rates of their type).' }),
  lineNoiseHz: s.oneOf([0, 50, 60] as const, { default: 0, description: 'Mains interference frequency; 0 for none.' }),
  lineNoiseUv: s.number({ min: 0, default: 5, description: 'Mains amplitude (µV) on a typical channel, with 3rd and 5th harmonics.' }),
  driftUm: s.number({ min: 0, default: 2, description: 'Sinusoidal probe drift amplitude along the shank (µm).' }),
  driftPeriodS: s.number({ above: 0, default: 120 }),
  driftWalkUmPerSqrtS: s.number({ min: 0, default: 0.3, description: 'Mean-reverting random-walk part of the drift (µm/√s).' }),
  artefactUv: s.number({ min: 0, default: 40, description: 'Light artefact at each pulse onset and offset, on every channel (µV at full level); 0 for none.' }),
  artefactDecayMs: s.number({ above: 0, default: 1 }),
  lightOutputs: s.number({ integer: true, min: 1, max: 8, default: 2, description: 'Outputs of the simulated light sink; all illuminate the same site.' }),
  durationHintS: s.number({ above: 0, default: 3600, description: 'Expected duration: bounds the drift that template footprints must cover.' }),
};

export const simOptionsSchema = s.object(simOptionsShape);

export type SimOptions = s.Infer<typeof simOptionsSchema>;
export type SimOptionsInput = Partial<SimOptions>;

export function resolveSimOptions(input: SimOptionsInput = {}): SimOptions {
  const options = validateOptions(simOptionsSchema, input, 'sim');
  if (options.snrMax < options.snrMin) {
    throw new OptoloopError('E_OPTIONS_INVALID', `sim.snrMax: expected a number ≥ snrMin (${options.snrMin}), got ${options.snrMax}`, { stage: 'sim' });
  }
  return options;
}
