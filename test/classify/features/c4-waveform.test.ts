import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { C4_WAVEFORM_PEAK_INDEX, C4_WAVEFORM_SAMPLES, c4Waveform, firstPeakIndex } from '../../../src/classify/features/c4-waveform.js';

/** A spike-like shape in µV at time t (ms): a trough at troughMs and a later repolarisation peak. */
function shape(tMs: number, troughMs: number, depthUv: number, offsetUv: number): number {
  const trough = -depthUv * Math.exp(-0.5 * ((tMs - troughMs) / 0.08) ** 2);
  const peak = 0.4 * depthUv * Math.exp(-0.5 * ((tMs - troughMs - 0.45) / 0.15) ** 2);
  return offsetUv + trough + peak;
}

function sampled(rateHz: number, samples: number, troughMs: number, depthUv: number, offsetUv: number): Float64Array {
  const out = new Float64Array(samples);
  for (let i = 0; i < samples; i++) out[i] = shape((i * 1000) / rateHz, troughMs, depthUv, offsetUv);
  return out;
}

test('at 30 kHz: the trough moves to index 30, the baseline (median of the first 30) goes to 0, the trough to −1', () => {
  // 150 samples, trough at sample 45 (1.5 ms), a DC offset of +7 µV, depth 120 µV.
  const input = sampled(30000, 150, 1.5, 120, 7);
  const out = c4Waveform(input, 30000);
  assert.is(out.length, C4_WAVEFORM_SAMPLES);
  assert.is(out[C4_WAVEFORM_PEAK_INDEX], -1);
  // Output j is input (j − 30 + 45), minus 7, divided by the trough depth 120 (the peak term is ~0 there).
  const depth = 7 - input[45];
  for (let j = 0; j < C4_WAVEFORM_SAMPLES; j++) {
    const expected = (input[j + 15] - 7) / depth;
    assert.ok(Math.abs(out[j] - expected) < 1e-5, `sample ${j}: ${out[j]} vs ${expected}`);
  }
  for (let j = 0; j < 20; j++) assert.ok(Math.abs(out[j]) < 1e-4, `baseline sample ${j} is ${out[j]}`);
});

test('a waveform whose first large deflection is positive is flipped so that peak is −1', () => {
  // Positive phase (100 µV) before a smaller trough (−90): |−90| > 0.75 · 100, but the positive one comes first.
  const input = new Float64Array(120);
  for (let i = 0; i < 120; i++) {
    const t = i / 30; // ms
    input[i] = 100 * Math.exp(-0.5 * ((t - 1.2) / 0.05) ** 2) - 90 * Math.exp(-0.5 * ((t - 1.5) / 0.05) ** 2);
  }
  assert.is(firstPeakIndex(input), 36);
  const out = c4Waveform(input, 30000);
  assert.ok(Math.abs(out[30] + 1) < 1e-6);
  // The trough (9 samples later) became positive: 90 / 100.
  assert.ok(Math.abs(out[39] - 0.9) < 1e-3, String(out[39]));
});

test('the first peak above 0.75·max wins over a later, larger one', () => {
  const input = new Float64Array(100);
  input[20] = -80; // 0.8 of the max: counts
  input[50] = -100;
  assert.is(firstPeakIndex(input), 20);
  input[20] = -70; // 0.7: does not count
  assert.is(firstPeakIndex(input), 50);
});

test('resampling: a 20 kHz and a 40 kHz waveform of the same shape give the 30 kHz result', () => {
  const at30 = c4Waveform(sampled(30000, 150, 1.5, 100, -3), 30000);
  // Troughs on a sample of each grid: 1.5 ms is sample 30 at 20 kHz and 60 at 40 kHz.
  const at20 = c4Waveform(sampled(20000, 100, 1.5, 100, -3), 20000);
  const at40 = c4Waveform(sampled(40000, 200, 1.5, 100, -3), 40000);
  let worst20 = 0;
  let worst40 = 0;
  for (let j = 0; j < C4_WAVEFORM_SAMPLES; j++) {
    worst20 = Math.max(worst20, Math.abs(at20[j] - at30[j]));
    worst40 = Math.max(worst40, Math.abs(at40[j] - at30[j]));
  }
  assert.ok(worst20 < 0.03, `20 kHz differs by ${worst20}`);
  assert.ok(worst40 < 0.01, `40 kHz differs by ${worst40}`);
});

test('a short waveform is padded with its end values; an all-zero one gives zeros', () => {
  // 32 samples at 20 kHz with the trough at 0.8 ms (CellExplorer's Buzsáki-lab format): 0.75 ms after it.
  const input = sampled(20000, 32, 0.8, 50, 0);
  const out = c4Waveform(input, 20000);
  assert.is(out[30], -1);
  const tail = out[89];
  // After the last input sample (0.75 ms = 22.5 output samples after the trough) the value is held.
  for (let j = 54; j < 90; j++) assert.is(out[j], tail);
  assert.equal(Array.from(c4Waveform(new Float64Array(40), 30000)), new Array(90).fill(0));
});

test.run();
