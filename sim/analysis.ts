/**
 * Measurements on simulated (or real) data, used to check the simulator against published values:
 * a zero-phase Butterworth band-pass, mean waveforms at given spike times, trough-to-peak, ISI
 * statistics (CV, CV2), cross-correlograms. Offline tools, not hot paths.
 */

/** Second-order-section coefficients (b0, b1, b2, a1, a2), a0 = 1. */
type Biquad = readonly [number, number, number, number, number];

/** 2nd-order Butterworth high-pass / low-pass by the bilinear transform with pre-warping. */
function butter2(kind: 'high' | 'low', cornerHz: number, sampleRateHz: number): Biquad {
  const k = Math.tan((Math.PI * cornerHz) / sampleRateHz);
  const q = Math.SQRT1_2;
  const norm = 1 / (1 + k / q + k * k);
  const a1 = 2 * (k * k - 1) * norm;
  const a2 = (1 - k / q + k * k) * norm;
  if (kind === 'low') {
    const b0 = k * k * norm;
    return [b0, 2 * b0, b0, a1, a2];
  }
  return [norm, -2 * norm, norm, a1, a2];
}

function runBiquad(s: Biquad, x: Float64Array): void {
  let z1 = 0;
  let z2 = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const y = s[0] * v + z1;
    z1 = s[1] * v - s[3] * y + z2;
    z2 = s[2] * v - s[4] * y;
    x[i] = y;
  }
}

/**
 * Zero-phase band-pass: 2nd-order Butterworth high-pass and low-pass run forwards then backwards
 * (filtfilt), so the waveform's timing (trough-to-peak) is not shifted by the filter's phase.
 */
export function bandpassZeroPhase(signal: Float64Array, lowHz: number, highHz: number, sampleRateHz: number): Float64Array {
  const x = Float64Array.from(signal);
  const sections = [butter2('high', lowHz, sampleRateHz), butter2('low', highHz, sampleRateHz)];
  for (const s of sections) runBiquad(s, x);
  x.reverse();
  for (const s of sections) runBiquad(s, x);
  x.reverse();
  return x;
}

/** One channel of an interleaved int16 recording, in µV. */
export function channelUv(samples: Int16Array, channelCount: number, channel: number, uvPerCount: number): Float64Array {
  const frames = Math.floor(samples.length / channelCount);
  const out = new Float64Array(frames);
  for (let f = 0; f < frames; f++) out[f] = samples[f * channelCount + channel] * uvPerCount;
  return out;
}

/** Mean of `signal` around each spike sample, `before` samples before to `after` after. */
export function meanWaveform(signal: Float64Array, spikeSamples: ArrayLike<number>, before: number, after: number): Float64Array {
  const out = new Float64Array(before + after + 1);
  let n = 0;
  for (let i = 0; i < spikeSamples.length; i++) {
    const t = spikeSamples[i];
    if (t - before < 0 || t + after >= signal.length) continue;
    for (let k = -before; k <= after; k++) out[k + before] += signal[t + k];
    n++;
  }
  for (let k = 0; k < out.length; k++) out[k] /= Math.max(1, n);
  return out;
}

/** Trough-to-peak (ms): from the waveform's minimum to the maximum that follows it. */
export function troughToPeakMs(waveform: Float64Array, sampleRateHz: number): number {
  let trough = 0;
  for (let i = 1; i < waveform.length; i++) if (waveform[i] < waveform[trough]) trough = i;
  let peak = trough;
  for (let i = trough + 1; i < waveform.length; i++) if (waveform[i] > waveform[peak]) peak = i;
  return ((peak - trough) * 1000) / sampleRateHz;
}

export interface TrainStats {
  readonly rateHz: number;
  readonly cv: number;
  /** Mean of 2|I(n+1) − I(n)| / (I(n+1) + I(n)) (Holt et al. 1996). */
  readonly cv2: number;
  readonly minIsiMs: number;
  /** Fraction of ISIs shorter than `burstIsiMs`. */
  readonly burstFraction: number;
}

export function trainStats(spikeSamples: ArrayLike<number>, sampleRateHz: number, durationS: number, burstIsiMs = 4): TrainStats {
  const isi: number[] = [];
  for (let i = 1; i < spikeSamples.length; i++) isi.push(((spikeSamples[i] - spikeSamples[i - 1]) * 1000) / sampleRateHz);
  const mean = isi.reduce((s, x) => s + x, 0) / Math.max(1, isi.length);
  const sd = Math.sqrt(isi.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, isi.length - 1));
  let cv2 = 0;
  for (let i = 1; i < isi.length; i++) cv2 += (2 * Math.abs(isi[i] - isi[i - 1])) / (isi[i] + isi[i - 1]);
  return {
    rateHz: spikeSamples.length / durationS,
    cv: sd / mean,
    cv2: cv2 / Math.max(1, isi.length - 1),
    minIsiMs: isi.length ? Math.min(...isi) : Infinity,
    burstFraction: isi.filter((x) => x < burstIsiMs).length / Math.max(1, isi.length),
  };
}

/** Counts of `target` spikes at lags [0, maxLagMs) after each `trigger` spike, in bins of binMs. */
export function crossCorrelogram(trigger: ArrayLike<number>, target: ArrayLike<number>, sampleRateHz: number, maxLagMs: number, binMs: number): Float64Array {
  const bins = Math.ceil(maxLagMs / binMs);
  const out = new Float64Array(bins);
  const perBin = (binMs * sampleRateHz) / 1000;
  let j = 0;
  for (let i = 0; i < trigger.length; i++) {
    const t = trigger[i];
    while (j < target.length && target[j] < t) j++;
    for (let k = j; k < target.length; k++) {
      const b = Math.floor((target[k] - t) / perBin);
      if (b >= bins) break;
      out[b]++;
    }
  }
  return out;
}
