import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RawReader } from '../../../src/io/raw/reader.js';
import { RawWriter } from '../../../src/io/raw/writer.js';
import { artifactDir, sharedData } from '../../helpers/paths.js';
import { randomInt16 } from '../../helpers/seeded.js';
import { firstDifference, replayAll } from '../../helpers/replay.js';
import { expectOptoloopError } from '../../helpers/expect-error.js';

const dir = (() => {
  rmSync(artifactDir('io-raw'), { recursive: true, force: true });
  return artifactDir('io-raw');
})();

function encodeWords(words: Int16Array, headerBytes = 0): Uint8Array {
  const bytes = new Uint8Array(headerBytes + words.length * 2);
  const view = new DataView(bytes.buffer);
  words.forEach((w, i) => view.setInt16(headerBytes + i * 2, w, true));
  return bytes;
}

function writeRaw(name: string, words: Int16Array, sidecar: unknown, headerBytes = 0): string {
  const path = join(dir, name);
  writeFileSync(path, encodeWords(words, headerBytes));
  writeFileSync(`${path}.json`, typeof sidecar === 'string' ? sidecar : JSON.stringify(sidecar));
  return path;
}

test('a hand-written file and sidecar replay bit for bit (7 channels, header bytes, per-channel scale, several block sizes)', async () => {
  const words = randomInt16(7 * 1234, 31);
  const uv = [0.195, 0.195, 0.5, 1, 2.5, 0.1, 0.195];
  const path = writeRaw('hand.bin', words, { format: 'optoloop-raw-int16', sampleRateHz: 20000, channelCount: 7, uvPerCount: uv, firstSampleIndex: 42, dataOffsetBytes: 16, channelNames: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] }, 16);
  for (const blockFrames of [1, 20, 500, 2000]) {
    const reader = new RawReader(path);
    assert.is(reader.info.totalFrames, 1234);
    const { blocks, samples } = await replayAll(reader, blockFrames);
    assert.is(firstDifference(samples, words), -1, `block size ${blockFrames}`);
    assert.is(blocks[0].firstSampleIndex, 42);
    assert.is(blocks[0].deviceTimestamp, null);
  }
  const reader = new RawReader(path);
  assert.equal(Array.from(reader.info.uvPerCount!), uv.map(Math.fround));
  assert.equal(reader.info.channelNames, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  assert.is(reader.layout, null);
});

test('the sidecar probe file gives the layout', () => {
  copyFileSync(sharedData('probeinterface-library', 'neuronexus', 'A4x8-5mm-100-200-177', 'A4x8-5mm-100-200-177.json'), join(dir, 'a4x8.json'));
  const path = writeRaw('probe.bin', new Int16Array(32 * 3), { format: 'optoloop-raw-int16', sampleRateHz: 30000, channelCount: 32, uvPerCount: 0.195, probeFile: 'a4x8.json' });
  const reader = new RawReader(path);
  assert.is(reader.layout!.channelCount, 32);
  assert.is(reader.layout!.shankNames.length, 4);
});

test('RawWriter output reads back bit for bit, with its scale, names and start index', async () => {
  const path = join(dir, 'written.dat');
  const writer = new RawWriter({ dataPath: path, sampleRateHz: 1000, channelCount: 5, uvPerCount: [1, 2, 3, 4, 5], channelNames: ['v', 'w', 'x', 'y', 'z'], firstSampleIndex: 9, bufferBytes: 100 });
  const words = randomInt16(5 * 777, 2);
  writer.writeFrames(words.subarray(0, 5 * 300), 300, 9);
  writer.writeFrames(words.subarray(5 * 300), 477);
  writer.close();
  const reader = new RawReader(path);
  assert.equal(Array.from(reader.info.uvPerCount!), [1, 2, 3, 4, 5]);
  assert.equal(reader.info.channelNames, ['v', 'w', 'x', 'y', 'z']);
  assert.is(reader.firstSampleIndex, 9);
  assert.is(firstDifference((await replayAll(reader, 64)).samples, words), -1);
});

test('garbage or wrong sidecars fail naming the sidecar and the JSON path; bad data sizes name the data file', () => {
  const words = new Int16Array(4 * 10);
  const good = { format: 'optoloop-raw-int16', sampleRateHz: 30000, channelCount: 4, uvPerCount: 0.195 };

  const garbage = writeRaw('garbage.bin', words, '{"format": "optoloop-raw-int16", sampleRateHz: 30000');
  expectOptoloopError(() => new RawReader(garbage), 'E_FILE_MALFORMED', 'garbage.bin.json', 'not valid JSON', 'expected a raw recording sidecar');

  const wrong = writeRaw('wrong.bin', words, { ...good, sampleRateHz: -5, channelCount: 4.5, uvPerCount: [0.195, 'x'], extra: true });
  const error = expectOptoloopError(() => new RawReader(wrong), 'E_FILE_MALFORMED', 'wrong.bin.json', 'invalid raw recording sidecar');
  assert.match(error.message, 'sampleRateHz: expected a positive number, got -5');
  assert.match(error.message, 'channelCount: expected an integer ≥ 1 and ≤ 65535, got 4.5');
  assert.match(error.message, 'uvPerCount[1]: expected a positive number (µV per count), got "x"');
  assert.match(error.message, 'extra: unknown key');

  const { sampleRateHz: _r, ...noRate } = good;
  expectOptoloopError(() => new RawReader(writeRaw('norate.bin', words, noRate)), 'E_FILE_MALFORMED', 'sampleRateHz: missing; expected a positive number');

  expectOptoloopError(() => new RawReader(writeRaw('counts.bin', words, { ...good, uvPerCount: [1, 2, 3] })), 'E_FILE_MALFORMED', 'uvPerCount: expected 4 values (one per channel), got 3');
  expectOptoloopError(() => new RawReader(writeRaw('format.bin', words, { ...good, format: 'int16' })), 'E_FILE_MALFORMED', 'format: expected "optoloop-raw-int16", got "int16"');

  const odd = writeRaw('odd.bin', words.subarray(0, 39), good);
  expectOptoloopError(() => new RawReader(odd), 'E_FILE_MALFORMED', 'odd.bin', 'size', 'a whole number of frames of 4 channels (8 bytes)', '78 bytes (6 left over)');

  writeFileSync(join(dir, 'nosidecar.bin'), encodeWords(words));
  expectOptoloopError(() => new RawReader(join(dir, 'nosidecar.bin')), 'E_FILE_NOT_FOUND', 'nosidecar.bin.json', 'sidecar');

  const badProbe = writeRaw('badprobe.bin', words, { ...good, probeFile: 'absent-probe.json' });
  expectOptoloopError(() => new RawReader(badProbe), 'E_FILE_NOT_FOUND', 'absent-probe.json');
});

test.run();
