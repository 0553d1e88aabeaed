import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { estimateNoise } from '../../src/pipeline/noise.js';
import type { NoiseBlock } from '../../src/pipeline/results.js';
import { SeededRandom } from '../../src/core/random.js';
import { isOptoloopError } from '../../src/core/errors.js';
import { cutBlocks, pump, randomSizes, sameBits } from '../helpers/blocks.js';

const FS = 30000;

/** Gaussian noise, σ per channel given by sigmaAt(channel, frame). */
function gaussian(channels: number, frames: number, seed: number, sigmaAt: (c: number, f: number) => number): Float32Array {
  const r = new SeededRandom(seed);
  const x = new Float32Array(channels * frames);
  for (let f = 0; f < frames; f++) for (let c = 0; c < channels; c++) x[f * channels + c] = sigmaAt(c, f) * r.normal();
  return x;
}

/** σ in force at every frame of every channel: the segments expanded, frame-major. */
function sigmaPerFrame(op: ReturnType<typeof estimateNoise>, x: Float32Array, C: number, sizes: number[], firstSampleIndex = 0): Float32Array {
  const out = new Float32Array(x.length);
  const blocks = cutBlocks(x, C, sizes).map((b) => ({ ...b, firstSampleIndex: b.firstSampleIndex + firstSampleIndex }));
  let at = 0;
  pump(op, blocks, (n: NoiseBlock) => {
    const F = n.block.frameCount;
    for (let k = 0; k < n.segmentCount; k++) {
      const end = k + 1 < n.segmentCount ? n.segmentStartFrame[k + 1] : F;
      for (let f = n.segmentStartFrame[k]; f < end; f++) for (let c = 0; c < C; c++) out[(at + f) * C + c] = n.segmentNoiseUv[k * C + c];
    }
    if (F > 0) for (let c = 0; c < C; c++) assert.ok(Object.is(n.noiseUv[c], out[(at + F - 1) * C + c]), 'noiseUv is the last segment’s σ');
    at += F;
  });
  return out;
}

const sigmas = Array.from({ length: 32 }, (_, c) => 4 + 1.5 * c); // 4 … 50.5 µV

test('converges to the σ of seeded Gaussian noise on every channel, within 3 %', () => {
  const C = 32;
  const frames = 30 * FS;
  const x = gaussian(C, frames, 1, (c) => sigmas[c]);
  const sigma = sigmaPerFrame(estimateNoise({ windowMs: 500, timeConstantS: 2 }), x, C, [30]);
  let worst = 0;
  for (let c = 0; c < C; c++) worst = Math.max(worst, Math.abs(sigma[(frames - 1) * C + c] / sigmas[c] - 1));
  console.log(`  after 30 s (τ = 2 s): largest relative error over 32 channels ${(100 * worst).toFixed(2)} %`);
  assert.ok(worst < 0.03, `worst relative error ${worst}`);
});

test('7 channels (a vector group and a scalar tail of 3) each converge to their own σ', () => {
  const C = 7;
  const frames = 20 * FS;
  const x = gaussian(C, frames, 8, (c) => 5 * (c + 1));
  const sigma = sigmaPerFrame(estimateNoise({ windowMs: 500, timeConstantS: 2 }), x, C, [30]);
  for (let c = 0; c < C; c++) assert.ok(Math.abs(sigma[(frames - 1) * C + c] / (5 * (c + 1)) - 1) < 0.03, `channel ${c}: ${sigma[(frames - 1) * C + c]}`);
});

test('one window alone (τ = 0) is within 6 % of σ; NaN before the first window ends', () => {
  const C = 32;
  const x = gaussian(C, FS, 2, (c) => sigmas[c]);
  const sigma = sigmaPerFrame(estimateNoise({ windowMs: 500, timeConstantS: 0 }), x, C, [30]);
  for (let c = 0; c < C; c++) {
    assert.ok(Number.isNaN(sigma[(15000 - 1) * C + c]), 'NaN through the first window’s last sample');
    const estimate = sigma[15000 * C + c];
    assert.ok(Math.abs(estimate / sigmas[c] - 1) < 0.06, `channel ${c}: ${estimate} vs ${sigmas[c]}`);
  }
});

test('adapts when σ changes: exponential approach with the configured time constant', () => {
  const C = 8;
  const stepFrame = 20 * FS;
  const frames = 40 * FS;
  const x = gaussian(C, frames, 3, (_, f) => (f < stepFrame ? 10 : 20));
  const tau = 3;
  const sigma = sigmaPerFrame(estimateNoise({ windowMs: 500, timeConstantS: tau }), x, C, [300]);
  for (let c = 0; c < C; c++) {
    const before = sigma[(stepFrame - 1) * C + c];
    const afterTau = sigma[(stepFrame + tau * FS) * C + c];
    const end = sigma[(frames - 1) * C + c];
    assert.ok(Math.abs(before / 10 - 1) < 0.03, `before the step: ${before}`);
    // After one time constant: 10 + 10·(1 − e⁻¹) ≈ 16.3 µV (windows are 0.5 s, so ±1 window).
    assert.ok(afterTau > 15.3 && afterTau < 17.2, `one τ after the step: ${afterTau}`);
    assert.ok(Math.abs(end / 20 - 1) < 0.03, `20 s after the step: ${end}`);
  }
});

test('block-size invariant: σ at every frame is identical for any block sizes (windows aligned to sample indices)', () => {
  const C = 5;
  const x = gaussian(C, 3 * FS, 4, (c) => 5 + c);
  const opts = { windowMs: 100, timeConstantS: 0.5, decimation: 3 };
  const reference = sigmaPerFrame(estimateNoise(opts), x, C, [3 * FS]);
  for (const sizes of [[1], [7], [30], [257], [4096], randomSizes(1, 100), randomSizes(2, 100, 5000)]) {
    assert.ok(sameBits(sigmaPerFrame(estimateNoise(opts), x, C, sizes), reference), `sizes ${sizes.slice(0, 3)}…`);
  }
});

test('a stream starting mid-window uses that window only if half of it arrived', () => {
  const C = 2;
  const x = gaussian(C, FS, 5, () => 10);
  // Window = 15000 frames. Starting at 4000 leaves 11000 frames of window 0 (> half): σ known at 15000.
  const early = sigmaPerFrame(estimateNoise({ windowMs: 500, timeConstantS: 0 }), x, C, [30], 4000);
  assert.ok(Number.isNaN(early[(10999 - 1) * C]) && Math.abs(early[11000 * C] / 10 - 1) < 0.06);
  // Starting at 10000 leaves 5000 frames (< half): that window is skipped, σ known from 30000.
  const late = sigmaPerFrame(estimateNoise({ windowMs: 500, timeConstantS: 0 }), x, C, [30], 10000);
  assert.ok(Number.isNaN(late[(20000 - 1) * C]) && Math.abs(late[20000 * C] / 10 - 1) < 0.06);
});

test('rare large spikes barely move the estimate (a median, not a standard deviation)', () => {
  const C = 1;
  const x = gaussian(C, 2 * FS, 6, () => 10);
  for (let f = 100; f < x.length; f += 300) for (let k = 0; k < 10; k++) x[f + k] = -150; // 100 spikes/s, 10 samples each
  const sigma = sigmaPerFrame(estimateNoise({ windowMs: 500, timeConstantS: 0 }), x, C, [30]);
  const estimate = sigma[x.length - 1];
  assert.ok(estimate > 10 && estimate < 10.8, `with 3 % of samples at −15σ: ${estimate}`);
});

test('options are validated, naming the field; a window too long for the counters is refused at the first block', () => {
  assert.throws(() => estimateNoise({ windowMs: 0 }), /noise\.windowMs: expected a positive number, got 0/);
  assert.throws(() => estimateNoise({ decimation: 0 }), /noise\.decimation: expected an integer ≥ 1 and ≤ 64, got 0/);
  let failure: unknown = null;
  try {
    sigmaPerFrame(estimateNoise({ windowMs: 60000, decimation: 1 }), new Float32Array(30), 1, [30]);
  } catch (error) {
    failure = error;
  }
  assert.ok(isOptoloopError(failure, 'E_OPTIONS_INVALID'));
  assert.match((failure as Error).message, 'noise.windowMs: expected at most 2184 ms at 30000 Hz with decimation 1');
});

test.run();
