import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { commonReference } from '../../src/pipeline/reference.js';
import { readProbeFile } from '../../src/probe/probeinterface.js';
import { layoutFromProbe, linearLayout, type ChannelLayout } from '../../src/probe/channel-layout.js';
import { isOptoloopError } from '../../src/core/errors.js';
import { cloneBlock, type Float32SampleBlock, type Int16SampleBlock, type SampleBlock } from '../../src/core/sample-block.js';
import { SeededRandom } from '../../src/core/random.js';
import { sharedData } from '../helpers/paths.js';

const probes = sharedData('probeinterface-library', 'neuronexus');
const fourShanks = layoutFromProbe(readProbeFile(join(probes, 'A4x8-5mm-100-200-177', 'A4x8-5mm-100-200-177.json')), 32);

/** int16 frames with per-channel offsets, a common-mode wave, noise, and per-channel scales. */
function int16Block(channels: number, frames: number, seed: number, firstSampleIndex = 0): Int16SampleBlock {
  const r = new SeededRandom(seed);
  const samples = new Int16Array(channels * frames);
  const offsets = Array.from({ length: channels }, () => r.int(400) - 200);
  for (let f = 0; f < frames; f++) {
    const common = Math.round(300 * Math.sin(f / 5));
    for (let c = 0; c < channels; c++) samples[f * channels + c] = offsets[c] + common + Math.round(20 * r.normal());
  }
  const uvPerCount = Float32Array.from({ length: channels }, (_, c) => (c % 3 === 0 ? 2.34375 : c % 3 === 1 ? 0.195 : 1.5));
  return {
    format: 'int16', streamId: 'test', firstSampleIndex, sampleRateHz: 30000, channelCount: channels, frameCount: frames,
    deviceTimestamp: null, hostReceiveTimeNs: 0, samples, uvPerCount,
  };
}

function run(op: ReturnType<typeof commonReference>, blocks: SampleBlock[]): Float32SampleBlock[] {
  const subject = new Subject<SampleBlock>();
  const out: Float32SampleBlock[] = [];
  let failure: unknown = null;
  subject.pipe(op).subscribe({ next: (b) => out.push(cloneBlock(b)), error: (e) => (failure = e) });
  for (const b of blocks) subject.next(b);
  subject.complete();
  if (failure) throw failure;
  return out;
}

/** The straightforward computation: µV per channel, then each group's sorted middle or mean in float64. */
function expected(block: Int16SampleBlock, mode: 'median' | 'mean', groupOf: (c: number) => number): number[][] {
  const C = block.channelCount;
  const rows: number[][] = [];
  for (let f = 0; f < block.frameCount; f++) {
    const uv = Array.from({ length: C }, (_, c) => Math.fround(block.samples[f * C + c] * block.uvPerCount[c]));
    const groups = new Map<number, number[]>();
    uv.forEach((v, c) => {
      const g = groupOf(c);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g)!.push(v);
    });
    const ref = new Map<number, number>();
    for (const [g, values] of groups) {
      const sorted = [...values].sort((a, b) => a - b);
      const n = sorted.length;
      const m = mode === 'median' ? (n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2) : values.reduce((a, b) => a + b, 0) / n;
      ref.set(g, Math.fround(m));
    }
    rows.push(uv.map((v, c) => Math.fround(v - ref.get(groupOf(c))!)));
  }
  return rows;
}

function compare(out: Float32SampleBlock, want: number[][], toleranceUv: number, label: string): void {
  const C = out.channelCount;
  let worst = 0;
  for (let f = 0; f < out.frameCount; f++) for (let c = 0; c < C; c++) worst = Math.max(worst, Math.abs(out.samples[f * C + c] - want[f][c]));
  assert.ok(worst <= toleranceUv, `${label}: largest difference ${worst} µV > ${toleranceUv}`);
}

for (const mode of ['median', 'mean'] as const) {
  for (const scope of ['global', 'shank'] as const) {
    test(`${mode} reference, ${scope}, A4x8 (4 shanks × 8): matches the straightforward computation`, () => {
      const block = int16Block(32, 200, mode === 'median' ? 1 : 2);
      const [out] = run(commonReference({ mode, scope }, fourShanks), [block]);
      const groupOf = scope === 'shank' ? (c: number) => fourShanks.shank[c] : () => 0;
      // The median is exact (same float32 operations); the mean differs only by summation order.
      compare(out, expected(block, mode, groupOf), mode === 'median' ? 0 : 2e-3, `${mode}/${scope}`);
      assert.is(out.format, 'float32');
      assert.is(out.frameCount, 200);
    });
  }
}

test('per-shank median differs from the global one when shanks differ', () => {
  const r = new SeededRandom(3);
  const samples = new Float32Array(32 * 50);
  // A common wave on every channel, plus 1000 µV more on shank 2 only.
  for (let f = 0; f < 50; f++) for (let c = 0; c < 32; c++) {
    samples[f * 32 + c] = 300 * Math.sin(f / 5) + 20 * r.normal() + (fourShanks.shank[c] === 2 ? 1000 : 0);
  }
  const block: Float32SampleBlock = {
    format: 'float32', streamId: 's', firstSampleIndex: 0, sampleRateHz: 30000, channelCount: 32, frameCount: 50, deviceTimestamp: null, hostReceiveTimeNs: 0, samples,
  };
  const [shank] = run(commonReference({ mode: 'median', scope: 'shank' }, fourShanks), [block]);
  const [global] = run(commonReference({ mode: 'median', scope: 'global' }, fourShanks), [block]);
  let shankMean = 0;
  let globalMean = 0;
  for (let f = 0; f < 50; f++) for (let c = 0; c < 32; c++) if (fourShanks.shank[c] === 2) {
    shankMean += shank.samples[f * 32 + c] / 400;
    globalMean += global.samples[f * 32 + c] / 400;
  }
  assert.ok(globalMean > 900, `global: shank 2 keeps its offset, mean ${globalMean} µV`);
  assert.ok(Math.abs(shankMean) < 20, `per shank: shank 2 offset removed, mean ${shankMean} µV`);
});

for (const channels of [1, 2, 3, 5, 6, 7, 31, 33, 384]) {
  test(`${channels} channels (vector lanes and scalar tail): median and mean exact or within rounding`, () => {
    const layout = linearLayout(channels);
    const block = int16Block(channels, 40, 10 + channels);
    compare(run(commonReference({ mode: 'median' }, layout), [block])[0], expected(block, 'median', () => 0), 0, 'median');
    compare(run(commonReference({ mode: 'mean' }, layout), [block])[0], expected(block, 'mean', () => 0), 5e-3, 'mean');
  });
}

test('mode none converts int16 to µV exactly and leaves float32 as is', () => {
  const block = int16Block(7, 30, 4);
  const [out] = run(commonReference({ mode: 'none' }), [block]);
  for (let i = 0; i < 7 * 30; i++) assert.is(out.samples[i], Math.fround(block.samples[i] * block.uvPerCount[i % 7]));
  const floatBlock: Float32SampleBlock = { ...out, samples: out.samples.slice() };
  const [again] = run(commonReference({ mode: 'none' }), [floatBlock]);
  assert.equal(Array.from(again.samples), Array.from(out.samples));
});

test('float32 input: the median is subtracted from µV samples as given', () => {
  const r = new SeededRandom(5);
  const C = 9;
  const samples = Float32Array.from({ length: C * 20 }, () => Math.fround(r.normal() * 50));
  const block: Float32SampleBlock = {
    format: 'float32', streamId: 'f', firstSampleIndex: 0, sampleRateHz: 30000, channelCount: C, frameCount: 20,
    deviceTimestamp: 7, hostReceiveTimeNs: 123, samples,
  };
  const [out] = run(commonReference({ mode: 'median' }), [block]);
  for (let f = 0; f < 20; f++) {
    const row = Array.from(samples.subarray(f * C, (f + 1) * C)).sort((a, b) => a - b);
    for (let c = 0; c < C; c++) assert.is(out.samples[f * C + c], Math.fround(samples[f * C + c] - row[4]));
  }
  assert.is(out.deviceTimestamp, 7);
  assert.is(out.hostReceiveTimeNs, 123);
});

test('the output is the same whatever the block size, and blocks larger than planned are taken', () => {
  const whole = int16Block(33, 600, 6);
  const [reference] = run(commonReference({ mode: 'median' }), [whole]);
  const pieces: Int16SampleBlock[] = [];
  const r = new SeededRandom(8);
  for (let f = 0; f < 600; ) {
    const n = Math.min(600 - f, 1 + r.int(257));
    pieces.push({ ...whole, firstSampleIndex: f, frameCount: n, samples: whole.samples.slice(f * 33, (f + n) * 33) });
    f += n;
  }
  const outs = run(commonReference({ mode: 'median' }), pieces);
  const joined = outs.flatMap((b) => Array.from(b.samples));
  assert.equal(joined, Array.from(reference.samples));
});

test('a spike on one channel barely moves the median but shifts the mean', () => {
  const C = 16;
  const samples = new Float32Array(C);
  samples[3] = -800;
  const block: Float32SampleBlock = {
    format: 'float32', streamId: 's', firstSampleIndex: 0, sampleRateHz: 30000, channelCount: C, frameCount: 1, deviceTimestamp: null, hostReceiveTimeNs: 0, samples,
  };
  const [median] = run(commonReference({ mode: 'median' }), [block]);
  const [mean] = run(commonReference({ mode: 'mean' }), [block]);
  assert.is(median.samples[0], 0);
  assert.is(mean.samples[0], 50);
});

test('refuses shank scope without a layout, naming the field', () => {
  try {
    commonReference({ scope: 'shank' });
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_OPTIONS_INVALID'));
    assert.match((error as Error).message, 'reference.scope: expected "global"');
  }
  assert.throws(() => commonReference({ mode: 'medain' as 'median' }), /reference\.mode: expected one of "median", "mean", "none", got "medain"/);
});

test('a stream whose channel count disagrees with the layout, or changes, errors with E_BLOCK_MISMATCH', () => {
  assert.throws(() => run(commonReference({}, fourShanks), [int16Block(16, 10, 1)]), (e: unknown) => isOptoloopError(e, 'E_BLOCK_MISMATCH') && /layout/.test(String(e)));
  assert.throws(
    () => run(commonReference({}), [int16Block(16, 10, 1), int16Block(17, 10, 1, 10)]),
    (e: unknown) => isOptoloopError(e, 'E_BLOCK_MISMATCH') && /channelCount: expected 16/.test((e as Error).message),
  );
  assert.throws(
    () => run(commonReference({}), [int16Block(16, 10, 1, 100), int16Block(16, 10, 1, 50)]),
    (e: unknown) => isOptoloopError(e, 'E_BLOCK_MISMATCH') && /samples in order/.test((e as Error).message),
  );
});

test('two subscriptions keep separate buffers', () => {
  const op = commonReference({ mode: 'median' });
  const a = new Subject<SampleBlock>();
  const b = new Subject<SampleBlock>();
  const seenA: number[] = [];
  const seenB: number[] = [];
  a.pipe(op).subscribe((x) => seenA.push(x.samples[0]));
  b.pipe(op).subscribe((x) => seenB.push(x.samples[0]));
  const blockA = int16Block(8, 1, 11);
  const blockB = int16Block(8, 1, 12);
  a.next(blockA);
  b.next(blockB);
  a.next({ ...blockA, firstSampleIndex: 1 });
  assert.is(seenA[0], seenA[1]);
  assert.is(seenB[0], expected(blockB, 'median', () => 0)[0][0]);
});

export type { ChannelLayout };
test.run();
