import { OptoloopError } from '../core/errors.js';
import type { ChannelLayout } from './channel-layout.js';

/**
 * For every channel, the channels within a radius on the same shank, in compressed sparse rows:
 * the neighbours of channel c are `indices[offsets[c] … offsets[c + 1] − 1]`. Each row starts with
 * c itself, then the others by increasing distance (ties by channel index), so a row's prefix is
 * always the closest neighbourhood.
 */
export interface Neighbourhoods {
  readonly channelCount: number;
  readonly radiusUm: number;
  readonly offsets: Int32Array;
  readonly indices: Int32Array;
  /** The largest row: the capacity a snippet needs. */
  readonly maxSize: number;
}

export function neighbourhoodsByRadius(layout: ChannelLayout, radiusUm: number): Neighbourhoods {
  if (!(radiusUm >= 0) || !Number.isFinite(radiusUm)) {
    throw new OptoloopError('E_OPTIONS_INVALID', `neighbourhood radiusUm: expected a finite number ≥ 0, got ${radiusUm}`, {
      stage: 'probe',
    });
  }
  const n = layout.channelCount;
  const rows: number[][] = [];
  const r2 = radiusUm * radiusUm;
  for (let c = 0; c < n; c++) {
    const row: { channel: number; d2: number }[] = [];
    for (let o = 0; o < n; o++) {
      if (layout.shank[o] !== layout.shank[c]) continue;
      const dx = layout.xUm[o] - layout.xUm[c];
      const dy = layout.yUm[o] - layout.yUm[c];
      const d2 = dx * dx + dy * dy;
      if (d2 <= r2 || o === c) row.push({ channel: o, d2: o === c ? -1 : d2 });
    }
    row.sort((a, b) => a.d2 - b.d2 || a.channel - b.channel);
    rows.push(row.map((e) => e.channel));
  }
  const offsets = new Int32Array(n + 1);
  let maxSize = 0;
  for (let c = 0; c < n; c++) {
    offsets[c + 1] = offsets[c] + rows[c].length;
    maxSize = Math.max(maxSize, rows[c].length);
  }
  const indices = new Int32Array(offsets[n]);
  rows.forEach((row, c) => indices.set(row, offsets[c]));
  return { channelCount: n, radiusUm, offsets, indices, maxSize };
}

/** The neighbours of one channel (a view, no copy). */
export function neighboursOf(hoods: Neighbourhoods, channel: number): Int32Array {
  return hoods.indices.subarray(hoods.offsets[channel], hoods.offsets[channel + 1]);
}
