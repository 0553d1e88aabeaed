import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ACG3D_LAGS_MS,
  ACG3D_MAX_LAG_MS,
  ACG3D_SIZE,
  ACG3D_WIDTH,
  acg3d,
  decileAutocorrelograms,
  rateDeciles,
  smoothedInstantaneousRate,
} from '../../../src/classify/features/acg3d.js';
import { seededRandom } from '../../helpers/seeded.js';

const periodic = (periodS: number, count: number, startS = 1): Float64Array => Float64Array.from({ length: count }, (_, i) => startS + i * periodS);

test('the 100 log lags run from 1 to 1000 ms, evenly spaced in log', () => {
  assert.is(ACG3D_LAGS_MS.length, 100);
  assert.ok(Math.abs(ACG3D_LAGS_MS[0] - 1) < 1e-12);
  assert.ok(Math.abs(ACG3D_LAGS_MS[99] - 1000) < 1e-9);
  const ratio = ACG3D_LAGS_MS[1] / ACG3D_LAGS_MS[0];
  assert.ok(Math.abs(ratio - 10 ** (3 / 99)) < 1e-12);
});

test('smoothed rate: a periodic train at 10 ms is 100 Hz at every spike, the window truncated at the ends', () => {
  const rates = smoothedInstantaneousRate(periodic(0.01, 500), 500);
  for (const r of rates) assert.ok(Math.abs(r - 100) < 1e-9, String(r));
});

test('smoothed rate: a step from 10 ms to 50 ms ISIs averages both halves of the 250 ms window', () => {
  // 5 s at 100 Hz then 5 s at 20 Hz; the spike at the switch sees 125 ms of each: (12.5 + 2.5) / 0.25 = 60 Hz.
  const times: number[] = [];
  for (let i = 0; i <= 500; i++) times.push(i * 0.01);
  for (let i = 1; i <= 100; i++) times.push(5 + i * 0.05);
  const rates = smoothedInstantaneousRate(times, times.length);
  assert.ok(Math.abs(rates[500] - 60) < 1e-9, String(rates[500]));
  assert.ok(Math.abs(rates[100] - 100) < 1e-9);
  assert.ok(Math.abs(rates[560] - 20) < 1e-9);
  // 50 ms before the switch: 175 ms at 100 Hz and 75 ms at 20 Hz → (17.5 + 1.5) / 0.25 = 76 Hz.
  assert.ok(Math.abs(rates[495] - 76) < 1e-9, String(rates[495]));
});

test('deciles: 11 equal-count groups by rate, the fastest not used; ties go in time order', () => {
  const n = 1100;
  const rates = Float64Array.from({ length: n }, (_, i) => (i * 7919) % n); // a permutation of 0…1099
  const deciles = rateDeciles(rates, n);
  const counts = new Array(11).fill(0);
  for (let i = 0; i < n; i++) {
    const expected = Math.floor(rates[i] / 100);
    assert.is(deciles[i], expected < 10 ? expected : -1);
    counts[deciles[i] < 0 ? 10 : deciles[i]]++;
  }
  assert.equal(counts, new Array(11).fill(100));
  const tied = rateDeciles(new Float64Array(1100).fill(5), 1100);
  assert.is(tied[0], 0);
  assert.is(tied[99], 0);
  assert.is(tied[100], 1);
  assert.is(tied[999], 9);
  assert.is(tied[1000], -1);
});

test('per-decile ACG of a periodic train: one spike per trigger at each multiple of the period, the centre zeroed', () => {
  // 2200 spikes every 10 ms: every decile's triggers have 200+ spikes after them (the last 200 are
  // the unused group), so each positive multiple of 10 ms up to 1000 ms holds exactly 1 per trigger.
  const n = 2200;
  const times = periodic(0.01, n);
  const deciles = rateDeciles(smoothedInstantaneousRate(times, n), n);
  const triggers = new Float64Array(10);
  const acg = decileAutocorrelograms(times, n, deciles, triggers);
  const bins = 2 * ACG3D_MAX_LAG_MS + 1;
  assert.equal(Array.from(triggers), new Array(10).fill(200));
  for (let d = 0; d < 10; d++) {
    for (let lag = 0; lag <= 1000; lag++) {
      const value = acg[d * bins + ACG3D_MAX_LAG_MS + lag];
      const expected = lag > 0 && lag % 10 === 0 ? 1 : 0;
      assert.ok(Math.abs(value - expected) < 1e-12, `decile ${d} lag ${lag}: ${value}`);
    }
  }
  // Negative lags of decile 0 (the first 200 spikes): trigger i has min(i, 100) spikes before it
  // within 1 s, so lag −10·m holds (200 − m) / 200.
  for (const m of [1, 50, 100]) assert.ok(Math.abs(acg[ACG3D_MAX_LAG_MS - 10 * m] - (200 - m) / 200) < 1e-12);
});

test('3D-ACG of a Poisson train: the long lags approach 10 × rate × 1 ms in every decile', () => {
  const random = seededRandom(3);
  const times: number[] = [];
  let t = 0;
  for (let i = 0; i < 40000; i++) {
    t += -Math.log(1 - random()) / 20; // 20 Hz, 2000 s
    times.push(t);
  }
  const out = acg3d(times);
  assert.is(out.length, ACG3D_SIZE);
  for (let d = 0; d < 10; d++) {
    let sum = 0;
    for (let k = 90; k < 101; k++) sum += out[d * ACG3D_WIDTH + k];
    const mean = sum / 11;
    assert.ok(Math.abs(mean - 0.2) < 0.03, `decile ${d}: ${mean}`);
  }
  // Rate deciles of a Poisson train are local-rate selections: the fast deciles see more spikes at
  // short lags (< 125 ms) than the slow ones.
  const at = (d: number, k: number) => out[d * ACG3D_WIDTH + k];
  assert.ok(at(9, 60) > at(0, 60), `${at(9, 60)} vs ${at(0, 60)}`);
});

test('3D-ACG resampling and smoothing agree with a direct evaluation of the definition', () => {
  // A direct, slow evaluation: per decile, count pairs for each log lag by linear interpolation
  // of the 1 ms bins, mirror, smooth with exp(−k²/2) over ±4 points, ×10.
  const random = seededRandom(11);
  const times: number[] = [];
  let t = 0;
  for (let i = 0; i < 3000; i++) {
    t += 0.004 + -Math.log(1 - random()) / 40;
    times.push(t);
  }
  const n = times.length;
  const deciles = rateDeciles(smoothedInstantaneousRate(times, n), n);
  const fast = acg3d(times);
  for (const d of [0, 4, 9]) {
    const bins = new Float64Array(2001);
    let triggers = 0;
    for (let i = 0; i < n; i++) {
      if (deciles[i] !== d) continue;
      triggers++;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const lag = Math.round((times[j] - times[i]) * 1000);
        if (Math.abs(lag) <= 1000) bins[lag + 1000]++;
      }
    }
    bins[1000] = 0;
    const value = (lag: number) => {
      const x = lag + 1000;
      const i = Math.min(Math.floor(x), 1999);
      return (bins[i] * (i + 1 - x) + bins[i + 1] * (x - i)) / triggers;
    };
    const points: number[] = [];
    for (let k = 99; k >= 0; k--) points.push(value(-ACG3D_LAGS_MS[k]));
    points.push(0);
    for (let k = 0; k < 100; k++) points.push(value(ACG3D_LAGS_MS[k]));
    for (let p = 100; p <= 200; p++) {
      let s = 0;
      let w = 0;
      for (let o = -4; o <= 4; o++) {
        if (p + o < 0 || p + o > 200) continue;
        s += Math.exp(-0.5 * o * o) * points[p + o];
        w += Math.exp(-0.5 * o * o);
      }
      const expected = (10 * s) / w;
      const got = fast[d * ACG3D_WIDTH + p - 100];
      assert.ok(Math.abs(got - expected) < 1e-4 * Math.max(1, Math.abs(expected)), `decile ${d} point ${p}: ${got} vs ${expected}`);
    }
  }
});

test('fewer than two spikes give zeros', () => {
  assert.ok(acg3d([1.5]).every((v) => v === 0));
  assert.ok(acg3d([]).every((v) => v === 0));
});

test.run();
