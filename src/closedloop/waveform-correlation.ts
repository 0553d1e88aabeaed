/**
 * Correlation of a unit's light-evoked mean waveform with its spontaneous one (CellBase: R over the
 * first 0.75 ms on the largest channel, > 0.9 for a tagged unit). A light artefact picked up as
 * "spikes" has a different shape, so a low R says the evoked events are not the unit's spikes.
 */

/** A mean multi-channel waveform: `samplesUv[channel × sampleCount + t]`, the spike peak at `peakIndex`. */
export interface MeanWaveform {
  readonly channelCount: number;
  readonly sampleCount: number;
  readonly sampleRateHz: number;
  readonly peakIndex: number;
  readonly samplesUv: ArrayLike<number>;
}

/** The channel with the largest peak-to-peak amplitude. */
export function largestChannel(waveform: MeanWaveform): number {
  let best = 0;
  let bestRange = -Infinity;
  for (let c = 0; c < waveform.channelCount; c++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let t = 0; t < waveform.sampleCount; t++) {
      const v = waveform.samplesUv[c * waveform.sampleCount + t];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (hi - lo > bestRange) {
      bestRange = hi - lo;
      best = c;
    }
  }
  return best;
}

/** Pearson correlation of a[offA … offA+n) with b[offB … offB+n); null when either is constant. */
export function pearson(a: ArrayLike<number>, offA: number, b: ArrayLike<number>, offB: number, n: number): number | null {
  if (n < 2) return null;
  let ma = 0;
  let mb = 0;
  for (let k = 0; k < n; k++) {
    ma += a[offA + k];
    mb += b[offB + k];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let k = 0; k < n; k++) {
    const da = a[offA + k] - ma;
    const db = b[offB + k] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return null;
  return sab / Math.sqrt(saa * sbb);
}

/**
 * R between the evoked and spontaneous mean waveforms over [peak + windowStartMs, + windowMs) on
 * the spontaneous waveform's largest channel. Both must share the layout (channels, samples, rate,
 * peak index). Returns null when the window holds fewer than two samples or a waveform is flat.
 */
export function waveformCorrelation(evoked: MeanWaveform, spontaneous: MeanWaveform, windowStartMs: number, windowMs: number): number | null {
  if (
    evoked.channelCount !== spontaneous.channelCount ||
    evoked.sampleCount !== spontaneous.sampleCount ||
    evoked.peakIndex !== spontaneous.peakIndex ||
    evoked.sampleRateHz !== spontaneous.sampleRateHz
  ) {
    throw new RangeError('waveformCorrelation: the evoked and spontaneous waveforms must share channels, samples, sample rate and peak index');
  }
  const perMs = spontaneous.sampleRateHz / 1000;
  const start = Math.max(0, spontaneous.peakIndex + Math.round(windowStartMs * perMs));
  const end = Math.min(spontaneous.sampleCount, start + Math.round(windowMs * perMs));
  const channel = largestChannel(spontaneous);
  const offset = channel * spontaneous.sampleCount + start;
  return pearson(evoked.samplesUv, offset, spontaneous.samplesUv, offset, end - start);
}
