/**
 * Turns a device's own sample counter (Intan's u32 frame timestamp, SpikeGLX's sample count) into
 * the stream's `firstSampleIndex`, which never wraps and only jumps by frames known lost:
 *
 * - within a session, a forward jump of the counter is a gap of exactly that many frames (a u32
 *   counter is read modulo 2^32, so its wrap after 39.7 h at 30 kHz is no gap);
 * - after a deliberate stop/start the stream follows on without a gap (nothing was lost; the device
 *   counter may restart);
 * - after a reconnection the counter's jump is taken when it is plausible (forward, and no more than
 *   twice the outage measured on the host clock plus one second); otherwise the device restarted
 *   its counter, and the gap is estimated from the host clock. Either way the gap is reported, so
 *   the caller counts it as dropped frames.
 */
export interface DeviceCountTrackerOptions {
  readonly sampleRateHz: number;
  /** 32 for a u32 counter that wraps; 53 for a count that never wraps in practice. */
  readonly counterBits: 32 | 53;
}

type Segment = 'first' | 'continuous' | 'resume' | 'reconnect';

export class DeviceCountTracker {
  /** firstSampleIndex the next block gets when it follows on. */
  nextSampleIndex = 0;
  /** Frames lost before the block last placed (0 when it followed on). */
  lastGapFrames = 0;
  /** True when `lastGapFrames` came from the host clock rather than the device counter. */
  lastGapEstimated = false;
  private expectedCount = 0;
  private lastHostNs = 0;
  private segment: Segment = 'first';

  constructor(private readonly options: DeviceCountTrackerOptions) {}

  /** The device count expected for the next frame (meaningful after the first block). */
  get expectedDeviceCount(): number {
    return this.expectedCount;
  }

  /** The next block follows on without a gap (after a deliberate stop and start). */
  markResume(): void {
    // A reconnection still pending wins: its gap must be measured, not assumed away.
    if (this.segment === 'continuous') this.segment = 'resume';
  }

  /** The next block comes from a new session after the device was lost. */
  markReconnect(): void {
    if (this.segment !== 'first') this.segment = 'reconnect';
  }

  /** Places a block of `frames` frames whose first frame carries `deviceCount`; returns its firstSampleIndex. */
  place(deviceCount: number, frames: number, hostReceiveTimeNs: number): number {
    let gap = 0;
    let estimated = false;
    if (this.segment === 'continuous' || this.segment === 'reconnect') {
      const forward = this.options.counterBits === 32 ? (deviceCount - this.expectedCount) >>> 0 : deviceCount - this.expectedCount;
      const backwards = this.options.counterBits === 32 ? forward >= 2 ** 31 : forward < 0;
      if (this.segment === 'continuous' && !backwards) {
        gap = forward;
      } else {
        const hostGap = this.hostEstimate(frames, hostReceiveTimeNs);
        if (!backwards && forward <= 2 * hostGap + this.options.sampleRateHz) {
          gap = forward;
        } else {
          gap = hostGap;
          estimated = true;
        }
      }
    }
    const first = this.nextSampleIndex + gap;
    this.nextSampleIndex = first + frames;
    this.expectedCount = this.options.counterBits === 32 ? (deviceCount + frames) >>> 0 : deviceCount + frames;
    this.lastHostNs = hostReceiveTimeNs;
    this.lastGapFrames = gap;
    this.lastGapEstimated = estimated;
    this.segment = 'continuous';
    return first;
  }

  private hostEstimate(frames: number, hostNowNs: number): number {
    if (this.lastHostNs === 0) return 0;
    const elapsedFrames = ((hostNowNs - this.lastHostNs) / 1e9) * this.options.sampleRateHz;
    return Math.max(0, Math.round(elapsedFrames - frames));
  }
}
