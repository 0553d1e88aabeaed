import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OpenEphysReader } from '../../../src/io/openephys/reader.js';
import { parseOebin } from '../../../src/io/openephys/oebin.js';
import { artifactDir, sharedData } from '../../helpers/paths.js';
import { randomInt16 } from '../../helpers/seeded.js';
import { firstDifference, replayAll } from '../../helpers/replay.js';
import { expectOptoloopError } from '../../helpers/expect-error.js';

// --- The test's own encoder, from protocols.md §5 (not our writer, not our .npy codec). ---

/** A NumPy v1.0 int64 vector; `headerCount` lets a test state a shape other than the data's. */
function encodeInt64Npy(values: readonly number[], headerCount = values.length): Uint8Array {
  let dict = `{'descr': '<i8', 'fortran_order': False, 'shape': (${headerCount},), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - 10 - 1, ' ') + '\n';
  const bytes = new Uint8Array(total + values.length * 8);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, (total - 10) & 0xff, (total - 10) >> 8], 0);
  for (let i = 0; i < dict.length; i++) bytes[10 + i] = dict.charCodeAt(i);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setBigInt64(total + i * 8, BigInt(v), true));
  return bytes;
}

function encodeDat(words: Int16Array): Uint8Array {
  const bytes = new Uint8Array(words.length * 2);
  const view = new DataView(bytes.buffer);
  words.forEach((w, i) => view.setInt16(i * 2, w, true));
  return bytes;
}

interface ChannelSpec {
  name: string;
  bitVolts: number;
  units: string;
  type?: number;
}

function writeRecording(root: string, folder: string, channels: ChannelSpec[], words: Int16Array, sampleNumbers: number[] | null, options: { guiVersion?: string; sampleNumbersHeaderCount?: number } = {}): string {
  const recording = join(root, 'Record Node 104', 'experiment1', 'recording1');
  const streamDir = join(recording, 'continuous', folder);
  mkdirSync(streamDir, { recursive: true });
  const oebin = {
    'GUI version': options.guiVersion ?? '1.0.1',
    continuous: [
      {
        folder_name: `${folder}/`,
        sample_rate: 30000.0,
        source_processor_name: 'Acquisition Board',
        source_processor_id: 100,
        stream_name: folder.split('.').pop(),
        recorded_processor: 'Record Node',
        recorded_processor_id: 104,
        num_channels: channels.length,
        channels: channels.map((c) => ({
          channel_name: c.name,
          description: 'test',
          identifier: '',
          history: 'test',
          bit_volts: c.bitVolts,
          units: c.units,
          ...(c.type === undefined ? {} : { type: c.type }),
        })),
      },
    ],
    events: [],
    spikes: [],
  };
  writeFileSync(join(recording, 'structure.oebin'), JSON.stringify(oebin, null, 2));
  writeFileSync(join(streamDir, 'continuous.dat'), encodeDat(words));
  if (sampleNumbers) writeFileSync(join(streamDir, 'sample_numbers.npy'), encodeInt64Npy(sampleNumbers, options.sampleNumbersHeaderCount));
  return recording;
}

function freshDir(name: string): string {
  rmSync(artifactDir(join('io-openephys-reader', name)), { recursive: true, force: true });
  return artifactDir(join('io-openephys-reader', name));
}

function pick(words: Int16Array, wordsPerFrame: number, keep: readonly number[]): Int16Array {
  const frames = words.length / wordsPerFrame;
  const out = new Int16Array(frames * keep.length);
  for (let f = 0; f < frames; f++) keep.forEach((w, k) => (out[f * keep.length + k] = words[f * wordsPerFrame + w]));
  return out;
}

const CHANNELS: ChannelSpec[] = [
  ...Array.from({ length: 9 }, (_, c) => ({ name: `CH${c + 1}`, bitVolts: c === 4 ? 0.5 : 0.195, units: 'uV', type: 0 })),
  { name: 'ADC1', bitVolts: 0.000152587890625, units: 'V', type: 2 },
  { name: 'SYNC', bitVolts: 1, units: '', type: 2 },
];

test('electrode channels replay bit for bit at several block sizes; sample numbers give the indices; a gap is counted', async () => {
  const root = freshDir('basic');
  const frames = 2500;
  const words = randomInt16(frames * 11, 21);
  // Sample numbers from 5000, with 30 samples missing before frame 700.
  const numbers = Array.from({ length: frames }, (_, f) => 5000 + f + (f >= 700 ? 30 : 0));
  const recording = writeRecording(root, 'Acquisition_Board-100.Rhythm_Data', CHANNELS, words, numbers);
  const expected = pick(words, 11, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  for (const blockFrames of [1, 30, 64, 999, 4000]) {
    const reader = new OpenEphysReader(join(recording, 'structure.oebin'));
    assert.is(reader.info.channelCount, 9);
    assert.is(reader.firstSampleIndex, 5000);
    const { blocks, samples, source } = await replayAll(reader, blockFrames);
    assert.is(firstDifference(samples, expected), -1, `block size ${blockFrames}`);
    // The block holding frame 700 starts there, at sample 5730; 30 frames are counted dropped.
    const after = blocks.find((b) => b.firstSampleIndex >= 5730)!;
    assert.is(after.firstSampleIndex, 5730);
    assert.is(after.deviceTimestamp, 5730);
    assert.is(source.counters.framesDropped, 30);
    assert.is(source.counters.blocksDropped, 1);
    assert.is(source.counters.framesDelivered, frames);
    for (const b of blocks) assert.ok(b.frameCount <= blockFrames);
  }
  const reader = new OpenEphysReader(recording);
  assert.equal(reader.info.channelNames, CHANNELS.slice(0, 9).map((c) => c.name));
  assert.equal(Array.from(reader.info.uvPerCount!), CHANNELS.slice(0, 9).map((c) => Math.fround(c.bitVolts)));
  reader.close();
});

test('channels "analog" adds the ADC input in µV per count; the sync line is never delivered', async () => {
  const root = freshDir('analog');
  const words = randomInt16(100 * 11, 3);
  const recording = writeRecording(root, 'Acquisition_Board-100.Rhythm_Data', CHANNELS, words, Array.from({ length: 100 }, (_, i) => i));
  const reader = new OpenEphysReader(recording, { channels: 'analog' });
  assert.is(reader.info.channelCount, 10);
  assert.is(reader.info.channelNames[9], 'ADC1');
  assert.is(reader.info.uvPerCount![9], 152.587890625);
  assert.is(firstDifference((await replayAll(reader, 17)).samples, pick(words, 11, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])), -1);
});

test('path forms: the oebin, its folder, the Record Node folder, the session folder, continuous.dat itself', () => {
  const root = freshDir('paths');
  const recording = writeRecording(root, 'Acquisition_Board-100.Rhythm_Data', CHANNELS, new Int16Array(11 * 4), [7, 8, 9, 10]);
  for (const path of [join(recording, 'structure.oebin'), recording, join(root, 'Record Node 104'), root, join(recording, 'continuous', 'Acquisition_Board-100.Rhythm_Data', 'continuous.dat')]) {
    const reader = new OpenEphysReader(path);
    assert.is(reader.firstSampleIndex, 7, path);
    assert.is(reader.info.totalFrames, 4, path);
    reader.close();
  }
});

test('a recording that did not stop cleanly (sample_numbers.npy header still 0) reads the frames both files hold, with a note', async () => {
  const root = freshDir('unclean');
  const words = randomInt16(60 * 11, 8);
  const recording = writeRecording(root, 'A-100.S', CHANNELS, words, Array.from({ length: 50 }, (_, i) => i), { sampleNumbersHeaderCount: 0 });
  const reader = new OpenEphysReader(recording);
  assert.is(reader.info.totalFrames, 50);
  assert.match(reader.notes.join('\n'), '50 frames past the 0 that sample_numbers.npy');
  assert.match(reader.notes.join('\n'), '10 frames of continuous.dat without sample numbers are ignored');
  assert.is(firstDifference((await replayAll(reader, 8)).samples, pick(words.subarray(0, 50 * 11), 11, [0, 1, 2, 3, 4, 5, 6, 7, 8])), -1);
});

test('the real structure.oebin files parse: streams, rates, channel kinds and scales', () => {
  const np1 = parseOebin(sharedData('probeinterface-testdata-meta', 'openephys', 'OE_Neuropix-PXI-NP1-binary', 'Record_Node_101', 'experiment1', 'recording1', 'structure.oebin'));
  assert.is(np1.guiVersion, '1.0.1');
  assert.is(np1.streams.length, 1);
  assert.is(np1.streams[0].folderName, 'Neuropix-PXI-100.ProbeA');
  assert.is(np1.streams[0].channels.length, 384);
  assert.ok(np1.streams[0].channels.every((c) => c.kind === 'electrode' && c.uvPerCount === 0.1949999928));

  // GUI 0.6.7: no channel type field; kinds come from the names.
  const np2 = parseOebin(sharedData('probeinterface-testdata-meta', 'openephys', 'OE_Neuropix-PXI-NP2-4shank-binary', 'Record_Node_101', 'experiment4', 'recording2', 'structure.oebin'));
  assert.is(np2.guiVersion, '0.6.7');
  assert.equal(np2.streams.map((s) => [s.folderName, s.sampleRateHz, s.channels.length]), [
    ['Neuropix-PXI-100.ProbeA-AP', 30000, 385],
    ['Neuropix-PXI-100.ProbeA-LFP', 2500, 385],
    ['NI-DAQmx-104.PXIe-6341', 30000, 4],
  ]);
  const ap = np2.streams[0].channels;
  assert.is(ap.filter((c) => c.kind === 'electrode').length, 384);
  assert.is(ap[384].name, 'AP_SYNC');
  assert.is(ap[384].kind, 'sync');
  const daq = np2.streams[2].channels;
  assert.ok(daq.every((c) => c.kind === 'adc'));
  assert.is(daq[0].uvPerCount, 0.0003051850944757462 * 1e6);
});

test('the real oebin without its data: the reader names the missing continuous.dat', () => {
  const oebin = sharedData('probeinterface-testdata-meta', 'openephys', 'OE_Neuropix-PXI-NP2-4shank-binary', 'Record_Node_101', 'experiment4', 'recording2', 'structure.oebin');
  expectOptoloopError(() => new OpenEphysReader(oebin, { stream: 'ProbeA-LFP' }), 'E_FILE_NOT_FOUND', 'Neuropix-PXI-100.ProbeA-LFP', 'continuous.dat', 'ENOENT');
  expectOptoloopError(() => new OpenEphysReader(oebin, { stream: 'PXIe-6341' }), 'E_FILE_UNSUPPORTED', 'NI-DAQmx-104.PXIe-6341 has no electrode channels', 'choose channels "analog"');
  expectOptoloopError(() => new OpenEphysReader(oebin, { stream: 'ProbeB' }), 'E_FILE_NOT_FOUND', 'no continuous stream "ProbeB"', '0: Neuropix-PXI-100.ProbeA-AP, 1: Neuropix-PXI-100.ProbeA-LFP, 2: NI-DAQmx-104.PXIe-6341');
});

test('corrupt recordings fail naming the file, the field or offset and what was expected', () => {
  const root = freshDir('corrupt');
  const words = randomInt16(40 * 11, 2);
  const numbers = Array.from({ length: 40 }, (_, i) => i);

  const garbage = writeRecording(join(root, 'garbage'), 'A-1.S', CHANNELS, words, numbers);
  writeFileSync(join(garbage, 'structure.oebin'), '{"GUI version": "1.0.1", "continuous": [ {');
  expectOptoloopError(() => new OpenEphysReader(garbage), 'E_FILE_MALFORMED', join(garbage, 'structure.oebin'), 'not valid JSON', 'expected an Open Ephys structure.oebin');

  const noRate = writeRecording(join(root, 'norate'), 'A-1.S', CHANNELS, words, numbers);
  writeFileSync(join(noRate, 'structure.oebin'), JSON.stringify({ continuous: [{ folder_name: 'A-1.S/', channels: [{ channel_name: 'CH1', bit_volts: 0.195 }] }] }));
  expectOptoloopError(() => new OpenEphysReader(noRate), 'E_FILE_MALFORMED', 'continuous[0].sample_rate', 'expected a positive number', 'got nothing');

  const badScale = writeRecording(join(root, 'badscale'), 'A-1.S', [{ name: 'CH1', bitVolts: -1, units: 'uV', type: 0 }], words.subarray(0, 40), numbers);
  expectOptoloopError(() => new OpenEphysReader(badScale), 'E_FILE_MALFORMED', 'continuous[0].channels[0].bit_volts', 'a positive number', 'got -1');

  const odd = writeRecording(join(root, 'odd'), 'A-1.S', CHANNELS, words.subarray(0, 40 * 11 - 3), numbers);
  expectOptoloopError(() => new OpenEphysReader(odd), 'E_FILE_MALFORMED', 'continuous.dat', 'size', 'a whole number of frames of 11 channels (22 bytes', '874 bytes (16 left over)');

  const short = writeRecording(join(root, 'short'), 'A-1.S', CHANNELS, words.subarray(0, 30 * 11), numbers);
  expectOptoloopError(() => new OpenEphysReader(short), 'E_FILE_TRUNCATED', 'continuous.dat', 'at byte 660', 'expected 40 frames (880 bytes), as many as sample_numbers.npy counts', 'got 30 frames');

  const cutNpy = writeRecording(join(root, 'cutnpy'), 'A-1.S', CHANNELS, words, numbers);
  const npyPath = join(cutNpy, 'continuous', 'A-1.S', 'sample_numbers.npy');
  writeFileSync(npyPath, encodeInt64Npy(numbers).subarray(0, 40));
  expectOptoloopError(() => new OpenEphysReader(cutNpy), 'E_FILE_TRUNCATED', npyPath, 'header', 'ending at byte 128');

  const fewNumbers = writeRecording(join(root, 'fewnumbers'), 'A-1.S', CHANNELS, words, numbers);
  writeFileSync(join(fewNumbers, 'continuous', 'A-1.S', 'sample_numbers.npy'), encodeInt64Npy(numbers).subarray(0, 128 + 8 * 20 + 3));
  expectOptoloopError(() => new OpenEphysReader(fewNumbers), 'E_FILE_TRUNCATED', 'sample_numbers.npy', 'expected 40 sample numbers (320 bytes)', 'got 20');

  const magic = writeRecording(join(root, 'magic'), 'A-1.S', CHANNELS, words, numbers);
  writeFileSync(join(magic, 'continuous', 'A-1.S', 'sample_numbers.npy'), Buffer.from('not numpy at all, just text'));
  expectOptoloopError(() => new OpenEphysReader(magic), 'E_FILE_MALFORMED', 'sample_numbers.npy', 'magic', 'at byte 0', '\\x93NUMPY');

  expectOptoloopError(() => new OpenEphysReader(join(root, 'nothing-here')), 'E_FILE_NOT_FOUND', 'nothing-here');
  mkdirSync(join(root, 'empty'), { recursive: true });
  expectOptoloopError(() => new OpenEphysReader(join(root, 'empty')), 'E_FILE_NOT_FOUND', 'no structure.oebin', 'four levels');
});

test('sample numbers that go back fail the replay with the item and the values', async () => {
  const root = freshDir('backwards');
  const numbers = Array.from({ length: 50 }, (_, i) => (i < 20 ? 100 + i : 90 + i - 20));
  const recording = writeRecording(root, 'A-1.S', CHANNELS, randomInt16(50 * 11, 6), numbers);
  try {
    await replayAll(new OpenEphysReader(recording), 32);
    assert.unreachable();
  } catch (error) {
    assert.is((error as { code?: string }).code, 'E_FILE_MALFORMED');
    assert.match((error as Error).message, 'sample number 20');
    assert.match((error as Error).message, 'expected a value above the previous one (119), got 90');
  }
});

test.run();
