/**
 * Unit assignment, per-unit features and cell types, as the daemon sees them: one synchronous
 * `process()` per block that writes unit ids into the spike batch before the closed loop reads it.
 */
import type { SnippetResult } from '../core/spikes.js';
import type { UnitSummary } from '../core/units.js';
import type { RigConfig } from '../config/rig-config.js';
import type { ChannelLayout } from '../probe/channel-layout.js';
import type { CellTypeTable } from '../closedloop/rules/cell-type-table.js';

export interface UnitStage {
  process(result: SnippetResult): void;
  units(): UnitSummary[];
  close(): Promise<void>;
}

export interface UnitStageDeps {
  readonly layout: ChannelLayout;
  readonly sampleRateHz: number;
  readonly maxSnippetRows: number;
  readonly cellTypes: CellTypeTable;
  readonly log: (message: string) => void;
}

export async function createUnitStage(_config: RigConfig, deps: UnitStageDeps): Promise<UnitStage | null> {
  deps.log('unit assignment is not configured on this build: spikes stay unassigned (unit id −1)');
  return null;
}
