/**
 * The running simulation's samples for a served device, live: a SampleSourceFrameProvider (which
 * rescales the simulation's blocks to the device's counts) that also knows which simulation sample
 * each frame it hands out is, and throws away what the device does not take while it is not
 * acquiring (an RHX between runs), so that a run starts with the newest samples, not a backlog.
 *
 * `sampleOf(n)` answers for the n-th frame handed out (0-based): that is how a served device's own
 * counter (an RHX timestamp, a SpikeGLX sample count) is tied to the simulation's ground truth.
 */
import type { Subscription } from 'rxjs';
import type { SampleSource } from '../../../src/core/sample-source.js';
import type { FrameProvider } from '../common/frame-provider.js';
import { SampleSourceFrameProvider } from '../common/sample-source-frame-provider.js';

export interface LiveSimFramesOptions {
  /** The device's µV per count. */
  readonly uvPerCount: number | Float32Array;
  /** False while the device is not taking frames: they are discarded as they come. */
  readonly consuming?: () => boolean;
  readonly capacityFrames?: number;
}

interface Segment {
  /** Ordinal of the first frame handed out in this stretch. */
  readonly frame: number;
  /** Its simulation sample index. */
  readonly sample: number;
}

export class LiveSimFrames implements FrameProvider {
  readonly channelCount: number;
  /** Frames handed out so far. */
  framesRead = 0;
  /** Frames thrown away while the device was not consuming. */
  framesDiscarded = 0;
  private readonly inner: SampleSourceFrameProvider;
  private readonly consuming: () => boolean;
  private readonly scratch: Int16Array;
  private readonly segments: Segment[] = [];
  private endSample = 0;
  private subscription: Subscription | null = null;

  constructor(
    private readonly source: SampleSource,
    options: LiveSimFramesOptions,
  ) {
    this.inner = new SampleSourceFrameProvider(source, { uvPerCount: options.uvPerCount, capacityFrames: options.capacityFrames });
    this.channelCount = this.inner.channelCount;
    this.consuming = options.consuming ?? (() => true);
    this.scratch = new Int16Array(1024 * this.channelCount);
  }

  /** Frames the ring dropped because the device fell behind by its whole capacity. */
  get overflowFrames(): number {
    return this.inner.overflowFrames;
  }

  /** Subscribe before the source starts, so that nothing is missed. */
  attach(): void {
    if (this.subscription) return;
    this.inner.attach(); // first: its ring holds a block before our bookkeeping sees it
    this.subscription = this.source.blocks$.subscribe((block) => {
      this.endSample = block.firstSampleIndex + block.frameCount;
      if (!this.consuming()) this.discard();
      this.noteHead();
    });
  }

  detach(): void {
    this.subscription?.unsubscribe();
    this.subscription = null;
    this.inner.detach();
  }

  read(target: Int16Array, maxFrames: number): number {
    const n = this.inner.read(target, maxFrames);
    this.framesRead += n;
    return n;
  }

  /** Simulation sample index of the `frame`-th frame handed out (−1 before any block arrived). */
  sampleOf(frame: number): number {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const s = this.segments[i];
      if (s.frame <= frame) return s.sample + (frame - s.frame);
    }
    return -1;
  }

  private discard(): void {
    while (this.inner.bufferedFrames > 0) this.framesDiscarded += this.inner.read(this.scratch, 1024);
  }

  /** Starts a new stretch when the next frame to hand out does not follow on from the last one. */
  private noteHead(): void {
    const head = this.endSample - this.inner.bufferedFrames;
    if (this.sampleOf(this.framesRead) === head) return;
    const last = this.segments[this.segments.length - 1];
    if (last && last.frame === this.framesRead) this.segments.pop();
    this.segments.push({ frame: this.framesRead, sample: head });
    if (this.segments.length > 1024) this.segments.splice(0, this.segments.length - 1024);
  }
}
