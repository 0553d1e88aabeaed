// The safety governor in front of a real driver: the firmware-bridge sink talking to the firmware's
// own core (the host-built emulator) over a pseudo-terminal. What the governor refuses never
// reaches the board; the emergency stop cuts a running train on the board.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SafetyGovernor, type StimRefusal } from '../../src/closedloop/safety-governor.js';
import { defaultSafetyConfig } from '../../src/closedloop/safety-options.js';
import { systemClock } from '../../src/core/clock.js';
import { isOptoloopError } from '../../src/core/errors.js';
import { MANUAL, next, startRig, type Rig } from '../drivers/firmware-bridge/harness.js';

let rig: Rig;
let governor: SafetyGovernor;
const log: StimRefusal[] = [];

test.before(async () => {
  rig = await startRig('governor');
  const config = defaultSafetyConfig();
  governor = new SafetyGovernor(rig.sink, {
    sinkName: 'bridge',
    clock: systemClock,
    config: { ...config, limits: { ...config.limits, maxPulseWidthMs: 50, maxDutyCycle: 0.2, dutyWindowS: 1 } },
    log: (r) => log.push(r),
  });
  await governor.open();
});

test.after(async () => {
  await rig.dispose();
});

test('a train over the limits is refused before the board sees it', async () => {
  try {
    await governor.program(0, { pulseWidthMs: 100, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 1 }, 'bus:test');
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_STIM_LIMIT'));
  }
  // 20 ms every 50 ms: duty 0.4 over 1 s.
  try {
    await governor.program(0, { pulseWidthMs: 20, pulseIntervalMs: 50, pulseCount: 40, delayMs: 0, level: 1 }, 'bus:test');
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_STIM_LIMIT'));
  }
  const status = await rig.sink.getStatus();
  assert.is(status.programmedMask, 0, 'nothing was programmed on the board');
  assert.is(log.filter((l) => l.code === 'E_STIM_LIMIT').length, 2);
});

test('the emergency stop cuts a running train on the board and refuses what follows', async () => {
  await governor.program(1, { pulseWidthMs: 5, pulseIntervalMs: 50, pulseCount: 200, delayMs: 0, level: 0.5 }, 'optotag');
  const started = next(rig.sink.acks$, (a) => a.kind === 'trigger');
  assert.ok(governor.trigger(0b10, MANUAL) > 0);
  const ack = await started;
  assert.ok(ack.ok);
  const done = next(rig.sink.trainDone$, (e) => e.channel === 1);
  const aborted = next(rig.sink.acks$, (a) => a.kind === 'abort');
  governor.engageEstop('bus:panel');
  assert.is(governor.trigger(0b10, MANUAL), -1, 'refused in the same instant');
  assert.is(governor.lastRefusal.code, 'E_STIM_ESTOP');
  const abortAck = await aborted;
  const trainDone = await done;
  assert.is(trainDone.reason, 1, 'aborted, not completed');
  assert.ok(trainDone.pulses < 200);
  const edges = rig.edges().filter((e) => e.channel === 1 && e.scheduledUs >= ack.deviceTimeUs!);
  assert.is(edges[edges.length - 1].on, false, 'the gate is low');
  assert.ok(edges.filter((e) => e.on).every((e) => e.scheduledUs <= abortAck.deviceTimeUs!), 'no onset after the abort');
  governor.releaseEstop('manual');
  assert.is(governor.trigger(0b10, MANUAL), -1, 'outputs must be programmed again after a release');
});

test.run();
