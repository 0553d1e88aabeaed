/**
 * Opens any recording optoloop reads, telling the format from the path when asked to (`auto`):
 *
 * | path | format |
 * |---|---|
 * | `structure.oebin`, a folder holding one (at any depth ≤ 4), `continuous/<stream>/continuous.dat` | `openephys` |
 * | `*.meta`, or `*.bin` with a `.meta` beside it, or a folder holding exactly one `.meta`/`.bin` pair | `spikeglx` |
 * | `*.rhd` | `intan-rhd` |
 * | a data file with a `<file>.json` sidecar, or the sidecar itself | `raw` |
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { OptoloopError } from '../core/errors.js';
import type { FileSourceConfig } from '../config/rig-config.js';
import type { MonotonicClock } from '../core/clock.js';
import type { SchedulerLike } from 'rxjs';
import { fileNotFound, IO_STAGE } from './file-errors.js';
import { FileReplaySource, type FileReplayOptions } from './file-replay-source.js';
import { IntanRhdReader } from './intan/reader.js';
import { OpenEphysReader } from './openephys/reader.js';
import { locateOebin } from './openephys/oebin.js';
import { RawReader } from './raw/reader.js';
import { RAW_SIDECAR_FORMAT, sidecarPathOf } from './raw/sidecar.js';
import type { ChannelSelection, RecordingFormat, RecordingReader } from './recording-reader.js';
import { SpikeGlxReader } from './spikeglx/reader.js';

export interface OpenRecordingOptions {
  /** Open Ephys: stream index or name (default the first with channels to deliver). */
  readonly stream?: number | string;
  /** `neural` (default) or `analog` (see ChannelSelection). */
  readonly channels?: ChannelSelection;
}

/** The format of a recording path; throws E_FILE_NOT_FOUND or E_FILE_UNSUPPORTED saying what was looked for. */
export function detectFormat(path: string): { format: RecordingFormat; path: string } {
  let stat;
  try {
    stat = statSync(path);
  } catch (cause) {
    throw fileNotFound(path, cause, 'recording');
  }
  if (stat.isDirectory()) {
    const metas = safeList(path).filter((n) => n.endsWith('.meta') && existsSync(join(path, `${n.slice(0, -5)}.bin`)));
    if (metas.length === 1) return { format: 'spikeglx', path: join(path, metas[0]) };
    try {
      locateOebin(path);
      return { format: 'openephys', path };
    } catch (error) {
      if (metas.length > 1) {
        throw new OptoloopError('E_FILE_UNSUPPORTED', `${path}: holds ${metas.length} SpikeGLX streams (${metas.join(', ')}): name the .bin or .meta of one`, { stage: IO_STAGE, details: { file: path } });
      }
      throw new OptoloopError(
        'E_FILE_UNSUPPORTED',
        `${path}: no recording found in this folder: expected an Open Ephys structure.oebin or one SpikeGLX .meta/.bin pair`,
        { stage: IO_STAGE, details: { file: path }, cause: error },
      );
    }
  }
  const name = basename(path);
  if (name === 'structure.oebin') return { format: 'openephys', path };
  if (name.endsWith('.rhd')) return { format: 'intan-rhd', path };
  if (name.endsWith('.meta')) return { format: 'spikeglx', path };
  if (name.endsWith('.bin') && existsSync(`${path.slice(0, -4)}.meta`)) return { format: 'spikeglx', path };
  if (existsSync(sidecarPathOf(path))) return { format: 'raw', path };
  if (name.endsWith('.json') && existsSync(path.slice(0, -5)) && isRawSidecar(path)) return { format: 'raw', path: path.slice(0, -5) };
  if (name === 'continuous.dat' || existsSync(join(dirname(dirname(dirname(path))), 'structure.oebin'))) return { format: 'openephys', path };
  if (name.endsWith('.rhs')) {
    throw new OptoloopError('E_FILE_UNSUPPORTED', `${path}: Intan .rhs (stimulation controller) files are not read; expected .rhd`, { stage: IO_STAGE, details: { file: path } });
  }
  throw new OptoloopError(
    'E_FILE_UNSUPPORTED',
    `${path}: cannot tell the recording format: expected a SpikeGLX .bin/.meta, an Open Ephys structure.oebin (or its folder), an Intan .rhd, or a raw file with a ${basename(sidecarPathOf(path))} sidecar`,
    { stage: IO_STAGE, details: { file: path } },
  );
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function isRawSidecar(path: string): boolean {
  try {
    if (statSync(path).size > 1 << 20) return false;
    return (JSON.parse(readFileSync(path, 'utf8')) as { format?: unknown }).format === RAW_SIDECAR_FORMAT;
  } catch {
    return false;
  }
}

/** Opens a recording for reading (random access to its neural channels). */
export function openRecording(path: string, format: RecordingFormat | 'auto' = 'auto', options: OpenRecordingOptions = {}): RecordingReader {
  const resolved = format === 'auto' ? detectFormat(path) : { format, path };
  switch (resolved.format) {
    case 'spikeglx':
      return new SpikeGlxReader(resolved.path, { channels: options.channels });
    case 'openephys':
      return new OpenEphysReader(resolved.path, { stream: options.stream, channels: options.channels });
    case 'intan-rhd':
      return new IntanRhdReader(resolved.path);
    case 'raw':
      return new RawReader(resolved.path);
  }
}

export interface FileSourceExtras extends OpenRecordingOptions {
  readonly clock?: MonotonicClock;
  readonly scheduler?: SchedulerLike;
  readonly readyForMore?: FileReplayOptions['readyForMore'];
}

/**
 * The `source: { kind: file }` section of a rig config as a SampleSource: the file is opened by
 * `open()` (so a missing file rejects there, with the path).
 */
export function fileSourceFromConfig(config: FileSourceConfig, extras: FileSourceExtras = {}): FileReplaySource {
  const stream = extras.stream ?? (config.stream === null ? undefined : /^\d+$/.test(config.stream) ? Number(config.stream) : config.stream);
  const options: OpenRecordingOptions = { stream, channels: extras.channels ?? config.channels };
  return new FileReplaySource(() => openRecording(config.path, config.format, options), {
    blockFrames: config.blockFrames,
    realTime: config.realTime,
    speed: config.speed,
    loop: config.loop,
    clock: extras.clock,
    scheduler: extras.scheduler,
    readyForMore: extras.readyForMore,
  });
}
