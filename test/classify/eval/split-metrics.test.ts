import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { splitMetrics } from '../../../src/classify/eval/split-metrics.js';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} ≠ ${b}`);

test('a perfect clustering scores 1 everywhere', () => {
  const truth = Int32Array.from([0, 0, 0, 1, 1, 2, 2, 2]);
  const unit = Int32Array.from([5, 5, 5, 7, 7, 9, 9, 9]);
  const m = splitMetrics(truth, unit);
  assert.is(m.truthUnits, 3);
  assert.is(m.detectedUnits, 3);
  close(m.unitsPerTruthUnit, 1);
  close(m.medianCompleteness, 1);
  close(m.oneToOneAccuracy, 1);
  close(m.pairRecall, 1);
  close(m.pairPrecision, 1);
  assert.is(m.completeAt80, 3);
});

test('splits lower completeness, one-to-one accuracy and pair recall, not pair precision', () => {
  // Ground-truth unit 0 (6 spikes) cut into detected units 1 (4 spikes) and 2 (2); unit 3 (2 spikes) whole.
  const truth = Int32Array.from([0, 0, 0, 0, 0, 0, 3, 3, -1, 0]);
  const unit = Int32Array.from([1, 1, 1, 1, 2, 2, 4, 4, 1, -1]);
  const m = splitMetrics(truth, unit);
  assert.is(m.truthUnits, 2);
  assert.is(m.detectedUnits, 3);
  close(m.unitsPerTruthUnit, 1.5);
  assert.is(m.maxUnitsPerTruthUnit, 2);
  // Completeness 4/6 and 1 → median 5/6; pooled (4 + 2) / 8.
  close(m.medianCompleteness, (4 / 6 + 1) / 2);
  close(m.pooledCompleteness, 6 / 8);
  assert.is(m.completeAt80, 1);
  close(m.oneToOneAccuracy, 6 / 8);
  // Same-truth pairs: C(6,2) + C(2,2) = 16; of them in one unit: C(4,2) + C(2,2) + C(2,2) = 8.
  close(m.pairRecall, 8 / 16);
  close(m.pairPrecision, 1);
});

test('a mix lowers pair precision and one-to-one accuracy', () => {
  // Detected unit 1 holds 3 spikes of ground-truth 0 and 1 of ground-truth 1.
  const truth = Int32Array.from([0, 0, 0, 1]);
  const unit = Int32Array.from([1, 1, 1, 1]);
  const m = splitMetrics(truth, unit);
  close(m.pairPrecision, 3 / 6);
  close(m.pairRecall, 1);
  close(m.oneToOneAccuracy, 3 / 4);
  close(m.unitsPerTruthUnit, 1);
});

test.run();
