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
import type { UnitAssigner } from '../units/unit-assigner.js';
import { ClassifierClient } from '../worker/classifier-client.js';
import { OnlineClassifier } from './online-classifier.js';
import { UnitTracker } from './unit-tracker.js';

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

  /** One block's spikes: assign, track, and (every maintenanceIntervalS) maintain and classify. Synchronous. */
  process(result: SnippetResult): void {
    this.assign(result);
    this.maintainIfDue(result);
  }

  /** The per-spike half of process(): unit ids into the batch, features updated. */
  assign(result: SnippetResult): void {
    const batch = result.spikes;
    if (batch.count > 0) {
      this.assigner.assign(batch, result.noiseUv);
      this.tracker.onSpikes(batch);
      this.spikes += batch.count;
      for (let k = 0; k < batch.count; k++) if (batch.unitId[k] >= 0) this.assignedSpikes++;
    }
  }

  /**
   * The periodic half of process(): merges, splits and classification scheduling when
   * maintenanceIntervalS of stream time has passed. It takes milliseconds with hundreds of units,
   * so the daemon runs it after the block's stimulation path rather than before it.
   */
  maintainIfDue(result: SnippetResult): void {
    const block = result.block;
    const nowS = (block.firstSampleIndex + block.frameCount) / block.sampleRateHz;
    if (nowS >= this.nextMaintenanceS) {
      this.nextMaintenanceS = nowS + this.config.maintenanceIntervalS;
      this.maintain(nowS);
    }
  }

  /** Merges, splits, feature upkeep and classification scheduling. */
  maintain(nowS: number, force = false): void {
    const events = this.assigner.maintain(nowS);
    this.tracker.maintain(events, nowS);
    if (this.classifier) {
      this.classifier.onUnitEvents(events);
      this.classifier.tick(nowS, force);
    }
  }

  /** Owned snapshots of every unit, in id order. */
  units(): UnitSummary[] {
    const out: UnitSummary[] = [];
    for (const id of this.tracker.unitIds()) {
      const s = this.tracker.summary(id, this.classifier?.classification(id) ?? null);
      if (s) out.push(s);
    }
    return out;
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
    };
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
