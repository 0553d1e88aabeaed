/**
 * Offline optotagging: spike times per unit and light pulse times in, one statistics record per
 * unit out. The statistics are accumulated pulse by pulse by the same {@link TagAccumulator} as the
 * online session, so both give the same numbers for the same spikes and pulses.
 */
import { OptoloopError } from '../core/errors.js';
import { readCsvTable } from '../io/numeric-csv.js';
import type { OptotagAnalysisOptions, TagCriteria } from './optotag-options.js';
import { TagAccumulator, TagLayout, type TagStats } from './tag-accumulator.js';
import { decideTag, type TagDecision } from './tag-criteria.js';

/** Light pulses sorted by onset, in seconds on the spikes' clock. */
export interface LightPulses {
  readonly onsetS: Float64Array;
  readonly offsetS: Float64Array;
}

export interface OfflineUnitResult {
  readonly unit: string;
  readonly spikeCount: number;
  /** Pulses analysed for this unit. */
  readonly pulses: number;
  /** Pulses not analysed: light in their baseline or response window, or outside the unit's spike span. */
  readonly pulsesSkipped: number;
  readonly stats: TagStats;
  readonly decision: TagDecision;
}

/** Reads `unit,time_s`; returns each unit's spike times, sorted, in order of first appearance. */
export function readSpikesCsv(path: string): Map<string, Float64Array> {
  const table = readCsvTable(path, {
    what: 'spikes CSV',
    columns: [
      { name: 'unit', kind: 'label' },
      { name: 'time_s', kind: 'number' },
    ],
  });
  const units = table.labels.get('unit')!;
  const times = table.numbers.get('time_s')!;
  const counts = new Map<string, number>();
  for (const u of units) counts.set(u, (counts.get(u) ?? 0) + 1);
  const out = new Map<string, Float64Array>();
  const fill = new Map<string, number>();
  for (const [u, n] of counts) {
    out.set(u, new Float64Array(n));
    fill.set(u, 0);
  }
  for (let r = 0; r < table.rowCount; r++) {
    const u = units[r];
    const k = fill.get(u)!;
    out.get(u)![k] = times[r];
    fill.set(u, k + 1);
  }
  for (const t of out.values()) t.sort();
  return out;
}

/** Reads `onset_s,offset_s`; each offset must not precede its onset. Returns pulses sorted by onset. */
export function readPulsesCsv(path: string): LightPulses {
  const table = readCsvTable(path, {
    what: 'pulses CSV',
    columns: [
      { name: 'onset_s', kind: 'number' },
      { name: 'offset_s', kind: 'number' },
    ],
  });
  const on = table.numbers.get('onset_s')!;
  const off = table.numbers.get('offset_s')!;
  for (let r = 0; r < table.rowCount; r++) {
    if (!(off[r] >= on[r])) {
      throw new OptoloopError(
        'E_FILE_MALFORMED',
        `${path}: line ${table.lineOfRow[r]}, column 2 (offset_s): expected a time ≥ onset_s (${on[r]}), got ${off[r]}`,
        { stage: 'io.csv', details: { file: path, line: table.lineOfRow[r], column: 2 } },
      );
    }
  }
  return sortPulses(on, off);
}

export function sortPulses(onsetS: ArrayLike<number>, offsetS: ArrayLike<number>): LightPulses {
  const order = Array.from({ length: onsetS.length }, (_, i) => i).sort((a, b) => onsetS[a] - onsetS[b]);
  return { onsetS: Float64Array.from(order, (i) => onsetS[i]), offsetS: Float64Array.from(order, (i) => offsetS[i]) };
}

/**
 * Which pulses are usable at all: no light from any other pulse between (onset − gap) and the end
 * of the analysis window after onset. SALT compares the pulse's window with its baseline, so a
 * baseline holding light (a train's earlier pulses) would compare light with light.
 */
export function cleanPulses(pulses: LightPulses, layout: TagLayout, minPulseGapMs: number | null): Uint8Array {
  const n = pulses.onsetS.length;
  const gapS = (minPulseGapMs ?? layout.options.baselineMs) / 1000;
  const postS = layout.postMs / 1000;
  const ok = new Uint8Array(n);
  let latestOffsetS = -Infinity;
  for (let i = 0; i < n; i++) {
    const onset = pulses.onsetS[i];
    const nextOnset = i + 1 < n ? pulses.onsetS[i + 1] : Infinity;
    ok[i] = onset - latestOffsetS >= gapS && nextOnset >= onset + postS ? 1 : 0;
    latestOffsetS = Math.max(latestOffsetS, pulses.offsetS[i]);
  }
  return ok;
}

/** Index of the first value ≥ x in a sorted array. */
export function lowerBound(sorted: ArrayLike<number>, x: number, from = 0, to = sorted.length): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Accumulates one unit's pulses. Pulses outside the unit's spike span (its first to last spike,
 * with the baseline and response windows inside it) are skipped: a unit absent from part of a
 * recording (drift, a sorter that lost it) would otherwise look silent around those pulses.
 */
export function analyseUnit(
  unit: string,
  spikesS: Float64Array,
  pulses: LightPulses,
  usable: Uint8Array,
  layout: TagLayout,
  criteria: TagCriteria,
  accumulator: TagAccumulator = new TagAccumulator(layout),
): OfflineUnitResult {
  accumulator.reset();
  const preS = layout.preMs / 1000;
  const postS = layout.postMs / 1000;
  const firstS = spikesS.length ? spikesS[0] : Infinity;
  const lastS = spikesS.length ? spikesS[spikesS.length - 1] : -Infinity;
  let rel = new Float64Array(256);
  let skipped = 0;
  let cursor = 0;
  for (let i = 0; i < pulses.onsetS.length; i++) {
    const onset = pulses.onsetS[i];
    if (!usable[i] || onset - preS < firstS || onset + postS > lastS) {
      skipped++;
      continue;
    }
    cursor = lowerBound(spikesS, onset - preS, cursor);
    let n = 0;
    for (let k = cursor; k < spikesS.length && spikesS[k] < onset + postS; k++) {
      if (n === rel.length) {
        const bigger = new Float64Array(rel.length * 2);
        bigger.set(rel);
        rel = bigger;
      }
      rel[n++] = (spikesS[k] - onset) * 1000;
    }
    accumulator.addTrial(rel, 0, n, (pulses.offsetS[i] - onset) * 1000);
  }
  const stats = accumulator.stats();
  return { unit, spikeCount: spikesS.length, pulses: accumulator.trials, pulsesSkipped: skipped, stats, decision: decideTag(stats, null, criteria) };
}

/** Every unit of a spikes table against one pulse table. */
export function analyseOffline(
  spikes: ReadonlyMap<string, Float64Array>,
  pulses: LightPulses,
  options: OptotagAnalysisOptions,
  criteria: TagCriteria,
): OfflineUnitResult[] {
  const layout = new TagLayout(options);
  const usable = cleanPulses(pulses, layout, options.minPulseGapMs);
  const accumulator = new TagAccumulator(layout);
  return [...spikes].map(([unit, times]) => analyseUnit(unit, times, pulses, usable, layout, criteria, accumulator));
}
