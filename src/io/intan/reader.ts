/**
 * Reads the amplifier channels of an Intan `.rhd` file (traditional header-attached format),
 * streaming whole data blocks through a read-ahead buffer and transposing each block's
 * channel-major amplifier samples to frame-major.
 *
 * Samples are delivered as int16 = u16 − 32768 with 0.195 µV per count (the RHD2000 amplifier
 * step), so µV = 0.195 × (u16 − 32768) exactly as Intan defines it. Only amplifier channels are
 * delivered (aux, supply, ADC and digital inputs are not neural and have other rates or offsets).
 *
 * Sample indices are the block timestamps (the controller's frame counter), shifted so that the
 * file starts at index ≥ 0 when a triggered recording starts at a negative timestamp; the device
 * timestamp is the raw value. A jump in the timestamps ends a run (a gap).
 */
import { basename } from 'node:path';
import type { StreamInfo } from '../../core/sample-source.js';
import { fileMalformed, fileTruncated } from '../file-errors.js';
import { assertLittleEndianHost, closeQuietly, fileSizeOf, openForReading } from '../fs-sync.js';
import { ReadAheadWindow } from '../read-ahead-window.js';
import type { FrameRun, RecordingReader } from '../recording-reader.js';
import { readRhdHeader, type RhdHeader } from './rhd-header.js';

export const RHD_AMPLIFIER_UV_PER_COUNT = 0.195;

export class IntanRhdReader implements RecordingReader {
  readonly format = 'intan-rhd' as const;
  readonly dataPath: string;
  readonly header: RhdHeader;
  readonly info: StreamInfo;
  readonly layout = null;
  readonly firstSampleIndex: number;
  readonly notes: readonly string[];
  private fd: number | null;
  private readonly blocks: number;
  /** Whole data blocks, read ahead. */
  private readonly window: ReadAheadWindow;
  private readonly chunk: Uint16Array;
  /** Added to timestamps to give sample indices. */
  private readonly indexShift: number;
  private readonly run: FrameRun = { frames: 0, sampleIndex: 0, deviceTimestamp: 0 };

  constructor(path: string) {
    assertLittleEndianHost(path);
    this.dataPath = path;
    const fd = openForReading(path, 'Intan .rhd file');
    try {
      const size = fileSizeOf(fd);
      const header = readRhdHeader(fd, path, size);
      this.header = header;
      const notes: string[] = [];
      const dataBytes = size - header.headerBytes;
      const blockBytes = header.bytesPerBlock;
      if (dataBytes % blockBytes !== 0) {
        const whole = Math.floor(dataBytes / blockBytes);
        throw fileTruncated(
          {
            file: path,
            offset: header.headerBytes + whole * blockBytes,
            field: `data block ${whole}`,
            expected: `whole data blocks of ${blockBytes} bytes (${header.samplesPerBlock} samples, ${header.counts.amplifier} amplifier channels) after the ${header.headerBytes}-byte header`,
            actual: `${dataBytes % blockBytes} bytes of a partial block`,
          },
          'file ends inside a data block',
        );
      }
      if (header.counts.amplifier === 0) {
        throw fileMalformed({ file: path, field: 'signal groups', expected: 'at least one enabled amplifier channel', actual: '0' }, 'no neural channels');
      }
      this.blocks = dataBytes / blockBytes;
      this.window = new ReadAheadWindow(fd, path, header.headerBytes, blockBytes, this.blocks, 'data blocks');
      this.chunk = new Uint16Array(this.window.buffer);
      this.fd = fd;
      const firstTimestamp = this.blocks > 0 ? this.timestampAt(0) : 0;
      this.indexShift = firstTimestamp < 0 ? -firstTimestamp : 0;
      if (firstTimestamp < 0) notes.push(`timestamps start at ${firstTimestamp} (a triggered recording): sample indices are shifted by ${-firstTimestamp}`);
      if (header.notchFilterMode !== 0 && header.versionMajor >= 3) notes.push(`a ${header.notchFilterMode === 1 ? 50 : 60} Hz notch filter was applied to the saved amplifier data`);
      this.firstSampleIndex = firstTimestamp + this.indexShift;
      this.notes = notes;
      const amplifiers = header.channels.filter((c) => c.signalType === 'amplifier');
      const n = amplifiers.length;
      this.info = {
        streamId: `intan:${basename(path)}`,
        sampleRateHz: header.sampleRateHz,
        channelCount: n,
        channelNames: amplifiers.map((c) => c.customName || c.nativeName),
        format: 'int16',
        uvPerCount: new Float32Array(n).fill(RHD_AMPLIFIER_UV_PER_COUNT),
        description: `Intan RHD ${header.versionMajor}.${header.versionMinor} ${basename(path)}, ${n} amplifier channels at ${header.sampleRateHz} Hz`,
        totalFrames: this.blocks * header.samplesPerBlock,
      };
    } catch (error) {
      closeQuietly(fd);
      throw error;
    }
  }

  read(startFrame: number, maxFrames: number, out: Int16Array): FrameRun {
    const h = this.header;
    const N = h.samplesPerBlock;
    const nAmp = h.counts.amplifier;
    const total = this.blocks * N;
    const wanted = Math.max(0, Math.min(maxFrames, total - startFrame));
    const run = this.run;
    run.frames = 0;
    if (wanted === 0) {
      run.sampleIndex = this.firstSampleIndex + startFrame;
      run.deviceTimestamp = null;
      return run;
    }
    const wordsPerBlock = h.bytesPerBlock / 2;
    const ampWord = N * 2; // after N i32 timestamps
    let first = 0;
    let done = 0;
    while (done < wanted) {
      const frame = startFrame + done;
      const block = Math.floor(frame / N);
      const base = this.window.at(block) * wordsPerBlock;
      const s0 = frame - block * N;
      const take = Math.min(wanted - done, N - s0);
      const src = this.chunk;
      // Timestamps: the run ends before the first frame that does not follow its predecessor.
      let k = 0;
      for (; k < take; k++) {
        const w = base + (s0 + k) * 2;
        const ts = h.timestampsSigned ? (src[w + 1] << 16) | src[w] : src[w + 1] * 65536 + src[w];
        if (done === 0 && k === 0) first = ts;
        else if (ts !== first + done + k) {
          const previous = first + done + k - 1;
          if (ts <= previous) {
            throw fileMalformed({ file: this.dataPath, field: `data block ${block} timestamp ${s0 + k}`, expected: `a value above the previous one (${previous})`, actual: String(ts) }, 'timestamps go back');
          }
          break;
        }
      }
      for (let c = 0; c < nAmp; c++) {
        const from = base + ampWord + c * N + s0;
        for (let f = 0; f < k; f++) out[(done + f) * nAmp + c] = src[from + f] - 32768;
      }
      done += k;
      if (k < take) break;
    }
    run.frames = done;
    run.deviceTimestamp = first;
    run.sampleIndex = first + this.indexShift;
    return run;
  }

  close(): void {
    closeQuietly(this.fd);
    this.fd = null;
  }

  private timestampAt(frame: number): number {
    const N = this.header.samplesPerBlock;
    const block = Math.floor(frame / N);
    const w = this.window.at(block) * (this.header.bytesPerBlock / 2) + (frame - block * N) * 2;
    return this.header.timestampsSigned ? (this.chunk[w + 1] << 16) | this.chunk[w] : this.chunk[w + 1] * 65536 + this.chunk[w];
  }
}
