import { SeededRandom } from '../../src/core/random.js';

/** Uniform numbers in [0, 1) for reproducible test data: the project's generator behind a function. */
export function seededRandom(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.next();
}

/** Int16 samples spanning the whole range, including both extremes. */
export function randomInt16(count: number, seed: number): Int16Array {
  const next = seededRandom(seed);
  const out = new Int16Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.floor(next() * 65536) - 32768;
  if (count > 1) {
    out[0] = -32768;
    out[1] = 32767;
  }
  return out;
}
