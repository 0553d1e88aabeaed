/**
 * The offset of this process's clock (core/clock, performance.now()) from CLOCK_MONOTONIC
 * (process.hrtime), which every process on the machine shares: with each process's offset, times
 * stamped in two processes land on one clock (a benchmark and a device emulator it forked).
 *
 * The two clocks do not run at the same rate here (~0.3–0.5 ms a second apart), but both
 * processes' performance.now() do: mapping one onto the other through CLOCK_MONOTONIC is off by
 * that rate × the time between the two processes' readings, so take them together (the bench reads
 * its own as the emulator reports ready: a few ms apart, a few µs of error), never much later.
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
