/**
 * The acknowledgement plumbing every StimulusSink driver shares (Pulse Pal, Thorlabs, the firmware
 * bridge): request ids, the `acks$` stream, an ack built from an outcome (failed acks carry the
 * error's code and message), and the failure of a `trigger()` published only after the caller has
 * its request id. How a device confirms, and so when an ack is due, stays with each driver.
 */
import { Observable, Subject } from 'rxjs';
import type { MonotonicClock } from '../../src/core/clock.js';
import { OptoloopError, isOptoloopError } from '../../src/core/errors.js';
import type { StimulusAck, StimulusAckKind, StimulusCause } from '../../src/core/stimulus-sink.js';

export class SinkAcks {
  readonly acks$: Observable<StimulusAck>;
  private readonly subject = new Subject<StimulusAck>();
  private nextId = 1;

  /**
   * @param clock stamps failures with the time they were decided.
   * @param asError turns whatever a failed write or request threw into the sink's OptoloopError.
   */
  constructor(
    private readonly clock: MonotonicClock,
    private readonly asError: (error: unknown) => OptoloopError,
  ) {
    this.acks$ = this.subject.asObservable();
  }

  /** The id of a new request: 1, 2, 3 … over the sink's life. */
  nextRequestId(): number {
    return this.nextId++;
  }

  /** An acknowledgement: ok when `error` is null. */
  ack(
    requestId: number,
    kind: StimulusAckKind,
    outputMask: number,
    hostWriteTimeNs: number,
    hostAckTimeNs: number,
    cause: StimulusCause | null,
    error: OptoloopError | null,
    deviceTimeUs: number | null = null,
  ): StimulusAck {
    return {
      requestId,
      kind,
      outputMask,
      ok: error === null,
      deviceTimeUs,
      hostWriteTimeNs,
      hostAckTimeNs,
      cause,
      error: error ? { code: error.code, message: error.message } : null,
    };
  }

  /** A failed acknowledgement stamped now (written and acknowledged at the moment of failure). */
  failure(requestId: number, kind: StimulusAckKind, outputMask: number, cause: StimulusCause | null, error: unknown): StimulusAck {
    const nowNs = this.clock.nowNs();
    return this.ack(requestId, kind, outputMask, nowNs, nowNs, cause, this.asError(error));
  }

  /** Sends `ack` on `acks$` and returns it. */
  publish(ack: StimulusAck): StimulusAck {
    this.subject.next(ack);
    return ack;
  }

  /**
   * Publishes a failure after the current call returns: `trigger()` is synchronous, and its caller
   * must learn the request id before the outcome.
   */
  failLater(requestId: number, kind: StimulusAckKind, outputMask: number, cause: StimulusCause | null, error: unknown): void {
    queueMicrotask(() => this.publish(this.failure(requestId, kind, outputMask, cause, error)));
  }

  complete(): void {
    this.subject.complete();
  }
}

/** `E_SINK_STATE`: the sink cannot do `action` in its current state. */
export function sinkStateError(name: string, stage: string, action: string, state: string): OptoloopError {
  return new OptoloopError('E_SINK_STATE', `${name}: cannot ${action} while the sink is ${state}`, { stage });
}

/** Whatever a write to the device threw, as an OptoloopError (a bare error means the link broke). */
export function asDeviceError(name: string, stage: string, error: unknown): OptoloopError {
  if (isOptoloopError(error)) return error;
  return new OptoloopError('E_DEVICE_DISCONNECTED', `${name}: ${error instanceof Error ? error.message : String(error)}`, { stage, cause: error });
}

/** Throws E_OPTIONS_INVALID unless `outputMask` names one or more of `outputCount` outputs and nothing else. */
export function checkOutputMask(name: string, stage: string, outputMask: number, outputCount: number): void {
  if (!Number.isInteger(outputMask) || outputMask < 1 || outputMask >= 1 << outputCount) {
    throw new OptoloopError('E_OPTIONS_INVALID', `${name}: outputMask must have bits among the ${outputCount} outputs, got ${outputMask}`, { stage });
  }
}
