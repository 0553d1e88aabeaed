import { ManualClock, systemClock, type MonotonicClock } from '../../src/core/clock.js';

/**
 * Timers and time behind one small interface, so that drivers' timeouts, back-offs and poll pacing
 * run in virtual time under test (`ManualScheduler`) and in real time in the daemon
 * (`systemScheduler`). Handles are opaque.
 */
export interface Scheduler extends MonotonicClock {
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export type TimerHandle = { readonly __timer: true } | object;

export const systemScheduler: Scheduler = {
  nowNs: () => systemClock.nowNs(),
  setTimeout: (callback, delayMs) => {
    const t = setTimeout(callback, Math.max(0, delayMs));
    // A driver's watchdog must not keep a finished process alive.
    t.unref?.();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface ManualTimer {
  readonly dueNs: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * A scheduler that only moves when told to. `advanceMs` runs every timer that falls due, in due
 * order (ties in creation order), each at its own due time, including timers that callbacks set.
 */
export class ManualScheduler implements Scheduler {
  readonly clock: ManualClock;
  private timers: ManualTimer[] = [];
  private seq = 0;

  constructor(startNs = 0) {
    this.clock = new ManualClock(startNs);
  }

  nowNs(): number {
    return this.clock.nowNs();
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer: ManualTimer = { dueNs: this.clock.nowNs() + Math.max(0, delayMs) * 1e6, seq: this.seq++, callback, cancelled: false };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    (handle as ManualTimer).cancelled = true;
    this.timers = this.timers.filter((t) => t !== handle);
  }

  /** Timers waiting to run. */
  get pendingCount(): number {
    return this.timers.length;
  }

  advanceMs(deltaMs: number): void {
    const endNs = this.clock.nowNs() + deltaMs * 1e6;
    for (;;) {
      let next: ManualTimer | null = null;
      for (const t of this.timers) if (t.dueNs <= endNs && (!next || t.dueNs < next.dueNs || (t.dueNs === next.dueNs && t.seq < next.seq))) next = t;
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      if (next.dueNs > this.clock.nowNs()) this.clock.setNs(next.dueNs);
      if (!next.cancelled) next.callback();
    }
    this.clock.setNs(endNs);
  }
}

/** A promise that resolves after `delayMs` on `scheduler`; `cancel()` clears the timer and resolves it at once. */
export function delay(scheduler: Scheduler, delayMs: number): { promise: Promise<void>; cancel: () => void } {
  let handle: TimerHandle | null = null;
  let settle: (() => void) | null = null;
  const promise = new Promise<void>((resolve) => {
    settle = resolve;
    handle = scheduler.setTimeout(() => {
      handle = null;
      resolve();
    }, delayMs);
  });
  return {
    promise,
    cancel: () => {
      if (handle) scheduler.clearTimeout(handle);
      handle = null;
      // Resolve so that an awaiting loop wakes and sees that it was cancelled.
      settle?.();
    },
  };
}
