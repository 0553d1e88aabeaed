import type { MonotonicClock } from '../core/clock.js';

/**
 * A token bucket: `burst` messages at once, refilled at `ratePerS`. Time comes from an injected
 * clock so that tests run in virtual time.
 */
export class TokenBucket {
  private tokens: number;
  private lastNs: number;

  constructor(
    private readonly ratePerS: number,
    private readonly burst: number,
    private readonly clock: MonotonicClock,
  ) {
    this.tokens = burst;
    this.lastNs = clock.nowNs();
  }

  /** Takes one token if there is one. */
  take(): boolean {
    const now = this.clock.nowNs();
    const elapsedS = (now - this.lastNs) / 1e9;
    this.lastNs = now;
    if (elapsedS > 0) this.tokens = Math.min(this.burst, this.tokens + elapsedS * this.ratePerS);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}
