import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { valueAt, valueAtHalf } from '../../../src/classify/units/half-sample.js';

test('half-sample values are exact for a cubic, and the mean of the pair is not', () => {
  const f = (t: number) => 0.5 * t ** 3 - 4 * t ** 2 + 3 * t - 7;
  const data = Float32Array.from({ length: 12 }, (_, t) => f(t));
  for (let i = 1; i < 9; i++) {
    assert.ok(Math.abs(valueAtHalf(data, 0, 12, i) - f(i + 0.5)) < 1e-3, `at ${i + 0.5}`);
    assert.ok(Math.abs(valueAt(data, 0, 12, i + 0.5) - f(i + 0.5)) < 1e-3);
  }
  // Linear interpolation of this curve misses by 1/8 of f'' at the midpoint (not a small error).
  assert.ok(Math.abs(0.5 * (data[4] + data[5]) - f(4.5)) > 0.1);
});

test('integer positions read the sample; indices outside the row are clamped to its ends', () => {
  const data = Float32Array.from([100, 1, 2, 3, 4, 100]);
  // The row is data[1 … 5): 1, 2, 3, 4.
  assert.is(valueAt(data, 1, 5, 3), 3);
  assert.is(valueAt(data, 1, 5, -2), 1);
  assert.is(valueAt(data, 1, 5, 9), 4);
  // At 1.5 the left neighbour (index 0) is clamped to index 1: (−1 + 9 + 18 − 3) / 16.
  assert.ok(Math.abs(valueAtHalf(data, 1, 5, 1) - 23 / 16) < 1e-6);
  // At 3.5 the right neighbour (index 5) is clamped to index 4: (−2 + 27 + 36 − 4) / 16.
  assert.ok(Math.abs(valueAtHalf(data, 1, 5, 3) - 57 / 16) < 1e-6);
});

test.run();
