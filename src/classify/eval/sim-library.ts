/**
 * Labelled units from a simulated recording, as the live path sees them: the recording goes through
 * the detection pipeline and online clustering (sim-run.ts), each detected unit is matched to the
 * ground truth (ground-truth-match.ts), and a unit whose matched spikes come ≥ minPurity from one
 * simulated unit becomes a library unit labelled with that unit's cell type — with the mean
 * waveform and spike times the live tracker computed, not the simulator's noise-free ones.
 */
import * as s from '../../config/schema.js';
import { classifierConfigSchema, type ClassifierConfig } from '../config.js';
import type { LibraryUnitInput } from '../library.js';
import type { Simulation } from '../../../sim/simulation.js';
import { matchToGroundTruth, type DetectedSpikes, type MatchScore, type TruthSpikes, type UnitMatch } from './ground-truth-match.js';
import { runSimulation, type SimRun } from './sim-run.js';

export interface SimLibraryOptions {
  readonly preset: 'cerebellum' | 'cortex';
  readonly seed: number;
  readonly durationS: number;
  readonly channels?: number;
  readonly minSpikes?: number;
  readonly minPurity?: number;
  readonly classifier?: Partial<ClassifierConfig>;
  readonly log?: (line: string) => void;
  readonly progress?: (doneS: number, totalS: number) => void;
}

export function classifierConfig(input: unknown): ClassifierConfig {
  const r = s.validate(classifierConfigSchema, input ?? {});
  if (!r.ok) throw new Error(`classifier config: ${r.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  return r.value;
}

/** Matching used everywhere for simulated recordings: ±0.5 ms, peak channels within 60 µm. */
export function scoreRun(run: SimRun): MatchScore {
  return scoreAgainstSimulation(run.detected, run.truth, run.simulation);
}

/** The same matching for spikes detected anywhere (the daemon, a script) on a simulation's stream. */
export function scoreAgainstSimulation(detected: DetectedSpikes, truth: TruthSpikes, simulation: Simulation): MatchScore {
  const rate = simulation.options.sampleRateHz;
  return matchToGroundTruth(detected, truth, simulation.generator.layout, Math.round(0.0005 * rate), 60);
}

/**
 * Whether a detected unit stands for its majority ground-truth unit: enough spikes, ≥ minPurity of
 * its matched spikes from that unit, and at least half its spikes matched (not multi-unit junk).
 */
export function isMappedUnit(v: UnitMatch, minSpikes: number, minPurity: number): boolean {
  if (v.spikes < minSpikes || v.truthUnit < 0 || v.matched === 0) return false;
  return v.agree / v.matched >= minPurity && v.matched / v.spikes >= 0.5;
}

export async function simulatedLibrary(options: SimLibraryOptions): Promise<{ units: LibraryUnitInput[]; run: SimRun; score: MatchScore }> {
  const run = await runSimulation({
    sim: { preset: options.preset, channels: options.channels ?? 384, seed: options.seed },
    durationS: options.durationS,
    classifier: classifierConfig({ ...options.classifier, model: null }),
    log: options.log,
    progress: options.progress,
  });
  try {
    const score = scoreRun(run);
    const typeOf = new Map(run.simulation.units.map((u) => [u.id, u]));
    const units: LibraryUnitInput[] = [];
    for (const [unitId, v] of score.units) {
      if (!isMappedUnit(v, options.minSpikes ?? 100, options.minPurity ?? 0.8)) continue;
      const f = run.units.tracker.get(unitId);
      const waveform = run.units.tracker.meanPeakWaveform(unitId);
      const truth = typeOf.get(v.truthUnit);
      if (!f || !waveform || !truth) continue;
      units.push({
        id: `sim-${options.preset}-s${options.seed}/u${unitId}`,
        label: truth.type,
        waveformUv: Array.from(waveform, (x) => Math.round(x * 100) / 100),
        waveformSampleRateHz: f.sampleRateHz,
        waveformPeakIndex: f.samplesBefore,
        spikeTimesS: Array.from(f.spikeTimes(), (t) => Math.round(t * 1e6) / 1e6),
        layer: truth.layer,
        source: `simulator ${options.preset} seed ${options.seed}: detected unit ${unitId}, ${(100 * v.agree / v.matched).toFixed(0)} % of its matched spikes from simulated unit ${v.truthUnit}`,
      });
    }
    return { units, run, score };
  } finally {
    await run.units.close();
  }
}
