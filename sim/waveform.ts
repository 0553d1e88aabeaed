/**
 * Synthesises a unit's extracellular spike waveform from its type's shape parameters: an
 * asymmetric Gaussian trough (fast fall, slower rise), a repolarisation peak at the trough-to-peak
 * delay, an optional positive phase before the trough (axonal, triphasic spikes), and for complex
 * spikes a train of decaying spikelets over a slow positive wave. Normalised so the trough is −1.
 */
import type { Rng } from './rng.js';
import type { WaveformParams } from './cell-types.js';
import { drawQuantiles } from './cell-types.js';

/** One unit's drawn shape, in ms. */
export interface WaveformShape {
  readonly troughToPeakMs: number;
  readonly troughWidthMs: number;
  readonly peakToTroughRatio: number;
  readonly peakWidthMs: number;
  readonly prePeakRatio: number;
  readonly spikelets: readonly { readonly delayMs: number; readonly depth: number }[];
  readonly slowWaveRatio: number;
}

export function drawShape(params: WaveformParams, rng: Rng): WaveformShape {
  const r = (range: readonly [number, number]) => rng.range(range[0], range[1]);
  const spikelets: { delayMs: number; depth: number }[] = [];
  let slowWaveRatio = 0;
  if (params.spikelets) {
    const count = Math.round(r(params.spikelets.count));
    let delay = 0;
    let depth = 1;
    for (let k = 0; k < count; k++) {
      delay += r(params.spikelets.intervalMs);
      depth *= r(params.spikelets.decay);
      spikelets.push({ delayMs: delay, depth });
    }
    slowWaveRatio = r(params.spikelets.slowWaveRatio);
  }
  return {
    troughToPeakMs: drawQuantiles(params.troughToPeakMs, rng.uniform()),
    troughWidthMs: r(params.troughWidthMs),
    peakToTroughRatio: r(params.peakToTroughRatio),
    peakWidthMs: r(params.peakWidthMs),
    prePeakRatio: r(params.prePeakRatio),
    spikelets,
    slowWaveRatio,
  };
}

/** Samples before the trough in every template (1 ms at 30 kHz, as C4's window). */
export function samplesBeforeFor(sampleRateHz: number): number {
  return Math.round(0.001 * sampleRateHz);
}

/** Template length in samples: 1 ms before, 2 ms after the trough, longer for complex spikes. */
export function templateLengthFor(shape: WaveformShape, sampleRateHz: number): number {
  const last = shape.spikelets.length ? shape.spikelets[shape.spikelets.length - 1].delayMs : 0;
  const afterMs = Math.max(2, last + 2.5);
  return samplesBeforeFor(sampleRateHz) + Math.round((afterMs * sampleRateHz) / 1000) + 1;
}

function halfGauss(t: number, centre: number, leftSd: number, rightSd: number): number {
  const d = t - centre;
  const sd = d < 0 ? leftSd : rightSd;
  return Math.exp((-0.5 * d * d) / (sd * sd));
}

/**
 * Writes the waveform (trough −1 at index samplesBefore, before broadening) into out[0 … length),
 * with every width multiplied by `widthScale` (distance broadening). The last 15 % is tapered to
 * zero so that no step is left where the template ends.
 */
export function renderWaveform(shape: WaveformShape, widthScale: number, sampleRateHz: number, out: Float32Array, length: number): void {
  const before = samplesBeforeFor(sampleRateHz);
  const msPerSample = 1000 / sampleRateHz;
  const st = shape.troughWidthMs * widthScale;
  const sp = shape.peakWidthMs * widthScale;
  const ttp = shape.troughToPeakMs * (0.5 + 0.5 * widthScale);
  const preDelay = 2.2 * st;
  let minimum = 0;
  for (let i = 0; i < length; i++) {
    const t = (i - before) * msPerSample;
    let v = -halfGauss(t, 0, 0.85 * st, 1.15 * st);
    v += shape.peakToTroughRatio * halfGauss(t, ttp, 0.7 * sp, 1.6 * sp);
    if (shape.prePeakRatio > 0) v += shape.prePeakRatio * halfGauss(t, -preDelay, st, 0.8 * st);
    for (const s of shape.spikelets) {
      v -= s.depth * halfGauss(t, s.delayMs, 0.9 * st, 1.2 * st);
      v += s.depth * 0.5 * shape.peakToTroughRatio * halfGauss(t, s.delayMs + ttp * 0.7, 0.7 * sp, 1.4 * sp);
    }
    if (shape.slowWaveRatio > 0 && shape.spikelets.length) {
      const end = shape.spikelets[shape.spikelets.length - 1].delayMs + 1;
      v += shape.slowWaveRatio * halfGauss(t, end * 0.45, end * 0.3, end * 0.5);
    }
    out[i] = v;
    if (v < minimum) minimum = v;
  }
  const taperStart = Math.floor(length * 0.85);
  for (let i = taperStart; i < length; i++) out[i] *= 0.5 + 0.5 * Math.cos((Math.PI * (i - taperStart)) / (length - taperStart));
  // Broadening spreads the trough; renormalise so that the amplitude model alone sets the depth.
  const scale = minimum < 0 ? -1 / minimum : 1;
  for (let i = 0; i < length; i++) out[i] *= scale;
}
