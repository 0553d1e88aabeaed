/**
 * A pulse train in config (rules' actions, the optotag protocol), the config form of
 * `PulseTrainSpec` (src/core/stimulus-sink.ts). Bounds here only reject nonsense; the safety
 * governor decides what may actually be emitted.
 */
import * as s from '../config/schema.js';

export const pulseTrainSchema = s.object(
  {
    pulseWidthMs: s.number({ above: 0, description: 'Width of each pulse.' }),
    pulseIntervalMs: s.number({ min: 0, default: 0, description: 'Onset-to-onset interval of the train’s pulses (ignored for one pulse).' }),
    pulseCount: s.number({ integer: true, min: 1, default: 1, description: 'Pulses per trigger.' }),
    delayMs: s.number({ min: 0, default: 0, description: 'Delay from the trigger to the first pulse.' }),
    level: s.number({ min: 0, max: 1, default: 1, description: 'Light level, fraction of the output’s full scale.' }),
  },
  {
    description: 'A pulse train.',
    refine: (v, path, issues) => {
      if (v.pulseCount > 1 && !(v.pulseIntervalMs >= v.pulseWidthMs)) {
        issues.push({ path: `${path ? `${path}.` : ''}pulseIntervalMs`, message: `expected at least pulseWidthMs (${v.pulseWidthMs}) for a train, got ${v.pulseIntervalMs}` });
      }
    },
  },
);

export type PulseTrainConfig = s.Infer<typeof pulseTrainSchema>;

export function sameTrain(a: PulseTrainConfig, b: PulseTrainConfig): boolean {
  return (
    a.pulseWidthMs === b.pulseWidthMs &&
    a.pulseCount === b.pulseCount &&
    a.delayMs === b.delayMs &&
    a.level === b.level &&
    (a.pulseCount === 1 || a.pulseIntervalMs === b.pulseIntervalMs)
  );
}
