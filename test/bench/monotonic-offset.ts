/**
 * The offset of this process's clock (core/clock, performance.now()) from CLOCK_MONOTONIC
 * (process.hrtime), which every process on the machine shares: with each process's offset, times
 * stamped in two processes land on one clock (a benchmark and a device emulator it forked).
 */
import { systemClock } from '../../src/core/clock.js';

/** CLOCK_MONOTONIC − systemClock in ns, from the tightest of several back-to-back readings. */
export function monotonicMinusClockNs(): number {
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < 200; i++) {
    const a = systemClock.nowNs();
    const m = Number(process.hrtime.bigint());
    const b = systemClock.nowNs();
    if (b - a < best) {
      best = b - a;
      offset = m - (a + b) / 2;
    }
  }
  return offset;
}
