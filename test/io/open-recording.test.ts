import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectFormat, fileSourceFromConfig, openRecording } from '../../src/io/open-recording.js';
import { SpikeGlxWriter, spikeGlxBinName } from '../../src/io/spikeglx/writer.js';
import { OpenEphysRecordingWriter } from '../../src/io/openephys/writer.js';
import { RawWriter } from '../../src/io/raw/writer.js';
import { fileSourceSchema } from '../../src/config/rig-config.js';
import { validate } from '../../src/config/schema.js';
import { ManualClock } from '../../src/core/clock.js';
import { artifactDir } from '../helpers/paths.js';
import { expectOptoloopError, expectRejection } from '../helpers/expect-error.js';

const dir = (() => {
  rmSync(artifactDir('io-open'), { recursive: true, force: true });
  return artifactDir('io-open');
})();

const sglxDir = join(dir, 'sglx');
mkdirSync(sglxDir, { recursive: true });
const sglxBin = join(sglxDir, spikeGlxBinName('run'));
{
  const w = new SpikeGlxWriter({ binPath: sglxBin, sampleRateHz: 30000, channelCount: 3, uvPerCount: 2.34375 });
  w.writeFrames(new Int16Array(30), 10);
  w.close();
}
const oe = new OpenEphysRecordingWriter({ directory: join(dir, 'oe') });
oe.addContinuousStream({ streamName: 'A', sampleRateHz: 30000, channelCount: 2, uvPerCount: 0.195 }).writeFrames(new Int16Array(8), 4, 0);
oe.close();
const rawPath = join(dir, 'raw.dat');
{
  const w = new RawWriter({ dataPath: rawPath, sampleRateHz: 1000, channelCount: 2, uvPerCount: 1 });
  w.writeFrames(new Int16Array(6), 3);
  w.close();
}

test('auto detection from every path form', () => {
  assert.equal(detectFormat(sglxBin), { format: 'spikeglx', path: sglxBin });
  assert.is(detectFormat(sglxBin.replace('.bin', '.meta')).format, 'spikeglx');
  assert.is(detectFormat(sglxDir).format, 'spikeglx');
  assert.is(detectFormat(join(dir, 'oe')).format, 'openephys');
  assert.is(detectFormat(oe.oebinPath).format, 'openephys');
  assert.is(detectFormat(join(oe.continuousDir, 'optoloop-100.A', 'continuous.dat')).format, 'openephys');
  assert.is(detectFormat(rawPath).format, 'raw');
  assert.equal(detectFormat(`${rawPath}.json`), { format: 'raw', path: rawPath });
  writeFileSync(join(dir, 'x.rhd'), '');
  assert.is(detectFormat(join(dir, 'x.rhd')).format, 'intan-rhd');
});

test('openRecording returns a reader with stream info for each format', () => {
  const cases: [string, string, number][] = [
    [sglxBin, 'spikeglx', 3],
    [join(dir, 'oe'), 'openephys', 2],
    [rawPath, 'raw', 2],
  ];
  for (const [path, format, channels] of cases) {
    const reader = openRecording(path);
    assert.is(reader.format, format);
    assert.is(reader.info.channelCount, channels);
    assert.ok(reader.info.totalFrames! > 0);
    reader.close();
  }
  // An explicit format skips detection.
  assert.is(openRecording(rawPath, 'raw').format, 'raw');
});

test('unknown, missing and ambiguous paths fail with what was expected', () => {
  writeFileSync(join(dir, 'mystery.xyz'), 'data');
  expectOptoloopError(() => detectFormat(join(dir, 'mystery.xyz')), 'E_FILE_UNSUPPORTED', 'mystery.xyz', 'cannot tell the recording format', 'SpikeGLX .bin/.meta', 'mystery.xyz.json sidecar');
  expectOptoloopError(() => detectFormat(join(dir, 'absent.bin')), 'E_FILE_NOT_FOUND', 'absent.bin', 'ENOENT');
  writeFileSync(join(dir, 'stim.rhs'), '');
  expectOptoloopError(() => detectFormat(join(dir, 'stim.rhs')), 'E_FILE_UNSUPPORTED', '.rhs', 'expected .rhd');
  const two = join(dir, 'two');
  mkdirSync(two, { recursive: true });
  for (const run of ['a', 'b']) {
    const w = new SpikeGlxWriter({ binPath: join(two, spikeGlxBinName(run)), sampleRateHz: 30000, channelCount: 1, uvPerCount: 1 });
    w.close();
  }
  expectOptoloopError(() => detectFormat(two), 'E_FILE_UNSUPPORTED', 'holds 2 SpikeGLX streams', 'a_g0_t0.imec0.ap.meta, b_g0_t0.imec0.ap.meta');
  const empty = join(dir, 'empty');
  mkdirSync(empty, { recursive: true });
  expectOptoloopError(() => detectFormat(empty), 'E_FILE_UNSUPPORTED', 'no recording found in this folder');
});

test('fileSourceFromConfig: the rig config section becomes a replay source; a bad path rejects at open()', async () => {
  const parsed = validate(fileSourceSchema, { kind: 'file', path: rawPath, realTime: false, blockFrames: 2 });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const source = fileSourceFromConfig(parsed.value, { clock: new ManualClock() });
  const info = await source.open();
  assert.is(info.channelCount, 2);
  assert.is(source.recording!.format, 'raw');
  await source.close();

  const missing = validate(fileSourceSchema, { kind: 'file', path: join(dir, 'nope.bin') });
  if (!missing.ok) throw new Error(JSON.stringify(missing.issues));
  const bad = fileSourceFromConfig(missing.value);
  await expectRejection(bad.open(), 'E_FILE_NOT_FOUND', 'nope.bin');
});

test('fileSourceFromConfig: stream by index or name, and the channel selection, from the config', async () => {
  const two = new OpenEphysRecordingWriter({ directory: join(dir, 'oe-two') });
  two.addContinuousStream({ streamName: 'ProbeA', sampleRateHz: 30000, channelCount: 2, uvPerCount: 0.195 }).writeFrames(new Int16Array(4), 2, 0);
  two.addContinuousStream({
    streamName: 'ProbeB', sampleRateHz: 2500, channelCount: 3, uvPerCount: [0.195, 0.195, 152.587890625], channelKinds: ['electrode', 'electrode', 'adc'],
  }).writeFrames(new Int16Array(6), 2, 0);
  two.close();
  const cases: [Record<string, unknown>, number, number][] = [
    [{}, 30000, 2],
    [{ stream: '1' }, 2500, 2],
    [{ stream: 'ProbeB', channels: 'analog' }, 2500, 3],
  ];
  for (const [extra, rate, channels] of cases) {
    const parsed = validate(fileSourceSchema, { kind: 'file', path: join(dir, 'oe-two'), ...extra });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const source = fileSourceFromConfig(parsed.value);
    const info = await source.open();
    assert.is(info.sampleRateHz, rate, JSON.stringify(extra));
    assert.is(info.channelCount, channels, JSON.stringify(extra));
    await source.close();
  }
});

test.run();
