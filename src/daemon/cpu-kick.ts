/**
 * A helper thread that does nothing but wake up when kicked, so that another CPU reschedules
 * after a block's stimulator writes.
 *
 * Why: a pty's far end (an emulated stimulator: `sim --serve`, the latency benchmark) receives a
 * written byte through a kernel worker of normal priority. When that worker is queued on a CPU
 * where another normal-priority thread is running (one of V8's helpers, the classifier's worker, a
 * kernel thread of the host), it waits there until something makes that CPU reschedule — here
 * usually its next interrupt, up to ~1 ms later (`perf sched timehist`; docs/closedloop.md,
 * latency). The pause after the triggers (cpu-yield.ts) frees the acquisition thread's own CPU
 * only. A real-time thread waking up preempts whatever normal thread runs on the CPU it lands on,
 * and the scheduler puts it on a CPU that is not running a real-time thread of its priority or
 * higher, which is the other one while the acquisition thread runs. When it has gone back to sleep
 * (a few µs), that CPU picks its next thread afresh, and the waiting delivery worker gets its turn.
 *
 * The thread inherits the scheduling policy of the thread that starts it: start it after
 * daemon.realtimePriority has been applied, or the kick is an ordinary wake-up that need not
 * preempt anything. A kick is one atomic add and one futex wake on the calling thread: no
 * allocation, no event-loop turn. Kicks that come while the helper is awake are merged.
 */
import { Worker } from 'node:worker_threads';
import { atomicsWaitAsync } from '../core/atomics-wait-async.js';

/** Int32 cells: the kick counter the helper sleeps on, the stop flag, and the helper's wake-up count. */
const KICKS = 0;
const STOP = 1;
const WAKEUPS = 2;

/** Plain JavaScript (`eval`), so that it runs the same from the TypeScript sources and the build. */
const HELPER_SOURCE = `
const { workerData } = require('node:worker_threads');
const cells = new Int32Array(workerData.shared);
// The last count acted on, from 0: a kick that came before the thread ran still wakes it once.
let seen = 0;
for (;;) {
  if (Atomics.load(cells, ${STOP}) === 1) break;
  Atomics.wait(cells, ${KICKS}, seen);
  seen = Atomics.load(cells, ${KICKS});
  Atomics.add(cells, ${WAKEUPS}, 1);
  Atomics.notify(cells, ${WAKEUPS});
}
`;

export class CpuKick {
  private readonly cells = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  private readonly worker: Worker;
  private closed = false;
  /** Resolves when the helper thread has exited (after close()). */
  private readonly exited: Promise<void>;

  constructor() {
    this.worker = new Worker(HELPER_SOURCE, { eval: true, workerData: { shared: this.cells.buffer } });
    // A helper that sleeps must not keep the process alive.
    this.worker.unref();
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('error', (error) => process.emitWarning(`CpuKick: helper thread failed: ${error instanceof Error ? error.message : String(error)}`));
  }

  /** Wakes the helper (nothing after close()). */
  kick(): void {
    if (this.closed) return;
    Atomics.add(this.cells, KICKS, 1);
    Atomics.notify(this.cells, KICKS, 1);
  }

  /** How many times the helper has woken up so far. */
  get wakeups(): number {
    return Atomics.load(this.cells, WAKEUPS);
  }

  /** Resolves once the helper has woken up more than `count` times in all. */
  async wokenAfter(count: number): Promise<number> {
    // An asynchronous wait does not keep the event loop alive; the helper thread does, meanwhile.
    this.worker.ref();
    try {
      for (;;) {
        const now = Atomics.load(this.cells, WAKEUPS);
        if (now > count) return now;
        const wait = atomicsWaitAsync(this.cells, WAKEUPS, now);
        if (wait.async) await wait.value;
      }
    } finally {
      this.worker.unref();
    }
  }

  /** Ends the helper thread. Idempotent. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      // Held open until the thread has gone, so that whoever awaits this is not cut short.
      this.worker.ref();
      Atomics.store(this.cells, STOP, 1);
      Atomics.add(this.cells, KICKS, 1);
      Atomics.notify(this.cells, KICKS);
    }
    return this.exited;
  }
}
