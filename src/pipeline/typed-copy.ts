/**
 * Copies the first `count` elements of `source` into `target` at `offset`. When the source holds
 * exactly `count` elements (the case for every block a pipeline stage emits), this allocates
 * nothing; otherwise it needs a subarray view (a small allocation) to trim it.
 */
export function copyPrefix<T extends Float32Array | Int16Array | Int32Array | Float64Array>(
  target: T,
  source: T,
  count: number,
  offset = 0,
): void {
  if (source.length === count) (target as Float32Array).set(source as unknown as Float32Array, offset);
  else (target as Float32Array).set((source as unknown as Float32Array).subarray(0, count), offset);
}
