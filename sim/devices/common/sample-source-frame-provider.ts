import type { Subscription } from 'rxjs';
import { OptoloopError } from '../../../src/core/errors.js';
import type { SampleBlock } from '../../../src/core/sample-block.js';
import type { SampleSource } from '../../../src/core/sample-source.js';
import type { FrameProvider } from './frame-provider.js';

export interface SampleSourceFrameProviderOptions {
  /** The emulated device's µV per count: one value for all channels, or one per channel. */
  readonly uvPerCount: number | Float32Array;
  /** Frames buffered between the source and the device; the oldest are dropped (and counted) beyond it. */
  readonly capacityFrames?: number;
}

/**
 * Feeds an emulated device from any SampleSource (the simulator, a file replay): each block is
 * rescaled to the device's counts (rounded, clamped to int16) and queued in a ring that the
 * emulator drains at its own pace. The source must be open (its channel count is read from `info`);
 * call `attach()` before starting it.
 */
export class SampleSourceFrameProvider implements FrameProvider {
  readonly channelCount: number;
  /** Frames dropped because the device drained slower than the source produced. */
  overflowFrames = 0;
  private readonly ring: Int16Array;
  private readonly capacityFrames: number;
  private readonly scale: Float32Array;
  private readonly factor: Float64Array;
  private head = 0;
  private size = 0;
  private subscription: Subscription | null = null;

  constructor(
    private readonly source: SampleSource,
    options: SampleSourceFrameProviderOptions,
  ) {
    const info = source.info;
    if (!info) throw new OptoloopError('E_SOURCE_STATE', 'SampleSourceFrameProvider: open the source first (its channel count is needed)', { stage: 'sim/devices' });
    this.channelCount = info.channelCount;
    this.capacityFrames = options.capacityFrames ?? 262_144;
    this.ring = new Int16Array(this.capacityFrames * this.channelCount);
    this.scale = new Float32Array(this.channelCount);
    this.factor = new Float64Array(this.channelCount);
    for (let c = 0; c < this.channelCount; c++) {
      const uv = typeof options.uvPerCount === 'number' ? options.uvPerCount : options.uvPerCount[c];
      if (!(uv > 0)) throw new OptoloopError('E_OPTIONS_INVALID', `SampleSourceFrameProvider: uvPerCount[${c}] must be positive, got ${uv}`, { stage: 'sim/devices' });
      this.scale[c] = 1 / uv;
    }
  }

  attach(): void {
    this.subscription ??= this.source.blocks$.subscribe((block) => this.push(block));
  }

  detach(): void {
    this.subscription?.unsubscribe();
    this.subscription = null;
  }

  get bufferedFrames(): number {
    return this.size;
  }

  private push(block: SampleBlock): void {
    const n = this.channelCount;
    if (block.channelCount !== n) {
      throw new OptoloopError('E_BLOCK_MISMATCH', `SampleSourceFrameProvider: block has ${block.channelCount} channels, expected ${n}`, { stage: 'sim/devices' });
    }
    // Per block, not per sample: the factor from the block's scale to the device's counts.
    const factor = this.factor;
    let identity = block.format === 'int16';
    for (let c = 0; c < n; c++) {
      factor[c] = block.format === 'int16' ? block.uvPerCount[c] * this.scale[c] : this.scale[c];
      // |count| ≤ 32768, so a factor within 1e-6 of 1 rounds every count to itself.
      if (Math.abs(factor[c] - 1) > 1e-6) identity = false;
    }
    for (let f = 0; f < block.frameCount; f++) {
      if (this.size === this.capacityFrames) {
        this.head = (this.head + 1) % this.capacityFrames;
        this.size--;
        this.overflowFrames++;
      }
      const slot = ((this.head + this.size) % this.capacityFrames) * n;
      const row = f * n;
      if (identity) {
        this.ring.set((block.samples as Int16Array).subarray(row, row + n), slot);
      } else {
        for (let c = 0; c < n; c++) {
          const counts = Math.round(block.samples[row + c] * factor[c]);
          this.ring[slot + c] = counts > 32767 ? 32767 : counts < -32768 ? -32768 : counts;
        }
      }
      this.size++;
    }
  }

  read(target: Int16Array, maxFrames: number): number {
    const n = this.channelCount;
    const frames = Math.min(maxFrames, this.size);
    for (let f = 0; f < frames; f++) {
      const slot = ((this.head + f) % this.capacityFrames) * n;
      target.set(this.ring.subarray(slot, slot + n), f * n);
    }
    this.head = (this.head + frames) % this.capacityFrames;
    this.size -= frames;
    return frames;
  }
}
