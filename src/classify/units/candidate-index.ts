/**
 * Which templates a spike on channel c is compared with: those whose peak channel lies within a
 * radius of c (same shank). Fixed-capacity lists per channel, allocated once; adding and removing a
 * template touches only the lists of the channels near its peak, and never allocates.
 */
import type { ChannelLayout } from '../../probe/channel-layout.js';
import { neighbourhoodsByRadius, type Neighbourhoods } from '../../probe/neighbourhoods.js';

export class CandidateIndex {
  private readonly hoods: Neighbourhoods;
  readonly lists: Int32Array;
  readonly counts: Int32Array;

  constructor(
    layout: ChannelLayout,
    radiusUm: number,
    readonly perChannel: number,
  ) {
    this.hoods = neighbourhoodsByRadius(layout, radiusUm);
    this.lists = new Int32Array(layout.channelCount * perChannel);
    this.counts = new Int32Array(layout.channelCount);
  }

  /** Adds template k (peak on `peakChannel`) to the lists of the channels near it; false if a list is full. */
  add(k: number, peakChannel: number): boolean {
    const { offsets, indices } = this.hoods;
    let ok = true;
    for (let i = offsets[peakChannel]; i < offsets[peakChannel + 1]; i++) {
      const c = indices[i];
      if (this.counts[c] >= this.perChannel) {
        ok = false;
        continue;
      }
      this.lists[c * this.perChannel + this.counts[c]++] = k;
    }
    return ok;
  }

  remove(k: number, peakChannel: number): void {
    const { offsets, indices } = this.hoods;
    for (let i = offsets[peakChannel]; i < offsets[peakChannel + 1]; i++) {
      const c = indices[i];
      const base = c * this.perChannel;
      const n = this.counts[c];
      for (let j = 0; j < n; j++) {
        if (this.lists[base + j] !== k) continue;
        this.lists[base + j] = this.lists[base + n - 1];
        this.counts[c]--;
        break;
      }
    }
  }

  /** Whether channel c's list is full. */
  isFull(c: number): boolean {
    return this.counts[c] >= this.perChannel;
  }

  /** The list of channel c: `lists` from `offset(c)`, `counts[c]` entries. */
  offset(c: number): number {
    return c * this.perChannel;
  }

  /** Channels within the radius of c (c first), as a view. */
  neighbours(c: number): Int32Array {
    return this.hoods.indices.subarray(this.hoods.offsets[c], this.hoods.offsets[c + 1]);
  }
}
