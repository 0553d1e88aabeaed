/**
 * The device end of an emulated serial device: opens the device side of a pty pair, reads the
 * host's bytes into the emulator's protocol handler, and writes the emulator's replies, with the
 * transport faults a real rig shows injected on the way out:
 *
 *  - fragmentation: each reply cut into one-byte writes, or into random fragments;
 *  - garbage: random bytes slipped between replies (line noise, a port scanner's echo);
 *  - stalls: output held back for a while, then released (a congested USB link);
 *  - mute: output dropped (a hung device), detach: the device end closed, and — through the
 *    PtyPair — an unplug (socat killed: both ends vanish).
 */
import { Observable, Subject } from 'rxjs';
import type { BindingPort } from '../../drivers/binding/binding.js';
import { SerialBinding } from '../../drivers/binding/serial-binding.js';
import { systemTimers, type TimerHandle, type Timers } from '../../drivers/binding/timers.js';
import { isOptoloopError } from '../../src/core/errors.js';
import { SeededRandom } from '../../src/core/random.js';

export type Fragmentation = 'none' | 'bytewise' | 'random';

export interface LinkFaults {
  /** How each reply is cut into writes. */
  fragmentation: Fragmentation;
  /** Largest fragment for `random` fragmentation. */
  maxFragmentBytes: number;
  /** Probability, per reply, that a burst of garbage bytes goes out before it. */
  garbageProbability: number;
  /** Largest garbage burst. */
  garbageMaxBytes: number;
  /**
   * Pause between fragments (on the link's timers), so that the host's reads see them apart:
   * without it, back-to-back one-byte writes may be coalesced by the pty into one read.
   */
  fragmentGapMs: number;
}

export const noFaults: LinkFaults = { fragmentation: 'none', maxFragmentBytes: 7, garbageProbability: 0, garbageMaxBytes: 8, fragmentGapMs: 0 };

export interface EmulatorLinkOptions {
  /** The device end of the pty pair. */
  readonly path: string;
  /** Host → device bytes, with the time (timers' clock, ns) the read returned. */
  readonly onBytes: (bytes: Uint8Array, offset: number, length: number, receiveTimeNs: number) => void;
  readonly faults?: Partial<LinkFaults>;
  /** Seed of the fault generator (fragment sizes, garbage). */
  readonly seed?: number;
  readonly timers?: Timers;
  /** How to open the path; default the serial binding at 115200 baud (a pty ignores the rate). */
  readonly openPort?: (path: string) => Promise<BindingPort>;
  /**
   * Bytes a garbage burst may not contain: an emulator excludes the bytes that would make a
   * burst look like a valid frame start to the host (e.g. a reply code), so that the faults test
   * resynchronisation, not the parser's luck.
   */
  readonly garbageExcludes?: readonly number[];
}

export type LinkEvent = { readonly type: 'attached' } | { readonly type: 'detached'; readonly reason: string };

export class EmulatorLink {
  readonly events$: Observable<LinkEvent>;
  /** Bytes actually written to the pty, garbage included. */
  bytesWritten = 0;
  /** Garbage bursts queued (each is one run of noise between two replies). */
  garbageBursts = 0;
  /** Write calls made (one per fragment). */
  writeCount = 0;
  garbageBytesWritten = 0;
  /** Bytes dropped because the link was muted or detached. */
  bytesDiscarded = 0;

  private readonly events = new Subject<LinkEvent>();
  private readonly timers: Timers;
  private readonly random: SeededRandom;
  private faults: LinkFaults;
  private port: BindingPort | null = null;
  private closing = false;
  private muted = false;
  private stallTimer: TimerHandle | null = null;
  private readonly queue: Uint8Array[] = [];
  private writing = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: EmulatorLinkOptions) {
    this.events$ = this.events.asObservable();
    this.timers = options.timers ?? systemTimers;
    this.random = new SeededRandom(options.seed ?? 1);
    this.faults = { ...noFaults, ...options.faults };
  }

  get attached(): boolean {
    return this.port !== null;
  }

  /** Opens the device end and starts reading. */
  async attach(): Promise<void> {
    if (this.port) return;
    this.closing = false;
    const port = this.options.openPort ? await this.options.openPort(this.options.path) : await new SerialBinding().open({ path: this.options.path, baudRate: 115200 });
    this.port = port;
    this.events.next({ type: 'attached' });
    void this.readLoop(port);
    this.pump();
  }

  /** Closes the device end (the emulated device lets go of its port; the host sees silence). */
  async detach(): Promise<void> {
    const port = this.port;
    if (!port) return;
    this.closing = true;
    this.port = null;
    await port.close().catch(() => undefined);
    this.events.next({ type: 'detached', reason: 'closed by the emulator' });
    this.releaseIdle();
  }

  setFaults(faults: Partial<LinkFaults>): void {
    this.faults = { ...this.faults, ...faults };
  }

  /** While muted, everything the device would send is dropped (a hung device). */
  mute(muted: boolean): void {
    this.muted = muted;
  }

  /** Holds output for `durationMs` (on the injected timers), then sends it all. */
  stall(durationMs: number): void {
    if (this.stallTimer) this.timers.clearTimeout(this.stallTimer);
    this.stallTimer = this.timers.setTimeout(() => {
      this.stallTimer = null;
      this.pump();
    }, durationMs);
  }

  /** Queues bytes for the host (copied: the caller may reuse its buffer). */
  send(bytes: Uint8Array): void {
    if (this.muted || !this.port) {
      this.bytesDiscarded += bytes.length;
      return;
    }
    if (this.random.next() < this.faults.garbageProbability) this.queue.push(this.garbage());
    this.queue.push(bytes.slice());
    this.pump();
  }

  /** Sends these bytes as they are, outside any protocol (for explicit garbage tests). */
  sendRaw(bytes: Uint8Array): void {
    if (!this.port) return;
    this.queue.push(bytes.slice());
    this.pump();
  }

  /** Resolves once everything queued so far has been written (or dropped by a detach). */
  idle(): Promise<void> {
    if (!this.writing && (this.queue.length === 0 || !this.port)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.stallTimer) this.timers.clearTimeout(this.stallTimer);
    this.stallTimer = null;
    await this.detach();
    this.events.complete();
  }

  private garbage(): Uint8Array {
    const excluded = this.options.garbageExcludes ?? [];
    const out = new Uint8Array(1 + this.random.int(this.faults.garbageMaxBytes));
    for (let i = 0; i < out.length; i++) {
      let b: number;
      do b = this.random.int(256);
      while (excluded.includes(b));
      out[i] = b;
    }
    // Counted when queued: these bytes are meant as garbage whatever fragment carries them.
    this.garbageBytesWritten += out.length;
    this.garbageBursts++;
    return out;
  }

  private pump(): void {
    if (this.writing || this.stallTimer || !this.port) return;
    void this.writeAll();
  }

  private async writeAll(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0 && !this.stallTimer) {
        const port = this.port;
        if (!port) break;
        const chunk = this.queue.shift() as Uint8Array;
        try {
          for (let offset = 0; offset < chunk.length; ) {
            const size = this.fragmentSize(chunk.length - offset);
            if (offset > 0 && this.faults.fragmentGapMs > 0) await this.gap(this.faults.fragmentGapMs);
            await port.write(chunk.subarray(offset, offset + size));
            this.writeCount++;
            this.bytesWritten += size;
            offset += size;
          }
        } catch (error) {
          this.lost(port, error);
          break;
        }
      }
    } finally {
      this.writing = false;
      if (this.queue.length === 0 || !this.port) this.releaseIdle();
    }
  }

  private gap(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.timers.setTimeout(resolve, delayMs));
  }

  private fragmentSize(remaining: number): number {
    switch (this.faults.fragmentation) {
      case 'bytewise':
        return 1;
      case 'random':
        return Math.min(remaining, 1 + this.random.int(this.faults.maxFragmentBytes));
      default:
        return remaining;
    }
  }

  private releaseIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private async readLoop(port: BindingPort): Promise<void> {
    const buffer = new Uint8Array(4096);
    for (;;) {
      let bytesRead: number;
      try {
        bytesRead = (await port.read(buffer, 0, buffer.length)).bytesRead;
      } catch (error) {
        if (this.port === port && !this.closing) this.lost(port, error);
        return;
      }
      if (this.port !== port) return;
      this.options.onBytes(buffer, 0, bytesRead, this.timers.clock.nowNs());
    }
  }

  private lost(port: BindingPort, error: unknown): void {
    if (this.port !== port) return;
    this.port = null;
    this.queue.length = 0;
    void port.close().catch(() => undefined);
    const reason = isOptoloopError(error) ? error.message : String(error);
    this.events.next({ type: 'detached', reason });
    this.releaseIdle();
  }
}
