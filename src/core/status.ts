/**
 * The daemon's health, published on the bus about once a second and shown on the dashboard:
 * buffer occupancy rises before latency collapses, so it is a first-class signal.
 */

/** A latency histogram with fixed log-spaced bucket edges, so that histograms add and compare. */
export interface LatencyHistogramSnapshot {
  /** What is measured, e.g. `software` (block arrival → sink write returned). */
  readonly name: string;
  /** Upper bucket edges in µs; the last bucket counts everything above the last edge. */
  readonly bucketUpperUs: readonly number[];
  readonly counts: readonly number[];
  readonly count: number;
  readonly p50Us: number | null;
  readonly p99Us: number | null;
  readonly p999Us: number | null;
  readonly maxUs: number | null;
}

export interface DeviceStatus {
  readonly name: string;
  readonly kind: string;
  readonly state: 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'failed';
  readonly bytes: number;
  readonly blocks: number;
  readonly resyncs: number;
  readonly drops: number;
  readonly lastError: string | null;
}

export interface DaemonStatus {
  readonly rig: string;
  readonly uptimeS: number;
  /** Stream time of the newest block, s. */
  readonly streamTimeS: number;
  /** Fill of the bounded buffer between source and pipeline, 0…1. */
  readonly sourceBufferOccupancy: number;
  readonly blocksDropped: number;
  readonly blocksOverflowed: number;
  /** Fill of the recorder's queue, 0…1 (null when not recording). */
  readonly recorderQueueOccupancy: number | null;
  /** Frames the recorder dropped because its queue was full (Recorder.counters.framesOverflowed); absent when not recording. */
  readonly recorderFramesDropped?: number | null;
  readonly latency: readonly LatencyHistogramSnapshot[];
  readonly devices: readonly DeviceStatus[];
  readonly estopEngaged: boolean;
  /** With early identification (pipeline.snippets.earlySamplesAfter): its ids against the full assignment's, since start; absent or null without. */
  readonly earlyIds?: EarlyIdCounts | null;
}

/**
 * How early identification's unit ids (what the closed-loop rules acted on) compared with the full
 * snippet's assignment of the same spikes (src/classify/units/early-id-tally.ts).
 */
export interface EarlyIdCounts {
  /** Spikes compared (both ids known). */
  readonly spikes: number;
  /** Both ids the same unit. */
  readonly agreed: number;
  /** Early −1, full a unit: the rules missed the spike. */
  readonly missed: number;
  /** Both units, different ones: a rule acted on the wrong unit. */
  readonly differed: number;
  /** Early a unit, full −1 (overlaps, spikes taken by a provisional template). */
  readonly extra: number;
  /** Both −1. */
  readonly neither: number;
}
