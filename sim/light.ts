/**
 * Light in the simulator: pulses (when, how long, how bright) and how an opsin-expressing unit
 * answers one — a first spike after a latency with jitter and a reliability, and, while a long
 * pulse lasts, further spikes at a sustained rate.
 */
import type { Rng } from './rng.js';
import type { UnitLight } from './population.js';

export interface LightPulse {
  readonly onsetSample: number;
  /** First sample after the pulse (onset + width). */
  readonly offsetSample: number;
  /** 0…1 of full scale. */
  readonly level: number;
  readonly output: number;
  /** Stimulus request id from a sink, or −1 for a scheduled protocol. */
  readonly requestId: number;
  readonly reason: string;
}

/**
 * Light level → fraction of the unit's full-scale reliability: a saturating (Hill, n = 2) curve
 * with half effect at 30 % of full scale (assumption: ChR2 responses saturate with irradiance).
 */
export function levelEfficacy(level: number): number {
  const l = Math.max(0, Math.min(1, level));
  const k2 = 0.09;
  return ((l * l) / (l * l + k2)) * (1 + k2);
}

/**
 * The evoked spike times (float samples, ascending) of one unit for one pulse, or an empty list
 * when the unit fails to answer this pulse. Dimmer light: lower reliability and longer latency
 * (up to 1.5× at threshold levels). No spike is placed before `earliestSample` (the generator's
 * horizon) or earlier than 0.5 ms after onset.
 */
export function evokedSpikes(pulse: LightPulse, light: UnitLight, rng: Rng, sampleRateHz: number, refractoryMs: number, earliestSample: number): number[] {
  const msToSamples = sampleRateHz / 1000;
  // Draw every random number the pulse needs up front, so that the stream advances the same way
  // whether or not the unit answers.
  const answer = rng.uniform();
  const jitter = rng.gaussian();
  if (answer >= light.reliability * levelEfficacy(pulse.level)) return [];
  const latencyMs = light.latencyMs * (1 + 0.5 * (1 - Math.min(1, pulse.level)));
  let t = pulse.onsetSample + (latencyMs + light.jitterMs * jitter) * msToSamples;
  t = Math.max(t, pulse.onsetSample + 0.5 * msToSamples, earliestSample);
  if (t >= pulse.offsetSample + 2 * light.latencyMs * msToSamples) return [];
  const times = [t];
  if (light.sustainedRateHz > 0) {
    const meanIsi = sampleRateHz / light.sustainedRateHz;
    const refractory = refractoryMs * msToSamples;
    for (;;) {
      // Driven firing is regular (gamma, k = 4) and slows as the pulse goes on (adaptation, assumption).
      const adaptation = 1 + 0.5 * Math.min(1, (t - pulse.onsetSample) / (0.5 * sampleRateHz));
      t += Math.max(refractory, (meanIsi * adaptation * rng.gamma(4)) / 4);
      if (t >= pulse.offsetSample) break;
      times.push(t);
      if (times.length > 10_000) break;
    }
  }
  return times;
}
