/**
 * One device link, whatever carries it (serial port, TCP socket, USB endpoint, a mock): opens the
 * port with retries, runs the read loop into one reused buffer feeding a protocol parser, keeps the
 * live counters the dashboard shows, reconnects with capped exponential backoff when the device
 * vanishes, and notices a device that falls silent while it should be streaming.
 *
 * Drivers own a DeviceConnection and give it:
 *  - `open()`: how to reach the device (e.g. `() => serial.open({ path, baudRate })`);
 *  - a `ByteParser`: every byte read is handed to it synchronously, in order, before the next read
 *    is issued, so whatever a read delivered is decoded even if the link dies a moment later;
 *  - `onOpen`: the handshake / re-initialisation run after every (re)open while the read loop
 *    already runs (so replies arrive); the link counts as connected only once it resolves.
 *
 * Outcomes of a read: bytes → parser; `E_READ_CANCELLED` after our own close → a normal end, no
 * event; anything else (`E_DEVICE_DISCONNECTED`, an I/O error) → an `error` event, the port is
 * closed, and a reconnection is scheduled (or the state becomes `failed` when reconnection is off
 * or exhausted).
 */
import { Observable, Subject } from 'rxjs';
import { OptoloopError, isOptoloopError } from '../../src/core/errors.js';
import type { DeviceStatus } from '../../src/core/status.js';
import { backoffDelayMs, defaultReconnectBackoff, validateBackoff, type BackoffOptions } from './backoff.js';
import { deviceDisconnected, isReadCancelled, type BindingPort } from './binding.js';
import { systemTimers, type TimerHandle, type Timers } from './timers.js';
import { Watchdog } from './watchdog.js';

/** A protocol decoder fed by the read loop. */
export interface ByteParser {
  /**
   * Consumes `bytes[offset … offset + length)` synchronously. The buffer is reused for the next
   * read: a parser that needs bytes later copies them into its own (preallocated) buffer.
   */
  feed(bytes: Uint8Array, offset: number, length: number, hostReceiveTimeNs: number): void;
  /** The link was lost or reopened: drop any partially received frame. Must not throw. */
  reset(): void;
}

/** Live counters of a link; they only grow. Parsers increment blocks, resyncs and drops. */
export interface LinkCounters {
  /** Bytes read from the device. */
  bytes: number;
  /** Protocol units decoded (packets, replies, blocks: the driver says which). */
  blocks: number;
  /** Times the parser discarded bytes to find the next frame boundary. */
  resyncs: number;
  /** Units known lost upstream (counter gaps, incomplete frames). */
  drops: number;
  /** Successful reopenings after the device vanished. */
  reconnects: number;
}

export function createLinkCounters(): LinkCounters {
  return { bytes: 0, blocks: 0, resyncs: 0, drops: 0, reconnects: 0 };
}

export type ConnectionState = DeviceStatus['state'];

export type ConnectionEvent =
  | { readonly type: 'state'; readonly state: ConnectionState; readonly timeNs: number }
  | { readonly type: 'error'; readonly error: OptoloopError; readonly timeNs: number }
  | { readonly type: 'warning'; readonly message: string; readonly timeNs: number }
  | { readonly type: 'reconnect-scheduled'; readonly attempt: number; readonly delayMs: number; readonly timeNs: number };

export interface ReconnectOptions extends BackoffOptions {
  /** Consecutive failed reopen attempts after which the link gives up (`failed`); null: never. */
  readonly maxAttempts: number | null;
  /** A link that stayed connected at least this long starts its next outage's backoff afresh. */
  readonly healthyAfterMs: number;
}

export const defaultReconnect: ReconnectOptions = { ...defaultReconnectBackoff, maxAttempts: null, healthyAfterMs: 10_000 };

export interface DeviceConnectionOptions {
  /** The device's configured name (rig config key), for logs, errors and the dashboard. */
  readonly name: string;
  /** Driver kind, e.g. `openbci`, `pulsepal`. */
  readonly kind: string;
  /** Error attribution, e.g. `drivers/openbci`. Defaults to `drivers/<kind>`. */
  readonly stage?: string;
  readonly open: () => Promise<BindingPort>;
  readonly parser: ByteParser;
  /** The counters to keep (default a fresh set): pass the set the parser also increments. */
  readonly counters?: LinkCounters;
  /** Handshake / re-initialisation after each (re)open; a rejection counts as a failed attempt. */
  readonly onOpen?: (connection: DeviceConnection, isReconnect: boolean) => Promise<void>;
  /** Size of the one read buffer (default 4096). */
  readonly readBufferBytes?: number;
  readonly timers?: Timers;
  /** Tries for the initial `open()` before it rejects (default 3). */
  readonly openAttempts?: number;
  readonly openBackoff?: BackoffOptions;
  /** Reconnection after the device vanished; null disables it (the link then fails). */
  readonly reconnect?: ReconnectOptions | null;
  /** While data is expected (`expectData(true)`), no byte for this long is `E_DEVICE_TIMEOUT`. Null: never. */
  readonly silenceTimeoutMs?: number | null;
  /** On silence: close and reopen the link (default), or only report it. */
  readonly silenceAction?: 'reconnect' | 'report';
  /** Ask the port for low-latency mode after each open (default true); warn once where it cannot. */
  readonly lowLatency?: boolean;
  readonly log?: { warn(message: string): void };
}

interface QueuedWrite {
  readonly data: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class DeviceConnection {
  readonly name: string;
  readonly kind: string;
  readonly stage: string;
  readonly counters: LinkCounters;
  readonly events$: Observable<ConnectionEvent>;

  private readonly events = new Subject<ConnectionEvent>();
  private readonly readBuffer: Uint8Array;
  private readonly timers: Timers;
  private readonly reconnectOptions: ReconnectOptions | null;
  private readonly openBackoff: BackoffOptions;
  private readonly silenceTimeoutMs: number | null;

  private currentState: ConnectionState = 'disconnected';
  private port: BindingPort | null = null;
  /** Bumped on every open and every loss: a read loop or handshake of an older generation stops. */
  private generation = 0;
  private closing = false;
  /** Reopen attempts since the link was last healthy: indexes the backoff schedule. */
  private attempt = 0;
  /** Reopen attempts that failed in a row: compared with maxAttempts. */
  private consecutiveFailures = 0;
  private connectedAtNs: number | null = null;
  private reconnectTimer: TimerHandle | null = null;
  private lowLatencyWarned = false;
  private lastErrorMessage: string | null = null;
  private lossListeners: Array<(error: OptoloopError) => void> = [];

  private expecting = false;
  private readonly silence: Watchdog;
  private silenceReported = false;

  private readonly writeQueue: QueuedWrite[] = [];
  private writing = false;

  constructor(private readonly options: DeviceConnectionOptions) {
    this.name = options.name;
    this.kind = options.kind;
    this.stage = options.stage ?? `drivers/${options.kind}`;
    this.events$ = this.events.asObservable();
    this.counters = options.counters ?? createLinkCounters();
    const size = options.readBufferBytes ?? 4096;
    if (!(Number.isInteger(size) && size > 0)) {
      throw new OptoloopError('E_OPTIONS_INVALID', `${this.stage}: readBufferBytes expects a positive integer, got ${size}`, { stage: this.stage });
    }
    this.readBuffer = new Uint8Array(size);
    this.timers = options.timers ?? systemTimers;
    this.reconnectOptions = options.reconnect === undefined ? defaultReconnect : options.reconnect;
    if (this.reconnectOptions) validateBackoff(this.reconnectOptions, this.stage);
    this.openBackoff = validateBackoff(options.openBackoff ?? { initialDelayMs: 200, factor: 2, maxDelayMs: 2000 }, this.stage);
    const silence = options.silenceTimeoutMs ?? null;
    if (silence !== null && !(silence > 0)) {
      throw new OptoloopError('E_OPTIONS_INVALID', `${this.stage}: silenceTimeoutMs expects a positive number or null, got ${silence}`, { stage: this.stage });
    }
    this.silenceTimeoutMs = silence;
    this.silence = new Watchdog(this.timers);
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** True while a port is open and its handshake has completed. */
  get isConnected(): boolean {
    return this.currentState === 'connected';
  }

  get lastError(): string | null {
    return this.lastErrorMessage;
  }

  /** The status line the daemon publishes for this device. */
  status(): DeviceStatus & { readonly reconnects: number } {
    return {
      name: this.name,
      kind: this.kind,
      state: this.currentState,
      bytes: this.counters.bytes,
      blocks: this.counters.blocks,
      resyncs: this.counters.resyncs,
      drops: this.counters.drops,
      reconnects: this.counters.reconnects,
      lastError: this.lastErrorMessage,
    };
  }

  /**
   * Opens the device, retrying `openAttempts` times with backoff; resolves once `onOpen` has
   * completed. Rejects with the last attempt's error (and the state becomes `failed`).
   */
  async open(): Promise<void> {
    if ((this.currentState !== 'disconnected' && this.currentState !== 'failed') || this.closing) {
      throw new OptoloopError('E_SOURCE_STATE', `${this.name}: open() called while the link is ${this.closing ? 'closing' : this.currentState}`, {
        stage: this.stage,
      });
    }
    const attempts = this.options.openAttempts ?? 3;
    this.setState('connecting');
    for (let attempt = 0; ; attempt++) {
      try {
        await this.connectOnce(false);
        return;
      } catch (error) {
        const failure = this.asError(error, 'E_DEVICE_NOT_FOUND');
        if (this.closing) throw failure;
        this.emitError(failure);
        if (attempt + 1 >= attempts) {
          this.setState('failed');
          throw failure;
        }
        await this.sleep(backoffDelayMs(this.openBackoff, attempt));
        if (this.closing) throw failure;
      }
    }
  }

  /** Closes the port (a pending read ends as cancelled, not as an error) and completes `events$`. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.generation++;
    this.expecting = false;
    this.disarmSilence();
    if (this.reconnectTimer) {
      this.timers.clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
    }
    const port = this.port;
    this.port = null;
    this.failQueuedWrites(deviceDisconnected(port?.path ?? this.name, new Error('closed by optoloop')));
    this.notifyLoss(new OptoloopError('E_DEVICE_DISCONNECTED', `${this.name}: link closed by optoloop`, { stage: this.stage }));
    if (port) await port.close().catch(() => undefined);
    this.options.parser.reset();
    this.setState('disconnected');
    this.events.complete();
  }

  /**
   * Writes bytes to the device. Writes are queued and issued one at a time in call order (two
   * writes in flight on the thread pool could reach the device reordered); when the queue is idle
   * the write is issued synchronously, inside this call. Rejects with E_DEVICE_DISCONNECTED when
   * no port is open. The caller must not modify `data` until the promise settles.
   */
  write(data: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.writeQueue.push({ data, resolve, reject });
      if (!this.writing) void this.pumpWrites();
    });
  }

  /**
   * write() for the stimulation path: when nothing is queued or in flight and the transport can
   * write synchronously (BindingPort.writeNow), the bytes are handed to the OS inside this call
   * and it returns null; otherwise — or for what the OS did not take at once — it returns write()'s
   * promise. Order is kept: the synchronous path is taken only when no earlier write is pending.
   */
  writeNow(data: Uint8Array): Promise<void> | null {
    const port = this.port;
    if (!port?.writeNow || this.writing || this.writeQueue.length > 0) return this.write(data);
    let written: number;
    try {
      written = port.writeNow(data);
    } catch (error) {
      const failure = this.asError(error, 'E_DEVICE_DISCONNECTED');
      this.linkLost(port, failure);
      return Promise.reject(failure);
    }
    if (written >= data.length) return null;
    return this.write(written > 0 ? data.subarray(written) : data);
  }

  /** Streaming has started (true) or stopped (false): arms or disarms the silence watchdog. */
  expectData(expecting: boolean): void {
    this.expecting = expecting;
    this.silenceReported = false;
    if (expecting) {
      this.silence.kick();
      this.armSilence();
    } else {
      this.disarmSilence();
    }
  }

  /** Publishes a driver-level error (protocol, refused command) on `events$` and in `lastError`. */
  reportError(error: OptoloopError): void {
    this.emitError(error);
  }

  /** Publishes a warning on `events$` and the log. */
  warn(message: string): void {
    (this.options.log ?? console).warn(message);
    this.events.next({ type: 'warning', message, timeNs: this.timers.clock.nowNs() });
  }

  /**
   * The driver judged the link broken (a handshake answered with garbage, a device that stopped
   * replying): closes it and reconnects, exactly as if the device had vanished.
   */
  drop(error: OptoloopError): void {
    if (this.port) this.linkLost(this.port, error);
  }

  /**
   * Registers a callback run once when the current link is lost or closed (used by drivers to
   * fail requests waiting for a reply). Returns a function that unregisters it.
   */
  onLoss(listener: (error: OptoloopError) => void): () => void {
    this.lossListeners.push(listener);
    return () => {
      this.lossListeners = this.lossListeners.filter((l) => l !== listener);
    };
  }

  // ---------------------------------------------------------------------------------------------

  private async connectOnce(isReconnect: boolean): Promise<void> {
    const generation = ++this.generation;
    const port = await this.options.open();
    if (generation !== this.generation || this.closing) {
      await port.close().catch(() => undefined);
      throw new OptoloopError('E_READ_CANCELLED', `${this.name}: open abandoned because the link was closed`, { stage: this.stage });
    }
    this.port = port;
    this.options.parser.reset();
    if (this.options.lowLatency !== false) {
      const lowLatency = await port.setLowLatency();
      if (!lowLatency && !this.lowLatencyWarned) {
        this.lowLatencyWarned = true;
        this.warn(
          `${this.name}: ${port.path} cannot be put in low-latency mode (not an FTDI/USB serial adapter, e.g. a pseudo-terminal); ` +
            'carrying on. On FTDI adapters set the latency timer to 1 ms with the udev rule in drivers/README.md.',
        );
      }
    }
    if (generation !== this.generation) throw this.lostDuringOpen(port);
    void this.readLoop(port, generation);
    if (this.options.onOpen) {
      let unregister: (() => void) | null = null;
      const lost = new Promise<never>((_, reject) => {
        unregister = this.onLoss(reject);
      });
      try {
        await Promise.race([this.options.onOpen(this, isReconnect), lost]);
      } catch (error) {
        if (this.port === port) {
          this.generation++;
          this.port = null;
          this.notifyLoss(this.asError(error, 'E_DEVICE_PROTOCOL'));
          await port.close().catch(() => undefined);
        }
        throw error;
      } finally {
        (unregister as (() => void) | null)?.();
        lost.catch(() => undefined);
      }
    }
    if (generation !== this.generation || this.closing) throw this.lostDuringOpen(port);
    this.connectedAtNs = this.timers.clock.nowNs();
    if (isReconnect) this.counters.reconnects++;
    this.setState('connected');
    this.armSilence();
  }

  private lostDuringOpen(port: BindingPort): OptoloopError {
    return deviceDisconnected(port.path, new Error('lost during the handshake'));
  }

  private async readLoop(port: BindingPort, generation: number): Promise<void> {
    const buffer = this.readBuffer;
    const parser = this.options.parser;
    for (;;) {
      let bytesRead: number;
      try {
        bytesRead = (await port.read(buffer, 0, buffer.length)).bytesRead;
      } catch (error) {
        if (generation !== this.generation || this.closing) return;
        this.linkLost(port, isReadCancelled(error) ? deviceDisconnected(port.path, error) : this.asError(error, 'E_DEVICE_DISCONNECTED'));
        return;
      }
      if (generation !== this.generation) return;
      const now = this.timers.clock.nowNs();
      this.counters.bytes += bytesRead;
      this.silence.kick(now);
      try {
        parser.feed(buffer, 0, bytesRead, now);
      } catch (error) {
        // A parser bug must not kill the link: report it and keep reading.
        this.emitError(this.asError(error, 'E_INTERNAL'));
      }
      if (this.silenceReported) {
        this.silenceReported = false;
        this.armSilence();
      }
    }
  }

  private linkLost(port: BindingPort, error: OptoloopError): void {
    if (this.port !== port || this.closing) return;
    const wasConnected = this.currentState === 'connected';
    this.generation++;
    this.port = null;
    this.disarmSilence();
    void port.close().catch(() => undefined);
    this.options.parser.reset();
    this.failQueuedWrites(error);
    this.notifyLoss(error);
    if (!wasConnected) return; // a handshake in progress fails and its caller retries
    this.emitError(error);
    const reconnect = this.reconnectOptions;
    if (!reconnect) {
      this.setState('failed');
      return;
    }
    const now = this.timers.clock.nowNs();
    if (this.connectedAtNs !== null && now - this.connectedAtNs >= reconnect.healthyAfterMs * 1e6) this.attempt = 0;
    this.setState('reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const reconnect = this.reconnectOptions;
    if (!reconnect || this.closing) return;
    if (reconnect.maxAttempts !== null && this.consecutiveFailures >= reconnect.maxAttempts) {
      this.emitError(
        new OptoloopError('E_DEVICE_DISCONNECTED', `${this.name}: gave up reconnecting after ${this.consecutiveFailures} failed attempts`, {
          stage: this.stage,
          details: { attempts: this.consecutiveFailures },
        }),
      );
      this.setState('failed');
      return;
    }
    // Every attempt moves along the schedule, successful or not, so that a device that reconnects
    // and drops again at once (a flapping cable) is retried ever more slowly until it stays up.
    const delayMs = backoffDelayMs(reconnect, this.attempt);
    this.events.next({ type: 'reconnect-scheduled', attempt: this.attempt, delayMs, timeNs: this.timers.clock.nowNs() });
    this.attempt++;
    this.reconnectTimer = this.timers.setTimeout(() => {
      this.reconnectTimer = null;
      void this.tryReconnect();
    }, delayMs);
  }

  private async tryReconnect(): Promise<void> {
    if (this.closing) return;
    try {
      await this.connectOnce(true);
      this.consecutiveFailures = 0;
    } catch (error) {
      if (this.closing) return;
      this.consecutiveFailures++;
      this.emitError(this.asError(error, 'E_DEVICE_NOT_FOUND'));
      this.scheduleReconnect();
    }
  }

  private async pumpWrites(): Promise<void> {
    this.writing = true;
    while (this.writeQueue.length > 0) {
      const item = this.writeQueue.shift() as QueuedWrite;
      const port = this.port;
      if (!port) {
        item.reject(new OptoloopError('E_DEVICE_DISCONNECTED', `${this.name}: cannot write, the device is ${this.currentState}`, { stage: this.stage }));
        continue;
      }
      try {
        await port.write(item.data);
        item.resolve();
      } catch (error) {
        const failure = this.asError(error, 'E_DEVICE_DISCONNECTED');
        item.reject(failure);
        this.linkLost(port, failure);
      }
    }
    this.writing = false;
  }

  private failQueuedWrites(error: OptoloopError): void {
    while (this.writeQueue.length > 0) (this.writeQueue.shift() as QueuedWrite).reject(error);
  }

  private notifyLoss(error: OptoloopError): void {
    const listeners = this.lossListeners;
    this.lossListeners = [];
    for (const listener of listeners) listener(error);
  }

  private armSilence(): void {
    if (this.silenceTimeoutMs === null || !this.expecting || this.silence.armed || this.currentState !== 'connected') return;
    this.silence.arm(this.silenceTimeoutMs, this.onSilence);
  }

  private disarmSilence(): void {
    this.silence.disarm();
  }

  /** Bound once: the watchdog saw no byte for silenceTimeoutMs while data was expected. */
  private readonly onSilence = (silentMs: number): void => {
    const timeoutMs = this.silenceTimeoutMs;
    if (timeoutMs === null || !this.expecting || this.currentState !== 'connected' || !this.port) return;
    const error = new OptoloopError(
      'E_DEVICE_TIMEOUT',
      `${this.name}: no data from ${this.port.path} for ${Math.round(silentMs)} ms while streaming (timeout ${timeoutMs} ms)`,
      { stage: this.stage, details: { path: this.port.path, silentMs, timeoutMs } },
    );
    if ((this.options.silenceAction ?? 'reconnect') === 'reconnect' && this.reconnectOptions) {
      this.linkLost(this.port, error);
    } else {
      this.silenceReported = true;
      this.emitError(error);
    }
  };

  private sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      this.reconnectTimer = this.timers.setTimeout(() => {
        this.reconnectTimer = null;
        resolve();
      }, delayMs);
    });
  }

  private setState(state: ConnectionState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.events.next({ type: 'state', state, timeNs: this.timers.clock.nowNs() });
  }

  private emitError(error: OptoloopError): void {
    this.lastErrorMessage = error.toString();
    this.events.next({ type: 'error', error, timeNs: this.timers.clock.nowNs() });
  }

  private asError(error: unknown, code: OptoloopError['code']): OptoloopError {
    if (isOptoloopError(error)) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new OptoloopError(code, `${this.name}: ${message}`, { stage: this.stage, cause: error });
  }
}
