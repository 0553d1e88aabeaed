/**
 * Scalar shape measures of a mean waveform, as CellExplorer defines them (science.md §1).
 */

/** Vertex offset (−0.5 … 0.5 samples) of the parabola through three samples around an extremum. */
function parabolicOffset(a: number, b: number, c: number): number {
  const denominator = a - 2 * b + c;
  if (denominator === 0) return 0;
  const offset = (0.5 * (a - c)) / denominator;
  return offset > 0.5 ? 0.5 : offset < -0.5 ? -0.5 : offset;
}

/**
 * Trough-to-peak (ms): from the trough (the minimum, searched within `searchMs` of `troughHint`
 * when given, else over the whole waveform) to the largest value after it, both refined to a
 * fraction of a sample by parabolic interpolation. Null when nothing follows the trough or the
 * waveform is flat.
 */
export function troughToPeakMs(waveformUv: ArrayLike<number>, sampleRateHz: number, troughHint: number | null = null, searchMs = 0.5): number | null {
  const n = waveformUv.length;
  if (n < 3) return null;
  let from = 0;
  let to = n - 1;
  if (troughHint !== null) {
    const reach = Math.max(1, Math.round((searchMs * sampleRateHz) / 1000));
    from = Math.max(0, troughHint - reach);
    to = Math.min(n - 1, troughHint + reach);
  }
  let trough = from;
  for (let i = from + 1; i <= to; i++) if (waveformUv[i] < waveformUv[trough]) trough = i;
  if (trough >= n - 1) return null;
  let peak = trough + 1;
  for (let i = trough + 2; i < n; i++) if (waveformUv[i] > waveformUv[peak]) peak = i;
  if (!(waveformUv[peak] > waveformUv[trough])) return null;
  const troughAt = trough > 0 ? trough + parabolicOffset(waveformUv[trough - 1], waveformUv[trough], waveformUv[trough + 1]) : trough;
  const peakAt = peak < n - 1 ? peak + parabolicOffset(waveformUv[peak - 1], waveformUv[peak], waveformUv[peak + 1]) : peak;
  return ((peakAt - troughAt) * 1000) / sampleRateHz;
}
