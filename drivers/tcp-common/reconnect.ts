/**
 * When and how often a network source tries to get its device back after losing it: the one place
 * that decides reconnection for the TCP drivers (the schedule itself is the shared `backoff.ts`).
 * The TCP sources do not run on `DeviceConnection`: an RHX session is two sockets whose
 * reconnection must be driven together (the waveform server only listens again after a command),
 * and SpikeGLX is request/reply with pull reads; see NetworkSampleSource.
 */
import * as s from '../../src/config/schema.js';
import { backoffDelayMs } from '../binding/backoff.js';
import { type Timers } from '../binding/timers.js';
import { delay } from './delay.js';

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
    private readonly timers: Timers,
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
    return backoffDelayMs({ initialDelayMs: this.policy.initialDelayMs, factor: 2, maxDelayMs: this.policy.maxDelayMs }, Math.max(0, this.failures - 1));
  }

  /** Waits out the back-off; `cancel()` ends the wait at once (on close). */
  async wait(): Promise<void> {
    const d = delay(this.timers, this.nextDelayMs());
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
