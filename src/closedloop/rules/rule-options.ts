/**
 * The `rules` config section: named closed-loop rules, each a condition on the spike stream and a
 * pulse train on one output of one sink, with a refractory time. Examples:
 *
 *   rules:
 *     pv-spike:                     # when a unit classified PV (confidence ≥ 2) fires → 5 ms on LED 1
 *       when: { kind: unit-spike, cellType: PV, minConfidence: 2 }
 *       action: { sink: leds, output: 1, train: { pulseWidthMs: 5 } }
 *       refractoryMs: 100
 *     purkinje-burst:               # summed Purkinje rate over 20 ms above 800 Hz → a 20 Hz train
 *       when: { kind: population-rate, cellType: PkC_ss, windowMs: 20, thresholdHz: 800 }
 *       action: { sink: leds, output: 0, train: { pulseWidthMs: 5, pulseIntervalMs: 50, pulseCount: 10 } }
 *       refractoryMs: 1000
 */
import * as s from '../../config/schema.js';
import { pulseTrainSchema, sameTrain } from '../pulse-train-schema.js';

const unitSelection = {
  cellType: s.nullable(s.string({ minLength: 1 }), { description: 'Units whose current cell-type label is this (from the classifier).' }),
  minConfidence: s.number({ min: 0, default: 2, description: 'Lowest classifier confidence ratio (top / second probability) for a unit to count.' }),
  units: s.nullable(s.array(s.number({ integer: true, min: 0, max: 1_000_000 }), { minItems: 1 }), {
    description: 'Explicit unit ids; with cellType as well, a unit must satisfy both.',
  }),
};

export const unitSpikeConditionSchema = s.object(
  { kind: s.literal('unit-spike'), ...unitSelection },
  { description: 'Fires on every spike of a selected unit (subject to the refractory time).' },
);

export const populationRateConditionSchema = s.object(
  {
    kind: s.literal('population-rate'),
    ...unitSelection,
    windowMs: s.number({ above: 0, max: 10_000, default: 20, description: 'Sliding window over which the selected units’ spikes are summed.' }),
    thresholdHz: s.number({ above: 0, description: 'Fires when the summed rate over the window exceeds this.' }),
    trigger: s.oneOf(['rising', 'level'] as const, {
      default: 'rising',
      description: 'rising: once per crossing (re-armed when the rate falls back); level: whenever above (subject to the refractory time).',
    }),
    maxSpikesInWindow: s.number({
      integer: true,
      min: 16,
      max: 1_000_000,
      default: 4096,
      description: 'Capacity of the window’s spike ring (allocated at set-up); must exceed the threshold’s spike count.',
    }),
  },
  {
    description: 'Fires when the summed firing rate of the selected units over a sliding window exceeds a threshold.',
    refine: (v, path, issues) => {
      const count = (v.thresholdHz * v.windowMs) / 1000;
      if (count >= v.maxSpikesInWindow) {
        issues.push({
          path: `${path ? `${path}.` : ''}maxSpikesInWindow`,
          message: `expected more than the threshold's ${count} spikes per window, got ${v.maxSpikesInWindow}`,
        });
      }
    },
  },
);

export const ruleSchema = s.object(
  {
    enabled: s.boolean({ default: true, description: 'Rules can also be switched at run time (bus command set-rule-enabled).' }),
    when: s.tagged('kind', { 'unit-spike': unitSpikeConditionSchema, 'population-rate': populationRateConditionSchema }),
    action: s.object({
      sink: s.string({ minLength: 1, description: 'The sink’s name in the rig config.' }),
      output: s.number({ integer: true, min: 0, max: 31, description: 'Output (LED) index, 0-based.' }),
      train: pulseTrainSchema,
    }),
    refractoryMs: s.number({ min: 0, max: 3_600_000, default: 100, description: 'After firing, the rule ignores its condition this long (stream time).' }),
  },
  {
    description: 'A closed-loop rule.',
    refine: (v, path, issues) => {
      if (v.when.cellType === null && v.when.units === null) {
        issues.push({ path: `${path ? `${path}.` : ''}when`, message: 'expected cellType or units: a rule on every unit is almost certainly a mistake' });
      }
    },
  },
);

const ruleRecordSchema = s.record(ruleSchema, {
  default: {},
  description: 'Closed-loop rules by name. Rules that share a sink output must share its train (an output holds one programmed train).',
});

export type RuleConfig = s.Infer<typeof ruleSchema>;
export type RulesConfig = Record<string, RuleConfig>;

/** The section: the record of rules plus the checks across rules. */
export const rulesSchema: s.Schema<RulesConfig> = {
  ...ruleRecordSchema,
  parse(value, path, issues) {
    const before = issues.length;
    const rules = ruleRecordSchema.parse(value, path, issues);
    if (rules === undefined || issues.length !== before) return undefined;
    issues.push(...checkRules(rules, path || 'rules'));
    return issues.length === before ? rules : undefined;
  },
};
export type RuleCondition = RuleConfig['when'];

export const RULE_ID_PATTERN = /^[A-Za-z0-9_.-]+$/;

/** Cross-rule checks the per-rule schema cannot make; returns issues as `rules.<id>…: message`. */
export function checkRules(rules: RulesConfig, path = 'rules'): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const byOutput = new Map<string, [string, RuleConfig]>();
  for (const [id, rule] of Object.entries(rules)) {
    if (!RULE_ID_PATTERN.test(id)) issues.push({ path: `${path}.${id}`, message: `expected a rule name of letters, digits, _ . -, got "${id}"` });
    const key = `${rule.action.sink}:${rule.action.output}`;
    const other = byOutput.get(key);
    if (other && !sameTrain(other[1].action.train, rule.action.train)) {
      issues.push({
        path: `${path}.${id}.action.train`,
        message: `expected the same train as rule "${other[0]}" on ${key} (an output holds one programmed train), got a different one`,
      });
    } else if (!other) byOutput.set(key, [id, rule]);
  }
  return issues;
}
