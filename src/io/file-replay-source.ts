/**
 * Replays a recording file as a live {@link SampleSource}: blocks of `blockFrames` frames, paced at
 * real time × `speed`, or as fast as the consumer takes them.
 *
 * ## Pacing
 * Real time: a block is emitted when the stream time of its **last** frame has elapsed since
 * `start()` (as a device delivers a block once its samples are acquired), scaled by `speed`.
 * Due times are computed from the absolute stream position and the start anchor
 * (`anchor + (endIndex − anchorIndex) / rate / speed`), never by adding delays, so timer lateness
 * never accumulates: a late wake-up emits every block that is due (at most `maxBurstBlocks` before
 * yielding). Waiting uses the injected RxJS `scheduler`, by default a PreciseScheduler made for
 * the run (src/core/precise-scheduler.ts: a worker thread keeps time to tens of µs, where Node's
 * 1 ms timers left blocks 0.55 ms late at p50); time is read from the injected `clock`, which also
 * stamps `hostReceiveTimeNs`. Tests pass a `VirtualTimeScheduler` and a clock that reads it, and
 * run in virtual time.
 *
 * As fast as possible (`realTime: false`): the next block is read and emitted only after the
 * previous `next()` returned (RxJS delivery is synchronous, so a synchronous consumer is never
 * flooded); after `maxSpeedBatchFrames` frames the source yields to the event loop
 * (`setImmediate`), and, if `readyForMore` is given and returns a promise (e.g. a recorder whose
 * queue is full), waits for it before the next batch. The clock is only read, never waited on.
 *
 * ## Sample indices, gaps, looping
 * A block's `firstSampleIndex` is the file's own sample index (SpikeGLX `firstSample`, Open
 * Ephys sample numbers, Intan timestamps: see `RecordingReader.firstSampleIndex`) and
 * `deviceTimestamp` the device counter the file stores. A jump in the file's sample numbers ends a
 * block early; the next block's index jumps, and the frames skipped are counted in
 * `counters.framesDropped` (one `blocksDropped` per jump). With `loop`, each pass continues the
 * indices where the previous pass ended (no gap, nothing counted dropped) while
 * `deviceTimestamp` repeats the file's values, so a pipeline sees one continuous stream.
 *
 * ## Ownership
 * The block object and its `samples` are allocated once at `open()` and rewritten for every
 * emission: blocks are **borrowed** (valid during `next()` only, see `core/sample-block.ts`).
 * `uvPerCount` is the source's own array; consumers must not modify it.
 *
 * ## States
 * `closed` → `open()` → `opened` → `start()` → `running` ⇄ `stop()`/`start()` → `close()` →
 * `closed` (for good: a closed source cannot be reopened). Out-of-order calls reject with
 * `E_SOURCE_STATE`; `close()` is accepted in any state and is idempotent. At the end of the file
 * (without `loop`) the source moves to `stopped`, `ended` becomes true and `blocks$` completes; a
 * read error moves it to `failed` and errors `blocks$`.
 */
import { RunScheduler } from '../core/precise-scheduler.js';
import { Subject, type Observable, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';
import { systemClock, type MonotonicClock } from '../core/clock.js';
import { OptoloopError, isOptoloopError } from '../core/errors.js';
import type { MutableInt16Block, SampleBlock } from '../core/sample-block.js';
import { createSourceCounters, type SampleSource, type SourceCounters, type SourceState, type StreamInfo } from '../core/sample-source.js';
import type { RecordingReader } from './recording-reader.js';

export interface FileReplayOptions {
  /** Frames per block (default 30: 1 ms at 30 kHz). */
  readonly blockFrames?: number;
  /** Pace by the clock (default true); false replays as fast as the consumer takes blocks. */
  readonly realTime?: boolean;
  /** Multiple of real time when pacing (default 1). */
  readonly speed?: number;
  /** Start again from the beginning at the end of the file (default false). */
  readonly loop?: boolean;
  readonly clock?: MonotonicClock;
  /** Wakes the real-time pacer (default: a PreciseScheduler for each real-time run). */
  readonly scheduler?: SchedulerLike;
  /** Real time: blocks emitted in one wake-up before yielding when behind (default 64). */
  readonly maxBurstBlocks?: number;
  /** As fast as possible: frames emitted between yields to the event loop (default 65536). */
  readonly maxSpeedBatchFrames?: number;
  /** As fast as possible: a consumer's backpressure, awaited when it returns a promise. */
  readonly readyForMore?: () => Promise<void> | null | undefined;
  /** As fast as possible: how to yield to the event loop (default setImmediate). */
  readonly yieldToEventLoop?: (resume: () => void) => void;
}

const EARLY_TOLERANCE_NS = 1000;

export class FileReplaySource implements SampleSource {
  readonly kind = 'file';
  private currentState: SourceState = 'closed';
  private reader: RecordingReader | null = null;
  private readonly openReader: () => RecordingReader;
  private readonly subject = new Subject<SampleBlock>();
  readonly blocks$: Observable<SampleBlock> = this.subject.asObservable();
  readonly counters: SourceCounters = createSourceCounters();
  private streamInfo: StreamInfo | null = null;
  private block: MutableInt16Block | null = null;
  private disposed = false;
  /** True once the file ended (without loop); the source cannot be started again. */
  ended = false;
  /** Completed passes over the file (loop). */
  passes = 0;

  private readonly blockFrames: number;
  private readonly realTime: boolean;
  private readonly speed: number;
  private readonly loop: boolean;
  private readonly clock: MonotonicClock;
  private readonly runScheduler: RunScheduler;
  private readonly maxBurstBlocks: number;
  private readonly maxSpeedBatchFrames: number;
  private readonly readyForMore: (() => Promise<void> | null | undefined) | null;
  private readonly yieldToEventLoop: (resume: () => void) => void;

  /** Next frame of the file to read. */
  private filePosition = 0;
  /** Added to the file's sample indices (grows by one file span per loop pass). */
  private indexOffset = 0;
  /** Output index one past the last frame emitted (null before the first block). */
  private nextIndex: number | null = null;
  /** A block read but not yet emitted (waiting for its due time). */
  private pending = false;
  private anchorTimeNs = 0;
  private anchorIndex = 0;
  private wakeup: Subscription | null = null;
  /** Guards against a second pump loop when start() follows stop() inside a yield. */
  private runGeneration = 0;

  /** The scheduler's work: one static function, the source passed as state (no closure per wake). */
  private static wake(this: SchedulerAction<FileReplaySource>, source?: FileReplaySource): void {
    source!.wakeup = null;
    source!.pumpRealTime(this);
  }

  constructor(reader: RecordingReader | (() => RecordingReader), options: FileReplayOptions = {}) {
    this.openReader = typeof reader === 'function' ? reader : () => reader;
    const blockFrames = options.blockFrames ?? 30;
    const speed = options.speed ?? 1;
    if (!Number.isInteger(blockFrames) || blockFrames < 1) {
      throw new OptoloopError('E_OPTIONS_INVALID', `file replay: blockFrames: expected a positive integer, got ${blockFrames}`, { stage: 'io.replay' });
    }
    if (!(speed > 0) || !Number.isFinite(speed)) {
      throw new OptoloopError('E_OPTIONS_INVALID', `file replay: speed: expected a positive number, got ${speed}`, { stage: 'io.replay' });
    }
    this.blockFrames = blockFrames;
    this.realTime = options.realTime ?? true;
    this.speed = speed;
    this.loop = options.loop ?? false;
    this.clock = options.clock ?? systemClock;
    this.runScheduler = new RunScheduler(options.scheduler ?? null);
    this.maxBurstBlocks = Math.max(1, options.maxBurstBlocks ?? 64);
    this.maxSpeedBatchFrames = Math.max(1, options.maxSpeedBatchFrames ?? 65536);
    this.readyForMore = options.readyForMore ?? null;
    this.yieldToEventLoop = options.yieldToEventLoop ?? ((resume) => setImmediate(resume));
  }

  get state(): SourceState {
    return this.currentState;
  }

  get info(): StreamInfo | null {
    return this.streamInfo;
  }

  /** The open reader (format, layout, notes), or null before open() and after close(). */
  get recording(): RecordingReader | null {
    return this.reader;
  }

  /** Frames of the current pass already emitted, for progress displays. */
  get framesIntoFile(): number {
    return this.filePosition - (this.pending ? this.block!.frameCount : 0);
  }

  /** Stream time of the end of the last block emitted, s since the file's first frame (all passes). */
  get streamTimeS(): number {
    if (this.nextIndex === null || !this.streamInfo || !this.reader) return 0;
    return (this.nextIndex - this.reader.firstSampleIndex) / this.streamInfo.sampleRateHz;
  }

  async open(): Promise<StreamInfo> {
    if (this.currentState !== 'closed' || this.disposed) throw this.stateError('open()', this.disposed ? 'a source that was not closed' : '"closed"');
    const reader = this.openReader();
    const info = reader.info;
    if (info.format !== 'int16' || !info.uvPerCount) {
      reader.close();
      throw new OptoloopError('E_INTERNAL', `file replay: reader of ${reader.dataPath} delivers no int16 samples`, { stage: 'io.replay' });
    }
    this.reader = reader;
    this.streamInfo = info;
    this.block = {
      format: 'int16',
      streamId: info.streamId,
      firstSampleIndex: reader.firstSampleIndex,
      sampleRateHz: info.sampleRateHz,
      channelCount: info.channelCount,
      frameCount: 0,
      samples: new Int16Array(this.blockFrames * info.channelCount),
      uvPerCount: info.uvPerCount.slice(),
      deviceTimestamp: null,
      hostReceiveTimeNs: 0,
    };
    this.currentState = 'opened';
    return info;
  }

  async start(): Promise<void> {
    if (this.currentState !== 'opened' && this.currentState !== 'stopped') throw this.stateError('start()', '"opened" or "stopped"');
    if (this.ended) throw this.stateError('start()', 'a file that has not ended (close and open a new source to replay again)');
    this.currentState = 'running';
    const generation = ++this.runGeneration;
    if (this.realTime) {
      this.runScheduler.begin(true);
      this.anchorTimeNs = this.clock.nowNs();
      this.anchorIndex = this.nextIndex ?? this.reader!.firstSampleIndex;
      this.pumpRealTime(null);
    } else {
      this.pumpMaxSpeed(generation);
    }
  }

  async stop(): Promise<void> {
    if (this.currentState !== 'running') throw this.stateError('stop()', '"running"');
    this.currentState = 'stopped';
    this.cancelWakeup();
  }

  async close(): Promise<void> {
    if (this.disposed) return;
    this.cancelWakeup();
    this.reader?.close();
    this.reader = null;
    this.currentState = 'closed';
    this.disposed = true;
    this.subject.complete();
  }

  // --- Pacing ---------------------------------------------------------------------------------

  /**
   * Emits every block that is due, then schedules the next wake-up: by rescheduling the action that
   * woke it when there is one (RxJS reuses the action object), so waking allocates no work item.
   */
  private pumpRealTime(action: SchedulerAction<FileReplaySource> | null): void {
    const block = this.block!;
    const rate = block.sampleRateHz;
    for (let burst = 0; this.currentState === 'running'; burst++) {
      if (!this.pending && !this.readNext()) return;
      const endIndex = block.firstSampleIndex + block.frameCount;
      const dueNs = this.anchorTimeNs + ((endIndex - this.anchorIndex) / rate / this.speed) * 1e9;
      const now = this.clock.nowNs();
      if (now < dueNs - EARLY_TOLERANCE_NS) {
        this.scheduleWake(action, (dueNs - now) / 1e6);
        return;
      }
      if (burst >= this.maxBurstBlocks) {
        // Behind schedule: let other work run before catching up.
        this.scheduleWake(action, 0);
        return;
      }
      this.emit();
    }
  }

  private scheduleWake(action: SchedulerAction<FileReplaySource> | null, delayMs: number): void {
    this.wakeup = action ? action.schedule(this, delayMs) : this.runScheduler.scheduler.schedule(FileReplaySource.wake, delayMs, this);
  }

  private pumpMaxSpeed(generation: number): void {
    let frames = 0;
    while (this.currentState === 'running' && generation === this.runGeneration) {
      if (!this.pending && !this.readNext()) return;
      if (frames >= this.maxSpeedBatchFrames) {
        const resume = () => {
          if (generation === this.runGeneration && this.currentState === 'running') this.pumpMaxSpeed(generation);
        };
        const wait = this.readyForMore?.();
        if (wait) wait.then(() => this.yieldToEventLoop(resume), (error: unknown) => this.fail(error));
        else this.yieldToEventLoop(resume);
        return;
      }
      frames += this.block!.frameCount;
      this.emit();
    }
  }

  /** Reads the next block into the reused block object; false when the source ended or failed. */
  private readNext(): boolean {
    const reader = this.reader!;
    const block = this.block!;
    let run;
    try {
      run = reader.read(this.filePosition, this.blockFrames, block.samples);
      if (run.frames === 0) {
        if (!this.loop || reader.info.totalFrames === 0) {
          this.finish();
          return false;
        }
        this.passes++;
        this.filePosition = 0;
        // The next pass continues where this one ended: no gap, nothing dropped.
        this.indexOffset = (this.nextIndex ?? reader.firstSampleIndex) - reader.firstSampleIndex;
        run = reader.read(0, this.blockFrames, block.samples);
        if (run.frames === 0) {
          this.finish();
          return false;
        }
      }
    } catch (error) {
      this.fail(error);
      return false;
    }
    const index = run.sampleIndex + this.indexOffset;
    if (this.nextIndex !== null && index > this.nextIndex) {
      this.counters.framesDropped += index - this.nextIndex;
      this.counters.blocksDropped += 1;
    }
    block.firstSampleIndex = index;
    block.frameCount = run.frames;
    block.deviceTimestamp = run.deviceTimestamp;
    this.filePosition += run.frames;
    this.pending = true;
    return true;
  }

  private emit(): void {
    const block = this.block!;
    block.hostReceiveTimeNs = this.clock.nowNs();
    this.pending = false;
    this.nextIndex = block.firstSampleIndex + block.frameCount;
    this.counters.blocksDelivered++;
    this.counters.framesDelivered += block.frameCount;
    this.subject.next(block);
  }

  private finish(): void {
    this.ended = true;
    this.currentState = 'stopped';
    this.cancelWakeup();
    this.subject.complete();
  }

  private fail(error: unknown): void {
    this.currentState = 'failed';
    this.cancelWakeup();
    const wrapped = isOptoloopError(error)
      ? error
      : new OptoloopError('E_INTERNAL', `file replay of ${this.reader?.dataPath}: ${(error as Error)?.message ?? String(error)}`, { stage: 'io.replay', cause: error });
    this.subject.error(wrapped);
  }

  /** Drops the pending wake-up and, as the run ends, the run's own timekeeper thread. */
  private cancelWakeup(): void {
    this.wakeup?.unsubscribe();
    this.wakeup = null;
    this.runScheduler.end();
  }

  private stateError(call: string, expected: string): OptoloopError {
    const id = this.streamInfo?.streamId ?? 'file';
    return new OptoloopError('E_SOURCE_STATE', `file replay ${id}: ${call} in state "${this.currentState}": expected ${expected}`, {
      stage: 'io.replay',
      details: { state: this.currentState, call },
    });
  }
}
