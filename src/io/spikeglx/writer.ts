/**
 * Writes a SpikeGLX imec AP (or LF) stream: `<name>.bin` (int16 frames, N neural channels then
 * one SY status word) and `<name>.meta`, readable by SpikeGLX tools, python-neo (0.11.1 checked
 * in the tests) and our reader.
 *
 * Scale: the meta describes an NP1.0-type probe (imDatPrb_type=0, imAiRangeMax 0.6 V, imMaxInt
 * 512) whose per-channel gain in `~imroTbl` is chosen so that imAiRangeMax / imMaxInt / gain is the
 * stream's µV per count: 2.34375 µV (NP1.0 AP at gain 500) gives gain 500 exactly; any other
 * scale gives a non-standard gain written with full float64 precision, so that the scale
 * round-trips. Geometry (a ChannelLayout) goes to `~snsGeomMap` with shank spacing 0 and absolute
 * x positions.
 *
 * Naming: python-neo finds streams by file name; use {@link spikeGlxBinName} (`<run>_g0_t0.imec0.ap.bin`).
 *
 * Crash safety: the .meta is rewritten (to a temporary file, then renamed) after every write of
 * buffered frames to disk and on flush() and close(), and its `fileSizeBytes` only counts frames
 * already on disk. After a SIGKILL the pair reads as the frames of the last flush (our reader
 * ignores the surplus bytes past `fileSizeBytes` and says so in its notes).
 */
import { basename } from 'node:path';
import type { SampleBlock } from '../../core/sample-block.js';
import type { ChannelLayout } from '../../probe/channel-layout.js';
import { BlockEncoder, scaleArray } from '../block-encoder.js';
import { DEFAULT_WRITER_BUFFER_BYTES, FrameFileWriter } from '../frame-file-writer.js';
import { assertLittleEndianHost, writeFileAtomically } from '../fs-sync.js';
import { formatChannelSubset } from './meta.js';
import { OptoloopError } from '../../core/errors.js';

/** The NP1.0 ADC range and resolution the written meta declares. */
export const WRITER_AI_RANGE_MAX_V = 0.6;
export const WRITER_MAX_INT = 512;
const DEFAULT_LF_GAIN = 250;
const DEFAULT_AP_GAIN = 500;

export interface SpikeGlxWriterOptions {
  /** The .bin to write; the .meta goes beside it (same name, `.meta`). */
  readonly binPath: string;
  readonly sampleRateHz: number;
  /** Neural channels per frame (the SY word is added). */
  readonly channelCount: number;
  /** µV per count: one value for every channel, or one per channel. */
  readonly uvPerCount: number | ArrayLike<number>;
  /** `ap` (default) or `lf`: which gain column of `~imroTbl` carries the scale. */
  readonly stream?: 'ap' | 'lf';
  /** `firstSample` of the meta; by default the first block's firstSampleIndex (0 for writeFrames without one). */
  readonly firstSampleIndex?: number;
  /** Channel positions for `~snsGeomMap`; omitted when null. */
  readonly layout?: ChannelLayout | null;
  /** `imDatPrb_pn`, e.g. the simulated probe's model. */
  readonly probePartNumber?: string;
  readonly userNotes?: string;
  /** Extra `key=value` lines (keys without `=`, `~` or line breaks). */
  readonly extraMeta?: Readonly<Record<string, string | number>>;
  /** Bytes buffered before each write (default 1 MiB). */
  readonly bufferBytes?: number;
}

/** `<run>_g<gate>_t<trigger>.imec<probe>.<stream>.bin`, the name SpikeGLX (and python-neo) expect. */
export function spikeGlxBinName(run: string, options: { gate?: number; trigger?: number; probe?: number; stream?: 'ap' | 'lf' } = {}): string {
  return `${run}_g${options.gate ?? 0}_t${options.trigger ?? 0}.imec${options.probe ?? 0}.${options.stream ?? 'ap'}.bin`;
}

export class SpikeGlxWriter {
  readonly binPath: string;
  readonly metaPath: string;
  readonly channelCount: number;
  readonly sampleRateHz: number;
  readonly uvPerCount: Float32Array;
  private readonly frames: FrameFileWriter;
  private readonly encoder: BlockEncoder;
  private readonly options: SpikeGlxWriterOptions;
  private readonly gains: Float64Array;
  private readonly createdAt = new Date();

  constructor(options: SpikeGlxWriterOptions) {
    const bin = options.binPath;
    assertLittleEndianHost(bin);
    if (!bin.endsWith('.bin')) {
      throw new OptoloopError('E_OPTIONS_INVALID', `SpikeGLX writer: binPath: expected a path ending in .bin, got ${JSON.stringify(bin)}`, { stage: 'io' });
    }
    if (!Number.isInteger(options.channelCount) || options.channelCount < 1) {
      throw new OptoloopError('E_OPTIONS_INVALID', `SpikeGLX writer ${bin}: channelCount: expected a positive integer, got ${options.channelCount}`, { stage: 'io' });
    }
    if (!(options.sampleRateHz > 0) || !Number.isFinite(options.sampleRateHz)) {
      throw new OptoloopError('E_OPTIONS_INVALID', `SpikeGLX writer ${bin}: sampleRateHz: expected a positive number, got ${options.sampleRateHz}`, { stage: 'io' });
    }
    if (options.layout && options.layout.channelCount !== options.channelCount) {
      throw new OptoloopError('E_OPTIONS_INVALID', `SpikeGLX writer ${bin}: layout: expected ${options.channelCount} channels, got ${options.layout.channelCount}`, { stage: 'io' });
    }
    for (const key of Object.keys(options.extraMeta ?? {})) {
      if (!/^[A-Za-z][\w.]*$/.test(key)) {
        throw new OptoloopError('E_OPTIONS_INVALID', `SpikeGLX writer ${bin}: extraMeta: key ${JSON.stringify(key)} must be letters, digits, _ or .`, { stage: 'io' });
      }
    }
    this.options = options;
    this.binPath = bin;
    this.metaPath = `${bin.slice(0, -4)}.meta`;
    this.channelCount = options.channelCount;
    this.sampleRateHz = options.sampleRateHz;
    this.uvPerCount = scaleArray(options.uvPerCount, options.channelCount, `SpikeGLX writer ${bin}`);
    const countsToUv = (WRITER_AI_RANGE_MAX_V / WRITER_MAX_INT) * 1e6;
    this.gains = Float64Array.from(this.uvPerCount, (uv) => countsToUv / uv);
    this.encoder = new BlockEncoder(bin, this.channelCount, this.sampleRateHz, this.uvPerCount);
    this.frames = new FrameFileWriter(
      bin,
      this.channelCount,
      1,
      options.bufferBytes ?? DEFAULT_WRITER_BUFFER_BYTES,
      () => this.writeMeta(),
      options.firstSampleIndex ?? null,
    );
    this.writeMeta();
  }

  /** Frames accepted (on disk or buffered), zero-filled gaps included. */
  get framesWritten(): number {
    return this.frames.frames;
  }

  /** Frames written as zeros to fill gaps in the blocks' sample indices. */
  get zeroFilledFrames(): number {
    return this.frames.zeroFilledFrames;
  }

  /** Float32 samples clipped to the int16 range. */
  get clippedSamples(): number {
    return this.encoder.clippedSamples;
  }

  /**
   * Appends a block (int16 at this file's scale, or float32 µV, rounded). Copies the samples before
   * returning, so a borrowed block may be passed directly.
   */
  write(block: SampleBlock): void {
    const samples = this.encoder.encode(block);
    this.frames.writeFrames(samples, block.frameCount, block.firstSampleIndex);
  }

  /**
   * Appends raw frames (frame-major, channelCount per frame) at `firstSampleIndex` (null: right
   * after the previous ones); `syncWords` gives the SY word of each frame (zeros when null).
   */
  writeFrames(samples: Int16Array, frameCount: number, firstSampleIndex: number | null = null, syncWords: Int16Array | Uint16Array | null = null): void {
    this.frames.writeFrames(samples, frameCount, firstSampleIndex, syncWords);
  }

  /** Writes buffered frames and the meta that counts them; `sync` also fsyncs the .bin. */
  flush(options: { readonly sync?: boolean } = {}): void {
    this.frames.flush(options.sync ?? false);
    this.writeMeta();
  }

  close(): void {
    if (this.frames.closed) return;
    this.frames.close();
    this.writeMeta();
  }

  private writeMeta(): void {
    const n = this.channelCount;
    const lf = this.options.stream === 'lf';
    const framesOnDisk = this.frames ? this.frames.framesOnDisk : 0;
    const fileSizeBytes = framesOnDisk * (n + 1) * 2;
    const firstSample = this.frames?.firstSampleIndex ?? this.options.firstSampleIndex ?? 0;
    // Acquired channels: N AP, N LF, 1 SY (as an NP1.0 probe); this file saves one band plus SY.
    const saved = Array.from({ length: n }, (_, c) => (lf ? n + c : c));
    saved.push(2 * n);
    const gain = (c: number) => formatNumber(this.gains[c]);
    const lines: Record<string, string> = {
      acqApLfSy: `${n},${n},1`,
      fileCreateTime: localIsoTime(this.createdAt),
      fileName: sanitize(this.binPath),
      fileSizeBytes: String(fileSizeBytes),
      fileTimeSecs: formatNumber(framesOnDisk / this.sampleRateHz),
      firstSample: String(firstSample),
      imAiRangeMax: String(WRITER_AI_RANGE_MAX_V),
      imAiRangeMin: String(-WRITER_AI_RANGE_MAX_V),
      imChan0apGain: lf ? String(DEFAULT_AP_GAIN) : gain(0),
      imChan0lfGain: lf ? gain(0) : String(DEFAULT_LF_GAIN),
      imDatPrb_pn: sanitize(this.options.probePartNumber ?? 'optoloop'),
      imDatPrb_type: '0',
      imMaxInt: String(WRITER_MAX_INT),
      imSampRate: formatNumber(this.sampleRateHz),
      nSavedChans: String(n + 1),
      snsApLfSy: lf ? `0,${n},1` : `${n},0,1`,
      snsSaveChanSubset: formatChannelSubset(saved),
      typeImEnabled: '1',
      typeThis: 'imec',
      userNotes: sanitize(this.options.userNotes ?? `written by optoloop (${basename(this.binPath)})`),
    };
    for (const [key, value] of Object.entries(this.options.extraMeta ?? {})) lines[key] = sanitize(String(value));
    const imro = [`(0,${n})`];
    for (let c = 0; c < n; c++) imro.push(lf ? `(${c} 0 0 ${DEFAULT_AP_GAIN} ${gain(c)} 1)` : `(${c} 0 0 ${gain(c)} ${DEFAULT_LF_GAIN} 1)`);
    const chanMap = [`(${lf ? 0 : n},${lf ? n : 0},1)`];
    for (let c = 0; c < n; c++) chanMap.push(`(${lf ? 'LF' : 'AP'}${c};${saved[c]}:${c})`);
    chanMap.push(`(SY0;${2 * n}:${n})`);
    const listLines: Record<string, string> = { '~imroTbl': imro.join(''), '~snsChanMap': chanMap.join('') };
    const layout = this.options.layout;
    if (layout) {
      // Shank spacing 0: x positions are absolute, so the reader's x + shank × spacing gives them back.
      const geom = [`(${sanitize(layout.probeName).replace(/[(),]/g, '_')},${layout.shankNames.length},0,0)`];
      for (let c = 0; c < n; c++) geom.push(`(${layout.shank[c]}:${formatNumber(layout.xUm[c])}:${formatNumber(layout.yUm[c])}:1)`);
      listLines['~snsGeomMap'] = geom.join('');
    }
    const text =
      Object.keys(lines)
        .sort()
        .map((k) => `${k}=${lines[k]}`)
        .join('\n') +
      '\n' +
      Object.keys(listLines)
        .sort()
        .map((k) => `${k}=${listLines[k]}`)
        .join('\n') +
      '\n';
    writeFileAtomically(this.metaPath, text, 'latin1');
  }
}

/** Shortest text that parses back to the same float64. */
function formatNumber(value: number): string {
  return String(value);
}

/** Meta values are single lines, and python-neo skips lines with a second `=`. */
function sanitize(value: string): string {
  return value.replace(/[\r\n]+/g, ' ').replace(/=/g, '-');
}

function localIsoTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
