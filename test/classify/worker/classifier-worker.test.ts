import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ensemble } from '../../../src/classify/model/ensemble.js';
import { allocateInputs, writeUnitInputs } from '../../../src/classify/model/inputs.js';
import { loadTf } from '../../../src/classify/model/tf-backend.js';
import { argmax } from '../../../src/classify/train/metrics.js';
import { ClassifierClient } from '../../../src/classify/worker/classifier-client.js';
import type { ResultMessage } from '../../../src/classify/worker/protocol.js';
import { expectRejection } from '../../helpers/expect-error.js';
import { artifactDir } from '../../helpers/paths.js';
import { seededRandom } from '../../helpers/seeded.js';
import { SYNTHETIC_CLASSES, syntheticUnit } from '../../helpers/synthetic-units.js';
import { trainTinyModel } from '../../helpers/tiny-model.js';

let modelDir = '';

test.before(async () => {
  modelDir = await trainTinyModel('classifier-worker');
});

test('the worker loads the model, reports its backend, and answers each request with probabilities of the right unit', async () => {
  const lines: string[] = [];
  const client = await ClassifierClient.start({ modelDirectory: modelDir, backend: 'wasm', log: (l) => lines.push(l) });
  try {
    assert.is(client.backend, 'wasm');
    assert.ok(lines.some((l) => /backend wasm/.test(l)), lines.join('\n'));
    assert.equal(client.model.classes, [...SYNTHETIC_CLASSES]);
    const results = new Map<number, ResultMessage>();
    const all = new Promise<void>((resolve) => {
      client.onResult = (r) => {
        results.set(r.unitId, r);
        if (results.size === 30) resolve();
      };
    });
    const random = seededRandom(99);
    const truth = new Map<number, number>();
    for (let u = 0; u < 30; u++) {
      const kind = u % 3;
      const unit = syntheticUnit(SYNTHETIC_CLASSES[kind], `u${u}`, 1500, random);
      truth.set(u, kind);
      const waveform = Float32Array.from(unit.waveformUv);
      client.classify(u, waveform, 30000, Float64Array.from(unit.spikeTimesS), null);
      assert.is(waveform.length, 0, 'the waveform buffer was transferred, not copied');
    }
    await all;
    assert.is(client.inFlight, 0);
    let correct = 0;
    for (const [unit, r] of results) {
      assert.is(r.probabilities.length, 3);
      const sum = r.probabilities.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-4, String(sum));
      if (argmax(r.probabilities) === truth.get(unit)) correct++;
    }
    // The classes differ plainly (width and regularity): a trained model names nearly all.
    assert.ok(correct >= 27, `${correct}/30 correct`);
  } finally {
    await client.close();
  }
});

test('no tensor leak: the tensor count stays flat over 10 000 predictions (in this thread and in the worker)', async () => {
  const { tf } = await loadTf('wasm');
  const ensemble = await Ensemble.load(tf, modelDir);
  const inputs = allocateInputs(ensemble.manifest, 1);
  const out = new Float32Array(3);
  const random = seededRandom(5);
  const unit = syntheticUnit('wide-regular', 'x', 150, random);
  writeUnitInputs(ensemble.manifest, { ...unit, layer: null }, inputs);
  ensemble.predict(inputs, 1, out);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 10000; i++) ensemble.predict(inputs, 1, out);
  assert.is(tf.memory().numTensors, before);
  ensemble.dispose();

  const client = await ClassifierClient.start({ modelDirectory: modelDir, backend: 'wasm' });
  try {
    const spikes = Float64Array.from(unit.spikeTimesS);
    const waveform = Float32Array.from(unit.waveformUv);
    const send = (n: number) =>
      new Promise<void>((resolve) => {
        let left = n;
        client.onResult = () => {
          if (--left === 0) resolve();
        };
        for (let i = 0; i < n; i++) client.classify(i, waveform.slice(), 30000, spikes.slice(), null);
      });
    await send(50);
    const start = (await client.memory()).numTensors;
    await send(10000);
    const end = (await client.memory()).numTensors;
    assert.is(end, start, `tensors in the worker: ${start} → ${end}`);
  } finally {
    await client.close();
  }
});

test('a folder without a model rejects with E_MODEL_INVALID; a forced unavailable backend with E_BACKEND_UNAVAILABLE', async () => {
  await expectRejection(ClassifierClient.start({ modelDirectory: artifactDir('classifier-worker-empty') }), 'E_MODEL_INVALID', /manifest/);
  await expectRejection(ClassifierClient.start({ modelDirectory: modelDir, backend: 'node-gpu' }), 'E_BACKEND_UNAVAILABLE', /tfjs-node-gpu/);
});

test.run();
