/**
 * What every recording reader offers the replay source and the tools: the stream's description,
 * its geometry when the file knows it, and random access to frames of its neural channels.
 *
 * Readers never load a whole recording: they keep one file descriptor and one read-ahead buffer
 * (about 1 MiB) and copy the requested frames out of it.
 */
import type { StreamInfo } from '../core/sample-source.js';
import type { ChannelLayout } from '../probe/channel-layout.js';

export type RecordingFormat = 'spikeglx' | 'openephys' | 'intan-rhd' | 'raw';

/**
 * Which channels a reader delivers. `neural` (default): electrode/amplifier channels only.
 * `analog`: every analog channel of the stream at µV per count (nidq MN+MA+XA; Open Ephys
 * electrode+aux+ADC channels, V scaled to µV); sync/status and digital words are never delivered.
 */
export type ChannelSelection = 'neural' | 'analog';

/** Where a run of frames sits in the device's sample count. Readers reuse one object per reader. */
export interface FrameRun {
  /** Frames copied into the output. 0 only at the end of the file. */
  frames: number;
  /** Sample index of the first frame copied (see {@link RecordingReader.firstSampleIndex}). */
  sampleIndex: number;
  /** The device's own timestamp of that frame (its sample counter), or null where the file has none. */
  deviceTimestamp: number | null;
}

export interface RecordingReader {
  readonly format: RecordingFormat;
  /** The file the samples come from (.bin, continuous.dat, .rhd, raw data). */
  readonly dataPath: string;
  /** `format` is 'int16', `uvPerCount` per channel, `totalFrames` the frames in the file. */
  readonly info: StreamInfo;
  /** Channel geometry when the recording states it (SpikeGLX ~snsGeomMap, a raw sidecar's probe file). */
  readonly layout: ChannelLayout | null;
  /**
   * Sample index of the file's first frame, counted since the device's acquisition started
   * (SpikeGLX `firstSample`, Open Ephys `sample_numbers[0]`, the Intan timestamp, the raw
   * sidecar's `firstSampleIndex`).
   */
  readonly firstSampleIndex: number;
  /** Facts the user should know that are not errors: surplus bytes, an unclean stop, other streams. */
  readonly notes: readonly string[];
  /**
   * Copies up to `maxFrames` frames, starting at frame `startFrame` of the file (0-based), into
   * `out` (frame-major, `info.channelCount` per frame). Stops early at the end of the file and
   * before a jump in the sample index, so that the frames of one run are contiguous. The returned
   * object is the reader's own, overwritten by the next call. Synchronous and allocation-free.
   */
  read(startFrame: number, maxFrames: number, out: Int16Array): FrameRun;
  close(): void;
}

/** Read-ahead buffer size shared by the readers. */
export const READ_AHEAD_BYTES = 1 << 20;
