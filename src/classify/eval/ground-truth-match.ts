/**
 * Scoring detected, assigned spikes against a simulator's ground truth.
 *
 * Matching: a detected spike and a ground-truth spike match when their trough samples are within
 * `toleranceSamples` and the ground-truth unit's peak channel lies within `radiusUm` of the detected
 * peak channel; each ground-truth spike matches at most one detected spike (greedy in time order,
 * the nearest in time first). A unit's ground-truth unit is the one holding most of its matched
 * spikes (majority). Assignment accuracy: among matched spikes with a unit id ≥ 0, the fraction whose
 * unit's majority ground-truth unit is their own ground-truth unit.
 */
import type { ChannelLayout } from '../../probe/channel-layout.js';

export interface DetectedSpikes {
  readonly count: number;
  readonly sample: Float64Array;
  readonly channel: Int32Array;
  /** Unit id after merges were resolved; −1 unassigned. */
  readonly unit: Int32Array;
}

export interface TruthSpikes {
  readonly count: number;
  /** Ascending. */
  readonly sample: Float64Array;
  readonly unit: Int32Array;
  /** Peak channel of each ground-truth unit id. */
  readonly peakChannelOfUnit: ReadonlyMap<number, number>;
}

/** A detected unit against the ground truth: its majority unit, the spikes that agree, its matched spikes, its spikes. */
export interface UnitMatch {
  truthUnit: number;
  agree: number;
  matched: number;
  spikes: number;
}

export interface MatchScore {
  readonly detected: number;
  readonly matched: number;
  readonly matchedAssigned: number;
  readonly correct: number;
  /** correct / matchedAssigned. */
  readonly accuracy: number;
  /** Of the ground-truth spikes, the fraction matched to a detection. */
  readonly recall: number;
  /** Per detected unit: its majority ground-truth unit, the spikes that agree, its matched spikes, its spikes. */
  readonly units: Map<number, UnitMatch>;
  /** Ground-truth unit of each detected spike (−1 unmatched). */
  readonly truthOfDetected: Int32Array;
  /** Index (into the TruthSpikes arrays) of the ground-truth spike each detected spike matched (−1 unmatched). */
  readonly truthIndexOfDetected: Int32Array;
}

export function matchToGroundTruth(detected: DetectedSpikes, truth: TruthSpikes, layout: ChannelLayout, toleranceSamples: number, radiusUm: number): MatchScore {
  const truthOfDetected = new Int32Array(detected.count).fill(-1);
  const truthIndexOfDetected = new Int32Array(detected.count).fill(-1);
  const used = new Uint8Array(truth.count);
  const order = Array.from({ length: detected.count }, (_, i) => i).sort((a, b) => detected.sample[a] - detected.sample[b]);
  let lo = 0;
  const r2 = radiusUm * radiusUm;
  let matched = 0;
  for (const d of order) {
    const s = detected.sample[d];
    while (lo < truth.count && truth.sample[lo] < s - toleranceSamples) lo++;
    let best = -1;
    let bestDt = Infinity;
    for (let j = lo; j < truth.count && truth.sample[j] <= s + toleranceSamples; j++) {
      if (used[j]) continue;
      const pc = truth.peakChannelOfUnit.get(truth.unit[j]);
      if (pc === undefined) continue;
      const dc = detected.channel[d];
      if ((layout.xUm[pc] - layout.xUm[dc]) ** 2 + (layout.yUm[pc] - layout.yUm[dc]) ** 2 > r2) continue;
      const dt = Math.abs(truth.sample[j] - s);
      if (dt < bestDt) {
        bestDt = dt;
        best = j;
      }
    }
    if (best >= 0) {
      used[best] = 1;
      truthOfDetected[d] = truth.unit[best];
      truthIndexOfDetected[d] = best;
      matched++;
    }
  }
  const votes = new Map<number, Map<number, number>>();
  const spikes = new Map<number, number>();
  for (let d = 0; d < detected.count; d++) {
    const u = detected.unit[d];
    if (u < 0) continue;
    spikes.set(u, (spikes.get(u) ?? 0) + 1);
    const t = truthOfDetected[d];
    if (t < 0) continue;
    const v = votes.get(u) ?? new Map<number, number>();
    v.set(t, (v.get(t) ?? 0) + 1);
    votes.set(u, v);
  }
  const units = new Map<number, UnitMatch>();
  let correct = 0;
  let matchedAssigned = 0;
  for (const [u, v] of votes) {
    let best = -1;
    let bestN = 0;
    let total = 0;
    for (const [t, n] of v) {
      total += n;
      if (n > bestN || (n === bestN && t < best)) [best, bestN] = [t, n];
    }
    units.set(u, { truthUnit: best, agree: bestN, matched: total, spikes: spikes.get(u) ?? 0 });
    correct += bestN;
    matchedAssigned += total;
  }
  for (const [u, n] of spikes) if (!units.has(u)) units.set(u, { truthUnit: -1, agree: 0, matched: 0, spikes: n });
  return {
    detected: detected.count,
    matched,
    matchedAssigned,
    correct,
    accuracy: matchedAssigned ? correct / matchedAssigned : NaN,
    recall: truth.count ? matched / truth.count : NaN,
    units,
    truthOfDetected,
    truthIndexOfDetected,
  };
}
