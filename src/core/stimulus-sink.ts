import type { Observable } from 'rxjs';

/**
 * One output's pulse train, in physical units. A sink translates it to its device's units
 * (Pulse Pal: 50 µs cycles and DAC codes; the firmware bridge: µs; Thorlabs: mA).
 */
export interface PulseTrainSpec {
  /** Width of each pulse. */
  readonly pulseWidthMs: number;
  /** Onset-to-onset interval between pulses of the train (ignored when pulseCount is 1). */
  readonly pulseIntervalMs: number;
  /** Pulses per trigger, ≥ 1. */
  readonly pulseCount: number;
  /** Delay from the trigger to the first pulse's onset. */
  readonly delayMs: number;
  /** Light level as a fraction 0…1 of the output's configured full scale (LED current or voltage). */
  readonly level: number;
}

/** Why a stimulus was asked for: carried to the acknowledgement, the log and the bus. */
export interface StimulusCause {
  /** Rule id, `optotag`, `manual`, `bus:<client>`. */
  readonly reason: string;
  /** Stream and sample index of the sample that caused it, for latency accounting; null if none. */
  readonly streamId: string | null;
  readonly sampleIndex: number | null;
  /** Host time (core/clock ns) at which the block holding that sample arrived from the source. */
  readonly sourceReceiveTimeNs: number | null;
}

export type StimulusAckKind = 'program' | 'trigger' | 'abort';

export interface StimulusAck {
  /** The id the request was given when it was issued. */
  readonly requestId: number;
  readonly kind: StimulusAckKind;
  /** Bit n set = output n (0-based) concerned. */
  readonly outputMask: number;
  readonly ok: boolean;
  /** Device clock at which the device executed or accepted the request, in µs; null if the device has no clock. */
  readonly deviceTimeUs: number | null;
  /** Host time (ns) at which the write to the device returned. */
  readonly hostWriteTimeNs: number;
  /** Host time (ns) at which the acknowledgement was received (equal to the write time for devices that never answer). */
  readonly hostAckTimeNs: number;
  readonly cause: StimulusCause | null;
  /** Set when ok is false: the error code and message. */
  readonly error: { readonly code: string; readonly message: string } | null;
}

export interface SinkInfo {
  readonly description: string;
  /** Independent outputs (LEDs / channels), addressed 0 … outputCount − 1. */
  readonly outputCount: number;
  readonly firmwareVersion: string | null;
}

export type SinkState = 'closed' | 'opened' | 'failed';

/**
 * A stimulator: Pulse Pal, an LED driver, our firmware bridge, or the simulator's light.
 *
 * `program()` stores a pulse train on an output. `trigger()` fires the programmed trains of the
 * outputs in `outputMask` and returns a request id at once: it issues the write synchronously and
 * never awaits anything, so that the stimulation path does not wait for the device; the outcome
 * arrives on `acks$`. `abort()` stops every output now. Safety limits are not the sink's job alone:
 * every sink is driven through the safety governor (closed loop), and devices that can also
 * enforce limits themselves (our firmware) do.
 */
export interface StimulusSink {
  readonly kind: string;
  readonly state: SinkState;
  readonly info: SinkInfo | null;
  readonly acks$: Observable<StimulusAck>;
  open(): Promise<SinkInfo>;
  program(output: number, train: PulseTrainSpec): Promise<StimulusAck>;
  trigger(outputMask: number, cause: StimulusCause): number;
  abort(): Promise<StimulusAck>;
  close(): Promise<void>;
}
