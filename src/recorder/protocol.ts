/** Messages between the Recorder (acquisition thread) and its writer worker. */

export interface OpenMessage {
  readonly type: 'open';
  readonly directory: string;
  readonly streamName: string;
  readonly sampleRateHz: number;
  readonly channelCount: number;
  readonly uvPerCount: Float32Array;
  readonly channelNames: readonly string[];
  /** Waveform rows per spike (channels × samples), [1, 1] for peak amplitude only. */
  readonly waveformChannels: number;
  readonly waveformSamples: number;
  readonly waveformSamplesBefore: number;
  readonly fsync: boolean;
}

/** A chunk of int16 frames made of consecutive pieces of blocks (`segments`). Its buffers are transferred both ways. */
export interface SamplesMessage {
  readonly type: 'samples';
  readonly chunkId: number;
  readonly samples: Int16Array;
  readonly segmentCount: number;
  readonly segmentFirstSample: Float64Array;
  readonly segmentFrames: Int32Array;
}

export interface EventsMessage {
  readonly type: 'events';
  readonly spikeSample: Float64Array;
  readonly spikeChannel: Int32Array;
  readonly spikeUnit: Int32Array;
  /** int16 counts at the stream's scale, spikes × channels × samples. */
  readonly spikeWaveforms: Int16Array;
  readonly ttlSample: Float64Array;
  /** +line rising, −line falling (lines 1-based). */
  readonly ttlState: Int16Array;
  readonly ttlWord: Float64Array;
  readonly labels: readonly { readonly sampleIndex: number; readonly text: string }[];
}

export type ToWorker = OpenMessage | SamplesMessage | EventsMessage | { readonly type: 'flush' } | { readonly type: 'close' };

export type FromWorker =
  | { readonly type: 'opened'; readonly recordingDir: string }
  | { readonly type: 'returned'; readonly chunkId: number; readonly samples: Int16Array; readonly segmentFirstSample: Float64Array; readonly segmentFrames: Int32Array }
  | { readonly type: 'flushed'; readonly framesOnDisk: number; readonly nextSampleIndex: number; readonly spikesOnDisk: number; readonly ttlOnDisk: number }
  | { readonly type: 'error'; readonly code: string; readonly message: string }
  | { readonly type: 'closed' };
