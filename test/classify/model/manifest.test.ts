import { readFileSync, writeFileSync, mkdirSync, cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ensemble } from '../../../src/classify/model/ensemble.js';
import { readManifest, validateManifest } from '../../../src/classify/model/manifest.js';
import { loadTf } from '../../../src/classify/model/tf-backend.js';
import { manifestTemplate } from '../../../src/classify/train/manifest-template.js';
import { expectOptoloopError, expectRejection } from '../../helpers/expect-error.js';
import { artifactDir } from '../../helpers/paths.js';
import { trainTinyModel } from '../../helpers/tiny-model.js';

const good = () => JSON.parse(JSON.stringify(manifestTemplate({ name: 'm', classes: ['A', 'B'], inputs: ['waveform', 'acg3d', 'layer'] })));

test('a template manifest is valid, with defaults for the limits', () => {
  const m = validateManifest(good(), 'm.json');
  assert.equal(m.classes, ['A', 'B']);
  assert.equal(m.inputs.map((i) => i.feature), ['c4-waveform', 'c4-acg3d', 'layer-one-hot']);
  assert.is(m.minSpikes, 100);
  assert.is(m.abstainBelowRatio, 2);
});

test('errors name the file and the field', () => {
  const noClasses = good();
  delete noClasses.classes;
  expectOptoloopError(() => validateManifest(noClasses, 'x/manifest.json'), 'E_MODEL_INVALID', 'x/manifest.json', /classes: missing/);
  const oneClass = good();
  oneClass.classes = ['A'];
  expectOptoloopError(() => validateManifest(oneClass, 'f'), 'E_MODEL_INVALID', /classes: expected an array of at least 2/);
  const dup = good();
  dup.classes = ['A', 'A'];
  expectOptoloopError(() => validateManifest(dup, 'f'), 'E_MODEL_INVALID', /classes\[1\]: expected unique class names/);
  const shape = good();
  shape.inputs[0].shape = [91];
  expectOptoloopError(() => validateManifest(shape, 'f'), 'E_MODEL_INVALID', /inputs\[0\]\.shape: expected \[90\] for c4-waveform, got \[91\]/);
  const stats = good();
  stats.inputs[1].mean = [0, 1];
  stats.inputs[1].std = [1, 1];
  expectOptoloopError(() => validateManifest(stats, 'f'), 'E_MODEL_INVALID', /inputs\[1\]\.mean: expected an array of 1010/);
  const half = good();
  half.inputs[1].mean = new Array(1010).fill(0);
  expectOptoloopError(() => validateManifest(half, 'f'), 'E_MODEL_INVALID', /inputs\[1\]\.std: expected mean and std together/);
  const feature = good();
  feature.inputs[2].feature = 'pca';
  expectOptoloopError(() => validateManifest(feature, 'f'), 'E_MODEL_INVALID', /inputs\[2\]\.feature: expected one of "c4-waveform", "c4-acg3d", "layer-one-hot"/);
  const format = good();
  format.format = 'keras';
  expectOptoloopError(() => validateManifest(format, 'f'), 'E_MODEL_INVALID', /format: expected "optoloop-classifier"/);
  const zeroStd = good();
  zeroStd.inputs[1].mean = new Array(1010).fill(0);
  zeroStd.inputs[1].std = new Array(1010).fill(0);
  expectOptoloopError(() => validateManifest(zeroStd, 'f'), 'E_MODEL_INVALID', /inputs\[1\]\.std\[0\]: expected a positive number, got 0/);
});

test('readManifest: a missing folder, non-JSON, a missing member file', () => {
  const dir = artifactDir('manifest-read');
  rmSync(join(dir, 'manifest.json'), { force: true });
  expectOptoloopError(() => readManifest(dir), 'E_MODEL_INVALID', /cannot read the model manifest/);
  writeFileSync(join(dir, 'manifest.json'), '{ nope');
  expectOptoloopError(() => readManifest(dir), 'E_MODEL_INVALID', /not JSON/);
  const m = good();
  m.members = ['member-0/model.json'];
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  expectOptoloopError(() => readManifest(dir), 'E_MODEL_INVALID', /members\[0\]: expected a model\.json at/);
});

test('a member whose inputs or outputs disagree with the manifest is refused at load, naming the field', async () => {
  const source = await trainTinyModel('manifest-member');
  const { tf } = await loadTf('wasm');
  const ensemble = await Ensemble.load(tf, source);
  assert.is(ensemble.memberCount, 2);
  ensemble.dispose();
  const dir = join(artifactDir('manifest-mismatch'), 'model');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(source, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  manifest.classes.push('extra');
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  await expectRejection(Ensemble.load(tf, dir), 'E_MODEL_INVALID', /classes: the model outputs 3 probabilities but the manifest names 4 classes/);
  manifest.classes.pop();
  manifest.inputs.reverse();
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  await expectRejection(Ensemble.load(tf, dir), 'E_MODEL_INVALID', /inputs\[0\]\.shape: the model expects \[90\] but the manifest says \[10, 101\]/);
  manifest.inputs.reverse();
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  writeFileSync(join(dir, 'member-1', 'weights.bin'), new Uint8Array(12));
  await expectRejection(Ensemble.load(tf, dir), 'E_MODEL_INVALID', /member-1\/model\.json: weightsManifest: the weights manifest describes \d+ bytes but the weight files hold 12/);
});

test.run();
