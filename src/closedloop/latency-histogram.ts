/**
 * Latency histograms with fixed log-spaced buckets shared by every histogram in optoloop, so that
 * histograms from different runs, stages or machines add and compare bucket by bucket (the shape of
 * `LatencyHistogramSnapshot`, src/core/status.ts).
 *
 * Buckets: 20 per decade from 1 µs to 10 s (upper edges 10^(k/20) µs, k = 0 … 140), so a value is
 * placed within 12 % of itself; one more bucket counts everything above 10 s. Recording is O(1)
 * and allocates nothing (it runs on the stimulation path); percentiles are computed when a
 * snapshot is taken. A percentile is reported as the upper edge of the bucket that holds it
 * (never below the true value), capped at the exact maximum.
 */
import type { LatencyHistogramSnapshot } from '../core/status.js';

export const LATENCY_BUCKETS_PER_DECADE = 20;
export const LATENCY_DECADES = 7;

/** Upper bucket edges in µs: 10^(k/20), k = 0 … 140 (1 µs … 10 s). */
export const LATENCY_BUCKET_UPPER_US: readonly number[] = Object.freeze(
  Array.from({ length: LATENCY_BUCKETS_PER_DECADE * LATENCY_DECADES + 1 }, (_, k) => 10 ** (k / LATENCY_BUCKETS_PER_DECADE)),
);

const EDGE_COUNT = LATENCY_BUCKET_UPPER_US.length;

/** The bucket a latency falls in: the first whose upper edge is ≥ it; EDGE_COUNT for the overflow bucket. */
export function latencyBucketIndex(us: number): number {
  if (!(us > 1)) return 0;
  let k = Math.ceil(Math.log10(us) * LATENCY_BUCKETS_PER_DECADE);
  // log10 can land a hair off an exact edge: settle on the first edge ≥ us.
  if (k > 0 && k <= EDGE_COUNT && LATENCY_BUCKET_UPPER_US[k - 1] >= us) k--;
  else if (k < EDGE_COUNT && LATENCY_BUCKET_UPPER_US[k] < us) k++;
  return Math.min(k, EDGE_COUNT);
}

export class LatencyHistogram {
  /** EDGE_COUNT buckets with upper edges, plus the overflow bucket. */
  readonly counts = new Float64Array(EDGE_COUNT + 1);
  count = 0;
  /** The exact maximum (µs), in a typed array so that updating it never allocates. */
  private readonly max = new Float64Array([-Infinity]);
  private readonly value = new Float64Array(1);
  /** Values that were not numbers (a clock bug): not in the histogram, but not hidden either. */
  invalid = 0;

  constructor(readonly name: string) {}

  /** Records a latency in µs (negative values count as 0). O(1), no allocation. */
  recordUs(us: number): void {
    this.value[0] = us;
    this.recordValue();
  }

  /** Records a latency in ns (core/clock units). */
  recordNs(ns: number): void {
    this.value[0] = ns / 1000;
    this.recordValue();
  }

  /**
   * Records span[1] − span[0] (ns). The hot-path form: the times travel in a typed array because V8
   * boxes a double passed to a call it does not inline.
   */
  recordSpanNs(span: Float64Array): void {
    this.value[0] = (span[1] - span[0]) / 1000;
    this.recordValue();
  }

  private recordValue(): void {
    const us = this.value[0];
    if (Number.isNaN(us)) {
      this.invalid++;
      return;
    }
    let k = 0;
    if (us > 1) {
      k = Math.ceil(Math.log10(us) * LATENCY_BUCKETS_PER_DECADE);
      if (k > 0 && k <= EDGE_COUNT && LATENCY_BUCKET_UPPER_US[k - 1] >= us) k--;
      else if (k < EDGE_COUNT && LATENCY_BUCKET_UPPER_US[k] < us) k++;
      if (k > EDGE_COUNT) k = EDGE_COUNT;
    }
    this.counts[k]++;
    this.count++;
    if (us > this.max[0]) this.max[0] = us;
  }

  get maxUs(): number {
    return this.max[0];
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.max[0] = -Infinity;
    this.invalid = 0;
  }

  /** Adds another histogram's counts into this one (same fixed buckets). */
  merge(other: LatencyHistogram | LatencyHistogramSnapshot): void {
    for (let k = 0; k < this.counts.length; k++) this.counts[k] += other.counts[k];
    this.count += other.count;
    const otherMax = other instanceof LatencyHistogram ? other.maxUs : (other.maxUs ?? -Infinity);
    if (otherMax > this.max[0]) this.max[0] = otherMax;
  }

  /** The q-quantile (0 < q ≤ 1) as the upper edge of its bucket, capped at the maximum; null when empty. */
  percentileUs(q: number): number | null {
    return percentileFromCounts(this.counts, this.count, this.maxUs, q);
  }

  snapshot(): LatencyHistogramSnapshot {
    const empty = this.count === 0;
    return {
      name: this.name,
      bucketUpperUs: LATENCY_BUCKET_UPPER_US,
      counts: Array.from(this.counts),
      count: this.count,
      p50Us: this.percentileUs(0.5),
      p99Us: this.percentileUs(0.99),
      p999Us: this.percentileUs(0.999),
      maxUs: empty ? null : this.maxUs,
    };
  }
}

/** Quantile from fixed-bucket counts: the smallest bucket whose cumulative count reaches ⌈q·n⌉. */
export function percentileFromCounts(counts: ArrayLike<number>, count: number, maxUs: number, q: number): number | null {
  if (count === 0) return null;
  const rank = Math.max(1, Math.ceil(q * count - 1e-9));
  let cumulative = 0;
  for (let k = 0; k < counts.length; k++) {
    cumulative += counts[k];
    if (cumulative >= rank) return k < EDGE_COUNT ? Math.min(LATENCY_BUCKET_UPPER_US[k], maxUs) : maxUs;
  }
  return maxUs;
}
