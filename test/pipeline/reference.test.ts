import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { commonReference } from '../../src/pipeline/reference.js';
import { readProbeFile } from '../../src/probe/probeinterface.js';
import { buildLayout, layoutFromProbe, linearLayout, type ChannelLayout } from '../../src/probe/channel-layout.js';
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

/**
 * The straightforward computation: µV per channel; for the median, each channel's deviation from
 * its baseline (an exponential average starting at the first frame, weight α per frame, in
 * float32 like the kernel) and per group the sorted middle of the deviations plus the mean of the
 * baselines; for the mean, the plain mean. Subtracted from the µV values.
 */
function expectedRows(rows: number[][], sampleRateHz: number, mode: 'median' | 'mean', groupOf: (c: number) => number): number[][] {
  const alpha = Math.fround(1 - Math.exp(-1000 / (10 * sampleRateHz)));
  const baseline = [...rows[0]];
  return rows.map((uv) => {
    const dev = uv.map((v, c) => Math.fround(v - baseline[c]));
    const groups = new Map<number, number[]>();
    uv.forEach((_, c) => {
      const g = groupOf(c);
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g)!.push(c);
    });
    const ref = new Map<number, number>();
    for (const [g, members] of groups) {
      const n = members.length;
      if (mode === 'mean') {
        ref.set(g, members.reduce((a, c) => a + uv[c], 0) / n);
        continue;
      }
      const sorted = members.map((c) => dev[c]).sort((a, b) => a - b);
      const middle = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
      ref.set(g, middle + members.reduce((a, c) => a + baseline[c], 0) / n);
    }
    dev.forEach((d, c) => (baseline[c] = Math.fround(baseline[c] + Math.fround(alpha * d))));
    return uv.map((v, c) => Math.fround(v - ref.get(groupOf(c))!));
  });
}

function microvoltRows(block: Int16SampleBlock): number[][] {
  const C = block.channelCount;
  return Array.from({ length: block.frameCount }, (_, f) => Array.from({ length: C }, (_, c) => Math.fround(block.samples[f * C + c] * block.uvPerCount[c])));
}

function expected(block: Int16SampleBlock, mode: 'median' | 'mean', groupOf: (c: number) => number): number[][] {
  return expectedRows(microvoltRows(block), block.sampleRateHz, mode, groupOf);
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
      // Same float32 operations except the order of sums (the mean, and the mean of the baselines).
      compare(out, expected(block, mode, groupOf), 2e-3, `${mode}/${scope}`);
      assert.is(out.format, 'float32');
      assert.is(out.frameCount, 200);
    });
  }
}

test('per-shank median differs from the global one when shanks differ', () => {
  const r = new SeededRandom(3);
  const samples = new Float32Array(32 * 50);
  // A common wave on every channel, plus a 1000 µV square wave on shank 2 only.
  for (let f = 0; f < 50; f++) for (let c = 0; c < 32; c++) {
    samples[f * 32 + c] = 300 * Math.sin(f / 5) + 20 * r.normal() + (fourShanks.shank[c] === 2 ? (f % 2 ? 1000 : -1000) : 0);
  }
  const block: Float32SampleBlock = {
    format: 'float32', streamId: 's', firstSampleIndex: 0, sampleRateHz: 30000, channelCount: 32, frameCount: 50, deviceTimestamp: null, hostReceiveTimeNs: 0, samples,
  };
  const [shank] = run(commonReference({ mode: 'median', scope: 'shank' }, fourShanks), [block]);
  const [global] = run(commonReference({ mode: 'median', scope: 'global' }, fourShanks), [block]);
  let shankMean = 0;
  let globalMean = 0;
  for (let f = 0; f < 50; f++) for (let c = 0; c < 32; c++) if (fourShanks.shank[c] === 2) {
    shankMean += (f % 2 ? 1 : -1) * shank.samples[f * 32 + c] / 400;
    globalMean += (f % 2 ? 1 : -1) * global.samples[f * 32 + c] / 400;
  }
  assert.ok(globalMean > 900, `global: shank 2 keeps its own common signal, ${globalMean} µV`);
  assert.ok(Math.abs(shankMean) < 50, `per shank: shank 2's common signal removed, ${shankMean} µV left`);
});

for (const channels of [1, 2, 3, 5, 6, 7, 31, 33, 384]) {
  test(`${channels} channels (vector lanes and scalar tail): median and mean exact or within rounding`, () => {
    const layout = linearLayout(channels);
    const block = int16Block(channels, 40, 10 + channels);
    compare(run(commonReference({ mode: 'median' }, layout), [block])[0], expected(block, 'median', () => 0), 5e-3, 'median');
    compare(run(commonReference({ mode: 'mean' }, layout), [block])[0], expected(block, 'mean', () => 0), 5e-3, 'mean');
  });
}

test('the median is exact on fresh data of every shape (ties, plateaus, outliers, jumps), globally and per group', () => {
  const r = new SeededRandom(77);
  for (const C of [1, 2, 3, 4, 5, 8, 16, 17, 31, 32, 33, 64, 383, 384, 385]) {
    const frames = 200;
    const samples = new Float32Array(C * frames);
    let common = 0;
    for (let f = 0; f < frames; f++) {
      const shape = r.int(6);
      if (r.next() < 0.1) common += 500 * r.normal(); // the common signal jumps now and then
      const sigma = [0, 3, 8, 40][r.int(4)];
      for (let c = 0; c < C; c++) {
        let v = common + sigma * r.normal();
        if (shape === 1) v = common + (c % 2) * 10; // two values
        if (shape === 2 && r.next() < 0.2) v -= 1000; // a fifth of the channels far below
        if (shape === 3) v = common; // a plateau: every channel equal
        if (shape === 4 && c < C / 2) v += 300; // bimodal
        // Quantised to 0.5 µV: a wrong pick would be off by at least that much.
        samples[f * C + c] = Math.round(v * 2) / 2;
      }
    }
    const block: Float32SampleBlock = {
      format: 'float32', streamId: 'm', firstSampleIndex: 0, sampleRateHz: 30000, channelCount: C, frameCount: frames, deviceTimestamp: null, hostReceiveTimeNs: 0, samples,
    };
    const rows = Array.from({ length: frames }, (_, f) => Array.from(samples.subarray(f * C, (f + 1) * C)));
    const [global] = run(commonReference({ mode: 'median' }), [block]);
    compare(global, expectedRows(rows, 30000, 'median', () => 0), 0.05, `${C} channels, global`);
    const layout = buildLayout('groups', Array.from({ length: C }, (_, c) => ({ id: String(c), xUm: 0, yUm: c, shankId: String(c % 3) })));
    const [perGroup] = run(commonReference({ mode: 'median', scope: 'shank' }, layout), [block]);
    compare(perGroup, expectedRows(rows, 30000, 'median', (c) => c % 3), 0.05, `${C} channels, 3 groups`);
  }
});

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
  const rows = Array.from({ length: 20 }, (_, f) => Array.from(samples.subarray(f * C, (f + 1) * C)));
  compare(out, expectedRows(rows, 30000, 'median', () => 0), 1e-4, 'float32 median');
  assert.is(out.deviceTimestamp, 7);
  assert.is(out.hostReceiveTimeNs, 123);
});

test('channel DC offsets do not decide the median: every channel keeps the same noise level', () => {
  const r = new SeededRandom(12);
  const C = 32;
  const frames = 3000;
  const samples = new Float32Array(C * frames);
  // Offsets of ±400 µV (40× the noise) and a common 50 Hz hum.
  for (let f = 0; f < frames; f++) for (let c = 0; c < C; c++) samples[f * C + c] = 400 * Math.sin(c * 1.7) + 150 * Math.sin((2 * Math.PI * 50 * f) / 30000) + 10 * r.normal();
  const block: Float32SampleBlock = {
    format: 'float32', streamId: 'o', firstSampleIndex: 0, sampleRateHz: 30000, channelCount: C, frameCount: frames, deviceTimestamp: null, hostReceiveTimeNs: 0, samples,
  };
  const [out] = run(commonReference({ mode: 'median' }), [block]);
  const sd = Array.from({ length: C }, (_, c) => {
    let sum = 0;
    let sumSq = 0;
    for (let f = 300; f < frames; f++) {
      const v = out.samples[f * C + c];
      sum += v;
      sumSq += v * v;
    }
    const n = frames - 300;
    return Math.sqrt(sumSq / n - (sum / n) ** 2);
  });
  // The hum is gone and no channel became the reference: all near 10 µV (plus the median's own noise).
  assert.ok(Math.min(...sd) > 9.3 && Math.max(...sd) < 11.5, `σ per channel ${Math.min(...sd).toFixed(2)} … ${Math.max(...sd).toFixed(2)} µV`);
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
  const samples = new Float32Array(2 * C); // frame 0 at rest, frame 1 with a −800 µV spike on channel 3
  samples[C + 3] = -800;
  const block: Float32SampleBlock = {
    format: 'float32', streamId: 's', firstSampleIndex: 0, sampleRateHz: 30000, channelCount: C, frameCount: 2, deviceTimestamp: null, hostReceiveTimeNs: 0, samples,
  };
  const [median] = run(commonReference({ mode: 'median' }), [block]);
  const [mean] = run(commonReference({ mode: 'mean' }), [block]);
  assert.is(median.samples[C], 0);
  assert.is(mean.samples[C], 50);
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
  // Each subscription's baseline started at its own first frame.
  const close = (a: number, b: number): boolean => Math.abs(a - b) < 1e-3;
  assert.ok(close(seenA[0], expected(blockA, 'median', () => 0)[0][0]));
  assert.ok(close(seenB[0], expected(blockB, 'median', () => 0)[0][0]));
  assert.ok(close(seenA[1], expectedRows([...microvoltRows(blockA), ...microvoltRows(blockA)], 30000, 'median', () => 0)[1][0]));
});

export type { ChannelLayout };
test.run();
