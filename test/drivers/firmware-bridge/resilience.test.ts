// Transport defects between the driver and the firmware emulator over a real pty: bytes one at a
// time, line noise, the device vanishing mid-session and coming back, a device that falls silent.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isOptoloopError, type OptoloopError } from '../../../src/core/errors.js';
import type { StimulusAck } from '../../../src/core/stimulus-sink.js';
import type { BridgeConnectionEvent } from '../../../drivers/firmware-bridge/sink.js';
import { MANUAL, next, startRig } from './harness.js';

const train = { pulseWidthMs: 1, pulseIntervalMs: 4, pulseCount: 2, delayMs: 0, level: 0.25 };

async function fire(rig: Awaited<ReturnType<typeof startRig>>, mask = 1): Promise<StimulusAck> {
  const ack = next(rig.sink.acks$, (a) => a.kind === 'trigger');
  rig.sink.trigger(mask, MANUAL);
  return ack;
}

test('bytes one at a time with line noise between frames: every reply arrives, the noise is counted', async () => {
  const rig = await startRig('noise', { byteDelayUs: 150, garbageEvery: 3, seed: 7 });
  try {
    await rig.sink.open();
    await rig.sink.program(0, train);
    let acksOk = 0;
    for (let i = 0; i < 12; i++) {
      const done = next(rig.sink.trainDone$, (e) => e.channel === 0);
      if ((await fire(rig)).ok) acksOk++;
      await done;
      assert.ok((await rig.sink.getClock()).deviceTimeUs > 0);
    }
    assert.is(acksOk, 12);
    const client = rig.sink.client!;
    const status = rig.sink.status();
    // Frames sent by the emulator: HELLO, PROGRAM, 12 × (TRIGGER, TRAIN_DONE, GET_CLOCK); a burst
    // of noise closed by a delimiter before every third one.
    const framesSent = 2 + 12 * 3;
    assert.is(status.blocks, framesSent);
    // A burst may itself hold a 0x00 and so cost two resyncs; it never costs a frame.
    const bursts = Math.floor(framesSent / 3);
    assert.ok(status.resyncs >= bursts && status.resyncs <= 2 * bursts, `${status.resyncs} resyncs for ${bursts} bursts`);
    assert.ok(client.parser.counters.discardedBytes >= bursts);
    assert.is(client.counters.unmatchedReplies, 0);
    assert.is(client.counters.eventsLost, 0);
    assert.ok(client.counters.reads > framesSent, `frames arrived in pieces (${client.counters.reads} reads for ${framesSent} frames)`);
  } finally {
    await rig.dispose();
  }
});

test('the emulator killed mid-session: error event, pending request failed, reconnect when it returns, nothing lost', async () => {
  const rig = await startRig('reconnect', {}, { requestTimeoutMs: 5000, reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 100 });
  try {
    const acks: StimulusAck[] = [];
    const errors: OptoloopError[] = [];
    const events: BridgeConnectionEvent[] = [];
    rig.sink.acks$.subscribe((a) => acks.push(a));
    rig.sink.errors$.subscribe((e) => errors.push(e));
    rig.sink.connection$.subscribe((e) => events.push(e));
    await rig.sink.open();
    const firstNonce = rig.sink.hello!.bootNonce;
    await rig.sink.program(0, train);
    await rig.sink.program(1, { ...train, pulseCount: 1 });
    const first = await fire(rig, 0b11);
    assert.ok(first.ok);
    const bytesBefore = rig.sink.status().bytes;

    // Freeze the device so a request is certainly outstanding, then pull the plug.
    rig.emulator.signal('SIGSTOP');
    const pending = rig.sink.getStatus().then(
      () => null,
      (e: unknown) => e,
    );
    const lost = next(rig.sink.connection$, (e) => e.kind === 'lost');
    await rig.emulator.kill();
    await lost;
    const pendingError = await pending;
    assert.ok(isOptoloopError(pendingError, 'E_DEVICE_DISCONNECTED'), `pending request: ${String(pendingError)}`);
    assert.ok(errors.some((e) => e.code === 'E_DEVICE_DISCONNECTED'));
    assert.is(rig.sink.status().state, 'reconnecting');
    assert.is(rig.sink.state, 'opened');

    // While it is gone, a trigger is refused at once, not queued.
    const whileGone = await fire(rig);
    assert.not.ok(whileGone.ok);
    assert.is(whileGone.error!.code, 'E_DEVICE_DISCONNECTED');

    const back = next(rig.sink.connection$, (e) => e.kind === 'reconnected');
    await rig.restart();
    const reconnected = (await back) as Extract<BridgeConnectionEvent, { kind: 'reconnected' }>;
    assert.ok(reconnected.deviceReset, 'a new boot nonce tells the device reset');
    assert.is.not(rig.sink.hello!.bootNonce, firstNonce);
    assert.is(reconnected.reprogrammed, 2, 'both outputs re-programmed');
    assert.is(rig.sink.reconnects, 1);

    const afterwards = await fire(rig, 0b11);
    assert.ok(afterwards.ok, afterwards.error?.message);
    const status = await rig.sink.getStatus();
    assert.is(status.programmedMask, 0b11);
    // Nothing already received was lost: the first ack is still there, counters only grew.
    assert.equal(
      acks.filter((a) => a.kind === 'trigger').map((a) => a.ok),
      [true, false, true],
    );
    assert.ok(acks.includes(first));
    assert.ok(rig.sink.status().bytes > bytesBefore);
    // Attempts while the emulator was still starting may fail (reconnect-failed); then it is back.
    assert.equal(
      events.map((e) => e.kind).filter((k) => k !== 'reconnect-failed'),
      ['connected', 'lost', 'reconnected'],
    );
  } finally {
    await rig.dispose();
  }
});

test('a device that falls silent: requests and triggers fail with E_DEVICE_TIMEOUT; late replies are counted, not misread', async () => {
  const rig = await startRig('silent', {}, { requestTimeoutMs: 300 });
  try {
    await rig.sink.open();
    await rig.sink.program(0, train);
    rig.emulator.signal('SIGSTOP');
    let error: unknown = null;
    try {
      await rig.sink.getStatus();
    } catch (e) {
      error = e;
    }
    assert.ok(isOptoloopError(error, 'E_DEVICE_TIMEOUT'), String(error));
    assert.match((error as OptoloopError).message, /no reply to STATUS \(seq \d+\) within 300 ms/);
    const ack = await fire(rig);
    assert.not.ok(ack.ok);
    assert.is(ack.error!.code, 'E_DEVICE_TIMEOUT');
    const lateTrain = next(rig.sink.trainDone$, (e) => e.channel === 0);
    rig.emulator.signal('SIGCONT');
    // The device wakes and answers the two stale requests; the next request still gets its own reply.
    const clock = await rig.sink.getClock();
    assert.ok(clock.deviceTimeUs > 0);
    assert.is(rig.sink.client!.counters.timeouts, 2);
    assert.ok(rig.sink.status().drops >= 2);
    // The stale TRIGGER was executed late by the device: its reply matched nothing.
    await lateTrain;
    assert.is(rig.sink.client!.counters.unmatchedReplies, 2);
  } finally {
    await rig.dispose();
  }
});

test('opening a port where nothing answers fails with E_DEVICE_TIMEOUT, and the port is released', async () => {
  const rig = await startRig('mute', {}, { requestTimeoutMs: 300, openAttempts: 1 });
  try {
    rig.emulator.signal('SIGSTOP');
    let error: unknown = null;
    try {
      await rig.sink.open();
    } catch (e) {
      error = e;
    }
    assert.ok(isOptoloopError(error, 'E_DEVICE_TIMEOUT'), String(error));
    assert.match((error as OptoloopError).message, /no reply to HELLO/);
    assert.is(rig.sink.state, 'closed');
    rig.emulator.signal('SIGCONT');
    // The port was closed: a second open (the exclusive lock released) succeeds.
    const info = await rig.sink.open();
    assert.is(info.outputCount, 4);
  } finally {
    await rig.dispose();
  }
});

test('the host drops the link (DTR) mid-train: the firmware stops the light and wants a new HELLO', async () => {
  const rig = await startRig('dtr');
  try {
    await rig.sink.open();
    await rig.sink.program(1, { pulseWidthMs: 2, pulseIntervalMs: 20, pulseCount: 500, delayMs: 0, level: 1 });
    const aborted = next(rig.sink.trainDone$, (e) => e.channel === 1);
    const ack = await fire(rig, 0b10);
    assert.ok(ack.ok);
    rig.emulator.signal('SIGUSR1');
    const done = await aborted;
    assert.is(done.reason, 1, 'aborted, not completed');
    assert.ok(done.pulses < 500);
    const edges = rig.edges().filter((e) => e.channel === 1);
    assert.is(edges[edges.length - 1].on, false, 'the gate is low');
    assert.ok(edges.filter((e) => e.on).every((e) => e.scheduledUs <= done.deviceTimeUs));
    let error: unknown = null;
    try {
      await rig.sink.getStatus();
    } catch (e) {
      error = e;
    }
    assert.ok(isOptoloopError(error, 'E_DEVICE_REFUSED'));
    assert.is((error as OptoloopError).details.firmwareError, 'NOT_READY');
  } finally {
    await rig.dispose();
  }
});

test('sequence numbers wrap from 65535 to 0 without a false duplicate or a lost reply', async () => {
  const rig = await startRig('wrap', {}, {}, { firstSeq: 65_528 });
  try {
    await rig.sink.open();
    await rig.sink.program(0, train);
    for (let i = 0; i < 12; i++) {
      const done = next(rig.sink.trainDone$, (e) => e.channel === 0);
      assert.ok((await fire(rig)).ok);
      await done;
    }
    assert.ok(rig.sink.client!.nextSeq < 100, 'the host wrapped');
    const status = await rig.sink.getStatus();
    assert.is(status.duplicates, 0);
    assert.is(status.pulsesEmitted, 24);
    assert.is(rig.sink.client!.counters.unmatchedReplies, 0);
  } finally {
    await rig.dispose();
  }
});

test.run();
