/**
 * Injectable timers, so that reconnection backoff, silence and reply timeouts, host-timed pulses
 * and the bus's and recorder's periodic work run in virtual time under test (`ManualTimers` on a
 * `ManualClock`) and in real time in the daemon. Every part of optoloop takes a `Timers`.
 */
import { ManualClock, systemClock, type MonotonicClock } from './clock.js';

/** An opaque handle returned by `setTimeout` and `setInterval`. */
export type TimerHandle = object;

export interface Timers {
  /** The clock these timers count on: `nowNs()` moves as timers come due. */
  readonly clock: MonotonicClock;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  /** Calls `callback` every `intervalMs` until cleared. */
  setInterval(callback: () => void, intervalMs: number): TimerHandle;
  /** Cancels a timeout or an interval; null, or a handle that already fired or was cleared, is ignored. */
  clearTimeout(handle: TimerHandle | null): void;
}

type NodeTimer = ReturnType<typeof setTimeout>;

function nodeTimers(unref: boolean): Timers {
  const keep = <T extends NodeTimer>(handle: T): T => (unref ? handle.unref() : handle);
  return {
    clock: systemClock,
    setTimeout: (callback, delayMs) => keep(setTimeout(callback, Math.max(0, delayMs))),
    setInterval: (callback, intervalMs) => keep(setInterval(callback, intervalMs)),
    // Node's clearTimeout clears intervals as well.
    clearTimeout: (handle) => clearTimeout((handle ?? undefined) as NodeTimer | undefined),
  };
}

/** Node's timers on the process's monotonic clock: a pending timer keeps the process alive (a reconnection, a pulse edge). */
export const systemTimers: Timers = nodeTimers(false);

/** Node's timers, unref'd: housekeeping (the bus's flushes, the recorder's flush) never keeps the process alive by itself. */
export const housekeepingTimers: Timers = nodeTimers(true);

interface ManualTimer {
  readonly id: number;
  dueNs: number;
  /** Null for a timeout. */
  readonly intervalNs: number | null;
  readonly callback: () => void;
}

/**
 * Timers that fire only when a test moves time forward: `advanceMs(250)` runs every timer due
 * within the next 250 ms in due order (ties in creation order), setting the clock to each timer's
 * due time before calling it, so a callback that reads the clock sees the time it was due.
 */
export class ManualTimers implements Timers {
  readonly clock: ManualClock;
  private readonly queue = new Set<ManualTimer>();
  private nextId = 1;

  constructor(clock: ManualClock = new ManualClock()) {
    this.clock = clock;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    return this.add(callback, Math.max(0, delayMs) * 1e6, null);
  }

  setInterval(callback: () => void, intervalMs: number): TimerHandle {
    // Node runs an interval below 1 ms every 1 ms; so do we (and a zero interval cannot spin advanceMs).
    const intervalNs = Math.max(1, intervalMs) * 1e6;
    return this.add(callback, intervalNs, intervalNs);
  }

  clearTimeout(handle: TimerHandle | null): void {
    if (handle) this.queue.delete(handle as ManualTimer);
  }

  /** Timers waiting to fire. */
  get pendingCount(): number {
    return this.queue.size;
  }

  /** Delay from now to the next timer, ms, or null when none is pending. */
  nextDelayMs(): number | null {
    const next = this.earliest();
    return next ? (next.dueNs - this.clock.nowNs()) / 1e6 : null;
  }

  /** Moves time forward by `deltaMs`, firing every timer that comes due on the way. */
  advanceMs(deltaMs: number): void {
    const endNs = this.clock.nowNs() + deltaMs * 1e6;
    for (;;) {
      const next = this.earliest();
      if (!next || next.dueNs > endNs) break;
      if (next.intervalNs === null) this.queue.delete(next);
      if (next.dueNs > this.clock.nowNs()) this.clock.setNs(next.dueNs);
      if (next.intervalNs !== null) next.dueNs += next.intervalNs;
      next.callback();
    }
    if (endNs > this.clock.nowNs()) this.clock.setNs(endNs);
  }

  /** Moves time to the next timer and fires it (and any due at the same instant). Returns false if none. */
  runNext(): boolean {
    const delay = this.nextDelayMs();
    if (delay === null) return false;
    this.advanceMs(Math.max(0, delay));
    return true;
  }

  private add(callback: () => void, delayNs: number, intervalNs: number | null): TimerHandle {
    const timer: ManualTimer = { id: this.nextId++, dueNs: this.clock.nowNs() + delayNs, intervalNs, callback };
    this.queue.add(timer);
    return timer;
  }

  private earliest(): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.queue) if (!best || t.dueNs < best.dueNs || (t.dueNs === best.dueNs && t.id < best.id)) best = t;
    return best;
  }
}

/**
 * A promise that resolves after `delayMs` on `timers`; `cancel()` clears the timer and resolves it
 * at once, so that an awaiting loop wakes and sees that it was cancelled.
 */
export function delay(timers: Timers, delayMs: number): { promise: Promise<void>; cancel: () => void } {
  let handle: TimerHandle | null = null;
  let settle: (() => void) | null = null;
  const promise = new Promise<void>((resolve) => {
    settle = resolve;
    handle = timers.setTimeout(() => {
      handle = null;
      resolve();
    }, delayMs);
  });
  return {
    promise,
    cancel: () => {
      if (handle) timers.clearTimeout(handle);
      handle = null;
      settle?.();
    },
  };
}
