/**
 * Reads one continuous stream of an Open Ephys binary recording (GUI ≥ 0.6; 0.5.x files, whose
 * `timestamps.npy` holds the sample numbers, are read too): `continuous.dat` frames, the sample
 * number of each frame from `sample_numbers.npy`, streaming from read-ahead buffers.
 *
 * Delivered channels: electrode channels at `bit_volts` µV per count (`channels: 'analog'` adds
 * aux and ADC channels, their V scaled to µV); sync lines never. Sample indices are the file's
 * sample numbers, which are also the device timestamps; a jump in them ends a run (a gap).
 *
 * Frame count: `continuous.dat` must hold whole frames and at least the frames the .npy header of
 * `sample_numbers.npy` counts (else E_FILE_TRUNCATED). Frames past that count are read as far as
 * both files hold them, with a note: a recording that was not stopped cleanly (the GUI writes the
 * .npy shape only at stop; our writer rewrites it as it goes).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { StreamInfo } from '../../core/sample-source.js';
import { fileMalformed, fileTruncated } from '../file-errors.js';
import { assertLittleEndianHost, closeQuietly, fileSizeOf, openForReading } from '../fs-sync.js';
import { InterleavedFrameReader } from '../interleaved-frame-reader.js';
import { readNpyHeader, type NpyFileHeader } from '../npy.js';
import { ReadAheadWindow } from '../read-ahead-window.js';
import type { ChannelSelection, FrameRun, RecordingReader } from '../recording-reader.js';
import { chooseStream, deliveredChannels, locateOebin, parseOebin, type Oebin, type OebinStream } from './oebin.js';

export interface OpenEphysReaderOptions {
  /** Stream index or name (stream_name or folder name); default the first stream with channels to deliver. */
  readonly stream?: number | string;
  readonly channels?: ChannelSelection;
}

export class OpenEphysReader implements RecordingReader {
  readonly format = 'openephys' as const;
  readonly dataPath: string;
  readonly oebin: Oebin;
  readonly stream: OebinStream;
  readonly info: StreamInfo;
  readonly layout = null;
  readonly firstSampleIndex: number;
  readonly notes: readonly string[];
  private fd: number | null = null;
  private readonly frames: InterleavedFrameReader;
  private readonly sampleNumbers: SampleNumberColumn | null;
  private readonly run: FrameRun = { frames: 0, sampleIndex: 0, deviceTimestamp: 0 };

  constructor(path: string, options: OpenEphysReaderOptions = {}) {
    const located = locateOebin(path);
    const oebin = parseOebin(located.oebin);
    this.oebin = oebin;
    const selection = options.channels ?? 'neural';
    const stream = chooseStream(oebin, options.stream ?? located.streamFolder ?? undefined, selection);
    this.stream = stream;
    const notes: string[] = [];
    if (located.others.length) notes.push(`reading ${located.oebin}; other recordings found: ${located.others.join(', ')}`);
    if (oebin.streams.length > 1) notes.push(`stream ${stream.index} (${stream.folderName}) of ${oebin.streams.map((s) => s.folderName).join(', ')}`);
    const streamDir = join(oebin.recordingDir, 'continuous', stream.folderName);
    this.dataPath = join(streamDir, 'continuous.dat');
    assertLittleEndianHost(this.dataPath);

    const fd = openForReading(this.dataPath, 'Open Ephys continuous.dat');
    let numbers: SampleNumberColumn | null = null;
    try {
      const words = stream.channels.length;
      const frameBytes = words * 2;
      const size = fileSizeOf(fd);
      if (size % frameBytes !== 0) {
        throw fileMalformed({ file: this.dataPath, field: 'size', expected: `a whole number of frames of ${words} channels (${frameBytes} bytes, num_channels in structure.oebin)`, actual: `${size} bytes (${size % frameBytes} left over)` });
      }
      const datFrames = size / frameBytes;
      let totalFrames = datFrames;
      const numbersPath = [join(streamDir, 'sample_numbers.npy'), join(streamDir, 'timestamps.npy')].find((p, i) => existsSync(p) && (i === 0 || oebin.guiVersion.startsWith('0.5') || oebin.guiVersion.startsWith('0.4')));
      if (numbersPath) {
        const header = readNpyHeader(numbersPath);
        if (header.dtype !== 'int64' && header.dtype !== 'uint64') {
          throw fileMalformed({ file: numbersPath, field: 'descr', expected: 'int64 sample numbers', actual: header.dtype });
        }
        if (header.shape.length !== 1) throw fileMalformed({ file: numbersPath, field: 'shape', expected: 'one dimension', actual: `(${header.shape.join(', ')})` });
        if (header.itemsPresent < header.itemCount) {
          throw fileTruncated({ file: numbersPath, offset: header.fileBytes, field: 'data', expected: `${header.itemCount} sample numbers (${header.itemCount * 8} bytes)`, actual: `${header.itemsPresent}` });
        }
        if (datFrames < header.itemCount) {
          throw fileTruncated({ file: this.dataPath, offset: size, expected: `${header.itemCount} frames (${header.itemCount * frameBytes} bytes), as many as sample_numbers.npy counts`, actual: `${datFrames} frames` }, 'data ends early');
        }
        totalFrames = Math.min(datFrames, header.itemsPresent);
        if (totalFrames > header.itemCount) notes.push(`${totalFrames - header.itemCount} frames past the ${header.itemCount} that sample_numbers.npy's header counts are read: the recording did not stop cleanly`);
        if (datFrames > totalFrames) notes.push(`${datFrames - totalFrames} frames of continuous.dat without sample numbers are ignored`);
        numbers = new SampleNumberColumn(numbersPath, header, totalFrames);
      } else {
        notes.push('no sample_numbers.npy: sample indices start at 0');
      }
      const delivered = deliveredChannels(stream, selection);
      this.frames = new InterleavedFrameReader(fd, this.dataPath, 0, words, totalFrames, Int32Array.from(delivered));
      this.fd = fd;
      this.sampleNumbers = numbers;
      this.firstSampleIndex = numbers && totalFrames > 0 ? numbers.at(0) : 0;
      this.notes = notes;
      const channels = delivered.map((i) => stream.channels[i]);
      this.info = {
        streamId: `openephys:${stream.folderName}`,
        sampleRateHz: stream.sampleRateHz,
        channelCount: delivered.length,
        channelNames: channels.map((c) => c.name),
        format: 'int16',
        uvPerCount: Float32Array.from(channels, (c) => c.uvPerCount),
        description: `Open Ephys ${stream.folderName} (GUI ${oebin.guiVersion}), ${delivered.length} channels at ${stream.sampleRateHz} Hz`,
        totalFrames,
      };
    } catch (error) {
      closeQuietly(fd);
      numbers?.close();
      throw error;
    }
  }

  read(startFrame: number, maxFrames: number, out: Int16Array): FrameRun {
    let count = Math.max(0, Math.min(maxFrames, this.frames.totalFrames - startFrame));
    const run = this.run;
    if (count > 0 && this.sampleNumbers) {
      run.sampleIndex = this.sampleNumbers.at(startFrame);
      count = this.sampleNumbers.contiguousRun(startFrame, count);
    } else {
      run.sampleIndex = this.firstSampleIndex + startFrame;
    }
    if (count > 0) this.frames.readFrames(startFrame, count, out);
    run.frames = count;
    run.deviceTimestamp = run.sampleIndex;
    return run;
  }

  close(): void {
    closeQuietly(this.fd);
    this.fd = null;
    this.sampleNumbers?.close();
  }
}

/** Int64 sample numbers read through a read-ahead buffer, without BigInt. */
class SampleNumberColumn {
  private fd: number | null;
  private readonly window: ReadAheadWindow;
  private readonly words: Uint32Array;

  constructor(
    private readonly path: string,
    private readonly header: NpyFileHeader,
    private readonly total: number,
  ) {
    const fd = openForReading(path, 'sample_numbers.npy');
    this.fd = fd;
    this.window = new ReadAheadWindow(fd, path, header.dataOffset, 8, total, 'sample numbers');
    this.words = new Uint32Array(this.window.buffer);
  }

  at(i: number): number {
    const k = this.window.at(i) * 2;
    const high = this.header.dtype === 'int64' ? this.words[k + 1] | 0 : this.words[k + 1];
    return high * 4294967296 + this.words[k];
  }

  /** Frames from `from` (at most `max`) whose sample numbers follow each other by one. */
  contiguousRun(from: number, max: number): number {
    const first = this.at(from);
    for (let k = 1; k < max; k++) {
      const value = this.at(from + k);
      if (value !== first + k) {
        const previous = this.at(from + k - 1);
        if (value <= previous) {
          throw fileMalformed({ file: this.path, field: `sample number ${from + k}`, expected: `a value above the previous one (${previous})`, actual: String(value) }, 'sample numbers go back');
        }
        return k;
      }
    }
    return max;
  }

  close(): void {
    closeQuietly(this.fd);
    this.fd = null;
  }
}
