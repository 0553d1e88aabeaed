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
  private readonly single = new Float64Array(2);
  private readonly train = new Float64Array(4);

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

  isFull(): boolean {
    return this.size === this.capacity;
  }

  /** Whether appending now would drop a train that still ends after io[at] (so is still in a window). */
  wouldDropLightAfter(io: Float64Array, at: number): boolean {
    return this.size === this.capacity && this.end[this.head] > io[at];
  }

  /** Appends a train (the caller keeps trains in time order); drops the oldest when full. */
  append(startNs: number, widthNs: number, intervalNs: number, pulseCount: number): void {
    const io = this.train;
    io[0] = startNs;
    io[1] = widthNs;
    io[2] = intervalNs;
    io[3] = pulseCount;
    this.appendTrain(io);
  }

  /** The hot-path form of {@link append}: [start, width, interval, count] in a typed array (see {@link query}). */
  appendTrain(train: Float64Array): void {
    const startNs = train[0];
    const widthNs = train[1];
    const pulseCount = train[3];
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
    this.interval[slot] = pulseCount > 1 ? train[2] : widthNs;
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

  /** First logical index whose start is ≥ io[from] (size when none). */
  private firstStartAtOrAfter(io: Float64Array, from: number): number {
    const t = io[from];
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.start[this.at(mid)] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Light-on time (ns) at or after `t`. For tests and the dashboard; the hot path uses {@link query}. */
  onTimeSinceNs(t: number): number {
    const io = this.single;
    io[0] = t;
    this.onTimeInto(io, 0, 1);
    return io[1];
  }

  /** Pulse onsets at or after `t`. For tests and the dashboard; the hot path uses {@link query}. */
  pulsesSince(t: number): number {
    const io = this.single;
    io[0] = t;
    this.pulsesInto(io, 0, 1);
    return io[1];
  }

  /**
   * What the governor needs per trigger, in one call: reads io[0] (pulsesFrom), io[1] (onFromA),
   * io[2] (onFromB) and writes io[3] = pulse onsets at or after pulsesFrom, io[4] / io[5] = light-on
   * time (ns) at or after onFromA / onFromB. Times travel in a typed array, not as arguments or
   * return values, because V8 boxes a double passed to or returned from a call it did not inline:
   * an allocation per trigger.
   */
  query(io: Float64Array): void {
    this.pulsesInto(io, 0, 3);
    this.onTimeInto(io, 1, 4);
    this.onTimeInto(io, 2, 5);
  }

  private onTimeInto(io: Float64Array, from: number, to: number): void {
    const t = io[from];
    io[to] = 0;
    if (this.size === 0) return;
    const j = this.firstStartAtOrAfter(io, from);
    if (j < this.size) {
      const first = this.at(j);
      io[to] = this.cumOnNs[this.at(this.size - 1)] - (this.cumOnNs[first] - this.count[first] * this.width[first]);
    }
    if (j > 0) {
      // The train that started before t may still have light after it; earlier trains ended before it started.
      const i = this.at(j - 1);
      if (this.end[i] > t) {
        const w = this.width[i];
        const p = this.interval[i];
        const n = this.count[i];
        const k0 = Math.max(0, Math.floor((t - this.start[i] - w) / p) + 1);
        if (k0 < n) io[to] += Math.min(w, this.start[i] + k0 * p + w - t) + (n - k0 - 1) * w;
      }
    }
  }

  private pulsesInto(io: Float64Array, from: number, to: number): void {
    const t = io[from];
    io[to] = 0;
    if (this.size === 0) return;
    const j = this.firstStartAtOrAfter(io, from);
    if (j < this.size) {
      const first = this.at(j);
      io[to] = this.cumPulses[this.at(this.size - 1)] - (this.cumPulses[first] - this.count[first]);
    }
    if (j > 0) {
      const i = this.at(j - 1);
      const n = this.count[i];
      if (n > 1) {
        const kFirst = Math.max(0, Math.ceil((t - this.start[i]) / this.interval[i]));
        if (kFirst < n) io[to] += n - kFirst;
      }
    }
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
