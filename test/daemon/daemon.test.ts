// The daemon composed from a rig config: the simulator as source (as fast as the pipeline takes
// it), its light behind the safety governor, the bus with a client; commands, status, shutdown.
import { firstValueFrom, filter } from 'rxjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateRigConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { MemoryLog } from '../../src/daemon/log.js';
import { BusClient } from '../../src/bus/client.js';
import type { BusStatus } from '../../src/bus/messages.js';
import { isOptoloopError } from '../../src/core/errors.js';

const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789ab';

function simConfig(overrides: Record<string, unknown> = {}) {
  return validateRigConfig({
    rig: 'test-rig',
    source: { kind: 'sim', preset: 'cortex', probe: 'A1x32-Poly3-10mm-50-177', channels: 32, seed: 5, realTime: false, durationS: 4, opsin: ['PV'] },
    sinks: { stim: { kind: 'sim' } },
    bus: {
      port: 0,
      tokens: [
        { name: 'operator', token: OPERATOR, permissions: ['subscribe', 'command', 'stimulate'] },
        { name: 'viewer', token: VIEWER, permissions: ['subscribe'] },
      ],
    },
    dashboard: { enabled: false },
    ...overrides,
  });
}

test('runs a simulated stream to its end: every block through the pipeline, spikes detected, clean stop', async () => {
  const log = new MemoryLog();
  const daemon = await Daemon.start(simConfig({ bus: { enabled: false } }), { log });
  await daemon.done;
  assert.is(daemon.counters.blocks, 4 * 1000, 'four seconds of 1 ms blocks');
  assert.is(daemon.counters.frames, 4 * 30000);
  assert.ok(daemon.counters.spikes > 200, `${daemon.counters.spikes} spikes`);
  assert.is(daemon.counters.failedBlocks, 0);
  assert.is(daemon.failure, null);
  assert.match(log.text(), 'geometry from the source (A1x32-Poly3-10mm-50-177)');
  assert.match(log.text(), /stopped: 4000 blocks/);
});

test('commands: manual stimulation reaches the simulated light through the governor; the emergency stop refuses it; release restores it', async () => {
  const config = simConfig({ bus: { enabled: false } });
  config.source = { ...config.source, durationS: null } as typeof config.source;
  const daemon = await Daemon.start(config, { log: new MemoryLog() });
  const train = { pulseWidthMs: 5, pulseIntervalMs: 100, pulseCount: 1, delayMs: 0, level: 0.5 };
  const triggered = firstValueFrom(daemon.acks$.pipe(filter((a) => a.ack.kind === 'trigger')));
  const ok = daemon.handle({ kind: 'stimulate', sink: 'stim', output: 0, train }, 'test');
  assert.ok(ok.ok, ok.message);
  const { sink, ack } = await triggered;
  assert.is(sink, 'stim');
  assert.ok(ack.ok);
  assert.is(ack.outputMask, 1);
  // The simulated light reports the onset on the stream clock: at or after the stream's start, not beyond where it has got to.
  assert.ok(ack.deviceTimeUs !== null && ack.deviceTimeUs >= 0, `onset ${ack.deviceTimeUs} µs`);
  assert.ok(ack.deviceTimeUs! <= daemon.status().streamTimeS * 1e6 + 1000);
  const tooLong = daemon.handle({ kind: 'stimulate', sink: 'stim', output: 0, train: { ...train, pulseWidthMs: 5000 } }, 'test');
  assert.not.ok(tooLong.ok);
  assert.is(tooLong.code, 'E_STIM_LIMIT');
  assert.ok(daemon.handle({ kind: 'estop' }, 'test').ok);
  assert.ok(daemon.status().estopEngaged);
  const refused = daemon.handle({ kind: 'stimulate', sink: 'stim', output: 0, train }, 'test');
  assert.is(refused.code, 'E_STIM_ESTOP');
  assert.ok(daemon.handle({ kind: 'release-estop' }, 'test').ok);
  assert.not.ok(daemon.status().estopEngaged);
  const unknown = daemon.handle({ kind: 'stimulate', sink: 'nope', output: 0, train }, 'test');
  assert.not.ok(unknown.ok);
  await daemon.stop();
  assert.is(daemon.counters.triggers, 1, 'one trigger acknowledged by the simulated light');
});

test('the bus: status and spikes reach a subscriber; a viewer cannot stimulate; anyone can press the emergency stop', async () => {
  const config = simConfig();
  config.source = { ...config.source, durationS: null, realTime: true, speed: 1 } as typeof config.source;
  const daemon = await Daemon.start(config, { log: new MemoryLog() });
  const address = daemon.bus!.address!;
  const url = `ws://${address.host}:${address.port}/bus`;
  const viewer = await BusClient.connect(url, { token: VIEWER, clientName: 'viewer' });
  const statuses: BusStatus[] = [];
  let spikes = 0;
  viewer.on('status', (s) => statuses.push(s));
  viewer.on('spikes', (b) => (spikes += b.count));
  await viewer.subscribe(['status', 'spikes']);
  const train = { pulseWidthMs: 5, pulseIntervalMs: 100, pulseCount: 1, delayMs: 0, level: 0.5 };
  const denied = await viewer.command({ kind: 'stimulate', sink: 'stim', output: 0, train });
  assert.is(denied.code, 'E_BUS_PERMISSION');
  const estop = await viewer.command({ kind: 'estop' });
  assert.ok(estop.ok, estop.message);
  assert.ok(daemon.estopEngaged);
  const operator = await BusClient.connect(url, { token: OPERATOR, clientName: 'operator' });
  assert.ok((await operator.command({ kind: 'release-estop' })).ok);
  const deadline = Date.now() + 10_000;
  while ((statuses.length < 2 || spikes === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await viewer.close();
  await operator.close();
  await daemon.stop();
  assert.ok(statuses.length >= 2, `${statuses.length} status messages`);
  const last = statuses[statuses.length - 1];
  assert.is(last.rig, 'test-rig');
  assert.ok(last.streamTimeS > 0);
  assert.ok(last.sourceBufferOccupancy >= 0 && last.sourceBufferOccupancy <= 1);
  assert.ok(spikes > 0, `${spikes} spikes over the bus`);
});

test('rules from the config fire from the start; the latency histograms and the source buffer occupancy reach the bus', async () => {
  const units = Array.from({ length: 256 }, (_, u) => u);
  const config = simConfig({
    rules: { any: { when: { kind: 'unit-spike', units }, action: { sink: 'stim', output: 0, train: { pulseWidthMs: 1, level: 0.2 } }, refractoryMs: 50 } },
    daemon: { statusIntervalMs: 100 },
  });
  // Paced (the occupancy is measured only for paced sources), four times real time.
  config.source = { ...config.source, durationS: null, realTime: true, speed: 4 } as typeof config.source;
  const daemon = await Daemon.start(config, { log: new MemoryLog() });
  const address = daemon.bus!.address!;
  const viewer = await BusClient.connect(`ws://${address.host}:${address.port}/bus`, { token: VIEWER, clientName: 'viewer' });
  let published: BusStatus | null = null;
  viewer.on('status', (s) => {
    if ((s.latency.find((h) => h.name === 'software')?.count ?? 0) > 0) published = s;
  });
  await viewer.subscribe(['status']);
  const deadline = Date.now() + 30_000;
  while (published === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await viewer.close();
  await daemon.stop();
  const status = published as BusStatus | null;
  assert.ok(status, 'a status with software latencies arrived');
  assert.ok(daemon.counters.triggers > 0, `${daemon.counters.triggers} triggers`);
  assert.equal(status.latency.map((h) => h.name), ['software', 'rule-decision', 'pipeline', 'unit-assignment', 'block']);
  for (const h of status.latency) {
    assert.is(h.counts.reduce((a, b) => a + b, 0), h.count, `${h.name}: bucket counts add up to the count`);
    assert.is(h.counts.length, h.bucketUpperUs.length + 1, `${h.name}: one overflow bucket`);
    // Per trigger, or per block for the stages before the rules and the block's whole work.
    const most = h.name === 'pipeline' || h.name === 'unit-assignment' || h.name === 'block' ? daemon.counters.blocks : daemon.counters.triggers;
    assert.ok(h.count > 0 && h.count <= most, `${h.name}: ${h.count} recorded, at most ${most}`);
    assert.ok(h.p50Us !== null && h.maxUs !== null && h.p50Us <= h.maxUs, `${h.name}: p50 ${h.p50Us} ≤ max ${h.maxUs}`);
  }
  assert.ok(status.sourceBufferOccupancy >= 0 && status.sourceBufferOccupancy <= 1, `occupancy ${status.sourceBufferOccupancy}`);
  assert.is(status.blocksDropped, 0);
});

test('after a block whose rules triggered, and only then, the acquisition thread pauses daemon.triggerYieldUs once, then kicks the other CPU', async () => {
  const run = async (units: number[]) => {
    const config = simConfig({
      rules: { any: { when: { kind: 'unit-spike', units }, action: { sink: 'stim', output: 0, train: { pulseWidthMs: 1, level: 0.2 } }, refractoryMs: 50 } },
      daemon: { triggerYieldUs: 45 },
      bus: { enabled: false },
    });
    const pauses: { us: number; block: number }[] = [];
    const kicks: { block: number; afterPauses: number }[] = [];
    const daemon: Daemon = await Daemon.start(config, {
      log: new MemoryLog(),
      sleepUs: (us) => pauses.push({ us, block: daemon.counters.blocks }),
      kickCpu: () => kicks.push({ block: daemon.counters.blocks, afterPauses: pauses.length }),
    });
    await daemon.done;
    await daemon.stop();
    return { pauses, kicks, triggers: daemon.counters.triggers };
  };
  const firing = await run(Array.from({ length: 256 }, (_, u) => u));
  assert.ok(firing.triggers > 0, `${firing.triggers} triggers`);
  assert.ok(firing.pauses.length > 0 && firing.pauses.length <= firing.triggers, `${firing.pauses.length} pauses for ${firing.triggers} triggers`);
  assert.ok(firing.pauses.every((p) => p.us === 45), 'the configured length');
  assert.is(new Set(firing.pauses.map((p) => p.block)).size, firing.pauses.length, 'at most one pause per block');
  assert.equal(firing.kicks.map((k) => k.block), firing.pauses.map((p) => p.block), 'one kick in each block that paused');
  assert.ok(firing.kicks.every((k, i) => k.afterPauses === i + 1), 'each kick after its pause');
  const silent = await run([1000]);
  assert.is(silent.triggers, 0);
  assert.is(silent.pauses.length, 0, 'no trigger, no pause');
  assert.is(silent.kicks.length, 0, 'no trigger, no kick');
});

test('a sink that cannot open does not stop acquisition: the daemon runs without it and says so', async () => {
  const log = new MemoryLog();
  const config = simConfig({ bus: { enabled: false }, sinks: { stim: { kind: 'sim' }, bridge: { kind: 'firmware-bridge', path: '/dev/optoloop-no-such-port', openAttempts: 1 } } });
  const daemon = await Daemon.start(config, { log });
  await daemon.done;
  assert.is(daemon.counters.blocks, 4000);
  assert.match(log.text(), /bridge: cannot open: .*optoloop-no-such-port.*running without it/);
  const r = daemon.handle({ kind: 'stimulate', sink: 'bridge', output: 0, train: { pulseWidthMs: 5, pulseIntervalMs: 100, pulseCount: 1, delayMs: 0, level: 1 } }, 'test');
  assert.not.ok(r.ok);
});

test('a sim light with a file source is a config error naming the sink and what it needs', async () => {
  const config = validateRigConfig({ source: { kind: 'file', path: '/nonexistent.bin' }, sinks: { led: { kind: 'sim' } } });
  try {
    await Daemon.start(config, { log: new MemoryLog() });
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_CONFIG_INVALID'));
    assert.match((error as Error).message, 'sinks.led.kind: "sim" drives the simulator\'s light and needs source.kind: sim');
  }
});

test('a missing recording fails at start with the path', async () => {
  const config = validateRigConfig({ source: { kind: 'file', path: '/nonexistent/rec.ap.bin' }, bus: { enabled: false } });
  try {
    await Daemon.start(config, { log: new MemoryLog() });
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error));
    assert.match((error as Error).message, '/nonexistent/rec.ap');
  }
});

test.run();
