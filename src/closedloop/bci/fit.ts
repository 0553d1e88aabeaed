/**
 * Fitting decoders from binned unit rates and behaviour:
 * - linear: ridge regression of the behaviour on the rates of the current bin and `lags − 1`
 *   previous bins (a Wiener filter), on centred data, with the ridge given relative to the mean
 *   diagonal of XᵀX so that one value suits any rate scale;
 * - Kalman: the standard least-squares fit of Wu et al. (2003): A = X₂X₁ᵀ(X₁X₁ᵀ)⁻¹,
 *   W = (X₂ − AX₁)(X₂ − AX₁)ᵀ/(T − 1), H = ZXᵀ(XXᵀ)⁻¹, Q = (Z − HX)(Z − HX)ᵀ/T, on the centred
 *   behaviour X (the state) and centred rates Z.
 * The last `testFraction` of the bins is held out; the decoder is scored there with the same
 * online code the daemon runs (R² per output).
 */
import { OptoloopError } from '../../core/errors.js';
import type { DecoderFile, KalmanDecoderFile, LinearDecoderFile } from './decoder-format.js';
import { createDecoder } from './decoders.js';
import { cholesky, choleskySolve, invertSpd, multiply, multiplyTransposed } from './matrix.js';

/** Rates (Hz) and behaviour per bin, row-major: rates[bin × units + u], behaviour[bin × outputs + o]. */
export interface BinnedData {
  readonly binMs: number;
  readonly startS: number;
  readonly bins: number;
  readonly unitIds: readonly number[];
  readonly outputs: readonly string[];
  readonly ratesHz: Float64Array;
  readonly behaviour: Float64Array;
}

/** Counts each unit's spikes in bins [startS + b·binS, + binS) and divides by the bin width. */
export function binRates(spikesS: readonly Float64Array[], startS: number, binMs: number, bins: number): Float64Array {
  const units = spikesS.length;
  const binS = binMs / 1000;
  const rates = new Float64Array(bins * units);
  spikesS.forEach((times, u) => {
    for (const t of times) {
      const b = Math.floor((t - startS) / binS);
      if (b >= 0 && b < bins) rates[b * units + u] += 1 / binS;
    }
  });
  return rates;
}

/** Linear interpolation of sampled behaviour at the given times (times ascending); NaN outside the samples. */
export function interpolate(timesS: Float64Array, values: Float64Array, atS: number): number {
  const n = timesS.length;
  if (n === 0 || atS < timesS[0] || atS > timesS[n - 1]) return NaN;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (timesS[mid] <= atS) lo = mid;
    else hi = mid;
  }
  if (timesS[hi] === timesS[lo]) return values[lo];
  const f = (atS - timesS[lo]) / (timesS[hi] - timesS[lo]);
  return values[lo] + f * (values[hi] - values[lo]);
}

/**
 * Bins spikes and behaviour over the span both cover: from the later of the first spike and the
 * first behaviour sample to the earlier of the last ones; behaviour is taken at each bin's centre.
 */
export function binData(
  unitIds: readonly number[],
  spikesS: readonly Float64Array[],
  behaviourTimesS: Float64Array,
  behaviourColumns: readonly Float64Array[],
  outputs: readonly string[],
  binMs: number,
): BinnedData {
  let firstSpike = Infinity;
  let lastSpike = -Infinity;
  for (const t of spikesS) {
    if (t.length) {
      firstSpike = Math.min(firstSpike, t[0]);
      lastSpike = Math.max(lastSpike, t[t.length - 1]);
    }
  }
  const startS = Math.max(firstSpike, behaviourTimesS[0]);
  const endS = Math.min(lastSpike, behaviourTimesS[behaviourTimesS.length - 1]);
  const bins = Math.floor(((endS - startS) * 1000) / binMs);
  if (!(bins >= 2)) {
    throw new OptoloopError('E_OPTIONS_INVALID', `fit-decoder: spikes (${firstSpike}…${lastSpike} s) and behaviour (${behaviourTimesS[0]}…${behaviourTimesS[behaviourTimesS.length - 1]} s) overlap for fewer than two ${binMs} ms bins`, {
      stage: 'closedloop.bci',
    });
  }
  const ratesHz = binRates(spikesS, startS, binMs, bins);
  const k = outputs.length;
  const behaviour = new Float64Array(bins * k);
  for (let b = 0; b < bins; b++) {
    const centre = startS + ((b + 0.5) * binMs) / 1000;
    for (let o = 0; o < k; o++) behaviour[b * k + o] = interpolate(behaviourTimesS, behaviourColumns[o], centre);
  }
  return { binMs, startS, bins, unitIds, outputs, ratesHz, behaviour };
}

function columnMeans(data: Float64Array, rows: number, cols: number): Float64Array {
  const mean = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mean[c] += data[r * cols + c];
  for (let c = 0; c < cols; c++) mean[c] /= rows;
  return mean;
}

/** The lagged design row of bin b: [r(b), r(b−1), …, r(b−lags+1)], zeros before the first bin. */
function laggedRow(ratesHz: Float64Array, units: number, lags: number, b: number, out: Float64Array): void {
  for (let lag = 0; lag < lags; lag++) {
    const src = b - lag;
    for (let u = 0; u < units; u++) out[lag * units + u] = src >= 0 ? ratesHz[src * units + u] : 0;
  }
}

/** Ridge regression on bins [0, trainBins); `ridge` relative to the mean diagonal of XcᵀXc. */
export function fitLinear(data: BinnedData, trainBins: number, lags: number, ridge: number): { weights: number[][]; bias: number[] } {
  const n = data.unitIds.length;
  const k = data.outputs.length;
  const d = n * lags;
  const X = new Float64Array(trainBins * d);
  const row = new Float64Array(d);
  for (let b = 0; b < trainBins; b++) {
    laggedRow(data.ratesHz, n, lags, b, row);
    X.set(row, b * d);
  }
  const Y = data.behaviour.subarray(0, trainBins * k);
  const xMean = columnMeans(X, trainBins, d);
  const yMean = columnMeans(Y, trainBins, k);
  for (let b = 0; b < trainBins; b++) for (let j = 0; j < d; j++) X[b * d + j] -= xMean[j];
  const Yc = new Float64Array(trainBins * k);
  for (let b = 0; b < trainBins; b++) for (let o = 0; o < k; o++) Yc[b * k + o] = Y[b * k + o] - yMean[o];
  // Normal equations (XᵀX + λI) B = XᵀY.
  const XtX = new Float64Array(d * d);
  for (let b = 0; b < trainBins; b++) {
    for (let i = 0; i < d; i++) {
      const xi = X[b * d + i];
      if (xi === 0) continue;
      for (let j = i; j < d; j++) XtX[i * d + j] += xi * X[b * d + j];
    }
  }
  let meanDiagonal = 0;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < i; j++) XtX[i * d + j] = XtX[j * d + i];
    meanDiagonal += XtX[i * d + i];
  }
  meanDiagonal /= d;
  const lambda = ridge * (meanDiagonal || 1);
  for (let i = 0; i < d; i++) XtX[i * d + i] += lambda;
  const XtY = new Float64Array(d * k);
  for (let b = 0; b < trainBins; b++) for (let i = 0; i < d; i++) for (let o = 0; o < k; o++) XtY[i * k + o] += X[b * d + i] * Yc[b * k + o];
  if (!cholesky(XtX, d)) {
    throw new OptoloopError('E_OPTIONS_INVALID', 'fit-decoder: the rates are collinear and the ridge is 0; use --ridge > 0', { stage: 'closedloop.bci' });
  }
  const B = choleskySolve(XtX, d, XtY, k);
  const weights: number[][] = [];
  const bias: number[] = [];
  for (let o = 0; o < k; o++) {
    const w: number[] = [];
    let b0 = yMean[o];
    for (let j = 0; j < d; j++) {
      w.push(B[j * k + o]);
      b0 -= B[j * k + o] * xMean[j];
    }
    weights.push(w);
    bias.push(b0);
  }
  return { weights, bias };
}

function toRows(m: Float64Array, rows: number, cols: number): number[][] {
  return Array.from({ length: rows }, (_, i) => Array.from(m.subarray(i * cols, (i + 1) * cols)));
}

/** Kalman fit on bins [0, trainBins). */
export function fitKalman(data: BinnedData, trainBins: number): Pick<KalmanDecoderFile, 'A' | 'W' | 'H' | 'Q' | 'stateMean' | 'rateMeanHz' | 'initialCovariance'> {
  const n = data.unitIds.length;
  const s = data.outputs.length;
  const T = trainBins;
  const stateMean = columnMeans(data.behaviour.subarray(0, T * s), T, s);
  const rateMean = columnMeans(data.ratesHz.subarray(0, T * n), T, n);
  // Column-major in time: X is s × T, Z is n × T.
  const X = new Float64Array(s * T);
  const Z = new Float64Array(n * T);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < s; i++) X[i * T + t] = data.behaviour[t * s + i] - stateMean[i];
    for (let u = 0; u < n; u++) Z[u * T + t] = data.ratesHz[t * n + u] - rateMean[u];
  }
  const X1 = new Float64Array(s * (T - 1));
  const X2 = new Float64Array(s * (T - 1));
  for (let i = 0; i < s; i++) {
    for (let t = 0; t < T - 1; t++) {
      X1[i * (T - 1) + t] = X[i * T + t];
      X2[i * (T - 1) + t] = X[i * T + t + 1];
    }
  }
  const inv = (m: Float64Array, size: number) => {
    const out = new Float64Array(size * size);
    invertSpd(m, size, out);
    return out;
  };
  const X1X1t = multiplyTransposed(X1, X1, s, T - 1, s);
  const X2X1t = multiplyTransposed(X2, X1, s, T - 1, s);
  const A = multiply(X2X1t, inv(X1X1t, s), s, s, s);
  const AX1 = multiply(A, X1, s, s, T - 1);
  const E = new Float64Array(s * (T - 1));
  for (let i = 0; i < E.length; i++) E[i] = X2[i] - AX1[i];
  const W = multiplyTransposed(E, E, s, T - 1, s).map((v) => v / (T - 1));
  const XXt = multiplyTransposed(X, X, s, T, s);
  const ZXt = multiplyTransposed(Z, X, n, T, s);
  const H = multiply(ZXt, inv(XXt, s), n, s, s);
  const HX = multiply(H, X, n, s, T);
  const R = new Float64Array(n * T);
  for (let i = 0; i < R.length; i++) R[i] = Z[i] - HX[i];
  const Q = multiplyTransposed(R, R, n, T, n).map((v) => v / T);
  const P0 = XXt.map((v) => v / T);
  return {
    A: toRows(A, s, s),
    W: toRows(W, s, s),
    H: toRows(H, n, s),
    Q: toRows(Q, n, n),
    stateMean: Array.from(stateMean),
    rateMeanHz: Array.from(rateMean),
    initialCovariance: toRows(P0, s, s),
  };
}

/** R² per output over bins [from, to) of predictions vs the behaviour (null when the behaviour is constant there). */
export function rSquared(behaviour: Float64Array, predicted: Float64Array, outputs: number, from: number, to: number): (number | null)[] {
  const out: (number | null)[] = [];
  for (let o = 0; o < outputs; o++) {
    let mean = 0;
    for (let b = from; b < to; b++) mean += behaviour[b * outputs + o];
    mean /= to - from;
    let sse = 0;
    let sst = 0;
    for (let b = from; b < to; b++) {
      const y = behaviour[b * outputs + o];
      sse += (y - predicted[b * outputs + o]) ** 2;
      sst += (y - mean) ** 2;
    }
    out.push(sst > 0 ? 1 - sse / sst : null);
  }
  return out;
}

/** Runs a decoder over every bin in order with the online code, returning its outputs per bin. */
export function decodeBins(decoder: DecoderFile, data: BinnedData): Float64Array {
  const online = createDecoder(decoder);
  const n = data.unitIds.length;
  const k = data.outputs.length;
  const out = new Float64Array(data.bins * k);
  const rates = new Float64Array(n);
  const y = new Float64Array(k);
  for (let b = 0; b < data.bins; b++) {
    for (let u = 0; u < n; u++) rates[u] = data.ratesHz[b * n + u];
    online.step(rates, y);
    out.set(y, b * k);
  }
  return out;
}

export interface FitOptions {
  readonly kind: 'linear' | 'kalman';
  readonly lags: number;
  readonly ridge: number;
  readonly testFraction: number;
  readonly source: string;
}

/** Fits a decoder on the first (1 − testFraction) of the bins and scores it on the rest. */
export function fitDecoder(data: BinnedData, options: FitOptions): DecoderFile {
  const testBins = Math.floor(data.bins * options.testFraction);
  const trainBins = data.bins - testBins;
  if (trainBins < (options.kind === 'kalman' ? data.outputs.length + 3 : 3)) {
    throw new OptoloopError('E_OPTIONS_INVALID', `fit-decoder: ${trainBins} training bins are too few for this decoder`, { stage: 'closedloop.bci' });
  }
  const common = {
    format: 'optoloop-decoder' as const,
    version: 1 as const,
    binMs: data.binMs,
    unitIds: [...data.unitIds],
    outputs: [...data.outputs],
  };
  let decoder: DecoderFile;
  if (options.kind === 'linear') {
    const { weights, bias } = fitLinear(data, trainBins, options.lags, options.ridge);
    decoder = { kind: 'linear', ...common, lags: options.lags, weights, bias, ridgeLambda: options.ridge, fit: null } satisfies LinearDecoderFile;
  } else {
    decoder = { kind: 'kalman', ...common, ...fitKalman(data, trainBins), fit: null } satisfies KalmanDecoderFile;
  }
  const predicted = decodeBins(decoder, data);
  const testR2 = testBins > 1 ? rSquared(data.behaviour, predicted, data.outputs.length, trainBins, data.bins) : data.outputs.map(() => null);
  return { ...decoder, fit: { bins: trainBins, testBins, testR2, source: options.source } };
}
