import type { Timers, TimerHandle } from '../binding/timers.js';


/**
 * Fires once when nothing has kicked it for `timeoutMs`. Kicking only stores a time (no timer is
 * created or cleared per kick), so it can sit on a per-read path: the one timer re-arms itself for
 * the remaining time when it wakes early.
 */
export class Watchdog {
  private handle: TimerHandle | null = null;
  private lastKickNs = 0;
  private timeoutMs = 0;
  private onExpire: (() => void) | null = null;
  private readonly wake = (): void => this.check();

  constructor(private readonly timers: Timers) {}

  get armed(): boolean {
    return this.onExpire !== null;
  }

  arm(timeoutMs: number, onExpire: () => void): void {
    this.disarm();
    this.timeoutMs = timeoutMs;
    this.onExpire = onExpire;
    this.lastKickNs = this.timers.clock.nowNs();
    this.handle = this.timers.setTimeout(this.wake, timeoutMs);
  }

  kick(): void {
    this.lastKickNs = this.timers.clock.nowNs();
  }

  disarm(): void {
    if (this.handle) this.timers.clearTimeout(this.handle);
    this.handle = null;
    this.onExpire = null;
  }

  private check(): void {
    this.handle = null;
    const expire = this.onExpire;
    if (!expire) return;
    const idleMs = (this.timers.clock.nowNs() - this.lastKickNs) / 1e6;
    if (idleMs >= this.timeoutMs) {
      this.onExpire = null;
      expire();
    } else {
      this.handle = this.timers.setTimeout(this.wake, this.timeoutMs - idleMs);
    }
  }
}
