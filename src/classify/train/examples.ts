/**
 * Training examples from a unit library. Each unit gives several *views*: its features computed
 * from a window of N consecutive spikes for N = 100, 200, 400 … (a seeded random window), plus
 * the whole train (its most recent maxSpikes). Live, a unit is first classified at 100 spikes and
 * again as spikes accumulate; views teach the model what a 3D-ACG of 100 spikes looks like, so the
 * early calls are not made on inputs it never saw. Views of one unit always stay in the same fold.
 */
import type { LibraryUnit } from '../library.js';
import type { ModelInput, ModelManifest } from '../model/manifest.js';
import { rawFeature } from '../model/inputs.js';
import { SeededRandom } from './seeded-random.js';

export const DEFAULT_VIEW_SPIKE_COUNTS: readonly number[] = [100, 200, 400, 800, 1600, 3200, 6400];

export interface ExampleSet {
  /** Raw features per manifest input (before transform / normalisation), example-major. */
  readonly raw: Float32Array[];
  readonly labels: Int32Array;
  /** Library unit index of each example. */
  readonly unitOf: Int32Array;
  /** Spikes the example's features were computed from. */
  readonly spikesOf: Int32Array;
  /** Whether the example is its unit's whole-train view (the one evaluated). */
  readonly isFull: Uint8Array;
  readonly count: number;
}

export interface UsableUnits {
  /** Library indices of the units used, and their class indices. */
  readonly indices: number[];
  readonly labels: number[];
  /** Units left out, with the reason. */
  readonly skipped: { id: string; reason: string }[];
}

/** Units of the library the model can learn from: a known class and, when a 3D-ACG is an input, enough spikes. */
export function usableUnits(units: readonly LibraryUnit[], manifest: ModelManifest): UsableUnits {
  const needsSpikes = manifest.inputs.some((i) => i.feature === 'c4-acg3d');
  const out: UsableUnits = { indices: [], labels: [], skipped: [] };
  units.forEach((u, i) => {
    const label = manifest.classes.indexOf(u.label);
    if (label < 0) out.skipped.push({ id: u.id, reason: `label "${u.label}" is not one of the model's classes` });
    else if (needsSpikes && u.spikeTimesS.length < manifest.minSpikes) out.skipped.push({ id: u.id, reason: `${u.spikeTimesS.length} spikes, fewer than minSpikes (${manifest.minSpikes})` });
    else {
      out.indices.push(i);
      out.labels.push(label);
    }
  });
  return out;
}

function inputSize(input: ModelInput): number {
  return input.shape.reduce((a, b) => a * b, 1);
}

export function buildExamples(units: readonly LibraryUnit[], usable: UsableUnits, manifest: ModelManifest, viewSpikeCounts: readonly number[], seed: number): ExampleSet {
  const random = new SeededRandom(seed);
  const needsSpikes = manifest.inputs.some((i) => i.feature === 'c4-acg3d');
  interface View {
    unit: number;
    label: number;
    from: number;
    to: number;
    full: boolean;
  }
  const views: View[] = [];
  usable.indices.forEach((index, k) => {
    const n = units[index].spikeTimesS.length;
    if (needsSpikes) {
      for (const c of viewSpikeCounts) {
        if (c >= n || c >= manifest.maxSpikes) continue;
        const from = random.int(n - c + 1);
        views.push({ unit: index, label: usable.labels[k], from, to: from + c, full: false });
      }
    }
    views.push({ unit: index, label: usable.labels[k], from: Math.max(0, n - manifest.maxSpikes), to: n, full: true });
  });
  const sizes = manifest.inputs.map(inputSize);
  const raw = sizes.map((s) => new Float32Array(s * views.length));
  const labels = new Int32Array(views.length);
  const unitOf = new Int32Array(views.length);
  const spikesOf = new Int32Array(views.length);
  const isFull = new Uint8Array(views.length);
  views.forEach((v, e) => {
    const u = units[v.unit];
    const source = { waveformUv: u.waveformUv, waveformSampleRateHz: u.waveformSampleRateHz, spikeTimesS: u.spikeTimesS.slice(v.from, v.to), layer: u.layer };
    manifest.inputs.forEach((input, k) => rawFeature(input, source, manifest.maxSpikes, raw[k].subarray(e * sizes[k], (e + 1) * sizes[k])));
    labels[e] = v.label;
    unitOf[e] = v.unit;
    spikesOf[e] = v.to - v.from;
    isFull[e] = v.full ? 1 : 0;
  });
  return { raw, labels, unitOf, spikesOf, isFull, count: views.length };
}

/**
 * Stratified k-fold split of units: within each class, units are shuffled (seeded) and dealt to
 * the folds in turn, so every fold holds each class in proportion. Returns the fold of each unit
 * (by position in `labels`).
 */
export function stratifiedFolds(labels: readonly number[], folds: number, seed: number): Int32Array {
  const random = new SeededRandom(seed);
  const fold = new Int32Array(labels.length);
  const classes = [...new Set(labels)].sort((a, b) => a - b);
  let offset = 0;
  for (const c of classes) {
    const members = labels.map((l, i) => (l === c ? i : -1)).filter((i) => i >= 0);
    random.shuffle(members);
    // Continue dealing where the previous class stopped, so small classes do not all start at fold 0.
    members.forEach((unit, k) => (fold[unit] = (offset + k) % folds));
    offset = (offset + members.length) % folds;
  }
  return fold;
}
