/**
 * The serial drivers' config sections inside the rig config: defaults filled in, mistakes named
 * by path with what was expected.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateRigConfig } from '../../src/config/load.js';
import { isOptoloopError } from '../../src/core/errors.js';

function problems(document: unknown): string {
  try {
    validateRigConfig(document, 'rig.yaml');
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_CONFIG_INVALID'));
    return (error as Error).message;
  }
  assert.unreachable('expected the config to be refused');
  return '';
}

test('an OpenBCI source and two named sinks, with their defaults', () => {
  const config = validateRigConfig({
    source: { kind: 'openbci', port: '/dev/ttyUSB0', channels: 16 },
    sinks: { blue: { kind: 'pulsepal', port: '/dev/ttyACM0' }, leds: { kind: 'thorlabs', port: '/dev/ttyACM1', mode: 'brightness' } },
  });
  assert.is(config.source.kind, 'openbci');
  if (config.source.kind === 'openbci') {
    assert.equal([config.source.channels, config.source.baudRate, config.source.channelSettings.gain, config.source.timestamps], [16, 115200, 24, false]);
    assert.is(config.source.reconnect.initialDelayMs, 100);
  }
  const blue = config.sinks.blue;
  assert.is(blue.kind, 'pulsepal');
  if (blue.kind === 'pulsepal') assert.equal([blue.fullScaleVolts, blue.programMode, blue.clientName], [[5, 5, 5, 5], 'full', 'OPTOLP']);
  const leds = config.sinks.leds;
  if (leds.kind === 'thorlabs') assert.equal([leds.mode, leds.minPulseWidthMs, leds.limitMa], ['brightness', 5, null]);
});

test('no sinks section: an empty record', () => {
  assert.equal(validateRigConfig({ source: { kind: 'sim' } }).sinks, {});
});

test('mistakes are named by path', () => {
  const message = problems({
    source: { kind: 'openbci', port: '/dev/ttyUSB0', channels: 8, gains: [24, 24, 24] },
    sinks: {
      a: { kind: 'pulsepal', port: '/dev/ttyACM0', fullScaleVolts: [5, 5, 12, 5], clientName: 'TOO-LONG-NAME' },
      b: { kind: 'thorlabs', port: '/dev/ttyACM1', fullScaleMa: [600, 100, 100, 100], limitMa: [500, 500, 500, 500] },
      c: { kind: 'laser', port: 'x' },
    },
  });
  assert.match(message, 'source.gains: expected an array of at least 8, got an array of 3');
  assert.match(message, 'sinks.a.fullScaleVolts[2]: expected a number > 0 and ≤ 10, got 12');
  assert.match(message, 'sinks.a.clientName: expected 1 to 6 printable ASCII characters');
  assert.match(message, 'sinks.b.fullScaleMa[0]: expected at most limitMa[0] (500 mA), got 600');
  assert.match(message, 'sinks.c.kind: expected one of "pulsepal", "thorlabs", "firmware-bridge", "sim", got "laser"');
});

test('per-channel gains must match the channel count', () => {
  const message = problems({ source: { kind: 'openbci', port: '/dev/ttyUSB0', channels: 16, gains: new Array(8).fill(24) } });
  assert.match(message, 'source.gains: expected an array of 16 (one gain per channel), got an array of 8');
});

test.run();
