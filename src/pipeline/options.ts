/**
 * Options of every pipeline stage: one schema each, used both by the operator factories (options
 * are validated when an operator is built) and by the rig config (`pipeline.*`).
 */
import * as s from '../config/schema.js';
import { OptoloopError } from '../core/errors.js';

export const referenceOptionsSchema = s.object(
  {
    mode: s.oneOf(['median', 'mean', 'none'] as const, {
      default: 'median',
      description: 'Common median (robust to a spike on one channel) or average reference, subtracted per frame.',
    }),
    scope: s.oneOf(['global', 'shank'] as const, {
      default: 'global',
      description: 'Reference across all channels, or within each shank separately.',
    }),
  },
  { description: 'Common reference.' },
);

export const bandpassOptionsSchema = s.object(
  {
    lowHz: s.number({ above: 0, default: 300, description: 'Lower −3 dB corner.' }),
    highHz: s.number({ above: 0, default: 6000, description: 'Upper −3 dB corner; must be below Nyquist.' }),
    order: s.number({
      integer: true,
      min: 1,
      max: 8,
      default: 3,
      description: 'Butterworth order of each edge; the band-pass has this many second-order sections.',
    }),
  },
  {
    description: 'Butterworth band-pass as second-order sections, state carried across blocks.',
    refine: (v, path, issues) => {
      if (!(v.lowHz < v.highHz)) {
        issues.push({ path: `${path ? `${path}.` : ''}highHz`, message: `expected a number above lowHz (${v.lowHz}), got ${v.highHz}` });
      }
    },
  },
);

export const noiseOptionsSchema = s.object(
  {
    windowMs: s.number({
      above: 0,
      default: 500,
      description: 'Each channel’s MAD is measured over windows this long, on aligned sample boundaries.',
    }),
    timeConstantS: s.number({
      min: 0,
      default: 10,
      description: 'How slowly the estimate follows new windows (exponential smoothing); 0 takes each window as is.',
    }),
    decimation: s.number({
      integer: true,
      min: 1,
      max: 64,
      default: 4,
      description: 'Use every n-th sample for the MAD histogram: the median needs far fewer samples than arrive.',
    }),
  },
  { description: 'Per-channel noise σ = MAD / 0.6745 of the filtered signal, adapting slowly.' },
);

/**
 * The longest peak window accepted: far beyond any spike's trough width, and the bound that lets
 * later stages (snippets) size how far back a spike can be reported.
 */
export const MAX_PEAK_WINDOW_MS = 5;

export const detectOptionsSchema = s.object(
  {
    thresholdSigma: s.number({ above: 0, default: 5, description: 'Threshold as a multiple of the channel’s noise σ (used when thresholdUv is null).' }),
    thresholdUv: s.nullable(s.number({ below: 0 }), { description: 'Fixed threshold in µV for every channel, negative; overrides thresholdSigma.' }),
    refractoryMs: s.number({ min: 0, default: 1, description: 'After a spike, its channel and neighbourhood ignore new peaks this long.' }),
    radiusUm: s.number({
      min: 0,
      default: 60,
      description: 'Spatial de-duplication radius: a peak is reported only if it is the largest within this radius.',
    }),
    peakWindowMs: s.number({
      above: 0,
      max: MAX_PEAK_WINDOW_MS,
      default: 0.4,
      description: 'Half-width of the space-time window in which a peak must be the extreme; also the detection delay.',
    }),
  },
  { description: 'Threshold detection with spatial de-duplication.' },
);

export const snippetOptionsSchema = s.object(
  {
    mode: s.oneOf(['snippets', 'peak-only'] as const, {
      default: 'snippets',
      description: 'peak-only skips waveform snippets: the lowest-latency path for closed loop.',
    }),
    samplesBefore: s.number({ integer: true, min: 0, max: 1024, default: 30 }),
    samplesAfter: s.number({ integer: true, min: 0, max: 2048, default: 60 }),
    radiusUm: s.number({ min: 0, default: 60, description: 'Channels within this radius of the peak channel are cut.' }),
    earlySamplesAfter: s.number({
      integer: true,
      min: 0,
      max: 2048,
      default: 0,
      description:
        'Also cut each spike short, to this many samples after its trough, as soon as they have arrived: the closed-loop rules then act on a unit id matched from the short snippet (early identification) instead of waiting for the full one. 0: off.',
    }),
  },
  {
    description: 'Multi-channel waveform snippets around each spike.',
    refine: (v, path, issues) => {
      if (v.earlySamplesAfter > v.samplesAfter) {
        issues.push({ path: `${path ? `${path}.` : ''}earlySamplesAfter`, message: `expected at most samplesAfter (${v.samplesAfter}), got ${v.earlySamplesAfter}` });
      }
    },
  },
);

export const pipelineOptionsSchema = s.object({
  reference: referenceOptionsSchema,
  bandpass: bandpassOptionsSchema,
  noise: noiseOptionsSchema,
  detect: detectOptionsSchema,
  snippets: snippetOptionsSchema,
});

export type ReferenceOptions = s.Infer<typeof referenceOptionsSchema>;
export type BandpassOptions = s.Infer<typeof bandpassOptionsSchema>;
export type NoiseOptions = s.Infer<typeof noiseOptionsSchema>;
export type DetectOptions = s.Infer<typeof detectOptionsSchema>;
export type SnippetOptions = s.Infer<typeof snippetOptionsSchema>;
export type PipelineOptions = s.Infer<typeof pipelineOptionsSchema>;

/**
 * Validates an operator's options when it is built; throws E_OPTIONS_INVALID naming every bad
 * field, e.g. `bandpass.highHz: expected a number above lowHz (300), got 200`.
 */
export function validateOptions<T>(schema: s.Schema<T>, options: unknown, stage: string): T {
  const result = s.validate(schema, options ?? {});
  if (result.ok) return result.value;
  const lines = result.issues.map((i) => `${stage}.${i.path === '(root)' ? '' : i.path}: ${i.message}`.replace('.: ', ': '));
  throw new OptoloopError('E_OPTIONS_INVALID', lines.join('\n'), { stage, details: { issues: result.issues } });
}
