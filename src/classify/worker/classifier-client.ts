/**
 * The main thread's handle on the classifier worker. `classify()` posts a request and returns at
 * once (the feature arrays are transferred, so the caller must not reuse them); results arrive on
 * the `onResult` callback from the event loop. Nothing here blocks: the stimulation path never
 * waits for inference.
 */
import { Worker } from 'node:worker_threads';
import { OptoloopError, type ErrorCode } from '../../core/errors.js';
import type { BackendPreference } from '../model/tf-backend.js';
import type { FromWorker, ModelInfo, ResultMessage, ToWorker } from './protocol.js';

export interface ClassifierClientOptions {
  readonly modelDirectory: string;
  readonly backend?: BackendPreference;
  readonly maxBatch?: number;
  readonly log?: (line: string) => void;
  readonly onResult?: (result: ResultMessage) => void;
  /** A request the worker could not serve (a unit whose features failed). */
  readonly onRequestError?: (requestId: number, error: OptoloopError) => void;
}

function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./classifier-worker.js', import.meta.url));
  // From source (tests, through tsx): register tsx in the worker before importing the TypeScript file.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./classifier-worker.ts', import.meta.url).href;
  return new Worker(`import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`, { eval: true });
}

export class ClassifierClient {
  private nextRequestId = 1;
  private pending = 0;
  private closed = false;
  private readonly memoryWaiters = new Map<number, (m: { numTensors: number; numBytes: number }) => void>();
  onResult: ((result: ResultMessage) => void) | null;
  onRequestError: ((requestId: number, error: OptoloopError) => void) | null;

  private constructor(
    private readonly worker: Worker,
    readonly backend: string,
    readonly model: ModelInfo,
    private readonly options: ClassifierClientOptions,
  ) {
    this.onResult = options.onResult ?? null;
    this.onRequestError = options.onRequestError ?? null;
  }

  /** Starts the worker, loads the model; rejects with the worker's error (E_MODEL_INVALID, E_BACKEND_UNAVAILABLE). */
  static start(options: ClassifierClientOptions): Promise<ClassifierClient> {
    const worker = startWorker();
    const log = options.log ?? (() => {});
    return new Promise<ClassifierClient>((resolve, reject) => {
      let client: ClassifierClient | null = null;
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'log') log(m.line);
        else if (m.type === 'ready') {
          client = new ClassifierClient(worker, m.backend, m.model, options);
          resolve(client);
        } else if (m.type === 'error' && m.requestId === null) {
          const error = new OptoloopError(m.code as ErrorCode, m.message, { stage: 'classify.worker' });
          if (!client) {
            reject(error);
            void worker.terminate();
          } else log(`classifier worker: ${error.toString()}`);
        } else client?.onMessage(m);
      });
      worker.on('error', (error) => {
        if (!client) reject(new OptoloopError('E_INTERNAL', `classifier worker failed to start: ${error.message}`, { stage: 'classify.worker', cause: error }));
        else log(`classifier worker crashed: ${error.message}`);
      });
      worker.on('exit', (code) => {
        if (!client) reject(new OptoloopError('E_INTERNAL', `classifier worker exited (code ${code}) before loading the model`, { stage: 'classify.worker' }));
        else if (!client.closed) log(`classifier worker exited unexpectedly (code ${code})`);
      });
      const init: ToWorker = { type: 'init', modelDirectory: options.modelDirectory, backend: options.backend ?? 'auto', maxBatch: options.maxBatch ?? 16 };
      worker.postMessage(init);
    });
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'result') {
      this.pending--;
      this.onResult?.(m);
    } else if (m.type === 'error' && m.requestId !== null) {
      this.pending--;
      this.onRequestError?.(m.requestId, new OptoloopError(m.code as ErrorCode, m.message, { stage: 'classify.worker' }));
    } else if (m.type === 'memory') {
      this.memoryWaiters.get(m.requestId)?.({ numTensors: m.numTensors, numBytes: m.numBytes });
      this.memoryWaiters.delete(m.requestId);
    }
  }

  /** Requests posted and not yet answered. */
  get inFlight(): number {
    return this.pending;
  }

  /**
   * Posts one unit's features; returns the request id. `waveformUv` and `spikeTimesS` are
   * transferred: they are unusable by the caller afterwards.
   */
  classify(unitId: number, waveformUv: Float32Array, waveformSampleRateHz: number, spikeTimesS: Float64Array, layer: string | null): number {
    if (this.closed) throw new OptoloopError('E_SOURCE_STATE', 'classifier: classify() after close()', { stage: 'classify.worker' });
    const requestId = this.nextRequestId++;
    const message: ToWorker = { type: 'classify', requestId, unitId, waveformUv, waveformSampleRateHz, spikeTimesS, layer };
    const transfer: ArrayBuffer[] = [waveformUv.buffer as ArrayBuffer];
    if (spikeTimesS.buffer !== waveformUv.buffer) transfer.push(spikeTimesS.buffer as ArrayBuffer);
    this.worker.postMessage(message, transfer);
    this.pending++;
    return requestId;
  }

  /** TensorFlow.js memory in the worker (tensors alive, bytes). */
  memory(): Promise<{ numTensors: number; numBytes: number }> {
    const requestId = this.nextRequestId++;
    return new Promise((resolve) => {
      this.memoryWaiters.set(requestId, resolve);
      this.worker.postMessage({ type: 'memory', requestId } satisfies ToWorker);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'close' } satisfies ToWorker);
    const timer = setTimeout(() => void this.worker.terminate(), 2000);
    await exited;
    clearTimeout(timer);
  }
}
