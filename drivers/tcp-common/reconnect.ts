/**
 * When and how often a network source tries to get its device back after losing it. This is the one
 * place that decides reconnection for the TCP drivers, so that it can be swapped for the shared
 * transport-agnostic connection layer when that lands.
 */
import * as s from '../../src/config/schema.js';
import { delay, type Scheduler } from './scheduler.js';

export const reconnectSchema = s.object(
  {
    maxAttempts: s.nullable(s.number({ integer: true, min: 0 }), {
      description: 'Consecutive failed reconnection attempts before the source fails for good; null keeps trying for as long as the daemon runs.',
    }),
    initialDelayMs: s.number({ min: 0, default: 100, description: 'Wait before the first reconnection attempt; doubles after each failed attempt.' }),
    maxDelayMs: s.number({ min: 0, default: 5000, description: 'Longest wait between two reconnection attempts.' }),
  },
  { description: 'Reconnection after the device vanished, stopped answering or broke its protocol.' },
);

export type ReconnectPolicy = s.Infer<typeof reconnectSchema>;

export class Reconnector {
  /** Consecutive failures since the last good session. */
  failures = 0;
  /** Sessions re-established after a failure, over the source's life. */
  reconnects = 0;
  private pending: { cancel: () => void } | null = null;

  constructor(
    private readonly policy: ReconnectPolicy,
    private readonly scheduler: Scheduler,
  ) {}

  /** Counts a failure; false when the policy allows no further attempt. */
  recordFailure(): boolean {
    this.failures++;
    return this.policy.maxAttempts === null || this.failures <= this.policy.maxAttempts;
  }

  recordSuccess(afterFailure: boolean): void {
    if (afterFailure) this.reconnects++;
    this.failures = 0;
  }

  nextDelayMs(): number {
    const exponent = Math.max(0, this.failures - 1);
    return Math.min(this.policy.maxDelayMs, this.policy.initialDelayMs * 2 ** Math.min(exponent, 30));
  }

  /** Waits out the back-off; `cancel()` ends the wait at once (on close). */
  async wait(): Promise<void> {
    const d = delay(this.scheduler, this.nextDelayMs());
    this.pending = d;
    try {
      await d.promise;
    } finally {
      this.pending = null;
    }
  }

  cancel(): void {
    this.pending?.cancel();
  }
}
