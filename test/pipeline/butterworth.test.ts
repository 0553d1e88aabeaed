import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { designButterworthBandpass, type Biquad } from '../../src/pipeline/butterworth.js';

/**
 * The analog Butterworth band-pass magnitude 1/√(1 + ((Ω² − Ω₀²)/(Ω·B))^2N) at the frequency the
 * bilinear transform maps to `hz` (Ω = 2fs·tan(π·hz/fs)), with pre-warped corners.
 */
function idealMagnitude(lowHz: number, highHz: number, fs: number, order: number, hz: number): number {
  const warp = (f: number): number => 2 * fs * Math.tan((Math.PI * f) / fs);
  const [w1, w2, w] = [warp(lowHz), warp(highHz), warp(hz)];
  const ratio = (w * w - w1 * w2) / (w * (w2 - w1));
  return 1 / Math.sqrt(1 + ratio ** (2 * order));
}

/** |H(e^{iω})| of a cascade, evaluated directly from the coefficients. */
function magnitude(sections: readonly Biquad[], hz: number, sampleRateHz: number): number {
  const w = (2 * Math.PI * hz) / sampleRateHz;
  let m = 1;
  for (const s of sections) {
    const nr = s.b0 + s.b1 * Math.cos(w) + s.b2 * Math.cos(2 * w);
    const ni = -s.b1 * Math.sin(w) - s.b2 * Math.sin(2 * w);
    const dr = 1 + s.a1 * Math.cos(w) + s.a2 * Math.cos(2 * w);
    const di = -s.a1 * Math.sin(w) - s.a2 * Math.sin(2 * w);
    m *= Math.hypot(nr, ni) / Math.hypot(dr, di);
  }
  return m;
}

const cases = [
  { lowHz: 300, highHz: 6000, fs: 30000 },
  { lowHz: 300, highHz: 3000, fs: 20000 },
  { lowHz: 100, highHz: 14000, fs: 30000 },
  { lowHz: 1, highHz: 40, fs: 250 },
  { lowHz: 500, highHz: 700, fs: 30000 },
];

for (const { lowHz, highHz, fs } of cases) {
  test(`${lowHz}–${highHz} Hz at ${fs} Hz, orders 1–8: the analog Butterworth magnitude, carried over by the bilinear transform`, () => {
    for (let order = 1; order <= 8; order++) {
      const d = designButterworthBandpass(lowHz, highHz, fs, order);
      assert.is(d.sections.length, order, 'one section per order');
      // −3 dB exactly at the corners, whatever the order (the pre-warping's purpose).
      for (const corner of [lowHz, highHz]) {
        const db = 20 * Math.log10(magnitude(d.sections, corner, fs));
        assert.ok(Math.abs(db + 10 * Math.log10(2)) < 1e-6, `order ${order}: ${db} dB at ${corner} Hz`);
      }
      // Unit gain at the warped geometric centre, zero at DC and at Nyquist.
      const centreHz = (fs / Math.PI) * Math.atan(Math.sqrt(Math.tan((Math.PI * lowHz) / fs) * Math.tan((Math.PI * highHz) / fs)));
      assert.ok(Math.abs(magnitude(d.sections, centreHz, fs) - 1) < 1e-9, `order ${order}: centre gain`);
      assert.ok(magnitude(d.sections, 0, fs) < 1e-12 && magnitude(d.sections, fs / 2, fs) < 1e-6, 'zeros at DC and Nyquist');
      // Everywhere: |H| equals 1/√(1 + ((Ω² − Ω₀²)/(Ω·B))^2N) at the pre-warped frequency.
      for (let i = 1; i < 200; i++) {
        const hz = (i / 200) * (fs / 2);
        const got = magnitude(d.sections, hz, fs);
        const want = idealMagnitude(lowHz, highHz, fs, order, hz);
        assert.ok(Math.abs(got - want) < 1e-9 + 1e-7 * want, `order ${order} at ${hz} Hz: ${got} vs ${want}`);
      }
      // Stable: every pole strictly inside the unit circle.
      for (const p of d.poles) assert.ok(Math.hypot(p.re, p.im) < 1, `order ${order}: pole radius ${Math.hypot(p.re, p.im)}`);
    }
  });
}

test('the stop band falls at 20·N dB per decade on each side', () => {
  for (let order = 1; order <= 4; order++) {
    const d = designButterworthBandpass(300, 6000, 30000, order);
    // Far below the band, |H| ~ (Ω·B/Ω₀²)^N: a decade lower in frequency, 20·N dB lower.
    const drop = 20 * Math.log10(magnitude(d.sections, 10, 30000) / magnitude(d.sections, 1, 30000));
    assert.ok(Math.abs(drop - 20 * order) < 0.1, `order ${order}: ${drop} dB per decade`);
  }
});

test('refuses corners outside 0 < low < high < Nyquist', () => {
  assert.throws(() => designButterworthBandpass(300, 15000, 30000, 3), /Nyquist|15000/);
  assert.throws(() => designButterworthBandpass(6000, 300, 30000, 3));
  assert.throws(() => designButterworthBandpass(0, 300, 30000, 3));
  assert.throws(() => designButterworthBandpass(300, 6000, 30000, 0));
});

test.run();
