/**
 * Writes an Open Ephys binary recording (the GUI ≥ 0.6 layout, readable by python-neo 0.11.1,
 * open-ephys-python-tools and our reader):
 *
 * ```
 * <directory>/Record Node <id>/experiment<e>/recording<r>/
 *   structure.oebin
 *   continuous/<processor>-<processorId>.<stream>/continuous.dat      int16 frames
 *                                               sample_numbers.npy   int64, one per frame
 *                                               timestamps.npy       float64 s = sample number / rate
 * ```
 *
 * One {@link OpenEphysRecordingWriter} per recording folder; {@link OpenEphysRecordingWriter.addContinuousStream}
 * adds streams. The recorder adds event folders itself (see `eventsDir`, {@link NpyAppendWriter})
 * and registers them with {@link OpenEphysRecordingWriter.addOebinEntry}.
 *
 * The recording also gets the `events/MessageCenter/` stream every GUI recording has (python-neo
 * 0.11.1 refuses a recording without any event stream), holding the messages given to
 * {@link OpenEphysRecordingWriter.addMessage}.
 *
 * Gaps: blocks may skip sample indices; the gap shows in `sample_numbers.npy` (no zero filling).
 *
 * Crash safety: `structure.oebin` is written as soon as a stream is added (to a temporary file,
 * then renamed). Each stream buffers whole frames and writes, in this order, `continuous.dat`,
 * then the two .npy files, whose headers are rewritten after each write: after a SIGKILL,
 * `sample_numbers.npy` counts at most the frames on disk in `continuous.dat`, and every file reads
 * up to the last flush. (The Open Ephys GUI writes the .npy shapes only at stop.)
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { OptoloopError } from '../../core/errors.js';
import type { SampleBlock } from '../../core/sample-block.js';
import { BlockEncoder, scaleArray } from '../block-encoder.js';
import { ChunkedFileWriter } from '../chunked-file-writer.js';
import { fileWriteFailed, IO_STAGE } from '../file-errors.js';
import { assertLittleEndianHost, writeFileAtomically } from '../fs-sync.js';
import { NpyAppendWriter } from '../npy-append-writer.js';
import { DEFAULT_WRITER_BUFFER_BYTES } from '../frame-file-writer.js';
import { encodeNpy, encodeNpyHeaderWithDescr } from '../npy.js';

export type OpenEphysChannelKind = 'electrode' | 'aux' | 'adc';

const CHANNEL_TYPE: Record<OpenEphysChannelKind, number> = { electrode: 0, aux: 1, adc: 2 };

export interface OpenEphysRecordingOptions {
  /** Folder that receives `Record Node <recordNodeId>/experiment<experiment>/recording<recording>/`. */
  readonly directory: string;
  readonly recordNodeId?: number;
  readonly experiment?: number;
  readonly recording?: number;
  /** Written as `"GUI version"`; readers branch on it (≥ 0.6 means this layout). */
  readonly guiVersion?: string;
}

export interface ContinuousStreamOptions {
  /** The stream name, e.g. `ProbeA` or `optoloop`. */
  readonly streamName: string;
  readonly sampleRateHz: number;
  readonly channelCount: number;
  /** µV per count (one for all channels, or one per channel); written as `bit_volts` (V for aux/adc channels). */
  readonly uvPerCount: number | ArrayLike<number>;
  /** Default `CH1` … `CHn`. */
  readonly channelNames?: readonly string[];
  /** Default every channel an electrode. Aux and ADC channels get `units: "V"` and bit_volts in V. */
  readonly channelKinds?: readonly OpenEphysChannelKind[];
  readonly sourceProcessorName?: string;
  readonly sourceProcessorId?: number;
  /** Frames buffered before each write (default: 1 MiB of continuous.dat, at least 256 frames). */
  readonly bufferFrames?: number;
}

export class OpenEphysRecordingWriter {
  readonly recordingDir: string;
  readonly continuousDir: string;
  /** Where event folders go: `events/<processor>-<id>.<stream>/TTL/…`. */
  readonly eventsDir: string;
  readonly oebinPath: string;
  private readonly streams: ContinuousStreamWriter[] = [];
  private readonly extra: { events: Record<string, unknown>[]; spikes: Record<string, unknown>[] } = { events: [], spikes: [] };
  private readonly guiVersion: string;
  private readonly recordNodeId: number;
  private readonly messages: { sampleNumber: number; text: string }[] = [];
  private messageCenter: { sampleRateHz: number; streamName: string } | null = null;
  private closed = false;

  constructor(options: OpenEphysRecordingOptions) {
    assertLittleEndianHost(options.directory);
    const node = options.recordNodeId ?? 101;
    this.recordNodeId = node;
    this.recordingDir = join(options.directory, `Record Node ${node}`, `experiment${options.experiment ?? 1}`, `recording${options.recording ?? 1}`);
    this.continuousDir = join(this.recordingDir, 'continuous');
    this.eventsDir = join(this.recordingDir, 'events');
    this.oebinPath = join(this.recordingDir, 'structure.oebin');
    this.guiVersion = options.guiVersion ?? '0.6.7';
    try {
      mkdirSync(this.continuousDir, { recursive: true });
    } catch (cause) {
      throw fileWriteFailed(this.continuousDir, cause, 'mkdir');
    }
    this.writeOebin();
  }

  /** Adds a continuous stream; its folder and files are created now. */
  addContinuousStream(options: ContinuousStreamOptions): ContinuousStreamWriter {
    this.ensureOpen();
    const stream = new ContinuousStreamWriter(this.continuousDir, options, this.recordNodeId);
    if (this.streams.some((s) => s.folderName === stream.folderName)) {
      stream.close();
      throw new OptoloopError('E_OPTIONS_INVALID', `${this.recordingDir}: a stream named ${stream.folderName} already exists`, { stage: IO_STAGE });
    }
    this.streams.push(stream);
    if (this.messageCenter === null) {
      // Messages are stamped in the first stream's samples, as the GUI stamps them in its main stream.
      this.messageCenter = { sampleRateHz: options.sampleRateHz, streamName: options.streamName };
      this.writeMessages();
    }
    this.writeOebin();
    return stream;
  }

  /**
   * Logs a text message (e.g. "optotagging started") at a sample number of the first stream; written to
   * `events/MessageCenter/` at the next flush or close. Messages are rare: they are kept in memory.
   */
  addMessage(text: string, sampleNumber: number): void {
    this.ensureOpen();
    if (this.messageCenter === null) {
      throw new OptoloopError('E_FILE_WRITE', `${this.recordingDir}: addMessage before any continuous stream`, { stage: IO_STAGE });
    }
    this.messages.push({ sampleNumber, text });
  }

  /**
   * Registers an `events` or `spikes` entry in structure.oebin (its folder and files are the
   * caller's), e.g. `{ folder_name: 'optoloop-100.ProbeA/TTL/', channel_name: 'TTL', sample_rate: 30000, type: 'int16', … }`.
   */
  addOebinEntry(section: 'events' | 'spikes', entry: Record<string, unknown>): void {
    this.ensureOpen();
    this.extra[section].push(structuredClone(entry));
    this.writeOebin();
  }

  flush(options: { readonly sync?: boolean } = {}): void {
    for (const s of this.streams) s.flush(options);
    if (this.messageCenter) this.writeMessages();
  }

  close(): void {
    if (this.closed) return;
    for (const s of this.streams) s.close();
    if (this.messageCenter) this.writeMessages();
    this.writeOebin();
    this.closed = true;
  }

  /** Rewrites the MessageCenter files whole (each to a temporary file, then renamed). */
  private writeMessages(): void {
    const dir = join(this.eventsDir, 'MessageCenter');
    const rate = this.messageCenter!.sampleRateHz;
    const encoded = this.messages.map((m) => Buffer.from(m.text, 'utf8'));
    const width = Math.max(1, ...encoded.map((b) => b.length));
    const textHeader = encodeNpyHeaderWithDescr(`|S${width}`, [encoded.length]);
    const text = new Uint8Array(textHeader.length + width * encoded.length);
    text.set(textHeader, 0);
    encoded.forEach((b, i) => text.set(b, textHeader.length + i * width));
    const files: [string, Uint8Array][] = [
      ['text.npy', text],
      ['sample_numbers.npy', encodeNpy(BigInt64Array.from(this.messages, (m) => BigInt(m.sampleNumber)))],
      ['timestamps.npy', encodeNpy(Float64Array.from(this.messages, (m) => m.sampleNumber / rate))],
    ];
    try {
      mkdirSync(dir, { recursive: true });
    } catch (cause) {
      throw fileWriteFailed(dir, cause);
    }
    for (const [name, bytes] of files) writeFileAtomically(join(dir, name), bytes);
  }

  private ensureOpen(): void {
    if (this.closed) throw new OptoloopError('E_FILE_WRITE', `${this.recordingDir}: recording already closed`, { stage: IO_STAGE });
  }

  private writeOebin(): void {
    const document = {
      'GUI version': this.guiVersion,
      continuous: this.streams.map((s) => s.oebinEntry()),
      events: [
        ...(this.messageCenter
          ? [
              {
                folder_name: 'MessageCenter/',
                channel_name: 'Messages',
                description: 'Text messages logged during the recording',
                identifier: 'messagecenter.events',
                sample_rate: this.messageCenter.sampleRateHz,
                type: 'string',
                source_processor: 'Message Center',
                stream_name: this.messageCenter.streamName,
              },
            ]
          : []),
        ...this.extra.events,
      ],
      spikes: this.extra.spikes,
    };
    writeFileAtomically(this.oebinPath, `${JSON.stringify(document, null, 4)}\n`);
  }
}

/** One continuous stream of a recording: continuous.dat + sample_numbers.npy + timestamps.npy. */
export class ContinuousStreamWriter {
  readonly folderName: string;
  readonly dir: string;
  readonly channelCount: number;
  readonly sampleRateHz: number;
  readonly uvPerCount: Float32Array;
  private readonly options: ContinuousStreamOptions;
  private readonly kinds: readonly OpenEphysChannelKind[];
  private readonly names: readonly string[];
  private readonly encoder: BlockEncoder;
  private readonly dat: ChunkedFileWriter;
  private readonly sampleNumbers: NpyAppendWriter;
  private readonly timestamps: NpyAppendWriter;
  private readonly bufferFrames: number;
  private bufferedFrames = 0;
  /** Frames accepted (on disk or buffered). */
  framesWritten = 0;
  private nextSampleIndex: number | null = null;
  private isClosed = false;

  constructor(continuousDir: string, options: ContinuousStreamOptions, private readonly recordNodeId = 101) {
    const n = options.channelCount;
    const what = `Open Ephys stream ${options.streamName}`;
    if (!Number.isInteger(n) || n < 1) throw new OptoloopError('E_OPTIONS_INVALID', `${what}: channelCount: expected a positive integer, got ${n}`, { stage: IO_STAGE });
    if (!(options.sampleRateHz > 0)) throw new OptoloopError('E_OPTIONS_INVALID', `${what}: sampleRateHz: expected a positive number, got ${options.sampleRateHz}`, { stage: IO_STAGE });
    if (options.channelNames && options.channelNames.length !== n) {
      throw new OptoloopError('E_OPTIONS_INVALID', `${what}: channelNames: expected ${n} names, got ${options.channelNames.length}`, { stage: IO_STAGE });
    }
    if (options.channelKinds && options.channelKinds.length !== n) {
      throw new OptoloopError('E_OPTIONS_INVALID', `${what}: channelKinds: expected ${n} kinds, got ${options.channelKinds.length}`, { stage: IO_STAGE });
    }
    this.options = options;
    this.channelCount = n;
    this.sampleRateHz = options.sampleRateHz;
    this.uvPerCount = scaleArray(options.uvPerCount, n, what);
    this.kinds = options.channelKinds ?? Array.from({ length: n }, () => 'electrode' as const);
    this.names = options.channelNames ?? Array.from({ length: n }, (_, c) => `CH${c + 1}`);
    const processor = (options.sourceProcessorName ?? 'optoloop').replace(/[ @]/g, '_');
    this.folderName = `${processor}-${options.sourceProcessorId ?? 100}.${options.streamName}`;
    this.dir = join(continuousDir, this.folderName);
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (cause) {
      throw fileWriteFailed(this.dir, cause, 'mkdir');
    }
    this.bufferFrames = Math.max(1, options.bufferFrames ?? Math.max(256, Math.floor(DEFAULT_WRITER_BUFFER_BYTES / (n * 2))));
    this.encoder = new BlockEncoder(join(this.dir, 'continuous.dat'), n, this.sampleRateHz, this.uvPerCount);
    // The .dat buffer holds exactly bufferFrames frames and is written out by flushData(), never on
    // its own, so that continuous.dat always reaches the disk before the .npy files that count it.
    this.dat = new ChunkedFileWriter(join(this.dir, 'continuous.dat'), this.bufferFrames * n * 2);
    this.sampleNumbers = new NpyAppendWriter(join(this.dir, 'sample_numbers.npy'), 'int64', { bufferBytes: this.bufferFrames * 8 });
    this.timestamps = new NpyAppendWriter(join(this.dir, 'timestamps.npy'), 'float64', { bufferBytes: this.bufferFrames * 8 });
  }

  /** Appends a block (int16 at this stream's scale, or float32 µV, rounded); copies before returning. */
  write(block: SampleBlock): void {
    const samples = this.encoder.encode(block);
    this.writeFrames(samples, block.frameCount, block.firstSampleIndex);
  }

  /** Appends frames (frame-major) whose first sample index is `firstSampleIndex` (null: contiguous, from 0). */
  writeFrames(samples: Int16Array, frameCount: number, firstSampleIndex: number | null = null): void {
    if (this.isClosed) throw new OptoloopError('E_FILE_WRITE', `${this.dir}: write after close`, { stage: IO_STAGE });
    const n = this.channelCount;
    if (samples.length < frameCount * n) {
      throw new RangeError(`${this.dir}: ${frameCount} frames of ${n} channels need ${frameCount * n} samples, got ${samples.length}`);
    }
    let index = firstSampleIndex ?? this.nextSampleIndex ?? 0;
    if (this.nextSampleIndex !== null && index < this.nextSampleIndex) {
      throw new OptoloopError(
        'E_BLOCK_MISMATCH',
        `${this.dir}: block starts at sample ${index}, before the end of what was written (sample ${this.nextSampleIndex}): samples out of order`,
        { stage: IO_STAGE, details: { expected: this.nextSampleIndex, actual: index } },
      );
    }
    const rate = this.sampleRateHz;
    let done = 0;
    while (done < frameCount) {
      const count = Math.min(frameCount - done, this.bufferFrames - this.bufferedFrames);
      this.dat.append(new Uint8Array(samples.buffer, samples.byteOffset + done * n * 2, count * n * 2));
      for (let f = 0; f < count; f++, index++) {
        this.sampleNumbers.appendNumber(index);
        this.timestamps.appendNumber(index / rate);
      }
      this.bufferedFrames += count;
      this.framesWritten += count;
      done += count;
      if (this.bufferedFrames === this.bufferFrames) this.flushData(false);
    }
    this.nextSampleIndex = index;
  }

  flush(options: { readonly sync?: boolean } = {}): void {
    if (this.isClosed) return;
    this.flushData(options.sync ?? false);
  }

  close(): void {
    if (this.isClosed) return;
    this.flushData(false);
    this.dat.close();
    this.sampleNumbers.close();
    this.timestamps.close();
    this.isClosed = true;
  }

  /** Float32 samples clipped to the int16 range. */
  get clippedSamples(): number {
    return this.encoder.clippedSamples;
  }

  oebinEntry(): Record<string, unknown> {
    const o = this.options;
    return {
      folder_name: `${this.folderName}/`,
      sample_rate: this.sampleRateHz,
      source_processor_name: o.sourceProcessorName ?? 'optoloop',
      source_processor_id: o.sourceProcessorId ?? 100,
      stream_name: o.streamName,
      recorded_processor: 'Record Node',
      recorded_processor_id: this.recordNodeId,
      num_channels: this.channelCount,
      channels: this.names.map((name, c) => {
        const kind = this.kinds[c];
        const electrode = kind === 'electrode';
        return {
          channel_name: name,
          description: electrode ? 'Electrode channel (optoloop)' : kind === 'aux' ? 'Auxiliary input (optoloop)' : 'ADC input (optoloop)',
          identifier: electrode ? 'optoloop.electrode' : `optoloop.${kind}`,
          history: 'optoloop',
          // float32 scale widened exactly; readers narrow it back to the same float32.
          bit_volts: electrode ? this.uvPerCount[c] : this.uvPerCount[c] / 1e6,
          units: electrode ? 'uV' : 'V',
          type: CHANNEL_TYPE[kind],
        };
      }),
    };
  }

  private flushData(sync: boolean): void {
    this.dat.spill();
    if (sync) this.dat.sync();
    this.sampleNumbers.flush({ sync });
    this.timestamps.flush({ sync });
    this.bufferedFrames = 0;
  }
}
