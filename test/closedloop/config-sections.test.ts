import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateRigConfig } from '../../src/config/load.js';
import { isOptoloopError } from '../../src/core/errors.js';

function problems(doc: Record<string, unknown>): string {
  try {
    validateRigConfig({ source: { kind: 'sim' }, ...doc }, 'rig.yaml');
    return '';
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_CONFIG_INVALID'));
    return (error as Error).message;
  }
}

test('the closed-loop sections validate with their defaults', () => {
  const config = validateRigConfig({ source: { kind: 'sim' } }, 'rig.yaml');
  assert.is(config.safety.limits.maxDutyCycle, 0.25);
  assert.is(config.optotag.criteria.saltAlpha, 0.01);
  assert.is(config.optotag.criteria.minWaveformR, 0.9);
  assert.is(config.optotag.stopping.adaptive, true);
  assert.equal(config.rules, {});
  assert.is(config.bci.decoder, null);
});

test('a full example: rules, safety overrides, optotag protocol, BCI decoder', () => {
  const config = validateRigConfig(
    {
      source: { kind: 'sim' },
      safety: { limits: { maxPulseWidthMs: 50, maxDutyCycle: 0.1 }, outputs: { 'leds:1': { maxLevel: 0.5 } } },
      rules: {
        'pv-spike': {
          when: { kind: 'unit-spike', cellType: 'PV', minConfidence: 2 },
          action: { sink: 'leds', output: 1, train: { pulseWidthMs: 5 } },
          refractoryMs: 100,
        },
        'purkinje-burst': {
          when: { kind: 'population-rate', cellType: 'PkC_ss', windowMs: 20, thresholdHz: 800 },
          action: { sink: 'leds', output: 0, train: { pulseWidthMs: 5, pulseIntervalMs: 50, pulseCount: 10 } },
        },
      },
      optotag: { label: 'PV', protocol: { sink: 'leds', output: 0, pulseWidthMs: 5, levels: [0.5, 1] }, criteria: { maxLatencyMs: 8, minWaveformR: null } },
      bci: { decoder: '/tmp/decoder.json' },
    },
    'rig.yaml',
  );
  assert.is(config.rules['purkinje-burst'].refractoryMs, 100);
  assert.is(config.safety.outputs['leds:1'].maxLevel, 0.5);
  assert.is(config.safety.outputs['leds:1'].maxPulseWidthMs, null);
  assert.is(config.optotag.criteria.minWaveformR, null);
  assert.equal(config.optotag.protocol.levels, [0.5, 1]);
});

test('errors name the config path and the expectation', () => {
  assert.match(problems({ safety: { limits: { maxDutyCycle: 0.8 } } }), 'safety.limits.maxDutyCycle: expected a number > 0 and ≤ 0.5, got 0.8');
  assert.match(problems({ safety: { limits: { maxPulsesPerMinute: 100000 } } }), 'safety.limits.maxPulsesPerMinute: expected an integer ≥ 1 and ≤ 6000');
  assert.match(problems({ optotag: { protocol: { intervalMs: 400, intervalJitterMs: 0 } } }), 'optotag.protocol.intervalMs: expected intervalMs − intervalJitterMs ≥ the train');
  assert.match(problems({ optotag: { analysis: { saltWindowMs: 10, saltBinMs: 3 } } }), 'optotag.analysis.saltWindowMs: expected a whole number of saltBinMs (3), got 10');
  assert.match(
    problems({
      rules: {
        a: { when: { kind: 'unit-spike', units: [1] }, action: { sink: 'leds', output: 0, train: { pulseWidthMs: 5 } } },
        b: { when: { kind: 'unit-spike', units: [2] }, action: { sink: 'leds', output: 0, train: { pulseWidthMs: 6 } } },
      },
    }),
    'rules.b.action.train: expected the same train as rule "a" on leds:0',
  );
  assert.match(problems({ rules: { a: { when: { kind: 'unit-spike', units: [1] }, action: { sink: 'leds', output: 0, train: { pulseWidthMs: 5 } }, refactoryMs: 5 } } }), 'rules.a.refactoryMs: unknown key (did you mean "refractoryMs"?)');
  assert.match(problems({ bci: { decoder: 5 } }), 'bci.decoder: expected a non-empty string, got 5');
});

test.run();
