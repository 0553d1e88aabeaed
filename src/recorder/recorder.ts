/**
 * Records the raw samples and the events of a running stream (spikes with unit ids, light pulses,
 * text labels) in the Open Ephys binary format, without ever making acquisition wait for the disk.
 *
 * The acquisition thread only copies: `writeBlock` copies the borrowed block (converted to int16 at
 * the file's scale) into a chunk from a bounded pool and returns. Chunks go to a writer thread
 * (recorder-worker.ts, which uses the io Open Ephys writer) when full and at least every
 * `flushIntervalMs`, moved rather than copied (transferred ArrayBuffers), and come back to the pool
 * once on disk. When the disk falls behind by the whole pool (`queueMiB`), blocks are dropped and
 * counted in `counters` — never silently; `occupancy` is the pool's fill (DaemonStatus
 * .recorderQueueOccupancy). Events are gathered in preallocated arrays and sent at each flush.
 *
 * Crash safety: everything handed over is written at once, the .npy headers rewritten after each
 * write (see recorder-worker.ts), so a kill -9 loses at most the last flush interval (plus a write
 * in flight) and leaves files that numpy, python-neo and our reader open.
 */
import { Worker } from 'node:worker_threads';
import { OptoloopError, isOptoloopError } from '../core/errors.js';
import type { SampleBlock } from '../core/sample-block.js';
import type { StreamInfo } from '../core/sample-source.js';
import type { SnippetBatch, SpikeBatch } from '../core/spikes.js';
import { BlockEncoder } from '../io/block-encoder.js';
import { housekeepingTimers, type TimerHandle, type Timers } from '../core/timers.js';
import type { RecorderConfig } from './config.js';
import type { EventsMessage, FromWorker, OpenMessage, SamplesMessage, ToWorker } from './protocol.js';

export interface RecorderCounters {
  blocksQueued: number;
  framesQueued: number;
  /** Blocks (partly) dropped because the queue was full, and the frames lost with them. */
  blocksOverflowed: number;
  framesOverflowed: number;
  /** Blocks refused because they do not fit the stream (channel count, rate, scale). */
  blocksRejected: number;
  spikesQueued: number;
  spikesOverflowed: number;
  /** Spikes whose snippet shape differs from the recording's: stored with a zero waveform. */
  waveformsMissing: number;
  stimuliQueued: number;
  edgesOverflowed: number;
  labelsQueued: number;
  /** Float32 samples clipped to the int16 range. */
  clippedSamples: number;
  chunksWritten: number;
  /** Confirmed by the writer thread as written (page cache; on disk too with fsync). */
  framesOnDisk: number;
  spikesOnDisk: number;
  edgesOnDisk: number;
  flushes: number;
}

export interface RecorderStartOptions {
  readonly stream: StreamInfo;
  /** The session folder under the config's directory; default `<rig>_<YYYY-MM-DD_HH-MM-SS>`. */
  readonly sessionName?: string;
  /** Store spike snippets (SnippetBatch) of this shape; null stores the peak amplitude only. */
  readonly waveform?: { readonly channels: number; readonly samples: number; readonly samplesBefore: number } | null;
}

export interface RecorderDeps {
  readonly rig?: string;
  readonly timers?: Timers;
  readonly log?: (level: 'info' | 'warn', message: string) => void;
  /** Called after each flush the writer thread confirms. */
  readonly onFlushed?: (counters: Readonly<RecorderCounters>) => void;
}

interface Chunk {
  readonly id: number;
  samples: Int16Array;
  segmentFirstSample: Float64Array;
  segmentFrames: Int32Array;
  frames: number;
  segments: number;
}

interface Edge {
  readonly sample: number;
  readonly state: number;
}

export function createRecorderCounters(): RecorderCounters {
  return {
    blocksQueued: 0,
    framesQueued: 0,
    blocksOverflowed: 0,
    framesOverflowed: 0,
    blocksRejected: 0,
    spikesQueued: 0,
    spikesOverflowed: 0,
    waveformsMissing: 0,
    stimuliQueued: 0,
    edgesOverflowed: 0,
    labelsQueued: 0,
    clippedSamples: 0,
    chunksWritten: 0,
    framesOnDisk: 0,
    spikesOnDisk: 0,
    edgesOnDisk: 0,
    flushes: 0,
  };
}

function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./recorder-worker.js', import.meta.url));
  // Running from source (tests, through tsx): a worker does not inherit tsx's loader, so a small
  // bootstrap registers it before importing the TypeScript worker.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./recorder-worker.ts', import.meta.url).href;
  return new Worker(`import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`, { eval: true });
}

export class Recorder {
  readonly counters: RecorderCounters = createRecorderCounters();
  private readonly timers: Timers;
  private worker: Worker | null = null;
  private stream: StreamInfo | null = null;
  private encoder: BlockEncoder | null = null;
  private chunkFrames = 0;
  private chunkCount = 0;
  private readonly chunks: Chunk[] = [];
  private readonly free: Chunk[] = [];
  private current: Chunk | null = null;
  private inFlight = 0;
  private flushTimer: TimerHandle | null = null;
  private newestSampleIndex = 0;
  private failure: OptoloopError | null = null;
  private closedPromise: Promise<void> | null = null;
  private resolveClosed: (() => void) | null = null;
  // Events gathered between flushes.
  private spikeSample = new Float64Array(0);
  private spikeChannel = new Int32Array(0);
  private spikeUnit = new Int32Array(0);
  private spikeWaveforms = new Int16Array(0);
  private spikeCount = 0;
  private rowItems = 1;
  private waveform: RecorderStartOptions['waveform'] = null;
  private countsPerUv = 1;
  private pendingEdges: Edge[] = [];
  private ttlWord = 0;
  private labels: { sampleIndex: number; text: string }[] = [];
  private recordingDirectory: string | null = null;

  constructor(
    private readonly config: RecorderConfig,
    private readonly deps: RecorderDeps = {},
  ) {
    this.timers = deps.timers ?? housekeepingTimers;
  }

  get recording(): boolean {
    return this.worker !== null && this.closedPromise === null;
  }

  /** Folder of the recording (`…/Record Node 101/experiment1/recording1`), once started. */
  get recordingDir(): string | null {
    return this.recordingDirectory;
  }

  /** Fill of the queue between acquisition and disk, 0…1; null when not recording. */
  get occupancy(): number | null {
    if (!this.recording) return null;
    const waiting = this.inFlight * this.chunkFrames + (this.current?.frames ?? 0);
    return Math.min(1, waiting / (this.chunkCount * this.chunkFrames));
  }

  /** The writer thread's failure (disk full, permissions), if any: recording has stopped. */
  get error(): OptoloopError | null {
    return this.failure;
  }

  /** Opens the recording folder and the writer thread; resolves with the recording folder. */
  async start(options: RecorderStartOptions): Promise<string> {
    if (this.worker) throw new OptoloopError('E_SOURCE_STATE', 'recorder: already started', { stage: 'recorder' });
    const info = options.stream;
    const uvPerCount = info.uvPerCount ?? new Float32Array(info.channelCount).fill(this.config.float32UvPerCount);
    this.stream = info;
    this.encoder = new BlockEncoder(`recording of ${info.streamId}`, info.channelCount, info.sampleRateHz, uvPerCount);
    this.countsPerUv = 1 / uvPerCount[0];
    this.chunkFrames = Math.max(1, Math.round((info.sampleRateHz * Math.min(this.config.flushIntervalMs, 250)) / 1000));
    const chunkBytes = this.chunkFrames * info.channelCount * 2;
    this.chunkCount = Math.max(2, Math.floor((this.config.queueMiB * 1024 * 1024) / chunkBytes));
    this.waveform = options.waveform ?? null;
    this.rowItems = this.waveform ? this.waveform.channels * this.waveform.samples : 1;
    const spikeCapacity = this.config.spikeCapacity;
    this.spikeSample = new Float64Array(spikeCapacity);
    this.spikeChannel = new Int32Array(spikeCapacity);
    this.spikeUnit = new Int32Array(spikeCapacity);
    this.spikeWaveforms = new Int16Array(spikeCapacity * this.rowItems);
    const session = options.sessionName ?? `${(this.deps.rig ?? 'rig').replace(/[^A-Za-z0-9_.-]/g, '_')}_${new Date().toISOString().slice(0, 19).replace('T', '_').replace(/:/g, '-')}`;
    const directory = `${this.config.directory}/${session}`;

    const worker = startWorker();
    this.worker = worker;
    const opened = new Promise<string>((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'opened') resolve(m.recordingDir);
        else if (m.type === 'error' && !this.recordingDirectory) reject(new OptoloopError(m.code as 'E_FILE_WRITE', `recorder: ${m.message}`, { stage: 'recorder' }));
        this.onWorkerMessage(m);
      });
      worker.on('error', (error) => {
        this.fail(new OptoloopError('E_INTERNAL', `recorder: writer thread crashed: ${error.message}`, { stage: 'recorder', cause: error }));
        reject(error);
      });
    });
    const open: OpenMessage = {
      type: 'open',
      directory,
      streamName: info.streamId.replace(/[^A-Za-z0-9_-]/g, '_'),
      sampleRateHz: info.sampleRateHz,
      channelCount: info.channelCount,
      uvPerCount: Float32Array.from(uvPerCount),
      channelNames: info.channelNames,
      waveformChannels: this.waveform?.channels ?? 1,
      waveformSamples: this.waveform?.samples ?? 1,
      waveformSamplesBefore: this.waveform?.samplesBefore ?? 0,
      fsync: this.config.fsync,
    };
    this.send(open);
    try {
      this.recordingDirectory = await opened;
    } catch (error) {
      await worker.terminate();
      this.worker = null;
      throw error;
    }
    this.flushTimer = this.timers.setInterval(() => this.flush(), this.config.flushIntervalMs);
    this.deps.log?.('info', `recorder: recording ${info.channelCount} channels at ${info.sampleRateHz} Hz to ${this.recordingDirectory}`);
    return this.recordingDirectory;
  }

  /**
   * Copies a block into the queue (blocks are borrowed). Returns false when some or all of it was
   * dropped (queue full, writer failed, block not of this stream): counted in `counters`.
   */
  writeBlock(block: SampleBlock): boolean {
    if (!this.recording) return false;
    const n = this.stream!.channelCount;
    if (this.failure) {
      this.counters.blocksOverflowed++;
      this.counters.framesOverflowed += block.frameCount;
      return false;
    }
    let samples: Int16Array;
    try {
      samples = this.encoder!.encode(block);
    } catch (error) {
      this.counters.blocksRejected++;
      if (!isOptoloopError(error)) throw error;
      this.deps.log?.('warn', `recorder: ${error.message}`);
      return false;
    }
    this.counters.clippedSamples = this.encoder!.clippedSamples;
    let done = 0;
    const frames = block.frameCount;
    while (done < frames) {
      let chunk = this.current;
      if (!chunk || chunk.frames === this.chunkFrames) {
        if (chunk) this.handOff(chunk);
        chunk = this.current = this.takeChunk();
        if (!chunk) {
          this.counters.blocksOverflowed++;
          this.counters.framesOverflowed += frames - done;
          return false;
        }
      }
      const count = Math.min(frames - done, this.chunkFrames - chunk.frames);
      chunk.samples.set(samples.subarray(done * n, (done + count) * n), chunk.frames * n);
      const first = block.firstSampleIndex + done;
      const last = chunk.segments - 1;
      if (last >= 0 && chunk.segmentFirstSample[last] + chunk.segmentFrames[last] === first) {
        chunk.segmentFrames[last] += count;
      } else {
        chunk.segmentFirstSample[chunk.segments] = first;
        chunk.segmentFrames[chunk.segments] = count;
        chunk.segments++;
      }
      chunk.frames += count;
      done += count;
    }
    this.counters.blocksQueued++;
    this.counters.framesQueued += frames;
    const end = block.firstSampleIndex + frames;
    if (end > this.newestSampleIndex) this.newestSampleIndex = end;
    return true;
  }

  /** Copies a batch's spikes (and snippets, when the recording stores them) for the next flush. */
  writeSpikes(batch: SpikeBatch | SnippetBatch): void {
    if (!this.recording) return;
    const capacity = this.spikeSample.length;
    const snippets = 'waveformsUv' in batch ? (batch as SnippetBatch) : null;
    const w = this.waveform ?? null;
    const shapeFits = w !== null && snippets !== null && snippets.neighbourCapacity === w.channels && snippets.snippetLength === w.samples;
    const k = this.countsPerUv;
    for (let i = 0; i < batch.count; i++) {
      if (this.spikeCount >= capacity) {
        this.counters.spikesOverflowed += batch.count - i;
        break;
      }
      const at = this.spikeCount++;
      this.spikeSample[at] = batch.peakSampleIndex[i];
      this.spikeChannel[at] = batch.peakChannel[i];
      this.spikeUnit[at] = batch.unitId[i];
      const row = at * this.rowItems;
      if (w === null) {
        this.spikeWaveforms[row] = clampInt16(batch.amplitudeUv[i] * k);
      } else if (shapeFits) {
        const from = i * this.rowItems;
        for (let j = 0; j < this.rowItems; j++) this.spikeWaveforms[row + j] = clampInt16(snippets!.waveformsUv[from + j] * k);
      } else {
        this.spikeWaveforms.fill(0, row, row + this.rowItems);
        this.counters.waveformsMissing++;
      }
      this.counters.spikesQueued++;
    }
  }

  /**
   * Records light pulses on stimulator outputs (`outputMask` bit n = output n, TTL line n + 1), as
   * rising and falling edges in the stream's sample clock.
   */
  writeStimulus(onsetSampleIndex: number, outputMask: number, pulseWidthSamples: number, pulseCount = 1, pulseIntervalSamples = 0): void {
    if (!this.recording) return;
    this.counters.stimuliQueued++;
    for (let p = 0; p < pulseCount; p++) {
      const onset = onsetSampleIndex + p * pulseIntervalSamples;
      for (let bit = 0; bit < 32; bit++) {
        if (((outputMask >>> bit) & 1) === 0) continue;
        if (this.pendingEdges.length + 2 > this.config.eventCapacity) {
          this.counters.edgesOverflowed += 2;
          continue;
        }
        this.pendingEdges.push({ sample: onset, state: bit + 1 }, { sample: onset + Math.max(1, Math.round(pulseWidthSamples)), state: -(bit + 1) });
      }
    }
  }

  /** Records a text label (MessageCenter) at a sample index, e.g. "drug applied". */
  writeLabel(sampleIndex: number, text: string): void {
    if (!this.recording) return;
    this.labels.push({ sampleIndex, text });
    this.counters.labelsQueued++;
  }

  /** Hands everything gathered so far to the writer thread (the timer calls this every flushIntervalMs). */
  flush(final = false): void {
    if (!this.worker || this.failure) return;
    if (this.current && this.current.frames > 0) {
      this.handOff(this.current);
      this.current = null;
    }
    const n = this.spikeCount;
    // Edges up to the newest recorded sample are final; later ones (a pulse still to end) wait.
    const limit = final ? Number.POSITIVE_INFINITY : this.newestSampleIndex;
    const ready = this.pendingEdges.filter((e) => e.sample <= limit).sort((a, b) => a.sample - b.sample || a.state - b.state);
    this.pendingEdges = this.pendingEdges.filter((e) => e.sample > limit);
    const ttlSample = new Float64Array(ready.length);
    const ttlState = new Int16Array(ready.length);
    const ttlWord = new Float64Array(ready.length);
    ready.forEach((e, i) => {
      this.ttlWord = e.state > 0 ? this.ttlWord | (1 << (e.state - 1)) : this.ttlWord & ~(1 << (-e.state - 1));
      ttlSample[i] = e.sample;
      ttlState[i] = e.state;
      ttlWord[i] = this.ttlWord >>> 0;
    });
    if (n > 0 || ready.length > 0 || this.labels.length > 0) {
      const events: EventsMessage = {
        type: 'events',
        spikeSample: this.spikeSample.slice(0, n),
        spikeChannel: this.spikeChannel.slice(0, n),
        spikeUnit: this.spikeUnit.slice(0, n),
        spikeWaveforms: this.spikeWaveforms.slice(0, n * this.rowItems),
        ttlSample,
        ttlState,
        ttlWord,
        labels: this.labels,
      };
      this.send(events, [events.spikeSample.buffer, events.spikeChannel.buffer, events.spikeUnit.buffer, events.spikeWaveforms.buffer] as ArrayBuffer[]);
      this.spikeCount = 0;
      this.labels = [];
    }
    this.send({ type: 'flush' });
  }

  /** Writes what is queued, closes the files and the writer thread. */
  async stop(): Promise<void> {
    if (!this.worker) return;
    if (this.closedPromise) return this.closedPromise;
    this.timers.clearTimeout(this.flushTimer);
    this.flush(true);
    this.closedPromise = new Promise<void>((resolve) => (this.resolveClosed = resolve));
    if (this.failure) this.resolveClosed!();
    else this.send({ type: 'close' });
    await this.closedPromise;
    await this.worker.terminate();
    this.deps.log?.('info', `recorder: closed ${this.recordingDirectory} (${this.counters.framesOnDisk} frames, ${this.counters.framesOverflowed} dropped)`);
  }

  // ------------------------------------------------------------------------------ internals

  private takeChunk(): Chunk | null {
    const reused = this.free.pop();
    if (reused) return reused;
    if (this.chunks.length >= this.chunkCount) return null;
    // The pool grows only while the backlog grows; in steady state chunks are reused.
    const n = this.stream!.channelCount;
    const chunk: Chunk = {
      id: this.chunks.length,
      samples: new Int16Array(this.chunkFrames * n),
      segmentFirstSample: new Float64Array(this.chunkFrames),
      segmentFrames: new Int32Array(this.chunkFrames),
      frames: 0,
      segments: 0,
    };
    this.chunks.push(chunk);
    return chunk;
  }

  private handOff(chunk: Chunk): void {
    const message: SamplesMessage = {
      type: 'samples',
      chunkId: chunk.id,
      samples: chunk.samples.subarray(0, chunk.frames * this.stream!.channelCount),
      segmentCount: chunk.segments,
      segmentFirstSample: chunk.segmentFirstSample,
      segmentFrames: chunk.segmentFrames,
    };
    this.inFlight++;
    this.send(message, [chunk.samples.buffer as ArrayBuffer, chunk.segmentFirstSample.buffer as ArrayBuffer, chunk.segmentFrames.buffer as ArrayBuffer]);
    if (this.current === chunk) this.current = null;
  }

  private onWorkerMessage(m: FromWorker): void {
    switch (m.type) {
      case 'returned': {
        const chunk = this.chunks[m.chunkId];
        chunk.samples = new Int16Array(m.samples.buffer);
        chunk.segmentFirstSample = m.segmentFirstSample;
        chunk.segmentFrames = m.segmentFrames;
        chunk.frames = 0;
        chunk.segments = 0;
        this.inFlight--;
        this.counters.chunksWritten++;
        this.free.push(chunk);
        return;
      }
      case 'flushed':
        this.counters.framesOnDisk = m.framesOnDisk;
        this.counters.spikesOnDisk = m.spikesOnDisk;
        this.counters.edgesOnDisk = m.ttlOnDisk;
        this.counters.flushes++;
        this.deps.onFlushed?.(this.counters);
        return;
      case 'error':
        this.fail(new OptoloopError(m.code as 'E_FILE_WRITE', `recorder: ${m.message}`, { stage: 'recorder' }));
        // A failure while closing must not leave stop() waiting for a 'closed' that never comes.
        this.resolveClosed?.();
        return;
      case 'closed':
        this.resolveClosed?.();
        return;
      case 'opened':
        return;
    }
  }

  private fail(error: OptoloopError): void {
    if (this.failure) return;
    this.failure = error;
    this.deps.log?.('warn', `${error.message}: recording stopped; further blocks are counted as dropped`);
    this.resolveClosed?.();
  }

  private send(message: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker!.postMessage(message, transfer);
  }
}

function clampInt16(v: number): number {
  const r = Math.round(v);
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r;
}
