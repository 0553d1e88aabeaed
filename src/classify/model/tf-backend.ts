/**
 * Loads TensorFlow.js and picks its backend, once per thread:
 *  - `@tensorflow/tfjs-node-gpu` when it is installed (dynamic import: it is never a dependency,
 *    a rig with a GPU installs it beside optoloop);
 *  - else the WebAssembly backend, its .wasm files read from this install's node_modules (works
 *    offline, no download);
 *  - else the pure-JavaScript cpu backend.
 * `preference` forces one of them; the choice is reported through `log`.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { OptoloopError } from '../../core/errors.js';

export type BackendPreference = 'auto' | 'node-gpu' | 'wasm' | 'cpu';
export type TfModule = typeof import('@tensorflow/tfjs');

export interface LoadedTf {
  readonly tf: TfModule;
  /** tensorflow (node-gpu), wasm or cpu. */
  readonly backend: string;
}

let loaded: Promise<LoadedTf> | null = null;
let loadedPreference: BackendPreference | null = null;

/** The directory holding the wasm backend's .wasm files, with a trailing slash. */
export function wasmDistDirectory(): string {
  const require = createRequire(import.meta.url);
  return `${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`;
}

async function tryNodeGpu(log: (line: string) => void): Promise<LoadedTf | null> {
  const specifier = '@tensorflow/tfjs-node-gpu';
  try {
    const tf = (await import(specifier)) as TfModule;
    await tf.ready();
    return { tf, backend: tf.getBackend() };
  } catch (cause) {
    log(`classifier: ${specifier} not usable (${(cause as Error).message.split('\n')[0]})`);
    return null;
  }
}

async function tryWasm(tf: TfModule, log: (line: string) => void): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(wasmDistDirectory());
    if (!(await tf.setBackend('wasm'))) throw new Error('setBackend returned false');
    await tf.ready();
    return true;
  } catch (cause) {
    log(`classifier: the wasm backend failed (${(cause as Error).message.split('\n')[0]})`);
    return false;
  }
}

async function load(preference: BackendPreference, log: (line: string) => void): Promise<LoadedTf> {
  if (preference === 'auto' || preference === 'node-gpu') {
    const gpu = await tryNodeGpu(preference === 'node-gpu' ? log : () => {});
    if (gpu) return gpu;
    if (preference === 'node-gpu') {
      throw new OptoloopError('E_BACKEND_UNAVAILABLE', 'classifier backend node-gpu: @tensorflow/tfjs-node-gpu is not installed or cannot start; install it beside optoloop or choose auto, wasm or cpu', {
        stage: 'classify.backend',
      });
    }
  }
  const tf = await import('@tensorflow/tfjs');
  if (preference !== 'cpu' && (await tryWasm(tf, log))) return { tf, backend: 'wasm' };
  if (preference === 'wasm') {
    throw new OptoloopError('E_BACKEND_UNAVAILABLE', 'classifier backend wasm: the WebAssembly backend could not start (see the log); choose auto or cpu', { stage: 'classify.backend' });
  }
  if (!(await tf.setBackend('cpu'))) throw new OptoloopError('E_BACKEND_UNAVAILABLE', 'classifier: no TensorFlow.js backend could start (node-gpu, wasm, cpu all failed)', { stage: 'classify.backend' });
  await tf.ready();
  return { tf, backend: 'cpu' };
}

/** TensorFlow.js with a backend chosen; later calls in the same thread return the same one. */
export function loadTf(preference: BackendPreference = 'auto', log: (line: string) => void = () => {}): Promise<LoadedTf> {
  if (loaded && loadedPreference !== preference && preference !== 'auto') {
    return loaded.then((l) => {
      if (l.backend !== preference && !(preference === 'node-gpu' && l.backend === 'tensorflow')) {
        throw new OptoloopError('E_BACKEND_UNAVAILABLE', `classifier: TensorFlow.js already runs on ${l.backend} in this thread; cannot switch to ${preference}`, { stage: 'classify.backend' });
      }
      return l;
    });
  }
  if (!loaded) {
    loadedPreference = preference;
    loaded = load(preference, log).then((l) => {
      log(`classifier: TensorFlow.js backend ${l.backend}${l.backend === 'wasm' ? ` (wasm files from ${wasmDistDirectory()})` : ''}`);
      return l;
    });
    loaded.catch(() => {
      loaded = null;
      loadedPreference = null;
    });
  }
  return loaded;
}
