// The firmware's own light limits (PROTOCOL.md §7), enforced by the firmware core on the emulator:
// refused with LIMIT_EXCEEDED, never clipped, and never emitted (checked in the output-event log).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isOptoloopError, type OptoloopError } from '../../../src/core/errors.js';
import type { StimulusAck } from '../../../src/core/stimulus-sink.js';
import type { BridgeLimits } from '../../../drivers/firmware-bridge/codec.js';
import { MANUAL, next, startRig, type GateEdge, type Rig } from './harness.js';

let rig: Rig;

test.before(async () => {
  rig = await startRig('limits');
  await rig.sink.open();
});
test.after(async () => rig.dispose());

async function fire(mask: number): Promise<StimulusAck> {
  const ack = next(rig.sink.acks$, (a) => a.kind === 'trigger');
  rig.sink.trigger(mask, MANUAL);
  return ack;
}

async function fireAndFinish(channel: number): Promise<StimulusAck> {
  const done = next(rig.sink.trainDone$, (e) => e.channel === channel);
  const ack = await fire(1 << channel);
  assert.ok(ack.ok, ack.error?.message);
  await done;
  return ack;
}

async function refused(promise: Promise<unknown>): Promise<OptoloopError> {
  try {
    await promise;
  } catch (error) {
    if (isOptoloopError(error, 'E_DEVICE_REFUSED')) return error;
    throw error;
  }
  throw new Error('expected LIMIT_EXCEEDED');
}

/** Pulses (onset, on-time) a channel really emitted, from the log's edges. */
function pulses(edges: readonly GateEdge[], channel: number): Array<{ onsetUs: number; widthUs: number }> {
  const out: Array<{ onsetUs: number; widthUs: number }> = [];
  let onset: number | null = null;
  for (const e of edges) {
    if (e.channel !== channel) continue;
    if (e.on) onset = e.scheduledUs;
    else if (onset !== null) {
      out.push({ onsetUs: onset, widthUs: e.scheduledUs - onset });
      onset = null;
    }
  }
  return out;
}

/** Brute-force check of the emitted light against limits: every window start on a µs grid of onsets and ends. */
function assertWithin(channel: number, limits: BridgeLimits): void {
  const emitted = pulses(rig.edges(), channel);
  for (const p of emitted) assert.ok(p.widthUs <= limits.maxWidthUs, `pulse of ${p.widthUs} µs emitted`);
  const starts = emitted.flatMap((p) => [p.onsetUs, p.onsetUs + p.widthUs - limits.dutyWindowUs]);
  for (const a of starts) {
    const b = a + limits.dutyWindowUs;
    const on = emitted.reduce((sum, p) => sum + Math.max(0, Math.min(b, p.onsetUs + p.widthUs) - Math.max(a, p.onsetUs)), 0);
    assert.ok(on * 1e6 <= limits.maxDutyPpm * limits.dutyWindowUs, `${on} µs of light in the window from ${a}`);
  }
  for (const p of emitted) {
    const count = emitted.filter((q) => q.onsetUs <= p.onsetUs && q.onsetUs > p.onsetUs - limits.rateWindowUs).length;
    assert.ok(count <= limits.maxPulsesPerWindow, `${count} onsets in the rate window ending at ${p.onsetUs}`);
  }
}

const DUTY: BridgeLimits = { maxWidthUs: 20_000, dutyWindowUs: 1_000_000, maxDutyPpm: 50_000, rateWindowUs: 10_000_000, maxPulsesPerWindow: 500 };
const RATE: BridgeLimits = { maxWidthUs: 10_000, dutyWindowUs: 1_000_000, maxDutyPpm: 500_000, rateWindowUs: 10_000_000, maxPulsesPerWindow: 5 };

test('width: wider than the limit is refused at PROGRAM, and at TRIGGER after the limit was lowered', async () => {
  const atProgram = await refused(rig.sink.program(0, { pulseWidthMs: 51, pulseIntervalMs: 100, pulseCount: 1, delayMs: 0, level: 1 }));
  assert.is(atProgram.details.limitName, 'pulse width');
  assert.equal([atProgram.details.value, atProgram.details.limit], [51_000, 50_000]);
  await rig.sink.program(0, { pulseWidthMs: 20, pulseIntervalMs: 100, pulseCount: 1, delayMs: 0, level: 1 });
  await rig.sink.setLimits(0, { ...DUTY, maxWidthUs: 10_000 });
  const ack = await fire(0b1);
  assert.not.ok(ack.ok);
  assert.is(ack.error!.code, 'E_DEVICE_REFUSED');
  assert.match(ack.error!.message, /LIMIT_EXCEEDED: TRIGGER on output 0 would exceed the firmware's pulse width limit \(20000 µs, maximum 10000\)/);
  assert.is(pulses(rig.edges(), 0).length, 0, 'nothing was emitted on output 0');
});

test('duty cycle: the sliding window counts light already emitted; the limit is exact, not padded', async () => {
  await rig.sink.setLimits(1, DUTY); // 50 ms of light in any 1 s
  const alone = await refused(rig.sink.program(1, { pulseWidthMs: 10, pulseIntervalMs: 15, pulseCount: 6, delayMs: 0, level: 1 }));
  assert.is(alone.details.limitName, 'duty cycle', 'a train over the limit on its own is refused at PROGRAM');
  assert.equal([alone.details.value, alone.details.limit], [60_000, 50_000]);
  await rig.sink.program(1, { pulseWidthMs: 10, pulseIntervalMs: 50, pulseCount: 4, delayMs: 0, level: 1 });
  await fireAndFinish(1); // 40 ms of light
  const before = pulses(rig.edges(), 1).length;
  const again = await fire(0b10);
  assert.not.ok(again.ok);
  // The firmware reports the first window it found over the limit: 40 ms already emitted + 2 × 10 ms.
  assert.match(again.error!.message, /duty cycle limit \(60000 µs of light in the duty window, maximum 50000\)/);
  // 11 ms more would be 51 ms in the window: refused. 10 ms is exactly the limit: accepted.
  await rig.sink.program(1, { pulseWidthMs: 11, pulseIntervalMs: 50, pulseCount: 1, delayMs: 0, level: 1 });
  assert.not.ok((await fire(0b10)).ok);
  await rig.sink.program(1, { pulseWidthMs: 10, pulseIntervalMs: 50, pulseCount: 1, delayMs: 0, level: 1 });
  await fireAndFinish(1);
  assert.is(pulses(rig.edges(), 1).length, before + 1, 'only the accepted pulse was emitted');
  assertWithin(1, DUTY);
});

test('rate: onsets in the sliding rate window are capped, whole trains refused', async () => {
  await rig.sink.setLimits(2, RATE); // 5 pulses in any 10 s
  await rig.sink.program(2, { pulseWidthMs: 1, pulseIntervalMs: 5, pulseCount: 3, delayMs: 0, level: 1 });
  await fireAndFinish(2);
  const refusedAck = await fire(0b100);
  assert.not.ok(refusedAck.ok);
  assert.match(refusedAck.error!.message, /pulse rate limit \(6 pulses in the rate window, maximum 5\)/);
  await rig.sink.program(2, { pulseWidthMs: 1, pulseIntervalMs: 5, pulseCount: 2, delayMs: 0, level: 1 });
  await fireAndFinish(2);
  await rig.sink.program(2, { pulseWidthMs: 1, pulseIntervalMs: 5, pulseCount: 1, delayMs: 0, level: 1 });
  assert.not.ok((await fire(0b100)).ok);
  assert.is(pulses(rig.edges(), 2).length, 5);
  assertWithin(2, RATE);
  const status = await rig.sink.getStatus();
  assert.ok(status.limitRefusals >= 6);
});

test('a multi-output TRIGGER with one output over its limit starts nothing', async () => {
  await rig.sink.program(3, { pulseWidthMs: 1, pulseIntervalMs: 5, pulseCount: 1, delayMs: 0, level: 1 });
  const before = rig.edges().filter((e) => e.on).length;
  const ack = await fire(0b1100); // output 2 is at its rate limit
  assert.not.ok(ack.ok);
  assert.match(ack.error!.message, /on output 2/);
  const clock = await rig.sink.getClock();
  assert.ok(clock.deviceTimeUs > 0);
  assert.is(rig.edges().filter((e) => e.on).length, before, 'output 3 did not fire either');
  assert.is(pulses(rig.edges(), 3).length, 0);
});

test('SET_LIMITS cannot raise a limit past the firmware ceilings', async () => {
  for (const [field, value, param] of [
    ['maxWidthUs', 1_000_001, 1],
    ['maxDutyPpm', 1_000_001, 3],
    ['maxPulsesPerWindow', 1024, 5],
    ['dutyWindowUs', 999, 2],
  ] as const) {
    const error = await refused(rig.sink.setLimits('all', { ...DUTY, [field]: value }));
    assert.is(error.details.firmwareError, 'OUT_OF_RANGE');
    assert.is(error.details.param, param);
  }
  assert.equal(await rig.sink.getLimits(1), DUTY, 'a refused SET_LIMITS changed nothing');
});

test.run();
