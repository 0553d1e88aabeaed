import { Subject } from 'rxjs';
import type { MonotonicClock } from '../../src/core/clock.js';
import type { PulseTrainSpec, SinkInfo, SinkState, StimulusAck, StimulusCause, StimulusSink } from '../../src/core/stimulus-sink.js';

/** One pulse of light as the fake device emitted it. */
export interface EmittedPulse {
  readonly output: number;
  readonly startNs: number;
  endNs: number;
  readonly level: number;
  readonly requestId: number;
}

/**
 * A stimulator that records the light it would emit, on an injected clock: the ground truth the
 * safety tests check against, independent of the governor's own bookkeeping. `abort()` cuts every
 * pulse at the current time and drops the pulses not yet started.
 */
export class FakeLightSink implements StimulusSink {
  readonly kind = 'fake-light';
  state: SinkState = 'closed';
  info: SinkInfo | null = null;
  readonly acks$ = new Subject<StimulusAck>();
  readonly trains: (PulseTrainSpec | null)[];
  readonly pulses: EmittedPulse[] = [];
  readonly triggers: { requestId: number; mask: number; cause: StimulusCause; timeNs: number }[] = [];
  aborts = 0;
  private nextId = 1;

  constructor(
    private readonly clock: MonotonicClock,
    readonly outputCount = 2,
  ) {
    this.trains = Array.from({ length: outputCount }, () => null);
  }

  private ack(kind: StimulusAck['kind'], mask: number, cause: StimulusCause | null, requestId = this.nextId++): StimulusAck {
    const t = this.clock.nowNs();
    const ack: StimulusAck = { requestId, kind, outputMask: mask, ok: true, deviceTimeUs: null, hostWriteTimeNs: t, hostAckTimeNs: t, cause, error: null };
    this.acks$.next(ack);
    return ack;
  }

  async open(): Promise<SinkInfo> {
    this.state = 'opened';
    this.info = { description: 'fake light sink', outputCount: this.outputCount, firmwareVersion: null };
    return this.info;
  }

  async program(output: number, train: PulseTrainSpec): Promise<StimulusAck> {
    this.trains[output] = { ...train };
    return this.ack('program', 1 << output, null);
  }

  trigger(outputMask: number, cause: StimulusCause): number {
    const id = this.nextId++;
    const now = this.clock.nowNs();
    this.triggers.push({ requestId: id, mask: outputMask, cause, timeNs: now });
    for (let o = 0; o < this.outputCount; o++) {
      if (((outputMask >>> o) & 1) === 0) continue;
      const t = this.trains[o];
      if (!t) continue;
      for (let k = 0; k < t.pulseCount; k++) {
        const start = now + (t.delayMs + k * t.pulseIntervalMs) * 1e6;
        this.pulses.push({ output: o, startNs: start, endNs: start + t.pulseWidthMs * 1e6, level: t.level, requestId: id });
      }
    }
    queueMicrotask(() => this.ack('trigger', outputMask, cause, id));
    return id;
  }

  async abort(): Promise<StimulusAck> {
    this.abortNow();
    return this.ack('abort', (1 << this.outputCount) - 1, null);
  }

  /** The device-side effect of an abort, at the moment it is written. */
  private abortNow(): void {
    this.aborts++;
    const now = this.clock.nowNs();
    for (let i = this.pulses.length - 1; i >= 0; i--) {
      const p = this.pulses[i];
      if (p.startNs >= now) this.pulses.splice(i, 1);
      else if (p.endNs > now) p.endNs = now;
    }
  }

  async close(): Promise<void> {
    this.state = 'closed';
  }

  /** Pulses of one output, sorted by start. */
  pulsesOf(output: number): EmittedPulse[] {
    return this.pulses.filter((p) => p.output === output).sort((a, b) => a.startNs - b.startNs);
  }

  /** Is any output lit at time t? */
  lightOnAt(t: number): boolean {
    return this.pulses.some((p) => p.startNs <= t && t < p.endNs);
  }
}

/**
 * Brute-force checks of emitted light against limits, independent of the governor: the largest
 * on-time over any window of `windowNs` (windows ending at every pulse end and starting at every
 * pulse start are the only candidates for a maximum) and the most onsets in any half-open window.
 */
export function maxOnTimeInAnyWindowNs(pulses: readonly EmittedPulse[], windowNs: number): number {
  let best = 0;
  const candidates: number[] = [];
  for (const p of pulses) {
    candidates.push(p.endNs - windowNs, p.startNs);
  }
  for (const a of candidates) {
    const b = a + windowNs;
    let on = 0;
    for (const p of pulses) on += Math.max(0, Math.min(b, p.endNs) - Math.max(a, p.startNs));
    if (on > best) best = on;
  }
  return best;
}

export function maxOnsetsInAnyWindow(pulses: readonly EmittedPulse[], windowNs: number): number {
  const starts = pulses.map((p) => p.startNs).sort((a, b) => a - b);
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < starts.length; hi++) {
    while (starts[lo] <= starts[hi] - windowNs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}
