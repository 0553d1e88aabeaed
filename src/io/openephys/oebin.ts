/**
 * Finding and parsing an Open Ephys `structure.oebin` (GUI ≥ 0.6 binary format): which file, which
 * continuous stream, and what each channel is.
 *
 * Channel kinds: the `type` field decides when present (0 electrode, 1 aux, 2 ADC); older files
 * (e.g. GUI 0.6.7) have none, and then a name containing `SYNC` is a sync line, `ADC…`/`AI…` an
 * ADC input, `AUX…` an aux input, anything else an electrode. Sync lines are never delivered.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { OptoloopError } from '../../core/errors.js';
import { fileMalformed, fileNotFound, IO_STAGE } from '../file-errors.js';
import type { ChannelSelection } from '../recording-reader.js';

export type OebinChannelKind = 'electrode' | 'aux' | 'adc' | 'sync';

export interface OebinChannel {
  readonly name: string;
  readonly kind: OebinChannelKind;
  readonly bitVolts: number;
  readonly units: string;
  /** µV per count (bit_volts converted from the channel's units). */
  readonly uvPerCount: number;
}

export interface OebinStream {
  readonly index: number;
  readonly folderName: string;
  readonly streamName: string;
  readonly sourceProcessor: string;
  readonly sampleRateHz: number;
  readonly channels: readonly OebinChannel[];
}

export interface Oebin {
  readonly path: string;
  readonly recordingDir: string;
  readonly guiVersion: string;
  readonly streams: readonly OebinStream[];
}

/**
 * The structure.oebin a path designates: the file itself; a recording folder; a folder above
 * (Record Node, experiment, session: the first recording in natural order, the others listed in
 * `others`); or a file inside a stream folder (then `streamFolder` names that stream).
 */
export function locateOebin(path: string): { oebin: string; others: string[]; streamFolder: string | null } {
  let stat;
  try {
    stat = statSync(path);
  } catch (cause) {
    throw fileNotFound(path, cause, 'Open Ephys recording');
  }
  if (stat.isFile()) {
    if (basename(path) === 'structure.oebin') return { oebin: path, others: [], streamFolder: null };
    // A file inside continuous/<stream>/: the recording is two levels up.
    const streamDir = dirname(path);
    const recordingDir = dirname(dirname(streamDir));
    if (basename(dirname(streamDir)) === 'continuous' && existsSync(join(recordingDir, 'structure.oebin'))) {
      return { oebin: join(recordingDir, 'structure.oebin'), others: [], streamFolder: basename(streamDir) };
    }
    throw new OptoloopError('E_FILE_UNSUPPORTED', `${path}: not an Open Ephys structure.oebin, recording folder, or file of a continuous stream folder`, { stage: IO_STAGE, details: { file: path } });
  }
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    if (names.includes('structure.oebin')) {
      found.push(join(dir, 'structure.oebin'));
      return;
    }
    if (depth === 0) return;
    for (const name of names.sort(naturalCompare)) {
      if (name === 'continuous' || name === 'events' || name === 'spikes') continue;
      const child = join(dir, name);
      try {
        if (statSync(child).isDirectory()) walk(child, depth - 1);
      } catch {
        // Unreadable entries are not recordings.
      }
    }
  };
  walk(path, 4);
  if (found.length === 0) {
    throw new OptoloopError('E_FILE_NOT_FOUND', `${path}: no structure.oebin in this folder or the four levels below it: expected an Open Ephys binary recording (GUI ≥ 0.6)`, {
      stage: IO_STAGE,
      details: { file: path },
    });
  }
  return { oebin: found[0], others: found.slice(1), streamFolder: null };
}

function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export function parseOebin(path: string): Oebin {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw fileNotFound(path, cause, 'structure.oebin');
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    throw new OptoloopError('E_FILE_MALFORMED', `${path}: not valid JSON (${(cause as Error).message}): expected an Open Ephys structure.oebin`, { stage: IO_STAGE, details: { file: path }, cause });
  }
  const root = objectAt(document, '(root)', path);
  const guiVersion = typeof root['GUI version'] === 'string' ? (root['GUI version'] as string) : 'unknown';
  const continuous = root.continuous;
  if (!Array.isArray(continuous)) throw fileMalformed({ file: path, field: 'continuous', expected: 'an array of continuous streams', actual: describe(continuous) });
  const streams = continuous.map((raw, index) => parseStream(raw, index, path));
  return { path, recordingDir: dirname(path), guiVersion, streams };
}

function parseStream(raw: unknown, index: number, file: string): OebinStream {
  const at = `continuous[${index}]`;
  const s = objectAt(raw, at, file);
  const folderName = stringAt(s.folder_name, `${at}.folder_name`, file).replace(/\/+$/, '');
  const sampleRateHz = positiveAt(s.sample_rate, `${at}.sample_rate`, file);
  const channelsRaw = s.channels;
  if (!Array.isArray(channelsRaw) || channelsRaw.length === 0) throw fileMalformed({ file, field: `${at}.channels`, expected: 'a non-empty array', actual: describe(channelsRaw) });
  if (s.num_channels !== undefined && s.num_channels !== channelsRaw.length) {
    throw fileMalformed({ file, field: `${at}.num_channels`, expected: `${channelsRaw.length} (the length of channels)`, actual: describe(s.num_channels) });
  }
  const channels = channelsRaw.map((c, i) => parseChannel(c, `${at}.channels[${i}]`, file));
  return {
    index,
    folderName,
    streamName: typeof s.stream_name === 'string' ? s.stream_name : folderName,
    sourceProcessor: typeof s.source_processor_name === 'string' ? s.source_processor_name : '',
    sampleRateHz,
    channels,
  };
}

function parseChannel(raw: unknown, at: string, file: string): OebinChannel {
  const c = objectAt(raw, at, file);
  const name = stringAt(c.channel_name, `${at}.channel_name`, file);
  const units = typeof c.units === 'string' ? c.units : '';
  let kind: OebinChannelKind;
  if (/sync/i.test(name)) kind = 'sync';
  else if (typeof c.type === 'number') kind = c.type === 0 ? 'electrode' : c.type === 1 ? 'aux' : 'adc';
  else if (/^(adc|ai)\d/i.test(name)) kind = 'adc';
  else if (/^aux/i.test(name)) kind = 'aux';
  else kind = 'electrode';
  const bitVolts = typeof c.bit_volts === 'number' ? c.bit_volts : NaN;
  if (kind !== 'sync' && !(bitVolts > 0 && Number.isFinite(bitVolts))) {
    throw fileMalformed({ file, field: `${at}.bit_volts`, expected: 'a positive number', actual: describe(c.bit_volts) });
  }
  const unit = units.trim().toLowerCase();
  const toUv = unit === 'v' ? 1e6 : unit === 'mv' ? 1e3 : unit === 'uv' || unit === 'µv' ? 1 : kind === 'electrode' ? 1 : 1e6;
  return { name, kind, bitVolts, units, uvPerCount: bitVolts * toUv };
}

/** The channels a selection delivers from a stream. */
export function deliveredChannels(stream: OebinStream, selection: ChannelSelection): number[] {
  const out: number[] = [];
  stream.channels.forEach((c, i) => {
    if (c.kind === 'electrode' || (selection === 'analog' && c.kind !== 'sync')) out.push(i);
  });
  return out;
}

/** Picks a stream by index, by stream or folder name, or (default) the first with channels to deliver. */
export function chooseStream(oebin: Oebin, wanted: number | string | undefined, selection: ChannelSelection): OebinStream {
  const list = oebin.streams.map((s) => `${s.index}: ${s.folderName}`).join(', ') || 'none';
  if (wanted === undefined) {
    const stream = oebin.streams.find((s) => deliveredChannels(s, selection).length > 0);
    if (!stream) {
      throw new OptoloopError('E_FILE_UNSUPPORTED', `${oebin.path}: no continuous stream has ${selection === 'neural' ? 'electrode' : 'analog'} channels (streams: ${list})${selection === 'neural' ? '; choose channels "analog" for ADC/aux inputs' : ''}`, {
        stage: IO_STAGE,
        details: { file: oebin.path },
      });
    }
    return stream;
  }
  const stream =
    typeof wanted === 'number'
      ? oebin.streams[wanted]
      : oebin.streams.find((s) => s.streamName === wanted || s.folderName === wanted.replace(/\/+$/, ''));
  if (!stream) {
    throw new OptoloopError('E_FILE_NOT_FOUND', `${oebin.path}: no continuous stream ${JSON.stringify(wanted)}: expected an index or a name among ${list}`, { stage: IO_STAGE, details: { file: oebin.path } });
  }
  if (deliveredChannels(stream, selection).length === 0) {
    throw new OptoloopError('E_FILE_UNSUPPORTED', `${oebin.path}: stream ${stream.folderName} has no ${selection === 'neural' ? 'electrode' : 'analog'} channels${selection === 'neural' ? '; choose channels "analog" for ADC/aux inputs' : ''}`, {
      stage: IO_STAGE,
      details: { file: oebin.path },
    });
  }
  return stream;
}

function objectAt(value: unknown, at: string, file: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fileMalformed({ file, field: at, expected: 'an object', actual: describe(value) });
  return value as Record<string, unknown>;
}

function stringAt(value: unknown, at: string, file: string): string {
  if (typeof value !== 'string' || value === '') throw fileMalformed({ file, field: at, expected: 'a non-empty string', actual: describe(value) });
  return value;
}

function positiveAt(value: unknown, at: string, file: string): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw fileMalformed({ file, field: at, expected: 'a positive number', actual: describe(value) });
  return value;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
