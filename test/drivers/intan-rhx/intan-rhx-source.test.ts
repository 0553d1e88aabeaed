import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validate } from '../../../src/config/schema.js';
import { validateRigConfig } from '../../../src/config/load.js';
import { isOptoloopError, type OptoloopError } from '../../../src/core/errors.js';
import type { SampleBlock } from '../../../src/core/sample-block.js';
import { intanRhxSourceSchema, type IntanRhxSourceConfig } from '../../../drivers/intan-rhx/intan-rhx-config.js';
import { IntanRhxSource } from '../../../drivers/intan-rhx/intan-rhx-source.js';
import { ManualTimers } from '../../../drivers/binding/timers.js';
import { RhxEmulator, type RhxEmulatorOptions } from '../../../sim/devices/intan-rhx/rhx-emulator.js';
import { seededSample } from '../../../sim/devices/common/seeded-frame-generator.js';
import { loopbackServer, until } from '../../helpers/net.js';
import { SpyTcpBinding } from '../../helpers/spy-binding.js';


const SEED = 42;

function config(emulator: RhxEmulator, overrides: Partial<IntanRhxSourceConfig>): IntanRhxSourceConfig {
  const r = validate(intanRhxSourceSchema, {
    kind: 'intan-rhx',
    commandPort: emulator.commandPort,
    dataPort: emulator.waveformPort,
    channels: ['A-000'],
    ...overrides,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

async function setup(emulatorOptions: RhxEmulatorOptions, overrides: Partial<IntanRhxSourceConfig>, deps: ConstructorParameters<typeof IntanRhxSource>[1] = {}) {
  const emulator = new RhxEmulator({ seed: SEED, speed: 4, ...emulatorOptions });
  await emulator.start();
  const source = new IntanRhxSource(config(emulator, overrides), deps);
  const blocks: { first: number; frames: number; ts: number; samples: Int16Array }[] = [];
  const errors: OptoloopError[] = [];
  source.blocks$.subscribe((b: SampleBlock) => {
    blocks.push({ first: b.firstSampleIndex, frames: b.frameCount, ts: b.deviceTimestamp as number, samples: (b.samples as Int16Array).slice(0, b.frameCount * b.channelCount) });
  });
  source.errors$.subscribe((e) => errors.push(e));
  return { emulator, source, blocks, errors };
}

/** Amplifier index in the emulator's controller order, computed here from the port sizes. */
function amplifierIndex(ports: Record<string, number>, name: string): number {
  let base = 0;
  for (const p of 'ABCDEFGH') {
    if (p === name[0]) return base + Number(name.slice(2));
    base += ports[p] ?? 0;
  }
  throw new Error(name);
}

/** Checks wideband columns of each block against the seeded signal, given where each run started. */
function checkWide(
  blocks: { ts: number; frames: number; samples: Int16Array }[],
  run: { providerFrame: number; timestamp: number },
  columns: { column: number; amplifier: number }[],
  channelCount: number,
) {
  for (const b of blocks) {
    for (let f = 0; f < b.frames; f++) {
      const frame = run.providerFrame + ((b.ts + f - run.timestamp) >>> 0);
      for (const { column, amplifier } of columns) {
        const got = b.samples[f * channelCount + column];
        const want = seededSample(SEED, frame, amplifier);
        if (got !== want) assert.unreachable(`block ts ${b.ts} frame ${f} column ${column}: got ${got}, want ${want}`);
      }
    }
  }
}

test('the command sequence that starts streaming is the documented handshake, each command framed by the sentinel', async () => {
  const spy = new SpyTcpBinding();
  const { emulator, source, blocks } = await setup({ amplifiersPerPort: { A: 4, B: 4 } }, { channels: ['B-001', 'A-003'], blocksPerWrite: 1 }, { binding: spy });
  const info = await source.open();
  await source.start();
  await until(() => blocks.length >= 3, 'three blocks');
  const cmd = `127.0.0.1:${emulator.commandPort}`;
  const data = `127.0.0.1:${emulator.waveformPort}`;
  assert.equal(spy.log, [
    `open ${cmd}`,
    `write ${cmd} set RunMode Stop;get RunMode;`,
    `write ${cmd} execute ClearAllDataOutputs;get RunMode;`,
    `write ${cmd} set B-001.TCPDataOutputEnabled true;get RunMode;`,
    `write ${cmd} set A-003.TCPDataOutputEnabled true;get RunMode;`,
    `write ${cmd} set TCPNumberDataBlocksPerWrite 1;get RunMode;`,
    `write ${cmd} get SampleRateHertz;get RunMode;`,
    `write ${cmd} execute ConnectTCPWaveformDataOutput;get RunMode;`,
    `open ${data}`,
    `write ${cmd} set RunMode Run;get RunMode;`,
  ]);
  // What the emulated RHX received, sentinels removed, is the same sequence.
  assert.equal(
    emulator.commandLog.filter((c) => c !== 'get RunMode'),
    ['set RunMode Stop', 'execute ClearAllDataOutputs', 'set B-001.TCPDataOutputEnabled true', 'set A-003.TCPDataOutputEnabled true', 'set TCPNumberDataBlocksPerWrite 1', 'get SampleRateHertz', 'execute ConnectTCPWaveformDataOutput', 'set RunMode Run'],
  );
  assert.is(emulator.blocksPerWrite, 1);
  assert.is(info.sampleRateHz, 30000);
  assert.equal(info.channelNames, ['B-001', 'A-003']);
  assert.equal([...(info.uvPerCount as Float32Array)], [Math.fround(0.195), Math.fround(0.195)]);
  await source.stop();
  assert.is(emulator.commandLog.filter((c) => c !== 'get RunMode').at(-1), 'set RunMode Stop');
  assert.is(emulator.runMode, 'Stop');
  await source.close();
  assert.is(source.state, 'closed');
  await emulator.stop();
});

test('channel order with several ports and bands: RHX wire order, delivered in config order, values bit-exact', async () => {
  const ports = { A: 8, B: 8, C: 4 };
  const { emulator, source, blocks } = await setup({ amplifiersPerPort: ports }, { channels: ['C-002', 'A-001', 'B-007', 'A-000'], bands: ['wide', 'low', 'high'] });
  const info = await source.open();
  assert.equal(info.channelNames, ['C-002', 'C-002.low', 'C-002.high', 'A-001', 'A-001.low', 'A-001.high', 'B-007', 'B-007.low', 'B-007.high', 'A-000', 'A-000.low', 'A-000.high']);
  await source.start();
  await until(() => blocks.length >= 20, '20 blocks');
  // The emulator's frame layout, as protocols §1.3 orders it: port, native number, WIDE/LOW/HIGH.
  assert.equal(
    emulator.wireWords.map((w) => w.name),
    ['A-000', 'A-000.low', 'A-000.high', 'A-001', 'A-001.low', 'A-001.high', 'B-007', 'B-007.low', 'B-007.high', 'C-002', 'C-002.low', 'C-002.high'],
  );
  const names = ['C-002', 'A-001', 'B-007', 'A-000'];
  checkWide(blocks, emulator.runs[0], names.map((n, i) => ({ column: 3 * i, amplifier: amplifierIndex(ports, n) })), 12);
  // Each channel's LOW + HIGH equals its WIDE (the emulator's band split), and LOW is the smoother one.
  for (let i = 0; i < 4; i++) {
    let diffLow = 0;
    let diffHigh = 0;
    for (const b of blocks) {
      for (let f = 0; f < b.frames; f++) {
        const row = f * 12 + 3 * i;
        assert.is(b.samples[row + 1] + b.samples[row + 2], b.samples[row], `channel ${names[i]} frame ${f}`);
        if (f > 0) {
          diffLow += Math.abs(b.samples[row + 1] - b.samples[row + 1 - 12]);
          diffHigh += Math.abs(b.samples[row + 2] - b.samples[row + 2 - 12]);
        }
      }
    }
    assert.ok(diffLow * 4 < diffHigh, `${names[i]}: low band steps ${diffLow}, high band steps ${diffHigh}`);
  }
  await source.close();
  await emulator.stop();
});

test('data arriving one byte at a time, on both sockets, is delivered whole and bit-exact', async () => {
  const ports = { A: 4 };
  const { emulator, source, blocks } = await setup(
    { amplifiersPerPort: ports, commandFaults: { fragment: 'bytes' }, waveformFaults: { fragment: 'bytes' }, speed: 0.5 },
    { channels: ['A-000', 'A-001', 'A-002', 'A-003'], blocksPerWrite: 1 },
  );
  await source.open();
  await source.start();
  await until(() => blocks.length >= 4, 'four blocks one byte at a time');
  const writer = emulator.waveformWriter!;
  assert.ok(writer.fragmentsWritten >= 4 * (4 + 128 * 12), `fragments ${writer.fragmentsWritten}`);
  checkWide(blocks, emulator.runs[0], [0, 1, 2, 3].map((c) => ({ column: c, amplifier: c })), 4);
  blocks.forEach((b, i) => assert.is(b.first, i * 128));
  await source.close();
  await emulator.stop();
});

test('garbage between blocks and between replies: resynchronised, counted exactly, no data lost', async () => {
  const ports = { A: 8 };
  const { emulator, source, blocks } = await setup(
    {
      amplifiersPerPort: ports,
      waveformFaults: { garbageProbability: 0.3, maxGarbageBytes: 300, seed: 9, fragment: 'random', maxFragmentBytes: 700 },
      commandFaults: { garbageProbability: 0.5, maxGarbageBytes: 20, garbageKind: 'non-printable', seed: 3 },
    },
    { channels: ['A-005', 'A-002'], blocksPerWrite: 2 },
  );
  await source.open();
  await source.start();
  await until(() => blocks.length >= 200, '200 blocks');
  await source.stop();
  const wave = emulator.waveformWriter!;
  const cmd = emulator.commandWriter!;
  await wave.idle();
  await until(() => source.waveformBytes === wave.bytesWritten, 'every waveform byte read');
  await source.close();
  assert.ok(wave.garbageRuns > 20, `garbage runs ${wave.garbageRuns}`);
  assert.ok(cmd.garbageRuns > 3, `command garbage runs ${cmd.garbageRuns}`);
  assert.is(source.link.resyncs, wave.garbageRuns);
  assert.is(source.link.garbageBytes, wave.garbageBytesWritten + cmd.garbageBytesWritten);
  checkWide(blocks, emulator.runs[0], [{ column: 0, amplifier: 5 }, { column: 1, amplifier: 2 }], 2);
  blocks.forEach((b, i) => assert.is(b.first, i * 128));
  assert.is(source.counters.framesDropped, 0);
  await emulator.stop();
});

test('blocks lost upstream: a timestamp gap is counted as drops and firstSampleIndex jumps by exactly that', async () => {
  const { emulator, source, blocks } = await setup({ amplifiersPerPort: { A: 2 } }, { channels: ['A-001'] });
  await source.open();
  await source.start();
  await until(() => blocks.length >= 10, '10 blocks');
  emulator.dropNextBlocks(3);
  await until(() => source.counters.blocksDropped > 0 && blocks.length >= 20, 'the gap and 10 more blocks');
  await source.close();
  assert.is(source.counters.framesDropped, 384);
  assert.is(source.counters.blocksDropped, 3);
  let jumps = 0;
  for (let i = 1; i < blocks.length; i++) {
    const gap = blocks[i].first - (blocks[i - 1].first + blocks[i - 1].frames);
    assert.is(gap, (blocks[i].ts - blocks[i - 1].ts - 128) >>> 0);
    jumps += gap;
  }
  assert.is(jumps, source.counters.framesDropped);
  checkWide(blocks, emulator.runs[0], [{ column: 0, amplifier: 1 }], 1);
  await emulator.stop();
});

test('the device vanishing mid-stream: an error event, received frames all delivered, a reconnect when it comes back', async () => {
  const timers = new ManualTimers();
  const ports = { A: 4 };
  const { emulator, source, blocks, errors } = await setup(
    { amplifiersPerPort: ports, waveformFaults: { fragment: 'random', maxFragmentBytes: 500, seed: 5 } },
    { channels: ['A-000', 'A-003'], blocksPerWrite: 3, reconnect: { maxAttempts: null, initialDelayMs: 100, maxDelayMs: 1000 } },
    { timers },
  );
  await source.open();
  await source.start();
  await until(() => blocks.length >= 30, '30 blocks');
  await emulator.kill();
  await until(() => errors.length === 1, 'the error event');
  assert.ok(isOptoloopError(errors[0], 'E_DEVICE_DISCONNECTED'), String(errors[0]));
  assert.is(source.link.state, 'reconnecting');
  // Every whole frame that reached the driver was delivered, including those of a block cut short.
  const frameBytes = 4 + 2 * 2;
  const blockBytes = 4 + 128 * frameBytes;
  const received = source.waveformBytes;
  const rest = received % blockBytes;
  const expectedFrames = Math.floor(received / blockBytes) * 128 + (rest >= 4 ? Math.floor((rest - 4) / frameBytes) : 0);
  assert.is(source.counters.framesDelivered, expectedFrames);
  const before = blocks.length;
  checkWide(blocks, emulator.runs[0], [{ column: 0, amplifier: 0 }, { column: 1, amplifier: 3 }], 2);

  // First attempt while the device is still gone: refused, counted, next wait doubles.
  timers.advanceMs(100);
  await until(() => errors.length === 2, 'the failed reconnection attempt');
  assert.ok(isOptoloopError(errors[1], 'E_DEVICE_NOT_FOUND'), String(errors[1]));
  await emulator.revive();
  timers.advanceMs(200);
  await until(() => blocks.length >= before + 10, 'blocks after the reconnect');
  assert.is(source.link.reconnects, 1);
  assert.is(source.link.state, 'connected');
  assert.is(emulator.runs.length, 2);
  const after = blocks.slice(before);
  checkWide(after, emulator.runs[1], [{ column: 0, amplifier: 0 }, { column: 1, amplifier: 3 }], 2);
  // Stream indices never go back; the outage shows as counted drops and nothing else.
  let jumps = 0;
  for (let i = 1; i < blocks.length; i++) {
    const gap = blocks[i].first - (blocks[i - 1].first + blocks[i - 1].frames);
    assert.ok(gap >= 0);
    jumps += gap;
  }
  assert.is(jumps, source.counters.framesDropped);
  await source.close();
  await emulator.stop();
});

test('a silent device: no waveform data while running → E_DEVICE_TIMEOUT on errors$', async () => {
  const timers = new ManualTimers();
  const { emulator, source, blocks, errors } = await setup({ amplifiersPerPort: { A: 2 } }, { channels: ['A-000'], dataTimeoutMs: 500 }, { timers });
  await source.open();
  await source.start();
  await until(() => blocks.length >= 5, '5 blocks');
  const writer = emulator.waveformWriter!;
  writer.stall();
  await until(() => source.waveformBytes === writer.bytesWritten, 'the last bytes before the stall');
  timers.advanceMs(400);
  assert.is(errors.length, 0);
  timers.advanceMs(200); // 500 ms + one 4.3 ms write interval have now passed without a byte
  await until(() => errors.length === 1, 'the timeout error');
  assert.ok(isOptoloopError(errors[0], 'E_DEVICE_TIMEOUT'), String(errors[0]));
  assert.match(errors[0].message, 'no waveform data');
  assert.is(source.link.timeouts, 1);
  await source.close();
  await emulator.stop();
});

test('a command server that never answers: open() fails with E_DEVICE_TIMEOUT naming the command', async () => {
  const timers = new ManualTimers();
  let received = '';
  const silent = await loopbackServer((s) => s.on('data', (d) => (received += d.toString('latin1'))));
  const source = new IntanRhxSource(
    (validate(intanRhxSourceSchema, { kind: 'intan-rhx', commandPort: silent.port, channels: ['A-000'], commandTimeoutMs: 300 }) as { value: IntanRhxSourceConfig }).value,
    { timers },
  );
  const opening = source.open().then(
    () => null,
    (e: unknown) => e,
  );
  await until(() => received.includes('set RunMode Stop'), 'the first command');
  timers.advanceMs(300);
  const error = await opening;
  assert.ok(isOptoloopError(error, 'E_DEVICE_TIMEOUT'), String(error));
  assert.match((error as Error).message, '"set RunMode Stop"');
  assert.is(source.state, 'closed');
  await silent.close();
});

test('RHX refusing a command: E_DEVICE_REFUSED with RHX\'s text (a channel the controller lacks)', async () => {
  const { emulator, source } = await setup({ amplifiersPerPort: { A: 4 } }, { channels: ['D-010'] });
  try {
    await source.open();
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_DEVICE_REFUSED'), String(error));
    assert.match((error as Error).message, 'set D-010.TCPDataOutputEnabled true');
    assert.match((error as Error).message, 'Unrecognized parameter');
  }
  await emulator.stop();
});

test('config: channels validated by name and uniqueness, with paths', () => {
  const r = validate(intanRhxSourceSchema, { kind: 'intan-rhx', channels: ['A-000', 'A-0001', 'a-000'], bands: ['wide', 'wide'] });
  assert.not.ok(r.ok);
  if (!r.ok) {
    const paths = r.issues.map((i) => i.path);
    assert.ok(paths.includes('channels[1]'), paths.join());
  }
  const r2 = validate(intanRhxSourceSchema, { kind: 'intan-rhx', channels: ['A-000', 'a-000'], bands: ['wide', 'wide'] });
  assert.not.ok(r2.ok);
  if (!r2.ok) assert.equal(r2.issues.map((i) => i.path), ['channels[1]', 'bands']);
});

test('the rig config takes an intan-rhx source with defaults filled in', () => {
  const rig = validateRigConfig({ source: { kind: 'intan-rhx', channels: ['A-000', 'B-015'] } }, 'rig.yaml');
  assert.equal(rig.source, {
    kind: 'intan-rhx',
    host: '127.0.0.1',
    commandPort: 5000,
    dataPort: 5001,
    channels: ['A-000', 'B-015'],
    bands: ['wide'],
    blocksPerWrite: 1,
    connectTimeoutMs: 2000,
    commandTimeoutMs: 2000,
    dataTimeoutMs: 1000,
    reconnect: { maxAttempts: null, initialDelayMs: 100, maxDelayMs: 5000 },
  });
});

test.run();
