/**
 * The safety governor: a StimulusSink that wraps any sink and lets through only what stays within
 * the hard limits of each output — pulse width, light level, delay, duty cycle over the configured
 * sliding window and over the absolute 60 s window, pulses per minute — and nothing at all while the
 * emergency stop is engaged. Every path that can cause light (rules, bus commands, config, the
 * optotag session, manual commands) goes through one governor per sink; nothing else holds the sink.
 *
 * Accounting is conservative: a train is booked in full when it is triggered (on the host clock,
 * from the trigger time plus its delay), a pulse cut by an abort still counts whole, and a trigger
 * while the previous train of that output still runs is refused ("busy"), because devices differ in
 * what a re-trigger does and the governor must know what light results.
 *
 * The trigger path is synchronous and allocation-free: the programmed trains and the light history
 * live in typed arrays allocated when the sink opens. Refused triggers return −1; their reason is in
 * {@link SafetyGovernor.lastRefusal}, they are counted per limit, and they are logged at most once
 * per output and limit per `refusalLogIntervalMs` (the rest are counted into the next line, see
 * {@link SafetyGovernor.flushRefusalLog}).
 */
import type { Observable } from 'rxjs';
import type { MonotonicClock } from '../core/clock.js';
import { OptoloopError } from '../core/errors.js';
import type { PulseTrainSpec, SinkInfo, SinkState, StimulusAck, StimulusCause, StimulusSink } from '../core/stimulus-sink.js';
import { ABSOLUTE_LIMITS, limitsForOutput, safetyConfigSchema, type SafetyConfig } from './safety-options.js';
import { TrainHistory, maxOnTimeInWindowNs, maxPulsesInWindow } from './train-history.js';
import * as s from '../config/schema.js';

/** Which limit refused a command. */
export const STIM_LIMITS = [
  'estop',
  'output',
  'train-shape',
  'pulse-width',
  'level',
  'delay',
  'duty-cycle',
  'absolute-duty-cycle',
  'pulses-per-minute',
  'busy',
  'not-programmed',
  'history-full',
  'sink',
] as const;
export type StimLimit = (typeof STIM_LIMITS)[number];

export interface StimRefusal {
  readonly code: 'E_STIM_LIMIT' | 'E_STIM_ESTOP' | 'E_SINK_STATE';
  readonly limit: StimLimit;
  /** Sink name and output (−1 when not about one output). */
  readonly sink: string;
  readonly output: number;
  /** Cause reason or origin: rule id, `optotag`, `manual`, `bus:<client>`, `config`. */
  readonly origin: string;
  readonly message: string;
  /** Refusals of the same output and limit folded into this line since the previous one. */
  readonly suppressed: number;
  readonly hostTimeNs: number;
}

export interface SafetyGovernorOptions {
  /** The sink's name in the rig config (for per-output limits `<sink>:<output>` and logs). */
  readonly sinkName: string;
  readonly config: SafetyConfig;
  readonly clock: MonotonicClock;
  /** Receives every refusal line and estop event. */
  readonly log?: (refusal: StimRefusal) => void;
}

/** The reason for the last refusal, rewritten in place (read it right after trigger() returned −1). */
export interface LastRefusal {
  code: StimRefusal['code'];
  limit: StimLimit;
  output: number;
  /** The offending value and the limit it exceeded, in the limit's units (ms, fraction, pulses). */
  value: number;
  limitValue: number;
}

const LIMIT_INDEX = new Map<StimLimit, number>(STIM_LIMITS.map((l, i) => [l, i]));
const MINUTE_NS = 60e9;
/** Index of the trigger time in the governor's scratch array. */
const NOW = 6;
const MS = 1e6;

export class SafetyGovernor implements StimulusSink {
  readonly kind: string;
  private config: SafetyConfig;
  private outputCount = 0;
  private estop = false;
  private estopOrigin = '';
  // Per output, allocated when the sink opens.
  private histories: TrainHistory[] = [];
  private busyUntilNs = new Float64Array(0);
  private programmed = new Uint8Array(0);
  private programming = new Uint8Array(0);
  private trainWidthNs = new Float64Array(0);
  private trainIntervalNs = new Float64Array(0);
  private trainCount = new Float64Array(0);
  private trainDelayNs = new Float64Array(0);
  private trainLevel = new Float64Array(0);
  private limitWidthNs = new Float64Array(0);
  private limitLevel = new Float64Array(0);
  private limitDelayNs = new Float64Array(0);
  private limitDuty = new Float64Array(0);
  private limitDutyWindowNs = new Float64Array(0);
  private limitPerMinute = new Float64Array(0);
  // Refusal log rate limiting, per output (+1 for "no output") × limit.
  private lastLogNs = new Float64Array(0);
  private suppressed = new Float64Array(0);
  /** Refusals per limit since the governor was made (index = STIM_LIMITS order). */
  readonly refusalCounts = new Float64Array(STIM_LIMITS.length);
  readonly lastRefusal: LastRefusal = { code: 'E_STIM_LIMIT', limit: 'output', output: -1, value: 0, limitValue: 0 };
  /** Scratch for the trigger path: TrainHistory.query's inputs/outputs (0…5) and the time (NOW). */
  private readonly scratch = new Float64Array(7);
  private readonly trainScratch = new Float64Array(4);
  private lastOrigin = '';

  constructor(
    private readonly inner: StimulusSink,
    private readonly options: SafetyGovernorOptions,
  ) {
    this.kind = `governed:${inner.kind}`;
    this.config = SafetyGovernor.checkConfig(options.config);
    if (inner.info) this.allocate(inner.info.outputCount);
  }

  /** Validates a config against the schema: limits above the absolute maxima never get in, even from code. */
  static checkConfig(config: unknown): SafetyConfig {
    const r = s.validate(safetyConfigSchema, config);
    if (!r.ok) {
      throw new OptoloopError('E_CONFIG_INVALID', `safety: ${r.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, {
        stage: 'closedloop.safety',
        details: { issues: r.issues },
      });
    }
    return r.value;
  }

  get state(): SinkState {
    return this.inner.state;
  }
  get info(): SinkInfo | null {
    return this.inner.info;
  }
  get acks$(): Observable<StimulusAck> {
    return this.inner.acks$;
  }
  get estopEngaged(): boolean {
    return this.estop;
  }

  async open(): Promise<SinkInfo> {
    const info = await this.inner.open();
    if (info.outputCount !== this.outputCount) this.allocate(info.outputCount);
    return info;
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private allocate(outputCount: number): void {
    if (!Number.isInteger(outputCount) || outputCount < 1 || outputCount > 32) {
      throw new OptoloopError('E_SINK_STATE', `${this.options.sinkName}: a sink with ${outputCount} outputs; expected 1 … 32 (outputs are addressed by a 32-bit mask)`, {
        stage: 'closedloop.safety',
      });
    }
    this.outputCount = outputCount;
    // Every train holds ≥ 1 pulse and at most maxPulsesPerMinute start in any minute, so this many
    // trains cover the longest window (60 s) plus the one that began before it.
    this.histories = Array.from({ length: outputCount }, () => new TrainHistory(ABSOLUTE_LIMITS.maxPulsesPerMinute + 2));
    this.busyUntilNs = new Float64Array(outputCount).fill(-Infinity);
    this.programmed = new Uint8Array(outputCount);
    this.programming = new Uint8Array(outputCount);
    this.trainWidthNs = new Float64Array(outputCount);
    this.trainIntervalNs = new Float64Array(outputCount);
    this.trainCount = new Float64Array(outputCount);
    this.trainDelayNs = new Float64Array(outputCount);
    this.trainLevel = new Float64Array(outputCount);
    this.limitWidthNs = new Float64Array(outputCount);
    this.limitLevel = new Float64Array(outputCount);
    this.limitDelayNs = new Float64Array(outputCount);
    this.limitDuty = new Float64Array(outputCount);
    this.limitDutyWindowNs = new Float64Array(outputCount);
    this.limitPerMinute = new Float64Array(outputCount);
    this.lastLogNs = new Float64Array((outputCount + 1) * STIM_LIMITS.length).fill(-Infinity);
    this.suppressed = new Float64Array((outputCount + 1) * STIM_LIMITS.length);
    this.applyLimits();
  }

  private applyLimits(): void {
    for (let o = 0; o < this.outputCount; o++) {
      const l = limitsForOutput(this.config, this.options.sinkName, o);
      // Configured limits were validated ≤ the absolute maxima; min() keeps that true even if a
      // future schema change forgot one.
      this.limitWidthNs[o] = Math.min(l.maxPulseWidthMs, ABSOLUTE_LIMITS.maxPulseWidthMs) * MS;
      this.limitLevel[o] = Math.min(l.maxLevel, ABSOLUTE_LIMITS.maxLevel);
      this.limitDelayNs[o] = Math.min(l.maxDelayMs, ABSOLUTE_LIMITS.maxDelayMs) * MS;
      this.limitDuty[o] = Math.min(l.maxDutyCycle, ABSOLUTE_LIMITS.maxDutyCycle);
      this.limitDutyWindowNs[o] = Math.min(l.dutyWindowS, ABSOLUTE_LIMITS.dutyWindowS) * 1e9;
      this.limitPerMinute[o] = Math.min(l.maxPulsesPerMinute, ABSOLUTE_LIMITS.maxPulsesPerMinute);
    }
  }

  /** Replaces the limits (validated; never above the absolute maxima). Programmed trains are re-checked at each trigger. */
  setConfig(config: unknown): void {
    this.config = SafetyGovernor.checkConfig(config);
    if (this.outputCount) this.applyLimits();
  }

  /** The limits in force on an output, for the dashboard. */
  limitsOf(output: number) {
    return limitsForOutput(this.config, this.options.sinkName, output);
  }

  // ── refusals ──────────────────────────────────────────────────────────────────────────────

  private refuse(code: StimRefusal['code'], limit: StimLimit, output: number, value: number, limitValue: number, origin: string, always = false): void {
    const r = this.lastRefusal;
    r.code = code;
    r.limit = limit;
    r.output = output;
    r.value = value;
    r.limitValue = limitValue;
    this.lastOrigin = origin;
    const li = LIMIT_INDEX.get(limit)!;
    this.refusalCounts[li]++;
    const slot = (output >= 0 && output < this.outputCount ? output : this.outputCount) * STIM_LIMITS.length + li;
    // Program refusals are rare and each one is a configuration mistake: always logged.
    if (always || this.lastLogNs.length === 0) {
      this.emit(0);
      return;
    }
    const now = this.options.clock.nowNs();
    if (now - this.lastLogNs[slot] >= this.config.refusalLogIntervalMs * MS) {
      const folded = this.suppressed[slot];
      this.suppressed[slot] = 0;
      this.lastLogNs[slot] = now;
      this.emit(folded);
    } else {
      this.suppressed[slot]++;
    }
  }

  /** Builds and sends the log line for lastRefusal (allocates: at most once per output, limit and interval). */
  private emit(suppressed: number): void {
    const r = this.lastRefusal;
    this.options.log?.({
      code: r.code,
      limit: r.limit,
      sink: this.options.sinkName,
      output: r.output,
      origin: this.lastOrigin,
      message: describeRefusal(this.options.sinkName, r, this.lastOrigin, this.estopOrigin),
      suppressed,
      hostTimeNs: this.options.clock.nowNs(),
    });
  }

  /** Logs the refusals folded since their last line (the daemon calls this about once a second). */
  flushRefusalLog(): void {
    for (let slot = 0; slot < this.suppressed.length; slot++) {
      const n = this.suppressed[slot];
      if (n === 0) continue;
      this.suppressed[slot] = 0;
      this.lastLogNs[slot] = this.options.clock.nowNs();
      const limit = STIM_LIMITS[slot % STIM_LIMITS.length];
      const output = Math.floor(slot / STIM_LIMITS.length);
      this.options.log?.({
        code: limit === 'estop' ? 'E_STIM_ESTOP' : 'E_STIM_LIMIT',
        limit,
        sink: this.options.sinkName,
        output: output < this.outputCount ? output : -1,
        origin: '',
        message: `${this.options.sinkName}${output < this.outputCount ? ` output ${output}` : ''}: ${n} more command(s) refused by the ${limit} limit`,
        suppressed: n,
        hostTimeNs: this.options.clock.nowNs(),
      });
    }
  }

  /** The last refusal as a message (what lastRefusal says, in words). */
  describeLastRefusal(): string {
    return describeRefusal(this.options.sinkName, this.lastRefusal, this.lastOrigin, this.estopOrigin);
  }

  private refusalError(): OptoloopError {
    const r = this.lastRefusal;
    return new OptoloopError(r.code, describeRefusal(this.options.sinkName, r, this.lastOrigin, this.estopOrigin), {
      stage: 'closedloop.safety',
      details: { sink: this.options.sinkName, output: r.output, limit: r.limit, value: r.value, limitValue: r.limitValue },
    });
  }

  // ── program ───────────────────────────────────────────────────────────────────────────────

  /**
   * Checks a train against the output's limits and, if it passes, programs it on the device.
   * Rejects with E_STIM_LIMIT / E_STIM_ESTOP naming the limit. Triggers on the output are refused
   * while programming is under way (the device may hold either train during that time).
   */
  async program(output: number, train: PulseTrainSpec, origin = 'config'): Promise<StimulusAck> {
    if (!this.checkProgram(output, train, origin)) throw this.refusalError();
    this.programming[output] = 1;
    this.programmed[output] = 0;
    try {
      const ack = await this.inner.program(output, train);
      if (ack.ok) {
        this.trainWidthNs[output] = train.pulseWidthMs * MS;
        this.trainIntervalNs[output] = train.pulseCount > 1 ? train.pulseIntervalMs * MS : train.pulseWidthMs * MS;
        this.trainCount[output] = train.pulseCount;
        this.trainDelayNs[output] = train.delayMs * MS;
        this.trainLevel[output] = train.level;
        // An estop engaged while the device was being programmed wins: the output stays unprogrammed.
        if (!this.estop) this.programmed[output] = 1;
      }
      return ack;
    } finally {
      this.programming[output] = 0;
    }
  }

  /**
   * Whether program(output, train) would be accepted now, without programming anything (for a
   * synchronous command handler). A refusal is logged and described in lastRefusal, as usual.
   */
  checkTrain(output: number, train: PulseTrainSpec, origin: string): boolean {
    return this.checkProgram(output, train, origin);
  }

  private checkProgram(output: number, t: PulseTrainSpec, origin: string): boolean {
    if (this.estop) return this.failProgram('E_STIM_ESTOP', 'estop', output, 0, 0, origin);
    if (!Number.isInteger(output) || output < 0 || output >= this.outputCount) {
      return this.failProgram(this.outputCount ? 'E_STIM_LIMIT' : 'E_SINK_STATE', 'output', -1, output, this.outputCount - 1, origin);
    }
    const fields = [t?.pulseWidthMs, t?.pulseIntervalMs, t?.pulseCount, t?.delayMs, t?.level];
    if (!fields.every((v) => typeof v === 'number' && Number.isFinite(v)) || !Number.isInteger(t.pulseCount) || t.pulseCount < 1) {
      return this.failProgram('E_STIM_LIMIT', 'train-shape', output, t?.pulseCount ?? NaN, 1, origin);
    }
    if (!(t.pulseWidthMs > 0) || t.pulseWidthMs * MS > this.limitWidthNs[output]) {
      return this.failProgram('E_STIM_LIMIT', 'pulse-width', output, t.pulseWidthMs, this.limitWidthNs[output] / MS, origin);
    }
    if (t.pulseCount > 1 && !(t.pulseIntervalMs >= t.pulseWidthMs)) {
      // Overlapping pulses: what the device does is not defined, so nothing can be accounted.
      return this.failProgram('E_STIM_LIMIT', 'train-shape', output, t.pulseIntervalMs, t.pulseWidthMs, origin);
    }
    if (!(t.level >= 0) || t.level > this.limitLevel[output]) return this.failProgram('E_STIM_LIMIT', 'level', output, t.level, this.limitLevel[output], origin);
    if (!(t.delayMs >= 0) || t.delayMs * MS > this.limitDelayNs[output]) {
      return this.failProgram('E_STIM_LIMIT', 'delay', output, t.delayMs, this.limitDelayNs[output] / MS, origin);
    }
    // The train on its own must fit the windows; history is added at trigger time.
    const w = t.pulseWidthMs * MS;
    const p = t.pulseCount > 1 ? t.pulseIntervalMs * MS : w;
    const perMinute = maxPulsesInWindow(p, t.pulseCount, MINUTE_NS);
    if (perMinute > this.limitPerMinute[output]) return this.failProgram('E_STIM_LIMIT', 'pulses-per-minute', output, perMinute, this.limitPerMinute[output], origin);
    const windowNs = this.limitDutyWindowNs[output];
    const on = maxOnTimeInWindowNs(w, p, t.pulseCount, windowNs);
    if (on > this.limitDuty[output] * windowNs) return this.failProgram('E_STIM_LIMIT', 'duty-cycle', output, on / windowNs, this.limitDuty[output], origin);
    const absWindowNs = ABSOLUTE_LIMITS.dutyWindowS * 1e9;
    const absOn = maxOnTimeInWindowNs(w, p, t.pulseCount, absWindowNs);
    if (absOn > ABSOLUTE_LIMITS.maxDutyCycle * absWindowNs) {
      return this.failProgram('E_STIM_LIMIT', 'absolute-duty-cycle', output, absOn / absWindowNs, ABSOLUTE_LIMITS.maxDutyCycle, origin);
    }
    return true;
  }

  private fail(code: StimRefusal['code'], limit: StimLimit, output: number, value: number, limitValue: number, origin: string): false {
    this.refuse(code, limit, output, value, limitValue, origin);
    return false;
  }

  private failProgram(code: StimRefusal['code'], limit: StimLimit, output: number, value: number, limitValue: number, origin: string): false {
    this.refuse(code, limit, output, value, limitValue, origin, true);
    return false;
  }

  // ── trigger (hot path: no allocation, no await) ───────────────────────────────────────────

  /**
   * Fires the programmed trains of the outputs in `outputMask` if every one of them stays within its
   * limits (all or nothing: a device fires its mask at once). Returns the inner sink's request id,
   * or −1 when refused (see lastRefusal).
   */
  trigger(outputMask: number, cause: StimulusCause): number {
    const origin = cause === null || cause === undefined ? 'unknown' : cause.reason;
    if (this.estop) {
      this.refuse('E_STIM_ESTOP', 'estop', -1, 0, 0, origin);
      return -1;
    }
    const mask = outputMask >>> 0;
    if (mask === 0 || mask !== outputMask || (this.outputCount < 32 && mask >>> this.outputCount !== 0)) {
      this.refuse(this.outputCount ? 'E_STIM_LIMIT' : 'E_SINK_STATE', 'output', -1, outputMask, this.outputCount - 1, origin);
      return -1;
    }
    // Times travel through typed arrays, not call arguments: V8 boxes doubles passed to calls it
    // does not inline, which would allocate on every trigger.
    const scratch = this.scratch;
    scratch[NOW] = this.options.clock.nowNs();
    for (let o = 0; o < this.outputCount; o++) {
      if (((mask >>> o) & 1) === 0) continue;
      if (!this.checkTrigger(o, origin)) return -1;
    }
    for (let o = 0; o < this.outputCount; o++) {
      if (((mask >>> o) & 1) === 0) continue;
      const start = scratch[NOW] + this.trainDelayNs[o];
      const train = this.trainScratch;
      train[0] = start;
      train[1] = this.trainWidthNs[o];
      train[2] = this.trainIntervalNs[o];
      train[3] = this.trainCount[o];
      this.histories[o].appendTrain(train);
      this.busyUntilNs[o] = start + (this.trainCount[o] - 1) * this.trainIntervalNs[o] + this.trainWidthNs[o];
    }
    try {
      return this.inner.trigger(mask, cause);
    } catch {
      // The light is booked anyway (conservative); the device's failure is for its driver to report.
      this.refuse('E_SINK_STATE', 'sink', -1, 0, 0, origin);
      return -1;
    }
  }

  private checkTrigger(o: number, origin: string): boolean {
    const q = this.scratch;
    const now = q[NOW];
    if (this.programming[o] || !this.programmed[o]) return this.fail('E_STIM_LIMIT', 'not-programmed', o, 0, 0, origin);
    const w = this.trainWidthNs[o];
    const p = this.trainIntervalNs[o];
    const n = this.trainCount[o];
    // Limits may have been lowered since the train was programmed.
    if (w > this.limitWidthNs[o]) return this.fail('E_STIM_LIMIT', 'pulse-width', o, w / MS, this.limitWidthNs[o] / MS, origin);
    if (this.trainLevel[o] > this.limitLevel[o]) return this.fail('E_STIM_LIMIT', 'level', o, this.trainLevel[o], this.limitLevel[o], origin);
    if (this.trainDelayNs[o] > this.limitDelayNs[o]) return this.fail('E_STIM_LIMIT', 'delay', o, this.trainDelayNs[o] / MS, this.limitDelayNs[o] / MS, origin);
    if (this.busyUntilNs[o] > now) return this.fail('E_STIM_LIMIT', 'busy', o, (this.busyUntilNs[o] - now) / MS, 0, origin);
    const start = now + this.trainDelayNs[o];
    const history = this.histories[o];
    // The most light in any window overlapping the new train: windows ending before its first pulse
    // ends hold no more than the one ending then (history can only drop out as fast as the pulse
    // adds), and later windows hold no more history than from (start + width − window).
    const windowNs = this.limitDutyWindowNs[o];
    const absWindowNs = ABSOLUTE_LIMITS.dutyWindowS * 1e9;
    q[0] = start - MINUTE_NS;
    q[1] = start + w - windowNs;
    q[2] = start + w - absWindowNs;
    if (history.wouldDropLightAfter(q, 0)) return this.fail('E_STIM_LIMIT', 'history-full', o, history.capacity, history.capacity, origin);
    history.query(q);
    const pulses = q[3] + maxPulsesInWindow(p, n, MINUTE_NS);
    if (pulses > this.limitPerMinute[o]) return this.fail('E_STIM_LIMIT', 'pulses-per-minute', o, pulses, this.limitPerMinute[o], origin);
    const on = q[4] + maxOnTimeInWindowNs(w, p, n, windowNs);
    if (on > this.limitDuty[o] * windowNs) return this.fail('E_STIM_LIMIT', 'duty-cycle', o, on / windowNs, this.limitDuty[o], origin);
    const absOn = q[5] + maxOnTimeInWindowNs(w, p, n, absWindowNs);
    if (absOn > ABSOLUTE_LIMITS.maxDutyCycle * absWindowNs) {
      return this.fail('E_STIM_LIMIT', 'absolute-duty-cycle', o, absOn / absWindowNs, ABSOLUTE_LIMITS.maxDutyCycle, origin);
    }
    return true;
  }

  // ── abort and emergency stop ──────────────────────────────────────────────────────────────

  /** Stops every output now. The pulses already started stay booked in the history. */
  abort(): Promise<StimulusAck> {
    this.truncateAll();
    return this.inner.abort();
  }

  private truncateAll(): void {
    const now = this.options.clock.nowNs();
    for (let o = 0; o < this.outputCount; o++) {
      const end = this.histories[o].truncateAt(now);
      // Until the pulse in progress would have ended: conservative, and keeps trains in time order.
      this.busyUntilNs[o] = Math.max(now, end);
    }
  }

  /**
   * Emergency stop: aborts every output at once (the abort is written before this returns), forgets
   * every programmed train, and refuses every command until {@link releaseEstop}. Synchronous, so
   * that nothing queued behind it in the same block gets through.
   */
  engageEstop(origin: string): void {
    this.estop = true;
    this.estopOrigin = origin;
    this.programmed.fill(0);
    this.truncateAll();
    this.options.log?.({
      code: 'E_STIM_ESTOP',
      limit: 'estop',
      sink: this.options.sinkName,
      output: -1,
      origin,
      message: `${this.options.sinkName}: emergency stop engaged by ${origin}; every output aborted, every command refused until released`,
      suppressed: 0,
      hostTimeNs: this.options.clock.nowNs(),
    });
    let pending: Promise<StimulusAck>;
    try {
      pending = this.inner.abort();
    } catch (cause) {
      pending = Promise.reject(cause);
    }
    pending.then(
      (ack) => {
        if (!ack.ok) this.logAbortFailure(origin, ack.error?.message ?? 'the device refused the abort');
      },
      (cause: unknown) => this.logAbortFailure(origin, (cause as Error)?.message ?? String(cause)),
    );
  }

  private logAbortFailure(origin: string, why: string): void {
    this.options.log?.({
      code: 'E_STIM_ESTOP',
      limit: 'sink',
      sink: this.options.sinkName,
      output: -1,
      origin,
      message: `${this.options.sinkName}: the emergency stop's abort failed (${why}); the stop stays engaged — check the device`,
      suppressed: 0,
      hostTimeNs: this.options.clock.nowNs(),
    });
  }

  /** Releases the emergency stop; outputs must be programmed again before any trigger. */
  releaseEstop(origin: string): void {
    if (!this.estop) return;
    this.estop = false;
    this.options.log?.({
      code: 'E_STIM_ESTOP',
      limit: 'estop',
      sink: this.options.sinkName,
      output: -1,
      origin,
      message: `${this.options.sinkName}: emergency stop released by ${origin} (engaged by ${this.estopOrigin}); outputs must be programmed again`,
      suppressed: 0,
      hostTimeNs: this.options.clock.nowNs(),
    });
  }

  /** For tests and the dashboard: light-on time and pulses booked on an output since `sinceNs`. */
  bookedSince(output: number, sinceNs: number): { onTimeMs: number; pulses: number } {
    const h = this.histories[output];
    return { onTimeMs: h.onTimeSinceNs(sinceNs) / MS, pulses: h.pulsesSince(sinceNs) };
  }
}

function describeRefusal(sink: string, r: LastRefusal, origin: string, estopOrigin: string): string {
  const where = r.output >= 0 ? `${sink} output ${r.output}` : sink;
  const from = origin ? ` (from ${origin})` : '';
  switch (r.limit) {
    case 'estop':
      return `${where}: refused${from}: the emergency stop is engaged${estopOrigin ? ` (by ${estopOrigin})` : ''}`;
    case 'output':
      return `${where}: refused${from}: output or mask ${r.value} does not exist (outputs 0 … ${r.limitValue})`;
    case 'train-shape':
      return `${where}: refused${from}: the train is malformed (pulse count must be a whole number ≥ 1, pulses must not overlap, every field finite)`;
    case 'pulse-width':
      return `${where}: refused${from}: pulse width ${r.value} ms exceeds the limit of ${r.limitValue} ms`;
    case 'level':
      return `${where}: refused${from}: level ${r.value} exceeds the limit of ${r.limitValue}`;
    case 'delay':
      return `${where}: refused${from}: delay ${r.value} ms exceeds the limit of ${r.limitValue} ms`;
    case 'duty-cycle':
      return `${where}: refused${from}: duty cycle would reach ${r.value.toFixed(3)}, above the limit of ${r.limitValue}`;
    case 'absolute-duty-cycle':
      return `${where}: refused${from}: duty cycle over 60 s would reach ${r.value.toFixed(3)}, above the absolute limit of ${r.limitValue}`;
    case 'pulses-per-minute':
      return `${where}: refused${from}: ${r.value} pulses in a minute would exceed the limit of ${r.limitValue}`;
    case 'busy':
      return `${where}: refused${from}: the previous train still runs for ${r.value.toFixed(3)} ms`;
    case 'not-programmed':
      return `${where}: refused${from}: no train is programmed (or programming is under way)`;
    case 'history-full':
      return `${where}: refused${from}: the light history is full (${r.value} trains in the last minute)`;
    case 'sink':
      return `${where}: refused${from}: the sink failed the command`;
  }
}
