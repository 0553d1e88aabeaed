import { interpolateCubic } from './resample.js';

/** C4's waveform input: 90 samples at 30 kHz, 1 ms before the peak and 2 ms after, peak at index 30. */
export const C4_WAVEFORM_SAMPLES = 90;
export const C4_WAVEFORM_RATE_HZ = 30000;
export const C4_WAVEFORM_PEAK_INDEX = 30;
/** A peak counts once |v| exceeds this fraction of the waveform's largest |v|. */
export const C4_PEAK_FRACTION = 0.75;

/**
 * The index of the waveform's first peak: the first sample whose |v| exceeds 0.75 · max|v|, then
 * followed while |v| keeps growing with the same sign (the local extremum of that deflection).
 * Returns −1 for an all-zero waveform.
 */
export function firstPeakIndex(waveform: ArrayLike<number>): number {
  let maxAbs = 0;
  for (let i = 0; i < waveform.length; i++) maxAbs = Math.max(maxAbs, Math.abs(waveform[i]));
  if (!(maxAbs > 0)) return -1;
  const threshold = C4_PEAK_FRACTION * maxAbs;
  let i = 0;
  while (i < waveform.length && !(Math.abs(waveform[i]) > threshold)) i++;
  const sign = Math.sign(waveform[i]);
  while (i + 1 < waveform.length && Math.sign(waveform[i + 1]) === sign && Math.abs(waveform[i + 1]) > Math.abs(waveform[i])) i++;
  return i;
}

function median(values: Float32Array | Float64Array, count: number, scratch: Float64Array): number {
  for (let i = 0; i < count; i++) scratch[i] = values[i];
  const view = scratch.subarray(0, count).sort();
  return count % 2 ? view[(count - 1) >> 1] : 0.5 * (view[count / 2 - 1] + view[count / 2]);
}

/**
 * C4's waveform preprocessing of a mean peak-channel waveform (science.md §1): resampled to 30 kHz
 * (cubic interpolation, when the waveform's rate differs) on a grid that puts the first peak with
 * |v| > 0.75·max at index 30, 1 ms before it and 2 ms after (samples beyond the waveform's ends take
 * the end value); flipped so that peak is negative; the baseline (median of the first 30 samples)
 * subtracted; scaled so the peak is −1. Writes 90 values into `out` and returns it.
 *
 * The peak is searched over the whole waveform, not at `waveformPeakIndex`: the rule is C4's, and a
 * library's peak index may point at the trough of a waveform whose first large deflection is positive.
 */
export function c4Waveform(waveformUv: ArrayLike<number>, sampleRateHz: number, out: Float32Array<ArrayBufferLike> = new Float32Array(C4_WAVEFORM_SAMPLES)): Float32Array<ArrayBufferLike> {
  if (out.length < C4_WAVEFORM_SAMPLES) throw new RangeError(`c4Waveform: expected an output of ≥ ${C4_WAVEFORM_SAMPLES} values, got ${out.length}`);
  const peak = firstPeakIndex(waveformUv);
  if (peak < 0) {
    out.fill(0, 0, C4_WAVEFORM_SAMPLES);
    return out;
  }
  const sign = waveformUv[peak] > 0 ? -1 : 1;
  const step = sampleRateHz / C4_WAVEFORM_RATE_HZ; // input samples per output sample
  for (let j = 0; j < C4_WAVEFORM_SAMPLES; j++) out[j] = sign * interpolateCubic(waveformUv, peak + (j - C4_WAVEFORM_PEAK_INDEX) * step);
  const baseline = median(out, C4_WAVEFORM_PEAK_INDEX, new Float64Array(C4_WAVEFORM_PEAK_INDEX));
  let depth = out[C4_WAVEFORM_PEAK_INDEX] - baseline;
  if (!(depth < 0)) {
    // A waveform whose baseline lies below its own peak (it cannot happen for a real spike, whose
    // peak is its largest deflection): scale by the largest deviation instead, keeping the shape.
    depth = 0;
    for (let j = 0; j < C4_WAVEFORM_SAMPLES; j++) depth = Math.max(depth, Math.abs(out[j] - baseline));
    depth = -(depth || 1);
  }
  const scale = -1 / depth;
  for (let j = 0; j < C4_WAVEFORM_SAMPLES; j++) out[j] = (out[j] - baseline) * scale;
  return out;
}
