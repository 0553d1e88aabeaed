/**
 * Reader for the converted CellExplorer ground-truth set (../shared/data/cellexplorer-groundtruth,
 * format in its PROVENANCE.md): cells.json, sessions.json and the delta-coded spike ticks.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { OptoloopError } from '../core/errors.js';

export interface GroundTruthCell {
  readonly session: string;
  readonly index: number;
  readonly uid: number;
  readonly labels: readonly string[];
  readonly brainRegion: string;
  /** Spike times in s on the session clock, ascending; null for cells stored without spikes. */
  readonly spikeTimesS: Float64Array | null;
  readonly waveformUv: readonly number[];
  readonly waveformTimeMs: readonly number[];
}

export interface GroundTruthSession {
  readonly name: string;
  /** Light intervals [start, end] in s, as stored (unsorted, possibly overlapping). */
  readonly lightIntervalsS: readonly (readonly [number, number])[];
  readonly manipulations: readonly string[];
  readonly investigator: string;
}

export interface GroundTruthSet {
  readonly cells: readonly GroundTruthCell[];
  readonly sessions: ReadonlyMap<string, GroundTruthSession>;
}

const TICKS_PER_S = 60_000;

interface RawCell {
  session: string;
  index: number;
  UID: number;
  groundTruth: string[];
  brainRegion: string;
  waveform_filt_uV: number[];
  waveform_time_ms: number[];
  spikes: { offset: number; count: number; first_s: number; last_s: number } | null;
}

interface RawSession {
  lightIntervals_s: [number, number][] | null;
  manipulations: Record<string, unknown> | null;
  investigator: string;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new OptoloopError('E_FILE_MALFORMED', `${path}: cannot read as JSON (${(cause as Error).message})`, { stage: 'io.groundtruth', cause });
  }
}

/** Loads the whole set from its folder; decodes every cell's spike train. */
export function loadGroundTruth(folder: string): GroundTruthSet {
  const cellsPath = join(folder, 'cells.json');
  const rawCells = (readJson(cellsPath) as { cells: RawCell[] }).cells;
  const rawSessions = readJson(join(folder, 'sessions.json')) as Record<string, RawSession>;
  const ticksPath = join(folder, 'spike_ticks60k_delta_u32le.bin.gz');
  const bytes = gunzipSync(readFileSync(ticksPath));
  if (bytes.length % 4 !== 0) {
    throw new OptoloopError('E_FILE_MALFORMED', `${ticksPath}: ${bytes.length} bytes after gunzip, not a whole number of uint32 values`, { stage: 'io.groundtruth' });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const valueCount = bytes.length / 4;
  const cells = rawCells.map((c): GroundTruthCell => {
    let spikeTimesS: Float64Array | null = null;
    if (c.spikes) {
      const { offset, count } = c.spikes;
      if (offset + count > valueCount) {
        throw new OptoloopError('E_FILE_TRUNCATED', `${ticksPath}: cell ${c.session}#${c.index} needs values ${offset}…${offset + count}, the file holds ${valueCount}`, {
          stage: 'io.groundtruth',
        });
      }
      spikeTimesS = new Float64Array(count);
      let ticks = 0;
      for (let k = 0; k < count; k++) {
        // The first value is absolute, the others are differences from the previous spike.
        ticks += view.getUint32((offset + k) * 4, true);
        spikeTimesS[k] = ticks / TICKS_PER_S;
      }
    }
    return {
      session: c.session,
      index: c.index,
      uid: c.UID,
      labels: c.groundTruth,
      brainRegion: c.brainRegion,
      spikeTimesS,
      waveformUv: c.waveform_filt_uV,
      waveformTimeMs: c.waveform_time_ms,
    };
  });
  const sessions = new Map<string, GroundTruthSession>();
  for (const [name, s] of Object.entries(rawSessions)) {
    sessions.set(name, {
      name,
      lightIntervalsS: (s.lightIntervals_s ?? []).map(([a, b]) => [a, b] as const),
      manipulations: Object.keys(s.manipulations ?? {}),
      investigator: s.investigator,
    });
  }
  return { cells, sessions };
}

/**
 * Light intervals sorted, with overlapping ones merged (some sessions list one pulse twice, from
 * two event channels about 1 ms apart): the union is the time the light may have been on.
 */
export function mergeLightIntervals(intervals: readonly (readonly [number, number])[]): [number, number][] {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}
