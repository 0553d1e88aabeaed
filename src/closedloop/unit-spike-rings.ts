/**
 * The recent spike times of every tracked unit, one fixed ring per unit in a single typed array,
 * so that a pulse's baseline and response windows can be cut out when the pulse is final without
 * keeping whole spike trains. When a ring overwrites a spike, the ring remembers the newest time
 * lost, so that a window reaching back that far is known to be incomplete (and is not used).
 */
export class UnitSpikeRings {
  private readonly times: Float64Array;
  private readonly head: Int32Array;
  private readonly size: Int32Array;
  /** Newest spike time overwritten per unit (−∞ while nothing was lost). */
  readonly lastDropped: Float64Array;
  /** First spike time per unit (+∞ before any). */
  readonly firstSpike: Float64Array;

  constructor(
    readonly unitCapacity: number,
    readonly spikesPerUnit: number,
  ) {
    this.times = new Float64Array(unitCapacity * spikesPerUnit);
    this.head = new Int32Array(unitCapacity);
    this.size = new Int32Array(unitCapacity);
    this.lastDropped = new Float64Array(unitCapacity).fill(-Infinity);
    this.firstSpike = new Float64Array(unitCapacity).fill(Infinity);
  }

  /** Adds the spike times[k] (times arrive in order). No allocation (the time is read from the array, not passed). */
  push(slot: number, times: Float64Array, k: number): void {
    const t = times[k];
    const cap = this.spikesPerUnit;
    const base = slot * cap;
    let size = this.size[slot];
    let head = this.head[slot];
    if (t < this.firstSpike[slot]) this.firstSpike[slot] = t;
    if (size === cap) {
      this.lastDropped[slot] = this.times[base + head];
      head = head + 1 === cap ? 0 : head + 1;
      size--;
    }
    let tail = head + size;
    if (tail >= cap) tail -= cap;
    this.times[base + tail] = t;
    this.head[slot] = head;
    this.size[slot] = size + 1;
  }

  /** Whether the ring holds every spike of [from, …): the unit was there, and nothing that recent was lost. */
  complete(slot: number, from: number): boolean {
    return this.firstSpike[slot] <= from && this.lastDropped[slot] < from;
  }

  /** Writes (t − origin) / scale for the unit's spikes in [from, to) into `out`, in order; returns how many. */
  gather(slot: number, from: number, to: number, origin: number, scale: number, out: Float64Array): number {
    const cap = this.spikesPerUnit;
    const base = slot * cap;
    const head = this.head[slot];
    const size = this.size[slot];
    let n = 0;
    for (let j = 0; j < size; j++) {
      let at = head + j;
      if (at >= cap) at -= cap;
      const t = this.times[base + at];
      if (t >= from && t < to) out[n++] = (t - origin) / scale;
    }
    return n;
  }
}
