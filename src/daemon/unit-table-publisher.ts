/**
 * Publishes the unit table on the bus in slices spread over each period, not all at once.
 *
 * Why: with ~300 units, building every summary (mean waveform, ACG) and encoding them in one
 * message took 0.4–1.8 ms of the main thread twice a second, and every block that arrived
 * meanwhile waited for it — the largest regular long task left on the stimulation path after the
 * clusterer's maintenance was sliced. Here each period is cut into `slices` ticks; a tick sends
 * the summaries of the next share of the units as a partial update (`complete: false`), so a
 * client has every unit refreshed once per period, as before. Units that disappeared (merged away)
 * since the last period go out as `removedUnitIds` with the first slice of the next one.
 */
import type { UnitSummary } from '../core/units.js';

export interface UnitTableSource {
  /** Current unit ids, ascending. */
  unitIds(): readonly number[];
  /** An owned snapshot of one unit, or null if it has gone meanwhile. */
  summaryOf(unitId: number): UnitSummary | null;
}

export type PublishUnits = (units: readonly UnitSummary[], removedUnitIds: readonly number[]) => void;

export class UnitTablePublisher {
  /** The ids of the period in progress (a snapshot taken at its first slice). */
  private periodIds: readonly number[] = [];
  private previousIds = new Set<number>();
  private slice = 0;

  constructor(
    private readonly source: UnitTableSource,
    private readonly publish: PublishUnits,
    /** Ticks per period (≥ 1). */
    readonly slices: number,
  ) {
    if (!Number.isInteger(slices) || slices < 1) throw new RangeError(`UnitTablePublisher: slices must be an integer ≥ 1, got ${slices}`);
  }

  /** One tick: the next share of the period's units. */
  tick(): void {
    let removed: number[] = [];
    if (this.slice === 0) {
      this.periodIds = [...this.source.unitIds()];
      const current = new Set(this.periodIds);
      removed = [...this.previousIds].filter((id) => !current.has(id));
      this.previousIds = current;
    }
    const n = this.periodIds.length;
    const from = Math.floor((this.slice * n) / this.slices);
    const to = Math.floor(((this.slice + 1) * n) / this.slices);
    this.slice = (this.slice + 1) % this.slices;
    const units: UnitSummary[] = [];
    for (let i = from; i < to; i++) {
      const s = this.source.summaryOf(this.periodIds[i]);
      if (s) units.push(s);
    }
    if (units.length > 0 || removed.length > 0) this.publish(units, removed);
  }
}
