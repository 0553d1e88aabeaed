/**
 * The BCI output: unit rates binned on the stream clock, through a decoder, emitted once per bin.
 * The daemon feeds it every spike batch and calls `advance` once per block; each closed bin calls
 * `onOutput` synchronously with the decoded values (a reused array: copy it to keep it) and the
 * source receive time of the block that closed it, for latency accounting.
 */
import type { SpikeBatch } from '../../core/spikes.js';
import type { DecoderFile } from './decoder-format.js';
import { createDecoder, type OnlineDecoder } from './decoders.js';
import { RateBinner } from './rate-binner.js';

export interface BciOutputSample {
  /** Bin index on the stream clock (bin b covers samples [b·w, (b+1)·w)). */
  readonly bin: number;
  readonly binEndSampleIndex: number;
  /** Decoded values, in the decoder's output order (borrowed). */
  readonly values: Float64Array;
  readonly sourceReceiveTimeNs: number;
}

type MutableSample = { -readonly [K in keyof BciOutputSample]: BciOutputSample[K] };

export class BciOutput {
  readonly outputs: readonly string[];
  private readonly binner: RateBinner;
  private readonly decoder: OnlineDecoder;
  private readonly values: Float64Array;
  private readonly sample: MutableSample;

  constructor(
    decoder: DecoderFile,
    private readonly onOutput: (sample: BciOutputSample) => void,
    closeDelayMs = 1,
  ) {
    this.outputs = decoder.outputs;
    this.binner = new RateBinner(decoder.unitIds, decoder.binMs, closeDelayMs);
    this.decoder = createDecoder(decoder);
    this.values = new Float64Array(decoder.outputs.length);
    // Numeric fields start as doubles so that rewriting them never allocates.
    this.sample = { bin: 0, binEndSampleIndex: NaN, values: this.values, sourceReceiveTimeNs: NaN };
  }

  get lateSpikes(): number {
    return this.binner.lateSpikes;
  }

  onSpikes(batch: SpikeBatch): void {
    for (let k = 0; k < batch.count; k++) this.binner.add(batch.unitId, batch.peakSampleIndex, k, batch.sampleRateHz);
  }

  /** The stream reached `sampleIndex` (one past the block's last sample): emit every bin now due. */
  advance(sampleIndex: number, sampleRateHz: number, sourceReceiveTimeNs: number): void {
    this.binner.now[0] = sampleIndex;
    for (;;) {
      const bin = this.binner.close(sampleRateHz);
      if (bin < 0) return;
      this.decoder.step(this.binner.ratesHz, this.values);
      this.sample.bin = bin;
      this.sample.binEndSampleIndex = ((bin + 1) * this.binner.binMs * sampleRateHz) / 1000;
      this.sample.sourceReceiveTimeNs = sourceReceiveTimeNs;
      this.onOutput(this.sample);
    }
  }
}
