// The live path on a simulated cerebellum recording, scored against its ground truth:
// simulator (cerebellum preset, 384 channels, seed 1 — not a training seed) → detection pipeline →
// online clustering → features → the shipped cerebellum model in its worker, re-classifying at
// 100, 200, 400 … spikes and every 30 s of stream time, as the daemon does.
//
//   node --import tsx scripts/evaluate-cerebellum.ts [--duration 600] [--seed 1] [--model cerebellum] [--out FILE]
//     [--channels 384] [--clustering '{"mergeMaxChi2": 6}'] [--assignment '{"maxTemplateError": 0.03}']
//     (classifier.clustering / classifier.assignment overrides, for tuning) [--early 12] [--peak-window-ms 0.4]
//     (--early N: early identification, pipeline.snippets.earlySamplesAfter N: its ids scored too;
//     --peak-window-ms: pipeline.detect.peakWindowMs, the detector's delay, which early ids wait for)
//
// Definitions (printed with the figures):
// - spike matching: a detected spike ↔ a ground-truth spike within ±0.5 ms whose unit's peak
//   channel is within 60 µm of the detected peak channel, each ground-truth spike matched once;
// - a detected unit ↔ the ground-truth unit holding most of its matched spikes (majority);
// - assignment accuracy: matched spikes with a unit id whose unit's majority is their own unit;
// - cell-type accuracy: over detected units with ≥ minSpikes spikes whose matched spikes come
//   ≥ 50 % from one ground-truth unit and make up ≥ 50 % of their spikes (units, not multi-unit
//   junk): the final label against that unit's type, among the units labelled (ratio ≥ 2);
// - splitting (split-metrics.ts): detected units per ground-truth unit, completeness (a ground-truth
//   unit's share of assigned spikes in its largest detected unit), one-to-one accuracy, pair counting;
// - time to label: stream time from a unit's first spike to the classification that first gave
//   the label it ends with.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifierConfig, scoreRun } from '../src/classify/eval/sim-library.js';
import { runSimulation } from '../src/classify/eval/sim-run.js';
import { OnlineClusterer } from '../src/classify/units/online-clusterer.js';
import { percent, formatConfusion } from '../src/classify/train/metrics.js';
import { splitMetrics } from '../src/classify/eval/split-metrics.js';
import { packageRoot } from '../src/core/package-root.js';
import type { DetectedSpikes, MatchScore } from '../src/classify/eval/ground-truth-match.js';
import { describeEarlyIds } from '../src/classify/units/early-id-tally.js';
import type { EarlyIdCounts } from '../src/core/status.js';
import { isScriptMain } from './script-main.js';

export interface CerebellumEvaluation {
  readonly text: string;
  readonly assignmentAccuracy: number;
  readonly labelledFraction: number;
  readonly labelledAccuracy: number;
  readonly medianTimeToLabelS: number | null;
}

export async function evaluateCerebellum(options: { durationS: number; seed: number; model: string; channels?: number; clustering?: object; assignment?: object; earlySamplesAfter?: number; peakWindowMs?: number; log?: (l: string) => void }): Promise<CerebellumEvaluation> {
  const run = await runSimulation({
    sim: { preset: 'cerebellum', channels: options.channels ?? 384, seed: options.seed },
    pipeline: {
      ...(options.earlySamplesAfter ? { snippets: { earlySamplesAfter: options.earlySamplesAfter } } : {}),
      ...(options.peakWindowMs !== undefined ? { detect: { peakWindowMs: options.peakWindowMs } } : {}),
    },
    durationS: options.durationS,
    classifier: classifierConfig({ model: options.model, clustering: options.clustering, assignment: options.assignment }),
    log: options.log,
    progress: (d, t) => process.stderr.write(`\rcerebellum seed ${options.seed}: ${d.toFixed(0)} / ${t} s`),
  });
  process.stderr.write('\n');
  try {
    const score = scoreRun(run);
    const sims = new Map(run.simulation.units.map((u) => [u.id, u]));
    const summaries = run.units.units();
    const classes = ['PkC_ss', 'PkC_cs', 'MLI', 'GoC', 'MFB'];
    const confusion = classes.map(() => classes.map(() => 0));
    let eligible = 0;
    let labelled = 0;
    let correct = 0;
    const times: number[] = [];
    const minSpikes = 100;
    for (const u of summaries) {
      const v = score.units.get(u.unitId);
      if (!v || u.spikeCount < minSpikes || v.truthUnit < 0 || v.matched === 0) continue;
      if (v.agree / v.matched < 0.5 || v.matched / v.spikes < 0.5) continue;
      eligible++;
      const c = u.classification;
      if (!c?.label) continue;
      labelled++;
      const truth = sims.get(v.truthUnit)!.type;
      if (truth === c.label) correct++;
      confusion[classes.indexOf(truth)][classes.indexOf(c.label)]++;
      if (c.timeToLabelS !== null) times.push(c.timeToLabelS);
    }
    times.sort((a, b) => a - b);
    const median = times.length ? (times.length % 2 ? times[times.length >> 1] : (times[times.length / 2 - 1] + times[times.length / 2]) / 2) : null;
    const status = run.units.status();
    const split = splitMetrics(score.truthOfDetected, run.detected.unit);
    const splitByType = classes.map((type) => {
      const perTruth = new Map<number, number>();
      for (const v of score.units.values()) if (v.truthUnit >= 0 && sims.get(v.truthUnit)?.type === type) perTruth.set(v.truthUnit, (perTruth.get(v.truthUnit) ?? 0) + 1);
      const n = [...perTruth.values()];
      return `${type} ${n.length ? (n.reduce((a, b) => a + b, 0) / n.length).toFixed(1) : 'n/a'}`;
    });
    const text = [
      `cerebellum preset, seed ${options.seed}, ${run.simulation.generator.layout.channelCount} channels, ${options.durationS} s (${run.wallS.toFixed(0)} s wall); model ${status.model} on ${status.backend}`,
      `ground truth: ${run.truth.count} spikes of ${[...sims.values()].filter((u) => !u.background).length} units; detected ${score.detected}, matched ${score.matched} (${percent(score.recall)} of the ground truth)`,
      `assignment: ${score.matchedAssigned} matched spikes carry a unit id (${percent(score.matchedAssigned / score.matched)} of matched); accuracy ${percent(score.accuracy)} (majority mapping, ±0.5 ms, 60 µm)`,
      `units: ${summaries.length} detected; ${eligible} single-unit-like with ≥ ${minSpikes} spikes; labelled ${labelled} (${percent(labelled / eligible)})`,
      `splitting: ${split.detectedUnits} detected units hold matched spikes, majority of ${split.truthUnits} ground-truth units: ${split.unitsPerTruthUnit.toFixed(2)} units per ground-truth unit (max ${split.maxUnitsPerTruthUnit}; by type: ${splitByType.join(', ')})`,
      `completeness (share of a ground-truth unit's assigned spikes in its largest detected unit): median ${percent(split.medianCompleteness)}, pooled ${percent(split.pooledCompleteness)}; ≥ 80 % for ${split.completeAt80} of ${split.truthUnits}`,
      `clustering counters: ${run.units.assigner instanceof OnlineClusterer ? JSON.stringify(run.units.assigner.counters) : 'n/a'}`,
      `one-to-one accuracy ${percent(split.oneToOneAccuracy)} (each detected unit paired with at most one ground-truth unit and vice versa); pair recall ${percent(split.pairRecall)}, pair precision ${percent(split.pairPrecision)}`,
      ...(run.earlyDetected ? [earlyLine(run.earlyDetected, run.detected, score, options.earlySamplesAfter!, status.earlyIds)] : []),
      `cell-type accuracy on labelled units: ${percent(correct / labelled)} (${correct}/${labelled})`,
      formatConfusion(confusion, classes),
      `time to final label: median ${median === null ? 'n/a' : `${median.toFixed(1)} s`} (${times.length} units; quartiles ${times.length ? `${times[Math.floor(times.length / 4)].toFixed(1)} / ${times[Math.floor((3 * times.length) / 4)].toFixed(1)} s` : 'n/a'})`,
    ].join('\n');
    return { text, assignmentAccuracy: score.accuracy, labelledFraction: labelled / eligible, labelledAccuracy: correct / labelled, medianTimeToLabelS: median };
  } finally {
    await run.units.close();
  }
}

/**
 * Early identification scored like the final ids: each detected spike's early id (found by its
 * trough sample and peak channel) mapped through the final ids' majority mapping, against its
 * ground-truth unit; and how the early ids compare with the final ones.
 */
function earlyLine(early: DetectedSpikes, detected: DetectedSpikes, score: MatchScore, samplesAfter: number, counts: EarlyIdCounts | null): string {
  const earlyIdOf = new Map<string, number>();
  for (let i = 0; i < early.count; i++) earlyIdOf.set(`${early.sample[i]}:${early.channel[i]}`, early.unit[i]);
  let matched = 0;
  let withId = 0;
  let correct = 0;
  for (let d = 0; d < score.truthOfDetected.length; d++) {
    const truth = score.truthOfDetected[d];
    if (truth < 0) continue;
    const id = earlyIdOf.get(`${detected.sample[d]}:${detected.channel[d]}`);
    if (id === undefined) continue;
    matched++;
    if (id < 0) continue;
    withId++;
    if (score.units.get(id)?.truthUnit === truth) correct++;
  }
  return `early identification (${samplesAfter} samples after the trough, what the rules act on): ${percent(withId / matched)} of matched spikes carry an early id; accuracy ${percent(correct / withId)} (the final ids' majority mapping); ${counts ? describeEarlyIds(counts) : ''}`;
}

if (isScriptMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const result = await evaluateCerebellum({ durationS: Number(value('--duration') ?? 600), seed: Number(value('--seed') ?? 1), model: value('--model') ?? 'cerebellum', channels: value('--channels') ? Number(value('--channels')) : undefined, clustering: value('--clustering') ? JSON.parse(value('--clustering')!) : undefined, earlySamplesAfter: value('--early') ? Number(value('--early')) : undefined, peakWindowMs: value('--peak-window-ms') ? Number(value('--peak-window-ms')) : undefined, assignment: value('--assignment') ? JSON.parse(value('--assignment')!) : undefined, log: (l) => process.stderr.write(`${l}\n`) });
  console.log(result.text);
  const out = value('--out') ?? join(packageRoot(), 'test-artifacts', 'evaluate-cerebellum.txt');
  writeFileSync(out, `${result.text}\n`);
}
