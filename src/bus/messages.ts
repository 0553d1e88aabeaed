/**
 * What the bus carries, as TypeScript values: the daemon publishes these, the typed client
 * delivers them. Where a core contract exists (UnitSummary, StimulusAck, DaemonStatus) it is used
 * as is; these are the few additions the bus needs.
 */
import type { DaemonStatus } from '../core/status.js';
import type { StimulusAck } from '../core/stimulus-sink.js';
import type { UnitSummary } from '../core/units.js';
import type { BusPermission } from './config.js';
import type { DataTopicName } from './wire.js';

/** One decoded bin of a BCI decoder's output. */
export interface BciOutput {
  readonly streamId: string;
  /** Index one past the last sample of the bin these values decode. */
  readonly binEndSample: number;
  readonly values: ArrayLike<number>;
  /** One name per value (may be empty on the wire when unchanged; the client fills them in). */
  readonly names: readonly string[];
}

/** A stimulus acknowledgement together with the sink (config name) it came from. */
export interface StimulusEvent extends StimulusAck {
  readonly sink: string;
}

/** Spikes as received by a client: owned typed arrays of length `count`. */
export interface ReceivedSpikeBatch {
  readonly streamId: string;
  readonly sampleRateHz: number;
  readonly count: number;
  readonly peakSampleIndex: Float64Array;
  readonly peakChannel: Int32Array;
  readonly amplitudeUv: Float32Array;
  readonly unitId: Int32Array;
  /** Spikes of this interval the server could not hold and did not send. */
  readonly spikesOmitted: number;
}

export interface UnitUpdate {
  readonly units: readonly UnitSummary[];
  readonly removedUnitIds: readonly number[];
  /** True when `units` lists every unit. */
  readonly complete: boolean;
}

export interface BusStats {
  readonly clients: number;
  readonly messagesDropped: number;
  readonly messagesSent: number;
}

export interface BusStatus extends DaemonStatus {
  readonly bus: BusStats | null;
}

export interface BusLimits {
  readonly maxMessageBytes: number;
  readonly messagesPerS: number;
  readonly burst: number;
  readonly maxBufferedBytes: number;
}

export interface Welcome {
  readonly clientId: number;
  readonly serverVersion: string;
  readonly rig: string;
  readonly tokenName: string;
  readonly permissions: readonly BusPermission[];
  readonly topics: readonly DataTopicName[];
  readonly limits: BusLimits;
  readonly protocolVersion: number;
}

export interface DroppedNotice {
  readonly total: Partial<Record<DataTopicName, number>>;
  readonly sinceLastNotice: Partial<Record<DataTopicName, number>>;
}

export interface BusErrorFrame {
  readonly code: string;
  readonly message: string;
  /** The command request it answers, 0 when none. */
  readonly requestId: number;
  /** The server closes the connection after it. */
  readonly closing: boolean;
}
