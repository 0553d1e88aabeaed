/**
 * Thorlabs DC4100 / DC4104 / LEDD4 as a StimulusSink (protocols.md §9.1).
 *
 * NOT A PRECISE PULSER. The DC4100 has no pulse-train engine that serial commands can program:
 * this sink makes pulses by switching an output on (`o <ch> 1`) and off (`o <ch> 0`) over the
 * serial line, timed by the host through the injected scheduler. Every edge therefore carries the
 * host's timer jitter plus the serial and USB latency — typically around a millisecond, at worst
 * several — so pulses shorter than `minPulseWidthMs` (default 5 ms) are refused. For
 * sub-millisecond optotagging pulses drive the DC4100's external-control input (mode 2, "external")
 * from a Pulse Pal or the firmware bridge instead.
 *
 * - open: `n?` (must be a DC4100, DC4104 or LEDD4), `s?`, `v?`, multi-selection (`sm?`/`sm 0`), all
 *   outputs off, operating mode (`m 0` constant current / `m 1` brightness), current limits (`l`),
 *   and the status word (`r?`). Every command is followed by `e?`; a non-zero error code is
 *   E_DEVICE_REFUSED naming the command and the device's description.
 * - program: sets the output's current (`cc`, level × fullScaleMa) or brightness (`bp`, level ×
 *   100 %) and keeps the train for trigger.
 * - trigger: the on/off edges of every train in the mask, the first written inside `trigger()` when
 *   there is no delay; the ack follows once the first edge's `e?` confirmed it.
 * - status: `r?` is polled; VCC failure, over-temperature, a missing or open LED are reported as
 *   E_DEVICE_FAULT and refuse triggers of the outputs concerned; an output at its current limit is
 *   reported (the light is dimmer than asked) but not refused.
 */
import { Observable, Subject } from 'rxjs';
import { OptoloopError, isOptoloopError } from '../../src/core/errors.js';
import type { DeviceStatus } from '../../src/core/status.js';
import type { PulseTrainSpec, SinkInfo, SinkState, StimulusAck, StimulusAckKind, StimulusCause, StimulusSink } from '../../src/core/stimulus-sink.js';
import type { BindingPort } from '../binding/binding.js';
import { reconnectOptions } from '../binding/config.js';
import { DeviceConnection, createLinkCounters, type ConnectionEvent } from '../binding/device-connection.js';
import { SerialBinding } from '../binding/serial-binding.js';
import { systemTimers, type TimerHandle, type Timers } from '../binding/timers.js';
import type { ThorlabsSinkConfig } from './config.js';
import { LineParser } from './line-parser.js';
import { MODE_CODE, OUTPUT_COUNT, blocksOutput, decodeStatus, parseErrorReply, type StatusFault } from './protocol.js';

const STAGE = 'drivers/thorlabs';
const encoder = new TextEncoder();

export interface ThorlabsSinkOptions {
  readonly name: string;
  readonly config: ThorlabsSinkConfig;
  readonly openPort?: () => Promise<BindingPort>;
  /** Times pulses, replies, status polls and reconnection (ManualTimers in tests). */
  readonly timers?: Timers;
  readonly openAttempts?: number;
  readonly log?: { warn(message: string): void };
}

interface Reply {
  readonly value: string | null;
  readonly writeNs: number;
  readonly replyNs: number;
}

interface PendingCommand {
  readonly command: string;
  readonly expectsValue: boolean;
  value: string | null;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (error: OptoloopError) => void;
  timer: TimerHandle | null;
  writeNs: number;
  settled: boolean;
}

interface Edge {
  /** ms after the trigger. */
  readonly atMs: number;
  readonly on: number[];
  readonly off: number[];
}

interface Run {
  readonly requestId: number;
  readonly mask: number;
  readonly cause: StimulusCause;
  readonly edges: Edge[];
  readonly startNs: number;
  next: number;
  timer: TimerHandle | null;
}

export class ThorlabsSink implements StimulusSink {
  readonly kind = 'thorlabs';
  readonly name: string;
  readonly acks$: Observable<StimulusAck>;
  readonly connection: DeviceConnection;
  /** From `n?`, `s?`, `v?` at open. */
  deviceName: string | null = null;
  serialNumber: string | null = null;
  firmwareRevision: string | null = null;
  /** The last status word read, and the faults it reports. */
  statusWord: number | null = null;
  faults: StatusFault[] = [];

  private readonly acks = new Subject<StimulusAck>();
  private readonly config: ThorlabsSinkConfig;
  private readonly timers: Timers;
  private sinkState: SinkState = 'closed';
  private sinkInfo: SinkInfo | null = null;
  private readonly trains: Array<PulseTrainSpec | null> = [null, null, null, null];
  private readonly setpoints: Array<number | null> = [null, null, null, null];
  private pending: PendingCommand[] = [];
  private readonly runs = new Set<Run>();
  private nextRequestId = 1;
  private pollTimer: TimerHandle | null = null;
  private polling = false;

  constructor(options: ThorlabsSinkOptions) {
    this.name = options.name;
    this.config = options.config;
    this.timers = options.timers ?? systemTimers;
    this.acks$ = this.acks.asObservable();
    const counters = createLinkCounters();
    const config = options.config;
    const openPort = options.openPort ?? (() => new SerialBinding().open({ path: config.port, baudRate: config.baudRate }));
    this.connection = new DeviceConnection({
      name: options.name,
      kind: 'thorlabs',
      stage: STAGE,
      open: openPort,
      parser: new LineParser(counters, (line, timeNs) => this.onLine(line, timeNs)),
      counters,
      onOpen: (link, isReconnect) => this.initialise(link, isReconnect),
      timers: this.timers,
      openAttempts: options.openAttempts,
      reconnect: reconnectOptions(config.reconnect),
      silenceTimeoutMs: null, // it only answers; missing replies are timed per command
      log: options.log,
    });
  }

  get state(): SinkState {
    return this.sinkState;
  }

  get info(): SinkInfo | null {
    return this.sinkInfo;
  }

  get events$(): Observable<ConnectionEvent> {
    return this.connection.events$;
  }

  status(): DeviceStatus & { readonly reconnects: number } {
    return this.connection.status();
  }

  /** Commands written whose `e?` reply has not come back yet. */
  get pendingCommands(): number {
    return this.pending.length;
  }

  async open(): Promise<SinkInfo> {
    if (this.sinkState !== 'closed') throw this.stateError('open');
    try {
      await this.connection.open();
    } catch (error) {
      this.sinkState = 'failed';
      throw error;
    }
    this.sinkState = 'opened';
    this.sinkInfo = {
      description: `Thorlabs ${this.deviceName} (S/N ${this.serialNumber}) on ${this.config.port}, ${this.config.mode}, host-timed on/off pulses`,
      outputCount: OUTPUT_COUNT,
      firmwareVersion: this.firmwareRevision,
    };
    this.schedulePoll();
    return this.sinkInfo;
  }

  /** Sets the output's current or brightness for `train.level` and keeps the train for `trigger()`. */
  async program(output: number, train: PulseTrainSpec): Promise<StimulusAck> {
    if (this.sinkState !== 'opened') throw this.stateError('program');
    this.validate(output, train);
    const requestId = this.nextRequestId++;
    const mask = 1 << output;
    try {
      const setpoint = this.setpointFor(output, train.level);
      const reply = await this.send(this.setpointCommand(output, setpoint), false);
      this.setpoints[output] = setpoint;
      this.trains[output] = { ...train };
      return this.publish(this.ack(requestId, 'program', mask, reply.writeNs, reply.replyNs, null, null));
    } catch (error) {
      return this.publish(this.failure(requestId, 'program', mask, null, error));
    }
  }

  /**
   * Plays the programmed trains of the outputs in `outputMask` as host-timed on/off edges. The
   * first edge is written before this returns when the train has no delay.
   */
  trigger(outputMask: number, cause: StimulusCause): number {
    if (this.sinkState !== 'opened') throw this.stateError('trigger');
    if (!Number.isInteger(outputMask) || outputMask < 1 || outputMask >= 1 << OUTPUT_COUNT) {
      throw new OptoloopError('E_OPTIONS_INVALID', `${this.name}: outputMask must have bits among the ${OUTPUT_COUNT} outputs, got ${outputMask}`, { stage: STAGE });
    }
    const requestId = this.nextRequestId++;
    const refuse = (error: OptoloopError) => queueMicrotask(() => this.publish(this.failure(requestId, 'trigger', outputMask, cause, error)));
    const outputs: number[] = [];
    for (let o = 0; o < OUTPUT_COUNT; o++) if (outputMask & (1 << o)) outputs.push(o);
    for (const o of outputs) {
      if (!this.trains[o]) {
        refuse(new OptoloopError('E_SINK_STATE', `${this.name}: output ${o} has no pulse train programmed; nothing was triggered`, { stage: STAGE }));
        return requestId;
      }
      const faults = this.faults.filter((f) => blocksOutput(f, o));
      if (faults.length > 0) {
        refuse(
          new OptoloopError('E_DEVICE_FAULT', `${this.name}: output ${o} not triggered: ${faults.map((f) => f.message).join('; ')}`, {
            stage: STAGE,
            details: { output: o, faults: faults.map((f) => f.kind) },
          }),
        );
        return requestId;
      }
    }
    if (!this.connection.isConnected) {
      refuse(new OptoloopError('E_DEVICE_DISCONNECTED', `${this.name}: not triggered: the DC4100 is ${this.connection.state}`, { stage: STAGE }));
      return requestId;
    }
    const run: Run = { requestId, mask: outputMask, cause, edges: this.edgesFor(outputs), startNs: this.timers.clock.nowNs(), next: 0, timer: null };
    this.runs.add(run);
    if (run.edges[0].atMs === 0) this.fireEdge(run);
    else this.scheduleEdge(run);
    return requestId;
  }

  /** Cancels every pending edge and switches all outputs off (`o -1 0`). */
  async abort(): Promise<StimulusAck> {
    if (this.sinkState !== 'opened') throw this.stateError('abort');
    this.cancelRuns();
    const requestId = this.nextRequestId++;
    const all = (1 << OUTPUT_COUNT) - 1;
    try {
      const reply = await this.send('o -1 0', false);
      return this.publish(this.ack(requestId, 'abort', all, reply.writeNs, reply.replyNs, null, null));
    } catch (error) {
      return this.publish(this.failure(requestId, 'abort', all, null, error));
    }
  }

  async close(): Promise<void> {
    this.cancelRuns();
    if (this.pollTimer) this.timers.clearTimeout(this.pollTimer);
    this.pollTimer = null;
    if (this.connection.isConnected) await this.send('o -1 0', false).catch(() => undefined);
    this.sinkState = 'closed';
    await this.connection.close();
    this.failAll(new OptoloopError('E_DEVICE_DISCONNECTED', `${this.name}: closed`, { stage: STAGE }));
    this.acks.complete();
  }

  // ---------------------------------------------------------------------------------------------

  private async initialise(link: DeviceConnection, isReconnect: boolean): Promise<void> {
    link.onLoss((error) => this.failAll(error));
    this.cancelRuns();
    const name = (await this.send('n?', true)).value ?? '';
    if (!/DC4100|DC4104|LEDD4/.test(name)) {
      throw new OptoloopError('E_DEVICE_PROTOCOL', `${this.name}: the device on ${this.config.port} calls itself "${name}", not a DC4100, DC4104 or LEDD4`, {
        stage: STAGE,
        details: { reply: name },
      });
    }
    this.deviceName = name.trim();
    this.serialNumber = ((await this.send('s?', true)).value ?? '').trim();
    this.firmwareRevision = ((await this.send('v?', true)).value ?? '').trim();
    const selection = ((await this.send('sm?', true)).value ?? '').trim();
    if (!selection.startsWith('0')) await this.send('sm 0', false);
    await this.send('o -1 0', false); // nothing lit until a trigger asks for it
    await this.send(`m ${MODE_CODE[this.config.mode]}`, false);
    if (this.config.limitMa) for (let o = 0; o < OUTPUT_COUNT; o++) await this.send(`l ${o} ${this.config.limitMa[o]}`, false);
    for (let o = 0; o < OUTPUT_COUNT; o++) {
      const setpoint = this.setpoints[o];
      if (setpoint !== null) await this.send(this.setpointCommand(o, setpoint), false);
    }
    await this.pollStatus(link);
    if (isReconnect) link.warn(`${this.name}: reconnected to ${this.deviceName}; outputs off, setpoints restored`);
  }

  private setpointFor(output: number, level: number): number {
    return this.config.mode === 'brightness' ? Math.round(level * 100) : Math.round(level * this.config.fullScaleMa[output]);
  }

  private setpointCommand(output: number, setpoint: number): string {
    return this.config.mode === 'brightness' ? `bp ${output} ${setpoint}` : `cc ${output} ${setpoint}`;
  }

  private validate(output: number, train: PulseTrainSpec): void {
    const bad = (message: string) => new OptoloopError('E_OPTIONS_INVALID', `${this.name}: ${message}`, { stage: STAGE });
    if (!Number.isInteger(output) || output < 0 || output >= OUTPUT_COUNT) throw bad(`output must be an integer 0…${OUTPUT_COUNT - 1}, got ${output}`);
    const { pulseWidthMs, pulseIntervalMs, pulseCount, delayMs, level } = train;
    if (!(pulseWidthMs >= this.config.minPulseWidthMs)) {
      throw bad(
        `pulseWidthMs: expected at least ${this.config.minPulseWidthMs} ms (host-timed on/off over serial; use external control for shorter pulses), got ${pulseWidthMs}`,
      );
    }
    if (!Number.isInteger(pulseCount) || pulseCount < 1) throw bad(`pulseCount: expected an integer ≥ 1, got ${pulseCount}`);
    if (pulseCount > 1 && !(pulseIntervalMs - pulseWidthMs >= this.config.minPulseWidthMs)) {
      throw bad(`pulseIntervalMs: expected at least pulseWidthMs + ${this.config.minPulseWidthMs} ms of dark between pulses, got ${pulseIntervalMs}`);
    }
    if (!(delayMs >= 0)) throw bad(`delayMs: expected a number ≥ 0, got ${delayMs}`);
    if (!(level >= 0 && level <= 1)) throw bad(`level: expected a fraction 0…1, got ${level}`);
  }

  private edgesFor(outputs: number[]): Edge[] {
    const at = new Map<number, { on: number[]; off: number[] }>();
    const edge = (t: number) => {
      let e = at.get(t);
      if (!e) at.set(t, (e = { on: [], off: [] }));
      return e;
    };
    for (const o of outputs) {
      const train = this.trains[o] as PulseTrainSpec;
      for (let k = 0; k < train.pulseCount; k++) {
        const onMs = train.delayMs + k * train.pulseIntervalMs;
        edge(onMs).on.push(o);
        edge(onMs + train.pulseWidthMs).off.push(o);
      }
    }
    return [...at.entries()].sort((a, b) => a[0] - b[0]).map(([atMs, e]) => ({ atMs, ...e }));
  }

  private scheduleEdge(run: Run): void {
    const edge = run.edges[run.next];
    // Aim at the edge's time from the trigger, not from the previous edge: errors do not accumulate.
    const delayMs = (run.startNs - this.timers.clock.nowNs()) / 1e6 + edge.atMs;
    run.timer = this.timers.setTimeout(() => {
      run.timer = null;
      this.fireEdge(run);
    }, Math.max(0, delayMs));
  }

  private fireEdge(run: Run): void {
    const edge = run.edges[run.next++];
    const first = run.next === 1;
    const commands = [...edge.off.map((o) => `o ${o} 0`), ...edge.on.map((o) => `o ${o} 1`)];
    const sent = commands.map((command) => this.send(command, false));
    if (first) {
      Promise.all(sent).then(
        (replies) => this.publish(this.ack(run.requestId, 'trigger', run.mask, replies[0].writeNs, replies[replies.length - 1].replyNs, run.cause, null)),
        (error: unknown) => {
          this.publish(this.failure(run.requestId, 'trigger', run.mask, run.cause, error));
          this.lightsOut(run);
        },
      );
    } else {
      Promise.all(sent).catch((error: unknown) => {
        this.connection.reportError(this.asError(error));
        this.lightsOut(run);
      });
    }
    if (run.next < run.edges.length) this.scheduleEdge(run);
    else this.runs.delete(run);
  }

  /** A train whose edge failed: stop it and switch everything off (best effort). */
  private lightsOut(run: Run): void {
    if (run.timer) this.timers.clearTimeout(run.timer);
    run.timer = null;
    this.runs.delete(run);
    if (this.connection.isConnected) this.send('o -1 0', false).catch(() => undefined);
  }

  private cancelRuns(): void {
    for (const run of this.runs) if (run.timer) this.timers.clearTimeout(run.timer);
    this.runs.clear();
  }

  private schedulePoll(): void {
    if (this.pollTimer || this.sinkState !== 'opened') return;
    this.pollTimer = this.timers.setTimeout(() => {
      this.pollTimer = null;
      if (this.connection.isConnected && !this.polling) {
        this.polling = true;
        this.pollStatus(this.connection)
          .catch((error: unknown) => this.connection.reportError(this.asError(error)))
          .finally(() => {
            this.polling = false;
          });
      }
      this.schedulePoll();
    }, this.config.statusPollMs);
  }

  private async pollStatus(_link: DeviceConnection): Promise<void> {
    // The adapter this protocol is known from ends the status query with LF alone.
    const value = (await this.send('r?', true, '\n')).value ?? '';
    const word = Number.parseInt(value.trim(), 10);
    if (!Number.isFinite(word)) {
      throw new OptoloopError('E_DEVICE_PROTOCOL', `${this.name}: status query r? answered "${value}", expected an integer`, { stage: STAGE });
    }
    const before = new Set(this.faults.map((f) => f.message));
    this.statusWord = word;
    this.faults = decodeStatus(word);
    for (const fault of this.faults) {
      if (before.has(fault.message)) continue;
      this.connection.reportError(
        new OptoloopError('E_DEVICE_FAULT', `${this.name}: ${fault.message}`, { stage: STAGE, details: { output: fault.output, fault: fault.kind, statusWord: word } }),
      );
    }
  }

  /** Writes `command` and `e?`; resolves with the value line (for queries) once `e?` says 0. */
  private send(command: string, expectsValue: boolean, terminator = '\r\n'): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const pending: PendingCommand = { command, expectsValue, value: null, resolve, reject, timer: null, writeNs: 0, settled: false };
      this.pending.push(pending);
      pending.timer = this.timers.setTimeout(() => this.timedOut(pending), this.config.replyTimeoutMs);
      this.connection.write(encoder.encode(`${command}${terminator}e?\r\n`)).then(
        () => {
          pending.writeNs = this.timers.clock.nowNs();
        },
        (error: unknown) => this.settle(pending, this.asError(error)),
      );
    });
  }

  private onLine(line: string, timeNs: number): void {
    const head = this.pending[0];
    const errorReply = parseErrorReply(line);
    if (!head) {
      this.connection.counters.resyncs++; // nobody asked: noise
      return;
    }
    if (head.expectsValue && head.value === null && !errorReply) {
      head.value = line;
      return;
    }
    if (!errorReply) {
      this.connection.counters.resyncs++; // a stray line where an e? reply belongs
      return;
    }
    this.pending.shift();
    if (errorReply.code !== 0) {
      this.settle(
        head,
        new OptoloopError('E_DEVICE_REFUSED', `${this.name}: the DC4100 refused "${head.command}": error ${errorReply.code} (${errorReply.description})`, {
          stage: STAGE,
          details: { command: head.command, code: errorReply.code, description: errorReply.description },
        }),
      );
      return;
    }
    if (head.settled) return;
    head.settled = true;
    if (head.timer) this.timers.clearTimeout(head.timer);
    head.resolve({ value: head.value, writeNs: head.writeNs || timeNs, replyNs: timeNs });
  }

  private timedOut(pending: PendingCommand): void {
    pending.timer = null;
    const error = new OptoloopError(
      'E_DEVICE_TIMEOUT',
      `${this.name}: no reply to "${pending.command}" from ${this.config.port} within ${this.config.replyTimeoutMs} ms; reopening the link`,
      { stage: STAGE, details: { command: pending.command, timeoutMs: this.config.replyTimeoutMs } },
    );
    this.settle(pending, error);
    this.connection.drop(error);
  }

  private settle(pending: PendingCommand, error: OptoloopError): void {
    if (pending.settled) return;
    pending.settled = true;
    if (pending.timer) this.timers.clearTimeout(pending.timer);
    const index = this.pending.indexOf(pending);
    if (index >= 0) this.pending.splice(index, 1);
    pending.reject(error);
  }

  private failAll(error: OptoloopError): void {
    this.cancelRuns();
    for (const pending of [...this.pending]) this.settle(pending, error);
    this.pending = [];
  }

  private ack(
    requestId: number,
    kind: StimulusAckKind,
    outputMask: number,
    hostWriteTimeNs: number,
    hostAckTimeNs: number,
    cause: StimulusCause | null,
    error: OptoloopError | null,
  ): StimulusAck {
    return {
      requestId,
      kind,
      outputMask,
      ok: error === null,
      deviceTimeUs: null,
      hostWriteTimeNs,
      hostAckTimeNs,
      cause,
      error: error ? { code: error.code, message: error.message } : null,
    };
  }

  private failure(requestId: number, kind: StimulusAckKind, outputMask: number, cause: StimulusCause | null, error: unknown): StimulusAck {
    const nowNs = this.timers.clock.nowNs();
    return this.ack(requestId, kind, outputMask, nowNs, nowNs, cause, this.asError(error));
  }

  private publish(ack: StimulusAck): StimulusAck {
    this.acks.next(ack);
    return ack;
  }

  private stateError(action: string): OptoloopError {
    return new OptoloopError('E_SINK_STATE', `${this.name}: cannot ${action} while the sink is ${this.sinkState}`, { stage: STAGE });
  }

  private asError(error: unknown): OptoloopError {
    if (isOptoloopError(error)) return error;
    return new OptoloopError('E_DEVICE_DISCONNECTED', `${this.name}: ${error instanceof Error ? error.message : String(error)}`, { stage: STAGE, cause: error });
  }
}
