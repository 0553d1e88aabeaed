/**
 * The simulator's light: a `StimulusSink` whose pulses reach the simulated tissue, so the daemon's
 * commands change what the simulator emits next — the loop closed in software.
 *
 * Timing: `trigger()` returns at once (it only queues); at the start of the next block the
 * generator produces, each queued trigger becomes pulses with onset = that block's first sample +
 * the programmed delay (+ k × interval for the k-th pulse of a train). The acknowledgement is
 * emitted then, with `deviceTimeUs` = the first pulse's onset on the stream clock (µs since the
 * stream's first sample), so latency can be measured on the acquisition clock.
 */
import { Subject, type Observable } from 'rxjs';
import type { MonotonicClock } from '../src/core/clock.js';
import { systemClock } from '../src/core/clock.js';
import { OptoloopError } from '../src/core/errors.js';
import type { PulseTrainSpec, SinkInfo, SinkState, StimulusAck, StimulusCause, StimulusSink } from '../src/core/stimulus-sink.js';
import type { LightTriggerSource, SimGenerator } from './generator.js';

interface QueuedTrigger {
  requestId: number;
  outputMask: number;
  cause: StimulusCause;
  hostWriteTimeNs: number;
}

const STAGE = 'sim.light';
const QUEUE_CAPACITY = 256;

export class SimLightSink implements StimulusSink, LightTriggerSource {
  readonly kind = 'sim-light';
  private currentState: SinkState = 'closed';
  private currentInfo: SinkInfo | null = null;
  private readonly acks = new Subject<StimulusAck>();
  readonly acks$: Observable<StimulusAck> = this.acks.asObservable();
  private readonly trains: (PulseTrainSpec | null)[];
  private readonly queue: QueuedTrigger[] = [];
  private nextRequestId = 1;

  constructor(
    private readonly generator: SimGenerator,
    private readonly outputCount = 2,
    private readonly clock: MonotonicClock = systemClock,
  ) {
    this.trains = new Array<PulseTrainSpec | null>(outputCount).fill(null);
  }

  get state(): SinkState {
    return this.currentState;
  }

  get info(): SinkInfo | null {
    return this.currentInfo;
  }

  async open(): Promise<SinkInfo> {
    if (this.currentState === 'opened') throw new OptoloopError('E_SINK_STATE', 'sim light sink: already open', { stage: STAGE });
    this.generator.addTriggerSource(this);
    this.currentState = 'opened';
    this.currentInfo = { description: `simulated light (${this.outputCount} outputs, one illumination site)`, outputCount: this.outputCount, firmwareVersion: null };
    return this.currentInfo;
  }

  async program(output: number, train: PulseTrainSpec): Promise<StimulusAck> {
    this.requireOpen('program');
    if (!Number.isInteger(output) || output < 0 || output >= this.outputCount) {
      throw new OptoloopError('E_OPTIONS_INVALID', `sim light sink: output: expected an integer 0…${this.outputCount - 1}, got ${output}`, { stage: STAGE });
    }
    checkTrain(train);
    this.trains[output] = { ...train };
    const now = this.clock.nowNs();
    const ack: StimulusAck = { requestId: this.nextRequestId++, kind: 'program', outputMask: 1 << output, ok: true, deviceTimeUs: null, hostWriteTimeNs: now, hostAckTimeNs: now, cause: null, error: null };
    this.acks.next(ack);
    return ack;
  }

  trigger(outputMask: number, cause: StimulusCause): number {
    const requestId = this.nextRequestId++;
    const now = this.clock.nowNs();
    let problem: string | null = null;
    if (this.currentState !== 'opened') problem = `sink is ${this.currentState}`;
    else if (this.queue.length >= QUEUE_CAPACITY) problem = `more than ${QUEUE_CAPACITY} triggers waiting for the next block`;
    else if (outputMask <= 0 || outputMask >= 1 << this.outputCount) problem = `output mask 0b${outputMask.toString(2)} names no output of 0…${this.outputCount - 1}`;
    else {
      for (let o = 0; o < this.outputCount; o++) if (outputMask & (1 << o) && !this.trains[o]) problem = `output ${o} has no programmed train`;
    }
    if (problem) {
      this.acks.next({ requestId, kind: 'trigger', outputMask, ok: false, deviceTimeUs: null, hostWriteTimeNs: now, hostAckTimeNs: now, cause, error: { code: 'E_SINK_STATE', message: `sim light sink: trigger refused: ${problem}` } });
      return requestId;
    }
    this.queue.push({ requestId, outputMask, cause, hostWriteTimeNs: now });
    return requestId;
  }

  /** Called by the generator at the start of each block. */
  drainTriggers(blockStartSample: number, generator: SimGenerator): void {
    if (this.queue.length === 0) return;
    const perMs = generator.sampleRateHz / 1000;
    for (const t of this.queue) {
      let firstOnset = Infinity;
      for (let o = 0; o < this.outputCount; o++) {
        if (!(t.outputMask & (1 << o))) continue;
        const train = this.trains[o]!;
        const width = Math.max(1, Math.round(train.pulseWidthMs * perMs));
        for (let k = 0; k < train.pulseCount; k++) {
          const onset = blockStartSample + Math.round((train.delayMs + k * train.pulseIntervalMs) * perMs);
          const placed = generator.addPulse({ onsetSample: onset, offsetSample: onset + width, level: train.level, output: o, requestId: t.requestId, reason: t.cause.reason });
          firstOnset = Math.min(firstOnset, placed.onsetSample);
        }
      }
      const now = this.clock.nowNs();
      this.acks.next({ requestId: t.requestId, kind: 'trigger', outputMask: t.outputMask, ok: true, deviceTimeUs: (firstOnset / generator.sampleRateHz) * 1e6, hostWriteTimeNs: t.hostWriteTimeNs, hostAckTimeNs: now, cause: t.cause, error: null });
    }
    this.queue.length = 0;
  }

  async abort(): Promise<StimulusAck> {
    const requestId = this.nextRequestId++;
    this.queue.length = 0;
    this.generator.abortLight();
    const now = this.clock.nowNs();
    const ack: StimulusAck = { requestId, kind: 'abort', outputMask: (1 << this.outputCount) - 1, ok: true, deviceTimeUs: (this.generator.position / this.generator.sampleRateHz) * 1e6, hostWriteTimeNs: now, hostAckTimeNs: now, cause: null, error: null };
    this.acks.next(ack);
    return ack;
  }

  async close(): Promise<void> {
    this.generator.removeTriggerSource(this);
    this.queue.length = 0;
    this.currentState = 'closed';
    this.acks.complete();
  }

  private requireOpen(what: string): void {
    if (this.currentState !== 'opened') throw new OptoloopError('E_SINK_STATE', `sim light sink: ${what}: expected an open sink, it is ${this.currentState}`, { stage: STAGE });
  }
}

function checkTrain(train: PulseTrainSpec): void {
  const bad = (field: string, expected: string, got: unknown) =>
    new OptoloopError('E_OPTIONS_INVALID', `sim light sink: train.${field}: expected ${expected}, got ${String(got)}`, { stage: STAGE, details: { field } });
  if (!(train.pulseWidthMs > 0) || !Number.isFinite(train.pulseWidthMs)) throw bad('pulseWidthMs', 'a positive number', train.pulseWidthMs);
  if (!Number.isInteger(train.pulseCount) || train.pulseCount < 1) throw bad('pulseCount', 'an integer ≥ 1', train.pulseCount);
  if (train.pulseCount > 1 && !(train.pulseIntervalMs >= train.pulseWidthMs)) throw bad('pulseIntervalMs', `a number ≥ pulseWidthMs (${train.pulseWidthMs})`, train.pulseIntervalMs);
  if (!(train.delayMs >= 0) || !Number.isFinite(train.delayMs)) throw bad('delayMs', 'a number ≥ 0', train.delayMs);
  if (!(train.level >= 0 && train.level <= 1)) throw bad('level', 'a number in 0…1', train.level);
}
