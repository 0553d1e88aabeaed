import type { SampleBlock } from '../../src/core/sample-block.js';
import type { SampleSource } from '../../src/core/sample-source.js';
import { seededSample } from '../../sim/devices/common/seeded-frame-generator.js';

/**
 * For the long-run driver tests: holds a source's blocks to the emulator's seeded samples
 * (sim/devices/common/seeded-frame-generator.ts) and to indices that follow on, block by block,
 * counting mismatches (the first one described) until `targetFrames` have arrived.
 */
export class SeededStreamCheck {
  frames = 0;
  mismatches = 0;
  firstMismatch = '';
  /** firstSampleIndex the next block must have. */
  nextIndex = 0;
  readonly finished: Promise<void>;
  private resolveFinished: () => void = () => {};

  constructor(
    private readonly seed: number,
    private readonly channels: number,
    private readonly targetFrames: number,
  ) {
    this.finished = new Promise<void>((resolve) => (this.resolveFinished = resolve));
  }

  mismatch(description: string): void {
    this.mismatches++;
    this.firstMismatch ||= description;
  }

  /** Every sample of `block` against the generator's, its first frame being the generator's frame `firstFrame`; then counts the block. */
  samples(block: SampleBlock, firstFrame: number): void {
    const s = block.samples as Int16Array;
    const C = this.channels;
    for (let f = 0; f < block.frameCount; f++) {
      for (let c = 0; c < C; c++) {
        const expected = seededSample(this.seed, firstFrame + f, c);
        if (s[f * C + c] !== expected) this.mismatch(`frame ${firstFrame + f} channel ${c}: ${s[f * C + c]} vs ${expected}`);
      }
    }
    this.nextIndex = block.firstSampleIndex + block.frameCount;
    this.frames += block.frameCount;
    if (this.frames >= this.targetFrames) this.resolveFinished();
  }
}

/** Opens and starts `source`, waits for `finished`, closes it; returns the wall-clock seconds taken. */
export async function streamUntil(source: SampleSource, finished: Promise<void>): Promise<number> {
  const started = performance.now();
  await source.open();
  await source.start();
  await finished;
  const wallS = (performance.now() - started) / 1000;
  await source.close();
  return wallS;
}
