/**
 * Evaluates the closed-loop rules on every spike batch, synchronously and without allocation, and
 * triggers their trains through the safety governors. Each trigger carries its cause: the rule, the
 * stream, the sample index of the spike that completed the condition, and the host time at which
 * the block holding it arrived from the source (the start of the latency budget).
 *
 * Times are stream sample indices (refractory times and rate windows follow the acquisition clock,
 * not the host's), so that a replayed recording fires exactly as it did live. Batches arrive in
 * stream order; spikes within a batch are taken in order.
 *
 * Causes: each rule owns a small ring of preallocated cause objects, rewritten in turn; a sink
 * must copy a cause it keeps longer than the next `causePoolSize − 1` triggers of the same rule
 * (acknowledgements arrive within milliseconds, refractory times are longer).
 */
import type { MonotonicClock } from '../../core/clock.js';
import { OptoloopError } from '../../core/errors.js';
import type { SpikeBatch } from '../../core/spikes.js';
import type { StimulusCause } from '../../core/stimulus-sink.js';
import type { LatencyHistogram } from '../latency-histogram.js';
import type { SafetyGovernor } from '../safety-governor.js';
import type { CellTypeLookup } from './cell-type-table.js';
import { checkRules, type RulesConfig } from './rule-options.js';

const KIND_SPIKE = 0;
const KIND_RATE = 1;

type MutableCause = { -readonly [K in keyof StimulusCause]: StimulusCause[K] };

export interface RuleEngineOptions {
  readonly rules: RulesConfig;
  /** Governed sinks by config name: rules reach a device only through its governor. */
  readonly sinks: ReadonlyMap<string, SafetyGovernor>;
  readonly cellTypes: CellTypeLookup;
  /** With a clock and a histogram, the engine records spike-block arrival → trigger issued, per accepted trigger. */
  readonly clock?: MonotonicClock;
  readonly latency?: LatencyHistogram;
  readonly causePoolSize?: number;
}

export class RuleEngine {
  readonly ruleIds: readonly string[];
  /** Accepted and refused triggers per rule (order of ruleIds). */
  readonly fired: Float64Array;
  readonly refused: Float64Array;
  /** Triggers accepted during the current onSpikes call. */
  private acceptedInBatch = 0;
  private readonly ruleCount: number;
  private readonly kind: Uint8Array;
  private readonly enabled: Uint8Array;
  private readonly label: Int32Array;
  private readonly minConfidence: Float64Array;
  private readonly hasUnitList: Uint8Array;
  private readonly unitMembers: Uint8Array;
  private readonly unitStride: number;
  private readonly refractoryMs: Float64Array;
  private readonly refractorySamples: Float64Array;
  private readonly lastFireSample: Float64Array;
  private readonly outputMask: Int32Array;
  private readonly sinkOf: SafetyGovernor[];
  // Population-rate rules: a ring of spike sample indices each, in one flat array.
  private readonly windowMs: Float64Array;
  private readonly windowSamples: Float64Array;
  private readonly thresholdCount: Float64Array;
  private readonly levelTriggered: Uint8Array;
  private readonly armed: Uint8Array;
  private readonly ringOffset: Int32Array;
  private readonly ringCapacity: Int32Array;
  private readonly ringHead: Int32Array;
  private readonly ringSize: Int32Array;
  private readonly ring: Float64Array;
  private readonly causes: MutableCause[][];
  private readonly causeNext: Int32Array;
  private sampleRateHz = 0;
  private readonly span = new Float64Array(2);

  constructor(private readonly options: RuleEngineOptions) {
    const issues = checkRules(options.rules);
    const ids = Object.keys(options.rules);
    for (const id of ids) {
      const sink = options.rules[id].action.sink;
      if (!options.sinks.has(sink)) issues.push({ path: `rules.${id}.action.sink`, message: `expected one of the rig's sinks (${[...options.sinks.keys()].join(', ') || 'none'}), got "${sink}"` });
    }
    if (issues.length) {
      throw new OptoloopError('E_CONFIG_INVALID', issues.map((i) => `${i.path}: ${i.message}`).join('\n'), { stage: 'closedloop.rules', details: { issues } });
    }
    this.ruleIds = ids;
    const n = (this.ruleCount = ids.length);
    this.fired = new Float64Array(n);
    this.refused = new Float64Array(n);
    this.kind = new Uint8Array(n);
    this.enabled = new Uint8Array(n);
    this.label = new Int32Array(n).fill(-1);
    this.minConfidence = new Float64Array(n);
    this.hasUnitList = new Uint8Array(n);
    let maxUnit = -1;
    for (const id of ids) for (const u of options.rules[id].when.units ?? []) maxUnit = Math.max(maxUnit, u);
    this.unitStride = maxUnit + 1;
    this.unitMembers = new Uint8Array(n * this.unitStride);
    this.refractoryMs = new Float64Array(n);
    this.refractorySamples = new Float64Array(n);
    this.lastFireSample = new Float64Array(n).fill(-Infinity);
    this.outputMask = new Int32Array(n);
    this.sinkOf = [];
    this.windowMs = new Float64Array(n);
    this.windowSamples = new Float64Array(n);
    this.thresholdCount = new Float64Array(n);
    this.levelTriggered = new Uint8Array(n);
    this.armed = new Uint8Array(n).fill(1);
    this.ringOffset = new Int32Array(n);
    this.ringCapacity = new Int32Array(n);
    this.ringHead = new Int32Array(n);
    this.ringSize = new Int32Array(n);
    let ringTotal = 0;
    const poolSize = Math.max(2, options.causePoolSize ?? 16);
    this.causes = [];
    this.causeNext = new Int32Array(n);
    ids.forEach((id, r) => {
      const rule = options.rules[id];
      const when = rule.when;
      this.enabled[r] = rule.enabled ? 1 : 0;
      if (when.cellType !== null) this.label[r] = options.cellTypes.labelIndex(when.cellType);
      this.minConfidence[r] = when.minConfidence;
      if (when.units) {
        this.hasUnitList[r] = 1;
        for (const u of when.units) this.unitMembers[r * this.unitStride + u] = 1;
      }
      this.refractoryMs[r] = rule.refractoryMs;
      this.outputMask[r] = 1 << rule.action.output;
      this.sinkOf.push(options.sinks.get(rule.action.sink)!);
      if (when.kind === 'population-rate') {
        this.kind[r] = KIND_RATE;
        this.windowMs[r] = when.windowMs;
        this.thresholdCount[r] = (when.thresholdHz * when.windowMs) / 1000;
        this.levelTriggered[r] = when.trigger === 'level' ? 1 : 0;
        this.ringOffset[r] = ringTotal;
        this.ringCapacity[r] = when.maxSpikesInWindow;
        ringTotal += when.maxSpikesInWindow;
      } else {
        this.kind[r] = KIND_SPIKE;
      }
      const pool: MutableCause[] = [];
      for (let k = 0; k < poolSize; k++) pool.push({ reason: `rule:${id}`, streamId: '', sampleIndex: NaN, sourceReceiveTimeNs: NaN });
      this.causes.push(pool);
    });
    this.ring = new Float64Array(ringTotal);
  }

  /**
   * Programs every enabled rule's train on its output, through the governors. Call before the first
   * batch, after an emergency stop has been released, and when a rule is enabled.
   */
  async programSinks(): Promise<void> {
    const done = new Set<string>();
    for (const id of this.ruleIds) {
      if (!this.isEnabled(id)) continue;
      const { sink, output, train } = this.options.rules[id].action;
      const key = `${sink}:${output}`;
      if (done.has(key)) continue;
      done.add(key);
      await this.options.sinks.get(sink)!.program(output, train, `rule:${id}`);
    }
  }

  /** Switches a rule on or off (bus command set-rule-enabled); false when there is no such rule. */
  setEnabled(ruleId: string, enabled: boolean): boolean {
    const r = this.ruleIds.indexOf(ruleId);
    if (r < 0) return false;
    this.enabled[r] = enabled ? 1 : 0;
    // A rule switched back on starts from a clean window, not from spikes it saw while off.
    this.ringHead[r] = 0;
    this.ringSize[r] = 0;
    this.armed[r] = 1;
    return true;
  }

  /** The `sink:output` keys that enabled rules drive, with the first such rule for each. */
  outputsInUse(): Map<string, string> {
    const used = new Map<string, string>();
    this.ruleIds.forEach((id, r) => {
      if (this.enabled[r] === 0) return;
      const { sink, output } = this.options.rules[id].action;
      if (!used.has(`${sink}:${output}`)) used.set(`${sink}:${output}`, id);
    });
    return used;
  }

  /** The `sink:output` a rule drives (null when there is no such rule). */
  outputOf(ruleId: string): string | null {
    const rule = this.options.rules[ruleId];
    return rule ? `${rule.action.sink}:${rule.action.output}` : null;
  }

  isEnabled(ruleId: string): boolean {
    const r = this.ruleIds.indexOf(ruleId);
    return r >= 0 && this.enabled[r] === 1;
  }

  private setSampleRate(sampleRateHz: number): void {
    this.sampleRateHz = sampleRateHz;
    const perMs = sampleRateHz / 1000;
    for (let r = 0; r < this.ruleCount; r++) {
      this.refractorySamples[r] = this.refractoryMs[r] * perMs;
      this.windowSamples[r] = this.windowMs[r] * perMs;
    }
  }

  /**
   * Evaluates every enabled rule on a batch (borrowed: nothing is kept). No allocation, no await.
   * Returns how many triggers the sinks accepted, so that the caller knows a write went out.
   */
  onSpikes(batch: SpikeBatch): number {
    if (batch.sampleRateHz !== this.sampleRateHz) this.setSampleRate(batch.sampleRateHz);
    const cellTypes = this.options.cellTypes;
    const n = batch.count;
    this.acceptedInBatch = 0;
    for (let k = 0; k < n; k++) {
      const unit = batch.unitId[k];
      if (unit < 0) continue;
      const t = batch.peakSampleIndex[k];
      for (let r = 0; r < this.ruleCount; r++) {
        if (this.enabled[r] === 0) continue;
        if (this.hasUnitList[r] === 1 && (unit >= this.unitStride || this.unitMembers[r * this.unitStride + unit] === 0)) continue;
        const label = this.label[r];
        if (label >= 0 && (cellTypes.labelIndexOf(unit) !== label || cellTypes.confidenceOf(unit) < this.minConfidence[r])) continue;
        if (this.kind[r] === KIND_SPIKE) {
          this.tryFire(r, k, batch);
          continue;
        }
        // Population rate: drop spikes that left the window, note whether the rate was at or
        // below threshold (arming a rising-edge rule), add this spike, compare.
        const offset = this.ringOffset[r];
        const capacity = this.ringCapacity[r];
        let head = this.ringHead[r];
        let size = this.ringSize[r];
        const oldest = t - this.windowSamples[r];
        while (size > 0 && this.ring[offset + head] <= oldest) {
          head = head + 1 === capacity ? 0 : head + 1;
          size--;
        }
        if (size <= this.thresholdCount[r]) this.armed[r] = 1;
        if (size === capacity) {
          // Saturated: the rate is far above any threshold the config allows; keep the newest.
          head = head + 1 === capacity ? 0 : head + 1;
          size--;
        }
        let tail = head + size;
        if (tail >= capacity) tail -= capacity;
        this.ring[offset + tail] = t;
        size++;
        this.ringHead[r] = head;
        this.ringSize[r] = size;
        if (size > this.thresholdCount[r] && (this.levelTriggered[r] === 1 || this.armed[r] === 1)) {
          if (this.tryFire(r, k, batch)) this.armed[r] = 0;
        }
      }
    }
    return this.acceptedInBatch;
  }

  /**
   * Fires rule r for spike k of the batch unless refractory; returns whether it tried (the
   * refractory time runs from a try). Takes the spike's index, not its time: V8 boxes a double
   * passed to a call it does not inline.
   */
  private tryFire(r: number, k: number, batch: SpikeBatch): boolean {
    const sampleIndex = batch.peakSampleIndex[k];
    if (sampleIndex - this.lastFireSample[r] < this.refractorySamples[r]) return false;
    this.lastFireSample[r] = sampleIndex;
    const pool = this.causes[r];
    const slot = this.causeNext[r];
    this.causeNext[r] = slot + 1 === pool.length ? 0 : slot + 1;
    const cause = pool[slot];
    cause.streamId = batch.streamId;
    cause.sampleIndex = sampleIndex;
    cause.sourceReceiveTimeNs = batch.sourceReceiveTimeNs;
    // The decision's time is taken before the governor and the sink's write, so that the
    // rule-decision and software histograms together tell the pipeline's share from the write's.
    const { clock, latency } = this.options;
    if (clock && latency) this.span[1] = clock.nowNs();
    const id = this.sinkOf[r].trigger(this.outputMask[r], cause);
    if (id > 0) {
      this.fired[r]++;
      this.acceptedInBatch++;
      if (clock && latency) {
        this.span[0] = batch.sourceReceiveTimeNs;
        latency.recordSpanNs(this.span);
      }
    } else {
      this.refused[r]++;
    }
    return true;
  }
}
