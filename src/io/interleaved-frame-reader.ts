/**
 * Random access to interleaved int16 frames in a file (`wordsPerFrame` words per frame after
 * `dataOffset` bytes), copying a chosen subset of channels out of a read-ahead buffer allocated
 * once. Shared by the SpikeGLX, Open Ephys and raw readers.
 */
import { OptoloopError } from '../core/errors.js';
import { IO_STAGE } from './file-errors.js';
import { ReadAheadWindow } from './read-ahead-window.js';

export class InterleavedFrameReader {
  private readonly window: ReadAheadWindow;
  private readonly chunk: Int16Array;
  private readonly identity: boolean;
  /** First word when the delivered channels are one contiguous run of words (e.g. all but SY), else -1. */
  private readonly runStart: number;

  constructor(
    fd: number,
    private readonly file: string,
    dataOffset: number,
    readonly wordsPerFrame: number,
    readonly totalFrames: number,
    /** File word index of each delivered channel, in delivery order. */
    private readonly channels: Int32Array,
  ) {
    this.window = new ReadAheadWindow(fd, file, dataOffset, wordsPerFrame * 2, totalFrames, 'frames');
    this.chunk = new Int16Array(this.window.buffer);
    this.identity = channels.length === wordsPerFrame && channels.every((c, i) => c === i);
    this.runStart = channels.length > 0 && channels.every((c, i) => c === channels[0] + i) ? channels[0] : -1;
  }

  /** Copies frames [start, start + count) into `out`; the range must lie within the file. */
  readFrames(start: number, count: number, out: Int16Array): void {
    const n = this.channels.length;
    if (start < 0 || start + count > this.totalFrames) {
      throw new OptoloopError('E_INTERNAL', `${this.file}: frames ${start}…${start + count} outside 0…${this.totalFrames}`, { stage: IO_STAGE });
    }
    if (out.length < count * n) throw new RangeError(`${this.file}: output holds ${out.length} samples, ${count * n} needed`);
    const w = this.wordsPerFrame;
    const sel = this.channels;
    let done = 0;
    while (done < count) {
      const from = this.window.at(start + done);
      const take = Math.min(count - done, this.window.count - from);
      const src = this.chunk;
      if (this.identity) {
        out.set(src.subarray(from * w, (from + take) * w), done * n);
      } else if (this.runStart >= 0 && n >= 16) {
        // One copy per frame beats a gather loop once the run is long enough to amortise the call.
        const a = this.runStart;
        for (let f = 0; f < take; f++) {
          const s = (from + f) * w + a;
          out.set(src.subarray(s, s + n), (done + f) * n);
        }
      } else {
        for (let f = 0; f < take; f++) {
          const s = (from + f) * w;
          const d = (done + f) * n;
          for (let k = 0; k < n; k++) out[d + k] = src[s + sel[k]];
        }
      }
      done += take;
    }
  }
}
