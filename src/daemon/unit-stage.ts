/**
 * Unit assignment, per-unit features and cell types, as the daemon sees them, synchronously per
 * block in three parts: `assign()` writes the unit ids into the spike batch before the closed loop
 * reads it; `completeAssignment()` and `maintainIfDue()` run after the block's stimulation path.
 * Backed by src/classify's OnlineUnits (templates from a Kilosort folder or online clustering,
 * features, the classifier worker), configured by the rig config's `classifier` section.
 */
import type { SnippetResult } from '../core/spikes.js';
import type { UnitSummary } from '../core/units.js';
import type { RigConfig } from '../config/rig-config.js';
import type { ChannelLayout } from '../probe/channel-layout.js';
import type { CellTypeTable } from '../closedloop/rules/cell-type-table.js';
import { OnlineUnits } from '../classify/online/online-units.js';
import type { EarlyIdCounts } from '../core/status.js';
import { detectionGeometryOf } from '../classify/units/unit-assigner.js';

export interface UnitStage {
  /** Early identification (pipeline.snippets.earlySamplesAfter): unit ids into the result's short-snippet batch, for the rules. */
  identifyEarly(result: SnippetResult): void;
  /** The fast pass: the unit ids the rules need (without early identification; with it, after the rules). */
  assign(result: SnippetResult): void;
  /** The per-spike work the rules do not wait for (overlap resolution, features): right after the stimulation path. */
  completeAssignment(result: SnippetResult): void;
  /** Merges, splits, feature upkeep and classification scheduling, a slice per block. */
  maintainIfDue(result: SnippetResult): void;
  units(): UnitSummary[];
  /** Current unit ids, ascending, and one unit's owned snapshot: the bus's unit table, a slice at a time. */
  unitIds(): readonly number[];
  summaryOf(unitId: number): UnitSummary | null;
  /** Early identification's ids against the full assignment's (null without early identification). */
  earlyIdCounts(): EarlyIdCounts | null;
  close(): Promise<void>;
}

export interface UnitStageDeps {
  readonly layout: ChannelLayout;
  readonly sampleRateHz: number;
  readonly maxSnippetRows: number;
  readonly cellTypes: CellTypeTable;
  readonly log: (message: string) => void;
}

export async function createUnitStage(config: RigConfig, deps: UnitStageDeps): Promise<UnitStage | null> {
  if (!config.classifier.enabled) {
    deps.log('classifier.enabled is false: spikes stay unassigned (unit id −1)');
    return null;
  }
  if (config.pipeline.snippets.mode !== 'snippets') {
    deps.log('pipeline.snippets.mode is peak-only: no waveforms, so no units (unit id −1)');
    return null;
  }
  const units = await OnlineUnits.create({ config: config.classifier, layout: deps.layout, sampleRateHz: deps.sampleRateHz, maxSnippetRows: deps.maxSnippetRows, cellTypes: deps.cellTypes, log: deps.log });
  // Snippets too short for the matching window are a config error: refuse them now, not every block.
  try {
    const snippets = config.pipeline.snippets;
    units.assigner.checkSnippetGeometry(snippets.samplesBefore, snippets.samplesAfter, deps.sampleRateHz, snippets.earlySamplesAfter);
    // Where the detector drops the second of two close spikes: the assigner may recover them there.
    units.assigner.setDetectionGeometry?.(detectionGeometryOf(config.pipeline));
  } catch (error) {
    await units.close();
    throw error;
  }
  const early = config.pipeline.snippets.earlySamplesAfter;
  if (early > 0) deps.log(`early identification: the rules act on unit ids matched ${early} samples (${((early / deps.sampleRateHz) * 1000).toFixed(2)} ms) after the trough, not on the full snippet's`);
  deps.log(`units by ${units.assigner.kind === 'templates' ? `template matching (${config.classifier.templates})` : 'online clustering'}; ${config.classifier.model ? `cell types by model ${config.classifier.model}` : 'no model: no cell types'}`);
  return units;
}
