import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { trainToChannelParams } from '../../../drivers/pulsepal/train.js';
import { encodeProgramAll, encodeProgramParam, voltageCode } from '../../../drivers/pulsepal/protocol.js';
import { silentChannel } from '../../../drivers/pulsepal/train.js';

test('voltage codes follow ceil(((V + 10) / 20) × 65535)', () => {
  assert.is(voltageCode(-10), 0);
  assert.is(voltageCode(0), 32768);
  assert.is(voltageCode(5), 49152);
  assert.is(voltageCode(10), 65535);
  assert.throws(() => voltageCode(10.5), /−10…\+10 V/);
});

test('a single pulse: the train lasts exactly one pulse', () => {
  const p = trainToChannelParams({ pulseWidthMs: 10, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 1 }, 5);
  assert.is(p.phase1Duration, 200);
  assert.is(p.pulseTrainDuration, 200);
  assert.ok(p.interPulseInterval >= 1, 'a positive inter-pulse interval, so the firmware never stalls');
  assert.is(p.phase1Voltage, 49152);
});

test('durations round to the nearest 50 µs cycle; too short or overlapping pulses are refused by field', () => {
  assert.is(trainToChannelParams({ pulseWidthMs: 0.074, pulseIntervalMs: 1, pulseCount: 2, delayMs: 0.026, level: 0 }, 5).phase1Duration, 1);
  assert.throws(() => trainToChannelParams({ pulseWidthMs: 0.02, pulseIntervalMs: 1, pulseCount: 1, delayMs: 0, level: 1 }, 5), /pulseWidthMs/);
  assert.throws(() => trainToChannelParams({ pulseWidthMs: 5, pulseIntervalMs: 5, pulseCount: 2, delayMs: 0, level: 1 }, 5), /pulseIntervalMs/);
  assert.throws(() => trainToChannelParams({ pulseWidthMs: 5, pulseIntervalMs: 10, pulseCount: 0, delayMs: 0, level: 1 }, 5), /pulseCount/);
  assert.throws(() => trainToChannelParams({ pulseWidthMs: 5, pulseIntervalMs: 10, pulseCount: 1, delayMs: -1, level: 1 }, 5), /delayMs/);
  assert.throws(() => trainToChannelParams({ pulseWidthMs: 5, pulseIntervalMs: 10, pulseCount: 1, delayMs: 0, level: 1.5 }, 5), /level/);
});

test('op 73 is 2 + 178 bytes, parameter-major, little-endian', () => {
  const channels = [0, 1, 2, 3].map((i) => ({ ...silentChannel(), phase1Duration: 0x01020300 + i }));
  const bytes = encodeProgramAll({ channels, triggerLinks: [[1, 0, 0, 0], [0, 0, 0, 1]], triggerModes: [0, 2] });
  assert.is(bytes.length, 180);
  assert.equal([...bytes.subarray(0, 2)], [213, 73]);
  assert.equal([...bytes.subarray(2, 10)], [0x00, 0x03, 0x02, 0x01, 0x01, 0x03, 0x02, 0x01], 'Phase1Duration of outputs 1 then 2');
  assert.equal([...bytes.subarray(170, 180)], [1, 0, 0, 0, 0, 0, 0, 1, 0, 2], 'links then modes at the end');
});

test('op 74 value widths: u8 flags, u16 voltages, u32 times', () => {
  assert.equal([...encodeProgramParam(1, 2, 1)], [213, 74, 1, 2, 1]);
  assert.equal([...encodeProgramParam(2, 2, 0x1234)], [213, 74, 2, 2, 0x34, 0x12]);
  assert.equal([...encodeProgramParam(11, 4, 0x01020304)], [213, 74, 11, 4, 4, 3, 2, 1]);
});

test.run();
