import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validate } from '../../../src/config/schema.js';
import { validateRigConfig } from '../../../src/config/load.js';
import { ManualClock } from '../../../src/core/clock.js';
import { isOptoloopError, type OptoloopError } from '../../../src/core/errors.js';
import type { SampleBlock } from '../../../src/core/sample-block.js';
import { spikeglxRemoteSourceSchema, type SpikeglxRemoteSourceConfig } from '../../../drivers/spikeglx-remote/spikeglx-remote-config.js';
import { SpikeglxRemoteSource, type SpikeglxRemoteSourceDeps } from '../../../drivers/spikeglx-remote/spikeglx-remote-source.js';
import { ManualTimers, systemTimers } from '../../../drivers/binding/timers.js';
import { seededSample } from '../../../sim/devices/common/seeded-frame-generator.js';
import { SpikeglxEmulator, type SpikeglxEmulatorOptions } from '../../../sim/devices/spikeglx/spikeglx-emulator.js';
import { until } from '../../helpers/net.js';


const SEED = 7;

interface Got {
  first: number;
  frames: number;
  count: number;
  samples: Int16Array;
  channels: number;
}

async function setup(emulatorOptions: SpikeglxEmulatorOptions, overrides: Partial<SpikeglxRemoteSourceConfig>, deps: SpikeglxRemoteSourceDeps = {}) {
  const emulator = new SpikeglxEmulator({ seed: SEED, ...emulatorOptions });
  await emulator.start();
  const r = validate(spikeglxRemoteSourceSchema, { kind: 'spikeglx-remote', port: emulator.port, ...overrides });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  const source = new SpikeglxRemoteSource(r.value, deps);
  const blocks: Got[] = [];
  const errors: OptoloopError[] = [];
  source.blocks$.subscribe((b: SampleBlock) =>
    blocks.push({ first: b.firstSampleIndex, frames: b.frameCount, count: b.deviceTimestamp as number, channels: b.channelCount, samples: (b.samples as Int16Array).slice(0, b.frameCount * b.channelCount) }),
  );
  source.errors$.subscribe((e) => errors.push(e));
  return { emulator, source, blocks, errors };
}

/** Checks each block against the seeded signal: column k holds acquired channel `channels[k]` at SpikeGLX count `count + f`. */
function checkSamples(blocks: Got[], channels: number[]) {
  for (const b of blocks) {
    for (let f = 0; f < b.frames; f++) {
      for (let k = 0; k < channels.length; k++) {
        const want = seededSample(SEED, b.count + f, channels[k]);
        const got = b.samples[f * b.channels + k];
        if (got !== want) assert.unreachable(`count ${b.count + f} column ${k}: got ${got}, want ${want}`);
      }
    }
  }
}

function totalJumps(blocks: Got[]): number {
  let jumps = 0;
  for (let i = 1; i < blocks.length; i++) {
    const gap = blocks[i].first - (blocks[i - 1].first + blocks[i - 1].frames);
    assert.ok(gap >= 0, `block ${i} goes back`);
    assert.is(gap, blocks[i].count - (blocks[i - 1].count + blocks[i - 1].frames), `block ${i}: index jump equals the SpikeGLX count jump`);
    jumps += gap;
  }
  return jumps;
}

test('open: the documented queries, µV per count per channel from GETSTREAMI16TOVOLTS, SY fetched but not delivered', async () => {
  const gains = [50, 125, 250, 500, 1000, 1500, 2000, 3000];
  const { emulator, source, blocks } = await setup(
    { probes: [{ apChannels: 8, lfChannels: 8, apGain: gains, lfGain: 250 }], speed: 1 },
    { channels: [16, 1, 3, 9, 0], maxSamplesPerFetch: 500 },
  );
  const info = await source.open();
  // Acquired channels: AP0–7 (0–7), LF0–7 (8–15), SY0 (16). Delivered ascending, SY stripped.
  assert.equal(info.channelNames, ['AP0', 'AP1', 'AP3', 'LF1']);
  const expectedUv = [gains[0], gains[1], gains[3]].map((g) => Number((0.6 / 512 / g).toPrecision(6)) * 1e6).concat(Number((0.6 / 512 / 250).toPrecision(6)) * 1e6);
  (info.uvPerCount as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - expectedUv[i]) <= 1e-6 * expectedUv[i], `uvPerCount[${i}] ${v} vs ${expectedUv[i]}`));
  assert.is(info.sampleRateHz, 30000);
  assert.equal(emulator.commandLog, [
    'GETVERSION',
    'GETSTREAMSAMPLERATE 2 0',
    'GETSTREAMACQCHANS 2 0',
    'GETSTREAMI16TOVOLTS 2 0 0',
    'GETSTREAMI16TOVOLTS 2 0 1',
    'GETSTREAMI16TOVOLTS 2 0 3',
    'GETSTREAMI16TOVOLTS 2 0 9',
  ]);
  await source.start();
  await until(() => blocks.length >= 10, '10 blocks');
  await source.stop();
  const fetches = emulator.commandLog.filter((c) => c.startsWith('FETCH'));
  assert.is(emulator.commandLog[7], 'GETSTREAMSAMPLECOUNT 2 0');
  assert.match(fetches[0], /^FETCH 2 0 \d+ 500 0#1#3#9#16$/);
  checkSamples(blocks, [0, 1, 3, 9]);
  assert.is(totalJumps(blocks), 0);
  await source.close();
  await emulator.stop();
});

test('null channels: every AP channel, fetched as an explicit subset (LF and SY left out)', async () => {
  const { emulator, source } = await setup({ probes: [{ apChannels: 4, lfChannels: 4 }] }, { channels: null });
  const info = await source.open();
  assert.equal(info.channelNames, ['AP0', 'AP1', 'AP2', 'AP3']);
  await source.start();
  await until(() => emulator.commandLog.some((c) => c.startsWith('FETCH')), 'a FETCH');
  assert.match(emulator.commandLog.find((c) => c.startsWith('FETCH')) as string, / 0#1#2#3$/);
  await source.close();
  await emulator.stop();
});

test('data arriving one byte at a time is delivered bit-exact and continuous', async () => {
  const { emulator, source, blocks } = await setup({ probes: [{ apChannels: 4 }], faults: { fragment: 'bytes' }, speed: 0.05 }, { maxSamplesPerFetch: 60 });
  await source.open();
  await source.start();
  await until(() => blocks.length >= 8, '8 blocks one byte at a time');
  const fragments = [...emulator.writers].reduce((n, w) => n + w.fragmentsWritten, 0);
  await source.close();
  assert.ok(fragments > 500, `fragments ${fragments}`);
  checkSamples(blocks, [0, 1, 2, 3]);
  assert.is(totalJumps(blocks), 0);
  assert.is(source.counters.framesDropped, 0);
  await emulator.stop();
});

test('garbage before replies: skipped, counted exactly, no sample lost', async () => {
  const { emulator, source, blocks } = await setup(
    { probes: [{ apChannels: 8 }], faults: { garbageProbability: 0.3, maxGarbageBytes: 40, garbageKind: 'non-printable', seed: 4, fragment: 'random', maxFragmentBytes: 300 }, speed: 2 },
    { maxSamplesPerFetch: 400 },
  );
  await source.open();
  await source.start();
  await until(() => blocks.length >= 150, '150 blocks');
  const writer = [...emulator.writers][0];
  await source.stop();
  await source.close();
  assert.ok(writer.garbageRuns > 30, `garbage runs ${writer.garbageRuns}`);
  assert.is(source.link.resyncs, writer.garbageRuns);
  assert.is(source.link.garbageBytes, writer.garbageBytesWritten);
  checkSamples(blocks, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.is(totalJumps(blocks), 0);
  await emulator.stop();
});

test('ERROR FETCH: Too late → the lost samples counted as drops, fetching resumes from the current count', async () => {
  const clock = new ManualClock();
  const { emulator, source, blocks } = await setup({ probes: [{ apChannels: 3, bufferSamples: 3000 }], clock }, { maxSamplesPerFetch: 1000 });
  await source.open();
  await source.start();
  await until(() => emulator.commandLog.some((c) => c.startsWith('FETCH')), 'the first FETCH');
  clock.advanceMs(10); // 300 samples
  await until(() => blocks.reduce((n, b) => n + b.frames, 0) === 300, 'the first 300 samples');
  clock.advanceMs(1000); // 30 000 more: sample 300 has long left the 3000-sample buffer
  await until(() => source.tooLateCount === 1 && source.nextSampleCount === 30_300, 'the Too late and the count read after it');
  clock.advanceMs(10);
  await until(() => blocks.reduce((n, b) => n + b.frames, 0) === 600, '300 samples after the recovery');
  await source.stop();
  assert.is(source.counters.framesDropped, 30_000);
  assert.is(source.counters.blocksDropped, 1);
  assert.is(totalJumps(blocks), 30_000);
  const after = blocks.find((b) => b.count >= 30_300) as Got;
  assert.is(after.count, 30_300);
  assert.is(after.first, 30_300);
  checkSamples(blocks, [0, 1, 2]);
  await source.close();
  await emulator.stop();
});

test('the server vanishing mid-stream: an error event, a reconnect, and fetching resumes from the last count without a gap', async () => {
  const timers = new ManualTimers();
  const { emulator, source, blocks, errors } = await setup(
    { probes: [{ apChannels: 6 }], speed: 1 },
    { maxSamplesPerFetch: 300, reconnect: { maxAttempts: 5, initialDelayMs: 50, maxDelayMs: 500 } },
    // Poll pacing on real time; timeouts and back-off on the manual timers.
    { timers, pollTimers: systemTimers },
  );
  await source.open();
  await source.start();
  await until(() => blocks.length >= 20, '20 blocks');
  await emulator.kill();
  await until(() => errors.length === 1, 'the error event');
  assert.ok(isOptoloopError(errors[0], 'E_DEVICE_DISCONNECTED'), String(errors[0]));
  const before = blocks.length;
  await emulator.revive();
  timers.advanceMs(50);
  await until(() => blocks.length >= before + 20, '20 blocks after the reconnect');
  assert.is(source.link.reconnects, 1);
  await source.close();
  checkSamples(blocks, [0, 1, 2, 3, 4, 5]);
  assert.is(totalJumps(blocks), 0);
  assert.is(source.counters.framesDropped, 0);
  await emulator.stop();
});

test('a silent server: a FETCH without a reply → E_DEVICE_TIMEOUT on errors$', async () => {
  const timers = new ManualTimers();
  const { emulator, source, blocks, errors } = await setup({ probes: [{ apChannels: 2 }] }, { replyTimeoutMs: 800 }, { timers, pollTimers: systemTimers });
  await source.open();
  await source.start();
  await until(() => blocks.length >= 3, '3 blocks');
  emulator.stall();
  const writer = [...emulator.writers][0];
  await until(() => writer.queuedBytes > 0, 'a reply held back by the silent server');
  timers.advanceMs(799);
  assert.is(errors.length, 0);
  timers.advanceMs(1);
  await until(() => errors.length === 1, 'the timeout');
  assert.ok(isOptoloopError(errors[0], 'E_DEVICE_TIMEOUT'), String(errors[0]));
  assert.match(errors[0].message, 'FETCH');
  await source.close();
  await emulator.stop();
});

test('the rig config takes a spikeglx-remote source; a bad stream type names its path', () => {
  const rig = validateRigConfig({ source: { kind: 'spikeglx-remote' } }, 'rig.yaml');
  assert.is(rig.source.kind, 'spikeglx-remote');
  assert.equal({ ...rig.source, reconnect: undefined }, {
    kind: 'spikeglx-remote', host: '127.0.0.1', port: 4142, js: 2, ip: 0, channels: null, maxSamplesPerFetch: 3000,
    pollIntervalMs: 1, connectTimeoutMs: 2000, replyTimeoutMs: 2000, reconnect: undefined,
  });
  try {
    validateRigConfig({ source: { kind: 'spikeglx-remote', js: 3 } }, 'rig.yaml');
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_CONFIG_INVALID'));
    assert.match((error as Error).message, 'source.js: expected one of 2, -2, 0, 1, got 3');
  }
});

test.run();
