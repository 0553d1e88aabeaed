import type { Socket } from 'node:net';

export type FragmentMode = 'none' | 'bytes' | 'random';

export interface WriteFaults {
  /** How each message is cut before it reaches the socket: whole, one byte per write, or random pieces. */
  fragment?: FragmentMode;
  /** Largest piece in `random` mode. */
  maxFragmentBytes?: number;
  /** Probability that random garbage goes out before a message (0…1). */
  garbageProbability?: number;
  /** Largest garbage run. */
  maxGarbageBytes?: number;
  /** Garbage byte alphabet: any byte, or only bytes that are not printable ASCII (for text protocols). */
  garbageKind?: 'binary' | 'non-printable';
  seed?: number;
}

/**
 * Writes an emulated device's messages to a socket, reproducing transport defects on demand:
 * fragmentation (each piece waits for the previous one to leave, so they travel as separate
 * segments), garbage between messages, stalls, and disconnects mid-message. Seeded, so a failing
 * run can be replayed. Honours backpressure: `queuedBytes` tells the device how far behind it is.
 */
export class FaultyWriter {
  fragment: FragmentMode;
  garbageProbability: number;
  /** Messages and garbage runs written, bytes that reached the socket. */
  bytesWritten = 0;
  garbageBytesWritten = 0;
  garbageRuns = 0;
  fragmentsWritten = 0;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private pumping = false;
  private stalled = false;
  private destroyed = false;
  private rng: number;
  private readonly maxFragmentBytes: number;
  private readonly maxGarbageBytes: number;
  private readonly garbageKind: 'binary' | 'non-printable';
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly socket: Socket,
    faults: WriteFaults = {},
  ) {
    this.fragment = faults.fragment ?? 'none';
    this.garbageProbability = faults.garbageProbability ?? 0;
    this.maxFragmentBytes = faults.maxFragmentBytes ?? 64;
    this.maxGarbageBytes = faults.maxGarbageBytes ?? 64;
    this.garbageKind = faults.garbageKind ?? 'binary';
    this.rng = (faults.seed ?? 1) >>> 0 || 1;
    socket.on('close', () => {
      this.destroyed = true;
      this.queue = [];
      this.queued = 0;
      this.wakeIdle();
    });
  }

  get queuedBytes(): number {
    return this.queued;
  }

  get isStalled(): boolean {
    return this.stalled;
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  /** Queues a message (copied: the caller may reuse its buffer). */
  write(message: Uint8Array): void {
    this.writeOwned(message.slice());
  }

  /** Queues a message the writer may keep (the caller never touches it again). */
  writeOwned(message: Uint8Array): void {
    if (this.destroyed) return;
    if (this.garbageProbability > 0 && this.random() / 4294967296 < this.garbageProbability) this.queueGarbage(1 + (this.random() % this.maxGarbageBytes));
    this.enqueue(message);
  }

  /** Queues `count` garbage bytes now, between the previous message and the next. */
  injectGarbage(count: number): void {
    if (!this.destroyed) this.queueGarbage(count);
  }

  /** Stops writing; queued and new messages wait. */
  stall(): void {
    this.stalled = true;
  }

  resume(): void {
    this.stalled = false;
    void this.pump();
  }

  /** Closes the connection now, mid-message if one is on its way: `reset` sends an RST, `end` a FIN. */
  disconnect(how: 'reset' | 'end' = 'reset'): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.queue = [];
    this.queued = 0;
    if (how === 'reset') this.socket.resetAndDestroy();
    else this.socket.destroy();
    this.wakeIdle();
  }

  /** Resolves when everything queued has been handed to the OS (or the socket is gone). */
  idle(): Promise<void> {
    if (this.queued === 0 || this.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private queueGarbage(count: number): void {
    const g = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const r = this.random();
      // Non-printable: 0x00–0x08, 0x0e–0x1f, 0x7f–0xff (never a character a text reply could hold).
      g[i] = this.garbageKind === 'binary' ? r & 0xff : nonPrintable(r);
    }
    this.garbageRuns++;
    this.garbageBytesWritten += count;
    this.enqueue(g);
  }

  private enqueue(bytes: Uint8Array): void {
    this.queue.push(bytes);
    this.queued += bytes.length;
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.stalled && !this.destroyed && this.queue.length) {
        const message = this.queue.shift() as Uint8Array;
        let at = 0;
        while (at < message.length && !this.destroyed) {
          const piece =
            this.fragment === 'none' ? message.length - at : this.fragment === 'bytes' ? 1 : 1 + (this.random() % this.maxFragmentBytes);
          const end = Math.min(message.length, at + piece);
          await this.send(message.subarray(at, end), this.fragment !== 'none');
          this.queued -= end - at;
          this.bytesWritten += end - at;
          at = end;
          while (this.stalled && !this.destroyed) await new Promise<void>((r) => setTimeout(r, 1));
        }
      }
    } finally {
      this.pumping = false;
      if (this.queued === 0 || this.destroyed) this.wakeIdle();
    }
  }

  private send(bytes: Uint8Array, separateSegment: boolean): Promise<void> {
    return new Promise((resolve) => {
      if (this.destroyed) return resolve();
      this.fragmentsWritten++;
      const ok = this.socket.write(bytes, () => (separateSegment ? setImmediate(resolve) : undefined));
      if (!separateSegment) {
        if (ok) resolve();
        else this.socket.once('drain', () => resolve());
      }
    });
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of w) resolve();
  }

  private random(): number {
    let x = this.rng;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.rng = x;
    return x;
  }
}

function nonPrintable(r: number): number {
  const choices = 9 + 18 + 129; // 0x00–0x08, 0x0e–0x1f, 0x7f–0xff
  const k = r % choices;
  if (k < 9) return k;
  if (k < 27) return 0x0e + (k - 9);
  return 0x7f + (k - 27);
}
