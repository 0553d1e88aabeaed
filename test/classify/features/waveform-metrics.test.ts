import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { troughToPeakMs } from '../../../src/classify/features/waveform-metrics.js';

function twoGaussians(rateHz: number, samples: number, troughMs: number, peakMs: number): Float64Array {
  const out = new Float64Array(samples);
  for (let i = 0; i < samples; i++) {
    const t = (i * 1000) / rateHz;
    out[i] = -100 * Math.exp(-0.5 * ((t - troughMs) / 0.06) ** 2) + 30 * Math.exp(-0.5 * ((t - peakMs) / 0.12) ** 2);
  }
  return out;
}

test('trough-to-peak of separated extrema is their distance, to a fraction of a sample', () => {
  // Trough at 1.01 ms and peak at 1.62 ms: neither on a 30 kHz sample; 0.61 ms apart.
  const w = twoGaussians(30000, 90, 1.01, 1.62);
  const ttp = troughToPeakMs(w, 30000)!;
  assert.ok(Math.abs(ttp - 0.61) < 0.01, String(ttp));
  const w20 = twoGaussians(20000, 60, 1.01, 1.62);
  assert.ok(Math.abs(troughToPeakMs(w20, 20000)! - 0.61) < 0.015);
});

test('the trough hint limits the trough search; flat or trough-at-end waveforms give null', () => {
  const w = twoGaussians(30000, 90, 1.0, 1.5);
  w[80] = -500; // an artefact far from the hint
  assert.ok(Math.abs(troughToPeakMs(w, 30000, 30)! - 0.5) < 0.01);
  assert.is(troughToPeakMs(new Float64Array(30), 30000), null);
  const falling = Float64Array.from({ length: 30 }, (_, i) => -i);
  assert.is(troughToPeakMs(falling, 30000), null);
});

test.run();
