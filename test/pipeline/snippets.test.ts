import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pipe } from 'rxjs';
import { detectSpikes } from '../../src/pipeline/detect.js';
import { extractSnippets } from '../../src/pipeline/snippets.js';
import { hasSnippets, type NoiseBlock, type SpikeResult } from '../../src/pipeline/results.js';
import type { SnippetBatch } from '../../src/core/spikes.js';
import { linearLayout } from '../../src/probe/channel-layout.js';
import { SeededRandom } from '../../src/core/random.js';
import { isOptoloopError } from '../../src/core/errors.js';
import { cutBlocks, pump, randomSizes } from '../helpers/blocks.js';

const C = 12;
const layout = linearLayout(C, 20); // 20 µm pitch
const DETECT = { thresholdUv: -60, radiusUm: 50, refractoryMs: 1, peakWindowMs: 0.4 };

/** Small noise with troughs at known (frame, channel); returns the signal. */
function signal(frames: number, troughs: readonly [number, number][], seed = 1): Float32Array {
  const r = new SeededRandom(seed);
  const x = Float32Array.from({ length: frames * C }, () => 5 * r.normal());
  for (const [f, c] of troughs) {
    for (const [dc, a] of [[-1, 50], [0, 100], [1, 50]] as const) {
      if (c + dc < 0 || c + dc >= C) continue;
      x[(f - 1) * C + c + dc] -= a / 2;
      x[f * C + c + dc] -= a;
      x[(f + 1) * C + c + dc] -= a / 2;
    }
  }
  return x;
}

function toNoiseBlocks(x: Float32Array, sizes: readonly number[]): NoiseBlock[] {
  return cutBlocks(x, C, sizes).map((block) => ({
    block,
    noiseUv: new Float32Array(C).fill(5),
    segmentCount: 1,
    segmentStartFrame: Int32Array.of(0),
    segmentNoiseUv: new Float32Array(C).fill(5),
  }));
}

interface Snippet {
  sampleIndex: number;
  channel: number;
  amplitudeUv: number;
  block: number;
  channels: number[];
  waveforms: number[][];
}

function snippetsOf(s: SnippetBatch, block: number): Snippet[] {
  const out: Snippet[] = [];
  for (let k = 0; k < s.count; k++) {
    const item: Snippet = { sampleIndex: s.peakSampleIndex[k], channel: s.peakChannel[k], amplitudeUv: s.amplitudeUv[k], block, channels: [], waveforms: [] };
    assert.is(s.unitId[k], -1);
    for (let row = 0; row < s.neighbourCapacity; row++) {
      item.channels.push(s.channels[k * s.neighbourCapacity + row]);
      const start = (k * s.neighbourCapacity + row) * s.snippetLength;
      item.waveforms.push(Array.from(s.waveformsUv.subarray(start, start + s.snippetLength)));
    }
    out.push(item);
  }
  return out;
}

function run(x: Float32Array, sizes: readonly number[], snippetOptions: Parameters<typeof extractSnippets>[0]): { snippets: Snippet[]; early: Snippet[]; blocks: number; results: boolean[] } {
  const snippets: Snippet[] = [];
  const early: Snippet[] = [];
  const results: boolean[] = [];
  let block = 0;
  pump(pipe(detectSpikes(DETECT, layout), extractSnippets(snippetOptions, layout)), toNoiseBlocks(x, sizes), (r: SpikeResult) => {
    results.push(hasSnippets(r));
    if (hasSnippets(r)) {
      snippets.push(...snippetsOf(r.spikes, block));
      if (r.early) early.push(...snippetsOf(r.early, block));
    } else {
      const s = r.spikes;
      for (let k = 0; k < s.count; k++) snippets.push({ sampleIndex: s.peakSampleIndex[k], channel: s.peakChannel[k], amplitudeUv: s.amplitudeUv[k], block, channels: [], waveforms: [] });
    }
    block++;
  });
  return { snippets, early, blocks: block, results };
}

const troughs: [number, number][] = [[200, 5], [260, 0], [400, 11], [403, 2], [1000, 7]];

test('snippets hold exactly the filtered samples around each trough, on the neighbourhood channels in order', () => {
  const x = signal(1200, troughs);
  const before = 10;
  const after = 20;
  const { snippets } = run(x, [30], { samplesBefore: before, samplesAfter: after, radiusUm: 45 });
  assert.equal(snippets.map((s) => [s.sampleIndex, s.channel]), troughs);
  for (const s of snippets) {
    // Radius 45 µm at 20 µm pitch: the channel itself, then ±1, then ±2 (nearest first, ties by index).
    const want = [s.channel, s.channel - 1, s.channel + 1, s.channel - 2, s.channel + 2].filter((c) => c >= 0 && c < C);
    assert.equal(s.channels.slice(0, want.length), want);
    assert.ok(s.channels.slice(want.length).every((c) => c === -1), 'padding rows are −1');
    s.channels.forEach((ch, row) => {
      const expected = ch < 0 ? new Array(before + 1 + after).fill(0) : Array.from({ length: before + 1 + after }, (_, t) => x[(s.sampleIndex - before + t) * C + ch]);
      assert.equal(s.waveforms[row], expected, `spike at ${s.sampleIndex}, row ${row}`);
    });
    assert.is(s.waveforms[0][before], s.amplitudeUv, 'the trough sits at samplesBefore on the peak row');
  }
});

test('a snippet is emitted with the block that brings its last sample; peak-only emits the same spikes with no delay', () => {
  const x = signal(1200, troughs);
  const after = 40;
  const full = run(x, [30], { samplesBefore: 10, samplesAfter: after, radiusUm: 45 });
  const fast = run(x, [30], { mode: 'peak-only' });
  assert.ok(full.results.every((r) => r) && fast.results.every((r) => !r));
  assert.equal(fast.snippets.map((s) => [s.sampleIndex, s.channel, s.amplitudeUv]), full.snippets.map((s) => [s.sampleIndex, s.channel, s.amplitudeUv]));
  for (const s of full.snippets) assert.is(s.block, Math.floor((s.sampleIndex + after) / 30), `snippet of ${s.sampleIndex}`);
  // Peak-only: reported as soon as the detector confirms it (trough + 12-frame peak window).
  for (const s of fast.snippets) assert.is(s.block, Math.floor((s.sampleIndex + 12) / 30), `peak of ${s.sampleIndex}`);
});

test('snippets are identical whatever the block sizes', () => {
  const x = signal(3000, [...troughs, [1500, 3], [1501, 9], [2990 - 61, 4]]);
  const opts = { samplesBefore: 30, samplesAfter: 60, radiusUm: 45 };
  const reference = JSON.stringify(run(x, [30], opts).snippets.map(({ block, ...rest }) => rest));
  for (const sizes of [[1], [7], [257], randomSizes(3, 100), [2999, 1]]) {
    assert.is(JSON.stringify(run(x, sizes, opts).snippets.map(({ block, ...rest }) => rest)), reference, `sizes ${sizes.slice(0, 3)}`);
  }
});

test('samples before the stream starts read as 0; a spike whose last samples never come is not emitted', () => {
  const x = signal(300, [[3, 6], [290, 6]]);
  const { snippets } = run(x, [30], { samplesBefore: 10, samplesAfter: 20, radiusUm: 0 });
  assert.equal(snippets.map((s) => s.sampleIndex), [3]);
  const w = snippets[0].waveforms[0];
  // Trough at frame 3, 10 samples before: frames −7 … −1 do not exist.
  assert.equal(w.slice(0, 7), new Array(7).fill(0));
  assert.equal(w.slice(7), Array.from({ length: 24 }, (_, t) => x[t * C + 6]));
});

test('hundreds of snippets completing in one block (capacity grows, content intact)', () => {
  const frames = 4000;
  const many: [number, number][] = [];
  for (let f = 100; f < 3800; f += 40) many.push([f, (f / 40) % 2 === 0 ? 2 : 9]);
  const x = signal(frames, many);
  const { snippets } = run(x, [frames], { samplesBefore: 5, samplesAfter: 5, radiusUm: 25 });
  assert.is(snippets.length, many.length);
  for (const s of snippets) assert.is(s.waveforms[0][5], x[s.sampleIndex * C + s.channel]);
});

test('early identification: each spike also cut short, as soon as its short snippet is complete, the same samples as the full one', () => {
  const x = signal(1200, troughs);
  const before = 10;
  const after = 40;
  for (const earlyAfter of [8, 20]) {
    const { snippets, early } = run(x, [30], { samplesBefore: before, samplesAfter: after, radiusUm: 45, earlySamplesAfter: earlyAfter });
    // Every spike once in each batch, in the same order.
    assert.equal(early.map((s) => [s.sampleIndex, s.channel, s.amplitudeUv]), snippets.map((s) => [s.sampleIndex, s.channel, s.amplitudeUv]));
    early.forEach((e, i) => {
      const full = snippets[i];
      assert.equal(e.channels, full.channels);
      // The short snippet is the full one's first samplesBefore + 1 + earlyAfter samples.
      e.waveforms.forEach((row, r) => assert.equal(row, full.waveforms[r].slice(0, before + 1 + earlyAfter), `spike at ${e.sampleIndex}, row ${r}`));
      // Emitted with the block that brings its last sample — but not before the detector reports the spike (12-frame peak window).
      assert.is(e.block, Math.floor((e.sampleIndex + Math.max(earlyAfter, 12)) / 30), `early snippet of ${e.sampleIndex}`);
      assert.is(full.block, Math.floor((full.sampleIndex + after) / 30));
    });
  }
  assert.equal(run(x, [30], { samplesBefore: before, samplesAfter: after, radiusUm: 45 }).early, [], 'off by default');
});

test('early snippets are identical whatever the block sizes', () => {
  const x = signal(3000, [...troughs, [1500, 3], [1501, 9]]);
  const opts = { samplesBefore: 30, samplesAfter: 60, radiusUm: 45, earlySamplesAfter: 12 };
  const reference = JSON.stringify(run(x, [30], opts).early.map(({ block, ...rest }) => rest));
  for (const sizes of [[1], [7], [257], randomSizes(5, 100)]) {
    assert.is(JSON.stringify(run(x, sizes, opts).early.map(({ block, ...rest }) => rest)), reference, `sizes ${sizes.slice(0, 3)}`);
  }
});

test('options are validated, naming the field', () => {
  assert.throws(() => extractSnippets({ samplesBefore: -1 }, layout), /snippets\.samplesBefore: expected an integer ≥ 0 and ≤ 1024, got -1/);
  assert.throws(() => extractSnippets({ samplesAfter: 20, earlySamplesAfter: 21 }, layout), /snippets\.earlySamplesAfter: expected at most samplesAfter \(20\), got 21/);
  assert.throws(() => extractSnippets({ mode: 'fast' as 'peak-only' }, layout), /snippets\.mode: expected one of "snippets", "peak-only", got "fast"/);
  // A layout of 3 channels for a 12-channel stream.
  let failure: unknown = null;
  try {
    pump(extractSnippets({}, linearLayout(3)), [{ block: cutBlocks(new Float32Array(C * 30), C, [30])[0], noiseUv: new Float32Array(C), spikes: { streamId: 't', sampleRateHz: 30000, count: 0, peakSampleIndex: new Float64Array(0), peakChannel: new Int32Array(0), amplitudeUv: new Float32Array(0), unitId: new Int32Array(0), sourceReceiveTimeNs: 0 } }], () => {});
  } catch (error) {
    failure = error;
  }
  assert.ok(isOptoloopError(failure, 'E_BLOCK_MISMATCH'));
});

test.run();
