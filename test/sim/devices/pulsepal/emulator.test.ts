/**
 * The emulated Pulse Pal 2 driven by raw bytes over a real pty: every op of protocols.md §2.4,
 * the replies where the firmware sends them, and the fault injection of its link.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SerialBinding } from '../../../../drivers/binding/serial-binding.js';
import { ManualTimers } from '../../../../drivers/binding/timers.js';
import { PtyPair } from '../../../../sim/devices/pty-pair.js';
import { PulsePalEmulator, type PulsePalEvent } from '../../../../sim/devices/pulsepal/emulator.js';
import { until } from '../../../helpers/async.js';
import { PortCollector } from '../../../helpers/pty-reader.js';

interface Rig {
  pair: PtyPair;
  emulator: PulsePalEmulator;
  host: PortCollector;
  write(...bytes: number[]): Promise<void>;
  events: PulsePalEvent[];
  timers: ManualTimers;
  close(): Promise<void>;
}

async function rig(): Promise<Rig> {
  const pair = await PtyPair.create();
  const timers = new ManualTimers();
  const emulator = new PulsePalEmulator({ path: pair.devicePath, timers, seed: 7 });
  await emulator.start();
  const port = await new SerialBinding().open({ path: pair.hostPath, baudRate: 115200 });
  const host = new PortCollector(port);
  const events: PulsePalEvent[] = [];
  emulator.events$.subscribe((e) => events.push(e));
  return {
    pair,
    emulator,
    host,
    events,
    timers,
    write: (...bytes) => port.write(Uint8Array.from(bytes)),
    async close() {
      await host.close();
      await emulator.close();
      await pair.close();
    },
  };
}

const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const le16 = (v: number) => [v & 0xff, (v >>> 8) & 0xff];
const eventsOf = <T extends PulsePalEvent['type']>(r: Rig, type: T) => r.events.filter((e) => e.type === type) as Array<Extract<PulsePalEvent, { type: T }>>;

/** An op 73 payload laid out as the firmware reads it: each parameter for outputs 1–4 in turn. */
function programPayload(perChannel: (ch: number) => { times: number[]; volts: number[]; flags: number[] }, links: number[], modes: number[]): number[] {
  const out: number[] = [];
  for (let k = 0; k < 8; k++) for (let ch = 0; ch < 4; ch++) out.push(...le32(perChannel(ch).times[k]));
  for (let k = 0; k < 3; k++) for (let ch = 0; ch < 4; ch++) out.push(...le16(perChannel(ch).volts[k]));
  for (let k = 0; k < 4; k++) for (let ch = 0; ch < 4; ch++) out.push(perChannel(ch).flags[k]);
  out.push(...links, ...modes);
  return out;
}

test('ignores bytes that do not start with 213, then answers the handshake with K and the firmware version', async () => {
  const r = await rig();
  try {
    await r.write(0x00, 0x41, 0x48, 213, 72);
    assert.equal(await r.host.take(5), [0x4b, ...le32(21)]);
    assert.is(r.emulator.ignoredBytes, 3);
    assert.ok(r.emulator.connectedToApp);
  } finally {
    await r.close();
  }
});

test('op 73: the 178-byte program is decoded parameter by parameter and confirmed; op 85 reads it back', async () => {
  const r = await rig();
  try {
    const payload = programPayload(
      (ch) => ({
        times: [100 + ch, 200 + ch, 300 + ch, 400 + ch, 500 + ch, 600 + ch, 70_000 + ch, 80 + ch],
        volts: [40_000 + ch, 20_000 + ch, 32_768],
        flags: [ch & 1, 0, 0, 0],
      }),
      [1, 0, 1, 0, 0, 1, 0, 1],
      [1, 2],
    );
    assert.is(payload.length, 178);
    await r.write(213, 73, ...payload);
    assert.equal(await r.host.take(1), [1]);
    const ch2 = r.emulator.channels[2];
    assert.equal(
      [ch2.phase1Duration, ch2.interPhaseInterval, ch2.phase2Duration, ch2.interPulseInterval, ch2.burstDuration, ch2.interBurstInterval, ch2.pulseTrainDuration, ch2.pulseTrainDelay],
      [102, 202, 302, 402, 502, 602, 70_002, 82],
    );
    assert.equal([ch2.phase1Voltage, ch2.phase2Voltage, ch2.restingVoltage, ch2.isBiphasic], [40_002, 20_002, 32_768, 0]);
    assert.is(r.emulator.channels[3].isBiphasic, 1);
    assert.equal(r.emulator.triggerLinks, [
      [1, 0, 1, 0],
      [0, 1, 0, 1],
    ]);
    assert.equal(r.emulator.triggerModes, [1, 2]);
    await r.write(213, 85);
    assert.equal(await r.host.take(178), payload, 'op 85 returns the same 178 bytes');
  } finally {
    await r.close();
  }
});

test('op 74 (every value width), op 91 (all outputs) and trigger modes are applied and confirmed', async () => {
  const r = await rig();
  try {
    await r.write(213, 74, 4, 2, ...le32(1234)); // phase1Duration of output 2 (u32)
    await r.write(213, 74, 2, 3, ...le16(50_000)); // phase1Voltage of output 3 (u16)
    await r.write(213, 74, 1, 4, 1); // isBiphasic of output 4 (u8)
    await r.write(213, 74, 13, 1, 1); // link trigger input 2 → output 1
    await r.write(213, 74, 128, 2, 1); // trigger input 2 in toggle mode
    await r.write(213, 91, 11, ...le32(5), ...le32(6), ...le32(7), ...le32(8)); // delay on all outputs
    assert.equal(await r.host.take(6), [1, 1, 1, 1, 1, 1]);
    const [c0, c1, c2, c3] = r.emulator.channels;
    assert.is(c1.phase1Duration, 1234);
    assert.is(c2.phase1Voltage, 50_000);
    assert.is(c3.isBiphasic, 1);
    assert.is(r.emulator.triggerLinks[1][0], 1);
    assert.is(r.emulator.triggerModes[1], 1);
    assert.equal([c0.pulseTrainDelay, c1.pulseTrainDelay, c2.pulseTrainDelay, c3.pulseTrainDelay], [5, 6, 7, 8]);
    assert.equal(
      eventsOf(r, 'program-param').map((e) => [e.code, e.channel, e.value]),
      [
        [4, 2, 1234],
        [2, 3, 50_000],
        [1, 4, 1],
        [13, 1, 1],
        [128, 2, 1],
      ],
    );
  } finally {
    await r.close();
  }
});

test('the remaining ops: custom trains, LCD, fixed voltage, continuous loop, client name, SD ops, IO ops', async () => {
  const r = await rig();
  try {
    await r.write(213, 75, ...le32(3), ...le32(0), ...le32(100), ...le32(250), ...le16(40_000), ...le16(45_000), ...le16(50_000));
    await r.write(213, 78, 5, 0x48, 0x49, 254, 0x4f, 0x4b); // "HI\nOK"
    await r.write(213, 79, 2, ...le16(40_000));
    await r.write(213, 82, 1, 0);
    await r.write(213, 89, ...Array.from('RIG-01', (c) => c.charCodeAt(0)));
    await r.write(213, 90, 2, 4, ...Array.from('a.pp', (c) => c.charCodeAt(0))); // load: no SD here, so no reply
    await r.write(213, 87, 13);
    await r.write(213, 86, 13, 1);
    await r.write(213, 81);
    // Replies: 75 → 1, 79 → 1, 82 → 1, 87 → 1 byte (pin level).
    assert.equal(await r.host.take(4), [1, 1, 1, 0]);
    await until(() => r.events.some((e) => e.type === 'disconnect'), 'op 81');
    const [custom] = eventsOf(r, 'custom-train');
    assert.equal([custom.train, custom.onsetCycles, custom.voltageCodes], [1, [0, 100, 250], [40_000, 45_000, 50_000]]);
    assert.is(eventsOf(r, 'lcd')[0].text, 'HI\nOK');
    assert.equal([eventsOf(r, 'fixed-voltage')[0].channel, eventsOf(r, 'fixed-voltage')[0].code], [2, 40_000]);
    assert.equal([eventsOf(r, 'continuous-loop')[0].state, eventsOf(r, 'continuous-loop')[0].channel], [1, 0]);
    assert.is(eventsOf(r, 'client-name')[0].name, 'RIG-01');
    assert.is(r.emulator.connectedToApp, false, 'op 81 disconnects the client');
    assert.is(r.host.bytes.length, 0, 'no reply beyond those four');
  } finally {
    await r.close();
  }
});

test('op 77 plays the programmed train; a trigger during a running train is ignored, as the firmware does', async () => {
  const r = await rig();
  try {
    // Output 1: 3 pulses of 10 cycles every 100 cycles after a 20-cycle delay.
    await r.write(213, 74, 4, 1, ...le32(10));
    await r.write(213, 74, 7, 1, ...le32(90));
    await r.write(213, 74, 10, 1, ...le32(210));
    await r.write(213, 74, 11, 1, ...le32(20));
    await r.host.take(4);
    await r.write(213, 77, 0b0001);
    await until(() => eventsOf(r, 'trigger').length === 1, 'the first trigger');
    const [first] = eventsOf(r, 'trigger');
    assert.ok(first.outputs[0].started);
    assert.equal(first.outputs[0].pulseOnsetsUs, [1000, 6000, 11000], '(20 + k × 100) cycles × 50 µs');
    assert.is(first.outputs[0].pulseWidthUs, 500);
    await r.write(213, 77, 0b0001); // same virtual instant: the train (11.5 ms) is still running
    await until(() => eventsOf(r, 'trigger').length === 2, 'the second trigger');
    assert.not.ok(eventsOf(r, 'trigger')[1].outputs[0].started);
    r.timers.advanceMs(12);
    await r.write(213, 77, 0b0001);
    await until(() => eventsOf(r, 'trigger').length === 3, 'the third trigger');
    assert.ok(eventsOf(r, 'trigger')[2].outputs[0].started);
    await r.write(213, 80);
    await until(() => r.events.some((e) => e.type === 'abort'), 'the abort');
  } finally {
    await r.close();
  }
});

test('a command cut short executes with zeros after the 500 ms byte timeout, like the firmware', async () => {
  const r = await rig();
  try {
    await r.write(213, 74, 4, 1, 0x10); // a u32 value with only its first byte
    await until(() => r.emulator.link.attached && r.timers.pendingCount > 0, 'the byte timeout to be armed');
    r.timers.advanceMs(500);
    assert.equal(await r.host.take(1), [1]);
    assert.is(r.emulator.channels[0].phase1Duration, 0x10);
    assert.ok(r.events.some((e) => e.type === 'truncated'));
  } finally {
    await r.close();
  }
});

test('fault injection: one byte per write, garbage that never looks like a reply, stalls and mute', async () => {
  const r = await rig();
  try {
    r.emulator.link.setFaults({ fragmentation: 'bytewise' });
    await r.write(213, 72);
    assert.equal(await r.host.take(5), [0x4b, ...le32(21)]);
    assert.is(r.emulator.link.writeCount, 5, 'the reply went out as five one-byte writes');
    r.emulator.link.setFaults({ fragmentation: 'none', garbageProbability: 1, garbageMaxBytes: 5 });
    await r.write(213, 72);
    await until(() => r.events.filter((e) => e.type === 'handshake').length === 2, 'the second handshake');
    await r.emulator.link.idle();
    const garbage = r.emulator.link.garbageBytesWritten;
    assert.ok(garbage >= 1);
    const got = await r.host.take(garbage + 5);
    assert.equal(got.slice(garbage), [0x4b, ...le32(21)], 'the reply follows the garbage intact');
    assert.ok(got.slice(0, garbage).every((b) => b !== 0x01 && b !== 0x4b), 'garbage excludes reply bytes');
    r.emulator.link.setFaults({ garbageProbability: 0 });
    r.emulator.link.stall(1000);
    await r.write(213, 72);
    await until(() => r.events.filter((e) => e.type === 'handshake').length === 3, 'the third handshake');
    assert.is(r.host.bytes.length, 0, 'held back while stalled');
    r.timers.advanceMs(1000);
    assert.equal(await r.host.take(5), [0x4b, ...le32(21)]);
    r.emulator.link.mute(true);
    await r.write(213, 72);
    await until(() => r.events.filter((e) => e.type === 'handshake').length === 4, 'the fourth handshake');
    await r.emulator.link.idle();
    assert.is(r.emulator.link.bytesDiscarded, 5);
  } finally {
    await r.close();
  }
});

test.run();
