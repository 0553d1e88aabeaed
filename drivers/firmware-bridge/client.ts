import { Subject } from 'rxjs';
import { OptoloopError } from '../../src/core/errors.js';
import type { MonotonicClock } from '../../src/core/clock.js';
import { deviceDisconnected, isReadCancelled, type BindingPort } from '../binding/binding.js';
import { FrameWriter, PayloadReader, readError, readTrainDone, type DeviceErrorReply, type TrainDoneEvent } from './codec.js';
import { deviceRefused } from './device-error.js';
import { FrameParser } from './frame-parser.js';
import { ERROR_FLAG_SEQ_UNVERIFIED, FRAME_ENCODED_MAX_BYTES, FRAME_HEADER_BYTES, FRAME_MIN_BYTES, Op, REPLY_BIT, opName } from './protocol.js';

const STAGE = 'drivers/firmware-bridge';
/** PROTOCOL.md §4.3: at most this many requests in flight. */
export const MAX_OUTSTANDING = 64;
const QUEUE_BYTES = MAX_OUTSTANDING * (FRAME_ENCODED_MAX_BYTES + 2);

/** How a request ended: the reply's payload (valid only during the call), the device's refusal, or a failure. */
export type RequestOutcome =
  | { readonly kind: 'reply'; readonly reader: PayloadReader; readonly receiveTimeNs: number; readonly hostWriteTimeNs: number }
  | { readonly kind: 'refused'; readonly error: OptoloopError; readonly reply: DeviceErrorReply; readonly receiveTimeNs: number; readonly hostWriteTimeNs: number }
  | { readonly kind: 'failed'; readonly error: OptoloopError; readonly hostWriteTimeNs: number };

interface Pending {
  readonly seq: number;
  readonly op: number;
  readonly deadlineNs: number;
  hostWriteTimeNs: number;
  readonly done: (outcome: RequestOutcome) => void;
}

export interface BridgeClientCounters {
  requests: number;
  replies: number;
  refusals: number;
  timeouts: number;
  /** Replies that matched no pending request (late after a timeout, or a wrong op). */
  unmatchedReplies: number;
  /** Device errors about frames it could not attribute (§4.6), matching no pending request. */
  unattributedErrors: number;
  events: number;
  /** Gaps in the device's event sequence (§4.5). */
  eventsLost: number;
  bytesWritten: number;
  /** Reads that returned data: with bytes arriving one by one this approaches the byte count. */
  reads: number;
}

export interface BridgeClientOptions {
  /** Names the device in messages, e.g. the port path. */
  readonly device: string;
  readonly requestTimeoutMs: number;
  readonly clock: MonotonicClock;
  /** First sequence number; random by default (§4.1). */
  readonly firstSeq?: number;
}

/**
 * The request/reply layer of the firmware-bridge protocol over one open port: sequence numbers,
 * matching replies to requests, timeouts, events, and the write queue. Writes are issued
 * synchronously: frames go into a staging buffer that is handed to the port at once when no write
 * is in flight, or as soon as the current one returns (the serial binding must not overlap writes).
 * Nothing is allocated per byte; one small record per request.
 */
export class BridgeClient {
  readonly parser = new FrameParser();
  readonly counters: BridgeClientCounters = {
    requests: 0,
    replies: 0,
    refusals: 0,
    timeouts: 0,
    unmatchedReplies: 0,
    unattributedErrors: 0,
    events: 0,
    eventsLost: 0,
    bytesWritten: 0,
    reads: 0,
  };
  /** TRAIN_DONE events. */
  readonly events$ = new Subject<TrainDoneEvent>();
  /** Device errors that belong to no request (damaged frames the host never sent, §4.6). */
  readonly deviceErrors$ = new Subject<OptoloopError>();
  /** Frames received per op, and device errors per code: protocol coverage for diagnostics and tests. */
  readonly framesByOp = new Uint32Array(256);
  readonly errorsByCode = new Uint32Array(256);
  /** Called once when the port fails (not when we close it). */
  onLost: ((error: OptoloopError) => void) | null = null;

  private readonly writer = new FrameWriter();
  private readonly reader = new PayloadReader(this.parser.frame, FRAME_HEADER_BYTES, 0);
  private readonly pending = new Map<number, Pending>();
  private staging = new Uint8Array(QUEUE_BYTES);
  private stagingLength = 0;
  private stagingSeqs: number[] = [];
  private inflight = new Uint8Array(QUEUE_BYTES);
  private inflightSeqs: number[] = [];
  private writing = false;
  private readonly readBuffer = new Uint8Array(4096);
  private seq: number;
  private lastEventSeq = -1;
  private closed = false;
  private lost = false;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly port: BindingPort,
    private readonly options: BridgeClientOptions,
  ) {
    this.seq = (options.firstSeq ?? Math.floor(Math.random() * 0x10000)) & 0xffff;
  }

  /** Starts reading and sweeping timeouts; sends a lone delimiter to flush the line (§3.4). */
  start(): void {
    this.staging[this.stagingLength++] = 0;
    this.flush();
    void this.readLoop();
    const period = Math.max(5, Math.floor(this.options.requestTimeoutMs / 4));
    this.sweepTimer = setInterval(() => this.sweep(), period);
  }

  get isLost(): boolean {
    return this.lost;
  }
  get outstanding(): number {
    return this.pending.size;
  }
  /** The sequence number the next request will carry. */
  get nextSeq(): number {
    return this.seq;
  }

  /**
   * Sends a request and returns its sequence number at once; `done` is called exactly once with
   * the outcome. `fill` writes the payload into the frame writer and returns its length.
   * Throws E_SINK_STATE when the port is gone or too many requests are outstanding.
   */
  send(op: number, fill: ((writer: FrameWriter) => number) | null, done: (outcome: RequestOutcome) => void): number {
    this.assertUsable(op);
    const seq = this.seq;
    this.seq = (this.seq + 1) & 0xffff;
    this.writer.begin(op, seq);
    const payloadLength = fill ? fill(this.writer) : 0;
    this.stagingLength = this.writer.finish(payloadLength, this.staging, this.stagingLength);
    this.track(seq, op, done);
    return seq;
  }

  /** Promise form of send(); `decode` reads the reply synchronously (the frame buffer is reused). */
  request<T>(op: number, fill: ((writer: FrameWriter) => number) | null, decode: (reader: PayloadReader) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      try {
        this.send(op, fill, (outcome) => {
          if (outcome.kind === 'reply') {
            try {
              resolve(decode(outcome.reader));
            } catch (error) {
              reject(error);
            }
          } else reject(outcome.error);
        });
      } catch (error) {
        reject(error);
      }
    });
  }

  /**
   * Sends bytes as they are (diagnostics, and tests that must put damaged frames on the line). When
   * `expectSeq` is given, the device's answer to that sequence number is awaited like a reply.
   */
  sendRaw(bytes: Uint8Array, expectSeq: number | null, op: number, done: ((outcome: RequestOutcome) => void) | null): void {
    this.assertUsable(op);
    if (this.stagingLength + bytes.length > this.staging.length) throw this.queueFull(op);
    this.staging.set(bytes, this.stagingLength);
    this.stagingLength += bytes.length;
    if (expectSeq !== null && done) this.track(expectSeq & 0xffff, op, done);
    else this.flushSoon();
  }

  /** Encodes one frame into a new array (for sendRaw); `corruptCrc` damages its CRC. */
  buildFrame(op: number, seq: number, fill: ((writer: FrameWriter) => number) | null, corruptCrc = false): Uint8Array {
    const out = new Uint8Array(FRAME_ENCODED_MAX_BYTES + 1);
    this.writer.begin(op, seq);
    const end = this.writer.finish(fill ? fill(this.writer) : 0, out, 0, corruptCrc);
    return out.slice(0, end);
  }

  /** Stops reading, fails whatever is outstanding with E_SINK_STATE, and closes the port. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.failAll(new OptoloopError('E_SINK_STATE', `${this.options.device}: closed with the request outstanding`, { stage: STAGE }));
    await this.port.close().catch(() => undefined);
    this.events$.complete();
    this.deviceErrors$.complete();
  }

  private assertUsable(op: number): void {
    if (this.closed || this.lost) {
      throw new OptoloopError('E_SINK_STATE', `${this.options.device}: cannot send ${opName(op)}: the port is ${this.closed ? 'closed' : 'lost'}`, {
        stage: STAGE,
      });
    }
    if (this.pending.size >= MAX_OUTSTANDING || this.stagingLength + FRAME_ENCODED_MAX_BYTES + 1 > this.staging.length) throw this.queueFull(op);
  }

  private queueFull(op: number): OptoloopError {
    return new OptoloopError('E_SINK_STATE', `${this.options.device}: cannot send ${opName(op)}: ${MAX_OUTSTANDING} requests already outstanding`, {
      stage: STAGE,
    });
  }

  private track(seq: number, op: number, done: (outcome: RequestOutcome) => void): void {
    const previous = this.pending.get(seq);
    if (previous) {
      // Only after 65 536 requests without answers; the old one can no longer be told apart.
      this.pending.delete(seq);
      previous.done({ kind: 'failed', error: this.timeoutError(previous), hostWriteTimeNs: previous.hostWriteTimeNs });
    }
    this.pending.set(seq, { seq, op, deadlineNs: this.options.clock.nowNs() + this.options.requestTimeoutMs * 1e6, hostWriteTimeNs: 0, done });
    this.stagingSeqs.push(seq);
    this.counters.requests++;
    this.flush();
  }

  private flushSoon(): void {
    if (!this.writing) this.flush();
  }

  private flush(): void {
    if (this.writing || this.stagingLength === 0 || this.lost || this.closed) return;
    const data = this.staging;
    const length = this.stagingLength;
    this.staging = this.inflight;
    this.inflight = data;
    this.stagingLength = 0;
    const seqs = this.stagingSeqs;
    this.stagingSeqs = this.inflightSeqs;
    this.inflightSeqs = seqs;
    this.writing = true;
    this.port.write(data.subarray(0, length)).then(
      () => {
        const now = this.options.clock.nowNs();
        for (let i = 0; i < seqs.length; i++) {
          const p = this.pending.get(seqs[i]);
          if (p && p.hostWriteTimeNs === 0) p.hostWriteTimeNs = now;
        }
        seqs.length = 0;
        this.counters.bytesWritten += length;
        this.writing = false;
        this.flush();
      },
      (error: unknown) => {
        seqs.length = 0;
        this.writing = false;
        this.loseConnection(error);
      },
    );
  }

  private async readLoop(): Promise<void> {
    const buffer = this.readBuffer;
    while (!this.closed && !this.lost) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.port.read(buffer, 0, buffer.length));
      } catch (error) {
        if (this.closed || isReadCancelled(error)) return;
        this.loseConnection(error);
        return;
      }
      const receiveTimeNs = this.options.clock.nowNs();
      this.counters.reads++;
      let at = 0;
      while (at < bytesRead) {
        at = this.parser.feed(buffer, at, bytesRead);
        if (this.parser.frameLength > 0) this.dispatch(receiveTimeNs);
      }
    }
  }

  private dispatch(receiveTimeNs: number): void {
    const frame = this.parser.frame;
    const length = this.parser.frameLength;
    const op = frame[0];
    const seq = frame[1] | (frame[2] << 8);
    const reader = this.reader.at(FRAME_HEADER_BYTES, length - FRAME_MIN_BYTES);
    this.framesByOp[op]++;
    if (op === Op.TRAIN_DONE) {
      this.counters.events++;
      if (this.lastEventSeq >= 0) this.counters.eventsLost += (seq - this.lastEventSeq - 1 + 0x10000) & 0xffff;
      this.lastEventSeq = seq;
      try {
        this.events$.next(readTrainDone(reader, seq, this.options.device));
      } catch (error) {
        this.deviceErrors$.next(error as OptoloopError);
      }
      return;
    }
    if (op === Op.ERROR) {
      let reply: DeviceErrorReply;
      try {
        reply = readError(reader, this.options.device);
      } catch (error) {
        this.deviceErrors$.next(error as OptoloopError);
        return;
      }
      this.errorsByCode[reply.code]++;
      const error = deviceRefused(this.options.device, reply);
      const p = this.pending.get(seq);
      if (!p) {
        if (reply.flags & ERROR_FLAG_SEQ_UNVERIFIED) this.counters.unattributedErrors++;
        else this.counters.unmatchedReplies++;
        this.deviceErrors$.next(error);
        return;
      }
      this.pending.delete(seq);
      this.counters.refusals++;
      p.done({ kind: 'refused', error, reply, receiveTimeNs, hostWriteTimeNs: p.hostWriteTimeNs || receiveTimeNs });
      return;
    }
    const p = this.pending.get(seq);
    if (!p || (op & REPLY_BIT) === 0 || (p.op | REPLY_BIT) !== op) {
      this.counters.unmatchedReplies++;
      return;
    }
    this.pending.delete(seq);
    this.counters.replies++;
    p.done({ kind: 'reply', reader, receiveTimeNs, hostWriteTimeNs: p.hostWriteTimeNs || receiveTimeNs });
  }

  private sweep(): void {
    if (this.pending.size === 0) return;
    const now = this.options.clock.nowNs();
    for (const p of this.pending.values()) {
      if (p.deadlineNs > now) continue;
      this.pending.delete(p.seq);
      this.counters.timeouts++;
      p.done({ kind: 'failed', error: this.timeoutError(p), hostWriteTimeNs: p.hostWriteTimeNs });
    }
  }

  private timeoutError(p: Pending): OptoloopError {
    return new OptoloopError(
      'E_DEVICE_TIMEOUT',
      `${this.options.device}: no reply to ${opName(p.op)} (seq ${p.seq}) within ${this.options.requestTimeoutMs} ms; is the device running the optoloop bridge firmware?`,
      { stage: STAGE, details: { device: this.options.device, op: opName(p.op), seq: p.seq, timeoutMs: this.options.requestTimeoutMs } },
    );
  }

  private loseConnection(cause: unknown): void {
    if (this.lost || this.closed) return;
    this.lost = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    const error =
      cause instanceof OptoloopError && cause.code === 'E_DEVICE_DISCONNECTED' ? cause : deviceDisconnected(this.options.device, cause);
    this.failAll(error);
    void this.port.close().catch(() => undefined);
    this.onLost?.(error);
  }

  private failAll(error: OptoloopError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.done({ kind: 'failed', error, hostWriteTimeNs: p.hostWriteTimeNs });
  }
}
