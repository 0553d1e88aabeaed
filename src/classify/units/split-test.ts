/**
 * Whether a set of spike feature vectors holds two clusters: the first principal component (power
 * iteration), then the best two-group cut along it (exact 1-D 2-means on the sorted projections).
 * Work arrays are allocated once and reused; nothing is allocated per call.
 */
export interface SplitResult {
  split: boolean;
  /** Separation of the two groups along the component: |m1 − m2| / √((v1 + v2) / 2). */
  dPrime: number;
  /** Fraction of vectors in the smaller group. */
  minorityFraction: number;
  /** Group (0 or 1) of each vector; group 1 is the smaller. */
  readonly group: Uint8Array;
}

/** Power-iteration cap, and the 1 − |cos| between successive directions taken as converged. */
const MAX_ITERATIONS = 30;
const CONVERGED = 1e-9;

/**
 * One test runs either at once (`run`) or in steps (`begin`, then `step` until it returns true):
 * on the live path a test of 100 vectors × ~90 dimensions takes up to ~1 ms, and run whole after a
 * block's triggers it delayed the next block by as much; in steps of a few power iterations
 * (~20 µs each) it spreads over several blocks. `begin` takes a centred copy of the vectors, so the
 * caller's ring may go on filling meanwhile, and the groups' means (`groupMeans`) come from that
 * copy: they describe the vectors the groups index.
 */
export class SplitTest {
  private readonly mean: Float64Array;
  private readonly component: Float64Array;
  private readonly next: Float64Array;
  private readonly projection: Float64Array;
  private readonly centred: Float64Array;
  private readonly order: Uint32Array;
  private readonly byProjection = (a: number, b: number): number => this.projection[a] - this.projection[b] || a - b;
  readonly result: SplitResult;
  private count = 0;
  private iteration = 0;
  private minDprime = 0;
  private minFraction = 0;
  /** Between begin() and the step that finishes the test. */
  private running = false;

  constructor(
    private readonly dimensions: number,
    capacity: number,
  ) {
    this.mean = new Float64Array(dimensions);
    this.component = new Float64Array(dimensions);
    this.next = new Float64Array(dimensions);
    this.projection = new Float64Array(capacity);
    this.centred = new Float64Array(capacity * dimensions);
    this.order = new Uint32Array(capacity);
    this.result = { split: false, dPrime: 0, minorityFraction: 0, group: new Uint8Array(capacity) };
  }

  /** Tests vectors `data[i × dimensions …]`, i < count, at once. */
  run(data: Float32Array, count: number, minDprime: number, minFraction: number): SplitResult {
    this.begin(data, count, minDprime, minFraction);
    this.step(Number.POSITIVE_INFINITY);
    return this.result;
  }

  /** Whether a test was begun and has not finished. */
  get inProgress(): boolean {
    return this.running;
  }

  /** Starts a test of vectors `data[i × dimensions …]`, i < count: copies them, centred; the result is cleared. */
  begin(data: Float32Array, count: number, minDprime: number, minFraction: number): void {
    const d = this.dimensions;
    const r = this.result;
    r.split = false;
    r.dPrime = 0;
    r.minorityFraction = 0;
    this.count = count;
    this.minDprime = minDprime;
    this.minFraction = minFraction;
    this.iteration = 0;
    this.running = count >= 4;
    if (!this.running) return;
    const mean = this.mean.fill(0);
    for (let i = 0; i < count; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
    for (let j = 0; j < d; j++) mean[j] /= count;
    // Centred once: the power iteration reads every vector twice per iteration.
    const x = this.centred;
    for (let i = 0; i < count; i++) for (let j = 0; j < d; j++) x[i * d + j] = data[i * d + j] - mean[j];
    // From a fixed start (deterministic).
    const v = this.component;
    for (let j = 0; j < d; j++) v[j] = 1 / Math.sqrt(d) + (j % 2 ? 1e-3 : -1e-3);
  }

  /**
   * Up to `maxIterations` more power iterations, until the direction stops moving (a clear split
   * converges in a few; 30 at most), then the cut. Returns true when the test is over (the result
   * is final), false while it needs more steps; true as well when no test is in progress.
   */
  step(maxIterations: number): boolean {
    if (!this.running) return true;
    const d = this.dimensions;
    const count = this.count;
    const x = this.centred;
    const v = this.component;
    for (let done = 0; done < maxIterations && this.iteration < MAX_ITERATIONS; done++) {
      const iteration = this.iteration++;
      const w = this.next.fill(0);
      for (let i = 0; i < count; i++) {
        const base = i * d;
        let p = 0;
        for (let j = 0; j < d; j++) p += x[base + j] * v[j];
        for (let j = 0; j < d; j++) w[j] += p * x[base + j];
      }
      let norm = 0;
      for (let j = 0; j < d; j++) norm += w[j] * w[j];
      norm = Math.sqrt(norm);
      if (!(norm > 0)) {
        this.running = false;
        return true;
      }
      let cos = 0;
      for (let j = 0; j < d; j++) {
        const u = w[j] / norm;
        cos += u * v[j];
        v[j] = u;
      }
      if (iteration >= 2 && 1 - Math.abs(cos) < CONVERGED) this.iteration = MAX_ITERATIONS;
    }
    if (this.iteration < MAX_ITERATIONS) return false;
    this.running = false;
    this.cut();
    return true;
  }

  /** The best two-group cut along the component: exact 1-D 2-means on the sorted projections. */
  private cut(): void {
    const d = this.dimensions;
    const count = this.count;
    const x = this.centred;
    const v = this.component;
    const r = this.result;
    const proj = this.projection;
    for (let i = 0; i < count; i++) {
      const base = i * d;
      let p = 0;
      for (let j = 0; j < d; j++) p += x[base + j] * v[j];
      proj[i] = p;
    }
    const order = this.order;
    for (let i = 0; i < count; i++) order[i] = i;
    (count === order.length ? order : order.subarray(0, count)).sort(this.byProjection);
    let total = 0;
    let totalSq = 0;
    for (let i = 0; i < count; i++) {
      total += proj[i];
      totalSq += proj[i] * proj[i];
    }
    let left = 0;
    let leftSq = 0;
    let best = -1;
    let bestCost = Infinity;
    for (let c = 1; c < count; c++) {
      const p = proj[order[c - 1]];
      left += p;
      leftSq += p * p;
      const nl = c;
      const nr = count - c;
      const cost = leftSq - (left * left) / nl + (totalSq - leftSq) - ((total - left) * (total - left)) / nr;
      if (cost < bestCost) {
        bestCost = cost;
        best = c;
      }
    }
    if (best < 0) return;
    let m1 = 0;
    let m2 = 0;
    for (let c = 0; c < count; c++) (c < best ? (m1 += proj[order[c]]) : (m2 += proj[order[c]]));
    m1 /= best;
    m2 /= count - best;
    let v1 = 0;
    let v2 = 0;
    for (let c = 0; c < count; c++) {
      const p = proj[order[c]];
      if (c < best) v1 += (p - m1) ** 2;
      else v2 += (p - m2) ** 2;
    }
    v1 /= Math.max(1, best - 1);
    v2 /= Math.max(1, count - best - 1);
    const spread = Math.sqrt((v1 + v2) / 2);
    r.dPrime = spread > 0 ? Math.abs(m2 - m1) / spread : Infinity;
    const lowIsMinority = best <= count - best;
    r.minorityFraction = Math.min(best, count - best) / count;
    for (let c = 0; c < count; c++) r.group[order[c]] = (c < best) === lowIsMinority ? 1 : 0;
    r.split = r.dPrime >= this.minDprime && r.minorityFraction >= this.minFraction;
  }

  /**
   * The means of the last finished test's two groups (group 0 into `mean0`, group 1 into `mean1`,
   * each `dimensions` long), over the vectors as they were when it began; returns group 1's size.
   */
  groupMeans(mean0: Float64Array, mean1: Float64Array): number {
    const d = this.dimensions;
    const x = this.centred;
    const group = this.result.group;
    mean0.fill(0, 0, d);
    mean1.fill(0, 0, d);
    let n1 = 0;
    for (let i = 0; i < this.count; i++) {
      const target = group[i] ? mean1 : mean0;
      if (group[i]) n1++;
      for (let j = 0; j < d; j++) target[j] += x[i * d + j];
    }
    const n0 = this.count - n1;
    for (let j = 0; j < d; j++) {
      mean0[j] = this.mean[j] + (n0 > 0 ? mean0[j] / n0 : 0);
      mean1[j] = this.mean[j] + (n1 > 0 ? mean1[j] / n1 : 0);
    }
    return n1;
  }
}

let warmedUp = false;

/**
 * Runs the split test on synthetic data until V8 has optimised it, once per process. On the live
 * path it runs a few times a minute, too rarely to be optimised by use: its first calls took up to
 * ~10 ms instead of ~1 ms, each a stall of the blocks behind it. Called when a clusterer is made
 * (daemon start-up), where ~20 ms are free.
 */
export function warmUpSplitTest(): void {
  if (warmedUp) return;
  warmedUp = true;
  const dimensions = 93;
  const count = 100;
  const data = new Float32Array(dimensions * count);
  // Two groups along the first dimension, deterministic ripples elsewhere: the full path runs.
  for (let i = 0; i < count; i++) for (let j = 0; j < dimensions; j++) data[i * dimensions + j] = (j === 0 ? (i < 30 ? 8 : 0) : 0) + Math.sin(i * 12.9898 + j * 78.233);
  const test = new SplitTest(dimensions, count);
  for (let k = 0; k < 20; k++) test.run(data, count, 5, 0.15);
}
