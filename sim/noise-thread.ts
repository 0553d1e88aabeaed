/**
 * The simulator's thermal noise, drawn ahead on a worker thread.
 *
 * Why: drawing 384 channels × 30 samples of Gaussian noise is ~70 % of the simulator's work per
 * 1 ms block (~40 µs of ~60 µs, `npm run bench`'s sim part). Live, the simulator runs on the
 * daemon's acquisition thread, where a device's driver would only copy bytes; that work then
 * delays the next block whenever the thread is behind. The noise depends on nothing but the seed —
 * not on spikes, light or pacing — so a worker can draw it ahead, with the same WebAssembly kernel
 * from the same xoshiro state, into a ring that the generator copies from: the samples are
 * identical to those drawn in place (test/sim/noise-thread.test.ts).
 *
 * The ring lives in a SharedArrayBuffer: `ringFrames` frames × channels float32, with two frame
 * counters (written by the worker, read by the generator). They are 32-bit and wrap after 2³¹
 * frames (~20 h at 30 kHz): compared by wrapping difference, and a power-of-two ring maps them to
 * positions by a mask, which stays continuous across the wrap.
 * The worker fills it, sleeps on the read counter once it is full, and is woken when half of it is
 * free again: one wake-up per half ring, at normal priority (it is created before the daemon asks
 * for real-time priority; a real-time bulk thread would preempt the kernel's tty work on the other
 * CPU). Should the ring run dry, `take()` waits for the worker — counted — up to `stallTimeoutMs`,
 * then throws.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { atomicsWaitAsync } from '../src/core/atomics-wait-async.js';
import { OptoloopError } from '../src/core/errors.js';
import { ARENA_BASE } from '../src/wasm/kernel.js';

const WRITTEN = 0;
const READ = 1;
const WORKER_WAITING = 2;
const STOP = 3;
/** 1 once the worker failed; its message is posted too. */
const FAILED = 4;
const CELLS = 5;

// Plain JavaScript, evaluated in the worker: no TypeScript loader to start (fast, as the
// precise scheduler's timekeeper). It lays out the kernel's memory as sim/wasm-kernels.ts does.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { module, channels, sigma, tables, state, ringBuffer, controlBuffer, ringFrames, chunkFrames, refillFrames, counterStart } = workerData;
const control = new Int32Array(controlBuffer);
const ring = new Float32Array(ringBuffer);
try {
  const instance = new WebAssembly.Instance(module, { env: { abort(_m, _f, line, column) { throw new Error('sim_kernels aborted at ' + line + ':' + column); } } });
  const { memory, fillGaussian } = instance.exports;
  if (!(memory instanceof WebAssembly.Memory) || typeof fillGaussian !== 'function') throw new Error('the kernel module exports no memory and fillGaussian (an outdated build/wasm/sim_kernels.wasm? run npm run build)');
  const align = (p) => (p + 15) & ~15;
  const statePtr = ${ARENA_BASE};
  const tablesPtr = align(statePtr + 16);
  const scalePtr = align(tablesPtr + tables.length * 8);
  const outPtr = align(scalePtr + channels * 4);
  const end = outPtr + chunkFrames * channels * 4;
  if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));
  new Uint32Array(memory.buffer, statePtr, 4).set(state);
  new Float64Array(memory.buffer, tablesPtr, tables.length).set(tables);
  new Float32Array(memory.buffer, scalePtr, channels).set(sigma);
  const out = new Float32Array(memory.buffer, outPtr, chunkFrames * channels);
  let written = counterStart;
  outer: for (;;) {
    while (ringFrames - ((written - Atomics.load(control, ${READ})) | 0) >= chunkFrames) {
      if (Atomics.load(control, ${STOP})) break outer;
      fillGaussian(statePtr, tablesPtr, outPtr, chunkFrames * channels, scalePtr, channels);
      // A chunk may straddle the ring's end (counters need not start at a chunk boundary).
      const at = written & (ringFrames - 1);
      const first = Math.min(chunkFrames, ringFrames - at);
      if (first === chunkFrames) ring.set(out, at * channels);
      else {
        ring.set(out.subarray(0, first * channels), at * channels);
        ring.set(out.subarray(first * channels), 0);
      }
      written = (written + chunkFrames) | 0;
      Atomics.store(control, ${WRITTEN}, written);
      Atomics.notify(control, ${WRITTEN});
    }
    for (;;) {
      if (Atomics.load(control, ${STOP})) break outer;
      const read = Atomics.load(control, ${READ});
      if (ringFrames - ((written - read) | 0) >= refillFrames) break;
      Atomics.store(control, ${WORKER_WAITING}, 1);
      Atomics.wait(control, ${READ}, read);
      Atomics.store(control, ${WORKER_WAITING}, 0);
    }
  }
} catch (error) {
  parentPort.postMessage(String((error && error.message) || error));
  Atomics.store(control, ${FAILED}, 1);
  Atomics.notify(control, ${WRITTEN});
}
`;

/** How the ring is sized and watched (the defaults serve the daemon; tests change them). */
export type NoiseThreadSettings = Pick<NoiseThreadOptions, 'ringFrames' | 'chunkFrames' | 'counterStart' | 'stallTimeoutMs'>;

export interface NoiseThreadOptions {
  /** The compiled sim_kernels module (its fillGaussian draws the stream). */
  readonly module: WebAssembly.Module;
  readonly channelCount: number;
  /** σ per channel, µV. */
  readonly sigmaUv: Float32Array;
  /** The ziggurat tables as sim/wasm-kernels.ts lays them out: zigX, zigXScaled, zigF. */
  readonly tables: Float64Array;
  /** The xoshiro128** state the stream continues from. */
  readonly state: Uint32Array;
  /** Frames the ring holds, a power of two (default 4096: 137 ms at 30 kHz, 6.3 MB at 384 channels). */
  readonly ringFrames?: number;
  /** Frames the worker draws at once (default 512), a power of two no larger than half the ring. */
  readonly chunkFrames?: number;
  /** Where the frame counters start (default 0; tests start them just before the 32-bit wrap). */
  readonly counterStart?: number;
  /** How long `take()` waits for a stalled worker before it throws (default 2000 ms). */
  readonly stallTimeoutMs?: number;
}

export interface NoiseThreadCounters {
  /** Times `take()` found too little noise ahead and waited for the worker. */
  waits: number;
  /** Their total, ms. */
  waitedMs: number;
}

export class NoiseThread {
  readonly channelCount: number;
  readonly ringFrames: number;
  readonly counters: NoiseThreadCounters = { waits: 0, waitedMs: 0 };
  private readonly ring: Float32Array;
  private readonly control: Int32Array;
  private readonly refillFrames: number;
  private readonly stallTimeoutMs: number;
  private readonly worker: Worker;
  private read = 0;
  private failure: string | null = null;
  private closed = false;

  /** Starts the worker and resolves once the ring is full (the first `take()` then never waits). */
  static async start(options: NoiseThreadOptions): Promise<NoiseThread> {
    const thread = new NoiseThread(options);
    await thread.waitUntilFull();
    return thread;
  }

  private constructor(o: NoiseThreadOptions) {
    const C = (this.channelCount = o.channelCount);
    const chunkFrames = o.chunkFrames ?? 512;
    const ringFrames = (this.ringFrames = o.ringFrames ?? 4096);
    const powerOfTwo = (n: number): boolean => Number.isInteger(n) && n > 0 && n <= 2 ** 30 && (n & (n - 1)) === 0;
    if (!(powerOfTwo(chunkFrames) && powerOfTwo(ringFrames) && ringFrames >= 2 * chunkFrames)) {
      throw new RangeError(`NoiseThread: the ring (${ringFrames} frames) and the chunk (${chunkFrames} frames) must be powers of two, the ring at least two chunks`);
    }
    const counterStart = (o.counterStart ?? 0) | 0;
    this.read = counterStart;
    this.refillFrames = ringFrames / 2;
    this.stallTimeoutMs = o.stallTimeoutMs ?? 2000;
    const ringBuffer = new SharedArrayBuffer(ringFrames * C * 4);
    const controlBuffer = new SharedArrayBuffer(CELLS * 4);
    this.ring = new Float32Array(ringBuffer);
    this.control = new Int32Array(controlBuffer);
    this.control[WRITTEN] = counterStart;
    this.control[READ] = counterStart;
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module: o.module, channels: C, sigma: o.sigmaUv, tables: o.tables, state: o.state, ringBuffer, controlBuffer, ringFrames, chunkFrames, refillFrames: this.refillFrames, counterStart },
    });
    this.worker.on('message', (message: string) => (this.failure = message));
    this.worker.on('error', (error) => (this.failure = error.message));
    // The run's end closes it; a forgotten one must not keep the process alive.
    this.worker.unref();
  }

  /** Frames drawn and not yet taken. */
  framesAhead(): number {
    return (Atomics.load(this.control, WRITTEN) - this.read) | 0;
  }

  /**
   * Copies the next `frames` frames of the stream into dest[0 … frames × channels) and moves on.
   * Waits for the worker only when it has fallen that far behind (counted in `counters`).
   */
  take(dest: Float32Array, frames: number): void {
    if (this.closed) throw new OptoloopError('E_INTERNAL', 'sim noise thread: take() after close(): this generator can draw no more noise', { stage: 'sim' });
    if (frames > this.ringFrames) throw new RangeError(`NoiseThread.take: ${frames} frames at once exceed the ring's ${this.ringFrames}`);
    if (this.framesAhead() < frames) this.waitFor(frames);
    const C = this.channelCount;
    const at = this.read & (this.ringFrames - 1);
    const first = Math.min(frames, this.ringFrames - at);
    dest.set(this.ring.subarray(at * C, (at + first) * C), 0);
    if (first < frames) dest.set(this.ring.subarray(0, (frames - first) * C), first * C);
    this.read = (this.read + frames) | 0;
    Atomics.store(this.control, READ, this.read);
    if (Atomics.load(this.control, WORKER_WAITING) && this.ringFrames - this.framesAhead() >= this.refillFrames) Atomics.notify(this.control, READ);
  }

  /** Stops the worker (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.control, STOP, 1);
    Atomics.notify(this.control, READ);
    await this.worker.terminate();
  }

  private waitFor(frames: number): void {
    const started = performance.now();
    this.counters.waits++;
    for (;;) {
      const written = Atomics.load(this.control, WRITTEN);
      if (((written - this.read) | 0) >= frames) break;
      const failed = Atomics.load(this.control, FAILED) === 1;
      const waitedMs = performance.now() - started;
      if (failed || waitedMs >= this.stallTimeoutMs) {
        this.counters.waitedMs += waitedMs;
        const why = failed ? `its worker failed${this.failure ? `: ${this.failure}` : ''}` : `no noise drawn for ${waitedMs.toFixed(0)} ms (expected ${frames} frames, ${this.framesAhead()} ahead): the worker stalled`;
        throw new OptoloopError('E_INTERNAL', `sim noise thread: ${why}`, { stage: 'sim' });
      }
      Atomics.wait(this.control, WRITTEN, written, this.stallTimeoutMs - waitedMs);
    }
    this.counters.waitedMs += performance.now() - started;
  }

  private async waitUntilFull(): Promise<void> {
    // A pending waitAsync does not keep the process alive; the worker does, while referenced.
    this.worker.ref();
    try {
      await this.pollUntilFull();
    } finally {
      this.worker.unref();
    }
  }

  private async pollUntilFull(): Promise<void> {
    const started = performance.now();
    for (;;) {
      const written = Atomics.load(this.control, WRITTEN);
      if (((written - this.read) | 0) >= this.ringFrames) return;
      if (Atomics.load(this.control, FAILED) === 1 || this.failure) {
        // The reason was posted just before the flag was set: let it arrive.
        if (!this.failure) await once(this.worker, 'message', { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
        await this.close();
        throw new OptoloopError('E_INTERNAL', `sim noise thread: its worker failed to start${this.failure ? `: ${this.failure}` : ''}`, { stage: 'sim' });
      }
      if (performance.now() - started > this.stallTimeoutMs * 5) {
        await this.close();
        throw new OptoloopError('E_INTERNAL', `sim noise thread: the ring was not filled within ${(this.stallTimeoutMs * 5).toFixed(0)} ms`, { stage: 'sim' });
      }
      // Not Atomics.wait: the worker's start-up and failure messages arrive on this event loop.
      const result = atomicsWaitAsync(this.control, WRITTEN, written, 50);
      if (result.async) await result.value;
    }
  }
}
