/**
 * Shared helpers of the benchmarks: exact percentiles over every measured value (not bucketed),
 * printed as p50 / p99 / p99.9 / max.
 */

/** The p-quantile (0 < p ≤ 1) of ascending values: the smallest value with at least p of them at or below it. */
export function percentile(sorted: Float64Array, p: number): number {
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank];
}

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/** p50 / p99 / p99.9 / max of the values (any unit; NaN when empty). */
export function percentiles(values: Float64Array): Percentiles {
  const sorted = values.slice().sort();
  const n = sorted.length;
  if (n === 0) return { count: 0, p50: NaN, p99: NaN, p999: NaN, max: NaN };
  return { count: n, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), p999: percentile(sorted, 0.999), max: sorted[n - 1] };
}

/** `label: p50 … ms, p99 …, p99.9 …, max …` of values in µs. */
export function summary(label: string, valuesUs: Float64Array): string {
  const p = percentiles(valuesUs);
  const f = (v: number) => `${(v / 1000).toFixed(3)} ms`;
  return `${label}: p50 ${f(p.p50)}, p99 ${f(p.p99)}, p99.9 ${f(p.p999)}, max ${f(p.max)}`;
}
