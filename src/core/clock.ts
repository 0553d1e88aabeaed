/**
 * Monotonic time, injectable so that tests run in virtual time instead of sleeping.
 *
 * `nowNs()` counts ns since the process's monotonic origin as a float64: exact to the ns for 104
 * days, and free of the per-call BigInt allocation that `process.hrtime.bigint()` would cost on the
 * hot path.
 */
export interface MonotonicClock {
  nowNs(): number;
}

/**
 * The process's monotonic clock: performance.now(), sub-µs resolution. Measured on our VMs, it does
 * not run at the same rate as process.hrtime (they part by ~0.3–0.5 ms a second), so times from the
 * two are never mixed with a constant offset: convert intervals (core/precise-scheduler.ts), or
 * take both offsets at the same moment (test/bench/monotonic-offset.ts).
 */
export const systemClock: MonotonicClock = {
  nowNs: () => performance.now() * 1e6,
};

/** A clock that only moves when told to: for tests. */
export class ManualClock implements MonotonicClock {
  constructor(private timeNs = 0) {}
  nowNs(): number {
    return this.timeNs;
  }
  advanceNs(deltaNs: number): void {
    if (!(deltaNs >= 0)) throw new RangeError(`ManualClock.advanceNs: expected a non-negative delta, got ${deltaNs}`);
    this.timeNs += deltaNs;
  }
  advanceMs(deltaMs: number): void {
    this.advanceNs(deltaMs * 1e6);
  }
  setNs(timeNs: number): void {
    this.timeNs = timeNs;
  }
}
