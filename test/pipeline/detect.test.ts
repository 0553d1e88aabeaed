import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pipe } from 'rxjs';
import { readProbeFile } from '../../src/probe/probeinterface.js';
import { buildLayout, layoutFromProbe, linearLayout, type ChannelLayout } from '../../src/probe/channel-layout.js';
import { estimateNoise } from '../../src/pipeline/noise.js';
import { detectSpikes } from '../../src/pipeline/detect.js';
import type { NoiseBlock } from '../../src/pipeline/results.js';
import type { DetectionResult } from '../../src/core/spikes.js';
import { isOptoloopError } from '../../src/core/errors.js';
import type { Float32SampleBlock } from '../../src/core/sample-block.js';
import { generateRecording, matchSpikes, type SyntheticRecording } from '../helpers/synthetic-spikes.js';
import { cutBlocks, floatBlock, pump, randomSizes } from '../helpers/blocks.js';
import { sharedData } from '../helpers/paths.js';

const FS = 30000;
const poly3 = layoutFromProbe(
  readProbeFile(sharedData('probeinterface-library', 'neuronexus', 'A1x32-Poly3-10mm-50-177', 'A1x32-Poly3-10mm-50-177.json')),
  32,
);

interface Detected {
  sampleIndex: number;
  channel: number;
  amplitudeUv: number;
  blockIndex: number;
  sourceReceiveTimeNs: number;
}

/** Runs noise → detect over the recording cut into blocks; returns every spike (copied). */
function detectAll(
  samples: Float32Array,
  C: number,
  layout: ChannelLayout,
  sizes: readonly number[],
  options: Parameters<typeof detectSpikes>[0],
): { spikes: Detected[]; perBlock: number[] } {
  const spikes: Detected[] = [];
  const perBlock: number[] = [];
  pump(pipe(estimateNoise({}), detectSpikes(options, layout)), cutBlocks(samples, C, sizes), (r: DetectionResult) => {
    for (let i = 0; i < r.spikes.count; i++) {
      spikes.push({
        sampleIndex: r.spikes.peakSampleIndex[i],
        channel: r.spikes.peakChannel[i],
        amplitudeUv: r.spikes.amplitudeUv[i],
        blockIndex: perBlock.length,
        sourceReceiveTimeNs: r.spikes.sourceReceiveTimeNs,
      });
      assert.is(r.spikes.unitId[i], -1);
    }
    assert.is(r.spikes.sourceReceiveTimeNs, r.block.hostReceiveTimeNs);
    perBlock.push(r.spikes.count);
  });
  return { spikes, perBlock };
}

const DETECT = { thresholdSigma: 5, radiusUm: 100, refractoryMs: 1, peakWindowMs: 0.4 };
let recording: SyntheticRecording | null = null;
function poly3Recording(): SyntheticRecording {
  recording ??= generateRecording({ layout: poly3, seconds: 20, seed: 11, radiusUm: DETECT.radiusUm, refractoryMs: 1, peakWindowMs: 0.4 });
  return recording;
}

test('A1x32-Poly3, 16 units with overlapping footprints, SNR 6–16.5: recall and precision ≥ 98 %, each spike once', () => {
  const rec = poly3Recording();
  const { spikes, perBlock } = detectAll(rec.samples, 32, poly3, [30], DETECT);
  // σ is known from the end of the noise stage's first 500 ms window; troughs in the last
  // peakWindow are not confirmed.
  const report = matchSpikes(rec, poly3, spikes, { toleranceFrames: 6, radiusUm: 75, fromSample: 15000 + 12, toSample: rec.frames - 13, peakWindowFrames: 12 });
  const shared = rec.units.filter((u, i) => rec.units.some((v, j) => j !== i && u.footprintUv.some((a, c) => a >= rec.noiseUv && v.footprintUv[c] >= rec.noiseUv))).length;
  console.log(
    `  ${report.truthCount} truth spikes (${rec.overlappingSharedSpikes} overlapping in time another unit's spike on shared channels; ${shared}/16 units share channels; ` +
      `${rec.droppedCollisions} Poisson candidates left out as unresolvable collisions), ${report.detectedCount} detected: ` +
      `recall ${(100 * report.recall).toFixed(2)} %, precision ${(100 * report.precision).toFixed(2)} %, duplicates ${report.duplicates}, false positives ${report.falsePositives}`,
  );
  console.log(`  recall by SNR: ${report.recallBySnr.map((b) => `${b.low}–${b.high}: ${(100 * b.recall).toFixed(1)} % of ${b.truth}`).join(', ')}`);
  assert.ok(report.truthCount > 3000, 'enough spikes to measure');
  assert.ok(rec.overlappingSharedSpikes > 100, 'the truth has spikes overlapping in time on units sharing channels');
  assert.ok(shared >= 8, 'units share channels');
  assert.ok(report.recall >= 0.98, `recall ${report.recall}`);
  assert.ok(report.precision >= 0.98, `precision ${report.precision}`);
  for (const band of report.recallBySnr) if (band.truth >= 50) assert.ok(band.recall >= 0.95, `SNR ${band.low}–${band.high}: ${band.recall}`);
  // A spike seen on several channels is reported once. Noise can still, rarely, leave two channels
  // more than radiusUm apart both deeper than a spike's peak channel: then it counts twice.
  assert.ok(report.duplicates <= 0.001 * report.matched, `duplicates: ${report.duplicates} of ${report.matched}`);
  // Several spikes in one 1 ms block.
  assert.ok(perBlock.filter((n) => n >= 2).length > 20, `blocks with ≥ 2 spikes: ${perBlock.filter((n) => n >= 2).length}`);
  // Reported on the peak channel, at the trough: for each truth spike, the nearest detection.
  let onPeakChannel = 0;
  let onNearPeakChannel = 0;
  let withinTwoSamples = 0;
  let considered = 0;
  for (const s of rec.truth) {
    if (s.sampleIndex < 15012 || s.sampleIndex >= rec.frames - 13) continue;
    const near = spikes.filter((d) => Math.abs(d.sampleIndex - s.sampleIndex) <= 6);
    if (near.length === 0) continue;
    considered++;
    if (near.some((d) => d.channel === s.peakChannel)) onPeakChannel++;
    const footprint = rec.units[s.unit].footprintUv;
    if (near.some((d) => footprint[d.channel] >= 0.7 * footprint[s.peakChannel])) onNearPeakChannel++;
    if (near.some((d) => Math.abs(d.sampleIndex - s.sampleIndex) <= 2)) withinTwoSamples++;
  }
  console.log(
    `  reported on the truth's peak channel: ${((100 * onPeakChannel) / considered).toFixed(1)} %, on a channel with ≥ 70 % of the peak amplitude ` +
      `(units between contacts): ${((100 * onNearPeakChannel) / considered).toFixed(1)} %; trough within ±2 samples: ${((100 * withinTwoSamples) / considered).toFixed(1)} %`,
  );
  assert.ok(onPeakChannel / considered > 0.8, `on the peak channel: ${onPeakChannel} of ${considered}`);
  assert.ok(onNearPeakChannel / considered > 0.99, `on a channel with ≥ 70 % of the peak: ${onNearPeakChannel} of ${considered}`);
  assert.ok(withinTwoSamples / considered > 0.95, `within ±2 samples: ${withinTwoSamples} of ${considered}`);
});

test('detections are identical for any block sizes (1, 7, 30, 257 frames and random mixes)', () => {
  const rec = poly3Recording();
  const frames = 4 * FS;
  const samples = rec.samples.subarray(0, frames * 32);
  const key = (d: Detected): string => `${d.sampleIndex}/${d.channel}/${d.amplitudeUv}`;
  const reference = detectAll(samples, 32, poly3, [30], DETECT).spikes.map(key);
  assert.ok(reference.length > 400, `${reference.length} spikes`);
  for (const sizes of [[1], [7], [257], randomSizes(5, 200), randomSizes(6, 200, 3000)]) {
    assert.equal(detectAll(samples, 32, poly3, sizes, DETECT).spikes.map(key), reference, `sizes ${sizes.slice(0, 4)}…`);
  }
});

/** A noise-free float block stream with given troughs: (frame, channel, amplitude µV) and a fixed threshold. */
function troughs(C: number, frames: number, events: readonly [number, number, number][]): Float32Array {
  const x = new Float32Array(C * frames);
  for (const [f, c, a] of events) {
    // A three-sample trough so that the extreme is unique: −a/2, −a, −a/2.
    x[(f - 1) * C + c] += -a / 2;
    x[f * C + c] += -a;
    x[(f + 1) * C + c] += -a / 2;
  }
  return x;
}

function detectFixed(x: Float32Array, C: number, layout: ChannelLayout, sizes: number[], options: Parameters<typeof detectSpikes>[0]): Detected[] {
  const spikes: Detected[] = [];
  let blockIndex = 0;
  const blocks = cutBlocks(x, C, sizes);
  const inputs: NoiseBlock[] = blocks.map((block) => ({
    block,
    noiseUv: new Float32Array(C).fill(10),
    segmentCount: 1,
    segmentStartFrame: Int32Array.of(0),
    segmentNoiseUv: new Float32Array(C).fill(10),
  }));
  pump(detectSpikes(options, layout), inputs, (r) => {
    for (let i = 0; i < r.spikes.count; i++) {
      spikes.push({ sampleIndex: r.spikes.peakSampleIndex[i], channel: r.spikes.peakChannel[i], amplitudeUv: r.spikes.amplitudeUv[i], blockIndex, sourceReceiveTimeNs: r.spikes.sourceReceiveTimeNs });
    }
    blockIndex++;
  });
  return spikes;
}

const line = linearLayout(8, 25); // channels 25 µm apart: radius 60 reaches two either side

test('refractory: a second trough within refractoryMs on the same neighbourhood is ignored, later ones are not', () => {
  // Channel 3 at frames 100, 115 (0.5 ms later), 160 (2 ms); channel 4 (25 µm) at 125; channel 7 (100 µm) at 105.
  // refractoryMs 1 = 30 frames: channels 1 … 5 ignore peaks up to frame 130 after the spike at 100.
  const x = troughs(8, 400, [[100, 3, 100], [115, 3, 100], [160, 3, 100], [125, 4, 100], [105, 7, 100]]);
  const got = detectFixed(x, 8, line, [30], { thresholdUv: -50, radiusUm: 60, refractoryMs: 1, peakWindowMs: 0.2 });
  assert.equal(got.map((d) => [d.sampleIndex, d.channel]), [[100, 3], [105, 7], [160, 3]]);
  // With no refractory period every separated trough is reported.
  const free = detectFixed(x, 8, line, [30], { thresholdUv: -50, radiusUm: 60, refractoryMs: 0, peakWindowMs: 0.2 });
  assert.equal(free.map((d) => [d.sampleIndex, d.channel]), [[100, 3], [105, 7], [115, 3], [125, 4], [160, 3]]);
});

test('space-time extreme: a spike seen on several channels is reported once, on its peak channel, at its trough', () => {
  // One spike: channel 4 deepest (−200 µV at frame 50), neighbours smaller and a little later.
  const x = troughs(8, 200, [[50, 4, 200], [51, 3, 150], [51, 5, 160], [52, 2, 90], [52, 6, 95]]);
  const got = detectFixed(x, 8, line, [30], { thresholdUv: -50, radiusUm: 60, refractoryMs: 0, peakWindowMs: 0.4 });
  assert.equal(got.map((d) => [d.sampleIndex, d.channel, d.amplitudeUv]), [[50, 4, -200]]);
});

test('a true collision (two units within the radius, troughs within the peak window) is reported once, the larger', () => {
  const x = troughs(8, 200, [[50, 2, 120], [54, 3, 150]]);
  const got = detectFixed(x, 8, line, [30], { thresholdUv: -50, radiusUm: 60, refractoryMs: 0, peakWindowMs: 0.4 });
  assert.equal(got.map((d) => [d.sampleIndex, d.channel]), [[54, 3]]);
  // Beyond the peak window (and with no refractory) both are found.
  const apart = detectFixed(troughs(8, 200, [[50, 2, 120], [70, 3, 150]]), 8, line, [30], { thresholdUv: -50, radiusUm: 60, refractoryMs: 0, peakWindowMs: 0.4 });
  assert.equal(apart.map((d) => [d.sampleIndex, d.channel]), [[50, 2], [70, 3]]);
});

test('many spikes in one block, on separate neighbourhoods; equal troughs go to the earliest sample, then the lowest channel', () => {
  const wide = linearLayout(16, 100);
  const events: [number, number, number][] = Array.from({ length: 16 }, (_, c) => [40 + (c % 5), c, 100 + c]);
  const got = detectFixed(troughs(16, 200, events), 16, wide, [200], { thresholdUv: -50, radiusUm: 60, refractoryMs: 1, peakWindowMs: 0.4 });
  assert.is(got.length, 16);
  assert.ok(got.every((d) => d.blockIndex === 0));
  // A plateau of equal samples on two neighbouring channels.
  const x = new Float32Array(8 * 100);
  for (const c of [3, 4]) for (const f of [30, 31]) x[f * 8 + c] = -80;
  const tie = detectFixed(x, 8, line, [7], { thresholdUv: -50, radiusUm: 60, refractoryMs: 0, peakWindowMs: 0.4 });
  assert.equal(tie.map((d) => [d.sampleIndex, d.channel]), [[30, 3]]);
});

test('a spike is reported with the block that brings its last lookahead sample (delay = peak window)', () => {
  // peakWindow 0.4 ms = 12 frames. Trough at frame 40 (block 1 of 30-frame blocks) needs frame 52 (block 1).
  const early = detectFixed(troughs(4, 300, [[40, 1, 100]]), 4, linearLayout(4), [30], { thresholdUv: -50, peakWindowMs: 0.4 });
  assert.equal(early.map((d) => [d.sampleIndex, d.blockIndex]), [[40, 1]]);
  // Trough at frame 50 needs frame 62, which arrives in block 2.
  const late = detectFixed(troughs(4, 300, [[50, 1, 100]]), 4, linearLayout(4), [30], { thresholdUv: -50, peakWindowMs: 0.4 });
  assert.equal(late.map((d) => [d.sampleIndex, d.blockIndex, d.sourceReceiveTimeNs]), [[50, 2, (60 * 1e9) / FS]]);
});

test('fixed thresholdUv works from the first sample; σ thresholds wait for the first noise window', () => {
  const x = troughs(4, 30000, [[1000, 1, 200], [20000, 1, 200]]);
  const fixed = detectFixed(x, 4, linearLayout(4), [30], { thresholdUv: -50 });
  assert.equal(fixed.map((d) => d.sampleIndex), [1000, 20000]);
  // Through the noise stage (σ NaN until sample 15000, then tiny for this almost silent signal).
  const viaNoise = detectAll(x, 4, linearLayout(4), [30], { thresholdSigma: 5 }).spikes;
  assert.equal(viaNoise.map((d) => d.sampleIndex), [20000]);
});

test('shanks are separate neighbourhoods: simultaneous troughs on two shanks are both reported', () => {
  const twoShanks = buildLayout('two', [
    { id: 'a', xUm: 0, yUm: 0, shankId: '0' },
    { id: 'b', xUm: 0, yUm: 20, shankId: '0' },
    { id: 'c', xUm: 0, yUm: 0, shankId: '1' },
    { id: 'd', xUm: 0, yUm: 20, shankId: '1' },
  ]);
  const got = detectFixed(troughs(4, 100, [[30, 1, 100], [30, 2, 150]]), 4, twoShanks, [30], { thresholdUv: -50, radiusUm: 60 });
  assert.equal(got.map((d) => [d.sampleIndex, d.channel]), [[30, 1], [30, 2]]);
});

test('after a gap (frames lost upstream) spikes carry their true absolute sample index', () => {
  const x = troughs(4, 120, [[20, 1, 100], [90, 2, 100]]);
  const [a, b, c, d] = cutBlocks(x, 4, [30]);
  const shifted = [a, b, { ...c, firstSampleIndex: 10060 }, { ...d, firstSampleIndex: 10090 }] as Float32SampleBlock[];
  const spikes: number[] = [];
  const inputs: NoiseBlock[] = shifted.map((block) => ({ block, noiseUv: new Float32Array(4), segmentCount: 1, segmentStartFrame: Int32Array.of(0), segmentNoiseUv: new Float32Array(4) }));
  pump(detectSpikes({ thresholdUv: -50 }, linearLayout(4)), inputs, (r) => {
    for (let i = 0; i < r.spikes.count; i++) spikes.push(r.spikes.peakSampleIndex[i]);
  });
  assert.equal(spikes, [20, 10090]);
});

test('blocks much larger than the first one are taken (buffers re-planned, state kept)', () => {
  const x = troughs(4, 20000, [[25, 1, 100], [40, 2, 100], [15000, 3, 100], [19980, 0, 100]]);
  const got = detectFixed(x, 4, linearLayout(4, 100), [30, 10000, 1, 9969], { thresholdUv: -50 });
  assert.equal(got.map((d) => d.sampleIndex), [25, 40, 15000, 19980]);
});

test('options are validated, naming the field; the layout must match the stream', () => {
  assert.throws(() => detectSpikes({ thresholdUv: 50 }, line), /detect\.thresholdUv: expected a negative number, got 50/);
  assert.throws(() => detectSpikes({ peakWindowMs: 0 }, line), /detect\.peakWindowMs: expected a number > 0 and ≤ 5, got 0/);
  assert.throws(() => detectSpikes({ radiusUm: -1 }, line), /detect\.radiusUm: expected a number ≥ 0, got -1/);
  let failure: unknown = null;
  try {
    detectFixed(new Float32Array(4 * 30), 4, line, [30], {});
  } catch (error) {
    failure = error;
  }
  assert.ok(isOptoloopError(failure, 'E_BLOCK_MISMATCH'));
  assert.match((failure as Error).message, 'the stream has 4 channels but the channel layout (linear-8) has 8');
});

test('two subscriptions detect independently', () => {
  const op = detectSpikes({ thresholdUv: -50 }, linearLayout(4));
  const x = troughs(4, 90, [[40, 1, 100]]);
  const counts: number[] = [];
  for (let run = 0; run < 2; run++) {
    let n = 0;
    pump(op, cutBlocks(x, 4, [30]).map((block) => ({ block, noiseUv: new Float32Array(4), segmentCount: 1, segmentStartFrame: Int32Array.of(0), segmentNoiseUv: new Float32Array(4) })), (r) => (n += r.spikes.count));
    counts.push(n);
  }
  assert.equal(counts, [1, 1]);
  assert.ok(floatBlock);
});

test.run();
