/** A small seeded generator (mulberry32) for reproducible test data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
