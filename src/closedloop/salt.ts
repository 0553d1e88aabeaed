/**
 * SALT, the Stimulus-Associated spike Latency Test (Kvitsiani et al., Nature 2013), as defined in
 * ../shared/docs/science.md §2, re-implemented from that description.
 *
 * In each window of wn ms (cut at dt ms resolution) and each trial, the first-spike latency is the
 * 1-based index of the dt bin holding the window's first spike, or 0 when the window holds none.
 * One histogram of these latencies per window (wn/dt + 1 bins: the no-spike bin is bin 0),
 * normalised over trials. Baseline windows tile the pre-pulse period; the test window is the first
 * wn after the pulse. Distance = sqrt(2 · JS divergence), where each KL term is taken over the
 * common support of its two distributions only, after renormalising both there (the reference
 * implementation's detail, kept because it changes values: two histograms with disjoint supports are
 * at distance 0). p = the fraction of baseline–baseline distances ≥ the median test–baseline
 * distance; I = median(test–baseline) − median(baseline–baseline).
 *
 * Histograms are kept as counts (not fractions) so that trials can be added one at a time online:
 * normalising accumulated counts gives exactly the per-window histograms of the batch definition.
 */
import { OptoloopError } from '../core/errors.js';

export interface SaltResult {
  /** Fraction of baseline–baseline distances ≥ the median test–baseline distance; NaN with < 2 baseline windows or no trials. */
  readonly p: number;
  /** median(test–baseline) − median(baseline–baseline); NaN as for p. */
  readonly i: number;
  readonly baselineWindowCount: number;
  readonly trialCount: number;
}

/** Latency histogram bins per window: wn/dt + 1 (the extra bin counts windows without a spike). */
export function saltLatencyBinCount(windowMs: number, binMs: number): number {
  const perWindow = windowMs / binMs;
  const rounded = Math.round(perWindow);
  if (!(binMs > 0) || !(windowMs > 0) || Math.abs(perWindow - rounded) > 1e-9 || rounded < 1) {
    throw new OptoloopError('E_OPTIONS_INVALID', `salt: the window (${windowMs} ms) must be a whole, positive number of bins (${binMs} ms)`, {
      stage: 'closedloop.salt',
      details: { windowMs, binMs },
    });
  }
  return rounded + 1;
}

/**
 * KL(P‖Q) over the common support (P·Q > 0) after renormalising P and Q there, natural log.
 * P and Q are non-negative; they need not sum to 1 (they are renormalised on the support anyway).
 */
export function klDivergenceCommonSupport(p: ArrayLike<number>, q: ArrayLike<number>, offsetP = 0, offsetQ = 0, length = p.length): number {
  let sumP = 0;
  let sumQ = 0;
  for (let k = 0; k < length; k++) {
    const a = p[offsetP + k];
    const b = q[offsetQ + k];
    if (a * b > 0) {
      sumP += a;
      sumQ += b;
    }
  }
  if (sumP === 0) return 0;
  let kl = 0;
  for (let k = 0; k < length; k++) {
    const a = p[offsetP + k];
    const b = q[offsetQ + k];
    if (a * b > 0) {
      const pa = a / sumP;
      kl += pa * Math.log(pa / (b / sumQ));
    }
  }
  return kl;
}

/**
 * SALT's distance between two normalised histograms: sqrt(2 · JSD), JSD = (KL(P‖M) + KL(Q‖M)) / 2,
 * M = (P + Q) / 2, each KL over its common support as above. `scratch` (≥ length) holds M.
 */
export function saltDistance(
  p: ArrayLike<number>,
  q: ArrayLike<number>,
  offsetP = 0,
  offsetQ = 0,
  length = p.length,
  scratch: Float64Array = new Float64Array(length),
): number {
  for (let k = 0; k < length; k++) scratch[k] = (p[offsetP + k] + q[offsetQ + k]) / 2;
  const jsd = (klDivergenceCommonSupport(p, scratch, offsetP, 0, length) + klDivergenceCommonSupport(q, scratch, offsetQ, 0, length)) / 2;
  // Rounding can leave a tiny negative divergence between equal histograms.
  return Math.sqrt(Math.max(0, 2 * jsd));
}

/** Median of the first n values (sorts them in place); mean of the middle two for even n. */
export function medianInPlace(values: Float64Array, n: number): number {
  if (n === 0) return NaN;
  const view = values.subarray(0, n);
  view.sort();
  const mid = n >> 1;
  return n % 2 === 1 ? view[mid] : (view[mid - 1] + view[mid]) / 2;
}

/**
 * Reusable buffers for {@link saltFromCounts}, sized for one window layout: computing SALT for many
 * units then allocates nothing.
 */
export class SaltWorkspace {
  readonly normalised: Float64Array;
  readonly nullDistances: Float64Array;
  readonly testDistances: Float64Array;
  readonly mixture: Float64Array;

  constructor(
    readonly baselineWindowCount: number,
    readonly binCount: number,
  ) {
    this.normalised = new Float64Array((baselineWindowCount + 1) * binCount);
    this.nullDistances = new Float64Array((baselineWindowCount * (baselineWindowCount - 1)) / 2);
    this.testDistances = new Float64Array(baselineWindowCount);
    this.mixture = new Float64Array(binCount);
  }
}

/**
 * SALT from accumulated latency counts: `counts` holds baselineWindowCount + 1 rows of binCount
 * columns (row r = window r; the last row is the test window; column 0 = no spike, column k = first
 * spike in the k-th dt bin). Every row must sum to the same trial count.
 */
export function saltFromCounts(
  counts: ArrayLike<number>,
  baselineWindowCount: number,
  binCount: number,
  workspace: SaltWorkspace = new SaltWorkspace(baselineWindowCount, binCount),
): SaltResult {
  const rows = baselineWindowCount + 1;
  let trials = 0;
  for (let k = 0; k < binCount; k++) trials += counts[baselineWindowCount * binCount + k];
  if (trials === 0 || baselineWindowCount < 2) return { p: NaN, i: NaN, baselineWindowCount, trialCount: trials };
  const h = workspace.normalised;
  for (let r = 0; r < rows; r++) {
    let rowSum = 0;
    for (let k = 0; k < binCount; k++) rowSum += counts[r * binCount + k];
    if (rowSum !== trials) {
      throw new OptoloopError('E_INTERNAL', `salt: window ${r} holds ${rowSum} trials, the test window ${trials}`, { stage: 'closedloop.salt' });
    }
    for (let k = 0; k < binCount; k++) h[r * binCount + k] = counts[r * binCount + k] / trials;
  }
  let n = 0;
  for (let a = 0; a < baselineWindowCount; a++) {
    for (let b = a + 1; b < baselineWindowCount; b++) {
      workspace.nullDistances[n++] = saltDistance(h, h, a * binCount, b * binCount, binCount, workspace.mixture);
    }
  }
  const testOffset = baselineWindowCount * binCount;
  for (let a = 0; a < baselineWindowCount; a++) {
    workspace.testDistances[a] = saltDistance(h, h, a * binCount, testOffset, binCount, workspace.mixture);
  }
  const testMedian = medianInPlace(workspace.testDistances, baselineWindowCount);
  let atLeast = 0;
  for (let k = 0; k < n; k++) if (workspace.nullDistances[k] >= testMedian) atLeast++;
  const p = atLeast / n;
  const nullMedian = medianInPlace(workspace.nullDistances, n);
  return { p, i: testMedian - nullMedian, baselineWindowCount, trialCount: trials };
}

/**
 * Adds one window's first-spike latency to a counts row. `relTimesMs` are spike times relative to
 * the window start, sorted ascending; spikes before 0 are ignored, the window is [0, windowMs).
 */
export function firstSpikeLatencyBin(relTimesMs: ArrayLike<number>, count: number, windowStartMs: number, windowMs: number, binMs: number, from = 0): number {
  for (let k = from; k < count; k++) {
    const t = relTimesMs[k] - windowStartMs;
    if (t < 0) continue;
    if (t >= windowMs) return 0;
    return Math.floor(t / binMs) + 1;
  }
  return 0;
}

/**
 * The batch form of SALT on binary rasters at dt resolution (1 = at least one spike in the bin), as
 * CellBase takes them: `baseline` is trials × baselineBins (row-major), `test` trials × testBins.
 * Baseline windows are cut from the start of the baseline rasters: ⌊baselineBins / (wn/dt)⌋ of them.
 */
export function saltFromRasters(
  baseline: ArrayLike<number>,
  baselineBins: number,
  test: ArrayLike<number>,
  testBins: number,
  trials: number,
  binMs: number,
  windowMs: number,
): SaltResult {
  const binCount = saltLatencyBinCount(windowMs, binMs);
  const perWindow = binCount - 1;
  if (testBins < perWindow) {
    throw new OptoloopError('E_OPTIONS_INVALID', `salt: the test raster has ${testBins} bins, fewer than one window (${perWindow})`, { stage: 'closedloop.salt' });
  }
  const windows = Math.floor(baselineBins / perWindow);
  const counts = new Float64Array((windows + 1) * binCount);
  for (let trial = 0; trial < trials; trial++) {
    for (let w = 0; w <= windows; w++) {
      const isTest = w === windows;
      const raster = isTest ? test : baseline;
      const start = trial * (isTest ? testBins : baselineBins) + (isTest ? 0 : w * perWindow);
      let latency = 0;
      for (let k = 0; k < perWindow; k++) {
        if (raster[start + k]) {
          latency = k + 1;
          break;
        }
      }
      counts[w * binCount + latency]++;
    }
  }
  return saltFromCounts(counts, windows, binCount);
}
