/**
 * Stimulation safety limits: compiled-in absolute maxima, and the `safety` config section, whose
 * values may only be at or below them (the schema refuses anything above, and the governor checks
 * the absolute maxima again on every command whatever the config says).
 *
 * Why these absolute maxima (LED optogenetics through an implanted fibre or a surface LED):
 * - Pulse width ≤ 10 s. Activation protocols use 1–20 ms pulses and silencing uses seconds of light;
 *   continuous light for tens of seconds heats tissue by degrees (Stujenske et al., Cell Rep 2015;
 *   Owen, Liu & Kreitzer, Nat Neurosci 2019: firing changes from heating alone at a few mW), so
 *   longer silencing must be pulsed, which the duty-cycle limit then bounds.
 * - Duty cycle ≤ 0.5 over any 60 s. Heating follows mean power over tens of seconds; half the time on
 *   is the most any published activation or silencing protocol in the ground-truth sessions uses
 *   (500 ms pulses every ~2 s ≈ 0.25) with a margin, and it bounds mean power at half of what the
 *   operator allowed as full scale.
 * - Pulses per minute ≤ 6 000 (100 Hz sustained). Opsins used for tagging follow ≤ 40–60 Hz (ChR2)
 *   or briefly ~200 Hz (Chronos); 40 Hz entrainment for minutes is 2 400/min. More than 100 Hz
 *   sustained is not an optogenetic protocol but a runaway rule.
 * - Level ≤ 1: the fraction of the output's full scale, which the operator sets in the driver's
 *   config to the LED's or fibre's rated maximum.
 * - Train delay ≤ 60 s: a trigger schedules light at most a minute ahead, so that what is pending
 *   stays within the window the limits are accounted over.
 */
import * as s from '../config/schema.js';

export const ABSOLUTE_LIMITS = Object.freeze({
  maxPulseWidthMs: 10_000,
  maxDutyCycle: 0.5,
  /** The absolute duty cycle is enforced over this window, always, in addition to the configured one. */
  dutyWindowS: 60,
  maxPulsesPerMinute: 6_000,
  maxLevel: 1,
  maxDelayMs: 60_000,
  /** Shortest configurable duty window. */
  minDutyWindowS: 0.1,
});

export const safetyLimitsSchema = s.object(
  {
    maxPulseWidthMs: s.number({ above: 0, max: ABSOLUTE_LIMITS.maxPulseWidthMs, default: 1000, description: 'Longest single pulse.' }),
    maxDutyCycle: s.number({
      above: 0,
      max: ABSOLUTE_LIMITS.maxDutyCycle,
      default: 0.25,
      description: 'Largest fraction of any dutyWindowS window with light on (the absolute 0.5 over 60 s is enforced as well).',
    }),
    dutyWindowS: s.number({
      min: ABSOLUTE_LIMITS.minDutyWindowS,
      max: ABSOLUTE_LIMITS.dutyWindowS,
      default: 10,
      description: 'Sliding window over which maxDutyCycle is enforced.',
    }),
    maxPulsesPerMinute: s.number({
      integer: true,
      min: 1,
      max: ABSOLUTE_LIMITS.maxPulsesPerMinute,
      default: 2400,
      description: 'Most pulse onsets in any 60 s (2 400 = 40 Hz sustained).',
    }),
    maxLevel: s.number({ min: 0, max: ABSOLUTE_LIMITS.maxLevel, default: 1, description: 'Highest light level, as a fraction of the output’s full scale.' }),
    maxDelayMs: s.number({ min: 0, max: ABSOLUTE_LIMITS.maxDelayMs, default: 1000, description: 'Longest delay from a trigger to its first pulse.' }),
  },
  { description: 'Hard limits per output; they can only be at or below the compiled-in absolute maxima.' },
);

/** A per-output override: every field optional, inheriting the section's limits. */
export const safetyOverrideSchema = s.object(
  {
    maxPulseWidthMs: s.nullable(s.number({ above: 0, max: ABSOLUTE_LIMITS.maxPulseWidthMs })),
    maxDutyCycle: s.nullable(s.number({ above: 0, max: ABSOLUTE_LIMITS.maxDutyCycle })),
    dutyWindowS: s.nullable(s.number({ min: ABSOLUTE_LIMITS.minDutyWindowS, max: ABSOLUTE_LIMITS.dutyWindowS })),
    maxPulsesPerMinute: s.nullable(s.number({ integer: true, min: 1, max: ABSOLUTE_LIMITS.maxPulsesPerMinute })),
    maxLevel: s.nullable(s.number({ min: 0, max: ABSOLUTE_LIMITS.maxLevel })),
    maxDelayMs: s.nullable(s.number({ min: 0, max: ABSOLUTE_LIMITS.maxDelayMs })),
  },
  { description: 'Limits for one output; null fields inherit safety.limits.' },
);

export const OUTPUT_KEY_PATTERN = /^[A-Za-z0-9_.-]+:\d+$/;

export const safetyConfigSchema = s.object(
  {
    limits: safetyLimitsSchema,
    outputs: s.record(safetyOverrideSchema, {
      default: {},
      description: 'Per-output overrides keyed "<sink>:<output>", e.g. "pulsepal:0" (outputs are 0-based).',
    }),
    refusalLogIntervalMs: s.number({
      min: 0,
      max: 60_000,
      default: 1000,
      description: 'Refused triggers are logged at most once per output, limit and interval; the rest are counted and reported with the next line.',
    }),
  },
  {
    description: 'Stimulation safety: hard limits enforced by the governor on every command, and the emergency stop.',
    refine: (v, path, issues) => {
      for (const key of Object.keys(v.outputs)) {
        if (!OUTPUT_KEY_PATTERN.test(key)) {
          issues.push({ path: `${path ? `${path}.` : ''}outputs.${key}`, message: `expected a key "<sink>:<output>" such as "pulsepal:0", got "${key}"` });
        }
      }
    },
  },
);

export type SafetyLimits = s.Infer<typeof safetyLimitsSchema>;
export type SafetyOverride = s.Infer<typeof safetyOverrideSchema>;
export type SafetyConfig = s.Infer<typeof safetyConfigSchema>;

/** The limits in force on one output of one sink: the section's limits with that output's overrides. */
export function limitsForOutput(config: SafetyConfig, sinkName: string, output: number): SafetyLimits {
  const base = config.limits;
  const o = config.outputs[`${sinkName}:${output}`];
  if (!o) return { ...base };
  return {
    maxPulseWidthMs: o.maxPulseWidthMs ?? base.maxPulseWidthMs,
    maxDutyCycle: o.maxDutyCycle ?? base.maxDutyCycle,
    dutyWindowS: o.dutyWindowS ?? base.dutyWindowS,
    maxPulsesPerMinute: o.maxPulsesPerMinute ?? base.maxPulsesPerMinute,
    maxLevel: o.maxLevel ?? base.maxLevel,
    maxDelayMs: o.maxDelayMs ?? base.maxDelayMs,
  };
}

export function defaultSafetyConfig(): SafetyConfig {
  const r = s.validate(safetyConfigSchema, {});
  if (!r.ok) throw new Error('safety-options: the defaults do not validate');
  return r.value;
}
