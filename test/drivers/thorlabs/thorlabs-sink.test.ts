/**
 * The Thorlabs DC4100-family sink against the emulated DC4104 over a real pty pair (socat). The
 * sink's timers (pulse edges, reply timeouts, status polls, reconnection) are virtual: an edge is
 * written only when the test moves the sink's clock to it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ConnectionEvent } from '../../../drivers/binding/device-connection.js';
import { ManualTimers } from '../../../drivers/binding/timers.js';
import { thorlabsSinkSchema, type ThorlabsSinkConfig } from '../../../drivers/thorlabs/config.js';
import { ThorlabsSink } from '../../../drivers/thorlabs/thorlabs-sink.js';
import { validate } from '../../../src/config/schema.js';
import type { StimulusAck, StimulusCause } from '../../../src/core/stimulus-sink.js';
import { PtyPair } from '../../../sim/devices/pty-pair.js';
import { ThorlabsEmulator, type ThorlabsEvent } from '../../../sim/devices/thorlabs/emulator.js';
import { settle, until, waitFor } from '../../helpers/async.js';

const cause: StimulusCause = { reason: 'manual', streamId: null, sampleIndex: null, sourceReceiveTimeNs: null };

interface Rig {
  pair: PtyPair;
  emulator: ThorlabsEmulator;
  sink: ThorlabsSink;
  timers: ManualTimers;
  events: ThorlabsEvent[];
  link: ConnectionEvent[];
  acks: StimulusAck[];
  commands(): string[];
  outputs(): Array<Extract<ThorlabsEvent, { type: 'output' }>>;
  close(): Promise<void>;
}

async function rig(overrides: Partial<ThorlabsSinkConfig> = {}): Promise<Rig> {
  const pair = await PtyPair.create();
  const emulator = new ThorlabsEmulator({ path: pair.devicePath, seed: 5 });
  await emulator.start();
  const parsed = validate(thorlabsSinkSchema, { kind: 'thorlabs', port: pair.hostPath, ...overrides });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const timers = new ManualTimers();
  const sink = new ThorlabsSink({ name: 'led', config: parsed.value, timers, openAttempts: 1, log: { warn: () => {} } });
  const events: ThorlabsEvent[] = [];
  emulator.events$.subscribe((e) => events.push(e));
  const link: ConnectionEvent[] = [];
  sink.events$.subscribe((e) => link.push(e));
  const acks: StimulusAck[] = [];
  sink.acks$.subscribe((a) => acks.push(a));
  return {
    pair,
    emulator,
    sink,
    timers,
    events,
    link,
    acks,
    commands: () => events.filter((e) => e.type === 'command').map((e) => (e as { line: string }).line),
    outputs: () => events.filter((e) => e.type === 'output') as Array<Extract<ThorlabsEvent, { type: 'output' }>>,
    async close() {
      await sink.close();
      await emulator.close();
      await pair.close();
    },
  };
}

/** Every command's e? reply has arrived: moving virtual time now cannot time one out. */
const replied = (r: Rig) => until(() => r.sink.pendingCommands === 0, 'the replies in flight');

const ackOf = async (r: Rig, id: number) => {
  await until(() => r.acks.some((a) => a.requestId === id), `ack ${id}`);
  return r.acks.find((a) => a.requestId === id) as StimulusAck;
};

test('open: identifies the device, multi-selection, all off, mode, limits, status; every command followed by e?', async () => {
  const r = await rig({ limitMa: [500, 500, 300, 300], fullScaleMa: [200, 200, 200, 200] });
  try {
    const info = await r.sink.open();
    const commands = r.commands();
    const withoutErrorQueries = commands.filter((c) => c !== 'e?');
    assert.equal(withoutErrorQueries, ['n?', 's?', 'v?', 'sm?', 'sm 0', 'o -1 0', 'm 0', 'l 0 500', 'l 1 500', 'l 2 300', 'l 3 300', 'r?']);
    assert.is(commands.length, 2 * withoutErrorQueries.length, 'an e? after each');
    assert.is(r.emulator.selectionMode, 0);
    assert.equal(r.emulator.leds.map((l) => l.limitMa), [500, 500, 300, 300]);
    assert.is(info.firmwareVersion, '1.0.7');
    assert.match(info.description, 'Thorlabs DC4104');
    assert.match(info.description, 'host-timed');
    assert.is(r.sink.statusWord, 0);
  } finally {
    await r.close();
  }
});

test('program sets the current (constant-current) or the brightness (brightness mode) for the level', async () => {
  const cc = await rig({ fullScaleMa: [200, 200, 200, 200] });
  try {
    await cc.sink.open();
    const ack = await cc.sink.program(1, { pulseWidthMs: 10, pulseIntervalMs: 50, pulseCount: 3, delayMs: 0, level: 0.5 });
    assert.ok(ack.ok, JSON.stringify(ack.error));
    assert.ok(cc.commands().includes('cc 1 100'));
    assert.is(cc.emulator.leds[1].constantCurrentMa, 100);
  } finally {
    await cc.close();
  }
  const bp = await rig({ mode: 'brightness' });
  try {
    await bp.sink.open();
    assert.is(bp.emulator.mode, 1);
    assert.ok((await bp.sink.program(2, { pulseWidthMs: 10, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 0.25 })).ok);
    assert.is(bp.emulator.leds[2].brightnessPercent, 25);
  } finally {
    await bp.close();
  }
});

test('trigger: host-timed on/off edges, the first written inside trigger(), the rest as the clock reaches them', async () => {
  const r = await rig({ fullScaleMa: [200, 200, 200, 200] });
  try {
    await r.sink.open();
    await r.sink.program(1, { pulseWidthMs: 10, pulseIntervalMs: 50, pulseCount: 3, delayMs: 0, level: 0.5 });
    await r.sink.program(3, { pulseWidthMs: 20, pulseIntervalMs: 0, pulseCount: 1, delayMs: 5, level: 1 });
    const id = r.sink.trigger(0b1010, cause);
    await until(() => r.outputs().length === 1, 'the first edge');
    assert.equal(r.outputs().map((o) => [o.channel, o.on, o.currentMa]), [[1, true, 100]]);
    const ack = await ackOf(r, id);
    assert.ok(ack.ok);
    assert.is(ack.kind, 'trigger');
    assert.ok(ack.hostAckTimeNs >= ack.hostWriteTimeNs);
    await settle(20);
    assert.is(r.outputs().length, 1, 'nothing more until the clock moves');
    const expected: Array<[number, number, boolean]> = [
      [5, 3, true],
      [10, 1, false],
      [25, 3, false],
      [50, 1, true],
      [60, 1, false],
      [100, 1, true],
      [110, 1, false],
    ];
    let now = 0;
    for (const [atMs, channel, on] of expected) {
      await replied(r); // virtual time must not outrun a reply still on its way
      r.timers.advanceMs(atMs - now);
      now = atMs;
      const n = r.outputs().length + 1;
      await until(() => r.outputs().length >= n, `the edge at ${atMs} ms`);
      const last = r.outputs().at(-1) as Extract<ThorlabsEvent, { type: 'output' }>;
      assert.equal([last.channel, last.on], [channel, on], `edge at ${atMs} ms`);
    }
    assert.is(r.outputs().length, 8);
    assert.ok(r.emulator.leds.every((l) => !l.on), 'all off at the end');
  } finally {
    await r.close();
  }
});

test('abort cancels pending edges and switches everything off', async () => {
  const r = await rig();
  try {
    await r.sink.open();
    await r.sink.program(0, { pulseWidthMs: 10, pulseIntervalMs: 30, pulseCount: 5, delayMs: 0, level: 1 });
    r.sink.trigger(0b0001, cause);
    await until(() => r.outputs().length === 1, 'the first edge');
    const ack = await r.sink.abort();
    assert.ok(ack.ok);
    assert.is(ack.kind, 'abort');
    assert.ok(r.commands().includes('o -1 0'));
    assert.is(r.emulator.leds[0].on, false);
    r.timers.advanceMs(1000);
    await settle(20);
    assert.is(r.outputs().filter((o) => o.on).length, 1, 'no pulse after the abort');
  } finally {
    await r.close();
  }
});

test('a command the device refuses is E_DEVICE_REFUSED with its e? description; pulses too short for host timing are refused', async () => {
  const r = await rig({ fullScaleMa: [5000, 100, 100, 100] });
  try {
    await r.sink.open();
    const ack = await r.sink.program(0, { pulseWidthMs: 10, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 1 });
    assert.not.ok(ack.ok);
    assert.is(ack.error?.code, 'E_DEVICE_REFUSED');
    assert.match(ack.error?.message ?? '', 'refused "cc 0 5000": error 2 (Parameter out of range)');
    try {
      await r.sink.program(1, { pulseWidthMs: 1, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 1 });
      assert.unreachable('a 1 ms pulse should be refused');
    } catch (error) {
      assert.is((error as { code?: string }).code, 'E_OPTIONS_INVALID');
      assert.match((error as Error).message, 'host-timed');
    }
  } finally {
    await r.close();
  }
});

test('status faults are clear errors: LED open, over-temperature, VCC fail refuse triggers; at-limit is reported only', async () => {
  const r = await rig({ statusPollMs: 1000, fullScaleMa: [200, 200, 200, 200] });
  try {
    await r.sink.open();
    for (const o of [0, 2]) await r.sink.program(o, { pulseWidthMs: 10, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 0.5 });
    r.emulator.leds[2].open = true;
    const faulted = waitFor(r.sink.events$, (e) => e.type === 'error' && e.error.code === 'E_DEVICE_FAULT', 'the LED-open fault');
    r.timers.advanceMs(1000);
    const event = (await faulted) as Extract<ConnectionEvent, { type: 'error' }>;
    assert.match(event.error.message, 'LED 3: open circuit');
    const refused = await ackOf(r, r.sink.trigger(0b0100, cause));
    assert.is(refused.error?.code, 'E_DEVICE_FAULT');
    assert.match(refused.error?.message ?? '', 'LED 3: open circuit');
    assert.ok((await ackOf(r, r.sink.trigger(0b0001, cause))).ok, 'the healthy output still works');
    r.timers.advanceMs(10); // its off edge
    await replied(r);
    r.emulator.leds[2].open = false;
    r.emulator.overTemperature = true;
    r.emulator.vccFail = true;
    const hot = waitFor(r.sink.events$, (e) => e.type === 'error' && e.error.message.includes('over-temperature'), 'over-temperature');
    r.timers.advanceMs(1000);
    await hot;
    assert.ok(r.link.some((e) => e.type === 'error' && e.error.message.includes('VCC fail')));
    const hotRefusal = await ackOf(r, r.sink.trigger(0b0001, cause));
    assert.is(hotRefusal.error?.code, 'E_DEVICE_FAULT');
    assert.match(hotRefusal.error?.message ?? '', 'over-temperature');
    assert.match(hotRefusal.error?.message ?? '', 'VCC fail');
    r.emulator.overTemperature = false;
    r.emulator.vccFail = false;
    r.emulator.leds[0].limitMa = 50; // below the 100 mA set: the output runs at its limit
    await replied(r);
    r.timers.advanceMs(1000);
    await until(() => r.sink.faults.length === 0, 'faults cleared');
    await replied(r);
    // A long pulse, so that the next status poll finds the LED on, running at its limit.
    await r.sink.program(0, { pulseWidthMs: 2000, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 0.5 });
    assert.ok((await ackOf(r, r.sink.trigger(0b0001, cause))).ok);
    await replied(r);
    const limited = waitFor(r.sink.events$, (e) => e.type === 'error' && e.error.message.includes('at its limit'), 'at-limit');
    r.timers.advanceMs(1000);
    await limited;
    assert.ok(r.sink.faults.some((f) => f.kind === 'at-limit' && f.output === 0));
  } finally {
    await r.close();
  }
});

test('replies one byte at a time and noise on the line: resynchronised and counted', async () => {
  const r = await rig();
  try {
    r.emulator.link.setFaults({ fragmentation: 'bytewise', garbageProbability: 0.5, garbageMaxBytes: 4 });
    await r.sink.open();
    assert.ok((await r.sink.program(0, { pulseWidthMs: 10, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 1 })).ok);
    await r.emulator.link.idle();
    assert.ok(r.emulator.link.garbageBursts > 3);
    assert.is(r.sink.status().resyncs, r.emulator.link.garbageBursts, 'one resync per burst of noise');
  } finally {
    await r.close();
  }
});

test('not a DC4100: a clear error at open', async () => {
  const r = await rig();
  r.emulator.model = 'ITC4001';
  try {
    await r.sink.open();
    assert.unreachable('open should fail');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'E_DEVICE_PROTOCOL');
    assert.match((error as Error).message, 'not a DC4100, DC4104 or LEDD4');
  } finally {
    await r.close();
  }
});

test('a device that vanishes: error event, triggers refused, reconnection with outputs off and setpoints restored', async () => {
  const r = await rig({ fullScaleMa: [200, 200, 200, 200], reconnect: { initialDelayMs: 100, factor: 2, maxDelayMs: 1000, maxAttempts: null, healthyAfterMs: 10_000 } });
  try {
    await r.sink.open();
    await r.sink.program(2, { pulseWidthMs: 10, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 0.75 });
    const reconnecting = waitFor(r.sink.events$, (e) => e.type === 'state' && e.state === 'reconnecting', 'reconnecting');
    await r.pair.stop();
    await reconnecting;
    assert.ok(r.link.some((e) => e.type === 'error' && e.error.code === 'E_DEVICE_DISCONNECTED'));
    assert.is((await ackOf(r, r.sink.trigger(0b0100, cause))).error?.code, 'E_DEVICE_DISCONNECTED');
    await r.pair.start();
    r.emulator.leds[2].constantCurrentMa = 0; // as if power-cycled
    await r.emulator.start();
    const connected = waitFor(r.sink.events$, (e) => e.type === 'state' && e.state === 'connected', 'reconnected');
    r.timers.runNext();
    await connected;
    assert.is(r.emulator.leds[2].constantCurrentMa, 150, 'setpoint replayed');
    assert.ok((await ackOf(r, r.sink.trigger(0b0100, cause))).ok);
  } finally {
    await r.close();
  }
});

test('a silent device: the missing reply is E_DEVICE_TIMEOUT and the link is reopened', async () => {
  const r = await rig({ replyTimeoutMs: 200 });
  try {
    await r.sink.open();
    r.emulator.link.mute(true);
    const seen = waitFor(r.emulator.events$, (e) => e.type === 'command' && e.line.startsWith('cc'), 'the command at the mute emulator');
    const pending = r.sink.program(0, { pulseWidthMs: 10, pulseIntervalMs: 0, pulseCount: 1, delayMs: 0, level: 1 });
    await seen;
    r.timers.advanceMs(200);
    const ack = await pending;
    assert.is(ack.error?.code, 'E_DEVICE_TIMEOUT');
    assert.match(ack.error?.message ?? '', 'no reply to "cc 0 100"');
    assert.is(r.sink.status().state, 'reconnecting');
    r.emulator.link.mute(false);
    const connected = waitFor(r.sink.events$, (e) => e.type === 'state' && e.state === 'connected', 'reconnected');
    r.timers.runNext();
    await connected;
  } finally {
    await r.close();
  }
});

test.run();
