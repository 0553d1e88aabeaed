/**
 * The Cyton source against the emulated Cyton over a real pseudo-terminal pair (socat). Both run
 * in virtual time (ManualTimers): the emulator emits packets only when the test moves its clock,
 * and the source's timeouts and reconnections fire only when the test moves its own.
 *
 * Expected samples: each packet the emulator generated (its `packet` events: the counts it put on
 * the wire) × the scale from the OpenBCI documentation, 4.5 V / gain / (2^23 − 1), rounded once
 * to float32 — compared bit for bit with what the source delivers.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ManualTimers } from '../../../drivers/binding/timers.js';
import type { ConnectionEvent } from '../../../drivers/binding/device-connection.js';
import { openBciSourceSchema, type OpenBciSourceConfig } from '../../../drivers/openbci/config.js';
import { CytonSource } from '../../../drivers/openbci/cyton-source.js';
import { validate } from '../../../src/config/schema.js';
import type { SampleBlock } from '../../../src/core/sample-block.js';
import { CytonEmulator, type CytonEmulatorOptions, type CytonEvent } from '../../../sim/devices/openbci/emulator.js';
import { SeededCytonSignal } from '../../../sim/devices/openbci/signal.js';
import { PtyPair } from '../../../sim/devices/pty-pair.js';
import { settle, until, waitFor } from '../../helpers/async.js';

const scaleUv = (gain: number) => (4.5 / gain / (2 ** 23 - 1)) * 1e6;

type Packet = Extract<CytonEvent, { type: 'packet' }>;

/** Keeps a copy of every delivered frame by stream index (blocks are borrowed). */
class Frames {
  readonly samples = new Map<number, Float32Array>();
  readonly blocks: Array<{ first: number; count: number; deviceTimestamp: number | null }> = [];
  take(block: SampleBlock): void {
    this.blocks.push({ first: block.firstSampleIndex, count: block.frameCount, deviceTimestamp: block.deviceTimestamp });
    for (let f = 0; f < block.frameCount; f++) {
      const index = block.firstSampleIndex + f;
      if (this.samples.has(index)) throw new Error(`frame ${index} delivered twice`);
      this.samples.set(index, (block.samples as Float32Array).slice(f * block.channelCount, (f + 1) * block.channelCount));
    }
  }
}

interface Rig {
  pair: PtyPair;
  emulator: CytonEmulator;
  source: CytonSource;
  emuTimers: ManualTimers;
  hostTimers: ManualTimers;
  packets: Packet[];
  events: CytonEvent[];
  link: ConnectionEvent[];
  frames: Frames;
  close(): Promise<void>;
}

async function rig(config: Partial<OpenBciSourceConfig> = {}, emulator: Partial<CytonEmulatorOptions> = {}): Promise<Rig> {
  const pair = await PtyPair.create();
  const emuTimers = new ManualTimers();
  const emu = new CytonEmulator({ path: pair.devicePath, timers: emuTimers, seed: 42, tickMs: 20, ...emulator });
  await emu.start();
  const parsed = validate(openBciSourceSchema, { kind: 'openbci', port: pair.hostPath, ...config });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const hostTimers = new ManualTimers();
  const source = new CytonSource({ config: parsed.value, timers: hostTimers, openAttempts: 1, log: { warn: () => {} } });
  const packets: Packet[] = [];
  const events: CytonEvent[] = [];
  emu.events$.subscribe((e) => {
    events.push(e);
    if (e.type === 'packet') packets.push(e);
  });
  const link: ConnectionEvent[] = [];
  source.events$.subscribe((e) => link.push(e));
  const frames = new Frames();
  source.blocks$.subscribe((b) => frames.take(b));
  return {
    pair,
    emulator: emu,
    source,
    emuTimers,
    hostTimers,
    packets,
    events,
    link,
    frames,
    async close() {
      await source.close();
      await emu.close();
      await pair.close();
    },
  };
}

/** Starts the source and waits until the emulator has begun streaming (its `b` arrived). */
async function start(r: Rig): Promise<void> {
  const started = waitFor(r.emulator.events$, (e) => e.type === 'stream-start', 'the emulator to start streaming');
  await r.source.start();
  await started;
}

/** Moves the emulator's clock in 1 s steps and waits until the source has every frame it can have. */
async function stream(r: Rig, seconds: number, expectedFrames: () => number): Promise<void> {
  for (let s = 0; s < seconds; s++) {
    r.emuTimers.advanceMs(1000);
    const target = expectedFrames();
    if (r.source.counters.framesDelivered < target) {
      await waitFor(r.source.blocks$, () => r.source.counters.framesDelivered >= target, `${target} frames after ${s + 1} s`);
    }
  }
}

const sentPackets = (r: Rig) => r.packets.filter((p) => !p.dropped);

function expected8(packet: Packet, gains: number[]): Float32Array {
  return Float32Array.from(packet.counts, (count, c) => count * scaleUv(gains[c]));
}

function assertFramesEqual(actual: Float32Array | undefined, wanted: Float32Array, what: string): void {
  assert.ok(actual, `${what}: delivered`);
  const a = new Uint32Array((actual as Float32Array).buffer.slice(0));
  const w = new Uint32Array(wanted.buffer.slice(0));
  for (let c = 0; c < w.length; c++) if (a[c] !== w[c]) assert.unreachable(`${what}, channel ${c + 1}: got ${actual![c]}, expected ${wanted[c]}`);
}

test('open: stop, soft reset and banner, defaults, per-channel gains, time-stamping off; the stream info says what it is', async () => {
  const r = await rig({ gains: [24, 12, 8, 6, 4, 2, 1, 24] });
  try {
    const info = await r.source.open();
    const commands = r.events.filter((e) => e.type === 'command').map((e) => (e as { command: string }).command);
    // x, channel, power-down, gain code (12 → 5 … 1 → 0), input, bias, SRB2, SRB1, X; gain-24 channels keep the defaults.
    assert.equal(commands, ['s', 'v', 'd', 'x2050110X', 'x3040110X', 'x4030110X', 'x5020110X', 'x6010110X', 'x7000110X', '>']);
    assert.equal([info.sampleRateHz, info.channelCount, info.format, info.uvPerCount], [250, 8, 'float32', null]);
    assert.equal(info.channelNames, ['EXG1', 'EXG2', 'EXG3', 'EXG4', 'EXG5', 'EXG6', 'EXG7', 'EXG8']);
    assert.is(r.source.firmwareVersion, 'v3.1.2');
    assert.equal(r.source.channelGains, [24, 12, 8, 6, 4, 2, 1, 24]);
    assert.equal(
      r.emulator.channels.slice(0, 8).map((c) => c.gainCode),
      [6, 5, 4, 3, 2, 1, 0, 6],
    );
    assert.match(info.description, 'OpenBCI Cyton (firmware v3.1.2)');
  } finally {
    await r.close();
  }
});

test('8 channels, 60 s of stream: every sample equals what the emulator sent, bit for bit, with each channel’s gain', async () => {
  const gains: Array<NonNullable<OpenBciSourceConfig['gains']>[number]> = [24, 12, 8, 6, 4, 2, 1, 24];
  const r = await rig({ gains });
  try {
    await r.source.open();
    await start(r);
    await stream(r, 60, () => sentPackets(r).length);
    const sent = sentPackets(r);
    assert.is(sent.length, 60 * 250 + 1, 'packets at 250 Hz from t = 0 to t = 60 s');
    for (const packet of sent) assertFramesEqual(r.frames.samples.get(packet.packetIndex), expected8(packet, gains), `frame ${packet.packetIndex}`);
    assert.is(r.source.counters.framesDelivered, sent.length);
    assert.is(r.source.counters.framesDropped, 0);
    // The gain was tracked: the µV delivered are the emulator's input µV within half a count.
    const signal = new SeededCytonSignal(42);
    for (const index of [0, 1234, 9999]) {
      for (let c = 0; c < 8; c++) {
        const delivered = (r.frames.samples.get(index) as Float32Array)[c];
        assert.ok(Math.abs(delivered - signal.valueUv(index, c)) <= scaleUv(gains[c]) / 2 + 1e-3, `frame ${index} ch ${c + 1}`);
      }
    }
    const blocks = r.frames.blocks;
    for (let i = 1; i < blocks.length; i++) assert.is(blocks[i].first, blocks[i - 1].first + blocks[i - 1].count, 'contiguous');
    assert.is(r.source.status().drops, 0);
  } finally {
    await r.close();
  }
});

test('16 channels (daisy), 60 s: frames pair each odd (board) packet with the next even (daisy) one; values are the firmware’s averages', async () => {
  const r = await rig({ channels: 16 }, { daisyFitted: true });
  try {
    const info = await r.source.open();
    assert.equal([info.sampleRateHz, info.channelCount], [125, 16]);
    assert.ok(r.source.daisyDetected);
    await start(r);
    await stream(r, 60, () => Math.floor((sentPackets(r).length - 1) / 2));
    const byIndex = new Map(r.packets.map((p) => [p.packetIndex, p]));
    const frames = Math.floor((r.packets.length - 1) / 2);
    assert.is(frames, 7500);
    const signal = new SeededCytonSignal(42);
    const uv = new Float64Array(16);
    const count = (n: number, c: number) => {
      signal.fill(n, uv);
      return Math.round(uv[c] / scaleUv(24));
    };
    for (let f = 0; f < frames; f++) {
      const board = byIndex.get(2 * f + 1) as Packet;
      const daisy = byIndex.get(2 * f + 2) as Packet;
      const wanted = new Float32Array(16);
      for (let c = 0; c < 8; c++) {
        wanted[c] = board.counts[c] * scaleUv(24);
        wanted[8 + c] = daisy.counts[c] * scaleUv(24);
      }
      assertFramesEqual(r.frames.samples.get(f), wanted, `16-channel frame ${f}`);
      if (f % 997 === 0) {
        // Per the documentation's table: board avg(n − 1, n) on odd n, daisy avg(n − 1, n) on even n.
        for (let c = 0; c < 8; c++) {
          assert.is(board.counts[c], Math.trunc((count(2 * f, c) + count(2 * f + 1, c)) / 2));
          assert.is(daisy.counts[c], Math.trunc((count(2 * f + 1, 8 + c) + count(2 * f + 2, 8 + c)) / 2));
        }
      }
    }
    assert.is(r.source.counters.framesDropped, 0);
  } finally {
    await r.close();
  }
});

test('counter gaps are drops: counted, and firstSampleIndex jumps by the frames lost (8 and 16 channels)', async () => {
  for (const channels of [8, 16] as const) {
    const r = await rig({ channels }, { daisyFitted: channels === 16 });
    try {
      await r.source.open();
      await start(r);
      const framesOf = () => {
        // Frames the host can assemble: every packet for 8 channels; complete odd+even pairs for 16.
        const sent = new Set(sentPackets(r).map((p) => p.packetIndex));
        if (channels === 8) return sent.size;
        let complete = 0;
        for (let f = 0; 2 * f + 2 < r.packets.length; f++) if (sent.has(2 * f + 1) && sent.has(2 * f + 2)) complete++;
        return complete;
      };
      await stream(r, 2, framesOf);
      r.emulator.dropPackets(7); // e.g. packets 501–507 lost on the radio
      await stream(r, 3, framesOf);
      r.emulator.dropPackets(300); // more than a turn of the 8-bit counter: see the limitation below
      const generatedBefore = r.packets.length;
      await stream(r, 3, framesOf);
      const lostPackets = r.packets.filter((p) => p.dropped).map((p) => p.packetIndex);
      assert.is(lostPackets.length, 307);
      // Frames that could not be assembled, before the long gap (whose 300 packets wrap the counter).
      const shortGap = lostPackets.slice(0, 7);
      const lostFrames =
        channels === 8 ? 7 : new Set(shortGap.map((u) => (u % 2 === 1 ? (u - 1) / 2 : (u - 2) / 2))).size;
      const firstDrop = r.source.counters.blocksDropped;
      assert.is(firstDrop, 2, 'one gap event per gap');
      // The first gap is exact: the frame after it sits where its packet counter says.
      const afterGap = sentPackets(r).find((p) => p.packetIndex > shortGap[6] && (channels === 8 || p.packetIndex % 2 === 1)) as Packet;
      const indexAfter = channels === 8 ? afterGap.packetIndex : (afterGap.packetIndex - 1) / 2;
      assert.ok(r.frames.samples.has(indexAfter), `the frame after the first gap is at index ${indexAfter}`);
      assert.ok(!r.frames.samples.has(indexAfter - 1), 'and the one before it is missing');
      // A gap of 300 packets looks like 300 − 256 = 44 to an 8-bit counter: undercounted by one turn.
      const longGapFrames = channels === 8 ? 300 - 256 : undefined;
      if (longGapFrames !== undefined) assert.is(r.source.counters.framesDropped, lostFrames + longGapFrames);
      else assert.ok(r.source.counters.framesDropped >= lostFrames);
      assert.ok(generatedBefore < r.packets.length);
      // Every delivered frame is still the right one for its index within each run.
      const blocks = r.frames.blocks;
      const gaps = blocks.filter((b, i) => i > 0 && b.first !== blocks[i - 1].first + blocks[i - 1].count).length;
      assert.is(gaps, 2, 'exactly two jumps in firstSampleIndex');
      const lastBlock = blocks[blocks.length - 1];
      assert.is(lastBlock.first + lastBlock.count, r.source.counters.framesDelivered + r.source.counters.framesDropped, 'delivered + dropped = stream length');
    } finally {
      await r.close();
    }
  }
});

test('data one byte at a time, random fragments and garbage: all frames exact, every garbage burst one resync', async () => {
  const r = await rig();
  try {
    await r.source.open();
    r.emulator.link.setFaults({ fragmentation: 'bytewise' });
    await start(r);
    await stream(r, 2, () => sentPackets(r).length);
    r.emulator.link.setFaults({ fragmentation: 'random', maxFragmentBytes: 40, garbageProbability: 0.3, garbageMaxBytes: 12 });
    await stream(r, 10, () => sentPackets(r).length);
    for (const packet of sentPackets(r)) assertFramesEqual(r.frames.samples.get(packet.packetIndex), expected8(packet, new Array(8).fill(24)), `frame ${packet.packetIndex}`);
    assert.ok(r.emulator.link.garbageBursts > 10, `garbage was injected (${r.emulator.link.garbageBursts} bursts)`);
    assert.is(r.source.status().resyncs, r.emulator.link.garbageBursts);
    assert.is(r.source.counters.framesDropped, 0);
  } finally {
    await r.close();
  }
});

test('a dongle pulled mid-stream: error event, reconnection, the stream resumes; nothing received before is lost', async () => {
  const r = await rig({ reconnect: { initialDelayMs: 100, factor: 2, maxDelayMs: 1000, maxAttempts: null, healthyAfterMs: 10_000 } });
  try {
    await r.source.open();
    await start(r);
    await stream(r, 3, () => sentPackets(r).length);
    const deliveredBefore = r.source.counters.framesDelivered;
    const sentBefore = sentPackets(r);
    const reconnecting = waitFor(r.source.events$, (e) => e.type === 'state' && e.state === 'reconnecting', 'reconnecting');
    await r.pair.stop();
    await reconnecting;
    const lost = r.link.find((e) => e.type === 'error');
    assert.is(lost?.type === 'error' && lost.error.code, 'E_DEVICE_DISCONNECTED');
    assert.is(deliveredBefore, sentBefore.length, 'all frames sent before the pull were delivered');
    for (const p of sentBefore) assertFramesEqual(r.frames.samples.get(p.packetIndex), expected8(p, new Array(8).fill(24)), `frame ${p.packetIndex} before the pull`);
    r.emuTimers.advanceMs(2000); // the board keeps streaming into the void
    await r.pair.start();
    await r.emulator.start();
    const connected = waitFor(r.source.events$, (e) => e.type === 'state' && e.state === 'connected', 'reconnected');
    const restarted = waitFor(r.emulator.events$, (e) => e.type === 'stream-start', 'the stream restarted');
    r.hostTimers.runNext();
    await connected;
    await restarted;
    assert.is(r.source.state, 'running');
    assert.is(r.source.status().reconnects, 1);
    const restarts = r.events.filter((e) => e.type === 'stream-start').length;
    assert.is(restarts, 2, 'the source re-initialised the board and restarted the stream');
    const restartAt = r.packets.findIndex((p, i) => i > 0 && p.packetIndex === 0);
    await stream(r, 2, () => deliveredBefore + r.packets.slice(restartAt).filter((p) => !p.dropped).length);
    const after = r.frames.blocks.filter((b) => b.first >= deliveredBefore);
    assert.ok(after.length > 0);
    const resumedAt = after[0].first;
    assert.ok(resumedAt >= deliveredBefore, 'indices never go back');
    for (const p of r.packets.slice(restartAt).filter((p) => !p.dropped)) {
      assertFramesEqual(r.frames.samples.get(resumedAt + p.packetIndex), expected8(p, new Array(8).fill(24)), `frame ${p.packetIndex} after the reconnection`);
    }
    assert.is(r.source.counters.framesDropped, resumedAt - deliveredBefore, 'the outage is counted as dropped frames');
  } finally {
    await r.close();
  }
});

test('a silent board while streaming: E_DEVICE_TIMEOUT, then the board is re-initialised and streams again', async () => {
  const r = await rig({ silenceTimeoutMs: 500 });
  try {
    await r.source.open();
    await start(r);
    await stream(r, 1, () => sentPackets(r).length);
    r.emulator.link.mute(true);
    r.emuTimers.advanceMs(1000);
    await settle();
    r.hostTimers.advanceMs(500);
    const timeout = r.link.find((e) => e.type === 'error');
    assert.is(timeout?.type === 'error' && timeout.error.code, 'E_DEVICE_TIMEOUT');
    assert.match(timeout?.type === 'error' ? timeout.error.message : '', 'no data from');
    r.emulator.link.mute(false);
    const connected = waitFor(r.source.events$, (e) => e.type === 'state' && e.state === 'connected', 'reconnected');
    const restarted = waitFor(r.emulator.events$, (e) => e.type === 'stream-start', 'the stream restarted');
    r.hostTimers.runNext();
    await connected;
    await restarted;
    const delivered = r.source.counters.framesDelivered;
    r.emuTimers.advanceMs(1000);
    await waitFor(r.source.blocks$, () => r.source.counters.framesDelivered >= delivered + 250, 'frames after the restart');
  } finally {
    await r.close();
  }
});

test('a board that is off, or no daisy for 16 channels: clear errors at open', async () => {
  const off = await rig({}, { boardPowered: false });
  try {
    await off.source.open();
    assert.unreachable('open should fail');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'E_DEVICE_NOT_FOUND');
    assert.match((error as Error).message, 'answers but the Cyton board does not');
  } finally {
    await off.close();
  }
  const noDaisy = await rig({ channels: 16 }, { daisyFitted: false });
  try {
    await noDaisy.source.open();
    assert.unreachable('open should fail');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'E_DEVICE_REFUSED');
    assert.match((error as Error).message, 'no daisy module');
  } finally {
    await noDaisy.close();
  }
});

test('time-stamping: each block carries the board clock of its first frame', async () => {
  const r = await rig({ timestamps: true });
  try {
    await r.source.open();
    await start(r);
    await stream(r, 2, () => sentPackets(r).length);
    const boardMs = new Map(r.packets.map((p) => [p.packetIndex, p.boardMs]));
    assert.ok(r.frames.blocks.length > 5);
    for (const block of r.frames.blocks) assert.is(block.deviceTimestamp, boardMs.get(block.first) as number, `block at ${block.first}`);
    assert.is(r.packets[0].stopByte, 0xc3, 'the first packet after < is the "set" one');
  } finally {
    await r.close();
  }
});

test('stop then start: the stream index continues, nothing counted as lost, packets after stop are discarded', async () => {
  const r = await rig();
  try {
    await r.source.open();
    await start(r);
    await stream(r, 1, () => sentPackets(r).length);
    const before = r.source.counters.framesDelivered;
    const stopped = waitFor(r.emulator.events$, (e) => e.type === 'stream-stop', 'the emulator to stop');
    const stopping = r.source.stop();
    await stopped;
    await until(() => r.hostTimers.pendingCount > 0, 'stop() to wait for quiet');
    r.hostTimers.advanceMs(50); // the quiet period stop() waits for
    await stopping;
    r.emuTimers.advanceMs(500);
    await settle(20);
    await start(r);
    const restart = r.events.filter((e) => e.type === 'stream-start').length;
    assert.is(restart, 2);
    r.emuTimers.advanceMs(1000);
    await waitFor(r.source.blocks$, () => r.source.counters.framesDelivered >= before + 251, 'frames after restart');
    const afterStart = r.frames.blocks.find((b) => b.first >= before);
    assert.is(afterStart?.first, before, 'no jump');
    assert.is(r.source.counters.framesDropped, 0);
    try {
      await r.source.start();
      assert.unreachable('start while running should reject');
    } catch (error) {
      assert.is((error as { code?: string }).code, 'E_SOURCE_STATE');
    }
  } finally {
    await r.close();
  }
});

test.run();
