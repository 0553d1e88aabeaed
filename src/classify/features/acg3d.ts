/**
 * C4's 3D autocorrelogram (science.md §1): the autocorrelogram of a spike train split by the
 * firing rate at which each trigger spike occurred.
 *
 *  1. Instantaneous rate r(t) = 1 / ISI of the interval containing t (piecewise constant between
 *     spikes), smoothed by a centred 250 ms boxcar (computed exactly, as the integral of r over the
 *     window divided by the part of the window inside the train); each spike's rate is the smoothed
 *     value at its time.
 *  2. Rate deciles: edges at the 1/11 … 10/11 quantiles of the rates at spike times. The 10 edges
 *     cut the spikes into 11 equal-count groups; decile d (0…9) is group d, the slowest first, and
 *     the fastest 1/11 is not used as triggers (our reading of "10 deciles, edges at k/11"). Groups
 *     are formed by rank — sorted by rate, ties in time order — which is the quantile split for
 *     distinct rates and stays defined for a perfectly regular train, whose rates are all equal
 *     (rates within 1 µHz are ties).
 *  3. Per decile: the autocorrelogram over ±1000 ms in 1 ms bins centred on integer lags (every
 *     spike of the train is a target, the trigger itself excepted), divided by the decile's trigger
 *     count, centre bin zeroed.
 *  4. Resampled at 100 log-spaced lags 10^(3k/99) ms, k = 0…99 (1 … 1000 ms), by linear
 *     interpolation between bin centres, mirrored to negative lags with the zero centre between
 *     (201 points); Gaussian-smoothed along those points (SD 1 point, kernel ±4 SD, edges
 *     renormalised); ×10; the centre and the 100 positive lags are kept → 10 × 101.
 *
 * Pure and allocation-light; runs in the classifier worker (live) and in `optoloop train` (offline),
 * so that both see the same numbers.
 */

export const ACG3D_DECILES = 10;
export const ACG3D_LOG_LAGS = 100;
/** Values per decile: the centre plus the positive log lags. */
export const ACG3D_WIDTH = ACG3D_LOG_LAGS + 1;
export const ACG3D_SIZE = ACG3D_DECILES * ACG3D_WIDTH;
export const ACG3D_MAX_LAG_MS = 1000;
export const ACG3D_RATE_SMOOTHING_S = 0.25;
export const ACG3D_SCALE = 10;

/** The log-spaced lags (ms) the ACG is resampled at: 1 … 1000 ms. */
export const ACG3D_LAGS_MS: Float64Array = (() => {
  const lags = new Float64Array(ACG3D_LOG_LAGS);
  for (let k = 0; k < ACG3D_LOG_LAGS; k++) lags[k] = 10 ** ((3 * k) / (ACG3D_LOG_LAGS - 1));
  return lags;
})();

/**
 * Each spike's instantaneous rate (Hz): 1/ISI smoothed by a centred boxcar of `windowS`.
 * `times` ascending (s). Repeated identical times (ISI 0) count as a very short ISI (1 µs), so
 * that a duplicate does not produce an infinite rate.
 */
export function smoothedInstantaneousRate(times: ArrayLike<number>, count: number, windowS = ACG3D_RATE_SMOOTHING_S, out = new Float64Array(count)): Float64Array {
  if (count < 2) {
    out.fill(0, 0, count);
    return out;
  }
  const half = windowS / 2;
  const first = times[0];
  const last = times[count - 1];
  // Integral of r(t) from the first spike to t, for t inside interval k: the whole intervals before
  // it (each contributes exactly 1: duration × 1/duration) plus the fraction of interval k elapsed.
  const integralTo = (t: number, k: number): number => {
    const isi = Math.max(times[k + 1] - times[k], 1e-6);
    return k + Math.min(1, (t - times[k]) / isi);
  };
  // Two pointers: the interval holding the window's start and the one holding its end.
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < count; i++) {
    const a = Math.max(first, times[i] - half);
    const b = Math.min(last, times[i] + half);
    while (lo < count - 2 && times[lo + 1] <= a) lo++;
    while (hi < count - 2 && times[hi + 1] <= b) hi++;
    const span = b - a;
    out[i] = span > 0 ? (integralTo(b, hi) - integralTo(a, lo)) / span : 1 / Math.max(times[Math.min(i + 1, count - 1)] - times[Math.max(i - 1, 0)], 1e-6);
  }
  return out;
}

/**
 * Decile (0…9) of each spike by its rate, −1 for the fastest 1/11 (see the module comment).
 * Writes into `out`; returns it.
 */
export function rateDeciles(rates: ArrayLike<number>, count: number, out = new Int8Array(count)): Int8Array {
  // Rates equal to a µHz are ties: the smoothing's rounding must not reorder a regular train.
  const key = new Float64Array(count);
  for (let i = 0; i < count; i++) key[i] = Math.round(rates[i] * 1e6);
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  order.sort((a, b) => key[a] - key[b] || a - b);
  const groups = ACG3D_DECILES + 1;
  for (let rank = 0; rank < count; rank++) {
    const group = Math.floor((rank * groups) / count);
    out[order[rank]] = group < ACG3D_DECILES ? group : -1;
  }
  return out;
}

/**
 * The raw per-decile autocorrelograms: counts per trigger in 1 ms bins at lags −1000 … +1000 ms
 * (2001 bins per decile, bin b ↔ lag b − 1000 ms), centre bin zeroed. `triggers[d]` gets the
 * decile's trigger count.
 */
export function decileAutocorrelograms(times: ArrayLike<number>, count: number, deciles: Int8Array, triggers = new Float64Array(ACG3D_DECILES)): Float64Array {
  const bins = 2 * ACG3D_MAX_LAG_MS + 1;
  const acg = new Float64Array(ACG3D_DECILES * bins);
  triggers.fill(0);
  const maxLagS = (ACG3D_MAX_LAG_MS + 0.5) / 1000;
  let start = 0;
  for (let i = 0; i < count; i++) {
    const d = deciles[i];
    if (d < 0) continue;
    triggers[d]++;
    const t = times[i];
    while (times[start] < t - maxLagS) start++;
    const row = d * bins + ACG3D_MAX_LAG_MS;
    for (let j = start; j < count; j++) {
      const lagMs = (times[j] - t) * 1000;
      if (lagMs >= ACG3D_MAX_LAG_MS + 0.5) break;
      if (j === i) continue;
      const lag = Math.round(lagMs);
      if (lag < -ACG3D_MAX_LAG_MS) continue;
      acg[row + lag]++;
    }
  }
  for (let d = 0; d < ACG3D_DECILES; d++) {
    const row = d * bins;
    const n = triggers[d];
    for (let b = 0; b < bins; b++) acg[row + b] = n > 0 ? acg[row + b] / n : 0;
    acg[row + ACG3D_MAX_LAG_MS] = 0;
  }
  return acg;
}

const GAUSS_RADIUS = 4;
const GAUSS: Float64Array = (() => {
  const k = new Float64Array(2 * GAUSS_RADIUS + 1);
  for (let i = -GAUSS_RADIUS; i <= GAUSS_RADIUS; i++) k[i + GAUSS_RADIUS] = Math.exp(-0.5 * i * i);
  return k;
})();

/** Linear interpolation of a 1 ms-binned ACG row (bin b ↔ lag b − 1000 ms) at a lag in ms. */
function atLag(acg: Float64Array, row: number, lagMs: number): number {
  const x = lagMs + ACG3D_MAX_LAG_MS;
  const i = Math.floor(x);
  const f = x - i;
  const last = 2 * ACG3D_MAX_LAG_MS;
  if (i >= last) return acg[row + last];
  return acg[row + i] * (1 - f) + acg[row + i + 1] * f;
}

/**
 * The 3D-ACG of a spike train (times in s, ascending) as 10 × 101 values, decile-major, into
 * `out`. Fewer than 2 spikes give zeros.
 */
export function acg3d(timesS: ArrayLike<number>, count = timesS.length, out: Float32Array<ArrayBufferLike> = new Float32Array(ACG3D_SIZE)): Float32Array<ArrayBufferLike> {
  if (out.length < ACG3D_SIZE) throw new RangeError(`acg3d: expected an output of ≥ ${ACG3D_SIZE} values, got ${out.length}`);
  out.fill(0, 0, ACG3D_SIZE);
  if (count < 2) return out;
  const rates = smoothedInstantaneousRate(timesS, count);
  const deciles = rateDeciles(rates, count);
  const acg = decileAutocorrelograms(timesS, count, deciles);
  const bins = 2 * ACG3D_MAX_LAG_MS + 1;
  const points = 2 * ACG3D_LOG_LAGS + 1;
  const sampled = new Float64Array(points);
  for (let d = 0; d < ACG3D_DECILES; d++) {
    const row = d * bins;
    sampled[ACG3D_LOG_LAGS] = acg[row + ACG3D_MAX_LAG_MS];
    for (let k = 0; k < ACG3D_LOG_LAGS; k++) {
      sampled[ACG3D_LOG_LAGS + 1 + k] = atLag(acg, row, ACG3D_LAGS_MS[k]);
      sampled[ACG3D_LOG_LAGS - 1 - k] = atLag(acg, row, -ACG3D_LAGS_MS[k]);
    }
    for (let p = ACG3D_LOG_LAGS; p < points; p++) {
      let sum = 0;
      let weight = 0;
      for (let o = -GAUSS_RADIUS; o <= GAUSS_RADIUS; o++) {
        const q = p + o;
        if (q < 0 || q >= points) continue;
        const w = GAUSS[o + GAUSS_RADIUS];
        sum += w * sampled[q];
        weight += w;
      }
      out[d * ACG3D_WIDTH + (p - ACG3D_LOG_LAGS)] = (ACG3D_SCALE * sum) / weight;
    }
  }
  return out;
}
