/**
 * How much the clustering splits or mixes ground-truth units — what the majority mapping of
 * ground-truth-match.ts does not see (a neuron cut into ten detected units still scores 100 % there).
 * Over the matched spikes that carry a unit id (the contingency table n[g][d] of ground-truth unit g
 * × detected unit d):
 * - units per ground-truth unit: detected units whose majority is g, averaged over the g that have one;
 * - completeness of g: the largest n[g][d] / Σ_d n[g][d] (the share of g's spikes in its biggest
 *   detected unit), as a median over ground-truth units and pooled over spikes;
 * - one-to-one accuracy: each detected unit paired with at most one ground-truth unit and each
 *   ground-truth unit with at most one detected unit (greedy, largest overlap first); the share of
 *   spikes on paired cells of the table (a split loses its smaller parts, a mix its minority);
 * - pair counting: of the spike pairs from one ground-truth unit, the share that share a detected
 *   unit (pair recall, falls with splits), and of the pairs in one detected unit, the share from one
 *   ground-truth unit (pair precision, falls with mixes).
 */
export interface SplitMetrics {
  /** Ground-truth units with at least one matched, assigned spike. */
  readonly truthUnits: number;
  /** Detected units with at least one matched spike (a majority ground-truth unit). */
  readonly detectedUnits: number;
  readonly unitsPerTruthUnit: number;
  /** Largest number of detected units with the same majority ground-truth unit. */
  readonly maxUnitsPerTruthUnit: number;
  readonly medianCompleteness: number;
  /** Σ_g max_d n[g][d] / Σ n. */
  readonly pooledCompleteness: number;
  /** Ground-truth units whose largest detected unit holds ≥ 80 % of their spikes. */
  readonly completeAt80: number;
  readonly oneToOneAccuracy: number;
  readonly pairRecall: number;
  readonly pairPrecision: number;
}

/**
 * `truthOfSpike[i]` the ground-truth unit of detected spike i (−1 unmatched), `unitOfSpike[i]` its
 * detected unit (−1 unassigned); spikes with either −1 are left out.
 */
export function splitMetrics(truthOfSpike: Int32Array, unitOfSpike: Int32Array): SplitMetrics {
  const cells = new Map<number, Map<number, number>>();
  const perDetected = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < truthOfSpike.length; i++) {
    const g = truthOfSpike[i];
    const d = unitOfSpike[i];
    if (g < 0 || d < 0) continue;
    let row = cells.get(g);
    if (!row) cells.set(g, (row = new Map()));
    row.set(d, (row.get(d) ?? 0) + 1);
    perDetected.set(d, (perDetected.get(d) ?? 0) + 1);
    total++;
  }
  // Majority ground-truth unit of each detected unit (ties: the lower id, as ground-truth-match.ts).
  const majority = new Map<number, { g: number; n: number }>();
  const flat: { g: number; d: number; n: number }[] = [];
  for (const [g, row] of cells) {
    for (const [d, n] of row) {
      flat.push({ g, d, n });
      const m = majority.get(d);
      if (!m || n > m.n || (n === m.n && g < m.g)) majority.set(d, { g, n });
    }
  }
  const unitsOf = new Map<number, number>();
  for (const { g } of majority.values()) unitsOf.set(g, (unitsOf.get(g) ?? 0) + 1);
  const completeness: number[] = [];
  let largestSum = 0;
  let pairsTruth = 0;
  let pairsBoth = 0;
  for (const row of cells.values()) {
    let sum = 0;
    let largest = 0;
    for (const n of row.values()) {
      sum += n;
      largest = Math.max(largest, n);
      pairsBoth += (n * (n - 1)) / 2;
    }
    pairsTruth += (sum * (sum - 1)) / 2;
    largestSum += largest;
    completeness.push(largest / sum);
  }
  let pairsDetected = 0;
  for (const n of perDetected.values()) pairsDetected += (n * (n - 1)) / 2;
  completeness.sort((a, b) => a - b);
  const c = completeness.length;
  const median = c === 0 ? NaN : c % 2 ? completeness[c >> 1] : (completeness[c / 2 - 1] + completeness[c / 2]) / 2;
  flat.sort((a, b) => b.n - a.n || a.g - b.g || a.d - b.d);
  const pairedTruth = new Set<number>();
  const pairedDetected = new Set<number>();
  let paired = 0;
  for (const { g, d, n } of flat) {
    if (pairedTruth.has(g) || pairedDetected.has(d)) continue;
    pairedTruth.add(g);
    pairedDetected.add(d);
    paired += n;
  }
  let unitsSum = 0;
  let unitsMax = 0;
  for (const n of unitsOf.values()) {
    unitsSum += n;
    unitsMax = Math.max(unitsMax, n);
  }
  return {
    truthUnits: cells.size,
    detectedUnits: perDetected.size,
    unitsPerTruthUnit: unitsOf.size ? unitsSum / unitsOf.size : NaN,
    maxUnitsPerTruthUnit: unitsMax,
    medianCompleteness: median,
    pooledCompleteness: total ? largestSum / total : NaN,
    completeAt80: completeness.filter((x) => x >= 0.8).length,
    oneToOneAccuracy: total ? paired / total : NaN,
    pairRecall: pairsTruth ? pairsBoth / pairsTruth : NaN,
    pairPrecision: pairsDetected ? pairsBoth / pairsDetected : NaN,
  };
}
