/**
 * Units, features and cell types for the daemon, in one component to plug in after the detection
 * pipeline: per block, `process(result)` assigns every spike of the snippet batch to a unit
 * (writing `unitId` in the batch, so the closed-loop rules that read the same batch next see it),
 * updates the units' features and, every `maintenanceIntervalS` of stream time, runs merges and
 * splits and schedules classifications in the worker. `units()` gives owned UnitSummary snapshots;
 * `cellTypes` is the lookup the rules use, kept up to date as results arrive.
 *
 * The same code runs offline (`optoloop classify <recording>`), fed by a file replay at full speed.
 */
import { CellTypeTable } from '../../closedloop/rules/cell-type-table.js';
import type { SnippetResult } from '../../core/spikes.js';
import type { UnitSummary } from '../../core/units.js';
import type { ChannelLayout } from '../../probe/channel-layout.js';
import type { ClassifierConfig } from '../config.js';
import { resolveModelDirectory } from '../model/model-path.js';
import { KilosortAssigner } from '../units/kilosort-assigner.js';
import { readKilosortFolder } from '../units/kilosort-folder.js';
import { DEFAULT_ONLINE_CLUSTER_OPTIONS, OnlineClusterer } from '../units/online-clusterer.js';
import type { UnitAssigner, UnitEvent } from '../units/unit-assigner.js';
import { EarlyIdTally } from '../units/early-id-tally.js';
import type { EarlyIdCounts } from '../../core/status.js';
import { ClassifierClient } from '../worker/classifier-client.js';
import { OnlineClassifier } from './online-classifier.js';
import { UnitTracker } from './unit-tracker.js';

/**
 * Power iterations of split testing per block: a whole test (up to 30 iterations over 100 spikes'
 * features) took ~1 ms, which after a block's triggers made the next block late; 4 iterations are
 * ~0.05–0.1 ms, and a test spreads over ≤ 8 blocks.
 */
const SPLIT_ITERATIONS_PER_BLOCK = 4;
const NO_EVENTS: readonly UnitEvent[] = Object.freeze([]);

export interface OnlineUnitsStatus {
  readonly assignment: 'templates' | 'online';
  readonly units: number;
  readonly spikes: number;
  readonly assignedSpikes: number;
  readonly classified: number;
  readonly labelled: number;
  readonly inFlight: number;
  readonly backend: string | null;
  readonly model: string | null;
  /** With early identification: its ids against the full assignment's (null without). */
  readonly earlyIds: EarlyIdCounts | null;
}

export interface OnlineUnitsOptions {
  readonly config: ClassifierConfig;
  readonly layout: ChannelLayout;
  readonly sampleRateHz: number;
  /** Rows of the snippets the pipeline cuts (the largest neighbourhood). */
  readonly maxSnippetRows: number;
  /** The closed loop's table to keep up to date; one is made when absent. */
  readonly cellTypes?: CellTypeTable;
  readonly log?: (line: string) => void;
}

export class OnlineUnits {
  readonly cellTypes: CellTypeTable;
  private nextMaintenanceS = 0;
  private spikes = 0;
  private assignedSpikes = 0;
  private earlyTally: EarlyIdTally | null = null;

  private constructor(
    readonly assigner: UnitAssigner,
    readonly tracker: UnitTracker,
    readonly classifier: OnlineClassifier | null,
    private readonly config: ClassifierConfig,
    private readonly backend: string | null,
    cellTypes: CellTypeTable,
  ) {
    this.cellTypes = cellTypes;
  }

  /** Builds the assigner (reading the templates folder if any) and starts the classifier worker (if a model is set). */
  static async create(options: OnlineUnitsOptions): Promise<OnlineUnits> {
    const { config, layout } = options;
    const log = options.log ?? (() => {});
    const a = config.assignment;
    let assigner: UnitAssigner;
    if (config.templates) {
      const folder = readKilosortFolder(config.templates);
      log(`classifier: ${folder.templates.length} templates of ${folder.units.size} units from ${config.templates}${folder.whitened ? ' (unwhitened with whitening_mat_inv.npy)' : ''}; noise clusters excluded: ${folder.excludedNoiseClusters.join(', ') || 'none'}`);
      assigner = new KilosortAssigner(folder, layout, {
        candidateRadiusUm: a.candidateRadiusUm,
        windowBeforeMs: a.windowBeforeMs,
        windowAfterMs: a.windowAfterMs,
        maxShiftSamples: a.maxShiftSamples,
        maxExcessSigma: a.maxExcessSigma,
        maxTemplateError: a.maxTemplateError,
        maxSnippetRows: options.maxSnippetRows,
        sampleRateHz: options.sampleRateHz,
      });
    } else {
      assigner = new OnlineClusterer(layout, { ...DEFAULT_ONLINE_CLUSTER_OPTIONS, ...a, ...config.clustering });
    }
    const tracker = new UnitTracker(layout, { maxSpikes: config.maxSpikes, initialSpikeCapacity: 1024, acgMaxLagMs: config.acgMaxLagMs, isiMaxMs: config.isiMaxMs }, config.layers);
    const cellTypes = options.cellTypes ?? new CellTypeTable();
    let classifier: OnlineClassifier | null = null;
    let backend: string | null = null;
    if (config.model) {
      const client = await ClassifierClient.start({ modelDirectory: resolveModelDirectory(config.model), backend: config.backend, log });
      backend = client.backend;
      log(`classifier: model ${client.model.name} (${client.model.classes.join(', ')}; ${client.model.members} members) on ${client.backend}`);
      classifier = new OnlineClassifier(
        tracker,
        client,
        {
          minSpikes: config.reclassify.minSpikes ?? client.model.minSpikes,
          growthFactor: config.reclassify.growthFactor,
          everyS: config.reclassify.everyS,
          maxInFlight: config.reclassify.maxInFlight,
          maxPerTick: config.reclassify.maxPerTick,
          abstainBelowRatio: config.abstainBelowRatio ?? client.model.abstainBelowRatio,
        },
        cellTypes,
        log,
      );
    }
    return new OnlineUnits(assigner, tracker, classifier, config, backend, cellTypes);
  }

  /** One block's spikes: (early ids,) assign, track, and (every maintenanceIntervalS) maintain and classify. Synchronous. */
  process(result: SnippetResult): void {
    this.identifyEarly(result);
    this.assign(result);
    this.completeAssignment(result);
    this.maintainIfDue(result);
  }

  /**
   * Early identification: unit ids into the result's short-snippet batch (when the pipeline cuts
   * one), from the templates as they stand; counted against the full pass's ids later.
   */
  identifyEarly(result: SnippetResult): void {
    const early = result.early;
    if (!early) return;
    if (early.count > 0) this.assigner.identifyEarly(early, result.noiseUv);
    (this.earlyTally ??= new EarlyIdTally()).recordEarly(early);
  }

  /** The per-spike fast pass: the unit ids the rules need (without early identification), into the batch. */
  assign(result: SnippetResult): void {
    if (result.spikes.count > 0) this.assigner.assign(result.spikes, result.noiseUv);
  }

  /**
   * The rest of the per-spike work, after the block's stimulation path: the assigner's deferred
   * pass (overlap resolution; it may append recovered spikes), then the features.
   */
  completeAssignment(result: SnippetResult): void {
    const batch = result.spikes;
    if (batch.count === 0) return;
    const detected = batch.count;
    this.assigner.resolveDeferred?.(batch, result.noiseUv);
    this.earlyTally?.compareFull(batch, detected);
    this.tracker.onSpikes(batch);
    this.spikes += batch.count;
    for (let k = 0; k < batch.count; k++) if (batch.unitId[k] >= 0) this.assignedSpikes++;
  }

  /**
   * The periodic half of process(). Online clustering's merges, splits and upkeep run in slices,
   * a few template slots every block, so that a full sweep takes maintenanceIntervalS of stream
   * time and no block waits behind a whole pass (a pass took milliseconds with hundreds of units);
   * feature upkeep and classification scheduling run every maintenanceIntervalS. The daemon calls
   * this after the block's stimulation path.
   */
  maintainIfDue(result: SnippetResult): void {
    const block = result.block;
    const nowS = (block.firstSampleIndex + block.frameCount) / block.sampleRateHz;
    const assigner = this.assigner;
    if (assigner.maintainSlice && assigner.slotCount) {
      const slots = (assigner.slotCount * block.frameCount) / block.sampleRateHz / this.config.maintenanceIntervalS;
      const events = assigner.maintainSlice(nowS, slots, SPLIT_ITERATIONS_PER_BLOCK);
      if (events.length > 0) this.followEvents(events, nowS);
      if (nowS >= this.nextMaintenanceS) {
        this.nextMaintenanceS = nowS + this.config.maintenanceIntervalS;
        this.tracker.maintain(NO_EVENTS, nowS);
        this.classifier?.tick(nowS, false);
      }
      return;
    }
    if (nowS >= this.nextMaintenanceS) {
      this.nextMaintenanceS = nowS + this.config.maintenanceIntervalS;
      this.maintain(nowS);
    }
  }

  /** A full pass: merges, splits, feature upkeep and classification scheduling (end of a recording, tests). */
  maintain(nowS: number, force = false): void {
    this.followEvents(this.assigner.maintain(nowS), nowS);
    this.classifier?.tick(nowS, force);
  }

  private followEvents(events: readonly UnitEvent[], nowS: number): void {
    this.tracker.maintain(events, nowS);
    this.classifier?.onUnitEvents(events);
  }

  /** Owned snapshots of every unit, in id order. */
  units(): UnitSummary[] {
    const out: UnitSummary[] = [];
    for (const id of this.tracker.unitIds()) {
      const s = this.summaryOf(id);
      if (s) out.push(s);
    }
    return out;
  }

  /** Current unit ids, ascending. */
  unitIds(): number[] {
    return this.tracker.unitIds();
  }

  /** An owned snapshot of one unit, or null if there is no such unit. */
  summaryOf(unitId: number): UnitSummary | null {
    return this.tracker.summary(unitId, this.classifier?.classification(unitId) ?? null);
  }

  /** The label the rules see for a unit, or null. */
  labelOf(unitId: number): string | null {
    return this.cellTypes.labelName(this.cellTypes.labelIndexOf(unitId));
  }

  status(): OnlineUnitsStatus {
    let classified = 0;
    let labelled = 0;
    if (this.classifier) {
      for (const id of this.tracker.unitIds()) {
        const c = this.classifier.classification(id);
        if (c) classified++;
        if (c?.label) labelled++;
      }
    }
    return {
      assignment: this.assigner.kind,
      units: this.tracker.size,
      spikes: this.spikes,
      assignedSpikes: this.assignedSpikes,
      classified,
      labelled,
      inFlight: this.classifier?.inFlight ?? 0,
      backend: this.backend,
      model: this.classifier?.modelName ?? null,
      earlyIds: this.earlyIdCounts(),
    };
  }

  /** Early identification's ids against the full pass's, since start (null without early identification). */
  earlyIdCounts(): EarlyIdCounts | null {
    return this.earlyTally?.counts() ?? null;
  }

  /** End of a recording: classify every unit once more with all its spikes, and wait for the answers. */
  async flush(nowS: number): Promise<void> {
    if (!this.classifier) return;
    this.maintain(nowS, false);
    await this.classifier.idle();
    this.classifier.tick(nowS, true);
    // maxInFlight may hold some back: keep going until every unit has had its final request.
    for (;;) {
      await this.classifier.idle();
      const before = this.classifier.counters.requests;
      this.classifier.tick(nowS, true);
      if (this.classifier.counters.requests === before) break;
    }
  }

  async close(): Promise<void> {
    await this.classifier?.close();
  }
}
