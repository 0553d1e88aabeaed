/**
 * An RxJS scheduler whose delays end within tens of µs of their deadline, for pacing a source
 * like a device: the simulator and the real-time replay of recorded files.
 *
 * Why: Node's timers have a 1 ms resolution — a block due in 0.4 ms leaves up to 1 ms late (0.6 ms
 * at the median, measured) — where a real acquisition system's socket or USB read wakes the event
 * loop the moment its data is there. Here a worker thread sleeps on `Atomics.wait` with a
 * fractional-ms timeout (a futex with ns resolution) until the earliest deadline and then posts a
 * message, which wakes the main event loop at once, exactly as a device's data would.
 *
 * The worker holds no work: it only keeps time. The actions run on the main thread, in deadline
 * order, never before their deadline (a wake-up that comes early is re-armed). The thread exists
 * from the first `schedule()` until `close()`, and keeps the process alive only while an action
 * is pending, like a timer.
 */
import { Worker } from 'node:worker_threads';
import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';

/** Int32 slots of the shared control block; the deadline is a float64 after them. */
const GENERATION = 0;
const CLOSED = 1;
const DEADLINE_BYTE_OFFSET = 8;

/**
 * The timekeeper. Plain JavaScript (`eval`), so that it runs the same from the TypeScript sources
 * and from the build. Deadlines are in ms on process.hrtime (CLOCK_MONOTONIC), which every thread
 * of the process shares; a generation counter tells it the deadline changed.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const control = new Int32Array(workerData.shared, 0, 2);
const deadline = new Float64Array(workerData.shared, ${DEADLINE_BYTE_OFFSET}, 1);
const nowMs = () => { const t = process.hrtime(); return t[0] * 1e3 + t[1] / 1e6; };
let firedGeneration = -1;
parentPort.postMessage('ready');
for (;;) {
  const generation = Atomics.load(control, ${GENERATION});
  if (Atomics.load(control, ${CLOSED}) === 1) break;
  const dueMs = deadline[0];
  if (Number.isNaN(dueMs) || generation === firedGeneration) { Atomics.wait(control, ${GENERATION}, generation); continue; }
  const remainingMs = dueMs - nowMs();
  if (remainingMs > 0) { Atomics.wait(control, ${GENERATION}, generation, remainingMs); continue; }
  firedGeneration = generation;
  parentPort.postMessage(generation);
}
`;

function hrtimeMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}

class PreciseAction<T> extends Subscription implements SchedulerAction<T> {
  /** performance.now() ms at which the work is due; NaN while not scheduled. */
  dueMs = Number.NaN;
  state: T | undefined;

  constructor(
    private readonly scheduler: PreciseScheduler,
    readonly work: (this: SchedulerAction<T>, state?: T) => void,
  ) {
    super();
    this.add(() => scheduler.cancel(this as PreciseAction<unknown>));
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.state = state;
    this.scheduler.enqueue(this as PreciseAction<unknown>, performance.now() + Math.max(0, delay));
    return this;
  }

  run(): void {
    this.dueMs = Number.NaN;
    this.work.call(this, this.state);
  }
}

export class PreciseScheduler implements SchedulerLike {
  private worker: Worker | null = null;
  private readonly shared = new SharedArrayBuffer(16);
  private readonly control = new Int32Array(this.shared, 0, 2);
  private readonly deadline = new Float64Array(this.shared, DEADLINE_BYTE_OFFSET, 1);
  /** Pending actions, earliest first (a handful at most: the simulator keeps one). */
  private readonly queue: Array<PreciseAction<unknown>> = [];
  /** hrtime ms − performance.now() ms: both read CLOCK_MONOTONIC, so this is constant. */
  private readonly hrtimeMinusNowMs = hrtimeMs() - performance.now();
  private armedGeneration = -1;
  /** The deadline (hrtime ms, NaN for none) the timekeeper was last given. */
  private armedDueMs = Number.NaN;
  private referenced = false;
  /**
   * Until the timekeeper thread has started (~15 ms after the first schedule()), deadlines are also
   * kept by a plain timer, so that the first blocks of a run are not held back by a thread start.
   */
  private timekeeperReady = false;
  private fallbackTimer: NodeJS.Timeout | null = null;
  /** True while onWake runs due actions: their re-scheduling is handed over once, at the end. */
  private draining = false;
  private closed = false;
  /** Wake-ups that came before the earliest deadline (re-armed): a check for tests. */
  earlyWakeups = 0;

  now(): number {
    return performance.now();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new PreciseAction<T>(this, work).schedule(state, delay);
  }

  /** Stops the timekeeper thread; pending actions are dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    Atomics.store(this.control, CLOSED, 1);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
    if (this.fallbackTimer) clearTimeout(this.fallbackTimer);
    this.fallbackTimer = null;
    void this.worker?.terminate();
    this.worker = null;
  }

  /** @internal */
  enqueue(action: PreciseAction<unknown>, dueMs: number): void {
    if (this.closed) throw new Error('PreciseScheduler: schedule() after close()');
    this.remove(action);
    action.dueMs = dueMs;
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1].dueMs > dueMs) i--;
    this.queue.splice(i, 0, action);
    this.arm();
  }

  /** @internal */
  cancel(action: PreciseAction<unknown>): void {
    if (this.remove(action)) this.arm();
  }

  private remove(action: PreciseAction<unknown>): boolean {
    const i = this.queue.indexOf(action);
    if (i < 0) return false;
    this.queue.splice(i, 1);
    action.dueMs = Number.NaN;
    return true;
  }

  /** Hands the earliest deadline (or none) to the timekeeper; holds the process open while one is pending. */
  private arm(): void {
    if (this.closed || this.draining) return;
    const next = this.queue[0];
    const worker = this.ensureWorker();
    const dueMs = next ? next.dueMs + this.hrtimeMinusNowMs : Number.NaN;
    // Every hand-over wakes the timekeeper thread (a futex wake, often a context switch on a
    // small machine): only when the deadline it holds is not the one wanted.
    if (!(dueMs === this.armedDueMs || (Number.isNaN(dueMs) && Number.isNaN(this.armedDueMs)))) {
      this.armedDueMs = dueMs;
      this.deadline[0] = dueMs;
      this.armedGeneration = Atomics.add(this.control, GENERATION, 1) + 1;
      Atomics.notify(this.control, GENERATION);
    }
    if (!this.timekeeperReady) {
      if (this.fallbackTimer) clearTimeout(this.fallbackTimer);
      this.fallbackTimer = next ? setTimeout(() => this.onWake(this.armedGeneration), Math.max(0, next.dueMs - performance.now())) : null;
    }
    if (Boolean(next) !== this.referenced) {
      this.referenced = Boolean(next);
      if (next) worker.ref();
      else worker.unref();
    }
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { shared: this.shared } });
    worker.on('message', (message: number | 'ready') => {
      if (message !== 'ready') return this.onWake(message);
      this.timekeeperReady = true;
      if (this.fallbackTimer) clearTimeout(this.fallbackTimer);
      this.fallbackTimer = null;
    });
    worker.on('error', (error) => {
      // The timekeeper cannot fail short of the runtime failing; say so loudly rather than stall.
      process.emitWarning(`PreciseScheduler: timekeeper thread failed: ${error instanceof Error ? error.message : String(error)}`);
    });
    this.worker = worker;
    return worker;
  }

  private onWake(generation: number): void {
    if (this.closed || generation !== this.armedGeneration) return; // superseded by a later arm()
    const nowMs = performance.now();
    const first = this.queue[0];
    if (!first) return;
    // The timekeeper has fired this deadline and waits for a new one.
    this.armedDueMs = Number.NaN;
    if (first.dueMs > nowMs) {
      this.earlyWakeups++;
      this.arm();
      return;
    }
    // Run everything due, in order; an action may schedule itself (or others) again meanwhile.
    this.draining = true;
    try {
      while (this.queue.length > 0 && this.queue[0].dueMs <= nowMs) {
        const action = this.queue.shift()!;
        action.run();
        if (this.closed) return;
      }
    } finally {
      this.draining = false;
    }
    this.arm();
  }
}
