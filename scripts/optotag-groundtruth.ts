// Runs `optoloop optotag` on the CellExplorer ground-truth cells (../shared/data/cellexplorer-groundtruth)
// with their sessions' real light pulses, and with the same pulse trains moved into light-free epochs
// (sham), and prints how many cells come out tagged, per label and pulse duration.
//
//   node --import tsx scripts/optotag-groundtruth.ts [--data <folder>] [--out <folder>] [--session <name>]… [-- <optotag options>]
//
// For every session with light and cells with spikes it writes, under --out (default
// test-artifacts/optotag-groundtruth): spikes.csv (unit,time_s), and per pulse duration
// pulses-<d>ms.csv and sham-<d>ms.csv (onset_s,offset_s); then runs the optotag command on them in
// this process (the same code path as the CLI) and writes results.json and results.md.
//
// Choices, and why:
// - Pulses are grouped by duration rounded to 1 ms (Allen sessions interleave 5 ms, 10 ms and 1 s
//   stimuli; axo-axonic sessions mix 20 ms and 100 ms). Groups under 20 pulses and intervals
//   shorter than 0.5 ms (event markers, not light) are skipped. Overlapping intervals are merged
//   first (one session lists every pulse twice, ~1 ms apart, from two event channels).
// - A pulse is analysed only when no other light (of any duration) falls within its baseline
//   (the optotag baseline, 500 ms by default) or its 10 ms response window: SALT compares the
//   response with the baseline, and light in the baseline would compare light with light.
// - Sham: the analysed pulses, in order, keeping their onset-to-onset intervals (capped at 5 s:
//   longer gaps carry no information for windows of ≤ 0.5 s), laid into light-free epochs: stretches
//   of the recording (the session's first to last spike) at least 10 s away from any light interval
//   of the session. 10 s clears the rebound and plasticity after trains of light seen in
//   optogenetic work (seconds), and every session still has over 1 000 s of such time. When the
//   free time runs out the sham has fewer pulses than the real train; the table shows both counts.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import { packageRoot } from '../src/core/package-root.js';
import { loadGroundTruth, mergeLightIntervals, type GroundTruthCell } from '../src/io/cellexplorer-groundtruth.js';
import { isScriptMain } from './script-main.js';

export const MIN_GROUP_PULSES = 20;
export const SHAM_GUARD_S = 10;
export const SHAM_MAX_GAP_S = 5;

export interface UnitResultJson {
  unit: string;
  spikes: number;
  pulses: number;
  pulses_skipped: number;
  salt_p: number | null;
  salt_i: number | null;
  latency_ms: number | null;
  jitter_ms: number | null;
  reliability: number | null;
  baseline_reliability: number | null;
  allen_ratio: number | null;
  tagged: boolean;
  failed: string[];
}

export interface CellGroupResult {
  session: string;
  unit: string;
  labels: string;
  durationMs: number;
  realPulses: number;
  shamPulses: number;
  real: UnitResultJson;
  sham: UnitResultJson | null;
}

export interface GroundTruthRunOptions {
  readonly dataFolder: string;
  readonly outFolder: string;
  /** Only these sessions (all when empty). */
  readonly sessions?: readonly string[];
  /** Only these pulse durations, ms (all when empty). */
  readonly durationsMs?: readonly number[];
  /** Extra `optoloop optotag` options, e.g. ['--baseline-ms', '200']. */
  readonly optotagArgs?: readonly string[];
  readonly log?: (line: string) => void;
}

/** Pulses (merged light intervals) grouped by duration rounded to 1 ms. */
export function pulseGroups(light: readonly [number, number][]): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  light.forEach(([a, b], i) => {
    if (b - a < 0.0005) return;
    const d = Math.round((b - a) * 1000);
    if (!groups.has(d)) groups.set(d, []);
    groups.get(d)!.push(i);
  });
  for (const [d, members] of groups) if (members.length < MIN_GROUP_PULSES) groups.delete(d);
  return groups;
}

/** The members of a group with no other light in [onset − gapS, onset + postS]. */
export function cleanAgainstAllLight(light: readonly [number, number][], members: readonly number[], gapS: number, postS: number): number[] {
  return members.filter((i) => {
    const onset = light[i][0];
    for (let j = i - 1; j >= 0; j--) {
      // Sorted by onset; an earlier interval can end late, so look back until onsets are far enough.
      if (light[j][1] > onset - gapS) return false;
      if (light[j][0] < onset - gapS - 3600) break;
    }
    return !(i + 1 < light.length && light[i + 1][0] < onset + postS);
  });
}

/** Light-free epochs: [start, end] stretches of [spanStart, spanEnd] at least guardS from any light. */
export function lightFreeEpochs(light: readonly [number, number][], spanStartS: number, spanEndS: number, guardS: number): [number, number][] {
  const epochs: [number, number][] = [];
  let cursor = spanStartS;
  for (const [a, b] of light) {
    const end = a - guardS;
    if (end > cursor) epochs.push([cursor, Math.min(end, spanEndS)]);
    cursor = Math.max(cursor, b + guardS);
    if (cursor >= spanEndS) break;
  }
  if (cursor < spanEndS) epochs.push([cursor, spanEndS]);
  return epochs.filter(([a, b]) => b > a);
}

/**
 * The pulse train laid into the epochs: the first pulse preS after an epoch's start, each next one
 * after the real onset-to-onset interval (capped at maxGapS); a pulse whose window (to postS after
 * its offset) would leave the epoch moves to the next epoch's start.
 */
export function shamTrain(
  onsetsS: readonly number[],
  offsetsS: readonly number[],
  epochs: readonly [number, number][],
  preS: number,
  postS: number,
  maxGapS: number,
): { onsetS: number[]; offsetS: number[] } {
  const out = { onsetS: [] as number[], offsetS: [] as number[] };
  let e = 0;
  let t = epochs.length ? epochs[0][0] + preS : Infinity;
  for (let k = 0; k < onsetsS.length && e < epochs.length; k++) {
    const width = offsetsS[k] - onsetsS[k];
    while (e < epochs.length && t + width + postS > epochs[e][1]) {
      e++;
      if (e < epochs.length) t = epochs[e][0] + preS;
    }
    if (e >= epochs.length) break;
    out.onsetS.push(t);
    out.offsetS.push(t + width);
    if (k + 1 < onsetsS.length) t += Math.max(Math.min(onsetsS[k + 1] - onsetsS[k], maxGapS), width + postS + preS);
  }
  return out;
}

function unitName(cell: GroundTruthCell): string {
  return `${cell.session}#${cell.index}`;
}

function csv(header: string, rows: Iterable<string>): string {
  const parts = [header];
  for (const r of rows) parts.push(r);
  return `${parts.join('\n')}\n`;
}

/** Runs the optotag CLI in this process; returns its JSON lines. */
async function optotag(args: string[]): Promise<UnitResultJson[]> {
  let out = '';
  let err = '';
  const code = await main(['optotag', ...args, '--json'], {
    out: (t) => (out += t),
    err: (t) => (err += t),
    isTty: false,
    interrupted: new Promise(() => {}),
  });
  if (code !== 0) throw new Error(`optoloop optotag ${args.join(' ')} failed (${code}): ${err}`);
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as UnitResultJson);
}

function argValue(args: readonly string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

export async function runGroundTruth(options: GroundTruthRunOptions): Promise<CellGroupResult[]> {
  const log = options.log ?? (() => {});
  const set = loadGroundTruth(options.dataFolder);
  const optotagArgs = [...(options.optotagArgs ?? [])];
  const baselineS = argValue(optotagArgs, '--baseline-ms', 500) / 1000;
  const gapS = argValue(optotagArgs, '--min-pulse-gap-ms', baselineS * 1000) / 1000;
  const postS = Math.max(argValue(optotagArgs, '--evoked-end-ms', 10), 10) / 1000;
  const results: CellGroupResult[] = [];
  mkdirSync(options.outFolder, { recursive: true });
  for (const session of set.sessions.values()) {
    if (options.sessions?.length && !options.sessions.includes(session.name)) continue;
    const cells = set.cells.filter((c) => c.session === session.name && c.spikeTimesS && c.spikeTimesS.length > 0);
    if (!cells.length || !session.lightIntervalsS.length) continue;
    const light = mergeLightIntervals(session.lightIntervalsS);
    const folder = join(options.outFolder, session.name);
    mkdirSync(folder, { recursive: true });
    const spikesPath = join(folder, 'spikes.csv');
    const lines: string[] = [];
    for (const c of cells) for (const t of c.spikeTimesS!) lines.push(`${unitName(c)},${t}`);
    writeFileSync(spikesPath, csv('unit,time_s', lines));
    const spanStart = Math.min(...cells.map((c) => c.spikeTimesS![0]));
    const spanEnd = Math.max(...cells.map((c) => c.spikeTimesS![c.spikeTimesS!.length - 1]));
    const epochs = lightFreeEpochs(light, spanStart, spanEnd, SHAM_GUARD_S);
    for (const [durationMs, members] of [...pulseGroups(light)].sort((a, b) => a[0] - b[0])) {
      if (options.durationsMs?.length && !options.durationsMs.includes(durationMs)) continue;
      const clean = cleanAgainstAllLight(light, members, gapS, postS);
      const onsets = clean.map((i) => light[i][0]);
      const offsets = clean.map((i) => light[i][1]);
      const realPath = join(folder, `pulses-${durationMs}ms.csv`);
      writeFileSync(realPath, csv('onset_s,offset_s', onsets.map((a, k) => `${a},${offsets[k]}`)));
      const sham = shamTrain(onsets, offsets, epochs, Math.max(baselineS, gapS), postS, SHAM_MAX_GAP_S);
      const shamPath = join(folder, `sham-${durationMs}ms.csv`);
      writeFileSync(shamPath, csv('onset_s,offset_s', sham.onsetS.map((a, k) => `${a},${sham.offsetS[k]}`)));
      const real = await optotag(['--spikes', spikesPath, '--pulses', realPath, ...optotagArgs]);
      const shamResults = sham.onsetS.length ? await optotag(['--spikes', spikesPath, '--pulses', shamPath, ...optotagArgs]) : [];
      for (const c of cells) {
        const r = real.find((x) => x.unit === unitName(c))!;
        const s = shamResults.find((x) => x.unit === unitName(c)) ?? null;
        results.push({
          session: session.name,
          unit: unitName(c),
          labels: c.labels.join('+'),
          durationMs,
          realPulses: onsets.length,
          shamPulses: sham.onsetS.length,
          real: r,
          sham: s,
        });
      }
      log(`${session.name} ${durationMs} ms: ${onsets.length} clean pulses of ${members.length}, sham ${sham.onsetS.length}; tagged ${real.filter((x) => x.tagged).length}/${cells.length} real, ${shamResults.filter((x) => x.tagged).length}/${cells.length} sham`);
    }
  }
  writeFileSync(join(options.outFolder, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
  return results;
}

function range(values: (number | null)[], digits: number): string {
  const v = values.filter((x): x is number => x !== null);
  if (!v.length) return '–';
  return `${Math.min(...v).toFixed(digits)}–${Math.max(...v).toFixed(digits)}`;
}

/** Markdown table per label × pulse duration. */
export function summaryTable(results: readonly CellGroupResult[]): string {
  const keys = [...new Set(results.map((r) => `${r.labels}\u0000${r.durationMs}`))].sort((a, b) => {
    const [la, da] = a.split('\u0000');
    const [lb, db] = b.split('\u0000');
    return la.localeCompare(lb) || Number(da) - Number(db);
  });
  const lines = [
    '| label | pulse | cells | tagged (real) | tagged (sham) | latency ms, tagged (all responsive) | jitter ms, tagged | reliability, tagged | pulses/cell real | pulses/cell sham |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const key of keys) {
    const [label, d] = key.split('\u0000');
    const rows = results.filter((r) => r.labels === label && r.durationMs === Number(d) && r.real.pulses > 0);
    if (!rows.length) continue;
    const tagged = rows.filter((r) => r.real.tagged);
    const shamRows = rows.filter((r) => r.sham && r.sham.pulses > 0);
    const shamTagged = shamRows.filter((r) => r.sham!.tagged);
    const responsive = rows.filter((r) => r.real.salt_p !== null && r.real.salt_p < 0.01);
    lines.push(
      `| ${label} | ${d} ms | ${rows.length} | ${tagged.length} | ${shamTagged.length}/${shamRows.length} | ${range(
        tagged.map((r) => r.real.latency_ms),
        2,
      )} (${range(
        responsive.map((r) => r.real.latency_ms),
        2,
      )}) | ${range(
        tagged.map((r) => r.real.jitter_ms),
        2,
      )} | ${range(
        tagged.map((r) => r.real.reliability),
        2,
      )} | ${range(
        rows.map((r) => r.real.pulses),
        0,
      )} | ${range(
        shamRows.map((r) => r.sham!.pulses),
        0,
      )} |`,
    );
  }
  const all = results.filter((r) => r.real.pulses > 0);
  const shams = all.filter((r) => r.sham && r.sham.pulses > 0);
  lines.push(
    `| **all** | | ${all.length} | ${all.filter((r) => r.real.tagged).length} | ${shams.filter((r) => r.sham!.tagged).length}/${shams.length} | | | | | |`,
  );
  return `${lines.join('\n')}\n`;
}

if (isScriptMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  const split = argv.indexOf('--');
  const own = split >= 0 ? argv.slice(0, split) : argv;
  const optotagArgs = split >= 0 ? argv.slice(split + 1) : [];
  const get = (flag: string) => {
    const values: string[] = [];
    own.forEach((a, i) => a === flag && own[i + 1] && values.push(own[i + 1]));
    return values;
  };
  // The shared data sits beside the main checkout (../shared/data) or beside the worktrees (../../shared/data).
  const candidates = [process.env.OPTOLOOP_SHARED_DATA ?? '', join(packageRoot(), '..', 'shared', 'data'), join(packageRoot(), '..', '..', 'shared', 'data')];
  const dataFolder = get('--data')[0] ?? join(candidates.find((c) => c && existsSync(c)) ?? candidates[1], 'cellexplorer-groundtruth');
  const outFolder = get('--out')[0] ?? join(packageRoot(), 'test-artifacts', 'optotag-groundtruth');
  const results = await runGroundTruth({
    dataFolder,
    outFolder,
    sessions: get('--session'),
    durationsMs: get('--duration-ms').map(Number),
    optotagArgs,
    log: (l) => console.log(l),
  });
  const table = summaryTable(results);
  writeFileSync(join(outFolder, 'results.md'), table);
  console.log(`\n${table}`);
  console.log(`per-cell results: ${join(outFolder, 'results.json')}`);
}
