import { Subject, type Observable } from 'rxjs';
import { OptoloopError, describeValue } from '../../src/core/errors.js';
import type { DeviceStatus } from '../../src/core/status.js';
import type { PulseTrainSpec, SinkInfo, SinkState, StimulusAck, StimulusAckKind, StimulusCause, StimulusSink } from '../../src/core/stimulus-sink.js';
import { validateOptions } from '../../src/pipeline/options.js';
import type { Binding } from '../binding/binding.js';
import { DeviceConnection } from '../binding/device-connection.js';
import { SerialBinding, type SerialOpenOptions } from '../binding/serial-binding.js';
import { systemTimers, type Timers } from '../binding/timers.js';
import { BridgeClient, type RequestOutcome } from './client.js';
import {
  readHello,
  readLimits,
  readStatus,
  readStreamStart,
  readStreamStop,
  requireLength,
  type BridgeLimits,
  type DeviceStatusReply,
  type HelloReply,
  type StreamStartReply,
  type StreamStopReply,
  type TrainDoneEvent,
  type TrainUs,
} from './codec.js';
import { firmwareBridgeSinkSchema, type FirmwareBridgeSinkConfig } from './config.js';
import { CHANNEL_ALL, Op, PROTOCOL_MAJOR, PROTOCOL_MINOR } from './protocol.js';

const STAGE = 'drivers/firmware-bridge';

export interface FirmwareBridgeSinkDeps {
  /** Transport; the serial binding by default (a mock or a pty-backed binding in tests). */
  readonly binding?: Binding<SerialOpenOptions>;
  /** Timers and their clock: request timeouts and reconnection backoff run on them (ManualTimers in tests). */
  readonly timers?: Timers;
  /** First sequence number (tests of the wrap); random by default. */
  readonly firstSeq?: number;
  /** Where the link's warnings go besides `warnings$` (default console). */
  readonly log?: { warn(message: string): void };
}

export type BridgeConnectionEvent =
  | { readonly kind: 'connected'; readonly hello: HelloReply }
  | { readonly kind: 'lost'; readonly error: OptoloopError }
  | { readonly kind: 'reconnected'; readonly hello: HelloReply; readonly deviceReset: boolean; readonly reprogrammed: number }
  | { readonly kind: 'reconnect-failed'; readonly error: OptoloopError; readonly attempt: number };

/**
 * A `StimulusSink` for the optoloop firmware bridge (firmware-bridge/PROTOCOL.md) on a serial port.
 *
 * The link is a DeviceConnection (drivers/binding): it opens the port, runs the read loop, queues
 * writes and reconnects with backoff. On every (re)open this sink handshakes (refusing a firmware
 * of another protocol major), sets the configured limits and, after a reconnect, re-programs every
 * output it had programmed. `program()` sends a PulseTrainSpec in µs; `trigger()` writes TRIGGER at
 * once and returns a request id, the device's acknowledgement (with the device µs time at which the
 * trains started) arriving on `acks$`; firmware refusals become E_DEVICE_REFUSED naming the
 * firmware's error. A lost link is reported on `errors$` and `connection$`; acks already delivered
 * are never withdrawn, requests outstanding fail with E_DEVICE_DISCONNECTED.
 */
export class FirmwareBridgeSink implements StimulusSink {
  readonly kind = 'firmware-bridge';
  readonly config: FirmwareBridgeSinkConfig;
  private readonly binding: Binding<SerialOpenOptions>;
  private readonly timers: Timers;
  private readonly protocol: BridgeClient;
  private readonly connection: DeviceConnection;
  private readonly ackSubject = new Subject<StimulusAck>();
  private readonly errorSubject = new Subject<OptoloopError>();
  private readonly connectionSubject = new Subject<BridgeConnectionEvent>();
  private readonly trainDoneSubject = new Subject<TrainDoneEvent>();
  private readonly warningSubject = new Subject<string>();
  readonly acks$: Observable<StimulusAck> = this.ackSubject.asObservable();
  /** Every failure the sink could not hand to a caller: a lost port, an unattributed device error. */
  readonly errors$: Observable<OptoloopError> = this.errorSubject.asObservable();
  readonly connection$: Observable<BridgeConnectionEvent> = this.connectionSubject.asObservable();
  readonly trainDone$: Observable<TrainDoneEvent> = this.trainDoneSubject.asObservable();
  readonly warnings$: Observable<string> = this.warningSubject.asObservable();

  private sinkState: SinkState = 'closed';
  private helloReply: HelloReply | null = null;
  private sinkInfo: SinkInfo | null = null;
  private readonly programs = new Map<number, TrainUs>();
  private nextRequestId = 1;
  private lastError: OptoloopError | null = null;
  private reconnectAttempt = 0;
  private reconnectCount = 0;
  private pendingReconnect: { hello: HelloReply; deviceReset: boolean; reprogrammed: number } | null = null;

  constructor(config: Partial<FirmwareBridgeSinkConfig> & { readonly path: string }, deps: FirmwareBridgeSinkDeps = {}) {
    this.config = validateOptions(firmwareBridgeSinkSchema, { kind: 'firmware-bridge', ...config }, STAGE);
    this.binding = deps.binding ?? new SerialBinding();
    this.timers = deps.timers ?? systemTimers;
    const c = this.config;
    this.protocol = new BridgeClient({ device: c.path, requestTimeoutMs: c.requestTimeoutMs, timers: this.timers, firstSeq: deps.firstSeq });
    this.protocol.events$.subscribe((event) => this.trainDoneSubject.next(event));
    this.protocol.deviceErrors$.subscribe((error) => this.report(error));
    const log = deps.log ?? console;
    this.connection = new DeviceConnection({
      name: c.path,
      kind: this.kind,
      stage: STAGE,
      open: () => this.binding.open({ path: c.path, baudRate: c.baudRate }),
      parser: this.protocol,
      onOpen: (connection, isReconnect) => this.handshake(connection, isReconnect),
      timers: this.timers,
      openAttempts: c.openAttempts,
      reconnect: c.reconnect
        ? { initialDelayMs: c.reconnectInitialDelayMs, factor: 2, maxDelayMs: c.reconnectMaxDelayMs, maxAttempts: null, healthyAfterMs: 10_000 }
        : null,
      silenceTimeoutMs: null,
      log: { warn: (message) => log.warn(message) },
    });
    this.connection.events$.subscribe((event) => {
      if (event.type === 'warning') this.warningSubject.next(event.message);
      else if (event.type === 'error') this.onLinkError(event.error);
      else if (event.type === 'state') this.onLinkState(event.state);
    });
  }

  get state(): SinkState {
    return this.sinkState;
  }
  get info(): SinkInfo | null {
    return this.sinkInfo;
  }
  get hello(): HelloReply | null {
    return this.helloReply;
  }
  /** Reconnections completed (handshake and re-programming done). */
  get reconnects(): number {
    return this.reconnectCount;
  }
  /** The request/reply layer (diagnostics, tests); null while the link is not connected. */
  get client(): BridgeClient | null {
    return this.connection.isConnected ? this.protocol : null;
  }

  async open(): Promise<SinkInfo> {
    if (this.sinkState === 'opened') throw this.stateError('open', 'already open');
    await this.connection.open();
    const hello = this.helloReply!;
    this.sinkState = 'opened';
    this.sinkInfo = {
      description: `optoloop firmware bridge ${hello.boardName} (id 0x${hello.deviceId.toString(16)}) on ${this.config.path}`,
      outputCount: hello.outputCount,
      firmwareVersion: hello.firmwareVersion,
    };
    return this.sinkInfo;
  }

  async program(output: number, train: PulseTrainSpec): Promise<StimulusAck> {
    const client = this.requireClient('program');
    const trainUs = toTrainUs(output, train);
    const requestId = this.nextRequestId++;
    const outcome = await this.exchange(client, Op.PROGRAM, (w) => w.program(output, trainUs), (r) => {
      requireLength('PROGRAM', r, this.config.path);
      return r.u64(1);
    });
    const ack = this.ackFrom(requestId, 'program', 1 << output, outcome, null);
    if (ack.ok) this.programs.set(output, trainUs);
    this.ackSubject.next(ack);
    if (!ack.ok) throw outcome.error;
    return ack;
  }

  trigger(outputMask: number, cause: StimulusCause): number {
    const requestId = this.nextRequestId++;
    if (this.sinkState !== 'opened' || !this.connection.isConnected) {
      const error =
        this.sinkState === 'opened'
          ? new OptoloopError('E_DEVICE_DISCONNECTED', `${this.config.path}: trigger refused: the bridge is ${this.connection.state}`, { stage: STAGE })
          : this.stateError('trigger', `the sink is ${this.sinkState}`);
      this.failLater(requestId, 'trigger', outputMask, cause, error);
      return requestId;
    }
    try {
      this.protocol.send(
        Op.TRIGGER,
        (w) => w.trigger(outputMask),
        (outcome) => {
          let deviceTimeUs: number | null = null;
          if (outcome.kind === 'reply') deviceTimeUs = outcome.reader.length >= 10 ? outcome.reader.u64(2) : null;
          this.ackSubject.next(this.ackFrom(requestId, 'trigger', outputMask, outcome, cause, deviceTimeUs));
        },
      );
    } catch (error) {
      this.failLater(requestId, 'trigger', outputMask, cause, error as OptoloopError);
    }
    return requestId;
  }

  async abort(): Promise<StimulusAck> {
    const client = this.requireClient('abort');
    const requestId = this.nextRequestId++;
    let stopped = 0;
    const outcome = await this.exchange(client, Op.ABORT, null, (r) => {
      requireLength('ABORT', r, this.config.path);
      stopped = r.u16(0);
      return r.u64(2);
    });
    const ack = this.ackFrom(requestId, 'abort', stopped, outcome, null);
    this.ackSubject.next(ack);
    if (!ack.ok) throw outcome.error;
    return ack;
  }

  async getStatus(): Promise<DeviceStatusReply> {
    return this.requireClient('status').request(Op.STATUS, null, (r) => readStatus(r, this.config.path));
  }

  async getClock(): Promise<{ deviceTimeUs: number; hostSendTimeNs: number; hostReceiveTimeNs: number }> {
    const client = this.requireClient('clock');
    const hostSendTimeNs = this.timers.clock.nowNs();
    const deviceTimeUs = await client.request(Op.GET_CLOCK, null, (r) => {
      requireLength('GET_CLOCK', r, this.config.path);
      return r.u64(0);
    });
    return { deviceTimeUs, hostSendTimeNs, hostReceiveTimeNs: this.timers.clock.nowNs() };
  }

  /** Sets the limits of one output, or of every output with 'all'. */
  async setLimits(output: number | 'all', limits: BridgeLimits): Promise<BridgeLimits> {
    const channel = output === 'all' ? CHANNEL_ALL : output;
    const reply = await this.requireClient('set limits').request(Op.SET_LIMITS, (w) => w.setLimits(channel, limits), (r) =>
      readLimits(r, this.config.path, 'SET_LIMITS'),
    );
    return reply.limits;
  }

  async getLimits(output: number): Promise<BridgeLimits> {
    const reply = await this.requireClient('get limits').request(Op.GET_LIMITS, (w) => w.getLimits(output), (r) =>
      readLimits(r, this.config.path, 'GET_LIMITS'),
    );
    return reply.limits;
  }

  async startStreaming(sampleRateHz: number, framesPerPacket: number, channelCount: number): Promise<StreamStartReply> {
    return this.requireClient('start streaming').request(Op.STREAM_START, (w) => w.streamStart(sampleRateHz, framesPerPacket, channelCount), (r) =>
      readStreamStart(r, this.config.path),
    );
  }

  async stopStreaming(): Promise<StreamStopReply> {
    return this.requireClient('stop streaming').request(Op.STREAM_STOP, null, (r) => readStreamStop(r, this.config.path));
  }

  /** The device line the daemon publishes (bytes, frames, resyncs, drops = timeouts + lost events). */
  status(): DeviceStatus {
    const s = this.connection.status();
    return { ...s, lastError: this.lastError ? this.lastError.toString() : s.lastError };
  }

  async close(): Promise<void> {
    this.sinkState = 'closed';
    await this.connection.close();
    this.protocol.close();
    this.ackSubject.complete();
    this.errorSubject.complete();
    this.connectionSubject.complete();
    this.trainDoneSubject.complete();
    this.warningSubject.complete();
  }

  /** Runs on every (re)opened port, the read loop already running: HELLO, limits, re-programming. */
  private async handshake(connection: DeviceConnection, isReconnect: boolean): Promise<void> {
    this.protocol.attach(connection);
    const previousNonce = this.helloReply?.bootNonce ?? null;
    const hello = await this.protocol.request(Op.HELLO, (w) => w.hello(PROTOCOL_MAJOR, PROTOCOL_MINOR), (r) => readHello(r, this.config.path));
    if (hello.protocolMajor !== PROTOCOL_MAJOR) {
      throw new OptoloopError(
        'E_DEVICE_PROTOCOL',
        `${this.config.path}: the firmware speaks protocol ${hello.protocolMajor}.${hello.protocolMinor}, this driver ${PROTOCOL_MAJOR}.${PROTOCOL_MINOR}; update one of them`,
        { stage: STAGE, details: { deviceMajor: hello.protocolMajor, hostMajor: PROTOCOL_MAJOR } },
      );
    }
    if (this.config.limits) await this.protocol.request(Op.SET_LIMITS, (w) => w.setLimits(CHANNEL_ALL, this.config.limits as BridgeLimits), () => null);
    let reprogrammed = 0;
    if (isReconnect) {
      for (const [output, train] of this.programs) {
        await this.protocol.request(Op.PROGRAM, (w) => w.program(output, train), () => null);
        reprogrammed++;
      }
    }
    this.helloReply = hello;
    if (isReconnect) this.pendingReconnect = { hello, deviceReset: previousNonce !== hello.bootNonce, reprogrammed };
  }

  private onLinkState(state: DeviceStatus['state']): void {
    if (state === 'connected') {
      const reconnected = this.pendingReconnect;
      this.pendingReconnect = null;
      this.reconnectAttempt = 0;
      if (reconnected) {
        this.reconnectCount++;
        this.connectionSubject.next({ kind: 'reconnected', ...reconnected });
      }
      else if (this.helloReply) this.connectionSubject.next({ kind: 'connected', hello: this.helloReply });
    } else if (state === 'failed' && this.sinkState === 'opened') {
      this.sinkState = 'failed';
    }
  }

  private onLinkError(error: OptoloopError): void {
    // The connection reports a loss while still 'connected', then moves to 'reconnecting'.
    const state = this.connection.state;
    if (state === 'connected' && error.code === 'E_DEVICE_DISCONNECTED') {
      this.report(error);
      this.connectionSubject.next({ kind: 'lost', error });
    } else if (state === 'reconnecting') {
      this.lastError = error;
      this.connectionSubject.next({ kind: 'reconnect-failed', error, attempt: ++this.reconnectAttempt });
    } else {
      this.report(error);
    }
  }

  private report(error: OptoloopError): void {
    this.lastError = error;
    this.errorSubject.next(error);
  }

  private requireClient(what: string): BridgeClient {
    if (this.sinkState !== 'opened') throw this.stateError(what, `the sink is ${this.sinkState}`);
    if (!this.connection.isConnected) {
      throw new OptoloopError('E_DEVICE_DISCONNECTED', `${this.config.path}: cannot ${what}: the bridge is ${this.connection.state}`, { stage: STAGE });
    }
    return this.protocol;
  }

  private stateError(what: string, why: string): OptoloopError {
    return new OptoloopError('E_SINK_STATE', `${this.config.path}: cannot ${what}: ${why}`, { stage: STAGE });
  }

  /** Sends a request and resolves with its outcome (never rejects), the reply decoded to the device time. */
  private exchange(
    client: BridgeClient,
    op: number,
    fill: Parameters<BridgeClient['send']>[1],
    decode: (reader: Extract<RequestOutcome, { kind: 'reply' }>['reader']) => number,
  ): Promise<RequestOutcome & { deviceTimeUs?: number; error?: OptoloopError }> {
    return new Promise((resolve) => {
      try {
        client.send(op, fill, (outcome) => {
          if (outcome.kind !== 'reply') return resolve(outcome);
          try {
            resolve({ ...outcome, deviceTimeUs: decode(outcome.reader) });
          } catch (error) {
            resolve({ kind: 'failed', error: error as OptoloopError, hostWriteTimeNs: outcome.hostWriteTimeNs });
          }
        });
      } catch (error) {
        resolve({ kind: 'failed', error: error as OptoloopError, hostWriteTimeNs: this.timers.clock.nowNs() });
      }
    });
  }

  private ackFrom(
    requestId: number,
    kind: StimulusAckKind,
    outputMask: number,
    outcome: RequestOutcome & { deviceTimeUs?: number },
    cause: StimulusCause | null,
    deviceTimeUs: number | null = outcome.deviceTimeUs ?? null,
  ): StimulusAck {
    const ok = outcome.kind === 'reply';
    const hostAckTimeNs = outcome.kind === 'failed' ? this.timers.clock.nowNs() : outcome.receiveTimeNs;
    const error = outcome.kind === 'reply' ? null : { code: outcome.error.code, message: outcome.error.message };
    if (!ok) this.lastError = outcome.error;
    return {
      requestId,
      kind,
      outputMask,
      ok,
      deviceTimeUs: ok ? deviceTimeUs : null,
      hostWriteTimeNs: outcome.hostWriteTimeNs || hostAckTimeNs,
      hostAckTimeNs,
      cause,
      error,
    };
  }

  private failLater(requestId: number, kind: StimulusAckKind, outputMask: number, cause: StimulusCause | null, error: OptoloopError): void {
    this.lastError = error;
    // The caller learns the request id from the return value first, then the outcome.
    queueMicrotask(() => {
      const now = this.timers.clock.nowNs();
      this.ackSubject.next({ requestId, kind, outputMask, ok: false, deviceTimeUs: null, hostWriteTimeNs: now, hostAckTimeNs: now, cause, error: { code: error.code, message: error.message } });
    });
  }
}

/** PulseTrainSpec (ms, 0…1) → the firmware's µs and 16-bit level. Only unencodable values are refused here: the firmware judges the rest. */
export function toTrainUs(output: number, train: PulseTrainSpec): TrainUs {
  const issues: string[] = [];
  const us = (field: keyof PulseTrainSpec, ms: number, required: boolean): number => {
    const v = Math.round(ms * 1000);
    if (!Number.isFinite(ms) || v < 0 || v > 0xffff_ffff) {
      if (required) issues.push(`${field}: expected a number of ms from 0 to 4294967.295, got ${describeValue(ms)}`);
      return 0;
    }
    return v;
  };
  if (!Number.isInteger(output) || output < 0 || output > 15) issues.push(`output: expected an integer 0 … 15, got ${describeValue(output)}`);
  const widthUs = us('pulseWidthMs', train.pulseWidthMs, true);
  const delayUs = us('delayMs', train.delayMs, true);
  const intervalUs = us('pulseIntervalMs', train.pulseIntervalMs, train.pulseCount !== 1);
  if (!Number.isInteger(train.pulseCount) || train.pulseCount < 0 || train.pulseCount > 0xffff) {
    issues.push(`pulseCount: expected an integer 1 … 65535, got ${describeValue(train.pulseCount)}`);
  }
  if (!(train.level >= 0 && train.level <= 1)) issues.push(`level: expected a fraction 0 … 1 of full scale, got ${describeValue(train.level)}`);
  if (issues.length) {
    throw new OptoloopError('E_OPTIONS_INVALID', `${STAGE}: program(${output}): ${issues.join('; ')}`, { stage: STAGE, details: { issues } });
  }
  return { level: Math.round(train.level * 0xffff), delayUs, widthUs, intervalUs, count: train.pulseCount };
}
