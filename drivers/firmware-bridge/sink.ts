import { Subject, type Observable } from 'rxjs';
import { systemClock, type MonotonicClock } from '../../src/core/clock.js';
import { OptoloopError, describeValue } from '../../src/core/errors.js';
import type { DeviceStatus } from '../../src/core/status.js';
import type { PulseTrainSpec, SinkInfo, SinkState, StimulusAck, StimulusAckKind, StimulusCause, StimulusSink } from '../../src/core/stimulus-sink.js';
import { validateOptions } from '../../src/pipeline/options.js';
import type { Binding, BindingPort } from '../binding/binding.js';
import { SerialBinding, type SerialOpenOptions } from '../binding/serial-binding.js';
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
  readonly clock?: MonotonicClock;
  /** First sequence number of each connection (tests of the wrap); random by default. */
  readonly firstSeq?: number;
}

export type BridgeConnectionEvent =
  | { readonly kind: 'connected'; readonly hello: HelloReply; readonly lowLatency: boolean }
  | { readonly kind: 'lost'; readonly error: OptoloopError }
  | { readonly kind: 'reconnected'; readonly hello: HelloReply; readonly deviceReset: boolean; readonly reprogrammed: number }
  | { readonly kind: 'reconnect-failed'; readonly error: OptoloopError; readonly attempt: number };

/**
 * A `StimulusSink` for the optoloop firmware bridge (firmware-bridge/PROTOCOL.md) on a serial port.
 *
 * `open()` handshakes and refuses a firmware of another protocol major; `program()` sends a
 * PulseTrainSpec in µs; `trigger()` writes TRIGGER at once and returns a request id, the device's
 * acknowledgement (with the device µs time at which the trains started) arriving on `acks$`;
 * firmware refusals become E_DEVICE_REFUSED naming the firmware's error. When the port fails the
 * sink says so on `errors$` and `connection$`, reopens it with backoff, handshakes again and
 * re-programs every output it had programmed; acks already delivered are never withdrawn.
 */
export class FirmwareBridgeSink implements StimulusSink {
  readonly kind = 'firmware-bridge';
  readonly config: FirmwareBridgeSinkConfig;
  private readonly binding: Binding<SerialOpenOptions>;
  private readonly clock: MonotonicClock;
  private readonly firstSeq: number | undefined;
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
  private connectionState: DeviceStatus['state'] = 'disconnected';
  private current: BridgeClient | null = null;
  private helloReply: HelloReply | null = null;
  private sinkInfo: SinkInfo | null = null;
  private readonly programs = new Map<number, TrainUs>();
  private nextRequestId = 1;
  private lastError: OptoloopError | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectAttempt = 0;
  /** Counters of clients already closed, so that status() never goes backwards. */
  private readonly retired = { bytes: 0, frames: 0, resyncs: 0, drops: 0 };
  reconnects = 0;

  constructor(config: Partial<FirmwareBridgeSinkConfig> & { readonly path: string }, deps: FirmwareBridgeSinkDeps = {}) {
    this.config = validateOptions(firmwareBridgeSinkSchema, { kind: 'firmware-bridge', ...config }, STAGE);
    this.binding = deps.binding ?? new SerialBinding();
    this.clock = deps.clock ?? systemClock;
    this.firstSeq = deps.firstSeq;
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
  /** The request/reply layer of the current connection (diagnostics); null while disconnected. */
  get client(): BridgeClient | null {
    return this.current && !this.current.isLost ? this.current : null;
  }

  async open(): Promise<SinkInfo> {
    if (this.sinkState === 'opened') throw this.stateError('open', 'already open');
    const hello = await this.connect();
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
    const client = this.current;
    if (this.sinkState !== 'opened' || !client || client.isLost) {
      const error =
        this.sinkState === 'opened'
          ? new OptoloopError('E_DEVICE_DISCONNECTED', `${this.config.path}: trigger refused: the bridge is disconnected (reconnecting)`, { stage: STAGE })
          : this.stateError('trigger', `the sink is ${this.sinkState}`);
      this.failLater(requestId, 'trigger', outputMask, cause, error);
      return requestId;
    }
    try {
      client.send(
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
    const hostSendTimeNs = this.clock.nowNs();
    const deviceTimeUs = await client.request(Op.GET_CLOCK, null, (r) => {
      requireLength('GET_CLOCK', r, this.config.path);
      return r.u64(0);
    });
    return { deviceTimeUs, hostSendTimeNs, hostReceiveTimeNs: this.clock.nowNs() };
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

  status(): DeviceStatus {
    const c = this.current;
    return {
      name: this.config.path,
      kind: this.kind,
      state: this.connectionState,
      bytes: this.retired.bytes + (c ? c.parser.counters.bytes : 0),
      blocks: this.retired.frames + (c ? c.parser.counters.frames : 0),
      resyncs: this.retired.resyncs + (c ? c.parser.counters.resyncs : 0),
      drops: this.retired.drops + (c ? c.counters.eventsLost + c.counters.timeouts : 0),
      lastError: this.lastError ? this.lastError.toString() : null,
    };
  }

  async close(): Promise<void> {
    this.sinkState = 'closed';
    this.connectionState = 'disconnected';
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const client = this.current;
    if (client) {
      this.retire(client);
      await client.close();
    }
    this.current = null;
    this.ackSubject.complete();
    this.errorSubject.complete();
    this.connectionSubject.complete();
    this.trainDoneSubject.complete();
    this.warningSubject.complete();
  }

  private async connect(): Promise<HelloReply> {
    this.connectionState = this.sinkState === 'opened' ? 'reconnecting' : 'connecting';
    const port: BindingPort = await this.binding.open({ path: this.config.path, baudRate: this.config.baudRate });
    await port.flush().catch(() => undefined);
    const lowLatency = await port.setLowLatency();
    if (!lowLatency) {
      this.warningSubject.next(`${this.config.path}: low-latency mode unavailable on this port (a pseudo-terminal or a CDC device has no latency timer); carrying on`);
    }
    const client = new BridgeClient(port, { device: this.config.path, requestTimeoutMs: this.config.requestTimeoutMs, clock: this.clock, firstSeq: this.firstSeq });
    client.start();
    let hello: HelloReply;
    try {
      hello = await client.request(Op.HELLO, (w) => w.hello(PROTOCOL_MAJOR, PROTOCOL_MINOR), (r) => readHello(r, this.config.path));
      if (hello.protocolMajor !== PROTOCOL_MAJOR) {
        throw new OptoloopError(
          'E_DEVICE_PROTOCOL',
          `${this.config.path}: the firmware speaks protocol ${hello.protocolMajor}.${hello.protocolMinor}, this driver ${PROTOCOL_MAJOR}.${PROTOCOL_MINOR}; update one of them`,
          { stage: STAGE, details: { deviceMajor: hello.protocolMajor, hostMajor: PROTOCOL_MAJOR } },
        );
      }
      if (this.config.limits) await client.request(Op.SET_LIMITS, (w) => w.setLimits(CHANNEL_ALL, this.config.limits as BridgeLimits), () => null);
    } catch (error) {
      await client.close();
      throw error;
    }
    client.onLost = (error) => this.handleLost(client, error);
    client.events$.subscribe((event) => this.trainDoneSubject.next(event));
    client.deviceErrors$.subscribe((error) => this.report(error));
    this.current = client;
    this.helloReply = hello;
    this.connectionState = 'connected';
    this.connectionSubject.next({ kind: 'connected', hello, lowLatency });
    return hello;
  }

  private handleLost(client: BridgeClient, error: OptoloopError): void {
    if (this.current !== client || this.sinkState !== 'opened') return;
    this.retire(client);
    this.current = null;
    this.connectionState = this.config.reconnect ? 'reconnecting' : 'failed';
    this.report(error);
    this.connectionSubject.next({ kind: 'lost', error });
    if (!this.config.reconnect) {
      this.sinkState = 'failed';
      return;
    }
    this.reconnectAttempt = 0;
    this.scheduleReconnect(this.config.reconnectInitialDelayMs);
  }

  private scheduleReconnect(delayMs: number): void {
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.tryReconnect(delayMs);
    }, delayMs);
  }

  private async tryReconnect(delayMs: number): Promise<void> {
    if (this.sinkState !== 'opened') return;
    const previousNonce = this.helloReply?.bootNonce ?? null;
    this.reconnectAttempt++;
    try {
      const hello = await this.connect();
      if (this.sinkState !== 'opened') {
        // Closed while we were reconnecting: do not leave the new connection open.
        const client = this.current;
        this.current = null;
        await client?.close();
        return;
      }
      let reprogrammed = 0;
      for (const [output, train] of this.programs) {
        await this.requireClient('re-program').request(Op.PROGRAM, (w) => w.program(output, train), () => null);
        reprogrammed++;
      }
      this.reconnects++;
      this.connectionSubject.next({ kind: 'reconnected', hello, deviceReset: previousNonce !== hello.bootNonce, reprogrammed });
    } catch (error) {
      const failure = error instanceof OptoloopError ? error : new OptoloopError('E_DEVICE_DISCONNECTED', String(error), { stage: STAGE, cause: error });
      this.lastError = failure;
      if (this.current) {
        // Connected but re-programming failed: drop this connection and try again.
        const client = this.current;
        this.retire(client);
        this.current = null;
        await client.close();
      }
      if (this.sinkState !== 'opened') return;
      this.connectionState = 'reconnecting';
      this.connectionSubject.next({ kind: 'reconnect-failed', error: failure, attempt: this.reconnectAttempt });
      this.scheduleReconnect(Math.min(delayMs * 2, this.config.reconnectMaxDelayMs));
    }
  }

  private retire(client: BridgeClient): void {
    this.retired.bytes += client.parser.counters.bytes;
    this.retired.frames += client.parser.counters.frames;
    this.retired.resyncs += client.parser.counters.resyncs;
    this.retired.drops += client.counters.eventsLost + client.counters.timeouts;
  }

  private report(error: OptoloopError): void {
    this.lastError = error;
    this.errorSubject.next(error);
  }

  private requireClient(what: string): BridgeClient {
    if (this.sinkState !== 'opened') throw this.stateError(what, `the sink is ${this.sinkState}`);
    const client = this.current;
    if (!client || client.isLost) {
      throw new OptoloopError('E_DEVICE_DISCONNECTED', `${this.config.path}: cannot ${what}: the bridge is disconnected (reconnecting)`, { stage: STAGE });
    }
    return client;
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
        resolve({ kind: 'failed', error: error as OptoloopError, hostWriteTimeNs: this.clock.nowNs() });
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
    const hostAckTimeNs = outcome.kind === 'failed' ? this.clock.nowNs() : outcome.receiveTimeNs;
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
      const now = this.clock.nowNs();
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
