/**
 * Options of optotagging analysis and of the tag decision, shared by the offline command
 * (`optoloop optotag`) and the online session (config section `optotag`). Definitions in numbers:
 * ../shared/docs/science.md §2.
 */
import * as s from '../config/schema.js';
import { nullableWithDefault } from './nullable-default.js';

export const optotagAnalysisSchema = s.object(
  {
    saltWindowMs: s.number({ above: 0, max: 100, default: 10, description: 'SALT window wn: the test window and the width of each baseline window (CellBase default 10 ms).' }),
    saltBinMs: s.number({ above: 0, max: 10, default: 1, description: 'SALT raster resolution dt; the window must be a whole number of bins.' }),
    baselineMs: s.number({
      above: 0,
      max: 10_000,
      default: 500,
      description: 'Baseline period before each pulse, cut into SALT windows; pulses with light in their baseline are not used (see minPulseGapMs).',
    }),
    saltTestStartMs: s.number({ min: 0, max: 100, default: 0, description: 'Start of the SALT test window after pulse onset.' }),
    evokedStartMs: s.number({ min: 0, max: 100, default: 1, description: 'Response window start after onset, for latency, jitter and reliability (1 ms skips the onset artefact).' }),
    evokedEndMs: s.number({ above: 0, max: 200, default: 10, description: 'Response window end after onset (exclusive).' }),
    artefactMs: s.number({
      min: 0,
      max: 5,
      default: 1,
      description: 'Spikes less than this long after light onset or offset are treated as light artefacts and ignored (Allen Brain Observatory practice).',
    }),
    psthBinMs: s.number({ above: 0, max: 10, default: 0.5, description: 'PSTH bin for the latency (CellBase: 0.5 ms).' }),
    psthStartMs: s.number({ max: 0, min: -1000, default: -5, description: 'PSTH start relative to onset.' }),
    psthEndMs: s.number({ above: 0, max: 1000, default: 10, description: 'PSTH end relative to onset.' }),
    allenEvokedStartMs: s.number({ min: 0, default: 1, description: 'Allen evoked window start (+1 ms).' }),
    allenEvokedEndMs: s.number({ above: 0, default: 9, description: 'Allen evoked window end (+9 ms).' }),
    allenBaselineStartMs: s.number({ max: 0, default: -10, description: 'Allen baseline window start (−10 ms).' }),
    allenBaselineEndMs: s.number({ max: 0, default: -2, description: 'Allen baseline window end (−2 ms).' }),
    minPulseGapMs: s.nullable(s.number({ min: 0 }), {
      description: 'Use only pulses whose onset is at least this long after the previous light offset; null = baselineMs, so that no baseline holds light.',
    }),
    waveformWindowStartMs: s.number({
      min: -5,
      max: 5,
      default: -0.25,
      description: 'Start of the waveform-correlation window relative to the spike peak; the window spans waveformWindowMs (CellBase: the first 0.75 ms of a snippet whose peak is ≈0.25 ms in).',
    }),
    waveformWindowMs: s.number({ above: 0, max: 10, default: 0.75, description: 'Length of the waveform-correlation window on the largest channel.' }),
  },
  {
    description: 'Optotagging statistics: SALT, PSTH latency, jitter, reliability, Allen ratio, waveform correlation.',
    refine: (v, path, issues) => {
      const at = (key: string) => `${path ? `${path}.` : ''}${key}`;
      const ratio = v.saltWindowMs / v.saltBinMs;
      if (Math.abs(ratio - Math.round(ratio)) > 1e-9) {
        issues.push({ path: at('saltWindowMs'), message: `expected a whole number of saltBinMs (${v.saltBinMs}), got ${v.saltWindowMs}` });
      }
      if (Math.floor(v.baselineMs / v.saltWindowMs + 1e-9) < 2) {
        issues.push({ path: at('baselineMs'), message: `expected at least two SALT windows (≥ ${2 * v.saltWindowMs}), got ${v.baselineMs}` });
      }
      if (!(v.evokedEndMs > v.evokedStartMs)) {
        issues.push({ path: at('evokedEndMs'), message: `expected a number above evokedStartMs (${v.evokedStartMs}), got ${v.evokedEndMs}` });
      }
      if (!(v.psthEndMs > v.psthStartMs)) issues.push({ path: at('psthEndMs'), message: `expected a number above psthStartMs (${v.psthStartMs}), got ${v.psthEndMs}` });
      if (!(v.allenEvokedEndMs > v.allenEvokedStartMs)) {
        issues.push({ path: at('allenEvokedEndMs'), message: `expected a number above allenEvokedStartMs (${v.allenEvokedStartMs}), got ${v.allenEvokedEndMs}` });
      }
      if (!(v.allenBaselineEndMs > v.allenBaselineStartMs)) {
        issues.push({ path: at('allenBaselineEndMs'), message: `expected a number above allenBaselineStartMs (${v.allenBaselineStartMs}), got ${v.allenBaselineEndMs}` });
      }
      if (-v.allenBaselineStartMs > v.baselineMs) {
        issues.push({ path: at('allenBaselineStartMs'), message: `expected a start within the baseline (≥ −${v.baselineMs}), got ${v.allenBaselineStartMs}` });
      }
      if (-v.psthStartMs > v.baselineMs) {
        issues.push({ path: at('psthStartMs'), message: `expected a start within the baseline (≥ −${v.baselineMs}), got ${v.psthStartMs}` });
      }
      if (v.evokedEndMs - v.evokedStartMs > v.baselineMs) {
        issues.push({ path: at('evokedEndMs'), message: `expected a response window no longer than the baseline (${v.baselineMs} ms)` });
      }
    },
  },
);

export const tagCriteriaSchema = s.object(
  {
    saltAlpha: s.number({ above: 0, max: 1, default: 0.01, description: 'Tagged needs SALT p below this (CellBase: 0.01).' }),
    minWaveformR: nullableWithDefault(s.number({ min: -1, max: 1 }), 0.9, {
      description: 'Where waveforms are available, tagged needs the light-evoked vs spontaneous waveform correlation above this (CellBase: 0.9); null ignores waveforms.',
    }),
    requireExcitation: s.boolean({
      default: true,
      description: 'Tagged needs more responses after the pulse than in baseline windows of the same shape (SALT alone also flags light-inhibited units).',
    }),
    minReliability: s.nullable(s.number({ min: 0, max: 1 }), { description: 'Lowest fraction of pulses followed by an evoked spike; null = no bound.' }),
    minLatencyMs: s.nullable(s.number({ min: 0 }), { description: 'Shortest PSTH-peak latency; null = no bound.' }),
    maxLatencyMs: s.nullable(s.number({ above: 0 }), { description: 'Longest PSTH-peak latency (direct ChR2 activation: ≲ 8 ms); null = no bound.' }),
    maxJitterMs: s.nullable(s.number({ above: 0 }), { description: 'Largest first-spike jitter; null = no bound.' }),
    minAllenRatio: s.nullable(s.number({ min: 0 }), { description: 'Lowest Allen evoked / (baseline + 1) rate ratio (Allen: 2); null = no bound.' }),
  },
  { description: 'What makes a unit tagged.' },
);

export type OptotagAnalysisOptions = s.Infer<typeof optotagAnalysisSchema>;
export type TagCriteria = s.Infer<typeof tagCriteriaSchema>;

/** The analysis defaults (science.md §2), for callers that build options from code. */
export function defaultAnalysisOptions(): OptotagAnalysisOptions {
  const result = s.validate(optotagAnalysisSchema, {});
  if (!result.ok) throw new Error('optotag-options: the defaults do not validate');
  return result.value;
}

export function defaultTagCriteria(): TagCriteria {
  const result = s.validate(tagCriteriaSchema, {});
  if (!result.ok) throw new Error('optotag-options: the criteria defaults do not validate');
  return result.value;
}
