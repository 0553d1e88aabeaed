import type { FrameProvider } from '../common/frame-provider.js';
import { RHX_EMULATED_BANDS, type RhxWord } from './rhx-channel-table.js';

export const RHX_MAGIC = 0x2ef07a08;
export const RHX_BLOCK_FRAMES = 128;

/**
 * Builds RHX waveform data blocks (protocols §1.3) from a frame provider: magic, then 128 frames of
 * u32 timestamp + u16 words, little-endian, amplifier words as count + 32768.
 *
 * The provider gives each amplifier channel's wideband signal. The other bands are derived the
 * same way for every frame whether enabled or not (so enabling one does not change another):
 * LOW = a first-order integer low-pass of WIDE, y += (x − y) >> 4, and HIGH = WIDE − LOW
 * (clamped), so a test can check LOW + HIGH = WIDE for each channel.
 */
export class RhxBlockEncoder {
  /** Frames taken from the provider so far. */
  providerFrames = 0;
  private readonly staging: Int16Array;
  private staged = 0;
  private readonly lowState: Int32Array;
  private readonly lowBand: Int16Array;
  private readonly highBand: Int16Array;

  constructor(
    private readonly provider: FrameProvider,
    private readonly amplifierCount: number,
  ) {
    if (provider.channelCount !== amplifierCount) {
      throw new RangeError(`RhxBlockEncoder: the frame provider has ${provider.channelCount} channels, the controller ${amplifierCount} amplifier channels`);
    }
    this.staging = new Int16Array(RHX_BLOCK_FRAMES * amplifierCount);
    this.lowState = new Int32Array(amplifierCount);
    this.lowBand = new Int16Array(RHX_BLOCK_FRAMES * amplifierCount);
    this.highBand = new Int16Array(RHX_BLOCK_FRAMES * amplifierCount);
  }

  /** Provider frame that the next block will start with. */
  get nextFrame(): number {
    return this.providerFrames - this.staged;
  }

  /** Pulls frames until one block's worth is staged; false while the provider has too few. */
  fill(): boolean {
    while (this.staged < RHX_BLOCK_FRAMES) {
      const want = RHX_BLOCK_FRAMES - this.staged;
      const got = this.provider.read(this.staging.subarray(this.staged * this.amplifierCount), want);
      this.providerFrames += got;
      this.staged += got;
      if (got < want) return this.staged === RHX_BLOCK_FRAMES;
    }
    return true;
  }

  /** Takes the staged block (call after `fill()` returned true); encodes it unless `out` is null. */
  take(firstTimestamp: number, words: readonly RhxWord[], out: Uint8Array | null, offset: number): void {
    const n = this.amplifierCount;
    const wide = this.staging;
    for (let f = 0; f < RHX_BLOCK_FRAMES; f++) {
      for (let a = 0; a < n; a++) {
        const i = f * n + a;
        const x = wide[i];
        let y = this.lowState[a];
        y += (x - y) >> 4;
        this.lowState[a] = y;
        this.lowBand[i] = y;
        const h = x - y;
        this.highBand[i] = h > 32767 ? 32767 : h < -32768 ? -32768 : h;
      }
    }
    this.staged = 0;
    if (!out) return;
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    let at = offset;
    view.setUint32(at, RHX_MAGIC, true);
    at += 4;
    const bands = [wide, this.lowBand, this.highBand];
    const bandIndex = words.map((w) => RHX_EMULATED_BANDS.indexOf(w.band));
    for (let f = 0; f < RHX_BLOCK_FRAMES; f++) {
      view.setUint32(at, (firstTimestamp + f) >>> 0, true);
      at += 4;
      for (let w = 0; w < words.length; w++) {
        view.setUint16(at, bands[bandIndex[w]][f * n + words[w].amplifier] + 32768, true);
        at += 2;
      }
    }
  }

  static blockBytes(wordCount: number): number {
    return 4 + RHX_BLOCK_FRAMES * (4 + 2 * wordCount);
  }
}
