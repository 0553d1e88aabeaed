import { Subject } from 'rxjs';
import { OptoloopError } from '../../src/core/errors.js';
import type { ByteParser, DeviceConnection } from '../binding/device-connection.js';
import type { TimerHandle, Timers } from '../binding/timers.js';
import { FrameWriter, PayloadReader, readError, readTrainDone, type DeviceErrorReply, type TrainDoneEvent } from './codec.js';
import { deviceRefused } from './device-error.js';
import { FrameParser } from './frame-parser.js';
import { ERROR_FLAG_SEQ_UNVERIFIED, FRAME_ENCODED_MAX_BYTES, FRAME_HEADER_BYTES, FRAME_MIN_BYTES, Op, REPLY_BIT, opName } from './protocol.js';

const STAGE = 'drivers/firmware-bridge';
/** PROTOCOL.md §4.3: at most this many requests in flight. */
export const MAX_OUTSTANDING = 64;
/** Transmit buffers: one per outstanding request, and a few for raw writes. */
const TX_SLOTS = MAX_OUTSTANDING + 8;

/** How a request ended: the reply's payload (valid only during the call), the device's refusal, or a failure. */
export type RequestOutcome =
  | { readonly kind: 'reply'; readonly reader: PayloadReader; readonly receiveTimeNs: number; readonly hostWriteTimeNs: number }
  | { readonly kind: 'refused'; readonly error: OptoloopError; readonly reply: DeviceErrorReply; readonly receiveTimeNs: number; readonly hostWriteTimeNs: number }
  | { readonly kind: 'failed'; readonly error: OptoloopError; readonly hostWriteTimeNs: number };

interface Pending {
  readonly seq: number;
  readonly op: number;
  hostWriteTimeNs: number;
  timer: TimerHandle | null;
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
  /** Reads that brought bytes: with bytes arriving one by one this approaches the byte count. */
  reads: number;
}

export interface BridgeClientOptions {
  /** Names the device in messages, e.g. the port path. */
  readonly device: string;
  readonly requestTimeoutMs: number;
  readonly timers: Timers;
  /** First sequence number; random by default (§4.1). */
  readonly firstSeq?: number;
}

/**
 * The request/reply layer of the firmware-bridge protocol over a DeviceConnection (which owns the
 * port, the read loop, serialized writes and reconnection): it is the connection's ByteParser,
 * numbers requests, matches replies, times requests out, and delivers events. `send()` encodes
 * into a transmit buffer allocated at construction and hands it to the connection at once (written
 * synchronously when no write is in flight), so a trigger never waits for anything.
 */
export class BridgeClient implements ByteParser {
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
  /** Frames received per op, and device errors per code: protocol coverage for diagnostics and tests. */
  readonly framesByOp = new Uint32Array(256);
  readonly errorsByCode = new Uint32Array(256);
  /** TRAIN_DONE events. */
  readonly events$ = new Subject<TrainDoneEvent>();
  /** Device errors that belong to no request (damaged frames the host never sent, §4.6). */
  readonly deviceErrors$ = new Subject<OptoloopError>();

  private readonly writer = new FrameWriter();
  private readonly reader = new PayloadReader(this.parser.frame, FRAME_HEADER_BYTES, 0);
  private readonly pending = new Map<number, Pending>();
  private readonly tx: Uint8Array[] = [];
  private readonly txBusy = new Uint8Array(TX_SLOTS);
  private txNext = 0;
  private seq: number;
  private lastEventSeq = -1;
  private connection: DeviceConnection | null = null;
  private closed = false;

  constructor(private readonly options: BridgeClientOptions) {
    this.seq = (options.firstSeq ?? Math.floor(Math.random() * 0x10000)) & 0xffff;
    for (let i = 0; i < TX_SLOTS; i++) this.tx.push(new Uint8Array(FRAME_ENCODED_MAX_BYTES + 2));
  }

  /**
   * Called from the connection's onOpen for every (re)opened link, before the handshake: fails
   * whatever is outstanding when this link is lost, and sends a lone delimiter to flush the line (§3.4).
   */
  attach(connection: DeviceConnection): void {
    this.connection = connection;
    this.lastEventSeq = -1;
    connection.onLoss((error) => this.failAll(error));
    const slot = this.acquire(Op.HELLO);
    this.tx[slot][0] = 0;
    this.transmit(slot, 1, null);
  }

  /** The sequence number the next request will carry. */
  get nextSeq(): number {
    return this.seq;
  }
  get outstanding(): number {
    return this.pending.size;
  }

  /**
   * Sends a request and returns its sequence number at once; `done` is called exactly once with
   * the outcome. `fill` writes the payload into the frame writer and returns its length.
   * Throws E_SINK_STATE when closed or when too many requests are outstanding.
   */
  send(op: number, fill: ((writer: FrameWriter) => number) | null, done: (outcome: RequestOutcome) => void): number {
    const slot = this.acquire(op);
    const seq = this.seq;
    this.seq = (this.seq + 1) & 0xffff;
    this.writer.begin(op, seq);
    const payloadLength = fill ? fill(this.writer) : 0;
    const length = this.writer.finish(payloadLength, this.tx[slot], 0);
    this.transmit(slot, length, this.track(seq, op, done));
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
    const connection = this.requireConnection(op);
    const pending = expectSeq !== null && done ? this.track(expectSeq & 0xffff, op, done) : null;
    connection.write(bytes.slice()).then(
      () => this.written(pending, bytes.length),
      (error: unknown) => this.writeFailed(pending, error),
    );
  }

  /** Encodes one frame into a new array (for sendRaw); `corruptCrc` damages its CRC. */
  buildFrame(op: number, seq: number, fill: ((writer: FrameWriter) => number) | null, corruptCrc = false): Uint8Array {
    const out = new Uint8Array(FRAME_ENCODED_MAX_BYTES + 1);
    this.writer.begin(op, seq);
    const end = this.writer.finish(fill ? fill(this.writer) : 0, out, 0, corruptCrc);
    return out.slice(0, end);
  }

  /** Fails whatever is outstanding and completes the event streams. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new OptoloopError('E_SINK_STATE', `${this.options.device}: closed with the request outstanding`, { stage: STAGE }));
    this.events$.complete();
    this.deviceErrors$.complete();
  }

  // ByteParser ----------------------------------------------------------------------------------

  feed(bytes: Uint8Array, offset: number, length: number, hostReceiveTimeNs: number): void {
    this.counters.reads++;
    const resyncsBefore = this.parser.counters.resyncs;
    const end = offset + length;
    let at = offset;
    while (at < end) {
      at = this.parser.feed(bytes, at, end);
      if (this.parser.frameLength > 0) this.dispatch(hostReceiveTimeNs);
    }
    if (this.connection) this.connection.counters.resyncs += this.parser.counters.resyncs - resyncsBefore;
  }

  reset(): void {
    this.parser.reset();
  }

  // ---------------------------------------------------------------------------------------------

  private requireConnection(op: number): DeviceConnection {
    const connection = this.connection;
    if (this.closed || !connection || connection.state === 'failed' || connection.state === 'disconnected') {
      throw new OptoloopError('E_SINK_STATE', `${this.options.device}: cannot send ${opName(op)}: the link is ${this.closed ? 'closed' : connection?.state ?? 'not open'}`, {
        stage: STAGE,
      });
    }
    return connection;
  }

  private acquire(op: number): number {
    this.requireConnection(op);
    if (this.pending.size >= MAX_OUTSTANDING) throw this.queueFull(op);
    for (let k = 0; k < TX_SLOTS; k++) {
      const slot = (this.txNext + k) % TX_SLOTS;
      if (this.txBusy[slot] === 0) {
        this.txNext = (slot + 1) % TX_SLOTS;
        return slot;
      }
    }
    throw this.queueFull(op);
  }

  private queueFull(op: number): OptoloopError {
    return new OptoloopError('E_SINK_STATE', `${this.options.device}: cannot send ${opName(op)}: ${MAX_OUTSTANDING} requests already outstanding`, {
      stage: STAGE,
    });
  }

  private transmit(slot: number, length: number, pending: Pending | null): void {
    // A synchronous non-blocking write when the link is idle (DeviceConnection.writeNow): the bytes
    // are with the OS before send() returns, not after a thread-pool write and a turn of the loop.
    const write = this.connection!.writeNow(this.tx[slot].subarray(0, length));
    if (write === null) {
      this.written(pending, length);
      return;
    }
    this.txBusy[slot] = 1;
    // The buffer stays untouched until the write settles (the connection's contract).
    write.then(
      () => {
        this.txBusy[slot] = 0;
        this.written(pending, length);
      },
      (error: unknown) => {
        this.txBusy[slot] = 0;
        this.writeFailed(pending, error);
      },
    );
  }

  private writeFailed(pending: Pending | null, error: unknown): void {
    if (!pending || this.pending.get(pending.seq) !== pending) return;
    this.finish(pending);
    const failure = error instanceof OptoloopError ? error : new OptoloopError('E_DEVICE_DISCONNECTED', `${this.options.device}: write failed: ${String(error)}`, { stage: STAGE, cause: error });
    pending.done({ kind: 'failed', error: failure, hostWriteTimeNs: 0 });
  }

  private written(pending: Pending | null, length: number): void {
    this.counters.bytesWritten += length;
    if (pending && pending.hostWriteTimeNs === 0) pending.hostWriteTimeNs = this.options.timers.clock.nowNs();
  }

  private track(seq: number, op: number, done: (outcome: RequestOutcome) => void): Pending {
    const previous = this.pending.get(seq);
    if (previous) {
      // Only after 65 536 requests without answers; the old one can no longer be told apart.
      this.finish(previous);
      previous.done({ kind: 'failed', error: this.timeoutError(previous), hostWriteTimeNs: previous.hostWriteTimeNs });
    }
    const pending: Pending = { seq, op, hostWriteTimeNs: 0, timer: null, done };
    pending.timer = this.options.timers.setTimeout(() => this.expire(pending), this.options.requestTimeoutMs);
    this.pending.set(seq, pending);
    this.counters.requests++;
    return pending;
  }

  private finish(p: Pending): void {
    this.pending.delete(p.seq);
    if (p.timer) this.options.timers.clearTimeout(p.timer);
    p.timer = null;
  }

  private expire(p: Pending): void {
    p.timer = null;
    if (this.pending.get(p.seq) !== p) return;
    this.pending.delete(p.seq);
    this.counters.timeouts++;
    if (this.connection) this.connection.counters.drops++;
    p.done({ kind: 'failed', error: this.timeoutError(p), hostWriteTimeNs: p.hostWriteTimeNs });
  }

  private dispatch(receiveTimeNs: number): void {
    const frame = this.parser.frame;
    const length = this.parser.frameLength;
    const op = frame[0];
    const seq = frame[1] | (frame[2] << 8);
    const reader = this.reader.at(FRAME_HEADER_BYTES, length - FRAME_MIN_BYTES);
    this.framesByOp[op]++;
    if (this.connection) this.connection.counters.blocks++;
    if (op === Op.TRAIN_DONE) {
      this.counters.events++;
      if (this.lastEventSeq >= 0) {
        const lost = (seq - this.lastEventSeq - 1 + 0x10000) & 0xffff;
        this.counters.eventsLost += lost;
        if (this.connection) this.connection.counters.drops += lost;
      }
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
      this.finish(p);
      this.counters.refusals++;
      p.done({ kind: 'refused', error, reply, receiveTimeNs, hostWriteTimeNs: p.hostWriteTimeNs || receiveTimeNs });
      return;
    }
    const p = this.pending.get(seq);
    if (!p || (op & REPLY_BIT) === 0 || (p.op | REPLY_BIT) !== op) {
      this.counters.unmatchedReplies++;
      return;
    }
    this.finish(p);
    this.counters.replies++;
    p.done({ kind: 'reply', reader, receiveTimeNs, hostWriteTimeNs: p.hostWriteTimeNs || receiveTimeNs });
  }

  private timeoutError(p: Pending): OptoloopError {
    return new OptoloopError(
      'E_DEVICE_TIMEOUT',
      `${this.options.device}: no reply to ${opName(p.op)} (seq ${p.seq}) within ${this.options.requestTimeoutMs} ms; is the device running the optoloop bridge firmware?`,
      { stage: STAGE, details: { device: this.options.device, op: opName(p.op), seq: p.seq, timeoutMs: this.options.requestTimeoutMs } },
    );
  }

  private failAll(error: OptoloopError): void {
    const all = [...this.pending.values()];
    for (const p of all) this.finish(p);
    for (const p of all) p.done({ kind: 'failed', error, hostWriteTimeNs: p.hostWriteTimeNs });
  }
}
