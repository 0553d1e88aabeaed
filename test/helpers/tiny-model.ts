/**
 * A small classifier trained on the synthetic library, for tests that need a real model folder:
 * trained once per test process into test-artifacts/<name> (seeded, a few seconds).
 */
import { join } from 'node:path';
import { validateLibrary } from '../../src/classify/library.js';
import { loadTf } from '../../src/classify/model/tf-backend.js';
import { manifestTemplate } from '../../src/classify/train/manifest-template.js';
import { trainFinal } from '../../src/classify/train/trainer.js';
import { artifactDir } from './paths.js';
import { SYNTHETIC_CLASSES, syntheticLibrary } from './synthetic-units.js';

export async function trainTinyModel(name: string, options: { members?: number; epochs?: number; seed?: number } = {}): Promise<string> {
  const dir = join(artifactDir(name), 'model');
  const library = validateLibrary(syntheticLibrary(10, 7), 'synthetic');
  const { tf } = await loadTf('wasm');
  const template = manifestTemplate({ name, classes: [...SYNTHETIC_CLASSES], inputs: ['waveform', 'acg3d'] });
  await trainFinal(tf, library.units, template, { folds: 0, seed: options.seed ?? 1, epochs: options.epochs ?? 8, members: options.members ?? 2, batchSize: 32, learningRate: 3e-3, viewSpikeCounts: [100, 200, 400], log: () => {} }, dir);
  return dir;
}
