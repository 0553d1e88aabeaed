// FirmwareBridgeSink without a device: unit conversion, refusals before anything is sent, and the
// handshake timeout in virtual time (MockBinding + ManualClock).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isOptoloopError, type OptoloopError } from '../../../src/core/errors.js';
import { MockBinding } from '../../../drivers/binding/mock-binding.js';
import { ManualTimers } from '../../../drivers/binding/timers.js';
import { FrameParser } from '../../../drivers/firmware-bridge/frame-parser.js';
import { FirmwareBridgeSink, toTrainUs } from '../../../drivers/firmware-bridge/sink.js';
import { Op } from '../../../drivers/firmware-bridge/protocol.js';
import { MANUAL, next } from './harness.js';

test('PulseTrainSpec in ms and 0…1 becomes µs and a 16-bit level, rounded to the nearest µs', () => {
  assert.equal(toTrainUs(2, { pulseWidthMs: 5.0004, pulseIntervalMs: 100, pulseCount: 10, delayMs: 0.0006, level: 0.5 }), {
    level: 32768,
    delayUs: 1,
    widthUs: 5000,
    intervalUs: 100_000,
    count: 10,
  });
  assert.is(toTrainUs(0, { pulseWidthMs: 1, pulseIntervalMs: Number.NaN, pulseCount: 1, delayMs: 0, level: 1 }).intervalUs, 0, 'interval ignored for one pulse');
});

test('values that cannot be encoded are refused with E_OPTIONS_INVALID naming each field', () => {
  let error: unknown = null;
  try {
    toTrainUs(0, { pulseWidthMs: -1, pulseIntervalMs: 5e9, pulseCount: 2.5, delayMs: Number.NaN, level: 1.2 });
  } catch (e) {
    error = e;
  }
  assert.ok(isOptoloopError(error, 'E_OPTIONS_INVALID'));
  const message = (error as OptoloopError).message;
  for (const field of ['pulseWidthMs', 'pulseIntervalMs', 'pulseCount', 'delayMs', 'level']) assert.match(message, field);
  assert.match(message, /level: expected a fraction 0 … 1 of full scale, got 1.2/);
});

test('a trigger on a sink that is not open returns an id and acks the refusal afterwards', async () => {
  const sink = new FirmwareBridgeSink({ path: '/dev/mock0' }, { binding: new MockBinding() as never });
  const ackPromise = next(sink.acks$);
  const id = sink.trigger(1, MANUAL);
  const ack = await ackPromise;
  assert.is(ack.requestId, id);
  assert.not.ok(ack.ok);
  assert.is(ack.error!.code, 'E_SINK_STATE');
  let error: unknown = null;
  await sink.program(0, { pulseWidthMs: 1, pulseIntervalMs: 2, pulseCount: 1, delayMs: 0, level: 1 }).catch((e: unknown) => (error = e));
  assert.ok(isOptoloopError(error, 'E_SINK_STATE'));
});

test('a device that never answers HELLO: open() fails with E_DEVICE_TIMEOUT in virtual time, after a clean HELLO frame', async () => {
  const binding = new MockBinding();
  const device = binding.createDevice('/dev/mock1');
  const timers = new ManualTimers();
  const sink = new FirmwareBridgeSink({ path: '/dev/mock1', requestTimeoutMs: 250, openAttempts: 1 }, { binding: binding as never, timers, log: { warn: () => undefined } });
  // The delimiter goes out first; HELLO follows once that write has returned.
  const written = new Promise<void>((resolve) => (device.onWrite = () => device.written.length >= 2 && resolve()));
  const opening = sink.open().then(
    () => null,
    (e: unknown) => e,
  );
  await written;
  // What went out: a lone delimiter (§3.4), then HELLO 1.0.
  const bytes = Uint8Array.from(device.written.flatMap((w) => [...w]));
  assert.is(bytes[0], 0);
  const parser = new FrameParser();
  parser.feed(bytes, 0, bytes.length);
  assert.is(parser.frameLength, 7);
  assert.equal([parser.frame[0], parser.frame[3], parser.frame[4]], [Op.HELLO, 1, 0]);
  timers.advanceMs(249);
  assert.is(timers.pendingCount, 1, 'still waiting at 249 ms');
  timers.advanceMs(2);
  const error = await opening;
  assert.ok(isOptoloopError(error, 'E_DEVICE_TIMEOUT'), String(error));
  assert.match((error as OptoloopError).message, /\/dev\/mock1: no reply to HELLO \(seq \d+\) within 250 ms/);
  assert.is(sink.state, 'closed');
});

test.run();
