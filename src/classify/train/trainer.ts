/**
 * Training and cross-validation of an ensemble classifier from a unit library. Everything random
 * is seeded (initialisers, fold split, view windows, batch order); there is no dropout, so a given
 * seed, library and backend give the same weights bit for bit.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { LibraryUnit } from '../library.js';
import { buildMemberModel } from '../model/architecture.js';
import type { ModelManifest } from '../model/manifest.js';
import { writeManifest } from '../model/write-manifest.js';
import { fileSaveHandler } from '../model/model-files.js';
import type { TfModule } from '../model/tf-backend.js';
import { buildExamples, stratifiedFolds, usableUnits, type ExampleSet } from './examples.js';
import { evaluate, type Evaluation, type Prediction } from './metrics.js';
import { SeededRandom } from './seeded-random.js';

export interface TrainSettings {
  readonly folds: number;
  readonly seed: number;
  readonly epochs: number;
  readonly members: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly viewSpikeCounts: readonly number[];
  /** Small libraries get more epochs: at least this many optimiser steps per member (default 0). */
  readonly minSteps?: number;
  readonly log: (line: string) => void;
}

export interface FoldResult {
  readonly fold: number;
  readonly trainUnits: number;
  readonly testUnits: number;
  readonly evaluation: Evaluation;
}

export interface UnitPrediction {
  readonly unitIndex: number;
  readonly id: string;
  readonly trueClass: number;
  readonly fold: number;
  readonly probabilities: number[];
}

export interface CrossValidation {
  readonly folds: FoldResult[];
  readonly overall: Evaluation;
  /** Evaluation of held-out views by spike count (100, 200, …): how early a unit can be named. */
  readonly bySpikes: { spikes: number; evaluation: Evaluation }[];
  readonly predictions: UnitPrediction[];
}

/** z-score statistics of each transformed input over the given examples (std floored at 1e-3). */
function fitNormalisation(manifest: ModelManifest, examples: ExampleSet, rows: Int32Array): ModelManifest {
  const inputs = manifest.inputs.map((input, k) => {
    if (input.feature === 'layer-one-hot') return input;
    if (input.feature === 'c4-waveform' && input.mean === null) return input;
    const size = input.shape.reduce((a, b) => a * b, 1);
    const mean = new Float64Array(size);
    const square = new Float64Array(size);
    const raw = examples.raw[k];
    for (const e of rows) {
      for (let i = 0; i < size; i++) {
        let v = raw[e * size + i];
        if (input.feature === 'c4-acg3d' && input.transform === 'log1p') v = Math.log1p(Math.max(0, v));
        mean[i] += v;
        square[i] += v * v;
      }
    }
    const n = Math.max(1, rows.length);
    const m: number[] = [];
    const s: number[] = [];
    for (let i = 0; i < size; i++) {
      const mu = mean[i] / n;
      m.push(Math.fround(mu));
      s.push(Math.fround(Math.max(1e-3, Math.sqrt(Math.max(0, square[i] / n - mu * mu)))));
    }
    return { ...input, mean: m, std: s };
  });
  return { ...manifest, inputs } as ModelManifest;
}

/** The model-ready inputs (transformed, normalised) of the given example rows, example-major. */
function prepareInputs(manifest: ModelManifest, examples: ExampleSet, rows: Int32Array): Float32Array[] {
  return manifest.inputs.map((input, k) => {
    const size = input.shape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(rows.length * size);
    const raw = examples.raw[k];
    rows.forEach((e, r) => {
      for (let i = 0; i < size; i++) {
        let v = raw[e * size + i];
        if (input.feature === 'c4-acg3d' && input.transform === 'log1p') v = Math.log1p(Math.max(0, v));
        if (input.feature !== 'layer-one-hot' && input.mean && input.std) v = (v - input.mean[i]) / input.std[i];
        out[r * size + i] = v;
      }
    });
    return out;
  });
}

async function trainMembers(tf: TfModule, manifest: ModelManifest, examples: ExampleSet, rows: Int32Array, settings: TrainSettings, seed: number, label: string): Promise<LayersModel[]> {
  const inputs = prepareInputs(manifest, examples, rows);
  const classes = manifest.classes.length;
  const counts = new Array<number>(classes).fill(0);
  for (const e of rows) counts[examples.labels[e]]++;
  // Balanced classes: each class weighs as much in the loss whatever its size.
  const classWeight: Record<number, number> = {};
  counts.forEach((c, k) => (classWeight[k] = c > 0 ? rows.length / (classes * c) : 0));
  const members: LayersModel[] = [];
  for (let m = 0; m < settings.members; m++) {
    const memberSeed = seed * 101 + m + 1;
    const model = buildMemberModel(tf, manifest, { seed: memberSeed });
    model.compile({ optimizer: tf.train.adam(settings.learningRate), loss: 'categoricalCrossentropy' });
    const random = new SeededRandom(memberSeed);
    const order = Int32Array.from({ length: rows.length }, (_, i) => i);
    let lastLoss = NaN;
    const stepsPerEpoch = Math.ceil(rows.length / settings.batchSize);
    const epochs = Math.max(settings.epochs, Math.ceil((settings.minSteps ?? 0) / stepsPerEpoch));
    for (let epoch = 0; epoch < epochs; epoch++) {
      random.shuffle(order);
      const xs = manifest.inputs.map((input, k) => {
        const size = input.shape.reduce((a, b) => a * b, 1);
        const data = new Float32Array(rows.length * size);
        order.forEach((r, i) => data.set(inputs[k].subarray(r * size, (r + 1) * size), i * size));
        return tf.tensor(data, [rows.length, ...input.shape]);
      });
      const labels = new Int32Array(rows.length);
      order.forEach((r, i) => (labels[i] = examples.labels[rows[r]]));
      const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), classes).toFloat());
      const history = await model.fit(xs, ys, { epochs: 1, batchSize: settings.batchSize, shuffle: false, classWeight, verbose: 0 });
      lastLoss = history.history.loss[0] as number;
      tf.dispose([...xs, ys]);
    }
    settings.log(`  ${label} member ${m + 1}/${settings.members}: ${epochs} epochs, final loss ${lastLoss.toFixed(4)}`);
    members.push(model);
  }
  return members;
}

function predictMembers(tf: TfModule, manifest: ModelManifest, members: LayersModel[], inputs: Float32Array[], count: number): Float32Array {
  const result = tf.tidy(() => {
    const xs = manifest.inputs.map((input, k) => tf.tensor(inputs[k], [count, ...input.shape]));
    let sum: Tensor | null = null;
    for (const m of members) {
      const p = m.predict(xs, { batchSize: 256 }) as Tensor;
      sum = sum ? tf.add(sum, p) : p;
    }
    return tf.div(sum as Tensor, members.length);
  });
  const out = result.dataSync() as Float32Array;
  result.dispose();
  return Float32Array.from(out);
}

export async function crossValidate(tf: TfModule, units: readonly LibraryUnit[], template: ModelManifest, settings: TrainSettings): Promise<CrossValidation> {
  const usable = usableUnits(units, template);
  const examples = buildExamples(units, usable, template, settings.viewSpikeCounts, settings.seed);
  const foldOfUsable = stratifiedFolds(usable.labels, settings.folds, settings.seed);
  const foldOfUnit = new Map<number, number>();
  usable.indices.forEach((u, k) => foldOfUnit.set(u, foldOfUsable[k]));
  const classes = template.classes.length;
  const folds: FoldResult[] = [];
  const all: Prediction[] = [];
  const predictions: UnitPrediction[] = [];
  const byCount = new Map<number, Prediction[]>();
  for (let f = 0; f < settings.folds; f++) {
    const trainRows: number[] = [];
    const testRows: number[] = [];
    for (let e = 0; e < examples.count; e++) (foldOfUnit.get(examples.unitOf[e]) === f ? testRows : trainRows).push(e);
    const trainIdx = Int32Array.from(trainRows);
    const testIdx = Int32Array.from(testRows);
    const manifest = fitNormalisation(template, examples, trainIdx);
    const members = await trainMembers(tf, manifest, examples, trainIdx, settings, settings.seed + 7919 * (f + 1), `fold ${f + 1}/${settings.folds}`);
    const probabilities = predictMembers(tf, manifest, members, prepareInputs(manifest, examples, testIdx), testIdx.length);
    for (const m of members) m.dispose();
    const foldPredictions: Prediction[] = [];
    testIdx.forEach((e, r) => {
      const p = { trueClass: examples.labels[e], probabilities: Array.from(probabilities.subarray(r * classes, (r + 1) * classes)) };
      if (examples.isFull[e]) {
        foldPredictions.push(p);
        predictions.push({ unitIndex: examples.unitOf[e], id: units[examples.unitOf[e]].id, trueClass: p.trueClass, fold: f, probabilities: p.probabilities });
      } else {
        const n = examples.spikesOf[e];
        if (!byCount.has(n)) byCount.set(n, []);
        byCount.get(n)!.push(p);
      }
    });
    const evaluation = evaluate(foldPredictions, classes, template.abstainBelowRatio);
    folds.push({ fold: f, trainUnits: new Set(trainRows.map((e) => examples.unitOf[e])).size, testUnits: foldPredictions.length, evaluation });
    all.push(...foldPredictions);
    settings.log(`fold ${f + 1}/${settings.folds}: ${foldPredictions.length} units, accuracy ${(100 * evaluation.accuracy).toFixed(1)} %`);
  }
  const bySpikes = [...byCount.keys()].sort((a, b) => a - b).map((spikes) => ({ spikes, evaluation: evaluate(byCount.get(spikes)!, classes, template.abstainBelowRatio) }));
  return { folds, overall: evaluate(all, classes, template.abstainBelowRatio), bySpikes, predictions };
}

/** Trains the final ensemble on every usable unit and writes the model folder (manifest + members). */
export async function trainFinal(tf: TfModule, units: readonly LibraryUnit[], template: ModelManifest, settings: TrainSettings, outDir: string, training: unknown = null): Promise<ModelManifest> {
  const usable = usableUnits(units, template);
  const examples = buildExamples(units, usable, template, settings.viewSpikeCounts, settings.seed);
  const rows = Int32Array.from({ length: examples.count }, (_, i) => i);
  const fitted = fitNormalisation(template, examples, rows);
  const members = await trainMembers(tf, fitted, examples, rows, settings, settings.seed, 'final');
  mkdirSync(outDir, { recursive: true });
  const names: string[] = [];
  for (const [m, model] of members.entries()) {
    const name = `member-${m}/model.json`;
    await model.save(fileSaveHandler(join(outDir, name)));
    model.dispose();
    names.push(name);
  }
  const manifest: ModelManifest = { ...fitted, members: names, training };
  writeManifest(outDir, manifest);
  return manifest;
}
