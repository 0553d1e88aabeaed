// The TypeScript driver against the firmware's own core (the emulator) over a real pty: every
// message and every error reply of PROTOCOL.md, driven from the host.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isOptoloopError, type OptoloopError } from '../../../src/core/errors.js';
import { packageRoot } from '../../../src/core/package-root.js';
import type { StimulusAck } from '../../../src/core/stimulus-sink.js';
import type { BridgeClient, RequestOutcome } from '../../../drivers/firmware-bridge/client.js';
import { ErrorCode, Op, REPLY_BIT } from '../../../drivers/firmware-bridge/protocol.js';
import { MANUAL, next, startRig, type Rig } from './harness.js';

let rig: Rig;
let plain: Rig; // a board without streaming hardware
const warnings: string[] = [];
const framesByOp = new Map<number, number>();
const errorsByCode = new Map<number, number>();

function tally(client: BridgeClient | null): void {
  if (!client) return;
  client.framesByOp.forEach((n, op) => n && framesByOp.set(op, (framesByOp.get(op) ?? 0) + n));
  client.errorsByCode.forEach((n, code) => n && errorsByCode.set(code, (errorsByCode.get(code) ?? 0) + n));
}

async function refusal(promise: Promise<unknown>): Promise<OptoloopError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_DEVICE_REFUSED'), `expected E_DEVICE_REFUSED, got ${String(error)}`);
    return error as OptoloopError;
  }
  throw new Error('expected the firmware to refuse');
}

function rawExchange(client: BridgeClient, bytes: Uint8Array, seq: number, op: number): Promise<RequestOutcome> {
  return new Promise((resolve) => client.sendRaw(bytes, seq, op, resolve));
}

const train = { pulseWidthMs: 2, pulseIntervalMs: 10, pulseCount: 3, delayMs: 1, level: 0.5 };

test.before(async () => {
  rig = await startRig('protocol', { streamOutPath: '/dev/null' });
  plain = await startRig('plain');
  rig.sink.warnings$.subscribe((w) => warnings.push(w));
  await rig.sink.open();
  await plain.sink.open();
});

test.after(async () => {
  tally(rig.sink.client);
  tally(plain.sink.client);
  await rig.dispose();
  await plain.dispose();
});

test('HELLO: the handshake reports the firmware, its outputs, ceilings and capabilities', () => {
  const hello = rig.sink.hello!;
  assert.is(hello.protocolMajor, 1);
  assert.is(hello.protocolMinor, 0);
  assert.is(rig.sink.info?.firmwareVersion, '1.0.0');
  assert.is(rig.sink.info?.outputCount, 4);
  assert.is(hello.boardName, 'optoloop-emulator');
  assert.is(hello.hardMaxWidthUs, 1_000_000);
  assert.is(hello.hardMaxPulsesPerWindow, 1023);
  assert.is(hello.streamChannelCount, 8);
  assert.is(hello.capabilities & 0x2, 0x2, 'streaming capability with a stream endpoint');
  assert.is(plain.sink.hello!.capabilities & 0x2, 0, 'no streaming capability without one');
  // A pty has no latency timer: the sink says so and carries on.
  assert.is(warnings.length, 1);
  assert.match(warnings[0], /low-latency mode/);
});

test('GET_CLOCK: device time moves forward and no faster than the host saw time pass', async () => {
  const a = await rig.sink.getClock();
  const b = await rig.sink.getClock();
  assert.ok(b.deviceTimeUs >= a.deviceTimeUs);
  // Both clocks are CLOCK_MONOTONIC: the device interval must fit inside the host's bracket.
  assert.ok(b.deviceTimeUs - a.deviceTimeUs <= (b.hostReceiveTimeNs - a.hostSendTimeNs) / 1000 + 1);
});

test('PROGRAM, TRIGGER, TRAIN_DONE: the ack carries the start time, every edge follows from it', async () => {
  const before = await rig.sink.getClock();
  const programAck = await rig.sink.program(0, train);
  assert.ok(programAck.ok);
  assert.ok(programAck.deviceTimeUs! >= before.deviceTimeUs);
  const done = next(rig.sink.trainDone$, (e) => e.channel === 0);
  const ackPromise = next(rig.sink.acks$, (a) => a.kind === 'trigger');
  const bytesBefore = rig.sink.client!.counters.bytesWritten;
  const id = rig.sink.trigger(0b1, MANUAL);
  // The link was idle: the TRIGGER frame went to the OS inside trigger(), not on a later turn.
  assert.ok(rig.sink.client!.counters.bytesWritten > bytesBefore, 'TRIGGER written synchronously');
  const ack = await ackPromise;
  assert.is(ack.requestId, id);
  assert.ok(ack.ok);
  assert.is(ack.cause, MANUAL);
  assert.ok(ack.hostAckTimeNs >= ack.hostWriteTimeNs);
  const event = await done;
  const after = await rig.sink.getClock();
  assert.ok(ack.deviceTimeUs! >= programAck.deviceTimeUs! && ack.deviceTimeUs! <= after.deviceTimeUs, 'trigger time inside the GET_CLOCK bracket');
  assert.ok(event.deviceTimeUs <= after.deviceTimeUs);
  assert.is(event.reason, 0);
  assert.is(event.pulses, 3);
  const t = ack.deviceTimeUs!;
  const edges = rig.edges().filter((e) => e.channel === 0 && e.scheduledUs >= t);
  const expected: Array<[boolean, number]> = [];
  for (let k = 0; k < 3; k++) expected.push([true, t + 1000 + k * 10_000], [false, t + 1000 + k * 10_000 + 2000]);
  assert.equal(edges.map((e) => [e.on, e.scheduledUs]), expected);
  assert.is(event.deviceTimeUs, t + 1000 + 2 * 10_000 + 2000);
  // The host reached every edge at or after its scheduled time (the log's second column).
  assert.ok(edges.every((e) => e.actualUs >= e.scheduledUs));
});

test('TRIGGER of two outputs starts both trains at the same device time', async () => {
  await rig.sink.program(1, { pulseWidthMs: 1, pulseIntervalMs: 5, pulseCount: 2, delayMs: 0, level: 1 });
  const done1 = next(rig.sink.trainDone$, (e) => e.channel === 1);
  const done0 = next(rig.sink.trainDone$, (e) => e.channel === 0);
  const ackPromise = next(rig.sink.acks$, (a) => a.kind === 'trigger');
  rig.sink.trigger(0b11, MANUAL);
  const ack = await ackPromise;
  await Promise.all([done0, done1]);
  const t = ack.deviceTimeUs!;
  const first = (c: number): number => rig.edges().find((e) => e.channel === c && e.on && e.scheduledUs >= t)!.scheduledUs;
  assert.is(first(0), t + 1000);
  assert.is(first(1), t);
});

test('ABORT stops a running train at once: gates low, TRAIN_DONE aborted, no onset after it', async () => {
  await rig.sink.program(2, { pulseWidthMs: 5, pulseIntervalMs: 50, pulseCount: 100, delayMs: 0, level: 0.2 });
  const started = next(rig.sink.acks$, (a) => a.kind === 'trigger');
  rig.sink.trigger(0b100, MANUAL);
  const ack = await started;
  assert.ok(ack.ok);
  // BUSY while it runs: PROGRAM and TRIGGER of that output are refused.
  const busy = await refusal(rig.sink.program(2, train));
  assert.is(busy.details.firmwareError, 'BUSY');
  const again = next(rig.sink.acks$, (a) => a.kind === 'trigger');
  rig.sink.trigger(0b100, MANUAL);
  const busyAck = await again;
  assert.not.ok(busyAck.ok);
  assert.match(busyAck.error!.message, /BUSY/);
  const doneEvent = next(rig.sink.trainDone$, (e) => e.channel === 2);
  const abortAck = await rig.sink.abort();
  assert.is(abortAck.outputMask, 0b100);
  const done = await doneEvent;
  assert.is(done.reason, 1);
  assert.is(done.deviceTimeUs, abortAck.deviceTimeUs);
  assert.ok(done.pulses < 100);
  const after = rig.edges().filter((e) => e.channel === 2 && e.scheduledUs >= ack.deviceTimeUs!);
  assert.ok(after.filter((e) => e.on).every((e) => e.scheduledUs <= abortAck.deviceTimeUs!));
  assert.is(after[after.length - 1].on, false);
});

test('STATUS counts frames, pulses and running outputs', async () => {
  const status = await rig.sink.getStatus();
  assert.is(status.runningMask, 0);
  assert.is(status.programmedMask, 0b111);
  const onsets = rig.edges().filter((e) => e.on).length;
  assert.is(status.pulsesEmitted, onsets);
  assert.ok(status.framesOk > 5);
});

test('SET_LIMITS and GET_LIMITS: per output and for all outputs', async () => {
  const limits = { maxWidthUs: 20_000, dutyWindowUs: 500_000, maxDutyPpm: 300_000, rateWindowUs: 10_000_000, maxPulsesPerWindow: 100 };
  assert.equal(await rig.sink.setLimits(3, limits), limits);
  assert.equal(await rig.sink.getLimits(3), limits);
  const defaults = await rig.sink.getLimits(2);
  assert.is(defaults.maxWidthUs, 50_000);
  const all = { ...limits, maxWidthUs: 40_000 };
  await rig.sink.setLimits('all', all);
  for (let c = 0; c < 4; c++) assert.equal(await rig.sink.getLimits(c), all);
  const bad = await refusal(rig.sink.setLimits(0, { ...limits, maxWidthUs: 2_000_000 }));
  assert.is(bad.details.firmwareError, 'OUT_OF_RANGE');
  assert.is(bad.details.param, 1);
  assert.is(bad.details.limit, 1_000_000);
  const order = await refusal(rig.sink.setLimits(0, { ...limits, rateWindowUs: 100_000 }));
  assert.is(order.details.param, 4, 'rate window shorter than the duty window');
  const busyChannel = await refusal(rig.sink.getLimits(9));
  assert.is(busyChannel.details.firmwareError, 'OUT_OF_RANGE');
  await rig.sink.setLimits('all', { maxWidthUs: 50_000, dutyWindowUs: 1_000_000, maxDutyPpm: 250_000, rateWindowUs: 60_000_000, maxPulsesPerWindow: 600 });
});

test('STREAM_START and STREAM_STOP: packets counted; BUSY twice; UNSUPPORTED without a stream endpoint', async () => {
  const start = await rig.sink.startStreaming(20_000, 50, 4);
  assert.equal([start.sampleRateHz, start.framesPerPacket, start.channelCount], [20_000, 50, 4]);
  const busy = await refusal(rig.sink.startStreaming(20_000, 50, 4));
  assert.is(busy.details.firmwareError, 'BUSY');
  let status = await rig.sink.getStatus();
  while (status.streamPacketsSent < 3) status = await rig.sink.getStatus();
  assert.ok(status.streaming);
  const stop = await rig.sink.stopStreaming();
  assert.ok(stop.packetsSent >= 3);
  assert.is(stop.framesSent, stop.packetsSent * 50);
  assert.ok(stop.deviceTimeUs > start.deviceTimeUs);
  const tooMany = await refusal(rig.sink.startStreaming(20_000, 50, 9));
  assert.is(tooMany.details.param, 2);
  const tooFast = await refusal(rig.sink.startStreaming(1_000_000, 50, 4));
  assert.is(tooFast.details.param, 0);
  const tooBig = await refusal(rig.sink.startStreaming(1000, 2000, 8));
  assert.is(tooBig.details.param, 1);
  const unsupported = await refusal(plain.sink.startStreaming(1000, 10, 1));
  assert.is(unsupported.details.firmwareError, 'UNSUPPORTED');
});

test('OUT_OF_RANGE and NOT_PROGRAMMED name the field, the value and the bound', async () => {
  const cases: Array<[Promise<unknown>, number, RegExp]> = [
    [rig.sink.program(7, train), 0, /channel = 7/],
    [rig.sink.program(0, { ...train, delayMs: 61_000 }), 2, /delay_us = 61000000/],
    [rig.sink.program(0, { ...train, pulseWidthMs: 0 }), 3, /width_us = 0/],
    [rig.sink.program(0, { ...train, pulseIntervalMs: 2 }), 4, /interval_us = 2000 .*bound 2001/],
    [rig.sink.program(0, { ...train, pulseCount: 0 }), 5, /count = 0/],
  ];
  for (const [promise, param, message] of cases) {
    const error = await refusal(promise);
    assert.is(error.details.firmwareError, 'OUT_OF_RANGE');
    assert.is(error.details.param, param);
    assert.match(error.message, message);
  }
  const acks: StimulusAck[] = [];
  const sub = rig.sink.acks$.subscribe((a) => acks.push(a));
  const badMask = next(rig.sink.acks$, (a) => a.outputMask === 0x10);
  rig.sink.trigger(0x10, MANUAL);
  assert.match((await badMask).error!.message, /OUT_OF_RANGE/);
  const unprogrammed = next(rig.sink.acks$, (a) => a.outputMask === 0b1000);
  rig.sink.trigger(0b1000, MANUAL);
  const ack = await unprogrammed;
  sub.unsubscribe();
  assert.is(ack.error!.code, 'E_DEVICE_REFUSED');
  assert.match(ack.error!.message, /NOT_PROGRAMMED/);
});

test('LIMIT_EXCEEDED: a pulse wider than the limit is refused at PROGRAM', async () => {
  const error = await refusal(rig.sink.program(0, { ...train, pulseWidthMs: 60, pulseIntervalMs: 100 }));
  assert.is(error.details.firmwareError, 'LIMIT_EXCEEDED');
  assert.is(error.details.limitName, 'pulse width');
  assert.is(error.details.value, 60_000);
  assert.is(error.details.limit, 50_000);
});

test('UNKNOWN_OP, BAD_LENGTH: requests the firmware cannot execute', async () => {
  const client = rig.sink.client!;
  const unknown = await refusal(client.request(0x33, null, () => null));
  assert.is(unknown.details.firmwareError, 'UNKNOWN_OP');
  const replyOp = await refusal(client.request(Op.STATUS | REPLY_BIT, null, () => null));
  assert.is(replyOp.details.firmwareError, 'UNKNOWN_OP');
  const length = await refusal(
    client.request(Op.STATUS, (w) => {
      w.raw[3] = 7;
      return 1;
    }, () => null),
  );
  assert.is(length.details.firmwareError, 'BAD_LENGTH');
  assert.is(length.details.value, 1);
  assert.is(length.details.limit, 0);
});

test('BAD_CRC: a damaged frame is answered with its unverified seq and never executed', async () => {
  const client = rig.sink.client!;
  const before = await rig.sink.getStatus();
  const seq = client.nextSeq;
  const frame = client.buildFrame(Op.TRIGGER, seq, (w) => w.trigger(1), true);
  const outcome = await rawExchange(client, frame, seq, Op.TRIGGER);
  assert.is(outcome.kind, 'refused');
  if (outcome.kind !== 'refused') return;
  assert.is(outcome.reply.code, ErrorCode.BAD_CRC);
  assert.ok(outcome.error.details.seqUnverified);
  const after = await rig.sink.getStatus();
  assert.is(after.crcErrors, before.crcErrors + 1);
  assert.is(after.pulsesEmitted, before.pulsesEmitted);
});

test('BAD_FRAME: undecodable and overlong frames are reported as unattributed device errors', async () => {
  const client = rig.sink.client!;
  const errors: OptoloopError[] = [];
  const sub = rig.sink.errors$.subscribe((e) => errors.push(e));
  const first = next(rig.sink.errors$, (e) => e.details.firmwareError === 'BAD_FRAME');
  client.sendRaw(Uint8Array.from([0x02, 0x05, 0x00]), null, 0, null);
  await first;
  const second = next(rig.sink.errors$, (e) => e.details.firmwareError === 'BAD_FRAME');
  const long = new Uint8Array(301).fill(0x55);
  long[300] = 0;
  client.sendRaw(long, null, 0, null);
  await second;
  sub.unsubscribe();
  assert.is(errors.filter((e) => e.details.firmwareError === 'BAD_FRAME').length, 2);
  assert.ok(client.counters.unattributedErrors >= 2);
  const status = await rig.sink.getStatus();
  assert.ok(status.frameErrors >= 2);
});

test('a retransmitted TRIGGER gets the cached reply and does not fire twice', async () => {
  const client = rig.sink.client!;
  await rig.sink.program(0, { pulseWidthMs: 1, pulseIntervalMs: 3, pulseCount: 2, delayMs: 0, level: 1 });
  const before = await rig.sink.getStatus();
  const seq = client.nextSeq;
  const frame = client.buildFrame(Op.TRIGGER, seq, (w) => w.trigger(1));
  const done = next(rig.sink.trainDone$, (e) => e.channel === 0);
  const first = await rawExchange(client, frame, seq, Op.TRIGGER);
  const second = await rawExchange(client, frame, seq, Op.TRIGGER);
  assert.is(first.kind, 'reply');
  assert.is(second.kind, 'reply');
  await done;
  const after = await rig.sink.getStatus();
  assert.is(after.duplicates, before.duplicates + 1);
  assert.is(after.pulsesEmitted, before.pulsesEmitted + 2);
});

test('UNSUPPORTED_VERSION, then NOT_READY until a good HELLO', async () => {
  const client = plain.sink.client!;
  const version = await refusal(client.request(Op.HELLO, (w) => w.hello(2, 0), () => null));
  assert.is(version.details.firmwareError, 'UNSUPPORTED_VERSION');
  assert.is(version.details.value, 2);
  assert.is(version.details.limit, 1);
  const notReady = await refusal(plain.sink.getStatus());
  assert.is(notReady.details.firmwareError, 'NOT_READY');
  // GET_CLOCK stays available, and a good HELLO restores service.
  assert.ok((await plain.sink.getClock()).deviceTimeUs > 0);
  await client.request(Op.HELLO, (w) => w.hello(1, 0), () => null);
  assert.is((await plain.sink.getStatus()).runningMask, 0);
});

test('every message and every error of PROTOCOL.md was exchanged with the firmware', () => {
  tally(rig.sink.client);
  tally(plain.sink.client);
  const spec = readFileSync(join(packageRoot(), 'firmware-bridge', 'PROTOCOL.md'), 'utf8');
  const replyOps = [...spec.matchAll(/^\| `0x([0-9A-F]{2})` \| [A-Z_]+ \| [^|]+\| [^|]+\| (?:`0x([0-9A-F]{2})`|—) \|/gm)].map((m) =>
    parseInt(m[2] ?? m[1], 16),
  );
  assert.ok(replyOps.length >= 12, 'message table parsed');
  for (const op of replyOps) assert.ok((framesByOp.get(op) ?? 0) > 0, `no frame with op 0x${op.toString(16)} was received`);
  const errorCodes = [...spec.matchAll(/^\| `0x([0-9A-F]{2})` \| ([A-Z_]+) \| (?!host|device)/gm)].map((m) => parseInt(m[1], 16));
  assert.is(errorCodes.length, 11, 'error table parsed');
  for (const code of errorCodes) assert.ok((errorsByCode.get(code) ?? 0) > 0, `error 0x${code.toString(16)} was never produced`);
});

test.run();
