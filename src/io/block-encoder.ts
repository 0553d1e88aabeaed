/**
 * Turns the blocks a writer is given into the int16 frames it stores, checking that each block
 * belongs to the stream the file was opened for.
 */
import { OptoloopError } from '../core/errors.js';
import type { SampleBlock } from '../core/sample-block.js';
import { IO_STAGE } from './file-errors.js';

export class BlockEncoder {
  /** Float32 samples that did not fit in int16 at the file's scale and were clipped. */
  clippedSamples = 0;
  private scratch: Int16Array;
  private readonly countsPerUv: Float64Array;

  constructor(
    private readonly file: string,
    readonly channelCount: number,
    readonly sampleRateHz: number,
    /** The file's scale, µV per count per channel (float32, like every block's). */
    readonly uvPerCount: Float32Array,
  ) {
    this.scratch = new Int16Array(0);
    this.countsPerUv = Float64Array.from(uvPerCount, (u) => 1 / u);
  }

  /**
   * The block's frames as int16 at the file's scale: an int16 block's own samples (no copy) or a
   * reused conversion buffer for a float32 block (valid until the next call).
   */
  encode(block: SampleBlock): Int16Array {
    const n = this.channelCount;
    if (block.channelCount !== n) {
      throw this.mismatch(`channelCount: expected ${n} (the file's), got ${block.channelCount}`);
    }
    if (block.sampleRateHz !== this.sampleRateHz) {
      throw this.mismatch(`sampleRateHz: expected ${this.sampleRateHz} (the file's), got ${block.sampleRateHz}`);
    }
    const used = block.frameCount * n;
    if (block.format === 'int16') {
      const scale = block.uvPerCount;
      for (let c = 0; c < n; c++) {
        if (scale[c] !== this.uvPerCount[c]) {
          throw this.mismatch(`uvPerCount[${c}]: expected ${this.uvPerCount[c]} (the file's scale), got ${scale[c]}`);
        }
      }
      return block.samples.length === used ? block.samples : block.samples.subarray(0, used);
    }
    if (this.scratch.length < used) this.scratch = new Int16Array(used);
    const out = this.scratch;
    const src = block.samples;
    const k = this.countsPerUv;
    let clipped = 0;
    for (let i = 0, c = 0; i < used; i++) {
      let v = Math.round(src[i] * k[c]);
      if (v > 32767) {
        v = 32767;
        clipped++;
      } else if (v < -32768) {
        v = -32768;
        clipped++;
      } else if (v !== v) {
        v = 0;
        clipped++;
      }
      out[i] = v;
      if (++c === n) c = 0;
    }
    this.clippedSamples += clipped;
    return out.subarray(0, used);
  }

  private mismatch(what: string): OptoloopError {
    return new OptoloopError('E_BLOCK_MISMATCH', `${this.file}: block does not fit the file: ${what}`, {
      stage: IO_STAGE,
      details: { file: this.file },
    });
  }
}

/** A per-channel scale from a number (every channel) or a list; validated as finite and positive. */
export function scaleArray(uvPerCount: number | ArrayLike<number>, channelCount: number, what: string): Float32Array {
  const out = new Float32Array(channelCount);
  if (typeof uvPerCount === 'number') out.fill(uvPerCount);
  else {
    if (uvPerCount.length !== channelCount) {
      throw new OptoloopError('E_OPTIONS_INVALID', `${what}: uvPerCount: expected ${channelCount} values (one per channel), got ${uvPerCount.length}`, { stage: IO_STAGE });
    }
    for (let c = 0; c < channelCount; c++) out[c] = uvPerCount[c];
  }
  for (let c = 0; c < channelCount; c++) {
    if (!(out[c] > 0) || !Number.isFinite(out[c])) {
      throw new OptoloopError('E_OPTIONS_INVALID', `${what}: uvPerCount[${c}]: expected a positive number, got ${out[c]}`, { stage: IO_STAGE });
    }
  }
  return out;
}
