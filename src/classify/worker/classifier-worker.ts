/**
 * The classifier's thread: loads TensorFlow.js and a model, then turns each request (a unit's mean
 * waveform and spike times) into C4 features and class probabilities. Requests that arrive while
 * it is busy are predicted together (up to maxBatch), so a burst of re-classifications costs one
 * forward pass per batch. Nothing here can delay the acquisition thread: it only ever posts
 * results back.
 */
import { parentPort } from 'node:worker_threads';
import { isOptoloopError } from '../../core/errors.js';
import { Ensemble } from '../model/ensemble.js';
import { allocateInputs, writeUnitInputs } from '../model/inputs.js';
import { loadTf } from '../model/tf-backend.js';
import type { ClassifyMessage, FromWorker, ToWorker } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('classifier-worker: must run as a worker thread');

let ensemble: Ensemble | null = null;
let maxBatch = 16;
let inputs: Float32Array[] = [];
let probabilities = new Float32Array(0);
const queue: { message: ClassifyMessage; arrivedNs: number }[] = [];
let scheduled = false;
let closing = false;

const nowNs = () => performance.now() * 1e6;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

function fail(requestId: number | null, error: unknown): void {
  post({
    type: 'error',
    requestId,
    code: isOptoloopError(error) ? error.code : 'E_INTERNAL',
    message: isOptoloopError(error) ? error.message : `classifier worker: ${(error as Error)?.stack ?? String(error)}`,
  });
}

function drain(): void {
  scheduled = false;
  if (!ensemble || queue.length === 0) return;
  const batch = queue.splice(0, maxBatch);
  const classes = ensemble.manifest.classes.length;
  const featureUs: number[] = [];
  const ok: boolean[] = [];
  for (let i = 0; i < batch.length; i++) {
    const started = nowNs();
    const m = batch[i].message;
    try {
      writeUnitInputs(ensemble.manifest, { waveformUv: m.waveformUv, waveformSampleRateHz: m.waveformSampleRateHz, spikeTimesS: m.spikeTimesS, layer: m.layer }, inputs, i);
      ok.push(true);
    } catch (error) {
      ok.push(false);
      fail(m.requestId, error);
    }
    featureUs.push((nowNs() - started) / 1000);
  }
  try {
    ensemble.predict(inputs, batch.length, probabilities);
  } catch (error) {
    for (const b of batch) fail(b.message.requestId, error);
    if (queue.length) schedule();
    return;
  }
  const done = nowNs();
  for (let i = 0; i < batch.length; i++) {
    if (!ok[i]) continue;
    const p = probabilities.slice(i * classes, (i + 1) * classes);
    post(
      { type: 'result', requestId: batch[i].message.requestId, unitId: batch[i].message.unitId, probabilities: p, latencyUs: (done - batch[i].arrivedNs) / 1000, featureUs: featureUs[i], batch: batch.length },
      [p.buffer],
    );
  }
  if (queue.length) schedule();
}

function schedule(): void {
  if (scheduled || closing) return;
  scheduled = true;
  // setImmediate lets every message already delivered join the queue before the batch is formed.
  setImmediate(drain);
}

async function init(modelDirectory: string, backend: Parameters<typeof loadTf>[0], batch: number): Promise<void> {
  try {
    const { tf, backend: chosen } = await loadTf(backend, (line) => post({ type: 'log', line }));
    ensemble = await Ensemble.load(tf, modelDirectory);
    maxBatch = batch;
    inputs = allocateInputs(ensemble.manifest, maxBatch);
    probabilities = new Float32Array(maxBatch * ensemble.manifest.classes.length);
    const m = ensemble.manifest;
    post({
      type: 'ready',
      backend: chosen,
      model: { name: m.name, classes: m.classes, minSpikes: m.minSpikes, maxSpikes: m.maxSpikes, abstainBelowRatio: m.abstainBelowRatio, members: ensemble.memberCount, inputs: m.inputs.map((i) => i.name) },
    });
    if (queue.length) schedule();
  } catch (error) {
    fail(null, error);
  }
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'init':
      void init(message.modelDirectory, message.backend, message.maxBatch);
      break;
    case 'classify':
      queue.push({ message, arrivedNs: nowNs() });
      if (ensemble) schedule();
      break;
    case 'memory': {
      const tf = ensemble?.tf;
      const memory = tf ? tf.memory() : { numTensors: 0, numBytes: 0 };
      post({ type: 'memory', requestId: message.requestId, numTensors: memory.numTensors, numBytes: memory.numBytes });
      break;
    }
    case 'close':
      closing = true;
      ensemble?.dispose();
      ensemble = null;
      port.close();
      break;
  }
});
