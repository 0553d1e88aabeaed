import type { MonotonicClock } from '../core/clock.js';
import type { SampleBlockBase } from '../core/sample-block.js';

const BUCKET_NS = 10e9;
const BUCKETS = 6;

/**
 * How far processing runs behind the stream, for sources that deliver at the stream's own pace.
 *
 * Blocks are processed synchronously as they arrive, so the backlog does not sit in a queue of
 * ours: it sits upstream (socket, pty, the device's FIFO, a paced source catching up). It shows as
 * lateness: for each block, `now − (anchor + stream time of its last frame)`, where the anchor is
 * the earliest observed arrival relative to stream time over the last minute (a sliding minimum,
 * so that a device clock a few ppm off the host's does not read as a growing backlog). Occupancy =
 * lateness / capacity, where capacity is how much upstream buffering the rig has before data is
 * lost: it rises before latency collapses and before blocks are dropped.
 */
export class IngressMonitor {
  private readonly bucketMin = new Float64Array(BUCKETS).fill(Infinity);
  private bucketIndex = -1;
  private lastLagMs = 0;
  private maxLagMs = 0;

  constructor(
    private readonly capacityMs: number,
    private readonly clock: MonotonicClock,
  ) {}

  /** Call when a block's processing begins. */
  observe(block: SampleBlockBase): void {
    const nowNs = this.clock.nowNs();
    const streamEndNs = ((block.firstSampleIndex + block.frameCount) / block.sampleRateHz) * 1e9;
    const offsetNs = block.hostReceiveTimeNs - streamEndNs;
    const bucket = Math.floor(block.hostReceiveTimeNs / BUCKET_NS);
    if (bucket !== this.bucketIndex) {
      // A new 10 s bucket: forget the oldest minimum (sliding minimum over the last minute).
      const steps = this.bucketIndex < 0 ? BUCKETS : Math.min(BUCKETS, bucket - this.bucketIndex);
      for (let i = 1; i <= steps; i++) this.bucketMin[(this.bucketIndex + i + BUCKETS) % BUCKETS] = Infinity;
      this.bucketIndex = bucket;
    }
    const slot = ((bucket % BUCKETS) + BUCKETS) % BUCKETS;
    if (offsetNs < this.bucketMin[slot]) this.bucketMin[slot] = offsetNs;
    let anchorNs = Infinity;
    for (let i = 0; i < BUCKETS; i++) if (this.bucketMin[i] < anchorNs) anchorNs = this.bucketMin[i];
    const lagMs = Math.max(0, (nowNs - streamEndNs - anchorNs) / 1e6);
    this.lastLagMs = lagMs;
    if (lagMs > this.maxLagMs) this.maxLagMs = lagMs;
  }

  get lagMs(): number {
    return this.lastLagMs;
  }

  /** The largest lateness since the last call, as a fraction of capacity (0…1, clipped). */
  takeOccupancy(): number {
    const occupancy = Math.min(1, this.maxLagMs / this.capacityMs);
    this.maxLagMs = this.lastLagMs;
    return occupancy;
  }
}
