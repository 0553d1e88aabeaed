/**
 * Names each unit's cell type while the experiment runs. On each tick (a few times a second, from
 * the acquisition thread, synchronous and cheap) it picks the units due for a (re)classification
 * and posts their features to the classifier worker; results come back on the event loop and
 * update the unit's ClassificationSummary and the closed loop's cell-type table.
 *
 * Policy: a unit is first classified at `minSpikes` spikes, again each time its count has grown by
 * `growthFactor` (100, 200, 400 … by default), and every `everyS` seconds of stream time while it
 * keeps firing. At most `maxInFlight` requests are outstanding (never-classified units first), and
 * one per unit. The label is the top class when its confidence ratio (top / second probability)
 * reaches `abstainBelowRatio`, else null (abstain). time-to-label: stream time from the unit's
 * first spike to the request that first gave the label it still has.
 */
import type { CellTypeTable } from '../../closedloop/rules/cell-type-table.js';
import type { ClassificationSummary } from '../../core/units.js';
import type { UnitEvent } from '../units/unit-assigner.js';
import type { ClassifierClient } from '../worker/classifier-client.js';
import type { ResultMessage } from '../worker/protocol.js';
import { argmax, confidenceRatio } from '../train/metrics.js';
import type { UnitTracker } from './unit-tracker.js';

export interface ReclassifyPolicy {
  readonly minSpikes: number;
  readonly growthFactor: number;
  readonly everyS: number;
  readonly maxInFlight: number;
  /** Requests posted per tick at most (the rest wait for the next tick, most urgent first). */
  readonly maxPerTick: number;
  readonly abstainBelowRatio: number;
}

interface UnitState {
  nextMilestone: number;
  lastRequestS: number;
  lastRequestSpikes: number;
  inFlight: boolean;
  summary: ClassificationSummary | null;
  /** Classifications received. */
  results: number;
}

interface Pending {
  readonly unitId: number;
  readonly spikeCount: number;
  readonly streamTimeS: number;
  readonly firstSpikeS: number;
}

export interface ClassifierCounters {
  requests: number;
  results: number;
  errors: number;
  /** Worker latency (arrival → result) of the last result, µs. */
  lastLatencyUs: number;
}

export class OnlineClassifier {
  readonly counters: ClassifierCounters = { requests: 0, results: 0, errors: 0, lastLatencyUs: 0 };
  private readonly state = new Map<number, UnitState>();
  private readonly pending = new Map<number, Pending>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly tracker: UnitTracker,
    private readonly client: ClassifierClient,
    private readonly policy: ReclassifyPolicy,
    private readonly cellTypes: CellTypeTable | null,
    private readonly log: (line: string) => void = () => {},
  ) {
    client.onResult = (r) => this.onResult(r);
    client.onRequestError = (requestId, error) => this.onRequestError(requestId, error.message);
  }

  get modelName(): string {
    return this.client.model.name;
  }

  get classNames(): readonly string[] {
    return this.client.model.classes;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  private stateOf(unitId: number): UnitState {
    let s = this.state.get(unitId);
    if (!s) {
      s = { nextMilestone: this.policy.minSpikes, lastRequestS: -Infinity, lastRequestSpikes: 0, inFlight: false, summary: null, results: 0 };
      this.state.set(unitId, s);
    }
    return s;
  }

  /** Follows merges: the absorbed unit's label is cleared; the survivor is re-classified soon. */
  onUnitEvents(events: readonly UnitEvent[]): void {
    for (const e of events) {
      if (e.kind === 'retired') {
        this.state.delete(e.unitId);
        this.cellTypes?.set(e.unitId, null, 0);
      }
      if (e.kind !== 'merged') continue;
      this.state.delete(e.absorbed);
      this.cellTypes?.set(e.absorbed, null, 0);
      const s = this.state.get(e.survivor);
      if (s) s.lastRequestS = -Infinity;
    }
  }

  /**
   * Posts the requests that are due. `force` requests every unit with ≥ minSpikes that has gained
   * spikes since its last request (the end of an offline run).
   */
  tick(streamTimeS: number, force = false): void {
    const due: { unitId: number; priority: number }[] = [];
    for (const unitId of this.tracker.unitIds()) {
      const f = this.tracker.get(unitId)!;
      if (f.spikeCount < this.policy.minSpikes) continue;
      const s = this.stateOf(unitId);
      if (s.inFlight) continue;
      const milestone = f.spikeCount >= s.nextMilestone;
      const periodic = streamTimeS - s.lastRequestS >= this.policy.everyS && f.spikeCount > s.lastRequestSpikes;
      const final = force && f.spikeCount > s.lastRequestSpikes;
      if (milestone || periodic || final) due.push({ unitId, priority: s.results === 0 ? 0 : 1 });
    }
    due.sort((a, b) => a.priority - b.priority || a.unitId - b.unitId);
    let posted = 0;
    for (const { unitId } of due) {
      if (this.pending.size >= this.policy.maxInFlight || posted >= this.policy.maxPerTick) break;
      this.request(unitId, streamTimeS);
      posted++;
    }
  }

  private request(unitId: number, streamTimeS: number): void {
    const f = this.tracker.get(unitId)!;
    const waveform = this.tracker.meanPeakWaveform(unitId);
    if (!waveform) return;
    const s = this.stateOf(unitId);
    while (s.nextMilestone <= f.spikeCount) s.nextMilestone = Math.ceil(s.nextMilestone * this.policy.growthFactor);
    s.lastRequestS = streamTimeS;
    s.lastRequestSpikes = f.spikeCount;
    s.inFlight = true;
    const layer = this.tracker.layerOfChannel(this.tracker.peakChannelOf(unitId));
    const requestId = this.client.classify(unitId, waveform, f.sampleRateHz, f.spikeTimes(), layer);
    this.pending.set(requestId, { unitId, spikeCount: f.spikeCount, streamTimeS: Math.max(streamTimeS, f.lastSpikeS), firstSpikeS: f.firstSpikeS });
    this.counters.requests++;
  }

  private onResult(r: ResultMessage): void {
    const p = this.pending.get(r.requestId);
    this.pending.delete(r.requestId);
    this.counters.results++;
    this.counters.lastLatencyUs = r.latencyUs;
    if (p) {
      const s = this.state.get(p.unitId);
      if (s) {
        s.inFlight = false;
        s.results++;
        const classes = this.client.model.classes;
        const ratio = confidenceRatio(r.probabilities);
        const label = ratio >= this.policy.abstainBelowRatio ? classes[argmax(r.probabilities)] : null;
        const previous = s.summary;
        let timeToLabelS: number | null = null;
        if (label !== null) timeToLabelS = previous && previous.label === label && previous.timeToLabelS !== null ? previous.timeToLabelS : p.streamTimeS - p.firstSpikeS;
        s.summary = {
          classNames: classes,
          probabilities: Array.from(r.probabilities),
          confidenceRatio: ratio,
          label,
          spikeCount: p.spikeCount,
          timeToLabelS,
          modelName: this.client.model.name,
        };
        this.cellTypes?.set(p.unitId, label, ratio);
      }
    }
    if (this.pending.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** A failed request: the unit may be asked again at its next milestone. */
  onRequestError(requestId: number, message: string): void {
    const p = this.pending.get(requestId);
    this.pending.delete(requestId);
    this.counters.errors++;
    if (p) {
      const s = this.state.get(p.unitId);
      if (s) s.inFlight = false;
      this.log(`classifier: unit ${p.unitId}: ${message}`);
    }
    if (this.pending.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  classification(unitId: number): ClassificationSummary | null {
    return this.state.get(unitId)?.summary ?? null;
  }

  /** Stops the worker. */
  close(): Promise<void> {
    return this.client.close();
  }

  /** Resolves when no request is outstanding. */
  idle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
