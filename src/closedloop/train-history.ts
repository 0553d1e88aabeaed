/**
 * The light one output has emitted, as a preallocated ring of regular pulse trains (start, width,
 * interval, count) with running totals of pulses and on-time, so that the governor answers "how
 * much light since time a" in O(log n) with no allocation, however long the trains.
 *
 * Trains on one output never overlap (the governor refuses a trigger while the previous train
 * runs), so starts and ends are both ascending. Times are host ns (core/clock).
 */
export class TrainHistory {
  private readonly start: Float64Array;
  private readonly width: Float64Array;
  private readonly interval: Float64Array;
  private readonly count: Float64Array;
  private readonly end: Float64Array;
  /** Running totals including the entry: pulses and on-time (ns) since the history began. */
  private readonly cumPulses: Float64Array;
  private readonly cumOnNs: Float64Array;
  private head = 0;
  size = 0;

  constructor(readonly capacity: number) {
    this.start = new Float64Array(capacity);
    this.width = new Float64Array(capacity);
    this.interval = new Float64Array(capacity);
    this.count = new Float64Array(capacity);
    this.end = new Float64Array(capacity);
    this.cumPulses = new Float64Array(capacity);
    this.cumOnNs = new Float64Array(capacity);
  }

  private at(logical: number): number {
    const i = this.head + logical;
    return i >= this.capacity ? i - this.capacity : i;
  }

  /** End of the newest train (−Infinity when empty). */
  lastEndNs(): number {
    return this.size === 0 ? -Infinity : this.end[this.at(this.size - 1)];
  }

  /** Start of the oldest train kept (Infinity when empty). */
  oldestStartNs(): number {
    return this.size === 0 ? Infinity : this.start[this.head];
  }

  /** End of the oldest train kept (Infinity when empty): the ring may drop it only once this is out of every window. */
  oldestEndNs(): number {
    return this.size === 0 ? Infinity : this.end[this.head];
  }

  isFull(): boolean {
    return this.size === this.capacity;
  }

  /** Appends a train (the caller keeps trains in time order); drops the oldest when full. */
  append(startNs: number, widthNs: number, intervalNs: number, pulseCount: number): void {
    let slot: number;
    if (this.size === this.capacity) {
      slot = this.head;
      this.head = this.at(1);
    } else {
      slot = this.at(this.size);
      this.size++;
    }
    const previous = this.size > 1 ? this.at(this.size - 2) : -1;
    this.start[slot] = startNs;
    this.width[slot] = widthNs;
    this.interval[slot] = pulseCount > 1 ? intervalNs : widthNs;
    this.count[slot] = pulseCount;
    this.end[slot] = startNs + (pulseCount - 1) * this.interval[slot] + widthNs;
    this.cumPulses[slot] = (previous >= 0 ? this.cumPulses[previous] : 0) + pulseCount;
    this.cumOnNs[slot] = (previous >= 0 ? this.cumOnNs[previous] : 0) + pulseCount * widthNs;
  }

  /**
   * The device was told to stop at `nowNs`: the newest train keeps only the pulses that had started
   * (counted whole, as the light may have been on until now). Returns the new end of the history.
   */
  truncateAt(nowNs: number): number {
    if (this.size === 0) return -Infinity;
    const last = this.at(this.size - 1);
    if (this.end[last] <= nowNs) return this.end[last];
    const started = nowNs < this.start[last] ? 0 : Math.min(this.count[last], Math.floor((nowNs - this.start[last]) / this.interval[last]) + 1);
    if (started === 0) {
      this.size--;
      return this.lastEndNs();
    }
    const removed = this.count[last] - started;
    this.count[last] = started;
    this.end[last] = this.start[last] + (started - 1) * this.interval[last] + this.width[last];
    this.cumPulses[last] -= removed;
    this.cumOnNs[last] -= removed * this.width[last];
    return this.end[last];
  }

  /** First logical index whose start is ≥ t (size when none). */
  private firstStartAtOrAfter(t: number): number {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.start[this.at(mid)] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Light-on time (ns) at or after `t`. */
  onTimeSinceNs(t: number): number {
    if (this.size === 0) return 0;
    const j = this.firstStartAtOrAfter(t);
    let total = 0;
    if (j < this.size) {
      const first = this.at(j);
      total = this.cumOnNs[this.at(this.size - 1)] - (this.cumOnNs[first] - this.count[first] * this.width[first]);
    }
    if (j > 0) {
      // The train that started before t may still have light after it; earlier trains ended before it started.
      const i = this.at(j - 1);
      if (this.end[i] > t) {
        const w = this.width[i];
        const p = this.interval[i];
        const n = this.count[i];
        const k0 = Math.max(0, Math.floor((t - this.start[i] - w) / p) + 1);
        if (k0 < n) total += Math.min(w, this.start[i] + k0 * p + w - t) + (n - k0 - 1) * w;
      }
    }
    return total;
  }

  /** Pulse onsets at or after `t`. */
  pulsesSince(t: number): number {
    if (this.size === 0) return 0;
    const j = this.firstStartAtOrAfter(t);
    let total = 0;
    if (j < this.size) {
      const first = this.at(j);
      total = this.cumPulses[this.at(this.size - 1)] - (this.cumPulses[first] - this.count[first]);
    }
    if (j > 0) {
      const i = this.at(j - 1);
      const n = this.count[i];
      if (n > 1) {
        const kFirst = Math.max(0, Math.ceil((t - this.start[i]) / this.interval[i]));
        if (kFirst < n) total += n - kFirst;
      }
    }
    return total;
  }
}

/** Most light-on time a regular train can put in any window of `windowNs`. */
export function maxOnTimeInWindowNs(widthNs: number, intervalNs: number, pulseCount: number, windowNs: number): number {
  if (pulseCount <= 1) return Math.min(widthNs, windowNs);
  const periods = Math.floor(windowNs / intervalNs);
  if (periods >= pulseCount) return pulseCount * widthNs;
  return Math.min(pulseCount * widthNs, periods * widthNs + Math.min(widthNs, windowNs - periods * intervalNs));
}

/**
 * Most pulse onsets a regular train can put in any half-open window (t − windowNs, t]: ⌈window /
 * interval⌉, so that a 1 Hz train has 60 pulses in every minute, not 61.
 */
export function maxPulsesInWindow(intervalNs: number, pulseCount: number, windowNs: number): number {
  if (pulseCount <= 1) return pulseCount;
  return Math.min(pulseCount, Math.ceil(windowNs / intervalNs - 1e-9));
}
