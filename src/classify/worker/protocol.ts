/**
 * Messages between the main thread and the classifier worker. Feature arrays travel as transferred
 * ArrayBuffers (moved, not copied, not serialised): a request is a few small fields plus a Float32
 * waveform and a Float64 spike-time array.
 */
import type { BackendPreference } from '../model/tf-backend.js';

export interface InitMessage {
  readonly type: 'init';
  readonly modelDirectory: string;
  readonly backend: BackendPreference;
  /** Requests predicted together at most (features are still computed per unit). */
  readonly maxBatch: number;
}

export interface ClassifyMessage {
  readonly type: 'classify';
  readonly requestId: number;
  readonly unitId: number;
  readonly waveformUv: Float32Array;
  readonly waveformSampleRateHz: number;
  /** Spike times (s), ascending; transferred. */
  readonly spikeTimesS: Float64Array;
  readonly layer: string | null;
}

export interface MemoryMessage {
  readonly type: 'memory';
  readonly requestId: number;
}

export interface CloseMessage {
  readonly type: 'close';
}

export type ToWorker = InitMessage | ClassifyMessage | MemoryMessage | CloseMessage;

export interface ModelInfo {
  readonly name: string;
  readonly classes: readonly string[];
  readonly minSpikes: number;
  readonly maxSpikes: number;
  readonly abstainBelowRatio: number;
  readonly members: number;
  readonly inputs: readonly string[];
}

export interface ReadyMessage {
  readonly type: 'ready';
  readonly backend: string;
  readonly model: ModelInfo;
}

export interface ResultMessage {
  readonly type: 'result';
  readonly requestId: number;
  readonly unitId: number;
  /** One per class, in the manifest's order; transferred. */
  readonly probabilities: Float32Array;
  /** In the worker: from the request's arrival to the result being posted, µs. */
  readonly latencyUs: number;
  /** Of which feature computation (C4 waveform + 3D-ACG), µs. */
  readonly featureUs: number;
  /** Requests predicted in the same batch. */
  readonly batch: number;
}

export interface MemoryReplyMessage {
  readonly type: 'memory';
  readonly requestId: number;
  readonly numTensors: number;
  readonly numBytes: number;
}

export interface ErrorMessage {
  readonly type: 'error';
  /** The request that failed, or null for a failure of the worker itself (init). */
  readonly requestId: number | null;
  readonly code: string;
  readonly message: string;
}

export interface LogMessage {
  readonly type: 'log';
  readonly line: string;
}

export type FromWorker = ReadyMessage | ResultMessage | MemoryReplyMessage | ErrorMessage | LogMessage;
