import { Observable, Subject } from 'rxjs';
import { OptoloopError, isOptoloopError } from '../../src/core/errors.js';
import type { SampleBlock } from '../../src/core/sample-block.js';
import { createSourceCounters, type SampleSource, type SourceState, type StreamInfo } from '../../src/core/sample-source.js';
import type { DeviceStatus } from '../../src/core/status.js';
import { Reconnector, type ReconnectPolicy } from './reconnect.js';
import type { Timers } from '../binding/timers.js';


/** What a network source knows about its link, beyond the stream counters. Counters only grow. */
export interface LinkStats {
  state: DeviceStatus['state'];
  /** Bytes received from the device over every session. */
  bytes: number;
  /** Times the parser lost the frame boundary and found it again. */
  resyncs: number;
  /** Bytes skipped while resynchronising (or that were not part of any reply). */
  garbageBytes: number;
  /** Sessions re-established after a failure. */
  reconnects: number;
  /** Failures that were timeouts (silent device). */
  timeouts: number;
  lastError: OptoloopError | null;
}

/**
 * The life cycle shared by the TCP sources (Intan RHX, SpikeGLX): open → start → stop → close, a
 * hot `blocks$`, and a supervisor that, from `open()` to `close()`, serves the current session and
 * — when it fails (device gone, silent, garbled beyond resynchronisation) — reports the error on
 * `errors$`, waits out the back-off and builds a new session, restarting acquisition if it was
 * running. `blocks$` errors only when the reconnection policy gives up, or when the device comes
 * back with a different stream (sample rate, channels, scale).
 *
 * Subclasses implement the session: connect + handshake, serve (read until failure), start/stop
 * acquisition, tear down. Reconnection policy lives here and in `reconnect.ts` only.
 */
export abstract class NetworkSampleSource implements SampleSource {
  abstract readonly kind: string;
  info: StreamInfo | null = null;
  readonly counters = createSourceCounters();
  readonly link: LinkStats = { state: 'disconnected', bytes: 0, resyncs: 0, garbageBytes: 0, reconnects: 0, timeouts: 0, lastError: null };
  readonly blocks$: Observable<SampleBlock>;
  /** Every failure that cost a session (each is followed by a reconnection attempt or by `blocks$` erroring). */
  readonly errors$: Observable<OptoloopError>;

  protected running = false;
  protected closing = false;
  private currentState: SourceState = 'closed';
  private readonly blocksSubject = new Subject<SampleBlock>();
  private readonly errorsSubject = new Subject<OptoloopError>();
  private readonly reconnector: Reconnector;
  private supervisor: Promise<void> | null = null;

  protected constructor(
    protected readonly stage: string,
    reconnectPolicy: ReconnectPolicy,
    protected readonly timers: Timers,
  ) {
    this.reconnector = new Reconnector(reconnectPolicy, timers);
    this.blocks$ = this.blocksSubject.asObservable();
    this.errors$ = this.errorsSubject.asObservable();
  }

  get state(): SourceState {
    return this.currentState;
  }

  /** Connects and runs the handshake; returns the stream description. Throws OptoloopError. */
  protected abstract connectSession(reconnecting: boolean): Promise<StreamInfo>;
  /** Serves the session until it fails (rejects) or the source closes (may resolve or reject). */
  protected abstract serveSession(): Promise<void>;
  /** Starts acquisition on a connected session. */
  protected abstract startDevice(): Promise<void>;
  /** Stops acquisition on a connected session. */
  protected abstract stopDevice(): Promise<void>;
  /** Closes the session's sockets. Never throws. */
  protected abstract teardownSession(): Promise<void>;

  async open(): Promise<StreamInfo> {
    this.expectState('open', ['closed']);
    this.closing = false;
    this.link.state = 'connecting';
    try {
      this.info = await this.connectSession(false);
    } catch (error) {
      await this.teardownSession();
      this.link.state = 'disconnected';
      throw this.note(error);
    }
    this.link.state = 'connected';
    this.currentState = 'opened';
    this.supervisor = this.supervise();
    return this.info;
  }

  async start(): Promise<void> {
    this.expectState('start', ['opened', 'stopped']);
    this.running = true;
    this.currentState = 'running';
    if (this.link.state !== 'connected') return; // the reconnection starts acquisition when it succeeds
    try {
      await this.startDevice();
    } catch (error) {
      // A session that died under us is the supervisor's to rebuild (it restarts acquisition);
      // anything else (the device refused) is the caller's to hear.
      if (isSessionLoss(error)) return;
      this.running = false;
      this.currentState = 'stopped';
      throw this.note(error);
    }
  }

  async stop(): Promise<void> {
    this.expectState('stop', ['running']);
    this.running = false;
    this.currentState = 'stopped';
    if (this.link.state !== 'connected') return;
    try {
      await this.stopDevice();
    } catch (error) {
      if (!isSessionLoss(error)) throw this.note(error);
    }
  }

  async close(): Promise<void> {
    if (this.currentState === 'closed') return;
    const wasRunning = this.running && this.link.state === 'connected';
    this.running = false;
    if (wasRunning) {
      try {
        await this.stopDevice();
      } catch {
        // Best effort: the device may already be gone; closing must still release everything.
      }
    }
    this.closing = true;
    this.reconnector.cancel();
    await this.teardownSession();
    await this.supervisor;
    this.supervisor = null;
    this.link.state = 'disconnected';
    if (this.currentState !== 'failed') this.blocksSubject.complete();
    this.errorsSubject.complete();
    this.currentState = 'closed';
  }

  /** The link as the daemon's status message shows it. */
  deviceStatus(name: string): DeviceStatus {
    return {
      name,
      kind: this.kind,
      state: this.link.state,
      bytes: this.link.bytes,
      blocks: this.counters.blocksDelivered,
      resyncs: this.link.resyncs,
      drops: this.counters.blocksDropped,
      lastError: this.link.lastError ? this.link.lastError.toString() : null,
    };
  }

  /** Hands a borrowed block to subscribers and counts it. */
  protected emit(block: SampleBlock): void {
    this.counters.blocksDelivered++;
    this.counters.framesDelivered += block.frameCount;
    this.blocksSubject.next(block);
  }

  protected countDropped(frames: number, blocks: number): void {
    this.counters.framesDropped += frames;
    this.counters.blocksDropped += blocks;
  }

  private async supervise(): Promise<void> {
    let reconnecting = false;
    while (!this.closing) {
      try {
        if (reconnecting) {
          this.link.state = 'reconnecting';
          const info = await this.connectSession(true);
          if (this.closing) break;
          this.checkSameStream(info);
          this.reconnector.recordSuccess(true);
          this.link.reconnects++;
          this.link.state = 'connected';
          reconnecting = false;
          if (this.running) await this.startDevice();
        }
        await this.serveSession();
        if (this.closing) break;
        throw new OptoloopError('E_INTERNAL', `${this.stage}: the session ended without an error`, { stage: this.stage });
      } catch (error) {
        if (this.closing) break;
        const failure = this.note(error);
        await this.teardownSession();
        if (isOptoloopError(failure, 'E_DEVICE_PROTOCOL') && failure.details.fatal === true) {
          this.fail(failure);
          return;
        }
        this.errorsSubject.next(failure);
        reconnecting = true;
        if (!this.reconnector.recordFailure()) {
          this.fail(
            new OptoloopError(failure.code, `${failure.message} (gave up after ${this.reconnector.failures - 1} reconnection attempt(s))`, {
              stage: this.stage,
              details: failure.details,
              cause: failure,
            }),
          );
          return;
        }
        this.link.state = 'reconnecting';
        await this.reconnector.wait();
      }
    }
  }

  private checkSameStream(info: StreamInfo): void {
    const before = this.info;
    if (!before) return;
    const problems: string[] = [];
    if (info.sampleRateHz !== before.sampleRateHz) problems.push(`sample rate ${info.sampleRateHz} Hz, expected ${before.sampleRateHz} Hz`);
    if (info.channelNames.join(',') !== before.channelNames.join(',')) problems.push(`channels ${info.channelNames.length} (${info.channelNames.slice(0, 4).join(', ')}…), expected ${before.channelNames.length}`);
    const a = info.uvPerCount;
    const b = before.uvPerCount;
    if (a && b && (a.length !== b.length || a.some((v, i) => v !== b[i]))) problems.push('a different µV-per-count scale');
    if (problems.length) {
      throw new OptoloopError('E_DEVICE_PROTOCOL', `${this.stage}: after reconnecting, the device streams ${problems.join('; ')}: a changed stream cannot continue this one`, {
        stage: this.stage,
        details: { fatal: true, problems },
      });
    }
  }

  private fail(error: OptoloopError): void {
    this.link.state = 'failed';
    this.link.lastError = error;
    this.running = false;
    this.currentState = 'failed';
    this.errorsSubject.next(error);
    this.blocksSubject.error(error);
  }

  private note(error: unknown): OptoloopError {
    const e =
      error instanceof OptoloopError
        ? error
        : new OptoloopError('E_INTERNAL', `${this.stage}: ${(error as Error)?.message ?? String(error)}`, { stage: this.stage, cause: error });
    this.link.lastError = e;
    if (e.code === 'E_DEVICE_TIMEOUT') this.link.timeouts++;
    return e;
  }

  private expectState(action: string, allowed: SourceState[]): void {
    if (!allowed.includes(this.currentState)) {
      throw new OptoloopError('E_SOURCE_STATE', `${this.stage}: cannot ${action} while ${this.currentState} (allowed when ${allowed.join(' or ')})`, {
        stage: this.stage,
        details: { action, state: this.currentState },
      });
    }
  }
}

/** Errors that mean the session is gone (the supervisor rebuilds it), as opposed to a refusal. */
export function isSessionLoss(error: unknown): boolean {
  return (
    isOptoloopError(error, 'E_DEVICE_DISCONNECTED') ||
    isOptoloopError(error, 'E_DEVICE_TIMEOUT') ||
    isOptoloopError(error, 'E_READ_CANCELLED') ||
    isOptoloopError(error, 'E_DEVICE_NOT_FOUND')
  );
}
