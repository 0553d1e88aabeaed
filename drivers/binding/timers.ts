/**
 * Injectable timers, so that reconnection backoff, silence timeouts, reply timeouts and host-timed
 * pulses run in virtual time under test (with a `ManualClock`) and in real time in the daemon.
 */
import { ManualClock, systemClock, type MonotonicClock } from '../../src/core/clock.js';

/** An opaque handle returned by `setTimeout`. */
export type TimerHandle = object;

export interface Timers {
  /** The clock these timers count on: `nowNs()` moves as timers come due. */
  readonly clock: MonotonicClock;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Node's timers on the process's monotonic clock. */
export const systemTimers: Timers = {
  clock: systemClock,
  setTimeout: (callback, delayMs) => setTimeout(callback, Math.max(0, delayMs)),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface ManualTimer {
  readonly id: number;
  readonly dueNs: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * Timers that fire only when a test moves time forward: `advanceMs(250)` runs every timer due
 * within the next 250 ms in due order (ties in creation order), setting the clock to each timer's
 * due time before calling it, so a callback that reads the clock sees the time it was due.
 */
export class ManualTimers implements Timers {
  readonly clock: ManualClock;
  private queue: ManualTimer[] = [];
  private nextId = 1;

  constructor(clock: ManualClock = new ManualClock()) {
    this.clock = clock;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer: ManualTimer = { id: this.nextId++, dueNs: this.clock.nowNs() + Math.max(0, delayMs) * 1e6, callback, cancelled: false };
    this.queue.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = handle as ManualTimer;
    timer.cancelled = true;
    this.queue = this.queue.filter((t) => t !== timer);
  }

  /** Timers waiting to fire. */
  get pendingCount(): number {
    return this.queue.length;
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
      this.queue = this.queue.filter((t) => t !== next);
      if (next.dueNs > this.clock.nowNs()) this.clock.setNs(next.dueNs);
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

  private earliest(): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.queue) if (!best || t.dueNs < best.dueNs || (t.dueNs === best.dueNs && t.id < best.id)) best = t;
    return best;
  }
}
