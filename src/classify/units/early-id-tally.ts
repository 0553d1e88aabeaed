/**
 * How the early identification's unit ids (from the short snippets, what the rules acted on)
 * compare with the full assignment's (the same spikes, blocks later, after overlap resolution):
 * the figure a rig needs to trust rules that fire on early ids. Spikes come in the same order in
 * both batches (snippets.ts), so the early ids wait in a FIFO until their full snippets are assigned.
 * The FIFO grows only with the spikes in flight (a few ms of spikes); nothing is allocated per spike.
 */
import type { SpikeBatch } from '../../core/spikes.js';
import type { EarlyIdCounts } from '../../core/status.js';

export class EarlyIdTally {
  private ids = new Int32Array(256);
  private head = 0;
  private queued = 0;
  private agreed = 0;
  private missed = 0;
  private differed = 0;
  private extra = 0;
  private neither = 0;

  /** The early ids of a short-snippet batch, in order. */
  recordEarly(batch: SpikeBatch): void {
    if (this.queued + batch.count > this.ids.length) this.grow(this.queued + batch.count);
    const size = this.ids.length;
    for (let k = 0; k < batch.count; k++) this.ids[(this.head + this.queued + k) % size] = batch.unitId[k];
    this.queued += batch.count;
  }

  /** The full batch's first `detected` spikes (the detector's; recovered ones appended after them have no early id). */
  compareFull(batch: SpikeBatch, detected: number): void {
    const size = this.ids.length;
    const n = Math.min(detected, this.queued);
    for (let k = 0; k < n; k++) {
      const early = this.ids[(this.head + k) % size];
      const full = batch.unitId[k];
      if (early < 0) {
        if (full < 0) this.neither++;
        else this.missed++;
      } else if (full < 0) this.extra++;
      else if (early === full) this.agreed++;
      else this.differed++;
    }
    this.head = (this.head + n) % size;
    this.queued -= n;
  }

  counts(): EarlyIdCounts {
    return { spikes: this.agreed + this.missed + this.differed + this.extra + this.neither, agreed: this.agreed, missed: this.missed, differed: this.differed, extra: this.extra, neither: this.neither };
  }

  private grow(needed: number): void {
    let capacity = this.ids.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = new Int32Array(capacity);
    for (let i = 0; i < this.queued; i++) next[i] = this.ids[(this.head + i) % this.ids.length];
    this.ids = next;
    this.head = 0;
  }
}

/** One line for logs and reports: of the spikes the full pass gave a unit, how many the early pass gave the same one. */
export function describeEarlyIds(c: EarlyIdCounts): string {
  const withUnit = c.agreed + c.missed + c.differed;
  const earlyUnits = c.agreed + c.differed + c.extra;
  const pct = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(1)} %` : 'n/a');
  return `early ids: ${pct(c.agreed, withUnit)} of ${withUnit} assigned spikes got the same unit early (missed ${pct(c.missed, withUnit)}, another unit ${pct(c.differed, withUnit)}); of ${earlyUnits} early ids, ${pct(c.agreed, earlyUnits)} were confirmed, ${pct(c.extra, earlyUnits)} left unassigned by the full pass`;
}
