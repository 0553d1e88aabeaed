import { Subject, type OperatorFunction } from 'rxjs';
import type { Float32SampleBlock } from '../../src/core/sample-block.js';
import { SeededRandom } from '../../src/core/random.js';

/** A float32 µV block over `samples` (frame-major), owned by the caller. */
export function floatBlock(samples: Float32Array, channelCount: number, firstSampleIndex = 0, sampleRateHz = 30000): Float32SampleBlock {
  return {
    format: 'float32',
    streamId: 'test',
    firstSampleIndex,
    sampleRateHz,
    channelCount,
    frameCount: samples.length / channelCount,
    samples,
    deviceTimestamp: null,
    hostReceiveTimeNs: firstSampleIndex * 1e9 / sampleRateHz,
  };
}

/** Cuts a frame-major signal into consecutive blocks of the given sizes (cycled until the end). */
export function cutBlocks(samples: Float32Array, channelCount: number, sizes: readonly number[], sampleRateHz = 30000): Float32SampleBlock[] {
  const frames = samples.length / channelCount;
  const blocks: Float32SampleBlock[] = [];
  for (let f = 0, i = 0; f < frames; i++) {
    const n = Math.min(frames - f, sizes[i % sizes.length]);
    blocks.push(floatBlock(samples.slice(f * channelCount, (f + n) * channelCount), channelCount, f, sampleRateHz));
    f += n;
  }
  return blocks;
}

/** Random block sizes in 1 … max, seeded. */
export function randomSizes(seed: number, count: number, max = 257): number[] {
  const r = new SeededRandom(seed);
  return Array.from({ length: count }, () => 1 + r.int(max));
}

/**
 * Pushes blocks through an operator synchronously and hands each (borrowed) output to `take`
 * during its next() call. Rethrows the operator's error.
 */
export function pump<I, O>(op: OperatorFunction<I, O>, inputs: readonly I[], take: (output: O) => void): void {
  const subject = new Subject<I>();
  let failure: unknown = null;
  let done = false;
  subject.pipe(op).subscribe({
    next: (output) => {
      // A failing assertion inside next() would otherwise surface later as an unhandled error.
      try {
        take(output);
      } catch (error) {
        failure ??= error;
      }
    },
    error: (e) => (failure ??= e),
    complete: () => (done = true),
  });
  for (const input of inputs) {
    subject.next(input);
    if (failure) throw failure;
  }
  subject.complete();
  if (failure) throw failure;
  if (!done) throw new Error('pump: the operator did not complete');
}

/** Concatenates the samples of the blocks an operator emits (copied, since they are borrowed). */
export function collectSamples(op: OperatorFunction<Float32SampleBlock, Float32SampleBlock>, inputs: readonly Float32SampleBlock[]): Float32Array {
  const total = inputs.reduce((n, b) => n + b.frameCount * b.channelCount, 0);
  const out = new Float32Array(total);
  let at = 0;
  pump(op, inputs, (b) => {
    out.set(b.samples.subarray(0, b.frameCount * b.channelCount), at);
    at += b.frameCount * b.channelCount;
  });
  return out;
}

/** Whether two float32 arrays hold the same bits (NaN-safe, −0 ≠ +0). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
