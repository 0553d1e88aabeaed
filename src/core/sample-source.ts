import type { Observable } from 'rxjs';
import type { SampleBlock } from './sample-block.js';

/** What a source tells about its stream once opened. Fixed for the life of the stream. */
export interface StreamInfo {
  readonly streamId: string;
  readonly sampleRateHz: number;
  /** Neural channels delivered in each block (auxiliary/sync words are not counted here). */
  readonly channelCount: number;
  /** One name per channel, in block order. */
  readonly channelNames: readonly string[];
  readonly format: SampleBlock['format'];
  /** µV per count per channel for int16 streams; null for float32 streams. */
  readonly uvPerCount: Float32Array | null;
  /** Human-readable device or file description, for logs and the dashboard. */
  readonly description: string;
  /** Total frames when known in advance (file replay); null for live devices. */
  readonly totalFrames: number | null;
}

/** Live counters of a source. They only ever grow; readers take differences. */
export interface SourceCounters {
  /** Blocks emitted on `blocks$`. */
  blocksDelivered: number;
  /** Frames emitted on `blocks$`. */
  framesDelivered: number;
  /** Blocks known lost upstream: a gap in the device's counter, a missed FETCH window. */
  blocksDropped: number;
  /** Frames known lost upstream (a gap may be smaller or larger than a block). */
  framesDropped: number;
  /** Blocks discarded because a bounded buffer between the device and `blocks$` was full. */
  blocksOverflowed: number;
}

export type SourceState = 'closed' | 'opened' | 'running' | 'stopped' | 'failed';

/**
 * A stream of sample blocks from a device, a file or the simulator.
 *
 * Life cycle: `open()` → `start()` → (`stop()` → `start()`)* → `close()`. Calls out of order
 * reject with `E_SOURCE_STATE`. Blocks are emitted on `blocks$` between start and stop; the
 * Observable is hot and shared, and completes on close (or when a file ends), and errors with an
 * `OptoloopError` when the device fails for good. Emitted blocks are borrowed (see
 * `sample-block.ts`). Gaps are never silent: they are counted in `counters` and the next block's
 * `firstSampleIndex` jumps by the number of frames lost.
 */
export interface SampleSource {
  readonly kind: string;
  readonly state: SourceState;
  readonly info: StreamInfo | null;
  readonly counters: Readonly<SourceCounters>;
  readonly blocks$: Observable<SampleBlock>;
  open(): Promise<StreamInfo>;
  start(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

export function createSourceCounters(): SourceCounters {
  return { blocksDelivered: 0, framesDelivered: 0, blocksDropped: 0, framesDropped: 0, blocksOverflowed: 0 };
}
