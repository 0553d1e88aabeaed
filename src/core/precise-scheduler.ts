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
import { Subscription, asyncScheduler, type SchedulerAction, type SchedulerLike } from 'rxjs';

/** Int32 slots of the shared control block; then float64s: the deadline, and the timekeeper's sleep target. */
const GENERATION = 0;
const CLOSED = 1;
/** How the timekeeper sleeps: INDEFINITE (until notified) or TIMED (until the sleep target, or notified). */
const SLEEP = 2;
const INDEFINITE = 0;
const TIMED = 1;
const DEADLINE_BYTE_OFFSET = 16;
/** Added to every deadline handed over (ms): more than the error of the measured clock offset. */
const OFFSET_GUARD_MS = 0.005;
/**
 * A deadline this little before the timekeeper's own wake-up (ms) is still handed over without a
 * wake-up (it then fires that much late): the clock conversion jitters by about a µs.
 */
const QUIET_TOLERANCE_MS = 0.01;
/** A new deadline is taken without a wake-up only if the timekeeper's own wake is this far off (ms). */
const HANDOVER_MARGIN_MS = 0.05;

/**
 * The timekeeper. Plain JavaScript (`eval`), so that it runs the same from the TypeScript sources
 * and from the build. Deadlines are in ms on process.hrtime (CLOCK_MONOTONIC), which every thread
 * of the process shares; a generation counter tells it the deadline changed.
 *
 * Waking a sleeping thread (Atomics.notify) costs the main thread a futex wake, on a small machine
 * often a context switch, and a paced source hands over a deadline every block. So after firing a
 * deadline the timekeeper sleeps until the next one it expects — the same period again — and
 * publishes that target; the main thread then hands over a deadline at or after it without a
 * wake-up: the timekeeper finds it when its own sleep ends. Anything earlier, or handed over when
 * the timekeeper sleeps without a target, is notified as before. Atomics.wait only sleeps if the
 * generation is still the one read, so a deadline handed over meanwhile is never missed.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const control = new Int32Array(workerData.shared, 0, 3);
const times = new Float64Array(workerData.shared, ${DEADLINE_BYTE_OFFSET}, 2);
const nowMs = () => { const t = process.hrtime(); return t[0] * 1e3 + t[1] / 1e6; };
const sleepUntil = (generation, targetMs, remainingMs) => {
  times[1] = targetMs;
  Atomics.store(control, ${SLEEP}, ${TIMED});
  Atomics.wait(control, ${GENERATION}, generation, remainingMs);
};
let firedGeneration = -1;
let firedMs = NaN;
let periodMs = NaN;
let predictionSpent = true;
parentPort.postMessage('ready');
for (;;) {
  const generation = Atomics.load(control, ${GENERATION});
  if (Atomics.load(control, ${CLOSED}) === 1) break;
  const dueMs = times[0];
  if (!Number.isNaN(dueMs) && generation !== firedGeneration) {
    const remainingMs = dueMs - nowMs();
    if (remainingMs > 0) { sleepUntil(generation, dueMs, remainingMs); continue; }
    firedGeneration = generation;
    if (dueMs !== firedMs) periodMs = dueMs - firedMs;
    firedMs = dueMs;
    predictionSpent = false;
    // Publish the next expected wake-up before the message: the main thread may hand the next
    // deadline over as soon as it has it, before this thread runs again.
    if (periodMs > 0 && periodMs < 1000) { times[1] = firedMs + periodMs; Atomics.store(control, ${SLEEP}, ${TIMED}); }
    else Atomics.store(control, ${SLEEP}, ${INDEFINITE});
    parentPort.postMessage(generation);
    continue;
  }
  if (!predictionSpent && periodMs > 0 && periodMs < 1000) {
    const targetMs = firedMs + periodMs;
    const remainingMs = targetMs - nowMs();
    if (remainingMs > 0) { sleepUntil(generation, targetMs, remainingMs); continue; }
    predictionSpent = true;
  }
  Atomics.store(control, ${SLEEP}, ${INDEFINITE});
  Atomics.wait(control, ${GENERATION}, generation);
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
  private readonly shared = new SharedArrayBuffer(DEADLINE_BYTE_OFFSET + 16);
  private readonly control = new Int32Array(this.shared, 0, 3);
  /** [0] the deadline handed over, [1] the timekeeper's current sleep target (both hrtime ms). */
  private readonly times = new Float64Array(this.shared, DEADLINE_BYTE_OFFSET, 2);
  /** Deadlines handed over without waking the timekeeper (it was already due to wake for them). */
  quietHandovers = 0;
  /** Pending actions, earliest first (a handful at most: the simulator keeps one). */
  private readonly queue: Array<PreciseAction<unknown>> = [];
  private armedGeneration = -1;
  /** The deadline (performance.now() ms, NaN for none) the timekeeper was last given. */
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

  /** Resolves once the timekeeper thread runs (until then a plain timer keeps the deadlines too). */
  whenReady(): Promise<void> {
    if (this.timekeeperReady) return Promise.resolve();
    const worker = this.ensureWorker();
    return new Promise((resolve) => {
      const onMessage = (message: unknown) => {
        if (message !== 'ready') return;
        worker.off('message', onMessage);
        resolve();
      };
      worker.on('message', onMessage);
    });
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
    // Insertion by hand (splice returns an array): the simulator re-arms once per block.
    const queue = this.queue;
    let i = queue.length;
    queue.push(action);
    for (; i > 0 && queue[i - 1].dueMs > dueMs; i--) queue[i] = queue[i - 1];
    queue[i] = action;
    this.arm();
  }

  /** @internal */
  cancel(action: PreciseAction<unknown>): void {
    if (this.remove(action)) this.arm();
  }

  private remove(action: PreciseAction<unknown>): boolean {
    const queue = this.queue;
    const i = queue.indexOf(action);
    if (i < 0) return false;
    for (let j = i + 1; j < queue.length; j++) queue[j - 1] = queue[j];
    queue.pop();
    action.dueMs = Number.NaN;
    return true;
  }

  /** Hands the earliest deadline (or none) to the timekeeper; holds the process open while one is pending. */
  private arm(): void {
    if (this.closed || this.draining) return;
    const next = this.queue[0];
    const worker = this.ensureWorker();
    // Deadlines are kept on process.hrtime, the actions' on performance.now(), and the two do not
    // run at the same rate (here they part by ~0.3–0.5 ms a second: a constant offset taken once
    // had the thread firing tens of ms early within a minute, each early wake-up a round trip).
    // So the time left is converted, not the deadline: drift over one delay is sub-µs; the guard
    // covers it and the two clock reads.
    const hrNowMs = hrtimeMs();
    const dueMs = next ? hrNowMs + (next.dueMs - performance.now()) + OFFSET_GUARD_MS : Number.NaN;
    // Every hand-over wakes the timekeeper thread (a futex wake, often a context switch on a
    // small machine): only when the deadline it holds is not the one wanted.
    const perfDueMs = next ? next.dueMs : Number.NaN;
    if (!Object.is(perfDueMs, this.armedDueMs)) {
      this.armedDueMs = perfDueMs;
      this.times[0] = dueMs;
      this.armedGeneration = Atomics.add(this.control, GENERATION, 1) + 1;
      // Read after the hand-over: if the timekeeper sleeps towards a target at or before this
      // deadline and still far enough off, it will find the deadline when it wakes.
      const targetMs = this.times[1];
      const quiet = Atomics.load(this.control, SLEEP) === TIMED && dueMs >= targetMs - QUIET_TOLERANCE_MS && hrNowMs < targetMs - HANDOVER_MARGIN_MS;
      if (quiet) this.quietHandovers++;
      else Atomics.notify(this.control, GENERATION);
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

/**
 * The scheduler a paced source waits on: the injected one (tests, in virtual time), else a
 * PreciseScheduler made when a real-time run starts and closed when it ends (its thread lives only
 * while the source runs); unpaced runs use RxJS's asyncScheduler. The simulator and the file replay
 * share it.
 */
export class RunScheduler {
  private own: PreciseScheduler | null = null;

  constructor(private readonly injected: SchedulerLike | null) {}

  /** At start(): a real-time run gets its own timekeeper unless a scheduler was injected. */
  begin(realTime: boolean): void {
    if (realTime && !this.injected) this.own ??= new PreciseScheduler();
  }

  get scheduler(): SchedulerLike {
    return this.injected ?? this.own ?? asyncScheduler;
  }

  /** When the run ends (stop, close, end of stream, failure). */
  end(): void {
    this.own?.close();
    this.own = null;
  }
}
