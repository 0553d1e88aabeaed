/**
 * The Pulse Pal 2 sink against the emulated Pulse Pal, over a real pseudo-terminal pair (socat).
 * Expected device values are computed here from protocols.md §2.3 (cycles = s × 20000; code =
 * ceil(((V + 10) / 20) × 65535)), not by the driver's own helpers.
 */
import { firstValueFrom, filter } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ConnectionEvent } from '../../../drivers/binding/device-connection.js';
import { ManualTimers } from '../../../drivers/binding/timers.js';
import { pulsePalSinkSchema, type PulsePalSinkConfig } from '../../../drivers/pulsepal/config.js';
import { PulsePalSink } from '../../../drivers/pulsepal/pulsepal-sink.js';
import { validate } from '../../../src/config/schema.js';
import type { StimulusAck, StimulusCause } from '../../../src/core/stimulus-sink.js';
import { PtyPair } from '../../../sim/devices/pty-pair.js';
import { PulsePalEmulator, type PulsePalEvent } from '../../../sim/devices/pulsepal/emulator.js';
import { settle, until, waitFor } from '../../helpers/async.js';

const cause: StimulusCause = { reason: 'manual', streamId: null, sampleIndex: null, sourceReceiveTimeNs: null };
const code = (volts: number) => Math.ceil(((volts + 10) / 20) * 65535);
const cycles = (ms: number) => Math.round(ms * 20);

interface Rig {
  pair: PtyPair;
  emulator: PulsePalEmulator;
  sink: PulsePalSink;
  timers: ManualTimers;
  events: PulsePalEvent[];
  link: ConnectionEvent[];
  acks: StimulusAck[];
  close(): Promise<void>;
}

async function rig(overrides: Partial<PulsePalSinkConfig> = {}, emulatorOptions: { firmwareVersion?: number } = {}): Promise<Rig> {
  const pair = await PtyPair.create();
  const emulator = new PulsePalEmulator({ path: pair.devicePath, ...emulatorOptions });
  await emulator.start();
  const parsed = validate(pulsePalSinkSchema, { kind: 'pulsepal', port: pair.hostPath, ...overrides });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const timers = new ManualTimers();
  const sink = new PulsePalSink({ name: 'pp', config: parsed.value, timers, openAttempts: 1, log: { warn: () => {} } });
  const events: PulsePalEvent[] = [];
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
    async close() {
      await sink.close();
      await emulator.close();
      await pair.close();
    },
  };
}

const train = { pulseWidthMs: 5, pulseIntervalMs: 50, pulseCount: 10, delayMs: 2, level: 0.5 };

test('open: handshake, client name, and every output programmed silent with the trigger inputs unlinked', async () => {
  const r = await rig();
  try {
    const info = await r.sink.open();
    assert.is(info.firmwareVersion, '21');
    assert.is(info.outputCount, 4);
    await until(() => r.events.some((e) => e.type === 'program-all'), 'the initial program');
    assert.equal(
      r.events.map((e) => e.type),
      ['handshake', 'client-name', 'program-all'],
    );
    assert.is(r.emulator.clientName, 'OPTOLP');
    const program = r.events[2] as Extract<PulsePalEvent, { type: 'program-all' }>;
    for (const ch of program.channels) {
      assert.is(ch.phase1Voltage, code(0), 'silent: phase 1 at 0 V');
      assert.is(ch.restingVoltage, code(0));
    }
    assert.equal(program.triggerLinks, [
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
    assert.equal(program.triggerModes, [0, 0]);
    assert.is(r.sink.status().state, 'connected');
  } finally {
    await r.close();
  }
});

test('program (op 73): the emulator decodes the train into the right cycles and DAC code, other outputs untouched', async () => {
  const r = await rig({ fullScaleVolts: [5, 5, 5, 5] });
  try {
    await r.sink.open();
    const ack = await r.sink.program(1, train);
    assert.ok(ack.ok, JSON.stringify(ack.error));
    assert.is(ack.kind, 'program');
    assert.is(ack.outputMask, 0b0010);
    const last = r.events.filter((e) => e.type === 'program-all').at(-1) as Extract<PulsePalEvent, { type: 'program-all' }>;
    const ch = last.channels[1];
    assert.is(ch.phase1Duration, cycles(5)); // 100 cycles
    assert.is(ch.interPulseInterval, cycles(50) - cycles(5)); // 900
    assert.is(ch.pulseTrainDuration, 9 * cycles(50) + cycles(5)); // 9100
    assert.is(ch.pulseTrainDelay, cycles(2));
    assert.is(ch.phase1Voltage, code(2.5)); // level 0.5 × 5 V
    assert.is(ch.restingVoltage, code(0));
    assert.is(ch.isBiphasic, 0);
    assert.is(ch.customTrainId, 0);
    assert.is(ch.burstDuration, 0);
    for (const other of [0, 2, 3]) assert.is(last.channels[other].phase1Voltage, code(0));
  } finally {
    await r.close();
  }
});

test('program (op 74): one confirmed op per changed parameter, with the right codes and values', async () => {
  const r = await rig({ programMode: 'per-parameter', fullScaleVolts: [5, 5, 5, 8] });
  try {
    await r.sink.open();
    const ack = await r.sink.program(3, { pulseWidthMs: 2, pulseIntervalMs: 10, pulseCount: 3, delayMs: 0, level: 1 });
    assert.ok(ack.ok);
    const params = r.events.filter((e) => e.type === 'program-param') as Array<Extract<PulsePalEvent, { type: 'program-param' }>>;
    const byCode = new Map(params.map((p) => [p.code, p]));
    assert.ok(params.every((p) => p.channel === 4), 'addressed to output 4 (1-based on the wire)');
    assert.is(byCode.get(2)?.value, code(8)); // phase1Voltage: level 1 × 8 V
    assert.is(byCode.get(4)?.value, cycles(2)); // phase1Duration
    assert.is(byCode.get(7)?.value, cycles(10) - cycles(2)); // interPulseInterval
    assert.is(byCode.get(10)?.value, 2 * cycles(10) + cycles(2)); // pulseTrainDuration
    assert.not.ok(byCode.has(17), 'the resting voltage did not change, so it is not sent');
    const ch = r.emulator.channels[3];
    assert.equal(
      [ch.phase1Voltage, ch.phase1Duration, ch.interPulseInterval, ch.pulseTrainDuration, ch.pulseTrainDelay],
      [code(8), 40, 160, 440, 0],
    );
  } finally {
    await r.close();
  }
});

test('trigger (op 77): returns its id at once; the emulator gets the mask and plays the programmed trains; ack on acks$', async () => {
  const r = await rig();
  try {
    await r.sink.open();
    await r.sink.program(0, train);
    await r.sink.program(2, { ...train, pulseCount: 1, delayMs: 0, level: 1 });
    const received = waitFor(r.emulator.events$, (e) => e.type === 'trigger', 'the trigger at the emulator');
    const id = r.sink.trigger(0b0101, cause);
    assert.type(id, 'number');
    const event = (await received) as Extract<PulsePalEvent, { type: 'trigger' }>;
    assert.is(event.mask, 0b0101);
    assert.equal(
      event.outputs.map((o) => o.output),
      [0, 2],
    );
    const [out0, out2] = event.outputs;
    assert.ok(out0.started);
    assert.equal(out0.pulseOnsetsUs, Array.from({ length: 10 }, (_, k) => 2000 + k * 50_000));
    assert.is(out0.pulseWidthUs, 5000);
    assert.ok(Math.abs(out0.volts - 2.5) <= 20 / 65535, `phase-1 voltage ${out0.volts} ≈ 2.5 V`);
    assert.equal(out2.pulseOnsetsUs, [0]);
    assert.ok(Math.abs(out2.volts - 5) <= 20 / 65535);
    await until(() => r.acks.some((a) => a.requestId === id), 'the trigger ack');
    const ack = r.acks.find((a) => a.requestId === id) as StimulusAck;
    assert.ok(ack.ok);
    assert.is(ack.kind, 'trigger');
    assert.is(ack.outputMask, 0b0101);
    assert.is(ack.cause, cause);
    assert.is(ack.hostAckTimeNs, ack.hostWriteTimeNs, 'no device reply: acked when the write returned');
  } finally {
    await r.close();
  }
});

test('trigger of an output with no train is refused on acks$ and never reaches the device', async () => {
  const r = await rig();
  try {
    await r.sink.open();
    await r.sink.program(0, train);
    const id = r.sink.trigger(0b0011, cause);
    await until(() => r.acks.some((a) => a.requestId === id), 'the refusal');
    const ack = r.acks.find((a) => a.requestId === id) as StimulusAck;
    assert.not.ok(ack.ok);
    assert.is(ack.error?.code, 'E_SINK_STATE');
    assert.match(ack.error?.message ?? '', 'output 1 has no pulse train programmed');
    await r.sink.abort(); // a later op that does reach the device: the trigger, had it been sent, would be before it
    await until(() => r.events.some((e) => e.type === 'abort'), 'the abort');
    assert.not.ok(r.events.some((e) => e.type === 'trigger'));
    assert.throws(() => r.sink.trigger(0b10000, cause), /outputMask/);
  } finally {
    await r.close();
  }
});

test('abort (op 80) reaches the device and is acknowledged for every output', async () => {
  const r = await rig();
  try {
    await r.sink.open();
    const ack = await r.sink.abort();
    assert.ok(ack.ok);
    assert.is(ack.kind, 'abort');
    assert.is(ack.outputMask, 0b1111);
    await until(() => r.events.some((e) => e.type === 'abort'), 'the abort at the emulator');
  } finally {
    await r.close();
  }
});

test('a Pulse Pal 1 (firmware < 20) is refused with a clear error', async () => {
  const r = await rig({}, { firmwareVersion: 5 });
  try {
    await r.sink.open();
    assert.unreachable('open should reject');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'E_DEVICE_PROTOCOL');
    assert.match((error as Error).message, 'Pulse Pal 1 (firmware 5)');
    assert.match((error as Error).message, 'firmware ≥ 20');
    assert.is(r.sink.state, 'failed');
  } finally {
    await r.close();
  }
});

test('replies arriving one byte at a time, and garbage between them, are resynchronised and counted', async () => {
  const r = await rig();
  try {
    r.emulator.link.setFaults({ fragmentation: 'bytewise' });
    await r.sink.open(); // the 5-byte handshake reply arrives byte by byte
    assert.is(r.sink.info?.firmwareVersion, '21');
    r.emulator.link.sendRaw(Uint8Array.of(0x55, 0xaa, 0x00, 0xff)); // noise on the line
    await r.emulator.link.idle();
    await until(() => r.sink.status().resyncs === 1, 'the garbage to be counted');
    const ack = await r.sink.program(0, train);
    assert.ok(ack.ok, 'the confirmation after the noise is still recognised');
    r.emulator.link.setFaults({ fragmentation: 'none', garbageProbability: 1, garbageMaxBytes: 6 }); // noise before every reply
    for (let output = 1; output < 4; output++) assert.ok((await r.sink.program(output, train)).ok);
    const status = r.sink.status();
    assert.is(status.resyncs, 4, 'one resync per run of garbage');
    assert.is(status.blocks, 1 + 1 + 4, 'handshake, initial program and four programs decoded');
  } finally {
    await r.close();
  }
});

test('a device that vanishes mid-session: error event, triggers refused meanwhile, reconnect restores the programmed trains', async () => {
  const r = await rig({ reconnect: { initialDelayMs: 50, factor: 2, maxDelayMs: 400, maxAttempts: null, healthyAfterMs: 10_000 } });
  try {
    await r.sink.open();
    await r.sink.program(1, train);
    const reconnecting = waitFor(r.sink.events$, (e) => e.type === 'state' && e.state === 'reconnecting', 'reconnecting');
    await r.pair.stop(); // unplug
    await reconnecting;
    const lost = r.link.find((e) => e.type === 'error');
    assert.is(lost?.type === 'error' && lost.error.code, 'E_DEVICE_DISCONNECTED');
    const id = r.sink.trigger(0b0010, cause);
    await until(() => r.acks.some((a) => a.requestId === id), 'the refused trigger');
    assert.is(r.acks.find((a) => a.requestId === id)?.error?.code, 'E_DEVICE_DISCONNECTED');
    r.timers.runNext(); // an attempt while unplugged fails
    await until(() => r.link.filter((e) => e.type === 'error').length >= 2, 'the failed attempt');
    await r.pair.start(); // replug
    await r.emulator.start();
    const connected = waitFor(r.sink.events$, (e) => e.type === 'state' && e.state === 'connected', 'reconnected');
    r.timers.runNext();
    await connected;
    assert.is(r.sink.status().reconnects, 1);
    const restored = r.events.filter((e) => e.type === 'program-all').at(-1) as Extract<PulsePalEvent, { type: 'program-all' }>;
    assert.is(restored.channels[1].phase1Duration, cycles(5), 'the train programmed before the outage was replayed');
    const fired = waitFor(r.emulator.events$, (e) => e.type === 'trigger', 'a trigger after reconnection');
    r.sink.trigger(0b0010, cause);
    assert.is(((await fired) as Extract<PulsePalEvent, { type: 'trigger' }>).mask, 0b0010);
  } finally {
    await r.close();
  }
});

test('a silent device: the missing confirmation is E_DEVICE_TIMEOUT and the link is reopened', async () => {
  const r = await rig({ ackTimeoutMs: 300, handshakeTimeoutMs: 300 });
  try {
    await r.sink.open();
    r.emulator.link.mute(true);
    const programmed = waitFor(r.emulator.events$, (e) => e.type === 'program-all', 'the program at the (mute) emulator');
    const pending = r.sink.program(0, train);
    await programmed;
    await settle();
    r.timers.advanceMs(300);
    const ack = await pending;
    assert.not.ok(ack.ok);
    assert.is(ack.error?.code, 'E_DEVICE_TIMEOUT');
    assert.match(ack.error?.message ?? '', 'no confirmation (0x01) to op 73');
    assert.is(r.sink.status().state, 'reconnecting');
    // Still mute: the reopened link's handshake times out too.
    r.timers.runNext();
    await until(() => r.events.filter((e) => e.type === 'handshake').length === 2, 'the second handshake');
    await settle();
    r.timers.advanceMs(300);
    await until(() => r.link.some((e) => e.type === 'error' && e.error.message.includes('no handshake reply')), 'the handshake timeout');
    r.emulator.link.mute(false);
    const connected = waitFor(r.sink.events$, (e) => e.type === 'state' && e.state === 'connected', 'reconnected');
    r.timers.runNext();
    await connected;
    assert.ok((await r.sink.program(0, train)).ok);
  } finally {
    await r.close();
  }
});

test('closing sends abort and disconnect, and completes acks$', async () => {
  const r = await rig();
  await r.sink.open();
  const completed = firstValueFrom(r.sink.acks$.pipe(filter(() => false)), { defaultValue: 'done' });
  await r.sink.close();
  assert.is(await completed, 'done');
  await until(() => r.events.some((e) => e.type === 'disconnect'), 'op 81 at the emulator');
  assert.ok(r.events.some((e) => e.type === 'abort'));
  await r.emulator.close();
  await r.pair.close();
});

test.run();
