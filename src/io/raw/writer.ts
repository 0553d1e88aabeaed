/**
 * Writes a raw interleaved int16 recording and its JSON sidecar (format in `sidecar.ts`).
 *
 * Crash safety: the sidecar is complete when the writer is created (it holds no size: readers
 * take the frame count from the data file), and only whole frames are ever written, so a killed
 * writer leaves a readable file up to its last write of buffered frames.
 */
import { basename, dirname, relative, isAbsolute } from 'node:path';
import { OptoloopError } from '../../core/errors.js';
import type { SampleBlock } from '../../core/sample-block.js';
import { BlockEncoder, scaleArray } from '../block-encoder.js';
import { IO_STAGE } from '../file-errors.js';
import { DEFAULT_WRITER_BUFFER_BYTES, FrameFileWriter } from '../frame-file-writer.js';
import { assertLittleEndianHost, writeFileAtomically } from '../fs-sync.js';
import { RAW_SIDECAR_FORMAT, sidecarPathOf, type RawSidecar } from './sidecar.js';

export interface RawWriterOptions {
  readonly dataPath: string;
  readonly sampleRateHz: number;
  readonly channelCount: number;
  readonly uvPerCount: number | ArrayLike<number>;
  readonly channelNames?: readonly string[] | null;
  /** Sample index of the first frame (default 0). Blocks must start there or later (gaps are zero-filled). */
  readonly firstSampleIndex?: number;
  /** A probeinterface file for the sidecar's `probeFile` (stored relative to the sidecar when possible). */
  readonly probeFile?: string | null;
  readonly description?: string;
  readonly bufferBytes?: number;
}

export class RawWriter {
  readonly dataPath: string;
  readonly sidecarPath: string;
  readonly uvPerCount: Float32Array;
  private readonly frames: FrameFileWriter;
  private readonly encoder: BlockEncoder;

  constructor(options: RawWriterOptions) {
    assertLittleEndianHost(options.dataPath);
    const n = options.channelCount;
    const what = `raw writer ${options.dataPath}`;
    if (!Number.isInteger(n) || n < 1) throw new OptoloopError('E_OPTIONS_INVALID', `${what}: channelCount: expected a positive integer, got ${n}`, { stage: IO_STAGE });
    if (!(options.sampleRateHz > 0)) throw new OptoloopError('E_OPTIONS_INVALID', `${what}: sampleRateHz: expected a positive number, got ${options.sampleRateHz}`, { stage: IO_STAGE });
    if (options.channelNames && options.channelNames.length !== n) {
      throw new OptoloopError('E_OPTIONS_INVALID', `${what}: channelNames: expected ${n} names, got ${options.channelNames.length}`, { stage: IO_STAGE });
    }
    this.dataPath = options.dataPath;
    this.sidecarPath = sidecarPathOf(options.dataPath);
    this.uvPerCount = scaleArray(options.uvPerCount, n, what);
    const first = options.firstSampleIndex ?? 0;
    this.encoder = new BlockEncoder(options.dataPath, n, options.sampleRateHz, this.uvPerCount);
    this.frames = new FrameFileWriter(options.dataPath, n, 0, options.bufferBytes ?? DEFAULT_WRITER_BUFFER_BYTES, null, first);
    const uniform = this.uvPerCount.every((u) => u === this.uvPerCount[0]);
    let probeFile: string | null = null;
    if (options.probeFile) {
      const rel = relative(dirname(this.sidecarPath), options.probeFile);
      probeFile = isAbsolute(options.probeFile) && rel.startsWith('..') ? options.probeFile : rel;
    }
    const sidecar: RawSidecar = {
      format: RAW_SIDECAR_FORMAT,
      version: 1,
      sampleRateHz: options.sampleRateHz,
      channelCount: n,
      uvPerCount: uniform ? this.uvPerCount[0] : Array.from(this.uvPerCount),
      channelNames: options.channelNames ? [...options.channelNames] : null,
      firstSampleIndex: first,
      dataOffsetBytes: 0,
      probeFile,
      description: options.description ?? `written by optoloop (${basename(options.dataPath)})`,
    };
    writeFileAtomically(this.sidecarPath, `${JSON.stringify(sidecar, null, 2)}\n`);
  }

  get framesWritten(): number {
    return this.frames.frames;
  }

  get zeroFilledFrames(): number {
    return this.frames.zeroFilledFrames;
  }

  get clippedSamples(): number {
    return this.encoder.clippedSamples;
  }

  /** Appends a block (int16 at this file's scale, or float32 µV, rounded); copies before returning. */
  write(block: SampleBlock): void {
    this.frames.writeFrames(this.encoder.encode(block), block.frameCount, block.firstSampleIndex);
  }

  writeFrames(samples: Int16Array, frameCount: number, firstSampleIndex: number | null = null): void {
    this.frames.writeFrames(samples, frameCount, firstSampleIndex);
  }

  flush(options: { readonly sync?: boolean } = {}): void {
    this.frames.flush(options.sync ?? false);
  }

  close(): void {
    this.frames.close();
  }
}
