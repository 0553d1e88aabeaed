/**
 * Reads a SpikeGLX `.bin` + `.meta` pair (imec AP/LF or nidq), streaming: frames are copied from a
 * read-ahead buffer, the file is never loaded whole. Delivers the neural channels (or every analog
 * channel, see {@link ChannelSelection}); the SY status word and nidq digital words are skipped.
 * Sample indices start at the meta's `firstSample` (SpikeGLX's count since the run started), which
 * is also the device timestamp.
 */
import { basename } from 'node:path';
import type { StreamInfo } from '../../core/sample-source.js';
import type { ChannelLayout } from '../../probe/channel-layout.js';
import { fileMalformed, fileTruncated } from '../file-errors.js';
import { assertLittleEndianHost, closeQuietly, fileSizeOf, openForReading } from '../fs-sync.js';
import { InterleavedFrameReader } from '../interleaved-frame-reader.js';
import type { ChannelSelection, FrameRun, RecordingReader } from '../recording-reader.js';
import { SpikeGlxMeta } from './meta.js';
import { describeSpikeGlxStream, type SpikeGlxStream } from './stream.js';

export interface SpikeGlxReaderOptions {
  readonly channels?: ChannelSelection;
}

/** The .bin and .meta of a path naming either. */
export function spikeGlxPaths(path: string): { bin: string; meta: string } {
  const stem = path.endsWith('.meta') || path.endsWith('.bin') ? path.slice(0, path.lastIndexOf('.')) : path;
  return { bin: `${stem}.bin`, meta: `${stem}.meta` };
}

export class SpikeGlxReader implements RecordingReader {
  readonly format = 'spikeglx' as const;
  readonly dataPath: string;
  readonly metaPath: string;
  readonly info: StreamInfo;
  readonly layout: ChannelLayout | null;
  readonly firstSampleIndex: number;
  readonly notes: readonly string[];
  readonly stream: SpikeGlxStream;
  private fd: number | null;
  private readonly frames: InterleavedFrameReader;
  private readonly run: FrameRun = { frames: 0, sampleIndex: 0, deviceTimestamp: 0 };

  constructor(path: string, options: SpikeGlxReaderOptions = {}) {
    const { bin, meta: metaPath } = spikeGlxPaths(path);
    assertLittleEndianHost(bin);
    this.metaPath = metaPath;
    this.dataPath = bin;
    const meta = SpikeGlxMeta.read(metaPath);
    const stream = describeSpikeGlxStream(meta, options.channels ?? 'neural');
    this.stream = stream;
    const notes = [...stream.notes];
    const frameBytes = stream.savedChannelCount * 2;
    const fd = openForReading(bin, 'SpikeGLX .bin file');
    try {
      const size = fileSizeOf(fd);
      let dataBytes = size;
      if (stream.fileSizeBytes !== null) {
        if (stream.fileSizeBytes % frameBytes !== 0) {
          throw fileMalformed({ file: metaPath, field: meta.where('fileSizeBytes'), expected: `a whole number of frames of ${stream.savedChannelCount} words (${frameBytes} bytes)`, actual: `${stream.fileSizeBytes} bytes (${stream.fileSizeBytes % frameBytes} left over)` });
        }
        if (size < stream.fileSizeBytes) {
          throw fileTruncated({ file: bin, offset: size, expected: `${stream.fileSizeBytes} bytes (fileSizeBytes in ${basename(metaPath)})`, actual: `${size} bytes` }, 'data ends early');
        }
        if (size > stream.fileSizeBytes) {
          notes.push(`${size - stream.fileSizeBytes} bytes past fileSizeBytes (${stream.fileSizeBytes}) ignored: a recording that did not stop cleanly keeps its last flushed frames`);
        }
        dataBytes = stream.fileSizeBytes;
      } else {
        notes.push('fileSizeBytes absent: the frame count comes from the .bin size');
        if (size % frameBytes !== 0) {
          throw fileMalformed({ file: bin, field: 'size', expected: `a whole number of frames of ${stream.savedChannelCount} words (${frameBytes} bytes)`, actual: `${size} bytes (${size % frameBytes} left over)` });
        }
      }
      const totalFrames = dataBytes / frameBytes;
      const selected = Int32Array.from(stream.delivered, (c) => c.fileIndex);
      this.frames = new InterleavedFrameReader(fd, bin, 0, stream.savedChannelCount, totalFrames, selected);
      this.fd = fd;
      this.firstSampleIndex = stream.firstSample;
      this.layout = stream.layout;
      this.notes = notes;
      const name = basename(bin, '.bin');
      this.info = {
        streamId: `spikeglx:${name}`,
        sampleRateHz: stream.sampleRateHz,
        channelCount: selected.length,
        channelNames: stream.delivered.map((c) => c.name),
        format: 'int16',
        uvPerCount: Float32Array.from(stream.delivered, (c) => c.uvPerCount!),
        description: `SpikeGLX ${stream.type} ${name} (${stream.probe}), ${selected.length} channels at ${stream.sampleRateHz} Hz`,
        totalFrames,
      };
    } catch (error) {
      closeQuietly(fd);
      throw error;
    }
  }

  read(startFrame: number, maxFrames: number, out: Int16Array): FrameRun {
    const count = Math.max(0, Math.min(maxFrames, this.frames.totalFrames - startFrame));
    if (count > 0) this.frames.readFrames(startFrame, count, out);
    this.run.frames = count;
    this.run.sampleIndex = this.firstSampleIndex + startFrame;
    this.run.deviceTimestamp = this.run.sampleIndex;
    return this.run;
  }

  close(): void {
    closeQuietly(this.fd);
    this.fd = null;
  }
}
