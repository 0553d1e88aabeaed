import { ManualClock } from '../../src/core/clock.js';
import { cloneBlock, type Int16SampleBlock, type SampleBlock } from '../../src/core/sample-block.js';
import { FileReplaySource, type FileReplayOptions } from '../../src/io/file-replay-source.js';
import type { RecordingReader } from '../../src/io/recording-reader.js';

export interface ReplayResult {
  readonly blocks: Int16SampleBlock[];
  /** Every frame of every block, concatenated (frame-major). */
  readonly samples: Int16Array;
  readonly source: FileReplaySource;
}

/**
 * Replays a reader as fast as possible (no clock) and collects owned copies of every block, in
 * order, until blocks$ completes. Rejects with the source's error.
 */
export async function replayAll(reader: RecordingReader, blockFrames: number, options: FileReplayOptions = {}): Promise<ReplayResult> {
  const source = new FileReplaySource(reader, { blockFrames, realTime: false, clock: new ManualClock(), ...options });
  const info = await source.open();
  const blocks: Int16SampleBlock[] = [];
  const done = new Promise<void>((resolve, reject) => {
    source.blocks$.subscribe({
      next: (block: SampleBlock) => blocks.push(cloneBlock(block) as Int16SampleBlock),
      error: reject,
      complete: resolve,
    });
  });
  await source.start();
  await done;
  const total = blocks.reduce((n, b) => n + b.frameCount, 0);
  const samples = new Int16Array(total * info.channelCount);
  let at = 0;
  for (const b of blocks) {
    samples.set(b.samples.subarray(0, b.frameCount * b.channelCount), at);
    at += b.frameCount * b.channelCount;
  }
  await source.close();
  return { blocks, samples, source };
}

/** Asserts-friendly comparison: index of the first difference, or -1. */
export function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
