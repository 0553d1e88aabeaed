import type { ManualClock } from '../core/clock.js';

/**
 * Timers, injectable so that tests drive the bus's periodic work (spike flushes, dropped notices,
 * hello timeouts) in virtual time instead of sleeping.
 */
export interface Timers {
  setInterval(callback: () => void, intervalMs: number): unknown;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

/** Real timers, unref'd: the bus's housekeeping never keeps the process alive by itself. */
export const systemTimers: Timers = {
  setInterval(callback, intervalMs) {
    const handle = setInterval(callback, intervalMs);
    handle.unref();
    return handle;
  },
  setTimeout(callback, delayMs) {
    const handle = setTimeout(callback, delayMs);
    handle.unref();
    return handle;
  },
  clear(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

interface ManualTimer {
  callback: () => void;
  dueNs: number;
  intervalNs: number | null;
}

/** Timers that fire only when the test advances its ManualClock through them. */
export class ManualTimers implements Timers {
  private readonly timers = new Set<ManualTimer>();

  constructor(readonly clock: ManualClock) {}

  setInterval(callback: () => void, intervalMs: number): unknown {
    const t: ManualTimer = { callback, dueNs: this.clock.nowNs() + intervalMs * 1e6, intervalNs: intervalMs * 1e6 };
    this.timers.add(t);
    return t;
  }

  setTimeout(callback: () => void, delayMs: number): unknown {
    const t: ManualTimer = { callback, dueNs: this.clock.nowNs() + delayMs * 1e6, intervalNs: null };
    this.timers.add(t);
    return t;
  }

  clear(handle: unknown): void {
    this.timers.delete(handle as ManualTimer);
  }

  get pending(): number {
    return this.timers.size;
  }

  /** Advances the clock, firing every timer that falls due on the way, in time order. */
  advanceMs(deltaMs: number): void {
    const endNs = this.clock.nowNs() + deltaMs * 1e6;
    for (;;) {
      let next: ManualTimer | null = null;
      for (const t of this.timers) if (t.dueNs <= endNs && (next === null || t.dueNs < next.dueNs)) next = t;
      if (!next) break;
      this.clock.setNs(Math.max(this.clock.nowNs(), next.dueNs));
      if (next.intervalNs === null) this.timers.delete(next);
      else next.dueNs += next.intervalNs;
      next.callback();
    }
    this.clock.setNs(endNs);
  }
}
