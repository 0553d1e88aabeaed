import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Subject, bufferCount } from 'rxjs';
import { buildPipeline, type PipelineOptionsInput } from '../../src/pipeline/build-pipeline.js';
import { hasSnippets, type SpikeResult } from '../../src/pipeline/results.js';
import { ownBlocks } from '../../src/pipeline/own-blocks.js';
import { ownSpikeResults } from '../../src/pipeline/own-spike-results.js';
import { readProbeFile } from '../../src/probe/probeinterface.js';
import { layoutFromProbe } from '../../src/probe/channel-layout.js';
import { isOptoloopError } from '../../src/core/errors.js';
import type { Int16SampleBlock, SampleBlock } from '../../src/core/sample-block.js';
import { generateRecording, matchSpikes, spikeWaveform, type SyntheticRecording } from '../helpers/synthetic-spikes.js';
import { collectSamples, cutBlocks, pump, randomSizes } from '../helpers/blocks.js';
import { bandpass } from '../../src/pipeline/bandpass.js';
import { sharedData } from '../helpers/paths.js';

const FS = 30000;
const UV_PER_COUNT = 2.34375; // Neuropixels 1.0 AP at gain 500
const poly3 = layoutFromProbe(
  readProbeFile(sharedData('probeinterface-library', 'neuronexus', 'A1x32-Poly3-10mm-50-177', 'A1x32-Poly3-10mm-50-177.json')),
  32,
);
const C = 32;

/**
 * What a headstage delivers: the synthetic spikes and noise, plus per-channel DC offsets, 50 Hz hum
 * and brief common-mode artefacts (−400 µV on every channel at once, e.g. a chewing or licking
 * artefact), quantised to int16 at 2.34375 µV per count.
 */
function rawRecording(rec: SyntheticRecording, artefactFrames: readonly number[]): Int16Array {
  const counts = new Int16Array(rec.samples.length);
  const offsets = Array.from({ length: C }, (_, c) => 400 * Math.sin(c * 1.7));
  const artefact = new Float64Array(rec.frames);
  for (const f0 of artefactFrames) for (let i = 0; i < 30; i++) artefact[f0 + i] -= 400 * Math.exp(-i / 8);
  for (let f = 0; f < rec.frames; f++) {
    const common = 150 * Math.sin((2 * Math.PI * 50 * f) / FS) + artefact[f];
    for (let c = 0; c < C; c++) counts[f * C + c] = Math.round((rec.samples[f * C + c] + offsets[c] + common) / UV_PER_COUNT);
  }
  return counts;
}

function int16Blocks(counts: Int16Array, sizes: readonly number[]): Int16SampleBlock[] {
  const uvPerCount = new Float32Array(C).fill(UV_PER_COUNT);
  const frames = counts.length / C;
  const blocks: Int16SampleBlock[] = [];
  for (let f = 0, i = 0; f < frames; i++) {
    const n = Math.min(frames - f, sizes[i % sizes.length]);
    blocks.push({
      format: 'int16', streamId: 'np', firstSampleIndex: f, sampleRateHz: FS, channelCount: C, frameCount: n,
      samples: counts.slice(f * C, (f + n) * C), uvPerCount, deviceTimestamp: f, hostReceiveTimeNs: f * 1e9 / FS,
    });
    f += n;
  }
  return blocks;
}

interface Found { sampleIndex: number; channel: number; amplitudeUv: number; snippet: boolean }

function runPipeline(options: PipelineOptionsInput, blocks: readonly SampleBlock[]): Found[] {
  const found: Found[] = [];
  pump(buildPipeline(options, poly3), blocks, (r: SpikeResult) => {
    for (let i = 0; i < r.spikes.count; i++) found.push({ sampleIndex: r.spikes.peakSampleIndex[i], channel: r.spikes.peakChannel[i], amplitudeUv: r.spikes.amplitudeUv[i], snippet: hasSnippets(r) });
  });
  return found;
}

const OPTIONS: PipelineOptionsInput = { detect: { radiusUm: 100 } };

/** How much the band-pass keeps of the synthetic spike's trough (measured on the noise-free waveform). */
function troughGain(): number {
  const { before, values } = spikeWaveform(FS);
  const x = new Float32Array(3000);
  x.set(values.map((v) => v), 1000);
  const y = collectSamples(bandpass({}), cutBlocks(x, 1, [30]));
  let trough = 0;
  for (let i = 1000 + before - 3; i <= 1000 + before + 3; i++) trough = Math.min(trough, y[i]);
  return -trough;
}
const GAIN = troughGain();
// SNR (trough / σ) after the band-pass from 6 to 15: the raw troughs are 1 / GAIN times larger.
const rec = generateRecording({ layout: poly3, seconds: 10, seed: 21, radiusUm: 100, snrRange: [6 / GAIN, 15 / GAIN] });
const artefacts = Array.from({ length: 40 }, (_, k) => 20000 + k * 7000);
const counts = rawRecording(rec, artefacts);

test('int16 Neuropixels-like input with offsets, hum and common artefacts: reference → band-pass → noise → detect → snippets finds the spikes', () => {
  const found = runPipeline(OPTIONS, int16Blocks(counts, [30]));
  const report = matchSpikes(rec, poly3, found, { toleranceFrames: 6, radiusUm: 75, fromSample: 15012, toSample: rec.frames - 100, peakWindowFrames: 12 });
  console.log(
    `  full chain: ${report.truthCount} truth spikes, SNR 6–16.5 after the band-pass (which keeps ${(100 * GAIN).toFixed(1)} % of the raw trough): ` +
      `recall ${(100 * report.recall).toFixed(2)} %, precision ${(100 * report.precision).toFixed(2)} %, duplicates ${report.duplicates}`,
  );
  assert.ok(GAIN > 0.5 && GAIN < 1, `trough gain ${GAIN}`);
  assert.ok(report.recall >= 0.98, `recall ${report.recall}`);
  assert.ok(report.precision >= 0.98, `precision ${report.precision}`);
  assert.ok(found.every((f) => f.snippet));
  // The artefacts are common to all channels: the median reference removes them.
  const atArtefacts = found.filter((f) => artefacts.some((a) => f.sampleIndex >= a - 5 && f.sampleIndex < a + 40) && !rec.truth.some((s) => Math.abs(s.sampleIndex - f.sampleIndex) <= 6));
  assert.is(atArtefacts.length, 0, 'no detection caused by a common-mode artefact');
  // Without a reference, the same artefacts are detected as spikes.
  const unreferenced = runPipeline({ ...OPTIONS, reference: { mode: 'none' } }, int16Blocks(counts, [30]));
  const artefactHits = artefacts.filter((a) => unreferenced.some((f) => f.sampleIndex >= a - 5 && f.sampleIndex < a + 40));
  assert.ok(artefactHits.length > 30, `without a reference ${artefactHits.length} of 40 artefacts are detected`);
});

test('peak-only finds the same spikes as the snippet path', () => {
  const blocks = int16Blocks(counts, [30]);
  const snippets = runPipeline(OPTIONS, blocks);
  const peaks = runPipeline({ ...OPTIONS, snippets: { mode: 'peak-only' } }, blocks);
  assert.ok(peaks.every((f) => !f.snippet));
  // The snippet path holds back spikes whose last samples have not arrived at the end.
  const last = Math.max(...snippets.map((f) => f.sampleIndex));
  assert.equal(peaks.filter((f) => f.sampleIndex <= last).map(({ snippet, ...f }) => f), snippets.map(({ snippet, ...f }) => f));
});

test('the whole chain gives the same spikes whatever the block sizes', () => {
  const short = counts.subarray(0, 2 * FS * C);
  const key = (f: Found): string => `${f.sampleIndex}/${f.channel}/${f.amplitudeUv}`;
  const reference = runPipeline(OPTIONS, int16Blocks(short, [30])).map(key);
  assert.ok(reference.length > 100, `${reference.length} spikes`);
  for (const sizes of [[1], [17], [257], randomSizes(9, 100)]) {
    assert.equal(runPipeline(OPTIONS, int16Blocks(short, sizes)).map(key), reference, `sizes ${sizes.slice(0, 3)}`);
  }
});

test('options errors name the field, with the config path', () => {
  const cases: [unknown, RegExp][] = [
    [{ bandpass: { lowHz: 7000 } }, /pipeline\.bandpass\.highHz: expected a number above lowHz \(7000\), got 6000/],
    [{ detect: { thresholdSigma: -2 } }, /pipeline\.detect\.thresholdSigma: expected a positive number, got -2/],
    [{ detect: { peakWindowMs: 20 } }, /pipeline\.detect\.peakWindowMs: expected a number > 0 and ≤ 5, got 20/],
    [{ snippets: { samplesAfter: 1.5 } }, /pipeline\.snippets\.samplesAfter: expected an integer ≥ 0 and ≤ 2048, got 1\.5/],
    [{ noise: { windowMS: 100 } }, /pipeline\.noise\.windowMS: unknown key \(did you mean "windowMs"\?\)/],
  ];
  for (const [options, message] of cases) {
    try {
      buildPipeline(options as PipelineOptionsInput, poly3);
      assert.unreachable(`accepted ${JSON.stringify(options)}`);
    } catch (error) {
      assert.ok(isOptoloopError(error, 'E_OPTIONS_INVALID'), String(error));
      assert.match((error as Error).message, message);
    }
  }
  // A corner above Nyquist is known only at the first block.
  let failure: unknown = null;
  try {
    pump(buildPipeline({ bandpass: { highHz: 9000 } }, poly3), int16Blocks(counts.subarray(0, 30 * C), [30]).map((b) => ({ ...b, sampleRateHz: 16000 })), () => {});
  } catch (error) {
    failure = error;
  }
  assert.ok(isOptoloopError(failure, 'E_OPTIONS_INVALID'));
  assert.match((failure as Error).message, 'pipeline.bandpass.highHz: expected a number below Nyquist (8000 Hz at 16000 Hz sampling), got 9000');
});

test('ownBlocks and ownSpikeResults make copies that survive buffering', () => {
  const blocks = int16Blocks(counts.subarray(0, 40 * 30 * C), [30]);
  const subject = new Subject<SampleBlock>();
  const kept: SpikeResult[][] = [];
  subject.pipe(buildPipeline(OPTIONS, poly3), ownSpikeResults(), bufferCount(40)).subscribe((batch) => kept.push(batch));
  for (const b of blocks) subject.next(b);
  const firstSamples = kept[0].map((r) => r.block.samples[0]);
  assert.is(new Set(firstSamples).size, 40, 'each kept result holds its own block');
  assert.ok(kept[0].every((r) => r.block.samples.length === 30 * C && r.noiseUv.length === C));
  // ownBlocks after a stage whose output buffer is reused.
  const owned: SampleBlock[] = [];
  const s2 = new Subject<SampleBlock>();
  s2.pipe(ownBlocks(), bufferCount(3)).subscribe((bs) => owned.push(...bs));
  for (const b of blocks.slice(0, 3)) s2.next(b);
  assert.equal(owned.map((b) => b.firstSampleIndex), [0, 30, 60]);
  assert.is.not(owned[0].samples, blocks[0].samples);
  assert.equal(Array.from(owned[1].samples.slice(0, 5)), Array.from(blocks[1].samples.slice(0, 5)));
});

test.run();
