/**
 * Synthetic extracellular recordings with known spikes, for detection tests and benchmarks.
 *
 * Everything here is built independently of the code under test: the noise is white Gaussian noise
 * shaped by a windowed-sinc FIR band-pass (not our Butterworth), normalised so that its σ is
 * exactly `noiseUv`; spikes are a fixed biphasic waveform scaled per channel by a spatial footprint
 * that falls with the 3-D distance from the unit to each contact.
 *
 * SNR is defined as the spike's peak (trough) amplitude on its peak channel divided by the noise σ.
 */
import { SeededRandom } from '../../src/core/random.js';
import type { ChannelLayout } from '../../src/probe/channel-layout.js';

export interface SyntheticUnit {
  readonly xUm: number;
  readonly yUm: number;
  /** Distance in front of the probe plane. */
  readonly zUm: number;
  readonly snr: number;
  readonly rateHz: number;
  /** Nearest contact: where the trough is largest. */
  readonly peakChannel: number;
  /** Trough amplitude (µV, positive) on each channel, peak channel = snr × noise σ. */
  readonly footprintUv: Float64Array;
}

export interface TruthSpike {
  /** Absolute sample index of the trough. */
  readonly sampleIndex: number;
  readonly unit: number;
  readonly peakChannel: number;
  /** Trough amplitude on the peak channel, µV (positive). */
  readonly amplitudeUv: number;
}

export interface SyntheticRecording {
  readonly channelCount: number;
  readonly frames: number;
  readonly sampleRateHz: number;
  readonly noiseUv: number;
  /** Frame-major µV: noise + spikes (already "filtered": no DC, no low-frequency content). */
  readonly samples: Float32Array;
  readonly units: readonly SyntheticUnit[];
  readonly truth: readonly TruthSpike[];
  /** Truth spikes whose waveform overlaps (troughs ≤ 1 ms apart) another unit's spike sharing a channel (both ≥ 1σ there). */
  readonly overlappingSharedSpikes: number;
  /** Poisson candidates left out because they would have collided unresolvably with an earlier spike. */
  readonly droppedCollisions: number;
}

export interface SyntheticOptions {
  readonly layout: ChannelLayout;
  readonly seconds: number;
  readonly seed: number;
  readonly sampleRateHz?: number;
  readonly noiseUv?: number;
  readonly unitCount?: number;
  readonly snrRange?: readonly [number, number];
  readonly rateRangeHz?: readonly [number, number];
  /** Detector parameters the ground truth is made resolvable for (see `generateRecording`). */
  readonly radiusUm?: number;
  readonly refractoryMs?: number;
  readonly peakWindowMs?: number;
  /** Fraction of spikes given a deliberate near-simultaneous partner on a resolvable unit. */
  readonly overlapFraction?: number;
}

/** Footprint fall-off: amplitude ∝ 1 / (1 + (d / 50 µm)²), d the 3-D distance to the contact (about half at 50 µm, a fifth at 100 µm). */
const FOOTPRINT_SCALE_UM = 50;

/** The biphasic spike waveform (trough −1 at offset 0) on the sample grid, offsets −before … +after. */
export function spikeWaveform(sampleRateHz: number): { readonly before: number; readonly values: Float64Array } {
  const before = Math.round(0.6e-3 * sampleRateHz);
  const after = Math.round(1.5e-3 * sampleRateHz);
  const values = new Float64Array(before + after + 1);
  for (let i = 0; i < values.length; i++) {
    const tMs = ((i - before) * 1000) / sampleRateHz;
    // A narrow trough, a slower after-hyperpolarisation peak, a small leading bump.
    values[i] = -Math.exp(-(tMs * tMs) / (2 * 0.09 * 0.09)) + 0.32 * Math.exp(-((tMs - 0.45) ** 2) / (2 * 0.18 * 0.18)) + 0.08 * Math.exp(-((tMs + 0.25) ** 2) / (2 * 0.08 * 0.08));
  }
  const trough = values[before];
  for (let i = 0; i < values.length; i++) values[i] /= -trough;
  return { before, values };
}

/** Unit-norm windowed-sinc band-pass 300–6000 Hz (Hamming window, 31 taps). */
function noiseShapingFir(sampleRateHz: number): Float64Array {
  const taps = 31;
  const h = new Float64Array(taps);
  const mid = (taps - 1) / 2;
  const lp = (fc: number, n: number): number => (n === 0 ? (2 * fc) / sampleRateHz : Math.sin((2 * Math.PI * fc * n) / sampleRateHz) / (Math.PI * n));
  let norm = 0;
  for (let i = 0; i < taps; i++) {
    const n = i - mid;
    h[i] = (lp(6000, n) - lp(300, n)) * (0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (taps - 1)));
    norm += h[i] * h[i];
  }
  for (let i = 0; i < taps; i++) h[i] /= Math.sqrt(norm);
  return h;
}

/** Adds band-limited Gaussian noise of σ = noiseUv to every channel. */
export function addNoise(samples: Float32Array, channels: number, noiseUv: number, sampleRateHz: number, seed: number): void {
  const r = new SeededRandom(seed);
  const h = noiseShapingFir(sampleRateHz);
  const frames = samples.length / channels;
  const taps = h.length;
  const white = new Float64Array(frames + taps);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < white.length; i++) white[i] = r.normal();
    for (let f = 0; f < frames; f++) {
      let acc = 0;
      for (let k = 0; k < taps; k++) acc += h[k] * white[f + k];
      samples[f * channels + c] += noiseUv * acc;
    }
  }
}

function distanceUm(layout: ChannelLayout, a: number, b: number): number {
  return Math.hypot(layout.xUm[a] - layout.xUm[b], layout.yUm[a] - layout.yUm[b]);
}

/**
 * Units scattered over the probe (some close enough to share channels), each firing as a Poisson
 * process with a 2.5 ms dead time, plus deliberate near-simultaneous spikes on other units.
 *
 * The ground truth is kept *resolvable* for a detector with the given radius, refractory and peak
 * window, by leaving out (and counting) the Poisson candidates that fall (1) within refractory +
 * peak window + 0.3 ms of a spike of a unit whose peak channel is in their neighbourhood (or the
 * reverse: the lockout covers them), or (2) within peak window + 0.3 ms of a spike of a unit whose
 * footprint would mask their trough (each trough must stay 20 % deeper than the sum of both
 * footprints on every channel of its neighbourhood). Those are collisions a threshold detector
 * reports once by design; `test/pipeline/detect.test.ts` shows what the detector does with them.
 */
export function generateRecording(options: SyntheticOptions): SyntheticRecording {
  const layout = options.layout;
  const C = layout.channelCount;
  const fs = options.sampleRateHz ?? 30000;
  const noiseUv = options.noiseUv ?? 10;
  const unitCount = options.unitCount ?? 16;
  const [snrLow, snrHigh] = options.snrRange ?? [6, 15];
  const [rateLow, rateHigh] = options.rateRangeHz ?? [10, 30];
  const radiusUm = options.radiusUm ?? 60;
  const peakWindowFrames = Math.round(((options.peakWindowMs ?? 0.4) * fs) / 1000);
  const refractoryFrames = Math.round(((options.refractoryMs ?? 1) * fs) / 1000);
  const marginFrames = Math.round(0.3e-3 * fs);
  const frames = Math.round(options.seconds * fs);
  const r = new SeededRandom(options.seed);

  let xMin = Infinity, xMax = -Infinity, yMin = Infinity, yMax = -Infinity;
  for (let c = 0; c < C; c++) {
    xMin = Math.min(xMin, layout.xUm[c]); xMax = Math.max(xMax, layout.xUm[c]);
    yMin = Math.min(yMin, layout.yUm[c]); yMax = Math.max(yMax, layout.yUm[c]);
  }
  const units: SyntheticUnit[] = [];
  for (let u = 0; u < unitCount; u++) {
    const xUm = r.uniform(xMin - 15, xMax + 15);
    const yUm = r.uniform(yMin, yMax);
    const zUm = r.uniform(15, 30);
    const snr = r.uniform(snrLow, snrHigh);
    const raw = new Float64Array(C);
    let peakChannel = 0;
    for (let c = 0; c < C; c++) {
      const d = Math.hypot(layout.xUm[c] - xUm, layout.yUm[c] - yUm, zUm);
      raw[c] = 1 / (1 + (d / FOOTPRINT_SCALE_UM) ** 2);
      if (raw[c] > raw[peakChannel]) peakChannel = c;
    }
    const footprintUv = raw.map((g) => (g / raw[peakChannel]) * snr * noiseUv);
    units.push({ xUm, yUm, zUm, snr, rateHz: r.uniform(rateLow, rateHigh), peakChannel, footprintUv });
  }

  const neighbours = (c: number): number[] => {
    const out: number[] = [];
    for (let o = 0; o < C; o++) if (layout.shank[o] === layout.shank[c] && distanceUm(layout, o, c) <= radiusUm) out.push(o);
    return out;
  };
  // Spike amplitudes vary from 1 to 1.1 × the unit's (so no spike is below the unit's SNR); the
  // checks below use the worst case.
  // locked: one unit's peak channel lies in the other's neighbourhood, so the refractory lockout
  // after one spike covers the other's peak channel.
  const locked: boolean[][] = units.map((a) => units.map((b) => a !== b && neighbours(a.peakChannel).includes(b.peakChannel)));
  // masked: with both troughs at the same time, one of them would not be the most negative sample
  // of its neighbourhood (the other's footprint, plus its own, within 20 % of it).
  const masked: boolean[][] = units.map((a) =>
    units.map((b) => {
      if (a === b) return true;
      const clear = (p: SyntheticUnit, q: SyntheticUnit): boolean =>
        neighbours(p.peakChannel).every((c) => c === p.peakChannel || 1.1 * (p.footprintUv[c] + q.footprintUv[c]) < 0.8 * p.footprintUv[p.peakChannel]);
      return !(clear(a, b) && clear(b, a));
    }),
  );

  // Candidate spikes: Poisson trains with a dead time, margins at both ends of the recording.
  const deadFrames = Math.round(2.5e-3 * fs);
  const margin = Math.round(3e-3 * fs);
  const candidates: { t: number; unit: number }[] = [];
  units.forEach((unit, u) => {
    let t = margin + Math.round(r.exponential(fs / unit.rateHz));
    while (t < frames - margin) {
      candidates.push({ t, unit: u });
      t += deadFrames + Math.round(r.exponential(fs / unit.rateHz));
    }
  });
  candidates.sort((a, b) => a.t - b.t || a.unit - b.unit);
  const accepted: { t: number; unit: number }[] = [];
  // The detector's own limits: a later spike on a locked neighbourhood within refractory + peak
  // window, or two masked troughs within the peak window, are one detection by design.
  const fits = (t: number, unit: number): boolean => {
    for (const s of accepted) {
      const apart = Math.abs(s.t - t);
      if (s.unit === unit && apart < deadFrames) return false;
      if (s.unit === unit) continue;
      if (locked[s.unit][unit] && apart <= refractoryFrames + peakWindowFrames + marginFrames) return false;
      if (masked[s.unit][unit] && apart <= peakWindowFrames + marginFrames) return false;
    }
    return true;
  };
  let droppedCollisions = 0;
  for (const c of candidates) {
    if (fits(c.t, c.unit)) accepted.push(c);
    else droppedCollisions++;
  }
  // Deliberate overlaps: a resolvable partner unit fires within ±0.3 ms.
  const overlapFraction = options.overlapFraction ?? 0.15;
  const base = accepted.slice();
  for (const s of base) {
    if (r.next() >= overlapFraction) continue;
    const partners = units.map((_, u) => u).filter((u) => !locked[s.unit][u] && !masked[s.unit][u]);
    if (partners.length === 0) continue;
    const u = partners[r.int(partners.length)];
    const t = s.t + r.int(2 * Math.round(0.3e-3 * fs) + 1) - Math.round(0.3e-3 * fs);
    if (t > margin && t < frames - margin && fits(t, u)) accepted.push({ t, unit: u });
  }
  accepted.sort((a, b) => a.t - b.t || a.unit - b.unit);

  const samples = new Float32Array(frames * C);
  addNoise(samples, C, noiseUv, fs, options.seed + 1000);
  const { before, values } = spikeWaveform(fs);
  const truth: TruthSpike[] = [];
  for (const s of accepted) {
    const unit = units[s.unit];
    const scale = 1 + 0.1 * r.next();
    for (let c = 0; c < C; c++) {
      const a = unit.footprintUv[c] * scale;
      if (a < 0.02 * noiseUv) continue;
      for (let i = 0; i < values.length; i++) {
        const f = s.t - before + i;
        if (f >= 0 && f < frames) samples[f * C + c] += a * values[i];
      }
    }
    truth.push({ sampleIndex: s.t, unit: s.unit, peakChannel: unit.peakChannel, amplitudeUv: unit.footprintUv[unit.peakChannel] * scale });
  }

  const overlapFrames = Math.round(1e-3 * fs);
  const shares = (a: SyntheticUnit, b: SyntheticUnit): boolean => {
    for (let c = 0; c < C; c++) if (a.footprintUv[c] >= noiseUv && b.footprintUv[c] >= noiseUv) return true;
    return false;
  };
  let overlappingSharedSpikes = 0;
  for (let i = 0; i < truth.length; i++) {
    for (let j = Math.max(0, i - 20); j < Math.min(truth.length, i + 20); j++) {
      if (j === i || truth[j].unit === truth[i].unit || Math.abs(truth[j].sampleIndex - truth[i].sampleIndex) > overlapFrames) continue;
      if (shares(units[truth[i].unit], units[truth[j].unit])) {
        overlappingSharedSpikes++;
        break;
      }
    }
  }
  return { channelCount: C, frames, sampleRateHz: fs, noiseUv, samples, units, truth, overlappingSharedSpikes, droppedCollisions };
}

export interface MatchReport {
  readonly truthCount: number;
  readonly detectedCount: number;
  readonly matched: number;
  readonly recall: number;
  readonly precision: number;
  /**
   * Unmatched detections that are a second report of a matched spike: within ±peakWindow of it, on
   * a channel where its footprint explains at least half the detected amplitude.
   */
  readonly duplicates: number;
  readonly falsePositives: number;
  /** Recall per SNR band [low, high): the truth spikes' peak amplitude over σ. */
  readonly recallBySnr: readonly { readonly low: number; readonly high: number; readonly truth: number; readonly recall: number }[];
}

/**
 * One-to-one matching of detections to truth spikes in [fromSample, toSample): a detection
 * matches a truth spike when its trough is within ±toleranceFrames and its channel within
 * radiusUm of the truth's peak channel (nearest in time first).
 */
export function matchSpikes(
  recording: SyntheticRecording,
  layout: ChannelLayout,
  detected: readonly { readonly sampleIndex: number; readonly channel: number; readonly amplitudeUv: number }[],
  options: { toleranceFrames: number; radiusUm: number; fromSample: number; toSample: number; peakWindowFrames: number },
): MatchReport {
  const inRange = (t: number): boolean => t >= options.fromSample && t < options.toSample;
  const truth = recording.truth.filter((s) => inRange(s.sampleIndex));
  const found = detected.filter((d) => inRange(d.sampleIndex));
  const used = new Uint8Array(found.length);
  const matchedTruth = new Uint8Array(truth.length);
  let matched = 0;
  let j0 = 0;
  for (let i = 0; i < truth.length; i++) {
    const s = truth[i];
    while (j0 < found.length && found[j0].sampleIndex < s.sampleIndex - options.toleranceFrames) j0++;
    let best = -1;
    for (let j = j0; j < found.length && found[j].sampleIndex <= s.sampleIndex + options.toleranceFrames; j++) {
      if (used[j] || distanceUm(layout, found[j].channel, s.peakChannel) > options.radiusUm) continue;
      if (best < 0 || Math.abs(found[j].sampleIndex - s.sampleIndex) < Math.abs(found[best].sampleIndex - s.sampleIndex)) best = j;
    }
    if (best >= 0) {
      used[best] = 1;
      matchedTruth[i] = 1;
      matched++;
    }
  }
  let duplicates = 0;
  let falsePositives = 0;
  for (let j = 0; j < found.length; j++) {
    if (used[j]) continue;
    const d = found[j];
    const isDuplicate = truth.some(
      (s, i) =>
        matchedTruth[i] &&
        Math.abs(s.sampleIndex - d.sampleIndex) <= options.peakWindowFrames &&
        recording.units[s.unit].footprintUv[d.channel] >= 0.5 * Math.abs(d.amplitudeUv),
    );
    if (isDuplicate) duplicates++;
    else falsePositives++;
  }
  const bands = [6, 7, 8, 10, 12, 16];
  const recallBySnr = bands.slice(0, -1).map((low, b) => {
    const high = bands[b + 1];
    let n = 0;
    let hit = 0;
    truth.forEach((s, i) => {
      const snr = s.amplitudeUv / recording.noiseUv;
      if (snr >= low && snr < high) {
        n++;
        hit += matchedTruth[i];
      }
    });
    return { low, high, truth: n, recall: n ? hit / n : 1 };
  });
  return {
    recallBySnr,
    truthCount: truth.length,
    detectedCount: found.length,
    matched,
    recall: truth.length ? matched / truth.length : 1,
    precision: found.length ? matched / found.length : 1,
    duplicates,
    falsePositives,
  };
}
