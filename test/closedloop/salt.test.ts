import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  klDivergenceCommonSupport,
  medianInPlace,
  saltDistance,
  saltFromCounts,
  saltFromRasters,
  saltLatencyBinCount,
} from '../../src/closedloop/salt.js';
import { isOptoloopError } from '../../src/core/errors.js';

const close = (actual: number, expected: number, tolerance = 1e-6, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what} expected ${expected}, got ${actual}`);

test('latency histograms have wn/dt + 1 bins; a window that is not a whole number of bins is refused', () => {
  assert.is(saltLatencyBinCount(10, 1), 11);
  assert.is(saltLatencyBinCount(2, 0.5), 5);
  try {
    saltLatencyBinCount(10, 3);
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_OPTIONS_INVALID'));
  }
});

test('KL over the common support renormalises both distributions there', () => {
  // P = [.5, .5, 0], Q = [.5, .25, .25]: common support = bins 0 and 1 (P·Q > 0).
  // Renormalised: P' = [.5, .5], Q' = [.5, .25] / .75 = [2/3, 1/3].
  // KL = .5 ln(.5 / (2/3)) + .5 ln(.5 / (1/3)) = .5 ln(.75) + .5 ln(1.5) = .5 ln(1.125) = 0.0588915.
  close(klDivergenceCommonSupport([0.5, 0.5, 0], [0.5, 0.25, 0.25]), 0.5 * Math.log(1.125), 1e-12);
  // The textbook KL (no renormalisation) would be .5 ln(1) + .5 ln(2) = 0.3466: the detail matters.
  assert.ok(Math.abs(0.5 * Math.log(1.125) - 0.5 * Math.log(2)) > 0.2);
});

test('distance = sqrt(2 · JSD) with the common-support KL: hand-worked values', () => {
  // P = [.5, .5, 0], Q = [.5, 0, .5]: M = [.5, .25, .25].
  // KL(P‖M) over bins {0, 1}: P' = [.5, .5], M' = [.5, .25]/.75 = [2/3, 1/3] → .5 ln(1.125).
  // KL(Q‖M) over bins {0, 2}: the same by symmetry → .5 ln(1.125).
  // JSD = .5 ln(1.125); distance = sqrt(ln 1.125) = 0.3431953.
  close(saltDistance([0.5, 0.5, 0], [0.5, 0, 0.5]), Math.sqrt(Math.log(1.125)), 1e-12);
  // Disjoint supports: P = [.5, 0, .5], Q = [0, 1, 0], M = [.25, .5, .25].
  // KL(P‖M) over {0, 2}: P' = [.5, .5], M' = [.5, .5] → 0; KL(Q‖M) over {1}: [1] vs [1] → 0.
  // Hence distance 0: the reference implementation's quirk, kept on purpose.
  assert.is(saltDistance([0.5, 0, 0.5], [0, 1, 0]), 0);
  // Identical histograms are at distance 0; distance is symmetric.
  assert.is(saltDistance([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]), 0);
  assert.is(saltDistance([0.75, 0.25, 0], [0.25, 0.75, 0]), saltDistance([0.25, 0.75, 0], [0.75, 0.25, 0]));
});

test('median: odd and even counts (mean of the middle two), as MATLAB median', () => {
  assert.is(medianInPlace(Float64Array.from([3, 1, 2]), 3), 2);
  assert.is(medianInPlace(Float64Array.from([4, 1, 3, 2]), 4), 2.5);
  assert.ok(Number.isNaN(medianInPlace(new Float64Array(0), 0)));
});

// A small session worked by hand: wn = 2 ms, dt = 1 ms → latencies 0 (none), 1, 2 → 3 bins.
// Four trials, a 6 ms baseline → three baseline windows, then the 2 ms test window.
//   baseline window 1 (bins 0–1): no spike in any trial            → [4, 0, 0] → [1, 0, 0]
//   baseline window 2 (bins 2–3): trial 0 spikes in bin 2 (lat 1)  → [3, 1, 0] → [.75, .25, 0]
//   baseline window 3 (bins 4–5): trial 1 spikes in bin 5 (lat 2)  → [3, 0, 1] → [.75, 0, .25]
//   test (bins 0–1): trials 0, 1, 2 spike in bin 0 (trial 2 also in bin 1: only the first counts)
//                                                                  → [1, 3, 0] → [.25, .75, 0]
// Baseline–baseline distances:
//   d(W1, W2): M = [.875, .125, 0]; KL(W1‖M) over {0} = 0; KL(W2‖M) over {0,1} (M sums to 1 there)
//              = .75 ln(.75/.875) + .25 ln(.25/.125) = .75 ln(6/7) + .25 ln 2 = 0.0576738
//              JSD = 0.0288369 → d = sqrt(0.0576738) = 0.2401537
//   d(W1, W3): the same with bins 1 and 2 swapped = 0.2401537
//   d(W2, W3): M = [.75, .125, .125]; KL(W2‖M) over {0,1}: M' = [6/7, 1/7]
//              = .75 ln(7/8) + .25 ln(7/4) = 0.0397554, KL(W3‖M) the same
//              JSD = 0.0397554 → d = sqrt(0.0795108) = 0.2819766
//   median = 0.2401537
// Test–baseline distances, T = [.25, .75, 0]:
//   d(W1, T): M = [.625, .375, 0]; KL(W1‖M) = 0; KL(T‖M) = .25 ln(.4) + .75 ln 2 = 0.2907877
//             → d = sqrt(0.2907877) = 0.5392473
//   d(W2, T): M = [.5, .5, 0]; KL = .75 ln 1.5 + .25 ln .5 = 0.1308120 both ways → d = sqrt(0.2616240) = 0.5114919
//   d(W3, T): M = [.5, .375, .125]; KL(W3‖M) over {0,2}: M' = [.8, .2] → .75 ln(.9375) + .25 ln(1.25) = 0.0073820
//             KL(T‖M) over {0,1}: M' = [4/7, 3/7] → .25 ln(.4375) + .75 ln(1.75) = 0.2130422
//             JSD = 0.1102121 → d = sqrt(0.2204242) = 0.4694936
//   median = 0.5114919
// p = #(baseline distances ≥ 0.5114919) / 3 = 0;  I = 0.5114919 − 0.2401537 = 0.2713382.
const trials = 4;
const baselineBins = 6;
const testBins = 2;
function handRasters(): { baseline: Uint8Array; test: Uint8Array } {
  const baseline = new Uint8Array(trials * baselineBins);
  const testRaster = new Uint8Array(trials * testBins);
  baseline[0 * baselineBins + 2] = 1;
  baseline[1 * baselineBins + 5] = 1;
  testRaster[0 * testBins + 0] = 1;
  testRaster[1 * testBins + 0] = 1;
  testRaster[2 * testBins + 0] = 1;
  testRaster[2 * testBins + 1] = 1;
  return { baseline, test: testRaster };
}

test('SALT on rasters: the hand-worked session gives p = 0 and I = 0.2713382', () => {
  const { baseline, test: t } = handRasters();
  const r = saltFromRasters(baseline, baselineBins, t, testBins, trials, 1, 2);
  assert.is(r.baselineWindowCount, 3);
  assert.is(r.trialCount, 4);
  assert.is(r.p, 0);
  close(r.i, 0.5114919 - 0.2401537, 2e-7, 'I');
});

test('SALT on counts: the same session as accumulated latency counts gives the same p and I', () => {
  // Rows: W1, W2, W3, test; columns: no spike, latency 1, latency 2.
  const counts = [4, 0, 0, 3, 1, 0, 3, 0, 1, 1, 3, 0];
  const r = saltFromCounts(counts, 3, 3);
  assert.is(r.p, 0);
  close(r.i, 0.2713382, 2e-7, 'I');
});

test('SALT: a test window like the baseline gives a large p and I ≤ 0', () => {
  // Same baseline; the test histogram equals W2 = [.75, .25, 0] (one of four trials at latency 1).
  // Test distances: d(W1, T) = 0.2401537, d(W2, T) = 0, d(W3, T) = 0.2819766 → median 0.2401537.
  // p = #(baseline distances ≥ 0.2401537)/3: the two equal to it and 0.2819766 → 3/3 = 1.
  // I = 0.2401537 − 0.2401537 = 0.
  const counts = [4, 0, 0, 3, 1, 0, 3, 0, 1, 3, 1, 0];
  const r = saltFromCounts(counts, 3, 3);
  assert.is(r.p, 1);
  close(r.i, 0, 1e-12, 'I');
});

test('SALT: disjoint supports give distance 0, so a test histogram disjoint from every baseline one is "not different"', () => {
  // Baseline windows [.5,.5,0], [.5,0,.5], [1,0,0] (2 trials); test [0,1,0].
  // Test distances: d(W1,T) = sqrt(.5 ln(4/3)) = 0.3792638, d(W2,T) = 0 (disjoint), d(W3,T) = 0 → median 0.
  // Every baseline distance is ≥ 0 → p = 1; I = 0 − median(0.3431953, 0.3792638, 0.3792638) = −0.3792638.
  const counts = [1, 1, 0, 1, 0, 1, 2, 0, 0, 0, 2, 0];
  const r = saltFromCounts(counts, 3, 3);
  assert.is(r.p, 1);
  close(r.i, -Math.sqrt(0.5 * Math.log(4 / 3)), 1e-12, 'I');
});

test('SALT: fewer than two baseline windows or no trials gives NaN, never a fake p', () => {
  assert.ok(Number.isNaN(saltFromCounts([1, 0, 1, 0], 1, 2).p));
  assert.ok(Number.isNaN(saltFromCounts([0, 0, 0, 0, 0, 0], 2, 2).p));
});

test('SALT: rows holding different trial counts are an internal error', () => {
  try {
    saltFromCounts([4, 0, 0, 3, 0, 0, 4, 0, 0], 2, 3);
    assert.unreachable();
  } catch (error) {
    assert.ok(isOptoloopError(error, 'E_INTERNAL'));
  }
});

test.run();
