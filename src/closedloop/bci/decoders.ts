/**
 * Online decoders: one step per rate bin, writing into a preallocated output vector, no
 * allocation. Built from a validated decoder file (decoder-format.ts).
 */
import type { DecoderFile, KalmanDecoderFile, LinearDecoderFile } from './decoder-format.js';
import { invertSpd, multiply, multiplyTransposed, transpose } from './matrix.js';

export interface OnlineDecoder {
  readonly unitCount: number;
  readonly outputCount: number;
  /** Takes one bin's rates (Hz, in unitIds order) and writes the decoded outputs into `out`. */
  step(ratesHz: Float64Array, out: Float64Array): void;
  reset(): void;
}

const flat = (rows: readonly (readonly number[])[]) => Float64Array.from(rows.flat());

export class LinearDecoder implements OnlineDecoder {
  readonly unitCount: number;
  readonly outputCount: number;
  private readonly lags: number;
  private readonly weights: Float64Array;
  private readonly bias: Float64Array;
  /** History of rates, lag-major ring: history[(slot × units) + u]. */
  private readonly history: Float64Array;
  private newest = 0;
  private filled = 0;

  constructor(d: LinearDecoderFile) {
    this.unitCount = d.unitIds.length;
    this.outputCount = d.outputs.length;
    this.lags = d.lags;
    this.weights = flat(d.weights);
    this.bias = Float64Array.from(d.bias);
    this.history = new Float64Array(this.lags * this.unitCount);
  }

  reset(): void {
    this.history.fill(0);
    this.filled = 0;
    this.newest = 0;
  }

  step(ratesHz: Float64Array, out: Float64Array): void {
    const n = this.unitCount;
    this.newest = this.filled === 0 ? 0 : (this.newest + 1) % this.lags;
    for (let u = 0; u < n; u++) this.history[this.newest * n + u] = ratesHz[u];
    if (this.filled < this.lags) this.filled++;
    const columns = this.lags * n;
    for (let o = 0; o < this.outputCount; o++) {
      let y = this.bias[o];
      // Lags not yet seen (the first bins) count as zero rate, as in the fit's first rows.
      for (let lag = 0; lag < this.filled; lag++) {
        const slot = (this.newest - lag + this.lags) % this.lags;
        const w = o * columns + lag * n;
        for (let u = 0; u < n; u++) y += this.weights[w + u] * this.history[slot * n + u];
      }
      out[o] = y;
    }
  }
}

/**
 * Kalman filter in information form, so that the per-bin inversions are of the state's size, not
 * the number of units: P = (P⁻⁻¹ + Hᵀ Q⁻¹ H)⁻¹ and x = x⁻ + P Hᵀ Q⁻¹ (r − r̄ − H x⁻), with Hᵀ Q⁻¹
 * and Hᵀ Q⁻¹ H computed once at load.
 */
export class KalmanDecoder implements OnlineDecoder {
  readonly unitCount: number;
  readonly outputCount: number;
  private readonly A: Float64Array;
  private readonly W: Float64Array;
  private readonly H: Float64Array;
  private readonly HtQi: Float64Array;
  private readonly HtQiH: Float64Array;
  private readonly stateMean: Float64Array;
  private readonly rateMean: Float64Array;
  private readonly initialP: Float64Array;
  private readonly x: Float64Array;
  private readonly P: Float64Array;
  // Scratch.
  private readonly xPrior: Float64Array;
  private readonly AP: Float64Array;
  private readonly PPrior: Float64Array;
  private readonly PPriorInv: Float64Array;
  private readonly info: Float64Array;
  private readonly work: Float64Array;
  private readonly innovation: Float64Array;
  private readonly gainInput: Float64Array;

  constructor(d: KalmanDecoderFile) {
    const n = (this.unitCount = d.unitIds.length);
    const s = (this.outputCount = d.outputs.length);
    this.A = flat(d.A);
    this.W = flat(d.W);
    this.H = flat(d.H);
    const Q = flat(d.Q);
    const Qi = new Float64Array(n * n);
    invertSpd(Q, n, Qi);
    const Ht = transpose(this.H, n, s);
    this.HtQi = multiply(Ht, Qi, s, n, n);
    this.HtQiH = multiply(this.HtQi, this.H, s, n, s);
    this.stateMean = Float64Array.from(d.stateMean);
    this.rateMean = Float64Array.from(d.rateMeanHz);
    this.initialP = flat(d.initialCovariance);
    this.x = new Float64Array(s);
    this.P = Float64Array.from(this.initialP);
    this.xPrior = new Float64Array(s);
    this.AP = new Float64Array(s * s);
    this.PPrior = new Float64Array(s * s);
    this.PPriorInv = new Float64Array(s * s);
    this.info = new Float64Array(s * s);
    this.work = new Float64Array(s * s);
    this.innovation = new Float64Array(n);
    this.gainInput = new Float64Array(s);
  }

  reset(): void {
    this.x.fill(0);
    this.P.set(this.initialP);
  }

  step(ratesHz: Float64Array, out: Float64Array): void {
    const n = this.unitCount;
    const s = this.outputCount;
    // Predict.
    multiply(this.A, this.x, s, s, 1, this.xPrior);
    multiply(this.A, this.P, s, s, s, this.AP);
    multiplyTransposed(this.AP, this.A, s, s, s, this.PPrior);
    for (let i = 0; i < s * s; i++) this.PPrior[i] += this.W[i];
    // Update, information form.
    invertSpd(this.PPrior, s, this.PPriorInv, this.work);
    for (let i = 0; i < s * s; i++) this.info[i] = this.PPriorInv[i] + this.HtQiH[i];
    invertSpd(this.info, s, this.P, this.work);
    for (let u = 0; u < n; u++) {
      let predicted = 0;
      for (let j = 0; j < s; j++) predicted += this.H[u * s + j] * this.xPrior[j];
      this.innovation[u] = ratesHz[u] - this.rateMean[u] - predicted;
    }
    multiply(this.HtQi, this.innovation, s, n, 1, this.gainInput);
    for (let i = 0; i < s; i++) {
      let dx = 0;
      for (let j = 0; j < s; j++) dx += this.P[i * s + j] * this.gainInput[j];
      this.x[i] = this.xPrior[i] + dx;
      out[i] = this.x[i] + this.stateMean[i];
    }
  }
}

export function createDecoder(d: DecoderFile): OnlineDecoder {
  return d.kind === 'linear' ? new LinearDecoder(d) : new KalmanDecoder(d);
}
