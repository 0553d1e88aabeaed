/**
 * Interleaved int16 frames to a file: `channelCount` sample words then `extraWords` words (e.g.
 * SpikeGLX's SY status word) per frame. Frames must arrive in order; a gap in the sample index is
 * filled with zero frames (counted in `zeroFilledFrames`) because a continuous file has no other
 * way to keep later samples at their true index; a block that goes back in time is refused.
 */
import { OptoloopError } from '../core/errors.js';
import { ChunkedFileWriter } from './chunked-file-writer.js';
import { IO_STAGE } from './file-errors.js';

/**
 * 1 MiB: a write of this size to the page cache takes about a millisecond, which bounds the stall
 * a writer causes on its thread, while keeping the syscall rate low (~20/s at 384 ch × 30 kHz).
 */
export const DEFAULT_WRITER_BUFFER_BYTES = 1024 * 1024;

export class FrameFileWriter {
  readonly path: string;
  readonly channelCount: number;
  readonly extraWords: number;
  readonly wordsPerFrame: number;
  /** Sample index of the file's first frame; set by the first write unless given. */
  firstSampleIndex: number | null;
  /** Frames accepted so far (on disk or buffered), zero-filled gaps included. */
  frames = 0;
  zeroFilledFrames = 0;
  private readonly file: ChunkedFileWriter;
  private readonly scratch: Int16Array;
  private readonly scratchBytes: Uint8Array;
  private readonly scratchFrames: number;

  constructor(path: string, channelCount: number, extraWords: number, bufferBytes: number, afterSpill: (() => void) | null, firstSampleIndex: number | null = null) {
    this.path = path;
    this.channelCount = channelCount;
    this.extraWords = extraWords;
    this.wordsPerFrame = channelCount + extraWords;
    this.firstSampleIndex = firstSampleIndex;
    const frameBytes = this.wordsPerFrame * 2;
    // The buffer holds whole frames so that every write leaves whole frames on disk.
    const capacity = Math.max(frameBytes, bufferBytes - (bufferBytes % frameBytes));
    this.file = new ChunkedFileWriter(path, capacity, afterSpill);
    this.scratchFrames = Math.max(1, Math.floor(65536 / frameBytes));
    this.scratch = new Int16Array(this.scratchFrames * this.wordsPerFrame);
    this.scratchBytes = new Uint8Array(this.scratch.buffer);
  }

  /** Frames on disk (whole frames: the buffer holds whole frames). */
  get framesOnDisk(): number {
    return this.file.bytesOnDisk / (this.wordsPerFrame * 2);
  }

  /** Index one past the last frame accepted. */
  get nextSampleIndex(): number {
    return (this.firstSampleIndex ?? 0) + this.frames;
  }

  /**
   * Writes `frameCount` frames of `samples` (frame-major, `channelCount` per frame) starting at
   * sample index `firstSampleIndex` (null: right after the previous frames). `extra` holds
   * `extraWords` words per frame; absent, they are written as zeros.
   */
  writeFrames(samples: Int16Array, frameCount: number, firstSampleIndex: number | null = null, extra: Int16Array | Uint16Array | null = null): void {
    if (samples.length < frameCount * this.channelCount) {
      throw new RangeError(`${this.path}: ${frameCount} frames of ${this.channelCount} channels need ${frameCount * this.channelCount} samples, got ${samples.length}`);
    }
    if (firstSampleIndex !== null) {
      if (this.firstSampleIndex === null) this.firstSampleIndex = firstSampleIndex;
      const expected = this.nextSampleIndex;
      if (firstSampleIndex < expected) {
        throw new OptoloopError(
          'E_BLOCK_MISMATCH',
          `${this.path}: block starts at sample ${firstSampleIndex}, before the end of what was written (sample ${expected}): samples out of order`,
          { stage: IO_STAGE, details: { file: this.path, expected, actual: firstSampleIndex } },
        );
      }
      if (firstSampleIndex > expected) this.writeZeroFrames(firstSampleIndex - expected);
    } else if (this.firstSampleIndex === null) {
      this.firstSampleIndex = 0;
    }
    const n = this.channelCount;
    if (this.extraWords === 0) {
      this.file.append(new Uint8Array(samples.buffer, samples.byteOffset, frameCount * n * 2));
    } else {
      const w = this.wordsPerFrame;
      const e = this.extraWords;
      for (let start = 0; start < frameCount; start += this.scratchFrames) {
        const count = Math.min(this.scratchFrames, frameCount - start);
        const out = this.scratch;
        for (let f = 0; f < count; f++) {
          const src = (start + f) * n;
          const dst = f * w;
          if (n >= 16) out.set(samples.subarray(src, src + n), dst);
          else for (let c = 0; c < n; c++) out[dst + c] = samples[src + c];
          if (extra === null) for (let x = 0; x < e; x++) out[dst + n + x] = 0;
          else for (let x = 0; x < e; x++) out[dst + n + x] = extra[(start + f) * e + x];
        }
        this.file.append(this.scratchBytes.subarray(0, count * w * 2));
      }
    }
    this.frames += frameCount;
  }

  writeZeroFrames(count: number): void {
    if (this.firstSampleIndex === null) this.firstSampleIndex = 0;
    this.file.appendZeros(count * this.wordsPerFrame * 2);
    this.frames += count;
    this.zeroFilledFrames += count;
  }

  /** Writes the buffered frames; `sync` also fsyncs. */
  flush(sync = false): void {
    this.file.spill();
    if (sync) this.file.sync();
  }

  close(): void {
    this.file.close();
  }

  get closed(): boolean {
    return this.file.closed;
  }
}
