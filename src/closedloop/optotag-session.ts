/**
 * An online optotagging session: gives light pulses through a safety governor on a seeded, jittered
 * schedule, follows every unit's response pulse by pulse (PSTH, latency, jitter, reliability, SALT,
 * Allen ratio, light-evoked vs spontaneous waveform), decides each unit as soon as it can (the
 * sequential test defined in optotag-config.ts), and stops when every unit is decided or at the
 * maximum number of pulses. Tagged units, with their waveforms and spike trains, go to the unit
 * library.
 *
 * The daemon drives it, all on the stream's sample clock:
 *   - `onSpikes(batch)` for every spike batch (unit ids assigned; snippets when available);
 *   - `poll(sampleIndex, sourceReceiveTimeNs)` once per block: it finalises pulses whose windows
 *     have passed, re-evaluates decisions, and triggers the next pulse when it is due;
 *   - `onPulseDelivered(requestId, onsetSampleIndex)` when the acknowledgement of a trigger says at
 *     which sample the light came on (the daemon maps the device or host time to the sample clock),
 *     or `onPulseFailed(requestId)`.
 * onSpikes and poll are synchronous and allocate nothing once every unit has been seen; statistics
 * (SALT's 1 225 distances per unit) are computed at decision looks only, every few pulses.
 */
import { OptoloopError } from '../core/errors.js';
import type { SnippetBatch, SpikeBatch } from '../core/spikes.js';
import type { StimulusCause } from '../core/stimulus-sink.js';
import type { TagState, TagSummary } from '../core/units.js';
import * as s from '../config/schema.js';
import { optotagConfigSchema, type OptotagConfig } from './optotag-config.js';
import { SeededRandom } from '../core/random.js';
import type { SafetyGovernor } from './safety-governor.js';
import { TagAccumulator, TagLayout, type TagStats } from './tag-accumulator.js';
import { decideTag, type TagCriterion } from './tag-criteria.js';
import { UnitSpikeRings } from './unit-spike-rings.js';
import { EVOKED, EXCLUDED, SPONTANEOUS, UNDECIDED, UnitWaveforms } from './unit-waveforms.js';
import { waveformCorrelation, type MeanWaveform } from './waveform-correlation.js';

export type OptotagSessionState = 'idle' | 'running' | 'finished' | 'aborted';

/** How a unit's decision was reached. */
/**
 * 'adaptive-stop': a unit too sparse for the adaptive stop to wait for, given the criteria verdict
 * when it stopped; 'unit-max-pulses': no sequential verdict after stopping.unitMaxPulses of its own
 * pulses, given the criteria verdict then.
 */
export type DecidedBy = 'sequential-no-response' | 'sequential-and-criteria' | 'unit-max-pulses' | 'adaptive-stop' | 'max-pulses' | 'stopped';

export interface UnitTagResult {
  readonly unitId: number;
  readonly tagged: boolean;
  readonly decided: boolean;
  readonly decidedBy: DecidedBy | null;
  /** Session pulses delivered when the unit was decided. */
  readonly decidedAtPulse: number | null;
  readonly failed: readonly TagCriterion[];
  readonly stats: TagStats;
  readonly waveformCorrelation: number | null;
  readonly evokedWaveforms: number;
  readonly spontaneousWaveforms: number;
}

export interface OptotagResult {
  readonly state: OptotagSessionState;
  /** Pulses whose light was delivered and analysed. */
  readonly pulsesDelivered: number;
  readonly pulsesFailed: number;
  readonly pulsesRefused: number;
  readonly stoppedEarly: boolean;
  readonly reason: string;
  readonly units: readonly UnitTagResult[];
}

export interface TaggedUnit {
  readonly result: UnitTagResult;
  /** Spontaneous mean waveform over the unit's neighbourhood (null when no snippets arrived). */
  readonly meanWaveform: MeanWaveform | null;
  readonly channels: readonly number[] | null;
  readonly spikeTimesS: Float64Array;
}

export interface OptotagSessionOptions {
  readonly config: OptotagConfig;
  /** The governed sink named by config.protocol.sink. */
  readonly governor: SafetyGovernor;
  readonly streamId: string;
  readonly sampleRateHz: number;
  readonly log?: (line: string) => void;
  /** Called once when the session finishes or aborts. */
  readonly onEnd?: (result: OptotagResult) => void;
  /** How long an unacknowledged trigger waits before it counts as failed. */
  readonly ackTimeoutMs?: number;
}

const PULSE_FREE = 0;
const PULSE_PENDING = 1;
const PULSE_DELIVERED = 2;
const PULSE_DONE = 3;
const PULSE_RING = 64;
const MAX_CONSECUTIVE_REFUSALS = 10;

type MutableCause = { -readonly [K in keyof StimulusCause]: StimulusCause[K] };

export class OptotagSession {
  readonly config: OptotagConfig;
  private readonly layout: TagLayout;
  private readonly random: SeededRandom;
  private readonly samplesPerMs: number;
  state: OptotagSessionState = 'idle';
  private endReason = '';
  private streamIndex = 0;

  // Schedule and programming.
  private nextTriggerSample = Infinity;
  private levelCursor = 0;
  private programmedLevel = -1;
  private programming = false;
  private consecutiveRefusals = 0;
  private triggered = 0;
  private delivered = 0;
  private analysed = 0;
  private failed = 0;
  private refusedCount = 0;
  private sinceLook = 0;
  private readonly causes: MutableCause[];
  private causeNext = 0;

  // Pulse records (a ring of the recent triggers).
  private readonly pulseRequest = new Float64Array(PULSE_RING);
  private readonly pulseTrigger = new Float64Array(PULSE_RING);
  private readonly pulseOnset = new Float64Array(PULSE_RING);
  private readonly pulseStatus = new Uint8Array(PULSE_RING);
  private pulseNext = 0;
  private readonly analysedPerTrain: number;
  private readonly trainIntervalSamples: number;
  /** stopping.unitMaxPulses, or its default: two thirds of maxPulses. */
  private readonly unitMaxPulses: number;

  // Units.
  private readonly slotOfUnit: Int32Array;
  private readonly unitOfSlot: Int32Array;
  private slotCount = 0;
  private readonly accumulators: TagAccumulator[];
  private readonly rings: UnitSpikeRings;
  private readonly waveforms: UnitWaveforms;
  private readonly decision: Uint8Array; // 0 undecided, 1 tagged, 2 not tagged
  private readonly decidedAt: Int32Array;
  /** Pulses analysed when the unit's first spike arrived. */
  private readonly firstSeenAtPulse: Int32Array;
  private readonly decidedBy: (DecidedBy | null)[];
  private readonly failedCriteria: (readonly TagCriterion[])[];
  private readonly spikeTimes: (Float64Array | null)[];
  private readonly spikeCount: Float64Array;
  private readonly scratch: Float64Array;
  /** SALT per unit as last computed, and the pulse count it was computed at. */
  private readonly saltP: Float64Array;
  private readonly saltI: Float64Array;
  private readonly saltTrials: Int32Array;
  // A decision pass over the units, spread over blocks: 0 none, 1 a look, 2 the final pass.
  private passKind = 0;
  private passCursor = 0;
  private passReason = '';
  private passBy: DecidedBy = 'max-pulses';
  private readonly classifyBound: (times: Float64Array, index: number) => number;
  ignoredSpikes = 0;

  constructor(private readonly options: OptotagSessionOptions) {
    const r = s.validate(optotagConfigSchema, options.config);
    if (!r.ok) {
      throw new OptoloopError('E_CONFIG_INVALID', `optotag: ${r.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { stage: 'closedloop.optotag', details: { issues: r.issues } });
    }
    const c = (this.config = r.value);
    if (!(options.sampleRateHz > 0)) throw new OptoloopError('E_OPTIONS_INVALID', `optotag: expected a positive sample rate, got ${options.sampleRateHz}`, { stage: 'closedloop.optotag' });
    this.layout = new TagLayout(c.analysis);
    this.random = new SeededRandom(c.protocol.seed);
    this.samplesPerMs = options.sampleRateHz / 1000;
    const trainWindowOk = c.protocol.trainPulseIntervalMs >= c.analysis.baselineMs + this.layout.postMs + c.protocol.pulseWidthMs;
    this.analysedPerTrain = trainWindowOk ? c.protocol.pulsesPerTrain : 1;
    this.trainIntervalSamples = c.protocol.trainPulseIntervalMs * this.samplesPerMs;
    this.unitMaxPulses = c.stopping.unitMaxPulses ?? Math.round((2 * c.protocol.maxPulses) / 3);
    this.causes = Array.from({ length: 8 }, () => ({ reason: 'optotag', streamId: options.streamId, sampleIndex: NaN, sourceReceiveTimeNs: NaN }));

    const n = c.maxUnits;
    this.slotOfUnit = new Int32Array(c.maxUnitId + 1).fill(-1);
    this.unitOfSlot = new Int32Array(n).fill(-1);
    this.accumulators = Array.from({ length: n }, () => new TagAccumulator(this.layout));
    this.rings = new UnitSpikeRings(n, c.spikeRingCapacity);
    this.waveforms = new UnitWaveforms(n);
    this.decision = new Uint8Array(n);
    this.decidedAt = new Int32Array(n).fill(-1);
    this.firstSeenAtPulse = new Int32Array(n);
    this.decidedBy = new Array<DecidedBy | null>(n).fill(null);
    this.failedCriteria = new Array<readonly TagCriterion[]>(n).fill([]);
    this.spikeTimes = new Array<Float64Array | null>(n).fill(null);
    this.spikeCount = new Float64Array(n);
    this.scratch = new Float64Array(c.spikeRingCapacity);
    this.saltP = new Float64Array(n).fill(NaN);
    this.saltI = new Float64Array(n).fill(NaN);
    this.saltTrials = new Int32Array(n).fill(-1);
    this.classifyBound = (times: Float64Array, index: number) => this.classify(times, index);
  }

  private log(line: string): void {
    this.options.log?.(`optotag: ${line}`);
  }

  /** Programs the first level and schedules the first pulse one interval after `sampleIndex`. */
  async start(sampleIndex: number): Promise<void> {
    if (this.state !== 'idle') throw new OptoloopError('E_SINK_STATE', `optotag: start() in state ${this.state}`, { stage: 'closedloop.optotag' });
    this.state = 'running';
    this.streamIndex = sampleIndex;
    this.scheduleNext(sampleIndex);
    await this.programLevel(0);
    this.log(`started: up to ${this.config.protocol.maxPulses} pulses of ${this.config.protocol.pulseWidthMs} ms on ${this.config.protocol.sink}:${this.config.protocol.output}`);
  }

  /**
   * Ends the session (operator's stop-optotag): no more pulses; undecided units get the criteria's
   * verdict on what was seen, spread over the next blocks, or at once with `immediate` (which may
   * take ~0.4 ms per undecided unit).
   */
  stop(reason = 'stopped by the operator', immediate = false): void {
    if (this.state !== 'running') return;
    this.beginPass(2, reason, 'stopped');
    if (immediate) this.runPass(Infinity);
  }

  /** The unit's main channel for waveforms (from unit assignment); otherwise its first spike's peak channel. */
  setUnitChannel(unitId: number, channel: number): void {
    const slot = this.slotFor(unitId);
    if (slot >= 0) this.waveforms.setMainChannel(slot, channel);
  }

  private scheduleNext(fromSample: number): void {
    const p = this.config.protocol;
    const intervalMs = p.intervalMs + this.random.uniform(-p.intervalJitterMs, p.intervalJitterMs);
    this.nextTriggerSample = fromSample + intervalMs * this.samplesPerMs;
  }

  private async programLevel(index: number): Promise<void> {
    const p = this.config.protocol;
    this.programming = true;
    try {
      await this.options.governor.program(
        p.output,
        { pulseWidthMs: p.pulseWidthMs, pulseIntervalMs: p.trainPulseIntervalMs, pulseCount: p.pulsesPerTrain, delayMs: 0, level: p.levels[index] },
        'optotag',
      );
      this.programmedLevel = index;
    } catch (error) {
      this.abort(`cannot program the tagging train: ${(error as Error).message}`);
    } finally {
      this.programming = false;
    }
  }

  /** Ends the session at once without further decisions (emergency stop, a device gone). */
  abort(reason: string): void {
    if (this.state !== 'running') return;
    this.state = 'aborted';
    this.endReason = reason;
    this.log(`aborted: ${reason}`);
    this.options.onEnd?.(this.result());
  }

  // ── spikes (hot path) ─────────────────────────────────────────────────────────────────────

  private slotFor(unitId: number): number {
    if (unitId < 0 || unitId > this.config.maxUnitId) return -1;
    let slot = this.slotOfUnit[unitId];
    if (slot < 0 && this.slotCount < this.config.maxUnits) {
      slot = this.slotCount++;
      this.slotOfUnit[unitId] = slot;
      this.unitOfSlot[slot] = unitId;
      this.firstSeenAtPulse[slot] = this.analysed;
    }
    return slot;
  }

  onSpikes(batch: SpikeBatch): void {
    if (this.state !== 'running') return;
    const snippets = 'waveformsUv' in batch && this.waveforms.accepts(batch as SnippetBatch) ? (batch as SnippetBatch) : null;
    for (let k = 0; k < batch.count; k++) {
      const slot = this.slotFor(batch.unitId[k]);
      if (slot < 0) {
        if (batch.unitId[k] >= 0) this.ignoredSpikes++;
        continue;
      }
      // Times are read from the batch by index, never passed as arguments (V8 boxes doubles
      // passed to calls it does not inline).
      this.rings.push(slot, batch.peakSampleIndex, k);
      this.keepSpikeTime(slot, batch.peakSampleIndex, k);
      if (snippets) this.waveforms.take(snippets, k, slot, this.classify(batch.peakSampleIndex, k));
    }
  }

  /** Every spike time of the session, for the library (grows by doubling: a few allocations per unit per session). */
  private keepSpikeTime(slot: number, source: Float64Array, k: number): void {
    let times = this.spikeTimes[slot];
    const n = this.spikeCount[slot];
    if (times === null || n === times.length) {
      const bigger = new Float64Array(times === null ? 256 : times.length * 2);
      if (times) bigger.set(times);
      this.spikeTimes[slot] = times = bigger;
    }
    times[n] = source[k];
    this.spikeCount[slot] = n + 1;
  }

  /** Where the spike at sample times[index] stands relative to the recent pulses: EVOKED, SPONTANEOUS, EXCLUDED or UNDECIDED. */
  private classify(times: Float64Array, index: number): number {
    const t = times[index];
    const o = this.config.analysis;
    const p = this.config.protocol;
    const spm = this.samplesPerMs;
    // Light (and its artefact) lasts this long after a train's onset; spikes then are neither kind.
    const litMs = (p.pulsesPerTrain - 1) * p.trainPulseIntervalMs + p.pulseWidthMs + o.artefactMs;
    const quietMs = Math.max(this.layout.postMs + (this.analysedPerTrain - 1) * p.trainPulseIntervalMs, litMs);
    for (let i = 0; i < PULSE_RING; i++) {
      const status = this.pulseStatus[i];
      if (status === PULSE_FREE) continue;
      if (status === PULSE_PENDING) {
        if (t >= this.pulseTrigger[i]) return UNDECIDED;
        continue;
      }
      const onset = this.pulseOnset[i];
      if (Number.isNaN(onset)) continue;
      for (let k = 0; k < this.analysedPerTrain; k++) {
        const rel = (t - onset - k * this.trainIntervalSamples) / spm;
        if (rel >= o.evokedStartMs && rel < o.evokedEndMs && !this.layout.isArtefact(rel, p.pulseWidthMs)) return EVOKED;
      }
      const relFirst = (t - onset) / spm;
      if (relFirst >= 0 && relFirst < quietMs) return EXCLUDED;
    }
    return SPONTANEOUS;
  }

  // ── acknowledgements ──────────────────────────────────────────────────────────────────────

  private recordOf(requestId: number): number {
    for (let i = 0; i < PULSE_RING; i++) if (this.pulseStatus[i] === PULSE_PENDING && this.pulseRequest[i] === requestId) return i;
    return -1;
  }

  /** The light of trigger `requestId` came on at `onsetSampleIndex` (stream sample clock). */
  onPulseDelivered(requestId: number, onsetSampleIndex: number): void {
    const i = this.recordOf(requestId);
    if (i < 0) return;
    this.pulseOnset[i] = onsetSampleIndex;
    this.pulseStatus[i] = PULSE_DELIVERED;
    this.delivered++;
    this.waveforms.drain(this.classifyBound);
  }

  /** Trigger `requestId` gave no light (device error): the pulse is not counted. */
  onPulseFailed(requestId: number): void {
    const i = this.recordOf(requestId);
    if (i < 0) return;
    this.pulseStatus[i] = PULSE_DONE;
    this.pulseOnset[i] = NaN;
    this.failed++;
    this.waveforms.drain(this.classifyBound);
  }

  // ── per block ─────────────────────────────────────────────────────────────────────────────

  /** Called once per block with the stream's current sample index (one past the block's last sample). */
  poll(sampleIndex: number, sourceReceiveTimeNs = 0): void {
    if (this.state !== 'running') return;
    this.streamIndex = sampleIndex;
    const spm = this.samplesPerMs;
    const waitSamples = (this.layout.postMs + (this.analysedPerTrain - 1) * this.config.protocol.trainPulseIntervalMs + this.config.spikeDelayMs) * spm;
    const timeoutSamples = (this.options.ackTimeoutMs ?? 1000) * spm;
    for (let i = 0; i < PULSE_RING; i++) {
      const status = this.pulseStatus[i];
      if (status === PULSE_DELIVERED && sampleIndex >= this.pulseOnset[i] + waitSamples) {
        this.finalisePulse(i);
      } else if (status === PULSE_PENDING && sampleIndex - this.pulseTrigger[i] > timeoutSamples) {
        this.log(`trigger ${this.pulseRequest[i]} was never acknowledged; not counted`);
        this.onPulseFailed(this.pulseRequest[i]);
      }
    }
    const p = this.config.protocol;
    if (this.passKind !== 2 && this.analysed >= p.maxPulses) this.beginPass(2, `reached ${p.maxPulses} pulses`, 'max-pulses');
    else if (this.passKind === 0 && this.config.stopping.adaptive && this.sinceLook >= this.config.stopping.lookEveryPulses) this.beginPass(1, '', 'sequential-and-criteria');
    if (this.passKind !== 0) {
      this.runPass(this.config.stopping.saltPerBlock);
      if (this.state !== 'running' || this.passKind === 2) return;
    }
    if (sampleIndex >= this.nextTriggerSample && !this.programming && this.triggered - this.failed < p.maxPulses) this.fire(sampleIndex, sourceReceiveTimeNs);
  }

  private fire(sampleIndex: number, sourceReceiveTimeNs: number): void {
    const p = this.config.protocol;
    const level = this.levelCursor % p.levels.length;
    if (level !== this.programmedLevel) {
      void this.programLevel(level);
      return;
    }
    // One pulse in flight at a time: the interval is far longer than any acknowledgement.
    for (let i = 0; i < PULSE_RING; i++) if (this.pulseStatus[i] === PULSE_PENDING) return;
    const cause = this.causes[this.causeNext];
    this.causeNext = (this.causeNext + 1) % this.causes.length;
    cause.sampleIndex = sampleIndex;
    cause.sourceReceiveTimeNs = sourceReceiveTimeNs;
    const id = this.options.governor.trigger(1 << p.output, cause);
    this.scheduleNext(sampleIndex);
    if (id < 0) {
      this.refusedCount++;
      const refusal = this.options.governor.lastRefusal;
      if (refusal.code === 'E_STIM_ESTOP') {
        this.abort('the emergency stop is engaged');
        return;
      }
      if (++this.consecutiveRefusals >= MAX_CONSECUTIVE_REFUSALS) this.abort(`${MAX_CONSECUTIVE_REFUSALS} pulses in a row refused by the safety governor (${refusal.limit})`);
      return;
    }
    this.consecutiveRefusals = 0;
    const i = this.pulseNext;
    this.pulseNext = (i + 1) % PULSE_RING;
    if (this.pulseStatus[i] === PULSE_DELIVERED) this.finalisePulse(i);
    this.pulseRequest[i] = id;
    this.pulseTrigger[i] = sampleIndex;
    this.pulseOnset[i] = NaN;
    this.pulseStatus[i] = PULSE_PENDING;
    this.triggered++;
    // The next level is programmed when the next pulse is due, long after this one has ended.
    this.levelCursor++;
  }

  /** Adds a delivered pulse (each analysed pulse of its train) to every unit present during its windows. */
  private finalisePulse(i: number): void {
    this.pulseStatus[i] = PULSE_DONE;
    const onsetTrain = this.pulseOnset[i];
    const spm = this.samplesPerMs;
    const preSamples = this.layout.preMs * spm;
    const postSamples = this.layout.postMs * spm;
    for (let k = 0; k < this.analysedPerTrain; k++) {
      const onset = onsetTrain + k * this.trainIntervalSamples;
      const from = onset - preSamples;
      const to = onset + postSamples;
      for (let slot = 0; slot < this.slotCount; slot++) {
        // Only units present for the whole baseline, with no spike of that time lost from the ring.
        if (!this.rings.complete(slot, from)) continue;
        const n = this.rings.gather(slot, from, to, onset, spm, this.scratch);
        this.accumulators[slot].addTrial(this.scratch, 0, n, this.config.protocol.pulseWidthMs);
      }
    }
    this.analysed++;
    this.sinceLook++;
  }

  // ── decisions ─────────────────────────────────────────────────────────────────────────────

  /** Whether the unit's cached SALT is from its current pulse count. */
  private saltFresh(slot: number): boolean {
    return this.saltTrials[slot] === this.accumulators[slot].trials;
  }

  /** Every statistic, SALT recomputed if the unit has new pulses (≈0.4 ms): for decisions and final results. */
  private statsOf(slot: number): TagStats {
    const acc = this.accumulators[slot];
    if (!this.saltFresh(slot)) {
      const salt = acc.trials > 0 ? acc.salt() : { p: NaN, i: NaN };
      this.saltP[slot] = salt.p;
      this.saltI[slot] = salt.i;
      this.saltTrials[slot] = acc.trials;
    }
    return this.cachedStats(slot);
  }

  /** Every statistic without recomputing SALT (the last SALT computed, possibly a few pulses old): cheap, for the bus. */
  private cachedStats(slot: number): TagStats {
    const quick = this.accumulators[slot].stats(false);
    const p = this.saltP[slot];
    const i = this.saltI[slot];
    return { ...quick, saltP: Number.isNaN(p) ? null : p, saltI: Number.isNaN(i) ? null : i };
  }

  /**
   * Every unit the adaptive stop waits for is decided, and at least one unit is. It waits for the
   * units present from the start (first seen within the first minPulses pulses) with at least
   * waitMinSpikes spikes: online clustering keeps creating units (split-off groups, late
   * promotions), and waiting for each newcomer's own test would hold a large session to maxPulses.
   */
  private allDecided(): boolean {
    const wait = this.config.stopping.waitMinSpikes;
    const early = this.config.protocol.minPulses;
    let decided = 0;
    for (let slot = 0; slot < this.slotCount; slot++) {
      if (this.decision[slot] !== 0) decided++;
      else if (this.spikeCount[slot] >= wait && this.firstSeenAtPulse[slot] < early) return false;
    }
    return decided > 0;
  }

  /** The sequential test's log-likelihood ratio for a unit (see optotag-config.ts). */
  sequentialLlr(slot: number): number {
    const acc = this.accumulators[slot];
    const n = acc.trials;
    const responses = acc.responded;
    const p0 = (acc.baselineWindowsWithSpike + 0.5) / (acc.baselineWindows + 1);
    const p1 = Math.min(p0 + this.config.stopping.minReliabilityGain, 0.999);
    if (!(p1 > p0)) return 0;
    return responses * Math.log(p1 / p0) + (n - responses) * Math.log((1 - p1) / (1 - p0));
  }

  private beginPass(kind: 1 | 2, reason: string, by: DecidedBy): void {
    this.passKind = kind;
    this.passCursor = 0;
    this.passReason = reason;
    this.passBy = by;
    if (kind === 1) this.sinceLook = 0;
  }

  /**
   * Advances the current decision pass by at most `saltBudget` SALT computations. A look decides
   * what the sequential test allows (see optotag-config.ts); the final pass decides every
   * remaining unit by the criteria alone. When a pass completes, the session may end.
   */
  private runPass(saltBudget: number): void {
    const st = this.config.stopping;
    const upper = Math.log((1 - st.missRate) / st.falseTagRate);
    const lower = Math.log(st.missRate / (1 - st.falseTagRate));
    const final = this.passKind === 2;
    let budget = saltBudget;
    while (this.passCursor < this.slotCount) {
      const slot = this.passCursor;
      if (this.decision[slot] !== 0) {
        // The final pass also brings decided units' SALT up to date, so that the results are
        // cheap to read when the session ends.
        if (final && !this.saltFresh(slot)) {
          if (budget <= 0) return;
          budget--;
          this.statsOf(slot);
        }
        this.passCursor++;
        continue;
      }
      const acc = this.accumulators[slot];
      // A unit tested this long without a verdict (its response probability between H0 and H1, or
      // a responder whose SALT or evoked waveforms never got there) gets the criteria's verdict.
      let truncated = false;
      if (!final) {
        if (acc.trials < this.config.protocol.minPulses) {
          this.passCursor++;
          continue;
        }
        const llr = this.sequentialLlr(slot);
        truncated = acc.trials >= this.unitMaxPulses;
        if (llr <= lower) {
          // "No gain of δ" is not "no response": a unit whose spikes are time-locked to the light
          // (SALT) but rarely follow a pulse — most of its evoked spikes lost to collisions with
          // the other opsin cells' synchronous spikes, or assigned to a fragment of it — keeps
          // being tested, and gets the criteria's verdict at unitMaxPulses.
          if (!this.saltFresh(slot)) {
            if (budget <= 0) return;
            budget--;
          }
          const saltP = this.statsOf(slot).saltP;
          if (saltP === null || saltP >= st.noResponseMinSaltP) {
            this.decide(slot, false, [], 'sequential-no-response');
            this.passCursor++;
            continue;
          }
        }
        if (llr < upper && !truncated) {
          this.passCursor++;
          continue;
        }
      }
      if (!this.saltFresh(slot)) {
        if (budget <= 0) return;
        budget--;
      }
      const stats = this.statsOf(slot);
      this.passCursor++;
      if (final || truncated) {
        const d = decideTag(stats, this.waveformR(slot), this.config.criteria);
        this.decide(slot, d.tagged, d.failed, final ? this.passBy : 'unit-max-pulses');
        continue;
      }
      if (stats.saltP === null || stats.saltP >= this.config.criteria.saltAlpha) continue;
      if (this.waveforms.active && this.waveforms.evokedCount[slot] < st.minWaveformSpikes) continue;
      const d = decideTag(stats, this.waveformR(slot), this.config.criteria);
      this.decide(slot, d.tagged, d.failed, 'sequential-and-criteria');
    }
    this.passKind = 0;
    if (final) this.finish(this.passReason);
    else if (this.analysed >= this.config.protocol.minPulses && this.allDecided()) this.beginPass(2, `every unit decided after ${this.analysed} pulses`, 'adaptive-stop');
  }

  private decide(slot: number, tagged: boolean, failed: readonly TagCriterion[], by: DecidedBy): void {
    this.decision[slot] = tagged ? 1 : 2;
    this.decidedAt[slot] = this.analysed;
    this.decidedBy[slot] = by;
    this.failedCriteria[slot] = failed;
  }

  private finish(reason: string): void {
    this.state = 'finished';
    this.endReason = reason;
    this.log(`finished: ${reason}`);
    this.options.onEnd?.(this.result());
  }

  // ── results ───────────────────────────────────────────────────────────────────────────────

  /** Light-evoked vs spontaneous waveform R for a unit (null without both means). */
  private waveformR(slot: number): number | null {
    const evoked = this.waveforms.mean(slot, true, this.options.sampleRateHz);
    const spontaneous = this.waveforms.mean(slot, false, this.options.sampleRateHz);
    if (!evoked || !spontaneous) return null;
    return waveformCorrelation(evoked, spontaneous, this.config.analysis.waveformWindowStartMs, this.config.analysis.waveformWindowMs);
  }

  /** A unit's full result (recomputes SALT if stale: cheap once the session has finished). */
  unitResult(slot: number): UnitTagResult {
    return {
      unitId: this.unitOfSlot[slot],
      tagged: this.decision[slot] === 1,
      decided: this.decision[slot] !== 0,
      decidedBy: this.decidedBy[slot],
      decidedAtPulse: this.decidedAt[slot] >= 0 ? this.decidedAt[slot] : null,
      failed: this.failedCriteria[slot],
      stats: this.statsOf(slot),
      waveformCorrelation: this.waveformR(slot),
      evokedWaveforms: this.waveforms.evokedCount[slot],
      spontaneousWaveforms: this.waveforms.spontaneousCount[slot],
    };
  }

  result(): OptotagResult {
    const units: UnitTagResult[] = [];
    for (let slot = 0; slot < this.slotCount; slot++) units.push(this.unitResult(slot));
    return {
      state: this.state,
      pulsesDelivered: this.analysed,
      pulsesFailed: this.failed,
      pulsesRefused: this.refusedCount,
      stoppedEarly: this.state === 'finished' && this.analysed < this.config.protocol.maxPulses,
      reason: this.endReason,
      units,
    };
  }

  /**
   * The unit's tag summary for the bus and units.json (core/units.ts). Cheap: SALT is the value of
   * the last decision look (a few pulses old while testing), never recomputed here.
   */
  tagSummary(unitId: number): TagSummary | null {
    const slot = unitId >= 0 && unitId <= this.config.maxUnitId ? this.slotOfUnit[unitId] : -1;
    if (slot < 0) return null;
    const stats = this.cachedStats(slot);
    const decided = this.decision[slot] !== 0;
    const state: TagState = decided ? (this.decision[slot] === 1 ? 'tagged' : 'not-tagged') : this.state === 'running' ? 'testing' : 'untested';
    const a = this.config.analysis;
    return {
      state,
      pulses: stats.pulses,
      saltP: stats.saltP,
      saltI: stats.saltI,
      latencyMs: stats.latencyMs,
      jitterMs: stats.jitterMs,
      reliability: stats.reliability,
      allenRatio: stats.allenRatio,
      waveformCorrelation: this.waveformR(slot),
      // The dashboard draws it: the latency and reliability are easier to trust when seen.
      psth: { binMs: a.psthBinMs, startMs: a.psthStartMs, counts: Array.from(this.accumulators[slot].psthCounts) },
    };
  }

  /** The tagged units with what the library needs: the spontaneous mean waveform, its channels, every spike time (s). */
  taggedUnits(): TaggedUnit[] {
    const out: TaggedUnit[] = [];
    for (let slot = 0; slot < this.slotCount; slot++) {
      if (this.decision[slot] !== 1) continue;
      out.push({
        result: this.unitResult(slot),
        meanWaveform: this.waveforms.mean(slot, false, this.options.sampleRateHz),
        channels: this.waveforms.channelsOf(slot),
        spikeTimesS: Float64Array.from(this.spikeTimes[slot]!.subarray(0, this.spikeCount[slot]), (t) => t / this.options.sampleRateHz),
      });
    }
    return out;
  }
}
