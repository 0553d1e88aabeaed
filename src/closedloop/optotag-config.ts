/**
 * The `optotag` config section: the online optotagging protocol, its analysis and tag criteria,
 * and the adaptive stopping rule.
 *
 * Adaptive stop — the definition. For each unit, after each pulse, a Wald sequential probability
 * ratio test on "the pulse was followed by a spike in the response window":
 *   H0: P(response) = p0, the probability of a spike in a baseline window of the same shape
 *       (measured from the unit's own baseline, tens of windows per pulse, so p0 is known far
 *       better than the response rate);
 *   H1: P(response) = p0 + δ (δ = minReliabilityGain: the smallest light-evoked increase worth
 *       tagging).
 *   LLR_n = s·ln(p1/p0) + (n − s)·ln((1 − p1)/(1 − p0)) after n pulses with s responses.
 *   LLR ≥ ln((1 − β)/α) → responder; LLR ≤ ln(β/(1 − α)) → not a responder. Wald's bounds keep
 *   the chance of calling a non-responder a responder below α/(1 − β) and of missing a responder
 *   with gain ≥ δ below β/(1 − α), however many looks; the pulses are independent trials because
 *   the inter-pulse interval exceeds the baseline and response windows.
 * A unit is decided when (a) it has ≥ minPulses pulses and its test crossed a bound, and (b) on the
 * responder side, SALT p < saltAlpha and the other criteria are evaluable (≥ minWaveformSpikes
 * evoked waveforms when waveforms arrive); it is then tagged iff every criterion passes. A
 * responder whose SALT p is not yet below saltAlpha keeps being tested. The session stops when
 * every unit present from the start (first seen within minPulses pulses) with ≥ waitMinSpikes spikes
 * is decided, or at maxPulses; a unit still undecided after unitMaxPulses (default: two thirds of
 * maxPulses) of its own pulses is decided by the criteria then (the sequential test truncated:
 * its expected length is longest for a true gain between 0 and δ, and in a session of hundreds of
 * units some unit always sits there); undecided units at the end get the
 * fixed-protocol decision (the criteria alone). Online clustering keeps creating small units (split
 * fragments, units first seen late, a few spikes each) that cannot reach a sequential decision —
 * too few pulses since they appeared, or too few evoked waveforms — and waiting for them would
 * hold every session open to maxPulses. A tag therefore needs both the sequential test and SALT: the false-tag rate
 * per unit is at most α/(1 − β), and lower still for the SALT condition.
 */
import * as s from '../config/schema.js';
import { optotagAnalysisSchema, tagCriteriaSchema } from './optotag-options.js';

export const optotagProtocolSchema = s.object(
  {
    sink: s.string({ minLength: 1, default: 'stim', description: 'The sink (by config name) whose output carries the tagging light.' }),
    output: s.number({ integer: true, min: 0, max: 31, default: 0, description: 'Output (LED) index, 0-based.' }),
    pulseWidthMs: s.number({ above: 0, max: 1000, default: 10, description: 'Width of each tagging pulse (Allen: 10 ms; CellBase users: 1–5 ms).' }),
    levels: s.array(s.number({ min: 0, max: 1 }), {
      minItems: 1,
      default: [1],
      description: 'Light levels (fraction of full scale), cycled pulse by pulse; the statistics pool them.',
    }),
    pulsesPerTrain: s.number({ integer: true, min: 1, max: 100, default: 1, description: 'Pulses per trigger.' }),
    trainPulseIntervalMs: s.number({
      above: 0,
      default: 100,
      description: 'Onset-to-onset interval within a train. Pulses after the first are analysed only when this exceeds the baseline and response windows.',
    }),
    intervalMs: s.number({ above: 0, max: 600_000, default: 2000, description: 'Mean interval between trains (onset to onset).' }),
    intervalJitterMs: s.number({ min: 0, default: 500, description: 'Each interval is intervalMs ± up to this (uniform), so that pulses do not lock to rhythms.' }),
    seed: s.number({ integer: true, min: 0, default: 1, description: 'Seed of the interval jitter (a session is reproducible).' }),
    minPulses: s.number({
      integer: true,
      min: 2,
      default: 40,
      description:
        'No unit is decided before this many pulses. 40 rather than 20: in simulated PV sessions at 384 channels (seeds 1 and 2), after 20 pulses the sequential test called a light-driven cell “no response” whose evoked spikes were mostly lost to collisions (SALT p 0.0000 at the end); 40 recalled one more cell per seed (32/34 and 32/35) for 135–140 pulses instead of 110–120, no false positives either way.',
    }),
    maxPulses: s.number({ integer: true, min: 2, max: 100_000, default: 300, description: 'The session ends here at the latest (the fixed protocol).' }),
  },
  {
    description: 'What light the session gives.',
    refine: (v, path, issues) => {
      const at = (k: string) => `${path ? `${path}.` : ''}${k}`;
      if (v.minPulses > v.maxPulses) issues.push({ path: at('minPulses'), message: `expected at most maxPulses (${v.maxPulses}), got ${v.minPulses}` });
      if (v.intervalJitterMs >= v.intervalMs) issues.push({ path: at('intervalJitterMs'), message: `expected less than intervalMs (${v.intervalMs}), got ${v.intervalJitterMs}` });
      if (v.pulsesPerTrain > 1 && !(v.trainPulseIntervalMs >= v.pulseWidthMs)) {
        issues.push({ path: at('trainPulseIntervalMs'), message: `expected at least pulseWidthMs (${v.pulseWidthMs}), got ${v.trainPulseIntervalMs}` });
      }
    },
  },
);

export const optotagStoppingSchema = s.object(
  {
    adaptive: s.boolean({ default: true, description: 'Stop as soon as every unit is decided (false: always give maxPulses).' }),
    falseTagRate: s.number({ above: 0, below: 0.5, default: 0.01, description: 'α of the sequential test: chance of calling a non-responder a responder.' }),
    missRate: s.number({ above: 0, below: 0.5, default: 0.05, description: 'β of the sequential test: chance of missing a responder whose gain is ≥ minReliabilityGain.' }),
    minReliabilityGain: s.number({
      above: 0,
      below: 1,
      default: 0.1,
      description:
        'δ: the smallest increase of the response probability over baseline that counts as a responder. 0.1 rather than 0.2: in a simulated PV session through the daemon, collisions among the synchronous evoked spikes left some opsin cells’ units with gains of 0.1–0.2, which δ = 0.2 called non-responders (recall 33/37 vs 35/37 cells at 384 channels, no false positives either way).',
    }),
    lookEveryPulses: s.number({ integer: true, min: 1, default: 5, description: 'Decisions are re-evaluated every this many pulses (SALT is the costly part).' }),
    saltPerBlock: s.number({
      integer: true,
      min: 1,
      max: 1000,
      default: 2,
      description: 'SALT evaluations per block during a decision look (≈0.4 ms each with 50 baseline windows): a look is spread over blocks so that the loop never stalls.',
    }),
    unitMaxPulses: s.nullable(s.number({ integer: true, min: 2 }), {
      description:
        'A unit still undecided after this many of its own pulses gets the criteria verdict then (a truncated sequential test): units whose response probability lies between H0 and H1, or responders whose SALT or evoked waveforms never got there, would otherwise hold the session to maxPulses. null (the default): two thirds of protocol.maxPulses, 200 of the default 300. A third of the budget (100) was the default before: in simulated PV sessions at 384 channels it called opsin cells whose evoked spikes mostly collide with their neighbours’ “not tagged” with SALT p just above α; at 200, recall went from 64/69 to 67/69 cells over two seeds, no false positives either way, in 235–240 pulses against the fixed protocol’s 300 (docs/closedloop.md). It is relative so that a shorter session still stops early.',
    }),
    noResponseMinSaltP: s.number({
      above: 0,
      max: 1,
      default: 0.1,
      description:
        'A unit at the sequential test’s lower bound is decided “not tagged” only if its SALT p is at least this; below it (time-locked spikes, but rare) it is tested on, up to unitMaxPulses. 1 hardly ever lets the lower bound decide alone: only units with SALT p = 1.',
    }),
    waitMinSpikes: s.number({
      integer: true,
      min: 0,
      default: 100,
      description:
        'The adaptive stop waits only for undecided units present from the start (first seen within the first minPulses pulses) with at least this many spikes in the session; the others (sparse fragments of an over-split unit, units that online clustering splits off or promotes later) are tested while it runs and get the criteria verdict when it stops, as at maxPulses.',
    }),
    minWaveformSpikes: s.number({
      integer: true,
      min: 1,
      default: 10,
      description: 'A responder is decided only once this many light-evoked waveforms were averaged (when waveforms arrive).',
    }),
  },
  { description: 'When the session may stop early (see the definition in src/closedloop/optotag-config.ts).' },
);

export const optotagConfigSchema = s.object(
  {
    label: s.string({ minLength: 1, default: 'tagged', description: 'Label of tagged units in the library: the cell type the opsin is expressed in (PV, SST, …).' }),
    library: s.nullable(s.string({ minLength: 1 }), { description: 'Unit library file to which tagged units are appended (src/classify/library.ts); null: none.' }),
    protocol: optotagProtocolSchema,
    analysis: optotagAnalysisSchema,
    criteria: tagCriteriaSchema,
    stopping: optotagStoppingSchema,
    spikeDelayMs: s.number({
      min: 0,
      max: 1000,
      default: 5,
      description: 'How long after its response window a pulse waits for late spikes (detection and sorting delay) before it is counted.',
    }),
    maxUnits: s.number({ integer: true, min: 1, max: 100_000, default: 1024, description: 'Units tracked at once (buffers are allocated when the session starts).' }),
    maxUnitId: s.number({ integer: true, min: 0, max: 10_000_000, default: 65_535, description: 'Largest unit id expected; spikes of higher ids are counted and ignored.' }),
    spikeRingCapacity: s.number({
      integer: true,
      min: 16,
      max: 1_000_000,
      default: 1024,
      description: 'Recent spikes kept per unit; must cover the baseline plus response window at the unit’s highest rate.',
    }),
  },
  {
    description: 'Online optotagging: protocol, statistics, tag criteria and adaptive stop.',
    refine: (v, path, issues) => {
      const needMs = v.analysis.baselineMs + Math.max(v.analysis.evokedEndMs, v.analysis.saltTestStartMs + v.analysis.saltWindowMs, v.analysis.psthEndMs, v.analysis.allenEvokedEndMs);
      const lastPulseMs = (v.protocol.pulsesPerTrain - 1) * v.protocol.trainPulseIntervalMs + v.protocol.pulseWidthMs;
      if (v.protocol.intervalMs - v.protocol.intervalJitterMs < needMs + lastPulseMs) {
        issues.push({
          path: `${path ? `${path}.` : ''}protocol.intervalMs`,
          message: `expected intervalMs − intervalJitterMs ≥ the train (${lastPulseMs} ms) plus baseline and response windows (${needMs} ms), got ${v.protocol.intervalMs - v.protocol.intervalJitterMs} ms`,
        });
      }
    },
  },
);

export type OptotagConfig = s.Infer<typeof optotagConfigSchema>;
export type OptotagProtocol = s.Infer<typeof optotagProtocolSchema>;
export type OptotagStopping = s.Infer<typeof optotagStoppingSchema>;

export function defaultOptotagConfig(): OptotagConfig {
  const r = s.validate(optotagConfigSchema, {});
  if (!r.ok) throw new Error(`optotag-config: the defaults do not validate: ${r.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  return r.value;
}
