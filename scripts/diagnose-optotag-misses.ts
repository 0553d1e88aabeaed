// Where the light-evoked spikes of the opsin cells that a simulated optotagging session did NOT
// recall went (issue 6): runs the same session as scripts/evaluate-optotag.ts, matches detected
// spikes to the ground truth with the shared matching (src/classify/eval), and counts, for each
// opsin cell, its evoked spikes (ground-truth spikes 0–10 ms after a pulse onset) and its
// spontaneous spikes by fate:
//   own        detected and assigned to the cell's largest mapped detected unit (the one scored);
//   fragment   detected and assigned to another detected unit mapped to the same cell;
//   other      detected and assigned to a unit that is not mapped to this cell;
//   unassigned detected, unit −1 ("overlapped" when another unit's spike came within ±1.5 ms and
//              100 µm);
//   collision  not matched, and a detected spike within refractoryMs + peakWindowMs and detect
//              radiusUm of the cell's peak channel matched ANOTHER ground-truth unit's spike (the
//              detector's de-duplication kept the other peak); "by evoked" when that spike was
//              itself light-evoked;
//   offTime    not matched, a detected spike nearby matched nothing (a trough moved by an overlap
//              beyond the ±0.5 ms matching tolerance);
//   missed     not matched, nothing detected nearby (below threshold).
//
//   node --import tsx scripts/diagnose-optotag-misses.ts [--channels 384] [--seed 2] [--only adaptive|fixed]
//       [--max-pulses 300] [--pipeline '{"detect":{...}}'] [--all]   (--all: list every opsin cell)
import { truthSpikesOf } from '../src/classify/eval/sim-run.js';
import { lowerBound } from '../src/closedloop/optotag-offline.js';
import { runOptotagSim, type OptotagSimReport, type TruthUnitScore } from '../src/daemon/optotag-sim.js';
import { pipelineOptionsSchema, validateOptions } from '../src/pipeline/options.js';
import { isScriptMain } from './script-main.js';

const FATES = ['own', 'fragment', 'other', 'unassigned', 'unassignedOverlapped', 'collision', 'collisionByEvoked', 'offTime', 'missed'] as const;
type Fate = (typeof FATES)[number];
type Counts = Record<Fate, number> & { total: number };

const empty = (): Counts => Object.assign({ total: 0 }, Object.fromEntries(FATES.map((f) => [f, 0])) as Record<Fate, number>);

export interface CellDiagnosis {
  readonly truth: TruthUnitScore;
  readonly snr: number;
  readonly peakAmplitudeUv: number;
  readonly lightReliability: number;
  readonly evoked: Counts;
  readonly spontaneous: Counts;
}

/** Fates of every opsin cell's spikes in a session report (see the header). */
export function diagnoseOptotagMisses(r: OptotagSimReport, pipeline?: Record<string, unknown>): CellDiagnosis[] {
  const sim = r.simulation;
  const rate = sim.options.sampleRateHz;
  const layout = sim.generator.layout;
  const detect = validateOptions(pipelineOptionsSchema, pipeline ?? {}, 'pipeline').detect;
  const near = Math.round(((detect.refractoryMs + detect.peakWindowMs) * rate) / 1000);
  const radius2 = detect.radiusUm * detect.radiusUm;
  const d = r.detected;
  // The same truth arrays the score was computed on (optotag-sim.ts), so that indices agree.
  const endSample = d.count ? d.sample[d.count - 1] : 0;
  const truth = truthSpikesOf(sim, endSample + rate * 0.001);
  const matchedTruth = new Uint8Array(truth.count);
  for (let i = 0; i < d.count; i++) if (r.score.truthIndexOfDetected[i] >= 0) matchedTruth[r.score.truthIndexOfDetected[i]] = 1;
  const detectedOfTruth = new Int32Array(truth.count).fill(-1);
  for (let i = 0; i < d.count; i++) if (r.score.truthIndexOfDetected[i] >= 0) detectedOfTruth[r.score.truthIndexOfDetected[i]] = i;
  // Evoked: in [onset, onset + 10 ms] of a delivered pulse.
  const onsets = Float64Array.from(sim.generator.groundTruth.pulses.map((p) => p.onsetSample)).sort();
  const evokedWindow = Math.round(0.01 * rate);
  const isEvokedAt = (sample: number): boolean => {
    // The latest onset at or before the sample.
    const i = lowerBound(onsets, sample);
    const latest = i < onsets.length && onsets[i] === sample ? i : i - 1;
    return latest >= 0 && sample - onsets[latest] <= evokedWindow;
  };
  const truthEvoked = new Uint8Array(truth.count);
  for (let j = 0; j < truth.count; j++) truthEvoked[j] = isEvokedAt(truth.sample[j]) ? 1 : 0;
  // Detected spikes in time order (the log is in arrival order, nearly sorted).
  const order = Array.from({ length: d.count }, (_, i) => i).sort((a, b) => d.sample[a] - d.sample[b]);
  const sortedSample = Float64Array.from(order, (i) => d.sample[i]);
  const firstAtOrAfter = (sample: number): number => lowerBound(sortedSample, sample);
  const simUnit = new Map(sim.units.map((u) => [u.id, u]));
  const mappedTo = new Map<number, number>();
  for (const u of r.detectedUnits) if (u.mapped) mappedTo.set(u.unitId, u.truthUnit);
  const sessionStart = r.sessionStartS * rate;
  // Another foreground unit's spike within ±1.5 ms whose peak channel is within 100 µm (it overlaps the snippet's matching window).
  const overlapSamples = Math.round(0.0015 * rate);
  const overlapped = (j: number): boolean => {
    const pc = simUnit.get(truth.unit[j])!.peakChannel;
    for (let q = j - 1; q >= 0 && truth.sample[q] >= truth.sample[j] - overlapSamples; q--) if (closeUnits(pc, truth.unit[q])) return true;
    for (let q = j + 1; q < truth.count && truth.sample[q] <= truth.sample[j] + overlapSamples; q++) if (closeUnits(pc, truth.unit[q])) return true;
    return false;
  };
  const closeUnits = (pc: number, unit: number): boolean => {
    const other = simUnit.get(unit)!.peakChannel;
    return (layout.xUm[other] - layout.xUm[pc]) ** 2 + (layout.yUm[other] - layout.yUm[pc]) ** 2 <= 100 * 100;
  };
  const out: CellDiagnosis[] = [];
  for (const cell of r.truthUnits) {
    if (!cell.opsin) continue;
    const u = simUnit.get(cell.truthUnit)!;
    const pc = u.peakChannel;
    const own = cell.detected[0].unitId;
    const evoked = empty();
    const spontaneous = empty();
    for (let j = 0; j < truth.count; j++) {
      if (truth.unit[j] !== cell.truthUnit || truth.sample[j] < sessionStart) continue;
      const c = truthEvoked[j] ? evoked : spontaneous;
      c.total++;
      const det = detectedOfTruth[j];
      if (det >= 0) {
        const unit = d.unit[det];
        if (unit < 0) {
          c.unassigned++;
          if (overlapped(j)) c.unassignedOverlapped++;
        }
        else if (unit === own) c.own++;
        else if (mappedTo.get(unit) === cell.truthUnit) c.fragment++;
        else c.other++;
        continue;
      }
      let fate: Fate = 'missed';
      for (let q = firstAtOrAfter(truth.sample[j] - near); q < sortedSample.length && sortedSample[q] <= truth.sample[j] + near; q++) {
        const i = order[q];
        const ch = d.channel[i];
        if ((layout.xUm[ch] - layout.xUm[pc]) ** 2 + (layout.yUm[ch] - layout.yUm[pc]) ** 2 > radius2) continue;
        const other = r.score.truthIndexOfDetected[i];
        if (other >= 0 && truth.unit[other] !== cell.truthUnit) {
          fate = truthEvoked[other] ? 'collisionByEvoked' : 'collision';
          break;
        }
        if (other < 0) fate = 'offTime';
      }
      c[fate]++;
    }
    out.push({ truth: cell, snr: u.snr, peakAmplitudeUv: u.peakAmplitudeUv, lightReliability: u.light?.reliability ?? NaN, evoked, spontaneous });
  }
  return out;
}

const pct = (n: number, total: number) => (total ? `${((100 * n) / total).toFixed(0)}%` : '-');

export function formatCounts(c: Counts): string {
  return `${c.total} → own ${pct(c.own, c.total)}, fragment ${pct(c.fragment, c.total)}, other ${pct(c.other, c.total)}, unassigned ${pct(c.unassigned, c.total)} (overlapped ${pct(c.unassignedOverlapped, c.total)}), collision ${pct(c.collision + c.collisionByEvoked, c.total)} (by evoked ${pct(c.collisionByEvoked, c.total)}), offTime ${pct(c.offTime, c.total)}, missed ${pct(c.missed, c.total)}`;
}

function sum(cells: readonly CellDiagnosis[], key: 'evoked' | 'spontaneous'): Counts {
  const s = empty();
  for (const c of cells) for (const k of [...FATES, 'total'] as const) s[k] += c[key][k];
  return s;
}

export function formatDiagnosis(r: OptotagSimReport, cells: readonly CellDiagnosis[], all: boolean): string {
  const lines = [`${r.adaptive ? 'adaptive stop' : 'fixed protocol'}, ${r.channels} channels, seed ${r.seed}: ${r.result.pulsesDelivered} pulses`];
  const missed = cells.filter((c) => !c.truth.largestTagged);
  const recalled = cells.filter((c) => c.truth.largestTagged);
  for (const c of all ? cells : missed) {
    const own = c.truth.detected[0];
    const s = own.result?.stats;
    const f = (v: number | null | undefined, digits = 2) => (v === null || v === undefined ? 'n/a' : v.toFixed(digits));
    lines.push(
      `  cell ${c.truth.truthUnit} (${c.truth.type}, SNR ${c.snr.toFixed(1)}, ${c.peakAmplitudeUv.toFixed(0)} µV, light reliability ${f(c.lightReliability)}) ${c.truth.largestTagged ? 'RECALLED' : 'NOT recalled'}: ` +
        `largest unit ${own.unitId} (${own.spikes} spikes, purity ${(100 * own.purity).toFixed(0)} %; ${c.truth.detected.length} mapped unit(s)) ` +
        `${own.result ? `${own.result.decidedBy}, failed [${own.result.failed.join(', ')}], reliability ${f(s?.reliability)} (baseline ${f(s?.baselineReliability)}), SALT p ${f(s?.saltP, 4)}, latency ${f(s?.latencyMs)} ms` : 'not in the session'}`,
    );
    lines.push(`    evoked      ${formatCounts(c.evoked)}`);
    lines.push(`    spontaneous ${formatCounts(c.spontaneous)}`);
  }
  lines.push(`  not recalled (${missed.length} cells) evoked:      ${formatCounts(sum(missed, 'evoked'))}`);
  lines.push(`  not recalled (${missed.length} cells) spontaneous: ${formatCounts(sum(missed, 'spontaneous'))}`);
  lines.push(`  recalled (${recalled.length} cells) evoked:          ${formatCounts(sum(recalled, 'evoked'))}`);
  lines.push(`  recalled (${recalled.length} cells) spontaneous:     ${formatCounts(sum(recalled, 'spontaneous'))}`);
  return lines.join('\n');
}

if (isScriptMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const pipeline = value('--pipeline') ? (JSON.parse(value('--pipeline')!) as Record<string, unknown>) : undefined;
  for (const adaptive of [true, false]) {
    if (value('--only') && value('--only') !== (adaptive ? 'adaptive' : 'fixed')) continue;
    const report = await runOptotagSim({
      channels: Number(value('--channels') ?? 384),
      seed: Number(value('--seed') ?? 2),
      opsin: ['PV'],
      adaptive,
      maxPulses: Number(value('--max-pulses') ?? 300),
      intervalMs: 1000,
      intervalJitterMs: 200,
      library: null,
      minSpikes: 50,
      pipeline,
    });
    console.log(formatDiagnosis(report, diagnoseOptotagMisses(report, pipeline), args.includes('--all')));
  }
}
