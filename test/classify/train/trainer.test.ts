import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateLibrary } from '../../../src/classify/library.js';
import { readManifest } from '../../../src/classify/model/manifest.js';
import { loadTf } from '../../../src/classify/model/tf-backend.js';
import { buildExamples, stratifiedFolds, usableUnits } from '../../../src/classify/train/examples.js';
import { manifestTemplate } from '../../../src/classify/train/manifest-template.js';
import { confidenceRatio, evaluate } from '../../../src/classify/train/metrics.js';
import { trainFinal } from '../../../src/classify/train/trainer.js';
import { main } from '../../../src/cli/main.js';
import { artifactDir } from '../../helpers/paths.js';
import { SYNTHETIC_CLASSES, syntheticLibrary } from '../../helpers/synthetic-units.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), isTty: false, interrupted: new Promise<void>(() => {}) }, out, err };
}

test('stratified folds: each class dealt evenly over the folds, the same for the same seed', () => {
  const labels = [...new Array(13).fill(0), ...new Array(7).fill(1), ...new Array(5).fill(2)];
  const folds = stratifiedFolds(labels, 5, 3);
  for (const c of [0, 1, 2]) {
    const perFold = [0, 0, 0, 0, 0];
    labels.forEach((l, i) => l === c && perFold[folds[i]]++);
    assert.ok(Math.max(...perFold) - Math.min(...perFold) <= 1, `class ${c}: ${perFold}`);
  }
  assert.equal(Array.from(stratifiedFolds(labels, 5, 3)), Array.from(folds));
  assert.not.equal(Array.from(stratifiedFolds(labels, 5, 4)), Array.from(folds));
});

test('metrics: accuracy, confusion and the abstention threshold on hand-made predictions', () => {
  assert.is(confidenceRatio([0.6, 0.3, 0.1]), 2);
  assert.is(confidenceRatio([1, 0, 0]), 1e6);
  const e = evaluate(
    [
      { trueClass: 0, probabilities: [0.7, 0.2, 0.1] }, // right, ratio 3.5
      { trueClass: 0, probabilities: [0.4, 0.35, 0.25] }, // right, ratio 1.14: abstains
      { trueClass: 1, probabilities: [0.5, 0.45, 0.05] }, // wrong, abstains
      { trueClass: 2, probabilities: [0.1, 0.1, 0.8] }, // right, labelled
    ],
    3,
    2,
  );
  assert.is(e.accuracy, 0.75);
  assert.equal(e.confusion, [[2, 0, 0], [1, 0, 0], [0, 0, 1]]);
  assert.is(e.labelled, 2);
  assert.is(e.labelledFraction, 0.5);
  assert.is(e.labelledAccuracy, 1);
});

test('examples: views of 100, 200 … spikes from each unit plus its whole train; units without enough spikes left out', () => {
  const lib = validateLibrary(syntheticLibrary(2, 1), 'lib');
  lib.units[0] = { ...lib.units[0], spikeTimesS: lib.units[0].spikeTimesS.slice(0, 50) };
  const template = manifestTemplate({ name: 't', classes: [...SYNTHETIC_CLASSES], inputs: ['waveform', 'acg3d'] });
  const usable = usableUnits(lib.units, template);
  assert.is(usable.indices.length, 5);
  assert.match(usable.skipped[0].reason, /50 spikes, fewer than minSpikes \(100\)/);
  const ex = buildExamples(lib.units, usable, template, [100, 200, 400], 1);
  for (const u of usable.indices) {
    const n = lib.units[u].spikeTimesS.length;
    const views = Array.from(ex.spikesOf).filter((_, e) => ex.unitOf[e] === u);
    const expected = [100, 200, 400].filter((c) => c < n);
    assert.equal(views, [...expected, n]);
  }
});

test('training is reproducible: the same seed writes the same weights, another seed different ones', async () => {
  const lib = validateLibrary(syntheticLibrary(4, 2), 'lib');
  const template = manifestTemplate({ name: 'repro', classes: [...SYNTHETIC_CLASSES], inputs: ['waveform', 'acg3d'] });
  const { tf } = await loadTf('wasm');
  const dir = artifactDir('train-repro');
  const settings = (seed: number) => ({ folds: 0, seed, epochs: 3, members: 1, batchSize: 16, learningRate: 1e-3, viewSpikeCounts: [100], log: () => {} });
  for (const [name, seed] of [['a', 1], ['b', 1], ['c', 2]] as const) {
    rmSync(join(dir, name), { recursive: true, force: true });
    await trainFinal(tf, lib.units, template, settings(seed), join(dir, name));
  }
  const weights = (name: string) => readFileSync(join(dir, name, 'member-0', 'weights.bin'));
  assert.ok(weights('a').equals(weights('b')), 'same seed, same weights');
  assert.not.ok(weights('a').equals(weights('c')), 'another seed, other weights');
  assert.equal(readManifest(join(dir, 'a')).inputs, readManifest(join(dir, 'b')).inputs);
});

test('optoloop train: cross-validation report with a confusion matrix, then the model folder', async () => {
  const dir = artifactDir('train-cli');
  const libPath = join(dir, 'library.json');
  writeFileSync(libPath, JSON.stringify(syntheticLibrary(6, 3)));
  rmSync(join(dir, 'model'), { recursive: true, force: true });
  const c = capture();
  const code = await main(['train', '--library', libPath, '--out', join(dir, 'model'), '--folds', '3', '--epochs', '6', '--min-steps', '0', '--members', '1', '--quiet', '--backend', 'wasm'], c.io);
  const text = c.out.join('');
  assert.is(code, 0, c.err.join(''));
  assert.match(text, /training on 18 \(medium-bursty 6, narrow-poisson 6, wide-regular 6\)/);
  assert.match(text, /3-fold cross-validation/);
  assert.match(text, /fold 3: 6 units, accuracy/);
  assert.match(text, /true \\ predicted/);
  assert.match(text, /at confidence ratio ≥ 2: [\d.]+ % of units labelled/);
  assert.match(text, /100 spikes:/);
  const manifest = readManifest(join(dir, 'model'));
  assert.is(manifest.name, 'model');
  assert.is(manifest.members.length, 1);
  assert.is((manifest.training as { crossValidation: { folds: number } }).crossValidation.folds, 3);
  const bad = capture();
  assert.is(await main(['train', '--library', libPath, '--out', join(dir, 'x'), '--inputs', 'waveform,pca'], bad.io), 2);
  assert.match(bad.err.join(''), /--inputs: expected a subset of waveform,acg3d,layer, got "pca"/);
  const missing = capture();
  assert.is(await main(['train', '--out', join(dir, 'x')], missing.io), 2);
  assert.match(missing.err.join(''), /--library FILE is required/);
});

test.run();
