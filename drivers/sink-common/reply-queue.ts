/**
 * Requests written to a device that answers each one in turn (Pulse Pal's 0x01 confirmations,
 * Thorlabs' `e?` replies): a FIFO of requests awaiting their reply, each with a reply timeout. A
 * reply settles the oldest request; a failed write, a refusal or a lost link settles the one
 * concerned or all of them; a request that times out fails, and the link is then out of step with
 * the device, so `onTimeout` is told (the drivers drop and reopen the link).
 */
import type { OptoloopError } from '../../src/core/errors.js';
import type { TimerHandle, Timers } from '../binding/timers.js';

export interface ReplyTimes {
  /** When the write returned (the reply time when the reply came first). */
  readonly writeNs: number;
  readonly replyNs: number;
}

interface Entry<R, T> {
  readonly request: R;
  readonly resolve: (reply: T) => void;
  readonly reject: (error: OptoloopError) => void;
  timer: TimerHandle | null;
  writeNs: number;
  settled: boolean;
}

export interface ReplyQueueOptions<R, T> {
  readonly timers: Timers;
  /** What `send()` resolves with, from the request and its times (called as the reply arrives). */
  readonly reply: (request: R, times: ReplyTimes) => T;
  readonly write: (bytes: Uint8Array) => Promise<void>;
  /** What a failed write threw, as the request's error. */
  readonly asError: (error: unknown) => OptoloopError;
  /** The error of a request whose reply did not come within its timeout. */
  readonly timeoutError: (request: R, timeoutMs: number) => OptoloopError;
  /** After a request timed out (and failed). */
  readonly onTimeout: (error: OptoloopError) => void;
  /** A request left the queue without its reply (failed, timed out, or the link was lost). */
  readonly onAbandoned?: (request: R) => void;
}

export class ReplyQueue<R, T = ReplyTimes> {
  private entries: Entry<R, T>[] = [];

  constructor(private readonly options: ReplyQueueOptions<R, T>) {}

  /** Requests written whose reply has not come yet. */
  get length(): number {
    return this.entries.length;
  }

  /** The oldest request awaiting its reply. */
  get head(): R | undefined {
    return this.entries[0]?.request;
  }

  /** Writes `bytes` and resolves once `resolveHead()` reaches this request; rejects on failure. */
  send(request: R, bytes: Uint8Array, timeoutMs: number): Promise<T> {
    const { timers } = this.options;
    return new Promise<T>((resolve, reject) => {
      const entry: Entry<R, T> = { request, resolve, reject, timer: null, writeNs: 0, settled: false };
      this.entries.push(entry);
      entry.timer = timers.setTimeout(() => this.timedOut(entry, timeoutMs), timeoutMs);
      this.options.write(bytes).then(
        () => {
          entry.writeNs = timers.clock.nowNs();
        },
        (error: unknown) => this.fail(entry, this.options.asError(error)),
      );
    });
  }

  /** The reply to the oldest request arrived at `replyNs`. */
  resolveHead(replyNs: number): void {
    const entry = this.entries.shift();
    if (!entry || entry.settled) return;
    entry.settled = true;
    if (entry.timer) this.options.timers.clearTimeout(entry.timer);
    entry.resolve(this.options.reply(entry.request, { writeNs: entry.writeNs || replyNs, replyNs }));
  }

  /** The device refused the oldest request. */
  rejectHead(error: OptoloopError): void {
    const entry = this.entries[0];
    if (entry) this.fail(entry, error);
  }

  /** Fails every request waiting (the link was lost or closed). */
  failAll(error: OptoloopError): void {
    for (const entry of [...this.entries]) this.fail(entry, error);
    this.entries = [];
  }

  private timedOut(entry: Entry<R, T>, timeoutMs: number): void {
    entry.timer = null;
    const error = this.options.timeoutError(entry.request, timeoutMs);
    this.fail(entry, error);
    this.options.onTimeout(error);
  }

  private fail(entry: Entry<R, T>, error: OptoloopError): void {
    if (entry.settled) return;
    entry.settled = true;
    if (entry.timer) this.options.timers.clearTimeout(entry.timer);
    const index = this.entries.indexOf(entry);
    if (index >= 0) {
      this.entries.splice(index, 1);
      this.options.onAbandoned?.(entry.request);
    }
    entry.reject(error);
  }
}
