/**
 * An optotagging session run by the daemon on the simulator, scored against the simulator's ground
 * truth: the rig config's whole live path (sim source → pipeline → online clustering → optotag
 * session → governed sim light → the light reaches the simulated opsin units → their spikes come
 * back), with `daemon.optotagOnStart`, as fast as the pipeline computes.
 *
 * Reproducible: the stream is generated as fast as it is consumed, the session starts on the first
 * block and schedules its pulses on the stream clock, the simulated light places each pulse on the
 * stream clock, and the daemon's clock (the safety governor's pulses-per-minute and duty-cycle
 * windows) is the stream's own time, not the wall clock's. The one asynchronous step, programming
 * the light's train when the session starts, completes at the source's next yield: the source
 * yields at least every 50 ms of stream (`yieldEveryMs`), well before the first pulse is due (the
 * shortest interval the schema allows is > 500 ms), whatever the machine's speed. (With several
 * `levels` each level change is programmed when its pulse is due and the pulse waits for the next
 * yield, which is then not reproducible to the block.)
 *
 * Scoring (the matching shared with the model build, src/classify/eval): a detected spike ↔ a
 * ground-truth spike within ±0.5 ms whose unit's peak channel is within 60 µm; each detected unit
 * (the unit ids the session saw) ↔ its majority ground-truth unit, "mapped" when it has ≥ minSpikes
 * spikes, ≥ minPurity of its matched spikes from that unit and ≥ half its spikes matched. Only the
 * spikes up to the session's end count (the session's own horizon).
 */
import type { MonotonicClock } from '../core/clock.js';
import { SpikeLog } from '../classify/eval/spike-log.js';
import { validateRigConfig } from '../config/load.js';
import type { OptotagResult, UnitTagResult } from '../closedloop/optotag-session.js';
import type { DetectedSpikes, MatchScore } from '../classify/eval/ground-truth-match.js';
import { isMappedUnit, scoreAgainstSimulation } from '../classify/eval/sim-library.js';
import { truthSpikesOf } from '../classify/eval/sim-run.js';
import type { SimSource } from '../../sim/sim-source.js';
import type { Simulation } from '../../sim/simulation.js';
import { Daemon } from './daemon.js';
import { MemoryLog, type DaemonLog } from './log.js';

export interface OptotagSimOptions {
  readonly channels: number;
  readonly seed: number;
  /** Cell types of the cortex preset that express the opsin. */
  readonly opsin: readonly string[];
  readonly adaptive: boolean;
  readonly maxPulses: number;
  readonly minPulses?: number;
  readonly intervalMs?: number;
  readonly intervalJitterMs?: number;
  readonly pulseWidthMs?: number;
  /** Unit library the tagged units are appended to (null: none). */
  readonly library: string | null;
  readonly label?: string;
  /** Rig name (the library ids' prefix); default optotag-sim-<opsin>. */
  readonly rig?: string;
  /** Extra `optotag` config (criteria, stopping, analysis), merged over the above. */
  readonly optotag?: Record<string, unknown>;
  /** Extra simulator options (source section), e.g. artefactUv. */
  readonly sim?: Record<string, unknown>;
  /** Extra `pipeline` config. */
  readonly pipeline?: Record<string, unknown>;
  /** Extra `classifier` config. */
  readonly classifier?: Record<string, unknown>;
  /** Scoring: a detected unit needs this many spikes (in the session) to be mapped. */
  readonly minSpikes?: number;
  readonly minPurity?: number;
  readonly log?: DaemonLog;
}

/** The daemon's clock for a simulated run: the stream's time (generator position), so that time-based limits do not depend on how fast the machine is. */
export class StreamTimeClock implements MonotonicClock {
  private simulation: Simulation | null = null;
  bind(simulation: Simulation): void {
    this.simulation = simulation;
  }
  nowNs(): number {
    const s = this.simulation;
    return s ? (s.generator.position / s.options.sampleRateHz) * 1e9 : 0;
  }
}

export interface DetectedUnitScore {
  readonly unitId: number;
  readonly spikes: number;
  readonly truthUnit: number;
  readonly purity: number;
  readonly mapped: boolean;
  /** The mapped ground-truth unit answers the light (opsin in a light-driven type). */
  readonly truthOpsin: boolean | null;
  readonly truthType: string | null;
  readonly result: UnitTagResult | null;
}

export interface TruthUnitScore {
  readonly truthUnit: number;
  readonly type: string;
  readonly opsin: boolean;
  readonly spikes: number;
  /** Detected units mapped to it, largest first. */
  readonly detected: readonly DetectedUnitScore[];
  /** Its largest mapped detected unit was tagged. */
  readonly largestTagged: boolean;
  /** Any mapped detected unit was tagged. */
  readonly anyTagged: boolean;
}

export interface OptotagSimReport {
  readonly adaptive: boolean;
  readonly channels: number;
  readonly seed: number;
  readonly result: OptotagResult;
  readonly sessionStartS: number;
  readonly sessionEndS: number;
  readonly wallS: number;
  readonly score: MatchScore;
  /** The spikes the session saw (unit ids as assigned then). */
  readonly detected: DetectedSpikes;
  readonly simulation: Simulation;
  readonly detectedUnits: readonly DetectedUnitScore[];
  readonly truthUnits: readonly TruthUnitScore[];
  readonly counts: OptotagSimCounts;
  readonly log: string;
}

export interface OptotagSimCounts {
  /** Units the session followed / decided / tagged. */
  readonly sessionUnits: number;
  readonly decided: number;
  readonly tagged: number;
  readonly decidedBy: Readonly<Record<string, number>>;
  /** Detected units mapped to opsin units / tagged among them. */
  readonly mappedOpsin: number;
  readonly mappedOpsinTagged: number;
  readonly mappedOpsinUndecided: number;
  /** Detected units mapped to units without opsin / tagged among them. */
  readonly mappedOther: number;
  readonly mappedOtherTagged: number;
  readonly mappedOtherUndecided: number;
  /** Tagged units that map to no ground-truth unit (too few spikes, impure, multi-unit). */
  readonly taggedUnmapped: number;
  /** Ground-truth units with at least one mapped detected unit. */
  readonly truthOpsin: number;
  readonly truthOpsinRecalled: number;
  readonly truthOpsinAnyTagged: number;
  readonly truthOther: number;
  readonly truthOtherAnyTagged: number;
  /** Ground-truth units of each kind in the simulation (foreground). */
  readonly simOpsin: number;
  readonly simOther: number;
}

export function optotagSimConfig(options: OptotagSimOptions) {
  const intervalMs = options.intervalMs ?? 1000;
  const jitterMs = options.intervalJitterMs ?? 200;
  // The stream's bound: every pulse at its longest interval, plus a margin; the run stops when the session ends.
  const durationS = Math.ceil((options.maxPulses * (intervalMs + jitterMs)) / 1000) + 10;
  const optotag = {
    label: options.label ?? options.opsin.join('+'),
    library: options.library,
    protocol: {
      sink: 'stim',
      output: 0,
      pulseWidthMs: options.pulseWidthMs ?? 5,
      intervalMs,
      intervalJitterMs: jitterMs,
      maxPulses: options.maxPulses,
      ...(options.minPulses !== undefined ? { minPulses: options.minPulses } : {}),
    },
    stopping: { adaptive: options.adaptive },
  };
  const extra = options.optotag ?? {};
  for (const [k, v] of Object.entries(extra)) {
    const base = (optotag as Record<string, unknown>)[k];
    (optotag as Record<string, unknown>)[k] = base && typeof base === 'object' && v && typeof v === 'object' ? { ...base, ...v } : v;
  }
  return validateRigConfig({
    rig: options.rig ?? `optotag-sim-${options.opsin.join('+')}`,
    source: { kind: 'sim', preset: 'cortex', channels: options.channels, seed: options.seed, opsin: [...options.opsin], realTime: false, yieldEveryMs: 50, durationS, keepGroundTruth: true, ...(options.sim ?? {}) },
    ...(options.pipeline ? { pipeline: options.pipeline } : {}),
    sinks: { stim: { kind: 'sim' } },
    optotag,
    daemon: { optotagOnStart: true },
    classifier: { model: null, ...(options.classifier ?? {}) },
    bus: { enabled: false },
    dashboard: { enabled: false },
  });
}

/** Runs one session through the daemon on the simulator and scores it. */
export async function runOptotagSim(options: OptotagSimOptions): Promise<OptotagSimReport> {
  const config = optotagSimConfig(options);
  const clock = new StreamTimeClock();
  const log = options.log ?? new MemoryLog();
  const memory = log instanceof MemoryLog ? log : null;
  const spikes = new SpikeLog();
  let running = false;
  let sessionStartSample = -1;
  let result: OptotagResult | null = null;
  let daemon: Daemon | null = null;
  const started = performance.now();
  daemon = await Daemon.start(config, {
    clock,
    log,
    // Spikes while the session runs (it starts on the first block): the stream the session decided on.
    onSpikes: (batch) => {
      if (result) return;
      if (!running) {
        running = true;
        sessionStartSample = (daemon?.source as SimSource | undefined)?.simulation.generator.position ?? 0;
      }
      spikes.take(batch);
    },
    onOptotagEnd: (r) => {
      result = r;
      // Stopping is asynchronous; the spikes that still arrive are not kept (see onSpikes).
      void daemon?.stop();
    },
  });
  const source = daemon.source as SimSource;
  clock.bind(source.simulation);
  await daemon.done;
  const wallS = (performance.now() - started) / 1000;
  const simulation = source.simulation;
  const rate = simulation.options.sampleRateHz;
  if (!result) throw new Error(`the optotag session did not end before the stream did (${daemon.failure ?? 'no failure reported'}):\n${memory?.text() ?? ''}`);
  const finalResult: OptotagResult = result;
  const detected = spikes.detected();
  const endSample = detected.count ? detected.sample[detected.count - 1] : 0;
  const score = scoreAgainstSimulation(detected, truthSpikesOf(simulation, endSample + rate * 0.001), simulation);
  const simUnits = new Map(simulation.units.filter((u) => !u.background).map((u) => [u.id, u]));
  const minSpikes = options.minSpikes ?? 50;
  const minPurity = options.minPurity ?? 0.8;
  const resultOf = new Map(finalResult.units.map((u) => [u.unitId, u]));

  const detectedUnits: DetectedUnitScore[] = [];
  const ids = new Set<number>([...score.units.keys(), ...resultOf.keys()]);
  for (const unitId of [...ids].sort((a, b) => a - b)) {
    const v = score.units.get(unitId) ?? { truthUnit: -1, agree: 0, matched: 0, spikes: 0 };
    const mapped = isMappedUnit(v, minSpikes, minPurity);
    const truth = v.truthUnit >= 0 ? simUnits.get(v.truthUnit) : undefined;
    detectedUnits.push({
      unitId,
      spikes: v.spikes,
      truthUnit: v.truthUnit,
      purity: v.matched ? v.agree / v.matched : 0,
      mapped,
      truthOpsin: mapped && truth ? truth.lightResponsive : null,
      truthType: truth?.type ?? null,
      result: resultOf.get(unitId) ?? null,
    });
  }

  const truthSpikeCount = new Map<number, number>();
  const gt = simulation.generator.groundTruth;
  for (let i = 0; i < gt.spikeCount; i++) if (gt.spikeSample[i] <= endSample) truthSpikeCount.set(gt.spikeUnit[i], (truthSpikeCount.get(gt.spikeUnit[i]) ?? 0) + 1);
  const truthUnits: TruthUnitScore[] = [];
  for (const u of simUnits.values()) {
    const mine = detectedUnits.filter((d) => d.mapped && d.truthUnit === u.id).sort((a, b) => b.spikes - a.spikes);
    if (!mine.length) continue;
    truthUnits.push({
      truthUnit: u.id,
      type: u.type,
      opsin: u.lightResponsive,
      spikes: truthSpikeCount.get(u.id) ?? 0,
      detected: mine,
      largestTagged: mine[0].result?.tagged === true,
      anyTagged: mine.some((d) => d.result?.tagged === true),
    });
  }

  const decidedBy: Record<string, number> = {};
  for (const u of finalResult.units) {
    const k = u.decidedBy ?? 'undecided';
    decidedBy[k] = (decidedBy[k] ?? 0) + 1;
  }
  const inSession = detectedUnits.filter((d) => d.result);
  const mappedOpsin = inSession.filter((d) => d.mapped && d.truthOpsin === true);
  const mappedOther = inSession.filter((d) => d.mapped && d.truthOpsin === false);
  const counts: OptotagSimCounts = {
    sessionUnits: finalResult.units.length,
    decided: finalResult.units.filter((u) => u.decided).length,
    tagged: finalResult.units.filter((u) => u.tagged).length,
    decidedBy,
    mappedOpsin: mappedOpsin.length,
    mappedOpsinTagged: mappedOpsin.filter((d) => d.result!.tagged).length,
    mappedOpsinUndecided: mappedOpsin.filter((d) => !d.result!.decided).length,
    mappedOther: mappedOther.length,
    mappedOtherTagged: mappedOther.filter((d) => d.result!.tagged).length,
    mappedOtherUndecided: mappedOther.filter((d) => !d.result!.decided).length,
    taggedUnmapped: inSession.filter((d) => !d.mapped && d.result!.tagged).length,
    truthOpsin: truthUnits.filter((t) => t.opsin).length,
    truthOpsinRecalled: truthUnits.filter((t) => t.opsin && t.largestTagged).length,
    truthOpsinAnyTagged: truthUnits.filter((t) => t.opsin && t.anyTagged).length,
    truthOther: truthUnits.filter((t) => !t.opsin).length,
    truthOtherAnyTagged: truthUnits.filter((t) => !t.opsin && t.anyTagged).length,
    simOpsin: [...simUnits.values()].filter((u) => u.lightResponsive).length,
    simOther: [...simUnits.values()].filter((u) => !u.lightResponsive).length,
  };
  return {
    adaptive: options.adaptive,
    channels: simulation.generator.channelCount,
    seed: options.seed,
    result: finalResult,
    sessionStartS: Math.max(0, sessionStartSample) / rate,
    sessionEndS: endSample / rate,
    wallS,
    score,
    detected,
    simulation,
    detectedUnits,
    truthUnits,
    counts,
    log: memory?.text() ?? '',
  };
}

const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)} %` : 'n/a');

/** The report as the script prints it. */
export function formatOptotagSimReport(r: OptotagSimReport, minSpikes: number, minPurity: number): string {
  const c = r.counts;
  const by = Object.entries(c.decidedBy)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return [
    `${r.adaptive ? 'adaptive stop' : 'fixed protocol'}: ${r.result.pulsesDelivered} pulses delivered (${r.result.pulsesFailed} failed, ${r.result.pulsesRefused} refused); session ${(r.sessionEndS - r.sessionStartS).toFixed(1)} s of stream (${r.wallS.toFixed(0)} s wall); ${r.result.reason}`,
    `  session units: ${c.sessionUnits}, decided ${c.decided} (${by}), tagged ${c.tagged}`,
    `  detected units mapped (≥ ${minSpikes} spikes, purity ≥ ${(100 * minPurity).toFixed(0)} %): ${c.mappedOpsin} to opsin units, ${c.mappedOther} to units without opsin; ${c.taggedUnmapped} tagged unit(s) map to no ground-truth unit`,
    `  per detected unit: recall ${c.mappedOpsinTagged}/${c.mappedOpsin} = ${pct(c.mappedOpsinTagged, c.mappedOpsin)} (undecided ${c.mappedOpsinUndecided}); false positives ${c.mappedOtherTagged}/${c.mappedOther} = ${pct(c.mappedOtherTagged, c.mappedOther)} (undecided ${c.mappedOtherUndecided})`,
    `  per ground-truth unit (of ${c.simOpsin} opsin and ${c.simOther} other simulated units, those with a mapped detected unit): recall (largest detected unit tagged) ${c.truthOpsinRecalled}/${c.truthOpsin} = ${pct(c.truthOpsinRecalled, c.truthOpsin)} (any tagged ${c.truthOpsinAnyTagged}); false positives (any detected unit tagged) ${c.truthOtherAnyTagged}/${c.truthOther} = ${pct(c.truthOtherAnyTagged, c.truthOther)}`,
    `  spike matching: ${r.score.matched} of ${r.score.detected} detected spikes matched; ground-truth recall ${(100 * r.score.recall).toFixed(1)} %`,
  ].join('\n');
}
