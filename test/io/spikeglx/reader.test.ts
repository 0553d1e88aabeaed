import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SpikeGlxReader } from '../../../src/io/spikeglx/reader.js';
import { SpikeGlxMeta } from '../../../src/io/spikeglx/meta.js';
import { describeSpikeGlxStream } from '../../../src/io/spikeglx/stream.js';
import { artifactDir, sharedData } from '../../helpers/paths.js';
import { randomInt16 } from '../../helpers/seeded.js';
import { firstDifference, replayAll } from '../../helpers/replay.js';
import { expectOptoloopError } from '../../helpers/expect-error.js';

// --- The test's own encoder: SpikeGLX files written from the layout in protocols.md §4. ---

function encodeMeta(entries: Record<string, string>): string {
  return Object.entries(entries)
    .map(([k, v]) => `${k}=${v}\r\n`)
    .join('');
}

/** int16 LE words, frame-major. */
function encodeBin(words: Int16Array): Uint8Array {
  const bytes = new Uint8Array(words.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < words.length; i++) view.setInt16(i * 2, words[i], true);
  return bytes;
}

function writePair(dir: string, stem: string, meta: Record<string, string>, words: Int16Array): string {
  writeFileSync(join(dir, `${stem}.meta`), encodeMeta(meta));
  writeFileSync(join(dir, `${stem}.bin`), encodeBin(words));
  return join(dir, `${stem}.bin`);
}

function freshDir(name: string): string {
  rmSync(artifactDir(join('io-spikeglx-reader', name)), { recursive: true, force: true });
  return artifactDir(join('io-spikeglx-reader', name));
}

/** Expected delivered samples: the given words of each frame. */
function pick(words: Int16Array, wordsPerFrame: number, keep: readonly number[]): Int16Array {
  const frames = words.length / wordsPerFrame;
  const out = new Int16Array(frames * keep.length);
  for (let f = 0; f < frames; f++) keep.forEach((w, k) => (out[f * keep.length + k] = words[f * wordsPerFrame + w]));
  return out;
}

// NP1.0 gains and the µV per count they give with imAiRangeMax 0.6 and imMaxInt 512:
// 0.6 V / 512 / gain = 1171.875 µV / gain, exact in binary for these gains.
const NP1_UV: Record<number, number> = { 50: 23.4375, 125: 9.375, 250: 4.6875, 500: 2.34375, 1000: 1.171875, 2000: 0.5859375 };

function imecApMeta(frames: number): { meta: Record<string, string>; words: number; keep: number[]; gains: number[] } {
  // 14 AP channels acquired; channel 5 not saved: 13 AP + SY = 14 words per frame.
  const gains = [500, 250, 1000, 125, 2000, 500, 50, 500, 250, 1000, 125, 2000, 500, 50];
  const imro = ['(0,14)', ...gains.map((g, c) => `(${c} 0 0 ${g} 250 1)`)].join('');
  return {
    meta: {
      typeThis: 'imec',
      imSampRate: '30000.25',
      nSavedChans: '14',
      snsApLfSy: '13,0,1',
      acqApLfSy: '14,14,1',
      snsSaveChanSubset: '0:4,6:13,28',
      imAiRangeMax: '0.6',
      imAiRangeMin: '-0.6',
      imMaxInt: '512',
      imDatPrb_type: '0',
      imDatPrb_pn: 'PRB_1_4_0480_1_C',
      firstSample: '987654321',
      fileSizeBytes: String(frames * 14 * 2),
      '~imroTbl': imro,
    },
    words: 14,
    keep: Array.from({ length: 13 }, (_, i) => i),
    gains,
  };
}

test('imec AP with a saved subset: replay gives back exactly the AP words, SY excluded, at several block sizes', async () => {
  const dir = freshDir('ap');
  const frames = 4099;
  const { meta, words, keep, gains } = imecApMeta(frames);
  const data = randomInt16(frames * words, 11);
  const bin = writePair(dir, 'run_g0_t0.imec0.ap', meta, data);
  const expected = pick(data, words, keep);
  for (const blockFrames of [1, 7, 30, 1000, 5000]) {
    const reader = new SpikeGlxReader(bin);
    assert.is(reader.info.channelCount, 13);
    assert.is(reader.info.totalFrames, frames);
    assert.is(reader.info.sampleRateHz, 30000.25);
    const { blocks, samples } = await replayAll(reader, blockFrames);
    assert.is(firstDifference(samples, expected), -1, `block size ${blockFrames}`);
    assert.is(blocks[0].firstSampleIndex, 987654321);
    const last = blocks[blocks.length - 1];
    assert.is(last.firstSampleIndex, 987654321 + (blocks.length - 1) * blockFrames);
    assert.is(last.deviceTimestamp, last.firstSampleIndex);
    assert.is(blocks.length, Math.ceil(frames / blockFrames));
  }
  const reader = new SpikeGlxReader(bin.replace('.bin', '.meta'));
  // Saved channel k has acquisition index 0,1,2,3,4,6,…,13: its gain is that imro entry's.
  const acq = [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13];
  assert.equal(Array.from(reader.info.uvPerCount!), acq.map((a) => NP1_UV[gains[a]]));
  assert.equal(reader.info.channelNames, acq.map((a) => `AP${a}`));
  reader.close();
});

test('imec LF: gains from the lfGain column, LF names counted from the LF base', async () => {
  const dir = freshDir('lf');
  const frames = 333;
  const lfGains = [250, 125, 500, 50, 1000];
  const meta = {
    typeThis: 'imec',
    imSampRate: '2500',
    nSavedChans: '6',
    snsApLfSy: '0,5,1',
    acqApLfSy: '5,5,1',
    snsSaveChanSubset: '5:10',
    imAiRangeMax: '0.6',
    imDatPrb_type: '0',
    firstSample: '12',
    fileSizeBytes: String(frames * 6 * 2),
    '~imroTbl': ['(0,5)', ...lfGains.map((g, c) => `(${c} 0 0 500 ${g} 1)`)].join(''),
  };
  const data = randomInt16(frames * 6, 5);
  const bin = writePair(dir, 'run_g0_t0.imec0.lf', meta, data);
  const reader = new SpikeGlxReader(bin);
  assert.equal(reader.info.channelNames, ['LF0', 'LF1', 'LF2', 'LF3', 'LF4']);
  assert.equal(Array.from(reader.info.uvPerCount!), lfGains.map((g) => NP1_UV[g]));
  const { samples } = await replayAll(reader, 64);
  assert.is(firstDifference(samples, pick(data, 6, [0, 1, 2, 3, 4])), -1);
});

test('nidq with MN/MA/XA/DW words: neural = MN; analog = MN+MA+XA at their gains; DW never', async () => {
  const dir = freshDir('nidq');
  const frames = 1001;
  const meta = {
    typeThis: 'nidq',
    niSampRate: '25000',
    nSavedChans: '8',
    snsMnMaXaDw: '3,2,2,1',
    snsSaveChanSubset: 'all',
    niAiRangeMax: '5',
    niAiRangeMin: '-5',
    niMaxInt: '32768',
    niMNGain: '200',
    niMAGain: '10',
    firstSample: '0',
    fileSizeBytes: String(frames * 8 * 2),
    '~snsChanMap': '(3,2,2,0,1)(MN0;0:0)(MN1;1:1)(MN2;2:2)(MA0;3:3)(MA1;4:4)(XA0;5:5)(XA1;6:6)(XD0;7:7)',
  };
  const data = randomInt16(frames * 8, 9);
  const bin = writePair(dir, 'run_g0_t0.nidq', meta, data);
  // 5 V / 32768 = 152.587890625 µV per count before gain.
  const neural = new SpikeGlxReader(bin);
  assert.equal(neural.info.channelNames, ['MN0', 'MN1', 'MN2']);
  assert.equal(Array.from(neural.info.uvPerCount!), [0.762939453125, 0.762939453125, 0.762939453125]);
  assert.is(firstDifference((await replayAll(neural, 100)).samples, pick(data, 8, [0, 1, 2])), -1);
  const analog = new SpikeGlxReader(bin, { channels: 'analog' });
  assert.equal(analog.info.channelNames, ['MN0', 'MN1', 'MN2', 'MA0', 'MA1', 'XA0', 'XA1']);
  assert.equal(Array.from(analog.info.uvPerCount!), [0.762939453125, 0.762939453125, 0.762939453125, 15.2587890625, 15.2587890625, 152.587890625, 152.587890625]);
  assert.is(firstDifference((await replayAll(analog, 33)).samples, pick(data, 8, [0, 1, 2, 3, 4, 5, 6])), -1);

  const { niMNGain: _mn, ...noMnGain } = meta;
  const missing = writePair(dir, 'nogain_g0_t0.nidq', noMnGain, data);
  expectOptoloopError(() => new SpikeGlxReader(missing), 'E_FILE_MALFORMED', 'nogain_g0_t0.nidq.meta', 'niMNGain', 'missing key', 'gain of the MN (neural) channels');
  const { niMAGain: _ma, ...noMaGain } = meta;
  const noMa = writePair(dir, 'noma_g0_t0.nidq', noMaGain, data);
  assert.is(new SpikeGlxReader(noMa).info.channelCount, 3, 'MA gain is not needed for the neural channels');
  expectOptoloopError(() => new SpikeGlxReader(noMa, { channels: 'analog' }), 'E_FILE_MALFORMED', 'niMAGain', 'missing key');
});

test('~snsGeomMap gives the layout: x offset by shank × spacing, z as y, one shank per index', () => {
  const dir = freshDir('geom');
  const { meta } = imecApMeta(2);
  const entries = Array.from({ length: 13 }, (_, c) => `(${c % 2}:${c % 2 ? 43 : 11}:${20 * c}:1)`).join('');
  const bin = writePair(dir, 'g_g0_t0.imec0.ap', { ...meta, '~snsGeomMap': `(NP2014,2,250,70)${entries}` }, new Int16Array(2 * 14));
  const reader = new SpikeGlxReader(bin);
  const layout = reader.layout!;
  assert.is(layout.probeName, 'NP2014');
  assert.equal(layout.shankNames, ['0', '1']);
  assert.equal(Array.from(layout.xUm.subarray(0, 3)), [11, 250 + 43, 11]);
  assert.equal(Array.from(layout.yUm.subarray(0, 3)), [0, 20, 40]);
  assert.equal(Array.from(layout.shank.subarray(0, 3)), [0, 1, 0]);
  reader.close();
});

test('every real SpikeGLX header in the shared data parses', () => {
  const dir = sharedData('probeinterface-testdata-meta', 'spikeglx');
  const files = readdirSync(dir).filter((f) => f.endsWith('.meta'));
  assert.is(files.length, 19);
  for (const f of files) {
    const stream = describeSpikeGlxStream(SpikeGlxMeta.read(join(dir, f)));
    assert.ok(stream.delivered.length > 0, f);
    assert.ok(stream.delivered.every((c) => c.uvPerCount! > 0 && Number.isFinite(c.uvPerCount!)), f);
    assert.ok(stream.delivered.every((c) => c.kind === 'AP'), f);
  }
});

test('real headers, checked by hand against the files', () => {
  const read = (f: string) => describeSpikeGlxStream(SpikeGlxMeta.read(sharedData('probeinterface-testdata-meta', 'spikeglx', f)));
  // NP2020 quad-shank: imAiRangeMax 0.62, imMaxInt 2048, imChan0apGain 100 → 3.02734375 µV; 1536 AP + 4 SY words.
  const np2020 = read('NP2020_sample_g0_t0.imec0.ap.meta');
  assert.is(np2020.delivered.length, 1536);
  assert.is(np2020.savedChannelCount, 1540);
  assert.is(np2020.delivered[0].uvPerCount, 3.02734375);
  assert.is(np2020.firstSample, 249578);
  // ~snsGeomMap=(NP2020,4,250,70)…(3:59:2865:1) for the last channel: x = 59 + 3 × 250.
  assert.is(np2020.layout!.shankNames.length, 4);
  assert.is(np2020.layout!.xUm[1535], 809);
  assert.is(np2020.layout!.yUm[1535], 2865);
  // NP2013 with a saved subset 0:35,72:95,192:227,264:287,384: channel 35 is AP35, channel 36 AP72.
  const subset = read('NP2_2013_subset_channels.imec0.ap.meta');
  assert.is(subset.delivered.length, 120);
  assert.is(subset.delivered[35].name, 'AP35');
  assert.is(subset.delivered[36].name, 'AP72');
  assert.is(subset.delivered[36].acqIndex, 72);
  // Geometry entries (2:59:975:1) and (1:27:180:1) for those two channels.
  assert.is(subset.layout!.xUm[35], 59 + 2 * 250);
  assert.is(subset.layout!.yUm[35], 975);
  assert.is(subset.layout!.xUm[36], 27 + 250);
  assert.is(subset.layout!.yUm[36], 180);
  // NP2.0 (types 21, 24): imAiRangeMax 0.5, imMaxInt 8192, fixed gain 80 → 0.762939453125 µV.
  assert.is(read('p2_g0_t0.imec0.ap.meta').delivered[0].uvPerCount, 0.762939453125);
  assert.is(read('NP2_4_shanks.imec0.ap.meta').delivered[383].uvPerCount, 0.762939453125);
  // NP1.0 (catgt): imro apGain 500 (lfGain 50 unused for AP) → 2.34375; calibrated rate kept.
  const catgt = read('catgt.meta');
  assert.is(catgt.delivered[0].uvPerCount, 2.34375);
  assert.is(catgt.sampleRateHz, 30000.149579831934);
  // Only 151 of 384 channels saved (0:150,768); SY (768) is not delivered.
  const np1subset = read('NP1_saved_only_subset_of_channels.meta');
  assert.is(np1subset.delivered.length, 151);
  assert.is(np1subset.channels[151].kind, 'SY');
  assert.is(np1subset.channels[151].acqIndex, 768);
  // Phase 3A: no imMaxInt, no imDatPrb_type; the 3-field imro header marks it; 10-bit ADC.
  assert.is(read('phase3a.imec.ap.meta').delivered[0].uvPerCount, 2.34375);
  // NP1110 UHD: gains in the imro header (1110,…,500,250,1).
  assert.is(read('NP1110_bank0_g0_t0.imec0.ap.meta').delivered[100].uvPerCount, 2.34375);
  assert.is(read('NP1110_bank0_g0_t0.imec0.ap.meta').layout!.xUm[0], 15.5);
});

test('corrupt files fail naming the file, the field and what was expected', () => {
  const dir = freshDir('corrupt');
  const frames = 100;
  const { meta } = imecApMeta(frames);
  const data = randomInt16(frames * 14, 1);
  const write = (stem: string, m: Record<string, string>, d: Int16Array = data) => writePair(dir, stem, m, d);

  const truncated = write('truncated', meta, data.subarray(0, 90 * 14));
  expectOptoloopError(() => new SpikeGlxReader(truncated), 'E_FILE_TRUNCATED', truncated, 'at byte 2520', 'expected 2800 bytes (fileSizeBytes in truncated.meta)', 'got 2520 bytes');

  const { imSampRate: _rate, ...noRate } = meta;
  const missing = write('missing', noRate);
  expectOptoloopError(() => new SpikeGlxReader(missing), 'E_FILE_MALFORMED', 'missing.meta', 'imSampRate', 'missing key', 'the sample rate');

  const { imAiRangeMax: _range, ...noRange } = meta;
  expectOptoloopError(() => new SpikeGlxReader(write('norange', noRange)), 'E_FILE_MALFORMED', 'imAiRangeMax', 'missing key');

  const badNumber = write('badnumber', { ...meta, nSavedChans: '14x' });
  expectOptoloopError(() => new SpikeGlxReader(badNumber), 'E_FILE_MALFORMED', 'badnumber.meta', 'nSavedChans (line 3)', 'expected a positive integer', 'got "14x"');

  const notWhole = write('notwhole', { ...meta, fileSizeBytes: '2801' }, data);
  expectOptoloopError(() => new SpikeGlxReader(notWhole), 'E_FILE_MALFORMED', 'fileSizeBytes', 'a whole number of frames of 14 words (28 bytes)', '2801 bytes (1 left over)');

  const { fileSizeBytes: _size, ...noSize } = meta;
  const oddBin = write('oddbin', noSize, data.subarray(0, 14 * 10 + 3));
  expectOptoloopError(() => new SpikeGlxReader(oddBin), 'E_FILE_MALFORMED', 'oddbin.bin', 'size', 'a whole number of frames of 14 words (28 bytes)', '286 bytes (6 left over)');

  const cut = write('cut', { ...meta, '~imroTbl': '(0,14)(0 0 0 500 250 1)(1 0 0 5' });
  expectOptoloopError(() => new SpikeGlxReader(cut), 'E_FILE_MALFORMED', '~imroTbl', 'character 24', 'expected ")" closing the list entry');

  const short = write('shortimro', { ...meta, '~imroTbl': '(0,2)(0 0 0 500 250 1)(1 0 0 500 250 1)' });
  expectOptoloopError(() => new SpikeGlxReader(short), 'E_FILE_MALFORMED', '~imroTbl', 'entry for channel 2', 'missing entry');

  const sums = write('sums', { ...meta, snsApLfSy: '12,0,1' });
  expectOptoloopError(() => new SpikeGlxReader(sums), 'E_FILE_MALFORMED', 'snsApLfSy', 'counts adding up to nSavedChans (14)', '12+0+1');

  const unknown = write('unknown', { ...meta, imDatPrb_type: '4242' });
  expectOptoloopError(() => new SpikeGlxReader(unknown), 'E_FILE_UNSUPPORTED', 'imDatPrb_type', '4242', 'imChan0apGain');

  writeFileSync(join(dir, 'nobin.meta'), encodeMeta(meta));
  expectOptoloopError(() => new SpikeGlxReader(join(dir, 'nobin.meta')), 'E_FILE_NOT_FOUND', 'nobin.bin', 'ENOENT');

  const garbage = join(dir, 'garbage.meta');
  writeFileSync(garbage, 'typeThis=imec\n\u0000\u0001binary junk\n');
  writeFileSync(join(dir, 'garbage.bin'), '');
  expectOptoloopError(() => new SpikeGlxReader(garbage), 'E_FILE_MALFORMED', 'garbage.meta', 'line 2', 'key=value');
});

test('bytes past fileSizeBytes (a writer killed after its last flush) are ignored with a note', async () => {
  const dir = freshDir('surplus');
  const { meta } = imecApMeta(50);
  const data = randomInt16(60 * 14, 4);
  const bin = writePair(dir, 'surplus', meta, data);
  const reader = new SpikeGlxReader(bin);
  assert.is(reader.info.totalFrames, 50);
  assert.match(reader.notes.join('\n'), '280 bytes past fileSizeBytes (1400) ignored');
  const { samples } = await replayAll(reader, 16);
  assert.is(firstDifference(samples, pick(data.subarray(0, 50 * 14), 14, Array.from({ length: 13 }, (_, i) => i))), -1);
});

test.run();
