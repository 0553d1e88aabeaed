/**
 * Lets the acquisition thread sleep a few microseconds, synchronously, after a block's stimulator
 * writes.
 *
 * Why: a written byte does not always reach the device within write(). A pty's far end (an
 * emulated stimulator: `sim --serve`, socat, the latency benchmark) gets it through the tty layer,
 * which queues the delivery for a kernel worker thread of normal priority on the writer's CPU.
 * Under SCHED_FIFO (daemon.realtimePriority) the acquisition thread does not give that CPU up until
 * it sleeps. So without a pause the delivery waits for the rest of the block's work: the full unit
 * assignment, the bus, unit upkeep (docs/closedloop.md, latency, has the figures). A futex sleep
 * gives the CPU up at once. A real Pulse Pal on USB CDC sends from within write() and does not need
 * it. The cost is the sleep, once per block that triggered, after its triggers have left.
 *
 * Atomics.wait on a cell nobody notifies: a timed sleep with µs resolution that Node allows on the
 * main thread, with no allocation and no event-loop turn (a timer would be 1 ms late and would let
 * I/O run in between).
 */
const cell = new Int32Array(new SharedArrayBuffer(4));

/** Sleeps the calling thread for `us` microseconds (nothing when ≤ 0). */
export function sleepMicroseconds(us: number): void {
  if (us > 0) Atomics.wait(cell, 0, 0, us / 1000);
}
