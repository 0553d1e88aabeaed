/**
 * A typed client for the optoloop bus (Node): connects, authenticates, subscribes, delivers each
 * topic as optoloop's own types, sends commands and resolves their results.
 *
 *   const bus = await BusClient.connect('ws://127.0.0.1:8787/bus', { token, clientName: 'analysis' });
 *   bus.on('units', (update) => console.log(update.units.length));
 *   await bus.subscribe(['units', 'status']);
 *   const result = await bus.command({ kind: 'estop' });
 */
import WebSocket from 'ws';
import type { CommandResult, DaemonCommand } from '../core/commands.js';
import { OptoloopError, type ErrorCode } from '../core/errors.js';
import {
  commandToMessage,
  dataTopicsFromIds,
  messageToBci,
  messageToDropped,
  messageToSpikes,
  messageToStatus,
  messageToStimulus,
  messageToUnitUpdate,
  messageToWelcome,
  topicIds,
} from './codec.js';
import { FrameEncoder } from './frame-encoder.js';
import type { BciOutput, BusErrorFrame, BusStatus, DroppedNotice, ReceivedSpikeBatch, StimulusEvent, UnitUpdate, Welcome } from './messages.js';
import { busTypes, type BusTypes } from './schema.js';
import { DATA_TOPICS, HEADER_BYTES, Topic, checkHeader, isDataTopicId, readHeader, topicName, type DataTopicName } from './wire.js';

export interface BusClientEvents {
  spikes: (batch: ReceivedSpikeBatch) => void;
  units: (update: UnitUpdate) => void;
  stimulus: (event: StimulusEvent) => void;
  bci: (output: BciOutput) => void;
  status: (status: BusStatus) => void;
  /** The server dropped messages for this client (its send buffer was over the ceiling). */
  dropped: (notice: DroppedNotice) => void;
  /** A sequence gap on a data topic: `missed` messages never arrived. */
  gap: (topic: DataTopicName, missed: number) => void;
  /** An error frame not tied to a pending command. */
  error: (error: BusErrorFrame) => void;
  close: (code: number, reason: string) => void;
}

export interface BusClientOptions {
  readonly token: string;
  readonly clientName?: string;
  /** How long to wait for the welcome and for each reply (ms). */
  readonly timeoutMs?: number;
}

type Listener = (...args: never[]) => void;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class BusClient {
  private readonly types: BusTypes = busTypes();
  private readonly encoder = new FrameEncoder();
  private readonly listeners = new Map<keyof BusClientEvents, Set<Listener>>();
  private readonly pendingCommands = new Map<number, Pending>();
  /** Subscribe/unsubscribe/ping replies arrive in request order. */
  private readonly pendingControl: { kind: 'subscribed' | 'pong'; pending: Pending }[] = [];
  private readonly lastSequence = new Map<number, number>();
  private readonly bciNames = new Map<string, readonly string[]>();
  private nextRequestId = 1;
  private sequence = 0;
  private closed = false;
  welcome: Welcome | null = null;

  private constructor(
    private readonly socket: WebSocket,
    private readonly timeoutMs: number,
  ) {}

  /** Opens a connection and authenticates; rejects with E_BUS_AUTH (or the socket's error). */
  static connect(url: string, options: BusClientOptions): Promise<BusClient> {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const client = new BusClient(socket, options.timeoutMs ?? 10_000);
    return new Promise<BusClient>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new OptoloopError('E_DEVICE_TIMEOUT', `bus ${url}: no welcome within ${client.timeoutMs} ms`, { stage: 'bus.client' }));
      }, client.timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      socket.once('error', fail);
      socket.once('open', () => client.sendClientMessage({ hello: { token: options.token, clientName: options.clientName ?? '' } }));
      socket.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
        if (!client.welcome) {
          const outcome = client.handleBeforeWelcome(data as Buffer, isBinary);
          if (outcome === 'welcome') {
            clearTimeout(timer);
            socket.off('error', fail);
            socket.on('error', () => {
              // Reported through 'close'; an error event without a listener would throw.
            });
            resolve(client);
          } else if (outcome instanceof Error) {
            fail(outcome);
          }
          return;
        }
        client.onFrame(data as Buffer, isBinary);
      });
      socket.on('close', (code: number, reason: Buffer) => {
        client.onClose(code, reason.toString());
        if (!client.welcome) fail(new OptoloopError('E_BUS_AUTH', `bus ${url}: closed before the welcome (${code} ${reason.toString()})`, { stage: 'bus.client' }));
      });
    });
  }

  on<E extends keyof BusClientEvents>(event: E, listener: BusClientEvents[E]): this {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener);
    return this;
  }

  off<E extends keyof BusClientEvents>(event: E, listener: BusClientEvents[E]): this {
    this.listeners.get(event)?.delete(listener as Listener);
    return this;
  }

  /** Subscribes to data topics; resolves with every topic now subscribed. */
  subscribe(topics: readonly DataTopicName[]): Promise<DataTopicName[]> {
    return this.controlRequest('subscribed', { subscribe: { topics: topicIds(topics) } }) as Promise<DataTopicName[]>;
  }

  unsubscribe(topics: readonly DataTopicName[]): Promise<DataTopicName[]> {
    return this.controlRequest('subscribed', { unsubscribe: { topics: topicIds(topics) } }) as Promise<DataTopicName[]>;
  }

  /** Round trip to the server; resolves with the time it took (ms). */
  async ping(): Promise<number> {
    const started = performance.now();
    await this.controlRequest('pong', { ping: { nonce: this.nextRequestId++ } });
    return performance.now() - started;
  }

  /**
   * Sends a command; resolves with the daemon's result, or with `ok: false` and the bus's error
   * code when the bus refused it (E_BUS_PERMISSION, E_BUS_RATE, E_BUS_MALFORMED).
   */
  command(command: DaemonCommand): Promise<CommandResult> {
    const requestId = this.nextRequestId++;
    return new Promise<CommandResult>((resolve, reject) => {
      this.pendingCommands.set(requestId, { resolve: resolve as (v: unknown) => void, reject, timer: this.requestTimer(() => this.pendingCommands.delete(requestId), reject, `command ${command.kind}`) });
      this.sendClientMessage({ command: commandToMessage(command, requestId) });
    });
  }

  /** Sends bytes as they are (tests of the server's refusals). */
  sendRaw(data: Uint8Array | string): void {
    this.socket.send(data);
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  /** Closes the connection; resolves when it is closed. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close(1000, 'client closing');
    });
  }

  // ------------------------------------------------------------------------------ internals

  private emit<E extends keyof BusClientEvents>(event: E, ...args: Parameters<BusClientEvents[E]>): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of set) (listener as unknown as (...a: Parameters<BusClientEvents[E]>) => void)(...args);
  }

  private sendClientMessage(body: object): void {
    if (this.socket.readyState !== WebSocket.OPEN) throw new OptoloopError('E_DEVICE_DISCONNECTED', 'bus client: the connection is not open', { stage: 'bus.client' });
    this.socket.send(this.encoder.encode(this.types.ClientMessage, body, Topic.control, 0, this.sequence++));
  }

  private requestTimer(forget: () => void, reject: (e: Error) => void, what: string): NodeJS.Timeout {
    const timer = setTimeout(() => {
      forget();
      reject(new OptoloopError('E_DEVICE_TIMEOUT', `bus client: no reply to ${what} within ${this.timeoutMs} ms`, { stage: 'bus.client' }));
    }, this.timeoutMs);
    timer.unref();
    return timer;
  }

  private controlRequest(kind: 'subscribed' | 'pong', body: object): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const entry = { kind, pending: { resolve, reject, timer: null as unknown as NodeJS.Timeout } };
      entry.pending.timer = this.requestTimer(() => this.pendingControl.splice(this.pendingControl.indexOf(entry), 1), reject, kind === 'pong' ? 'ping' : 'subscription');
      this.pendingControl.push(entry);
      this.sendClientMessage(body);
    });
  }

  /** 'welcome', an Error to reject connect() with, or null to keep waiting. */
  private handleBeforeWelcome(data: Buffer, isBinary: boolean): 'welcome' | Error | null {
    const frame = this.parseFrame(data, isBinary);
    if (!frame) return new OptoloopError('E_BUS_MALFORMED', 'bus client: the server sent a malformed frame before the welcome', { stage: 'bus.client' });
    if (frame.topic === Topic.error) {
      const e = this.types.BusError.decode(frame.payload) as unknown as BusErrorFrame;
      return new OptoloopError(asErrorCode(e.code), `bus: ${e.message}`, { stage: 'bus.client', details: { code: e.code } });
    }
    if (frame.topic === Topic.control) {
      const m = this.types.ServerMessage.decode(frame.payload) as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      if (m.body === 'welcome') {
        this.welcome = messageToWelcome(m.welcome);
        return 'welcome';
      }
    }
    return null;
  }

  private parseFrame(data: Buffer, isBinary: boolean): { topic: number; sequence: number; payload: Buffer } | null {
    if (!isBinary || checkHeader(data) !== null) return null;
    const header = readHeader(data);
    return { topic: header.topic, sequence: header.sequence, payload: data.subarray(HEADER_BYTES) };
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    try {
      this.dispatch(data, isBinary);
    } catch (error) {
      // A frame we cannot decode must not take the client's process down.
      this.emit('error', { code: 'E_BUS_MALFORMED', message: `undecodable frame from the server: ${(error as Error).message}`, requestId: 0, closing: false });
    }
  }

  private dispatch(data: Buffer, isBinary: boolean): void {
    const frame = this.parseFrame(data, isBinary);
    if (!frame) {
      this.emit('error', { code: 'E_BUS_MALFORMED', message: 'the server sent a frame that is not a bus frame', requestId: 0, closing: false });
      return;
    }
    const t = this.types;
    if (isDataTopicId(frame.topic)) {
      const last = this.lastSequence.get(frame.topic);
      if (last !== undefined && ((last + 1) >>> 0) !== frame.sequence) {
        this.emit('gap', topicName(frame.topic) as DataTopicName, (frame.sequence - last - 1) >>> 0);
      }
      this.lastSequence.set(frame.topic, frame.sequence);
    }
    switch (frame.topic) {
      case Topic.spikes:
        this.emit('spikes', messageToSpikes(t.SpikeBatch.decode(frame.payload)));
        return;
      case Topic.units:
        this.emit('units', messageToUnitUpdate(t.UnitUpdate.decode(frame.payload)));
        return;
      case Topic.stimulus:
        this.emit('stimulus', messageToStimulus(t.StimulusEvent.decode(frame.payload)));
        return;
      case Topic.bci: {
        const m = t.BciOutput.decode(frame.payload) as unknown as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
        const output = messageToBci(m, this.bciNames.get(m.streamId));
        this.bciNames.set(output.streamId, output.names);
        this.emit('bci', output);
        return;
      }
      case Topic.status:
        this.emit('status', messageToStatus(t.Status.decode(frame.payload)));
        return;
      case Topic.error:
        this.onError(t.BusError.decode(frame.payload) as unknown as BusErrorFrame);
        return;
      case Topic.control:
        this.onControl(t.ServerMessage.decode(frame.payload) as unknown as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any
        return;
    }
  }

  private onError(e: BusErrorFrame): void {
    const error: BusErrorFrame = { code: e.code, message: e.message, requestId: e.requestId, closing: Boolean(e.closing) };
    const pending = error.requestId ? this.pendingCommands.get(error.requestId) : undefined;
    if (pending) {
      this.pendingCommands.delete(error.requestId);
      clearTimeout(pending.timer);
      pending.resolve({ ok: false, code: error.code, message: error.message } satisfies CommandResult);
      return;
    }
    // Refusals of a subscription or a ping come without a request id, in request order.
    if ((error.code === 'E_BUS_PERMISSION' || error.code === 'E_BUS_MALFORMED') && this.pendingControl.length) {
      const entry = this.pendingControl.shift()!;
      clearTimeout(entry.pending.timer);
      entry.pending.reject(new OptoloopError(asErrorCode(error.code), `bus: ${error.message}`, { stage: 'bus.client' }));
      return;
    }
    this.emit('error', error);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private onControl(m: Record<string, any>): void {
    switch (m.body) {
      case 'commandResult': {
        const r = m.commandResult;
        const pending = this.pendingCommands.get(r.requestId);
        if (!pending) return;
        this.pendingCommands.delete(r.requestId);
        clearTimeout(pending.timer);
        pending.resolve({ ok: r.ok, code: r.code || null, message: r.message } satisfies CommandResult);
        return;
      }
      case 'subscribed':
      case 'pong': {
        const index = this.pendingControl.findIndex((e) => e.kind === m.body);
        if (index < 0) return;
        const [entry] = this.pendingControl.splice(index, 1);
        clearTimeout(entry.pending.timer);
        entry.pending.resolve(m.body === 'subscribed' ? dataTopicsFromIds(m.subscribed.topics) : m.pong.nonce);
        return;
      }
      case 'dropped':
        this.emit('dropped', messageToDropped(m.dropped));
        return;
    }
  }

  private onClose(code: number, reason: string): void {
    this.closed = true;
    const error = new OptoloopError('E_DEVICE_DISCONNECTED', `bus: connection closed (${code} ${reason})`, { stage: 'bus.client' });
    for (const p of this.pendingCommands.values()) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    this.pendingCommands.clear();
    for (const e of this.pendingControl.splice(0)) {
      clearTimeout(e.pending.timer);
      e.pending.reject(error);
    }
    this.emit('close', code, reason);
  }
}

function asErrorCode(code: string): ErrorCode {
  return (code.startsWith('E_') ? code : 'E_INTERNAL') as ErrorCode;
}

export { DATA_TOPICS };
