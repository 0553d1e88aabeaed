import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LATENCY_BUCKET_UPPER_US, LatencyHistogram, latencyBucketIndex } from '../../src/closedloop/latency-histogram.js';

test('fixed log-spaced edges: 20 per decade, 1 µs … 10 s', () => {
  assert.is(LATENCY_BUCKET_UPPER_US.length, 141);
  assert.is(LATENCY_BUCKET_UPPER_US[0], 1);
  assert.ok(Math.abs(LATENCY_BUCKET_UPPER_US[20] - 10) < 1e-9);
  assert.ok(Math.abs(LATENCY_BUCKET_UPPER_US[140] - 1e7) < 1e-3);
  for (let k = 1; k < LATENCY_BUCKET_UPPER_US.length; k++) {
    const ratio = LATENCY_BUCKET_UPPER_US[k] / LATENCY_BUCKET_UPPER_US[k - 1];
    assert.ok(Math.abs(ratio - 10 ** 0.05) < 1e-9, `ratio at ${k}`);
  }
});

test('a value goes to the first bucket whose upper edge is ≥ it', () => {
  assert.is(latencyBucketIndex(0), 0);
  assert.is(latencyBucketIndex(-5), 0);
  assert.is(latencyBucketIndex(1), 0);
  assert.is(latencyBucketIndex(1.0001), 1);
  // Every edge itself belongs to its own bucket, and a hair above it to the next.
  for (let k = 0; k < LATENCY_BUCKET_UPPER_US.length; k++) {
    assert.is(latencyBucketIndex(LATENCY_BUCKET_UPPER_US[k]), k, `edge ${k}`);
    assert.is(latencyBucketIndex(LATENCY_BUCKET_UPPER_US[k] * (1 + 1e-12)), k + 1, `above edge ${k}`);
  }
  assert.is(latencyBucketIndex(1e9), 141, 'overflow bucket');
});

test('percentiles: upper edge of the bucket, capped at the exact maximum', () => {
  const h = new LatencyHistogram('software');
  // 1000 values of exactly 100 µs (edge 40) and one of 5 000 µs.
  for (let i = 0; i < 1000; i++) h.recordUs(100);
  h.recordNs(5_000_000);
  const s = h.snapshot();
  assert.is(s.count, 1001);
  assert.is(s.counts[40], 1000);
  // rank for p99.9 = ⌈0.999 × 1001⌉ = 1000 → still the 100 µs bucket; the max is exact.
  assert.ok(Math.abs(s.p50Us! - 100) < 1e-9);
  assert.ok(Math.abs(s.p999Us! - 100) < 1e-9);
  assert.is(s.maxUs, 5000);
  // 10 values 1 … 10 µs: p50 = rank 5 → the value 5 lies in the bucket with upper edge 10^(14/20) = 5.0119.
  const g = new LatencyHistogram('x');
  for (let v = 1; v <= 10; v++) g.recordUs(v);
  assert.ok(Math.abs(g.percentileUs(0.5)! - 10 ** 0.7) < 1e-9);
  assert.is(g.percentileUs(1), 10);
});

test('empty, invalid and overflow values', () => {
  const h = new LatencyHistogram('x');
  assert.equal(h.snapshot().p50Us, null);
  assert.equal(h.snapshot().maxUs, null);
  h.recordUs(NaN);
  assert.is(h.count, 0);
  assert.is(h.invalid, 1);
  h.recordUs(2e7);
  assert.is(h.snapshot().counts[141], 1);
  assert.is(h.snapshot().p50Us, 2e7);
});

test('histograms with the same buckets add', () => {
  const a = new LatencyHistogram('a');
  const b = new LatencyHistogram('b');
  for (let i = 0; i < 99; i++) a.recordUs(50);
  b.recordUs(800);
  a.merge(b.snapshot());
  assert.is(a.count, 100);
  assert.is(a.maxUs, 800);
  // p99 = rank 99 → 50 µs bucket; p99.9 = rank 100 → the 800 µs value's bucket, capped at 800.
  assert.ok(a.percentileUs(0.99)! < 60);
  assert.is(a.percentileUs(0.999), 800);
});

test.run();
