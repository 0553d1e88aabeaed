/**
 * The simulator as a `SampleSource`: int16 blocks of the simulated probe, paced by the clock
 * (real time, or `speed` × real time) or as fast as the consumer takes them.
 *
 * Scale: µV = count × uvPerCount — 2.34375 µV/bit with a 10-bit range on Neuropixels 1.0 (as its
 * ADC at gain 500), 0.195 µV/bit on other probes (Intan RHD2000); see `options.ts`.
 *
 * Pacing: block k (frames [k·F, (k+1)·F)) is emitted when the clock reaches start + (k+1)·F / rate
 * / speed — when its last sample would have been acquired — on a PreciseScheduler (a worker
 * thread keeps time to tens of µs, where Node's 1 ms timers would let blocks leave up to 1 ms late
 * and blur every latency measured from the sample). The clock and the scheduler can be injected,
 * so tests run in virtual time (an RxJS VirtualTimeScheduler and a clock reading it). A
 * late pump catches up (emits every due block, in bursts) rather than dropping: the simulator loses
 * nothing. Blocks are generated in bursts of at most ~10 ms of work, yielding between bursts so
 * that stop() and other I/O get through — also while a late real-time pump catches up.
 *
 * Blocks are borrowed (src/core/sample-block.ts): one buffer is rewritten for every block.
 */
import { Subject, type Observable, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';
import { systemClock, type MonotonicClock } from '../src/core/clock.js';
import { OptoloopError } from '../src/core/errors.js';
import type { Int16SampleBlock, MutableInt16Block } from '../src/core/sample-block.js';
import { createSourceCounters, type SampleSource, type SourceCounters, type SourceState, type StreamInfo } from '../src/core/sample-source.js';
import type { SimOptionsInput } from './options.js';
import { RunScheduler } from '../src/core/precise-scheduler.js';
import { createSimulation, type Simulation } from './simulation.js';
import type { NoiseThread } from './noise-thread.js';

export interface SimSourceOptions extends SimOptionsInput {
  /** Frames per block (30 = 1 ms at 30 kHz). */
  readonly blockFrames?: number;
  /** Pace by the clock (default) or go as fast as possible. */
  readonly realTime?: boolean;
  /** With realTime: 2 = twice real time. */
  readonly speed?: number;
  /** Stop after this long (the stream completes); null/undefined runs until stopped. */
  readonly durationS?: number | null;
  readonly clock?: MonotonicClock;
  /**
   * Default: paced runs use a PreciseScheduler (blocks leave within tens of µs of their due time,
   * as a device's data arrives; Node's timers would make them up to 1 ms late), unpaced ones
   * RxJS's asyncScheduler.
   */
  readonly scheduler?: SchedulerLike;
  readonly streamId?: string;
  /**
   * As fast as possible: also yield to the event loop after this much stream time (ms), so that
   * asynchronous steps (a stimulator's programming) complete at reproducible stream times however
   * fast the machine is; null (default) yields only after ~10 ms of work.
   */
  readonly yieldEveryMs?: number | null;
  /** Keep the ground truth in memory (default true; a long live run may turn it off). */
  readonly keepGroundTruth?: boolean;
  /**
   * Paced by the host's clock (realTime, no injected scheduler): draw the thermal noise ahead on a
   * worker thread (sim/noise-thread.ts; default true), started by open() — before a daemon asks for
   * real-time priority, so the worker keeps the normal one. Same samples either way.
   */
  readonly noiseThread?: boolean;
}

const STAGE = 'sim.source';
const BURST_BUDGET_MS = 10;

export class SimSource implements SampleSource {
  readonly kind = 'sim';
  readonly simulation: Simulation;
  readonly counters: SourceCounters = createSourceCounters();
  readonly blocks$: Observable<Int16SampleBlock>;
  private readonly subject = new Subject<Int16SampleBlock>();
  private currentState: SourceState = 'closed';
  private currentInfo: StreamInfo | null = null;
  private readonly blockFrames: number;
  private readonly realTime: boolean;
  private readonly speed: number;
  private readonly totalFrames: number | null;
  private readonly yieldEveryFrames: number;
  private readonly clock: MonotonicClock;
  private readonly runScheduler: RunScheduler;
  private readonly block: MutableInt16Block;
  private pending: Subscription | null = null;
  /** Whether `block` already holds the next block, generated while waiting for its due time. */
  private nextReady = false;
  private runStartNs = 0;
  private runStartFrame = 0;
  /** Whether open() hands the noise to a worker (sim/noise-thread.ts), and the thread once it has (kept after close() for its counters). */
  private readonly wantsNoiseThread: boolean;
  private thread: NoiseThread | null = null;

  /** The scheduler's work: one static function, the source passed as state, the action rescheduled (no allocation per block). */
  private static pumpWork(this: SchedulerAction<SimSource>, source?: SimSource): void {
    source!.pending = null;
    source!.pump(this);
  }

  constructor(options: SimSourceOptions = {}) {
    const { blockFrames = 30, realTime = true, speed = 1, durationS = null, clock = systemClock, scheduler = null, streamId, keepGroundTruth = true, yieldEveryMs = null, noiseThread = true, ...simOptions } = options;
    if (!Number.isInteger(blockFrames) || blockFrames < 1 || blockFrames > 1_048_576) {
      throw new OptoloopError('E_OPTIONS_INVALID', `sim.blockFrames: expected an integer 1…1048576, got ${blockFrames}`, { stage: STAGE });
    }
    if (!(speed > 0)) throw new OptoloopError('E_OPTIONS_INVALID', `sim.speed: expected a positive number, got ${speed}`, { stage: STAGE });
    if (yieldEveryMs !== null && !(yieldEveryMs > 0)) throw new OptoloopError('E_OPTIONS_INVALID', `sim.yieldEveryMs: expected a positive number or null, got ${yieldEveryMs}`, { stage: STAGE });
    if (durationS !== null && !(durationS > 0)) throw new OptoloopError('E_OPTIONS_INVALID', `sim.durationS: expected a positive number or null, got ${durationS}`, { stage: STAGE });
    this.simulation = createSimulation(simOptions);
    this.simulation.generator.groundTruth.enabled = keepGroundTruth;
    this.blockFrames = blockFrames;
    this.realTime = realTime;
    this.wantsNoiseThread = noiseThread && realTime && scheduler === null;
    this.speed = speed;
    this.clock = clock;
    this.runScheduler = new RunScheduler(scheduler);
    const rate = this.simulation.options.sampleRateHz;
    this.totalFrames = durationS === null ? null : Math.round(durationS * rate);
    this.yieldEveryFrames = yieldEveryMs === null ? Infinity : Math.max(1, Math.round((yieldEveryMs * rate) / 1000));
    const C = this.simulation.generator.channelCount;
    const id = streamId ?? `sim-${this.simulation.options.preset}-${C}ch`;
    this.block = {
      format: 'int16',
      streamId: id,
      firstSampleIndex: 0,
      sampleRateHz: rate,
      channelCount: C,
      frameCount: 0,
      samples: new Int16Array(blockFrames * C),
      uvPerCount: this.simulation.uvPerCount,
      deviceTimestamp: null,
      hostReceiveTimeNs: 0,
    };
    this.blocks$ = this.subject.asObservable();
  }

  get state(): SourceState {
    return this.currentState;
  }

  get info(): StreamInfo | null {
    return this.currentInfo;
  }

  /** The worker drawing the noise ahead (its counters: waits for it), null when drawn in place. */
  get noiseThread(): NoiseThread | null {
    return this.thread;
  }

  async open(): Promise<StreamInfo> {
    if (this.currentState !== 'closed') throw this.stateError('open', 'closed');
    // A thread is only ever started here, and only close() leads back to 'closed': one that exists was closed.
    if (this.thread) {
      throw new OptoloopError('E_SOURCE_STATE', 'sim source: open() after close(): its noise thread ended with it; make a new source', { stage: STAGE });
    }
    const sim = this.simulation;
    if (this.wantsNoiseThread) this.thread = await sim.generator.startNoiseThread();
    const layout = sim.generator.layout;
    this.currentInfo = {
      streamId: this.block.streamId,
      sampleRateHz: sim.options.sampleRateHz,
      channelCount: layout.channelCount,
      channelNames: layout.contactIds.map((id, c) => `sim${c}:${id}`),
      format: 'int16',
      uvPerCount: sim.uvPerCount,
      description: `optoloop simulator: ${sim.preset.name} preset on ${layout.probeName}, ${sim.units.filter((u) => !u.background).length} units, seed ${sim.options.seed}`,
      totalFrames: this.totalFrames,
    };
    this.currentState = 'opened';
    return this.currentInfo;
  }

  async start(): Promise<void> {
    if (this.currentState !== 'opened' && this.currentState !== 'stopped') throw this.stateError('start', 'opened or stopped');
    this.currentState = 'running';
    this.runScheduler.begin(this.realTime);
    this.runStartNs = this.clock.nowNs();
    this.runStartFrame = this.nextFrame();
    this.pending = this.runScheduler.scheduler.schedule(SimSource.pumpWork, this.realTime ? this.msUntilNextBlock() : 0, this);
  }

  async stop(): Promise<void> {
    if (this.currentState !== 'running') throw this.stateError('stop', 'running');
    this.cancel();
    this.currentState = 'stopped';
  }

  async close(): Promise<void> {
    if (this.currentState === 'closed') return;
    this.cancel();
    this.currentState = 'closed';
    this.subject.complete();
    await this.simulation.generator.closeNoiseThread();
  }

  /**
   * Host time (ns, this source's clock) at which sample `sampleIndex` is due under real-time
   * pacing: when a device would have acquired it, the moment the paced block holding it could
   * complete at the earliest if it were the block's last sample (block k is emitted when its last
   * sample is due). The origin of end-to-end latency measurements; null unless running paced.
   */
  sampleDueTimeNs(sampleIndex: number): number | null {
    if (!this.realTime || this.currentState !== 'running') return null;
    return this.runStartNs + ((sampleIndex + 1 - this.runStartFrame) / this.simulation.options.sampleRateHz / this.speed) * 1e9;
  }

  /** Emits the next block now (generating it unless it was generated ahead), whatever the pace (tests, and the pump). */
  emitNextBlock(): boolean {
    if (!this.nextReady && !this.generateNext()) return false;
    this.nextReady = false;
    const block = this.block;
    block.hostReceiveTimeNs = this.clock.nowNs();
    this.counters.blocksDelivered++;
    this.counters.framesDelivered += block.frameCount;
    this.subject.next(block);
    return true;
  }

  /**
   * Generates the next block into the block buffer (free again once its consumers returned);
   * false at the end of a timed run. Paced, the pump calls it right after emitting, so that at
   * the due time the block only leaves: a device's block is complete when its last sample is
   * acquired, and generating 384 channels took ~50 µs that would otherwise count as data wait.
   * The light triggers the emitted block caused are drained into this one, as before; a trigger
   * issued between blocks (a timer, the bus) starts in the block after it.
   */
  private generateNext(): boolean {
    const generator = this.simulation.generator;
    let frames = this.blockFrames;
    if (this.totalFrames !== null) frames = Math.min(frames, this.totalFrames - generator.position);
    if (frames <= 0) return false;
    const block = this.block;
    block.firstSampleIndex = generator.position;
    generator.generate(block.samples, frames);
    block.frameCount = frames;
    this.nextReady = true;
    return true;
  }

  /** The first frame of the next block to emit. */
  private nextFrame(): number {
    return this.nextReady ? this.block.firstSampleIndex : this.simulation.generator.position;
  }

  private pump(action: SchedulerAction<SimSource>): void {
    if (this.currentState !== 'running') return;
    const started = performance.now();
    const startFrame = this.nextFrame();
    for (;;) {
      if (this.realTime && this.msUntilNextBlock() > 0) break;
      if (!this.realTime && this.nextFrame() - startFrame >= this.yieldEveryFrames) break;
      if (!this.emitNextBlock()) {
        this.finish();
        return;
      }
      if (this.currentState !== 'running') return; // a consumer stopped or closed us
      // Also when catching up in real time: a long catch-up must not starve the sockets and timers.
      if (performance.now() - started > BURST_BUDGET_MS) break;
    }
    // The end of a timed run shows at the next pump, when there is nothing left to emit.
    if (this.realTime && !this.nextReady) this.generateNext();
    this.pending = action.schedule(this, this.realTime ? this.msUntilNextBlock() : 0);
  }

  private finish(): void {
    this.cancel();
    this.currentState = 'stopped';
    this.subject.complete();
  }

  private msUntilNextBlock(): number {
    const framesDone = this.nextFrame() - this.runStartFrame;
    const dueNs = this.runStartNs + ((framesDone + this.blockFrames) / this.simulation.options.sampleRateHz / this.speed) * 1e9;
    return Math.max(0, (dueNs - this.clock.nowNs()) / 1e6);
  }

  /** Drops the pending pump and, when the run ends, the run's own timekeeper thread. */
  private cancel(): void {
    this.pending?.unsubscribe();
    this.pending = null;
    this.runScheduler.end();
  }

  private stateError(call: string, expected: string): OptoloopError {
    return new OptoloopError('E_SOURCE_STATE', `sim source: ${call}(): expected state ${expected}, it is ${this.currentState}`, { stage: STAGE });
  }
}
