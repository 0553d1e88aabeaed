/**
 * Cubic (Catmull-Rom) interpolation of a uniformly sampled signal at fractional sample positions:
 * smooth enough to move a spike waveform between 20, 25, 30 and 40 kHz without the corners that
 * linear interpolation puts into troughs, and exact at integer positions (so a waveform already at
 * the target rate passes through unchanged). Positions outside the signal take the nearest end
 * sample (edge hold).
 */
export function interpolateCubic(signal: ArrayLike<number>, position: number): number {
  const n = signal.length;
  if (n === 0) return 0;
  if (!(position > 0)) return signal[0];
  if (position >= n - 1) return signal[n - 1];
  const i = Math.floor(position);
  const f = position - i;
  const p0 = signal[i > 0 ? i - 1 : 0];
  const p1 = signal[i];
  const p2 = signal[i + 1];
  const p3 = signal[i + 2 < n ? i + 2 : n - 1];
  if (f === 0) return p1;
  const f2 = f * f;
  const f3 = f2 * f;
  return 0.5 * (2 * p1 + (-p0 + p2) * f + (2 * p0 - 5 * p1 + 4 * p2 - p3) * f2 + (-p0 + 3 * p1 - 3 * p2 + p3) * f3);
}
