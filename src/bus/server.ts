/**
 * The WebSocket bus: publishes spikes, units, stimulus events, BCI outputs and status to
 * authenticated clients, and passes their commands to the daemon's CommandHandler.
 *
 * Publishing is cheap and never blocks the caller: a message is encoded once (and only when some
 * client subscribes to its topic), then handed to each subscriber's socket unless that socket has
 * more than `maxBufferedBytes` waiting, in which case that client alone loses it (counted, and told
 * in a periodic `Dropped` notice). Spikes are copied into preallocated arrays and published as one
 * batch every `spikeFlushMs`.
 *
 * Every client authenticates first (a Hello with a token); permissions gate subscriptions, commands
 * and stimulating commands. Incoming messages are limited in size and rate. What is refused is
 * answered with a BusError frame (code from docs/errors.md); docs/bus.md says which errors close the
 * connection.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type protobuf from 'protobufjs';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { systemClock, type MonotonicClock } from '../core/clock.js';
import type { CommandHandler, CommandResult, DaemonCommand } from '../core/commands.js';
import { OptoloopError } from '../core/errors.js';
import type { SpikeBatch } from '../core/spikes.js';
import type { DaemonStatus } from '../core/status.js';
import type { UnitSummary } from '../core/units.js';
import { TokenAuthenticator, type AuthenticatedIdentity } from './auth.js';
import {
  bciToMessage,
  messageToCommand,
  permissionId,
  requiredPermission,
  statusToMessage,
  stimulusToMessage,
  unitUpdateToMessage,
} from './codec.js';
import type { BusConfig, BusTokenConfig } from './config.js';
import { FrameEncoder } from './frame-encoder.js';
import type { BciOutput, BusStats, StimulusEvent } from './messages.js';
import { TokenBucket } from './rate-limit.js';
import { busTypes, type BusTypes } from './schema.js';
import { SpikeAccumulator } from './spike-accumulator.js';
import { housekeepingTimers, type TimerHandle, type Timers } from '../core/timers.js';
import { DATA_TOPICS, FLAG_DROPPABLE, HEADER_BYTES, PROTOCOL_VERSION, Topic, checkHeader, isDataTopicId, readTopic, type DataTopicName } from './wire.js';

/** The URL path of the WebSocket endpoint; everything else on the port is plain HTTP. */
export const BUS_PATH = '/bus';

const DATA_TOPIC_COUNT = DATA_TOPICS.length;
const dataIndex = (topicId: number) => topicId - Topic.spikes;

/** WebSocket close codes used by the bus (RFC 6455 §7.4.1). */
export const CLOSE_POLICY = 1008;
export const CLOSE_TOO_BIG = 1009;
export const CLOSE_TRY_AGAIN = 1013;

export interface BusServerOptions {
  readonly config: BusConfig;
  readonly commands: CommandHandler;
  /** Rig name, sent in the welcome. */
  readonly rig?: string;
  readonly serverVersion?: string;
  /** Serves plain HTTP requests on the same port (the dashboard); 404 when absent. */
  readonly httpHandler?: (request: IncomingMessage, response: ServerResponse) => void;
  readonly clock?: MonotonicClock;
  readonly timers?: Timers;
  readonly log?: (level: 'info' | 'warn', message: string) => void;
}

export interface BusAddress {
  readonly host: string;
  readonly port: number;
  /** `ws://host:port/bus` */
  readonly url: string;
  /** `http://host:port/` */
  readonly httpUrl: string;
}

/** Counters of one connected client, for status and tests. */
export interface BusClientInfo {
  readonly clientId: number;
  readonly remote: string;
  readonly clientName: string;
  readonly tokenName: string | null;
  readonly subscriptions: readonly DataTopicName[];
  readonly bufferedBytes: number;
  readonly sent: number;
  readonly dropped: Readonly<Record<DataTopicName, number>>;
}

class Connection {
  identity: AuthenticatedIdentity | null = null;
  clientName = '';
  /** Bit i set = subscribed to data topic DATA_TOPICS[i]. */
  subscriptions = 0;
  readonly droppedTotal = new Float64Array(DATA_TOPIC_COUNT);
  readonly droppedSinceNotice = new Float64Array(DATA_TOPIC_COUNT);
  dropsPending = false;
  sent = 0;
  controlSequence = 0;
  lastRateErrorNs = Number.NEGATIVE_INFINITY;
  rateRefused = 0;
  helloTimer: TimerHandle | null = null;
  closing = false;

  constructor(
    readonly id: number,
    readonly socket: WebSocket,
    readonly remote: string,
    readonly bucket: TokenBucket,
  ) {}
}

interface Refusal {
  readonly code: 'E_BUS_MALFORMED' | 'E_BUS_TOO_LARGE' | 'E_BUS_RATE' | 'E_BUS_AUTH' | 'E_BUS_PERMISSION' | 'E_INTERNAL';
  readonly message: string;
  readonly requestId?: number;
}

export class BusServer {
  private readonly config: BusConfig;
  private readonly types: BusTypes;
  private readonly clock: MonotonicClock;
  private readonly timers: Timers;
  private readonly auth: TokenAuthenticator;
  private readonly encoder = new FrameEncoder();
  private readonly spikes: SpikeAccumulator;
  private readonly connections = new Set<Connection>();
  private readonly topicSequence = new Uint32Array(DATA_TOPIC_COUNT);
  /** Subscribers per data topic, so that a topic nobody reads is not even encoded. */
  private readonly subscriberCount = new Int32Array(DATA_TOPIC_COUNT);
  private readonly bciNamesSent = new Map<string, { key: string; atNs: number }>();
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private intervals: TimerHandle[] = [];
  private nextClientId = 1;
  private messagesSent = 0;
  private messagesDropped = 0;
  private listening: BusAddress | null = null;

  constructor(private readonly options: BusServerOptions) {
    this.config = options.config;
    this.types = busTypes();
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? housekeepingTimers;
    this.auth = new TokenAuthenticator(this.config.tokens);
    this.spikes = new SpikeAccumulator(this.config.spikeCapacity);
    const handler = options.httpHandler;
    this.http = createServer((request, response) => {
      if (handler) handler(request, response);
      else response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    });
    this.wss = new WebSocketServer({
      noServer: true,
      // Between maxMessageBytes and 4× it a message is refused with an error frame and the
      // connection kept; beyond, ws closes the connection (1009) without buffering more.
      maxPayload: this.config.maxMessageBytes * 4,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(request, socket, head));
  }

  /** Adds a token at run time, e.g. the dashboard's generated read-only token. */
  addToken(token: BusTokenConfig): void {
    this.auth.add(token);
  }

  get address(): BusAddress | null {
    return this.listening;
  }

  async listen(): Promise<BusAddress> {
    if (this.listening) return this.listening;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => {
        this.http.off('listening', onListening);
        reject(
          new OptoloopError('E_CONFIG_INVALID', `bus: cannot listen on ${this.config.host}:${this.config.port} (${error.message})`, {
            stage: 'bus',
            details: { host: this.config.host, port: this.config.port },
            cause: error,
          }),
        );
      };
      const onListening = () => {
        this.http.off('error', onError);
        resolve();
      };
      this.http.once('error', onError);
      this.http.once('listening', onListening);
      this.http.listen(this.config.port, this.config.host);
    });
    const address = this.http.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.listening = { host: address.address, port: address.port, url: `ws://${host}:${address.port}${BUS_PATH}`, httpUrl: `http://${host}:${address.port}/` };
    this.intervals = [
      this.timers.setInterval(() => this.flushSpikes(), this.config.spikeFlushMs),
      this.timers.setInterval(() => this.sendDroppedNotices(), this.config.droppedNoticeMs),
    ];
    return this.listening;
  }

  /** Stops listening, closes every client (1001 going away) and stops the timers. */
  async close(): Promise<void> {
    for (const handle of this.intervals) this.timers.clearTimeout(handle);
    this.intervals = [];
    for (const c of this.connections) {
      this.timers.clearTimeout(c.helloTimer);
      c.socket.close(1001, 'server shutting down');
    }
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    for (const c of this.connections) c.socket.terminate();
    this.connections.clear();
    this.listening = null;
  }

  // ------------------------------------------------------------------------------ publishing

  /**
   * Queues a batch's spikes for the next flush: copies them (the batch is borrowed), allocates
   * nothing, encodes nothing. Safe to call from the pipeline for every block.
   */
  publishSpikes(batch: SpikeBatch): void {
    if (batch.count === 0 || this.subscriberCount[dataIndex(Topic.spikes)] === 0) return;
    if (!this.spikes.accepts(batch.streamId)) this.flushSpikes();
    this.spikes.append(batch);
  }

  /** Publishes the spikes held since the last flush as one SpikeBatch (called every spikeFlushMs). */
  flushSpikes(): void {
    if (this.spikes.isEmpty()) return;
    this.broadcast(Topic.spikes, this.types.SpikeBatch, this.spikes.toMessage());
    this.spikes.clear();
  }

  /**
   * Publishes unit summaries. `complete` says the list holds every unit (clients forget the
   * others); otherwise each listed unit replaces the client's entry and `removedUnitIds` go.
   */
  publishUnits(units: readonly UnitSummary[], options: { removedUnitIds?: readonly number[]; complete?: boolean } = {}): void {
    if (!this.hasSubscribers(Topic.units)) return;
    this.broadcast(Topic.units, this.types.UnitUpdate, unitUpdateToMessage(units, options.removedUnitIds ?? [], options.complete ?? false));
  }

  publishStimulus(event: StimulusEvent): void {
    if (!this.hasSubscribers(Topic.stimulus)) return;
    this.broadcast(Topic.stimulus, this.types.StimulusEvent, stimulusToMessage(event));
  }

  /** Publishes a BCI output; its names are sent when they change and at least once a second. */
  publishBci(output: BciOutput): void {
    if (!this.hasSubscribers(Topic.bci)) return;
    const key = output.names.join('\u0000');
    const now = this.clock.nowNs();
    const last = this.bciNamesSent.get(output.streamId);
    // Names are repeated once a second so that a client that subscribes later learns them.
    const includeNames = !last || last.key !== key || now - last.atNs >= 1e9;
    if (includeNames) this.bciNamesSent.set(output.streamId, { key, atNs: now });
    this.broadcast(Topic.bci, this.types.BciOutput, bciToMessage(output, includeNames));
  }

  /** Publishes the daemon's status with the bus's own counters added. */
  publishStatus(status: DaemonStatus): void {
    if (!this.hasSubscribers(Topic.status)) return;
    this.broadcast(Topic.status, this.types.Status, statusToMessage({ ...status, bus: this.stats() }));
  }

  stats(): BusStats {
    return { clients: this.connections.size, messagesDropped: this.messagesDropped, messagesSent: this.messagesSent };
  }

  clients(): BusClientInfo[] {
    return [...this.connections].map((c) => ({
      clientId: c.id,
      remote: c.remote,
      clientName: c.clientName,
      tokenName: c.identity?.tokenName ?? null,
      subscriptions: DATA_TOPICS.filter((_, i) => (c.subscriptions & (1 << i)) !== 0),
      bufferedBytes: c.socket.bufferedAmount,
      sent: c.sent,
      dropped: Object.fromEntries(DATA_TOPICS.map((t, i) => [t, c.droppedTotal[i]])) as Record<DataTopicName, number>,
    }));
  }

  private hasSubscribers(topicId: number): boolean {
    return this.subscriberCount[dataIndex(topicId)] > 0;
  }

  private broadcast(topicId: number, type: protobuf.Type, message: object): void {
    const index = dataIndex(topicId);
    if (this.subscriberCount[index] === 0) return;
    const sequence = this.topicSequence[index]++;
    const frame = this.encoder.encode(type, message, topicId, FLAG_DROPPABLE, sequence);
    const bit = 1 << index;
    const ceiling = this.config.maxBufferedBytes;
    for (const c of this.connections) {
      if ((c.subscriptions & bit) === 0 || c.closing) continue;
      if (c.socket.bufferedAmount > ceiling) {
        c.droppedTotal[index]++;
        c.droppedSinceNotice[index]++;
        c.dropsPending = true;
        this.messagesDropped++;
        continue;
      }
      c.socket.send(frame);
      c.sent++;
      this.messagesSent++;
    }
  }

  /** Tells each client that lost messages since the last notice how many (every droppedNoticeMs). */
  sendDroppedNotices(): void {
    for (const c of this.connections) {
      if (!c.dropsPending || c.closing) continue;
      const total = [];
      const since = [];
      for (let i = 0; i < DATA_TOPIC_COUNT; i++) {
        const topic = Topic[DATA_TOPICS[i]];
        if (c.droppedTotal[i] > 0) total.push({ topic, count: c.droppedTotal[i] });
        if (c.droppedSinceNotice[i] > 0) since.push({ topic, count: c.droppedSinceNotice[i] });
      }
      c.droppedSinceNotice.fill(0);
      c.dropsPending = false;
      this.sendControl(c, { dropped: { total, sinceLastNotice: since } });
    }
  }

  // ------------------------------------------------------------------------------ connections

  private onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (request.url ?? '').split('?')[0];
    if (path !== BUS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (this.connections.size >= this.config.maxClients) {
      this.log('warn', `bus: refused a connection from ${request.socket.remoteAddress}: ${this.config.maxClients} clients already (bus.maxClients)`);
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.onConnection(ws, request));
  }

  private onConnection(socket: WebSocket, request: IncomingMessage): void {
    const remote = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
    const c = new Connection(this.nextClientId++, socket, remote, new TokenBucket(this.config.messagesPerS, this.config.burst, this.clock));
    this.connections.add(c);
    c.helloTimer = this.timers.setTimeout(() => {
      if (!c.identity && !c.closing) this.refuseAndClose(c, { code: 'E_BUS_AUTH', message: `no hello within ${this.config.helloTimeoutMs} ms of connecting; send Hello { token } first` });
    }, this.config.helloTimeoutMs);
    socket.on('message', (data: RawData, isBinary: boolean) => this.onMessage(c, data, isBinary));
    socket.on('close', () => this.onClose(c));
    socket.on('error', (error: Error & { code?: string }) => {
      // ws has already started closing (e.g. 1009 for a message above 4 × maxMessageBytes).
      this.log('warn', `bus: client ${c.id} (${remote}): ${error.code ?? ''} ${error.message}`);
    });
  }

  private onClose(c: Connection): void {
    if (!this.connections.delete(c)) return;
    this.timers.clearTimeout(c.helloTimer);
    this.setSubscriptions(c, 0);
    this.log('info', `bus: client ${c.id} (${c.clientName || c.remote}) disconnected`);
  }

  private setSubscriptions(c: Connection, mask: number): void {
    for (let i = 0; i < DATA_TOPIC_COUNT; i++) {
      const before = (c.subscriptions >> i) & 1;
      const after = (mask >> i) & 1;
      this.subscriberCount[i] += after - before;
    }
    c.subscriptions = mask;
  }

  private onMessage(c: Connection, raw: RawData, isBinary: boolean): void {
    if (c.closing) return;
    const data = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
    if (!c.identity) {
      this.onUnauthenticatedMessage(c, data, isBinary);
      return;
    }
    if (!c.bucket.take()) {
      // The emergency stop is never rate limited: decode to see whether this is one.
      const decoded = this.decodeClientMessage(data, isBinary);
      if ('message' in decoded && decoded.message.body === 'command' && decoded.message.command.command === 'estop') {
        this.handleCommand(c, decoded.message.command);
        return;
      }
      c.rateRefused++;
      const requestId = 'message' in decoded && decoded.message.body === 'command' ? decoded.message.command.requestId >>> 0 : 0;
      const now = this.clock.nowNs();
      if (requestId !== 0) {
        // A refused command is always answered, so that its sender is not left waiting.
        this.sendError(c, { code: 'E_BUS_RATE', message: `command refused: more than ${this.config.messagesPerS} messages/s (burst ${this.config.burst})`, requestId });
        return;
      }
      // At most one E_BUS_RATE frame a second: refusals must not become a flood of their own.
      if (now - c.lastRateErrorNs >= 1e9) {
        c.lastRateErrorNs = now;
        this.sendError(c, {
          code: 'E_BUS_RATE',
          message: `more than ${this.config.messagesPerS} messages/s (burst ${this.config.burst}); ${c.rateRefused} message(s) refused so far; the emergency stop is never refused`,
        });
      }
      return;
    }
    const decoded = this.decodeClientMessage(data, isBinary);
    if ('refusal' in decoded) {
      this.sendError(c, decoded.refusal);
      return;
    }
    const m = decoded.message;
    switch (m.body) {
      case 'hello':
        this.sendError(c, { code: 'E_BUS_MALFORMED', message: 'hello: this connection is already authenticated' });
        return;
      case 'subscribe':
      case 'unsubscribe':
        this.handleSubscription(c, m.body, m[m.body].topics as number[]);
        return;
      case 'command':
        this.handleCommand(c, m.command);
        return;
      case 'ping':
        this.sendControl(c, { pong: { nonce: m.ping.nonce } });
        return;
      default:
        this.sendError(c, { code: 'E_BUS_MALFORMED', message: 'ClientMessage: no body set; expected one of hello, subscribe, unsubscribe, command, ping' });
    }
  }

  private onUnauthenticatedMessage(c: Connection, data: Buffer, isBinary: boolean): void {
    const decoded = this.decodeClientMessage(data, isBinary);
    if ('refusal' in decoded) {
      this.refuseAndClose(c, { code: decoded.refusal.code, message: `${decoded.refusal.message} (before authentication: closing)` });
      return;
    }
    const m = decoded.message;
    if (m.body !== 'hello') {
      this.refuseAndClose(c, { code: 'E_BUS_AUTH', message: `expected Hello { token } as the first message, got ${m.body ?? 'an empty ClientMessage'}` });
      return;
    }
    const token = typeof m.hello.token === 'string' ? m.hello.token : '';
    const identity = token ? this.auth.authenticate(token) : null;
    if (!identity) {
      this.log('warn', `bus: client ${c.id} (${c.remote}) presented ${token ? 'an unknown token' : 'no token'}`);
      this.refuseAndClose(c, { code: 'E_BUS_AUTH', message: token ? 'unknown token' : 'hello without a token' });
      return;
    }
    this.timers.clearTimeout(c.helloTimer);
    c.identity = identity;
    c.clientName = String(m.hello.clientName ?? '').slice(0, 128);
    this.log('info', `bus: client ${c.id} (${c.clientName || c.remote}) authenticated as ${identity.tokenName}`);
    this.sendControl(c, {
      welcome: {
        clientId: c.id,
        serverVersion: this.options.serverVersion ?? '',
        rig: this.options.rig ?? '',
        tokenName: identity.tokenName,
        permissions: [...identity.permissions].map(permissionId),
        topics: DATA_TOPICS.map((t) => Topic[t]),
        limits: {
          maxMessageBytes: this.config.maxMessageBytes,
          messagesPerS: this.config.messagesPerS,
          burst: this.config.burst,
          maxBufferedBytes: this.config.maxBufferedBytes,
        },
        protocolVersion: PROTOCOL_VERSION,
      },
    });
  }

  /** Checks size, frame type, header and topic, then decodes the ClientMessage. */
  // protobufjs decodes into untyped messages; fields are read by name below.
  private decodeClientMessage(data: Buffer, isBinary: boolean): { message: any } | { refusal: Refusal } { // eslint-disable-line @typescript-eslint/no-explicit-any
    if (data.length > this.config.maxMessageBytes) {
      return { refusal: { code: 'E_BUS_TOO_LARGE', message: `message of ${data.length} bytes exceeds the limit of ${this.config.maxMessageBytes} bytes (bus.maxMessageBytes)` } };
    }
    if (!isBinary) return { refusal: { code: 'E_BUS_MALFORMED', message: 'text message; the bus speaks binary frames (16-byte header + protobuf, docs/bus.md)' } };
    const headerProblem = checkHeader(data);
    if (headerProblem) return { refusal: { code: 'E_BUS_MALFORMED', message: `frame header: ${headerProblem}` } };
    const topic = readTopic(data);
    if (topic !== Topic.control) {
      return { refusal: { code: 'E_BUS_MALFORMED', message: `frame header byte 4: topic ${topic}; clients send only control frames (topic ${Topic.control})` } };
    }
    try {
      return { message: this.types.ClientMessage.decode(data.subarray(HEADER_BYTES)) };
    } catch (error) {
      return { refusal: { code: 'E_BUS_MALFORMED', message: `payload is not a valid ClientMessage: ${(error as Error).message}` } };
    }
  }

  private handleSubscription(c: Connection, kind: 'subscribe' | 'unsubscribe', topics: readonly number[]): void {
    if (!c.identity?.permissions.has('subscribe')) {
      this.sendError(c, { code: 'E_BUS_PERMISSION', message: `${kind}: token "${c.identity?.tokenName}" lacks the subscribe permission` });
      return;
    }
    let mask = 0;
    for (const id of topics) {
      if (!isDataTopicId(id)) {
        this.sendError(c, { code: 'E_BUS_MALFORMED', message: `${kind}: topic ${id} is not a data topic; expected one of ${DATA_TOPICS.map((t) => `${t} (${Topic[t]})`).join(', ')}` });
        return;
      }
      mask |= 1 << dataIndex(id);
    }
    this.setSubscriptions(c, kind === 'subscribe' ? c.subscriptions | mask : c.subscriptions & ~mask);
    this.sendControl(c, { subscribed: { topics: DATA_TOPICS.filter((_, i) => (c.subscriptions & (1 << i)) !== 0).map((t) => Topic[t]) } });
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private handleCommand(c: Connection, request: any): void {
    const requestId = (request.requestId as number) >>> 0;
    const parsed = messageToCommand(request);
    if ('error' in parsed) {
      this.sendError(c, { code: 'E_BUS_MALFORMED', message: parsed.error, requestId });
      return;
    }
    const command: DaemonCommand = parsed.command;
    const needed = requiredPermission(command);
    if (needed && !c.identity?.permissions.has(needed)) {
      this.log('warn', `bus: refused ${command.kind} from client ${c.id} (${c.identity?.tokenName}): needs the ${needed} permission`);
      this.sendError(c, { code: 'E_BUS_PERMISSION', message: `${command.kind} needs the ${needed} permission, which token "${c.identity?.tokenName}" lacks`, requestId });
      return;
    }
    let result: CommandResult;
    try {
      result = this.options.commands.handle(command, `bus:${c.identity?.tokenName}#${c.id}`);
    } catch (error) {
      const e = error as Error & { code?: string };
      result = { ok: false, code: typeof e.code === 'string' && e.code.startsWith('E_') ? e.code : 'E_INTERNAL', message: e.message };
    }
    this.sendControl(c, { commandResult: { requestId, ok: result.ok, code: result.code ?? '', message: result.message } });
  }

  // ------------------------------------------------------------------------------ per-client sends

  private sendControl(c: Connection, body: object): void {
    const frame = this.encoder.encode(this.types.ServerMessage, body, Topic.control, 0, c.controlSequence++);
    this.sendUndroppable(c, frame);
  }

  private sendError(c: Connection, refusal: Refusal, closing = false): void {
    const frame = this.encoder.encode(
      this.types.BusError,
      { code: refusal.code, message: refusal.message, requestId: refusal.requestId ?? 0, closing },
      Topic.error,
      0,
      c.controlSequence++,
    );
    this.sendUndroppable(c, frame);
  }

  private sendUndroppable(c: Connection, frame: Buffer): void {
    if (c.closing || c.socket.readyState !== 1) return;
    c.socket.send(frame);
    c.sent++;
    if (c.socket.bufferedAmount > this.config.closeBufferedBytes) {
      this.log('warn', `bus: client ${c.id} (${c.remote}) has ${c.socket.bufferedAmount} bytes unsent (bus.closeBufferedBytes): disconnecting`);
      c.closing = true;
      c.socket.terminate();
    }
  }

  private refuseAndClose(c: Connection, refusal: Refusal): void {
    this.sendError(c, refusal, true);
    c.closing = true;
    this.timers.clearTimeout(c.helloTimer);
    c.socket.close(CLOSE_POLICY, refusal.code);
  }

  private log(level: 'info' | 'warn', message: string): void {
    this.options.log?.(level, message);
  }
}
